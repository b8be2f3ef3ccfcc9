package api

import (
	"net/http"
	"strings"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

func (a *API) flowRoutes() {
	a.route("POST", "/flows/", "create:flow", a.createFlow)
	a.route("GET", "/flows/{id}", "read:flow", readByID(a.Store.GetFlow, "Flow not found"))
	a.route("GET", "/flows/name/{name}", "read:flow", a.readFlowByName)
	a.route("PATCH", "/flows/{id}", "update:flow", a.updateFlow)
	a.route("DELETE", "/flows/{id}", "delete:flow", deleteByID(store.DeleteOne(a.Store.DeleteFlows), "Flow not found"))
	a.route("POST", "/flows/bulk_delete", "delete:flow", bulkDelete(a.flowsMatching, func(f *model.Flow) uuid.UUID { return f.ID }, a.Store.DeleteFlows))
	a.route("POST", "/flows/paginate", "read:flow", paginate[store.RunQuery](store.FlowSorts, a.Store.ListFlows, a.Store.CountFlows))
	a.route("POST", "/flows/filter", "read:flow", query(runQuery(store.FlowSorts), a.Store.ListFlows))
	a.route("POST", "/flows/count", "read:flow", query(runQuery(nil), a.Store.CountFlows))
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
		return required(body, "string_type", "Input should be a valid string", "name")
	}
	if err := validName(body, *in.Name, "name"); err != nil {
		return err
	}
	if raw, ok := memberAt(body, "tags"); ok && isNull(raw) {
		return invalid(body, fieldErr("list_type", "Input should be a valid list", nil, "tags"))
	}
	f := &model.Flow{Name: *in.Name, Tags: in.Tags, Labels: in.Labels}
	created, err := a.Store.UpsertFlow(r.Context(), workspaceID(r), f)
	if err != nil {
		return err
	}
	writeJSON(w, createdStatus(created), f)
	return nil
}

// validName applies Prefect's pattern for object names: at least one
// character, none of those that would break URLs.
func validName(body []byte, name, field string) error {
	if name == "" || strings.ContainsAny(name, "/%&><") {
		return invalid(body, fieldErr("string_pattern_mismatch", "String should match pattern '^[^/%&><]+$'", name, field))
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
	if _, err := decode(w, r, &in, false); err != nil {
		return err
	}
	if err := a.Store.UpdateFlow(r.Context(), workspaceID(r), id, in.Tags); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// filterQuery returns a decoder of a filter route's body. A filter route
// names its sorts; a count route, which takes neither paging nor a sort,
// passes nil.
func filterQuery[Q store.Paged](sorts []string) func(w http.ResponseWriter, r *http.Request) (Q, error) {
	return func(w http.ResponseWriter, r *http.Request) (Q, error) {
		var q Q
		body, err := decode(w, r, &q, true)
		if err != nil || sorts == nil {
			return q, err
		}
		limit, offset, sort := q.Page()
		if err := checkPage(body, limit, offset); err != nil {
			return q, err
		}
		return q, checkSort(body, sort, sorts)
	}
}

// runQuery decodes Prefect's combined filter body of flows, flow runs and
// task runs.
var runQuery = filterQuery[store.RunQuery]
