package ui

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/auth"
	"github.com/praetorhq/praetor/internal/httpx"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/roles"
	"github.com/praetorhq/praetor/internal/tenancy"
)

// accountRoutes are the Cloud pages: sign-in, registration, workspaces,
// API keys, account members and the Prefect CLI's browser login. A
// workspace's own settings are in settings_pages.go.
func (u *UI) accountRoutes(mux *http.ServeMux) {
	u.handle(mux, "GET /{$}", anyone, u.home)
	u.handle(mux, "GET /signin", anyone, u.signInForm)
	u.handle(mux, "POST /signin", anyone, u.signIn)
	u.handle(mux, "GET /register", anyone, u.registerForm)
	u.handle(mux, "POST /register", anyone, u.register)
	u.handle(mux, "POST /signout", anyone, u.signOut)
	u.handle(mux, "GET /workspaces", signedIn, u.workspaces)
	u.handle(mux, "GET /workspaces/new", signedIn, u.newWorkspaceForm)
	u.handle(mux, "POST /workspaces/new", signedIn, u.createWorkspace)
	u.handle(mux, "GET /profile/api-keys", signedIn, u.apiKeys)
	u.handle(mux, "POST /profile/api-keys", signedIn, u.createAPIKey)
	u.handle(mux, "POST /profile/api-keys/{id}/delete", signedIn, u.deleteAPIKey)
	u.handle(mux, "GET /account/{account_id}/members", accountMember, u.accountMembers)
	u.handle(mux, "POST /account/{account_id}/members", accountMember, u.addAccountMember)
	u.handle(mux, "POST /account/{account_id}/members/{user_id}/role", accountMember, u.setAccountMemberRole)
	u.handle(mux, "POST /account/{account_id}/members/{user_id}/remove", accountMember, u.removeAccountMember)
	u.handle(mux, "POST /account/{account_id}/invitations/{id}/revoke", accountMember, u.revokeInvitation)
	u.handle(mux, "GET /account/{account_id}/audit", accountAdmin, u.auditLog)
	u.handle(mux, "GET /invitations/{token}", anyone, u.invitation)
	u.handle(mux, "POST /invitations/{token}", signedIn, u.acceptInvitation)
	u.handle(mux, "GET /auth/client", signedIn, u.cliLoginForm)
	u.handle(mux, "POST /auth/client", signedIn, u.cliLogin)
}

// home sends a signed-in user to their workspaces, others to sign in.
func (u *UI) home(q *request) error {
	if q.User == nil {
		return q.redirect("/signin")
	}
	return q.redirect("/workspaces")
}

type signInData struct {
	Email, Next, Error string
	SignUp             bool
}

// safeNext keeps post-sign-in redirects on this site: next if it is a path
// of this server, else /workspaces.
func safeNext(next string) string {
	if !localPath(next) {
		return "/workspaces"
	}
	return next
}

// localPath reports whether p is a path on this server: one leading slash,
// no scheme or host, no backslash and no control character, both as sent
// and once percent-decoded. Browsers drop tabs and newlines from a URL and
// read a backslash as a slash, so "/\t/evil.example" or "/\\evil.example"
// would lead to another site.
func localPath(p string) bool {
	decoded, err := url.PathUnescape(p)
	if err != nil {
		return false
	}
	for _, s := range []string{p, decoded} {
		if !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") ||
			strings.ContainsFunc(s, func(r rune) bool { return r == '\\' || unicode.IsControl(r) }) {
			return false
		}
	}
	u, err := url.Parse(p)
	return err == nil && u.Scheme == "" && u.Opaque == "" && u.User == nil && u.Host == ""
}

func (u *UI) signInForm(q *request) error {
	return u.render(q, http.StatusOK, "signin.html", signInData{Next: q.r.URL.Query().Get("next"), SignUp: u.SignUp})
}

