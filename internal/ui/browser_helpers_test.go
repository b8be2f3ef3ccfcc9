package ui_test

// The real-browser test harness: a real Praetor server on a random loopback
// port, Debian's Chromium driven by chromedp, and a plain HTTP client for the
// checks a browser cannot make (status codes, headers, forged posts).
//
// A test typically reads:
//
//	ts := startServer(t)                 // SQLite in t.TempDir(); forEachEngine adds PostgreSQL
//	b := ts.newBrowser(t)                // a fresh Chromium, skipped when there is none
//	alice := newUser("alice")
//	b.register(alice)                    // signed in from here on
//	ws := b.createWorkspace("ETL", "Nightly loads")
//	b.visit(ws.path("/settings"))
//	if got := b.text("#cmd-login"); !strings.Contains(got, ws.fullHandle()) { … }
//	b.screenshot("workspace-settings")   // saved when PRAETOR_UI_SCREENSHOTS is set
//
//	c := ts.newClient(t)                 // cookie jar, redirects not followed
//	c.signIn(alice)
//	resp := c.post(ws.path("/settings/delete"), url.Values{"confirm": {ws.Handle}}) // no CSRF token
//
// Every helper fails the test it belongs to on error, so tests read as a
// list of steps. Selectors are CSS selectors.
//
// Environment:
//   - PRAETOR_TEST_CHROMIUM: the browser binary (default /usr/bin/chromium);
//     browser tests are skipped when it is missing.
//   - PRAETOR_UI_SCREENSHOTS: a directory; b.screenshot(name) writes
//     <dir>/<name>.png there (1280x800), and a failing browser step writes
//     <dir>/failed-<test>.png.
//   - PRAETOR_TEST_POSTGRES_URL: a PostgreSQL server on which forEachEngine
//     creates a throwaway database per test.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/praetorhq/praetor/internal/testdb"
	"github.com/praetorhq/praetor/internal/testenv"

	"github.com/chromedp/cdproto/emulation"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/praetorhq/praetor/internal/server"
)

// actionTimeout bounds one browser step or HTTP request: a page that never
// appears fails the test instead of hanging it.
const actionTimeout = 60 * time.Second

// testServer is a real Praetor server, as `praetor server start` runs it,
// serving on a random port of 127.0.0.1 until the test ends.
type testServer struct {
	URL    string // http://127.0.0.1:<port>
	Engine string // "sqlite" or "postgres"
}

// startServer starts a server on a new SQLite database in t.TempDir().
func startServer(t *testing.T) *testServer {
	t.Helper()
	return startServerOn(t, "")
}

// startServerOn starts a server on the database databaseURL names (a
// postgres:// URL), or on SQLite when it is empty. Registration is open.
func startServerOn(t *testing.T, databaseURL string) *testServer {
	t.Helper()
	return startServerWith(t, server.Config{DatabaseURL: databaseURL})
}

// startServerWith starts a server configured as cfg, on 127.0.0.1 with open
// registration.
func startServerWith(t *testing.T, cfg server.Config) *testServer {
	t.Helper()
	cfg.Host, cfg.Port, cfg.Home, cfg.SignUp = "127.0.0.1", 0, t.TempDir(), true
	cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := server.Open(t.Context(), cfg)
	if err != nil {
		t.Fatalf("open server: %v", err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve() }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shut the server down: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return &testServer{URL: srv.URL(), Engine: srv.Engine()}
}

// forEachEngine runs fn as one subtest per storage engine, each with its own
// server: SQLite always, PostgreSQL when PRAETOR_TEST_POSTGRES_URL names a
// server to create a throwaway database in.
func forEachEngine(t *testing.T, fn func(t *testing.T, ts *testServer)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, startServer(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, startServerOn(t, testdb.Postgres(t))) })
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// user is a person to register; newUser makes each one unique, so tests
// never collide on emails or handles.
type user struct {
	Email, Password, Name string
	Handle                string // also the handle of the account registration creates
}

func newUser(name string) user {
	h := name + "-" + randomHex(3)
	return user{Email: h + "@example.test", Password: "correct horse " + h, Name: strings.ToUpper(name[:1]) + name[1:], Handle: h}
}

// workspace identifies a workspace created by a test.
type workspace struct {
	AccountID, ID         string
	AccountHandle, Handle string
}

var workspacePath = regexp.MustCompile(`^/account/([0-9a-f-]{36})/workspace/([0-9a-f-]{36})(/|$)`)

