package ui_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

var formError = regexp.MustCompile(`<p class="error" role="alert"[^>]*>([^<]*)</p>`)

// alert is the form error a page shows, "" for none.
func (r *response) alert() string {
	if m := formError.FindStringSubmatch(r.Body); m != nil {
		return html.UnescapeString(m[1])
	}
	return ""
}

// The account members form reaches the same rules as the API: an admin who
// re-adds the owner with a lesser role is refused, and so is the last owner
// stepping down that way.
func TestAddMemberFormCannotDemoteOwner(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		alice, bob := newUser("alice"), newUser("bob")
		ca, cb := ts.newClient(t), ts.newClient(t)
		ca.register(alice)
		cb.register(bob)
		acctID := ca.ownAccountID(alice)
		members := "/account/" + acctID + "/members"
		cb.join(ca, acctID, bob.Email, "admin")
		for _, role := range []string{"member", "admin"} {
			if r := cb.postCSRF(members, url.Values{"email": {alice.Email}, "role": {role}}); r.Status != http.StatusForbidden {
				t.Errorf("admin bob re-adds owner alice as %s: %d %s", role, r.Status, r.alert())
			}
		}
		if r := ca.postCSRF(members, url.Values{"email": {alice.Email}, "role": {"admin"}}); r.Status != http.StatusConflict {
			t.Errorf("the last owner re-adds herself as admin: %d %s", r.Status, r.alert())
		}
		page := ca.get(members).Body
		for email, role := range map[string]string{alice.Email: "owner", bob.Email: "admin"} {
			_, row, _ := strings.Cut(page, `data-email="`+email+`"`)
			row, _, _ = strings.Cut(row, "</tr>")
			if !strings.Contains(row, `<option value="`+role+`" selected>`) {
				t.Errorf("%s is no longer %s", email, role)
			}
		}
	})
}

// The workspace members form adds only members of the workspace's account,
// and says the same for an unknown email as for a user of another account.
func TestWorkspaceMemberFormKeepsToTheAccount(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		bob, alice := newUser("bob"), newUser("alice")
		cb, ca := ts.newClient(t), ts.newClient(t)
		cb.register(bob)
		ca.register(alice)
		ws := cb.createWorkspace(bob, "Shared", "")
		var answers []string
		for _, email := range []string{alice.Email, "nobody-" + randomHex(3) + "@example.test"} {
			r := cb.postCSRF(ws.path("/settings/members"), url.Values{"email": {email}, "role": {"owner"}})
			if r.Status != http.StatusNotFound || r.alert() == "" {
				t.Fatalf("adding %s: %d %q", email, r.Status, r.alert())
			}
			answers = append(answers, r.alert())
		}
		if answers[0] != answers[1] {
			t.Errorf("a registered user of another account and an unknown email get different answers: %q, %q", answers[0], answers[1])
		}
		if r := ca.get(ws.path("/settings")); r.Status != http.StatusNotFound {
			t.Fatalf("alice reaches bob's workspace: %d", r.Status)
		}
		// In bob's account, alice can be given a role in his workspace.
		ca.join(cb, ws.AccountID, alice.Email, "member")
		if r := cb.postCSRF(ws.path("/settings/members"), url.Values{"email": {alice.Email}, "role": {"viewer"}}); r.Status != http.StatusSeeOther {
			t.Fatalf("bob adds alice to his workspace: %d %s", r.Status, r.alert())
		}
		if r := ca.get(ws.path("/settings")); r.Status != http.StatusOK || !strings.Contains(r.Body, "<dd>viewer</dd>") {
			t.Fatalf("alice's view of bob's workspace: %d", r.Status)
		}
	})
}

// The key the Prefect CLI's browser login mints expires.
func TestBrowserLoginKeyExpires(t *testing.T) {
	ts := startServer(t)
	alice := newUser("alice")
	c := ts.newClient(t)
	c.register(alice)
	c.createWorkspace(alice, "CLI Home", "")
	if r := c.get("/auth/client?callback=" + url.QueryEscape("http://127.0.0.1:9")); !strings.Contains(r.Body, "works for 90 days") {
		t.Errorf("the authorize page does not say how long the key works")
	}
	before := time.Now()
	r := c.postCSRF("/auth/client", url.Values{"callback": {"http://127.0.0.1:9"}, "decision": {"authorize"}})
	key := regexp.MustCompile(`data-api-key="(pnu_[0-9A-Za-z]+)"`).FindStringSubmatch(r.Body)
	if r.Status != http.StatusOK || key == nil {
		t.Fatalf("authorize: %d", r.Status)
	}
	var keys []struct {
		Name       string     `json:"name"`
		Expiration *time.Time `json:"expiration"`
	}
	c.api(http.MethodGet, "/me/api_keys", key[1], nil).decode(t, &keys)
	if len(keys) != 1 || keys[0].Expiration == nil {
		t.Fatalf("the CLI's key: %+v", keys)
	}
	want := before.Add(90 * 24 * time.Hour)
	if got := *keys[0].Expiration; got.Before(want.Add(-time.Second)) || got.After(time.Now().Add(90*24*time.Hour)) {
		t.Errorf("the CLI's key expires at %s, want 90 days from now (%s)", got, want)
	}
}
