package sqlstore

import (
	"database/sql"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

func TestZZPlans(t *testing.T) {
	ctx := t.Context()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "p.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ws, _ := db.DefaultWorkspace(ctx)
	var flows []uuid.UUID
	for i := 0; i < 20; i++ {
		f := &model.Flow{Name: fmt.Sprintf("flow-%d", i)}
		db.UpsertFlow(ctx, ws.ID, f)
		flows = append(flows, f.ID)
	}
	now := time.Now()
	var runs []*model.FlowRun
	for i := 0; i < 100000; i++ {
		ts := model.At(now.Add(-time.Duration(i) * 26 * time.Second))
		r := &model.FlowRun{FlowID: flows[i%20], Name: fmt.Sprintf("run-%d", i)}
		r.ExpectedStartTime = &ts
		r.State = &model.State{Type: model.Completed, Timestamp: ts}
		runs = append(runs, r)
	}
	db.BulkInsertFlowRuns(ctx, ws.ID, runs)
	// 3 task runs per run for 30k runs, logs 5 per run
	err = db.writer.write(ctx, func(tx *sql.Tx) error {
		for i := 0; i < 30000; i++ {
			for j := 0; j < 3; j++ {
				if _, err := tx.Exec(`INSERT INTO task_runs (id, workspace_id, flow_run_id, name, task_key, dynamic_key, expected_start_time, state_type, created, updated) VALUES (?,?,?,?,?,?,?,?,?,?)`,
					uuid.Must(uuid.NewV7()), ws.ID, runs[i].ID, "t", "t", fmt.Sprint(j), db.d.time(*runs[i].ExpectedStartTime), "COMPLETED", "x", "x"); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var logs []*model.Log
	for i := 0; i < 30000; i++ {
		for j := 0; j < 5; j++ {
			id := runs[i].ID
			logs = append(logs, &model.Log{Name: "x", Level: 20, Message: "m", Timestamp: *runs[i].ExpectedStartTime, FlowRunID: &id})
		}
	}
	if err := db.CreateLogs(ctx, ws.ID, logs); err != nil {
		t.Fatal(err)
	}
	for _, ddl := range []string{
		"DROP INDEX logs_flow_run", "CREATE INDEX logs_ws_flow_run ON logs (workspace_id, flow_run_id, timestamp)",
		"DROP INDEX task_runs_ws_flow_run", "CREATE INDEX task_runs_ws_flow_run_expected ON task_runs (workspace_id, flow_run_id, expected_start_time)",
		"DROP INDEX flow_runs_ws_flow", "CREATE INDEX flow_runs_ws_flow_expected ON flow_runs (workspace_id, flow_id, expected_start_time)",
	} {
		if err := db.writer.write(ctx, func(tx *sql.Tx) error { _, err := tx.Exec(ddl); return err }); err != nil {
			t.Fatal(err)
		}
	}
	plan := func(label, q string, args ...any) {
		rows, err := db.read.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q, args...)
		if err != nil {
			t.Fatal(label, err)
		}
		var lines []string
		for rows.Next() {
			var a, b, c int
			var d string
			rows.Scan(&a, &b, &c, &d)
			lines = append(lines, d)
		}
		rows.Close()
		t0 := time.Now()
		r2, err := db.read.QueryContext(ctx, q, args...)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for r2.Next() {
			n++
		}
		r2.Close()
		t.Logf("%s: %d rows %v\n   %s", label, n, time.Since(t0), strings.Join(lines, " | "))
	}
	target := runs[500].ID
	// subflows
	w, args := db.flowRunWhere(ws.ID, store.RunQuery{FlowRuns: &store.FlowRunFilter{ParentFlowRunID: &store.IDFilter{Any: []uuid.UUID{target}}}})
	plan("subflows", `SELECT `+flowRunColumns+flowRunFrom+` WHERE `+w+` ORDER BY fr.expected_start_time ASC, fr.id LIMIT 200`, args...)
	ids := []uuid.UUID{target, runs[3].ID, runs[4].ID, runs[5].ID, runs[6].ID, runs[7].ID}
	w, args = db.flowRunWhere(ws.ID, store.RunQuery{FlowRuns: &store.FlowRunFilter{ParentTaskRunID: &store.NullableIDFilter{Any: ids}}})
	plan("subflows by task ids", `SELECT `+flowRunColumns+flowRunFrom+` WHERE `+w+` ORDER BY fr.expected_start_time ASC, fr.id LIMIT 200`, args...)
	plan("subflows by task ids, id desc", `SELECT `+flowRunColumns+flowRunFrom+` WHERE `+w+` ORDER BY fr.id DESC LIMIT 200`, args...)
	w2, args2 := db.flowRunWhere(ws.ID, store.RunQuery{FlowRuns: &store.FlowRunFilter{ParentFlowRunID: &store.IDFilter{Any: []uuid.UUID{target}}}})
	plan("subflows subquery, id desc", `SELECT `+flowRunColumns+flowRunFrom+` WHERE `+w2+` ORDER BY fr.id DESC LIMIT 200`, args2...)
	plan("rare flow", `SELECT `+flowRunColumns+flowRunFrom+` WHERE fr.workspace_id = ? AND fr.flow_id IN (?) ORDER BY fr.expected_start_time DESC, fr.id LIMIT 25`, ws.ID, flows[3])
	plan("rare flow count", `SELECT COUNT(*) FROM flow_runs fr WHERE fr.workspace_id = ? AND fr.flow_id IN (?)`, ws.ID, flows[3])
	plan("flows by flow", `SELECT fr.flow_id, COUNT(*) FROM flow_runs fr WHERE fr.workspace_id = ? AND fr.flow_id IN (?,?,?)  GROUP BY fr.flow_id`, ws.ID, flows[3], flows[4], flows[5])
	w, args = db.flowRunWhere(ws.ID, store.RunQuery{FlowRuns: &store.FlowRunFilter{ParentTaskRunID: &store.NullableIDFilter{Any: []uuid.UUID{target}}}})
	plan("parent task", `SELECT `+flowRunColumns+flowRunFrom+` WHERE `+w+` ORDER BY fr.id DESC LIMIT 1`, args...)
	w, args = db.taskRunWhere(ws.ID, store.RunQuery{TaskRuns: &store.TaskRunFilter{FlowRunID: &store.NullableIDFilter{Any: []uuid.UUID{target}}}})
	plan("task runs", `SELECT `+taskRunColumns+taskRunFrom+` WHERE `+w+` ORDER BY tr.expected_start_time ASC, tr.id LIMIT 200`, args...)
	plan("logs", `SELECT id FROM logs WHERE (workspace_id = ? AND (flow_run_id IN (?))) ORDER BY timestamp DESC, id DESC LIMIT 1001`, ws.ID, target)
	plan("logs level", `SELECT id FROM logs WHERE (workspace_id = ? AND (level >= ? AND flow_run_id IN (?))) ORDER BY timestamp DESC, id DESC LIMIT 1001`, ws.ID, 30, target)
	plan("task logs", `SELECT id FROM logs WHERE (workspace_id = ? AND (flow_run_id IN (?) AND task_run_id IN (?))) ORDER BY timestamp DESC, id DESC LIMIT 1001`, ws.ID, target, target)
	w, args = db.flowRunWhere(ws.ID, store.RunQuery{Flows: &store.FlowFilter{ID: &store.IDFilter{Any: flows[:5]}}})
	plan("by flow", `SELECT fr.flow_id, COUNT(*) FROM flow_runs fr WHERE `+w+` GROUP BY fr.flow_id`, args...)
	w, args = db.flowRunWhere(ws.ID, store.RunQuery{Flows: &store.FlowFilter{ID: &store.IDFilter{Any: flows[:1]}}})
	plan("flow page", `SELECT `+flowRunColumns+flowRunFrom+` WHERE `+w+` ORDER BY fr.expected_start_time DESC, fr.id LIMIT 25`, args...)
	plan("flow page count", `SELECT COUNT(*) FROM flow_runs fr WHERE `+w, args...)
	w, args = db.flowRunWhere(ws.ID, store.RunQuery{FlowRuns: &store.FlowRunFilter{State: typeFilter(model.Scheduled), NextScheduledStartTime: &store.TimeFilter{After: model.Now().Ptr()}}})
	plan("upcoming", `SELECT `+flowRunColumns+flowRunFrom+` WHERE `+w+` ORDER BY fr.next_scheduled_start_time ASC, fr.id LIMIT 10`, args...)
	late := &store.StateFilter{}
	late.Name = &struct {
		Any    []string `json:"any_"`
		NotAny []string `json:"not_any_"`
	}{Any: []string{"Late"}}
	w, args = db.flowRunWhere(ws.ID, store.RunQuery{FlowRuns: &store.FlowRunFilter{State: late, ExpectedStartTime: &store.TimeFilter{After: model.At(now.Add(-24 * time.Hour)).Ptr()}}})
	plan("late", `SELECT `+flowRunColumns+flowRunFrom+` WHERE `+w+` ORDER BY fr.expected_start_time ASC, fr.id LIMIT 10`, args...)
	w, args = db.taskRunWhere(ws.ID, store.RunQuery{TaskRuns: &store.TaskRunFilter{ExpectedStartTime: &store.TimeFilter{After: model.At(now.Add(-24 * time.Hour)).Ptr()}}})
	plan("task counts", `SELECT tr.state_type, COUNT(*) FROM task_runs tr WHERE `+w+` GROUP BY tr.state_type`, args...)
	t0 := time.Now()
	db.FlowRunHistory(ctx, ws.ID, store.HistoryQuery{Start: now.Add(-24 * time.Hour), Interval: time.Hour, Buckets: 24})
	t.Logf("history 24h %v", time.Since(t0))
}
