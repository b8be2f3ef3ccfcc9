package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/orchestration"
	"github.com/praetorhq/praetor/internal/store"
)

// unresponsiveSetup is a pool "p" with a worker "dead" (a 10 s interval, so
// OFFLINE 30 s after its heartbeat) and a worker "alive" (an hour's
// interval), and a run maker: each run is queued in the pool, labelled with
// worker (none when empty) and RUNNING since an hour before t0.
type unresponsiveSetup struct {
	ws, flow uuid.UUID
	t0       time.Time
	run      func(name, worker string, edit ...func(*model.FlowRun)) *model.FlowRun
}

func (h *harness) unresponsiveSetup() unresponsiveSetup {
	h.t.Helper()
	ws := h.ws()
	h.pool(ws, "p")
	flow := h.flow(ws, "f")
	d := h.deployment(ws, flow.ID, "d", func(d *model.Deployment) { d.WorkPoolName = ptr("p") })
	t0 := time.Now()
	h.must(h.s.WorkerHeartbeat(h.ctx, ws, "p", "dead", ptr(10)), "heartbeat")
	h.must(h.s.WorkerHeartbeat(h.ctx, ws, "p", "alive", ptr(3600)), "heartbeat")
	return unresponsiveSetup{ws: ws, flow: flow.ID, t0: t0, run: func(name, worker string, edit ...func(*model.FlowRun)) *model.FlowRun {
		h.t.Helper()
		return h.flowRun(ws, flow.ID, name, stateAt(model.Running, model.At(t0.Add(-time.Hour))), append([]func(*model.FlowRun){func(r *model.FlowRun) {
			r.DeploymentID, r.WorkPoolName, r.WorkQueueName = &d.ID, ptr("p"), ptr("default")
			if worker != "" {
				r.Labels = map[string]any{orchestration.WorkerLabel: worker, "prefect.work-pool.name": "p"}
			}
		}}, edit...)...)
	}}
}

