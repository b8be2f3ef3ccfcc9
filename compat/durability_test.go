package compat

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/testdb"
	_ "modernc.org/sqlite" // the "sqlite" driver, to read the database directly
)

// Writers run against a praetor process while it is killed with SIGKILL
// and restarted on the same data, on each engine: flow runs (with and
// without idempotency keys) and their state transitions, log batches and
// event batches (with task-run events the recorder turns into task runs),
// some with clients that hang up mid-request, some refused as bad input.
// Afterwards the database holds every acknowledged write exactly once,
// nothing of a refused one, and of a write whose answer never came either
// all of it or nothing, never twice.
func TestDurabilityAcrossKills(t *testing.T) {
	praetorBinary(t) // built before the clock starts
	t.Run("sqlite", func(t *testing.T) { testDurability(t, "sqlite") })
	t.Run("postgres", func(t *testing.T) { testDurability(t, "postgres") })
}

const (
	killRounds    = 3
	roundDuration = 6 * time.Second
)

func testDurability(t *testing.T, engine string) {
	dir := t.TempDir()
	env := append(environWithout("PRAETOR_HOME=", "PRAETOR_DATABASE_URL=", "PRAETOR_LOG_LEVEL="),
		"PRAETOR_HOME="+filepath.Join(dir, "home"), "PRAETOR_LOG_LEVEL=warn")
	driver, dsn := "sqlite", filepath.Join(dir, "home", "praetor.db")
	if engine == "postgres" {
		driver, dsn = "pgx", testdb.Postgres(t)
		env = append(env, "PRAETOR_DATABASE_URL="+dsn)
	}
	w := &workload{t: t, http: &http.Client{}}
	var current *process
	start := func(round int) {
		t.Helper()
		p, api := launchPraetor(t, fmt.Sprintf("praetor (%s, start %d)", engine, round), env, filepath.Join(dir, fmt.Sprintf("praetor-%d.log", round)))
		if err := waitHealthy(api, p, 60*time.Second); err != nil {
			t.Fatalf("start %d: %v\n%s", round, err, tailLines(p.log(), 30))
		}
		current = p
		w.base.Store(&api.base)
	}
	start(0)
	var flow struct{ ID string }
	if err := newAPIClient(*w.base.Load()).call(t.Context(), "POST", "/flows/", map[string]any{"name": "durability"}, &flow); err != nil {
		t.Fatal(err)
	}
	w.flowID = flow.ID

	stop := make(chan struct{})
	var writers sync.WaitGroup
	for i := range 3 {
		for _, run := range []func(int, <-chan struct{}){w.writeFlowRuns, w.writeLogs, w.writeEvents} {
			writers.Add(1)
			go func() {
				defer writers.Done()
				run(i, stop)
			}()
		}
	}
	for round := 1; round <= killRounds; round++ {
		time.Sleep(roundDuration)
		current.kill()
		start(round)
	}
	time.Sleep(roundDuration / 2)
	close(stop)
	writers.Wait()
	current.kill() // the data is checked as the last crash left it

	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	w.verify(db)
}

// outcome is what a client learnt of its write.
type outcome int

const (
	unanswered outcome = iota // no answer arrived: a hang-up, or the kill
	acked                     // answered 2xx
	refused                   // answered 4xx or 5xx
)

func (o outcome) String() string { return [...]string{"unanswered", "acknowledged", "refused"}[o] }

// workload is the writers' shared state and what they were told.
type workload struct {
	t      *testing.T
	http   *http.Client
	base   atomic.Pointer[string] // the running server's /api URL
	flowID string

	mu          sync.Mutex
	flowRuns    []flowRunWrite
	transitions []transitionWrite
	logs        []logWrite
	events      []eventWrite
}

type flowRunWrite struct {
	name string
	id   string // from the answer, when acknowledged
	out  outcome
}

type transitionWrite struct {
	run, state string // the run's id; the new state's id, when acknowledged
	typ        string
	out        outcome
}

type logWrite struct {
	prefix string
	lines  int
	out    outcome
}

type eventWrite struct {
	ids     []string // the batch's event ids
	taskRun string   // the task run its task-run event reports
	out     outcome
}

