package storetest

import (
	"encoding/json"
	"errors"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/orchestration"
	"github.com/praetorhq/praetor/internal/store"
)

// runEvents lists the ids and names of the events a flow run's transitions
// emitted, oldest first.
func (h *harness) runEvents(ws, run uuid.UUID) (eventIDs []uuid.UUID, names []string) {
	h.t.Helper()
	f := &store.EventFilter{Order: "ASC"}
	f.Resource = &struct {
		ID       []string `json:"id"`
		IDPrefix []string `json:"id_prefix"`
	}{ID: []string{"prefect.flow-run." + run.String()}}
	evs, _, err := h.s.ListEvents(h.ctx, ws, store.EventQuery{Filter: f})
	h.must(err, "list the run's events")
	for _, e := range evs {
		eventIDs = append(eventIDs, e.ID)
		names = append(names, e.Event)
	}
	return eventIDs, names
}

// proposeConcurrently starts n proposals while hold runs a write that holds
// the run, so that they queue behind it and then behind each other, and
// counts their outcomes. Each must be decided on the state the one before
// it left. hold pauses before it commits: a correct store passes however
// short the pause, which only makes likely the overlap the contract is about.
func proposeConcurrently(t *testing.T, n int, hold func(inside func()) error, propose func() (*orchestration.Result, error)) map[orchestration.Status]int {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		statuses = map[orchestration.Status]int{}
	)
	err := hold(func() {
		for range n {
			wg.Go(func() {
				res, err := propose()
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					t.Errorf("concurrent proposal: %v", err)
					return
				}
				statuses[res.Status]++
			})
		}
		time.Sleep(100 * time.Millisecond)
	})
	wg.Wait()
	if err != nil {
		t.Fatalf("the write holding the run: %v", err)
	}
	return statuses
}

// stateIDs lists the ids of states.
func stateIDs(states []*model.State) []uuid.UUID {
	out := make([]uuid.UUID, len(states))
	for i, s := range states {
		out[i] = s.ID
	}
	return out
}

