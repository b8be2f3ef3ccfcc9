package store

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/model"
)

// Audit log events. Each is recorded by the store method that does the
// action, in its transaction, so an action is recorded exactly once and an
// action that fails records nothing; a failed sign-in, which changes
// nothing, is recorded by RecordFailedSignIn.
const (
	AuditLoggedIn            = "user.logged-in"
	AuditLoginFailed         = "user.login-failed"
	AuditLoggedOut           = "user.logged-out"
	AuditAPIKeyCreated       = "api-key.created"
	AuditAPIKeyDeleted       = "api-key.deleted"
	AuditWorkspaceCreated    = "workspace.created"
	AuditWorkspaceUpdated    = "workspace.updated"
	AuditWorkspaceDeleted    = "workspace.deleted"
	AuditInvitationCreated   = "invitation.created"
	AuditInvitationAccepted  = "invitation.accepted"
	AuditInvitationRevoked   = "invitation.revoked"
	AuditMemberAdded         = "account-member.added"
	AuditMemberRoleChanged   = "account-member.role-changed"
	AuditMemberRemoved       = "account-member.removed"
	AuditWorkspaceMemberRole = "workspace-member.role-changed"
	AuditWorkspaceMemberGone = "workspace-member.removed"

	AuditIdentityLinked        = "user.identity-linked"
	AuditSSOConfigured         = "sso.configured"
	AuditServiceAccountCreated = "service-account.created"
	AuditServiceAccountUpdated = "service-account.updated"
	AuditServiceAccountDeleted = "service-account.deleted"
	AuditAPIKeyRotated         = "api-key.rotated"
	AuditTeamCreated           = "team.created"
	AuditTeamUpdated           = "team.updated"
	AuditTeamDeleted           = "team.deleted"
	AuditTeamMemberAdded       = "team-member.added"
	AuditTeamMemberRemoved     = "team-member.removed"
	AuditTeamWorkspaceRole     = "team.workspace-role-changed"
)

// AuditEvents lists every event the store records, for filters.
var AuditEvents = []string{
	AuditLoggedIn, AuditLoginFailed, AuditLoggedOut, AuditAPIKeyCreated, AuditAPIKeyDeleted,
	AuditWorkspaceCreated, AuditWorkspaceUpdated, AuditWorkspaceDeleted,
	AuditInvitationCreated, AuditInvitationAccepted, AuditInvitationRevoked,
	AuditMemberAdded, AuditMemberRoleChanged, AuditMemberRemoved, AuditWorkspaceMemberRole, AuditWorkspaceMemberGone,
	AuditIdentityLinked, AuditSSOConfigured,
	AuditServiceAccountCreated, AuditServiceAccountUpdated, AuditServiceAccountDeleted, AuditAPIKeyRotated,
	AuditTeamCreated, AuditTeamUpdated, AuditTeamDeleted, AuditTeamMemberAdded, AuditTeamMemberRemoved, AuditTeamWorkspaceRole,
}

// Actor is who makes a request's changes, as the audit log records them:
// the API and the UI put it in the request's context once they know the
// caller. A context without one is the server itself (an admin command).
type Actor struct {
	// UserID is the signed-in or key-holding user, nil before sign-in.
	UserID *uuid.UUID
	// Addr and UserAgent are the client's address (as the server
	// determines it for its rate limits) and its User-Agent.
	Addr, UserAgent string
}

type actorKey struct{}

// WithActor returns ctx carrying a.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorOf returns the actor ctx carries and whether it carries one.
func ActorOf(ctx context.Context) (Actor, bool) {
	a, ok := ctx.Value(actorKey{}).(Actor)
	return a, ok
}

// Invitations stores the invitations of accounts.
type Invitations interface {
	// CreateInvitation stores inv (its TokenHash set by the caller) once
	// its workspaces are checked to belong to its account; inviting a
	// member, or an email with an unexpired invitation, is a conflict.
	CreateInvitation(ctx context.Context, inv *model.Invitation) error
	// ListInvitations returns an account's open invitations, newest first,
	// expired ones included.
	ListInvitations(ctx context.Context, accountID uuid.UUID) ([]*model.Invitation, error)
	// GetInvitationByToken returns the open invitation whose token hashes
	// to tokenHash, expired or not.
	GetInvitationByToken(ctx context.Context, tokenHash string) (*model.Invitation, error)
	RevokeInvitation(ctx context.Context, accountID, id uuid.UUID) error
	// AcceptInvitation makes userID a member as the invitation says, in
	// one transaction that also closes it: it must be open and unexpired,
	// and for userID's email. A member keeps their account role.
	AcceptInvitation(ctx context.Context, tokenHash string, userID uuid.UUID) (*model.Invitation, error)
}

// AuditQuery filters an account's audit log; zero fields do not filter.
type AuditQuery struct {
	Since, Until *time.Time // Since inclusive, Until exclusive
	Events       []string
	WorkspaceID  *uuid.UUID
	ActorID      *uuid.UUID
	Limit        int // 0: 100
	Offset       int
}

// AuditLog reads the audit log; entries are written by the actions.
type AuditLog interface {
	// RecordFailedSignIn records a refused sign-in with email (for the
	// reason given), in each account of the user with that email (or in
	// none, with no account, when nobody has it or the email is unknown).
	RecordFailedSignIn(ctx context.Context, email, reason string) error
	// ListAuditLog returns an account's entries, newest first.
	ListAuditLog(ctx context.Context, accountID uuid.UUID, q AuditQuery) ([]*model.AuditEntry, error)
	// PruneAuditLog deletes the entries older than before, the retention
	// pass: the only deletion of audit entries. It returns how many went.
	PruneAuditLog(ctx context.Context, before time.Time) (int, error)
}
