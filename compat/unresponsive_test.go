package compat

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Acceptance 4 of #18, the server's side: `praetor worker` killed with
// SIGKILL while its run hangs leaves the run RUNNING with nobody to report
// it; the server marks the run CRASHED, saying why, once the worker missed
// its heartbeats and the run was silent for --unresponsive-runs-after, and
// the worker shows OFFLINE.
func TestUnresponsiveRunOfKilledWorker(t *testing.T) {
	requirePython(t)
	for _, engine := range engines() {
		if engine == "prefect" {
			continue // Prefect's open-source server leaves the run RUNNING
		}
		t.Run(engine, func(t *testing.T) {
			t.Parallel() // as forEachEngine: most of the time goes to waiting on Python
			api := startPraetor(t, engine, "PRAETOR_UNRESPONSIVE_RUNS_AFTER=3s", "PRAETOR_FOREMAN_INTERVAL=500ms")
			dep := deployPooled(t, api, "my-pool", `{}`)
			// Heartbeats every 5 s: OFFLINE 15 s after the last.
			w := startPraetorWorker(t, api, "my-pool", "--name", "doomed")
			var run servedRun
			api.post(t, "/deployments/"+dep.ID+"/create_flow_run", obj{"parameters": obj{"n": 1, "hold": 600}}, &run)
			r := waitRunState(t, api, run.ID, "RUNNING", 180*time.Second)
			// The flow's process has a process group of its own and outlives
			// the worker; it hangs until the test ends.
			pid := localPID(t, r)
			t.Cleanup(func() { syscall.Kill(-pid, syscall.SIGKILL) })
			if err := syscall.Kill(w.cmd.Process.Pid, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed := time.Now()

			r = waitRunState(t, api, run.ID, "CRASHED", 90*time.Second)
			if took := time.Since(killed); took < 10*time.Second {
				t.Errorf("crashed %v after the kill, before the worker's 3 heartbeats of 5 s were missed", took)
			}
			msg := ""
			if r.State != nil && r.State.Message != nil {
				msg = *r.State.Message
			}
			if !strings.HasPrefix(msg, `Worker "doomed" of pool "my-pool" stopped heartbeating at `) ||
				!strings.HasSuffix(msg, "; marked crashed by the server.") {
				t.Errorf("the crashed run's message %q", msg)
			}
			if !eventually(t, 30*time.Second, "the worker to be OFFLINE", func(ctx context.Context) (bool, string) {
				var workers []workerInfo
				err := api.call(ctx, "POST", "/work_pools/my-pool/workers/filter", obj{}, &workers)
				return len(workers) == 1 && workers[0].Status == "OFFLINE", fmt.Sprintf("%+v (%v)", workers, err)
			}) {
				t.FailNow()
			}
		})
	}
}
