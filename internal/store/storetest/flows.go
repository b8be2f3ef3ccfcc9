package storetest

import (
	"slices"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

func testUpsertFlow(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	f := &model.Flow{Name: "etl", Tags: []string{"a"}, Labels: map[string]any{"team": "data"}}
	created, err := h.s.UpsertFlow(h.ctx, ws, f)
	h.must(err, "upsert a new flow")
	if !created || f.ID == uuid.Nil || f.Created.IsZero() || !f.Created.Equal(f.Updated.Time) {
		t.Errorf("new flow: created %v, %+v", created, f)
	}
	// Upserting the name again returns the stored flow, untouched.
	again := &model.Flow{Name: "etl", Tags: []string{"b"}}
	created, err = h.s.UpsertFlow(h.ctx, ws, again)
	h.must(err, "upsert an existing flow")
	if created || again.ID != f.ID || !slices.Equal(again.Tags, []string{"a"}) || again.Labels["team"] != "data" {
		t.Errorf("existing flow: created %v, %+v", created, again)
	}
	if n, err := h.s.CountFlows(h.ctx, ws, store.RunQuery{}); err != nil || n != 1 {
		t.Errorf("%d flows (%v) after upserting one name twice", n, err)
	}
	// Names are per workspace.
	theirs := &model.Flow{Name: "etl"}
	created, err = h.s.UpsertFlow(h.ctx, other, theirs)
	h.must(err, "upsert in another workspace")
	if !created || theirs.ID == f.ID {
		t.Errorf("the same name in another workspace: created %v, id %s (the first is %s)", created, theirs.ID, f.ID)
	}
	// Prefect never returns null collections.
	bare := &model.Flow{Name: "bare"}
	_, err = h.s.UpsertFlow(h.ctx, ws, bare)
	h.must(err, "upsert a flow without tags")
	if bare.Tags == nil || len(bare.Tags) != 0 || bare.Labels == nil {
		t.Errorf("a flow without tags or labels: %+v", bare)
	}

	// Concurrent upserts of one name make one flow, and one of them says so.
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		made    int
		flowIDs = map[uuid.UUID]bool{}
	)
	for range 8 {
		wg.Go(func() {
			f := &model.Flow{Name: "raced"}
			created, err := h.s.UpsertFlow(h.ctx, ws, f)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Errorf("concurrent upsert: %v", err)
				return
			}
			if created {
				made++
			}
			flowIDs[f.ID] = true
		})
	}
	wg.Wait()
	if made != 1 || len(flowIDs) != 1 {
		t.Errorf("concurrent upserts of one name: %d created, %d distinct ids", made, len(flowIDs))
	}
}

func testGetFlow(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	f := &model.Flow{Name: "etl", Tags: []string{"x", "y"}, Labels: map[string]any{"k": "v"}}
	_, err := h.s.UpsertFlow(h.ctx, ws, f)
	h.must(err, "upsert flow")
	got, err := h.s.GetFlow(h.ctx, ws, f.ID)
	if err != nil || got.ID != f.ID || got.Name != "etl" || !slices.Equal(got.Tags, f.Tags) || canonJSON(got.Labels) != `{"k":"v"}` ||
		!got.Created.Equal(f.Created.Time) || !got.Updated.Equal(f.Updated.Time) {
		t.Errorf("GetFlow: %+v (%v), want %+v", got, err, f)
	}
	_, err = h.s.GetFlow(h.ctx, ws, newID())
	h.wantNotFound(err, "an unknown flow")
	_, err = h.s.GetFlow(h.ctx, other, f.ID)
	h.wantNotFound(err, "a flow through another workspace")
}

func testGetFlowByName(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	f := h.flow(ws, "etl", "x")
	mine := h.flow(other, "mine")
	got, err := h.s.GetFlowByName(h.ctx, ws, "etl")
	if err != nil || got.ID != f.ID || !slices.Equal(got.Tags, []string{"x"}) {
		t.Errorf("GetFlowByName: %+v (%v)", got, err)
	}
	_, err = h.s.GetFlowByName(h.ctx, ws, "nope")
	h.wantNotFound(err, "an unknown name")
	_, err = h.s.GetFlowByName(h.ctx, ws, mine.Name)
	h.wantNotFound(err, "another workspace's flow by name")
}

