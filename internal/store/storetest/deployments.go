package storetest

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	clocks "github.com/praetorhq/praetor/internal/clock"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/orchestration"
	"github.com/praetorhq/praetor/internal/store"
)

// intervalSchedule is a schedule object as the API stores it.
func intervalSchedule(seconds float64) json.RawMessage {
	b, _ := json.Marshal(map[string]any{"interval": seconds, "anchor_date": "2026-01-01T00:00:00Z", "timezone": "UTC"})
	return b
}

// deployment upserts a deployment of flow named name, after edit (if any)
// changed it, and fails unless it was new.
func (h *harness) deployment(ws, flow uuid.UUID, name string, edit ...func(*model.Deployment)) *model.Deployment {
	h.t.Helper()
	d := &model.Deployment{FlowID: flow, Name: name, EnforceParameterSchema: true}
	for _, e := range edit {
		e(d)
	}
	created, err := h.s.UpsertDeployment(h.ctx, ws, d, nil)
	h.must(err, "upsert deployment "+name)
	if !created {
		h.t.Fatalf("deployment %s already existed", name)
	}
	return d
}

// withSchedules gives a deployment interval schedules of the seconds.
func withSchedules(seconds ...float64) func(*model.Deployment) {
	return func(d *model.Deployment) {
		for _, s := range seconds {
			d.Schedules = append(d.Schedules, model.DeploymentSchedule{Schedule: intervalSchedule(s), Active: true})
		}
	}
}

// autoRun creates a waiting auto-scheduled run of deployment d due at at.
func (h *harness) autoRun(ws uuid.UUID, d *model.Deployment, name string, at model.Time) *model.FlowRun {
	h.t.Helper()
	return h.flowRun(ws, d.FlowID, name, scheduledFor(at, model.Now()), func(r *model.FlowRun) {
		r.DeploymentID, r.AutoScheduled = &d.ID, true
	})
}

// runIDs lists the ids of runs.
func runIDs(runs []*model.FlowRun) []uuid.UUID {
	out := make([]uuid.UUID, len(runs))
	for i, r := range runs {
		out[i] = r.ID
	}
	return out
}

