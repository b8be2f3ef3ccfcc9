// Package tenancy validates and performs the account-level operations the
// API, the UI and the admin commands share: registering users, creating
// workspaces and minting API keys.
package tenancy

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/auth"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/roles"
	"github.com/praetorhq/praetor/internal/store"
)

var handlePattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// Handle derives a handle from a name: lower case, dashes for the rest.
func Handle(name string) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(name) {
		if 'a' <= c && c <= 'z' || '0' <= c && c <= '9' {
			b.WriteRune(c)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	h := strings.Trim(b.String(), "-")
	if len(h) > 63 {
		h = strings.Trim(h[:63], "-")
	}
	return h
}

// ValidHandle reports whether h can name an account or workspace.
func ValidHandle(h string) bool { return handlePattern.MatchString(h) }

// reservedHandles are the handles only the server may use: "default" names
// its own account and the workspace the plain /api routes serve (the
// store's DefaultWorkspace creates both). No account or workspace a user creates may
// take one, so nothing a user makes can pass for, or be adopted as, the
// server's own.
var reservedHandles = []string{"default"}

var errHandle = apperr.Errorf(apperr.EInvalid, "Handles use lower-case letters, digits and dashes (at most 63).")

// checkHandle validates a handle a user chose or one derived for them.
func checkHandle(h string) error {
	if !ValidHandle(h) {
		return errHandle
	}
	if slices.Contains(reservedHandles, h) {
		return apperr.Errorf(apperr.EInvalid, "The handle %q is reserved for the server's own account and workspace; choose another.", h)
	}
	return nil
}

// SignUp is a new user with their account.
type SignUp struct {
	Email         string `json:"email"`
	Password      string `json:"password"`
	Handle        string `json:"handle"`
	DisplayName   string `json:"display_name"`
	AccountHandle string `json:"account_handle"`
	AccountName   string `json:"account_name"`
}

// RegisterUser validates a sign-up and creates the user with the account
// they own.
func RegisterUser(ctx context.Context, s store.Store, in SignUp) (*model.User, *model.Account, error) {
	in.Email = auth.NormalizeEmail(in.Email)
	if !strings.Contains(in.Email, "@") || len(in.Email) > auth.MaxEmailLength {
		return nil, nil, apperr.Errorf(apperr.EInvalid, "A valid email address is required.")
	}
	if len(in.Password) < auth.MinPasswordLength {
		return nil, nil, apperr.Errorf(apperr.EInvalid, "The password must have at least %d characters.", auth.MinPasswordLength)
	}
	if len(in.Password) > auth.MaxPasswordLength {
		return nil, nil, apperr.Errorf(apperr.EInvalid, "The password must have at most %d bytes.", auth.MaxPasswordLength)
	}
	if in.Handle == "" {
		in.Handle = Handle(strings.Split(in.Email, "@")[0])
	}
	if in.AccountHandle == "" {
		in.AccountHandle = in.Handle
	}
	if in.AccountName == "" {
		in.AccountName = in.AccountHandle
	}
	if in.DisplayName == "" {
		in.DisplayName = in.Handle
	}
	if !ValidHandle(in.Handle) {
		return nil, nil, errHandle
	}
	if err := checkHandle(in.AccountHandle); err != nil {
		return nil, nil, err
	}
	hash, err := auth.HashPassword(ctx, in.Password)
	if err != nil {
		return nil, nil, err
	}
	u := &model.User{Email: in.Email, Handle: in.Handle, DisplayName: in.DisplayName}
	acct := &model.Account{Handle: in.AccountHandle, Name: in.AccountName}
	if err := s.CreateUser(ctx, u, hash, acct); err != nil {
		return nil, nil, err
	}
	return u, acct, nil
}

// NewAPIKey is a created key: shown once, with the key itself.
type NewAPIKey struct {
	model.APIKey
	Key string `json:"key"`
}

// BrowserLoginKeyLifetime is how long a key minted by the Prefect CLI's
// browser login (`prefect cloud login`, "Log in with a web browser") works:
// nobody picks its expiry, and a key that never expires would outlive the
// laptop it was left on.
const BrowserLoginKeyLifetime = 90 * 24 * time.Hour

// CreateAPIKey mints a key for a user, expiring at expires (nil: never).
// parent is the expiry of the key the request was made with (nil for a
// browser session, the admin command, or a key that never expires): a key
// cannot mint one that outlives it, so a key without an expiry of its own
// gets the parent's.
func CreateAPIKey(ctx context.Context, s store.Store, userID uuid.UUID, name string, expires, parent *model.Time) (*NewAPIKey, error) {
	if err := checkKey(name, expires); err != nil {
		return nil, err
	}
	if parent != nil {
		if expires == nil {
			expires = parent
		} else if expires.After(parent.Time) {
			return nil, apperr.Errorf(apperr.EInvalid, "A key cannot outlive the key that creates it: the expiration must be no later than %s.", parent.Format(time.RFC3339))
		}
	}
	k, err := mintKey(auth.UserKeyPrefix, name, expires)
	if err != nil {
		return nil, err
	}
	k.UserID = userID
	if err := s.CreateAPIKey(ctx, &k.APIKey); err != nil {
		return nil, err
	}
	return k, nil
}

// checkKey validates a new key's name and expiry.
func checkKey(name string, expires *model.Time) error {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return apperr.Errorf(apperr.EInvalid, "An API key needs a name of 1 to 100 characters.")
	}
	if expires != nil && !expires.After(model.Now().Time) {
		return apperr.Errorf(apperr.EInvalid, "The expiration must be in the future.")
	}
	return nil
}

