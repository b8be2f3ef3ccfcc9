package storetest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

// runsInStates creates, in flow, one flow run per state type listed.
func (h *harness) runsInStates(ws, flow uuid.UUID, types ...model.StateType) []*model.FlowRun {
	h.t.Helper()
	out := make([]*model.FlowRun, len(types))
	for i, typ := range types {
		out[i] = h.flowRun(ws, flow, fmt.Sprintf("%s-%d", typ, i), state(typ))
	}
	return out
}

// countsAre checks a count by state type.
func (h *harness) countsAre(what string, got map[model.StateType]int, err error, want map[model.StateType]int) {
	h.t.Helper()
	if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
		h.t.Errorf("%s: %v (%v), want %v", what, got, err, want)
	}
}

func testCountFlowRunsByState(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	etl, ml := h.flow(ws, "etl"), h.flow(ws, "ml")
	h.runsInStates(ws, etl.ID, model.Completed, model.Completed, model.Failed)
	h.runsInStates(ws, ml.ID, model.Running, model.Scheduled)
	h.runsInStates(other, h.flow(other, "etl").ID, model.Completed)
	count := func(w uuid.UUID, q store.RunQuery) (map[model.StateType]int, error) {
		return h.s.CountFlowRunsByState(h.ctx, w, q)
	}
	got, err := count(ws, store.RunQuery{})
	h.countsAre("every run", got, err, map[model.StateType]int{model.Completed: 2, model.Failed: 1, model.Running: 1, model.Scheduled: 1})
	got, err = count(ws, store.RunQuery{Flows: &store.FlowFilter{Name: &store.NameFilter{Any: []string{"etl"}}}})
	h.countsAre("runs of a flow", got, err, map[model.StateType]int{model.Completed: 2, model.Failed: 1})
	got, err = count(ws, store.RunQuery{FlowRuns: &store.FlowRunFilter{State: store.StateTypeIn(model.Completed, model.Running)}})
	h.countsAre("runs in two states", got, err, map[model.StateType]int{model.Completed: 2, model.Running: 1})
	got, err = count(other, store.RunQuery{})
	h.countsAre("another workspace's runs", got, err, map[model.StateType]int{model.Completed: 1})
	got, err = count(h.ws(), store.RunQuery{})
	h.countsAre("an empty workspace", got, err, map[model.StateType]int{})
	testCountsFollowChanges(t, h)
}

func testCountFlowRunsUpTo(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	etl, ml := h.flow(ws, "etl", "nightly"), h.flow(ws, "ml")
	h.runsInStates(ws, etl.ID, model.Completed, model.Completed, model.Failed, model.Running)
	h.runsInStates(ws, ml.ID, model.Completed)
	h.runsInStates(other, h.flow(other, "etl").ID, model.Completed)
	tagged := store.RunQuery{Flows: &store.FlowFilter{Tags: &store.TagsFilter{All: []string{"nightly"}}}}
	completed := store.RunQuery{FlowRuns: &store.FlowRunFilter{State: store.StateTypeIn(model.Completed)}}
	for _, c := range []struct {
		what  string
		ws    uuid.UUID
		q     store.RunQuery
		limit int
		want  int // exact
	}{
		{"every run, under the limit", ws, store.RunQuery{}, 10, 5},
		{"every run, at the limit", ws, store.RunQuery{}, 5, 5},
		{"every run, over the limit", ws, store.RunQuery{}, 2, 5},
		{"a flow's runs by tag, under the limit", ws, tagged, 5, 4},
		{"a flow's runs by tag, over the limit", ws, tagged, 3, 4},
		{"completed runs, over the limit", ws, completed, 1, 3},
		{"another workspace's runs", other, store.RunQuery{}, 10, 1},
		{"an empty workspace", h.ws(), store.RunQuery{}, 10, 0},
	} {
		n, exact, err := h.s.CountFlowRunsUpTo(h.ctx, c.ws, c.q, c.limit)
		switch {
		case err != nil:
			t.Errorf("%s: %v", c.what, err)
		case c.want < c.limit && (!exact || n != c.want):
			t.Errorf("%s: %d (exact %v), want exactly %d", c.what, n, exact, c.want)
		case exact && n != c.want:
			t.Errorf("%s: %d said to be exact, want %d", c.what, n, c.want)
		case !exact && n != c.limit:
			t.Errorf("%s: %d, not exact, want the limit %d", c.what, n, c.limit)
		}
	}
}

