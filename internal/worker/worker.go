// Package worker is Praetor's native process worker, `praetor worker
// start`: it speaks to the server only over HTTP, the same protocol as
// Prefect's process worker (heartbeat, poll, claim by PENDING, run the
// flow run's command in a subprocess, report crashes, handle
// cancellation), so no Python is needed to run the worker itself.
package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/uuid"

	"github.com/praetorhq/praetor/internal/clock"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/workertypes"
)

// Worker polls one work pool and runs its flow runs as subprocesses.
type Worker struct {
	s        Settings
	client   *Client
	clock    clock.Clock
	log      *slog.Logger
	hostname string
	// stdout and stderr take the runs' output when the job streams it.
	stdout, stderr *os.File

	mu       sync.Mutex
	pool     model.WorkPool
	flights  map[uuid.UUID]*flight
	stopping bool // set at shutdown: nothing more is claimed or started
	wg       sync.WaitGroup
	// streamUp tells whether the events stream brings cancellations; while
	// it does not, the runs in flight are polled.
	streamUp atomic.Bool
}

// flight is one flow run the worker has taken, from its claim to the end of
// its process.
type flight struct {
	id        uuid.UUID
	cancelled bool          // the run is to be cancelled (under Worker.mu)
	proc      *os.Process   // set once started (under Worker.mu)
	done      chan struct{} // closed when the process has exited
	killOnce  sync.Once
}

// New returns a worker with resolved settings; clk tells the time the
// poll's window is measured from.
func New(s Settings, log *slog.Logger, clk clock.Clock) *Worker {
	if s.Name == "" {
		s.Name = "PraetorWorker " + uuid.NewString()
	}
	host, err := os.Hostname()
	if err != nil {
		host = "localhost"
	}
	return &Worker{
		s: s, client: NewClient(s.APIURL, s.APIKey), clock: clk, hostname: host,
		log:    log.With("worker", s.Name, "pool", s.Pool),
		stdout: os.Stdout, stderr: os.Stderr,
		flights: map[uuid.UUID]*flight{},
	}
}

// Run works until ctx ends, then stops: it claims nothing more, returns
// any run it claimed but did not start to SCHEDULED, terminates the
// running processes, and waits for them and their final states.
func (w *Worker) Run(ctx context.Context) error {
	if err := w.syncPool(ctx); err != nil {
		return err
	}
	// A failed heartbeat is not fatal: the next one may pass, and runs can
	// be served meanwhile.
	if err := w.client.Heartbeat(ctx, w.s.Pool, w.s.Name, w.s.HeartbeatInterval); err != nil {
		w.log.Warn("heartbeat failed", "err", err)
	}
	w.log.Info("worker started", "type", w.s.Type, "queues", w.s.Queues, "limit", w.s.Limit, "api", w.s.APIURL)
	started := w.emitLifecycle(ctx, "prefect.worker.started", nil)

	heartbeat := time.NewTicker(w.s.HeartbeatInterval)
	defer heartbeat.Stop()
	poll := time.NewTicker(w.s.PollInterval)
	defer poll.Stop()
	cancels := time.NewTicker(w.s.CancelInterval)
	defer cancels.Stop()
	cancelling := make(chan uuid.UUID, 16)
	resync := make(chan struct{}, 1)
	w.mu.Lock()
	poolID := w.pool.ID
	w.mu.Unlock()
	watchCtx, stopWatch := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		w.watchCancelling(watchCtx, poolID, cancelling, resync)
	}()
	defer func() { stopWatch(); <-watched }()
	w.poll(ctx)
	for {
		select {
		case <-ctx.Done():
			w.shutdown()
			// ctx has ended: the last word gets a moment of its own.
			stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			w.emitLifecycle(stopCtx, "prefect.worker.stopped", started)
			cancel()
			return nil
		case <-heartbeat.C:
			if err := w.syncPool(ctx); err != nil {
				w.log.Warn("reading the work pool", "err", err)
			}
			if err := w.client.Heartbeat(ctx, w.s.Pool, w.s.Name, w.s.HeartbeatInterval); err != nil && ctx.Err() == nil {
				w.log.Warn("heartbeat failed", "err", err)
			}
		case <-poll.C:
			w.poll(ctx)
		case <-cancels.C:
			if !w.streamUp.Load() {
				w.checkCancellations(ctx)
			}
		case <-resync:
			w.checkCancellations(ctx)
		case id := <-cancelling:
			w.checkCancellation(ctx, id)
		}
	}
}

