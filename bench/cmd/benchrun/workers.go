package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"
)

// releasedAtOnce is how many deployment runs the workers workload releases
// in the same second first (issue #23's figure).
const releasedAtOnce = 17

// workerQuerySeconds is how often each worker polls, the same against
// every server (Prefect's default is 10 s).
const workerQuerySeconds = "1"

// workerRuns runs deployment runs through two real `prefect worker start`
// processes on a process work pool: first 17 runs scheduled for the same
// instant a few seconds ahead, then N more the same way. Each run's flow
// is a process of its own (a deployment of py/worker_flow.py on local
// disk) that records its run. Before any figure is kept: the flow holds
// exactly 17 + N runs, every one COMPLETED, each with one RUNNING state in
// its history and recorded by exactly one flow process.
func workerRuns(ctx context.Context, r *runner, s *server) ([]metric, error) {
	const pool = "bench-workers"
	record, err := os.MkdirTemp(r.tmp, "worker-runs-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(record)
	out, _, err := r.python(ctx, s, "workers.py", pool, record)
	if err != nil {
		return nil, err
	}
	var setup struct {
		DeploymentID string `json:"deployment_id"`
	}
	if err := json.Unmarshal(lastLine(out), &setup); err != nil || setup.DeploymentID == "" {
		return nil, fmt.Errorf("workers.py printed %q: %v", out, err)
	}
	var dep struct {
		FlowID string `json:"flow_id"`
	}
	if err := call(ctx, s, "GET", "/deployments/"+setup.DeploymentID, nil, &dep); err != nil {
		return nil, err
	}

	// Every worker and flow process carries the token in its environment,
	// so that all of them are found and ended at the end, even on failure.
	token := uuid.NewString()
	var workers []*exec.Cmd
	defer func() { stopWorkers(workers, token) }()
	for i := range 2 {
		w, err := r.startWorker(s, pool, fmt.Sprintf("bench-worker-%d", i), token)
		if err != nil {
			return nil, err
		}
		workers = append(workers, w)
	}
	if err := waitWorkers(ctx, s, pool, 2, 2*time.Minute); err != nil {
		return nil, fmt.Errorf("%w\n%s", err, tail(filepath.Join(r.tmp, "bench-worker-0.log"), 20))
	}

	first, err := releaseRuns(ctx, s, setup.DeploymentID, dep.FlowID, "first", releasedAtOnce, 0, 15*time.Second, true)
	if err != nil {
		return nil, err
	}
	// Due as far ahead as the first creates say N creates take, twice; the
	// server may be slower now (Prefect's still records the first runs'
	// events), and a create after the instant only makes its run late.
	n := r.p.workerRuns
	margin := 3*time.Second + 2*first.created*time.Duration(n)/releasedAtOnce
	rest, err := releaseRuns(ctx, s, setup.DeploymentID, dep.FlowID, "rest", n, releasedAtOnce, margin, false)
	if err != nil {
		return nil, err
	}
	if err := checkRanOnce(ctx, s, dep.FlowID, append(slices.Clone(first.ids), rest.ids...), record); err != nil {
		return nil, err
	}
	var ms []metric
	for _, b := range []struct {
		what string
		batch
	}{{fmt.Sprintf("%d released at once", releasedAtOnce), first}, {fmt.Sprintf("%d more, due together", n), rest}} {
		ms = append(ms,
			metric{Name: b.what + ": their creates, 4 senders", Unit: "s", Value: b.created.Seconds()},
			metric{Name: b.what + ": lateness p50", Unit: "s", Value: quantile(b.lateness, 0.5).Seconds()},
			metric{Name: b.what + ": lateness p99", Unit: "s", Value: quantile(b.lateness, 0.99).Seconds()},
			metric{Name: b.what + ": lateness max", Unit: "s", Value: quantile(b.lateness, 1).Seconds()},
			metric{Name: b.what + ": release to every run COMPLETED", Unit: "s", Value: b.done.Seconds()},
			metric{Name: b.what + ": server CPU per run", Unit: "ms", Value: b.cpu / float64(len(b.ids)) * 1000})
	}
	return ms, nil
}

// clientEnv is the environment of a real client process pointed at s,
// with its own PREFECT_HOME.
func clientEnv(s *server, home string) []string {
	return append(environWithout("PREFECT_", "PRAETOR_"), "PREFECT_HOME="+home, "PREFECT_API_URL="+s.api,
		"PREFECT_SERVER_ANALYTICS_ENABLED=false", "PYTHONUNBUFFERED=1")
}

// startWorker starts `prefect worker start` on pool in a process group of
// its own, logging to name.log in the run's directory. Each worker runs at
// most 10 flows at once, so 17 released together all start at once.
func (r *runner) startWorker(s *server, pool, name, token string) (*exec.Cmd, error) {
	home, err := os.MkdirTemp(r.tmp, name+"-")
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(r.tmp, name+".log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(filepath.Join(r.venv, "bin", "prefect"), "worker", "start", "--pool", pool, "--type", "process",
		"--name", name, "--limit", "10")
	cmd.Env = append(clientEnv(s, home), "PREFECT_WORKER_QUERY_SECONDS="+workerQuerySeconds,
		"PREFECT_WORKER_HEARTBEAT_SECONDS=5", "BENCH_WORKERS_TOKEN="+token)
	cmd.Dir, cmd.Stdout, cmd.Stderr = home, logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	go func() { _ = cmd.Wait() }()
	return cmd, nil
}

// stopWorkers ends the workers' process groups (SIGTERM, then SIGKILL
// after 10 s), then every process left that carries token in its
// environment: the flow processes, which Prefect's process worker starts
// in sessions of their own.
func stopWorkers(workers []*exec.Cmd, token string) {
	for _, w := range workers {
		_ = syscall.Kill(-w.Process.Pid, syscall.SIGTERM)
	}
	alive := func(w *exec.Cmd) bool { return syscall.Kill(-w.Process.Pid, 0) == nil }
	for wait := time.Now(); time.Since(wait) < 10*time.Second && slices.ContainsFunc(workers, alive); {
		time.Sleep(100 * time.Millisecond)
	}
	for _, w := range workers {
		_ = syscall.Kill(-w.Process.Pid, syscall.SIGKILL)
	}
	for range 50 {
		left := tokenProcesses(token)
		if len(left) == 0 {
			return
		}
		for _, pid := range left {
			if syscall.Kill(-pid, syscall.SIGKILL) != nil {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	fmt.Fprintf(os.Stderr, "  workers: processes %v outlived SIGKILL\n", tokenProcesses(token))
}

// tokenProcesses lists the live processes whose environment holds
// BENCH_WORKERS_TOKEN=token (zombies have no environment left to read).
func tokenProcesses(token string) []int {
	want := []byte("BENCH_WORKERS_TOKEN=" + token + "\x00")
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid)); err == nil && bytes.Contains(env, want) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// waitWorkers polls until pool has want ONLINE workers.
func waitWorkers(ctx context.Context, s *server, pool string, want int, timeout time.Duration) error {
	var online int
	for wait := time.Now(); time.Since(wait) < timeout; time.Sleep(250 * time.Millisecond) {
		var ws []struct{ Status string }
		if err := call(ctx, s, "POST", "/work_pools/"+pool+"/workers/filter", obj{}, &ws); err != nil {
			return err
		}
		online = 0
		for _, w := range ws {
			if w.Status == "ONLINE" {
				online++
			}
		}
		if online >= want {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return fmt.Errorf("%d of %d workers ONLINE after %v", online, want, timeout)
}

// batch is one release of runs through the workers.
type batch struct {
	ids      []string
	created  time.Duration // the creates, all of them
	done     time.Duration // the release instant to every run COMPLETED
	cpu      float64       // server CPU from the first create to then
	lateness []time.Duration
}

// releaseRuns creates n runs of deployment with create_flow_run from 4
// senders, all SCHEDULED for one instant margin ahead (each with an
// idempotency key, so a create sent again after a refusal makes no second
// run), waits until the flow has before + n COMPLETED runs, and reads each
// run's lateness (start_time − expected_start_time). With atOnce the
// creates must end before the instant, or the release was not at once.
func releaseRuns(ctx context.Context, s *server, deployment, flowID, key string, n, before int, margin time.Duration, atOnce bool) (batch, error) {
	b := batch{ids: make([]string, n)}
	start, cpu := time.Now(), s.usage().cpu
	release := start.Add(margin).UTC()
	errs := make([]error, n)
	var wg sync.WaitGroup
	next := make(chan int)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				body := obj{"idempotency_key": fmt.Sprintf("bench %s %d", key, i),
					"state": obj{"type": "SCHEDULED", "state_details": obj{"scheduled_time": release.Format(time.RFC3339Nano)}}}
				var fr struct{ ID string }
				_, errs[i] = callRetrying(ctx, s, "POST", "/deployments/"+deployment+"/create_flow_run", body, &fr)
				b.ids[i] = fr.ID
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return b, err
	}
	b.created = time.Since(start)
	if atOnce && time.Now().After(release) {
		return b, fmt.Errorf("the %d creates took %v, past the release %v after the first", n, b.created.Round(time.Millisecond), margin)
	}

	want := before + n
	timeout := time.Until(release) + 2*time.Minute + time.Duration(n)*2*time.Second
	for wait := time.Now(); ; time.Sleep(250 * time.Millisecond) {
		done, err := countFlowRuns(ctx, s, flowID, "COMPLETED")
		if err != nil {
			return b, err
		}
		if done >= want {
			break
		}
		bad, err := countFlowRuns(ctx, s, flowID, "FAILED", "CRASHED", "CANCELLED")
		if err != nil {
			return b, err
		}
		if bad > 0 {
			return b, fmt.Errorf("%d runs FAILED, CRASHED or CANCELLED", bad)
		}
		if time.Since(wait) > timeout || ctx.Err() != nil {
			return b, fmt.Errorf("%d of %d runs COMPLETED after %v", done-before, n, time.Since(wait).Round(time.Second))
		}
	}
	b.done, b.cpu = time.Since(release), s.usage().cpu-cpu

	for chunk := range slices.Chunk(b.ids, 200) {
		var runs []struct {
			ID                string     `json:"id"`
			StateType         string     `json:"state_type"`
			StartTime         *time.Time `json:"start_time"`
			ExpectedStartTime time.Time  `json:"expected_start_time"`
		}
		if err := call(ctx, s, "POST", "/flow_runs/filter", obj{"flow_runs": obj{"id": anyOf(chunk...)}, "limit": len(chunk)}, &runs); err != nil {
			return b, err
		}
		if len(runs) != len(chunk) {
			return b, fmt.Errorf("the filter found %d of %d runs", len(runs), len(chunk))
		}
		for _, fr := range runs {
			if fr.StateType != "COMPLETED" || fr.StartTime == nil {
				return b, fmt.Errorf("run %s is %s, start time %v", fr.ID, fr.StateType, fr.StartTime)
			}
			b.lateness = append(b.lateness, fr.StartTime.Sub(fr.ExpectedStartTime))
		}
	}
	return b, nil
}

// checkRanOnce checks the flow holds exactly the runs ids, each with one
// RUNNING state in its history, and that exactly one flow process
// recorded each (record holds a file "<run id>-<pid>" per flow process).
func checkRanOnce(ctx context.Context, s *server, flowID string, ids []string, record string) error {
	if total, err := countFlowRuns(ctx, s, flowID); err != nil || total != len(ids) {
		return fmt.Errorf("the deployment's flow has %d runs (%v), want exactly %d", total, err, len(ids))
	}
	files, err := os.ReadDir(record)
	if err != nil {
		return err
	}
	ranBy := map[string]int{}
	for _, f := range files {
		if i := strings.LastIndexByte(f.Name(), '-'); i > 0 {
			ranBy[f.Name()[:i]]++
		}
	}
	for _, id := range ids {
		if ranBy[id] != 1 {
			return fmt.Errorf("run %s was run by %d flow processes, want 1", id, ranBy[id])
		}
		var states []struct {
			Type string `json:"type"`
		}
		if err := call(ctx, s, "GET", "/flow_run_states/?flow_run_id="+id, nil, &states); err != nil {
			return err
		}
		running := 0
		for _, st := range states {
			if st.Type == "RUNNING" {
				running++
			}
		}
		if running != 1 {
			return fmt.Errorf("run %s has %d RUNNING states in its history, want 1", id, running)
		}
	}
	if len(files) != len(ids) {
		return fmt.Errorf("%d flow processes recorded a run, want %d", len(files), len(ids))
	}
	return nil
}
