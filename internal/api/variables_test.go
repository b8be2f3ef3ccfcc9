package api

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/store"
)

// variableSnapshot is every variable of the default workspace as the store
// holds it, for checking that a failed request changed nothing.
func variableSnapshot(t *testing.T, ts *testServer) string {
	t.Helper()
	vars, err := ts.store.ListVariables(t.Context(), ts.workspace.ID, store.VariableQuery{})
	if err != nil {
		t.Fatalf("list variables: %v", err)
	}
	return normJSON(t, vars)
}

// createVariable creates a variable through the API and returns its id.
func createVariable(t *testing.T, ts *testServer, name string, value any, tags ...string) string {
	t.Helper()
	if tags == nil {
		tags = []string{}
	}
	v := ts.do("POST", "/variables/", map[string]any{"name": name, "value": value, "tags": tags}).expect(201).object()
	return v["id"].(string)
}

// variableNames returns the names of a filter response, in order.
func variableNames(vars []map[string]any) []string {
	names := make([]string, len(vars))
	for i, v := range vars {
		names[i] = v["name"].(string)
	}
	return names
}

func TestVariableRoundTrip(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		values := map[string]string{
			"a_string":  `"hello <world> & é"`,
			"an_int":    `12345678901234567890`,
			"a_float":   `1.5`,
			"a_bool":    `true`,
			"a_null":    `null`,
			"an_object": `{"b":[1,{"c":"d"}],"a":null}`,
			"a_list":    `[1,"two",false]`,
		}
		for name, value := range values {
			created := ts.do("POST", "/variables/", `{"name":"`+name+`","value":`+value+`,"tags":["t1","t2"]}`).expect(201).object()
			keys := make([]string, 0, len(created))
			for k := range created {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			if want := []string{"created", "id", "name", "tags", "updated", "value"}; !slices.Equal(keys, want) {
				t.Errorf("%s: response keys %v, want %v", name, keys, want)
			}
			if created["name"] != name || normJSON(t, created["tags"]) != `["t1","t2"]` {
				t.Errorf("%s: created %v", name, created)
			}
			if got, want := normJSON(t, created["value"]), normJSON(t, json.RawMessage(value)); got != want {
				t.Errorf("%s: created value %s, want %s", name, got, want)
			}
			if created["created"] != created["updated"] {
				t.Errorf("%s: created %v and updated %v differ on a new variable", name, created["created"], created["updated"])
			}
			id, ok := created["id"].(string)
			if _, err := uuid.Parse(id); !ok || err != nil {
				t.Fatalf("%s: id %v is not a UUID", name, created["id"])
			}
			byID := ts.do("GET", "/variables/"+id, nil).expect(200).object()
			byName := ts.do("GET", "/variables/name/"+name, nil).expect(200).object()
			if normJSON(t, byID) != normJSON(t, created) || normJSON(t, byName) != normJSON(t, created) {
				t.Errorf("%s: read back %v and %v, created %v", name, byID, byName, created)
			}
		}
		var n int
		ts.do("POST", "/variables/count", nil).expect(200).decode(&n)
		if n != len(values) {
			t.Errorf("count %d, want %d", n, len(values))
		}
	})
}

func TestVariableUpdateAndDelete(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		id := createVariable(t, ts, "cfg", map[string]any{"x": 1}, "a")
		before := ts.do("GET", "/variables/"+id, nil).expect(200).object()

		ts.do("PATCH", "/variables/"+id, map[string]any{"value": []int{1, 2}}).expect(204)
		got := ts.do("GET", "/variables/"+id, nil).expect(200).object()
		if normJSON(t, got["value"]) != `[1,2]` || normJSON(t, got["tags"]) != `["a"]` || got["name"] != "cfg" {
			t.Errorf("after value update: %v", got)
		}
		if got["created"] != before["created"] || got["updated"].(string) <= before["updated"].(string) {
			t.Errorf("after update created %v updated %v; before created %v updated %v", got["created"], got["updated"], before["created"], before["updated"])
		}

		ts.do("PATCH", "/variables/name/cfg", map[string]any{"name": "cfg2", "tags": []string{"b", "c"}}).expect(204)
		ts.do("GET", "/variables/name/cfg", nil).expect(404)
		got = ts.do("GET", "/variables/name/cfg2", nil).expect(200).object()
		if got["id"] != id || normJSON(t, got["value"]) != `[1,2]` || normJSON(t, got["tags"]) != `["b","c"]` {
			t.Errorf("after rename: %v", got)
		}

		ts.do("PATCH", "/variables/"+id, map[string]any{"value": nil}).expect(204)
		got = ts.do("GET", "/variables/"+id, nil).expect(200).object()
		if v, ok := got["value"]; !ok || v != nil {
			t.Errorf("after setting null: value %v (present %v)", v, ok)
		}
		ts.do("PATCH", "/variables/"+id, map[string]any{}).expect(204)
		if again := ts.do("GET", "/variables/"+id, nil).expect(200).object(); again["name"] != "cfg2" || normJSON(t, again["tags"]) != `["b","c"]` {
			t.Errorf("an empty update changed the variable: %v", again)
		}

		ts.do("DELETE", "/variables/"+id, nil).expect(204)
		ts.do("GET", "/variables/"+id, nil).expect(404)
		ts.do("DELETE", "/variables/"+id, nil).expect(404)

		createVariable(t, ts, "other", "v")
		ts.do("DELETE", "/variables/name/other", nil).expect(204)
		ts.do("GET", "/variables/name/other", nil).expect(404)
		if snap := variableSnapshot(t, ts); snap != "[]" {
			t.Errorf("variables left after deleting all: %s", snap)
		}
	})
}

