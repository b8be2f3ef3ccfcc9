package api

import (
	"encoding/json"
	"net/http"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

func (a *API) taskRunRoutes() {
	a.route("POST", "/task_runs/", "create:task_run", a.createTaskRun)
	a.route("GET", "/task_runs/{id}", "read:task_run", readByID(a.Store.GetTaskRun, "Task not found"))
	a.route("PATCH", "/task_runs/{id}", "update:task_run", a.updateTaskRun)
	a.route("DELETE", "/task_runs/{id}", "delete:task_run", deleteByID(a.Store.DeleteTaskRun, "Task not found"))
	a.route("POST", "/task_runs/filter", "read:task_run", query(runQuery(store.TaskRunSorts), a.Store.ListTaskRuns))
	a.route("POST", "/task_runs/count", "read:task_run", query(runQuery(nil), a.Store.CountTaskRuns))
	a.route("POST", "/task_runs/history", "read:task_run", a.runHistory(true))
	a.route("POST", "/task_runs/paginate", "read:task_run", paginate[store.RunQuery](store.TaskRunSorts, a.Store.ListTaskRuns, a.Store.CountTaskRuns))
	a.route("POST", "/task_runs/{id}/set_state", "update:task_run", setStateRoute(a.Store.SetTaskRunState, "Task run with id %s not found"))
	a.route("GET", "/task_run_states/", "read:task_run", a.listTaskRunStates)
	a.route("GET", "/task_run_states/{id}", "read:task_run", readByID(a.Store.GetTaskRunState, "Flow run state not found"))
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
		return required(body, "string_type", "Input should be a valid string", "task_key")
	}
	if in.DynamicKey == nil {
		return required(body, "string_type", "Input should be a valid string", "dynamic_key")
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
		run.Name = model.RunName()
	}
	if in.EmpiricalPolicy != nil {
		run.EmpiricalPolicy = *in.EmpiricalPolicy
	}
	created, err := a.Store.CreateTaskRun(r.Context(), workspaceID(r), run, initial)
	if apperr.IsNotFound(err) {
		// As in Prefect, a missing flow run is a foreign-key conflict.
		return detail(http.StatusConflict, integrityConflict)
	}
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
		Name json.RawMessage `json:"name"`
	}
	body, err := decode(w, r, &in, false)
	if err != nil {
		return err
	}
	name, rename, err := newTaskRunName(body, in.Name)
	if err != nil {
		return err
	}
	err = a.Store.UpdateTaskRun(r.Context(), workspaceID(r), id, func(run *model.TaskRun) error {
		if rename {
			run.Name = name
		}
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// newTaskRunName reads the name member of a task run update. Like
// Prefect's, a name sent as null or another false value (an empty string,
// list or object, 0, false) is replaced by a generated one.
func newTaskRunName(body []byte, raw json.RawMessage) (string, bool, error) {
	if raw == nil {
		return "", false, nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", false, err
	}
	var falsy bool
	switch x := v.(type) {
	case nil:
		falsy = true
	case string:
		if x != "" {
			return x, true, nil
		}
		falsy = true
	case bool:
		falsy = !x
	case float64:
		falsy = x == 0
	case []any:
		falsy = len(x) == 0
	case map[string]any:
		falsy = len(x) == 0
	}
	if falsy {
		return model.RunName(), true, nil
	}
	return "", false, invalid(body, fieldErr("string_type", "Input should be a valid string", v, "name"))
}

func (a *API) listTaskRunStates(w http.ResponseWriter, r *http.Request) error {
	return a.listStates(w, r, "task_run_id", a.Store.ListTaskRunStates)
}
