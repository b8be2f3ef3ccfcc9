package storetest

import (
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/orchestration"
	"github.com/praetorhq/praetor/internal/store"
)

func testCreateTaskRun(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	flow := h.flow(ws, "etl")
	fr := h.flowRun(ws, flow.ID, "run", state(model.Running))
	upstream := newID()
	r := &model.TaskRun{ID: newID(), FlowRunID: &fr.ID, Name: "say-0", TaskKey: "say", DynamicKey: "0", Tags: []string{"t"},
		CacheKey: ptr("ck"), TaskVersion: ptr("v1"), EmpiricalPolicy: model.TaskRunPolicy{Retries: ptr(2)},
		TaskInputs: map[string][]model.TaskRunInput{"x": {{InputType: "task_run", ID: &upstream}}}}
	created, err := h.s.CreateTaskRun(h.ctx, ws, r, state(model.Pending))
	h.must(err, "create task run")
	if !created || r.State == nil || r.State.Type != model.Pending || r.Created.IsZero() {
		t.Fatalf("created task run: created %v, %+v", created, r)
	}
	got, err := h.s.GetTaskRun(h.ctx, ws, r.ID)
	h.must(err, "get task run")
	if got.Name != "say-0" || *got.FlowRunID != fr.ID || got.TaskKey != "say" || got.DynamicKey != "0" || !slices.Equal(got.Tags, []string{"t"}) ||
		*got.CacheKey != "ck" || *got.TaskVersion != "v1" || got.EmpiricalPolicy.Retries == nil || *got.EmpiricalPolicy.Retries != 2 ||
		canonJSON(got.TaskInputs) != canonJSON(r.TaskInputs) || got.State == nil || got.State.ID != r.State.ID {
		t.Errorf("stored task run %+v", got)
	}
	if states, err := h.s.ListTaskRunStates(h.ctx, ws, r.ID); err != nil || !slices.Equal(stateIDs(states), ids(r.State.ID)) {
		t.Errorf("states of a new task run: %v (%v)", stateIDs(states), err)
	}
	// The initial state is forced, with its bookkeeping.
	running := h.taskRun(ws, &fr.ID, "running", state(model.Running))
	if got, err := h.s.GetTaskRun(h.ctx, ws, running.ID); err != nil || got.RunCount != 1 || got.StartTime == nil {
		t.Errorf("a task run created RUNNING: %+v (%v)", got, err)
	}

	// (flow run, task key, dynamic key) names one task run: creating it again
	// returns the existing one untouched.
	againID := newID()
	again := &model.TaskRun{ID: againID, FlowRunID: &fr.ID, Name: "renamed", TaskKey: "say", DynamicKey: "0"}
	created, err = h.s.CreateTaskRun(h.ctx, ws, again, state(model.Running))
	h.must(err, "create a task run again")
	if created || again.ID != r.ID || again.Name != "say-0" || again.State.ID != r.State.ID {
		t.Errorf("creating a task run again: created %v, %+v", created, again)
	}
	_, err = h.s.GetTaskRun(h.ctx, ws, againID)
	h.wantNotFound(err, "the task run a repeated key did not create")
	inRun := store.RunQuery{TaskRuns: &store.TaskRunFilter{FlowRunID: &store.NullableIDFilter{Any: ids(fr.ID)}}}
	if n, err := h.s.CountTaskRuns(h.ctx, ws, inRun); err != nil || n != 2 {
		t.Errorf("%d task runs in the flow run (%v), want 2", n, err)
	}
	h.taskRun(ws, &fr.ID, "say-1", state(model.Pending), func(r *model.TaskRun) { r.TaskKey, r.DynamicKey = "say", "1" })
	// Without a flow run there is no natural key: each is new.
	for range 2 {
		h.taskRun(ws, nil, "loose", state(model.Pending), func(r *model.TaskRun) { r.TaskKey = "loose" })
	}

	// A flow run that does not exist here is not found, and nothing is
	// created.
	missing := newID()
	_, err = h.s.CreateTaskRun(h.ctx, ws, &model.TaskRun{ID: newID(), FlowRunID: &missing, Name: "orphan", TaskKey: "k"}, state(model.Pending))
	h.wantNotFound(err, "a task run of an unknown flow run")
	_, err = h.s.CreateTaskRun(h.ctx, other, &model.TaskRun{ID: newID(), FlowRunID: &fr.ID, Name: "hijack", TaskKey: "k"}, state(model.Pending))
	h.wantNotFound(err, "a task run of another workspace's flow run")
	if n, err := h.s.CountTaskRuns(h.ctx, other, store.RunQuery{}); err != nil || n != 0 {
		t.Errorf("%d task runs in the other workspace (%v)", n, err)
	}
	// A taken id is a conflict.
	_, err = h.s.CreateTaskRun(h.ctx, ws, &model.TaskRun{ID: r.ID, FlowRunID: &fr.ID, Name: "impostor", TaskKey: "other"}, state(model.Running))
	h.wantCode(err, apperr.EConflict, "a task run with a taken id")
	if got, err := h.s.GetTaskRun(h.ctx, ws, r.ID); err != nil || got.Name != "say-0" || *got.StateType != model.Pending {
		t.Errorf("the task run after a refused duplicate: %+v (%v)", got, err)
	}

	// Concurrent creates of one natural key make one task run.
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		made int
		seen = map[uuid.UUID]bool{}
	)
	for range 8 {
		wg.Go(func() {
			r := &model.TaskRun{ID: newID(), FlowRunID: &fr.ID, Name: "raced", TaskKey: "raced", DynamicKey: "0"}
			created, err := h.s.CreateTaskRun(h.ctx, ws, r, state(model.Pending))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Errorf("concurrent create: %v", err)
				return
			}
			if created {
				made++
			}
			seen[r.ID] = true
		})
	}
	wg.Wait()
	if made != 1 || len(seen) != 1 {
		t.Errorf("concurrent creates of one key: %d created, %d distinct ids", made, len(seen))
	}
}

