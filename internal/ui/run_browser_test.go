package ui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/praetorhq/praetor/internal/testenv"
)

// Real-browser tests of the workspace pages, with runs made by the real
// Prefect Python client (PRAETOR_TEST_PYTHON names a python with prefect
// installed; without it those tests skip) or through the HTTP API.

// liveTimeout bounds waiting for a live page to show what a run did.
const liveTimeout = 60 * time.Second

// eventually waits until the JavaScript expression js is true in the page,
// polling; the page is never reloaded.
func (b *browser) eventually(what, js string, timeout time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("still false after %v: %s", timeout, js)
			}
			b.fail("wait until "+what, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// markPage tags the current document, so notReloaded can tell later that
// the browser has not loaded it again.
func (b *browser) markPage() {
	b.t.Helper()
	b.do("mark the page", chromedp.Evaluate[chromedp.Void](`window.__praetorMark = "unreloaded"`))
}

func (b *browser) notReloaded() bool {
	b.t.Helper()
	return get(b, "read the page mark", chromedp.Evaluate[bool](`window.__praetorMark === "unreloaded"`))
}

// jsString quotes s for a JavaScript expression.
func jsString(s string) string {
	q, _ := json.Marshal(s)
	return string(q)
}

// createAPIKey creates an API key on the API keys page and returns it.
func (b *browser) createAPIKey(name string) string {
	b.t.Helper()
	b.visit("/profile/api-keys")
	if status := b.submit("#create-key", map[string]string{"name": name}); status != http.StatusOK {
		b.t.Fatalf("creating an API key answered %d", status)
	}
	key := b.text("#new-key")
	if !strings.HasPrefix(key, "pnu_") {
		b.t.Fatalf("the new key reads %q", key)
	}
	return key
}

// pythonBin is the Prefect client's python, or the test skips.
func pythonBin(t *testing.T) string {
	t.Helper()
	p := os.Getenv("PRAETOR_TEST_PYTHON")
	if p == "" {
		testenv.Missing(t, "PRAETOR_TEST_PYTHON is not set: these tests need a python with the prefect client")
	}
	return p
}

// prefectRun is a flow script run by the real Prefect client against one
// workspace, in Cloud mode with an API key.
type prefectRun struct {
	cmd      *exec.Cmd
	out      strings.Builder
	err      error
	finished chan struct{} // closed once the process has exited
}

// startFlow starts script with the client pointed at ws with key.
func startFlow(t *testing.T, ts *testServer, ws workspace, key, script string, extraEnv ...string) *prefectRun {
	t.Helper()
	py := pythonBin(t)
	home := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	cmd := exec.CommandContext(ctx, py, script)
	cmd.Dir = home
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PREFECT_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env,
		"PREFECT_API_URL="+ts.URL+"/api/accounts/"+ws.AccountID+"/workspaces/"+ws.ID,
		"PREFECT_API_KEY="+key,
		"PREFECT_CLOUD_API_URL="+ts.URL+"/api",
		"PREFECT_HOME="+home,
		"PREFECT_SERVER_ANALYTICS_ENABLED=false",
		"PYTHONUNBUFFERED=1",
	)
	cmd.Env = append(cmd.Env, extraEnv...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	p := &prefectRun{cmd: cmd, finished: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = &p.out, &p.out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start %s: %v", script, err)
	}
	go func() {
		p.err = cmd.Wait()
		cancel()
		close(p.finished)
	}()
	t.Cleanup(func() {
		cancel()
		<-p.finished
		if t.Failed() {
			t.Logf("output of %s:\n%s", script, p.out.String())
		}
	})
	return p
}

// wait waits for the script to exit 0.
func (p *prefectRun) wait(t *testing.T) {
	t.Helper()
	<-p.finished
	if p.err != nil {
		t.Fatalf("%s: %v\n%s", filepath.Base(p.cmd.Args[1]), p.err, p.out.String())
	}
}

// seedFlow is the path of one of compat/flows/, the seed's flow scripts.
func seedFlow(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "compat", "flows", name))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("seed flow %s: %v", name, err)
	}
	return p
}

// gatedBasicFlow is compat/flows/basic_flow.py that, after its warning,
// waits for the file PRAETOR_TEST_GATE names before it returns, so a test
// can open the run's page while the run is still going.
const gatedBasicFlow = `import os, time
from prefect import flow, get_run_logger

@flow(name="Testing")
def basic_flow():
    logger = get_run_logger()
    logger.warning("The fun is about to begin")
    deadline = time.time() + 120
    while not os.path.exists(os.environ["PRAETOR_TEST_GATE"]) and time.time() < deadline:
        time.sleep(0.1)

if __name__ == "__main__":
    basic_flow()
`

