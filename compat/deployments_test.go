package compat

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

type deploymentInfo struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Paused bool   `json:"paused"`
	Status string `json:"status"`
}

type servedRun struct {
	ID             string         `json:"id"`
	StateType      string         `json:"state_type"`
	AutoScheduled  bool           `json:"auto_scheduled"`
	Parameters     map[string]any `json:"parameters"`
	ExpectedStart  string         `json:"expected_start_time"`
	IdempotencyKey *string        `json:"idempotency_key"`
}

// startServe runs serve_flow.py, which serves a deployment every 3 s, as a
// process of its own against api; it is interrupted when the test ends.
func startServe(t *testing.T, api *apiClient) *process {
	t.Helper()
	return startServeScript(t, api, "serve_flow.py")
}

// startServeScript runs a script of flows/ that serves deployments, as
// startServe does.
func startServeScript(t *testing.T, api *apiClient, name string) *process {
	t.Helper()
	script, err := filepath.Abs(filepath.Join("flows", name))
	if err != nil {
		t.Fatal(err)
	}
	env := append(environWithout("PREFECT_"), "PREFECT_HOME="+t.TempDir(), "PREFECT_API_URL="+api.base,
		"PREFECT_SERVER_ANALYTICS_ENABLED=false", "PYTHONUNBUFFERED=1",
		// The runner polls every 2 s rather than 10 s, so the test needs
		// less waiting; the server's answers are the same.
		"PREFECT_RUNNER_POLL_FREQUENCY=2")
	p, err := startProcess("flow.serve", filepath.Join(t.TempDir(), "serve.log"), env, pythonBin, script)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.stop(15 * time.Second)
		if t.Failed() {
			t.Logf("serve output:\n%s", tailLines(p.log(), 80))
		}
	})
	return p
}

// runsOfDeployment lists a deployment's runs.
func runsOfDeployment(ctx context.Context, api *apiClient, id string) ([]servedRun, error) {
	var runs []servedRun
	err := api.call(ctx, "POST", "/flow_runs/filter", obj{"flow_runs": obj{"deployment_id": anyOf(id)}, "sort": "EXPECTED_START_TIME_ASC"}, &runs)
	return runs, err
}

