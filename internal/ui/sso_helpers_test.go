package ui_test

// The identity providers the SSO tests sign in with, on loopback: a real
// OpenID Connect provider (zitadel/oidc's op package, through its example
// server's storage and login page) that issues signed tokens, and a server
// that speaks GitHub's OAuth and user API.

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/praetorhq/praetor/internal/server"
	"github.com/praetorhq/praetor/internal/testdb"
	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// testIdP is an OpenID Connect provider. Its users sign in on its login
// page with their username and the password "verysecure".
type testIdP struct {
	Issuer  string
	store   *idpStorage
	users   *idpUsers
	clients map[string]*storage.Client

	// tamper, when set, rewrites the redirect back to Praetor's callback
	// as an attacker who controls it would: "state" alters the state,
	// "code" swaps the code for the first one the provider ever issued
	// (redeemed by then).
	tamper    atomic.Value // string
	mu        sync.Mutex
	callbacks []string // every redirect to a callback, as sent
}

// idpStorage is the example storage, able to put a wrong nonce in the ID
// tokens it issues.
type idpStorage struct {
	*storage.Storage
	wrongNonce atomic.Bool
}

func (s *idpStorage) CreateAuthRequest(ctx context.Context, req *oidc.AuthRequest, userID string) (op.AuthRequest, error) {
	if s.wrongNonce.Load() {
		req.Nonce = "a-nonce-of-another-sign-in"
	}
	return s.Storage.CreateAuthRequest(ctx, req, userID)
}

// idpUsers is the provider's user directory.
type idpUsers struct {
	mu    sync.Mutex
	users map[string]*storage.User // by id
}

func (u *idpUsers) GetUserByID(id string) *storage.User {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.users[id]
}

func (u *idpUsers) GetUserByUsername(name string) *storage.User {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, x := range u.users {
		if x.Username == name {
			return x
		}
	}
	return nil
}

func (u *idpUsers) ExampleClientID() string { return storage.ServiceUserID }

// startIdP starts the provider on a random loopback port until the test
// ends.
func startIdP(t *testing.T) *testIdP {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	idp := &testIdP{Issuer: "http://" + ln.Addr().String(), users: &idpUsers{users: map[string]*storage.User{}}, clients: map[string]*storage.Client{}}
	idp.tamper.Store("")
	idp.store = &idpStorage{Storage: storage.NewStorageWithClients(idp.users, idp.clients)}
	router := exampleop.SetupServer(idp.Issuer, idp.store, nil, false)
	srv := httptest.NewUnstartedServer(idp.rewrite(router))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return idp
}

// rewrite records, and tampers with when asked, the provider's redirects
// to a client's callback.
func (idp *testIdP) rewrite(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &redirectRecorder{ResponseWriter: w, idp: idp}
		next.ServeHTTP(rec, r)
	})
}

type redirectRecorder struct {
	http.ResponseWriter
	idp *testIdP
}

func (r *redirectRecorder) WriteHeader(status int) {
	if loc := r.Header().Get("Location"); status/100 == 3 && loc != "" {
		if u, err := url.Parse(loc); err == nil && u.Query().Get("code") != "" {
			r.idp.mu.Lock()
			q := u.Query()
			switch r.idp.tamper.Load().(string) {
			case "state":
				q.Set("state", q.Get("state")+"x")
			case "code":
				first, _ := url.Parse(r.idp.callbacks[0])
				q.Set("code", first.Query().Get("code"))
			}
			u.RawQuery = q.Encode()
			r.idp.callbacks = append(r.idp.callbacks, loc)
			r.idp.mu.Unlock()
			r.Header().Set("Location", u.String())
		}
	}
	r.ResponseWriter.WriteHeader(status)
}

// lastCallback is the last redirect to a callback, untampered.
func (idp *testIdP) lastCallback(t *testing.T) string {
	t.Helper()
	idp.mu.Lock()
	defer idp.mu.Unlock()
	if len(idp.callbacks) == 0 {
		t.Fatal("the provider redirected to no callback")
	}
	return idp.callbacks[len(idp.callbacks)-1]
}

// signInOverHTTP signs u in at the provider through provider id's button,
// as a browser would but with plain HTTP (its login page is a form), and
// returns Praetor's answer to the callback.
func (idp *testIdP) signInOverHTTP(t *testing.T, c *client, id string, u user) *response {
	t.Helper()
	start := c.get("/auth/sso/" + id)
	if start.Status != http.StatusSeeOther {
		t.Fatalf("start the sign-in with %s: %d", id, start.Status)
	}
	praetor, _ := url.Parse(c.ts.URL)
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if req.URL.Host == praetor.Host {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	login, err := browser.Get(start.location())
	if err != nil {
		t.Fatal(err)
	}
	login.Body.Close()
	back, err := browser.PostForm(idp.Issuer+"/login/username", url.Values{"id": {login.Request.URL.Query().Get("authRequestID")},
		"username": {u.Handle}, "password": {"verysecure"}})
	if err != nil {
		t.Fatal(err)
	}
	back.Body.Close()
	callback, err := url.Parse(back.Header.Get("Location"))
	if err != nil || callback.Host != praetor.Host {
		t.Fatalf("the provider sent the browser to %q (%d), not to Praetor", back.Header.Get("Location"), back.StatusCode)
	}
	return c.get(callback.RequestURI())
}

// addUser gives the provider a user with u's email.
func (idp *testIdP) addUser(u user, verified bool) {
	idp.users.mu.Lock()
	defer idp.users.mu.Unlock()
	id := "sub-" + u.Handle
	idp.users.users[id] = &storage.User{ID: id, Username: u.Handle, Password: "verysecure", FirstName: u.Name, LastName: "Test",
		Email: u.Email, EmailVerified: verified}
}

// register registers Praetor's client with its callback.
func (idp *testIdP) register(id, secret, callback string) {
	c := storage.WebClient(id, secret, callback)
	idp.clients[c.GetID()] = c
}

// providersFile writes an identity providers file into a temporary
// directory and returns its path.
func providersFile(t *testing.T, toml string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "providers.toml")
	if err := os.WriteFile(p, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// eachDatabase runs fn as one subtest per storage engine, with the URL of a
// fresh database ("" for SQLite in the server's home), for tests that
// configure their own server.
func eachDatabase(t *testing.T, fn func(t *testing.T, databaseURL string)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, "") })
	t.Run("postgres", func(t *testing.T) { fn(t, testdb.Postgres(t)) })
}

