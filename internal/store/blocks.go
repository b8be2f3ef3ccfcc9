package store

import (
	"context"
	"encoding/json"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/model"
)

// Blocks stores block types, their schemas and block documents, all per
// workspace (as in Prefect Cloud). A document's data is sealed at rest
// with the server's secrets key: the store seals it on write and opens it
// on read, so callers see it in clear and the database never does.
type Blocks interface {
	// CreateBlockType creates t; a slug taken in the workspace is a
	// conflict.
	CreateBlockType(ctx context.Context, ws uuid.UUID, t *model.BlockType) error
	GetBlockType(ctx context.Context, ws, id uuid.UUID) (*model.BlockType, error)
	GetBlockTypeBySlug(ctx context.Context, ws uuid.UUID, slug string) (*model.BlockType, error)
	// ListBlockTypes returns the block types matching q, by name.
	ListBlockTypes(ctx context.Context, ws uuid.UUID, q BlockTypeQuery) ([]*model.BlockType, error)
	// UpdateBlockType applies patch to a block type and saves its logo and
	// documentation URLs, description and code example.
	UpdateBlockType(ctx context.Context, ws, id uuid.UUID, patch func(*model.BlockType) error) error
	// DeleteBlockType deletes a block type with its schemas and documents;
	// a protected one is forbidden.
	DeleteBlockType(ctx context.Context, ws, id uuid.UUID) error

	// CreateBlockSchema stores s (whose Checksum the caller computed)
	// unless the workspace has a schema of that checksum and version,
	// which it returns in s instead, with created false. Its block type
	// must be the workspace's.
	CreateBlockSchema(ctx context.Context, ws uuid.UUID, s *model.BlockSchema) (created bool, err error)
	GetBlockSchema(ctx context.Context, ws, id uuid.UUID) (*model.BlockSchema, error)
	// GetBlockSchemaByChecksum returns the schema of checksum and version,
	// or the newest of checksum when version is nil.
	GetBlockSchemaByChecksum(ctx context.Context, ws uuid.UUID, checksum string, version *string) (*model.BlockSchema, error)
	// ListBlockSchemas returns the schemas matching q, newest first.
	ListBlockSchemas(ctx context.Context, ws uuid.UUID, q BlockSchemaQuery) ([]*model.BlockSchema, error)
	// DeleteBlockSchema deletes a schema and its documents; one of a
	// protected block type is forbidden.
	DeleteBlockSchema(ctx context.Context, ws, id uuid.UUID) error
	// ListBlockCapabilities returns the capabilities of the workspace's
	// schemas, each once, sorted.
	ListBlockCapabilities(ctx context.Context, ws uuid.UUID) ([]string, error)

	// CreateBlockDocument creates d from its name, block type and schema
	// (both the workspace's), anonymity and data, whose top-level members
	// {"$ref": {"block_document_id": …}} become references to other
	// documents of the workspace; an anonymous document without a name
	// gets one. d is read back without secrets. A name taken for the
	// block type is a conflict; a bad reference is invalid.
	CreateBlockDocument(ctx context.Context, ws uuid.UUID, d *model.BlockDocument) error
	// GetBlockDocument reads a document with the documents it references
	// merged into its data; without includeSecrets the values its schemas
	// mark secret are obfuscated.
	GetBlockDocument(ctx context.Context, ws, id uuid.UUID, includeSecrets bool) (*model.BlockDocument, error)
	GetBlockDocumentByName(ctx context.Context, ws uuid.UUID, typeSlug, name string, includeSecrets bool) (*model.BlockDocument, error)
	// ListBlockDocuments returns the documents matching q, as
	// GetBlockDocument reads them; anonymous ones only if q asks.
	ListBlockDocuments(ctx context.Context, ws uuid.UUID, q BlockDocumentQuery) ([]*model.BlockDocument, error)
	CountBlockDocuments(ctx context.Context, ws uuid.UUID, q BlockDocumentQuery) (int, error)
	// UpdateBlockDocument changes a document's data (and schema, to one of
	// its block type) as Prefect does: secret values sent back obfuscated
	// keep their stored value, u.Merge merges into the stored data, and
	// the references are those of the new data.
	UpdateBlockDocument(ctx context.Context, ws, id uuid.UUID, u BlockDocumentUpdate) error
	// DeleteBlockDocument deletes a document and the references to and
	// from it.
	DeleteBlockDocument(ctx context.Context, ws, id uuid.UUID) error

	// ResultStorage returns the block document ws stores results in by
	// default (Prefect's server default result storage), nil for none.
	ResultStorage(ctx context.Context, ws uuid.UUID) (*uuid.UUID, error)
	// SetResultStorage makes the document id ws's default result storage,
	// or clears it for nil. The document must be one of ws's whose schema
	// can write paths ("write-path"), else EInvalid; a missing one is
	// ENotFound.
	SetResultStorage(ctx context.Context, ws uuid.UUID, id *uuid.UUID) error

	// ResealBlockDocuments seals again with the current key the data of
	// every document (of every workspace) sealed with an older one, after
	// a key rotation, and returns how many it resealed.
	ResealBlockDocuments(ctx context.Context) (int, error)
}