// parseWorkspace reads the ids from a workspace page's path.
func parseWorkspace(t *testing.T, path, accountHandle string) workspace {
	t.Helper()
	m := workspacePath.FindStringSubmatch(path)
	if m == nil {
		t.Fatalf("%q is not a workspace page", path)
	}
	return workspace{AccountID: m[1], ID: m[2], AccountHandle: accountHandle}
}

// path is the URL path of one of the workspace's pages: path("/settings").
func (w workspace) path(p string) string { return "/account/" + w.AccountID + "/workspace/" + w.ID + p }

// fullHandle is account/workspace, as `prefect cloud login --workspace` takes it.
func (w workspace) fullHandle() string { return w.AccountHandle + "/" + w.Handle }

// browser is one Chromium with its own profile, driving one tab.
type browser struct {
	t   *testing.T
	ts  *testServer
	ctx context.Context // the tab; derive per-step timeouts from it
	// dialogs records the messages of the JavaScript dialogs (data-confirm
	// prompts) the page opened; every one is accepted.
	dialogs chan string
}

// chromiumPath is the browser to drive, or "" when there is none.
func chromiumPath() string {
	p := os.Getenv("PRAETOR_TEST_CHROMIUM")
	if p == "" {
		p = "/usr/bin/chromium"
	}
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

// chromium is the package's one Chromium process, started by the first
// browser test and stopped by TestMain. Starting a browser costs more than
// a test's pages, so each test gets a browser context of its own in it
// instead: its own cookies, storage and cache, as a fresh profile has.
var chromium struct {
	mu     sync.Mutex
	ctx    context.Context // the browser, through its first tab
	cancel func()
	dirs   []string // its profile and TMPDIR
}

// sharedChromium returns the browser's context, starting Chromium (again,
// should it have exited) when there is none.
func sharedChromium(exe string) (context.Context, error) {
	chromium.mu.Lock()
	defer chromium.mu.Unlock()
	if chromium.ctx != nil && chromium.ctx.Err() == nil {
		return chromium.ctx, nil
	}
	stopChromium()
	profile, err := os.MkdirTemp("", "praetor-ui-chromium-")
	if err != nil {
		return nil, err
	}
	// Chromium keeps its singleton socket in TMPDIR; a short directory of
	// its own, as a socket's path is at most 107 bytes.
	tmp, err := os.MkdirTemp("", "cr")
	if err != nil {
		os.RemoveAll(profile)
		return nil, err
	}
	chromium.dirs = []string{profile, tmp}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox, // the tests run as root, where the sandbox cannot start
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile),
		chromedp.Env("TMPDIR="+tmp),
		chromedp.WindowSize(1280, 800),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelBrowser := chromedp.NewContext(allocCtx)
	chromium.ctx = ctx
	chromium.cancel = func() {
		cancelBrowser()
		cancelAlloc()
	}
	// The first action starts the browser and binds it to ctx, which must
	// therefore carry no timeout.
	if err := chromedp.Do(ctx); err != nil {
		stopChromium()
		return nil, err
	}
	return ctx, nil
}

// stopChromium stops the shared browser, if any, and removes its
// directories; chromium.mu is held or the tests are over.
func stopChromium() {
	if chromium.cancel != nil {
		chromium.cancel()
	}
	for _, d := range chromium.dirs {
		os.RemoveAll(d)
	}
	chromium.ctx, chromium.cancel, chromium.dirs = nil, nil, nil
}

func TestMain(m *testing.M) {
	code := m.Run()
	stopChromium()
	os.Exit(code)
}

// newBrowser opens a tab with a 1280x800 viewport in a browser context of
// its own (a fresh profile's cookies and storage) of the shared Chromium,
// closed when the test ends. It skips the test when there is no browser.
func (ts *testServer) newBrowser(t *testing.T) *browser {
	t.Helper()
	exe := chromiumPath()
	if exe == "" {
		testenv.Missing(t, "no Chromium: install Debian's chromium or set PRAETOR_TEST_CHROMIUM")
	}
	browserCtx, err := sharedChromium(exe)
	if err != nil {
		t.Fatalf("start chromium %s: %v", exe, err)
	}
	ctx, cancelTab := chromedp.NewContext(browserCtx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancelTab)
	// The first action opens the tab and binds it to ctx, which must
	// therefore carry no timeout.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatalf("open a tab in chromium %s: %v", exe, err)
	}
	b := &browser{t: t, ts: ts, ctx: ctx, dialogs: make(chan string, 16)}
	// A dialog blocks the page, and the click that opened it, until someone
	// answers it: answer from another goroutine.
	events := chromedp.Events(ctx, cdppage.JavascriptDialogOpening)
	go func() {
		for ev, err := range events {
			if err != nil {
				return
			}
			select {
			case b.dialogs <- ev.Message:
			default:
			}
			chromedp.Call(ctx, cdppage.HandleJavaScriptDialog, cdppage.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	return b
}

// fail ends the test with what was being done, where the browser was, and a
// screenshot when screenshots are on.
func (b *browser) fail(what string, err error) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	if dir := os.Getenv("PRAETOR_UI_SCREENSHOTS"); dir != "" {
		if png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot()); err == nil {
			name := "failed-" + strings.NewReplacer("/", "-", " ", "_").Replace(b.t.Name()) + ".png"
			os.WriteFile(filepath.Join(dir, name), png, 0o644)
		}
	}
	if len(body) > 2000 {
		body = body[:2000] + "…"
	}
	b.t.Fatalf("%s: %v\nat %s; the page reads:\n%s", what, err, loc, body)
}

