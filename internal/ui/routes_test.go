package ui

import (
	"net/http"
	"strings"
	"testing"
)

// Every page declares at registration what it requires: a workspace page a
// permission, an account page membership of the account, and every other
// page but the signed-out ones a signed-in user.
func TestEveryPageDeclaresItsAccess(t *testing.T) {
	u, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	u.Register(http.NewServeMux())
	signedOut := map[string]bool{"GET /{$}": true, "GET /signin": true, "POST /signin": true,
		"GET /register": true, "POST /register": true, "POST /signout": true}
	if len(u.registered) < 30 {
		t.Fatalf("only %d pages registered through handle", len(u.registered))
	}
	for _, p := range u.registered {
		switch {
		case strings.Contains(p.pattern, "{workspace_id}"):
			if p.need.perm == "" || !p.need.signedIn {
				t.Errorf("%s: a workspace page without a permission", p.pattern)
			}
		case strings.Contains(p.pattern, "{account_id}"):
			if !p.need.account || !p.need.signedIn {
				t.Errorf("%s: an account page without account membership", p.pattern)
			}
		case signedOut[p.pattern]:
			if p.need != anyone {
				t.Errorf("%s: a signed-out page requires %+v", p.pattern, p.need)
			}
		case !p.need.signedIn:
			t.Errorf("%s: a page open to visitors who are not signed in", p.pattern)
		}
	}
}
