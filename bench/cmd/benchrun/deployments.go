package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/praetorhq/praetor/bench/loadgen"
)

// createDeployments creates n deployments of flowID named prefix-i, each
// with one active interval schedule (every interval seconds from anchor)
// and in pool when it is not empty, from 2 senders at once. A create that
// failed is sent again alone, up to 8 times (Prefect's server on SQLite
// answers 503 to concurrent writes on a loaded machine); the resends are
// returned as retries.
func createDeployments(ctx context.Context, s *server, flowID, prefix string, n int, interval float64, anchor time.Time, pool string) (ids []string, retries int, err error) {
	body := func(i int) obj {
		d := obj{"name": fmt.Sprintf("%s-%d", prefix, i), "flow_id": flowID,
			"schedules": []obj{{"active": true, "schedule": obj{"interval": interval, "anchor_date": anchor.Format(time.RFC3339Nano), "timezone": "UTC"}}}}
		if pool != "" {
			d["work_pool_name"] = pool
		}
		return d
	}
	ids = make([]string, n)
	loadgen.Run(ctx, loadgen.Config{Connections: 2, Rate: 1e6, Duration: time.Duration(float64(n) / 1e6 * float64(time.Second)),
		Next: func(i int) loadgen.Request {
			b, _ := json.Marshal(body(i))
			return loadgen.Request{Method: "POST", URL: s.api + "/deployments/", Body: b}
		},
		Check: func(i int, b []byte) error {
			var d struct{ ID string }
			if err := json.Unmarshal(b, &d); err != nil || d.ID == "" {
				return fmt.Errorf("deployment create answered %s", truncate(b, 200))
			}
			ids[i] = d.ID
			return nil
		}})
	for i, id := range ids {
		if id != "" {
			continue
		}
		var d struct{ ID string }
		tries, err := callRetrying(ctx, s, "POST", "/deployments/", body(i), &d)
		retries += tries
		if err != nil {
			return nil, retries, fmt.Errorf("creating deployment %d: %w", i, err)
		}
		ids[i] = d.ID
	}
	return ids, retries, nil
}

// waitScheduled polls every 100 ms, for at most timeout, until flowID has
// at least want SCHEDULED runs, and returns how many it has.
func waitScheduled(ctx context.Context, s *server, flowID string, want int, timeout time.Duration) (int, error) {
	var n int
	var err error
	for wait := time.Now(); time.Since(wait) < timeout; time.Sleep(100 * time.Millisecond) {
		if n, err = countFlowRuns(ctx, s, flowID, "SCHEDULED"); err != nil || n >= want {
			return n, err
		}
	}
	return n, fmt.Errorf("%d of at least %d runs scheduled after %v", n, want, timeout)
}

// schedulerCatchUp creates N deployments with an hourly schedule and
// measures the server's CPU until each has its runs (Praetor makes them as
// a deployment is created, Prefect's server in its scheduler services),
// then checks every deployment has Prefect's minimum (3 runs, the last at
// least an hour ahead) and no (deployment, expected start) twice. On
// Praetor it also reads one scheduler pass over the N deployments from
// /metrics.
func schedulerCatchUp(ctx context.Context, r *runner, s *server) ([]metric, error) {
	n := r.p.deployments
	flowID, err := newFlow(ctx, s, "bench-scheduler")
	if err != nil {
		return nil, err
	}
	start, before := time.Now(), s.usage().cpu
	ids, retries, err := createDeployments(ctx, s, flowID, "sched", n, 3600, start.UTC(), "")
	if err != nil {
		return nil, err
	}
	created := time.Since(start)
	if _, err := waitScheduled(ctx, s, flowID, 3*n, 3*time.Minute); err != nil {
		return nil, err
	}
	catchUp, cpu := time.Since(start), s.usage().cpu-before

	// Every run, in pages of 200 by id (a unique order, so OFFSET pages
	// neither skip nor repeat a run).
	type run struct {
		DeploymentID      string    `json:"deployment_id"`
		ExpectedStartTime time.Time `json:"expected_start_time"`
	}
	perDeployment := map[string][]time.Time{}
	seen := map[string]bool{}
	dups, total := 0, 0
	for off := 0; ; off += 200 {
		var page []run
		if err := call(ctx, s, "POST", "/flow_runs/filter", obj{"flows": obj{"id": anyOf(flowID)},
			"flow_runs": obj{"state": obj{"type": anyOf("SCHEDULED")}}, "sort": "ID_DESC", "limit": 200, "offset": off}, &page); err != nil {
			return nil, err
		}
		for _, fr := range page {
			k := fr.DeploymentID + " " + fr.ExpectedStartTime.UTC().Format(time.RFC3339Nano)
			if seen[k] {
				dups++
			}
			seen[k] = true
			perDeployment[fr.DeploymentID] = append(perDeployment[fr.DeploymentID], fr.ExpectedStartTime)
		}
		total += len(page)
		if len(page) < 200 {
			break
		}
	}
	if dups > 0 {
		return []metric{{Name: "duplicate runs (deployment, expected start)", Unit: "count", Value: float64(dups)}},
			fmt.Errorf("%d runs share a deployment and an expected start time with another", dups)
	}
	hourAhead := start.Add(time.Hour)
	for _, id := range ids {
		times := perDeployment[id]
		last := time.Time{}
		for _, t := range times {
			if t.After(last) {
				last = t
			}
		}
		if len(times) < 3 || last.Before(hourAhead) {
			return nil, fmt.Errorf("deployment %s has %d scheduled runs, the last at %v: want at least 3 and one an hour ahead", id, len(times), last)
		}
	}
	out := []metric{
		{Name: fmt.Sprintf("create %d deployments", n), Unit: "s", Value: created.Seconds()},
		{Name: "until every deployment has its runs", Unit: "s", Value: catchUp.Seconds()},
		{Name: "server CPU until then", Unit: "s", Value: cpu},
		{Name: "runs scheduled", Unit: "count", Value: float64(total)},
		{Name: "duplicate runs (deployment, expected start)", Unit: "count", Value: 0},
		{Name: "deployment creates retried", Unit: "count", Value: float64(retries)},
	}
	if s.kind == "praetor" {
		m, err := schedulerPass(ctx, s)
		if err != nil {
			return nil, err
		}
		out = append(out, m...)
	}
	return out, nil
}

