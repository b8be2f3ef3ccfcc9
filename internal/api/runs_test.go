package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/store"
)

func createFlow(t *testing.T, ts *testServer, name string) string {
	t.Helper()
	return ts.do("POST", "/flows/", map[string]any{"name": name}).object()["id"].(string)
}

func createFlowRun(t *testing.T, ts *testServer, flowID string, extra map[string]any) map[string]any {
	t.Helper()
	body := map[string]any{"flow_id": flowID, "state": map[string]any{"type": "PENDING"}}
	for k, v := range extra {
		body[k] = v
	}
	return ts.do("POST", "/flow_runs/", body).expect(http.StatusCreated).object()
}

// setState proposes a state and returns the orchestration result.
func setState(t *testing.T, ts *testServer, kind, id string, state map[string]any, force bool) (int, map[string]any) {
	t.Helper()
	resp := ts.do("POST", "/"+kind+"/"+id+"/set_state", map[string]any{"state": state, "force": force})
	if resp.Status != http.StatusOK && resp.Status != http.StatusCreated {
		t.Fatalf("set_state %v: %d %s", state, resp.Status, resp.Body)
	}
	return resp.Status, resp.object()
}

func stateTypes(t *testing.T, ts *testServer, kind, param, id string) []string {
	t.Helper()
	var out []string
	for _, s := range ts.do("GET", "/"+kind+"/?"+param+"="+id, nil).expect(http.StatusOK).list() {
		out = append(out, s["type"].(string)+":"+s["name"].(string))
	}
	return out
}

func TestFlowUpsertByName(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		first := ts.do("POST", "/flows/", map[string]any{"name": "etl", "tags": []string{"a"}}).expect(http.StatusCreated).object()
		again := ts.do("POST", "/flows/", map[string]any{"name": "etl"}).expect(http.StatusOK).object()
		if first["id"] != again["id"] {
			t.Fatalf("upsert made a second flow: %v vs %v", first["id"], again["id"])
		}
		got := ts.do("GET", "/flows/name/etl", nil).expect(http.StatusOK).object()
		if got["id"] != first["id"] || normJSON(t, got["tags"]) != `["a"]` {
			t.Fatalf("read by name: %v", got)
		}
		ts.do("DELETE", "/flows/"+first["id"].(string), nil).expect(http.StatusNoContent)
		ts.do("GET", "/flows/"+first["id"].(string), nil).expect(http.StatusNotFound)
	})
}

func TestFlowRunLifecycle(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		run := createFlowRun(t, ts, createFlow(t, ts, "Testing"), nil)
		id := run["id"].(string)
		if run["state_type"] != "PENDING" || run["name"] == "" {
			t.Fatalf("created run: %v", run)
		}
		tid := uuid.NewString()
		status, res := setState(t, ts, "flow_runs", id, map[string]any{"type": "RUNNING", "state_details": map[string]any{"transition_id": tid}}, false)
		if status != http.StatusCreated || res["status"] != "ACCEPT" {
			t.Fatalf("to RUNNING: %d %v", status, res)
		}
		// A retried HTTP call repeats its transition id: rejected, nothing written.
		status, res = setState(t, ts, "flow_runs", id, map[string]any{"type": "RUNNING", "state_details": map[string]any{"transition_id": tid}}, false)
		if status != http.StatusOK || res["status"] != "REJECT" {
			t.Fatalf("duplicate transition: %d %v", status, res)
		}
		// A second worker claiming a running run is aborted.
		if _, res = setState(t, ts, "flow_runs", id, map[string]any{"type": "PENDING"}, false); res["status"] != "ABORT" {
			t.Fatalf("claim of a running run: %v", res)
		}
		if _, res = setState(t, ts, "flow_runs", id, map[string]any{"type": "COMPLETED"}, false); res["status"] != "ACCEPT" {
			t.Fatalf("to COMPLETED: %v", res)
		}
		if _, res = setState(t, ts, "flow_runs", id, map[string]any{"type": "CRASHED"}, false); res["status"] != "ABORT" {
			t.Fatalf("terminal to CRASHED: %v", res)
		}
		got := ts.do("GET", "/flow_runs/"+id, nil).expect(http.StatusOK).object()
		if got["state_type"] != "COMPLETED" || got["run_count"] != json.Number("1") || got["start_time"] == nil || got["end_time"] == nil {
			t.Fatalf("final run: %v", got)
		}
		if h := strings.Join(stateTypes(t, ts, "flow_run_states", "flow_run_id", id), " "); h != "PENDING:Pending RUNNING:Running COMPLETED:Completed" {
			t.Fatalf("history %s", h)
		}
		ts.do("DELETE", "/flow_runs/"+id, nil).expect(http.StatusNoContent)
		ts.do("GET", "/flow_runs/"+id, nil).expect(http.StatusNotFound)
	})
}

