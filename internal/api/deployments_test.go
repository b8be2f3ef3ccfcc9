package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// paramSchema is the parameter schema the client sends for
// def f(n: int, greeting: str = "hi").
var paramSchema = map[string]any{"type": "object", "title": "Parameters", "required": []string{"n"},
	"properties": map[string]any{"n": map[string]any{"type": "integer", "title": "n"}, "greeting": map[string]any{"type": "string", "default": "hi"}}}

// deploymentState is what a test compares to see that a refused request
// changed nothing: the workspace's deployments and flow runs.
func deploymentState(t *testing.T, ts *testServer) func() string {
	return func() string {
		deps := ts.do("POST", "/deployments/filter", map[string]any{}).expect(http.StatusOK).list()
		runs := ts.do("POST", "/flow_runs/filter", map[string]any{}).expect(http.StatusOK).list()
		for _, r := range runs {
			delete(r, "estimated_run_time")
			delete(r, "estimated_start_time_delta")
		}
		return normJSON(t, []any{deps, runs})
	}
}

func TestDeployments(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		flow := ts.do("POST", "/flows/", map[string]any{"name": "etl"}).expect(http.StatusCreated).object()["id"].(string)
		// A deployment's work pool must exist (#18).
		ts.do("POST", "/work_pools/", map[string]any{"name": "pool", "type": "process"}).expect(http.StatusCreated)
		body := map[string]any{"name": "nightly", "flow_id": flow, "parameters": map[string]any{"greeting": "hello"},
			"parameter_openapi_schema": paramSchema, "tags": []string{"t"}, "work_pool_name": "pool", "work_queue_name": "q",
			"schedules": []map[string]any{{"schedule": map[string]any{"interval": 3600, "anchor_date": "2026-01-01T00:00:00Z", "timezone": "UTC"}, "slug": "hourly"}},
			"catch_up":  map[string]any{"mode": "latest"}}
		d := ts.do("POST", "/deployments/", body).expect(http.StatusCreated).object()
		id := d["id"].(string)
		for k, want := range map[string]any{"name": "nightly", "flow_id": flow, "status": "NOT_READY", "paused": false,
			"work_pool_name": "pool", "work_queue_name": "q", "enforce_parameter_schema": true, "last_polled": nil} {
			if d[k] != want {
				t.Errorf("created %s = %v, want %v", k, d[k], want)
			}
		}
		schedules := d["schedules"].([]any)
		if len(schedules) != 1 || schedules[0].(map[string]any)["schedule"].(map[string]any)["interval"] != json.Number("3600.0") &&
			schedules[0].(map[string]any)["schedule"].(map[string]any)["interval"] != json.Number("3600") {
			t.Errorf("schedules %v", schedules)
		}
		if d["catch_up"].(map[string]any)["mode"] != "latest" {
			t.Errorf("catch_up %v", d["catch_up"])
		}
		// The same flow and name again is an update in place.
		again := ts.do("POST", "/deployments/", map[string]any{"name": "nightly", "flow_id": flow, "description": "v2",
			"parameter_openapi_schema": paramSchema}).expect(http.StatusOK).object()
		if again["id"] != id || again["description"] != "v2" || len(again["schedules"].([]any)) != 0 {
			t.Errorf("upserted %v", again)
		}
		ts.do("GET", "/deployments/"+id, nil).expect(http.StatusOK)
		if got := ts.do("GET", "/deployments/name/etl/nightly", nil).expect(http.StatusOK).object(); got["id"] != id {
			t.Errorf("by name: %v", got)
		}
		ts.do("PATCH", "/deployments/"+id, map[string]any{"parameters": map[string]any{"greeting": "hey"}, "paused": false}).expect(http.StatusNoContent)

		// Schedules as sub-resources.
		created := ts.do("POST", "/deployments/"+id+"/schedules", []map[string]any{
			{"schedule": map[string]any{"interval": 60}, "active": false, "slug": "minutely", "parameters": map[string]any{"n": 1}}}).
			expect(http.StatusCreated).list()
		if len(created) != 1 || created[0]["active"] != false || created[0]["slug"] != "minutely" || created[0]["deployment_id"] != id {
			t.Fatalf("created schedules %v", created)
		}
		sid := created[0]["id"].(string)
		ts.do("PATCH", "/deployments/"+id+"/schedules/"+sid, map[string]any{"active": true}).expect(http.StatusNoContent)
		if got := ts.do("GET", "/deployments/"+id+"/schedules", nil).expect(http.StatusOK).list(); len(got) != 1 || got[0]["active"] != true {
			t.Errorf("schedules after patch: %v", got)
		}

		// A run from the deployment: parameters merged over the
		// deployment's, tags and queue from it.
		run := ts.do("POST", "/deployments/"+id+"/create_flow_run", map[string]any{"parameters": map[string]any{"n": 3}, "tags": []string{"mine"}}).
			expect(http.StatusCreated).object()
		params := run["parameters"].(map[string]any)
		if params["n"] != json.Number("3") || params["greeting"] != "hey" || run["deployment_id"] != id || run["state_type"] != "SCHEDULED" ||
			run["work_queue_name"] != "q" || !strings.Contains(normJSON(t, run["tags"]), `"mine"`) || !strings.Contains(normJSON(t, run["tags"]), `"t"`) {
			t.Errorf("run from deployment: %v", run)
		}
		// The runs list filters by deployment.
		byDeployment := ts.do("POST", "/flow_runs/filter", map[string]any{"deployments": map[string]any{"id": map[string]any{"any_": []string{id}}}}).expect(http.StatusOK).list()
		other := ts.do("POST", "/flow_runs/filter", map[string]any{"deployments": map[string]any{"name": map[string]any{"any_": []string{"nope"}}}}).expect(http.StatusOK).list()
		if len(byDeployment) != 1 || len(other) != 0 {
			t.Errorf("runs by deployment: %d, by another: %d", len(byDeployment), len(other))
		}

		// A runner's poll returns the due runs and marks the deployment READY.
		polled := ts.do("POST", "/deployments/get_scheduled_flow_runs", map[string]any{"deployment_ids": []string{id},
			"scheduled_before": time.Now().Add(10 * time.Second).UTC().Format("2006-01-02 15:04:05.000000+00:00")}).expect(http.StatusOK).list()
		if len(polled) != 1 || polled[0]["id"] != run["id"] {
			t.Errorf("polled %v", polled)
		}
		if got := ts.do("GET", "/deployments/"+id, nil).object(); got["status"] != "READY" || got["last_polled"] == nil {
			t.Errorf("after a poll: status %v, last polled %v", got["status"], got["last_polled"])
		}

		ts.do("POST", "/deployments/"+id+"/pause_deployment", nil).expect(http.StatusOK)
		if got := ts.do("GET", "/deployments/"+id, nil).object(); got["paused"] != true {
			t.Errorf("paused %v", got["paused"])
		}
		ts.do("POST", "/deployments/"+id+"/resume_deployment", nil).expect(http.StatusOK)
		if n := ts.do("POST", "/deployments/count", map[string]any{"deployments": map[string]any{"paused": map[string]any{"eq_": false}}}).object; n == nil {
			t.Fatal("count")
		}
		page := ts.do("POST", "/deployments/paginate", map[string]any{"limit": 1, "page": 1}).expect(http.StatusOK).object()
		if page["count"] != json.Number("1") || page["pages"] != json.Number("1") || len(page["results"].([]any)) != 1 {
			t.Errorf("paginate %v", page)
		}

		// Refused, with nothing changed: a bad parameter against the
		// enforced schema, a missing required one, a schedule that is not
		// one, an unknown deployment or schedule.
		expectRefused(t, ts, deploymentState(t, ts), []refused{
			{method: "POST", path: "/deployments/" + id + "/create_flow_run", body: `{"parameters":{"n":"three"}}`, status: http.StatusUnprocessableEntity,
				detail: "Error creating flow run: Validation failed for field 'n'. Failure reason: got string, want integer"},
			{method: "POST", path: "/deployments/" + id + "/create_flow_run", body: `{}`, status: http.StatusUnprocessableEntity},
			{method: "POST", path: "/deployments/", body: `{"name":"bad","flow_id":"` + flow + `","schedules":[{"schedule":{"interval":-5}}]}`,
				status: http.StatusUnprocessableEntity, detail: "value_error"},
			{method: "POST", path: "/deployments/", body: `{"name":"bad","flow_id":"` + flow + `","schedules":[{"schedule":{"every":5}}]}`,
				status: http.StatusUnprocessableEntity, detail: "value_error"},
			{method: "POST", path: "/deployments/", body: `{"name":"bad","flow_id":"` + flow + `","catch_up":{"mode":"sometimes"}}`,
				status: http.StatusUnprocessableEntity, detail: "enum"},
			{method: "POST", path: "/deployments/", body: `{"name":"bad","flow_id":"00000000-0000-0000-0000-000000000000"}`, status: http.StatusConflict},
			{method: "POST", path: "/deployments/" + id + "/schedules", body: `[{"schedule":{"interval":5},"slug":"minutely"}]`, status: http.StatusConflict,
				detail: "Schedule slugs must be unique within a deployment."},
			{method: "PATCH", path: "/deployments/" + id, body: `{"parameters":{"n":"x"}}`, status: http.StatusConflict},
			{method: "PATCH", path: "/deployments/" + id, body: `{"schedules":[{"schedule":{"interval":5}}]}`, status: http.StatusUnprocessableEntity,
				detail: "Please provide a slug for each schedule in your request to ensure schedules are updated correctly."},
			{method: "GET", path: "/deployments/00000000-0000-0000-0000-000000000001", status: http.StatusNotFound, detail: "Deployment not found"},
			{method: "GET", path: "/deployments/name/etl/none", status: http.StatusNotFound, detail: "Deployment not found"},
			{method: "PATCH", path: "/deployments/00000000-0000-0000-0000-000000000001", body: `{}`, status: http.StatusNotFound, detail: "Deployment not found."},
			{method: "PATCH", path: "/deployments/" + id + "/schedules/00000000-0000-0000-0000-000000000001", body: `{"active":false}`,
				status: http.StatusNotFound, detail: "Schedule not found."},
			{method: "POST", path: "/deployments/filter", body: `{"sort":"BOGUS"}`, status: http.StatusUnprocessableEntity, detail: "enum"},
		})

		ts.do("DELETE", "/deployments/"+id+"/schedules/"+sid, nil).expect(http.StatusNoContent)
		ts.do("DELETE", "/deployments/"+id, nil).expect(http.StatusNoContent)
		ts.do("GET", "/deployments/"+id, nil).expect(http.StatusNotFound)
	})
}