func (u *UI) signIn(q *request) error {
	email, next := q.r.PostForm.Get("email"), q.r.PostForm.Get("next")
	user, err := u.Authn.SignIn(q.ctx(), email, q.r.PostForm.Get("password"), auth.ClientAddr(q.r))
	if err != nil {
		data := signInData{Email: email, Next: next, SignUp: u.SignUp, Error: "Wrong email or password."}
		status := http.StatusUnauthorized
		switch {
		case errors.Is(err, auth.ErrRateLimited):
			// Refused before any check, and not recorded: a flood of
			// them must not become a flood of audit entries.
			data.Error, status = "Too many attempts. Wait a minute and try again.", http.StatusTooManyRequests
		case !errors.Is(err, auth.ErrInvalidCredentials):
			return err
		case len(email) <= auth.MaxEmailLength:
			if err := u.Store.RecordFailedSignIn(q.ctx(), auth.NormalizeEmail(email), "wrong email or password"); err != nil {
				u.Logger.Error("record a failed sign-in", "err", err)
			}
		}
		return u.render(q, status, "signin.html", data)
	}
	// Checked only once the password is right, so the refusal tells
	// nothing to whoever does not know it.
	if required, err := u.Store.UserSSORequired(q.ctx(), user.ID); err != nil {
		return fmt.Errorf("sso requirement: %w", err)
	} else if required {
		if err := u.Store.RecordFailedSignIn(q.ctx(), user.Email, "a password, where an account requires SSO"); err != nil {
			u.Logger.Error("record a failed sign-in", "err", err)
		}
		return u.render(q, http.StatusForbidden, "signin.html", signInData{Email: email, Next: next, SignUp: u.SignUp, Error: u.ssoRequiredMessage()})
	}
	if err := q.startSession(user, "password"); err != nil {
		return err
	}
	return q.redirect(safeNext(next))
}

type registerData struct {
	Email, DisplayName, Handle, Next, Error string
}

func (u *UI) registerForm(q *request) error {
	if !u.SignUp {
		return &httpError{http.StatusForbidden, "Registration is closed on this server. Ask an administrator for an account."}
	}
	// An invitation's link to here names the invited email.
	return u.render(q, http.StatusOK, "register.html", registerData{Next: q.r.URL.Query().Get("next"), Email: q.r.URL.Query().Get("email")})
}

func (u *UI) register(q *request) error {
	if !u.SignUp {
		return &httpError{http.StatusForbidden, "Registration is closed on this server. Ask an administrator for an account."}
	}
	f := q.r.PostForm
	in := tenancy.SignUp{Email: f.Get("email"), Password: f.Get("password"), Handle: f.Get("handle"), DisplayName: f.Get("display_name")}
	again := registerData{Email: in.Email, DisplayName: in.DisplayName, Handle: in.Handle, Next: f.Get("next")}
	if err := u.Authn.AllowSignUp(auth.ClientAddr(q.r)); err != nil {
		again.Error = "Too many registrations from your address. Try again later."
		return u.render(q, http.StatusTooManyRequests, "register.html", again)
	}
	user, _, err := tenancy.RegisterUser(q.ctx(), u.Store, in)
	if err != nil {
		var se *apperr.Error
		if !errors.As(err, &se) {
			return err
		}
		again.Error = se.Message
		return u.render(q, http.StatusUnprocessableEntity, "register.html", again)
	}
	if err := q.startSession(user, "registration"); err != nil {
		return err
	}
	// In anonymous mode the first user to register from this machine owns
	// the default workspace's account, so the runs made without a key can
	// be seen; everyone after them gets only their own account until an
	// owner adds them.
	// The user and their session exist by now: a failed claim must not
	// answer the registration with an error, so it is only logged.
	if u.Anonymous && auth.LocalRequest(q.r) {
		if _, err := u.Store.ClaimDefaultAccount(q.ctx(), user.ID); err != nil {
			u.Logger.Error("claim the default account", "user", user.ID, "err", err)
		}
	}
	// A visitor sent here from another page (such as the CLI's browser
	// login) goes back to it; otherwise a new account starts by making its
	// first workspace.
	if next := f.Get("next"); next != "" {
		return q.redirect(safeNext(next))
	}
	return q.redirect("/workspaces/new")
}

func (u *UI) signOut(q *request) error {
	if err := q.endSession(); err != nil {
		return err
	}
	return q.redirect("/signin")
}

// formError returns the message of an error the user can act on (a rule of
// tenancy or the store: invalid input, a conflict, an unknown email, a
// missing permission) and the status to answer it with. Anything else is not
// a form error: the caller returns it and gets the error page.
func formError(err error) (msg string, status int, ok bool) {
	status, msg, ok = httpx.Status(err)
	return msg, status, ok
}

type workspacesData struct {
	Workspaces []workspaceRow
	Accounts   []model.AccountAccess
}

// workspaceRow is a workspace in the list; CanManage: its options menu
// offers to edit and delete it.
type workspaceRow struct {
	model.WorkspaceAccess
	CanManage bool
}

