package ui_test

import (
	"strings"
	"testing"
	"time"

	"github.com/praetorhq/praetor/internal/clock"
	"github.com/praetorhq/praetor/internal/server"
	"github.com/praetorhq/praetor/internal/testdb"
)

// The server's clock stamps what the store writes and is the now of the
// pages: with a fake clock, a run's created time and state timestamp are
// the fake time, a running run's duration is counted to the fake now, and a
// finished run's page settles once the fake clock passes the settling time.
func TestServerClockStampsWritesAndPages(t *testing.T) {
	testdb.Engines(t, func(t *testing.T, dsn string) {
		cfg := server.Config{}
		if strings.HasPrefix(dsn, "postgres") {
			cfg.DatabaseURL = dsn
		}
		// Near the real time, so that the session cookie the fake time
		// dates stays valid in the client's jar.
		t0 := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
		fake := clock.NewFake(t0)
		cfg.Clock = fake
		ts := startServerWith(t, cfg)
		a, c, ws := newWorkspaceAPI(t, ts, "clock")

		flow := a.flow("clocked")
		var run struct {
			ID      string    `json:"id"`
			Created time.Time `json:"created"`
		}
		a.call("POST", "/flow_runs/", map[string]any{"flow_id": flow, "name": "clocked-run"}, &run)
		if !run.Created.Equal(t0) {
			t.Errorf("created %v, want the fake time %v", run.Created, t0)
		}
		// The running state comes a fake second later (a state at the
		// created time would be moved a microsecond after the first).
		t1 := fake.Advance(time.Second)
		var res struct {
			State struct {
				Timestamp time.Time `json:"timestamp"`
			} `json:"state"`
		}
		a.call("POST", "/flow_runs/"+run.ID+"/set_state", map[string]any{"state": map[string]any{"type": "RUNNING"}}, &res)
		if !res.State.Timestamp.Equal(t1) {
			t.Errorf("state timestamp %v, want the fake time %v", res.State.Timestamp, t1)
		}

		fake.Advance(time.Hour + 5*time.Minute)
		page := wsPage(t, c, ws, "/runs/flow-run/"+run.ID)
		if !strings.Contains(page, "1h 5m") {
			t.Errorf("a run running for an hour and five minutes of the fake clock does not show 1h 5m:\n%s", page)
		}

		a.setFlowRunState(run.ID, state("COMPLETED", "Completed", time.Time{}, nil))
		if page := wsPage(t, c, ws, "/runs/flow-run/"+run.ID); strings.Contains(page, "data-final") {
			t.Error("the page of a run that just finished is marked final")
		}
		fake.Advance(time.Minute)
		if page := wsPage(t, c, ws, "/runs/flow-run/"+run.ID); !strings.Contains(page, "data-final") {
			t.Error("the page of a run finished a fake minute ago is not marked final")
		}
	})
}
