package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

// Prefect's limits on variables.
const (
	maxVariableNameLen  = 255
	maxVariableValueLen = 5000
)

// integrityConflict is Prefect's answer when a write violates a database
// constraint.
const integrityConflict = "Data integrity conflict. This usually means a unique or foreign key constraint was violated. See server logs for details."

// variableNotFound is the detail of Prefect's 404s on the variable routes.
const variableNotFound = "Variable not found."

func (a *API) variableRoutes() {
	a.route("POST", "/variables/", "create:variable", a.createVariable)
	a.route("GET", "/variables/{id}", "read:variable", readByID(a.Store.GetVariable, variableNotFound))
	a.route("GET", "/variables/name/{name}", "read:variable", a.readVariableByName)
	a.route("PATCH", "/variables/{id}", "update:variable", a.updateVariable)
	a.route("PATCH", "/variables/name/{name}", "update:variable", a.updateVariableByName)
	a.route("DELETE", "/variables/{id}", "delete:variable", deleteByID(a.Store.DeleteVariable, variableNotFound))
	a.route("DELETE", "/variables/name/{name}", "delete:variable", a.deleteVariableByName)
	a.route("POST", "/variables/filter", "read:variable", query(filterQuery[store.VariableQuery](store.VariableSorts), a.Store.ListVariables))
	a.route("POST", "/variables/count", "read:variable", query(filterQuery[store.VariableQuery](nil), a.Store.CountVariables))
}

// variableBody is Prefect's VariableCreate and VariableUpdate.
type variableBody struct {
	Name  *string         `json:"name"`
	Value json.RawMessage `json:"value"`
	Tags  []string        `json:"tags"`
}

func (a *API) createVariable(w http.ResponseWriter, r *http.Request) error {
	var in variableBody
	body, err := decode(w, r, &in, false)
	if err != nil {
		return err
	}
	if in.Name == nil {
		return required(body, "string_type", "Input should be a valid string", "name")
	}
	if in.Value == nil {
		return invalid(body, fieldErr("missing", "Field required", nil, "value"))
	}
	if err := validVariableName(body, *in.Name); err != nil {
		return err
	}
	value, err := variableValue(body, in.Value)
	if err != nil {
		return err
	}
	if isNull(members(body)["tags"]) {
		return invalid(body, fieldErr("list_type", "Input should be a valid list", nil, "tags"))
	}
	v := &model.Variable{Name: *in.Name, Value: value, Tags: in.Tags}
	if err := a.Store.CreateVariable(r.Context(), workspaceID(r), v); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, v)
	return nil
}

// validVariableName applies Prefect's VariableName rules: at most 255
// characters, only lowercase letters, digits, dashes and underscores.
func validVariableName(body []byte, name string) error {
	if n := utf8.RuneCountInString(name); n > maxVariableNameLen {
		return invalid(body, fieldErr("too_long", fmt.Sprintf("Value should have at most %d items after validation, not %d", maxVariableNameLen, n), name, "name"))
	}
	if !lowerSlug(name, "-_") {
		return invalid(body, fieldErr("value_error", "Value error, Variable name must only contain lowercase letters, numbers, and dashes or underscores.", name, "name"))
	}
	return nil
}

// lowerSlug reports whether s has only lowercase ASCII letters, digits and
// runes of extra.
func lowerSlug(s, extra string) bool {
	for _, c := range s {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.ContainsRune(extra, c)) {
			return false
		}
	}
	return true
}

// variableValue enforces Prefect's size limit on a variable value. Prefect
// measures the value re-encoded compactly with non-ASCII text unescaped, so
// the limit does not depend on how the client escaped it.
func variableValue(body []byte, raw json.RawMessage) (any, error) {
	value := jsonValue(raw)
	if value == nil {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("re-read variable value: %w", err)
	}
	var enc bytes.Buffer
	e := json.NewEncoder(&enc)
	e.SetEscapeHTML(false)
	if err := e.Encode(v); err != nil {
		return nil, fmt.Errorf("measure variable value: %w", err)
	}
	if len(bytes.TrimSpace(enc.Bytes())) > maxVariableValueLen {
		return nil, invalid(body, fieldErr("value_error", fmt.Sprintf("Value error, Variable value must be less than %d characters", maxVariableValueLen), v, "value"))
	}
	return value, nil
}