// mintKey makes a key with the type prefix (auth.UserKeyPrefix or
// auth.ServiceKeyPrefix), not yet stored.
func mintKey(typePrefix, name string, expires *model.Time) (*NewAPIKey, error) {
	key, prefix, hash, err := auth.NewKey(typePrefix)
	if err != nil {
		return nil, err
	}
	return &NewAPIKey{APIKey: model.APIKey{Name: strings.TrimSpace(name), Prefix: prefix, Hash: hash, Expires: expires}, Key: key}, nil
}

// WorkspaceInput is a workspace's editable fields.
type WorkspaceInput struct {
	Handle      string `json:"handle"`
	Name        string `json:"name"`
	Description string `json:"description"`
}

// Apply validates in and sets it on ws; an empty handle is derived from the
// name. Only the default workspace may keep the reserved handle it has.
func (in WorkspaceInput) Apply(ws *model.Workspace) error {
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || len(in.Name) > 100 {
		return apperr.Errorf(apperr.EInvalid, "A workspace needs a name of 1 to 100 characters.")
	}
	if in.Handle == "" {
		in.Handle = Handle(in.Name)
	}
	if !(ws.IsDefault && in.Handle == ws.Handle) {
		if err := checkHandle(in.Handle); err != nil {
			return err
		}
	}
	if len(in.Description) > 2000 {
		return apperr.Errorf(apperr.EInvalid, "The description is longer than 2000 characters.")
	}
	ws.Handle, ws.Name, ws.Description = in.Handle, in.Name, in.Description
	return nil
}

// CanAdminAccount reports whether an account role manages the account's
// workspaces and members.
func CanAdminAccount(role string) bool {
	return role == roles.AccountOwner || role == roles.AccountAdmin
}

// RequireAccountAdmin refuses an account role that does not manage the
// account, for a route that must refuse before it reads its input: a
// member is told no, not that their input or target is wrong.
func RequireAccountAdmin(role string) error {
	if !CanAdminAccount(role) {
		return errAccountAdmin
	}
	return nil
}

// CreateWorkspace creates a workspace in an account the user administers;
// the user becomes its owner. A user who is not a member sees a not-found.
func CreateWorkspace(ctx context.Context, s store.Store, userID, accountID uuid.UUID, in WorkspaceInput) (*model.Workspace, error) {
	role, err := AccountRole(ctx, s, accountID, userID)
	if err != nil {
		return nil, err
	}
	if !CanAdminAccount(role) {
		return nil, apperr.Errorf(apperr.EForbidden, "Only owners and admins of the account can create workspaces.")
	}
	ws := &model.Workspace{AccountID: accountID}
	if err := in.Apply(ws); err != nil {
		return nil, err
	}
	if err := s.CreateWorkspace(ctx, ws, &userID); err != nil {
		return nil, err
	}
	return ws, nil
}

// UpdateWorkspace applies in to ws and saves it, for a caller whose
// effective role in the workspace is role.
func UpdateWorkspace(ctx context.Context, s store.Store, role string, ws *model.Workspace, in WorkspaceInput) error {
	if !auth.Can(role, auth.ManageWorkspace) {
		return apperr.Errorf(apperr.EForbidden, "Only owners of the workspace can change it.")
	}
	if err := in.Apply(ws); err != nil {
		return err
	}
	return s.UpdateWorkspace(ctx, ws)
}

// DeleteWorkspace deletes ws and everything in it, for a caller whose
// effective role in the workspace is role. The default workspace stays:
// the plain /api routes serve it.
func DeleteWorkspace(ctx context.Context, s store.Store, role string, ws *model.Workspace) error {
	if !auth.Can(role, auth.ManageWorkspace) {
		return apperr.Errorf(apperr.EForbidden, "Only owners of the workspace can delete it.")
	}
	if ws.IsDefault {
		return apperr.Errorf(apperr.EConflict, "The default workspace cannot be deleted.")
	}
	return s.DeleteWorkspace(ctx, ws.AccountID, ws.ID)
}

var errWorkspaceRole = apperr.Errorf(apperr.EInvalid, "Workspace roles are owner, developer, runner, viewer and worker.")

