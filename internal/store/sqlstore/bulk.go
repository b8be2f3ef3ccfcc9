package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

// BulkInsertFlowRuns inserts flow runs as they are, each with its current
// State (if any) as its only state row, in one write transaction of
// multi-row INSERTs. It bypasses orchestration: it is for seeding
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
		if r.ID == uuid.Nil {
			r.ID = uuid.Must(uuid.NewV7())
		}
		if r.Created.IsZero() {
			r.Created = now
		}
		r.Updated = now
		normalizeFlowRun(r)
		if s := r.State; s != nil {
			if s.ID == uuid.Nil {
				s.ID = uuid.Must(uuid.NewV7())
			}
			if s.Name == "" {
				s.Name = s.Type.DefaultName()
			}
			s.StateDetails.FlowRunID = &r.ID
			typ, name := s.Type, s.Name
			r.StateID, r.StateType, r.StateName, r.StateTimestamp = &s.ID, &typ, &name, s.Timestamp.Ptr()
		}
	}
	const runCols = 35
	return db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		for start := 0; start < len(runs); start += insertChunk {
			chunk := runs[start:min(start+insertChunk, len(runs))]
			var b strings.Builder
			b.WriteString(`INSERT INTO flow_runs (id, workspace_id, flow_id, name, state_id, state_type, state_name, state_timestamp,
				run_count, expected_start_time, next_scheduled_start_time, start_time, end_time, total_run_time,
				parent_task_run_id, deployment_id, deployment_version, work_queue_id, work_queue_name, work_pool_id, work_pool_name,
				flow_version, idempotency_key, auto_scheduled, infrastructure_document_id, infrastructure_pid,
				parameters, context, empirical_policy, tags, labels, job_variables, created_by, created, updated) VALUES `)
			args := make([]any, 0, len(chunk)*runCols)
			row := "(" + placeholders(runCols) + ")"
			for i, r := range chunk {
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteString(row)
				args = append(args, r.ID, ws, r.FlowID, r.Name, r.StateID, typeArg(r.StateType), r.StateName,
					db.timeArg(r.StateTimestamp), r.RunCount, db.timeArg(r.ExpectedStartTime), db.timeArg(r.NextScheduledStartTime),
					db.timeArg(r.StartTime), db.timeArg(r.EndTime), r.TotalRunTime, r.ParentTaskRunID, r.DeploymentID,
					r.DeploymentVersion, r.WorkQueueID, r.WorkQueueName, r.WorkPoolID, r.WorkPoolName, r.FlowVersion,
					r.IdempotencyKey, r.AutoScheduled, r.InfrastructureDocumentID, r.InfrastructurePID,
					mustJSON(r.Parameters), mustJSON(r.Context), mustJSON(r.EmpiricalPolicy), mustJSON(r.Tags),
					mustJSON(r.Labels), mustJSON(r.JobVariables), mustJSON(r.CreatedBy), db.d.time(r.Created), db.d.time(r.Updated))
			}
			if _, err := tx.ExecContext(ctx, db.d.rebind(b.String()), args...); err != nil {
				if db.d.isUniqueViolation(err) {
					return apperr.Errorf(apperr.EConflict, "Data integrity conflict. A flow run with this id already exists.")
				}
				return fmt.Errorf("insert flow runs: %w", err)
			}
			states := make([]bulkState, len(chunk))
			for i, r := range chunk {
				states[i] = bulkState{r.ID, r.State}
			}
			if err := db.bulkInsertStates(ctx, tx, "flow_run_states", "flow_run_id", ws, states); err != nil {
				return err
			}
		}
		return nil
	})
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
		if r.ID == uuid.Nil {
			r.ID = uuid.Must(uuid.NewV7())
		}
		if r.Created.IsZero() {
			r.Created = now
		}
		r.Updated = now
		normalizeTaskRun(r)
		if s := r.State; s != nil {
			if s.ID == uuid.Nil {
				s.ID = uuid.Must(uuid.NewV7())
			}
			if s.Name == "" {
				s.Name = s.Type.DefaultName()
			}
			s.StateDetails.FlowRunID, s.StateDetails.TaskRunID = r.FlowRunID, &r.ID
			typ, name := s.Type, s.Name
			r.StateID, r.StateType, r.StateName, r.StateTimestamp = &s.ID, &typ, &name, s.Timestamp.Ptr()
		}
	}
	const runCols = 26
	return db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		for start := 0; start < len(runs); start += insertChunk {
			chunk := runs[start:min(start+insertChunk, len(runs))]
			var b strings.Builder
			b.WriteString(`INSERT INTO task_runs (id, workspace_id, flow_run_id, name, task_key, dynamic_key, cache_key,
				cache_expiration, task_version, empirical_policy, tags, labels, task_inputs, state_id, state_type, state_name,
				state_timestamp, run_count, flow_run_run_count, expected_start_time, next_scheduled_start_time, start_time,
				end_time, total_run_time, created, updated) VALUES `)
			args := make([]any, 0, len(chunk)*runCols)
			row := "(" + placeholders(runCols) + ")"
			for i, r := range chunk {
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteString(row)
				args = append(args, r.ID, ws, r.FlowRunID, r.Name, r.TaskKey, r.DynamicKey, r.CacheKey,
					db.timeArg(r.CacheExpiration), r.TaskVersion, mustJSON(r.EmpiricalPolicy), mustJSON(r.Tags),
					mustJSON(r.Labels), mustJSON(r.TaskInputs), r.StateID, typeArg(r.StateType), r.StateName,
					db.timeArg(r.StateTimestamp), r.RunCount, r.FlowRunRunCount, db.timeArg(r.ExpectedStartTime),
					db.timeArg(r.NextScheduledStartTime), db.timeArg(r.StartTime), db.timeArg(r.EndTime), r.TotalRunTime,
					db.d.time(r.Created), db.d.time(r.Updated))
			}
			if _, err := tx.ExecContext(ctx, db.d.rebind(b.String()), args...); err != nil {
				if db.d.isUniqueViolation(err) {
					return apperr.Errorf(apperr.EConflict, "Data integrity conflict. A task run with this id already exists.")
				}
				return fmt.Errorf("insert task runs: %w", err)
			}
			states := make([]bulkState, len(chunk))
			for i, r := range chunk {
				states[i] = bulkState{r.ID, r.State}
			}
			if err := db.bulkInsertStates(ctx, tx, "task_run_states", "task_run_id", ws, states); err != nil {
				return err
			}
		}
		return nil
	})
}

