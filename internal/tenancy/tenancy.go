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
	in.Email = strings.TrimSpace(strings.ToLower(in.Email))
	if !strings.Contains(in.Email, "@") || len(in.Email) > 254 {
		return nil, nil, store.Errorf(store.EInvalid, "A valid email address is required.")
	}
	if len(in.Password) < auth.MinPasswordLength {
		return nil, nil, store.Errorf(store.EInvalid, "The password must have at least %d characters.", auth.MinPasswordLength)
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
	hash, err := auth.HashPassword(in.Password)
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
