package store

import (
	"context"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/model"
)

// Identities stores sign-in with identity providers: which provider
// subject is which user, the sign-ins in progress, and which accounts
// require their members to sign in with a provider.
type Identities interface {
	// GetUserByIdentity returns the user a provider's subject is linked to.
	GetUserByIdentity(ctx context.Context, provider, subject string) (*model.User, error)
	// CreateUserWithIdentity creates a user who has no password, the
	// account they own and their identity, in one transaction.
	CreateUserWithIdentity(ctx context.Context, u *model.User, account *model.Account, id *model.Identity) error
	// LinkIdentity links a provider's subject to an existing user; a
	// subject already linked is a conflict.
	LinkIdentity(ctx context.Context, id *model.Identity) error
	// ListIdentities returns a user's identities, by provider.
	ListIdentities(ctx context.Context, userID uuid.UUID) ([]model.Identity, error)

	// CreateSSOLogin stores a sign-in in progress (and forgets expired ones).
	CreateSSOLogin(ctx context.Context, l *model.SSOLogin) error
	// TakeSSOLogin returns the unexpired sign-in with this state hash and
	// deletes it in the same statement, so each callback is accepted once.
	TakeSSOLogin(ctx context.Context, stateHash string) (*model.SSOLogin, error)

	// SetAccountSSORequired sets whether an account's members must sign in
	// with an identity provider rather than a password.
	SetAccountSSORequired(ctx context.Context, accountID uuid.UUID, required bool) error
	AccountSSORequired(ctx context.Context, accountID uuid.UUID) (bool, error)
	// UserSSORequired reports whether any account the user is a member of
	// requires SSO.
	UserSSORequired(ctx context.Context, userID uuid.UUID) (bool, error)
}
