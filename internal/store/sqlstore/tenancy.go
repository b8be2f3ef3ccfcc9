package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/roles"
	"github.com/praetorhq/praetor/internal/store"
)

// CreateUser creates a user and the account they own.
func (db *DB) CreateUser(ctx context.Context, u *model.User, passwordHash string, account *model.Account) error {
	now := model.At(db.now())
	return db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		return db.insertUser(ctx, tx, now, u, passwordHash, account)
	})
}

// insertUser inserts a user, the account they own and their ownership of
// it; passwordHash is empty for a user who signs in only with a provider.
func (db *DB) insertUser(ctx context.Context, tx *sql.Tx, now model.Time, u *model.User, passwordHash string, account *model.Account) error {
	u.ID, u.Created = uuid.Must(uuid.NewV7()), now
	u.Email = strings.ToLower(strings.TrimSpace(u.Email))
	account.ID, account.Created = uuid.Must(uuid.NewV7()), now
	_, err := tx.ExecContext(ctx, db.d.rebind(`INSERT INTO users (id, email, handle, display_name, password_hash, created) VALUES (?, ?, ?, ?, ?, ?)`),
		u.ID, u.Email, u.Handle, u.DisplayName, passwordHash, db.d.time(now))
	if db.d.isUniqueViolation(err) {
		return apperr.Errorf(apperr.EConflict, "A user with this email or handle already exists.")
	}
	if err != nil {
		return fmt.Errorf("insert user: %w", err)
	}
	_, err = tx.ExecContext(ctx, db.d.rebind(`INSERT INTO accounts (id, handle, name, created) VALUES (?, ?, ?, ?)`),
		account.ID, account.Handle, account.Name, db.d.time(now))
	if db.d.isUniqueViolation(err) {
		return apperr.Errorf(apperr.EConflict, "An account with handle %q already exists.", account.Handle)
	}
	if err != nil {
		return fmt.Errorf("insert account: %w", err)
	}
	_, err = tx.ExecContext(ctx, db.d.rebind(`INSERT INTO account_members (account_id, user_id, role, created) VALUES (?, ?, ?, ?)`),
		account.ID, u.ID, roles.AccountOwner, db.d.time(now))
	return err
}

const userColumns = `u.id, u.email, u.handle, u.display_name, u.created`

func scanUser(row scanner, extra ...any) (*model.User, error) {
	var (
		u       model.User
		created nullTime
	)
	if err := row.Scan(append([]any{&u.ID, &u.Email, &u.Handle, &u.DisplayName, &created}, extra...)...); err != nil {
		return nil, err
	}
	u.Created = created.T
	return &u, nil
}