// flow.serve() from the real client: the deployment appears, its schedule
// runs at least three times within 20 s (each COMPLETED, with its log), a run
// made through the API with other parameters runs with them, a bad
// parameter is refused with nothing made, the client's typed models read
// the deployment, and Ctrl-C pauses it. No two runs share a scheduled time.
func TestServe(t *testing.T) {
	forEachEngine(t, func(t *testing.T, api *apiClient) {
		started := time.Now()
		serve := startServe(t, api)
		var dep deploymentInfo
		eventually(t, 60*time.Second, "the served deployment", func(ctx context.Context) (bool, string) {
			err := api.call(ctx, "GET", "/deployments/name/served/every-3s", nil, &dep)
			return err == nil, fmt.Sprint(err)
		})

		completed := func(ctx context.Context, auto bool) ([]servedRun, error) {
			runs, err := runsOfDeployment(ctx, api, dep.ID)
			var done []servedRun
			for _, r := range runs {
				if r.StateType == "COMPLETED" && r.AutoScheduled == auto {
					done = append(done, r)
				}
			}
			return done, err
		}
		// Once the runner has taken the first three scheduled runs, the
		// schedule is switched off: left on, it starts a Python process
		// every 3 s until the test ends, more than a loaded machine
		// finishes, and later runs would check nothing more. The
		// deployment stays unpaused, for the Ctrl-C check below.
		var taken []servedRun
		if !eventually(t, 120*time.Second, "the runner to take three scheduled runs", func(ctx context.Context) (bool, string) {
			runs, err := runsOfDeployment(ctx, api, dep.ID)
			taken = taken[:0]
			for _, r := range runs {
				if r.AutoScheduled && r.StateType != "SCHEDULED" {
					taken = append(taken, r)
				}
			}
			return len(taken) >= 3, fmt.Sprintf("%d taken (%v)", len(taken), err)
		}) {
			return
		}
		var withSchedules struct {
			Schedules []struct {
				ID string `json:"id"`
			} `json:"schedules"`
		}
		api.get(t, "/deployments/"+dep.ID, &withSchedules)
		if len(withSchedules.Schedules) != 1 {
			t.Fatalf("the served deployment has schedules %+v, want one", withSchedules.Schedules)
		}
		if err := api.call(t.Context(), "PATCH", "/deployments/"+dep.ID+"/schedules/"+withSchedules.Schedules[0].ID, obj{"active": false}, nil); err != nil {
			t.Fatalf("switch the schedule off: %v", err)
		}

		// Three runs scheduled within 20 s of the deployment's creation
		// complete. How long their Python processes take to start depends
		// on the machine's load, so the wait for them is longer.
		var scheduled []servedRun
		if !eventually(t, 120*time.Second, "three completed scheduled runs", func(ctx context.Context) (bool, string) {
			var err error
			scheduled, err = completed(ctx, true)
			return len(scheduled) >= 3, fmt.Sprintf("%d completed (%v)", len(scheduled), err)
		}) {
			return
		}
		t.Logf("three scheduled runs completed %s after serve started", time.Since(started).Round(time.Second))
		first, err := time.Parse(time.RFC3339Nano, scheduled[0].ExpectedStart)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range scheduled[:3] {
			at, _ := time.Parse(time.RFC3339Nano, r.ExpectedStart)
			if d := at.Sub(first); d > 20*time.Second || d%(3*time.Second) != 0 {
				t.Errorf("run %s scheduled at %s, %s after the first: want the first runs, 3 s apart", r.ID, r.ExpectedStart, d)
			}
		}
		for _, r := range scheduled[:3] {
			if _, err := findLog(t.Context(), api, r.ID, 20, "served run n=1 greeting=hi"); err != nil {
				t.Errorf("scheduled run %s: %v", r.ID, err)
			}
		}

		// A run through the API with other parameters runs with them.
		var manual servedRun
		api.post(t, "/deployments/"+dep.ID+"/create_flow_run", obj{"parameters": obj{"n": 42, "greeting": "override"}}, &manual)
		eventually(t, 180*time.Second, "the API-created run to complete", func(ctx context.Context) (bool, string) {
			var r servedRun
			err := api.call(ctx, "GET", "/flow_runs/"+manual.ID, nil, &r)
			return r.StateType == "COMPLETED", fmt.Sprintf("%s (%v)", r.StateType, err)
		})
		if _, err := findLog(t.Context(), api, manual.ID, 20, "served run n=42 greeting=override"); err != nil {
			t.Error(err)
		}

		// A bad parameter against the enforced schema: 422, nothing made
		// (the scheduler may add runs meanwhile; no other run may appear).
		before, err := runsOfDeployment(t.Context(), api, dep.ID)
		if err != nil {
			t.Fatal(err)
		}
		err = api.call(t.Context(), "POST", "/deployments/"+dep.ID+"/create_flow_run", obj{"parameters": obj{"n": "many"}}, nil)
		if err == nil || !strings.Contains(err.Error(), "status 422") || !strings.Contains(err.Error(), "Validation failed for field 'n'") {
			t.Errorf("a bad parameter: %v, want a 422 naming n", err)
		}
		after, _ := runsOfDeployment(t.Context(), api, dep.ID)
		if n := newManualRuns(before, after); n != 0 {
			t.Errorf("the refused request made %d runs", n)
		}

		// The client's own models read the deployment (with Praetor's
		// extra catch_up key) by name, id and filter.
		out, err := runClient(t.Context(), t.TempDir(), []string{"PREFECT_API_URL=" + api.base}, filepath.Join("flows", "read_deployment.py"), "served/every-3s")
		if err != nil || !strings.Contains(out, "status READY") || !strings.Contains(out, "schedules 1 IntervalSchedule") {
			t.Errorf("read_deployment.py: %v\n%s", err, out)
		}

		// No two runs of one scheduled time.
		runs, _ := runsOfDeployment(t.Context(), api, dep.ID)
		seen := map[string]bool{}
		for _, r := range runs {
			if r.AutoScheduled && seen[r.ExpectedStart] {
				t.Errorf("two runs scheduled at %s", r.ExpectedStart)
			}
			seen[r.ExpectedStart] = true
		}

		// Ctrl-C pauses the deployment (switching its schedule off did not).
		var d deploymentInfo
		api.get(t, "/deployments/"+dep.ID, &d)
		if d.Paused {
			t.Fatalf("the deployment is paused before Ctrl-C")
		}
		serve.interrupt()
		eventually(t, 30*time.Second, "the interrupted serve to pause its deployment", func(ctx context.Context) (bool, string) {
			var d deploymentInfo
			err := api.call(ctx, "GET", "/deployments/"+dep.ID, nil, &d)
			return d.Paused, fmt.Sprintf("paused %v (%v)", d.Paused, err)
		})
	})
}

// newManualRuns counts the runs of after that before lacks and that no
// schedule made.
func newManualRuns(before, after []servedRun) int {
	had := map[string]bool{}
	for _, r := range before {
		had[r.ID] = true
	}
	n := 0
	for _, r := range after {
		if !had[r.ID] && !r.AutoScheduled {
			n++
		}
	}
	return n
}

// interrupt sends the process group SIGINT, as Ctrl-C in a terminal does.
func (p *process) interrupt() { _ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGINT) }
