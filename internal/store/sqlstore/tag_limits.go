package sqlstore

import (
	"context"
	"database/sql"
	"math/rand/v2"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/orchestration"
	"github.com/praetorhq/praetor/internal/store"
)

// tagLeaseDuration is how long a tag slot taken for a task run's RUNNING
// proposal is leased: the run's end gives it back, so, as Prefect's v1
// leases, for about a century.
const tagLeaseDuration = 100 * 365 * 24 * time.Hour

// tagConcurrency applies the tag limits of task run r to decision d on its
// transition, in the transition's transaction: a RUNNING proposal (not
// forced) takes a slot of each of its tags' active limits, all or none, or
// waits; a state that holds no slot gives back those the run holds.
func (db *DB) tagConcurrency(ctx context.Context, tx *sql.Tx, ws uuid.UUID, r *model.TaskRun, d orchestration.Decision, force bool, now time.Time) (orchestration.Decision, error) {
	if d.Write == nil || len(r.Tags) == 0 {
		return d, nil
	}
	names := make([]string, len(r.Tags))
	for i, t := range r.Tags {
		names[i] = model.ConcurrencyLimitTagPrefix + t
	}
	if !orchestration.HoldsTagSlots(d.Write) {
		// Only a run that was in a state holding slots can hold any.
		if r.State == nil || !orchestration.HoldsTagSlots(r.State) {
			return d, nil
		}
		return d, db.releaseHolderLeases(ctx, tx, ws, names, r.ID, now)
	}
	if force || d.Status != orchestration.Accept || d.Write.Type != model.Running {
		return d, nil
	}
	limits, err := db.lockLimitsNamed(ctx, tx, ws, names)
	if err != nil {
		return d, err
	}
	var active []*model.ConcurrencyLimit
	for _, l := range limits {
		if l.Active {
			if l.Limit == 0 {
				return orchestration.TagLimitZero(l.Name[len(model.ConcurrencyLimitTagPrefix):]), nil
			}
			active = append(active, l)
		}
	}
	if len(active) == 0 {
		return d, nil
	}
	g, err := db.acquire(ctx, tx, ws, active, store.SlotAcquisition{Slots: 1, Now: now,
		Lease: &store.LeaseRequest{Duration: tagLeaseDuration, Holder: &model.LeaseHolder{Type: "task_run", ID: r.ID}}})
	if err != nil {
		return d, err
	}
	if !g.Acquired {
		return orchestration.TagLimitsFull(active, rand.Float64()), nil
	}
	return d, nil
}

// releaseHolderLeases releases the leases task run holder holds on the
// limits named.
func (db *DB) releaseHolderLeases(ctx context.Context, tx *sql.Tx, ws uuid.UUID, names []string, holder uuid.UUID, now time.Time) error {
	rows, err := tx.QueryContext(ctx, db.d.rebind(`SELECT DISTINCT `+leaseColumns+` FROM concurrency_leases c
		JOIN concurrency_lease_limits ll ON ll.lease_id = c.id JOIN concurrency_limits l ON l.id = ll.limit_id
		WHERE c.workspace_id = ? AND c.holder_id = ? AND l.name IN (`+placeholders(len(names))+`) ORDER BY c.id`),
		append([]any{ws, holder}, toArgs(names)...)...)
	if err != nil {
		return err
	}
	leases, err := collect(rows, scanLease)
	if err != nil {
		return err
	}
	for _, l := range leases {
		if err := db.releaseLease(ctx, tx, ws, l, now); err != nil {
			return err
		}
	}
	return nil
}