// flowQueries builds flows in a workspace and returns queries of them with
// their answers, for ListFlows and CountFlows.
func flowQueries(h *harness) (uuid.UUID, map[uuid.UUID]string, []listCase[store.RunQuery]) {
	h.t.Helper()
	ws, other := h.ws(), h.ws()
	// Created out of name order, and one updated last, so that every sort
	// gives a different order.
	b := h.flow(ws, "bravo", "prod")
	c := h.flow(ws, "charlie", "prod")
	a := h.flow(ws, "alpha", "prod", "nightly")
	h.must(h.s.UpdateFlow(h.ctx, ws, b.ID, []string{}), "update flow")
	h.flow(other, "alpha-other", "prod", "nightly") // never listed
	runA := h.flowRun(ws, a.ID, "run-a", state(model.Running))
	h.taskRun(ws, &runA.ID, "task-of-a", state(model.Pending))
	h.flowRun(ws, c.ID, "run-c", state(model.Completed))
	names := map[uuid.UUID]string{a.ID: "alpha", b.ID: "bravo", c.ID: "charlie"}
	q := func(f *store.FlowFilter) store.RunQuery { return store.RunQuery{Flows: f} }
	return ws, names, []listCase[store.RunQuery]{
		{name: "default: by name", q: store.RunQuery{}, want: ids(a.ID, b.ID, c.ID)},
		{name: "NAME_ASC", q: store.RunQuery{Sort: "NAME_ASC"}, want: ids(a.ID, b.ID, c.ID)},
		{name: "NAME_DESC", q: store.RunQuery{Sort: "NAME_DESC"}, want: ids(c.ID, b.ID, a.ID)},
		{name: "CREATED_DESC", q: store.RunQuery{Sort: "CREATED_DESC"}, want: ids(a.ID, c.ID, b.ID)},
		{name: "UPDATED_DESC", q: store.RunQuery{Sort: "UPDATED_DESC"}, want: ids(b.ID, a.ID, c.ID)},
		{name: "name any", q: q(&store.FlowFilter{Name: &store.NameFilter{Any: []string{"charlie", "alpha", "nope"}}}), want: ids(a.ID, c.ID)},
		{name: "name not any", q: q(&store.FlowFilter{Name: &store.NameFilter{NotAny: []string{"alpha"}}}), want: ids(b.ID, c.ID)},
		{name: "name like, ignoring case", q: q(&store.FlowFilter{Name: &store.NameFilter{Like: ptr("ARL")}}), want: ids(c.ID)},
		{name: "name starts with", q: q(&store.FlowFilter{Name: &store.NameFilter{StartsWith: []string{"br", "al"}}}), want: ids(a.ID, b.ID)},
		{name: "tags all", q: q(&store.FlowFilter{Tags: &store.TagsFilter{All: []string{"prod", "nightly"}}}), want: ids(a.ID)},
		{name: "tags any", q: q(&store.FlowFilter{Tags: &store.TagsFilter{Any: []string{"nightly", "prod"}}}), want: ids(a.ID, c.ID)},
		{name: "no tags", q: q(&store.FlowFilter{Tags: &store.TagsFilter{IsNull: ptr(true)}}), want: ids(b.ID)},
		{name: "some tags", q: q(&store.FlowFilter{Tags: &store.TagsFilter{IsNull: ptr(false)}}), want: ids(a.ID, c.ID)},
		{name: "id any", q: q(&store.FlowFilter{ID: &store.IDFilter{Any: ids(c.ID, b.ID)}}), want: ids(b.ID, c.ID)},
		{name: "id not any", q: q(&store.FlowFilter{ID: &store.IDFilter{NotAny: ids(b.ID)}}), want: ids(a.ID, c.ID)},
		{name: "an empty any matches nothing", q: q(&store.FlowFilter{ID: &store.IDFilter{Any: []uuid.UUID{}}})},
		{name: "or", q: q(&store.FlowFilter{Operator: "or_", Name: &store.NameFilter{Any: []string{"alpha"}}, Tags: &store.TagsFilter{IsNull: ptr(true)}}), want: ids(a.ID, b.ID)},
		{name: "and", q: q(&store.FlowFilter{Name: &store.NameFilter{Any: []string{"alpha", "bravo"}}, Tags: &store.TagsFilter{IsNull: ptr(true)}}), want: ids(b.ID)},
		{name: "with a running run", q: store.RunQuery{FlowRuns: &store.FlowRunFilter{State: store.StateTypeIn(model.Running)}}, want: ids(a.ID)},
		{name: "with a run named", q: store.RunQuery{FlowRuns: &store.FlowRunFilter{Name: &store.NameFilter{Any: []string{"run-c"}}}}, want: ids(c.ID)},
		{name: "with a task run named", q: store.RunQuery{TaskRuns: &store.TaskRunFilter{Name: &store.NameFilter{Any: []string{"task-of-a"}}}}, want: ids(a.ID)},
		{name: "page", q: store.RunQuery{Limit: 1, Offset: 1}, want: ids(b.ID), total: 3},
		{name: "past the end", q: store.RunQuery{Offset: 3}, total: 3},
	}
}

