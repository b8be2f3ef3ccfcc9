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

const deploymentColumns = `d.id, d.flow_id, d.name, d.version, d.version_id, d.version_info, d.branch, d.base, d.root,
	d.description, d.paused, d.status, d.last_polled, d.concurrency_limit, d.concurrency_options, d.job_variables,
	d.parameters, d.parameter_openapi_schema, d.enforce_parameter_schema, d.pull_steps, d.tags, d.labels,
	d.work_pool_name, d.work_queue_name, d.work_queue_id, d.path, d.entrypoint, d.storage_document_id,
	d.infrastructure_document_id, d.created_by, d.updated_by, d.catch_up, d.created, d.updated`

// deploymentSets are the columns a deployment's save writes, in the order
// of deploymentArgs.
const deploymentSets = `version = ?, version_id = ?, version_info = ?, branch = ?, base = ?, root = ?, description = ?,
	paused = ?, status = ?, last_polled = ?, concurrency_limit = ?, concurrency_options = ?, job_variables = ?, parameters = ?,
	parameter_openapi_schema = ?, enforce_parameter_schema = ?, pull_steps = ?, tags = ?, labels = ?, work_pool_name = ?,
	work_queue_name = ?, work_queue_id = ?, path = ?, entrypoint = ?, storage_document_id = ?, infrastructure_document_id = ?,
	created_by = ?, updated_by = ?, catch_up = ?, updated = ?`

func (db *DB) deploymentArgs(d *model.Deployment) []any {
	return []any{d.Version, d.VersionID, nullableObject(d.VersionInfo), d.Branch, d.Base, d.Root, d.Description,
		d.Paused, d.Status, db.timeArg(d.LastPolled), d.ConcurrencyLimit, nullableObject(d.ConcurrencyOptions), mustJSON(d.JobVariables),
		mustJSON(d.Parameters), nullableObject(d.ParameterOpenAPISchema), d.EnforceParameterSchema, mustJSON(d.PullSteps), mustJSON(d.Tags),
		mustJSON(d.Labels), d.WorkPoolName, d.WorkQueueName, d.WorkQueueID, d.Path, d.Entrypoint, d.StorageDocumentID,
		d.InfrastructureDocumentID, mustJSON(d.CreatedBy), mustJSON(d.UpdatedBy), mustJSON(d.CatchUp), db.d.time(d.Updated)}
}

// nullableObject encodes an optional JSON object: nil stays NULL, where
// mustJSON would store an empty object. Prefect's client reads an empty
// version_info or concurrency_options as one missing its required keys.
func nullableObject(m map[string]any) any {
	if m == nil {
		return nil
	}
	return mustJSON(m)
}

func scanDeployment(row scanner) (*model.Deployment, error) {
	var (
		d                        model.Deployment
		lastPolled               nullTime
		created, updated         nullTime
		concurrencyLimit         sql.NullInt64
		paused, enforceParameter bool
	)
	err := row.Scan(&d.ID, &d.FlowID, &d.Name, nullStr{&d.Version}, nullID{&d.VersionID}, jsonCol{&d.VersionInfo}, nullStr{&d.Branch},
		nullID{&d.Base}, nullID{&d.Root}, nullStr{&d.Description}, &paused, &d.Status, &lastPolled, &concurrencyLimit,
		jsonCol{&d.ConcurrencyOptions}, jsonCol{&d.JobVariables}, jsonCol{&d.Parameters}, jsonCol{&d.ParameterOpenAPISchema},
		&enforceParameter, jsonCol{&d.PullSteps}, jsonCol{&d.Tags}, jsonCol{&d.Labels}, nullStr{&d.WorkPoolName},
		nullStr{&d.WorkQueueName}, nullID{&d.WorkQueueID}, nullStr{&d.Path}, nullStr{&d.Entrypoint}, nullID{&d.StorageDocumentID},
		nullID{&d.InfrastructureDocumentID}, jsonCol{&d.CreatedBy}, jsonCol{&d.UpdatedBy}, jsonCol{&d.CatchUp}, &created, &updated)
	if err != nil {
		return nil, err
	}
	d.Paused, d.EnforceParameterSchema = paused, enforceParameter
	if concurrencyLimit.Valid {
		n := int(concurrencyLimit.Int64)
		d.ConcurrencyLimit = &n
	}
	d.LastPolled = lastPolled.ptr()
	d.Created, d.Updated = created.T, updated.T
	normalizeDeployment(&d)
	return &d, nil
}

