// Package orchestration decides state transitions of flow runs and task runs
// with Prefect's rules, and applies the bookkeeping an accepted transition
// implies. It is pure: the store calls it inside the transaction that reads
// the run and writes the new state, so a decision and its write are atomic.
package orchestration

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/model"
)

// Status is the outcome of a proposed transition.
type Status string

const (
	Accept Status = "ACCEPT"
	Reject Status = "REJECT"
	Wait   Status = "WAIT"
	Abort  Status = "ABORT"
)

// Details is the details object of an orchestration result.
type Details struct {
	Type         string  `json:"type"`
	Reason       *string `json:"reason,omitempty"`
	DelaySeconds *int    `json:"delay_seconds,omitempty"`
}

// Result is the body of a set_state response.
type Result struct {
	Status  Status       `json:"status"`
	State   *model.State `json:"state"`
	Details Details      `json:"details"`
	// Written reports whether the transition wrote a state (the API then
	// answers 201).
	Written bool `json:"-"`
}

// Decision is a policy's verdict on one proposal.
type Decision struct {
	Status Status
	// Write is the state to write: the proposal when accepted, or the
	// replacement a rule substituted (a REJECT with a state, such as
	// AwaitingRetry). Nil when nothing is written.
	Write  *model.State
	Reason string
	Delay  int
}

// Details returns the wire details of the decision.
func (d Decision) Details() Details {
	switch d.Status {
	case Accept:
		return Details{Type: "accept_details"}
	case Wait:
		delay := d.Delay
		return Details{Type: "wait_details", DelaySeconds: &delay, Reason: &d.Reason}
	case Abort:
		return Details{Type: "abort_details", Reason: &d.Reason}
	default:
		return Details{Type: "reject_details", Reason: &d.Reason}
	}
}

func accept(s *model.State) Decision { return Decision{Status: Accept, Write: s} }
func reject(reason string) Decision  { return Decision{Status: Reject, Reason: reason} }
func abort(reason string) Decision   { return Decision{Status: Abort, Reason: reason} }

func rejectWith(s *model.State, reason string) Decision {
	return Decision{Status: Reject, Write: s, Reason: reason}
}

// FlowRunTransition is one proposed flow-run transition.
type FlowRunTransition struct {
	Run      *model.FlowRun // current run; Run.State is the current state or nil
	Proposed *model.State
	Force    bool
	Now      time.Time
}

// DecideFlowRun applies Prefect's core flow policy (or, when forced, the
// minimal one). It may change t.Run.EmpiricalPolicy, which the caller writes
// only when the decision writes a state.
func DecideFlowRun(t FlowRunTransition) Decision {
	cur, p := t.Run.State, t.Proposed
	if cur != nil && cur.Type == model.Completed && p.Type == model.Completed &&
		cur.HasPersistedResult() && !p.HasPersistedResult() {
		return reject("Cannot overwrite a COMPLETED state that carries persisted result data with one that does not.")
	}
	if d, ok := bypassCancelling(t.Run, p); ok {
		return d
	}
	if t.Force || cur == nil {
		return accept(p)
	}
	pol := &t.Run.EmpiricalPolicy

	if cur.StateDetails.TransitionID != nil && p.StateDetails.TransitionID != nil &&
		*cur.StateDetails.TransitionID == *p.StateDetails.TransitionID {
		return reject("This run has already made this state transition.")
	}
	if cur.Type.Terminal() {
		switch p.Type {
		case model.Cancelling, model.Paused, model.Crashed:
			return abort(fmt.Sprintf("Run is already in terminal state %s.", cur.Type))
		}
		if cur.Type == model.Completed && !p.Type.Terminal() && cur.HasPersistedResult() {
			return reject("Run is already COMPLETED.")
		}
		if p.Type == model.Scheduled && t.Run.DeploymentID == nil {
			return abort("Cannot reschedule a run without an associated deployment.")
		}
		if !p.Type.Terminal() {
			pol.Resuming = false
			pol.PauseKeys = []string{}
			pol.RetryType = nil
			if p.Type == model.Scheduled {
				pol.RetryType = ptr("reschedule")
			}
		}
	}
	if cur.Type == model.Cancelling && p.Type != model.Cancelled {
		return reject("Cannot transition flows that are cancelling to a state other than Cancelled.")
	}
	if d, ok := preventPending(cur, p); ok {
		return d
	}
	if p.Type == model.Scheduled && p.Name == "Late" &&
		(cur.Type != model.Scheduled || cur.Name == "Late") {
		return reject("Only scheduled flows can be marked late.")
	}
	if p.Type == model.Paused {
		if d, ok := pausing(t.Run, p); ok {
			return d
		}
	}
	if cur.Type == model.Paused {
		if d, ok := resumingPaused(t, p); ok {
			return d
		}
	}
	copyScheduledTime(cur, p)
	if d, ok := waitForScheduledTime(cur, p, t.Now); ok {
		return d
	}
	if cur.Type == model.Running && p.Type == model.Failed {
		retries := 0
		if pol.Retries != nil {
			retries = *pol.Retries
		}
		if pol.Retries == nil || t.Run.RunCount > retries {
			pol.RetryType = nil
			return accept(p)
		}
		delay := 0.0
		if pol.RetryDelay != nil {
			delay = *pol.RetryDelay
		}
		pol.Resuming = false
		pol.PauseKeys = []string{}
		pol.RetryType = ptr("in_process")
		retry := newState(model.Scheduled, "AwaitingRetry", "", t.Now)
		retry.Message = p.Message
		retry.Data = p.Data
		retry.StateDetails.ScheduledTime = model.At(t.Now.Add(seconds(delay))).Ptr()
		return rejectWith(retry, "Retrying")
	}
	return accept(p)
}