func TestVariableFilter(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		alpha := createVariable(t, ts, "alpha", 1, "x", "y")
		beta := createVariable(t, ts, "beta", 2, "x")
		createVariable(t, ts, "gamma", 3)
		createVariable(t, ts, "delta_var", 4, "y")

		cases := []struct {
			name string
			body string
			want []string
		}{
			{"all", `{}`, []string{"alpha", "beta", "delta_var", "gamma"}},
			{"empty body", ``, []string{"alpha", "beta", "delta_var", "gamma"}},
			{"name like", `{"variables":{"name":{"like_":"ta"}}}`, []string{"beta", "delta_var"}},
			{"name like ignores case", `{"variables":{"name":{"like_":"TA"}}}`, []string{"beta", "delta_var"}},
			{"name any", `{"variables":{"name":{"any_":["gamma","alpha","nope"]}}}`, []string{"alpha", "gamma"}},
			{"id any", `{"variables":{"id":{"any_":["` + beta + `"]}}}`, []string{"beta"}},
			{"tags all one", `{"variables":{"tags":{"all_":["x"]}}}`, []string{"alpha", "beta"}},
			{"tags all two", `{"variables":{"tags":{"all_":["x","y"]}}}`, []string{"alpha"}},
			{"tags null", `{"variables":{"tags":{"is_null_":true}}}`, []string{"gamma"}},
			{"tags not null", `{"variables":{"tags":{"is_null_":false}}}`, []string{"alpha", "beta", "delta_var"}},
			{"name and tags", `{"variables":{"name":{"like_":"a"},"tags":{"all_":["y"]}}}`, []string{"alpha", "delta_var"}},
			{"name desc", `{"sort":"NAME_DESC"}`, []string{"gamma", "delta_var", "beta", "alpha"}},
			{"created desc", `{"sort":"CREATED_DESC"}`, []string{"delta_var", "gamma", "beta", "alpha"}},
			{"page", `{"limit":2,"offset":1}`, []string{"beta", "delta_var"}},
		}
		for _, c := range cases {
			got := variableNames(ts.do("POST", "/variables/filter", c.body).expect(200).list())
			if !slices.Equal(got, c.want) {
				t.Errorf("%s: filter %s gave %v, want %v", c.name, c.body, got, c.want)
			}
			if c.name == "page" {
				continue
			}
			var n int
			ts.do("POST", "/variables/count", c.body).expect(200).decode(&n)
			if n != len(c.want) {
				t.Errorf("%s: count %s gave %d, want %d", c.name, c.body, n, len(c.want))
			}
		}

		ts.do("PATCH", "/variables/"+alpha, map[string]any{"value": 10}).expect(204)
		if got := variableNames(ts.do("POST", "/variables/filter", `{"sort":"UPDATED_DESC","limit":1}`).expect(200).list()); !slices.Equal(got, []string{"alpha"}) {
			t.Errorf("UPDATED_DESC after updating alpha: %v", got)
		}

		for _, body := range []string{`{"sort":"BOGUS"}`, `{"limit":201}`, `{"offset":-1}`, `{"variables":5}`, `{"limit":"x"}`, `{"variables":`} {
			ts.do("POST", "/variables/filter", body).expect(422)
		}
	})
}

func TestVariableDuplicateName(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		createVariable(t, ts, "dup", 1, "a")
		otherID := createVariable(t, ts, "other", 2)
		before := variableSnapshot(t, ts)

		resp := ts.do("POST", "/variables/", map[string]any{"name": "dup", "value": 99}).expect(409)
		if got, want := resp.detail(), "A variable with the name 'dup' already exists."; got != want {
			t.Errorf("duplicate create detail %q, want %q", got, want)
		}
		for _, path := range []string{"/variables/" + otherID, "/variables/name/other"} {
			resp := ts.do("PATCH", path, map[string]any{"name": "dup", "value": 3}).expect(409)
			if got := resp.detail(); got != integrityConflict {
				t.Errorf("rename onto a taken name: detail %q", got)
			}
		}
		if after := variableSnapshot(t, ts); after != before {
			t.Errorf("a rejected duplicate changed the database:\nbefore %s\nafter  %s", before, after)
		}
	})
}

