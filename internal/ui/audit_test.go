package ui_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/model"
)

// agent sends every request with a User-Agent of its own, so the audit log
// can be checked to record the one each client sent.
type agent struct {
	name string
	next http.RoundTripper
}

func (a agent) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", a.name)
	return a.next.RoundTrip(r)
}

// agentClient is a client of ts whose requests carry the User-Agent name.
func (ts *testServer) agentClient(t *testing.T, name string) *client {
	c := ts.newClient(t)
	c.hc.Transport = agent{name, http.DefaultTransport}
	return c
}

// auditLog reads an account's whole audit log, oldest first, with key.
func (c *client) auditLog(acctID, key string) []model.AuditEntry {
	c.t.Helper()
	r := c.api(http.MethodGet, "/accounts/"+acctID+"/audit_log?limit=200", key, nil)
	if r.Status != http.StatusOK {
		c.t.Fatalf("read the audit log: %d %s", r.Status, r.Body)
	}
	var list []model.AuditEntry
	r.decode(c.t, &list)
	slices.Reverse(list)
	return list
}

// A scripted session over real HTTP, through the pages and the API: every
// audited action appears in the account's log exactly once, with its actor,
// target, the client's address and User-Agent, in order; refused and
// unaudited requests add nothing; no route of the log or of the account
// alters or deletes an entry; a plain member may not read it.
func TestAuditLogRecordsASession(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		alice, bob, carol, dave := newUser("alice"), newUser("bob"), newUser("carol"), newUser("dave")
		ca, cb, cd := ts.agentClient(t, "alice-agent/1"), ts.agentClient(t, "bob-agent/1"), ts.agentClient(t, "dave-agent/1")
		type want struct{ event, actor, target, agent string }
		var wants []want
		expect := func(event, actor, target, agent string) { wants = append(wants, want{event, actor, target, agent}) }
		status := func(what string, r *response, code int) {
			t.Helper()
			if r.Status != code {
				t.Fatalf("%s: %d, want %d: %s", what, r.Status, code, r.Body)
			}
		}

		// Sign-ins, a failed one, a sign-out.
		ca.register(alice)
		expect("user.logged-in", alice.Email, alice.Email, "alice-agent/1")
		status("sign out", ca.postCSRF("/signout", nil), http.StatusSeeOther)
		expect("user.logged-out", alice.Email, alice.Email, "alice-agent/1")
		status("a wrong password", ca.postCSRF("/signin", url.Values{"email": {alice.Email}, "password": {"not it at all"}}), http.StatusUnauthorized)
		expect("user.login-failed", alice.Email, alice.Email, "alice-agent/1")
		ca.signIn(alice)
		expect("user.logged-in", alice.Email, alice.Email, "alice-agent/1")
		acct := ca.ownAccountID(alice)
		key := ca.createKey("audit")
		expect("api-key.created", alice.Email, "audit", "alice-agent/1")

		// Workspaces, through the API; a forwarding header changes no
		// recorded address, since the server is not behind a proxy it
		// trusts.
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, ts.URL+"/api/accounts/"+acct+"/workspaces/", strings.NewReader(`{"name": "Audited"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("X-Forwarded-For", "203.0.113.9")
		created := ca.do(req)
		status("create a workspace", created, http.StatusCreated)
		var ws model.Workspace
		created.decode(t, &ws)
		expect("workspace.created", alice.Email, "audited", "alice-agent/1")
		wsPath := "/accounts/" + acct + "/workspaces/" + ws.ID.String()
		status("a bad rename", ca.api(http.MethodPatch, wsPath, key, map[string]any{"handle": "Not A Handle!"}), http.StatusUnprocessableEntity)
		status("rename", ca.api(http.MethodPatch, wsPath, key, map[string]any{"name": "Renamed", "handle": "renamed"}), http.StatusOK)
		expect("workspace.updated", alice.Email, "renamed", "alice-agent/1")
		status("read the workspaces", ca.api(http.MethodGet, "/me/workspaces", key, nil), http.StatusOK)

		// An invitation with a workspace role, accepted on its page.
		inv := ca.api(http.MethodPost, "/accounts/"+acct+"/invitations/", key, map[string]any{"email": bob.Email, "role": "member",
			"workspaces": []map[string]any{{"workspace_id": ws.ID, "role": "viewer"}}})
		status("invite bob", inv, http.StatusCreated)
		var bobInvite struct{ URL string }
		inv.decode(t, &bobInvite)
		expect("invitation.created", alice.Email, bob.Email, "alice-agent/1")
		cb.register(bob) // recorded in bob's own account, not this one
		link, _ := url.Parse(bobInvite.URL)
		cb.accept(link.Path)
		expect("invitation.accepted", bob.Email, bob.Email, "bob-agent/1")
		expect("account-member.added", bob.Email, bob.Email, "bob-agent/1")
		expect("workspace-member.role-changed", bob.Email, bob.Email, "bob-agent/1")
		var bobID string
		for _, m := range ca.auditLog(acct, key) {
			if m.Event == "account-member.added" {
				bobID = m.TargetID
			}
		}

		// Roles, a refused change, a revoked invitation, a removal.
		members := "/accounts/" + acct + "/members/"
		status("make bob admin", ca.api(http.MethodPatch, members+bobID, key, map[string]any{"role": "admin"}), http.StatusNoContent)
		expect("account-member.role-changed", alice.Email, bob.Email, "alice-agent/1")
		status("make bob a developer", ca.api(http.MethodPut, wsPath+"/members/"+bobID, key, map[string]any{"role": "developer"}), http.StatusNoContent)
		expect("workspace-member.role-changed", alice.Email, bob.Email, "alice-agent/1")
		var aliceID string
		for _, e := range ca.auditLog(acct, key) {
			aliceID = e.ActorID.String()
			break
		}
		status("admin bob removes owner alice", cb.postCSRF("/account/"+acct+"/members/"+aliceID+"/remove", nil), http.StatusForbidden)
		carolInv := ca.api(http.MethodPost, "/accounts/"+acct+"/invitations/", key, map[string]any{"email": carol.Email})
		status("invite carol", carolInv, http.StatusCreated)
		expect("invitation.created", alice.Email, carol.Email, "alice-agent/1")
		var carolInvite struct{ ID string }
		carolInv.decode(t, &carolInvite)
		status("revoke carol's invitation", ca.api(http.MethodDelete, "/accounts/"+acct+"/invitations/"+carolInvite.ID, key, nil), http.StatusNoContent)
		expect("invitation.revoked", alice.Email, carol.Email, "alice-agent/1")
		status("remove bob", ca.api(http.MethodDelete, members+bobID, key, nil), http.StatusNoContent)
		expect("account-member.removed", alice.Email, bob.Email, "alice-agent/1")

		// A plain member, added through the members form.
		cd.register(dave)
		cd.join(ca, acct, dave.Email, "member")
		expect("invitation.created", alice.Email, dave.Email, "alice-agent/1")
		expect("invitation.accepted", dave.Email, dave.Email, "dave-agent/1")
		expect("account-member.added", dave.Email, dave.Email, "dave-agent/1")
		daveKey := cd.createKey("dave's")
		expect("api-key.created", dave.Email, "dave's", "dave-agent/1")

		// A key made and deleted through the API, the workspace deleted.
		k := ca.api(http.MethodPost, "/me/api_keys", key, map[string]any{"name": "temp"})
		status("create a key", k, http.StatusCreated)
		expect("api-key.created", alice.Email, "temp", "alice-agent/1")
		var temp struct{ ID string }
		k.decode(t, &temp)
		status("delete the key", ca.api(http.MethodDelete, "/me/api_keys/"+temp.ID, key, nil), http.StatusNoContent)
		expect("api-key.deleted", alice.Email, "temp", "alice-agent/1")
		status("delete the workspace", ca.api(http.MethodDelete, wsPath, key, nil), http.StatusNoContent)
		expect("workspace.deleted", alice.Email, "renamed", "alice-agent/1")

		entries := ca.auditLog(acct, key)
		var got []want
		for _, e := range entries {
			got = append(got, want{e.Event, e.ActorEmail, e.TargetName, e.UserAgent})
			if e.SourceAddr != "127.0.0.1" {
				t.Errorf("%s #%d was recorded from %q, want 127.0.0.1", e.Event, e.Seq, e.SourceAddr)
			}
			wantKind := model.ActorUser
			if e.Event == "user.login-failed" {
				wantKind = model.ActorAnonymous
			}
			if e.ActorKind != wantKind || (wantKind == model.ActorUser) != (e.ActorID != nil) {
				t.Errorf("%s #%d: actor %s %v", e.Event, e.Seq, e.ActorKind, e.ActorID)
			}
			if e.AccountID == nil || e.AccountID.String() != acct {
				t.Errorf("%s #%d belongs to account %v", e.Event, e.Seq, e.AccountID)
			}
			if strings.HasPrefix(e.Event, "workspace") && (e.WorkspaceID == nil || *e.WorkspaceID != ws.ID) {
				t.Errorf("%s #%d names workspace %v, want %s", e.Event, e.Seq, e.WorkspaceID, ws.ID)
			}
		}
		if !slices.Equal(got, wants) {
			t.Fatalf("the audit log has\n%s\nwant\n%s", lines(got), lines(wants))
		}

		// Alice, the first to register here, claimed the server's default
		// account: recorded there, as her doing.
		var mine []struct {
			AccountID     string `json:"account_id"`
			AccountHandle string `json:"account_handle"`
		}
		ca.api(http.MethodGet, "/me/workspaces", key, nil).decode(t, &mine)
		claimed := false
		for _, w := range mine {
			if w.AccountHandle != "default" {
				continue
			}
			for _, e := range ca.auditLog(w.AccountID, key) {
				claimed = claimed || e.Event == "account-member.added" && e.ActorEmail == alice.Email && e.TargetName == alice.Email && e.SourceAddr == "127.0.0.1"
			}
		}
		if !claimed {
			t.Errorf("the default account's log does not record alice claiming it")
		}

		// A plain member reads neither the log nor its page.
		status("dave reads the log", cd.api(http.MethodGet, "/accounts/"+acct+"/audit_log", daveKey, nil), http.StatusForbidden)
		status("dave opens the audit page", cd.get("/account/"+acct+"/audit"), http.StatusForbidden)
		if strings.Contains(cd.get("/account/"+acct+"/members").Body, `href="/account/`+acct+`/audit"`) {
			t.Errorf("a plain member's pages link the audit log")
		}

		// No method on the log's routes or the account's alters or deletes
		// an entry, nor adds one: each of these requests is refused.
		before, _ := json.Marshal(entries)
		some := uuid.NewString()
		for _, p := range []string{"/accounts/" + acct + "/audit_log", "/accounts/" + acct + "/audit_log/", "/accounts/" + acct + "/audit_log/1",
			"/accounts/" + acct, "/accounts/" + acct + "/members/", "/accounts/" + acct + "/members/" + some, "/accounts/" + acct + "/invitations/",
			"/accounts/" + acct + "/invitations/" + some, "/accounts/" + acct + "/workspaces/", "/accounts/" + acct + "/workspaces/" + some,
			"/me/", "/me/api_keys", "/me/api_keys/" + some, "/invitations/accept"} {
			for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
				for _, k := range []string{key, daveKey} {
					// A redirect (the workspace API's root) changes nothing either.
					if r := ca.api(m, p, k, map[string]any{}); r.Status < 300 {
						t.Errorf("%s %s answered %d", m, p, r.Status)
					}
				}
			}
		}
		for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
			for _, p := range []string{"/account/" + acct + "/audit", "/account/" + acct + "/audit/1"} {
				req, _ := http.NewRequestWithContext(t.Context(), m, ts.URL+p, strings.NewReader(url.Values{"csrf_token": {ca.csrf()}}.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				if r := ca.do(req); r.Status < 400 {
					t.Errorf("%s %s answered %d", m, p, r.Status)
				}
			}
		}
		after, _ := json.Marshal(ca.auditLog(acct, key))
		if string(after) != string(before) {
			t.Errorf("the audit log changed:\nbefore %s\nafter  %s", before, after)
		}
	})
}

func lines[T any](list []T) string {
	var b strings.Builder
	for i, v := range list {
		fmt.Fprintf(&b, "%2d %v\n", i+1, v)
	}
	return b.String()
}
