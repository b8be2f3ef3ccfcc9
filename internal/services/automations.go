package services

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/automations"
	"github.com/praetorhq/praetor/internal/clock"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

// TriggerBatch bounds the queued events one transaction evaluates.
const TriggerBatch = 500

// Triggers evaluates automations: each pass takes the events queued for
// them (Reactive) or lets time pass for their proactive triggers
// (Proactive), in transactions that also record what fired, so a restart
// neither loses nor repeats a firing.
type Triggers struct {
	Store  store.Store
	Clock  clock.Clock
	Logger *slog.Logger
	// Count, when set, is told how many events each pass evaluated.
	Count func(n int)
}

// Reactive evaluates the queued events, batch by batch, until the queue is
// empty (the events firings emit included).
func (t *Triggers) Reactive(ctx context.Context, _ time.Time) error {
	total := 0
	defer func() {
		if t.Count != nil && total > 0 {
			t.Count(total)
		}
	}()
	for {
		n, err := t.Store.EvaluateQueuedEvents(ctx, TriggerBatch, func(ctx context.Context, ws uuid.UUID, list []*model.Automation, tx automations.Tx, events []*model.Event) error {
			evaluators := make([]automations.Evaluator, len(list))
			var refs []automations.BucketRef
			for i, a := range list {
				evaluators[i] = automations.Evaluator{Tx: tx, Automation: a, Now: t.Clock.Now}
				for _, e := range events {
					refs = append(refs, evaluators[i].Touches(e)...)
				}
			}
			if err := tx.Prefetch(ctx, refs); err != nil {
				return err
			}
			for _, e := range events {
				for i := range evaluators {
					if err := evaluators[i].Event(ctx, e); err != nil {
						return err
					}
				}
			}
			return nil
		})
		total += n
		if err != nil {
			return fmt.Errorf("evaluate events: %w", err)
		}
		if n == 0 {
			return nil
		}
	}
}

// Proactive evaluates the proactive triggers as of now: the windows that
// ended without their expected events fire.
func (t *Triggers) Proactive(ctx context.Context, now time.Time) error {
	return t.Store.EvaluateProactive(ctx, func(ctx context.Context, ws uuid.UUID, list []*model.Automation, tx automations.Tx) error {
		for _, a := range list {
			ev := automations.Evaluator{Tx: tx, Automation: a, Now: t.Clock.Now}
			for _, trig := range a.Trigger.All() {
				if trig.Type != model.TriggerEvent || trig.Posture != model.PostureProactive {
					continue
				}
				if _, err := ev.Proactive(ctx, trig, now); err != nil {
					return fmt.Errorf("automation %s: %w", a.ID, err)
				}
			}
		}
		return nil
	})
}

// Retry policy of actions that fail for a reason that may pass (a
// receiver that is down): the delay doubles from RetryFirst up to
// RetryMax, for RetryAttempts attempts in all.
const (
	RetryFirst    = 2 * time.Second
	RetryMax      = 5 * time.Minute
	RetryAttempts = 8
	ActionBatch   = 50
	ActionWorkers = 4 // actions a pass runs at once
)

// Notifier delivers the notifications and webhook calls of the triggered
// actions of an automation.
type Notifier interface {
	Notify(ctx context.Context, ws uuid.UUID, a *model.Automation, ta *model.TriggeredAction) error
	CallWebhook(ctx context.Context, ws uuid.UUID, a *model.Automation, ta *model.TriggeredAction) error
	// Permanent reports whether an error of Notify or CallWebhook will not
	// pass by trying again.
	Permanent(err error) bool
}

// DeploymentRunner creates a run of a deployment, by the API's rules of
// create_flow_run.
type DeploymentRunner func(ctx context.Context, ws, deployment uuid.UUID, parameters, jobVariables map[string]any, start time.Time) (*model.FlowRun, error)

// Actions executes the actions automations' firings queued, records each
// outcome with its prefect.automation.action.* events, and retries those
// that failed for a passing reason with back-off.
type Actions struct {
	Store  store.Store
	Clock  clock.Clock
	Logger *slog.Logger
	// Run runs deployments; Notifier sends notifications. Actions that
	// need a missing one fail.
	Run      DeploymentRunner
	Notifier Notifier
	// Changed, when set, is told that deployments changed (a pause), so
	// the scheduler looks again.
	Changed func()
}

// permanent marks an action's failure as one retrying cannot fix.
type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

