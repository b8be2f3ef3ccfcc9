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

const invitationColumns = `id, account_id, email, role, workspaces, token_hash, invited_by, created, expires`

func scanInvitation(row scanner) (*model.Invitation, error) {
	var (
		inv              model.Invitation
		created, expires nullTime
	)
	if err := row.Scan(&inv.ID, &inv.AccountID, &inv.Email, &inv.Role, jsonCol{&inv.Workspaces}, &inv.TokenHash, nullID{&inv.InvitedBy},
		&created, &expires); err != nil {
		return nil, err
	}
	inv.Created, inv.Expires = created.T, expires.T
	if inv.Workspaces == nil {
		inv.Workspaces = []model.WorkspaceGrant{}
	}
	return &inv, nil
}

var errInvitationGone = apperr.Errorf(apperr.ENotFound, "This invitation is not valid: it was revoked or already used.")

func invitationRecord(inv *model.Invitation, event string) auditRecord {
	return auditRecord{account: &inv.AccountID, event: event, targetType: "invitation", targetID: inv.ID.String(), targetName: inv.Email,
		details: map[string]any{"role": inv.Role, "workspaces": inv.Workspaces}}
}

// CreateInvitation stores an invitation to an account.
func (db *DB) CreateInvitation(ctx context.Context, inv *model.Invitation) error {
	inv.ID, inv.Created = uuid.Must(uuid.NewV7()), model.At(db.now())
	if inv.Workspaces == nil {
		inv.Workspaces = []model.WorkspaceGrant{}
	}
	return db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := db.lockAccount(ctx, tx, inv.AccountID); err != nil {
			return err
		}
		for _, g := range inv.Workspaces {
			ok, err := db.accountHasWorkspace(ctx, tx, inv.AccountID, g.WorkspaceID)
			if err != nil {
				return err
			}
			if !ok {
				return apperr.Errorf(apperr.EInvalid, "The account has no workspace %s.", g.WorkspaceID)
			}
		}
		var members int
		err := tx.QueryRowContext(ctx, db.d.rebind(`SELECT COUNT(*) FROM account_members m JOIN users u ON u.id = m.user_id
			WHERE m.account_id = ? AND u.email = ?`), inv.AccountID, inv.Email).Scan(&members)
		if err != nil {
			return fmt.Errorf("read account members: %w", err)
		}
		if members > 0 {
			return apperr.Errorf(apperr.EConflict, "%s is already a member of this account.", inv.Email)
		}
		// An expired invitation gives way to a new one; an open one is
		// revoked first, so that one email has one link at a time.
		now := db.d.time(inv.Created)
		if _, err := tx.ExecContext(ctx, db.d.rebind(`DELETE FROM invitations WHERE account_id = ? AND email = ? AND expires <= ?`),
			inv.AccountID, inv.Email, now); err != nil {
			return fmt.Errorf("delete expired invitations: %w", err)
		}
		var open int
		if err := tx.QueryRowContext(ctx, db.d.rebind(`SELECT COUNT(*) FROM invitations WHERE account_id = ? AND email = ?`), inv.AccountID, inv.Email).Scan(&open); err != nil {
			return fmt.Errorf("read invitations: %w", err)
		}
		if open > 0 {
			return apperr.Errorf(apperr.EConflict, "%s has an open invitation to this account: revoke it to send a new one.", inv.Email)
		}
		_, err = tx.ExecContext(ctx, db.d.rebind(`INSERT INTO invitations (`+invitationColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			inv.ID, inv.AccountID, inv.Email, inv.Role, mustJSON(inv.Workspaces), inv.TokenHash, idArg(inv.InvitedBy), now, db.d.time(inv.Expires))
		if err != nil {
			return fmt.Errorf("insert invitation: %w", err)
		}
		return db.audit(ctx, tx, invitationRecord(inv, store.AuditInvitationCreated))
	})
}

// ListInvitations lists an account's open invitations, newest first.
func (db *DB) ListInvitations(ctx context.Context, accountID uuid.UUID) ([]*model.Invitation, error) {
	rows, err := db.query(ctx, `SELECT `+invitationColumns+` FROM invitations WHERE account_id = ? ORDER BY created DESC, id DESC`, accountID)
	if err != nil {
		return nil, fmt.Errorf("list invitations: %w", err)
	}
	return collect(rows, scanInvitation)
}