// errNotInAccount answers both "no such user" and "not in the account":
// whoever adds a member must not learn from it who has registered.
var errNotInAccount = apperr.Errorf(apperr.ENotFound, "No member of this workspace's account has that id or email: add them to the account first.")

// SetWorkspaceMember gives a member of the workspace's account a role in the
// workspace. Anyone else is refused: a workspace owner cannot pull users of
// other accounts in. The caller's right to manage membership is checked by
// the caller (the API route's permission, the UI's settings page).
func SetWorkspaceMember(ctx context.Context, s store.Store, workspaceID, userID uuid.UUID, role string) error {
	if !roles.ValidWorkspaceRole(role) {
		return errWorkspaceRole
	}
	err := s.SetWorkspaceMemberInAccount(ctx, workspaceID, userID, role)
	if apperr.IsNotFound(err) {
		return errNotInAccount
	}
	return err
}

// SetWorkspaceMemberByEmail is SetWorkspaceMember for the user with email,
// as the settings page names them, with the same answer for an unknown
// email.
func SetWorkspaceMemberByEmail(ctx context.Context, s store.Store, workspaceID uuid.UUID, email, role string) error {
	u, _, err := s.GetUserByEmail(ctx, email)
	if apperr.IsNotFound(err) {
		return errNotInAccount
	}
	if err != nil {
		return err
	}
	return SetWorkspaceMember(ctx, s, workspaceID, u.ID, role)
}

var (
	errAccountAdmin = apperr.Errorf(apperr.EForbidden, "Only owners and admins of the account can do this.")
	errAccountRole  = apperr.Errorf(apperr.EInvalid, "Account roles are owner, admin and member.")
)

var errServiceAccountMember = apperr.Errorf(apperr.EConflict,
	"This is a service account: its membership is managed with it, under the account's service accounts.")

// memberChange is a change of one account membership: role is the new role
// ("" removes the member), and self says the actor changes their own
// membership. Nobody is added here: people join by accepting an
// invitation.
type memberChange struct {
	role string
	self bool
}

// decide applies the account's membership rules to c, given the membership
// as it is inside the write transaction, and returns the role to store. Every
// route that changes an account's members (changing a role, removing,
// leaving) comes here, so none of them is a way around a rule:
// owners and admins manage members, only owners make, change or remove
// owners, an owner cannot leave, and an account keeps at least one owner.
func (c memberChange) decide(m store.AccountMembership) (string, error) {
	switch {
	case c.role != "" && CanAdminAccount(m.ActorRole) && !roles.ValidAccountRole(c.role):
		// Checked once the actor may change roles at all: others are
		// told no, not that their input is wrong.
		return "", errAccountRole
	case m.ActorRole == "":
		// The actor left or was removed since the request began.
		return "", ErrNoAccount
	case m.Service:
		// Its account role stays member (it is never an owner or admin,
		// nor a member of another account), and deleting it, not removing
		// it, revokes its keys.
		return "", errServiceAccountMember
	case c.self && c.role == "":
		if m.ActorRole == roles.AccountOwner {
			return "", apperr.Errorf(apperr.EConflict, "An owner cannot leave their own account.")
		}
		return "", nil
	case !CanAdminAccount(m.ActorRole):
		return "", errAccountAdmin
	case m.Role == "":
		return "", apperr.Errorf(apperr.ENotFound, "Member not found")
	case c.role == roles.AccountOwner && m.Role != roles.AccountOwner && m.ActorRole != roles.AccountOwner:
		return "", apperr.Errorf(apperr.EForbidden, "Only owners can make owners.")
	case m.Role == roles.AccountOwner && m.ActorRole != roles.AccountOwner:
		return "", apperr.Errorf(apperr.EForbidden, "Only owners can change or remove an owner.")
	case m.Role == roles.AccountOwner && c.role != roles.AccountOwner && m.Owners < 2:
		return "", apperr.Errorf(apperr.EConflict, "An account needs an owner: make someone else owner first.")
	}
	return c.role, nil
}

// SetAccountMemberRole changes a member's role on behalf of actorID.
func SetAccountMemberRole(ctx context.Context, s store.Store, actorID, accountID, userID uuid.UUID, role string) error {
	c := memberChange{role: role, self: userID == actorID}
	return s.ChangeAccountMember(ctx, accountID, actorID, userID, c.decide)
}

// RemoveAccountMember removes a member from an account and its workspaces
// on behalf of actorID. Anyone but an owner may leave; an owner leaving
// would be an easy way to leave an account with nobody in charge.
func RemoveAccountMember(ctx context.Context, s store.Store, actorID, accountID, userID uuid.UUID) error {
	c := memberChange{self: userID == actorID}
	return s.ChangeAccountMember(ctx, accountID, actorID, userID, c.decide)
}