// normalizeDeployment replaces nil collections with empty ones, as Prefect
// never returns null for them.
func normalizeDeployment(d *model.Deployment) {
	normalizeTagsLabels(&d.Tags, &d.Labels)
	if d.Parameters == nil {
		d.Parameters = map[string]any{}
	}
	if d.JobVariables == nil {
		d.JobVariables = map[string]any{}
	}
	if d.Schedules == nil {
		d.Schedules = []model.DeploymentSchedule{}
	}
	if d.Status == "" {
		d.Status = model.DeploymentNotReady
	}
	if d.CatchUp.Mode == "" {
		d.CatchUp.Mode = model.CatchUpAll
	}
	for i := range d.Schedules {
		if d.Schedules[i].Parameters == nil {
			d.Schedules[i].Parameters = map[string]any{}
		}
	}
}

const scheduleColumns = `s.id, s.deployment_id, s.schedule, s.active, s.max_scheduled_runs, s.parameters, s.slug, s.created, s.updated`

func scanSchedule(row scanner) (model.DeploymentSchedule, error) {
	var (
		s                model.DeploymentSchedule
		created, updated nullTime
		maxRuns          sql.NullInt64
	)
	if err := row.Scan(&s.ID, nullID{&s.DeploymentID}, rawJSON{&s.Schedule}, &s.Active, &maxRuns, jsonCol{&s.Parameters},
		nullStr{&s.Slug}, &created, &updated); err != nil {
		return s, err
	}
	if maxRuns.Valid {
		n := int(maxRuns.Int64)
		s.MaxScheduledRuns = &n
	}
	s.Created, s.Updated = created.T, updated.T
	if s.Parameters == nil {
		s.Parameters = map[string]any{}
	}
	return s, nil
}

// withSchedules reads the schedules of ds, oldest first, in one query.
func (db *DB) withSchedules(ctx context.Context, q queryer, ws uuid.UUID, ds []*model.Deployment) error {
	if len(ds) == 0 {
		return nil
	}
	ids := make([]uuid.UUID, len(ds))
	byID := make(map[uuid.UUID]*model.Deployment, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
		byID[d.ID] = d
		d.Schedules = []model.DeploymentSchedule{}
	}
	c := newClause(db.d, "")
	c.add("s.workspace_id = ?", ws)
	inList(c, "s.deployment_id", ids, nil)
	where, args := c.sql()
	rows, err := q.QueryContext(ctx, db.d.rebind(`SELECT `+scheduleColumns+` FROM deployment_schedules s WHERE `+where+` ORDER BY s.created, s.id`), args...)
	if err != nil {
		return fmt.Errorf("read schedules: %w", err)
	}
	schedules, err := collect(rows, scanSchedule)
	if err != nil {
		return fmt.Errorf("read schedules: %w", err)
	}
	for _, s := range schedules {
		d := byID[*s.DeploymentID]
		d.Schedules = append(d.Schedules, s)
	}
	return nil
}

