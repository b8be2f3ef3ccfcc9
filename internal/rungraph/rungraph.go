// Package rungraph reads the dependency graph of a flow run from its task
// runs' task_inputs. The API's GET /flow_runs/{id}/graph and the UI's Radar
// both draw from it.
package rungraph

import (
	"context"
	"sort"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

// Upstream returns the inputs of tr that name an upstream run: task-run and
// flow-run references with an id, from data parameters, "__parents__" and
// "wait_for" alike, ordered by parameter name then position so the result
// is stable.
func Upstream(tr *model.TaskRun) []model.TaskRunInput {
	keys := make([]string, 0, len(tr.TaskInputs))
	for k := range tr.TaskInputs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	deps := []model.TaskRunInput{}
	for _, k := range keys {
		for _, in := range tr.TaskInputs[k] {
			if in.ID != nil && (in.InputType == "task_run" || in.InputType == "flow_run") {
				deps = append(deps, model.TaskRunInput{InputType: in.InputType, ID: in.ID})
			}
		}
	}
	return deps
}

// pageSize is how many task runs one store query reads.
const pageSize = 200

// TaskRuns returns the task runs of a flow run, earliest expected start
// first, reading at most limit of them (all when limit <= 0).
func TaskRuns(ctx context.Context, s store.TaskRuns, ws, flowRunID uuid.UUID, limit int) ([]*model.TaskRun, error) {
	var out []*model.TaskRun
	for offset := 0; ; offset += pageSize {
		n := pageSize
		if limit > 0 {
			n = min(pageSize, limit-len(out))
		}
		runs, err := s.ListTaskRuns(ctx, ws, store.RunQuery{
			TaskRuns: &store.TaskRunFilter{FlowRunID: &store.NullableIDFilter{Any: []uuid.UUID{flowRunID}}},
			Sort:     "EXPECTED_START_TIME_ASC", Limit: n, Offset: offset,
		})
		if err != nil {
			return nil, err
		}
		out = append(out, runs...)
		if len(runs) < n || (limit > 0 && len(out) >= limit) {
			return out, nil
		}
	}
}

// Edge is a data dependency between two task runs of one flow run.
type Edge struct {
	From, To uuid.UUID // upstream, downstream
}

// Edges returns one edge per distinct (upstream, downstream) pair among
// runs. A flow-run input (a subflow's result) counts as coming from the
// task run that tracks that subflow in the parent, which subflows maps
// (child flow run id → parent task run id). References to runs outside the
// graph are dropped.
func Edges(runs []*model.TaskRun, subflows map[uuid.UUID]uuid.UUID) []Edge {
	in := make(map[uuid.UUID]bool, len(runs))
	for _, r := range runs {
		in[r.ID] = true
	}
	seen := map[Edge]bool{}
	var edges []Edge
	for _, r := range runs {
		for _, dep := range Upstream(r) {
			from := *dep.ID
			if dep.InputType == "flow_run" {
				tr, ok := subflows[from]
				if !ok {
					continue
				}
				from = tr
			}
			e := Edge{From: from, To: r.ID}
			if !in[from] || from == r.ID || seen[e] {
				continue
			}
			seen[e] = true
			edges = append(edges, e)
		}
	}
	return edges
}
