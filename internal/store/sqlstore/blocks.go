package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

// maxReferenceDepth bounds how deep documents' references are followed, as
// Prefect's does; cycles are refused on write.
const maxReferenceDepth = 50

const blockTypeColumns = `t.id, t.name, t.slug, t.logo_url, t.documentation_url, t.description, t.code_example, t.is_protected, t.created, t.updated`

// typeRow is where a row's blockTypeColumns scan to.
type typeRow struct {
	t                model.BlockType
	created, updated nullTime
}

func (r *typeRow) dest() []any {
	return []any{&r.t.ID, &r.t.Name, &r.t.Slug, nullStr{&r.t.LogoURL}, nullStr{&r.t.DocumentationURL}, nullStr{&r.t.Description},
		nullStr{&r.t.CodeExample}, &r.t.IsProtected, &r.created, &r.updated}
}

func (r *typeRow) get() *model.BlockType {
	t := r.t
	t.Created, t.Updated = r.created.T, r.updated.T
	return &t
}

func scanBlockType(row scanner) (*model.BlockType, error) {
	var r typeRow
	if err := row.Scan(r.dest()...); err != nil {
		return nil, err
	}
	return r.get(), nil
}

// CreateBlockType inserts t, filling its id and timestamps.
func (db *DB) CreateBlockType(ctx context.Context, ws uuid.UUID, t *model.BlockType) error {
	now := model.At(db.now())
	t.ID = uuid.Must(uuid.NewV7())
	t.Created, t.Updated = now, now
	return db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, db.d.rebind(`INSERT INTO block_types (id, workspace_id, name, slug, logo_url, documentation_url, description, code_example, is_protected, created, updated)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			t.ID, ws, t.Name, t.Slug, t.LogoURL, t.DocumentationURL, t.Description, t.CodeExample, t.IsProtected, db.d.time(now), db.d.time(now))
		if db.d.isUniqueViolation(err) {
			return apperr.Errorf(apperr.EConflict, "Block type with name %q already exists", t.Name)
		}
		if err != nil {
			return fmt.Errorf("insert block type: %w", err)
		}
		return nil
	})
}

// GetBlockType returns a block type by id.
func (db *DB) GetBlockType(ctx context.Context, ws, id uuid.UUID) (*model.BlockType, error) {
	return db.getBlockType(ctx, db.read, "", `t.id = ?`, ws, id)
}

// GetBlockTypeBySlug returns a block type by slug.
func (db *DB) GetBlockTypeBySlug(ctx context.Context, ws uuid.UUID, slug string) (*model.BlockType, error) {
	return db.getBlockType(ctx, db.read, "", `t.slug = ?`, ws, slug)
}

func (db *DB) getBlockType(ctx context.Context, q queryer, lock, cond string, ws uuid.UUID, arg any) (*model.BlockType, error) {
	t, err := scanBlockType(q.QueryRowContext(ctx, db.d.rebind(`SELECT `+blockTypeColumns+` FROM block_types t WHERE t.workspace_id = ? AND `+cond+lock), ws, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Block type")
	}
	if err != nil {
		return nil, fmt.Errorf("read block type: %w", err)
	}
	return t, nil
}

func (db *DB) blockTypeClause(c *clause, f *store.BlockTypeFilter) {
	if f == nil {
		return
	}
	if f.Name != nil && f.Name.Like != nil && *f.Name.Like != "" {
		c.add("t.name "+db.d.like()+" ?", "%"+*f.Name.Like+"%")
	}
	if f.Slug != nil {
		inList(c, "t.slug", f.Slug.Any, nil)
	}
}

// blockSchemaClause adds the conditions of f on the schema aliased s.
func (db *DB) blockSchemaClause(c *clause, f *store.BlockSchemaFilter) {
	if f == nil {
		return
	}
	s := newClause(db.d, f.Operator)
	if f.BlockTypeID != nil {
		inList(s, "s.block_type_id", f.BlockTypeID.Any, nil)
	}
	if f.BlockCapabilities != nil {
		all := newClause(db.d, "")
		for _, capability := range f.BlockCapabilities.All {
			all.add(db.d.jsonContains("s.capabilities"), capability)
		}
		s.sub(all)
	}
	if f.ID != nil {
		inList(s, "s.id", f.ID.Any, nil)
	}
	if f.Version != nil {
		inList(s, "s.version", f.Version.Any, nil)
	}
	c.sub(s)
}

// ListBlockTypes returns the block types matching q, by name.
func (db *DB) ListBlockTypes(ctx context.Context, ws uuid.UUID, q store.BlockTypeQuery) ([]*model.BlockType, error) {
	c := newClause(db.d, "")
	c.add("t.workspace_id = ?", ws)
	db.blockTypeClause(c, q.BlockTypes)
	if q.BlockSchemas != nil {
		c.exists("block_schemas s", "s.block_type_id = t.id", func(sub *clause) { db.blockSchemaClause(sub, q.BlockSchemas) })
	}
	where, args := c.sql()
	rows, err := db.query(ctx, `SELECT `+blockTypeColumns+` FROM block_types t WHERE `+where+` ORDER BY t.name ASC, t.id ASC`+page(q.Limit, q.Offset), args...)
	if err != nil {
		return nil, fmt.Errorf("list block types: %w", err)
	}
	return collect(rows, func(s scanner) (*model.BlockType, error) { return scanBlockType(s) })
}

// UpdateBlockType applies patch to a block type and saves its descriptive
// fields.
func (db *DB) UpdateBlockType(ctx context.Context, ws, id uuid.UUID, patch func(*model.BlockType) error) error {
	return db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		t, err := db.getBlockType(ctx, tx, db.d.forUpdate(), `t.id = ?`, ws, id)
		if err != nil {
			return err
		}
		if err := patch(t); err != nil {
			return err
		}
		t.Updated = model.At(db.now())
		_, err = tx.ExecContext(ctx, db.d.rebind(`UPDATE block_types SET logo_url = ?, documentation_url = ?, description = ?, code_example = ?, updated = ?
			WHERE workspace_id = ? AND id = ?`), t.LogoURL, t.DocumentationURL, t.Description, t.CodeExample, db.d.time(t.Updated), ws, id)
		if err != nil {
			return fmt.Errorf("update block type: %w", err)
		}
		return nil
	})
}

// DeleteBlockType deletes an unprotected block type with its schemas and
// documents.
func (db *DB) DeleteBlockType(ctx context.Context, ws, id uuid.UUID) error {
	return db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		t, err := db.getBlockType(ctx, tx, db.d.forUpdate(), `t.id = ?`, ws, id)
		if err != nil {
			return err
		}
		if t.IsProtected {
			return apperr.Errorf(apperr.EForbidden, "protected block types cannot be deleted.")
		}
		return db.execOneIn(ctx, tx, "Block type", `DELETE FROM block_types WHERE workspace_id = ? AND id = ?`, ws, id)
	})
}

const blockSchemaColumns = `s.id, s.checksum, s.fields, s.capabilities, s.version, s.created, s.updated, s.block_type_id`

// schemaRow is where a row's blockSchemaColumns scan to.
type schemaRow struct {
	s                model.BlockSchema
	fields           json.RawMessage
	created, updated nullTime
}

func (r *schemaRow) dest() []any {
	return []any{&r.s.ID, &r.s.Checksum, rawJSON{&r.fields}, jsonCol{&r.s.Capabilities}, &r.s.Version, &r.created, &r.updated, &r.s.BlockTypeID}
}

func (r *schemaRow) get(t *model.BlockType) *model.BlockSchema {
	s := r.s
	s.Fields = r.fields
	if len(s.Fields) == 0 {
		s.Fields = json.RawMessage(`{}`)
	}
	if s.Capabilities == nil {
		s.Capabilities = []string{}
	}
	s.Created, s.Updated = r.created.T, r.updated.T
	s.BlockType = t
	return &s
}

// scanBlockSchema scans blockSchemaColumns and its type's blockTypeColumns.
func scanBlockSchema(row scanner) (*model.BlockSchema, error) {
	var (
		s schemaRow
		t typeRow
	)
	if err := row.Scan(append(s.dest(), t.dest()...)...); err != nil {
		return nil, err
	}
	return s.get(t.get()), nil
}

const schemaFrom = ` FROM block_schemas s JOIN block_types t ON t.id = s.block_type_id`

// CreateBlockSchema stores s unless the workspace has one of its checksum
// and version, which it reads into s.
func (db *DB) CreateBlockSchema(ctx context.Context, ws uuid.UUID, s *model.BlockSchema) (bool, error) {
	if s.Version == "" {
		s.Version = model.DefaultBlockSchemaVersion
	}
	if s.Capabilities == nil {
		s.Capabilities = []string{}
	}
	in := *s
	var created bool
	err := db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		created = false
		t, err := db.getBlockType(ctx, tx, "", `t.id = ?`, ws, in.BlockTypeID)
		if apperr.IsNotFound(err) {
			return apperr.Errorf(apperr.ENotFound, "Block type %s not found.", in.BlockTypeID)
		}
		if err != nil {
			return err
		}
		existing, err := db.getBlockSchema(ctx, tx, `s.checksum = ? AND s.version = ?`, ws, in.Checksum, in.Version)
		if err == nil {
			*s = *existing
			return nil
		}
		if !apperr.IsNotFound(err) {
			return err
		}
		now := model.At(db.now())
		*s = in
		s.ID = uuid.Must(uuid.NewV7())
		s.Created, s.Updated = now, now
		s.BlockType = t
		_, err = tx.ExecContext(ctx, db.d.rebind(`INSERT INTO block_schemas (id, workspace_id, block_type_id, checksum, fields, capabilities, version, created, updated)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			s.ID, ws, s.BlockTypeID, s.Checksum, rawArg(s.Fields), mustJSON(s.Capabilities), s.Version, db.d.time(now), db.d.time(now))
		if err != nil {
			return fmt.Errorf("insert block schema: %w", err)
		}
		created = true
		return nil
	})
	return created, err
}

