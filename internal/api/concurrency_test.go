package api

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// limitsSnapshot is every global limit of the default workspace.
func limitsSnapshot(t *testing.T, ts *testServer) func() string {
	return func() string {
		return normJSON(t, ts.do("POST", "/v2/concurrency_limits/filter", "{}").expect(http.StatusOK).list())
	}
}

// keys are an object's member names, sorted.
func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Global limits in Prefect's shapes: slots taken with and without leases
// up to the limit, then 423 with a wait in Retry-After; leases renewed and
// released; rate limits tell the wait of their decay.
func TestGlobalConcurrencyLimits(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		created := ts.do("POST", "/v2/concurrency_limits/", map[string]any{"name": "db", "limit": 2}).expect(http.StatusCreated).object()
		if got := keys(created); !slices.Equal(got, []string{"active", "active_slots", "avg_slot_occupancy_seconds", "created", "denied_slots", "id", "limit",
			"name", "slot_decay_per_second", "updated"}) || created["active"] != true || created["avg_slot_occupancy_seconds"] != jsonNum("2") {
			t.Errorf("created %v", created)
		}
		id := created["id"].(string)
		for _, key := range []string{id, "db"} {
			got := ts.do("GET", "/v2/concurrency_limits/"+key, nil).expect(http.StatusOK).object()
			if !slices.Equal(keys(got), []string{"active", "active_slots", "created", "id", "limit", "name", "slot_decay_per_second", "updated"}) || got["id"] != id {
				t.Errorf("GET %s: %v", key, got)
			}
		}

		holder := map[string]any{"type": "flow_run", "id": uuid.Must(uuid.NewV7()).String()}
		var leases []string
		for range 2 {
			g := ts.do("POST", "/v2/concurrency_limits/increment-with-lease", map[string]any{"names": []string{"db", "missing"}, "slots": 1, "holder": holder}).
				expect(http.StatusOK).object()
			limits := g["limits"].([]any)
			if len(limits) != 1 || normJSON(t, limits[0]) != normJSON(t, map[string]any{"id": id, "name": "db", "limit": 2}) {
				t.Errorf("granted %v", g)
			}
			leases = append(leases, g["lease_id"].(string))
		}
		full := ts.do("POST", "/v2/concurrency_limits/increment-with-lease", map[string]any{"names": []string{"db"}, "slots": 1})
		full.expect(http.StatusLocked)
		if full.detail() != "Locked" {
			t.Errorf("423 detail %q", full.detail())
		}
		resp, err := http.Post(ts.url+"/api/v2/concurrency_limits/increment", "application/json", jsonBody(`{"names":["db"],"slots":1}`))
		check(t, err)
		resp.Body.Close()
		if wait, err := strconv.ParseFloat(resp.Header.Get("Retry-After"), 64); resp.StatusCode != http.StatusLocked || err != nil || wait <= 0 || wait > 30*1.3 {
			t.Errorf("denied: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		if got := ts.do("GET", "/v2/concurrency_limits/db", nil).object(); got["active_slots"] != jsonNum("2") {
			t.Errorf("after two leases: %v", got)
		}

		ts.do("POST", "/v2/concurrency_limits/leases/"+leases[0]+"/renew", map[string]any{"lease_duration": 120}).expect(http.StatusNoContent)
		ts.do("POST", "/v2/concurrency_limits/decrement-with-lease", map[string]any{"lease_id": leases[0]}).expect(http.StatusNoContent)
		// Released twice, or renewed once released: the slot went back once.
		ts.do("POST", "/v2/concurrency_limits/decrement-with-lease", map[string]any{"lease_id": leases[0]}).expect(http.StatusNoContent)
		if got := ts.do("POST", "/v2/concurrency_limits/leases/"+leases[0]+"/renew", "{}"); got.Status != http.StatusGone ||
			got.detail() != "Lease not found - it may have expired or been revoked" {
			t.Errorf("renewing a released lease: %d %s", got.Status, got.Body)
		}
		if got := ts.do("GET", "/v2/concurrency_limits/db", nil).object(); got["active_slots"] != jsonNum("1") {
			t.Errorf("after a release: %v", got)
		}
		// Without a lease, given back by name.
		ts.do("POST", "/v2/concurrency_limits/increment", map[string]any{"names": []string{"db"}, "slots": 1}).expect(http.StatusOK)
		got := ts.do("POST", "/v2/concurrency_limits/decrement", map[string]any{"names": []string{"db"}, "slots": 2, "occupancy_seconds": 3.5}).expect(http.StatusOK).list()
		if len(got) != 1 || got[0]["name"] != "db" {
			t.Errorf("decrement answered %v", got)
		}
		if got := ts.do("GET", "/v2/concurrency_limits/db", nil).object(); got["active_slots"] != jsonNum("0") {
			t.Errorf("after the decrement: %v", got)
		}

		// A rate limit is told to wait by its decay: one slot a thousand
		// seconds.
		ts.do("POST", "/v2/concurrency_limits/", map[string]any{"name": "rate", "limit": 1, "slot_decay_per_second": 0.001}).expect(http.StatusCreated)
		ts.do("POST", "/v2/concurrency_limits/increment", map[string]any{"names": []string{"rate"}, "slots": 1, "mode": "rate_limit"}).expect(http.StatusOK)
		resp, err = http.Post(ts.url+"/api/v2/concurrency_limits/increment", "application/json", jsonBody(`{"names":["rate"],"slots":1,"mode":"rate_limit"}`))
		check(t, err)
		resp.Body.Close()
		if wait, err := strconv.ParseFloat(resp.Header.Get("Retry-After"), 64); resp.StatusCode != http.StatusLocked || err != nil || wait < 100 {
			t.Errorf("rate limited: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
		}

		names := []string{}
		for _, l := range ts.do("POST", "/v2/concurrency_limits/filter", map[string]any{"limit": 5}).expect(http.StatusOK).list() {
			names = append(names, l["name"].(string))
		}
		if !slices.Equal(names, []string{"db", "rate"}) {
			t.Errorf("filter: %v", names)
		}

		expectRefused(t, ts, limitsSnapshot(t, ts), []refused{
			{"POST", "/v2/concurrency_limits/", `{"name":"db","limit":3}`, http.StatusConflict, integrityConflict},
			{"POST", "/v2/concurrency_limits/", `{"name":"a/b","limit":3}`, http.StatusUnprocessableEntity, "string_pattern_mismatch"},
			{"POST", "/v2/concurrency_limits/", `{"name":"neg","limit":-1}`, http.StatusUnprocessableEntity, "greater_than_equal"},
			{"POST", "/v2/concurrency_limits/", `{"limit":1}`, http.StatusUnprocessableEntity, "missing"},
			{"PATCH", "/v2/concurrency_limits/db", `{"name":"rate"}`, http.StatusConflict, integrityConflict},
			{"PATCH", "/v2/concurrency_limits/db", `{"slot_decay_per_second":-1}`, http.StatusUnprocessableEntity, "greater_than_equal"},
			{"PATCH", "/v2/concurrency_limits/nope", `{"limit":1}`, http.StatusNotFound, "Concurrency Limit not found"},
			{"GET", "/v2/concurrency_limits/" + uuid.Must(uuid.NewV7()).String(), "", http.StatusNotFound, "Concurrency Limit not found"},
			{"DELETE", "/v2/concurrency_limits/nope", "", http.StatusNotFound, "Concurrency Limit not found"},
			{"POST", "/v2/concurrency_limits/increment", `{"names":["db"],"slots":0}`, http.StatusUnprocessableEntity, "greater_than"},
			{"POST", "/v2/concurrency_limits/increment", `{"slots":1}`, http.StatusUnprocessableEntity, "missing"},
			{"POST", "/v2/concurrency_limits/increment", `{"names":["db"],"slots":3}`, http.StatusUnprocessableEntity, "Slots requested is greater than the limit"},
			{"POST", "/v2/concurrency_limits/increment", `{"names":["db"],"slots":1,"mode":"rate_limit"}`, http.StatusUnprocessableEntity,
				"Only concurrency limits with slot decay can be used for rate limiting. The following limits do not have a decay configured: 'db'"},
			{"POST", "/v2/concurrency_limits/increment", `{"names":["db"],"slots":1,"mode":"fast"}`, http.StatusUnprocessableEntity, "literal_error"},
			{"POST", "/v2/concurrency_limits/increment-with-lease", `{"names":["db"],"slots":1,"lease_duration":10}`, http.StatusUnprocessableEntity, "greater_than_equal"},
			{"POST", "/v2/concurrency_limits/increment-with-lease", `{"names":["db"],"slots":1,"holder":{"type":"user","id":"` + uuid.Nil.String() + `"}}`,
				http.StatusUnprocessableEntity, "literal_error"},
			{"POST", "/v2/concurrency_limits/decrement", `{"names":["db"],"slots":1,"occupancy_seconds":0}`, http.StatusUnprocessableEntity, "greater_than"},
			{"POST", "/v2/concurrency_limits/decrement-with-lease", `{}`, http.StatusUnprocessableEntity, "missing"},
			{"POST", "/v2/concurrency_limits/leases/" + leases[1] + "/renew", `{"lease_duration":100000}`, http.StatusUnprocessableEntity, "less_than_equal"},
			{"POST", "/v2/concurrency_limits/filter", `{"limit":201}`, http.StatusUnprocessableEntity, ""},
		})

		ts.do("PATCH", "/v2/concurrency_limits/"+id, map[string]any{"limit": 5, "active": false}).expect(http.StatusNoContent)
		if got := ts.do("GET", "/v2/concurrency_limits/db", nil).object(); got["limit"] != jsonNum("5") || got["active"] != false {
			t.Errorf("patched %v", got)
		}
		// No names: nothing to take, as Prefect answers.
		if g := ts.do("POST", "/v2/concurrency_limits/increment", map[string]any{"names": []string{}, "slots": 1}).expect(http.StatusOK).list(); len(g) != 0 {
			t.Errorf("no names answered %v", g)
		}
		// An inactive limit takes no slots, whatever is asked, and is named
		// in the answer, as Prefect names it.
		if g := ts.do("POST", "/v2/concurrency_limits/increment", map[string]any{"names": []string{"db"}, "slots": 9}).expect(http.StatusOK).list(); len(g) != 1 || g[0]["id"] != id {
			t.Errorf("an inactive limit answered %v", g)
		}
		if got := ts.do("GET", "/v2/concurrency_limits/db", nil).object(); got["active_slots"] != jsonNum("0") {
			t.Errorf("an inactive limit took slots: %v", got)
		}
		ts.do("DELETE", "/v2/concurrency_limits/db", nil).expect(http.StatusNoContent)
		ts.do("GET", "/v2/concurrency_limits/"+id, nil).expect(http.StatusNotFound)
	})
}

