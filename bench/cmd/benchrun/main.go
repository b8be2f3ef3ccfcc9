// Command benchrun runs Praetor and Prefect's server side by side on this
// machine (bench/run is its wrapper; bench/README.md says how to read it):
// each server/engine pair in turn on a fresh database, every workload
// against each, each workload's end state checked before its figures are
// kept, and the figures written as a Markdown table and a JSON file with
// ratios that read "bigger is better for Praetor".
//
//	go run ./bench/cmd/benchrun [-only praetor-sqlite,prefect-sqlite] quick|full
package main

import (
	"context"
	"embed"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"
)

//go:embed py/*.py
var pyScripts embed.FS

// profile sizes the workloads.
type profile struct {
	name       string
	idle       time.Duration // how long a server idles before its idle figures
	loadTime   time.Duration // each API micro-load
	filterRuns int           // the history the filter load reads
	tasks      int           // tasks of the one-flow workloads
	burstProcs int
	burstFlows int // per process; each of 20 tasks
	logLines   int
	events     int
	pages      bool // the page benchmarks at 1M runs (Praetor only)
	// deployments the scheduler workload creates; pollDeployments fill
	// the worker-poll workload's pool with 100 runs each.
	deployments, pollDeployments int
	// workerRuns go through two workers after the 17 released at once.
	workerRuns int
	// optInWorkers leaves the workers workload out unless -workloads
	// names it: each of its runs is a Python process of its own, so it
	// takes about two minutes a server here, and quick has ten for all.
	optInWorkers bool
}

var profiles = map[string]profile{
	"quick": {name: "quick", idle: 5 * time.Second, loadTime: 2 * time.Second, filterRuns: 500,
		tasks: 100, burstProcs: 2, burstFlows: 2, logLines: 10_000, events: 5_000,
		deployments: 50, pollDeployments: 10, workerRuns: 10, optInWorkers: true},
	"full": {name: "full", idle: 60 * time.Second, loadTime: 10 * time.Second, filterRuns: 10_000,
		tasks: 1000, burstProcs: 10, burstFlows: 10, logLines: 100_000, events: 100_000,
		deployments: 10_000, pollDeployments: 500, workerRuns: 1000, pages: true},
}

// runner holds what the workloads share.
type runner struct {
	p          profile
	root       string // the module's root
	tmp        string // removed at exit
	praetorBin string
	venv       string
	scripts    string // the embedded Python scripts, written out
	pgURL      string
}

// result is one server's figures, by workload, or why a workload failed
// or was skipped.
type result struct {
	Target  string              `json:"target"`
	Metrics map[string][]metric `json:"metrics"`
	Failed  map[string]string   `json:"failed,omitempty"`
	Skipped map[string]string   `json:"skipped,omitempty"`
	order   []string
}

