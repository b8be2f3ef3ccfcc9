package api

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/auth"
	"github.com/praetorhq/praetor/internal/clock"
	"github.com/praetorhq/praetor/internal/roles"
	"github.com/praetorhq/praetor/internal/tenancy"
)

// builtInRoles are the workspace roles an owner can give.
var builtInRoles = []string{roles.WorkspaceOwner, roles.WorkspaceDeveloper, roles.WorkspaceRunner, roles.WorkspaceViewer, roles.WorkspaceWorker}

// For every built-in role, held as a member's own and through a team, every
// workspace route answers as the permission it was registered with says:
// refused with Prefect's 403 exactly when auth.Can denies it. The
// expectations come from the route table, not a copy of it.
func TestRolesMatchTheirPermissions(t *testing.T) {
	forEachEngineWith(t, closedServer, func(t *testing.T, ts *testServer) {
		alice, bob := newTenant(t, ts, "alice"), newTenant(t, ts, "bob")
		a, acct := alice.client, "/accounts/"+alice.accountID
		join(t, alice, bob, "member")
		team := a.do("POST", acct+"/teams/", map[string]any{"name": "crew"}).expect(http.StatusCreated).object()["id"].(string)
		a.do("PUT", acct+"/teams/"+team+"/members/"+bob.userID.String(), nil).expect(http.StatusNoContent)

		table := New(Config{Store: ts.store})
		table.Register(http.NewServeMux())
		param := regexp.MustCompile(`\{[^}]+\}`)
		for _, role := range builtInRoles {
			for _, through := range []string{"own", "team"} {
				if through == "own" {
					a.do("PUT", alice.base()+"/members/"+bob.userID.String(), map[string]any{"role": role}).expect(http.StatusNoContent)
				} else {
					a.do("DELETE", alice.base()+"/members/"+bob.userID.String(), nil).expect(http.StatusNoContent)
					a.do("PUT", acct+"/teams/"+team+"/workspaces/"+alice.workspace, map[string]any{"role": role}).expect(http.StatusNoContent)
				}
				checked := 0
				for _, rt := range table.table {
					if rt.perm == public {
						continue
					}
					if rt.socket {
						checkSocketRole(t, ts, alice.base()+rt.path, bob.key, role+" ("+through+")", rt.perm, auth.Can(role, rt.perm))
						checked++
						continue
					}
					// Ids nobody has: an allowed request finds nothing to
					// change.
					path := param.ReplaceAllStringFunc(rt.path, func(string) string { return uuid.NewString() })
					var body any
					if rt.method != "GET" && rt.method != "DELETE" {
						body = "{}"
					}
					resp := bob.client.do(rt.method, alice.base()+path, body)
					refused := resp.Status == http.StatusForbidden
					// An allowed request reaches its handler: not the
					// resolver's 404 for a caller without a role.
					unreached := resp.Status == http.StatusUnauthorized || resp.Status == http.StatusNotFound && strings.Contains(string(resp.Body), `"Workspace not found"`)
					if want := !auth.Can(role, rt.perm); refused != want || unreached {
						t.Errorf("%s (%s) %s %s needs %s: %d %s", role, through, rt.method, rt.path, rt.perm, resp.Status, resp.Body)
					} else if refused && !strings.Contains(resp.detail(), string(rt.perm)) {
						t.Errorf("%s (%s) %s %s: refusal %s", role, through, rt.method, rt.path, resp.Body)
					}
					checked++
				}
				if checked < 100 {
					t.Fatalf("only %d routes checked", checked)
				}
			}
			a.do("DELETE", acct+"/teams/"+team+"/workspaces/"+alice.workspace, nil).expect(http.StatusNoContent)
		}
	})
}

