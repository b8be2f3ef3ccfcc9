package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/automations"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

// EvaluateQueuedEvents takes the oldest queued events and hands each
// workspace's to fn with its enabled automations, in one transaction that
// also takes them off the queue.
func (db *DB) EvaluateQueuedEvents(ctx context.Context, limit int, fn store.EvaluateFunc) (int, error) {
	// Most passes find nothing: look without a write transaction first.
	var one int
	switch err := db.read.QueryRowContext(ctx, `SELECT 1 FROM automation_event_queue LIMIT 1`).Scan(&one); {
	case errors.Is(err, sql.ErrNoRows):
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("look at the automations' queue: %w", err)
	}
	var (
		taken   int
		emitted map[uuid.UUID][]*model.Event
	)
	err := db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		taken, emitted = 0, map[uuid.UUID][]*model.Event{}
		rows, err := tx.QueryContext(ctx, db.d.rebind(`SELECT q.seq, q.workspace_id, e.id, e.occurred, e.event, e.resource, e.related, e.payload, e.follows, e.received
			FROM automation_event_queue q LEFT JOIN events e ON e.workspace_id = q.workspace_id AND e.id = q.event_id
			ORDER BY q.seq LIMIT ?`), limit)
		if err != nil {
			return fmt.Errorf("read queued events: %w", err)
		}
		var (
			last   int64
			order  []uuid.UUID
			byWS   = map[uuid.UUID][]*model.Event{}
			gotAny bool
		)
		for rows.Next() {
			var (
				seq                int64
				ws                 uuid.UUID
				id                 *uuid.UUID
				e                  model.Event
				occurred, received nullTime
				name               *string
			)
			if err := rows.Scan(&seq, &ws, nullID{&id}, &occurred, &name, jsonCol{&e.Resource}, jsonCol{&e.Related}, rawJSON{&e.Payload}, nullID{&e.Follows}, &received); err != nil {
				rows.Close()
				return fmt.Errorf("read queued event: %w", err)
			}
			last, gotAny = seq, true
			taken++
			if id == nil { // deleted by retention before its turn
				continue
			}
			e.ID, e.Event, e.Occurred, e.Received = *id, *name, occurred.T, received.T
			if e.Related == nil {
				e.Related = []model.Resource{}
			}
			if _, ok := byWS[ws]; !ok {
				order = append(order, ws)
			}
			byWS[ws] = append(byWS[ws], &e)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read queued events: %w", err)
		}
		rows.Close()
		if !gotAny {
			return nil
		}
		for _, ws := range order {
			list, err := db.enabledAutomations(ctx, tx, ws)
			if err != nil {
				return err
			}
			v := &automationTx{db: db, tx: tx, ws: ws}
			if err := fn(ctx, ws, list, v, byWS[ws]); err != nil {
				return err
			}
			emitted[ws] = v.emitted
		}
		if _, err := tx.ExecContext(ctx, db.d.rebind(`DELETE FROM automation_event_queue WHERE seq <= ?`), last); err != nil {
			return fmt.Errorf("take events off the queue: %w", err)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for ws, events := range emitted {
		db.published(ws, events)
	}
	return taken, nil
}

// EvaluateProactive calls fn, in one transaction per workspace, with each
// workspace's enabled automations that have a proactive trigger.
func (db *DB) EvaluateProactive(ctx context.Context, fn store.ProactiveFunc) error {
	rows, err := db.query(ctx, `SELECT a.workspace_id, `+automationColumns+` FROM automations a WHERE a.enabled = ? ORDER BY a.workspace_id, a.id`, true)
	if err != nil {
		return fmt.Errorf("list automations: %w", err)
	}
	byWS := map[uuid.UUID][]*model.Automation{}
	var order []uuid.UUID
	for rows.Next() {
		var ws uuid.UUID
		a, err := scanAutomation(prefixScanner{rows, &ws})
		if err != nil {
			rows.Close()
			return fmt.Errorf("read automation: %w", err)
		}
		if !slices.ContainsFunc(a.Trigger.All(), func(t *model.Trigger) bool { return t.Posture == model.PostureProactive }) {
			continue
		}
		if _, ok := byWS[ws]; !ok {
			order = append(order, ws)
		}
		byWS[ws] = append(byWS[ws], a)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list automations: %w", err)
	}
	rows.Close()
	for _, ws := range order {
		var v *automationTx
		err := db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			v = &automationTx{db: db, tx: tx, ws: ws}
			// Read again inside: one may have changed or gone since.
			list, err := db.enabledAutomations(ctx, tx, ws)
			if err != nil {
				return err
			}
			list = slices.DeleteFunc(list, func(a *model.Automation) bool {
				return !slices.ContainsFunc(byWS[ws], func(b *model.Automation) bool { return b.ID == a.ID })
			})
			return fn(ctx, ws, list, v)
		})
		if err != nil {
			return err
		}
		db.published(ws, v.emitted)
	}
	return nil
}