func main() {
	only := flag.String("only", "", "comma-separated server/engine pairs to run (default: all four)")
	workloads := flag.String("workloads", "", "comma-separated words: run only the workloads whose name holds one (default: all)")
	out := flag.String("out", "bench/results", "directory for the JSON and Markdown results")
	flag.Parse()
	name := "quick"
	if flag.NArg() > 0 {
		name = flag.Arg(0)
	}
	p, ok := profiles[name]
	if !ok {
		fmt.Fprintln(os.Stderr, "usage: bench/run [quick|full]")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, p, *only, *workloads, *out); err != nil {
		fmt.Fprintln(os.Stderr, "benchrun:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, p profile, only, workloads, outDir string) error {
	began := time.Now()
	r := &runner{p: p}
	var err error
	if r.root, err = moduleRoot(); err != nil {
		return err
	}
	if r.tmp, err = os.MkdirTemp("", "praetor-benchrun-"); err != nil {
		return err
	}
	defer os.RemoveAll(r.tmp)
	r.praetorBin = filepath.Join(r.tmp, "praetor")
	build := exec.CommandContext(ctx, "go", "build", "-o", r.praetorBin, "./cmd/praetor")
	build.Dir = r.root
	if b, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("building praetor: %v\n%s", err, b)
	}
	r.scripts = filepath.Join(r.tmp, "py")
	sub, _ := fs.Sub(pyScripts, "py")
	if err := os.CopyFS(r.scripts, sub); err != nil {
		return err
	}
	r.venv = os.Getenv("PRAETOR_TEST_VENV")
	if r.venv == "" {
		home, _ := os.UserHomeDir()
		r.venv = filepath.Join(home, ".cache", "praetor", "venv")
	}
	hasPython := fileExists(filepath.Join(r.venv, "bin", "python"))
	var stopPG func()
	if r.pgURL, stopPG, err = postgres(ctx, r.tmp); err != nil {
		fmt.Fprintln(os.Stderr, "no PostgreSQL:", err)
	}
	defer stopPG()

	workersName := fmt.Sprintf("deployment runs through two workers, %d at once then %d", releasedAtOnce, p.workerRuns)
	wls := []workload{
		{"API micro-loads", apiLoads},
		{fmt.Sprintf("one flow, %d sequential tasks", p.tasks), taskFlow("sequential")},
		{fmt.Sprintf("one flow, %d submitted tasks", p.tasks), taskFlow("submitted")},
		{fmt.Sprintf("%d flow processes × %d flows × 20 tasks", p.burstProcs, p.burstFlows), burst},
		{"log ingestion and read-back", logIngest},
		{"events over events/in", eventIngest},
		{fmt.Sprintf("scheduler over %d deployments", p.deployments), schedulerCatchUp},
		{fmt.Sprintf("worker polls, %d deployments × 100 scheduled runs", p.pollDeployments), workerPolls},
		{workersName, workerRuns},
		// Last: it leaves Prefect's server on SQLite refusing writes
		// (503) for minutes while it works through the events, which
		// failed every workload after it.
		{"events with subscribers and automations", eventSubscribers},
	}
	// A misspelt pair or word would otherwise measure nothing, silently.
	for name := range strings.SplitSeq(only, ",") {
		if name != "" && !slices.ContainsFunc(targets, func(t target) bool { return t.name == name }) {
			var names []string
			for _, t := range targets {
				names = append(names, t.name)
			}
			return fmt.Errorf("-only: no pair %q (the pairs: %s)", name, strings.Join(names, ", "))
		}
	}
	skipped := map[string]string{}
	if workloads != "" {
		wls = slices.DeleteFunc(wls, func(w workload) bool {
			return !slices.ContainsFunc(strings.Split(workloads, ","), func(word string) bool { return strings.Contains(w.name, word) })
		})
		if len(wls) == 0 {
			return fmt.Errorf("-workloads %q: no workload's name holds any of its words", workloads)
		}
	} else if p.optInWorkers {
		wls = slices.DeleteFunc(wls, func(w workload) bool { return w.name == workersName })
		skipped[workersName] = p.name + " leaves it out (about two minutes a server: every run is a Python process); `bench/run -workloads workers " + p.name + "` runs it, full always does"
	}
	// Prefect's scheduler makes no run with the wrong SQLAlchemy.
	var noPrefectScheduler string
	if hasPython {
		noPrefectScheduler = prefectSchedulerBroken(ctx, r.venv)
	}
	scheduled := func(name string) bool {
		return strings.HasPrefix(name, "scheduler") || strings.HasPrefix(name, "worker polls")
	}
	pythonWorkload := func(name string) bool { return strings.Contains(name, "tasks") || strings.Contains(name, "workers") }

	var results []*result
	for _, t := range targets {
		if only != "" && !strings.Contains(","+only+",", ","+t.name+",") {
			continue
		}
		res := &result{Target: t.name, Metrics: map[string][]metric{}, Failed: map[string]string{}, Skipped: map[string]string{}}
		results = append(results, res)
		switch {
		case t.engine == "postgres" && r.pgURL == "":
			res.Skipped["all"] = "no PostgreSQL (set PRAETOR_TEST_POSTGRES_URL or install PostgreSQL 15)"
			continue
		case t.kind == "prefect" && !hasPython:
			res.Skipped["all"] = "no Prefect virtualenv at " + r.venv + " (scripts/test makes it)"
			continue
		}
		fmt.Fprintf(os.Stderr, "== %s\n", t.name)
		s, err := r.startServer(ctx, t)
		if err != nil {
			res.Failed["start"] = err.Error()
			fmt.Fprintln(os.Stderr, err)
			continue
		}
		res.add("footprint", metric{Name: "cold start to healthy (empty database)", Unit: "ms", Value: ms(s.startup)})
		idleFrom := s.usage()
		select {
		case <-ctx.Done():
		case <-time.After(p.idle):
		}
		idle := s.usage()
		res.add("footprint", metric{Name: fmt.Sprintf("idle CPU over %v", p.idle), Unit: "% of a core", Value: (idle.cpu - idleFrom.cpu) / p.idle.Seconds() * 100},
			metric{Name: "idle RSS", Unit: "MiB", Value: float64(idle.rss) / (1 << 20)})
		for _, w := range wls {
			if ctx.Err() != nil {
				break
			}
			if scheduled(w.name) && t.kind == "prefect" && noPrefectScheduler != "" {
				res.Skipped[w.name] = noPrefectScheduler
				continue
			}
			if pythonWorkload(w.name) && !hasPython {
				res.Skipped[w.name] = "no Prefect virtualenv at " + r.venv
				continue
			}
			start, before := time.Now(), s.usage().cpu
			deadlocks := s.logCount("deadlock")
			ms, err := w.run(ctx, r, s)
			wall, cpu := time.Since(start), s.usage().cpu-before
			if err != nil {
				// A failed workload keeps only what it counted of the
				// failure (drops), never a speed.
				res.Failed[w.name] = err.Error()
				res.add(w.name, ms...)
				fmt.Fprintf(os.Stderr, "  %s: FAILED: %v\n", w.name, err)
				continue
			}
			ms = append(ms, metric{Name: "server CPU", Unit: "s", Value: cpu},
				metric{Name: `"deadlock" in the server's log`, Unit: "count", Value: float64(s.logCount("deadlock") - deadlocks)})
			res.add(w.name, ms...)
			fmt.Fprintf(os.Stderr, "  %s: %.1fs\n", w.name, wall.Seconds())
		}
		res.add("footprint", metric{Name: "peak RSS (sum of the tree's VmHWM)", Unit: "MiB", Value: float64(s.usage().peakRSS) / (1 << 20)})
		s.stop(ctx, r.pgURL)
	}
	if !p.pages {
		skipped["pages at 1M flow runs / 10M task runs"] = "full only"
	} else {
		skipped["pages at 1M flow runs / 10M task runs"] = "Praetor only, by go test ./bench -bench Pages (docs/benchmarks.md): Prefect's schema is not seeded"
		fmt.Fprintln(os.Stderr, "== pages at 1M runs (go test ./bench -bench Pages)")
		cmd := exec.CommandContext(ctx, "go", "test", "./bench", "-run", "^$", "-bench", "Pages", "-benchtime", "50x", "-timeout", "6h",
			"-bench-runs", "1000000", "-bench-task-runs", "10000000")
		cmd.Dir, cmd.Stdout, cmd.Stderr = r.root, os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "pages:", err)
		}
	}
	return write(r, results, skipped, time.Since(began), outDir)
}