// do runs browser steps within actionTimeout.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.fail(what, err)
	}
}

// get runs one browser action that returns a value.
func get[T any](b *browser, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.fail(what, err)
	}
	return v
}

// navigated waits for the page load that steps cause (a click on a link or
// a submit button, following redirects) and returns its HTTP status.
func (b *browser) navigated(what string, steps ...chromedp.Action[chromedp.Void]) int {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, steps...)
	if err != nil {
		b.fail(what, err)
	}
	return int(resp.Status)
}

// visit loads a page of the server (path is below its root, or a full URL)
// and returns the HTTP status of the final document.
func (b *browser) visit(path string) int {
	b.t.Helper()
	u := path
	if strings.HasPrefix(path, "/") {
		u = b.ts.URL + path
	}
	return b.navigated("visit "+path, chromedp.Navigate(u))
}

// path is the current page's path and query.
func (b *browser) path() string {
	b.t.Helper()
	loc := get(b, "read the location", chromedp.Location())
	u, err := url.Parse(loc)
	if err != nil {
		b.t.Fatalf("parse location %q: %v", loc, err)
	}
	return u.RequestURI()
}

// waitVisible waits until an element matching sel is visible.
func (b *browser) waitVisible(sel string) {
	b.t.Helper()
	b.do("wait for "+sel, chromedp.WaitVisible(chromedp.CSS(sel)))
}

// exists reports whether an element matches sel now, without waiting.
func (b *browser) exists(sel string) bool {
	b.t.Helper()
	q, _ := json.Marshal(sel)
	return get(b, "look for "+sel, chromedp.Evaluate[bool](`document.querySelector(`+string(q)+`) !== null`))
}

// text is the visible text of the first element matching sel.
func (b *browser) text(sel string) string {
	b.t.Helper()
	return strings.TrimSpace(get(b, "read "+sel, chromedp.Text(chromedp.CSS(sel))))
}

// value is the current value of a form field.
func (b *browser) value(sel string) string {
	b.t.Helper()
	return get(b, "read the value of "+sel, chromedp.Value(chromedp.CSS(sel)))
}

// html is the page's current markup.
func (b *browser) html() string {
	b.t.Helper()
	return get(b, "read the page", chromedp.OuterHTML(chromedp.CSS("html")))
}

// fill sets form fields of the form matching formSel by name: text, email,
// password and date inputs, text areas and selects alike.
func (b *browser) fill(formSel string, fields map[string]string) {
	b.t.Helper()
	for name, v := range fields {
		sel := formSel + ` [name="` + name + `"]`
		// Set the value as the page's own script would, with the events
		// typing fires. (chromedp.SetValue cannot set an empty value.) A
		// select without the option keeps another value, and fails here.
		js, _ := json.Marshal([]string{sel, v})
		ok := get(b, "fill "+sel, chromedp.Evaluate[bool](`(([sel, v]) => {
			const el = document.querySelector(sel);
			if (!el) return false;
			el.value = v;
			el.dispatchEvent(new Event("input", {bubbles: true}));
			el.dispatchEvent(new Event("change", {bubbles: true}));
			return el.value === v;
		})(`+string(js)+`)`))
		if !ok {
			b.fail("fill "+sel, errors.New("no such field, or it does not take the value "+strconv.Quote(v)))
		}
	}
}

// submit fills the form matching formSel, clicks its submit button
// (the one matching button, or the first) and waits for the page that
// answers. It returns that page's HTTP status.
func (b *browser) submit(formSel string, fields map[string]string, button ...string) int {
	b.t.Helper()
	b.fill(formSel, fields)
	btn := formSel + ` [type="submit"]`
	if len(button) > 0 {
		btn = formSel + " " + button[0]
	}
	return b.navigated("submit "+formSel, chromedp.Click(chromedp.CSS(btn)))
}