// A new user registers, creates a workspace and an API key, and runs the
// seed's basic flow with the real Prefect client: the runs list, open
// before the run starts, shows it COMPLETED without a reload, and its page
// the warning it logged. Then, with a run's page open while the run is
// still going, its state turns COMPLETED and the warning appears in place.
func TestRunsAppearLiveWithThePrefectClient(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		pythonBin(t)
		b := ts.newBrowser(t)
		alice := newUser("alice")
		b.register(alice)
		ws := b.createWorkspace("Flows", "Prefect client runs")
		key := b.createAPIKey("laptop")

		b.visit(ws.path("/runs"))
		if got := b.text("#runs-count"); !strings.Contains(got, "No flow runs yet") {
			t.Fatalf("a new workspace's runs list reads %q", got)
		}
		b.markPage()
		startFlow(t, ts, ws, key, seedFlow(t, "basic_flow.py")).wait(t)
		b.eventually("the run is listed as Completed",
			`[...document.querySelectorAll("#runs-live tr[data-run-id]")].some(tr => tr.querySelector('[data-state="COMPLETED"]'))`, liveTimeout)
		if !b.notReloaded() {
			t.Fatalf("the runs list was reloaded")
		}
		if flow := b.text("#runs-live tbody tr td:nth-child(2)"); flow != "Testing" {
			t.Errorf("the run's flow reads %q, want Testing", flow)
		}
		b.screenshot("runs-list-live")
		b.navigated("open the run", chromedp.Click(chromedp.CSS("#runs-live tbody tr td:first-child a")))
		if !strings.HasPrefix(b.path(), ws.path("/runs/flow-run/")) {
			t.Fatalf("the run's link leads to %s", b.path())
		}
		b.eventually("the warning is shown", `document.querySelector("#run-logs").innerText.includes("The fun is about to begin")`, liveTimeout)
		lvl := get(b, "read the warning's level", chromedp.Evaluate[string](`[...document.querySelectorAll("#run-logs tbody tr")]
			.find(tr => tr.innerText.includes("The fun is about to begin")).querySelector("td:nth-child(2)").innerText.trim()`))
		if lvl != "WARNING" {
			t.Errorf("the warning's level reads %q", lvl)
		}

		// The page of a run that is still going.
		gate := filepath.Join(t.TempDir(), "gate")
		script := filepath.Join(t.TempDir(), "basic_flow_gated.py")
		if err := os.WriteFile(script, []byte(gatedBasicFlow), 0o644); err != nil {
			t.Fatal(err)
		}
		b.visit(ws.path("/runs?state=RUNNING"))
		run := startFlow(t, ts, ws, key, script, "PRAETOR_TEST_GATE="+gate)
		b.eventually("the new run is listed as Running", `document.querySelector('#runs-live tr[data-run-id] [data-state="RUNNING"]') !== null`, liveTimeout)
		b.navigated("open the running run", chromedp.Click(chromedp.CSS("#runs-live tbody tr td:first-child a")))
		if got := b.text("#run-header .run-state"); got != "Running" {
			t.Fatalf("the open run's state reads %q, want Running", got)
		}
		if b.exists("#run-header [data-final]") {
			t.Fatalf("a running run's page is final")
		}
		b.markPage()
		b.screenshot("flow-run-running")
		if err := os.WriteFile(gate, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		run.wait(t)
		b.eventually("the run turns Completed", `document.querySelector("#run-header .run-state").innerText.trim() === "Completed"`, liveTimeout)
		b.eventually("the warning appears", `document.querySelector("#run-logs").innerText.includes("The fun is about to begin")`, liveTimeout)
		if !b.notReloaded() {
			t.Fatalf("the run page was reloaded")
		}
		if tl := b.text("#run-header ol.timeline"); !strings.Contains(tl, "Running") || !strings.Contains(tl, "Completed") {
			t.Errorf("the state history reads %q", tl)
		}
		b.screenshot("flow-run-completed")
	})
}

