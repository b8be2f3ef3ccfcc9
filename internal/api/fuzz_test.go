package api

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/praetorhq/praetor/internal/testdb"
)

// FuzzRequestBodies sends arbitrary bodies to every route family that takes
// one: whatever arrives, the answer is a client error or success with a
// JSON body, never a 5xx. `go test` runs the seeds; `go test -fuzz
// FuzzRequestBodies ./internal/api` explores further.
func FuzzRequestBodies(f *testing.F) {
	for _, seed := range []string{
		``, `{}`, `[]`, `null`, `{bad`, `"text"`, `123`, `{"name":null}`, `{"flow_id":"00000000-0000-0000-0000-000000000000"}`,
		`{"state":{"type":"RUNNING","state_details":{"scheduled_time":"never"}}}`, `[{"name":"x","level":1e400}]`,
		`{"flows":{"id":{"any_":[1]}}}`, `{"flow_runs":{"operator":"xor_","tags":{"all_":[null]}}}`,
		`{"limit":1e10,"offset":-5,"sort":""}`, `{"name":"` + "\x00" + `"}`, `{"value":{"deep":[[[[[[[[[[1]]]]]]]]]]}}`,
		`[{"event":"e","resource":{"prefect.resource.id":"r"},"payload":"not an object","related":[{}]}]`,
	} {
		f.Add(seed)
	}
	ts := newTestServerOn(f, testdb.SQLite(f), nil)
	flow := ts.do("POST", "/flows/", map[string]any{"name": "fuzz"}).object()["id"].(string)
	run := ts.do("POST", "/flow_runs/", map[string]any{"flow_id": flow}).object()["id"].(string)
	routes := []struct{ method, path string }{
		{"POST", "/flows/"}, {"POST", "/flows/filter"}, {"PATCH", "/flows/" + flow},
		{"POST", "/flow_runs/"}, {"POST", "/flow_runs/filter"}, {"POST", "/flow_runs/count"}, {"PATCH", "/flow_runs/" + run},
		{"PATCH", "/flow_runs/" + run + "/labels"}, {"POST", "/flow_runs/" + run + "/set_state"}, {"POST", "/flow_runs/" + run + "/resume"},
		{"POST", "/task_runs/"}, {"POST", "/task_runs/filter"}, {"POST", "/logs/"}, {"POST", "/logs/filter"},
		{"POST", "/events"}, {"POST", "/events/filter"}, {"POST", "/variables/"}, {"POST", "/variables/filter"},
		{"POST", "/artifacts/"}, {"POST", "/artifacts/filter"}, {"POST", "/users/"},
	}
	f.Fuzz(func(t *testing.T, body string) {
		c := ts.in(t)
		for _, r := range routes {
			resp := c.do(r.method, r.path, body)
			if resp.Status >= 500 {
				t.Fatalf("%s %s %q: %d %s", r.method, r.path, body, resp.Status, resp.Body)
			}
			if resp.Status >= 400 && !json.Valid(resp.Body) {
				t.Fatalf("%s %s %q: error body is not JSON: %s", r.method, r.path, body, resp.Body)
			}
			if resp.Status == http.StatusOK && len(resp.Body) == 0 {
				t.Fatalf("%s %s %q: empty 200", r.method, r.path, body)
			}
		}
	})
}
