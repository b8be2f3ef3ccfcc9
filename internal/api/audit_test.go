package api

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// auditEvents reads an account's audit log with c's key, oldest first, as
// "event actor-kind:actor-email target-name".
func auditEvents(t *testing.T, c *testServer, accountID string) []string {
	t.Helper()
	var out []string
	for _, e := range c.do("GET", "/accounts/"+accountID+"/audit_log?limit=200", nil).expect(http.StatusOK).list() {
		out = append(out, fmt.Sprintf("%s %s:%s %s", e["event"], e["actor_kind"], e["actor_email"], e["target_name"]))
	}
	slices.Reverse(out)
	return out
}

// Service accounts and teams over HTTP: each change is recorded once, with
// its target, and a service account acting with its pnb_ key is recorded as
// one; refused changes record nothing.
func TestAuditLogRecordsServiceAccountsAndTeams(t *testing.T) {
	forEachEngineWith(t, closedServer, func(t *testing.T, ts *testServer) {
		alice, bob := newTenant(t, ts, "alice"), newTenant(t, ts, "bob")
		a, acct := alice.client, "/accounts/"+alice.accountID
		join(t, alice, bob, "member")
		before := len(auditEvents(t, a, alice.accountID))

		created := a.do("POST", acct+"/bots/", map[string]any{"name": "deployer"}).expect(http.StatusCreated).object()
		id, key := created["id"].(string), created["api_key"].(map[string]any)["key"].(string)
		a.do("POST", acct+"/bots/", map[string]any{"name": "deployer"}).expect(http.StatusConflict)
		bob.client.do("DELETE", acct+"/bots/"+id, nil).expect(http.StatusForbidden)
		a.do("PUT", acct+"/bots/"+id+"/workspaces/"+alice.workspace, map[string]any{"role": "owner"}).expect(http.StatusNoContent)
		ts.as(key).do("PATCH", acct+"/workspaces/"+alice.workspace, map[string]any{"description": "by the bot"}).expect(http.StatusOK)
		a.do("POST", acct+"/bots/"+id+"/rotate_api_key", map[string]any{"grace_period_seconds": 60}).expect(http.StatusCreated)
		a.do("PATCH", acct+"/bots/"+id, map[string]any{"name": "worker-1"}).expect(http.StatusNoContent)
		a.do("DELETE", acct+"/bots/"+id+"/workspaces/"+alice.workspace, nil).expect(http.StatusNoContent)

		team := a.do("POST", acct+"/teams/", map[string]any{"name": "crew"}).expect(http.StatusCreated).object()["id"].(string)
		a.do("PATCH", acct+"/teams/"+team, map[string]any{"name": "crew", "description": "the crew"}).expect(http.StatusOK)
		a.do("PUT", acct+"/teams/"+team+"/members/"+bob.userID.String(), nil).expect(http.StatusNoContent)
		a.do("PUT", acct+"/teams/"+team+"/members/"+bob.userID.String(), nil).expect(http.StatusNoContent) // already in: no change
		a.do("PUT", acct+"/teams/"+team+"/workspaces/"+alice.workspace, map[string]any{"role": "runner"}).expect(http.StatusNoContent)
		a.do("DELETE", acct+"/teams/"+team+"/workspaces/"+alice.workspace, nil).expect(http.StatusNoContent)
		a.do("DELETE", acct+"/teams/"+team+"/members/"+bob.userID.String(), nil).expect(http.StatusNoContent)
		a.do("DELETE", acct+"/teams/"+team, nil).expect(http.StatusNoContent)
		a.do("DELETE", acct+"/bots/"+id, nil).expect(http.StatusNoContent)

		got := auditEvents(t, a, alice.accountID)[before:]
		sa := "sa-" + id + "@service-accounts.invalid"
		owner := "user:alice@example.com"
		want := []string{
			"service-account.created " + owner + " deployer",
			"workspace-member.role-changed " + owner + " " + sa,
			"workspace.updated service-account:" + sa + " alice-prod",
			"api-key.rotated " + owner + " rotated",
			"service-account.updated " + owner + " worker-1",
			"workspace-member.removed " + owner + " " + sa,
			"team.created " + owner + " crew",
			"team.updated " + owner + " crew",
			"team-member.added " + owner + " bob@example.com",
			"team.workspace-role-changed " + owner + " crew",
			"team.workspace-role-changed " + owner + " crew",
			"team-member.removed " + owner + " bob@example.com",
			"team.deleted " + owner + " crew",
			"service-account.deleted " + owner + " worker-1",
		}
		// A rotated key is named as the rotation names it.
		for i, g := range got {
			if strings.HasPrefix(g, "api-key.rotated ") {
				got[i] = g[:strings.LastIndex(g, " ")] + " rotated"
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("the audit log has\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}
