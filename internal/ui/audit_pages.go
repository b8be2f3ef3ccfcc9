package ui

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/httpx"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

// Invitations (the invitee's side; the inviter's is on the members page)
// and the account's audit log.

type invitationData struct {
	Token      string
	Invitation *model.Invitation
	Account    *model.Account
	Expired    bool
	// WrongUser: signed in with another email than the invited one.
	WrongUser bool
	SignUp    bool
	Error     string
}

// invitationPage renders the invitation page: its URL carries the token, so
// nothing may keep the page or pass its address on.
func (u *UI) invitationPage(q *request, status int, data invitationData) error {
	q.w.Header().Set("Cache-Control", "no-store")
	q.w.Header().Set("Referrer-Policy", "no-referrer")
	return u.render(q, status, "invitation.html", data)
}

// lookupInvitation reads the invitation of the path's token for its page; a
// token that is not (or no longer) an invitation is the page's error.
func (u *UI) lookupInvitation(q *request) (invitationData, int, error) {
	data := invitationData{Token: q.r.PathValue("token"), SignUp: u.SignUp}
	inv, acct, err := u.Invitations.Lookup(q.ctx(), data.Token)
	if apperr.IsNotFound(err) {
		data.Error = "This invitation is not valid: it was revoked, it was already used, or the link is incomplete."
		return data, http.StatusNotFound, nil
	}
	if err != nil {
		return data, 0, fmt.Errorf("read invitation: %w", err)
	}
	data.Invitation, data.Account = inv, acct
	data.Expired = !u.Clock.Now().Before(inv.Expires.Time)
	data.WrongUser = q.User != nil && q.User.Email != inv.Email
	return data, http.StatusOK, nil
}

func (u *UI) invitation(q *request) error {
	data, status, err := u.lookupInvitation(q)
	if err != nil {
		return err
	}
	return u.invitationPage(q, status, data)
}

func (u *UI) acceptInvitation(q *request) error {
	data, status, err := u.lookupInvitation(q)
	if err != nil || data.Invitation == nil {
		if err == nil {
			err = u.invitationPage(q, status, data)
		}
		return err
	}
	if _, err := u.Invitations.Accept(q.ctx(), q.User.ID, data.Token); err != nil {
		msg, status, ok := formError(err)
		if !ok {
			return fmt.Errorf("accept invitation: %w", err)
		}
		data.Error = msg
		return u.invitationPage(q, status, data)
	}
	return q.redirectFlash("/workspaces", flash{Text: "You joined the account " + data.Account.Handle + " as " + data.Invitation.Role + "."})
}

// auditPageSize is how many entries one audit page shows.
const auditPageSize = 50

type auditData struct {
	Account *model.Account
	Entries []*model.AuditEntry
	// The filter as the form shows it, and its choices.
	Since, Until, Event, WorkspaceID, ActorID string
	Events                                    []string
	Workspaces                                []model.WorkspaceAccess
	Members                                   []model.Member
	// Newer and Older page through the filtered entries ("" at the ends).
	Newer, Older string
	Error        string
}

// auditLog is the account's audit log, filtered as the API filters it (its
// route lets in the account's owners and admins only).
func (u *UI) auditLog(q *request) error {
	acct := q.Account
	get := q.r.URL.Query().Get
	data := auditData{Account: acct, Since: get("since"), Until: get("until"), Event: get("event"), WorkspaceID: get("workspace_id"),
		ActorID: get("actor_id"), Events: store.AuditEvents}
	all, err := u.Store.ListWorkspaces(q.ctx(), q.User.ID)
	if err != nil {
		return fmt.Errorf("list workspaces: %w", err)
	}
	for _, w := range all {
		if w.AccountID == acct.ID {
			data.Workspaces = append(data.Workspaces, w)
		}
	}
	if data.Members, err = u.Store.ListAccountMembers(q.ctx(), acct.ID); err != nil {
		return fmt.Errorf("list account members: %w", err)
	}
	status := http.StatusOK
	filter, err := httpx.AuditQuery(func(k string) string {
		if k == "limit" {
			return ""
		}
		return get(k)
	})
	if err == nil {
		// One more than a page tells whether there is an older one.
		filter.Limit = auditPageSize + 1
		data.Entries, err = u.Store.ListAuditLog(q.ctx(), acct.ID, filter)
	}
	if err != nil {
		msg, st, ok := formError(err)
		if !ok {
			return fmt.Errorf("read audit log: %w", err)
		}
		data.Error, status = msg, st
	}
	page := func(offset int) string {
		v := url.Values{}
		for k, s := range map[string]string{"since": data.Since, "until": data.Until, "event": data.Event, "workspace_id": data.WorkspaceID, "actor_id": data.ActorID} {
			if s != "" {
				v.Set(k, s)
			}
		}
		if offset > 0 {
			v.Set("offset", strconv.Itoa(offset))
		}
		return "/account/" + acct.ID.String() + "/audit?" + v.Encode()
	}
	if len(data.Entries) > auditPageSize {
		data.Entries = data.Entries[:auditPageSize]
		data.Older = page(filter.Offset + auditPageSize)
	}
	if filter.Offset > 0 {
		data.Newer = page(max(0, filter.Offset-auditPageSize))
	}
	return u.render(q, status, "audit.html", data)
}
