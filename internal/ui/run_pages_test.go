package ui_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/praetorhq/praetor/internal/ui"
)

// Tests of the workspace pages over plain HTTP (the browser tests are in
// run_browser_test.go): runs are made through the workspace's REST API, as
// a client would, and the pages are read as the server renders them.

// wsAPI calls one workspace's REST API with a key of a signed-in client.
type wsAPI struct {
	t   *testing.T
	c   *client
	ws  workspace
	key string
}

// newWorkspaceAPI registers a user with a workspace and returns its API,
// the client (signed in) and the workspace.
func newWorkspaceAPI(t *testing.T, ts *testServer, name string) (*wsAPI, *client, workspace) {
	t.Helper()
	c := ts.newClient(t)
	u := newUser(name)
	c.register(u)
	ws := c.createWorkspace(u, "Ops "+randomHex(2), "runs")
	return &wsAPI{t: t, c: c, ws: ws, key: c.createKey("runs")}, c, ws
}

// call sends a request below the workspace's API root and decodes a 2xx
// answer into out (when not nil).
func (a *wsAPI) call(method, path string, body, out any) {
	a.t.Helper()
	r := a.c.api(method, "/accounts/"+a.ws.AccountID+"/workspaces/"+a.ws.ID+path, a.key, body)
	if r.Status/100 != 2 {
		a.t.Fatalf("%s %s: %d %s", method, path, r.Status, r.Body)
	}
	if out != nil {
		r.decode(a.t, out)
	}
}

type idOnly struct {
	ID string `json:"id"`
}

func (a *wsAPI) flow(name string) string {
	a.t.Helper()
	var f idOnly
	a.call("POST", "/flows/", map[string]any{"name": name}, &f)
	return f.ID
}

// state is a state to propose; at, when not zero, is its timestamp.
func state(typ, name string, at time.Time, details map[string]any) map[string]any {
	s := map[string]any{"type": typ}
	if name != "" {
		s["name"] = name
	}
	if !at.IsZero() {
		s["timestamp"] = at.UTC().Format(time.RFC3339Nano)
	}
	if details != nil {
		s["state_details"] = details
	}
	return s
}

func (a *wsAPI) flowRun(flowID, name string, st map[string]any, extra map[string]any) string {
	a.t.Helper()
	body := map[string]any{"flow_id": flowID, "name": name, "state": st}
	for k, v := range extra {
		body[k] = v
	}
	var r idOnly
	a.call("POST", "/flow_runs/", body, &r)
	return r.ID
}

func (a *wsAPI) setFlowRunState(id string, st map[string]any) {
	a.t.Helper()
	var res struct {
		Status string `json:"status"`
	}
	a.call("POST", "/flow_runs/"+id+"/set_state", map[string]any{"state": st, "force": true}, &res)
	if res.Status != "ACCEPT" {
		a.t.Fatalf("set_state on %s: %s", id, res.Status)
	}
}

// taskRun creates a task run of flowRun; inputs maps parameters to the
// upstream task runs they read.
func (a *wsAPI) taskRun(flowRun, name, dynamicKey string, inputs map[string][]string, st map[string]any) string {
	a.t.Helper()
	ti := map[string]any{}
	for p, ids := range inputs {
		refs := []map[string]any{}
		for _, id := range ids {
			refs = append(refs, map[string]any{"input_type": "task_run", "id": id})
		}
		ti[p] = refs
	}
	var r idOnly
	a.call("POST", "/task_runs/", map[string]any{"flow_run_id": flowRun, "name": name, "task_key": name,
		"dynamic_key": dynamicKey, "task_inputs": ti, "state": st}, &r)
	return r.ID
}

func (a *wsAPI) log(flowRun, taskRun string, level int, msg string) {
	a.t.Helper()
	l := map[string]any{"name": "prefect.flow_runs", "level": level, "message": msg,
		"timestamp": time.Now().UTC().Format(time.RFC3339Nano), "flow_run_id": flowRun}
	if taskRun != "" {
		l["task_run_id"] = taskRun
		l["name"] = "prefect.task_runs"
	}
	a.call("POST", "/logs/", []any{l}, nil)
}

// wsPage fetches a page of the workspace and fails unless it answers 200.
func wsPage(t *testing.T, c *client, ws workspace, path string) string {
	t.Helper()
	r := c.get(ws.path(path))
	if r.Status != http.StatusOK {
		t.Fatalf("GET %s: %d\n%s", path, r.Status, r.Body)
	}
	return r.Body
}

