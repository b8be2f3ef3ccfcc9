package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	clocks "github.com/praetorhq/praetor/internal/clock"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

// pool creates a work pool of type process named name, after edit (if any)
// changed it.
func (h *harness) pool(ws uuid.UUID, name string, edit ...func(*model.WorkPool)) *model.WorkPool {
	h.t.Helper()
	p := &model.WorkPool{Name: name, Type: "process"}
	for _, e := range edit {
		e(p)
	}
	h.must(h.s.CreateWorkPool(h.ctx, ws, p), "create work pool "+name)
	return p
}

// queue creates a queue in pool, after edit changed it.
func (h *harness) queue(ws uuid.UUID, pool, name string, edit ...func(*model.WorkQueue)) *model.WorkQueue {
	h.t.Helper()
	q := &model.WorkQueue{Name: name}
	for _, e := range edit {
		e(q)
	}
	h.must(h.s.CreateWorkQueue(h.ctx, ws, pool, q), "create work queue "+name)
	return q
}

// queuePriorities lists a pool's queues by priority as name:priority.
func (h *harness) queuePriorities(ws uuid.UUID, pool string) []string {
	h.t.Helper()
	qs, err := h.s.ListWorkQueues(h.ctx, ws, store.WorkQueueQuery{Pool: pool})
	h.must(err, "list queues")
	out := make([]string, len(qs))
	for i, q := range qs {
		out[i] = fmt.Sprintf("%s:%d", q.Name, q.Priority)
	}
	return out
}

func testCreateWorkPool(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	limit := 3
	p := h.pool(ws, "main", func(p *model.WorkPool) {
		p.Description, p.ConcurrencyLimit = ptr("d"), &limit
		p.BaseJobTemplate = map[string]any{"job_configuration": map[string]any{"command": "{{ command }}"}}
	})
	if p.ID == uuid.Nil || p.Status != model.PoolNotReady || p.DefaultQueueID == uuid.Nil || p.ActiveSlots == nil || *p.ActiveSlots != 0 {
		t.Fatalf("created %+v", p)
	}
	q, err := h.s.GetWorkQueue(h.ctx, ws, p.DefaultQueueID)
	h.must(err, "default queue")
	if q.Name != model.DefaultQueueName || q.Priority != 1 || q.WorkPoolID != p.ID || q.WorkPoolName != "main" || q.Status != model.QueueNotReady {
		t.Errorf("default queue %+v", q)
	}
	h.wantCode(h.s.CreateWorkPool(h.ctx, ws, &model.WorkPool{Name: "main", Type: "docker"}), apperr.EConflict, "a second pool of one name")
	// Another workspace may use the name; a paused pool starts PAUSED.
	paused := &model.WorkPool{Name: "main", Type: "process", IsPaused: true}
	h.must(h.s.CreateWorkPool(h.ctx, other, paused), "the name in another workspace")
	if paused.Status != model.PoolPaused || paused.ID == p.ID {
		t.Errorf("paused pool %+v", paused)
	}
}

func testGetWorkPool(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	p := h.pool(ws, "get", func(p *model.WorkPool) {
		p.BaseJobTemplate = map[string]any{"variables": map[string]any{"type": "object"}}
	})
	got, err := h.s.GetWorkPool(h.ctx, ws, "get")
	h.must(err, "get pool")
	if got.ID != p.ID || got.Type != "process" || got.BaseJobTemplate["variables"] == nil || got.ActiveSlots != nil {
		t.Errorf("got %+v", got)
	}
	_, err = h.s.GetWorkPool(h.ctx, other, "get")
	h.wantNotFound(err, "a pool of another workspace")
	_, err = h.s.GetWorkPool(h.ctx, ws, "missing")
	h.wantNotFound(err, "a missing pool")
}

func (h *harness) poolsToList() (ws uuid.UUID, names map[uuid.UUID]string, a, b, c *model.WorkPool) {
	ws = h.ws()
	a = h.pool(ws, "alpha")
	b = h.pool(ws, "beta", func(p *model.WorkPool) { p.Type = "docker" })
	c = h.pool(ws, "gamma")
	h.pool(h.ws(), "alpha") // another workspace's
	return ws, map[uuid.UUID]string{a.ID: "alpha", b.ID: "beta", c.ID: "gamma"}, a, b, c
}

func poolCases(a, b, c *model.WorkPool) []listCase[store.WorkPoolQuery] {
	f := func(f store.WorkPoolFilter) store.WorkPoolQuery { return store.WorkPoolQuery{WorkPools: &f} }
	return []listCase[store.WorkPoolQuery]{
		{name: "all by name", q: store.WorkPoolQuery{}, want: ids(a.ID, b.ID, c.ID)},
		{name: "by name", q: f(store.WorkPoolFilter{Name: &store.NameFilter{Any: []string{"beta", "gamma"}}}), want: ids(b.ID, c.ID)},
		{name: "by type", q: f(store.WorkPoolFilter{Type: &store.NameFilter{Any: []string{"process"}}}), want: ids(a.ID, c.ID)},
		{name: "by id", q: f(store.WorkPoolFilter{ID: &store.IDFilter{Any: []uuid.UUID{c.ID}}}), want: ids(c.ID)},
		{name: "paged", q: store.WorkPoolQuery{Limit: 1, Offset: 1}, want: ids(b.ID), total: 3},
	}
}

func testListWorkPools(t *testing.T, h *harness) {
	ws, names, a, b, c := h.poolsToList()
	checkList(h, names, func(p *model.WorkPool) uuid.UUID { return p.ID },
		func(q store.WorkPoolQuery) ([]*model.WorkPool, error) { return h.s.ListWorkPools(h.ctx, ws, q) }, nil, poolCases(a, b, c))
}

