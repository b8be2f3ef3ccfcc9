package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

// listRuns lists the flow runs or task runs (what, in errors) of ws that q
// selects: build writes the query, scan reads a row.
func listRuns[R any](ctx context.Context, db *DB, ws uuid.UUID, q store.RunQuery, what string,
	build func(uuid.UUID, store.RunQuery) (string, []any, error), scan func(scanner) (R, error)) ([]R, error) {
	query, args, err := build(ws, q)
	if err != nil {
		return nil, err
	}
	rows, err := db.query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", what, err)
	}
	return collect(rows, scan)
}

// updateRun reads and locks the run of ws that cond selects with arg, lets
// patch change it and saves it, in one write.
func updateRun[R any](ctx context.Context, db *DB, ws uuid.UUID, cond string, arg any,
	lock func(context.Context, queryer, uuid.UUID, string, ...any) (R, error), patch func(R) error,
	save func(context.Context, queryer, uuid.UUID, R) error) error {
	return db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		r, err := lock(ctx, tx, ws, cond, arg)
		if err != nil {
			return err
		}
		if err := patch(r); err != nil {
			return err
		}
		return save(ctx, tx, ws, r)
	})
}

// runSorts returns the orders of the sorts a run list accepts, for the runs
// table aliased a. Runs without a start, end or next scheduled time come
// last on both engines (SQLite's default puts NULLs first when ascending);
// ties go by id.
func runSorts(a string, sorts []string) map[string]string {
	orders := map[string]string{
		store.SortIDDesc:                    a + ".id DESC",
		store.SortStartTimeAsc:              a + ".start_time ASC NULLS LAST, " + a + ".id",
		store.SortStartTimeDesc:             a + ".start_time DESC NULLS LAST, " + a + ".id",
		store.SortExpectedStartTimeAsc:      a + ".expected_start_time ASC, " + a + ".id",
		store.SortExpectedStartTimeDesc:     a + ".expected_start_time DESC, " + a + ".id",
		store.SortNameAsc:                   a + ".name ASC, " + a + ".id",
		store.SortNameDesc:                  a + ".name DESC, " + a + ".id",
		store.SortNextScheduledStartTimeAsc: a + ".next_scheduled_start_time ASC NULLS LAST, " + a + ".id",
		store.SortEndTimeDesc:               a + ".end_time DESC NULLS LAST, " + a + ".id",
	}
	m := map[string]string{"": orders[store.SortIDDesc]}
	for _, s := range sorts {
		o, ok := orders[s]
		if !ok {
			panic("no order for run sort " + s)
		}
		m[s] = o
	}
	return m
}

// saveRun writes a flow run's or task run's row of table: set and args are
// the columns of its own kind; saveRun adds the tracking columns both kinds
// share (state, run count, times) from rt, and stamps updated.
func (db *DB) saveRun(ctx context.Context, q queryer, table string, ws, id uuid.UUID, rt *model.RunTracking, updated *model.Time, set string, args ...any) error {
	*updated = model.At(db.now())
	args = append(args, rt.StateID, typeArg(rt.StateType), rt.StateName, db.timeArg(rt.StateTimestamp), rt.RunCount,
		db.timeArg(rt.ExpectedStartTime), db.timeArg(rt.NextScheduledStartTime), db.timeArg(rt.StartTime), db.timeArg(rt.EndTime),
		rt.TotalRunTime, db.d.time(*updated), ws, id)
	_, err := q.ExecContext(ctx, db.d.rebind(`UPDATE `+table+` SET `+set+`, state_id = ?, state_type = ?, state_name = ?,
		state_timestamp = ?, run_count = ?, expected_start_time = ?, next_scheduled_start_time = ?, start_time = ?, end_time = ?,
		total_run_time = ?, updated = ? WHERE workspace_id = ? AND id = ?`), args...)
	if err != nil {
		return fmt.Errorf("update %s: %w", table, err)
	}
	return nil
}
