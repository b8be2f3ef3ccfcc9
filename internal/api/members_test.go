package api

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/roles"
)

// accountRoles reads an account's members as user id → role, through the
// API with c's key.
func accountRoles(t *testing.T, c *testServer, accountID string) map[string]string {
	t.Helper()
	roles := map[string]string{}
	for _, m := range c.do("GET", "/accounts/"+accountID+"/members/", nil).expect(http.StatusOK).list() {
		roles[m["id"].(string)] = m["role"].(string)
	}
	return roles
}

// An admin cannot demote or remove an owner by any route: adding someone who
// already is a member is a role change, with the same rules.
func TestAdminCannotDemoteOwner(t *testing.T) {
	forEachEngineWith(t, closedServer, func(t *testing.T, ts *testServer) {
		alice, bob := newTenant(t, ts, "alice"), newTenant(t, ts, "bob")
		members := "/accounts/" + alice.accountID + "/members/"
		join(t, alice, bob, "admin")
		snapshot := func() string { return normJSON(t, accountRoles(t, alice.client, alice.accountID)) }
		expectRefused(t, bob.client, snapshot, []refused{
			{"POST", members, `{"email":"alice@example.com","role":"member"}`, http.StatusForbidden, ""},
			{"POST", members, `{"email":"ALICE@example.com ","role":"admin"}`, http.StatusForbidden, ""},
			{"PATCH", members + alice.userID.String(), `{"role":"member"}`, http.StatusForbidden, ""},
			{"DELETE", members + alice.userID.String(), "", http.StatusForbidden, ""},
			// Nor make himself an owner.
			{"POST", members, `{"email":"bob@example.com","role":"owner"}`, http.StatusForbidden, ""},
		})
		// The last owner cannot step down through the add route either.
		expectRefused(t, alice.client, snapshot, []refused{
			{"POST", members, `{"email":"alice@example.com","role":"admin"}`, http.StatusConflict, ""},
			{"DELETE", members + alice.userID.String(), "", http.StatusConflict, ""},
		})
		// An owner changes a member's role through the add route; it answers
		// 200, since nobody was added.
		m := alice.client.do("POST", members, map[string]any{"email": "bob@example.com", "role": "owner"}).expect(http.StatusOK).object()
		if m["id"] != bob.userID.String() || m["role"] != "owner" {
			t.Fatalf("the changed member: %v", m)
		}
		alice.client.do("POST", members, map[string]any{"email": "alice@example.com", "role": "member"}).expect(http.StatusOK)
		if got := accountRoles(t, bob.client, alice.accountID); got[alice.userID.String()] != "member" || got[bob.userID.String()] != "owner" {
			t.Fatalf("roles after the hand-over: %v", got)
		}
	})
}

