package api

import (
	"net/http"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/auth"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/tenancy"
)

// The account-level Cloud API: what `prefect cloud login`, `workspace ls`
// and `workspace set` call (/me/workspaces), and Praetor's own account,
// workspace, member and API-key management.
func (a *API) cloudRoutes(mux *http.ServeMux) {
	handle := func(pattern string, h principalFunc) {
		mux.HandleFunc(pattern, a.withPrincipal(h))
	}
	mux.HandleFunc("POST /api/users/{$}", a.errorHandler(a.signUp))
	handle("GET /api/me/{$}", a.readMe)
	handle("GET /api/me/workspaces", a.myWorkspaces)
	handle("GET /api/me/api_keys", a.listAPIKeys)
	handle("POST /api/me/api_keys", a.createAPIKey)
	handle("DELETE /api/me/api_keys/{id}", a.deleteAPIKey)
	handle("GET /api/accounts/{account_id}", a.readAccount)
	handle("GET /api/accounts/{account_id}/workspaces/{$}", a.listAccountWorkspaces)
	handle("POST /api/accounts/{account_id}/workspaces/{$}", a.createWorkspace)
	handle("GET /api/accounts/{account_id}/workspaces/{workspace_id}", a.readWorkspace)
	handle("PATCH /api/accounts/{account_id}/workspaces/{workspace_id}", a.updateWorkspace)
	handle("DELETE /api/accounts/{account_id}/workspaces/{workspace_id}", a.deleteWorkspace)
	handle("GET /api/accounts/{account_id}/members/{$}", a.listAccountMembers)
	handle("POST /api/accounts/{account_id}/members/{$}", a.addAccountMember)
	handle("PATCH /api/accounts/{account_id}/members/{user_id}", a.setAccountMemberRole)
	handle("DELETE /api/accounts/{account_id}/members/{user_id}", a.removeAccountMember)
}

type principalFunc func(w http.ResponseWriter, r *http.Request, p *auth.Principal) error

func (a *API) errorHandler(h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			a.writeError(w, r, err)
		}
	}
}

// withPrincipal requires an API key.
func (a *API) withPrincipal(h principalFunc) http.HandlerFunc {
	return a.errorHandler(func(w http.ResponseWriter, r *http.Request) error {
		p, err := a.authenticate(r)
		if err != nil {
			return err
		}
		if p == nil {
			return errNotAuthenticated
		}
		if err := checkBodyType(r); err != nil {
			return err
		}
		return h(w, r, p)
	})
}

// maxSignUpBody bounds a sign-up's body: its fields are short, and an
// email or password beyond their limits is refused anyway.
const maxSignUpBody = 16 << 10

func (a *API) signUp(w http.ResponseWriter, r *http.Request) error {
	if !a.SignUp {
		return detail(http.StatusForbidden, "Sign-up is disabled on this server.")
	}
	if err := checkBodyType(r); err != nil {
		return err
	}
	if err := a.Authn.AllowSignUp(auth.ClientAddr(r)); err != nil {
		return detail(http.StatusTooManyRequests, "Too many sign-ups from this address; try again later.")
	}
	var in tenancy.SignUp
	r.Body = http.MaxBytesReader(w, r.Body, maxSignUpBody)
	if _, err := decode(w, r, &in, false); err != nil {
		return err
	}
	u, acct, err := tenancy.RegisterUser(r.Context(), a.Store, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"user": u, "account": acct})
	return nil
}

