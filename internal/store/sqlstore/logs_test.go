package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

// A log cursor keeps only the lines after it in (timestamp, id) order,
// including the later lines of the cursor's own instant, and the query
// reads the (workspace, flow run, timestamp) index from the cursor on.
func TestLogsAfterCursor(t *testing.T) {
	eachEngine(t, func(t *testing.T, db *DB, ws uuid.UUID) {
		ctx := t.Context()
		run := uuid.New()
		t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		var logs []*model.Log
		for i := 0; i < 6; i++ {
			// Two lines per instant: the cursor must split an instant.
			logs = append(logs, &model.Log{Name: "x", Level: 20, Message: fmt.Sprintf("line %d", i),
				Timestamp: model.At(t0.Add(time.Duration(i/2) * time.Second)), FlowRunID: &run})
		}
		if err := db.CreateLogs(ctx, ws, logs); err != nil {
			t.Fatal(err)
		}
		all, err := db.ListLogs(ctx, ws, store.LogQuery{Logs: &store.LogFilter{FlowRunID: &store.IDFilter{Any: []uuid.UUID{run}}}})
		if err != nil || len(all) != 6 {
			t.Fatalf("%d logs, %v", len(all), err)
		}
		for k := range all {
			f := &store.LogFilter{FlowRunID: &store.IDFilter{Any: []uuid.UUID{run}},
				After: &store.LogCursor{Timestamp: all[k].Timestamp, ID: all[k].ID}}
			got, err := db.ListLogs(ctx, ws, store.LogQuery{Logs: f, Sort: store.SortTimestampAsc})
			if err != nil {
				t.Fatal(err)
			}
			var msgs []string
			for _, l := range got {
				msgs = append(msgs, l.Message)
			}
			var want []string
			for _, l := range all[k+1:] {
				want = append(want, l.Message)
			}
			if strings.Join(msgs, ",") != strings.Join(want, ",") {
				t.Errorf("after %s: %v, want %v", all[k].Message, msgs, want)
			}
		}

		// Many runs' logs, so the planner has a reason to prefer the index.
		var more []*model.Log
		for r := 0; r < 40; r++ {
			other := uuid.New()
			for i := 0; i < 250; i++ {
				more = append(more, &model.Log{Name: "x", Level: 20, Message: "m", Timestamp: model.At(t0.Add(time.Duration(i) * time.Second)), FlowRunID: &other})
			}
		}
		if err := db.CreateLogs(ctx, ws, more); err != nil {
			t.Fatal(err)
		}
		if err := db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, "ANALYZE logs")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		ge := 20
		f := &store.LogFilter{FlowRunID: &store.IDFilter{Any: []uuid.UUID{run}}, After: &store.LogCursor{Timestamp: all[2].Timestamp, ID: all[2].ID}}
		f.Level = &struct {
			GE *int `json:"ge_"`
			LE *int `json:"le_"`
		}{GE: &ge}
		_, plan, err := db.ExplainLogs(ctx, ws, store.LogQuery{Logs: f, Sort: store.SortTimestampAsc, Limit: 1001})
		if err != nil {
			t.Fatal(err)
		}
		joined := strings.Join(plan, "\n")
		t.Logf("plan:\n%s", joined)
		switch db.Engine() {
		case "sqlite":
			if !strings.Contains(joined, "USING INDEX logs_ws_flow_run_ts (workspace_id=? AND flow_run_id=? AND timestamp>?)") {
				t.Errorf("the tail does not search the logs index from the cursor on:\n%s", joined)
			}
			// Only the ties of one instant are sorted (by id), not the run's lines.
			if strings.Contains(joined, "USE TEMP B-TREE FOR ORDER BY") {
				t.Errorf("the tail sorts instead of reading the index in order:\n%s", joined)
			}
		case "postgres":
			if !strings.Contains(joined, "logs_ws_flow_run_ts") || !strings.Contains(joined, `"timestamp" >= `) {
				t.Errorf("the tail does not read the logs index from the cursor on:\n%s", joined)
			}
		}
	})
}
