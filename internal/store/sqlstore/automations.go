package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

const automationColumns = `a.id, a.name, a.description, a.enabled, a.tags, a.trigger, a.actions, a.actions_on_trigger, a.actions_on_resolve, a.created, a.updated`

func scanAutomation(row scanner) (*model.Automation, error) {
	var (
		a                model.Automation
		created, updated nullTime
	)
	if err := row.Scan(&a.ID, &a.Name, &a.Description, &a.Enabled, jsonCol{&a.Tags}, jsonCol{&a.Trigger}, jsonCol{&a.Actions},
		jsonCol{&a.ActionsOnTrigger}, jsonCol{&a.ActionsOnResolve}, &created, &updated); err != nil {
		return nil, err
	}
	a.Created, a.Updated = created.T, updated.T
	if a.Tags == nil {
		a.Tags = []string{}
	}
	for _, l := range []*[]*model.Action{&a.Actions, &a.ActionsOnTrigger, &a.ActionsOnResolve} {
		if *l == nil {
			*l = []*model.Action{}
		}
	}
	return &a, nil
}

var automationSorts = map[string]string{
	"":             "a.name, a.id",
	"NAME_ASC":     "a.name, a.id",
	"NAME_DESC":    "a.name DESC, a.id DESC",
	"CREATED_DESC": "a.created DESC, a.id DESC",
	"UPDATED_DESC": "a.updated DESC, a.id DESC",
}

func (db *DB) automationWhere(ws uuid.UUID, f *store.AutomationFilter) (string, []any) {
	c := newClause(db.d, "")
	c.add("a.workspace_id = ?", ws)
	if f != nil {
		s := newClause(db.d, f.Operator)
		s.id("a.id", f.ID)
		s.name("a.name", f.Name)
		s.time("a.created", f.Created)
		s.tags("a.tags", f.Tags)
		c.sub(s)
	}
	return c.sql()
}

