package storetest

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

// secretFields is a schema with one secret field, "token", and a secret
// nested under "creds".
const secretFields = `{"title":"Svc","type":"object","properties":{"token":{"type":"string","format":"password","writeOnly":true}},"secret_fields":["token","creds.password"],"block_schema_references":{}}`

// blockType creates a block type of slug.
func (h *harness) blockType(ws uuid.UUID, slug string, edit ...func(*model.BlockType)) *model.BlockType {
	h.t.Helper()
	t := &model.BlockType{Name: "Type " + slug, Slug: slug}
	for _, e := range edit {
		e(t)
	}
	h.must(h.s.CreateBlockType(h.ctx, ws, t), "create block type "+slug)
	return t
}

// blockSchema creates a schema of a type, with the given fields and
// capabilities; its checksum is the fields' own.
func (h *harness) blockSchema(ws, typeID uuid.UUID, fields string, caps ...string) *model.BlockSchema {
	h.t.Helper()
	sum, err := model.BlockSchemaChecksum(json.RawMessage(fields))
	h.must(err, "checksum")
	s := &model.BlockSchema{BlockTypeID: typeID, Fields: json.RawMessage(fields), Checksum: sum, Capabilities: caps, Version: "1"}
	_, err = h.s.CreateBlockSchema(h.ctx, ws, s)
	h.must(err, "create block schema")
	return s
}

// blockDoc creates a named document of a schema.
func (h *harness) blockDoc(ws uuid.UUID, s *model.BlockSchema, name string, data map[string]any) *model.BlockDocument {
	h.t.Helper()
	d := &model.BlockDocument{Name: &name, BlockTypeID: s.BlockTypeID, BlockSchemaID: s.ID, Data: data}
	h.must(h.s.CreateBlockDocument(h.ctx, ws, d), "create block document "+name)
	return d
}

// secretSetup is a workspace with a type, its secret schema and a
// document whose token is "t0ken".
func (h *harness) secretSetup() (uuid.UUID, *model.BlockSchema, *model.BlockDocument) {
	h.t.Helper()
	ws := h.ws()
	t := h.blockType(ws, "svc")
	s := h.blockSchema(ws, t.ID, secretFields)
	d := h.blockDoc(ws, s, "prod", map[string]any{"token": "t0ken", "url": "https://x", "creds": map[string]any{"password": "pw", "user": "u"}})
	return ws, s, d
}

func testCreateBlockType(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	bt := h.blockType(ws, "s3-bucket", func(b *model.BlockType) { b.Description = ptr("d"); b.LogoURL = ptr("https://logo") })
	if bt.ID == uuid.Nil || bt.Created.IsZero() {
		t.Errorf("created %+v", bt)
	}
	got, err := h.s.GetBlockType(h.ctx, ws, bt.ID)
	if err != nil || got.Slug != "s3-bucket" || got.Name != "Type s3-bucket" || *got.Description != "d" || *got.LogoURL != "https://logo" || got.CodeExample != nil || got.IsProtected {
		t.Errorf("stored %+v (%v)", got, err)
	}
	h.wantCode(h.s.CreateBlockType(h.ctx, ws, &model.BlockType{Name: "again", Slug: "s3-bucket"}), apperr.EConflict, "a taken slug")
	if n, _ := h.s.ListBlockTypes(h.ctx, ws, store.BlockTypeQuery{}); len(n) != 1 {
		t.Errorf("a refused duplicate left %d types", len(n))
	}
	h.blockType(other, "s3-bucket") // slugs are per workspace
}

func testGetBlockType(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	bt := h.blockType(ws, "a")
	if got, err := h.s.GetBlockType(h.ctx, ws, bt.ID); err != nil || got.ID != bt.ID {
		t.Errorf("GetBlockType: %+v, %v", got, err)
	}
	_, err := h.s.GetBlockType(h.ctx, ws, newID())
	h.wantNotFound(err, "an unknown type")
	_, err = h.s.GetBlockType(h.ctx, other, bt.ID)
	h.wantNotFound(err, "another workspace's type")
}

func testGetBlockTypeBySlug(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	bt := h.blockType(ws, "secret")
	if got, err := h.s.GetBlockTypeBySlug(h.ctx, ws, "secret"); err != nil || got.ID != bt.ID {
		t.Errorf("GetBlockTypeBySlug: %+v, %v", got, err)
	}
	_, err := h.s.GetBlockTypeBySlug(h.ctx, other, "secret")
	h.wantNotFound(err, "another workspace's slug")
}

