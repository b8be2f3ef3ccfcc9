package storetest

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

// event is a client event.
func event(id uuid.UUID, occurred model.Time, name, resource string, related ...model.Resource) *model.Event {
	if related == nil {
		related = []model.Resource{}
	}
	return &model.Event{ID: id, Occurred: occurred, Event: name, Resource: model.Resource{"prefect.resource.id": resource},
		Related: related, Payload: json.RawMessage(`{}`), Received: model.Now()}
}

// taskRunRecord is a task run and its new state as the task-run recorder
// derives them from a client event: the run carries the state and its
// tracking fields; the state's id is the event's.
func taskRunRecord(id uuid.UUID, flowRun *uuid.UUID, key string, stateID uuid.UUID, typ model.StateType, ts model.Time) store.TaskRunRecord {
	s := &model.State{ID: stateID, Type: typ, Name: typ.DefaultName(), Timestamp: ts,
		StateDetails: model.StateDetails{TaskRunID: &id, FlowRunID: flowRun}}
	r := &model.TaskRun{ID: id, FlowRunID: flowRun, Name: key + "-0", TaskKey: key, DynamicKey: "0"}
	name := s.Name
	r.StateID, r.StateType, r.StateName, r.StateTimestamp, r.State = &s.ID, &typ, &name, ts.Ptr(), s
	if typ != model.Pending {
		r.RunCount, r.StartTime = 1, ts.Ptr()
	}
	return store.TaskRunRecord{Run: r, State: s}
}

func testIngestEvents(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	clk := newClock()
	first := event(newID(), clk.at(time.Second), "custom.one", "my.resource",
		model.Resource{"prefect.resource.id": "prefect.flow.x", "prefect.resource.role": "flow"})
	first.Payload = json.RawMessage(`{"a":1,"big":12345678901234567890}`)
	follows := newID()
	first.Follows = &follows
	h.must(h.s.IngestEvents(h.ctx, ws, []*model.Event{first}, nil), "ingest events")
	got, total, err := h.s.ListEvents(h.ctx, ws, store.EventQuery{})
	h.must(err, "list events")
	if total != 1 || len(got) != 1 {
		t.Fatalf("%d events (total %d), want 1", len(got), total)
	}
	e := got[0]
	if e.ID != first.ID || !e.Occurred.Equal(first.Occurred.Time) || e.Event != "custom.one" || canonJSON(e.Resource) != canonJSON(first.Resource) ||
		canonJSON(e.Related) != canonJSON(first.Related) || canonJSON(e.Payload) != canonJSON(first.Payload) ||
		e.Follows == nil || *e.Follows != follows || !e.Received.Equal(first.Received.Time) {
		t.Errorf("stored event %+v, want %+v", e, first)
	}
	// Idempotent on id: a redelivered event, or one twice in a batch, is
	// stored once, as first received.
	again := *first
	again.Payload = json.RawMessage(`{"a":2}`)
	second := event(newID(), clk.at(2*time.Second), "custom.two", "my.resource")
	h.must(h.s.IngestEvents(h.ctx, ws, []*model.Event{&again, second, second}, nil), "ingest redelivered events")
	got, total, err = h.s.ListEvents(h.ctx, ws, store.EventQuery{Filter: &store.EventFilter{Order: "ASC"}})
	h.must(err, "list events")
	if total != 2 || len(got) != 2 || got[0].ID != first.ID || canonJSON(got[0].Payload) != canonJSON(first.Payload) || got[1].ID != second.ID {
		t.Errorf("after redelivery: total %d, %s", total, canonJSON(got))
	}
	// Ids are per workspace: the same id elsewhere is another workspace's
	// event.
	theirs := *first
	theirs.Event = "theirs"
	h.must(h.s.IngestEvents(h.ctx, other, []*model.Event{&theirs}, nil), "ingest the same id elsewhere")
	if got, total, err := h.s.ListEvents(h.ctx, other, store.EventQuery{}); err != nil || total != 1 || got[0].Event != "theirs" {
		t.Errorf("the other workspace's events: %+v, total %d (%v)", got, total, err)
	}
	if got, _, err := h.s.ListEvents(h.ctx, ws, store.EventQuery{Filter: &store.EventFilter{Order: "ASC"}}); err != nil || got[0].Event != "custom.one" {
		t.Errorf("the first workspace's event after the other's: %+v (%v)", got, err)
	}
	// An event without related resources or payload has empty ones.
	bare := &model.Event{ID: newID(), Occurred: clk.at(0), Event: "bare", Resource: model.Resource{"prefect.resource.id": "r"}, Received: model.Now()}
	h.must(h.s.IngestEvents(h.ctx, other, []*model.Event{bare}, nil), "ingest an event without related resources")
	if got, _, err := h.s.ListEvents(h.ctx, other, store.EventQuery{Filter: eventNames("bare")}); err != nil || len(got) != 1 ||
		got[0].Related == nil || len(got[0].Related) != 0 || canonJSON(got[0].Payload) != `{}` {
		t.Errorf("an event without related resources: %+v (%v)", got, err)
	}
	testTaskRunRecords(t, h, ws, other)
	testStateIDCollisions(t, h, ws, other)
}

