package ui_test

import (
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Real-browser tests of the deployment pages, with the deployment made by
// the real Prefect client's flow.serve().

// servedFlow serves a flow with a required parameter, defaults and a daily
// schedule at 09:00 in Berlin, as a user would; it polls every second.
const servedFlow = `from datetime import datetime
from enum import Enum
from zoneinfo import ZoneInfo
from prefect import flow, get_run_logger
from prefect.schedules import Interval

class Mood(str, Enum):
    calm = "calm"
    cheerful = "cheerful"

@flow(name="greeter")
def greet(name: str, times: int = 2, loud: bool = False, mood: Mood = Mood.calm, extra: list[str] = []):
    """Greets someone.

    Args:
        name: who to greet
    """
    for _ in range(times):
        get_run_logger().info("hello %s (%s)", name, mood.value)

if __name__ == "__main__":
    greet.serve(
        name="daily-greeting",
        description="Greets every morning",
        tags=["ui"],
        parameters={"times": 3},
        schedules=[Interval(86400, anchor_date=datetime(2026, 1, 1, 9, 0, tzinfo=ZoneInfo("Europe/Berlin")), timezone="Europe/Berlin")],
    )
`

// reloadUntil reloads the page until the JavaScript expression js is true.
func (b *browser) reloadUntil(what, path, js string, timeout time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		b.visit(path)
		if get(b, "check "+what, chromedp.Evaluate[bool](js)) {
			return
		}
		if time.Now().After(deadline) {
			b.fail("wait until "+what, errors.New("still false after "+timeout.String()+": "+js))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// A deployment that flow.serve() makes appears in the deployments list and
// on its page with its schedule in words, its next starts, its parameters
// and READY once the process polls. Its Run form refuses a missing
// required parameter next to the field, focused and keeping what was
// typed, then creates a run and lands on its page; the process runs it with
// those parameters. Pause and Resume change what the page shows; a viewer
// sees neither Run nor Pause, and may use neither.
func TestServedDeploymentInTheBrowser(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		pythonBin(t)
		b := ts.newBrowser(t)
		owner := newUser("otto")
		b.register(owner)
		ws := b.createWorkspace("Served", "flow.serve()")
		key := b.createAPIKey("serve")
		script := filepath.Join(t.TempDir(), "greeter.py")
		if err := os.WriteFile(script, []byte(servedFlow), 0o644); err != nil {
			t.Fatal(err)
		}
		startFlow(t, ts, ws, key, script, "PREFECT_RUNNER_POLL_FREQUENCY=1")

		list := ws.path("/deployments")
		row := `table.deployments tr[data-deployment="daily-greeting"]`
		b.reloadUntil("the served deployment is listed", list, `document.querySelector(`+jsString(row)+`) !== null`, liveTimeout)
		if got := b.text(row + " td.schedules"); got != "every day at 09:00 (Europe/Berlin)" {
			t.Errorf("the list's schedule reads %q", got)
		}
		if got := b.text(row + " td:first-child small"); got != "flow greeter" {
			t.Errorf("the list's flow reads %q", got)
		}
		if got := b.text(row + " td:nth-child(4)"); !regexp.MustCompile(` 0[78]:00:00 UTC$`).MatchString(got) {
			t.Errorf("the list's next run reads %q, want the next 09:00 in Berlin", got)
		}
		b.screenshot("deployments")
		b.visit(list + "?name=nothing-like-it")
		if b.exists(row) || !strings.Contains(b.text("#deployments-count"), "nothing-like-it") {
			t.Errorf("the name filter keeps the deployment: %s", b.text("main"))
		}
		b.visit(list + "?name=greet")
		if !b.exists(row) {
			t.Errorf("filtering by the flow's name loses the deployment")
		}

		b.follow(row + " td:first-child > a")
		page := b.path()
		if !strings.Contains(page, "/deployments/deployment/") {
			t.Fatalf("the deployment's link led to %s", page)
		}
		if got := b.text(".schedule-words"); got != "every day at 09:00 (Europe/Berlin)" {
			t.Errorf("the schedule reads %q", got)
		}
		starts := get(b, "read the next starts", chromedp.Evaluate[[]string](`[...document.querySelectorAll("ol.next-starts time")].map(e => e.textContent)`))
		if len(starts) != 3 {
			t.Fatalf("the schedule shows next starts %q, want 3", starts)
		}
		for i, s := range starts {
			if !regexp.MustCompile(` 09:00 CES?T$`).MatchString(s) {
				t.Errorf("next start %d reads %q, want 09:00 Berlin time", i, s)
			}
		}
		if got := b.text(".description"); got != "Greets every morning" {
			t.Errorf("the description reads %q", got)
		}
		if got := b.text(`tr[data-param="name"]`); !strings.Contains(got, "required") || !strings.Contains(got, "who to greet") {
			t.Errorf("the name parameter reads %q", got)
		}
		if got := b.text(`tr[data-param="times"] td:nth-child(3)`); got != "3" {
			t.Errorf("the default of times (the deployment's over the flow's) reads %q", got)
		}
		b.reloadUntil("the deployment is READY", page, `document.querySelector('#deployment-status [data-status="READY"]') !== null`, liveTimeout)
		if got := b.text("#deployment-status"); got != "Ready" {
			t.Errorf("the status reads %q", got)
		}
		// The scheduler makes the runs of the next starts shown.
		const upcoming = `document.querySelectorAll("#upcoming-runs li").length`
		b.reloadUntil("the scheduler's runs are upcoming", page, upcoming+` >= 1`, liveTimeout)
		if first := b.text("#upcoming-runs li:first-child time"); !regexp.MustCompile(` 0[78]:00:00 UTC$`).MatchString(first) {
			t.Errorf("the first upcoming run is expected at %q, want 09:00 in Berlin", first)
		}
		b.screenshot("deployment")

		// Run: a missing required parameter is refused next to its field.
		b.follow("#run-deployment")
		if !b.exists(`#run-form select[name="param:mood"] option[value="\"cheerful\""]`) || !b.exists(`#run-form select[name="param:loud"]`) ||
			!b.exists(`#run-form textarea[name="param:extra"]`) || b.value(`#run-form [name="param:times"]`) != "3" {
			t.Errorf("the form's controls: %s", b.html())
		}
		if status := b.submit("#run-form", map[string]string{"param:times": "4", "param:mood": `"cheerful"`}); status != http.StatusUnprocessableEntity {
			t.Fatalf("a run without its required parameter answered %d", status)
		}
		field := `#run-form [data-param="name"]`
		if got := b.text(field + " .field-error"); !strings.Contains(got, "Required") {
			t.Errorf("the name field's error reads %q", got)
		}
		b.eventually("the field in error has the focus", `document.activeElement === document.querySelector('[name="param:name"]')`, actionTimeout)
		if got := get(b, "read the field's description", chromedp.Evaluate[string](`document.querySelector('[name="param:name"]').getAttribute("aria-describedby")`)); !strings.Contains(got, "-error") {
			t.Errorf("the field is described by %q, not its error", got)
		}
		if b.value(`#run-form [name="param:times"]`) != "4" || b.value(`#run-form [name="param:mood"]`) != `"cheerful"` {
			t.Errorf("the refused form lost what was typed")
		}
		b.screenshot("deployment-run-error")
		b.colorScheme("dark")
		b.screenshot("deployment-run-error-dark")
		b.colorScheme("light")

		if status := b.submit("#run-form", map[string]string{"param:name": "Ada"}); status != http.StatusOK {
			t.Fatalf("a valid run answered %d", status)
		}
		runPage := b.path()
		if !strings.Contains(runPage, "/runs/flow-run/") {
			t.Fatalf("a valid run led to %s", runPage)
		}
		if got := b.text("#flashes"); !strings.Contains(got, "Created the run") {
			t.Errorf("the confirmation reads %q", got)
		}
		if got := b.text("#run-deployment-link"); got != "daily-greeting" {
			t.Errorf("the run page's deployment reads %q", got)
		}
		// The served process runs it, with the parameters typed.
		b.eventually("the run completes", `!!document.querySelector('.run-state [data-state="COMPLETED"]')`, liveTimeout)
		b.eventually("the run logs its parameters", `document.body.innerText.includes("hello Ada (cheerful)")`, liveTimeout)
		b.follow("#run-deployment-link")
		if b.path() != page {
			t.Errorf("the run's deployment link led to %s", b.path())
		}
		runID := runPage[strings.LastIndex(runPage, "/")+1:]
		if !b.exists(`#recent-runs a[href$="` + runID + `"]`) {
			t.Errorf("the deployment's recent runs lack the run")
		}
		b.follow("#deployment-runs-link")
		if !strings.Contains(b.path(), "deployment=") || !b.exists(`tr[data-run-id="`+runID+`"]`) ||
			!b.exists(`select[name="deployment"] option[selected]`) {
			t.Errorf("the deployment's runs list at %s: %s", b.path(), b.text("main"))
		}

		// Pause and resume.
		b.visit(page)
		b.follow("#pause-deployment button")
		if b.path() != page || !b.exists(`#deployment-status [data-paused]`) || !strings.Contains(b.text("#flashes"), "Paused the deployment") {
			t.Errorf("after Pause the page at %s reads %s", b.path(), b.text("main"))
		}
		if b.exists("ol.next-starts") || get(b, "count the upcoming runs", chromedp.Evaluate[int](upcoming)) != 0 {
			t.Errorf("a paused deployment shows next starts or upcoming runs: %s", b.text("main"))
		}
		b.visit(list)
		if !b.exists(row + ` [data-paused]`) {
			t.Errorf("the list does not show the deployment paused")
		}
		b.visit(page)
		b.follow("#resume-deployment button")
		if b.exists(`#deployment-status [data-paused]`) || !b.exists("#pause-deployment") || !strings.Contains(b.text("#flashes"), "Resumed the deployment") {
			t.Errorf("after Resume the page reads %s", b.text("main"))
		}
		b.reloadUntil("the resumed deployment's runs are upcoming again", page, upcoming+` >= 1`, liveTimeout)

		// A viewer reads, and neither runs nor pauses.
		viewer := newUser("vic")
		cv := ts.newClient(t)
		cv.register(viewer)
		co := ts.newClient(t)
		co.signIn(owner)
		cv.join(co, ws.AccountID, viewer.Email, "member")
		if r := co.postCSRF(ws.path("/settings/members"), url.Values{"email": {viewer.Email}, "role": {"viewer"}}); r.Status != http.StatusSeeOther {
			t.Fatalf("make vic a viewer: %d %s", r.Status, r.alert())
		}
		vb := ts.newBrowser(t)
		vb.signIn(viewer)
		if status := vb.visit(page); status != http.StatusOK {
			t.Fatalf("the viewer's deployment page answered %d", status)
		}
		if vb.exists("#run-deployment") || vb.exists("#pause-deployment") || vb.exists("#resume-deployment") {
			t.Errorf("the viewer sees Run or Pause")
		}
		if got := vb.text(".schedule-words"); got != "every day at 09:00 (Europe/Berlin)" {
			t.Errorf("the viewer's schedule reads %q", got)
		}
		if r := cv.get(strings.TrimPrefix(page, "") + "/run"); r.Status != http.StatusNotFound {
			t.Errorf("the viewer's Run form answered %d", r.Status)
		}
		for _, action := range []string{"/run", "/pause"} {
			if r := cv.postCSRF(page+action, url.Values{"param:name": {"Mallory"}}); r.Status != http.StatusForbidden {
				t.Errorf("the viewer's POST %s answered %d", action, r.Status)
			}
		}
		b.visit(page)
		if b.exists(`#deployment-status [data-paused]`) {
			t.Errorf("the viewer's pause went through")
		}
	})
}
