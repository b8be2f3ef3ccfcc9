package server

import (
	"testing"
	"time"

	"github.com/praetorhq/praetor/internal/clock"
	"github.com/praetorhq/praetor/internal/testdb"
)

// A RUNNING run whose worker stopped heartbeating and which sent nothing
// for --unresponsive-runs-after is CRASHED by the server with why, which
// frees its pool's slot; a run of a dead worker that logged lately, a run of
// a live worker and a run without a worker (a runner's) stay RUNNING.
func TestUnresponsiveRuns(t *testing.T) {
	testdb.Engines(t, func(t *testing.T, dsn string) {
		t0 := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
		clk := clock.NewFake(t0)
		cfg := engineConfig(t, dsn)
		cfg.Clock, cfg.SchedulerInterval, cfg.LateRunsInterval, cfg.ForemanInterval = clk, time.Hour, time.Hour, 10*time.Millisecond
		cfg.UnresponsiveRunsAfter = 5 * time.Minute
		srv, _ := openServer(t, cfg)
		var flow struct {
			ID string `json:"id"`
		}
		call(t, srv, "POST", "/flows/", map[string]any{"name": "f"}, &flow)
		deployment := map[string]string{}
		for pool, limit := range map[string]any{"P": 1, "Q": nil} {
			call(t, srv, "POST", "/work_pools/", map[string]any{"name": pool, "type": "process", "concurrency_limit": limit}, nil)
			var dep struct {
				ID string `json:"id"`
			}
			call(t, srv, "POST", "/deployments/", map[string]any{"name": "d-" + pool, "flow_id": flow.ID, "work_pool_name": pool}, &dep)
			deployment[pool] = dep.ID
		}
		// "dead" heartbeats once, every 10 s it says; "alive" every hour.
		call(t, srv, "POST", "/work_pools/P/workers/heartbeat", map[string]any{"name": "dead", "heartbeat_interval_seconds": 10}, nil)
		call(t, srv, "POST", "/work_pools/Q/workers/heartbeat", map[string]any{"name": "dead", "heartbeat_interval_seconds": 10}, nil)
		call(t, srv, "POST", "/work_pools/Q/workers/heartbeat", map[string]any{"name": "alive", "heartbeat_interval_seconds": 3600}, nil)
		running := func(pool, worker string) string {
			var run scheduledRun
			call(t, srv, "POST", "/deployments/"+deployment[pool]+"/create_flow_run", map[string]any{}, &run)
			if worker != "" {
				call(t, srv, "PATCH", "/flow_runs/"+run.ID+"/labels", map[string]any{"prefect.worker.name": worker, "prefect.work-pool.name": pool}, nil)
			}
			for _, s := range []string{"PENDING", "RUNNING"} {
				call(t, srv, "POST", "/flow_runs/"+run.ID+"/set_state", map[string]any{"state": map[string]any{"type": s}}, nil)
			}
			return run.ID
		}
		quiet := running("P", "dead")
		var next scheduledRun
		call(t, srv, "POST", "/deployments/"+deployment["P"]+"/create_flow_run", map[string]any{}, &next)
		logged := running("Q", "dead")
		alive := running("Q", "alive")
		runner := running("Q", "")
		poll := func() []string {
			var got []struct {
				FlowRun struct {
					ID string `json:"id"`
				} `json:"flow_run"`
			}
			call(t, srv, "POST", "/work_pools/P/get_scheduled_flow_runs", map[string]any{}, &got)
			var ids []string
			for _, r := range got {
				ids = append(ids, r.FlowRun.ID)
			}
			return ids
		}
		if got := poll(); len(got) != 0 {
			t.Fatalf("pool P, limit 1, served %v while its run runs", got)
		}

		// 4 minutes on, one run logs; 2 more and the others were silent
		// for 6 minutes, past the 5.
		clk.Advance(4 * time.Minute)
		call(t, srv, "POST", "/logs/", []map[string]any{{"name": "flow", "level": 20, "message": "still working",
			"timestamp": clk.Now().Format(time.RFC3339Nano), "flow_run_id": logged}}, nil)
		waitFor(t, "the log to be stored", func() bool {
			var logs []any
			call(t, srv, "POST", "/logs/filter", map[string]any{"logs": map[string]any{"flow_run_id": map[string]any{"any_": []string{logged}}}}, &logs)
			return len(logs) == 1
		})
		before := passes(t, srv, "unresponsive_runs")
		waitFor(t, "a pass at 4 minutes", func() bool { return passes(t, srv, "unresponsive_runs") > before })
		stateOf := func(id string) scheduledRun {
			var run scheduledRun
			call(t, srv, "GET", "/flow_runs/"+id, nil, &run)
			return run
		}
		if got := stateOf(quiet).StateType; got != "RUNNING" {
			t.Fatalf("a run silent for 4 minutes: %s", got)
		}
		clk.Advance(2 * time.Minute)
		waitFor(t, "the silent run to be CRASHED", func() bool { return stateOf(quiet).StateType == "CRASHED" })
		// And one more pass, which has seen every run at 6 minutes.
		before = passes(t, srv, "unresponsive_runs")
		waitFor(t, "another pass", func() bool { return passes(t, srv, "unresponsive_runs") > before })

		want := `Worker "dead" of pool "P" stopped heartbeating at 2026-06-01T12:00:00Z and the run sent nothing for 360 s; marked crashed by the server.`
		if got := deref(stateOf(quiet).State.Message); got != want {
			t.Errorf("crashed run's message %q, want %q", got, want)
		}
		for name, id := range map[string]string{"logged 2 minutes ago": logged, "of a live worker": alive, "without a worker": runner} {
			if got := stateOf(id).StateType; got != "RUNNING" {
				t.Errorf("the run %s: %s", name, got)
			}
		}
		// The pool's one slot is free: the next run is served.
		if got := poll(); len(got) != 1 || got[0] != next.ID {
			t.Errorf("pool P served %v, want the next run %s", got, next.ID)
		}
		if m := sample(scrape(t, srv), "praetor_service_items_total", map[string]string{"service": "unresponsive_runs", "action": "runs_crashed"}); m == nil || m.GetCounter().GetValue() != 1 {
			t.Errorf("runs_crashed counted %v", m)
		}
	})
}

// passes is how many passes service has made.
func passes(t *testing.T, srv *Server, service string) uint64 {
	t.Helper()
	m := sample(scrape(t, srv), "praetor_service_pass_duration_seconds", map[string]string{"service": service})
	return m.GetHistogram().GetSampleCount()
}
