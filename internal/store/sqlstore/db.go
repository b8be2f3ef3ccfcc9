// Package sqlstore implements store.Store on SQLite (embedded, the default) and
// PostgreSQL. The DML is shared; what differs between the engines (DDL, types,
// JSON operators, locking, how writes are committed) lives in the dialect files
// sqlite.go and postgres.go and in one migrations directory per engine.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"runtime/debug"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/clock"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/secretbox"
	"github.com/praetorhq/praetor/internal/store"
)

//go:embed migrations
var migrationFS embed.FS

// DB is a store backed by a SQL database.
type DB struct {
	d      dialect
	read   *sql.DB
	writer writer
	log    *slog.Logger
	clock  clock.Clock
	// ingested, when set, is told how many client events each IngestEvents
	// stored.
	ingested func(n int)
	// publish receives the events a write emitted, after it committed.
	publish store.Publisher
	// secrets seals block documents' data; nil refuses to store them.
	secrets *secretbox.Keyring
	// slotWait is how long a deployment's run waits, AwaitingConcurrencySlot,
	// before it may try for a slot again.
	slotWait time.Duration
	// stmts holds the read pool's prepared statements (see prepared).
	stmts stmtCache
	// writeStmts, on SQLite, holds the writer's (see fixed); nil on
	// PostgreSQL, whose driver caches every statement itself.
	writeStmts *stmtCache
}

// OnEvents sets where the events that transitions emit (Prefect's
// prefect.flow-run.* state events) go once their transaction commits.
func (db *DB) OnEvents(p store.Publisher) { db.publish = p }

// published hands committed events to the publisher OnEvents set.
func (db *DB) published(ws uuid.UUID, events []*model.Event) {
	if db.publish != nil && len(events) > 0 {
		db.publish.Publish(ws, events)
	}
}

// writer runs write transactions. SQLite funnels every write through one
// connection with group commit; PostgreSQL runs each in its own transaction.
// fn gets a context that carries ctx's values but not its cancellation: once
// a write has started, a caller that hangs up must not interrupt a
// transaction that other callers' writes share, nor turn a commit into an
// error its caller never sees. fn may run more than once: when SQLite loses
// a shared transaction, the writer runs the other requests again in a fresh
// one, so fn must start from its inputs each time (not from what an earlier
// run left in them) and set, not accumulate, what it reports.
type writer interface {
	write(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error
	close() error
}

// Option adjusts how Open opens a database.
type Option func(*options) error

type options struct {
	slotWait          time.Duration
	sqliteSynchronous string
	clock             clock.Clock
	observer          Observer
	secrets           *secretbox.Keyring
}

// Clock sets where the store's timestamps come from (created, updated, state
// times); clock.Real by default.
func Clock(c clock.Clock) Option {
	return func(o *options) error {
		o.clock = c
		return nil
	}
}

// Secrets sets the keyring that seals block documents' data at rest.
// Without it the store refuses to read or write block documents, rather
// than keep them in clear.
func Secrets(k *secretbox.Keyring) Option {
	return func(o *options) error {
		o.secrets = k
		return nil
	}
}

// DefaultSlotWait is how long a deployment's run waits for a concurrency
// slot before it tries again (Prefect's concurrency_slot_wait_seconds).
const DefaultSlotWait = 30 * time.Second

// SlotWait sets how long a run that found its deployment's concurrency
// limit full waits, AwaitingConcurrencySlot, before it may try again;
// DefaultSlotWait when not set.
func SlotWait(d time.Duration) Option {
	return func(o *options) error {
		if d < 0 {
			return fmt.Errorf("concurrency slot wait %s: want zero or more", d)
		}
		o.slotWait = d
		return nil
	}
}

// Observer is told of the store's work, for metrics; nil fields are skipped.
// It keeps the store free of any metrics library.
type Observer struct {
	// WriterBatch is told of each transaction the SQLite writer commits:
	// how many write requests shared it and how long it took.
	WriterBatch func(size int, took time.Duration)
	// EventsIngested is told how many client events were stored.
	EventsIngested func(n int)
}

// Observe sets the store's observer.
func Observe(obs Observer) Option {
	return func(o *options) error {
		o.observer = obs
		return nil
	}
}

// SQLiteSynchronous sets SQLite's synchronous mode (PostgreSQL ignores it):
// FULL, the default, syncs the write-ahead log at every commit, so a commit
// acknowledged to a client survives a power cut or an OS crash; NORMAL
// syncs less often and may lose the last commits then (never the database's
// integrity), for more writes per second.
func SQLiteSynchronous(mode string) Option {
	return func(o *options) error {
		switch m := strings.ToUpper(mode); m {
		case "FULL", "NORMAL":
			o.sqliteSynchronous = m
			return nil
		}
		return fmt.Errorf("SQLite synchronous mode %q: want FULL or NORMAL", mode)
	}
}

// guarded runs one write's fn in tx, turning a panic into that write's error
// (logged with its stack), so that a bug in one write takes neither the
// writer nor a pooled connection down with it.
func guarded(ctx context.Context, log *slog.Logger, tx *sql.Tx, fn func(ctx context.Context, tx *sql.Tx) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			log.Error("write panicked", "panic", p, "stack", string(debug.Stack()))
			err = fmt.Errorf("write panicked: %v", p)
		}
	}()
	return fn(ctx, tx)
}

