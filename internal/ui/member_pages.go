package ui

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/roles"
	"github.com/praetorhq/praetor/internal/tenancy"
)

// memberRoutes are an account's service-account and team pages. Members
// of the account see them; tenancy refuses changes by anyone but owners and
// admins.
func (u *UI) memberRoutes(mux *http.ServeMux) {
	u.handle(mux, "GET /account/{account_id}/service-accounts", accountMember, u.serviceAccounts)
	u.handle(mux, "POST /account/{account_id}/service-accounts", accountMember, u.createServiceAccount)
	u.handle(mux, "GET /account/{account_id}/service-accounts/{id}", accountMember, u.serviceAccount)
	u.handle(mux, "POST /account/{account_id}/service-accounts/{id}/rename", accountMember, u.renameServiceAccount)
	u.handle(mux, "POST /account/{account_id}/service-accounts/{id}/rotate", accountMember, u.rotateServiceAccountKey)
	u.handle(mux, "POST /account/{account_id}/service-accounts/{id}/role", accountMember, u.setServiceAccountRole)
	u.handle(mux, "POST /account/{account_id}/service-accounts/{id}/delete", accountMember, u.deleteServiceAccount)
	u.handle(mux, "GET /account/{account_id}/teams", accountMember, u.teams)
	u.handle(mux, "POST /account/{account_id}/teams", accountMember, u.createTeam)
	u.handle(mux, "GET /account/{account_id}/teams/{id}", accountMember, u.team)
	u.handle(mux, "POST /account/{account_id}/teams/{id}/update", accountMember, u.updateTeam)
	u.handle(mux, "POST /account/{account_id}/teams/{id}/members", accountMember, u.addTeamMember)
	u.handle(mux, "POST /account/{account_id}/teams/{id}/members/{user_id}/remove", accountMember, u.removeTeamMember)
	u.handle(mux, "POST /account/{account_id}/teams/{id}/role", accountMember, u.setTeamRole)
	u.handle(mux, "POST /account/{account_id}/teams/{id}/delete", accountMember, u.deleteTeam)
}

// workspaceRoleRow is one workspace of the account with the role a service
// account or team has there ("" for none).
type workspaceRoleRow struct {
	ID     uuid.UUID
	Handle string
	Role   string
}

// workspaceRoles is the table of a service account's or team's roles in
// the account's workspaces, with a form per row for an admin.
type workspaceRoles struct {
	Action   string // where a row's form posts
	Column   string // the role column's heading
	Rows     []workspaceRoleRow
	Roles    []string
	CanAdmin bool
	CSRF     string
}

// workspaceRoleTable lists the account's workspaces that the viewer reaches
// (an owner or admin reaches all), with no role yet, for forms posting to
// action.
func (u *UI) workspaceRoleTable(q *request, action, column string) (workspaceRoles, error) {
	t := workspaceRoles{Action: action, Column: column, Roles: workspaceRoleNames, CanAdmin: tenancy.CanAdminAccount(q.AccountRole), CSRF: q.CSRF}
	list, err := u.Store.ListWorkspaces(q.ctx(), q.User.ID)
	if err != nil {
		return t, fmt.Errorf("list workspaces: %w", err)
	}
	for _, w := range list {
		if w.AccountID == q.Account.ID {
			t.Rows = append(t.Rows, workspaceRoleRow{ID: w.ID, Handle: w.Handle})
		}
	}
	return t, nil
}

// pathUUID parses a path value; a malformed one is not found.
func pathUUID(q *request, name string) (uuid.UUID, error) {
	id, err := uuid.Parse(q.r.PathValue(name))
	if err != nil {
		return uuid.Nil, errNotFound()
	}
	return id, nil
}

// changed answers a change made by a form: to target with a flash, or the
// page again (rerender) with the reason it was refused.
func (u *UI) changed(q *request, err error, target string, f flash, rerender func(status int, msg string) error) error {
	if err == nil {
		return q.redirectFlash(target, f)
	}
	msg, status, ok := formError(err)
	if !ok {
		return err
	}
	return rerender(status, msg)
}

type serviceAccountsData struct {
	Account  *model.Account
	CanAdmin bool
	List     []model.ServiceAccount
	// The create form's values and error.
	Name, Expires, Error, MinExpires string
}