func TestFlowRunRetriesThroughAwaitingRetry(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		run := createFlowRun(t, ts, createFlow(t, ts, "retry"), map[string]any{"empirical_policy": map[string]any{"retries": 1, "retry_delay": 0}})
		id := run["id"].(string)
		setState(t, ts, "flow_runs", id, map[string]any{"type": "RUNNING"}, false)
		_, res := setState(t, ts, "flow_runs", id, map[string]any{"type": "FAILED", "message": "boom"}, false)
		state := res["state"].(map[string]any)
		if res["status"] != "REJECT" || state["name"] != "AwaitingRetry" || state["message"] != "boom" {
			t.Fatalf("first failure: %v", res)
		}
		setState(t, ts, "flow_runs", id, map[string]any{"type": "RUNNING"}, false)
		if _, res = setState(t, ts, "flow_runs", id, map[string]any{"type": "FAILED", "message": "boom"}, false); res["status"] != "ACCEPT" {
			t.Fatalf("failure with retries exhausted: %v", res)
		}
		got := ts.do("GET", "/flow_runs/"+id, nil).object()
		if got["run_count"] != json.Number("2") || got["state_type"] != "FAILED" {
			t.Fatalf("after retries: run_count %v state %v", got["run_count"], got["state_type"])
		}
	})
}

func TestFlowRunIdempotencyKey(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		flow := createFlow(t, ts, "idem")
		first := createFlowRun(t, ts, flow, map[string]any{"idempotency_key": "k1"})
		again := ts.do("POST", "/flow_runs/", map[string]any{"flow_id": flow, "idempotency_key": "k1"}).expect(http.StatusOK).object()
		if first["id"] != again["id"] {
			t.Fatalf("idempotent create made a second run")
		}
	})
}

func TestFlowRunFilters(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		etl, other := createFlow(t, ts, "etl"), createFlow(t, ts, "other")
		a := createFlowRun(t, ts, etl, map[string]any{"name": "alpha", "tags": []string{"prod", "nightly"}})
		b := createFlowRun(t, ts, etl, map[string]any{"name": "beta", "tags": []string{"prod"}})
		c := createFlowRun(t, ts, other, map[string]any{"name": "gamma"})
		setState(t, ts, "flow_runs", b["id"].(string), map[string]any{"type": "RUNNING"}, false)
		names := func(body map[string]any) string {
			var out []string
			for _, r := range ts.do("POST", "/flow_runs/filter", body).expect(http.StatusOK).list() {
				out = append(out, r["name"].(string))
			}
			return strings.Join(out, ",")
		}
		cases := []struct {
			name string
			body map[string]any
			want string
		}{
			{"tags all", map[string]any{"flow_runs": map[string]any{"tags": map[string]any{"all_": []string{"prod", "nightly"}}}, "sort": "NAME_ASC"}, "alpha"},
			{"tags any", map[string]any{"flow_runs": map[string]any{"tags": map[string]any{"any_": []string{"prod"}}}, "sort": "NAME_ASC"}, "alpha,beta"},
			{"state type", map[string]any{"flow_runs": map[string]any{"state": map[string]any{"type": map[string]any{"any_": []string{"RUNNING"}}}}}, "beta"},
			{"state not", map[string]any{"flow_runs": map[string]any{"state": map[string]any{"type": map[string]any{"not_any_": []string{"RUNNING"}}}}, "sort": "NAME_DESC"}, "gamma,alpha"},
			{"name like", map[string]any{"flow_runs": map[string]any{"name": map[string]any{"like_": "amm"}}}, "gamma"},
			{"by flow name", map[string]any{"flows": map[string]any{"name": map[string]any{"any_": []string{"etl"}}}, "sort": "NAME_ASC"}, "alpha,beta"},
			{"ids", map[string]any{"flow_runs": map[string]any{"id": map[string]any{"any_": []any{a["id"], c["id"]}}}, "sort": "NAME_ASC"}, "alpha,gamma"},
			{"empty any matches nothing", map[string]any{"flow_runs": map[string]any{"id": map[string]any{"any_": []any{}}}}, ""},
			{"or operator", map[string]any{"flow_runs": map[string]any{"operator": "or_", "name": map[string]any{"any_": []string{"alpha"}}, "tags": map[string]any{"is_null_": true}}, "sort": "NAME_ASC"}, "alpha,gamma"},
			{"paging", map[string]any{"sort": "NAME_ASC", "limit": 1, "offset": 1}, "beta"},
			{"nulls mean defaults", map[string]any{"flow_runs": nil, "sort": nil, "limit": nil, "offset": 0}, "gamma,beta,alpha"},
		}
		for _, c := range cases {
			if got := names(c.body); got != c.want {
				t.Errorf("%s: got %q, want %q", c.name, got, c.want)
			}
		}
		var n int
		ts.do("POST", "/flow_runs/count", map[string]any{"flows": map[string]any{"name": map[string]any{"any_": []string{"etl"}}}}).decode(&n)
		if n != 2 {
			t.Fatalf("count = %d, want 2", n)
		}
		ts.do("POST", "/flows/count", nil).decode(&n)
		if n != 2 {
			t.Fatalf("flow count = %d", n)
		}
	})
}

