package sqlstore

import (
	"context"
	"database/sql"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/orchestration"
)

// flowRunTx is orchestration's view of one workspace in a write transaction.
// It collects the events the transitions emit, to publish after commit.
type flowRunTx struct {
	db      *DB
	tx      *sql.Tx
	ws      uuid.UUID
	emitted []*model.Event
}

var _ orchestration.FlowRunTx = (*flowRunTx)(nil)

func (v *flowRunTx) LockFlowRun(ctx context.Context, id uuid.UUID) (*model.FlowRun, error) {
	return v.db.lockFlowRun(ctx, v.db.fixed(v.tx), v.ws, "fr.id = ?", id)
}

func (v *flowRunTx) SetFlowRunState(ctx context.Context, run *model.FlowRun, proposed model.StateCreate, force bool) (*orchestration.Result, error) {
	return v.db.setFlowRunState(ctx, v.tx, v.ws, run, proposed, force, &v.emitted)
}

// OrchestrateFlowRun runs rule in a write transaction of ws.
func (db *DB) OrchestrateFlowRun(ctx context.Context, ws uuid.UUID, rule func(context.Context, orchestration.FlowRunTx) (*orchestration.Result, error)) (*orchestration.Result, error) {
	return db.orchestrate(ctx, ws, func(ctx context.Context, v *flowRunTx) (*orchestration.Result, error) { return rule(ctx, v) })
}

// orchestrate runs rule in a write transaction of ws and publishes the
// events it emitted once the transaction commits. The rule gets the view
// itself, for the store's own rules that read more inside the transaction.
func (db *DB) orchestrate(ctx context.Context, ws uuid.UUID, rule func(context.Context, *flowRunTx) (*orchestration.Result, error)) (*orchestration.Result, error) {
	var (
		res *orchestration.Result
		v   *flowRunTx
	)
	err := db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		// A fresh view each time: a write may run again in a new transaction.
		v = &flowRunTx{db: db, tx: tx, ws: ws}
		var err error
		res, err = rule(ctx, v)
		return err
	})
	if err != nil {
		return nil, err
	}
	db.published(ws, v.emitted)
	return res, nil
}

// ResumeFlowRun resumes a paused flow run with orchestration's rule, decided
// on the run and its input schema as the transaction reads them.
func (db *DB) ResumeFlowRun(ctx context.Context, ws, id uuid.UUID, runInput map[string]any) (*orchestration.Result, error) {
	return db.orchestrate(ctx, ws, func(ctx context.Context, v *flowRunTx) (*orchestration.Result, error) {
		return orchestration.ResumeFlowRun(ctx, v, id, runInput)
	})
}
