package compat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// startPraetorWorker runs `praetor worker start --pool pool` against api,
// with the virtualenv's python first on PATH: the worker itself needs no
// Python, the flow runs it starts do. It polls every second and checks
// its runs for cancellation every second, so the tests wait less.
func startPraetorWorker(t *testing.T, api *apiClient, pool string, args ...string) *process {
	t.Helper()
	// TMPDIR in the test's directory: a worker the test kills with
	// SIGKILL leaves its runs' working directories behind.
	env := append(environWithout("PREFECT_", "PRAETOR_", "PATH=", "TMPDIR="), "PREFECT_HOME="+t.TempDir(), "TMPDIR="+t.TempDir(), "PREFECT_API_URL="+api.base,
		"PATH="+filepath.Dir(pythonBin)+string(os.PathListSeparator)+os.Getenv("PATH"),
		"PREFECT_SERVER_ANALYTICS_ENABLED=false", "PYTHONUNBUFFERED=1",
		"PREFECT_WORKER_QUERY_SECONDS=1", "PREFECT_WORKER_HEARTBEAT_SECONDS=5")
	if api.key != "" {
		env = append(env, "PREFECT_API_KEY="+api.key)
	}
	args = append([]string{"worker", "start", "--pool", pool, "--cancel-poll", "1s", "--kill-grace", "10s"}, args...)
	p, err := startProcess("praetor worker", filepath.Join(t.TempDir(), "praetor-worker.log"), env, praetorBinary(t), args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.stop(30 * time.Second)
		log := p.log()
		if i := strings.Index(log, "WARNING: DATA RACE"); raceEnabled && i >= 0 {
			t.Errorf("praetor worker reported a data race:\n%s", truncate(log[i:], 12000))
		}
		if t.Failed() {
			t.Logf("praetor worker output:\n%s", tailLines(log, 80))
		}
	})
	return p
}

// deployPooled makes a process pool and the pooled deployment of
// compat/flows/deploy_pooled.py in it, with the given job variables, in one
// Python process (TestProcessWorker makes its pool with the CLI).
func deployPooled(t *testing.T, api *apiClient, pool, jobVariables string) deploymentInfo {
	t.Helper()
	home := t.TempDir()
	env := []string{"PREFECT_API_URL=" + api.base, "PRAETOR_COMPAT_CREATE_POOL=1"}
	if api.key != "" {
		env = append(env, "PREFECT_API_KEY="+api.key)
	}
	deploy, err := filepath.Abs(filepath.Join("flows", "deploy_pooled.py"))
	if err != nil {
		t.Fatal(err)
	}
	if out, err := runClient(t.Context(), home, env, deploy, pool, jobVariables); err != nil {
		t.Fatalf("create the pool and flow.deploy: %v\n%s", err, out)
	}
	var dep deploymentInfo
	api.get(t, "/deployments/name/pooled/pooled-deployment", &dep)
	return dep
}

type workerRun struct {
	ID                string         `json:"id"`
	StateType         string         `json:"state_type"`
	StateName         string         `json:"state_name"`
	State             *stateInfo     `json:"state"`
	InfrastructurePID *string        `json:"infrastructure_pid"`
	WorkQueueName     *string        `json:"work_queue_name"`
	Labels            map[string]any `json:"labels"`
}

func waitRunState(t *testing.T, api *apiClient, id, want string, timeout time.Duration) workerRun {
	t.Helper()
	var r workerRun
	if !eventually(t, timeout, "flow run "+id+" to be "+want, func(ctx context.Context) (bool, string) {
		err := api.call(ctx, "GET", "/flow_runs/"+id, nil, &r)
		return r.StateType == want, fmt.Sprintf("%s %s (%v)", r.StateType, r.StateName, err)
	}) {
		t.FailNow()
	}
	return r
}

// localPID is the process id of a run's infrastructure_pid, "<host>:<pid>".
func localPID(t *testing.T, r workerRun) int {
	t.Helper()
	host, _ := os.Hostname()
	if r.InfrastructurePID == nil {
		t.Fatalf("run %s has no infrastructure_pid", r.ID)
	}
	h, p, ok := strings.Cut(*r.InfrastructurePID, ":")
	pid, err := strconv.Atoi(p)
	if !ok || h != host || err != nil || pid <= 0 {
		t.Fatalf("run %s: infrastructure_pid %q is not %s:<pid>", r.ID, *r.InfrastructurePID, host)
	}
	return pid
}