func (u *UI) workspaces(q *request) error {
	list, err := u.Store.ListWorkspaces(q.ctx(), q.User.ID)
	if err != nil {
		return fmt.Errorf("list workspaces: %w", err)
	}
	accounts, err := u.Store.ListAccounts(q.ctx(), q.User.ID)
	if err != nil {
		return fmt.Errorf("list accounts: %w", err)
	}
	data := workspacesData{Accounts: accounts}
	for _, w := range list {
		data.Workspaces = append(data.Workspaces, workspaceRow{w, auth.Can(w.Role, auth.ManageWorkspace)})
	}
	return u.render(q, http.StatusOK, "workspaces.html", data)
}

type newWorkspaceData struct {
	Accounts                                    []model.AccountAccess // those the user may create workspaces in
	AccountID, Name, Handle, Description, Error string
}

// adminAccounts lists the accounts the user may create workspaces in, their
// own (the one sharing their handle) first: that is the usual choice.
func (u *UI) adminAccounts(q *request) ([]model.AccountAccess, error) {
	all, err := u.Store.ListAccounts(q.ctx(), q.User.ID)
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	var own, others []model.AccountAccess
	for _, a := range all {
		switch {
		case !tenancy.CanAdminAccount(a.Role):
		case a.Handle == q.User.Handle && a.Role == roles.AccountOwner:
			own = append(own, a)
		default:
			others = append(others, a)
		}
	}
	return append(own, others...), nil
}

func (u *UI) newWorkspaceForm(q *request) error {
	accounts, err := u.adminAccounts(q)
	if err != nil {
		return err
	}
	data := newWorkspaceData{Accounts: accounts, AccountID: q.r.URL.Query().Get("account")}
	if data.AccountID == "" && len(accounts) > 0 {
		data.AccountID = accounts[0].ID.String()
	}
	return u.render(q, http.StatusOK, "workspace_new.html", data)
}

func (u *UI) createWorkspace(q *request) error {
	f := q.r.PostForm
	data := newWorkspaceData{AccountID: f.Get("account_id"), Name: f.Get("name"), Handle: strings.TrimSpace(f.Get("handle")), Description: f.Get("description")}
	in := tenancy.WorkspaceInput{Name: data.Name, Handle: data.Handle, Description: data.Description}
	accountID, err := uuid.Parse(data.AccountID)
	var ws *model.Workspace
	if err != nil {
		err = apperr.Errorf(apperr.EInvalid, "Choose the account the workspace belongs to.")
	} else {
		ws, err = tenancy.CreateWorkspace(q.ctx(), u.Store, q.User.ID, accountID, in)
	}
	if err != nil {
		msg, status, ok := formError(err)
		if !ok {
			return fmt.Errorf("create workspace: %w", err)
		}
		if data.Accounts, err = u.adminAccounts(q); err != nil {
			return err
		}
		data.Error = msg
		return u.render(q, status, "workspace_new.html", data)
	}
	acct, err := u.Store.GetAccount(q.ctx(), accountID)
	if err != nil {
		return fmt.Errorf("get account: %w", err)
	}
	// The new workspace's dashboard, as in Prefect Cloud, with the commands
	// that connect a terminal to it one click away.
	return q.redirectFlash(WorkspaceURL(ws)+"/dashboard", flash{
		Text:    "Created the workspace " + acct.Handle + "/" + ws.Handle + ".",
		LinkURL: WorkspaceURL(ws) + "/settings#login", LinkText: "Connect a terminal to it"})
}

// apiKeyRow is one key as the API keys page lists it.
type apiKeyRow struct {
	ID                                       uuid.UUID
	Name, Prefix, Created, Expires, LastUsed string
	Expired                                  bool
}

type apiKeysData struct {
	Keys []apiKeyRow
	// The create form's values and error. A new key comes to the page in a
	// flash: the only time its secret is shown.
	Name, Expires, Error string
	MinExpires           string // today, for the date picker
}

func (u *UI) renderAPIKeys(q *request, status int, data apiKeysData) error {
	keys, err := u.Store.ListAPIKeys(q.ctx(), q.User.ID)
	if err != nil {
		return fmt.Errorf("list api keys: %w", err)
	}
	now := u.Clock.Now()
	data.Keys = keyRows(keys, now)
	data.MinExpires = now.UTC().Format(time.DateOnly)
	return u.render(q, status, "api_keys.html", data)
}