func testCountTaskRunsByState(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	flow := h.flow(ws, "etl")
	fr1, fr2 := h.flowRun(ws, flow.ID, "run-1", state(model.Running)), h.flowRun(ws, flow.ID, "run-2", state(model.Running))
	for i, typ := range []model.StateType{model.Completed, model.Completed, model.Failed} {
		h.taskRun(ws, &fr1.ID, fmt.Sprint("t", i), state(typ))
	}
	h.taskRun(ws, &fr2.ID, "t-running", state(model.Running))
	h.taskRun(ws, nil, "loose", state(model.Pending))
	theirs := h.flowRun(other, h.flow(other, "etl").ID, "run", state(model.Running))
	h.taskRun(other, &theirs.ID, "theirs", state(model.Completed))
	count := func(w uuid.UUID, q store.RunQuery) (map[model.StateType]int, error) {
		return h.s.CountTaskRunsByState(h.ctx, w, q)
	}
	got, err := count(ws, store.RunQuery{})
	h.countsAre("every task run", got, err, map[model.StateType]int{model.Completed: 2, model.Failed: 1, model.Running: 1, model.Pending: 1})
	got, err = count(ws, store.RunQuery{TaskRuns: &store.TaskRunFilter{FlowRunID: &store.NullableIDFilter{Any: ids(fr1.ID)}}})
	h.countsAre("task runs of a flow run", got, err, map[model.StateType]int{model.Completed: 2, model.Failed: 1})
	got, err = count(ws, store.RunQuery{FlowRuns: &store.FlowRunFilter{Name: &store.NameFilter{Any: []string{"run-2"}}}})
	h.countsAre("task runs through a flow run filter", got, err, map[model.StateType]int{model.Running: 1})
	got, err = count(other, store.RunQuery{})
	h.countsAre("another workspace's task runs", got, err, map[model.StateType]int{model.Completed: 1})
	got, err = count(h.ws(), store.RunQuery{})
	h.countsAre("an empty workspace", got, err, map[model.StateType]int{})
}

func testCountFlowRunsByFlow(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	etl, ml, idle := h.flow(ws, "etl"), h.flow(ws, "ml"), h.flow(ws, "idle")
	h.runsInStates(ws, etl.ID, model.Completed, model.Completed, model.Failed)
	h.runsInStates(ws, ml.ID, model.Running, model.Scheduled)
	theirs := h.flow(other, "etl")
	h.runsInStates(other, theirs.ID, model.Completed)
	check := func(what string, w uuid.UUID, q store.RunQuery, want map[uuid.UUID]int) {
		t.Helper()
		got, err := h.s.CountFlowRunsByFlow(h.ctx, w, q)
		if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: %v (%v), want %v", what, got, err, want)
		}
	}
	// A flow without matching runs is left out.
	check("every run", ws, store.RunQuery{}, map[uuid.UUID]int{etl.ID: 3, ml.ID: 2})
	check("failed runs", ws, store.RunQuery{FlowRuns: &store.FlowRunFilter{State: store.StateTypeIn(model.Failed)}}, map[uuid.UUID]int{etl.ID: 1})
	check("some flows", ws, store.RunQuery{Flows: &store.FlowFilter{ID: &store.IDFilter{Any: ids(ml.ID, idle.ID)}}}, map[uuid.UUID]int{ml.ID: 2})
	check("another workspace's flow", ws, store.RunQuery{Flows: &store.FlowFilter{ID: &store.IDFilter{Any: ids(theirs.ID)}}}, map[uuid.UUID]int{})
	check("another workspace", other, store.RunQuery{}, map[uuid.UUID]int{theirs.ID: 1})
}

