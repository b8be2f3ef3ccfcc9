// Package bench holds benchmarks and workloads, run on demand:
//
//	go test ./bench -run XXX -bench . -benchtime 20x
package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/auth"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
	"github.com/praetorhq/praetor/internal/store/sqlstore"
	"github.com/praetorhq/praetor/internal/tenancy"
	"github.com/praetorhq/praetor/internal/ui"
)

// seededRuns is how many flow runs the runs-list workload stores.
const seededRuns = 100_000

// runsFixture is a SQLite store holding seededRuns flow runs in one
// workspace, the real UI handler over it, and a signed-in session.
type runsFixture struct {
	db      *sqlstore.DB
	rec     *recordingStore
	handler http.Handler
	ws      *model.Workspace
	cookies []*http.Cookie
	states  map[model.StateType]int // runs seeded per state type
}

var (
	fixtureOnce sync.Once
	fixture     *runsFixture
	fixtureErr  error
	fixtureDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if fixture != nil {
		fixture.db.Close()
	}
	if fixtureDir != "" {
		os.RemoveAll(fixtureDir)
	}
	os.Exit(code)
}

// runs returns the fixture, seeding it on first use: once per process, in
// a temporary directory removed when the process ends.
func runs(tb testing.TB) *runsFixture {
	tb.Helper()
	fixtureOnce.Do(func() {
		start := time.Now()
		fixture, fixtureErr = seedRuns(context.Background())
		if fixtureErr == nil {
			tb.Logf("seeded %d flow runs into SQLite in %v", seededRuns, time.Since(start).Round(time.Millisecond))
		}
	})
	if fixtureErr != nil {
		tb.Fatalf("seed: %v", fixtureErr)
	}
	return fixture
}

func seedRuns(ctx context.Context) (*runsFixture, error) {
	dir, err := os.MkdirTemp("", "praetor-bench-")
	if err != nil {
		return nil, err
	}
	fixtureDir = dir
	log := slog.New(slog.DiscardHandler)
	db, err := sqlstore.Open(ctx, filepath.Join(dir, "praetor.db"), log)
	if err != nil {
		return nil, err
	}
	f := &runsFixture{db: db, states: map[model.StateType]int{}}
	user, acct, err := tenancy.RegisterUser(ctx, db, tenancy.SignUp{Email: "bench@example.test", Password: "bench password 123", Handle: "bench"})
	if err != nil {
		return nil, err
	}
	if f.ws, err = tenancy.CreateWorkspace(ctx, db, user.ID, acct.ID, tenancy.WorkspaceInput{Name: "Bench"}); err != nil {
		return nil, err
	}
	var flows []uuid.UUID
	for i := 0; i < 20; i++ {
		fl := &model.Flow{Name: fmt.Sprintf("flow-%02d", i)}
		if _, err := db.UpsertFlow(ctx, f.ws.ID, fl); err != nil {
			return nil, err
		}
		flows = append(flows, fl.ID)
	}
	// A deterministic mix: about half completed, the rest spread over the
	// other types, expected starts over the past 30 days.
	mix := []model.StateType{model.Completed, model.Completed, model.Completed, model.Completed, model.Completed,
		model.Failed, model.Scheduled, model.Running, model.Crashed, model.Cancelled}
	now := time.Now().UTC()
	batch := make([]*model.FlowRun, 0, seededRuns)
	for i := 0; i < seededRuns; i++ {
		typ := mix[(i*7)%len(mix)]
		at := model.At(now.Add(-time.Duration(i) * 26 * time.Second))
		r := &model.FlowRun{FlowID: flows[i%len(flows)], Name: fmt.Sprintf("run-%06d", i), Tags: []string{"bench"}}
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
		batch = append(batch, r)
	}
	if err := db.BulkInsertFlowRuns(ctx, f.ws.ID, batch); err != nil {
		return nil, err
	}
	f.rec = &recordingStore{Store: db}
	pages, err := ui.New(ui.Config{Store: f.rec, Authn: auth.NewAuthenticator(db, log), SignUp: true, Logger: log})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	pages.Register(mux)
	f.handler = mux
	if f.cookies, err = signIn(mux, "bench@example.test", "bench password 123"); err != nil {
		return nil, err
	}
	return f, nil
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

// BenchmarkRunsPageCompleted renders the first page of completed runs among
// 100,000 through the real UI handler, signed in.
func BenchmarkRunsPageCompleted(b *testing.B) {
	benchPage(b, runs(b).completedPage())
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

// benchPage renders path through the UI handler b.N times, signed in.
func benchPage(b *testing.B, path string) {
	f := runs(b)
	w := httptest.NewRecorder()
	f.get(path, w)
	if w.Code != http.StatusOK {
		b.Fatalf("GET %s: %d", path, w.Code)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rw := discard{header: http.Header{}}
		f.get(path, &rw)
		if rw.status != http.StatusOK {
			b.Fatalf("GET %s: %d", path, rw.status)
		}
	}
}

// The other workspace pages over the same 100,000 runs.
func BenchmarkDashboard24h(b *testing.B) {
	benchPage(b, ui.WorkspaceURL(runs(b).ws)+"/dashboard")
}

func BenchmarkDashboard7d(b *testing.B) {
	benchPage(b, ui.WorkspaceURL(runs(b).ws)+"/dashboard?window=7d")
}

func BenchmarkFlowsList(b *testing.B) {
	benchPage(b, ui.WorkspaceURL(runs(b).ws)+"/flows")
}

func BenchmarkRunsPageOfOneFlow(b *testing.B) {
	f := runs(b)
	flows, err := f.db.ListFlows(context.Background(), f.ws.ID, store.RunQuery{Limit: 1})
	if err != nil || len(flows) == 0 {
		b.Fatalf("flows: %v", err)
	}
	benchPage(b, ui.WorkspaceURL(f.ws)+"/flows/flow/"+flows[0].ID.String())
}

func BenchmarkFlowRunPage(b *testing.B) {
	f := runs(b)
	list, err := f.db.ListFlowRuns(context.Background(), f.ws.ID, store.RunQuery{Limit: 1, Sort: "EXPECTED_START_TIME_DESC"})
	if err != nil || len(list) == 0 {
		b.Fatalf("runs: %v", err)
	}
	benchPage(b, ui.WorkspaceURL(f.ws)+"/runs/flow-run/"+list[0].ID.String())
}
