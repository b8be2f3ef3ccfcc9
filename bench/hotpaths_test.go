package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/api"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store/sqlstore"
	"github.com/praetorhq/praetor/internal/tenancy"
)

// BenchmarkHotPaths measures the API's hot paths one request at a time,
// in process (the handler's ServeHTTP, no network), on each engine: the
// read of one flow run (anonymously, and with an API key in a workspace of
// its own: the key's lookup and the caller's role), a forced set_state, a batch of 100 log lines, a
// batch of 100 events (as POST /events stores them) and the filter of the
// newest 200 of 1,000 runs. Names are benchstat's; profile one with
//
//	go test ./bench -run '^$' -bench 'HotPaths/sqlite/read' -benchtime 20000x -cpuprofile cpu.out -memprofile mem.out
//
// CI runs each once (-benchtime=1x) so they keep working; nothing asserts a
// time.
func BenchmarkHotPaths(b *testing.B) {
	for _, engine := range []string{"sqlite", "postgres"} {
		b.Run(engine, func(b *testing.B) {
			h := newHotPaths(b, engine)
			b.Run("read-flow-run", func(b *testing.B) {
				h.loop(b, func(int) (string, string, []byte) { return "GET", "/api/flow_runs/" + h.run, nil }, http.StatusOK)
			})
			b.Run("read-flow-run-with-key", func(b *testing.B) {
				h.loop(b, func(int) (string, string, []byte) { return "GET", h.keyed.root + "/flow_runs/" + h.keyed.run, nil }, http.StatusOK)
			})
			bodies := [2][]byte{[]byte(`{"state": {"type": "RUNNING"}, "force": true}`), []byte(`{"state": {"type": "COMPLETED"}, "force": true}`)}
			b.Run("set-state", func(b *testing.B) {
				h.loop(b, func(i int) (string, string, []byte) {
					return "POST", "/api/flow_runs/" + h.run + "/set_state", bodies[i%2]
				}, http.StatusCreated)
			})
			b.Run("log-batch-100", func(b *testing.B) {
				h.loop(b, func(i int) (string, string, []byte) { return "POST", "/api/logs/", h.logs(i) }, http.StatusCreated)
			})
			b.Run("event-batch-100", func(b *testing.B) {
				h.loop(b, func(i int) (string, string, []byte) { return "POST", "/api/events", h.events(i) }, http.StatusNoContent)
			})
			filter := []byte(fmt.Sprintf(`{"flows": {"id": {"any_": ["%s"]}}, "sort": "EXPECTED_START_TIME_DESC", "limit": 200}`, h.flow))
			b.Run("filter-200-of-1000", func(b *testing.B) {
				h.loop(b, func(int) (string, string, []byte) { return "POST", "/api/flow_runs/filter", filter }, http.StatusOK)
			})
		})
	}
}

// hotPaths is the API over an empty store of one engine, with one flow of
// 1,000 runs.
type hotPaths struct {
	handler http.Handler
	flow    string
	run     string // the run read and transitioned
	keyed   struct {
		root, key, run string // a workspace's API root, its owner's key, a run in it
	}
}