func testGetTaskRun(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	flow := h.flow(ws, "etl")
	fr := h.flowRun(ws, flow.ID, "run", state(model.Running))
	r := h.taskRun(ws, &fr.ID, "task", state(model.Running))
	got, err := h.s.GetTaskRun(h.ctx, ws, r.ID)
	h.must(err, "get task run")
	if got.ID != r.ID || *got.FlowRunID != fr.ID || got.Name != "task" || got.RunCount != 1 || !eqTime(got.StartTime, &r.State.Timestamp) ||
		got.Tags == nil || got.Labels == nil || got.TaskInputs == nil {
		t.Errorf("GetTaskRun: %+v", got)
	}
	if s := got.State; s == nil || s.ID != r.State.ID || *got.StateID != s.ID || s.Type != model.Running ||
		s.StateDetails.TaskRunID == nil || *s.StateDetails.TaskRunID != r.ID || s.StateDetails.FlowRunID == nil || *s.StateDetails.FlowRunID != fr.ID {
		t.Errorf("current state %+v", got.State)
	}
	_, err = h.s.GetTaskRun(h.ctx, ws, newID())
	h.wantNotFound(err, "an unknown task run")
	_, err = h.s.GetTaskRun(h.ctx, other, r.ID)
	h.wantNotFound(err, "a task run through another workspace")
}

