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

// GetUserByIdentity returns the user a provider's subject is linked to.
func (db *DB) GetUserByIdentity(ctx context.Context, provider, subject string) (*model.User, error) {
	u, err := scanUser(db.read.QueryRowContext(ctx, db.d.rebind(`SELECT `+userColumns+` FROM users u
		JOIN user_identities i ON i.user_id = u.id WHERE i.provider = ? AND i.subject = ?`), provider, subject))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("User")
	}
	return u, err
}

// CreateUserWithIdentity creates a user without a password, their account
// and their identity, in one transaction.
func (db *DB) CreateUserWithIdentity(ctx context.Context, u *model.User, account *model.Account, id *model.Identity) error {
	now := model.At(db.now())
	return db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := db.insertUser(ctx, tx, now, u, "", account); err != nil {
			return err
		}
		id.UserID = u.ID
		return db.insertIdentity(ctx, tx, now, id)
	})
}

// LinkIdentity links a provider's subject to an existing user.
func (db *DB) LinkIdentity(ctx context.Context, id *model.Identity) error {
	now := model.At(db.now())
	return db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := db.insertIdentity(ctx, tx, now, id); err != nil {
			return err
		}
		// The provider's sign-in that links it is the user's own doing.
		a, _ := store.ActorOf(ctx)
		a.UserID = &id.UserID
		r := auditRecord{event: store.AuditIdentityLinked, details: map[string]any{"provider": id.Provider, "email": id.Email}}
		if err := db.userTarget(ctx, tx, &r, id.UserID); err != nil {
			return err
		}
		return db.auditUser(ctx, tx, a, id.UserID, r)
	})
}

func (db *DB) insertIdentity(ctx context.Context, tx *sql.Tx, now model.Time, id *model.Identity) error {
	id.Created = now
	_, err := tx.ExecContext(ctx, db.d.rebind(`INSERT INTO user_identities (provider, subject, user_id, email, created) VALUES (?, ?, ?, ?, ?)`),
		id.Provider, id.Subject, id.UserID, id.Email, db.d.time(now))
	if db.d.isUniqueViolation(err) {
		return apperr.Errorf(apperr.EConflict, "This %s account is already linked to a user.", id.Provider)
	}
	if err != nil {
		return fmt.Errorf("insert identity: %w", err)
	}
	return nil
}

// ListIdentities returns a user's identities, by provider.
func (db *DB) ListIdentities(ctx context.Context, userID uuid.UUID) ([]model.Identity, error) {
	rows, err := db.query(ctx, `SELECT provider, subject, user_id, email, created FROM user_identities WHERE user_id = ? ORDER BY provider, subject`, userID)
	if err != nil {
		return nil, fmt.Errorf("list identities: %w", err)
	}
	return collect(rows, func(row scanner) (model.Identity, error) {
		var (
			id      model.Identity
			created nullTime
		)
		err := row.Scan(&id.Provider, &id.Subject, &id.UserID, &id.Email, &created)
		id.Created = created.T
		return id, err
	})
}

// CreateSSOLogin stores a sign-in in progress, and deletes the expired ones
// so abandoned sign-ins do not pile up.
func (db *DB) CreateSSOLogin(ctx context.Context, l *model.SSOLogin) error {
	now := db.d.time(model.At(db.now()))
	return db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, db.d.rebind(`DELETE FROM sso_logins WHERE expires <= ?`), now); err != nil {
			return fmt.Errorf("delete expired sso logins: %w", err)
		}
		_, err := tx.ExecContext(ctx, db.d.rebind(`INSERT INTO sso_logins (state_hash, provider, browser_hash, nonce, verifier, next, expires) VALUES (?, ?, ?, ?, ?, ?, ?)`),
			l.StateHash, l.Provider, l.BrowserHash, l.Nonce, l.Verifier, l.Next, db.d.time(l.Expires))
		if err != nil {
			return fmt.Errorf("insert sso login: %w", err)
		}
		return nil
	})
}

// TakeSSOLogin returns and deletes the unexpired sign-in with this state
// hash; of two callbacks with one state, only one gets it.
func (db *DB) TakeSSOLogin(ctx context.Context, stateHash string) (*model.SSOLogin, error) {
	var (
		l       model.SSOLogin
		expires nullTime
	)
	err := db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, db.d.rebind(`DELETE FROM sso_logins WHERE state_hash = ?
			RETURNING state_hash, provider, browser_hash, nonce, verifier, next, expires`), stateHash).
			Scan(&l.StateHash, &l.Provider, &l.BrowserHash, &l.Nonce, &l.Verifier, &l.Next, &expires)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Sign-in")
	}
	if err != nil {
		return nil, fmt.Errorf("take sso login: %w", err)
	}
	l.Expires = expires.T
	if !db.now().Before(l.Expires.Time) {
		return nil, notFound("Sign-in")
	}
	return &l, nil
}

// SetAccountSSORequired sets an account's SSO requirement.
func (db *DB) SetAccountSSORequired(ctx context.Context, accountID uuid.UUID, required bool) error {
	return db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, db.d.rebind(`UPDATE accounts SET sso_required = ? WHERE id = ?`), required, accountID)
		if err != nil {
			return fmt.Errorf("set sso required: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("Account")
		}
		return db.audit(ctx, tx, auditRecord{account: &accountID, event: store.AuditSSOConfigured, targetType: "account", targetID: accountID.String(),
			details: map[string]any{"sso_required": required}})
	})
}

// AccountSSORequired reports an account's SSO requirement.
func (db *DB) AccountSSORequired(ctx context.Context, accountID uuid.UUID) (bool, error) {
	var required bool
	err := db.read.QueryRowContext(ctx, db.d.rebind(`SELECT sso_required FROM accounts WHERE id = ?`), accountID).Scan(&required)
	if errors.Is(err, sql.ErrNoRows) {
		return false, notFound("Account")
	}
	return required, err
}

// UserSSORequired reports whether an account the user belongs to requires
// SSO.
func (db *DB) UserSSORequired(ctx context.Context, userID uuid.UUID) (bool, error) {
	var n int
	err := db.read.QueryRowContext(ctx, db.d.rebind(`SELECT COUNT(*) FROM account_members m JOIN accounts a ON a.id = m.account_id
		WHERE m.user_id = ? AND a.sso_required = ?`), userID, true).Scan(&n)
	return n > 0, err
}