// getDeployment reads one deployment with its schedules through q; lock is
// the row-lock suffix inside a write.
func (db *DB) getDeployment(ctx context.Context, q queryer, lock, cond string, ws uuid.UUID, args ...any) (*model.Deployment, error) {
	d, err := scanDeployment(q.QueryRowContext(ctx, db.d.rebind(`SELECT `+deploymentColumns+` FROM deployments d WHERE d.workspace_id = ? AND `+cond+lock),
		append([]any{ws}, args...)...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Deployment")
	}
	if err != nil {
		return nil, fmt.Errorf("read deployment: %w", err)
	}
	if err := db.withSchedules(ctx, q, ws, []*model.Deployment{d}); err != nil {
		return nil, err
	}
	return d, db.withDeploymentLimits(ctx, q, ws, []*model.Deployment{d})
}

// GetDeployment returns a deployment with its schedules.
func (db *DB) GetDeployment(ctx context.Context, ws, id uuid.UUID) (*model.Deployment, error) {
	return db.getDeployment(ctx, db.read, "", "d.id = ?", ws, id)
}

// GetDeploymentByName returns the deployment of a flow by their names.
func (db *DB) GetDeploymentByName(ctx context.Context, ws uuid.UUID, flowName, name string) (*model.Deployment, error) {
	return db.getDeployment(ctx, db.read, "", "d.name = ? AND d.flow_id = (SELECT f.id FROM flows f WHERE f.workspace_id = d.workspace_id AND f.name = ?)",
		ws, name, flowName)
}

// UpsertDeployment creates or replaces the deployment of d's flow and name.
func (db *DB) UpsertDeployment(ctx context.Context, ws uuid.UUID, d *model.Deployment, apply func(*model.Deployment) error) (bool, error) {
	var (
		created bool
		in      = *d
		o       outbox
	)
	err := db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		*d, o = in, outbox{}
		var n int
		if err := tx.QueryRowContext(ctx, db.d.rebind(`SELECT COUNT(*) FROM flows WHERE workspace_id = ? AND id = ?`), ws, d.FlowID).Scan(&n); err != nil {
			return fmt.Errorf("read flow: %w", err)
		}
		if n == 0 {
			return notFound("Flow")
		}
		now := model.At(db.now())
		id := uuid.Must(uuid.NewV7())
		res, err := tx.ExecContext(ctx, db.d.rebind(`INSERT INTO deployments (id, workspace_id, flow_id, name, created, updated)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (flow_id, name) DO NOTHING`), id, ws, d.FlowID, d.Name, db.d.time(now), db.d.time(now))
		if err != nil {
			return fmt.Errorf("insert deployment: %w", err)
		}
		inserted, _ := res.RowsAffected()
		created = inserted == 1
		existing, err := db.getDeployment(ctx, tx, db.d.forUpdate(), "d.flow_id = ? AND d.name = ?", ws, d.FlowID, d.Name)
		if err != nil {
			return err
		}
		schedules := slices.Clone(d.Schedules)
		if !created {
			if apply != nil {
				old := *existing
				old.Schedules = slices.Clone(existing.Schedules)
				if err := apply(existing); err != nil {
					return err
				}
				*d = *existing
				existing = &old
			} else {
				// Polling state belongs to the deployment, not its spec.
				d.Status, d.LastPolled, d.CreatedBy = existing.Status, existing.LastPolled, existing.CreatedBy
			}
		}
		d.ID, d.FlowID, d.Name, d.Created = existing.ID, existing.FlowID, existing.Name, existing.Created
		// Prefect replaces every schedule of an upserted deployment.
		for i := range schedules {
			schedules[i].ID = uuid.Nil
		}
		d.Schedules = schedules
		if err := db.saveDeployment(ctx, tx, ws, existing, d); err != nil {
			return err
		}
		if created {
			return db.emitDeploymentSaved(ctx, tx, o, ws, nil, d.ID)
		}
		return db.emitDeploymentSaved(ctx, tx, o, ws, existing, d.ID)
	})
	if err == nil {
		db.publishAll(o)
	}
	return created, err
}

// UpdateDeployment applies patch to a deployment and saves it, with
// prefect.deployment.updated when a field Prefect reports changed.
func (db *DB) UpdateDeployment(ctx context.Context, ws, id uuid.UUID, patch func(*model.Deployment) error) error {
	var o outbox
	err := db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		o = outbox{}
		old, err := db.getDeployment(ctx, tx, db.d.forUpdate(), "d.id = ?", ws, id)
		if err != nil {
			return err
		}
		d, err := db.getDeployment(ctx, tx, "", "d.id = ?", ws, id)
		if err != nil {
			return err
		}
		if err := patch(d); err != nil {
			return err
		}
		d.ID, d.FlowID, d.Name, d.Created = old.ID, old.FlowID, old.Name, old.Created
		if err := db.saveDeployment(ctx, tx, ws, old, d); err != nil {
			return err
		}
		return db.emitDeploymentSaved(ctx, tx, o, ws, old, d.ID)
	})
	if err == nil {
		db.publishAll(o)
	}
	return err
}