// checkSocketRole opens the websocket at path with key, both ways the
// Prefect client sends one, and checks that it is let in exactly when
// allowed: with the key on the upgrade, a refusal is the 403 naming perm
// before any upgrade; with the key in the auth frame, the handshake ends
// without auth_success.
func checkSocketRole(t *testing.T, ts *testServer, path, key, who string, perm auth.Permission, allowed bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, wsURL(ts, path), &websocket.DialOptions{Subprotocols: []string{"prefect"},
		HTTPHeader: http.Header{"Authorization": {"Bearer " + key}}})
	switch {
	case allowed && err != nil:
		t.Errorf("%s: %s with the key on the upgrade: %v", who, path, err)
	case allowed:
		frame, _ := json.Marshal(map[string]any{"type": "auth", "token": key})
		check(t, conn.Write(ctx, websocket.MessageText, frame))
		if _, msg, err := conn.Read(ctx); err != nil || !strings.Contains(string(msg), "auth_success") {
			t.Errorf("%s: %s with the key on the upgrade: handshake %s (%v)", who, path, msg, err)
		}
		conn.CloseNow()
	case err == nil:
		conn.CloseNow()
		t.Errorf("%s: %s was upgraded with a key without %s", who, path, perm)
	default:
		var body struct{ Detail string }
		if resp == nil || resp.StatusCode != http.StatusForbidden || json.NewDecoder(resp.Body).Decode(&body) != nil || !strings.Contains(body.Detail, string(perm)) {
			t.Errorf("%s: %s with a key without %s: %v, want a 403 naming it", who, path, perm, err)
		}
	}
	conn, err = dialEvents(t, ts, path, key)
	if err == nil {
		conn.CloseNow()
	}
	if (err == nil) != allowed {
		t.Errorf("%s: %s with the key in the auth frame: %v, want let in: %v", who, path, err, allowed)
	}
}

// A team's role raises its members' effective role; leaving the team (or
// the team losing the role) lowers it again, at once.
func TestTeamRoleRaisesAndLowers(t *testing.T) {
	forEachEngineWith(t, closedServer, func(t *testing.T, ts *testServer) {
		alice, bob := newTenant(t, ts, "alice"), newTenant(t, ts, "bob")
		a, acct, ab := alice.client, "/accounts/"+alice.accountID, alice.base()
		join(t, alice, bob, "member")
		a.do("PUT", ab+"/members/"+bob.userID.String(), map[string]any{"role": "viewer"}).expect(http.StatusNoContent)
		b := bob.client
		b.do("POST", ab+"/flows/", map[string]any{"name": "f"}).expect(http.StatusForbidden)
		// Members see teams but only owners and admins change them.
		b.do("POST", acct+"/teams/", map[string]any{"name": "mine"}).expect(http.StatusForbidden)
		team := a.do("POST", acct+"/teams/", map[string]any{"name": "devs", "description": "they build"}).expect(http.StatusCreated).object()["id"].(string)
		a.do("POST", acct+"/teams/", map[string]any{"name": "devs"}).expect(http.StatusConflict)
		a.do("PUT", acct+"/teams/"+team+"/workspaces/"+alice.workspace, map[string]any{"role": "boss"}).expect(http.StatusUnprocessableEntity)
		a.do("PUT", acct+"/teams/"+team+"/workspaces/"+bob.workspace, map[string]any{"role": "owner"}).expect(http.StatusNotFound)
		a.do("PUT", acct+"/teams/"+team+"/workspaces/"+alice.workspace, map[string]any{"role": "developer"}).expect(http.StatusNoContent)
		stranger := newTenant(t, ts, "carol")
		a.do("PUT", acct+"/teams/"+team+"/members/"+stranger.userID.String(), nil).expect(http.StatusNotFound)
		if got := b.do("GET", acct+"/teams/", nil).expect(http.StatusOK).list(); len(got) != 1 || got[0]["name"] != "devs" {
			t.Fatalf("teams listed to a member: %v", got)
		}

		a.do("PUT", acct+"/teams/"+team+"/members/"+bob.userID.String(), nil).expect(http.StatusNoContent)
		b.do("POST", ab+"/flows/", map[string]any{"name": "f"}).expect(http.StatusCreated)
		if mine := b.do("GET", "/me/workspaces", nil).expect(http.StatusOK).list(); !hasWorkspace(mine, alice.workspace, "developer") {
			t.Errorf("/me/workspaces with the team's role: %v", mine)
		}
		detail := a.do("GET", acct+"/teams/"+team, nil).expect(http.StatusOK).object()
		if m := detail["members"].([]any); len(m) != 1 || m[0].(map[string]any)["id"] != bob.userID.String() {
			t.Errorf("team members %v", detail["members"])
		}
		a.do("DELETE", acct+"/teams/"+team+"/members/"+bob.userID.String(), nil).expect(http.StatusNoContent)
		b.do("POST", ab+"/flows/", map[string]any{"name": "g"}).expect(http.StatusForbidden)
		if mine := b.do("GET", "/me/workspaces", nil).expect(http.StatusOK).list(); !hasWorkspace(mine, alice.workspace, "viewer") {
			t.Errorf("/me/workspaces after leaving the team: %v", mine)
		}
		// A team role alone gives access, and deleting the team takes it.
		a.do("DELETE", ab+"/members/"+bob.userID.String(), nil).expect(http.StatusNoContent)
		a.do("PUT", acct+"/teams/"+team+"/members/"+bob.userID.String(), nil).expect(http.StatusNoContent)
		b.do("POST", ab+"/flows/filter", nil).expect(http.StatusOK)
		a.do("DELETE", acct+"/teams/"+team, nil).expect(http.StatusNoContent)
		b.do("POST", ab+"/flows/filter", nil).expect(http.StatusNotFound)
	})
}

