package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/praetorhq/praetor/internal/workertypes"
)

// processTemplate is the catalogue's default template of process pools.
func processTemplate(t *testing.T) map[string]any {
	t.Helper()
	typ, ok := workertypes.Lookup("process")
	if !ok {
		t.Fatal("no process type in the catalogue")
	}
	return typ.BaseJobTemplate()
}

// Work pools, their queues and workers with Prefect's routes, shapes and
// status codes.
func TestWorkPools(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		p := ts.do("POST", "/work_pools/", map[string]any{"name": "my-pool", "type": "process", "base_job_template": processTemplate(t)}).
			expect(http.StatusCreated).object()
		for k, want := range map[string]any{"name": "my-pool", "type": "process", "is_paused": false, "status": "NOT_READY",
			"concurrency_limit": nil, "active_slots": nil, "description": nil} {
			if p[k] != want {
				t.Errorf("created %s = %v, want %v", k, p[k], want)
			}
		}
		if sc, ok := p["storage_configuration"].(map[string]any); !ok || len(sc) != 3 {
			t.Errorf("storage_configuration %v", p["storage_configuration"])
		}
		queues := ts.do("POST", "/work_pools/my-pool/queues/filter", nil).expect(http.StatusOK).list()
		if len(queues) != 1 || queues[0]["name"] != "default" || queues[0]["id"] != p["default_queue_id"] || queues[0]["priority"] != json.Number("1") ||
			queues[0]["work_pool_name"] != "my-pool" {
			t.Fatalf("queues of a new pool: %v", queues)
		}
		// Prefect's refusals.
		before := ts.do("POST", "/work_pools/filter", nil).expect(http.StatusOK).text()
		ts.do("POST", "/work_pools/", map[string]any{"name": "my-pool", "type": "process"}).expect(http.StatusConflict).
			wantDetail("A work pool with this name already exists.")
		ts.do("POST", "/work_pools/", map[string]any{"name": "Prefect-managed", "type": "process"}).expect(http.StatusForbidden).
			wantDetail("Work pools starting with 'Prefect' are reserved for internal use.")
		ts.do("POST", "/work_pools/", map[string]any{"name": "neg", "concurrency_limit": -1}).expect(http.StatusUnprocessableEntity)
		ts.do("POST", "/work_pools/", map[string]any{"name": "bad-defaults", "base_job_template": map[string]any{
			"job_configuration": map[string]any{}, "variables": map[string]any{"type": "object",
				"properties": map[string]any{"n": map[string]any{"type": "integer", "default": "x"}}}}}).expect(http.StatusUnprocessableEntity)
		if after := ts.do("POST", "/work_pools/filter", nil).expect(http.StatusOK).text(); after != before {
			t.Errorf("refused creates changed the pools: %s", after)
		}
		ts.do("GET", "/work_pools/missing", nil).expect(http.StatusNotFound).wantDetail(`Work pool "missing" not found.`)

		ts.do("PATCH", "/work_pools/my-pool", map[string]any{"concurrency_limit": 2, "description": "d"}).expect(http.StatusNoContent)
		got := ts.do("GET", "/work_pools/my-pool", nil).expect(http.StatusOK).object()
		if got["concurrency_limit"] != json.Number("2") || got["active_slots"] != json.Number("0") || got["description"] != "d" {
			t.Errorf("updated pool %v", got)
		}
		if n := strings.TrimSpace(ts.do("POST", "/work_pools/count", nil).expect(http.StatusOK).text()); n != "1" {
			t.Errorf("count %s", n)
		}

		// Queues under the pool: priorities stay distinct.
		ts.do("POST", "/work_pools/my-pool/queues", map[string]any{"name": "urgent", "priority": 1}).expect(http.StatusCreated)
		ts.do("POST", "/work_pools/my-pool/queues", map[string]any{"name": "urgent"}).expect(http.StatusConflict)
		q := ts.do("GET", "/work_pools/my-pool/queues/default", nil).expect(http.StatusOK).object()
		if q["priority"] != json.Number("2") {
			t.Errorf("default queue after urgent took priority 1: %v", q["priority"])
		}
		ts.do("PATCH", "/work_pools/my-pool/queues/urgent", map[string]any{"is_paused": true}).expect(http.StatusNoContent)
		if got := ts.do("GET", "/work_queues/"+q["id"].(string), nil).expect(http.StatusOK).object(); got["name"] != "default" {
			t.Errorf("by id: %v", got)
		}
		ts.do("DELETE", "/work_pools/my-pool/queues/default", nil).expect(http.StatusUnprocessableEntity).wantDetail("Can't delete a pool's default queue.")
		ts.do("GET", "/work_pools/my-pool/queues/nope", nil).expect(http.StatusNotFound).wantDetail("Work pool queue 'my-pool/nope' not found.")

		// Workers: heartbeat, filter, delete; the pool becomes READY.
		ts.do("POST", "/work_pools/my-pool/workers/heartbeat", map[string]any{"name": "w1", "heartbeat_interval_seconds": 30}).expect(http.StatusNoContent)
		workers := ts.do("POST", "/work_pools/my-pool/workers/filter", nil).expect(http.StatusOK).list()
		if len(workers) != 1 || workers[0]["name"] != "w1" || workers[0]["status"] != "ONLINE" || workers[0]["work_pool_id"] != p["id"] {
			t.Fatalf("workers %v", workers)
		}
		hb, err := time.Parse(time.RFC3339Nano, workers[0]["last_heartbeat_time"].(string))
		if err != nil || time.Since(hb) > time.Minute {
			t.Errorf("last heartbeat %v (%v)", workers[0]["last_heartbeat_time"], err)
		}
		if got := ts.do("GET", "/work_pools/my-pool", nil).object()["status"]; got != "READY" {
			t.Errorf("pool with a worker: %v", got)
		}
		ts.do("POST", "/work_pools/missing/workers/heartbeat", map[string]any{"name": "w"}).expect(http.StatusNotFound)
		ts.do("DELETE", "/work_pools/my-pool/workers/nobody", nil).expect(http.StatusNotFound).wantDetail("Worker not found.")
		ts.do("DELETE", "/work_pools/my-pool/workers/w1", nil).expect(http.StatusNoContent)
		// No worker channel: the client falls back to REST.
		ts.do("GET", "/work_pools/my-pool/workers/connect", nil).expect(http.StatusNotFound)

		// The catalogue the CLI reads for other types.
		meta := ts.do("GET", "/collections/views/aggregate-worker-metadata", nil).expect(http.StatusOK).object()
		docker := meta["prefect-docker"].(map[string]any)["docker"].(map[string]any)
		if docker["type"] != "docker" || docker["default_base_job_configuration"].(map[string]any)["variables"] == nil {
			t.Errorf("docker entry %v", docker)
		}
		ts.do("GET", "/collections/views/nothing", nil).expect(http.StatusNotFound)

		ts.do("DELETE", "/work_pools/prefect-x", nil).expect(http.StatusForbidden)
		ts.do("DELETE", "/work_pools/my-pool", nil).expect(http.StatusNoContent)
		ts.do("GET", "/work_pools/my-pool", nil).expect(http.StatusNotFound)
	})
}

