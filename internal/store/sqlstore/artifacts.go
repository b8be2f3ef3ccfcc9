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

const artifactColumns = `a.id, a.key, a.type, a.description, a.data, a.metadata, a.flow_run_id, a.task_run_id, a.created, a.updated`

func scanArtifact(row scanner) (*model.Artifact, error) {
	var (
		a                model.Artifact
		data             json.RawMessage
		created, updated nullTime
	)
	if err := row.Scan(&a.ID, nullStr{&a.Key}, nullStr{&a.Type}, nullStr{&a.Description}, rawJSON{&data},
		jsonCol{&a.Metadata}, nullID{&a.FlowRunID}, nullID{&a.TaskRunID}, &created, &updated); err != nil {
		return nil, err
	}
	// The data stays raw JSON, so numbers keep their exact stored form.
	if len(data) > 0 {
		a.Data = data
	}
	a.Created, a.Updated = created.T, updated.T
	return &a, nil
}

// metadataArg encodes artifact metadata; unlike other maps, absent metadata
// stays NULL, since Prefect returns it as null rather than {}.
func metadataArg(m map[string]any) any {
	if m == nil {
		return nil
	}
	return mustJSON(m)
}

// CreateArtifact inserts a, filling its id and timestamps.
func (db *DB) CreateArtifact(ctx context.Context, ws uuid.UUID, a *model.Artifact) error {
	now := model.At(db.now())
	a.ID = uuid.Must(uuid.NewV7())
	a.Created, a.Updated = now, now
	return db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, db.d.rebind(`INSERT INTO artifacts (id, workspace_id, key, type, description, data, metadata,
			flow_run_id, task_run_id, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			a.ID, ws, a.Key, a.Type, a.Description, mustJSON(a.Data), metadataArg(a.Metadata), a.FlowRunID, a.TaskRunID,
			db.d.time(now), db.d.time(now))
		if err != nil {
			return fmt.Errorf("insert artifact: %w", err)
		}
		return nil
	})
}

// GetArtifact returns an artifact by id.
func (db *DB) GetArtifact(ctx context.Context, ws, id uuid.UUID) (*model.Artifact, error) {
	return db.getArtifact(ctx, db.read, "", ws, id)
}

// getArtifact reads one artifact through q; lock is the row-lock suffix when
// reading inside a write.
func (db *DB) getArtifact(ctx context.Context, q queryer, lock string, ws, id uuid.UUID) (*model.Artifact, error) {
	a, err := scanArtifact(q.QueryRowContext(ctx, db.d.rebind(`SELECT `+artifactColumns+` FROM artifacts a WHERE a.workspace_id = ? AND a.id = ?`+lock), ws, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Artifact")
	}
	if err != nil {
		return nil, fmt.Errorf("read artifact: %w", err)
	}
	return a, nil
}

// artifactSorts orders keys with NULLs first ascending and last descending on
// both engines, as Prefect does on SQLite.
var artifactSorts = map[string]string{
	"":                    "a.id DESC",
	store.SortIDDesc:      "a.id DESC",
	store.SortKeyAsc:      "a.key ASC NULLS FIRST, a.id DESC",
	store.SortKeyDesc:     "a.key DESC NULLS LAST, a.id DESC",
	store.SortCreatedDesc: "a.created DESC, a.id DESC",
	store.SortUpdatedDesc: "a.updated DESC, a.id DESC",
}

// latestArtifact is a condition: a has a key and no newer artifact shares it.
// Ties on created go to the larger id, which for UUIDv7 is the later insert.
const latestArtifact = `a.key IS NOT NULL AND NOT EXISTS (SELECT 1 FROM artifacts n
	WHERE n.workspace_id = a.workspace_id AND n.key = a.key AND (n.created > a.created OR (n.created = a.created AND n.id > a.id)))`

// artifactWhere builds the WHERE of an artifacts query. With latestOnly the
// filters apply to each key's latest artifact, as Prefect applies them to its
// artifact collections.
func (db *DB) artifactWhere(ws uuid.UUID, q store.ArtifactQuery, latestOnly bool) (string, []any) {
	c := newClause(db.d, "")
	c.add("a.workspace_id = ?", ws)
	if latestOnly {
		c.add(latestArtifact)
	}
	if f := q.Artifacts; f != nil {
		s := newClause(db.d, "")
		s.id("a.id", f.ID)
		s.name("a.key", f.Key)
		s.id("a.flow_run_id", f.FlowRunID)
		s.id("a.task_run_id", f.TaskRunID)
		s.name("a.type", f.Type)
		c.sub(s)
	}
	if q.FlowRuns != nil {
		c.exists("flow_runs fr", "fr.workspace_id = a.workspace_id AND fr.id = a.flow_run_id", func(sub *clause) { db.flowRunFilter(sub, ws, "fr", q.FlowRuns) })
	}
	if q.TaskRuns != nil {
		c.exists("task_runs tr", "tr.workspace_id = a.workspace_id AND tr.id = a.task_run_id", func(sub *clause) { db.taskRunFilter(sub, "tr", q.TaskRuns) })
	}
	return c.sql()
}

// ListArtifacts returns the artifacts matching q; with latestOnly, only the
// latest artifact of each key.
func (db *DB) ListArtifacts(ctx context.Context, ws uuid.UUID, q store.ArtifactQuery, latestOnly bool) ([]*model.Artifact, error) {
	order, ok := artifactSorts[q.Sort]
	if !ok {
		return nil, apperr.Errorf(apperr.EInvalid, "invalid sort %q", q.Sort)
	}
	where, args := db.artifactWhere(ws, q, latestOnly)
	rows, err := db.query(ctx, `SELECT `+artifactColumns+` FROM artifacts a WHERE `+where+` ORDER BY `+order+page(q.Limit, q.Offset), args...)
	if err != nil {
		return nil, fmt.Errorf("list artifacts: %w", err)
	}
	return collect(rows, scanArtifact)
}

// CountArtifacts counts the artifacts matching q; with latestOnly, the keys
// whose latest artifact matches.
func (db *DB) CountArtifacts(ctx context.Context, ws uuid.UUID, q store.ArtifactQuery, latestOnly bool) (int, error) {
	where, args := db.artifactWhere(ws, q, latestOnly)
	return db.count(ctx, `SELECT COUNT(*) FROM artifacts a WHERE `+where, args...)
}

// UpdateArtifact applies patch to an artifact and saves the fields Prefect
// lets clients change: data, description and metadata.
func (db *DB) UpdateArtifact(ctx context.Context, ws, id uuid.UUID, patch func(*model.Artifact) error) error {
	return db.writer.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		a, err := db.getArtifact(ctx, tx, db.d.forUpdate(), ws, id)
		if err != nil {
			return err
		}
		if err := patch(a); err != nil {
			return err
		}
		a.Updated = model.At(db.now())
		_, err = tx.ExecContext(ctx, db.d.rebind(`UPDATE artifacts SET data = ?, description = ?, metadata = ?, updated = ? WHERE workspace_id = ? AND id = ?`),
			mustJSON(a.Data), a.Description, metadataArg(a.Metadata), db.d.time(a.Updated), ws, id)
		if err != nil {
			return fmt.Errorf("update artifact: %w", err)
		}
		return nil
	})
}

// DeleteArtifact deletes an artifact; the key's previous artifact, if any,
// becomes its latest.
func (db *DB) DeleteArtifact(ctx context.Context, ws, id uuid.UUID) error {
	return db.execOne(ctx, "Artifact", `DELETE FROM artifacts WHERE workspace_id = ? AND id = ?`, ws, id)
}
