package server

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/notify"
	"github.com/praetorhq/praetor/internal/testdb"
	"github.com/praetorhq/praetor/internal/ui"
)

type automationRef struct {
	ID string `json:"id"`
}

type eventRef struct {
	ID       string            `json:"id"`
	Event    string            `json:"event"`
	Resource map[string]string `json:"resource"`
}

// eventsNamed lists the workspace's events of name about resource.
func eventsNamed(t *testing.T, srv *Server, name, resource string) []eventRef {
	t.Helper()
	var page struct {
		Events []eventRef `json:"events"`
	}
	call(t, srv, "POST", "/events/filter", map[string]any{"limit": 50, "filter": map[string]any{
		"occurred": map[string]any{"since": time.Now().Add(-time.Hour).Format(time.RFC3339)},
		"event":    map[string]any{"name": []string{name}}, "resource": map[string]any{"id": []string{resource}}}}, &page)
	return page.Events
}

func flowRunState(t *testing.T, srv *Server, id string) string {
	var run scheduledRun
	call(t, srv, "GET", "/flow_runs/"+id, nil, &run)
	return run.StateType
}

func setState(t *testing.T, srv *Server, run, state string) {
	call(t, srv, "POST", "/flow_runs/"+run+"/set_state", map[string]any{"state": map[string]any{"type": state}}, nil)
}

// Acceptance 1 and 2 of #20, with actions that need no receiver: a
// reactive "flow run Failed" automation pauses a deployment as soon as a
// run of its flow fails, and records what it did as Prefect's events; a
// proactive "not Completed within 10 s of Running" automation fails the
// run that hangs and leaves the one that completed in time alone, firing
// once.
func TestAutomationsReactAndProact(t *testing.T) {
	testdb.Engines(t, func(t *testing.T, dsn string) {
		cfg := engineConfig(t, dsn)
		cfg.AutomationsInterval = 100 * time.Millisecond
		srv, _ := openServer(t, cfg)
		var f1, f2 automationRef
		call(t, srv, "POST", "/flows/", map[string]any{"name": "nightly"}, &f1)
		call(t, srv, "POST", "/flows/", map[string]any{"name": "hourly"}, &f2)
		var dep automationRef
		call(t, srv, "POST", "/deployments/", map[string]any{"name": "d", "flow_id": f1.ID}, &dep)

		var onFailure, notCompleted automationRef
		call(t, srv, "POST", "/automations/", map[string]any{"name": "nightly failed",
			"trigger": map[string]any{"posture": "Reactive", "expect": []string{"prefect.flow-run.Failed"},
				"match":         map[string]any{"prefect.resource.id": "prefect.flow-run.*"},
				"match_related": map[string]any{"prefect.resource.role": "flow", "prefect.resource.id": "prefect.flow." + f1.ID}},
			"actions": []map[string]any{{"type": "pause-deployment", "source": "selected", "deployment_id": dep.ID}, {"type": "do-nothing"}}}, &onFailure)
		call(t, srv, "POST", "/automations/", map[string]any{"name": "hourly hangs",
			"trigger": map[string]any{"posture": "Proactive", "after": []string{"prefect.flow-run.Running"}, "expect": []string{"prefect.flow-run.Completed"},
				"for_each": []string{"prefect.resource.id"}, "within": 10, "threshold": 1,
				"match_related": map[string]any{"prefect.resource.role": "flow", "prefect.resource.id": "prefect.flow." + f2.ID}},
			"actions": []map[string]any{{"type": "change-flow-run-state", "state": "FAILED", "message": "hung"}}}, &notCompleted)

		run := func(flow string) string {
			var r automationRef
			call(t, srv, "POST", "/flow_runs/", map[string]any{"flow_id": flow, "state": map[string]any{"type": "PENDING"}}, &r)
			setState(t, srv, r.ID, "RUNNING")
			return r.ID
		}
		hangs, completes := run(f2.ID), run(f2.ID)
		setState(t, srv, completes, "COMPLETED")
		failed := run(f1.ID)
		setState(t, srv, failed, "FAILED")

		deadline := time.Now().Add(5 * time.Second)
		waitFor(t, "the failure to pause the deployment", func() bool {
			var d struct {
				Paused bool `json:"paused"`
			}
			call(t, srv, "GET", "/deployments/"+dep.ID, nil, &d)
			return d.Paused
		})
		if time.Now().After(deadline) {
			t.Errorf("the deployment was paused more than 5 s after the failure")
		}
		automation := "prefect.automation." + onFailure.ID
		waitFor(t, "the action events", func() bool { return len(eventsNamed(t, srv, "prefect.automation.action.executed", automation)) == 2 })
		if got := eventsNamed(t, srv, "prefect.automation.triggered", automation); len(got) != 1 {
			t.Errorf("the reactive automation triggered %d times", len(got))
		} else if got[0].Resource["prefect.resource.name"] != "nightly failed" || got[0].Resource["prefect.posture"] != "Reactive" {
			t.Errorf("triggered event resource: %v", got[0].Resource)
		}

		waitFor(t, "the hanging run to be failed", func() bool {
			return flowRunState(t, srv, hangs) == "FAILED"
		})
		if got := flowRunState(t, srv, completes); got != "COMPLETED" {
			t.Errorf("the run that completed in time is %s", got)
		}
		if got := eventsNamed(t, srv, "prefect.automation.triggered", "prefect.automation."+notCompleted.ID); len(got) != 1 {
			t.Errorf("the proactive automation triggered %d times, want once", len(got))
		}
		// A failure of another flow is not the reactive automation's.
		if got := eventsNamed(t, srv, "prefect.automation.triggered", automation); len(got) != 1 {
			t.Errorf("the reactive automation triggered %d times after the hourly run failed", len(got))
		}
	})
}