// BlockDocumentUpdate is Prefect's BlockDocumentUpdate.
type BlockDocumentUpdate struct {
	BlockSchemaID *uuid.UUID
	// Data is the new data; nil leaves the data (and schema) alone.
	Data map[string]any
	// Merge merges Data into the stored data rather than replacing it.
	Merge bool
}

// BlockTypeFilter is Prefect's BlockTypeFilter.
type BlockTypeFilter struct {
	Name *struct {
		Like *string `json:"like_"`
	} `json:"name"`
	Slug *struct {
		Any []string `json:"any_"`
	} `json:"slug"`
}

// BlockSchemaFilter is Prefect's BlockSchemaFilter.
type BlockSchemaFilter struct {
	Operator    string `json:"operator"`
	BlockTypeID *struct {
		Any []uuid.UUID `json:"any_"`
	} `json:"block_type_id"`
	BlockCapabilities *struct {
		All []string `json:"all_"`
	} `json:"block_capabilities"`
	ID *struct {
		Any []uuid.UUID `json:"any_"`
	} `json:"id"`
	Version *struct {
		Any []string `json:"any_"`
	} `json:"version"`
}

// BlockDocumentFilter is Prefect's BlockDocumentFilter. Its is_anonymous
// defaults to false when not sent, as Prefect's does; sent as null it does
// not filter.
type BlockDocumentFilter struct {
	Operator string `json:"operator"`
	ID       *struct {
		Any []uuid.UUID `json:"any_"`
	} `json:"id"`
	IsAnonymous *struct {
		Eq *bool `json:"eq_"`
	} `json:"is_anonymous"`
	BlockTypeID *struct {
		Any []uuid.UUID `json:"any_"`
	} `json:"block_type_id"`
	Name *struct {
		Any  []string `json:"any_"`
		Like *string  `json:"like_"`
	} `json:"name"`
}

// UnmarshalJSON applies the default of is_anonymous.
func (f *BlockDocumentFilter) UnmarshalJSON(b []byte) error {
	type plain BlockDocumentFilter
	p := plain(NotAnonymous())
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*f = BlockDocumentFilter(p)
	return nil
}

// NotAnonymous is the filter of named documents only.
func NotAnonymous() BlockDocumentFilter {
	var f BlockDocumentFilter
	no := false
	f.IsAnonymous = &struct {
		Eq *bool `json:"eq_"`
	}{Eq: &no}
	return f
}

// BlockTypeQuery selects block types.
type BlockTypeQuery struct {
	BlockTypes   *BlockTypeFilter   `json:"block_types"`
	BlockSchemas *BlockSchemaFilter `json:"block_schemas"`
	Limit        int                `json:"limit"`
	Offset       int                `json:"offset"`
}

// BlockSchemaQuery selects block schemas.
type BlockSchemaQuery struct {
	BlockSchemas *BlockSchemaFilter `json:"block_schemas"`
	Limit        int                `json:"limit"`
	Offset       int                `json:"offset"`
}

// BlockDocumentQuery selects block documents. With no BlockDocuments
// filter only named documents match.
type BlockDocumentQuery struct {
	BlockDocuments *BlockDocumentFilter `json:"block_documents"`
	BlockTypes     *BlockTypeFilter     `json:"block_types"`
	BlockSchemas   *BlockSchemaFilter   `json:"block_schemas"`
	IncludeSecrets bool                 `json:"include_secrets"`
	Sort           string               `json:"sort"`
	Limit          int                  `json:"limit"`
	Offset         int                  `json:"offset"`
}

// SortBlockTypeAndNameAsc orders block documents by block type name, then
// name.
const SortBlockTypeAndNameAsc = "BLOCK_TYPE_AND_NAME_ASC"

// BlockDocumentSorts are the orders of Prefect's BlockDocumentSort.
var BlockDocumentSorts = []string{SortNameDesc, SortNameAsc, SortBlockTypeAndNameAsc}

// Page returns the query's page and sort.
func (q BlockTypeQuery) Page() (limit, offset int, sort string) { return q.Limit, q.Offset, "" }

// Page returns the query's page and sort.
func (q BlockSchemaQuery) Page() (limit, offset int, sort string) { return q.Limit, q.Offset, "" }

// Page returns the query's page and sort.
func (q BlockDocumentQuery) Page() (limit, offset int, sort string) { return q.Limit, q.Offset, q.Sort }