// saveDeployment writes d over old (the row as the transaction read it):
// its columns, its schedules, and the removal of the auto-scheduled runs
// that no longer apply.
func (db *DB) saveDeployment(ctx context.Context, tx *sql.Tx, ws uuid.UUID, old, d *model.Deployment) error {
	now := model.At(db.now())
	d.Updated = now
	normalizeDeployment(d)
	if err := db.deploymentQueue(ctx, tx, ws, old, d); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, db.d.rebind(`UPDATE deployments SET `+deploymentSets+` WHERE workspace_id = ? AND id = ?`),
		append(db.deploymentArgs(d), ws, d.ID)...); err != nil {
		return fmt.Errorf("update deployment: %w", err)
	}
	if err := db.saveSchedules(ctx, tx, ws, old, d, now); err != nil {
		return err
	}
	if err := db.syncDeploymentLimit(ctx, tx, ws, d); err != nil {
		return err
	}
	// Pausing removes every waiting auto-scheduled run, as Prefect's
	// pause does; any other change only those still in the future.
	var after *model.Time
	if !d.Paused || old.Paused {
		after = &now
	}
	return db.deleteAutoScheduled(ctx, tx, ws, d.ID, after)
}

// deploymentQueue resolves the work queue of a pooled deployment whose
// pool or queue changed, or that has none: the named queue of its pool
// (created if missing) or the pool's default. A deployment without a pool
// has no queue id.
func (db *DB) deploymentQueue(ctx context.Context, tx *sql.Tx, ws uuid.UUID, old, d *model.Deployment) error {
	if d.WorkPoolName == nil || *d.WorkPoolName == "" {
		d.WorkQueueID = nil
		return nil
	}
	same := func(a, b *string) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
	if d.WorkQueueID != nil && old.WorkQueueID != nil && *d.WorkQueueID == *old.WorkQueueID &&
		same(d.WorkPoolName, old.WorkPoolName) && same(d.WorkQueueName, old.WorkQueueName) {
		return nil
	}
	return db.resolveQueue(ctx, tx, ws, *d.WorkPoolName, &d.WorkQueueName, &d.WorkQueueID, nil)
}