func count(body, s string) int { return strings.Count(body, s) }

// The flow run page shows the run, its state history and timeline, and
// under its tabs the task runs, subflow, Radar, logs with a level filter,
// artifacts and parameters (each tab read alone); its live fragments keep
// polling while the run goes on and carry data-final once it has finished
// and settled.
func TestFlowRunPage(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		api, c, ws := newWorkspaceAPI(t, ts, "flora")
		t0 := time.Now().Add(-3 * time.Minute)
		flow := api.flow("etl")
		run := api.flowRun(flow, "brave-otter", state("RUNNING", "", t0, nil), map[string]any{"parameters": map[string]any{"day": "2026-03-01", "limit": 10}})
		done := state("COMPLETED", "", t0.Add(time.Second), nil)
		extract := api.taskRun(run, "extract", "0", nil, done)
		var mapped []string
		for i := 0; i < 3; i++ {
			mapped = append(mapped, api.taskRun(run, fmt.Sprintf("transform-%d", i), fmt.Sprint(i), map[string][]string{"x": {extract}}, done))
		}
		load := api.taskRun(run, "load", "0", map[string][]string{"rows": mapped, "wait_for": {extract}}, state("RUNNING", "", t0.Add(2*time.Second), nil))
		childTask := api.taskRun(run, "child", "0", map[string][]string{"__parents__": {load}}, state("RUNNING", "", t0.Add(3*time.Second), nil))
		child := api.flowRun(api.flow("child"), "little-otter", state("RUNNING", "", t0.Add(3*time.Second), nil), map[string]any{"parent_task_run_id": childTask})
		api.log(run, "", 30, "The fun is about to begin")
		api.log(run, load, 20, "loading 30 rows")
		api.call("POST", "/artifacts/", map[string]any{"key": "report", "type": "markdown", "data": "# Rows: 30", "flow_run_id": run}, nil)

		tab := func(name string) string { return wsPage(t, c, ws, "/runs/flow-run/"+run+"?tab="+name) }
		body := wsPage(t, c, ws, "/runs/flow-run/"+run)
		for _, want := range []string{"brave-otter", ">etl<", `data-state="RUNNING"`, "The fun is about to begin", "loading 30 rows",
			`href="` + ws.path("/runs/flow-run/"+child) + `"`, `aria-current="page">Logs`} {
			if !strings.Contains(body, want) {
				t.Errorf("the run page lacks %q", want)
			}
		}
		for name, want := range map[string][]string{"artifacts": {"# Rows: 30"}, "parameters": {"&#34;limit&#34;: 10"},
			"subflows": {"little-otter"}, "details": {run, flow}} {
			page := tab(name)
			for _, w := range want {
				if !strings.Contains(page, w) {
					t.Errorf("the %s tab lacks %q", name, w)
				}
			}
			if strings.Contains(page, "loading 30 rows") || !strings.Contains(page, `id="tab-`+name+`" aria-current="page"`) {
				t.Errorf("the %s tab shows the logs, or is not marked current", name)
			}
		}
		// Tabs count what they hold.
		for _, want := range []string{`Task runs <span class="tab-count">6</span>`, `Subflow runs <span class="tab-count">1</span>`, `Artifacts <span class="tab-count">1</span>`} {
			if !strings.Contains(body, want) {
				t.Errorf("the tabs lack %q", want)
			}
		}
		radar := tab("radar")
		// The Radar: one node per task run, linking to it; one edge per
		// dependency (3 extract→transform, 3 transform→load, extract→load
		// by wait_for, load→child by __parents__).
		if n := count(radar, `class="radar-node `); n != 6 {
			t.Errorf("%d Radar nodes, want 6", n)
		}
		if n := count(radar, `class="radar-edge"`); n != 8 {
			t.Errorf("%d Radar edges, want 8", n)
		}
		for _, id := range append(mapped, extract, load, childTask) {
			if !strings.Contains(radar, `<a href="`+ws.path("/runs/task-run/"+id)+`" class="radar-node`) {
				t.Errorf("no Radar node links to task run %s", id)
			}
		}
		if !strings.Contains(radar, "radar-subflow") {
			t.Errorf("the subflow's node is not marked")
		}
		if n := count(tab("task-runs"), `<tr data-task-run-id=`); n != 6 {
			t.Errorf("%d task run rows, want 6", n)
		}
		for _, part := range []string{`data-live="` + ws.path("/runs/flow-run/"+run+"/live/header"), `data-live="` + ws.path("/runs/flow-run/"+run+"/live/tasks?tab=logs"),
			`data-tail="` + ws.path("/runs/flow-run/"+run+"/live/logs?level=0")} {
			if !strings.Contains(body, part) {
				t.Errorf("no live fragment %s", part)
			}
		}
		if !strings.Contains(tab("artifacts"), `data-live="`+ws.path("/runs/flow-run/"+run+"/live/artifacts")) {
			t.Errorf("no live artifacts fragment")
		}
		if strings.Contains(body, "data-final") {
			t.Errorf("a running run's page is final")
		}

		// Fragments are bare HTML, without the layout, and not cached.
		frag := c.get(ws.path("/runs/flow-run/" + run + "/live/header"))
		if frag.Status != 200 || strings.Contains(frag.Body, "<html") || !strings.Contains(frag.Body, `data-state="RUNNING"`) ||
			frag.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("header fragment: %d %q %q", frag.Status, frag.Header.Get("Cache-Control"), frag.Body)
		}
		if r := c.get(ws.path("/runs/flow-run/" + run + "/live/nope")); r.Status != http.StatusNotFound {
			t.Errorf("unknown fragment: %d", r.Status)
		}
		// The level filter.
		warn := c.get(ws.path("/runs/flow-run/" + run + "/live/logs?level=30")).Body
		if !strings.Contains(warn, "The fun is about to begin") || strings.Contains(warn, "loading 30 rows") {
			t.Errorf("warnings-only logs: %s", warn)
		}
		if body := wsPage(t, c, ws, "/runs/flow-run/"+run+"?level=30"); !strings.Contains(body, `<option value="30" selected>`) ||
			strings.Contains(body, "loading 30 rows") || !strings.Contains(body, `data-tail="`+ws.path("/runs/flow-run/"+run+"/live/logs?level=30")) {
			t.Errorf("the page with ?level=30 does not filter its logs")
		}

		// The tail: after the page's last line, only the lines that came since.
		cursors := regexp.MustCompile(`data-cursor="([^"]+)"`).FindAllStringSubmatch(body, -1)
		if len(cursors) != 2 {
			t.Fatalf("%d log lines carry a cursor, want 2", len(cursors))
		}
		tail := func() string {
			t.Helper()
			r := c.get(ws.path("/runs/flow-run/" + run + "/live/logs?level=0&after=" + url.QueryEscape(cursors[1][1])))
			if r.Status != http.StatusOK || strings.Contains(r.Body, "<html") {
				t.Fatalf("log tail: %d %s", r.Status, r.Body)
			}
			return r.Body
		}
		if got := tail(); strings.Contains(got, "<tr") {
			t.Errorf("the tail after the last line has lines: %s", got)
		}
		api.log(run, "", 20, "one more line")
		if got := tail(); strings.Count(got, "<tr") != 1 || !strings.Contains(got, "one more line") {
			t.Errorf("the tail after one new line: %s", got)
		}

		// Finished a minute ago: every fragment is final, so polling stops.
		api.setFlowRunState(run, state("COMPLETED", "", time.Now().Add(-time.Minute), nil))
		for _, part := range []string{"header", "tasks", "logs", "logs?after=", "artifacts"} {
			f := c.get(ws.path("/runs/flow-run/" + run + "/live/" + part)).Body
			if !strings.Contains(f, "data-final") {
				t.Errorf("the %s fragment of a settled run is not final: %s", part, f)
			}
		}
		// Finished just now: still polling, for late logs and task events.
		api.setFlowRunState(child, state("COMPLETED", "", time.Time{}, nil))
		if f := c.get(ws.path("/runs/flow-run/" + child + "/live/logs")).Body; strings.Contains(f, "data-final") {
			t.Errorf("a run that just finished stopped polling")
		}
		if cp := wsPage(t, c, ws, "/runs/flow-run/"+child); !strings.Contains(cp, `href="`+ws.path("/runs/flow-run/"+run)+`">brave-otter</a>`) {
			t.Errorf("the subflow's page does not link to its parent run")
		}

		// The task run page: inputs, state history, logs, the way back.
		tp := wsPage(t, c, ws, "/runs/task-run/"+load)
		for _, want := range []string{">load<", "wait_for", "rows", ">transform-1</a>", ">extract</a>", "loading 30 rows",
			`id="back-to-flow-run"`, `href="` + ws.path("/runs/flow-run/"+run) + `"`, `data-state="RUNNING"`} {
			if !strings.Contains(tp, want) {
				t.Errorf("the task run page lacks %q", want)
			}
		}
		if strings.Contains(tp, "The fun is about to begin") {
			t.Errorf("the task run page shows its flow run's own logs")
		}
		if ct := wsPage(t, c, ws, "/runs/task-run/"+childTask); !strings.Contains(ct, `href="`+ws.path("/runs/flow-run/"+child)+`">little-otter</a>`) {
			t.Errorf("the subflow's task run page does not link to the subflow run")
		}
		if f := c.get(ws.path("/runs/task-run/" + load + "/live/logs")); f.Status != 200 || !strings.Contains(f.Body, "loading 30 rows") {
			t.Errorf("task logs fragment: %d %s", f.Status, f.Body)
		}

		// Unknown and malformed ids are not found.
		for _, p := range []string{"/runs/flow-run/" + ws.ID, "/runs/flow-run/nope", "/runs/task-run/" + run, "/runs/task-run/x/live/header"} {
			if r := c.get(ws.path(p)); r.Status != http.StatusNotFound {
				t.Errorf("GET %s: %d, want 404", p, r.Status)
			}
		}
	})
}

