package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

// BulkInsertFlowRuns inserts flow runs as they are, each with its current
// State (if any) as its only state row, in one write transaction (of
// multi-row INSERTs on SQLite, COPY on PostgreSQL). It bypasses orchestration: it is for seeding
// benchmarks and importing history, not for runs a client is executing.
// Runs without an id get a time-ordered one; the tracking fields
// (state_type, expected_start_time, …) are taken from each run's State
// and RunTracking as given.
func (db *DB) BulkInsertFlowRuns(ctx context.Context, ws uuid.UUID, runs []*model.FlowRun) error {
	if len(runs) == 0 {
		return nil
	}
	now := model.At(db.now())
	for _, r := range runs {
		bulkIdentity(&r.ID, &r.Created, &r.Updated, now)
		normalizeFlowRun(r)
		if s := r.State; s != nil {
			s.StateDetails.FlowRunID = &r.ID
			completeBulkState(s, &r.RunTracking)
		}
	}
	cols := []string{"id", "workspace_id", "flow_id", "name", "state_id", "state_type", "state_name", "state_timestamp",
		"run_count", "expected_start_time", "next_scheduled_start_time", "start_time", "end_time", "total_run_time",
		"parent_task_run_id", "deployment_id", "deployment_version", "work_queue_id", "work_queue_name", "work_pool_id", "work_pool_name",
		"flow_version", "idempotency_key", "auto_scheduled", "infrastructure_document_id", "infrastructure_pid",
		"parameters", "context", "empirical_policy", "tags", "labels", "job_variables", "created_by", "created", "updated"}
	rows := make([][]any, len(runs))
	states := make([]bulkState, len(runs))
	for i, r := range runs {
		rows[i] = []any{r.ID, ws, r.FlowID, r.Name, r.StateID, typeArg(r.StateType), r.StateName,
			db.timeArg(r.StateTimestamp), r.RunCount, db.timeArg(r.ExpectedStartTime), db.timeArg(r.NextScheduledStartTime),
			db.timeArg(r.StartTime), db.timeArg(r.EndTime), r.TotalRunTime, r.ParentTaskRunID, r.DeploymentID,
			r.DeploymentVersion, r.WorkQueueID, r.WorkQueueName, r.WorkPoolID, r.WorkPoolName, r.FlowVersion,
			r.IdempotencyKey, r.AutoScheduled, r.InfrastructureDocumentID, r.InfrastructurePID,
			mustJSON(r.Parameters), mustJSON(r.Context), mustJSON(r.EmpiricalPolicy), mustJSON(r.Tags),
			mustJSON(r.Labels), mustJSON(r.JobVariables), mustJSON(r.CreatedBy), db.d.time(r.Created), db.d.time(r.Updated)}
		states[i] = bulkState{r.ID, r.State}
	}
	counts, hours := map[[2]string]int{}, map[runHour]int{}
	for _, r := range runs {
		counts[[2]string{r.FlowID.String(), string(ptrOr(r.StateType))}]++
		if r.ExpectedStartTime != nil {
			hours[runHour{hourOf(*r.ExpectedStartTime), string(ptrOr(r.StateType))}]++
		}
	}
	var deltas []bulkTable
	if len(counts) > 0 {
		t := bulkTable{"flow_run_counts", []string{"workspace_id", "flow_id", "state_type", "n"}, nil}
		for k, n := range counts {
			t.rows = append(t.rows, []any{ws, k[0], k[1], n})
		}
		deltas = append(deltas, t)
	}
	deltas = append(deltas, hourDeltas("flow_run_hours", ws, hours)...)
	return db.bulkWrite(ctx, "flow run", deltas, bulkTable{"flow_runs", cols, rows}, db.stateRows("flow_run_states", "flow_run_id", ws, states))
}

// bulkIdentity gives a bulk-inserted run what an insert would: a
// time-ordered id if it has none, its creation time, and now as updated.
func bulkIdentity(id *uuid.UUID, created, updated *model.Time, now model.Time) {
	if *id == uuid.Nil {
		*id = uuid.Must(uuid.NewV7())
	}
	if created.IsZero() {
		*created = now
	}
	*updated = now
}

// completeBulkState completes a bulk-inserted run's current state and copies it
// to the run's tracking fields.
func completeBulkState(s *model.State, t *model.RunTracking) {
	if s.ID == uuid.Nil {
		s.ID = uuid.Must(uuid.NewV7())
	}
	if s.Name == "" {
		s.Name = s.Type.DefaultName()
	}
	typ, name := s.Type, s.Name
	t.StateID, t.StateType, t.StateName, t.StateTimestamp = &s.ID, &typ, &name, s.Timestamp.Ptr()
}