// Acceptance 2 of #18: the deployment TestProcessWorker runs with Prefect's
// worker, run by `praetor worker start --pool my-pool` instead, ends
// COMPLETED with its log and the same records: the worker's labels, an
// infrastructure_pid, the queue; the job variables' env reaches the flow.
// And a run another worker claimed first is left alone.
func TestPraetorWorker(t *testing.T) {
	forEachEngine(t, func(t *testing.T, api *apiClient) {
		record := t.TempDir()
		dep := deployPooled(t, api, "my-pool", fmt.Sprintf(`{"env": {"POOLED_RECORD_DIR": %q}}`, record))
		var pool struct {
			ID string `json:"id"`
		}
		api.get(t, "/work_pools/my-pool", &pool)

		// The first run the worker claims is claimed by another just before
		// (the proxy proposes PENDING itself, then forwards the worker's
		// claim): the worker's claim is aborted, with the run's state, now
		// PENDING, in the answer. It must leave the run alone.
		var (
			mu        sync.Mutex
			lost      string
			afterLost []string
		)
		lostClaimed := make(chan struct{})
		proxy := newAPIClient(proxyAPI(t, api.base, func(w http.ResponseWriter, r *http.Request, forward http.Handler) {
			_, rest, _ := strings.Cut(r.URL.Path, "/flow_runs/")
			id, _, _ := strings.Cut(rest, "/")
			mu.Lock()
			claim := lost == "" && r.Method == "POST" && strings.HasSuffix(rest, "/set_state")
			if claim {
				lost = id
				if err := api.call(r.Context(), "POST", "/flow_runs/"+id+"/set_state", obj{"state": obj{"type": "PENDING"}}, nil); err != nil {
					t.Errorf("claiming run %s before the worker: %v", id, err)
				}
			} else if lost != "" && id == lost {
				afterLost = append(afterLost, r.Method+" "+r.URL.Path)
			}
			mu.Unlock()
			forward.ServeHTTP(w, r)
			if claim {
				close(lostClaimed)
			}
		}))
		startPraetorWorker(t, proxy, "my-pool", "--name", "go-worker")
		var taken servedRun
		api.post(t, "/deployments/"+dep.ID+"/create_flow_run", obj{"parameters": obj{"n": 6}}, &taken)
		select {
		case <-lostClaimed:
		case <-time.After(180 * time.Second):
			t.Fatal("the worker claimed no run")
		}
		var run servedRun
		api.post(t, "/deployments/"+dep.ID+"/create_flow_run", obj{"parameters": obj{"n": 7}}, &run)
		r := waitRunState(t, api, run.ID, "COMPLETED", 180*time.Second)
		mu.Lock()
		if lost != taken.ID || len(afterLost) != 0 {
			t.Errorf("the worker lost its claim of %s (want %s), then went on: %v", lost, taken.ID, afterLost)
		}
		mu.Unlock()
		if got := waitRunState(t, api, taken.ID, "PENDING", time.Second); got.StateName != "Pending" {
			t.Errorf("the run claimed by another is %s/%s", got.StateType, got.StateName)
		}
		if files, _ := filepath.Glob(filepath.Join(record, "6-*.txt")); len(files) != 0 {
			t.Errorf("the run claimed by another ran: %v", files)
		}
		if _, err := findLog(t.Context(), api, run.ID, 20, "pooled run n=7"); err != nil {
			t.Error(err)
		}
		localPID(t, r)
		want := map[string]any{"prefect.worker.name": "go-worker", "prefect.worker.type": "process",
			"prefect.work-pool.name": "my-pool", "prefect.work-pool.id": pool.ID}
		for k, v := range want {
			if r.Labels[k] != v {
				t.Errorf("label %s = %v, want %v (labels %v)", k, r.Labels[k], v, r.Labels)
			}
		}
		if r.WorkQueueName == nil || *r.WorkQueueName != "default" {
			t.Errorf("queue %v", r.WorkQueueName)
		}
		if files, _ := filepath.Glob(filepath.Join(record, "7-*.txt")); len(files) != 1 {
			t.Errorf("the run's record (from the job variables' env): %v", files)
		}
		var states []stateInfo
		api.get(t, "/flow_run_states/?flow_run_id="+run.ID, &states)
		names := []string{}
		for _, s := range states {
			names = append(names, s.Type+"/"+s.Name)
		}
		if got := strings.Join(names, " "); !strings.Contains(got, "PENDING/Pending PENDING/Submitting RUNNING/Running COMPLETED/Completed") {
			t.Errorf("states %s", got)
		}

		var workers []workerInfo
		api.post(t, "/work_pools/my-pool/workers/filter", obj{}, &workers)
		if len(workers) != 1 || workers[0].Name != "go-worker" || workers[0].Status != "ONLINE" {
			t.Errorf("workers %+v", workers)
		}
	})
}

