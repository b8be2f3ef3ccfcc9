// Package ui serves Praetor's web interface: server-rendered pages with
// html/template, a stylesheet and a small script, all embedded in the
// binary. Pages sit under /account/{account_id}/workspace/{workspace_id}/…,
// the URL shape the Prefect client prints for its "View at" links.
package ui

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/auth"
	"github.com/praetorhq/praetor/internal/clock"
	"github.com/praetorhq/praetor/internal/httpx"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/sso"
	"github.com/praetorhq/praetor/internal/store"
	"github.com/praetorhq/praetor/internal/tenancy"
)

//go:embed templates static
var files embed.FS

// Config configures the UI.
type Config struct {
	Store  store.Store
	Authn  *auth.Authenticator
	SignUp bool
	// Anonymous is set when the API serves the default workspace without a
	// key; the first user to register from this machine then owns that
	// workspace's account, so runs made anonymously can be seen.
	Anonymous bool
	// RunDeployment creates a run of a deployment by the API's
	// create_flow_run rules (the Run form); a parameter that does not fit
	// the deployment's schema is a *schemacheck.Error.
	RunDeployment func(ctx context.Context, ws, deployment uuid.UUID, parameters map[string]any) (*model.FlowRun, error)
	// OnDeploymentsChanged, when set, is called after the pages pause or
	// resume a deployment, as the API calls its own.
	OnDeploymentsChanged func()
	// Invitations invites people to accounts, as the API does.
	Invitations *tenancy.Invitations
	// Providers are the identity providers users may sign in with.
	Providers []*sso.Provider
	// PublicURL is where users reach the UI (the providers' callbacks are
	// under it); empty: the URL each request was made to.
	PublicURL string
	// Clock is the pages' now (how long ago, session expiry); nil: clock.Real.
	Clock clock.Clock
	// PollInterval is how often live pages refresh; zero: every 2 s.
	PollInterval time.Duration
	Logger       *slog.Logger
}

// UI is the web interface.
type UI struct {
	Config
	// pages parses each page (the layout around it) on its first use: an
	// API-only server never holds the pages' trees, most of its idle heap.
	pages  map[string]func() (*template.Template, error) // page name → layout + page
	static map[string]staticFile                         // hashed path → file
	assets map[string]string                             // logical name → hashed URL
	// registered lists the pages with what each requires.
	registered []pageRoute
	flashes    flashStore
}

type staticFile struct {
	body        []byte
	contentType string
}

// New parses the templates and fingerprints the static files.
func New(cfg Config) (*UI, error) {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real
	}
	u := &UI{Config: cfg, static: map[string]staticFile{}, assets: map[string]string{}}
	if err := u.loadStatic(); err != nil {
		return nil, err
	}
	if err := u.loadTemplates(); err != nil {
		return nil, err
	}
	return u, nil
}

func (u *UI) loadStatic() error {
	return fs.WalkDir(files, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		name := path.Base(p)
		ext := path.Ext(name)
		hashed := "/static/" + strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:6]) + ext
		types := map[string]string{".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml"}
		u.static[hashed] = staticFile{body: body, contentType: types[ext]}
		u.assets[name] = hashed
		return nil
	})
}

func (u *UI) loadTemplates() error {
	funcs := template.FuncMap{
		"asset":      func(name string) string { return u.assets[name] },
		"ago":        func(t *model.Time) string { return ago(t, u.Clock.Now()) },
		"when":       when,
		"duration":   duration,
		"stateClass": stateClass,
		"levelName":  model.LevelName,
		"deref":      func(s *string) string { return derefString(s) },
	}
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(files, "templates/layout.html", "templates/partials/*.html")
	if err != nil {
		return fmt.Errorf("parse layout: %w", err)
	}
	names, err := fs.Glob(files, "templates/pages/*.html")
	if err != nil {
		return err
	}
	u.pages = map[string]func() (*template.Template, error){}
	for _, n := range names {
		u.pages[path.Base(n)] = sync.OnceValues(func() (*template.Template, error) {
			t, err := template.Must(layout.Clone()).ParseFS(files, n)
			if err != nil {
				return nil, fmt.Errorf("parse %s: %w", n, err)
			}
			return t, nil
		})
	}
	return nil
}

// pageTemplate returns a page's template, parsed on first use.
func (u *UI) pageTemplate(name string) (*template.Template, error) {
	parse, ok := u.pages[name]
	if !ok {
		return nil, fmt.Errorf("no page template %q", name)
	}
	return parse()
}

