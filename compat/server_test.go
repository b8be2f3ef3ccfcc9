package compat

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/praetorhq/praetor/internal/testdb"
	"github.com/praetorhq/praetor/internal/testenv"
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
// server with an empty database. The engines' subtests run in parallel
// (most of their time is spent waiting on Python processes): fn shares
// nothing between them, and the caller does nothing after forEachEngine,
// which returns before they run.
func forEachEngine(t *testing.T, fn func(t *testing.T, api *apiClient)) {
	t.Helper()
	requirePython(t)
	for _, engine := range engines() {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
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
		testenv.Missing(t, "PRAETOR_TEST_PREFECT is not set: cannot start Prefect's own server")
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
// PRAETOR_HOME (and, for postgres, its own database) and the settings of
// extraEnv, waits until it is healthy and stops it when the test ends.
func startPraetor(t *testing.T, engine string, extraEnv ...string) *apiClient {
	t.Helper()
	env := append(environWithout("PRAETOR_HOME=", "PRAETOR_DATABASE_URL="), extraEnv...)
	switch engine {
	case "sqlite":
	case "postgres":
		env = append(env, "PRAETOR_DATABASE_URL="+testdb.Postgres(t))
	default:
		t.Fatalf("unknown engine %q", engine)
	}
	dir := t.TempDir()
	env = append(env, "PRAETOR_HOME="+filepath.Join(dir, "home"))
	p, api := launchPraetor(t, "praetor ("+engine+")", env, filepath.Join(dir, "praetor.log"))
	if err := waitHealthy(api, p, 90*time.Second); err != nil {
		t.Fatal(err)
	}
	return api
}

// launchPraetor starts `praetor server start` on a free port of 127.0.0.1
// with env, its output in logPath, and returns it without waiting. When the
// test ends the process is stopped, and its log is checked for data races
// and shown if the test failed.
func launchPraetor(t *testing.T, name string, env []string, logPath string) (*process, *apiClient) {
	t.Helper()
	bin := praetorBinary(t)
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	p, err := startProcess(name, logPath, env, bin, "server", "start", "--host", "127.0.0.1", "--port", port)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.stop(10 * time.Second)
		log := p.log()
		if raceEnabled {
			if i := strings.Index(log, "WARNING: DATA RACE"); i >= 0 {
				t.Errorf("%s reported a data race:\n%s", name, truncate(log[i:], 12000))
			}
		}
		if t.Failed() {
			t.Logf("%s log (exit: %v):\n%s", name, p.waitErr, tailLines(log, 60))
		}
	})
	api := newAPIClient("http://127.0.0.1:" + port + "/api")
	api.serverEnv = env
	api.serverLog = p.log
	return p, api
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "\n… (truncated)"
}
