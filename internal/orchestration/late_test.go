package orchestration

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/model"
)

// Every late run gets a reason that names what holds it up.
func TestLateReason(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	dep := uuid.New()
	polled := model.At(now.Add(-90 * time.Second))
	limit := 2
	for _, c := range []struct {
		name string
		ctx  LateContext
		want string
	}{
		{"no deployment", LateContext{Run: &model.FlowRun{}}, "outside a deployment"},
		{"deleted deployment", LateContext{Run: &model.FlowRun{DeploymentID: &dep}}, "no longer exists"},
		{"paused", LateContext{Run: &model.FlowRun{DeploymentID: &dep}, Deployment: &model.Deployment{Name: "d", Paused: true}}, `"d" is paused`},
		{"limit full", LateContext{Run: &model.FlowRun{DeploymentID: &dep}, Deployment: &model.Deployment{Name: "d", ConcurrencyLimit: &limit}, ActiveRuns: 2},
			"concurrency limit is full (2 of 2"},
		{"never polled", LateContext{Run: &model.FlowRun{DeploymentID: &dep}, Deployment: &model.Deployment{Name: "d"}}, `Nothing has polled deployment "d"`},
		{"polled long ago", LateContext{Run: &model.FlowRun{DeploymentID: &dep}, Deployment: &model.Deployment{Name: "d", LastPolled: &polled}, Now: now},
			"since 2026-03-01T11:58:30.000000Z (1m30s ago)"},
		// A pooled run is explained by its pool, queue and workers.
		{"pool paused", pooled(&model.WorkPool{Name: "P", IsPaused: true}, &model.WorkQueue{Name: "Q"}), `Work pool "P" is paused`},
		{"queue paused", pooled(&model.WorkPool{Name: "P"}, &model.WorkQueue{Name: "Q", IsPaused: true}), `Work queue "Q" of work pool "P" is paused`},
		{"pool full", pooled(&model.WorkPool{Name: "P", ConcurrencyLimit: &limit, ActiveSlots: &limit}, &model.WorkQueue{Name: "Q"}),
			`Work pool "P"'s concurrency limit is full (2 of 2`},
		{"queue full", pooled(&model.WorkPool{Name: "P"}, &model.WorkQueue{Name: "Q", ConcurrencyLimit: &limit, ActiveSlots: &limit}),
			`Work queue "Q"'s concurrency limit is full (2 of 2`},
		{"no worker", pooled(&model.WorkPool{Name: "P"}, &model.WorkQueue{Name: "Q"}), `No worker has polled work pool "P" yet`},
		{"queue not polled", func() LateContext {
			c := pooled(&model.WorkPool{Name: "P"}, &model.WorkQueue{Name: "Q"})
			c.LastHeartbeat = &polled
			return c
		}(), `polls its queue "Q"`},
		{"worker gone", func() LateContext {
			c := pooled(&model.WorkPool{Name: "P"}, &model.WorkQueue{Name: "Q", LastPolled: &polled})
			c.Now = now
			return c
		}(), `No worker polled work pool "P" (queue "Q") in 1m30s`},
	} {
		if got := LateReason(c.ctx); !strings.Contains(got, c.want) {
			t.Errorf("%s: %q, want it to say %q", c.name, got, c.want)
		}
	}
}

// pooled is the context of a late run of a deployment in pool p's queue q.
func pooled(p *model.WorkPool, q *model.WorkQueue) LateContext {
	dep := uuid.New()
	return LateContext{Run: &model.FlowRun{DeploymentID: &dep}, Deployment: &model.Deployment{Name: "d", WorkPoolName: &p.Name}, Pool: p, Queue: q}
}

// A catch-up policy skips the missed runs it does not keep, newest kept.
func TestCatchUpSkips(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var due []*model.FlowRun // newest first, one a minute
	for i := range 5 {
		at := model.At(now.Add(-time.Duration(i+1) * time.Minute))
		due = append(due, &model.FlowRun{ID: uuid.New(), RunTracking: model.RunTracking{NextScheduledStartTime: &at}})
	}
	window, three := 150.0, 3
	for _, c := range []struct {
		name   string
		policy model.CatchUp
		kept   int // the newest kept
	}{
		{"all", model.CatchUp{Mode: model.CatchUpAll}, 5},
		{"latest", model.CatchUp{Mode: model.CatchUpLatest}, 1},
		{"window", model.CatchUp{Mode: model.CatchUpWindow, WindowSeconds: &window}, 2},
		{"capped", model.CatchUp{Mode: model.CatchUpAll, MaxLateRuns: &three}, 3},
	} {
		skip := CatchUpSkips(c.policy, due, now)
		for i, r := range due {
			if _, skipped := skip[r.ID]; skipped != (i >= c.kept) {
				t.Errorf("%s: run %d skipped %v", c.name, i, skipped)
			}
		}
	}
}
