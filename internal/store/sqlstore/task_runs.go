package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/orchestration"
	"github.com/praetorhq/praetor/internal/store"
)

const taskRunColumns = `tr.id, tr.flow_run_id, tr.name, tr.task_key, tr.dynamic_key, tr.cache_key, tr.cache_expiration,
	tr.task_version, tr.empirical_policy, tr.tags, tr.labels, tr.task_inputs, tr.state_id, tr.state_type, tr.state_name,
	tr.state_timestamp, tr.run_count, tr.expected_start_time, tr.next_scheduled_start_time, tr.start_time, tr.end_time,
	tr.total_run_time, tr.flow_run_run_count, tr.created, tr.updated, ` + stateColumns

// taskRunFrom joins only a state of the run itself: a state id can come from
// a client (the id of the event that reported it), so state_id alone must
// never reach another run's or another workspace's row.
const taskRunFrom = ` FROM task_runs tr LEFT JOIN task_run_states s
	ON s.id = tr.state_id AND s.workspace_id = tr.workspace_id AND s.task_run_id = tr.id`

func (db *DB) scanTaskRun(row scanner) (*model.TaskRun, error) {
	var (
		r                          model.TaskRun
		ss                         stateScan
		cacheExp, created, updated nullTime
	)
	dest := []any{&r.ID, nullID{&r.FlowRunID}, &r.Name, &r.TaskKey, &r.DynamicKey, nullStr{&r.CacheKey}, &cacheExp,
		nullStr{&r.TaskVersion}, jsonCol{&r.EmpiricalPolicy}, jsonCol{&r.Tags}, jsonCol{&r.Labels}, jsonCol{&r.TaskInputs}}
	dest = append(dest, ss.tracking(&r.RunTracking)...)
	dest = append(dest, &r.FlowRunRunCount, &created, &updated)
	if err := db.scanRun(row, &ss, &r.RunTracking, dest); err != nil {
		return nil, err
	}
	r.CacheExpiration = cacheExp.ptr()
	r.Created, r.Updated = created.T, updated.T
	normalizeTaskRun(&r)
	return &r, nil
}

func normalizeTaskRun(r *model.TaskRun) {
	normalizeTagsLabels(&r.Tags, &r.Labels)
	if r.TaskInputs == nil {
		r.TaskInputs = map[string][]model.TaskRunInput{}
	}
}

// CreateTaskRun inserts a task run with its initial state forced, or returns
// the existing run of the same (flow_run_id, task_key, dynamic_key).
func (db *DB) CreateTaskRun(ctx context.Context, ws uuid.UUID, r *model.TaskRun, initial model.StateCreate) (bool, error) {
	var (
		created bool
		o       outbox
	)
	in := *r
	err := db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		*r, created, o = in, false, outbox{} // as given, should fn run again
		if r.FlowRunID != nil {
			if _, err := db.lockFlowRun(ctx, tx, ws, "fr.id = ?", *r.FlowRunID); err != nil {
				return err
			}
			existing, err := db.lockTaskRun(ctx, tx, ws, "tr.flow_run_id = ? AND tr.task_key = ? AND tr.dynamic_key = ?", *r.FlowRunID, r.TaskKey, r.DynamicKey)
			if err == nil {
				*r = *existing
				return nil
			}
			if !apperr.IsNotFound(err) {
				return err
			}
		}
		if err := db.insertTaskRun(ctx, tx, ws, r); err != nil {
			return err
		}
		created = true
		_, err := db.setTaskRunState(ctx, tx, o, ws, r, initial, true)
		return err
	})
	if err == nil {
		db.publishAll(o)
	}
	return created, err
}

func (db *DB) insertTaskRun(ctx context.Context, tx *sql.Tx, ws uuid.UUID, r *model.TaskRun) error {
	now := model.At(db.now())
	r.Created, r.Updated = now, now
	normalizeTaskRun(r)
	_, err := tx.ExecContext(ctx, db.d.rebind(`INSERT INTO task_runs (id, workspace_id, flow_run_id, name, task_key, dynamic_key,
		cache_key, cache_expiration, task_version, empirical_policy, tags, labels, task_inputs, run_count, flow_run_run_count,
		total_run_time, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)`),
		r.ID, ws, r.FlowRunID, r.Name, r.TaskKey, r.DynamicKey, r.CacheKey, db.timeArg(r.CacheExpiration), r.TaskVersion,
		mustJSON(r.EmpiricalPolicy), mustJSON(r.Tags), mustJSON(r.Labels), mustJSON(r.TaskInputs), r.RunCount,
		r.FlowRunRunCount, db.d.time(now), db.d.time(now))
	if err != nil {
		if db.d.isUniqueViolation(err) {
			return apperr.Errorf(apperr.EConflict, "Data integrity conflict. A task run with this id already exists.")
		}
		return fmt.Errorf("insert task run: %w", err)
	}
	return nil
}

