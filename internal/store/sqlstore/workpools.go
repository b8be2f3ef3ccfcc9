package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/orchestration"
	"github.com/praetorhq/praetor/internal/store"
)

const poolColumns = `p.id, p.name, p.description, p.type, p.base_job_template, p.is_paused, p.concurrency_limit, p.status,
	p.default_queue_id, p.storage_configuration, p.created, p.updated`

const queueColumns = `q.id, q.name, q.description, q.is_paused, q.concurrency_limit, q.priority, q.work_pool_id,
	(SELECT p.name FROM work_pools p WHERE p.id = q.work_pool_id), q.status, q.last_polled, q.created, q.updated`

const workerColumns = `w.id, w.name, w.work_pool_id, w.last_heartbeat_time, w.heartbeat_interval_seconds, w.created, w.updated`

// activeStates are the states of runs that hold a pool's or a queue's
// concurrency slot.
const activeStates = `('PENDING', 'RUNNING')`

// poolNotFound is Prefect's 404 detail for a pool named in a route.
func poolNotFound(name string) error {
	return apperr.Errorf(apperr.ENotFound, "Work pool %q not found.", name)
}

// queueNotFound is Prefect's 404 detail for a pool's queue named in a route.
func queueNotFound(pool, name string) error {
	return apperr.Errorf(apperr.ENotFound, "Work pool queue '%s/%s' not found.", pool, name)
}

func optionalInt(n sql.NullInt64) *int {
	if !n.Valid {
		return nil
	}
	v := int(n.Int64)
	return &v
}

func scanPool(row scanner) (*model.WorkPool, error) {
	var (
		p                model.WorkPool
		paused           bool
		limit            sql.NullInt64
		defaultQueue     *uuid.UUID
		created, updated nullTime
	)
	if err := row.Scan(&p.ID, &p.Name, nullStr{&p.Description}, &p.Type, jsonCol{&p.BaseJobTemplate}, &paused, &limit, &p.Status,
		nullID{&defaultQueue}, jsonCol{&p.StorageConfiguration}, &created, &updated); err != nil {
		return nil, err
	}
	p.IsPaused, p.ConcurrencyLimit = paused, optionalInt(limit)
	if defaultQueue != nil {
		p.DefaultQueueID = *defaultQueue
	}
	if p.BaseJobTemplate == nil {
		p.BaseJobTemplate = map[string]any{}
	}
	p.Created, p.Updated = created.T, updated.T
	return &p, nil
}

func scanQueue(row scanner) (*model.WorkQueue, error) {
	var (
		q                model.WorkQueue
		paused           bool
		limit            sql.NullInt64
		poolName         sql.NullString
		lastPolled       nullTime
		created, updated nullTime
	)
	if err := row.Scan(&q.ID, &q.Name, nullStr{&q.Description}, &paused, &limit, &q.Priority, &q.WorkPoolID, &poolName, &q.Status,
		&lastPolled, &created, &updated); err != nil {
		return nil, err
	}
	q.IsPaused, q.ConcurrencyLimit, q.WorkPoolName = paused, optionalInt(limit), poolName.String
	q.LastPolled = lastPolled.ptr()
	q.Created, q.Updated = created.T, updated.T
	return &q, nil
}

// scanWorker reads a worker; its status is decided from its heartbeat at
// now, as Prefect's response does, so it is right between foreman passes.
func scanWorker(now time.Time) func(row scanner) (*model.Worker, error) {
	return func(row scanner) (*model.Worker, error) {
		var (
			w                model.Worker
			last             nullTime
			interval         sql.NullInt64
			created, updated nullTime
		)
		if err := row.Scan(&w.ID, &w.Name, &w.WorkPoolID, &last, &interval, &created, &updated); err != nil {
			return nil, err
		}
		w.LastHeartbeatTime, w.HeartbeatIntervalSeconds = last.ptr(), optionalInt(interval)
		w.Created, w.Updated = created.T, updated.T
		w.Status = model.WorkerOffline
		if w.LastHeartbeatTime != nil && w.LastHeartbeatTime.Add(w.OfflineAfter()).After(now) {
			w.Status = model.WorkerOnline
		}
		return &w, nil
	}
}

// getPool reads a pool by a condition through q (lock: the row-lock
// suffix inside a write).
func (db *DB) getPool(ctx context.Context, q queryer, lock string, ws uuid.UUID, cond string, args ...any) (*model.WorkPool, error) {
	p, err := scanPool(q.QueryRowContext(ctx, db.d.rebind(`SELECT `+poolColumns+` FROM work_pools p WHERE p.workspace_id = ? AND `+cond+lock),
		append([]any{ws}, args...)...))
	if err != nil {
		return nil, err
	}
	return p, nil
}

// poolByName reads a pool by name, not found in Prefect's words.
func (db *DB) poolByName(ctx context.Context, q queryer, lock string, ws uuid.UUID, name string) (*model.WorkPool, error) {
	p, err := db.getPool(ctx, q, lock, ws, "p.name = ?", name)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, poolNotFound(name)
	}
	if err != nil {
		return nil, fmt.Errorf("read work pool: %w", err)
	}
	return p, nil
}

// withPoolSlots sets the active slots of the pools that have a limit.
func (db *DB) withPoolSlots(ctx context.Context, q queryer, pools ...*model.WorkPool) error {
	for _, p := range pools {
		if p.ConcurrencyLimit == nil {
			continue
		}
		n, err := db.activeInPool(ctx, q, p.ID)
		if err != nil {
			return err
		}
		p.ActiveSlots = &n
	}
	return nil
}

// withQueueSlots sets the active slots of the queues that have a limit.
func (db *DB) withQueueSlots(ctx context.Context, q queryer, queues ...*model.WorkQueue) error {
	for _, wq := range queues {
		if wq.ConcurrencyLimit == nil {
			continue
		}
		n, err := db.activeInQueue(ctx, q, wq.ID)
		if err != nil {
			return err
		}
		wq.ActiveSlots = &n
	}
	return nil
}

