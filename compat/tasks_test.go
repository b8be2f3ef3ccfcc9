package compat

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// retriesMapSubflowTasks counts the task runs of retries_map_subflow.py's
// flow run by task name; "child" is the task run that tracks the subflow.
var retriesMapSubflowTasks = map[string]int{"flaky": 1, "double": 3, "add_all": 1, "child": 1}

// TestRetriesMapSubflow runs a flow with a task that succeeds on its retry,
// a mapped task whose futures feed another task, and a subflow, and checks
// the task runs the server recorded from the client's events and the subflow
// run's link to its parent.
func TestRetriesMapSubflow(t *testing.T) {
	forEachEngine(t, func(t *testing.T, api *apiClient) {
		attemptsFile := filepath.Join(t.TempDir(), "attempts")
		mustRunFlow(t, api, "retries_map_subflow.py", "PRAETOR_COMPAT_ATTEMPTS_FILE="+attemptsFile)
		if b, err := os.ReadFile(attemptsFile); err != nil || strings.Count(string(b), "\n") != 2 {
			t.Fatalf("the flaky task should have run twice; attempts file: %q, %v", b, err)
		}

		parent := onlyFlowRun(t, api, "retries-map-subflow")
		if parent.StateType != "COMPLETED" {
			t.Errorf("parent flow run %s: state_type %q, want COMPLETED", parent.ID, parent.StateType)
		}

		tasks, err := settledTaskRuns(t.Context(), api, parent.ID, retriesMapSubflowTasks)
		if err != nil {
			t.Fatal(err)
		}
		byName := make(map[string][]taskRunInfo)
		for _, tr := range tasks {
			byName[tr.taskName()] = append(byName[tr.taskName()], tr)
		}

		if flaky := byName["flaky"][0]; flaky.RunCount != 2 {
			t.Errorf("task run %s (%s) has run_count %d, want 2 (one failure, one retry)", flaky.ID, flaky.Name, flaky.RunCount)
		}

		addAll := byName["add_all"][0]
		var mapped []string
		for _, tr := range byName["double"] {
			mapped = append(mapped, tr.ID)
		}
		var inputs []string
		for _, in := range addAll.TaskInputs["values"] {
			if in.InputType != "task_run" {
				t.Errorf("task run %s (%s): task_inputs.values has %+v, want only input_type task_run", addAll.ID, addAll.Name, in)
			}
			inputs = append(inputs, in.ID)
		}
		slices.Sort(mapped)
		slices.Sort(inputs)
		if !slices.Equal(inputs, mapped) {
			t.Errorf("task run %s (%s): task_inputs %+v refer to task runs %v, want the mapped task runs %v",
				addAll.ID, addAll.Name, addAll.TaskInputs, inputs, mapped)
		}

		child := onlyFlowRun(t, api, "child")
		if child.StateType != "COMPLETED" {
			t.Errorf("subflow run %s: state_type %q, want COMPLETED", child.ID, child.StateType)
		}
		switch {
		case child.ParentTaskRunID == nil:
			t.Errorf("subflow run %s: parent_task_run_id is null, want a task run of flow run %s", child.ID, parent.ID)
		case !slices.ContainsFunc(tasks, func(tr taskRunInfo) bool { return tr.ID == *child.ParentTaskRunID }):
			t.Errorf("subflow run %s: parent_task_run_id %s is not among the task runs of flow run %s: %s",
				child.ID, *child.ParentTaskRunID, parent.ID, describeTaskRuns(tasks))
		}
	})
}

// settledTaskRuns waits until the task runs of a flow run are exactly want
// (a count of runs per task name), all COMPLETED, and returns them. Task runs
// arrive as events over the websocket, so the server records them a little
// after the client has finished.
func settledTaskRuns(ctx context.Context, api *apiClient, flowRunID string, want map[string]int) ([]taskRunInfo, error) {
	var tasks []taskRunInfo
	ok, status := poll(ctx, logWait, func(ctx context.Context) (bool, string) {
		tasks = nil
		body := obj{"task_runs": obj{"flow_run_id": anyOf(flowRunID)}}
		if err := api.call(ctx, "POST", "/task_runs/filter", body, &tasks); err != nil {
			return false, err.Error()
		}
		got := make(map[string]int)
		for _, tr := range tasks {
			got[tr.taskName()]++
			if tr.FlowRunID != flowRunID || tr.StateType != "COMPLETED" {
				return false, describeTaskRuns(tasks)
			}
		}
		if !maps.Equal(got, want) {
			return false, fmt.Sprintf("task runs per task %v, want %v: %s", got, want, describeTaskRuns(tasks))
		}
		return true, ""
	})
	if !ok {
		return nil, fmt.Errorf("POST /task_runs/filter: the task runs of flow run %s are not all recorded COMPLETED after %s; last seen: %s", flowRunID, logWait, status)
	}
	return tasks, nil
}

func describeTaskRuns(tasks []taskRunInfo) string {
	parts := make([]string, len(tasks))
	for i, tr := range tasks {
		parts[i] = fmt.Sprintf("{%s %s flow_run_id=%s state_type=%s run_count=%d}", tr.ID, tr.Name, tr.FlowRunID, tr.StateType, tr.RunCount)
	}
	return fmt.Sprintf("%d task runs [%s]", len(tasks), strings.Join(parts, " "))
}

// TestFailingFlow runs a flow that raises: the client exits non-zero and the
// server has the run FAILED with the exception in the state message.
func TestFailingFlow(t *testing.T) {
	forEachEngine(t, func(t *testing.T, api *apiClient) {
		out, err := runFlow(t, api, "failing_flow.py")
		if _, ok := exitCode(err); !ok {
			t.Fatalf("failing_flow.py: %v, want a non-zero exit status", err)
		}
		if !strings.Contains(out, "ValueError: boom") {
			t.Errorf("failing_flow.py did not fail with ValueError: boom (its output is logged below)")
		}

		run := onlyFlowRun(t, api, "failing")
		if run.StateType != "FAILED" {
			t.Errorf("flow run %s: state_type %q, want FAILED", run.ID, run.StateType)
		}
		switch {
		case run.State == nil || run.State.Message == nil:
			t.Errorf("flow run %s: state %+v has no message, want one that mentions boom", run.ID, run.State)
		case !strings.Contains(*run.State.Message, "boom"):
			t.Errorf("flow run %s: state message %q, want one that mentions boom", run.ID, *run.State.Message)
		}
	})
}