// syncPool reads the pool; a missing pool is created with the worker
// type's default template, and a pool without a template gets it, as
// Prefect's worker does.
func (w *Worker) syncPool(ctx context.Context) error {
	pool, err := w.client.ReadPool(ctx, w.s.Pool)
	if IsStatus(err, http.StatusNotFound) {
		t, ok := workertypes.Lookup(w.s.Type)
		if !ok {
			return fmt.Errorf("work pool %q does not exist, and %q is not a worker type to create it with", w.s.Pool, w.s.Type)
		}
		w.log.Info("the work pool does not exist: creating it", "type", w.s.Type)
		pool, err = w.client.CreatePool(ctx, w.s.Pool, w.s.Type, t.BaseJobTemplate())
		if IsStatus(err, http.StatusConflict) {
			pool, err = w.client.ReadPool(ctx, w.s.Pool)
		}
	}
	if err != nil {
		return fmt.Errorf("work pool %q: %w", w.s.Pool, err)
	}
	if len(pool.BaseJobTemplate) == 0 {
		if t, ok := workertypes.Lookup(pool.Type); ok {
			pool.BaseJobTemplate = t.BaseJobTemplate()
			if err := w.client.SetPoolTemplate(ctx, w.s.Pool, pool.BaseJobTemplate); err != nil {
				return fmt.Errorf("setting the template of work pool %q: %w", w.s.Pool, err)
			}
		}
	}
	if pool.IsPaused {
		w.log.Warn("the work pool is paused: it serves no runs until it is resumed")
	}
	w.mu.Lock()
	w.pool = pool
	w.mu.Unlock()
	return nil
}

// poll takes the runs due within the prefetch window, as many as the limit
// leaves room for.
func (w *Worker) poll(ctx context.Context) {
	w.mu.Lock()
	free := 0
	if w.s.Limit > 0 {
		free = w.s.Limit - len(w.flights)
	}
	w.mu.Unlock()
	if w.s.Limit > 0 && free <= 0 {
		return
	}
	runs, err := w.client.ScheduledRuns(ctx, w.s.Pool, w.s.Queues, w.clock.Now().Add(w.s.Prefetch), free)
	if err != nil {
		if ctx.Err() == nil {
			w.log.Warn("polling the work pool", "err", err)
		}
		return
	}
	for _, r := range runs {
		w.mu.Lock()
		if w.stopping || w.flights[r.FlowRun.ID] != nil || (w.s.Limit > 0 && len(w.flights) >= w.s.Limit) {
			w.mu.Unlock()
			continue
		}
		f := &flight{id: r.FlowRun.ID, done: make(chan struct{})}
		w.flights[f.id] = f
		w.wg.Add(1)
		w.mu.Unlock()
		go func() {
			defer w.wg.Done()
			defer w.land(f)
			// The run outlives the poll: its states are reported even
			// while the worker stops.
			w.submit(context.WithoutCancel(ctx), f, r.FlowRun)
		}()
	}
}

func (w *Worker) land(f *flight) {
	w.mu.Lock()
	delete(w.flights, f.id)
	w.mu.Unlock()
}