// stateNames is a state filter on any of names.
func stateNames(names ...string) *store.StateFilter {
	f := &store.StateFilter{}
	f.Name = &struct {
		Any    []string `json:"any_"`
		NotAny []string `json:"not_any_"`
	}{Any: names}
	return f
}

func flowID(f *model.Flow) uuid.UUID { return f.ID }

func testListFlows(t *testing.T, h *harness) {
	ws, names, cases := flowQueries(h)
	list := func(q store.RunQuery) ([]*model.Flow, error) { return h.s.ListFlows(h.ctx, ws, q) }
	checkList(h, names, flowID, list, nil, cases)
	_, err := h.s.ListFlows(h.ctx, ws, store.RunQuery{Sort: "BOGUS"})
	h.wantCode(err, apperr.EInvalid, "an unknown sort")
	if got, err := h.s.ListFlows(h.ctx, h.ws(), store.RunQuery{}); err != nil || len(got) != 0 {
		t.Errorf("flows of an empty workspace: %v (%v)", got, err)
	}
}

func testCountFlows(t *testing.T, h *harness) {
	ws, names, cases := flowQueries(h)
	list := func(q store.RunQuery) ([]*model.Flow, error) { return h.s.ListFlows(h.ctx, ws, q) }
	count := func(q store.RunQuery) (int, error) { return h.s.CountFlows(h.ctx, ws, q) }
	checkList(h, names, flowID, list, count, cases)
	if n, err := h.s.CountFlows(h.ctx, h.ws(), store.RunQuery{}); err != nil || n != 0 {
		t.Errorf("flows of an empty workspace: %d (%v)", n, err)
	}
}

func testUpdateFlow(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	f := h.flow(ws, "etl", "old")
	h.must(h.s.UpdateFlow(h.ctx, ws, f.ID, []string{"new", "tags"}), "update flow")
	got, err := h.s.GetFlow(h.ctx, ws, f.ID)
	h.must(err, "get flow")
	if !slices.Equal(got.Tags, []string{"new", "tags"}) || got.Name != "etl" || !got.Created.Equal(f.Created.Time) || !got.Updated.After(f.Updated.Time) {
		t.Errorf("after update: %+v (before %+v)", got, f)
	}
	h.wantNotFound(h.s.UpdateFlow(h.ctx, ws, newID(), nil), "update an unknown flow")
	h.wantNotFound(h.s.UpdateFlow(h.ctx, other, f.ID, []string{"hijacked"}), "update through another workspace")
	if again, err := h.s.GetFlow(h.ctx, ws, f.ID); err != nil || !slices.Equal(again.Tags, []string{"new", "tags"}) {
		t.Errorf("after a refused update: %+v (%v)", again, err)
	}
}

func testDeleteFlows(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	f, keep := h.flow(ws, "doomed"), h.flow(ws, "kept")
	run := h.flowRun(ws, f.ID, "run", state(model.Running))
	kept := h.flowRun(ws, keep.ID, "kept-run", state(model.Running))
	task := h.taskRun(ws, &run.ID, "task", state(model.Running))
	h.wantNotFound(store.DeleteOne(h.s.DeleteFlows)(h.ctx, other, f.ID), "delete through another workspace")
	if _, err := h.s.GetFlow(h.ctx, ws, f.ID); err != nil {
		t.Fatalf("a refused delete removed the flow: %v", err)
	}
	h.must(store.DeleteOne(h.s.DeleteFlows)(h.ctx, ws, f.ID), "delete flow")
	_, err := h.s.GetFlow(h.ctx, ws, f.ID)
	h.wantNotFound(err, "a deleted flow")
	// Its runs go with it.
	_, err = h.s.GetFlowRun(h.ctx, ws, run.ID)
	h.wantNotFound(err, "a run of a deleted flow")
	_, err = h.s.GetFlowRunState(h.ctx, ws, run.State.ID)
	h.wantNotFound(err, "a state of a run of a deleted flow")
	_, err = h.s.GetTaskRun(h.ctx, ws, task.ID)
	h.wantNotFound(err, "a task run of a run of a deleted flow")
	if _, err := h.s.GetFlowRun(h.ctx, ws, kept.ID); err != nil {
		t.Errorf("deleting a flow deleted another flow's run: %v", err)
	}
	h.wantNotFound(store.DeleteOne(h.s.DeleteFlows)(h.ctx, ws, f.ID), "delete it again")
	checkBulkDelete(h, "flow", h.s.DeleteFlows, ws, []uuid.UUID{h.flow(ws, "a").ID, h.flow(ws, "b").ID}, other, h.flow(other, "theirs").ID, func(ws, id uuid.UUID) error {
		_, err := h.s.GetFlow(h.ctx, ws, id)
		return err
	})
}
