package sqlstore

import (
	"context"
	"database/sql"
	"log/slog"
	"strings"
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