// submit claims one run and runs it.
func (w *Worker) submit(ctx context.Context, f *flight, run model.FlowRun) {
	log := w.log.With("flow_run", run.ID, "flow_run_name", run.Name)
	var deployment model.Deployment
	if run.DeploymentID != nil {
		d, err := w.client.ReadDeployment(ctx, *run.DeploymentID)
		if IsStatus(err, http.StatusNotFound) {
			msg := fmt.Sprintf("Deployment %s no longer exists, cancelled run.", run.DeploymentID)
			log.Warn("the run's deployment no longer exists: cancelling the run")
			if _, err := w.client.SetState(ctx, run.ID, NewState{Type: model.Cancelled, Message: msg}, true); err != nil {
				log.Error("cancelling the run of a deleted deployment", "err", err)
			}
			return
		}
		if err != nil {
			log.Error("reading the run's deployment", "err", err)
			return
		}
		deployment = d
	}

	w.mu.Lock()
	stopping := w.stopping
	w.mu.Unlock()
	if stopping {
		return // not claimed: it stays SCHEDULED for another worker
	}
	res, err := w.client.SetState(ctx, run.ID, NewState{Type: model.Pending}, false)
	if err != nil {
		log.Error("claiming the run", "err", err)
		return
	}
	if !res.Accepted() || res.StateType() != model.Pending {
		log.Info("aborted submission: the run is taken or no longer waiting", "status", res.Status, "state", res.StateType())
		return
	}

	w.mu.Lock()
	pool := w.pool
	w.mu.Unlock()
	if err := w.client.PatchLabels(ctx, run.ID, map[string]string{
		"prefect.worker.name": w.s.Name, "prefect.worker.type": w.s.Type,
		"prefect.work-pool.name": pool.Name, "prefect.work-pool.id": pool.ID.String(),
	}); err != nil {
		log.Warn("labelling the run", "err", err)
	}
	j := jobFrom(JobConfiguration(pool.BaseJobTemplate, JobVariables(pool.BaseJobTemplate, deployment.JobVariables, run.JobVariables)))
	if run.DeploymentID != nil && j.command == defaultCommand && (deployment.Entrypoint == nil || *deployment.Entrypoint == "") {
		// The engine would only start to fail on it, as it does under
		// Prefect's worker; say why without starting it.
		w.crash(ctx, log, run.ID, fmt.Sprintf("Deployment %s does not have an entrypoint and can not be run.", deployment.ID))
		return
	}

	res, err = w.client.SetState(ctx, run.ID, NewState{Type: model.Pending, Name: "Submitting"}, false)
	if err != nil {
		log.Error("marking the run as submitting", "err", err)
		w.release(ctx, log, run.ID)
		return
	}
	if !res.Accepted() || res.StateType() != model.Pending {
		// Cancelled (or otherwise moved) between the claim and the start.
		log.Info("the run left PENDING before it started: not starting it", "state", res.StateType())
		if res.StateType() == model.Cancelling {
			w.markCancelled(ctx, log, run.ID)
		}
		return
	}
	w.execute(ctx, log, f, run, j)
}

// release returns a claimed run that was not started to SCHEDULED, so
// another worker takes it.
func (w *Worker) release(ctx context.Context, log *slog.Logger, id uuid.UUID) {
	now := model.Time{Time: w.clock.Now()}
	_, err := w.client.SetState(ctx, id, NewState{Type: model.Scheduled,
		Message: "The worker stopped before starting the run.", StateDetails: map[string]any{"scheduled_time": now}}, true)
	if err != nil {
		log.Error("returning the claimed run to SCHEDULED", "err", err)
		return
	}
	log.Info("the worker is stopping: returned the claimed run to SCHEDULED")
}

func (w *Worker) markCancelled(ctx context.Context, log *slog.Logger, id uuid.UUID) {
	if _, err := w.client.SetState(ctx, id, NewState{Type: model.Cancelled, Message: "Flow run was cancelled."}, true); err != nil {
		log.Error("marking the run CANCELLED", "err", err)
		return
	}
	log.Info("flow run cancelled")
}

