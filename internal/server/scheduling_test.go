package server

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/praetorhq/praetor/internal/clock"
	"github.com/praetorhq/praetor/internal/testdb"
)

// scheduledRun is what these tests read of a flow run.
type scheduledRun struct {
	ID                     string  `json:"id"`
	StateType              string  `json:"state_type"`
	StateName              string  `json:"state_name"`
	NextScheduledStartTime *string `json:"next_scheduled_start_time"`
	ExpectedStartTime      string  `json:"expected_start_time"`
	IdempotencyKey         *string `json:"idempotency_key"`
	AutoScheduled          bool    `json:"auto_scheduled"`
	State                  struct {
		Message *string `json:"message"`
	} `json:"state"`
}

// openServer opens and serves cfg on 127.0.0.1; stop shuts it down.
func openServer(t *testing.T, cfg Config) (*Server, func()) {
	t.Helper()
	cfg.Host, cfg.Port = "127.0.0.1", 0
	cfg.Logger = slog.New(slog.DiscardHandler)
	srv, err := Open(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve() }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	}
	t.Cleanup(stop)
	return srv, stop
}

// engineConfig is a server configuration on the database dsn names.
func engineConfig(t *testing.T, dsn string) Config {
	if strings.HasPrefix(dsn, "postgres") {
		return Config{DatabaseURL: dsn}
	}
	return Config{Home: t.TempDir()}
}

// runsOf lists the runs of a deployment, soonest first.
func runsOf(t *testing.T, srv *Server, deployment string) []scheduledRun {
	t.Helper()
	var all []scheduledRun
	for offset := 0; ; offset += 200 {
		var page []scheduledRun
		call(t, srv, "POST", "/flow_runs/filter", map[string]any{"sort": "EXPECTED_START_TIME_ASC", "offset": offset,
			"flow_runs": map[string]any{"deployment_id": map[string]any{"any_": []string{deployment}}}}, &page)
		all = append(all, page...)
		if len(page) < 200 {
			return all
		}
	}
}

// waitFor polls cond until it holds, failing the test after 15 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// deploy creates a flow and a deployment of it with an interval schedule
// and returns the deployment's id.
func deploy(t *testing.T, srv *Server, name string, every time.Duration, extra map[string]any) string {
	t.Helper()
	var flow, dep struct {
		ID string `json:"id"`
	}
	call(t, srv, "POST", "/flows/", map[string]any{"name": "flow-" + name}, &flow)
	body := map[string]any{"name": name, "flow_id": flow.ID,
		"schedules": []map[string]any{{"schedule": map[string]any{"interval": every.Seconds(), "anchor_date": "2026-01-01T00:00:00Z", "timezone": "UTC"}}}}
	for k, v := range extra {
		body[k] = v
	}
	call(t, srv, "POST", "/deployments/", body, &dep)
	return dep.ID
}

// distinctTimes fails the test if two runs share a scheduled time, and
// returns how many runs there are.
func distinctTimes(t *testing.T, runs []scheduledRun) int {
	t.Helper()
	seen := map[string]int{}
	for _, r := range runs {
		seen[r.ExpectedStartTime]++
		if seen[r.ExpectedStartTime] == 2 {
			t.Errorf("two runs scheduled at %s", r.ExpectedStartTime)
		}
	}
	return len(runs)
}

// A new deployment gets its runs at once (the API nudges the scheduler,
// whose interval here is an hour): at least 3 and 1 h ahead, with Prefect's
// idempotency keys. A restart, and on PostgreSQL a second server on the
// same database, make no run twice.
func TestSchedulerMakesRunsOnce(t *testing.T) {
	testdb.Engines(t, func(t *testing.T, dsn string) {
		t0 := time.Date(2026, 6, 1, 12, 0, 30, 0, time.UTC)
		clk := clock.NewFake(t0)
		cfg := engineConfig(t, dsn)
		cfg.Clock, cfg.SchedulerInterval, cfg.LateRunsInterval = clk, time.Hour, time.Hour
		srv, stop := openServer(t, cfg)
		id := deploy(t, srv, "every-minute", time.Minute, nil)
		// 12:01 … 13:00: the first 3 runs and up to one hour ahead.
		waitFor(t, "the new deployment's runs", func() bool { return len(runsOf(t, srv, id)) >= 61 })
		runs := runsOf(t, srv, id)
		if n := distinctTimes(t, runs); n != 61 {
			t.Fatalf("%d runs, want 61 (12:01 to 13:01, the first at least an hour ahead)", n)
		}
		first := runs[0]
		if first.ExpectedStartTime != "2026-06-01T12:01:00.000000Z" || !first.AutoScheduled || first.StateName != "Scheduled" ||
			first.IdempotencyKey == nil || !strings.HasPrefix(*first.IdempotencyKey, "scheduled "+id+" ") ||
			!strings.HasSuffix(*first.IdempotencyKey, " 2026-06-01 12:01:00+00:00") {
			t.Errorf("first run %+v (key %v)", first, *first.IdempotencyKey)
		}
		stop()

		// Half an hour later the schedule needs filling up again; the
		// restarted server makes only the missing runs.
		clk.Advance(30 * time.Minute)
		srv, stop = openServer(t, cfg)
		waitFor(t, "the runs up to 13:31", func() bool { return len(runsOf(t, srv, id)) >= 91 })
		if n := distinctTimes(t, runsOf(t, srv, id)); n != 91 {
			t.Errorf("%d runs after the restart, want 91", n)
		}
		if !strings.HasPrefix(dsn, "postgres") {
			return
		}
		// Two servers at once on one database, both scheduling.
		clk.Advance(30 * time.Minute)
		other, _ := openServer(t, cfg)
		for _, s := range []*Server{srv, other} {
			call(t, s, "PATCH", "/deployments/"+id, map[string]any{"description": "nudge " + s.Addr()}, nil)
		}
		waitFor(t, "the runs up to 14:01", func() bool { return len(runsOf(t, srv, id)) >= 121 })
		if n := distinctTimes(t, runsOf(t, other, id)); n != 121 {
			t.Errorf("%d runs with two servers, want 121", n)
		}
		stop()
	})
}

