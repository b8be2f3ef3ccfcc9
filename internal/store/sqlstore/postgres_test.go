package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/automations"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
	"github.com/praetorhq/praetor/internal/testdb"
)

// A panic in a write on PostgreSQL becomes that write's error: its
// transaction is rolled back, its connection goes back to the pool, and
// the next write works.
func TestPostgresWriterRecoversPanic(t *testing.T) {
	ctx := t.Context()
	db := openTestPostgres(t)
	insert := func(k int) func(ctx context.Context, tx *sql.Tx) error {
		return func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO gc (k) VALUES ($1)`, k)
			return err
		}
	}
	if err := db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `CREATE TABLE gc (k INTEGER PRIMARY KEY)`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	err := db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := insert(1)(ctx, tx); err != nil {
			return err
		}
		panic("boom")
	})
	if err == nil || !strings.Contains(err.Error(), "panicked: boom") {
		t.Fatalf("a panicking write answered %v", err)
	}
	if inUse := db.read.Stats().InUse; inUse != 0 {
		t.Errorf("%d connections still in use after the panic", inUse)
	}
	if err := db.writer.write(ctx, insert(2)); err != nil {
		t.Fatalf("write after the panic: %v", err)
	}
	rows, err := db.read.QueryContext(ctx, `SELECT k FROM gc ORDER BY k`)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := collect(rows, func(sc scanner) (int, error) {
		var k int
		return k, sc.Scan(&k)
	})
	if err != nil || len(keys) != 1 || keys[0] != 2 {
		t.Fatalf("rows on disk %v (%v), want only the write after the panic", keys, err)
	}
}

// Two writes that lock the same two rows in opposite orders deadlock;
// PostgreSQL aborts one, and the writer runs it again, so both succeed
// (as concurrent commits that update the same run counters must).
func TestPostgresWriterRetriesADeadlock(t *testing.T) {
	ctx := t.Context()
	db := openTestPostgres(t)
	if err := db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `CREATE TABLE dl (k INTEGER PRIMARY KEY, n INTEGER NOT NULL); INSERT INTO dl VALUES (1, 0), (2, 0)`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var (
		locked sync.WaitGroup // each write holds its first row
		runs   atomic.Int32
	)
	locked.Add(2)
	crossed := func(first, second int) func(ctx context.Context, tx *sql.Tx) error {
		var once sync.Once
		return func(ctx context.Context, tx *sql.Tx) error {
			runs.Add(1)
			if _, err := tx.ExecContext(ctx, `UPDATE dl SET n = n + 1 WHERE k = $1`, first); err != nil {
				return err
			}
			once.Do(func() { locked.Done(); locked.Wait() })
			_, err := tx.ExecContext(ctx, `UPDATE dl SET n = n + 1 WHERE k = $1`, second)
			return err
		}
	}
	errs := make(chan error, 2)
	go func() { errs <- db.writer.write(ctx, crossed(1, 2)) }()
	go func() { errs <- db.writer.write(ctx, crossed(2, 1)) }()
	for range 2 {
		if err := <-errs; err != nil {
			t.Errorf("a deadlocked write failed: %v", err)
		}
	}
	if n := runs.Load(); n < 3 {
		t.Errorf("the writes ran %d times, want at least 3 (one of them again)", n)
	}
	var a, b int
	if err := db.read.QueryRowContext(ctx, `SELECT (SELECT n FROM dl WHERE k = 1), (SELECT n FROM dl WHERE k = 2)`).Scan(&a, &b); err != nil || a != 2 || b != 2 {
		t.Errorf("rows after both writes: %d and %d (%v), want 2 and 2", a, b, err)
	}
}

// deadlockLog counts the writer's deadlock retries in its log.
type deadlockLog struct {
	slog.Handler
	n *atomic.Int64
}

func (h deadlockLog) Handle(ctx context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "deadlocked") {
		h.n.Add(1)
	}
	return nil
}

// Runs of one flow moving between two states in opposite directions at
// once (RUNNING to COMPLETED and back, forced) never deadlock on the run
// counters their transitions change: each takes the counters' locks in
// one order.
func TestOppositeTransitionsOfOneFlowDoNotDeadlock(t *testing.T) {
	ctx := t.Context()
	var deadlocks atomic.Int64
	db, err := Open(ctx, testdb.Postgres(t), slog.New(deadlockLog{slog.DiscardHandler, &deadlocks}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ws, err := db.DefaultWorkspace(ctx)
	if err != nil {
		t.Fatal(err)
	}
	flow := &model.Flow{Name: "one"}
	if _, err := db.UpsertFlow(ctx, ws.ID, flow); err != nil {
		t.Fatal(err)
	}
	// As bench/run's set_state load: runs created PENDING, then forced
	// RUNNING and COMPLETED in turn by writers that each take the next
	// transition of the next run, so that at any moment some runs move
	// one way and some the other.
	const writers, runs, transitions = 16, 64, 640
	ids := make([]uuid.UUID, runs)
	for i := range ids {
		run := &model.FlowRun{ID: uuid.Must(uuid.NewV7()), FlowID: flow.ID, Name: fmt.Sprint("run-", i)}
		if _, err := db.CreateFlowRun(ctx, ws.ID, run, model.StateCreate{Type: model.Pending}); err != nil {
			t.Fatal(err)
		}
		ids[i] = run.ID
	}
	types := [2]model.StateType{model.Running, model.Completed}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < transitions; i = int(next.Add(1) - 1) {
				if _, err := db.SetFlowRunState(ctx, ws.ID, ids[i%runs], model.StateCreate{Type: types[(i/runs)%2]}, true); err != nil {
					errs[w] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := deadlocks.Load(); n != 0 {
		t.Errorf("%d transitions deadlocked and were retried", n)
	}
	counts, err := db.CountFlowRunsByState(ctx, ws.ID, store.RunQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if counts[model.Completed] != runs || len(counts) != 1 {
		t.Errorf("counts by state: %v, want all %d runs COMPLETED", counts, runs)
	}
}

// An event whose ingest took its queue seq before another's but committed
// after the automations read the queue stays queued for the next pass:
// on PostgreSQL ingests commit concurrently, and taking "every seq up to
// the last read" off the queue deleted such events unevaluated (found by
// bench/run, whose immediate automations fired short on PostgreSQL only).
func TestPostgresQueuedEventCommittedLateIsEvaluated(t *testing.T) {
	ctx := t.Context()
	db := openTestPostgres(t)
	ws, err := db.DefaultWorkspace(ctx)
	if err != nil {
		t.Fatal(err)
	}
	event := func(name string) *model.Event {
		now := model.Now()
		return &model.Event{ID: uuid.Must(uuid.NewV7()), Occurred: now, Received: now, Event: name,
			Resource: model.Resource{"prefect.resource.id": "test.resource"}, Related: []model.Resource{}, Payload: []byte(`{}`)}
	}
	late, early := event("test.late"), event("test.early")
	// Stored without automations, so not queued: the queue rows are
	// written below, the late one's in a transaction left open.
	if err := db.IngestEvents(ctx, ws.ID, []*model.Event{late, early}, nil); err != nil {
		t.Fatal(err)
	}
	queue := `INSERT INTO automation_event_queue (workspace_id, event_id) VALUES ($1, $2)`
	lateTx, err := db.read.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lateTx.Rollback()
	if _, err := lateTx.ExecContext(ctx, queue, ws.ID, late.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.read.ExecContext(ctx, queue, ws.ID, early.ID); err != nil {
		t.Fatal(err)
	}
	var seen []string
	pass := func(commitLate bool) {
		t.Helper()
		if _, err := db.EvaluateQueuedEvents(ctx, 100, func(ctx context.Context, _ uuid.UUID, _ []*model.Automation, _ automations.Tx, events []*model.Event) error {
			for _, e := range events {
				seen = append(seen, e.Event)
			}
			if commitLate {
				// Between the read of the queue and the taking off.
				return lateTx.Commit()
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	pass(true)
	pass(false)
	if want := []string{"test.early", "test.late"}; !slices.Equal(seen, want) {
		t.Errorf("the passes evaluated %v, want %v", seen, want)
	}
	var left int
	if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM automation_event_queue`).Scan(&left); err != nil || left != 0 {
		t.Errorf("%d events left on the queue (%v), want 0", left, err)
	}
}

// openTestPostgres opens a fresh PostgreSQL database of its own for t.
func openTestPostgres(t *testing.T) *DB {
	t.Helper()
	db, err := Open(t.Context(), testdb.Postgres(t), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
