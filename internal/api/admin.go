package api

import (
	"net/http"
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
	a.route("GET", "/admin/storage", public, func(w http.ResponseWriter, r *http.Request) error {
		writeJSON(w, http.StatusOK, map[string]any{"default_result_storage_block_id": nil})
		return nil
	})
	// Praetor's API authenticates with keys, not cookies, so it needs no CSRF
	// tokens; this exact answer tells the client to send none.
	a.route("GET", "/csrf-token", public, func(w http.ResponseWriter, r *http.Request) error {
		return detail(http.StatusUnprocessableEntity, "CSRF protection is disabled.")
	})
}