// taskRunQueries builds task runs in a workspace and returns queries of them
// with their answers, for ListTaskRuns and CountTaskRuns.
func taskRunQueries(h *harness) (uuid.UUID, map[uuid.UUID]string, []listCase[store.RunQuery]) {
	h.t.Helper()
	ws, other := h.ws(), h.ws()
	clk := newClock()
	hr := func(n int) model.Time { return clk.at(time.Duration(n) * time.Hour) }
	etl, ml := h.flow(ws, "etl"), h.flow(ws, "ml")
	run1 := h.flowRun(ws, etl.ID, "run-1", state(model.Running))
	run2 := h.flowRun(ws, ml.ID, "run-2", state(model.Running))
	sid := sortedIDs(4)
	idB, idD, idA, idC := sid[0], sid[1], sid[2], sid[3]
	withID := func(id uuid.UUID, tags ...string) func(*model.TaskRun) {
		return func(r *model.TaskRun) { r.ID, r.Tags = id, tags }
	}
	// C: in run-2, scheduled for 2h, and tracks a subflow.
	c := h.taskRun(ws, &run2.ID, "charlie", scheduledFor(hr(2), hr(0)), withID(idC))
	h.flowRun(ws, ml.ID, "subflow-of-c", scheduledFor(hr(2), hr(0)), func(r *model.FlowRun) { r.ParentTaskRunID = &c.ID })
	// A: in run-1, scheduled for 1h, ran from 2h to 3h.
	a := h.taskRun(ws, &run1.ID, "alpha", scheduledFor(hr(1), hr(0)), withID(idA, "x", "y"))
	h.setTaskRunState(ws, a.ID, stateAt(model.Running, hr(2)), true)
	h.setTaskRunState(ws, a.ID, stateAt(model.Completed, hr(3)), true)
	// D: no flow run, scheduled for 0h, failed at 5h.
	d := h.taskRun(ws, nil, "delta", scheduledFor(hr(0), hr(0)), withID(idD, "y"))
	h.setTaskRunState(ws, d.ID, stateAt(model.Failed, hr(5)), true)
	// B: in run-1, scheduled for 3h, running since 4h.
	b := h.taskRun(ws, &run1.ID, "bravo", scheduledFor(hr(3), hr(0)), withID(idB, "x"))
	h.setTaskRunState(ws, b.ID, stateAt(model.Running, hr(4)), true)
	theirFlow := h.flow(other, "etl")
	theirRun := h.flowRun(other, theirFlow.ID, "run-1", state(model.Running))
	h.taskRun(other, &theirRun.ID, "alpha", state(model.Running), func(r *model.TaskRun) { r.Tags = []string{"x", "y"} })

	names := map[uuid.UUID]string{a.ID: "alpha", b.ID: "bravo", c.ID: "charlie", d.ID: "delta"}
	tasks := func(f *store.TaskRunFilter) store.RunQuery { return store.RunQuery{TaskRuns: f} }
	sorted := func(s string) store.RunQuery { return store.RunQuery{Sort: s} }
	stateOr := store.StateTypeIn(model.Running)
	stateOr.Operator, stateOr.Name = "or_", stateNames("Failed").Name
	return ws, names, []listCase[store.RunQuery]{
		{name: "default: id desc", q: store.RunQuery{}, want: ids(c.ID, a.ID, d.ID, b.ID)},
		{name: "ID_DESC", q: sorted("ID_DESC"), want: ids(c.ID, a.ID, d.ID, b.ID)},
		{name: "NAME_ASC", q: sorted("NAME_ASC"), want: ids(a.ID, b.ID, c.ID, d.ID)},
		{name: "NAME_DESC", q: sorted("NAME_DESC"), want: ids(d.ID, c.ID, b.ID, a.ID)},
		{name: "EXPECTED_START_TIME_ASC", q: sorted("EXPECTED_START_TIME_ASC"), want: ids(d.ID, a.ID, c.ID, b.ID)},
		{name: "EXPECTED_START_TIME_DESC", q: sorted("EXPECTED_START_TIME_DESC"), want: ids(b.ID, c.ID, a.ID, d.ID)},
		{name: "END_TIME_DESC, unfinished last by id", q: sorted("END_TIME_DESC"), want: ids(d.ID, a.ID, b.ID, c.ID)},
		{name: "NEXT_SCHEDULED_START_TIME_ASC, unscheduled last by id", q: sorted("NEXT_SCHEDULED_START_TIME_ASC"), want: ids(c.ID, b.ID, d.ID, a.ID)},
		{name: "id any", q: tasks(&store.TaskRunFilter{ID: &store.IDFilter{Any: ids(a.ID, c.ID)}}), want: ids(c.ID, a.ID)},
		{name: "id not any", q: tasks(&store.TaskRunFilter{ID: &store.IDFilter{NotAny: ids(a.ID)}}), want: ids(c.ID, d.ID, b.ID)},
		{name: "an empty any matches nothing", q: tasks(&store.TaskRunFilter{ID: &store.IDFilter{Any: []uuid.UUID{}}})},
		{name: "name any", q: tasks(&store.TaskRunFilter{Name: &store.NameFilter{Any: []string{"alpha", "delta"}}}), want: ids(a.ID, d.ID)},
		{name: "name like, ignoring case", q: tasks(&store.TaskRunFilter{Name: &store.NameFilter{Like: ptr("HARL")}}), want: ids(c.ID)},
		{name: "name starts with", q: tasks(&store.TaskRunFilter{Name: &store.NameFilter{StartsWith: []string{"br", "de"}}}), want: ids(d.ID, b.ID)},
		{name: "tags all", q: tasks(&store.TaskRunFilter{Tags: &store.TagsFilter{All: []string{"x", "y"}}}), want: ids(a.ID)},
		{name: "tags any", q: tasks(&store.TaskRunFilter{Tags: &store.TagsFilter{Any: []string{"y"}}}), want: ids(a.ID, d.ID)},
		{name: "no tags", q: tasks(&store.TaskRunFilter{Tags: &store.TagsFilter{IsNull: ptr(true)}}), want: ids(c.ID)},
		{name: "state type", q: tasks(&store.TaskRunFilter{State: store.StateTypeIn(model.Running)}), want: ids(b.ID)},
		{name: "state name", q: tasks(&store.TaskRunFilter{State: stateNames("Completed")}), want: ids(a.ID)},
		{name: "state type or name", q: tasks(&store.TaskRunFilter{State: stateOr}), want: ids(d.ID, b.ID)},
		{name: "started after, inclusive", q: tasks(&store.TaskRunFilter{StartTime: &store.TimeFilter{After: ptr(hr(4))}}), want: ids(d.ID, b.ID)},
		{name: "never started", q: tasks(&store.TaskRunFilter{StartTime: &store.TimeFilter{IsNull: ptr(true)}}), want: ids(c.ID)},
		{name: "ended before, inclusive", q: tasks(&store.TaskRunFilter{EndTime: &store.TimeFilter{Before: ptr(hr(3))}}), want: ids(a.ID)},
		{name: "expected in a window, inclusive", q: tasks(&store.TaskRunFilter{ExpectedStartTime: &store.TimeFilter{After: ptr(hr(1)), Before: ptr(hr(2))}}), want: ids(c.ID, a.ID)},
		{name: "flow run id", q: tasks(&store.TaskRunFilter{FlowRunID: &store.NullableIDFilter{Any: ids(run1.ID)}}), want: ids(a.ID, b.ID)},
		{name: "without a flow run", q: tasks(&store.TaskRunFilter{FlowRunID: &store.NullableIDFilter{IsNull: ptr(true)}}), want: ids(d.ID)},
		{name: "with subflow runs", q: tasks(&store.TaskRunFilter{SubflowRuns: &struct {
			Exists *bool `json:"exists_"`
		}{ptr(true)}}), want: ids(c.ID)},
		{name: "without subflow runs", q: tasks(&store.TaskRunFilter{SubflowRuns: &struct {
			Exists *bool `json:"exists_"`
		}{ptr(false)}}), want: ids(a.ID, d.ID, b.ID)},
		{name: "or", q: tasks(&store.TaskRunFilter{Operator: "or_", Name: &store.NameFilter{Any: []string{"alpha"}}, Tags: &store.TagsFilter{IsNull: ptr(true)}}), want: ids(c.ID, a.ID)},
		{name: "by flow run", q: store.RunQuery{FlowRuns: &store.FlowRunFilter{Name: &store.NameFilter{Any: []string{"run-2"}}}}, want: ids(c.ID)},
		{name: "by flow", q: store.RunQuery{Flows: &store.FlowFilter{Name: &store.NameFilter{Any: []string{"etl"}}}}, want: ids(a.ID, b.ID)},
		{name: "page", q: store.RunQuery{Sort: "NAME_ASC", Limit: 2, Offset: 1}, want: ids(b.ID, c.ID), total: 4},
	}
}

