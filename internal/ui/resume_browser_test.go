package ui_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// awaitingInputFlow pauses for input with the real Prefect client and logs
// what it receives.
const awaitingInputFlow = `import pydantic
from prefect import flow, get_run_logger
from prefect.flow_runs import pause_flow_run


class Approval(pydantic.BaseModel):
    approver: str
    level: int
    urgent: bool = False


@flow(name="approval")
def approval():
    answer = pause_flow_run(wait_for_input=Approval, timeout=300, poll_interval=1)
    get_run_logger().info(f"approved by {answer.approver} at level {answer.level} urgent={answer.urgent}")


if __name__ == "__main__":
    approval()
`

// A flow that pauses with wait_for_input, run by the real Prefect client,
// is resumed from its page in Chromium: the page offers Resume, whose form
// is made from the schema the client stored; a value that does not fit is
// refused next to its field, focused, with the run still paused; the
// corrected form resumes the run, and the flow logs the input it received.
func TestResumeFormInTheBrowser(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		pythonBin(t)
		b := ts.newBrowser(t)
		b.register(newUser("paula"))
		ws := b.createWorkspace("Approvals", "pause for input")
		key := b.createAPIKey("laptop")
		script := filepath.Join(t.TempDir(), "approval.py")
		if err := os.WriteFile(script, []byte(awaitingInputFlow), 0o644); err != nil {
			t.Fatal(err)
		}
		flowRun := startFlow(t, ts, ws, key, script)

		b.reloadUntil("the run is listed as Paused", ws.path("/runs"), `document.querySelector('#runs-live tr[data-run-id] [data-state="PAUSED"]') !== null`, liveTimeout)
		b.navigated("open the paused run", chromedp.Click(chromedp.CSS("#runs-live tbody tr td:first-child a")))
		runPage := b.path()
		// The client stores the schema just after pausing; the page offers
		// Resume from the pause on.
		b.eventually("Resume is offered", `document.querySelector("#run-resume") !== null`, liveTimeout)
		b.reloadUntil("the form has the input's fields", runPage+"/resume", `document.querySelector('#resume-form [name="param:level"]') !== null`, liveTimeout)
		if !b.exists(`#resume-form input[name="param:approver"][type="text"]`) || !b.exists(`#resume-form select[name="param:urgent"]`) {
			t.Errorf("the form's controls: %s", b.html())
		}
		b.screenshot("run-resume")

		if status := b.submit("#resume-form", map[string]string{"param:approver": "Ada", "param:level": "2.5"}); status != http.StatusUnprocessableEntity {
			t.Fatalf("a level that is not an integer answered %d", status)
		}
		if got := b.text(`#resume-form [data-param="level"] .field-error`); !strings.Contains(got, "integer") {
			t.Errorf("the level field's error reads %q", got)
		}
		b.eventually("the field in error has the focus", `document.activeElement === document.querySelector('[name="param:level"]')`, actionTimeout)
		if b.value(`#resume-form [name="param:approver"]`) != "Ada" {
			t.Errorf("the refused form lost what was typed")
		}
		b.screenshot("run-resume-error")

		if status := b.submit("#resume-form", map[string]string{"param:level": "3", "param:urgent": "true"}); status != http.StatusOK {
			t.Fatalf("a valid form answered %d", status)
		}
		if b.path() != runPage || !strings.Contains(b.text("#flashes"), "Resumed the run") {
			t.Errorf("the valid form led to %s with %q", b.path(), b.text("#flashes"))
		}
		b.eventually("the run completes", `!!document.querySelector('.run-state [data-state="COMPLETED"]')`, liveTimeout)
		b.eventually("the flow logs the input", `document.body.innerText.includes("approved by Ada at level 3 urgent=True")`, liveTimeout)
		flowRun.wait(t)
	})
}