// pausing applies Prefect's rule for entering PAUSED: only from RUNNING,
// each pause key once per run (a suspended run runs its flow again from
// the start when it resumes, and passes its pause a second time), and a
// pause that reschedules only for a top-level run of a deployment. An
// accepted pause records its key in the run's policy.
func pausing(run *model.FlowRun, p *model.State) (Decision, bool) {
	verb := "pause"
	if p.Name == "Suspended" {
		verb = "suspend"
	}
	if run.State.Type != model.Running {
		return reject(fmt.Sprintf("Cannot %s flows that are not currently running.", verb)), true
	}
	key := uuid.NewString()
	if p.StateDetails.PauseKey != nil {
		key = *p.StateDetails.PauseKey
	}
	if slices.Contains(run.EmpiricalPolicy.PauseKeys, key) {
		return reject(fmt.Sprintf("This %s has already fired.", verb)), true
	}
	if p.StateDetails.PauseReschedule {
		if run.ParentTaskRunID != nil {
			return abort(fmt.Sprintf("Cannot %s subflows.", verb)), true
		}
		if run.DeploymentID == nil {
			return abort(fmt.Sprintf("Cannot %s flows without a deployment.", verb)), true
		}
	}
	run.EmpiricalPolicy.PauseKeys = append(run.EmpiricalPolicy.PauseKeys, key)
	return Decision{}, false
}

// resumingPaused applies Prefect's rule for leaving PAUSED: to RUNNING,
// SCHEDULED, CANCELLING or a final state only; a suspended run only when
// it has a deployment to be rescheduled by; and, past the pause's timeout,
// to FAILED instead (except a cancellation, which must still reach the
// process of a blocking pause). Its messages name the proposed state, as
// Prefect's do.
func resumingPaused(t FlowRunTransition, p *model.State) (Decision, bool) {
	cur := t.Run.State
	if p.Type != model.Running && p.Type != model.Scheduled && p.Type != model.Cancelling && !p.Type.Terminal() {
		return reject(fmt.Sprintf("This run cannot transition to the StateType.%s state from the StateType.%s state.", p.Type, cur.Type)), true
	}
	verb := "pause"
	if p.Name == "Suspended" {
		verb = "suspend"
	}
	display := strings.ToLower(p.Name)
	if display == "" {
		display = strings.ToLower(string(p.Type))
	}
	if cur.StateDetails.PauseReschedule && t.Run.DeploymentID == nil {
		return reject(fmt.Sprintf("Cannot reschedule a %s flow run without a deployment.", display)), true
	}
	if pt := cur.StateDetails.PauseTimeout; p.Type != model.Cancelling && pt != nil && pt.Before(t.Now) {
		failed := newState(model.Failed, "Failed", fmt.Sprintf("The flow was %s and never resumed.", display), t.Now)
		return rejectWith(failed, fmt.Sprintf("The flow run %s has timed out and can no longer resume.", verb)), true
	}
	t.Run.EmpiricalPolicy.Resuming = true
	return Decision{}, false
}

// bypassCancelling: a run with no infrastructure to stop is cancelled
// outright instead of entering CANCELLING.
func bypassCancelling(run *model.FlowRun, p *model.State) (Decision, bool) {
	cur := run.State
	if cur == nil || p.Type != model.Cancelling {
		return Decision{}, false
	}
	noInfra := cur.Type == model.Scheduled && (run.InfrastructurePID == nil || cur.Name == "Resuming")
	suspended := cur.Type == model.Paused && cur.StateDetails.PauseReschedule
	if !noInfra && !suspended {
		return Decision{}, false
	}
	c := newState(model.Cancelled, "Cancelled", "", time.Time(p.Timestamp.Time))
	c.Message = p.Message
	return rejectWith(c, "Run had no infrastructure and was cancelled directly."), true
}