func testListBlockTypes(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	b := h.blockType(ws, "b", func(t *model.BlockType) { t.Name = "Bravo" })
	a := h.blockType(ws, "a", func(t *model.BlockType) { t.Name = "Alpha Storage" })
	c := h.blockType(ws, "c", func(t *model.BlockType) { t.Name = "Charlie" })
	h.blockSchema(ws, a.ID, `{"title":"A"}`, "read-path", "write-path")
	h.blockSchema(ws, b.ID, `{"title":"B"}`, "read-path")
	h.blockType(other, "a")
	names := map[uuid.UUID]string{a.ID: "a", b.ID: "b", c.ID: "c"}
	list := func(q store.BlockTypeQuery) ([]*model.BlockType, error) { return h.s.ListBlockTypes(h.ctx, ws, q) }
	like := func(s string) *store.BlockTypeFilter {
		f := &store.BlockTypeFilter{}
		f.Name = &struct {
			Like *string `json:"like_"`
		}{Like: &s}
		return f
	}
	var slugs store.BlockTypeFilter
	slugs.Slug = &struct {
		Any []string `json:"any_"`
	}{Any: []string{"c", "b", "zz"}}
	var caps store.BlockSchemaFilter
	caps.BlockCapabilities = &struct {
		All []string `json:"all_"`
	}{All: []string{"write-path", "read-path"}}
	checkList(h, names, func(t *model.BlockType) uuid.UUID { return t.ID }, list, nil, []listCase[store.BlockTypeQuery]{
		{name: "all, by name", q: store.BlockTypeQuery{}, want: ids(a.ID, b.ID, c.ID)},
		{name: "name like, any case", q: store.BlockTypeQuery{BlockTypes: like("STOR")}, want: ids(a.ID)},
		{name: "slug any", q: store.BlockTypeQuery{BlockTypes: &slugs}, want: ids(b.ID, c.ID)},
		{name: "schemas with all capabilities", q: store.BlockTypeQuery{BlockSchemas: &caps}, want: ids(a.ID)},
		{name: "page", q: store.BlockTypeQuery{Limit: 1, Offset: 1}, want: ids(b.ID)},
	})
}

func testUpdateBlockType(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	bt := h.blockType(ws, "a")
	h.must(h.s.UpdateBlockType(h.ctx, ws, bt.ID, func(t *model.BlockType) error {
		t.Description, t.CodeExample, t.Slug = ptr("new"), ptr("code"), "ignored"
		return nil
	}), "update")
	got, _ := h.s.GetBlockType(h.ctx, ws, bt.ID)
	if *got.Description != "new" || *got.CodeExample != "code" || got.Slug != "a" || !got.Updated.After(bt.Updated.Time) && !got.Updated.Equal(bt.Updated.Time) {
		t.Errorf("updated %+v", got)
	}
	h.wantNotFound(h.s.UpdateBlockType(h.ctx, other, bt.ID, func(*model.BlockType) error { return nil }), "another workspace's type")
	h.wantCode(h.s.UpdateBlockType(h.ctx, ws, bt.ID, func(*model.BlockType) error { return apperr.Errorf(apperr.EInvalid, "no") }), apperr.EInvalid, "a refused patch")
}

func testDeleteBlockType(t *testing.T, h *harness) {
	ws, s, d := h.secretSetup()
	h.wantNotFound(h.s.DeleteBlockType(h.ctx, h.ws(), s.BlockTypeID), "another workspace's type")
	h.must(h.s.DeleteBlockType(h.ctx, ws, s.BlockTypeID), "delete")
	_, err := h.s.GetBlockSchema(h.ctx, ws, s.ID)
	h.wantNotFound(err, "a deleted type's schema")
	_, err = h.s.GetBlockDocument(h.ctx, ws, d.ID, false)
	h.wantNotFound(err, "a deleted type's document")
	h.wantNotFound(h.s.DeleteBlockType(h.ctx, ws, s.BlockTypeID), "deleting again")
	p := h.blockType(ws, "prot", func(t *model.BlockType) { t.IsProtected = true })
	h.wantCode(h.s.DeleteBlockType(h.ctx, ws, p.ID), apperr.EForbidden, "a protected type")
}

