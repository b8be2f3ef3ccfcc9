package api

import (
	"context"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
	"github.com/praetorhq/praetor/internal/tenancy"
)

// An account's service accounts (Prefect Cloud calls them bots, and so do
// their routes) and teams. Members of the account list them; tenancy lets
// only owners and admins change them.
func (a *API) serviceAccountAndTeamRoutes(handle func(string, need, callerFunc)) {
	handle("GET /api/accounts/{account_id}/bots/{$}", accountMember, a.listServiceAccounts)
	handle("POST /api/accounts/{account_id}/bots/{$}", accountMember, a.createServiceAccount)
	handle("GET /api/accounts/{account_id}/bots/{id}", accountMember, a.readServiceAccount)
	handle("PATCH /api/accounts/{account_id}/bots/{id}", accountMember, a.renameServiceAccount)
	handle("DELETE /api/accounts/{account_id}/bots/{id}", accountMember, a.deleteServiceAccount)
	handle("POST /api/accounts/{account_id}/bots/{id}/rotate_api_key", accountMember, a.rotateServiceAccountKey)
	handle("PUT /api/accounts/{account_id}/bots/{id}/workspaces/{workspace}", accountMember, a.setServiceAccountWorkspaceRole)
	handle("DELETE /api/accounts/{account_id}/bots/{id}/workspaces/{workspace}", accountMember, a.setServiceAccountWorkspaceRole)

	handle("GET /api/accounts/{account_id}/teams/{$}", accountMember, a.listTeams)
	handle("POST /api/accounts/{account_id}/teams/{$}", accountMember, a.createTeam)
	handle("GET /api/accounts/{account_id}/teams/{id}", accountMember, a.readTeam)
	handle("PATCH /api/accounts/{account_id}/teams/{id}", accountMember, a.updateTeam)
	handle("DELETE /api/accounts/{account_id}/teams/{id}", accountMember, a.deleteTeam)
	handle("PUT /api/accounts/{account_id}/teams/{id}/members/{user_id}", accountMember, a.addTeamMember)
	handle("DELETE /api/accounts/{account_id}/teams/{id}/members/{user_id}", accountMember, a.removeTeamMember)
	handle("PUT /api/accounts/{account_id}/teams/{id}/workspaces/{workspace}", accountMember, a.setTeamWorkspaceRole)
	handle("DELETE /api/accounts/{account_id}/teams/{id}/workspaces/{workspace}", accountMember, a.setTeamWorkspaceRole)
}

// serviceAccountDetail is a service account with its keys (never their
// secrets).
type serviceAccountDetail struct {
	model.ServiceAccount
	APIKeys []*model.APIKey `json:"api_keys"`
}

func (a *API) listServiceAccounts(w http.ResponseWriter, r *http.Request, c *caller) error {
	list, err := a.Store.ListServiceAccounts(r.Context(), c.account)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

func (a *API) createServiceAccount(w http.ResponseWriter, r *http.Request, c *caller) error {
	var in struct {
		Name       string      `json:"name"`
		Expiration *model.Time `json:"api_key_expiration"`
	}
	if _, err := decode(w, r, &in, false); err != nil {
		return err
	}
	sa, err := tenancy.CreateServiceAccount(r.Context(), a.Store, c.accountRole, c.account, in.Name, in.Expiration)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, sa)
	return nil
}

func (a *API) readServiceAccount(w http.ResponseWriter, r *http.Request, c *caller) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	sa, err := a.Store.GetServiceAccount(r.Context(), c.account, id)
	if err != nil {
		return err
	}
	keys, err := a.Store.ListAPIKeys(r.Context(), sa.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, serviceAccountDetail{ServiceAccount: *sa, APIKeys: keys})
	return nil
}

func (a *API) renameServiceAccount(w http.ResponseWriter, r *http.Request, c *caller) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in struct {
		Name string `json:"name"`
	}
	if _, err := decode(w, r, &in, false); err != nil {
		return err
	}
	if err := tenancy.RenameServiceAccount(r.Context(), a.Store, c.accountRole, c.account, id, in.Name); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) deleteServiceAccount(w http.ResponseWriter, r *http.Request, c *caller) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := tenancy.DeleteServiceAccount(r.Context(), a.Store, c.accountRole, c.account, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) rotateServiceAccountKey(w http.ResponseWriter, r *http.Request, c *caller) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in struct {
		Expiration *model.Time `json:"api_key_expiration"`
		Grace      float64     `json:"grace_period_seconds"`
	}
	if _, err := decode(w, r, &in, false); err != nil {
		return err
	}
	grace := time.Duration(in.Grace * float64(time.Second))
	k, err := tenancy.RotateServiceAccountKey(r.Context(), a.Store, c.accountRole, c.account, id, grace, in.Expiration, a.now())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, k)
	return nil
}