func testUpsertDeployment(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	flow := h.flow(ws, "f")
	pool := h.pool(ws, "pool")
	d := h.deployment(ws, flow.ID, "nightly", withSchedules(60, 3600), func(d *model.Deployment) {
		d.Parameters = map[string]any{"x": 1.0}
		d.Tags = []string{"a"}
		d.WorkPoolName, d.WorkQueueName = ptr("pool"), ptr("q")
		d.CatchUp = model.CatchUp{Mode: model.CatchUpLatest}
	})
	if d.ID == uuid.Nil || d.Status != model.DeploymentNotReady || len(d.Schedules) != 2 || d.Schedules[0].ID == uuid.Nil {
		t.Fatalf("created %+v", d)
	}
	got, err := h.s.GetDeployment(h.ctx, ws, d.ID)
	h.must(err, "get deployment")
	if got.Name != "nightly" || got.Parameters["x"] != 1.0 || !slices.Equal(got.Tags, []string{"a"}) || *got.WorkPoolName != "pool" ||
		*got.WorkQueueName != "q" || got.CatchUp.Mode != model.CatchUpLatest || len(got.Schedules) != 2 ||
		canonJSON(got.Schedules[1].Schedule) != canonJSON(intervalSchedule(3600)) || *got.Schedules[0].DeploymentID != d.ID {
		t.Errorf("stored %+v", got)
	}
	// The deployment's queue is made in its pool; a pool that does not
	// exist is not found, and the deployment is not made.
	q, err := h.s.GetWorkQueueByName(h.ctx, ws, "pool", "q")
	h.must(err, "the deployment's queue")
	if got.WorkQueueID == nil || *got.WorkQueueID != q.ID || q.WorkPoolID != pool.ID {
		t.Errorf("deployment queue id %v, want the pool's queue q %v", got.WorkQueueID, q.ID)
	}
	_, err = h.s.UpsertDeployment(h.ctx, ws, &model.Deployment{FlowID: flow.ID, Name: "nowhere", WorkPoolName: ptr("missing")}, nil)
	h.wantNotFound(err, "a deployment of a missing pool")
	if _, err := h.s.GetDeploymentByName(h.ctx, ws, "f", "nowhere"); !apperr.IsNotFound(err) {
		t.Errorf("the deployment of a missing pool was made (%v)", err)
	}
	// The future waiting auto-scheduled runs go on an upsert; past ones,
	// runs that ran and manual runs stay.
	c := time.Now().UTC().Truncate(time.Second)
	future := h.autoRun(ws, d, "future", model.At(c.Add(time.Hour)))
	past := h.autoRun(ws, d, "past", model.At(c.Add(-time.Hour)))
	manual := h.flowRun(ws, flow.ID, "manual", scheduledFor(model.At(c.Add(time.Hour)), model.At(c)), func(r *model.FlowRun) { r.DeploymentID = &d.ID })
	again := &model.Deployment{FlowID: flow.ID, Name: "nightly", Description: ptr("v2")}
	withSchedules(120)(again)
	created, err := h.s.UpsertDeployment(h.ctx, ws, again, nil)
	h.must(err, "upsert again")
	if created || again.ID != d.ID || !again.Created.Equal(d.Created.Time) || len(again.Schedules) != 1 ||
		again.Schedules[0].ID == d.Schedules[0].ID || *again.Description != "v2" || len(again.Tags) != 0 {
		t.Errorf("second upsert: created %v, %+v", created, again)
	}
	// With apply, only what apply changes changes; the schedules still
	// become the given ones.
	third := &model.Deployment{FlowID: flow.ID, Name: "nightly"}
	created, err = h.s.UpsertDeployment(h.ctx, ws, third, func(e *model.Deployment) error { e.Tags = []string{"b"}; return nil })
	h.must(err, "upsert with apply")
	if created || third.ID != d.ID || *third.Description != "v2" || !slices.Equal(third.Tags, []string{"b"}) || len(third.Schedules) != 0 {
		t.Errorf("upsert with apply: created %v, %+v", created, third)
	}
	// A failing apply changes nothing.
	h.wantCode(func() error {
		_, err := h.s.UpsertDeployment(h.ctx, ws, &model.Deployment{FlowID: flow.ID, Name: "nightly"}, func(e *model.Deployment) error {
			e.Tags = nil
			return apperr.Errorf(apperr.EInvalid, "no")
		})
		return err
	}(), apperr.EInvalid, "a failing apply")
	if got, _ := h.s.GetDeployment(h.ctx, ws, d.ID); !slices.Equal(got.Tags, []string{"b"}) {
		t.Errorf("a failing apply changed the tags: %v", got.Tags)
	}
	h.wantNotFound(func() error { _, err := h.s.GetFlowRun(h.ctx, ws, future.ID); return err }(), "a future auto-scheduled run after an upsert")
	for _, r := range []*model.FlowRun{past, manual} {
		if _, err := h.s.GetFlowRun(h.ctx, ws, r.ID); err != nil {
			t.Errorf("run %s after an upsert: %v", r.Name, err)
		}
	}
	// A flow of another workspace is not found, and nothing is made.
	_, err = h.s.UpsertDeployment(h.ctx, other, &model.Deployment{FlowID: flow.ID, Name: "x"}, nil)
	h.wantNotFound(err, "a deployment of another workspace's flow")
	if n, err := h.s.CountDeployments(h.ctx, other, store.DeploymentQuery{}); err != nil || n != 0 {
		t.Errorf("other workspace has %d deployments (%v)", n, err)
	}
	// Slugs are unique within a deployment.
	dup := &model.Deployment{FlowID: flow.ID, Name: "dup"}
	dup.Schedules = []model.DeploymentSchedule{{Schedule: intervalSchedule(1), Slug: ptr("s")}, {Schedule: intervalSchedule(2), Slug: ptr("s")}}
	_, err = h.s.UpsertDeployment(h.ctx, ws, dup, nil)
	h.wantCode(err, apperr.EConflict, "two schedules with one slug")
	_, err = h.s.GetDeploymentByName(h.ctx, ws, "f", "dup")
	h.wantNotFound(err, "the refused deployment")
}

func testGetDeployment(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	d := h.deployment(ws, h.flow(ws, "f").ID, "d")
	if got, err := h.s.GetDeployment(h.ctx, ws, d.ID); err != nil || got.ID != d.ID || got.Schedules == nil || got.Parameters == nil {
		t.Errorf("GetDeployment: %+v (%v)", got, err)
	}
	// Optional objects stay absent (the client refuses an empty
	// concurrency_options or version_info), and set ones read back.
	got, err := h.s.GetDeployment(h.ctx, ws, d.ID)
	h.must(err, "get deployment")
	if got.ConcurrencyOptions != nil || got.VersionInfo != nil || got.ParameterOpenAPISchema != nil || got.PullSteps != nil {
		t.Errorf("unset optional objects read back as %v, %v, %v, %v", got.ConcurrencyOptions, got.VersionInfo, got.ParameterOpenAPISchema, got.PullSteps)
	}
	set := h.deployment(ws, d.FlowID, "set", func(d *model.Deployment) {
		d.ConcurrencyOptions = map[string]any{"collision_strategy": "ENQUEUE"}
		d.VersionInfo = map[string]any{"type": "git", "version": "abc"}
		d.ParameterOpenAPISchema = map[string]any{"type": "object"}
		d.PullSteps = []map[string]any{{"step": 1.0}}
	})
	got, err = h.s.GetDeployment(h.ctx, ws, set.ID)
	h.must(err, "get deployment")
	if canonJSON([]any{got.ConcurrencyOptions, got.VersionInfo, got.ParameterOpenAPISchema, got.PullSteps}) !=
		`[{"collision_strategy":"ENQUEUE"},{"type":"git","version":"abc"},{"type":"object"},[{"step":1}]]` {
		t.Errorf("set optional objects read back as %v, %v, %v, %v", got.ConcurrencyOptions, got.VersionInfo, got.ParameterOpenAPISchema, got.PullSteps)
	}
	_, err = h.s.GetDeployment(h.ctx, other, d.ID)
	h.wantNotFound(err, "another workspace's deployment")
	_, err = h.s.GetDeployment(h.ctx, ws, newID())
	h.wantNotFound(err, "an unknown deployment")
}

