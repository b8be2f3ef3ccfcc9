package ui

import "net/http"

func (u *UI) routes(mux *http.ServeMux) {
	u.accountRoutes(mux)
	u.ssoRoutes(mux)
	u.memberRoutes(mux)
	u.settingsRoutes(mux)
	u.workspaceRoutes(mux)
	u.deploymentRoutes(mux)
	u.workPoolRoutes(mux)
	u.eventRoutes(mux)
	u.automationRoutes(mux)
}
