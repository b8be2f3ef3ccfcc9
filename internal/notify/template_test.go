package notify

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// testLinks answers UI URLs under a base, as the executor's Links does
// with the server's public URL.
type testLinks struct{ base string }

func (l testLinks) UIURL(kind, id string) string {
	if kind == "flow-run" {
		return l.base + "/runs/" + id
	}
	return ""
}

func (l testLinks) UIEventsURL(resourceID string) string {
	return l.base + "/events?resource=" + resourceID
}

func testVars() map[string]any {
	return map[string]any{
		"flow_run": map[string]any{
			"name": "nightly-etl", "state": map[string]any{"name": "Failed", "type": "FAILED", "message": nil},
			"tags": []any{"a", "b"}, "parameters": map[string]any{"x": float64(1), "y": "s"},
			"run_count": float64(3), "total_run_time": 12.5,
		},
		"items": []any{int64(1), int64(2), int64(3)}, "empty": []any{}, "text": "hello world of templates",
	}
}

// TestRenderMatchesJinja renders templates whose expected output is what
// Jinja (ImmutableSandboxedEnvironment with ChainableUndefined, as Prefect
// sets it up) rendered for the same variables.
func TestRenderMatchesJinja(t *testing.T) {
	cases := []struct{ name, tmpl, want string }{
		{"attr", "{{ flow_run.name }} is {{ flow_run.state.name }}", "nightly-etl is Failed"},
		{"undefined chains", "[{{ flow_run.nope.deeper }}][{{ missing.x.y }}]", "[][]"},
		{"none prints None", "{{ flow_run.state.message }}", "None"},
		{"default on undefined", "{{ flow_run.nope|default('n/a') }}", "n/a"},
		{"default keeps none", "{{ flow_run.state.message|default('n/a') }}", "None"},
		{"default boolean", "{{ flow_run.state.message|default('n/a', true) }}", "n/a"},
		{"upper lower title", "{{ flow_run.state.name|upper }} {{ 'ABC'|lower }} {{ 'hello big-world'|title }}", "FAILED abc Hello Big-World"},
		{"length join", "{{ flow_run.tags|length }}: {{ flow_run.tags|join(', ') }}", "2: a, b"},
		{"tojson", "{{ flow_run.parameters|tojson }}", "{\"x\": 1, \"y\": \"s\"}"},
		{"truncate", "{{ text|truncate(12) }}|{{ text|truncate(12, true) }}|{{ text|truncate(12, end='\u2026') }}", "hello...|hello wor...|hello\u2026"},
		{"replace", "{{ flow_run.name|replace('-', '_') }}", "nightly_etl"},
		{"if elif else", "{% if flow_run.state.type == 'COMPLETED' %}ok{% elif flow_run.state.type in ['FAILED', 'CRASHED'] %}bad{% else %}other{% endif %}", "bad"},
		{"and or not", "{% if not empty and items %}x{% elif items or empty %}y{% endif %}", "x"},
		{"comparisons", "{{ flow_run.run_count > 2 }} {{ flow_run.run_count <= 2 }} {{ flow_run.run_count != 3 }}", "True False False"},
		{"for loop", "{% for t in flow_run.tags %}{{ loop.index }}={{ t }}{% if not loop.last %},{% endif %}{% endfor %}", "1=a,2=b"},
		{"for else", "{% for x in empty %}{{ x }}{% else %}none{% endfor %}", "none"},
		{"for items", "{% for k, v in flow_run.parameters.items() %}{{ k }}:{{ v }};{% endfor %}", "x:1;y:s;"},
		{"whitespace control", "a  {{- ' b ' -}}  c\n{%- if true %}\n  d\n{%- endif %}", "a b c\n  d"},
		{"comment", "a{# not shown #}b{#- trimmed -#}  c{{ '' }}", "abc"},
		{"list repr", "{{ flow_run.tags }} {{ flow_run.parameters }}", "['a', 'b'] {'x': 1, 'y': 's'}"},
		{"numbers", "{{ flow_run.total_run_time }} {{ 7 // 2 }} {{ 7 % 3 }} {{ 1 + 2 * 3 }} {{ 10 / 4 }}", "12.5 3 1 7 2.5"},
		{"concat", "{{ 'run ' ~ flow_run.name ~ ' #' ~ flow_run.run_count }}", "run nightly-etl #3"},
		{"is defined", "{{ flow_run.name is defined }} {{ flow_run.nope is defined }} {{ flow_run.state.message is none }}", "True False True"},
		{"conditional expression", "{{ 'yes' if items else 'no' }}{{ 'yes' if empty else 'no' }}", "yesno"},
		{"set", "{% set n = items|length %}{{ n * 2 }}", "6"},
		{"range", "{% for i in range(3) %}{{ i }}{% endfor %}", "012"},
		{"trailing newline dropped", "x {{ 1 }}\n", "x 1"},
		{"string escapes", "{{ \"it's\" }} {{ 'a\\'b' }}", "it's a'b"},
		{"no template", "plain text {x}", "plain text {x}"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Render(c.tmpl, testVars(), nil)
			if err != nil {
				t.Fatalf("Render(%q): %v", c.tmpl, err)
			}
			if got != c.want {
				t.Errorf("Render(%q)\n got %q\nwant %q", c.tmpl, got, c.want)
			}
		})
	}
}