func testCountWorkPools(t *testing.T, h *harness) {
	ws, names, a, b, c := h.poolsToList()
	checkList(h, names, func(p *model.WorkPool) uuid.UUID { return p.ID },
		func(q store.WorkPoolQuery) ([]*model.WorkPool, error) { return h.s.ListWorkPools(h.ctx, ws, q) },
		func(q store.WorkPoolQuery) (int, error) { return h.s.CountWorkPools(h.ctx, ws, q) }, poolCases(a, b, c))
}

func testUpdateWorkPool(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	p := h.pool(ws, "upd")
	two := 2
	h.must(h.s.UpdateWorkPool(h.ctx, ws, "upd", func(p *model.WorkPool) error {
		p.Description, p.ConcurrencyLimit, p.IsPaused = ptr("new"), &two, true
		p.BaseJobTemplate = map[string]any{"variables": map[string]any{}}
		p.Name, p.DefaultQueueID = "renamed", uuid.Nil // not the patch's to change
		return nil
	}), "update pool")
	got, err := h.s.GetWorkPool(h.ctx, ws, "upd")
	h.must(err, "get pool")
	if *got.Description != "new" || *got.ConcurrencyLimit != 2 || !got.IsPaused || got.Status != model.PoolPaused ||
		got.DefaultQueueID != p.DefaultQueueID || got.BaseJobTemplate["variables"] == nil || *got.ActiveSlots != 0 {
		t.Errorf("updated %+v", got)
	}
	// Resuming without an online worker: NOT_READY; with one, READY.
	resume := func(paused bool) error {
		return h.s.UpdateWorkPool(h.ctx, ws, "upd", func(p *model.WorkPool) error { p.IsPaused = paused; return nil })
	}
	h.must(resume(false), "resume")
	if got, _ := h.s.GetWorkPool(h.ctx, ws, "upd"); got.Status != model.PoolNotReady {
		t.Errorf("resumed without workers: %s", got.Status)
	}
	h.must(resume(true), "pause")
	h.must(h.s.WorkerHeartbeat(h.ctx, ws, "upd", "w", nil), "heartbeat")
	h.must(resume(false), "resume")
	if got, _ := h.s.GetWorkPool(h.ctx, ws, "upd"); got.Status != model.PoolReady {
		t.Errorf("resumed with a worker: %s", got.Status)
	}
	// A failing patch changes nothing; another workspace finds nothing.
	h.wantCode(h.s.UpdateWorkPool(h.ctx, ws, "upd", func(p *model.WorkPool) error {
		p.Description = ptr("x")
		return apperr.Errorf(apperr.EInvalid, "no")
	}), apperr.EInvalid, "a failing patch")
	if got, _ := h.s.GetWorkPool(h.ctx, ws, "upd"); *got.Description != "new" {
		t.Errorf("a failing patch changed the pool: %v", *got.Description)
	}
	h.wantNotFound(h.s.UpdateWorkPool(h.ctx, other, "upd", func(*model.WorkPool) error { return nil }), "another workspace's pool")
}

func testDeleteWorkPool(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	p := h.pool(ws, "del")
	h.queue(ws, "del", "extra")
	h.must(h.s.WorkerHeartbeat(h.ctx, ws, "del", "w", nil), "heartbeat")
	flow := h.flow(ws, "f")
	d := h.deployment(ws, flow.ID, "d", func(d *model.Deployment) { d.WorkPoolName = ptr("del") })
	h.pool(ws, "kept")
	runs := map[string]*model.FlowRun{
		"done":   h.queuedRun(ws, flow.ID, "del", "extra", state(model.Completed)),
		"queued": h.queuedRun(ws, flow.ID, "del", "default", state(model.Scheduled)),
		"kept":   h.queuedRun(ws, flow.ID, "kept", "default", state(model.Scheduled)),
	}
	h.wantNotFound(h.s.DeleteWorkPool(h.ctx, other, "del"), "another workspace's pool")
	h.must(h.s.DeleteWorkPool(h.ctx, ws, "del"), "delete pool")
	// Its runs lose their queue and pool, keep the queue's name, and are
	// not otherwise changed; another pool's runs keep theirs.
	h.wantDetached(ws, runs["done"], "extra")
	h.wantDetached(ws, runs["queued"], "default")
	if got, err := h.s.GetFlowRun(h.ctx, ws, runs["kept"].ID); err != nil || got.WorkQueueID == nil || got.WorkPoolName == nil || *got.WorkPoolName != "kept" {
		t.Errorf("a run of another pool after the delete: %+v (%v)", got, err)
	}
	_, err := h.s.GetWorkPool(h.ctx, ws, "del")
	h.wantNotFound(err, "the deleted pool")
	_, err = h.s.GetWorkQueue(h.ctx, ws, p.DefaultQueueID)
	h.wantNotFound(err, "the deleted pool's queue")
	got, err := h.s.GetDeployment(h.ctx, ws, d.ID)
	h.must(err, "the pool's deployment stays")
	if got.WorkQueueID != nil || got.WorkPoolName != nil {
		t.Errorf("deployment of a deleted pool: queue %v, pool %v", got.WorkQueueID, got.WorkPoolName)
	}
	h.wantNotFound(h.s.DeleteWorkPool(h.ctx, ws, "del"), "a second delete")
}

