package sqlstore

import (
	"testing"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/model"
)

// A flow run's transition on SQLite runs every statement prepared on the
// writer's connection once the first transitions prepared them, rather
// than SQLite parsing their text each time (30% of a transition's CPU).
func TestTransitionStatementsArePrepared(t *testing.T) {
	db := openTestSQLite(t)
	ctx := t.Context()
	ws, err := db.DefaultWorkspace(ctx)
	if err != nil {
		t.Fatal(err)
	}
	flow := &model.Flow{Name: "f"}
	if _, err := db.UpsertFlow(ctx, ws.ID, flow); err != nil {
		t.Fatal(err)
	}
	run := &model.FlowRun{ID: uuid.Must(uuid.NewV7()), FlowID: flow.ID, Name: "r"}
	if _, err := db.CreateFlowRun(ctx, ws.ID, run, model.StateCreate{Type: model.Pending}); err != nil {
		t.Fatal(err)
	}
	transition := func(typ model.StateType) {
		t.Helper()
		res, err := db.SetFlowRunState(ctx, ws.ID, run.ID, model.StateCreate{Type: typ}, true)
		if err != nil || !res.Written {
			t.Fatalf("set %s: %+v, %v", typ, res, err)
		}
	}
	transition(model.Running) // prepares what creating the run did not
	misses, hits := db.writeStmts.misses.Load(), db.writeStmts.hits.Load()
	if misses == 0 {
		t.Fatal("no statement was ever unprepared: the count counts nothing")
	}
	for _, typ := range []model.StateType{model.Completed, model.Running, model.Completed} {
		transition(typ)
	}
	if n := db.writeStmts.misses.Load() - misses; n != 0 {
		t.Errorf("%d statements of three transitions ran unprepared", n)
	}
	// Each transition: lock the run, insert the state, update the run, read
	// the flow and what the event names, insert the event, queue it for
	// automations (and the writer's savepoint, two more).
	if n := db.writeStmts.hits.Load() - hits; n < 3*6 {
		t.Errorf("%d statements of three transitions ran prepared, want at least 18", n)
	}
	got, err := db.GetFlowRun(ctx, ws.ID, run.ID)
	if err != nil || got.StateType == nil || *got.StateType != model.Completed || got.RunCount != 2 {
		t.Errorf("after the transitions: %+v, %v", got, err)
	}
}
