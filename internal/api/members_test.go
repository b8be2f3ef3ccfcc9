package api

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

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