// Acceptance 5 of #20: the server stops between an event and its
// evaluation (its evaluator passes only at start, before the event); the
// next server evaluates it, and the automation fires exactly once.
func TestAutomationFiresOnceAcrossARestart(t *testing.T) {
	testdb.Engines(t, func(t *testing.T, dsn string) {
		cfg := engineConfig(t, dsn)
		cfg.AutomationsInterval = time.Hour
		srv, stop := openServer(t, cfg)
		var flow, a automationRef
		call(t, srv, "POST", "/flows/", map[string]any{"name": "f"}, &flow)
		call(t, srv, "POST", "/automations/", map[string]any{"name": "on failure",
			"trigger": map[string]any{"posture": "Reactive", "expect": []string{"prefect.flow-run.Failed"}},
			"actions": []map[string]any{{"type": "do-nothing"}}}, &a)
		var run automationRef
		call(t, srv, "POST", "/flow_runs/", map[string]any{"flow_id": flow.ID, "state": map[string]any{"type": "RUNNING"}}, &run)
		setState(t, srv, run.ID, "FAILED")
		resource := "prefect.automation." + a.ID
		if got := eventsNamed(t, srv, "prefect.automation.triggered", resource); len(got) != 0 {
			t.Fatalf("the automation fired before the restart: %v", got)
		}
		stop()

		cfg.AutomationsInterval = 100 * time.Millisecond
		srv, _ = openServer(t, cfg)
		waitFor(t, "the action after the restart", func() bool {
			return len(eventsNamed(t, srv, "prefect.automation.action.executed", resource)) > 0
		})
		// Three more passes of each: nothing fires again.
		before, acted := passes(t, srv, "triggers"), passes(t, srv, "actions")
		waitFor(t, "more passes", func() bool { return passes(t, srv, "triggers") > before+2 && passes(t, srv, "actions") > acted+2 })
		for name, want := range map[string]int{"prefect.automation.triggered": 1, "prefect.automation.action.triggered": 1, "prefect.automation.action.executed": 1} {
			if got := eventsNamed(t, srv, name, resource); len(got) != want {
				t.Errorf("%s: %d events, want %d", name, len(got), want)
			}
		}
	})
}

