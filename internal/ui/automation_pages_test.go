package ui_test

import (
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// slackBlock saves a Slack webhook block through the API, of the block
// type and schema notify.Ensure registered in the workspace.
func (a *wsAPI) slackBlock(name string) string {
	a.t.Helper()
	var bt idOnly
	a.call("GET", "/block_types/slug/slack-webhook", nil, &bt)
	var schemas []idOnly
	a.call("POST", "/block_schemas/filter", map[string]any{"block_schemas": map[string]any{"block_type_id": map[string]any{"any_": []string{bt.ID}}}}, &schemas)
	if len(schemas) == 0 {
		a.t.Fatal("the slack-webhook block type has no schema")
	}
	var d idOnly
	a.call("POST", "/block_documents/", map[string]any{"name": name, "block_type_id": bt.ID, "block_schema_id": schemas[0].ID,
		"data": map[string]any{"url": "http://127.0.0.1:9/slack"}}, &d)
	return d.ID
}

// blockDocuments lists the workspace's named blocks with their data.
func (a *wsAPI) blockDocuments() []struct {
	ID   string         `json:"id"`
	Name string         `json:"name"`
	Data map[string]any `json:"data"`
} {
	a.t.Helper()
	var docs []struct {
		ID   string         `json:"id"`
		Name string         `json:"name"`
		Data map[string]any `json:"data"`
	}
	a.call("POST", "/block_documents/filter", map[string]any{"include_secrets": true}, &docs)
	return docs
}

var (
	automationJSON = regexp.MustCompile(`(?s)<textarea id="automation-json" name="automation"[^>]*>(.*?)</textarea>`)
	automationPath = regexp.MustCompile(`/automations/automation/[0-9a-f-]{36}$`)
)

// automationOf reads the AutomationCore JSON an automation's page shows.
func automationOf(t *testing.T, body string) map[string]any {
	t.Helper()
	m := automationJSON.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("the automation's page has no JSON editor")
	}
	var a map[string]any
	if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &a); err != nil {
		t.Fatalf("the automation's JSON %q: %v", m[1], err)
	}
	return a
}

// jsonOf is v as JSON, for comparisons.
func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// createAutomation posts the template form and follows it to the new
// automation's page.
func createAutomation(t *testing.T, c *client, ws workspace, form url.Values) (path, body string) {
	t.Helper()
	r := c.postCSRF(ws.path("/automations/new"), form)
	if r.Status != http.StatusSeeOther || !automationPath.MatchString(r.location()) {
		t.Fatalf("create automation %v: %d to %q\n%s", form, r.Status, r.location(), r.Body)
	}
	return r.location(), c.get(r.location()).Body
}

