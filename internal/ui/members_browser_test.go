package ui_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// An account owner creates a service account in the browser and sees its
// pnb_ key once, gives it the Worker role, rotates its key, and makes a team
// that raises a member's role; a member of the account sees both lists but
// changes nothing, and a service account cannot sign in.
func TestServiceAccountAndTeamPages(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		b := ts.newBrowser(t)
		alice, bob := newUser("alice"), newUser("bob")
		b.register(alice)
		ws := b.createWorkspace("Prod", "")
		acct := "/account/" + ws.AccountID
		cb := ts.newClient(t)
		cb.register(bob)
		ca := ts.newClient(t)
		ca.signIn(alice)
		cb.join(ca, ws.AccountID, bob.Email, "member")

		// Create: the key is shown once, on the service account's page.
		b.visit(acct + "/service-accounts")
		if status := b.submit("#create-service-account", map[string]string{"name": "prod-worker"}); status != http.StatusOK ||
			!strings.HasPrefix(b.path(), acct+"/service-accounts/") {
			t.Fatalf("creating a service account answered %d at %s", status, b.path())
		}
		page := b.path()
		key := b.text("#new-key")
		if !strings.HasPrefix(key, "pnb_") || !strings.Contains(b.text("#new-key-card"), "will not be shown again") {
			t.Fatalf("the new key reads %q", key)
		}
		b.screenshot("service-account-created")
		// The members page lists people: the service account, which the
		// member routes refuse to change, is only counted there.
		if r := ca.get(acct + "/members"); strings.Contains(r.Body, "prod-worker") || strings.Contains(r.Body, ".invalid") ||
			!strings.Contains(r.Body, `id="service-account-count">The account also has 1 service account,`) {
			t.Errorf("the members page after creating a service account: %s", r.Body)
		}
		if r := cb.api(http.MethodGet, "/me/workspaces", key, nil); r.Status != http.StatusOK || strings.Contains(r.Body, ws.ID) {
			t.Fatalf("the new key before it has a role: %d %s", r.Status, r.Body)
		}
		b.submit(`#workspace-roles tr[data-workspace="prod"] form`, map[string]string{"role": "worker"})
		if r := cb.api(http.MethodGet, "/me/workspaces", key, nil); !strings.Contains(r.Body, `"role":"worker"`) {
			t.Fatalf("the key's workspaces after the Worker role: %s", r.Body)
		}
		b.visit(page)
		b.waitVisible("#rotate-key")
		if b.exists("#new-key") || strings.Contains(ca.get(page).Body, key) {
			t.Fatal("the service account's page shows its key again")
		}
		// Rotate with no grace: the old key stops at once.
		b.submit("#rotate-key", map[string]string{"grace": "0"})
		rotated := b.text("#new-key")
		if !strings.HasPrefix(rotated, "pnb_") || rotated == key {
			t.Fatalf("the rotated key reads %q", rotated)
		}
		if r := cb.api(http.MethodGet, "/me/workspaces", key, nil); r.Status != http.StatusUnauthorized {
			t.Errorf("the old key after a rotation without grace: %d", r.Status)
		}
		if r := cb.api(http.MethodGet, "/me/workspaces", rotated, nil); r.Status != http.StatusOK {
			t.Errorf("the rotated key: %d", r.Status)
		}
		b.visit(page)
		if rows := b.text("#key-list tbody"); !strings.Contains(rows, "expired") {
			t.Errorf("the keys after rotation: %q", rows)
		}
		b.screenshot("service-account")

		// A member sees the list but cannot change it.
		if r := cb.get(acct + "/service-accounts"); r.Status != http.StatusOK || !strings.Contains(r.Body, "prod-worker") || strings.Contains(r.Body, `id="create-service-account"`) {
			t.Errorf("the list as a member: %d", r.Status)
		}
		saID := page[strings.LastIndex(page, "/")+1:]
		for _, p := range []string{acct + "/service-accounts", page + "/rotate", page + "/delete"} {
			if r := cb.postCSRF(p, url.Values{"name": {"x"}, "grace": {"0"}}); r.Status != http.StatusForbidden {
				t.Errorf("a member posts %s: %d", p, r.Status)
			}
		}
		// It never signs in.
		if r := ts.newClient(t).postCSRF("/signin", url.Values{"email": {"sa-" + saID + "@service-accounts.invalid"}, "password": {alice.Password}}); r.Status != http.StatusUnauthorized {
			t.Errorf("signing in as the service account: %d", r.Status)
		}

		// A team raises bob's role in Prod, and leaving it lowers it.
		b.visit(acct + "/teams")
		b.submit("#create-team", map[string]string{"name": "builders", "description": "ship it"})
		teamPage := b.path()
		b.submit("#add-team-member", map[string]string{"user_id": memberID(t, ca, acct, bob.Email)})
		b.submit(`#workspace-roles tr[data-workspace="prod"] form`, map[string]string{"role": "developer"})
		if r := cb.get(ws.path("/settings")); r.Status != http.StatusOK {
			t.Errorf("bob's settings page of Prod through the team: %d", r.Status)
		}
		if members := b.text("#team-members"); !strings.Contains(members, bob.Name) {
			t.Errorf("team members %q", members)
		}
		b.screenshot("team")
		b.visit(acct + "/teams")
		b.screenshot("teams")
		b.visit(teamPage)
		b.submit(`#team-members tbody tr form`, nil)
		if r := cb.get(ws.path("/settings")); r.Status != http.StatusNotFound {
			t.Errorf("bob's settings page of Prod after leaving the team: %d", r.Status)
		}

		// Deleting the service account revokes its key.
		b.visit(page)
		b.submit(`form[action$="/delete"]`, nil)
		b.dialog()
		if r := cb.api(http.MethodGet, "/me/workspaces", rotated, nil); r.Status != http.StatusUnauthorized {
			t.Errorf("the key of a deleted service account: %d", r.Status)
		}
	})
}

// memberID is the user id of the account member with email, from the account
// members page's forms.
func memberID(t *testing.T, c *client, acct, email string) string {
	t.Helper()
	body := c.get(acct + "/members").Body
	_, row, ok := strings.Cut(body, `data-email="`+email+`"`)
	if !ok {
		t.Fatalf("%s is not on the members page", email)
	}
	_, rest, _ := strings.Cut(row, acct+"/members/")
	id, _, _ := strings.Cut(rest, "/")
	return id
}