// A worker's poll honours queue priority, pauses, the pool's and queues'
// limits (PENDING and RUNNING runs hold slots) and the window, and marks
// the queues and deployments READY (acceptance 5, at the API).
func TestGetScheduledFlowRunsOfPool(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		ts.do("POST", "/work_pools/", map[string]any{"name": "p", "type": "process", "concurrency_limit": 2}).expect(http.StatusCreated)
		ts.do("POST", "/work_pools/p/queues", map[string]any{"name": "high", "priority": 1}).expect(http.StatusCreated)
		ts.do("POST", "/work_pools/p/queues", map[string]any{"name": "paused", "is_paused": true}).expect(http.StatusCreated)
		flow := ts.do("POST", "/flows/", map[string]any{"name": "f"}).expect(http.StatusCreated).object()["id"].(string)
		dep := ts.do("POST", "/deployments/", map[string]any{"name": "d", "flow_id": flow, "work_pool_name": "p"}).expect(http.StatusCreated).object()
		if dep["work_queue_name"] != "default" || dep["work_queue_id"] == nil {
			t.Fatalf("deployment without a queue name got %v %v", dep["work_queue_name"], dep["work_queue_id"])
		}
		depID := dep["id"].(string)
		past := time.Now().UTC().Add(-time.Minute)
		runIn := func(queue string, at time.Time) string {
			run := ts.do("POST", "/deployments/"+depID+"/create_flow_run", map[string]any{"work_queue_name": queue,
				"state": map[string]any{"type": "SCHEDULED", "state_details": map[string]any{"scheduled_time": at.Format(time.RFC3339Nano)}}}).
				expect(http.StatusCreated).object()
			if run["work_queue_name"] != queue || run["work_queue_id"] == nil || run["work_pool_name"] != "p" {
				t.Fatalf("run in %s: queue %v %v pool %v", queue, run["work_queue_name"], run["work_queue_id"], run["work_pool_name"])
			}
			return run["id"].(string)
		}
		var defaults []string
		for i := range 10 {
			defaults = append(defaults, runIn("default", past.Add(time.Duration(i)*time.Second)))
		}
		high := runIn("high", past.Add(30*time.Second))
		runIn("paused", past)
		poll := func() []string {
			got := ts.do("POST", "/work_pools/p/get_scheduled_flow_runs", map[string]any{
				"scheduled_before": time.Now().UTC().Add(10 * time.Second).Format(time.RFC3339Nano), "work_queue_names": []string{}}).
				expect(http.StatusOK).list()
			var ids []string
			for _, wr := range got {
				ids = append(ids, wr["flow_run"].(map[string]any)["id"].(string))
				if wr["work_pool_id"] == nil || wr["work_queue_id"] == nil {
					t.Errorf("worker run without pool or queue: %v", wr)
				}
			}
			return ids
		}
		// The high queue first, then the oldest default run: two slots.
		if got := poll(); len(got) != 2 || got[0] != high || got[1] != defaults[0] {
			t.Fatalf("first poll %v, want [%s %s]", got, high, defaults[0])
		}
		claim := func(id string) {
			res := ts.do("POST", "/flow_runs/"+id+"/set_state", map[string]any{"state": map[string]any{"type": "PENDING"}}).expect(http.StatusCreated).object()
			if res["status"] != "ACCEPT" {
				t.Fatalf("claim %s: %v", id, res)
			}
		}
		claim(high)
		claim(defaults[0])
		// Both slots held: nothing more until one frees.
		if got := poll(); len(got) != 0 {
			t.Fatalf("a full pool served %v", got)
		}
		ts.do("POST", "/flow_runs/"+high+"/set_state", map[string]any{"state": map[string]any{"type": "COMPLETED"}, "force": true}).expect(http.StatusCreated)
		if got := poll(); len(got) != 1 || got[0] != defaults[1] {
			t.Fatalf("with one slot free: %v", got)
		}
		// The poll made the queues and the deployment READY.
		if got := ts.do("GET", "/work_pools/p/queues/default", nil).object(); got["status"] != "READY" || got["last_polled"] == nil {
			t.Errorf("polled queue %v %v", got["status"], got["last_polled"])
		}
		if got := ts.do("GET", "/work_pools/p/queues/paused", nil).object(); got["status"] != "PAUSED" {
			t.Errorf("polled paused queue %v", got["status"])
		}
		if got := ts.do("GET", "/deployments/"+depID, nil).object(); got["status"] != "READY" || got["last_polled"] == nil {
			t.Errorf("polled deployment %v %v", got["status"], got["last_polled"])
		}
		ts.do("POST", "/work_pools/p/get_scheduled_flow_runs", map[string]any{"work_queue_names": []string{"nope"}}).expect(http.StatusNotFound)
		ts.do("POST", "/work_pools/p/get_scheduled_flow_runs", map[string]any{"limit": 201}).expect(http.StatusUnprocessableEntity)
	})
}

