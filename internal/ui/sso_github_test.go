package ui_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// githubSignIn signs in through the fake GitHub as whoever it has signed
// in, and returns Praetor's answer to the callback.
func (c *client) githubSignIn(gh *fakeGitHub) *response {
	c.t.Helper()
	start := c.get("/auth/sso/github?next=" + url.QueryEscape("/profile/api-keys"))
	if start.Status != http.StatusSeeOther || !strings.HasPrefix(start.location(), gh.URL+"/login/oauth/authorize?") {
		c.t.Fatalf("starting the GitHub sign-in: %d to %q", start.Status, start.location())
	}
	req, _ := http.NewRequestWithContext(c.t.Context(), http.MethodGet, start.location(), nil)
	approved := c.do(req)
	back, err := url.Parse(approved.location())
	if approved.Status != http.StatusFound || err != nil || !strings.HasPrefix(approved.location(), c.ts.URL+"/auth/sso/github/callback?") {
		c.t.Fatalf("GitHub's authorize answered %d to %q: %s", approved.Status, approved.location(), approved.Body)
	}
	return c.get(back.RequestURI())
}

// GitHub's flow against a server that speaks its OAuth and user API: a
// first sign-in creates the user and honours next; a password user whose
// GitHub primary email is not verified is not linked (and keeps their
// password), and is once GitHub verifies it; a new user outside the
// allowed domains is refused.
func TestGitHubSignIn(t *testing.T) {
	eachDatabase(t, func(t *testing.T, databaseURL string) {
		gh := startFakeGitHub(t)
		ts := startServerWithProviders(t, databaseURL, `
[[provider]]
id = "github"
kind = "github"
client_id = "`+gh.ClientID+`"
client_secret = "`+gh.ClientSecret+`"
web_url = "`+gh.URL+`"
api_url = "`+gh.URL+`/api"
allowed_domains = ["example.test"]
`)
		signedIn := func(c *client, u user) {
			t.Helper()
			r := c.get("/profile/api-keys")
			if r.Status != http.StatusOK || !strings.Contains(r.Body, u.Email) {
				t.Errorf("the API keys page answered %d, not as %s", r.Status, u.Email)
			}
		}

		// Both signed-out pages offer the provider, carrying next on.
		for _, page := range []string{"/signin?next=%2Fprofile%2Fapi-keys", "/register?next=%2Fprofile%2Fapi-keys"} {
			r := ts.newClient(t).get(page)
			if r.Status != http.StatusOK || !regexp.MustCompile(`href="/auth/sso/github\?next=%2fprofile%2fapi-keys"`).MatchString(r.Body) {
				t.Errorf("%s has no GitHub button that returns to next: %d", page, r.Status)
			}
		}

		frank := newUser("frank")
		gh.signIn(githubUser{ID: 1001, Login: frank.Handle, Email: frank.Email, EmailVerified: true})
		c := ts.newClient(t)
		if r := c.githubSignIn(gh); r.Status != http.StatusSeeOther || r.location() != "/profile/api-keys" {
			t.Fatalf("frank's first GitHub sign-in: %d to %q: %s", r.Status, r.location(), r.Body)
		}
		signedIn(c, frank)
		// Signing in again finds the same user, by GitHub's id.
		c = ts.newClient(t)
		if r := c.githubSignIn(gh); r.Status != http.StatusSeeOther {
			t.Fatalf("frank's second GitHub sign-in: %d: %s", r.Status, r.Body)
		}
		signedIn(c, frank)
		// Frank has no password: none signs him in, and the refusal is the
		// one of a wrong password.
		if r := ts.newClient(t).postCSRF("/signin", url.Values{"email": {frank.Email}, "password": {frank.Password}}); r.Status != http.StatusUnauthorized ||
			!strings.Contains(r.Body, "Wrong email or password.") {
			t.Errorf("a password sign-in of a user made by GitHub: %d: %s", r.Status, r.Body)
		}

		// Erin has a password; her GitHub account claims her email but
		// GitHub has not verified it.
		erin := newUser("erin")
		ts.newClient(t).register(erin)
		gh.signIn(githubUser{ID: 2002, Login: erin.Handle, Email: erin.Email, EmailVerified: false})
		c = ts.newClient(t)
		r := c.githubSignIn(gh)
		if r.Status != http.StatusForbidden || !strings.Contains(r.Body, "does not say that "+erin.Email+" is verified") {
			t.Fatalf("a sign-in with an unverified email of an existing user: %d: %s", r.Status, r.Body)
		}
		if r := c.get("/profile/api-keys"); r.Status != http.StatusSeeOther {
			t.Errorf("the refused sign-in left a session: /profile/api-keys answered %d", r.Status)
		}
		ts.newClient(t).signIn(erin) // her password still works
		gh.signIn(githubUser{ID: 2002, Login: erin.Handle, Email: erin.Email, EmailVerified: true})
		c = ts.newClient(t)
		if r := c.githubSignIn(gh); r.Status != http.StatusSeeOther {
			t.Fatalf("erin's sign-in once GitHub verified her email: %d: %s", r.Status, r.Body)
		}
		signedIn(c, erin)
		// Her account's audit log has the refused sign-in, the link and the
		// provider's sign-in, each once.
		var events []string
		erinAcct := c.ownAccountID(erin)
		for _, e := range c.auditLog(erinAcct, c.createKey("audit")) {
			if e.Event == "api-key.created" {
				continue
			}
			events = append(events, e.Event+" "+string(e.Details))
		}
		if len(events) != 5 || !strings.HasPrefix(events[0], "user.logged-in") || !strings.HasPrefix(events[1], "user.login-failed") ||
			!strings.Contains(events[1], "identity provider github") || !strings.HasPrefix(events[2], "user.logged-in") ||
			!strings.HasPrefix(events[3], "user.identity-linked") || !strings.HasPrefix(events[4], "user.logged-in") || !strings.Contains(events[4], "github") {
			t.Errorf("erin's audit log:\n%s", strings.Join(events, "\n"))
		}

		// Changing the account's sign-in setting: an admin who has not
		// signed in with a provider cannot require it (it would lock them
		// out), a plain member cannot change it at all; and a refused
		// change changes nothing.
		owner := newUser("olga")
		oc := ts.newClient(t)
		oc.register(owner)
		acct := oc.ownAccountID(owner)
		c.join(oc, acct, erin.Email, "member")
		if r := oc.postCSRF("/account/"+acct+"/settings/sso", url.Values{"sso_required": {"on"}}); r.Status != http.StatusUnprocessableEntity ||
			!strings.Contains(r.Body, "yourself first") {
			t.Errorf("requiring SSO without a provider identity: %d: %s", r.Status, r.Body)
		}
		if r := oc.post("/account/"+acct+"/settings/sso", url.Values{"sso_required": {"on"}}); r.Status != http.StatusForbidden ||
			!strings.Contains(r.Body, "did not come from Praetor") {
			t.Errorf("the SSO setting posted without a CSRF token: %d", r.Status)
		}
		if r := c.postCSRF("/account/"+acct+"/settings/sso", url.Values{"sso_required": {"on"}}); r.Status != http.StatusForbidden {
			t.Errorf("a member requiring SSO: %d: %s", r.Status, r.Body)
		}
		if r := oc.get("/account/" + acct + "/settings"); !strings.Contains(r.Body, "may sign in with their password") {
			t.Errorf("after refused changes the settings page says: %s", r.Body)
		}
		ts.newClient(t).signIn(erin) // a member's password still signs them in

		// A new user at another domain may not sign up.
		gh.signIn(githubUser{ID: 3003, Login: "grace", Email: "grace@elsewhere.test", EmailVerified: true})
		r = ts.newClient(t).githubSignIn(gh)
		if r.Status != http.StatusForbidden || !strings.Contains(r.Body, "must have an email address at example.test") {
			t.Errorf("a new user outside the allowed domains: %d: %s", r.Status, r.Body)
		}
		// Nothing was made of grace: her email is free to register.
		ts.newClient(t).register(user{Email: "grace@elsewhere.test", Password: "correct horse grace", Handle: "grace-" + randomHex(3)})

		// A callback opened in another browser than the one that started
		// the sign-in (an attacker's own, sent to a victim to sign them in
		// as the attacker) is refused, and cannot be used afterwards either.
		gh.signIn(githubUser{ID: 1001, Login: frank.Handle, Email: frank.Email, EmailVerified: true})
		attacker := ts.newClient(t)
		start := attacker.get("/auth/sso/github")
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, start.location(), nil)
		callback, _ := url.Parse(attacker.do(req).location())
		victim := ts.newClient(t)
		if r := victim.get(callback.RequestURI()); r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "started in another browser") {
			t.Errorf("a callback in another browser: %d: %s", r.Status, r.Body)
		}
		if r := victim.get("/profile/api-keys"); r.Status != http.StatusSeeOther {
			t.Errorf("the victim was signed in: /profile/api-keys answered %d", r.Status)
		}
		if r := attacker.get(callback.RequestURI()); r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "expired or was already used") {
			t.Errorf("the callback after it was refused elsewhere: %d: %s", r.Status, r.Body)
		}
	})
}

