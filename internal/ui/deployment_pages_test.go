package ui_test

import (
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// deployment creates a deployment of flowID through the API, as the
// Prefect client's flow.serve() and deploy do (POST /deployments/), and
// returns its id.
func (a *wsAPI) deployment(flowID, name string, extra map[string]any) string {
	a.t.Helper()
	body := map[string]any{"flow_id": flowID, "name": name}
	for k, v := range extra {
		body[k] = v
	}
	var d idOnly
	a.call("POST", "/deployments/", body, &d)
	return d.ID
}

// runCount counts the workspace's flow runs through the API.
func (a *wsAPI) runCount() int {
	a.t.Helper()
	var n int
	a.call("POST", "/flow_runs/count", map[string]any{}, &n)
	return n
}

// typedSchema is a parameter schema as the Prefect client sends it
// (pydantic's, with Prefect's position), one parameter of each kind.
var typedSchema = map[string]any{
	"title": "Parameters", "type": "object", "required": []any{"who"},
	"properties": map[string]any{
		"who":     map[string]any{"title": "who", "type": "string", "description": "who to greet", "position": 0},
		"count":   map[string]any{"title": "count", "type": "integer", "default": 1, "position": 1},
		"ratio":   map[string]any{"title": "ratio", "type": "number", "default": 0.5, "position": 2},
		"flag":    map[string]any{"title": "flag", "type": "boolean", "default": false, "position": 3},
		"color":   map[string]any{"allOf": []any{map[string]any{"$ref": "#/definitions/Color"}}, "default": "red", "position": 4},
		"items":   map[string]any{"title": "items", "type": "array", "items": map[string]any{"type": "string"}, "default": []any{}, "position": 5},
		"options": map[string]any{"title": "Options", "type": "object", "default": map[string]any{}, "position": 6},
		"note":    map[string]any{"anyOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "null"}}, "default": nil, "title": "note", "position": 7},
	},
	"definitions": map[string]any{"Color": map[string]any{"enum": []any{"red", "blue"}, "title": "Color", "type": "string"}},
}

// fieldErrorRE is a field's error message in the Run form.
var fieldErrorRE = regexp.MustCompile(`<p class="error field-error" id="[^"]+">([^<]*)</p>`)

// fieldError is the message shown next to the Run form's field of param.
func fieldError(body, param string) string {
	i := strings.Index(body, `class="param-field invalid" data-param="`+param+`"`)
	if i < 0 {
		return ""
	}
	block := body[i:]
	if j := strings.Index(block[1:], `class="param-field`); j >= 0 {
		block = block[:j+1]
	}
	if m := fieldErrorRE.FindStringSubmatch(block); m != nil {
		return html.UnescapeString(m[1])
	}
	return ""
}

// The Run form has a control per parameter type with the defaults filled
// in (the deployment's over the schema's); what the schema refuses is
// refused next to its field with what was typed kept and nothing created;
// a valid form creates the run with its values typed and redirects to it.
func TestDeploymentRunForm(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		api, c, ws := newWorkspaceAPI(t, ts, "rita")
		flow := api.flow("typed")
		id := api.deployment(flow, "typed-run", map[string]any{"parameter_openapi_schema": typedSchema, "parameters": map[string]any{"count": 2}})
		form := "/deployments/deployment/" + id + "/run"
		body := wsPage(t, c, ws, form)
		for _, want := range []string{
			`name="param:who" type="text" value="" aria-describedby="param-0-help" aria-required="true"`,
			`name="param:count" type="number" step="1" inputmode="numeric" value="2"`,
			`name="param:ratio" type="number" step="any" inputmode="decimal" value="0.5"`,
			`<option value="false" selected>false</option>`,
			`<option value="&#34;red&#34;" selected>red</option>`,
			`name="param:items" rows="4"`,
			`name="param:options" rows="4"`,
			`name="param:note" type="text" value=""`,
			`who to greet`, `(required)`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("the form lacks %s", want)
			}
		}

		post := func(fields map[string]string) *response {
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
			{map[string]string{"count": "3"}, "who", "Required"},
			{map[string]string{"who": "Ada", "count": "three"}, "count", "want integer"},
			{map[string]string{"who": "Ada", "ratio": "1.5.2"}, "ratio", "want number"},
			{map[string]string{"who": "Ada", "items": `["a", 3]`}, "items", "At 1:"},
			{map[string]string{"who": "Ada", "options": `{"k": `}, "options", "not valid JSON"},
			{map[string]string{"who": "Ada", "color": `"green"`}, "color", "value must be one of"},
		} {
			r := post(bad.fields)
			if r.Status != http.StatusUnprocessableEntity {
				t.Errorf("%v answered %d, want 422", bad.fields, r.Status)
				continue
			}
			if got := fieldError(r.Body, bad.field); !strings.Contains(got, bad.want) {
				t.Errorf("%v: the %s field's error reads %q, want %q", bad.fields, bad.field, got, bad.want)
			}
			if !regexp.MustCompile(`name="param:` + bad.field + `"[^>]*aria-invalid="true"[^>]* autofocus`).MatchString(r.Body) {
				t.Errorf("%v: the %s field is not marked invalid and focused", bad.fields, bad.field)
			}
			for k, v := range bad.fields {
				if k == "color" {
					continue // a select shows its options only; no browser sends another
				}
				if !strings.Contains(r.Body, html.EscapeString(v)) {
					t.Errorf("%v: the refused form lost %s=%q", bad.fields, k, v)
				}
			}
		}
		if n := api.runCount(); n != 0 {
			t.Fatalf("refused forms created %d runs", n)
		}

		r := post(map[string]string{"who": "Ada", "count": "5", "ratio": "0.25", "flag": "true", "color": `"blue"`,
			"items": `["x", "y"]`, "options": `{"k": 1}`})
		if r.Status != http.StatusSeeOther || !strings.Contains(r.location(), "/runs/flow-run/") {
			t.Fatalf("a valid form answered %d to %q: %s", r.Status, r.location(), r.alert())
		}
		runID := r.location()[strings.LastIndex(r.location(), "/")+1:]
		var run struct {
			DeploymentID string         `json:"deployment_id"`
			Parameters   map[string]any `json:"parameters"`
			StateType    string         `json:"state_type"`
		}
		api.call("GET", "/flow_runs/"+runID, nil, &run)
		want := map[string]any{"who": "Ada", "count": json.Number("5"), "ratio": json.Number("0.25"), "flag": true, "color": "blue",
			"items": []any{"x", "y"}, "options": map[string]any{"k": json.Number("1")}}
		got := map[string]any{}
		raw, _ := json.Marshal(run.Parameters)
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		dec.UseNumber()
		dec.Decode(&got)
		if run.DeploymentID != id || run.StateType != "SCHEDULED" || !reflect.DeepEqual(got, want) {
			t.Errorf("the run has deployment %s, state %s, parameters %v; want %s, SCHEDULED, %v", run.DeploymentID, run.StateType, got, id, want)
		}
		page := wsPage(t, c, ws, "/runs/flow-run/"+runID)
		if !strings.Contains(page, "Created the run") || !strings.Contains(page, `href="`+ws.path("/deployments/deployment/"+id)+`" id="run-deployment-link">typed-run</a>`) {
			t.Errorf("the run's page lacks the confirmation or the deployment's link")
		}
		if list := wsPage(t, c, ws, "/runs?deployment="+id); !strings.Contains(list, `data-run-id="`+runID+`"`) {
			t.Errorf("the runs list filtered by the deployment lacks its run")
		}
		other := api.flowRun(flow, "not-of-the-deployment", state("COMPLETED", "", time.Time{}, nil), nil)
		if list := wsPage(t, c, ws, "/runs?deployment="+id); strings.Contains(list, other) {
			t.Errorf("the runs list filtered by the deployment shows another run")
		}
	})
}