// Viewers read deployments, runners also run them, developers change them:
// each route asks for its one permission.
func TestDeploymentRoles(t *testing.T) {
	forEachEngineWith(t, closedServer, func(t *testing.T, ts *testServer) {
		alice, bob := newTenant(t, ts, "alice"), newTenant(t, ts, "bob")
		ab := alice.base()
		flow := alice.client.do("POST", ab+"/flows/", map[string]any{"name": "f"}).expect(http.StatusCreated).object()["id"].(string)
		dep := alice.client.do("POST", ab+"/deployments/", map[string]any{"name": "d", "flow_id": flow,
			"schedules": []map[string]any{{"schedule": map[string]any{"interval": 3600}}}}).expect(http.StatusCreated).object()
		id := dep["id"].(string)
		sid := dep["schedules"].([]any)[0].(map[string]any)["id"].(string)
		join(t, alice, bob, "member")
		setRole := func(role string) {
			alice.client.do("PUT", ab+"/members/"+bob.userID.String(), map[string]any{"role": role}).expect(http.StatusNoContent)
		}
		reads := []struct{ method, path, body string }{
			{"GET", "/deployments/" + id, ""}, {"GET", "/deployments/name/f/d", ""}, {"POST", "/deployments/filter", "{}"},
			{"POST", "/deployments/count", "{}"}, {"POST", "/deployments/paginate", "{}"}, {"GET", "/deployments/" + id + "/schedules", ""},
			{"POST", "/deployments/get_scheduled_flow_runs", `{"deployment_ids":["` + id + `"]}`},
		}
		run := struct{ method, path, body string }{"POST", "/deployments/" + id + "/create_flow_run", "{}"}
		changes := []struct{ method, path, body string }{
			{"POST", "/deployments/", `{"name":"e","flow_id":"` + flow + `"}`}, {"PATCH", "/deployments/" + id, `{"description":"x"}`},
			{"POST", "/deployments/" + id + "/schedules", `[{"schedule":{"interval":60}}]`},
			{"PATCH", "/deployments/" + id + "/schedules/" + sid, `{"active":false}`},
			{"POST", "/deployments/" + id + "/pause_deployment", ""}, {"POST", "/deployments/" + id + "/resume_deployment", ""},
			{"DELETE", "/deployments/" + id + "/schedules/" + sid, ""}, {"DELETE", "/deployments/" + id, ""},
		}
		send := func(p struct{ method, path, body string }) *testResponse {
			var body any
			if p.body != "" {
				body = p.body
			}
			return bob.client.do(p.method, ab+p.path, body)
		}
		for _, role := range []string{"viewer", "runner"} {
			setRole(role)
			for _, p := range reads {
				if resp := send(p); resp.Status != http.StatusOK {
					t.Errorf("%s %s %s: %d %s, want 200", role, p.method, p.path, resp.Status, resp.Body)
				}
			}
			want := http.StatusForbidden
			if role == "runner" {
				want = http.StatusCreated
			}
			if resp := send(run); resp.Status != want {
				t.Errorf("%s runs the deployment: %d %s, want %d", role, resp.Status, resp.Body, want)
			}
			for _, p := range changes {
				if resp := send(p); resp.Status != http.StatusForbidden {
					t.Errorf("%s %s %s: %d %s, want 403", role, p.method, p.path, resp.Status, resp.Body)
				}
			}
		}
		setRole("developer")
		for _, p := range changes {
			if resp := send(p); resp.Status >= 300 {
				t.Errorf("developer %s %s: %d %s", p.method, p.path, resp.Status, resp.Body)
			}
		}
	})
}
