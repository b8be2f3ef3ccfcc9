package api

import (
	"net/http"
	"strings"
	"testing"
)

// The automations routes as the client and the UI call them: create (201),
// read, filter (sorted), count, replace (204), enable and disable (204),
// delete (204, then 404); a refused body stores nothing; a resource's
// owned automations go with it (202) and only those created before.
func TestAutomationRoutes(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		body := func(name string) map[string]any {
			return map[string]any{"name": name, "tags": []string{"nightly"},
				"trigger": map[string]any{"posture": "Reactive", "expect": []string{"prefect.flow-run.Failed"}, "threshold": 2, "within": 60},
				"actions": []any{map[string]any{"type": "do-nothing"}}}
		}
		b := ts.do("POST", "/automations/", body("b")).expect(http.StatusCreated).object()
		owned := body("a")
		owned["owner_resource"] = "prefect.deployment.d1"
		a := ts.do("POST", "/automations/", owned).expect(http.StatusCreated).object()
		if _, has := a["owner_resource"]; has {
			t.Errorf("the answer names its owner, which Prefect's does not: %v", a)
		}
		got := ts.do("GET", "/automations/"+b["id"].(string), nil).expect(http.StatusOK).object()
		if normJSON(t, got) != normJSON(t, b) {
			t.Errorf("read back %v, created %v", got, b)
		}
		names := func(sort string) string {
			var out []string
			for _, x := range ts.do("POST", "/automations/filter", map[string]any{"sort": sort}).expect(http.StatusOK).list() {
				out = append(out, x["name"].(string))
			}
			return strings.Join(out, ",")
		}
		if got := names("NAME_ASC"); got != "a,b" {
			t.Errorf("NAME_ASC: %s", got)
		}
		if got := names("NAME_DESC"); got != "b,a" {
			t.Errorf("NAME_DESC: %s", got)
		}
		ts.do("POST", "/automations/filter", map[string]any{"sort": "SIDEWAYS"}).expect(http.StatusUnprocessableEntity)
		if n := ts.do("POST", "/automations/count", nil).expect(http.StatusOK).Body; strings.TrimSpace(string(n)) != "2" {
			t.Errorf("count %s", n)
		}

		// Refused: nothing stored.
		for _, bad := range []map[string]any{
			{"name": "x", "trigger": map[string]any{"posture": "Proactive", "within": 3}, "actions": []any{}},
			{"name": "x", "trigger": map[string]any{"posture": "Reactive"}, "actions": []any{map[string]any{"type": "pause-work-pool", "source": "selected"}}},
			{"name": "x", "trigger": map[string]any{"posture": "Reactive"}},
			{"trigger": map[string]any{"posture": "Reactive"}, "actions": []any{}},
		} {
			ts.do("POST", "/automations/", bad).expect(http.StatusUnprocessableEntity)
		}
		if n := ts.do("POST", "/automations/count", nil).expect(http.StatusOK).Body; strings.TrimSpace(string(n)) != "2" {
			t.Errorf("count after refusals %s", n)
		}

		id := b["id"].(string)
		replaced := body("b2")
		replaced["description"] = "now"
		ts.do("PUT", "/automations/"+id, replaced).expect(http.StatusNoContent)
		ts.do("PATCH", "/automations/"+id, map[string]any{"enabled": false}).expect(http.StatusNoContent)
		ts.do("PATCH", "/automations/"+id, map[string]any{"name": "sneaky"}).expect(http.StatusUnprocessableEntity)
		got = ts.do("GET", "/automations/"+id, nil).expect(http.StatusOK).object()
		if got["name"] != "b2" || got["description"] != "now" || got["enabled"] != false || got["created"] != b["created"] {
			t.Errorf("after PUT and PATCH: %v", got)
		}
		ts.do("PUT", "/automations/01a232c0-0000-7000-8000-000000000000", replaced).expect(http.StatusNotFound)

		related := ts.do("GET", "/automations/related-to/prefect.deployment.d1", nil).expect(http.StatusOK).list()
		if len(related) != 1 || related[0]["id"] != a["id"] {
			t.Errorf("related to the owner: %v", related)
		}
		ts.do("DELETE", "/automations/owned-by/prefect.deployment.d1", nil).expect(http.StatusAccepted)
		ts.do("GET", "/automations/"+a["id"].(string), nil).expect(http.StatusNotFound)
		ts.do("DELETE", "/automations/"+id, nil).expect(http.StatusNoContent)
		ts.do("DELETE", "/automations/"+id, nil).expect(http.StatusNotFound)

		// templates/validate: 204, or 422 with the line.
		ts.do("POST", "/templates/validate", `"Flow run {{ flow_run.name }} is {{ flow_run.state.name }}"`).expect(http.StatusNoContent)
		bad := ts.do("POST", "/templates/validate", `"{% if %}"`).expect(http.StatusUnprocessableEntity).object()
		if e, _ := bad["error"].(map[string]any); e == nil || e["source"] != "{% if %}" || e["line"] == nil {
			t.Errorf("a bad template: %v", bad)
		}
	})
}