func testGetDeploymentByName(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	f, g := h.flow(ws, "f"), h.flow(ws, "g")
	d := h.deployment(ws, f.ID, "same")
	e := h.deployment(ws, g.ID, "same")
	for flow, want := range map[string]uuid.UUID{"f": d.ID, "g": e.ID} {
		if got, err := h.s.GetDeploymentByName(h.ctx, ws, flow, "same"); err != nil || got.ID != want {
			t.Errorf("%s/same: %+v (%v)", flow, got, err)
		}
	}
	h.flow(other, "f")
	_, err := h.s.GetDeploymentByName(h.ctx, other, "f", "same")
	h.wantNotFound(err, "a name of another workspace")
	_, err = h.s.GetDeploymentByName(h.ctx, ws, "f", "other")
	h.wantNotFound(err, "an unknown name")
}

// deploymentsToList makes deployments of two flows to filter and sort.
func (h *harness) deploymentsToList() (ws uuid.UUID, names map[uuid.UUID]string, a, b, c *model.Deployment) {
	ws = h.ws()
	f, g := h.flow(ws, "alpha-flow"), h.flow(ws, "beta-flow")
	a = h.deployment(ws, f.ID, "a-dep", func(d *model.Deployment) { d.Tags = []string{"x"}; d.WorkQueueName = ptr("q1") })
	b = h.deployment(ws, f.ID, "b-dep", func(d *model.Deployment) { d.Paused = true; d.ConcurrencyLimit = ptr(2) })
	c = h.deployment(ws, g.ID, "c-dep", func(d *model.Deployment) { d.Tags = []string{"x", "y"} })
	other := h.ws()
	h.deployment(other, h.flow(other, "alpha-flow").ID, "a-dep")
	return ws, map[uuid.UUID]string{a.ID: "a", b.ID: "b", c.ID: "c"}, a, b, c
}

func deploymentCases(a, b, c *model.Deployment) []listCase[store.DeploymentQuery] {
	q := func(f store.DeploymentFilter) store.DeploymentQuery { return store.DeploymentQuery{Deployments: &f} }
	return []listCase[store.DeploymentQuery]{
		{name: "all by name", q: store.DeploymentQuery{}, want: ids(a.ID, b.ID, c.ID)},
		{name: "name desc", q: store.DeploymentQuery{Sort: store.SortNameDesc}, want: ids(c.ID, b.ID, a.ID)},
		{name: "created desc", q: store.DeploymentQuery{Sort: store.SortCreatedDesc}, want: ids(c.ID, b.ID, a.ID)},
		{name: "paged", q: store.DeploymentQuery{Limit: 1, Offset: 1}, want: ids(b.ID), total: 3},
		{name: "id", q: q(store.DeploymentFilter{ID: &store.IDFilter{Any: ids(a.ID, c.ID)}}), want: ids(a.ID, c.ID)},
		{name: "name like", q: q(store.DeploymentFilter{Name: &store.NameFilter{Like: ptr("B-D")}}), want: ids(b.ID)},
		{name: "flow or deployment name", q: q(store.DeploymentFilter{FlowOrDeploymentName: &store.NameFilter{Like: ptr("beta")}}), want: ids(c.ID)},
		{name: "paused", q: q(store.DeploymentFilter{Paused: &store.BoolFilter{Eq: ptr(false)}}), want: ids(a.ID, c.ID)},
		{name: "tags all", q: q(store.DeploymentFilter{Tags: &store.TagsFilter{All: []string{"x", "y"}}}), want: ids(c.ID)},
		{name: "work queue", q: q(store.DeploymentFilter{WorkQueueName: &store.NameFilter{Any: []string{"q1"}}}), want: ids(a.ID)},
		{name: "concurrency limit", q: q(store.DeploymentFilter{ConcurrencyLimit: &store.IntFilter{GE: ptr(1)}}), want: ids(b.ID)},
		{name: "or", q: q(store.DeploymentFilter{Operator: "or_", ID: &store.IDFilter{Any: ids(a.ID)}, Paused: &store.BoolFilter{Eq: ptr(true)}}), want: ids(a.ID, b.ID)},
		{name: "by flow", q: store.DeploymentQuery{Flows: &store.FlowFilter{Name: &store.NameFilter{Any: []string{"beta-flow"}}}}, want: ids(c.ID)},
	}
}