// prefixScanner scans a leading column into dst, then the rest with row.
type prefixScanner struct {
	row scanner
	dst any
}

func (p prefixScanner) Scan(dest ...any) error { return p.row.Scan(append([]any{p.dst}, dest...)...) }

func (db *DB) enabledAutomations(ctx context.Context, tx *sql.Tx, ws uuid.UUID) ([]*model.Automation, error) {
	rows, err := tx.QueryContext(ctx, db.d.rebind(`SELECT `+automationColumns+` FROM automations a WHERE a.workspace_id = ? AND a.enabled = ? ORDER BY a.id`), ws, true)
	if err != nil {
		return nil, fmt.Errorf("list enabled automations: %w", err)
	}
	return collect(rows, scanAutomation)
}

// automationTx is automations.Tx over one transaction of a workspace.
type automationTx struct {
	db      *DB
	tx      *sql.Tx
	ws      uuid.UUID
	emitted []*model.Event
	stmts   map[string]*sql.Stmt
}

// stmt prepares q once per transaction: the evaluator runs the same few
// statements for every event and trigger, and parsing them again each
// time cost SQLite more than running them.
func (v *automationTx) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if s, ok := v.stmts[q]; ok {
		return s, nil
	}
	s, err := v.tx.PrepareContext(ctx, v.db.d.rebind(q))
	if err != nil {
		return nil, err
	}
	if v.stmts == nil {
		v.stmts = map[string]*sql.Stmt{}
	}
	v.stmts[q] = s
	return s, nil
}

func (v *automationTx) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	s, err := v.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(ctx, args...)
}