// TestRenderPrefectDefaultBody renders the body Prefect's flow run
// notifications used by default, with an Object standing for the run so
// that ui_url links to its page.
func TestRenderPrefectDefaultBody(t *testing.T) {
	const body = "Flow run {{ flow.name }}/{{ flow_run.name }} observed in state `{{ flow_run.state.name }}` at {{ flow_run.state.timestamp }}.\n" +
		"Flow ID: {{ flow_run.flow_id }}\n" +
		"Flow run ID: {{ flow_run.id }}\n" +
		"Flow run URL: {{ flow_run|ui_url }}\n" +
		"State message: {{ flow_run.state.message }}\n"
	runID, flowID := "0f9e6a8e-7c1b-4d6a-9a3e-2b1f0c4d5e6f", "5b2d1c3a-9e8f-4a7b-8c6d-1e2f3a4b5c6d"
	vars := map[string]any{
		"flow": Object{Kind: "flow", ID: flowID, Fields: map[string]any{"id": flowID, "name": "etl"}},
		"flow_run": Object{Kind: "flow-run", ID: runID, Fields: map[string]any{
			"id": runID, "name": "nightly-etl", "flow_id": flowID,
			"state": map[string]any{"name": "Failed", "type": "FAILED", "timestamp": "2026-12-01T18:00:00Z", "message": "Flow run encountered an exception: boom"},
		}},
	}
	got, err := Render(body, vars, testLinks{"https://praetor.example"})
	if err != nil {
		t.Fatal(err)
	}
	want := "Flow run etl/nightly-etl observed in state `Failed` at 2026-12-01T18:00:00Z.\n" +
		"Flow ID: " + flowID + "\n" +
		"Flow run ID: " + runID + "\n" +
		"Flow run URL: https://praetor.example/runs/" + runID + "\n" +
		"State message: Flow run encountered an exception: boom"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestRenderPrefectFilters(t *testing.T) {
	runID := "0f9e6a8e-7c1b-4d6a-9a3e-2b1f0c4d5e6f"
	vars := map[string]any{
		"flow_run": Object{Kind: "flow-run", ID: runID, Fields: map[string]any{"id": runID}},
		"flow":     Object{Kind: "flow", ID: "f1", Fields: map[string]any{"id": "f1"}},
		"event": map[string]any{
			"resource": map[string]any{"prefect.resource.id": "prefect.flow-run." + runID},
			"payload":  map[string]any{"text": "see https://x/runs/flow-run/" + runID + " now"},
		},
	}
	links := testLinks{"http://ui"}
	cases := []struct{ tmpl, want string }{
		{"{{ flow_run|ui_url }}", "http://ui/runs/" + runID},
		{"{{ event.resource|ui_url }}", "http://ui/runs/" + runID},
		{"{{ flow|ui_url }}", "None"}, // the UI has no page for it: Prefect's None
		{"{{ flow_run|ui_resource_events_url }}", "http://ui/events?resource=prefect.flow-run." + runID},
		{"{{ event.resource|ui_resource_events_url }}", "http://ui/events?resource=prefect.flow-run." + runID},
		{"{{ event.payload.text|flow_run_id }}", runID},
		{"{{ 'no id here'|flow_run_id }}", "None"},
		{"{{ flow_run|tojson }}", `{"id": "` + runID + `"}`},
		{"{{ flow_run.id }}", runID},
	}
	for _, c := range cases {
		got, err := Render(c.tmpl, vars, links)
		if err != nil {
			t.Fatalf("Render(%q): %v", c.tmpl, err)
		}
		if got != c.want {
			t.Errorf("Render(%q) = %q, want %q", c.tmpl, got, c.want)
		}
	}
}

func TestRenderToJSONLikePython(t *testing.T) {
	vars := map[string]any{"d": map[string]any{"b": []any{int64(1), 2.5, nil, true}, "a": "<é>'", "c": map[string]any{}}}
	got, err := Render("{{ d|tojson }}", vars, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"a": "\u003c\u00e9\u003e\u0027", "b": [1, 2.5, null, true], "c": {}}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	vars = map[string]any{"d": map[string]any{"b": []any{int64(1), map[string]any{}}, "a": "x"}}
	got, err = Render("{{ d|tojson(2) }}", vars, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := "{\n  \"a\": \"x\",\n  \"b\": [\n    1,\n    {}\n  ]\n}"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestValidateSyntaxErrors checks the line and message Prefect's
// templates/validate answers (Jinja's, for the same templates).
func TestValidateSyntaxErrors(t *testing.T) {
	cases := []struct {
		tmpl string
		line int
		msg  string
	}{
		{"{% if x %}", 1, "Unexpected end of template. Jinja was looking for the following tags: 'elif' or 'else' or 'endif'. The innermost block that needs to be closed is 'if'."},
		{"ok\n{% for x in y %}\n{{ x }}", 3, "Unexpected end of template. Jinja was looking for the following tags: 'endfor' or 'else'. The innermost block that needs to be closed is 'for'."},
		{"{% frob %}", 1, "Encountered unknown tag 'frob'."},
		{"a\n\n{{ 1 + }}", 3, ""},
		{"{{ a.b }\n}}", 1, ""},
		{strings.Repeat("{% for x in y %}{% endfor %}", 11), 1, "Contains 11 for loops. Templates can contain no more than 10 for loops."},
		{"{% for a in x %}{% for b in a %}{% for c in b %}{% endfor %}{% endfor %}{% endfor %}", 1, "Contains nested for loops at a depth of 3. Templates can nest for loops no more than 2 loops deep."},
		{"{{ " + strings.Repeat("(", 10000), 1, ""},
	}
	for _, c := range cases {
		err := Validate(c.tmpl)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Validate(%.40q) = %v, want a *SyntaxError", c.tmpl, err)
			continue
		}
		if se.Line != c.line || (c.msg != "" && se.Message != c.msg) {
			t.Errorf("Validate(%.40q) = line %d %q, want line %d %q", c.tmpl, se.Line, se.Message, c.line, c.msg)
		}
		if _, err := Render(c.tmpl, nil, nil); !errors.As(err, &se) {
			t.Errorf("Render(%.40q) = %v, want the *SyntaxError", c.tmpl, err)
		}
	}
	// Jinja parses an unknown filter and fails only when rendering.
	if err := Validate("{{ x|nosuch }}"); err != nil {
		t.Errorf("Validate with an unknown filter: %v", err)
	}
	if _, err := Render("{{ x|nosuch }}", nil, nil); err == nil {
		t.Error("Render with an unknown filter succeeded")
	}
}

// TestRenderBounded renders hostile templates: each must stop with
// ErrLimit (or Prefect's range error) quickly and without a large output.
func TestRenderBounded(t *testing.T) {
	big := make([]any, 5000)
	for i := range big {
		big[i] = strings.Repeat("x", 100)
	}
	vars := map[string]any{"big": big, "s": strings.Repeat("y", 2000)}
	cases := []string{
		"{% for a in big %}{% for b in big %}{{ a }}{% endfor %}{% endfor %}",
		"{% for a in big %}{% for b in big %}{% endfor %}{% endfor %}",
		"{% set x = s %}{% for i in range(99) %}{% set x = x ~ x %}{% endfor %}{{ x }}",
		"{% set x = big %}{% for i in range(99) %}{% set x = x + x %}{% endfor %}{{ x|length }}",
		"{{ s|replace('', s) }}",
		"{% for i in range(1000) %}{% endfor %}",
		"{{ big|join(s) }}",
	}
	for _, tmpl := range cases {
		start := time.Now()
		out, err := Render(tmpl, vars, nil)
		if err == nil {
			t.Errorf("Render(%q) succeeded with %d bytes", tmpl, len(out))
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("Render(%q) took %v", tmpl, d)
		}
	}
	if _, err := Render(cases[0], vars, nil); !errors.Is(err, ErrLimit) {
		t.Errorf("a huge loop: %v, want ErrLimit", err)
	}
	if _, err := Render("{% for i in range(101) %}{% endfor %}", nil, nil); err == nil || !strings.Contains(err.Error(), "Range too big") {
		t.Errorf("range(101): %v, want Prefect's range error", err)
	}
}

// TestRenderDoesNotChangeVars: {% set %} binds in the template's own scope.
func TestRenderDoesNotChangeVars(t *testing.T) {
	vars := map[string]any{"x": "kept"}
	if _, err := Render("{% set x = 'changed' %}{{ x }}", vars, nil); err != nil {
		t.Fatal(err)
	}
	if vars["x"] != "kept" {
		t.Errorf("vars[x] = %v", vars["x"])
	}
}
