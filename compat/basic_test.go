package compat

import (
	"slices"
	"testing"
)

// TestBasicFlow runs the "Testing" flow of the getting-started guide, which
// logs one warning, and checks the flow, its run, the run's states and the log.
func TestBasicFlow(t *testing.T) {
	forEachEngine(t, func(t *testing.T, api *apiClient) {
		mustRunFlow(t, api, "basic_flow.py")

		run := onlyFlowRun(t, api, "Testing")
		if run.StateType != "COMPLETED" {
			t.Errorf("flow run %s: state_type %q, want COMPLETED", run.ID, run.StateType)
		}
		if run.State == nil || run.State.Type != "COMPLETED" {
			t.Errorf("flow run %s: state %+v, want a COMPLETED state", run.ID, run.State)
		}

		var states []stateInfo
		api.get(t, "/flow_run_states/?flow_run_id="+run.ID, &states)
		history, err := stateTypes(states)
		if want := []string{"PENDING", "RUNNING", "COMPLETED"}; !slices.Equal(history, want) {
			t.Errorf("GET /flow_run_states/?flow_run_id=%s: state types %v, want %v", run.ID, history, want)
		}
		if err != nil {
			t.Errorf("GET /flow_run_states/?flow_run_id=%s: %v", run.ID, err)
		}

		if _, err := findLog(t.Context(), api, run.ID, 30, "The fun is about to begin"); err != nil {
			t.Error(err)
		}
	})
}