// newAPI is the API, anonymous, over an empty store of one engine.
func newAPI(b *testing.B, engine string) (*sqlstore.DB, model.Workspace, *http.ServeMux) {
	db := openEmpty(b, engine)
	ws, err := db.DefaultWorkspace(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	a := api.New(api.Wire(db, api.Config{Default: ws, Anonymous: true, Logger: slog.New(slog.DiscardHandler)}))
	mux := http.NewServeMux()
	a.Register(mux)
	return db, ws, mux
}

func newHotPaths(b *testing.B, engine string) *hotPaths {
	ctx := b.Context()
	db, ws, mux := newAPI(b, engine)
	flow := &model.Flow{Name: "hot"}
	if _, err := db.UpsertFlow(ctx, ws.ID, flow); err != nil {
		b.Fatal(err)
	}
	h := &hotPaths{handler: mux, flow: flow.ID.String()}
	for i := range 1000 {
		run := &model.FlowRun{ID: uuid.Must(uuid.NewV7()), FlowID: flow.ID, Name: fmt.Sprint("run-", i)}
		if _, err := db.CreateFlowRun(ctx, ws.ID, run, model.StateCreate{Type: model.Pending}); err != nil {
			b.Fatal(err)
		}
		h.run = run.ID.String()
	}
	h.keyed.root, h.keyed.key, h.keyed.run = keyedRun(b, db)
	return h
}

// keyedRun makes a user with a workspace of their own and an API key, and
// a run in that workspace.
func keyedRun(b *testing.B, db *sqlstore.DB) (root, key, run string) {
	ctx := b.Context()
	u, acct, err := tenancy.RegisterUser(ctx, db, tenancy.SignUp{Email: "hot@example.com", Password: "correct horse battery"})
	if err != nil {
		b.Fatal(err)
	}
	ws, err := tenancy.CreateWorkspace(ctx, db, u.ID, acct.ID, tenancy.WorkspaceInput{Name: "hot"})
	if err != nil {
		b.Fatal(err)
	}
	k, err := tenancy.CreateAPIKey(ctx, db, u.ID, "hot", nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	flow := &model.Flow{Name: "keyed"}
	if _, err := db.UpsertFlow(ctx, ws.ID, flow); err != nil {
		b.Fatal(err)
	}
	r := &model.FlowRun{ID: uuid.Must(uuid.NewV7()), FlowID: flow.ID, Name: "keyed"}
	if _, err := db.CreateFlowRun(ctx, ws.ID, r, model.StateCreate{Type: model.Pending}); err != nil {
		b.Fatal(err)
	}
	return "/api/accounts/" + acct.ID.String() + "/workspaces/" + ws.ID.String(), k.Key, r.ID.String()
}

// loop sends the request next builds b.N times and fails on any other
// status than want. Besides the wall time it reports the process's CPU
// time per request (cpu-ns/op), which other processes on a shared machine
// disturb much less, and which counts the SQLite writer's goroutine.
func (h *hotPaths) loop(b *testing.B, next func(i int) (method, path string, body []byte), want int) {
	h.loopChecked(b, next, want, nil)
}

// loopChecked is loop, with check (when not nil) judging each answer's body.
func (h *hotPaths) loopChecked(b *testing.B, next func(i int) (method, path string, body []byte), want int, check func([]byte) error) {
	b.ReportAllocs()
	i := 0
	cpu := processCPU(b)
	for b.Loop() {
		method, path, body := next(i)
		i++
		if err := h.serve(method, path, body, want, check); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(processCPU(b)-cpu)/float64(b.N), "cpu-ns/op")
}

// serve sends one request and judges its answer: want's status, and check
// (when not nil) on its body.
func (h *hotPaths) serve(method, path string, body []byte, want int, check func([]byte) error) error {
	req := httptest.NewRequest(method, "http://127.0.0.1:4200"+path, bytes.NewReader(body))
	req.RemoteAddr = "127.0.0.1:40000"
	if strings.HasPrefix(path, "/api/accounts/") {
		req.Header.Set("Authorization", "Bearer "+h.keyed.key)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	h.handler.ServeHTTP(rec, req)
	if rec.Code != want {
		return fmt.Errorf("%s %s: %d %s", method, path, rec.Code, rec.Body.Bytes())
	}
	if check != nil {
		if err := check(rec.Body.Bytes()); err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return nil
}

// processCPU is the CPU time, user and system, the process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (h *hotPaths) logs(i int) []byte {
	var buf bytes.Buffer
	buf.WriteByte('[')
	now := time.Now().UTC()
	for j := range 100 {
		if j > 0 {
			buf.WriteByte(',')
		}
		fmt.Fprintf(&buf, `{"name": "hot", "level": 20, "message": "line %d", "timestamp": "%s", "flow_run_id": "%s"}`,
			i*100+j, now.Add(time.Duration(j)*time.Microsecond).Format(time.RFC3339Nano), h.run)
	}
	buf.WriteByte(']')
	return buf.Bytes()
}

func (h *hotPaths) events(i int) []byte {
	var buf bytes.Buffer
	buf.WriteByte('[')
	now := time.Now().UTC().Format(time.RFC3339Nano)
	for j := range 100 {
		if j > 0 {
			buf.WriteByte(',')
		}
		fmt.Fprintf(&buf, `{"id": "%s", "occurred": "%s", "event": "hot.event", "resource": {"prefect.resource.id": "hot.resource.%d"}, "payload": {"i": %d}}`,
			uuid.New(), now, j%10, i*100+j)
	}
	buf.WriteByte(']')
	return buf.Bytes()
}

// BenchmarkWorkerPoll measures a worker's poll of a pool, in process and
// one at a time, on each engine: POST /work_pools/{name}/get_scheduled_flow_runs
// with the body Prefect's worker sends (its queue, scheduled_before 10 s
// ahead) against a pool of 50 deployments × 20 scheduled runs, one of
// each due, so every answer holds 50 runs. The polls follow each other
// closely, as many workers' do: only the first one writes last_polled.
func BenchmarkWorkerPoll(b *testing.B) {
	for _, engine := range []string{"sqlite", "postgres"} {
		b.Run(engine, func(b *testing.B) {
			h, want := newPolledPool(b, engine, 50, 20)
			body := []byte(fmt.Sprintf(`{"work_queue_names": ["default"], "scheduled_before": "%s"}`,
				time.Now().UTC().Add(10*time.Second).Format("2006-01-02 15:04:05.000000-07:00")))
			answer := func(answer []byte) error {
				var runs []json.RawMessage
				if err := json.Unmarshal(answer, &runs); err != nil || len(runs) != want {
					return fmt.Errorf("the poll answered %d runs (%v), want %d", len(runs), err, want)
				}
				return nil
			}
			const path = "/api/work_pools/bench/get_scheduled_flow_runs"
			b.Run("poll-50-of-1000", func(b *testing.B) {
				h.loopChecked(b, func(int) (string, string, []byte) { return "POST", path, body }, http.StatusOK, answer)
			})
			// 16 at once, as bench/run's connections: what polls share
			// (before, the single writer) shows in the time per poll.
			b.Run("poll-50-of-1000-16-at-once", func(b *testing.B) {
				b.SetParallelism((16 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
				b.ReportAllocs()
				cpu := processCPU(b)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := h.serve("POST", path, body, http.StatusOK, answer); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.ReportMetric(float64(processCPU(b)-cpu)/float64(b.N), "cpu-ns/op")
			})
		})
	}
}

// newPolledPool is the API over an empty store of one engine with a
// process pool "bench" of deployments × runs scheduled runs in its
// default queue, an hour apart from 30 s ago (the first of each due, the rest not, however long the seeding takes); it
// returns how many are due.
func newPolledPool(b *testing.B, engine string, deployments, runs int) (*hotPaths, int) {
	ctx := b.Context()
	db, ws, mux := newAPI(b, engine)
	if err := db.CreateWorkPool(ctx, ws.ID, &model.WorkPool{Name: "bench", Type: "process"}); err != nil {
		b.Fatal(err)
	}
	flow := &model.Flow{Name: "polled"}
	if _, err := db.UpsertFlow(ctx, ws.ID, flow); err != nil {
		b.Fatal(err)
	}
	start := time.Now().UTC().Add(-30 * time.Second)
	for i := range deployments {
		d := &model.Deployment{FlowID: flow.ID, Name: fmt.Sprint("d-", i), WorkPoolName: ptrTo("bench")}
		if _, err := db.UpsertDeployment(ctx, ws.ID, d, nil); err != nil {
			b.Fatal(err)
		}
		for j := range runs {
			at := model.At(start.Add(time.Duration(j) * time.Hour))
			run := &model.FlowRun{ID: uuid.Must(uuid.NewV7()), FlowID: flow.ID, Name: fmt.Sprintf("run-%d-%d", i, j),
				DeploymentID: &d.ID, WorkPoolName: ptrTo("bench"), WorkQueueName: ptrTo("default")}
			if _, err := db.CreateFlowRun(ctx, ws.ID, run, model.StateCreate{Type: model.Scheduled,
				StateDetails: &model.StateDetails{ScheduledTime: &at}}); err != nil {
				b.Fatal(err)
			}
		}
	}
	return &hotPaths{handler: mux, flow: flow.ID.String()}, deployments
}

func ptrTo[T any](v T) *T { return &v }