func testCreateFlowRun(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	flow := h.flow(ws, "etl")
	r := &model.FlowRun{ID: newID(), FlowID: flow.ID, Name: "first", Tags: []string{"t"}, Parameters: map[string]any{"x": 1},
		FlowVersion: ptr("1.0"), WorkQueueName: ptr("default")}
	created, err := h.s.CreateFlowRun(h.ctx, ws, r, state(model.Pending))
	h.must(err, "create flow run")
	if !created || r.State == nil || r.State.Type != model.Pending || r.StateType == nil || *r.StateType != model.Pending || r.Created.IsZero() {
		t.Fatalf("created run: created %v, %+v", created, r)
	}
	got, err := h.s.GetFlowRun(h.ctx, ws, r.ID)
	h.must(err, "get flow run")
	if got.Name != "first" || got.FlowID != flow.ID || canonJSON(got.Parameters) != `{"x":1}` || !slices.Equal(got.Tags, []string{"t"}) ||
		*got.FlowVersion != "1.0" || *got.WorkQueueName != "default" || got.State == nil || got.State.ID != r.State.ID ||
		*got.StateID != r.State.ID || got.State.Name != "Pending" {
		t.Errorf("stored run %+v", got)
	}
	states, err := h.s.ListFlowRunStates(h.ctx, ws, r.ID)
	h.must(err, "list states")
	if len(states) != 1 || states[0].ID != r.State.ID || states[0].StateDetails.FlowRunID == nil || *states[0].StateDetails.FlowRunID != r.ID {
		t.Errorf("states of a new run: %+v", states)
	}
	// The initial state is an event of the run, under the state's id.
	if evs, names := h.runEvents(ws, r.ID); !slices.Equal(evs, ids(r.State.ID)) || !slices.Equal(names, []string{"prefect.flow-run.Pending"}) {
		t.Errorf("events of a new run: %v %v", evs, names)
	}

	// The initial state is forced, with its bookkeeping.
	running := h.flowRun(ws, flow.ID, "running", state(model.Running))
	if got, err := h.s.GetFlowRun(h.ctx, ws, running.ID); err != nil || got.RunCount != 1 || got.StartTime == nil || *got.StateType != model.Running {
		t.Errorf("a run created RUNNING: %+v (%v)", got, err)
	}
	at := model.At(time.Now().Add(time.Hour))
	later := h.flowRun(ws, flow.ID, "later", scheduledFor(at, model.Now()))
	if got, err := h.s.GetFlowRun(h.ctx, ws, later.ID); err != nil || !eqTime(got.ExpectedStartTime, &at) || !eqTime(got.NextScheduledStartTime, &at) {
		t.Errorf("a run created SCHEDULED for %v: %+v (%v)", at, got, err)
	}
	// Prefect never returns null collections.
	bare := h.flowRun(ws, flow.ID, "bare", state(model.Pending))
	if got, err := h.s.GetFlowRun(h.ctx, ws, bare.ID); err != nil || got.Parameters == nil || got.Context == nil || got.Tags == nil ||
		got.Labels == nil || got.JobVariables == nil || got.EmpiricalPolicy.PauseKeys == nil {
		t.Errorf("a run created without collections: %+v (%v)", got, err)
	}

	// An idempotency key already used for the flow returns that run
	// untouched.
	key := "nightly-2026-03-01"
	first := h.flowRun(ws, flow.ID, "idem-first", state(model.Pending), func(r *model.FlowRun) { r.IdempotencyKey = &key })
	dupID := newID()
	dup := &model.FlowRun{ID: dupID, FlowID: flow.ID, Name: "idem-second", IdempotencyKey: &key, Tags: []string{"changed"}}
	created, err = h.s.CreateFlowRun(h.ctx, ws, dup, state(model.Running))
	h.must(err, "create with a used idempotency key")
	if created || dup.ID != first.ID || dup.Name != "idem-first" || dup.State == nil || dup.State.ID != first.State.ID || len(dup.Tags) != 0 {
		t.Errorf("create with a used idempotency key: created %v, %+v", created, dup)
	}
	if got, err := h.s.GetFlowRun(h.ctx, ws, first.ID); err != nil || *got.StateType != model.Pending || got.Name != "idem-first" {
		t.Errorf("the first run after a repeated key: %+v (%v)", got, err)
	}
	_, err = h.s.GetFlowRun(h.ctx, ws, dupID)
	h.wantNotFound(err, "the run a repeated key did not create")
	if states, err := h.s.ListFlowRunStates(h.ctx, ws, first.ID); err != nil || len(states) != 1 {
		t.Errorf("states of the first run after a repeated key: %d (%v)", len(states), err)
	}
	byKey := store.RunQuery{FlowRuns: &store.FlowRunFilter{IdempotencyKey: &store.NameFilter{Any: []string{key}}}}
	if n, err := h.s.CountFlowRuns(h.ctx, ws, byKey); err != nil || n != 1 {
		t.Errorf("%d runs with the key (%v), want 1", n, err)
	}
	// Concurrent creations with one new key make one run, and every caller
	// gets it.
	raceKey := "race-" + newID().String()
	const racers = 8
	raced := make([]*model.FlowRun, racers)
	made := make([]bool, racers)
	errs := make([]error, racers)
	var wg sync.WaitGroup
	for i := range racers {
		wg.Go(func() {
			raced[i] = &model.FlowRun{ID: newID(), FlowID: flow.ID, Name: "racer", IdempotencyKey: &raceKey}
			made[i], errs[i] = h.s.CreateFlowRun(h.ctx, ws, raced[i], state(model.Pending))
		})
	}
	wg.Wait()
	creators := 0
	for i := range racers {
		h.must(errs[i], "create concurrently with one idempotency key")
		if made[i] {
			creators++
		}
		if raced[i].ID != raced[0].ID || raced[i].State == nil || raced[i].State.ID != raced[0].State.ID {
			t.Errorf("racer %d got run %s (state %v), racer 0 run %s", i, raced[i].ID, raced[i].State, raced[0].ID)
		}
	}
	raceQuery := store.RunQuery{FlowRuns: &store.FlowRunFilter{IdempotencyKey: &store.NameFilter{Any: []string{raceKey}}}}
	if n, err := h.s.CountFlowRuns(h.ctx, ws, raceQuery); err != nil || n != 1 || creators != 1 {
		t.Errorf("concurrent creations with one key: %d runs (%v), %d reported created; want 1 and 1", n, err, creators)
	}
	// The key is per flow, and per workspace.
	ml := h.flow(ws, "ml")
	h.flowRun(ws, ml.ID, "idem-other-flow", state(model.Pending), func(r *model.FlowRun) { r.IdempotencyKey = &key })
	theirs := h.flow(other, "etl")
	h.flowRun(other, theirs.ID, "idem-other-workspace", state(model.Pending), func(r *model.FlowRun) { r.IdempotencyKey = &key })

	// A flow that does not exist here is not found, and nothing is created.
	_, err = h.s.CreateFlowRun(h.ctx, ws, &model.FlowRun{ID: newID(), FlowID: newID(), Name: "orphan"}, state(model.Pending))
	h.wantNotFound(err, "a run of an unknown flow")
	_, err = h.s.CreateFlowRun(h.ctx, other, &model.FlowRun{ID: newID(), FlowID: flow.ID, Name: "hijack"}, state(model.Pending))
	h.wantNotFound(err, "a run of another workspace's flow")
	if n, err := h.s.CountFlowRuns(h.ctx, other, store.RunQuery{}); err != nil || n != 1 {
		t.Errorf("%d runs in the other workspace (%v), want 1", n, err)
	}
	// A taken id is a conflict, and the run keeps what it had.
	_, err = h.s.CreateFlowRun(h.ctx, ws, &model.FlowRun{ID: r.ID, FlowID: flow.ID, Name: "impostor"}, state(model.Running))
	h.wantCode(err, apperr.EConflict, "a run with a taken id")
	if got, err := h.s.GetFlowRun(h.ctx, ws, r.ID); err != nil || got.Name != "first" || *got.StateType != model.Pending {
		t.Errorf("the run after a refused duplicate: %+v (%v)", got, err)
	}
}

func testGetFlowRun(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	flow := h.flow(ws, "etl")
	r := h.flowRun(ws, flow.ID, "run", state(model.Running), func(r *model.FlowRun) {
		r.Parameters = map[string]any{"n": 3}
		r.Context = map[string]any{"c": true}
	})
	got, err := h.s.GetFlowRun(h.ctx, ws, r.ID)
	h.must(err, "get flow run")
	if got.ID != r.ID || got.FlowID != flow.ID || got.Name != "run" || canonJSON(got.Parameters) != `{"n":3}` || canonJSON(got.Context) != `{"c":true}` ||
		got.RunCount != 1 || !eqTime(got.StartTime, &r.State.Timestamp) || !got.Created.Equal(r.Created.Time) {
		t.Errorf("GetFlowRun: %+v, want %+v", got, r)
	}
	// With its current state.
	if s := got.State; s == nil || s.ID != r.State.ID || *got.StateID != s.ID || s.Type != model.Running || s.Name != "Running" ||
		!s.Timestamp.Equal(r.State.Timestamp.Time) || s.StateDetails.FlowRunID == nil || *s.StateDetails.FlowRunID != r.ID {
		t.Errorf("current state %+v, want %+v", got.State, r.State)
	}
	_, err = h.s.GetFlowRun(h.ctx, ws, newID())
	h.wantNotFound(err, "an unknown run")
	_, err = h.s.GetFlowRun(h.ctx, other, r.ID)
	h.wantNotFound(err, "a run through another workspace")
}

