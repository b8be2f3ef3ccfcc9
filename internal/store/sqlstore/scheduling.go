package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

// The queries here serve the background services. Each reads only rows of
// SCHEDULED runs through the partial indexes of migration 0004 (the state
// is a literal, so both planners can match the index predicate), and
// deployments, so their cost follows the size of the queue and the number
// of deployments, never the run history.

// scanWorkspaceDeployments reads rows of the workspace id then the
// deployment's columns, with their schedules.
func (db *DB) scanWorkspaceDeployments(ctx context.Context, rows *sql.Rows) ([]store.WorkspaceDeployment, error) {
	out, err := collect(rows, func(row scanner) (store.WorkspaceDeployment, error) {
		var wd store.WorkspaceDeployment
		var err error
		wd.Deployment, err = scanDeployment(prefixed{row, &wd.Workspace})
		return wd, err
	})
	if err != nil {
		return nil, err
	}
	byWS := map[uuid.UUID][]*model.Deployment{}
	for _, wd := range out {
		byWS[wd.Workspace] = append(byWS[wd.Workspace], wd.Deployment)
	}
	for ws, ds := range byWS {
		if err := db.withSchedules(ctx, db.read, ws, ds); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// schedulableSQL selects the deployments the scheduler must fill up: each
// count of future runs reads the deployment's entries of the partial index
// flow_runs_deployment_scheduled.
const schedulableSQL = `SELECT d.workspace_id, ` + deploymentColumns + ` FROM deployments d
	WHERE d.paused = ? AND EXISTS (SELECT 1 FROM deployment_schedules s WHERE s.deployment_id = d.id AND s.active = ?)
	AND ((SELECT COUNT(*) FROM flow_runs fr WHERE fr.deployment_id = d.id AND fr.state_type = 'SCHEDULED'
			AND fr.next_scheduled_start_time > ? AND fr.auto_scheduled = ?) < ?
		OR NOT EXISTS (SELECT 1 FROM flow_runs fr WHERE fr.deployment_id = d.id AND fr.state_type = 'SCHEDULED'
			AND fr.next_scheduled_start_time >= ? AND fr.auto_scheduled = ?))
	ORDER BY d.id`

// lateRunsSQL selects runs waiting as "Scheduled" past a cutoff, through
// the partial index flow_runs_scheduled_next.
const lateRunsSQL = `SELECT fr.workspace_id, ` + flowRunColumns + flowRunFrom + `
	WHERE fr.state_type = 'SCHEDULED' AND fr.next_scheduled_start_time <= ? AND fr.state_name = 'Scheduled'
	ORDER BY fr.next_scheduled_start_time, fr.id`

// dueRunsSQL selects a deployment's waiting runs due by a time, through
// the partial index flow_runs_deployment_scheduled.
const dueRunsSQL = `SELECT ` + flowRunColumns + flowRunFrom + `
	WHERE fr.deployment_id = ? AND fr.state_type = 'SCHEDULED' AND fr.next_scheduled_start_time <= ?
	AND fr.workspace_id = ? AND fr.run_count = 0 AND fr.state_name IN ('Scheduled', 'Late')
	ORDER BY fr.next_scheduled_start_time DESC, fr.id DESC`

// SchedulableDeployments returns the deployments the scheduler must fill up.
func (db *DB) SchedulableDeployments(ctx context.Context, now, horizon time.Time, minRuns int) ([]store.WorkspaceDeployment, error) {
	rows, err := db.query(ctx, schedulableSQL, false, true, db.d.time(model.At(now)), true, minRuns, db.d.time(model.At(horizon)), true)
	if err != nil {
		return nil, fmt.Errorf("schedulable deployments: %w", err)
	}
	return db.scanWorkspaceDeployments(ctx, rows)
}

// CreateScheduledRuns inserts the scheduler's runs in one write.
func (db *DB) CreateScheduledRuns(ctx context.Context, ws uuid.UUID, runs []store.ScheduledRun) (int, error) {
	var (
		n       int
		emitted []*model.Event
	)
	in := make([]model.FlowRun, len(runs))
	for i, r := range runs {
		in[i] = *r.Run
	}
	err := db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		n, emitted = 0, nil
		flows := map[uuid.UUID]bool{}
		for i, r := range runs {
			if !flows[r.Run.FlowID] {
				var found int
				if err := tx.QueryRowContext(ctx, db.d.rebind(`SELECT COUNT(*) FROM flows WHERE workspace_id = ? AND id = ?`), ws, r.Run.FlowID).Scan(&found); err != nil {
					return fmt.Errorf("read flow: %w", err)
				}
				if found == 0 {
					return notFound("Flow")
				}
				flows[r.Run.FlowID] = true
			}
			*r.Run = in[i]
			created, err := db.createFlowRun(ctx, tx, ws, r.Run, r.Initial, &emitted)
			if err != nil {
				return err
			}
			if created {
				n++
			}
		}
		return nil
	})
	if err == nil {
		db.published(ws, emitted)
	}
	return n, err
}