// testStateIDCollisions: a record's state id is the client's event id, so a
// client chooses it; one that is already a state of another workspace is
// refused, for a task run that exists and for one that does not yet, and
// the state it collides with is left alone.
func testStateIDCollisions(t *testing.T, h *harness, ws, other uuid.UUID) {
	clk := newClock()
	mine := h.flowRun(ws, h.flow(ws, "collide").ID, "run", state(model.Running))
	taken, stateID := newID(), newID()
	h.must(h.s.IngestEvents(h.ctx, ws, nil, []store.TaskRunRecord{taskRunRecord(taken, &mine.ID, "secret", stateID, model.Failed, clk.at(time.Second))}), "ingest a record")
	before, err := h.s.GetTaskRun(h.ctx, ws, taken)
	h.must(err, "get the recorded task run")

	theirs := h.flowRun(other, h.flow(other, "collide").ID, "run", state(model.Running))
	existing, ownState := newID(), newID()
	h.must(h.s.IngestEvents(h.ctx, other, nil, []store.TaskRunRecord{taskRunRecord(existing, &theirs.ID, "say", ownState, model.Pending, clk.at(time.Second))}), "ingest the other's record")
	fresh := newID()
	h.must(h.s.IngestEvents(h.ctx, other, nil, []store.TaskRunRecord{
		taskRunRecord(existing, &theirs.ID, "say", stateID, model.Completed, clk.at(2*time.Second)),
		taskRunRecord(fresh, &theirs.ID, "fresh", stateID, model.Running, clk.at(3*time.Second)),
	}), "ingest records under a colliding state id")
	if tr, err := h.s.GetTaskRun(h.ctx, other, existing); err != nil || *tr.StateID != ownState || *tr.StateType != model.Pending {
		t.Errorf("a task run took a state id of another workspace: %+v (%v)", tr, err)
	}
	if states, err := h.s.ListTaskRunStates(h.ctx, other, existing); err != nil || !slices.Equal(stateIDs(states), ids(ownState)) {
		t.Errorf("history after a colliding record: %v (%v)", stateIDs(states), err)
	}
	_, err = h.s.GetTaskRun(h.ctx, other, fresh)
	h.wantNotFound(err, "a task run recorded under another workspace's state id")
	_, err = h.s.GetTaskRunState(h.ctx, other, stateID)
	h.wantNotFound(err, "another workspace's state")
	after, err := h.s.GetTaskRun(h.ctx, ws, taken)
	h.must(err, "get the first task run again")
	if canonJSON(after) != canonJSON(before) {
		t.Errorf("the colliding records changed the first task run:\nbefore %s\nafter  %s", canonJSON(before), canonJSON(after))
	}
}