// A subflow's states are mirrored onto the task run that tracks it in the
// parent, and the child is found through parent_task_run_id.
func TestSubflowTracksParentTask(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		flow := createFlow(t, ts, "parent")
		parent := createFlowRun(t, ts, flow, nil)
		setState(t, ts, "flow_runs", parent["id"].(string), map[string]any{"type": "RUNNING"}, false)
		task := ts.do("POST", "/task_runs/", map[string]any{"flow_run_id": parent["id"], "task_key": "child-abc", "dynamic_key": "0", "name": "child-0"}).expect(http.StatusCreated).object()
		ts.do("POST", "/task_runs/", map[string]any{"flow_run_id": parent["id"], "task_key": "child-abc", "dynamic_key": "0"}).expect(http.StatusOK)
		child := createFlowRun(t, ts, createFlow(t, ts, "child"), map[string]any{"parent_task_run_id": task["id"]})
		childID := child["id"].(string)
		setState(t, ts, "flow_runs", childID, map[string]any{"type": "RUNNING"}, false)
		setState(t, ts, "flow_runs", childID, map[string]any{"type": "COMPLETED"}, false)
		tr := ts.do("GET", "/task_runs/"+task["id"].(string), nil).expect(http.StatusOK).object()
		details := tr["state"].(map[string]any)["state_details"].(map[string]any)
		if tr["state_type"] != "COMPLETED" || details["child_flow_run_id"] != childID {
			t.Fatalf("parent task run: %v / %v", tr["state_type"], details)
		}
		found := ts.do("POST", "/flow_runs/filter", map[string]any{"flow_runs": map[string]any{"parent_task_run_id": map[string]any{"any_": []any{task["id"]}}}}).list()
		if len(found) != 1 || found[0]["id"] != childID {
			t.Fatalf("child by parent task: %v", found)
		}
		subs := ts.do("POST", "/flow_runs/filter", map[string]any{"flow_runs": map[string]any{"parent_flow_run_id": map[string]any{"any_": []any{parent["id"]}}}}).list()
		if len(subs) != 1 {
			t.Fatalf("children of parent run: %d", len(subs))
		}
	})
}

