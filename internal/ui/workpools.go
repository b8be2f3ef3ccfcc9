package ui

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/auth"
	"github.com/praetorhq/praetor/internal/httpx"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

// The work pools list and a pool's page, with its queues, its workers, the
// runs waiting in it and its pause and resume buttons. Pools are made by
// the Prefect client (prefect work-pool create) and workers by their
// heartbeats; the pages read them and pause them, with the permissions the
// API's routes need for the same.

// Work pool permissions, as the API's work pool routes declare them.
const (
	readWorkPool    auth.Permission = "read:work_pool"
	updateWorkPool  auth.Permission = "update:work_pool"
	updateWorkQueue auth.Permission = "update:work_queue"
)

func (u *UI) workPoolRoutes(mux *http.ServeMux) {
	const base = "/account/{account_id}/workspace/{workspace_id}/work-pools"
	u.handle(mux, "GET "+base, inWorkspace(readWorkPool), u.workPoolsList)
	u.handle(mux, "GET "+base+"/work-pool/{name}", inWorkspace(readWorkPool), u.workPoolPage)
	const change = "Your role in this workspace cannot pause or resume work pools."
	u.handle(mux, "POST "+base+"/work-pool/{name}/pause", ownersOnly(updateWorkPool, change), u.pauseWorkPool(true))
	u.handle(mux, "POST "+base+"/work-pool/{name}/resume", ownersOnly(updateWorkPool, change), u.pauseWorkPool(false))
	const changeQueue = "Your role in this workspace cannot pause or resume work queues."
	u.handle(mux, "POST "+base+"/work-pool/{name}/queue/{id}/pause", ownersOnly(updateWorkQueue, changeQueue), u.pauseWorkQueue(true))
	u.handle(mux, "POST "+base+"/work-pool/{name}/queue/{id}/resume", ownersOnly(updateWorkQueue, changeQueue), u.pauseWorkQueue(false))
}

// poolRunRows is how many waiting and how many running runs a pool's page
// lists.
const poolRunRows = 25

// workPoolURL is the page of the pool named name.
func workPoolURL(ws *model.Workspace, name string) string {
	return WorkspaceURL(ws) + "/work-pools/work-pool/" + url.PathEscape(name)
}

// poolRow is a pool in the list.
type poolRow struct {
	Pool          *model.WorkPool
	URL           string
	Queues        int
	OnlineWorkers int
	Waiting       int
}

// workPoolsPage is the data of the work pools list.
type workPoolsPage struct {
	Rows []poolRow
	// Create and Start are the commands of the empty list's hint, Login
	// the one that connects the Prefect client to this workspace.
	Create, Start, Login command
	SettingsURL          string
}

func (u *UI) workPoolsList(q *request) error {
	ctx, ws := q.ctx(), q.Workspace.ID
	pools, err := u.Store.ListWorkPools(ctx, ws, store.WorkPoolQuery{})
	if err != nil {
		return fmt.Errorf("list work pools: %w", err)
	}
	p := workPoolsPage{SettingsURL: WorkspaceURL(q.Workspace) + "/settings",
		Create: command{"cmd-pool-create", "prefect work-pool create my-pool --type process", "the work pool command"},
		Start:  command{"cmd-worker-start", "prefect worker start --pool my-pool", "the worker command"},
		Login:  newLoginCommands(httpx.BaseURL(q.r), q.Workspace).Persist}
	// A few reads per pool: a workspace has a handful of pools.
	for _, pool := range pools {
		row := poolRow{Pool: pool, URL: workPoolURL(q.Workspace, pool.Name)}
		queues, err := u.Store.ListWorkQueues(ctx, ws, store.WorkQueueQuery{Pool: pool.Name})
		if err != nil {
			return fmt.Errorf("list the queues of work pool %s: %w", pool.Name, err)
		}
		row.Queues = len(queues)
		if row.OnlineWorkers, err = u.onlineWorkers(q, pool.Name); err != nil {
			return err
		}
		if row.Waiting, err = u.Store.CountFlowRuns(ctx, ws, poolRuns(pool.ID, model.Scheduled)); err != nil {
			return fmt.Errorf("count the runs waiting in work pool %s: %w", pool.Name, err)
		}
		p.Rows = append(p.Rows, row)
	}
	return u.render(q, http.StatusOK, "work_pools.html", p)
}

// onlineWorkers counts a pool's ONLINE workers.
func (u *UI) onlineWorkers(q *request, pool string) (int, error) {
	workers, err := u.Store.ListWorkers(q.ctx(), q.Workspace.ID, pool, store.WorkerQuery{})
	if err != nil {
		return 0, fmt.Errorf("list the workers of work pool %s: %w", pool, err)
	}
	n := 0
	for _, w := range workers {
		if w.Status == model.WorkerOnline {
			n++
		}
	}
	return n, nil
}

// poolRuns selects the flow runs of a pool in the given states, oldest
// expected start first.
func poolRuns(pool uuid.UUID, types ...model.StateType) store.RunQuery {
	return store.RunQuery{FlowRuns: &store.FlowRunFilter{State: store.StateTypeIn(types...)},
		WorkPools: &store.WorkPoolFilter{ID: &store.IDFilter{Any: []uuid.UUID{pool}}}, Sort: store.SortExpectedStartTimeAsc}
}

// queueView is a queue on its pool's page.
type queueView struct {
	Queue     *model.WorkQueue
	ActionURL string // below it: /pause or /resume
}