func (u *UI) renderServiceAccounts(q *request, status int, data serviceAccountsData) error {
	list, err := u.Store.ListServiceAccounts(q.ctx(), q.Account.ID)
	if err != nil {
		return fmt.Errorf("list service accounts: %w", err)
	}
	data.Account, data.CanAdmin, data.List = q.Account, tenancy.CanAdminAccount(q.AccountRole), list
	data.MinExpires = u.Clock.Now().UTC().Format(time.DateOnly)
	return u.render(q, status, "service_accounts.html", data)
}

func (u *UI) serviceAccounts(q *request) error {
	return u.renderServiceAccounts(q, http.StatusOK, serviceAccountsData{})
}

func (u *UI) createServiceAccount(q *request) error {
	data := serviceAccountsData{Name: q.r.PostForm.Get("name"), Expires: q.r.PostForm.Get("expires")}
	expires, err := parseExpiry(data.Expires)
	var sa *tenancy.NewServiceAccount
	if err == nil {
		sa, err = tenancy.CreateServiceAccount(q.ctx(), u.Store, q.AccountRole, q.Account.ID, data.Name, expires)
	}
	target := ""
	f := flash{}
	if err == nil {
		// The key's one showing is on the service account's page.
		target = "/account/" + q.Account.ID.String() + "/service-accounts/" + sa.ID.String()
		f = flash{Text: "Created the service account “" + sa.Name + "”.", Key: sa.APIKey}
	}
	return u.changed(q, err, target, f, func(status int, msg string) error {
		data.Error = msg
		return u.renderServiceAccounts(q, status, data)
	})
}

type serviceAccountData struct {
	Account    *model.Account
	CanAdmin   bool
	SA         *model.ServiceAccount
	Keys       []apiKeyRow
	Workspaces workspaceRoles
	MaxGrace   int
	Error      string
}

func (u *UI) renderServiceAccount(q *request, status int, errMsg string) error {
	id, err := pathUUID(q, "id")
	if err != nil {
		return err
	}
	sa, err := u.Store.GetServiceAccount(q.ctx(), q.Account.ID, id)
	if apperr.IsNotFound(err) {
		return errNotFound()
	}
	if err != nil {
		return fmt.Errorf("get service account: %w", err)
	}
	keys, err := u.Store.ListAPIKeys(q.ctx(), sa.ID)
	if err != nil {
		return fmt.Errorf("list keys: %w", err)
	}
	data := serviceAccountData{Account: q.Account, CanAdmin: tenancy.CanAdminAccount(q.AccountRole), SA: sa, Error: errMsg,
		MaxGrace: int(tenancy.MaxRotationGrace.Seconds())}
	data.Keys = keyRows(keys, u.Clock.Now())
	action := fmt.Sprintf("/account/%s/service-accounts/%s/role", q.Account.ID, sa.ID)
	if data.Workspaces, err = u.workspaceRoleTable(q, action, "Role"); err != nil {
		return err
	}
	for i, w := range data.Workspaces.Rows {
		members, err := u.Store.ListWorkspaceMembers(q.ctx(), w.ID)
		if err != nil {
			return fmt.Errorf("list workspace members: %w", err)
		}
		for _, m := range members {
			if m.ID == sa.ID {
				data.Workspaces.Rows[i].Role = m.Role
			}
		}
	}
	return u.render(q, status, "service_account.html", data)
}

// workspaceRoleNames are the roles the forms offer, highest first.
var workspaceRoleNames = []string{roles.WorkspaceOwner, roles.WorkspaceDeveloper, roles.WorkspaceRunner, roles.WorkspaceViewer, roles.WorkspaceWorker}

func (u *UI) serviceAccount(q *request) error { return u.renderServiceAccount(q, http.StatusOK, "") }

// serviceAccountChanged answers a form of the service account's page.
func (u *UI) serviceAccountChanged(q *request, err error, f flash) error {
	target := "/account/" + q.Account.ID.String() + "/service-accounts/" + q.r.PathValue("id")
	return u.changed(q, err, target, f, func(status int, msg string) error { return u.renderServiceAccount(q, status, msg) })
}

