package orchestration

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/model"
)

// LateContext is what explains why nothing claimed a run in time.
type LateContext struct {
	Run        *model.FlowRun
	Deployment *model.Deployment // nil: the run has none, or it was deleted
	// ActiveRuns counts the deployment's PENDING, RUNNING and CANCELLING
	// runs, when it has a concurrency limit.
	ActiveRuns int
	// Pool and Queue are the run's work pool and queue (nil: none), their
	// active slots counted when they have limits, and LastHeartbeat the
	// latest heartbeat of the pool's workers.
	Pool          *model.WorkPool
	Queue         *model.WorkQueue
	LastHeartbeat *model.Time
	Now           time.Time
}

// LateReason says, for the user, why a run is late: the message of its Late
// state, which the UI shows.
func LateReason(c LateContext) string {
	if c.Run.DeploymentID == nil {
		return "No process claims runs created outside a deployment: the process that created this run must start it, or create runs from a deployment."
	}
	d := c.Deployment
	if d == nil {
		return "Its deployment no longer exists, so nothing will claim it."
	}
	switch {
	case d.Paused:
		return fmt.Sprintf("Deployment %q is paused.", d.Name)
	case d.ConcurrencyLimit != nil && c.ActiveRuns >= *d.ConcurrencyLimit:
		return fmt.Sprintf("Deployment %q's concurrency limit is full (%d of %d runs active).", d.Name, c.ActiveRuns, *d.ConcurrencyLimit)
	}
	if p, q := c.Pool, c.Queue; p != nil && q != nil {
		return poolReason(c, p, q)
	}
	if d.LastPolled == nil {
		return fmt.Sprintf("Nothing has polled deployment %q for runs yet: serve it (flow.serve) or start a worker for its work pool.", d.Name)
	}
	ago := c.Now.Sub(d.LastPolled.Time).Round(time.Second)
	return fmt.Sprintf("Nothing polled deployment %q since %s (%s ago).", d.Name, d.LastPolled.String(), ago)
}

// poolReason explains a late run of a work queue: what stops the pool's
// workers from taking it, or that no worker polls.
func poolReason(c LateContext, p *model.WorkPool, q *model.WorkQueue) string {
	full := func(active *int, limit int) bool { return active != nil && *active >= limit }
	switch {
	case p.IsPaused:
		return fmt.Sprintf("Work pool %q is paused.", p.Name)
	case q.IsPaused:
		return fmt.Sprintf("Work queue %q of work pool %q is paused.", q.Name, p.Name)
	case p.ConcurrencyLimit != nil && full(p.ActiveSlots, *p.ConcurrencyLimit):
		return fmt.Sprintf("Work pool %q's concurrency limit is full (%d of %d runs active).", p.Name, *p.ActiveSlots, *p.ConcurrencyLimit)
	case q.ConcurrencyLimit != nil && full(q.ActiveSlots, *q.ConcurrencyLimit):
		return fmt.Sprintf("Work queue %q's concurrency limit is full (%d of %d runs active).", q.Name, *q.ActiveSlots, *q.ConcurrencyLimit)
	}
	if q.LastPolled == nil {
		if c.LastHeartbeat != nil {
			return fmt.Sprintf("No worker of work pool %q polls its queue %q: start one with --work-queue %s, or without --work-queue.", p.Name, q.Name, q.Name)
		}
		return fmt.Sprintf("No worker has polled work pool %q yet: start one (prefect worker start --pool %s).", p.Name, p.Name)
	}
	ago := c.Now.Sub(q.LastPolled.Time).Round(time.Second)
	return fmt.Sprintf("No worker polled work pool %q (queue %q) in %s, since %s.", p.Name, q.Name, ago, q.LastPolled.String())
}

// MarkLate marks run id Late, with reason as the state's message, if it
// still waits as "Scheduled"; Prefect's rule for Late decides. It returns
// nil and writes nothing for a run that has moved on since it was found.
func MarkLate(ctx context.Context, tx FlowRunTx, id uuid.UUID, reason string) (*Result, error) {
	run, err := tx.LockFlowRun(ctx, id)
	if err != nil {
		return nil, err
	}
	if run.State == nil || run.State.Type != model.Scheduled || run.State.Name != "Scheduled" {
		return nil, nil
	}
	late := model.StateCreate{Type: model.Scheduled, Name: ptr("Late"), Message: &reason,
		StateDetails: &model.StateDetails{ScheduledTime: run.State.StateDetails.ScheduledTime}}
	return tx.SetFlowRunState(ctx, run, late, false)
}

// SkippedName names the state of a run a catch-up policy skipped.
const SkippedName = "Skipped"

// SkipMissed cancels run id, which a deployment's catch-up policy skips, if
// it still waits and never ran; it returns nil and writes nothing
// otherwise (a process claimed it meanwhile).
func SkipMissed(ctx context.Context, tx FlowRunTx, id uuid.UUID, reason string) (*Result, error) {
	run, err := tx.LockFlowRun(ctx, id)
	if err != nil {
		return nil, err
	}
	if run.State == nil || run.State.Type != model.Scheduled || run.RunCount > 0 {
		return nil, nil
	}
	return tx.SetFlowRunState(ctx, run, model.StateCreate{Type: model.Cancelled, Name: ptr(SkippedName), Message: &reason}, false)
}

// CatchUpSkips returns the runs of due (a deployment's waiting runs that are
// due, newest first) that policy skips at now, with why.
func CatchUpSkips(policy model.CatchUp, due []*model.FlowRun, now time.Time) map[uuid.UUID]string {
	skip := map[uuid.UUID]string{}
	for i, r := range due {
		switch {
		case policy.Mode == model.CatchUpLatest && i > 0:
			skip[r.ID] = "Skipped by the deployment's catch-up policy: only the latest missed run runs."
		case policy.Mode == model.CatchUpWindow && policy.WindowSeconds != nil && r.NextScheduledStartTime != nil &&
			now.Sub(r.NextScheduledStartTime.Time) > time.Duration(*policy.WindowSeconds*float64(time.Second)):
			skip[r.ID] = fmt.Sprintf("Skipped by the deployment's catch-up policy: missed by more than %gs.", *policy.WindowSeconds)
		case policy.MaxLateRuns != nil && i >= *policy.MaxLateRuns:
			skip[r.ID] = fmt.Sprintf("Skipped by the deployment's catch-up policy: at most %d missed runs stay queued.", *policy.MaxLateRuns)
		}
	}
	return skip
}