// activeInPool counts the runs holding a slot of the pool, through the
// partial index flow_runs_queue_active.
func (db *DB) activeInPool(ctx context.Context, q queryer, pool uuid.UUID) (int, error) {
	var n int
	err := q.QueryRowContext(ctx, db.d.rebind(`SELECT COUNT(*) FROM flow_runs fr WHERE fr.state_type IN `+activeStates+`
		AND fr.work_queue_id IN (SELECT id FROM work_queues WHERE work_pool_id = ?)`), pool).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count pool slots: %w", err)
	}
	return n, nil
}

// activeInQueue counts the runs holding a slot of the queue.
func (db *DB) activeInQueue(ctx context.Context, q queryer, queue uuid.UUID) (int, error) {
	var n int
	err := q.QueryRowContext(ctx, db.d.rebind(`SELECT COUNT(*) FROM flow_runs fr WHERE fr.work_queue_id = ? AND fr.state_type IN `+activeStates),
		queue).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count queue slots: %w", err)
	}
	return n, nil
}

// CreateWorkPool creates a pool and its default queue, with the events
// Prefect's server emits for them: both created, and the pool's status.
func (db *DB) CreateWorkPool(ctx context.Context, ws uuid.UUID, p *model.WorkPool) error {
	in := *p
	var o outbox
	err := db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		*p, o = in, outbox{}
		now := model.At(db.now())
		p.ID, p.Created, p.Updated = uuid.Must(uuid.NewV7()), now, now
		if p.BaseJobTemplate == nil {
			p.BaseJobTemplate = map[string]any{}
		}
		p.Status = model.PoolNotReady
		if p.IsPaused {
			p.Status = model.PoolPaused
		}
		_, err := tx.ExecContext(ctx, db.d.rebind(`INSERT INTO work_pools (id, workspace_id, name, description, type, base_job_template,
			is_paused, concurrency_limit, status, storage_configuration, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			p.ID, ws, p.Name, p.Description, p.Type, mustJSON(p.BaseJobTemplate), p.IsPaused, p.ConcurrencyLimit, p.Status,
			mustJSON(p.StorageConfiguration), db.d.time(now), db.d.time(now))
		if db.d.isUniqueViolation(err) {
			return apperr.Errorf(apperr.EConflict, "A work pool with this name already exists.")
		}
		if err != nil {
			return fmt.Errorf("insert work pool: %w", err)
		}
		q := &model.WorkQueue{Name: model.DefaultQueueName, Description: ptrTo("The work pool's default queue.")}
		if err := db.createQueue(ctx, tx, ws, p, q); err != nil {
			return err
		}
		p.DefaultQueueID = q.ID
		if _, err := tx.ExecContext(ctx, db.d.rebind(`UPDATE work_pools SET default_queue_id = ? WHERE id = ?`), q.ID, p.ID); err != nil {
			return fmt.Errorf("set default queue: %w", err)
		}
		if p.ConcurrencyLimit != nil {
			zero := 0
			p.ActiveSlots = &zero
		}
		// Prefect's order: the default queue, the pool, its first status.
		if err := db.emitQueueEvent(ctx, tx, o, ws, "created", q, p, nil); err != nil {
			return err
		}
		if err := db.emitPoolEvent(ctx, tx, o, ws, "created", p, nil); err != nil {
			return err
		}
		return db.emit(ctx, tx, o, ws, orchestration.WorkPoolStatusEvent(p, model.At(db.now())))
	})
	if err == nil {
		db.publishAll(o)
	}
	return err
}

func ptrTo[T any](v T) *T { return &v }

// GetWorkPool returns a pool by name.
func (db *DB) GetWorkPool(ctx context.Context, ws uuid.UUID, name string) (*model.WorkPool, error) {
	p, err := db.poolByName(ctx, db.read, "", ws, name)
	if err != nil {
		return nil, err
	}
	return p, db.withPoolSlots(ctx, db.read, p)
}

func (db *DB) poolWhere(ws uuid.UUID, q store.WorkPoolQuery) (string, []any) {
	c := newClause(db.d, "")
	c.add("p.workspace_id = ?", ws)
	db.poolFilter(c, "p", q.WorkPools)
	return c.sql()
}

// poolFilter adds f's conditions on the work pools aliased a to c.
func (db *DB) poolFilter(c *clause, a string, f *store.WorkPoolFilter) {
	if f == nil {
		return
	}
	s := newClause(db.d, f.Operator)
	s.id(a+".id", f.ID)
	s.name(a+".name", f.Name)
	s.name(a+".type", f.Type)
	c.sub(s)
}

// ListWorkPools returns the pools matching q by name.
func (db *DB) ListWorkPools(ctx context.Context, ws uuid.UUID, q store.WorkPoolQuery) ([]*model.WorkPool, error) {
	where, args := db.poolWhere(ws, q)
	rows, err := db.query(ctx, `SELECT `+poolColumns+` FROM work_pools p WHERE `+where+` ORDER BY p.name, p.id`+page(q.Limit, q.Offset), args...)
	if err != nil {
		return nil, fmt.Errorf("list work pools: %w", err)
	}
	pools, err := collect(rows, scanPool)
	if err != nil {
		return nil, fmt.Errorf("list work pools: %w", err)
	}
	return pools, db.withPoolSlots(ctx, db.read, pools...)
}

// CountWorkPools counts the pools matching q.
func (db *DB) CountWorkPools(ctx context.Context, ws uuid.UUID, q store.WorkPoolQuery) (int, error) {
	where, args := db.poolWhere(ws, q)
	return db.count(ctx, `SELECT COUNT(*) FROM work_pools p WHERE `+where, args...)
}

// UpdateWorkPool applies patch to a pool and saves it, with
// prefect.work-pool.updated when a field Prefect reports changed and a
// status event when its status did.
func (db *DB) UpdateWorkPool(ctx context.Context, ws uuid.UUID, name string, patch func(*model.WorkPool) error) error {
	var o outbox
	err := db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		o = outbox{}
		old, err := db.poolByName(ctx, tx, db.d.forUpdate(), ws, name)
		if err != nil {
			return err
		}
		p := *old
		if err := patch(&p); err != nil {
			return err
		}
		p.ID, p.Name, p.Created, p.DefaultQueueID = old.ID, old.Name, old.Created, old.DefaultQueueID
		if p.BaseJobTemplate == nil {
			p.BaseJobTemplate = map[string]any{}
		}
		switch {
		case p.IsPaused && !old.IsPaused:
			p.Status = model.PoolPaused
		case !p.IsPaused && old.IsPaused:
			online, err := db.onlineWorkers(ctx, tx, p.ID)
			if err != nil {
				return err
			}
			p.Status = model.PoolNotReady
			if online > 0 {
				p.Status = model.PoolReady
			}
		default:
			p.Status = old.Status
		}
		p.Updated = model.At(db.now())
		_, err = tx.ExecContext(ctx, db.d.rebind(`UPDATE work_pools SET description = ?, type = ?, base_job_template = ?, is_paused = ?,
			concurrency_limit = ?, status = ?, storage_configuration = ?, updated = ? WHERE id = ?`),
			p.Description, p.Type, mustJSON(p.BaseJobTemplate), p.IsPaused, p.ConcurrencyLimit, p.Status,
			mustJSON(p.StorageConfiguration), db.d.time(p.Updated), p.ID)
		if err != nil {
			return fmt.Errorf("update work pool: %w", err)
		}
		if changed := orchestration.WorkPoolChanges(old, &p); len(changed) > 0 {
			if err := db.emitPoolEvent(ctx, tx, o, ws, "updated", &p, changed); err != nil {
				return err
			}
		}
		if p.Status != old.Status {
			return db.emit(ctx, tx, o, ws, orchestration.WorkPoolStatusEvent(&p, model.At(db.now())))
		}
		return nil
	})
	if err == nil {
		db.publishAll(o)
	}
	return err
}

// onlineWorkers counts a pool's workers that are ONLINE as of now.
func (db *DB) onlineWorkers(ctx context.Context, q queryer, pool uuid.UUID) (int, error) {
	rows, err := q.QueryContext(ctx, db.d.rebind(`SELECT `+workerColumns+` FROM workers w WHERE w.work_pool_id = ?`), pool)
	if err != nil {
		return 0, fmt.Errorf("read workers: %w", err)
	}
	workers, err := collect(rows, scanWorker(db.now()))
	if err != nil {
		return 0, fmt.Errorf("read workers: %w", err)
	}
	n := 0
	for _, w := range workers {
		if w.Status == model.WorkerOnline {
			n++
		}
	}
	return n, nil
}

// DeleteWorkPool deletes a pool; its queues and workers go by cascade, and
// its deployments lose their queue and so their pool, as Prefect's foreign
// key leaves them.
func (db *DB) DeleteWorkPool(ctx context.Context, ws uuid.UUID, name string) error {
	var o outbox
	err := db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		o = outbox{}
		p, err := db.poolByName(ctx, tx, db.d.forUpdate(), ws, name)
		if err != nil {
			return err
		}
		// Its queues go with it, each with its event, as in Prefect.
		queues, err := db.poolQueues(ctx, tx, p.ID)
		if err != nil {
			return err
		}
		for _, q := range queues {
			if err := db.emitQueueEvent(ctx, tx, o, ws, "deleted", q, p, nil); err != nil {
				return err
			}
		}
		if err := db.emitPoolEvent(ctx, tx, o, ws, "deleted", p, nil); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, db.d.rebind(`UPDATE deployments SET work_queue_id = NULL, work_pool_name = NULL
			WHERE workspace_id = ? AND work_queue_id IN (SELECT id FROM work_queues WHERE work_pool_id = ?)`), ws, p.ID); err != nil {
			return fmt.Errorf("detach deployments: %w", err)
		}
		if err := db.detachQueueRuns(ctx, tx, ws, `IN (SELECT id FROM work_queues WHERE work_pool_id = ?)`, p.ID); err != nil {
			return err
		}
		return db.execOneIn(ctx, tx, "Work pool", `DELETE FROM work_pools WHERE workspace_id = ? AND id = ?`, ws, p.ID)
	})
	if err == nil {
		db.publishAll(o)
	}
	return err
}

// createQueue inserts q into pool p with Prefect's priority rule.
func (db *DB) createQueue(ctx context.Context, tx *sql.Tx, ws uuid.UUID, p *model.WorkPool, q *model.WorkQueue) error {
	queues, err := db.poolQueues(ctx, tx, p.ID)
	if err != nil {
		return err
	}
	wanted := q.Priority
	if wanted <= 0 {
		// The first priority not taken, else one after the last.
		q.Priority = len(queues) + 1
		for i, other := range queues {
			if other.Priority != i+1 {
				q.Priority = i + 1
				break
			}
		}
	}
	now := model.At(db.now())
	q.ID, q.Created, q.Updated, q.WorkPoolID, q.WorkPoolName = uuid.Must(uuid.NewV7()), now, now, p.ID, p.Name
	q.Status = model.QueueNotReady
	if q.IsPaused {
		q.Status = model.QueuePaused
	}
	_, err = tx.ExecContext(ctx, db.d.rebind(`INSERT INTO work_queues (id, workspace_id, work_pool_id, name, description, is_paused,
		concurrency_limit, priority, status, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		q.ID, ws, p.ID, q.Name, q.Description, q.IsPaused, q.ConcurrencyLimit, q.Priority, q.Status, db.d.time(now), db.d.time(now))
	if db.d.isUniqueViolation(err) {
		return apperr.Errorf(apperr.EConflict, "A work queue with this name already exists in work pool %q.", p.Name)
	}
	if err != nil {
		return fmt.Errorf("insert work queue: %w", err)
	}
	if wanted > 0 {
		return db.reprioritize(ctx, tx, p.ID, q.ID, wanted)
	}
	return nil
}

// poolQueues reads a pool's queues by priority inside a write.
func (db *DB) poolQueues(ctx context.Context, q queryer, pool uuid.UUID) ([]*model.WorkQueue, error) {
	rows, err := q.QueryContext(ctx, db.d.rebind(`SELECT `+queueColumns+` FROM work_queues q WHERE q.work_pool_id = ? ORDER BY q.priority, q.id`), pool)
	if err != nil {
		return nil, fmt.Errorf("read work queues: %w", err)
	}
	return collect(rows, scanQueue)
}

// reprioritize gives queue id the priority and keeps the pool's priorities
// distinct with the fewest changes, as Prefect does: the queues at and
// after it that would collide move down by one, in order.
func (db *DB) reprioritize(ctx context.Context, tx *sql.Tx, pool, id uuid.UUID, priority int) error {
	queues, err := db.poolQueues(ctx, tx, pool)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(queues, func(q *model.WorkQueue) bool { return q.ID == id })
	if i < 0 {
		return nil
	}
	moved := queues[i]
	queues = slices.Delete(queues, i, i+1)
	moved.Priority = priority
	at := slices.IndexFunc(queues, func(q *model.WorkQueue) bool { return q.Priority >= priority })
	if at < 0 {
		at = len(queues)
	}
	queues = slices.Insert(queues, at, moved)
	last := 0
	for _, q := range queues {
		want := q.Priority
		if want <= last {
			want = last + 1
		}
		last = want
		if want == q.Priority && q.ID != id {
			continue
		}
		if _, err := tx.ExecContext(ctx, db.d.rebind(`UPDATE work_queues SET priority = ? WHERE id = ?`), want, q.ID); err != nil {
			return fmt.Errorf("set queue priority: %w", err)
		}
	}
	return nil
}

// CreateWorkQueue creates a queue in a pool.
func (db *DB) CreateWorkQueue(ctx context.Context, ws uuid.UUID, pool string, q *model.WorkQueue) error {
	in := *q
	var o outbox
	err := db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		*q, o = in, outbox{}
		p, err := db.poolByName(ctx, tx, db.d.forUpdate(), ws, pool)
		if err != nil {
			return err
		}
		if err := db.createQueue(ctx, tx, ws, p, q); err != nil {
			return err
		}
		return db.emitQueueEvent(ctx, tx, o, ws, "created", q, p, nil)
	})
	if err != nil {
		return err
	}
	db.publishAll(o)
	got, err := db.GetWorkQueue(ctx, ws, q.ID)
	if err == nil {
		*q = *got
	}
	return err
}

