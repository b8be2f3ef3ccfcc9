package api

import (
	"net/http"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

func (a *API) logRoutes() {
	a.route("POST", "/logs/", "create:log", a.createLogs)
	a.route("POST", "/logs/filter", "read:log", query(filterQuery[store.LogQuery](store.LogSorts), a.Store.ListLogs))
}

func (a *API) createLogs(w http.ResponseWriter, r *http.Request) error {
	var in []struct {
		Name      *string     `json:"name"`
		Level     *int        `json:"level"`
		Message   *string     `json:"message"`
		Timestamp *model.Time `json:"timestamp"`
		FlowRunID *uuid.UUID  `json:"flow_run_id"`
		TaskRunID *uuid.UUID  `json:"task_run_id"`
		WorkerID  *uuid.UUID  `json:"worker_id"`
	}
	body, err := decode(w, r, &in, false)
	if err != nil {
		if notList(body) {
			// Prefect declares the batch a Sequence, whose error differs
			// from a list's.
			return invalid(body, fieldError{Type: "is_instance_of", Loc: []any{"body"}, Msg: "Input should be an instance of Sequence", Input: jsonOrString(body)})
		}
		return err
	}
	logs := make([]*model.Log, 0, len(in))
	for i, l := range in {
		for _, f := range []struct {
			name    string
			missing bool
		}{{"name", l.Name == nil}, {"level", l.Level == nil}, {"message", l.Message == nil}, {"timestamp", l.Timestamp == nil}} {
			if f.missing {
				return invalid(body, fieldErr("missing", "Field required", nil, i, f.name))
			}
		}
		logs = append(logs, &model.Log{Name: *l.Name, Level: *l.Level, Message: *l.Message, Timestamp: *l.Timestamp,
			FlowRunID: l.FlowRunID, TaskRunID: l.TaskRunID, WorkerID: l.WorkerID})
	}
	if err := a.Store.CreateLogs(r.Context(), workspaceID(r), logs); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, nil)
	return nil
}
