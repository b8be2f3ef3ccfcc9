// Package bench holds benchmarks and workloads, run on demand:
//
//	go test ./bench -run XXX -bench . -benchtime 20x
//
// The page benchmarks' size is set by flags (-bench-runs, -bench-task-runs,
// -bench-cache): see BenchmarkPages.
package bench

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/praetorhq/praetor/internal/auth"
	"github.com/praetorhq/praetor/internal/clock"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
	"github.com/praetorhq/praetor/internal/store/sqlstore"
	"github.com/praetorhq/praetor/internal/tenancy"
	"github.com/praetorhq/praetor/internal/testdb"
	"github.com/praetorhq/praetor/internal/testenv"
	"github.com/praetorhq/praetor/internal/ui"
)

// The workload's size: flags, so that the page benchmarks can run at the
// sizes a long-lived server reaches (see docs/benchmarks.md), while CI's
// default run stays small.
var (
	benchRuns     = flag.Int("bench-runs", 100_000, "flow runs the page benchmarks' workspace holds")
	benchTaskRuns = flag.Int("bench-task-runs", 0, "task runs the page benchmarks' workspace holds, spread over its flow runs")
	benchCache    = flag.String("bench-cache", "", "directory that keeps the seeded SQLite database (and names a kept PostgreSQL one) between runs; empty: seed afresh, remove at exit")
)

// runSpacing separates the seeded runs' expected starts: 100,000 runs span
// 30 days, 1,000,000 about 300.
const runSpacing = 26 * time.Second

// runsFixture is a store of one engine holding the seeded flow and task
// runs in one workspace, the real UI handler over it, and a signed-in
// session.
type runsFixture struct {
	engine  string
	db      *sqlstore.DB
	rec     *recordingStore
	handler http.Handler
	ws      *model.Workspace
	cookies []*http.Cookie
	states  map[model.StateType]int // runs seeded per state type
}

type fixtureOnce struct {
	once sync.Once
	f    *runsFixture
	err  error
}

var (
	fixtures   = map[string]*fixtureOnce{"sqlite": {}, "postgres": {}}
	cleanups   []func()
	cleanupsMu sync.Mutex
)

func atExit(fn func()) {
	cleanupsMu.Lock()
	cleanups = append(cleanups, fn)
	cleanupsMu.Unlock()
}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
	os.Exit(code)
}

// runs returns the SQLite fixture.
func runs(tb testing.TB) *runsFixture { return fixtureOf(tb, "sqlite") }

// fixtureOf returns the engine's fixture, seeding it on first use: once per
// process, removed when the process ends unless -bench-cache keeps it. A
// PostgreSQL fixture needs PRAETOR_TEST_POSTGRES_URL.
func fixtureOf(tb testing.TB, engine string) *runsFixture {
	tb.Helper()
	base := os.Getenv(testdb.EnvPostgres)
	if engine == "postgres" && base == "" {
		testenv.Missing(tb, testdb.EnvPostgres+" is not set: no PostgreSQL to benchmark")
	}
	fo := fixtures[engine]
	fo.once.Do(func() {
		start := time.Now()
		var seeded bool
		fo.f, seeded, fo.err = openFixture(context.Background(), engine, base)
		if fo.err == nil {
			verb := "reused"
			if seeded {
				verb = "seeded"
			}
			tb.Logf("%s %d flow runs and %d task runs on %s in %v", verb, *benchRuns, *benchTaskRuns, engine, time.Since(start).Round(time.Millisecond))
		}
	})
	if fo.err != nil {
		tb.Fatalf("seed %s: %v", engine, fo.err)
	}
	return fo.f
}