// follow clicks the link (or button) matching sel and waits for the page
// that answers; it returns that page's HTTP status.
func (b *browser) follow(sel string) int {
	b.t.Helper()
	return b.navigated("follow "+sel, chromedp.Click(chromedp.CSS(sel)))
}

// dialog returns the message of the next JavaScript dialog the page opened
// (the tab accepts each one), or fails when none opened.
func (b *browser) dialog() string {
	b.t.Helper()
	select {
	case m := <-b.dialogs:
		return m
	case <-time.After(5 * time.Second):
		b.t.Fatalf("no dialog opened")
		return ""
	}
}

// screenshot saves the viewport to $PRAETOR_UI_SCREENSHOTS/<name>.png when
// that variable names a directory; otherwise it does nothing.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	dir := os.Getenv("PRAETOR_UI_SCREENSHOTS")
	if dir == "" {
		return
	}
	png := get(b, "screenshot "+name, chromedp.CaptureScreenshot())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatalf("screenshot directory: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		b.t.Fatalf("save screenshot %s: %v", name, err)
	}
}

// phone makes the tab a phone's 375x812 touch screen (until desktop).
func (b *browser) phone() {
	b.t.Helper()
	b.do("use a phone's viewport", chromedp.EmulateViewport(375, 812, chromedp.EmulateScale(2), chromedp.EmulateMobile))
}

// desktop gives the tab its 1280x800 window back.
func (b *browser) desktop() {
	b.t.Helper()
	b.do("use a desktop viewport", chromedp.EmulateViewport(1280, 800))
}

// colorScheme makes the system setting prefers-color-scheme "light" or
// "dark" for the tab's pages.
func (b *browser) colorScheme(scheme string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
	}); err != nil {
		b.fail("emulate prefers-color-scheme: "+scheme, err)
	}
}

// register creates u's account through the registration page; the browser
// is then signed in as u, on the page that creates a first workspace.
func (b *browser) register(u user) {
	b.t.Helper()
	b.visit("/register")
	b.submit(`form[action="/register"]`, map[string]string{"email": u.Email, "display_name": u.Name, "handle": u.Handle, "password": u.Password})
	if p := b.path(); p != "/workspaces/new" {
		b.t.Fatalf("after registering %s the browser is at %s, want /workspaces/new; page: %s", u.Email, p, b.text("main"))
	}
}

// signIn signs u in through the sign-in form on the current page, or on
// /signin when the browser is elsewhere.
func (b *browser) signIn(u user) {
	b.t.Helper()
	if !strings.HasPrefix(b.path(), "/signin") {
		b.visit("/signin")
	}
	b.submit(`form[action="/signin"]`, map[string]string{"email": u.Email, "password": u.Password})
	if strings.HasPrefix(b.path(), "/signin") {
		b.t.Fatalf("signing in as %s failed: %s", u.Email, b.text("main"))
	}
}

// createWorkspace creates a workspace in the user's own account through the
// form and returns it; the browser is then on its dashboard.
func (b *browser) createWorkspace(name, description string) workspace {
	b.t.Helper()
	b.visit("/workspaces/new")
	b.submit(`form[action="/workspaces/new"]`, map[string]string{"name": name, "description": description})
	p := b.path()
	if !strings.HasSuffix(p, "/dashboard") {
		b.t.Fatalf("after creating workspace %q the browser is at %s; page: %s", name, p, b.text("main"))
	}
	handle, _, _ := strings.Cut(b.text("details.switcher summary"), " ")
	acct, wsHandle, _ := strings.Cut(handle, "/")
	ws := parseWorkspace(b.t, p, acct)
	ws.Handle = wsHandle
	return ws
}

// client is a plain HTTP client with its own cookie jar (a session of its
// own) that does not follow redirects, so tests see them.
type client struct {
	t  *testing.T
	ts *testServer
	hc *http.Client
}