// keyRows lists keys as the pages show them, at now.
func keyRows(keys []*model.APIKey, now time.Time) []apiKeyRow {
	var out []apiKeyRow
	for _, k := range keys {
		row := apiKeyRow{ID: k.ID, Name: k.Name, Prefix: k.Prefix, Created: when(k.Created.Ptr()), Expires: "Never", LastUsed: "Never"}
		if k.Expires != nil {
			row.Expires, row.Expired = when(k.Expires), !now.Before(k.Expires.Time)
		}
		if k.LastUsed != nil {
			row.LastUsed = ago(k.LastUsed, now)
		}
		out = append(out, row)
	}
	return out
}

func (u *UI) apiKeys(q *request) error {
	return u.renderAPIKeys(q, http.StatusOK, apiKeysData{})
}

// parseExpiry reads the optional expiry date of a new key: the key works
// until the last second of that day, UTC, so "today" is a valid choice and
// the list shows the date that was picked.
func parseExpiry(s string) (*model.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return nil, apperr.Errorf(apperr.EInvalid, "The expiration must be a date (YYYY-MM-DD).")
	}
	return model.At(d.Add(24*time.Hour - time.Second)).Ptr(), nil
}

func (u *UI) createAPIKey(q *request) error {
	data := apiKeysData{Name: q.r.PostForm.Get("name"), Expires: q.r.PostForm.Get("expires")}
	expires, err := parseExpiry(data.Expires)
	var k *tenancy.NewAPIKey
	if err == nil {
		k, err = tenancy.CreateAPIKey(q.ctx(), u.Store, q.User.ID, data.Name, expires, nil)
	}
	if err != nil {
		msg, status, ok := formError(err)
		if !ok {
			return fmt.Errorf("create api key: %w", err)
		}
		data.Error = msg
		return u.renderAPIKeys(q, status, data)
	}
	// Post/redirect/get: reloading the page that shows the key must not
	// post the form again. The key goes to that page in a server-side
	// flash, never in a URL or a cookie.
	return q.redirectFlash("/profile/api-keys", flash{Text: "Created the API key “" + k.Name + "”.", Key: k})
}

func (u *UI) deleteAPIKey(q *request) error {
	id, err := uuid.Parse(q.r.PathValue("id"))
	if err != nil {
		return errNotFound()
	}
	// The store deletes only among the user's own keys: another user's key
	// id is not found.
	if err := u.Store.DeleteAPIKey(q.ctx(), q.User.ID, id); err != nil {
		return fmt.Errorf("delete api key: %w", err)
	}
	return q.redirectFlash("/profile/api-keys", flash{Text: "Deleted the API key. Anything that used it can no longer reach Praetor."})
}

type accountMembersData struct {
	Account  *model.Account
	Role     string // the viewer's role in the account
	CanAdmin bool
	// Members are the account's people; its service accounts have a page
	// of their own, where they are managed (the member routes refuse them).
	Members         []model.Member
	ServiceAccounts int
	Roles           []string
	// Admins see the open invitations, and the workspaces an invitation
	// may give roles in.
	Invitations    []invitationRow
	Workspaces     []model.WorkspaceAccess
	WorkspaceRoles []string
	// The invite form, and the message of the last failed change.
	Email, AddRole, Error string
}

// invitationRow is an open invitation as the members page lists it.
type invitationRow struct {
	*model.Invitation
	Expired bool
}

func (u *UI) renderAccountMembers(q *request, status int, acct *model.Account, role string, data accountMembersData) error {
	members, err := u.Store.ListAccountMembers(q.ctx(), acct.ID)
	if err != nil {
		return fmt.Errorf("list account members: %w", err)
	}
	bots, err := u.Store.ListServiceAccounts(q.ctx(), acct.ID)
	if err != nil {
		return fmt.Errorf("list service accounts: %w", err)
	}
	isBot := make(map[uuid.UUID]bool, len(bots))
	for _, b := range bots {
		isBot[b.ID] = true
	}
	members = slices.DeleteFunc(members, func(m model.Member) bool { return isBot[m.ID] })
	data.Account, data.Role, data.CanAdmin, data.Members, data.ServiceAccounts = acct, role, tenancy.CanAdminAccount(role), members, len(bots)
	data.Roles = []string{roles.AccountMember, roles.AccountAdmin, roles.AccountOwner}
	if data.CanAdmin {
		list, err := u.Store.ListInvitations(q.ctx(), acct.ID)
		if err != nil {
			return fmt.Errorf("list invitations: %w", err)
		}
		now := u.Clock.Now()
		for _, inv := range list {
			data.Invitations = append(data.Invitations, invitationRow{inv, !now.Before(inv.Expires.Time)})
		}
		all, err := u.Store.ListWorkspaces(q.ctx(), q.User.ID)
		if err != nil {
			return fmt.Errorf("list workspaces: %w", err)
		}
		for _, w := range all {
			if w.AccountID == acct.ID {
				data.Workspaces = append(data.Workspaces, w)
			}
		}
		data.WorkspaceRoles = []string{roles.WorkspaceViewer, roles.WorkspaceRunner, roles.WorkspaceDeveloper, roles.WorkspaceOwner, roles.WorkspaceWorker}
	}
	if data.AddRole == "" {
		data.AddRole = roles.AccountMember
	}
	return u.render(q, status, "account_members.html", data)
}

