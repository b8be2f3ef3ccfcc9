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
