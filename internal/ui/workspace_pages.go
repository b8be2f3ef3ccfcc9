package ui

import (
	"net/http"

	"github.com/google/uuid"
)

// workspaceRoutes are the pages of one workspace, under
// /account/{account_id}/workspace/{workspace_id}/.
func (u *UI) workspaceRoutes(mux *http.ServeMux) {
	const base = "/account/{account_id}/workspace/{workspace_id}"
	page := func(pattern string, h handler) {
		mux.HandleFunc("GET "+base+pattern, u.inWorkspace(h))
	}
	page("/{$}", func(q *request) error {
		return q.redirect(WorkspaceURL(q.Workspace) + "/dashboard")
	})
	page("/dashboard", u.dashboardPage)
	page("/dashboard/live", u.dashboardLive)
	page("/runs", u.runsList)
	page("/runs/live", u.runsLive)
	page("/runs/flow-run/{id}", u.flowRunPage)
	page("/runs/flow-run/{id}/live/{part}", u.flowRunLive)
	page("/runs/task-run/{id}", u.taskRunPage)
	page("/runs/task-run/{id}/live/{part}", u.taskRunLive)
	page("/flows", u.flowsList)
	page("/flows/flow/{id}", u.flowPage)

	// The open-source server's run links, which the Prefect client prints
	// ("View at http://host:4200/runs/flow-run/<id>") when it talks to the
	// plain /api routes: they open the same page of the default workspace.
	mux.HandleFunc("GET /runs/{kind}/{id}", u.signedIn(func(q *request) error {
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
	}))
}