func testFlowRunHistory(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	etl, ml := h.flow(ws, "etl"), h.flow(ws, "ml")
	clk := newClock()
	start := clk.base
	expectedAt := func(flow uuid.UUID, d time.Duration, typ model.StateType) {
		t.Helper()
		at := clk.at(d)
		r := h.flowRun(ws, flow, fmt.Sprint(typ, "@", d), scheduledFor(at, clk.at(-time.Hour)))
		if typ != model.Scheduled {
			h.setFlowRunState(ws, r.ID, state(typ), true)
		}
	}
	expectedAt(etl.ID, 0, model.Completed)                                                           // bucket 0, its first instant
	expectedAt(etl.ID, time.Hour-time.Microsecond, model.Completed)                                  // bucket 0, its last microsecond
	expectedAt(etl.ID, 30*time.Minute, model.Failed)                                                 // bucket 0
	expectedAt(ml.ID, time.Hour, model.Completed)                                                    // bucket 1
	expectedAt(etl.ID, 2*time.Hour+time.Second, model.Scheduled)                                     // bucket 2
	expectedAt(etl.ID, -time.Microsecond, model.Completed)                                           // before the window
	expectedAt(etl.ID, 3*time.Hour, model.Completed)                                                 // after it
	h.flowRun(other, h.flow(other, "etl").ID, "theirs", scheduledFor(clk.at(0), clk.at(-time.Hour))) // never counted

	history := func(w uuid.UUID, q store.HistoryQuery) []store.HistoryBucket {
		t.Helper()
		got, err := h.s.FlowRunHistory(h.ctx, w, q)
		h.must(err, "flow run history")
		return got
	}
	got := history(ws, store.HistoryQuery{Start: start, Interval: time.Hour, Buckets: 3})
	want := []map[model.StateType]int{
		{model.Completed: 2, model.Failed: 1},
		{model.Completed: 1},
		{model.Scheduled: 1},
	}
	if len(got) != len(want) {
		t.Fatalf("%d buckets, want %d", len(got), len(want))
	}
	for i, b := range got {
		if !b.Start.Equal(start.Add(time.Duration(i)*time.Hour)) || !b.End.Equal(start.Add(time.Duration(i+1)*time.Hour)) {
			t.Errorf("bucket %d spans %v–%v", i, b.Start, b.End)
		}
		if fmt.Sprint(b.Counts) != fmt.Sprint(want[i]) {
			t.Errorf("bucket %d counts %v, want %v", i, b.Counts, want[i])
		}
	}
	// Empty buckets are returned too, and the runs filter narrows.
	got = history(ws, store.HistoryQuery{Start: start, Interval: 30 * time.Minute, Buckets: 6,
		Runs: store.RunQuery{Flows: &store.FlowFilter{ID: &store.IDFilter{Any: ids(ml.ID)}}}})
	totals := make([]int, len(got))
	for i, b := range got {
		totals[i] = b.Total()
	}
	if fmt.Sprint(totals) != "[0 0 1 0 0 0]" {
		t.Errorf("per half hour, one flow: %v, want [0 0 1 0 0 0]", totals)
	}
	for _, b := range history(other, store.HistoryQuery{Start: start, Interval: time.Hour, Buckets: 3})[1:] {
		if b.Total() != 0 {
			t.Errorf("another workspace's history counts this one's runs: %v", b.Counts)
		}
	}
	if b := history(other, store.HistoryQuery{Start: start, Interval: time.Hour, Buckets: 3})[0]; b.Total() != 1 {
		t.Errorf("another workspace's first bucket: %v, want its one run", b.Counts)
	}
	for _, bad := range []store.HistoryQuery{
		{Start: start, Interval: time.Millisecond, Buckets: 3},
		{Start: start, Interval: time.Hour},
		{Start: start, Interval: time.Hour, Buckets: 5000},
	} {
		_, err := h.s.FlowRunHistory(h.ctx, ws, bad)
		h.wantCode(err, apperr.EInvalid, fmt.Sprintf("history %+v", bad))
	}
}

