package api

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/schemacheck"
	"github.com/praetorhq/praetor/internal/store"
)

// The /ui routes are the ones Prefect's own web app calls: small
// aggregates for its lists and dashboard.
func (a *API) uiRoutes() {
	a.route("POST", "/ui/flows/count-deployments", "read:deployment", a.countDeploymentsByFlow)
	a.route("POST", "/ui/flows/next-runs", "read:flow_run", a.nextRunsByFlow)
	a.route("POST", "/ui/flow_runs/history", "read:flow_run", a.uiFlowRunHistory)
	a.route("POST", "/ui/flow_runs/count-task-runs", "read:task_run", a.countTaskRunsByFlowRun)
	a.route("POST", "/ui/task_runs/count", "read:task_run", a.uiTaskRunCounts)
	a.route("POST", "/ui/task_runs/dashboard/counts", "read:task_run", a.uiTaskRunDashboardCounts)
	a.route("GET", "/ui/task_runs/{id}", "read:task_run", a.uiTaskRun)
	a.route("POST", "/ui/schemas/validate", "read:flow", a.uiValidateSchema)
}

// maxUIIDs is how many ids Prefect's per-id aggregates take at once.
const maxUIIDs = 200

// decodeIDs reads the list of ids under key that a per-id aggregate takes.
func decodeIDs(w http.ResponseWriter, r *http.Request, key string) ([]uuid.UUID, error) {
	var in map[string][]uuid.UUID
	body, err := decode(w, r, &in, false)
	if err != nil {
		return nil, err
	}
	ids, ok := in[key]
	switch {
	case !ok:
		return nil, invalid(body, fieldErr("missing", "Field required", nil, key))
	case len(ids) > maxUIIDs:
		return nil, invalid(body, fieldErr("too_long", "List should have at most 200 items after validation", nil, key))
	}
	return ids, nil
}