// BulkInsertTaskRuns is BulkInsertFlowRuns for task runs: each run with its
// current State (if any) as its only state row, in one write transaction,
// bypassing orchestration.
func (db *DB) BulkInsertTaskRuns(ctx context.Context, ws uuid.UUID, runs []*model.TaskRun) error {
	if len(runs) == 0 {
		return nil
	}
	now := model.At(db.now())
	for _, r := range runs {
		bulkIdentity(&r.ID, &r.Created, &r.Updated, now)
		normalizeTaskRun(r)
		if s := r.State; s != nil {
			s.StateDetails.FlowRunID, s.StateDetails.TaskRunID = r.FlowRunID, &r.ID
			completeBulkState(s, &r.RunTracking)
		}
	}
	cols := []string{"id", "workspace_id", "flow_run_id", "name", "task_key", "dynamic_key", "cache_key",
		"cache_expiration", "task_version", "empirical_policy", "tags", "labels", "task_inputs", "state_id", "state_type", "state_name",
		"state_timestamp", "run_count", "flow_run_run_count", "expected_start_time", "next_scheduled_start_time", "start_time",
		"end_time", "total_run_time", "created", "updated"}
	rows := make([][]any, len(runs))
	states := make([]bulkState, len(runs))
	for i, r := range runs {
		rows[i] = []any{r.ID, ws, r.FlowRunID, r.Name, r.TaskKey, r.DynamicKey, r.CacheKey,
			db.timeArg(r.CacheExpiration), r.TaskVersion, mustJSON(r.EmpiricalPolicy), mustJSON(r.Tags),
			mustJSON(r.Labels), mustJSON(r.TaskInputs), r.StateID, typeArg(r.StateType), r.StateName,
			db.timeArg(r.StateTimestamp), r.RunCount, r.FlowRunRunCount, db.timeArg(r.ExpectedStartTime),
			db.timeArg(r.NextScheduledStartTime), db.timeArg(r.StartTime), db.timeArg(r.EndTime), r.TotalRunTime,
			db.d.time(r.Created), db.d.time(r.Updated)}
		states[i] = bulkState{r.ID, r.State}
	}
	hours := map[runHour]int{}
	for _, r := range runs {
		if r.ExpectedStartTime != nil {
			hours[runHour{hourOf(*r.ExpectedStartTime), string(ptrOr(r.StateType))}]++
		}
	}
	return db.bulkWrite(ctx, "task run", hourDeltas("task_run_hours", ws, hours), bulkTable{"task_runs", cols, rows},
		db.stateRows("task_run_states", "task_run_id", ws, states))
}

// runHour is a counter of an hours table: the hour and the state type.
type runHour struct {
	hour  int64
	state string
}

// hourOf is the whole hours from 1970 to t, as the counters' triggers
// compute it.
func hourOf(t model.Time) int64 {
	s := t.Unix()
	h := s / 3600
	if s%3600 < 0 {
		h--
	}
	return h
}

// ptrOr is *t, or "" for nil.
func ptrOr(t *model.StateType) model.StateType {
	if t == nil {
		return ""
	}
	return *t
}

// hourDeltas are the rows to add to an hours table.
func hourDeltas(table string, ws uuid.UUID, hours map[runHour]int) []bulkTable {
	if len(hours) == 0 {
		return nil
	}
	t := bulkTable{table, []string{"workspace_id", "hour", "state_type", "n"}, nil}
	for k, n := range hours {
		t.rows = append(t.rows, []any{ws, k.hour, k.state, n})
	}
	return []bulkTable{t}
}

// bulkState is a run's id and its state, nil for none.
type bulkState struct {
	runID uuid.UUID
	state *model.State
}

// stateRows are the state rows of bulk-inserted runs.
func (db *DB) stateRows(table, runCol string, ws uuid.UUID, states []bulkState) bulkTable {
	t := bulkTable{table: table, cols: []string{"id", "workspace_id", runCol, "type", "name", "timestamp", "message", "data", "state_details"}}
	for _, rs := range states {
		if s := rs.state; s != nil {
			t.rows = append(t.rows, []any{s.ID, ws, rs.runID, string(s.Type), s.Name, db.d.time(s.Timestamp), s.Message,
				rawArg(s.Data), mustJSON(s.StateDetails)})
		}
	}
	return t
}

// bulkTable is rows to insert into a table.
type bulkTable struct {
	table string
	cols  []string
	rows  [][]any
}

