package api

import (
	"net/http"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/model"
)

func (a *API) taskRunRoutes() {
	a.route("POST", "/task_runs/", "create:task_run", a.createTaskRun)
	a.route("GET", "/task_runs/{id}", "read:task_run", readByID(a.Store.GetTaskRun))
	a.route("PATCH", "/task_runs/{id}", "update:task_run", a.updateTaskRun)
	a.route("DELETE", "/task_runs/{id}", "delete:task_run", deleteByID(a.Store.DeleteTaskRun))
	a.route("POST", "/task_runs/filter", "read:task_run", query(runQuery, a.Store.ListTaskRuns))
	a.route("POST", "/task_runs/count", "read:task_run", query(runQuery, a.Store.CountTaskRuns))
	a.route("POST", "/task_runs/{id}/set_state", "update:task_run", a.setTaskRunState)
	a.route("GET", "/task_run_states/", "read:task_run", a.listTaskRunStates)
	a.route("GET", "/task_run_states/{id}", "read:task_run", readByID(a.Store.GetTaskRunState))
}

func (a *API) createTaskRun(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		ID              *uuid.UUID                      `json:"id"`
		Name            *string                         `json:"name"`
		FlowRunID       *uuid.UUID                      `json:"flow_run_id"`
		TaskKey         *string                         `json:"task_key"`
		DynamicKey      *string                         `json:"dynamic_key"`
		CacheKey        *string                         `json:"cache_key"`
		CacheExpiration *model.Time                     `json:"cache_expiration"`
		TaskVersion     *string                         `json:"task_version"`
		EmpiricalPolicy *model.TaskRunPolicy            `json:"empirical_policy"`
		Tags            []string                        `json:"tags"`
		Labels          map[string]any                  `json:"labels"`
		TaskInputs      map[string][]model.TaskRunInput `json:"task_inputs"`
		State           *model.StateCreate              `json:"state"`
	}
	body, err := decode(w, r, &in, false)
	if err != nil {
		return err
	}
	if in.TaskKey == nil {
		return invalid(body, fieldErr("missing", "Field required", nil, "task_key"))
	}
	if in.DynamicKey == nil {
		return invalid(body, fieldErr("missing", "Field required", nil, "dynamic_key"))
	}
	initial := model.StateCreate{Type: model.Pending}
	if in.State != nil {
		if err := stateCreate(body, in.State, "state"); err != nil {
			return err
		}
		initial = *in.State
	}
	run := &model.TaskRun{ID: uuid.Must(uuid.NewV7()), FlowRunID: in.FlowRunID, TaskKey: *in.TaskKey, DynamicKey: *in.DynamicKey,
		CacheKey: in.CacheKey, CacheExpiration: in.CacheExpiration, TaskVersion: in.TaskVersion, Tags: in.Tags,
		Labels: in.Labels, TaskInputs: in.TaskInputs}
	if in.ID != nil {
		run.ID = *in.ID
	}
	if in.Name != nil && *in.Name != "" {
		run.Name = *in.Name
	} else {
		run.Name = runName()
	}
	if in.EmpiricalPolicy != nil {
		run.EmpiricalPolicy = *in.EmpiricalPolicy
	}
	created, err := a.Store.CreateTaskRun(r.Context(), workspaceID(r), run, initial)
	if err != nil {
		return err
	}
	writeJSON(w, createdStatus(created), run)
	return nil
}

func (a *API) updateTaskRun(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in struct {
		Name *string `json:"name"`
	}
	if _, err := decode(w, r, &in, true); err != nil {
		return err
	}
	err = a.Store.UpdateTaskRun(r.Context(), workspaceID(r), id, func(run *model.TaskRun) error {
		if in.Name != nil {
			run.Name = *in.Name
		}
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) setTaskRunState(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	proposed, force, err := decodeSetState(w, r)
	if err != nil {
		return err
	}
	ws := workspaceID(r)
	before, err := a.Store.GetTaskRun(r.Context(), ws, id)
	if err != nil {
		return err
	}
	res, err := a.Store.SetTaskRunState(r.Context(), ws, id, proposed, force)
	if err != nil {
		return err
	}
	writeOrchestration(w, res, before.State)
	return nil
}

func (a *API) listTaskRunStates(w http.ResponseWriter, r *http.Request) error {
	return a.listStates(w, r, "task_run_id", a.Store.ListTaskRunStates)
}
