package orchestration

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/model"
)

var now = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func state(t model.StateType, name string) *model.State {
	return &model.State{ID: uuid.Must(uuid.NewV7()), Type: t, Name: name, Timestamp: model.At(now.Add(-time.Minute))}
}

func proposal(t model.StateType, name string) *model.State {
	return NewState(model.StateCreate{Type: t, Name: &name}, now)
}

func intp(n int) *int { return &n }

func TestDecideFlowRun(t *testing.T) {
	persisted := state(model.Completed, "Completed")
	persisted.Data = json.RawMessage(`{"storage_key":"k","serializer":{"type":"pickle"}}`)
	deployment := uuid.New()
	future := state(model.Scheduled, "Scheduled")
	future.StateDetails.ScheduledTime = model.At(now.Add(30 * time.Second)).Ptr()
	paused := state(model.Paused, "Paused")
	timedOut := state(model.Paused, "Paused")
	timedOut.StateDetails.PauseTimeout = model.At(now.Add(-time.Second)).Ptr()

	tests := []struct {
		name       string
		run        model.FlowRun
		current    *model.State
		proposed   *model.State
		force      bool
		wantStatus Status
		wantType   model.StateType // type written, "" when nothing is written
		wantName   string
	}{
		{name: "first state accepted", proposed: proposal(model.Pending, "Pending"), wantStatus: Accept, wantType: model.Pending},
		{name: "pending to running", current: state(model.Pending, "Pending"), proposed: proposal(model.Running, "Running"), wantStatus: Accept, wantType: model.Running},
		{name: "running to completed", current: state(model.Running, "Running"), proposed: proposal(model.Completed, "Completed"), wantStatus: Accept, wantType: model.Completed},
		{name: "second worker claim aborts", current: state(model.Pending, "Pending"), proposed: proposal(model.Pending, "Pending"), wantStatus: Abort},
		{name: "claim of a running run aborts", current: state(model.Running, "Running"), proposed: proposal(model.Pending, "Pending"), wantStatus: Abort},
		{name: "pending renamed submitting", current: state(model.Pending, "Pending"), proposed: proposal(model.Pending, "Submitting"), wantStatus: Accept, wantType: model.Pending, wantName: "Submitting"},
		{name: "terminal to crashed aborts", current: state(model.Completed, "Completed"), proposed: proposal(model.Crashed, "Crashed"), wantStatus: Abort},
		{name: "terminal to cancelling aborts", current: state(model.Failed, "Failed"), proposed: proposal(model.Cancelling, "Cancelling"), wantStatus: Abort},
		{name: "persisted completed cannot rerun", current: persisted, proposed: proposal(model.Running, "Running"), wantStatus: Reject},
		{name: "persisted completed not overwritten by unpersisted", current: persisted, proposed: proposal(model.Completed, "Completed"), wantStatus: Reject},
		{name: "forced still protects persisted result", current: persisted, proposed: proposal(model.Completed, "Completed"), force: true, wantStatus: Reject},
		{name: "reschedule without deployment aborts", current: state(model.Failed, "Failed"), proposed: proposal(model.Scheduled, "Scheduled"), wantStatus: Abort},
		{name: "reschedule with deployment accepted", run: model.FlowRun{DeploymentID: &deployment}, current: state(model.Failed, "Failed"), proposed: proposal(model.Scheduled, "Scheduled"), wantStatus: Accept, wantType: model.Scheduled},
		{name: "cancelling only to cancelled", current: state(model.Cancelling, "Cancelling"), proposed: proposal(model.Running, "Running"), wantStatus: Reject},
		{name: "scheduled without infrastructure cancels directly", current: state(model.Scheduled, "Scheduled"), proposed: proposal(model.Cancelling, "Cancelling"), wantStatus: Reject, wantType: model.Cancelled},
		{name: "late only from scheduled", current: state(model.Running, "Running"), proposed: proposal(model.Scheduled, "Late"), wantStatus: Reject},
		{name: "not late twice", current: state(model.Scheduled, "Late"), proposed: proposal(model.Scheduled, "Late"), wantStatus: Reject},
		{name: "wait for scheduled time", current: future, proposed: proposal(model.Running, "Running"), wantStatus: Wait},
		{name: "pause only from running", current: state(model.Pending, "Pending"), proposed: proposal(model.Paused, "Paused"), wantStatus: Reject},
		{name: "resume paused", current: paused, proposed: proposal(model.Running, "Running"), wantStatus: Accept, wantType: model.Running},
		{name: "expired pause fails", current: timedOut, proposed: proposal(model.Running, "Running"), wantStatus: Reject, wantType: model.Failed},
		{name: "retry while retries remain", run: model.FlowRun{EmpiricalPolicy: model.FlowRunPolicy{Retries: intp(2)}, RunTracking: model.RunTracking{RunCount: 1}}, current: state(model.Running, "Running"), proposed: proposal(model.Failed, "Failed"), wantStatus: Reject, wantType: model.Scheduled, wantName: "AwaitingRetry"},
		{name: "fail when retries exhausted", run: model.FlowRun{EmpiricalPolicy: model.FlowRunPolicy{Retries: intp(2)}, RunTracking: model.RunTracking{RunCount: 3}}, current: state(model.Running, "Running"), proposed: proposal(model.Failed, "Failed"), wantStatus: Accept, wantType: model.Failed},
		{name: "forced skips the rules", current: state(model.Running, "Running"), proposed: proposal(model.Pending, "Pending"), force: true, wantStatus: Accept, wantType: model.Pending},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := tt.run
			run.State = tt.current
			d := DecideFlowRun(FlowRunTransition{Run: &run, Proposed: tt.proposed, Force: tt.force, Now: now})
			if d.Status != tt.wantStatus {
				t.Fatalf("status = %s (%s), want %s", d.Status, d.Reason, tt.wantStatus)
			}
			switch {
			case tt.wantType == "" && d.Write != nil:
				t.Fatalf("wrote %s, want nothing written", d.Write.Type)
			case tt.wantType != "" && (d.Write == nil || d.Write.Type != tt.wantType):
				t.Fatalf("wrote %+v, want type %s", d.Write, tt.wantType)
			case tt.wantName != "" && d.Write.Name != tt.wantName:
				t.Fatalf("wrote name %q, want %q", d.Write.Name, tt.wantName)
			}
			if det := d.Details(); (d.Status == Wait) != (det.DelaySeconds != nil) {
				t.Fatalf("details %+v for %s", det, d.Status)
			}
		})
	}
}

