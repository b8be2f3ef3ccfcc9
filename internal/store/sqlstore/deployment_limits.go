package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/orchestration"
	"github.com/praetorhq/praetor/internal/store"
)

// A deployment's concurrency_limit is enforced, as in Prefect, by a global
// limit of its own ("deployment:<id>"), which the deployment's writes keep
// in step and its reads show as global_concurrency_limit.

// lockDeploymentLimit reads the limit of deployment id, locked; nil when it
// has none.
func (db *DB) lockDeploymentLimit(ctx context.Context, tx *sql.Tx, ws, id uuid.UUID) (*model.ConcurrencyLimit, error) {
	l, err := db.getLimit(ctx, tx, db.d.forUpdate(), `l.name = ?`, ws, model.DeploymentLimitName(id))
	if apperr.IsNotFound(err) {
		return nil, nil
	}
	return l, err
}

// syncDeploymentLimit gives deployment d the limit its concurrency_limit
// asks for (created, resized, or deleted with its leases when it has
// none) and sets d's GlobalConcurrencyLimit to it.
func (db *DB) syncDeploymentLimit(ctx context.Context, tx *sql.Tx, ws uuid.UUID, d *model.Deployment) error {
	now := db.now()
	l, err := db.lockDeploymentLimit(ctx, tx, ws, d.ID)
	if err != nil {
		return err
	}
	d.GlobalConcurrencyLimit = nil
	switch {
	case d.ConcurrencyLimit == nil && l != nil:
		return db.deleteLimit(ctx, tx, ws, l.ID, now)
	case d.ConcurrencyLimit == nil:
		return nil
	case l == nil:
		l = &model.ConcurrencyLimit{ID: uuid.Must(uuid.NewV7()), Name: model.DeploymentLimitName(d.ID), Limit: *d.ConcurrencyLimit, Active: true,
			AvgSlotOccupancySeconds: 2, Created: model.At(now), Updated: model.At(now)}
		err = db.insertLimit(ctx, tx, ws, l)
	case l.Limit != *d.ConcurrencyLimit:
		orchestration.DecaySlots(l, now)
		l.Limit = *d.ConcurrencyLimit
		err = db.saveLimit(ctx, tx, ws, l)
	default:
		decayed(l, now)
	}
	d.GlobalConcurrencyLimit = l.Global()
	return err
}

// deleteLimit deletes a limit, locked in tx, and its leases.
func (db *DB) deleteLimit(ctx context.Context, tx *sql.Tx, ws, id uuid.UUID, now time.Time) error {
	if err := db.releaseLeasesOf(ctx, tx, ws, id, now); err != nil {
		return err
	}
	return db.execOneIn(ctx, tx, "Concurrency limit", `DELETE FROM concurrency_limits WHERE workspace_id = ? AND id = ?`, ws, id)
}

// withDeploymentLimits fills the global_concurrency_limit of deployments
// that have a concurrency limit, with its slots as of now.
func (db *DB) withDeploymentLimits(ctx context.Context, q queryer, ws uuid.UUID, ds []*model.Deployment) error {
	byName := map[string]*model.Deployment{}
	var names []any
	for _, d := range ds {
		if d.ConcurrencyLimit != nil {
			byName[model.DeploymentLimitName(d.ID)] = d
			names = append(names, model.DeploymentLimitName(d.ID))
		}
	}
	if len(names) == 0 {
		return nil
	}
	rows, err := q.QueryContext(ctx, db.d.rebind(`SELECT `+limitColumns+` FROM concurrency_limits l WHERE l.workspace_id = ? AND l.name IN (`+
		placeholders(len(names))+`)`), append([]any{ws}, names...)...)
	if err != nil {
		return err
	}
	limits, err := collect(rows, scanLimit)
	if err != nil {
		return err
	}
	for _, l := range limits {
		byName[l.Name].GlobalConcurrencyLimit = decayed(l, db.now()).Global()
	}
	return nil
}

