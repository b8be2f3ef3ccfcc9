package compat

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// logsStartingWith lists the messages of a run's logs that start with prefix.
func logsStartingWith(ctx context.Context, api *apiClient, runID, prefix string) ([]string, error) {
	var logs []logInfo
	if err := api.call(ctx, "POST", "/logs/filter", obj{"logs": obj{"flow_run_id": anyOf(runID)}, "sort": "TIMESTAMP_ASC"}, &logs); err != nil {
		return nil, err
	}
	var out []string
	for _, l := range logs {
		if strings.HasPrefix(l.Message, prefix) {
			out = append(out, l.Message)
		}
	}
	return out, nil
}

// TestPauseAndSuspendWithInput: one flow.serve() process of the real client
// serves a flow that waits for input (acceptance 3 of issue 19).
//   - pause_flow_run(wait_for_input=<pydantic model>, timeout=300): the
//     run is PAUSED with the timeout the client asked for (it sends
//     state_details.pause_timeout as epoch seconds) and the schema its
//     client stored; input that does not fit is
//     refused (200 REJECT with the reason, as Prefect's server answers) and
//     the run stays PAUSED with nothing stored; input that fits resumes it
//     and the flow receives it; its states are SCHEDULED, PENDING (the
//     runner's claim, then its submission), RUNNING, PAUSED, RUNNING,
//     COMPLETED, as on Prefect's server.
//   - suspend_flow_run(wait_for_input=<RunInput>): the run is PAUSED
//     ("Suspended", pause_reschedule) and its process exits; resumed with
//     input it goes SCHEDULED ("Resuming"), the runner runs it again in a
//     new process, and the flow receives the input.
func TestPauseAndSuspendWithInput(t *testing.T) {
	forEachEngine(t, func(t *testing.T, api *apiClient) {
		startServeScript(t, api, "input_serve.py")
		var dep deploymentInfo
		eventually(t, 60*time.Second, "the served deployment", func(ctx context.Context) (bool, string) {
			err := api.call(ctx, "GET", "/deployments/name/awaiting-input/input", nil, &dep)
			return err == nil, fmt.Sprint(err)
		})
		var paused, suspended flowRunInfo
		before := time.Now()
		api.post(t, "/deployments/"+dep.ID+"/create_flow_run", obj{"parameters": obj{"mode": "pause"}}, &paused)
		api.post(t, "/deployments/"+dep.ID+"/create_flow_run", obj{"parameters": obj{"mode": "suspend"}}, &suspended)

		// waitPaused waits for the run to be PAUSED with the schema of its
		// input stored, and returns the state's keyset.
		waitPaused := func(id, name string) map[string]any {
			t.Helper()
			var keyset map[string]any
			if !eventually(t, 120*time.Second, "run "+id+" to wait for input", func(ctx context.Context) (bool, string) {
				var r flowRunInfo
				if err := api.call(ctx, "GET", "/flow_runs/"+id, nil, &r); err != nil || r.State == nil || r.StateType != "PAUSED" {
					return false, fmt.Sprintf("%+v %v", r, err)
				}
				keyset, _ = r.State.StateDetails["run_input_keyset"].(map[string]any)
				var schema map[string]any
				err := api.call(ctx, "GET", "/flow_runs/"+id+"/input/"+fmt.Sprint(keyset["schema"]), nil, &schema)
				return err == nil && r.State.Name == name, fmt.Sprintf("state %s, keyset %v, schema %v (%v)", r.State.Name, keyset, schema, err)
			}) {
				t.FailNow()
			}
			return keyset
		}
		resume := func(id string, input obj) map[string]any {
			t.Helper()
			var res map[string]any
			api.post(t, "/flow_runs/"+id+"/resume", obj{"run_input": input}, &res)
			return res
		}
		received := func(id, prefix string) string {
			t.Helper()
			var got []string
			eventually(t, 120*time.Second, "run "+id+" to complete with what it received", func(ctx context.Context) (bool, string) {
				var r flowRunInfo
				err := api.call(ctx, "GET", "/flow_runs/"+id, nil, &r)
				got, _ = logsStartingWith(ctx, api, id, "received ")
				return r.StateType == "COMPLETED" && len(got) == 1, fmt.Sprintf("%s, logs %v (%v)", r.StateType, got, err)
			})
			if len(got) != 1 || !strings.HasPrefix(got[0], prefix) {
				t.Fatalf("run %s received %v, want %q…", id, got, prefix)
			}
			return got[0]
		}

		keyset := waitPaused(paused.ID, "Paused")
		for _, bad := range []obj{{"name": "Ada"}, {"name": "Ada", "age": "old"}} {
			res := resume(paused.ID, bad)
			details, _ := res["details"].(map[string]any)
			state, _ := res["state"].(map[string]any)
			if reason, _ := details["reason"].(string); res["status"] != "REJECT" || !strings.HasPrefix(reason, "Reason: Validation failed") || state["type"] != "PAUSED" {
				t.Errorf("resume with %v: %v, want a REJECT with the reason", bad, res)
			}
		}
		var r flowRunInfo
		api.get(t, "/flow_runs/"+paused.ID, &r)
		err := api.call(t.Context(), "GET", "/flow_runs/"+paused.ID+"/input/"+fmt.Sprint(keyset["response"]), nil, nil)
		if r.StateType != "PAUSED" || err == nil || !strings.Contains(err.Error(), "status 404") {
			t.Errorf("after refused input: the run is %s, its response %v; want PAUSED and none", r.StateType, err)
		}
		if res := resume(paused.ID, obj{"name": "Ada", "age": 36}); res["status"] != "ACCEPT" {
			t.Errorf("resume with good input: %v", res)
		}
		received(paused.ID, "received name=Ada age=36 ")
		var states []stateInfo
		api.get(t, "/flow_run_states/?flow_run_id="+paused.ID, &states)
		history, err := stateTypes(states)
		if err != nil {
			t.Error(err)
		}
		if want := []string{"SCHEDULED", "PENDING", "PENDING", "RUNNING", "PAUSED", "RUNNING", "COMPLETED"}; !slices.Equal(history, want) {
			t.Fatalf("flow run %s: state types %v, want %v", paused.ID, history, want)
		}
		pausedState := states[slices.Index(history, "PAUSED")]
		raw, _ := pausedState.StateDetails["pause_timeout"].(string)
		timeout, err := time.Parse(time.RFC3339Nano, raw)
		// pause_flow_run(timeout=300) asks for a deadline 300 s after it pauses.
		if err != nil || timeout.Before(before.Add(299*time.Second)) || timeout.After(time.Now().Add(301*time.Second)) {
			t.Errorf("PAUSED state %s: pause_timeout %q (%v), want about 300 s after the pause", pausedState.ID, raw, err)
		}

		waitPaused(suspended.ID, "Suspended")
		// The client ships the log in the background: it may come after
		// the suspension.
		var started []string
		if !eventually(t, logWait, "the suspended run's start log", func(ctx context.Context) (bool, string) {
			var err error
			started, err = logsStartingWith(ctx, api, suspended.ID, "started pid=")
			return err == nil && len(started) == 1, fmt.Sprintf("%v (%v)", started, err)
		}) {
			return
		}
		pid, err := strconv.Atoi(strings.TrimPrefix(started[0], "started pid="))
		if err != nil {
			t.Fatal(err)
		}
		// Its process is gone (the runner reaps it).
		eventually(t, 60*time.Second, "the suspended run's process to exit", func(context.Context) (bool, string) {
			err := syscall.Kill(pid, 0)
			return errors.Is(err, syscall.ESRCH), fmt.Sprintf("kill(%d, 0): %v", pid, err)
		})
		api.get(t, "/flow_runs/"+suspended.ID, &r)
		if r.StateType != "PAUSED" || r.State.StateDetails["pause_reschedule"] != true {
			t.Fatalf("the suspended run after its process exited: %+v", r.State)
		}
		res := resume(suspended.ID, obj{"approver": "grace", "level": 3})
		if state, _ := res["state"].(map[string]any); res["status"] != "ACCEPT" || state["type"] != "SCHEDULED" || state["name"] != "Resuming" {
			t.Errorf("resume the suspended run: %v", res)
		}
		got := received(suspended.ID, "received approver=grace level=3 ")
		if strings.HasSuffix(got, fmt.Sprintf("pid=%d", pid)) {
			t.Errorf("the resumed run ran in its first process: %q", got)
		}
	})
}