// webhookBlock makes a block document of Praetor's webhook block type that
// calls url, and returns its id.
func webhookBlock(t *testing.T, srv *Server, name, url string) string {
	t.Helper()
	def, err := srv.store.DefaultWorkspace(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := notify.Ensure(t.Context(), srv.store, def.ID); err != nil {
		t.Fatal(err)
	}
	var typ, schema automationRef
	call(t, srv, "GET", "/block_types/slug/webhook", nil, &typ)
	var schemas []automationRef
	call(t, srv, "POST", "/block_schemas/filter", map[string]any{"block_schemas": map[string]any{"block_type_id": map[string]any{"any_": []string{typ.ID}}}}, &schemas)
	if len(schemas) == 0 {
		t.Fatal("the webhook block type has no schema")
	}
	schema = schemas[0]
	var doc automationRef
	call(t, srv, "POST", "/block_documents/", map[string]any{"name": name, "block_type_id": typ.ID, "block_schema_id": schema.ID,
		"data": map[string]any{"url": url, "method": "POST", "headers": map[string]any{"Content-Type": "application/json"}}}, &doc)
	return doc.ID
}

// Acceptance 1 and 5 of #20: a failed run reaches a local receiver within
// 5 s as a POST whose body has the run's name and a link to its page in
// Praetor's UI; a receiver that answers 503 gets the call again (the
// action stays pending with the error meanwhile) until it takes it; one
// that is gone leaves the action pending with the error recorded.
func TestFailedRunWebhook(t *testing.T) {
	testdb.Engines(t, func(t *testing.T, dsn string) {
		cfg := engineConfig(t, dsn)
		cfg.AutomationsInterval = 100 * time.Millisecond
		srv, _ := openServer(t, cfg)
		bodies := make(chan string, 10)
		receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			bodies <- r.Method + " " + string(b)
		}))
		defer receiver.Close()
		var refusals atomic.Int32
		flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if refusals.Add(1) == 1 {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
		}))
		defer flaky.Close()
		gone := httptest.NewServer(http.NotFoundHandler())
		gone.Close()

		payload := `{"run": "{{ flow_run.name }}", "state": "{{ flow_run.state.name }}", "flow": "{{ flow.name }}", "link": "{{ flow_run|ui_url }}"}`
		automation := func(name, block string) string {
			var a automationRef
			call(t, srv, "POST", "/automations/", map[string]any{"name": name,
				"trigger": map[string]any{"posture": "Reactive", "expect": []string{"prefect.flow-run.Failed"}, "match": map[string]any{"prefect.resource.id": "prefect.flow-run.*"}},
				"actions": []map[string]any{{"type": "call-webhook", "block_document_id": block, "payload": payload}}}, &a)
			return a.ID
		}
		automation("to receiver", webhookBlock(t, srv, "receiver", receiver.URL))
		toFlaky := automation("to flaky", webhookBlock(t, srv, "flaky", flaky.URL))
		toGone := automation("to gone", webhookBlock(t, srv, "gone", gone.URL))

		var flow, run struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		}
		call(t, srv, "POST", "/flows/", map[string]any{"name": "nightly-etl"}, &flow)
		call(t, srv, "POST", "/flow_runs/", map[string]any{"flow_id": flow.ID, "state": map[string]any{"type": "RUNNING"}}, &run)
		failedAt := time.Now()
		setState(t, srv, run.ID, "FAILED")
		select {
		case got := <-bodies:
			if d := time.Since(failedAt); d > 5*time.Second {
				t.Errorf("the webhook came %v after the failure", d)
			}
			def, _ := srv.store.DefaultWorkspace(t.Context())
			link := srv.URL() + ui.WorkspaceURL(&def) + "/runs/flow-run/" + run.ID
			want := `POST {"run": "` + run.Name + `", "state": "Failed", "flow": "nightly-etl", "link": "` + link + `"}`
			if got != want {
				t.Errorf("webhook body:\n%s\nwant\n%s", got, want)
			}
			// The link is a page of the UI (which asks a visitor to sign in).
			resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Get(link)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusNotFound {
				t.Errorf("the link %s is not a page: %d", link, resp.StatusCode)
			}
		case <-time.After(15 * time.Second):
			t.Fatal("the receiver got nothing")
		}

		actionOf := func(id string) *model.TriggeredAction {
			def, _ := srv.store.DefaultWorkspace(t.Context())
			list, err := srv.store.ListTriggeredActions(t.Context(), def.ID, uuid.MustParse(id), 10)
			if err != nil || len(list) != 1 {
				t.Fatalf("actions of %s: %v (%v)", id, list, err)
			}
			return list[0]
		}
		waitFor(t, "the flaky receiver to take the retry", func() bool { return actionOf(toFlaky).State == model.ActionExecuted })
		if a := actionOf(toFlaky); a.Attempts != 2 || a.LastError == nil || !strings.Contains(*a.LastError, "503") {
			t.Errorf("flaky delivery: %d attempts, last error %v", a.Attempts, deref(a.LastError))
		}
		waitFor(t, "the gone receiver's first attempt", func() bool { return actionOf(toGone).Attempts > 0 })
		if a := actionOf(toGone); a.State != model.ActionPending || a.LastError == nil || a.NextAttempt == nil {
			t.Errorf("undeliverable action: %+v", a)
		}
	})
}

