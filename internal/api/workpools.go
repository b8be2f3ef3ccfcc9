package api

import (
	"errors"
	"maps"
	"net/http"

	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/schemacheck"
	"github.com/praetorhq/praetor/internal/store"
	"github.com/praetorhq/praetor/internal/workertypes"
)

func (a *API) workPoolRoutes() {
	a.route("POST", "/work_pools/", "create:work_pool", a.createWorkPool)
	a.route("GET", "/work_pools/{name}", "read:work_pool", a.readWorkPool)
	a.route("PATCH", "/work_pools/{name}", "update:work_pool", a.updateWorkPool)
	a.route("DELETE", "/work_pools/{name}", "delete:work_pool", a.deleteWorkPool)
	a.route("POST", "/work_pools/filter", "read:work_pool", query(filterQuery[store.WorkPoolQuery]([]string{}), a.Store.ListWorkPools))
	a.route("POST", "/work_pools/count", "read:work_pool", query(filterQuery[store.WorkPoolQuery](nil), a.Store.CountWorkPools))
	// A worker's poll marks what it polled READY: its own permission, so
	// that a viewer cannot make a pool look served.
	a.route("POST", "/work_pools/{name}/get_scheduled_flow_runs", "poll:work_pool", a.pollWorkPool)

	a.route("POST", "/work_pools/{name}/queues", "create:work_queue", a.createPoolQueue)
	a.route("POST", "/work_pools/{name}/queues/filter", "read:work_queue", a.filterPoolQueues)
	a.route("GET", "/work_pools/{name}/queues/{queue}", "read:work_queue", a.readPoolQueue)
	a.route("PATCH", "/work_pools/{name}/queues/{queue}", "update:work_queue", a.updatePoolQueue)
	a.route("DELETE", "/work_pools/{name}/queues/{queue}", "delete:work_queue", a.deletePoolQueue)

	a.route("POST", "/work_pools/{name}/workers/heartbeat", "update:worker", a.workerHeartbeat)
	a.route("POST", "/work_pools/{name}/workers/filter", "read:worker", a.filterWorkers)
	a.route("DELETE", "/work_pools/{name}/workers/{worker}", "delete:worker", a.deleteWorker)
	// Praetor has no worker channel: a 404 on the upgrade makes Prefect's
	// worker fall back to REST polling for good.
	a.route("GET", "/work_pools/{name}/workers/connect", "read:work_pool", func(http.ResponseWriter, *http.Request) error {
		return detail(http.StatusNotFound, "Not Found")
	})

	a.route("GET", "/work_queues/{id}", "read:work_queue", readByID(a.Store.GetWorkQueue, "work queue not found"))
	a.route("GET", "/work_queues/name/{name}", "read:work_queue", a.readWorkQueueByName)
	a.route("PATCH", "/work_queues/{id}", "update:work_queue", a.updateWorkQueueByID)
	a.route("DELETE", "/work_queues/{id}", "delete:work_queue", a.deleteWorkQueueByID)
	a.route("POST", "/work_queues/filter", "read:work_queue", query(filterQuery[store.WorkQueueQuery]([]string{}), a.Store.ListWorkQueues))
}

// reservedPool is Prefect's refusal of names it keeps for its own pools.
var reservedPool = detail(http.StatusForbidden, "Work pools starting with 'Prefect' are reserved for internal use.")

// workPoolBody is Prefect's WorkPoolCreate and WorkPoolUpdate.
type workPoolBody struct {
	Name                 *string                     `json:"name"`
	Description          *string                     `json:"description"`
	Type                 *string                     `json:"type"`
	BaseJobTemplate      map[string]any              `json:"base_job_template"`
	IsPaused             *bool                       `json:"is_paused"`
	ConcurrencyLimit     *int                        `json:"concurrency_limit"`
	StorageConfiguration *model.StorageConfiguration `json:"storage_configuration"`
}

// checkPoolBody checks the members both create and update take.
func checkPoolBody(body []byte, in *workPoolBody) error {
	if in.ConcurrencyLimit != nil && *in.ConcurrencyLimit < 0 {
		return invalid(body, fieldErr("greater_than_equal", "Input should be greater than or equal to 0", *in.ConcurrencyLimit, "concurrency_limit"))
	}
	return checkBaseJobTemplate(in.BaseJobTemplate)
}

