package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/roles"
	"github.com/praetorhq/praetor/internal/store"
)

var errServiceAccountName = apperr.Errorf(apperr.EConflict, "A service account with this name already exists in this account.")

// CreateServiceAccount creates a service account's user, its membership of
// the account (a member: it is given workspace roles, never the account's
// owner or admin role) and its first key.
func (db *DB) CreateServiceAccount(ctx context.Context, sa *model.ServiceAccount, passwordHash string, key *model.APIKey) error {
	now := model.At(db.now())
	sa.ID, sa.Created = uuid.Must(uuid.NewV7()), now
	key.ID, key.UserID, key.Created = uuid.Must(uuid.NewV7()), sa.ID, now
	return db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := db.lockAccount(ctx, tx, sa.AccountID); err != nil {
			return err
		}
		// The email and handle only fill the user's columns: under
		// .invalid (RFC 2606), no mailbox or provider can claim it.
		handle := "sa-" + sa.ID.String()
		_, err := tx.ExecContext(ctx, db.d.rebind(`INSERT INTO users (id, email, handle, display_name, password_hash, created) VALUES (?, ?, ?, ?, ?, ?)`),
			sa.ID, handle+"@service-accounts.invalid", handle, sa.Name, passwordHash, db.d.time(now))
		if err != nil {
			return fmt.Errorf("insert service account user: %w", err)
		}
		_, err = tx.ExecContext(ctx, db.d.rebind(`INSERT INTO service_accounts (user_id, account_id, name, created) VALUES (?, ?, ?, ?)`),
			sa.ID, sa.AccountID, sa.Name, db.d.time(now))
		if db.d.isUniqueViolation(err) {
			return errServiceAccountName
		}
		if err != nil {
			return fmt.Errorf("insert service account: %w", err)
		}
		if err := db.upsertMember(ctx, tx, "account_members", "account_id", sa.AccountID, sa.ID, roles.AccountMember); err != nil {
			return err
		}
		if err := db.insertAPIKey(ctx, tx, key); err != nil {
			return err
		}
		return db.audit(ctx, tx, serviceAccountRecord(sa.AccountID, sa.ID, sa.Name, store.AuditServiceAccountCreated, map[string]any{"key_prefix": key.Prefix}))
	})
}

func serviceAccountRecord(accountID, id uuid.UUID, name, event string, details map[string]any) auditRecord {
	return auditRecord{account: &accountID, event: event, targetType: "service-account", targetID: id.String(), targetName: name, details: details}
}

func (db *DB) insertAPIKey(ctx context.Context, tx *sql.Tx, k *model.APIKey) error {
	_, err := tx.ExecContext(ctx, db.d.rebind(`INSERT INTO api_keys (`+apiKeyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, NULL)`),
		k.ID, k.UserID, k.Name, k.Prefix, k.Hash, db.timeArg(k.Expires), db.d.time(k.Created))
	if err != nil {
		return fmt.Errorf("insert api key: %w", err)
	}
	return nil
}

const serviceAccountColumns = `user_id, account_id, name, created`

func scanServiceAccount(row scanner) (model.ServiceAccount, error) {
	var (
		sa      model.ServiceAccount
		created nullTime
	)
	err := row.Scan(&sa.ID, &sa.AccountID, &sa.Name, &created)
	sa.Created = created.T
	return sa, err
}

// ListServiceAccounts lists an account's service accounts by name.
func (db *DB) ListServiceAccounts(ctx context.Context, accountID uuid.UUID) ([]model.ServiceAccount, error) {
	rows, err := db.query(ctx, `SELECT `+serviceAccountColumns+` FROM service_accounts WHERE account_id = ? ORDER BY name`, accountID)
	if err != nil {
		return nil, fmt.Errorf("list service accounts: %w", err)
	}
	return collect(rows, scanServiceAccount)
}

// GetServiceAccount returns one of an account's service accounts.
func (db *DB) GetServiceAccount(ctx context.Context, accountID, id uuid.UUID) (*model.ServiceAccount, error) {
	sa, err := scanServiceAccount(db.read.QueryRowContext(ctx, db.d.rebind(`SELECT `+serviceAccountColumns+` FROM service_accounts WHERE account_id = ? AND user_id = ?`), accountID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Service account")
	}
	if err != nil {
		return nil, fmt.Errorf("read service account: %w", err)
	}
	return &sa, nil
}

// RenameServiceAccount renames a service account (and its user's display
// name, which member lists show).
func (db *DB) RenameServiceAccount(ctx context.Context, accountID, id uuid.UUID, name string) error {
	return db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		err := db.execOneIn(ctx, tx, "Service account", `UPDATE service_accounts SET name = ? WHERE account_id = ? AND user_id = ?`, name, accountID, id)
		if db.d.isUniqueViolation(err) {
			return errServiceAccountName
		}
		if err != nil {
			return err
		}
		if _, err = tx.ExecContext(ctx, db.d.rebind(`UPDATE users SET display_name = ? WHERE id = ?`), name, id); err != nil {
			return fmt.Errorf("rename service account user: %w", err)
		}
		return db.audit(ctx, tx, serviceAccountRecord(accountID, id, name, store.AuditServiceAccountUpdated, nil))
	})
}

// serviceAccountName reads the name of one of an account's service
// accounts in tx.
func (db *DB) serviceAccountName(ctx context.Context, tx *sql.Tx, accountID, id uuid.UUID) (string, error) {
	var name string
	err := tx.QueryRowContext(ctx, db.d.rebind(`SELECT name FROM service_accounts WHERE account_id = ? AND user_id = ?`), accountID, id).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", notFound("Service account")
	}
	if err != nil {
		return "", fmt.Errorf("read service account: %w", err)
	}
	return name, nil
}

// DeleteServiceAccount deletes the service account's user: its keys,
// memberships and team places go with it (ON DELETE CASCADE).
func (db *DB) DeleteServiceAccount(ctx context.Context, accountID, id uuid.UUID) error {
	return db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		name, err := db.serviceAccountName(ctx, tx, accountID, id)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, db.d.rebind(`DELETE FROM users WHERE id = ?`), id); err != nil {
			return fmt.Errorf("delete service account: %w", err)
		}
		return db.audit(ctx, tx, serviceAccountRecord(accountID, id, name, store.AuditServiceAccountDeleted, nil))
	})
}

// RotateServiceAccountKey adds key and cuts the other keys' lives to
// graceEnds.
func (db *DB) RotateServiceAccountKey(ctx context.Context, accountID, id uuid.UUID, key *model.APIKey, graceEnds model.Time) error {
	key.ID, key.UserID, key.Created = uuid.Must(uuid.NewV7()), id, model.At(db.now())
	return db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		name, err := db.serviceAccountName(ctx, tx, accountID, id)
		if err != nil {
			return err
		}
		end := db.d.time(graceEnds)
		if _, err := tx.ExecContext(ctx, db.d.rebind(`UPDATE api_keys SET expires = ? WHERE user_id = ? AND (expires IS NULL OR expires > ?)`), end, id, end); err != nil {
			return fmt.Errorf("expire old keys: %w", err)
		}
		if err := db.insertAPIKey(ctx, tx, key); err != nil {
			return err
		}
		r := apiKeyRecord(key, store.AuditAPIKeyRotated)
		r.account = &accountID
		r.details["service_account_id"], r.details["service_account"], r.details["old_keys_expire"] = id.String(), name, graceEnds
		return db.audit(ctx, tx, r)
	})
}
