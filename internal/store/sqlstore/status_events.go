package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/orchestration"
)

// outbox collects, by workspace, the events a write stored, to publish once
// it commits. A write that may run again starts a fresh one each time.
type outbox map[uuid.UUID][]*model.Event

// emit stores e in tx and keeps it in o for publishing.
func (db *DB) emit(ctx context.Context, tx *sql.Tx, o outbox, ws uuid.UUID, e *model.Event) error {
	if err := db.insertEvent(ctx, tx, ws, e); err != nil {
		return err
	}
	o[ws] = append(o[ws], e)
	return nil
}

// publishAll hands a committed write's events to the publisher.
func (db *DB) publishAll(o outbox) {
	for ws, events := range o {
		db.published(ws, events)
	}
}

// changedRow is a row a status update changed.
type changedRow struct{ ws, id uuid.UUID }

// updateReturning runs an UPDATE that ends in RETURNING workspace_id, id
// and returns the rows it changed. Its WHERE names the old status, so on
// PostgreSQL a concurrent write that changed a row first leaves it out:
// each change is reported once.
func (db *DB) updateReturning(ctx context.Context, tx *sql.Tx, q string, args ...any) ([]changedRow, error) {
	rows, err := tx.QueryContext(ctx, db.d.rebind(q), args...)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(row scanner) (changedRow, error) {
		var c changedRow
		return c, row.Scan(&c.ws, &c.id)
	})
}

// poolStatusEvents emits prefect.work-pool.<status> for pools whose status
// changed.
func (db *DB) poolStatusEvents(ctx context.Context, tx *sql.Tx, o outbox, changed []changedRow) error {
	for _, c := range changed {
		p, err := db.getPool(ctx, tx, "", c.ws, "p.id = ?", c.id)
		if err != nil {
			return fmt.Errorf("read changed work pool: %w", err)
		}
		if err := db.emit(ctx, tx, o, c.ws, orchestration.WorkPoolStatusEvent(p, model.At(db.now()))); err != nil {
			return err
		}
	}
	return nil
}

// queueStatusEvents emits prefect.work-queue.<status> for queues whose
// status changed.
func (db *DB) queueStatusEvents(ctx context.Context, tx *sql.Tx, o outbox, changed []changedRow) error {
	for _, c := range changed {
		q, err := db.getQueue(ctx, tx, c.ws, "q.id = ?", c.id)
		if err != nil {
			return err
		}
		if err := db.emitQueueStatus(ctx, tx, o, c.ws, q); err != nil {
			return err
		}
	}
	return nil
}

// emitQueueStatus emits prefect.work-queue.<status> for q.
func (db *DB) emitQueueStatus(ctx context.Context, tx *sql.Tx, o outbox, ws uuid.UUID, q *model.WorkQueue) error {
	p, err := db.getPool(ctx, tx, "", ws, "p.id = ?", q.WorkPoolID)
	if err != nil {
		return fmt.Errorf("read pool of queue: %w", err)
	}
	return db.emit(ctx, tx, o, ws, orchestration.WorkQueueStatusEvent(q, p, model.At(db.now())))
}

// emitQueueEvent emits prefect.work-queue.<what> (created, updated with
// changed, deleted) for q of pool p, read when nil.
func (db *DB) emitQueueEvent(ctx context.Context, tx *sql.Tx, o outbox, ws uuid.UUID, what string, q *model.WorkQueue, p *model.WorkPool, changed map[string]map[string]any) error {
	if p == nil {
		var err error
		if p, err = db.getPool(ctx, tx, "", ws, "p.id = ?", q.WorkPoolID); err != nil {
			return fmt.Errorf("read pool of queue: %w", err)
		}
	}
	e, err := orchestration.WorkQueueEvent(what, q, p, changed, model.At(db.now()))
	if err != nil {
		return err
	}
	return db.emit(ctx, tx, o, ws, e)
}

