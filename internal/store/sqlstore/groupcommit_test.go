package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

func openTestSQLite(t *testing.T) *DB {
	t.Helper()
	db, err := Open(t.Context(), filepath.Join(t.TempDir(), "praetor.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// newTestRun makes a flow and a run of it named name, in state typ, in
// db's default workspace.
func newTestRun(t *testing.T, db *DB, name string, typ model.StateType) (model.Workspace, *model.FlowRun) {
	t.Helper()
	ctx := t.Context()
	ws, err := db.DefaultWorkspace(ctx)
	if err != nil {
		t.Fatal(err)
	}
	flow := &model.Flow{Name: "f"}
	if _, err := db.UpsertFlow(ctx, ws.ID, flow); err != nil {
		t.Fatal(err)
	}
	run := &model.FlowRun{ID: uuid.Must(uuid.NewV7()), FlowID: flow.ID, Name: name}
	if _, err := db.CreateFlowRun(ctx, ws.ID, run, model.StateCreate{Type: typ}); err != nil {
		t.Fatal(err)
	}
	return ws, run
}

// Concurrent writes share transactions, but a failing one rolls back alone
// and every caller hears its own outcome.
func TestGroupCommitIsolatesFailures(t *testing.T) {
	db := openTestSQLite(t)
	ctx := t.Context()
	if err := db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `CREATE TABLE gc (k INTEGER PRIMARY KEY)`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	errBoom := errors.New("boom")
	const n = 200
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
				if _, err := tx.ExecContext(ctx, `INSERT INTO gc (k) VALUES (?)`, i); err != nil {
					return err
				}
				if i%3 == 0 {
					return errBoom // after its insert: the savepoint must undo it
				}
				return nil
			})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if (i%3 == 0) != errors.Is(err, errBoom) {
			t.Fatalf("write %d: err = %v", i, err)
		}
	}
	var count, bad int
	if err := db.read.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(k % 3 = 0), 0) FROM gc`).Scan(&count, &bad); err != nil {
		t.Fatal(err)
	}
	if want := n - (n+2)/3; count != want || bad != 0 {
		t.Fatalf("rows = %d (failed ones kept: %d), want %d and 0", count, bad, want)
	}
}

// Close commits what was queued before it and refuses later writes.
func TestGroupCommitCloseDrains(t *testing.T) {
	path := filepath.Join(t.TempDir(), "praetor.db")
	db, err := Open(t.Context(), path, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `CREATE TABLE gc (k INTEGER PRIMARY KEY)`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
				_, err := tx.ExecContext(ctx, `INSERT INTO gc (k) VALUES (?)`, i)
				return err
			}); err != nil {
				t.Errorf("write %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.writer.write(ctx, func(context.Context, *sql.Tx) error { return nil }); !errors.Is(err, errClosed) {
		t.Fatalf("write after close: %v, want errClosed", err)
	}
	again, err := Open(t.Context(), path, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	var count int
	if err := again.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM gc`).Scan(&count); err != nil || count != 50 {
		t.Fatalf("after reopen: %d rows (%v), want 50", count, err)
	}
}

