package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

// The /work_queues routes Prefect keeps from before work pools, and the
// concurrency views of pools and queues.
func (a *API) workQueueRoutes() {
	a.route("POST", "/work_queues/", "create:work_queue", a.createLegacyQueue)
	// Polling marks the queue READY: the poll permission, as for a pool.
	a.route("POST", "/work_queues/{id}/get_runs", "poll:work_pool", a.workQueueRuns)
	a.idRoute("GET", "/work_queues/{id}/status", "read:work_queue", a.workQueueStatus)
	a.route("POST", "/work_queues/{id}/concurrency_status", "read:work_queue", a.workQueueConcurrency)
	a.route("POST", "/work_pools/{name}/concurrency_status", "read:work_pool", a.workPoolConcurrency)
	a.route("GET", "/deployments/{id}/work_queue_check", "read:work_queue", a.deploymentWorkQueueCheck)
}

// defaultAgentPool is the pool Prefect puts a queue created without one in,
// creating it when missing.
const defaultAgentPool = "default-agent-pool"

func (a *API) createLegacyQueue(w http.ResponseWriter, r *http.Request) error {
	var in workQueueBody
	body, err := decode(w, r, &in, false)
	if err != nil {
		return err
	}
	if in.Name == nil {
		return required(body, "string_type", "Input should be a valid string", "name")
	}
	if err := checkQueueBody(body, &in); err != nil {
		return err
	}
	ctx, ws := r.Context(), workspaceID(r)
	if _, err := a.Store.GetWorkPool(ctx, ws, defaultAgentPool); apperr.IsNotFound(err) {
		p := &model.WorkPool{Name: defaultAgentPool, Type: "prefect-agent"}
		err := a.Store.CreateWorkPool(ctx, ws, p)
		switch {
		case err == nil && *in.Name == "default":
			// The new pool's own default queue is the one asked for.
			q, err := a.Store.GetWorkQueue(ctx, ws, p.DefaultQueueID)
			if err != nil {
				return err
			}
			writeJSON(w, http.StatusCreated, q)
			return nil
		case err != nil && apperr.ErrorCode(err) != apperr.EConflict: // a conflict: made meanwhile
			return err
		}
	} else if err != nil {
		return err
	}
	description := ""
	if in.Description != nil {
		description = *in.Description
	}
	q := &model.WorkQueue{Name: *in.Name, Description: &description, ConcurrencyLimit: in.ConcurrencyLimit}
	if in.IsPaused != nil {
		q.IsPaused = *in.IsPaused
	}
	if in.Priority != nil {
		q.Priority = *in.Priority
	}
	if err := a.Store.CreateWorkQueue(ctx, ws, defaultAgentPool, q); err != nil {
		if apperr.ErrorCode(err) == apperr.EConflict {
			return detail(http.StatusConflict, "A work queue with this name already exists.")
		}
		return err
	}
	writeJSON(w, http.StatusCreated, q)
	return nil
}

// workQueueRuns is the legacy poll of one queue. The UI's calls (the
// X-Prefect-UI header) only look, and mark nothing polled.
func (a *API) workQueueRuns(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in struct {
		Limit           *int        `json:"limit"`
		ScheduledBefore *model.Time `json:"scheduled_before"`
	}
	if _, err := decode(w, r, &in, true); err != nil {
		return err
	}
	poll := store.WorkPoolPoll{Limit: 200}
	if in.Limit != nil {
		if err := checkLimit(*in.Limit, 200); err != nil {
			return err
		}
		poll.Limit = *in.Limit
	}
	if in.ScheduledBefore != nil {
		poll.Before = &in.ScheduledBefore.Time
	}
	ui, _ := strconv.ParseBool(r.Header.Get("X-Prefect-Ui"))
	runs, err := a.Store.PollWorkQueue(r.Context(), workspaceID(r), id, poll, !ui)
	if err != nil {
		return objectNotFound(err, "Work queue with id %s not found.", id)
	}
	writeJSON(w, http.StatusOK, runs)
	return nil
}

// queueHealth is Prefect's only work queue health policy.
var queueHealth = map[string]int{"maximum_late_runs": 0, "maximum_seconds_since_last_polled": 60}

