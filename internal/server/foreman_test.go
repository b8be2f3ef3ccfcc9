package server

import (
	"strings"
	"testing"
	"time"

	"github.com/praetorhq/praetor/internal/clock"
	"github.com/praetorhq/praetor/internal/testdb"
)

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// The foreman marks a worker without heartbeats for three intervals
// OFFLINE, its pool NOT_READY, and the queue and deployment nothing polled
// for a minute NOT_READY, counted in /metrics; a late run of the pool says
// which pool no worker polled.
func TestForeman(t *testing.T) {
	testdb.Engines(t, func(t *testing.T, dsn string) {
		t0 := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
		clk := clock.NewFake(t0)
		cfg := engineConfig(t, dsn)
		cfg.Clock, cfg.SchedulerInterval, cfg.LateRunsInterval, cfg.ForemanInterval = clk, time.Hour, 10*time.Millisecond, 10*time.Millisecond
		srv, _ := openServer(t, cfg)
		call(t, srv, "POST", "/work_pools/", map[string]any{"name": "P", "type": "process"}, nil)
		var flow, dep struct {
			ID string `json:"id"`
		}
		call(t, srv, "POST", "/flows/", map[string]any{"name": "f"}, &flow)
		call(t, srv, "POST", "/deployments/", map[string]any{"name": "d", "flow_id": flow.ID, "work_pool_name": "P"}, &dep)
		call(t, srv, "POST", "/work_pools/P/workers/heartbeat", map[string]any{"name": "w", "heartbeat_interval_seconds": 10}, nil)
		call(t, srv, "POST", "/work_pools/P/get_scheduled_flow_runs", map[string]any{}, nil)
		status := func(path string) string {
			var v struct {
				Status string `json:"status"`
			}
			call(t, srv, "GET", path, nil, &v)
			return v.Status
		}
		// Passes at t0 change nothing.
		time.Sleep(50 * time.Millisecond)
		for path, want := range map[string]string{"/work_pools/P": "READY", "/work_pools/P/queues/default": "READY", "/deployments/" + dep.ID: "READY"} {
			if got := status(path); got != want {
				t.Fatalf("%s at once: %s, want %s", path, got, want)
			}
		}
		var run scheduledRun
		call(t, srv, "POST", "/deployments/"+dep.ID+"/create_flow_run", map[string]any{}, &run)

		// 31 s on: past 3 × 10 s, so the worker is OFFLINE and the pool
		// NOT_READY; the queue, polled 31 s ago, stays READY.
		clk.Advance(31 * time.Second)
		waitFor(t, "the pool to be NOT_READY", func() bool { return status("/work_pools/P") == "NOT_READY" })
		var workers []struct {
			Status string `json:"status"`
		}
		call(t, srv, "POST", "/work_pools/P/workers/filter", map[string]any{}, &workers)
		if len(workers) != 1 || workers[0].Status != "OFFLINE" {
			t.Errorf("workers %+v", workers)
		}
		if got := status("/work_pools/P/queues/default"); got != "READY" {
			t.Errorf("queue polled 31 s ago: %s", got)
		}
		// Marked at the first pass past 15 s late: 31 s after the poll (the
		// clock moves on only once it is).
		waitFor(t, "the run to be Late", func() bool {
			call(t, srv, "GET", "/flow_runs/"+run.ID, nil, &run)
			return run.StateName == "Late"
		})
		if run.State.Message == nil || !strings.Contains(*run.State.Message, `No worker polled work pool "P" (queue "default") in 31s`) {
			t.Errorf("late reason %q", deref(run.State.Message))
		}
		clk.Advance(30 * time.Second)
		waitFor(t, "the queue and deployment to be NOT_READY", func() bool {
			return status("/work_pools/P/queues/default") == "NOT_READY" && status("/deployments/"+dep.ID) == "NOT_READY"
		})
		counted := map[string]float64{}
		for _, m := range scrape(t, srv)["praetor_service_items_total"].GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			counted[labels["service"]+"/"+labels["action"]] = m.GetCounter().GetValue()
		}
		for _, action := range []string{"workers_offline", "pools_not_ready", "queues_not_ready", "deployments_not_ready"} {
			if counted["foreman/"+action] != 1 {
				t.Errorf("foreman/%s counted %v", action, counted["foreman/"+action])
			}
		}
		// Each change is one event, in Prefect's names.
		var page struct {
			Events []struct {
				Event    string            `json:"event"`
				Resource map[string]string `json:"resource"`
			} `json:"events"`
		}
		call(t, srv, "POST", "/events/filter", map[string]any{"filter": map[string]any{"order": "ASC",
			"event": map[string]any{"name": []string{"prefect.work-pool.not-ready", "prefect.work-queue.not-ready", "prefect.deployment.not-ready"}}}}, &page)
		var got []string
		for _, e := range page.Events {
			got = append(got, e.Event+" "+e.Resource["prefect.resource.name"])
		}
		if want := "prefect.work-pool.not-ready P,prefect.work-pool.not-ready P,prefect.work-queue.not-ready default,prefect.deployment.not-ready d"; strings.Join(got, ",") != want {
			t.Errorf("foreman's events:\n got %v\nwant %s", got, want)
		}
	})
}