func (res *result) add(workload string, ms ...metric) {
	if _, ok := res.Metrics[workload]; !ok {
		res.order = append(res.order, workload)
	}
	res.Metrics[workload] = append(res.Metrics[workload], ms...)
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		return "", fmt.Errorf("run benchrun inside the module: %v", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out))), nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// postgres returns the PostgreSQL server to make the databases in:
// PRAETOR_TEST_POSTGRES_URL when set, or else a throwaway cluster in dir
// (as scripts/test makes one), stopped by the returned function.
func postgres(ctx context.Context, dir string) (string, func(), error) {
	if u := os.Getenv("PRAETOR_TEST_POSTGRES_URL"); u != "" {
		return u, func() {}, nil
	}
	bin := "/usr/lib/postgresql/15/bin"
	if !fileExists(filepath.Join(bin, "initdb")) {
		return "", func() {}, fmt.Errorf("PRAETOR_TEST_POSTGRES_URL is not set and %s/initdb is missing", bin)
	}
	data := filepath.Join(dir, "pg")
	port, err := freePort()
	if err != nil {
		return "", func() {}, err
	}
	// initdb refuses to run as root: run it as postgres then.
	as := func(args ...string) *exec.Cmd {
		if os.Geteuid() == 0 {
			return exec.CommandContext(ctx, "runuser", append([]string{"-u", "postgres", "--"}, args...)...)
		}
		return exec.CommandContext(ctx, args[0], args[1:]...)
	}
	if err := os.MkdirAll(data, 0o700); err != nil {
		return "", func() {}, err
	}
	if os.Geteuid() == 0 {
		_ = exec.Command("chown", "-R", "postgres:postgres", dir).Run()
	}
	if b, err := as(bin+"/initdb", "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync").CombinedOutput(); err != nil {
		return "", func() {}, fmt.Errorf("initdb: %v\n%s", err, b)
	}
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %s -c unix_socket_directories=%s -c max_connections=200", port, data)
	if b, err := as(bin+"/pg_ctl", "-D", data, "-l", filepath.Join(data, "log"), "-w", "-o", opts, "start").CombinedOutput(); err != nil {
		return "", func() {}, fmt.Errorf("pg_ctl start: %v\n%s", err, b)
	}
	// The stop runs after an interrupt too, when ctx is done already:
	// pg_ctl started with it would be killed at once and leave the
	// cluster running.
	ctx = context.WithoutCancel(ctx)
	stop := func() { _ = as(bin+"/pg_ctl", "-D", data, "-m", "immediate", "-w", "stop").Run() }
	return "postgres://postgres@127.0.0.1:" + port + "/postgres?sslmode=disable", stop, nil
}

// machine describes where the figures were taken.
func machine() map[string]string {
	m := map[string]string{"cpus": fmt.Sprint(runtime.NumCPU()), "go": runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m["cpu"] = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		m["loadavg"] = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	if b, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output(); err == nil {
		m["commit"] = strings.TrimSpace(string(b))
	}
	return m
}
