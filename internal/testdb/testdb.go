// Package testdb gives tests a fresh, empty database on each engine Praetor
// supports: a SQLite file in the test's temporary directory, and a
// throwaway database on the PostgreSQL server PRAETOR_TEST_POSTGRES_URL
// names (scripts/test starts one).
package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // the "sqlite" database/sql driver

	"github.com/praetorhq/praetor/internal/testenv"
)

// EnvPostgres names the PostgreSQL server to create test databases in.
const EnvPostgres = "PRAETOR_TEST_POSTGRES_URL"

// Engines runs fn as subtests "sqlite" and "postgres", each with the DSN of
// a fresh database; the PostgreSQL one is skipped when EnvPostgres is unset.
func Engines(t *testing.T, fn func(t *testing.T, dsn string)) {
	t.Helper()
	EachEngine(t, func(t *testing.T, fresh func(testing.TB) string) { fn(t, fresh(t)) })
}

// EachEngine runs fn as subtests "sqlite" and "postgres", each with fresh,
// which creates another empty database of that engine on every call, for
// tests that need more than one.
func EachEngine(t *testing.T, fn func(t *testing.T, fresh func(testing.TB) string)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite) })
	t.Run("postgres", func(t *testing.T) { fn(t, Postgres) })
}

// SQLite returns the path of a new database file in t.TempDir().
func SQLite(t testing.TB) string {
	return filepath.Join(t.TempDir(), "praetor.db")
}

// Postgres creates an empty database with a random name and returns its
// URL. The database is dropped when the test ends: its cleanup is
// registered first, so it runs after the cleanups that close the store.
func Postgres(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvPostgres)
	if base == "" {
		testenv.Missing(t, EnvPostgres+" is not set: no PostgreSQL to test against")
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", EnvPostgres, err)
	}
	suffix := make([]byte, 6)
	rand.Read(suffix)
	name := "praetor_test_" + hex.EncodeToString(suffix)
	ident := pgx.Identifier{name}.Sanitize()
	if err := admin(base, "CREATE DATABASE "+ident); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := admin(base, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}

// admin runs one statement on the server's maintenance database.
func admin(base, sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

// FailInserts makes every INSERT into table of the database dsn names fail,
// as a failing disk would, until repair is called; the test's end repairs
// it too. A trigger does it, so a server using the database keeps its own
// connections and sees the failure on its next write.
func FailInserts(t testing.TB, dsn, table string) (repair func()) {
	t.Helper()
	trigger := "praetor_test_fail_" + table
	var breakIt, repairIt []string
	if isPostgres(dsn) {
		fn := pgx.Identifier{trigger}.Sanitize()
		breakIt = []string{
			`CREATE FUNCTION ` + fn + `() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected write failure'; END $$`,
			`CREATE TRIGGER ` + fn + ` BEFORE INSERT ON ` + pgx.Identifier{table}.Sanitize() + ` FOR EACH ROW EXECUTE FUNCTION ` + fn + `()`,
		}
		repairIt = []string{`DROP TRIGGER IF EXISTS ` + fn + ` ON ` + pgx.Identifier{table}.Sanitize(), `DROP FUNCTION IF EXISTS ` + fn + `()`}
	} else {
		breakIt = []string{`CREATE TRIGGER "` + trigger + `" BEFORE INSERT ON "` + table + `" BEGIN SELECT RAISE(ABORT, 'injected write failure'); END`}
		repairIt = []string{`DROP TRIGGER IF EXISTS "` + trigger + `"`}
	}
	if err := execOn(dsn, breakIt...); err != nil {
		t.Fatalf("break inserts into %s: %v", table, err)
	}
	var once sync.Once
	repair = func() {
		once.Do(func() {
			if err := execOn(dsn, repairIt...); err != nil {
				t.Errorf("repair inserts into %s: %v", table, err)
			}
		})
	}
	t.Cleanup(repair)
	return repair
}

func isPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// execOn runs statements on its own connection to the database dsn names.
func execOn(dsn string, stmts ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	driver, source := "sqlite", "file:"+dsn+"?_pragma=busy_timeout(10000)"
	if isPostgres(dsn) {
		driver, source = "pgx", dsn
	}
	db, err := sql.Open(driver, source)
	if err != nil {
		return err
	}
	defer db.Close()
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// Text returns everything the database dsn names holds, as text: the
// SQLite file with its write-ahead log, or every PostgreSQL table's rows.
// Tests search it for what must never be stored in clear.
func Text(t testing.TB, dsn string) string {
	t.Helper()
	if !isPostgres(dsn) {
		var b strings.Builder
		for _, suffix := range []string{"", "-wal"} {
			data, err := os.ReadFile(dsn + suffix)
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			b.Write(data)
		}
		return b.String()
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, table := range tables {
		var text *string
		if err := conn.QueryRow(ctx, `SELECT string_agg(x::text, ' ') FROM `+pgx.Identifier{table}.Sanitize()+` x`).Scan(&text); err != nil {
			t.Fatal(err)
		}
		if text != nil {
			b.WriteString(*text)
		}
	}
	return b.String()
}
