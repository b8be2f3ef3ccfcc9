package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

// insertChunk bounds the rows of one multi-row INSERT, well under SQLite's
// limit on bound parameters.
const insertChunk = 500

// CreateLogs inserts a batch of logs in one transaction, with multi-row
// inserts.
func (db *DB) CreateLogs(ctx context.Context, ws uuid.UUID, logs []*model.Log) error {
	if len(logs) == 0 {
		return nil
	}
	now := model.At(db.now())
	return db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		for start := 0; start < len(logs); start += insertChunk {
			chunk := logs[start:min(start+insertChunk, len(logs))]
			var b strings.Builder
			b.WriteString(`INSERT INTO logs (id, workspace_id, name, level, message, timestamp, flow_run_id, task_run_id, worker_id, created) VALUES `)
			args := make([]any, 0, len(chunk)*10)
			for i, l := range chunk {
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
				l.ID = uuid.Must(uuid.NewV7())
				l.Created, l.Updated = now, now
				args = append(args, l.ID, ws, l.Name, l.Level, l.Message, db.d.time(l.Timestamp), l.FlowRunID, l.TaskRunID, l.WorkerID, db.d.time(now))
			}
			if _, err := tx.ExecContext(ctx, db.d.rebind(b.String()), args...); err != nil {
				return fmt.Errorf("insert logs: %w", err)
			}
		}
		return nil
	})
}

func scanLog(row scanner) (*model.Log, error) {
	var (
		l           model.Log
		ts, created nullTime
	)
	if err := row.Scan(&l.ID, &l.Name, &l.Level, &l.Message, &ts, nullID{&l.FlowRunID}, nullID{&l.TaskRunID}, nullID{&l.WorkerID}, &created); err != nil {
		return nil, err
	}
	l.Timestamp, l.Created, l.Updated = ts.T, created.T, created.T
	return &l, nil
}

// ListLogs returns the logs matching q.
func (db *DB) ListLogs(ctx context.Context, ws uuid.UUID, q store.LogQuery) ([]*model.Log, error) {
	query, args, err := db.listLogsSQL(ws, q)
	if err != nil {
		return nil, err
	}
	rows, err := db.query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list logs: %w", err)
	}
	return collect(rows, scanLog)
}

// listLogsSQL builds the query of ListLogs.
func (db *DB) listLogsSQL(ws uuid.UUID, q store.LogQuery) (string, []any, error) {
	order := map[string]string{"": "timestamp ASC, id", store.SortTimestampAsc: "timestamp ASC, id", store.SortTimestampDesc: "timestamp DESC, id DESC"}[q.Sort]
	if order == "" {
		return "", nil, apperr.Errorf(apperr.EInvalid, "invalid sort %q", q.Sort)
	}
	c := newClause(db.d, "")
	c.add("workspace_id = ?", ws)
	if f := q.Logs; f != nil {
		s := newClause(db.d, f.Operator)
		if f.Level != nil {
			if f.Level.GE != nil {
				s.add("level >= ?", *f.Level.GE)
			}
			if f.Level.LE != nil {
				s.add("level <= ?", *f.Level.LE)
			}
		}
		s.time("timestamp", f.Timestamp)
		s.id("flow_run_id", f.FlowRunID)
		s.nullableID("task_run_id", f.TaskRunID)
		if f.Text != nil && f.Text.Query != "" {
			s.add("message "+db.d.like()+" ?", "%"+f.Text.Query+"%")
		}
		c.sub(s)
		if a := f.After; a != nil {
			// The first term bounds the index range on timestamp; the
			// second drops the lines of that instant already seen.
			ts := db.d.time(a.Timestamp)
			c.add("(timestamp >= ? AND (timestamp > ? OR id > ?))", ts, ts, a.ID)
		}
	}
	where, args := c.sql()
	return `SELECT id, name, level, message, timestamp, flow_run_id, task_run_id, worker_id, created FROM logs WHERE ` + where + ` ORDER BY ` + order + page(q.Limit, q.Offset), args, nil
}