// Compound and sequence triggers of #20: "all" of two failures fires once
// both happened (not after the first); a sequence fires only when its
// children fire in order.
func TestCompositeTriggers(t *testing.T) {
	testdb.Engines(t, func(t *testing.T, dsn string) {
		cfg := engineConfig(t, dsn)
		cfg.AutomationsInterval = 50 * time.Millisecond
		srv, _ := openServer(t, cfg)
		child := func(event string) map[string]any {
			return map[string]any{"posture": "Reactive", "expect": []string{event}}
		}
		var all, seq automationRef
		call(t, srv, "POST", "/automations/", map[string]any{"name": "both",
			"trigger": map[string]any{"type": "compound", "require": "all", "within": 60, "triggers": []any{child("shop.a"), child("shop.b")}},
			"actions": []any{map[string]any{"type": "do-nothing"}}}, &all)
		call(t, srv, "POST", "/automations/", map[string]any{"name": "a then c",
			"trigger": map[string]any{"type": "sequence", "within": 60, "triggers": []any{child("shop.a"), child("shop.c")}},
			"actions": []any{map[string]any{"type": "do-nothing"}}}, &seq)
		emit := func(name string) {
			call(t, srv, "POST", "/events", []map[string]any{{"id": uuid.Must(uuid.NewV7()).String(), "occurred": time.Now().UTC().Format(time.RFC3339Nano),
				"event": name, "resource": map[string]any{"prefect.resource.id": "shop.order.1"}}}, nil)
			// The evaluator sees each event on its own, in order.
			before := passes(t, srv, "triggers")
			waitFor(t, "the event's evaluation", func() bool { return passes(t, srv, "triggers") > before+1 })
		}
		fired := func(a automationRef) int {
			return len(eventsNamed(t, srv, "prefect.automation.triggered", "prefect.automation."+a.ID))
		}
		emit("shop.c") // c before a: no sequence
		emit("shop.a")
		if fired(all) != 0 || fired(seq) != 0 {
			t.Fatalf("fired after c and a: all %d, sequence %d", fired(all), fired(seq))
		}
		emit("shop.b")
		waitFor(t, "the compound trigger", func() bool { return fired(all) == 1 })
		if fired(seq) != 0 {
			t.Errorf("the sequence fired with c before a")
		}
		emit("shop.c") // a (still held) then c: the sequence fires
		waitFor(t, "the sequence trigger", func() bool { return fired(seq) == 1 })
		if fired(all) != 1 {
			t.Errorf("the compound trigger fired %d times, want once", fired(all))
		}
	})
}