func testCreateWorkQueue(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	h.pool(ws, "p")
	two := 2
	q := h.queue(ws, "p", "high", func(q *model.WorkQueue) { q.Description, q.ConcurrencyLimit = ptr("d"), &two })
	if q.ID == uuid.Nil || q.Priority != 2 || q.WorkPoolName != "p" || q.Status != model.QueueNotReady || *q.ActiveSlots != 0 {
		t.Errorf("created %+v", q)
	}
	// A given priority moves the queues at and after it down.
	h.queue(ws, "p", "top", func(q *model.WorkQueue) { q.Priority = 1 })
	if got := h.queuePriorities(ws, "p"); !slices.Equal(got, []string{"top:1", "default:2", "high:3"}) {
		t.Errorf("priorities %v", got)
	}
	h.wantCode(h.s.CreateWorkQueue(h.ctx, ws, "p", &model.WorkQueue{Name: "high"}), apperr.EConflict, "a second queue of one name")
	h.wantNotFound(h.s.CreateWorkQueue(h.ctx, other, "p", &model.WorkQueue{Name: "x"}), "a queue in another workspace's pool")
	paused := h.queue(ws, "p", "paused", func(q *model.WorkQueue) { q.IsPaused = true })
	if paused.Status != model.QueuePaused || paused.Priority != 4 {
		t.Errorf("paused queue %+v", paused)
	}
}

func testGetWorkQueue(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	h.pool(ws, "p")
	q := h.queue(ws, "p", "q")
	got, err := h.s.GetWorkQueue(h.ctx, ws, q.ID)
	h.must(err, "get queue")
	if got.Name != "q" || got.WorkPoolName != "p" || got.ActiveSlots != nil {
		t.Errorf("got %+v", got)
	}
	_, err = h.s.GetWorkQueue(h.ctx, other, q.ID)
	h.wantNotFound(err, "another workspace's queue")
}

func testGetWorkQueueByName(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	h.pool(ws, "p")
	h.pool(ws, "p2")
	q := h.queue(ws, "p", "q")
	got, err := h.s.GetWorkQueueByName(h.ctx, ws, "p", "q")
	if err != nil || got.ID != q.ID {
		t.Errorf("by name: %+v (%v)", got, err)
	}
	_, err = h.s.GetWorkQueueByName(h.ctx, ws, "p2", "q")
	h.wantNotFound(err, "the queue in another pool")
	_, err = h.s.GetWorkQueueByName(h.ctx, other, "p", "q")
	h.wantNotFound(err, "another workspace's queue")
}

func testListWorkQueues(t *testing.T, h *harness) {
	ws := h.ws()
	p := h.pool(ws, "p")
	other := h.pool(ws, "other")
	a := h.queue(ws, "p", "a")
	b := h.queue(ws, "p", "b", func(q *model.WorkQueue) { q.Priority = 1 })
	h.pool(h.ws(), "p")
	names := map[uuid.UUID]string{p.DefaultQueueID: "default", a.ID: "a", b.ID: "b", other.DefaultQueueID: "other/default"}
	list := func(q store.WorkQueueQuery) ([]*model.WorkQueue, error) { return h.s.ListWorkQueues(h.ctx, ws, q) }
	checkList(h, names, func(q *model.WorkQueue) uuid.UUID { return q.ID }, list, nil, []listCase[store.WorkQueueQuery]{
		{name: "a pool's by priority", q: store.WorkQueueQuery{Pool: "p"}, want: ids(b.ID, p.DefaultQueueID, a.ID)},
		{name: "by name", q: store.WorkQueueQuery{Pool: "p", WorkQueues: &store.WorkQueueFilter{Name: &store.NameFilter{Any: []string{"a"}}}}, want: ids(a.ID)},
		// p's default queue moved to priority 2 when b took 1.
		{name: "every pool's", q: store.WorkQueueQuery{WorkQueues: &store.WorkQueueFilter{Name: &store.NameFilter{Any: []string{"default"}}}},
			want: ids(other.DefaultQueueID, p.DefaultQueueID)},
		{name: "paged", q: store.WorkQueueQuery{Pool: "p", Limit: 1, Offset: 2}, want: ids(a.ID)},
	})
	_, err := h.s.ListWorkQueues(h.ctx, ws, store.WorkQueueQuery{Pool: "missing"})
	h.wantNotFound(err, "the queues of a missing pool")
}

func testUpdateWorkQueue(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	h.pool(ws, "p")
	a := h.queue(ws, "p", "a")
	h.queue(ws, "p", "b")
	one := 1
	h.must(h.s.UpdateWorkQueue(h.ctx, ws, a.ID, func(q *model.WorkQueue) error {
		q.Priority, q.IsPaused, q.ConcurrencyLimit, q.Description = 1, true, &one, ptr("x")
		return nil
	}), "update queue")
	got, err := h.s.GetWorkQueue(h.ctx, ws, a.ID)
	h.must(err, "get queue")
	if got.Priority != 1 || !got.IsPaused || got.Status != model.QueuePaused || *got.ConcurrencyLimit != 1 || *got.Description != "x" {
		t.Errorf("updated %+v", got)
	}
	if got := h.queuePriorities(ws, "p"); !slices.Equal(got, []string{"a:1", "default:2", "b:3"}) {
		t.Errorf("priorities %v", got)
	}
	h.must(h.s.UpdateWorkQueue(h.ctx, ws, a.ID, func(q *model.WorkQueue) error { q.IsPaused = false; return nil }), "resume")
	if got, _ := h.s.GetWorkQueue(h.ctx, ws, a.ID); got.Status != model.QueueNotReady {
		t.Errorf("resumed queue %s", got.Status)
	}
	h.wantCode(h.s.UpdateWorkQueue(h.ctx, ws, a.ID, func(q *model.WorkQueue) error { q.Name = "b"; return nil }), apperr.EConflict, "a taken name")
	h.wantNotFound(h.s.UpdateWorkQueue(h.ctx, other, a.ID, func(*model.WorkQueue) error { return nil }), "another workspace's queue")
}