// Viewers read deployments; runners also run them; developers also pause
// and resume them. A refused post changes nothing.
func TestDeploymentPagesFollowTheRole(t *testing.T) {
	ts := startServer(t)
	api, co, ws := newWorkspaceAPI(t, ts, "owen")
	id := api.deployment(api.flow("roles"), "by-role", nil)
	page := "/deployments/deployment/" + id
	members := map[string]*client{}
	for _, role := range []string{"viewer", "runner", "developer"} {
		u := newUser(role)
		c := ts.newClient(t)
		c.register(u)
		c.join(co, ws.AccountID, u.Email, "member")
		if r := co.postCSRF(ws.path("/settings/members"), url.Values{"email": {u.Email}, "role": {role}}); r.Status != http.StatusSeeOther {
			t.Fatalf("make %s: %d %s", role, r.Status, r.alert())
		}
		members[role] = c
	}
	paused := func() bool {
		var d struct {
			Paused bool `json:"paused"`
		}
		api.call("GET", "/deployments/"+id, nil, &d)
		return d.Paused
	}
	for role, c := range members {
		body := wsPage(t, c, ws, page)
		canRun, canChange := role != "viewer", role == "developer"
		if run, pause := strings.Contains(body, `id="run-deployment"`), strings.Contains(body, `id="pause-deployment"`); run != canRun || pause != canChange {
			t.Errorf("%s: Run shown %v, Pause shown %v; want %v and %v", role, run, pause, canRun, canChange)
		}
		if r := c.get(ws.path(page + "/run")); (r.Status == http.StatusOK) != canRun {
			t.Errorf("%s: the Run form answered %d", role, r.Status)
		}
		runs := api.runCount()
		r := c.postCSRF(ws.path(page+"/run"), nil)
		if want := map[bool]int{true: http.StatusSeeOther, false: http.StatusForbidden}[canRun]; r.Status != want {
			t.Errorf("%s: running answered %d, want %d", role, r.Status, want)
		}
		if n := api.runCount(); (n == runs+1) != canRun || n > runs+1 {
			t.Errorf("%s: running made %d runs", role, n-runs)
		}
		r = c.postCSRF(ws.path(page+"/pause"), nil)
		if want := map[bool]int{true: http.StatusSeeOther, false: http.StatusForbidden}[canChange]; r.Status != want {
			t.Errorf("%s: pausing answered %d, want %d", role, r.Status, want)
		}
		if paused() != canChange {
			t.Errorf("%s: after pausing the deployment is paused: %v", role, paused())
		}
		if canChange {
			if r := c.postCSRF(ws.path(page+"/resume"), nil); r.Status != http.StatusSeeOther || paused() {
				t.Errorf("%s: resuming answered %d, paused %v", role, r.Status, paused())
			}
		}
	}
	// Without the session's CSRF token, no pause.
	if r := members["developer"].post(ws.path(page+"/pause"), nil); r.Status != http.StatusForbidden || paused() {
		t.Errorf("a pause without the CSRF token answered %d", r.Status)
	}
}