// getQueue reads one queue by a condition through q.
func (db *DB) getQueue(ctx context.Context, q queryer, ws uuid.UUID, cond string, args ...any) (*model.WorkQueue, error) {
	wq, err := scanQueue(q.QueryRowContext(ctx, db.d.rebind(`SELECT `+queueColumns+` FROM work_queues q WHERE q.workspace_id = ? AND `+cond),
		append([]any{ws}, args...)...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Work queue")
	}
	if err != nil {
		return nil, fmt.Errorf("read work queue: %w", err)
	}
	return wq, db.withQueueSlots(ctx, q, wq)
}

// GetWorkQueue returns a queue by id.
func (db *DB) GetWorkQueue(ctx context.Context, ws, id uuid.UUID) (*model.WorkQueue, error) {
	return db.getQueue(ctx, db.read, ws, "q.id = ?", id)
}

// GetWorkQueueByName returns a pool's queue by name.
func (db *DB) GetWorkQueueByName(ctx context.Context, ws uuid.UUID, pool, name string) (*model.WorkQueue, error) {
	p, err := db.poolByName(ctx, db.read, "", ws, pool)
	if err != nil {
		return nil, err
	}
	q, err := db.getQueue(ctx, db.read, ws, "q.work_pool_id = ? AND q.name = ?", p.ID, name)
	if apperr.IsNotFound(err) {
		return nil, queueNotFound(pool, name)
	}
	return q, err
}

// ListWorkQueues returns queues by priority.
func (db *DB) ListWorkQueues(ctx context.Context, ws uuid.UUID, q store.WorkQueueQuery) ([]*model.WorkQueue, error) {
	c := newClause(db.d, "")
	c.add("q.workspace_id = ?", ws)
	if q.Pool != "" {
		p, err := db.poolByName(ctx, db.read, "", ws, q.Pool)
		if err != nil {
			return nil, err
		}
		c.add("q.work_pool_id = ?", p.ID)
	}
	if f := q.WorkQueues; f != nil {
		s := newClause(db.d, f.Operator)
		s.id("q.id", f.ID)
		s.name("q.name", f.Name)
		c.sub(s)
	}
	where, args := c.sql()
	rows, err := db.query(ctx, `SELECT `+queueColumns+` FROM work_queues q WHERE `+where+` ORDER BY q.priority, q.name, q.id`+page(q.Limit, q.Offset), args...)
	if err != nil {
		return nil, fmt.Errorf("list work queues: %w", err)
	}
	queues, err := collect(rows, scanQueue)
	if err != nil {
		return nil, fmt.Errorf("list work queues: %w", err)
	}
	return queues, db.withQueueSlots(ctx, db.read, queues...)
}

// UpdateWorkQueue applies patch to a queue and saves it, with
// prefect.work-queue.updated when a field Prefect reports changed and a
// status event when its status did.
func (db *DB) UpdateWorkQueue(ctx context.Context, ws, id uuid.UUID, patch func(*model.WorkQueue) error) error {
	var o outbox
	err := db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		o = outbox{}
		if err := db.lockRows(ctx, tx, "work_queues", "q", ws, "q.id = ?", []any{id}); err != nil {
			return err
		}
		old, err := db.getQueue(ctx, tx, ws, "q.id = ?", id)
		if err != nil {
			return err
		}
		q := *old
		if err := patch(&q); err != nil {
			return err
		}
		q.ID, q.WorkPoolID, q.Created = old.ID, old.WorkPoolID, old.Created
		switch {
		case q.IsPaused && !old.IsPaused:
			q.Status = model.QueuePaused
		case !q.IsPaused && old.IsPaused:
			q.Status = model.QueueNotReady
		default:
			q.Status = old.Status
		}
		q.Updated = model.At(db.now())
		_, err = tx.ExecContext(ctx, db.d.rebind(`UPDATE work_queues SET name = ?, description = ?, is_paused = ?, concurrency_limit = ?,
			status = ?, updated = ? WHERE id = ?`), q.Name, q.Description, q.IsPaused, q.ConcurrencyLimit, q.Status, db.d.time(q.Updated), q.ID)
		if db.d.isUniqueViolation(err) {
			return apperr.Errorf(apperr.EConflict, "A work queue with this name already exists in work pool %q.", old.WorkPoolName)
		}
		if err != nil {
			return fmt.Errorf("update work queue: %w", err)
		}
		if q.Priority != old.Priority {
			if q.Priority < 1 {
				return apperr.Errorf(apperr.EInvalid, "priority must be at least 1")
			}
			if err := db.reprioritize(ctx, tx, q.WorkPoolID, q.ID, q.Priority); err != nil {
				return err
			}
		}
		if changed := orchestration.WorkQueueChanges(old, &q); len(changed) > 0 {
			if err := db.emitQueueEvent(ctx, tx, o, ws, "updated", &q, nil, changed); err != nil {
				return err
			}
		}
		if q.Status != old.Status {
			return db.emitQueueStatus(ctx, tx, o, ws, &q)
		}
		return nil
	})
	if err == nil {
		db.publishAll(o)
	}
	return err
}

