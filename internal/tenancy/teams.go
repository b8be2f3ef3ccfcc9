package tenancy

import (
	"context"
	"strings"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/roles"
	"github.com/praetorhq/praetor/internal/store"
)

// Teams: each function below is one auditable action (team created,
// updated, deleted, member added or removed, workspace role set or taken
// away), checked here for every caller. actorRole is the caller's role in
// the account; owners and admins manage teams.

// TeamInput is a team's editable fields.
type TeamInput struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

func (in TeamInput) apply(t *model.Team) error {
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || len(in.Name) > 100 {
		return apperr.Errorf(apperr.EInvalid, "A team needs a name of 1 to 100 characters.")
	}
	if len(in.Description) > 2000 {
		return apperr.Errorf(apperr.EInvalid, "The description is longer than 2000 characters.")
	}
	t.Name, t.Description = in.Name, in.Description
	return nil
}

// CreateTeam creates a team in an account the caller administers.
func CreateTeam(ctx context.Context, s store.Store, actorRole string, accountID uuid.UUID, in TeamInput) (*model.Team, error) {
	if !CanAdminAccount(actorRole) {
		return nil, errAccountAdmin
	}
	t := &model.Team{AccountID: accountID}
	if err := in.apply(t); err != nil {
		return nil, err
	}
	if err := s.CreateTeam(ctx, t); err != nil {
		return nil, err
	}
	return t, nil
}

// UpdateTeam applies in to t and saves it.
func UpdateTeam(ctx context.Context, s store.Store, actorRole string, t *model.Team, in TeamInput) error {
	if !CanAdminAccount(actorRole) {
		return errAccountAdmin
	}
	if err := in.apply(t); err != nil {
		return err
	}
	return s.UpdateTeam(ctx, t)
}

// DeleteTeam deletes a team: its members lose the roles it gave at once.
func DeleteTeam(ctx context.Context, s store.Store, actorRole string, accountID, teamID uuid.UUID) error {
	if !CanAdminAccount(actorRole) {
		return errAccountAdmin
	}
	return s.DeleteTeam(ctx, accountID, teamID)
}

// AddTeamMember adds a member of the account (a user or a service account)
// to one of its teams; anyone else is the same not-found as an unknown id.
func AddTeamMember(ctx context.Context, s store.Store, actorRole string, accountID, teamID, userID uuid.UUID) error {
	if !CanAdminAccount(actorRole) {
		return errAccountAdmin
	}
	return s.AddTeamMember(ctx, accountID, teamID, userID)
}

// RemoveTeamMember takes a member out of a team.
func RemoveTeamMember(ctx context.Context, s store.Store, actorRole string, accountID, teamID, userID uuid.UUID) error {
	if !CanAdminAccount(actorRole) {
		return errAccountAdmin
	}
	return s.RemoveTeamMember(ctx, accountID, teamID, userID)
}

// SetTeamWorkspaceRole gives a team's members role in a workspace of the
// account ("" takes it away). A member's effective role there is the highest
// of their own and their teams' (roles.EffectiveWorkspaceRole).
func SetTeamWorkspaceRole(ctx context.Context, s store.Store, actorRole string, accountID, teamID, workspaceID uuid.UUID, role string) error {
	if !CanAdminAccount(actorRole) {
		return errAccountAdmin
	}
	if role != "" && !roles.ValidWorkspaceRole(role) {
		return errWorkspaceRole
	}
	return s.SetTeamWorkspaceRole(ctx, accountID, teamID, workspaceID, role)
}
