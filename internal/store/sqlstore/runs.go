package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/orchestration"
	"github.com/praetorhq/praetor/internal/store"
)

// ListFlowRuns returns the flow runs matching q.
func (db *DB) ListFlowRuns(ctx context.Context, ws uuid.UUID, q store.RunQuery) ([]*model.FlowRun, error) {
	return listRuns(ctx, db, ws, q, "flow runs", db.listFlowRunsSQL, db.scanFlowRun)
}

// ListTaskRuns returns the task runs matching q.
func (db *DB) ListTaskRuns(ctx context.Context, ws uuid.UUID, q store.RunQuery) ([]*model.TaskRun, error) {
	return listRuns(ctx, db, ws, q, "task runs", db.listTaskRunsSQL, db.scanTaskRun)
}

// CountFlowRuns counts the flow runs matching q.
func (db *DB) CountFlowRuns(ctx context.Context, ws uuid.UUID, q store.RunQuery) (int, error) {
	// From the counters when they can say (runs without a state have none
	// in a window's hours, so a window needs state types).
	if s, ok := flowRunCounterShape(q); ok && (s.window == nil || s.types != nil) {
		var counts map[model.StateType]int
		if s.window == nil {
			byFlow, err := db.flowCounts(ctx, ws, s, false)
			if err != nil {
				return 0, err
			}
			counts = byFlow[uuid.Nil]
		} else {
			var err error
			if counts, err = db.windowCounts(ctx, ws, "flow_runs", "flow_run_hours", s); err != nil {
				return 0, err
			}
		}
		total := 0
		for _, n := range counts {
			total += n
		}
		return total, nil
	}
	where, args := db.flowRunWhere(ws, q)
	return db.count(ctx, `SELECT COUNT(*) FROM flow_runs fr WHERE `+where, args...)
}

// CountFlowRunsUpTo counts exactly what the counters answer, and reads at
// most limit runs for anything else.
func (db *DB) CountFlowRunsUpTo(ctx context.Context, ws uuid.UUID, q store.RunQuery, limit int) (int, bool, error) {
	if s, ok := flowRunCounterShape(q); ok && (s.window == nil || s.types != nil) {
		n, err := db.CountFlowRuns(ctx, ws, q)
		return n, true, err
	}
	where, args := db.flowRunWhere(ws, q)
	n, err := db.count(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM flow_runs fr WHERE `+where+` LIMIT ?) AS capped`, append(args, limit)...)
	if err != nil {
		return 0, false, err
	}
	return n, n < limit, nil
}

// CountTaskRuns counts the task runs matching q.
func (db *DB) CountTaskRuns(ctx context.Context, ws uuid.UUID, q store.RunQuery) (int, error) {
	where, args := db.taskRunWhere(ws, q)
	return db.count(ctx, `SELECT COUNT(*) FROM task_runs tr WHERE `+where, args...)
}

// UpdateFlowRun applies patch to a flow run and saves it.
func (db *DB) UpdateFlowRun(ctx context.Context, ws, id uuid.UUID, patch func(*model.FlowRun) error) error {
	return updateRun(ctx, db, ws, "fr.id = ?", id, db.lockFlowRun, patch, db.saveFlowRun)
}

// UpdateTaskRun applies patch to a task run and saves it.
func (db *DB) UpdateTaskRun(ctx context.Context, ws, id uuid.UUID, patch func(*model.TaskRun) error) error {
	return updateRun(ctx, db, ws, "tr.id = ?", id, db.lockTaskRun, patch, db.saveTaskRun)
}

// listFlowRunsSQL builds the query of ListFlowRuns.
func (db *DB) listFlowRunsSQL(ws uuid.UUID, q store.RunQuery) (string, []any, error) {
	return listRunsSQL(ws, q, flowRunColumns+flowRunFrom, flowRunSorts, db.flowRunWhere)
}

// listTaskRunsSQL builds the query of ListTaskRuns.
func (db *DB) listTaskRunsSQL(ws uuid.UUID, q store.RunQuery) (string, []any, error) {
	return listRunsSQL(ws, q, taskRunColumns+taskRunFrom, taskRunSorts, db.taskRunWhere)
}

// listRunsSQL builds a list query of runs: columnsFrom is what it selects
// from where, ordered by one of sorts.
func listRunsSQL(ws uuid.UUID, q store.RunQuery, columnsFrom string, sorts map[string]string,
	where func(uuid.UUID, store.RunQuery) (string, []any)) (string, []any, error) {
	order, ok := sorts[q.Sort]
	if !ok {
		return "", nil, apperr.Errorf(apperr.EInvalid, "invalid sort %q", q.Sort)
	}
	cond, args := where(ws, q)
	return `SELECT ` + columnsFrom + ` WHERE ` + cond + ` ORDER BY ` + order + page(q.Limit, q.Offset), args, nil
}

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

var (
	flowRunSorts = runSorts("fr", store.FlowRunSorts)
	taskRunSorts = runSorts("tr", store.TaskRunSorts)
)

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

// scanRun scans a run's row: dest, its own columns and its tracking ones
// (ss.tracking), then the current state; it applies both to rt and
// estimates the run's times up to now.
func (db *DB) scanRun(row scanner, ss *stateScan, rt *model.RunTracking, dest []any) error {
	if err := row.Scan(append(dest, ss.stateDest()...)...); err != nil {
		return err
	}
	ss.apply(rt)
	rt.State = ss.state()
	orchestration.Estimate(rt, db.now())
	return nil
}

// normalizeTagsLabels replaces nil tags and labels with empty ones, as
// Prefect never returns null for them.
func normalizeTagsLabels(tags *[]string, labels *map[string]any) {
	if *tags == nil {
		*tags = []string{}
	}
	if *labels == nil {
		*labels = map[string]any{}
	}
}