// LateRuns returns the runs the late-run marker marks, with their
// deployments.
func (db *DB) LateRuns(ctx context.Context, cutoff time.Time, limit int) ([]store.LateRun, error) {
	rows, err := db.query(ctx, lateRunsSQL+page(limit, 0), db.d.time(model.At(cutoff)))
	if err != nil {
		return nil, fmt.Errorf("late runs: %w", err)
	}
	late, err := collect(rows, func(row scanner) (store.LateRun, error) {
		var lr store.LateRun
		var ws uuid.UUID
		r, err := db.scanFlowRun(prefixed{row, &ws})
		lr.Workspace, lr.Run = ws, r
		return lr, err
	})
	if err != nil {
		return nil, fmt.Errorf("late runs: %w", err)
	}
	deployments := map[uuid.UUID]*model.Deployment{}
	active := map[uuid.UUID]int{}
	for i := range late {
		lr := &late[i]
		if lr.Run.DeploymentID == nil {
			continue
		}
		id := *lr.Run.DeploymentID
		d, seen := deployments[id]
		if !seen {
			d, err = db.GetDeployment(ctx, lr.Workspace, id)
			if err != nil && !apperr.IsNotFound(err) {
				return nil, err
			}
			deployments[id] = d
			if d != nil && d.ConcurrencyLimit != nil {
				if active[id], err = db.count(ctx, `SELECT COUNT(*) FROM flow_runs WHERE workspace_id = ? AND deployment_id = ?
					AND state_type IN ('PENDING', 'RUNNING', 'CANCELLING')`, lr.Workspace, id); err != nil {
					return nil, err
				}
			}
		}
		lr.Deployment, lr.ActiveRuns = d, active[id]
	}
	return late, db.withPools(ctx, late)
}

// withPools gives each late run its queue and pool, with their slots, and
// the pool's latest worker heartbeat, reading each queue and pool once.
func (db *DB) withPools(ctx context.Context, late []store.LateRun) error {
	type poolInfo struct {
		pool *model.WorkPool
		last *model.Time
	}
	queues := map[uuid.UUID]*model.WorkQueue{}
	pools := map[uuid.UUID]*poolInfo{}
	for i := range late {
		lr := &late[i]
		if lr.Run.WorkQueueID == nil {
			continue
		}
		q, seen := queues[*lr.Run.WorkQueueID]
		if !seen {
			var err error
			q, err = db.GetWorkQueue(ctx, lr.Workspace, *lr.Run.WorkQueueID)
			if err != nil && !apperr.IsNotFound(err) {
				return err
			}
			queues[*lr.Run.WorkQueueID] = q
		}
		if q == nil {
			continue
		}
		info, seen := pools[q.WorkPoolID]
		if !seen {
			p, err := db.getPool(ctx, db.read, "", lr.Workspace, "p.id = ?", q.WorkPoolID)
			if err != nil {
				return fmt.Errorf("read work pool: %w", err)
			}
			if err := db.withPoolSlots(ctx, db.read, p); err != nil {
				return err
			}
			var last nullTime
			if err := db.read.QueryRowContext(ctx, db.d.rebind(`SELECT MAX(last_heartbeat_time) FROM workers WHERE work_pool_id = ?`), p.ID).Scan(&last); err != nil {
				return fmt.Errorf("read heartbeats: %w", err)
			}
			info = &poolInfo{pool: p, last: last.ptr()}
			pools[q.WorkPoolID] = info
		}
		lr.Queue, lr.Pool, lr.LastHeartbeat = q, info.pool, info.last
	}
	return nil
}

// prefixed scans a row whose first column is the workspace id, then what
// the wrapped scanner's caller reads.
type prefixed struct {
	row scanner
	ws  *uuid.UUID
}

func (p prefixed) Scan(dest ...any) error { return p.row.Scan(append([]any{p.ws}, dest...)...) }

// CatchUpDeployments returns the deployments whose catch-up policy skips
// runs. Few deployments have one, and the table is small next to the runs.
func (db *DB) CatchUpDeployments(ctx context.Context) ([]store.WorkspaceDeployment, error) {
	rows, err := db.query(ctx, `SELECT d.workspace_id, `+deploymentColumns+` FROM deployments d WHERE d.catch_up <> ? ORDER BY d.id`,
		mustJSON(model.CatchUp{Mode: model.CatchUpAll}))
	if err != nil {
		return nil, fmt.Errorf("catch-up deployments: %w", err)
	}
	all, err := db.scanWorkspaceDeployments(ctx, rows)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, wd := range all {
		if wd.Deployment.CatchUp.Skips() {
			out = append(out, wd)
		}
	}
	return out, nil
}

// DueRuns returns a deployment's waiting runs due by before, newest first.
func (db *DB) DueRuns(ctx context.Context, ws, deploymentID uuid.UUID, before time.Time) ([]*model.FlowRun, error) {
	rows, err := db.query(ctx, dueRunsSQL, deploymentID, db.d.time(model.At(before)), ws)
	if err != nil {
		return nil, fmt.Errorf("due runs: %w", err)
	}
	return collect(rows, db.scanFlowRun)
}

// MarkDeploymentsNotReady makes deployments nothing polled lately
// NOT_READY, with a prefect.deployment.not-ready event for each.
func (db *DB) MarkDeploymentsNotReady(ctx context.Context, before time.Time) (int, error) {
	return db.markStatus(ctx, "mark deployments not ready", db.deploymentStatusEvents, `UPDATE deployments SET status = ?
		WHERE status = ? AND (last_polled IS NULL OR last_polled < ?) RETURNING workspace_id, id`,
		model.DeploymentNotReady, model.DeploymentReady, db.d.time(model.At(before)))
}