func TestDecideFlowRunDuplicateTransition(t *testing.T) {
	cur := state(model.Running, "Running")
	tid := uuid.New()
	cur.StateDetails.TransitionID = &tid
	p := proposal(model.Running, "Running")
	p.StateDetails.TransitionID = &tid
	d := DecideFlowRun(FlowRunTransition{Run: &model.FlowRun{RunTracking: model.RunTracking{State: cur}}, Proposed: p, Now: now})
	if d.Status != Reject || d.Write != nil {
		t.Fatalf("duplicate transition: %+v, want REJECT without a state", d)
	}
}

func TestRetryDelayAndPolicy(t *testing.T) {
	run := model.FlowRun{EmpiricalPolicy: model.FlowRunPolicy{Retries: intp(1), RetryDelay: func() *float64 { f := 10.0; return &f }()},
		RunTracking: model.RunTracking{RunCount: 1, State: state(model.Running, "Running")}}
	msg := "boom"
	p := proposal(model.Failed, "Failed")
	p.Message = &msg
	d := DecideFlowRun(FlowRunTransition{Run: &run, Proposed: p, Now: now})
	if d.Write == nil || d.Write.StateDetails.ScheduledTime == nil || !d.Write.StateDetails.ScheduledTime.Equal(now.Add(10*time.Second)) {
		t.Fatalf("retry scheduled at %+v, want now+10s", d.Write)
	}
	if d.Write.Message == nil || *d.Write.Message != "boom" {
		t.Fatalf("retry state lost the failure message: %+v", d.Write.Message)
	}
	if run.EmpiricalPolicy.RetryType == nil || *run.EmpiricalPolicy.RetryType != "in_process" {
		t.Fatalf("retry_type = %v, want in_process", run.EmpiricalPolicy.RetryType)
	}
}

