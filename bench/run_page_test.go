package bench

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/auth"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store/sqlstore"
	"github.com/praetorhq/praetor/internal/tenancy"
	"github.com/praetorhq/praetor/internal/ui"
)

// bigRunTasks is how many task runs the big run of the run-page benchmark
// has: a mapped task of most of them, a few single tasks, each with a
// full state history, plus as many log lines.
const bigRunTasks = 1000

// bigRun is a SQLite store holding one flow run with bigRunTasks task
// runs, the UI over it, a signed-in session and the run page's path.
type bigRun struct {
	handler http.Handler
	cookies []*http.Cookie
	page    string
}

func seedBigRun(tb testing.TB) *bigRun {
	tb.Helper()
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	db, err := sqlstore.Open(ctx, filepath.Join(tb.TempDir(), "praetor.db"), log, sqlstore.SQLiteSynchronous("NORMAL"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	user, acct, err := tenancy.RegisterUser(ctx, db, tenancy.SignUp{Email: "run@example.test", Password: "bench password 123", Handle: "runbench"})
	if err != nil {
		tb.Fatal(err)
	}
	ws, err := tenancy.CreateWorkspace(ctx, db, user.ID, acct.ID, tenancy.WorkspaceInput{Name: "Run page"})
	if err != nil {
		tb.Fatal(err)
	}
	flow := &model.Flow{Name: "big"}
	if _, err := db.UpsertFlow(ctx, ws.ID, flow); err != nil {
		tb.Fatal(err)
	}
	t0 := time.Now().UTC().Add(-time.Hour)
	at := func(d time.Duration) *model.Time { return model.At(t0.Add(d)).Ptr() }
	run := &model.FlowRun{ID: uuid.Must(uuid.NewV7()), FlowID: flow.ID, Name: "big-run"}
	if _, err := db.CreateFlowRun(ctx, ws.ID, run, model.StateCreate{Type: model.Running, Timestamp: at(0)}); err != nil {
		tb.Fatal(err)
	}
	start := time.Now()
	var first uuid.UUID
	var logs []*model.Log
	for i := 0; i < bigRunTasks; i++ {
		key, dyn := "double", fmt.Sprint(i)
		if i%100 == 0 {
			key, dyn = fmt.Sprintf("step-%d", i/100), "0"
		}
		tr := &model.TaskRun{ID: uuid.Must(uuid.NewV7()), FlowRunID: &run.ID, Name: fmt.Sprintf("%s-%s", key, dyn), TaskKey: key, DynamicKey: dyn}
		if i > 0 {
			tr.TaskInputs = map[string][]model.TaskRunInput{"x": {{InputType: "task_run", ID: &first}}}
		}
		begin := time.Duration(i) * 100 * time.Millisecond
		if _, err := db.CreateTaskRun(ctx, ws.ID, tr, model.StateCreate{Type: model.Pending, Timestamp: at(begin)}); err != nil {
			tb.Fatal(err)
		}
		if i == 0 {
			first = tr.ID
		}
		for _, s := range []model.StateCreate{{Type: model.Running, Timestamp: at(begin + time.Second)}, {Type: model.Completed, Timestamp: at(begin + 3*time.Second)}} {
			if _, err := db.SetTaskRunState(ctx, ws.ID, tr.ID, s, true); err != nil {
				tb.Fatal(err)
			}
		}
		logs = append(logs, &model.Log{Name: "prefect.task_runs", Level: 20, Message: fmt.Sprintf("task %d did its work", i),
			Timestamp: *at(begin + 2*time.Second), FlowRunID: &run.ID, TaskRunID: &tr.ID})
	}
	if err := db.CreateLogs(ctx, ws.ID, logs); err != nil {
		tb.Fatal(err)
	}
	tb.Logf("seeded a run of %d task runs in %v", bigRunTasks, time.Since(start).Round(time.Millisecond))
	pages, err := ui.New(ui.Config{Store: db, Authn: auth.NewAuthenticator(db, log), Logger: log})
	if err != nil {
		tb.Fatal(err)
	}
	mux := http.NewServeMux()
	pages.Register(mux)
	cookies, err := signIn(mux, "run@example.test", "bench password 123")
	if err != nil {
		tb.Fatal(err)
	}
	return &bigRun{handler: mux, cookies: cookies, page: ui.WorkspaceURL(ws) + "/runs/flow-run/" + run.ID.String()}
}

func (f *bigRun) get(path string, w http.ResponseWriter) {
	r := httptest.NewRequest("GET", path, nil)
	for _, c := range f.cookies {
		r.AddCookie(c)
	}
	f.handler.ServeHTTP(w, r)
}

// BenchmarkFlowRunPage1000Tasks renders the page of a run with 1,000 task
// runs: the default tab (timeline and logs), the task runs tab (a table
// of all of them) and the Radar tab (its first 500, laid out).
func BenchmarkFlowRunPage1000Tasks(b *testing.B) {
	f := seedBigRun(b)
	for _, tc := range []struct{ name, query, want string }{
		{"timeline+logs", "", `id="timeline-grouped"`},
		{"task-runs", "?tab=task-runs", `<tr data-task-run-id=`},
		{"radar", "?tab=radar", `class="radar-node `},
	} {
		b.Run(tc.name, func(b *testing.B) {
			w := httptest.NewRecorder()
			f.get(f.page+tc.query, w)
			if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), tc.want) {
				b.Fatalf("GET %s: %d, lacks %s", tc.query, w.Code, tc.want)
			}
			b.ReportAllocs()
			for b.Loop() {
				rw := discard{header: http.Header{}}
				f.get(f.page+tc.query, &rw)
				if rw.status != http.StatusOK {
					b.Fatalf("GET %s: %d", tc.query, rw.status)
				}
			}
		})
	}
}
