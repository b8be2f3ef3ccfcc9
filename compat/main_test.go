// Package compat drives the real Prefect Python client (the pinned prefect
// package in a virtualenv) against a praetor server process, once per storage
// engine, and checks what the server recorded through its HTTP API. Where a
// Prefect server can be started from the same virtualenv, it also compares the
// shape of praetor's responses with Prefect's own.
//
// It also holds the tests of the server as a process that need no client:
// start-up on a shared database, and durability across SIGKILL.
//
// The tests need these environment variables, all set by scripts/test:
//
//	PRAETOR_TEST_PYTHON        a python with prefect==3.8.8 (without it every client test skips)
//	PRAETOR_TEST_PREFECT       its prefect CLI (for the Prefect-server comparison)
//	PRAETOR_TEST_POSTGRES_URL  a PostgreSQL server to create throwaway databases in
package compat

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/praetorhq/praetor/internal/testenv"
)

var (
	pythonBin  = os.Getenv("PRAETOR_TEST_PYTHON")
	prefectBin = os.Getenv("PRAETOR_TEST_PREFECT")

	// workDir holds what the package shares between tests: the praetor
	// binary and the Prefect server's home. TestMain removes it.
	workDir string

	// raceEnabled is set when the tests run under -race; the server is then
	// built with -race too and a data race it reports fails the test.
	raceEnabled bool
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "praetor-compat-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "compat:", err)
		return 1
	}
	workDir = dir
	defer os.RemoveAll(dir)
	defer oracle.stop()
	return m.Run()
}

// requirePython skips the test when no Prefect client is configured.
func requirePython(t *testing.T) {
	t.Helper()
	if pythonBin == "" {
		testenv.Missing(t, "PRAETOR_TEST_PYTHON is not set: these tests need a python with prefect==3.8.8 (scripts/test provides one)")
	}
}

var praetorBuild struct {
	once sync.Once
	path string
	err  error
}

// praetorBinary builds ./cmd/praetor once for the package and returns its path.
func praetorBinary(t *testing.T) string {
	t.Helper()
	praetorBuild.once.Do(func() {
		path := filepath.Join(workDir, "praetor")
		args := []string{"build", "-o", path}
		if raceEnabled {
			args = append(args, "-race")
		}
		cmd := exec.Command("go", append(args, "./cmd/praetor")...)
		cmd.Dir = ".." // the module root
		if out, err := cmd.CombinedOutput(); err != nil {
			praetorBuild.err = fmt.Errorf("go %v: %v\n%s", args, err, out)
			return
		}
		praetorBuild.path = path
	})
	if praetorBuild.err != nil {
		t.Fatalf("building praetor: %v", praetorBuild.err)
	}
	return praetorBuild.path
}
