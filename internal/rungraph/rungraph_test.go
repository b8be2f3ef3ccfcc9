package rungraph

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

func id(n int) uuid.UUID { return uuid.MustParse(fmt.Sprintf("00000000-0000-7000-8000-%012d", n)) }

func ref(typ string, n int) model.TaskRunInput {
	u := id(n)
	return model.TaskRunInput{InputType: typ, ID: &u}
}

func TestUpstream(t *testing.T) {
	name := "x"
	tr := &model.TaskRun{TaskInputs: map[string][]model.TaskRunInput{
		"wait_for":    {ref("task_run", 3)},
		"data":        {ref("task_run", 1), {InputType: "parameter", Name: &name}, ref("flow_run", 9)},
		"__parents__": {ref("task_run", 2)},
		"constant":    {{InputType: "constant", Type: &name}},
		"broken":      {{InputType: "task_run"}}, // no id
	}}
	var got []string
	for _, in := range Upstream(tr) {
		got = append(got, in.InputType+":"+in.ID.String()[24:])
	}
	// By parameter name: __parents__, data, wait_for.
	want := []string{"task_run:000000000002", "task_run:000000000001", "flow_run:000000000009", "task_run:000000000003"}
	if !slices.Equal(got, want) {
		t.Errorf("Upstream = %v, want %v", got, want)
	}
	if deps := Upstream(&model.TaskRun{}); deps == nil || len(deps) != 0 {
		t.Errorf("no inputs: %#v, want an empty list", deps)
	}
}

func TestEdges(t *testing.T) {
	runs := []*model.TaskRun{
		{ID: id(1)},
		{ID: id(2), TaskInputs: map[string][]model.TaskRunInput{"x": {ref("task_run", 1), ref("task_run", 1)}, "wait_for": {ref("task_run", 1)}}},
		{ID: id(3), TaskInputs: map[string][]model.TaskRunInput{"x": {ref("task_run", 3), ref("task_run", 99)}}}, // itself, outside
		{ID: id(4), TaskInputs: map[string][]model.TaskRunInput{"x": {ref("flow_run", 50), ref("flow_run", 51)}}},
	}
	got := Edges(runs, map[uuid.UUID]uuid.UUID{id(50): id(3)})
	want := []Edge{{From: id(1), To: id(2)}, {From: id(3), To: id(4)}}
	if !slices.Equal(got, want) {
		t.Errorf("Edges = %v, want %v", got, want)
	}
}

// fakeTaskRuns serves ListTaskRuns from a slice, counting the queries.
type fakeTaskRuns struct {
	store.TaskRuns
	runs    []*model.TaskRun
	queries []store.RunQuery
}

func (f *fakeTaskRuns) ListTaskRuns(_ context.Context, _ uuid.UUID, q store.RunQuery) ([]*model.TaskRun, error) {
	f.queries = append(f.queries, q)
	end := min(len(f.runs), q.Offset+q.Limit)
	if q.Offset >= end {
		return nil, nil
	}
	return f.runs[q.Offset:end], nil
}

func TestTaskRunsPages(t *testing.T) {
	f := &fakeTaskRuns{}
	for i := 0; i < 450; i++ {
		f.runs = append(f.runs, &model.TaskRun{ID: id(i)})
	}
	for _, tc := range []struct{ limit, want, queries int }{{0, 450, 3}, {-1, 450, 3}, {100, 100, 1}, {200, 200, 1}, {201, 201, 2}, {1000, 450, 3}} {
		f.queries = nil
		got, err := TaskRuns(t.Context(), f, uuid.Nil, id(7), tc.limit)
		if err != nil || len(got) != tc.want || len(f.queries) != tc.queries {
			t.Errorf("limit %d: %d runs in %d queries (%v), want %d in %d", tc.limit, len(got), len(f.queries), err, tc.want, tc.queries)
		}
		if q := f.queries[0]; q.TaskRuns == nil || q.TaskRuns.FlowRunID.Any[0] != id(7) || q.Sort != "EXPECTED_START_TIME_ASC" {
			t.Errorf("limit %d: query %+v", tc.limit, q)
		}
	}
}