// GetBlockSchema returns a block schema by id.
func (db *DB) GetBlockSchema(ctx context.Context, ws, id uuid.UUID) (*model.BlockSchema, error) {
	return db.getBlockSchema(ctx, db.read, `s.id = ?`, ws, id)
}

// GetBlockSchemaByChecksum returns the schema of checksum and version, or
// the newest of checksum.
func (db *DB) GetBlockSchemaByChecksum(ctx context.Context, ws uuid.UUID, checksum string, version *string) (*model.BlockSchema, error) {
	if version != nil {
		return db.getBlockSchema(ctx, db.read, `s.checksum = ? AND s.version = ?`, ws, checksum, *version)
	}
	return db.getBlockSchema(ctx, db.read, `s.checksum = ? ORDER BY s.created DESC, s.id DESC LIMIT 1`, ws, checksum)
}

func (db *DB) getBlockSchema(ctx context.Context, q queryer, cond string, ws uuid.UUID, args ...any) (*model.BlockSchema, error) {
	s, err := scanBlockSchema(q.QueryRowContext(ctx, db.d.rebind(`SELECT `+blockSchemaColumns+`, `+blockTypeColumns+schemaFrom+` WHERE s.workspace_id = ? AND `+cond),
		append([]any{ws}, args...)...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Block schema")
	}
	if err != nil {
		return nil, fmt.Errorf("read block schema: %w", err)
	}
	return s, nil
}

// ListBlockSchemas returns the schemas matching q, newest first.
func (db *DB) ListBlockSchemas(ctx context.Context, ws uuid.UUID, q store.BlockSchemaQuery) ([]*model.BlockSchema, error) {
	c := newClause(db.d, "")
	c.add("s.workspace_id = ?", ws)
	db.blockSchemaClause(c, q.BlockSchemas)
	where, args := c.sql()
	rows, err := db.query(ctx, `SELECT `+blockSchemaColumns+`, `+blockTypeColumns+schemaFrom+` WHERE `+where+` ORDER BY s.created DESC, s.id DESC`+page(q.Limit, q.Offset), args...)
	if err != nil {
		return nil, fmt.Errorf("list block schemas: %w", err)
	}
	return collect(rows, scanBlockSchema)
}

// DeleteBlockSchema deletes a schema of an unprotected type, with its
// documents.
func (db *DB) DeleteBlockSchema(ctx context.Context, ws, id uuid.UUID) error {
	return db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		s, err := db.getBlockSchema(ctx, tx, `s.id = ?`, ws, id)
		if err != nil {
			return err
		}
		if s.BlockType.IsProtected {
			return apperr.Errorf(apperr.EForbidden, "Block schemas for protected block types cannot be deleted.")
		}
		return db.execOneIn(ctx, tx, "Block schema", `DELETE FROM block_schemas WHERE workspace_id = ? AND id = ?`, ws, id)
	})
}

