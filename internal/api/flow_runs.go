package api

import (
	"context"
	"net/http"
	"slices"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/orchestration"
	"github.com/praetorhq/praetor/internal/rungraph"
	"github.com/praetorhq/praetor/internal/store"
)

func (a *API) flowRunRoutes() {
	a.route("POST", "/flow_runs/", "create:flow_run", a.createFlowRun)
	a.route("GET", "/flow_runs/{id}", "read:flow_run", readByID(a.Store.GetFlowRun, "Flow run not found"))
	a.route("PATCH", "/flow_runs/{id}", "update:flow_run", a.updateFlowRun)
	a.route("PATCH", "/flow_runs/{id}/labels", "update:flow_run", a.updateFlowRunLabels)
	a.route("DELETE", "/flow_runs/{id}", "delete:flow_run", deleteByID(store.DeleteOne(a.Store.DeleteFlowRuns), "Flow run not found"))
	a.route("POST", "/flow_runs/bulk_delete", "delete:flow_run", bulkDelete(a.runsMatching, func(r *model.FlowRun) uuid.UUID { return r.ID }, a.Store.DeleteFlowRuns))
	a.route("POST", "/flow_runs/bulk_set_state", "update:flow_run", a.bulkSetState)
	a.route("POST", "/flow_runs/history", "read:flow_run", a.runHistory(false))
	a.route("POST", "/flow_runs/lateness", "read:flow_run", a.lateness)
	a.route("POST", "/flow_runs/paginate", "read:flow_run", paginate[store.RunQuery](store.FlowRunSorts, a.Store.ListFlowRuns, a.Store.CountFlowRuns))
	a.route("POST", "/flow_runs/filter", "read:flow_run", query(runQuery(store.FlowRunSorts), a.Store.ListFlowRuns))
	a.route("POST", "/flow_runs/count", "read:flow_run", query(runQuery(nil), a.Store.CountFlowRuns))
	a.route("POST", "/flow_runs/{id}/set_state", "update:flow_run", setStateRoute(a.Store.SetFlowRunState, "Flow run with id %s not found"))
	a.route("POST", "/flow_runs/{id}/resume", "update:flow_run", a.resumeFlowRun)
	a.route("GET", "/flow_runs/{id}/graph", "read:flow_run", a.flowRunGraph)
	a.route("GET", "/flow_runs/{id}/graph-v2", "read:flow_run", a.flowRunGraphV2)
	a.route("GET", "/flow_runs/{id}/logs/download", "read:log", a.downloadLogs)
	a.route("GET", "/flow_run_states/", "read:flow_run", a.listFlowRunStates)
	a.route("GET", "/flow_run_states/{id}", "read:flow_run", readByID(a.Store.GetFlowRunState, "Flow run state not found"))
}

// stateCreate validates a proposed state; loc is its location in the body.
func stateCreate(body []byte, s *model.StateCreate, loc ...any) error {
	typeLoc := append(slices.Clip(loc), "type")
	if _, sent := memberAt(body, typeLoc...); !sent {
		return invalid(body, fieldErr("missing", "Field required", nil, typeLoc...))
	}
	if !s.Type.Valid() {
		return invalid(body, fieldErr("enum", "Input should be 'SCHEDULED', 'PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED', 'CRASHED', 'PAUSED' or 'CANCELLING'", s.Type, append(loc, "type")...))
	}
	return nil
}

