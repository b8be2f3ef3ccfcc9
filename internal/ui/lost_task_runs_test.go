package ui_test

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// The page of an ended run with logs of task runs that never arrived says
// why and how to fix it; a run still going, one with all its task runs,
// and one whose task runs logged nothing do not.
func TestRunPageExplainsLostTaskRuns(t *testing.T) {
	forEachEngine(t, func(t *testing.T, ts *testServer) {
		a, c, ws := newWorkspaceAPI(t, ts, "lost")
		flow := a.flow("etl")
		now := time.Now()
		// recorded task runs log lines, and so do lost ones that were never
		// recorded.
		run := func(name string, final bool, recorded, lost int) string {
			id := a.flowRun(flow, name, state("RUNNING", "", now.Add(-time.Minute), nil), nil)
			a.log(id, "", 20, "flow line")
			for i := range recorded {
				tr := a.taskRun(id, "extract", fmt.Sprint(i), nil, state("COMPLETED", "", now, nil))
				a.log(id, tr, 20, "Finished in state Completed()")
			}
			for range lost {
				a.log(id, uuid.NewString(), 20, "Finished in state Completed()")
			}
			if final {
				a.setFlowRunState(id, state("COMPLETED", "", now, nil))
			}
			return id
		}
		fix := "PREFECT_CLOUD_API_URL=" + ts.URL + "/api"
		for _, tc := range []struct {
			name           string
			final          bool
			recorded, lost int
			explained      bool
		}{
			{"ended, every task run lost", true, 0, 2, true},
			{"ended, one task run of three lost", true, 2, 1, true},
			{"running, task runs not here yet", false, 0, 2, false},
			{"ended with all its task runs", true, 2, 0, false},
			{"ended, no task ever ran", true, 0, 0, false},
		} {
			id := run(tc.name, tc.final, tc.recorded, tc.lost)
			page := wsPage(t, c, ws, "/runs/flow-run/"+id)
			live := wsPage(t, c, ws, "/runs/flow-run/"+id+"/live/tasks")
			for what, body := range map[string]string{"page": page, "tasks fragment": live} {
				got := strings.Contains(body, `id="task-runs-lost"`)
				if got != tc.explained {
					t.Errorf("%s: the %s explains lost task runs: %v, want %v", tc.name, what, got, tc.explained)
				}
				if got && (!strings.Contains(body, fix) || !strings.Contains(body, "PREFECT_API_AUTH_STRING") || strings.Contains(body, "No task runs yet")) {
					t.Errorf("%s: the %s's explanation does not say to set %s (or PREFECT_API_AUTH_STRING), or still says \"No task runs yet\"", tc.name, what, fix)
				}
			}
		}
	})
}

// The seed's "Manually configuring Cloud settings" (PREFECT_API_URL and
// PREFECT_API_KEY alone) with the real client: the flow completes but its
// task runs are lost, and its page, in a real browser, says why and what
// to set. On SQLite only, to spare CI a Python run: the page's reading of
// lost task runs from what is stored is checked on both engines by
// TestRunPageExplainsLostTaskRuns; this proves the client's side.
func TestRunPageOfTheSeedsManualConfiguration(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		ts := startServer(t)
		pythonBin(t)
		b := ts.newBrowser(t)
		carol := newUser("carol")
		b.register(carol)
		ws := b.createWorkspace("Manual", "configured by hand")
		key := b.createAPIKey("by hand")
		// Prefect's own default: this server is then not the client's Cloud.
		startFlow(t, ts, ws, key, seedFlow(t, "retries_map_subflow.py"),
			"PREFECT_CLOUD_API_URL=https://api.prefect.cloud/api",
			"PRAETOR_COMPAT_ATTEMPTS_FILE="+filepath.Join(t.TempDir(), "attempts")).wait(t)

		var runs []struct {
			ID string `json:"id"`
		}
		c := ts.newClient(t)
		r := c.api("POST", "/accounts/"+ws.AccountID+"/workspaces/"+ws.ID+"/flow_runs/filter", key,
			map[string]any{"flows": map[string]any{"name": map[string]any{"any_": []string{"retries-map-subflow"}}}})
		if r.Status != http.StatusOK {
			t.Fatalf("flow_runs/filter: %d %s", r.Status, r.Body)
		}
		r.decode(t, &runs)
		if len(runs) != 1 {
			t.Fatalf("%d runs of retries-map-subflow, want 1", len(runs))
		}
		b.visit(ws.path("/runs/flow-run/" + runs[0].ID))
		b.waitVisible("#task-runs-lost")
		got := b.text("#task-runs-lost")
		for _, want := range []string{"not recorded", "prefect config set PREFECT_CLOUD_API_URL=" + ts.URL + "/api", "PREFECT_API_AUTH_STRING"} {
			if !strings.Contains(got, want) {
				t.Errorf("the explanation does not say %q; it reads:\n%s", want, got)
			}
		}
		b.screenshot("flow-run-task-runs-lost")
		if b.follow("#task-runs-lost a") != http.StatusOK || b.path() != ws.path("/settings") {
			t.Fatalf("the explanation's link leads to %s", b.path())
		}
	})
}