// Register mounts the UI on mux.
func (u *UI) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /static/", func(w http.ResponseWriter, r *http.Request) {
		f, ok := u.static[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", f.contentType)
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		w.Write(f.body)
	})
	u.routes(mux)
}

// Sessions last two weeks.
const sessionTTL = 14 * 24 * time.Hour

// maxFormBytes bounds a form post: Praetor's largest form (a workspace's
// settings) needs a few kilobytes, and nothing beyond the bound is read.
const maxFormBytes = 64 << 10

// Cookie names (see request.cookieName), and the form field of the CSRF
// token.
const (
	sessionCookie = "praetor_session"
	csrfCookie    = "praetor_csrf"
	csrfField     = "csrf_token"
)

// request is what every page handler knows about its request.
type request struct {
	w    http.ResponseWriter
	r    *http.Request
	ui   *UI
	User *model.User // nil when signed out
	CSRF string
	// sessionID is the signed-in session's id (its token's hash), which
	// keys its flashes; Flashes are those this page shows.
	sessionID string
	Flashes   []flash
	// Workspace pages only:
	Workspace  *model.Workspace
	Role       string
	Workspaces []model.WorkspaceAccess // for the switcher
	// Nav is the page's sidebar (nav.go), nil when signed out.
	Nav *navView
	// Account pages only: the path's account and the user's role in it.
	Account     *model.Account
	AccountRole string
	// connectSrc lists origins this one page's script may also reach
	// (fetch): the browser login posts the key to the Prefect CLI's local
	// server. Every other page keeps connect-src to 'self'.
	connectSrc []string
}

// handler is a page handler; returned errors render an error page.
type handler func(q *request) error

// httpError is an error with a status and a message safe to show.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func errNotFound() error { return &httpError{http.StatusNotFound, "Page not found"} }

// page wraps a handler: it resolves the session and the CSRF token,
// refuses form posts whose token does not match, and renders errors.
func (u *UI) page(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := &request{w: w, r: r, ui: u}
		if err := u.prepare(q); err != nil {
			u.renderError(q, err)
			return
		}
		if err := h(q); err != nil {
			u.renderError(q, err)
		}
	}
}

// need is what a page requires of its visitor, declared where the page is
// registered (u.handle): nothing, a signed-in user, a member of the path's
// account, or a role in the path's workspace that grants perm. A workspace
// page the role may not read is not found, as in the API; a form post it
// may not make is refused with denied.
type need struct {
	signedIn, account bool
	// admin: of the account, only its owners and admins.
	admin  bool
	perm   auth.Permission
	denied string
}

var (
	anyone        = need{}
	signedIn      = need{signedIn: true}
	accountMember = need{signedIn: true, account: true}
	accountAdmin  = need{signedIn: true, account: true, admin: true}
)

// inWorkspace is a workspace page or form that needs perm.
func inWorkspace(perm auth.Permission) need { return need{signedIn: true, perm: perm} }

// ownersOnly is a workspace form that needs perm, refused with msg.
func ownersOnly(perm auth.Permission, msg string) need {
	return need{signedIn: true, perm: perm, denied: msg}
}

// pageRoute is a registered page, listed for tests.
type pageRoute struct {
	pattern string
	need    need
}

// handle registers h at pattern behind what n declares.
func (u *UI) handle(mux *http.ServeMux, pattern string, n need, h handler) {
	u.registered = append(u.registered, pageRoute{pattern, n})
	mux.HandleFunc(pattern, u.page(n.wrap(u, h)))
}

// wrap returns h behind n's checks.
func (n need) wrap(u *UI, h handler) handler {
	return func(q *request) error {
		if !n.signedIn {
			return h(q)
		}
		if q.User == nil {
			// Others go to sign-in, and come back.
			http.Redirect(q.w, q.r, "/signin?next="+urlQueryEscape(q.r.URL.RequestURI()), http.StatusSeeOther)
			return nil
		}
		switch {
		case n.perm != "":
			if err := u.resolveWorkspace(q); err != nil {
				return err
			}
			if !auth.Can(q.Role, n.perm) {
				if n.denied != "" {
					return &httpError{http.StatusForbidden, n.denied}
				}
				return errNotFound()
			}
		case n.account:
			id, err := uuid.Parse(q.r.PathValue("account_id"))
			if err != nil {
				return errNotFound()
			}
			if q.AccountRole, err = tenancy.AccountRole(q.ctx(), u.Store, id, q.User.ID); err != nil {
				return err
			}
			if q.Account, err = u.Store.GetAccount(q.ctx(), id); err != nil {
				return fmt.Errorf("get account: %w", err)
			}
			if n.admin && !tenancy.CanAdminAccount(q.AccountRole) {
				return &httpError{http.StatusForbidden, "Only owners and admins of the account can see this page."}
			}
		}
		return h(q)
	}
}