var runRow = regexp.MustCompile(`<tr data-run-id="([0-9a-f-]{36})">`)

// The runs list filters by state, flow, tags and expected start time,
// sorts, and pages by 25.
func TestRunsListFiltersSortsAndPages(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		api, c, ws := newWorkspaceAPI(t, ts, "rudi")
		a, b := api.flow("alpha"), api.flow("beta")
		base := time.Now().UTC().Add(-10 * time.Hour).Truncate(time.Minute)
		ids := map[string]string{}
		for i := 0; i < 30; i++ {
			flow, typ, tags := a, "COMPLETED", []string{}
			if i >= 20 {
				flow, typ = b, "FAILED"
			}
			if i%2 == 0 {
				tags = []string{"nightly"}
			}
			at := base.Add(time.Duration(i) * 10 * time.Minute)
			name := fmt.Sprintf("run-%02d", i)
			ids[name] = api.flowRun(flow, name, state("SCHEDULED", "", time.Time{}, map[string]any{"scheduled_time": at.Format(time.RFC3339)}), map[string]any{"tags": tags})
			api.setFlowRunState(ids[name], state(typ, "", time.Time{}, nil))
		}
		rows := func(path string) []string {
			t.Helper()
			var names []string
			body := wsPage(t, c, ws, path)
			for _, m := range runRow.FindAllStringSubmatch(body, -1) {
				for n, id := range ids {
					if id == m[1] {
						names = append(names, n)
					}
				}
			}
			return names
		}

		first := rows("/runs")
		if len(first) != 25 || first[0] != "run-29" || first[24] != "run-05" {
			t.Errorf("first page: %v", first)
		}
		body := wsPage(t, c, ws, "/runs")
		if !strings.Contains(body, "Runs 1 to 25 of 30") || !strings.Contains(body, `href="`+ws.path("/runs?offset=25")+`" rel="next"`) {
			t.Errorf("first page lacks its count or next link")
		}
		if second := rows("/runs?offset=25"); len(second) != 5 || second[4] != "run-00" {
			t.Errorf("second page: %v", second)
		}
		if failed := rows("/runs?state=FAILED"); len(failed) != 10 || failed[0] != "run-29" || failed[9] != "run-20" {
			t.Errorf("failed runs: %v", failed)
		}
		if got := rows("/runs?state=FAILED&state=COMPLETED"); len(got) != 25 {
			t.Errorf("failed or completed: %d rows", len(got))
		}
		if got := rows("/runs?flow=" + a + "&tags=nightly"); len(got) != 10 || got[0] != "run-18" {
			t.Errorf("alpha runs tagged nightly: %v", got)
		}
		from, to := base.Add(50*time.Minute).Format("2006-01-02T15:04"), base.Add(90*time.Minute).Format("2006-01-02T15:04")
		if got := rows("/runs?from=" + from + "&to=" + to + "&sort=EXPECTED_START_TIME_ASC"); strings.Join(got, ",") != "run-05,run-06,run-07,run-08,run-09" {
			t.Errorf("runs expected from %s to %s, oldest first: %v", from, to, got)
		}
		if got := rows("/runs?sort=NAME_DESC&offset=25"); strings.Join(got, ",") != "run-04,run-03,run-02,run-01,run-00" {
			t.Errorf("by name, descending, second page: %v", got)
		}
		// The form shows the filters it applied.
		f := wsPage(t, c, ws, "/runs?state=FAILED&flow="+b+"&tags=nightly&sort=NAME_ASC")
		for _, want := range []string{`value="FAILED" checked`, `value="` + b + `" selected`, `value="nightly"`, `value="NAME_ASC" selected`,
			`data-live="` + ws.path("/runs/live?flow="+b+"&amp;sort=NAME_ASC&amp;state=FAILED&amp;tags=nightly") + `"`} {
			if !strings.Contains(f, want) {
				t.Errorf("filtered page lacks %s", want)
			}
		}
		if bad := wsPage(t, c, ws, "/runs?state=BOGUS"); !strings.Contains(bad, "Unknown state") || len(runRow.FindAllString(bad, -1)) != 25 {
			t.Errorf("an unknown state is not reported and ignored")
		}
		// The live fragment is the table alone.
		live := c.get(ws.path("/runs/live?state=FAILED"))
		if live.Status != 200 || strings.Contains(live.Body, "<html") || len(runRow.FindAllString(live.Body, -1)) != 10 {
			t.Errorf("live fragment: %d, %d rows", live.Status, len(runRow.FindAllString(live.Body, -1)))
		}
		if empty := wsPage(t, c, ws, "/runs?state=CRASHED"); !strings.Contains(empty, "No flow runs match these filters.") {
			t.Errorf("no message for an empty filtered list")
		}
	})
}