// Starting sign-ins with a provider counts against the address's sign-in
// attempts, as passwords do: each start stores a sign-in in progress.
func TestProviderSignInStartsAreLimited(t *testing.T) {
	ts := startServerWithProviders(t, "", `
[[provider]]
id = "github"
kind = "github"
client_id = "x"
client_secret = "y"
web_url = "http://127.0.0.1:9"
`)
	c := ts.newClient(t)
	for i := range 10 {
		if r := c.get("/auth/sso/github"); r.Status != http.StatusSeeOther {
			t.Fatalf("start %d: %d", i+1, r.Status)
		}
	}
	if r := c.get("/auth/sso/github"); r.Status != http.StatusTooManyRequests || !strings.Contains(r.Body, "Too many attempts") {
		t.Errorf("the 11th start in a row: %d: %s", r.Status, r.Body)
	}
	if r := c.postCSRF("/signin", url.Values{"email": {"nobody@example.test"}, "password": {"whatever"}}); r.Status != http.StatusTooManyRequests {
		t.Errorf("a password sign-in after them: %d, want 429", r.Status)
	}
}

// An OpenID Connect provider that does not vouch for a user's email
// (email_verified false or absent) neither links nor creates a user,
// unless the operator set trust_email for it.
func TestOIDCUnverifiedEmail(t *testing.T) {
	eachDatabase(t, func(t *testing.T, databaseURL string) {
		idp := startIdP(t)
		ts := startServerWithProviders(t, databaseURL, `
[[provider]]
id = "strict"
issuer = "`+idp.Issuer+`"
client_id = "strict"
client_secret = "strict-secret"

[[provider]]
id = "trusted"
issuer = "`+idp.Issuer+`"
client_id = "trusted"
client_secret = "trusted-secret"
trust_email = true
`)
		idp.register("strict", "strict-secret", ts.URL+"/auth/sso/strict/callback")
		idp.register("trusted", "trusted-secret", ts.URL+"/auth/sso/trusted/callback")
		hank := newUser("hank")
		idp.addUser(hank, false)
		c := ts.newClient(t)
		if r := idp.signInOverHTTP(t, c, "strict", hank); r.Status != http.StatusForbidden || !strings.Contains(r.Body, "is verified") {
			t.Errorf("an unverified email: %d: %s", r.Status, r.Body)
		}
		if r := c.get("/workspaces"); r.Status != http.StatusSeeOther {
			t.Errorf("the refused sign-in signed hank in: /workspaces answered %d", r.Status)
		}
		if r := idp.signInOverHTTP(t, c, "trusted", hank); r.Status != http.StatusSeeOther || r.location() != "/workspaces/new" {
			t.Errorf("an unverified email at a provider trusted for its emails: %d to %q: %s", r.Status, r.location(), r.Body)
		}
	})
}