// GetUser returns a user by id.
func (db *DB) GetUser(ctx context.Context, id uuid.UUID) (*model.User, error) {
	u, err := scanUser(db.read.QueryRowContext(ctx, db.d.rebind(`SELECT `+userColumns+` FROM users u WHERE u.id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("User")
	}
	return u, err
}

// GetUserByEmail returns a user and their password hash.
func (db *DB) GetUserByEmail(ctx context.Context, email string) (*model.User, string, error) {
	var hash string
	u, err := scanUser(db.read.QueryRowContext(ctx, db.d.rebind(`SELECT `+userColumns+`, u.password_hash FROM users u WHERE u.email = ?`),
		strings.ToLower(strings.TrimSpace(email))), &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", notFound("User")
	}
	return u, hash, err
}

func (db *DB) getAccount(ctx context.Context, cond string, arg any) (*model.Account, error) {
	var (
		a       model.Account
		created nullTime
	)
	err := db.read.QueryRowContext(ctx, db.d.rebind(`SELECT id, handle, name, created FROM accounts WHERE `+cond), arg).Scan(&a.ID, &a.Handle, &a.Name, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Account")
	}
	a.Created = created.T
	return &a, err
}

// GetAccount returns an account by id.
func (db *DB) GetAccount(ctx context.Context, id uuid.UUID) (*model.Account, error) {
	return db.getAccount(ctx, "id = ?", id)
}

// GetAccountByHandle returns an account by handle.
func (db *DB) GetAccountByHandle(ctx context.Context, handle string) (*model.Account, error) {
	return db.getAccount(ctx, "handle = ?", handle)
}

// ListAccounts returns the accounts a user is a member of, by handle.
func (db *DB) ListAccounts(ctx context.Context, userID uuid.UUID) ([]model.AccountAccess, error) {
	rows, err := db.query(ctx, `SELECT a.id, a.handle, a.name, a.created, m.role FROM accounts a
		JOIN account_members m ON m.account_id = a.id WHERE m.user_id = ? ORDER BY a.handle`, userID)
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	return collect(rows, func(row scanner) (model.AccountAccess, error) {
		var (
			a       model.AccountAccess
			created nullTime
		)
		err := row.Scan(&a.ID, &a.Handle, &a.Name, &created, &a.Role)
		a.Created = created.T
		return a, err
	})
}

// AccountRole returns the user's role in an account, "" for none.
func (db *DB) AccountRole(ctx context.Context, accountID, userID uuid.UUID) (string, error) {
	var role string
	err := db.read.QueryRowContext(ctx, db.d.rebind(`SELECT role FROM account_members WHERE account_id = ? AND user_id = ?`), accountID, userID).Scan(&role)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return role, err
}

// CreateWorkspace creates a workspace, making creator its owner.
func (db *DB) CreateWorkspace(ctx context.Context, ws *model.Workspace, creator *uuid.UUID) error {
	now := model.At(db.now())
	ws.ID, ws.Created, ws.Updated = uuid.Must(uuid.NewV7()), now, now
	return db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, db.d.rebind(`INSERT INTO workspaces (id, account_id, handle, name, description, is_default, created, updated)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`), ws.ID, ws.AccountID, ws.Handle, ws.Name, ws.Description, false, db.d.time(now), db.d.time(now))
		if db.d.isUniqueViolation(err) {
			return apperr.Errorf(apperr.EConflict, "A workspace with handle %q already exists in this account.", ws.Handle)
		}
		if err != nil {
			return fmt.Errorf("insert workspace: %w", err)
		}
		if creator != nil {
			_, err = tx.ExecContext(ctx, db.d.rebind(`INSERT INTO workspace_members (workspace_id, user_id, role, created) VALUES (?, ?, ?, ?)`),
				ws.ID, *creator, roles.WorkspaceOwner, db.d.time(now))
			if err != nil {
				return fmt.Errorf("insert workspace owner: %w", err)
			}
		}
		return db.audit(ctx, tx, workspaceRecord(ws, store.AuditWorkspaceCreated))
	})
}

func workspaceRecord(ws *model.Workspace, event string) auditRecord {
	return auditRecord{account: &ws.AccountID, workspace: &ws.ID, event: event, targetType: "workspace", targetID: ws.ID.String(), targetName: ws.Handle,
		details: map[string]any{"handle": ws.Handle, "name": ws.Name}}
}

// UpdateWorkspace saves a workspace's handle, name and description.
func (db *DB) UpdateWorkspace(ctx context.Context, ws *model.Workspace) error {
	ws.Updated = model.At(db.now())
	return db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		err := db.execOneIn(ctx, tx, "Workspace", `UPDATE workspaces SET handle = ?, name = ?, description = ?, updated = ? WHERE account_id = ? AND id = ?`,
			ws.Handle, ws.Name, ws.Description, db.d.time(ws.Updated), ws.AccountID, ws.ID)
		if db.d.isUniqueViolation(err) {
			return apperr.Errorf(apperr.EConflict, "A workspace with handle %q already exists in this account.", ws.Handle)
		}
		if err != nil {
			return err
		}
		return db.audit(ctx, tx, workspaceRecord(ws, store.AuditWorkspaceUpdated))
	})
}

// DeleteWorkspace deletes a workspace and everything in it.
func (db *DB) DeleteWorkspace(ctx context.Context, accountID, workspaceID uuid.UUID) error {
	return db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		ws := model.Workspace{ID: workspaceID, AccountID: accountID}
		err := tx.QueryRowContext(ctx, db.d.rebind(`SELECT handle, name FROM workspaces WHERE account_id = ? AND id = ? AND is_default = ?`), accountID, workspaceID, false).
			Scan(&ws.Handle, &ws.Name)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("Workspace")
		}
		if err != nil {
			return fmt.Errorf("read workspace: %w", err)
		}
		if _, err := tx.ExecContext(ctx, db.d.rebind(`DELETE FROM workspaces WHERE id = ?`), workspaceID); err != nil {
			return fmt.Errorf("delete workspace: %w", err)
		}
		// Rows without a foreign key to the workspace go explicitly.
		for _, table := range []string{"flow_run_states", "task_run_states", "logs", "events"} {
			if _, err := tx.ExecContext(ctx, db.d.rebind(`DELETE FROM `+table+` WHERE workspace_id = ?`), workspaceID); err != nil {
				return fmt.Errorf("delete workspace %s: %w", table, err)
			}
		}
		return db.audit(ctx, tx, workspaceRecord(&ws, store.AuditWorkspaceDeleted))
	})
}

// teamRoles joins the workspace roles w's teams give the user (the first
// ?), one row each, for the members of w's account (am).
const teamRoles = `LEFT JOIN team_workspace_roles tr ON tr.workspace_id = w.id AND am.user_id IS NOT NULL
		AND tr.team_id IN (SELECT tm.team_id FROM team_members tm WHERE tm.user_id = ?)`

// ListWorkspaces returns the workspaces a user reaches through workspace
// membership, a team or as owner or admin of the account. The query returns
// every workspace of the user's accounts with all their roles (a row per
// team role), and roles.EffectiveWorkspaceRole alone decides which of them
// the user reaches.
func (db *DB) ListWorkspaces(ctx context.Context, userID uuid.UUID) ([]model.WorkspaceAccess, error) {
	rows, err := db.query(ctx, `SELECT `+workspaceColumns+`, COALESCE(am.role, ''), COALESCE(wm.role, ''), COALESCE(tr.role, '')
		FROM workspaces w JOIN accounts a ON a.id = w.account_id
		LEFT JOIN account_members am ON am.account_id = w.account_id AND am.user_id = ?
		LEFT JOIN workspace_members wm ON wm.workspace_id = w.id AND wm.user_id = ?
		`+teamRoles+`
		WHERE wm.user_id IS NOT NULL OR am.user_id IS NOT NULL
		ORDER BY a.handle, w.handle, w.id`, userID, userID, userID)
	if err != nil {
		return nil, fmt.Errorf("list workspaces: %w", err)
	}
	type row struct {
		w                 model.WorkspaceAccess
		account, ws, team string
	}
	all, err := collect(rows, func(sc scanner) (row, error) {
		var (
			r                row
			created, updated nullTime
		)
		err := sc.Scan(&r.w.ID, &r.w.AccountID, &r.w.AccountHandle, &r.w.AccountName, &r.w.Handle, &r.w.Name, &r.w.Description, &r.w.IsDefault,
			&created, &updated, &r.account, &r.ws, &r.team)
		r.w.Created, r.w.Updated = created.T, updated.T
		return r, err
	})
	if err != nil {
		return nil, err
	}
	out := []model.WorkspaceAccess{}
	for i := 0; i < len(all); {
		held := []string{all[i].ws}
		j := i
		for ; j < len(all) && all[j].w.ID == all[i].w.ID; j++ {
			held = append(held, all[j].team)
		}
		w := all[i].w
		if w.Role = roles.EffectiveWorkspaceRole(all[i].account, held...); w.Role != "" {
			out = append(out, w)
		}
		i = j
	}
	return out, nil
}

const workspaceRoleSQL = `SELECT COALESCE(am.role, ''), COALESCE(wm.role, ''), COALESCE(tr.role, '') FROM workspaces w
	LEFT JOIN account_members am ON am.account_id = w.account_id AND am.user_id = ?
	LEFT JOIN workspace_members wm ON wm.workspace_id = w.id AND wm.user_id = ?
	` + teamRoles + `
	WHERE w.id = ?`

// WorkspaceRole returns the user's effective role in a workspace, in one
// prepared query by primary keys and the team indexes: every authenticated
// request asks it.
func (db *DB) WorkspaceRole(ctx context.Context, userID, workspaceID uuid.UUID) (string, error) {
	role, _, err := db.workspaceRole(ctx, workspaceRoleSQL, userID, userID, userID, workspaceID)
	return role, err
}

// WorkspaceAccess returns the user's effective role in an account's
// workspace: a request to /api/accounts/{a}/workspaces/{w} learns in one
// read both that the workspace is the account's and what the caller may do.
func (db *DB) WorkspaceAccess(ctx context.Context, userID, accountID, workspaceID uuid.UUID) (string, error) {
	role, found, err := db.workspaceRole(ctx, workspaceRoleSQL+` AND w.account_id = ?`, userID, userID, userID, workspaceID, accountID)
	if err == nil && !found {
		return "", notFound("Workspace")
	}
	return role, err
}

// workspaceRole runs a role query (workspaceRoleSQL and its conditions),
// and reports whether it found the workspace.
func (db *DB) workspaceRole(ctx context.Context, q string, args ...any) (string, bool, error) {
	stmt, err := db.prepared(ctx, q)
	if err != nil {
		return "", false, err
	}
	rows, err := stmt.QueryContext(ctx, args...)
	if err != nil {
		return "", false, fmt.Errorf("workspace role: %w", err)
	}
	var accountRole string
	var held []string
	list, err := collect(rows, func(sc scanner) ([2]string, error) {
		var ws, team string
		err := sc.Scan(&accountRole, &ws, &team)
		return [2]string{ws, team}, err
	})
	if err != nil {
		return "", false, fmt.Errorf("workspace role: %w", err)
	}
	for _, r := range list {
		held = append(held, r[0], r[1])
	}
	return roles.EffectiveWorkspaceRole(accountRole, held...), len(list) > 0, nil
}

func (db *DB) listMembers(ctx context.Context, table, col string, id uuid.UUID) ([]model.Member, error) {
	rows, err := db.query(ctx, `SELECT `+userColumns+`, m.role FROM `+table+` m JOIN users u ON u.id = m.user_id WHERE m.`+col+` = ? ORDER BY u.email`, id)
	if err != nil {
		return nil, fmt.Errorf("list members: %w", err)
	}
	return collect(rows, func(row scanner) (model.Member, error) {
		var role string
		u, err := scanUser(row, &role)
		if err != nil {
			return model.Member{}, err
		}
		return model.Member{User: *u, Role: role}, nil
	})
}

// upsertMember gives userID role in a membership table.
func (db *DB) upsertMember(ctx context.Context, tx *sql.Tx, table, col string, id, userID uuid.UUID, role string) error {
	_, err := tx.ExecContext(ctx, db.d.rebind(`INSERT INTO `+table+` (`+col+`, user_id, role, created) VALUES (?, ?, ?, ?)
		ON CONFLICT (`+col+`, user_id) DO UPDATE SET role = excluded.role`), id, userID, role, db.d.time(model.At(db.now())))
	if err != nil {
		return fmt.Errorf("set member: %w", err)
	}
	return nil
}

// ListAccountMembers lists an account's members.
func (db *DB) ListAccountMembers(ctx context.Context, accountID uuid.UUID) ([]model.Member, error) {
	return db.listMembers(ctx, "account_members", "account_id", accountID)
}

// lockAccount takes the account's row lock for the rest of the write
// transaction: every change of who belongs to the account or its workspaces
// takes it first, so on PostgreSQL (READ COMMITTED, one transaction per
// write) a check and the write it allows cannot interleave with another
// change. SQLite's single writer runs them one after another anyway.
func (db *DB) lockAccount(ctx context.Context, tx *sql.Tx, accountID uuid.UUID) error {
	var id uuid.UUID
	err := tx.QueryRowContext(ctx, db.d.rebind(`SELECT id FROM accounts WHERE id = ?`+db.d.forUpdate()), accountID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound("Account")
	}
	if err != nil {
		return fmt.Errorf("lock account: %w", err)
	}
	return nil
}

// ChangeAccountMember changes one membership of an account as decide rules,
// with the account locked.
func (db *DB) ChangeAccountMember(ctx context.Context, accountID, actorID, userID uuid.UUID, decide func(store.AccountMembership) (string, error)) error {
	return db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := db.lockAccount(ctx, tx, accountID); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, db.d.rebind(`SELECT user_id, role FROM account_members WHERE account_id = ? AND (role = ? OR user_id IN (?, ?))`),
			accountID, roles.AccountOwner, actorID, userID)
		if err != nil {
			return fmt.Errorf("read account members: %w", err)
		}
		type member struct {
			id   uuid.UUID
			role string
		}
		list, err := collect(rows, func(row scanner) (member, error) {
			var m member
			return m, row.Scan(&m.id, &m.role)
		})
		if err != nil {
			return fmt.Errorf("read account members: %w", err)
		}
		var m store.AccountMembership
		if err := tx.QueryRowContext(ctx, db.d.rebind(`SELECT COUNT(*) > 0 FROM service_accounts WHERE user_id = ?`), userID).Scan(&m.Service); err != nil {
			return fmt.Errorf("read service account: %w", err)
		}
		for _, r := range list {
			if r.role == roles.AccountOwner {
				m.Owners++
			}
			if r.id == actorID {
				m.ActorRole = r.role
			}
			if r.id == userID {
				m.Role = r.role
			}
		}
		role, err := decide(m)
		if err != nil || role == m.Role {
			return err
		}
		r := auditRecord{account: &accountID, event: store.AuditMemberRoleChanged, details: map[string]any{"role": role, "previous_role": m.Role}}
		switch {
		case m.Role == "":
			r.event, r.details = store.AuditMemberAdded, map[string]any{"role": role}
		case role == "":
			r.event, r.details = store.AuditMemberRemoved, map[string]any{"previous_role": m.Role}
		}
		if err := db.userTarget(ctx, tx, &r, userID); err != nil {
			return err
		}
		if err := db.audit(ctx, tx, r); err != nil {
			return err
		}
		switch role {
		case "":
			if _, err := tx.ExecContext(ctx, db.d.rebind(`DELETE FROM account_members WHERE account_id = ? AND user_id = ?`), accountID, userID); err != nil {
				return fmt.Errorf("remove member: %w", err)
			}
			_, err = tx.ExecContext(ctx, db.d.rebind(`DELETE FROM workspace_members WHERE user_id = ? AND workspace_id IN (SELECT id FROM workspaces WHERE account_id = ?)`), userID, accountID)
			if err != nil {
				return fmt.Errorf("remove member from workspaces: %w", err)
			}
			_, err = tx.ExecContext(ctx, db.d.rebind(`DELETE FROM team_members WHERE user_id = ? AND team_id IN (SELECT id FROM teams WHERE account_id = ?)`), userID, accountID)
			if err != nil {
				return fmt.Errorf("remove member from teams: %w", err)
			}
			return nil
		default:
			return db.upsertMember(ctx, tx, "account_members", "account_id", accountID, userID, role)
		}
	})
}

// ListWorkspaceMembers lists a workspace's direct members.
func (db *DB) ListWorkspaceMembers(ctx context.Context, workspaceID uuid.UUID) ([]model.Member, error) {
	return db.listMembers(ctx, "workspace_members", "workspace_id", workspaceID)
}

// SetWorkspaceMember adds a member to a workspace or changes their role.
func (db *DB) SetWorkspaceMember(ctx context.Context, workspaceID, userID uuid.UUID, role string) error {
	return db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var accountID uuid.UUID
		err := tx.QueryRowContext(ctx, db.d.rebind(`SELECT account_id FROM workspaces WHERE id = ?`), workspaceID).Scan(&accountID)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("Workspace")
		}
		if err != nil {
			return fmt.Errorf("read workspace: %w", err)
		}
		return db.setWorkspaceRole(ctx, tx, accountID, workspaceID, userID, role)
	})
}

// setWorkspaceRole gives userID role in a workspace of accountID and
// records the change, if it is one.
func (db *DB) setWorkspaceRole(ctx context.Context, tx *sql.Tx, accountID, workspaceID, userID uuid.UUID, role string) error {
	var previous string
	err := tx.QueryRowContext(ctx, db.d.rebind(`SELECT role FROM workspace_members WHERE workspace_id = ? AND user_id = ?`), workspaceID, userID).Scan(&previous)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("read workspace member: %w", err)
	}
	if previous == role {
		return nil
	}
	if err := db.upsertMember(ctx, tx, "workspace_members", "workspace_id", workspaceID, userID, role); err != nil {
		return err
	}
	r := auditRecord{account: &accountID, workspace: &workspaceID, event: store.AuditWorkspaceMemberRole,
		details: map[string]any{"role": role, "previous_role": previous}}
	if err := db.userTarget(ctx, tx, &r, userID); err != nil {
		return err
	}
	return db.audit(ctx, tx, r)
}

// SetWorkspaceMemberInAccount sets the workspace role of a member of the
// workspace's account; anyone else is not found.
func (db *DB) SetWorkspaceMemberInAccount(ctx context.Context, workspaceID, userID uuid.UUID, role string) error {
	return db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var accountID uuid.UUID
		err := tx.QueryRowContext(ctx, db.d.rebind(`SELECT account_id FROM workspaces WHERE id = ?`), workspaceID).Scan(&accountID)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("Workspace")
		}
		if err != nil {
			return fmt.Errorf("read workspace: %w", err)
		}
		if err := db.lockAccount(ctx, tx, accountID); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, db.d.rebind(`SELECT COUNT(*) FROM account_members WHERE account_id = ? AND user_id = ?`), accountID, userID).Scan(&n); err != nil {
			return fmt.Errorf("read account membership: %w", err)
		}
		if n == 0 {
			return notFound("Member")
		}
		return db.setWorkspaceRole(ctx, tx, accountID, workspaceID, userID, role)
	})
}

// RemoveWorkspaceMember removes a workspace member.
func (db *DB) RemoveWorkspaceMember(ctx context.Context, workspaceID, userID uuid.UUID) error {
	return db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var accountID uuid.UUID
		var previous string
		err := tx.QueryRowContext(ctx, db.d.rebind(`SELECT w.account_id, m.role FROM workspace_members m JOIN workspaces w ON w.id = m.workspace_id
			WHERE m.workspace_id = ? AND m.user_id = ?`), workspaceID, userID).Scan(&accountID, &previous)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("Member")
		}
		if err != nil {
			return fmt.Errorf("read workspace member: %w", err)
		}
		if _, err := tx.ExecContext(ctx, db.d.rebind(`DELETE FROM workspace_members WHERE workspace_id = ? AND user_id = ?`), workspaceID, userID); err != nil {
			return fmt.Errorf("remove workspace member: %w", err)
		}
		r := auditRecord{account: &accountID, workspace: &workspaceID, event: store.AuditWorkspaceMemberGone, details: map[string]any{"previous_role": previous}}
		if err := db.userTarget(ctx, tx, &r, userID); err != nil {
			return err
		}
		return db.audit(ctx, tx, r)
	})
}

const apiKeyColumns = `id, user_id, name, prefix, hash, expires, created, last_used`

func scanAPIKey(row scanner) (*model.APIKey, error) {
	var (
		k                         model.APIKey
		expires, created, lastUse nullTime
	)
	if err := row.Scan(&k.ID, &k.UserID, &k.Name, &k.Prefix, &k.Hash, &expires, &created, &lastUse); err != nil {
		return nil, err
	}
	k.Expires, k.Created, k.LastUsed = expires.ptr(), created.T, lastUse.ptr()
	return &k, nil
}

// CreateAPIKey stores a key's metadata and hash.
func (db *DB) CreateAPIKey(ctx context.Context, k *model.APIKey) error {
	k.ID, k.Created = uuid.Must(uuid.NewV7()), model.At(db.now())
	return db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := db.insertAPIKey(ctx, tx, k); err != nil {
			return err
		}
		a, _ := store.ActorOf(ctx)
		return db.auditUser(ctx, tx, a, k.UserID, apiKeyRecord(k, store.AuditAPIKeyCreated))
	})
}

func apiKeyRecord(k *model.APIKey, event string) auditRecord {
	return auditRecord{event: event, targetType: "api-key", targetID: k.ID.String(), targetName: k.Name, details: map[string]any{"prefix": k.Prefix}}
}

// GetAPIKeyByPrefix finds a key by its visible prefix.
func (db *DB) GetAPIKeyByPrefix(ctx context.Context, prefix string) (*model.APIKey, error) {
	stmt, err := db.prepared(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE prefix = ?`)
	if err != nil {
		return nil, err
	}
	k, err := scanAPIKey(stmt.QueryRowContext(ctx, prefix))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("API key")
	}
	return k, err
}

// ListAPIKeys lists a user's keys, newest first.
func (db *DB) ListAPIKeys(ctx context.Context, userID uuid.UUID) ([]*model.APIKey, error) {
	rows, err := db.query(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE user_id = ? ORDER BY created DESC`, userID)
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	return collect(rows, scanAPIKey)
}

// DeleteAPIKey revokes one of a user's keys.
func (db *DB) DeleteAPIKey(ctx context.Context, userID, id uuid.UUID) error {
	return db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		k, err := scanAPIKey(tx.QueryRowContext(ctx, db.d.rebind(`SELECT `+apiKeyColumns+` FROM api_keys WHERE user_id = ? AND id = ?`), userID, id))
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("API key")
		}
		if err != nil {
			return fmt.Errorf("read api key: %w", err)
		}
		if _, err := tx.ExecContext(ctx, db.d.rebind(`DELETE FROM api_keys WHERE id = ?`), id); err != nil {
			return fmt.Errorf("delete api key: %w", err)
		}
		a, _ := store.ActorOf(ctx)
		return db.auditUser(ctx, tx, a, userID, apiKeyRecord(k, store.AuditAPIKeyDeleted))
	})
}

// TouchAPIKey records when a key was last used.
func (db *DB) TouchAPIKey(ctx context.Context, id uuid.UUID, at model.Time) error {
	return db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, db.d.rebind(`UPDATE api_keys SET last_used = ? WHERE id = ?`), db.d.time(at), id)
		return err
	})
}

// CreateSession stores a browser session.
func (db *DB) CreateSession(ctx context.Context, s *model.Session) error {
	return db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, db.d.rebind(`INSERT INTO sessions (id, user_id, csrf, expires, created) VALUES (?, ?, ?, ?, ?)`),
			s.ID, s.UserID, s.CSRF, db.d.time(s.Expires), db.d.time(model.At(db.now())))
		if err != nil {
			return err
		}
		// Whoever starts a session is its user, whoever the request's
		// actor was until then.
		a, _ := store.ActorOf(ctx)
		a.UserID = &s.UserID
		r := auditRecord{event: store.AuditLoggedIn, details: map[string]any{"method": s.Method}}
		if err := db.userTarget(ctx, tx, &r, s.UserID); err != nil {
			return err
		}
		return db.auditUser(ctx, tx, a, s.UserID, r)
	})
}

// GetSession returns an unexpired session.
func (db *DB) GetSession(ctx context.Context, id string) (*model.Session, error) {
	var (
		s       model.Session
		expires nullTime
	)
	err := db.read.QueryRowContext(ctx, db.d.rebind(`SELECT id, user_id, csrf, expires FROM sessions WHERE id = ? AND expires > ?`), id, db.d.time(model.At(db.now()))).
		Scan(&s.ID, &s.UserID, &s.CSRF, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Session")
	}
	s.Expires = expires.T
	return &s, err
}

// DeleteSession ends a session.
func (db *DB) DeleteSession(ctx context.Context, id string) error {
	return db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var userID uuid.UUID
		err := tx.QueryRowContext(ctx, db.d.rebind(`DELETE FROM sessions WHERE id = ? RETURNING user_id`), id).Scan(&userID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("delete session: %w", err)
		}
		a, _ := store.ActorOf(ctx)
		a.UserID = &userID
		r := auditRecord{event: store.AuditLoggedOut}
		if err := db.userTarget(ctx, tx, &r, userID); err != nil {
			return err
		}
		return db.auditUser(ctx, tx, a, userID, r)
	})
}
