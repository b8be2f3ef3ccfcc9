package api

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// serverEvent is an event as /events/filter answers it.
type serverEvent struct {
	ID       string            `json:"id"`
	Event    string            `json:"event"`
	Resource map[string]string `json:"resource"`
	Related  []map[string]string
	Payload  map[string]any `json:"payload"`
	Follows  *string        `json:"follows"`
}

// eventsWithPrefix reads the workspace's events whose names start with
// prefix, oldest first.
func eventsWithPrefix(ts *testServer, prefix string) []serverEvent {
	ts.t.Helper()
	var page struct {
		Events []serverEvent `json:"events"`
	}
	ts.do("POST", "/events/filter", map[string]any{"limit": 50, "filter": map[string]any{
		"event": map[string]any{"prefix": []string{prefix}}, "order": "ASC"}}).expect(http.StatusOK).decode(&page)
	return page.Events
}

func eventNames(events []serverEvent) []string {
	var out []string
	for _, e := range events {
		out = append(out, e.Event)
	}
	return out
}

// related returns e's related resource of role, or nil.
func (e serverEvent) related(role string) map[string]string {
	for _, r := range e.Related {
		if r["prefect.resource.role"] == role {
			return r
		}
	}
	return nil
}

// shapes lists events as "name resource-name", oldest first.
func shapes(events []serverEvent) []string {
	var out []string
	for _, e := range events {
		out = append(out, e.Event+" "+e.Resource["prefect.resource.name"])
	}
	return out
}