func taskRunID(r *model.TaskRun) uuid.UUID { return r.ID }

func testListTaskRuns(t *testing.T, h *harness) {
	ws, names, cases := taskRunQueries(h)
	list := func(q store.RunQuery) ([]*model.TaskRun, error) { return h.s.ListTaskRuns(h.ctx, ws, q) }
	checkList(h, names, taskRunID, list, nil, cases)
	_, err := h.s.ListTaskRuns(h.ctx, ws, store.RunQuery{Sort: "BOGUS"})
	h.wantCode(err, apperr.EInvalid, "an unknown sort")
	all, err := h.s.ListTaskRuns(h.ctx, ws, store.RunQuery{})
	h.must(err, "list task runs")
	for _, r := range all {
		if r.State == nil || r.StateID == nil || r.State.ID != *r.StateID || r.State.Type != *r.StateType {
			t.Errorf("listed task run %s: state %+v, state id %v", r.Name, r.State, r.StateID)
		}
	}
}

func testCountTaskRuns(t *testing.T, h *harness) {
	ws, names, cases := taskRunQueries(h)
	list := func(q store.RunQuery) ([]*model.TaskRun, error) { return h.s.ListTaskRuns(h.ctx, ws, q) }
	count := func(q store.RunQuery) (int, error) { return h.s.CountTaskRuns(h.ctx, ws, q) }
	checkList(h, names, taskRunID, list, count, cases)
	if n, err := h.s.CountTaskRuns(h.ctx, h.ws(), store.RunQuery{}); err != nil || n != 0 {
		t.Errorf("task runs of an empty workspace: %d (%v)", n, err)
	}
}

