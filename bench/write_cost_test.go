package bench

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
	"github.com/praetorhq/praetor/internal/store/sqlstore"
	"github.com/praetorhq/praetor/internal/testdb"
	"github.com/praetorhq/praetor/internal/testenv"
)

// BenchmarkStateChanges measures what one state change of a run costs the
// writer, on each engine: forced flow-run transitions, and task-run states
// recorded from a client's events (the task-run recorder's path), one
// writer at a time. It is how the run counters' triggers (migration 0004)
// were checked not to slow writes down:
//
//	go test ./bench -run XXX -bench StateChanges -benchtime 3000x -count 5
//
// The numbers measured are in docs/benchmarks.md.
func BenchmarkStateChanges(b *testing.B) {
	for _, engine := range []string{"sqlite", "postgres"} {
		b.Run(engine, func(b *testing.B) {
			ctx := b.Context()
			db := openEmpty(b, engine)
			ws, err := db.DefaultWorkspace(ctx)
			if err != nil {
				b.Fatal(err)
			}
			flow := &model.Flow{Name: "bench"}
			if _, err := db.UpsertFlow(ctx, ws.ID, flow); err != nil {
				b.Fatal(err)
			}
			run := &model.FlowRun{ID: uuid.Must(uuid.NewV7()), FlowID: flow.ID, Name: "run"}
			if _, err := db.CreateFlowRun(ctx, ws.ID, run, model.StateCreate{Type: model.Running}); err != nil {
				b.Fatal(err)
			}
			types := []model.StateType{model.Running, model.Completed}
			b.Run("flow-run", func(b *testing.B) {
				i := 0
				for b.Loop() {
					i++
					if _, err := db.SetFlowRunState(ctx, ws.ID, run.ID, model.StateCreate{Type: types[i%2]}, true); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("task-run-recorded", func(b *testing.B) {
				i := 0
				for b.Loop() {
					i++
					// A new task run and its first state, then its second.
					id := uuid.Must(uuid.NewV7())
					for _, typ := range types {
						ts := model.Now()
						s := &model.State{ID: uuid.Must(uuid.NewV7()), Type: typ, Name: typ.DefaultName(), Timestamp: ts,
							StateDetails: model.StateDetails{TaskRunID: &id, FlowRunID: &run.ID}}
						tr := &model.TaskRun{ID: id, FlowRunID: &run.ID, Name: fmt.Sprint("task-", i), TaskKey: fmt.Sprint("task-", i), DynamicKey: "0"}
						name := s.Name
						tr.StateID, tr.StateType, tr.StateName, tr.StateTimestamp, tr.State = &s.ID, &typ, &name, ts.Ptr(), s
						tr.ExpectedStartTime, tr.StartTime = ts.Ptr(), ts.Ptr()
						if err := db.IngestEvents(ctx, ws.ID, nil, []store.TaskRunRecord{{Run: tr, State: s}}); err != nil {
							b.Fatal(err)
						}
					}
				}
			})
		})
	}
}

// openEmpty opens a new, empty store of engine for one benchmark: SQLite
// with synchronous=NORMAL (so disk syncs do not drown what is measured),
// or a PostgreSQL database of its own, dropped at the end.
func openEmpty(b *testing.B, engine string) *sqlstore.DB {
	ctx := context.Background()
	dsn := filepath.Join(b.TempDir(), "praetor.db")
	if engine == "postgres" {
		base := os.Getenv(testdb.EnvPostgres)
		if base == "" {
			testenv.Missing(b, testdb.EnvPostgres+" is not set: no PostgreSQL to benchmark")
		}
		name := fmt.Sprintf("praetor_bench_writes_%d", os.Getpid())
		if err := pgAdmin(ctx, base, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)", "CREATE DATABASE "+name); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = pgAdmin(context.Background(), base, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
		u, err := url.Parse(base)
		if err != nil {
			b.Fatal(err)
		}
		u.Path = "/" + name
		dsn = u.String()
	}
	db, err := sqlstore.Open(ctx, dsn, slog.New(slog.DiscardHandler), sqlstore.SQLiteSynchronous("NORMAL"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}
