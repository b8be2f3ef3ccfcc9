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
	Now        time.Time
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
	// Work pools (with the workers) explain runs of a pooled deployment by
	// the pool's workers; until they exist a pooled deployment is polled
	// as a served one is.
	if d.LastPolled == nil {
		return fmt.Sprintf("Nothing has polled deployment %q for runs yet: serve it (flow.serve) or start a worker for its work pool.", d.Name)
	}
	ago := c.Now.Sub(d.LastPolled.Time).Round(time.Second)
	return fmt.Sprintf("Nothing polled deployment %q since %s (%s ago).", d.Name, d.LastPolled.String(), ago)
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