// testTaskRunRecords: the records that IngestEvents applies upsert task runs,
// where the newest state wins and redelivery changes nothing.
func testTaskRunRecords(t *testing.T, h *harness, ws, other uuid.UUID) {
	clk := newClock()
	flow := h.flow(ws, "etl")
	fr := h.flowRun(ws, flow.ID, "run", state(model.Running))
	id := newID()
	pendingID, runningID, completedID := newID(), newID(), newID()
	pending := func() store.TaskRunRecord {
		return taskRunRecord(id, &fr.ID, "say", pendingID, model.Pending, clk.at(time.Second))
	}
	running := func() store.TaskRunRecord {
		return taskRunRecord(id, &fr.ID, "say", runningID, model.Running, clk.at(2*time.Second))
	}
	completed := func() store.TaskRunRecord {
		return taskRunRecord(id, &fr.ID, "say", completedID, model.Completed, clk.at(3*time.Second))
	}
	// Out of order, one twice, across batches; an event with them.
	ev := event(pendingID, clk.at(time.Second), "prefect.task-run.Pending", "prefect.task-run."+id.String())
	h.must(h.s.IngestEvents(h.ctx, ws, []*model.Event{ev}, []store.TaskRunRecord{pending(), completed()}), "ingest records")
	h.must(h.s.IngestEvents(h.ctx, ws, nil, []store.TaskRunRecord{running(), completed()}), "ingest records")
	tr, err := h.s.GetTaskRun(h.ctx, ws, id)
	h.must(err, "get the recorded task run")
	if *tr.StateType != model.Completed || *tr.StateID != completedID || tr.State == nil || tr.State.ID != completedID ||
		*tr.FlowRunID != fr.ID || tr.TaskKey != "say" || tr.RunCount != 1 {
		t.Errorf("recorded task run %+v", tr)
	}
	states, err := h.s.ListTaskRunStates(h.ctx, ws, id)
	h.must(err, "list states")
	if got, want := stateIDs(states), ids(pendingID, runningID, completedID); !slices.Equal(got, want) {
		t.Errorf("recorded history %v, want %v", got, want)
	}
	if _, total, err := h.s.ListEvents(h.ctx, ws, store.EventQuery{Filter: eventNames("prefect.task-run.Pending")}); err != nil || total != 1 {
		t.Errorf("%d events stored with the records (%v), want 1", total, err)
	}

	// A record of the same (flow run, task key, dynamic key) under another id
	// is the same task run.
	alias, failedID := newID(), newID()
	h.must(h.s.IngestEvents(h.ctx, ws, nil, []store.TaskRunRecord{taskRunRecord(alias, &fr.ID, "say", failedID, model.Failed, clk.at(4*time.Second))}), "ingest a record under another id")
	if tr, err := h.s.GetTaskRun(h.ctx, ws, id); err != nil || *tr.StateID != failedID {
		t.Errorf("the task run after a newer record by natural key: %+v (%v)", tr, err)
	}
	_, err = h.s.GetTaskRun(h.ctx, ws, alias)
	h.wantNotFound(err, "a task run under the record's other id")
	// An older one is history, not the current state.
	oldID := newID()
	h.must(h.s.IngestEvents(h.ctx, ws, nil, []store.TaskRunRecord{taskRunRecord(alias, &fr.ID, "say", oldID, model.Running, clk.at(500*time.Millisecond))}), "ingest an older record")
	if tr, err := h.s.GetTaskRun(h.ctx, ws, id); err != nil || *tr.StateID != failedID {
		t.Errorf("an older record became the current state: %+v (%v)", tr, err)
	}
	if states, err := h.s.ListTaskRunStates(h.ctx, ws, id); err != nil || len(states) != 5 || states[0].ID != oldID {
		t.Errorf("history after an older record: %v (%v)", stateIDs(states), err)
	}

	// A record naming a flow run that is not in the workspace is dropped.
	missing, stray := newID(), newID()
	h.must(h.s.IngestEvents(h.ctx, ws, nil, []store.TaskRunRecord{taskRunRecord(stray, &missing, "stray", newID(), model.Running, clk.at(time.Second))}), "ingest a record of an unknown flow run")
	_, err = h.s.GetTaskRun(h.ctx, ws, stray)
	h.wantNotFound(err, "a task run of an unknown flow run")
	intruder := newID()
	h.must(h.s.IngestEvents(h.ctx, other, nil, []store.TaskRunRecord{taskRunRecord(intruder, &fr.ID, "intruder", newID(), model.Running, clk.at(time.Second))}), "ingest a record of another workspace's flow run")
	for _, w := range []uuid.UUID{ws, other} {
		_, err = h.s.GetTaskRun(h.ctx, w, intruder)
		h.wantNotFound(err, "a task run recorded into another workspace's flow run")
	}
	// A record without a flow run is recorded.
	loose := newID()
	h.must(h.s.IngestEvents(h.ctx, other, nil, []store.TaskRunRecord{taskRunRecord(loose, nil, "loose", newID(), model.Completed, clk.at(time.Second))}), "ingest a record without a flow run")
	if tr, err := h.s.GetTaskRun(h.ctx, other, loose); err != nil || *tr.StateType != model.Completed || tr.FlowRunID != nil {
		t.Errorf("a task run without a flow run: %+v (%v)", tr, err)
	}
	if n, err := h.s.CountTaskRuns(h.ctx, other, store.RunQuery{}); err != nil || n != 1 {
		t.Errorf("%d task runs in the other workspace (%v), want 1", n, err)
	}
}