// checkBaseJobTemplate refuses a template whose variables are not a JSON
// schema, or whose defaults do not fit it, as Prefect's
// validate_job_variable_defaults_for_work_pool does.
func checkBaseJobTemplate(t map[string]any) error {
	return checkJobVariables(&model.WorkPool{BaseJobTemplate: t}, false, "Invalid default job variables")
}

func (a *API) createWorkPool(w http.ResponseWriter, r *http.Request) error {
	var in workPoolBody
	body, err := decode(w, r, &in, false)
	if err != nil {
		return err
	}
	if in.Name == nil {
		return required(body, "string_type", "Input should be a valid string", "name")
	}
	if err := validName(body, *in.Name, "name"); err != nil {
		return err
	}
	if model.ReservedPoolName(*in.Name) {
		return reservedPool
	}
	if err := checkPoolBody(body, &in); err != nil {
		return err
	}
	// Prefect's default type, kept for old agents' pools.
	p := &model.WorkPool{Name: *in.Name, Type: "prefect-agent", Description: in.Description, BaseJobTemplate: in.BaseJobTemplate,
		ConcurrencyLimit: in.ConcurrencyLimit}
	if in.Type != nil {
		p.Type = *in.Type
	}
	if in.IsPaused != nil {
		p.IsPaused = *in.IsPaused
	}
	if in.StorageConfiguration != nil {
		p.StorageConfiguration = *in.StorageConfiguration
	}
	if err := a.Store.CreateWorkPool(r.Context(), workspaceID(r), p); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, p)
	return nil
}

