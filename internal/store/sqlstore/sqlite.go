package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/praetorhq/praetor/internal/model"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// sqliteTimeLayout is fixed-width so that timestamps compare correctly as text.
const sqliteTimeLayout = "2006-01-02T15:04:05.000000Z"

type sqliteDialect struct{}

func (sqliteDialect) name() string           { return "sqlite" }
func (sqliteDialect) rebind(q string) string { return q }
func (sqliteDialect) time(t model.Time) any  { return t.UTC().Format(sqliteTimeLayout) }
func (sqliteDialect) jsonContains(col string) string {
	return "EXISTS (SELECT 1 FROM json_each(" + col + ") WHERE json_each.value = ?)"
}
func (sqliteDialect) relatedID(col, op string) string {
	return "EXISTS (SELECT 1 FROM json_each(" + col + ") WHERE json_extract(json_each.value, '$.\"prefect.resource.id\"') " + op + " ?)"
}
func (sqliteDialect) jsonText(col, key string) string {
	return "json_extract(" + col + ", '$.\"" + key + "\"')" // quoted: keys may hold dots
}
func (sqliteDialect) forUpdate() string { return "" }
func (sqliteDialect) like() string      { return "LIKE" }
func (sqliteDialect) epoch(col string) string {
	return "CAST(strftime('%s', " + col + ") AS INTEGER)"
}
func (sqliteDialect) isUniqueViolation(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// migrationLock is empty: the writer's BEGIN IMMEDIATE already excludes
// every other writer of the file, in this process or another.
func (sqliteDialect) migrationLock() string { return "" }

func sqliteDSN(path, synchronous string, extra ...string) string {
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "busy_timeout(10000)", "foreign_keys(1)", "synchronous(" + synchronous + ")"} {
		q.Add("_pragma", p)
	}
	for _, e := range extra {
		k, v, _ := strings.Cut(e, "=")
		q.Add(k, v)
	}
	return "file:" + path + "?" + q.Encode()
}

// openSQLite opens the database file at path; synchronous is SQLite's
// synchronous mode (see SQLiteSynchronous).
func openSQLite(ctx context.Context, path, synchronous string, log *slog.Logger, observe func(size int, took time.Duration)) (*DB, error) {
	path = strings.TrimPrefix(path, "sqlite://")
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create data directory: %w", err)
		}
	}
	// One connection writes, with BEGIN IMMEDIATE, so writers never meet
	// SQLITE_BUSY; readers use their own pool and see WAL snapshots.
	w, err := sql.Open("sqlite", sqliteDSN(path, synchronous, "_txlock=immediate"))
	if err != nil {
		return nil, fmt.Errorf("open sqlite writer: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", sqliteDSN(path, synchronous, "_pragma=query_only(1)"))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite readers: %w", err)
	}
	r.SetMaxOpenConns(8)
	stmts := &stmtCache{pool: w}
	return &DB{d: sqliteDialect{}, read: r, stmts: stmtCache{pool: r}, writeStmts: stmts, writer: newGroupCommitter(w, stmts, log, observe)}, nil
}

// groupCommitter is SQLite's single writer. Requests queue on a channel; the
// loop drains what is queued into one transaction, gives each request its own
// savepoint so a failing one rolls back alone, commits once, then answers
// every request. Under load this turns many small commits into one fsync.
type groupCommitter struct {
	db *sql.DB
	// stmts are the statements prepared on db's connection.
	stmts *stmtCache
	log   *slog.Logger
	// observe, when set, is told of each committed batch.
	observe func(size int, took time.Duration)
	queue   chan *writeRequest
	done    chan struct{}
	closing sync.Once
	mu      sync.RWMutex
	closed  bool
}

type writeRequest struct {
	ctx  context.Context
	fn   func(ctx context.Context, tx *sql.Tx) error
	err  error
	done chan struct{}
}

// maxGroup bounds how many requests share one transaction, so one commit's
// latency stays small.
const maxGroup = 256

func newGroupCommitter(db *sql.DB, stmts *stmtCache, log *slog.Logger, observe func(size int, took time.Duration)) *groupCommitter {
	g := &groupCommitter{db: db, stmts: stmts, log: log, observe: observe, queue: make(chan *writeRequest, 1024), done: make(chan struct{})}
	go g.loop()
	return g
}

var errClosed = errors.New("store is closed")