var passMetric = regexp.MustCompile(`(?m)^praetor_service_pass_duration_seconds_(sum|count)\{service="scheduler"\} (\S+)$`)

// schedulerPass waits for two scheduler passes (the server runs one every
// PRAETOR_SCHEDULER_INTERVAL, 5 s here) and returns the second's duration
// from /metrics and the server's CPU from the first pass's end to the
// second's: one whole interval, an upper bound of a pass's CPU.
func schedulerPass(ctx context.Context, s *server) ([]metric, error) {
	read := func() (sum, count float64, err error) {
		req, _ := http.NewRequestWithContext(ctx, "GET", s.api[:len(s.api)-len("/api")]+"/metrics", nil)
		resp, err := httpClient.Do(req)
		if err != nil {
			return 0, 0, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return 0, 0, err
		}
		for _, m := range passMetric.FindAllSubmatch(b, -1) {
			v, _ := strconv.ParseFloat(string(m[2]), 64)
			if string(m[1]) == "sum" {
				sum = v
			} else {
				count = v
			}
		}
		return sum, count, nil
	}
	// next polls every 250 ms until the pass count moves past count.
	next := func(count float64) (float64, float64, float64, error) {
		for wait := time.Now(); time.Since(wait) < 30*time.Second; time.Sleep(250 * time.Millisecond) {
			sum, c, err := read()
			if err != nil {
				return 0, 0, 0, err
			}
			if c > count {
				return sum, c, s.usage().cpu, nil
			}
		}
		return 0, 0, 0, fmt.Errorf("no scheduler pass in /metrics for 30 s")
	}
	_, c0, err := read()
	if err != nil {
		return nil, err
	}
	sum1, c1, cpu1, err := next(c0)
	if err != nil {
		return nil, err
	}
	sum2, c2, cpu2, err := next(c1)
	if err != nil {
		return nil, err
	}
	return []metric{
		{Name: "one scheduler pass over them, wall (/metrics)", Unit: "ms", Value: (sum2 - sum1) / (c2 - c1) * 1000},
		{Name: "server CPU over one scheduler interval (5 s)", Unit: "s", Value: cpu2 - cpu1},
	}, nil
}

