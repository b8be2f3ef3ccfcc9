package ui_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/praetorhq/praetor/internal/server"
	"github.com/praetorhq/praetor/internal/testdb"
)

// Real-browser tests of the flow run page's timeline, log tail and tabs,
// with runs made through the workspace's REST API.

// forEachEngineWith is forEachEngine with a server configured as cfg.
func forEachEngineWith(t *testing.T, cfg server.Config, fn func(t *testing.T, ts *testServer)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, startServerWith(t, cfg)) })
	t.Run("postgres", func(t *testing.T) {
		pg := cfg
		pg.DatabaseURL = testdb.Postgres(t)
		fn(t, startServerWith(t, pg))
	})
}

// browserWorkspace registers a user in the browser with a workspace, and
// returns the workspace's API, signed in as the same user.
func browserWorkspace(t *testing.T, ts *testServer, name string) (*browser, *wsAPI, workspace) {
	t.Helper()
	b := ts.newBrowser(t)
	u := newUser(name)
	b.register(u)
	ws := b.createWorkspace("Runs "+randomHex(2), "run page")
	c := ts.newClient(t)
	c.signIn(u)
	return b, &wsAPI{t: t, c: c, ws: ws, key: c.createKey(name)}, ws
}

// taskRunAt creates a task run of flowRun with task key key whose state
// history is states (type, name, time); inputs name upstream task runs.
func (a *wsAPI) taskRunAt(flowRun, name, key, dynamicKey string, inputs map[string][]string, states ...map[string]any) string {
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
	a.call("POST", "/task_runs/", map[string]any{"flow_run_id": flowRun, "name": name, "task_key": key,
		"dynamic_key": dynamicKey, "task_inputs": ti, "state": states[0]}, &r)
	for _, st := range states[1:] {
		var res struct {
			Status string `json:"status"`
		}
		a.call("POST", "/task_runs/"+r.ID+"/set_state", map[string]any{"state": st, "force": true}, &res)
		if res.Status != "ACCEPT" {
			a.t.Fatalf("set_state on task run %s: %s", name, res.Status)
		}
	}
	return r.ID
}