// Pools, queues and deployments emit Prefect's events, with its names and
// resources: created, updated (with the changed fields), deleted, and one
// per status change that committed (the pool's first status, the first
// heartbeat, the first poll, pausing and resuming); repeating a heartbeat,
// a poll or a pause changes nothing and emits nothing, nor does a refused
// update. A run of the deployment relates its state events to the
// deployment and to the pool with its type.
func TestWorkPoolAndDeploymentEvents(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		pool := ts.do("POST", "/work_pools/", map[string]any{"name": "p", "type": "process"}).expect(http.StatusCreated).object()
		poolRes := "prefect.work-pool." + pool["id"].(string)
		queue := ts.do("GET", "/work_pools/p/queues/default", nil).expect(http.StatusOK).object()
		queueRes := "prefect.work-queue." + queue["id"].(string)
		flowID := createFlow(t, ts, "f")
		dep := ts.do("POST", "/deployments/", map[string]any{"name": "d", "flow_id": flowID, "work_pool_name": "p", "tags": []string{"dt"}}).
			expect(http.StatusCreated).object()
		depID := dep["id"].(string)

		for range 2 {
			ts.do("POST", "/work_pools/p/workers/heartbeat", map[string]any{"name": "w"}).expect(http.StatusNoContent)
			ts.do("POST", "/work_pools/p/get_scheduled_flow_runs", map[string]any{}).expect(http.StatusOK)
		}
		// A runner's poll of a deployment already READY changes nothing.
		ts.do("POST", "/deployments/get_scheduled_flow_runs", map[string]any{"deployment_ids": []string{depID}}).expect(http.StatusOK)
		run := ts.do("POST", "/deployments/"+depID+"/create_flow_run", map[string]any{}).expect(http.StatusCreated).object()
		// A refused update (the name is taken) pauses nothing.
		ts.do("POST", "/work_pools/p/queues", map[string]any{"name": "other"}).expect(http.StatusCreated)
		ts.do("PATCH", "/work_pools/p/queues/default", map[string]any{"name": "other", "is_paused": true}).expect(http.StatusConflict)
		for range 2 {
			ts.do("PATCH", "/work_pools/p/queues/default", map[string]any{"is_paused": true}).expect(http.StatusNoContent)
			ts.do("PATCH", "/work_pools/p", map[string]any{"is_paused": true}).expect(http.StatusNoContent)
		}
		ts.do("PATCH", "/work_pools/p", map[string]any{"is_paused": false, "description": "pd"}).expect(http.StatusNoContent)
		ts.do("PATCH", "/work_pools/p/queues/other", map[string]any{"description": "qd"}).expect(http.StatusNoContent)
		ts.do("PATCH", "/deployments/"+depID, map[string]any{"description": "dd"}).expect(http.StatusNoContent)
		ts.do("PATCH", "/deployments/"+depID, map[string]any{"description": "dd"}).expect(http.StatusNoContent) // no change
		ts.do("DELETE", "/work_pools/p/queues/other", nil).expect(http.StatusNoContent)
		ts.do("DELETE", "/deployments/"+depID, nil).expect(http.StatusNoContent)
		ts.do("DELETE", "/work_pools/p", nil).expect(http.StatusNoContent)

		pools := eventsWithPrefix(ts, "prefect.work-pool.")
		if got, want := strings.Join(shapes(pools), ", "), "prefect.work-pool.created p, prefect.work-pool.not-ready p, prefect.work-pool.ready p, "+
			"prefect.work-pool.paused p, prefect.work-pool.updated p, prefect.work-pool.ready p, prefect.work-pool.deleted p"; got != want {
			t.Errorf("work pool events\n got %s\nwant %s", got, want)
		}
		for _, e := range pools {
			if e.Resource["prefect.resource.id"] != poolRes || e.Resource["prefect.work-pool.type"] != "process" {
				t.Errorf("%s: resource %v", e.Event, e.Resource)
			}
			status := !strings.HasSuffix(e.Event, ".created") && !strings.HasSuffix(e.Event, ".updated") && !strings.HasSuffix(e.Event, ".deleted")
			if status && (len(e.Related) != 0 || e.Resource["prefect.resource.role"] != "") {
				t.Errorf("%s: a status event with a role or related resources: %v %v", e.Event, e.Resource, e.Related)
			}
			if q := e.related("default-queue"); (e.Event == "prefect.work-pool.created" || e.Event == "prefect.work-pool.deleted") && (q == nil || q["prefect.resource.id"] != queueRes) {
				t.Errorf("%s: related %v", e.Event, e.Related)
			}
			if e.Event == "prefect.work-pool.updated" && normJSON(t, e.Payload["updated_fields"]) != `["description"]` {
				t.Errorf("pool updated: payload %v", e.Payload)
			}
		}
		queues := eventsWithPrefix(ts, "prefect.work-queue.")
		if got, want := strings.Join(shapes(queues), ", "), "prefect.work-queue.created default, prefect.work-queue.ready default, "+
			"prefect.work-queue.created other, prefect.work-queue.paused default, prefect.work-queue.updated other, "+
			"prefect.work-queue.deleted other, prefect.work-queue.deleted default"; got != want {
			t.Errorf("work queue events\n got %s\nwant %s", got, want)
		}
		for _, e := range queues {
			p := e.related("work-pool")
			if e.Resource["prefect.resource.role"] != "work-queue" || p == nil || p["prefect.resource.id"] != poolRes || p["prefect.resource.name"] != "p" ||
				p["prefect.work-pool.type"] != "process" {
				t.Errorf("%s: resource %v, related %v", e.Event, e.Resource, e.Related)
			}
			if e.Resource["prefect.resource.name"] == "default" && e.Resource["prefect.resource.id"] != queueRes {
				t.Errorf("%s: resource %v", e.Event, e.Resource)
			}
		}
		deps := eventsWithPrefix(ts, "prefect.deployment.")
		if got, want := strings.Join(shapes(deps), ", "), "prefect.deployment.created d, prefect.deployment.ready d, prefect.deployment.updated d, prefect.deployment.deleted d"; got != want {
			t.Errorf("deployment events\n got %s\nwant %s", got, want)
		}
		for _, e := range deps {
			f, q, p := e.related("flow"), e.related("work-queue"), e.related("work-pool")
			if e.Resource["prefect.resource.id"] != "prefect.deployment."+depID || f == nil || f["prefect.resource.id"] != "prefect.flow."+flowID ||
				f["prefect.resource.name"] != "f" || q == nil || q["prefect.resource.id"] != queueRes || p == nil || p["prefect.resource.id"] != poolRes {
				t.Errorf("%s: resource %v, related %v", e.Event, e.Resource, e.Related)
			}
			if e.Event == "prefect.deployment.updated" {
				if normJSON(t, e.Payload["updated_fields"]) != `["description"]` || normJSON(t, e.Payload["updates"]) != `{"description":{"from":null,"to":"dd"}}` {
					t.Errorf("deployment updated: payload %v", e.Payload)
				}
			}
		}
		runEvents := eventsWithPrefix(ts, "prefect.flow-run.")
		if len(runEvents) != 1 || runEvents[0].Resource["prefect.resource.id"] != "prefect.flow-run."+run["id"].(string) {
			t.Fatalf("flow run events %v", shapes(runEvents))
		}
		d, p := runEvents[0].related("deployment"), runEvents[0].related("work-pool")
		if d == nil || d["prefect.resource.id"] != "prefect.deployment."+depID || d["prefect.resource.name"] != "d" ||
			p == nil || p["prefect.work-pool.type"] != "process" || runEvents[0].related("tag")["prefect.resource.id"] != "prefect.tag.dt" {
			t.Errorf("the deployment's run: related %v", runEvents[0].Related)
		}
	})
}