// A deployment's work pool must exist and its job variables fit the pool's
// template; a run's must include the required ones (acceptance 7).
func TestDeploymentJobVariables(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		template := processTemplate(t)
		vars := template["variables"].(map[string]any)
		vars["required"] = []string{"working_dir"}
		ts.do("POST", "/work_pools/", map[string]any{"name": "p", "type": "process", "base_job_template": template}).expect(http.StatusCreated)
		flow := ts.do("POST", "/flows/", map[string]any{"name": "f"}).expect(http.StatusCreated).object()["id"].(string)
		state := deploymentState(t, ts)
		before := state()
		ts.do("POST", "/deployments/", map[string]any{"name": "d", "flow_id": flow, "work_pool_name": "nowhere"}).
			expect(http.StatusNotFound).wantDetail(`Work pool "nowhere" not found.`)
		resp := ts.do("POST", "/deployments/", map[string]any{"name": "d", "flow_id": flow, "work_pool_name": "p",
			"job_variables": map[string]any{"stream_output": "loud"}}).expect(http.StatusUnprocessableEntity)
		if !strings.Contains(resp.detail(), "Error creating deployment: Validation failed for field 'stream_output'") {
			t.Errorf("422 detail %q", resp.detail())
		}
		if after := state(); after != before {
			t.Fatalf("refused deployments changed the workspace")
		}
		// Required variables may be left to the run; the run must have them.
		dep := ts.do("POST", "/deployments/", map[string]any{"name": "d", "flow_id": flow, "work_pool_name": "p",
			"job_variables": map[string]any{"env": map[string]any{"A": "1"}}}).expect(http.StatusCreated).object()["id"].(string)
		ts.do("PATCH", "/deployments/"+dep, map[string]any{"job_variables": map[string]any{"env": "not a map"}}).expect(http.StatusUnprocessableEntity)
		before = state()
		resp = ts.do("POST", "/deployments/"+dep+"/create_flow_run", map[string]any{}).expect(http.StatusUnprocessableEntity)
		if !strings.Contains(resp.detail(), "Error creating flow run") || !strings.Contains(resp.detail(), "working_dir") {
			t.Errorf("422 detail %q", resp.detail())
		}
		if after := state(); after != before {
			t.Fatalf("a refused run changed the workspace")
		}
		ts.do("POST", "/deployments/"+dep+"/create_flow_run", map[string]any{"job_variables": map[string]any{"working_dir": "/tmp"}}).expect(http.StatusCreated)
	})
}