func testDeleteWorkQueue(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	p := h.pool(ws, "p")
	q := h.queue(ws, "p", "q")
	h.wantCode(h.s.DeleteWorkQueue(h.ctx, ws, p.DefaultQueueID), apperr.EInvalid, "the default queue")
	h.wantNotFound(h.s.DeleteWorkQueue(h.ctx, other, q.ID), "another workspace's queue")
	flow := h.flow(ws, "f")
	gone := h.queuedRun(ws, flow.ID, "p", "q", state(model.Running))
	stays := h.queuedRun(ws, flow.ID, "p", "default", state(model.Running))
	h.must(h.s.DeleteWorkQueue(h.ctx, ws, q.ID), "delete queue")
	_, err := h.s.GetWorkQueue(h.ctx, ws, q.ID)
	h.wantNotFound(err, "the deleted queue")
	h.wantDetached(ws, gone, "q")
	if got, err := h.s.GetFlowRun(h.ctx, ws, stays.ID); err != nil || got.WorkQueueID == nil || *got.WorkQueueID != p.DefaultQueueID {
		t.Errorf("a run of the pool's other queue after the delete: %+v (%v)", got, err)
	}
	if _, err := h.s.GetWorkQueue(h.ctx, ws, p.DefaultQueueID); err != nil {
		t.Errorf("default queue after refused delete: %v", err)
	}
}

func testWorkerHeartbeat(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	p := h.pool(ws, "p")
	h.must(h.s.WorkerHeartbeat(h.ctx, ws, "p", "w1", ptr(10)), "first heartbeat")
	first, err := h.s.ListWorkers(h.ctx, ws, "p", store.WorkerQuery{})
	h.must(err, "list workers")
	if len(first) != 1 || first[0].Name != "w1" || first[0].Status != model.WorkerOnline || first[0].WorkPoolID != p.ID ||
		*first[0].HeartbeatIntervalSeconds != 10 || first[0].LastHeartbeatTime == nil {
		t.Fatalf("workers %+v", first)
	}
	if got, _ := h.s.GetWorkPool(h.ctx, ws, "p"); got.Status != model.PoolReady {
		t.Errorf("pool with a worker: %s", got.Status)
	}
	// Again: the same worker, a later heartbeat, the interval kept when
	// not sent.
	h.must(h.s.WorkerHeartbeat(h.ctx, ws, "p", "w1", nil), "second heartbeat")
	again, _ := h.s.ListWorkers(h.ctx, ws, "p", store.WorkerQuery{})
	if len(again) != 1 || again[0].ID != first[0].ID || again[0].LastHeartbeatTime.Before(first[0].LastHeartbeatTime.Time) ||
		again[0].HeartbeatIntervalSeconds == nil || *again[0].HeartbeatIntervalSeconds != 10 {
		t.Errorf("after a second heartbeat %+v", again)
	}
	h.wantNotFound(h.s.WorkerHeartbeat(h.ctx, other, "p", "w1", nil), "a heartbeat to another workspace's pool")
	// A paused pool stays PAUSED.
	h.pool(ws, "paused", func(p *model.WorkPool) { p.IsPaused = true })
	h.must(h.s.WorkerHeartbeat(h.ctx, ws, "paused", "w", nil), "heartbeat to a paused pool")
	if got, _ := h.s.GetWorkPool(h.ctx, ws, "paused"); got.Status != model.PoolPaused {
		t.Errorf("paused pool after a heartbeat: %s", got.Status)
	}
}

func testListWorkers(t *testing.T, h *harness) {
	ws := h.ws()
	h.pool(ws, "p")
	h.pool(ws, "p2")
	for _, name := range []string{"a", "b"} {
		h.must(h.s.WorkerHeartbeat(h.ctx, ws, "p", name, nil), "heartbeat")
	}
	h.must(h.s.WorkerHeartbeat(h.ctx, ws, "p2", "c", nil), "heartbeat")
	byName := func(q store.WorkerQuery) []string {
		ws, err := h.s.ListWorkers(h.ctx, ws, "p", q)
		h.must(err, "list workers")
		var out []string
		for _, w := range ws {
			out = append(out, w.Name)
		}
		return out
	}
	if got := byName(store.WorkerQuery{}); !slices.Equal(got, []string{"b", "a"}) {
		t.Errorf("workers, latest heartbeat first: %v", got)
	}
	if got := byName(store.WorkerQuery{Workers: &store.WorkerFilter{Name: &store.NameFilter{Any: []string{"a"}}}}); !slices.Equal(got, []string{"a"}) {
		t.Errorf("by name: %v", got)
	}
	offline := &store.WorkerFilter{}
	offline.Status = &struct {
		Any    []string `json:"any_"`
		NotAny []string `json:"not_any_"`
	}{Any: []string{model.WorkerOffline}}
	if got := byName(store.WorkerQuery{Workers: offline}); len(got) != 0 {
		t.Errorf("offline workers: %v", got)
	}
	if got := byName(store.WorkerQuery{Limit: 1, Offset: 1}); !slices.Equal(got, []string{"a"}) {
		t.Errorf("paged: %v", got)
	}
	_, err := h.s.ListWorkers(h.ctx, h.ws(), "p", store.WorkerQuery{})
	h.wantNotFound(err, "another workspace's pool")
}