// workPoolView is the data of a pool's page.
type workPoolView struct {
	Base, URL   string
	Pool        *model.WorkPool
	Queues      []queueView
	Workers     []*model.Worker
	Waiting     []lateRow // Reason is set on Late runs
	Running     []runRow
	Deployments []deploymentLink
	// CanChange shows the pool's Pause and Resume, CanChangeQueues the
	// queues'.
	CanChange, CanChangeQueues bool
}

// deploymentLink is a deployment named and linked.
type deploymentLink struct {
	Name, URL string
}

func (u *UI) workPoolPage(q *request) error {
	ctx, ws := q.ctx(), q.Workspace.ID
	pool, err := u.Store.GetWorkPool(ctx, ws, q.r.PathValue("name"))
	if err != nil {
		return fmt.Errorf("get work pool: %w", err)
	}
	v := workPoolView{Base: WorkspaceURL(q.Workspace), URL: workPoolURL(q.Workspace, pool.Name), Pool: pool,
		CanChange: auth.Can(q.Role, updateWorkPool), CanChangeQueues: auth.Can(q.Role, updateWorkQueue)}
	queues, err := u.Store.ListWorkQueues(ctx, ws, store.WorkQueueQuery{Pool: pool.Name})
	if err != nil {
		return fmt.Errorf("list the queues of work pool %s: %w", pool.Name, err)
	}
	for _, wq := range queues {
		v.Queues = append(v.Queues, queueView{Queue: wq, ActionURL: v.URL + "/queue/" + wq.ID.String()})
	}
	if v.Workers, err = u.Store.ListWorkers(ctx, ws, pool.Name, store.WorkerQuery{Limit: poolRunRows}); err != nil {
		return fmt.Errorf("list the workers of work pool %s: %w", pool.Name, err)
	}
	waiting := poolRuns(pool.ID, model.Scheduled)
	waiting.Limit = poolRunRows
	runs, err := u.Store.ListFlowRuns(ctx, ws, waiting)
	if err != nil {
		return fmt.Errorf("list the runs waiting in work pool %s: %w", pool.Name, err)
	}
	rows, err := u.runRows(q, runs)
	if err != nil {
		return err
	}
	for i, r := range rows {
		row := lateRow{runRow: r}
		if derefString(runs[i].StateName) == "Late" && runs[i].State != nil {
			row.Reason = derefString(runs[i].State.Message)
		}
		v.Waiting = append(v.Waiting, row)
	}
	running := poolRuns(pool.ID, model.Pending, model.Running, model.Cancelling)
	running.Limit = poolRunRows
	if runs, err = u.Store.ListFlowRuns(ctx, ws, running); err != nil {
		return fmt.Errorf("list the runs running in work pool %s: %w", pool.Name, err)
	}
	if v.Running, err = u.runRows(q, runs); err != nil {
		return err
	}
	deployments, err := u.Store.ListDeployments(ctx, ws, store.DeploymentQuery{Sort: store.SortNameAsc,
		WorkPools: &store.WorkPoolFilter{ID: &store.IDFilter{Any: []uuid.UUID{pool.ID}}}})
	if err != nil {
		return fmt.Errorf("list the deployments of work pool %s: %w", pool.Name, err)
	}
	for _, d := range deployments {
		v.Deployments = append(v.Deployments, deploymentLink{Name: d.Name, URL: u.deploymentURL(q, d)})
	}
	return u.render(q, http.StatusOK, "work_pool.html", v)
}

// pauseWorkPool answers the pool's Pause and Resume buttons; a paused pool
// hands no runs to its workers.
func (u *UI) pauseWorkPool(paused bool) handler {
	return func(q *request) error {
		name := q.r.PathValue("name")
		if err := u.Store.UpdateWorkPool(q.ctx(), q.Workspace.ID, name, func(p *model.WorkPool) error {
			p.IsPaused = paused
			return nil
		}); err != nil {
			return fmt.Errorf("pause work pool: %w", err)
		}
		msg := "Resumed the work pool " + name + ": its workers get its runs again."
		if paused {
			msg = "Paused the work pool " + name + ": its workers get none of its runs until it is resumed."
		}
		return q.redirectFlash(workPoolURL(q.Workspace, name), flash{Text: msg})
	}
}

// pauseWorkQueue answers a queue's Pause and Resume buttons.
func (u *UI) pauseWorkQueue(paused bool) handler {
	return func(q *request) error {
		name := q.r.PathValue("name")
		id, err := uuid.Parse(q.r.PathValue("id"))
		if err != nil {
			return errNotFound()
		}
		wq, err := u.Store.GetWorkQueue(q.ctx(), q.Workspace.ID, id)
		if err != nil {
			return fmt.Errorf("get work queue: %w", err)
		}
		if wq.WorkPoolName != name {
			return errNotFound()
		}
		if err := u.Store.UpdateWorkQueue(q.ctx(), q.Workspace.ID, id, func(wq *model.WorkQueue) error {
			wq.IsPaused = paused
			return nil
		}); err != nil {
			return fmt.Errorf("pause work queue: %w", err)
		}
		msg := "Resumed the work queue " + wq.Name + ": workers get its runs again."
		if paused {
			msg = "Paused the work queue " + wq.Name + ": workers get none of its runs until it is resumed."
		}
		return q.redirectFlash(workPoolURL(q.Workspace, name), flash{Text: msg})
	}
}