func hasWorkspace(list []map[string]any, id, role string) bool {
	for _, w := range list {
		if w["workspace_id"] == id {
			return w["role"] == role
		}
	}
	return false
}

// A service account's pnb_ key acts with its workspace role (a worker's
// here): it cannot read secret values or delete deployments. Rotation with a
// grace period keeps the old key working until the grace ends, and deleting
// the service account revokes every key at once.
func TestServiceAccountKeys(t *testing.T) {
	fake := clock.NewFake(time.Now())
	withClock := func(c *Config) {
		closedServer(c)
		c.Clock = fake
		c.Authn.SetClock(fake.Now)
	}
	forEachEngineWith(t, withClock, func(t *testing.T, ts *testServer) {
		alice, bob := newTenant(t, ts, "alice"), newTenant(t, ts, "bob")
		a, acct, ab := alice.client, "/accounts/"+alice.accountID, alice.base()
		join(t, alice, bob, "member")
		// Members list service accounts; only owners and admins make them.
		bob.client.do("POST", acct+"/bots/", map[string]any{"name": "mine"}).expect(http.StatusForbidden)
		a.do("POST", acct+"/bots/", map[string]any{"name": " "}).expect(http.StatusUnprocessableEntity)
		created := a.do("POST", acct+"/bots/", map[string]any{"name": "deployer"}).expect(http.StatusCreated).object()
		a.do("POST", acct+"/bots/", map[string]any{"name": "deployer"}).expect(http.StatusConflict)
		id := created["id"].(string)
		key := created["api_key"].(map[string]any)["key"].(string)
		if !strings.HasPrefix(key, auth.ServiceKeyPrefix) || created["api_key"].(map[string]any)["expiration"] != nil {
			t.Fatalf("created %v", created)
		}
		if got := bob.client.do("GET", acct+"/bots/", nil).expect(http.StatusOK).list(); len(got) != 1 || got[0]["name"] != "deployer" {
			t.Fatalf("listed to a member: %v", got)
		}
		// Its account role is not a person's to change, nor can it join
		// another account.
		a.do("PATCH", acct+"/members/"+id, map[string]any{"role": "admin"}).expect(http.StatusConflict)
		a.do("DELETE", acct+"/members/"+id, nil).expect(http.StatusConflict)
		sa := ts.as(key)
		sa.do("POST", ab+"/flows/filter", nil).expect(http.StatusNotFound)
		a.do("PUT", acct+"/bots/"+id+"/workspaces/"+alice.workspace, map[string]any{"role": "worker"}).expect(http.StatusNoContent)
		bob.client.do("PUT", acct+"/bots/"+id+"/workspaces/"+alice.workspace, map[string]any{"role": "owner"}).expect(http.StatusForbidden)
		sa.do("POST", "/me/api_keys", map[string]any{"name": "escape"}).expect(http.StatusForbidden)

		flow := a.do("POST", ab+"/flows/", map[string]any{"name": "f"}).expect(http.StatusCreated).object()["id"].(string)
		dep := a.do("POST", ab+"/deployments/", map[string]any{"name": "d", "flow_id": flow}).expect(http.StatusCreated).object()["id"].(string)
		fx := registerSecret(t, a, ab)
		doc := a.do("POST", ab+"/block_documents/", map[string]any{"name": "token", "data": map[string]any{"value": secretValue},
			"block_schema_id": fx.schemaID, "block_type_id": fx.typeID}).expect(http.StatusCreated).object()["id"].(string)
		sa.do("GET", ab+"/deployments/"+dep, nil).expect(http.StatusOK)
		if r := sa.do("DELETE", ab+"/deployments/"+dep, nil).expect(http.StatusForbidden); !strings.Contains(r.detail(), "delete:deployment") {
			t.Errorf("refusal %s", r.Body)
		}
		if body := sa.do("GET", ab+"/block_documents/"+doc+"?include_secrets=true", nil).expect(http.StatusOK).Body; strings.Contains(string(body), secretValue) {
			t.Errorf("a worker's key read the secret: %s", body)
		}

		// Rotation: the old key works for the grace, then only the new one.
		bob.client.do("POST", acct+"/bots/"+id+"/rotate_api_key", map[string]any{"grace_period_seconds": 10}).expect(http.StatusForbidden)
		a.do("POST", acct+"/bots/"+id+"/rotate_api_key", map[string]any{"grace_period_seconds": -1}).expect(http.StatusUnprocessableEntity)
		a.do("POST", acct+"/bots/"+id+"/rotate_api_key", map[string]any{"grace_period_seconds": 8 * 24 * 3600}).expect(http.StatusUnprocessableEntity)
		sa.do("GET", ab+"/deployments/"+dep, nil).expect(http.StatusOK)
		rotated := a.do("POST", acct+"/bots/"+id+"/rotate_api_key", map[string]any{"grace_period_seconds": 10}).expect(http.StatusCreated).object()
		next := ts.as(rotated["key"].(string))
		fake.Advance(9 * time.Second)
		sa.do("GET", ab+"/deployments/"+dep, nil).expect(http.StatusOK)
		next.do("GET", ab+"/deployments/"+dep, nil).expect(http.StatusOK)
		fake.Advance(2 * time.Second)
		if r := sa.do("GET", ab+"/deployments/"+dep, nil); r.Status != http.StatusUnauthorized || r.detail() != "Invalid authentication credentials" {
			t.Errorf("the old key after the grace: %d %s", r.Status, r.Body)
		}
		next.do("GET", ab+"/deployments/"+dep, nil).expect(http.StatusOK)
		if keys := a.do("GET", acct+"/bots/"+id, nil).expect(http.StatusOK).object()["api_keys"].([]any); len(keys) != 2 {
			t.Errorf("keys after rotation %v", keys)
		}
		// A rotation with no grace cuts the current key off at once.
		third := ts.as(a.do("POST", acct+"/bots/"+id+"/rotate_api_key", map[string]any{"grace_period_seconds": 0}).expect(http.StatusCreated).object()["key"].(string))
		next.do("GET", ab+"/deployments/"+dep, nil).expect(http.StatusUnauthorized)
		third.do("GET", ab+"/deployments/"+dep, nil).expect(http.StatusOK)

		a.do("PATCH", acct+"/bots/"+id, map[string]any{"name": "worker-1"}).expect(http.StatusNoContent)
		if got := a.do("GET", acct+"/bots/"+id, nil).expect(http.StatusOK).object(); got["name"] != "worker-1" {
			t.Errorf("renamed %v", got)
		}
		bob.client.do("DELETE", acct+"/bots/"+id, nil).expect(http.StatusForbidden)
		third.do("GET", ab+"/deployments/"+dep, nil).expect(http.StatusOK)
		a.do("DELETE", acct+"/bots/"+id, nil).expect(http.StatusNoContent)
		third.do("GET", ab+"/deployments/"+dep, nil).expect(http.StatusUnauthorized)
		a.do("GET", acct+"/bots/"+id, nil).expect(http.StatusNotFound)
		a.do("GET", ab+"/deployments/"+dep, nil).expect(http.StatusOK)
	})
}