// execute starts the run's process and reports how it ended.
func (w *Worker) execute(ctx context.Context, log *slog.Logger, f *flight, run model.FlowRun, j job) {
	args, err := splitCommand(j.command)
	if err != nil || len(args) == 0 {
		w.crash(ctx, log, run.ID, fmt.Sprintf("Flow run could not be started: its command %q does not parse.", j.command))
		return
	}
	dir := j.workingDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "praetor-flow-run-")
		if err != nil {
			w.crash(ctx, log, run.ID, fmt.Sprintf("Flow run could not be started: %v.", err))
			return
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = dir
	cmd.Env = w.environment(run.ID, j.env)
	// Its own process group, so cancellation stops the run's children too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if j.streamOutput {
		cmd.Stdout, cmd.Stderr = w.stdout, w.stderr
	}

	// Starting under the lock orders it with shutdown and cancellation: a
	// run is either started before they look, or they see it unstarted.
	w.mu.Lock()
	switch {
	case w.stopping:
		w.mu.Unlock()
		w.release(ctx, log, run.ID)
		return
	case f.cancelled:
		w.mu.Unlock()
		log.Info("the run was cancelled before it started: not starting it")
		w.markCancelled(ctx, log, run.ID)
		return
	}
	err = cmd.Start()
	if err == nil {
		f.proc = cmd.Process
	}
	w.mu.Unlock()
	if err != nil {
		w.crash(ctx, log, run.ID, fmt.Sprintf("Flow run could not be started: %v.", err))
		return
	}
	pid := cmd.Process.Pid
	log.Info("flow run process started", "pid", pid, "command", j.command, "dir", dir)
	if err := w.client.SetInfrastructurePID(ctx, run.ID, fmt.Sprintf("%s:%d", w.hostname, pid)); err != nil {
		log.Warn("recording the run's infrastructure_pid", "err", err)
	}

	waitErr := cmd.Wait()
	close(f.done)
	w.mu.Lock()
	cancelled, stopping := f.cancelled, w.stopping
	w.mu.Unlock()
	code := cmd.ProcessState.ExitCode()
	log.Info("flow run process exited", "pid", pid, "code", code, "err", waitErr)
	if cancelled {
		if current, err := w.client.ReadFlowRun(ctx, run.ID); err == nil && current.StateType != nil && *current.StateType == model.Cancelled {
			return // cancelled outright, not through CANCELLING
		}
		w.markCancelled(ctx, log, run.ID)
		return
	}
	if code == 0 {
		return
	}
	msg := fmt.Sprintf("Flow run infrastructure exited with non-zero status code %d.", code)
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		msg = fmt.Sprintf("Flow run infrastructure exited with non-zero status code -%d: the process was killed by signal %s.", int(ws.Signal()), signalName(ws.Signal()))
	}
	if stopping {
		msg += " The worker stopped it while shutting down."
	}
	current, err := w.client.ReadFlowRun(ctx, run.ID)
	if err == nil && current.StateType != nil && current.StateType.Terminal() {
		return // the engine reported how it ended
	}
	w.crash(ctx, log, run.ID, msg)
}

func (w *Worker) crash(ctx context.Context, log *slog.Logger, id uuid.UUID, msg string) {
	if _, err := w.client.SetState(ctx, id, NewState{Type: model.Crashed, Message: msg}, false); err != nil {
		log.Error("reporting the run CRASHED", "err", err)
		return
	}
	log.Warn("flow run crashed", "message", msg)
}