// Owners demoting one another all at once: at least one owner remains, and
// every answer agrees with the final state.
func TestConcurrentOwnerDemotions(t *testing.T) {
	forEachEngineWith(t, closedServer, func(t *testing.T, ts *testServer) {
		const n = 8
		owners := make([]*tenant, n)
		for i := range owners {
			owners[i] = newTenant(t, ts, fmt.Sprintf("owner%d", i))
		}
		acct := owners[0].accountID
		members := "/accounts/" + acct + "/members/"
		for _, o := range owners[1:] {
			join(t, owners[0], o, "owner")
		}
		emails := make([]string, n)
		for i, o := range owners {
			emails[i] = o.email()
		}
		type demotion struct{ actor, target, status int }
		for round := range 6 {
			// Everyone is an owner again; then every owner demotes everyone,
			// themselves included, at once, half through the role route and
			// half through the add route.
			current := accountRoles(t, owners[0].client, acct)
			var survivor *tenant
			for _, o := range owners {
				if current[o.userID.String()] == roles.AccountOwner {
					survivor = o
				}
			}
			for _, o := range owners {
				if current[o.userID.String()] != roles.AccountOwner {
					survivor.client.do("PATCH", members+o.userID.String(), map[string]any{"role": "owner"}).expect(http.StatusNoContent)
				}
			}
			var demotions []*demotion
			for i := range owners {
				for j := range owners {
					demotions = append(demotions, &demotion{actor: i, target: j})
				}
			}
			start := make(chan struct{})
			var wg sync.WaitGroup
			for k, d := range demotions {
				wg.Go(func() {
					c := owners[d.actor].client.in(t)
					<-start
					if k%2 == 0 {
						d.status = c.do("PATCH", members+owners[d.target].userID.String(), map[string]any{"role": "member"}).Status
					} else {
						d.status = c.do("POST", members, map[string]any{"email": emails[d.target], "role": "member"}).Status
					}
				})
			}
			close(start)
			wg.Wait()
			final := accountRoles(t, owners[0].client, acct)
			isOwner := func(i int) bool { return final[owners[i].userID.String()] == roles.AccountOwner }
			left := 0
			for i := range owners {
				if isOwner(i) {
					left++
				}
			}
			counts := map[int]int{}
			for _, d := range demotions {
				counts[d.status]++
				switch d.status {
				case http.StatusNoContent, http.StatusOK:
					if isOwner(d.target) {
						t.Errorf("round %d: owner%d's demotion of owner%d succeeded, but they are an owner", round, d.actor, d.target)
					}
				case http.StatusConflict: // the target was the last owner
					if !isOwner(d.target) {
						t.Errorf("round %d: owner%d was told owner%d is the last owner, but they are not an owner", round, d.actor, d.target)
					}
				case http.StatusForbidden: // the actor had been demoted first
					if isOwner(d.actor) {
						t.Errorf("round %d: owner%d was refused as a non-owner, but is an owner", round, d.actor)
					}
				default:
					t.Errorf("round %d: owner%d's demotion of owner%d answered %d", round, d.actor, d.target, d.status)
				}
			}
			t.Logf("round %d: answers %v, %d owners left", round, counts, left)
			if left == 0 {
				t.Fatalf("round %d: the account has no owner left", round)
			}
		}
	})
}

// email is the tenant's sign-up email (newTenant's rule).
func (tn *tenant) email() string {
	u, err := tn.client.store.GetUser(tn.client.t.Context(), tn.userID)
	if err != nil {
		tn.client.t.Fatal(err)
	}
	return u.Email
}

// A workspace owner adds only members of the workspace's account, and the
// refusal is the same whether the user exists or not.
func TestWorkspaceMembersComeFromTheAccount(t *testing.T) {
	forEachEngineWith(t, closedServer, func(t *testing.T, ts *testServer) {
		alice, bob := newTenant(t, ts, "alice"), newTenant(t, ts, "bob")
		wsMembers := alice.base() + "/members/"
		snapshot := func() string {
			return normJSON(t, alice.client.do("GET", wsMembers, nil).expect(http.StatusOK).list())
		}
		const notInAccount = "No member of this workspace's account has that id or email: add them to the account first."
		before := snapshot()
		for _, id := range []string{bob.userID.String(), uuid.NewString()} {
			resp := alice.client.do("PUT", wsMembers+id, map[string]any{"role": "viewer"}).expect(http.StatusNotFound)
			if d := resp.detail(); d != notInAccount {
				t.Errorf("PUT %s: detail %q, want %q", id, d, notInAccount)
			}
		}
		if snapshot() != before {
			t.Fatal("a refused PUT changed the workspace's members")
		}
		bob.client.do("POST", alice.base()+"/flows/filter", nil).expect(http.StatusNotFound)
		// Once bob is in alice's account, he can be given a role.
		join(t, alice, bob, "member")
		alice.client.do("PUT", wsMembers+bob.userID.String(), map[string]any{"role": "viewer"}).expect(http.StatusNoContent)
		bob.client.do("POST", alice.base()+"/flows/filter", nil).expect(http.StatusOK)
		// Removed from the account, he is out of its workspaces too, and
		// cannot be put back in.
		alice.client.do("DELETE", "/accounts/"+alice.accountID+"/members/"+bob.userID.String(), nil).expect(http.StatusNoContent)
		bob.client.do("POST", alice.base()+"/flows/filter", nil).expect(http.StatusNotFound)
		alice.client.do("PUT", wsMembers+bob.userID.String(), map[string]any{"role": "viewer"}).expect(http.StatusNotFound)
	})
}

