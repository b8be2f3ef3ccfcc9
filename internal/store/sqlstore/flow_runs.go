package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/orchestration"
	"github.com/praetorhq/praetor/internal/store"
)

const flowRunColumns = `fr.id, fr.flow_id, fr.name, fr.state_id, fr.state_type, fr.state_name, fr.state_timestamp,
	fr.run_count, fr.expected_start_time, fr.next_scheduled_start_time, fr.start_time, fr.end_time, fr.total_run_time,
	fr.parent_task_run_id, fr.deployment_id, fr.deployment_version, fr.work_queue_id, fr.work_queue_name,
	fr.work_pool_id, fr.work_pool_name, fr.flow_version, fr.idempotency_key, fr.auto_scheduled,
	fr.infrastructure_document_id, fr.infrastructure_pid, fr.parameters, fr.context, fr.empirical_policy,
	fr.tags, fr.labels, fr.job_variables, fr.created_by, fr.created, fr.updated, ` + stateColumns

// stateColumns reads the current state joined as s.
const stateColumns = `s.id, s.type, s.name, s.timestamp, s.message, s.data, s.state_details`

// flowRunFrom joins only a state of the run itself, as taskRunFrom does.
const flowRunFrom = ` FROM flow_runs fr LEFT JOIN flow_run_states s
	ON s.id = fr.state_id AND s.workspace_id = fr.workspace_id AND s.flow_run_id = fr.id`

// trackingDest returns the scan destinations of the shared run columns.
func trackingDest(rt *model.RunTracking, stateTS, expected, next, start, end *nullTime) []any {
	return []any{nullID{&rt.StateID}, nullStateType{&rt.StateType}, nullStr{&rt.StateName}, stateTS,
		&rt.RunCount, expected, next, start, end, &rt.TotalRunTime}
}

func (rt stateScan) apply(r *model.RunTracking) {
	r.StateTimestamp = rt.stateTS.ptr()
	r.ExpectedStartTime = rt.expected.ptr()
	r.NextScheduledStartTime = rt.next.ptr()
	r.StartTime = rt.start.ptr()
	r.EndTime = rt.end.ptr()
}

type stateScan struct {
	stateTS, expected, next, start, end nullTime
	// current state, from the joined columns
	id        uuid.NullUUID
	typ, name sql.NullString
	ts        nullTime
	message   *string
	data      []byte
	details   model.StateDetails
	hasDetail bool
}

func (s *stateScan) tracking(rt *model.RunTracking) []any {
	return trackingDest(rt, &s.stateTS, &s.expected, &s.next, &s.start, &s.end)
}

func (s *stateScan) stateDest() []any {
	return []any{&s.id, &s.typ, &s.name, &s.ts, nullStr{&s.message}, rawJSON{(*json.RawMessage)(&s.data)}, jsonCol{&s.details}}
}

func (s *stateScan) state() *model.State {
	if !s.id.Valid {
		return nil
	}
	return &model.State{ID: s.id.UUID, Type: model.StateType(s.typ.String), Name: s.name.String, Timestamp: s.ts.T,
		Message: s.message, Data: s.data, StateDetails: s.details}
}

// nullStateType scans a nullable state type.
type nullStateType struct{ dst **model.StateType }

func (j nullStateType) Scan(v any) error {
	var s *string
	if err := (nullStr{&s}).Scan(v); err != nil {
		return err
	}
	if s == nil {
		*j.dst = nil
		return nil
	}
	t := model.StateType(*s)
	*j.dst = &t
	return nil
}

func (db *DB) scanFlowRun(row scanner) (*model.FlowRun, error) {
	var (
		r                model.FlowRun
		ss               stateScan
		created, updated nullTime
	)
	dest := []any{&r.ID, &r.FlowID, &r.Name}
	dest = append(dest, ss.tracking(&r.RunTracking)...)
	dest = append(dest, nullID{&r.ParentTaskRunID}, nullID{&r.DeploymentID}, nullStr{&r.DeploymentVersion},
		nullID{&r.WorkQueueID}, nullStr{&r.WorkQueueName}, nullID{&r.WorkPoolID}, nullStr{&r.WorkPoolName},
		nullStr{&r.FlowVersion}, nullStr{&r.IdempotencyKey}, &r.AutoScheduled, nullID{&r.InfrastructureDocumentID},
		nullStr{&r.InfrastructurePID}, jsonCol{&r.Parameters}, jsonCol{&r.Context}, jsonCol{&r.EmpiricalPolicy},
		jsonCol{&r.Tags}, jsonCol{&r.Labels}, jsonCol{&r.JobVariables}, jsonCol{&r.CreatedBy}, &created, &updated)
	if err := db.scanRun(row, &ss, &r.RunTracking, dest); err != nil {
		return nil, err
	}
	r.Created, r.Updated = created.T, updated.T
	normalizeFlowRun(&r)
	return &r, nil
}

