package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

func testCreateLogs(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	flow := h.flow(ws, "etl")
	fr := h.flowRun(ws, flow.ID, "run", state(model.Running))
	tr := h.taskRun(ws, &fr.ID, "task", state(model.Running))
	worker := newID()
	ts := model.At(time.Now().Add(-time.Minute))
	batch := []*model.Log{
		{Name: "prefect.flow_runs", Level: 20, Message: "hello <é>", Timestamp: ts, FlowRunID: &fr.ID},
		{Name: "prefect.task_runs", Level: 40, Message: "boom", Timestamp: model.At(ts.Add(time.Second)), FlowRunID: &fr.ID, TaskRunID: &tr.ID},
		{Name: "prefect.workers", Level: 10, Message: "polling", Timestamp: model.At(ts.Add(2 * time.Second)), WorkerID: &worker},
	}
	h.must(h.s.CreateLogs(h.ctx, ws, batch), "create logs")
	for _, l := range batch {
		if l.ID == uuid.Nil || l.Created.IsZero() {
			t.Errorf("created log %+v", l)
		}
	}
	got, err := h.s.ListLogs(h.ctx, ws, store.LogQuery{})
	h.must(err, "list logs")
	if len(got) != len(batch) {
		t.Fatalf("%d logs stored, want %d", len(got), len(batch))
	}
	for i, l := range got {
		want := batch[i]
		if l.ID != want.ID || l.Name != want.Name || l.Level != want.Level || l.Message != want.Message || !l.Timestamp.Equal(want.Timestamp.Time) ||
			fmt.Sprint(l.FlowRunID) != fmt.Sprint(want.FlowRunID) || fmt.Sprint(l.TaskRunID) != fmt.Sprint(want.TaskRunID) ||
			fmt.Sprint(l.WorkerID) != fmt.Sprint(want.WorkerID) {
			t.Errorf("stored log %d: %+v, want %+v", i, l, want)
		}
	}
	// An empty batch writes nothing.
	h.must(h.s.CreateLogs(h.ctx, ws, nil), "create no logs")
	// A batch larger than one INSERT holds.
	big := make([]*model.Log, 1201)
	for i := range big {
		big[i] = &model.Log{Name: "bulk", Level: 20, Message: fmt.Sprint(i), Timestamp: ts, FlowRunID: &fr.ID}
	}
	h.must(h.s.CreateLogs(h.ctx, other, big), "create a large batch")
	if got, err := h.s.ListLogs(h.ctx, other, store.LogQuery{Limit: 2000}); err != nil || len(got) != len(big) {
		t.Errorf("%d logs of a batch of %d (%v)", len(got), len(big), err)
	}
	if got, err := h.s.ListLogs(h.ctx, ws, store.LogQuery{Limit: 2000}); err != nil || len(got) != len(batch) {
		t.Errorf("%d logs in the first workspace after another's batch (%v), want %d", len(got), err, len(batch))
	}
}