func testUpdateTaskRun(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	flow := h.flow(ws, "etl")
	fr := h.flowRun(ws, flow.ID, "run", state(model.Running))
	r := h.taskRun(ws, &fr.ID, "task", state(model.Pending), func(r *model.TaskRun) { r.Tags = []string{"x"} })
	h.must(h.s.UpdateTaskRun(h.ctx, ws, r.ID, func(tr *model.TaskRun) error {
		if tr.Name != "task" || tr.State == nil || tr.State.ID != r.State.ID {
			t.Errorf("the patch got %+v, not the stored task run", tr)
		}
		tr.Name, tr.Tags = "renamed", []string{"y"}
		return nil
	}), "update task run")
	got, err := h.s.GetTaskRun(h.ctx, ws, r.ID)
	h.must(err, "get task run")
	if got.Name != "renamed" || !slices.Equal(got.Tags, []string{"y"}) || *got.StateID != r.State.ID ||
		!got.Created.Equal(r.Created.Time) || !got.Updated.After(r.Updated.Time) {
		t.Errorf("after update: %+v (before %+v)", got, r)
	}
	boom := errors.New("boom")
	if err := h.s.UpdateTaskRun(h.ctx, ws, r.ID, func(tr *model.TaskRun) error {
		tr.Name = "lost"
		return boom
	}); !errors.Is(err, boom) {
		t.Errorf("a failing patch: %v, want its error", err)
	}
	h.wantNotFound(h.s.UpdateTaskRun(h.ctx, ws, newID(), func(*model.TaskRun) error { return nil }), "update an unknown task run")
	h.wantNotFound(h.s.UpdateTaskRun(h.ctx, other, r.ID, func(tr *model.TaskRun) error {
		tr.Name = "hijacked"
		return nil
	}), "update through another workspace")
	if got, err := h.s.GetTaskRun(h.ctx, ws, r.ID); err != nil || got.Name != "renamed" {
		t.Errorf("after refused updates: %+v (%v)", got, err)
	}
}