// taskRunEvent builds a 3.x client's task-run state event.
func taskRunEvent(taskRunID, flowRunID string, stateType, stateName string, at time.Time, runCount int, inputs map[string]any) map[string]any {
	return map[string]any{
		"id":       uuid.Must(uuid.NewV7()).String(),
		"occurred": at.UTC().Format(time.RFC3339Nano),
		"event":    "prefect.task-run." + stateName,
		"resource": map[string]string{"prefect.resource.id": "prefect.task-run." + taskRunID, "prefect.orchestration": "client",
			"prefect.state-type": stateType, "prefect.state-name": stateName},
		"related": []map[string]string{{"prefect.resource.id": "prefect.flow-run." + flowRunID, "prefect.resource.role": "flow-run"}},
		"payload": map[string]any{
			"validated_state": map[string]any{"type": stateType, "name": stateName, "message": "", "state_details": map[string]any{}},
			"task_run": map[string]any{"name": "say-abc", "task_key": "say-1", "dynamic_key": "abc", "run_count": runCount,
				"empirical_policy": map[string]any{"retries": 2}, "tags": []string{"t"}, "task_inputs": inputs},
		},
	}
}

// dialEvents opens /events/in or /events/out with Prefect's handshake.
func dialEvents(t *testing.T, ts *testServer, path, token string) (*websocket.Conn, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(ts.url, "http")+"/api"+path, &websocket.DialOptions{Subprotocols: []string{"prefect"}})
	if err != nil {
		return nil, err
	}
	auth, _ := json.Marshal(map[string]any{"type": "auth", "token": token})
	if err := conn.Write(ctx, websocket.MessageText, auth); err != nil {
		return nil, err
	}
	_, msg, err := conn.Read(ctx)
	if err != nil {
		return nil, err
	}
	if !strings.Contains(string(msg), "auth_success") {
		return nil, fmt.Errorf("handshake answered %s", msg)
	}
	return conn, nil
}

// eventually polls cond until it holds or the deadline passes; the
// deadline is long, for a loaded machine, and costs nothing when cond holds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The task-run recorder turns websocket events into task runs, keeps the
// newest state when events arrive out of order, and ignores redelivery.
func TestTaskRunRecorder(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		flowRun := createFlowRun(t, ts, createFlow(t, ts, "f"), nil)["id"].(string)
		upstream := uuid.NewString()
		taskRun := uuid.NewString()
		inputs := map[string]any{"x": []map[string]any{{"input_type": "task_run", "id": upstream}}}
		t0 := time.Now().Add(-time.Minute)
		pending := taskRunEvent(taskRun, flowRun, "PENDING", "Pending", t0, 0, inputs)
		running := taskRunEvent(taskRun, flowRun, "RUNNING", "Running", t0.Add(time.Second), 1, inputs)
		completed := taskRunEvent(taskRun, flowRun, "COMPLETED", "Completed", t0.Add(2*time.Second), 1, inputs)
		conn, err := dialEvents(t, ts, "/events/in", "")
		if err != nil {
			t.Fatal(err)
		}
		defer conn.CloseNow()
		for _, e := range []map[string]any{pending, completed, running, completed} { // out of order, one twice
			b, _ := json.Marshal(e)
			if err := conn.Write(t.Context(), websocket.MessageText, b); err != nil {
				t.Fatal(err)
			}
		}
		conn.Close(websocket.StatusNormalClosure, "")
		// The run is read after its three states are in: read together, the
		// run could predate the last of them.
		eventually(t, "the recorded task run", func() bool {
			return len(stateTypes(t, ts, "task_run_states", "task_run_id", taskRun)) == 3
		})
		tr := ts.do("GET", "/task_runs/"+taskRun, nil).expect(http.StatusOK).object()
		if tr["state_type"] != "COMPLETED" || tr["flow_run_id"] != flowRun || tr["run_count"] != json.Number("1") {
			t.Fatalf("recorded task run: %v", tr)
		}
		if got := normJSON(t, tr["task_inputs"]); !strings.Contains(got, upstream) {
			t.Fatalf("task_inputs lost the upstream reference: %s", got)
		}
		var n int
		ts.do("POST", "/task_runs/count", map[string]any{"flow_runs": map[string]any{"id": map[string]any{"any_": []string{flowRun}}}}).decode(&n)
		if n != 1 {
			t.Fatalf("%d task runs in the flow run, want 1", n)
		}
		graph := ts.do("GET", "/flow_runs/"+flowRun+"/graph", nil).expect(http.StatusOK).list()
		if len(graph) != 1 || !strings.Contains(normJSON(t, graph[0]["upstream_dependencies"]), upstream) {
			t.Fatalf("graph: %v", graph)
		}
	})
}

