package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/praetorhq/praetor/internal/model"
)

type postgresDialect struct{}

func (postgresDialect) name() string                   { return "postgres" }
func (postgresDialect) rebind(q string) string         { return rebindDollar(q) }
func (postgresDialect) time(t model.Time) any          { return t.Time }
func (postgresDialect) jsonContains(col string) string { return col + " @> jsonb_build_array(?::text)" }
func (postgresDialect) relatedID(col, op string) string {
	return "EXISTS (SELECT 1 FROM jsonb_array_elements(" + col + ") rel WHERE rel->>'prefect.resource.id' " + op + " ?)"
}
func (postgresDialect) jsonText(col, key string) string {
	return col + "->>'" + key + "'"
}
func (postgresDialect) forUpdate() string { return " FOR UPDATE" }
func (postgresDialect) like() string      { return "ILIKE" }
func (postgresDialect) epoch(col string) string {
	return "CAST(FLOOR(EXTRACT(EPOCH FROM " + col + ")) AS BIGINT)"
}
func (postgresDialect) isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// migrationLockKey names Praetor's advisory lock for migrations ("praetor"
// in ASCII, as a number).
const migrationLockKey = 0x70726165746f72

func (postgresDialect) migrationLock() string {
	return fmt.Sprintf("SELECT pg_advisory_xact_lock(%d)", migrationLockKey)
}

func openPostgres(ctx context.Context, dsn string, log *slog.Logger) (*DB, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	db.SetMaxOpenConns(20)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	return &DB{d: postgresDialect{}, read: db, stmts: stmtCache{pool: db}, writer: txWriter{db: db, log: log}}, nil
}

// txWriter runs each write in its own transaction; PostgreSQL handles
// concurrent writers itself, and row locks (SELECT … FOR UPDATE) serialise
// transitions of one run.
type txWriter struct {
	db  *sql.DB
	log *slog.Logger
}

func (w txWriter) write(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ctx = context.WithoutCancel(ctx)
	for attempt := 1; ; attempt++ {
		err := w.writeOnce(ctx, fn)
		if err == nil || !isDeadlock(err) || attempt == maxDeadlockRetries {
			return err
		}
		// Transactions that change runs of one workspace at once update
		// the same run counters as they commit, in the order of their
		// changes; when two orders cross, PostgreSQL aborts one, which
		// then runs again.
		w.log.Warn("write deadlocked, retrying", "attempt", attempt, "err", err)
	}
}

// maxDeadlockRetries bounds the attempts of one write.
const maxDeadlockRetries = 5

// isDeadlock reports whether err is PostgreSQL's deadlock_detected.
func isDeadlock(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "40P01"
}

func (w txWriter) writeOnce(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := guarded(ctx, w.log, tx, fn); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// close is a no-op: the pool is closed with the read side, which is the same *sql.DB.
func (w txWriter) close() error { return nil }