// DeleteWorkQueue deletes a queue other than its pool's default, with
// prefect.work-queue.deleted.
func (db *DB) DeleteWorkQueue(ctx context.Context, ws, id uuid.UUID) error {
	var o outbox
	err := db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		o = outbox{}
		var isDefault int
		err := tx.QueryRowContext(ctx, db.d.rebind(`SELECT COUNT(*) FROM work_pools WHERE workspace_id = ? AND default_queue_id = ?`), ws, id).Scan(&isDefault)
		if err != nil {
			return fmt.Errorf("read work pool: %w", err)
		}
		if isDefault > 0 {
			return apperr.Errorf(apperr.EInvalid, "Can't delete a pool's default queue.")
		}
		q, err := db.getQueue(ctx, tx, ws, "q.id = ?", id)
		if err != nil {
			return err
		}
		if err := db.emitQueueEvent(ctx, tx, o, ws, "deleted", q, nil, nil); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, db.d.rebind(`UPDATE deployments SET work_queue_id = NULL WHERE workspace_id = ? AND work_queue_id = ?`), ws, id); err != nil {
			return fmt.Errorf("detach deployments: %w", err)
		}
		if err := db.detachQueueRuns(ctx, tx, ws, `= ?`, id); err != nil {
			return err
		}
		return db.execOneIn(ctx, tx, "Work queue", `DELETE FROM work_queues WHERE workspace_id = ? AND id = ?`, ws, id)
	})
	if err == nil {
		db.publishAll(o)
	}
	return err
}