// workspaceRoleChange reads the ids and role of a PUT or DELETE of
// …/{id}/workspaces/{workspace}: a DELETE takes the role away ("").
func workspaceRoleChange(w http.ResponseWriter, r *http.Request) (id, workspace uuid.UUID, role string, err error) {
	if id, err = pathID(r, "id"); err != nil {
		return
	}
	if workspace, err = pathID(r, "workspace"); err != nil {
		return
	}
	if r.Method == http.MethodDelete {
		return
	}
	var in struct {
		Role string `json:"role"`
	}
	if _, err = decode(w, r, &in, false); err == nil && in.Role == "" {
		err = detail(http.StatusUnprocessableEntity, "A role is required: owner, developer, runner, viewer or worker.")
	}
	return id, workspace, in.Role, err
}

func (a *API) setServiceAccountWorkspaceRole(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := tenancy.RequireAccountAdmin(c.accountRole); err != nil {
		return err
	}
	id, ws, role, err := workspaceRoleChange(w, r)
	if err != nil {
		return err
	}
	if err := tenancy.SetServiceAccountWorkspaceRole(r.Context(), a.Store, c.accountRole, c.account, id, ws, role); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) listTeams(w http.ResponseWriter, r *http.Request, c *caller) error {
	list, err := a.Store.ListTeams(r.Context(), c.account)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

func (a *API) createTeam(w http.ResponseWriter, r *http.Request, c *caller) error {
	var in tenancy.TeamInput
	if _, err := decode(w, r, &in, false); err != nil {
		return err
	}
	t, err := tenancy.CreateTeam(r.Context(), a.Store, c.accountRole, c.account, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, t)
	return nil
}

func (a *API) readTeam(w http.ResponseWriter, r *http.Request, c *caller) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	t, err := a.Store.GetTeam(r.Context(), c.account, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}

func (a *API) updateTeam(w http.ResponseWriter, r *http.Request, c *caller) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := tenancy.RequireAccountAdmin(c.accountRole); err != nil {
		return err
	}
	t, err := a.Store.GetTeam(r.Context(), c.account, id)
	if err != nil {
		return err
	}
	in := tenancy.TeamInput{Name: t.Name, Description: t.Description}
	if _, err := decode(w, r, &in, false); err != nil {
		return err
	}
	if err := tenancy.UpdateTeam(r.Context(), a.Store, c.accountRole, &t.Team, in); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t.Team)
	return nil
}

func (a *API) deleteTeam(w http.ResponseWriter, r *http.Request, c *caller) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := tenancy.DeleteTeam(r.Context(), a.Store, c.accountRole, c.account, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) addTeamMember(w http.ResponseWriter, r *http.Request, c *caller) error {
	return a.changeTeamMember(w, r, c, tenancy.AddTeamMember)
}

func (a *API) removeTeamMember(w http.ResponseWriter, r *http.Request, c *caller) error {
	return a.changeTeamMember(w, r, c, tenancy.RemoveTeamMember)
}

func (a *API) changeTeamMember(w http.ResponseWriter, r *http.Request, c *caller,
	change func(context.Context, store.Store, string, uuid.UUID, uuid.UUID, uuid.UUID) error) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	userID, err := pathID(r, "user_id")
	if err != nil {
		return err
	}
	if err := change(r.Context(), a.Store, c.accountRole, c.account, id, userID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) setTeamWorkspaceRole(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := tenancy.RequireAccountAdmin(c.accountRole); err != nil {
		return err
	}
	id, ws, role, err := workspaceRoleChange(w, r)
	if err != nil {
		return err
	}
	if err := tenancy.SetTeamWorkspaceRole(r.Context(), a.Store, c.accountRole, c.account, id, ws, role); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