func testCreateBlockSchema(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	bt := h.blockType(ws, "a")
	s := h.blockSchema(ws, bt.ID, `{"title":"A","properties":{"x":{"type":"number","default":1.5e-7}}}`, "read-path")
	if s.ID == uuid.Nil || s.BlockType == nil || s.BlockType.ID != bt.ID || !slices.Equal(s.Capabilities, []string{"read-path"}) {
		t.Errorf("created %+v", s)
	}
	again := &model.BlockSchema{BlockTypeID: bt.ID, Fields: s.Fields, Checksum: s.Checksum, Version: "1"}
	created, err := h.s.CreateBlockSchema(h.ctx, ws, again)
	if err != nil || created || again.ID != s.ID {
		t.Errorf("the same checksum and version again: created %v, id %s (want %s), %v", created, again.ID, s.ID, err)
	}
	v2 := &model.BlockSchema{BlockTypeID: bt.ID, Fields: s.Fields, Checksum: s.Checksum, Version: "2"}
	if created, err := h.s.CreateBlockSchema(h.ctx, ws, v2); err != nil || !created || v2.ID == s.ID {
		t.Errorf("another version: created %v, %v", created, err)
	}
	noVersion := &model.BlockSchema{BlockTypeID: bt.ID, Fields: json.RawMessage(`{}`), Checksum: "sha256:x"}
	if _, err := h.s.CreateBlockSchema(h.ctx, ws, noVersion); err != nil || noVersion.Version != model.DefaultBlockSchemaVersion {
		t.Errorf("no version: %q, %v", noVersion.Version, err)
	}
	_, err = h.s.CreateBlockSchema(h.ctx, other, &model.BlockSchema{BlockTypeID: bt.ID, Checksum: "sha256:y", Fields: json.RawMessage(`{}`)})
	h.wantNotFound(err, "a schema of another workspace's type")
}

func testGetBlockSchema(t *testing.T, h *harness) {
	ws, s, _ := h.secretSetup()
	got, err := h.s.GetBlockSchema(h.ctx, ws, s.ID)
	if err != nil || got.Checksum != s.Checksum || canonJSON(got.Fields) != canonJSON(json.RawMessage(secretFields)) || got.BlockType.Slug != "svc" {
		t.Errorf("GetBlockSchema: %+v, %v", got, err)
	}
	_, err = h.s.GetBlockSchema(h.ctx, h.ws(), s.ID)
	h.wantNotFound(err, "another workspace's schema")
}

func testGetBlockSchemaByChecksum(t *testing.T, h *harness) {
	ws := h.ws()
	bt := h.blockType(ws, "a")
	v1 := h.blockSchema(ws, bt.ID, `{"title":"A"}`)
	v2 := &model.BlockSchema{BlockTypeID: bt.ID, Fields: v1.Fields, Checksum: v1.Checksum, Version: "2"}
	_, err := h.s.CreateBlockSchema(h.ctx, ws, v2)
	h.must(err, "create v2")
	if got, err := h.s.GetBlockSchemaByChecksum(h.ctx, ws, v1.Checksum, ptr("1")); err != nil || got.ID != v1.ID {
		t.Errorf("version 1: %+v, %v", got, err)
	}
	if got, err := h.s.GetBlockSchemaByChecksum(h.ctx, ws, v1.Checksum, nil); err != nil || got.ID != v2.ID {
		t.Errorf("no version, want the newest: %+v, %v", got, err)
	}
	_, err = h.s.GetBlockSchemaByChecksum(h.ctx, ws, v1.Checksum, ptr("3"))
	h.wantNotFound(err, "an unknown version")
	_, err = h.s.GetBlockSchemaByChecksum(h.ctx, h.ws(), v1.Checksum, nil)
	h.wantNotFound(err, "another workspace's checksum")
}

func testListBlockSchemas(t *testing.T, h *harness) {
	ws := h.ws()
	a, b := h.blockType(ws, "a"), h.blockType(ws, "b")
	s1 := h.blockSchema(ws, a.ID, `{"title":"1"}`, "read-path")
	s2 := h.blockSchema(ws, a.ID, `{"title":"2"}`, "read-path", "write-path")
	s3 := h.blockSchema(ws, b.ID, `{"title":"3"}`)
	other := h.ws()
	h.blockSchema(other, h.blockType(other, "a").ID, `{"title":"other"}`)
	names := map[uuid.UUID]string{s1.ID: "s1", s2.ID: "s2", s3.ID: "s3"}
	list := func(q store.BlockSchemaQuery) ([]*model.BlockSchema, error) {
		return h.s.ListBlockSchemas(h.ctx, ws, q)
	}
	byType := &store.BlockSchemaFilter{}
	byType.BlockTypeID = &struct {
		Any []uuid.UUID `json:"any_"`
	}{Any: ids(a.ID)}
	byCap := &store.BlockSchemaFilter{}
	byCap.BlockCapabilities = &struct {
		All []string `json:"all_"`
	}{All: []string{"write-path"}}
	byVersion := &store.BlockSchemaFilter{}
	byVersion.Version = &struct {
		Any []string `json:"any_"`
	}{Any: []string{"nope"}}
	checkList(h, names, func(s *model.BlockSchema) uuid.UUID { return s.ID }, list, nil, []listCase[store.BlockSchemaQuery]{
		{name: "all, newest first", q: store.BlockSchemaQuery{}, want: ids(s3.ID, s2.ID, s1.ID)},
		{name: "block type", q: store.BlockSchemaQuery{BlockSchemas: byType}, want: ids(s2.ID, s1.ID)},
		{name: "capability", q: store.BlockSchemaQuery{BlockSchemas: byCap}, want: ids(s2.ID)},
		{name: "version", q: store.BlockSchemaQuery{BlockSchemas: byVersion}, want: ids()},
		{name: "page", q: store.BlockSchemaQuery{Limit: 1, Offset: 2}, want: ids(s1.ID)},
	})
}

