package api

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// A task-run state's id is the id of the client event that reported it, so a
// client can choose it. Reusing an id of another workspace's state never
// reads that state back: the recorder refuses the record, and run reads join
// only the run's own states.
func TestStateIDsStayInTheirWorkspace(t *testing.T) {
	forEachEngineWith(t, closedServer, func(t *testing.T, ts *testServer) {
		alice, bob := newTenant(t, ts, "alice"), newTenant(t, ts, "bob")
		a, b := alice.client, bob.client
		ab, bb := alice.base(), bob.base()
		t0 := time.Now().Add(-time.Minute)

		aFlow := a.do("POST", ab+"/flows/", map[string]any{"name": "f"}).expect(http.StatusCreated).object()["id"].(string)
		aRun := a.do("POST", ab+"/flow_runs/", map[string]any{"flow_id": aFlow}).expect(http.StatusCreated).object()["id"].(string)
		aTask := uuid.NewString()
		secret := taskRunEvent(aTask, aRun, "FAILED", "Failed", t0, 1, nil)
		vs := secret["payload"].(map[string]any)["validated_state"].(map[string]any)
		vs["message"] = "alice's secret message"
		vs["data"] = map[string]any{"secret": "alice's secret result"}
		secretID := secret["id"].(string)
		a.do("POST", ab+"/events", []map[string]any{secret}).expect(http.StatusNoContent)
		aliceTask := func() map[string]any { return a.do("GET", ab+"/task_runs/"+aTask, nil).expect(http.StatusOK).object() }
		if got := aliceTask(); got["state_id"] != secretID || !strings.Contains(normJSON(t, got["state"]), "secret") {
			t.Fatalf("alice's task run was not recorded with her state: %v", got)
		}
		before := normJSON(t, aliceTask())

		bFlow := b.do("POST", bb+"/flows/", map[string]any{"name": "f"}).expect(http.StatusCreated).object()["id"].(string)
		bRun := b.do("POST", bb+"/flow_runs/", map[string]any{"flow_id": bFlow}).expect(http.StatusCreated).object()["id"].(string)
		// Bob's own task run, then a newer state for it under alice's state id.
		bTask := uuid.NewString()
		b.do("POST", bb+"/events", []map[string]any{taskRunEvent(bTask, bRun, "PENDING", "Pending", t0, 0, nil)}).expect(http.StatusNoContent)
		newer := taskRunEvent(bTask, bRun, "COMPLETED", "Completed", t0.Add(time.Second), 1, nil)
		newer["id"] = secretID
		b.do("POST", bb+"/events", []map[string]any{newer}).expect(http.StatusNoContent)
		// A task run bob has not reported yet, whose first state takes the id.
		bFresh := uuid.NewString()
		fresh := taskRunEvent(bFresh, bRun, "RUNNING", "Running", t0.Add(2*time.Second), 1, nil)
		fresh["id"] = secretID
		fresh["payload"].(map[string]any)["task_run"].(map[string]any)["dynamic_key"] = "other"
		b.do("POST", bb+"/events", []map[string]any{fresh}).expect(http.StatusNoContent)

		got := b.do("GET", bb+"/task_runs/"+bTask, nil).expect(http.StatusOK)
		if strings.Contains(string(got.Body), "secret") {
			t.Errorf("bob's task run reads alice's state: %s", got.Body)
		}
		if tr := got.object(); tr["state_id"] == secretID || tr["state_type"] != "PENDING" {
			t.Errorf("bob's task run took the colliding state: state_id %v, state_type %v", tr["state_id"], tr["state_type"])
		}
		if resp := b.do("GET", bb+"/task_runs/"+bFresh, nil); resp.Status != http.StatusNotFound {
			t.Errorf("a task run recorded under another workspace's state id: %d %s", resp.Status, resp.Body)
		}
		for _, path := range []string{"/task_run_states/?task_run_id=" + bTask, "/task_run_states/" + secretID} {
			if resp := b.do("GET", bb+path, nil); strings.Contains(string(resp.Body), "secret") || strings.Contains(string(resp.Body), secretID) {
				t.Errorf("bob GET %s: %d %s", path, resp.Status, resp.Body)
			}
		}
		if list := b.do("POST", bb+"/task_runs/filter", map[string]any{}).expect(http.StatusOK); strings.Contains(string(list.Body), "secret") {
			t.Errorf("bob's task run list reads alice's state: %s", list.Body)
		}
		if after := normJSON(t, aliceTask()); after != before {
			t.Errorf("alice's task run changed:\nbefore %s\nafter  %s", before, after)
		}
		// A redelivery of alice's own event is still just that.
		a.do("POST", ab+"/events", []map[string]any{secret}).expect(http.StatusNoContent)
		if after := normJSON(t, aliceTask()); after != before {
			t.Errorf("redelivery changed alice's task run:\nbefore %s\nafter  %s", before, after)
		}
	})
}