func testDeleteWorker(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	h.pool(ws, "p")
	h.must(h.s.WorkerHeartbeat(h.ctx, ws, "p", "w", nil), "heartbeat")
	h.wantNotFound(h.s.DeleteWorker(h.ctx, other, "p", "w"), "another workspace's worker")
	h.must(h.s.DeleteWorker(h.ctx, ws, "p", "w"), "delete worker")
	if got, _ := h.s.ListWorkers(h.ctx, ws, "p", store.WorkerQuery{}); len(got) != 0 {
		t.Errorf("workers after delete: %+v", got)
	}
	h.wantNotFound(h.s.DeleteWorker(h.ctx, ws, "p", "w"), "a second delete")
}

func testPollWorkPool(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	pool := h.pool(ws, "p")
	h.queue(ws, "p", "high", func(q *model.WorkQueue) { q.Priority = 1 })
	low := h.queue(ws, "p", "low")
	flow := h.flow(ws, "f")
	d := h.deployment(ws, flow.ID, "d", func(d *model.Deployment) { d.WorkPoolName = ptr("p") })
	c := newClock()
	run := func(name, queue string, at time.Duration, edit ...func(*model.FlowRun)) *model.FlowRun {
		return h.flowRun(ws, flow.ID, name, scheduledFor(c.at(at), c.at(0)), append([]func(*model.FlowRun){func(r *model.FlowRun) {
			r.DeploymentID, r.WorkPoolName, r.WorkQueueName = &d.ID, ptr("p"), ptr(queue)
		}}, edit...)...)
	}
	lowEarly := run("low-early", "low", time.Minute)
	highLate := run("high-late", "high", 3*time.Minute)
	defaultRun := run("default", "default", 2*time.Minute)
	run("in-process", "high", time.Minute, func(r *model.FlowRun) { r.EmpiricalPolicy.RetryType = ptr("in_process") })
	future := run("future", "high", time.Hour)
	poll := func(p store.WorkPoolPoll) []uuid.UUID {
		t.Helper()
		got, err := h.s.PollWorkPool(h.ctx, ws, "p", p)
		h.must(err, "poll")
		out := make([]uuid.UUID, len(got))
		for i, wr := range got {
			out[i] = wr.FlowRun.ID
			if wr.WorkPoolID != pool.ID || wr.WorkQueueID != *wr.FlowRun.WorkQueueID {
				t.Errorf("run %s: pool %v queue %v", wr.FlowRun.Name, wr.WorkPoolID, wr.WorkQueueID)
			}
		}
		return out
	}
	before := c.base.Add(10 * time.Minute)
	names := map[uuid.UUID]string{lowEarly.ID: "low-early", highLate.ID: "high-late", defaultRun.ID: "default", future.ID: "future"}
	want := func(what string, got []uuid.UUID, runs ...*model.FlowRun) {
		t.Helper()
		if !slices.Equal(got, runIDs(runs)) {
			var g []string
			for _, id := range got {
				g = append(g, names[id])
			}
			t.Errorf("%s: got %v", what, g)
		}
	}
	// By queue priority, then time; in-process retries and future runs
	// left out.
	want("by priority", poll(store.WorkPoolPoll{Before: &before}), highLate, defaultRun, lowEarly)
	want("limited", poll(store.WorkPoolPoll{Before: &before, Limit: 2}), highLate, defaultRun)
	after := c.base.Add(90 * time.Second)
	want("a window", poll(store.WorkPoolPoll{Before: &before, After: &after}), highLate, defaultRun)
	want("named queues", poll(store.WorkPoolPoll{Before: &before, QueueNames: []string{"low", "default"}}), defaultRun, lowEarly)
	// A paused queue is not served; queue and pool limits count PENDING
	// and RUNNING runs.
	h.must(h.s.UpdateWorkQueue(h.ctx, ws, low.ID, func(q *model.WorkQueue) error { q.IsPaused = true; return nil }), "pause low")
	want("a paused queue", poll(store.WorkPoolPoll{Before: &before}), highLate, defaultRun)
	h.setFlowRunState(ws, highLate.ID, state(model.Pending), false)
	h.must(h.s.UpdateWorkPool(h.ctx, ws, "p", func(p *model.WorkPool) error { p.ConcurrencyLimit = ptr(2); return nil }), "pool limit")
	want("a pool limit of 2, one pending", poll(store.WorkPoolPoll{Before: &before}), defaultRun)
	h.must(h.s.UpdateWorkQueue(h.ctx, ws, pool.DefaultQueueID, func(q *model.WorkQueue) error { q.ConcurrencyLimit = ptr(0); return nil }), "queue limit")
	want("a full queue", poll(store.WorkPoolPoll{Before: &before}))
	h.must(h.s.UpdateWorkPool(h.ctx, ws, "p", func(p *model.WorkPool) error { p.IsPaused = true; return nil }), "pause pool")
	want("a paused pool", poll(store.WorkPoolPoll{}))
	// The poll marked the queues and the deployment polled.
	q, _ := h.s.GetWorkQueue(h.ctx, ws, pool.DefaultQueueID)
	if q.LastPolled == nil || q.Status != model.QueueReady {
		t.Errorf("polled queue %+v", q)
	}
	if pausedQ, _ := h.s.GetWorkQueue(h.ctx, ws, low.ID); pausedQ.Status != model.QueuePaused || pausedQ.LastPolled == nil {
		t.Errorf("polled paused queue %+v", pausedQ)
	}
	if got, _ := h.s.GetDeployment(h.ctx, ws, d.ID); got.Status != model.DeploymentReady || got.LastPolled == nil {
		t.Errorf("polled deployment %s %v", got.Status, got.LastPolled)
	}
	_, err := h.s.PollWorkPool(h.ctx, ws, "p", store.WorkPoolPoll{QueueNames: []string{"missing"}})
	h.wantNotFound(err, "a missing queue")
	_, err = h.s.PollWorkPool(h.ctx, other, "p", store.WorkPoolPoll{})
	h.wantNotFound(err, "another workspace's pool")
	t.Run("marks polled when it changes something", func(t *testing.T) { testPollMarks(t, h) })
}

