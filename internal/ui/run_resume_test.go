package ui_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// approvalSchema is the input schema a Prefect client stores when a flow
// pauses with wait_for_input: pydantic's, one property of each kind the
// form draws.
const approvalSchema = `{"title":"Approval","type":"object","required":["approver","level"],"properties":{
"approver":{"title":"Approver","type":"string","description":"who approves"},
"level":{"title":"Level","type":"integer"},
"ratio":{"title":"Ratio","type":"number","default":0.5},
"urgent":{"title":"Urgent","type":"boolean","default":false},
"region":{"$ref":"#/definitions/Region","default":"eu"},
"notes":{"title":"Notes","type":"array","items":{"type":"string"},"default":[]}},
"definitions":{"Region":{"title":"Region","enum":["eu","us"],"type":"string"}}}`

// pausedForInput makes a run paused as wait_for_input leaves it: PAUSED
// with its keyset, the schema and a description stored.
func pausedForInput(api *wsAPI, flow, name string) string {
	api.t.Helper()
	run := api.flowRun(flow, name, state("RUNNING", "", time.Time{}, nil), nil)
	keyset := map[string]any{"description": "paused-1-description", "response": "paused-1-response", "schema": "paused-1-schema"}
	api.call("POST", "/flow_runs/"+run+"/set_state", map[string]any{"state": state("PAUSED", "Paused", time.Time{},
		map[string]any{"pause_key": "1", "run_input_keyset": keyset})}, nil)
	api.call("POST", "/flow_runs/"+run+"/input", map[string]any{"key": "paused-1-schema", "value": approvalSchema}, nil)
	api.call("POST", "/flow_runs/"+run+"/input", map[string]any{"key": "paused-1-description", "value": `"Approve the <release>"`}, nil)
	return run
}

