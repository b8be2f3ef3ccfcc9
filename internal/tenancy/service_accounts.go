package tenancy

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/auth"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/roles"
	"github.com/praetorhq/praetor/internal/store"
)

// Service accounts: each function below is one auditable action (created,
// renamed, workspace role changed, key rotated, deleted), checked here for
// every caller (API and UI). actorRole is the caller's role in the account.

// MaxRotationGrace bounds how long a rotated-out key keeps working: long
// enough to roll the new key out to every worker, short enough that a key
// rotated because it leaked stops soon.
const MaxRotationGrace = 7 * 24 * time.Hour

// NewServiceAccount is a created service account with its first key, shown
// once.
type NewServiceAccount struct {
	model.ServiceAccount
	APIKey *NewAPIKey `json:"api_key"`
}

func checkServiceAccountName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return "", apperr.Errorf(apperr.EInvalid, "A service account needs a name of 1 to 100 characters.")
	}
	return name, nil
}

// CreateServiceAccount creates a service account in an account the caller
// administers, with a first pnb_ key expiring at expires (nil: never). Its
// password is a random secret nobody is told: it cannot sign in.
func CreateServiceAccount(ctx context.Context, s store.Store, actorRole string, accountID uuid.UUID, name string, expires *model.Time) (*NewServiceAccount, error) {
	if !CanAdminAccount(actorRole) {
		return nil, errAccountAdmin
	}
	name, err := checkServiceAccountName(name)
	if err != nil {
		return nil, err
	}
	if err := checkKey(name, expires); err != nil {
		return nil, err
	}
	k, err := mintKey(auth.ServiceKeyPrefix, name, expires)
	if err != nil {
		return nil, err
	}
	secret, err := auth.NewToken(32)
	if err != nil {
		return nil, err
	}
	hash, err := auth.HashPassword(ctx, secret)
	if err != nil {
		return nil, err
	}
	sa := model.ServiceAccount{AccountID: accountID, Name: name}
	if err := s.CreateServiceAccount(ctx, &sa, hash, &k.APIKey); err != nil {
		return nil, err
	}
	return &NewServiceAccount{ServiceAccount: sa, APIKey: k}, nil
}

// RenameServiceAccount renames one of the account's service accounts.
func RenameServiceAccount(ctx context.Context, s store.Store, actorRole string, accountID, id uuid.UUID, name string) error {
	if !CanAdminAccount(actorRole) {
		return errAccountAdmin
	}
	name, err := checkServiceAccountName(name)
	if err != nil {
		return err
	}
	return s.RenameServiceAccount(ctx, accountID, id, name)
}

// DeleteServiceAccount deletes a service account: its keys stop working at
// once.
func DeleteServiceAccount(ctx context.Context, s store.Store, actorRole string, accountID, id uuid.UUID) error {
	if !CanAdminAccount(actorRole) {
		return errAccountAdmin
	}
	return s.DeleteServiceAccount(ctx, accountID, id)
}

// RotateServiceAccountKey mints a new key for a service account, expiring
// at expires (nil: never), and makes its other keys expire grace from now
// (0: at once).
func RotateServiceAccountKey(ctx context.Context, s store.Store, actorRole string, accountID, id uuid.UUID, grace time.Duration, expires *model.Time, now time.Time) (*NewAPIKey, error) {
	if !CanAdminAccount(actorRole) {
		return nil, errAccountAdmin
	}
	if grace < 0 || grace > MaxRotationGrace {
		return nil, apperr.Errorf(apperr.EInvalid, "The grace period is from 0 to %d seconds.", int(MaxRotationGrace.Seconds()))
	}
	sa, err := s.GetServiceAccount(ctx, accountID, id)
	if err != nil {
		return nil, err
	}
	if err := checkKey(sa.Name, expires); err != nil {
		return nil, err
	}
	k, err := mintKey(auth.ServiceKeyPrefix, sa.Name, expires)
	if err != nil {
		return nil, err
	}
	if err := s.RotateServiceAccountKey(ctx, accountID, id, &k.APIKey, model.At(now.Add(grace))); err != nil {
		return nil, err
	}
	return k, nil
}

// SetServiceAccountWorkspaceRole gives one of the account's service
// accounts a role in a workspace of the account; "" takes it away.
func SetServiceAccountWorkspaceRole(ctx context.Context, s store.Store, actorRole string, accountID, id, workspaceID uuid.UUID, role string) error {
	if !CanAdminAccount(actorRole) {
		return errAccountAdmin
	}
	if role != "" && !roles.ValidWorkspaceRole(role) {
		return errWorkspaceRole
	}
	if _, err := s.GetServiceAccount(ctx, accountID, id); err != nil {
		return err
	}
	if _, err := s.GetWorkspace(ctx, accountID, workspaceID); err != nil {
		return err
	}
	if role == "" {
		return s.RemoveWorkspaceMember(ctx, workspaceID, id)
	}
	return SetWorkspaceMember(ctx, s, workspaceID, id, role)
}
