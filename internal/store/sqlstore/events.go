package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

// IngestEvents stores events (a redelivered id is ignored) and applies the
// task-run records derived from them, all in one transaction.
func (db *DB) IngestEvents(ctx context.Context, ws uuid.UUID, events []*model.Event, records []store.TaskRunRecord) error {
	err := db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		// Whether to queue the batch for automations is read once: most
		// workspaces have none, and the ingest path is the hot one.
		// Each statement is prepared once on the writer's connection:
		// SQLite would otherwise parse its text again for every event and
		// task run.
		q := db.fixed(tx)
		var queue bool
		if err := q.QueryRowContext(ctx, db.d.rebind(`SELECT EXISTS (SELECT 1 FROM automations WHERE workspace_id = ? AND enabled = ?)`), ws, true).Scan(&queue); err != nil {
			return fmt.Errorf("look for automations: %w", err)
		}
		insert := db.d.rebind(storeEventSQL)
		for _, e := range events {
			inserted, err := db.storeEvent(ctx, func(ctx context.Context, args ...any) (sql.Result, error) {
				return q.ExecContext(ctx, insert, args...)
			}, ws, e)
			if err != nil {
				return err
			}
			if inserted && queue && e.Event != logEvent {
				if _, err := q.ExecContext(ctx, db.d.rebind(`INSERT INTO automation_event_queue (workspace_id, event_id) VALUES (?, ?)`), ws, e.ID); err != nil {
					return fmt.Errorf("queue event for automations: %w", err)
				}
			}
		}
		for _, rec := range records {
			if err := db.recordTaskRun(ctx, q, ws, rec); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil && db.ingested != nil {
		db.ingested(len(events))
	}
	return err
}

const eventInsert = `INSERT INTO events (workspace_id, id, occurred, event, resource_id, resource, related, payload, follows, received) VALUES `

func (db *DB) eventRow(ws uuid.UUID, e *model.Event) []any {
	return []any{ws, e.ID, db.d.time(e.Occurred), e.Event, e.Resource.ID(), mustJSON(e.Resource), mustJSON(e.Related),
		payloadArg(e.Payload), e.Follows, db.d.time(e.Received)}
}

const eventValues = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"

// storeEventSQL stores one event; a redelivered id is ignored.
const storeEventSQL = eventInsert + eventValues + ` ON CONFLICT (workspace_id, id) DO NOTHING`

// logEvent is the client's log event, which automations never see (as in
// Prefect).
const logEvent = "prefect.log.write"

// storeEvent stores one event with exec, which runs storeEventSQL, and
// reports whether it is new: a redelivered id is ignored.
func (db *DB) storeEvent(ctx context.Context, exec func(ctx context.Context, args ...any) (sql.Result, error), ws uuid.UUID, e *model.Event) (bool, error) {
	res, err := exec(ctx, db.eventRow(ws, e)...)
	if err != nil {
		return false, fmt.Errorf("insert event: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// insertEvent stores one event; a redelivered id is ignored. A new event
// of a workspace with enabled automations is queued for them in the same
// transaction, so the evaluator sees each stored event exactly once.
func (db *DB) insertEvent(ctx context.Context, q queryer, ws uuid.UUID, e *model.Event) error {
	exec := func(ctx context.Context, args ...any) (sql.Result, error) {
		return q.ExecContext(ctx, db.d.rebind(storeEventSQL), args...)
	}
	inserted, err := db.storeEvent(ctx, exec, ws, e)
	if err != nil || !inserted || e.Event == logEvent {
		return err
	}
	if _, err := q.ExecContext(ctx, db.d.rebind(`INSERT INTO automation_event_queue (workspace_id, event_id)
		SELECT ?, ? WHERE EXISTS (SELECT 1 FROM automations WHERE workspace_id = ? AND enabled = ?)`), ws, e.ID, ws, true); err != nil {
		return fmt.Errorf("queue event for automations: %w", err)
	}
	return nil
}

// insertAutomationEvents stores events the automations of ws made (fresh
// ids: nothing to ignore) and queues them for those automations, a few
// statements for all of them.
func (db *DB) insertAutomationEvents(ctx context.Context, q queryer, ws uuid.UUID, events []*model.Event) error {
	for chunk := range slices.Chunk(events, 50) {
		var args, queued []any
		for _, e := range chunk {
			args = append(args, db.eventRow(ws, e)...)
			queued = append(queued, ws, e.ID)
		}
		if _, err := q.ExecContext(ctx, db.d.rebind(eventInsert+strings.TrimSuffix(strings.Repeat(eventValues+",", len(chunk)), ",")), args...); err != nil {
			return fmt.Errorf("insert automation events: %w", err)
		}
		if _, err := q.ExecContext(ctx, db.d.rebind(`INSERT INTO automation_event_queue (workspace_id, event_id) VALUES `+
			strings.TrimSuffix(strings.Repeat("(?, ?),", len(chunk)), ",")), queued...); err != nil {
			return fmt.Errorf("queue automation events: %w", err)
		}
	}
	return nil
}

func payloadArg(p []byte) any {
	if len(p) == 0 {
		return "{}"
	}
	return string(p)
}

// recordTaskRun upserts a task run from a client event: matched by id or by
// (flow_run_id, task_key, dynamic_key), overwritten only by a newer state, as
// events may arrive out of order or twice. The state's id is the event's, so
// the client chose it: an id that is already another run's state (of this
// workspace or another) refuses the record, as an id or key of another
// workspace's task run does, and the event is stored without it. It works on
// copies of rec, so it can run again in a fresh transaction.
func (db *DB) recordTaskRun(ctx context.Context, tx queryer, ws uuid.UUID, rec store.TaskRunRecord) error {
	r, s := *rec.Run, *rec.State
	if r.FlowRunID != nil {
		var n int
		if err := tx.QueryRowContext(ctx, db.d.rebind(`SELECT COUNT(*) FROM flow_runs WHERE workspace_id = ? AND id = ?`), ws, *r.FlowRunID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			// A flow run of another workspace, or none at all: not ours to record.
			db.log.Warn("task run event names an unknown flow run", "task_run_id", r.ID, "flow_run_id", *r.FlowRunID)
			return nil
		}
	}
	existing, err := db.findRecordedTaskRun(ctx, tx, ws, &r)
	if err != nil {
		return err
	}
	created := false
	if existing == nil {
		if created, err = db.insertRecordedTaskRun(ctx, tx, ws, &r); err != nil {
			return err
		}
		if !created {
			// Taken meanwhile by a concurrent transaction of this workspace
			// (PostgreSQL), or by another workspace.
			if existing, err = db.findRecordedTaskRun(ctx, tx, ws, &r); err != nil {
				return err
			}
			if existing == nil {
				db.log.Warn("task run event names a task run of another workspace; not recorded", "task_run_id", r.ID, "event_id", s.ID)
				return nil
			}
		}
	}
	if existing != nil {
		r.ID = existing.ID
	}
	s.StateDetails.TaskRunID = &r.ID
	inserted, err := db.insertStateRow(ctx, tx, "task_run_states", "task_run_id", ws, r.ID, &s)
	if err != nil {
		return err
	}
	if !inserted {
		var n int
		if err := tx.QueryRowContext(ctx, db.d.rebind(`SELECT COUNT(*) FROM task_run_states WHERE id = ? AND workspace_id = ? AND task_run_id = ?`),
			s.ID, ws, r.ID).Scan(&n); err != nil {
			return fmt.Errorf("read recorded state: %w", err)
		}
		if n == 0 {
			db.log.Warn("task run event reuses the id of another run's state; not recorded", "task_run_id", r.ID, "event_id", s.ID)
			if created {
				// The run was inserted for this state alone, pointing at it.
				if _, err := tx.ExecContext(ctx, db.d.rebind(`DELETE FROM task_runs WHERE workspace_id = ? AND id = ?`), ws, r.ID); err != nil {
					return fmt.Errorf("drop refused task run: %w", err)
				}
			}
			return nil
		}
		// The same event again: its state is recorded already.
	}
	if existing != nil && (existing.StateTimestamp == nil || s.Timestamp.After(existing.StateTimestamp.Time)) {
		r.Created = existing.Created
		return db.saveTaskRun(ctx, tx, ws, &r)
	}
	return nil
}

// findRecordedTaskRun finds the workspace's task run a record describes: by
// id, else by its flow run's (task_key, dynamic_key); nil if there is none.
func (db *DB) findRecordedTaskRun(ctx context.Context, tx queryer, ws uuid.UUID, r *model.TaskRun) (*model.TaskRun, error) {
	existing, err := db.lockTaskRun(ctx, tx, ws, "tr.id = ?", r.ID)
	if apperr.IsNotFound(err) && r.FlowRunID != nil {
		existing, err = db.lockTaskRun(ctx, tx, ws, "tr.flow_run_id = ? AND tr.task_key = ? AND tr.dynamic_key = ?", *r.FlowRunID, r.TaskKey, r.DynamicKey)
	}
	if apperr.IsNotFound(err) {
		return nil, nil
	}
	return existing, err
}

// insertRecordedTaskRun inserts r; false if its id or natural key is taken.
func (db *DB) insertRecordedTaskRun(ctx context.Context, tx queryer, ws uuid.UUID, r *model.TaskRun) (bool, error) {
	now := model.At(db.now())
	r.Created, r.Updated = now, now
	normalizeTaskRun(r)
	res, err := tx.ExecContext(ctx, db.d.rebind(`INSERT INTO task_runs (id, workspace_id, flow_run_id, name, task_key, dynamic_key,
		cache_key, cache_expiration, task_version, empirical_policy, tags, labels, task_inputs, state_id, state_type, state_name,
		state_timestamp, run_count, flow_run_run_count, expected_start_time, next_scheduled_start_time, start_time, end_time,
		total_run_time, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT DO NOTHING`),
		r.ID, ws, r.FlowRunID, r.Name, r.TaskKey, r.DynamicKey, r.CacheKey, db.timeArg(r.CacheExpiration), r.TaskVersion,
		mustJSON(r.EmpiricalPolicy), mustJSON(r.Tags), mustJSON(r.Labels), mustJSON(r.TaskInputs), r.StateID,
		typeArg(r.StateType), r.StateName, db.timeArg(r.StateTimestamp), r.RunCount, r.FlowRunRunCount,
		db.timeArg(r.ExpectedStartTime), db.timeArg(r.NextScheduledStartTime), db.timeArg(r.StartTime), db.timeArg(r.EndTime),
		r.TotalRunTime, db.d.time(now), db.d.time(now))
	if err != nil {
		return false, fmt.Errorf("record task run: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func scanEvent(row scanner) (*model.Event, error) {
	var (
		e                  model.Event
		occurred, received nullTime
	)
	if err := row.Scan(&e.ID, &occurred, &e.Event, jsonCol{&e.Resource}, jsonCol{&e.Related}, rawJSON{&e.Payload}, nullID{&e.Follows}, &received); err != nil {
		return nil, err
	}
	e.Occurred, e.Received = occurred.T, received.T
	if e.Related == nil {
		e.Related = []model.Resource{}
	}
	return &e, nil
}

// ListEvents returns the events matching q, newest first unless asked
// otherwise, and the total count of matches.
func (db *DB) ListEvents(ctx context.Context, ws uuid.UUID, q store.EventQuery) ([]*model.Event, int, error) {
	order := "occurred DESC, id DESC"
	if q.Filter != nil && q.Filter.Order == "ASC" {
		order = "occurred ASC, id ASC"
	}
	where, args := db.eventWhere(ws, q.Filter)
	total, err := db.count(ctx, `SELECT COUNT(*) FROM events WHERE `+where, args...)
	if err != nil {
		return nil, 0, err
	}
	rows, err := db.query(ctx, `SELECT id, occurred, event, resource, related, payload, follows, received FROM events WHERE `+where+` ORDER BY `+order+page(q.Limit, q.Offset), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("list events: %w", err)
	}
	events, err := collect(rows, scanEvent)
	return events, total, err
}

// eventWhere is the condition on events of ws that f selects.
func (db *DB) eventWhere(ws uuid.UUID, f *store.EventFilter) (string, []any) {
	c := newClause(db.d, "")
	c.add("workspace_id = ?", ws)
	if f != nil {
		if o := f.Occurred; o != nil {
			if o.Since != nil {
				c.add("occurred >= ?", db.d.time(*o.Since))
			}
			if o.Until != nil {
				c.add("occurred <= ?", db.d.time(*o.Until))
			}
		}
		if ev := f.Event; ev != nil {
			inList(c, "event", ev.Name, nil)
			if len(ev.Prefix) > 0 {
				or := newClause(db.d, "or_")
				for _, p := range ev.Prefix {
					or.add("event LIKE ?", p+"%")
				}
				c.sub(or)
			}
		}
		if r := f.Resource; r != nil {
			db.resourceFilter(c, r.ID, r.IDPrefix, false)
		}
		if r := f.Any; r != nil {
			db.resourceFilter(c, r.ID, r.IDPrefix, true)
		}
	}
	return c.sql()
}

// CountEvents groups the events f selects in the database: by name, by
// resource (labelled with its name, else its id) or by time bucket (the
// floor of whole steps since pivot).
func (db *DB) CountEvents(ctx context.Context, ws uuid.UUID, f *store.EventFilter, by store.EventCountBy, pivot time.Time, step time.Duration) ([]store.EventCount, error) {
	where, args := db.eventWhere(ws, f)
	var value, label string
	switch by {
	case store.CountByEvent:
		value, label = "event", "event"
	case store.CountByResource:
		value = "resource_id"
		label = "COALESCE(" + db.d.jsonText("resource", "prefect.resource.name") + ", " + db.d.jsonText("resource", "prefect.name") + ", resource_id)"
	case store.CountByTime:
		s := int64(step / time.Second)
		if s < 1 || step%time.Second != 0 {
			return nil, apperr.Errorf(apperr.EInvalid, "Praetor counts events in buckets of whole seconds")
		}
		// Integer division truncates toward zero: shift negative offsets
		// so the bucket is the floor.
		off := "(" + db.d.epoch("occurred") + " - ?)"
		value = "CAST((" + off + " - CASE WHEN " + off + " < 0 THEN ? - 1 ELSE 0 END) / ? AS TEXT)"
		args = append([]any{pivot.Unix(), pivot.Unix(), s, s}, args...)
		label = "''"
	default:
		return nil, apperr.Errorf(apperr.EInvalid, "cannot count events by %q", by)
	}
	rows, err := db.query(ctx, `SELECT `+value+`, `+label+`, COUNT(*), MIN(occurred), MAX(occurred) FROM events WHERE `+where+` GROUP BY 1, 2`, args...)
	if err != nil {
		return nil, fmt.Errorf("count events: %w", err)
	}
	parts, err := collect(rows, func(row scanner) (store.EventCount, error) {
		var (
			c          store.EventCount
			start, end nullTime
		)
		err := row.Scan(&c.Value, &c.Label, &c.Count, &start, &end)
		c.Start, c.End = start.T, end.T
		return c, err
	})
	if err != nil {
		return nil, err
	}
	// A value's label may change from event to event: as in Prefect, the
	// group takes its latest event's.
	merged := map[string]*store.EventCount{}
	out := []store.EventCount{} // none is [], as Prefect answers
	for _, p := range parts {
		m, ok := merged[p.Value]
		if !ok {
			out = append(out, p)
			merged[p.Value] = &out[len(out)-1]
			continue
		}
		if p.End.After(m.End.Time) {
			m.Label, m.End = p.Label, p.End
		}
		if p.Start.Before(m.Start.Time) {
			m.Start = p.Start
		}
		m.Count += p.Count
	}
	slices.SortFunc(out, func(a, b store.EventCount) int {
		if by == store.CountByTime {
			return a.Start.Compare(b.Start.Time)
		}
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		return strings.Compare(a.Label, b.Label)
	})
	return out, nil
}

// resourceFilter matches the event's resource id, or with related also any
// related resource's id, exactly or by prefix.
func (db *DB) resourceFilter(c *clause, ids, prefixes []string, related bool) {
	or := newClause(db.d, "or_")
	for _, id := range ids {
		or.add("resource_id = ?", id)
		if related {
			or.add(db.d.relatedID("related", "="), id)
		}
	}
	for _, p := range prefixes {
		or.add("resource_id LIKE ?", p+"%")
		if related {
			or.add(db.d.relatedID("related", "LIKE"), p+"%")
		}
	}
	c.sub(or)
}
