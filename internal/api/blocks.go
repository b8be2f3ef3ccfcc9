package api

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/auth"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/notify"
	"github.com/praetorhq/praetor/internal/store"
)

// Prefect's 404 details on the block routes.
const (
	blockTypeNotFound     = "Block type not found"
	blockSchemaNotFound   = "Block schema not found"
	blockDocumentNotFound = "Block document not found"
)

// unsorted makes filterQuery check the page of a list Prefect offers no
// sort for (nil would skip the check, as counts do).
var unsorted = []string{}

func (a *API) blockRoutes() {
	a.route("POST", "/block_types/", "create:block", a.createBlockType)
	a.route("POST", "/block_types/filter", "read:block", query(filterQuery[store.BlockTypeQuery](unsorted), a.Store.ListBlockTypes))
	a.route("GET", "/block_types/{id}", "read:block", readByID(a.Store.GetBlockType, blockTypeNotFound))
	a.route("GET", "/block_types/slug/{slug}", "read:block", a.readBlockTypeBySlug)
	a.route("PATCH", "/block_types/{id}", "update:block", a.updateBlockType)
	a.route("DELETE", "/block_types/{id}", "delete:block", deleteByID(a.Store.DeleteBlockType, blockTypeNotFound))
	a.route("GET", "/block_types/slug/{slug}/block_documents", "read:block", a.readBlockDocumentsOfType)
	a.route("GET", "/block_types/slug/{slug}/block_documents/name/{block_document_name}", "read:block", a.readBlockDocumentByName)
	a.route("POST", "/block_types/install_system_block_types", "create:block", a.installSystemBlockTypes)

	a.route("POST", "/block_schemas/", "create:block", a.createBlockSchema)
	a.route("POST", "/block_schemas/filter", "read:block", query(filterQuery[store.BlockSchemaQuery](unsorted), a.Store.ListBlockSchemas))
	a.route("GET", "/block_schemas/{id}", "read:block", readByID(a.Store.GetBlockSchema, blockSchemaNotFound))
	a.route("GET", "/block_schemas/checksum/{checksum}", "read:block", a.readBlockSchemaByChecksum)
	a.route("DELETE", "/block_schemas/{id}", "delete:block", deleteByID(a.Store.DeleteBlockSchema, blockSchemaNotFound))

	a.route("GET", "/block_capabilities/", "read:block", a.readBlockCapabilities)

	a.route("POST", "/block_documents/", "create:block", a.createBlockDocument)
	a.route("POST", "/block_documents/filter", "read:block", a.readBlockDocuments)
	a.route("POST", "/block_documents/count", "read:block", query(filterQuery[store.BlockDocumentQuery](nil), a.Store.CountBlockDocuments))
	a.route("GET", "/block_documents/{id}", "read:block", a.readBlockDocument)
	a.route("PATCH", "/block_documents/{id}", "update:block", a.updateBlockDocument)
	a.route("DELETE", "/block_documents/{id}", "delete:block", deleteByID(a.Store.DeleteBlockDocument, blockDocumentNotFound))
}

// blockTypeBody is Prefect's BlockTypeCreate and BlockTypeUpdate.
type blockTypeBody struct {
	Name             *string `json:"name"`
	Slug             *string `json:"slug"`
	LogoURL          *string `json:"logo_url"`
	DocumentationURL *string `json:"documentation_url"`
	Description      *string `json:"description"`
	CodeExample      *string `json:"code_example"`
}

