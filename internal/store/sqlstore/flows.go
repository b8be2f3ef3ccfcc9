package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

const flowColumns = `f.id, f.name, f.tags, f.labels, f.created, f.updated`

func scanFlow(row scanner) (*model.Flow, error) { return scanFlowAnd(row) }

// scanFlowAnd scans a flow's columns, then extra, the columns after them.
func scanFlowAnd(row scanner, extra ...any) (*model.Flow, error) {
	var (
		f                model.Flow
		created, updated nullTime
	)
	if err := row.Scan(append([]any{&f.ID, &f.Name, jsonCol{&f.Tags}, jsonCol{&f.Labels}, &created, &updated}, extra...)...); err != nil {
		return nil, err
	}
	f.Created, f.Updated = created.T, updated.T
	if f.Tags == nil {
		f.Tags = []string{}
	}
	if f.Labels == nil {
		f.Labels = map[string]any{}
	}
	return &f, nil
}

// UpsertFlow inserts f unless a flow of that name exists, then reads the row
// back into f.
func (db *DB) UpsertFlow(ctx context.Context, ws uuid.UUID, f *model.Flow) (bool, error) {
	var created bool
	err := db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		now := model.At(db.now())
		res, err := tx.ExecContext(ctx, db.d.rebind(`INSERT INTO flows (id, workspace_id, name, tags, labels, created, updated)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (workspace_id, name) DO NOTHING`),
			uuid.Must(uuid.NewV7()), ws, f.Name, mustJSON(f.Tags), mustJSON(f.Labels), db.d.time(now), db.d.time(now))
		if err != nil {
			return fmt.Errorf("insert flow: %w", err)
		}
		n, _ := res.RowsAffected()
		created = n == 1
		got, err := scanFlow(tx.QueryRowContext(ctx, db.d.rebind(`SELECT `+flowColumns+` FROM flows f WHERE f.workspace_id = ? AND f.name = ?`), ws, f.Name))
		if err != nil {
			return fmt.Errorf("read flow: %w", err)
		}
		*f = *got
		return nil
	})
	return created, err
}

// GetFlow returns a flow by id.
func (db *DB) GetFlow(ctx context.Context, ws, id uuid.UUID) (*model.Flow, error) {
	return db.getFlow(ctx, `f.id = ?`, ws, id)
}

// GetFlowByName returns a flow by name.
func (db *DB) GetFlowByName(ctx context.Context, ws uuid.UUID, name string) (*model.Flow, error) {
	return db.getFlow(ctx, `f.name = ?`, ws, name)
}

// flowIn reads a flow by id through q, inside a write.
func (db *DB) flowIn(ctx context.Context, q queryer, ws, id uuid.UUID) (*model.Flow, error) {
	return scanFlow(q.QueryRowContext(ctx, db.d.rebind(`SELECT `+flowColumns+` FROM flows f WHERE f.workspace_id = ? AND f.id = ?`), ws, id))
}

