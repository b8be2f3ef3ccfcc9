package ui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/model"
)

// A run of more task runs than the timeline draws gives each task key one
// row, with the count and the state mix; the rows past the cap are counted.
func TestTimelineGroupsLargeRuns(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	mk := func(key string, i int, typ model.StateType) *model.TaskRun {
		start := model.At(t0.Add(time.Duration(i) * time.Second))
		end := model.At(start.Add(time.Second))
		tr := &model.TaskRun{ID: uuid.New(), Name: fmt.Sprintf("%s-%d", key, i), TaskKey: key}
		tr.StateType, tr.ExpectedStartTime, tr.StartTime, tr.EndTime = &typ, &start, &start, &end
		return tr
	}
	var runs []*model.TaskRun
	runs = append(runs, mk("extract", 0, model.Completed))
	for i := 0; i < 998; i++ {
		typ := model.Completed
		if i%100 == 0 {
			typ = model.Failed
		}
		runs = append(runs, mk("double", i+1, typ))
	}
	runs = append(runs, mk("load", 999, model.Completed))
	// load reads extract; every double reads extract.
	for _, r := range runs[1:] {
		id := runs[0].ID
		r.TaskInputs = map[string][]model.TaskRunInput{"x": {{InputType: "task_run", ID: &id}}}
	}
	rows, grouped := timelineRows(runs)
	if !grouped || len(rows) != 3 || len(rows[1]) != 998 {
		t.Fatalf("1,000 runs of 3 tasks: %d rows (grouped %v)", len(rows), grouped)
	}
	items := timelineItems(rows, nil, nil, func(uuid.UUID) string { return "/t" }, func(uuid.UUID) string { return "/f" }, "?tab=task-runs", t0.Add(time.Hour))
	v := layoutTimeline(items, timelineEdges(items, runs, nil))
	if len(v.Rows) != 3 || len(v.Edges) != 2 {
		t.Fatalf("%d rows and %d edges, want 3 and 2", len(v.Rows), len(v.Edges))
	}
	g := v.Rows[1]
	if g.Count != 998 || !strings.HasSuffix(g.Label, "×998") || g.URL != "?tab=task-runs" ||
		!strings.Contains(g.Title, "998 task runs (988 Completed, 10 Failed)") || g.Class != "state-completed" {
		t.Errorf("the mapped task's row: %+v", g)
	}
	// The group spans its first start to its last end.
	if b := g.Bars[0]; b.X >= v.Rows[2].Bars[0].X || b.X+b.W < v.Rows[2].Bars[0].X {
		t.Errorf("the group's bar %+v does not reach load's start %+v", b, v.Rows[2].Bars[0])
	}

	// More keys than rows: the first timelineMaxRows are drawn.
	var many []*model.TaskRun
	for i := 0; i < 150; i++ {
		many = append(many, mk(fmt.Sprintf("t%03d", i), i, model.Completed))
	}
	rows, grouped = timelineRows(many)
	if !grouped || len(rows) != 150 {
		t.Fatalf("150 distinct tasks: %d rows", len(rows))
	}
	// A small run is drawn run by run.
	if rows, grouped = timelineRows(many[:timelineMaxRows]); grouped || len(rows) != timelineMaxRows {
		t.Errorf("%d runs: %d rows, grouped %v", timelineMaxRows, len(rows), grouped)
	}
}

// A task run's bar follows its state history: waits, attempts, the
// retry wait between them, and a running run reaching now.
func TestTimelineSpans(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	at := func(s int) model.Time { return model.At(t0.Add(time.Duration(s) * time.Second)) }
	st := func(typ model.StateType, name string, s int) *model.State {
		return &model.State{Type: typ, Name: name, Timestamp: at(s)}
	}
	now := t0.Add(time.Minute)
	hist := []*model.State{st(model.Pending, "Pending", 0), st(model.Running, "Running", 1), st(model.Scheduled, "AwaitingRetry", 3),
		st(model.Running, "Retrying", 5), st(model.Running, "Running", 6), st(model.Completed, "Completed", 8)}
	var got []string
	for _, s := range timelineSpans(&model.TaskRun{}, hist, now) {
		got = append(got, fmt.Sprintf("%s %v-%v", s.Kind, s.From.Sub(t0).Seconds(), s.To.Sub(t0).Seconds()))
	}
	if want := "wait 0-1,run 1-3,retry 3-5,run 5-8"; strings.Join(got, ",") != want {
		t.Errorf("spans %v, want %s", got, want)
	}
	if s := timelineSpans(&model.TaskRun{}, hist[:2], now); len(s) != 2 || !s[1].To.Equal(now) {
		t.Errorf("a running run's bar does not reach now: %+v", s)
	}
	if s := timelineSpans(&model.TaskRun{}, []*model.State{st(model.Completed, "Cached", 4)}, now); len(s) != 1 || !s[0].From.Equal(at(4).Time) {
		t.Errorf("a run final from its first state: %+v", s)
	}
}