// A flow with a retried task, mapped tasks and a subflow, run by the real
// client, draws a Radar with one node per task run and one edge per data
// dependency; a node opens its task run's page.
func TestRadarOfMappedTasksAndSubflow(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		pythonBin(t)
		b := ts.newBrowser(t)
		bob := newUser("bob")
		b.register(bob)
		ws := b.createWorkspace("Graphs", "Radar")
		key := b.createAPIKey("ci")
		startFlow(t, ts, ws, key, seedFlow(t, "retries_map_subflow.py"),
			"PRAETOR_COMPAT_ATTEMPTS_FILE="+filepath.Join(t.TempDir(), "attempts")).wait(t)

		// What the server recorded, read through the API.
		c := ts.newClient(t)
		api := func(path string, body, out any) {
			t.Helper()
			r := c.api("POST", "/accounts/"+ws.AccountID+"/workspaces/"+ws.ID+path, key, body)
			if r.Status != http.StatusOK {
				t.Fatalf("POST %s: %d %s", path, r.Status, r.Body)
			}
			r.decode(t, out)
		}
		var parents []struct {
			ID string `json:"id"`
		}
		api("/flow_runs/filter", map[string]any{"flows": map[string]any{"name": map[string]any{"any_": []string{"retries-map-subflow"}}}}, &parents)
		if len(parents) != 1 {
			t.Fatalf("%d runs of retries-map-subflow", len(parents))
		}
		run := parents[0].ID
		type input struct {
			InputType string `json:"input_type"`
			ID        string `json:"id"`
		}
		var tasks []struct {
			ID         string             `json:"id"`
			Name       string             `json:"name"`
			TaskInputs map[string][]input `json:"task_inputs"`
		}
		filter := map[string]any{"task_runs": map[string]any{"flow_run_id": map[string]any{"any_": []string{run}}}}
		var subflows []struct {
			ID              string `json:"id"`
			ParentTaskRunID string `json:"parent_task_run_id"`
		}
		api("/flow_runs/filter", map[string]any{"flow_runs": map[string]any{"parent_flow_run_id": map[string]any{"any_": []string{run}}}}, &subflows)
		// Task runs arrive as events; wait until all six are recorded.
		deadline := time.Now().Add(liveTimeout)
		for {
			api("/task_runs/filter", filter, &tasks)
			if len(tasks) >= 6 || time.Now().After(deadline) {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if len(tasks) != 6 {
			t.Fatalf("%d task runs recorded, want 6 (flaky, 3 × double, add_all, the child subflow)", len(tasks))
		}
		// The dependencies, from task_inputs: distinct (upstream, downstream)
		// pairs among these task runs; a subflow result counts as its task run.
		node, childTask := map[string]string{}, map[string]string{}
		for _, tr := range tasks {
			node[tr.ID] = tr.Name
		}
		for _, s := range subflows {
			childTask[s.ID] = s.ParentTaskRunID
		}
		edges := map[string]bool{}
		for _, tr := range tasks {
			for _, ins := range tr.TaskInputs {
				for _, in := range ins {
					from := in.ID
					if in.InputType == "flow_run" {
						from = childTask[in.ID]
					}
					if (in.InputType == "task_run" || in.InputType == "flow_run") && node[from] != "" && from != tr.ID {
						edges[from+">"+tr.ID] = true
					}
				}
			}
		}
		// The client reports at least the three futures add_all reads;
		// child(total) gets a plain int, which Prefect does not track.
		if len(edges) < 3 {
			t.Fatalf("only %d dependencies recorded, want at least 3 (each double → add_all): %v", len(edges), edges)
		}

		b.visit(ws.path("/runs/flow-run/" + run + "?tab=radar"))
		b.eventually("the Radar shows six nodes", `document.querySelectorAll("#run-tasks svg.radar a.radar-node").length === 6`, liveTimeout)
		if n := get(b, "count edges", chromedp.Evaluate[int](`document.querySelectorAll("#run-tasks svg.radar path.radar-edge").length`)); n != len(edges) {
			t.Errorf("the Radar draws %d edges, want %d", n, len(edges))
		}
		for id, name := range node {
			sel := `#run-tasks svg.radar a.radar-node[href="` + ws.path("/runs/task-run/"+id) + `"]`
			if !b.exists(sel) {
				t.Errorf("no Radar node links to task run %s (%s)", name, id)
			}
		}
		for e := range edges {
			from, to, _ := strings.Cut(e, ">")
			// An edge runs from the right of its upstream box to the left of
			// its downstream one.
			ok := get(b, "check edge "+e, chromedp.Evaluate[bool](`(() => {
				const box = id => document.querySelector('#run-tasks a.radar-node[href$="/runs/task-run/' + id + '"] rect');
				const a = box(`+jsString(from)+`), b = box(`+jsString(to)+`);
				const ax = +a.getAttribute("x") + +a.getAttribute("width"), ay = +a.getAttribute("y") + +a.getAttribute("height") / 2;
				const bx = +b.getAttribute("x") - 2, by = +b.getAttribute("y") + +b.getAttribute("height") / 2;
				return [...document.querySelectorAll("#run-tasks path.radar-edge")].some(p => {
					const d = p.getAttribute("d");
					return d.startsWith("M" + ax + " " + ay + " ") && d.endsWith(" " + bx + " " + by);
				});
			})()`))
			if !ok {
				t.Errorf("no edge from %s to %s", node[from], node[to])
			}
		}
		if !b.exists(`#run-tasks a.radar-node.radar-subflow[aria-label^="child"]`) {
			t.Errorf("the subflow's node is not marked as a subflow")
		}
		b.screenshot("radar")

		var addAll string // the task run's name is add_all-<suffix>
		for id, name := range node {
			if strings.HasPrefix(name, "add_all") {
				addAll = id
			}
		}
		if addAll == "" {
			t.Fatalf("no add_all task run among %v", node)
		}
		b.navigated("click the add_all node", chromedp.Click(chromedp.CSS(`#run-tasks a.radar-node[href$="/runs/task-run/`+addAll+`"]`)))
		if p := b.path(); p != ws.path("/runs/task-run/"+addAll) {
			t.Fatalf("the node led to %s", p)
		}
		if h := b.text("#task-header h1"); h != node[addAll] {
			t.Errorf("the task run page's heading reads %q", h)
		}
		if inputs := b.text("#task-header table.inputs"); !strings.Contains(inputs, "values") || strings.Count(inputs, "task_run") != 3 {
			t.Errorf("add_all's inputs read %q, want three task_run inputs of values", inputs)
		}
		if back := b.text("#back-to-flow-run"); back == "" {
			t.Errorf("no link back to the flow run")
		}
		b.screenshot("task-run")
	})
}

