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
			seqs  []int64
			order []uuid.UUID
			byWS  = map[uuid.UUID][]*model.Event{}
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
			seqs = append(seqs, seq)
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
		if len(seqs) == 0 {
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
			if err := v.flush(ctx); err != nil {
				return err
			}
			emitted[ws] = v.emitted
		}
		// Exactly the rows read, not every seq up to the last: on
		// PostgreSQL an ingest that took a lower seq may commit after the
		// read, and a range would delete its events unevaluated.
		for chunk := range slices.Chunk(seqs, 500) {
			if _, err := tx.ExecContext(ctx, db.d.rebind(`DELETE FROM automation_event_queue WHERE seq IN (`+placeholders(len(chunk))+`)`), toArgs(chunk)...); err != nil {
				return fmt.Errorf("take events off the queue: %w", err)
			}
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
			if err := fn(ctx, ws, list, v); err != nil {
				return err
			}
			return v.flush(ctx)
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
	buckets map[bucketID]*cachedBucket
	// actions are those queued since the last flush; emitted[stored:] the
	// events not yet stored.
	actions []*model.TriggeredAction
	stored  int
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

// The transaction keeps the buckets it touched in memory and writes them
// back once, at flush: one batch of events meets the same few buckets over
// and over (a trigger without for_each has one), and a statement per
// change cost more than the evaluation itself.

// bucketID names a trigger's bucket for one key.
type bucketID struct {
	trigger uuid.UUID
	key     string
}

// cachedBucket is a bucket as the transaction sees it: present or not,
// and whether (and which of) it must be written back.
type cachedBucket struct {
	b       automations.Bucket
	present bool
	dirty   bool
	// lastSet: b.LastEvent replaces the stored last event at flush;
	// otherwise the stored one (which was not read) stays.
	lastSet bool
}

func (v *automationTx) cached(ctx context.Context, trigger uuid.UUID, key []string) (*cachedBucket, error) {
	id := bucketID{trigger, bucketKey(key).(string)}
	if c, ok := v.buckets[id]; ok {
		return c, nil
	}
	b, err := v.bucketRow(ctx, `SELECT `+bucketWindow+` FROM automation_buckets WHERE workspace_id = ? AND trigger_id = ? AND bucketing_key = ?`,
		v.ws, trigger, id.key)
	if err != nil {
		return nil, fmt.Errorf("read bucket: %w", err)
	}
	c := &cachedBucket{}
	if b != nil {
		c.b, c.present = *b, true
	}
	if v.buckets == nil {
		v.buckets = map[bucketID]*cachedBucket{}
	}
	v.buckets[id] = c
	return c, nil
}

func (c *cachedBucket) view() *automations.Bucket {
	b := c.b
	b.LastEvent = nil // as the store answers: without its last event
	return &b
}

func (v *automationTx) Bucket(ctx context.Context, trigger uuid.UUID, key []string) (*automations.Bucket, error) {
	c, err := v.cached(ctx, trigger, key)
	if err != nil || !c.present {
		return nil, err
	}
	return c.view(), nil
}

func (v *automationTx) EnsureBucket(ctx context.Context, b *automations.Bucket) (*automations.Bucket, error) {
	c, err := v.cached(ctx, b.TriggerID, b.Key)
	if err != nil {
		return nil, err
	}
	switch {
	case !c.present:
		c.b, c.present, c.dirty, c.lastSet = *b, true, true, true
	case b.LastEvent != nil:
		c.b.LastEvent, c.dirty, c.lastSet = b.LastEvent, true, true
	}
	return c.view(), nil
}

func (v *automationTx) StartBucket(ctx context.Context, b *automations.Bucket) error {
	c, err := v.cached(ctx, b.TriggerID, b.Key)
	if err != nil {
		return err
	}
	c.b, c.present, c.dirty, c.lastSet = *b, true, true, true
	return nil
}

func (v *automationTx) IncrementBucket(ctx context.Context, b *automations.Bucket, n int, last *model.Event) (*automations.Bucket, error) {
	c, err := v.cached(ctx, b.TriggerID, b.Key)
	if err != nil {
		return nil, err
	}
	if !c.present {
		return nil, errors.New("increment bucket: the bucket is gone")
	}
	c.b.Count += n
	c.dirty = true
	if last != nil {
		c.b.LastEvent, c.lastSet = last, true
	}
	return c.view(), nil
}

func (v *automationTx) RemoveBucket(ctx context.Context, b *automations.Bucket) error {
	c, err := v.cached(ctx, b.TriggerID, b.Key)
	if err != nil {
		return err
	}
	c.present, c.dirty = false, true
	return nil
}

// flush writes the buckets the transaction changed back, a few statements
// for all of them, and forgets them.
func (v *automationTx) flush(ctx context.Context) error {
	var gone, withLast, window []bucketID
	for id, c := range v.buckets {
		switch {
		case !c.dirty:
		case !c.present:
			gone = append(gone, id)
		case c.lastSet:
			withLast = append(withLast, id)
		default:
			window = append(window, id)
		}
	}
	now := v.db.d.time(model.At(v.db.now()))
	for chunk := range slices.Chunk(gone, 200) {
		where, args := v.bucketsWhere(chunk)
		if _, err := v.tx.ExecContext(ctx, v.db.d.rebind(`DELETE FROM automation_buckets WHERE `+where), args...); err != nil {
			return fmt.Errorf("remove buckets: %w", err)
		}
	}
	// A window's last event is written only where it changed; the others
	// keep what is stored (their rows exist: they were read).
	for _, list := range []struct {
		ids  []bucketID
		last string
	}{{withLast, ", last_event = excluded.last_event"}, {window, ""}} {
		for chunk := range slices.Chunk(list.ids, 100) {
			var args []any
			for _, id := range chunk {
				c := v.buckets[id]
				args = append(args, v.ws, c.b.AutomationID, id.trigger, id.key, v.db.d.time(model.At(c.b.Start)), v.db.d.time(model.At(c.b.End)), c.b.Count,
					mustJSON(c.b.LastEvent), now)
			}
			values := strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?, ?),", len(chunk)), ",")
			if _, err := v.tx.ExecContext(ctx, v.db.d.rebind(`INSERT INTO automation_buckets (workspace_id, `+bucketColumns+`, updated) VALUES `+values+`
				ON CONFLICT (automation_id, trigger_id, bucketing_key) DO UPDATE SET start_time = excluded.start_time, end_time = excluded.end_time,
				count = excluded.count, updated = excluded.updated`+list.last), args...); err != nil {
				return fmt.Errorf("write buckets: %w", err)
			}
		}
	}
	v.buckets = nil
	return v.writeFirings(ctx)
}

