package ui_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// A sign-in form is read only up to a small bound: a 5 MB email is refused
// before it is parsed, looked up, counted or hashed.
func TestSignInRefusesHugeForms(t *testing.T) {
	ts := startServer(t)
	c := ts.newClient(t)
	huge := strings.Repeat("a", 5<<20) + "@example.test"
	for _, path := range []string{"/signin", "/register"} {
		r := c.postCSRF(path, url.Values{"email": {huge}, "password": {"whatever password"}, "handle": {"huge"}})
		if r.Status != http.StatusRequestEntityTooLarge || !strings.Contains(r.Body, "too large") {
			t.Errorf("POST %s with a 5 MB email: %d, want 413", path, r.Status)
		}
	}
}

// An account's sign-in limit holds for every spelling of its email: after
// failures on victim@…, VICTIM@… is held back too.
func TestSignInLimitIgnoresEmailCase(t *testing.T) {
	ts := startServer(t)
	victim := newUser("victim")
	ts.newClient(t).register(victim)
	attacker := ts.newClient(t)
	for i := range 5 {
		r := attacker.postCSRF("/signin", url.Values{"email": {victim.Email}, "password": {"not the password"}})
		if r.Status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d, want 401", i, r.Status)
		}
	}
	c := ts.newClient(t)
	r := c.postCSRF("/signin", url.Values{"email": {strings.ToUpper(victim.Email)}, "password": {victim.Password}})
	if r.Status != http.StatusTooManyRequests || !strings.Contains(r.Body, "Too many attempts") {
		t.Fatalf("another spelling right after five failures: %d, want 429", r.Status)
	}
}

// Registrations are limited per address: each costs a password hash.
func TestRegisterRateLimited(t *testing.T) {
	ts := startServer(t)
	c := ts.newClient(t)
	for i := 0; ; i++ {
		u := newUser("bulk")
		r := c.postCSRF("/register", url.Values{"email": {u.Email}, "handle": {u.Handle}, "password": {u.Password}})
		if r.Status == http.StatusSeeOther {
			if i >= 20 {
				t.Fatalf("%d registrations from one address were accepted", i+1)
			}
			continue
		}
		if r.Status != http.StatusTooManyRequests || !strings.Contains(r.Body, "Too many registrations") {
			t.Fatalf("registration %d: %d, want 429", i+1, r.Status)
		}
		if i < 20 {
			t.Fatalf("registration %d refused: the allowance is 20", i+1)
		}
		// Nothing was created: the email cannot sign in.
		if r := ts.newClient(t).postCSRF("/signin", url.Values{"email": {u.Email}, "password": {u.Password}}); r.Status != http.StatusUnauthorized {
			t.Fatalf("the refused registrant signs in: %d", r.Status)
		}
		return
	}
}
