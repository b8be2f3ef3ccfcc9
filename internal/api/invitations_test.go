package api

import (
	"encoding/json"
	"net/http"
	"path"
	"sync/atomic"
	"testing"
	"time"

	"github.com/praetorhq/praetor/internal/tenancy"
)

// join has inviter invite invitee to inviter's account as role, and the
// invitee accept: the only way anyone joins an account.
func join(t *testing.T, inviter, invitee *tenant, role string) {
	t.Helper()
	inv := inviter.client.do("POST", "/accounts/"+inviter.accountID+"/members/", map[string]any{"email": invitee.email(), "role": role}).
		expect(http.StatusAccepted).object()
	invitee.client.do("POST", "/invitations/accept", map[string]any{"token": path.Base(inv["url"].(string))}).expect(http.StatusOK)
}

// inviteIn has tn invite email to tn's account with body's other fields and
// returns the invitation's id and token.
func inviteIn(t *testing.T, tn *tenant, body map[string]any) (id, token string) {
	t.Helper()
	inv := tn.client.do("POST", "/accounts/"+tn.accountID+"/invitations/", body).expect(http.StatusCreated).object()
	if _, leaked := inv["token_hash"]; leaked || inv["mailed"] != false {
		t.Errorf("the created invitation: %v", inv)
	}
	return inv["id"].(string), path.Base(inv["url"].(string))
}

// Invitations over HTTP: invite (with a workspace role), accept by the
// invited email only, once; revoke (the link then fails); expire; and
// every refused request leaves the database as it was.
func TestInvitations(t *testing.T) {
	var past atomic.Bool // invitations made a week and a day ago
	configure := func(c *Config) {
		c.Anonymous = false
		c.Invitations = &tenancy.Invitations{Store: c.Store, Logger: c.Logger, Now: func() time.Time {
			if past.Load() {
				return time.Now().Add(-tenancy.InvitationLifetime - 24*time.Hour)
			}
			return time.Now()
		}}
	}
	forEachEngineWith(t, configure, func(t *testing.T, ts *testServer) {
		alice, mallory := newTenant(t, ts, "alice"), newTenant(t, ts, "mallory")
		invitations := "/accounts/" + alice.accountID + "/invitations/"
		snapshot := func() string { return databaseText(t, ts) }
		body := func(v map[string]any) string {
			b, _ := json.Marshal(v)
			return string(b)
		}
		expectRefused(t, alice.client, snapshot, []refused{
			{"POST", invitations, body(map[string]any{"email": "not an email"}), http.StatusUnprocessableEntity, ""},
			{"POST", invitations, body(map[string]any{"email": "carol@example.com", "role": "boss"}), http.StatusUnprocessableEntity, ""},
			{"POST", invitations, body(map[string]any{"email": "carol@example.com", "workspaces": []any{map[string]any{"workspace_id": mallory.workspace, "role": "viewer"}}}),
				http.StatusUnprocessableEntity, ""},
			{"POST", invitations, body(map[string]any{"email": "carol@example.com", "workspaces": []any{map[string]any{"workspace_id": alice.workspace, "role": "god"}}}),
				http.StatusUnprocessableEntity, ""},
			{"POST", invitations, body(map[string]any{"email": "alice@example.com"}), http.StatusConflict, ""},
		})
		expectRefused(t, mallory.client, snapshot, []refused{
			{"POST", invitations, body(map[string]any{"email": "mallory@example.com", "role": "owner"}), http.StatusNotFound, ""},
			{"GET", invitations, "", http.StatusNotFound, ""},
		})

		_, token := inviteIn(t, alice, map[string]any{"email": "Carol@Example.com ", "workspaces": []any{map[string]any{"workspace_id": alice.workspace, "role": "viewer"}}})
		alice.client.do("POST", invitations, map[string]any{"email": "carol@example.com"}).expect(http.StatusConflict)
		if list := alice.client.do("GET", invitations, nil).expect(http.StatusOK).list(); len(list) != 1 || list[0]["email"] != "carol@example.com" || list[0]["role"] != "member" {
			t.Fatalf("open invitations: %v", list)
		}
		// Another user holding the link cannot accept it, nor can a wrong
		// token.
		expectRefused(t, mallory.client, snapshot, []refused{
			{"POST", "/invitations/accept", body(map[string]any{"token": token}), http.StatusForbidden, ""},
			{"POST", "/invitations/accept", body(map[string]any{"token": token + "x"}), http.StatusNotFound, ""},
			{"POST", "/invitations/accept", body(map[string]any{}), http.StatusUnprocessableEntity, ""},
		})

		// The invitee registers and accepts: the roles are theirs, once.
		carol := newTenant(t, ts, "carol")
		inv := carol.client.do("POST", "/invitations/accept", map[string]any{"token": token}).expect(http.StatusOK).object()
		if inv["account_id"] != alice.accountID {
			t.Errorf("accepted %v", inv)
		}
		if got := accountRoles(t, alice.client, alice.accountID)[carol.userID.String()]; got != "member" {
			t.Errorf("carol's account role %q, want member", got)
		}
		var viewer bool
		for _, w := range carol.client.do("GET", "/me/workspaces", nil).expect(http.StatusOK).list() {
			viewer = viewer || w["workspace_id"] == alice.workspace && w["role"] == "viewer"
		}
		if !viewer {
			t.Errorf("carol is not a viewer of alice's workspace")
		}
		carol.client.do("POST", "/invitations/accept", map[string]any{"token": token}).expect(http.StatusNotFound)
		if list := alice.client.do("GET", invitations, nil).expect(http.StatusOK).list(); len(list) != 0 {
			t.Errorf("open invitations after the acceptance: %v", list)
		}

		// A plain member neither invites, lists nor revokes.
		daveID, daveToken := inviteIn(t, alice, map[string]any{"email": "dave@example.com", "role": "admin"})
		expectRefused(t, carol.client, snapshot, []refused{
			{"POST", invitations, body(map[string]any{"email": "erin@example.com"}), http.StatusForbidden, ""},
			{"GET", invitations, "", http.StatusForbidden, ""},
			{"DELETE", invitations + daveID, "", http.StatusForbidden, ""},
		})
		// A revoked invitation's link fails.
		alice.client.do("DELETE", invitations+daveID, nil).expect(http.StatusNoContent)
		alice.client.do("DELETE", invitations+daveID, nil).expect(http.StatusNotFound)
		dave := newTenant(t, ts, "dave")
		dave.client.do("POST", "/invitations/accept", map[string]any{"token": daveToken}).expect(http.StatusNotFound)

		// So does an expired one.
		past.Store(true)
		_, erinToken := inviteIn(t, alice, map[string]any{"email": "erin@example.com"})
		past.Store(false)
		erin := newTenant(t, ts, "erin")
		erin.client.do("POST", "/invitations/accept", map[string]any{"token": erinToken}).expect(http.StatusConflict)
		for _, who := range []*tenant{dave, erin, mallory} {
			if role := accountRoles(t, alice.client, alice.accountID)[who.userID.String()]; role != "" {
				t.Errorf("%s joined as %q", who.email(), role)
			}
		}

		// An admin invites, but not owners.
		alice.client.do("PATCH", "/accounts/"+alice.accountID+"/members/"+carol.userID.String(), map[string]any{"role": "admin"}).expect(http.StatusNoContent)
		carol.client.do("POST", invitations, map[string]any{"email": "frank@example.com", "role": "owner"}).expect(http.StatusForbidden)
		carol.client.do("POST", invitations, map[string]any{"email": "frank@example.com", "role": "admin"}).expect(http.StatusCreated)
	})
}
