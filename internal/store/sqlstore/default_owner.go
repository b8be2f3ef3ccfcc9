package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/roles"
	"github.com/praetorhq/praetor/internal/store"
)

// ClaimDefaultAccount makes the user owner of the default workspace's
// account if neither that account nor the default workspace has a member
// yet, and reports whether it did. The check and the insert run in one
// write transaction, so of any number of concurrent claims exactly one
// succeeds.
func (db *DB) ClaimDefaultAccount(ctx context.Context, userID uuid.UUID) (bool, error) {
	var claimed bool
	err := db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		claimed = false
		var accountID, workspaceID uuid.UUID
		err := tx.QueryRowContext(ctx, db.d.rebind(`SELECT account_id, id FROM workspaces WHERE is_default = ?`), true).Scan(&accountID, &workspaceID)
		if err != nil {
			return fmt.Errorf("read default workspace: %w", err)
		}
		// Concurrent claims queue on the account's row (on PostgreSQL; SQLite
		// has one writer), so each counts the members after the last one
		// committed.
		if err := tx.QueryRowContext(ctx, db.d.rebind(`SELECT id FROM accounts WHERE id = ?`+db.d.forUpdate()), accountID).Scan(&accountID); err != nil {
			return fmt.Errorf("lock default account: %w", err)
		}
		var members int
		err = tx.QueryRowContext(ctx, db.d.rebind(`SELECT (SELECT COUNT(*) FROM account_members WHERE account_id = ?) + (SELECT COUNT(*) FROM workspace_members WHERE workspace_id = ?)`),
			accountID, workspaceID).Scan(&members)
		if err != nil {
			return fmt.Errorf("count default members: %w", err)
		}
		if members > 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, db.d.rebind(`INSERT INTO account_members (account_id, user_id, role, created) VALUES (?, ?, ?, ?)`),
			accountID, userID, roles.AccountOwner, db.d.time(model.At(db.now()))); err != nil {
			return fmt.Errorf("claim default account: %w", err)
		}
		claimed = true
		r := auditRecord{account: &accountID, event: store.AuditMemberAdded, details: map[string]any{"role": roles.AccountOwner, "claimed_default": true}}
		if err := db.userTarget(ctx, tx, &r, userID); err != nil {
			return err
		}
		return db.audit(ctx, tx, r)
	})
	return claimed && err == nil, err
}