func (a *API) readMe(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	u, err := a.Store.GetUser(r.Context(), p.UserID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

// meWorkspace is one entry of GET /me/workspaces, with the fields the
// Prefect CLI reads.
type meWorkspace struct {
	AccountID            uuid.UUID `json:"account_id"`
	AccountName          string    `json:"account_name"`
	AccountHandle        string    `json:"account_handle"`
	WorkspaceID          uuid.UUID `json:"workspace_id"`
	WorkspaceName        string    `json:"workspace_name"`
	WorkspaceDescription string    `json:"workspace_description"`
	WorkspaceHandle      string    `json:"workspace_handle"`
	Role                 string    `json:"role"`
}

func (a *API) myWorkspaces(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	list, err := a.Store.ListWorkspaces(r.Context(), p.UserID)
	if err != nil {
		return err
	}
	out := make([]meWorkspace, 0, len(list))
	for _, ws := range list {
		out = append(out, meWorkspace{AccountID: ws.AccountID, AccountName: ws.AccountName, AccountHandle: ws.AccountHandle,
			WorkspaceID: ws.ID, WorkspaceName: ws.Name, WorkspaceDescription: ws.Description, WorkspaceHandle: ws.Handle, Role: ws.Role})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) createAPIKey(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var in struct {
		Name       string      `json:"name"`
		Expiration *model.Time `json:"expiration"`
	}
	if _, err := decode(w, r, &in, false); err != nil {
		return err
	}
	k, err := tenancy.CreateAPIKey(r.Context(), a.Store, p.UserID, in.Name, in.Expiration, p.KeyExpires)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, k)
	return nil
}

func (a *API) listAPIKeys(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	keys, err := a.Store.ListAPIKeys(r.Context(), p.UserID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, keys)
	return nil
}

func (a *API) deleteAPIKey(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := a.Store.DeleteAPIKey(r.Context(), p.UserID, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// accountRole returns the caller's role in the path's account; a caller who
// is not a member gets a 404.
func (a *API) accountRole(r *http.Request, p *auth.Principal) (uuid.UUID, string, error) {
	id, err := uuid.Parse(r.PathValue("account_id"))
	if err != nil {
		return uuid.Nil, "", detail(http.StatusNotFound, "Account not found")
	}
	role, err := tenancy.AccountRole(r.Context(), a.Store, id, p.UserID)
	if err != nil {
		return uuid.Nil, "", err
	}
	return id, role, nil
}

func (a *API) readAccount(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, _, err := a.accountRole(r, p)
	if err != nil {
		return err
	}
	acct, err := a.Store.GetAccount(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, acct)
	return nil
}

func (a *API) listAccountWorkspaces(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, _, err := a.accountRole(r, p)
	if err != nil {
		return err
	}
	all, err := a.Store.ListWorkspaces(r.Context(), p.UserID)
	if err != nil {
		return err
	}
	out := []model.WorkspaceAccess{}
	for _, ws := range all {
		if ws.AccountID == id {
			out = append(out, ws)
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) createWorkspace(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, _, err := a.accountRole(r, p)
	if err != nil {
		return err
	}
	var in tenancy.WorkspaceInput
	if _, err := decode(w, r, &in, false); err != nil {
		return err
	}
	ws, err := tenancy.CreateWorkspace(r.Context(), a.Store, p.UserID, id, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, ws)
	return nil
}

// workspaceFor returns the path's workspace and the caller's role in it.
func (a *API) workspaceFor(r *http.Request, p *auth.Principal) (*model.Workspace, string, error) {
	accountID, err1 := uuid.Parse(r.PathValue("account_id"))
	wsID, err2 := uuid.Parse(r.PathValue("workspace_id"))
	if err1 != nil || err2 != nil {
		return nil, "", errNoWorkspace
	}
	ws, err := a.Store.GetWorkspace(r.Context(), accountID, wsID)
	if err != nil {
		return nil, "", err
	}
	role, err := a.roleIn(r.Context(), p, ws.ID)
	if err != nil {
		return nil, "", err
	}
	return &ws, role, nil
}

func (a *API) readWorkspace(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	ws, _, err := a.workspaceFor(r, p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ws)
	return nil
}

func (a *API) updateWorkspace(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	ws, role, err := a.workspaceFor(r, p)
	if err != nil {
		return err
	}
	in := tenancy.WorkspaceInput{Handle: ws.Handle, Name: ws.Name, Description: ws.Description}
	if _, err := decode(w, r, &in, false); err != nil {
		return err
	}
	if err := tenancy.UpdateWorkspace(r.Context(), a.Store, role, ws, in); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ws)
	return nil
}

func (a *API) deleteWorkspace(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	ws, role, err := a.workspaceFor(r, p)
	if err != nil {
		return err
	}
	if err := tenancy.DeleteWorkspace(r.Context(), a.Store, role, ws); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) listAccountMembers(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, _, err := a.accountRole(r, p)
	if err != nil {
		return err
	}
	members, err := a.Store.ListAccountMembers(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, members)
	return nil
}

// memberInput names a member by email (to add) and their role.
type memberInput struct {
	Email string `json:"email"`
	Role  string `json:"role"`
}

func (a *API) addAccountMember(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, role, err := a.accountRole(r, p)
	if err != nil {
		return err
	}
	var in memberInput
	if _, err := decode(w, r, &in, false); err != nil {
		return err
	}
	m, added, err := tenancy.AddAccountMember(r.Context(), a.Store, p.UserID, role, id, in.Email, in.Role)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if added {
		status = http.StatusCreated
	}
	writeJSON(w, status, m)
	return nil
}

func (a *API) setAccountMemberRole(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, _, err := a.accountRole(r, p)
	if err != nil {
		return err
	}
	userID, err := pathID(r, "user_id")
	if err != nil {
		return err
	}
	var in memberInput
	if _, err := decode(w, r, &in, false); err != nil {
		return err
	}
	if err := tenancy.SetAccountMemberRole(r.Context(), a.Store, p.UserID, id, userID, in.Role); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) removeAccountMember(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, _, err := a.accountRole(r, p)
	if err != nil {
		return err
	}
	userID, err := pathID(r, "user_id")
	if err != nil {
		return err
	}
	if err := tenancy.RemoveAccountMember(r.Context(), a.Store, p.UserID, id, userID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// Workspace membership, on the workspace routes.
func (a *API) memberRoutes() {
	a.route("GET", "/members/", "read:workspace", a.listWorkspaceMembers)
	a.route("PUT", "/members/{user_id}", auth.ManageMembership, a.setWorkspaceMember)
	a.route("DELETE", "/members/{user_id}", auth.ManageMembership, a.removeWorkspaceMember)
}

func (a *API) listWorkspaceMembers(w http.ResponseWriter, r *http.Request) error {
	members, err := a.Store.ListWorkspaceMembers(r.Context(), workspaceID(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, members)
	return nil
}

func (a *API) setWorkspaceMember(w http.ResponseWriter, r *http.Request) error {
	userID, err := pathID(r, "user_id")
	if err != nil {
		return err
	}
	var in memberInput
	if _, err := decode(w, r, &in, false); err != nil {
		return err
	}
	if err := tenancy.SetWorkspaceMember(r.Context(), a.Store, workspaceID(r), userID, in.Role); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) removeWorkspaceMember(w http.ResponseWriter, r *http.Request) error {
	userID, err := pathID(r, "user_id")
	if err != nil {
		return err
	}
	if err := a.Store.RemoveWorkspaceMember(r.Context(), workspaceID(r), userID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
