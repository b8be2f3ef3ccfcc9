package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/model"
)

const flowRunInputColumns = `i.id, i.flow_run_id, i.key, i.value, i.sender, i.created, i.updated`

func scanFlowRunInput(row scanner) (*model.FlowRunInput, error) {
	var (
		in               model.FlowRunInput
		sender           sql.NullString
		created, updated nullTime
	)
	if err := row.Scan(&in.ID, &in.FlowRunID, &in.Key, &in.Value, &sender, &created, &updated); err != nil {
		return nil, err
	}
	if sender.Valid {
		in.Sender = &sender.String
	}
	in.Created, in.Updated = created.T, updated.T
	return &in, nil
}

// CreateFlowRunInput inserts in, filling its id and timestamps.
func (db *DB) CreateFlowRunInput(ctx context.Context, ws uuid.UUID, in *model.FlowRunInput) error {
	return db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		return db.createFlowRunInput(ctx, tx, ws, in)
	})
}

// createFlowRunInput inserts in within tx: only for a run of ws, so a run
// of another workspace is as unknown as a missing one.
func (db *DB) createFlowRunInput(ctx context.Context, tx *sql.Tx, ws uuid.UUID, in *model.FlowRunInput) error {
	now := model.At(db.now())
	in.ID = uuid.Must(uuid.NewV7())
	in.Created, in.Updated = now, now
	res, err := tx.ExecContext(ctx, db.d.rebind(`INSERT INTO flow_run_inputs (id, workspace_id, flow_run_id, key, value, sender, created, updated)
		SELECT ?, fr.workspace_id, fr.id, ?, ?, ?, ?, ? FROM flow_runs fr WHERE fr.workspace_id = ? AND fr.id = ?`),
		in.ID, in.Key, in.Value, in.Sender, db.d.time(now), db.d.time(now), ws, in.FlowRunID)
	if db.d.isUniqueViolation(err) {
		return apperr.Errorf(apperr.EConflict, "A flow run input with this key already exists.")
	}
	if err != nil {
		return fmt.Errorf("insert flow run input: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("Flow run")
	}
	return nil
}

// GetFlowRunInput returns the input of a run under key.
func (db *DB) GetFlowRunInput(ctx context.Context, ws, runID uuid.UUID, key string) (*model.FlowRunInput, error) {
	return db.getFlowRunInput(ctx, db.read, ws, runID, key)
}

func (db *DB) getFlowRunInput(ctx context.Context, q queryer, ws, runID uuid.UUID, key string) (*model.FlowRunInput, error) {
	in, err := scanFlowRunInput(q.QueryRowContext(ctx, db.d.rebind(`SELECT `+flowRunInputColumns+` FROM flow_run_inputs i
		WHERE i.workspace_id = ? AND i.flow_run_id = ? AND i.key = ?`), ws, runID, key))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Flow run input")
	}
	if err != nil {
		return nil, fmt.Errorf("read flow run input: %w", err)
	}
	return in, nil
}

// ListFlowRunInputs returns a run's inputs whose key starts with prefix
// (compared exactly, not as a pattern), except the keys in exclude, oldest
// first, at most limit of them.
func (db *DB) ListFlowRunInputs(ctx context.Context, ws, runID uuid.UUID, prefix string, exclude []string, limit int) ([]*model.FlowRunInput, error) {
	c := newClause(db.d, "")
	c.add("i.workspace_id = ?", ws)
	c.add("i.flow_run_id = ?", runID)
	if prefix != "" {
		c.add("substr(i.key, 1, ?) = ?", utf8.RuneCountInString(prefix), prefix)
	}
	inList(c, "i.key", nil, exclude)
	where, args := c.sql()
	rows, err := db.query(ctx, `SELECT `+flowRunInputColumns+` FROM flow_run_inputs i WHERE `+where+
		` ORDER BY i.created, i.id`+page(limit, 0), args...)
	if err != nil {
		return nil, fmt.Errorf("list flow run inputs: %w", err)
	}
	return collect(rows, scanFlowRunInput)
}

// DeleteFlowRunInput deletes the input of a run under key.
func (db *DB) DeleteFlowRunInput(ctx context.Context, ws, runID uuid.UUID, key string) error {
	return db.execOne(ctx, "Flow run input", `DELETE FROM flow_run_inputs WHERE workspace_id = ? AND flow_run_id = ? AND key = ?`, ws, runID, key)
}

// FlowRunInput reads an input of a run of the transaction's workspace; nil
// when there is none.
func (v *flowRunTx) FlowRunInput(ctx context.Context, runID uuid.UUID, key string) (*model.FlowRunInput, error) {
	in, err := v.db.getFlowRunInput(ctx, v.tx, v.ws, runID, key)
	if apperr.IsNotFound(err) {
		return nil, nil
	}
	return in, err
}

// CreateFlowRunInput inserts an input of a run of the transaction's
// workspace.
func (v *flowRunTx) CreateFlowRunInput(ctx context.Context, in *model.FlowRunInput) error {
	return v.db.createFlowRunInput(ctx, v.tx, v.ws, in)
}
