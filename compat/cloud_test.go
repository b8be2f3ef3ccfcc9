package compat

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// cloud is a praetor server bootstrapped as an operator would, with
// `praetor admin`: alice owns the account "alice" with workspaces prod and
// other; bob has a workspace of his own.
type cloud struct {
	api      *apiClient // the server's /api, anonymous
	aliceKey string
	bobKey   string
	ws       map[string]string // "alice/prod" → workspace API root
}

func newCloud(t *testing.T, api *apiClient) *cloud {
	t.Helper()
	c := &cloud{api: api, ws: map[string]string{}}
	for _, u := range []struct{ handle, workspaces string }{{"alice", "prod other"}, {"bob", "bobs"}} {
		email := u.handle + "@example.com"
		admin(t, api, "correct horse battery\n", "user", "create", "--email", email, "--handle", u.handle, "--password-stdin")
		for _, ws := range strings.Fields(u.workspaces) {
			out := admin(t, api, "", "workspace", "create", "--account", u.handle, "--owner", email, "--name", ws)
			m := regexp.MustCompile(`/api/accounts/[0-9a-f-]{36}/workspaces/[0-9a-f-]{36}`).FindString(out)
			if m == "" {
				t.Fatalf("workspace create printed no API path: %s", out)
			}
			c.ws[u.handle+"/"+ws] = strings.TrimSuffix(api.base, "/api") + m
		}
		key := strings.TrimSpace(admin(t, api, "", "api-key", "create", "--user", email, "--name", "compat"))
		if !strings.HasPrefix(key, "pnu_") {
			t.Fatalf("api-key create printed %q", key)
		}
		if u.handle == "alice" {
			c.aliceKey = key
		} else {
			c.bobKey = key
		}
	}
	return c
}

// admin runs `praetor admin ARGS` on the server's database; its standard
// output is returned.
func admin(t *testing.T, api *apiClient, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), praetorBinary(t), append([]string{"admin"}, args...)...)
	cmd.Env = api.serverEnv
	cmd.Stdin = strings.NewReader(stdin)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("praetor admin %v: %v\n%s%s", args, err, out, stderr.String())
	}
	return string(out)
}

// prefectCLI runs the Prefect CLI with PREFECT_CLOUD_API_URL set to the
// server, as the workspace settings page tells users to.
func (c *cloud) prefectCLI(t *testing.T, home string, args ...string) string {
	t.Helper()
	out, err := runClient(t.Context(), home, []string{"PREFECT_CLOUD_API_URL=" + c.api.base}, append([]string{"-m", "prefect"}, args...)...)
	if err != nil {
		t.Fatalf("prefect %v: %v\n%s", args, err, out)
	}
	return out
}

// runsIn counts the flow runs of flow name in a workspace, as key sees them.
func (c *cloud) runsIn(t *testing.T, root, key, name string) int {
	t.Helper()
	var n int
	c.api.at(root, key).post(t, "/flow_runs/count", obj{"flows": obj{"name": anyOf(name)}}, &n)
	return n
}

// forEachPraetor is forEachEngine without Prefect's own server, which has no
// Cloud layer.
func forEachPraetor(t *testing.T, fn func(t *testing.T, api *apiClient)) {
	forEachEngine(t, func(t *testing.T, api *apiClient) {
		if api.serverEnv == nil {
			t.Skip("Prefect's own server has no Cloud layer")
		}
		fn(t, api)
	})
}

