package storetest

import (
	"testing"
	"time"

	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/orchestration"
	"github.com/praetorhq/praetor/internal/store"
)

// testDeploymentConcurrency (part of SetFlowRunState's contract, and of
// the deployment writes that keep a deployment's limit): a run of a
// deployment with a concurrency limit takes a slot of the deployment's
// global limit when it becomes PENDING, under a lease its states carry to
// RUNNING, and gives it back when it ends; a run that finds the limit full
// waits AwaitingConcurrencySlot (ENQUEUE) or is cancelled (CANCEL_NEW); a
// limit of 0 aborts.
func testDeploymentConcurrency(t *testing.T, h *harness) {
	ws := h.ws()
	flow := h.flow(ws, "limited")
	d := h.deployment(ws, flow.ID, "one-at-a-time", func(d *model.Deployment) { d.ConcurrencyLimit = ptr(1) })
	got, err := h.s.GetDeployment(h.ctx, ws, d.ID)
	h.must(err, "get deployment")
	if l := got.GlobalConcurrencyLimit; l == nil || l.Name != model.DeploymentLimitName(d.ID) || l.Limit != 1 || l.ActiveSlots != 0 {
		t.Fatalf("the deployment's global limit: %+v", l)
	}
	limitID := got.GlobalConcurrencyLimit.ID
	run := func(name string) *model.FlowRun {
		return h.flowRun(ws, flow.ID, name, state(model.Scheduled), func(r *model.FlowRun) { r.DeploymentID = &d.ID })
	}
	propose := func(r *model.FlowRun, typ model.StateType) *orchestration.Result {
		t.Helper()
		res, err := h.s.SetFlowRunState(h.ctx, ws, r.ID, state(typ), false)
		h.must(err, "set state")
		return res
	}
	held := func() int {
		t.Helper()
		l, err := h.s.GetConcurrencyLimit(h.ctx, ws, limitID, time.Now())
		h.must(err, "read the deployment's limit")
		return l.ActiveSlots
	}

	a, b := run("a"), run("b")
	res := propose(a, model.Pending)
	lease := res.State.StateDetails.DeploymentConcurrencyLeaseID
	if res.Status != orchestration.Accept || lease == nil || held() != 1 {
		t.Fatalf("the first run to PENDING: %s, lease %v, %d held", res.Status, lease, held())
	}
	if leases, _ := h.s.ListConcurrencyLeases(h.ctx, ws, limitID, time.Now()); len(leases) != 1 || leases[0].ID != *lease ||
		*leases[0].Holder != (model.LeaseHolder{Type: "flow_run", ID: a.ID}) ||
		leases[0].Expiration.Sub(leases[0].Created.Time) != orchestration.DefaultDeploymentLease {
		t.Errorf("the slot's lease: %+v", leases)
	}
	res = propose(b, model.Pending)
	if res.Status != orchestration.Reject || !res.Written || res.State.Type != model.Scheduled || res.State.Name != "AwaitingConcurrencySlot" ||
		res.State.StateDetails.ScheduledTime == nil || res.State.StateDetails.ScheduledTime.Sub(res.State.Timestamp.Time) != 30*time.Second {
		t.Errorf("the second run to PENDING: %s, %+v", res.Status, res.State)
	}
	// The lease goes with the run to RUNNING, and back when it ends.
	if res := propose(a, model.Running); res.Status != orchestration.Accept || res.State.StateDetails.DeploymentConcurrencyLeaseID == nil ||
		*res.State.StateDetails.DeploymentConcurrencyLeaseID != *lease {
		t.Errorf("RUNNING: %s, %+v", res.Status, res.State.StateDetails)
	}
	propose(a, model.Completed)
	if n := held(); n != 0 {
		t.Errorf("%d slots held after the run ended", n)
	}
	if leases, _ := h.s.ListConcurrencyLeases(h.ctx, ws, limitID, time.Now()); len(leases) != 0 {
		t.Errorf("leases after the run ended: %+v", leases)
	}
	if res := propose(b, model.Pending); res.Status != orchestration.Accept || held() != 1 {
		t.Errorf("the waiting run, once the slot is free: %s, %d held", res.Status, held())
	}

	// CANCEL_NEW cancels a run that finds the limit full.
	h.must(h.s.UpdateDeployment(h.ctx, ws, d.ID, func(d *model.Deployment) error {
		d.ConcurrencyOptions = map[string]any{"collision_strategy": "CANCEL_NEW"}
		return nil
	}), "update")
	c := run("c")
	if res := propose(c, model.Pending); res.Status != orchestration.Reject || res.State.Type != model.Cancelled ||
		res.State.Message == nil || *res.State.Message != "Deployment concurrency limit reached." {
		t.Errorf("CANCEL_NEW: %s, %+v", res.Status, res.State)
	}
	// A forced PENDING takes no slot; a forced end gives a held one back.
	forced := run("forced")
	h.setFlowRunState(ws, forced.ID, state(model.Pending), true)
	h.setFlowRunState(ws, b.ID, state(model.Crashed), true)
	if n := held(); n != 0 {
		t.Errorf("%d slots held after a forced run and the crash of the holder", n)
	}

	// A limit of 0 would never let a run start.
	h.must(h.s.UpdateDeployment(h.ctx, ws, d.ID, func(d *model.Deployment) error { d.ConcurrencyLimit = ptr(0); return nil }), "update")
	if got, _ := h.s.GetDeployment(h.ctx, ws, d.ID); got.GlobalConcurrencyLimit == nil || got.GlobalConcurrencyLimit.ID != limitID ||
		got.GlobalConcurrencyLimit.Limit != 0 {
		t.Errorf("resized limit: %+v", got.GlobalConcurrencyLimit)
	}
	if res := propose(run("zero"), model.Pending); res.Status != orchestration.Abort || res.Written {
		t.Errorf("a limit of 0: %s", res.Status)
	}
	// No limit: no global limit, and runs go PENDING freely.
	h.must(h.s.UpdateDeployment(h.ctx, ws, d.ID, func(d *model.Deployment) error { d.ConcurrencyLimit = nil; return nil }), "update")
	if got, _ := h.s.GetDeployment(h.ctx, ws, d.ID); got.GlobalConcurrencyLimit != nil {
		t.Errorf("a deployment without a limit shows %+v", got.GlobalConcurrencyLimit)
	}
	_, err = h.s.GetConcurrencyLimit(h.ctx, ws, limitID, time.Now())
	h.wantNotFound(err, "the limit of a deployment that no longer has one")
	if res := propose(run("free"), model.Pending); res.Status != orchestration.Accept || res.State.StateDetails.DeploymentConcurrencyLeaseID != nil {
		t.Errorf("without a limit: %s, %+v", res.Status, res.State.StateDetails)
	}
	// Deleting a deployment deletes its limit.
	gone := h.deployment(ws, flow.ID, "gone", func(d *model.Deployment) { d.ConcurrencyLimit = ptr(3) })
	h.must(store.DeleteOne(h.s.DeleteDeployments)(h.ctx, ws, gone.ID), "delete deployment")
	_, err = h.s.GetConcurrencyLimitByName(h.ctx, ws, model.DeploymentLimitName(gone.ID), time.Now())
	h.wantNotFound(err, "a deleted deployment's limit")
}

