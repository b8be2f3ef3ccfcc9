package ui_test

import (
	"net/http"
	"strings"
	"testing"
)

// The flows list counts each flow's failed and crashed runs, and links to
// them only when there are some: a flow that never failed reads 0, not a
// "Failed runs" link.
func TestFlowsListCountsFailures(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		b := ts.newBrowser(t)
		dan := newUser("dan")
		b.register(dan)
		ws := b.createWorkspace("Flows", "")
		key := b.createAPIKey("flows")
		c := ts.newClient(t)
		api := func(path string, body any) string {
			t.Helper()
			r := c.api("POST", "/accounts/"+ws.AccountID+"/workspaces/"+ws.ID+path, key, body)
			if r.Status/100 != 2 {
				t.Fatalf("POST %s: %d %s", path, r.Status, r.Body)
			}
			var out struct {
				ID string `json:"id"`
			}
			r.decode(t, &out)
			return out.ID
		}
		clean := api("/flows/", map[string]any{"name": "always-fine"})
		flaky := api("/flows/", map[string]any{"name": "often-broken"})
		api("/flow_runs/", map[string]any{"flow_id": clean, "name": "fine-1", "state": map[string]any{"type": "COMPLETED"}})
		api("/flow_runs/", map[string]any{"flow_id": flaky, "name": "broken-1", "state": map[string]any{"type": "FAILED"}})
		api("/flow_runs/", map[string]any{"flow_id": flaky, "name": "broken-2", "state": map[string]any{"type": "CRASHED"}})
		api("/flow_runs/", map[string]any{"flow_id": flaky, "name": "fine-2", "state": map[string]any{"type": "COMPLETED"}})

		b.visit(ws.path("/flows"))
		row := func(name string) string { return `table.flows tr:has(a[href$="/flows/flow/` + name + `"])` }
		if got := b.text(row(clean) + " td:nth-child(3)"); got != "0" {
			t.Errorf("the failures of a flow that never failed read %q", got)
		}
		if b.exists(row(clean) + " td:nth-child(3) a") {
			t.Errorf("a flow that never failed links to its failed runs")
		}
		if got := b.text(row(flaky) + " td:nth-child(3) a"); got != "2" {
			t.Errorf("the failures of the flow with a failed and a crashed run read %q", got)
		}
		if status := b.follow(row(flaky) + " td:nth-child(3) a"); status != http.StatusOK {
			t.Fatalf("the failed runs link answered %d", status)
		}
		list := b.text("main")
		if !strings.Contains(list, "broken-1") || !strings.Contains(list, "broken-2") || strings.Contains(list, "fine-2") {
			t.Errorf("the failed runs link lists: %s", list)
		}
	})
}

// The Settings page tells how to finish the Prefect CLI's browser login on a
// machine without a browser, and the page it names works: opened with the
// port the CLI listens on, it hands the CLI a key.
func TestHeadlessCLILogin(t *testing.T) {
	ts := startServer(t)
	b := ts.newBrowser(t)
	erin := newUser("erin")
	b.register(erin)
	ws := b.createWorkspace("Headless", "")
	b.visit(ws.path("/settings"))

	if got, want := b.text("#cmd-browser-url"), "BROWSER=echo PREFECT_CLOUD_API_URL="+ts.URL+"/api prefect cloud login"; got != want {
		t.Errorf("the command that prints the login URL reads %q, want %q", got, want)
	}
	steps := b.text("#no-browser-steps")
	page := ts.URL + "/auth/client?callback=http://localhost:<PORT>"
	if !strings.Contains(steps, page) || !strings.Contains(steps, "ssh -L <PORT>:127.0.0.1:<PORT>") {
		t.Fatalf("the steps read %q, want the page %s and the port forward", steps, page)
	}

	cli := newFakeCLI(t)
	_, port, _ := strings.Cut(strings.TrimPrefix(cli.URL, "http://"), ":")
	b.visit(strings.Replace(page, "<PORT>", port, 1))
	b.submit("#cli-authorize", nil, `button[value="authorize"]`)
	got := cli.next(t)
	if got.Path != "/success" || !strings.HasPrefix(got.Body["api_key"], "pnu_") {
		t.Fatalf("the CLI received %s %v, want /success with a key", got.Path, got.Body)
	}
}

// Settings shows the `prefect cloud workspace set` command the seed says it
// shows, with this workspace's handle.
func TestWorkspaceSetCommand(t *testing.T) {
	ts := startServer(t)
	b := ts.newBrowser(t)
	b.register(newUser("fay"))
	ws := b.createWorkspace("Switch Here", "")
	b.visit(ws.path("/settings"))
	if got, want := b.text("#cmd-workspace-set"), `prefect cloud workspace set --workspace "`+ws.fullHandle()+`"`; got != want {
		t.Errorf("the workspace set command reads %q, want %q", got, want)
	}
	if !b.exists(`button[data-copy="cmd-workspace-set"]`) {
		t.Errorf("the workspace set command has no copy button")
	}
}