// The seed walkthrough: `prefect cloud login --key --workspace`, a flow run
// that lands in that workspace and no other, workspace ls and set, logout.
func TestCloudLogin(t *testing.T) {
	forEachPraetor(t, func(t *testing.T, api *apiClient) {
		c := newCloud(t, api)
		home := t.TempDir()
		out := c.prefectCLI(t, home, "cloud", "login", "--key", c.aliceKey, "--workspace", "alice/prod")
		if !strings.Contains(out, "Authenticated with Prefect Cloud! Using workspace 'alice/prod'.") {
			t.Fatalf("login said: %s", out)
		}
		if out, err := runClient(t.Context(), home, []string{"PREFECT_CLOUD_API_URL=" + api.base}, flowPath(t, "basic_flow.py")); err != nil {
			t.Fatalf("basic_flow.py after login: %v\n%s", err, out)
		}
		prod, other := c.ws["alice/prod"], c.ws["alice/other"]
		if n := c.runsIn(t, prod, c.aliceKey, "Testing"); n != 1 {
			t.Fatalf("alice/prod has %d runs of Testing, want 1", n)
		}
		if n := c.runsIn(t, other, c.aliceKey, "Testing"); n != 0 {
			t.Errorf("alice/other has %d runs of Testing, want 0", n)
		}
		if n := c.runsIn(t, c.ws["bob/bobs"], c.bobKey, "Testing"); n != 0 {
			t.Errorf("bob's workspace has %d runs of Testing, want 0", n)
		}
		if n := c.runsIn(t, api.base, "", "Testing"); n != 0 {
			t.Errorf("the default workspace has %d runs of Testing, want 0", n)
		}
		ls := c.prefectCLI(t, home, "cloud", "workspace", "ls")
		if !strings.Contains(ls, "alice/prod") || !strings.Contains(ls, "alice/other") || strings.Contains(ls, "bob/") {
			t.Errorf("workspace ls: %s", ls)
		}
		c.prefectCLI(t, home, "cloud", "workspace", "set", "--workspace", "alice/other")
		profiles, err := os.ReadFile(filepath.Join(home, "profiles.toml"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(profiles), other) {
			t.Fatalf("workspace set did not point the profile at alice/other:\n%s", profiles)
		}
		if out, err := runClient(t.Context(), home, []string{"PREFECT_CLOUD_API_URL=" + api.base}, flowPath(t, "basic_flow.py")); err != nil {
			t.Fatalf("basic_flow.py after workspace set: %v\n%s", err, out)
		}
		if n := c.runsIn(t, other, c.aliceKey, "Testing"); n != 1 {
			t.Errorf("alice/other has %d runs after workspace set, want 1", n)
		}
		if out := c.prefectCLI(t, home, "cloud", "logout"); !strings.Contains(out, "Logged out") {
			t.Errorf("logout said: %s", out)
		}
		profiles, _ = os.ReadFile(filepath.Join(home, "profiles.toml"))
		if strings.Contains(string(profiles), c.aliceKey) {
			t.Errorf("the key is still in the profile after logout")
		}
	})
}

// PREFECT_API_URL and PREFECT_API_KEY set by hand (Cloud mode), and the key
// carried as PREFECT_API_AUTH_STRING (self-hosted mode): flow runs and
// their task runs, which arrive over the events websocket, land in the
// workspace.
func TestCloudManualConfig(t *testing.T) {
	forEachPraetor(t, func(t *testing.T, api *apiClient) {
		c := newCloud(t, api)
		prod := c.ws["alice/prod"]
		modes := map[string][]string{
			"api key":     {"PREFECT_API_URL=" + prod, "PREFECT_API_KEY=" + c.aliceKey, "PREFECT_CLOUD_API_URL=" + api.base},
			"auth string": {"PREFECT_API_URL=" + prod, "PREFECT_API_AUTH_STRING=alice:" + c.aliceKey},
		}
		for _, mode := range []string{"api key", "auth string"} {
			env := append(modes[mode], "PRAETOR_COMPAT_ATTEMPTS_FILE="+filepath.Join(t.TempDir(), "attempts"))
			out, err := runClient(t.Context(), t.TempDir(), env, flowPath(t, "retries_map_subflow.py"))
			if err != nil {
				t.Fatalf("%s: retries_map_subflow.py: %v\n%s", mode, err, out)
			}
			ws := api.at(prod, c.aliceKey)
			var runs []flowRunInfo
			ws.post(t, "/flow_runs/filter", obj{"sort": "EXPECTED_START_TIME_DESC"}, &runs)
			var parent *flowRunInfo
			for i := range runs {
				if runs[i].ParentTaskRunID == nil {
					parent = &runs[i]
					break
				}
			}
			if parent == nil || parent.StateType != "COMPLETED" {
				t.Fatalf("%s: no completed parent run in alice/prod: %+v", mode, runs)
			}
			eventually(t, flowTimeout, mode+": task runs recorded in alice/prod", func(ctx context.Context) (bool, string) {
				var tasks []taskRunInfo
				if err := ws.call(ctx, "POST", "/task_runs/filter", obj{"flow_runs": obj{"id": anyOf(parent.ID)}}, &tasks); err != nil {
					return false, err.Error()
				}
				completed := 0
				for _, tr := range tasks {
					if tr.StateType == "COMPLETED" {
						completed++
					}
				}
				// flaky, 3 mapped, the consumer and the subflow's tracking task
				return completed == 6, fmt.Sprintf("%d of %d task runs completed", completed, len(tasks))
			})
		}
		var n int
		api.at(c.ws["bob/bobs"], c.bobKey).post(t, "/task_runs/count", obj{}, &n)
		if n != 0 {
			t.Errorf("bob's workspace has %d task runs", n)
		}
	})
}

func flowPath(t *testing.T, script string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("flows", script))
	if err != nil {
		t.Fatal(err)
	}
	return p
}