// accountRouteNeeds is the account role each account route needs beyond
// membership: reading is every member's, changing is the owners' and
// admins' (tenancy.CanAdminAccount), and so are the invitations and the
// audit log, which name people who have not joined.
var accountRouteNeeds = map[string]string{
	"GET /api/accounts/{account_id}":                                      roles.AccountMember,
	"GET /api/accounts/{account_id}/workspaces/{$}":                       roles.AccountMember,
	"POST /api/accounts/{account_id}/workspaces/{$}":                      roles.AccountAdmin,
	"GET /api/accounts/{account_id}/members/{$}":                          roles.AccountMember,
	"POST /api/accounts/{account_id}/members/{$}":                         roles.AccountAdmin,
	"PATCH /api/accounts/{account_id}/members/{user_id}":                  roles.AccountAdmin,
	"DELETE /api/accounts/{account_id}/members/{user_id}":                 roles.AccountAdmin,
	"GET /api/accounts/{account_id}/invitations/{$}":                      roles.AccountAdmin,
	"POST /api/accounts/{account_id}/invitations/{$}":                     roles.AccountAdmin,
	"DELETE /api/accounts/{account_id}/invitations/{id}":                  roles.AccountAdmin,
	"GET /api/accounts/{account_id}/audit_log":                            roles.AccountAdmin,
	"GET /api/accounts/{account_id}/bots/{$}":                             roles.AccountMember,
	"POST /api/accounts/{account_id}/bots/{$}":                            roles.AccountAdmin,
	"GET /api/accounts/{account_id}/bots/{id}":                            roles.AccountMember,
	"PATCH /api/accounts/{account_id}/bots/{id}":                          roles.AccountAdmin,
	"DELETE /api/accounts/{account_id}/bots/{id}":                         roles.AccountAdmin,
	"POST /api/accounts/{account_id}/bots/{id}/rotate_api_key":            roles.AccountAdmin,
	"PUT /api/accounts/{account_id}/bots/{id}/workspaces/{workspace}":     roles.AccountAdmin,
	"DELETE /api/accounts/{account_id}/bots/{id}/workspaces/{workspace}":  roles.AccountAdmin,
	"GET /api/accounts/{account_id}/teams/{$}":                            roles.AccountMember,
	"POST /api/accounts/{account_id}/teams/{$}":                           roles.AccountAdmin,
	"GET /api/accounts/{account_id}/teams/{id}":                           roles.AccountMember,
	"PATCH /api/accounts/{account_id}/teams/{id}":                         roles.AccountAdmin,
	"DELETE /api/accounts/{account_id}/teams/{id}":                        roles.AccountAdmin,
	"PUT /api/accounts/{account_id}/teams/{id}/members/{user_id}":         roles.AccountAdmin,
	"DELETE /api/accounts/{account_id}/teams/{id}/members/{user_id}":      roles.AccountAdmin,
	"PUT /api/accounts/{account_id}/teams/{id}/workspaces/{workspace}":    roles.AccountAdmin,
	"DELETE /api/accounts/{account_id}/teams/{id}/workspaces/{workspace}": roles.AccountAdmin,
}