// The automations pages make the common automations from their templates
// in Prefect's AutomationCore shape (a webhook target becomes a webhook
// block), take JSON for anything else, and show, edit, disable, enable and
// delete them; a refused form shows its errors next to its fields and
// stores nothing; another workspace's member finds nothing.
func TestAutomationPages(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		api, c, ws := newWorkspaceAPI(t, ts, "otto")
		if body := wsPage(t, c, ws, "/automations"); !strings.Contains(body, `id="no-automations"`) {
			t.Errorf("a new workspace's automations page shows no empty-state hint")
		}
		flow := api.flow("etl")
		dep := api.deployment(flow, "nightly", nil)
		api.pool("big-pool", "process", nil)
		var pools []idOnly
		api.call("POST", "/work_pools/filter", map[string]any{}, &pools)

		// Refused: errors next to their fields, nothing stored.
		r := c.postCSRF(ws.path("/automations/new"), url.Values{"template": {"deployment-not-completed"}, "hours": {"0"},
			"target": {"webhook"}, "webhook_url": {"ftp://example.com"}})
		if r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("a form in error answered %d", r.Status)
		}
		for _, id := range []string{"name-error", "deployment-error", "hours-error", "webhook-url-error"} {
			if !strings.Contains(r.Body, `id="`+id+`"`) {
				t.Errorf("the refused form has no %s", id)
			}
		}
		if docs := api.blockDocuments(); len(docs) != 0 {
			t.Errorf("the refused form left blocks: %+v", docs)
		}
		if body := wsPage(t, c, ws, "/automations"); !strings.Contains(body, `id="no-automations"`) {
			t.Errorf("the refused form stored an automation")
		}

		// "A flow run failed" → a webhook.
		failedPath, body := createAutomation(t, c, ws, url.Values{"template": {"flow-run-failed"}, "name": {"Failures to ops"},
			"target": {"webhook"}, "webhook_url": {"http://127.0.0.1:9/hook"}})
		if !strings.Contains(body, "Created the automation Failures to ops.") {
			t.Errorf("no flash after creating the automation")
		}
		a := automationOf(t, body)
		trig := a["trigger"].(map[string]any)
		if jsonOf(trig["expect"]) != `["prefect.flow-run.Failed"]` || trig["posture"] != "Reactive" || trig["threshold"] != 1.0 ||
			trig["within"] != 0.0 || trig["id"] == "00000000-0000-0000-0000-000000000000" || jsonOf(trig["match"]) != `{"prefect.resource.id":"prefect.flow-run.*"}` || a["enabled"] != true {
			t.Errorf("the failed template's automation: %s", jsonOf(a))
		}
		acts := a["actions"].([]any)
		act := acts[0].(map[string]any)
		var hook map[string]any
		for _, d := range api.blockDocuments() {
			if d.ID == act["block_document_id"] {
				hook = d.Data
			}
		}
		if len(acts) != 1 || act["type"] != "call-webhook" || hook["url"] != "http://127.0.0.1:9/hook" || hook["method"] != "POST" ||
			!strings.Contains(act["payload"].(string), "{{ flow_run|ui_url }}") {
			t.Errorf("the failed template's action %v calls the block %v", act, hook)
		}
		if !strings.Contains(body, `<dd id="automation-trigger">prefect.flow-run.Failed</dd>`) || !strings.Contains(body, `id="no-actions"`) {
			t.Errorf("the automation's page does not summarize its trigger or say it has not fired")
		}

		// The webhook registered the notification block types: a Slack one.
		slack := idOnly{api.slackBlock("on-call")}
		if body := wsPage(t, c, ws, "/automations/new"); !strings.Contains(body, `<option value="`+slack.ID+`">on-call (Slack Webhook)</option>`) {
			t.Errorf("the form does not offer the Slack block")
		}

		// "A deployment has not completed in N hours" → a notification block.
		_, body = createAutomation(t, c, ws, url.Values{"template": {"deployment-not-completed"}, "name": {"nightly stalled"},
			"deployment": {dep}, "hours": {"3"}, "target": {"notification"}, "block": {slack.ID}})
		a = automationOf(t, body)
		trig, act = a["trigger"].(map[string]any), a["actions"].([]any)[0].(map[string]any)
		if trig["posture"] != "Proactive" || trig["within"] != 10800.0 || jsonOf(trig["expect"]) != `["prefect.flow-run.Completed"]` ||
			jsonOf(trig["match_related"]) != `{"prefect.resource.id":"prefect.deployment.`+dep+`","prefect.resource.role":"deployment"}` ||
			act["type"] != "send-notification" || act["block_document_id"] != slack.ID {
			t.Errorf("the not-completed template's automation: %s", jsonOf(a))
		}
		// "A flow run is late", "a work pool has no online worker".
		_, body = createAutomation(t, c, ws, url.Values{"template": {"flow-run-late"}, "name": {"late"}, "target": {"slack"},
			"slack_url": {"https://hooks.slack.example/T0/B0/x"}})
		a = automationOf(t, body)
		if trig = a["trigger"].(map[string]any); jsonOf(trig["expect"]) != `["prefect.flow-run.Late"]` {
			t.Errorf("the late template's trigger: %s", jsonOf(trig))
		}
		act = a["actions"].([]any)[0].(map[string]any)
		var slackData map[string]any
		for _, d := range api.blockDocuments() {
			if d.ID == act["block_document_id"] && strings.HasPrefix(d.Name, "late-slack-webhook-") {
				slackData = d.Data
			}
		}
		if act["type"] != "send-notification" || slackData["url"] != "https://hooks.slack.example/T0/B0/x" ||
			!strings.Contains(act["body"].(string), "{{ flow_run|ui_url }}") {
			t.Errorf("the Slack target's action %v sends through %v", act, slackData)
		}
		_, body = createAutomation(t, c, ws, url.Values{"template": {"work-pool-not-ready"}, "name": {"pool down"}, "work_pool": {pools[0].ID},
			"target": {"notification"}, "block": {slack.ID}})
		if trig = automationOf(t, body)["trigger"].(map[string]any); jsonOf(trig["expect"]) != `["prefect.work-pool.not-ready"]` ||
			jsonOf(trig["match"]) != `{"prefect.resource.id":"prefect.work-pool.`+pools[0].ID+`"}` {
			t.Errorf("the work pool template's trigger: %s", jsonOf(trig))
		}

		// The JSON editor: refusals keep what was typed; then an automation.
		for _, bad := range []string{`{"name": "x"`, `{"name": "x", "trigger": {"posture": "Sideways"}, "actions": [{"type": "do-nothing"}]}`,
			`{"name": "x", "trigger": {"expect": ["a"]}, "actions": [{"type": "call-webhook", "block_document_id": "` + flow + `"}]}`} {
			r := c.postCSRF(ws.path("/automations/new/json"), url.Values{"automation": {bad}})
			if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `role="alert"`) || !strings.Contains(r.Body, html.EscapeString(bad)) {
				t.Errorf("the JSON %s answered %d, want 422 with its error and the JSON kept", bad, r.Status)
			}
		}
		r = c.postCSRF(ws.path("/automations/new/json"), url.Values{"automation": {`{"name": "crashes", "trigger": {"type": "compound", "require": "any",
			"triggers": [{"expect": ["prefect.flow-run.Crashed"], "posture": "Reactive"}, {"expect": ["prefect.flow-run.TimedOut"], "posture": "Reactive"}]},
			"actions": [{"type": "do-nothing"}]}`}})
		if r.Status != http.StatusSeeOther || !automationPath.MatchString(r.location()) {
			t.Fatalf("creating from JSON: %d to %q\n%s", r.Status, r.location(), r.Body)
		}
		jsonPath := r.location()
		if body := c.get(jsonPath).Body; !strings.Contains(body, `<dd id="automation-trigger">compound of 2 triggers</dd>`) {
			t.Errorf("the compound automation's trigger is not summarized")
		}

		// The list, sorted by name, never fired.
		body = wsPage(t, c, ws, "/automations")
		rows := regexp.MustCompile(`<tr data-automation="([^"]+)">`).FindAllStringSubmatch(body, -1)
		if got := len(rows); got != 5 || rows[0][1] != "Failures to ops" || strings.Count(body, `<span class="muted">never</span>`) != 5 {
			t.Errorf("the list has %v, want 5 automations by name, none fired", rows)
		}

		// Edit, disable, enable, delete.
		edited := automationOf(t, c.get(failedPath).Body)
		edited["name"], edited["description"] = "Failures to ops, edited", "pages the on-call"
		if r := c.postCSRF(failedPath+"/edit", url.Values{"automation": {jsonOf(edited)}}); r.Status != http.StatusSeeOther {
			t.Fatalf("edit: %d\n%s", r.Status, r.Body)
		}
		if body := c.get(failedPath).Body; !strings.Contains(body, "<h1>Failures to ops, edited</h1>") || !strings.Contains(body, "pages the on-call") {
			t.Errorf("the edit did not save")
		}
		if r := c.postCSRF(failedPath+"/edit", url.Values{"automation": {`{"name": ""}`}}); r.Status != http.StatusUnprocessableEntity {
			t.Errorf("an edit without a name answered %d", r.Status)
		}
		if a := automationOf(t, c.get(failedPath).Body); a["name"] != "Failures to ops, edited" {
			t.Errorf("a refused edit changed the automation: %s", jsonOf(a))
		}
		c.postCSRF(failedPath+"/disable", nil)
		if body := c.get(failedPath).Body; !strings.Contains(body, `data-enabled="false"`) || !strings.Contains(body, `id="enable-automation"`) {
			t.Errorf("the disabled automation does not read Disabled with an Enable button")
		}
		c.postCSRF(failedPath+"/enable", nil)
		if a := automationOf(t, c.get(failedPath).Body); a["enabled"] != true {
			t.Errorf("the enabled automation reads %v", a["enabled"])
		}

		// Another workspace's member finds neither the page nor its forms.
		_, mallory, _ := newWorkspaceAPI(t, ts, "mallory")
		if r := mallory.get(failedPath); r.Status != http.StatusNotFound || strings.Contains(r.Body, "Failures") {
			t.Errorf("another workspace's member reads the automation: %d", r.Status)
		}
		for _, p := range []string{"/delete", "/disable", "/edit"} {
			if r := mallory.postCSRF(failedPath+p, url.Values{"automation": {`{}`}}); r.Status != http.StatusNotFound {
				t.Errorf("another workspace's member's POST %s answered %d", p, r.Status)
			}
		}
		if r := c.post(jsonPath+"/delete", url.Values{}); r.Status != http.StatusForbidden {
			t.Errorf("a delete without the CSRF token answered %d", r.Status)
		}

		r = c.postCSRF(jsonPath+"/delete", nil)
		if r.Status != http.StatusSeeOther || r.location() != ws.path("/automations") {
			t.Fatalf("delete: %d to %q", r.Status, r.location())
		}
		if body := c.get(r.location()).Body; !strings.Contains(body, "Deleted the automation crashes.") || strings.Contains(body, `data-automation="crashes"`) {
			t.Errorf("the list after the delete still shows it, or no flash")
		}
		if r := c.get(jsonPath); r.Status != http.StatusNotFound {
			t.Errorf("the deleted automation's page answered %d", r.Status)
		}
		if a := automationOf(t, c.get(failedPath).Body); a["enabled"] != true {
			t.Errorf("another workspace's member changed the automation: %s", jsonOf(a))
		}
	})
}