func (a *API) createFlowRun(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		State                    *model.StateCreate   `json:"state"`
		Name                     *string              `json:"name"`
		FlowID                   *uuid.UUID           `json:"flow_id"`
		DeploymentID             *uuid.UUID           `json:"deployment_id"`
		FlowVersion              *string              `json:"flow_version"`
		Parameters               map[string]any       `json:"parameters"`
		Context                  map[string]any       `json:"context"`
		ParentTaskRunID          *uuid.UUID           `json:"parent_task_run_id"`
		InfrastructureDocumentID *uuid.UUID           `json:"infrastructure_document_id"`
		EmpiricalPolicy          *model.FlowRunPolicy `json:"empirical_policy"`
		Tags                     []string             `json:"tags"`
		Labels                   map[string]any       `json:"labels"`
		IdempotencyKey           *string              `json:"idempotency_key"`
		WorkQueueName            *string              `json:"work_queue_name"`
		JobVariables             map[string]any       `json:"job_variables"`
	}
	body, err := decode(w, r, &in, false)
	if err != nil {
		return err
	}
	if in.FlowID == nil {
		return required(body, "uuid_type", "UUID input should be a string, bytes or UUID object", "flow_id")
	}
	initial := model.StateCreate{Type: model.Pending}
	if in.State != nil {
		if err := stateCreate(body, in.State, "state"); err != nil {
			return err
		}
		initial = *in.State
	}
	run := &model.FlowRun{
		ID: uuid.Must(uuid.NewV7()), FlowID: *in.FlowID, DeploymentID: in.DeploymentID, FlowVersion: in.FlowVersion,
		Parameters: in.Parameters, Context: in.Context, ParentTaskRunID: in.ParentTaskRunID,
		InfrastructureDocumentID: in.InfrastructureDocumentID, Tags: in.Tags, Labels: in.Labels,
		IdempotencyKey: in.IdempotencyKey, WorkQueueName: in.WorkQueueName, JobVariables: in.JobVariables,
	}
	if in.Name != nil && *in.Name != "" {
		run.Name = *in.Name
	} else {
		run.Name = model.RunName()
	}
	if in.EmpiricalPolicy != nil {
		run.EmpiricalPolicy = mirrorRetryPolicy(*in.EmpiricalPolicy)
	}
	if run.Labels == nil {
		run.Labels = map[string]any{}
	}
	run.Labels["prefect.flow.id"] = in.FlowID.String()
	created, err := a.Store.CreateFlowRun(r.Context(), workspaceID(r), run, initial)
	if apperr.IsNotFound(err) {
		// As in Prefect, a missing flow is a foreign-key conflict.
		return detail(http.StatusConflict, integrityConflict)
	}
	if err != nil {
		return err
	}
	writeJSON(w, createdStatus(created), run)
	return nil
}

// mirrorRetryPolicy fills retries/retry_delay from the deprecated
// max_retries/retry_delay_seconds when only those were sent, as Prefect does.
func mirrorRetryPolicy(p model.FlowRunPolicy) model.FlowRunPolicy {
	if p.Retries == nil && p.MaxRetries != 0 {
		n := p.MaxRetries
		p.Retries = &n
	}
	if p.RetryDelay == nil && p.RetryDelaySeconds != 0 {
		d := p.RetryDelaySeconds
		p.RetryDelay = &d
	}
	if p.PauseKeys == nil {
		p.PauseKeys = []string{}
	}
	return p
}

