package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

// auditRecord is the entry an action writes, less its actor and time.
type auditRecord struct {
	account, workspace               *uuid.UUID
	event                            string
	targetType, targetID, targetName string
	details                          map[string]any
	// claimed is the email an anonymous actor claimed (a failed sign-in).
	claimed string
}

// audit records r in tx on behalf of the context's actor.
func (db *DB) audit(ctx context.Context, tx *sql.Tx, r auditRecord) error {
	a, _ := store.ActorOf(ctx)
	return db.auditAs(ctx, tx, a, r)
}

// auditAs records r in tx on behalf of a, with a's name and email as they
// are now.
func (db *DB) auditAs(ctx context.Context, tx *sql.Tx, a store.Actor, r auditRecord) error {
	kind, name, email := model.ActorSystem, "", ""
	switch {
	case a.UserID != nil:
		kind = model.ActorUser
		var service bool
		err := tx.QueryRowContext(ctx, db.d.rebind(`SELECT u.display_name, u.email, sa.user_id IS NOT NULL FROM users u
			LEFT JOIN service_accounts sa ON sa.user_id = u.id WHERE u.id = ?`), *a.UserID).Scan(&name, &email, &service)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("audit %s: read actor: %w", r.event, err)
		}
		if service {
			kind = model.ActorServiceAccount
		}
	case a.Addr != "":
		kind, email = model.ActorAnonymous, r.claimed
	}
	details := r.details
	if details == nil {
		details = map[string]any{}
	}
	_, err := tx.ExecContext(ctx, db.d.rebind(`INSERT INTO audit_log (account_id, workspace_id, actor_id, actor_kind, actor_name, actor_email,
		event, target_type, target_id, target_name, source_addr, user_agent, details, occurred) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		idArg(r.account), idArg(r.workspace), idArg(a.UserID), kind, name, email,
		r.event, r.targetType, r.targetID, r.targetName, a.Addr, a.UserAgent, mustJSON(details), db.d.time(model.At(db.now())))
	if err != nil {
		return fmt.Errorf("audit %s: %w", r.event, err)
	}
	return nil
}

// auditUser records r, an action on userID's own sign-ins or keys, in each
// account userID is a member of: each of them sees it once.
func (db *DB) auditUser(ctx context.Context, tx *sql.Tx, a store.Actor, userID uuid.UUID, r auditRecord) error {
	rows, err := tx.QueryContext(ctx, db.d.rebind(`SELECT account_id FROM account_members WHERE user_id = ? ORDER BY account_id`), userID)
	if err != nil {
		return fmt.Errorf("audit %s: read accounts: %w", r.event, err)
	}
	accounts, err := collect(rows, func(row scanner) (uuid.UUID, error) {
		var id uuid.UUID
		return id, row.Scan(&id)
	})
	if err != nil {
		return fmt.Errorf("audit %s: read accounts: %w", r.event, err)
	}
	for _, id := range accounts {
		r.account = &id
		if err := db.auditAs(ctx, tx, a, r); err != nil {
			return err
		}
	}
	return nil
}

// userTarget sets r's target to the user with id, named by their email.
func (db *DB) userTarget(ctx context.Context, tx *sql.Tx, r *auditRecord, id uuid.UUID) error {
	r.targetType, r.targetID = "user", id.String()
	err := tx.QueryRowContext(ctx, db.d.rebind(`SELECT email FROM users WHERE id = ?`), id).Scan(&r.targetName)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("audit %s: read user: %w", r.event, err)
	}
	return nil
}

func idArg(id *uuid.UUID) any {
	if id == nil {
		return nil
	}
	return *id
}

// RecordFailedSignIn records a failed sign-in with email.
func (db *DB) RecordFailedSignIn(ctx context.Context, email, reason string) error {
	a, _ := store.ActorOf(ctx)
	a.UserID = nil
	return db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		r := auditRecord{event: store.AuditLoginFailed, targetType: "user", targetName: email, claimed: email, details: map[string]any{"reason": reason}}
		var id uuid.UUID
		err := tx.QueryRowContext(ctx, db.d.rebind(`SELECT id FROM users WHERE email = ?`), email).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return db.auditAs(ctx, tx, a, r)
		}
		if err != nil {
			return fmt.Errorf("audit failed sign-in: %w", err)
		}
		r.targetID = id.String()
		return db.auditUser(ctx, tx, a, id, r)
	})
}

const auditColumns = `seq, account_id, workspace_id, actor_id, actor_kind, actor_name, actor_email, event,
	target_type, target_id, target_name, source_addr, user_agent, details, occurred`

// ListAuditLog returns an account's audit entries, newest first.
func (db *DB) ListAuditLog(ctx context.Context, accountID uuid.UUID, q store.AuditQuery) ([]*model.AuditEntry, error) {
	c := newClause(db.d, "")
	c.add("account_id = ?", accountID)
	if q.Since != nil {
		c.add("occurred >= ?", db.d.time(model.At(*q.Since)))
	}
	if q.Until != nil {
		c.add("occurred < ?", db.d.time(model.At(*q.Until)))
	}
	if len(q.Events) > 0 {
		inList(c, "event", q.Events, nil)
	}
	if q.WorkspaceID != nil {
		c.add("workspace_id = ?", *q.WorkspaceID)
	}
	if q.ActorID != nil {
		c.add("actor_id = ?", *q.ActorID)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	where, args := c.sql()
	rows, err := db.query(ctx, `SELECT `+auditColumns+` FROM audit_log WHERE `+where+` ORDER BY seq DESC`+page(limit, q.Offset), args...)
	if err != nil {
		return nil, fmt.Errorf("list audit log: %w", err)
	}
	return collect(rows, func(row scanner) (*model.AuditEntry, error) {
		var (
			e        model.AuditEntry
			occurred nullTime
		)
		err := row.Scan(&e.Seq, nullID{&e.AccountID}, nullID{&e.WorkspaceID}, nullID{&e.ActorID}, &e.ActorKind, &e.ActorName, &e.ActorEmail, &e.Event,
			&e.TargetType, &e.TargetID, &e.TargetName, &e.SourceAddr, &e.UserAgent, rawJSON{&e.Details}, &occurred)
		e.Occurred = occurred.T
		return &e, err
	})
}

// PruneAuditLog deletes the entries that occurred before before.
func (db *DB) PruneAuditLog(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, db.d.rebind(`DELETE FROM audit_log WHERE occurred < ?`), db.d.time(model.At(before)))
		if err != nil {
			return fmt.Errorf("prune audit log: %w", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}