// normalizeFlowRun replaces nil collections with empty ones, as Prefect
// never returns null for them.
func normalizeFlowRun(r *model.FlowRun) {
	if r.Parameters == nil {
		r.Parameters = map[string]any{}
	}
	if r.Context == nil {
		r.Context = map[string]any{}
	}
	normalizeTagsLabels(&r.Tags, &r.Labels)
	if r.JobVariables == nil {
		r.JobVariables = map[string]any{}
	}
	if r.EmpiricalPolicy.PauseKeys == nil {
		r.EmpiricalPolicy.PauseKeys = []string{}
	}
}

// CreateFlowRun inserts a flow run and forces its initial state.
func (db *DB) CreateFlowRun(ctx context.Context, ws uuid.UUID, r *model.FlowRun, initial model.StateCreate) (bool, error) {
	var (
		created bool
		emitted []*model.Event
		in      = *r
	)
	err := db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		*r, emitted = in, nil // as given, should fn run again
		var n int
		if err := tx.QueryRowContext(ctx, db.d.rebind(`SELECT COUNT(*) FROM flows WHERE workspace_id = ? AND id = ?`), ws, r.FlowID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return apperr.Errorf(apperr.ENotFound, "Flow %s not found", r.FlowID)
		}
		var err error
		created, err = db.createFlowRun(ctx, tx, ws, r, initial, &emitted)
		return err
	})
	if err == nil {
		db.published(ws, emitted)
	}
	return created, err
}

// createFlowRun inserts r, of a flow of ws, inside tx and forces its
// initial state, or, when r has an idempotency key already used for its
// flow, reads the existing run into r and reports false.
func (db *DB) createFlowRun(ctx context.Context, tx *sql.Tx, ws uuid.UUID, r *model.FlowRun, initial model.StateCreate, emitted *[]*model.Event) (bool, error) {
	if r.IdempotencyKey != nil {
		if found, err := db.flowRunByKey(ctx, tx, ws, r); found || err != nil {
			return false, err
		}
	}
	if r.WorkPoolName != nil && (r.WorkQueueID == nil || r.WorkPoolID == nil) {
		// A pooled run waits in its queue; a pool deleted meanwhile leaves
		// it without one.
		err := db.resolveQueue(ctx, tx, ws, *r.WorkPoolName, &r.WorkQueueName, &r.WorkQueueID, &r.WorkPoolID)
		if err != nil && !apperr.IsNotFound(err) {
			return false, err
		}
	}
	now := model.At(db.now())
	r.Created, r.Updated = now, now
	normalizeFlowRun(r)
	res, err := tx.ExecContext(ctx, db.d.rebind(`INSERT INTO flow_runs (id, workspace_id, flow_id, name, run_count, total_run_time,
		parent_task_run_id, deployment_id, deployment_version, work_queue_id, work_queue_name, work_pool_id, work_pool_name,
		flow_version, idempotency_key, auto_scheduled, infrastructure_document_id, infrastructure_pid,
		parameters, context, empirical_policy, tags, labels, job_variables, created_by, created, updated)
		VALUES (?, ?, ?, ?, 0, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (flow_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING`),
		r.ID, ws, r.FlowID, r.Name, r.ParentTaskRunID, r.DeploymentID, r.DeploymentVersion, r.WorkQueueID, r.WorkQueueName,
		r.WorkPoolID, r.WorkPoolName, r.FlowVersion, r.IdempotencyKey, r.AutoScheduled, r.InfrastructureDocumentID,
		r.InfrastructurePID, mustJSON(r.Parameters), mustJSON(r.Context), mustJSON(r.EmpiricalPolicy), mustJSON(r.Tags),
		mustJSON(r.Labels), mustJSON(r.JobVariables), mustJSON(r.CreatedBy), db.d.time(now), db.d.time(now))
	if err != nil {
		if db.d.isUniqueViolation(err) {
			return false, apperr.Errorf(apperr.EConflict, "Data integrity conflict. A flow run with this id already exists.")
		}
		return false, fmt.Errorf("insert flow run: %w", err)
	}
	inserted, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("insert flow run: %w", err)
	}
	if inserted == 0 {
		// Only the idempotency key can conflict here: a concurrent
		// request with it inserted first (on PostgreSQL; its commit is
		// visible now), and its run is the answer.
		if found, err := db.flowRunByKey(ctx, tx, ws, r); found || err != nil {
			return false, err
		}
		return false, fmt.Errorf("insert flow run: idempotency key %q taken, but no run has it", *r.IdempotencyKey)
	}
	_, err = db.setFlowRunState(ctx, tx, ws, r, initial, true, emitted)
	return err == nil, err
}

