package services

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/praetorhq/praetor/internal/orchestration"
	"github.com/praetorhq/praetor/internal/store"
)

// PauseExpirationsBatch bounds the runs one pass fails; the next pass takes
// the rest.
const PauseExpirationsBatch = 200

// PauseExpirations fails the PAUSED runs whose pause timed out, as
// Prefect's pause-expiration service does. A blocking pause's process
// gives up on its own at the timeout, but a suspended run has no process
// left to: without this it would stay PAUSED for ever.
type PauseExpirations struct {
	Store  store.Store
	Logger *slog.Logger
	// Count, when set, is told what each pass did (action "runs_failed").
	Count func(action string, n int)
}

// Pass makes one pass at now.
func (p *PauseExpirations) Pass(ctx context.Context, now time.Time) error {
	expired, err := p.Store.ExpiredPauses(ctx, now, PauseExpirationsBatch)
	if err != nil {
		return err
	}
	failed := 0
	for _, wr := range expired {
		res, err := p.Store.OrchestrateFlowRun(ctx, wr.Workspace, func(ctx context.Context, tx orchestration.FlowRunTx) (*orchestration.Result, error) {
			return orchestration.FailExpiredPause(ctx, tx, wr.Run, now)
		})
		if err != nil {
			return fmt.Errorf("fail expired pause of run %s: %w", wr.Run, err)
		}
		if res != nil && res.Written {
			failed++
			p.Logger.Info("failed a run whose pause timed out", "flow_run", wr.Run)
		}
	}
	p.Logger.Debug("pause expirations pass", "runs_failed", failed)
	if p.Count != nil {
		p.Count("runs_failed", failed)
	}
	return nil
}