func (a *API) createBlockType(w http.ResponseWriter, r *http.Request) error {
	var in blockTypeBody
	body, err := decode(w, r, &in, false)
	if err != nil {
		return err
	}
	if in.Name == nil {
		return required(body, "string_type", "Input should be a valid string", "name")
	}
	if in.Slug == nil {
		return required(body, "string_type", "Input should be a valid string", "slug")
	}
	if err := validName(body, *in.Name, "name"); err != nil {
		return err
	}
	if err := validSlug(body, *in.Slug, "slug", "Block type slug"); err != nil {
		return err
	}
	// Prefect reserves these for the block types it installs itself.
	if strings.HasPrefix(strings.ToLower(*in.Name), "prefect") {
		return detail(http.StatusForbidden, "Block type names beginning with 'Prefect' are reserved.")
	}
	t := &model.BlockType{Name: *in.Name, Slug: *in.Slug, LogoURL: in.LogoURL, DocumentationURL: in.DocumentationURL,
		Description: in.Description, CodeExample: in.CodeExample}
	if err := a.Store.CreateBlockType(r.Context(), workspaceID(r), t); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, t)
	return nil
}

// validSlug applies Prefect's rule for slugs and document names: only
// lowercase letters, digits and dashes; what names the field in its
// message.
func validSlug(body []byte, s string, field, what string) error {
	if s == "" || !lowerSlug(s, "-") {
		return invalid(body, fieldErr("value_error", "Value error, "+what+" must only contain lowercase letters, numbers, and dashes.", s, field))
	}
	return nil
}

