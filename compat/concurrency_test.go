package compat

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// maxOverlap is the most intervals [enter, exit) that are open at once.
func maxOverlap(intervals [][2]float64) int {
	type edge struct {
		at    float64
		delta int
	}
	var edges []edge
	for _, iv := range intervals {
		edges = append(edges, edge{iv[0], 1}, edge{iv[1], -1})
	}
	// At the same instant an exit comes before an enter: touching intervals
	// do not overlap.
	slices.SortFunc(edges, func(a, b edge) int {
		if a.at != b.at {
			if a.at < b.at {
				return -1
			}
			return 1
		}
		return a.delta - b.delta
	})
	most, open := 0, 0
	for _, e := range edges {
		open += e.delta
		most = max(most, open)
	}
	return most
}

// Concurrency limits from the real client (acceptance 2 of issue 19): ten
// flows taking a slot of a global limit of 2 with concurrency(), and ten
// clients asking for one at once, never hold more than two at a time, as
// the times they record show; task runs of a tag limited to one slot never
// overlap; and a process killed with SIGKILL while it holds a slot gives it
// back once its lease expires.
func TestConcurrencyLimits(t *testing.T) {
	requirePython(t)
	for _, engine := range engines() {
		if engine == "prefect" {
			continue // Prefect's server refuses leases under a minute
		}
		t.Run(engine, func(t *testing.T) {
			// Leases as short as a second, reaped at once, so the killed
			// holder's slot comes back within seconds.
			api := startPraetor(t, engine, "PRAETOR_MIN_LEASE_DURATION=1s", "PRAETOR_LEASE_REAPER_INTERVAL=200ms")
			// Alongside, a holder of a slot of its own limit that renews a
			// lease of 2 s, to be killed once the rest is done.
			script, err := filepath.Abs(filepath.Join("flows", "concurrency_limits.py"))
			if err != nil {
				t.Fatal(err)
			}
			env := append(environWithout("PREFECT_"), "PREFECT_HOME="+t.TempDir(), "PREFECT_API_URL="+api.base,
				"PREFECT_SERVER_ANALYTICS_ENABLED=false", "PYTHONUNBUFFERED=1", "PRAETOR_COMPAT_LEASE=2")
			holder, err := startProcess("holder", filepath.Join(t.TempDir(), "holder.log"), env, pythonBin, script, "hold")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				holder.stop(time.Second)
				if t.Failed() {
					t.Logf("holder output:\n%s", tailLines(holder.log(), 40))
				}
			})
			recordPath := filepath.Join(t.TempDir(), "record.json")
			mustRunFlow(t, api, "concurrency_limits.py", "PRAETOR_COMPAT_RECORD="+recordPath)
			b, err := os.ReadFile(recordPath)
			if err != nil {
				t.Fatal(err)
			}
			var record map[string][][2]float64
			if err := json.Unmarshal(b, &record); err != nil {
				t.Fatalf("record %s: %v", b, err)
			}
			for kind, n := range map[string]int{"flows": 10, "clients": 10, "tasks": 4} {
				if len(record[kind]) != n {
					t.Errorf("%s: %d holders recorded, want %d", kind, len(record[kind]), n)
				}
			}
			// Never above the limit, and at it: the holders did run side by
			// side, so the limit was what held them back.
			for what, want := range map[string]struct {
				holders [][2]float64
				limit   int
			}{"flows": {record["flows"], 2}, "clients": {record["clients"], 2}, "tasks": {record["tasks"], 1}} {
				if n := maxOverlap(want.holders); n != want.limit {
					t.Errorf("%s: at most %d held a slot at once, want %d: %v", what, n, want.limit, want.holders)
				}
			}
			var active struct {
				ActiveSlots int `json:"active_slots"`
			}
			for _, name := range []string{"db", "tag:serial"} {
				api.get(t, "/v2/concurrency_limits/"+name, &active)
				if active.ActiveSlots != 0 {
					t.Errorf("%s: %d slots still held after every holder finished", name, active.ActiveSlots)
				}
			}

			// Held for more than twice its lease, it holds it still: the
			// client renews the lease.
			var since float64
			if !eventually(t, 90*time.Second, "the holder to hold its slot past two of its leases", func(ctx context.Context) (bool, string) {
				if ended, err := holder.exited(); ended {
					return false, fmt.Sprintf("the holder exited (%v)", err)
				}
				if since == 0 {
					if _, after, ok := strings.Cut(holder.log(), "holding since "); ok {
						since, _ = strconv.ParseFloat(strings.Fields(after)[0], 64)
					}
					return false, "not holding yet"
				}
				var l struct {
					ActiveSlots int `json:"active_slots"`
				}
				if err := api.call(ctx, "GET", "/v2/concurrency_limits/held", nil, &l); err != nil || l.ActiveSlots != 1 {
					t.Fatalf("the holder's limit holds %d slots (%v), want its 1", l.ActiveSlots, err)
				}
				held := float64(time.Now().UnixNano())/1e9 - since
				return held > 4.5, fmt.Sprintf("held for %.1fs", held)
			}) {
				t.FailNow()
			}
			holder.kill()
			eventually(t, 30*time.Second, "the killed holder's slot to come back", func(ctx context.Context) (bool, string) {
				var l struct {
					ActiveSlots int `json:"active_slots"`
				}
				if err := api.call(ctx, "GET", "/v2/concurrency_limits/held", nil, &l); err != nil {
					return false, err.Error()
				}
				return l.ActiveSlots == 0, fmt.Sprintf("%d slots held", l.ActiveSlots)
			})
		})
	}
}