func testUnresponsiveRuns(t *testing.T, h *harness) {
	h = h.foremanHarness(t)
	u := h.unresponsiveSetup()
	quiet := u.run("quiet", "dead")
	ghost := u.run("ghost", "ghost") // a worker the pool never had (or deleted)
	logged := u.run("logged", "dead")
	tasked := u.run("tasked", "dead")
	u.run("alive", "alive")
	u.run("runner", "")
	u.run("no-pool", "dead", func(r *model.FlowRun) { r.DeploymentID, r.WorkPoolName, r.WorkQueueName = nil, nil, nil })
	recent := u.run("recent", "dead")
	h.setFlowRunState(u.ws, recent.ID, stateAt(model.Pending, model.At(u.t0.Add(-2*time.Minute))), true)
	h.setFlowRunState(u.ws, recent.ID, stateAt(model.Running, model.At(u.t0.Add(-time.Minute))), true)
	pending := u.run("pending", "dead")
	h.setFlowRunState(u.ws, pending.ID, stateAt(model.Pending, model.At(u.t0.Add(-time.Hour))), true)
	h.must(h.s.CreateLogs(h.ctx, u.ws, []*model.Log{{ID: newID(), Name: "l", Level: 20, Message: "still here",
		Timestamp: model.At(u.t0.Add(-2 * time.Minute)), FlowRunID: &logged.ID}}), "log")
	h.taskRun(u.ws, &tasked.ID, "t", state(model.Running))
	// Another workspace's unresponsive run is found too, as its own.
	o := h.unresponsiveSetup()
	otherQuiet := o.run("quiet", "dead")

	// A minute on "dead" is OFFLINE; quiet since 4 minutes before t0.
	now := u.t0.Add(time.Minute)
	got, err := h.s.UnresponsiveRuns(h.ctx, now, now.Add(-5*time.Minute))
	h.must(err, "unresponsive runs")
	var ids []uuid.UUID
	for _, ur := range got {
		ids = append(ids, ur.Run.ID)
		want := map[uuid.UUID]uuid.UUID{quiet.ID: u.ws, ghost.ID: u.ws, otherQuiet.ID: o.ws}[ur.Run.ID]
		if ur.Workspace != want {
			t.Errorf("run %s in workspace %s, want %s", ur.Run.Name, ur.Workspace, want)
		}
		t0 := map[uuid.UUID]time.Time{u.ws: u.t0, o.ws: o.t0}[ur.Workspace]
		if ur.Silence.Pool != "p" || ur.Silence.LastActivity.Sub(t0.Add(-time.Hour)).Abs() > time.Millisecond {
			t.Errorf("run %s: silence %+v", ur.Run.Name, ur.Silence)
		}
	}
	slices.SortFunc(ids, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
	if want := runIDs([]*model.FlowRun{quiet, ghost, otherQuiet}); !slices.Equal(ids, want) {
		t.Errorf("unresponsive runs %v, want quiet, ghost and the other workspace's %v", ids, want)
	}
	for _, ur := range got {
		switch ur.Run.ID {
		case quiet.ID:
			if ur.Silence.Worker != "dead" || ur.Silence.LastHeartbeat == nil || ur.Silence.LastHeartbeat.Before(u.t0.Add(-time.Second)) {
				t.Errorf("quiet run's silence %+v", ur.Silence)
			}
		case ghost.ID:
			if ur.Silence.Worker != "ghost" || ur.Silence.LastHeartbeat != nil {
				t.Errorf("ghost run's silence %+v", ur.Silence)
			}
		}
	}
	// Before the dead worker's 30 s are up, nothing is.
	got, err = h.s.UnresponsiveRuns(h.ctx, u.t0.Add(5*time.Second), u.t0.Add(-5*time.Minute))
	h.must(err, "unresponsive runs")
	for _, ur := range got {
		if ur.Run.ID == quiet.ID {
			t.Errorf("a run of a worker still online: %+v", ur)
		}
	}
}

func testCrashUnresponsiveRun(t *testing.T, h *harness) {
	h = h.foremanHarness(t)
	u := h.unresponsiveSetup()
	quiet := u.run("quiet", "dead")
	ghost := u.run("ghost", "ghost")
	alive := u.run("alive", "alive")
	runner := u.run("runner", "")
	late := u.run("logs-late", "dead")
	now := u.t0.Add(time.Minute)
	since := now.Add(-5 * time.Minute)
	crash := func(ws, id uuid.UUID) *orchestration.Result {
		t.Helper()
		res, err := h.s.CrashUnresponsiveRun(h.ctx, ws, id, now, since)
		h.must(err, "crash unresponsive run")
		return res
	}
	stateOf := func(id uuid.UUID) *model.State {
		t.Helper()
		r, err := h.s.GetFlowRun(h.ctx, u.ws, id)
		h.must(err, "get run")
		return r.State
	}

	// Another workspace cannot crash the run, nor can a run that is not.
	if res := crash(h.ws(), quiet.ID); res != nil {
		t.Errorf("from another workspace: %+v", res)
	}
	if res := crash(u.ws, uuid.New()); res != nil {
		t.Errorf("an unknown run: %+v", res)
	}
	for _, r := range []*model.FlowRun{alive, runner} {
		if res := crash(u.ws, r.ID); res != nil || stateOf(r.ID).Type != model.Running {
			t.Errorf("run %s: %+v, now %s", r.Name, res, stateOf(r.ID).Type)
		}
	}
	// A run found unresponsive that logs before the write is left alone:
	// the write checks again.
	h.must(h.s.CreateLogs(h.ctx, u.ws, []*model.Log{{ID: newID(), Name: "l", Level: 20, Message: "back",
		Timestamp: model.At(now.Add(-time.Second)), FlowRunID: &late.ID}}), "log")
	if res := crash(u.ws, late.ID); res != nil || stateOf(late.ID).Type != model.Running {
		t.Errorf("a run that logged: %+v", res)
	}

	workers, err := h.s.ListWorkers(h.ctx, u.ws, "p", store.WorkerQuery{})
	h.must(err, "list workers")
	var hb time.Time
	for _, w := range workers {
		if w.Name == "dead" {
			hb = w.LastHeartbeatTime.Time
		}
	}
	for _, c := range []struct {
		run     *model.FlowRun
		message string
	}{
		{quiet, fmt.Sprintf(`Worker "dead" of pool "p" stopped heartbeating at %s and the run sent nothing for 3660 s; marked crashed by the server.`,
			hb.UTC().Format(time.RFC3339))},
		{ghost, `Worker "ghost" of pool "p" is no longer registered and the run sent nothing for 3660 s; marked crashed by the server.`},
	} {
		res := crash(u.ws, c.run.ID)
		if res == nil || !res.Written || res.State.Type != model.Crashed || res.State.Message == nil || *res.State.Message != c.message {
			t.Fatalf("run %s: %+v, want CRASHED with %q", c.run.Name, res, c.message)
		}
		if s := stateOf(c.run.ID); s.Type != model.Crashed {
			t.Errorf("run %s stored as %s", c.run.Name, s.Type)
		}
		// Once crashed it is not again.
		if res := crash(u.ws, c.run.ID); res != nil {
			t.Errorf("run %s crashed twice: %+v", c.run.Name, res)
		}
	}
}