// openFixture opens the engine's database, seeding it unless -bench-cache
// holds a seeded one, and reports whether it seeded.
func openFixture(ctx context.Context, engine, pgBase string) (*runsFixture, bool, error) {
	name := fmt.Sprintf("praetor_bench_%d_%d", *benchRuns, *benchTaskRuns)
	dir := *benchCache
	if dir == "" {
		d, err := os.MkdirTemp("", "praetor-bench-")
		if err != nil {
			return nil, false, err
		}
		atExit(func() { os.RemoveAll(d) })
		dir = d
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, false, err
	}
	// The marker says a seed finished: a cached database without it is
	// seeded again.
	marker := filepath.Join(dir, engine+"-"+name+".seeded")
	_, err := os.Stat(marker)
	cached := *benchCache != "" && err == nil
	dsn := filepath.Join(dir, name+".db")
	if engine == "postgres" {
		u, err := url.Parse(pgBase)
		if err != nil {
			return nil, false, err
		}
		if !cached {
			suffix := ""
			if *benchCache == "" {
				// Not kept: a name of its own, so runs at once do not meet.
				suffix = fmt.Sprintf("_%d", os.Getpid())
			}
			name += suffix
			if err := pgAdmin(ctx, pgBase, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)", "CREATE DATABASE "+name); err != nil {
				return nil, false, err
			}
			if *benchCache == "" {
				atExit(func() { _ = pgAdmin(context.Background(), pgBase, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
			}
		}
		u.Path = "/" + name
		dsn = u.String()
	} else if !cached {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			os.Remove(dsn + suffix)
		}
	}
	log := slog.New(slog.DiscardHandler)
	// The newest run is seeded at the anchor; the pages' clock stays there,
	// so a cached database shows the same windows whenever it is reused.
	anchor := time.Now().UTC().Truncate(time.Second)
	if cached {
		b, err := os.ReadFile(marker)
		if err != nil {
			return nil, false, err
		}
		if anchor, err = time.Parse(time.RFC3339, strings.TrimSpace(string(b))); err != nil {
			return nil, false, fmt.Errorf("read %s: %w", marker, err)
		}
	}
	clk := clock.NewFake(anchor.Add(time.Minute))
	db, err := sqlstore.Open(ctx, dsn, log, sqlstore.Clock(clk))
	if err != nil {
		return nil, false, err
	}
	atExit(func() { db.Close() })
	f := &runsFixture{engine: engine, db: db, states: map[model.StateType]int{}}
	if cached {
		if err := f.reopen(ctx); err != nil {
			return nil, false, err
		}
	} else {
		if err := f.seed(ctx, anchor); err != nil {
			return nil, false, err
		}
		if *benchCache != "" {
			if err := os.WriteFile(marker, []byte(anchor.Format(time.RFC3339)+"\n"), 0o644); err != nil {
				return nil, false, err
			}
		}
	}
	f.rec = &recordingStore{Store: db}
	pages, err := ui.New(ui.Config{Store: f.rec, Authn: auth.NewAuthenticator(db, log), SignUp: true, Logger: log, Clock: clk})
	if err != nil {
		return nil, false, err
	}
	mux := http.NewServeMux()
	pages.Register(mux)
	f.handler = mux
	if f.cookies, err = signIn(mux, benchEmail, benchPassword); err != nil {
		return nil, false, err
	}
	return f, !cached, nil
}

const (
	benchEmail    = "bench@example.test"
	benchPassword = "bench password 123"
)

// pgAdmin runs statements on the server's maintenance database.
func pgAdmin(ctx context.Context, base string, stmts ...string) error {
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

// runMix is the seeded runs' deterministic mix of state types: about half
// completed, the rest spread over the other types.
var runMix = []model.StateType{model.Completed, model.Completed, model.Completed, model.Completed, model.Completed,
	model.Failed, model.Scheduled, model.Running, model.Crashed, model.Cancelled}

func runType(i int) model.StateType { return runMix[(i*7)%len(runMix)] }

// seedChunk bounds the runs one bulk insert (one transaction) holds.
const seedChunk = 20_000

// seed stores the workload: 20 flows, -bench-runs flow runs whose expected
// starts go back from anchor every runSpacing, and -bench-task-runs task
// runs spread evenly over them, each in its flow run's state, seconds after
// its start.
func (f *runsFixture) seed(ctx context.Context, anchor time.Time) error {
	db := f.db
	user, acct, err := tenancy.RegisterUser(ctx, db, tenancy.SignUp{Email: benchEmail, Password: benchPassword, Handle: "bench"})
	if err != nil {
		return err
	}
	if f.ws, err = tenancy.CreateWorkspace(ctx, db, user.ID, acct.ID, tenancy.WorkspaceInput{Name: "Bench"}); err != nil {
		return err
	}
	var flows []uuid.UUID
	for i := 0; i < 20; i++ {
		fl := &model.Flow{Name: fmt.Sprintf("flow-%02d", i)}
		if _, err := db.UpsertFlow(ctx, f.ws.ID, fl); err != nil {
			return err
		}
		flows = append(flows, fl.ID)
	}
	nRuns, nTasks := *benchRuns, *benchTaskRuns
	flowRuns := make([]*model.FlowRun, 0, seedChunk)
	var taskRuns []*model.TaskRun
	tasksBefore := 0 // task runs of the runs before this chunk
	for start := 0; start < nRuns; start += seedChunk {
		flowRuns = flowRuns[:0]
		taskRuns = taskRuns[:0]
		for i := start; i < min(start+seedChunk, nRuns); i++ {
			typ := runType(i)
			at := model.At(anchor.Add(-time.Duration(i) * runSpacing))
			r := &model.FlowRun{ID: uuid.Must(uuid.NewV7()), FlowID: flows[i%len(flows)], Name: fmt.Sprintf("run-%07d", i), Tags: []string{"bench"}}
			r.ExpectedStartTime = &at
			if typ != model.Scheduled {
				r.StartTime = &at
			}
			if typ.Terminal() {
				end := model.At(at.Add(3 * time.Second))
				r.EndTime, r.TotalRunTime = &end, 3
			}
			r.State = &model.State{Type: typ, Timestamp: at}
			f.states[typ]++
			flowRuns = append(flowRuns, r)
			// Task runs i*nTasks/nRuns up to (i+1)*nTasks/nRuns belong to run i.
			upTo := (i + 1) * nTasks / nRuns
			for j := 0; tasksBefore < upTo; j, tasksBefore = j+1, tasksBefore+1 {
				tat := model.At(at.Add(time.Duration(j) * time.Second))
				tr := &model.TaskRun{FlowRunID: &r.ID, Name: fmt.Sprintf("task-%d", j), TaskKey: fmt.Sprintf("task-%d", j), DynamicKey: "0"}
				tr.ExpectedStartTime = &tat
				if typ != model.Scheduled {
					tr.StartTime = &tat
				}
				tr.State = &model.State{Type: typ, Timestamp: tat}
				taskRuns = append(taskRuns, tr)
			}
		}
		if err := db.BulkInsertFlowRuns(ctx, f.ws.ID, flowRuns); err != nil {
			return err
		}
		for ts := 0; ts < len(taskRuns); ts += seedChunk {
			if err := db.BulkInsertTaskRuns(ctx, f.ws.ID, taskRuns[ts:min(ts+seedChunk, len(taskRuns))]); err != nil {
				return err
			}
		}
	}
	return nil
}

// reopen finds the workspace of a cached fixture and recounts its seed.
func (f *runsFixture) reopen(ctx context.Context) error {
	user, _, err := f.db.GetUserByEmail(ctx, benchEmail)
	if err != nil {
		return err
	}
	list, err := f.db.ListWorkspaces(ctx, user.ID)
	if err != nil || len(list) == 0 {
		return fmt.Errorf("the cached database has no bench workspace: %v", err)
	}
	for _, w := range list {
		if w.Workspace.Name == "Bench" {
			ws := w.Workspace
			f.ws = &ws
		}
	}
	if f.ws == nil {
		return fmt.Errorf("the cached database has no bench workspace")
	}
	for i := 0; i < *benchRuns; i++ {
		f.states[runType(i)]++
	}
	return nil
}

// signIn signs in through the sign-in form and returns the browser's
// cookies (session and CSRF).
func signIn(h http.Handler, email, password string) ([]*http.Cookie, error) {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/signin", nil))
	cookies := w.Result().Cookies()
	var csrf string
	for _, c := range cookies {
		if c.Name == "praetor_csrf" {
			csrf = c.Value
		}
	}
	form := url.Values{"email": {email}, "password": {password}, "csrf_token": {csrf}}
	r := httptest.NewRequest("POST", "/signin", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.RemoteAddr = "127.0.0.1:1234"
	for _, c := range cookies {
		r.AddCookie(c)
	}
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusSeeOther {
		return nil, fmt.Errorf("sign in: status %d: %s", w.Code, w.Body)
	}
	return append(cookies, w.Result().Cookies()...), nil
}

// get renders a page through the UI handler, signed in.
func (f *runsFixture) get(path string, w http.ResponseWriter) {
	r := httptest.NewRequest("GET", path, nil)
	for _, c := range f.cookies {
		r.AddCookie(c)
	}
	f.handler.ServeHTTP(w, r)
}

// completedPage is the first page of completed runs.
func (f *runsFixture) completedPage() string {
	return ui.WorkspaceURL(f.ws) + "/runs?state=COMPLETED"
}

// recordingStore records the flow-run queries the pages make.
type recordingStore struct {
	store.Store
	mu     sync.Mutex
	lists  []store.RunQuery
	counts []store.RunQuery
}

func (s *recordingStore) ListFlowRuns(ctx context.Context, ws uuid.UUID, q store.RunQuery) ([]*model.FlowRun, error) {
	s.mu.Lock()
	s.lists = append(s.lists, q)
	s.mu.Unlock()
	return s.Store.ListFlowRuns(ctx, ws, q)
}

func (s *recordingStore) CountFlowRuns(ctx context.Context, ws uuid.UUID, q store.RunQuery) (int, error) {
	s.mu.Lock()
	s.counts = append(s.counts, q)
	s.mu.Unlock()
	return s.Store.CountFlowRuns(ctx, ws, q)
}

func (s *recordingStore) CountFlowRunsUpTo(ctx context.Context, ws uuid.UUID, q store.RunQuery, limit int) (int, bool, error) {
	s.mu.Lock()
	s.counts = append(s.counts, q)
	s.mu.Unlock()
	return s.Store.CountFlowRunsUpTo(ctx, ws, q, limit)
}

func (s *recordingStore) reset() {
	s.mu.Lock()
	s.lists, s.counts = nil, nil
	s.mu.Unlock()
}

// The first page of completed runs, among 100,000, shows 25 rows from one
// LIMITed query that reads the (workspace_id, state_type,
// expected_start_time) index in order, plus one count.
func TestRunsPageAt100kRuns(t *testing.T) {
	f := runs(t)
	f.rec.reset()
	w := httptest.NewRecorder()
	f.get(f.completedPage(), w)
	if w.Code != http.StatusOK {
		t.Fatalf("GET %s: %d\n%s", f.completedPage(), w.Code, w.Body)
	}
	body := w.Body.String()
	if n := strings.Count(body, "<tr data-run-id="); n != 25 {
		t.Errorf("the page shows %d runs, want 25", n)
	}
	if n := strings.Count(body, `data-state="COMPLETED">Completed</span>`); n != 25 {
		t.Errorf("%d of the rows are completed runs, want 25", n)
	}
	want := fmt.Sprintf("Runs 1 to 25 of %d", f.states[model.Completed])
	if !strings.Contains(body, want) {
		t.Errorf("the page does not read %q", want)
	}
	if len(f.rec.lists) != 1 || len(f.rec.counts) != 1 {
		t.Fatalf("the page ran %d list and %d count queries of flow runs, want 1 and 1", len(f.rec.lists), len(f.rec.counts))
	}
	q := f.rec.lists[0]
	if q.Limit != 25 || q.Offset != 0 {
		t.Errorf("the list query asks for limit %d offset %d, want 25 and 0", q.Limit, q.Offset)
	}
	query, plan, err := f.db.ExplainFlowRuns(t.Context(), f.ws.ID, q)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(query, " LIMIT 25 OFFSET 0") {
		t.Errorf("the SQL is not LIMITed: %s", query)
	}
	p := strings.Join(plan, "\n")
	t.Logf("plan:\n%s", p)
	if !strings.Contains(p, "SEARCH fr USING INDEX flow_runs_ws_state_expected (workspace_id=? AND state_type=?)") {
		t.Errorf("the query does not search the state index")
	}
	if strings.Contains(p, "USE TEMP B-TREE FOR ORDER BY") || strings.Contains(p, "SCAN fr") {
		t.Errorf("the query scans or sorts every completed run instead of reading the index in order")
	}
}

// discard is a ResponseWriter that keeps only the status.
type discard struct {
	header http.Header
	status int
}

func (d *discard) Header() http.Header { return d.header }
func (d *discard) Write(p []byte) (int, error) {
	if d.status == 0 {
		d.status = http.StatusOK
	}
	return io.Discard.Write(p)
}
func (d *discard) WriteHeader(s int) { d.status = s }

// benchPage renders path through f's UI handler b.N times, signed in, and
// reports the median and 95th percentile of one render.
func benchPage(b *testing.B, f *runsFixture, path string) {
	w := httptest.NewRecorder()
	f.get(path, w)
	if w.Code != http.StatusOK {
		b.Fatalf("GET %s: %d", path, w.Code)
	}
	took := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rw := discard{header: http.Header{}}
		t0 := time.Now()
		f.get(path, &rw)
		took = append(took, time.Since(t0))
		if rw.status != http.StatusOK {
			b.Fatalf("GET %s: %d", path, rw.status)
		}
	}
	b.StopTimer()
	slices.Sort(took)
	pct := func(p int) float64 {
		return float64(took[min(len(took)-1, (len(took)*p+99)/100-1)]) / float64(time.Millisecond)
	}
	b.ReportMetric(pct(50), "p50-ms")
	b.ReportMetric(pct(95), "p95-ms")
}

// BenchmarkPages renders each aggregate workspace page, and one run's page,
// over the seeded runs on each engine:
//
//	go test ./bench -run XXX -bench Pages -benchtime 50x
//	go test ./bench -run XXX -bench Pages -benchtime 50x -timeout 2h \
//		-bench-runs 1000000 -bench-task-runs 10000000 -bench-cache /tmp/praetor-perf-cache
//
// The numbers measured are in docs/benchmarks.md.
func BenchmarkPages(b *testing.B) {
	pages := []struct {
		name string
		path func(b *testing.B, f *runsFixture) string
	}{
		{"dashboard-24h", func(b *testing.B, f *runsFixture) string { return f.base() + "/dashboard" }},
		{"dashboard-7d", func(b *testing.B, f *runsFixture) string { return f.base() + "/dashboard?window=7d" }},
		{"flows", func(b *testing.B, f *runsFixture) string { return f.base() + "/flows" }},
		{"runs-all", func(b *testing.B, f *runsFixture) string { return f.base() + "/runs" }},
		{"runs-one-flow", func(b *testing.B, f *runsFixture) string { return f.base() + "/runs?flow=" + f.firstFlow(b).String() }},
		{"flow-page", func(b *testing.B, f *runsFixture) string { return f.base() + "/flows/flow/" + f.firstFlow(b).String() }},
		{"runs-completed", func(b *testing.B, f *runsFixture) string { return f.completedPage() }},
		{"flow-run", func(b *testing.B, f *runsFixture) string {
			return f.base() + "/runs/flow-run/" + f.newestRun(b).String()
		}},
	}
	for _, engine := range []string{"sqlite", "postgres"} {
		b.Run(engine, func(b *testing.B) {
			f := fixtureOf(b, engine)
			for _, p := range pages {
				b.Run(p.name, func(b *testing.B) { benchPage(b, f, p.path(b, f)) })
			}
		})
	}
}

func (f *runsFixture) base() string { return ui.WorkspaceURL(f.ws) }

// firstFlow is the first flow by name.
func (f *runsFixture) firstFlow(b *testing.B) uuid.UUID {
	flows, err := f.db.ListFlows(context.Background(), f.ws.ID, store.RunQuery{Sort: "NAME_ASC", Limit: 1})
	if err != nil || len(flows) == 0 {
		b.Fatalf("flows: %v", err)
	}
	return flows[0].ID
}

// newestRun is the run with the latest expected start.
func (f *runsFixture) newestRun(b *testing.B) uuid.UUID {
	list, err := f.db.ListFlowRuns(context.Background(), f.ws.ID, store.RunQuery{Limit: 1, Sort: "EXPECTED_START_TIME_DESC"})
	if err != nil || len(list) == 0 {
		b.Fatalf("runs: %v", err)
	}
	return list[0].ID
}