func testDeleteTaskRun(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	flow := h.flow(ws, "etl")
	fr := h.flowRun(ws, flow.ID, "run", state(model.Running))
	r := h.taskRun(ws, &fr.ID, "doomed", state(model.Running))
	done := h.setTaskRunState(ws, r.ID, state(model.Completed), false)
	keep := h.taskRun(ws, &fr.ID, "kept", state(model.Running))
	h.wantNotFound(h.s.DeleteTaskRun(h.ctx, other, r.ID), "delete through another workspace")
	if _, err := h.s.GetTaskRun(h.ctx, ws, r.ID); err != nil {
		t.Fatalf("a refused delete removed the task run: %v", err)
	}
	h.must(h.s.DeleteTaskRun(h.ctx, ws, r.ID), "delete task run")
	_, err := h.s.GetTaskRun(h.ctx, ws, r.ID)
	h.wantNotFound(err, "a deleted task run")
	if states, err := h.s.ListTaskRunStates(h.ctx, ws, r.ID); err != nil || len(states) != 0 {
		t.Errorf("states of a deleted task run: %v (%v)", states, err)
	}
	for _, id := range []uuid.UUID{r.State.ID, done.ID} {
		_, err = h.s.GetTaskRunState(h.ctx, ws, id)
		h.wantNotFound(err, "a state of a deleted task run")
	}
	if _, err := h.s.GetTaskRun(h.ctx, ws, keep.ID); err != nil {
		t.Errorf("deleting a task run deleted another: %v", err)
	}
	if _, err := h.s.GetFlowRun(h.ctx, ws, fr.ID); err != nil {
		t.Errorf("deleting a task run deleted its flow run: %v", err)
	}
	h.wantNotFound(h.s.DeleteTaskRun(h.ctx, ws, r.ID), "delete it again")

	// A subflow run outlives the task run that tracked it, without a parent.
	tracker := h.taskRun(ws, &fr.ID, "tracker", state(model.Running))
	sub := h.flowRun(ws, flow.ID, "subflow", state(model.Running), func(r *model.FlowRun) { r.ParentTaskRunID = &tracker.ID })
	h.must(h.s.DeleteTaskRun(h.ctx, ws, tracker.ID), "delete a subflow's task run")
	if got, err := h.s.GetFlowRun(h.ctx, ws, sub.ID); err != nil || got.ParentTaskRunID != nil {
		t.Errorf("subflow after its task run was deleted: %+v (%v), want it with no parent", got, err)
	}
}