// A SCHEDULED run past its start by the threshold becomes Late with a
// reason, whoever made it; a deployment whose catch-up policy is "latest"
// keeps one runnable run after an outage of ten intervals, and skips the
// others.
func TestLateRunsAndCatchUp(t *testing.T) {
	testdb.Engines(t, func(t *testing.T, dsn string) {
		t0 := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
		clk := clock.NewFake(t0)
		cfg := engineConfig(t, dsn)
		cfg.Clock, cfg.SchedulerInterval, cfg.LateRunsInterval, cfg.LateRunsAfter = clk, time.Hour, 10*time.Millisecond, 15*time.Second
		srv, _ := openServer(t, cfg)
		latest := deploy(t, srv, "latest-only", time.Minute, map[string]any{"catch_up": map[string]any{"mode": "latest"}})
		all := deploy(t, srv, "catch-up-all", time.Minute, nil)
		paused := deploy(t, srv, "paused", time.Hour, nil)
		waitFor(t, "the runs", func() bool { return len(runsOf(t, srv, latest)) >= 60 && len(runsOf(t, srv, all)) >= 60 })
		call(t, srv, "POST", "/deployments/"+paused+"/pause_deployment", nil, nil)
		var manual, direct scheduledRun
		call(t, srv, "POST", "/deployments/"+paused+"/create_flow_run", map[string]any{}, &manual)
		var flow struct {
			ID string `json:"id"`
		}
		call(t, srv, "POST", "/flows/", map[string]any{"name": "direct"}, &flow)
		call(t, srv, "POST", "/flow_runs/", map[string]any{"flow_id": flow.ID, "state": map[string]any{"type": "SCHEDULED",
			"state_details": map[string]any{"scheduled_time": t0.Format(time.RFC3339)}}}, &direct)

		// Nothing serves them for ten intervals and a bit.
		clk.Advance(10*time.Minute + 20*time.Second)
		runnable := func(runs []scheduledRun) (due []scheduledRun, skipped int) {
			for _, r := range runs {
				switch {
				case r.StateType == "SCHEDULED" && r.NextScheduledStartTime != nil && *r.NextScheduledStartTime <= clk.Now().UTC().Format("2006-01-02T15:04:05.000000Z"):
					due = append(due, r)
				case r.StateName == "Skipped":
					skipped++
				}
			}
			return due, skipped
		}
		// 12:00 to 12:10 are due: eleven runs, ten skipped.
		waitFor(t, "the catch-up policy", func() bool { _, skipped := runnable(runsOf(t, srv, latest)); return skipped == 10 })
		due, _ := runnable(runsOf(t, srv, latest))
		if len(due) != 1 || due[0].ExpectedStartTime != "2026-06-01T12:10:00.000000Z" {
			t.Fatalf("latest-only: runnable %+v, want only the 12:10 run", due)
		}
		waitFor(t, "the latest run to be Late", func() bool {
			due, _ := runnable(runsOf(t, srv, latest))
			return len(due) == 1 && due[0].StateName == "Late"
		})
		due, _ = runnable(runsOf(t, srv, latest))
		if msg := due[0].State.Message; msg == nil || !strings.Contains(*msg, `Nothing has polled deployment "latest-only"`) {
			t.Errorf("late reason %v", msg)
		}
		// Without a policy every missed run stays, Late.
		waitFor(t, "the missed runs of catch-up-all to be Late", func() bool {
			due, skipped := runnable(runsOf(t, srv, all))
			late := 0
			for _, r := range due {
				if r.StateName == "Late" {
					late++
				}
			}
			return skipped == 0 && late == 11 && len(due) == 11
		})
		// The run of a paused deployment and one made outside a deployment
		// are Late too, each with its reason.
		for _, c := range []struct{ id, reason string }{{manual.ID, `"paused" is paused`}, {direct.ID, "outside a deployment"}} {
			waitFor(t, "run "+c.id+" to be Late", func() bool {
				var r scheduledRun
				call(t, srv, "GET", "/flow_runs/"+c.id, nil, &r)
				return r.StateName == "Late"
			})
			var r scheduledRun
			call(t, srv, "GET", "/flow_runs/"+c.id, nil, &r)
			if r.State.Message == nil || !strings.Contains(*r.State.Message, c.reason) {
				t.Errorf("run %s: reason %v, want %q", c.id, r.State.Message, c.reason)
			}
		}
		// /metrics counts what the services did.
		counted := map[string]float64{}
		for _, m := range scrape(t, srv)["praetor_service_items_total"].GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			counted[labels["service"]+"/"+labels["action"]] = m.GetCounter().GetValue()
		}
		if counted["late_runs/runs_late"] < 14 || counted["late_runs/runs_skipped"] != 10 || counted["scheduler/runs_created"] < 123 {
			t.Errorf("service metrics %v", counted)
		}
	})
}