func TestDecideTaskRun(t *testing.T) {
	running := &model.FlowRun{RunTracking: model.RunTracking{RunCount: 1, State: state(model.Running, "Running")}}
	pausedFlow := &model.FlowRun{RunTracking: model.RunTracking{State: state(model.Paused, "Paused")}}
	done := &model.FlowRun{RunTracking: model.RunTracking{State: state(model.Completed, "Completed")}}
	awaiting := state(model.Scheduled, "AwaitingRetry")
	tests := []struct {
		name       string
		run        model.TaskRun
		flow       *model.FlowRun
		current    *model.State
		proposed   *model.State
		wantStatus Status
		wantType   model.StateType
		wantName   string
	}{
		{name: "runs in a running flow", flow: running, current: state(model.Pending, "Pending"), proposed: proposal(model.Running, "Running"), wantStatus: Accept, wantType: model.Running},
		{name: "not in a finished flow", flow: done, current: state(model.Pending, "Pending"), proposed: proposal(model.Running, "Running"), wantStatus: Abort},
		{name: "paused flow makes it not ready", flow: pausedFlow, current: state(model.Pending, "Pending"), proposed: proposal(model.Running, "Running"), wantStatus: Reject, wantType: model.Pending, wantName: "NotReady"},
		{name: "retries a failure", run: model.TaskRun{EmpiricalPolicy: model.TaskRunPolicy{Retries: intp(1)}, RunTracking: model.RunTracking{RunCount: 1}}, flow: running, current: state(model.Running, "Running"), proposed: proposal(model.Failed, "Failed"), wantStatus: Reject, wantType: model.Scheduled, wantName: "AwaitingRetry"},
		{name: "rerun after awaiting retry is retrying", run: model.TaskRun{RunTracking: model.RunTracking{RunCount: 1}}, flow: running, current: awaiting, proposed: proposal(model.Running, "Running"), wantStatus: Accept, wantType: model.Running, wantName: "Retrying"},
		{name: "terminal to crashed aborts", current: state(model.Completed, "Completed"), proposed: proposal(model.Crashed, "Crashed"), wantStatus: Abort},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := tt.run
			run.State = tt.current
			d := DecideTaskRun(TaskRunTransition{Run: &run, FlowRun: tt.flow, Proposed: tt.proposed, Now: now})
			if d.Status != tt.wantStatus {
				t.Fatalf("status = %s (%s), want %s", d.Status, d.Reason, tt.wantStatus)
			}
			if (tt.wantType == "") != (d.Write == nil) || d.Write != nil && (d.Write.Type != tt.wantType || tt.wantName != "" && d.Write.Name != tt.wantName) {
				t.Fatalf("wrote %+v, want %s %q", d.Write, tt.wantType, tt.wantName)
			}
		})
	}
}

func TestTrack(t *testing.T) {
	var rt model.RunTracking
	pending := state(model.Pending, "Pending")
	pending.Timestamp = model.At(now)
	Track(&rt, pending, false)
	running := state(model.Running, "Running")
	running.Timestamp = model.At(now.Add(time.Second))
	Track(&rt, running, false)
	completed := state(model.Completed, "Completed")
	completed.Timestamp = model.At(now.Add(3 * time.Second))
	Track(&rt, completed, false)
	if rt.RunCount != 1 || rt.TotalRunTime != 2 {
		t.Fatalf("run_count %d total_run_time %v, want 1 and 2", rt.RunCount, rt.TotalRunTime)
	}
	if !rt.ExpectedStartTime.Equal(now) || !rt.StartTime.Equal(now.Add(time.Second)) || !rt.EndTime.Equal(now.Add(3*time.Second)) {
		t.Fatalf("times: expected %v start %v end %v", rt.ExpectedStartTime, rt.StartTime, rt.EndTime)
	}
	if *rt.StateType != model.Completed || *rt.StateID != completed.ID {
		t.Fatalf("denormalised state %v %v", *rt.StateType, *rt.StateID)
	}
	rerun := state(model.Running, "Running")
	rerun.Timestamp = model.At(now.Add(4 * time.Second))
	Track(&rt, rerun, false)
	if rt.EndTime != nil || rt.RunCount != 2 {
		t.Fatalf("leaving a terminal state: end_time %v run_count %d", rt.EndTime, rt.RunCount)
	}
}

