package api

import (
	"fmt"
	"net/http"
	"testing"
)

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