// Acceptance 4 of #18, the worker's side, with `praetor worker`: a running
// flow set to CANCELLING through the API ends CANCELLED and its process is
// gone; a run whose process is killed with SIGKILL ends CRASHED with a
// message that says so. The first worker polls its runs' states only every
// 10 minutes, so its run ends CANCELLED in seconds only through the
// prefect.flow-run.Cancelling event of its events/out subscription; the
// second reaches the server through a proxy that refuses websockets, and
// stops its run by polling instead.
func TestPraetorWorkerCancelAndCrash(t *testing.T) {
	forEachEngine(t, func(t *testing.T, api *apiClient) {
		dep := deployPooled(t, api, "my-pool", `{}`)
		if err := api.call(t.Context(), "POST", "/work_pools/my-pool/queues/", obj{"name": "socketless"}, nil); err != nil {
			t.Fatal(err)
		}
		// Runs of deployments it cannot run, taken before the worker starts:
		// one whose deployment was deleted is CANCELLED, as Prefect's worker
		// does; one whose command does not exist, and one whose deployment
		// has no entrypoint, end with a message rather than hang.
		var pooled struct {
			FlowID string `json:"flow_id"`
		}
		api.get(t, "/deployments/"+dep.ID, &pooled)
		unusable := map[string]string{}
		for name, vars := range map[string]obj{"deleted": {}, "no-command": {"command": "praetor-no-such-command --flag"}, "no-entrypoint": {}} {
			var d deploymentInfo
			api.post(t, "/deployments/", obj{"name": name, "flow_id": pooled.FlowID, "work_pool_name": "my-pool", "job_variables": vars}, &d)
			var run servedRun
			api.post(t, "/deployments/"+d.ID+"/create_flow_run", obj{}, &run)
			unusable[name] = run.ID
			if name == "deleted" {
				if err := api.call(t.Context(), "DELETE", "/deployments/"+d.ID, nil, nil); err != nil {
					t.Fatal(err)
				}
				unusable["deleted-deployment"] = d.ID
			}
		}
		startPraetorWorker(t, api, "my-pool", "--work-queue", "default", "--cancel-poll", "10m")
		r := waitRunState(t, api, unusable["deleted"], "CANCELLED", 60*time.Second)
		if want := "Deployment " + unusable["deleted-deployment"] + " no longer exists, cancelled run."; r.State == nil || r.State.Message == nil || *r.State.Message != want {
			t.Errorf("the run of a deleted deployment: %+v, want the message %q", r.State, want)
		}
		r = waitRunState(t, api, unusable["no-command"], "CRASHED", 60*time.Second)
		if r.State == nil || r.State.Message == nil || !strings.Contains(*r.State.Message, "could not be started") {
			t.Errorf("the run whose command does not exist: %+v", r.State)
		}
		r = waitRunState(t, api, unusable["no-entrypoint"], "CRASHED", 60*time.Second)
		if want := "does not have an entrypoint and can not be run."; r.State == nil || r.State.Message == nil || !strings.HasSuffix(*r.State.Message, want) {
			t.Errorf("the run of a deployment without an entrypoint: %+v, want a message ending %q", r.State, want)
		}

		noSocket := newAPIClient(socketlessProxy(t, api.base))
		polling := startPraetorWorker(t, noSocket, "my-pool", "--work-queue", "socketless", "--cancel-poll", "1s")
		var cancelled, polled, killed servedRun
		api.post(t, "/deployments/"+dep.ID+"/create_flow_run", obj{"parameters": obj{"n": 1, "hold": 600}}, &cancelled)
		api.post(t, "/deployments/"+dep.ID+"/create_flow_run", obj{"parameters": obj{"n": 2, "hold": 600}}, &killed)
		api.post(t, "/deployments/"+dep.ID+"/create_flow_run", obj{"parameters": obj{"n": 3, "hold": 600}, "work_queue_name": "socketless"}, &polled)

		for _, id := range []string{cancelled.ID, polled.ID} {
			r := waitRunState(t, api, id, "RUNNING", 180*time.Second)
			pid := localPID(t, r)
			api.post(t, "/flow_runs/"+id+"/set_state", obj{"state": obj{"type": "CANCELLING"}}, nil)
			waitRunState(t, api, id, "CANCELLED", 30*time.Second)
			if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
				t.Errorf("the cancelled run's process %d is still there (%v)", pid, err)
			}
		}
		if !strings.Contains(polling.log(), "the events stream is unavailable") {
			t.Errorf("the worker behind the proxy does not say its events stream is down")
		}

		r = waitRunState(t, api, killed.ID, "RUNNING", 180*time.Second)
		if err := syscall.Kill(localPID(t, r), syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		r = waitRunState(t, api, killed.ID, "CRASHED", 60*time.Second)
		if r.State == nil || r.State.Message == nil || !strings.Contains(*r.State.Message, "SIGKILL") {
			t.Errorf("the killed run's state %+v", r.State)
		}
	})
}