// Tag limits through the v1 routes are the global limits "tag:<tag>", as
// in Prefect 3: a task run's slot is a lease it holds, listed as the
// limit's active slots.
func TestTagConcurrencyLimits(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		first := ts.do("POST", "/concurrency_limits/", map[string]any{"tag": "etl", "concurrency_limit": 3}).expect(http.StatusCreated).object()
		if !slices.Equal(keys(first), []string{"active_slots", "concurrency_limit", "created", "id", "tag", "updated"}) || first["tag"] != "etl" {
			t.Errorf("created %v", first)
		}
		again := ts.do("POST", "/concurrency_limits/", map[string]any{"tag": "etl", "concurrency_limit": 1}).expect(http.StatusOK).object()
		if again["id"] != first["id"] || again["concurrency_limit"] != jsonNum("1") {
			t.Errorf("upserted %v", again)
		}
		if got := ts.do("GET", "/v2/concurrency_limits/tag:etl", nil).expect(http.StatusOK).object(); got["limit"] != jsonNum("1") {
			t.Errorf("the global limit behind the tag: %v", got)
		}
		ts.do("POST", "/v2/concurrency_limits/", map[string]any{"name": "global", "limit": 1}).expect(http.StatusCreated)

		a, b, c := uuid.Must(uuid.NewV7()).String(), uuid.Must(uuid.NewV7()).String(), uuid.Must(uuid.NewV7()).String()
		got := ts.do("POST", "/concurrency_limits/increment", map[string]any{"names": []string{"etl", "untagged"}, "task_run_id": a}).expect(http.StatusOK).list()
		if len(got) != 1 || got[0]["name"] != "etl" {
			t.Errorf("increment answered %v", got)
		}
		denied := ts.do("POST", "/concurrency_limits/increment", map[string]any{"names": []string{"etl"}, "task_run_id": b})
		if denied.Status != http.StatusLocked || denied.detail() != "Concurrency limit for the etl tag has been reached" {
			t.Errorf("a full tag: %d %s", denied.Status, denied.Body)
		}
		resp, err := http.Post(ts.url+"/api/concurrency_limits/increment", "application/json", jsonBody(`{"names":["etl"],"task_run_id":"`+b+`"}`))
		check(t, err)
		resp.Body.Close()
		if got := resp.Header.Get("Retry-After"); resp.StatusCode != http.StatusLocked || got != "10.0" {
			t.Errorf("a full tag: %d, Retry-After %q, want Prefect's 10.0", resp.StatusCode, got)
		}
		for _, path := range []string{"/concurrency_limits/tag/etl", "/concurrency_limits/" + first["id"].(string)} {
			if got := ts.do("GET", path, nil).expect(http.StatusOK).object(); normJSON(t, got["active_slots"]) != normJSON(t, []string{a}) {
				t.Errorf("GET %s: %v", path, got)
			}
		}
		got = ts.do("POST", "/concurrency_limits/decrement", map[string]any{"names": []string{"etl"}, "task_run_id": a}).expect(http.StatusOK).list()
		if len(got) != 1 || got[0]["name"] != "tag:etl" {
			t.Errorf("decrement answered %v", got)
		}
		ts.do("POST", "/concurrency_limits/increment", map[string]any{"names": []string{"etl"}, "task_run_id": b}).expect(http.StatusOK)

		ts.do("POST", "/concurrency_limits/tag/etl/reset", map[string]any{"slot_override": []string{c}}).expect(http.StatusOK)
		if got := ts.do("GET", "/concurrency_limits/tag/etl", nil).object(); normJSON(t, got["active_slots"]) != normJSON(t, []string{c}) {
			t.Errorf("after a reset to %s: %v", c, got)
		}
		if got := ts.do("GET", "/v2/concurrency_limits/tag:etl", nil).object(); got["active_slots"] != jsonNum("1") {
			t.Errorf("slots after the reset: %v", got)
		}
		ts.do("POST", "/concurrency_limits/tag/etl/reset", nil).expect(http.StatusOK)
		if got := ts.do("GET", "/v2/concurrency_limits/tag:etl", nil).object(); got["active_slots"] != jsonNum("0") {
			t.Errorf("slots after a reset: %v", got)
		}

		ts.do("POST", "/concurrency_limits/", map[string]any{"tag": "never", "concurrency_limit": 0}).expect(http.StatusCreated)
		if got := ts.do("POST", "/concurrency_limits/increment", map[string]any{"names": []string{"etl", "never"}, "task_run_id": a}); got.Status != http.StatusLocked ||
			got.detail() != `The concurrency limit on tag "never" is 0 and will deadlock if the task tries to run again.` {
			t.Errorf("a zero limit: %d %s", got.Status, got.Body)
		}
		tags := []string{}
		for _, l := range ts.do("POST", "/concurrency_limits/filter", "{}").expect(http.StatusOK).list() {
			tags = append(tags, l["tag"].(string))
		}
		if !slices.Equal(tags, []string{"etl", "never"}) {
			t.Errorf("v1 filter lists %v, want only the tag limits", tags)
		}
		global := ts.do("GET", "/v2/concurrency_limits/global", nil).object()["id"].(string)
		expectRefused(t, ts, limitsSnapshot(t, ts), []refused{
			{"GET", "/concurrency_limits/" + global, "", http.StatusNotFound, "Concurrency limit not found"},
			{"DELETE", "/concurrency_limits/" + global, "", http.StatusNotFound, "Concurrency limit not found"},
			{"GET", "/concurrency_limits/tag/nope", "", http.StatusNotFound, "Concurrency limit not found"},
			{"POST", "/concurrency_limits/tag/nope/reset", "{}", http.StatusNotFound, "Concurrency limit not found"},
			{"POST", "/concurrency_limits/", `{"tag":"x"}`, http.StatusUnprocessableEntity, "missing"},
			{"POST", "/concurrency_limits/increment", `{"names":["etl"]}`, http.StatusUnprocessableEntity, "missing"},
		})
		ts.do("DELETE", "/concurrency_limits/tag/etl", nil).expect(http.StatusOK)
		ts.do("GET", "/concurrency_limits/tag/etl", nil).expect(http.StatusNotFound)
		ts.do("DELETE", "/concurrency_limits/"+global, nil).expect(http.StatusNotFound)
	})
}

