package automations

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/model"
)

// The cases' answers are Python's fnmatch.fnmatchcase, which Prefect
// matches event names and label values with.
func TestGlobMatchesFnmatch(t *testing.T) {
	for _, c := range []struct {
		pattern, s string
		want       bool
	}{
		{"prefect.flow-run.*", "prefect.flow-run.Failed", true},
		{"prefect.flow-run.*", "prefect.flow-run.", true},
		{"prefect.flow-run.*", "prefect.flow-runX", false},
		{"*", "a/b", true},
		{"prefect.*.Failed", "prefect.flow-run.Failed", true},
		{"a?c", "abc", true},
		{"a?c", "a/c", true},
		{"[ab]x", "bx", true},
		{"[!ab]x", "bx", false},
		{"x", "x", true},
		{"x", "X", false},
		{"*.Completed", "prefect.flow-run.Completed", true},
		{"a*b*c", "a/b/c", true},
		{"a[", "a[", true},
		{`a\*`, `a\x`, true},
	} {
		if got := Glob(c.pattern, c.s); got != c.want {
			t.Errorf("Glob(%q, %q) = %v, want %v", c.pattern, c.s, got, c.want)
		}
	}
}

func spec(t *testing.T, doc string) model.ResourceSpec {
	t.Helper()
	var s model.ResourceSpec
	if err := json.Unmarshal([]byte(doc), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSpecMatches(t *testing.T) {
	run := model.Resource{"prefect.resource.id": "prefect.flow-run.1", "prefect.resource.name": "nightly"}
	for _, c := range []struct {
		spec string
		want bool
	}{
		{`{}`, true},
		{`{"prefect.resource.id": "prefect.flow-run.*"}`, true},
		{`{"prefect.resource.id": ["prefect.deployment.*", "prefect.flow-run.1"]}`, true},
		{`{"prefect.resource.id": "prefect.flow-run.*", "prefect.resource.name": "hourly"}`, false},
		{`{"prefect.resource.name": "!hourly"}`, true},
		{`{"prefect.resource.name": "!night*"}`, false},
		{`{"prefect.resource.role": "!flow"}`, false}, // a missing label never matches
	} {
		if got := SpecMatches(spec(t, c.spec), run); got != c.want {
			t.Errorf("%s matches %v: %v, want %v", c.spec, run, got, c.want)
		}
	}
	if !SpecIncludes(spec(t, `{}`), nil) || SpecIncludes(spec(t, `{"prefect.resource.role": "flow"}`), nil) {
		t.Errorf("an empty spec includes no resources; another does not")
	}
}

func TestCoversAndBuckets(t *testing.T) {
	var tr model.Trigger
	if err := json.Unmarshal([]byte(`{"posture": "Reactive", "expect": ["prefect.flow-run.Failed"], "after": ["prefect.flow-run.Running"],
		"match_related": [{"prefect.resource.role": "flow", "prefect.resource.id": "prefect.flow.f"}],
		"for_each": ["related:flow:prefect.resource.name", "prefect.resource.id"]}`), &tr); err != nil {
		t.Fatal(err)
	}
	e := &model.Event{Event: "prefect.flow-run.Failed", Resource: model.Resource{"prefect.resource.id": "prefect.flow-run.1"},
		Related: []model.Resource{{"prefect.resource.id": "prefect.flow.f", "prefect.resource.role": "flow", "prefect.resource.name": "etl"}}}
	if !Covers(&tr, e) {
		t.Errorf("the trigger does not cover its event")
	}
	other := *e
	other.Related = []model.Resource{{"prefect.resource.id": "prefect.flow.g", "prefect.resource.role": "flow"}}
	if Covers(&tr, &other) {
		t.Errorf("the trigger covers another flow's run")
	}
	other = *e
	other.Event = "prefect.flow-run.Completed"
	if Covers(&tr, &other) || !Expects(&tr, "prefect.flow-run.Failed") || !StartsAfter(&tr, "prefect.flow-run.Running") {
		t.Errorf("expect and after: covers Completed %v", Covers(&tr, &other))
	}
	// for_each is sorted: the resource id, then the flow's name.
	key := BucketingKey(&tr, e)
	if strings.Join(key, ",") != "prefect.flow-run.1,etl" {
		t.Errorf("key %v", key)
	}
	if l := TriggeringLabels(&tr, key); l["related:flow:prefect.resource.name"] != "etl" || l["prefect.resource.id"] != "prefect.flow-run.1" {
		t.Errorf("labels %v", l)
	}
}

func prepare(t *testing.T, doc string) (*model.Automation, error) {
	t.Helper()
	var a model.Automation
	if err := json.Unmarshal([]byte(doc), &a); err != nil {
		t.Fatal(err)
	}
	a.Enabled = true
	return &a, Prepare(&a)
}

func TestPrepare(t *testing.T) {
	sent := uuid.New()
	a, err := prepare(t, `{"name": "p", "trigger": {"id": "`+sent.String()+`", "posture": "Proactive", "expect": ["x"]}, "actions": []}`)
	if err != nil || a.Trigger.Within != MinProactive || a.Trigger.ID == sent || a.Trigger.ID == uuid.Nil {
		t.Errorf("a proactive trigger without within: %v, within %v, id %v", err, a.Trigger.Within, a.Trigger.ID)
	}
	for doc, want := range map[string]string{
		`{"name": "p", "trigger": {"posture": "Proactive", "within": 5}, "actions": []}`:                                                                           "greater than or equal to 10 seconds",
		`{"name": "p", "trigger": {"expect": ["x"]}, "actions": []}`:                                                                                               "Field required",
		`{"name": "p", "trigger": {"posture": "Metric"}, "actions": []}`:                                                                                           "not supported",
		`{"name": "p", "trigger": {"type": "compound", "require": 3, "triggers": [{"posture": "Reactive"}]}, "actions": []}`:                                       "less than or equal to the number of triggers",
		`{"name": "p", "trigger": {"posture": "Reactive"}, "actions": [{"type": "pause-deployment"}]}`:                                                             "deployment_id is required",
		`{"name": "p", "trigger": {"posture": "Reactive"}, "actions": [{"type": "send-notification", "block_document_id": "` + sent.String() + `"}]}`:              "Field required",
		`{"name": "p", "trigger": {"posture": "Reactive"}, "actions": [{"type": "change-flow-run-state", "state": "DONE"}]}`:                                       "valid state type",
		`{"name": "p", "trigger": {"posture": "Reactive"}, "actions": [{"type": "launch-rockets"}]}`:                                                               "unknown action type",
		`{"name": "p", "trigger": {"posture": "Reactive", "expect": ["prefect.flow-run.Running"]}, "actions": [{"type": "run-deployment", "source": "inferred"}]}`: "infinite loop",
	} {
		if _, err := prepare(t, doc); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", doc, err, want)
		}
	}
	// A selected deployment with narrowed runs is no loop.
	if _, err := prepare(t, `{"name": "p", "trigger": {"posture": "Reactive", "expect": ["prefect.flow-run.Running"], "match_related": {"prefect.resource.role": "flow", "prefect.resource.id": "prefect.flow.x"}},
		"actions": [{"type": "run-deployment", "source": "selected", "deployment_id": "`+sent.String()+`"}]}`); err != nil {
		t.Errorf("a narrowed selected deployment: %v", err)
	}
}
