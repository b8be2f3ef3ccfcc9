package ui_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// The logs of a run need read:log, as the API's log routes do: a worker,
// whose role reads runs but not logs, sees the flow and task run pages
// without their logs, and their live log fragments are not found.
func TestRunPageLogsNeedReadLog(t *testing.T) {
	ts := startServer(t)
	owner := newUser("olive")
	co := ts.newClient(t)
	co.register(owner)
	ws := co.createWorkspace(owner, "Ops "+randomHex(2), "runs")
	api := &wsAPI{t: t, c: co, ws: ws, key: co.createKey("runs")}
	run := api.flowRun(api.flow("etl"), "quiet-quail", state("RUNNING", "", time.Time{}, nil), nil)
	task := api.taskRun(run, "extract", "extract-0", nil, state("RUNNING", "", time.Time{}, nil))
	api.log(run, "", 20, "flow-secret-line")
	api.log(run, task, 20, "task-secret-line")

	worker := newUser("wendy")
	cw := ts.newClient(t)
	cw.register(worker)
	cw.join(co, ws.AccountID, worker.Email, "member")
	if r := co.postCSRF(ws.path("/settings/members"), url.Values{"email": {worker.Email}, "role": {"worker"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("make wendy a worker: %d %s", r.Status, r.alert())
	}

	pages := map[string]string{"/runs/flow-run/" + run: "flow-secret-line", "/runs/task-run/" + task: "task-secret-line"}
	for p, line := range pages {
		if body := wsPage(t, co, ws, p); !strings.Contains(body, line) || !strings.Contains(body, `id="run-logs"`) {
			t.Errorf("the owner's %s lacks its logs", p)
		}
		body := wsPage(t, cw, ws, p)
		if !strings.Contains(body, "quiet-quail") && !strings.Contains(body, "extract") {
			t.Errorf("the worker's %s lacks the run", p)
		}
		if strings.Contains(body, line) || strings.Contains(body, `id="run-logs"`) {
			t.Errorf("the worker's %s shows logs", p)
		}
		if r := cw.get(ws.path(p + "/live/logs")); r.Status != http.StatusNotFound || strings.Contains(r.Body, line) {
			t.Errorf("the worker's %s/live/logs: %d", p, r.Status)
		}
		if r := co.get(ws.path(p + "/live/logs")); r.Status != http.StatusOK || !strings.Contains(r.Body, line) {
			t.Errorf("the owner's %s/live/logs: %d", p, r.Status)
		}
		// The log tail asks as the page does.
		if r := cw.get(ws.path(p + "/live/logs?after=")); r.Status != http.StatusNotFound || strings.Contains(r.Body, line) {
			t.Errorf("the worker's %s/live/logs?after=: %d", p, r.Status)
		}
		if r := co.get(ws.path(p + "/live/logs?after=")); r.Status != http.StatusOK || !strings.Contains(r.Body, line) {
			t.Errorf("the owner's %s/live/logs?after=: %d", p, r.Status)
		}
		if r := co.get(ws.path(p + "/live/logs?after=yesterday")); r.Status != http.StatusBadRequest {
			t.Errorf("a malformed log cursor on %s: %d, want 400", p, r.Status)
		}
	}
}
