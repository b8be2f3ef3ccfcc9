package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/orchestration"
	"github.com/praetorhq/praetor/internal/store"
)

const limitColumns = `l.id, l.name, l.slot_limit, l.active, l.active_slots, l.denied_slots, l.slot_decay_per_second,
	l.avg_slot_occupancy_seconds, l.created, l.updated`

// scanLimit reads a limit as stored; decayed brings its slots to a time.
func scanLimit(row scanner) (*model.ConcurrencyLimit, error) {
	var (
		l                model.ConcurrencyLimit
		created, updated nullTime
	)
	if err := row.Scan(&l.ID, &l.Name, &l.Limit, &l.Active, &l.ActiveSlots, &l.DeniedSlots, &l.SlotDecayPerSecond,
		&l.AvgSlotOccupancySeconds, &created, &updated); err != nil {
		return nil, err
	}
	l.Created, l.Updated = created.T, updated.T
	return &l, nil
}

// decayed returns l with its slots as of now, for reads: its stored
// updated time stays what it was.
func decayed(l *model.ConcurrencyLimit, now time.Time) *model.ConcurrencyLimit {
	updated := l.Updated
	orchestration.DecaySlots(l, now)
	l.Updated = updated
	return l
}

func limitNameTaken() error {
	return apperr.Errorf(apperr.EConflict, "A concurrency limit of this name already exists.")
}

// CreateConcurrencyLimit inserts l.
func (db *DB) CreateConcurrencyLimit(ctx context.Context, ws uuid.UUID, l *model.ConcurrencyLimit) error {
	now := model.At(db.now())
	l.ID = uuid.Must(uuid.NewV7())
	l.Created, l.Updated = now, now
	return db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		return db.insertLimit(ctx, tx, ws, l)
	})
}

