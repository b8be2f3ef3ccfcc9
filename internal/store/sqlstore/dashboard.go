package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

// The aggregates behind the UI's dashboard and lists. Those the run
// counters can answer come from them (runcounts.go); the others are one
// GROUP BY over the same WHERE the list queries build, so the indexes that
// serve a list serve its counts too.

// CountFlowRunsByState counts the flow runs matching q by state type.
func (db *DB) CountFlowRunsByState(ctx context.Context, ws uuid.UUID, q store.RunQuery) (map[model.StateType]int, error) {
	if s, ok := flowRunCounterShape(q); ok {
		if s.window != nil {
			return db.windowCounts(ctx, ws, "flow_runs", "flow_run_hours", s)
		}
		byFlow, err := db.flowCounts(ctx, ws, s, false)
		if err != nil {
			return nil, err
		}
		out := map[model.StateType]int{}
		for t, n := range byFlow[uuid.Nil] {
			if t != "" {
				out[t] = n
			}
		}
		return out, nil
	}
	where, args := db.flowRunWhere(ws, q)
	return db.countByState(ctx, `SELECT COALESCE(fr.state_type, ''), COUNT(*) FROM flow_runs fr WHERE `+where+
		` AND fr.state_type IS NOT NULL GROUP BY COALESCE(fr.state_type, '')`, args...)
}

// CountTaskRunsByState counts the task runs matching q by state type.
func (db *DB) CountTaskRunsByState(ctx context.Context, ws uuid.UUID, q store.RunQuery) (map[model.StateType]int, error) {
	if s, ok := taskRunCounterShape(q); ok {
		return db.windowCounts(ctx, ws, "task_runs", "task_run_hours", s)
	}
	where, args := db.taskRunWhere(ws, q)
	return db.countByState(ctx, `SELECT tr.state_type, COUNT(*) FROM task_runs tr WHERE `+where+
		` AND tr.state_type IS NOT NULL GROUP BY tr.state_type`, args...)
}

func (db *DB) countByState(ctx context.Context, q string, args ...any) (map[model.StateType]int, error) {
	rows, err := db.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("count runs by state: %w", err)
	}
	defer rows.Close()
	out := map[model.StateType]int{}
	for rows.Next() {
		var (
			t string
			n int
		)
		if err := rows.Scan(&t, &n); err != nil {
			return nil, err
		}
		out[model.StateType(t)] = n
	}
	return out, rows.Err()
}