// proxyAPI serves the API at base through a reverse proxy on loopback
// and returns the proxy's API URL; handle answers each request, passing on
// what it lets through to forward.
func proxyAPI(t *testing.T, base string, handle func(w http.ResponseWriter, r *http.Request, forward http.Handler)) string {
	t.Helper()
	target, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	// No X-Forwarded-For: the server lets only local callers in without a
	// key, and a forwarded request is not local.
	forward := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(&url.URL{Scheme: target.Scheme, Host: target.Host})
	}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handle(w, r, forward) }))
	t.Cleanup(srv.Close)
	return srv.URL + target.Path
}

// socketlessProxy is a proxy that refuses websocket upgrades, as some
// proxies do.
func socketlessProxy(t *testing.T, base string) string {
	return proxyAPI(t, base, func(w http.ResponseWriter, r *http.Request, forward http.Handler) {
		if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			http.Error(w, "websockets are not proxied", http.StatusForbidden)
			return
		}
		forward.ServeHTTP(w, r)
	})
}

// claimProxy is a proxy that calls claimed when a worker's claim of a run
// (its first PENDING proposal) is accepted, before the worker hears the
// answer; prefect tells Prefect's worker (by its User-Agent) from
// praetor's.
func claimProxy(t *testing.T, base string, claimed func(run string, prefect bool)) string {
	return proxyAPI(t, base, func(w http.ResponseWriter, r *http.Request, forward http.Handler) {
		_, rest, _ := strings.Cut(r.URL.Path, "/flow_runs/")
		run, isSetState := strings.CutSuffix(rest, "/set_state")
		if r.Method != "POST" || !isSetState {
			forward.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		var in struct {
			State struct{ Type, Name string } `json:"state"`
		}
		_ = json.Unmarshal(body, &in)
		rec := httptest.NewRecorder()
		forward.ServeHTTP(rec, r)
		var out struct {
			Status string `json:"status"`
		}
		_ = json.Unmarshal(rec.Body.Bytes(), &out)
		if in.State.Type == "PENDING" && (in.State.Name == "" || in.State.Name == "Pending") && out.Status == "ACCEPT" {
			claimed(run, strings.HasPrefix(r.UserAgent(), "prefect/"))
		}
		maps.Copy(w.Header(), rec.Header())
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	})
}

// Acceptance 3 of #18: Prefect's worker and praetor's on one pool with
// queued runs: every run runs exactly once, from its states (one RUNNING
// each, all COMPLETED) and from the file each run writes. And a run
// cancelled before it starts never starts, with either worker: two runs
// set CANCELLED and CANCELLING while SCHEDULED are never taken, and the
// first run each worker claims is set CANCELLING (through a proxy, between
// the claim and the worker hearing of it): neither ever runs or writes its
// file.
//
// Both workers poll the pool before the runs are queued, each limited to
// 4 at once, so both claim from the same 20 runs at the same moments (the
// race exactly-once is about) and each takes a share whatever the order
// they poll in.
func TestTwoWorkersOnePool(t *testing.T) {
	forEachEngine(t, func(t *testing.T, api *apiClient) {
		record := t.TempDir()
		dep := deployPooled(t, api, "my-pool", fmt.Sprintf(`{"env": {"POOLED_RECORD_DIR": %q}}`, record))
		never := map[int]string{}
		for n, state := range map[int]string{101: "CANCELLED", 102: "CANCELLING"} {
			var run servedRun
			api.post(t, "/deployments/"+dep.ID+"/create_flow_run", obj{"parameters": obj{"n": n}}, &run)
			api.post(t, "/flow_runs/"+run.ID+"/set_state", obj{"state": obj{"type": state}}, nil)
			never[n] = run.ID
		}
		var mu sync.Mutex
		cancelledOnClaim := map[bool]string{} // by worker kind: Prefect's or not
		proxy := newAPIClient(claimProxy(t, api.base, func(run string, prefect bool) {
			mu.Lock()
			defer mu.Unlock()
			if _, done := cancelledOnClaim[prefect]; done {
				return
			}
			cancelledOnClaim[prefect] = run
			if err := api.call(context.Background(), "POST", "/flow_runs/"+run+"/set_state", obj{"state": obj{"type": "CANCELLING"}}, nil); err != nil {
				t.Errorf("cancelling the claimed run %s: %v", run, err)
			}
		}))
		startWorkerWith(t, proxy, "my-pool", []string{"--limit", "4"}, "PREFECT_WORKER_QUERY_SECONDS=1")
		startPraetorWorker(t, proxy, "my-pool", "--limit", "4")
		// A worker heartbeats as it starts polling.
		if !eventually(t, 180*time.Second, "both workers to be online", func(ctx context.Context) (bool, string) {
			var workers []workerInfo
			err := api.call(ctx, "POST", "/work_pools/my-pool/workers/filter", obj{}, &workers)
			return len(workers) == 2, fmt.Sprintf("%+v (%v)", workers, err)
		}) {
			return
		}
		const runs = 20
		ids := make([]string, 0, runs)
		byID := map[string]int{}
		for n := 1; n <= runs; n++ {
			var run servedRun
			api.post(t, "/deployments/"+dep.ID+"/create_flow_run", obj{"parameters": obj{"n": n}}, &run)
			ids = append(ids, run.ID)
			byID[run.ID] = n
		}

		onClaim := func(id string) (cancelled, byPrefect bool) {
			mu.Lock()
			defer mu.Unlock()
			for prefect, run := range cancelledOnClaim {
				if run == id {
					return true, prefect
				}
			}
			return false, false
		}
		byType := map[string]int{}
		for _, id := range ids {
			n := byID[id]
			var r workerRun
			eventually(t, 400*time.Second, fmt.Sprintf("run n=%d to end", n), func(ctx context.Context) (bool, string) {
				err := api.call(ctx, "GET", "/flow_runs/"+id, nil, &r)
				cancelled, prefect := onClaim(id)
				// A run cancelled on the claim of Prefect's worker may stay
				// CANCELLING: it will not run. praetor worker marks its own
				// CANCELLED, shortly after the proxy set CANCELLING.
				return r.StateType == "COMPLETED" || r.StateType == "CANCELLED" || cancelled && prefect && r.StateType == "CANCELLING",
					fmt.Sprintf("%s %s (%v)", r.StateType, r.StateName, err)
			})
			var states []stateInfo
			api.get(t, "/flow_run_states/?flow_run_id="+id, &states)
			running := 0
			for _, s := range states {
				if s.Type == "RUNNING" {
					running++
				}
			}
			files, _ := filepath.Glob(filepath.Join(record, fmt.Sprintf("%d-*.txt", n)))
			if cancelled, prefect := onClaim(id); cancelled {
				if running != 0 || len(files) != 0 {
					t.Errorf("run n=%d, cancelled on its claim by the worker (Prefect's: %v), ran %d times and wrote %d records", n, prefect, running, len(files))
				}
				// praetor worker marks it CANCELLED itself.
				if !prefect && r.StateType != "CANCELLED" {
					t.Errorf("run n=%d, cancelled on praetor worker's claim, ended %s", n, r.StateType)
				}
				t.Logf("run n=%d, cancelled on the claim of the worker (Prefect's: %v), ended %s %q", n, prefect, r.StateType, r.StateName)
				continue
			}
			if r.StateType != "COMPLETED" || running != 1 || len(files) != 1 {
				t.Errorf("run n=%d ended %s, ran %d times, wrote %d records", n, r.StateType, running, len(files))
			}
			byType[fmt.Sprint(r.Labels["prefect.worker.type"])+" "+strings.Fields(fmt.Sprint(r.Labels["prefect.worker.name"]))[0]]++
		}
		mu.Lock()
		if len(cancelledOnClaim) != 2 {
			t.Errorf("claims cancelled %v: want one of each worker", cancelledOnClaim)
		}
		mu.Unlock()
		if len(byType) != 2 {
			t.Errorf("runs completed by worker: %v, want some by each", byType)
		}
		for n, id := range never {
			var r workerRun
			api.get(t, "/flow_runs/"+id, &r)
			if r.StateType != "CANCELLED" || r.InfrastructurePID != nil {
				t.Errorf("the run n=%d cancelled while SCHEDULED is %s with infrastructure %v", n, r.StateType, r.InfrastructurePID)
			}
			if files, _ := filepath.Glob(filepath.Join(record, fmt.Sprintf("%d-*.txt", n))); len(files) != 0 {
				t.Errorf("the run n=%d cancelled while SCHEDULED ran", n)
			}
		}
		t.Logf("runs by worker: %v; cancelled on their claim: %v", byType, cancelledOnClaim)
	})
}

// SIGTERM stops the worker cleanly: it terminates its running flow run's
// process with a log that says so, the run does not stay RUNNING, and the
// worker exits 0. A run it has claimed but not started when the signal
// comes (the proxy sends SIGTERM as the claim passes, and lets the answer
// through once the worker says it is stopping) is given back: SCHEDULED,
// never RUNNING, and the next worker runs it. Prefect's worker leaves such
// a run PENDING; giving it back is what lets another worker run it.
func TestPraetorWorkerShutdown(t *testing.T) {
	forEachEngine(t, func(t *testing.T, api *apiClient) {
		dep := deployPooled(t, api, "my-pool", `{}`)
		var (
			mu     sync.Mutex
			w      *process
			claims int
		)
		proxy := newAPIClient(claimProxy(t, api.base, func(string, bool) {
			mu.Lock()
			claims++
			second, worker := claims == 2, w
			mu.Unlock()
			if !second {
				return
			}
			if err := syscall.Kill(worker.cmd.Process.Pid, syscall.SIGTERM); err != nil {
				t.Errorf("SIGTERM: %v", err)
				return
			}
			if ok, _ := poll(context.Background(), 30*time.Second, func(context.Context) (bool, string) {
				return strings.Contains(worker.log(), "worker stopping"), ""
			}); !ok {
				t.Errorf("the worker did not start stopping within 30 s of SIGTERM")
			}
		}))
		mu.Lock()
		w = startPraetorWorker(t, proxy, "my-pool")
		mu.Unlock()
		var run, claimed servedRun
		api.post(t, "/deployments/"+dep.ID+"/create_flow_run", obj{"parameters": obj{"n": 1, "hold": 600}}, &run)
		pid := localPID(t, waitRunState(t, api, run.ID, "RUNNING", 180*time.Second))
		api.post(t, "/deployments/"+dep.ID+"/create_flow_run", obj{"parameters": obj{"n": 2}}, &claimed)

		select {
		case <-w.done:
		case <-time.After(90 * time.Second):
			t.Fatal("the worker did not stop within 90 s of SIGTERM")
		}
		if w.waitErr != nil {
			t.Errorf("worker exit: %v", w.waitErr)
		}
		if !strings.Contains(w.log(), "terminating the running flow runs") {
			t.Errorf("the worker's log does not say it terminates its runs")
		}
		checkWorkerLifecycleEvents(t, api, "my-pool")
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("the run's process %d outlived the worker (%v)", pid, err)
		}
		var r workerRun
		api.get(t, "/flow_runs/"+run.ID, &r)
		if r.StateType != "CRASHED" && r.StateType != "CANCELLED" && r.StateType != "FAILED" {
			t.Errorf("the stopped run is %s", r.StateType)
		}

		api.get(t, "/flow_runs/"+claimed.ID, &r)
		if r.StateType != "SCHEDULED" || r.InfrastructurePID != nil || r.State == nil || r.State.Message == nil ||
			*r.State.Message != "The worker stopped before starting the run." {
			t.Errorf("the run claimed at SIGTERM: %s %+v, infrastructure %v", r.StateType, r.State, r.InfrastructurePID)
		}
		var states []stateInfo
		api.get(t, "/flow_run_states/?flow_run_id="+claimed.ID, &states)
		for _, s := range states {
			if s.Type == "RUNNING" {
				t.Errorf("the run claimed at SIGTERM ran: %+v", states)
			}
		}
		startPraetorWorker(t, api, "my-pool")
		waitRunState(t, api, claimed.ID, "COMPLETED", 180*time.Second)
	})
}