// events/out streams newly ingested events that match the subscriber's
// filter, and only those.
func TestEventsOut(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		conn, err := dialEvents(t, ts, "/events/out", "")
		if err != nil {
			t.Fatal(err)
		}
		defer conn.CloseNow()
		filter, _ := json.Marshal(map[string]any{"type": "filter", "backfill": false,
			"filter": map[string]any{"event": map[string]any{"prefix": []string{"wanted."}}}})
		if err := conn.Write(t.Context(), websocket.MessageText, filter); err != nil {
			t.Fatal(err)
		}
		ev := func(name string) map[string]any {
			return map[string]any{"id": uuid.NewString(), "occurred": time.Now().UTC().Format(time.RFC3339Nano), "event": name,
				"resource": map[string]string{"prefect.resource.id": "r"}, "related": []any{}, "payload": map[string]any{}}
		}
		// Subscription happens after the filter frame: retry until it is in place.
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		got := make(chan string, 10)
		go func() {
			for {
				_, msg, err := conn.Read(ctx)
				if err != nil {
					return
				}
				var m struct {
					Event struct {
						Event string `json:"event"`
					} `json:"event"`
				}
				json.Unmarshal(msg, &m)
				got <- m.Event.Event
			}
		}()
		for {
			ts.do("POST", "/events", []map[string]any{ev("unwanted.x"), ev("wanted.y")}).expect(http.StatusNoContent)
			select {
			case name := <-got:
				if name != "wanted.y" {
					t.Fatalf("subscriber received %q", name)
				}
				return
			case <-time.After(200 * time.Millisecond):
			case <-ctx.Done():
				t.Fatal("no event reached the subscriber")
			}
		}
	})
}

func TestLogs(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		run := createFlowRun(t, ts, createFlow(t, ts, "f"), nil)["id"].(string)
		now := time.Now().UTC()
		var batch []map[string]any
		for i, level := range []int{10, 20, 30, 40} {
			batch = append(batch, map[string]any{"name": "prefect.flow_runs", "level": level, "message": fmt.Sprintf("line %d", i),
				"timestamp": now.Add(time.Duration(i) * time.Millisecond).Format(time.RFC3339Nano), "flow_run_id": run})
		}
		batch = append(batch, map[string]any{"name": "other", "level": 50, "message": "elsewhere", "timestamp": now.Format(time.RFC3339Nano)})
		ts.do("POST", "/logs/", batch).expect(http.StatusCreated)
		logs := ts.do("POST", "/logs/filter", map[string]any{"logs": map[string]any{"flow_run_id": map[string]any{"any_": []string{run}}, "level": map[string]any{"ge_": 30}}, "sort": "TIMESTAMP_DESC"}).expect(http.StatusOK).list()
		if len(logs) != 2 || logs[0]["message"] != "line 3" || logs[1]["message"] != "line 2" {
			t.Fatalf("filtered logs: %v", logs)
		}
	})
}

// runsSnapshot is everything the run route families store.
func runsSnapshot(t *testing.T, ts *testServer) string {
	t.Helper()
	ctx := t.Context()
	ws := ts.workspace.ID
	flows, err := ts.store.ListFlows(ctx, ws, store.RunQuery{})
	check(t, err)
	runs, err := ts.store.ListFlowRuns(ctx, ws, store.RunQuery{})
	check(t, err)
	tasks, err := ts.store.ListTaskRuns(ctx, ws, store.RunQuery{})
	check(t, err)
	logs, err := ts.store.ListLogs(ctx, ws, store.LogQuery{})
	check(t, err)
	events, _, err := ts.store.ListEvents(ctx, ws, store.EventQuery{Limit: 200})
	check(t, err)
	var states []any
	for _, r := range runs {
		s, err := ts.store.ListFlowRunStates(ctx, ws, r.ID)
		check(t, err)
		states = append(states, s)
	}
	// Estimates move with the clock; everything else must stay put.
	for _, r := range runs {
		r.EstimatedRunTime, r.EstimatedStartTimeDelta = 0, 0
	}
	for _, r := range tasks {
		r.EstimatedRunTime, r.EstimatedStartTimeDelta = 0, 0
	}
	return normJSON(t, []any{flows, runs, tasks, logs, events, states})
}