// TestPauseRules pins Prefect's HandlePausingFlows and
// HandleResumingPausedFlows, with the reasons and messages its server
// answers (read from it): a pause key fires once per run, a pause that
// reschedules needs a top-level run of a deployment, and a pause past its
// timeout fails whatever is proposed but a cancellation.
func TestPauseRules(t *testing.T) {
	deployment, parent := uuid.New(), uuid.New()
	pause := func(name, key string, reschedule bool) *model.State {
		p := proposal(model.Paused, name)
		p.StateDetails.PauseKey, p.StateDetails.PauseReschedule = &key, reschedule
		return p
	}
	expired := state(model.Paused, "Suspended")
	expired.StateDetails.PauseTimeout = model.At(now.Add(-time.Second)).Ptr()
	suspended := state(model.Paused, "Suspended")
	suspended.StateDetails.PauseReschedule = true
	for _, tt := range []struct {
		name      string
		run       model.FlowRun
		current   *model.State
		proposed  *model.State
		status    Status
		reason    string
		wantType  model.StateType
		message   string
		pauseKeys []string
	}{
		{name: "first pause", current: state(model.Running, "Running"), proposed: pause("Paused", "1", false), status: Accept, wantType: model.Paused, pauseKeys: []string{"1"}},
		{name: "a pause key fires once", run: model.FlowRun{EmpiricalPolicy: model.FlowRunPolicy{PauseKeys: []string{"1"}}}, current: state(model.Running, "Running"),
			proposed: pause("Paused", "1", false), status: Reject, reason: "This pause has already fired.", pauseKeys: []string{"1"}},
		{name: "a suspend key fires once", run: model.FlowRun{DeploymentID: &deployment, EmpiricalPolicy: model.FlowRunPolicy{PauseKeys: []string{"1"}}}, current: state(model.Running, "Running"),
			proposed: pause("Suspended", "1", true), status: Reject, reason: "This suspend has already fired.", pauseKeys: []string{"1"}},
		{name: "another key pauses again", run: model.FlowRun{EmpiricalPolicy: model.FlowRunPolicy{PauseKeys: []string{"1"}}}, current: state(model.Running, "Running"),
			proposed: pause("Paused", "2", false), status: Accept, wantType: model.Paused, pauseKeys: []string{"1", "2"}},
		{name: "suspend needs a deployment", current: state(model.Running, "Running"), proposed: pause("Suspended", "1", true), status: Abort, reason: "Cannot suspend flows without a deployment."},
		{name: "suspend of a subflow", run: model.FlowRun{DeploymentID: &deployment, ParentTaskRunID: &parent}, current: state(model.Running, "Running"),
			proposed: pause("Suspended", "1", true), status: Abort, reason: "Cannot suspend subflows."},
		{name: "suspend of a deployment's run", run: model.FlowRun{DeploymentID: &deployment}, current: state(model.Running, "Running"),
			proposed: pause("Suspended", "1", true), status: Accept, wantType: model.Paused, pauseKeys: []string{"1"}},
		{name: "pause only from running", current: state(model.Paused, "Paused"), proposed: pause("Paused", "1", false), status: Reject, reason: "Cannot pause flows that are not currently running."},
		{name: "paused to pending", current: state(model.Paused, "Paused"), proposed: proposal(model.Pending, "Pending"), status: Reject,
			reason: "This run cannot transition to the StateType.PENDING state from the StateType.PAUSED state."},
		{name: "expired pause fails a resume", current: expired, proposed: proposal(model.Running, "Running"), status: Reject,
			reason: "The flow run pause has timed out and can no longer resume.", wantType: model.Failed, message: "The flow was running and never resumed."},
		{name: "expired pause fails a completion", current: expired, proposed: proposal(model.Completed, "Completed"), status: Reject,
			reason: "The flow run pause has timed out and can no longer resume.", wantType: model.Failed, message: "The flow was completed and never resumed."},
		{name: "expired pause can be cancelled", current: expired, proposed: proposal(model.Cancelling, "Cancelling"), status: Accept, wantType: model.Cancelling},
		{name: "suspended run rescheduled with its deployment", run: model.FlowRun{DeploymentID: &deployment}, current: suspended, proposed: proposal(model.Scheduled, "Resuming"), status: Accept, wantType: model.Scheduled},
	} {
		t.Run(tt.name, func(t *testing.T) {
			run := tt.run
			run.State = tt.current
			d := DecideFlowRun(FlowRunTransition{Run: &run, Proposed: tt.proposed, Now: now})
			if d.Status != tt.status || d.Reason != tt.reason {
				t.Fatalf("%s %q, want %s %q", d.Status, d.Reason, tt.status, tt.reason)
			}
			if (d.Write == nil) != (tt.wantType == "") || d.Write != nil && d.Write.Type != tt.wantType {
				t.Fatalf("wrote %+v, want %q", d.Write, tt.wantType)
			}
			if tt.message != "" && (d.Write.Message == nil || *d.Write.Message != tt.message) {
				t.Errorf("message %v, want %q", d.Write.Message, tt.message)
			}
			if tt.pauseKeys != nil && !slices.Equal(run.EmpiricalPolicy.PauseKeys, tt.pauseKeys) {
				t.Errorf("pause keys %v, want %v", run.EmpiricalPolicy.PauseKeys, tt.pauseKeys)
			}
		})
	}
}