func TestVariableBadInput(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		id := createVariable(t, ts, "keep", map[string]any{"k": "v"}, "t")
		tooBig := `"` + strings.Repeat("x", 4999) + `"`
		unknown := uuid.NewString()
		expectRefused(t, ts, func() string { return variableSnapshot(t, ts) }, []refused{
			{"POST", "/variables/", `{"name":"x","value":`, 422, "json_invalid"},
			{"POST", "/variables/", ``, 422, "missing"},
			{"POST", "/variables/", `[]`, 422, ""},
			{"POST", "/variables/", `{"value":1}`, 422, "missing"},
			{"POST", "/variables/", `{"name":"x"}`, 422, "missing"},
			{"POST", "/variables/", `{"name":5,"value":1}`, 422, "string_type"},
			{"POST", "/variables/", `{"name":"x","value":1,"tags":"x"}`, 422, "list_type"},
			{"POST", "/variables/", `{"name":"x","value":1,"tags":[1]}`, 422, "string_type"},
			{"POST", "/variables/", `{"name":"x","value":1,"tags":null}`, 422, "list_type"},
			{"POST", "/variables/", `{"name":"Bad Name","value":1}`, 422, "value_error"},
			{"POST", "/variables/", `{"name":"a/b","value":1}`, 422, "value_error"},
			{"POST", "/variables/", `{"name":"` + strings.Repeat("a", 256) + `","value":1}`, 422, "too_long"},
			{"POST", "/variables/", `{"name":"big","value":` + tooBig + `}`, 422, "value_error"},
			{"PATCH", "/variables/" + id, `{bad`, 422, "json_invalid"},
			{"PATCH", "/variables/" + id, ``, 422, "missing"},
			{"PATCH", "/variables/" + id, `{"name":"Bad"}`, 422, "value_error"},
			{"PATCH", "/variables/" + id, `{"value":` + tooBig + `}`, 422, "value_error"},
			{"PATCH", "/variables/" + id, `{"tags":"x"}`, 422, "list_type"},
			{"PATCH", "/variables/" + id, `{"tags":null}`, 409, integrityConflict},
			{"PATCH", "/variables/" + id, `{"name":null}`, 409, integrityConflict},
			{"PATCH", "/variables/" + unknown, `{"value":2}`, 404, "Variable not found."},
			{"PATCH", "/variables/not-a-uuid", `{"value":2}`, 404, "Not Found"},
			{"PATCH", "/variables/name/nope", `{"value":2}`, 404, "Variable not found."},
			{"PATCH", "/variables/name/keep", `{"value":` + tooBig + `}`, 422, "value_error"},
			{"GET", "/variables/" + unknown, ``, 404, "Variable not found."},
			{"GET", "/variables/not-a-uuid", ``, 404, "Not Found"},
			{"GET", "/variables/name/nope", ``, 404, "Variable not found."},
			{"DELETE", "/variables/" + unknown, ``, 404, "Variable not found."},
			{"DELETE", "/variables/not-a-uuid", ``, 404, "Not Found"},
			{"DELETE", "/variables/name/nope", ``, 404, "Variable not found."},
		})
	})
}

// TestVariableValueLimit checks Prefect's 5000-character limit, measured on
// the value's compact encoding with non-ASCII text unescaped, whatever
// escaping the client used.
func TestVariableValueLimit(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		escaped := func(n int) string { return `"` + strings.Repeat(`\u00e9`, n) + `"` }
		cases := []struct {
			name, value string
			status      int
		}{
			{"ascii_at_limit", `"` + strings.Repeat("x", 4998) + `"`, 201},
			{"ascii_over", `"` + strings.Repeat("x", 4999) + `"`, 422},
			{"escaped_at_limit", escaped(2499), 201},
			{"escaped_over", escaped(2500), 422},
			{"list_at_limit", `[` + strings.TrimSuffix(strings.Repeat(`1, `, 2499), `, `) + `]`, 201},
		}
		for _, c := range cases {
			ts.do("POST", "/variables/", `{"name":"`+c.name+`","value":`+c.value+`}`).expect(c.status)
		}
		var got []map[string]any
		ts.do("POST", "/variables/filter", nil).expect(200).decode(&got)
		if names := variableNames(got); !slices.Equal(names, []string{"ascii_at_limit", "escaped_at_limit", "list_at_limit"}) {
			t.Errorf("stored %v", names)
		}
		if v := got[1]["value"].(string); v != strings.Repeat("é", 2499) {
			t.Errorf("escaped value read back as %.20q…", v)
		}
	})
}
