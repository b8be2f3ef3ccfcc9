package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/model"
)

const savedSearchColumns = `s.id, s.name, s.filters, s.created, s.updated`

func scanSavedSearch(row scanner) (*model.SavedSearch, error) {
	var (
		s                model.SavedSearch
		created, updated nullTime
	)
	if err := row.Scan(&s.ID, &s.Name, jsonCol{&s.Filters}, &created, &updated); err != nil {
		return nil, err
	}
	s.Created, s.Updated = created.T, updated.T
	if s.Filters == nil {
		s.Filters = []model.SavedSearchFilter{}
	}
	return &s, nil
}

// UpsertSavedSearch inserts s or replaces the filters of the search of
// its name, in one statement, and reads it back into s.
func (db *DB) UpsertSavedSearch(ctx context.Context, ws uuid.UUID, s *model.SavedSearch) (bool, error) {
	id := uuid.Must(uuid.NewV7())
	now := db.d.time(model.At(db.now()))
	if s.Filters == nil {
		s.Filters = []model.SavedSearchFilter{}
	}
	var got *model.SavedSearch
	err := db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, db.d.rebind(`INSERT INTO saved_searches (id, workspace_id, name, filters, created, updated) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (workspace_id, name) DO UPDATE SET filters = excluded.filters, updated = excluded.updated`),
			id, ws, s.Name, mustJSON(s.Filters), now, now)
		if err != nil {
			return fmt.Errorf("upsert saved search: %w", err)
		}
		got, err = scanSavedSearch(tx.QueryRowContext(ctx, db.d.rebind(`SELECT `+savedSearchColumns+` FROM saved_searches s WHERE s.workspace_id = ? AND s.name = ?`), ws, s.Name))
		return err
	})
	if err != nil {
		return false, err
	}
	*s = *got
	return s.ID == id, nil
}

// GetSavedSearch returns a saved search by id.
func (db *DB) GetSavedSearch(ctx context.Context, ws, id uuid.UUID) (*model.SavedSearch, error) {
	s, err := scanSavedSearch(db.read.QueryRowContext(ctx, db.d.rebind(`SELECT `+savedSearchColumns+` FROM saved_searches s WHERE s.workspace_id = ? AND s.id = ?`), ws, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Saved search")
	}
	return s, err
}

// ListSavedSearches lists saved searches by name.
func (db *DB) ListSavedSearches(ctx context.Context, ws uuid.UUID, limit, offset int) ([]*model.SavedSearch, error) {
	rows, err := db.query(ctx, `SELECT `+savedSearchColumns+` FROM saved_searches s WHERE s.workspace_id = ? ORDER BY s.name, s.id`+page(limit, offset), ws)
	if err != nil {
		return nil, fmt.Errorf("list saved searches: %w", err)
	}
	return collect(rows, scanSavedSearch)
}

// DeleteSavedSearch deletes a saved search.
func (db *DB) DeleteSavedSearch(ctx context.Context, ws, id uuid.UUID) error {
	return db.execOne(ctx, "Saved search", `DELETE FROM saved_searches WHERE workspace_id = ? AND id = ?`, ws, id)
}