// sortedIDs returns n new ids in increasing order.
func sortedIDs(n int) []uuid.UUID {
	out := make([]uuid.UUID, n)
	for i := range out {
		out[i] = newID()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// flowRunQueries builds flow runs in a workspace and returns queries of them
// with their answers, for ListFlowRuns and CountFlowRuns.
func flowRunQueries(h *harness) (uuid.UUID, map[uuid.UUID]string, []listCase[store.RunQuery]) {
	h.t.Helper()
	ws, other := h.ws(), h.ws()
	clk := newClock()
	hr := func(n int) model.Time { return clk.at(time.Duration(n) * time.Hour) }
	etl, ml := h.flow(ws, "etl"), h.flow(ws, "ml", "team-a")
	// Ids ordered neither like names nor like creation: B < D < A < C.
	sid := sortedIDs(4)
	idB, idD, idA, idC := sid[0], sid[1], sid[2], sid[3]
	dep := newID()
	// C: scheduled for 2h, still waiting.
	c := h.flowRun(ws, ml.ID, "charlie", scheduledFor(hr(2), hr(0)), func(r *model.FlowRun) {
		r.ID, r.IdempotencyKey = idC, ptr("ik")
	})
	// A: scheduled for 1h, ran from 2h to 3h.
	a := h.flowRun(ws, etl.ID, "alpha", scheduledFor(hr(1), hr(0)), func(r *model.FlowRun) {
		r.ID, r.Tags = idA, []string{"prod", "nightly"}
	})
	h.setFlowRunState(ws, a.ID, stateAt(model.Running, hr(2)), true)
	h.setFlowRunState(ws, a.ID, stateAt(model.Completed, hr(3)), true)
	task := h.taskRun(ws, &a.ID, "t1", state(model.Pending))
	// D: a subflow of A's task, scheduled for 0h, failed at 5h.
	d := h.flowRun(ws, etl.ID, "delta", scheduledFor(hr(0), hr(0)), func(r *model.FlowRun) {
		r.ID, r.Tags, r.ParentTaskRunID = idD, []string{"nightly"}, &task.ID
	})
	h.setFlowRunState(ws, d.ID, stateAt(model.Failed, hr(5)), true)
	// B: of a deployment, scheduled for 3h, running since 4h.
	b := h.flowRun(ws, etl.ID, "bravo", scheduledFor(hr(3), hr(0)), func(r *model.FlowRun) {
		r.ID, r.Tags, r.DeploymentID, r.WorkQueueName, r.FlowVersion = idB, []string{"prod"}, &dep, ptr("wq-1"), ptr("1.0")
	})
	h.setFlowRunState(ws, b.ID, stateAt(model.Running, hr(4)), true)
	// Another workspace's run matches many of the filters, and is never listed.
	theirs := h.flow(other, "etl")
	h.flowRun(other, theirs.ID, "alpha", state(model.Running), func(r *model.FlowRun) {
		r.Tags, r.IdempotencyKey, r.WorkQueueName = []string{"prod", "nightly"}, ptr("ik"), ptr("wq-1")
	})

	names := map[uuid.UUID]string{a.ID: "alpha", b.ID: "bravo", c.ID: "charlie", d.ID: "delta"}
	runs := func(f *store.FlowRunFilter) store.RunQuery { return store.RunQuery{FlowRuns: f} }
	flows := func(f *store.FlowFilter) store.RunQuery { return store.RunQuery{Flows: f} }
	sorted := func(s string) store.RunQuery { return store.RunQuery{Sort: s} }
	stateOr := store.StateTypeIn(model.Running)
	stateOr.Operator, stateOr.Name = "or_", stateNames("Failed").Name
	notScheduled := &store.StateFilter{Type: &struct {
		Any    []model.StateType `json:"any_"`
		NotAny []model.StateType `json:"not_any_"`
	}{NotAny: []model.StateType{model.Scheduled}}}
	return ws, names, []listCase[store.RunQuery]{
		{name: "default: id desc", q: store.RunQuery{}, want: ids(c.ID, a.ID, d.ID, b.ID)},
		{name: "ID_DESC", q: sorted("ID_DESC"), want: ids(c.ID, a.ID, d.ID, b.ID)},
		{name: "NAME_ASC", q: sorted("NAME_ASC"), want: ids(a.ID, b.ID, c.ID, d.ID)},
		{name: "NAME_DESC", q: sorted("NAME_DESC"), want: ids(d.ID, c.ID, b.ID, a.ID)},
		{name: "EXPECTED_START_TIME_ASC", q: sorted("EXPECTED_START_TIME_ASC"), want: ids(d.ID, a.ID, c.ID, b.ID)},
		{name: "EXPECTED_START_TIME_DESC", q: sorted("EXPECTED_START_TIME_DESC"), want: ids(b.ID, c.ID, a.ID, d.ID)},
		{name: "START_TIME_ASC, never started last", q: sorted("START_TIME_ASC"), want: ids(a.ID, b.ID, d.ID, c.ID)},
		{name: "START_TIME_DESC, never started last", q: sorted("START_TIME_DESC"), want: ids(d.ID, b.ID, a.ID, c.ID)},
		{name: "END_TIME_DESC, unfinished last by id", q: sorted("END_TIME_DESC"), want: ids(d.ID, a.ID, b.ID, c.ID)},
		{name: "NEXT_SCHEDULED_START_TIME_ASC, unscheduled last by id", q: sorted("NEXT_SCHEDULED_START_TIME_ASC"), want: ids(c.ID, b.ID, d.ID, a.ID)},
		{name: "id any", q: runs(&store.FlowRunFilter{ID: &store.IDFilter{Any: ids(a.ID, c.ID)}}), want: ids(c.ID, a.ID)},
		{name: "id not any", q: runs(&store.FlowRunFilter{ID: &store.IDFilter{NotAny: ids(a.ID)}}), want: ids(c.ID, d.ID, b.ID)},
		{name: "an empty any matches nothing", q: runs(&store.FlowRunFilter{ID: &store.IDFilter{Any: []uuid.UUID{}}})},
		{name: "name any", q: runs(&store.FlowRunFilter{Name: &store.NameFilter{Any: []string{"alpha", "delta"}}}), want: ids(a.ID, d.ID)},
		{name: "name like, ignoring case", q: runs(&store.FlowRunFilter{Name: &store.NameFilter{Like: ptr("RAV")}}), want: ids(b.ID)},
		{name: "name starts with", q: runs(&store.FlowRunFilter{Name: &store.NameFilter{StartsWith: []string{"al", "ch"}}}), want: ids(c.ID, a.ID)},
		{name: "tags all", q: runs(&store.FlowRunFilter{Tags: &store.TagsFilter{All: []string{"prod", "nightly"}}}), want: ids(a.ID)},
		{name: "tags any", q: runs(&store.FlowRunFilter{Tags: &store.TagsFilter{Any: []string{"nightly"}}}), want: ids(a.ID, d.ID)},
		{name: "no tags", q: runs(&store.FlowRunFilter{Tags: &store.TagsFilter{IsNull: ptr(true)}}), want: ids(c.ID)},
		{name: "deployment any", q: runs(&store.FlowRunFilter{DeploymentID: &store.NullableIDFilter{Any: ids(dep)}}), want: ids(b.ID)},
		{name: "with a deployment", q: runs(&store.FlowRunFilter{DeploymentID: &store.NullableIDFilter{IsNull: ptr(false)}}), want: ids(b.ID)},
		{name: "without a deployment", q: runs(&store.FlowRunFilter{DeploymentID: &store.NullableIDFilter{IsNull: ptr(true)}}), want: ids(c.ID, a.ID, d.ID)},
		{name: "work queue name", q: runs(&store.FlowRunFilter{WorkQueueName: &store.NameFilter{Any: []string{"wq-1"}}}), want: ids(b.ID)},
		{name: "state type", q: runs(&store.FlowRunFilter{State: store.StateTypeIn(model.Running)}), want: ids(b.ID)},
		{name: "state type not any", q: runs(&store.FlowRunFilter{State: notScheduled}), want: ids(a.ID, d.ID, b.ID)},
		{name: "state name", q: runs(&store.FlowRunFilter{State: stateNames("Failed")}), want: ids(d.ID)},
		{name: "state type or name", q: runs(&store.FlowRunFilter{State: stateOr}), want: ids(d.ID, b.ID)},
		{name: "flow version", q: runs(&store.FlowRunFilter{FlowVersion: &store.NameFilter{Any: []string{"1.0"}}}), want: ids(b.ID)},
		{name: "started after, inclusive", q: runs(&store.FlowRunFilter{StartTime: &store.TimeFilter{After: ptr(hr(4))}}), want: ids(d.ID, b.ID)},
		{name: "started before, inclusive", q: runs(&store.FlowRunFilter{StartTime: &store.TimeFilter{Before: ptr(hr(2))}}), want: ids(a.ID)},
		{name: "never started", q: runs(&store.FlowRunFilter{StartTime: &store.TimeFilter{IsNull: ptr(true)}}), want: ids(c.ID)},
		{name: "ended", q: runs(&store.FlowRunFilter{EndTime: &store.TimeFilter{IsNull: ptr(false)}}), want: ids(a.ID, d.ID)},
		{name: "expected in a window, inclusive", q: runs(&store.FlowRunFilter{ExpectedStartTime: &store.TimeFilter{After: ptr(hr(1)), Before: ptr(hr(2))}}), want: ids(c.ID, a.ID)},
		{name: "next scheduled before", q: runs(&store.FlowRunFilter{NextScheduledStartTime: &store.TimeFilter{Before: ptr(hr(2))}}), want: ids(c.ID)},
		{name: "parent task run", q: runs(&store.FlowRunFilter{ParentTaskRunID: &store.NullableIDFilter{Any: ids(task.ID)}}), want: ids(d.ID)},
		{name: "subflows", q: runs(&store.FlowRunFilter{ParentTaskRunID: &store.NullableIDFilter{IsNull: ptr(false)}}), want: ids(d.ID)},
		{name: "not subflows", q: runs(&store.FlowRunFilter{ParentTaskRunID: &store.NullableIDFilter{IsNull: ptr(true)}}), want: ids(c.ID, a.ID, b.ID)},
		{name: "parent flow run", q: runs(&store.FlowRunFilter{ParentFlowRunID: &store.IDFilter{Any: ids(a.ID)}}), want: ids(d.ID)},
		{name: "idempotency key", q: runs(&store.FlowRunFilter{IdempotencyKey: &store.NameFilter{Any: []string{"ik"}}}), want: ids(c.ID)},
		{name: "or", q: runs(&store.FlowRunFilter{Operator: "or_", Name: &store.NameFilter{Any: []string{"alpha"}}, Tags: &store.TagsFilter{IsNull: ptr(true)}}), want: ids(c.ID, a.ID)},
		{name: "and", q: runs(&store.FlowRunFilter{Tags: &store.TagsFilter{Any: []string{"prod"}}, State: store.StateTypeIn(model.Running)}), want: ids(b.ID)},
		{name: "flow name", q: flows(&store.FlowFilter{Name: &store.NameFilter{Any: []string{"ml"}}}), want: ids(c.ID)},
		{name: "flow id", q: flows(&store.FlowFilter{ID: &store.IDFilter{Any: ids(etl.ID)}}), want: ids(a.ID, d.ID, b.ID)},
		{name: "flow id and name", q: flows(&store.FlowFilter{ID: &store.IDFilter{Any: ids(etl.ID)}, Name: &store.NameFilter{Any: []string{"etl"}}}), want: ids(a.ID, d.ID, b.ID)},
		{name: "flow id not any", q: flows(&store.FlowFilter{ID: &store.IDFilter{NotAny: ids(etl.ID)}}), want: ids(c.ID)},
		{name: "flow id of another workspace", q: flows(&store.FlowFilter{ID: &store.IDFilter{Any: ids(theirs.ID)}})},
		{name: "no flow id", q: flows(&store.FlowFilter{ID: &store.IDFilter{Any: []uuid.UUID{}}})},
		{name: "flow tags", q: flows(&store.FlowFilter{Tags: &store.TagsFilter{All: []string{"team-a"}}}), want: ids(c.ID)},
		{name: "with a task run named", q: store.RunQuery{TaskRuns: &store.TaskRunFilter{Name: &store.NameFilter{Any: []string{"t1"}}}}, want: ids(a.ID)},
		{name: "page", q: store.RunQuery{Sort: "NAME_ASC", Limit: 2, Offset: 1}, want: ids(b.ID, c.ID), total: 4},
		{name: "past the end", q: store.RunQuery{Offset: 10}, total: 4},
	}
}

func flowRunID(r *model.FlowRun) uuid.UUID { return r.ID }

func testListFlowRuns(t *testing.T, h *harness) {
	ws, names, cases := flowRunQueries(h)
	list := func(q store.RunQuery) ([]*model.FlowRun, error) { return h.s.ListFlowRuns(h.ctx, ws, q) }
	checkList(h, names, flowRunID, list, nil, cases)
	_, err := h.s.ListFlowRuns(h.ctx, ws, store.RunQuery{Sort: "BOGUS"})
	h.wantCode(err, apperr.EInvalid, "an unknown sort")
	// Listed runs carry their current state.
	all, err := h.s.ListFlowRuns(h.ctx, ws, store.RunQuery{})
	h.must(err, "list flow runs")
	for _, r := range all {
		if r.State == nil || r.StateID == nil || r.State.ID != *r.StateID || r.State.Type != *r.StateType {
			t.Errorf("listed run %s: state %+v, state id %v", r.Name, r.State, r.StateID)
		}
	}
}

func testCountFlowRuns(t *testing.T, h *harness) {
	ws, names, cases := flowRunQueries(h)
	list := func(q store.RunQuery) ([]*model.FlowRun, error) { return h.s.ListFlowRuns(h.ctx, ws, q) }
	count := func(q store.RunQuery) (int, error) { return h.s.CountFlowRuns(h.ctx, ws, q) }
	checkList(h, names, flowRunID, list, count, cases)
	if n, err := h.s.CountFlowRuns(h.ctx, h.ws(), store.RunQuery{}); err != nil || n != 0 {
		t.Errorf("runs of an empty workspace: %d (%v)", n, err)
	}
}

func testUpdateFlowRun(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	flow := h.flow(ws, "etl")
	r := h.flowRun(ws, flow.ID, "run", state(model.Pending), func(r *model.FlowRun) {
		r.Tags, r.Parameters = []string{"x"}, map[string]any{"a": 1}
	})
	h.must(h.s.UpdateFlowRun(h.ctx, ws, r.ID, func(fr *model.FlowRun) error {
		if fr.Name != "run" || fr.State == nil || fr.State.ID != r.State.ID {
			t.Errorf("the patch got %+v, not the stored run", fr)
		}
		fr.Name, fr.Tags, fr.Parameters, fr.InfrastructurePID = "renamed", []string{"y"}, map[string]any{"b": 2}, ptr("pid-1")
		return nil
	}), "update flow run")
	got, err := h.s.GetFlowRun(h.ctx, ws, r.ID)
	h.must(err, "get flow run")
	if got.Name != "renamed" || !slices.Equal(got.Tags, []string{"y"}) || canonJSON(got.Parameters) != `{"b":2}` ||
		got.InfrastructurePID == nil || *got.InfrastructurePID != "pid-1" || *got.StateID != r.State.ID ||
		!got.Created.Equal(r.Created.Time) || !got.Updated.After(r.Updated.Time) {
		t.Errorf("after update: %+v (before %+v)", got, r)
	}

	// A failing patch returns its error and saves nothing.
	boom := errors.New("boom")
	err = h.s.UpdateFlowRun(h.ctx, ws, r.ID, func(fr *model.FlowRun) error {
		fr.Name = "lost"
		return boom
	})
	if !errors.Is(err, boom) {
		t.Errorf("a failing patch: %v, want its error", err)
	}
	err = h.s.UpdateFlowRun(h.ctx, ws, r.ID, func(fr *model.FlowRun) error {
		fr.Name = "lost"
		return apperr.Errorf(apperr.EInvalid, "no")
	})
	h.wantCode(err, apperr.EInvalid, "a patch refusing with an application error")
	h.wantNotFound(h.s.UpdateFlowRun(h.ctx, ws, newID(), func(*model.FlowRun) error { return nil }), "update an unknown run")
	h.wantNotFound(h.s.UpdateFlowRun(h.ctx, other, r.ID, func(fr *model.FlowRun) error {
		fr.Name = "hijacked"
		return nil
	}), "update through another workspace")
	if got, err := h.s.GetFlowRun(h.ctx, ws, r.ID); err != nil || got.Name != "renamed" {
		t.Errorf("after refused updates: %+v (%v)", got, err)
	}
}

func testDeleteFlowRuns(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	flow := h.flow(ws, "etl")
	r := h.flowRun(ws, flow.ID, "doomed", state(model.Running))
	done := h.setFlowRunState(ws, r.ID, state(model.Completed), false)
	keep := h.flowRun(ws, flow.ID, "kept", state(model.Running))
	task := h.taskRun(ws, &r.ID, "task", state(model.Running))
	keptTask := h.taskRun(ws, &keep.ID, "kept-task", state(model.Running))
	h.wantNotFound(store.DeleteOne(h.s.DeleteFlowRuns)(h.ctx, other, r.ID), "delete through another workspace")
	if _, err := h.s.GetFlowRun(h.ctx, ws, r.ID); err != nil {
		t.Fatalf("a refused delete removed the run: %v", err)
	}
	h.must(store.DeleteOne(h.s.DeleteFlowRuns)(h.ctx, ws, r.ID), "delete flow run")
	_, err := h.s.GetFlowRun(h.ctx, ws, r.ID)
	h.wantNotFound(err, "a deleted run")
	// Its states go with it.
	if states, err := h.s.ListFlowRunStates(h.ctx, ws, r.ID); err != nil || len(states) != 0 {
		t.Errorf("states of a deleted run: %v (%v)", states, err)
	}
	for _, id := range []uuid.UUID{r.State.ID, done.ID} {
		_, err = h.s.GetFlowRunState(h.ctx, ws, id)
		h.wantNotFound(err, "a state of a deleted run")
	}
	if _, err := h.s.GetFlowRun(h.ctx, ws, keep.ID); err != nil {
		t.Errorf("deleting a run deleted another: %v", err)
	}
	// Its task runs and their states go with it, as in Prefect; another
	// run's stay.
	_, err = h.s.GetTaskRun(h.ctx, ws, task.ID)
	h.wantNotFound(err, "a task run of a deleted run")
	_, err = h.s.GetTaskRunState(h.ctx, ws, task.State.ID)
	h.wantNotFound(err, "a task run state of a deleted run")
	if _, err := h.s.GetTaskRun(h.ctx, ws, keptTask.ID); err != nil {
		t.Errorf("deleting a run deleted another run's task run: %v", err)
	}
	h.wantNotFound(store.DeleteOne(h.s.DeleteFlowRuns)(h.ctx, ws, r.ID), "delete it again")
	a, b := h.flowRun(ws, flow.ID, "a", state(model.Pending)), h.flowRun(ws, flow.ID, "b", state(model.Pending))
	theirs := h.flowRun(other, h.flow(other, "etl").ID, "theirs", state(model.Pending))
	checkBulkDelete(h, "flow run", h.s.DeleteFlowRuns, ws, []uuid.UUID{a.ID, b.ID}, other, theirs.ID, func(ws, id uuid.UUID) error {
		_, err := h.s.GetFlowRun(h.ctx, ws, id)
		return err
	})
}

func testSetFlowRunState(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	flow := h.flow(ws, "etl")
	r := h.flowRun(ws, flow.ID, "run", state(model.Pending))
	get := func(id uuid.UUID) *model.FlowRun {
		t.Helper()
		got, err := h.s.GetFlowRun(h.ctx, ws, id)
		h.must(err, "get flow run")
		return got
	}
	set := func(s model.StateCreate, force bool) *orchestration.Result {
		t.Helper()
		res, err := h.s.SetFlowRunState(h.ctx, ws, r.ID, s, force)
		h.must(err, "set flow run state")
		return res
	}

	// An accepted state is written with its bookkeeping.
	res := set(state(model.Running), false)
	if res.Status != orchestration.Accept || !res.Written || res.State == nil || res.State.Type != model.Running ||
		res.State.StateDetails.FlowRunID == nil || *res.State.StateDetails.FlowRunID != r.ID {
		t.Fatalf("PENDING → RUNNING: %+v", res)
	}
	running := res.State
	if got := get(r.ID); *got.StateID != running.ID || *got.StateType != model.Running || got.RunCount != 1 || !eqTime(got.StartTime, &running.Timestamp) {
		t.Errorf("after RUNNING: %+v", got)
	}
	// A decision that writes nothing changes nothing, and answers the
	// current state.
	res = set(state(model.Pending), false)
	if res.Status != orchestration.Abort || res.Written || res.State == nil || res.State.ID != running.ID {
		t.Errorf("RUNNING → PENDING: %+v", res)
	}
	if got := get(r.ID); *got.StateID != running.ID {
		t.Errorf("an aborted transition changed the state to %s", *got.StateName)
	}
	// A repeated transition id is rejected.
	tid := newID()
	res = set(model.StateCreate{Type: model.Completed, StateDetails: &model.StateDetails{TransitionID: &tid}}, false)
	if res.Status != orchestration.Accept {
		t.Fatalf("RUNNING → COMPLETED: %+v", res)
	}
	completed := res.State
	if res = set(model.StateCreate{Type: model.Running, StateDetails: &model.StateDetails{TransitionID: &tid}}, false); res.Status != orchestration.Reject || res.Written {
		t.Errorf("a repeated transition id: %+v", res)
	}
	// Force writes what the rules refuse.
	if res = set(state(model.Crashed), false); res.Status != orchestration.Abort || res.Written {
		t.Errorf("COMPLETED → CRASHED: %+v", res)
	}
	res = set(state(model.Crashed), true)
	if res.Status != orchestration.Accept || !res.Written {
		t.Errorf("COMPLETED → CRASHED, forced: %+v", res)
	}
	crashed := res.State
	if got := get(r.ID); *got.StateID != crashed.ID || *got.StateType != model.Crashed {
		t.Errorf("after a forced CRASHED: %+v", got)
	}
	// Every written state is in the history and is an event of the run,
	// under the state's id; refused proposals are neither.
	states, err := h.s.ListFlowRunStates(h.ctx, ws, r.ID)
	h.must(err, "list states")
	written := ids(r.State.ID, running.ID, completed.ID, crashed.ID)
	if got := stateIDs(states); !slices.Equal(got, written) {
		t.Errorf("history %v, want %v", got, written)
	}
	evs, names := h.runEvents(ws, r.ID)
	if want := []string{"prefect.flow-run.Pending", "prefect.flow-run.Running", "prefect.flow-run.Completed", "prefect.flow-run.Crashed"}; !slices.Equal(evs, written) || !slices.Equal(names, want) {
		t.Errorf("events %v %v, want %v %v", evs, names, written, want)
	}

	// A rule's replacement state is written: a failure with retries left
	// becomes AwaitingRetry.
	retried := h.flowRun(ws, flow.ID, "retried", state(model.Running), func(r *model.FlowRun) { r.EmpiricalPolicy.Retries = ptr(1) })
	res, err = h.s.SetFlowRunState(h.ctx, ws, retried.ID, state(model.Failed), false)
	h.must(err, "fail a run with retries")
	if res.Status != orchestration.Reject || !res.Written || res.State.Type != model.Scheduled || res.State.Name != "AwaitingRetry" {
		t.Errorf("a failure with retries left: %+v", res)
	}
	if got := get(retried.ID); *got.StateName != "AwaitingRetry" || *got.StateID != res.State.ID {
		t.Errorf("after AwaitingRetry: %+v", got)
	}
	// A run scheduled for later waits.
	later := h.flowRun(ws, flow.ID, "later", scheduledFor(model.At(time.Now().Add(time.Hour)), model.Now()))
	res, err = h.s.SetFlowRunState(h.ctx, ws, later.ID, state(model.Running), false)
	h.must(err, "start a run scheduled for later")
	if res.Status != orchestration.Wait || res.Written || res.Details.DelaySeconds == nil || *res.Details.DelaySeconds <= 0 {
		t.Errorf("RUNNING before the scheduled time: %+v", res)
	}

	// Unknown here: not found, and nothing written.
	_, err = h.s.SetFlowRunState(h.ctx, ws, newID(), state(model.Running), true)
	h.wantNotFound(err, "an unknown run")
	_, err = h.s.SetFlowRunState(h.ctx, other, r.ID, state(model.Running), true)
	h.wantNotFound(err, "a run through another workspace")
	if got := get(r.ID); *got.StateID != crashed.ID {
		t.Errorf("a refused transition changed the run: %+v", got)
	}
	if evs, _ := h.runEvents(other, r.ID); len(evs) != 0 {
		t.Errorf("the other workspace got events %v", evs)
	}

	// A subflow's states are mirrored onto the task run that tracks it.
	parent := h.flowRun(ws, flow.ID, "parent", state(model.Running))
	tracker := h.taskRun(ws, &parent.ID, "subflow", state(model.Pending))
	child := h.flowRun(ws, flow.ID, "child", state(model.Pending), func(r *model.FlowRun) { r.ParentTaskRunID = &tracker.ID })
	h.setFlowRunState(ws, child.ID, state(model.Running), false)
	tr, err := h.s.GetTaskRun(h.ctx, ws, tracker.ID)
	h.must(err, "get the tracking task run")
	if *tr.StateType != model.Running || tr.State.StateDetails.ChildFlowRunID == nil || *tr.State.StateDetails.ChildFlowRunID != child.ID ||
		tr.State.StateDetails.TaskRunID == nil || *tr.State.StateDetails.TaskRunID != tracker.ID {
		t.Errorf("the tracking task run after its subflow started: %+v, state %+v", tr, tr.State)
	}

	// Concurrent claims of one run: PENDING is the lock, exactly one wins.
	claimed := h.flowRun(ws, flow.ID, "claimed", scheduledFor(model.At(time.Now().Add(-time.Minute)), model.Now()))
	hold := func(inside func()) error {
		return h.s.UpdateFlowRun(h.ctx, ws, claimed.ID, func(*model.FlowRun) error { inside(); return nil })
	}
	statuses := proposeConcurrently(t, 8, hold, func() (*orchestration.Result, error) {
		return h.s.SetFlowRunState(h.ctx, ws, claimed.ID, state(model.Pending), false)
	})
	if statuses[orchestration.Accept] != 1 || statuses[orchestration.Abort] != 7 {
		t.Errorf("8 concurrent claims: %v, want 1 %s and 7 %s", statuses, orchestration.Accept, orchestration.Abort)
	}
	if states, err := h.s.ListFlowRunStates(h.ctx, ws, claimed.ID); err != nil || len(states) != 2 {
		t.Errorf("states of the claimed run: %d (%v), want 2", len(states), err)
	}
	testDeploymentConcurrency(t, h)
}

func testResumeFlowRun(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	flow := h.flow(ws, "etl")
	resume := func(ws, id uuid.UUID) *orchestration.Result {
		t.Helper()
		res, err := h.s.ResumeFlowRun(h.ctx, ws, id, nil)
		h.must(err, "resume flow run")
		return res
	}
	dep := h.deployment(ws, flow.ID, "nightly")
	paused := func(name string, reschedule bool) (*model.FlowRun, *model.State) {
		t.Helper()
		// Only a deployment's run can be paused to be rescheduled.
		r := h.flowRun(ws, flow.ID, name, state(model.Running), func(r *model.FlowRun) { r.DeploymentID = &dep.ID })
		p := h.setFlowRunState(ws, r.ID, model.StateCreate{Type: model.Paused, StateDetails: &model.StateDetails{PauseReschedule: reschedule}}, false)
		return r, p
	}

	// A paused run resumes to RUNNING, written with its event.
	r, _ := paused("in-process", false)
	res := resume(ws, r.ID)
	if res.Status != orchestration.Accept || !res.Written || res.State.Type != model.Running {
		t.Fatalf("resume a paused run: %+v", res)
	}
	if got, err := h.s.GetFlowRun(h.ctx, ws, r.ID); err != nil || *got.StateID != res.State.ID {
		t.Errorf("after resuming: %+v, %v", got, err)
	}
	if evs, names := h.runEvents(ws, r.ID); len(evs) != 3 || evs[2] != res.State.ID || names[2] != "prefect.flow-run.Running" {
		t.Errorf("events after resuming: %v %v", evs, names)
	}
	// A pause that asked to be rescheduled resumes to SCHEDULED "Resuming",
	// for a worker to pick up.
	rescheduled, _ := paused("rescheduled", true)
	res = resume(ws, rescheduled.ID)
	if res.Status != orchestration.Accept || !res.Written || res.State.Type != model.Scheduled || res.State.Name != "Resuming" {
		t.Errorf("resume a run paused for rescheduling: %+v", res)
	}
	// A run that is not paused (any more) is aborted without a state, as
	// Prefect's server answers, and nothing is written.
	res = resume(ws, r.ID)
	if res.Status != orchestration.Abort || res.Written || res.State != nil ||
		res.Details.Type != "abort_details" || res.Details.Reason == nil || *res.Details.Reason != "Cannot resume a flow run that is not paused." {
		t.Errorf("resume a running run: %+v", res)
	}
	if states, err := h.s.ListFlowRunStates(h.ctx, ws, r.ID); err != nil || len(states) != 3 {
		t.Errorf("history after a refused resume: %d states, %v", len(states), err)
	}

	// A pause that waits for input: the input is checked against the schema
	// the client stored, and kept under the response key when it fits.
	keyset := map[string]any{"description": "paused-1-description", "response": "paused-1-response", "schema": "paused-1-schema"}
	waiting := h.flowRun(ws, flow.ID, "waiting", state(model.Running))
	pausedState := h.setFlowRunState(ws, waiting.ID, model.StateCreate{Type: model.Paused, StateDetails: &model.StateDetails{RunInputKeyset: keyset}}, false)
	// reason is how the rejection's reason starts (the schema check words
	// the rest).
	refused := func(input map[string]any, reason string) {
		t.Helper()
		res, err := h.s.ResumeFlowRun(h.ctx, ws, waiting.ID, input)
		h.must(err, "resume with input")
		if res.Status != orchestration.Reject || res.Written || res.State == nil || res.State.ID != pausedState.ID ||
			res.Details.Type != "abort_details" || !strings.HasPrefix(deref(res.Details.Reason), reason) {
			t.Errorf("resume with %v: %+v (reason %q), want a rejection: %s", input, res, deref(res.Details.Reason), reason)
		}
		if got, err := h.s.GetFlowRun(h.ctx, ws, waiting.ID); err != nil || *got.StateID != pausedState.ID {
			t.Errorf("a refused resume changed the run: %+v, %v", got, err)
		}
		if keys := h.inputKeys(ws, waiting.ID, "", nil, 10); slices.Contains(keys, "paused-1-response") {
			t.Errorf("a refused resume stored its input: %v", keys)
		}
	}
	refused(map[string]any{"name": "x"}, "Run input schema not found.")
	h.flowRunInput(ws, waiting.ID, "paused-1-schema", `{"title":"U","type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"}},"required":["name","age"]}`)
	refused(map[string]any{"name": "x"}, "Reason: Validation failed. Failure reason: ")
	refused(map[string]any{"name": "x", "age": "old"}, "Reason: Validation failed for field 'age'. Failure reason: ")
	refused(nil, "Reason: Validation failed. Failure reason: ")
	res = resume(ws, waiting.ID)
	if res.Status != orchestration.Reject {
		t.Errorf("resume without input: %+v", res)
	}
	res, err := h.s.ResumeFlowRun(h.ctx, ws, waiting.ID, map[string]any{"name": "x", "age": 3})
	h.must(err, "resume with good input")
	if res.Status != orchestration.Accept || !res.Written || res.State.Type != model.Running {
		t.Errorf("resume with good input: %+v", res)
	}
	if got, err := h.s.GetFlowRunInput(h.ctx, ws, waiting.ID, "paused-1-response"); err != nil || canonJSON(json.RawMessage(got.Value)) != `{"age":3,"name":"x"}` {
		t.Errorf("the stored response: %+v (%v)", got, err)
	}

	// Unknown here: not found, and the paused run stays paused.
	again, p := paused("again", false)
	_, err = h.s.ResumeFlowRun(h.ctx, ws, newID(), nil)
	h.wantNotFound(err, "an unknown run")
	_, err = h.s.ResumeFlowRun(h.ctx, other, again.ID, nil)
	h.wantNotFound(err, "a run through another workspace")
	if got, err := h.s.GetFlowRun(h.ctx, ws, again.ID); err != nil || *got.StateID != p.ID {
		t.Errorf("a resume through another workspace changed the run: %+v, %v", got, err)
	}
}

func testListFlowRunStates(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	flow := h.flow(ws, "etl")
	r := h.flowRun(ws, flow.ID, "run", state(model.Pending))
	sibling := h.flowRun(ws, flow.ID, "sibling", state(model.Pending))
	running := h.setFlowRunState(ws, r.ID, state(model.Running), false)
	// A state proposed with an earlier timestamp is still the newest: a run's
	// history is in the order its states were written.
	late := h.setFlowRunState(ws, r.ID, stateAt(model.Completed, newClock().at(0)), true)
	states, err := h.s.ListFlowRunStates(h.ctx, ws, r.ID)
	h.must(err, "list states")
	if got, want := stateIDs(states), ids(r.State.ID, running.ID, late.ID); !slices.Equal(got, want) {
		t.Errorf("history %v, want %v", got, want)
	}
	for i := 1; i < len(states); i++ {
		if !states[i].Timestamp.After(states[i-1].Timestamp.Time) {
			t.Errorf("state %d at %v is not after state %d at %v", i, states[i].Timestamp, i-1, states[i-1].Timestamp)
		}
	}
	if got, err := h.s.ListFlowRunStates(h.ctx, ws, sibling.ID); err != nil || !slices.Equal(stateIDs(got), ids(sibling.State.ID)) {
		t.Errorf("the sibling's history: %v (%v)", stateIDs(got), err)
	}
	if got, err := h.s.ListFlowRunStates(h.ctx, other, r.ID); err != nil || len(got) != 0 {
		t.Errorf("history through another workspace: %v (%v)", got, err)
	}
}

func testGetFlowRunState(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	flow := h.flow(ws, "etl")
	r := h.flowRun(ws, flow.ID, "run", state(model.Running))
	data := json.RawMessage(`{"type":"unpersisted","n":12345678901234567890}`)
	s := h.setFlowRunState(ws, r.ID, model.StateCreate{Type: model.Failed, Name: ptr("Oops"), Message: ptr("boom"), Data: data}, true)
	got, err := h.s.GetFlowRunState(h.ctx, ws, s.ID)
	h.must(err, "get flow run state")
	if got.ID != s.ID || got.Type != model.Failed || got.Name != "Oops" || got.Message == nil || *got.Message != "boom" ||
		canonJSON(got.Data) != canonJSON(data) || !got.Timestamp.Equal(s.Timestamp.Time) ||
		got.StateDetails.FlowRunID == nil || *got.StateDetails.FlowRunID != r.ID {
		t.Errorf("GetFlowRunState: %+v, want %+v", got, s)
	}
	_, err = h.s.GetFlowRunState(h.ctx, ws, newID())
	h.wantNotFound(err, "an unknown state")
	_, err = h.s.GetFlowRunState(h.ctx, other, s.ID)
	h.wantNotFound(err, "a state through another workspace")
	task := h.taskRun(ws, &r.ID, "task", state(model.Pending))
	_, err = h.s.GetFlowRunState(h.ctx, ws, task.State.ID)
	h.wantNotFound(err, "a task run's state as a flow run's")
}