// ListBlockCapabilities returns the capabilities of the workspace's
// schemas, each once, sorted.
func (db *DB) ListBlockCapabilities(ctx context.Context, ws uuid.UUID) ([]string, error) {
	rows, err := db.query(ctx, `SELECT capabilities FROM block_schemas WHERE workspace_id = ?`, ws)
	if err != nil {
		return nil, fmt.Errorf("list block capabilities: %w", err)
	}
	lists, err := collect(rows, func(s scanner) ([]string, error) {
		var caps []string
		err := s.Scan(jsonCol{&caps})
		return caps, err
	})
	if err != nil {
		return nil, fmt.Errorf("list block capabilities: %w", err)
	}
	out := []string{}
	for _, caps := range lists {
		out = append(out, caps...)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

const blockDocumentColumns = `d.id, d.name, d.is_anonymous, d.data, d.block_type_name, d.created, d.updated`

const documentFrom = ` FROM block_documents d JOIN block_schemas s ON s.id = d.block_schema_id JOIN block_types t ON t.id = d.block_type_id`

// docRow is one document as stored: its data still sealed.
type docRow struct {
	d      *model.BlockDocument
	sealed []byte
}

func scanDocRow(row scanner) (docRow, error) {
	var (
		d                model.BlockDocument
		name, typeName   string
		sealed           []byte
		created, updated nullTime
		s                schemaRow
		t                typeRow
	)
	dest := append([]any{&d.ID, &name, &d.IsAnonymous, &sealed, &typeName, &created, &updated}, s.dest()...)
	if err := row.Scan(append(dest, t.dest()...)...); err != nil {
		return docRow{}, err
	}
	d.Name, d.BlockTypeName = &name, &typeName
	d.Created, d.Updated = created.T, updated.T
	d.BlockType = t.get()
	d.BlockTypeID = d.BlockType.ID
	d.BlockSchema = s.get(t.get())
	d.BlockSchemaID = d.BlockSchema.ID
	return docRow{d: &d, sealed: sealed}, nil
}

// openData opens a document's sealed data; the row id is bound into the
// seal.
func (db *DB) openData(id uuid.UUID, sealed []byte) (map[string]any, error) {
	if db.secrets == nil {
		return nil, errNoSecretsKey
	}
	plain, err := db.secrets.Open(sealed, id[:])
	if err != nil {
		return nil, fmt.Errorf("block document %s: %w", id, err)
	}
	return decodeData(plain)
}

func decodeData(b []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber() // numbers keep their exact form
	var data map[string]any
	if err := dec.Decode(&data); err != nil {
		return nil, fmt.Errorf("decode block document data: %w", err)
	}
	if data == nil {
		data = map[string]any{}
	}
	return data, nil
}

func (db *DB) sealData(id uuid.UUID, data map[string]any) ([]byte, error) {
	if db.secrets == nil {
		return nil, errNoSecretsKey
	}
	if data == nil {
		data = map[string]any{}
	}
	plain, err := json.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("encode block document data: %w", err)
	}
	return db.secrets.Seal(plain, id[:]), nil
}

var errNoSecretsKey = errors.New("no secrets key configured: block documents cannot be stored or read")

// documentWhere is the condition of q's filters on d, s and t.
func (db *DB) documentWhere(ws uuid.UUID, docs *store.BlockDocumentFilter, types *store.BlockTypeFilter, schemas *store.BlockSchemaFilter) (string, []any) {
	c := newClause(db.d, "")
	c.add("d.workspace_id = ?", ws)
	if docs == nil {
		f := store.NotAnonymous()
		docs = &f
	}
	f := newClause(db.d, docs.Operator)
	if docs.ID != nil {
		inList(f, "d.id", docs.ID.Any, nil)
	}
	if docs.IsAnonymous != nil && docs.IsAnonymous.Eq != nil {
		f.add("d.is_anonymous = ?", *docs.IsAnonymous.Eq)
	}
	if docs.BlockTypeID != nil {
		inList(f, "d.block_type_id", docs.BlockTypeID.Any, nil)
	}
	if docs.Name != nil {
		inList(f, "d.name", docs.Name.Any, nil)
		if docs.Name.Like != nil && *docs.Name.Like != "" {
			f.add("d.name "+db.d.like()+" ?", "%"+*docs.Name.Like+"%")
		}
	}
	c.sub(f)
	db.blockTypeClause(c, types)
	db.blockSchemaClause(c, schemas)
	return c.sql()
}

var blockDocumentSorts = map[string]string{
	"":                            "d.name ASC, d.id ASC",
	store.SortNameAsc:             "d.name ASC, d.id ASC",
	store.SortNameDesc:            "d.name DESC, d.id DESC",
	store.SortBlockTypeAndNameAsc: "d.block_type_name ASC, d.name ASC, d.id ASC",
}

// ListBlockDocuments returns the documents matching q, references merged.
func (db *DB) ListBlockDocuments(ctx context.Context, ws uuid.UUID, q store.BlockDocumentQuery) ([]*model.BlockDocument, error) {
	order, ok := blockDocumentSorts[q.Sort]
	if !ok {
		return nil, apperr.Errorf(apperr.EInvalid, "invalid sort %q", q.Sort)
	}
	where, args := db.documentWhere(ws, q.BlockDocuments, q.BlockTypes, q.BlockSchemas)
	return db.readDocuments(ctx, db.read, ws, where+` ORDER BY `+order+page(q.Limit, q.Offset), args, q.IncludeSecrets)
}

// CountBlockDocuments counts the documents matching q.
func (db *DB) CountBlockDocuments(ctx context.Context, ws uuid.UUID, q store.BlockDocumentQuery) (int, error) {
	where, args := db.documentWhere(ws, q.BlockDocuments, q.BlockTypes, q.BlockSchemas)
	return db.count(ctx, `SELECT COUNT(*)`+documentFrom+` WHERE `+where, args...)
}

// GetBlockDocument reads a document, anonymous or not, by id.
func (db *DB) GetBlockDocument(ctx context.Context, ws, id uuid.UUID, includeSecrets bool) (*model.BlockDocument, error) {
	return db.getDocument(ctx, db.read, ws, `d.workspace_id = ? AND d.id = ?`, []any{ws, id}, includeSecrets)
}

// GetBlockDocumentByName reads a document by its block type's slug and its
// name.
func (db *DB) GetBlockDocumentByName(ctx context.Context, ws uuid.UUID, typeSlug, name string, includeSecrets bool) (*model.BlockDocument, error) {
	return db.getDocument(ctx, db.read, ws, `d.workspace_id = ? AND t.slug = ? AND d.name = ?`, []any{ws, typeSlug, name}, includeSecrets)
}

func (db *DB) getDocument(ctx context.Context, q queryer, ws uuid.UUID, where string, args []any, includeSecrets bool) (*model.BlockDocument, error) {
	docs, err := db.readDocuments(ctx, q, ws, where+` LIMIT 1`, args, includeSecrets)
	if err != nil {
		return nil, err
	}
	if len(docs) == 0 {
		return nil, notFound("Block document")
	}
	return docs[0], nil
}

// readDocuments reads the documents of a condition (with its order and
// page) and assembles each with the documents it references.
func (db *DB) readDocuments(ctx context.Context, q queryer, ws uuid.UUID, where string, args []any, includeSecrets bool) ([]*model.BlockDocument, error) {
	rows, err := q.QueryContext(ctx, db.d.rebind(`SELECT `+blockDocumentColumns+`, `+blockSchemaColumns+`, `+blockTypeColumns+documentFrom+` WHERE `+where), args...)
	if err != nil {
		return nil, fmt.Errorf("list block documents: %w", err)
	}
	roots, err := collect(rows, scanDocRow)
	if err != nil {
		return nil, fmt.Errorf("list block documents: %w", err)
	}
	out := make([]*model.BlockDocument, 0, len(roots))
	for _, r := range roots {
		d, err := db.assemble(ctx, q, ws, r, includeSecrets, 0)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// assemble opens a document's data, obfuscates its secrets unless asked
// for them, and merges in the documents it references under their names,
// as Prefect serves them.
func (db *DB) assemble(ctx context.Context, q queryer, ws uuid.UUID, r docRow, includeSecrets bool, depth int) (*model.BlockDocument, error) {
	if depth > maxReferenceDepth {
		return nil, fmt.Errorf("block document %s: references deeper than %d", r.d.ID, maxReferenceDepth)
	}
	d := r.d
	data, err := db.openData(d.ID, r.sealed)
	if err != nil {
		return nil, err
	}
	if !includeSecrets {
		data = model.ObfuscateSecrets(data, model.SecretFields(d.BlockSchema.Fields))
	}
	d.Data = data
	d.BlockDocumentReferences = map[string]any{}
	rows, err := q.QueryContext(ctx, db.d.rebind(`SELECT r.name, `+blockDocumentColumns+`, `+blockSchemaColumns+`, `+blockTypeColumns+
		` FROM block_document_references r JOIN block_documents d ON d.id = r.reference_block_document_id`+
		` JOIN block_schemas s ON s.id = d.block_schema_id JOIN block_types t ON t.id = d.block_type_id`+
		` WHERE r.workspace_id = ? AND r.parent_block_document_id = ? ORDER BY r.name`), ws, d.ID)
	if err != nil {
		return nil, fmt.Errorf("read block document references: %w", err)
	}
	type named struct {
		name string
		row  docRow
	}
	children, err := collect(rows, func(s scanner) (named, error) {
		var n named
		row, err := scanDocRow(&docRowScanner{name: &n.name, s: s})
		n.row = row
		return n, err
	})
	if err != nil {
		return nil, fmt.Errorf("read block document references: %w", err)
	}
	for _, c := range children {
		child, err := db.assemble(ctx, q, ws, c.row, includeSecrets, depth+1)
		if err != nil {
			return nil, err
		}
		d.Data[c.name] = child.Data
		d.BlockDocumentReferences[c.name] = map[string]any{"block_document": map[string]any{
			"id":                        child.ID,
			"name":                      child.Name,
			"block_type":                child.BlockType,
			"is_anonymous":              child.IsAnonymous,
			"block_document_references": child.BlockDocumentReferences,
		}}
	}
	return d, nil
}

// docRowScanner scans a leading name column before a document row's.
type docRowScanner struct {
	name *string
	s    scanner
}

func (p *docRowScanner) Scan(dest ...any) error {
	return p.s.Scan(append([]any{p.name}, dest...)...)
}

// CreateBlockDocument creates d with its references.
func (db *DB) CreateBlockDocument(ctx context.Context, ws uuid.UUID, d *model.BlockDocument) error {
	plain, refs, err := model.SplitBlockReferences(d.Data)
	if err != nil {
		return apperr.Errorf(apperr.EInvalid, "%s", err.Error())
	}
	name := ""
	if d.Name != nil {
		name = *d.Name
	}
	if d.IsAnonymous && name == "" {
		name = "anonymous-" + uuid.NewString()
	}
	in := *d
	var emitted []*model.Event
	err = db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		emitted = nil
		t, err := db.getBlockType(ctx, tx, "", `t.id = ?`, ws, in.BlockTypeID)
		if apperr.IsNotFound(err) {
			return apperr.Errorf(apperr.ENotFound, "Block type %s not found.", in.BlockTypeID)
		}
		if err != nil {
			return err
		}
		if _, err := db.getBlockSchema(ctx, tx, `s.id = ?`, ws, in.BlockSchemaID); apperr.IsNotFound(err) {
			return apperr.Errorf(apperr.ENotFound, "Block schema %s not found.", in.BlockSchemaID)
		} else if err != nil {
			return err
		}
		id := uuid.Must(uuid.NewV7())
		sealed, err := db.sealData(id, plain)
		if err != nil {
			return err
		}
		now := db.d.time(model.At(db.now()))
		_, err = tx.ExecContext(ctx, db.d.rebind(`INSERT INTO block_documents (id, workspace_id, name, block_type_id, block_type_name, block_schema_id, is_anonymous, data, created, updated)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`), id, ws, name, in.BlockTypeID, t.Name, in.BlockSchemaID, in.IsAnonymous, sealed, now, now)
		if db.d.isUniqueViolation(err) {
			return apperr.Errorf(apperr.EConflict, "Block already exists")
		}
		if err != nil {
			return fmt.Errorf("insert block document: %w", err)
		}
		if err := db.setReferences(ctx, tx, ws, id, refs); err != nil {
			return err
		}
		got, err := db.getDocument(ctx, tx, ws, `d.workspace_id = ? AND d.id = ?`, []any{ws, id}, false)
		if err != nil {
			return err
		}
		*d = *got
		emitted, err = db.blockDocumentEvent(ctx, tx, ws, "created", got)
		return err
	})
	if err == nil {
		db.published(ws, emitted)
	}
	return err
}

// setReferences makes a document's references exactly refs: those of the
// same name and target stay, the others go, new ones are checked (a
// document of the workspace, no cycle) and added.
func (db *DB) setReferences(ctx context.Context, tx *sql.Tx, ws, parent uuid.UUID, refs map[string]uuid.UUID) error {
	rows, err := tx.QueryContext(ctx, db.d.rebind(`SELECT id, name, reference_block_document_id FROM block_document_references WHERE parent_block_document_id = ?`), parent)
	if err != nil {
		return fmt.Errorf("read block document references: %w", err)
	}
	type ref struct {
		id, target uuid.UUID
		name       string
	}
	current, err := collect(rows, func(s scanner) (ref, error) {
		var r ref
		err := s.Scan(&r.id, &r.name, &r.target)
		return r, err
	})
	if err != nil {
		return fmt.Errorf("read block document references: %w", err)
	}
	for _, r := range current {
		if target, ok := refs[r.name]; ok && target == r.target {
			continue
		}
		if _, err := tx.ExecContext(ctx, db.d.rebind(`DELETE FROM block_document_references WHERE id = ?`), r.id); err != nil {
			return fmt.Errorf("delete block document reference: %w", err)
		}
	}
	now := db.d.time(model.At(db.now()))
	for _, name := range slices.Sorted(maps.Keys(refs)) {
		target := refs[name]
		if slices.ContainsFunc(current, func(r ref) bool { return r.name == name && r.target == target }) {
			continue
		}
		var exists int
		err := tx.QueryRowContext(ctx, db.d.rebind(`SELECT COUNT(*) FROM block_documents WHERE workspace_id = ? AND id = ?`), ws, target).Scan(&exists)
		if err != nil {
			return fmt.Errorf("read referenced block document: %w", err)
		}
		if exists == 0 {
			return apperr.Errorf(apperr.EInvalid, "Block document %s referenced in key %s not found.", target, name)
		}
		cycle, err := db.reaches(ctx, tx, target, parent)
		if err != nil {
			return err
		}
		if cycle {
			return apperr.Errorf(apperr.EInvalid, "Cannot create block document reference: it would introduce a cycle into the block_document_reference graph (parent=%s, reference=%s).", parent, target)
		}
		_, err = tx.ExecContext(ctx, db.d.rebind(`INSERT INTO block_document_references (id, workspace_id, parent_block_document_id, reference_block_document_id, name, created, updated)
			VALUES (?, ?, ?, ?, ?, ?, ?)`), uuid.Must(uuid.NewV7()), ws, parent, target, name, now, now)
		if err != nil {
			return fmt.Errorf("insert block document reference: %w", err)
		}
	}
	return nil
}

// reaches reports whether to is from, or reachable from it along
// references.
func (db *DB) reaches(ctx context.Context, tx *sql.Tx, from, to uuid.UUID) (bool, error) {
	seen := map[uuid.UUID]bool{}
	stack := []uuid.UUID{from}
	for len(stack) > 0 {
		cur := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if cur == to {
			return true, nil
		}
		if seen[cur] {
			continue
		}
		seen[cur] = true
		rows, err := tx.QueryContext(ctx, db.d.rebind(`SELECT reference_block_document_id FROM block_document_references WHERE parent_block_document_id = ?`), cur)
		if err != nil {
			return false, fmt.Errorf("walk block document references: %w", err)
		}
		next, err := collect(rows, func(s scanner) (uuid.UUID, error) {
			var id uuid.UUID
			err := s.Scan(&id)
			return id, err
		})
		if err != nil {
			return false, fmt.Errorf("walk block document references: %w", err)
		}
		stack = append(stack, next...)
	}
	return false, nil
}

// UpdateBlockDocument changes a document's data and schema as Prefect
// does.
func (db *DB) UpdateBlockDocument(ctx context.Context, ws, id uuid.UUID, u store.BlockDocumentUpdate) error {
	var emitted []*model.Event
	err := db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		emitted = nil
		if err := db.updateBlockDocument(ctx, tx, ws, id, u); err != nil {
			return err
		}
		got, err := db.getDocument(ctx, tx, ws, `d.workspace_id = ? AND d.id = ?`, []any{ws, id}, false)
		if err != nil {
			return err
		}
		emitted, err = db.blockDocumentEvent(ctx, tx, ws, "updated", got)
		return err
	})
	if err == nil {
		db.published(ws, emitted)
	}
	return err
}