func testDeleteBlockSchema(t *testing.T, h *harness) {
	ws, s, d := h.secretSetup()
	h.wantNotFound(h.s.DeleteBlockSchema(h.ctx, h.ws(), s.ID), "another workspace's schema")
	h.must(h.s.DeleteBlockSchema(h.ctx, ws, s.ID), "delete")
	_, err := h.s.GetBlockDocument(h.ctx, ws, d.ID, false)
	h.wantNotFound(err, "a deleted schema's document")
	h.wantNotFound(h.s.DeleteBlockSchema(h.ctx, ws, s.ID), "deleting again")
	p := h.blockType(ws, "prot", func(t *model.BlockType) { t.IsProtected = true })
	ps := h.blockSchema(ws, p.ID, `{"title":"P"}`)
	h.wantCode(h.s.DeleteBlockSchema(h.ctx, ws, ps.ID), apperr.EForbidden, "a protected type's schema")
}

func testListBlockCapabilities(t *testing.T, h *harness) {
	ws := h.ws()
	a := h.blockType(ws, "a")
	h.blockSchema(ws, a.ID, `{"title":"1"}`, "write-path", "read-path")
	h.blockSchema(ws, a.ID, `{"title":"2"}`, "read-path", "get-directory")
	other := h.ws()
	h.blockSchema(other, h.blockType(other, "a").ID, `{"title":"x"}`, "notify")
	got, err := h.s.ListBlockCapabilities(h.ctx, ws)
	if err != nil || !slices.Equal(got, []string{"get-directory", "read-path", "write-path"}) {
		t.Errorf("ListBlockCapabilities: %v, %v", got, err)
	}
	if got, err := h.s.ListBlockCapabilities(h.ctx, h.ws()); err != nil || got == nil || len(got) != 0 {
		t.Errorf("an empty workspace: %#v, %v", got, err)
	}
}