// Open connects to the database named by dsn (a postgres:// URL, or a SQLite
// file path) and applies pending migrations. It refuses a schema newer than
// this binary knows.
func Open(ctx context.Context, dsn string, log *slog.Logger, opts ...Option) (*DB, error) {
	if log == nil {
		log = slog.Default()
	}
	o := options{sqliteSynchronous: "FULL", clock: clock.Real, slotWait: DefaultSlotWait}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	var (
		db  *DB
		err error
	)
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		db, err = openPostgres(ctx, dsn, log)
	} else {
		db, err = openSQLite(ctx, dsn, o.sqliteSynchronous, log, o.observer.WriterBatch)
	}
	if err != nil {
		return nil, err
	}
	db.log = log
	db.clock, db.slotWait = o.clock, o.slotWait
	db.secrets = o.secrets
	db.ingested = o.observer.EventsIngested
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// now is the store's time: every timestamp the store writes comes from it.
func (db *DB) now() time.Time { return db.clock.Now() }

// Pools returns the connection pools by name, for their statistics: on
// SQLite the readers' pool and the writer's one connection, on PostgreSQL
// the one pool.
func (db *DB) Pools() map[string]*sql.DB {
	if g, ok := db.writer.(*groupCommitter); ok {
		return map[string]*sql.DB{"sqlite_read": db.read, "sqlite_write": g.db}
	}
	return map[string]*sql.DB{db.d.name(): db.read}
}

// Engine names the database engine: "sqlite" or "postgres".
func (db *DB) Engine() string { return db.d.name() }

// Close waits for queued writes to commit and closes the connections.
func (db *DB) Close() error {
	werr := db.writer.close()
	db.stmts.close()
	rerr := db.read.Close()
	return errors.Join(werr, rerr)
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.read.PingContext(ctx) }

func (db *DB) migrate(ctx context.Context) error {
	dir := "migrations/" + db.d.name()
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return fmt.Errorf("read migrations: %w", err)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	return db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		// Servers starting at once on one database take turns: the second
		// finds the schema current.
		if lock := db.d.migrationLock(); lock != "" {
			if _, err := tx.ExecContext(ctx, lock); err != nil {
				return fmt.Errorf("lock migrations: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied TEXT NOT NULL)`); err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		// Versions are the files' numbers and each is applied once, whether
		// or not a lower one came later: branches that take numbers side by
		// side (0013, 0014, 0015) merge in any order.
		rows, err := tx.QueryContext(ctx, `SELECT version FROM schema_migrations`)
		if err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		applied, err := collect(rows, func(row scanner) (int, error) {
			var v int
			return v, row.Scan(&v)
		})
		if err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		known := map[int]bool{}
		for _, e := range entries {
			v, err := strconv.Atoi(strings.SplitN(e.Name(), "_", 2)[0])
			if err != nil || known[v] {
				return fmt.Errorf("migration %s is out of sequence", e.Name())
			}
			known[v] = true
		}
		for _, v := range applied {
			if !known[v] {
				return fmt.Errorf("database schema version %d is newer than this binary knows (%d); upgrade praetor", v, len(entries))
			}
		}
		for _, e := range entries {
			version, _ := strconv.Atoi(strings.SplitN(e.Name(), "_", 2)[0])
			if slices.Contains(applied, version) {
				continue
			}
			body, err := fs.ReadFile(migrationFS, dir+"/"+e.Name())
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return fmt.Errorf("apply migration %s: %w", e.Name(), err)
			}
			if _, err := tx.ExecContext(ctx, db.d.rebind(`INSERT INTO schema_migrations (version, applied) VALUES (?, ?)`), version, db.now().UTC().Format(time.RFC3339)); err != nil {
				return err
			}
			db.log.Info("applied migration", "engine", db.d.name(), "migration", e.Name())
		}
		return nil
	})
}

// query runs a read query against the read pool.
func (db *DB) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return db.read.QueryContext(ctx, db.d.rebind(q), args...)
}

// readTx runs fn in a read-only transaction on the read pool, so that its
// reads see one snapshot: SQLite's WAL gives a read transaction one;
// PostgreSQL's READ COMMITTED would give each statement its own, so it
// reads in REPEATABLE READ.
func (db *DB) readTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	opts := &sql.TxOptions{ReadOnly: true}
	if db.d.name() == "postgres" {
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := db.read.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin read: %w", err)
	}
	defer tx.Rollback() // a read has nothing to undo: it only ends it
	return fn(tx)
}

// prepared returns the read pool's prepared statement of q, prepared on
// first use: SQLite otherwise parses the text on every call, which was 38%
// of the CPU of reading one flow run. q must be a fixed text, never one
// built from a request's filter, so that the cache stays small.
func (db *DB) prepared(ctx context.Context, q string) (*sql.Stmt, error) {
	return db.stmts.get(ctx, db.d.rebind(q))
}

