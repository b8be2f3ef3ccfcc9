package compat

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

type poolInfo struct {
	Name            string         `json:"name"`
	Type            string         `json:"type"`
	Status          string         `json:"status"`
	BaseJobTemplate map[string]any `json:"base_job_template"`
}

type workerInfo struct {
	Name              string `json:"name"`
	Status            string `json:"status"`
	LastHeartbeatTime string `json:"last_heartbeat_time"`
}

// startWorker runs `prefect worker start --pool pool` against api; it is
// stopped when the test ends. It polls every 2 s and heartbeats every 5 s
// rather than 10 s and 30 s, so the test waits less; the server's answers
// are the same.
func startWorker(t *testing.T, api *apiClient, pool string, extraEnv ...string) *process {
	t.Helper()
	return startWorkerWith(t, api, pool, nil, extraEnv...)
}

// startWorkerWith is startWorker with more arguments for `prefect worker
// start` (--limit).
func startWorkerWith(t *testing.T, api *apiClient, pool string, args []string, extraEnv ...string) *process {
	t.Helper()
	env := append(environWithout("PREFECT_"), "PREFECT_HOME="+t.TempDir(), "PREFECT_API_URL="+api.base,
		"PREFECT_SERVER_ANALYTICS_ENABLED=false", "PYTHONUNBUFFERED=1",
		"PREFECT_WORKER_QUERY_SECONDS=2", "PREFECT_WORKER_HEARTBEAT_SECONDS=5")
	env = append(env, extraEnv...)
	args = append([]string{"worker", "start", "--pool", pool}, args...)
	p, err := startProcess("prefect worker", filepath.Join(t.TempDir(), "worker.log"), env, prefectBin, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.stop(15 * time.Second)
		if t.Failed() {
			t.Logf("worker output:\n%s", tailLines(p.log(), 80))
		}
	})
	return p
}

// Acceptance 1 and 7 of #18 with the real client: `prefect work-pool create
// --type process`, a deployment made with flow.deploy() from a local
// directory, `prefect worker start`: a run created through the API ends
// COMPLETED with its log, and the worker is ONLINE with a recent heartbeat.
// Job variables that do not fit the pool's template are refused with a 422
// the client reports.
func TestProcessWorker(t *testing.T) {
	forEachEngine(t, func(t *testing.T, api *apiClient) {
		home := t.TempDir()
		env := []string{"PREFECT_API_URL=" + api.base}
		out, err := runClient(t.Context(), home, env, "-m", "prefect", "work-pool", "create", "my-pool", "--type", "process")
		if err != nil {
			t.Fatalf("prefect work-pool create: %v\n%s", err, out)
		}
		var pool poolInfo
		api.get(t, "/work_pools/my-pool", &pool)
		if pool.Type != "process" || pool.BaseJobTemplate["job_configuration"] == nil || pool.BaseJobTemplate["variables"] == nil {
			t.Fatalf("created pool %+v", pool)
		}

		deploy, err := filepath.Abs(filepath.Join("flows", "deploy_pooled.py"))
		if err != nil {
			t.Fatal(err)
		}
		// Acceptance 7: a variable of the wrong type is a 422, and no
		// deployment is made.
		out, err = runClient(t.Context(), home, env, deploy, "my-pool", `{"stream_output": "loud"}`)
		if err == nil || !strings.Contains(out, "422") || !strings.Contains(out, "stream_output") {
			t.Errorf("a deployment with bad job variables: %v\n%s", err, tailLines(out, 20))
		}
		if err := api.call(t.Context(), "GET", "/deployments/name/pooled/pooled-deployment", nil, nil); err == nil || !strings.Contains(err.Error(), "404") {
			t.Errorf("the refused deployment exists: %v", err)
		}

		out, err = runClient(t.Context(), home, env, deploy, "my-pool", `{"env": {"POOLED_GREETING": "hi"}}`)
		if err != nil {
			t.Fatalf("flow.deploy: %v\n%s", err, out)
		}
		var dep deploymentInfo
		api.get(t, "/deployments/name/pooled/pooled-deployment", &dep)

		startWorker(t, api, "my-pool")
		var run servedRun
		api.post(t, "/deployments/"+dep.ID+"/create_flow_run", obj{"parameters": obj{"n": 7}}, &run)
		eventually(t, 180*time.Second, "the worker's run to complete", func(ctx context.Context) (bool, string) {
			var r servedRun
			err := api.call(ctx, "GET", "/flow_runs/"+run.ID, nil, &r)
			return r.StateType == "COMPLETED", fmt.Sprintf("%s (%v)", r.StateType, err)
		})
		if _, err := findLog(t.Context(), api, run.ID, 20, "pooled run n=7"); err != nil {
			t.Error(err)
		}
		var claimed struct {
			InfrastructurePID *string        `json:"infrastructure_pid"`
			WorkQueueName     *string        `json:"work_queue_name"`
			Labels            map[string]any `json:"labels"`
		}
		api.get(t, "/flow_runs/"+run.ID, &claimed)
		if claimed.InfrastructurePID == nil || claimed.WorkQueueName == nil || *claimed.WorkQueueName != "default" ||
			claimed.Labels["prefect.work-pool.name"] != "my-pool" {
			t.Errorf("the worker's run: pid %v queue %v labels %v", claimed.InfrastructurePID, claimed.WorkQueueName, claimed.Labels)
		}

		var workers []workerInfo
		api.post(t, "/work_pools/my-pool/workers/filter", obj{}, &workers)
		if len(workers) != 1 || workers[0].Status != "ONLINE" {
			t.Fatalf("workers %+v", workers)
		}
		if hb, err := time.Parse(time.RFC3339Nano, workers[0].LastHeartbeatTime); err != nil || time.Since(hb) > 30*time.Second {
			t.Errorf("last heartbeat %s (%v)", workers[0].LastHeartbeatTime, err)
		}
		api.get(t, "/work_pools/my-pool", &pool)
		if pool.Status != "READY" {
			t.Errorf("pool with a worker: %s", pool.Status)
		}
		var d deploymentInfo
		api.get(t, "/deployments/"+dep.ID, &d)
		if d.Status != "READY" {
			t.Errorf("deployment of a polled queue: %s", d.Status)
		}

		// Acceptance 4 with Prefect's worker: a running flow set to
		// CANCELLING ends CANCELLED and its process is gone. Prefect
		// 3.8.8's process worker watches each run it starts for
		// cancellation (events/out, polling as the fallback) by default.
		var hold servedRun
		api.post(t, "/deployments/"+dep.ID+"/create_flow_run", obj{"parameters": obj{"n": 8, "hold": 600}}, &hold)
		running := waitRunState(t, api, hold.ID, "RUNNING", 180*time.Second)
		// Prefect's worker records the bare pid.
		pid, err := strconv.Atoi(fmt.Sprint(*running.InfrastructurePID))
		if err != nil || pid <= 0 {
			t.Fatalf("infrastructure_pid %v", running.InfrastructurePID)
		}
		api.post(t, "/flow_runs/"+hold.ID+"/set_state", obj{"state": obj{"type": "CANCELLING"}}, nil)
		waitRunState(t, api, hold.ID, "CANCELLED", 60*time.Second)
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("the cancelled run's process %d is still there (%v)", pid, err)
		}
	})
}