func (ts *testServer) newClient(t *testing.T) *client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &client{t: t, ts: ts, hc: &http.Client{Jar: jar, Timeout: actionTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// response is an answer to the client.
type response struct {
	Status int
	Header http.Header
	Body   string
}

// location is the path of a redirect's target.
func (r *response) location() string { return r.Header.Get("Location") }

func (c *client) do(req *http.Request) *response {
	c.t.Helper()
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: read body: %v", req.Method, req.URL.Path, err)
	}
	return &response{Status: resp.StatusCode, Header: resp.Header, Body: string(body)}
}

// get fetches a page.
func (c *client) get(path string) *response {
	c.t.Helper()
	req, err := http.NewRequestWithContext(c.t.Context(), http.MethodGet, c.ts.URL+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.do(req)
}

// post sends exactly form, as a browser submits it: no CSRF token is added
// (see postCSRF).
func (c *client) post(path string, form url.Values) *response {
	c.t.Helper()
	req, err := http.NewRequestWithContext(c.t.Context(), http.MethodPost, c.ts.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

// postCSRF sends form with this client's CSRF token, as the page's own
// forms do.
func (c *client) postCSRF(path string, form url.Values) *response {
	c.t.Helper()
	f := url.Values{"csrf_token": {c.csrf()}}
	for k, v := range form {
		f[k] = v
	}
	return c.post(path, f)
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// csrf is the token the client's forms carry, read from a page: the
// session's once signed in, else the one of the visitor's CSRF cookie.
func (c *client) csrf() string {
	c.t.Helper()
	m := csrfField.FindStringSubmatch(c.get("/signin").Body)
	if m == nil {
		c.t.Fatal("the sign-in page has no CSRF token")
	}
	return m[1]
}

// register registers u through the registration form; the client is then
// signed in as u.
func (c *client) register(u user) {
	c.t.Helper()
	r := c.postCSRF("/register", url.Values{"email": {u.Email}, "display_name": {u.Name}, "handle": {u.Handle}, "password": {u.Password}})
	if r.Status != http.StatusSeeOther {
		c.t.Fatalf("register %s: status %d: %s", u.Email, r.Status, r.Body)
	}
}

// signIn signs u in through the sign-in form.
func (c *client) signIn(u user) {
	c.t.Helper()
	r := c.postCSRF("/signin", url.Values{"email": {u.Email}, "password": {u.Password}})
	if r.Status != http.StatusSeeOther {
		c.t.Fatalf("sign in as %s: status %d: %s", u.Email, r.Status, r.Body)
	}
}

// accountChoice matches an account the create-workspace form offers, with
// its handle: a hidden field when there is one, else an option of a select
// (the first registrant of a server also owns its default account).
var accountChoice = regexp.MustCompile(`(?:<input type="hidden" name="account_id" value="|<option value=")([0-9a-f-]{36})"[^>]*>\s*(?:<p>Account: <strong>)?([a-z0-9-]+)`)

// ownAccountID is the id of the signed-in user u's own account, from the
// create-workspace form.
func (c *client) ownAccountID(u user) string {
	c.t.Helper()
	for _, m := range accountChoice.FindAllStringSubmatch(c.get("/workspaces/new").Body, -1) {
		if m[2] == u.Handle {
			return m[1]
		}
	}
	c.t.Fatalf("the create-workspace form does not offer %s's own account", u.Handle)
	return ""
}

// createWorkspace creates a workspace in the signed-in user's own account
// through the form.
func (c *client) createWorkspace(u user, name, description string) workspace {
	c.t.Helper()
	accountID := c.ownAccountID(u)
	handle := strings.ToLower(strings.ReplaceAll(name, " ", "-"))
	r := c.postCSRF("/workspaces/new", url.Values{"account_id": {accountID}, "name": {name}, "description": {description}, "handle": {handle}})
	if r.Status != http.StatusSeeOther {
		c.t.Fatalf("create workspace %q: status %d: %s", name, r.Status, r.Body)
	}
	ws := parseWorkspace(c.t, r.location(), u.Handle)
	ws.Handle = handle
	return ws
}

// api calls the JSON API (path below /api) with an API key (the API takes no
// session cookies). body, when not nil, is sent as JSON.
func (c *client) api(method, path, key string, body any) *response {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		enc, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = strings.NewReader(string(enc))
	}
	req, err := http.NewRequestWithContext(c.t.Context(), method, c.ts.URL+"/api"+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	return c.do(req)
}

// createKey mints an API key on the API keys page and returns it.
func (c *client) createKey(name string) string {
	c.t.Helper()
	r := c.postCSRF("/profile/api-keys", url.Values{"name": {name}})
	if r.Status != http.StatusSeeOther || r.location() != "/profile/api-keys" {
		c.t.Fatalf("create key: %d to %q, want a redirect to the keys page", r.Status, r.location())
	}
	r = c.get("/profile/api-keys")
	key := regexp.MustCompile(`pnu_[0-9A-Za-z]{36}`).FindString(r.Body)
	if r.Status != http.StatusOK || key == "" {
		c.t.Fatalf("create key: %d, no key in the page", r.Status)
	}
	return key
}

// decode decodes a JSON response body into v.
func (r *response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.Body), v); err != nil {
		t.Fatalf("decode %q: %v", r.Body, err)
	}
}