func testCreateBlockDocument(t *testing.T, h *harness) {
	ws, s, d := h.secretSetup()
	if d.ID == uuid.Nil || *d.Name != "prod" || *d.BlockTypeName != "Type svc" || d.BlockSchema == nil || d.BlockType == nil || d.IsAnonymous {
		t.Errorf("created %+v", d)
	}
	// What create returns is read without secrets.
	if d.Data["token"] != model.Obfuscated || d.Data["url"] != "https://x" {
		t.Errorf("created data %v", d.Data)
	}
	h.wantCode(h.s.CreateBlockDocument(h.ctx, ws, &model.BlockDocument{Name: ptr("prod"), BlockTypeID: s.BlockTypeID, BlockSchemaID: s.ID}), apperr.EConflict, "a taken name")

	// An anonymous document gets a name; references resolve into data.
	anon := &model.BlockDocument{IsAnonymous: true, BlockTypeID: s.BlockTypeID, BlockSchemaID: s.ID, Data: map[string]any{"token": "inner"}}
	h.must(h.s.CreateBlockDocument(h.ctx, ws, anon), "create anonymous")
	if anon.Name == nil || len(*anon.Name) < len("anonymous-") || (*anon.Name)[:10] != "anonymous-" || !anon.IsAnonymous {
		t.Errorf("anonymous document %+v", anon)
	}
	parent := h.blockDoc(ws, s, "parent", map[string]any{"child": map[string]any{"$ref": map[string]any{"block_document_id": anon.ID.String()}}, "token": "p"})
	ref, ok := parent.BlockDocumentReferences["child"].(map[string]any)
	if !ok || canonJSON(parent.Data["child"]) != `{"token":"********"}` {
		t.Errorf("parent data %v, references %v", parent.Data, parent.BlockDocumentReferences)
	} else if bd := ref["block_document"].(map[string]any); bd["id"] != anon.ID || bd["is_anonymous"] != true {
		t.Errorf("reference %v", ref)
	}

	// Bad references and other workspaces' types, schemas and documents
	// are refused, and leave nothing behind.
	other := h.ws()
	otherType := h.blockType(other, "svc")
	otherSchema := h.blockSchema(other, otherType.ID, secretFields)
	otherDoc := h.blockDoc(other, otherSchema, "theirs", map[string]any{"token": "x"})
	refTo := func(id uuid.UUID) map[string]any {
		return map[string]any{"c": map[string]any{"$ref": map[string]any{"block_document_id": id.String()}}}
	}
	bad := []struct {
		what string
		ws   uuid.UUID
		d    model.BlockDocument
		code apperr.Code
	}{
		{"a reference without an id", ws, model.BlockDocument{Name: ptr("b1"), BlockTypeID: s.BlockTypeID, BlockSchemaID: s.ID, Data: map[string]any{"c": map[string]any{"$ref": map[string]any{}}}}, apperr.EInvalid},
		{"a reference to an unknown document", ws, model.BlockDocument{Name: ptr("b2"), BlockTypeID: s.BlockTypeID, BlockSchemaID: s.ID, Data: refTo(newID())}, apperr.EInvalid},
		{"a reference to another workspace's document", ws, model.BlockDocument{Name: ptr("b3"), BlockTypeID: s.BlockTypeID, BlockSchemaID: s.ID, Data: refTo(otherDoc.ID)}, apperr.EInvalid},
		{"another workspace's type", other, model.BlockDocument{Name: ptr("b4"), BlockTypeID: s.BlockTypeID, BlockSchemaID: otherSchema.ID}, apperr.ENotFound},
		{"another workspace's schema", ws, model.BlockDocument{Name: ptr("b5"), BlockTypeID: s.BlockTypeID, BlockSchemaID: otherSchema.ID}, apperr.ENotFound},
	}
	for _, b := range bad {
		d := b.d
		h.wantCode(h.s.CreateBlockDocument(h.ctx, b.ws, &d), b.code, b.what)
	}
	all := store.BlockDocumentQuery{BlockDocuments: &store.BlockDocumentFilter{}}
	if n, err := h.s.CountBlockDocuments(h.ctx, ws, all); err != nil || n != 3 {
		t.Errorf("%d documents after the refused ones (%v), want 3", n, err)
	}
}

func testGetBlockDocument(t *testing.T, h *harness) {
	ws, _, d := h.secretSetup()
	got, err := h.s.GetBlockDocument(h.ctx, ws, d.ID, true)
	if err != nil || canonJSON(got.Data) != `{"creds":{"password":"pw","user":"u"},"token":"t0ken","url":"https://x"}` {
		t.Errorf("with secrets: %v, %v", got, err)
	}
	got, err = h.s.GetBlockDocument(h.ctx, ws, d.ID, false)
	if err != nil || canonJSON(got.Data) != `{"creds":{"password":"********","user":"u"},"token":"********","url":"https://x"}` {
		t.Errorf("without secrets: %v, %v", got, err)
	}
	_, err = h.s.GetBlockDocument(h.ctx, h.ws(), d.ID, true)
	h.wantNotFound(err, "another workspace's document")
}

func testGetBlockDocumentByName(t *testing.T, h *harness) {
	ws, _, d := h.secretSetup()
	if got, err := h.s.GetBlockDocumentByName(h.ctx, ws, "svc", "prod", true); err != nil || got.ID != d.ID || got.Data["token"] != "t0ken" {
		t.Errorf("by name: %v, %v", got, err)
	}
	_, err := h.s.GetBlockDocumentByName(h.ctx, ws, "other", "prod", false)
	h.wantNotFound(err, "another type's slug")
	_, err = h.s.GetBlockDocumentByName(h.ctx, h.ws(), "svc", "prod", false)
	h.wantNotFound(err, "another workspace")
}