// updateBlockDocument is UpdateBlockDocument inside tx.
func (db *DB) updateBlockDocument(ctx context.Context, tx *sql.Tx, ws, id uuid.UUID, u store.BlockDocumentUpdate) error {
	var (
		sealed   []byte
		schemaID uuid.UUID
		typeID   uuid.UUID
		fields   json.RawMessage
	)
	err := tx.QueryRowContext(ctx, db.d.rebind(`SELECT d.data, d.block_schema_id, d.block_type_id, s.fields FROM block_documents d JOIN block_schemas s ON s.id = d.block_schema_id
		WHERE d.workspace_id = ? AND d.id = ?`+db.d.forUpdate()), ws, id).Scan(&sealed, &schemaID, &typeID, rawJSON{&fields})
	if errors.Is(err, sql.ErrNoRows) {
		return notFound("Block document")
	}
	if err != nil {
		return fmt.Errorf("read block document: %w", err)
	}
	now := db.d.time(model.At(db.now()))
	if u.Data == nil {
		return db.execOneIn(ctx, tx, "Block document", `UPDATE block_documents SET updated = ? WHERE workspace_id = ? AND id = ?`, now, ws, id)
	}
	current, err := db.openData(id, sealed)
	if err != nil {
		return err
	}
	data := model.KeepSecrets(u.Data, current, model.SecretFields(fields))
	if u.Merge {
		merged := maps.Clone(current)
		maps.Copy(merged, data)
		data = merged
	}
	plain, refs, err := model.SplitBlockReferences(data)
	if err != nil {
		return apperr.Errorf(apperr.EInvalid, "%s", err.Error())
	}
	if u.BlockSchemaID != nil && *u.BlockSchemaID != schemaID {
		s, err := db.getBlockSchema(ctx, tx, `s.id = ?`, ws, *u.BlockSchemaID)
		if apperr.IsNotFound(err) {
			return apperr.Errorf(apperr.EInvalid, "Block schema %s not found", *u.BlockSchemaID)
		}
		if err != nil {
			return err
		}
		if s.BlockTypeID != typeID {
			return apperr.Errorf(apperr.EInvalid, "Must migrate block document to a block schema of the same block type.")
		}
		schemaID = s.ID
	}
	resealed, err := db.sealData(id, plain)
	if err != nil {
		return err
	}
	if err := db.execOneIn(ctx, tx, "Block document", `UPDATE block_documents SET data = ?, block_schema_id = ?, updated = ? WHERE workspace_id = ? AND id = ?`,
		resealed, schemaID, now, ws, id); err != nil {
		return err
	}
	return db.setReferences(ctx, tx, ws, id, refs)
}