func (a *API) updateFlowRun(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in struct {
		Name              *string              `json:"name"`
		FlowVersion       *string              `json:"flow_version"`
		Parameters        map[string]any       `json:"parameters"`
		EmpiricalPolicy   *model.FlowRunPolicy `json:"empirical_policy"`
		Tags              []string             `json:"tags"`
		InfrastructurePID *string              `json:"infrastructure_pid"`
		JobVariables      map[string]any       `json:"job_variables"`
	}
	if _, err := decode(w, r, &in, false); err != nil {
		return err
	}
	err = a.Store.UpdateFlowRun(r.Context(), workspaceID(r), id, func(run *model.FlowRun) error {
		if in.Name != nil {
			run.Name = *in.Name
		}
		if in.FlowVersion != nil {
			run.FlowVersion = in.FlowVersion
		}
		if in.Parameters != nil {
			run.Parameters = in.Parameters
		}
		if in.EmpiricalPolicy != nil {
			run.EmpiricalPolicy = mirrorRetryPolicy(*in.EmpiricalPolicy)
		}
		if in.Tags != nil {
			run.Tags = in.Tags
		}
		if in.InfrastructurePID != nil {
			run.InfrastructurePID = in.InfrastructurePID
		}
		if in.JobVariables != nil {
			run.JobVariables = in.JobVariables
		}
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) updateFlowRunLabels(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var labels map[string]any
	if _, err := decode(w, r, &labels, false); err != nil {
		return err
	}
	err = a.Store.UpdateFlowRun(r.Context(), workspaceID(r), id, func(run *model.FlowRun) error {
		for k, v := range labels {
			run.Labels[k] = v
		}
		return nil
	})
	if err != nil {
		return objectNotFound(err, "Flow run with id %s not found", id)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// setStateBody is the body of set_state.
type setStateBody struct {
	State *model.StateCreate `json:"state"`
	Force bool               `json:"force"`
}

func decodeSetState(w http.ResponseWriter, r *http.Request) (model.StateCreate, bool, error) {
	var in setStateBody
	body, err := decode(w, r, &in, false)
	if err != nil {
		return model.StateCreate{}, false, err
	}
	if in.State == nil {
		return model.StateCreate{}, false, invalid(body, fieldErr("missing", "Field required", nil, "state"))
	}
	if err := stateCreate(body, in.State, "state"); err != nil {
		return model.StateCreate{}, false, err
	}
	return *in.State, in.Force, nil
}

// writeOrchestration answers a set_state call: 201 when a state was written.
func writeOrchestration(w http.ResponseWriter, res *orchestration.Result) {
	status := http.StatusOK
	if res.Written {
		status = http.StatusCreated
	}
	writeJSON(w, status, res)
}

// setStateRoute answers POST …/{id}/set_state; missing is Prefect's 404 message
// for an unknown run.
func setStateRoute(set func(ctx context.Context, ws, id uuid.UUID, proposed model.StateCreate, force bool) (*orchestration.Result, error), missing string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		proposed, force, err := decodeSetState(w, r)
		if err != nil {
			return err
		}
		res, err := set(r.Context(), workspaceID(r), id, proposed, force)
		if err != nil {
			return objectNotFound(err, missing, id)
		}
		writeOrchestration(w, res)
		return nil
	}
}

func (a *API) resumeFlowRun(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in struct {
		RunInput map[string]any `json:"run_input"`
	}
	if _, err := decode(w, r, &in, true); err != nil {
		return err
	}
	res, err := a.Store.ResumeFlowRun(r.Context(), workspaceID(r), id, in.RunInput)
	if err != nil {
		return err
	}
	writeOrchestration(w, res)
	return nil
}

// graphNode is one task run of GET /flow_runs/{id}/graph.
type graphNode struct {
	ID                   uuid.UUID            `json:"id"`
	Name                 string               `json:"name"`
	UpstreamDependencies []model.TaskRunInput `json:"upstream_dependencies"`
	State                *model.State         `json:"state"`
	ExpectedStartTime    *model.Time          `json:"expected_start_time"`
	StartTime            *model.Time          `json:"start_time"`
	EndTime              *model.Time          `json:"end_time"`
	TotalRunTime         float64              `json:"total_run_time"`
	EstimatedRunTime     float64              `json:"estimated_run_time"`
	UntrackableResult    bool                 `json:"untrackable_result"`
}

func (a *API) flowRunGraph(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	ws := workspaceID(r)
	if _, err := a.Store.GetFlowRun(r.Context(), ws, id); err != nil {
		return objectNotFound(err, "Flow run with id %s not found", id)
	}
	nodes, err := a.graph(r, ws, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, nodes)
	return nil
}

// graph lists a flow run's task runs with their upstream task-run and
// flow-run dependencies, read from task_inputs.
func (a *API) graph(r *http.Request, ws, flowRunID uuid.UUID) ([]graphNode, error) {
	runs, err := rungraph.TaskRuns(r.Context(), a.Store, ws, flowRunID, 0)
	if err != nil {
		return nil, err
	}
	nodes := make([]graphNode, 0, len(runs))
	for _, tr := range runs {
		n := graphNode{ID: tr.ID, Name: tr.Name, UpstreamDependencies: rungraph.Upstream(tr), State: tr.State,
			ExpectedStartTime: tr.ExpectedStartTime, StartTime: tr.StartTime, EndTime: tr.EndTime,
			TotalRunTime: tr.TotalRunTime, EstimatedRunTime: tr.EstimatedRunTime}
		if tr.State != nil {
			n.UntrackableResult = tr.State.StateDetails.UntrackableResult
		}
		nodes = append(nodes, n)
	}
	return nodes, nil
}

func (a *API) listFlowRunStates(w http.ResponseWriter, r *http.Request) error {
	return a.listStates(w, r, "flow_run_id", a.Store.ListFlowRunStates)
}

type stateLister func(ctx context.Context, ws, runID uuid.UUID) ([]*model.State, error)

func (a *API) listStates(w http.ResponseWriter, r *http.Request, param string, list stateLister) error {
	if !r.URL.Query().Has(param) {
		return queryMissing(param)
	}
	runID, err := uuid.Parse(r.URL.Query().Get(param))
	if err != nil {
		return queryInvalid("uuid_parsing", "Input should be a valid UUID", r.URL.Query().Get(param), param)
	}
	states, err := list(r.Context(), workspaceID(r), runID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, states)
	return nil
}