func testSetTaskRunState(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	flow := h.flow(ws, "etl")
	fr := h.flowRun(ws, flow.ID, "run", state(model.Running))
	r := h.taskRun(ws, &fr.ID, "task", state(model.Pending))
	get := func(id uuid.UUID) *model.TaskRun {
		t.Helper()
		got, err := h.s.GetTaskRun(h.ctx, ws, id)
		h.must(err, "get task run")
		return got
	}
	res, err := h.s.SetTaskRunState(h.ctx, ws, r.ID, state(model.Running), false)
	h.must(err, "set task run state")
	if res.Status != orchestration.Accept || !res.Written || res.State.Type != model.Running ||
		res.State.StateDetails.TaskRunID == nil || *res.State.StateDetails.TaskRunID != r.ID {
		t.Fatalf("PENDING → RUNNING: %+v", res)
	}
	running := res.State
	if got := get(r.ID); *got.StateID != running.ID || got.RunCount != 1 || !eqTime(got.StartTime, &running.Timestamp) {
		t.Errorf("after RUNNING: %+v", got)
	}
	// The rules read the enclosing flow run inside the transaction: a task
	// of a flow run that is not running may not start.
	idle := h.flowRun(ws, flow.ID, "idle", state(model.Pending))
	waiting := h.taskRun(ws, &idle.ID, "waiting", state(model.Pending))
	res, err = h.s.SetTaskRunState(h.ctx, ws, waiting.ID, state(model.Running), false)
	h.must(err, "start a task of an idle flow run")
	if res.Status != orchestration.Abort || res.Written || res.State.ID != waiting.State.ID {
		t.Errorf("RUNNING in a flow run that is not running: %+v", res)
	}
	if got := get(waiting.ID); *got.StateID != waiting.State.ID {
		t.Errorf("an aborted transition changed the task run: %+v", got)
	}
	// Force writes what the rules refuse.
	res, err = h.s.SetTaskRunState(h.ctx, ws, waiting.ID, state(model.Running), true)
	h.must(err, "force a task of an idle flow run")
	if res.Status != orchestration.Accept || !res.Written {
		t.Errorf("forced RUNNING: %+v", res)
	}
	// A rule's replacement state is written.
	retried := h.taskRun(ws, &fr.ID, "retried", state(model.Pending), func(r *model.TaskRun) { r.EmpiricalPolicy.Retries = ptr(1) })
	h.setTaskRunState(ws, retried.ID, state(model.Running), false)
	res, err = h.s.SetTaskRunState(h.ctx, ws, retried.ID, state(model.Failed), false)
	h.must(err, "fail a task run with retries")
	if res.Status != orchestration.Reject || !res.Written || res.State.Name != "AwaitingRetry" || *get(retried.ID).StateName != "AwaitingRetry" {
		t.Errorf("a failure with retries left: %+v", res)
	}

	_, err = h.s.SetTaskRunState(h.ctx, ws, newID(), state(model.Running), true)
	h.wantNotFound(err, "an unknown task run")
	_, err = h.s.SetTaskRunState(h.ctx, other, r.ID, state(model.Completed), true)
	h.wantNotFound(err, "a task run through another workspace")
	states, err := h.s.ListTaskRunStates(h.ctx, ws, r.ID)
	h.must(err, "list states")
	if got, want := stateIDs(states), ids(r.State.ID, running.ID); !slices.Equal(got, want) {
		t.Errorf("history %v, want %v", got, want)
	}

	// Concurrent proposals are decided one after the other, each on the
	// state the previous one left: once one CRASHED is accepted, the run is
	// terminal and the others are aborted.
	racing := h.taskRun(ws, &fr.ID, "racing", state(model.Running))
	hold := func(inside func()) error {
		return h.s.UpdateTaskRun(h.ctx, ws, racing.ID, func(*model.TaskRun) error { inside(); return nil })
	}
	statuses := proposeConcurrently(t, 8, hold, func() (*orchestration.Result, error) {
		return h.s.SetTaskRunState(h.ctx, ws, racing.ID, state(model.Crashed), false)
	})
	if statuses[orchestration.Accept] != 1 || statuses[orchestration.Abort] != 7 {
		t.Errorf("8 concurrent CRASHED proposals: %v, want 1 %s and 7 %s", statuses, orchestration.Accept, orchestration.Abort)
	}
	if states, err := h.s.ListTaskRunStates(h.ctx, ws, racing.ID); err != nil || len(states) != 2 {
		t.Errorf("states of the raced task run: %d (%v), want 2", len(states), err)
	}
	testTagConcurrency(t, h)
}

func testListTaskRunStates(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	flow := h.flow(ws, "etl")
	fr := h.flowRun(ws, flow.ID, "run", state(model.Running))
	r := h.taskRun(ws, &fr.ID, "task", state(model.Pending))
	sibling := h.taskRun(ws, &fr.ID, "sibling", state(model.Pending))
	running := h.setTaskRunState(ws, r.ID, state(model.Running), false)
	late := h.setTaskRunState(ws, r.ID, stateAt(model.Completed, newClock().at(0)), true)
	states, err := h.s.ListTaskRunStates(h.ctx, ws, r.ID)
	h.must(err, "list states")
	if got, want := stateIDs(states), ids(r.State.ID, running.ID, late.ID); !slices.Equal(got, want) {
		t.Errorf("history %v, want %v", got, want)
	}
	if got, err := h.s.ListTaskRunStates(h.ctx, ws, sibling.ID); err != nil || !slices.Equal(stateIDs(got), ids(sibling.State.ID)) {
		t.Errorf("the sibling's history: %v (%v)", stateIDs(got), err)
	}
	if got, err := h.s.ListTaskRunStates(h.ctx, other, r.ID); err != nil || len(got) != 0 {
		t.Errorf("history through another workspace: %v (%v)", got, err)
	}
}

