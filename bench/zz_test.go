package bench

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

func TestZZTimes(t *testing.T) {
	f := runs(t)
	ctx := t.Context()
	flows, _ := f.db.ListFlows(ctx, f.ws.ID, store.RunQuery{Limit: 25})
	var ids []uuid.UUID
	for _, fl := range flows {
		ids = append(ids, fl.ID)
	}
	tm := func(label string, fn func() error) {
		t0 := time.Now()
		err := fn()
		t.Logf("%s: %v %v", label, time.Since(t0), err)
	}
	st := func(ts ...model.StateType) *store.StateFilter {
		s := &store.StateFilter{}
		s.Type = &struct {
			Any    []model.StateType `json:"any_"`
			NotAny []model.StateType `json:"not_any_"`
		}{Any: ts}
		return s
	}
	byFlow := store.RunQuery{Flows: &store.FlowFilter{ID: &store.IDFilter{Any: ids}}}
	tm("count by flow", func() error { _, err := f.db.CountFlowRunsByFlow(ctx, f.ws.ID, byFlow); return err })
	byFlow.FlowRuns = &store.FlowRunFilter{State: st(model.Failed, model.Crashed)}
	tm("failed by flow", func() error { _, err := f.db.CountFlowRunsByFlow(ctx, f.ws.ID, byFlow); return err })
	q, plan, _ := f.db.ExplainFlowRuns(ctx, f.ws.ID, store.RunQuery{FlowRuns: byFlow.FlowRuns, Flows: byFlow.Flows})
	t.Log(q[len(q)-200:], plan)
	one := store.RunQuery{Flows: &store.FlowFilter{ID: &store.IDFilter{Any: ids[:1]}}}
	tm("by state one flow", func() error { _, err := f.db.CountFlowRunsByState(ctx, f.ws.ID, one); return err })
	tm("count one flow", func() error { _, err := f.db.CountFlowRuns(ctx, f.ws.ID, one); return err })
	one.Sort, one.Limit = "EXPECTED_START_TIME_DESC", 25
	tm("list one flow", func() error { _, err := f.db.ListFlowRuns(ctx, f.ws.ID, one); return err })
	_, plan, _ = f.db.ExplainFlowRuns(ctx, f.ws.ID, one)
	t.Log(plan)
	now := time.Now()
	tm("history 7d", func() error {
		_, err := f.db.FlowRunHistory(ctx, f.ws.ID, store.HistoryQuery{Start: now.Add(-7 * 24 * time.Hour), Interval: 6 * time.Hour, Buckets: 28})
		return err
	})
	tm("history 24h", func() error {
		_, err := f.db.FlowRunHistory(ctx, f.ws.ID, store.HistoryQuery{Start: now.Add(-24 * time.Hour), Interval: time.Hour, Buckets: 24})
		return err
	})
	win := &store.TimeFilter{After: model.At(now.Add(-7 * 24 * time.Hour)).Ptr()}
	late := store.RunQuery{FlowRuns: &store.FlowRunFilter{State: st(model.Failed, model.Crashed), ExpectedStartTime: win}, Sort: "EXPECTED_START_TIME_DESC", Limit: 10}
	tm("failed 7d list", func() error { _, err := f.db.ListFlowRuns(ctx, f.ws.ID, late); return err })
	tm("failed 7d count", func() error { _, err := f.db.CountFlowRuns(ctx, f.ws.ID, late); return err })
	ln := &store.StateFilter{}
	ln.Name = &struct {
		Any    []string `json:"any_"`
		NotAny []string `json:"not_any_"`
	}{Any: []string{"Late"}}
	l2 := store.RunQuery{FlowRuns: &store.FlowRunFilter{State: ln, ExpectedStartTime: win}, Sort: "EXPECTED_START_TIME_ASC", Limit: 10}
	tm("late 7d list", func() error { _, err := f.db.ListFlowRuns(ctx, f.ws.ID, l2); return err })
	_, plan, _ = f.db.ExplainFlowRuns(ctx, f.ws.ID, l2)
	t.Log(plan)
}
