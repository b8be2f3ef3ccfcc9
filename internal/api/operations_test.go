package api

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/praetorhq/praetor/internal/store/sqlstore"
	"github.com/praetorhq/praetor/internal/testdb"
)

// pendingOperations are Prefect operations Praetor does not route yet, with
// the reason. The list only shrinks: an entry that is routed fails the test.
var pendingOperations = map[string]string{
	"POST /task_workers/filter": "background task workers (task.serve, task.delay) are not served yet: there is no task-run subscription socket, so this list has nothing to list",
}

// pathParam matches a path parameter in Prefect's OpenAPI paths.
var pathParam = regexp.MustCompile(`\{[^}]+\}`)

// Every operation of Prefect's OpenAPI document (the pinned version's,
// listed in testdata and checked against the real server by the compat
// suite) has a route, unless it is pending with a reason.
func TestEveryPrefectOperationIsRouted(t *testing.T) {
	a, _ := routedAPI(t)
	var missing []string
	seen := map[string]bool{}
	for _, op := range prefectOperations(t) {
		method, path, _ := strings.Cut(op, " ")
		seen[op] = true
		routed := a.routeOf(httptest.NewRequest(method, concrete(path), nil)) != ""
		_, pending := pendingOperations[op]
		switch {
		case !routed && !pending:
			missing = append(missing, op)
		case routed && pending:
			t.Errorf("%s is routed now: take it off pendingOperations", op)
		}
	}
	for op := range pendingOperations {
		if !seen[op] {
			t.Errorf("pending operation %s is not in Prefect's document", op)
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d of Prefect's operations have no route:\n%s", len(missing), strings.Join(missing, "\n"))
	}
}

// routedAPI is the API with its account routes registered, on a fresh
// SQLite database, and the mux it is registered on.
func routedAPI(t *testing.T) (*API, *http.ServeMux) {
	db, err := sqlstore.Open(t.Context(), testdb.SQLite(t), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	a := New(Wire(db, Config{}))
	mux := http.NewServeMux()
	a.Register(mux)
	return a, mux
}

// prefectOperations lists Prefect's operations, "METHOD /path".
func prefectOperations(t *testing.T) []string {
	b, err := os.ReadFile("testdata/prefect-operations.txt")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

// concrete fills a path's parameters with a UUID: ids must be one, and
// names may be.
func concrete(path string) string {
	return pathParam.ReplaceAllString(path, "6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d")
}

// The OpenAPI document lists exactly the routes the API serves: each of
// its operations reaches a route, it has as many as the route tables, and
// every Prefect operation Praetor routes is in it.
func TestOpenAPIDocumentMatchesRoutes(t *testing.T) {
	a, mux := routedAPI(t)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/api/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil || resp.StatusCode != http.StatusOK || doc.OpenAPI == "" {
		t.Fatalf("openapi.json: %d %v", resp.StatusCode, err)
	}
	documented := map[string]bool{}
	n := 0
	for path, item := range doc.Paths {
		_, account := item["servers"]
		for method := range item {
			if method == "servers" {
				continue
			}
			n++
			m := strings.ToUpper(method)
			documented[m+" "+pathParam.ReplaceAllString(strings.TrimSuffix(path, "/"), "{}")] = true
			req := httptest.NewRequest(m, concrete(path), nil)
			if account {
				req = httptest.NewRequest(m, "/api"+concrete(path), nil)
				if _, pattern := mux.Handler(req); !strings.HasPrefix(pattern, m+" /api/") || strings.Contains(pattern, "{rest...}") {
					t.Errorf("documented account route %s %s reaches %q", m, path, pattern)
				}
			} else if a.routeOf(req) == "" {
				t.Errorf("documented %s %s has no route", m, path)
			}
		}
	}
	if want := len(a.table) + len(a.cloud); n != want {
		t.Errorf("the document has %d operations, the route tables %d", n, want)
	}
	for _, op := range prefectOperations(t) {
		if _, pending := pendingOperations[op]; pending {
			continue
		}
		method, path, _ := strings.Cut(op, " ")
		if !documented[method+" "+pathParam.ReplaceAllString(strings.TrimSuffix(path, "/"), "{}")] {
			t.Errorf("Prefect's %s is routed but not documented", op)
		}
	}
	page, err := http.Get(srv.URL + "/api/docs")
	if err != nil {
		t.Fatal(err)
	}
	defer page.Body.Close()
	body, _ := io.ReadAll(page.Body)
	if page.StatusCode != http.StatusOK || !strings.Contains(string(body), "<code>/flows/filter</code>") || !strings.Contains(string(body), "<code>/me/workspaces</code>") {
		t.Errorf("the reference page: %d %.300s", page.StatusCode, body)
	}
}
