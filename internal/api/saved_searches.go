package api

import (
	"net/http"

	"github.com/praetorhq/praetor/internal/model"
)

func (a *API) savedSearchRoutes() {
	a.route("PUT", "/saved_searches/", "create:saved_search", a.upsertSavedSearch)
	a.route("GET", "/saved_searches/{id}", "read:saved_search", readByID(a.Store.GetSavedSearch, "Saved search not found"))
	a.route("POST", "/saved_searches/filter", "read:saved_search", a.listSavedSearches)
	a.route("DELETE", "/saved_searches/{id}", "delete:saved_search", deleteByID(a.Store.DeleteSavedSearch, "Saved search not found"))
}

// Bounds of a saved search, so one cannot fill the database.
const (
	maxSavedSearchName    = 200
	maxSavedSearchFilters = 100
)

// upsertSavedSearch answers PUT /saved_searches/: 201 for a new name, 200
// when the search of that name got the new filters.
func (a *API) upsertSavedSearch(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name    *string                   `json:"name"`
		Filters []model.SavedSearchFilter `json:"filters"`
	}
	body, err := decode(w, r, &in, false)
	if err != nil {
		return err
	}
	switch {
	case in.Name == nil:
		return required(body, "missing", "Field required", "name")
	case len(*in.Name) > maxSavedSearchName:
		return invalid(body, fieldErr("string_too_long", "String should have at most 200 characters", *in.Name, "name"))
	case len(in.Filters) > maxSavedSearchFilters:
		return invalid(body, fieldErr("too_long", "List should have at most 100 items after validation", nil, "filters"))
	}
	s := &model.SavedSearch{Name: *in.Name, Filters: in.Filters}
	created, err := a.Store.UpsertSavedSearch(r.Context(), workspaceID(r), s)
	if err != nil {
		return err
	}
	writeJSON(w, createdStatus(created), s)
	return nil
}

func (a *API) listSavedSearches(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Limit  int `json:"limit"`
		Offset int `json:"offset"`
	}
	body, err := decode(w, r, &in, true)
	if err != nil {
		return err
	}
	if err := checkPage(body, in.Limit, in.Offset); err != nil {
		return err
	}
	if in.Limit == 0 {
		in.Limit = 200
	}
	out, err := a.Store.ListSavedSearches(r.Context(), workspaceID(r), in.Limit, in.Offset)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
