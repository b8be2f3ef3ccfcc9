package orchestration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/schemacheck"
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
	// FlowRunInput reads the input of a run under key; nil when it has none.
	FlowRunInput(ctx context.Context, runID uuid.UUID, key string) (*model.FlowRunInput, error)
	// CreateFlowRunInput stores an input of a run.
	CreateFlowRunInput(ctx context.Context, in *model.FlowRunInput) error
}

// ResumeFlowRun resumes a paused flow run: to SCHEDULED ("Resuming") when
// its pause asked to be rescheduled, so a worker picks it up again, or else
// to RUNNING. A run that is not paused is answered with an abort, and
// nothing is written.
//
// A pause that waits for input names its keys in the state's
// run_input_keyset: runInput is then checked against the schema the client
// stored under the "schema" key, and kept under the "response" key when the
// run resumes. Input that does not fit is answered, as Prefect's server
// does, with a rejection that says why, and the run stays paused.
func ResumeFlowRun(ctx context.Context, tx FlowRunTx, id uuid.UUID, runInput map[string]any) (*Result, error) {
	run, err := tx.LockFlowRun(ctx, id)
	if err != nil {
		return nil, err
	}
	if run.State == nil || run.State.Type != model.Paused {
		d := abort("Cannot resume a flow run that is not paused.")
		return &Result{Status: d.Status, Details: d.Details()}, nil
	}
	keyset, _ := run.State.StateDetails.RunInputKeyset.(map[string]any)
	if keyset != nil {
		if runInput == nil {
			runInput = map[string]any{}
		}
		if reason := checkRunInput(ctx, tx, run, keyset, runInput); reason != "" {
			// Prefect answers these with abort details on a rejection.
			return &Result{Status: Reject, State: run.State, Details: Details{Type: "abort_details", Reason: &reason}}, nil
		}
	}
	proposed := model.StateCreate{Type: model.Running}
	if run.State.StateDetails.PauseReschedule {
		proposed = model.StateCreate{Type: model.Scheduled, Name: ptr("Resuming")}
	}
	res, err := tx.SetFlowRunState(ctx, run, proposed, false)
	if err != nil || res.Status != Accept || keyset == nil || len(runInput) == 0 {
		return res, err
	}
	key, _ := keyset["response"].(string)
	value, err := json.Marshal(runInput)
	if err != nil {
		return nil, fmt.Errorf("encode run input: %w", err)
	}
	if err := tx.CreateFlowRunInput(ctx, &model.FlowRunInput{FlowRunID: run.ID, Key: key, Value: string(value)}); err != nil {
		return nil, fmt.Errorf("store run input: %w", err)
	}
	return res, nil
}

// checkRunInput checks runInput against the schema the paused client
// stored under keyset's "schema" key: "" when it fits, else why not, in
// Prefect's words.
func checkRunInput(ctx context.Context, tx FlowRunTx, run *model.FlowRun, keyset map[string]any, runInput map[string]any) string {
	key, _ := keyset["schema"].(string)
	stored, err := tx.FlowRunInput(ctx, run.ID, key)
	if err != nil || stored == nil {
		return "Run input schema not found."
	}
	var schema map[string]any
	if json.Unmarshal([]byte(stored.Value), &schema) != nil {
		return "Run input schema is not valid JSON."
	}
	err = schemacheck.Validate(schema, runInput, schemacheck.Options{})
	var se *schemacheck.Error
	switch {
	case errors.As(err, &se):
		return "Reason: " + se.Error()
	case err != nil:
		return "Invalid schema: " + err.Error()
	}
	return ""
}

// PauseExpiredMessage is the message of the FAILED state a pause that was
// never resumed in time ends in, as Prefect's server words it.
const PauseExpiredMessage = "The flow was paused and never resumed."

// FailExpiredPause fails run id, forced as Prefect's pause-expiration
// service does, if it is still PAUSED past its pause_timeout at now. It
// returns nil and writes nothing for a run that was resumed (or is gone)
// since it was found.
func FailExpiredPause(ctx context.Context, tx FlowRunTx, id uuid.UUID, now time.Time) (*Result, error) {
	run, err := tx.LockFlowRun(ctx, id)
	if apperr.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if run.State == nil || run.State.Type != model.Paused || !PauseExpired(run.State, now) {
		return nil, nil
	}
	return tx.SetFlowRunState(ctx, run, model.StateCreate{Type: model.Failed, Message: ptr(PauseExpiredMessage)}, true)
}

// PauseExpired reports whether a PAUSED state's timeout is before now.
func PauseExpired(s *model.State, now time.Time) bool {
	pt := s.StateDetails.PauseTimeout
	return pt != nil && pt.Before(now)
}