func (u *UI) renameServiceAccount(q *request) error {
	id, err := pathUUID(q, "id")
	if err != nil {
		return err
	}
	name := q.r.PostForm.Get("name")
	err = tenancy.RenameServiceAccount(q.ctx(), u.Store, q.AccountRole, q.Account.ID, id, name)
	return u.serviceAccountChanged(q, err, flash{Text: "Renamed the service account to “" + strings.TrimSpace(name) + "”."})
}

func (u *UI) rotateServiceAccountKey(q *request) error {
	id, err := pathUUID(q, "id")
	if err != nil {
		return err
	}
	grace, err := strconv.Atoi(strings.TrimSpace(q.r.PostForm.Get("grace")))
	if err != nil {
		err = apperr.Errorf(apperr.EInvalid, "The grace period is a number of seconds.")
	}
	var expires *model.Time
	if err == nil {
		expires, err = parseExpiry(q.r.PostForm.Get("expires"))
	}
	var k *tenancy.NewAPIKey
	if err == nil {
		k, err = tenancy.RotateServiceAccountKey(q.ctx(), u.Store, q.AccountRole, q.Account.ID, id, time.Duration(grace)*time.Second, expires, u.Clock.Now())
	}
	f := flash{}
	if err == nil {
		f = flash{Text: fmt.Sprintf("Rotated the key: the previous ones stop working in %d seconds.", grace), Key: k}
	}
	return u.serviceAccountChanged(q, err, f)
}

func (u *UI) setServiceAccountRole(q *request) error {
	id, err := pathUUID(q, "id")
	if err != nil {
		return err
	}
	ws, err := uuid.Parse(q.r.PostForm.Get("workspace_id"))
	if err != nil {
		return errNotFound()
	}
	role := q.r.PostForm.Get("role")
	err = tenancy.SetServiceAccountWorkspaceRole(q.ctx(), u.Store, q.AccountRole, q.Account.ID, id, ws, role)
	return u.serviceAccountChanged(q, err, flash{Text: roleChangeText(role)})
}

func roleChangeText(role string) string {
	if role == "" {
		return "Took the workspace role away."
	}
	return "Gave the role " + role + " in the workspace."
}

func (u *UI) deleteServiceAccount(q *request) error {
	id, err := pathUUID(q, "id")
	if err != nil {
		return err
	}
	err = tenancy.DeleteServiceAccount(q.ctx(), u.Store, q.AccountRole, q.Account.ID, id)
	return u.changed(q, err, "/account/"+q.Account.ID.String()+"/service-accounts",
		flash{Text: "Deleted the service account. Its keys no longer work."},
		func(status int, msg string) error { return u.renderServiceAccount(q, status, msg) })
}

type teamsData struct {
	Account  *model.Account
	CanAdmin bool
	List     []model.Team
	// The create form's values and error.
	Name, Description, Error string
}

func (u *UI) renderTeams(q *request, status int, data teamsData) error {
	list, err := u.Store.ListTeams(q.ctx(), q.Account.ID)
	if err != nil {
		return fmt.Errorf("list teams: %w", err)
	}
	data.Account, data.CanAdmin, data.List = q.Account, tenancy.CanAdminAccount(q.AccountRole), list
	return u.render(q, status, "teams.html", data)
}

func (u *UI) teams(q *request) error { return u.renderTeams(q, http.StatusOK, teamsData{}) }

func (u *UI) createTeam(q *request) error {
	data := teamsData{Name: q.r.PostForm.Get("name"), Description: q.r.PostForm.Get("description")}
	t, err := tenancy.CreateTeam(q.ctx(), u.Store, q.AccountRole, q.Account.ID, tenancy.TeamInput{Name: data.Name, Description: data.Description})
	target := ""
	if err == nil {
		target = "/account/" + q.Account.ID.String() + "/teams/" + t.ID.String()
	}
	return u.changed(q, err, target, flash{Text: "Created the team “" + strings.TrimSpace(data.Name) + "”."}, func(status int, msg string) error {
		data.Error = msg
		return u.renderTeams(q, status, data)
	})
}

type teamData struct {
	Account    *model.Account
	CanAdmin   bool
	Team       *model.TeamDetail
	Candidates []model.Member // account members not in the team
	Workspaces workspaceRoles
	Error      string
}