// workQueueStatus is Prefect's WorkQueueStatusDetail: a queue is healthy
// without late runs and polled within the last minute.
func (a *API) workQueueStatus(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	ctx, ws := r.Context(), workspaceID(r)
	q, err := a.Store.GetWorkQueue(ctx, ws, id)
	if err != nil {
		return objectNotFound(err, "Work queue with id %s not found", id)
	}
	late := &store.StateFilter{}
	late.Name = &struct {
		Any    []string `json:"any_"`
		NotAny []string `json:"not_any_"`
	}{Any: []string{"Late"}}
	n, err := a.Store.CountFlowRuns(ctx, ws, store.RunQuery{
		FlowRuns:  &store.FlowRunFilter{State: late, WorkQueueName: &store.NameFilter{Any: []string{q.Name}}},
		WorkPools: &store.WorkPoolFilter{ID: &store.IDFilter{Any: []uuid.UUID{q.WorkPoolID}}},
	})
	if err != nil {
		return err
	}
	healthy := n <= queueHealth["maximum_late_runs"] && q.LastPolled != nil &&
		time.Since(q.LastPolled.Time) <= time.Duration(queueHealth["maximum_seconds_since_last_polled"])*time.Second
	writeJSON(w, http.StatusOK, map[string]any{"healthy": healthy, "late_runs_count": n, "last_polled": q.LastPolled,
		"health_check_policy": queueHealth})
	return nil
}

// slotSummary is Prefect's FlowRunSlotSummary: a run holding a
// concurrency slot, and for how many seconds it has been in its state.
type slotSummary struct {
	ID                 uuid.UUID        `json:"id"`
	Name               string           `json:"name"`
	StateType          *model.StateType `json:"state_type"`
	StateName          *string          `json:"state_name"`
	StartTime          *model.Time      `json:"start_time"`
	StateTimestamp     *model.Time      `json:"state_timestamp"`
	TimeInCurrentState *float64         `json:"time_in_current_state"`
}

func slotSummaries(runs []*model.FlowRun, now time.Time) []slotSummary {
	out := make([]slotSummary, 0, len(runs))
	for _, r := range runs {
		s := slotSummary{ID: r.ID, Name: r.Name, StateType: r.StateType, StateName: r.StateName, StartTime: r.StartTime, StateTimestamp: r.StateTimestamp}
		if r.StateTimestamp != nil {
			d := now.Sub(r.StateTimestamp.Time).Seconds()
			s.TimeInCurrentState = &d
		}
		out = append(out, s)
	}
	return out
}

// concurrencyPage is the paging of the concurrency views: page (from 1)
// and limit, checked as Prefect checks them.
func concurrencyPage(body []byte, page, limit *int) (int, int, error) {
	l, p := 200, 1
	if limit != nil {
		if err := checkLimit(*limit, 200); err != nil {
			return 0, 0, err
		}
		l = *limit
	}
	if page != nil {
		if *page < 1 {
			return 0, 0, invalid(body, fieldErr("greater_than_equal", "Input should be greater than or equal to 1", *page, "page"))
		}
		p = *page
	}
	return p, l, nil
}

// pages is how many pages of limit items n items make.
func pages(n, limit int) int {
	if limit <= 0 {
		return 0
	}
	return (n + limit - 1) / limit
}

func (a *API) workQueueConcurrency(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in struct {
		Page  *int `json:"page"`
		Limit *int `json:"limit"`
	}
	body, err := decode(w, r, &in, true)
	if err != nil {
		return err
	}
	page, limit, err := concurrencyPage(body, in.Page, in.Limit)
	if err != nil {
		return err
	}
	ctx, ws := r.Context(), workspaceID(r)
	q, err := a.Store.GetWorkQueue(ctx, ws, id)
	if err != nil {
		return notFound(err, "Work queue not found.")
	}
	runs, total, err := a.Store.WorkQueueSlots(ctx, ws, q.ID, limit, (page-1)*limit)
	if err != nil {
		return err
	}
	if limit == 0 {
		runs = nil // the store's 0 is its default page
	}
	writeJSON(w, http.StatusOK, map[string]any{"active_slots": total, "concurrency_limit": q.ConcurrencyLimit,
		"flow_runs": slotSummaries(runs, a.now()), "count": total, "limit": limit, "pages": pages(total, limit), "page": page})
	return nil
}