// detachQueueRuns clears the queue and pool of the runs whose work_queue_id
// matches queues (an SQL comparison of one argument), as Prefect's foreign
// key does when a queue goes: its runs keep their queue's name only. Their
// updated time stays, as it does there. No index holds a queue's finished
// runs, so this reads the workspace's runs: a deletion is rare, and an
// index of every run's queue was what SQLite's planner then took for the
// slot counts, in place of their partial index of active runs.
func (db *DB) detachQueueRuns(ctx context.Context, tx *sql.Tx, ws uuid.UUID, queues string, arg any) error {
	if _, err := tx.ExecContext(ctx, db.d.rebind(`UPDATE flow_runs SET work_queue_id = NULL, work_pool_id = NULL, work_pool_name = NULL
		WHERE workspace_id = ? AND work_queue_id `+queues), ws, arg); err != nil {
		return fmt.Errorf("detach runs: %w", err)
	}
	return nil
}

// WorkerHeartbeat records a worker's heartbeat.
func (db *DB) WorkerHeartbeat(ctx context.Context, ws uuid.UUID, pool, name string, intervalSeconds *int) error {
	var o outbox
	err := db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		o = outbox{}
		p, err := db.poolByName(ctx, tx, "", ws, pool)
		if err != nil {
			return err
		}
		now := db.d.time(model.At(db.now()))
		_, err = tx.ExecContext(ctx, db.d.rebind(`INSERT INTO workers (id, workspace_id, work_pool_id, name, last_heartbeat_time,
			heartbeat_interval_seconds, status, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (work_pool_id, name) DO UPDATE SET last_heartbeat_time = excluded.last_heartbeat_time,
			heartbeat_interval_seconds = COALESCE(excluded.heartbeat_interval_seconds, workers.heartbeat_interval_seconds),
			status = excluded.status, updated = excluded.updated`),
			uuid.Must(uuid.NewV7()), ws, p.ID, name, now, intervalSeconds, model.WorkerOnline, now, now)
		if err != nil {
			return fmt.Errorf("record heartbeat: %w", err)
		}
		if p.Status == model.PoolNotReady {
			changed, err := db.updateReturning(ctx, tx, `UPDATE work_pools SET status = ? WHERE id = ? AND status = ? RETURNING workspace_id, id`,
				model.PoolReady, p.ID, model.PoolNotReady)
			if err != nil {
				return fmt.Errorf("mark pool ready: %w", err)
			}
			return db.poolStatusEvents(ctx, tx, o, changed)
		}
		return nil
	})
	if err == nil {
		db.publishAll(o)
	}
	return err
}