// Acceptance 5 of #20, on the automation's page: a delivery to a receiver
// that is gone shows Retrying with the error, one the receiver refuses
// shows Failed with it.
func TestAutomationPageShowsFailedDeliveries(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		api, c, ws := newWorkspaceAPI(t, ts, "rita")
		refusing := httptest.NewServer(http.NotFoundHandler())
		t.Cleanup(refusing.Close)
		gone := httptest.NewServer(http.NotFoundHandler())
		gone.Close()
		retrying, _ := createAutomation(t, c, ws, url.Values{"template": {"flow-run-failed"}, "name": {"to a gone receiver"},
			"target": {"webhook"}, "webhook_url": {gone.URL + "/hook"}})
		failing, _ := createAutomation(t, c, ws, url.Values{"template": {"flow-run-failed"}, "name": {"to a refusing receiver"},
			"target": {"webhook"}, "webhook_url": {refusing.URL + "/hook"}})
		run := api.flowRun(api.flow("etl"), "nightly", state("RUNNING", "", time.Time{}, nil), nil)
		api.setFlowRunState(run, state("FAILED", "", time.Time{}, nil))
		for path, want := range map[string]string{retrying: `data-outcome="retrying"`, failing: `data-outcome="failed"`} {
			deadline := time.Now().Add(actionTimeout)
			for {
				body := c.get(path).Body
				if strings.Contains(body, want) && strings.Contains(body, "data-detail") {
					if want == `data-outcome="failed"` && !strings.Contains(body, "404") {
						t.Errorf("the failed delivery's page does not say the receiver answered 404")
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s never showed %s", path, want)
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
	})
}
