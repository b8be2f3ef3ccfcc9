// Package tenancy validates and performs the account-level operations the
// API, the UI and the admin commands share: registering users, creating
// workspaces and minting API keys.
package tenancy

import (
	"context"
	"regexp"
	"strings"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/auth"
	"github.com/praetorhq/praetor/internal/model"
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

var errHandle = store.Errorf(store.EInvalid, "Handles use lower-case letters, digits and dashes (at most 63).")

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
		return nil, nil, store.Errorf(store.EInvalid, "A valid email address is required.")
	}
	if len(in.Password) < auth.MinPasswordLength {
		return nil, nil, store.Errorf(store.EInvalid, "The password must have at least %d characters.", auth.MinPasswordLength)
	}
	if len(in.Password) > auth.MaxPasswordLength {
		return nil, nil, store.Errorf(store.EInvalid, "The password must have at most %d bytes.", auth.MaxPasswordLength)
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
	if !ValidHandle(in.Handle) || !ValidHandle(in.AccountHandle) {
		return nil, nil, errHandle
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

// CreateAPIKey mints a key for a user.
func CreateAPIKey(ctx context.Context, s store.Store, userID uuid.UUID, name string, expires *model.Time) (*NewAPIKey, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return nil, store.Errorf(store.EInvalid, "An API key needs a name of 1 to 100 characters.")
	}
	if expires != nil && !expires.After(model.Now().Time) {
		return nil, store.Errorf(store.EInvalid, "The expiration must be in the future.")
	}
	key, prefix, hash, err := auth.NewKey(auth.UserKeyPrefix)
	if err != nil {
		return nil, err
	}
	k := model.APIKey{UserID: userID, Name: name, Prefix: prefix, Hash: hash, Expires: expires}
	if err := s.CreateAPIKey(ctx, &k); err != nil {
		return nil, err
	}
	return &NewAPIKey{APIKey: k, Key: key}, nil
}

// WorkspaceInput is a workspace's editable fields.
type WorkspaceInput struct {
	Handle      string `json:"handle"`
	Name        string `json:"name"`
	Description string `json:"description"`
}

// Apply validates in and sets it on ws; an empty handle is derived from the
// name.
func (in WorkspaceInput) Apply(ws *model.Workspace) error {
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || len(in.Name) > 100 {
		return store.Errorf(store.EInvalid, "A workspace needs a name of 1 to 100 characters.")
	}
	if in.Handle == "" {
		in.Handle = Handle(in.Name)
	}
	if !ValidHandle(in.Handle) {
		return errHandle
	}
	if len(in.Description) > 2000 {
		return store.Errorf(store.EInvalid, "The description is longer than 2000 characters.")
	}
	ws.Handle, ws.Name, ws.Description = in.Handle, in.Name, in.Description
	return nil
}

// CanAdminAccount reports whether an account role manages the account's
// workspaces and members.
func CanAdminAccount(role string) bool { return role == auth.AccountOwner || role == auth.AccountAdmin }

// CreateWorkspace creates a workspace in an account the user administers;
// the user becomes its owner. A user who is not a member sees a not-found.
func CreateWorkspace(ctx context.Context, s store.Store, userID, accountID uuid.UUID, in WorkspaceInput) (*model.Workspace, error) {
	role, err := s.AccountRole(ctx, accountID, userID)
	if err != nil {
		return nil, err
	}
	if role == "" {
		return nil, store.Errorf(store.ENotFound, "Account not found")
	}
	if !CanAdminAccount(role) {
		return nil, store.Errorf(store.EForbidden, "Only owners and admins of the account can create workspaces.")
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
		return store.Errorf(store.EForbidden, "Only owners of the workspace can change it.")
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
		return store.Errorf(store.EForbidden, "Only owners of the workspace can delete it.")
	}
	if ws.IsDefault {
		return store.Errorf(store.EConflict, "The default workspace cannot be deleted.")
	}
	return s.DeleteWorkspace(ctx, ws.AccountID, ws.ID)
}

// SetWorkspaceMember gives an existing user a role in a workspace. The
// caller's right to manage membership is checked by the caller (the API
// route's permission, the UI's settings page).
func SetWorkspaceMember(ctx context.Context, s store.Store, workspaceID, userID uuid.UUID, role string) error {
	if !auth.ValidWorkspaceRole(role) {
		return store.Errorf(store.EInvalid, "Workspace roles are owner, developer, runner, viewer and worker.")
	}
	if _, err := s.GetUser(ctx, userID); err != nil {
		return err
	}
	return s.SetWorkspaceMember(ctx, workspaceID, userID, role)
}

// UserByEmail finds an existing user to add as a member.
func UserByEmail(ctx context.Context, s store.Store, email string) (*model.User, error) {
	u, _, err := s.GetUserByEmail(ctx, email)
	if store.IsNotFound(err) {
		return nil, store.Errorf(store.ENotFound, "No user has the email %q; they need to register first.", strings.TrimSpace(email))
	}
	return u, err
}

// AccountRole returns a user's role in an account. A user who is not a
// member gets a not-found, so account ids cannot be probed.
func AccountRole(ctx context.Context, s store.Store, accountID, userID uuid.UUID) (string, error) {
	role, err := s.AccountRole(ctx, accountID, userID)
	if err != nil {
		return "", err
	}
	if role == "" {
		return "", store.Errorf(store.ENotFound, "Account not found")
	}
	return role, nil
}

var (
	errAccountAdmin = store.Errorf(store.EForbidden, "Only owners and admins of the account can do this.")
	errAccountRole  = store.Errorf(store.EInvalid, "Account roles are owner, admin and member.")
)

// AddAccountMember adds the user with email to an account as role, for a
// caller whose role in the account is actorRole: owners and admins add
// members, and only owners make owners.
func AddAccountMember(ctx context.Context, s store.Store, actorRole string, accountID uuid.UUID, email, role string) (*model.Member, error) {
	if !CanAdminAccount(actorRole) {
		return nil, errAccountAdmin
	}
	if !auth.ValidAccountRole(role) {
		return nil, errAccountRole
	}
	if role == auth.AccountOwner && actorRole != auth.AccountOwner {
		return nil, store.Errorf(store.EForbidden, "Only owners can make owners.")
	}
	u, err := UserByEmail(ctx, s, email)
	if err != nil {
		return nil, err
	}
	if err := s.SetAccountMember(ctx, accountID, u.ID, role); err != nil {
		return nil, err
	}
	return &model.Member{User: *u, Role: role}, nil
}

// SetAccountMemberRole changes a member's role, for a caller whose role in
// the account is actorRole: only owners grant or take away the owner role.
func SetAccountMemberRole(ctx context.Context, s store.Store, actorRole string, accountID, userID uuid.UUID, role string) error {
	if !CanAdminAccount(actorRole) {
		return errAccountAdmin
	}
	if !auth.ValidAccountRole(role) {
		return errAccountRole
	}
	current, err := s.AccountRole(ctx, accountID, userID)
	if err != nil {
		return err
	}
	if current == "" {
		return store.Errorf(store.ENotFound, "Member not found")
	}
	if (role == auth.AccountOwner || current == auth.AccountOwner) && actorRole != auth.AccountOwner {
		return store.Errorf(store.EForbidden, "Only owners can grant or change the owner role.")
	}
	if current == auth.AccountOwner && role != auth.AccountOwner {
		members, err := s.ListAccountMembers(ctx, accountID)
		if err != nil {
			return err
		}
		owners := 0
		for _, m := range members {
			if m.Role == auth.AccountOwner {
				owners++
			}
		}
		if owners < 2 {
			return store.Errorf(store.EConflict, "An account needs an owner: make someone else owner first.")
		}
	}
	return s.SetAccountMember(ctx, accountID, userID, role)
}

// RemoveAccountMember removes a member from an account and its workspaces,
// for the caller actorID whose role there is actorRole. Owners and admins
// remove others and anyone may leave, but removing an owner takes an owner
// (as changing one's role does), and an owner cannot leave: it would be an
// easy way to leave an account with nobody in charge.
func RemoveAccountMember(ctx context.Context, s store.Store, actorID uuid.UUID, actorRole string, accountID, userID uuid.UUID) error {
	if userID == actorID {
		if actorRole == auth.AccountOwner {
			return store.Errorf(store.EConflict, "An owner cannot leave their own account.")
		}
		return s.RemoveAccountMember(ctx, accountID, userID)
	}
	if !CanAdminAccount(actorRole) {
		return errAccountAdmin
	}
	current, err := s.AccountRole(ctx, accountID, userID)
	if err != nil {
		return err
	}
	if current == "" {
		return store.Errorf(store.ENotFound, "Member not found")
	}
	if current == auth.AccountOwner && actorRole != auth.AccountOwner {
		return store.Errorf(store.EForbidden, "Only owners can grant or change the owner role.")
	}
	return s.RemoveAccountMember(ctx, accountID, userID)
}