func testListDeployments(t *testing.T, h *harness) {
	ws, names, a, b, c := h.deploymentsToList()
	cases := deploymentCases(a, b, c)
	run := h.flowRun(ws, c.FlowID, "r", state(model.Completed), func(r *model.FlowRun) { r.DeploymentID = &c.ID })
	cases = append(cases, listCase[store.DeploymentQuery]{name: "by flow run",
		q: store.DeploymentQuery{FlowRuns: &store.FlowRunFilter{ID: &store.IDFilter{Any: ids(run.ID)}}}, want: ids(c.ID)})
	checkList(h, names, func(d *model.Deployment) uuid.UUID { return d.ID },
		func(q store.DeploymentQuery) ([]*model.Deployment, error) { return h.s.ListDeployments(h.ctx, ws, q) }, nil, cases)
	// Flow runs filter by their deployment.
	got, err := h.s.ListFlowRuns(h.ctx, ws, store.RunQuery{Deployments: &store.DeploymentFilter{Name: &store.NameFilter{Any: []string{"c-dep"}}}})
	if err != nil || !slices.Equal(runIDs(got), ids(run.ID)) {
		t.Errorf("flow runs of c-dep: %v (%v)", runIDs(got), err)
	}
	got, err = h.s.ListFlowRuns(h.ctx, ws, store.RunQuery{Deployments: &store.DeploymentFilter{Name: &store.NameFilter{Any: []string{"a-dep"}}}})
	if err != nil || len(got) != 0 {
		t.Errorf("flow runs of a-dep: %v (%v)", runIDs(got), err)
	}
	_, err = h.s.ListDeployments(h.ctx, ws, store.DeploymentQuery{Sort: "BOGUS"})
	h.wantCode(err, apperr.EInvalid, "an unknown sort")
}

func testCountDeployments(t *testing.T, h *harness) {
	ws, names, a, b, c := h.deploymentsToList()
	checkList(h, names, func(d *model.Deployment) uuid.UUID { return d.ID },
		func(q store.DeploymentQuery) ([]*model.Deployment, error) { return h.s.ListDeployments(h.ctx, ws, q) },
		func(q store.DeploymentQuery) (int, error) { return h.s.CountDeployments(h.ctx, ws, q) }, deploymentCases(a, b, c))
}

func testUpdateDeployment(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	d := h.deployment(ws, h.flow(ws, "f").ID, "d", withSchedules(60, 120))
	c := time.Now().UTC().Truncate(time.Second)
	future := h.autoRun(ws, d, "future", model.At(c.Add(time.Hour)))
	past := h.autoRun(ws, d, "past", model.At(c.Add(-time.Hour)))
	keep, drop := d.Schedules[0], d.Schedules[1]
	err := h.s.UpdateDeployment(h.ctx, ws, d.ID, func(d *model.Deployment) error {
		d.Description = ptr("changed")
		d.Schedules[0].Active = false
		d.Schedules = append(d.Schedules[:1], model.DeploymentSchedule{Schedule: intervalSchedule(5), Active: true, Slug: ptr("new")})
		return nil
	})
	h.must(err, "update deployment")
	got, err := h.s.GetDeployment(h.ctx, ws, d.ID)
	h.must(err, "get deployment")
	if *got.Description != "changed" || len(got.Schedules) != 2 || got.Schedules[0].ID != keep.ID || got.Schedules[0].Active ||
		got.Schedules[1].ID == drop.ID || *got.Schedules[1].Slug != "new" || !got.Created.Equal(d.Created.Time) {
		t.Errorf("updated %+v", got)
	}
	h.wantNotFound(func() error { _, err := h.s.GetFlowRun(h.ctx, ws, future.ID); return err }(), "a future auto-scheduled run after an update")
	if _, err := h.s.GetFlowRun(h.ctx, ws, past.ID); err != nil {
		t.Errorf("the past run after an update: %v", err)
	}
	// Pausing removes the waiting auto-scheduled runs whatever their time.
	h.must(h.s.UpdateDeployment(h.ctx, ws, d.ID, func(d *model.Deployment) error { d.Paused = true; return nil }), "pause")
	h.wantNotFound(func() error { _, err := h.s.GetFlowRun(h.ctx, ws, past.ID); return err }(), "a past waiting run after pausing")
	// A failing patch changes nothing; another workspace cannot update.
	before, _ := h.s.GetDeployment(h.ctx, ws, d.ID)
	h.wantCode(h.s.UpdateDeployment(h.ctx, ws, d.ID, func(d *model.Deployment) error {
		d.Description = ptr("lost")
		return apperr.Errorf(apperr.EInvalid, "no")
	}), apperr.EInvalid, "a refused patch")
	h.wantNotFound(h.s.UpdateDeployment(h.ctx, other, d.ID, func(*model.Deployment) error { return nil }), "another workspace")
	after, _ := h.s.GetDeployment(h.ctx, ws, d.ID)
	if canonJSON(before) != canonJSON(after) {
		t.Errorf("refused updates changed the deployment:\n%s\n%s", canonJSON(before), canonJSON(after))
	}
}