// testListTaskRunStatesOf: the histories of several task runs come back
// in one map, each oldest first, and only the workspace's own runs.
func testListTaskRunStatesOf(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	flow := h.flow(ws, "etl")
	fr := h.flowRun(ws, flow.ID, "run", state(model.Running))
	a := h.taskRun(ws, &fr.ID, "a", state(model.Pending))
	b := h.taskRun(ws, &fr.ID, "b", state(model.Pending))
	untouched := h.taskRun(ws, &fr.ID, "untouched", state(model.Pending))
	aRunning := h.setTaskRunState(ws, a.ID, state(model.Running), false)
	aDone := h.setTaskRunState(ws, a.ID, state(model.Completed), false)
	bRunning := h.setTaskRunState(ws, b.ID, state(model.Running), false)

	got, err := h.s.ListTaskRunStatesOf(h.ctx, ws, []uuid.UUID{a.ID, b.ID, newID()})
	h.must(err, "list the states of two task runs")
	if len(got) != 2 {
		t.Errorf("histories of %d task runs, want 2 (an unknown id has none): %v", len(got), got)
	}
	if ids := stateIDs(got[a.ID]); !slices.Equal(ids, []uuid.UUID{a.State.ID, aRunning.ID, aDone.ID}) {
		t.Errorf("a's history %v", ids)
	}
	if ids := stateIDs(got[b.ID]); !slices.Equal(ids, []uuid.UUID{b.State.ID, bRunning.ID}) {
		t.Errorf("b's history %v", ids)
	}
	if _, ok := got[untouched.ID]; ok {
		t.Errorf("a task run not asked for came back")
	}
	if got, err := h.s.ListTaskRunStatesOf(h.ctx, other, []uuid.UUID{a.ID, b.ID}); err != nil || len(got) != 0 {
		t.Errorf("histories through another workspace: %v (%v)", got, err)
	}
	if got, err := h.s.ListTaskRunStatesOf(h.ctx, ws, nil); err != nil || len(got) != 0 {
		t.Errorf("no ids: %v (%v)", got, err)
	}
}

func testGetTaskRunState(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	flow := h.flow(ws, "etl")
	fr := h.flowRun(ws, flow.ID, "run", state(model.Running))
	r := h.taskRun(ws, &fr.ID, "task", state(model.Running))
	data := json.RawMessage(`{"storage_key":"/tmp/x","n":1.5}`)
	s := h.setTaskRunState(ws, r.ID, model.StateCreate{Type: model.Completed, Name: ptr("Cached"), Message: ptr("done"), Data: data}, true)
	got, err := h.s.GetTaskRunState(h.ctx, ws, s.ID)
	h.must(err, "get task run state")
	if got.ID != s.ID || got.Type != model.Completed || got.Name != "Cached" || got.Message == nil || *got.Message != "done" ||
		canonJSON(got.Data) != canonJSON(data) || !got.Timestamp.Equal(s.Timestamp.Time) ||
		got.StateDetails.TaskRunID == nil || *got.StateDetails.TaskRunID != r.ID || got.StateDetails.FlowRunID == nil || *got.StateDetails.FlowRunID != fr.ID {
		t.Errorf("GetTaskRunState: %+v, want %+v", got, s)
	}
	_, err = h.s.GetTaskRunState(h.ctx, ws, newID())
	h.wantNotFound(err, "an unknown state")
	_, err = h.s.GetTaskRunState(h.ctx, other, s.ID)
	h.wantNotFound(err, "a state through another workspace")
	_, err = h.s.GetTaskRunState(h.ctx, ws, fr.State.ID)
	h.wantNotFound(err, "a flow run's state as a task run's")
}