// eventNames filters events by exact names.
func eventNames(names ...string) *store.EventFilter {
	f := &store.EventFilter{}
	f.Event = &struct {
		Prefix []string `json:"prefix"`
		Name   []string `json:"name"`
	}{Name: names}
	return f
}

func testListEvents(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	clk := newClock()
	sec := func(n int) model.Time { return clk.at(time.Duration(n) * time.Second) }
	sid := sortedIDs(5)
	flowRel := model.Resource{"prefect.resource.id": "prefect.flow.F", "prefect.resource.role": "flow"}
	runRel := model.Resource{"prefect.resource.id": "prefect.flow-run.A", "prefect.resource.role": "flow-run"}
	e1 := event(sid[0], sec(1), "prefect.flow-run.Running", "prefect.flow-run.A", flowRel)
	e2 := event(sid[1], sec(3), "prefect.task-run.Completed", "prefect.task-run.T", runRel)
	e3 := event(sid[2], sec(2), "custom.thing", "my.resource.x")
	e4 := event(sid[3], sec(0), "prefect.flow-run.Completed", "prefect.flow-run.B")
	e5 := event(sid[4], sec(2), "custom.thing", "my.resource.y") // e3's time, a larger id
	h.must(h.s.IngestEvents(h.ctx, ws, []*model.Event{e3, e1, e5}, nil), "ingest events")
	h.must(h.s.IngestEvents(h.ctx, ws, []*model.Event{e4, e2}, nil), "ingest events")
	h.must(h.s.IngestEvents(h.ctx, other, []*model.Event{event(newID(), sec(1), "prefect.flow-run.Running", "prefect.flow-run.A", flowRel)}, nil), "ingest elsewhere")

	names := map[uuid.UUID]string{e1.ID: "e1", e2.ID: "e2", e3.ID: "e3", e4.ID: "e4", e5.ID: "e5"}
	type resourceFilter = struct {
		ID       []string `json:"id"`
		IDPrefix []string `json:"id_prefix"`
	}
	filter := func(edit func(*store.EventFilter)) store.EventQuery {
		f := &store.EventFilter{}
		edit(f)
		return store.EventQuery{Filter: f}
	}
	occurred := func(since, until *model.Time) store.EventQuery {
		return filter(func(f *store.EventFilter) {
			f.Occurred = &struct {
				Since *model.Time `json:"since"`
				Until *model.Time `json:"until"`
			}{since, until}
		})
	}
	prefix := func(ps ...string) store.EventQuery {
		return filter(func(f *store.EventFilter) {
			f.Event = &struct {
				Prefix []string `json:"prefix"`
				Name   []string `json:"name"`
			}{Prefix: ps}
		})
	}
	resource := func(r resourceFilter) store.EventQuery {
		return filter(func(f *store.EventFilter) { f.Resource = &r })
	}
	anyResource := func(r resourceFilter) store.EventQuery {
		return filter(func(f *store.EventFilter) { f.Any = &r })
	}
	combined := prefix("prefect.")
	combined.Filter.Occurred = occurred(ptr(sec(1)), nil).Filter.Occurred
	list := func(q store.EventQuery) ([]*model.Event, error) {
		evs, _, err := h.s.ListEvents(h.ctx, ws, q)
		return evs, err
	}
	total := func(q store.EventQuery) (int, error) {
		_, n, err := h.s.ListEvents(h.ctx, ws, q)
		return n, err
	}
	// The total counts every match, whatever the page.
	checkList(h, names, func(e *model.Event) uuid.UUID { return e.ID }, list, total, []listCase[store.EventQuery]{
		{name: "default: newest first, ties by id", q: store.EventQuery{}, want: ids(e2.ID, e5.ID, e3.ID, e1.ID, e4.ID)},
		{name: "oldest first", q: filter(func(f *store.EventFilter) { f.Order = "ASC" }), want: ids(e4.ID, e1.ID, e3.ID, e5.ID, e2.ID)},
		{name: "occurred window, inclusive", q: occurred(ptr(sec(1)), ptr(sec(2))), want: ids(e5.ID, e3.ID, e1.ID)},
		{name: "occurred since", q: occurred(ptr(sec(3)), nil), want: ids(e2.ID)},
		{name: "event name", q: store.EventQuery{Filter: eventNames("custom.thing", "nope")}, want: ids(e5.ID, e3.ID)},
		{name: "event prefix", q: prefix("prefect.flow-run."), want: ids(e1.ID, e4.ID)},
		{name: "event prefixes", q: prefix("prefect.task-run.", "custom."), want: ids(e2.ID, e5.ID, e3.ID)},
		{name: "resource id", q: resource(resourceFilter{ID: []string{"prefect.flow-run.A"}}), want: ids(e1.ID)},
		{name: "resource id prefix", q: resource(resourceFilter{IDPrefix: []string{"prefect.task-run."}}), want: ids(e2.ID)},
		{name: "resource ids or prefixes", q: resource(resourceFilter{ID: []string{"my.resource.x"}, IDPrefix: []string{"prefect.flow-run.B"}}), want: ids(e3.ID, e4.ID)},
		{name: "any resource: own or related", q: anyResource(resourceFilter{ID: []string{"prefect.flow-run.A"}}), want: ids(e2.ID, e1.ID)},
		{name: "any resource by prefix", q: anyResource(resourceFilter{IDPrefix: []string{"prefect.flow."}}), want: ids(e1.ID)},
		{name: "prefix and time", q: combined, want: ids(e2.ID, e1.ID)},
		{name: "page", q: store.EventQuery{Limit: 2}, want: ids(e2.ID, e5.ID), total: 5},
		{name: "next page", q: store.EventQuery{Limit: 2, Offset: 2}, want: ids(e3.ID, e1.ID), total: 5},
		{name: "last page", q: store.EventQuery{Limit: 2, Offset: 4}, want: ids(e4.ID), total: 5},
	})
	if got, n, err := h.s.ListEvents(h.ctx, h.ws(), store.EventQuery{}); err != nil || n != 0 || len(got) != 0 {
		t.Errorf("events of an empty workspace: %v, total %d (%v)", got, n, err)
	}
}

