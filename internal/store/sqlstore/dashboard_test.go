package sqlstore

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/testdb"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

// eachEngine runs fn against a fresh store on SQLite and, when
// PRAETOR_TEST_POSTGRES_URL names a server, on a throwaway PostgreSQL
// database; ws is the store's default workspace.
func eachEngine(t *testing.T, fn func(t *testing.T, db *DB, ws uuid.UUID)) {
	t.Helper()
	run := func(t *testing.T, dsn string) {
		db, err := Open(t.Context(), dsn, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatalf("open store: %v", err)
		}
		t.Cleanup(func() { db.Close() })
		ws, err := db.DefaultWorkspace(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		fn(t, db, ws.ID)
	}
	testdb.Engines(t, run)
}

func newFlow(t *testing.T, db *DB, ws uuid.UUID, name string) uuid.UUID {
	t.Helper()
	f := &model.Flow{Name: name}
	if _, err := db.UpsertFlow(t.Context(), ws, f); err != nil {
		t.Fatal(err)
	}
	return f.ID
}

// seedRun is a run for BulkInsertFlowRuns: of flow, in state typ (named
// name when set), expected to start at at.
func seedRun(flow uuid.UUID, typ model.StateType, name string, at time.Time) *model.FlowRun {
	ts := model.At(at)
	r := &model.FlowRun{FlowID: flow, Name: fmt.Sprintf("%s-%s", strings.ToLower(string(typ)), at.Format("150405.000000"))}
	r.ExpectedStartTime = &ts
	r.State = &model.State{Type: typ, Name: name, Timestamp: ts}
	return r
}

func TestFlowRunHistory(t *testing.T) {
	eachEngine(t, func(t *testing.T, db *DB, ws uuid.UUID) {
		ctx := t.Context()
		etl, other := newFlow(t, db, ws, "etl"), newFlow(t, db, ws, "other")
		start := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
		at := func(d time.Duration) time.Time { return start.Add(d) }
		runs := []*model.FlowRun{
			seedRun(etl, model.Completed, "", at(0)),                                    // bucket 0, its first instant
			seedRun(etl, model.Completed, "", at(59*time.Minute+59*time.Second+999999)), // bucket 0, its last microsecond
			seedRun(etl, model.Failed, "", at(30*time.Minute)),                          // bucket 0
			seedRun(other, model.Completed, "", at(time.Hour)),                          // bucket 1
			seedRun(etl, model.Scheduled, "Late", at(2*time.Hour+time.Second)),          // bucket 2
			seedRun(etl, model.Completed, "", at(-time.Microsecond)),                    // before the window
			seedRun(etl, model.Completed, "", at(3*time.Hour)),                          // after it
		}
		if err := db.BulkInsertFlowRuns(ctx, ws, runs); err != nil {
			t.Fatal(err)
		}
		// A run written the ordinary way, through orchestration.
		r := &model.FlowRun{ID: uuid.Must(uuid.NewV7()), FlowID: other, Name: "orchestrated"}
		sched := model.At(at(90 * time.Minute))
		if _, err := db.CreateFlowRun(ctx, ws, r, model.StateCreate{Type: model.Scheduled, StateDetails: &model.StateDetails{ScheduledTime: &sched}}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SetFlowRunState(ctx, ws, r.ID, model.StateCreate{Type: model.Crashed}, true); err != nil {
			t.Fatal(err)
		}

		h, err := db.FlowRunHistory(ctx, ws, store.HistoryQuery{Start: start, Interval: time.Hour, Buckets: 3})
		if err != nil {
			t.Fatal(err)
		}
		want := []map[model.StateType]int{
			{model.Completed: 2, model.Failed: 1},
			{model.Completed: 1, model.Crashed: 1},
			{model.Scheduled: 1},
		}
		if len(h) != 3 {
			t.Fatalf("%d buckets, want 3", len(h))
		}
		for i, b := range h {
			if !b.Start.Equal(at(time.Duration(i)*time.Hour)) || !b.End.Equal(at(time.Duration(i+1)*time.Hour)) {
				t.Errorf("bucket %d spans %v–%v", i, b.Start, b.End)
			}
			if fmt.Sprint(b.Counts) != fmt.Sprint(want[i]) {
				t.Errorf("bucket %d counts %v, want %v", i, b.Counts, want[i])
			}
		}
		if h[0].Total() != 3 {
			t.Errorf("bucket 0 total %d, want 3", h[0].Total())
		}

		// The runs filter narrows the history.
		h, err = db.FlowRunHistory(ctx, ws, store.HistoryQuery{Start: start, Interval: 30 * time.Minute, Buckets: 6,
			Runs: store.RunQuery{Flows: &store.FlowFilter{ID: &store.IDFilter{Any: []uuid.UUID{other}}}}})
		if err != nil {
			t.Fatal(err)
		}
		got := []int{}
		for _, b := range h {
			got = append(got, b.Total())
		}
		if fmt.Sprint(got) != "[0 0 1 1 0 0]" {
			t.Errorf("flow-filtered totals per half hour = %v, want [0 0 1 1 0 0]", got)
		}

		// Another workspace's runs never count.
		if h, err = db.FlowRunHistory(ctx, uuid.Must(uuid.NewV7()), store.HistoryQuery{Start: start, Interval: time.Hour, Buckets: 3}); err != nil || h[0].Total() != 0 {
			t.Errorf("other workspace: %v, %v", h, err)
		}
		for _, bad := range []store.HistoryQuery{{Start: start, Interval: time.Millisecond, Buckets: 3}, {Start: start, Interval: time.Hour}, {Start: start, Interval: time.Hour, Buckets: 5000}} {
			if _, err := db.FlowRunHistory(ctx, ws, bad); apperr.ErrorCode(err) != apperr.EInvalid {
				t.Errorf("history %+v: err %v, want invalid", bad, err)
			}
		}
	})
}

func TestCountRunsByStateAndFlow(t *testing.T) {
	eachEngine(t, func(t *testing.T, db *DB, ws uuid.UUID) {
		ctx := t.Context()
		a, b, c := newFlow(t, db, ws, "a"), newFlow(t, db, ws, "b"), newFlow(t, db, ws, "c")
		now := time.Now().UTC()
		var runs []*model.FlowRun
		add := func(flow uuid.UUID, typ model.StateType, n int, ago time.Duration) {
			for i := 0; i < n; i++ {
				runs = append(runs, seedRun(flow, typ, "", now.Add(-ago-time.Duration(i)*time.Millisecond)))
			}
		}
		add(a, model.Completed, 3, time.Hour)
		add(a, model.Failed, 2, time.Hour)
		add(b, model.Completed, 1, time.Hour)
		add(b, model.Running, 1, 48*time.Hour)
		if err := db.BulkInsertFlowRuns(ctx, ws, runs); err != nil {
			t.Fatal(err)
		}
		byState, err := db.CountFlowRunsByState(ctx, ws, store.RunQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(byState) != fmt.Sprint(map[model.StateType]int{model.Completed: 4, model.Failed: 2, model.Running: 1}) {
			t.Errorf("by state: %v", byState)
		}
		day := store.RunQuery{FlowRuns: &store.FlowRunFilter{ExpectedStartTime: &store.TimeFilter{After: model.At(now.Add(-24 * time.Hour)).Ptr()}}}
		if byState, err = db.CountFlowRunsByState(ctx, ws, day); err != nil || byState[model.Running] != 0 || byState[model.Completed] != 4 {
			t.Errorf("by state in a day: %v, %v", byState, err)
		}
		byFlow, err := db.CountFlowRunsByFlow(ctx, ws, store.RunQuery{Flows: &store.FlowFilter{ID: &store.IDFilter{Any: []uuid.UUID{a, b, c}}}})
		if err != nil {
			t.Fatal(err)
		}
		if byFlow[a] != 5 || byFlow[b] != 2 || byFlow[c] != 0 || len(byFlow) != 2 {
			t.Errorf("by flow: %v", byFlow)
		}
		failed := store.RunQuery{FlowRuns: &store.FlowRunFilter{State: store.StateTypeIn(model.Failed, model.Crashed)}}
		if byFlow, err = db.CountFlowRunsByFlow(ctx, ws, failed); err != nil || byFlow[a] != 2 || len(byFlow) != 1 {
			t.Errorf("failed by flow: %v, %v", byFlow, err)
		}

		// Task runs, by state, through the ordinary write path.
		fr := &model.FlowRun{ID: uuid.Must(uuid.NewV7()), FlowID: c, Name: "with-tasks"}
		if _, err := db.CreateFlowRun(ctx, ws, fr, model.StateCreate{Type: model.Running}); err != nil {
			t.Fatal(err)
		}
		for i, typ := range []model.StateType{model.Completed, model.Completed, model.Failed, model.Running} {
			tr := &model.TaskRun{ID: uuid.Must(uuid.NewV7()), FlowRunID: &fr.ID, Name: fmt.Sprintf("t-%d", i), TaskKey: "t", DynamicKey: fmt.Sprint(i)}
			if _, err := db.CreateTaskRun(ctx, ws, tr, model.StateCreate{Type: typ}); err != nil {
				t.Fatal(err)
			}
		}
		tasks, err := db.CountTaskRunsByState(ctx, ws, store.RunQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(tasks) != fmt.Sprint(map[model.StateType]int{model.Completed: 2, model.Failed: 1, model.Running: 1}) {
			t.Errorf("task runs by state: %v", tasks)
		}
		recent := store.RunQuery{TaskRuns: &store.TaskRunFilter{ExpectedStartTime: &store.TimeFilter{After: model.At(now.Add(time.Hour)).Ptr()}}}
		if tasks, err = db.CountTaskRunsByState(ctx, ws, recent); err != nil || len(tasks) != 0 {
			t.Errorf("task runs expected in the future: %v, %v", tasks, err)
		}
		if tasks, err = db.CountTaskRunsByState(ctx, uuid.Must(uuid.NewV7()), store.RunQuery{}); err != nil || len(tasks) != 0 {
			t.Errorf("another workspace's task runs: %v, %v", tasks, err)
		}
	})
}

func TestBulkInsertFlowRuns(t *testing.T) {
	eachEngine(t, func(t *testing.T, db *DB, ws uuid.UUID) {
		ctx := t.Context()
		flow := newFlow(t, db, ws, "bulk")
		start := time.Now().UTC().Add(-time.Hour)
		// More than one INSERT's worth, so chunking is exercised.
		const n = insertChunk*2 + 7
		runs := make([]*model.FlowRun, n)
		for i := range runs {
			typ := model.Completed
			if i%3 == 0 {
				typ = model.Failed
			}
			runs[i] = seedRun(flow, typ, "", start.Add(time.Duration(i)*time.Second))
			runs[i].Tags = []string{"bulk"}
		}
		runs[5].State = nil // a run without a state
		if err := db.BulkInsertFlowRuns(ctx, ws, runs); err != nil {
			t.Fatal(err)
		}
		if got, err := db.CountFlowRuns(ctx, ws, store.RunQuery{}); err != nil || got != n {
			t.Fatalf("%d runs stored (%v), want %d", got, err, n)
		}
		got, err := db.GetFlowRun(ctx, ws, runs[3].ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.State == nil || got.State.Type != model.Failed || got.State.Name != "Failed" || *got.StateType != model.Failed ||
			!got.ExpectedStartTime.Equal(runs[3].ExpectedStartTime.Time) || got.Tags[0] != "bulk" {
			t.Errorf("stored run: %+v", got)
		}
		states, err := db.ListFlowRunStates(ctx, ws, runs[3].ID)
		if err != nil || len(states) != 1 || states[0].ID != runs[3].State.ID || *states[0].StateDetails.FlowRunID != runs[3].ID {
			t.Errorf("states: %+v, %v", states, err)
		}
		if got, err := db.GetFlowRun(ctx, ws, runs[5].ID); err != nil || got.State != nil || got.StateType != nil {
			t.Errorf("stateless run: %+v, %v", got, err)
		}
		failed, err := db.CountFlowRuns(ctx, ws, store.RunQuery{FlowRuns: &store.FlowRunFilter{State: store.StateTypeIn(model.Failed)}})
		if want := (n + 2) / 3; err != nil || failed != want { // every third run
			t.Errorf("%d failed runs (%v), want %d", failed, err, want)
		}
		// Inserting one of them again conflicts, and nothing of the batch stays.
		again := []*model.FlowRun{seedRun(flow, model.Completed, "", start), runs[0]}
		if err := db.BulkInsertFlowRuns(ctx, ws, again); apperr.ErrorCode(err) != apperr.EConflict {
			t.Errorf("duplicate insert: %v, want a conflict", err)
		}
		if got, _ := db.CountFlowRuns(ctx, ws, store.RunQuery{}); got != n {
			t.Errorf("%d runs after the failed batch, want %d", got, n)
		}
	})
}

// The runs list's first page, filtered by state and in its default order,
// reads an index in order and stops at the LIMIT.
func TestExplainFlowRunsUsesIndex(t *testing.T) {
	eachEngine(t, func(t *testing.T, db *DB, ws uuid.UUID) {
		ctx := t.Context()
		q := store.RunQuery{FlowRuns: &store.FlowRunFilter{State: store.StateTypeIn(model.Completed)}, Sort: "EXPECTED_START_TIME_DESC", Limit: 25}
		query, plan, err := db.ExplainFlowRuns(ctx, ws, q)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(query, " LIMIT 25 OFFSET 0") {
			t.Errorf("query is not LIMITed: %s", query)
		}
		joined := strings.Join(plan, "\n")
		switch db.Engine() {
		case "sqlite":
			if !strings.Contains(joined, "USING INDEX flow_runs_ws_state_expected (workspace_id=? AND state_type=?)") {
				t.Errorf("plan does not search the state index:\n%s", joined)
			}
			if strings.Contains(joined, "USE TEMP B-TREE FOR ORDER BY") {
				t.Errorf("plan sorts every matching row instead of reading the index in order:\n%s", joined)
			}
		case "postgres":
			if !strings.Contains(joined, "Limit") {
				t.Errorf("plan has no Limit node:\n%s", joined)
			}
		}
		if _, _, err := db.ExplainFlowRuns(ctx, ws, store.RunQuery{Sort: "NOPE"}); apperr.ErrorCode(err) != apperr.EInvalid {
			t.Errorf("bad sort: %v", err)
		}
	})
}

// The run page's subflows (runs whose parent task run is in a flow run)
// are found from the parent's task runs, not by testing every run of the
// workspace against a correlated subquery, which took seconds at 1M runs
// on PostgreSQL.
func TestExplainSubflowsIsNotCorrelated(t *testing.T) {
	eachEngine(t, func(t *testing.T, db *DB, ws uuid.UUID) {
		q := store.RunQuery{FlowRuns: &store.FlowRunFilter{ParentFlowRunID: &store.IDFilter{Any: []uuid.UUID{uuid.New()}}}, Limit: 200}
		_, plan, err := db.ExplainFlowRuns(t.Context(), ws, q)
		if err != nil {
			t.Fatal(err)
		}
		joined := strings.Join(plan, "\n")
		if strings.Contains(joined, "CORRELATED") || strings.Contains(joined, "SubPlan") {
			t.Errorf("the subflows' query tests each run against a correlated subquery:\n%s", joined)
		}
	})
}

// explain returns SQLite's plan for a query, one step per line.
func explain(t *testing.T, db *DB, query string, args []any, err error) string {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	rows, err := db.read.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, detail)
	}
	return strings.Join(lines, "\n")
}

// The queries a flow run's page polls find their rows through an index
// that starts with the workspace and the run (migration 0003), never by
// reading the workspace's runs, task runs or logs in time order.
func TestRunPageQueryPlans(t *testing.T) {
	ctx := t.Context()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "praetor.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ws, run, flow := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	ids := func(u uuid.UUID) []uuid.UUID { return []uuid.UUID{u} }
	check := func(what, plan, want string) {
		t.Helper()
		if !strings.Contains(plan, want) {
			t.Errorf("%s: plan does not use %s:\n%s", what, want, plan)
		}
	}
	newestLogs := store.LogQuery{Logs: &store.LogFilter{FlowRunID: &store.IDFilter{Any: ids(run)}}, Sort: "TIMESTAMP_DESC", Limit: 1001}
	q, args, err := db.listLogsSQL(ws, newestLogs)
	check("a run's logs", explain(t, db, q, args, err), "USING INDEX logs_ws_flow_run_ts (workspace_id=? AND flow_run_id=?)")
	ge := 30
	newestLogs.Logs.Level = &struct {
		GE *int `json:"ge_"`
		LE *int `json:"le_"`
	}{GE: &ge}
	newestLogs.Logs.TaskRunID = &store.NullableIDFilter{Any: ids(uuid.Must(uuid.NewV7()))}
	q, args, err = db.listLogsSQL(ws, newestLogs)
	check("a task run's warnings", explain(t, db, q, args, err), "USING INDEX logs_ws_flow_run_ts (workspace_id=? AND flow_run_id=?)")

	q, args, err = db.listTaskRunsSQL(ws, store.RunQuery{TaskRuns: &store.TaskRunFilter{FlowRunID: &store.NullableIDFilter{Any: ids(run)}},
		Sort: "EXPECTED_START_TIME_ASC", Limit: 200})
	check("a run's task runs", explain(t, db, q, args, err), "USING INDEX task_runs_ws_flow_run_expected (workspace_id=? AND flow_run_id=?)")

	q, args, err = db.listFlowRunsSQL(ws, store.RunQuery{FlowRuns: &store.FlowRunFilter{ParentFlowRunID: &store.IDFilter{Any: ids(run)}}, Sort: "ID_DESC", Limit: 200})
	check("a run's subflows", explain(t, db, q, args, err), "USING INDEX flow_runs_ws_parent (workspace_id=? AND parent_task_run_id=?)")
	q, args, err = db.listFlowRunsSQL(ws, store.RunQuery{FlowRuns: &store.FlowRunFilter{ParentTaskRunID: &store.NullableIDFilter{Any: ids(run)}}, Limit: 1})
	check("a task run's subflow", explain(t, db, q, args, err), "USING INDEX flow_runs_ws_parent (workspace_id=? AND parent_task_run_id=?)")

	flowRuns := store.RunQuery{Flows: &store.FlowFilter{ID: &store.IDFilter{Any: ids(flow)}}, Sort: "EXPECTED_START_TIME_DESC", Limit: 25}
	q, args, err = db.listFlowRunsSQL(ws, flowRuns)
	plan := explain(t, db, q, args, err)
	check("a flow's runs", plan, "USING INDEX flow_runs_ws_flow_expected (workspace_id=? AND flow_id=?)")
	if strings.Contains(plan, "USE TEMP B-TREE FOR ORDER BY") {
		t.Errorf("a flow's runs are sorted, not read in order:\n%s", plan)
	}
}

// Bulk inserts count their runs (on PostgreSQL the bulk path adds them to
// the counters itself, the triggers standing aside): every counted
// aggregate equals the same aggregate counted from the runs.
func TestBulkInsertsAreCounted(t *testing.T) {
	eachEngine(t, func(t *testing.T, db *DB, ws uuid.UUID) {
		ctx := t.Context()
		flows := []uuid.UUID{newFlow(t, db, ws, "bulk-a"), newFlow(t, db, ws, "bulk-b")}
		start := time.Now().UTC().Add(-5 * time.Hour).Truncate(time.Hour)
		types := []model.StateType{model.Completed, model.Failed, model.Running, model.Scheduled}
		var runs []*model.FlowRun
		var tasks []*model.TaskRun
		for i := 0; i < 200; i++ {
			at := start.Add(time.Duration(i) * 97 * time.Second)
			r := seedRun(flows[i%2], types[i%len(types)], "", at)
			runs = append(runs, r)
			ts := model.At(at)
			tr := &model.TaskRun{FlowRunID: &r.ID, Name: fmt.Sprint("t", i), TaskKey: fmt.Sprint("t", i), DynamicKey: "0"}
			tr.ExpectedStartTime = &ts
			tr.State = &model.State{Type: types[(i+1)%len(types)], Timestamp: ts}
			tasks = append(tasks, tr)
		}
		runs[7].State = nil
		runs[8].ExpectedStartTime = nil
		tasks[9].ExpectedStartTime = nil
		// Two batches, so the second adds to counters the first made.
		for _, half := range [][2]int{{0, 100}, {100, 200}} {
			if err := db.BulkInsertFlowRuns(ctx, ws, runs[half[0]:half[1]]); err != nil {
				t.Fatal(err)
			}
			if err := db.BulkInsertTaskRuns(ctx, ws, tasks[half[0]:half[1]]); err != nil {
				t.Fatal(err)
			}
		}
		unknown := &store.IDFilter{NotAny: []uuid.UUID{uuid.Must(uuid.NewV7())}}
		same := func(what string, got, want any, errs ...error) {
			t.Helper()
			for _, err := range errs {
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s: %v, from the runs %v", what, got, want)
			}
		}
		n, err1 := db.CountFlowRuns(ctx, ws, store.RunQuery{})
		same("flow runs", n, 200, err1)
		byState, err1 := db.CountFlowRunsByState(ctx, ws, store.RunQuery{})
		want, err2 := db.CountFlowRunsByState(ctx, ws, store.RunQuery{FlowRuns: &store.FlowRunFilter{ID: unknown}})
		same("flow runs by state", byState, want, err1, err2)
		ids := &store.FlowFilter{ID: &store.IDFilter{Any: flows}}
		byFlow, err1 := db.CountFlowRunsByFlow(ctx, ws, store.RunQuery{Flows: ids})
		wantByFlow, err2 := db.CountFlowRunsByFlow(ctx, ws, store.RunQuery{Flows: ids, FlowRuns: &store.FlowRunFilter{ID: unknown}})
		same("flow runs by flow", byFlow, wantByFlow, err1, err2)
		q := store.HistoryQuery{Start: start, Interval: time.Hour, Buckets: 8}
		hist, err1 := db.FlowRunHistory(ctx, ws, q)
		q.Runs = store.RunQuery{FlowRuns: &store.FlowRunFilter{ID: unknown}}
		wantHist, err2 := db.FlowRunHistory(ctx, ws, q)
		same("flow run history", hist, wantHist, err1, err2)
		window := &store.TimeFilter{After: model.At(start.Add(-time.Minute)).Ptr(), Before: model.At(start.Add(8 * time.Hour)).Ptr()}
		tc, err1 := db.CountTaskRunsByState(ctx, ws, store.RunQuery{TaskRuns: &store.TaskRunFilter{ExpectedStartTime: window}})
		wantTC, err2 := db.CountTaskRunsByState(ctx, ws, store.RunQuery{TaskRuns: &store.TaskRunFilter{ExpectedStartTime: window, ID: unknown}})
		same("task runs by state", tc, wantTC, err1, err2)
	})
}