// A paused run's page offers Resume to those who may resume it; its form
// has a control per property of the input schema the flow stored; what the
// schema refuses is refused next to its field (422) with what was typed
// kept, the run staying PAUSED with nothing stored; a valid form resumes
// the run with the input stored where the flow reads it. A viewer sees no
// Resume, gets no form (404) and may not post it (403); without the CSRF
// token nothing resumes.
func TestResumeForm(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		api, c, ws := newWorkspaceAPI(t, ts, "rosa")
		flow := api.flow("approvals")
		run := pausedForInput(api, flow, "waiting-walrus")
		runPage := "/runs/flow-run/" + run
		form := runPage + "/resume"
		if body := wsPage(t, c, ws, runPage); !strings.Contains(body, `href="`+ws.path(form)+`" id="run-resume">Resume</a>`) {
			t.Fatalf("the paused run's page lacks Resume")
		}
		body := wsPage(t, c, ws, form)
		for _, want := range []string{
			`name="param:approver" type="text" value="" aria-describedby="param-0-help" aria-required="true"`,
			`name="param:level" type="number" step="1" inputmode="numeric" value=""`,
			`name="param:ratio" type="number" step="any" inputmode="decimal" value="0.5"`,
			`<option value="false" selected>false</option>`,
			`<option value="&#34;eu&#34;" selected>eu</option>`,
			`name="param:notes" rows="4"`,
			`who approves`, `Approve the &lt;release&gt;`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("the form lacks %s", want)
			}
		}
		stateOf := func() string {
			var r struct {
				StateType string `json:"state_type"`
			}
			api.call("GET", "/flow_runs/"+run, nil, &r)
			return r.StateType
		}
		responseStored := func() bool {
			r := c.api("GET", "/accounts/"+ws.AccountID+"/workspaces/"+ws.ID+"/flow_runs/"+run+"/input/paused-1-response", api.key, nil)
			return r.Status == http.StatusOK
		}
		post := func(c *client, fields map[string]string) *response {
			t.Helper()
			f := url.Values{}
			for k, v := range fields {
				f.Set("param:"+k, v)
			}
			return c.postCSRF(ws.path(form), f)
		}
		for _, bad := range []struct {
			fields      map[string]string
			field, want string
		}{
			{map[string]string{"level": "2"}, "approver", "Required"},
			{map[string]string{"approver": "Ada", "level": "two"}, "level", "want integer"},
			{map[string]string{"approver": "Ada", "level": "2", "notes": `["a", 3]`}, "notes", "At 1:"},
			{map[string]string{"approver": "Ada", "level": "2", "region": `"mars"`}, "region", "value must be one of"},
			{map[string]string{"approver": "Ada", "level": "2", "notes": `[`}, "notes", "not valid JSON"},
		} {
			r := post(c, bad.fields)
			if r.Status != http.StatusUnprocessableEntity {
				t.Errorf("%v answered %d, want 422", bad.fields, r.Status)
				continue
			}
			if got := fieldError(r.Body, bad.field); !strings.Contains(got, bad.want) {
				t.Errorf("%v: the %s field's error reads %q, want %q", bad.fields, bad.field, got, bad.want)
			}
			if v := bad.fields["approver"]; v != "" && !strings.Contains(r.Body, `value="`+v+`"`) {
				t.Errorf("%v: the refused form lost what was typed", bad.fields)
			}
		}
		if st := stateOf(); st != "PAUSED" || responseStored() {
			t.Fatalf("after refused forms the run is %s, its response stored: %v", st, responseStored())
		}

		// A viewer.
		viewer := newUser("vic")
		cv := ts.newClient(t)
		cv.register(viewer)
		cv.join(c, ws.AccountID, viewer.Email, "member")
		if r := c.postCSRF(ws.path("/settings/members"), url.Values{"email": {viewer.Email}, "role": {"viewer"}}); r.Status != http.StatusSeeOther {
			t.Fatalf("make vic a viewer: %d %s", r.Status, r.alert())
		}
		if body := wsPage(t, cv, ws, runPage); strings.Contains(body, `id="run-resume"`) {
			t.Errorf("a viewer is offered Resume")
		}
		if r := cv.get(ws.path(form)); r.Status != http.StatusNotFound {
			t.Errorf("a viewer's Resume form answered %d", r.Status)
		}
		if r := post(cv, map[string]string{"approver": "Vic", "level": "1"}); r.Status != http.StatusForbidden || stateOf() != "PAUSED" {
			t.Errorf("a viewer's resume answered %d; the run is %s", r.Status, stateOf())
		}
		// Without the session's CSRF token.
		if r := c.post(ws.path(form), url.Values{"param:approver": {"Ada"}, "param:level": {"2"}}); r.Status != http.StatusForbidden || stateOf() != "PAUSED" {
			t.Errorf("a resume without the CSRF token answered %d; the run is %s", r.Status, stateOf())
		}

		r := post(c, map[string]string{"approver": "Ada", "level": "2", "urgent": "true", "region": `"us"`})
		if r.Status != http.StatusSeeOther || !strings.HasSuffix(r.location(), runPage) {
			t.Fatalf("a valid form answered %d to %q: %s", r.Status, r.location(), r.alert())
		}
		if st := stateOf(); st != "RUNNING" {
			t.Errorf("the resumed run is %s", st)
		}
		var got map[string]any
		api.call("GET", "/flow_runs/"+run+"/input/paused-1-response", nil, &got)
		// json.Marshal sorts the keys.
		if stored, _ := json.Marshal(got); string(stored) != `{"approver":"Ada","level":2,"region":"us","urgent":true}` {
			t.Errorf("the stored input: %s", stored)
		}
		page := wsPage(t, c, ws, runPage)
		if !strings.Contains(page, "Resumed the run waiting-walrus.") || strings.Contains(page, `id="run-resume"`) {
			t.Errorf("the run's page after resuming lacks the confirmation or still offers Resume")
		}
		// Not paused any more: the form goes back to the run.
		if r := c.get(ws.path(form)); r.Status != http.StatusSeeOther {
			t.Errorf("the Resume form of a running run answered %d", r.Status)
		}

		// A pause without input resumes with the button alone.
		plain := api.flowRun(flow, "plain-pause", state("RUNNING", "", time.Time{}, nil), nil)
		api.call("POST", "/flow_runs/"+plain+"/set_state", map[string]any{"state": state("PAUSED", "", time.Time{}, nil)}, nil)
		if body := wsPage(t, c, ws, "/runs/flow-run/"+plain+"/resume"); strings.Contains(body, `class="param-field`) {
			t.Errorf("a pause without input has fields")
		}
		if r := c.postCSRF(ws.path("/runs/flow-run/"+plain+"/resume"), nil); r.Status != http.StatusSeeOther {
			t.Errorf("resuming a plain pause answered %d: %s", r.Status, r.alert())
		}
	})
}
