package ui_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// Acceptance 6 of issue 20: in Chromium, "a flow run failed → webhook" is
// made from its template with a local receiver as the target; a run that
// fails through the API makes the receiver get the webhook, with the
// run's name and a link to its page, and the automation's page and the
// list show when it last fired and that its action was done.
func TestAutomationFromTemplateFires(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		hooks := make(chan string, 8)
		receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			select {
			case hooks <- r.Method + " " + string(body):
			default:
			}
		}))
		t.Cleanup(receiver.Close)

		b := ts.newBrowser(t)
		u := newUser("ada")
		b.register(u)
		ws := b.createWorkspace("Alerts", "")
		c := ts.newClient(t)
		c.signIn(u)
		api := &wsAPI{t: t, c: c, ws: ws, key: c.createKey("alerts")}

		b.visit(ws.path("/automations"))
		b.follow("#new-automation")
		b.screenshot("automation-new")
		if status := b.submit("#template-form", map[string]string{"name": "failures-to-ops", "webhook_url": receiver.URL + "/hook"}); status != http.StatusOK {
			t.Fatalf("creating the automation answered %d", status)
		}
		page := b.path()
		if !automationPath.MatchString(page) || b.text("#last-fired") != "never" {
			t.Fatalf("after creating, the browser is at %s reading last fired %q", page, b.text("#last-fired"))
		}

		flow := api.flow("etl")
		run := api.flowRun(flow, "nightly-load-7", state("RUNNING", "", time.Time{}, nil), nil)
		api.setFlowRunState(run, state("FAILED", "", time.Time{}, nil))

		select {
		case got := <-hooks:
			if !strings.HasPrefix(got, "POST ") || !strings.Contains(got, "nightly-load-7") || !strings.Contains(got, ws.path("/runs/flow-run/"+run)) {
				t.Errorf("the webhook got %s, want a POST with the run's name and its page", got)
			}
		case <-time.After(actionTimeout):
			t.Fatal("the webhook got nothing after the run failed")
		}
		// The action is recorded done just after its call: reload until then.
		deadline := time.Now().Add(actionTimeout)
		for {
			b.visit(page)
			if b.exists(`#last-fired time`) && b.exists(`table.automation-actions [data-outcome="delivered"]`) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the automation's page never showed the call done: last fired %q, actions %q", b.text("#last-fired"), b.text("main"))
			}
			time.Sleep(200 * time.Millisecond)
		}
		if what := b.text("table.automation-actions [data-outcome]"); !strings.Contains(what, "Call a webhook through the block failures-to-ops-webhook-") {
			t.Errorf("the recent action reads %q", what)
		}
		b.screenshot("automation")
		b.visit(ws.path("/automations"))
		if got := b.text(`tr[data-automation="failures-to-ops"] [data-last-fired]`); got == "never" || !strings.Contains(got, "Done") {
			t.Errorf("the list reads last fired %q, want its time and Done", got)
		}
		b.screenshot("automations")
		b.visit(ws.path("/events"))
		b.screenshot("events")
	})
}