// DeleteBlockDocument deletes a document; its references go with it.
func (db *DB) DeleteBlockDocument(ctx context.Context, ws, id uuid.UUID) error {
	var emitted []*model.Event
	err := db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		emitted = nil
		got, err := db.getDocument(ctx, tx, ws, `d.workspace_id = ? AND d.id = ?`, []any{ws, id}, false)
		if err != nil {
			return err
		}
		if err := db.execOneIn(ctx, tx, "Block document", `DELETE FROM block_documents WHERE workspace_id = ? AND id = ?`, ws, id); err != nil {
			return err
		}
		emitted, err = db.blockDocumentEvent(ctx, tx, ws, "deleted", got)
		return err
	})
	if err == nil {
		db.published(ws, emitted)
	}
	return err
}

// blockDocumentEvent stores the prefect.block-document.<action> event
// Prefect's server emits for a named document, as read without secrets,
// and returns it to publish after commit. Its payload carries the
// document's top-level string values but those its schema marks secret.
func (db *DB) blockDocumentEvent(ctx context.Context, tx *sql.Tx, ws uuid.UUID, action string, d *model.BlockDocument) ([]*model.Event, error) {
	if d.IsAnonymous {
		return nil, nil
	}
	secret := model.SecretFields(d.BlockSchema.Fields)
	data := map[string]string{}
	for k, v := range d.Data {
		if s, ok := v.(string); ok && !slices.Contains(secret, k) {
			data[k] = s
		}
	}
	payload, err := json.Marshal(map[string]any{
		"name": d.Name,
		"data": data,
		"block_schema": map[string]any{
			"capabilities": d.BlockSchema.Capabilities,
			"block_type":   map[string]any{"id": d.BlockTypeID, "name": d.BlockType.Name},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("block document event: %w", err)
	}
	now := model.At(db.now())
	e := &model.Event{ID: uuid.Must(uuid.NewV7()), Occurred: now, Received: now, Event: "prefect.block-document." + action,
		Resource: model.Resource{"prefect.resource.id": "prefect.block-document." + d.ID.String(), "prefect.resource.name": *d.Name},
		Related: []model.Resource{
			{"prefect.resource.id": "prefect.block-type." + d.BlockTypeID.String(), "prefect.resource.role": "block-type", "prefect.resource.name": d.BlockType.Name},
			{"prefect.resource.id": "prefect.block-schema." + d.BlockSchemaID.String(), "prefect.resource.role": "block-schema"},
		},
		Payload: payload}
	if err := db.insertEvent(ctx, tx, ws, e); err != nil {
		return nil, err
	}
	return []*model.Event{e}, nil
}

// ResealBlockDocuments seals again, with the current key, every document
// sealed with an older one.
func (db *DB) ResealBlockDocuments(ctx context.Context) (int, error) {
	if db.secrets == nil {
		return 0, errNoSecretsKey
	}
	var n int
	err := db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		n = 0
		rows, err := tx.QueryContext(ctx, `SELECT id, data FROM block_documents`)
		if err != nil {
			return fmt.Errorf("read block documents: %w", err)
		}
		type sealedRow struct {
			id   uuid.UUID
			data []byte
		}
		all, err := collect(rows, func(s scanner) (sealedRow, error) {
			var r sealedRow
			err := s.Scan(&r.id, &r.data)
			return r, err
		})
		if err != nil {
			return fmt.Errorf("read block documents: %w", err)
		}
		for _, r := range all {
			if db.secrets.Current(r.data) {
				continue
			}
			plain, err := db.secrets.Open(r.data, r.id[:])
			if err != nil {
				return fmt.Errorf("block document %s: %w", r.id, err)
			}
			if _, err := tx.ExecContext(ctx, db.d.rebind(`UPDATE block_documents SET data = ? WHERE id = ?`), db.secrets.Seal(plain, r.id[:]), r.id); err != nil {
				return fmt.Errorf("reseal block document: %w", err)
			}
			n++
		}
		return nil
	})
	return n, err
}