func testDeleteDeployments(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	d := h.deployment(ws, h.flow(ws, "f").ID, "d", withSchedules(60))
	c := time.Now().UTC().Truncate(time.Second)
	waiting := h.autoRun(ws, d, "waiting", model.At(c.Add(time.Hour)))
	done := h.flowRun(ws, d.FlowID, "done", state(model.Completed), func(r *model.FlowRun) { r.DeploymentID = &d.ID })
	h.wantNotFound(store.DeleteOne(h.s.DeleteDeployments)(h.ctx, other, d.ID), "another workspace's deployment")
	h.must(store.DeleteOne(h.s.DeleteDeployments)(h.ctx, ws, d.ID), "delete deployment")
	_, err := h.s.GetDeployment(h.ctx, ws, d.ID)
	h.wantNotFound(err, "a deleted deployment")
	_, err = h.s.GetFlowRun(h.ctx, ws, waiting.ID)
	h.wantNotFound(err, "its waiting run")
	if _, err := h.s.GetFlowRun(h.ctx, ws, done.ID); err != nil {
		t.Errorf("its finished run: %v", err)
	}
	h.wantNotFound(store.DeleteOne(h.s.DeleteDeployments)(h.ctx, ws, d.ID), "deleting twice")
	f := h.flow(ws, "g")
	checkBulkDelete(h, "deployment", h.s.DeleteDeployments, ws, []uuid.UUID{h.deployment(ws, f.ID, "a").ID, h.deployment(ws, f.ID, "b").ID},
		other, h.deployment(other, h.flow(other, "f").ID, "theirs").ID, func(ws, id uuid.UUID) error {
			_, err := h.s.GetDeployment(h.ctx, ws, id)
			return err
		})
}

func testPollDeployments(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	flow := h.flow(ws, "f")
	d := h.deployment(ws, flow.ID, "d")
	e := h.deployment(ws, flow.ID, "e")
	c := time.Now().UTC().Truncate(time.Second)
	soon := h.autoRun(ws, d, "soon", model.At(c.Add(5*time.Second)))
	due := h.autoRun(ws, d, "due", model.At(c.Add(-time.Minute)))
	h.autoRun(ws, d, "later", model.At(c.Add(time.Hour)))
	h.autoRun(ws, e, "e-due", model.At(c.Add(-time.Minute)))
	h.flowRun(ws, flow.ID, "running", state(model.Running), func(r *model.FlowRun) { r.DeploymentID = &d.ID })
	runs, err := h.s.PollDeployments(h.ctx, ws, ids(d.ID), c.Add(10*time.Second), 0)
	if err != nil || !slices.Equal(runIDs(runs), ids(due.ID, soon.ID)) {
		t.Errorf("poll: %v (%v), want [due soon]", runIDs(runs), err)
	}
	if runs, err := h.s.PollDeployments(h.ctx, ws, ids(d.ID), c.Add(10*time.Second), 1); err != nil || !slices.Equal(runIDs(runs), ids(due.ID)) {
		t.Errorf("poll with limit 1: %v (%v)", runIDs(runs), err)
	}
	got, _ := h.s.GetDeployment(h.ctx, ws, d.ID)
	if got.Status != model.DeploymentReady || got.LastPolled == nil || !got.Updated.Equal(d.Updated.Time) {
		t.Errorf("polled deployment: status %s, last polled %v, updated %v (was %v)", got.Status, got.LastPolled, got.Updated, d.Updated)
	}
	if untouched, _ := h.s.GetDeployment(h.ctx, ws, e.ID); untouched.Status != model.DeploymentNotReady {
		t.Errorf("an unpolled deployment is %s", untouched.Status)
	}
	// Another workspace sees no runs and marks nothing.
	h.must(h.s.UpdateDeployment(h.ctx, ws, e.ID, func(*model.Deployment) error { return nil }), "touch e")
	if runs, err := h.s.PollDeployments(h.ctx, other, ids(e.ID), c.Add(time.Hour), 0); err != nil || len(runs) != 0 {
		t.Errorf("another workspace's poll: %v (%v)", runIDs(runs), err)
	}
	if untouched, _ := h.s.GetDeployment(h.ctx, ws, e.ID); untouched.Status != model.DeploymentNotReady {
		t.Errorf("another workspace's poll made e %s", untouched.Status)
	}
	t.Run("marks polled when it changes something", func(t *testing.T) { testRunnerPollMarks(t, h) })
}

