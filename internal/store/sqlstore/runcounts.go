package sqlstore

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

// The run counters (migration 0004): flow_run_counts holds the flow runs
// per (flow, state type), flow_run_hours and task_run_hours the runs per
// hour of expected start and state type, all kept by triggers in the
// transaction of every change. The aggregates answer from them the queries
// whose filters they can: a count of the whole history by flow and state
// type reads a few rows, and a time window reads one row per hour and
// state inside it plus the runs of the partial hours at its edges. Any
// other query is answered from the runs as before.

// lockFlowRunCounters takes, on PostgreSQL, the locks of the counters that
// moving a run of flow from types[0] to types[1] (expected starts
// starts[0], starts[1]) changes, in one order for every transition: a
// transaction lock on the flow, the flow's count rows by state type, then
// the hour rows (which all flows share) by hour and state type. The
// counters' trigger, deferred to commit, takes them in the order of the
// change instead, so runs of a flow moving in opposite directions (RUNNING
// to COMPLETED and back) deadlocked, each costing PostgreSQL's
// deadlock_timeout and a retry (bench/run: 2 set_state/s at 16 connections,
// 107 deadlocks in 2 s). The row locks alone still left some (the trigger
// waited at commit for a count row it had not locked); the flow's lock
// leaves none. SQLite's one writer needs no locks.
func (db *DB) lockFlowRunCounters(ctx context.Context, tx *sql.Tx, ws, flow uuid.UUID, types [2]*model.StateType, starts [2]*model.Time) error {
	if db.d.forUpdate() == "" {
		return nil
	}
	from, to := string(ptrOr(types[0])), string(ptrOr(types[1]))
	// The key is the id's random half: two flows sharing it only wait
	// for each other.
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(binary.BigEndian.Uint64(flow[8:]))); err != nil {
		return fmt.Errorf("lock flow counters: %w", err)
	}
	if _, err := tx.ExecContext(ctx, db.d.rebind(`SELECT 1 FROM flow_run_counts WHERE workspace_id = ? AND flow_id = ? AND state_type IN (?, ?)
		ORDER BY state_type FOR UPDATE`), ws, flow, from, to); err != nil {
		return fmt.Errorf("lock run counts: %w", err)
	}
	var hours []any
	for i, typ := range []string{from, to} {
		if starts[i] != nil {
			hours = append(hours, hourOf(*starts[i]), typ)
		}
	}
	if len(hours) == 0 {
		return nil
	}
	q := `SELECT 1 FROM flow_run_hours WHERE workspace_id = ? AND (` + strings.TrimSuffix(strings.Repeat(`(hour = ? AND state_type = ?) OR `, len(hours)/2), " OR ") + `)
		ORDER BY hour, state_type FOR UPDATE`
	if _, err := tx.ExecContext(ctx, db.d.rebind(q), append([]any{ws}, hours...)...); err != nil {
		return fmt.Errorf("lock run hours: %w", err)
	}
	return nil
}

// counterShape is what a run query filters on, when the counters can
// answer it.
type counterShape struct {
	flows  []uuid.UUID       // nil: every flow
	types  []model.StateType // nil: every state type
	window *store.TimeFilter // on expected start, both ends set; nil: no window
}

// flowRunCounterShape reports the shape of q if it filters flow runs on
// nothing but their flow ids, state types and (without flows) a window of
// expected start. The shape is rebuilt into a query and compared with q,
// so a filter this does not know about, today's or a later one, falls back
// to the runs.
func flowRunCounterShape(q store.RunQuery) (counterShape, bool) {
	var s counterShape
	canon := store.RunQuery{}
	if ids, ok := flowIDsOnly(q.Flows); ok {
		s.flows = ids
		canon.Flows = &store.FlowFilter{Operator: q.Flows.Operator, ID: &store.IDFilter{Any: ids}}
	}
	if f := q.FlowRuns; f != nil {
		if f.Operator != "" && f.Operator != "and_" {
			return s, false
		}
		canon.FlowRuns = &store.FlowRunFilter{Operator: f.Operator}
		if st, ok := stateTypesOnly(f.State); ok {
			s.types = st.Type.Any
			canon.FlowRuns.State = st
		}
		if w, ok := closedWindow(f.ExpectedStartTime); ok {
			s.window = w
			canon.FlowRuns.ExpectedStartTime = w
		}
	}
	if s.window != nil && s.flows != nil {
		return s, false // the hours are not kept per flow
	}
	q.Sort, q.Limit, q.Offset = "", 0, 0
	return s, reflect.DeepEqual(q, canon)
}

// taskRunCounterShape is flowRunCounterShape for task runs: state types
// and a window of expected start only.
func taskRunCounterShape(q store.RunQuery) (counterShape, bool) {
	var s counterShape
	f := q.TaskRuns
	if f == nil || (f.Operator != "" && f.Operator != "and_") {
		return s, false
	}
	canon := store.RunQuery{TaskRuns: &store.TaskRunFilter{Operator: f.Operator}}
	if st, ok := stateTypesOnly(f.State); ok {
		s.types = st.Type.Any
		canon.TaskRuns.State = st
	}
	w, ok := closedWindow(f.ExpectedStartTime)
	if !ok {
		return s, false
	}
	s.window = w
	canon.TaskRuns.ExpectedStartTime = w
	q.Sort, q.Limit, q.Offset = "", 0, 0
	return s, reflect.DeepEqual(q, canon)
}

// stateTypesOnly returns f if it filters on a list of state types alone.
func stateTypesOnly(f *store.StateFilter) (*store.StateFilter, bool) {
	if f == nil || f.Type == nil || f.Type.Any == nil || len(f.Type.NotAny) > 0 || f.Name != nil {
		return nil, false
	}
	return f, true
}

