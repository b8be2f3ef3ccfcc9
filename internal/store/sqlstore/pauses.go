package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/orchestration"
	"github.com/praetorhq/praetor/internal/store"
)

// pausedRunsSQL pages through the PAUSED runs by id, through the partial
// index flow_runs_paused (its predicate repeated word for word, for
// SQLite's planner), with their states' details, where the timeout is.
const pausedRunsSQL = `SELECT fr.workspace_id, fr.id, s.state_details FROM flow_runs fr
	JOIN flow_run_states s ON s.id = fr.state_id
	WHERE fr.state_type = 'PAUSED' AND fr.id > ? ORDER BY fr.id LIMIT 200`

// ExpiredPauses returns the PAUSED runs whose pause_timeout is before now.
// The timeout is read from the state's details here rather than in SQL:
// PAUSED runs are few, and the engines read JSON differently.
func (db *DB) ExpiredPauses(ctx context.Context, now time.Time, limit int) ([]store.WorkspaceRun, error) {
	var out []store.WorkspaceRun
	after := uuid.Nil
	for len(out) < limit {
		rows, err := db.query(ctx, pausedRunsSQL, after)
		if err != nil {
			return nil, fmt.Errorf("paused runs: %w", err)
		}
		type paused struct {
			store.WorkspaceRun
			details model.StateDetails
		}
		page, err := collect(rows, func(row scanner) (paused, error) {
			var p paused
			err := row.Scan(&p.Workspace, &p.Run, jsonCol{&p.details})
			return p, err
		})
		if err != nil {
			return nil, fmt.Errorf("paused runs: %w", err)
		}
		for _, p := range page {
			if orchestration.PauseExpired(&model.State{StateDetails: p.details}, now) && len(out) < limit {
				out = append(out, p.WorkspaceRun)
			}
		}
		if len(page) < 200 {
			break
		}
		after = page[len(page)-1].Run
	}
	return out, nil
}