// stmtCache holds the statements prepared on one pool, by their SQL text.
type stmtCache struct {
	pool  *sql.DB
	stmts sync.Map // SQL text → *sql.Stmt
	// missed holds the texts a write transaction asked for before they
	// were prepared (see inTx); hits and misses count the statements inTx
	// found prepared and not.
	missed       sync.Map // SQL text → struct{}
	hits, misses atomic.Int64
}

// get returns the statement of q, prepared on first use.
func (c *stmtCache) get(ctx context.Context, q string) (*sql.Stmt, error) {
	if s, ok := c.stmts.Load(q); ok {
		return s.(*sql.Stmt), nil
	}
	s, err := c.pool.PrepareContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	if prev, loaded := c.stmts.LoadOrStore(q, s); loaded {
		s.Close()
		return prev.(*sql.Stmt), nil
	}
	return s, nil
}

// inTx returns the statement of q bound to tx, or nil when q is not
// prepared yet. It cannot prepare q itself: tx holds the SQLite writer's
// one connection, which preparing on the pool would wait for; it notes q
// instead, for prepareMissed to prepare once the transaction is over.
func (c *stmtCache) inTx(ctx context.Context, tx *sql.Tx, q string) *sql.Stmt {
	if s, ok := c.stmts.Load(q); ok {
		c.hits.Add(1)
		return tx.StmtContext(ctx, s.(*sql.Stmt))
	}
	c.missed.Store(q, struct{}{})
	c.misses.Add(1)
	return nil
}

// prepareMissed prepares the texts inTx missed; the writer calls it
// between transactions, when its connection is free.
func (c *stmtCache) prepareMissed(ctx context.Context, log *slog.Logger) {
	c.missed.Range(func(q, _ any) bool {
		c.missed.Delete(q)
		if _, err := c.get(ctx, q.(string)); err != nil {
			log.Warn("prepare a write's statement", "err", err)
		}
		return true
	})
}

func (c *stmtCache) close() {
	c.stmts.Range(func(_, s any) bool {
		s.(*sql.Stmt).Close()
		return true
	})
}

// fixed returns tx as a queryer whose statements run prepared once on the
// writer's connection (SQLite's writer; PostgreSQL's driver caches them
// already): a transition's statements were 30% of its CPU in SQLite
// parsing their text. Only a write's fixed texts may go through it, never
// one built from a request's input, so that the cache stays small.
func (db *DB) fixed(tx *sql.Tx) queryer {
	if db.writeStmts == nil {
		return tx
	}
	return stmtTx{tx, db.writeStmts}
}

// stmtTx runs tx's statements prepared where they are (see fixed).
type stmtTx struct {
	*sql.Tx
	stmts *stmtCache
}

func (t stmtTx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if s := t.stmts.inTx(ctx, t.Tx, q); s != nil {
		return s.ExecContext(ctx, args...)
	}
	return t.Tx.ExecContext(ctx, q, args...)
}

func (t stmtTx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if s := t.stmts.inTx(ctx, t.Tx, q); s != nil {
		return s.QueryContext(ctx, args...)
	}
	return t.Tx.QueryContext(ctx, q, args...)
}

func (t stmtTx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if s := t.stmts.inTx(ctx, t.Tx, q); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return t.Tx.QueryRowContext(ctx, q, args...)
}

// queryer is what both *sql.DB and *sql.Tx offer, so read helpers can run
// inside a write transaction or on the read pool.
type queryer interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
}

// dialect is what differs between the engines in the shared DML.
type dialect interface {
	name() string
	// rebind turns ? placeholders into the engine's form.
	rebind(q string) string
	// time converts a timestamp to the engine's column value.
	time(t model.Time) any
	// jsonContains is a condition: the JSON array in col contains the string
	// bound to the next placeholder.
	jsonContains(col string) string
	// relatedID is a condition: some related resource's id compares with op
	// to the value bound to the next placeholder.
	relatedID(col, op string) string
	// forUpdate is the row-lock suffix for a SELECT inside a write.
	forUpdate() string
	// jsonText is the text of the top-level key of the JSON object in col,
	// NULL when it has none.
	jsonText(col, key string) string
	// like is the case-insensitive substring operator.
	like() string
	// epoch is an integer expression: the whole seconds from 1970 to the
	// timestamp in col.
	epoch(col string) string
	// isUniqueViolation reports whether err is a unique-constraint failure.
	isUniqueViolation(err error) bool
	// migrationLock is a statement that, inside the migrating transaction,
	// holds off other processes' migrations until it ends; "" when the
	// transaction's own write lock does.
	migrationLock() string
}

// rebindDollar rewrites ? placeholders as $1, $2, …, skipping quoted text.
func rebindDollar(q string) string {
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	inQuote := false
	for i := 0; i < len(q); i++ {
		c := q[i]
		if c == '\'' {
			inQuote = !inQuote
		}
		if c == '?' && !inQuote {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