// blockDocumentQueries builds documents and queries of them with their
// answers, for ListBlockDocuments and CountBlockDocuments.
func blockDocumentQueries(h *harness) (uuid.UUID, map[uuid.UUID]string, []listCase[store.BlockDocumentQuery]) {
	ws, s, prod := h.secretSetup()
	a := h.blockType(ws, "aaa", func(t *model.BlockType) { t.Name = "Aaa" })
	as := h.blockSchema(ws, a.ID, `{"title":"A"}`, "read-path")
	zeta := h.blockDoc(ws, as, "zeta", nil)
	beta := h.blockDoc(ws, s, "beta", nil)
	anon := &model.BlockDocument{IsAnonymous: true, BlockTypeID: s.BlockTypeID, BlockSchemaID: s.ID}
	h.must(h.s.CreateBlockDocument(h.ctx, ws, anon), "create anonymous")
	h.secretSetup() // another workspace's
	names := map[uuid.UUID]string{prod.ID: "prod", zeta.ID: "zeta", beta.ID: "beta", anon.ID: "anon"}
	docs := func(edit func(*store.BlockDocumentFilter)) *store.BlockDocumentFilter {
		f := store.NotAnonymous()
		edit(&f)
		return &f
	}
	anyAnon := docs(func(f *store.BlockDocumentFilter) { f.IsAnonymous = nil })
	onlyAnon := docs(func(f *store.BlockDocumentFilter) { f.IsAnonymous.Eq = ptr(true) })
	byName := docs(func(f *store.BlockDocumentFilter) {
		f.Name = &struct {
			Any  []string `json:"any_"`
			Like *string  `json:"like_"`
		}{Any: []string{"zeta", "prod"}}
	})
	like := docs(func(f *store.BlockDocumentFilter) {
		f.Name = &struct {
			Any  []string `json:"any_"`
			Like *string  `json:"like_"`
		}{Like: ptr("ET")}
	})
	byType := docs(func(f *store.BlockDocumentFilter) {
		f.BlockTypeID = &struct {
			Any []uuid.UUID `json:"any_"`
		}{Any: ids(a.ID)}
	})
	slug := &store.BlockTypeFilter{}
	slug.Slug = &struct {
		Any []string `json:"any_"`
	}{Any: []string{"svc"}}
	caps := &store.BlockSchemaFilter{}
	caps.BlockCapabilities = &struct {
		All []string `json:"all_"`
	}{All: []string{"read-path"}}
	return ws, names, []listCase[store.BlockDocumentQuery]{
		{name: "default: named only, by name", q: store.BlockDocumentQuery{}, want: ids(beta.ID, prod.ID, zeta.ID)},
		{name: "NAME_DESC", q: store.BlockDocumentQuery{Sort: "NAME_DESC"}, want: ids(zeta.ID, prod.ID, beta.ID)},
		{name: "BLOCK_TYPE_AND_NAME_ASC", q: store.BlockDocumentQuery{Sort: "BLOCK_TYPE_AND_NAME_ASC"}, want: ids(zeta.ID, beta.ID, prod.ID)},
		{name: "anonymous too", q: store.BlockDocumentQuery{BlockDocuments: anyAnon, Sort: "NAME_DESC"}, want: ids(zeta.ID, prod.ID, beta.ID, anon.ID)},
		{name: "anonymous only", q: store.BlockDocumentQuery{BlockDocuments: onlyAnon}, want: ids(anon.ID)},
		{name: "name any", q: store.BlockDocumentQuery{BlockDocuments: byName}, want: ids(prod.ID, zeta.ID)},
		{name: "name like", q: store.BlockDocumentQuery{BlockDocuments: like}, want: ids(beta.ID, zeta.ID)},
		{name: "block type id", q: store.BlockDocumentQuery{BlockDocuments: byType}, want: ids(zeta.ID)},
		{name: "block type slug", q: store.BlockDocumentQuery{BlockTypes: slug}, want: ids(beta.ID, prod.ID)},
		{name: "schema capability", q: store.BlockDocumentQuery{BlockSchemas: caps}, want: ids(zeta.ID)},
		{name: "page", q: store.BlockDocumentQuery{Limit: 1, Offset: 1}, want: ids(prod.ID), total: 3},
	}
}

func testListBlockDocuments(t *testing.T, h *harness) {
	ws, names, cases := blockDocumentQueries(h)
	list := func(q store.BlockDocumentQuery) ([]*model.BlockDocument, error) {
		return h.s.ListBlockDocuments(h.ctx, ws, q)
	}
	checkList(h, names, func(d *model.BlockDocument) uuid.UUID { return d.ID }, list, nil, cases)
	_, err := h.s.ListBlockDocuments(h.ctx, ws, store.BlockDocumentQuery{Sort: "BOGUS"})
	h.wantCode(err, apperr.EInvalid, "an unknown sort")
	// Secrets only when asked.
	for _, include := range []bool{false, true} {
		docs, err := h.s.ListBlockDocuments(h.ctx, ws, store.BlockDocumentQuery{IncludeSecrets: include, BlockDocuments: &store.BlockDocumentFilter{}})
		h.must(err, "list")
		for _, d := range docs {
			if *d.Name == "prod" && (d.Data["token"] == "t0ken") != include {
				t.Errorf("include_secrets %v: token %v", include, d.Data["token"])
			}
		}
	}
}

