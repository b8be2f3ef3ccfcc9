package sqlstore

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

// A flow run's transition on SQLite runs every statement prepared on the
// writer's connection once the first transitions prepared them, rather
// than SQLite parsing their text each time (30% of a transition's CPU).
func TestTransitionStatementsArePrepared(t *testing.T) {
	db := openTestSQLite(t)
	ctx := t.Context()
	ws, run := newTestRun(t, db, "r", model.Pending)
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

// An events batch, and the task runs its events record, run prepared too:
// that is the path of every task run a client reports.
func TestIngestStatementsArePrepared(t *testing.T) {
	db := openTestSQLite(t)
	ctx := t.Context()
	ws, run := newTestRun(t, db, "r", model.Running)
	at := time.Now().UTC()
	batch := func(key string) {
		t.Helper()
		var (
			events  []*model.Event
			records []store.TaskRunRecord
		)
		for i, typ := range []model.StateType{model.Running, model.Completed} {
			e := &model.Event{ID: uuid.Must(uuid.NewV7()), Event: "prefect.task-run." + string(typ), Occurred: model.At(at),
				Resource: model.Resource{"prefect.resource.id": "prefect.task-run." + key}}
			events = append(events, e)
			// As the events package derives it: the run carries its state.
			st := &model.State{ID: e.ID, Type: typ, Name: typ.DefaultName(), Timestamp: model.At(at.Add(time.Duration(i) * time.Millisecond))}
			r := &model.TaskRun{ID: uuid.NewSHA1(uuid.NameSpaceOID, []byte(key)), FlowRunID: &run.ID, Name: key, TaskKey: key, DynamicKey: "0"}
			r.StateID, r.StateType, r.StateName, r.StateTimestamp, r.State = &st.ID, &st.Type, &st.Name, st.Timestamp.Ptr(), st
			records = append(records, store.TaskRunRecord{Run: r, State: st})
		}
		if err := db.IngestEvents(ctx, ws.ID, events, records); err != nil {
			t.Fatal(err)
		}
	}
	batch("warm-up")
	batch("warm-up-2") // the first batch's misses are prepared after it
	misses, hits := db.writeStmts.misses.Load(), db.writeStmts.hits.Load()
	for _, key := range []string{"a", "b", "c"} {
		batch(key)
	}
	if n := db.writeStmts.misses.Load() - misses; n != 0 {
		t.Errorf("%d statements of three batches ran unprepared", n)
	}
	// Each batch: the automations check, two events, and for each of its
	// two task-run records the flow run's check, the task run's lookup and
	// its insert or update, the state's insert.
	if n := db.writeStmts.hits.Load() - hits; n < 3*9 {
		t.Errorf("%d statements of three batches ran prepared, want at least 27", n)
	}
	for _, key := range []string{"a", "b", "c"} {
		tr, err := db.GetTaskRun(ctx, ws.ID, uuid.NewSHA1(uuid.NameSpaceOID, []byte(key)))
		if err != nil || tr.StateType == nil || *tr.StateType != model.Completed {
			t.Errorf("task run %s: %+v, %v", key, tr, err)
		}
	}
}
