package ui

import "net/http"

// settingsRoutes are a workspace's settings pages.
func (u *UI) settingsRoutes(mux *http.ServeMux) {
}