// closedWindow returns f if it bounds both ends, after 1970 (hours before
// it would round the other way on SQLite), and nothing else.
func closedWindow(f *store.TimeFilter) (*store.TimeFilter, bool) {
	if f == nil || f.After == nil || f.Before == nil || f.IsNull != nil || f.After.Unix() < 0 {
		return nil, false
	}
	return f, true
}

// flowCounts counts the flow runs of a shape without a window by flow and
// state type (all flows under uuid.Nil unless byFlow), from flow_run_counts.
func (db *DB) flowCounts(ctx context.Context, ws uuid.UUID, s counterShape, byFlow bool) (map[uuid.UUID]map[model.StateType]int, error) {
	out := map[uuid.UUID]map[model.StateType]int{}
	add := func(flow uuid.UUID, t model.StateType, n int) {
		if n == 0 {
			return
		}
		if out[flow] == nil {
			out[flow] = map[model.StateType]int{}
		}
		out[flow][t] += n
	}
	if s.flows != nil && len(s.flows) == 0 || s.types != nil && len(s.types) == 0 {
		return out, nil
	}
	c := newClause(db.d, "")
	c.add("workspace_id = ?", ws)
	if s.types != nil {
		inList(c, "state_type", s.types, nil)
	}
	if s.flows != nil {
		inList(c, "flow_id", s.flows, nil)
	}
	where, args := c.sql()
	rows, err := db.query(ctx, `SELECT flow_id, state_type, n FROM flow_run_counts WHERE `+where+` AND n <> 0`, args...)
	if err != nil {
		return nil, fmt.Errorf("count flow runs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			flow uuid.UUID
			t    string
			n    int
		)
		if err := rows.Scan(&flow, &t, &n); err != nil {
			return nil, err
		}
		if !byFlow {
			flow = uuid.Nil
		}
		add(flow, model.StateType(t), n)
	}
	return out, rows.Err()
}

// windowCounts counts the runs of table (flow_runs or task_runs, aliased
// as the filters expect) whose expected start is in the shape's closed
// window, by state type: whole hours from hoursTable, the partial hours at
// the edges from the runs, through the (workspace_id, expected_start_time)
// index.
func (db *DB) windowCounts(ctx context.Context, ws uuid.UUID, table, hoursTable string, s counterShape) (map[model.StateType]int, error) {
	out := map[model.StateType]int{}
	if s.types != nil && len(s.types) == 0 {
		return out, nil
	}
	after, before := s.window.After.UTC(), s.window.Before.UTC()
	if before.Before(after) {
		return out, nil
	}
	// Whole hours [h1, h2): those starting at or after the window's start
	// and ending at or before its end.
	h1 := after.Truncate(time.Hour)
	if h1.Before(after) {
		h1 = h1.Add(time.Hour)
	}
	h2 := before.Truncate(time.Hour)
	edge := func(from, to time.Time, inclusive bool) error {
		c := newClause(db.d, "")
		c.add("workspace_id = ?", ws)
		c.add("expected_start_time >= ?", db.d.time(model.At(from)))
		op := "<"
		if inclusive {
			op = "<="
		}
		c.add("expected_start_time "+op+" ?", db.d.time(model.At(to)))
		c.add("state_type IS NOT NULL")
		if s.types != nil {
			inList(c, "state_type", s.types, nil)
		}
		where, args := c.sql()
		counts, err := db.countByState(ctx, `SELECT state_type, COUNT(*) FROM `+table+` WHERE `+where+` GROUP BY state_type`, args...)
		for t, n := range counts {
			out[t] += n
		}
		return err
	}
	if !h1.Before(h2) {
		// No whole hour inside: the window is within two hours.
		return out, edge(after, before, true)
	}
	if err := edge(after, h1, false); err != nil {
		return nil, err
	}
	c := newClause(db.d, "")
	c.add("workspace_id = ?", ws)
	c.add("hour >= ?", h1.Unix()/3600)
	c.add("hour < ?", h2.Unix()/3600)
	c.add("state_type <> ''")
	if s.types != nil {
		inList(c, "state_type", s.types, nil)
	}
	where, args := c.sql()
	counts, err := db.countByState(ctx, `SELECT state_type, CAST(SUM(n) AS BIGINT) FROM `+hoursTable+` WHERE `+where+` GROUP BY state_type`, args...)
	if err != nil {
		return nil, err
	}
	for t, n := range counts {
		out[t] += n
	}
	if err := edge(h2, before, true); err != nil {
		return nil, err
	}
	for t, n := range out {
		if n == 0 {
			delete(out, t)
		}
	}
	return out, nil
}

// hourHistory answers FlowRunHistory from flow_run_hours when its buckets
// are whole hours from an hour and it filters nothing.
func (db *DB) hourHistory(ctx context.Context, ws uuid.UUID, start time.Time, step int64, out []store.HistoryBucket) error {
	h1 := start.Unix() / 3600
	per := step / 3600
	rows, err := db.query(ctx, `SELECT hour, state_type, n FROM flow_run_hours
		WHERE workspace_id = ? AND hour >= ? AND hour < ? AND state_type <> '' AND n <> 0`, ws, h1, h1+per*int64(len(out)))
	if err != nil {
		return fmt.Errorf("flow run history: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			h int64
			t string
			n int
		)
		if err := rows.Scan(&h, &t, &n); err != nil {
			return err
		}
		out[(h-h1)/per].Counts[model.StateType(t)] += n
	}
	return rows.Err()
}
