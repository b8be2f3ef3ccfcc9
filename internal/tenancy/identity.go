package tenancy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/auth"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/sso"
	"github.com/praetorhq/praetor/internal/store"
)

// How a sign-in with a provider found its user.
const (
	IdentityKnown   = "known"   // the provider's subject was linked before
	IdentityLinked  = "linked"  // linked now to the user with its verified email
	IdentityCreated = "created" // a new user, with the account they own
)

// SignInWithIdentity finds or makes the user a provider vouched for. A
// subject linked before is that user. Otherwise the provider's email must be
// verified by it: it then links to the user with that email, or, when there
// is none, creates one (if signUp allows it and the provider's allowed
// domains include the email's). Refusals are EForbidden errors that say why.
func SignInWithIdentity(ctx context.Context, s store.Store, p *sso.Provider, id *sso.Identity, signUp bool) (*model.User, string, error) {
	u, err := s.GetUserByIdentity(ctx, p.ID, id.Subject)
	if err == nil {
		return u, IdentityKnown, nil
	}
	if !apperr.IsNotFound(err) {
		return nil, "", fmt.Errorf("get user by identity: %w", err)
	}
	email := auth.NormalizeEmail(id.Email)
	if !strings.Contains(email, "@") || len(email) > auth.MaxEmailLength {
		return nil, "", apperr.Errorf(apperr.EForbidden, "%s did not give Praetor an email address, so you cannot sign in with it.", p.Name)
	}
	if !id.EmailVerified {
		// Linking on an address the provider has not checked would let
		// anyone who types someone's email at that provider take over
		// their Praetor user.
		return nil, "", apperr.Errorf(apperr.EForbidden,
			"%s does not say that %s is verified, so Praetor did not sign you in or link it to a user. Verify the address at %s and try again, or sign in with your password.",
			p.Name, email, p.Name)
	}
	identity := &model.Identity{Provider: p.ID, Subject: id.Subject, Email: email}
	existing, _, err := s.GetUserByEmail(ctx, email)
	switch {
	case err == nil:
		identity.UserID = existing.ID
		if err := s.LinkIdentity(ctx, identity); err != nil {
			return nil, "", fmt.Errorf("link identity: %w", err)
		}
		return existing, IdentityLinked, nil
	case !apperr.IsNotFound(err):
		return nil, "", fmt.Errorf("get user by email: %w", err)
	}
	if !signUp {
		return nil, "", apperr.Errorf(apperr.EForbidden, "Registration is closed on this server: no user has the email %s. Ask an administrator for an account.", email)
	}
	if !p.AllowsNewUser(email) {
		return nil, "", apperr.Errorf(apperr.EForbidden, "New users signing in with %s must have an email address at %s.", p.Name, strings.Join(p.AllowedDomains, " or "))
	}
	return createIdentityUser(ctx, s, email, id.Name, identity)
}

// createIdentityUser creates the user and their account, with a handle
// derived from the email: a taken one gets a random suffix, as nobody was
// asked to choose.
func createIdentityUser(ctx context.Context, s store.Store, email, name string, identity *model.Identity) (*model.User, string, error) {
	base := Handle(strings.Split(email, "@")[0])
	if base == "" || slices.Contains(reservedHandles, base) {
		base = "user"
	}
	handle := base
	for range 5 {
		u := &model.User{Email: email, Handle: handle, DisplayName: name}
		if u.DisplayName == "" {
			u.DisplayName = handle
		}
		acct := &model.Account{Handle: handle, Name: handle}
		err := s.CreateUserWithIdentity(ctx, u, acct, identity)
		if err == nil {
			return u, IdentityCreated, nil
		}
		if apperr.ErrorCode(err) != apperr.EConflict {
			return nil, "", fmt.Errorf("create user with identity: %w", err)
		}
		suffix := make([]byte, 3)
		rand.Read(suffix)
		handle = strings.Trim(base[:min(len(base), 56)], "-") + "-" + hex.EncodeToString(suffix)
	}
	return nil, "", errors.New("create user with identity: no free handle after 5 tries")
}
