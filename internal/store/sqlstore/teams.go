package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

var errTeamName = apperr.Errorf(apperr.EConflict, "A team with this name already exists in this account.")

// CreateTeam creates a team in its account.
func (db *DB) CreateTeam(ctx context.Context, t *model.Team) error {
	now := model.At(db.now())
	t.ID, t.Created, t.Updated = uuid.Must(uuid.NewV7()), now, now
	return db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, db.d.rebind(`INSERT INTO teams (id, account_id, name, description, created, updated) VALUES (?, ?, ?, ?, ?, ?)`),
			t.ID, t.AccountID, t.Name, t.Description, db.d.time(now), db.d.time(now))
		if db.d.isUniqueViolation(err) {
			return errTeamName
		}
		if err != nil {
			return fmt.Errorf("insert team: %w", err)
		}
		return db.audit(ctx, tx, teamRecord(t.AccountID, t.ID, t.Name, store.AuditTeamCreated, nil))
	})
}

func teamRecord(accountID, id uuid.UUID, name, event string, details map[string]any) auditRecord {
	return auditRecord{account: &accountID, event: event, targetType: "team", targetID: id.String(), targetName: name, details: details}
}

const teamColumns = `id, account_id, name, description, created, updated`

func scanTeam(row scanner) (model.Team, error) {
	var (
		t                model.Team
		created, updated nullTime
	)
	err := row.Scan(&t.ID, &t.AccountID, &t.Name, &t.Description, &created, &updated)
	t.Created, t.Updated = created.T, updated.T
	return t, err
}

// ListTeams lists an account's teams by name.
func (db *DB) ListTeams(ctx context.Context, accountID uuid.UUID) ([]model.Team, error) {
	rows, err := db.query(ctx, `SELECT `+teamColumns+` FROM teams WHERE account_id = ? ORDER BY name`, accountID)
	if err != nil {
		return nil, fmt.Errorf("list teams: %w", err)
	}
	return collect(rows, scanTeam)
}

// GetTeam returns a team with its members and workspace roles.
func (db *DB) GetTeam(ctx context.Context, accountID, id uuid.UUID) (*model.TeamDetail, error) {
	t, err := scanTeam(db.read.QueryRowContext(ctx, db.d.rebind(`SELECT `+teamColumns+` FROM teams WHERE account_id = ? AND id = ?`), accountID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Team")
	}
	if err != nil {
		return nil, fmt.Errorf("read team: %w", err)
	}
	d := &model.TeamDetail{Team: t}
	rows, err := db.query(ctx, `SELECT `+userColumns+`, COALESCE(am.role, '') FROM team_members tm JOIN users u ON u.id = tm.user_id
		LEFT JOIN account_members am ON am.account_id = ? AND am.user_id = tm.user_id WHERE tm.team_id = ? ORDER BY u.display_name, u.email`, accountID, id)
	if err != nil {
		return nil, fmt.Errorf("list team members: %w", err)
	}
	if d.Members, err = collect(rows, func(row scanner) (model.Member, error) {
		var role string
		u, err := scanUser(row, &role)
		if err != nil {
			return model.Member{}, err
		}
		return model.Member{User: *u, Role: role}, nil
	}); err != nil {
		return nil, fmt.Errorf("list team members: %w", err)
	}
	rows, err = db.query(ctx, `SELECT w.id, w.handle, tr.role FROM team_workspace_roles tr JOIN workspaces w ON w.id = tr.workspace_id
		WHERE tr.team_id = ? ORDER BY w.handle`, id)
	if err != nil {
		return nil, fmt.Errorf("list team roles: %w", err)
	}
	if d.Workspaces, err = collect(rows, func(row scanner) (model.TeamWorkspaceRole, error) {
		var r model.TeamWorkspaceRole
		return r, row.Scan(&r.WorkspaceID, &r.WorkspaceHandle, &r.Role)
	}); err != nil {
		return nil, fmt.Errorf("list team roles: %w", err)
	}
	return d, nil
}

// UpdateTeam saves a team's name and description.
func (db *DB) UpdateTeam(ctx context.Context, t *model.Team) error {
	t.Updated = model.At(db.now())
	return db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		err := db.execOneIn(ctx, tx, "Team", `UPDATE teams SET name = ?, description = ?, updated = ? WHERE account_id = ? AND id = ?`,
			t.Name, t.Description, db.d.time(t.Updated), t.AccountID, t.ID)
		if db.d.isUniqueViolation(err) {
			return errTeamName
		}
		if err != nil {
			return err
		}
		return db.audit(ctx, tx, teamRecord(t.AccountID, t.ID, t.Name, store.AuditTeamUpdated, map[string]any{"description": t.Description}))
	})
}

// DeleteTeam deletes a team; its members lose the roles it gave.
func (db *DB) DeleteTeam(ctx context.Context, accountID, id uuid.UUID) error {
	return db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		name, err := db.teamIn(ctx, tx, accountID, id)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, db.d.rebind(`DELETE FROM teams WHERE id = ?`), id); err != nil {
			return fmt.Errorf("delete team: %w", err)
		}
		return db.audit(ctx, tx, teamRecord(accountID, id, name, store.AuditTeamDeleted, nil))
	})
}