// wantDetail checks the response's Prefect detail.
func (r *testResponse) wantDetail(want string) *testResponse {
	r.t.Helper()
	if got := r.detail(); got != want {
		r.t.Errorf("%s: detail %q, want %q", r.req, got, want)
	}
	return r
}

// text is the response body.
func (r *testResponse) text() string { return string(r.Body) }

// Every work-pool route asks for one permission: viewers read, the Worker
// role gets what a worker needs (read, heartbeat, poll, claim and report
// runs, logs, the inputs of a run that waits for input) and nothing that changes pools or queues; developers change
// them.
func TestWorkPoolRoles(t *testing.T) {
	forEachEngineWith(t, closedServer, func(t *testing.T, ts *testServer) {
		alice, bob := newTenant(t, ts, "alice"), newTenant(t, ts, "bob")
		a, ab := alice.client, alice.base()
		queue := a.do("POST", ab+"/work_pools/", map[string]any{"name": "p", "type": "process"}).expect(http.StatusCreated).object()["default_queue_id"].(string)
		a.do("POST", ab+"/work_pools/p/queues", map[string]any{"name": "q"}).expect(http.StatusCreated)
		flow := a.do("POST", ab+"/flows/", map[string]any{"name": "f"}).expect(http.StatusCreated).object()["id"].(string)
		dep := a.do("POST", ab+"/deployments/", map[string]any{"name": "d", "flow_id": flow, "work_pool_name": "p"}).expect(http.StatusCreated).object()["id"].(string)
		run := a.do("POST", ab+"/deployments/"+dep+"/create_flow_run", map[string]any{}).expect(http.StatusCreated).object()["id"].(string)
		join(t, alice, bob, "member")
		setRole := func(role string) {
			a.do("PUT", ab+"/members/"+bob.userID.String(), map[string]any{"role": role}).expect(http.StatusNoContent)
		}
		b := bob.client
		changes := []struct{ method, path, body string }{
			{"POST", "/work_pools/", `{"name":"new","type":"process"}`}, {"PATCH", "/work_pools/p", `{"is_paused":true}`},
			{"DELETE", "/work_pools/p", ""}, {"POST", "/work_pools/p/queues", `{"name":"new"}`},
			{"PATCH", "/work_pools/p/queues/q", `{"is_paused":true}`}, {"DELETE", "/work_pools/p/queues/q", ""},
			{"DELETE", "/work_pools/p/workers/w", ""}, {"POST", "/work_queues/", `{"name":"new"}`},
		}
		refused := func(role string, extra ...struct{ method, path, body string }) {
			t.Helper()
			for _, p := range append(changes, extra...) {
				if resp := b.do(p.method, ab+p.path, p.body); resp.Status != http.StatusForbidden {
					t.Errorf("%s %s %s: %d %s, want 403", role, p.method, p.path, resp.Status, resp.Body)
				}
			}
		}
		reads := []string{"/work_pools/filter", "/work_pools/p/queues/filter", "/work_pools/p/workers/filter", "/work_queues/filter"}

		setRole("viewer")
		for _, p := range reads {
			b.do("POST", ab+p, "{}").expect(http.StatusOK)
		}
		b.do("GET", ab+"/work_pools/p", nil).expect(http.StatusOK)
		refused("viewer", struct{ method, path, body string }{"POST", "/work_pools/p/workers/heartbeat", `{"name":"w"}`},
			struct{ method, path, body string }{"POST", "/work_pools/p/get_scheduled_flow_runs", "{}"},
			struct{ method, path, body string }{"POST", "/flow_runs/" + run + "/input", `{"key":"k","value":"1"}`},
			struct{ method, path, body string }{"POST", "/work_queues/" + queue + "/get_runs", "{}"})
		// What a worker reads of its queues and pool, viewers read too.
		views := []struct{ method, path string }{{"GET", "/work_queues/" + queue + "/status"}, {"POST", "/work_queues/" + queue + "/concurrency_status"},
			{"POST", "/work_pools/p/concurrency_status"}, {"GET", "/deployments/" + dep + "/work_queue_check"}}
		for _, v := range views {
			b.do(v.method, ab+v.path, nil).expect(http.StatusOK)
		}

		setRole("worker")
		b.do("GET", ab+"/work_pools/p", nil).expect(http.StatusOK)
		for _, v := range views {
			b.do(v.method, ab+v.path, nil).expect(http.StatusOK)
		}
		b.do("POST", ab+"/work_queues/"+queue+"/get_runs", map[string]any{"limit": 0}).expect(http.StatusOK)
		b.do("GET", ab+"/deployments/"+dep, nil).expect(http.StatusOK)
		b.do("POST", ab+"/work_pools/p/workers/heartbeat", map[string]any{"name": "w"}).expect(http.StatusNoContent)
		if got := b.do("POST", ab+"/work_pools/p/get_scheduled_flow_runs", map[string]any{}).expect(http.StatusOK).list(); len(got) != 1 {
			t.Fatalf("the worker's poll: %v", got)
		}
		b.do("POST", ab+"/flow_runs/"+run+"/set_state", map[string]any{"state": map[string]any{"type": "PENDING"}}).expect(http.StatusCreated)
		b.do("PATCH", ab+"/flow_runs/"+run, map[string]any{"infrastructure_pid": "host:1"}).expect(http.StatusNoContent)
		b.do("POST", ab+"/logs/", []map[string]any{{"name": "n", "level": 20, "message": "m", "timestamp": "2026-01-01T00:00:00Z", "flow_run_id": run}}).
			expect(http.StatusCreated)
		// What a flow the worker runs does when it waits for input: store
		// the input's schema, then read and filter its inputs.
		b.do("POST", ab+"/flow_runs/"+run+"/input", map[string]any{"key": "paused-1-schema", "value": "{}"}).expect(http.StatusCreated)
		b.do("GET", ab+"/flow_runs/"+run+"/input/paused-1-schema", nil).expect(http.StatusOK)
		b.do("POST", ab+"/flow_runs/"+run+"/input/filter", map[string]any{"prefix": "paused"}).expect(http.StatusOK)
		refused("worker", struct{ method, path, body string }{"POST", "/deployments/" + dep + "/create_flow_run", "{}"})

		setRole("developer")
		b.do("PATCH", ab+"/work_pools/p", map[string]any{"is_paused": true}).expect(http.StatusNoContent)
		b.do("POST", ab+"/work_pools/p/queues", map[string]any{"name": "dev"}).expect(http.StatusCreated)
	})
}

