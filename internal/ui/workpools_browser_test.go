package ui_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Real-browser tests of the work pool pages, with the pool, its queues,
// its worker, a deployment in it and the deployment's runs made through
// the API as `prefect work-pool create`, a worker's heartbeats, `prefect
// deploy` and create_flow_run make them.

// pool creates a work pool through the API, as `prefect work-pool create`
// does.
func (a *wsAPI) pool(name, typ string, extra map[string]any) {
	a.t.Helper()
	body := map[string]any{"name": name, "type": typ}
	for k, v := range extra {
		body[k] = v
	}
	a.call("POST", "/work_pools/", body, nil)
}

// heartbeat sends a worker's heartbeat to a pool, as workers do.
func (a *wsAPI) heartbeat(pool, worker string) {
	a.t.Helper()
	a.call("POST", "/work_pools/"+url.PathEscape(pool)+"/workers/heartbeat", map[string]any{"name": worker, "heartbeat_interval_seconds": 30}, nil)
}

// deploymentRun creates a run of a deployment, as `prefect deployment run`
// does; it is SCHEDULED for now.
func (a *wsAPI) deploymentRun(deployment string) string {
	a.t.Helper()
	var r idOnly
	a.call("POST", "/deployments/"+deployment+"/create_flow_run", map[string]any{}, &r)
	return r.ID
}

// polled is what a worker's poll of pool hands out: the ids of its runs.
func (a *wsAPI) polled(pool string) []string {
	a.t.Helper()
	var runs []struct {
		FlowRun idOnly `json:"flow_run"`
	}
	a.call("POST", "/work_pools/"+url.PathEscape(pool)+"/get_scheduled_flow_runs", map[string]any{}, &runs)
	ids := []string{}
	for _, r := range runs {
		ids = append(ids, r.FlowRun.ID)
	}
	slices.Sort(ids)
	return ids
}

