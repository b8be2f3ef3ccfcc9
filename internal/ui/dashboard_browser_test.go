package ui_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// apiPoster posts JSON to ws's API with key and returns the id answered.
func apiPoster(t *testing.T, ts *testServer, ws workspace, key string) func(path string, body any) string {
	c := ts.newClient(t)
	return func(path string, body any) string {
		t.Helper()
		r := c.api("POST", "/accounts/"+ws.AccountID+"/workspaces/"+ws.ID+path, key, body)
		if r.Status/100 != 2 {
			t.Fatalf("POST %s: %d %s", path, r.Status, r.Body)
		}
		var out struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		}
		r.decode(t, &out)
		if out.Status != "" && out.Status != "ACCEPT" {
			t.Fatalf("POST %s: %s", path, r.Body)
		}
		return out.ID
	}
}

// The dashboard lists the newest flow runs of its window, newest first,
// with their flow, state, start and duration, each linking to its page.
func TestDashboardShowsRecentRuns(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		b := ts.newBrowser(t)
		b.register(newUser("dora"))
		ws := b.createWorkspace("Daily", "")
		key := b.createAPIKey("daily")
		api := apiPoster(t, ts, ws, key)

		flow := api("/flows/", map[string]any{"name": "etl"})
		ids := make([]string, 12)
		for i := range ids {
			at := time.Now().UTC().Add(-time.Duration(len(ids)-i) * time.Minute).Format(time.RFC3339Nano)
			ids[i] = api("/flow_runs/", map[string]any{"flow_id": flow, "name": fmt.Sprintf("run-%02d", i),
				"state": map[string]any{"type": "SCHEDULED", "state_details": map[string]any{"scheduled_time": at}}})
		}
		newest := ids[len(ids)-1]
		for _, s := range []string{"PENDING", "RUNNING", "COMPLETED"} {
			api("/flow_runs/"+newest+"/set_state", map[string]any{"state": map[string]any{"type": s}})
		}

		b.visit(ws.path("/dashboard"))
		rows := get(b, "read the recent runs", chromedp.Evaluate[[]string](`[...document.querySelectorAll("#recent-runs tbody tr td:first-child")].map(e => e.textContent.trim())`))
		want := []string{"run-11", "run-10", "run-09", "run-08", "run-07", "run-06", "run-05", "run-04", "run-03", "run-02"}
		if strings.Join(rows, ",") != strings.Join(want, ",") {
			t.Errorf("the recent runs read %q, want %q", rows, want)
		}
		first := `#recent-runs tbody tr:first-child`
		if got := b.text(first); !strings.Contains(got, "etl") || !strings.Contains(got, "Completed") {
			t.Errorf("the newest run's row reads %q", got)
		}
		if got := b.text(first + " td:nth-child(4)"); strings.Contains(got, "expected") || got == "—" {
			t.Errorf("the newest run's start reads %q", got)
		}
		if got := b.text(first + " td:nth-child(5)"); got == "" || got == "—" {
			t.Errorf("the newest run's duration reads %q", got)
		}
		if got := b.text(`#recent-runs tbody tr:nth-child(2) td:nth-child(4)`); !strings.Contains(got, "expected") {
			t.Errorf("a scheduled run's start reads %q", got)
		}
		if b.exists("#first-run") {
			t.Errorf("a workspace with runs shows the first-run hint")
		}
		b.screenshot("dashboard-recent-runs")
		b.follow(first + ` a[href="` + ws.path("/runs/flow-run/"+newest) + `"]`)
		if got := b.text("#run-header .run-state"); got != "Completed" {
			t.Errorf("the newest run's page shows the state %q", got)
		}
	})
}

// A workspace without flow runs says, on its dashboard, runs and flows
// pages, how to make the first one: the Settings page's own commands, with
// this workspace's login. The hint goes once a run exists.
func TestEmptyWorkspaceShowsFirstSteps(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		b := ts.newBrowser(t)
		b.register(newUser("erin"))
		ws := b.createWorkspace("Fresh", "")
		key := b.createAPIKey("fresh")

		b.visit(ws.path("/settings"))
		install, login := b.text("#cmd-install"), b.text("#cmd-persist")
		if !strings.Contains(login, "--workspace "+ws.fullHandle()) || !strings.Contains(login, ts.URL+"/api") {
			t.Fatalf("the settings' login command reads %q", login)
		}
		for _, page := range []string{"/dashboard", "/runs", "/flows"} {
			b.visit(ws.path(page))
			if !b.exists("#first-run") {
				t.Errorf("%s of an empty workspace has no first-run hint: %s", page, b.text("main"))
				continue
			}
			if got := b.text("#first-run #cmd-install"); got != install {
				t.Errorf("%s's install command reads %q, want %q", page, got, install)
			}
			if got := b.text("#first-run #cmd-persist"); got != login {
				t.Errorf("%s's login command reads %q, want %q", page, got, login)
			}
			if page == "/dashboard" {
				b.screenshot("dashboard-first-run")
			}
		}

		b.visit(ws.path("/dashboard"))
		b.markPage()
		api := apiPoster(t, ts, ws, key)
		flow := api("/flows/", map[string]any{"name": "first"})
		api("/flow_runs/", map[string]any{"flow_id": flow, "name": "first-light", "state": map[string]any{"type": "PENDING"}})
		b.eventually("the hint goes once a run exists", `!document.querySelector("#first-run") && !!document.querySelector("#recent-runs")`, liveTimeout)
		if !b.notReloaded() {
			t.Errorf("the dashboard was reloaded")
		}
		for _, page := range []string{"/runs", "/flows"} {
			b.visit(ws.path(page))
			if b.exists("#first-run") {
				t.Errorf("%s shows the first-run hint with a run in the workspace", page)
			}
		}
	})
}