// POST /flow_runs/filter, /flow_runs/count and /deployments/filter take
// Prefect's work_pools filter: the runs and deployments of matching pools.
func TestFiltersByWorkPool(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		flow := ts.do("POST", "/flows/", map[string]any{"name": "f"}).expect(http.StatusCreated).object()["id"].(string)
		ids := map[string]string{}
		for _, pool := range []string{"a", "b"} {
			ts.do("POST", "/work_pools/", map[string]any{"name": pool, "type": "process"}).expect(http.StatusCreated)
			dep := ts.do("POST", "/deployments/", map[string]any{"name": "d-" + pool, "flow_id": flow, "work_pool_name": pool}).expect(http.StatusCreated).object()["id"].(string)
			ids[pool] = ts.do("POST", "/deployments/"+dep+"/create_flow_run", map[string]any{}).expect(http.StatusCreated).object()["id"].(string)
		}
		ts.do("POST", "/flow_runs/", map[string]any{"flow_id": flow}).expect(http.StatusCreated)
		byName := map[string]any{"work_pools": map[string]any{"name": map[string]any{"any_": []string{"a"}}}}
		runs := ts.do("POST", "/flow_runs/filter", byName).expect(http.StatusOK).list()
		if len(runs) != 1 || runs[0]["id"] != ids["a"] {
			t.Errorf("the runs of pool a: %v, want %s alone", runs, ids["a"])
		}
		var n int
		ts.do("POST", "/flow_runs/count", map[string]any{"work_pools": map[string]any{"type": map[string]any{"any_": []string{"process"}}}}).expect(http.StatusOK).decode(&n)
		if n != 2 {
			t.Errorf("%d runs in process pools, want 2", n)
		}
		deps := ts.do("POST", "/deployments/filter", byName).expect(http.StatusOK).list()
		if len(deps) != 1 || deps[0]["name"] != "d-a" {
			t.Errorf("the deployments of pool a: %v, want d-a alone", deps)
		}
	})
}