// For every account role, every route of the account family (members,
// invitations, audit log, service accounts, teams) is refused with 403
// exactly when the role is below what the route needs. The routes come from
// the registration, so a new account route without an entry above fails.
func TestAccountRoutesFollowTheAccountRole(t *testing.T) {
	forEachEngineWith(t, closedServer, func(t *testing.T, ts *testServer) {
		alice, bob := newTenant(t, ts, "alice"), newTenant(t, ts, "bob")
		join(t, alice, bob, roles.AccountMember)
		table := New(Config{Store: ts.store})
		table.Register(http.NewServeMux())
		param := regexp.MustCompile(`\{[^}$]+\}`)
		for _, role := range []string{roles.AccountMember, roles.AccountAdmin} {
			alice.client.do("PATCH", "/accounts/"+alice.accountID+"/members/"+bob.userID.String(), map[string]any{"role": role}).expect(http.StatusNoContent)
			checked := 0
			for _, rt := range table.cloud {
				if !rt.need.account {
					continue
				}
				needs, ok := accountRouteNeeds[rt.pattern]
				if !ok {
					t.Errorf("%s: no expected role in accountRouteNeeds", rt.pattern)
					continue
				}
				method, pattern, _ := strings.Cut(rt.pattern, " ")
				path := strings.TrimPrefix(strings.ReplaceAll(pattern, "{account_id}", alice.accountID), "/api")
				path = strings.ReplaceAll(param.ReplaceAllStringFunc(path, func(string) string { return uuid.NewString() }), "{$}", "")
				var body any
				if method != "GET" && method != "DELETE" {
					body = "{}"
				}
				resp := bob.client.do(method, path, body)
				refused := resp.Status == http.StatusForbidden
				want := needs == roles.AccountAdmin && !tenancy.CanAdminAccount(role)
				if refused != want || resp.Status == http.StatusUnauthorized || strings.Contains(string(resp.Body), `"Account not found"`) {
					t.Errorf("account %s: %s needs %s: %d %s", role, rt.pattern, needs, resp.Status, resp.Body)
				}
				checked++
			}
			if checked != len(accountRouteNeeds) {
				t.Errorf("%d account routes checked, %d expected", checked, len(accountRouteNeeds))
			}
		}
	})
}