// testCountsFollowChanges checks that the aggregates the pages read stay
// exact through a random sequence of every change a run can go through:
// creates, state changes (forced or not), recorded task runs, moves of
// the expected start, deletes of runs and of a flow. Each aggregate is
// asked twice, in the shape a page asks it (which a store may answer from
// counters it keeps) and with a filter that selects the same runs in
// another shape (a NotAny of an unknown id), which it answers from the
// runs themselves.
func testCountsFollowChanges(t *testing.T, h *harness) {
	ws := h.ws()
	rng := rand.New(rand.NewPCG(16, 4))
	base := time.Now().UTC().Truncate(time.Hour)
	flows := []*model.Flow{h.flow(ws, "a"), h.flow(ws, "b"), h.flow(ws, "c")}
	types := model.StateTypes
	var (
		flowRuns []*model.FlowRun
		taskRuns []*model.TaskRun
	)
	// at is a random time within 5 hours of base, to the second.
	at := func() model.Time {
		return model.At(base.Add(time.Duration(rng.IntN(10*3600)-5*3600) * time.Second))
	}
	for step := 0; step < 300; step++ {
		switch op := rng.IntN(10); {
		case op < 3 || len(flowRuns) == 0:
			r := h.flowRun(ws, flows[rng.IntN(len(flows))].ID, fmt.Sprint("run-", step), state(types[rng.IntN(len(types))]))
			flowRuns = append(flowRuns, r)
		case op == 3:
			r := flowRuns[rng.IntN(len(flowRuns))]
			_, err := h.s.SetFlowRunState(h.ctx, ws, r.ID, state(types[rng.IntN(len(types))]), rng.IntN(2) == 0)
			h.must(err, "set flow run state")
		case op == 4:
			r := flowRuns[rng.IntN(len(flowRuns))]
			when := at()
			h.must(h.s.UpdateFlowRun(h.ctx, ws, r.ID, func(fr *model.FlowRun) error { fr.ExpectedStartTime = &when; return nil }), "move a flow run")
		case op == 5:
			r := flowRuns[rng.IntN(len(flowRuns))]
			tr := h.taskRun(ws, &r.ID, fmt.Sprint("task-", step), state(types[rng.IntN(len(types))]))
			taskRuns = append(taskRuns, tr)
		case op == 6:
			r := flowRuns[rng.IntN(len(flowRuns))]
			rec := taskRunRecord(newID(), &r.ID, fmt.Sprint("recorded-", step), newID(), types[rng.IntN(len(types))], at())
			rec.Run.ExpectedStartTime = rec.Run.StateTimestamp
			h.must(h.s.IngestEvents(h.ctx, ws, nil, []store.TaskRunRecord{rec}), "record a task run")
		case op == 7 && len(taskRuns) > 0:
			tr := taskRuns[rng.IntN(len(taskRuns))]
			if _, err := h.s.SetTaskRunState(h.ctx, ws, tr.ID, state(types[rng.IntN(len(types))]), rng.IntN(2) == 0); err != nil && !apperr.IsNotFound(err) {
				t.Fatalf("set task run state: %v", err)
			}
		case op == 8:
			i := rng.IntN(len(flowRuns))
			h.must(store.DeleteOne(h.s.DeleteFlowRuns)(h.ctx, ws, flowRuns[i].ID), "delete a flow run")
			flowRuns = slices.Delete(flowRuns, i, i+1)
		case op == 9 && len(taskRuns) > 0:
			i := rng.IntN(len(taskRuns))
			if err := h.s.DeleteTaskRun(h.ctx, ws, taskRuns[i].ID); err != nil && !apperr.IsNotFound(err) {
				t.Fatalf("delete a task run: %v", err)
			}
			taskRuns = slices.Delete(taskRuns, i, i+1)
		}
		if step%50 == 49 {
			h.countsAgree(ws, base, flows)
		}
	}
	h.must(store.DeleteOne(h.s.DeleteFlows)(h.ctx, ws, flows[0].ID), "delete a flow")
	h.countsAgree(ws, base, flows[1:])
}