func preventPending(cur, p *model.State) (Decision, bool) {
	if p.Type != model.Pending {
		return Decision{}, false
	}
	switch cur.Type {
	case model.Pending, model.Running, model.Cancelling, model.Cancelled:
	default:
		return Decision{}, false
	}
	if cur.Type == model.Pending && cur.Name != p.Name && p.Name != "Pending" {
		p.StateDetails.ScheduledTime = cur.StateDetails.ScheduledTime
		p.StateDetails.DeploymentConcurrencyLeaseID = cur.StateDetails.DeploymentConcurrencyLeaseID
		return Decision{}, false
	}
	return abort(fmt.Sprintf("This run is in a %s state and cannot transition to a PENDING state.", cur.Type)), true
}

func copyScheduledTime(cur, p *model.State) {
	if cur.Type == model.Scheduled && p.Type == model.Pending && p.StateDetails.ScheduledTime == nil {
		p.StateDetails.ScheduledTime = cur.StateDetails.ScheduledTime
	}
}

func waitForScheduledTime(cur, p *model.State, now time.Time) (Decision, bool) {
	if p.Type != model.Running || (cur.Type != model.Scheduled && cur.Type != model.Pending) {
		return Decision{}, false
	}
	st := cur.StateDetails.ScheduledTime
	if st == nil || !st.After(now) {
		return Decision{}, false
	}
	delay := int(math.Round(st.Sub(now).Seconds()))
	return Decision{Status: Wait, Delay: delay, Reason: "Scheduled time is in the future."}, true
}

// TaskRunTransition is one proposed transition of a task run orchestrated by
// the server (REST task runs: subflow tracking tasks, 2.x clients).
type TaskRunTransition struct {
	Run      *model.TaskRun
	FlowRun  *model.FlowRun // the parent flow run, if any
	Proposed *model.State
	Force    bool
	Now      time.Time
}

// DecideTaskRun applies Prefect's core task policy (minimal when forced). It
// may change t.Run.RunCount, EmpiricalPolicy and FlowRunRunCount.
func DecideTaskRun(t TaskRunTransition) Decision {
	cur, p := t.Run.State, t.Proposed
	if t.Force || cur == nil {
		return accept(p)
	}
	if cur.Type.Terminal() {
		switch p.Type {
		case model.Cancelling, model.Paused, model.Crashed:
			return abort(fmt.Sprintf("Run is already %s.", cur.Type))
		}
		if cur.Type == model.Completed && cur.HasPersistedResult() {
			return reject("This run is already completed.")
		}
		if !p.Type.Terminal() {
			t.Run.RunCount = 0
		}
	}
	if cur.Type == model.Cancelling && p.Type != model.Cancelled {
		return reject("Cannot transition flows that are cancelling to a state other than Cancelled.")
	}
	if p.Type == model.Running && t.FlowRun != nil {
		fr := t.FlowRun.State
		switch {
		case fr == nil:
			return abort("The enclosing flow must be running to begin task execution.")
		case fr.Type == model.Paused:
			return rejectWith(newState(model.Pending, "NotReady", "", t.Now), "The flow is paused, new tasks can execute after resuming flow run")
		case fr.Type != model.Running:
			return abort("The enclosing flow must be running to begin task execution.")
		}
	}
	copyScheduledTime(cur, p)
	if d, ok := waitForScheduledTime(cur, p, t.Now); ok {
		return d
	}
	if cur.Type == model.Running && p.Type == model.Failed {
		retries := 0
		if t.Run.EmpiricalPolicy.Retries != nil {
			retries = *t.Run.EmpiricalPolicy.Retries
		}
		retriable := p.StateDetails.Retriable == nil || *p.StateDetails.Retriable
		if t.Run.RunCount <= retries && retriable {
			retry := newState(model.Scheduled, "AwaitingRetry", "", t.Now)
			retry.Message = p.Message
			retry.Data = p.Data
			retry.StateDetails.ScheduledTime = model.At(t.Now.Add(seconds(retryDelay(t.Run.EmpiricalPolicy.RetryDelay, t.Run.RunCount)))).Ptr()
			return rejectWith(retry, "Retrying")
		}
	}
	if p.Type == model.Running {
		if t.Run.RunCount > 0 {
			if cur.Name == "AwaitingRetry" {
				p.Name = "Retrying"
			} else if p.Name == "Running" {
				p.Name = "Rerunning"
			}
		}
		if t.FlowRun != nil {
			t.Run.FlowRunRunCount = t.FlowRun.RunCount
		}
	}
	return accept(p)
}

