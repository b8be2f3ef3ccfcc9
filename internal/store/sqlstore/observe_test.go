package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// The writer tells its observer of each committed batch, and Optimize
// leaves SQLite planner statistics for a table that queries use.
func TestWriterObserverAndOptimize(t *testing.T) {
	var (
		mu      sync.Mutex
		batches []int
	)
	obs := Observer{WriterBatch: func(size int, took time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		if took < 0 {
			t.Errorf("batch took %v", took)
		}
		batches = append(batches, size)
	}}
	db, err := Open(t.Context(), filepath.Join(t.TempDir(), "praetor.db"), slog.New(slog.DiscardHandler), Observe(obs))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := t.Context()
	mu.Lock()
	batches = nil // the migrations' batch
	mu.Unlock()
	if err := db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE opt (k INTEGER PRIMARY KEY, v TEXT)`); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `CREATE INDEX opt_v ON opt (v)`); err != nil {
			return err
		}
		for i := range 200 {
			if _, err := tx.ExecContext(ctx, `INSERT INTO opt (k, v) VALUES (?, ?)`, i, fmt.Sprint(i%7)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(batches) != 1 || batches[0] != 1 {
		t.Errorf("observed batches %v, want [1]", batches)
	}
	mu.Unlock()

	// Migration 0004 analyzes flow_runs (empty here, so it leaves no
	// rows), which creates sqlite_stat1: the table has no statistics yet.
	var stats int
	if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'opt'`).Scan(&stats); err != nil {
		t.Fatal(err)
	}
	if stats != 0 {
		t.Fatal("statistics before Optimize")
	}
	// Optimize analyzes what the writer's connection has queried.
	if err := db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var n int
		return tx.QueryRowContext(ctx, `SELECT count(*) FROM opt WHERE v = '3'`).Scan(&n)
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.Optimize(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'opt'`).Scan(&stats); err != nil {
		t.Fatalf("statistics after Optimize: %v", err)
	}
	if stats == 0 {
		t.Error("Optimize left no statistics for the queried table")
	}
}