// A database whose schema is newer than the binary is refused.
func TestRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "praetor.db")
	db, err := Open(t.Context(), path, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied) VALUES (9999, 'future')`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := Open(t.Context(), path, slog.New(slog.DiscardHandler)); err == nil {
		t.Fatal("opened a database with a newer schema")
	} else if !strings.Contains(err.Error(), "9999") {
		t.Fatalf("error %q does not name the schema version", err)
	}
}

// inOneBatch runs fns as concurrent writes that share one transaction, in
// order: a first write holds the writer until all of them are queued behind
// it. It returns each write's answer.
func inOneBatch(t *testing.T, db *DB, fns ...func(ctx context.Context, tx *sql.Tx) error) []error {
	t.Helper()
	calls := make([]func() error, len(fns))
	for i, fn := range fns {
		calls[i] = func() error { return db.writer.write(t.Context(), fn) }
	}
	return callsInOneBatch(t, db, calls...)
}

// callsInOneBatch is inOneBatch for calls that each make one write.
func callsInOneBatch(t *testing.T, db *DB, calls ...func() error) []error {
	t.Helper()
	g := db.writer.(*groupCommitter)
	started, release := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := db.writer.write(t.Context(), func(context.Context, *sql.Tx) error {
			close(started)
			<-release
			return nil
		}); err != nil {
			t.Errorf("holding write: %v", err)
		}
	}()
	<-started
	errs := make([]error, len(calls))
	for i, call := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = call()
		}()
		for len(g.queue) < i+1 { // queued in this order
			time.Sleep(time.Millisecond)
		}
	}
	close(release)
	wg.Wait()
	return errs
}

// createGC creates the table gc (k INTEGER PRIMARY KEY) the writer tests fill.
func createGC(t *testing.T, db *DB) {
	t.Helper()
	if err := db.writer.write(t.Context(), func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `CREATE TABLE gc (k INTEGER PRIMARY KEY)`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// insertGC is a write that inserts k into gc.
func insertGC(k int) func(ctx context.Context, tx *sql.Tx) error {
	return func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO gc (k) VALUES (?)`, k)
		return err
	}
}

// expectOnDisk checks that exactly the writes answered without an error
// left their row in gc.
func expectOnDisk(t *testing.T, db *DB, errs []error) {
	t.Helper()
	stored := map[int]bool{}
	rows, err := db.read.QueryContext(t.Context(), `SELECT k FROM gc`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var k int
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		stored[k] = true
	}
	for k, err := range errs {
		if (err == nil) != stored[k] {
			t.Errorf("write %d: answered %v, stored %v", k, err, stored[k])
		}
	}
}

// A write whose fn panics gets an error and is rolled back alone; the other
// writes of its transaction commit and the writer goes on.
func TestGroupCommitRecoversPanic(t *testing.T) {
	db := openTestSQLite(t)
	createGC(t, db)
	fns := make([]func(context.Context, *sql.Tx) error, 10)
	for k := range fns {
		fns[k] = insertGC(k)
	}
	fns[4] = func(ctx context.Context, tx *sql.Tx) error {
		if err := insertGC(4)(ctx, tx); err != nil {
			return err
		}
		panic("boom")
	}
	errs := inOneBatch(t, db, fns...)
	for k, err := range errs {
		if (k == 4) != (err != nil) || (k == 4 && !strings.Contains(err.Error(), "panicked: boom")) {
			t.Errorf("write %d: err = %v", k, err)
		}
	}
	expectOnDisk(t, db, errs)
	if err := db.writer.write(t.Context(), insertGC(100)); err != nil {
		t.Fatalf("write after the panic: %v", err)
	}
}

// When one write loses the shared transaction (here it rolls it back itself,
// as SQLite does on an interrupt or some I/O errors), it is answered with an
// error and every other write runs again in a fresh transaction: each
// answer matches what is on disk, and a write that failed on its own is
// neither retried nor stored.
func TestGroupCommitRetriesLostTransaction(t *testing.T) {
	db := openTestSQLite(t)
	createGC(t, db)
	errBoom := errors.New("boom")
	var failingRuns, breakingRuns int
	fns := make([]func(context.Context, *sql.Tx) error, 12)
	for k := range fns {
		fns[k] = insertGC(k)
	}
	fns[2] = func(ctx context.Context, tx *sql.Tx) error {
		failingRuns++
		if err := insertGC(2)(ctx, tx); err != nil {
			return err
		}
		return errBoom
	}
	fns[6] = func(ctx context.Context, tx *sql.Tx) error {
		breakingRuns++
		if err := insertGC(6)(ctx, tx); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `ROLLBACK`)
		return err
	}
	errs := inOneBatch(t, db, fns...)
	for k, err := range errs {
		switch k {
		case 2:
			if !errors.Is(err, errBoom) {
				t.Errorf("write 2 (fails alone): err = %v, want boom", err)
			}
		case 6:
			if err == nil {
				t.Errorf("write 6 (loses the transaction): no error")
			}
		default:
			if err != nil {
				t.Errorf("write %d: %v", k, err)
			}
		}
	}
	if failingRuns != 1 || breakingRuns != 1 {
		t.Errorf("the failing write ran %d times, the breaking one %d; want once each", failingRuns, breakingRuns)
	}
	expectOnDisk(t, db, errs)
}

