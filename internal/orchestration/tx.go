package orchestration

import (
	"context"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/model"
)

// FlowRunTx is the view of one workspace inside a write transaction that
// rules reading or writing rows other than the proposal see. The store
// implements it over its transaction, so a rule's reads, its decision and
// its writes commit together, and the rule itself is written here rather
// than in SQL. Rules that need other rows (concurrency slots, deployment
// limits) add the methods they need.
type FlowRunTx interface {
	// LockFlowRun reads a flow run with its current state and holds it
	// until the transaction ends; it fails with the store's not-found error
	// for an unknown run.
	LockFlowRun(ctx context.Context, id uuid.UUID) (*model.FlowRun, error)
	// SetFlowRunState decides a proposed state for run (as read by
	// LockFlowRun) with DecideFlowRun and writes it when the decision
	// writes.
	SetFlowRunState(ctx context.Context, run *model.FlowRun, proposed model.StateCreate, force bool) (*Result, error)
}

// ResumeFlowRun resumes a paused flow run: to SCHEDULED ("Resuming") when
// its pause asked to be rescheduled, so a worker picks it up again, or else
// to RUNNING. A run that is not paused is answered with an abort and its
// current state, and nothing is written.
func ResumeFlowRun(ctx context.Context, tx FlowRunTx, id uuid.UUID) (*Result, error) {
	run, err := tx.LockFlowRun(ctx, id)
	if err != nil {
		return nil, err
	}
	if run.State == nil || run.State.Type != model.Paused {
		d := abort("Cannot resume a run that is not paused.")
		return &Result{Status: d.Status, State: run.State, Details: d.Details()}, nil
	}
	proposed := model.StateCreate{Type: model.Running}
	if run.State.StateDetails.PauseReschedule {
		proposed = model.StateCreate{Type: model.Scheduled, Name: ptr("Resuming")}
	}
	return tx.SetFlowRunState(ctx, run, proposed, false)
}
