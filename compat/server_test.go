package compat

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// engines names the servers every scenario runs against: by default praetor
// on each storage engine. PRAETOR_TEST_ENGINES, a comma-separated list, can
// narrow them or name "prefect", Prefect's own server, to check the
// scenarios themselves against the reference implementation.
func engines() []string {
	if v := os.Getenv("PRAETOR_TEST_ENGINES"); v != "" {
		return strings.Split(v, ",")
	}
	return []string{"sqlite", "postgres"}
}

// forEachEngine runs fn as one subtest per engine, each against a fresh
// server with an empty database.
func forEachEngine(t *testing.T, fn func(t *testing.T, api *apiClient)) {
	t.Helper()
	requirePython(t)
	for _, engine := range engines() {
		t.Run(engine, func(t *testing.T) {
			fn(t, startServer(t, engine))
		})
	}
}

// startServer starts the server an engine names and stops it when the test
// ends.
func startServer(t *testing.T, engine string) *apiClient {
	t.Helper()
	if engine != "prefect" {
		return startPraetor(t, engine)
	}
	if prefectBin == "" {
		t.Skip("PRAETOR_TEST_PREFECT is not set: cannot start Prefect's own server")
	}
	p, api, err := startPrefectServer(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.stop(15 * time.Second)
		if t.Failed() {
			t.Logf("%s log:\n%s", p.name, tailLines(p.log(), 60))
		}
	})
	return api
}

// startPraetor starts a praetor server on a free port with its own
// PRAETOR_HOME (and, for postgres, its own database), waits until it is
// healthy and stops it when the test ends.
func startPraetor(t *testing.T, engine string) *apiClient {
	t.Helper()
	env := environWithout("PRAETOR_HOME=", "PRAETOR_DATABASE_URL=")
	switch engine {
	case "sqlite":
	case "postgres":
		if postgresURL == "" {
			t.Skip("PRAETOR_TEST_POSTGRES_URL is not set: no PostgreSQL to test against (scripts/test starts one)")
		}
		env = append(env, "PRAETOR_DATABASE_URL="+createDatabase(t))
	default:
		t.Fatalf("unknown engine %q", engine)
	}
	bin := praetorBinary(t)
	dir := t.TempDir()
	env = append(env, "PRAETOR_HOME="+filepath.Join(dir, "home"))
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	p, err := startProcess("praetor ("+engine+")", filepath.Join(dir, "praetor.log"), env,
		bin, "server", "start", "--host", "127.0.0.1", "--port", port)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.stop(10 * time.Second)
		log := p.log()
		if raceEnabled {
			if i := strings.Index(log, "WARNING: DATA RACE"); i >= 0 {
				t.Errorf("the %s server reported a data race:\n%s", engine, truncate(log[i:], 12000))
			}
		}
		if t.Failed() {
			t.Logf("%s log (exit: %v):\n%s", p.name, p.waitErr, tailLines(log, 60))
		}
	})
	api := newAPIClient("http://127.0.0.1:" + port + "/api")
	api.serverEnv = env
	if err := waitHealthy(api, p, 90*time.Second); err != nil {
		t.Fatal(err)
	}
	return api
}

// createDatabase creates an empty database with a random name on the test
// PostgreSQL server, drops it when the test ends, and returns its URL.
func createDatabase(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, postgresURL)
	if err != nil {
		t.Fatalf("connecting to PRAETOR_TEST_POSTGRES_URL: %v", err)
	}
	defer conn.Close(ctx)

	suffix := make([]byte, 6)
	rand.Read(suffix)
	name := "praetor_compat_" + hex.EncodeToString(suffix)
	ident := pgx.Identifier{name}.Sanitize()
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+ident); err != nil {
		t.Fatalf("creating database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, postgresURL)
		if err != nil {
			t.Errorf("dropping database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err != nil {
			t.Errorf("dropping database %s: %v", name, err)
		}
	})

	u, err := url.Parse(postgresURL)
	if err != nil {
		t.Fatalf("parsing PRAETOR_TEST_POSTGRES_URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "\n… (truncated)"
}