func testCountBlockDocuments(t *testing.T, h *harness) {
	ws, _, cases := blockDocumentQueries(h)
	for _, c := range cases {
		want := len(c.want)
		if c.total != 0 {
			want = c.total
		}
		if n, err := h.s.CountBlockDocuments(h.ctx, ws, c.q); err != nil || n != want {
			t.Errorf("%s: %d (%v), want %d", c.name, n, err, want)
		}
	}
}

func testUpdateBlockDocument(t *testing.T, h *harness) {
	ws, s, d := h.secretSetup()
	read := func() map[string]any {
		got, err := h.s.GetBlockDocument(h.ctx, ws, d.ID, true)
		h.must(err, "read")
		return got.Data
	}
	// Stars sent back keep the secret; merge keeps what is not sent.
	h.must(h.s.UpdateBlockDocument(h.ctx, ws, d.ID, store.BlockDocumentUpdate{Data: map[string]any{"token": model.Obfuscated, "url": "https://y"}, Merge: true}), "merge")
	if got := canonJSON(read()); got != `{"creds":{"password":"pw","user":"u"},"token":"t0ken","url":"https://y"}` {
		t.Errorf("after a merge: %s", got)
	}
	// Without merge the data is replaced.
	h.must(h.s.UpdateBlockDocument(h.ctx, ws, d.ID, store.BlockDocumentUpdate{Data: map[string]any{"token": "new"}}), "replace")
	if got := canonJSON(read()); got != `{"token":"new"}` {
		t.Errorf("after a replace: %s", got)
	}
	// References follow the data: added, then dropped.
	child := h.blockDoc(ws, s, "child", map[string]any{"token": "c"})
	ref := map[string]any{"$ref": map[string]any{"block_document_id": child.ID.String()}}
	h.must(h.s.UpdateBlockDocument(h.ctx, ws, d.ID, store.BlockDocumentUpdate{Data: map[string]any{"sub": ref}, Merge: true}), "add a reference")
	if got := canonJSON(read()); got != `{"sub":{"token":"c"},"token":"new"}` {
		t.Errorf("with a reference: %s", got)
	}
	// A cycle is refused and changes nothing.
	back := map[string]any{"$ref": map[string]any{"block_document_id": d.ID.String()}}
	h.wantCode(h.s.UpdateBlockDocument(h.ctx, ws, child.ID, store.BlockDocumentUpdate{Data: map[string]any{"up": back}, Merge: true}), apperr.EInvalid, "a cycle")
	h.wantCode(h.s.UpdateBlockDocument(h.ctx, ws, d.ID, store.BlockDocumentUpdate{Data: map[string]any{"self": back}}), apperr.EInvalid, "a self-reference")
	if got := canonJSON(read()); got != `{"sub":{"token":"c"},"token":"new"}` {
		t.Errorf("after refused cycles: %s", got)
	}
	h.must(h.s.UpdateBlockDocument(h.ctx, ws, d.ID, store.BlockDocumentUpdate{Data: map[string]any{"token": "x"}}), "drop the reference")
	if got, _ := h.s.GetBlockDocument(h.ctx, ws, d.ID, true); len(got.BlockDocumentReferences) != 0 || canonJSON(got.Data) != `{"token":"x"}` {
		t.Errorf("after dropping the reference: %v %v", got.Data, got.BlockDocumentReferences)
	}
	// A schema of another type is refused; one of the same type is taken.
	otherType := h.blockSchema(ws, h.blockType(ws, "other").ID, `{"title":"O"}`)
	h.wantCode(h.s.UpdateBlockDocument(h.ctx, ws, d.ID, store.BlockDocumentUpdate{BlockSchemaID: &otherType.ID, Data: map[string]any{}}), apperr.EInvalid, "another type's schema")
	v2 := h.blockSchema(ws, s.BlockTypeID, `{"title":"v2","secret_fields":["token"]}`)
	h.must(h.s.UpdateBlockDocument(h.ctx, ws, d.ID, store.BlockDocumentUpdate{BlockSchemaID: &v2.ID, Data: map[string]any{}, Merge: true}), "migrate the schema")
	if got, _ := h.s.GetBlockDocument(h.ctx, ws, d.ID, false); got.BlockSchemaID != v2.ID || got.Data["token"] != model.Obfuscated {
		t.Errorf("after migrating: schema %s, data %v", got.BlockSchemaID, got.Data)
	}
	h.wantNotFound(h.s.UpdateBlockDocument(h.ctx, h.ws(), d.ID, store.BlockDocumentUpdate{Data: map[string]any{}}), "another workspace's document")
}