// retryDelay reads a task's retry_delay: a number of seconds, or a list
// indexed by attempt (the last entry repeats).
func retryDelay(v any, runCount int) float64 {
	switch d := v.(type) {
	case float64:
		return d
	case []any:
		if len(d) == 0 {
			return 0
		}
		i := runCount - 1
		if i >= len(d) {
			i = len(d) - 1
		}
		if i < 0 {
			i = 0
		}
		if f, ok := d[i].(float64); ok {
			return f
		}
	}
	return 0
}

// Track applies Prefect's global bookkeeping for an accepted state: the
// denormalised state columns, start and end times, run count, total run time
// and expected start time.
func Track(rt *model.RunTracking, s *model.State, resuming bool) {
	prev := rt.State
	ts := s.Timestamp
	if prev != nil && prev.Type == model.Running && s.Type != model.Running {
		rt.TotalRunTime += ts.Sub(prev.Timestamp.Time).Seconds()
	}
	if rt.ExpectedStartTime == nil {
		if s.Type == model.Scheduled && s.StateDetails.ScheduledTime != nil {
			rt.ExpectedStartTime = s.StateDetails.ScheduledTime
		} else {
			rt.ExpectedStartTime = ts.Ptr()
		}
	}
	if s.Type == model.Scheduled {
		rt.NextScheduledStartTime = s.StateDetails.ScheduledTime
	} else {
		rt.NextScheduledStartTime = nil
	}
	if s.Type == model.Running {
		if rt.StartTime == nil {
			rt.StartTime = ts.Ptr()
		}
		if !resuming {
			rt.RunCount++
		}
	}
	if s.Type.Terminal() {
		if rt.EndTime == nil {
			rt.EndTime = ts.Ptr()
		}
		if rt.StartTime == nil {
			rt.StartTime = ts.Ptr()
		}
	} else if prev != nil && prev.Type.Terminal() {
		rt.EndTime = nil
	}
	typ, name := s.Type, s.Name
	rt.StateID = &s.ID
	rt.StateType = &typ
	rt.StateName = &name
	rt.StateTimestamp = ts.Ptr()
	rt.State = s
}

// Estimate fills the live estimates Prefect computes on read.
func Estimate(rt *model.RunTracking, now time.Time) {
	rt.EstimatedRunTime = rt.TotalRunTime
	if rt.StateType != nil && *rt.StateType == model.Running && rt.StateTimestamp != nil {
		rt.EstimatedRunTime += now.Sub(rt.StateTimestamp.Time).Seconds()
	}
	rt.EstimatedStartTimeDelta = 0
	if rt.ExpectedStartTime != nil {
		switch {
		case rt.StartTime != nil && rt.StartTime.After(rt.ExpectedStartTime.Time):
			rt.EstimatedStartTimeDelta = rt.StartTime.Sub(rt.ExpectedStartTime.Time).Seconds()
		case rt.StartTime == nil && rt.ExpectedStartTime.Before(now):
			rt.EstimatedStartTimeDelta = now.Sub(rt.ExpectedStartTime.Time).Seconds()
		}
	}
}

// NewState builds a validated state from a client proposal: a fresh id, the
// default name, and a server-minted timestamp unless the client sent one.
func NewState(c model.StateCreate, now time.Time) *model.State {
	s := &model.State{ID: uuid.Must(uuid.NewV7()), Type: c.Type, Message: c.Message, Data: c.Data}
	if c.Name != nil && *c.Name != "" {
		s.Name = *c.Name
	} else {
		s.Name = c.Type.DefaultName()
	}
	if c.StateDetails != nil {
		s.StateDetails = *c.StateDetails
	}
	s.Timestamp = model.At(now)
	if c.Timestamp != nil {
		s.Timestamp = *c.Timestamp
	}
	if s.Type == model.Scheduled && s.StateDetails.ScheduledTime == nil {
		s.StateDetails.ScheduledTime = s.Timestamp.Ptr()
	}
	return s
}

func newState(t model.StateType, name, message string, now time.Time) *model.State {
	s := &model.State{ID: uuid.Must(uuid.NewV7()), Type: t, Name: name, Timestamp: model.At(now)}
	if message != "" {
		s.Message = &message
	}
	return s
}

func seconds(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

func ptr[T any](v T) *T { return &v }
