package api

import (
	"net/http"
	"strings"
	"testing"
)

// Every account route declares what it requires at registration, and the
// declaration holds over HTTP: without a key each is a 401, and for a
// caller outside the path's account or workspace each is a 404.
func TestAccountRoutesDeclareAccess(t *testing.T) {
	forEachEngineWith(t, closedServer, func(t *testing.T, ts *testServer) {
		owner, outsider := newTenant(t, ts, "olga"), newTenant(t, ts, "otto")
		a := New(Config{Store: ts.store})
		a.Register(http.NewServeMux())
		if len(a.cloud) < 15 {
			t.Fatalf("only %d account routes registered", len(a.cloud))
		}
		for _, rt := range a.cloud {
			method, path, _ := strings.Cut(rt.pattern, " ")
			scoped := strings.Contains(path, "{account_id}")
			if strings.Contains(path, "{workspace_id}") && rt.need.perm == "" || scoped && !rt.need.account && rt.need.perm == "" {
				t.Errorf("%s declares %+v", rt.pattern, rt.need)
			}
			path = strings.NewReplacer("{$}", "", "{account_id}", owner.accountID, "{workspace_id}", owner.workspace,
				"{user_id}", owner.userID.String(), "{id}", owner.userID.String()).Replace(strings.TrimPrefix(path, "/api"))
			var body any
			if method == "POST" || method == "PATCH" {
				body = map[string]any{}
			}
			if r := ts.as("").do(method, path, body); r.Status != http.StatusUnauthorized {
				t.Errorf("%s without a key: %d", rt.pattern, r.Status)
			}
			if r := outsider.client.do(method, path, body); scoped && r.Status != http.StatusNotFound {
				t.Errorf("%s by an outsider: %d", rt.pattern, r.Status)
			}
		}
	})
}