// bucketsWhere is the condition on the workspace's buckets of ids.
func (v *automationTx) bucketsWhere(ids []bucketID) (string, []any) {
	args := []any{v.ws}
	conds := make([]string, len(ids))
	for i, id := range ids {
		conds[i] = "(trigger_id = ? AND bucketing_key = ?)"
		args = append(args, id.trigger, id.key)
	}
	return "workspace_id = ? AND (" + strings.Join(conds, " OR ") + ")", args
}

// Prefetch reads the buckets of refs the transaction has not seen, a few
// queries for all of them, so evaluating a batch costs no query per event.
func (v *automationTx) Prefetch(ctx context.Context, refs []automations.BucketRef) error {
	if v.buckets == nil {
		v.buckets = map[bucketID]*cachedBucket{}
	}
	var want []bucketID
	for _, r := range refs {
		id := bucketID{r.Trigger, bucketKey(r.Key).(string)}
		if _, ok := v.buckets[id]; !ok {
			v.buckets[id] = &cachedBucket{}
			want = append(want, id)
		}
	}
	for chunk := range slices.Chunk(want, 200) {
		where, args := v.bucketsWhere(chunk)
		rows, err := v.tx.QueryContext(ctx, v.db.d.rebind(`SELECT `+bucketWindow+` FROM automation_buckets WHERE `+where), args...)
		if err != nil {
			return fmt.Errorf("read buckets: %w", err)
		}
		found, err := collect(rows, scanBucket)
		if err != nil {
			return fmt.Errorf("read buckets: %w", err)
		}
		for _, b := range found {
			v.buckets[bucketID{b.TriggerID, bucketKey(b.Key).(string)}] = &cachedBucket{b: *b, present: true}
		}
	}
	return nil
}

func (v *automationTx) Buckets(ctx context.Context, trigger uuid.UUID) ([]*automations.Bucket, error) {
	if err := v.flush(ctx); err != nil {
		return nil, err
	}
	rows, err := v.tx.QueryContext(ctx, v.db.d.rebind(`SELECT `+bucketColumns+` FROM automation_buckets WHERE workspace_id = ? AND trigger_id = ?
		ORDER BY start_time`), v.ws, trigger)
	if err != nil {
		return nil, fmt.Errorf("read buckets: %w", err)
	}
	return collect(rows, scanBucket)
}

func (v *automationTx) RemoveBucketsReaching(ctx context.Context, trigger uuid.UUID, n int) error {
	if err := v.flush(ctx); err != nil {
		return err
	}
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

// Emit keeps e to store at flush, with the rest of the transaction's.
func (v *automationTx) Emit(ctx context.Context, e *model.Event) error {
	v.emitted = append(v.emitted, e)
	return nil
}

// QueueActions keeps actions to store at flush.
func (v *automationTx) QueueActions(ctx context.Context, actions []*model.TriggeredAction) error {
	v.actions = append(v.actions, actions...)
	return nil
}

// writeFirings stores the events and actions the transaction's firings
// made since the last flush.
func (v *automationTx) writeFirings(ctx context.Context) error {
	if err := v.db.insertAutomationEvents(ctx, v.tx, v.ws, v.emitted[v.stored:]); err != nil {
		return err
	}
	v.stored = len(v.emitted)
	for chunk := range slices.Chunk(v.actions, 50) {
		var args []any
		for _, a := range chunk {
			args = append(args, a.ID, v.ws, a.AutomationID, a.Index, mustJSON(a.Action), v.db.d.time(a.Triggered), mustJSON(a.TriggeringLabels),
				mustJSON(a.TriggeringEvent), a.TriggeredEventID, a.State, a.Attempts, v.db.timeArg(a.NextAttempt))
		}
		if _, err := v.tx.ExecContext(ctx, v.db.d.rebind(`INSERT INTO automation_actions (id, workspace_id, automation_id, action_index, action, triggered,
			triggering_labels, triggering_event, triggered_event_id, state, attempts, next_attempt) VALUES `+
			strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?),", len(chunk)), ",")), args...); err != nil {
			return fmt.Errorf("queue triggered actions: %w", err)
		}
	}
	v.actions = nil
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