// lockTaskRun reads one task run inside a write, locking its row on PostgreSQL.
func (db *DB) lockTaskRun(ctx context.Context, q queryer, ws uuid.UUID, cond string, args ...any) (*model.TaskRun, error) {
	if err := db.lockRows(ctx, q, "task_runs", "tr", ws, cond, args); err != nil {
		return nil, err
	}
	return db.readTaskRun(ctx, q, ws, cond, args...)
}

func (db *DB) readTaskRun(ctx context.Context, q queryer, ws uuid.UUID, cond string, args ...any) (*model.TaskRun, error) {
	r, err := db.scanTaskRun(q.QueryRowContext(ctx, db.d.rebind(`SELECT `+taskRunColumns+taskRunFrom+` WHERE tr.workspace_id = ? AND `+cond),
		append([]any{ws}, args...)...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Task run")
	}
	return r, err
}

// GetTaskRun returns a task run with its current state.
func (db *DB) GetTaskRun(ctx context.Context, ws, id uuid.UUID) (*model.TaskRun, error) {
	return db.readTaskRun(ctx, db.read, ws, "tr.id = ?", id)
}

// taskRunFilter adds f's conditions on the task runs aliased a to c.
func (db *DB) taskRunFilter(c *clause, a string, f *store.TaskRunFilter) {
	if f == nil {
		return
	}
	s := db.runClause(f.Operator, a, f.ID, f.Name, f.Tags, f.State, f.StartTime, f.EndTime, f.ExpectedStartTime)
	if f.SubflowRuns != nil && f.SubflowRuns.Exists != nil {
		cond := "EXISTS (SELECT 1 FROM flow_runs sub WHERE sub.workspace_id = " + a + ".workspace_id AND sub.parent_task_run_id = " + a + ".id)"
		if !*f.SubflowRuns.Exists {
			cond = "NOT " + cond
		}
		s.add(cond)
	}
	s.nullableID(a+".flow_run_id", f.FlowRunID)
	c.sub(s)
}

func (db *DB) taskRunWhere(ws uuid.UUID, q store.RunQuery) (string, []any) {
	c := newClause(db.d, "")
	c.add("tr.workspace_id = ?", ws)
	db.taskRunFilter(c, "tr", q.TaskRuns)
	if q.FlowRuns != nil || q.Flows != nil {
		c.exists("flow_runs fr", "fr.workspace_id = tr.workspace_id AND fr.id = tr.flow_run_id", func(sub *clause) {
			db.flowRunFilter(sub, ws, "fr", q.FlowRuns)
			if q.Flows != nil {
				sub.exists("flows f", "f.workspace_id = fr.workspace_id AND f.id = fr.flow_id", func(fl *clause) { db.flowFilter(fl, "f", q.Flows) })
			}
		})
	}
	return c.sql()
}

// saveTaskRun writes every mutable column of r.
func (db *DB) saveTaskRun(ctx context.Context, q queryer, ws uuid.UUID, r *model.TaskRun) error {
	normalizeTaskRun(r)
	return db.saveRun(ctx, q, "task_runs", ws, r.ID, &r.RunTracking, &r.Updated, `name = ?, cache_key = ?,
		cache_expiration = ?, task_version = ?, empirical_policy = ?, tags = ?, labels = ?, task_inputs = ?, flow_run_run_count = ?`,
		r.Name, r.CacheKey, db.timeArg(r.CacheExpiration), r.TaskVersion, mustJSON(r.EmpiricalPolicy), mustJSON(r.Tags),
		mustJSON(r.Labels), mustJSON(r.TaskInputs), r.FlowRunRunCount)
}

// DeleteTaskRun deletes a task run and its states.
func (db *DB) DeleteTaskRun(ctx context.Context, ws, id uuid.UUID) error {
	return db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		n, err := db.deleteTaskRuns(ctx, tx, ws, "id = ?", id)
		if err == nil && n == 0 {
			return notFound("Task run")
		}
		return err
	})
}

// deleteTaskRuns deletes the task runs of ws that match where (a condition
// on task_runs, with args) and their states, and reports how many it
// deleted. As in Prefect, a subflow run whose parent task run goes stays,
// with no parent.
func (db *DB) deleteTaskRuns(ctx context.Context, tx *sql.Tx, ws uuid.UUID, where string, args ...any) (int64, error) {
	matching := `SELECT id FROM task_runs WHERE workspace_id = ? AND ` + where
	inArgs := append([]any{ws, ws}, args...)
	if _, err := tx.ExecContext(ctx, db.d.rebind(`UPDATE flow_runs SET parent_task_run_id = NULL WHERE workspace_id = ? AND parent_task_run_id IN (`+matching+`)`), inArgs...); err != nil {
		return 0, fmt.Errorf("detach subflows of deleted task runs: %w", err)
	}
	if _, err := tx.ExecContext(ctx, db.d.rebind(`DELETE FROM task_run_states WHERE workspace_id = ? AND task_run_id IN (`+matching+`)`), inArgs...); err != nil {
		return 0, fmt.Errorf("delete task run states: %w", err)
	}
	res, err := tx.ExecContext(ctx, db.d.rebind(`DELETE FROM task_runs WHERE workspace_id = ? AND `+where), append([]any{ws}, args...)...)
	if err != nil {
		return 0, fmt.Errorf("delete task runs: %w", err)
	}
	return res.RowsAffected()
}