// A run marked Late and a failed run, made through the HTTP API while the
// dashboard is open, appear on it as warnings that link to the runs.
func TestDashboardWarnsOfLateAndFailedRuns(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		b := ts.newBrowser(t)
		carol := newUser("carol")
		b.register(carol)
		ws := b.createWorkspace("Ops", "Alerts")
		key := b.createAPIKey("ops")
		api := apiPoster(t, ts, ws, key)

		b.visit(ws.path("/dashboard"))
		if !b.exists("#no-warnings") {
			t.Fatalf("a new workspace has warnings: %s", b.text("main"))
		}
		b.markPage()

		flow := api("/flows/", map[string]any{"name": "nightly-report"})
		past := time.Now().UTC().Add(-15 * time.Minute).Format(time.RFC3339Nano)
		late := api("/flow_runs/", map[string]any{"flow_id": flow, "name": "tardy-toad",
			"state": map[string]any{"type": "SCHEDULED", "state_details": map[string]any{"scheduled_time": past}}})
		api("/flow_runs/"+late+"/set_state", map[string]any{"force": true,
			"state": map[string]any{"type": "SCHEDULED", "name": "Late", "state_details": map[string]any{"scheduled_time": past}}})
		failed := api("/flow_runs/", map[string]any{"flow_id": flow, "name": "broken-bat", "state": map[string]any{"type": "PENDING"}})
		api("/flow_runs/"+failed+"/set_state", map[string]any{"state": map[string]any{"type": "RUNNING"}})
		api("/flow_runs/"+failed+"/set_state", map[string]any{"state": map[string]any{"type": "FAILED", "message": "Flow run encountered an exception: boom"}})

		b.eventually("both warnings appear", `!!document.querySelector("#late-runs") && !!document.querySelector("#failed-runs")`, liveTimeout)
		if !b.notReloaded() {
			t.Errorf("the dashboard was reloaded")
		}
		lateLink := `#late-runs a[href="` + ws.path("/runs/flow-run/"+late) + `"]`
		if got := b.text(lateLink); got != "tardy-toad" {
			t.Errorf("the late-run warning's link reads %q", got)
		}
		if got := b.text("#late-runs"); !strings.Contains(got, "1 late run") || !strings.Contains(got, "Late") {
			t.Errorf("the late-run warning reads %q", got)
		}
		failedLink := `#failed-runs a[href="` + ws.path("/runs/flow-run/"+failed) + `"]`
		if got := b.text(failedLink); got != "broken-bat" {
			t.Errorf("the failed-run warning's link reads %q", got)
		}
		if strings.Contains(b.text("#failed-runs"), "tardy-toad") || strings.Contains(b.text("#late-runs"), "broken-bat") {
			t.Errorf("the warnings mix the runs up")
		}
		b.screenshot("dashboard-warnings")

		b.navigated("open the failed run", chromedp.Click(chromedp.CSS(failedLink)))
		if got := b.text("#run-header .run-state"); got != "Failed" {
			t.Errorf("the failed run's state reads %q", got)
		}
		if msg := b.text("#run-header .state-message"); !strings.Contains(msg, "boom") {
			t.Errorf("the failure message reads %q", msg)
		}
		b.visit(ws.path("/dashboard"))
		b.navigated("open the late run", chromedp.Click(chromedp.CSS(lateLink)))
		if got := b.text("#run-header .run-state"); got != "Late" {
			t.Errorf("the late run's state reads %q", got)
		}
	})
}