// membersChanged answers a change to the account's members: back to the
// page, or the page again with the reason the change was refused.
func (u *UI) membersChanged(q *request, acct *model.Account, role string, err error, data accountMembersData, done string) error {
	if err == nil {
		return q.redirectFlash("/account/"+acct.ID.String()+"/members", flash{Text: done})
	}
	msg, status, ok := formError(err)
	if !ok {
		return fmt.Errorf("change account members: %w", err)
	}
	data.Error = msg
	return u.renderAccountMembers(q, status, acct, role, data)
}

func (u *UI) accountMembers(q *request) error {
	acct, role := q.Account, q.AccountRole
	return u.renderAccountMembers(q, http.StatusOK, acct, role, accountMembersData{})
}

// addAccountMember invites an email to the account, with roles in the
// workspaces the form picked; a member's email changes their role instead.
func (u *UI) addAccountMember(q *request) error {
	acct, role := q.Account, q.AccountRole
	f := q.r.PostForm
	data := accountMembersData{Email: f.Get("email"), AddRole: f.Get("role")}
	var grants []model.WorkspaceGrant
	for key, vals := range f {
		id, ok := strings.CutPrefix(key, "workspace:")
		if !ok || len(vals) == 0 || vals[0] == "" {
			continue
		}
		wsID, err := uuid.Parse(id)
		if err != nil {
			return &httpError{http.StatusBadRequest, "Could not read the form."}
		}
		grants = append(grants, model.WorkspaceGrant{WorkspaceID: wsID, Role: vals[0]})
	}
	var (
		m   *model.Member
		inv *tenancy.NewInvitation
		err error
	)
	if len(grants) == 0 {
		m, inv, err = u.Invitations.AddAccountMember(q.ctx(), q.User.ID, role, acct.ID, data.Email, data.AddRole)
	} else {
		inv, err = u.Invitations.Invite(q.ctx(), q.User.ID, role, acct.ID, tenancy.InviteInput{Email: data.Email, Role: data.AddRole, Workspaces: grants})
	}
	if err != nil || m != nil {
		done := "Changed the role of " + strings.TrimSpace(data.Email) + " to " + data.AddRole + "."
		return u.membersChanged(q, acct, role, err, data, done)
	}
	text := "Invited " + inv.Email + ": pass them the link below; it works once, for seven days."
	if inv.Mailed {
		text = "Invited " + inv.Email + " and mailed them the link below; it works once, for seven days."
	}
	return q.redirectFlash("/account/"+acct.ID.String()+"/members", flash{Text: text, Invitation: inv})
}

func (u *UI) revokeInvitation(q *request) error {
	acct, role := q.Account, q.AccountRole
	id, err := uuid.Parse(q.r.PathValue("id"))
	if err != nil {
		return errNotFound()
	}
	err = u.Invitations.Revoke(q.ctx(), role, acct.ID, id)
	return u.membersChanged(q, acct, role, err, accountMembersData{}, "Revoked the invitation: its link no longer works.")
}

func (u *UI) setAccountMemberRole(q *request) error {
	acct, role := q.Account, q.AccountRole
	userID, err := uuid.Parse(q.r.PathValue("user_id"))
	if err != nil {
		return errNotFound()
	}
	newRole := q.r.PostForm.Get("role")
	err = tenancy.SetAccountMemberRole(q.ctx(), u.Store, q.User.ID, acct.ID, userID, newRole)
	return u.membersChanged(q, acct, role, err, accountMembersData{}, "Changed a member's role to "+newRole+".")
}