// resolveWorkspace sets the path's workspace and the user's role in it; a
// workspace that does not exist or that the user has no role in is not
// found.
func (u *UI) resolveWorkspace(q *request) error {
	accountID, err1 := uuid.Parse(q.r.PathValue("account_id"))
	wsID, err2 := uuid.Parse(q.r.PathValue("workspace_id"))
	if err1 != nil || err2 != nil {
		return errNotFound()
	}
	ws, role, err := tenancy.ResolveWorkspace(q.ctx(), u.Store, tenancy.Caller{User: q.User.ID}, accountID, wsID)
	if err != nil {
		return err
	}
	q.Workspace, q.Role = ws, role
	if q.Workspaces, err = u.Store.ListWorkspaces(q.ctx(), q.User.ID); err != nil {
		return err
	}
	return nil
}

// prepare loads the session and enforces CSRF on unsafe methods. A
// signed-in visitor's forms carry their session's token, minted with the
// session and stored with it, so no cookie that another site manages to set
// (a sibling subdomain can) stands in for it. A signed-out visitor's forms
// (sign-in, registration) carry the token of their CSRF cookie (double
// submit), a cookie other sites can neither read nor, over HTTPS, set.
func (u *UI) prepare(q *request) error {
	var session *model.Session
	if c, err := q.r.Cookie(q.cookieName(sessionCookie)); err == nil {
		p, s, err := u.Authn.Session(q.r.Context(), c.Value)
		switch {
		case err == nil:
			if q.User, err = u.Store.GetUser(q.r.Context(), p.UserID); err != nil && !apperr.IsNotFound(err) {
				return err
			}
			if q.User != nil {
				session = s
			}
		case !errors.Is(err, auth.ErrInvalidCredentials):
			return err
		}
	}
	// The audit log's actor of whatever this request changes.
	var actor *uuid.UUID
	if session != nil {
		actor = &q.User.ID
	}
	q.r = q.r.WithContext(httpx.WithActor(q.r, actor))
	if session != nil {
		q.CSRF, q.sessionID = session.CSRF, session.ID
	} else if c, err := q.r.Cookie(q.cookieName(csrfCookie)); err == nil && len(c.Value) >= 32 {
		q.CSRF = c.Value
	} else {
		tok, err := auth.NewToken(32)
		if err != nil {
			return err
		}
		q.CSRF = tok
		http.SetCookie(q.w, &http.Cookie{Name: q.cookieName(csrfCookie), Value: tok, Path: "/", HttpOnly: true, Secure: q.secure(), SameSite: http.SameSiteStrictMode})
	}
	if q.r.Method != http.MethodGet && q.r.Method != http.MethodHead {
		q.r.Body = http.MaxBytesReader(q.w, q.r.Body, maxFormBytes)
		if err := q.r.ParseForm(); err != nil {
			if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
				return &httpError{http.StatusRequestEntityTooLarge, "The form is too large."}
			}
			return &httpError{http.StatusBadRequest, "Could not read the form."}
		}
		sent := q.r.PostForm.Get(csrfField)
		if sent == "" || subtle.ConstantTimeCompare([]byte(sent), []byte(q.CSRF)) != 1 {
			return &httpError{http.StatusForbidden, "This form has expired or did not come from Praetor. Reload the page and try again."}
		}
	}
	return nil
}

// secure reports whether the browser reached us over HTTPS; cookies are
// then marked Secure.
func (q *request) secure() bool { return httpx.Secure(q.r) }

// cookieName is the name of one of Praetor's cookies on this request: over
// HTTPS it has the __Host- prefix, with which browsers accept a cookie only
// from this very host, Secure and for every path, so neither a sibling
// subdomain nor a plain-HTTP page can plant one.
func (q *request) cookieName(name string) string {
	if q.secure() {
		return "__Host-" + name
	}
	return name
}