// bucketRow reads the bucket q returns, nil for none.
func (v *automationTx) bucketRow(ctx context.Context, q string, args ...any) (*automations.Bucket, error) {
	s, err := v.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	b, err := scanBucket(s.QueryRowContext(ctx, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return b, err
}

const bucketColumns = `automation_id, trigger_id, bucketing_key, start_time, end_time, count, last_event`

// bucketWindow is a bucket without its last event, which only proactive
// firings read (from Buckets): the reactive path's reads skip decoding it.
const bucketWindow = `automation_id, trigger_id, bucketing_key, start_time, end_time, count, NULL`

func scanBucket(row scanner) (*automations.Bucket, error) {
	var (
		b          automations.Bucket
		start, end nullTime
	)
	if err := row.Scan(&b.AutomationID, &b.TriggerID, jsonCol{&b.Key}, &start, &end, &b.Count, jsonCol{&b.LastEvent}); err != nil {
		return nil, err
	}
	b.Start, b.End = start.T.Time, end.T.Time
	if b.Key == nil {
		b.Key = []string{}
	}
	return &b, nil
}

func bucketKey(key []string) any { return mustJSON(key) }

func (v *automationTx) Bucket(ctx context.Context, trigger uuid.UUID, key []string) (*automations.Bucket, error) {
	b, err := v.bucketRow(ctx, `SELECT `+bucketWindow+` FROM automation_buckets WHERE workspace_id = ? AND trigger_id = ? AND bucketing_key = ?`,
		v.ws, trigger, bucketKey(key))
	if err != nil {
		return nil, fmt.Errorf("read bucket: %w", err)
	}
	return b, nil
}

func (v *automationTx) Buckets(ctx context.Context, trigger uuid.UUID) ([]*automations.Bucket, error) {
	rows, err := v.tx.QueryContext(ctx, v.db.d.rebind(`SELECT `+bucketColumns+` FROM automation_buckets WHERE workspace_id = ? AND trigger_id = ?
		ORDER BY start_time`), v.ws, trigger)
	if err != nil {
		return nil, fmt.Errorf("read buckets: %w", err)
	}
	return collect(rows, scanBucket)
}

func (v *automationTx) EnsureBucket(ctx context.Context, b *automations.Bucket) (*automations.Bucket, error) {
	set := `count = automation_buckets.count`
	if b.LastEvent != nil {
		set = `last_event = excluded.last_event`
	}
	got, err := v.bucketRow(ctx, `INSERT INTO automation_buckets (workspace_id, `+bucketColumns+`, updated)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (automation_id, trigger_id, bucketing_key) DO UPDATE SET `+set+` RETURNING `+bucketWindow,
		v.ws, b.AutomationID, b.TriggerID, bucketKey(b.Key), v.db.d.time(model.At(b.Start)), v.db.d.time(model.At(b.End)), b.Count,
		mustJSON(b.LastEvent), v.db.d.time(model.At(v.db.now())))
	if err == nil && got == nil {
		err = errors.New("no bucket returned")
	}
	if err != nil {
		return nil, fmt.Errorf("ensure bucket: %w", err)
	}
	return got, nil
}

func (v *automationTx) StartBucket(ctx context.Context, b *automations.Bucket) error {
	if _, err := v.exec(ctx, `INSERT INTO automation_buckets (workspace_id, `+bucketColumns+`, updated)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (automation_id, trigger_id, bucketing_key) DO UPDATE SET
		start_time = excluded.start_time, end_time = excluded.end_time, count = excluded.count, last_event = excluded.last_event, updated = excluded.updated`,
		v.ws, b.AutomationID, b.TriggerID, bucketKey(b.Key), v.db.d.time(model.At(b.Start)), v.db.d.time(model.At(b.End)), b.Count,
		mustJSON(b.LastEvent), v.db.d.time(model.At(v.db.now()))); err != nil {
		return fmt.Errorf("start bucket: %w", err)
	}
	return nil
}

func (v *automationTx) IncrementBucket(ctx context.Context, b *automations.Bucket, n int, last *model.Event) (*automations.Bucket, error) {
	// COALESCE keeps the stored last event when none is given.
	got, err := v.bucketRow(ctx, `UPDATE automation_buckets SET count = count + ?, updated = ?, last_event = COALESCE(?, last_event)
		WHERE workspace_id = ? AND trigger_id = ? AND bucketing_key = ? RETURNING `+bucketWindow,
		n, v.db.d.time(model.At(v.db.now())), mustJSON(last), v.ws, b.TriggerID, bucketKey(b.Key))
	if err == nil && got == nil {
		err = errors.New("the bucket is gone")
	}
	if err != nil {
		return nil, fmt.Errorf("increment bucket: %w", err)
	}
	return got, nil
}

func (v *automationTx) RemoveBucket(ctx context.Context, b *automations.Bucket) error {
	if _, err := v.exec(ctx, `DELETE FROM automation_buckets WHERE workspace_id = ? AND trigger_id = ? AND bucketing_key = ?`,
		v.ws, b.TriggerID, bucketKey(b.Key)); err != nil {
		return fmt.Errorf("remove bucket: %w", err)
	}
	return nil
}

func (v *automationTx) RemoveBucketsReaching(ctx context.Context, trigger uuid.UUID, n int) error {
	if _, err := v.tx.ExecContext(ctx, v.db.d.rebind(`DELETE FROM automation_buckets WHERE workspace_id = ? AND trigger_id = ? AND count >= ?`),
		v.ws, trigger, n); err != nil {
		return fmt.Errorf("remove full buckets: %w", err)
	}
	return nil
}

func (v *automationTx) ChildFirings(ctx context.Context, parent uuid.UUID) ([]*automations.Firing, error) {
	rows, err := v.tx.QueryContext(ctx, v.db.d.rebind(`SELECT child_firing FROM automation_child_firings WHERE workspace_id = ? AND parent_trigger_id = ?
		ORDER BY child_fired_at`), v.ws, parent)
	if err != nil {
		return nil, fmt.Errorf("read child firings: %w", err)
	}
	return collect(rows, func(row scanner) (*automations.Firing, error) {
		var f automations.Firing
		return &f, row.Scan(jsonCol{&f})
	})
}

func (v *automationTx) SaveChildFiring(ctx context.Context, automation, parent uuid.UUID, f *automations.Firing) error {
	if _, err := v.tx.ExecContext(ctx, v.db.d.rebind(`INSERT INTO automation_child_firings (workspace_id, automation_id, parent_trigger_id, child_trigger_id,
		child_firing_id, child_fired_at, child_firing) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (automation_id, parent_trigger_id, child_trigger_id) DO UPDATE SET
		child_firing_id = excluded.child_firing_id, child_fired_at = excluded.child_fired_at, child_firing = excluded.child_firing`),
		v.ws, automation, parent, f.TriggerID, f.ID, v.db.d.time(model.At(f.Triggered)), mustJSON(f)); err != nil {
		return fmt.Errorf("save child firing: %w", err)
	}
	return nil
}

func (v *automationTx) ClearChildFirings(ctx context.Context, parent uuid.UUID, ids []uuid.UUID) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	args := append([]any{v.ws, parent}, toArgs(ids)...)
	res, err := v.tx.ExecContext(ctx, v.db.d.rebind(`DELETE FROM automation_child_firings WHERE workspace_id = ? AND parent_trigger_id = ?
		AND child_firing_id IN (`+placeholders(len(ids))+`)`), args...)
	if err != nil {
		return 0, fmt.Errorf("clear child firings: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

func (v *automationTx) ClearChildFiringsBefore(ctx context.Context, parent uuid.UUID, t time.Time) error {
	if _, err := v.tx.ExecContext(ctx, v.db.d.rebind(`DELETE FROM automation_child_firings WHERE workspace_id = ? AND parent_trigger_id = ? AND child_fired_at < ?`),
		v.ws, parent, v.db.d.time(model.At(t))); err != nil {
		return fmt.Errorf("clear old child firings: %w", err)
	}
	return nil
}

func (v *automationTx) Emit(ctx context.Context, e *model.Event) error {
	if err := v.db.insertEvent(ctx, v.tx, v.ws, e); err != nil {
		return err
	}
	v.emitted = append(v.emitted, e)
	return nil
}

func (v *automationTx) QueueActions(ctx context.Context, actions []*model.TriggeredAction) error {
	for _, a := range actions {
		if err := v.db.insertTriggeredAction(ctx, v.tx, v.ws, a); err != nil {
			return err
		}
	}
	return nil
}

func (db *DB) insertTriggeredAction(ctx context.Context, tx *sql.Tx, ws uuid.UUID, a *model.TriggeredAction) error {
	if _, err := tx.ExecContext(ctx, db.d.rebind(`INSERT INTO automation_actions (id, workspace_id, automation_id, action_index, action, triggered,
		triggering_labels, triggering_event, triggered_event_id, state, attempts, next_attempt) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		a.ID, ws, a.AutomationID, a.Index, mustJSON(a.Action), db.d.time(a.Triggered), mustJSON(a.TriggeringLabels), mustJSON(a.TriggeringEvent),
		a.TriggeredEventID, a.State, a.Attempts, db.timeArg(a.NextAttempt)); err != nil {
		return fmt.Errorf("queue triggered action: %w", err)
	}
	return nil
}

// DueActions returns the pending actions whose next attempt is due, of
// every workspace, oldest first.
func (db *DB) DueActions(ctx context.Context, now time.Time, limit int) ([]store.WorkspaceAction, error) {
	rows, err := db.query(ctx, `SELECT t.workspace_id, `+triggeredActionColumns+` FROM automation_actions t
		WHERE t.state = ? AND t.next_attempt <= ? ORDER BY t.next_attempt, t.id`+page(limit, 0), model.ActionPending, db.d.time(model.At(now)))
	if err != nil {
		return nil, fmt.Errorf("list due actions: %w", err)
	}
	return collect(rows, func(row scanner) (store.WorkspaceAction, error) {
		var wa store.WorkspaceAction
		a, err := scanTriggeredAction(prefixScanner{row, &wa.Workspace})
		wa.Action = a
		return wa, err
	})
}

// RecordAction saves what an attempt of a pending action did (its state,
// attempts, next attempt, error and result) and stores the events it
// emitted, in one transaction; an action no longer pending is left alone
// and reported false.
func (db *DB) RecordAction(ctx context.Context, ws uuid.UUID, a *model.TriggeredAction, events []*model.Event) (bool, error) {
	var recorded bool
	err := db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, db.d.rebind(`UPDATE automation_actions SET state = ?, attempts = ?, next_attempt = ?, last_error = ?, finished = ?, result = ?
			WHERE workspace_id = ? AND id = ? AND state = ?`),
			a.State, a.Attempts, db.timeArg(a.NextAttempt), a.LastError, db.timeArg(a.Finished), a.ResultDescription, ws, a.ID, model.ActionPending)
		if err != nil {
			return fmt.Errorf("record action: %w", err)
		}
		n, _ := res.RowsAffected()
		recorded = n == 1
		if !recorded {
			return nil
		}
		for _, e := range events {
			if err := db.insertEvent(ctx, tx, ws, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil && recorded {
		db.published(ws, events)
	}
	return recorded, err
}