// Subqueries of run filters see only the workspace's own rows: a run that
// names another workspace's task run as its parent changes neither that
// workspace's answers nor its own.
func TestRunFilterSubqueriesStayInTheirWorkspace(t *testing.T) {
	forEachEngineWith(t, closedServer, func(t *testing.T, ts *testServer) {
		alice, bob := newTenant(t, ts, "alice"), newTenant(t, ts, "bob")
		a, b := alice.client, bob.client
		ab, bb := alice.base(), bob.base()
		aFlow := a.do("POST", ab+"/flows/", map[string]any{"name": "f"}).expect(http.StatusCreated).object()["id"].(string)
		aRun := a.do("POST", ab+"/flow_runs/", map[string]any{"flow_id": aFlow}).expect(http.StatusCreated).object()["id"].(string)
		aTask := a.do("POST", ab+"/task_runs/", map[string]any{"flow_run_id": aRun, "task_key": "k", "dynamic_key": "0"}).expect(http.StatusCreated).object()["id"].(string)
		bFlow := b.do("POST", bb+"/flows/", map[string]any{"name": "f"}).expect(http.StatusCreated).object()["id"].(string)
		b.do("POST", bb+"/flow_runs/", map[string]any{"flow_id": bFlow, "parent_task_run_id": aTask}).expect(http.StatusCreated)

		subflows := map[string]any{"task_runs": map[string]any{"subflow_runs": map[string]any{"exists_": true}}}
		if got := a.do("POST", ab+"/task_runs/filter", subflows).expect(http.StatusOK).list(); len(got) != 0 {
			t.Errorf("alice's task run has a subflow in bob's workspace: %v", got)
		}
		if n := a.do("POST", ab+"/task_runs/count", subflows).expect(http.StatusOK); strings.TrimSpace(string(n.Body)) != "0" {
			t.Errorf("alice's subflow count: %s", n.Body)
		}
		children := map[string]any{"flow_runs": map[string]any{"parent_flow_run_id": map[string]any{"any_": []string{aRun}}}}
		if got := b.do("POST", bb+"/flow_runs/filter", children).expect(http.StatusOK).list(); len(got) != 0 {
			t.Errorf("bob's filter on alice's flow run id found runs: %v", got)
		}
	})
}

// A task run naming another workspace's flow run is answered exactly as one
// naming a flow run that does not exist, so flow run ids cannot be probed.
func TestTaskRunOfForeignFlowRun(t *testing.T) {
	forEachEngineWith(t, closedServer, func(t *testing.T, ts *testServer) {
		alice, bob := newTenant(t, ts, "alice"), newTenant(t, ts, "bob")
		ab, bb := alice.base(), bob.base()
		aFlow := alice.client.do("POST", ab+"/flows/", map[string]any{"name": "f"}).expect(http.StatusCreated).object()["id"].(string)
		aRun := alice.client.do("POST", ab+"/flow_runs/", map[string]any{"flow_id": aFlow}).expect(http.StatusCreated).object()["id"].(string)
		foreign := bob.client.do("POST", bb+"/task_runs/", map[string]any{"flow_run_id": aRun, "task_key": "k", "dynamic_key": "0"})
		missing := bob.client.do("POST", bb+"/task_runs/", map[string]any{"flow_run_id": uuid.NewString(), "task_key": "k", "dynamic_key": "0"})
		if foreign.Status != missing.Status || string(foreign.Body) != string(missing.Body) {
			t.Fatalf("another workspace's flow run: %d %s; a missing one: %d %s", foreign.Status, foreign.Body, missing.Status, missing.Body)
		}
		if foreign.Status/100 == 2 {
			t.Fatalf("a task run was created in another workspace's flow run: %s", foreign.Body)
		}
		if got := bob.client.do("POST", bb+"/task_runs/filter", map[string]any{}).expect(http.StatusOK).list(); len(got) != 0 {
			t.Fatalf("bob's workspace holds task runs: %v", got)
		}
	})
}
