package compat

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/praetorhq/praetor/internal/testenv"
)

// TestPrefectServerShapes runs the same flows against Prefect's own server
// and against praetor and compares the shapes of what the two answer: the
// keys of the objects, the JSON kinds of their values, and the state
// histories. Values may differ.
func TestPrefectServerShapes(t *testing.T) {
	requirePython(t)
	want := oracle.snapshot(t)
	forEachEngine(t, func(t *testing.T, api *apiClient) {
		got, err := takeSnapshot(t.Context(), api, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Run("flow", func(t *testing.T) {
			compareShapes(t, "GET /flows/{id}", want.flow, got.flow, "")
		})
		t.Run("flow_run", func(t *testing.T) {
			compareShapes(t, "GET /flow_runs/{id}", want.flowRun, got.flowRun,
				"", "state", "state.state_details", "empirical_policy")
		})
		t.Run("flow_run_states", func(t *testing.T) {
			compareHistories(t, "GET /flow_run_states/?flow_run_id=", want.flowRunStates, got.flowRunStates)
		})
		t.Run("log", func(t *testing.T) {
			compareShapes(t, "POST /logs/filter (the warning)", want.log, got.log, "")
		})
		t.Run("task_run", func(t *testing.T) {
			compareShapes(t, "GET /task_runs/{id} (the retried task)", want.taskRun, got.taskRun,
				"", "state", "state.state_details", "empirical_policy")
		})
		t.Run("task_run_states", func(t *testing.T) {
			compareHistories(t, "GET /task_run_states/?task_run_id= (the retried task)", want.taskRunStates, got.taskRunStates)
		})
		t.Run("queries", func(t *testing.T) { compareQueries(t, want.queries, got.queries) })
	})
}

// snapshot is what a server answers about the runs of basic_flow.py and
// retries_map_subflow.py.
type snapshot struct {
	flow          map[string]any   // the "Testing" flow
	flowRun       map[string]any   // its run
	flowRunStates []map[string]any // the run's states
	log           map[string]any   // the run's warning log
	taskRun       map[string]any   // the "flaky" task run, which was retried
	taskRunStates []map[string]any // its states
	queries       map[string]any   // the answers to oracleQueries
}

// takeSnapshot runs the flows against an empty server and collects its
// answers. dir holds the clients' PREFECT_HOME and other files.
func takeSnapshot(ctx context.Context, api *apiClient, dir string) (*snapshot, error) {
	var s snapshot
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	home := filepath.Join(dir, "prefect-home")
	if out, err := runPython(ctx, api.base, home, "basic_flow.py"); err != nil {
		return nil, fmt.Errorf("basic_flow.py: %v; output:\n%s", err, out)
	}
	run, err := findOnlyFlowRun(ctx, api, "Testing")
	if err != nil {
		return nil, err
	}
	if err := api.call(ctx, "GET", "/flow_runs/"+run.ID, nil, &s.flowRun); err != nil {
		return nil, err
	}
	if err := api.call(ctx, "GET", "/flows/"+run.FlowID, nil, &s.flow); err != nil {
		return nil, err
	}
	if err := api.call(ctx, "GET", "/flow_run_states/?flow_run_id="+run.ID, nil, &s.flowRunStates); err != nil {
		return nil, err
	}
	if s.log, err = findLog(ctx, api, run.ID, 30, "The fun is about to begin"); err != nil {
		return nil, err
	}

	attempts := "PRAETOR_COMPAT_ATTEMPTS_FILE=" + filepath.Join(dir, "attempts")
	if out, err := runPython(ctx, api.base, home, "retries_map_subflow.py", attempts); err != nil {
		return nil, fmt.Errorf("retries_map_subflow.py: %v; output:\n%s", err, out)
	}
	parent, err := findOnlyFlowRun(ctx, api, "retries-map-subflow")
	if err != nil {
		return nil, err
	}
	tasks, err := settledTaskRuns(ctx, api, parent.ID, retriesMapSubflowTasks)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(tasks, func(tr taskRunInfo) bool { return tr.taskName() == "flaky" })
	if err := api.call(ctx, "GET", "/task_runs/"+tasks[i].ID, nil, &s.taskRun); err != nil {
		return nil, err
	}
	if err := api.call(ctx, "GET", "/task_run_states/?task_run_id="+tasks[i].ID, nil, &s.taskRunStates); err != nil {
		return nil, err
	}
	if s.queries, err = askQueries(ctx, api, snapshotIDs{flow: run.FlowID, flowRun: run.ID, parent: parent.ID, taskRun: tasks[i].ID}); err != nil {
		return nil, err
	}
	return &s, nil
}

// compareShapes compares the objects at paths ("" for the top level,
// "state.state_details" for a nested one) in Prefect's answer (want) and
// praetor's (got): the same keys, and values of the same JSON kind where
// both are not null. Timestamps must stay timestamps.
func compareShapes(t *testing.T, what string, want, got map[string]any, paths ...string) {
	t.Helper()
	for _, path := range paths {
		label := what
		if path != "" {
			label += " ." + path
		}
		w, wOK := lookup(want, path)
		g, gOK := lookup(got, path)
		if !wOK {
			t.Logf("%s: not an object in Prefect's answer; not compared", label)
			continue
		}
		if !gOK {
			t.Errorf("%s: Prefect answers an object with keys %v; praetor's answer has no object there", label, sortedKeys(w))
			continue
		}
		var missing, extra []string
		for _, k := range sortedKeys(w) {
			if _, ok := g[k]; !ok {
				missing = append(missing, k)
			}
		}
		for _, k := range sortedKeys(g) {
			if _, ok := w[k]; !ok {
				extra = append(extra, k)
			}
		}
		if len(missing) > 0 {
			t.Errorf("%s: praetor lacks keys that Prefect answers: %v", label, missing)
		}
		if len(extra) > 0 {
			t.Errorf("%s: praetor answers keys that Prefect does not: %v", label, extra)
		}
		for _, k := range sortedKeys(w) {
			gv, ok := g[k]
			if !ok {
				continue
			}
			wv := w[k]
			wk, gk := jsonKind(wv), jsonKind(gv)
			switch {
			case wk != "null" && gk != "null" && wk != gk:
				t.Errorf("%s .%s: Prefect answers a %s (%v), praetor a %s (%v)", label, k, wk, wv, gk, gv)
			case wk != gk:
				t.Logf("note: %s .%s is %v in Prefect's answer and %v in praetor's", label, k, wv, gv)
			case isTimestamp(wv) && !isTimestamp(gv):
				t.Errorf("%s .%s: Prefect answers a timestamp (%v), praetor %q, which is not RFC 3339", label, k, wv, gv)
			}
		}
	}
}

// compareHistories compares the state types, in order, of two state lists.
func compareHistories(t *testing.T, what string, want, got []map[string]any) {
	t.Helper()
	types := func(states []map[string]any) []string {
		out := make([]string, len(states))
		for i, s := range states {
			out[i] = fmt.Sprint(s["type"])
		}
		return out
	}
	if w, g := types(want), types(got); !slices.Equal(w, g) {
		t.Errorf("%s: praetor's state types are %v, Prefect's %v", what, g, w)
	}
	if len(want) > 0 && len(got) > 0 {
		compareShapes(t, what+" [last]", want[len(want)-1], got[len(got)-1], "", "state_details")
	}
}

// lookup returns the object at a dotted path in m.
func lookup(m map[string]any, path string) (map[string]any, bool) {
	if m == nil {
		return nil, false
	}
	if path == "" {
		return m, true
	}
	for key := range strings.SplitSeq(path, ".") {
		next, ok := m[key].(map[string]any)
		if !ok {
			return nil, false
		}
		m = next
	}
	return m, true
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// jsonKind names the JSON type of a value decoded by encoding/json.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func isTimestamp(v any) bool {
	s, ok := v.(string)
	if !ok {
		return false
	}
	_, err := time.Parse(time.RFC3339Nano, s)
	return err == nil
}

// oracle is Prefect's own server, started from the virtualenv at most once
// for the package, and its snapshot. Tests that use it create uniquely named
// objects, so they do not disturb each other.
var oracle oracleServer

type oracleServer struct {
	startOnce sync.Once
	proc      *process
	api       *apiClient
	startErr  error

	snapOnce sync.Once
	snap     *snapshot
	snapErr  error
}

// client starts Prefect's server on first use and returns a client of its
// /api.
func (o *oracleServer) client(t *testing.T) *apiClient {
	t.Helper()
	if prefectBin == "" {
		testenv.Missing(t, "PRAETOR_TEST_PREFECT is not set: no Prefect server to compare with (scripts/test sets it)")
	}
	o.startOnce.Do(func() {
		o.proc, o.api, o.startErr = startPrefectServer(filepath.Join(workDir, "prefect-server"))
	})
	if o.startErr != nil {
		t.Fatalf("Prefect's own server: %v", o.startErr)
	}
	return o.api
}

// log returns the tail of the server's output.
func (o *oracleServer) log() string {
	if o.proc == nil {
		return "(not started)"
	}
	return tailLines(o.proc.log(), 40)
}

// snapshot takes the server's snapshot on first use.
func (o *oracleServer) snapshot(t *testing.T) *snapshot {
	t.Helper()
	api := o.client(t)
	o.snapOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		dir := filepath.Join(workDir, "prefect-server", "client")
		if o.snap, o.snapErr = takeSnapshot(ctx, api, dir); o.snapErr != nil {
			o.snapErr = fmt.Errorf("%v\nserver log:\n%s", o.snapErr, o.log())
		}
	})
	if o.snapErr != nil {
		t.Fatalf("Prefect's own server: %v", o.snapErr)
	}
	return o.snap
}

// startPrefectServer starts Prefect's own server from the virtualenv, with
// its home in dir, and waits until it is healthy. The caller stops it.
func startPrefectServer(dir string) (*process, *apiClient, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, nil, err
	}
	env := append(environWithout("PREFECT_"),
		"PREFECT_HOME="+filepath.Join(dir, "home"),
		"PREFECT_SERVER_ANALYTICS_ENABLED=false",
		"PREFECT_SERVER_UI_ENABLED=false",
	)
	p, err := startProcess("prefect server", filepath.Join(dir, "server.log"), env,
		prefectBin, "server", "start", "--host", "127.0.0.1", "--port", port)
	if err != nil {
		return nil, nil, err
	}
	api := newAPIClient("http://127.0.0.1:" + port + "/api")
	if err := waitHealthy(api, p, 2*time.Minute); err != nil {
		p.stop(5 * time.Second)
		return nil, nil, fmt.Errorf("%v\n%s", err, tailLines(p.log(), 40))
	}
	return p, api, nil
}

// stop ends Prefect's server if it was started.
func (o *oracleServer) stop() {
	if o.proc != nil {
		o.proc.stop(15 * time.Second)
	}
}