func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Bad input on the run route families gets a 4xx with a JSON error body and
// leaves the database as it was.
func TestRunRoutesBadInput(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		flow := createFlow(t, ts, "f")
		run := createFlowRun(t, ts, flow, nil)["id"].(string)
		setState(t, ts, "flow_runs", run, map[string]any{"type": "RUNNING"}, false)
		setState(t, ts, "flow_runs", run, map[string]any{"type": "COMPLETED"}, false)
		task := ts.do("POST", "/task_runs/", map[string]any{"flow_run_id": run, "task_key": "k", "dynamic_key": "0"}).expect(http.StatusCreated).object()["id"].(string)
		unknown := uuid.NewString()
		huge := `[{"name":"x","level":20,"message":"` + strings.Repeat("a", maxBody) + `","timestamp":"2026-01-01T00:00:00Z"}]`
		before := runsSnapshot(t, ts)
		expectRefused(t, ts, func() string { return runsSnapshot(t, ts) }, []refused{
			{"POST", "/flows/", `{bad`, 422, ""},
			{"POST", "/flows/", `{"name":5}`, 422, ""},
			{"POST", "/flows/", `{}`, 422, ""},
			{"POST", "/flows/", `{"name":"a/b"}`, 422, ""},
			{"POST", "/flows/", `[]`, 422, ""},
			{"GET", "/flows/" + unknown, ``, 404, ""},
			{"GET", "/flows/nope", ``, 404, ""},
			{"PATCH", "/flows/" + unknown, `{"tags":[]}`, 404, ""},
			{"PATCH", "/flows/" + flow, `{"tags":"x"}`, 422, ""},
			{"DELETE", "/flows/" + unknown, ``, 404, ""},
			{"POST", "/flows/filter", `{"limit":201}`, 422, ""},
			{"POST", "/flows/filter", `{"sort":"SIDEWAYS"}`, 422, ""},
			{"POST", "/flows/filter", `{"flows":{"id":{"any_":["not-a-uuid"]}}}`, 422, ""},
			{"POST", "/flow_runs/", `{}`, 422, ""},
			{"POST", "/flow_runs/", `{"flow_id":"` + unknown + `"}`, 409, ""},
			{"POST", "/flow_runs/", `{"flow_id":"` + flow + `","state":{"type":"NOPE"}}`, 422, ""},
			{"POST", "/flow_runs/", `{"flow_id":"` + flow + `","parameters":[1]}`, 422, ""},
			{"POST", "/flow_runs/", `{"flow_id":"` + flow + `","tags":"x"}`, 422, ""},
			{"GET", "/flow_runs/" + unknown, ``, 404, ""},
			{"PATCH", "/flow_runs/" + run, `{"name":7}`, 422, ""},
			{"PATCH", "/flow_runs/" + unknown, `{"name":"x"}`, 404, ""},
			{"PATCH", "/flow_runs/" + run + "/labels", `[1]`, 422, ""},
			{"DELETE", "/flow_runs/" + unknown, ``, 404, ""},
			{"POST", "/flow_runs/" + run + "/set_state", `{}`, 422, ""},
			{"POST", "/flow_runs/" + run + "/set_state", `{"state":{"type":"DONE"}}`, 422, ""},
			{"POST", "/flow_runs/" + run + "/set_state", `{"state":{"type":"RUNNING"},"force":"yes"}`, 422, ""},
			{"POST", "/flow_runs/" + unknown + "/set_state", `{"state":{"type":"RUNNING"}}`, 404, ""},
			{"POST", "/flow_runs/filter", `{"flow_runs":{"start_time":{"before_":"yesterday"}}}`, 422, ""},
			{"POST", "/flow_runs/filter", `{"limit":-1}`, 422, ""},
			{"POST", "/flow_runs/count", `{"flow_runs":5}`, 422, ""},
			{"GET", "/flow_runs/" + unknown + "/graph", ``, 404, ""},
			{"GET", "/flow_run_states/?flow_run_id=nope", ``, 422, ""},
			{"GET", "/flow_run_states/" + unknown, ``, 404, ""},
			{"POST", "/task_runs/", `{"flow_run_id":"` + run + `"}`, 422, ""},
			{"POST", "/task_runs/", `{"flow_run_id":"` + unknown + `","task_key":"k","dynamic_key":"1"}`, 409, ""},
			{"GET", "/task_runs/" + unknown, ``, 404, ""},
			{"PATCH", "/task_runs/" + task, `{"name":5}`, 422, ""},
			{"POST", "/task_runs/" + task + "/set_state", `{"state":{"type":"WHAT"}}`, 422, ""},
			{"POST", "/task_runs/" + unknown + "/set_state", `{"state":{"type":"RUNNING"}}`, 404, ""},
			{"DELETE", "/task_runs/" + unknown, ``, 404, ""},
			{"GET", "/task_run_states/?task_run_id=", ``, 422, ""},
			{"POST", "/logs/", `{"name":"x"}`, 422, ""},
			{"POST", "/logs/", `[{"name":"x","level":"high","message":"m","timestamp":"2026-01-01T00:00:00Z"}]`, 422, ""},
			{"POST", "/logs/", `[{"name":"x","level":20,"message":"m"}]`, 422, ""},
			{"POST", "/logs/", `[{"name":"x","level":20,"message":"m","timestamp":"noon"}]`, 422, ""},
			{"POST", "/logs/", huge, 413, ""},
			{"POST", "/logs/filter", `{"sort":"RANDOM"}`, 422, ""},
			{"POST", "/events", `[{"event":"x","resource":{}}]`, 422, ""},
			{"POST", "/events", `[{"event":"","resource":{"prefect.resource.id":"r"}}]`, 422, ""},
			{"POST", "/events", `[{"event":"x","resource":{"prefect.resource.id":"r"},"related":[{"prefect.resource.id":"y"}]}]`, 422, ""},
			{"POST", "/events", `{"event":"x"}`, 422, ""},
			{"POST", "/events/filter", `{"limit":51}`, 422, ""},
			{"GET", "/events/filter/next?page-token=garbage", ``, 403, ""},
		})
		// Illegal transitions are refused by the rules and write nothing.
		for _, st := range []string{"CRASHED", "CANCELLING", "PAUSED"} {
			if _, res := setState(t, ts, "flow_runs", run, map[string]any{"type": st}, false); res["status"] == "ACCEPT" {
				t.Errorf("COMPLETED → %s was accepted", st)
			}
		}
		if after := runsSnapshot(t, ts); after != before {
			t.Fatal("a refused transition changed the database")
		}
	})
}