func (a *API) workPoolConcurrency(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Page         *int `json:"page"`
		Limit        *int `json:"limit"`
		FlowRunLimit *int `json:"flow_run_limit"`
	}
	body, err := decode(w, r, &in, true)
	if err != nil {
		return err
	}
	page, limit, err := concurrencyPage(body, in.Page, in.Limit)
	if err != nil {
		return err
	}
	perQueue := 10
	if in.FlowRunLimit != nil {
		switch perQueue = *in.FlowRunLimit; {
		case perQueue < 0:
			return invalid(body, fieldErr("greater_than_equal", "Input should be greater than or equal to 0", perQueue, "flow_run_limit"))
		case perQueue > 200:
			return invalid(body, fieldErr("less_than_equal", "Input should be less than or equal to 200", perQueue, "flow_run_limit"))
		}
	}
	ctx, ws, name := r.Context(), workspaceID(r), r.PathValue("name")
	p, err := a.Store.GetWorkPool(ctx, ws, name)
	if err != nil {
		return notFound(err, "Work pool '"+name+"' not found.")
	}
	queues, err := a.Store.ListWorkQueues(ctx, ws, store.WorkQueueQuery{Pool: name})
	if err != nil {
		return err
	}
	slots, err := a.Store.WorkPoolSlots(ctx, ws, p.ID)
	if err != nil {
		return err
	}
	active := 0
	for _, runs := range slots {
		active += len(runs)
	}
	now := a.now()
	details := []map[string]any{}
	for i := (page - 1) * limit; i < len(queues) && i < page*limit; i++ {
		q := queues[i]
		runs := slots[q.ID]
		details = append(details, map[string]any{"queue_id": q.ID, "queue_name": q.Name, "active_slots": len(runs),
			"concurrency_limit": q.ConcurrencyLimit, "flow_runs": slotSummaries(runs[:min(len(runs), perQueue)], now),
			"flow_run_count": len(runs)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"active_slots": active, "concurrency_limit": p.ConcurrencyLimit, "queues": details,
		"count": len(queues), "limit": limit, "pages": pages(len(queues), limit), "page": page})
	return nil
}

// coreQueue is Prefect's core WorkQueue: a queue without its pool's name,
// status or slots.
type coreQueue struct {
	ID               uuid.UUID   `json:"id"`
	Created          model.Time  `json:"created"`
	Updated          model.Time  `json:"updated"`
	Name             string      `json:"name"`
	Description      *string     `json:"description"`
	IsPaused         bool        `json:"is_paused"`
	ConcurrencyLimit *int        `json:"concurrency_limit"`
	Priority         int         `json:"priority"`
	WorkPoolID       uuid.UUID   `json:"work_pool_id"`
	Filter           any         `json:"filter"`
	LastPolled       *model.Time `json:"last_polled"`
}

// deploymentWorkQueueCheck lists the queues that can pick up a
// deployment's runs by their legacy tag filters. Praetor's queues have no
// such filter, so each of them can, as Prefect answers for queues without
// one.
func (a *API) deploymentWorkQueueCheck(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	ctx, ws := r.Context(), workspaceID(r)
	if _, err := a.Store.GetDeployment(ctx, ws, id); err != nil {
		return notFound(err, "Deployment not found")
	}
	queues, err := a.Store.ListWorkQueues(ctx, ws, store.WorkQueueQuery{})
	if err != nil {
		return err
	}
	out := make([]coreQueue, 0, len(queues))
	for _, q := range queues {
		out = append(out, coreQueue{ID: q.ID, Created: q.Created, Updated: q.Updated, Name: q.Name, Description: q.Description,
			IsPaused: q.IsPaused, ConcurrencyLimit: q.ConcurrencyLimit, Priority: q.Priority, WorkPoolID: q.WorkPoolID,
			Filter: q.Filter, LastPolled: q.LastPolled})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