// testTagConcurrency (part of SetTaskRunState's contract): a task run
// proposed RUNNING takes a slot of each of its tags' limits, or waits when
// one is full, or aborts when one is 0; its end gives the slots back.
func testTagConcurrency(t *testing.T, h *harness) {
	ws := h.ws()
	etl := h.limit(ws, "tag:etl", 1)
	h.limit(ws, "tag:off", 0, func(l *model.ConcurrencyLimit) { l.Active = false })
	tagged := func(name string, tags ...string) *model.TaskRun {
		return h.taskRun(ws, nil, name, state(model.Pending), func(r *model.TaskRun) { r.Tags = tags })
	}
	propose := func(r *model.TaskRun, typ model.StateType) *orchestration.Result {
		t.Helper()
		res, err := h.s.SetTaskRunState(h.ctx, ws, r.ID, state(typ), false)
		h.must(err, "set task run state")
		return res
	}
	a, b := tagged("a", "etl", "off", "untracked"), tagged("b", "etl")
	if res := propose(a, model.Running); res.Status != orchestration.Accept {
		t.Fatalf("the first tagged run: %s %+v", res.Status, res.Details)
	}
	if leases, _ := h.s.ListConcurrencyLeases(h.ctx, ws, etl.ID, time.Now()); len(leases) != 1 || *leases[0].Holder != (model.LeaseHolder{Type: "task_run", ID: a.ID}) {
		t.Errorf("the tag's leases: %+v", leases)
	}
	res := propose(b, model.Running)
	if res.Status != orchestration.Wait || res.Written || res.Details.DelaySeconds == nil || *res.Details.DelaySeconds > 3 ||
		res.Details.Reason == nil || *res.Details.Reason != "Concurrency limit reached for tags: etl" {
		t.Errorf("a run of a full tag: %s %+v", res.Status, res.Details)
	}
	propose(a, model.Completed)
	if active, _ := h.slots(ws, etl.ID); active != 0 {
		t.Errorf("%d slots held after the holder completed", active)
	}
	if res := propose(b, model.Running); res.Status != orchestration.Accept {
		t.Errorf("once the slot is free: %s %+v", res.Status, res.Details)
	}
	h.limit(ws, "tag:never", 0)
	if res := propose(tagged("c", "never"), model.Running); res.Status != orchestration.Abort || res.Details.Reason == nil ||
		*res.Details.Reason != `The concurrency limit on tag "never" is 0 and will deadlock if the task tries to run again.` {
		t.Errorf("a tag limited to 0: %s %+v", res.Status, res.Details)
	}
	// A forced end gives the slot back too.
	h.setTaskRunState(ws, b.ID, state(model.Crashed), true)
	if active, _ := h.slots(ws, etl.ID); active != 0 {
		t.Errorf("%d slots held after the holder crashed", active)
	}
}