func (db *DB) insertLimit(ctx context.Context, tx *sql.Tx, ws uuid.UUID, l *model.ConcurrencyLimit) error {
	_, err := tx.ExecContext(ctx, db.d.rebind(`INSERT INTO concurrency_limits (id, workspace_id, name, slot_limit, active,
		active_slots, denied_slots, slot_decay_per_second, avg_slot_occupancy_seconds, created, updated)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		l.ID, ws, l.Name, l.Limit, l.Active, l.ActiveSlots, l.DeniedSlots, l.SlotDecayPerSecond, l.AvgSlotOccupancySeconds,
		db.d.time(l.Created), db.d.time(l.Updated))
	if db.d.isUniqueViolation(err) {
		return limitNameTaken()
	}
	if err != nil {
		return fmt.Errorf("insert concurrency limit: %w", err)
	}
	return nil
}

// GetConcurrencyLimit returns a limit by id.
func (db *DB) GetConcurrencyLimit(ctx context.Context, ws, id uuid.UUID, now time.Time) (*model.ConcurrencyLimit, error) {
	l, err := db.getLimit(ctx, db.read, "", `l.id = ?`, ws, id)
	if err != nil {
		return nil, err
	}
	return decayed(l, now), nil
}

// GetConcurrencyLimitByName returns a limit by name.
func (db *DB) GetConcurrencyLimitByName(ctx context.Context, ws uuid.UUID, name string, now time.Time) (*model.ConcurrencyLimit, error) {
	l, err := db.getLimit(ctx, db.read, "", `l.name = ?`, ws, name)
	if err != nil {
		return nil, err
	}
	return decayed(l, now), nil
}

func (db *DB) getLimit(ctx context.Context, q queryer, lock, cond string, ws uuid.UUID, arg any) (*model.ConcurrencyLimit, error) {
	l, err := scanLimit(q.QueryRowContext(ctx, db.d.rebind(`SELECT `+limitColumns+` FROM concurrency_limits l WHERE l.workspace_id = ? AND `+cond+lock), ws, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Concurrency limit")
	}
	if err != nil {
		return nil, fmt.Errorf("read concurrency limit: %w", err)
	}
	return l, nil
}

// ListConcurrencyLimits returns limits by name.
func (db *DB) ListConcurrencyLimits(ctx context.Context, ws uuid.UUID, q store.ConcurrencyLimitQuery) ([]*model.ConcurrencyLimit, error) {
	where, args := `l.workspace_id = ?`, []any{ws}
	if q.NamePrefix != "" {
		// A range rather than LIKE, so that the prefix's own % and _ are
		// literal and the (workspace_id, name) index serves it.
		where += ` AND l.name >= ? AND l.name < ?`
		args = append(args, q.NamePrefix, q.NamePrefix+"\U0010FFFF")
	}
	rows, err := db.query(ctx, `SELECT `+limitColumns+` FROM concurrency_limits l WHERE `+where+` ORDER BY l.name`+page(q.Limit, q.Offset), args...)
	if err != nil {
		return nil, fmt.Errorf("list concurrency limits: %w", err)
	}
	out, err := collect(rows, scanLimit)
	if err != nil {
		return nil, err
	}
	for _, l := range out {
		decayed(l, q.Now)
	}
	return out, nil
}

// saveLimit writes a limit's every column but its id.
func (db *DB) saveLimit(ctx context.Context, tx *sql.Tx, ws uuid.UUID, l *model.ConcurrencyLimit) error {
	_, err := tx.ExecContext(ctx, db.d.rebind(`UPDATE concurrency_limits SET name = ?, slot_limit = ?, active = ?, active_slots = ?,
		denied_slots = ?, slot_decay_per_second = ?, avg_slot_occupancy_seconds = ?, updated = ? WHERE workspace_id = ? AND id = ?`),
		l.Name, l.Limit, l.Active, l.ActiveSlots, l.DeniedSlots, l.SlotDecayPerSecond, l.AvgSlotOccupancySeconds, db.d.time(l.Updated), ws, l.ID)
	if db.d.isUniqueViolation(err) {
		return limitNameTaken()
	}
	if err != nil {
		return fmt.Errorf("update concurrency limit: %w", err)
	}
	return nil
}

// UpdateConcurrencyLimit applies patch to a limit.
func (db *DB) UpdateConcurrencyLimit(ctx context.Context, ws, id uuid.UUID, now time.Time, patch func(*model.ConcurrencyLimit) error) error {
	return db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		l, err := db.getLimit(ctx, tx, db.d.forUpdate(), `l.id = ?`, ws, id)
		if err != nil {
			return err
		}
		orchestration.DecaySlots(l, now)
		if err := patch(l); err != nil {
			return err
		}
		return db.saveLimit(ctx, tx, ws, l)
	})
}

// DeleteConcurrencyLimit deletes a limit and its leases.
func (db *DB) DeleteConcurrencyLimit(ctx context.Context, ws, id uuid.UUID, now time.Time) error {
	return db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := db.getLimit(ctx, tx, db.d.forUpdate(), `l.id = ?`, ws, id); err != nil {
			return err
		}
		return db.deleteLimit(ctx, tx, ws, id, now)
	})
}

// lockLimits reads the limits of ws named names, locked for the write,
// in id order so that concurrent writers lock them in the same order.
func (db *DB) lockLimits(ctx context.Context, tx *sql.Tx, ws uuid.UUID, cond string, args []any) ([]*model.ConcurrencyLimit, error) {
	rows, err := tx.QueryContext(ctx, db.d.rebind(`SELECT `+limitColumns+` FROM concurrency_limits l WHERE l.workspace_id = ? AND `+cond+
		` ORDER BY l.id`+db.d.forUpdate()), append([]any{ws}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("lock concurrency limits: %w", err)
	}
	return collect(rows, scanLimit)
}

func (db *DB) lockLimitsNamed(ctx context.Context, tx *sql.Tx, ws uuid.UUID, names []string) ([]*model.ConcurrencyLimit, error) {
	if len(names) == 0 {
		return nil, nil
	}
	return db.lockLimits(ctx, tx, ws, `l.name IN (`+placeholders(len(names))+`)`, toArgs(names))
}

// AcquireConcurrencySlots takes slots of every active limit named, or none.
func (db *DB) AcquireConcurrencySlots(ctx context.Context, ws uuid.UUID, a store.SlotAcquisition) (*store.SlotGrant, error) {
	var grant *store.SlotGrant
	err := db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		limits, err := db.lockLimitsNamed(ctx, tx, ws, a.Names)
		if err != nil {
			return err
		}
		grant, err = db.acquire(ctx, tx, ws, limits, a)
		return err
	})
	if err != nil {
		return nil, err
	}
	return grant, nil
}

// acquire takes slots of limits, read locked in tx, as
// AcquireConcurrencySlots does.
func (db *DB) acquire(ctx context.Context, tx *sql.Tx, ws uuid.UUID, limits []*model.ConcurrencyLimit, a store.SlotAcquisition) (*store.SlotGrant, error) {
	grant := &store.SlotGrant{Limits: limits}
	var active []*model.ConcurrencyLimit
	var steady []string
	for _, l := range limits {
		orchestration.DecaySlots(l, a.Now)
		if !l.Active {
			continue
		}
		active = append(active, l)
		if l.Limit < a.Slots {
			return nil, apperr.Errorf(apperr.EInvalid, "Slots requested is greater than the limit")
		}
		if l.SlotDecayPerSecond == 0 {
			steady = append(steady, l.Name)
		}
	}
	if a.RateLimit && len(steady) > 0 {
		return nil, apperr.Errorf(apperr.EInvalid, "Only concurrency limits with slot decay can be used for rate limiting. The following limits do not have a decay configured: '%s'", strings.Join(steady, ","))
	}
	grant.Acquired = !slices.ContainsFunc(active, func(l *model.ConcurrencyLimit) bool { return l.ActiveSlots+a.Slots > l.Limit })
	for _, l := range active {
		if grant.Acquired {
			l.ActiveSlots += a.Slots
		} else {
			l.DeniedSlots += a.Slots
		}
		if err := db.saveLimit(ctx, tx, ws, l); err != nil {
			return nil, err
		}
	}
	// No limit named: no lease to keep. As in Prefect, a lease holds the
	// inactive limits named too; they give nothing back.
	if !grant.Acquired || a.Lease == nil || len(limits) == 0 {
		return grant, nil
	}
	ids := make([]uuid.UUID, len(limits))
	for i, l := range limits {
		ids[i] = l.ID
	}
	grant.Lease = &model.ConcurrencyLease{ID: uuid.Must(uuid.NewV7()), LimitIDs: ids, Slots: a.Slots, Holder: a.Lease.Holder,
		Created: model.At(a.Now), Expiration: model.At(a.Now.Add(a.Lease.Duration))}
	return grant, db.insertLease(ctx, tx, ws, grant.Lease)
}

func (db *DB) insertLease(ctx context.Context, tx *sql.Tx, ws uuid.UUID, l *model.ConcurrencyLease) error {
	var holderType, holderID any
	if l.Holder != nil {
		holderType, holderID = l.Holder.Type, l.Holder.ID
	}
	if _, err := tx.ExecContext(ctx, db.d.rebind(`INSERT INTO concurrency_leases (id, workspace_id, slots, holder_type, holder_id, expiration, created)
		VALUES (?, ?, ?, ?, ?, ?, ?)`), l.ID, ws, l.Slots, holderType, holderID, db.d.time(l.Expiration), db.d.time(l.Created)); err != nil {
		return fmt.Errorf("insert concurrency lease: %w", err)
	}
	for _, id := range l.LimitIDs {
		if _, err := tx.ExecContext(ctx, db.d.rebind(`INSERT INTO concurrency_lease_limits (lease_id, limit_id) VALUES (?, ?)`), l.ID, id); err != nil {
			return fmt.Errorf("insert concurrency lease limit: %w", err)
		}
	}
	return nil
}

// releaseSlots gives slots back to limits (never below zero), counting
// occupancySeconds into their average occupancy when known.
func (db *DB) releaseSlots(ctx context.Context, tx *sql.Tx, ws uuid.UUID, limits []*model.ConcurrencyLimit, slots int, occupancySeconds float64, now time.Time) error {
	for _, l := range limits {
		if !l.Active {
			continue
		}
		orchestration.DecaySlots(l, now)
		l.ActiveSlots = max(0, l.ActiveSlots-slots)
		orchestration.RecordOccupancy(l, occupancySeconds, slots)
		if err := db.saveLimit(ctx, tx, ws, l); err != nil {
			return err
		}
	}
	return nil
}

// ReleaseConcurrencySlots gives back slots of the limits named.
func (db *DB) ReleaseConcurrencySlots(ctx context.Context, ws uuid.UUID, names []string, slots int, occupancySeconds float64, now time.Time) ([]*model.ConcurrencyLimit, error) {
	var out []*model.ConcurrencyLimit
	err := db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		limits, err := db.lockLimitsNamed(ctx, tx, ws, names)
		if err != nil {
			return err
		}
		out = limits
		return db.releaseSlots(ctx, tx, ws, limits, slots, occupancySeconds, now)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

const leaseColumns = `c.id, c.slots, c.holder_type, c.holder_id, c.expiration, c.created`

func scanLease(row scanner) (*model.ConcurrencyLease, error) {
	var (
		l                   model.ConcurrencyLease
		holderType          sql.NullString
		holderID            uuid.NullUUID
		expiration, created nullTime
	)
	if err := row.Scan(&l.ID, &l.Slots, &holderType, &holderID, &expiration, &created); err != nil {
		return nil, err
	}
	if holderType.Valid && holderID.Valid {
		l.Holder = &model.LeaseHolder{Type: holderType.String, ID: holderID.UUID}
	}
	l.Expiration, l.Created = expiration.T, created.T
	return &l, nil
}

// leaseLimitIDs fills the limit ids of leases.
func (db *DB) leaseLimitIDs(ctx context.Context, q queryer, leases []*model.ConcurrencyLease) error {
	if len(leases) == 0 {
		return nil
	}
	byID := map[uuid.UUID]*model.ConcurrencyLease{}
	ids := make([]any, len(leases))
	for i, l := range leases {
		byID[l.ID], ids[i] = l, l.ID
	}
	rows, err := q.QueryContext(ctx, db.d.rebind(`SELECT lease_id, limit_id FROM concurrency_lease_limits WHERE lease_id IN (`+placeholders(len(ids))+`) ORDER BY limit_id`), ids...)
	if err != nil {
		return fmt.Errorf("read lease limits: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var lease, limit uuid.UUID
		if err := rows.Scan(&lease, &limit); err != nil {
			return err
		}
		byID[lease].LimitIDs = append(byID[lease].LimitIDs, limit)
	}
	return rows.Err()
}

// releaseLease gives back a lease's slots (held since it was taken) and
// deletes it.
func (db *DB) releaseLease(ctx context.Context, tx *sql.Tx, ws uuid.UUID, l *model.ConcurrencyLease, now time.Time) error {
	if err := db.leaseLimitIDs(ctx, tx, []*model.ConcurrencyLease{l}); err != nil {
		return err
	}
	if len(l.LimitIDs) > 0 {
		limits, err := db.lockLimits(ctx, tx, ws, `l.id IN (`+placeholders(len(l.LimitIDs))+`)`, toArgs(l.LimitIDs))
		if err != nil {
			return err
		}
		if err := db.releaseSlots(ctx, tx, ws, limits, l.Slots, now.Sub(l.Created.Time).Seconds(), now); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, db.d.rebind(`DELETE FROM concurrency_leases WHERE workspace_id = ? AND id = ?`), ws, l.ID); err != nil {
		return fmt.Errorf("delete concurrency lease: %w", err)
	}
	return nil
}

func (db *DB) lockLease(ctx context.Context, tx *sql.Tx, ws, id uuid.UUID) (*model.ConcurrencyLease, error) {
	l, err := scanLease(tx.QueryRowContext(ctx, db.d.rebind(`SELECT `+leaseColumns+` FROM concurrency_leases c WHERE c.workspace_id = ? AND c.id = ?`+db.d.forUpdate()), ws, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Lease")
	}
	if err != nil {
		return nil, fmt.Errorf("read concurrency lease: %w", err)
	}
	return l, nil
}

// ReleaseConcurrencyLease releases a lease.
func (db *DB) ReleaseConcurrencyLease(ctx context.Context, ws, id uuid.UUID, now time.Time) error {
	return db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		l, err := db.lockLease(ctx, tx, ws, id)
		if err != nil {
			return err
		}
		return db.releaseLease(ctx, tx, ws, l, now)
	})
}

// RenewConcurrencyLease moves a lease's expiration.
func (db *DB) RenewConcurrencyLease(ctx context.Context, ws, id uuid.UUID, expiration time.Time) error {
	return db.execOne(ctx, "Lease", `UPDATE concurrency_leases SET expiration = ? WHERE workspace_id = ? AND id = ?`,
		db.d.time(model.At(expiration)), ws, id)
}

// ListConcurrencyLeases returns a limit's unexpired leases.
func (db *DB) ListConcurrencyLeases(ctx context.Context, ws, limitID uuid.UUID, now time.Time) ([]*model.ConcurrencyLease, error) {
	rows, err := db.query(ctx, `SELECT `+leaseColumns+` FROM concurrency_leases c JOIN concurrency_lease_limits ll ON ll.lease_id = c.id
		WHERE c.workspace_id = ? AND ll.limit_id = ? AND c.expiration > ? ORDER BY c.created, c.id`, ws, limitID, db.d.time(model.At(now)))
	if err != nil {
		return nil, fmt.Errorf("list concurrency leases: %w", err)
	}
	leases, err := collect(rows, scanLease)
	if err != nil {
		return nil, err
	}
	return leases, db.leaseLimitIDs(ctx, db.read, leases)
}

// releaseLeasesOf releases every lease on a limit.
func (db *DB) releaseLeasesOf(ctx context.Context, tx *sql.Tx, ws, limitID uuid.UUID, now time.Time) error {
	rows, err := tx.QueryContext(ctx, db.d.rebind(`SELECT `+leaseColumns+` FROM concurrency_leases c JOIN concurrency_lease_limits ll ON ll.lease_id = c.id
		WHERE c.workspace_id = ? AND ll.limit_id = ? ORDER BY c.id`), ws, limitID)
	if err != nil {
		return fmt.Errorf("read leases of limit: %w", err)
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

// ResetConcurrencyLimit replaces a limit's leases with one per holder.
func (db *DB) ResetConcurrencyLimit(ctx context.Context, ws, id uuid.UUID, holders []model.LeaseHolder, expiration, now time.Time) error {
	return db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := db.getLimit(ctx, tx, db.d.forUpdate(), `l.id = ?`, ws, id); err != nil {
			return err
		}
		if err := db.releaseLeasesOf(ctx, tx, ws, id, now); err != nil {
			return err
		}
		l, err := db.getLimit(ctx, tx, db.d.forUpdate(), `l.id = ?`, ws, id)
		if err != nil {
			return err
		}
		orchestration.DecaySlots(l, now)
		l.ActiveSlots = len(holders)
		if err := db.saveLimit(ctx, tx, ws, l); err != nil {
			return err
		}
		for _, h := range holders {
			lease := &model.ConcurrencyLease{ID: uuid.Must(uuid.NewV7()), LimitIDs: []uuid.UUID{id}, Slots: 1, Holder: &h,
				Created: model.At(now), Expiration: model.At(expiration)}
			if err := db.insertLease(ctx, tx, ws, lease); err != nil {
				return err
			}
		}
		return nil
	})
}

// ExpireConcurrencyLeases releases leases that expired before now. Each is
// released in a write of its own, checked again there, so a lease renewed
// meanwhile stays.
func (db *DB) ExpireConcurrencyLeases(ctx context.Context, now time.Time, limit int) (int, error) {
	rows, err := db.query(ctx, `SELECT id, workspace_id FROM concurrency_leases WHERE expiration < ? ORDER BY expiration LIMIT ?`,
		db.d.time(model.At(now)), limit)
	if err != nil {
		return 0, fmt.Errorf("read expired leases: %w", err)
	}
	type expired struct{ id, ws uuid.UUID }
	found, err := collect(rows, func(row scanner) (expired, error) {
		var e expired
		return e, row.Scan(&e.id, &e.ws)
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range found {
		released := false
		err := db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			released = false
			l, err := db.lockLease(ctx, tx, e.ws, e.id)
			if apperr.IsNotFound(err) {
				return nil
			}
			if err != nil {
				return err
			}
			if !l.Expiration.Before(now) {
				return nil
			}
			released = true
			return db.releaseLease(ctx, tx, e.ws, l, now)
		})
		if err != nil {
			return n, err
		}
		if released {
			n++
		}
	}
	return n, nil
}
