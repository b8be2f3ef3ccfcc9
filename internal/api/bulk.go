package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/orchestration"
	"github.com/praetorhq/praetor/internal/schemacheck"
	"github.com/praetorhq/praetor/internal/store"
)

// Prefect's bounds on its bulk routes.
const (
	bulkLimit       = 50  // objects a bulk delete or set_state touches
	bulkCreateLimit = 100 // runs one create_flow_run/bulk makes
)

// pageQuery is a list query whose page the paginate routes set.
type pageQuery[Q any] interface {
	*Q
	store.Paged
	SetPage(limit, offset int)
}

// paginate answers a …/paginate route: the 1-based page of a filter
// (200 a page unless the body says) with the count of all matches.
func paginate[Q any, P pageQuery[Q], T any](sorts []string, list func(context.Context, uuid.UUID, Q) ([]T, error), count func(context.Context, uuid.UUID, Q) (int, error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var q Q
		body, err := decode(w, r, &q, true)
		if err != nil {
			return err
		}
		var in struct {
			Page *int `json:"page"`
		}
		if len(body) > 0 {
			if err := json.Unmarshal(body, &in); err != nil {
				return decodeError(body, &in, err)
			}
		}
		limit, _, sort := P(&q).Page()
		if limit == 0 {
			limit = 200
		}
		if err := checkLimit(limit, 200); err != nil {
			return err
		}
		if err := checkSort(body, sort, sorts); err != nil {
			return err
		}
		page := 1
		if in.Page != nil {
			page = *in.Page
		}
		if page < 1 {
			return invalid(body, fieldErr("greater_than_equal", "Input should be greater than or equal to 1", page, "page"))
		}
		P(&q).SetPage(limit, (page-1)*limit)
		ws := workspaceID(r)
		results, err := list(r.Context(), ws, q)
		if err != nil {
			return err
		}
		n, err := count(r.Context(), ws, q)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]any{"results": results, "count": n, "limit": limit,
			"pages": (n + limit - 1) / limit, "page": page})
		return nil
	}
}

// bulkBodyLimit reads a bulk route's "limit": 1 to bulkLimit, bulkLimit
// when not sent.
func bulkBodyLimit(body []byte, limit *int) (int, error) {
	switch {
	case limit == nil:
		return bulkLimit, nil
	case *limit < 1:
		return 0, invalid(body, fieldErr("greater_than_equal", "Input should be greater than or equal to 1", *limit, "limit"))
	case *limit > bulkLimit:
		return 0, invalid(body, fieldErr("less_than_equal", "Input should be less than or equal to 50", *limit, "limit"))
	}
	return *limit, nil
}

// bulkDelete answers a bulk_delete route: it lists at most limit objects
// with the filter in the body, deletes them in one transaction and returns
// their ids.
func bulkDelete[T any](list func(ctx context.Context, ws uuid.UUID, body []byte, limit int) ([]T, error), id func(T) uuid.UUID, del store.BulkDelete) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var in struct {
			Limit *int `json:"limit"`
		}
		body, err := decode(w, r, &in, true)
		if err != nil {
			return err
		}
		limit, err := bulkBodyLimit(body, in.Limit)
		if err != nil {
			return err
		}
		ws := workspaceID(r)
		found, err := list(r.Context(), ws, body, limit)
		if err != nil {
			return err
		}
		ids := make([]uuid.UUID, len(found))
		for i, f := range found {
			ids[i] = id(f)
		}
		deleted, err := del(r.Context(), ws, ids)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]any{"deleted": deleted})
		return nil
	}
}

// runsMatching lists the flow runs that the "flow_runs" filter of body
// selects, at most limit of them.
func (a *API) runsMatching(ctx context.Context, ws uuid.UUID, body []byte, limit int) ([]*model.FlowRun, error) {
	var in struct {
		FlowRuns *store.FlowRunFilter `json:"flow_runs"`
	}
	if err := unmarshalBody(body, &in); err != nil {
		return nil, err
	}
	return a.Store.ListFlowRuns(ctx, ws, store.RunQuery{FlowRuns: in.FlowRuns, Limit: limit})
}

