package server

import (
	"testing"
	"time"

	"github.com/praetorhq/praetor/internal/clock"
	"github.com/praetorhq/praetor/internal/testdb"
)

// TestPauseExpirations: a PAUSED run whose pause_timeout passes is failed
// by the server, as Prefect's pause-expiration service does ("The flow was
// paused and never resumed."), the suspended run that no process waits on
// included; a pause without a timeout, or not yet past it, stays.
func TestPauseExpirations(t *testing.T) {
	testdb.Engines(t, func(t *testing.T, dsn string) {
		t0 := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
		clk := clock.NewFake(t0)
		cfg := engineConfig(t, dsn)
		cfg.Clock, cfg.SchedulerInterval, cfg.LateRunsInterval, cfg.ForemanInterval = clk, time.Hour, time.Hour, time.Hour
		cfg.PauseExpirationsInterval = 10 * time.Millisecond
		srv, _ := openServer(t, cfg)
		var flow struct {
			ID string `json:"id"`
		}
		call(t, srv, "POST", "/flows/", map[string]any{"name": "f"}, &flow)
		var dep struct {
			ID string `json:"id"`
		}
		call(t, srv, "POST", "/deployments/", map[string]any{"name": "d", "flow_id": flow.ID}, &dep)
		paused := func(name string, details map[string]any) string {
			var run scheduledRun
			call(t, srv, "POST", "/deployments/"+dep.ID+"/create_flow_run", map[string]any{}, &run)
			call(t, srv, "POST", "/flow_runs/"+run.ID+"/set_state", map[string]any{"state": map[string]any{"type": "RUNNING"}}, nil)
			call(t, srv, "POST", "/flow_runs/"+run.ID+"/set_state", map[string]any{"state": map[string]any{"type": "PAUSED", "name": name, "state_details": details}}, nil)
			return run.ID
		}
		at := func(d time.Duration) string { return t0.Add(d).Format(time.RFC3339) }
		blocking := paused("Paused", map[string]any{"pause_key": "1", "pause_timeout": at(time.Minute)})
		suspended := paused("Suspended", map[string]any{"pause_key": "1", "pause_timeout": at(time.Minute), "pause_reschedule": true})
		later := paused("Paused", map[string]any{"pause_key": "1", "pause_timeout": at(time.Hour)})
		forever := paused("Suspended", map[string]any{"pause_key": "1", "pause_reschedule": true})
		stateOf := func(id string) scheduledRun {
			var run scheduledRun
			call(t, srv, "GET", "/flow_runs/"+id, nil, &run)
			return run
		}
		before := passes(t, srv, "pause_expirations")
		waitFor(t, "a pass before the timeouts", func() bool { return passes(t, srv, "pause_expirations") > before })
		for _, id := range []string{blocking, suspended, later, forever} {
			if got := stateOf(id).StateType; got != "PAUSED" {
				t.Fatalf("run %s is %s before its timeout", id, got)
			}
		}
		clk.Advance(2 * time.Minute)
		for _, id := range []string{blocking, suspended} {
			waitFor(t, "the expired pause to fail", func() bool { return stateOf(id).StateType == "FAILED" })
			if got := deref(stateOf(id).State.Message); got != "The flow was paused and never resumed." {
				t.Errorf("run %s failed with %q", id, got)
			}
		}
		before = passes(t, srv, "pause_expirations")
		waitFor(t, "another pass", func() bool { return passes(t, srv, "pause_expirations") > before })
		for _, id := range []string{later, forever} {
			if got := stateOf(id).StateType; got != "PAUSED" {
				t.Errorf("run %s without an expired pause is %s", id, got)
			}
		}
	})
}
