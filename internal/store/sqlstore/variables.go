package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

const variableColumns = `v.id, v.name, v.value, v.tags, v.created, v.updated`

func scanVariable(row scanner) (*model.Variable, error) {
	var (
		v                model.Variable
		value            json.RawMessage
		created, updated nullTime
	)
	if err := row.Scan(&v.ID, &v.Name, rawJSON{&value}, jsonCol{&v.Tags}, &created, &updated); err != nil {
		return nil, err
	}
	// The value stays raw JSON, so numbers keep their exact stored form.
	if len(value) > 0 {
		v.Value = value
	}
	v.Created, v.Updated = created.T, updated.T
	if v.Tags == nil {
		v.Tags = []string{}
	}
	return &v, nil
}

// CreateVariable inserts v, filling its id and timestamps.
func (db *DB) CreateVariable(ctx context.Context, ws uuid.UUID, v *model.Variable) error {
	now := model.At(db.now())
	v.ID = uuid.Must(uuid.NewV7())
	v.Created, v.Updated = now, now
	if v.Tags == nil {
		v.Tags = []string{}
	}
	return db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, db.d.rebind(`INSERT INTO variables (id, workspace_id, name, value, tags, created, updated)
			VALUES (?, ?, ?, ?, ?, ?, ?)`),
			v.ID, ws, v.Name, mustJSON(v.Value), mustJSON(v.Tags), db.d.time(now), db.d.time(now))
		if db.d.isUniqueViolation(err) {
			return variableNameTaken(v.Name)
		}
		if err != nil {
			return fmt.Errorf("insert variable: %w", err)
		}
		return nil
	})
}

func variableNameTaken(name string) error {
	return apperr.Errorf(apperr.EConflict, "A variable with the name '%s' already exists.", name)
}

// GetVariable returns a variable by id.
func (db *DB) GetVariable(ctx context.Context, ws, id uuid.UUID) (*model.Variable, error) {
	return db.getVariable(ctx, db.read, "", `v.id = ?`, ws, id)
}

// GetVariableByName returns a variable by name.
func (db *DB) GetVariableByName(ctx context.Context, ws uuid.UUID, name string) (*model.Variable, error) {
	return db.getVariable(ctx, db.read, "", `v.name = ?`, ws, name)
}

// getVariable reads one variable through q; lock is the row-lock suffix when
// reading inside a write.
func (db *DB) getVariable(ctx context.Context, q queryer, lock, cond string, ws uuid.UUID, arg any) (*model.Variable, error) {
	v, err := scanVariable(q.QueryRowContext(ctx, db.d.rebind(`SELECT `+variableColumns+` FROM variables v WHERE v.workspace_id = ? AND `+cond+lock), ws, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Variable")
	}
	if err != nil {
		return nil, fmt.Errorf("read variable: %w", err)
	}
	return v, nil
}

var variableSorts = map[string]string{
	"":                    "v.name ASC",
	store.SortNameAsc:     "v.name ASC",
	store.SortNameDesc:    "v.name DESC",
	store.SortCreatedDesc: "v.created DESC, v.id DESC",
	store.SortUpdatedDesc: "v.updated DESC, v.id DESC",
}

func (db *DB) variableWhere(ws uuid.UUID, f *store.VariableFilter) (string, []any) {
	c := newClause(db.d, "")
	c.add("v.workspace_id = ?", ws)
	if f != nil {
		s := newClause(db.d, "")
		s.id("v.id", f.ID)
		s.name("v.name", f.Name)
		s.tags("v.tags", f.Tags)
		c.sub(s)
	}
	return c.sql()
}

// ListVariables returns the variables matching q.
func (db *DB) ListVariables(ctx context.Context, ws uuid.UUID, q store.VariableQuery) ([]*model.Variable, error) {
	order, ok := variableSorts[q.Sort]
	if !ok {
		return nil, apperr.Errorf(apperr.EInvalid, "invalid sort %q", q.Sort)
	}
	where, args := db.variableWhere(ws, q.Variables)
	rows, err := db.query(ctx, `SELECT `+variableColumns+` FROM variables v WHERE `+where+` ORDER BY `+order+page(q.Limit, q.Offset), args...)
	if err != nil {
		return nil, fmt.Errorf("list variables: %w", err)
	}
	return collect(rows, scanVariable)
}

// CountVariables counts the variables matching q.
func (db *DB) CountVariables(ctx context.Context, ws uuid.UUID, q store.VariableQuery) (int, error) {
	where, args := db.variableWhere(ws, q.Variables)
	return db.count(ctx, `SELECT COUNT(*) FROM variables v WHERE `+where, args...)
}

// UpdateVariable applies patch to a variable and saves its name, value and
// tags; renaming onto another variable's name is a conflict.
func (db *DB) UpdateVariable(ctx context.Context, ws, id uuid.UUID, patch func(*model.Variable) error) error {
	return db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		v, err := db.getVariable(ctx, tx, db.d.forUpdate(), `v.id = ?`, ws, id)
		if err != nil {
			return err
		}
		if err := patch(v); err != nil {
			return err
		}
		v.Updated = model.At(db.now())
		if v.Tags == nil {
			v.Tags = []string{}
		}
		_, err = tx.ExecContext(ctx, db.d.rebind(`UPDATE variables SET name = ?, value = ?, tags = ?, updated = ? WHERE workspace_id = ? AND id = ?`),
			v.Name, mustJSON(v.Value), mustJSON(v.Tags), db.d.time(v.Updated), ws, id)
		if db.d.isUniqueViolation(err) {
			return variableNameTaken(v.Name)
		}
		if err != nil {
			return fmt.Errorf("update variable: %w", err)
		}
		return nil
	})
}

// DeleteVariable deletes a variable.
func (db *DB) DeleteVariable(ctx context.Context, ws, id uuid.UUID) error {
	return db.execOne(ctx, "Variable", `DELETE FROM variables WHERE workspace_id = ? AND id = ?`, ws, id)
}