// A write that runs again after a lost transaction starts from its inputs:
// the run it creates and the events it publishes are those of one run.
func TestGroupCommitRetryRunsWritesAfresh(t *testing.T) {
	db := openTestSQLite(t)
	ctx := t.Context()
	var mu sync.Mutex
	published := map[string]int{}
	db.OnEvents(store.PublishFunc(func(_ uuid.UUID, events []*model.Event) {
		mu.Lock()
		defer mu.Unlock()
		for _, e := range events {
			published[e.Event]++
		}
	}))
	ws, existing := newTestRun(t, db, "existing", model.Pending)
	fresh := &model.FlowRun{ID: uuid.Must(uuid.NewV7()), FlowID: existing.FlowID, Name: "fresh"}
	clear(published)
	errs := callsInOneBatch(t, db,
		func() error {
			_, err := db.CreateFlowRun(ctx, ws.ID, fresh, model.StateCreate{Type: model.Running})
			return err
		},
		func() error {
			_, err := db.SetFlowRunState(ctx, ws.ID, existing.ID, model.StateCreate{Type: model.Running}, false)
			return err
		},
		func() error {
			return db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
				_, err := tx.ExecContext(ctx, `ROLLBACK`)
				return err
			})
		},
	)
	if errs[0] != nil || errs[1] != nil || errs[2] == nil {
		t.Fatalf("answers: %v", errs)
	}
	for _, id := range []uuid.UUID{fresh.ID, existing.ID} {
		r, err := db.GetFlowRun(ctx, ws.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		states, err := db.ListFlowRunStates(ctx, ws.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		want := map[uuid.UUID]int{fresh.ID: 1, existing.ID: 2}[id]
		if r.RunCount != 1 || len(states) != want || *r.StateType != model.Running {
			t.Errorf("run %s: run_count %d, %d states, state %s; want 1, %d, RUNNING", r.Name, r.RunCount, len(states), *r.StateType, want)
		}
	}
	if fresh.RunCount != 1 || fresh.State == nil || fresh.State.Type != model.Running {
		t.Errorf("the created run as returned: run_count %d, state %v", fresh.RunCount, fresh.State)
	}
	if published["prefect.flow-run.Running"] != 2 || len(published) != 1 {
		t.Errorf("published events: %v, want two prefect.flow-run.Running", published)
	}
}

// SQLite commits are durable by default (synchronous=FULL, which PRAGMA
// synchronous reports as 2); SQLiteSynchronous can relax it to NORMAL (1).
func TestSQLiteSynchronous(t *testing.T) {
	for _, c := range []struct {
		opts []Option
		want int
	}{
		{nil, 2},
		{[]Option{SQLiteSynchronous("FULL")}, 2},
		{[]Option{SQLiteSynchronous("normal")}, 1},
	} {
		db, err := Open(t.Context(), filepath.Join(t.TempDir(), "praetor.db"), slog.New(slog.DiscardHandler), c.opts...)
		if err != nil {
			t.Fatal(err)
		}
		var got int
		if err := db.writer.write(t.Context(), func(ctx context.Context, tx *sql.Tx) error {
			return tx.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&got)
		}); err != nil {
			t.Fatal(err)
		}
		db.Close()
		if got != c.want {
			t.Errorf("%d options: PRAGMA synchronous = %d, want %d", len(c.opts), got, c.want)
		}
	}
	if _, err := Open(t.Context(), filepath.Join(t.TempDir(), "praetor.db"), nil, SQLiteSynchronous("OFF")); err == nil || !strings.Contains(err.Error(), `"OFF"`) {
		t.Fatalf("synchronous OFF: err = %v, want a refusal naming it", err)
	}
}