// jsonValue turns a decoded JSON member into a model value: nil when absent
// or null, else the raw JSON, which keeps numbers exact.
func jsonValue(raw json.RawMessage) any {
	if raw == nil || isNull(raw) {
		return nil
	}
	return raw
}

func isNull(raw json.RawMessage) bool { return string(raw) == "null" }

// members returns the top-level members of a JSON object body. Updates need
// them because Prefect applies a member sent as null but skips one not sent.
func members(body []byte) map[string]json.RawMessage {
	var m map[string]json.RawMessage
	// The body has already decoded into a struct, so it is an object or null.
	_ = json.Unmarshal(body, &m)
	return m
}

func (a *API) readVariableByName(w http.ResponseWriter, r *http.Request) error {
	v, err := a.Store.GetVariableByName(r.Context(), workspaceID(r), r.PathValue("name"))
	if err != nil {
		return notFound(err, variableNotFound)
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (a *API) updateVariable(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	patch, err := variablePatch(w, r)
	if err != nil {
		return err
	}
	return a.patchVariable(w, r, id, patch)
}

func (a *API) updateVariableByName(w http.ResponseWriter, r *http.Request) error {
	patch, err := variablePatch(w, r)
	if err != nil {
		return err
	}
	v, err := a.Store.GetVariableByName(r.Context(), workspaceID(r), r.PathValue("name"))
	if err != nil {
		return notFound(err, variableNotFound)
	}
	return a.patchVariable(w, r, v.ID, patch)
}

// variablePatch decodes and validates a VariableUpdate body into a patch.
func variablePatch(w http.ResponseWriter, r *http.Request) (func(*model.Variable) error, error) {
	var in variableBody
	body, err := decode(w, r, &in, false)
	if err != nil {
		return nil, err
	}
	set := members(body)
	if in.Name != nil {
		if err := validVariableName(body, *in.Name); err != nil {
			return nil, err
		}
	}
	value, err := variableValue(body, in.Value)
	if err != nil {
		return nil, err
	}
	return func(v *model.Variable) error {
		// Prefect's name and tags columns are NOT NULL, so it answers an
		// explicit null with an integrity conflict.
		if isNull(set["name"]) || isNull(set["tags"]) {
			return apperr.Errorf(apperr.EConflict, "variable name and tags cannot be null")
		}
		if in.Name != nil {
			v.Name = *in.Name
		}
		if _, ok := set["value"]; ok {
			v.Value = value
		}
		if in.Tags != nil {
			v.Tags = in.Tags
		}
		return nil
	}, nil
}

// patchVariable applies patch to variable id and answers 204; a conflict is
// reported in Prefect's generic integrity-error form.
func (a *API) patchVariable(w http.ResponseWriter, r *http.Request, id uuid.UUID, patch func(*model.Variable) error) error {
	err := a.Store.UpdateVariable(r.Context(), workspaceID(r), id, patch)
	if apperr.ErrorCode(err) == apperr.EConflict {
		return detail(http.StatusConflict, integrityConflict)
	}
	if err != nil {
		return notFound(err, variableNotFound)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) deleteVariableByName(w http.ResponseWriter, r *http.Request) error {
	v, err := a.Store.GetVariableByName(r.Context(), workspaceID(r), r.PathValue("name"))
	if err != nil {
		return notFound(err, variableNotFound)
	}
	if err := a.Store.DeleteVariable(r.Context(), workspaceID(r), v.ID); err != nil {
		return notFound(err, variableNotFound)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