// CreateAutomation inserts a with its related resources.
func (db *DB) CreateAutomation(ctx context.Context, ws uuid.UUID, a *model.Automation, owner string) error {
	a.ID = uuid.Must(uuid.NewV7())
	a.Created = model.At(db.now())
	a.Updated = a.Created
	return db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, db.d.rebind(`INSERT INTO automations (id, workspace_id, name, description, enabled, tags, trigger, actions,
			actions_on_trigger, actions_on_resolve, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			a.ID, ws, a.Name, a.Description, a.Enabled, mustJSON(orEmptyStrings(a.Tags)), mustJSON(a.Trigger), mustJSON(orEmptyActions(a.Actions)),
			mustJSON(orEmptyActions(a.ActionsOnTrigger)), mustJSON(orEmptyActions(a.ActionsOnResolve)), db.d.time(a.Created), db.d.time(a.Updated))
		if err != nil {
			return fmt.Errorf("create automation: %w", err)
		}
		if owner != "" {
			if _, err := tx.ExecContext(ctx, db.d.rebind(`INSERT INTO automation_related_resources (automation_id, workspace_id, resource_id, owned)
				VALUES (?, ?, ?, ?)`), a.ID, ws, owner, true); err != nil {
				return fmt.Errorf("relate automation to its owner: %w", err)
			}
		}
		return db.relateAutomation(ctx, tx, ws, a)
	})
}

// relateAutomation relates a to the deployments its actions select, as
// Prefect does, keeping the resources that own it.
func (db *DB) relateAutomation(ctx context.Context, tx *sql.Tx, ws uuid.UUID, a *model.Automation) error {
	if _, err := tx.ExecContext(ctx, db.d.rebind(`DELETE FROM automation_related_resources WHERE automation_id = ? AND NOT owned`), a.ID); err != nil {
		return fmt.Errorf("unrelate automation: %w", err)
	}
	for _, act := range a.Actions {
		if act.Type != model.ActionRunDeployment || act.Source != "selected" || act.DeploymentID == nil {
			continue
		}
		if _, err := tx.ExecContext(ctx, db.d.rebind(`INSERT INTO automation_related_resources (automation_id, workspace_id, resource_id, owned)
			VALUES (?, ?, ?, ?) ON CONFLICT (automation_id, resource_id) DO NOTHING`),
			a.ID, ws, model.DeploymentResource+act.DeploymentID.String(), false); err != nil {
			return fmt.Errorf("relate automation to its deployment: %w", err)
		}
	}
	return nil
}

// GetAutomation returns an automation by id.
func (db *DB) GetAutomation(ctx context.Context, ws, id uuid.UUID) (*model.Automation, error) {
	return db.getAutomation(ctx, db.read, ws, id)
}

func (db *DB) getAutomation(ctx context.Context, q queryer, ws, id uuid.UUID) (*model.Automation, error) {
	a, err := scanAutomation(q.QueryRowContext(ctx, db.d.rebind(`SELECT `+automationColumns+` FROM automations a WHERE a.workspace_id = ? AND a.id = ?`), ws, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Automation")
	}
	return a, err
}

// ListAutomations returns the automations matching q.
func (db *DB) ListAutomations(ctx context.Context, ws uuid.UUID, q store.AutomationQuery) ([]*model.Automation, error) {
	order, ok := automationSorts[q.Sort]
	if !ok {
		return nil, apperr.Errorf(apperr.EInvalid, "invalid sort %q", q.Sort)
	}
	where, args := db.automationWhere(ws, q.Automations)
	rows, err := db.query(ctx, `SELECT `+automationColumns+` FROM automations a WHERE `+where+` ORDER BY `+order+page(q.Limit, q.Offset), args...)
	if err != nil {
		return nil, fmt.Errorf("list automations: %w", err)
	}
	return collect(rows, scanAutomation)
}

// CountAutomations counts the automations matching q.
func (db *DB) CountAutomations(ctx context.Context, ws uuid.UUID, q store.AutomationQuery) (int, error) {
	where, args := db.automationWhere(ws, q.Automations)
	return db.count(ctx, `SELECT COUNT(*) FROM automations a WHERE `+where, args...)
}

// UpdateAutomation replaces an automation and drops its triggers' state.
func (db *DB) UpdateAutomation(ctx context.Context, ws uuid.UUID, a *model.Automation) error {
	return db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		updated := model.At(db.now())
		res, err := tx.ExecContext(ctx, db.d.rebind(`UPDATE automations SET name = ?, description = ?, enabled = ?, tags = ?, trigger = ?, actions = ?,
			actions_on_trigger = ?, actions_on_resolve = ?, updated = ? WHERE workspace_id = ? AND id = ?`),
			a.Name, a.Description, a.Enabled, mustJSON(orEmptyStrings(a.Tags)), mustJSON(a.Trigger), mustJSON(orEmptyActions(a.Actions)),
			mustJSON(orEmptyActions(a.ActionsOnTrigger)), mustJSON(orEmptyActions(a.ActionsOnResolve)), db.d.time(updated), ws, a.ID)
		if err != nil {
			return fmt.Errorf("update automation: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("Automation")
		}
		if err := db.dropAutomationState(ctx, tx, a.ID); err != nil {
			return err
		}
		return db.relateAutomation(ctx, tx, ws, a)
	})
}

// dropAutomationState forgets what an automation's triggers counted.
func (db *DB) dropAutomationState(ctx context.Context, tx *sql.Tx, id uuid.UUID) error {
	for _, table := range []string{"automation_buckets", "automation_child_firings"} {
		if _, err := tx.ExecContext(ctx, db.d.rebind(`DELETE FROM `+table+` WHERE automation_id = ?`), id); err != nil {
			return fmt.Errorf("drop automation state: %w", err)
		}
	}
	return nil
}

// SetAutomationEnabled enables or disables an automation.
func (db *DB) SetAutomationEnabled(ctx context.Context, ws, id uuid.UUID, enabled bool) error {
	return db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		return db.setAutomationEnabled(ctx, tx, ws, id, enabled)
	})
}

func (db *DB) setAutomationEnabled(ctx context.Context, tx *sql.Tx, ws, id uuid.UUID, enabled bool) error {
	if err := db.execOneIn(ctx, tx, "Automation", `UPDATE automations SET enabled = ?, updated = ? WHERE workspace_id = ? AND id = ?`,
		enabled, db.d.time(model.At(db.now())), ws, id); err != nil {
		return err
	}
	if !enabled {
		return db.dropAutomationState(ctx, tx, id)
	}
	return nil
}

// DeleteAutomation deletes an automation with its state and actions.
func (db *DB) DeleteAutomation(ctx context.Context, ws, id uuid.UUID) error {
	return db.execOne(ctx, "Automation", `DELETE FROM automations WHERE workspace_id = ? AND id = ?`, ws, id)
}

// AutomationsRelatedTo lists the automations related to a resource.
func (db *DB) AutomationsRelatedTo(ctx context.Context, ws uuid.UUID, resourceID string) ([]*model.Automation, error) {
	rows, err := db.query(ctx, `SELECT `+automationColumns+` FROM automations a WHERE a.workspace_id = ? AND a.id IN
		(SELECT r.automation_id FROM automation_related_resources r WHERE r.workspace_id = ? AND r.resource_id = ?) ORDER BY a.name, a.id`, ws, ws, resourceID)
	if err != nil {
		return nil, fmt.Errorf("list related automations: %w", err)
	}
	return collect(rows, scanAutomation)
}

// DeleteAutomationsOwnedBy deletes the automations a resource owns.
func (db *DB) DeleteAutomationsOwnedBy(ctx context.Context, ws uuid.UUID, resourceID string, before time.Time) error {
	return db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, db.d.rebind(`DELETE FROM automations WHERE workspace_id = ? AND created < ? AND id IN
			(SELECT r.automation_id FROM automation_related_resources r WHERE r.workspace_id = ? AND r.resource_id = ? AND r.owned)`),
			ws, db.d.time(model.At(before)), ws, resourceID)
		if err != nil {
			return fmt.Errorf("delete owned automations: %w", err)
		}
		return nil
	})
}

const triggeredActionColumns = `t.id, t.automation_id, t.action_index, t.action, t.triggered, t.triggering_labels, t.triggering_event,
	t.triggered_event_id, t.state, t.attempts, t.next_attempt, t.last_error, t.finished, t.result`

func scanTriggeredAction(row scanner) (*model.TriggeredAction, error) {
	var (
		t                     model.TriggeredAction
		triggered, next, done nullTime
	)
	if err := row.Scan(&t.ID, &t.AutomationID, &t.Index, jsonCol{&t.Action}, &triggered, jsonCol{&t.TriggeringLabels}, jsonCol{&t.TriggeringEvent},
		nullID{&t.TriggeredEventID}, &t.State, &t.Attempts, &next, nullStr{&t.LastError}, &done, nullStr{&t.ResultDescription}); err != nil {
		return nil, err
	}
	t.Triggered, t.NextAttempt, t.Finished = triggered.T, next.ptr(), done.ptr()
	if t.TriggeringLabels == nil {
		t.TriggeringLabels = map[string]string{}
	}
	return &t, nil
}

// ListTriggeredActions lists an automation's actions, newest first.
func (db *DB) ListTriggeredActions(ctx context.Context, ws, automation uuid.UUID, limit int) ([]*model.TriggeredAction, error) {
	rows, err := db.query(ctx, `SELECT `+triggeredActionColumns+` FROM automation_actions t WHERE t.workspace_id = ? AND t.automation_id = ?
		ORDER BY t.triggered DESC, t.id DESC`+page(limit, 0), ws, automation)
	if err != nil {
		return nil, fmt.Errorf("list triggered actions: %w", err)
	}
	return collect(rows, scanTriggeredAction)
}

func orEmptyStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func orEmptyActions(a []*model.Action) []*model.Action {
	if a == nil {
		return []*model.Action{}
	}
	return a
}