// The timeline of a run with a subflow, a mapped task and a retried task
// draws every task run on the time axis, in the order they started, with
// its waits and retries, and an arrow for each dependency from the end of
// the upstream bar to the start of the downstream one; each bar names its
// run and links to its page.
func TestRunTimeline(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		b, api, ws := browserWorkspace(t, ts, "tim")
		t0 := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
		at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
		st := func(typ, name string, s float64) map[string]any { return state(typ, name, at(s), nil) }
		run := api.flowRun(api.flow("pipeline"), "timely-tern", st("RUNNING", "", 0), nil)

		extract := api.taskRunAt(run, "extract-0", "extract", "0", nil, st("PENDING", "", 0), st("RUNNING", "", 1), st("COMPLETED", "", 3))
		var doubles []string
		for i := 0; i < 3; i++ {
			doubles = append(doubles, api.taskRunAt(run, fmt.Sprintf("double-%d", i), "double", fmt.Sprint(i), map[string][]string{"x": {extract}},
				st("PENDING", "", 3), st("RUNNING", "", 3.5+float64(i)), st("COMPLETED", "", 6+float64(i))))
		}
		flaky := api.taskRunAt(run, "flaky-0", "flaky", "0", map[string][]string{"wait_for": {extract}},
			st("PENDING", "", 3), st("RUNNING", "", 3.2), st("SCHEDULED", "AwaitingRetry", 4), st("RUNNING", "Retrying", 7), st("COMPLETED", "", 9))
		// The subflow's task run takes its states from the subflow, as the
		// client's subflows do.
		childTask := api.taskRunAt(run, "child-0", "child", "0", map[string][]string{"__parents__": {flaky}}, st("PENDING", "", 9))
		child := api.flowRun(api.flow("child"), "small-tern", st("RUNNING", "", 9.5), map[string]any{"parent_task_run_id": childTask})
		api.setFlowRunState(child, st("COMPLETED", "", 12))
		addAll := api.taskRunAt(run, "add_all-0", "add_all", "0", map[string][]string{"values": doubles},
			st("PENDING", "", 9), st("RUNNING", "", 12.5))
		starts := map[string]float64{extract: 1, doubles[0]: 3.5, doubles[1]: 4.5, doubles[2]: 5.5, flaky: 3.2, childTask: 9.5, addAll: 12.5}
		deps := [][2]string{{extract, doubles[0]}, {extract, doubles[1]}, {extract, doubles[2]}, {extract, flaky}, {flaky, childTask},
			{doubles[0], addAll}, {doubles[1], addAll}, {doubles[2], addAll}}

		b.visit(ws.path("/runs/flow-run/" + run))
		b.waitVisible("#run-timeline svg.timeline-chart")
		b.screenshot("flow-run-timeline")
		href := func(id string) string {
			if id == childTask {
				return ws.path("/runs/flow-run/" + child) // a subflow's bar opens the subflow
			}
			return ws.path("/runs/task-run/" + id)
		}
		row := func(id string) string { return `#run-timeline a.tl-row[href="` + href(id) + `"]` }
		type bar struct {
			Start, End float64 // x of the running stretch's start, of the bar's end
			Title      string
			Wait       int
			Retry      int
		}
		read := func(id string) bar {
			t.Helper()
			sel := row(id)
			if !b.exists(sel) {
				t.Fatalf("no timeline bar links to %s", href(id))
			}
			return get(b, "read the bar of "+id, chromedp.Evaluate[bar](`(() => {
				const a = document.querySelector(`+jsString(sel)+`);
				const rects = [...a.querySelectorAll("rect")];
				const run = a.querySelector("rect.tl-run"), last = rects[rects.length - 1];
				return {Start: +run.getAttribute("x"), End: +last.getAttribute("x") + +last.getAttribute("width"),
					Title: a.querySelector("title").textContent, Wait: a.querySelectorAll("rect.tl-wait").length,
					Retry: a.querySelectorAll("rect.tl-retry").length};
			})()`))
		}
		if n := get(b, "count bars", chromedp.Evaluate[int](`document.querySelectorAll("#run-timeline a.tl-row").length`)); n != len(starts) {
			t.Errorf("the timeline draws %d bars, want %d", n, len(starts))
		}
		// In start order, left to right and top to bottom.
		ids := make([]string, 0, len(starts))
		for id := range starts {
			ids = append(ids, id)
		}
		sort.Slice(ids, func(i, j int) bool { return starts[ids[i]] < starts[ids[j]] })
		bars := map[string]bar{}
		var prev bar
		for i, id := range ids {
			bars[id] = read(id)
			if i > 0 && bars[id].Start <= prev.Start {
				t.Errorf("bar %d (%s) starts at x=%v, not right of the one before (x=%v)", i, bars[id].Title, bars[id].Start, prev.Start)
			}
			prev = bars[id]
		}
		order := get(b, "read the rows' order", chromedp.Evaluate[[]string](`[...document.querySelectorAll("#run-timeline a.tl-row")].map(a => a.getAttribute("href"))`))
		for i, id := range ids {
			if i < len(order) && order[i] != href(id) {
				t.Errorf("row %d links to %s, want %s (rows in start order)", i, order[i], href(id))
			}
		}
		// Proportional: extract ran 2 s, from 1 s; the scale holds for all.
		scale := (bars[addAll].Start - bars[extract].Start) / (12.5 - 1)
		if d := bars[doubles[1]].Start - bars[extract].Start; d < scale*3.5-2 || d > scale*3.5+2 {
			t.Errorf("double-1 starts %v units after extract, want about %v", d, scale*3.5)
		}
		// Titles name the run, its state, start and duration.
		for _, id := range ids {
			tt := bars[id].Title
			if !strings.Contains(tt, "started ") || !strings.Contains(tt, "ran ") || !strings.Contains(tt, ": ") {
				t.Errorf("the bar's title %q lacks its state, start or duration", tt)
			}
		}
		if tt := bars[addAll].Title; !strings.HasPrefix(tt, "add_all-0: Running") {
			t.Errorf("add_all's title reads %q", tt)
		}
		if tt := bars[childTask].Title; !strings.HasPrefix(tt, "child-0 (subflow): Completed") {
			t.Errorf("the subflow's title reads %q", tt)
		}
		// The retry: two attempts, with the wait between them drawn.
		if f := bars[flaky]; f.Retry != 1 || !strings.Contains(f.Title, "2 attempts") || !strings.Contains(f.Title, "awaited retries 3.0s") {
			t.Errorf("the retried task's bar has %d retry waits, title %q", f.Retry, f.Title)
		}
		if bars[doubles[2]].Wait != 1 || !strings.Contains(bars[doubles[2]].Title, "waited 2.5s") {
			t.Errorf("double-2's pending wait is not drawn: %+v", bars[doubles[2]])
		}
		// The still-running task's bar reaches past everything that ended.
		if bars[addAll].End <= bars[childTask].End {
			t.Errorf("the running task's bar ends at %v, before the subflow's end %v", bars[addAll].End, bars[childTask].End)
		}
		// One arrow per dependency, from the end of the upstream bar to
		// the start of the downstream one.
		if n := get(b, "count edges", chromedp.Evaluate[int](`document.querySelectorAll("#run-timeline path.tl-edge").length`)); n != len(deps) {
			t.Errorf("the timeline draws %d arrows, want %d", n, len(deps))
		}
		for _, d := range deps {
			from, to := row(d[0]), row(d[1])
			ok := get(b, "find the arrow", chromedp.Evaluate[bool](`(() => {
				const y = a => { const r = a.querySelector("rect"); return +r.getAttribute("y") - 5 + 12; };
				const a = document.querySelector(`+jsString(from)+`), b = document.querySelector(`+jsString(to)+`);
				const rects = [...a.querySelectorAll("rect")], last = rects[rects.length - 1];
				const x1 = +last.getAttribute("x") + +last.getAttribute("width"), x2 = +b.querySelector("rect.tl-run").getAttribute("x") - 2;
				return [...document.querySelectorAll("#run-timeline path.tl-edge")].some(p => {
					const d = p.getAttribute("d");
					return d.startsWith("M" + x1 + " " + y(a) + " ") && d.endsWith(" " + x2 + " " + y(b));
				});
			})()`))
			if !ok {
				t.Errorf("no arrow from %s to %s", bars[d[0]].Title, bars[d[1]].Title)
			}
		}
		b.follow(row(flaky) + " rect.tl-run")
		if p := b.path(); p != ws.path("/runs/task-run/"+flaky) {
			t.Errorf("the retried task's bar leads to %s", p)
		}
	})
}

