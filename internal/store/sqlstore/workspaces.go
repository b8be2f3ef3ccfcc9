package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/model"
)

const workspaceColumns = `w.id, w.account_id, a.handle, a.name, w.handle, w.name, w.description, w.is_default, w.created, w.updated`

func scanWorkspace(row scanner) (model.Workspace, error) {
	var (
		w                model.Workspace
		created, updated nullTime
	)
	err := row.Scan(&w.ID, &w.AccountID, &w.AccountHandle, &w.AccountName, &w.Handle, &w.Name, &w.Description, &w.IsDefault, &created, &updated)
	w.Created, w.Updated = created.T, updated.T
	return w, err
}

// DefaultWorkspace returns the workspace the anonymous /api routes serve,
// creating the "default" account and workspace the first time; servers
// starting at once on one database all get the one that was created.
func (db *DB) DefaultWorkspace(ctx context.Context) (model.Workspace, error) {
	q := `SELECT ` + workspaceColumns + ` FROM workspaces w JOIN accounts a ON a.id = w.account_id WHERE w.is_default = ?`
	w, err := scanWorkspace(db.read.QueryRowContext(ctx, db.d.rebind(q), true))
	if err == nil {
		return w, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return w, fmt.Errorf("read default workspace: %w", err)
	}
	err = db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, db.d.rebind(`SELECT COUNT(*) FROM workspaces WHERE is_default = ?`), true).Scan(&n); err != nil || n > 0 {
			return err
		}
		now := db.d.time(model.At(db.now()))
		accountID, workspaceID := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
		res, err := tx.ExecContext(ctx, db.d.rebind(`INSERT INTO accounts (id, handle, name, created) VALUES (?, 'default', 'Default', ?) ON CONFLICT (handle) DO NOTHING`), accountID, now)
		if err != nil {
			return err
		}
		if added, _ := res.RowsAffected(); added == 0 {
			// The handle is taken, and never by the server's own account
			// without its default workspace (both are made in this one
			// transaction): either another server process just made both,
			// or a user's account has it (made before handles were
			// reserved). That account, its owner and its workspaces must
			// not become the ones every anonymous caller is served.
			if err := tx.QueryRowContext(ctx, db.d.rebind(`SELECT COUNT(*) FROM workspaces WHERE is_default = ?`), true).Scan(&n); err != nil || n > 0 {
				return err
			}
			return errors.New("the account handle 'default' is reserved for the server's default workspace, but a user's account has it: " +
				"give that account another handle (UPDATE accounts SET handle = '<another>' WHERE handle = 'default') and start again")
		}
		_, err = tx.ExecContext(ctx, db.d.rebind(`INSERT INTO workspaces (id, account_id, handle, name, description, is_default, created, updated) VALUES (?, ?, 'default', 'Default', 'The workspace served at /api without a key.', ?, ?, ?) ON CONFLICT DO NOTHING`),
			workspaceID, accountID, true, now, now)
		return err
	})
	if err != nil {
		return model.Workspace{}, fmt.Errorf("create default workspace: %w", err)
	}
	return scanWorkspace(db.read.QueryRowContext(ctx, db.d.rebind(q), true))
}

// GetWorkspaceByHandle returns a workspace by its account/workspace handles.
func (db *DB) GetWorkspaceByHandle(ctx context.Context, accountHandle, workspaceHandle string) (model.Workspace, error) {
	q := `SELECT ` + workspaceColumns + ` FROM workspaces w JOIN accounts a ON a.id = w.account_id WHERE a.handle = ? AND w.handle = ?`
	w, err := scanWorkspace(db.read.QueryRowContext(ctx, db.d.rebind(q), accountHandle, workspaceHandle))
	if errors.Is(err, sql.ErrNoRows) {
		return w, apperr.Errorf(apperr.ENotFound, "Workspace %s/%s not found", accountHandle, workspaceHandle)
	}
	return w, err
}

// GetWorkspaceByID returns a workspace by its id alone.
func (db *DB) GetWorkspaceByID(ctx context.Context, workspaceID uuid.UUID) (model.Workspace, error) {
	q := `SELECT ` + workspaceColumns + ` FROM workspaces w JOIN accounts a ON a.id = w.account_id WHERE w.id = ?`
	w, err := scanWorkspace(db.read.QueryRowContext(ctx, db.d.rebind(q), workspaceID))
	if errors.Is(err, sql.ErrNoRows) {
		return w, notFound("Workspace")
	}
	return w, err
}

// GetWorkspace returns a workspace of an account.
func (db *DB) GetWorkspace(ctx context.Context, accountID, workspaceID uuid.UUID) (model.Workspace, error) {
	stmt, err := db.prepared(ctx, `SELECT `+workspaceColumns+` FROM workspaces w JOIN accounts a ON a.id = w.account_id WHERE w.id = ? AND w.account_id = ?`)
	if err != nil {
		return model.Workspace{}, err
	}
	w, err := scanWorkspace(stmt.QueryRowContext(ctx, workspaceID, accountID))
	if errors.Is(err, sql.ErrNoRows) {
		return w, notFound("Workspace")
	}
	return w, err
}