// A deployment's Late runs are listed apart from its upcoming ones, with
// the reason their state gives.
func TestDeploymentPageShowsLateRuns(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		api, c, ws := newWorkspaceAPI(t, ts, "lara")
		id := api.deployment(api.flow("tardy"), "often-late", nil)
		past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339Nano)
		late := map[string]any{"type": "SCHEDULED", "name": "Late", "message": "no process polled the deployment in 3600 s",
			"state_details": map[string]any{"scheduled_time": past}}
		var lateRun, nextRun idOnly
		api.call("POST", "/deployments/"+id+"/create_flow_run", map[string]any{"name": "late-one", "state": late}, &lateRun)
		soon := time.Now().Add(time.Hour).UTC().Format(time.RFC3339Nano)
		api.call("POST", "/deployments/"+id+"/create_flow_run", map[string]any{"name": "next-one",
			"state": map[string]any{"type": "SCHEDULED", "state_details": map[string]any{"scheduled_time": soon}}}, &nextRun)
		body := wsPage(t, c, ws, "/deployments/deployment/"+id)
		i, j := strings.Index(body, `id="late-runs"`), strings.Index(body, `id="upcoming-runs"`)
		if i < 0 || j < i {
			t.Fatalf("the page has no Late runs before its upcoming runs")
		}
		lateList, upcomingList := body[i:j], body[j:]
		if !strings.Contains(lateList, lateRun.ID) || !strings.Contains(lateList, "no process polled the deployment in 3600 s") || strings.Contains(lateList, nextRun.ID) {
			t.Errorf("the Late runs read: %s", lateList)
		}
		if !strings.Contains(upcomingList, nextRun.ID) || strings.Contains(upcomingList, lateRun.ID) {
			t.Errorf("the upcoming runs read: %s", upcomingList)
		}
	})
}
