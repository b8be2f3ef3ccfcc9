package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/tenancy"
)

// Behind a trusted proxy (here the test itself, on loopback), the audit
// log records the client the proxy names in X-Forwarded-For; a server
// that trusts no proxy records the connection's address whatever the
// header says.
func TestTrustedProxyNamesTheClient(t *testing.T) {
	for _, c := range []struct {
		trusted, want string
	}{
		{"127.0.0.1", "203.0.113.5"},
		{"", "127.0.0.1"},
	} {
		srv := startTestServer(t, Config{TrustedProxies: c.trusted})
		ctx := t.Context()
		u, acct, err := tenancy.RegisterUser(ctx, srv.store, tenancy.SignUp{Email: "proxied@example.com", Password: "correct horse battery"})
		if err != nil {
			t.Fatal(err)
		}
		k, err := tenancy.CreateAPIKey(ctx, srv.store, u.ID, "k", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		call := func(method, path, body string) *http.Response {
			t.Helper()
			req, _ := http.NewRequestWithContext(ctx, method, srv.URL()+"/api/accounts/"+acct.ID.String()+path, strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+k.Key)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Forwarded-For", "192.0.2.66, 203.0.113.5")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			return res
		}
		if res := call("POST", "/workspaces/", `{"name": "Proxied"}`); res.StatusCode != http.StatusCreated {
			t.Fatalf("create a workspace: %d", res.StatusCode)
		}
		res := call("GET", "/audit_log?event=workspace.created", "")
		var entries []model.AuditEntry
		if err := json.NewDecoder(res.Body).Decode(&entries); err != nil || len(entries) != 1 {
			t.Fatalf("trusted %q: audit log %v (%v)", c.trusted, entries, err)
		}
		if got := entries[0].SourceAddr; got != c.want {
			t.Errorf("trusted proxies %q: recorded address %q, want %q", c.trusted, got, c.want)
		}
	}
}

// A list that is not addresses and prefixes stops the server from opening.
func TestTrustedProxiesSetting(t *testing.T) {
	if _, err := Open(t.Context(), Config{Home: t.TempDir(), TrustedProxies: "10.0.0.0/8, proxy.example"}); err == nil || !strings.Contains(err.Error(), "proxy.example") {
		t.Errorf("open with a bad trusted proxy: %v", err)
	}
}
