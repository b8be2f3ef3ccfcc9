package compat

import (
	"slices"
	"testing"
	"time"
)

// TestPauseFlowRun runs a flow that pauses itself with the real client's
// pause_flow_run, which sends state_details.pause_timeout as epoch seconds,
// and is resumed through the API: the run passes through PAUSED with the
// timeout the client asked for, and completes.
func TestPauseFlowRun(t *testing.T) {
	forEachEngine(t, func(t *testing.T, api *apiClient) {
		before := time.Now()
		mustRunFlow(t, api, "pause_flow.py")

		run := onlyFlowRun(t, api, "pausing")
		if run.StateType != "COMPLETED" {
			t.Errorf("flow run %s: state_type %q, want COMPLETED", run.ID, run.StateType)
		}
		var states []stateInfo
		api.get(t, "/flow_run_states/?flow_run_id="+run.ID, &states)
		history, err := stateTypes(states)
		if err != nil {
			t.Error(err)
		}
		if want := []string{"PENDING", "RUNNING", "PAUSED", "RUNNING", "COMPLETED"}; !slices.Equal(history, want) {
			t.Fatalf("flow run %s: state types %v, want %v", run.ID, history, want)
		}
		paused := states[slices.Index(history, "PAUSED")]
		raw, _ := paused.StateDetails["pause_timeout"].(string)
		timeout, err := time.Parse(time.RFC3339Nano, raw)
		// pause_flow_run(timeout=60) asks for a deadline 60 s after it pauses.
		if err != nil || timeout.Before(before.Add(59*time.Second)) || timeout.After(time.Now().Add(61*time.Second)) {
			t.Errorf("PAUSED state %s: pause_timeout %q (%v), want about 60 s after the pause", paused.ID, raw, err)
		}
	})
}
