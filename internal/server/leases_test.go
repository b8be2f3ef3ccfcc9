package server

import (
	"testing"
	"time"

	"github.com/praetorhq/praetor/internal/clock"
	"github.com/praetorhq/praetor/internal/testdb"
)

// A concurrency lease nobody renews gives its slots back once it expires,
// through the lease reaper; one that is renewed keeps them.
func TestLeaseReaper(t *testing.T) {
	testdb.Engines(t, func(t *testing.T, dsn string) {
		clk := clock.NewFake(time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC))
		cfg := engineConfig(t, dsn)
		cfg.Clock, cfg.SchedulerInterval, cfg.LeaseReaperInterval = clk, time.Hour, 10*time.Millisecond
		srv, _ := openServer(t, cfg)
		call(t, srv, "POST", "/v2/concurrency_limits/", map[string]any{"name": "db", "limit": 2}, nil)
		var dead, alive struct {
			LeaseID string `json:"lease_id"`
		}
		call(t, srv, "POST", "/v2/concurrency_limits/increment-with-lease", map[string]any{"names": []string{"db"}, "slots": 1, "lease_duration": 60}, &dead)
		call(t, srv, "POST", "/v2/concurrency_limits/increment-with-lease", map[string]any{"names": []string{"db"}, "slots": 1, "lease_duration": 60}, &alive)
		active := func() int {
			var l struct {
				ActiveSlots int `json:"active_slots"`
			}
			call(t, srv, "GET", "/v2/concurrency_limits/db", nil, &l)
			return l.ActiveSlots
		}
		clk.Advance(45 * time.Second)
		call(t, srv, "POST", "/v2/concurrency_limits/leases/"+alive.LeaseID+"/renew", map[string]any{"lease_duration": 60}, nil)
		// Passes before the expiry release nothing: two more passes, and
		// both slots are still held.
		passes := func() uint64 {
			m := sample(scrape(t, srv), "praetor_service_pass_duration_seconds", map[string]string{"service": "lease_reaper"})
			if m == nil {
				return 0
			}
			return m.GetHistogram().GetSampleCount()
		}
		after := passes() + 2
		waitFor(t, "two passes of the lease reaper", func() bool { return passes() >= after })
		if n := active(); n != 2 {
			t.Fatalf("%d active slots before any lease expired, want 2", n)
		}
		clk.Advance(30 * time.Second)
		waitFor(t, "the expired lease's slot to come back", func() bool { return active() == 1 })
		clk.Advance(time.Hour)
		waitFor(t, "the renewed lease's slot to come back once it expired too", func() bool { return active() == 0 })
	})
}