// testRunnerPollMarks: a runner's poll, like a worker's (testPollMarks),
// marks a deployment not READY at once and renews last_polled once it is
// more than 5 s old, not at every poll.
func testRunnerPollMarks(t *testing.T, h *harness) {
	clk := clocks.NewFake(time.Now().UTC().Truncate(time.Second))
	h = h.freshAt(t, clk)
	ws := h.ws()
	flow := h.flow(ws, "f")
	d := h.deployment(ws, flow.ID, "d")
	poll := func(what string, deployments ...*model.Deployment) {
		t.Helper()
		var polled []uuid.UUID
		for _, dep := range deployments {
			polled = append(polled, dep.ID)
		}
		_, err := h.s.PollDeployments(h.ctx, ws, polled, clk.Now(), 0)
		h.must(err, what)
	}
	t0 := clk.Now()
	poll("first poll", d)
	h.wantPolledAt("the first poll", ws, d, t0)
	clk.Advance(2 * time.Second)
	poll("a poll 2 s later", d)
	h.wantPolledAt("a poll 2 s later", ws, d, t0)
	// A deployment not READY among them is marked at once, with the rest.
	e := h.deployment(ws, flow.ID, "e")
	t1 := clk.Advance(time.Second)
	poll("a poll with a new deployment", d, e)
	h.wantPolledAt("a poll with a new deployment", ws, d, t1)
	h.wantPolledAt("a poll with a new deployment", ws, e, t1)
	clk.Advance(4 * time.Second)
	poll("a poll 4 s later", d, e)
	h.wantPolledAt("a poll 4 s later", ws, e, t1)
	t2 := clk.Advance(2 * time.Second)
	poll("a poll 6 s later", d, e)
	h.wantPolledAt("a poll 6 s later", ws, d, t2)
	h.wantPolledAt("a poll 6 s later", ws, e, t2)
}

func testSchedulableDeployments(t *testing.T, h *harness) {
	h2 := h.freshAt(t, clocks.Real)
	s := h2.s
	ws := h2.ws()
	flow := h2.flow(ws, "f")
	now := time.Now().UTC().Truncate(time.Second)
	empty := h2.deployment(ws, flow.ID, "empty", withSchedules(60))
	full := h2.deployment(ws, flow.ID, "full", withSchedules(60))
	short := h2.deployment(ws, flow.ID, "short", withSchedules(60))
	h2.deployment(ws, flow.ID, "paused", withSchedules(60), func(d *model.Deployment) { d.Paused = true })
	h2.deployment(ws, flow.ID, "inactive", func(d *model.Deployment) {
		d.Schedules = []model.DeploymentSchedule{{Schedule: intervalSchedule(60), Active: false}}
	})
	h2.deployment(ws, flow.ID, "unscheduled")
	for i := 1; i <= 3; i++ {
		h2.autoRun(ws, full, "full", model.At(now.Add(time.Duration(i)*time.Hour)))
		h2.autoRun(ws, short, "short", model.At(now.Add(time.Duration(i)*time.Minute)))
	}
	got, err := s.SchedulableDeployments(h.ctx, now, now.Add(time.Hour), 3)
	h.must(err, "schedulable deployments")
	var names []string
	for _, wd := range got {
		if wd.Workspace != ws || len(wd.Deployment.Schedules) != 1 {
			t.Errorf("%s: workspace %s, %d schedules", wd.Deployment.Name, wd.Workspace, len(wd.Deployment.Schedules))
		}
		names = append(names, wd.Deployment.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"empty", "short"}) {
		t.Errorf("schedulable: %v, want [empty short]", names)
	}
	_ = empty
}

func testCreateScheduledRuns(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	d := h.deployment(ws, h.flow(ws, "f").ID, "d", withSchedules(60))
	at := time.Now().UTC().Truncate(time.Second).Add(time.Hour)
	mk := func(i int) store.ScheduledRun {
		t := model.At(at.Add(time.Duration(i) * time.Minute))
		key := "scheduled " + d.ID.String() + " " + t.String()
		return store.ScheduledRun{Run: &model.FlowRun{ID: newID(), FlowID: d.FlowID, Name: "r", DeploymentID: &d.ID,
			AutoScheduled: true, IdempotencyKey: &key},
			Initial: model.StateCreate{Type: model.Scheduled, StateDetails: &model.StateDetails{ScheduledTime: &t}}}
	}
	n, err := h.s.CreateScheduledRuns(h.ctx, ws, []store.ScheduledRun{mk(0), mk(1)})
	if err != nil || n != 2 {
		t.Fatalf("first: %d (%v)", n, err)
	}
	// The same keys again, with one new: only the new one is made.
	n, err = h.s.CreateScheduledRuns(h.ctx, ws, []store.ScheduledRun{mk(0), mk(1), mk(2)})
	if err != nil || n != 1 {
		t.Errorf("again: %d (%v), want 1", n, err)
	}
	runs, err := h.s.ListFlowRuns(h.ctx, ws, store.RunQuery{Sort: store.SortNextScheduledStartTimeAsc})
	h.must(err, "list runs")
	if len(runs) != 3 || !runs[0].AutoScheduled || *runs[0].StateType != model.Scheduled || !runs[2].NextScheduledStartTime.Equal(at.Add(2*time.Minute)) {
		t.Errorf("runs: %+v", runs)
	}
	// Another workspace cannot create runs of this flow.
	_, err = h.s.CreateScheduledRuns(h.ctx, other, []store.ScheduledRun{mk(3)})
	if err == nil {
		t.Error("runs of another workspace's flow were created")
	}
	if n, _ := h.s.CountFlowRuns(h.ctx, other, store.RunQuery{}); n != 0 {
		t.Errorf("other workspace has %d runs", n)
	}
}