// startSession signs a user in on this browser.
// method says how ("password", "registration" or a provider's id).
func (q *request) startSession(u *model.User, method string) error {
	tok, err := auth.NewToken(32)
	if err != nil {
		return err
	}
	// The session gets a CSRF token of its own: the one of the signed-out
	// form may have been planted.
	csrf, err := auth.NewToken(32)
	if err != nil {
		return err
	}
	s := &model.Session{ID: auth.HashKey(tok), UserID: u.ID, CSRF: csrf, Expires: model.At(q.ui.Clock.Now().Add(sessionTTL)), Method: method}
	if err := q.ui.Store.CreateSession(q.r.Context(), s); err != nil {
		return err
	}
	http.SetCookie(q.w, &http.Cookie{Name: q.cookieName(sessionCookie), Value: tok, Path: "/", HttpOnly: true, Secure: q.secure(),
		SameSite: http.SameSiteLaxMode, Expires: s.Expires.Time})
	q.User, q.CSRF, q.sessionID = u, csrf, s.ID
	// What the rest of the request changes is the new user's doing.
	q.r = q.r.WithContext(httpx.WithActor(q.r, &u.ID))
	return nil
}

// endSession signs the browser out.
func (q *request) endSession() error {
	if c, err := q.r.Cookie(q.cookieName(sessionCookie)); err == nil {
		if err := q.ui.Store.DeleteSession(q.r.Context(), auth.HashKey(c.Value)); err != nil {
			return err
		}
	}
	http.SetCookie(q.w, &http.Cookie{Name: q.cookieName(sessionCookie), Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: q.secure()})
	q.User, q.sessionID = nil, ""
	return nil
}

// WorkspaceURL is the root of a workspace's pages.
func WorkspaceURL(ws *model.Workspace) string {
	return "/account/" + ws.AccountID.String() + "/workspace/" + ws.ID.String()
}

// render writes a page: the layout around the named page template.
func (u *UI) render(q *request, status int, page string, data any) error {
	t, err := u.pageTemplate(page)
	if err != nil {
		return err
	}
	nav, err := u.frame(q, page)
	if err != nil {
		return err
	}
	q.Nav = nav
	if q.r.Method == http.MethodGet && q.sessionID != "" {
		q.Flashes = u.flashes.take(q.sessionID, q.r.URL.Path, u.Clock.Now())
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", struct {
		*request
		Data any
	}{q, data}); err != nil {
		return fmt.Errorf("render %s: %w", page, err)
	}
	q.w.Header().Set("Content-Type", "text/html; charset=utf-8")
	csp := "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'"
	if len(q.connectSrc) > 0 {
		csp += "; connect-src 'self' " + strings.Join(q.connectSrc, " ")
	}
	q.w.Header().Set("Content-Security-Policy", csp)
	q.w.Header().Set("X-Content-Type-Options", "nosniff")
	if len(q.Flashes) > 0 {
		// A flash shows once: no cache may show it again (it may be a key).
		q.w.Header().Set("Cache-Control", "no-store")
	}
	q.w.WriteHeader(status)
	_, err = q.w.Write(buf.Bytes())
	return err
}

// renderPartial writes one named template of a page alone, for live
// updates that swap a fragment in place.
func (u *UI) renderPartial(q *request, page, name string, data any) error {
	t, err := u.pageTemplate(page)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, struct {
		*request
		Data any
	}{q, data}); err != nil {
		return fmt.Errorf("render %s/%s: %w", page, name, err)
	}
	q.w.Header().Set("Content-Type", "text/html; charset=utf-8")
	q.w.Header().Set("Cache-Control", "no-store")
	_, err = q.w.Write(buf.Bytes())
	return err
}

func (u *UI) renderError(q *request, err error) {
	var he *httpError
	if !errors.As(err, &he) {
		if status, msg, ok := httpx.Status(err); ok {
			// A missing object is a missing page, whatever the store calls it.
			if status == http.StatusNotFound {
				msg = "Page not found"
			}
			he = &httpError{status, msg}
		} else if httpx.ClientGone(q.r, err) {
			u.Logger.Debug("client went away", "path", q.r.URL.Path)
			q.w.WriteHeader(httpx.StatusClientClosed)
			return
		} else {
			u.Logger.Error("page failed", "path", q.r.URL.Path, "err", err)
			he = &httpError{http.StatusInternalServerError, "Something went wrong on our side. The server log has the details."}
		}
	}
	// Pages of a workspace the user cannot see render without its data,
	// and an error page never inherits a page's wider connect-src.
	q.Workspace, q.Workspaces, q.connectSrc = nil, nil, nil
	if rerr := u.render(q, he.status, "error.html", map[string]any{"Message": he.msg, "Status": he.status}); rerr != nil {
		http.Error(q.w, he.msg, he.status)
	}
}

// redirect answers a form post with a redirect to url.
func (q *request) redirect(url string) error {
	http.Redirect(q.w, q.r, url, http.StatusSeeOther)
	return nil
}

// ctx is the request's context.
func (q *request) ctx() context.Context { return q.r.Context() }