// Acceptance 5 of #18 with a real worker: a pool limited to 2 with 10 runs
// due never runs more than 2 at once, judged from the start and end times
// the runs themselves record, though the worker would take 10.
func TestPoolConcurrencyLimitWithAWorker(t *testing.T) {
	forEachEngine(t, func(t *testing.T, api *apiClient) {
		record := t.TempDir()
		dep := deployPooled(t, api, "my-pool", fmt.Sprintf(`{"env": {"POOLED_RECORD_DIR": %q}}`, record))
		if err := api.call(t.Context(), "PATCH", "/work_pools/my-pool", obj{"concurrency_limit": 2}, nil); err != nil {
			t.Fatal(err)
		}
		const runs = 10
		ids := make([]string, 0, runs)
		for n := 1; n <= runs; n++ {
			var run servedRun
			api.post(t, "/deployments/"+dep.ID+"/create_flow_run", obj{"parameters": obj{"n": n, "hold": 2}}, &run)
			ids = append(ids, run.ID)
		}
		startPraetorWorker(t, api, "my-pool", "--limit", "10")
		for _, id := range ids {
			waitRunState(t, api, id, "COMPLETED", 400*time.Second)
		}

		type span struct{ start, end float64 }
		var spans []span
		files, _ := filepath.Glob(filepath.Join(record, "*.txt"))
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var s span
			if _, err := fmt.Sscan(string(data), &s.start, &s.end); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			spans = append(spans, s)
		}
		if len(spans) != runs {
			t.Fatalf("%d runs recorded their times, want %d", len(spans), runs)
		}
		most := 0
		for _, s := range spans {
			at := 0 // runs running when s started
			for _, o := range spans {
				if o.start <= s.start && s.start < o.end {
					at++
				}
			}
			most = max(most, at)
		}
		if most > 2 {
			t.Errorf("%d runs ran at once in a pool limited to 2", most)
		}
		t.Logf("at most %d runs at once", most)
	})
}

