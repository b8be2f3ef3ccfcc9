package api

import (
	"net/http"

	"github.com/google/uuid"
)

func (a *API) adminRoutes() {
	a.route("GET", "/health", public, func(w http.ResponseWriter, r *http.Request) error {
		writeJSON(w, http.StatusOK, true)
		return nil
	})
	a.route("GET", "/ready", public, func(w http.ResponseWriter, r *http.Request) error {
		if err := a.Store.Ping(r.Context()); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"message": "Database is not available"})
			return nil
		}
		writeJSON(w, http.StatusOK, map[string]string{"message": "OK"})
		return nil
	})
	a.route("GET", "/hello", public, func(w http.ResponseWriter, r *http.Request) error {
		writeJSON(w, http.StatusOK, "👋")
		return nil
	})
	a.route("GET", "/version", public, func(w http.ResponseWriter, r *http.Request) error {
		writeJSON(w, http.StatusOK, APIVersion)
		return nil
	})
	a.route("GET", "/admin/version", public, func(w http.ResponseWriter, r *http.Request) error {
		a.warnKeylessStream(r)
		writeJSON(w, http.StatusOK, PrefectVersion)
		return nil
	})
	a.route("GET", "/admin/settings", public, func(w http.ResponseWriter, r *http.Request) error {
		writeJSON(w, http.StatusOK, map[string]any{})
		return nil
	})
	// The workspace's default result storage, which the client uses when
	// no local setting names one: the seed's "global storage".
	a.route("GET", "/admin/storage", "read:block", a.readResultStorage)
	a.route("PUT", "/admin/storage", "update:block", a.setResultStorage)
	a.route("DELETE", "/admin/storage", "update:block", func(w http.ResponseWriter, r *http.Request) error {
		if err := a.Store.SetResultStorage(r.Context(), workspaceID(r), nil); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
	// Praetor's API authenticates with keys, not cookies, so it needs no CSRF
	// tokens; this exact answer tells the client to send none.
	a.route("GET", "/csrf-token", public, func(w http.ResponseWriter, r *http.Request) error {
		return detail(http.StatusUnprocessableEntity, "CSRF protection is disabled.")
	})
}

func (a *API) readResultStorage(w http.ResponseWriter, r *http.Request) error {
	id, err := a.Store.ResultStorage(r.Context(), workspaceID(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"default_result_storage_block_id": id})
	return nil
}

func (a *API) setResultStorage(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		ID *uuid.UUID `json:"default_result_storage_block_id"`
	}
	body, err := decode(w, r, &in, false)
	if err != nil {
		return err
	}
	if in.ID == nil {
		return required(body, "uuid_type", "UUID input should be a string, bytes or UUID object", "default_result_storage_block_id")
	}
	// The store's refusals carry Prefect's messages: 404 for a missing
	// document, 422 for one that cannot store results.
	if err := a.Store.SetResultStorage(r.Context(), workspaceID(r), in.ID); err != nil {
		return err
	}
	return a.readResultStorage(w, r)
}
