package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The profile and config commands round-trip, and every write keeps the
// comments, keys and tables they do not know.
func TestProfileCommandsRoundTrip(t *testing.T) {
	home := t.TempDir()
	t.Setenv("PREFECT_HOME", home)
	t.Setenv("PREFECT_PROFILE", "")
	t.Setenv("PREFECT_PROFILES_PATH", "")
	t.Setenv("PREFECT_API_URL", "")
	os.Unsetenv("PREFECT_API_URL")
	path := filepath.Join(home, "profiles.toml")
	const original = `# written by hand
active = "dev"

[profiles.dev]
# the local server
PREFECT_API_URL = "http://127.0.0.1:4200/api" # default port
MY_TOOL_SETTING = "kept"

[other_tool]
answer = 42
`
	if err := os.WriteFile(path, []byte(original), 0o600); err != nil {
		t.Fatal(err)
	}
	must := func(args ...string) string {
		t.Helper()
		out, errOut, code := run(t, args...)
		if code != 0 {
			t.Fatalf("praetor %s: exit %d: %s%s", strings.Join(args, " "), code, out, errOut)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, kept := range []string{"# written by hand", "# the local server", "# default port", `MY_TOOL_SETTING = "kept"`, "[other_tool]\nanswer = 42"} {
			if !strings.Contains(string(data), kept) {
				t.Fatalf("after praetor %s the file lost %q:\n%s", strings.Join(args, " "), kept, data)
			}
		}
		return out
	}

	must("config", "set", "PREFECT_API_KEY=pnu_secret", "PREFECT_LOGGING_LEVEL=DEBUG")
	view := must("config", "view", "--show-sources")
	for _, want := range []string{`PREFECT_PROFILE="dev"`, `PREFECT_API_KEY="********" (from profile)`, `PREFECT_LOGGING_LEVEL="DEBUG" (from profile)`, `MY_TOOL_SETTING="kept" (from profile)`} {
		if !strings.Contains(view, want) {
			t.Errorf("config view lacks %s:\n%s", want, view)
		}
	}
	if strings.Contains(view, "pnu_secret") {
		t.Errorf("config view shows the key:\n%s", view)
	}
	if v := must("config", "view", "--show-secrets"); !strings.Contains(v, `PREFECT_API_KEY="pnu_secret"`) {
		t.Errorf("config view --show-secrets:\n%s", v)
	}
	// The environment overrides the profile, as for the Python client.
	t.Setenv("PREFECT_API_URL", "http://from-env/api")
	if v := must("config", "view", "--show-sources"); !strings.Contains(v, `PREFECT_API_URL="http://from-env/api" (from env)`) {
		t.Errorf("config view with PREFECT_API_URL in the environment:\n%s", v)
	}
	os.Unsetenv("PREFECT_API_URL")
	must("config", "unset", "PREFECT_LOGGING_LEVEL")
	if _, errOut, code := run(t, "config", "unset", "PREFECT_LOGGING_LEVEL"); code != 1 || !strings.Contains(errOut, "not set") {
		t.Errorf("unsetting a setting twice: exit %d, %s", code, errOut)
	}

	must("profile", "create", "staging", "--from", "dev")
	must("profile", "use", "staging")
	must("config", "set", "PREFECT_API_URL=http://staging/api")
	must("profile", "rename", "staging", "stage")
	var inspected map[string]string
	if err := json.Unmarshal([]byte(must("profile", "inspect", "stage", "--output", "json")), &inspected); err != nil {
		t.Fatal(err)
	}
	if inspected["PREFECT_API_URL"] != "http://staging/api" || inspected["PREFECT_API_KEY"] != "********" || inspected["MY_TOOL_SETTING"] != "kept" {
		t.Errorf("profile inspect stage: %v", inspected)
	}
	ls := must("profile", "ls")
	if !strings.Contains(ls, "* stage\n") || !strings.Contains(ls, "  dev\n") || strings.Contains(ls, "staging") {
		t.Errorf("profile ls:\n%s", ls)
	}
	if _, errOut, code := run(t, "profile", "delete", "stage"); code != 1 || !strings.Contains(errOut, "active profile") {
		t.Errorf("deleting the active profile: exit %d, %s", code, errOut)
	}
	must("profile", "use", "dev")
	must("profile", "delete", "stage")
	if v := must("profile", "inspect"); !strings.Contains(v, `PREFECT_API_URL="http://127.0.0.1:4200/api"`) || strings.Contains(v, "staging") {
		t.Errorf("profile inspect of dev after the round trip:\n%s", v)
	}
	// PREFECT_PROFILE picks the profile over the file's active key.
	t.Setenv("PREFECT_PROFILE", "local")
	if v := must("config", "view"); !strings.Contains(v, `PREFECT_PROFILE="local"`) {
		t.Errorf("config view with PREFECT_PROFILE=local:\n%s", v)
	}
	t.Setenv("PREFECT_PROFILE", "nope")
	if _, errOut, code := run(t, "config", "view"); code != 1 || !strings.Contains(errOut, `"nope"`) {
		t.Errorf("an unknown PREFECT_PROFILE: exit %d, %s", code, errOut)
	}
}