// workerPolls fills a work pool with the runs of D deployments scheduled
// every 36 s (Prefect's scheduler makes 100 a schedule, as Praetor's
// does), then drives POST /work_pools/{name}/get_scheduled_flow_runs with
// the body Prefect's worker sends (its queues, and scheduled_before 10 s
// ahead as Python prints a datetime) at 16 connections. Every answer must
// hold only runs due by then, each once, and at least one answer all of
// them (at most 200): Prefect's server on PostgreSQL locks the runs a poll
// reads with SKIP LOCKED, so a poll at the same time as another gets fewer
// (counted, as "answers short").
func workerPolls(ctx context.Context, r *runner, s *server) ([]metric, error) {
	const pool = "bench-pool"
	d := r.p.pollDeployments
	if err := call(ctx, s, "POST", "/work_pools/", obj{"name": pool, "type": "process"}, nil); err != nil {
		return nil, err
	}
	flowID, err := newFlow(ctx, s, "bench-polls")
	if err != nil {
		return nil, err
	}
	// Anchored 30 s back, so each deployment's first run is due 6 s after
	// its create, inside the poll's 10 s ahead.
	if _, _, err := createDeployments(ctx, s, flowID, "poll", d, 36, time.Now().UTC().Add(-30*time.Second), pool); err != nil {
		return nil, err
	}
	scheduled, err := waitScheduled(ctx, s, flowID, 100*d, 3*time.Minute)
	if err != nil {
		return nil, err
	}
	before := time.Now().UTC().Add(10 * time.Second)
	dueFilter := obj{"flows": obj{"id": anyOf(flowID)}, "flow_runs": obj{
		"state": obj{"type": anyOf("SCHEDULED")}, "expected_start_time": obj{"before_": before.Format(time.RFC3339Nano)}}}
	var due int
	if err := call(ctx, s, "POST", "/flow_runs/count", dueFilter, &due); err != nil {
		return nil, err
	}
	if due == 0 {
		return nil, fmt.Errorf("no run due by the poll's scheduled_before")
	}
	dueIDs := map[string]bool{}
	for off := 0; off < due; off += 200 {
		var page []struct{ ID string }
		if err := call(ctx, s, "POST", "/flow_runs/filter", obj{"flows": dueFilter["flows"], "flow_runs": dueFilter["flow_runs"],
			"sort": "ID_DESC", "limit": 200, "offset": off}, &page); err != nil {
			return nil, err
		}
		for _, fr := range page {
			dueIDs[fr.ID] = true
		}
	}
	if len(dueIDs) != due {
		return nil, fmt.Errorf("read %d of the %d due runs", len(dueIDs), due)
	}
	due = min(due, 200) // a poll without a limit answers at most 200, on both servers
	var short, whole atomic.Int64
	body, _ := json.Marshal(obj{"work_queue_names": []string{"default"}, "scheduled_before": before.Format("2006-01-02 15:04:05.000000-07:00")})
	// The name without the count, which the scheduler's passes make vary
	// a little, so that every server's figures share one row.
	_, m := load(ctx, "poll", loadgen.Config{Connections: 16, Duration: r.p.loadTime,
		Next: func(int) loadgen.Request {
			return loadgen.Request{Method: "POST", URL: s.api + "/work_pools/" + pool + "/get_scheduled_flow_runs", Body: body}
		},
		Check: func(_ int, b []byte) error {
			var runs []struct {
				FlowRun struct{ ID string } `json:"flow_run"`
			}
			if err := json.Unmarshal(b, &runs); err != nil || len(runs) > due {
				return fmt.Errorf("the poll answered %d runs (%v), want at most the %d due", len(runs), err, due)
			}
			seen := map[string]bool{}
			for _, r := range runs {
				if id := r.FlowRun.ID; !dueIDs[id] || seen[id] {
					return fmt.Errorf("the poll answered run %q, not due or twice", id)
				}
				seen[r.FlowRun.ID] = true
			}
			if len(runs) < due {
				short.Add(1)
			} else {
				whole.Add(1)
			}
			return nil
		}})
	if whole.Load() == 0 {
		return nil, fmt.Errorf("no poll answered all the %d due runs (%d answered fewer)", due, short.Load())
	}
	return append(m, metric{Name: "scheduled runs in the pool", Unit: "count", Value: float64(scheduled)},
		metric{Name: "runs due by the poll's scheduled_before", Unit: "count", Value: float64(due)},
		metric{Name: "answers short of them (a concurrent poll held the rest)", Unit: "count", Value: float64(short.Load())}), nil
}

// prefectSchedulerBroken says why Prefect's scheduler would make no run
// with the virtualenv's SQLAlchemy, or "" when it works: Prefect 3.8.8
// allows SQLAlchemy < 3, but its scheduler's bulk insert of the runs names
// the flow run's `state` hybrid, which SQLAlchemy 2.1 refuses ("Can't
// evaluate bulk DML statement"), so every pass fails and no deployment gets
// a run. scripts/test pins 2.0.
func prefectSchedulerBroken(ctx context.Context, venv string) string {
	out, err := exec.CommandContext(ctx, filepath.Join(venv, "bin", "python"), "-c",
		`import importlib.metadata as m; print(m.version("sqlalchemy"))`).Output()
	v := strings.TrimSpace(string(out))
	if err != nil || !strings.HasPrefix(v, "2.0.") {
		return fmt.Sprintf("the virtualenv's SQLAlchemy is %q (%v): Prefect 3.8.8's scheduler fails every pass with SQLAlchemy 2.1 and makes no run (scripts/test pins 2.0)", v, err)
	}
	return ""
}