// The page of a running flow whose logs keep arriving asks only for the
// new lines: with 1,000 lines on the page and one new line per poll, each
// poll's answer stays the size of one line. The "minute" of the issue is
// 30 polls, a minute at the default 2 s interval, here 200 ms apart.
func TestRunLogsTailOnlyNewLines(t *testing.T) {
	const polls = 30
	forEachEngineWith(t, server.Config{UIPollInterval: 200 * time.Millisecond}, func(t *testing.T, ts *testServer) {
		b, api, ws := browserWorkspace(t, ts, "tails")
		run := api.flowRun(api.flow("chatty"), "talkative-tit", state("RUNNING", "", time.Time{}, nil), nil)
		start := time.Now().UTC().Add(-time.Minute)
		var seed []any
		for i := 0; i < 1000; i++ {
			seed = append(seed, map[string]any{"name": "prefect.flow_runs", "level": 20, "flow_run_id": run,
				"message":   fmt.Sprintf("seed line %04d: %s", i, strings.Repeat("lorem ipsum ", 8)),
				"timestamp": start.Add(time.Duration(i) * time.Millisecond).Format(time.RFC3339Nano)})
		}
		api.call("POST", "/logs/", seed, nil)

		b.visit(ws.path("/runs/flow-run/" + run))
		rows := `document.querySelectorAll("#run-logs tbody tr").length`
		if n := get(b, "count log rows", chromedp.Evaluate[int](rows)); n != 1000 {
			t.Fatalf("the page shows %d log lines, want 1000", n)
		}
		b.do("count from here", chromedp.Evaluate[chromedp.Void](`performance.setResourceTimingBufferSize(100000); performance.clearResourceTimings()`))
		full := len(b.html())
		for i := 0; i < polls; i++ {
			msg := fmt.Sprintf("new line %02d", i)
			api.log(run, "", 20, msg)
			b.eventually("the page shows "+msg,
				`(() => { const r = document.querySelector("#run-logs tbody").lastElementChild; return !!r && r.innerText.includes(`+jsString(msg)+`); })()`, liveTimeout)
		}
		type fetched struct{ N, Total, Max int }
		got := get(b, "sum the log fetches", chromedp.Evaluate[fetched](`(() => {
			const es = performance.getEntriesByType("resource").filter(e => e.name.includes("/live/logs"));
			return {N: es.length, Total: es.reduce((s, e) => s + e.encodedBodySize, 0), Max: es.reduce((m, e) => Math.max(m, e.encodedBodySize), 0)};
		})()`))
		t.Logf("%d log fetches, %d bytes in all, at most %d; the page itself is %d bytes", got.N, got.Total, got.Max, full)
		if got.N < polls {
			t.Fatalf("the page fetched its logs %d times for %d new lines", got.N, polls)
		}
		// A line is about 400 bytes of markup; one poll may catch two.
		if got.Max > 2000 {
			t.Errorf("one poll fetched %d bytes: more than the new lines", got.Max)
		}
		if got.Total > got.N*600 {
			t.Errorf("%d polls fetched %d bytes, %d a poll: they grow with more than the new lines", got.N, got.Total, got.Total/got.N)
		}
		// The page keeps at most 1,000 lines: the oldest went, in order.
		if n := get(b, "count log rows", chromedp.Evaluate[int](rows)); n != 1000 {
			t.Errorf("the page keeps %d log lines, want 1000", n)
		}
		if first := b.text("#run-logs tbody tr:first-child td.log"); !strings.HasPrefix(first, fmt.Sprintf("seed line %04d", polls)) {
			t.Errorf("the oldest line kept reads %q", first)
		}
		news := get(b, "read the new lines", chromedp.Evaluate[[]string](`[...document.querySelectorAll("#run-logs tbody td.log")].slice(-`+fmt.Sprint(polls)+`).map(td => td.innerText)`))
		for i, m := range news {
			if want := fmt.Sprintf("new line %02d", i); m != want {
				t.Errorf("new line %d reads %q, want %q", i, m, want)
			}
		}

		// The level filter holds for the tail.
		b.visit(ws.path("/runs/flow-run/" + run + "?level=30"))
		b.waitVisible("#run-logs [data-log-empty]")
		api.log(run, "", 20, "an info line")
		api.log(run, "", 30, "a warning line")
		b.eventually("the warning appears", `document.querySelector("#run-logs").innerText.includes("a warning line")`, liveTimeout)
		if strings.Contains(b.text("#run-logs"), "an info line") {
			t.Errorf("the warnings-only tail shows an info line")
		}
	})
}

