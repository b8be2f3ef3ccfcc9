package ui_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// Signing in with a real OpenID Connect provider, in Chromium: a first
// sign-in creates the user; a replayed callback, a tampered state, a
// redeemed code and an ID token with another sign-in's nonce are refused;
// a password user links on their verified email; and once their account
// requires SSO their password no longer signs them in while their API key
// keeps working.
func TestOIDCSignIn(t *testing.T) {
	eachDatabase(t, func(t *testing.T, databaseURL string) {
		idp := startIdP(t)
		secret := "oidc-secret-" + randomHex(8)
		ts := startServerWithProviders(t, databaseURL, `
[[provider]]
id = "test-idp"
name = "Test IdP"
issuer = "`+idp.Issuer+`"
client_id = "praetor"
client_secret = "`+secret+`"

[[provider]]
id = "github"
kind = "github"
client_id = "shown-not-used"
client_secret = "shown-not-used"
`)
		idp.register("praetor", secret, ts.URL+"/auth/sso/test-idp/callback")
		b := ts.newBrowser(t)

		// signInAtIdP follows the button from the sign-in page and signs u
		// in on the provider's login page; it returns the status of the
		// page Praetor answers the callback with.
		signInAtIdP := func(u user) int {
			t.Helper()
			b.visit("/signin")
			b.follow(`#sso-buttons a[data-provider="test-idp"]`)
			if !strings.HasPrefix(b.path(), "/login/username") {
				t.Fatalf("the button led to %s, not the provider's login page", b.path())
			}
			return b.submit(`form[action="/login/username"]`, map[string]string{"username": u.Handle, "password": "verysecure"})
		}

		carol := newUser("carol")
		idp.addUser(carol, true)
		b.visit("/signin")
		if got := b.text(`#sso-buttons a[data-provider="test-idp"]`); got != "Continue with Test IdP" {
			t.Fatalf("the sign-in page's provider button says %q", got)
		}
		b.screenshot("signin-providers")
		if status := signInAtIdP(carol); status != http.StatusOK || b.path() != "/workspaces/new" {
			t.Fatalf("carol's first sign-in answered %d at %s: %s", status, b.path(), b.text("main"))
		}
		if got := b.text("details.usermenu"); !strings.Contains(got, carol.Email) && !strings.Contains(got, carol.Name) {
			t.Errorf("after the first sign-in the user menu shows %q, not carol", got)
		}

		refused := func(what string, status, want int, msg string) {
			t.Helper()
			if status != want || !strings.Contains(b.text("main"), msg) {
				t.Errorf("%s: %d with %q, want %d saying %q", what, status, b.text("main"), want, msg)
			}
		}
		// The same callback again (its state was used): refused.
		first := idp.lastCallback(t)
		u, _ := url.Parse(first)
		refused("a replayed callback", b.visit(u.RequestURI()), http.StatusBadRequest, "expired or was already used")

		idp.tamper.Store("state")
		refused("a tampered state", signInAtIdP(carol), http.StatusBadRequest, "expired or was already used")
		idp.tamper.Store("code")
		refused("a redeemed code with a fresh state", signInAtIdP(carol), http.StatusUnauthorized, "did not accept the sign-in")
		idp.tamper.Store("")
		idp.store.wrongNonce.Store(true)
		refused("an ID token with another nonce", signInAtIdP(carol), http.StatusUnauthorized, "for another sign-in")
		idp.store.wrongNonce.Store(false)

		// Dave registered with a password; signing in with the provider,
		// which vouches for his email, links it to him.
		dave := newUser("dave")
		c := ts.newClient(t)
		c.register(dave)
		key := c.createKey("ci")
		accountID := c.ownAccountID(dave)
		idp.addUser(dave, true)
		if status := signInAtIdP(dave); status != http.StatusOK || b.path() != "/workspaces" {
			t.Fatalf("dave's sign-in with the provider answered %d at %s: %s", status, b.path(), b.text("main"))
		}
		b.visit("/account/" + accountID + "/settings")
		b.do("tick the requirement", chromedp.Click(chromedp.CSS(`#sso-settings input[name="sso_required"]`)))
		b.submit(`#sso-settings form`, nil)
		if got := b.text("#sso-state"); !strings.Contains(got, "must sign in with an identity provider (Test IdP, GitHub)") {
			t.Fatalf("after requiring SSO the settings say %q", got)
		}
		b.screenshot("account-settings-sso")

		// Dave's password is refused, naming the button; his key works.
		b.visit("/signin")
		refused("dave's password", b.submit(`form[action="/signin"]`, map[string]string{"email": dave.Email, "password": dave.Password}),
			http.StatusForbidden, "use “Continue with Test IdP” or “Continue with GitHub” above")
		if r := ts.newClient(t).api("GET", "/me/workspaces", key, nil); r.Status != http.StatusOK {
			t.Errorf("dave's API key after the account required SSO: %d %s", r.Status, r.Body)
		}
		if status := signInAtIdP(dave); status != http.StatusOK || b.path() != "/workspaces" {
			t.Errorf("dave's sign-in with the provider once SSO is required: %d at %s", status, b.path())
		}
	})
}