// startServerWithProviders starts Praetor with the providers of toml.
func startServerWithProviders(t *testing.T, databaseURL, toml string) *testServer {
	t.Helper()
	return startServerWith(t, server.Config{DatabaseURL: databaseURL, IdentityProvidersFile: providersFile(t, toml)})
}

// fakeGitHub speaks GitHub's OAuth web flow (authorize, access_token) and
// the two user API routes Praetor reads. Its authorize page approves at
// once, as the user set with signIn.
type fakeGitHub struct {
	URL          string
	ClientID     string
	ClientSecret string

	mu     sync.Mutex
	user   githubUser            // who approves the next authorization
	codes  map[string]grant      // issued, unredeemed codes
	tokens map[string]githubUser // access token → user
	seq    int
}

type githubUser struct {
	ID            int64
	Login, Email  string
	EmailVerified bool
}

type grant struct {
	user                githubUser
	challenge, redirect string
}

func startFakeGitHub(t *testing.T) *fakeGitHub {
	t.Helper()
	gh := &fakeGitHub{ClientID: "gh-client", ClientSecret: "gh-secret-" + randomHex(8), codes: map[string]grant{}, tokens: map[string]githubUser{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login/oauth/authorize", gh.authorize)
	mux.HandleFunc("POST /login/oauth/access_token", gh.accessToken)
	mux.HandleFunc("GET /api/user", gh.apiUser)
	mux.HandleFunc("GET /api/user/emails", gh.apiEmails)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	gh.URL = srv.URL
	return gh
}

// signIn makes u the GitHub user who approves the next authorization.
func (gh *fakeGitHub) signIn(u githubUser) {
	gh.mu.Lock()
	defer gh.mu.Unlock()
	gh.user = u
}

func (gh *fakeGitHub) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != gh.ClientID || q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("state") == "" {
		http.Error(w, "bad authorize request: "+r.URL.RawQuery, http.StatusBadRequest)
		return
	}
	gh.mu.Lock()
	gh.seq++
	code := "code-" + strconv.Itoa(gh.seq)
	gh.codes[code] = grant{user: gh.user, challenge: q.Get("code_challenge"), redirect: q.Get("redirect_uri")}
	gh.mu.Unlock()
	back, _ := url.Parse(q.Get("redirect_uri"))
	back.RawQuery = url.Values{"code": {code}, "state": {q.Get("state")}}.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

// accessToken redeems a code once, for the client's secret and the
// verifier of the code's challenge; it answers form-encoded, as GitHub does
// unless asked for JSON.
func (gh *fakeGitHub) accessToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	gh.mu.Lock()
	defer gh.mu.Unlock()
	g, found := gh.codes[r.PostForm.Get("code")]
	delete(gh.codes, r.PostForm.Get("code"))
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	if id != gh.ClientID || secret != gh.ClientSecret || !found || base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge ||
		r.PostForm.Get("redirect_uri") != g.redirect {
		w.Header().Set("Content-Type", "application/x-www-form-urlencoded")
		w.Write([]byte("error=bad_verification_code&error_description=The+code+passed+is+incorrect+or+expired."))
		return
	}
	gh.seq++
	tok := "gho_" + strconv.Itoa(gh.seq)
	gh.tokens[tok] = g.user
	w.Header().Set("Content-Type", "application/x-www-form-urlencoded")
	w.Write([]byte(url.Values{"access_token": {tok}, "token_type": {"bearer"}, "scope": {"read:user,user:email"}}.Encode()))
}

func (gh *fakeGitHub) tokenUser(w http.ResponseWriter, r *http.Request) (githubUser, bool) {
	gh.mu.Lock()
	defer gh.mu.Unlock()
	auth := r.Header.Get("Authorization")
	for _, scheme := range []string{"Bearer ", "token "} {
		if len(auth) > len(scheme) && auth[:len(scheme)] == scheme {
			if u, ok := gh.tokens[auth[len(scheme):]]; ok {
				return u, true
			}
		}
	}
	http.Error(w, `{"message":"Bad credentials"}`, http.StatusUnauthorized)
	return githubUser{}, false
}

func (gh *fakeGitHub) apiUser(w http.ResponseWriter, r *http.Request) {
	if u, ok := gh.tokenUser(w, r); ok {
		json.NewEncoder(w).Encode(map[string]any{"id": u.ID, "login": u.Login, "name": nil, "email": nil})
	}
}

func (gh *fakeGitHub) apiEmails(w http.ResponseWriter, r *http.Request) {
	if u, ok := gh.tokenUser(w, r); ok {
		json.NewEncoder(w).Encode([]map[string]any{
			{"email": u.Login + "@users.noreply.github.com", "primary": false, "verified": true, "visibility": nil},
			{"email": u.Email, "primary": true, "verified": u.EmailVerified, "visibility": "private"},
		})
	}
}
