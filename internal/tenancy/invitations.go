package tenancy

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/auth"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/roles"
	"github.com/praetorhq/praetor/internal/store"
)

// InvitationLifetime is how long an invitation can be accepted.
const InvitationLifetime = 7 * 24 * time.Hour

// Mailer sends a plain text mail to one address.
type Mailer interface {
	Mail(ctx context.Context, to, subject, body string) error
}

// Invitations invites people to accounts: the API and the UI share one.
type Invitations struct {
	Store store.Store
	// Mailer mails invitations; nil when the operator configured no SMTP
	// server, and the inviter passes the link on.
	Mailer Mailer
	// BaseURL is the root of the UI that invitation links point to.
	BaseURL string
	Logger  *slog.Logger // nil: slog.Default()
	// Now is the time invitations are made at; nil: time.Now.
	Now func() time.Time
}

// InviteInput is whom an invitation is for and what it gives them.
type InviteInput struct {
	Email      string                 `json:"email"`
	Role       string                 `json:"role"`
	Workspaces []model.WorkspaceGrant `json:"workspaces"`
}

// NewInvitation is a created invitation with the link that accepts it,
// shown to the inviter once.
type NewInvitation struct {
	model.Invitation
	URL string `json:"url"`
	// Mailed says whether the link was mailed to the invitee.
	Mailed bool `json:"mailed"`
}

// InvitationPath is the UI path that accepts the invitation of token.
func InvitationPath(token string) string { return "/invitations/" + token }

// Invite invites an email to an account on behalf of actorID, whose role
// there (the one the request was let in with) is actorRole: owners and
// admins invite, and only owners invite owners.
func (iv *Invitations) Invite(ctx context.Context, actorID uuid.UUID, actorRole string, accountID uuid.UUID, in InviteInput) (*NewInvitation, error) {
	if !CanAdminAccount(actorRole) {
		return nil, errAccountAdmin
	}
	email := auth.NormalizeEmail(in.Email)
	if !strings.Contains(email, "@") || len(email) > auth.MaxEmailLength || strings.ContainsAny(email, " \r\n<>,") {
		return nil, apperr.Errorf(apperr.EInvalid, "A valid email address is required.")
	}
	if in.Role == "" {
		in.Role = roles.AccountMember
	}
	if !roles.ValidAccountRole(in.Role) {
		return nil, errAccountRole
	}
	if in.Role == roles.AccountOwner && actorRole != roles.AccountOwner {
		return nil, apperr.Errorf(apperr.EForbidden, "Only owners can make owners.")
	}
	seen := map[uuid.UUID]bool{}
	for _, g := range in.Workspaces {
		if !roles.ValidWorkspaceRole(g.Role) {
			return nil, apperr.Errorf(apperr.EInvalid, "Workspace roles are owner, developer, runner, viewer and worker.")
		}
		if seen[g.WorkspaceID] {
			return nil, apperr.Errorf(apperr.EInvalid, "The workspace %s is named twice.", g.WorkspaceID)
		}
		seen[g.WorkspaceID] = true
	}
	token, err := auth.NewToken(32)
	if err != nil {
		return nil, err
	}
	now := time.Now
	if iv.Now != nil {
		now = iv.Now
	}
	inv := model.Invitation{AccountID: accountID, Email: email, Role: in.Role, Workspaces: in.Workspaces, InvitedBy: &actorID,
		TokenHash: auth.HashKey(token), Expires: model.At(now().Add(InvitationLifetime))}
	if err := iv.Store.CreateInvitation(ctx, &inv); err != nil {
		return nil, err
	}
	out := &NewInvitation{Invitation: inv, URL: strings.TrimSuffix(iv.BaseURL, "/") + InvitationPath(token)}
	if iv.Mailer != nil {
		out.Mailed = iv.mail(ctx, actorID, out)
	}
	return out, nil
}

// mail sends the invitation's link to its invitee and reports whether the
// SMTP server took it; a failure is logged, and the inviter still has the
// link to pass on.
func (iv *Invitations) mail(ctx context.Context, actorID uuid.UUID, inv *NewInvitation) bool {
	acct, err := iv.Store.GetAccount(ctx, inv.AccountID)
	if err != nil {
		iv.logger().Error("mail invitation: read account", "invitation", inv.ID, "err", err)
		return false
	}
	inviter := "Someone"
	if u, err := iv.Store.GetUser(ctx, actorID); err == nil {
		inviter = u.DisplayName + " <" + u.Email + ">"
	}
	subject := fmt.Sprintf("You are invited to %s on Praetor", acct.Name)
	body := fmt.Sprintf("%s invited you to join the account %s (%s) on Praetor as %s.\n\n"+
		"Accept the invitation by signing in, or registering, with this email address at:\n\n%s\n\n"+
		"The link works once, until %s.\n",
		inviter, acct.Name, acct.Handle, inv.Role, inv.URL, inv.Expires.UTC().Format(time.RFC1123))
	if err := iv.Mailer.Mail(ctx, inv.Email, subject, body); err != nil {
		iv.logger().Warn("mail invitation", "invitation", inv.ID, "err", err)
		return false
	}
	return true
}

func (iv *Invitations) logger() *slog.Logger {
	if iv.Logger == nil {
		return slog.Default()
	}
	return iv.Logger
}

// Revoke revokes an open invitation of an account, for a caller whose
// role there is actorRole.
func (iv *Invitations) Revoke(ctx context.Context, actorRole string, accountID, id uuid.UUID) error {
	if !CanAdminAccount(actorRole) {
		return errAccountAdmin
	}
	return iv.Store.RevokeInvitation(ctx, accountID, id)
}

// Lookup returns the open invitation of token and its account, for the
// page that offers to accept it.
func (iv *Invitations) Lookup(ctx context.Context, token string) (*model.Invitation, *model.Account, error) {
	inv, err := iv.Store.GetInvitationByToken(ctx, auth.HashKey(token))
	if err != nil {
		return nil, nil, err
	}
	acct, err := iv.Store.GetAccount(ctx, inv.AccountID)
	if err != nil {
		return nil, nil, err
	}
	return inv, acct, nil
}

// Accept accepts the invitation of token for userID, who must have the
// invited email.
func (iv *Invitations) Accept(ctx context.Context, userID uuid.UUID, token string) (*model.Invitation, error) {
	return iv.Store.AcceptInvitation(ctx, auth.HashKey(token), userID)
}

// AddAccountMember is the members list's "add by email": a member of the
// account gets role as a role change would give it; anyone else is
// invited, since nobody joins an account without accepting.
func (iv *Invitations) AddAccountMember(ctx context.Context, actorID uuid.UUID, actorRole string, accountID uuid.UUID, email, role string) (*model.Member, *NewInvitation, error) {
	if !CanAdminAccount(actorRole) {
		return nil, nil, errAccountAdmin
	}
	if !roles.ValidAccountRole(role) {
		return nil, nil, errAccountRole
	}
	u, _, err := iv.Store.GetUserByEmail(ctx, email)
	if err != nil && !apperr.IsNotFound(err) {
		return nil, nil, err
	}
	if u != nil {
		current, err := iv.Store.AccountRole(ctx, accountID, u.ID)
		if err != nil {
			return nil, nil, err
		}
		if current != "" {
			if err := SetAccountMemberRole(ctx, iv.Store, actorID, accountID, u.ID, role); err != nil {
				return nil, nil, err
			}
			return &model.Member{User: *u, Role: role}, nil, nil
		}
	}
	inv, err := iv.Invite(ctx, actorID, actorRole, accountID, InviteInput{Email: email, Role: role})
	return nil, inv, err
}