func (u *UI) removeAccountMember(q *request) error {
	acct, role := q.Account, q.AccountRole
	userID, err := uuid.Parse(q.r.PathValue("user_id"))
	if err != nil {
		return errNotFound()
	}
	err = tenancy.RemoveAccountMember(q.ctx(), u.Store, q.User.ID, acct.ID, userID)
	if err == nil && userID == q.User.ID {
		// Whoever leaves can no longer see the account.
		return q.redirectFlash("/workspaces", flash{Text: "You left the account " + acct.Handle + "."})
	}
	return u.membersChanged(q, acct, role, err, accountMembersData{}, "Removed a member from "+acct.Handle+".")
}

// cliOrigins are where the Prefect CLI's browser login listens: its local
// callback server on a random port of this machine. The login page's
// connect-src allows exactly these.
var cliOrigins = []string{"http://127.0.0.1:*", "http://localhost:*"}

var errCallback = &httpError{http.StatusBadRequest,
	"This login link is not from the Prefect CLI: its callback must be http://localhost:<port> or http://127.0.0.1:<port>. No key was sent."}

// cliCallback checks the callback of a browser login and returns it
// rebuilt from its parsed parts. Only the CLI's own local server may receive
// a key: plain http on localhost or 127.0.0.1, no credentials, query or
// fragment. Rebuilding means the browser posts to the URL that was checked,
// not to a string another parser might read differently.
func cliCallback(raw string) (string, error) {
	c, err := url.Parse(raw)
	if err != nil || c.Scheme != "http" || c.Opaque != "" || c.User != nil || c.RawQuery != "" || c.Fragment != "" || c.ForceQuery {
		return "", errCallback
	}
	host := strings.ToLower(c.Hostname())
	if host != "localhost" && host != "127.0.0.1" {
		return "", errCallback
	}
	out := "http://" + host
	if p := c.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return "", errCallback
		}
		out += ":" + strconv.Itoa(n)
	}
	return out + strings.TrimSuffix(c.EscapedPath(), "/"), nil
}

type cliLoginData struct {
	Callback string
	// NoWorkspaces warns that the CLI will find nothing to log in to.
	NoWorkspaces bool
	// Result is "success" or "failure" once the user decided; the page's
	// script then posts APIKey or Reason to Callback+"/"+Result.
	Result, APIKey, Reason string
	Error                  string
	// KeyDays is how long the key works.
	KeyDays int
}

// cliLoginForm asks a signed-in user to authorize the Prefect CLI (signed-out
// users were sent to sign in and back here).
func (u *UI) cliLoginForm(q *request) error {
	callback, err := cliCallback(q.r.URL.Query().Get("callback"))
	if err != nil {
		return u.render(q, http.StatusBadRequest, "cli_login.html", cliLoginData{Error: errCallback.msg})
	}
	list, err := u.Store.ListWorkspaces(q.ctx(), q.User.ID)
	if err != nil {
		return fmt.Errorf("list workspaces: %w", err)
	}
	return u.render(q, http.StatusOK, "cli_login.html", cliLoginData{Callback: callback, NoWorkspaces: len(list) == 0,
		KeyDays: int(tenancy.BrowserLoginKeyLifetime / (24 * time.Hour))})
}

// cliLogin carries out the user's decision. Authorizing mints a key for the
// CLI; the page that follows posts it to the CLI from the browser, which is
// the only party that can reach the CLI's local server.
func (u *UI) cliLogin(q *request) error {
	callback, err := cliCallback(q.r.PostForm.Get("callback"))
	if err != nil {
		return u.render(q, http.StatusBadRequest, "cli_login.html", cliLoginData{Error: errCallback.msg})
	}
	data := cliLoginData{Callback: callback, Result: "failure", Reason: "Authorization was denied in the browser."}
	if q.r.PostForm.Get("decision") == "authorize" {
		expires := model.At(u.Clock.Now().Add(tenancy.BrowserLoginKeyLifetime)).Ptr()
		k, err := tenancy.CreateAPIKey(q.ctx(), u.Store, q.User.ID, "prefect cli "+u.Clock.Now().UTC().Format(time.DateOnly), expires, nil)
		if err != nil {
			return fmt.Errorf("create api key for the cli: %w", err)
		}
		data.Result, data.APIKey, data.Reason = "success", k.Key, ""
	}
	// The key is in this page's markup: nothing may store the page or tell
	// another site where it came from.
	q.w.Header().Set("Cache-Control", "no-store")
	q.w.Header().Set("Referrer-Policy", "no-referrer")
	q.connectSrc = cliOrigins
	return u.render(q, http.StatusOK, "cli_login.html", data)
}