// countsAgree asks each aggregate in a page's shape and in another.
func (h *harness) countsAgree(ws uuid.UUID, base time.Time, flows []*model.Flow) {
	h.t.Helper()
	unknown := &store.IDFilter{NotAny: []uuid.UUID{newID()}}
	ids := make([]uuid.UUID, len(flows))
	for i, f := range flows {
		ids[i] = f.ID
	}
	agree := func(what string, got, want any, errs ...error) {
		h.t.Helper()
		for _, err := range errs {
			h.must(err, what)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			h.t.Errorf("%s: %v, from the runs %v", what, got, want)
		}
	}
	all, err1 := h.s.CountFlowRunsByState(h.ctx, ws, store.RunQuery{})
	want, err2 := h.s.CountFlowRunsByState(h.ctx, ws, store.RunQuery{FlowRuns: &store.FlowRunFilter{ID: unknown}})
	agree("flow runs by state", all, want, err1, err2)
	if len(all) == 0 {
		h.t.Errorf("no flow runs counted")
	}

	n, err1 := h.s.CountFlowRuns(h.ctx, ws, store.RunQuery{})
	wantN, err2 := h.s.CountFlowRuns(h.ctx, ws, store.RunQuery{FlowRuns: &store.FlowRunFilter{ID: unknown}})
	agree("flow runs", n, wantN, err1, err2)

	one := store.RunQuery{Flows: &store.FlowFilter{ID: &store.IDFilter{Any: ids[:1]}}}
	byState, err1 := h.s.CountFlowRunsByState(h.ctx, ws, one)
	want, err2 = h.s.CountFlowRunsByState(h.ctx, ws, store.RunQuery{Flows: &store.FlowFilter{ID: &store.IDFilter{Any: ids[:1], NotAny: unknown.NotAny}}})
	agree("one flow's runs by state", byState, want, err1, err2)

	failed := store.StateTypeIn(model.Failed, model.Crashed)
	byFlow, err1 := h.s.CountFlowRunsByFlow(h.ctx, ws, store.RunQuery{Flows: &store.FlowFilter{ID: &store.IDFilter{Any: ids}}, FlowRuns: &store.FlowRunFilter{State: failed}})
	wantByFlow, err2 := h.s.CountFlowRunsByFlow(h.ctx, ws, store.RunQuery{Flows: &store.FlowFilter{ID: &store.IDFilter{Any: ids, NotAny: unknown.NotAny}},
		FlowRuns: &store.FlowRunFilter{State: failed}})
	agree("failed runs by flow", byFlow, wantByFlow, err1, err2)
	n, err1 = h.s.CountFlowRuns(h.ctx, ws, store.RunQuery{Flows: &store.FlowFilter{ID: &store.IDFilter{Any: ids[1:]}}, FlowRuns: &store.FlowRunFilter{State: failed}})
	wantN, err2 = h.s.CountFlowRuns(h.ctx, ws, store.RunQuery{Flows: &store.FlowFilter{ID: &store.IDFilter{Any: ids[1:], NotAny: unknown.NotAny}}, FlowRuns: &store.FlowRunFilter{State: failed}})
	agree("failed runs of two flows", n, wantN, err1, err2)

	// Windows with whole hours inside and partial ones at the edges, one
	// within an hour, one ending on the hour.
	windows := []*store.TimeFilter{
		{After: model.At(base.Add(-3*time.Hour + 17*time.Minute)).Ptr(), Before: model.At(base.Add(2*time.Hour + 3*time.Minute)).Ptr()},
		{After: model.At(base.Add(10 * time.Minute)).Ptr(), Before: model.At(base.Add(50 * time.Minute)).Ptr()},
		{After: model.At(base.Add(-4 * time.Hour)).Ptr(), Before: model.At(base.Add(time.Hour)).Ptr()},
	}
	for i, w := range windows {
		got, err1 := h.s.CountFlowRunsByState(h.ctx, ws, store.RunQuery{FlowRuns: &store.FlowRunFilter{ExpectedStartTime: w}})
		want, err2 := h.s.CountFlowRunsByState(h.ctx, ws, store.RunQuery{FlowRuns: &store.FlowRunFilter{ExpectedStartTime: w, ID: unknown}})
		agree(fmt.Sprint("flow runs by state in window ", i), got, want, err1, err2)
		n, err1 := h.s.CountFlowRuns(h.ctx, ws, store.RunQuery{FlowRuns: &store.FlowRunFilter{ExpectedStartTime: w, State: failed}})
		wantN, err2 = h.s.CountFlowRuns(h.ctx, ws, store.RunQuery{FlowRuns: &store.FlowRunFilter{ExpectedStartTime: w, State: failed, ID: unknown}})
		agree(fmt.Sprint("failed flow runs in window ", i), n, wantN, err1, err2)
		got, err1 = h.s.CountTaskRunsByState(h.ctx, ws, store.RunQuery{TaskRuns: &store.TaskRunFilter{ExpectedStartTime: w}})
		want, err2 = h.s.CountTaskRunsByState(h.ctx, ws, store.RunQuery{TaskRuns: &store.TaskRunFilter{ExpectedStartTime: w, ID: unknown}})
		agree(fmt.Sprint("task runs by state in window ", i), got, want, err1, err2)
	}

	for _, interval := range []time.Duration{time.Hour, 2 * time.Hour} {
		q := store.HistoryQuery{Start: base.Add(-6 * time.Hour), Interval: interval, Buckets: int(12 * time.Hour / interval)}
		got, err1 := h.s.FlowRunHistory(h.ctx, ws, q)
		q.Runs = store.RunQuery{FlowRuns: &store.FlowRunFilter{ID: unknown}}
		want, err2 := h.s.FlowRunHistory(h.ctx, ws, q)
		agree(fmt.Sprint("history per ", interval), got, want, err1, err2)
	}
}