// A key minted with a key never outlives it.
func TestKeyCannotOutliveItsParent(t *testing.T) {
	forEachEngineWith(t, closedServer, func(t *testing.T, ts *testServer) {
		alice := newTenant(t, ts, "alice")
		parentExpiry := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
		parent := alice.client.do("POST", "/me/api_keys", map[string]any{"name": "parent", "expiration": parentExpiry}).expect(http.StatusCreated).object()
		pc := ts.as(parent["key"].(string))
		pc.do("GET", "/me/", nil).expect(http.StatusOK) // records its first use before the snapshot
		expiry := func(k map[string]any) time.Time {
			t.Helper()
			s, ok := k["expiration"].(string)
			if !ok {
				t.Fatalf("key %v has no expiration", k["name"])
			}
			e, err := time.Parse(time.RFC3339Nano, s)
			check(t, err)
			return e
		}
		snapshot := func() string {
			return normJSON(t, alice.client.do("GET", "/me/api_keys", nil).expect(http.StatusOK).list())
		}
		expectRefused(t, pc, snapshot, []refused{
			{"POST", "/me/api_keys", `{"name":"later","expiration":"` + parentExpiry.Add(time.Minute).Format(time.RFC3339) + `"}`, http.StatusUnprocessableEntity, ""},
			{"POST", "/me/api_keys", `{"name":"much later","expiration":"2999-01-01T00:00:00Z"}`, http.StatusUnprocessableEntity, ""},
		})
		// Without an expiration the child expires with its parent; an
		// earlier one is kept.
		if got := expiry(pc.do("POST", "/me/api_keys", map[string]any{"name": "child"}).expect(http.StatusCreated).object()); !got.Equal(parentExpiry) {
			t.Errorf("a child without an expiration expires at %s, want its parent's %s", got, parentExpiry)
		}
		early := parentExpiry.Add(-time.Minute)
		if got := expiry(pc.do("POST", "/me/api_keys", map[string]any{"name": "early", "expiration": early}).expect(http.StatusCreated).object()); !got.Equal(early) {
			t.Errorf("a child asked to expire at %s expires at %s", early, got)
		}
		// A key that never expires mints keys that never expire.
		if k := alice.client.do("POST", "/me/api_keys", map[string]any{"name": "forever"}).expect(http.StatusCreated).object(); k["expiration"] != nil {
			t.Errorf("a key minted by a key without expiry expires at %v", k["expiration"])
		}
	})
}

// The handles the server uses for its default account and workspace are
// nobody else's.
func TestReservedHandlesRefused(t *testing.T) {
	forEachEngineWith(t, closedServer, func(t *testing.T, ts *testServer) {
		alice := newTenant(t, ts, "alice")
		snapshot := func() string {
			return normJSON(t, alice.client.do("GET", "/me/workspaces", nil).expect(http.StatusOK).list())
		}
		ws := "/accounts/" + alice.accountID + "/workspaces/"
		expectRefused(t, alice.client, snapshot, []refused{
			{"POST", ws, `{"name":"Default"}`, http.StatusUnprocessableEntity, ""},
			{"POST", ws, `{"name":"Prod","handle":"default"}`, http.StatusUnprocessableEntity, ""},
			{"PATCH", ws + alice.workspace, `{"handle":"default"}`, http.StatusUnprocessableEntity, ""},
		})
		users := func() string {
			_, _, err := ts.store.GetUserByEmail(t.Context(), "default@example.com")
			_, _, err2 := ts.store.GetUserByEmail(t.Context(), "carol@example.com")
			return fmt.Sprint(err != nil, err2 != nil)
		}
		expectRefused(t, ts, users, []refused{
			{"POST", "/users/", `{"email":"default@example.com","password":"` + testPassword + `"}`, http.StatusUnprocessableEntity, ""},
			{"POST", "/users/", `{"email":"carol@example.com","password":"` + testPassword + `","account_handle":"default"}`, http.StatusUnprocessableEntity, ""},
		})
		// The server's own default workspace is still served, under its handle.
		if d, err := ts.store.DefaultWorkspace(t.Context()); err != nil || d.Handle != "default" || d.AccountHandle != "default" {
			t.Fatalf("default workspace: %+v %v", d, err)
		}
	})
}