// ResultStorage returns ws's default result storage block, nil for none.
func (db *DB) ResultStorage(ctx context.Context, ws uuid.UUID) (*uuid.UUID, error) {
	var id uuid.UUID
	err := db.read.QueryRowContext(ctx, db.d.rebind(`SELECT block_document_id FROM result_storage WHERE workspace_id = ?`), ws).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read result storage: %w", err)
	}
	return &id, nil
}

// SetResultStorage sets or clears ws's default result storage; the
// document is checked in the same write.
func (db *DB) SetResultStorage(ctx context.Context, ws uuid.UUID, id *uuid.UUID) error {
	return db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if id == nil {
			_, err := tx.ExecContext(ctx, db.d.rebind(`DELETE FROM result_storage WHERE workspace_id = ?`), ws)
			return err
		}
		var writes bool
		err := tx.QueryRowContext(ctx, db.d.rebind(`SELECT `+db.d.jsonContains("s.capabilities")+` FROM block_documents d
			JOIN block_schemas s ON s.id = d.block_schema_id WHERE d.workspace_id = ? AND d.id = ?`), "write-path", ws, *id).Scan(&writes)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return apperr.Errorf(apperr.ENotFound, "Block document %s not found.", id)
		case err != nil:
			return fmt.Errorf("read block document: %w", err)
		case !writes:
			return apperr.Errorf(apperr.EInvalid, "Block document %s cannot be used for result storage.", id)
		}
		_, err = tx.ExecContext(ctx, db.d.rebind(`INSERT INTO result_storage (workspace_id, block_document_id) VALUES (?, ?)
			ON CONFLICT (workspace_id) DO UPDATE SET block_document_id = excluded.block_document_id`), ws, *id)
		if err != nil {
			return fmt.Errorf("set result storage: %w", err)
		}
		return nil
	})
}
