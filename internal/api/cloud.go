package api

import (
	"net/http"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/auth"
	"github.com/praetorhq/praetor/internal/httpx"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/tenancy"
)

// The account-level Cloud API: what `prefect cloud login`, `workspace ls`
// and `workspace set` call (/me/workspaces), and Praetor's own account,
// workspace, member and API-key management. Each route declares what it
// requires of its caller, as the workspace routes declare their permission;
// the membership rules that depend on the rows changed (only owners make
// owners, an account keeps an owner) are tenancy's, inside the write.
func (a *API) cloudRoutes(mux *http.ServeMux) {
	handle := func(pattern string, n need, h callerFunc) {
		a.cloud = append(a.cloud, cloudRoute{pattern, n})
		mux.HandleFunc(pattern, a.withCaller(n, h))
	}
	mux.HandleFunc("POST /api/users/{$}", a.errorHandler(a.signUp))
	handle("GET /api/me/{$}", anyKey, a.readMe)
	handle("GET /api/me/workspaces", anyKey, a.myWorkspaces)
	handle("GET /api/me/api_keys", anyKey, a.listAPIKeys)
	handle("POST /api/me/api_keys", anyKey, a.createAPIKey)
	handle("DELETE /api/me/api_keys/{id}", anyKey, a.deleteAPIKey)
	handle("GET /api/accounts/{account_id}", accountMember, a.readAccount)
	handle("GET /api/accounts/{account_id}/workspaces/{$}", accountMember, a.listAccountWorkspaces)
	handle("POST /api/accounts/{account_id}/workspaces/{$}", accountMember, a.createWorkspace)
	handle("GET /api/accounts/{account_id}/workspaces/{workspace_id}", inWorkspace("read:workspace"), a.readWorkspace)
	handle("PATCH /api/accounts/{account_id}/workspaces/{workspace_id}", inWorkspace(auth.ManageWorkspace), a.updateWorkspace)
	handle("DELETE /api/accounts/{account_id}/workspaces/{workspace_id}", inWorkspace(auth.ManageWorkspace), a.deleteWorkspace)
	handle("GET /api/accounts/{account_id}/members/{$}", accountMember, a.listAccountMembers)
	handle("POST /api/accounts/{account_id}/members/{$}", accountMember, a.addAccountMember)
	handle("PATCH /api/accounts/{account_id}/members/{user_id}", accountMember, a.setAccountMemberRole)
	handle("DELETE /api/accounts/{account_id}/members/{user_id}", accountMember, a.removeAccountMember)
	handle("GET /api/accounts/{account_id}/invitations/{$}", accountMember, a.listInvitations)
	handle("POST /api/accounts/{account_id}/invitations/{$}", accountMember, a.createInvitation)
	handle("DELETE /api/accounts/{account_id}/invitations/{id}", accountMember, a.revokeInvitation)
	handle("POST /api/invitations/accept", anyKey, a.acceptInvitation)
	handle("GET /api/accounts/{account_id}/audit_log", accountMember, a.readAuditLog)
	a.serviceAccountAndTeamRoutes(handle)
}

// need is what an account route requires of its caller: a key, and
// membership of the path's account, or a role in the path's workspace that
// grants perm.
type need struct {
	account bool
	perm    auth.Permission
}

var (
	anyKey        = need{}
	accountMember = need{account: true}
)

func inWorkspace(perm auth.Permission) need { return need{perm: perm} }

// cloudRoute is a registered account route, listed for tests.
type cloudRoute struct {
	pattern string
	need    need
}

// caller is what withCaller resolved for an account route.
type caller struct {
	*auth.Principal
	account     uuid.UUID        // the path's account, for account routes
	accountRole string           // the caller's role in it
	workspace   *model.Workspace // the path's workspace, for workspace routes
	role        string           // the caller's effective role in it
}

type callerFunc func(w http.ResponseWriter, r *http.Request, c *caller) error

func (a *API) errorHandler(h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			a.writeError(w, r, err)
		}
	}
}