// teamIn checks, inside tx, that the team is the account's, and returns
// its name.
func (db *DB) teamIn(ctx context.Context, tx *sql.Tx, accountID, teamID uuid.UUID) (string, error) {
	var name string
	err := tx.QueryRowContext(ctx, db.d.rebind(`SELECT name FROM teams WHERE account_id = ? AND id = ?`), accountID, teamID).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", notFound("Team")
	}
	if err != nil {
		return "", fmt.Errorf("read team: %w", err)
	}
	return name, nil
}

// teamMemberRecord is a change of userID's place in a team.
func (db *DB) teamMemberRecord(ctx context.Context, tx *sql.Tx, accountID, teamID uuid.UUID, team string, userID uuid.UUID, event string) error {
	r := auditRecord{account: &accountID, event: event, details: map[string]any{"team_id": teamID, "team": team}}
	if err := db.userTarget(ctx, tx, &r, userID); err != nil {
		return err
	}
	return db.audit(ctx, tx, r)
}

// AddTeamMember adds a member of the account to one of its teams, with the
// account locked so a concurrent removal from the account cannot leave them
// in it.
func (db *DB) AddTeamMember(ctx context.Context, accountID, teamID, userID uuid.UUID) error {
	return db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := db.lockAccount(ctx, tx, accountID); err != nil {
			return err
		}
		team, err := db.teamIn(ctx, tx, accountID, teamID)
		if err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, db.d.rebind(`SELECT COUNT(*) FROM account_members WHERE account_id = ? AND user_id = ?`), accountID, userID).Scan(&n); err != nil {
			return fmt.Errorf("read account membership: %w", err)
		}
		if n == 0 {
			return notFound("Member")
		}
		res, err := tx.ExecContext(ctx, db.d.rebind(`INSERT INTO team_members (team_id, user_id, created) VALUES (?, ?, ?) ON CONFLICT (team_id, user_id) DO NOTHING`),
			teamID, userID, db.d.time(model.At(db.now())))
		if err != nil {
			return fmt.Errorf("add team member: %w", err)
		}
		if added, _ := res.RowsAffected(); added == 0 {
			return nil // already in it: nothing changed
		}
		return db.teamMemberRecord(ctx, tx, accountID, teamID, team, userID, store.AuditTeamMemberAdded)
	})
}

// RemoveTeamMember takes a member out of a team.
func (db *DB) RemoveTeamMember(ctx context.Context, accountID, teamID, userID uuid.UUID) error {
	return db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		team, err := db.teamIn(ctx, tx, accountID, teamID)
		if apperr.IsNotFound(err) {
			return notFound("Member")
		}
		if err != nil {
			return err
		}
		if err := db.execOneIn(ctx, tx, "Member", `DELETE FROM team_members WHERE user_id = ? AND team_id = ?`, userID, teamID); err != nil {
			return err
		}
		return db.teamMemberRecord(ctx, tx, accountID, teamID, team, userID, store.AuditTeamMemberRemoved)
	})
}

// SetTeamWorkspaceRole gives a team a role in a workspace of its account,
// or takes it away ("").
func (db *DB) SetTeamWorkspaceRole(ctx context.Context, accountID, teamID, workspaceID uuid.UUID, role string) error {
	return db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		team, err := db.teamIn(ctx, tx, accountID, teamID)
		if err != nil {
			return err
		}
		var previous string
		err = tx.QueryRowContext(ctx, db.d.rebind(`SELECT role FROM team_workspace_roles WHERE team_id = ? AND workspace_id = ?`), teamID, workspaceID).Scan(&previous)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("read team role: %w", err)
		}
		r := teamRecord(accountID, teamID, team, store.AuditTeamWorkspaceRole, map[string]any{"role": role, "previous_role": previous})
		r.workspace = &workspaceID
		if role == "" {
			if err := db.execOneIn(ctx, tx, "Team role", `DELETE FROM team_workspace_roles WHERE team_id = ? AND workspace_id = ?`, teamID, workspaceID); err != nil {
				return err
			}
			return db.audit(ctx, tx, r)
		}
		if role == previous {
			return nil
		}
		var n int
		if err := tx.QueryRowContext(ctx, db.d.rebind(`SELECT COUNT(*) FROM workspaces WHERE account_id = ? AND id = ?`), accountID, workspaceID).Scan(&n); err != nil {
			return fmt.Errorf("read workspace: %w", err)
		}
		if n == 0 {
			return notFound("Workspace")
		}
		_, err = tx.ExecContext(ctx, db.d.rebind(`INSERT INTO team_workspace_roles (team_id, workspace_id, role, created) VALUES (?, ?, ?, ?)
			ON CONFLICT (team_id, workspace_id) DO UPDATE SET role = excluded.role`), teamID, workspaceID, role, db.d.time(model.At(db.now())))
		if err != nil {
			return fmt.Errorf("set team role: %w", err)
		}
		return db.audit(ctx, tx, r)
	})
}