// post sends body to path of the running server; a hang-up client gives up
// after a few milliseconds. It decodes a 2xx answer into out.
func (w *workload) post(path string, body any, hangUp bool, out any) outcome {
	b, err := json.Marshal(body)
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	if hangUp {
		ctx, cancel = context.WithTimeout(context.Background(), time.Duration(1+rand.IntN(30))*time.Millisecond)
	}
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "POST", *w.base.Load()+path, bytes.NewReader(b))
	if err != nil {
		panic(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := w.http.Do(req)
	if err != nil {
		if !hangUp {
			time.Sleep(20 * time.Millisecond) // the server is down: do not spin
		}
		return unanswered
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return refused
	}
	if err != nil || (out != nil && json.Unmarshal(data, out) != nil) {
		return unanswered // answered, but the answer was cut off
	}
	return acked
}

// writeFlowRuns creates flow runs, a tenth of them for a flow that does not
// exist (refused), half with an idempotency key, and moves each one it was
// told of to RUNNING and COMPLETED.
func (w *workload) writeFlowRuns(writer int, stop <-chan struct{}) {
	for seq := 0; ; seq++ {
		select {
		case <-stop:
			return
		default:
		}
		name := fmt.Sprintf("fr-%d-%d", writer, seq)
		body := map[string]any{"flow_id": w.flowID, "name": name, "state": map[string]any{"type": "PENDING"}}
		if seq%2 == 0 {
			body["idempotency_key"] = name
		}
		if seq%10 == 3 {
			body["flow_id"] = uuid.NewString()
		}
		var run struct{ ID string }
		out := w.post("/flow_runs/", body, seq%7 == 5, &run)
		w.mu.Lock()
		w.flowRuns = append(w.flowRuns, flowRunWrite{name: name, id: run.ID, out: out})
		w.mu.Unlock()
		if out != acked {
			continue
		}
		for _, typ := range []string{"RUNNING", "COMPLETED"} {
			var res struct {
				Status string
				State  struct{ ID string }
			}
			out := w.post("/flow_runs/"+run.ID+"/set_state", map[string]any{"state": map[string]any{"type": typ}}, seq%5 == 1, &res)
			if out == acked && res.Status != "ACCEPT" {
				w.t.Errorf("run %s: %s answered %s", name, typ, res.Status)
				out = refused
			}
			w.mu.Lock()
			w.transitions = append(w.transitions, transitionWrite{run: run.ID, state: res.State.ID, typ: typ, out: out})
			w.mu.Unlock()
			if out != acked {
				break
			}
		}
	}
}

// writeLogs sends log batches of 1 to 20 lines, a tenth of them with a bad
// line (refused), and every fifth a 3,000-line batch whose client hangs up.
func (w *workload) writeLogs(writer int, stop <-chan struct{}) {
	for seq := 0; ; seq++ {
		select {
		case <-stop:
			return
		default:
		}
		prefix := fmt.Sprintf("log-%d-%d-", writer, seq)
		n, hangUp := 1+rand.IntN(20), seq%5 == 4
		if hangUp {
			n = 3000
		}
		lines := make([]map[string]any, n)
		for i := range lines {
			lines[i] = map[string]any{"name": "durability", "level": 20, "message": fmt.Sprint(prefix, i), "timestamp": "2026-01-01T00:00:00Z"}
		}
		if seq%10 == 7 {
			delete(lines[n-1], "level")
		}
		out := w.post("/logs/", lines, hangUp, nil)
		w.mu.Lock()
		w.logs = append(w.logs, logWrite{prefix: prefix, lines: n, out: out})
		w.mu.Unlock()
	}
}

// writeEvents sends batches of plain events and one task-run event, a
// tenth of them with an event lacking its resource id (refused), every
// seventh by a client that hangs up.
func (w *workload) writeEvents(writer int, stop <-chan struct{}) {
	for seq := 0; ; seq++ {
		select {
		case <-stop:
			return
		default:
		}
		var batch []map[string]any
		var ids []string
		for range 1 + rand.IntN(5) {
			id := uuid.NewString()
			ids = append(ids, id)
			batch = append(batch, map[string]any{"id": id, "occurred": "2026-01-01T00:00:00Z", "event": "durability.test",
				"resource": map[string]string{"prefect.resource.id": fmt.Sprintf("durability.%d.%d", writer, seq)}})
		}
		taskRun, stateID := uuid.NewString(), uuid.NewString()
		ids = append(ids, stateID)
		batch = append(batch, map[string]any{"id": stateID, "occurred": time.Now().UTC().Format(time.RFC3339Nano), "event": "prefect.task-run.Running",
			"resource": map[string]string{"prefect.resource.id": "prefect.task-run." + taskRun, "prefect.orchestration": "client"},
			"payload": map[string]any{
				"validated_state": map[string]any{"type": "RUNNING", "name": "Running", "state_details": map[string]any{}},
				"task_run":        map[string]any{"name": "t", "task_key": "t", "dynamic_key": taskRun},
			}})
		if seq%10 == 6 {
			batch[0]["resource"] = map[string]string{"other": "x"}
		}
		out := w.post("/events", batch, seq%7 == 2, nil)
		w.mu.Lock()
		w.events = append(w.events, eventWrite{ids: ids, taskRun: taskRun, out: out})
		w.mu.Unlock()
	}
}

// verify checks what the database holds against what the writers were told.
func (w *workload) verify(db *sql.DB) {
	t := w.t
	counts := map[outcome]int{}
	runs := rowsByKey(t, db, `SELECT name, id FROM flow_runs`)
	for _, fr := range w.flowRuns {
		counts[fr.out]++
		got := runs[fr.name]
		switch {
		case fr.out == acked && (len(got) != 1 || got[0] != fr.id):
			t.Errorf("acknowledged flow run %s (%s): stored as %v", fr.name, fr.id, got)
		case fr.out == refused && len(got) != 0:
			t.Errorf("refused flow run %s: stored as %v", fr.name, got)
		case len(got) > 1:
			t.Errorf("flow run %s (%s) stored %d times", fr.name, fr.out, len(got))
		}
	}
	// Every stored run has exactly one PENDING state, its first.
	states := rowsByKey(t, db, `SELECT flow_run_id || ' ' || type, id FROM flow_run_states`)
	for _, ids := range runs {
		for _, id := range ids {
			if n := len(states[id+" PENDING"]); n != 1 {
				t.Errorf("flow run %s has %d PENDING states", id, n)
			}
		}
	}
	for _, tr := range w.transitions {
		counts[tr.out]++
		got := states[tr.run+" "+tr.typ]
		switch {
		case tr.out == acked && (len(got) != 1 || got[0] != tr.state):
			t.Errorf("acknowledged %s of run %s (state %s): stored as %v", tr.typ, tr.run, tr.state, got)
		case tr.out == refused && len(got) != 0:
			t.Errorf("refused %s of run %s: stored as %v", tr.typ, tr.run, got)
		case len(got) > 1:
			t.Errorf("%s of run %s (%s) stored %d times", tr.typ, tr.run, tr.out, len(got))
		}
	}
	messages := rowsByKey(t, db, `SELECT message, id FROM logs`)
	for _, l := range w.logs {
		counts[l.out]++
		stored := 0
		for i := range l.lines {
			switch n := len(messages[fmt.Sprint(l.prefix, i)]); {
			case n > 1:
				t.Errorf("log line %s%d (%s) stored %d times", l.prefix, i, l.out, n)
			case n == 1:
				stored++
			}
		}
		if (l.out == acked && stored != l.lines) || (l.out == refused && stored != 0) || (stored != 0 && stored != l.lines) {
			t.Errorf("%s log batch %s: %d of its %d lines stored", l.out, l.prefix, stored, l.lines)
		}
	}
	events := rowsByKey(t, db, `SELECT id, id FROM events`)
	taskRuns := rowsByKey(t, db, `SELECT id, state_id FROM task_runs`)
	for _, e := range w.events {
		counts[e.out]++
		stored := 0
		for _, id := range e.ids {
			if len(events[id]) > 0 {
				stored++
			}
		}
		stateID := e.ids[len(e.ids)-1]
		recorded := len(taskRuns[e.taskRun]) == 1 && taskRuns[e.taskRun][0] == stateID
		if (e.out == acked && stored != len(e.ids)) || (e.out == refused && stored != 0) || (stored != 0 && stored != len(e.ids)) {
			t.Errorf("%s event batch %v: %d of its %d events stored", e.out, e.ids, stored, len(e.ids))
		}
		if recorded != (stored != 0) || len(taskRuns[e.taskRun]) > 1 {
			t.Errorf("%s event batch %v: %d of its events stored, its task run %s as %v", e.out, e.ids, stored, e.taskRun, taskRuns[e.taskRun])
		}
	}
	t.Logf("%d flow runs, %d transitions, %d log batches, %d event batches: %d acknowledged, %d refused, %d unanswered",
		len(w.flowRuns), len(w.transitions), len(w.logs), len(w.events), counts[acked], counts[refused], counts[unanswered])
	for _, o := range []outcome{acked, refused, unanswered} {
		if counts[o] == 0 {
			t.Errorf("no write was %s: the workload did not test that case", o)
		}
	}
}

// rowsByKey runs a two-column query and groups the second column by the
// first.
func rowsByKey(t *testing.T, db *sql.DB, q string) map[string][]string {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var k, v sql.NullString
		if err := rows.Scan(&k, &v); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		out[k.String] = append(out[k.String], strings.ToLower(v.String))
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return out
}