// saveSchedules makes d's schedules the deployment's: a schedule with a
// nil id is inserted, one old had that d lacks is deleted, the others are
// updated.
func (db *DB) saveSchedules(ctx context.Context, tx *sql.Tx, ws uuid.UUID, old, d *model.Deployment, now model.Time) error {
	keep := map[uuid.UUID]bool{}
	for _, s := range d.Schedules {
		keep[s.ID] = true
	}
	for _, s := range old.Schedules {
		if keep[s.ID] {
			continue
		}
		if _, err := tx.ExecContext(ctx, db.d.rebind(`DELETE FROM deployment_schedules WHERE workspace_id = ? AND id = ?`), ws, s.ID); err != nil {
			return fmt.Errorf("delete schedule: %w", err)
		}
	}
	for i := range d.Schedules {
		s := &d.Schedules[i]
		s.DeploymentID = &d.ID
		s.Updated = now
		if s.Parameters == nil {
			s.Parameters = map[string]any{}
		}
		var err error
		if s.ID == uuid.Nil {
			s.ID, s.Created = uuid.Must(uuid.NewV7()), now
			// Creation order is the schedules' order: a microsecond
			// apart, so one upsert's schedules keep the order given.
			s.Created = model.At(now.Add(time.Duration(i) * time.Microsecond))
			_, err = tx.ExecContext(ctx, db.d.rebind(`INSERT INTO deployment_schedules (id, workspace_id, deployment_id, schedule, active,
				max_scheduled_runs, parameters, slug, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
				s.ID, ws, d.ID, string(s.Schedule), s.Active, s.MaxScheduledRuns, mustJSON(s.Parameters), s.Slug,
				db.d.time(s.Created), db.d.time(now))
		} else {
			_, err = tx.ExecContext(ctx, db.d.rebind(`UPDATE deployment_schedules SET schedule = ?, active = ?, max_scheduled_runs = ?,
				parameters = ?, slug = ?, updated = ? WHERE workspace_id = ? AND deployment_id = ? AND id = ?`),
				string(s.Schedule), s.Active, s.MaxScheduledRuns, mustJSON(s.Parameters), s.Slug, db.d.time(now), ws, d.ID, s.ID)
		}
		if db.d.isUniqueViolation(err) {
			return apperr.Errorf(apperr.EConflict, "Schedule slugs must be unique within a deployment.")
		}
		if err != nil {
			return fmt.Errorf("save schedule: %w", err)
		}
	}
	return nil
}

// deleteAutoScheduled deletes a deployment's auto-scheduled runs that
// never ran and still wait (AwaitingConcurrencySlot aside), those due
// after after only when it is set. Their states go by cascade.
func (db *DB) deleteAutoScheduled(ctx context.Context, tx *sql.Tx, ws, deploymentID uuid.UUID, after *model.Time) error {
	q := `DELETE FROM flow_runs WHERE workspace_id = ? AND deployment_id = ? AND state_type = 'SCHEDULED'
		AND auto_scheduled = ? AND run_count = 0 AND state_name <> 'AwaitingConcurrencySlot'`
	args := []any{ws, deploymentID, true}
	if after != nil {
		q += ` AND next_scheduled_start_time > ?`
		args = append(args, db.d.time(*after))
	}
	if _, err := tx.ExecContext(ctx, db.d.rebind(q), args...); err != nil {
		return fmt.Errorf("delete scheduled runs: %w", err)
	}
	return nil
}

// DeleteDeployments deletes deployments with their schedules and their
// waiting auto-scheduled runs, with a prefect.deployment.deleted event for
// each, built before it goes.
func (db *DB) DeleteDeployments(ctx context.Context, ws uuid.UUID, ids []uuid.UUID) ([]uuid.UUID, error) {
	// By id, so a write that runs again replaces what it built before.
	events := map[uuid.UUID]*model.Event{}
	deleted, err := db.deleteEach(ctx, ids, func(ctx context.Context, tx *sql.Tx, id uuid.UUID) error {
		d, err := db.getDeployment(ctx, tx, db.d.forUpdate(), "d.id = ?", ws, id)
		if err != nil {
			return err
		}
		e, err := db.deploymentEvent(ctx, tx, ws, d, func(flow *model.Flow, queue *model.WorkQueue, pool *model.WorkPool, at model.Time) (*model.Event, error) {
			return orchestration.DeploymentEvent("deleted", d, flow, queue, pool, nil, at), nil
		})
		if err != nil {
			return err
		}
		if err := db.insertEvent(ctx, tx, ws, e); err != nil {
			return err
		}
		events[id] = e
		if err := db.deleteAutoScheduled(ctx, tx, ws, id, nil); err != nil {
			return err
		}
		l, err := db.lockDeploymentLimit(ctx, tx, ws, id)
		if err != nil {
			return err
		}
		if l != nil {
			if err := db.deleteLimit(ctx, tx, ws, l.ID, db.now()); err != nil {
				return err
			}
		}
		return db.execOneIn(ctx, tx, "Deployment", `DELETE FROM deployments WHERE workspace_id = ? AND id = ?`, ws, id)
	})
	if err != nil {
		return nil, err
	}
	published := make([]*model.Event, 0, len(deleted))
	for _, id := range deleted {
		published = append(published, events[id])
	}
	db.published(ws, published)
	return deleted, nil
}

var deploymentSorts = map[string]string{
	"":                    "d.name ASC, d.id",
	store.SortNameAsc:     "d.name ASC, d.id",
	store.SortNameDesc:    "d.name DESC, d.id",
	store.SortCreatedDesc: "d.created DESC, d.id DESC",
	store.SortUpdatedDesc: "d.updated DESC, d.id DESC",
}

// deploymentFilter adds f's conditions on the deployments aliased a to c.
func (db *DB) deploymentFilter(c *clause, a string, f *store.DeploymentFilter) {
	if f == nil {
		return
	}
	s := newClause(db.d, f.Operator)
	s.id(a+".id", f.ID)
	s.name(a+".name", f.Name)
	if f.FlowOrDeploymentName != nil && f.FlowOrDeploymentName.Like != nil {
		pattern := "%" + *f.FlowOrDeploymentName.Like + "%"
		s.add("("+a+".name "+db.d.like()+" ? OR EXISTS (SELECT 1 FROM flows fn WHERE fn.workspace_id = "+a+".workspace_id AND fn.id = "+a+".flow_id AND fn.name "+db.d.like()+" ?))",
			pattern, pattern)
	}
	if f.Paused != nil && f.Paused.Eq != nil {
		s.add(a+".paused = ?", *f.Paused.Eq)
	}
	s.tags(a+".tags", f.Tags)
	s.name(a+".work_queue_name", f.WorkQueueName)
	if l := f.ConcurrencyLimit; l != nil {
		if l.GE != nil {
			s.add(a+".concurrency_limit >= ?", *l.GE)
		}
		if l.LE != nil {
			s.add(a+".concurrency_limit <= ?", *l.LE)
		}
		s.isNull(a+".concurrency_limit", l.IsNull)
	}
	c.sub(s)
}

func (db *DB) deploymentWhere(ws uuid.UUID, q store.DeploymentQuery) (string, []any) {
	c := newClause(db.d, "")
	c.add("d.workspace_id = ?", ws)
	db.deploymentFilter(c, "d", q.Deployments)
	if q.Flows != nil {
		c.exists("flows f", "f.workspace_id = d.workspace_id AND f.id = d.flow_id", func(sub *clause) { db.flowFilter(sub, "f", q.Flows) })
	}
	if q.FlowRuns != nil || q.TaskRuns != nil {
		c.exists("flow_runs fr", "fr.workspace_id = d.workspace_id AND fr.deployment_id = d.id", func(sub *clause) {
			db.flowRunFilter(sub, ws, "fr", q.FlowRuns)
			if q.TaskRuns != nil {
				sub.exists("task_runs tr", "tr.workspace_id = fr.workspace_id AND tr.flow_run_id = fr.id", func(tr *clause) { db.taskRunFilter(tr, "tr", q.TaskRuns) })
			}
		})
	}
	if q.WorkPools != nil {
		c.exists("work_pools wp", "wp.workspace_id = d.workspace_id AND wp.name = d.work_pool_name", func(sub *clause) { db.poolFilter(sub, "wp", q.WorkPools) })
	}
	return c.sql()
}

// ListDeployments returns the deployments matching q, with their schedules.
func (db *DB) ListDeployments(ctx context.Context, ws uuid.UUID, q store.DeploymentQuery) ([]*model.Deployment, error) {
	order, ok := deploymentSorts[q.Sort]
	if !ok {
		return nil, apperr.Errorf(apperr.EInvalid, "invalid sort %q", q.Sort)
	}
	where, args := db.deploymentWhere(ws, q)
	rows, err := db.query(ctx, `SELECT `+deploymentColumns+` FROM deployments d WHERE `+where+` ORDER BY `+order+page(q.Limit, q.Offset), args...)
	if err != nil {
		return nil, fmt.Errorf("list deployments: %w", err)
	}
	ds, err := collect(rows, scanDeployment)
	if err != nil {
		return nil, fmt.Errorf("list deployments: %w", err)
	}
	if err := db.withSchedules(ctx, db.read, ws, ds); err != nil {
		return nil, err
	}
	return ds, db.withDeploymentLimits(ctx, db.read, ws, ds)
}

// CountDeployments counts the deployments matching q.
func (db *DB) CountDeployments(ctx context.Context, ws uuid.UUID, q store.DeploymentQuery) (int, error) {
	where, args := db.deploymentWhere(ws, q)
	return db.count(ctx, `SELECT COUNT(*) FROM deployments d WHERE `+where, args...)
}

// PollDeployments answers a runner's poll and marks its deployments READY,
// writing only when that changes something, as a worker's poll does (see
// pollMarkEvery): a deployment not READY, or a last_polled gone stale.
func (db *DB) PollDeployments(ctx context.Context, ws uuid.UUID, ids []uuid.UUID, before time.Time, limit int) ([]*model.FlowRun, error) {
	if len(ids) == 0 {
		return []*model.FlowRun{}, nil
	}
	due, err := db.deploymentsPollDue(ctx, db.read, ws, "id", ids)
	if err != nil {
		return nil, err
	}
	if due {
		now := model.At(db.now())
		var o outbox
		err := db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			o = outbox{}
			c := newClause(db.d, "")
			c.add("workspace_id = ?", ws)
			inList(c, "id", ids, nil)
			where, args := c.sql()
			return db.markDeploymentsPolled(ctx, tx, o, db.d.time(now), where, args)
		})
		if err != nil {
			return nil, err
		}
		db.publishAll(o)
	}
	c := newClause(db.d, "")
	c.add("fr.workspace_id = ?", ws)
	inList(c, "fr.deployment_id", ids, nil)
	c.add("fr.state_type = 'SCHEDULED'")
	c.add("fr.next_scheduled_start_time <= ?", db.d.time(model.At(before)))
	where, args := c.sql()
	rows, err := db.query(ctx, `SELECT `+flowRunColumns+flowRunFrom+` WHERE `+where+
		` ORDER BY fr.next_scheduled_start_time, fr.id`+page(limit, 0), args...)
	if err != nil {
		return nil, fmt.Errorf("poll deployments: %w", err)
	}
	return collect(rows, db.scanFlowRun)
}