// The pages work on a phone-sized screen with the keyboard: no page is
// wider than the screen, and the Radar's nodes take focus.
func TestRunPagesOnAPhone(t *testing.T) {
	ts := startServer(t)
	b := ts.newBrowser(t)
	dan := newUser("dan")
	b.register(dan)
	ws := b.createWorkspace("Phone", "Small screens")
	c := ts.newClient(t)
	c.signIn(dan)
	api := &wsAPI{t: t, c: c, ws: ws, key: c.createKey("phone")}
	run := api.flowRun(api.flow("mobile"), "pocket-run", state("RUNNING", "", time.Time{}, nil), map[string]any{"tags": []string{"phone"}})
	up := api.taskRun(run, "fetch", "0", nil, state("COMPLETED", "", time.Time{}, nil))
	api.taskRun(run, "store", "0", map[string][]string{"x": {up}}, state("RUNNING", "", time.Time{}, nil))
	api.log(run, "", 20, strings.Repeat("a long log line that must wrap ", 10))

	b.do("use a phone's viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	for _, p := range []string{"/dashboard", "/runs", "/runs/flow-run/" + run, "/runs/flow-run/" + run + "?tab=task-runs", "/runs/flow-run/" + run + "?tab=radar",
		"/runs/task-run/" + up, "/flows"} {
		b.visit(ws.path(p))
		if w := get(b, "measure "+p, chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); w > 390 {
			t.Errorf("%s is %dpx wide on a 390px screen", p, w)
		}
	}
	b.visit(ws.path("/runs/flow-run/" + run))
	b.screenshot("flow-run-phone")
	b.visit(ws.path("/runs/flow-run/" + run + "?tab=radar"))
	// Tab from the log filter backwards lands on Radar nodes and links.
	focusable := get(b, "list focusable nodes", chromedp.Evaluate[int](`[...document.querySelectorAll("svg.radar a.radar-node")].filter(a => { a.focus(); return document.activeElement === a; }).length`))
	if focusable != 2 {
		t.Errorf("%d of 2 Radar nodes take keyboard focus", focusable)
	}
	// A live update keeps the keyboard focus where it was.
	storeNode := `svg.radar a.radar-node[aria-label^="store"]`
	b.do("focus the store node", chromedp.Evaluate[chromedp.Void](`(() => { const a = document.querySelector(`+jsString(storeNode)+`); a.__old = true; a.focus(); })()`))
	b.eventually("the Radar is redrawn", `document.querySelector(`+jsString(storeNode)+`).__old === undefined`, liveTimeout)
	if !get(b, "read the focus", chromedp.Evaluate[bool](`document.activeElement === document.querySelector(`+jsString(storeNode)+`)`)) {
		t.Errorf("the live update took the focus off the Radar node")
	}
	// Every form control has a label.
	unlabelled := get(b, "find unlabelled controls", chromedp.Evaluate[[]string](`[...document.querySelectorAll("select, input:not([type=hidden])")].filter(e => !e.labels || e.labels.length === 0).map(e => e.name)`))
	if len(unlabelled) > 0 {
		t.Errorf("controls without a label: %v", unlabelled)
	}
}