// testPollMarks: a poll writes what it polled only when that changes
// something, so that polls are reads: a queue or deployment not READY
// becomes READY at once, and last_polled is renewed once it is a few
// seconds old (at most 5 s, well inside the 60 s that make either
// NOT_READY), not at every poll.
func testPollMarks(t *testing.T, h *harness) {
	clk := clocks.NewFake(time.Now().UTC().Truncate(time.Second))
	h = h.freshAt(t, clk)
	ws := h.ws()
	pool := h.pool(ws, "p")
	flow := h.flow(ws, "f")
	d := h.deployment(ws, flow.ID, "d", func(d *model.Deployment) { d.WorkPoolName = ptr("p") })
	poll := func(what string) {
		t.Helper()
		_, err := h.s.PollWorkPool(h.ctx, ws, "p", store.WorkPoolPoll{})
		h.must(err, what)
	}
	polled := func(what string, queueAt time.Time, deployments map[*model.Deployment]time.Time) {
		t.Helper()
		q, err := h.s.GetWorkQueue(h.ctx, ws, pool.DefaultQueueID)
		h.must(err, "read queue")
		if q.Status != model.QueueReady || q.LastPolled == nil || !q.LastPolled.Equal(queueAt) {
			t.Errorf("%s: queue %s, last polled %v, want READY at %v", what, q.Status, q.LastPolled, queueAt)
		}
		for dep, at := range deployments {
			h.wantPolledAt(what, ws, dep, at)
		}
	}
	t0 := clk.Now()
	poll("first poll")
	polled("the first poll", t0, map[*model.Deployment]time.Time{d: t0})
	clk.Advance(2 * time.Second)
	poll("a poll 2 s later")
	polled("a poll 2 s later", t0, map[*model.Deployment]time.Time{d: t0})
	// A deployment that is not READY yet is marked at the next poll,
	// inside the window; so is a queue the foreman made NOT_READY.
	e := h.deployment(ws, flow.ID, "e", func(d *model.Deployment) { d.WorkPoolName = ptr("p") })
	t1 := clk.Advance(time.Second)
	poll("a poll after a new deployment")
	polled("a poll after a new deployment", t1, map[*model.Deployment]time.Time{d: t1, e: t1})
	if n, err := h.s.MarkQueuesNotReady(h.ctx, clk.Now().Add(time.Minute)); err != nil || n != 1 {
		t.Fatalf("mark the queue not ready: %d (%v)", n, err)
	}
	t2 := clk.Advance(time.Second)
	poll("a poll of a NOT_READY queue")
	polled("a poll of a NOT_READY queue", t2, map[*model.Deployment]time.Time{d: t2, e: t2})
	// Past the window, a poll renews last_polled.
	t3 := clk.Advance(6 * time.Second)
	poll("a poll 6 s later")
	polled("a poll 6 s later", t3, map[*model.Deployment]time.Time{d: t3, e: t3})
	// The legacy poll of a queue marks the same way.
	clk.Advance(time.Second)
	_, err := h.s.PollWorkQueue(h.ctx, ws, pool.DefaultQueueID, store.WorkPoolPoll{Limit: 10}, true)
	h.must(err, "poll the queue")
	polled("a queue poll 1 s later", t3, map[*model.Deployment]time.Time{d: t3, e: t3})
	t4 := clk.Advance(5 * time.Second)
	_, err = h.s.PollWorkQueue(h.ctx, ws, pool.DefaultQueueID, store.WorkPoolPoll{Limit: 10}, true)
	h.must(err, "poll the queue")
	polled("a queue poll 6 s later", t4, map[*model.Deployment]time.Time{d: t4, e: t4})
}

// pooledRuns makes a pool "p" with a queue "other", a deployment in it
// and, for each name, a run of it scheduled a minute apart in the default
// queue, or in "other" for names starting with "other".
// wantPolledAt checks that a deployment is READY, last polled at at.
func (h *harness) wantPolledAt(what string, ws uuid.UUID, dep *model.Deployment, at time.Time) {
	h.t.Helper()
	got, err := h.s.GetDeployment(h.ctx, ws, dep.ID)
	h.must(err, "read deployment")
	if got.Status != model.DeploymentReady || got.LastPolled == nil || !got.LastPolled.Equal(at) {
		h.t.Errorf("%s: deployment %s %s, last polled %v, want READY at %v", what, dep.Name, got.Status, got.LastPolled, at)
	}
}

// queuedRun creates a run in a pool's queue.
func (h *harness) queuedRun(ws, flow uuid.UUID, pool, queue string, initial model.StateCreate) *model.FlowRun {
	h.t.Helper()
	return h.flowRun(ws, flow, pool+"/"+queue, initial, func(r *model.FlowRun) { r.WorkPoolName, r.WorkQueueName = ptr(pool), ptr(queue) })
}

// wantDetached checks that run, whose queue named queue was deleted (or
// its pool), has no queue or pool any more but the queue's name, and is
// otherwise as it was.
func (h *harness) wantDetached(ws uuid.UUID, run *model.FlowRun, queue string) {
	h.t.Helper()
	got, err := h.s.GetFlowRun(h.ctx, ws, run.ID)
	h.must(err, "read the run of a deleted queue")
	if got.WorkQueueID != nil || got.WorkPoolID != nil || got.WorkPoolName != nil || got.WorkQueueName == nil || *got.WorkQueueName != queue ||
		!got.Updated.Equal(run.Updated.Time) || *got.StateType != *run.StateType {
		h.t.Errorf("run %s of a deleted queue: queue %v %v, pool %v %v, updated %v (was %v), %s", run.Name, got.WorkQueueID, got.WorkQueueName,
			got.WorkPoolID, got.WorkPoolName, got.Updated, run.Updated, *got.StateType)
	}
}

