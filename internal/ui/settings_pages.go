package ui

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/auth"
	"github.com/praetorhq/praetor/internal/httpx"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/roles"
	"github.com/praetorhq/praetor/internal/tenancy"
)

// settingsRoutes are a workspace's settings pages: its details, the
// commands that connect a terminal to it, and its members.
func (u *UI) settingsRoutes(mux *http.ServeMux) {
	const base = "/account/{account_id}/workspace/{workspace_id}"
	const members = "Only owners of the workspace can change its members."
	u.handle(mux, "GET "+base+"/settings", inWorkspace("read:workspace"), u.settings)
	u.handle(mux, "POST "+base+"/settings", ownersOnly(auth.ManageWorkspace, "Only owners of the workspace can change it."), u.saveSettings)
	u.handle(mux, "POST "+base+"/settings/delete", ownersOnly(auth.ManageWorkspace, "Only owners of the workspace can delete it."), u.deleteWorkspace)
	u.handle(mux, "POST "+base+"/settings/members", ownersOnly(auth.ManageMembership, members), u.setWorkspaceMember)
	u.handle(mux, "POST "+base+"/settings/members/{user_id}/remove", ownersOnly(auth.ManageMembership, members), u.removeWorkspaceMember)
	// Any other path under a workspace is the not-found page, after the
	// same membership check as real pages: to someone outside the
	// workspace, an existing page and a missing one look alike.
	u.handle(mux, base+"/", inWorkspace("read:workspace"), func(q *request) error { return errNotFound() })
}

// command is a terminal command shown with a copy button.
type command struct {
	ID, Text string
	Label    string // what the copy button copies, for screen readers
}

// loginCommands are the terminal commands that connect the Prefect client
// to one workspace of this server.
type loginCommands struct {
	APIURL       string // the Cloud API root: <base>/api
	WorkspaceURL string // the workspace's API: <base>/api/accounts/<id>/workspaces/<id>
	Install      command
	// Login sets PREFECT_CLOUD_API_URL for the one command; Persist makes
	// it stick, which every later command needs: without it the client
	// talks to Prefect's own cloud, or stops treating this server as a
	// Cloud (and its events websocket then carries no key).
	Login, Persist, Manual command
	// Switch moves a terminal already logged in to this workspace.
	Switch command
	// BrowserURL has the Prefect CLI print its browser-login URL instead of
	// opening a browser, for a machine without one; LoginPage is the page
	// that URL opens, with the CLI's port left to fill in.
	BrowserURL command
	LoginPage  string
}

func newLoginCommands(base string, ws *model.Workspace) loginCommands {
	api := base + "/api"
	wsURL := api + "/accounts/" + ws.AccountID.String() + "/workspaces/" + ws.ID.String()
	handle := ws.AccountHandle + "/" + ws.Handle
	return loginCommands{
		APIURL:       api,
		WorkspaceURL: wsURL,
		Install:      command{"cmd-install", "pip install -U prefect", "the install command"},
		Login: command{"cmd-login",
			"PREFECT_CLOUD_API_URL=" + api + " prefect cloud login --key <YOUR-KEY> --workspace " + handle,
			"the login command"},
		Persist: command{"cmd-persist",
			"prefect config set PREFECT_CLOUD_API_URL=" + api + "\n" +
				"prefect cloud login --key <YOUR-KEY> --workspace " + handle,
			"the profile commands"},
		Manual: command{"cmd-manual",
			`prefect config set PREFECT_CLOUD_API_URL="` + api + `"` + "\n" +
				`prefect config set PREFECT_API_URL="` + wsURL + `"` + "\n" +
				`prefect config set PREFECT_API_KEY="<YOUR-KEY>"`,
			"the manual configuration"},
		Switch: command{"cmd-workspace-set",
			`prefect cloud workspace set --workspace "` + handle + `"`,
			"the workspace set command"},
		// The CLI hands its login URL to Python's webbrowser module, which
		// runs $BROWSER with it: echo prints it.
		BrowserURL: command{"cmd-browser-url",
			"BROWSER=echo PREFECT_CLOUD_API_URL=" + api + " prefect cloud login",
			"the browser login command"},
		LoginPage: base + "/auth/client?callback=http://localhost:<PORT>",
	}
}

type settingsData struct {
	// CanManage: owners edit and delete the workspace; CanManageMembers:
	// they also set members' roles. Everyone else reads.
	CanManage, CanManageMembers bool
	// AccountAdmin links to the account's members page.
	AccountAdmin bool
	Commands     loginCommands
	Members      []model.Member
	Roles        []string
	// Form values and the message of the form that failed, if any.
	Name, Handle, Description, Error string
	DeleteError                      string
	MemberEmail, MemberRole          string
	MemberError                      string
}