// Task runs orchestrated over REST emit prefect.task-run.<state> as the
// flow runs' transitions do, labelled prefect.orchestration=server; the
// task-run recorder, which takes the client's events only, does not record
// them again when they come back to events/in, and a refused proposal
// emits nothing.
func TestRESTTaskRunStatesAreEvents(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		flowID := createFlow(t, ts, "f")
		run := createFlowRun(t, ts, flowID, map[string]any{"name": "the-run"})
		runID := run["id"].(string)
		task := ts.do("POST", "/task_runs/", map[string]any{"flow_run_id": runID, "task_key": "k", "dynamic_key": "0", "name": "t-0",
			"tags": []string{"b", "a", "b"}, "state": map[string]any{"type": "PENDING"}}).expect(http.StatusCreated).object()
		taskID := task["id"].(string)
		// Refused: the flow run is not running yet; and not a state at all.
		if res := ts.do("POST", "/task_runs/"+taskID+"/set_state", map[string]any{"state": map[string]any{"type": "RUNNING"}}).object(); res["status"] != "ABORT" {
			t.Fatalf("RUNNING in a PENDING flow run: %v", res)
		}
		ts.do("POST", "/task_runs/"+taskID+"/set_state", map[string]any{"state": map[string]any{"type": "BOGUS"}}).expect(http.StatusUnprocessableEntity)
		ts.do("POST", "/flow_runs/"+runID+"/set_state", map[string]any{"state": map[string]any{"type": "RUNNING"}}).expect(http.StatusCreated)
		ts.do("POST", "/task_runs/"+taskID+"/set_state", map[string]any{"state": map[string]any{"type": "RUNNING", "message": "go"}}).expect(http.StatusCreated)
		ts.do("POST", "/task_runs/"+taskID+"/set_state", map[string]any{"state": map[string]any{"type": "COMPLETED"}}).expect(http.StatusCreated)

		events := eventsWithPrefix(ts, "prefect.task-run.")
		if got, want := eventNames(events), []string{"prefect.task-run.Pending", "prefect.task-run.Running", "prefect.task-run.Completed"}; !slices.Equal(got, want) {
			t.Fatalf("task run events %v, want %v", got, want)
		}
		states := ts.do("GET", "/task_run_states/?task_run_id="+taskID, nil).expect(http.StatusOK).list()
		if len(states) != 3 {
			t.Fatalf("states %v", states)
		}
		for i, e := range events {
			if e.ID != states[i]["id"] {
				t.Errorf("%s: id %s, want the state's %s", e.Event, e.ID, states[i]["id"])
			}
			r := e.Resource
			if r["prefect.resource.id"] != "prefect.task-run."+taskID || r["prefect.resource.name"] != "t-0" || r["prefect.orchestration"] != "server" ||
				r["prefect.state-type"] != states[i]["type"] || r["prefect.state-name"] != states[i]["name"] || r["prefect.state-timestamp"] == "" {
				t.Errorf("%s: resource %v", e.Event, r)
			}
			fr, f := e.related("flow-run"), e.related("flow")
			if fr == nil || fr["prefect.resource.id"] != "prefect.flow-run."+runID || fr["prefect.resource.name"] != "the-run" ||
				f == nil || f["prefect.resource.id"] != "prefect.flow."+flowID || f["prefect.resource.name"] != "f" {
				t.Errorf("%s: related %v", e.Event, e.Related)
			}
			var tags []string
			for _, rel := range e.Related {
				if rel["prefect.resource.role"] == "tag" {
					tags = append(tags, strings.TrimPrefix(rel["prefect.resource.id"], "prefect.tag."))
				}
			}
			if !slices.Equal(tags, []string{"a", "b"}) {
				t.Errorf("%s: tags %v", e.Event, tags)
			}
		}
		running := events[1]
		if running.Follows == nil || *running.Follows != events[0].ID || running.Resource["prefect.state-message"] != "go" {
			t.Errorf("Running: follows %v, resource %v", running.Follows, running.Resource)
		}
		if intended, _ := running.Payload["intended"].(map[string]any); intended["from"] != "PENDING" || intended["to"] != "RUNNING" {
			t.Errorf("Running payload %v", running.Payload)
		}

		// Sent back to events/in with a new id (a relay, say), the event is
		// stored but records no state: the run is the server's already.
		relayed := map[string]any{"id": "0190c8c4-0000-7000-8000-000000000001", "occurred": states[1]["timestamp"], "event": running.Event,
			"resource": running.Resource, "related": running.Related, "payload": running.Payload}
		ts.do("POST", "/events", []any{relayed}).expect(http.StatusNoContent)
		if got := eventsWithPrefix(ts, "prefect.task-run."); len(got) != 4 {
			t.Fatalf("the relayed event was not stored: %v", eventNames(got))
		}
		if got := ts.do("GET", "/task_run_states/?task_run_id="+taskID, nil).expect(http.StatusOK).list(); len(got) != 3 {
			t.Errorf("the relayed server event was recorded: states %v", got)
		}
		// Nothing else was emitted for the flow run by its task run.
		if got := eventNames(eventsWithPrefix(ts, "prefect.flow-run.")); !slices.Equal(got, []string{"prefect.flow-run.Pending", "prefect.flow-run.Running"}) {
			t.Errorf("flow run events %v", got)
		}
	})
}