// A runs list whose filters the store keeps no count of counts a little
// past its page, not the whole history: "of 27+" where 30 runs match.
var runsCount = regexp.MustCompile(`id="runs-count">\s*(Runs [^<]*?)\s*</p>`)

func TestRunsListCountStopsPastThePage(t *testing.T) {
	defer ui.SetRunsCountUpTo(2)()
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		api, c, ws := newWorkspaceAPI(t, ts, "una")
		flow := api.flow("alpha")
		base := time.Now().UTC().Add(-10 * time.Hour).Truncate(time.Minute)
		for i := 0; i < 30; i++ {
			at := base.Add(time.Duration(i) * time.Minute)
			api.flowRun(flow, fmt.Sprintf("run-%02d", i), state("SCHEDULED", "", time.Time{}, map[string]any{"scheduled_time": at.Format(time.RFC3339)}), nil)
		}
		from, to := base.Add(-time.Hour).Format("2006-01-02T15:04"), base.Add(time.Hour).Format("2006-01-02T15:04")
		body := wsPage(t, c, ws, "/runs?from="+from+"&to="+to)
		if !strings.Contains(body, "Runs 1 to 25 of 27+") || !strings.Contains(body, `rel="next"`) {
			t.Errorf("a list by time window does not read \"Runs 1 to 25 of 27+\" with a next page:\n%s", body)
		}
		// Counts the store keeps stay exact.
		body = wsPage(t, c, ws, "/runs?state=SCHEDULED")
		if m := runsCount.FindStringSubmatch(body); m == nil || m[1] != "Runs 1 to 25 of 30" {
			t.Errorf("the scheduled runs are not counted exactly: %q", m)
		}
	})
}