func (a *API) readBlockTypeBySlug(w http.ResponseWriter, r *http.Request) error {
	t, err := a.Store.GetBlockTypeBySlug(r.Context(), workspaceID(r), r.PathValue("slug"))
	if err != nil {
		return notFound(err, blockTypeNotFound)
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}

func (a *API) updateBlockType(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in blockTypeBody
	body, err := decode(w, r, &in, false)
	if err != nil {
		return err
	}
	set := members(body)
	// Only the members sent change; a null clears one.
	apply := func(name string, dst **string, v *string) {
		if _, ok := set[name]; ok {
			*dst = v
		}
	}
	err = a.Store.UpdateBlockType(r.Context(), workspaceID(r), id, func(t *model.BlockType) error {
		apply("logo_url", &t.LogoURL, in.LogoURL)
		apply("documentation_url", &t.DocumentationURL, in.DocumentationURL)
		apply("description", &t.Description, in.Description)
		apply("code_example", &t.CodeExample, in.CodeExample)
		return nil
	})
	if err != nil {
		return notFound(err, blockTypeNotFound)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// installSystemBlockTypes answers Prefect's request to register the
// server's own block types: Praetor's are the notification and webhook
// blocks automations deliver through (notify.Ensure). The client
// registers every other type and schema it saves (and `prefect block
// register` those of a module).
func (a *API) installSystemBlockTypes(w http.ResponseWriter, r *http.Request) error {
	if err := notify.Ensure(r.Context(), a.Store, workspaceID(r)); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, nil)
	return nil
}

// blockSchemaBody is Prefect's BlockSchemaCreate.
type blockSchemaBody struct {
	Fields       json.RawMessage `json:"fields"`
	BlockTypeID  *uuid.UUID      `json:"block_type_id"`
	Capabilities []string        `json:"capabilities"`
	Version      *string         `json:"version"`
}

func (a *API) createBlockSchema(w http.ResponseWriter, r *http.Request) error {
	var in blockSchemaBody
	body, err := decode(w, r, &in, false)
	if err != nil {
		return err
	}
	if in.BlockTypeID == nil {
		return required(body, "uuid_type", "UUID input should be a string, bytes or UUID object", "block_type_id")
	}
	if in.Fields == nil || isNull(in.Fields) {
		in.Fields = json.RawMessage(`{}`)
	}
	checksum, err := model.BlockSchemaChecksum(in.Fields)
	if err != nil {
		return invalid(body, fieldErr("dict_type", "Input should be a valid dictionary", jsonOrString(in.Fields), "fields"))
	}
	s := &model.BlockSchema{Fields: in.Fields, BlockTypeID: *in.BlockTypeID, Capabilities: in.Capabilities, Checksum: checksum}
	if in.Version != nil {
		s.Version = *in.Version
	}
	created, err := a.Store.CreateBlockSchema(r.Context(), workspaceID(r), s)
	if apperr.IsNotFound(err) {
		return detail(http.StatusNotFound, "Block type %s not found.", *in.BlockTypeID)
	}
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if !created {
		status = http.StatusOK
	}
	writeJSON(w, status, s)
	return nil
}

func (a *API) readBlockSchemaByChecksum(w http.ResponseWriter, r *http.Request) error {
	var version *string
	if q := r.URL.Query(); q.Has("version") {
		v := q.Get("version")
		version = &v
	}
	s, err := a.Store.GetBlockSchemaByChecksum(r.Context(), workspaceID(r), r.PathValue("checksum"), version)
	if err != nil {
		return notFound(err, blockSchemaNotFound)
	}
	writeJSON(w, http.StatusOK, s)
	return nil
}

func (a *API) readBlockCapabilities(w http.ResponseWriter, r *http.Request) error {
	caps, err := a.Store.ListBlockCapabilities(r.Context(), workspaceID(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, caps)
	return nil
}

// blockDocumentBody is Prefect's BlockDocumentCreate and
// BlockDocumentUpdate.
type blockDocumentBody struct {
	Name              *string         `json:"name"`
	Data              json.RawMessage `json:"data"`
	BlockSchemaID     *uuid.UUID      `json:"block_schema_id"`
	BlockTypeID       *uuid.UUID      `json:"block_type_id"`
	IsAnonymous       bool            `json:"is_anonymous"`
	MergeExistingData *bool           `json:"merge_existing_data"`
}

// blockData decodes a document's data member, keeping numbers exact; nil
// when not sent.
func blockData(body []byte, raw json.RawMessage) (map[string]any, error) {
	if raw == nil {
		return nil, nil
	}
	var data map[string]any
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	if err := dec.Decode(&data); err != nil || data == nil {
		return nil, invalid(body, fieldErr("dict_type", "Input should be a valid dictionary", jsonOrString(raw), "data"))
	}
	return data, nil
}

// storeInvalid answers a store's refusal of bad input as Prefect's routes
// answer the ValueError of theirs: 400 with its message.
func storeInvalid(err error) error {
	if apperr.ErrorCode(err) == apperr.EInvalid {
		return detail(http.StatusBadRequest, "%s", err.Error())
	}
	return err
}

func (a *API) createBlockDocument(w http.ResponseWriter, r *http.Request) error {
	var in blockDocumentBody
	body, err := decode(w, r, &in, false)
	if err != nil {
		return err
	}
	if in.BlockSchemaID == nil {
		return required(body, "uuid_type", "UUID input should be a string, bytes or UUID object", "block_schema_id")
	}
	if in.BlockTypeID == nil {
		return required(body, "uuid_type", "UUID input should be a string, bytes or UUID object", "block_type_id")
	}
	if !in.IsAnonymous && (in.Name == nil || *in.Name == "") {
		return invalid(body, fieldErr("value_error", "Value error, Names must be provided for block documents.", jsonOrString(body)))
	}
	if in.Name != nil {
		if err := validName(body, *in.Name, "name"); err != nil {
			return err
		}
		if err := validSlug(body, *in.Name, "name", "Block document name"); err != nil {
			return err
		}
	}
	data, err := blockData(body, in.Data)
	if err != nil {
		return err
	}
	d := &model.BlockDocument{Name: in.Name, Data: data, BlockSchemaID: *in.BlockSchemaID, BlockTypeID: *in.BlockTypeID, IsAnonymous: in.IsAnonymous}
	err = a.Store.CreateBlockDocument(r.Context(), workspaceID(r), d)
	if apperr.ErrorCode(err) == apperr.EConflict {
		return detail(http.StatusConflict, "Block already exists")
	}
	if apperr.IsNotFound(err) {
		// Prefect fails an assertion here (a 500); the id is the client's
		// mistake.
		return detail(http.StatusNotFound, "%s", err.Error())
	}
	if err != nil {
		return storeInvalid(err)
	}
	writeJSON(w, http.StatusCreated, d)
	return nil
}

// includeSecrets reads the include_secrets query parameter: whether the
// answer shows secret values (see secretsFor).
func includeSecrets(r *http.Request) (bool, error) {
	q := r.URL.Query()
	if !q.Has("include_secrets") {
		return false, nil
	}
	v := q.Get("include_secrets")
	var on bool
	switch strings.ToLower(v) {
	case "1", "on", "t", "true", "y", "yes":
		on = true
	case "0", "off", "f", "false", "n", "no":
	default:
		return false, queryInvalid("bool_parsing", "Input should be a valid boolean, unable to interpret input", v, "include_secrets")
	}
	return secretsFor(r, on), nil
}

// secretsFor is whether a caller who asked for secret values gets them:
// only if their role has read:block_secrets. Others get the values
// obfuscated, as if they had not asked, since Prefect's client asks by
// default (prefect block ls, Block.load) and a viewer may still list and
// load blocks.
func secretsFor(r *http.Request, asked bool) bool {
	return asked && auth.Can(accessOf(r).role, auth.ReadBlockSecrets)
}

func (a *API) readBlockDocument(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	secrets, err := includeSecrets(r)
	if err != nil {
		return err
	}
	d, err := a.Store.GetBlockDocument(r.Context(), workspaceID(r), id, secrets)
	if err != nil {
		return notFound(err, blockDocumentNotFound)
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

func (a *API) readBlockDocumentByName(w http.ResponseWriter, r *http.Request) error {
	secrets, err := includeSecrets(r)
	if err != nil {
		return err
	}
	d, err := a.Store.GetBlockDocumentByName(r.Context(), workspaceID(r), r.PathValue("slug"), r.PathValue("block_document_name"), secrets)
	if err != nil {
		return notFound(err, blockDocumentNotFound)
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

func (a *API) readBlockDocumentsOfType(w http.ResponseWriter, r *http.Request) error {
	secrets, err := includeSecrets(r)
	if err != nil {
		return err
	}
	t, err := a.Store.GetBlockTypeBySlug(r.Context(), workspaceID(r), r.PathValue("slug"))
	if err != nil {
		return notFound(err, blockTypeNotFound)
	}
	f := store.NotAnonymous()
	f.BlockTypeID = &struct {
		Any []uuid.UUID `json:"any_"`
	}{Any: []uuid.UUID{t.ID}}
	docs, err := a.Store.ListBlockDocuments(r.Context(), workspaceID(r), store.BlockDocumentQuery{BlockDocuments: &f, IncludeSecrets: secrets})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, docs)
	return nil
}

func (a *API) readBlockDocuments(w http.ResponseWriter, r *http.Request) error {
	q, err := filterQuery[store.BlockDocumentQuery](store.BlockDocumentSorts)(w, r)
	if err != nil {
		return err
	}
	q.IncludeSecrets = secretsFor(r, q.IncludeSecrets)
	docs, err := a.Store.ListBlockDocuments(r.Context(), workspaceID(r), q)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, docs)
	return nil
}

func (a *API) updateBlockDocument(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in blockDocumentBody
	body, err := decode(w, r, &in, false)
	if err != nil {
		return err
	}
	data, err := blockData(body, in.Data)
	if err != nil {
		return err
	}
	u := store.BlockDocumentUpdate{BlockSchemaID: in.BlockSchemaID, Data: data, Merge: in.MergeExistingData == nil || *in.MergeExistingData}
	if !u.Merge && u.Data == nil {
		// Replacing without data replaces with Prefect's default, {}.
		u.Data = map[string]any{}
	}
	if err := a.Store.UpdateBlockDocument(r.Context(), workspaceID(r), id, u); err != nil {
		return storeInvalid(notFound(err, blockDocumentNotFound))
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
