package ui

import (
	"net/http"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/auth"
)

// workspaceRoutes are the pages of one workspace, under
// /account/{account_id}/workspace/{workspace_id}/.
func (u *UI) workspaceRoutes(mux *http.ServeMux) {
	const base = "/account/{account_id}/workspace/{workspace_id}"
	page := func(pattern string, perm auth.Permission, h handler) {
		u.handle(mux, "GET "+base+pattern, inWorkspace(perm), h)
	}
	page("/{$}", "read:workspace", func(q *request) error {
		return q.redirect(WorkspaceURL(q.Workspace) + "/dashboard")
	})
	page("/dashboard", "read:flow_run", u.dashboardPage)
	page("/dashboard/live", "read:flow_run", u.dashboardLive)
	page("/runs", "read:flow_run", u.runsList)
	page("/runs/live", "read:flow_run", u.runsLive)
	page("/runs/flow-run/{id}", "read:flow_run", u.flowRunPage)
	page("/runs/flow-run/{id}/live/{part}", "read:flow_run", u.flowRunLive)
	page("/runs/flow-run/{id}/resume", updateFlowRun, u.resumeRunForm)
	u.handle(mux, "POST "+base+"/runs/flow-run/{id}/resume", ownersOnly(updateFlowRun, "Your role in this workspace cannot resume flow runs."), u.resumeRun)
	page("/runs/task-run/{id}", "read:task_run", u.taskRunPage)
	page("/runs/task-run/{id}/live/{part}", "read:task_run", u.taskRunLive)
	page("/flows", "read:flow", u.flowsList)
	page("/flows/flow/{id}", "read:flow", u.flowPage)

	// The open-source server's run links, which the Prefect client prints
	// ("View at http://host:4200/runs/flow-run/<id>") when it talks to the
	// plain /api routes: they open the same page of the default workspace.
	u.handle(mux, "GET /runs/{kind}/{id}", signedIn, func(q *request) error {
		kind := q.r.PathValue("kind")
		id, err := uuid.Parse(q.r.PathValue("id"))
		if err != nil || kind != "flow-run" && kind != "task-run" {
			return errNotFound()
		}
		ws, err := u.Store.DefaultWorkspace(q.ctx())
		if err != nil {
			return err
		}
		return q.redirect(WorkspaceURL(&ws) + "/runs/" + kind + "/" + id.String())
	})
}