func failf(format string, args ...any) error { return permanent{fmt.Errorf(format, args...)} }

// Pass executes the due actions.
func (x *Actions) Pass(ctx context.Context, now time.Time) error {
	due, err := x.Store.DueActions(ctx, now, ActionBatch)
	if err != nil {
		return fmt.Errorf("read due actions: %w", err)
	}
	// A few at a time: one receiver that hangs until its timeout must not
	// hold up the others' deliveries.
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		slots = make(chan struct{}, ActionWorkers)
	)
	for _, wa := range due {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			if err := x.execute(ctx, wa.Workspace, wa.Action); err != nil {
				mu.Lock()
				first = cmp.Or(first, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return first
}

func (x *Actions) execute(ctx context.Context, ws uuid.UUID, ta *model.TriggeredAction) error {
	automation, err := x.Store.GetAutomation(ctx, ws, ta.AutomationID)
	if err != nil {
		return fmt.Errorf("read automation %s: %w", ta.AutomationID, err)
	}
	result, related, runErr := x.act(ctx, ws, automation, ta)
	now := x.Clock.Now()
	ta.Attempts++
	var events []*model.Event
	switch {
	case runErr == nil:
		// The last error stays: it tells why an action needed retries.
		ta.State, ta.NextAttempt = model.ActionExecuted, nil
		ta.Finished = model.At(now).Ptr()
		if result != "" {
			ta.ResultDescription = &result
		}
		events = actionEvents(automation, ta, related, now, "")
	default:
		msg := runErr.Error()
		ta.LastError = &msg
		if x.permanent(runErr) || ta.Attempts >= RetryAttempts {
			ta.State, ta.NextAttempt = model.ActionFailed, nil
			ta.Finished = model.At(now).Ptr()
			events = actionEvents(automation, ta, related, now, msg)
		} else {
			ta.NextAttempt = model.At(now.Add(backoff(ta.Attempts))).Ptr()
		}
		x.Logger.Warn("automation action failed", "automation", automation.ID, "action", ta.Action.Type, "attempt", ta.Attempts,
			"retry", ta.State == model.ActionPending, "err", runErr)
	}
	if _, err := x.Store.RecordAction(ctx, ws, ta, events); err != nil {
		return fmt.Errorf("record action %s: %w", ta.ID, err)
	}
	return nil
}

func (x *Actions) permanent(err error) bool {
	var p permanent
	if errors.As(err, &p) {
		return true
	}
	return x.Notifier != nil && x.Notifier.Permanent(err)
}

// backoff is the delay before the attempt after the nth.
func backoff(n int) time.Duration {
	d := RetryFirst << (n - 1)
	if d <= 0 || d > RetryMax {
		return RetryMax
	}
	return d
}

// actionEvents are Prefect's record of an action: triggered, then
// executed or failed (with the reason).
func actionEvents(a *model.Automation, ta *model.TriggeredAction, related []model.Resource, now time.Time, reason string) []*model.Event {
	resource := model.Resource{"prefect.resource.id": model.AutomationResource + a.ID.String(), "prefect.resource.name": a.Name,
		"prefect.trigger-type": a.Trigger.Type}
	if a.Trigger.Type == model.TriggerEvent {
		resource["prefect.posture"] = a.Trigger.Posture
	}
	related = append([]model.Resource{}, related...)
	if ta.TriggeredEventID != nil {
		related = append(related, model.Resource{"prefect.resource.id": "prefect.event." + ta.TriggeredEventID.String(), "prefect.resource.role": "automation-triggered-event"})
	}
	if ta.TriggeringEvent != nil {
		related = append(related, model.Resource{"prefect.resource.id": "prefect.event." + ta.TriggeringEvent.ID.String(), "prefect.resource.role": "triggering-event"})
	}
	details := map[string]any{"action_index": ta.Index, "action_type": ta.Action.Type, "invocation": ta.ID.String()}
	payload, _ := json.Marshal(details)
	triggered := &model.Event{ID: uuid.Must(uuid.NewV7()), Occurred: ta.Triggered, Event: "prefect.automation.action.triggered",
		Resource: resource, Related: related, Payload: payload, Received: model.At(now)}
	outcome := "prefect.automation.action.executed"
	if reason != "" {
		outcome = "prefect.automation.action.failed"
		details["reason"] = reason
	}
	payload, _ = json.Marshal(details)
	done := &model.Event{ID: uuid.Must(uuid.NewV7()), Occurred: model.At(now), Event: outcome, Resource: resource, Related: related,
		Payload: payload, Follows: &triggered.ID, Received: model.At(now)}
	return []*model.Event{triggered, done}
}

// act takes one action; it returns a description of what it did and the
// resources it acted on.
func (x *Actions) act(ctx context.Context, ws uuid.UUID, a *model.Automation, ta *model.TriggeredAction) (string, []model.Resource, error) {
	act, e := ta.Action, ta.TriggeringEvent
	switch act.Type {
	case model.ActionDoNothing:
		return "did nothing", nil, nil
	case model.ActionRunDeployment:
		id, err := target(act.Source, act.DeploymentID, e, "deployment", model.DeploymentResource)
		if err != nil {
			return "", nil, err
		}
		if x.Run == nil {
			return "", nil, failf("running deployments is not available")
		}
		run, err := x.Run(ctx, ws, id, act.Parameters, act.JobVariables, x.Clock.Now().Add(time.Duration(act.ScheduleAfter*float64(time.Second))))
		if err != nil {
			return "", nil, failf("run deployment %s: %v", id, err)
		}
		return "created flow run " + run.Name, []model.Resource{resourceOf(model.DeploymentResource, id, "target"),
			{"prefect.resource.id": model.FlowRunResource + run.ID.String(), "prefect.resource.role": "flow-run", "prefect.resource.name": run.Name}}, nil
	case model.ActionPauseDeployment, model.ActionResumeDeployment:
		id, err := target(act.Source, act.DeploymentID, e, "deployment", model.DeploymentResource)
		if err != nil {
			return "", nil, err
		}
		paused := act.Type == model.ActionPauseDeployment
		if err := x.Store.UpdateDeployment(ctx, ws, id, func(d *model.Deployment) error { d.Paused = paused; return nil }); err != nil {
			return "", nil, failf("update deployment %s: %v", id, err)
		}
		if x.Changed != nil {
			x.Changed()
		}
		return verb(paused, "paused", "resumed") + " deployment", []model.Resource{resourceOf(model.DeploymentResource, id, "target")}, nil
	case model.ActionCancelFlowRun, model.ActionSuspendFlowRun, model.ActionChangeFlowRunState, model.ActionResumeFlowRun, model.ActionDeleteFlowRun:
		return x.flowRunAction(ctx, ws, a, act, e)
	case model.ActionPauseWorkPool, model.ActionResumeWorkPool:
		id, err := target(act.Source, act.WorkPoolID, e, "work-pool", model.WorkPoolResource)
		if err != nil {
			return "", nil, err
		}
		pools, err := x.Store.ListWorkPools(ctx, ws, store.WorkPoolQuery{WorkPools: &store.WorkPoolFilter{ID: &store.IDFilter{Any: []uuid.UUID{id}}}})
		if err != nil {
			return "", nil, err
		}
		if len(pools) == 0 {
			return "", nil, failf("work pool %s not found", id)
		}
		paused := act.Type == model.ActionPauseWorkPool
		if err := x.Store.UpdateWorkPool(ctx, ws, pools[0].Name, func(p *model.WorkPool) error { p.IsPaused = paused; return nil }); err != nil {
			return "", nil, failf("update work pool %s: %v", id, err)
		}
		return verb(paused, "paused", "resumed") + " work pool " + pools[0].Name, []model.Resource{resourceOf(model.WorkPoolResource, id, "target")}, nil
	case model.ActionPauseWorkQueue, model.ActionResumeWorkQueue:
		id, err := target(act.Source, act.WorkQueueID, e, "work-queue", model.WorkQueueResource)
		if err != nil {
			return "", nil, err
		}
		paused := act.Type == model.ActionPauseWorkQueue
		if err := x.Store.UpdateWorkQueue(ctx, ws, id, func(q *model.WorkQueue) error { q.IsPaused = paused; return nil }); err != nil {
			return "", nil, failf("update work queue %s: %v", id, err)
		}
		return verb(paused, "paused", "resumed") + " work queue", []model.Resource{resourceOf(model.WorkQueueResource, id, "target")}, nil
	case model.ActionPauseAutomation, model.ActionResumeAutomation:
		id, err := target(act.Source, act.AutomationID, e, "automation", model.AutomationResource)
		if err != nil && act.Source == "inferred" && e == nil {
			id, err = a.ID, nil
		}
		if err != nil {
			return "", nil, err
		}
		enable := act.Type == model.ActionResumeAutomation
		if err := x.Store.SetAutomationEnabled(ctx, ws, id, enable); err != nil {
			return "", nil, failf("update automation %s: %v", id, err)
		}
		return verb(!enable, "paused", "resumed") + " automation", []model.Resource{resourceOf(model.AutomationResource, id, "target")}, nil
	case model.ActionSendNotification, model.ActionCallWebhook:
		if x.Notifier == nil {
			return "", nil, failf("notifications are not available")
		}
		if act.Type == model.ActionSendNotification {
			if err := x.Notifier.Notify(ctx, ws, a, ta); err != nil {
				return "", nil, err
			}
			return "sent notification", nil, nil
		}
		if err := x.Notifier.CallWebhook(ctx, ws, a, ta); err != nil {
			return "", nil, err
		}
		return "called webhook", nil, nil
	}
	return "", nil, failf("unknown action type %q", act.Type)
}

func (x *Actions) flowRunAction(ctx context.Context, ws uuid.UUID, a *model.Automation, act *model.Action, e *model.Event) (string, []model.Resource, error) {
	id, err := target("inferred", nil, e, "flow-run", model.FlowRunResource)
	if err != nil {
		return "", nil, err
	}
	rel := []model.Resource{resourceOf(model.FlowRunResource, id, "target")}
	if act.Type == model.ActionDeleteFlowRun {
		if _, err := x.Store.DeleteFlowRuns(ctx, ws, []uuid.UUID{id}); err != nil {
			return "", nil, failf("delete flow run %s: %v", id, err)
		}
		return "deleted flow run", rel, nil
	}
	if act.Type == model.ActionResumeFlowRun {
		res, err := x.Store.ResumeFlowRun(ctx, ws, id, nil)
		if err != nil {
			return "", nil, failf("resume flow run %s: %v", id, err)
		}
		if res.Status != "ACCEPT" {
			return "", nil, failf("resume flow run %s: %s", id, reason(res.Details.Reason))
		}
		return "resumed flow run", rel, nil
	}
	msg := fmt.Sprintf("State changed by Automation %s", a.ID)
	proposed := model.StateCreate{Type: model.Cancelling, Message: &msg}
	force := false
	switch act.Type {
	case model.ActionSuspendFlowRun:
		name := "Suspended"
		proposed.Type, proposed.Name = model.Paused, &name
		proposed.StateDetails = &model.StateDetails{PauseReschedule: true}
		force = true
	case model.ActionChangeFlowRunState:
		proposed.Type, force = act.State, act.Force
		if act.Name != nil {
			proposed.Name = act.Name
		}
		if act.Message != nil {
			proposed.Message = act.Message
		}
	}
	res, err := x.Store.SetFlowRunState(ctx, ws, id, proposed, force)
	if err != nil {
		return "", nil, failf("set flow run %s %s: %v", id, proposed.Type, err)
	}
	if res.Status != "ACCEPT" {
		return "", nil, failf("set flow run %s %s: %s %s", id, proposed.Type, res.Status, reason(res.Details.Reason))
	}
	return "set flow run " + string(proposed.Type), rel, nil
}

// target is the id an action acts on: the selected one, or the one of
// kind the triggering event names (as its resource or a related one of
// role).
func target(source string, selected *uuid.UUID, e *model.Event, role, prefix string) (uuid.UUID, error) {
	if source == "selected" {
		if selected == nil {
			return uuid.Nil, failf("no %s selected", role)
		}
		return *selected, nil
	}
	if e == nil {
		return uuid.Nil, failf("no triggering event to infer the %s from", role)
	}
	candidates := []string{}
	if strings.HasPrefix(e.Resource.ID(), prefix) {
		candidates = append(candidates, e.Resource.ID())
	}
	for _, r := range e.Related {
		if r.Role() == role && strings.HasPrefix(r.ID(), prefix) {
			candidates = append(candidates, r.ID())
		}
	}
	for _, c := range candidates {
		if id, err := uuid.Parse(strings.TrimPrefix(c, prefix)); err == nil {
			return id, nil
		}
	}
	return uuid.Nil, failf("the triggering event names no %s", role)
}

func resourceOf(prefix string, id uuid.UUID, role string) model.Resource {
	return model.Resource{"prefect.resource.id": prefix + id.String(), "prefect.resource.role": role}
}

func verb(b bool, yes, no string) string {
	if b {
		return yes
	}
	return no
}

func reason(r *string) string {
	if r == nil {
		return ""
	}
	return *r
}