// checkWorkerLifecycleEvents checks that the one worker that served pool
// emitted prefect.worker.started and, once stopped, prefect.worker.stopped
// as Prefect's worker does: the worker as prefect.worker.<type>.<slug of
// its name> with its name, type and version, the pool as related resource,
// and stopped following started.
func checkWorkerLifecycleEvents(t *testing.T, api *apiClient, pool string) {
	t.Helper()
	var p struct{ ID string }
	api.get(t, "/work_pools/"+pool, &p)
	var page struct {
		Events []struct {
			ID       string              `json:"id"`
			Event    string              `json:"event"`
			Resource map[string]string   `json:"resource"`
			Related  []map[string]string `json:"related"`
			Follows  *string             `json:"follows"`
		} `json:"events"`
	}
	api.post(t, "/events/filter", obj{"filter": obj{"order": "ASC", "event": obj{"prefix": []string{"prefect.worker."}}}}, &page)
	if len(page.Events) != 2 || page.Events[0].Event != "prefect.worker.started" || page.Events[1].Event != "prefect.worker.stopped" {
		t.Fatalf("worker events %+v", page.Events)
	}
	started, stopped := page.Events[0], page.Events[1]
	for _, e := range page.Events {
		r := e.Resource
		name := r["prefect.resource.name"]
		slug := strings.ToLower(strings.ReplaceAll(name, " ", "-"))
		if !strings.HasPrefix(name, "PraetorWorker ") || r["prefect.resource.id"] != "prefect.worker.process."+slug ||
			r["prefect.worker-type"] != "process" || r["prefect.version"] == "" {
			t.Errorf("%s: resource %v", e.Event, r)
		}
		if len(e.Related) != 1 || e.Related[0]["prefect.resource.id"] != "prefect.work-pool."+p.ID ||
			e.Related[0]["prefect.resource.role"] != "work-pool" || e.Related[0]["prefect.resource.name"] != pool {
			t.Errorf("%s: related %v", e.Event, e.Related)
		}
	}
	if stopped.Follows == nil || *stopped.Follows != started.ID {
		t.Errorf("stopped follows %v, want started's %s", stopped.Follows, started.ID)
	}
}