// renderSettings renders the settings page; data carries the values and
// error of a form that failed, or nothing.
func (u *UI) renderSettings(q *request, status int, data settingsData) error {
	ws := q.Workspace
	members, err := u.Store.ListWorkspaceMembers(q.ctx(), ws.ID)
	if err != nil {
		return fmt.Errorf("list workspace members: %w", err)
	}
	accountRole, err := u.Store.AccountRole(q.ctx(), ws.AccountID, q.User.ID)
	if err != nil {
		return fmt.Errorf("account role: %w", err)
	}
	data.CanManage = auth.Can(q.Role, auth.ManageWorkspace)
	data.CanManageMembers = auth.Can(q.Role, auth.ManageMembership)
	data.AccountAdmin = tenancy.CanAdminAccount(accountRole)
	data.Commands = newLoginCommands(httpx.BaseURL(q.r), ws)
	data.Members = members
	data.Roles = []string{roles.WorkspaceViewer, roles.WorkspaceRunner, roles.WorkspaceDeveloper, roles.WorkspaceOwner, roles.WorkspaceWorker}
	if data.Error == "" {
		data.Name, data.Handle, data.Description = ws.Name, ws.Handle, ws.Description
	}
	if data.MemberRole == "" {
		data.MemberRole = roles.WorkspaceDeveloper
	}
	return u.render(q, status, "workspace_settings.html", data)
}

func (u *UI) settings(q *request) error {
	return u.renderSettings(q, http.StatusOK, settingsData{})
}

func (u *UI) saveSettings(q *request) error {
	f := q.r.PostForm
	in := tenancy.WorkspaceInput{Name: f.Get("name"), Handle: strings.TrimSpace(f.Get("handle")), Description: f.Get("description")}
	// A copy: a refused change must not show up in the page's commands or
	// the switcher.
	ws := *q.Workspace
	if err := tenancy.UpdateWorkspace(q.ctx(), u.Store, q.Role, &ws, in); err != nil {
		msg, status, ok := formError(err)
		if !ok {
			return fmt.Errorf("update workspace: %w", err)
		}
		return u.renderSettings(q, status, settingsData{Name: in.Name, Handle: in.Handle, Description: in.Description, Error: msg})
	}
	return q.redirectFlash(WorkspaceURL(&ws)+"/settings", flash{Text: "Saved the workspace's settings."})
}

func (u *UI) deleteWorkspace(q *request) error {
	ws := q.Workspace
	// Typing the handle is the confirmation that works without script and
	// cannot be clicked through by accident.
	if strings.TrimSpace(q.r.PostForm.Get("confirm")) != ws.Handle {
		return u.renderSettings(q, http.StatusUnprocessableEntity, settingsData{
			DeleteError: fmt.Sprintf("Type the workspace handle %q to confirm the deletion.", ws.Handle)})
	}
	if err := tenancy.DeleteWorkspace(q.ctx(), u.Store, q.Role, ws); err != nil {
		msg, status, ok := formError(err)
		if !ok {
			return fmt.Errorf("delete workspace: %w", err)
		}
		return u.renderSettings(q, status, settingsData{DeleteError: msg})
	}
	return q.redirectFlash("/workspaces", flash{Text: "Deleted the workspace " + ws.AccountHandle + "/" + ws.Handle + "."})
}

func (u *UI) setWorkspaceMember(q *request) error {
	email, role := strings.TrimSpace(q.r.PostForm.Get("email")), q.r.PostForm.Get("role")
	if err := tenancy.SetWorkspaceMemberByEmail(q.ctx(), u.Store, q.Workspace.ID, email, role); err != nil {
		msg, status, ok := formError(err)
		if !ok {
			return fmt.Errorf("set workspace member: %w", err)
		}
		return u.renderSettings(q, status, settingsData{MemberEmail: email, MemberRole: role, MemberError: msg})
	}
	return q.redirectFlash(WorkspaceURL(q.Workspace)+"/settings#members", flash{Text: "Set the role of " + email + " to " + role + "."})
}

func (u *UI) removeWorkspaceMember(q *request) error {
	userID, err := uuid.Parse(q.r.PathValue("user_id"))
	if err != nil {
		return errNotFound()
	}
	member, err := u.Store.GetUser(q.ctx(), userID)
	if err != nil {
		return fmt.Errorf("get workspace member: %w", err)
	}
	if err := u.Store.RemoveWorkspaceMember(q.ctx(), q.Workspace.ID, userID); err != nil {
		return fmt.Errorf("remove workspace member: %w", err)
	}
	done := flash{Text: "Removed " + member.Email + " from " + q.Workspace.AccountHandle + "/" + q.Workspace.Handle + "."}
	if userID == q.User.ID {
		// Whoever removed themselves may no longer see the workspace.
		return q.redirectFlash("/workspaces", done)
	}
	return q.redirectFlash(WorkspaceURL(q.Workspace)+"/settings#members", done)
}