func (u *UI) renderTeam(q *request, status int, errMsg string) error {
	id, err := pathUUID(q, "id")
	if err != nil {
		return err
	}
	t, err := u.Store.GetTeam(q.ctx(), q.Account.ID, id)
	if apperr.IsNotFound(err) {
		return errNotFound()
	}
	if err != nil {
		return fmt.Errorf("get team: %w", err)
	}
	data := teamData{Account: q.Account, CanAdmin: tenancy.CanAdminAccount(q.AccountRole), Team: t, Error: errMsg}
	members, err := u.Store.ListAccountMembers(q.ctx(), q.Account.ID)
	if err != nil {
		return fmt.Errorf("list account members: %w", err)
	}
	in := map[uuid.UUID]bool{}
	for _, m := range t.Members {
		in[m.ID] = true
	}
	for _, m := range members {
		if !in[m.ID] {
			data.Candidates = append(data.Candidates, m)
		}
	}
	action := fmt.Sprintf("/account/%s/teams/%s/role", q.Account.ID, t.ID)
	if data.Workspaces, err = u.workspaceRoleTable(q, action, "Role of the team's members"); err != nil {
		return err
	}
	for i, w := range data.Workspaces.Rows {
		for _, r := range t.Workspaces {
			if r.WorkspaceID == w.ID {
				data.Workspaces.Rows[i].Role = r.Role
			}
		}
	}
	return u.render(q, status, "team.html", data)
}

func (u *UI) team(q *request) error { return u.renderTeam(q, http.StatusOK, "") }

// teamChanged answers a form of the team's page.
func (u *UI) teamChanged(q *request, err error, text string) error {
	target := "/account/" + q.Account.ID.String() + "/teams/" + q.r.PathValue("id")
	return u.changed(q, err, target, flash{Text: text}, func(status int, msg string) error { return u.renderTeam(q, status, msg) })
}

func (u *UI) updateTeam(q *request) error {
	id, err := pathUUID(q, "id")
	if err != nil {
		return err
	}
	t, err := u.Store.GetTeam(q.ctx(), q.Account.ID, id)
	if apperr.IsNotFound(err) {
		return errNotFound()
	}
	if err != nil {
		return fmt.Errorf("get team: %w", err)
	}
	in := tenancy.TeamInput{Name: q.r.PostForm.Get("name"), Description: q.r.PostForm.Get("description")}
	return u.teamChanged(q, tenancy.UpdateTeam(q.ctx(), u.Store, q.AccountRole, &t.Team, in), "Saved the team.")
}

func (u *UI) addTeamMember(q *request) error {
	id, err := pathUUID(q, "id")
	if err != nil {
		return err
	}
	userID, err := uuid.Parse(q.r.PostForm.Get("user_id"))
	if err != nil {
		err = apperr.Errorf(apperr.EInvalid, "Choose a member of the account.")
	} else {
		err = tenancy.AddTeamMember(q.ctx(), u.Store, q.AccountRole, q.Account.ID, id, userID)
	}
	return u.teamChanged(q, err, "Added a member to the team.")
}

func (u *UI) removeTeamMember(q *request) error {
	id, err := pathUUID(q, "id")
	if err != nil {
		return err
	}
	userID, err := pathUUID(q, "user_id")
	if err != nil {
		return err
	}
	return u.teamChanged(q, tenancy.RemoveTeamMember(q.ctx(), u.Store, q.AccountRole, q.Account.ID, id, userID), "Removed a member from the team.")
}

func (u *UI) setTeamRole(q *request) error {
	id, err := pathUUID(q, "id")
	if err != nil {
		return err
	}
	ws, err := uuid.Parse(q.r.PostForm.Get("workspace_id"))
	if err != nil {
		return errNotFound()
	}
	role := q.r.PostForm.Get("role")
	return u.teamChanged(q, tenancy.SetTeamWorkspaceRole(q.ctx(), u.Store, q.AccountRole, q.Account.ID, id, ws, role), roleChangeText(role))
}

func (u *UI) deleteTeam(q *request) error {
	id, err := pathUUID(q, "id")
	if err != nil {
		return err
	}
	err = tenancy.DeleteTeam(q.ctx(), u.Store, q.AccountRole, q.Account.ID, id)
	return u.changed(q, err, "/account/"+q.Account.ID.String()+"/teams", flash{Text: "Deleted the team: its members lost the roles it gave."},
		func(status int, msg string) error { return u.renderTeam(q, status, msg) })
}