// The dashboard counts runs by state over the window, draws their history,
// warns about late and failed runs, and lists upcoming ones.
func TestDashboard(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		api, c, ws := newWorkspaceAPI(t, ts, "dora")
		flow := api.flow("nightly")
		now := time.Now().UTC()
		sched := func(at time.Time) map[string]any {
			return state("SCHEDULED", "", time.Time{}, map[string]any{"scheduled_time": at.Format(time.RFC3339Nano)})
		}
		late := api.flowRun(flow, "tardy-toad", sched(now.Add(-10*time.Minute)), nil)
		api.setFlowRunState(late, state("SCHEDULED", "Late", time.Time{}, map[string]any{"scheduled_time": now.Add(-10 * time.Minute).Format(time.RFC3339Nano)}))
		failed := api.flowRun(flow, "broken-bat", sched(now.Add(-20*time.Minute)), nil)
		api.setFlowRunState(failed, state("FAILED", "", time.Time{}, nil))
		crashed := api.flowRun(flow, "crashed-crow", sched(now.Add(-3*time.Hour)), nil)
		api.setFlowRunState(crashed, state("CRASHED", "", time.Time{}, nil))
		old := api.flowRun(flow, "ancient-ant", sched(now.Add(-72*time.Hour)), nil)
		api.setFlowRunState(old, state("FAILED", "", time.Time{}, nil))
		for i := 0; i < 3; i++ {
			// All in the previous hour's bar, whatever the time now.
			ok := api.flowRun(flow, fmt.Sprintf("fine-fox-%d", i), sched(now.Truncate(time.Hour).Add(-time.Duration(i+1)*time.Minute)), nil)
			api.setFlowRunState(ok, state("COMPLETED", "", time.Time{}, nil))
			api.taskRun(ok, "step", "0", nil, state("COMPLETED", "", time.Time{}, nil))
		}
		api.taskRun(failed, "step", "0", nil, state("FAILED", "", time.Time{}, nil))
		upcoming := api.flowRun(flow, "future-fish", sched(now.Add(2*time.Hour)), nil)

		body := wsPage(t, c, ws, "/dashboard")
		warn := body[strings.Index(body, `id="dash-warn-h"`):strings.Index(body, `id="dash-upcoming-h"`)]
		lateBox := warn[strings.Index(warn, `id="late-runs"`):]
		if !strings.Contains(lateBox, `href="`+ws.path("/runs/flow-run/"+late)+`">tardy-toad</a>`) || !strings.Contains(warn, "1 late run") {
			t.Errorf("the late run is not a warning: %s", warn)
		}
		failedBox := warn[strings.Index(warn, `id="failed-runs"`):]
		for _, want := range []string{`href="` + ws.path("/runs/flow-run/"+failed) + `">broken-bat</a>`, ">crashed-crow</a>", "2 failed or crashed runs"} {
			if !strings.Contains(failedBox, want) {
				t.Errorf("failed warnings lack %s: %s", want, failedBox)
			}
		}
		if strings.Contains(body, "ancient-ant") {
			t.Errorf("a failure outside the 24-hour window is a warning")
		}
		// In the 24 hours up to the end of this hour: 3 completed, the
		// failure, the crash and the late run; not the upcoming one.
		if !strings.Contains(body, `id="dash-total">6<`) {
			t.Errorf("the 24-hour total is not 6")
		}
		for _, want := range []string{`data-state="COMPLETED"><a href="` + ws.path("/runs?state=COMPLETED&amp;from="), `<strong>3</strong> Completed`,
			`<strong>1</strong> Failed`, `<strong>1</strong> Crashed`, `<strong>1</strong> Scheduled`} {
			if !strings.Contains(body, want) {
				t.Errorf("the counts lack %s", want)
			}
		}
		// The history: 24 hourly bars, with the runs in them.
		if n := count(body, `<g class="bar-group">`); n != 24 {
			t.Errorf("%d bars, want 24", n)
		}
		if !strings.Contains(body, "3 completed") || !strings.Contains(body, `class="bar state-failed"`) {
			t.Errorf("the bars do not show the runs")
		}
		up := body[strings.Index(body, `id="dash-upcoming-h"`):]
		if !strings.Contains(up, `href="`+ws.path("/runs/flow-run/"+upcoming)+`">future-fish</a>`) || strings.Contains(up, "tardy-toad") {
			t.Errorf("upcoming runs: %s", up[:min(len(up), 600)])
		}
		tasks := body[strings.Index(body, `id="dash-tasks-h"`):]
		if !strings.Contains(tasks, `<strong>3</strong> Completed`) || !strings.Contains(tasks, `<strong>1</strong> Failed`) {
			t.Errorf("task run counts: %s", tasks)
		}

		// Seven days bring the old failure in; an hour leaves the crash out.
		if week := wsPage(t, c, ws, "/dashboard?window=7d"); !strings.Contains(week, "ancient-ant") || count(week, `<g class="bar-group">`) != 28 {
			t.Errorf("the 7-day window misses the 3-day-old failure or has the wrong bars")
		}
		hour := wsPage(t, c, ws, "/dashboard?window=1h")
		if strings.Contains(hour, "crashed-crow") || !strings.Contains(hour, "broken-bat") || !strings.Contains(hour, `aria-current="page">Past hour`) {
			t.Errorf("the 1-hour window is wrong")
		}
		if live := c.get(ws.path("/dashboard/live?window=1h")); live.Status != 200 || strings.Contains(live.Body, "<html") || !strings.Contains(live.Body, "tardy-toad") {
			t.Errorf("dashboard fragment: %d", live.Status)
		}
	})
}