// ListWorkers returns a pool's workers.
func (db *DB) ListWorkers(ctx context.Context, ws uuid.UUID, pool string, q store.WorkerQuery) ([]*model.Worker, error) {
	p, err := db.poolByName(ctx, db.read, "", ws, pool)
	if err != nil {
		return nil, err
	}
	now := db.now()
	c := newClause(db.d, "")
	c.add("w.workspace_id = ?", ws)
	c.add("w.work_pool_id = ?", p.ID)
	var status []string
	var notStatus []string
	if f := q.Workers; f != nil {
		s := newClause(db.d, f.Operator)
		s.time("w.last_heartbeat_time", f.LastHeartbeatTime)
		s.name("w.name", f.Name)
		c.sub(s)
		if f.Status != nil {
			status, notStatus = f.Status.Any, f.Status.NotAny
		}
	}
	where, args := c.sql()
	rows, err := db.query(ctx, `SELECT `+workerColumns+` FROM workers w WHERE `+where+` ORDER BY w.last_heartbeat_time DESC, w.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("list workers: %w", err)
	}
	all, err := collect(rows, scanWorker(now))
	if err != nil {
		return nil, fmt.Errorf("list workers: %w", err)
	}
	// The status is decided at read time, so it filters here; a pool has
	// few workers.
	out := all[:0]
	for _, w := range all {
		if (status == nil || slices.Contains(status, w.Status)) && !slices.Contains(notStatus, w.Status) {
			out = append(out, w)
		}
	}
	offset, limit := max(q.Offset, 0), q.Limit
	if limit <= 0 {
		limit = 200
	}
	if offset >= len(out) {
		return []*model.Worker{}, nil
	}
	return out[offset:min(len(out), offset+limit)], nil
}

// DeleteWorker deletes a pool's worker.
func (db *DB) DeleteWorker(ctx context.Context, ws uuid.UUID, pool, name string) error {
	return db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		p, err := db.poolByName(ctx, tx, "", ws, pool)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, db.d.rebind(`DELETE FROM workers WHERE workspace_id = ? AND work_pool_id = ? AND name = ?`), ws, p.ID, name)
		if err != nil {
			return fmt.Errorf("delete worker: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return apperr.Errorf(apperr.ENotFound, "Worker not found.")
		}
		return nil
	})
}

// PollWorkPool answers a worker's poll with reads on the read pool, in one
// snapshot, so the slots it counts and the runs it hands out agree. Two
// workers may be handed the same run, as on Prefect's server: the PENDING
// transition lets only the first one through. The poll writes only when
// marking it polled changes something (see pollDue), so that polls neither
// take turns at the single writer nor each wait for a commit.
func (db *DB) PollWorkPool(ctx context.Context, ws uuid.UUID, pool string, poll store.WorkPoolPoll) ([]model.WorkerRun, error) {
	var (
		out    []model.WorkerRun
		queues []*model.WorkQueue
		due    bool
	)
	err := db.readTx(ctx, func(tx *sql.Tx) error {
		out = []model.WorkerRun{}
		p, err := db.poolByName(ctx, tx, "", ws, pool)
		if err != nil {
			return err
		}
		all, err := db.poolQueues(ctx, tx, p.ID)
		if err != nil {
			return err
		}
		queues = all
		if len(poll.QueueNames) > 0 {
			queues = nil
			for _, name := range poll.QueueNames {
				i := slices.IndexFunc(all, func(q *model.WorkQueue) bool { return q.Name == name })
				if i < 0 {
					return queueNotFound(pool, name)
				}
				if !slices.Contains(queues, all[i]) {
					queues = append(queues, all[i])
				}
			}
			slices.SortFunc(queues, func(a, b *model.WorkQueue) int { return a.Priority - b.Priority })
		}
		if due, err = db.pollDue(ctx, tx, ws, queues); err != nil {
			return err
		}
		if p.IsPaused {
			return nil
		}
		limit := poll.Limit
		if limit <= 0 {
			limit = 200
		}
		if p.ConcurrencyLimit != nil {
			active, err := db.activeInPool(ctx, tx, p.ID)
			if err != nil {
				return err
			}
			limit = min(limit, max(0, *p.ConcurrencyLimit-active))
		}
		for _, q := range queues {
			if limit <= 0 {
				break
			}
			if q.IsPaused {
				continue
			}
			take := limit
			if q.ConcurrencyLimit != nil {
				active, err := db.activeInQueue(ctx, tx, q.ID)
				if err != nil {
					return err
				}
				take = min(take, max(0, *q.ConcurrencyLimit-active))
			}
			if take == 0 {
				continue
			}
			runs, err := db.queueRuns(ctx, tx, ws, q.ID, poll, take)
			if err != nil {
				return err
			}
			for _, r := range runs {
				out = append(out, model.WorkerRun{WorkPoolID: p.ID, WorkQueueID: q.ID, FlowRun: r})
			}
			limit -= len(runs)
		}
		return nil
	})
	if err == nil && due {
		err = db.markPolledNow(ctx, ws, queues)
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// PollWorkQueue answers the legacy poll of one queue as PollWorkPool
// answers a pool's.
func (db *DB) PollWorkQueue(ctx context.Context, ws, queue uuid.UUID, poll store.WorkPoolPoll, mark bool) ([]*model.FlowRun, error) {
	var (
		out []*model.FlowRun
		q   *model.WorkQueue
		due bool
	)
	err := db.readTx(ctx, func(tx *sql.Tx) error {
		out = []*model.FlowRun{}
		var err error
		if q, err = db.getQueue(ctx, tx, ws, "q.id = ?", queue); err != nil {
			return err
		}
		if mark {
			if due, err = db.pollDue(ctx, tx, ws, []*model.WorkQueue{q}); err != nil {
				return err
			}
		}
		limit := poll.Limit
		if q.ActiveSlots != nil {
			limit = min(limit, max(0, *q.ConcurrencyLimit-*q.ActiveSlots))
		}
		if q.IsPaused || limit <= 0 {
			return nil
		}
		out, err = db.queueRuns(ctx, tx, ws, q.ID, poll, limit)
		return err
	})
	if err == nil && due {
		err = db.markPolledNow(ctx, ws, []*model.WorkQueue{q})
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// queueSlotStates are the states that hold a slot in Prefect's queue
// concurrency view, which counts CANCELLING too.
const queueSlotStates = `('PENDING', 'RUNNING', 'CANCELLING')`

// WorkQueueSlots returns a page of a queue's slot holders and their count.
func (db *DB) WorkQueueSlots(ctx context.Context, ws, queue uuid.UUID, limit, offset int) ([]*model.FlowRun, int, error) {
	where := ` WHERE fr.workspace_id = ? AND fr.work_queue_id = ? AND fr.state_type IN ` + queueSlotStates
	var n int
	if err := db.read.QueryRowContext(ctx, db.d.rebind(`SELECT COUNT(*) FROM flow_runs fr`+where), ws, queue).Scan(&n); err != nil {
		return nil, 0, fmt.Errorf("count queue slot holders: %w", err)
	}
	rows, err := db.read.QueryContext(ctx, db.d.rebind(`SELECT `+flowRunColumns+flowRunFrom+where+` ORDER BY fr.id`+page(limit, offset)), ws, queue)
	if err != nil {
		return nil, 0, fmt.Errorf("read queue slot holders: %w", err)
	}
	runs, err := collect(rows, db.scanFlowRun)
	return runs, n, err
}

// WorkPoolSlots returns a pool's slot holders by queue.
func (db *DB) WorkPoolSlots(ctx context.Context, ws, pool uuid.UUID) (map[uuid.UUID][]*model.FlowRun, error) {
	rows, err := db.read.QueryContext(ctx, db.d.rebind(`SELECT `+flowRunColumns+flowRunFrom+` WHERE fr.workspace_id = ? AND fr.state_type IN `+activeStates+`
		AND fr.work_queue_id IN (SELECT id FROM work_queues WHERE work_pool_id = ?) ORDER BY fr.id`), ws, pool)
	if err != nil {
		return nil, fmt.Errorf("read pool slot holders: %w", err)
	}
	runs, err := collect(rows, db.scanFlowRun)
	if err != nil {
		return nil, err
	}
	out := map[uuid.UUID][]*model.FlowRun{}
	for _, r := range runs {
		if r.WorkQueueID != nil {
			out[*r.WorkQueueID] = append(out[*r.WorkQueueID], r)
		}
	}
	return out, nil
}

// queueRuns reads a queue's runs due in the poll's window, soonest first.
func (db *DB) queueRuns(ctx context.Context, q queryer, ws, queue uuid.UUID, poll store.WorkPoolPoll, limit int) ([]*model.FlowRun, error) {
	query, args := db.queueRunsSQL(ws, queue, poll, limit)
	rows, err := q.QueryContext(ctx, db.d.rebind(query), args...)
	if err != nil {
		return nil, fmt.Errorf("poll work queue: %w", err)
	}
	return collect(rows, db.scanFlowRun)
}

// queueRunsSQL is queueRuns' query, which reads the partial index
// flow_runs_queue_scheduled.
func (db *DB) queueRunsSQL(ws, queue uuid.UUID, poll store.WorkPoolPoll, limit int) (string, []any) {
	c := newClause(db.d, "")
	c.add("fr.work_queue_id = ?", queue)
	c.add("fr.state_type = 'SCHEDULED'")
	c.add("fr.workspace_id = ?", ws)
	retry := db.d.jsonText("fr.empirical_policy", "retry_type")
	c.add("(" + retry + " IS NULL OR " + retry + " <> 'in_process')")
	if poll.Before != nil {
		c.add("fr.next_scheduled_start_time <= ?", db.d.time(model.At(*poll.Before)))
	}
	if poll.After != nil {
		c.add("fr.next_scheduled_start_time >= ?", db.d.time(model.At(*poll.After)))
	}
	where, args := c.sql()
	return `SELECT ` + flowRunColumns + flowRunFrom + ` WHERE ` + where + ` ORDER BY fr.next_scheduled_start_time, fr.id` + page(limit, 0), args
}

// pollMarkEvery is how old a polled queue's or deployment's last_polled
// may be before a poll writes it again. Prefect's worker polls every 10 s,
// so a lone worker's every poll still writes; many workers polling one
// pool (or a benchmark) write once in pollMarkEvery instead of at every
// poll. last_polled is then at most this stale, well inside the 60 s
// without a poll that makes a queue or deployment NOT_READY
// (services.NotReadyAfter) and the queue's health check.
const pollMarkEvery = 5 * time.Second

// pollDue reports, through the poll's read q, whether marking queues
// polled would change something: a queue not READY (and not paused) or a
// deployment of them not READY becomes READY, with its event; a
// last_polled missing or older than pollMarkEvery is renewed.
func (db *DB) pollDue(ctx context.Context, q queryer, ws uuid.UUID, queues []*model.WorkQueue) (bool, error) {
	if len(queues) == 0 {
		return false, nil
	}
	stale := db.now().Add(-pollMarkEvery)
	ids := make([]uuid.UUID, len(queues))
	for i, wq := range queues {
		if (!wq.IsPaused && wq.Status != model.QueueReady) || wq.LastPolled == nil || wq.LastPolled.Before(stale) {
			return true, nil
		}
		ids[i] = wq.ID
	}
	return db.deploymentsPollDue(ctx, q, ws, "work_queue_id", ids)
}

// deploymentsPollDue reports whether a deployment whose column col is one
// of ids is not READY or was last polled more than pollMarkEvery ago.
func (db *DB) deploymentsPollDue(ctx context.Context, q queryer, ws uuid.UUID, col string, ids []uuid.UUID) (bool, error) {
	c := newClause(db.d, "")
	c.add("workspace_id = ?", ws)
	inList(c, col, ids, nil)
	c.add("(status <> ? OR last_polled IS NULL OR last_polled < ?)", model.DeploymentReady, db.d.time(model.At(db.now().Add(-pollMarkEvery))))
	where, args := c.sql()
	var due bool
	if err := q.QueryRowContext(ctx, db.d.rebind(`SELECT EXISTS (SELECT 1 FROM deployments WHERE `+where+`)`), args...).Scan(&due); err != nil {
		return false, fmt.Errorf("read polled deployments: %w", err)
	}
	return due, nil
}

// markPolledNow marks queues polled, in a write of its own.
func (db *DB) markPolledNow(ctx context.Context, ws uuid.UUID, queues []*model.WorkQueue) error {
	var o outbox
	err := db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		o = outbox{}
		return db.markPolled(ctx, tx, o, ws, queues)
	})
	if err == nil {
		db.publishAll(o)
	}
	return err
}

// markPolled marks queues polled now (READY unless paused) and their
// deployments READY, with an event for each that was not READY.
func (db *DB) markPolled(ctx context.Context, tx *sql.Tx, o outbox, ws uuid.UUID, queues []*model.WorkQueue) error {
	if len(queues) == 0 {
		return nil
	}
	ids := make([]uuid.UUID, len(queues))
	for i, q := range queues {
		ids[i] = q.ID
	}
	now := db.d.time(model.At(db.now()))
	c := newClause(db.d, "")
	inList(c, "id", ids, nil)
	where, args := c.sql()
	ready, err := db.updateReturning(ctx, tx, `UPDATE work_queues SET status = ? WHERE is_paused = ? AND status <> ? AND `+where+
		` RETURNING workspace_id, id`, append([]any{model.QueueReady, false, model.QueueReady}, args...)...)
	if err != nil {
		return fmt.Errorf("mark queues ready: %w", err)
	}
	if _, err := tx.ExecContext(ctx, db.d.rebind(`UPDATE work_queues SET last_polled = ? WHERE `+where), append([]any{now}, args...)...); err != nil {
		return fmt.Errorf("mark queues polled: %w", err)
	}
	if err := db.queueStatusEvents(ctx, tx, o, ready); err != nil {
		return err
	}
	c = newClause(db.d, "")
	c.add("workspace_id = ?", ws)
	inList(c, "work_queue_id", ids, nil)
	where, args = c.sql()
	return db.markDeploymentsPolled(ctx, tx, o, now, where, args)
}

// markDeploymentsPolled marks the deployments where selects polled at now
// and READY, with a prefect.deployment.ready event for each that was not.
// Their updated stays: polling is not a change of the deployment.
func (db *DB) markDeploymentsPolled(ctx context.Context, tx *sql.Tx, o outbox, now any, where string, args []any) error {
	ready, err := db.updateReturning(ctx, tx, `UPDATE deployments SET status = ? WHERE status <> ? AND `+where+` RETURNING workspace_id, id`,
		append([]any{model.DeploymentReady, model.DeploymentReady}, args...)...)
	if err != nil {
		return fmt.Errorf("mark deployments ready: %w", err)
	}
	if _, err := tx.ExecContext(ctx, db.d.rebind(`UPDATE deployments SET last_polled = ? WHERE `+where), append([]any{now}, args...)...); err != nil {
		return fmt.Errorf("mark deployments polled: %w", err)
	}
	return db.deploymentStatusEvents(ctx, tx, o, ready)
}

// resolveQueue gives a pooled run or deployment its queue inside a write:
// the queue of *queueName in the pool, created if missing, else the pool's
// default queue. It sets the names and ids; a pool that does not exist is
// not found.
func (db *DB) resolveQueue(ctx context.Context, tx *sql.Tx, ws uuid.UUID, poolName string, queueName **string, queueID, poolID **uuid.UUID) error {
	p, err := db.poolByName(ctx, tx, "", ws, poolName)
	if err != nil {
		return err
	}
	var q *model.WorkQueue
	if *queueName != nil && **queueName != "" {
		q, err = db.getQueue(ctx, tx, ws, "q.work_pool_id = ? AND q.name = ?", p.ID, **queueName)
		if apperr.IsNotFound(err) {
			q = &model.WorkQueue{Name: **queueName}
			err = db.createQueue(ctx, tx, ws, p, q)
		}
	} else {
		q, err = db.getQueue(ctx, tx, ws, "q.id = ?", p.DefaultQueueID)
	}
	if err != nil {
		return err
	}
	*queueName, *queueID = &q.Name, &q.ID
	if poolID != nil {
		*poolID = &p.ID
	}
	return nil
}

// MarkWorkersOffline makes workers whose heartbeats stopped OFFLINE.
func (db *DB) MarkWorkersOffline(ctx context.Context, now time.Time) (int, error) {
	var n int
	err := db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		n = 0
		rows, err := tx.QueryContext(ctx, db.d.rebind(`SELECT `+workerColumns+` FROM workers w WHERE w.status = ?`), model.WorkerOnline)
		if err != nil {
			return fmt.Errorf("read online workers: %w", err)
		}
		workers, err := collect(rows, scanWorker(now))
		if err != nil {
			return fmt.Errorf("read online workers: %w", err)
		}
		for _, w := range workers {
			if w.Status == model.WorkerOnline {
				continue
			}
			if _, err := tx.ExecContext(ctx, db.d.rebind(`UPDATE workers SET status = ? WHERE id = ? AND status = ?`),
				model.WorkerOffline, w.ID, model.WorkerOnline); err != nil {
				return fmt.Errorf("mark worker offline: %w", err)
			}
			n++
		}
		return nil
	})
	return n, err
}

// MarkPoolsNotReady makes READY pools without an online worker NOT_READY,
// with a prefect.work-pool.not-ready event for each.
func (db *DB) MarkPoolsNotReady(ctx context.Context) (int, error) {
	return db.markStatus(ctx, "mark pools not ready", db.poolStatusEvents, `UPDATE work_pools SET status = ? WHERE status = ?
		AND NOT EXISTS (SELECT 1 FROM workers w WHERE w.work_pool_id = work_pools.id AND w.status = ?) RETURNING workspace_id, id`,
		model.PoolNotReady, model.PoolReady, model.WorkerOnline)
}

// MarkQueuesNotReady makes READY queues nothing polled lately NOT_READY,
// with a prefect.work-queue.not-ready event for each.
func (db *DB) MarkQueuesNotReady(ctx context.Context, before time.Time) (int, error) {
	return db.markStatus(ctx, "mark queues not ready", db.queueStatusEvents, `UPDATE work_queues SET status = ?
		WHERE status = ? AND (last_polled IS NULL OR last_polled < ?) RETURNING workspace_id, id`,
		model.QueueNotReady, model.QueueReady, db.d.time(model.At(before)))
}

// markStatus runs one status update across workspaces, which returns the
// rows it changed, and stores their status events in the same transaction;
// it returns how many changed.
func (db *DB) markStatus(ctx context.Context, what string, events func(context.Context, *sql.Tx, outbox, []changedRow) error, q string, args ...any) (int, error) {
	var (
		n int
		o outbox
	)
	err := db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		o = outbox{}
		changed, err := db.updateReturning(ctx, tx, q, args...)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		n = len(changed)
		return events(ctx, tx, o, changed)
	})
	if err != nil {
		return 0, err
	}
	db.publishAll(o)
	return n, nil
}