// withCaller requires an API key and what n declares.
func (a *API) withCaller(n need, h callerFunc) http.HandlerFunc {
	return a.errorHandler(func(w http.ResponseWriter, r *http.Request) error {
		p, err := a.authenticate(r)
		if err != nil {
			return err
		}
		if p == nil {
			return tenancy.ErrNotAuthenticated
		}
		if err := checkBodyType(r); err != nil {
			return err
		}
		c := &caller{Principal: p}
		accountID, err := uuid.Parse(r.PathValue("account_id"))
		switch {
		case n.perm != "":
			wsID, err2 := uuid.Parse(r.PathValue("workspace_id"))
			if err != nil || err2 != nil {
				return tenancy.ErrNoWorkspace
			}
			if c.workspace, c.role, err = tenancy.ResolveWorkspace(r.Context(), a.Store, callerOf(p, false), accountID, wsID); err != nil {
				return err
			}
			if !auth.Can(c.role, n.perm) {
				return forbidden(n.perm)
			}
		case n.account:
			if err != nil {
				return tenancy.ErrNoAccount
			}
			if c.accountRole, err = tenancy.AccountRole(r.Context(), a.Store, accountID, p.UserID); err != nil {
				return err
			}
			c.account = accountID
		}
		return h(w, r.WithContext(httpx.WithActor(r, &p.UserID)), c)
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

func (a *API) readMe(w http.ResponseWriter, r *http.Request, c *caller) error {
	u, err := a.Store.GetUser(r.Context(), c.UserID)
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

func (a *API) myWorkspaces(w http.ResponseWriter, r *http.Request, c *caller) error {
	list, err := a.Store.ListWorkspaces(r.Context(), c.UserID)
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

func (a *API) createAPIKey(w http.ResponseWriter, r *http.Request, c *caller) error {
	if c.Service {
		// A key it minted itself would outlive a rotation of the leaked
		// key that made it.
		return detail(http.StatusForbidden, "A service account's keys are made by rotating them, by an owner or admin of its account.")
	}
	var in struct {
		Name       string      `json:"name"`
		Expiration *model.Time `json:"expiration"`
	}
	if _, err := decode(w, r, &in, false); err != nil {
		return err
	}
	k, err := tenancy.CreateAPIKey(r.Context(), a.Store, c.UserID, in.Name, in.Expiration, c.KeyExpires)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, k)
	return nil
}

func (a *API) listAPIKeys(w http.ResponseWriter, r *http.Request, c *caller) error {
	keys, err := a.Store.ListAPIKeys(r.Context(), c.UserID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, keys)
	return nil
}

func (a *API) deleteAPIKey(w http.ResponseWriter, r *http.Request, c *caller) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := a.Store.DeleteAPIKey(r.Context(), c.UserID, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) readAccount(w http.ResponseWriter, r *http.Request, c *caller) error {
	acct, err := a.Store.GetAccount(r.Context(), c.account)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, acct)
	return nil
}

func (a *API) listAccountWorkspaces(w http.ResponseWriter, r *http.Request, c *caller) error {
	all, err := a.Store.ListWorkspaces(r.Context(), c.UserID)
	if err != nil {
		return err
	}
	out := []model.WorkspaceAccess{}
	for _, ws := range all {
		if ws.AccountID == c.account {
			out = append(out, ws)
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) createWorkspace(w http.ResponseWriter, r *http.Request, c *caller) error {
	var in tenancy.WorkspaceInput
	if _, err := decode(w, r, &in, false); err != nil {
		return err
	}
	ws, err := tenancy.CreateWorkspace(r.Context(), a.Store, c.UserID, c.account, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, ws)
	return nil
}

func (a *API) readWorkspace(w http.ResponseWriter, r *http.Request, c *caller) error {
	writeJSON(w, http.StatusOK, c.workspace)
	return nil
}

func (a *API) updateWorkspace(w http.ResponseWriter, r *http.Request, c *caller) error {
	ws := c.workspace
	in := tenancy.WorkspaceInput{Handle: ws.Handle, Name: ws.Name, Description: ws.Description}
	if _, err := decode(w, r, &in, false); err != nil {
		return err
	}
	if err := tenancy.UpdateWorkspace(r.Context(), a.Store, c.role, ws, in); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ws)
	return nil
}

func (a *API) deleteWorkspace(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := tenancy.DeleteWorkspace(r.Context(), a.Store, c.role, c.workspace); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) listAccountMembers(w http.ResponseWriter, r *http.Request, c *caller) error {
	members, err := a.Store.ListAccountMembers(r.Context(), c.account)
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

func (a *API) addAccountMember(w http.ResponseWriter, r *http.Request, c *caller) error {
	var in memberInput
	if _, err := decode(w, r, &in, false); err != nil {
		return err
	}
	m, inv, err := a.Invitations.AddAccountMember(r.Context(), c.UserID, c.accountRole, c.account, in.Email, in.Role)
	if err != nil {
		return err
	}
	if inv != nil {
		// Not a member yet: they are invited, and join when they accept.
		writeJSON(w, http.StatusAccepted, inv)
		return nil
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

func (a *API) setAccountMemberRole(w http.ResponseWriter, r *http.Request, c *caller) error {
	userID, err := pathID(r, "user_id")
	if err != nil {
		return err
	}
	var in memberInput
	if _, err := decode(w, r, &in, false); err != nil {
		return err
	}
	if err := tenancy.SetAccountMemberRole(r.Context(), a.Store, c.UserID, c.account, userID, in.Role); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) removeAccountMember(w http.ResponseWriter, r *http.Request, c *caller) error {
	userID, err := pathID(r, "user_id")
	if err != nil {
		return err
	}
	if err := tenancy.RemoveAccountMember(r.Context(), a.Store, c.UserID, c.account, userID); err != nil {
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
