package api

import (
	"net/http"

	"github.com/praetorhq/praetor/internal/httpx"
	"github.com/praetorhq/praetor/internal/tenancy"
)

// Invitations and the audit log, on the account routes (cloud.go).

func (a *API) listInvitations(w http.ResponseWriter, r *http.Request, c *caller) error {
	if !tenancy.CanAdminAccount(c.accountRole) {
		return detail(http.StatusForbidden, "Only owners and admins of the account can do this.")
	}
	list, err := a.Store.ListInvitations(r.Context(), c.account)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

func (a *API) createInvitation(w http.ResponseWriter, r *http.Request, c *caller) error {
	var in tenancy.InviteInput
	if _, err := decode(w, r, &in, false); err != nil {
		return err
	}
	inv, err := a.Invitations.Invite(r.Context(), c.UserID, c.accountRole, c.account, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, inv)
	return nil
}

func (a *API) revokeInvitation(w http.ResponseWriter, r *http.Request, c *caller) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := a.Invitations.Revoke(r.Context(), c.accountRole, c.account, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) acceptInvitation(w http.ResponseWriter, r *http.Request, c *caller) error {
	var in struct {
		Token string `json:"token"`
	}
	if _, err := decode(w, r, &in, false); err != nil {
		return err
	}
	if in.Token == "" {
		return detail(http.StatusUnprocessableEntity, "The invitation's token is required.")
	}
	inv, err := a.Invitations.Accept(r.Context(), c.UserID, in.Token)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, inv)
	return nil
}

// readAuditLog answers GET …/audit_log?since=&until=&event=&workspace_id=
// &actor_id=&limit=&offset=, newest first, for the account's owners and
// admins. The log has no other route: nothing alters or deletes an entry.
func (a *API) readAuditLog(w http.ResponseWriter, r *http.Request, c *caller) error {
	if !tenancy.CanAdminAccount(c.accountRole) {
		return detail(http.StatusForbidden, "Only owners and admins of the account can read its audit log.")
	}
	q, err := httpx.AuditQuery(r.URL.Query().Get)
	if err != nil {
		return err
	}
	list, err := a.Store.ListAuditLog(r.Context(), c.account, q)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}