func testRunHistory(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	etl := h.flow(ws, "etl")
	clk := newClock()
	// Bucket 0: one run that waited ten minutes and ran for thirty, and one
	// that failed; bucket 1: two scheduled runs, one named Late.
	ran := h.flowRun(ws, etl.ID, "ran", scheduledFor(clk.at(0), clk.at(-time.Hour)))
	h.setFlowRunState(ws, ran.ID, stateAt(model.Pending, clk.at(9*time.Minute)), true)
	h.setFlowRunState(ws, ran.ID, stateAt(model.Running, clk.at(10*time.Minute)), true)
	h.setFlowRunState(ws, ran.ID, stateAt(model.Completed, clk.at(40*time.Minute)), true)
	failed := h.flowRun(ws, etl.ID, "failed", scheduledFor(clk.at(5*time.Minute), clk.at(-time.Hour)))
	h.setFlowRunState(ws, failed.ID, state(model.Failed), true)
	h.flowRun(ws, etl.ID, "waiting", scheduledFor(clk.at(time.Hour), clk.at(-time.Hour)))
	late := scheduledFor(clk.at(time.Hour+time.Minute), clk.at(-time.Hour))
	late.Name = ptr("Late")
	h.flowRun(ws, etl.ID, "late", late)
	h.flowRun(other, h.flow(other, "etl").ID, "theirs", scheduledFor(clk.at(0), clk.at(-time.Hour)))
	task := h.taskRun(ws, &ran.ID, "task", stateAt(model.Running, clk.at(11*time.Minute)))

	q := store.HistoryQuery{Start: clk.base, Interval: time.Hour, Buckets: 3}
	got, err := h.s.RunHistory(h.ctx, ws, false, q)
	h.must(err, "flow run history")
	if len(got) != 3 || !got[1].Start.Equal(clk.base.Add(time.Hour)) || !got[1].End.Equal(clk.base.Add(2*time.Hour)) {
		t.Fatalf("intervals: %+v", got)
	}
	summary := func(b store.RunHistoryInterval) string {
		var out []string
		for _, s := range b.States {
			out = append(out, fmt.Sprintf("%s/%s:%d", s.Type, s.Name, s.Count))
		}
		return strings.Join(out, " ")
	}
	for i, want := range []string{"COMPLETED/Completed:1 FAILED/Failed:1", "SCHEDULED/Late:1 SCHEDULED/Scheduled:1", ""} {
		if s := summary(got[i]); s != want {
			t.Errorf("interval %d: %q, want %q", i, s, want)
		}
	}
	if s := got[0].States[0]; s.SumEstimatedRunTime != 1800 || s.SumEstimatedLateness != 600 {
		t.Errorf("the run that ran: run time %v, lateness %v; want 1800 and 600", s.SumEstimatedRunTime, s.SumEstimatedLateness)
	}
	// A run that never started is late by the time since it was due.
	if s := got[1].States[1]; s.SumEstimatedLateness < (23 * time.Hour).Seconds() {
		t.Errorf("a waiting run due a day ago is late by %vs", s.SumEstimatedLateness)
	}
	tasks, err := h.s.RunHistory(h.ctx, ws, true, q)
	h.must(err, "task run history")
	if s := summary(tasks[0]); s != "RUNNING/Running:1" || summary(tasks[1]) != "" {
		t.Errorf("task history: %q, %q (task %v expected at %v)", s, summary(tasks[1]), task.ID, task.ExpectedStartTime)
	}
	// By start time, the run that waited ten minutes is still in bucket 0
	// and the runs that never started are in none.
	byStart := q
	byStart.ByStartTime = true
	started, err := h.s.RunHistory(h.ctx, ws, false, byStart)
	h.must(err, "flow run history by start time")
	if summary(started[0]) != "COMPLETED/Completed:1" || summary(started[1]) != "" {
		t.Errorf("history by start time: %q, %q", summary(started[0]), summary(started[1]))
	}
	theirs, err := h.s.RunHistory(h.ctx, other, false, q)
	h.must(err, "another workspace's history")
	if summary(theirs[0]) != "SCHEDULED/Scheduled:1" || summary(theirs[1]) != "" {
		t.Errorf("another workspace's history: %+v", theirs)
	}
	_, err = h.s.RunHistory(h.ctx, ws, false, store.HistoryQuery{Start: clk.base, Interval: time.Millisecond, Buckets: 3})
	h.wantCode(err, apperr.EInvalid, "a history of milliseconds")
}