func jsonNum(s string) any { return json.Number(s) }

func jsonBody(s string) io.Reader { return strings.NewReader(s) }

// A deployment's concurrency_limit is a global limit of its own, shown as
// global_concurrency_limit, which its runs' slots are taken from; bad
// limits and options are refused as Prefect refuses them.
func TestDeploymentConcurrencyLimit(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		flow := ts.do("POST", "/flows/", map[string]any{"name": "f"}).expect(http.StatusCreated).object()["id"].(string)
		dep := ts.do("POST", "/deployments/", map[string]any{"name": "d", "flow_id": flow, "concurrency_limit": 1,
			"concurrency_options": map[string]any{"collision_strategy": "ENQUEUE", "grace_period_seconds": 120}}).expect(http.StatusCreated).object()
		id := dep["id"].(string)
		gcl, _ := dep["global_concurrency_limit"].(map[string]any)
		if gcl == nil || gcl["name"] != "deployment:"+id || gcl["limit"] != jsonNum("1") ||
			!slices.Equal(keys(gcl), []string{"active", "active_slots", "created", "id", "limit", "name", "slot_decay_per_second", "updated"}) {
			t.Fatalf("global_concurrency_limit %v", dep["global_concurrency_limit"])
		}
		runs := make([]map[string]any, 2)
		for i := range runs {
			run := ts.do("POST", "/deployments/"+id+"/create_flow_run", map[string]any{}).expect(http.StatusCreated).object()["id"].(string)
			runs[i] = ts.do("POST", "/flow_runs/"+run+"/set_state", map[string]any{"state": map[string]any{"type": "PENDING"}}).object()
		}
		if runs[0]["status"] != "ACCEPT" || runs[1]["status"] != "REJECT" ||
			runs[1]["state"].(map[string]any)["name"] != "AwaitingConcurrencySlot" {
			t.Errorf("two runs to PENDING: %v, %v", runs[0], runs[1])
		}
		if lease := runs[0]["state"].(map[string]any)["state_details"].(map[string]any)["deployment_concurrency_lease_id"]; lease == nil {
			t.Errorf("the first run's state has no lease: %v", runs[0]["state"])
		}
		if got := ts.do("GET", "/deployments/"+id, nil).object()["global_concurrency_limit"].(map[string]any); got["active_slots"] != jsonNum("1") {
			t.Errorf("the deployment's limit after a run took its slot: %v", got)
		}
		snapshot := func() string {
			return normJSON(t, []any{ts.do("POST", "/deployments/filter", "{}").expect(http.StatusOK).list(), limitsSnapshot(t, ts)()})
		}
		create := `{"name":"e","flow_id":"` + flow + `",`
		expectRefused(t, ts, snapshot, []refused{
			{"POST", "/deployments/", create + `"concurrency_limit":0}`, http.StatusUnprocessableEntity, "greater_than"},
			{"POST", "/deployments/", create + `"concurrency_limit":1,"concurrency_options":{"collision_strategy":"NOPE"}}`, http.StatusUnprocessableEntity, "enum"},
			{"POST", "/deployments/", create + `"concurrency_options":{"grace_period_seconds":90}}`, http.StatusUnprocessableEntity, "missing"},
			{"POST", "/deployments/", create + `"concurrency_options":{"collision_strategy":"ENQUEUE","grace_period_seconds":5}}`, http.StatusUnprocessableEntity, "greater_than_equal"},
			{"PATCH", "/deployments/" + id, `{"concurrency_limit":-1}`, http.StatusUnprocessableEntity, "greater_than"},
		})
		ts.do("PATCH", "/deployments/"+id, map[string]any{"concurrency_limit": nil}).expect(http.StatusNoContent)
		if got := ts.do("GET", "/deployments/"+id, nil).object(); got["global_concurrency_limit"] != nil {
			t.Errorf("a deployment without a limit: %v", got["global_concurrency_limit"])
		}
		ts.do("GET", "/v2/concurrency_limits/deployment:"+id, nil).expect(http.StatusNotFound)
	})
}
