package api

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// Prefect's legacy /work_queues routes and the concurrency views, with its
// shapes and answers: a queue created without a pool goes to
// default-agent-pool; a queue's legacy poll marks it polled unless the UI
// asks; its status says whether it is healthy; the concurrency views list
// the runs holding slots; GET /work_queues/{id}/status and
// /work_queues/name/{name} both route.
func TestLegacyWorkQueues(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		// The first queue made without a pool makes default-agent-pool;
		// "default" is that pool's own queue.
		def := ts.do("POST", "/work_queues/", map[string]any{"name": "default"}).expect(http.StatusCreated).object()
		agent := ts.do("GET", "/work_pools/default-agent-pool", nil).expect(http.StatusOK).object()
		if agent["type"] != "prefect-agent" || def["id"] != agent["default_queue_id"] {
			t.Fatalf("default-agent-pool %v, its default queue %v", agent, def)
		}
		legacy := ts.do("POST", "/work_queues/", map[string]any{"name": "legacy"}).expect(http.StatusCreated).object()
		if legacy["work_pool_name"] != "default-agent-pool" || legacy["description"] != "" || legacy["priority"] != json.Number("2") {
			t.Errorf("legacy queue %v", legacy)
		}
		before := ts.do("POST", "/work_queues/filter", nil).expect(http.StatusOK).text()
		ts.do("POST", "/work_queues/", map[string]any{"name": "legacy"}).expect(http.StatusConflict).wantDetail("A work queue with this name already exists.")
		ts.do("POST", "/work_queues/", map[string]any{"name": "neg", "concurrency_limit": -1}).expect(http.StatusUnprocessableEntity)
		if after := ts.do("POST", "/work_queues/filter", nil).expect(http.StatusOK).text(); after != before {
			t.Errorf("refused creates changed the queues: %s", after)
		}

		pool := ts.do("POST", "/work_pools/", map[string]any{"name": "p", "type": "process", "concurrency_limit": 3}).expect(http.StatusCreated).object()
		queue := pool["default_queue_id"].(string)
		flow := ts.do("POST", "/flows/", map[string]any{"name": "f"}).expect(http.StatusCreated).object()["id"].(string)
		dep := ts.do("POST", "/deployments/", map[string]any{"name": "d", "flow_id": flow, "work_pool_name": "p"}).expect(http.StatusCreated).object()["id"].(string)
		waiting := ts.do("POST", "/deployments/"+dep+"/create_flow_run", map[string]any{}).expect(http.StatusCreated).object()["id"].(string)
		running := ts.do("POST", "/deployments/"+dep+"/create_flow_run", map[string]any{}).expect(http.StatusCreated).object()["id"].(string)
		ts.do("POST", "/flow_runs/"+running+"/set_state", map[string]any{"state": map[string]any{"type": "RUNNING"}}).expect(http.StatusCreated)

		// Never polled: unhealthy.
		status := ts.do("GET", "/work_queues/"+queue+"/status", nil).expect(http.StatusOK).object()
		if status["healthy"] != false || status["late_runs_count"] != json.Number("0") || status["last_polled"] != nil ||
			status["health_check_policy"].(map[string]any)["maximum_seconds_since_last_polled"] != json.Number("60") {
			t.Errorf("status of an unpolled queue %v", status)
		}
		// The UI looks without polling.
		req, err := http.NewRequestWithContext(t.Context(), "POST", ts.url+"/api/work_queues/"+queue+"/get_runs", strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Prefect-UI", "true")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), waiting) || strings.Contains(string(body), running) {
			t.Errorf("the UI's get_runs: %d %s", resp.StatusCode, body)
		}
		if got := ts.do("GET", "/work_queues/"+queue, nil).object(); got["last_polled"] != nil {
			t.Errorf("the UI's look polled the queue: %v", got)
		}
		runs := ts.do("POST", "/work_queues/"+queue+"/get_runs", map[string]any{"limit": 5}).expect(http.StatusOK).list()
		if len(runs) != 1 || runs[0]["id"] != waiting || runs[0]["state_type"] != "SCHEDULED" {
			t.Errorf("get_runs %v", runs)
		}
		if got := ts.do("GET", "/work_queues/"+queue, nil).object(); got["last_polled"] == nil || got["status"] != "READY" {
			t.Errorf("a polled queue %v", got)
		}
		if got := ts.do("GET", "/work_queues/"+queue+"/status", nil).expect(http.StatusOK).object(); got["healthy"] != true {
			t.Errorf("status of a polled queue %v", got)
		}
		if got := ts.do("POST", "/work_queues/"+queue+"/get_runs", map[string]any{"scheduled_before": "2000-01-01T00:00:00Z"}).expect(http.StatusOK).list(); len(got) != 0 {
			t.Errorf("runs due before 2000: %v", got)
		}
		ts.do("POST", "/work_queues/"+queue+"/get_runs", map[string]any{"limit": -1}).expect(http.StatusUnprocessableEntity).
			wantDetail("Invalid limit: must be greater than or equal to 0.")
		const missing = "00000000-0000-0000-0000-000000000000"
		if got := ts.do("POST", "/work_queues/"+missing+"/get_runs", nil).expect(http.StatusNotFound).object(); got["exception_message"] != "Work queue with id "+missing+" not found." {
			t.Errorf("get_runs of a missing queue %v", got)
		}
		if got := ts.do("GET", "/work_queues/"+missing+"/status", nil).expect(http.StatusNotFound).object(); got["exception_message"] != "Work queue with id "+missing+" not found" {
			t.Errorf("status of a missing queue %v", got)
		}
		// A queue named "status" is read by name, not taken for an id.
		ts.do("GET", "/work_queues/name/status", nil).expect(http.StatusNotFound).wantDetail("work queue not found")
		ts.do("POST", "/work_pools/p/queues", map[string]any{"name": "status"}).expect(http.StatusCreated)
		if got := ts.do("GET", "/work_queues/name/status", nil).expect(http.StatusOK).object(); got["name"] != "status" {
			t.Errorf("the queue named status %v", got)
		}

		cs := ts.do("POST", "/work_queues/"+queue+"/concurrency_status", nil).expect(http.StatusOK).object()
		holders, _ := cs["flow_runs"].([]any)
		if cs["active_slots"] != json.Number("1") || cs["count"] != json.Number("1") || cs["pages"] != json.Number("1") || len(holders) != 1 {
			t.Fatalf("queue concurrency %v", cs)
		}
		h := holders[0].(map[string]any)
		if h["id"] != running || h["state_type"] != "RUNNING" || h["state_name"] != "Running" || h["start_time"] == nil {
			t.Errorf("slot holder %v", h)
		}
		if d, err := h["time_in_current_state"].(json.Number).Float64(); err != nil || d < 0 {
			t.Errorf("time in state %v", h["time_in_current_state"])
		}
		if got := ts.do("POST", "/work_queues/"+queue+"/concurrency_status", map[string]any{"limit": 1, "page": 2}).expect(http.StatusOK).object(); len(got["flow_runs"].([]any)) != 0 || got["page"] != json.Number("2") {
			t.Errorf("page 2 %v", got)
		}
		ts.do("POST", "/work_queues/"+queue+"/concurrency_status", map[string]any{"page": 0}).expect(http.StatusUnprocessableEntity)
		ts.do("POST", "/work_queues/"+missing+"/concurrency_status", nil).expect(http.StatusNotFound).wantDetail("Work queue not found.")

		pc := ts.do("POST", "/work_pools/p/concurrency_status", nil).expect(http.StatusOK).object()
		qs, _ := pc["queues"].([]any)
		if pc["active_slots"] != json.Number("1") || pc["concurrency_limit"] != json.Number("3") || pc["count"] != json.Number("2") || len(qs) != 2 {
			t.Fatalf("pool concurrency %v", pc)
		}
		if q := qs[0].(map[string]any); q["queue_id"] != queue || q["flow_run_count"] != json.Number("1") || len(q["flow_runs"].([]any)) != 1 {
			t.Errorf("pool concurrency of the default queue %v", q)
		}
		pc = ts.do("POST", "/work_pools/p/concurrency_status", map[string]any{"flow_run_limit": 0, "limit": 1}).expect(http.StatusOK).object()
		if q := pc["queues"].([]any); len(q) != 1 || len(q[0].(map[string]any)["flow_runs"].([]any)) != 0 || pc["pages"] != json.Number("2") {
			t.Errorf("pool concurrency without runs, one queue a page %v", pc)
		}
		ts.do("POST", "/work_pools/p/concurrency_status", map[string]any{"flow_run_limit": 201}).expect(http.StatusUnprocessableEntity)
		ts.do("POST", "/work_pools/nope/concurrency_status", nil).expect(http.StatusNotFound).wantDetail("Work pool 'nope' not found.")

		check := ts.do("GET", "/deployments/"+dep+"/work_queue_check", nil).expect(http.StatusOK).list()
		found := false
		for _, q := range check {
			found = found || q["id"] == queue
			if _, has := q["status"]; has {
				t.Errorf("work_queue_check answers a full queue: %v", q)
			}
		}
		if !found || len(check) != 4 {
			t.Errorf("work_queue_check %v", check)
		}
		ts.do("GET", "/deployments/"+missing+"/work_queue_check", nil).expect(http.StatusNotFound).wantDetail("Deployment not found")
	})
}
