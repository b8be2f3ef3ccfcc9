// Package api serves Prefect's REST API over a Store. Each workspace-scoped
// handler reads its workspace from the request context, which the tenancy
// wrapper sets; no handler looks for tenancy anywhere else.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/events"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

// PrefectVersion is the Prefect server version Praetor reports; the client
// requires the same major version.
const PrefectVersion = "3.8.8"

// APIVersion is Prefect's REST API version.
const APIVersion = "0.8.4"

// API is the Prefect REST API of one server.
type API struct {
	store    store.Store
	ingest   *events.Ingester
	log      *slog.Logger
	mux      *http.ServeMux // workspace routes, paths relative to the workspace root
	fallback model.Workspace
	sockets  sync.WaitGroup // open websocket handlers, waited for on shutdown
}

// New returns the API. def is the workspace served at the plain /api routes.
func New(s store.Store, ingest *events.Ingester, def model.Workspace, log *slog.Logger) *API {
	a := &API{store: s, ingest: ingest, log: log, mux: http.NewServeMux(), fallback: def}
	a.routes()
	return a
}

// Register mounts the API on mux under /api.
func (a *API) Register(mux *http.ServeMux) {
	mux.Handle("/api/accounts/{account_id}/workspaces/{workspace_id}/{rest...}", http.HandlerFunc(a.serveWorkspace))
	mux.Handle("/api/{rest...}", http.HandlerFunc(a.serveDefault))
}

// WaitSockets waits for websocket handlers to finish; the server calls it
// after cancelling their contexts, so events they received are stored
// before the database closes.
func (a *API) WaitSockets() { a.sockets.Wait() }

type ctxKey int

const workspaceKey ctxKey = iota

// workspaceID returns the workspace the tenancy wrapper resolved.
func workspaceID(r *http.Request) uuid.UUID {
	return r.Context().Value(workspaceKey).(uuid.UUID)
}

// serveWorkspace resolves /api/accounts/{a}/workspaces/{w}/… to its
// workspace; an unknown or malformed id is a 404, so ids cannot be probed.
func (a *API) serveWorkspace(w http.ResponseWriter, r *http.Request) {
	accountID, err1 := uuid.Parse(r.PathValue("account_id"))
	wsID, err2 := uuid.Parse(r.PathValue("workspace_id"))
	if err1 != nil || err2 != nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"detail": "Workspace not found"})
		return
	}
	ws, err := a.store.GetWorkspace(r.Context(), accountID, wsID)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.serveIn(w, r, ws.ID, r.PathValue("rest"))
}

func (a *API) serveDefault(w http.ResponseWriter, r *http.Request) {
	a.serveIn(w, r, a.fallback.ID, r.PathValue("rest"))
}

// serveIn serves rest, the path below the workspace root, in workspace ws.
func (a *API) serveIn(w http.ResponseWriter, r *http.Request, ws uuid.UUID, rest string) {
	r2 := r.WithContext(context.WithValue(r.Context(), workspaceKey, ws))
	u := *r.URL
	u.Path = "/" + rest
	u.RawPath = ""
	r2.URL = &u
	a.mux.ServeHTTP(w, r2)
}

// handlerFunc is a handler that returns its error for the API to map.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// route registers h for method and path; a path ending in "/" is also
// served without it, and one without it also with it, since clients use
// both forms.
func (a *API) route(method, path string, h handlerFunc) {
	serve := func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			a.writeError(w, r, err)
		}
	}
	trimmed := strings.TrimSuffix(path, "/")
	a.mux.HandleFunc(method+" "+trimmed+"/{$}", serve)
	if trimmed != "" {
		a.mux.HandleFunc(method+" "+trimmed, serve)
	}
}

func (a *API) routes() {
	a.adminRoutes()
	a.flowRoutes()
	a.flowRunRoutes()
	a.taskRunRoutes()
	a.logRoutes()
	a.eventRoutes()
	// a.variableRoutes() — being added
	// a.artifactRoutes() — being added
	// Anything else under a workspace is Prefect's 404 shape.
	a.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]string{"detail": "Not Found"})
	})
}