// CountFlowRunsByFlow counts the flow runs matching q per flow.
func (db *DB) CountFlowRunsByFlow(ctx context.Context, ws uuid.UUID, q store.RunQuery) (map[uuid.UUID]int, error) {
	if s, ok := flowRunCounterShape(q); ok && s.window == nil {
		byFlow, err := db.flowCounts(ctx, ws, s, true)
		if err != nil {
			return nil, err
		}
		out := map[uuid.UUID]int{}
		for flow, counts := range byFlow {
			for _, n := range counts {
				out[flow] += n
			}
		}
		return out, nil
	}
	where, args := db.flowRunWhere(ws, q)
	rows, err := db.query(ctx, `SELECT fr.flow_id, COUNT(*) FROM flow_runs fr WHERE `+where+` GROUP BY fr.flow_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("count runs by flow: %w", err)
	}
	defer rows.Close()
	out := map[uuid.UUID]int{}
	for rows.Next() {
		var (
			id uuid.UUID
			n  int
		)
		if err := rows.Scan(&id, &n); err != nil {
			return nil, err
		}
		out[id] = n
	}
	return out, rows.Err()
}

// maxHistoryBuckets bounds a history, so a request cannot make the server
// build an enormous result.
const maxHistoryBuckets = 1000

// FlowRunHistory counts flow runs per time bucket and state type, by
// expected start time: the database computes each run's bucket from its
// epoch seconds and groups on it.
func (db *DB) FlowRunHistory(ctx context.Context, ws uuid.UUID, h store.HistoryQuery) ([]store.HistoryBucket, error) {
	step := int64(h.Interval / time.Second)
	if step < 1 || h.Buckets < 1 || h.Buckets > maxHistoryBuckets {
		return nil, apperr.Errorf(apperr.EInvalid, "a history needs 1 to %d buckets of at least one second", maxHistoryBuckets)
	}
	start := h.Start.UTC().Truncate(time.Second)
	end := start.Add(time.Duration(step) * time.Second * time.Duration(h.Buckets))
	out := make([]store.HistoryBucket, h.Buckets)
	for i := range out {
		bs := start.Add(time.Duration(int64(i)*step) * time.Second)
		out[i] = store.HistoryBucket{Start: bs, End: bs.Add(time.Duration(step) * time.Second), Counts: map[model.StateType]int{}}
	}
	runs := h.Runs
	runs.Sort, runs.Limit, runs.Offset = "", 0, 0
	if step%3600 == 0 && start.Unix() >= 0 && start.Unix()%3600 == 0 && reflect.DeepEqual(runs, store.RunQuery{}) {
		// Whole hours of every run: from the hourly counters.
		return out, db.hourHistory(ctx, ws, start, step, out)
	}
	where, args := db.flowRunWhere(ws, h.Runs)
	bucket := "(" + db.d.epoch("fr.expected_start_time") + " - ?) / ?"
	q := `SELECT ` + bucket + ` AS bucket, fr.state_type, COUNT(*) FROM flow_runs fr WHERE ` + where +
		` AND fr.expected_start_time >= ? AND fr.expected_start_time < ? AND fr.state_type IS NOT NULL GROUP BY 1, fr.state_type`
	args = append([]any{start.Unix(), step}, args...)
	args = append(args, db.d.time(model.At(start)), db.d.time(model.At(end)))
	rows, err := db.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("flow run history: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			b int64
			t sql.NullString
			n int
		)
		if err := rows.Scan(&b, &t, &n); err != nil {
			return nil, err
		}
		if b >= 0 && b < int64(len(out)) {
			out[b].Counts[model.StateType(t.String)] += n
		}
	}
	return out, rows.Err()
}

// RunHistory is Prefect's run history: the database buckets the matching
// runs by expected start time and sums, per bucket and state, the
// estimates Prefect computes on read (orchestration.Estimate), to the
// second.
func (db *DB) RunHistory(ctx context.Context, ws uuid.UUID, tasks bool, h store.HistoryQuery) ([]store.RunHistoryInterval, error) {
	step := int64(h.Interval / time.Second)
	if step < 1 || h.Buckets < 1 || h.Buckets > maxHistoryBuckets {
		return nil, apperr.Errorf(apperr.EInvalid, "a history needs 1 to %d buckets of at least one second", maxHistoryBuckets)
	}
	start := h.Start.UTC().Truncate(time.Second)
	end := start.Add(time.Duration(step) * time.Second * time.Duration(h.Buckets))
	out := make([]store.RunHistoryInterval, h.Buckets)
	for i := range out {
		bs := start.Add(time.Duration(int64(i)*step) * time.Second)
		out[i] = store.RunHistoryInterval{Start: bs, End: bs.Add(time.Duration(step) * time.Second), States: []store.RunHistoryState{}}
	}
	table, a := "flow_runs", "fr"
	where, args := db.flowRunWhere(ws, h.Runs)
	if tasks {
		table, a = "task_runs", "tr"
		where, args = db.taskRunWhere(ws, h.Runs)
	}
	e := func(col string) string { return db.d.epoch(a + "." + col) }
	by := "expected_start_time"
	if h.ByStartTime {
		by = "start_time"
	}
	now := db.now().Unix()
	runTime := a + ".total_run_time + CASE WHEN " + a + ".state_type = 'RUNNING' AND " + a + ".state_timestamp IS NOT NULL THEN ? - " + e("state_timestamp") + " ELSE 0 END"
	lateness := "CASE WHEN " + a + ".start_time IS NOT NULL AND " + a + ".start_time > " + a + ".expected_start_time THEN " + e("start_time") + " - " + e("expected_start_time") +
		" WHEN " + a + ".start_time IS NULL AND " + e("expected_start_time") + " < ? THEN ? - " + e("expected_start_time") + " ELSE 0 END"
	q := `SELECT (` + e(by) + ` - ?) / ? AS bucket, ` + a + `.state_type, ` + a + `.state_name, COUNT(*), SUM(` + runTime + `), SUM(` + lateness + `)
		FROM ` + table + ` ` + a + ` WHERE ` + where + ` AND ` + a + `.` + by + ` >= ? AND ` + a + `.` + by + ` < ? AND ` + a + `.state_type IS NOT NULL
		GROUP BY 1, ` + a + `.state_type, ` + a + `.state_name ORDER BY 1, 2, 3`
	args = append([]any{start.Unix(), step, now, now, now}, args...)
	args = append(args, db.d.time(model.At(start)), db.d.time(model.At(end)))
	rows, err := db.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("run history: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			b    int64
			s    store.RunHistoryState
			name sql.NullString
		)
		if err := rows.Scan(&b, &s.Type, &name, &s.Count, &s.SumEstimatedRunTime, &s.SumEstimatedLateness); err != nil {
			return nil, err
		}
		s.Name = name.String
		if b >= 0 && b < int64(len(out)) {
			out[b].States = append(out[b].States, s)
		}
	}
	return out, rows.Err()
}