func (g *groupCommitter) write(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	req := &writeRequest{ctx: ctx, fn: fn, done: make(chan struct{})}
	g.mu.RLock()
	if g.closed {
		g.mu.RUnlock()
		return errClosed
	}
	select {
	case g.queue <- req:
	case <-ctx.Done():
		g.mu.RUnlock()
		return ctx.Err()
	}
	g.mu.RUnlock()
	// Once queued, the request runs to completion even if ctx ends, so a
	// caller never mistakes a committed write for a failed one.
	<-req.done
	return req.err
}

func (g *groupCommitter) loop() {
	defer close(g.done)
	batch := make([]*writeRequest, 0, maxGroup)
	for req := range g.queue {
		batch = append(batch[:0], req)
	drain:
		for len(batch) < maxGroup {
			select {
			case r, ok := <-g.queue:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		g.commit(batch)
		g.stmts.prepareMissed(context.Background(), g.log)
	}
}

// commit runs batch in shared transactions until every request is answered.
func (g *groupCommitter) commit(batch []*writeRequest) {
	for len(batch) > 0 {
		batch = g.try(batch)
	}
}

// try runs batch in one transaction and answers its requests, unless one of
// them loses the transaction (SQLite rolled it back, so its savepoint is
// gone): then try rolls back, answers that request with its error and the
// ones that failed on their own with theirs, and returns the others to run
// again in a fresh transaction. Each retry is shorter, so commit ends.
func (g *groupCommitter) try(batch []*writeRequest) (retry []*writeRequest) {
	ctx := context.Background()
	start := time.Now()
	tx, err := g.db.BeginTx(ctx, nil)
	if err != nil {
		answer(batch, fmt.Errorf("begin: %w", err))
		return nil
	}
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.err = err // it never started; its caller is gone
			continue
		}
		if !g.run(ctx, tx, r) {
			continue
		}
		// Whatever this transaction held is gone with it.
		_ = tx.Rollback()
		for j, o := range batch {
			if j == i || (j < i && o.err != nil) {
				close(o.done)
			} else {
				retry = append(retry, o)
			}
		}
		return retry
	}
	if err := tx.Commit(); err != nil {
		answer(batch, fmt.Errorf("commit: %w", err))
		return nil
	}
	if g.observe != nil {
		g.observe(len(batch), time.Since(start))
	}
	answer(batch, nil)
	return nil
}

// run runs one request inside its own savepoint of tx and reports whether
// the transaction was lost. A request whose fn fails or panics is rolled
// back to its savepoint alone.
func (g *groupCommitter) run(ctx context.Context, tx *sql.Tx, r *writeRequest) (lost bool) {
	stx := stmtTx{tx, g.stmts}
	if _, err := stx.ExecContext(ctx, "SAVEPOINT req"); err != nil {
		r.err = fmt.Errorf("savepoint: %w", err)
		return true
	}
	err := g.call(tx, r)
	if err != nil {
		if _, rbErr := tx.ExecContext(ctx, "ROLLBACK TO req"); rbErr != nil {
			r.err = errors.Join(err, fmt.Errorf("roll back to savepoint: %w", rbErr))
			return true
		}
	}
	if _, relErr := stx.ExecContext(ctx, "RELEASE req"); relErr != nil {
		r.err = errors.Join(err, fmt.Errorf("release savepoint: %w", relErr))
		return true
	}
	r.err = err
	return false
}

// call runs r's fn, turning a panic into its error so that the writer
// goroutine, and every other request of the batch, survives it.
func (g *groupCommitter) call(tx *sql.Tx, r *writeRequest) error {
	return guarded(context.WithoutCancel(r.ctx), g.log, tx, r.fn)
}

// answer completes every request of batch that has no error of its own with
// err (nil after a commit), and wakes its caller.
func answer(batch []*writeRequest, err error) {
	for _, r := range batch {
		if r.err == nil {
			r.err = err
		}
		close(r.done)
	}
}

func (g *groupCommitter) close() error {
	g.closing.Do(func() {
		g.mu.Lock()
		g.closed = true
		close(g.queue)
		g.mu.Unlock()
	})
	<-g.done
	g.stmts.close()
	// SQLite keeps no planner statistics until asked; its advice is to run
	// optimize before closing a connection that wrote.
	_, err := g.db.Exec("PRAGMA optimize")
	return errors.Join(err, g.db.Close())
}

// Optimize refreshes SQLite's planner statistics where they are stale, as
// SQLite advises long-lived connections to do every few hours (Close runs
// it too). PostgreSQL's autovacuum keeps its own statistics: nothing to do.
func (db *DB) Optimize(ctx context.Context) error {
	if _, ok := db.writer.(*groupCommitter); !ok {
		return nil
	}
	return db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "PRAGMA optimize"); err != nil {
			return fmt.Errorf("optimize: %w", err)
		}
		return nil
	})
}