// environment is the worker's own environment with the API settings, the
// run's id and the job's env on top; a null in the job's env unsets.
func (w *Worker) environment(id uuid.UUID, jobEnv map[string]*string) []string {
	env := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	env["PREFECT_API_URL"] = w.s.APIURL
	if w.s.APIKey != "" {
		env["PREFECT_API_KEY"] = w.s.APIKey
	}
	env["PREFECT__FLOW_RUN_ID"] = id.String()
	env["PREFECT__WORKER_NAME"] = w.s.Name
	env["PREFECT__WORK_POOL_NAME"] = w.s.Pool
	for k, v := range jobEnv {
		if v == nil {
			delete(env, k)
		} else {
			env[k] = *v
		}
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// checkCancellations reads the state of each run in flight; one set to
// CANCELLING (or already CANCELLED) is stopped.
func (w *Worker) checkCancellations(ctx context.Context) {
	w.mu.Lock()
	ids := make([]uuid.UUID, 0, len(w.flights))
	for id := range w.flights {
		ids = append(ids, id)
	}
	w.mu.Unlock()
	for _, id := range ids {
		w.checkCancellation(ctx, id)
	}
}

// checkCancellation stops the run id if it is in flight and its state,
// read afresh (an event may be replayed or late), is CANCELLING or
// CANCELLED.
func (w *Worker) checkCancellation(ctx context.Context, id uuid.UUID) {
	w.mu.Lock()
	f := w.flights[id]
	w.mu.Unlock()
	if f == nil {
		return // not this worker's run
	}
	run, err := w.client.ReadFlowRun(ctx, id)
	if err != nil {
		if ctx.Err() == nil {
			w.log.Warn("reading an in-flight run's state", "flow_run", id, "err", err)
		}
		return
	}
	if run.StateType == nil || (*run.StateType != model.Cancelling && *run.StateType != model.Cancelled) {
		return
	}
	w.mu.Lock()
	if w.flights[id] != f || f.cancelled {
		w.mu.Unlock()
		return
	}
	f.cancelled = true
	started := f.proc != nil
	w.mu.Unlock()
	w.log.Info("flow run is cancelling: stopping its process", "flow_run", id)
	if started {
		go w.terminate(f)
	}
}

// terminate stops a run's process group: SIGTERM, then SIGKILL when it is
// still there after the grace period.
func (w *Worker) terminate(f *flight) {
	f.killOnce.Do(func() {
		pgid := f.proc.Pid
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		t := time.NewTimer(w.s.KillGrace)
		defer t.Stop()
		select {
		case <-f.done:
		case <-t.C:
			w.log.Warn("flow run process ignored SIGTERM: killing it", "flow_run", f.id, "pid", pgid, "grace", w.s.KillGrace)
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
		}
	})
}

// shutdown stops claiming and starting, terminates the running processes
// and waits until every run is reported.
func (w *Worker) shutdown() {
	w.mu.Lock()
	w.stopping = true
	var running []*flight
	for _, f := range w.flights {
		if f.proc != nil {
			running = append(running, f)
		}
	}
	w.mu.Unlock()
	if len(running) > 0 {
		w.log.Info("worker stopping: terminating the running flow runs", "runs", len(running), "grace", w.s.KillGrace)
	} else {
		w.log.Info("worker stopping")
	}
	for _, f := range running {
		go w.terminate(f)
	}
	w.wg.Wait()
	w.log.Info("worker stopped")
}

func signalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGKILL:
		return "SIGKILL"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGINT:
		return "SIGINT"
	}
	return s.String()
}

// splitCommand splits a command line as a POSIX shell splits words: on
// blanks, with single and double quotes and backslash escapes.
func splitCommand(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	inWord := false
	var quote rune
	escaped := false
	for _, r := range s {
		switch {
		case escaped:
			cur.WriteRune(r)
			escaped = false
		case quote == '\'':
			if r == '\'' {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\\' && quote != '\'':
			escaped, inWord = true, true
		case quote == '"':
			if r == '"' {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t' || r == '\n':
			if inWord {
				out = append(out, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 || escaped {
		return nil, errors.New("unterminated quote or escape")
	}
	if inWord {
		out = append(out, cur.String())
	}
	return out, nil
}