func (a *API) flowsMatching(ctx context.Context, ws uuid.UUID, body []byte, limit int) ([]*model.Flow, error) {
	var in struct {
		Flows *store.FlowFilter `json:"flows"`
	}
	if err := unmarshalBody(body, &in); err != nil {
		return nil, err
	}
	return a.Store.ListFlows(ctx, ws, store.RunQuery{Flows: in.Flows, Limit: limit})
}

func (a *API) deploymentsMatching(ctx context.Context, ws uuid.UUID, body []byte, limit int) ([]*model.Deployment, error) {
	var in struct {
		Deployments *store.DeploymentFilter `json:"deployments"`
	}
	if err := unmarshalBody(body, &in); err != nil {
		return nil, err
	}
	return a.Store.ListDeployments(ctx, ws, store.DeploymentQuery{Deployments: in.Deployments, Limit: limit})
}

// unmarshalBody decodes an already read body, with FastAPI's 422 when it
// does not fit v; an empty body leaves v as it is.
func unmarshalBody(body []byte, v any) error {
	if len(body) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return decodeError(body, v, err)
	}
	if e, found := badEnum(reflect.ValueOf(v), nil); found {
		return invalid(body, e)
	}
	return nil
}

// bulkSetState answers POST /flow_runs/bulk_set_state: each matching run
// (at most limit) is orchestrated on its own, as Prefect does, and gets its
// own result.
func (a *API) bulkSetState(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		setStateBody
		Limit *int `json:"limit"`
	}
	body, err := decode(w, r, &in, false)
	if err != nil {
		return err
	}
	if in.State == nil {
		return invalid(body, fieldErr("missing", "Field required", nil, "state"))
	}
	if err := stateCreate(body, in.State, "state"); err != nil {
		return err
	}
	limit, err := bulkBodyLimit(body, in.Limit)
	if err != nil {
		return err
	}
	ws := workspaceID(r)
	runs, err := a.runsMatching(r.Context(), ws, body, limit)
	if err != nil {
		return err
	}
	type result struct {
		FlowRunID uuid.UUID `json:"flow_run_id"`
		*orchestration.Result
	}
	results := make([]result, 0, len(runs))
	for _, run := range runs {
		res, err := a.Store.SetFlowRunState(r.Context(), ws, run.ID, *in.State, in.Force)
		if err != nil {
			return err
		}
		results = append(results, result{FlowRunID: run.ID, Result: res})
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": results})
	return nil
}

// bulkCreateFlowRuns answers POST /deployments/{id}/create_flow_run/bulk:
// each run is made by create_flow_run's rules, and one that cannot be made
// is a FAILED result with the reason, as in Prefect.
func (a *API) bulkCreateFlowRuns(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in []deploymentRunBody
	body, err := decode(w, r, &in, false)
	if err != nil {
		return err
	}
	if len(in) > bulkCreateLimit {
		return detail(http.StatusBadRequest, "Cannot create more than %d flow runs at once.", bulkCreateLimit)
	}
	for i := range in {
		if in[i].State != nil {
			if err := stateCreate(body, in[i].State, i, "state"); err != nil {
				return err
			}
		}
	}
	ws := workspaceID(r)
	if _, err := a.Store.GetDeployment(r.Context(), ws, id); err != nil {
		return notFound(err, "Deployment not found")
	}
	type result struct {
		FlowRunID *uuid.UUID `json:"flow_run_id"`
		Status    string     `json:"status"`
		Error     *string    `json:"error"`
	}
	results := make([]result, 0, len(in))
	for i := range in {
		run, _, err := a.runDeployment(r.Context(), ws, id, &in[i])
		var (
			se *schemacheck.Error
			ae *apiError
		)
		switch {
		case errors.As(err, &se):
			msg := "Parameter validation failed: " + se.Error()
			results = append(results, result{Status: "FAILED", Error: &msg})
		case errors.As(err, &ae):
			msg := ae.message()
			results = append(results, result{Status: "FAILED", Error: &msg})
		case err != nil:
			return err
		default:
			results = append(results, result{FlowRunID: &run.ID, Status: "CREATED"})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": results})
	return nil
}