// deploymentConcurrency applies the deployment concurrency rules to
// decision d on run r's transition (orchestration's deployments.go), in
// the transition's transaction, and returns the decision to apply: d, or
// what a full or zero limit makes of it. Forced transitions take no slot
// but give theirs back.
func (db *DB) deploymentConcurrency(ctx context.Context, tx *sql.Tx, ws uuid.UUID, r *model.FlowRun, d orchestration.Decision, force bool, now time.Time) (orchestration.Decision, error) {
	if d.Write == nil || r.DeploymentID == nil {
		return d, nil
	}
	cur, s := r.State, d.Write
	orchestration.PreserveDeploymentLease(cur, s)
	switch {
	case orchestration.ReleasesDeploymentSlot(cur, d):
		if lease := cur.StateDetails.DeploymentConcurrencyLeaseID; lease != nil {
			if err := db.releaseLeaseByID(ctx, tx, ws, *lease, now); err != nil {
				return d, err
			}
		}
		return d, nil
	case force || d.Status != orchestration.Accept:
		return d, nil
	}
	isLate := s.Type == model.Scheduled && s.Name == "Late" && cur != nil && cur.Type == model.Scheduled
	if !orchestration.SecuresDeploymentSlot(cur, s) && !orchestration.ValidatesDeploymentSlot(cur, s) && !isLate {
		return d, nil
	}
	l, err := db.lockDeploymentLimit(ctx, tx, ws, *r.DeploymentID)
	if err != nil || l == nil || !l.Active {
		return d, err
	}
	options, err := db.deploymentOptions(ctx, tx, ws, *r.DeploymentID)
	if err != nil {
		return d, err
	}
	lease := orchestration.DeploymentLease(options)
	switch {
	case isLate:
		orchestration.DecaySlots(l, now)
		if orchestration.CollisionStrategy(options) == "CANCEL_NEW" && l.ActiveSlots >= l.Limit {
			return orchestration.LateCancelled(now), nil
		}
		return d, nil
	case orchestration.ValidatesDeploymentSlot(cur, s):
		id := s.StateDetails.DeploymentConcurrencyLeaseID
		if id == nil {
			return d, nil
		}
		res, err := tx.ExecContext(ctx, db.d.rebind(`UPDATE concurrency_leases SET expiration = ? WHERE workspace_id = ? AND id = ?`),
			db.d.time(model.At(now.Add(lease))), ws, *id)
		if err != nil {
			return d, err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return d, nil
		}
		// The lease expired and was reaped while the run was PENDING: it
		// goes on if a slot is free again.
		g, err := db.acquire(ctx, tx, ws, []*model.ConcurrencyLimit{l}, deploymentSlot(r, now, lease))
		if err != nil || !g.Acquired {
			return orchestration.DeploymentSlotLost(now), err
		}
		s.StateDetails.DeploymentConcurrencyLeaseID = &g.Lease.ID
		return d, nil
	}
	if l.Limit == 0 {
		return orchestration.DeploymentLimitZero(), nil
	}
	g, err := db.acquire(ctx, tx, ws, []*model.ConcurrencyLimit{l}, deploymentSlot(r, now, lease))
	if err != nil {
		return d, err
	}
	if !g.Acquired {
		return orchestration.DeploymentCollision(options, now, db.slotWait), nil
	}
	s.StateDetails.DeploymentConcurrencyLeaseID = &g.Lease.ID
	return d, nil
}

// deploymentSlot asks for one slot for run r, leased for lease.
func deploymentSlot(r *model.FlowRun, now time.Time, lease time.Duration) store.SlotAcquisition {
	return store.SlotAcquisition{Slots: 1, Now: now,
		Lease: &store.LeaseRequest{Duration: lease, Holder: &model.LeaseHolder{Type: "flow_run", ID: r.ID}}}
}

// deploymentOptions reads a deployment's concurrency options.
func (db *DB) deploymentOptions(ctx context.Context, tx *sql.Tx, ws, id uuid.UUID) (map[string]any, error) {
	var options map[string]any
	err := tx.QueryRowContext(ctx, db.d.rebind(`SELECT concurrency_options FROM deployments WHERE workspace_id = ? AND id = ?`), ws, id).
		Scan(jsonCol{&options})
	if err == sql.ErrNoRows {
		return nil, nil
	}
	return options, err
}

// releaseLeaseByID releases a lease if it is still there (the reaper may
// have released it first).
func (db *DB) releaseLeaseByID(ctx context.Context, tx *sql.Tx, ws, id uuid.UUID, now time.Time) error {
	l, err := db.lockLease(ctx, tx, ws, id)
	if apperr.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	return db.releaseLease(ctx, tx, ws, l, now)
}