func testLateRuns(t *testing.T, h *harness) {
	h2 := h.freshAt(t, clocks.Real)
	s := h2.s
	ws := h2.ws()
	flow := h2.flow(ws, "f")
	d := h2.deployment(ws, flow.ID, "d", func(d *model.Deployment) { d.ConcurrencyLimit = ptr(1) })
	now := time.Now().UTC().Truncate(time.Second)
	late := h2.autoRun(ws, d, "late", model.At(now.Add(-time.Minute)))
	orphan := h2.flowRun(ws, flow.ID, "orphan", scheduledFor(model.At(now.Add(-2*time.Minute)), model.At(now.Add(-3*time.Minute))))
	h2.autoRun(ws, d, "recent", model.At(now.Add(-5*time.Second)))
	h2.flowRun(ws, flow.ID, "retrying", model.StateCreate{Type: model.Scheduled, Name: ptr("AwaitingRetry"),
		StateDetails: &model.StateDetails{ScheduledTime: ptr(model.At(now.Add(-time.Hour)))}})
	h2.flowRun(ws, flow.ID, "active", state(model.Running), func(r *model.FlowRun) { r.DeploymentID = &d.ID })
	got, err := s.LateRuns(h.ctx, now.Add(-15*time.Second), 0)
	h.must(err, "late runs")
	if len(got) != 2 || got[0].Run.ID != orphan.ID || got[1].Run.ID != late.ID {
		t.Fatalf("late runs: %+v", got)
	}
	if got[0].Deployment != nil || got[0].Workspace != ws || got[1].Deployment == nil || got[1].Deployment.ID != d.ID || got[1].ActiveRuns != 1 {
		t.Errorf("late runs' context: %+v / %+v", got[0], got[1])
	}
	if got, err := s.LateRuns(h.ctx, now.Add(-15*time.Second), 1); err != nil || len(got) != 1 {
		t.Errorf("limit 1: %d (%v)", len(got), err)
	}
	// Once Late, a run is not late again.
	h2.setFlowRunState(ws, late.ID, model.StateCreate{Type: model.Scheduled, Name: ptr("Late"),
		StateDetails: &model.StateDetails{ScheduledTime: late.NextScheduledStartTime}}, false)
	if got, _ := s.LateRuns(h.ctx, now.Add(-15*time.Second), 0); len(got) != 1 || got[0].Run.ID != orphan.ID {
		t.Errorf("after marking late: %+v", got)
	}
}