// emitPoolEvent emits prefect.work-pool.<what> (created, updated with
// changed, deleted) for p.
func (db *DB) emitPoolEvent(ctx context.Context, tx *sql.Tx, o outbox, ws uuid.UUID, what string, p *model.WorkPool, changed map[string]map[string]any) error {
	e, err := orchestration.WorkPoolEvent(what, p, changed, model.At(db.now()))
	if err != nil {
		return err
	}
	return db.emit(ctx, tx, o, ws, e)
}

// deploymentStatusEvents emits prefect.deployment.<status> for deployments
// whose status changed.
func (db *DB) deploymentStatusEvents(ctx context.Context, tx *sql.Tx, o outbox, changed []changedRow) error {
	for _, c := range changed {
		d, err := db.getDeployment(ctx, tx, "", "d.id = ?", c.ws, c.id)
		if err != nil {
			return err
		}
		e, err := db.deploymentEvent(ctx, tx, c.ws, d, func(flow *model.Flow, queue *model.WorkQueue, pool *model.WorkPool, at model.Time) (*model.Event, error) {
			return orchestration.DeploymentStatusEvent(d, flow, queue, pool, at), nil
		})
		if err != nil {
			return err
		}
		if err := db.emit(ctx, tx, o, c.ws, e); err != nil {
			return err
		}
	}
	return nil
}

// deploymentEvent builds an event about d with build, given what d's
// events name as related, as the transaction reads them.
func (db *DB) deploymentEvent(ctx context.Context, tx *sql.Tx, ws uuid.UUID, d *model.Deployment,
	build func(flow *model.Flow, queue *model.WorkQueue, pool *model.WorkPool, at model.Time) (*model.Event, error)) (*model.Event, error) {
	flow, queue, pool, err := db.deploymentRelations(ctx, tx, ws, d)
	if err != nil {
		return nil, err
	}
	return build(flow, queue, pool, model.At(db.now()))
}

// emitDeploymentSaved emits prefect.deployment.created for a new
// deployment, else prefect.deployment.updated if a field Prefect reports
// changed from old; d is read again as the write left it.
func (db *DB) emitDeploymentSaved(ctx context.Context, tx *sql.Tx, o outbox, ws uuid.UUID, old *model.Deployment, id uuid.UUID) error {
	d, err := db.getDeployment(ctx, tx, "", "d.id = ?", ws, id)
	if err != nil {
		return err
	}
	var changed map[string]map[string]any
	if old != nil {
		if changed = orchestration.DeploymentChanges(old, d); len(changed) == 0 {
			return nil
		}
	}
	e, err := db.deploymentEvent(ctx, tx, ws, d, func(flow *model.Flow, queue *model.WorkQueue, pool *model.WorkPool, at model.Time) (*model.Event, error) {
		if old == nil {
			return orchestration.DeploymentEvent("created", d, flow, queue, pool, nil, at), nil
		}
		return orchestration.DeploymentUpdatedEvent(d, changed, flow, queue, pool, at)
	})
	if err != nil {
		return err
	}
	return db.emit(ctx, tx, o, ws, e)
}

// deploymentRelations reads what a deployment's events name as related:
// its flow, and its work queue and that queue's pool when it has them.
func (db *DB) deploymentRelations(ctx context.Context, tx *sql.Tx, ws uuid.UUID, d *model.Deployment) (*model.Flow, *model.WorkQueue, *model.WorkPool, error) {
	flow, err := db.flowIn(ctx, tx, ws, d.FlowID)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("read flow of deployment: %w", err)
	}
	if d.WorkQueueID == nil {
		return flow, nil, nil, nil
	}
	queue, err := db.getQueue(ctx, tx, ws, "q.id = ?", *d.WorkQueueID)
	if err != nil {
		return nil, nil, nil, err
	}
	pool, err := db.getPool(ctx, tx, "", ws, "p.id = ?", queue.WorkPoolID)
	if errors.Is(err, sql.ErrNoRows) {
		return flow, queue, nil, nil
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("read pool of deployment: %w", err)
	}
	return flow, queue, pool, nil
}
