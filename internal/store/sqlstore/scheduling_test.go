package sqlstore

import (
	"database/sql"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
	"github.com/praetorhq/praetor/internal/testdb"
)

// The services' queries read SCHEDULED runs through the partial indexes of
// migration 0004 on both engines, so their cost follows the queue, not the
// run history: no plan scans flow_runs or walks a workspace-wide index.
func TestSchedulingQueryPlans(t *testing.T) {
	testdb.Engines(t, func(t *testing.T, dsn string) {
		ctx := t.Context()
		db, err := Open(ctx, dsn, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		now := db.d.time(model.At(time.Now()))
		id := uuid.Must(uuid.NewV7())
		conn, err := db.read.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		explain := "EXPLAIN QUERY PLAN "
		if db.Engine() == "postgres" {
			// An empty table is cheapest to scan; forbid that, so the plan
			// shows which index the query can use at all.
			if _, err := conn.ExecContext(ctx, "SET enable_seqscan = off"); err != nil {
				t.Fatal(err)
			}
			explain = "EXPLAIN "
		}
		plan := func(q string, args ...any) string {
			rows, err := conn.QueryContext(ctx, explain+db.d.rebind(q), args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			cols, _ := rows.Columns()
			var lines []string
			for rows.Next() {
				vals := make([]sql.NullString, len(cols))
				dest := make([]any, len(cols))
				for i := range vals {
					dest[i] = &vals[i]
				}
				if err := rows.Scan(dest...); err != nil {
					t.Fatal(err)
				}
				lines = append(lines, vals[len(vals)-1].String)
			}
			return strings.Join(lines, "\n")
		}
		before := time.Now()
		pollSQL, pollArgs := db.queueRunsSQL(id, id, store.WorkPoolPoll{Before: &before, After: &before}, 200)
		for _, c := range []struct {
			name, query string
			args        []any
			index       string
		}{
			{"a worker's poll of a queue", pollSQL, pollArgs, "flow_runs_queue_scheduled"},
			{"late runs", lateRunsSQL + page(500, 0), []any{now}, "flow_runs_scheduled_next"},
			{"due runs", dueRunsSQL, []any{id, now, id}, "flow_runs_deployment_scheduled"},
			{"schedulable deployments", schedulableSQL, []any{false, true, now, true, 3, now, true}, "flow_runs_deployment_scheduled"},
			{"running runs of queues", runningQueuedSQL, []any{now}, "flow_runs_queue_active"},
			{"a run's last log", lastLogSQL, []any{id, id}, "logs_ws_flow_run_ts"},
			{"a run's last task-run change", lastTaskRunChangeSQL, []any{id, id}, "task_runs_ws_flow_run_expected"},
			{"a pool's worker", poolWorkerSQL, []any{id, "w"}, "workers_work_pool_id_name_key|sqlite_autoindex_workers_2"},
		} {
			p := plan(c.query, c.args...)
			// SQLite takes the index made for the query; PostgreSQL, which
			// knows nothing of an empty table, may take the other partial
			// index of SCHEDULED runs, which is as small. An index of a
			// unique key has another name on each engine.
			uses := slices.ContainsFunc(strings.Split(c.index, "|"), func(ix string) bool { return strings.Contains(p, ix) })
			if !uses && (db.Engine() == "sqlite" || !strings.Contains(p, "flow_runs_scheduled_next")) {
				t.Errorf("%s: the plan does not use %s:\n%s", c.name, c.index, p)
			}
			// Reading all of the partial index of active runs is reading
			// what runs now, not the history.
			bounded := strings.ReplaceAll(p, "SCAN fr USING INDEX flow_runs_queue_active", "")
			for _, bad := range []string{"SCAN fr", "Seq Scan on flow_runs", "flow_runs_ws_"} {
				if strings.Contains(bounded, bad) {
					t.Errorf("%s: the plan has %q:\n%s", c.name, bad, p)
				}
			}
		}
	})
}