func testCatchUpDeployments(t *testing.T, h *harness) {
	h2 := h.freshAt(t, clocks.Real)
	s := h2.s
	ws := h2.ws()
	flow := h2.flow(ws, "f")
	h2.deployment(ws, flow.ID, "default")
	h2.deployment(ws, flow.ID, "all", func(d *model.Deployment) { d.CatchUp.Mode = model.CatchUpAll })
	latest := h2.deployment(ws, flow.ID, "latest", func(d *model.Deployment) { d.CatchUp.Mode = model.CatchUpLatest })
	capped := h2.deployment(ws, flow.ID, "capped", func(d *model.Deployment) { d.CatchUp.MaxLateRuns = ptr(3) })
	got, err := s.CatchUpDeployments(h.ctx)
	h.must(err, "catch-up deployments")
	var found []uuid.UUID
	for _, wd := range got {
		found = append(found, wd.Deployment.ID)
	}
	slices.SortFunc(found, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
	if !slices.Equal(found, ids(latest.ID, capped.ID)) {
		t.Errorf("catch-up deployments: %v, want latest and capped", found)
	}
}

func testDueRuns(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	d := h.deployment(ws, h.flow(ws, "f").ID, "d")
	now := time.Now().UTC().Truncate(time.Second)
	older := h.autoRun(ws, d, "older", model.At(now.Add(-2*time.Minute)))
	newer := h.autoRun(ws, d, "newer", model.At(now.Add(-time.Minute)))
	h.autoRun(ws, d, "future", model.At(now.Add(time.Minute)))
	h.flowRun(ws, d.FlowID, "retry", model.StateCreate{Type: model.Scheduled, Name: ptr("AwaitingRetry"),
		StateDetails: &model.StateDetails{ScheduledTime: ptr(model.At(now.Add(-time.Hour)))}}, func(r *model.FlowRun) { r.DeploymentID = &d.ID })
	got, err := h.s.DueRuns(h.ctx, ws, d.ID, now)
	if err != nil || !slices.Equal(runIDs(got), ids(newer.ID, older.ID)) {
		t.Errorf("due runs: %v (%v), want [newer older]", runIDs(got), err)
	}
	if got, err := h.s.DueRuns(h.ctx, other, d.ID, now); err != nil || len(got) != 0 {
		t.Errorf("another workspace: %v (%v)", runIDs(got), err)
	}
}

func testMarkDeploymentsNotReady(t *testing.T, h *harness) {
	h2 := h.freshAt(t, clocks.Real)
	s := h2.s
	ws := h2.ws()
	flow := h2.flow(ws, "f")
	d := h2.deployment(ws, flow.ID, "d")
	_, err := s.PollDeployments(h.ctx, ws, ids(d.ID), time.Now(), 0)
	h.must(err, "poll")
	if n, err := s.MarkDeploymentsNotReady(h.ctx, time.Now().Add(-time.Minute)); err != nil || n != 0 {
		t.Errorf("a fresh poll: %d marked (%v)", n, err)
	}
	if n, err := s.MarkDeploymentsNotReady(h.ctx, time.Now().Add(time.Minute)); err != nil || n != 1 {
		t.Errorf("a stale poll: %d marked (%v)", n, err)
	}
	if got, _ := s.GetDeployment(h.ctx, ws, d.ID); got.Status != model.DeploymentNotReady {
		t.Errorf("status %s", got.Status)
	}
}

func testOrchestrateFlowRun(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	flow := h.flow(ws, "f")
	past := model.At(time.Now().UTC().Add(-time.Minute).Truncate(time.Second))
	run := h.flowRun(ws, flow.ID, "r", scheduledFor(past, past))
	// A rule's decision is written: MarkLate makes a waiting run Late with
	// its reason, once.
	res, err := h.s.OrchestrateFlowRun(h.ctx, ws, func(ctx context.Context, tx orchestration.FlowRunTx) (*orchestration.Result, error) {
		return orchestration.MarkLate(ctx, tx, run.ID, "because")
	})
	if err != nil || res == nil || !res.Written || res.State.Name != "Late" || *res.State.Message != "because" ||
		!res.State.StateDetails.ScheduledTime.Equal(past.Time) {
		t.Fatalf("mark late: %+v (%v)", res, err)
	}
	if res, err := h.s.OrchestrateFlowRun(h.ctx, ws, func(ctx context.Context, tx orchestration.FlowRunTx) (*orchestration.Result, error) {
		return orchestration.MarkLate(ctx, tx, run.ID, "again")
	}); err != nil || res != nil {
		t.Errorf("marking a Late run late again: %+v (%v)", res, err)
	}
	// A failing rule writes nothing, though it wrote before failing.
	boom := apperr.Errorf(apperr.EInvalid, "boom")
	_, err = h.s.OrchestrateFlowRun(h.ctx, ws, func(ctx context.Context, tx orchestration.FlowRunTx) (*orchestration.Result, error) {
		if _, err := orchestration.SkipMissed(ctx, tx, run.ID, "skip"); err != nil {
			return nil, err
		}
		return nil, boom
	})
	h.wantCode(err, apperr.EInvalid, "a failing rule")
	if got, _ := h.s.GetFlowRun(h.ctx, ws, run.ID); got.State.Name != "Late" {
		t.Errorf("a failing rule left the run %s", got.State.Name)
	}
	// Another workspace's rule does not find the run.
	_, err = h.s.OrchestrateFlowRun(h.ctx, other, func(ctx context.Context, tx orchestration.FlowRunTx) (*orchestration.Result, error) {
		return orchestration.SkipMissed(ctx, tx, run.ID, "skip")
	})
	h.wantNotFound(err, "another workspace's run")
	// SkipMissed cancels a waiting run that never ran.
	res, err = h.s.OrchestrateFlowRun(h.ctx, ws, func(ctx context.Context, tx orchestration.FlowRunTx) (*orchestration.Result, error) {
		return orchestration.SkipMissed(ctx, tx, run.ID, "skip")
	})
	if err != nil || res == nil || res.State.Type != model.Cancelled || res.State.Name != orchestration.SkippedName {
		t.Errorf("skip: %+v (%v)", res, err)
	}
}
