// Package api serves Prefect's REST API over a Store. Each workspace-scoped
// handler reads its workspace from the request context, which the tenancy
// wrapper sets; no handler looks for tenancy anywhere else.
package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/auth"
	"github.com/praetorhq/praetor/internal/clock"
	"github.com/praetorhq/praetor/internal/events"
	"github.com/praetorhq/praetor/internal/httpx"
	"github.com/praetorhq/praetor/internal/metrics"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
	"github.com/praetorhq/praetor/internal/tenancy"
)

// PrefectVersion is the Prefect server version Praetor reports; the client
// requires the same major version.
const PrefectVersion = "3.8.8"

// APIVersion is Prefect's REST API version.
const APIVersion = "0.8.4"

// Config configures the API.
type Config struct {
	Store   store.Store
	Ingest  *events.Ingester
	Authn   *auth.Authenticator
	Default model.Workspace // served at the plain /api routes
	// Anonymous lets callers without a key use the plain /api routes (the
	// default workspace), like the open-source Prefect server; only local
	// clients (auth.LocalRequest), and never for membership.
	Anonymous bool
	// SignUp lets anyone create a user and account.
	SignUp bool
	// OnDeploymentsChanged, when set, is called after a write that may
	// change which runs deployments' schedules make (the server nudges its
	// scheduler).
	OnDeploymentsChanged func()
	// MinLeaseDuration is the shortest concurrency lease a client may ask
	// for; zero: Prefect's minute.
	MinLeaseDuration time.Duration
	// Clock tells the time slots and leases are counted at; nil: the
	// system clock.
	Clock clock.Clock
	// Invitations invites people to accounts; Wire makes one that mails
	// nothing and links relative to the server's root.
	Invitations *tenancy.Invitations
	// Metrics counts the open websockets; nil: a set of its own.
	Metrics *metrics.Metrics
	Logger  *slog.Logger
}

// API is the Prefect REST API of one server, with the Cloud account layer.
type API struct {
	Config
	mux     *http.ServeMux // workspace routes, paths relative to the workspace root
	sockets sync.WaitGroup // open websocket handlers, waited for on shutdown
	streams streamGuard    // limits of the open websockets
	cloud   []cloudRoute   // the account routes, with what each requires
	table   []routeEntry   // the workspace routes, for the OpenAPI document
	docs    docs

	// ids holds the routes whose {id} stands where a route of mux has a
	// literal (GET /work_queues/{id}/status and /work_queues/name/{name}):
	// net/http refuses the two in one mux as a conflict, but a typed {id}
	// never matches the literal, so routeOf tries ids first, then mux.
	ids *http.ServeMux
}

// routeEntry is a registered workspace route.
type routeEntry struct {
	method, path string // path relative to the workspace root, no trailing slash
	perm         auth.Permission
	socket       bool
}

// New returns the API.
func New(cfg Config) *API {
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.New()
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real
	}
	a := &API{Config: cfg, mux: http.NewServeMux(), ids: http.NewServeMux()}
	a.routes()
	return a
}

// now is the API's clock: slots, leases and windows are counted at it.
func (a *API) now() time.Time { return a.Clock.Now() }

// Register mounts the API on mux under /api.
func (a *API) Register(mux *http.ServeMux) {
	mux.Handle("/api/accounts/{account_id}/workspaces/{workspace_id}/{rest...}", http.HandlerFunc(a.serveWorkspace))
	mux.Handle("/api/{rest...}", http.HandlerFunc(a.serveDefault))
	a.cloudRoutes(mux)
}

// WaitSockets waits for websocket handlers to finish; the server calls it
// after cancelling their contexts, so events they received are stored
// before the database closes.
func (a *API) WaitSockets() { a.sockets.Wait() }

type ctxKey int

const accessKey ctxKey = iota

// access is what the tenancy wrapper resolved for a workspace request.
type access struct {
	workspace uuid.UUID
	// account is the account the path names, for routes that must check
	// the workspace exists before authenticating (websockets).
	account   uuid.UUID
	role      string          // effective workspace role; "" when not granted
	principal *auth.Principal // nil for anonymous callers
	// err is why the caller may not use the workspace; public routes are
	// served anyway.
	err error
	// socketAuth: the request carried no credential but may authenticate
	// with a websocket auth frame.
	socketAuth bool
	// root is the workspace's API root as the client addressed it:
	// /api or /api/accounts/{a}/workspaces/{w}.
	root string
}

