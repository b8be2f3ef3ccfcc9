package api

import (
	"bufio"
	"log/slog"
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
	"DELETE /admin/storage":                        "issue 19",
	"PUT /admin/storage":                           "issue 19",
	"POST /automations/":                           "automations: issue 20",
	"POST /automations/count":                      "automations: issue 20",
	"POST /automations/filter":                     "automations: issue 20",
	"DELETE /automations/owned-by/{resource_id}":   "automations: issue 20",
	"GET /automations/related-to/{resource_id}":    "automations: issue 20",
	"POST /automations/templates/validate":         "automations: issue 20",
	"DELETE /automations/{id}":                     "automations: issue 20",
	"GET /automations/{id}":                        "automations: issue 20",
	"PATCH /automations/{id}":                      "automations: issue 20",
	"PUT /automations/{id}":                        "automations: issue 20",
	"GET /block_capabilities/":                     "blocks: issue 19",
	"POST /block_documents/":                       "blocks: issue 19",
	"POST /block_documents/count":                  "blocks: issue 19",
	"POST /block_documents/filter":                 "blocks: issue 19",
	"DELETE /block_documents/{id}":                 "blocks: issue 19",
	"GET /block_documents/{id}":                    "blocks: issue 19",
	"PATCH /block_documents/{id}":                  "blocks: issue 19",
	"POST /block_schemas/":                         "blocks: issue 19",
	"GET /block_schemas/checksum/{checksum}":       "blocks: issue 19",
	"POST /block_schemas/filter":                   "blocks: issue 19",
	"DELETE /block_schemas/{id}":                   "blocks: issue 19",
	"GET /block_schemas/{id}":                      "blocks: issue 19",
	"POST /block_types/":                           "blocks: issue 19",
	"POST /block_types/filter":                     "blocks: issue 19",
	"POST /block_types/install_system_block_types": "blocks: issue 19",
	"GET /block_types/slug/{slug}":                 "blocks: issue 19",
	"GET /block_types/slug/{slug}/block_documents": "blocks: issue 19",
	"GET /block_types/slug/{slug}/block_documents/name/{block_document_name}": "blocks: issue 19",
	"DELETE /block_types/{id}":                    "blocks: issue 19",
	"GET /block_types/{id}":                       "blocks: issue 19",
	"PATCH /block_types/{id}":                     "blocks: issue 19",
	"POST /deployments/bulk_delete":               "issue 19",
	"POST /deployments/{id}/create_flow_run/bulk": "issue 19",
	"POST /deployments/{id}/schedule":             "issue 19",
	"GET /deployments/{id}/work_queue_check":      "issue 19",
	"POST /events/count-by/{countable}":           "issue 19",
	"POST /flow_runs/bulk_delete":                 "issue 19",
	"POST /flow_runs/bulk_set_state":              "issue 19",
	"POST /flow_runs/history":                     "issue 19",
	"POST /flow_runs/lateness":                    "issue 19",
	"POST /flow_runs/paginate":                    "issue 19",
	"GET /flow_runs/{id}/graph-v2":                "issue 19",
	"POST /flow_runs/{id}/input":                  "flow run input: issue 19",
	"POST /flow_runs/{id}/input/filter":           "flow run input: issue 19",
	"DELETE /flow_runs/{id}/input/{key}":          "flow run input: issue 19",
	"GET /flow_runs/{id}/input/{key}":             "flow run input: issue 19",
	"GET /flow_runs/{id}/logs/download":           "issue 19",
	"POST /flows/bulk_delete":                     "issue 19",
	"POST /flows/paginate":                        "issue 19",
	"PUT /saved_searches/":                        "issue 19",
	"POST /saved_searches/filter":                 "issue 19",
	"DELETE /saved_searches/{id}":                 "issue 19",
	"GET /saved_searches/{id}":                    "issue 19",
	"POST /task_runs/history":                     "issue 19",
	"POST /task_runs/paginate":                    "issue 19",
	"POST /task_workers/filter":                   "issue 19",
	"POST /templates/validate":                    "automations: issue 20",
	"POST /ui/flow_runs/count-task-runs":          "issue 19",
	"POST /ui/flow_runs/history":                  "issue 19",
	"POST /ui/flows/count-deployments":            "issue 19",
	"POST /ui/flows/next-runs":                    "issue 19",
	"POST /ui/schemas/validate":                   "issue 19",
	"POST /ui/task_runs/count":                    "issue 19",
	"POST /ui/task_runs/dashboard/counts":         "issue 19",
	"GET /ui/task_runs/{id}":                      "issue 19",
	"POST /work_pools/{name}/concurrency_status":  "work pool and queue routes: issue 18",
	"POST /work_queues/":                          "work pool and queue routes: issue 18",
	"POST /work_queues/{id}/concurrency_status":   "work pool and queue routes: issue 18",
	"POST /work_queues/{id}/get_runs":             "work pool and queue routes: issue 18",
	"GET /work_queues/{id}/status":                "work pool and queue routes: issue 18",
}

// pathParam matches a path parameter in Prefect's OpenAPI paths.
var pathParam = regexp.MustCompile(`\{[^}]+\}`)

// Every operation of Prefect's OpenAPI document (the pinned version's,
// listed in testdata and checked against the real server by the compat
// suite) has a route, unless it is pending with a reason.
func TestEveryPrefectOperationIsRouted(t *testing.T) {
	f, err := os.Open("testdata/prefect-operations.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	db, err := sqlstore.Open(t.Context(), testdb.SQLite(t), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	a := New(Wire(db, Config{}))
	var missing []string
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		op := sc.Text()
		method, path, _ := strings.Cut(op, " ")
		seen[op] = true
		// Every parameter is given a UUID: ids must be one, and names
		// may be.
		concrete := pathParam.ReplaceAllString(strings.TrimPrefix(path, "/api"), "6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d")
		routed := a.routeOf(httptest.NewRequest(method, concrete, nil)) != ""
		_, pending := pendingOperations[op]
		switch {
		case !routed && !pending:
			missing = append(missing, op)
		case routed && pending:
			t.Errorf("%s is routed now: take it off pendingOperations", op)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
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