// bulkState is a run's id and its state, nil for none.
type bulkState struct {
	runID uuid.UUID
	state *model.State
}

// bulkInsertStates writes the states of one chunk of bulk-inserted runs in
// one multi-row INSERT.
func (db *DB) bulkInsertStates(ctx context.Context, tx *sql.Tx, table, runCol string, ws uuid.UUID, states []bulkState) error {
	var b strings.Builder
	b.WriteString(`INSERT INTO ` + table + ` (id, workspace_id, ` + runCol + `, type, name, timestamp, message, data, state_details) VALUES `)
	args := make([]any, 0, len(states)*9)
	n := 0
	for _, rs := range states {
		s := rs.state
		if s == nil {
			continue
		}
		if n > 0 {
			b.WriteByte(',')
		}
		n++
		b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?)")
		args = append(args, s.ID, ws, rs.runID, string(s.Type), s.Name, db.d.time(s.Timestamp), s.Message, rawArg(s.Data), mustJSON(s.StateDetails))
	}
	if n == 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, db.d.rebind(b.String()), args...); err != nil {
		return fmt.Errorf("insert %s: %w", table, err)
	}
	return nil
}

// ExplainFlowRuns returns the query ListFlowRuns runs for q and the
// engine's plan for it (SQLite's EXPLAIN QUERY PLAN, PostgreSQL's EXPLAIN),
// one line per step, for checking that list pages use an index.
func (db *DB) ExplainFlowRuns(ctx context.Context, ws uuid.UUID, q store.RunQuery) (query string, plan []string, err error) {
	query, args, err := db.listFlowRunsSQL(ws, q)
	if err != nil {
		return "", nil, err
	}
	prefix := "EXPLAIN "
	if db.d.name() == "sqlite" {
		prefix = "EXPLAIN QUERY PLAN "
	}
	rows, err := db.query(ctx, prefix+query, args...)
	if err != nil {
		return "", nil, fmt.Errorf("explain: %w", err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return "", nil, err
	}
	for rows.Next() {
		dest := make([]any, len(cols))
		for i := range dest {
			dest[i] = new(any)
		}
		if err := rows.Scan(dest...); err != nil {
			return "", nil, err
		}
		// SQLite's detail is the last column; PostgreSQL has only one.
		line := fmt.Sprint(*(dest[len(dest)-1].(*any)))
		if b, ok := (*(dest[len(dest)-1].(*any))).([]byte); ok {
			line = string(b)
		}
		plan = append(plan, line)
	}
	return query, plan, rows.Err()
}
