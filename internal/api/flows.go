package api

import (
	"net/http"

	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

func (a *API) flowRoutes() {
	a.route("POST", "/flows/", "create:flow", a.createFlow)
	a.route("GET", "/flows/{id}", "read:flow", readByID(a.Store.GetFlow))
	a.route("GET", "/flows/name/{name}", "read:flow", a.readFlowByName)
	a.route("PATCH", "/flows/{id}", "update:flow", a.updateFlow)
	a.route("DELETE", "/flows/{id}", "delete:flow", deleteByID(a.Store.DeleteFlow))
	a.route("POST", "/flows/filter", "read:flow", query(runQuery, a.Store.ListFlows))
	a.route("POST", "/flows/count", "read:flow", query(runQuery, a.Store.CountFlows))
}

func (a *API) createFlow(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name   *string        `json:"name"`
		Tags   []string       `json:"tags"`
		Labels map[string]any `json:"labels"`
	}
	body, err := decode(w, r, &in, false)
	if err != nil {
		return err
	}
	if in.Name == nil {
		return invalid(body, fieldErr("missing", "Field required", nil, "name"))
	}
	if err := validName(body, *in.Name, "name"); err != nil {
		return err
	}
	f := &model.Flow{Name: *in.Name, Tags: in.Tags, Labels: in.Labels}
	created, err := a.Store.UpsertFlow(r.Context(), workspaceID(r), f)
	if err != nil {
		return err
	}
	writeJSON(w, createdStatus(created), f)
	return nil
}

// validName applies Prefect's rule for object names: non-empty, without
// the characters that would break URLs.
func validName(body []byte, name, field string) error {
	if name == "" {
		return invalid(body, fieldErr("string_too_short", "String should have at least 1 character", name, field))
	}
	for _, c := range name {
		switch c {
		case '/', '%', '&', '>', '<':
			return invalid(body, fieldErr("value_error", "Value error, Name "+name+" contains an invalid character /%&><.", name, field))
		}
	}
	return nil
}

func createdStatus(created bool) int {
	if created {
		return http.StatusCreated
	}
	return http.StatusOK
}

func (a *API) readFlowByName(w http.ResponseWriter, r *http.Request) error {
	f, err := a.Store.GetFlowByName(r.Context(), workspaceID(r), r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, f)
	return nil
}

func (a *API) updateFlow(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in struct {
		Tags []string `json:"tags"`
	}
	if _, err := decode(w, r, &in, true); err != nil {
		return err
	}
	if err := a.Store.UpdateFlow(r.Context(), workspaceID(r), id, in.Tags); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// runQuery decodes Prefect's combined filter body.
func runQuery(w http.ResponseWriter, r *http.Request) (store.RunQuery, error) {
	var q store.RunQuery
	body, err := decode(w, r, &q, true)
	if err != nil {
		return q, err
	}
	return q, checkPage(body, q.Limit, q.Offset)
}