func (h *harness) pooledRuns(ws uuid.UUID, names ...string) (*model.WorkPool, *model.WorkQueue, *model.Deployment, map[string]*model.FlowRun) {
	h.t.Helper()
	pool := h.pool(ws, "p")
	other := h.queue(ws, "p", "other")
	flow := h.flow(ws, "f")
	d := h.deployment(ws, flow.ID, "d", func(d *model.Deployment) { d.WorkPoolName = ptr("p") })
	c := newClock()
	runs := map[string]*model.FlowRun{}
	for i, name := range names {
		queue := "default"
		if strings.HasPrefix(name, "other") {
			queue = "other"
		}
		runs[name] = h.flowRun(ws, flow.ID, name, scheduledFor(c.at(time.Duration(i)*time.Minute), c.at(0)), func(r *model.FlowRun) {
			r.DeploymentID, r.WorkPoolName, r.WorkQueueName = &d.ID, ptr("p"), ptr(queue)
		})
	}
	return pool, other, d, runs
}

func testPollWorkQueue(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	pool, _, d, runs := h.pooledRuns(ws, "first", "second", "other", "later")
	poll := func(p store.WorkPoolPoll, mark bool) []uuid.UUID {
		t.Helper()
		got, err := h.s.PollWorkQueue(h.ctx, ws, pool.DefaultQueueID, p, mark)
		h.must(err, "poll queue")
		return runIDs(got)
	}
	// A look marks nothing polled.
	if got := poll(store.WorkPoolPoll{Limit: 10}, false); !slices.Equal(got, runIDs([]*model.FlowRun{runs["first"], runs["second"], runs["later"]})) {
		t.Errorf("the queue's runs: %v", got)
	}
	if q, _ := h.s.GetWorkQueue(h.ctx, ws, pool.DefaultQueueID); q.LastPolled != nil {
		t.Errorf("a look polled the queue: %+v", q)
	}
	before := newClock().at(90 * time.Second).Time
	if got := poll(store.WorkPoolPoll{Limit: 10, Before: &before}, true); !slices.Equal(got, runIDs([]*model.FlowRun{runs["first"], runs["second"]})) {
		t.Errorf("runs due by 90 s: %v", got)
	}
	q, _ := h.s.GetWorkQueue(h.ctx, ws, pool.DefaultQueueID)
	if q.LastPolled == nil || q.Status != model.QueueReady {
		t.Errorf("a polled queue %+v", q)
	}
	if got, _ := h.s.GetDeployment(h.ctx, ws, d.ID); got.Status != model.DeploymentReady {
		t.Errorf("the polled queue's deployment %s", got.Status)
	}
	if got := poll(store.WorkPoolPoll{Limit: 1}, true); !slices.Equal(got, runIDs([]*model.FlowRun{runs["first"]})) {
		t.Errorf("limit 1: %v", got)
	}
	// Its own limit counts its PENDING and RUNNING runs; the pool's pause
	// does not apply, its own does.
	h.setFlowRunState(ws, runs["first"].ID, state(model.Running), false)
	h.must(h.s.UpdateWorkQueue(h.ctx, ws, pool.DefaultQueueID, func(q *model.WorkQueue) error { q.ConcurrencyLimit = ptr(2); return nil }), "queue limit")
	h.must(h.s.UpdateWorkPool(h.ctx, ws, "p", func(p *model.WorkPool) error { p.IsPaused = true; return nil }), "pause pool")
	if got := poll(store.WorkPoolPoll{Limit: 10}, true); !slices.Equal(got, runIDs([]*model.FlowRun{runs["second"]})) {
		t.Errorf("one slot left in a paused pool: %v", got)
	}
	h.must(h.s.UpdateWorkQueue(h.ctx, ws, pool.DefaultQueueID, func(q *model.WorkQueue) error { q.IsPaused = true; return nil }), "pause queue")
	if got := poll(store.WorkPoolPoll{Limit: 10}, true); len(got) != 0 {
		t.Errorf("a paused queue: %v", got)
	}
	_, err := h.s.PollWorkQueue(h.ctx, other, pool.DefaultQueueID, store.WorkPoolPoll{Limit: 10}, true)
	h.wantNotFound(err, "another workspace's queue")
}

func testWorkQueueSlots(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	pool, _, _, runs := h.pooledRuns(ws, "pending", "running", "cancelling", "scheduled", "other-running")
	h.setFlowRunState(ws, runs["pending"].ID, state(model.Pending), false)
	h.setFlowRunState(ws, runs["running"].ID, state(model.Running), false)
	h.setFlowRunState(ws, runs["cancelling"].ID, state(model.Running), false)
	h.setFlowRunState(ws, runs["cancelling"].ID, state(model.Cancelling), false)
	h.setFlowRunState(ws, runs["other-running"].ID, state(model.Running), false)
	holders := []*model.FlowRun{runs["pending"], runs["running"], runs["cancelling"]}
	slices.SortFunc(holders, func(a, b *model.FlowRun) int { return strings.Compare(a.ID.String(), b.ID.String()) })
	got, n, err := h.s.WorkQueueSlots(h.ctx, ws, pool.DefaultQueueID, 10, 0)
	h.must(err, "queue slots")
	if n != 3 || !slices.Equal(runIDs(got), runIDs(holders)) {
		t.Errorf("slot holders (%d): %v, want %v", n, runIDs(got), runIDs(holders))
	}
	if got[0].StateType == nil || got[0].StateTimestamp == nil {
		t.Errorf("a slot holder without its state: %+v", got[0])
	}
	got, n, err = h.s.WorkQueueSlots(h.ctx, ws, pool.DefaultQueueID, 2, 2)
	h.must(err, "second page")
	if n != 3 || !slices.Equal(runIDs(got), runIDs(holders[2:])) {
		t.Errorf("the second page of two (%d): %v", n, runIDs(got))
	}
	if got, n, err := h.s.WorkQueueSlots(h.ctx, other, pool.DefaultQueueID, 10, 0); err != nil || n != 0 || len(got) != 0 {
		t.Errorf("another workspace's queue: %v %d %v", runIDs(got), n, err)
	}
}

