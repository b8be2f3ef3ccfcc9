package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
	"github.com/praetorhq/praetor/bench/loadgen"
)

// metric is one figure a workload measured on one server.
type metric struct {
	Name  string  `json:"metric"`
	Unit  string  `json:"unit"`
	Value float64 `json:"value"`
	// Higher says bigger is better (a rate); otherwise smaller is (a
	// cost or a latency).
	Higher bool `json:"higher_is_better"`
	// Ceiling is the machine's limit for the same figure, measured in the
	// same run (the trivial handler), when there is one.
	Ceiling float64 `json:"ceiling,omitempty"`
}

// workload is one benchmark: it runs against a server, checks the end
// state and returns its figures, or an error when the end state is wrong.
type workload struct {
	name string
	run  func(ctx context.Context, r *runner, s *server) ([]metric, error)
}

// httpClient makes the setup and check calls, a connection each: Prefect's
// server closes idle connections after 5 s, and a call on one it just
// closed fails with a reset.
var httpClient = &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// call sends a JSON request to the server's API and decodes the answer
// into out (when not nil); a non-2xx answer is an error.
func call(ctx context.Context, s *server, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.api+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if s.header != "" {
		req.Header.Set("Authorization", s.header)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, truncate(data, 300))
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

type obj = map[string]any

func anyOf(v ...string) obj { return obj{"any_": v} }

// callRetrying is call sent again after a failure, up to 8 tries, 0.5 s
// apart doubling to 4 s, as the client retries: Prefect's server on SQLite
// answers 503 to writes on a loaded machine. It returns how many it sent.
func callRetrying(ctx context.Context, s *server, method, path string, body, out any) (tries int, err error) {
	for tries = 1; ; tries++ {
		if err = call(ctx, s, method, path, body, out); err == nil || ctx.Err() != nil || tries == 8 {
			return tries, err
		}
		time.Sleep(min(500*time.Millisecond<<(tries-1), 4*time.Second))
	}
}

// newFlow creates (or finds) the flow name and returns its id.
func newFlow(ctx context.Context, s *server, name string) (string, error) {
	var f struct{ ID string }
	_, err := callRetrying(ctx, s, "POST", "/flows/", obj{"name": name}, &f)
	return f.ID, err
}

func newFlowRun(ctx context.Context, s *server, flowID string, state string) (string, error) {
	var fr struct{ ID string }
	body := obj{"flow_id": flowID}
	if state != "" {
		body["state"] = obj{"type": state}
	}
	_, err := callRetrying(ctx, s, "POST", "/flow_runs/", body, &fr)
	return fr.ID, err
}

func countFlowRuns(ctx context.Context, s *server, flowID string, states ...string) (int, error) {
	q := obj{"flows": obj{"id": anyOf(flowID)}}
	if len(states) > 0 {
		q["flow_runs"] = obj{"state": obj{"type": anyOf(states...)}}
	}
	var n int
	err := call(ctx, s, "POST", "/flow_runs/count", q, &n)
	return n, err
}

// readLogs reads a flow run's want logs, oldest first, in pages of 200
// fetched by 4 readers at once, and returns their messages and each page's
// latency. It fails unless the server holds exactly want lines.
func readLogs(ctx context.Context, s *server, flowRunID string, want int) ([]string, []time.Duration, error) {
	pages := want/200 + 1 // the last one short (or empty)
	msgs := make([][]string, pages)
	lat := make([]time.Duration, pages)
	errs := make([]error, pages)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := int(next.Add(1) - 1); p < pages; p = int(next.Add(1) - 1) {
				var page []struct{ Message string }
				start := time.Now()
				errs[p] = call(ctx, s, "POST", "/logs/filter", obj{"logs": obj{"flow_run_id": anyOf(flowRunID)},
					"sort": "TIMESTAMP_ASC", "limit": 200, "offset": p * 200}, &page)
				lat[p] = time.Since(start)
				for _, l := range page {
					msgs[p] = append(msgs[p], l.Message)
				}
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	var all []string
	for p, m := range msgs {
		if p < pages-1 && len(m) != 200 {
			return nil, nil, fmt.Errorf("page %d of the logs has %d lines, want 200 (%d lines expected)", p, len(m), want)
		}
		all = append(all, m...)
	}
	if len(all) != want {
		return nil, nil, fmt.Errorf("%d log lines read back, want %d", len(all), want)
	}
	return all, lat, nil
}

// load runs cfg through the load generator and turns its result into
// metrics named after what.
func load(ctx context.Context, what string, cfg loadgen.Config) (loadgen.Result, []metric) {
	res := loadgen.Run(ctx, cfg)
	ms := []metric{
		{Name: what + " rps", Unit: "req/s", Value: res.RPS(), Higher: true},
		{Name: what + " p50", Unit: "ms", Value: ms(res.P50)},
		{Name: what + " p99", Unit: "ms", Value: ms(res.P99)},
		{Name: what + " errors", Unit: "count", Value: float64(res.Failed() + res.Locked)},
	}
	if res.Failed() > 0 {
		fmt.Fprintf(os.Stderr, "  %s: %d failed (%v), first: %s\n", what, res.Failed(), res.Errors, res.FirstError)
	}
	return res, ms
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func p95(lat []time.Duration) time.Duration { return quantile(lat, 0.95) }

// quantile is the q-quantile of lat (the nearest rank above; 1 is the max).
func quantile(lat []time.Duration, q float64) time.Duration {
	s := slices.Clone(lat)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[min(len(s)-1, int(float64(len(s))*q))]
}

// apiLoads drives the API micro-loads: create flow runs, set_state, read
// one run (and the ceiling beside it), filter, log batches.
func apiLoads(ctx context.Context, r *runner, s *server) ([]metric, error) {
	var out []metric
	conns := 16
	flowID, err := newFlow(ctx, s, "bench-api")
	if err != nil {
		return nil, err
	}

	// Create: every OK answer must be a stored run.
	createBody := []byte(`{"flow_id": "` + flowID + `"}`)
	res, m := load(ctx, "create flow run", loadgen.Config{Connections: conns, Duration: r.p.loadTime,
		Next: func(int) loadgen.Request {
			return loadgen.Request{Method: "POST", URL: s.api + "/flow_runs/", Body: createBody}
		}})
	out = append(out, m...)
	n, err := countFlowRuns(ctx, s, flowID)
	if err != nil {
		return nil, err
	}
	if n != res.OK {
		return nil, fmt.Errorf("create: %d runs stored, %d creates answered OK", n, res.OK)
	}
	// Filter: the newest 200 of a flow of exactly filterRuns runs, seeded
	// one create at a time (not timed; newFlowRun retries as the client
	// would: Prefect's server on SQLite answers 503 or drops the
	// connection while it catches up).
	filterFlow, err := newFlow(ctx, s, "bench-filter")
	if err != nil {
		return nil, err
	}
	for range r.p.filterRuns {
		if _, err := newFlowRun(ctx, s, filterFlow, ""); err != nil {
			return nil, fmt.Errorf("seeding runs for the filter: %w", err)
		}
	}
	if n, err = countFlowRuns(ctx, s, filterFlow); err != nil || n != r.p.filterRuns {
		return nil, fmt.Errorf("the filter's flow has %d runs (%v), want %d", n, err, r.p.filterRuns)
	}
	filterBody, _ := json.Marshal(obj{"flows": obj{"id": anyOf(filterFlow)}, "sort": "EXPECTED_START_TIME_DESC", "limit": 200})
	_, m = load(ctx, fmt.Sprintf("filter newest 200 of %d runs", r.p.filterRuns), loadgen.Config{Connections: conns, Duration: r.p.loadTime,
		Next: func(int) loadgen.Request {
			return loadgen.Request{Method: "POST", URL: s.api + "/flow_runs/filter", Body: filterBody}
		},
		Check: func(_ int, b []byte) error {
			var runs []json.RawMessage
			if err := json.Unmarshal(b, &runs); err != nil || len(runs) != 200 {
				return fmt.Errorf("filter answered %d runs (%v), want 200", len(runs), err)
			}
			return nil
		}})
	out = append(out, m...)

	// Read one run, at 16 and 64 connections; the ceiling serves the same
	// bytes from a trivial handler.
	runID, err := newFlowRun(ctx, s, flowID, "PENDING")
	if err != nil {
		return nil, err
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", s.api+"/flow_runs/"+runID, nil)
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, err
	}
	runBytes, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	ceilURL, stopCeil, err := loadgen.Ceiling(runBytes, resp.Header.Get("Content-Type"))
	if err != nil {
		return nil, err
	}
	defer stopCeil()
	idCheck := func(_ int, b []byte) error {
		if !bytes.Contains(b, []byte(runID)) {
			return errors.New("the answer does not name the run")
		}
		return nil
	}
	for _, c := range []int{16, 64} {
		what := fmt.Sprintf("read one run, %d conns", c)
		_, m = load(ctx, what, loadgen.Config{Connections: c, Duration: r.p.loadTime, Check: idCheck,
			Next: func(int) loadgen.Request { return loadgen.Request{Method: "GET", URL: s.api + "/flow_runs/" + runID} }})
		if s.kind == "praetor" {
			ceil := loadgen.Run(ctx, loadgen.Config{Connections: c, Duration: r.p.loadTime, Check: idCheck,
				Next: func(int) loadgen.Request {
					return loadgen.Request{Method: "GET", URL: ceilURL + "/api/flow_runs/" + runID}
				}})
			m[0].Ceiling = ceil.RPS()
		}
		out = append(out, m...)
	}

	// Praetor with an API key: the same read in a workspace of its own,
	// so each request also authenticates the key and resolves its role.
	if s.kind == "praetor" {
		root, key, err := s.keyedWorkspace(ctx)
		if err != nil {
			return nil, err
		}
		ks := &server{api: root, header: "Bearer " + key}
		fid, err := newFlow(ctx, ks, "bench-key")
		if err != nil {
			return nil, err
		}
		kid, err := newFlowRun(ctx, ks, fid, "PENDING")
		if err != nil {
			return nil, err
		}
		_, m = load(ctx, "read one run with an API key, 16 conns", loadgen.Config{Connections: conns, Duration: r.p.loadTime,
			Check: func(_ int, b []byte) error {
				if !bytes.Contains(b, []byte(kid)) {
					return errors.New("the answer does not name the run")
				}
				return nil
			},
			Next: func(int) loadgen.Request {
				return loadgen.Request{Method: "GET", URL: root + "/flow_runs/" + kid, Header: map[string]string{"Authorization": ks.header}}
			}})
		out = append(out, m...)
	}

	// set_state: forced RUNNING/COMPLETED cycles over 64 runs; every
	// accepted transition must be a stored state.
	runs := make([]string, 64)
	for i := range runs {
		if runs[i], err = newFlowRun(ctx, s, flowID, "PENDING"); err != nil {
			return nil, err
		}
	}
	bodies := [2][]byte{[]byte(`{"state": {"type": "RUNNING"}, "force": true}`), []byte(`{"state": {"type": "COMPLETED"}, "force": true}`)}
	res, m = load(ctx, "set_state", loadgen.Config{Connections: conns, Duration: r.p.loadTime,
		Next: func(i int) loadgen.Request {
			return loadgen.Request{Method: "POST", URL: s.api + "/flow_runs/" + runs[i%len(runs)] + "/set_state", Body: bodies[(i/len(runs))%2]}
		},
		Check: func(_ int, b []byte) error {
			var o struct{ Status string }
			if err := json.Unmarshal(b, &o); err != nil || o.Status != "ACCEPT" {
				return fmt.Errorf("set_state answered %s", truncate(b, 200))
			}
			return nil
		}})
	out = append(out, m...)
	states := 0
	for _, id := range runs {
		var st []json.RawMessage
		if err := call(ctx, s, "GET", "/flow_run_states/?flow_run_id="+id, nil, &st); err != nil {
			return nil, err
		}
		states += len(st)
	}
	if states != len(runs)+res.OK {
		return nil, fmt.Errorf("set_state: %d states stored, want %d initial + %d accepted", states, len(runs), res.OK)
	}

	// Log batches of 100 lines into one run; all must read back.
	logRun, err := newFlowRun(ctx, s, flowID, "RUNNING")
	if err != nil {
		return nil, err
	}
	res, m = load(ctx, "log batch of 100", loadgen.Config{Connections: conns, Duration: r.p.loadTime,
		Next: func(i int) loadgen.Request {
			return loadgen.Request{Method: "POST", URL: s.api + "/logs/", Body: logBatch(logRun, i, 100)}
		}})
	out = append(out, m...)
	// Reading every line back pages with OFFSET, quadratic in the lines
	// (the log workload below does it); here the two pages around the
	// last line prove the count.
	want := 100 * res.OK
	for _, c := range []struct{ offset, lines int }{{want - 1, 1}, {want, 0}} {
		var page []json.RawMessage
		if err := call(ctx, s, "POST", "/logs/filter", obj{"logs": obj{"flow_run_id": anyOf(logRun)},
			"sort": "TIMESTAMP_ASC", "limit": 200, "offset": c.offset}, &page); err != nil {
			return nil, err
		}
		if len(page) != c.lines {
			return nil, fmt.Errorf("log batches: %d lines at offset %d, want %d (%d lines sent)", len(page), c.offset, c.lines, want)
		}
	}
	return out, nil
}

// logBatch is batch i of n lines for flowRunID, the lines numbered i*n+j.
func logBatch(flowRunID string, i, n int) []byte {
	var b bytes.Buffer
	b.WriteByte('[')
	ts := time.Now().UTC()
	for j := range n {
		if j > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"name": "bench", "level": 20, "message": "line %d", "timestamp": "%s", "flow_run_id": "%s"}`,
			i*n+j, ts.Add(time.Duration(j)*time.Microsecond).Format(time.RFC3339Nano), flowRunID)
	}
	b.WriteByte(']')
	return b.Bytes()
}

// logIngest sends lines in batches of 200 from 4 senders, then reads them
// all back, oldest first, and checks every line is there once.
func logIngest(ctx context.Context, r *runner, s *server) ([]metric, error) {
	flowID, err := newFlow(ctx, s, "bench-logs")
	if err != nil {
		return nil, err
	}
	runID, err := newFlowRun(ctx, s, flowID, "RUNNING")
	if err != nil {
		return nil, err
	}
	batches := r.p.logLines / 200
	res := loadgen.Run(ctx, loadgen.Config{Connections: 4, Rate: 1e6, Duration: time.Duration(float64(batches) / 1e6 * float64(time.Second)),
		Next: func(i int) loadgen.Request {
			return loadgen.Request{Method: "POST", URL: s.api + "/logs/", Body: logBatch(runID, i, 200)}
		}})
	if res.Failed() > 0 {
		return nil, fmt.Errorf("%d of %d batches failed: %s", res.Failed(), batches, res.FirstError)
	}
	start := time.Now()
	msgs, lat, err := readLogs(ctx, s, runID, batches*200)
	if err != nil {
		return nil, err
	}
	readBack := time.Since(start)
	seen := make(map[string]bool, len(msgs))
	for _, m := range msgs {
		seen[m] = true
	}
	if len(seen) != len(msgs) {
		return nil, fmt.Errorf("read back %d lines, %d distinct", len(msgs), len(seen))
	}
	return []metric{
		{Name: fmt.Sprintf("ingest %d lines", len(msgs)), Unit: "lines/s", Value: float64(len(msgs)) / res.Elapsed.Seconds(), Higher: true},
		{Name: "read back all, pages of 200, 4 readers", Unit: "s", Value: readBack.Seconds()},
		{Name: "read one page p95", Unit: "ms", Value: ms(p95(lat))},
	}, nil
}

// eventIngest sends events over 4 events/in websockets and waits until
// /events/filter counts them all: ingest rate, the lag after the last
// send, and drops.
func eventIngest(ctx context.Context, r *runner, s *server) ([]metric, error) {
	const sockets = 4
	n := r.p.events / sockets * sockets
	since := time.Now().UTC().Add(-time.Minute)
	wsURL := "ws" + strings.TrimPrefix(s.api, "http") + "/events/in"
	start := time.Now()
	var wg sync.WaitGroup
	var sendErr atomic.Value
	for c := range sockets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := sendEvents(ctx, wsURL, n/sockets, func(i int) []byte {
				return fmt.Appendf(nil, `{"id": "%s", "occurred": "%s", "event": "bench.event", "resource": {"prefect.resource.id": "bench.resource.%d.%d"}, "payload": {"i": %d}, "related": []}`,
					uuid.New(), time.Now().UTC().Format(time.RFC3339Nano), c, i%50, i)
			})
			if err != nil {
				sendErr.Store(err)
			}
		}()
	}
	wg.Wait()
	sent := time.Since(start)
	if err, _ := sendErr.Load().(error); err != nil {
		return nil, err
	}
	until := time.Now().UTC().Add(time.Minute)
	count := func() (int, error) {
		var page struct{ Total int }
		err := call(ctx, s, "POST", "/events/filter", obj{"filter": obj{
			"occurred": obj{"since": since.Format(time.RFC3339Nano), "until": until.Format(time.RFC3339Nano)},
			"event":    obj{"prefix": []string{"bench."}}}, "limit": 1}, &page)
		return page.Total, err
	}
	stored, err := waitCount(count, n)
	if err != nil {
		return nil, err
	}
	lag := time.Since(start) - sent
	if stored != n {
		return []metric{{Name: "events dropped", Unit: "count", Value: float64(n - stored)}},
			fmt.Errorf("%d of %d events stored, and no more for 15 s", stored, n)
	}
	return []metric{
		{Name: fmt.Sprintf("ingest %d events", n), Unit: "events/s", Value: float64(n) / sent.Seconds(), Higher: true},
		{Name: "stored after the last send", Unit: "s", Value: lag.Seconds()},
		{Name: "events dropped", Unit: "count", Value: 0},
	}, nil
}

// waitCount polls count every 50 ms until it reaches want, or has not
// moved for 15 s (Prefect's server flushes its events every 5 s), and
// returns the last count.
func waitCount(count func() (int, error), want int) (int, error) {
	var n int
	var err error
	for moved := time.Now(); time.Since(moved) < 15*time.Second; time.Sleep(50 * time.Millisecond) {
		last := n
		if n, err = count(); err != nil || n >= want {
			return n, err
		}
		if n != last {
			moved = time.Now()
		}
	}
	return n, nil
}

// dialEvents opens one of the events websockets (events/in, events/out)
// with Prefect's handshake: the "prefect" subprotocol, then an auth frame
// answered with auth_success.
func dialEvents(ctx context.Context, url string) (*websocket.Conn, error) {
	conn, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{"prefect"}})
	if err != nil {
		return nil, fmt.Errorf("dialing %s: %w", url, err)
	}
	if err := conn.Write(ctx, websocket.MessageText, []byte(`{"type": "auth", "token": null}`)); err != nil {
		conn.CloseNow()
		return nil, err
	}
	if _, msg, err := conn.Read(ctx); err != nil || !bytes.Contains(msg, []byte("auth_success")) {
		conn.CloseNow()
		return nil, fmt.Errorf("%s handshake: %s %v", url, msg, err)
	}
	return conn, nil
}

// sendEvents sends n events over one events/in websocket, event i the
// frame event(i) makes.
func sendEvents(ctx context.Context, url string, n int, event func(i int) []byte) error {
	conn, err := dialEvents(ctx, url)
	if err != nil {
		return err
	}
	defer conn.CloseNow()
	for i := range n {
		if err := conn.Write(ctx, websocket.MessageText, event(i)); err != nil {
			return fmt.Errorf("sending event %d: %w", i, err)
		}
	}
	// Prefect's server may not answer the close frame: what it received
	// is counted through /events/filter either way.
	_ = conn.Close(websocket.StatusNormalClosure, "")
	return nil
}

// python runs one of the embedded scripts with the client pointed at s.
func (r *runner) python(ctx context.Context, s *server, script string, args ...string) ([]byte, []byte, error) {
	home, err := os.MkdirTemp(r.tmp, "client-")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(home)
	cmd := exec.CommandContext(ctx, filepath.Join(r.venv, "bin", "python"), append([]string{filepath.Join(r.scripts, script)}, args...)...)
	cmd.Env = clientEnv(s, home)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	if err != nil {
		err = fmt.Errorf("%s: %w\n%s", script, err, tailOf(stderr.String(), 20))
	}
	return stdout.Bytes(), stderr.Bytes(), err
}

func tailOf(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// taskFlow runs one flow of N tasks with the real client (mode
// "sequential" or "submitted") and checks all N are recorded COMPLETED.
func taskFlow(mode string) func(ctx context.Context, r *runner, s *server) ([]metric, error) {
	return func(ctx context.Context, r *runner, s *server) ([]metric, error) {
		before := s.usage().cpu
		out, _, err := r.python(ctx, s, "tasks.py", mode, fmt.Sprint(r.p.tasks))
		if err != nil {
			return nil, err
		}
		cpu := s.usage().cpu - before
		var got struct {
			FlowRunID string `json:"flow_run_id"`
			Wall, Lag float64
			Completed int
		}
		if err := json.Unmarshal(lastLine(out), &got); err != nil {
			return nil, fmt.Errorf("tasks.py printed %q: %w", out, err)
		}
		if got.Completed != r.p.tasks {
			return nil, fmt.Errorf("%d of %d task runs recorded COMPLETED", got.Completed, r.p.tasks)
		}
		var fr struct {
			StateType string `json:"state_type"`
		}
		if err := call(ctx, s, "GET", "/flow_runs/"+got.FlowRunID, nil, &fr); err != nil {
			return nil, err
		}
		if fr.StateType != "COMPLETED" {
			return nil, fmt.Errorf("the flow run ended %s", fr.StateType)
		}
		return []metric{
			{Name: "client wall time", Unit: "s", Value: got.Wall},
			{Name: "recording lag", Unit: "s", Value: got.Lag},
			{Name: "server CPU per task run", Unit: "ms", Value: cpu / float64(r.p.tasks) * 1000},
		}, nil
	}
}

func lastLine(b []byte) []byte {
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	return lines[len(lines)-1]
}

// burst runs P client processes at once, each running F async flows of 20
// async tasks at once, and checks every flow and task run completed.
func burst(ctx context.Context, r *runner, s *server) ([]metric, error) {
	const tasks = 20
	procs, flows := r.p.burstProcs, r.p.burstFlows
	before := s.usage().cpu
	lockedBefore := s.logCount("database is locked")
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, procs)
	retries := make([]int, procs)
	for p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, stderr, err := r.python(ctx, s, "burst.py", fmt.Sprint(flows), fmt.Sprint(tasks))
			retries[p] = bytes.Count(stderr, []byte("retryable status code")) + bytes.Count(stderr, []byte("database is locked"))
			if err != nil {
				errs[p] = err
				return
			}
			var got struct {
				Returned int
				Errors   []string
			}
			if err := json.Unmarshal(lastLine(out), &got); err != nil {
				errs[p] = fmt.Errorf("burst.py printed %q: %w", out, err)
			} else if got.Returned != flows {
				errs[p] = fmt.Errorf("%d of %d flows returned: %v", got.Returned, flows, got.Errors)
			}
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	flowID, err := newFlow(ctx, s, "bench-burst")
	if err != nil {
		return nil, err
	}
	want := procs * flows
	var runs, taskRuns int
	for wait := time.Now(); time.Since(wait) < 60*time.Second; time.Sleep(50 * time.Millisecond) {
		if runs, err = countFlowRuns(ctx, s, flowID, "COMPLETED"); err != nil {
			return nil, err
		}
		if err := call(ctx, s, "POST", "/task_runs/count", obj{"flows": obj{"id": anyOf(flowID)},
			"task_runs": obj{"state": obj{"type": anyOf("COMPLETED")}}}, &taskRuns); err != nil {
			return nil, err
		}
		if runs == want && taskRuns == want*tasks {
			break
		}
	}
	if runs != want || taskRuns != want*tasks {
		return nil, fmt.Errorf("%d of %d flow runs and %d of %d task runs COMPLETED", runs, want, taskRuns, want*tasks)
	}
	cpu := s.usage().cpu - before
	var errCount int
	for _, n := range retries {
		errCount += n
	}
	errCount += s.logCount("database is locked") - lockedBefore
	return []metric{
		{Name: "wall time", Unit: "s", Value: wall.Seconds()},
		{Name: "completed flow runs/s", Unit: "runs/s", Value: float64(want) / wall.Seconds(), Higher: true},
		{Name: "server CPU per task run", Unit: "ms", Value: cpu / float64(want*tasks) * 1000},
		{Name: "errors (retries, locked)", Unit: "count", Value: float64(errCount)},
	}, nil
}
