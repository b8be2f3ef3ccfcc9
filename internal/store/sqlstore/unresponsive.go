package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/orchestration"
	"github.com/praetorhq/praetor/internal/store"
)

// runningQueuedSQL selects the RUNNING runs of work queues whose state is
// older than a cutoff, each queue's through the partial index
// flow_runs_queue_active: it holds only PENDING and RUNNING runs, so the
// cost follows what runs now, never the history. The IN term repeats the
// index's predicate word for word, which is how SQLite's planner matches a
// partial index.
const runningQueuedSQL = `SELECT fr.workspace_id, ` + flowRunColumns + ` FROM work_queues q
	JOIN flow_runs fr ON fr.work_queue_id = q.id AND fr.state_type IN ('PENDING', 'RUNNING')
	LEFT JOIN flow_run_states s ON s.id = fr.state_id AND s.workspace_id = fr.workspace_id AND s.flow_run_id = fr.id
	WHERE fr.state_type = 'RUNNING' AND fr.state_timestamp <= ?`

// UnresponsiveRuns returns the RUNNING runs of dead workers that went
// quiet. Each worker is read once a pass, and a run's logs and task runs
// only when its worker is dead.
func (db *DB) UnresponsiveRuns(ctx context.Context, now, quietSince time.Time) ([]store.UnresponsiveRun, error) {
	rows, err := db.query(ctx, runningQueuedSQL, db.d.time(model.At(quietSince)))
	if err != nil {
		return nil, fmt.Errorf("running runs: %w", err)
	}
	runs, err := collect(rows, func(row scanner) (store.UnresponsiveRun, error) {
		var ur store.UnresponsiveRun
		r, err := db.scanFlowRun(prefixed{row, &ur.Workspace})
		ur.Run = r
		return ur, err
	})
	if err != nil {
		return nil, fmt.Errorf("running runs: %w", err)
	}
	type workerKey struct {
		pool uuid.UUID
		name string
	}
	workers := map[workerKey]*model.Worker{}
	var out []store.UnresponsiveRun
	for _, ur := range runs {
		s, err := db.silence(ctx, db.read, ur.Workspace, ur.Run, func(pool uuid.UUID, name string) (*model.Worker, error) {
			k := workerKey{pool, name}
			if w, seen := workers[k]; seen {
				return w, nil
			}
			w, err := db.poolWorker(ctx, db.read, pool, name, now)
			workers[k] = w
			return w, err
		})
		if err != nil {
			return nil, err
		}
		if s != nil && !s.LastActivity.After(quietSince) {
			ur.Silence = *s
			out = append(out, ur)
		}
	}
	return out, nil
}

// CrashUnresponsiveRun re-checks the run in the write that crashes it, so
// a run that changed, logged or whose worker came back since it was found
// is left alone.
func (db *DB) CrashUnresponsiveRun(ctx context.Context, ws, id uuid.UUID, now, quietSince time.Time) (*orchestration.Result, error) {
	return db.orchestrate(ctx, ws, func(ctx context.Context, v *flowRunTx) (*orchestration.Result, error) {
		run, err := v.LockFlowRun(ctx, id)
		if apperr.IsNotFound(err) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		if run.State == nil || run.State.Type != model.Running {
			return nil, nil
		}
		s, err := db.silence(ctx, v.tx, ws, run, func(pool uuid.UUID, name string) (*model.Worker, error) {
			return db.poolWorker(ctx, v.tx, pool, name, now)
		})
		if err != nil || s == nil || s.LastActivity.After(quietSince) {
			return nil, err
		}
		return orchestration.CrashUnresponsive(ctx, v, run, s.Reason(now))
	})
}

// lastLogSQL and lastTaskRunChangeSQL read a run's entries of the indexes
// logs_ws_flow_run_ts and task_runs_ws_flow_run_expected.
const (
	lastLogSQL           = `SELECT MAX(timestamp) FROM logs WHERE workspace_id = ? AND flow_run_id = ?`
	lastTaskRunChangeSQL = `SELECT MAX(updated) FROM task_runs WHERE workspace_id = ? AND flow_run_id = ?`
)

// poolWorkerSQL reads a worker by its pool's unique key.
const poolWorkerSQL = `SELECT ` + workerColumns + ` FROM workers w WHERE w.work_pool_id = ? AND w.name = ?`

// silence returns why run, RUNNING, looks abandoned, or nil when it has no
// worker or its worker is alive. worker reads the pool's worker by name
// (nil: gone), its status as of now.
func (db *DB) silence(ctx context.Context, q queryer, ws uuid.UUID, run *model.FlowRun,
	worker func(pool uuid.UUID, name string) (*model.Worker, error)) (*orchestration.Silence, error) {
	name, _ := run.Labels[orchestration.WorkerLabel].(string)
	if name == "" || run.WorkPoolID == nil {
		// Not a worker's run (a runner's, flow.serve()): nothing tells
		// whether its process lives.
		return nil, nil
	}
	w, err := worker(*run.WorkPoolID, name)
	if err != nil {
		return nil, err
	}
	if w != nil && w.Status == model.WorkerOnline {
		return nil, nil
	}
	s := &orchestration.Silence{Worker: name}
	if run.WorkPoolName != nil {
		s.Pool = *run.WorkPoolName
	}
	if w != nil && w.LastHeartbeatTime != nil {
		hb := w.LastHeartbeatTime.Time
		s.LastHeartbeat = &hb
	}
	if run.State != nil {
		s.LastActivity = run.State.Timestamp.Time
	}
	for _, c := range []struct{ what, q string }{{"last log", lastLogSQL}, {"last task-run change", lastTaskRunChangeSQL}} {
		var last nullTime
		if err := q.QueryRowContext(ctx, db.d.rebind(c.q), ws, run.ID).Scan(&last); err != nil {
			return nil, fmt.Errorf("read the run's %s: %w", c.what, err)
		}
		if last.Valid && last.T.After(s.LastActivity) {
			s.LastActivity = last.T.Time
		}
	}
	return s, nil
}

// poolWorker reads a pool's worker by name with its status at now; nil
// when the pool has no such worker.
func (db *DB) poolWorker(ctx context.Context, q queryer, pool uuid.UUID, name string, now time.Time) (*model.Worker, error) {
	w, err := scanWorker(now)(q.QueryRowContext(ctx, db.d.rebind(poolWorkerSQL), pool, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read worker: %w", err)
	}
	return w, nil
}