// The run page's tabs are links: with scripts off, each opens its section,
// marked current, and the labels count what they hold.
func TestRunPageTabsWithoutScripts(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		b, api, ws := browserWorkspace(t, ts, "tabby")
		done := state("COMPLETED", "", time.Time{}, nil)
		run := api.flowRun(api.flow("tabs"), "tabbed-tapir", state("RUNNING", "", time.Time{}, nil),
			map[string]any{"parameters": map[string]any{"region": "eu-west"}})
		first := api.taskRun(run, "fetch", "0", nil, done)
		api.taskRun(run, "parse", "0", map[string][]string{"x": {first}}, done)
		sub := api.taskRun(run, "sub", "0", nil, done)
		api.flowRun(api.flow("inner"), "inner-ibis", done, map[string]any{"parent_task_run_id": sub})
		api.log(run, "", 20, "a line of the log")
		api.call("POST", "/artifacts/", map[string]any{"key": "summary", "type": "markdown", "data": "# All good", "flow_run_id": run}, nil)

		if _, err := chromedp.Call(b.ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
			t.Fatalf("turn scripts off: %v", err)
		}
		b.visit(ws.path("/runs/flow-run/" + run))
		if got := b.text(`#tabs a[aria-current="page"]`); got != "Logs" {
			t.Errorf("the current tab reads %q, want Logs", got)
		}
		if !strings.Contains(b.text("#run-logs"), "a line of the log") {
			t.Errorf("the Logs tab does not show the log")
		}
		labels := get(b, "read the tabs", chromedp.Evaluate[[]string](`[...document.querySelectorAll("#tabs a")].map(a => a.innerText.replace(/\s+/g, " ").trim())`))
		if want := "Logs,Task runs 3,Subflow runs 1,Artifacts 1,Radar,Details,Parameters"; strings.Join(labels, ",") != want {
			t.Errorf("the tabs read %q, want %q", strings.Join(labels, ","), want)
		}
		for _, tc := range []struct{ tab, panel, want string }{
			{"task-runs", "#run-task-runs", "parse"},
			{"subflows", "#run-subflows", "inner-ibis"},
			{"artifacts", "#run-artifacts", "# All good"},
			{"radar", "#run-radar", "Radar"},
			{"details", "#run-details", run},
			{"parameters", "#run-parameters", "eu-west"},
			{"logs", "#run-logs", "a line of the log"},
		} {
			b.follow("#tab-" + tc.tab)
			if p := b.path(); p != ws.path("/runs/flow-run/"+run+"?tab="+tc.tab) {
				t.Errorf("the %s tab leads to %s", tc.tab, p)
			}
			if !b.exists(`#tab-` + tc.tab + `[aria-current="page"]`) {
				t.Errorf("the %s tab is not marked current", tc.tab)
			}
			if !b.exists(tc.panel) || !strings.Contains(b.text(tc.panel), tc.want) {
				t.Errorf("the %s tab does not show %q in %s", tc.tab, tc.want, tc.panel)
			}
			for _, other := range []string{"#run-task-runs", "#run-subflows", "#run-artifacts", "#run-radar", "#run-details", "#run-parameters", "#run-logs"} {
				if other != tc.panel && b.exists(other) {
					t.Errorf("the %s tab also shows %s", tc.tab, other)
				}
			}
			if !b.exists("#run-timeline a.tl-row") {
				t.Errorf("the %s tab has no timeline", tc.tab)
			}
		}
		b.visit(ws.path("/runs/flow-run/" + run + "?tab=radar"))
		if n := get(b, "count Radar nodes", chromedp.Evaluate[int](`document.querySelectorAll("#run-radar a.radar-node").length`)); n != 3 {
			t.Errorf("the Radar tab draws %d nodes, want 3", n)
		}
	})
}