// bulkWrite inserts the tables' rows, in order, in one transaction: on
// PostgreSQL with COPY, on SQLite in multi-row INSERTs. A duplicate id is
// a conflict over what (a "flow run"). On PostgreSQL the rows' counter
// triggers stand aside, as firing once per copied row would cost more than
// the copy, and deltas (rows of counter tables, keyed on all columns but
// the last, n) are added to the counters in the same transaction; SQLite's
// triggers are cheap, and count the rows themselves.
func (db *DB) bulkWrite(ctx context.Context, what string, deltas []bulkTable, tables ...bulkTable) error {
	conflict := func(err error) error {
		if db.d.isUniqueViolation(err) {
			return apperr.Errorf(apperr.EConflict, "Data integrity conflict. A %s with this id already exists.", what)
		}
		return fmt.Errorf("bulk insert %ss: %w", what, err)
	}
	if db.d.name() == "postgres" {
		if err := db.copyTables(ctx, deltas, tables); err != nil {
			return conflict(err)
		}
		return nil
	}
	return db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		for _, t := range tables {
			per := max(1, min(insertChunk, maxSQLiteParams/len(t.cols)))
			for start := 0; start < len(t.rows); start += per {
				chunk := t.rows[start:min(start+per, len(t.rows))]
				var b strings.Builder
				b.WriteString(`INSERT INTO ` + t.table + ` (` + strings.Join(t.cols, ", ") + `) VALUES `)
				args := make([]any, 0, len(chunk)*len(t.cols))
				row := "(" + placeholders(len(t.cols)) + ")"
				for i, r := range chunk {
					if i > 0 {
						b.WriteByte(',')
					}
					b.WriteString(row)
					args = append(args, r...)
				}
				if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
					return conflict(err)
				}
			}
		}
		return nil
	})
}

// maxSQLiteParams is SQLite's bound on one statement's parameters.
const maxSQLiteParams = 32766

// copyTables COPYs the tables' rows into PostgreSQL in one transaction of a
// connection of its own: pgx's CopyFrom needs the driver's connection,
// which database/sql's transactions do not lend.
func (db *DB) copyTables(ctx context.Context, deltas, tables []bulkTable) error {
	conn, err := db.read.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		tx, err := pc.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(ctx)
		if _, err := tx.Exec(ctx, `SELECT set_config('praetor.counted', 'on', true)`); err != nil {
			return err
		}
		for _, t := range tables {
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{t.table}, t.cols, pgx.CopyFromRows(t.rows)); err != nil {
				return fmt.Errorf("copy into %s: %w", t.table, err)
			}
		}
		for _, d := range deltas {
			key := strings.Join(d.cols[:len(d.cols)-1], ", ")
			for _, r := range d.rows {
				if _, err := tx.Exec(ctx, `INSERT INTO `+d.table+` AS c (`+strings.Join(d.cols, ", ")+`) VALUES (`+
					rebindDollar(placeholders(len(d.cols)))+`) ON CONFLICT (`+key+`) DO UPDATE SET n = c.n + excluded.n`, r...); err != nil {
					return fmt.Errorf("count into %s: %w", d.table, err)
				}
			}
		}
		return tx.Commit(ctx)
	})
}

// ExplainFlowRuns returns the query ListFlowRuns runs for q and the
// engine's plan for it (SQLite's EXPLAIN QUERY PLAN, PostgreSQL's EXPLAIN),
// one line per step, for checking that list pages use an index.
func (db *DB) ExplainFlowRuns(ctx context.Context, ws uuid.UUID, q store.RunQuery) (query string, plan []string, err error) {
	query, args, err := db.listFlowRunsSQL(ws, q)
	if err != nil {
		return "", nil, err
	}
	plan, err = db.explain(ctx, query, args)
	return query, plan, err
}

// ExplainLogs is ExplainFlowRuns for ListLogs.
func (db *DB) ExplainLogs(ctx context.Context, ws uuid.UUID, q store.LogQuery) (query string, plan []string, err error) {
	query, args, err := db.listLogsSQL(ws, q)
	if err != nil {
		return "", nil, err
	}
	plan, err = db.explain(ctx, query, args)
	return query, plan, err
}

// explain returns the engine's plan for query, one line per step.
func (db *DB) explain(ctx context.Context, query string, args []any) (plan []string, err error) {
	prefix := "EXPLAIN "
	if db.d.name() == "sqlite" {
		prefix = "EXPLAIN QUERY PLAN "
	}
	rows, err := db.query(ctx, prefix+query, args...)
	if err != nil {
		return nil, fmt.Errorf("explain: %w", err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		dest := make([]any, len(cols))
		for i := range dest {
			dest[i] = new(any)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		// SQLite's detail is the last column; PostgreSQL has only one.
		line := fmt.Sprint(*(dest[len(dest)-1].(*any)))
		if b, ok := (*(dest[len(dest)-1].(*any))).([]byte); ok {
			line = string(b)
		}
		plan = append(plan, line)
	}
	return plan, rows.Err()
}