func (a *API) readWorkPool(w http.ResponseWriter, r *http.Request) error {
	p, err := a.Store.GetWorkPool(r.Context(), workspaceID(r), r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (a *API) updateWorkPool(w http.ResponseWriter, r *http.Request) error {
	var in workPoolBody
	body, err := decode(w, r, &in, false)
	if err != nil {
		return err
	}
	set := members(body)
	name := r.PathValue("name")
	if model.ReservedPoolName(name) {
		for k := range set {
			if k != "is_paused" && k != "concurrency_limit" {
				return detail(http.StatusForbidden, "Work pools starting with 'Prefect' are reserved for internal use and can only be updated to set concurrency limits or pause.")
			}
		}
	}
	if err := checkPoolBody(body, &in); err != nil {
		return err
	}
	err = a.Store.UpdateWorkPool(r.Context(), workspaceID(r), name, func(p *model.WorkPool) error {
		if _, ok := set["description"]; ok {
			p.Description = in.Description
		}
		if in.BaseJobTemplate != nil {
			p.BaseJobTemplate = in.BaseJobTemplate
		}
		if in.IsPaused != nil {
			p.IsPaused = *in.IsPaused
		}
		if _, ok := set["concurrency_limit"]; ok {
			p.ConcurrencyLimit = in.ConcurrencyLimit
		}
		if in.StorageConfiguration != nil {
			p.StorageConfiguration = *in.StorageConfiguration
		}
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) deleteWorkPool(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	if model.ReservedPoolName(name) {
		return detail(http.StatusForbidden, "Work pools starting with 'Prefect' are reserved for internal use and can not be deleted.")
	}
	if err := a.Store.DeleteWorkPool(r.Context(), workspaceID(r), name); err != nil {
		return err
	}
	a.deploymentsChanged()
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) pollWorkPool(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		WorkQueueNames  []string    `json:"work_queue_names"`
		ScheduledBefore *model.Time `json:"scheduled_before"`
		ScheduledAfter  *model.Time `json:"scheduled_after"`
		Limit           int         `json:"limit"`
	}
	if _, err := decode(w, r, &in, true); err != nil {
		return err
	}
	if err := checkLimit(in.Limit, 200); err != nil {
		return err
	}
	p := store.WorkPoolPoll{QueueNames: in.WorkQueueNames, Limit: in.Limit}
	if in.ScheduledBefore != nil {
		p.Before = &in.ScheduledBefore.Time
	}
	if in.ScheduledAfter != nil {
		p.After = &in.ScheduledAfter.Time
	}
	runs, err := a.Store.PollWorkPool(r.Context(), workspaceID(r), r.PathValue("name"), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, runs)
	return nil
}

// workQueueBody is Prefect's WorkQueueCreate and WorkQueueUpdate.
type workQueueBody struct {
	Name             *string `json:"name"`
	Description      *string `json:"description"`
	IsPaused         *bool   `json:"is_paused"`
	ConcurrencyLimit *int    `json:"concurrency_limit"`
	Priority         *int    `json:"priority"`
}

func checkQueueBody(body []byte, in *workQueueBody) error {
	if in.ConcurrencyLimit != nil && *in.ConcurrencyLimit < 0 {
		return invalid(body, fieldErr("greater_than_equal", "Input should be greater than or equal to 0", *in.ConcurrencyLimit, "concurrency_limit"))
	}
	if in.Priority != nil && *in.Priority < 1 {
		return invalid(body, fieldErr("greater_than", "Input should be greater than 0", *in.Priority, "priority"))
	}
	if in.Name != nil {
		return validName(body, *in.Name, "name")
	}
	return nil
}

func (a *API) createPoolQueue(w http.ResponseWriter, r *http.Request) error {
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
	q := &model.WorkQueue{Name: *in.Name, Description: in.Description, ConcurrencyLimit: in.ConcurrencyLimit}
	if in.IsPaused != nil {
		q.IsPaused = *in.IsPaused
	}
	if in.Priority != nil {
		q.Priority = *in.Priority
	}
	if err := a.Store.CreateWorkQueue(r.Context(), workspaceID(r), r.PathValue("name"), q); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, q)
	return nil
}

func (a *API) filterPoolQueues(w http.ResponseWriter, r *http.Request) error {
	q, err := filterQuery[store.WorkQueueQuery]([]string{})(w, r)
	if err != nil {
		return err
	}
	q.Pool = r.PathValue("name")
	queues, err := a.Store.ListWorkQueues(r.Context(), workspaceID(r), q)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, queues)
	return nil
}

// poolQueue reads the queue a /work_pools/{name}/queues/{queue} route names.
func (a *API) poolQueue(r *http.Request) (*model.WorkQueue, error) {
	return a.Store.GetWorkQueueByName(r.Context(), workspaceID(r), r.PathValue("name"), r.PathValue("queue"))
}

func (a *API) readPoolQueue(w http.ResponseWriter, r *http.Request) error {
	q, err := a.poolQueue(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, q)
	return nil
}

func (a *API) updatePoolQueue(w http.ResponseWriter, r *http.Request) error {
	q, err := a.poolQueue(r)
	if err != nil {
		return err
	}
	return a.updateQueue(w, r, q)
}

// updateQueue applies an update body to q.
func (a *API) updateQueue(w http.ResponseWriter, r *http.Request, q *model.WorkQueue) error {
	var in workQueueBody
	body, err := decode(w, r, &in, false)
	if err != nil {
		return err
	}
	if err := checkQueueBody(body, &in); err != nil {
		return err
	}
	set := members(body)
	err = a.Store.UpdateWorkQueue(r.Context(), workspaceID(r), q.ID, func(q *model.WorkQueue) error {
		if in.Name != nil {
			q.Name = *in.Name
		}
		if _, ok := set["description"]; ok {
			q.Description = in.Description
		}
		if in.IsPaused != nil {
			q.IsPaused = *in.IsPaused
		}
		if _, ok := set["concurrency_limit"]; ok {
			q.ConcurrencyLimit = in.ConcurrencyLimit
		}
		if in.Priority != nil {
			q.Priority = *in.Priority
		}
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) deletePoolQueue(w http.ResponseWriter, r *http.Request) error {
	q, err := a.poolQueue(r)
	if err != nil {
		return err
	}
	if err := a.Store.DeleteWorkQueue(r.Context(), workspaceID(r), q.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) workerHeartbeat(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name                     *string `json:"name"`
		HeartbeatIntervalSeconds *int    `json:"heartbeat_interval_seconds"`
	}
	body, err := decode(w, r, &in, false)
	if err != nil {
		return err
	}
	if in.Name == nil {
		return required(body, "string_type", "Input should be a valid string", "name")
	}
	if err := a.Store.WorkerHeartbeat(r.Context(), workspaceID(r), r.PathValue("name"), *in.Name, in.HeartbeatIntervalSeconds); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) filterWorkers(w http.ResponseWriter, r *http.Request) error {
	q, err := filterQuery[store.WorkerQuery]([]string{})(w, r)
	if err != nil {
		return err
	}
	workers, err := a.Store.ListWorkers(r.Context(), workspaceID(r), r.PathValue("name"), q)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, workers)
	return nil
}

func (a *API) deleteWorker(w http.ResponseWriter, r *http.Request) error {
	if err := a.Store.DeleteWorker(r.Context(), workspaceID(r), r.PathValue("name"), r.PathValue("worker")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// readWorkQueueByName reads a queue by name alone, as the client does
// for a queue without a pool: the one of that name, if only one pool has
// one.
func (a *API) readWorkQueueByName(w http.ResponseWriter, r *http.Request) error {
	queues, err := a.Store.ListWorkQueues(r.Context(), workspaceID(r), store.WorkQueueQuery{
		WorkQueues: &store.WorkQueueFilter{Name: &store.NameFilter{Any: []string{r.PathValue("name")}}}, Limit: 2})
	if err != nil {
		return err
	}
	if len(queues) != 1 {
		return detail(http.StatusNotFound, "work queue not found")
	}
	writeJSON(w, http.StatusOK, queues[0])
	return nil
}

// queueByID reads the queue a /work_queues/{id} route names.
func (a *API) queueByID(r *http.Request) (*model.WorkQueue, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return nil, err
	}
	q, err := a.Store.GetWorkQueue(r.Context(), workspaceID(r), id)
	if err != nil {
		return nil, notFound(err, "Work Queue "+id.String()+" not found")
	}
	return q, nil
}

func (a *API) updateWorkQueueByID(w http.ResponseWriter, r *http.Request) error {
	q, err := a.queueByID(r)
	if err != nil {
		return err
	}
	return a.updateQueue(w, r, q)
}

func (a *API) deleteWorkQueueByID(w http.ResponseWriter, r *http.Request) error {
	q, err := a.queueByID(r)
	if err != nil {
		return notFound(err, "work queue not found")
	}
	if err := a.Store.DeleteWorkQueue(r.Context(), workspaceID(r), q.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// checkJobVariables validates job variables against a pool's template,
// its defaults under them, as Prefect's server does; required variables
// are checked only where the variables are final (a flow run's). A
// template without a variables schema takes anything.
func checkJobVariables(pool *model.WorkPool, required bool, what string, layers ...map[string]any) error {
	variables, _ := pool.BaseJobTemplate["variables"].(map[string]any)
	if len(variables) == 0 {
		return nil
	}
	all := map[string]any{}
	if props, ok := variables["properties"].(map[string]any); ok {
		for name, p := range props {
			if prop, ok := p.(map[string]any); ok {
				if v, has := prop["default"]; has {
					all[name] = v
				}
			}
		}
	}
	for _, l := range layers {
		maps.Copy(all, l)
	}
	err := schemacheck.Validate(variables, all, schemacheck.Options{IgnoreRequired: !required})
	var se *schemacheck.Error
	switch {
	case errors.Is(err, schemacheck.ErrInvalidSchema):
		return detail(http.StatusUnprocessableEntity, "Invalid schema: %s", err)
	case errors.As(err, &se):
		return detail(http.StatusUnprocessableEntity, "%s: %s", what, se)
	}
	return err
}

// collectionViews are the views of Prefect's collection registry the
// clients read; Praetor serves its own worker catalogue and no block or
// flow collections (Prefect's server fetches those from the internet).
var collectionViews = map[string]func() map[string]any{
	"aggregate-worker-metadata": workertypes.Metadata,
	"aggregate-block-metadata":  func() map[string]any { return map[string]any{} },
	"aggregate-flow-metadata":   func() map[string]any { return map[string]any{} },
	"demo-flows":                func() map[string]any { return map[string]any{} },
}

func (a *API) collectionRoutes() {
	a.route("GET", "/collections/views/{view}", "read:work_pool", func(w http.ResponseWriter, r *http.Request) error {
		view, ok := collectionViews[r.PathValue("view")]
		if !ok {
			return detail(http.StatusNotFound, "View %s not found in registry", r.PathValue("view"))
		}
		writeJSON(w, http.StatusOK, view())
		return nil
	})
}