// flowRunByKey reads into r the run of r's flow that has r's idempotency
// key, and reports whether there is one.
func (db *DB) flowRunByKey(ctx context.Context, tx *sql.Tx, ws uuid.UUID, r *model.FlowRun) (bool, error) {
	existing, err := db.lockFlowRun(ctx, tx, ws, `fr.flow_id = ? AND fr.idempotency_key = ?`, r.FlowID, *r.IdempotencyKey)
	if apperr.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	*r = *existing
	return true, nil
}

// lockFlowRun reads one flow run inside a write, locking its row on PostgreSQL.
func (db *DB) lockFlowRun(ctx context.Context, q queryer, ws uuid.UUID, cond string, args ...any) (*model.FlowRun, error) {
	if err := db.lockRows(ctx, q, "flow_runs", "fr", ws, cond, args); err != nil {
		return nil, err
	}
	r, err := db.scanFlowRun(q.QueryRowContext(ctx, db.d.rebind(`SELECT `+flowRunColumns+flowRunFrom+` WHERE fr.workspace_id = ? AND `+cond),
		append([]any{ws}, args...)...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Flow run")
	}
	return r, err
}

// lockRows locks the rows of table (as alias) that cond selects in ws,
// on engines with row locks, before the caller reads them. The read must be
// a statement of its own: a locking read of the run joined to its state
// that waited for another transition would see, in READ COMMITTED, the
// run's new row but not the state that transition inserted, and decide on
// no current state at all.
func (db *DB) lockRows(ctx context.Context, q queryer, table, alias string, ws uuid.UUID, cond string, args []any) error {
	lock := db.d.forUpdate()
	if lock == "" {
		return nil
	}
	if _, err := q.ExecContext(ctx, db.d.rebind(`SELECT 1 FROM `+table+` `+alias+` WHERE `+alias+`.workspace_id = ? AND `+cond+lock),
		append([]any{ws}, args...)...); err != nil {
		return fmt.Errorf("lock %s: %w", table, err)
	}
	return nil
}

const getFlowRunSQL = `SELECT ` + flowRunColumns + flowRunFrom + ` WHERE fr.workspace_id = ? AND fr.id = ?`

// GetFlowRun returns a flow run with its current state.
func (db *DB) GetFlowRun(ctx context.Context, ws, id uuid.UUID) (*model.FlowRun, error) {
	stmt, err := db.prepared(ctx, getFlowRunSQL)
	if err != nil {
		return nil, err
	}
	r, err := db.scanFlowRun(stmt.QueryRowContext(ctx, ws, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Flow run")
	}
	return r, err
}

// flowRunFilter adds f's conditions on the flow runs aliased a, of
// workspace ws, to c; a parent flow run is one of the task run the run is
// a subflow of.
func (db *DB) flowRunFilter(c *clause, ws uuid.UUID, a string, f *store.FlowRunFilter) {
	if f == nil {
		return
	}
	s := db.runClause(f.Operator, a, f.ID, f.Name, f.Tags, f.State, f.StartTime, f.EndTime, f.ExpectedStartTime)
	s.nullableID(a+".deployment_id", f.DeploymentID)
	s.name(a+".work_queue_name", f.WorkQueueName)
	s.name(a+".flow_version", f.FlowVersion)
	s.time(a+".next_scheduled_start_time", f.NextScheduledStartTime)
	s.nullableID(a+".parent_task_run_id", f.ParentTaskRunID)
	s.name(a+".idempotency_key", f.IdempotencyKey)
	if f.ParentFlowRunID != nil && f.ParentFlowRunID.Any != nil {
		// The subquery names the workspace rather than the outer row's, so
		// it is not correlated: the parent's task runs are read once and
		// the subflows through their index, instead of every run of the
		// workspace being tested against it (seconds at 1M runs on
		// PostgreSQL).
		p := newClause(db.d, "")
		p.add("ptr.workspace_id = ?", ws)
		inList(p, "ptr.flow_run_id", f.ParentFlowRunID.Any, nil)
		q, args := p.sql()
		s.add(a+".parent_task_run_id IN (SELECT ptr.id FROM task_runs ptr WHERE "+q+")", args...)
	}
	c.sub(s)
}

func (db *DB) flowRunWhere(ws uuid.UUID, q store.RunQuery) (string, []any) {
	c := newClause(db.d, "")
	c.add("fr.workspace_id = ?", ws)
	db.flowRunFilter(c, ws, "fr", q.FlowRuns)
	if ids, ok := flowIDsOnly(q.Flows); ok {
		// The same condition without the subquery, so the planner sees
		// fr.flow_id and can use the (workspace_id, flow_id, …) index.
		inList(c, "fr.flow_id", ids, nil)
	} else if q.Flows != nil {
		c.exists("flows f", "f.workspace_id = fr.workspace_id AND f.id = fr.flow_id", func(sub *clause) { db.flowFilter(sub, "f", q.Flows) })
	}
	if q.TaskRuns != nil {
		c.exists("task_runs tr", "tr.workspace_id = fr.workspace_id AND tr.flow_run_id = fr.id", func(sub *clause) { db.taskRunFilter(sub, "tr", q.TaskRuns) })
	}
	if q.Deployments != nil {
		c.exists("deployments d", "d.workspace_id = fr.workspace_id AND d.id = fr.deployment_id", func(sub *clause) { db.deploymentFilter(sub, "d", q.Deployments) })
	}
	if q.WorkPools != nil {
		c.exists("work_pools wp", "wp.workspace_id = fr.workspace_id AND wp.id = fr.work_pool_id", func(sub *clause) { db.poolFilter(sub, "wp", q.WorkPools) })
	}
	return c.sql()
}

// flowIDsOnly returns the ids a flow filter selects when it filters on
// ids alone.
func flowIDsOnly(f *store.FlowFilter) ([]uuid.UUID, bool) {
	if f == nil || f.ID == nil || f.ID.Any == nil || len(f.ID.NotAny) > 0 || f.Name != nil || f.Tags != nil {
		return nil, false
	}
	return f.ID.Any, true
}

// saveFlowRun writes every mutable column of r.
func (db *DB) saveFlowRun(ctx context.Context, q queryer, ws uuid.UUID, r *model.FlowRun) error {
	normalizeFlowRun(r)
	return db.saveRun(ctx, q, "flow_runs", ws, r.ID, &r.RunTracking, &r.Updated, `name = ?, deployment_version = ?,
		work_queue_id = ?, work_queue_name = ?, work_pool_id = ?, work_pool_name = ?, flow_version = ?, infrastructure_pid = ?,
		parameters = ?, context = ?, empirical_policy = ?, tags = ?, labels = ?, job_variables = ?`,
		r.Name, r.DeploymentVersion, r.WorkQueueID, r.WorkQueueName, r.WorkPoolID, r.WorkPoolName, r.FlowVersion,
		r.InfrastructurePID, mustJSON(r.Parameters), mustJSON(r.Context), mustJSON(r.EmpiricalPolicy), mustJSON(r.Tags),
		mustJSON(r.Labels), mustJSON(r.JobVariables))
}

func typeArg(t *model.StateType) any {
	if t == nil {
		return nil
	}
	return string(*t)
}

// DeleteFlowRuns deletes flow runs with their states and their task runs,
// as Prefect does; their logs stay.
func (db *DB) DeleteFlowRuns(ctx context.Context, ws uuid.UUID, ids []uuid.UUID) ([]uuid.UUID, error) {
	return db.deleteEach(ctx, ids, func(ctx context.Context, tx *sql.Tx, id uuid.UUID) error {
		if _, err := db.deleteTaskRuns(ctx, tx, ws, "flow_run_id = ?", id); err != nil {
			return err
		}
		return db.execOneIn(ctx, tx, "Flow run", `DELETE FROM flow_runs WHERE workspace_id = ? AND id = ?`, ws, id)
	})
}

// SetFlowRunState orchestrates a proposed state for a flow run.
func (db *DB) SetFlowRunState(ctx context.Context, ws, id uuid.UUID, proposed model.StateCreate, force bool) (*orchestration.Result, error) {
	return db.orchestrate(ctx, ws, func(ctx context.Context, v *flowRunTx) (*orchestration.Result, error) {
		r, err := v.LockFlowRun(ctx, id)
		if err != nil {
			return nil, err
		}
		return v.SetFlowRunState(ctx, r, proposed, force)
	})
}

// setFlowRunState decides and, when the decision writes, records a state for
// r inside tx, with the state-change event Prefect's server emits (appended
// to emitted, to publish after commit); a subflow's state is mirrored onto
// its parent task run.
func (db *DB) setFlowRunState(ctx context.Context, tx *sql.Tx, ws uuid.UUID, r *model.FlowRun, proposed model.StateCreate, force bool, emitted *[]*model.Event) (*orchestration.Result, error) {
	now := db.now()
	p := orchestration.NewState(proposed, now)
	p.StateDetails.FlowRunID = &r.ID
	p.StateDetails.TaskRunID = nil
	d, err := db.deploymentConcurrency(ctx, tx, ws, r, orchestration.DecideFlowRun(orchestration.FlowRunTransition{Run: r, Proposed: p, Force: force, Now: now}), force, now)
	if err != nil {
		return nil, err
	}
	res := &orchestration.Result{Status: d.Status, State: r.State, Details: d.Details()}
	if d.Write == nil {
		return res, nil
	}
	s := d.Write
	s.StateDetails.FlowRunID = &r.ID
	uniqueAfter(s, r.State)
	initial := r.State
	resuming := r.EmpiricalPolicy.Resuming
	fromType, fromStart := r.StateType, r.ExpectedStartTime
	orchestration.Track(&r.RunTracking, s, resuming)
	if s.Type == model.Running || s.Type.Terminal() {
		r.EmpiricalPolicy.Resuming = false
	}
	if err := db.lockFlowRunCounters(ctx, tx, ws, r.FlowID, [2]*model.StateType{fromType, r.StateType}, [2]*model.Time{fromStart, r.ExpectedStartTime}); err != nil {
		return nil, err
	}
	q := db.fixed(tx)
	if err := db.insertState(ctx, q, "flow_run_states", "flow_run_id", ws, r.ID, s); err != nil {
		return nil, err
	}
	if err := db.saveFlowRun(ctx, q, ws, r); err != nil {
		return nil, err
	}
	res.State, res.Written = s, true
	var parentTask *model.TaskRun
	if r.ParentTaskRunID != nil {
		var err error
		if parentTask, err = db.mirrorOntoParentTask(ctx, tx, ws, *r.ParentTaskRunID, r.ID, s); err != nil {
			return nil, err
		}
	}
	flow, deployment, poolType, err := db.flowRunEventRelations(ctx, q, ws, r)
	if err != nil {
		return nil, err
	}
	e := orchestration.FlowRunStateEvent(r, flow, deployment, poolType, parentTask, initial, s, model.At(db.now()))
	if err := db.insertEvent(ctx, q, ws, e); err != nil {
		return nil, err
	}
	*emitted = append(*emitted, e)
	return res, nil
}

// flowRunEventRelationsSQL reads a run's flow and, joined in the same
// statement (a transition's reads were a statement each), the little of
// its deployment and work pool that its state events name.
const flowRunEventRelationsSQL = `SELECT ` + flowColumns + `, d.id, d.name, d.tags, wp.type FROM flows f
	LEFT JOIN deployments d ON d.workspace_id = f.workspace_id AND d.id = ?
	LEFT JOIN work_pools wp ON wp.workspace_id = f.workspace_id AND wp.id = ?
	WHERE f.workspace_id = ? AND f.id = ?`

// flowRunEventRelations reads what a run's state events name beside the
// run: its flow, its deployment's id, name and tags (nil without one, or
// once it is deleted) and its pool's type.
func (db *DB) flowRunEventRelations(ctx context.Context, q queryer, ws uuid.UUID, r *model.FlowRun) (*model.Flow, *model.Deployment, string, error) {
	var (
		d        model.Deployment
		id       *uuid.UUID
		name     *string
		poolType sql.NullString
	)
	flow, err := scanFlowAnd(q.QueryRowContext(ctx, db.d.rebind(flowRunEventRelationsSQL), r.DeploymentID, r.WorkPoolID, ws, r.FlowID),
		nullID{&id}, nullStr{&name}, jsonCol{&d.Tags}, &poolType)
	if err != nil {
		return nil, nil, "", fmt.Errorf("read flow, deployment and pool of run: %w", err)
	}
	if id == nil {
		return flow, nil, poolType.String, nil
	}
	d.ID, d.Name = *id, *name
	return flow, &d, poolType.String, nil
}

// uniqueAfter keeps state timestamps of one run strictly increasing.
func uniqueAfter(s, prev *model.State) {
	if prev != nil && !s.Timestamp.After(prev.Timestamp.Time) {
		s.Timestamp = model.At(prev.Timestamp.Add(time.Microsecond))
	}
}

// mirrorOntoParentTask forces a copy of a subflow's new state onto the task
// run that tracks the subflow in its parent flow.
func (db *DB) mirrorOntoParentTask(ctx context.Context, tx *sql.Tx, ws, taskRunID, childID uuid.UUID, s *model.State) (*model.TaskRun, error) {
	tr, err := db.lockTaskRun(ctx, tx, ws, "tr.id = ?", taskRunID)
	if apperr.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	cp := *s
	cp.ID = uuid.Must(uuid.NewV7())
	cp.StateDetails.FlowRunID = tr.FlowRunID
	cp.StateDetails.TaskRunID = &tr.ID
	cp.StateDetails.ChildFlowRunID = &childID
	uniqueAfter(&cp, tr.State)
	orchestration.Track(&tr.RunTracking, &cp, false)
	if err := db.insertState(ctx, tx, "task_run_states", "task_run_id", ws, tr.ID, &cp); err != nil {
		return nil, err
	}
	return tr, db.saveTaskRun(ctx, tx, ws, tr)
}

// insertState writes a new state row of a flow or task run.
func (db *DB) insertState(ctx context.Context, q queryer, table, runCol string, ws, runID uuid.UUID, s *model.State) error {
	inserted, err := db.insertStateRow(ctx, q, table, runCol, ws, runID, s)
	if err == nil && !inserted {
		err = fmt.Errorf("insert state: id %s is taken", s.ID)
	}
	return err
}

// insertStateRow writes a state row unless one with its id exists, and
// reports whether it did.
func (db *DB) insertStateRow(ctx context.Context, q queryer, table, runCol string, ws, runID uuid.UUID, s *model.State) (bool, error) {
	res, err := q.ExecContext(ctx, db.d.rebind(`INSERT INTO `+table+` (id, workspace_id, `+runCol+`, type, name, timestamp, message, data, state_details)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`),
		s.ID, ws, runID, string(s.Type), s.Name, db.d.time(s.Timestamp), s.Message, rawArg(s.Data), mustJSON(s.StateDetails))
	if err != nil {
		return false, fmt.Errorf("insert state: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ListFlowRunStates returns a flow run's states, oldest first.
func (db *DB) ListFlowRunStates(ctx context.Context, ws, runID uuid.UUID) ([]*model.State, error) {
	return db.listStates(ctx, "flow_run_states", "flow_run_id", ws, runID)
}

// GetFlowRunState returns one flow run state.
func (db *DB) GetFlowRunState(ctx context.Context, ws, id uuid.UUID) (*model.State, error) {
	return db.getState(ctx, "flow_run_states", ws, id)
}

func scanState(row scanner) (*model.State, error) {
	var ss stateScan
	if err := row.Scan(ss.stateDest()...); err != nil {
		return nil, err
	}
	return ss.state(), nil
}

func (db *DB) listStates(ctx context.Context, table, runCol string, ws, runID uuid.UUID) ([]*model.State, error) {
	rows, err := db.query(ctx, `SELECT `+stateColumns+` FROM `+table+` s WHERE s.workspace_id = ? AND s.`+runCol+` = ? ORDER BY s.timestamp`, ws, runID)
	if err != nil {
		return nil, fmt.Errorf("list states: %w", err)
	}
	return collect(rows, scanState)
}

func (db *DB) getState(ctx context.Context, table string, ws, id uuid.UUID) (*model.State, error) {
	s, err := scanState(db.read.QueryRowContext(ctx, db.d.rebind(`SELECT `+stateColumns+` FROM `+table+` s WHERE s.workspace_id = ? AND s.id = ?`), ws, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("State")
	}
	return s, err
}