// A pool's page shows its type, status and limit, its queues by priority,
// its online worker with its heartbeat, the runs waiting in it (a Late one
// with its reason) and running in it, and the deployments that use it; the
// list shows the same counts. Pause on the page stops dispatch (a worker's
// poll gets nothing) and Resume restarts it. A run's page names its worker
// and links its pool, as the deployment's page does. A viewer sees no
// Pause and may not pause.
func TestWorkPoolPageInTheBrowser(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		b := ts.newBrowser(t)
		owner := newUser("wanda")
		b.register(owner)
		ws := b.createWorkspace("Pools", "remote runs")
		c := ts.newClient(t)
		c.signIn(owner)
		api := &wsAPI{t: t, c: c, ws: ws, key: c.createKey("pools")}

		list := ws.path("/work-pools")
		if status := b.visit(list); status != http.StatusOK {
			t.Fatalf("the empty list answered %d", status)
		}
		hint := b.text("#no-work-pools")
		for _, want := range []string{"prefect work-pool create my-pool --type process", "prefect worker start --pool my-pool",
			"prefect cloud login --key <YOUR-KEY> --workspace " + ws.fullHandle()} {
			if !strings.Contains(hint, want) {
				t.Errorf("the empty list's hint lacks %q: %s", want, hint)
			}
		}

		api.pool("my-pool", "process", map[string]any{"description": "Runs on the build box", "concurrency_limit": 5})
		api.call("POST", "/work_pools/my-pool/queues", map[string]any{"name": "critical", "priority": 1, "concurrency_limit": 2}, nil)
		api.pool("idle-pool", "docker", nil)
		api.heartbeat("my-pool", "build-box-worker")
		flow := api.flow("etl")
		dep := api.deployment(flow, "nightly-etl", map[string]any{"work_pool_name": "my-pool", "work_queue_name": "default", "entrypoint": "etl.py:etl"})
		var runs []string
		for range 3 {
			runs = append(runs, api.deploymentRun(dep))
		}
		slices.Sort(runs)
		api.setFlowRunState(runs[0], map[string]any{"type": "SCHEDULED", "name": "Late", "message": "No worker polled the queue in time.",
			"state_details": map[string]any{"scheduled_time": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339Nano)}})
		// A run of another pool is not this pool's.
		api.deploymentRun(api.deployment(flow, "elsewhere", map[string]any{"work_pool_name": "idle-pool"}))

		b.visit(list)
		row := `table.work-pools tr[data-pool="my-pool"]`
		if got := b.text(row + " [data-waiting]"); got != "3" {
			t.Errorf("the list's my-pool has %q runs waiting, want 3", got)
		}
		if got := b.text(row + " [data-online]"); got != "1" {
			t.Errorf("the list's my-pool has %q online workers, want 1", got)
		}
		if got := b.text(row + " [data-status]"); got != "Ready" {
			t.Errorf("the list's my-pool is %q, want Ready", got)
		}
		if got := b.text(`table.work-pools tr[data-pool="idle-pool"] [data-status]`); got != "Not ready" {
			t.Errorf("the list's idle-pool is %q, want Not ready", got)
		}
		b.screenshot("work-pools")

		page := ws.path("/work-pools/work-pool/my-pool")
		if status := b.follow(row + " a"); status != http.StatusOK || b.path() != page {
			t.Fatalf("the pool's link answered %d at %s", status, b.path())
		}
		if got := b.text("#pool-type"); got != "process" {
			t.Errorf("the pool's type reads %q", got)
		}
		if got := b.text("#pool-status"); got != "Ready" {
			t.Errorf("the pool's status reads %q", got)
		}
		if got := b.text("#pool-slots"); got != "0 of 5 in use" {
			t.Errorf("the pool's concurrency reads %q", got)
		}
		if got := b.text(`tr[data-queue="critical"] [data-priority]`) + "," + b.text(`tr[data-queue="default"] [data-priority]`); got != "1,2" {
			t.Errorf("the queues' priorities read %q, want critical 1 and default 2", got)
		}
		if got := b.text(`tr[data-queue="critical"]`); !strings.Contains(got, "0 of 2 in use") {
			t.Errorf("the critical queue reads %q, want its limit of 2", got)
		}
		worker := b.text(`#workers li[data-worker="build-box-worker"]`)
		if !strings.Contains(worker, "Online") || !strings.Contains(worker, " UTC") || !strings.Contains(worker, "s ago") {
			t.Errorf("the worker reads %q, want Online with its heartbeat's relative and absolute time", worker)
		}
		var waiting []string
		for _, id := range runs {
			if !b.exists(`#waiting-runs li[data-run="` + id + `"] a[href="` + ws.path("/runs/flow-run/"+id) + `"]`) {
				t.Errorf("the run %s is not linked among the runs waiting: %s", id, b.text("#waiting-runs"))
			}
			waiting = append(waiting, id)
		}
		if n := get(b, "count the runs waiting", chromedp.Evaluate[int](`document.querySelectorAll("#waiting-runs li").length`)); n != len(waiting) {
			t.Errorf("%d runs waiting, want %d", n, len(waiting))
		}
		if got := b.text(`#waiting-runs li[data-run="` + runs[0] + `"]`); !strings.Contains(got, "Late") || !strings.Contains(got, "No worker polled the queue in time.") {
			t.Errorf("the late run reads %q, want Late and its reason", got)
		}
		if first := get(b, "read the first run waiting", chromedp.Evaluate[string](`document.querySelector("#waiting-runs li").dataset.run`)); first != runs[0] {
			t.Errorf("the first run waiting is %s, want the oldest, %s", first, runs[0])
		}
		if !b.exists(`#pool-deployments a[href="`+ws.path("/deployments/deployment/"+dep)+`"]`) || strings.Contains(b.text("#pool-deployments"), "elsewhere") {
			t.Errorf("the pool's deployments read %q, want nightly-etl only", b.text("#pool-deployments"))
		}
		b.screenshot("work-pool")
		if got := api.polled("my-pool"); !slices.Equal(got, runs) {
			t.Fatalf("before the pause a worker's poll gets %q, want %q", got, runs)
		}

		// Pausing the pool stops dispatch; resuming it restarts it.
		b.follow("#pause-pool button")
		if b.path() != page || !strings.Contains(b.text("#flashes"), "Paused the work pool my-pool") || b.text("#pool-status") != "Paused" || !b.exists("#resume-pool") {
			t.Errorf("after Pause the page reads %s", b.text("main"))
		}
		if got := api.polled("my-pool"); len(got) != 0 {
			t.Errorf("a worker's poll of the paused pool gets %q", got)
		}
		b.follow("#resume-pool button")
		if !strings.Contains(b.text("#flashes"), "Resumed the work pool my-pool") || b.text("#pool-status") != "Ready" || !b.exists("#pause-pool") {
			t.Errorf("after Resume the page reads %s", b.text("main"))
		}
		if got := api.polled("my-pool"); !slices.Equal(got, runs) {
			t.Errorf("after Resume a worker's poll gets %q, want %q", got, runs)
		}
		// A paused queue is not served.
		b.follow(`tr[data-queue="default"] form.pause-queue button`)
		if !strings.Contains(b.text("#flashes"), "Paused the work queue default") || !strings.Contains(b.text(`tr[data-queue="default"]`), "Paused") {
			t.Errorf("after pausing the queue the page reads %s", b.text("main"))
		}
		if got := api.polled("my-pool"); len(got) != 0 {
			t.Errorf("a worker's poll with the default queue paused gets %q", got)
		}
		b.follow(`tr[data-queue="default"] form.resume-queue button`)

		// A run a worker took: it is running in the pool, and its page names
		// the worker and links the pool.
		api.setFlowRunState(runs[1], state("RUNNING", "", time.Time{}, nil))
		api.call("PATCH", "/flow_runs/"+runs[1], map[string]any{"infrastructure_pid": "build-box:4242"}, nil)
		api.call("PATCH", "/flow_runs/"+runs[1]+"/labels", map[string]any{"prefect.worker.name": "build-box-worker", "prefect.worker.type": "process"}, nil)
		b.visit(page)
		if !b.exists(`#running-runs a[href="`+ws.path("/runs/flow-run/"+runs[1])+`"]`) || b.exists(`#waiting-runs li[data-run="`+runs[1]+`"]`) {
			t.Errorf("the running run is not listed as running: waiting %q, running %q", b.text("#waiting-runs"), b.text("#running-runs"))
		}
		b.visit(ws.path("/runs/flow-run/" + runs[1] + "?tab=details"))
		if got := b.text("#run-worker"); got != "build-box-worker" {
			t.Errorf("the run's worker reads %q", got)
		}
		if !strings.Contains(b.text("#run-details"), "build-box:4242") {
			t.Errorf("the run's details lack its infrastructure pid: %s", b.text("#run-details"))
		}
		if status := b.follow("#run-pool-link"); status != http.StatusOK || b.path() != page {
			t.Errorf("the run's pool link answered %d at %s", status, b.path())
		}
		b.visit(ws.path("/deployments/deployment/" + dep))
		if status := b.follow("#deployment-pool"); status != http.StatusOK || b.path() != page {
			t.Errorf("the deployment's pool link answered %d at %s", status, b.path())
		}

		// A viewer reads the page and neither sees Pause nor may pause.
		viewer := newUser("vera")
		cv := ts.newClient(t)
		cv.register(viewer)
		cv.join(c, ws.AccountID, viewer.Email, "member")
		if r := c.postCSRF(ws.path("/settings/members"), url.Values{"email": {viewer.Email}, "role": {"viewer"}}); r.Status != http.StatusSeeOther {
			t.Fatalf("make vera a viewer: %d %s", r.Status, r.alert())
		}
		vb := ts.newBrowser(t)
		vb.signIn(viewer)
		if status := vb.visit(page); status != http.StatusOK {
			t.Fatalf("the viewer's pool page answered %d", status)
		}
		if vb.exists("#pause-pool") || vb.exists("#resume-pool") || vb.exists("form.pause-queue") {
			t.Errorf("the viewer sees Pause")
		}
		if !vb.exists(`#workers li[data-worker="build-box-worker"]`) {
			t.Errorf("the viewer does not see the worker")
		}
		if r := cv.postCSRF(page+"/pause", nil); r.Status != http.StatusForbidden {
			t.Errorf("the viewer's pause answered %d", r.Status)
		}
		if got := api.polled("my-pool"); len(got) != 2 {
			t.Errorf("after the viewer's pause a worker's poll gets %q, want the 2 runs still waiting", got)
		}
	})
}