// countPer answers a per-id count: count gives one id's number.
func countPer(w http.ResponseWriter, r *http.Request, key string, count func(id uuid.UUID) (int, error)) error {
	ids, err := decodeIDs(w, r, key)
	if err != nil {
		return err
	}
	out := make(map[uuid.UUID]int, len(ids))
	for _, id := range ids {
		if out[id], err = count(id); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) countDeploymentsByFlow(w http.ResponseWriter, r *http.Request) error {
	ws := workspaceID(r)
	return countPer(w, r, "flow_ids", func(id uuid.UUID) (int, error) {
		return a.Store.CountDeployments(r.Context(), ws, store.DeploymentQuery{Flows: &store.FlowFilter{ID: &store.IDFilter{Any: []uuid.UUID{id}}}})
	})
}

func (a *API) countTaskRunsByFlowRun(w http.ResponseWriter, r *http.Request) error {
	ws := workspaceID(r)
	noSubflows := false
	return countPer(w, r, "flow_run_ids", func(id uuid.UUID) (int, error) {
		q := store.RunQuery{TaskRuns: &store.TaskRunFilter{FlowRunID: &store.NullableIDFilter{Any: []uuid.UUID{id}}}}
		// As in Prefect, a subflow's task run is not one of the run's tasks.
		q.TaskRuns.SubflowRuns = &struct {
			Exists *bool `json:"exists_"`
		}{Exists: &noSubflows}
		return a.Store.CountTaskRuns(r.Context(), ws, q)
	})
}

// stateTypeFilter selects runs whose current state is one of types.
func stateTypeFilter(types ...model.StateType) *store.StateFilter {
	f := &store.StateFilter{}
	f.Type = &struct {
		Any    []model.StateType `json:"any_"`
		NotAny []model.StateType `json:"not_any_"`
	}{Any: types}
	return f
}

// nextRunsByFlow answers each flow's soonest SCHEDULED run, or null.
func (a *API) nextRunsByFlow(w http.ResponseWriter, r *http.Request) error {
	ids, err := decodeIDs(w, r, "flow_ids")
	if err != nil {
		return err
	}
	type next struct {
		ID                     uuid.UUID        `json:"id"`
		FlowID                 uuid.UUID        `json:"flow_id"`
		Name                   string           `json:"name"`
		StateName              *string          `json:"state_name"`
		StateType              *model.StateType `json:"state_type"`
		NextScheduledStartTime *model.Time      `json:"next_scheduled_start_time"`
	}
	out := make(map[uuid.UUID]*next, len(ids))
	for _, id := range ids {
		runs, err := a.Store.ListFlowRuns(r.Context(), workspaceID(r), store.RunQuery{
			Flows:    &store.FlowFilter{ID: &store.IDFilter{Any: []uuid.UUID{id}}},
			FlowRuns: &store.FlowRunFilter{State: stateTypeFilter(model.Scheduled)},
			Sort:     store.SortNextScheduledStartTimeAsc, Limit: 1,
		})
		if err != nil {
			return err
		}
		out[id] = nil
		if len(runs) == 1 {
			fr := runs[0]
			out[id] = &next{ID: fr.ID, FlowID: fr.FlowID, Name: fr.Name, StateName: fr.StateName, StateType: fr.StateType, NextScheduledStartTime: fr.NextScheduledStartTime}
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// uiFlowRunHistory answers the runs of the web app's bar chart: each
// run's start (or expected start), run time and lateness.
func (a *API) uiFlowRunHistory(w http.ResponseWriter, r *http.Request) error {
	var q store.RunQuery
	body, err := decode(w, r, &q, true)
	if err != nil {
		return err
	}
	if q.Limit == 0 {
		q.Limit = 1000
	}
	if q.Sort == "" {
		q.Sort = store.SortExpectedStartTimeDesc
	}
	if err := checkLimit(q.Limit, 1000); err != nil {
		return err
	}
	if q.Offset < 0 {
		return invalid(body, fieldErr("greater_than_equal", "Input should be greater than or equal to 0", q.Offset, "offset"))
	}
	if err := checkSort(body, q.Sort, store.FlowRunSorts); err != nil {
		return err
	}
	runs, err := a.Store.ListFlowRuns(r.Context(), workspaceID(r), q)
	if err != nil {
		return err
	}
	type simple struct {
		ID        uuid.UUID        `json:"id"`
		StateType *model.StateType `json:"state_type"`
		Timestamp *model.Time      `json:"timestamp"`
		Duration  float64          `json:"duration"`
		Lateness  float64          `json:"lateness"`
	}
	out := make([]simple, len(runs))
	for i, fr := range runs {
		ts := fr.StartTime
		if ts == nil {
			ts = fr.ExpectedStartTime
		}
		out[i] = simple{ID: fr.ID, StateType: fr.StateType, Timestamp: ts, Duration: fr.EstimatedRunTime, Lateness: fr.EstimatedStartTimeDelta}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// countsByState is Prefect's CountByState: every state type, zeros
// included.
func countsByState(counts map[model.StateType]int) map[model.StateType]int {
	out := make(map[model.StateType]int, len(model.StateTypes))
	for _, t := range model.StateTypes {
		out[t] = counts[t]
	}
	return out
}

func (a *API) uiTaskRunCounts(w http.ResponseWriter, r *http.Request) error {
	var q store.RunQuery
	if _, err := decode(w, r, &q, true); err != nil {
		return err
	}
	counts, err := a.Store.CountTaskRunsByState(r.Context(), workspaceID(r), store.RunQuery{Flows: q.Flows, FlowRuns: q.FlowRuns, TaskRuns: q.TaskRuns, Deployments: q.Deployments})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, countsByState(counts))
	return nil
}

// uiTaskRunDashboardCounts answers the dashboard's task chart: the
// finished task runs started since task_runs.start_time.after_, in 20
// buckets of start time, completed and failed (or crashed).
func (a *API) uiTaskRunDashboardCounts(w http.ResponseWriter, r *http.Request) error {
	var q store.RunQuery
	body, err := decode(w, r, &q, false)
	if err != nil {
		return err
	}
	if q.TaskRuns == nil {
		return invalid(body, fieldErr("missing", "Field required", nil, "task_runs"))
	}
	if q.TaskRuns.StartTime == nil || q.TaskRuns.StartTime.After == nil {
		return detail(http.StatusUnprocessableEntity, "task_runs.start_time.after_ is required")
	}
	const buckets = 20
	start := q.TaskRuns.StartTime.After.UTC().Truncate(time.Minute)
	end := a.now().UTC()
	if b := q.TaskRuns.StartTime.Before; b != nil {
		end = b.UTC()
	}
	// Prefect ends the window at the end of its last minute.
	end = end.Truncate(time.Minute).Add(time.Minute)
	step := max(end.Sub(start)/buckets, time.Second).Truncate(time.Second)
	tasks := *q.TaskRuns
	tasks.State = stateTypeFilter(model.Completed, model.Failed, model.Cancelled, model.Crashed)
	q.TaskRuns = &tasks
	h, err := a.Store.RunHistory(r.Context(), workspaceID(r), true, store.HistoryQuery{Start: start, Interval: step, Buckets: buckets, Runs: q, ByStartTime: true})
	if err != nil {
		return err
	}
	type count struct {
		Completed int `json:"completed"`
		Failed    int `json:"failed"`
	}
	out := make([]count, len(h))
	for i, b := range h {
		for _, s := range b.States {
			if s.Type == model.Failed || s.Type == model.Crashed {
				out[i].Failed += s.Count
			} else {
				out[i].Completed += s.Count
			}
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// uiTaskRun is a task run with its flow run's name.
func (a *API) uiTaskRun(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	ws := workspaceID(r)
	tr, err := a.Store.GetTaskRun(r.Context(), ws, id)
	if err != nil {
		return notFound(err, "Task not found")
	}
	out := struct {
		*model.TaskRun
		FlowRunName *string `json:"flow_run_name"`
	}{TaskRun: tr}
	if tr.FlowRunID != nil {
		fr, err := a.Store.GetFlowRun(r.Context(), ws, *tr.FlowRunID)
		if err != nil && !apperr.IsNotFound(err) {
			return err
		}
		if fr != nil {
			out.FlowRunName = &fr.Name
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// uiValidateSchema answers whether values fit schema, with the error
// placed under the property it concerns as Prefect's web app reads it.
// Praetor reports the first error only.
func (a *API) uiValidateSchema(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Schema map[string]any `json:"schema"`
		Values map[string]any `json:"values"`
	}
	body, err := decode(w, r, &in, false)
	if err != nil {
		return err
	}
	if err := requireFields(body, sentField{"schema", in.Schema != nil}, sentField{"values", in.Values != nil}); err != nil {
		return err
	}
	err = schemacheck.Validate(in.Schema, in.Values, schemacheck.Options{})
	var se *schemacheck.Error
	switch {
	case errors.Is(err, schemacheck.ErrInvalidSchema):
		return detail(http.StatusUnprocessableEntity, "Invalid schema: %s", err)
	case errors.As(err, &se):
		writeJSON(w, http.StatusOK, map[string]any{"errors": []any{placeError(se)}, "valid": false})
		return nil
	case err != nil:
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"errors": []any{}, "valid": true})
	return nil
}

// placeError nests a validation error under its field's path, as
// Prefect's build_error_obj does: {"property": p, "errors": […]} for an
// object member, {"index": i, …} for an array item, the bare message at
// the top.
func placeError(e *schemacheck.Error) any {
	var out any = e.Reason
	if e.Field == "" {
		return out
	}
	path := strings.Split(e.Field, ".")
	for i := len(path) - 1; i >= 0; i-- {
		if n, err := strconv.Atoi(path[i]); err == nil && i > 0 {
			out = map[string]any{"index": n, "errors": []any{out}}
		} else {
			out = map[string]any{"property": path[i], "errors": []any{out}}
		}
	}
	return out
}