func testListLogs(t *testing.T, h *harness) {
	ws, other := h.ws(), h.ws()
	flow := h.flow(ws, "etl")
	fr1 := h.flowRun(ws, flow.ID, "run-1", state(model.Running))
	fr2 := h.flowRun(ws, flow.ID, "run-2", state(model.Running))
	tr := h.taskRun(ws, &fr1.ID, "task", state(model.Running))
	clk := newClock()
	sec := func(n int) model.Time { return clk.at(time.Duration(n) * time.Second) }
	// Out of time order, in two batches; l5 shares l1's timestamp and was
	// written later.
	l1 := &model.Log{Name: "n", Level: 20, Message: "Hello World", Timestamp: sec(2), FlowRunID: &fr1.ID, TaskRunID: &tr.ID}
	l2 := &model.Log{Name: "n", Level: 40, Message: "disk FULL", Timestamp: sec(1), FlowRunID: &fr1.ID}
	l3 := &model.Log{Name: "n", Level: 10, Message: "debugging", Timestamp: sec(3), FlowRunID: &fr2.ID}
	l4 := &model.Log{Name: "n", Level: 30, Message: "warning: hello", Timestamp: sec(0)}
	h.must(h.s.CreateLogs(h.ctx, ws, []*model.Log{l1, l2, l3, l4}), "create logs")
	l5 := &model.Log{Name: "n", Level: 20, Message: "same time", Timestamp: sec(2), FlowRunID: &fr2.ID}
	h.must(h.s.CreateLogs(h.ctx, ws, []*model.Log{l5}), "create logs")
	h.must(h.s.CreateLogs(h.ctx, other, []*model.Log{{Name: "n", Level: 40, Message: "hello from elsewhere", Timestamp: sec(1), FlowRunID: &fr1.ID}}), "create logs elsewhere")

	names := map[uuid.UUID]string{l1.ID: "l1", l2.ID: "l2", l3.ID: "l3", l4.ID: "l4", l5.ID: "l5"}
	logs := func(f *store.LogFilter) store.LogQuery { return store.LogQuery{Logs: f} }
	level := func(ge, le *int) *store.LogFilter {
		f := &store.LogFilter{}
		f.Level = &struct {
			GE *int `json:"ge_"`
			LE *int `json:"le_"`
		}{ge, le}
		return f
	}
	text := func(q string) *store.LogFilter {
		f := &store.LogFilter{}
		f.Text = &struct {
			Query string `json:"query"`
		}{q}
		return f
	}
	or := level(ptr(40), nil)
	or.Operator, or.TaskRunID = "or_", &store.NullableIDFilter{Any: ids(tr.ID)}
	list := func(q store.LogQuery) ([]*model.Log, error) { return h.s.ListLogs(h.ctx, ws, q) }
	checkList(h, names, func(l *model.Log) uuid.UUID { return l.ID }, list, nil, []listCase[store.LogQuery]{
		{name: "default: oldest first, ties in write order", q: store.LogQuery{}, want: ids(l4.ID, l2.ID, l1.ID, l5.ID, l3.ID)},
		{name: "TIMESTAMP_ASC", q: store.LogQuery{Sort: "TIMESTAMP_ASC"}, want: ids(l4.ID, l2.ID, l1.ID, l5.ID, l3.ID)},
		{name: "TIMESTAMP_DESC", q: store.LogQuery{Sort: "TIMESTAMP_DESC"}, want: ids(l3.ID, l5.ID, l1.ID, l2.ID, l4.ID)},
		{name: "level at least", q: logs(level(ptr(30), nil)), want: ids(l4.ID, l2.ID)},
		{name: "level at most", q: logs(level(nil, ptr(20))), want: ids(l1.ID, l5.ID, l3.ID)},
		{name: "level between", q: logs(level(ptr(20), ptr(30))), want: ids(l4.ID, l1.ID, l5.ID)},
		{name: "timestamp window, inclusive", q: logs(&store.LogFilter{Timestamp: &store.TimeFilter{After: ptr(sec(1)), Before: ptr(sec(2))}}), want: ids(l2.ID, l1.ID, l5.ID)},
		{name: "flow run", q: logs(&store.LogFilter{FlowRunID: &store.IDFilter{Any: ids(fr1.ID)}}), want: ids(l2.ID, l1.ID)},
		{name: "task run", q: logs(&store.LogFilter{TaskRunID: &store.NullableIDFilter{Any: ids(tr.ID)}}), want: ids(l1.ID)},
		{name: "no task run", q: logs(&store.LogFilter{TaskRunID: &store.NullableIDFilter{IsNull: ptr(true)}}), want: ids(l4.ID, l2.ID, l5.ID, l3.ID)},
		{name: "text, ignoring case", q: logs(text("hello")), want: ids(l4.ID, l1.ID)},
		{name: "or", q: logs(or), want: ids(l2.ID, l1.ID)},
		{name: "and", q: logs(&store.LogFilter{FlowRunID: &store.IDFilter{Any: ids(fr2.ID)}, Timestamp: &store.TimeFilter{Before: ptr(sec(2))}}), want: ids(l5.ID)},
		{name: "page", q: store.LogQuery{Limit: 2, Offset: 1}, want: ids(l2.ID, l1.ID)},
		{name: "newest page", q: store.LogQuery{Sort: "TIMESTAMP_DESC", Limit: 1}, want: ids(l3.ID)},
	})
	_, err := h.s.ListLogs(h.ctx, ws, store.LogQuery{Sort: "BOGUS"})
	h.wantCode(err, apperr.EInvalid, "an unknown sort")
	if got, err := h.s.ListLogs(h.ctx, h.ws(), store.LogQuery{}); err != nil || len(got) != 0 {
		t.Errorf("logs of an empty workspace: %v (%v)", got, err)
	}
}
