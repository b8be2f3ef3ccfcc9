package tenancy

import (
	"context"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/auth"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

// Who is calling and what they may do where they address: the one place the
// API (keys), its websockets and the UI (sessions) resolve it. A workspace or
// account the caller has no role in is not found, never forbidden, so ids
// cannot be probed.
var (
	ErrNotAuthenticated = apperr.Errorf(apperr.EUnauthorized, "Not authenticated")
	ErrNoWorkspace      = apperr.Errorf(apperr.ENotFound, "Workspace not found")
	ErrNoAccount        = apperr.Errorf(apperr.ENotFound, "Account not found")
)

// Caller is who makes a request.
type Caller struct {
	// User is the authenticated user, uuid.Nil for a request without a
	// credential.
	User uuid.UUID
	// Anonymous lets a caller without a credential use the default
	// workspace with auth.AnonymousRole: the server runs in anonymous mode
	// and the request comes from this machine (auth.LocalRequest).
	Anonymous bool
}

// WorkspaceRole returns a user's effective role in the workspace with id ws;
// no role is ErrNoWorkspace.
func WorkspaceRole(ctx context.Context, s store.Store, user, ws uuid.UUID) (string, error) {
	role, err := s.WorkspaceRole(ctx, user, ws)
	if err != nil {
		return "", err
	}
	if role == "" {
		return "", ErrNoWorkspace
	}
	return role, nil
}

// ResolveWorkspace returns the workspace a request addresses by account and
// workspace id, and the caller's effective role in it. Anonymous mode never
// reaches an addressed workspace: only the plain routes (ResolveDefault).
func ResolveWorkspace(ctx context.Context, s store.Store, c Caller, accountID, workspaceID uuid.UUID) (*model.Workspace, string, error) {
	if c.User == uuid.Nil {
		return nil, "", ErrNotAuthenticated
	}
	ws, err := s.GetWorkspace(ctx, accountID, workspaceID)
	if err != nil {
		return nil, "", err
	}
	role, err := WorkspaceRole(ctx, s, c.User, ws.ID)
	if err != nil {
		return nil, "", err
	}
	return &ws, role, nil
}

// ResolveWorkspaceRole is ResolveWorkspace for a caller that needs only the
// role (the API's workspace routes), in one read.
func ResolveWorkspaceRole(ctx context.Context, s store.Store, c Caller, accountID, workspaceID uuid.UUID) (string, error) {
	if c.User == uuid.Nil {
		return "", ErrNotAuthenticated
	}
	role, err := s.WorkspaceAccess(ctx, c.User, accountID, workspaceID)
	if err != nil {
		return "", err
	}
	if role == "" {
		return "", ErrNoWorkspace
	}
	return role, nil
}

// ResolveDefault returns the caller's effective role in the default
// workspace (id ws), which the plain /api routes serve.
func ResolveDefault(ctx context.Context, s store.Store, c Caller, ws uuid.UUID) (string, error) {
	switch {
	case c.User == uuid.Nil && c.Anonymous:
		return auth.AnonymousRole, nil
	case c.User == uuid.Nil:
		return "", ErrNotAuthenticated
	}
	return WorkspaceRole(ctx, s, c.User, ws)
}

// AccountRole returns a user's role in an account. A user who is not a
// member gets ErrNoAccount, so account ids cannot be probed.
func AccountRole(ctx context.Context, s store.Store, accountID, userID uuid.UUID) (string, error) {
	role, err := s.AccountRole(ctx, accountID, userID)
	if err != nil {
		return "", err
	}
	if role == "" {
		return "", ErrNoAccount
	}
	return role, nil
}