func accessOf(r *http.Request) *access { return r.Context().Value(accessKey).(*access) }

// workspaceID returns the workspace the tenancy wrapper resolved.
func workspaceID(r *http.Request) uuid.UUID { return accessOf(r).workspace }

var errInvalidKey = detail(http.StatusUnauthorized, "Invalid authentication credentials")

// authenticate returns the caller of r from the API key it carries, or nil,
// nil for a request with none. The API takes keys only: browser sessions
// are the UI's, so a cookie can never make a cross-site API call.
func (a *API) authenticate(r *http.Request) (*auth.Principal, error) {
	cred := auth.Credential(r)
	if cred == "" {
		return nil, nil
	}
	p, err := a.Authn.Key(r.Context(), cred)
	if errors.Is(err, auth.ErrInvalidCredentials) {
		return nil, errInvalidKey
	}
	return p, err
}

// serveWorkspace serves /api/accounts/{a}/workspaces/{w}/…; a workspace the
// caller cannot see is a 404, never a 403, so ids cannot be probed.
func (a *API) serveWorkspace(w http.ResponseWriter, r *http.Request) {
	acc := &access{}
	accountID, err1 := uuid.Parse(r.PathValue("account_id"))
	wsID, err2 := uuid.Parse(r.PathValue("workspace_id"))
	p, err := a.authenticate(r)
	switch {
	case err != nil:
		acc.err = err
	case err1 != nil || err2 != nil:
		acc.err = tenancy.ErrNoWorkspace
	default:
		acc.principal = p
		acc.role, acc.err = tenancy.ResolveWorkspaceRole(r.Context(), a.Store, callerOf(p, false), accountID, wsID)
		if acc.err == nil {
			acc.workspace = wsID
		} else if p == nil {
			acc.socketAuth, acc.workspace, acc.account = true, wsID, accountID
		}
	}
	a.serveIn(w, r, acc)
}

// serveDefault serves the plain /api/… routes on the default workspace.
func (a *API) serveDefault(w http.ResponseWriter, r *http.Request) {
	acc := &access{workspace: a.Default.ID}
	p, err := a.authenticate(r)
	if err != nil {
		acc.err = err
	} else {
		acc.principal = p
		acc.role, acc.err = tenancy.ResolveDefault(r.Context(), a.Store, callerOf(p, a.Anonymous && auth.LocalRequest(r)), a.Default.ID)
		acc.socketAuth = p == nil && acc.err != nil
	}
	a.serveIn(w, r, acc)
}

// callerOf is the tenancy caller of a request authenticated as p (nil: no
// key); anonymous says whether such a request may use the default workspace.
func callerOf(p *auth.Principal, anonymous bool) tenancy.Caller {
	c := tenancy.Caller{Anonymous: anonymous}
	if p != nil {
		c.User = p.UserID
	}
	return c
}

// serveIn serves the path below the workspace root with acc in context.
func (a *API) serveIn(w http.ResponseWriter, r *http.Request, acc *access) {
	acc.root = strings.TrimSuffix(strings.TrimSuffix(r.URL.Path, r.PathValue("rest")), "/")
	var user *uuid.UUID
	if acc.principal != nil {
		user = &acc.principal.UserID
	}
	r2 := r.WithContext(context.WithValue(httpx.WithActor(r, user), accessKey, acc))
	u := *r.URL
	u.Path = "/" + r.PathValue("rest")
	u.RawPath = ""
	r2.URL = &u
	mux, pattern := a.match(r2)
	if pattern == "" {
		a.noRoute(w, r2)
		return
	}
	metrics.SetRoute(r.Context(), pattern)
	mux.ServeHTTP(w, r2)
}

// routeOf returns the pattern of the route that serves r, "" for none.
func (a *API) routeOf(r *http.Request) string {
	_, pattern := a.match(r)
	return pattern
}

// match returns the mux and pattern of the route that serves r, "" for
// none.
func (a *API) match(r *http.Request) (*http.ServeMux, string) {
	for _, mux := range []*http.ServeMux{a.ids, a.mux} {
		if _, pattern := mux.Handler(r); typedMatch(pattern, r) {
			return mux, pattern
		}
	}
	return nil, ""
}