// The flows list counts each flow's runs; a flow's page lists them.
func TestFlowsPages(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		api, c, ws := newWorkspaceAPI(t, ts, "fifi")
		a, b := api.flow("alpha"), api.flow("beta")
		for i := 0; i < 3; i++ {
			api.flowRun(a, fmt.Sprintf("a-%d", i), state("COMPLETED", "", time.Time{}, nil), nil)
		}
		api.flowRun(a, "a-failed", state("FAILED", "", time.Time{}, nil), nil)
		api.flowRun(b, "b-0", state("RUNNING", "", time.Time{}, nil), nil)
		list := wsPage(t, c, ws, "/flows")
		if !strings.Contains(list, `href="`+ws.path("/runs?flow="+a)+`">4</a>`) || !strings.Contains(list, `href="`+ws.path("/runs?flow="+b)+`">1</a>`) ||
			!strings.Contains(list, `href="`+ws.path("/runs?flow="+a+"&amp;state=FAILED&amp;state=CRASHED")+`"`) {
			t.Errorf("flow run counts are wrong:\n%s", list)
		}
		fp := wsPage(t, c, ws, "/flows/flow/"+a)
		if n := len(runRow.FindAllString(fp, -1)); n != 4 || strings.Contains(fp, ">b-0<") || !strings.Contains(fp, "<strong>3</strong> Completed") {
			t.Errorf("alpha's page lists %d runs", n)
		}
		if r := c.get(ws.path("/flows/flow/" + ws.ID)); r.Status != http.StatusNotFound {
			t.Errorf("unknown flow: %d", r.Status)
		}
	})
}

