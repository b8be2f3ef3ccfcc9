package ui_test

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// A CSRF cookie and token pair that is not the session's does not pass:
// a signed-in user's forms need their session's token, whatever CSRF
// cookie another site (a sibling subdomain) planted, and another user's
// session token does not pass either.
func TestCSRFTokenBoundToSession(t *testing.T) {
	ts := startServer(t)
	victim, mallory := newUser("victim"), newUser("mallory")
	c := ts.newClient(t)
	c.register(victim)
	attacker := ts.newClient(t)
	attacker.register(mallory)
	planted := strings.Repeat("A", 43)
	u, _ := url.Parse(ts.URL)
	c.hc.Jar.SetCookies(u, []*http.Cookie{{Name: "praetor_csrf", Value: planted, Path: "/"}})
	for name, token := range map[string]string{"the planted cookie's value": planted, "another session's token": attacker.csrf()} {
		r := c.post("/profile/api-keys", url.Values{"name": {"forged key"}, "csrf_token": {token}})
		if r.Status != http.StatusForbidden || !strings.Contains(r.Body, "did not come from Praetor") {
			t.Errorf("a form with %s: %d, want 403", name, r.Status)
		}
	}
	if k := c.get("/profile/api-keys"); k.Status != http.StatusOK || strings.Contains(k.Body, "forged key") {
		t.Fatalf("a forged form created a key (%d)", k.Status)
	}
	// The session's own token still works, planted cookie or not.
	c.createKey("real key")
}

// Over HTTPS (here: a TLS-terminating proxy) the cookies are __Host-
// cookies, which no sibling subdomain can set; a plain-named cookie planted
// beside them is ignored.
func TestHostPrefixedCookiesOverTLS(t *testing.T) {
	ts := startServer(t)
	u := newUser("secure")
	ts.newClient(t).register(u)
	c := ts.newClient(t)
	c.hc.Jar = nil // each request carries exactly the cookies given
	send := func(method, path string, form url.Values, cookies ...*http.Cookie) *response {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, ts.URL+path, strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Forwarded-Proto", "https")
		if method == http.MethodPost {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		for _, ck := range cookies {
			req.AddCookie(ck)
		}
		return c.do(req)
	}
	setCookie := func(r *response, name string) *http.Cookie {
		t.Helper()
		for _, ck := range (&http.Response{Header: r.Header}).Cookies() {
			if ck.Name == name {
				if !ck.Secure || ck.Path != "/" || ck.Domain != "" || !ck.HttpOnly {
					t.Errorf("cookie %s: Secure %v Path %q Domain %q HttpOnly %v", name, ck.Secure, ck.Path, ck.Domain, ck.HttpOnly)
				}
				return ck
			}
		}
		t.Fatalf("no %s cookie among %v", name, r.Header.Values("Set-Cookie"))
		return nil
	}
	form := send(http.MethodGet, "/signin", nil)
	csrf := setCookie(form, "__Host-praetor_csrf")
	// A planted plain cookie with its own token does not pass.
	planted := strings.Repeat("B", 43)
	if r := send(http.MethodPost, "/signin", url.Values{"email": {u.Email}, "password": {u.Password}, "csrf_token": {planted}},
		&http.Cookie{Name: "praetor_csrf", Value: planted}); r.Status != http.StatusForbidden {
		t.Fatalf("sign-in with a planted plain CSRF cookie: %d, want 403", r.Status)
	}
	r := send(http.MethodPost, "/signin", url.Values{"email": {u.Email}, "password": {u.Password}, "csrf_token": {csrf.Value}}, csrf)
	if r.Status != http.StatusSeeOther {
		t.Fatalf("sign-in over TLS: %d %s", r.Status, r.Body)
	}
	session := setCookie(r, "__Host-praetor_session")
	if page := send(http.MethodGet, "/workspaces", nil, session); page.Status != http.StatusOK {
		t.Fatalf("the __Host- session does not sign in: %d", page.Status)
	}
	if page := send(http.MethodGet, "/workspaces", nil, &http.Cookie{Name: "praetor_session", Value: session.Value}); page.Status != http.StatusSeeOther {
		t.Fatalf("over TLS a plain-named session cookie was taken: %d", page.Status)
	}
}

// In a real browser: a page on a sibling origin (same site, so the
// browser sends Praetor's cookies with its posts, and its Set-Cookie
// reaches them) plants a CSRF cookie and posts a form with the matching
// token. The post is refused and nothing is created; Praetor's own form
// still works.
func TestPlantedCSRFCookieRefusedInBrowser(t *testing.T) {
	ts := startServer(t)
	b := ts.newBrowser(t)
	victim := newUser("victim")
	b.register(victim)
	planted := strings.Repeat("C", 43)
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Cookies are not isolated by port: this one lands beside
		// Praetor's own, and replaces it.
		http.SetCookie(w, &http.Cookie{Name: "praetor_csrf", Value: planted, Path: "/", HttpOnly: true})
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<!doctype html><form id="f" method="post" action="%s/profile/api-keys">
<input name="csrf_token" value="%s"><input name="name" value="planted key"></form>
<script>document.getElementById("f").submit()</script>`, html.EscapeString(ts.URL), planted)
	}))
	defer evil.Close()
	b.visit(evil.URL)
	// The attacker's page submits itself as soon as it loads.
	target, _ := json.Marshal(ts.URL + "/")
	get(b, "wait for the forged post's answer", chromedp.Poll[bool](`location.href.startsWith(`+string(target)+`) && document.readyState === "complete"`))
	if got := b.text("main"); !strings.Contains(got, "did not come from Praetor") {
		t.Errorf("the forged post was not refused; the page reads: %s", got)
	}
	b.visit("/profile/api-keys")
	if strings.Contains(b.html(), "planted key") {
		t.Fatal("the forged post created an API key")
	}
	if status := b.submit(`form[action="/profile/api-keys"]`, map[string]string{"name": "real key"}); status != http.StatusOK {
		t.Fatalf("Praetor's own form: %d, want 200 after its redirect", status)
	}
	if !strings.Contains(b.html(), "real key") {
		t.Fatal("the real key is not listed")
	}
}
