package sqlstore

import (
	"context"
	"database/sql"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/praetorhq/praetor/internal/testdb"
)

// schema is what the migrations define, by name: each table's columns, and
// each index with its table and columns.
type schema struct {
	columns map[string][]string // table → sorted column names
	indexes map[string]string   // index name → "table(col, …)"
}

// TestMigrationParity applies both engines' migrations and checks that they
// define the same tables, columns and indexes, so the two trees cannot drift.
func TestMigrationParity(t *testing.T) {
	ctx := t.Context()
	lite, err := Open(ctx, testdb.SQLite(t), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	pg, err := Open(ctx, testdb.Postgres(t), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()

	want, err := sqliteSchema(ctx, lite)
	if err != nil {
		t.Fatal(err)
	}
	got, err := postgresSchema(ctx, pg)
	if err != nil {
		t.Fatal(err)
	}
	if len(want.columns) < 10 || len(want.indexes) < 10 {
		t.Fatalf("SQLite schema has %d tables and %d indexes: the introspection is broken", len(want.columns), len(want.indexes))
	}
	for _, table := range union(want.columns, got.columns) {
		if w, g := want.columns[table], got.columns[table]; !slices.Equal(w, g) {
			t.Errorf("table %s: SQLite columns %v, PostgreSQL columns %v", table, w, g)
		}
	}
	for _, index := range union(want.indexes, got.indexes) {
		if w, g := want.indexes[index], got.indexes[index]; w != g {
			t.Errorf("index %s: SQLite %q, PostgreSQL %q", index, w, g)
		}
	}
}

func union[V any](a, b map[string]V) []string {
	keys := slices.Collect(maps.Keys(a))
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// names collects a query's single text column.
func names(rows *sql.Rows, err error) ([]string, error) {
	if err != nil {
		return nil, err
	}
	return collect(rows, func(sc scanner) (string, error) {
		var s string
		return s, sc.Scan(&s)
	})
}

func sqliteSchema(ctx context.Context, db *DB) (*schema, error) {
	s := &schema{columns: map[string][]string{}, indexes: map[string]string{}}
	tables, err := names(db.read.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`))
	if err != nil {
		return nil, err
	}
	for _, table := range tables {
		cols, err := names(db.read.QueryContext(ctx, `SELECT name FROM pragma_table_info(?) ORDER BY name`, table))
		if err != nil {
			return nil, err
		}
		s.columns[table] = cols
		// Explicit indexes only: the implicit ones of PRIMARY KEY and UNIQUE
		// constraints are named by SQLite and PostgreSQL differently.
		indexes, err := names(db.read.QueryContext(ctx, `SELECT name FROM pragma_index_list(?) WHERE origin = 'c'`, table))
		if err != nil {
			return nil, err
		}
		for _, name := range indexes {
			cols, err := names(db.read.QueryContext(ctx, `SELECT name FROM pragma_index_info(?) ORDER BY seqno`, name))
			if err != nil {
				return nil, err
			}
			s.indexes[name] = table + "(" + strings.Join(cols, ", ") + ")"
		}
	}
	return s, nil
}

func postgresSchema(ctx context.Context, db *DB) (*schema, error) {
	s := &schema{columns: map[string][]string{}, indexes: map[string]string{}}
	rows, err := db.read.QueryContext(ctx, `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = current_schema() ORDER BY table_name, column_name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var table, col string
		if err := rows.Scan(&table, &col); err != nil {
			return nil, err
		}
		s.columns[table] = append(s.columns[table], col)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// Indexes not backing a constraint, with their key columns in order.
	idx, err := db.read.QueryContext(ctx, `
		SELECT i.relname, t.relname, a.attname
		FROM pg_index x
		JOIN pg_class i ON i.oid = x.indexrelid
		JOIN pg_class t ON t.oid = x.indrelid
		JOIN pg_namespace n ON n.oid = t.relnamespace
		CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, ord)
		JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
		WHERE n.nspname = current_schema()
		  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
		ORDER BY i.relname, k.ord`)
	if err != nil {
		return nil, err
	}
	defer idx.Close()
	cols := map[string][]string{}
	tables := map[string]string{}
	for idx.Next() {
		var name, table, col string
		if err := idx.Scan(&name, &table, &col); err != nil {
			return nil, err
		}
		tables[name] = table
		cols[name] = append(cols[name], col)
	}
	if err := idx.Err(); err != nil {
		return nil, err
	}
	for name, table := range tables {
		s.indexes[name] = table + "(" + strings.Join(cols[name], ", ") + ")"
	}
	return s, nil
}