// typedMatch reports whether the mux's pattern matches r once its {id}
// segments are typed: as in Prefect, whose id path parameters are typed,
// a path whose {id} is not a UUID matches no route.
func typedMatch(pattern string, r *http.Request) bool {
	if pattern == "" {
		return false
	}
	_, path, _ := strings.Cut(pattern, " ")
	want, got := strings.Split(path, "/"), strings.Split(r.URL.Path, "/")
	for i, seg := range want {
		// Starlette's uuid convertor takes 32 hex digits, hyphenated or not.
		if seg == "{id}" && (i >= len(got) || len(got[i]) != 32 && len(got[i]) != 36 || uuid.Validate(got[i]) != nil) {
			return false
		}
	}
	return true
}

// noRoute answers a request no route serves: 405 if the path has routes
// for other methods, else 404, in Prefect's shape.
func (a *API) noRoute(w http.ResponseWriter, r *http.Request) {
	var allowed []string
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		other := r.WithContext(r.Context())
		other.Method = m
		if m != r.Method && a.routeOf(other) != "" {
			allowed = append(allowed, m)
		}
	}
	if len(allowed) == 0 {
		writeJSON(w, http.StatusNotFound, map[string]string{"detail": "Not Found"})
		return
	}
	w.Header().Set("Allow", strings.Join(allowed, ", "))
	writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"detail": "Method Not Allowed"})
}

// authorize checks that the caller of r may use perm in the workspace.
func authorize(r *http.Request, perm auth.Permission) error {
	acc := accessOf(r)
	if acc.err != nil {
		return acc.err
	}
	if !auth.Can(acc.role, perm) {
		return forbidden(perm)
	}
	return nil
}

// forbidden refuses a caller whose role in the workspace lacks perm.
func forbidden(perm auth.Permission) error {
	return detail(http.StatusForbidden, "Your role in this workspace does not allow %s.", perm)
}

// handlerFunc is a handler that returns its error for the API to map.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// public marks routes any caller may use, such as the health check.
const public auth.Permission = ""

// route registers h for method and path, requiring perm; a path ending in
// "/" is also served without it, and one without it also with it, since
// clients use both forms.
func (a *API) route(method, path string, perm auth.Permission, h handlerFunc) {
	a.handle(a.mux, method, path, perm, h)
}

// idRoute is route for a path whose {id} stands where another route has
// a literal (see API.ids).
func (a *API) idRoute(method, path string, perm auth.Permission, h handlerFunc) {
	a.handle(a.ids, method, path, perm, h)
}

func (a *API) handle(mux *http.ServeMux, method, path string, perm auth.Permission, h handlerFunc) {
	serve := func(w http.ResponseWriter, r *http.Request) {
		if perm != public {
			if err := authorize(r, perm); err != nil {
				a.writeError(w, r, err)
				return
			}
		}
		if err := checkBodyType(r); err != nil {
			a.writeError(w, r, err)
			return
		}
		if err := h(w, r); err != nil {
			a.writeError(w, r, err)
		}
	}
	trimmed := strings.TrimSuffix(path, "/")
	a.table = append(a.table, routeEntry{method: method, path: path, perm: perm})
	mux.HandleFunc(method+" "+trimmed+"/{$}", serve)
	if trimmed != "" {
		mux.HandleFunc(method+" "+trimmed, serve)
	}
}

// socketRoute registers a websocket handler at path, requiring perm. The
// handler passes perm to acceptSocket, which checks it for a key on the
// upgrade request or, for one sent in the auth frame, during the handshake.
func (a *API) socketRoute(path string, perm auth.Permission, h func(w http.ResponseWriter, r *http.Request, perm auth.Permission)) {
	a.table = append(a.table, routeEntry{method: "GET", path: path, perm: perm, socket: true})
	a.mux.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) { h(w, r, perm) })
}

func (a *API) routes() {
	a.adminRoutes()
	a.flowRoutes()
	a.flowRunRoutes()
	a.flowRunInputRoutes()
	a.taskRunRoutes()
	a.logRoutes()
	a.eventRoutes()
	a.variableRoutes()
	a.blockRoutes()
	a.artifactRoutes()
	a.deploymentRoutes()
	a.workPoolRoutes()
	a.workQueueRoutes()
	a.collectionRoutes()
	a.savedSearchRoutes()
	a.uiRoutes()
	a.docsRoutes()
	a.concurrencyRoutes()
	a.automationRoutes()
	a.memberRoutes()
}
