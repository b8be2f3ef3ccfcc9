package storetest

import (
	"fmt"
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
