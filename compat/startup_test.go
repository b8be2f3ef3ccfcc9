package compat

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to read the database directly
	"github.com/praetorhq/praetor/internal/testdb"
)

// Two servers started at once on one empty PostgreSQL database both come
// up: one applies the migrations and creates the default workspace, the
// other waits for it and serves the same workspace.
func TestConcurrentStartOnEmptyPostgres(t *testing.T) {
	praetorBinary(t) // built before the clock starts
	for round := range 3 {
		dsn := testdb.Postgres(t)
		env := append(environWithout("PRAETOR_HOME=", "PRAETOR_DATABASE_URL="), "PRAETOR_DATABASE_URL="+dsn)
		dir := t.TempDir()
		var (
			procs [2]*process
			apis  [2]*apiClient
		)
		for i := range procs {
			procs[i], apis[i] = launchPraetor(t, fmt.Sprintf("praetor %d (round %d)", i, round),
				append(env, "PRAETOR_HOME="+filepath.Join(dir, fmt.Sprint("home", i))), filepath.Join(dir, fmt.Sprintf("praetor%d.log", i)))
		}
		var wg sync.WaitGroup
		errs := make([]error, len(procs))
		for i := range procs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = waitHealthy(apis[i], procs[i], 90*time.Second)
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d, server %d: %v\n%s", round, i, err, tailLines(procs[i].log(), 30))
			}
		}
		// Both serve one default workspace: a flow made through one is read
		// through the other.
		ctx := t.Context()
		var flow struct{ ID string }
		if err := apis[0].call(ctx, "POST", "/flows/", map[string]any{"name": "shared"}, &flow); err != nil {
			t.Fatal(err)
		}
		if err := apis[1].call(ctx, "GET", "/flows/"+flow.ID, nil, nil); err != nil {
			t.Fatalf("round %d: the second server does not see the first one's flow: %v", round, err)
		}
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		var defaults, accounts, versions int
		err = db.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM workspaces WHERE is_default),
			(SELECT COUNT(*) FROM accounts WHERE handle = 'default'), (SELECT COUNT(*) FROM schema_migrations)`).Scan(&defaults, &accounts, &versions)
		db.Close()
		if err != nil {
			t.Fatal(err)
		}
		if defaults != 1 || accounts != 1 || versions == 0 {
			t.Fatalf("round %d: %d default workspaces, %d default accounts, %d migrations recorded", round, defaults, accounts, versions)
		}
		for _, p := range procs {
			p.stop(10 * time.Second)
		}
	}
}