func testCountEvents(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	clk := newClock()
	pivot := clk.base.Add(-time.Hour)
	named := event(newID(), clk.at(10*time.Second), "a.done", "r.1")
	named.Resource["prefect.resource.name"] = "one"
	renamed := event(newID(), clk.at(20*time.Second), "a.done", "r.1")
	renamed.Resource["prefect.resource.name"] = "uno"
	h.must(h.s.IngestEvents(h.ctx, ws, []*model.Event{
		named, renamed,
		event(newID(), clk.at(70*time.Second), "b.done", "r.2"),
		event(newID(), clk.at(-2*time.Hour), "c.early", "r.3"), // before the pivot
	}, nil), "ingest events")
	h.must(h.s.IngestEvents(h.ctx, other, []*model.Event{event(newID(), clk.at(10*time.Second), "a.done", "r.1")}, nil), "ingest elsewhere")
	summary := func(by store.EventCountBy, f *store.EventFilter, step time.Duration) string {
		t.Helper()
		got, err := h.s.CountEvents(h.ctx, ws, f, by, pivot, step)
		h.must(err, "count events by "+string(by))
		var out []string
		for _, c := range got {
			out = append(out, fmt.Sprint(c.Value, "/", c.Label, "=", c.Count))
		}
		return strings.Join(out, " ")
	}
	if got := summary(store.CountByEvent, nil, 0); got != "a.done/a.done=2 b.done/b.done=1 c.early/c.early=1" {
		t.Errorf("by event: %s", got)
	}
	// r.1's label is its latest event's name.
	if got := summary(store.CountByResource, nil, 0); got != "r.1/uno=2 r.2/r.2=1 r.3/r.3=1" {
		t.Errorf("by resource: %s", got)
	}
	// Minutes since the pivot, an hour before the base: the early event,
	// an hour before the pivot, is in bucket -60.
	if got := summary(store.CountByTime, nil, time.Minute); got != "-60/=1 60/=2 61/=1" {
		t.Errorf("by minute: %s", got)
	}
	f := &store.EventFilter{Event: &struct {
		Prefix []string `json:"prefix"`
		Name   []string `json:"name"`
	}{Name: []string{"b.done"}}}
	if got := summary(store.CountByEvent, f, 0); got != "b.done/b.done=1" {
		t.Errorf("filtered: %s", got)
	}
	_, err := h.s.CountEvents(h.ctx, ws, nil, store.CountByTime, pivot, time.Millisecond)
	h.wantCode(err, apperr.EInvalid, "a bucket under a second")
}