func (db *DB) getFlow(ctx context.Context, cond string, ws uuid.UUID, arg any) (*model.Flow, error) {
	f, err := scanFlow(db.read.QueryRowContext(ctx, db.d.rebind(`SELECT `+flowColumns+` FROM flows f WHERE f.workspace_id = ? AND `+cond), ws, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Flow")
	}
	return f, err
}

var flowSorts = map[string]string{
	"":                    "f.name ASC",
	store.SortNameAsc:     "f.name ASC",
	store.SortNameDesc:    "f.name DESC",
	store.SortCreatedDesc: "f.created DESC, f.id DESC",
	store.SortUpdatedDesc: "f.updated DESC, f.id DESC",
}

// flowWhere builds the WHERE of a flows query: the flow filter, and flow-run
// and task-run filters as existence of matching runs.
func (db *DB) flowWhere(ws uuid.UUID, q store.RunQuery) (string, []any) {
	c := newClause(db.d, "")
	c.add("f.workspace_id = ?", ws)
	db.flowFilter(c, "f", q.Flows)
	if q.FlowRuns != nil || q.TaskRuns != nil {
		c.exists("flow_runs fr", "fr.workspace_id = f.workspace_id AND fr.flow_id = f.id", func(sub *clause) {
			db.flowRunFilter(sub, ws, "fr", q.FlowRuns)
			if q.TaskRuns != nil {
				sub.exists("task_runs tr", "tr.workspace_id = fr.workspace_id AND tr.flow_run_id = fr.id", func(tr *clause) { db.taskRunFilter(tr, "tr", q.TaskRuns) })
			}
		})
	}
	return c.sql()
}

func (db *DB) flowFilter(c *clause, alias string, f *store.FlowFilter) {
	if f == nil {
		return
	}
	s := newClause(db.d, f.Operator)
	s.id(alias+".id", f.ID)
	s.name(alias+".name", f.Name)
	s.tags(alias+".tags", f.Tags)
	c.sub(s)
}

// ListFlows returns the flows matching q.
func (db *DB) ListFlows(ctx context.Context, ws uuid.UUID, q store.RunQuery) ([]*model.Flow, error) {
	order, ok := flowSorts[q.Sort]
	if !ok {
		return nil, apperr.Errorf(apperr.EInvalid, "invalid sort %q", q.Sort)
	}
	where, args := db.flowWhere(ws, q)
	rows, err := db.query(ctx, `SELECT `+flowColumns+` FROM flows f WHERE `+where+` ORDER BY `+order+page(q.Limit, q.Offset), args...)
	if err != nil {
		return nil, fmt.Errorf("list flows: %w", err)
	}
	return collect(rows, scanFlow)
}

// CountFlows counts the flows matching q.
func (db *DB) CountFlows(ctx context.Context, ws uuid.UUID, q store.RunQuery) (int, error) {
	where, args := db.flowWhere(ws, q)
	return db.count(ctx, `SELECT COUNT(*) FROM flows f WHERE `+where, args...)
}

// UpdateFlow replaces a flow's tags.
func (db *DB) UpdateFlow(ctx context.Context, ws, id uuid.UUID, tags []string) error {
	return db.execOne(ctx, "Flow", `UPDATE flows SET tags = ?, updated = ? WHERE workspace_id = ? AND id = ?`, mustJSON(tags), db.d.time(model.At(db.now())), ws, id)
}

// DeleteFlows deletes flows with their runs and their task runs and, by
// cascade, their deployments.
func (db *DB) DeleteFlows(ctx context.Context, ws uuid.UUID, ids []uuid.UUID) ([]uuid.UUID, error) {
	return db.deleteEach(ctx, ids, func(ctx context.Context, tx *sql.Tx, id uuid.UUID) error {
		if _, err := db.deleteTaskRuns(ctx, tx, ws, "flow_run_id IN (SELECT id FROM flow_runs WHERE workspace_id = ? AND flow_id = ?)", ws, id); err != nil {
			return err
		}
		return db.execOneIn(ctx, tx, "Flow", `DELETE FROM flows WHERE workspace_id = ? AND id = ?`, ws, id)
	})
}

// deleteEach deletes each of ids with del in one write transaction, so a
// bulk delete happens whole or not at all, and returns the ids del found
// (an id del reports not found is skipped).
func (db *DB) deleteEach(ctx context.Context, ids []uuid.UUID, del func(ctx context.Context, tx *sql.Tx, id uuid.UUID) error) ([]uuid.UUID, error) {
	var deleted []uuid.UUID
	err := db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		deleted = []uuid.UUID{} // the writer may run this again after a deadlock
		for _, id := range ids {
			switch err := del(ctx, tx, id); {
			case apperr.IsNotFound(err):
			case err != nil:
				return err
			default:
				deleted = append(deleted, id)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return deleted, nil
}

// execOne runs a write that must touch exactly one row, else not found.
func (db *DB) execOne(ctx context.Context, what, q string, args ...any) error {
	return db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		return db.execOneIn(ctx, tx, what, q, args...)
	})
}

// execOneIn is execOne within tx.
func (db *DB) execOneIn(ctx context.Context, tx *sql.Tx, what, q string, args ...any) error {
	res, err := tx.ExecContext(ctx, db.d.rebind(q), args...)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound(what)
	}
	return nil
}

func (db *DB) count(ctx context.Context, q string, args ...any) (int, error) {
	var n int
	if err := db.read.QueryRowContext(ctx, db.d.rebind(q), args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count: %w", err)
	}
	return n, nil
}

// collect scans every row with scan.
func collect[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
