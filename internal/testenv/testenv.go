// Package testenv decides what a test does when a part it needs (a
// PostgreSQL server, the Prefect client, Chromium) is not installed.
package testenv

import (
	"os"
	"testing"
)

// Missing skips t because a part it needs is missing; in CI (CI is set, as
// .ci/run's environment has it), where scripts/test installs every part,
// it fails t instead, so a broken install cannot pass as skipped tests.
func Missing(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatal(why + " (required in CI)")
	}
	t.Skip(why)
}