// SetTaskRunState orchestrates a proposed state for a task run.
func (db *DB) SetTaskRunState(ctx context.Context, ws, id uuid.UUID, proposed model.StateCreate, force bool) (*orchestration.Result, error) {
	var (
		res *orchestration.Result
		o   outbox
	)
	err := db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		o = outbox{}
		r, err := db.lockTaskRun(ctx, tx, ws, "tr.id = ?", id)
		if err != nil {
			return err
		}
		res, err = db.setTaskRunState(ctx, tx, o, ws, r, proposed, force)
		return err
	})
	if err == nil {
		db.publishAll(o)
	}
	return res, err
}

// setTaskRunState decides and, when the decision writes, records a state
// for r inside tx, with its prefect.task-run.<state> event (kept in o, to
// publish after commit).
func (db *DB) setTaskRunState(ctx context.Context, tx *sql.Tx, o outbox, ws uuid.UUID, r *model.TaskRun, proposed model.StateCreate, force bool) (*orchestration.Result, error) {
	now := db.now()
	var flowRun *model.FlowRun
	if r.FlowRunID != nil && !force {
		fr, err := db.lockFlowRun(ctx, tx, ws, "fr.id = ?", *r.FlowRunID)
		if err != nil && !apperr.IsNotFound(err) {
			return nil, err
		}
		flowRun = fr
	}
	p := orchestration.NewState(proposed, now)
	d, err := db.tagConcurrency(ctx, tx, ws, r, orchestration.DecideTaskRun(orchestration.TaskRunTransition{Run: r, FlowRun: flowRun, Proposed: p, Force: force, Now: now}), force, now)
	if err != nil {
		return nil, err
	}
	res := &orchestration.Result{Status: d.Status, State: r.State, Details: d.Details()}
	if d.Write == nil {
		return res, nil
	}
	s := d.Write
	s.StateDetails.FlowRunID = r.FlowRunID
	s.StateDetails.TaskRunID = &r.ID
	uniqueAfter(s, r.State)
	initial := r.State
	orchestration.Track(&r.RunTracking, s, false)
	if err := db.insertState(ctx, tx, "task_run_states", "task_run_id", ws, r.ID, s); err != nil {
		return nil, err
	}
	if err := db.saveTaskRun(ctx, tx, ws, r); err != nil {
		return nil, err
	}
	res.State, res.Written = s, true
	var (
		flow       *model.Flow
		deployment *model.Deployment
	)
	if flowRun == nil && r.FlowRunID != nil {
		fr, err := db.scanFlowRun(tx.QueryRowContext(ctx, db.d.rebind(`SELECT `+flowRunColumns+flowRunFrom+` WHERE fr.workspace_id = ? AND fr.id = ?`), ws, *r.FlowRunID))
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return nil, fmt.Errorf("read flow run of task run: %w", err)
		default:
			flowRun = fr
		}
	}
	if flowRun != nil {
		var err error
		if flow, deployment, _, err = db.flowRunEventRelations(ctx, tx, ws, flowRun); err != nil {
			return nil, err
		}
	}
	if err := db.emit(ctx, tx, o, ws, orchestration.TaskRunStateEvent(r, flowRun, flow, deployment, initial, s, model.At(db.now()))); err != nil {
		return nil, err
	}
	return res, nil
}

// ListTaskRunStates returns a task run's states, oldest first.
func (db *DB) ListTaskRunStates(ctx context.Context, ws, runID uuid.UUID) ([]*model.State, error) {
	return db.listStates(ctx, "task_run_states", "task_run_id", ws, runID)
}

// ListTaskRunStatesOf returns the state histories of the task runs ids,
// oldest state first, from one query on the (task_run_id, timestamp) index.
func (db *DB) ListTaskRunStatesOf(ctx context.Context, ws uuid.UUID, ids []uuid.UUID) (map[uuid.UUID][]*model.State, error) {
	out := make(map[uuid.UUID][]*model.State, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	c := newClause(db.d, "")
	c.add("s.workspace_id = ?", ws)
	c.id("s.task_run_id", &store.IDFilter{Any: ids})
	where, args := c.sql()
	rows, err := db.query(ctx, `SELECT s.task_run_id, `+stateColumns+` FROM task_run_states s WHERE `+where+` ORDER BY s.task_run_id, s.timestamp`, args...)
	if err != nil {
		return nil, fmt.Errorf("list states of task runs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			run uuid.UUID
			ss  stateScan
		)
		if err := rows.Scan(append([]any{&run}, ss.stateDest()...)...); err != nil {
			return nil, fmt.Errorf("scan task run state: %w", err)
		}
		out[run] = append(out[run], ss.state())
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list states of task runs: %w", err)
	}
	return out, nil
}

// GetTaskRunState returns one task run state.
func (db *DB) GetTaskRunState(ctx context.Context, ws, id uuid.UUID) (*model.State, error) {
	return db.getState(ctx, "task_run_states", ws, id)
}
