package ui

import "net/http"

// workspaceRoutes are the pages of one workspace, under
// /account/{account_id}/workspace/{workspace_id}/.
func (u *UI) workspaceRoutes(mux *http.ServeMux) {
	const base = "/account/{account_id}/workspace/{workspace_id}"
	mux.HandleFunc("GET "+base+"/{$}", u.inWorkspace(func(q *request) error {
		return q.redirect(WorkspaceURL(q.Workspace) + "/dashboard")
	}))
}