// Flow-run transitions emit Prefect's prefect.flow-run.<State> events: stored
// with the state's id, published live, related to the flow and tags; a
// refused transition emits nothing.
func TestFlowRunStateEvents(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		conn, err := dialEvents(t, ts, "/events/out", "")
		if err != nil {
			t.Fatal(err)
		}
		defer conn.CloseNow()
		filter, _ := json.Marshal(map[string]any{"type": "filter", "backfill": false,
			"filter": map[string]any{"event": map[string]any{"prefix": []string{"prefect.flow-run."}}}})
		check(t, conn.Write(t.Context(), websocket.MessageText, filter))
		live := make(chan string, 20)
		go func() {
			for {
				_, msg, err := conn.Read(t.Context())
				if err != nil {
					return
				}
				var m struct {
					Event struct {
						Event string `json:"event"`
					} `json:"event"`
				}
				json.Unmarshal(msg, &m)
				live <- m.Event.Event
			}
		}()
		// The subscription is registered after the filter frame; give the
		// server a moment by waiting for an event that must arrive.
		var run map[string]any
		eventually(t, "the first live flow-run event", func() bool {
			run = createFlowRun(t, ts, createFlow(t, ts, "evented"), map[string]any{"tags": []string{"nightly"}})
			select {
			case name := <-live:
				return name == "prefect.flow-run.Pending"
			case <-time.After(100 * time.Millisecond):
				return false
			}
		})
		id := run["id"].(string)
		_, res := setState(t, ts, "flow_runs", id, map[string]any{"type": "RUNNING"}, false)
		setState(t, ts, "flow_runs", id, map[string]any{"type": "PENDING"}, false) // aborted: no event
		select {
		case name := <-live:
			if name != "prefect.flow-run.Running" {
				t.Fatalf("live event %q, want prefect.flow-run.Running", name)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no live event for RUNNING")
		}
		page := ts.do("POST", "/events/filter", map[string]any{"filter": map[string]any{
			"resource": map[string]any{"id": []string{"prefect.flow-run." + id}}, "order": "ASC"}}).expect(http.StatusOK).object()
		evs := page["events"].([]any)
		if len(evs) != 2 {
			t.Fatalf("%d stored events for the run, want 2 (PENDING, RUNNING): %v", len(evs), evs)
		}
		running := evs[1].(map[string]any)
		resource := running["resource"].(map[string]any)
		if running["id"] != res["state"].(map[string]any)["id"] || resource["prefect.state-type"] != "RUNNING" || resource["prefect.run-count"] != "1" {
			t.Fatalf("RUNNING event: %v", running)
		}
		related := normJSON(t, running["related"])
		if !strings.Contains(related, `"prefect.resource.role":"flow"`) || !strings.Contains(related, "prefect.tag.nightly") {
			t.Fatalf("related resources: %s", related)
		}
		if running["follows"] != evs[0].(map[string]any)["id"] {
			t.Fatalf("RUNNING does not follow PENDING: %v", running["follows"])
		}
		payload := normJSON(t, running["payload"])
		if !strings.Contains(payload, `"intended":{"from":"PENDING","to":"RUNNING"}`) {
			t.Fatalf("payload: %s", payload)
		}
	})
}