// Another user cannot see a workspace's runs; signed-out visitors sign in.
func TestRunPagesAreWorkspaceScoped(t *testing.T) {
	ts := startServer(t)
	api, _, ws := newWorkspaceAPI(t, ts, "owen")
	run := api.flowRun(api.flow("secret"), "hidden-hare", state("RUNNING", "", time.Time{}, nil), nil)
	_, mallory, _ := newWorkspaceAPI(t, ts, "mallory")
	for _, p := range []string{"/dashboard", "/runs", "/runs/live", "/runs/flow-run/" + run, "/runs/flow-run/" + run + "/live/header", "/flows"} {
		r := mallory.get(ws.path(p))
		if r.Status != http.StatusNotFound || strings.Contains(r.Body, "hidden-hare") {
			t.Errorf("another user GET %s: %d", p, r.Status)
		}
	}
	anon := ts.newClient(t)
	if r := anon.get(ws.path("/runs/flow-run/" + run)); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/signin?next=") {
		t.Errorf("signed out: %d %s", r.Status, r.location())
	}
}

// The open-source server's "View at …/runs/flow-run/<id>" links lead to the
// same page of the default workspace.
func TestOpenSourceRunLinks(t *testing.T) {
	ts := startServer(t)
	_, c, _ := newWorkspaceAPI(t, ts, "olga")
	id := "01a21631-39f5-7476-b547-28af3627bce2"
	r := c.get("/runs/flow-run/" + id)
	if r.Status != http.StatusSeeOther || !workspacePath.MatchString(r.location()) || !strings.HasSuffix(r.location(), "/runs/flow-run/"+id) {
		t.Errorf("GET /runs/flow-run/%s: %d to %q", id, r.Status, r.location())
	}
	if r := c.get("/runs/task-run/" + id); r.Status != http.StatusSeeOther || !strings.HasSuffix(r.location(), "/runs/task-run/"+id) {
		t.Errorf("GET /runs/task-run/%s: %d to %q", id, r.Status, r.location())
	}
	for _, p := range []string{"/runs/flow-run/nope", "/runs/deployment/" + id} {
		if r := c.get(p); r.Status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, r.Status)
		}
	}
}