func testWorkPoolSlots(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	pool, otherQueue, _, runs := h.pooledRuns(ws, "pending", "cancelling", "scheduled", "other-running")
	h.setFlowRunState(ws, runs["pending"].ID, state(model.Pending), false)
	h.setFlowRunState(ws, runs["cancelling"].ID, state(model.Running), false)
	h.setFlowRunState(ws, runs["cancelling"].ID, state(model.Cancelling), false)
	h.setFlowRunState(ws, runs["other-running"].ID, state(model.Running), false)
	got, err := h.s.WorkPoolSlots(h.ctx, ws, pool.ID)
	h.must(err, "pool slots")
	// CANCELLING holds no slot of the pool, as its poll counts them.
	if len(got) != 2 || !slices.Equal(runIDs(got[pool.DefaultQueueID]), runIDs([]*model.FlowRun{runs["pending"]})) ||
		!slices.Equal(runIDs(got[otherQueue.ID]), runIDs([]*model.FlowRun{runs["other-running"]})) {
		t.Errorf("pool slot holders %v", got)
	}
	if got, err := h.s.WorkPoolSlots(h.ctx, other, pool.ID); err != nil || len(got) != 0 {
		t.Errorf("another workspace's pool: %v %v", got, err)
	}
}

// foremanHarness is a harness on a store of its own: the foreman's methods
// span workspaces.
func (h *harness) foremanHarness(t *testing.T) *harness {
	return h.freshAt(t, clocks.Real)
}

func testMarkWorkersOffline(t *testing.T, h *harness) {
	h = h.foremanHarness(t)
	ws := h.ws()
	h.pool(ws, "p")
	h.must(h.s.WorkerHeartbeat(h.ctx, ws, "p", "fast", ptr(10)), "heartbeat")
	h.must(h.s.WorkerHeartbeat(h.ctx, ws, "p", "slow", nil), "heartbeat")
	// 3 × 10 s for fast, 3 × 30 s (the default) for slow.
	if n, err := h.s.MarkWorkersOffline(h.ctx, time.Now().Add(20*time.Second)); err != nil || n != 0 {
		t.Errorf("within every interval: %d marked (%v)", n, err)
	}
	if n, err := h.s.MarkWorkersOffline(h.ctx, time.Now().Add(45*time.Second)); err != nil || n != 1 {
		t.Errorf("past fast's: %d marked (%v)", n, err)
	}
	if n, err := h.s.MarkWorkersOffline(h.ctx, time.Now().Add(2*time.Minute)); err != nil || n != 1 {
		t.Errorf("past slow's: %d marked (%v)", n, err)
	}
	if n, err := h.s.MarkPoolsNotReady(h.ctx); err != nil || n != 1 {
		t.Errorf("the pool without online workers: %d marked (%v)", n, err)
	}
}

func testMarkPoolsNotReady(t *testing.T, h *harness) {
	h = h.foremanHarness(t)
	ws := h.ws()
	h.pool(ws, "with")
	h.pool(ws, "without")
	h.must(h.s.WorkerHeartbeat(h.ctx, ws, "with", "w", nil), "heartbeat")
	h.must(h.s.WorkerHeartbeat(h.ctx, ws, "without", "w", nil), "heartbeat")
	h.must(h.s.DeleteWorker(h.ctx, ws, "without", "w"), "delete worker")
	if n, err := h.s.MarkPoolsNotReady(h.ctx); err != nil || n != 1 {
		t.Errorf("%d marked (%v), want the pool without a worker", n, err)
	}
	if got, _ := h.s.GetWorkPool(h.ctx, ws, "without"); got.Status != model.PoolNotReady {
		t.Errorf("pool without workers: %s", got.Status)
	}
	if got, _ := h.s.GetWorkPool(h.ctx, ws, "with"); got.Status != model.PoolReady {
		t.Errorf("pool with a worker: %s", got.Status)
	}
}

func testMarkQueuesNotReady(t *testing.T, h *harness) {
	h = h.foremanHarness(t)
	ws := h.ws()
	p := h.pool(ws, "p")
	_, err := h.s.PollWorkPool(h.ctx, ws, "p", store.WorkPoolPoll{})
	h.must(err, "poll")
	if n, err := h.s.MarkQueuesNotReady(h.ctx, time.Now().Add(-time.Minute)); err != nil || n != 0 {
		t.Errorf("a fresh poll: %d marked (%v)", n, err)
	}
	if n, err := h.s.MarkQueuesNotReady(h.ctx, time.Now().Add(time.Minute)); err != nil || n != 1 {
		t.Errorf("a stale poll: %d marked (%v)", n, err)
	}
	if got, _ := h.s.GetWorkQueue(h.ctx, ws, p.DefaultQueueID); got.Status != model.QueueNotReady {
		t.Errorf("status %s", got.Status)
	}
}