// GetInvitationByToken returns the open invitation of a token's hash.
func (db *DB) GetInvitationByToken(ctx context.Context, tokenHash string) (*model.Invitation, error) {
	inv, err := scanInvitation(db.read.QueryRowContext(ctx, db.d.rebind(`SELECT `+invitationColumns+` FROM invitations WHERE token_hash = ?`), tokenHash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errInvitationGone
	}
	return inv, err
}

// invitationIn reads an invitation inside a write, by a condition on it.
func (db *DB) invitationIn(ctx context.Context, tx *sql.Tx, cond string, args ...any) (*model.Invitation, error) {
	inv, err := scanInvitation(tx.QueryRowContext(ctx, db.d.rebind(`SELECT `+invitationColumns+` FROM invitations WHERE `+cond+db.d.forUpdate()), args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errInvitationGone
	}
	if err != nil {
		return nil, fmt.Errorf("read invitation: %w", err)
	}
	return inv, nil
}

// RevokeInvitation deletes an open invitation of an account.
func (db *DB) RevokeInvitation(ctx context.Context, accountID, id uuid.UUID) error {
	return db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		inv, err := db.invitationIn(ctx, tx, `account_id = ? AND id = ?`, accountID, id)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, db.d.rebind(`DELETE FROM invitations WHERE id = ?`), inv.ID); err != nil {
			return fmt.Errorf("delete invitation: %w", err)
		}
		return db.audit(ctx, tx, invitationRecord(inv, store.AuditInvitationRevoked))
	})
}

// AcceptInvitation makes userID a member as the invitation says and closes
// it.
func (db *DB) AcceptInvitation(ctx context.Context, tokenHash string, userID uuid.UUID) (*model.Invitation, error) {
	var inv *model.Invitation
	err := db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		if inv, err = db.invitationIn(ctx, tx, `token_hash = ?`, tokenHash); err != nil {
			return err
		}
		if !db.now().Before(inv.Expires.Time) {
			return apperr.Errorf(apperr.EConflict, "This invitation has expired: ask for a new one.")
		}
		var email string
		err = tx.QueryRowContext(ctx, db.d.rebind(`SELECT email FROM users WHERE id = ?`), userID).Scan(&email)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("User")
		}
		if err != nil {
			return fmt.Errorf("read user: %w", err)
		}
		if email != inv.Email {
			return apperr.Errorf(apperr.EForbidden, "This invitation is for another email address: sign in as its invitee to accept it.")
		}
		if err := db.lockAccount(ctx, tx, inv.AccountID); err != nil {
			return err
		}
		var role string
		err = tx.QueryRowContext(ctx, db.d.rebind(`SELECT role FROM account_members WHERE account_id = ? AND user_id = ?`), inv.AccountID, userID).Scan(&role)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("read account membership: %w", err)
		}
		if _, err := tx.ExecContext(ctx, db.d.rebind(`DELETE FROM invitations WHERE id = ?`), inv.ID); err != nil {
			return fmt.Errorf("close invitation: %w", err)
		}
		if err := db.audit(ctx, tx, invitationRecord(inv, store.AuditInvitationAccepted)); err != nil {
			return err
		}
		if role == "" {
			if err := db.upsertMember(ctx, tx, "account_members", "account_id", inv.AccountID, userID, inv.Role); err != nil {
				return err
			}
			r := auditRecord{account: &inv.AccountID, event: store.AuditMemberAdded, details: map[string]any{"role": inv.Role, "invitation_id": inv.ID}}
			if err := db.userTarget(ctx, tx, &r, userID); err != nil {
				return err
			}
			if err := db.audit(ctx, tx, r); err != nil {
				return err
			}
		}
		for _, g := range inv.Workspaces {
			// A workspace deleted since the invitation was made is skipped.
			ok, err := db.accountHasWorkspace(ctx, tx, inv.AccountID, g.WorkspaceID)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			if err := db.setWorkspaceRole(ctx, tx, inv.AccountID, g.WorkspaceID, userID, g.Role); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return inv, nil
}

// accountHasWorkspace reports, in tx, whether the workspace ws belongs to
// the account.
func (db *DB) accountHasWorkspace(ctx context.Context, tx *sql.Tx, accountID, ws uuid.UUID) (bool, error) {
	var n int
	err := tx.QueryRowContext(ctx, db.d.rebind(`SELECT COUNT(*) FROM workspaces WHERE id = ? AND account_id = ?`), ws, accountID).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("read workspace: %w", err)
	}
	return n > 0, nil
}
