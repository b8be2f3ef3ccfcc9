package sqlstore

import (
	"context"
	"database/sql"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/praetorhq/praetor/internal/testdb"
)

// A panic in a write on PostgreSQL becomes that write's error: its
// transaction is rolled back, its connection goes back to the pool, and
// the next write works.
func TestPostgresWriterRecoversPanic(t *testing.T) {
	ctx := t.Context()
	db, err := Open(ctx, testdb.Postgres(t), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
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
	err = db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
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
	db, err := Open(ctx, testdb.Postgres(t), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
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