func testDeleteBlockDocument(t *testing.T, h *harness) {
	ws, s, d := h.secretSetup()
	parent := h.blockDoc(ws, s, "parent", map[string]any{"c": map[string]any{"$ref": map[string]any{"block_document_id": d.ID.String()}}})
	h.wantNotFound(h.s.DeleteBlockDocument(h.ctx, h.ws(), d.ID), "another workspace's document")
	h.must(h.s.DeleteBlockDocument(h.ctx, ws, d.ID), "delete")
	_, err := h.s.GetBlockDocument(h.ctx, ws, d.ID, false)
	h.wantNotFound(err, "a deleted document")
	if got, err := h.s.GetBlockDocument(h.ctx, ws, parent.ID, false); err != nil || len(got.BlockDocumentReferences) != 0 || len(got.Data) != 0 {
		t.Errorf("the parent of a deleted document: %+v, %v", got, err)
	}
	h.wantNotFound(h.s.DeleteBlockDocument(h.ctx, ws, d.ID), "deleting again")
}

// testResealBlockDocuments checks that resealing leaves every document
// readable; sqlstore's TestKeyRotation rotates keys for real.
func testResealBlockDocuments(t *testing.T, h *harness) {
	ws, _, d := h.secretSetup()
	if _, err := h.s.ResealBlockDocuments(h.ctx); err != nil {
		t.Fatalf("ResealBlockDocuments: %v", err)
	}
	if got, err := h.s.GetBlockDocument(h.ctx, ws, d.ID, true); err != nil || got.Data["token"] != "t0ken" {
		t.Errorf("after resealing: %v, %v", got, err)
	}
}

// testResultStorage covers ResultStorage and SetResultStorage: only a
// document of the workspace that can write paths, cleared on request and
// when the document goes.
func testResultStorage(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	typ := h.blockType(ws, "local-file-system")
	fs := h.blockDoc(ws, h.blockSchema(ws, typ.ID, `{"properties":{"basepath":{"type":"string"}}}`, "read-path", "write-path"), "results", map[string]any{"basepath": "/r"})
	plain := h.blockDoc(ws, h.blockSchema(ws, h.blockType(ws, "plain").ID, `{"properties":{"v":{"type":"string"}}}`), "plain", map[string]any{"v": "x"})
	get := func(w uuid.UUID) *uuid.UUID {
		t.Helper()
		id, err := h.s.ResultStorage(h.ctx, w)
		h.must(err, "read result storage")
		return id
	}
	if id := get(ws); id != nil {
		t.Fatalf("a new workspace's result storage: %v", id)
	}
	h.wantCode(h.s.SetResultStorage(h.ctx, ws, &plain.ID), apperr.EInvalid, "a document that cannot write paths")
	h.wantNotFound(h.s.SetResultStorage(h.ctx, other, &fs.ID), "another workspace's document")
	missing := newID()
	h.wantNotFound(h.s.SetResultStorage(h.ctx, ws, &missing), "an unknown document")
	if id := get(ws); id != nil {
		t.Fatalf("refused settings left %v", id)
	}
	h.must(h.s.SetResultStorage(h.ctx, ws, &fs.ID), "set result storage")
	h.must(h.s.SetResultStorage(h.ctx, ws, &fs.ID), "set it again")
	if id := get(ws); id == nil || *id != fs.ID {
		t.Errorf("result storage: %v, want %v", id, fs.ID)
	}
	if id := get(other); id != nil {
		t.Errorf("another workspace's result storage: %v", id)
	}
	h.must(h.s.SetResultStorage(h.ctx, ws, nil), "clear result storage")
	if id := get(ws); id != nil {
		t.Errorf("cleared result storage: %v", id)
	}
	h.must(h.s.SetResultStorage(h.ctx, ws, &fs.ID), "set result storage")
	h.must(h.s.DeleteBlockDocument(h.ctx, ws, fs.ID), "delete its document")
	if id := get(ws); id != nil {
		t.Errorf("result storage after its document was deleted: %v", id)
	}
}