// events/filter pages with an absolute next_page URL, as Prefect's server.
func TestEventPages(t *testing.T) {
	forEachEngineWith(t, closedServer, func(t *testing.T, ts *testServer) {
		alice := newTenant(t, ts, "alice")
		c := alice.client
		var batch []map[string]any
		for i := range 5 {
			batch = append(batch, map[string]any{"event": fmt.Sprintf("paged.%d", i), "resource": map[string]string{"prefect.resource.id": "r"}})
		}
		c.do("POST", alice.base()+"/events", batch).expect(http.StatusNoContent)
		first := c.do("POST", alice.base()+"/events/filter", map[string]any{"limit": 3, "filter": map[string]any{"event": map[string]any{"prefix": []string{"paged."}}}}).expect(http.StatusOK).object()
		next, _ := first["next_page"].(string)
		if want := ts.url + "/api" + alice.base() + "/events/filter/next?page-token="; !strings.HasPrefix(next, want) {
			t.Fatalf("next_page %q, want it under %q", next, want)
		}
		second := c.do("GET", strings.TrimPrefix(next, ts.url+"/api"), nil).expect(http.StatusOK).object()
		seen := map[string]bool{}
		for _, page := range []map[string]any{first, second} {
			for _, e := range page["events"].([]any) {
				seen[e.(map[string]any)["event"].(string)] = true
			}
		}
		if len(seen) != 5 || second["next_page"] != nil {
			t.Fatalf("two pages hold %d distinct events (want 5), second next_page %v", len(seen), second["next_page"])
		}
	})
}

// A burst larger than one websocket's queue is stored whole: the reader
// waits for room instead of dropping or growing without bound.
func TestEventsInBurst(t *testing.T) {
	ts := newTestServer(t)
	conn, err := dialEvents(t, ts, "/events/in", "")
	if err != nil {
		t.Fatal(err)
	}
	const n = 2*maxPendingEvents + 500
	for i := range n {
		e, _ := json.Marshal(map[string]any{"id": uuid.Must(uuid.NewV7()).String(), "event": fmt.Sprintf("burst.%d", i),
			"occurred": "2026-01-01T00:00:00Z", "resource": map[string]string{"prefect.resource.id": "r"}})
		check(t, conn.Write(t.Context(), websocket.MessageText, e))
	}
	conn.Close(websocket.StatusNormalClosure, "")
	eventually(t, "every event of the burst", func() bool {
		_, total, err := ts.store.ListEvents(t.Context(), ts.workspace.ID, store.EventQuery{Limit: 1})
		return err == nil && total == n
	})
}
