package services

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/praetorhq/praetor/internal/store"
)

// UnresponsiveRuns marks CRASHED the RUNNING runs whose worker stopped
// heartbeating (or is gone) and which sent nothing for After: their process
// is lost with the worker, and left RUNNING they would hold their pool's
// and queue's concurrency slots for ever. Runs without a worker (a
// runner's) are never touched.
type UnresponsiveRuns struct {
	Store  store.Store
	After  time.Duration
	Logger *slog.Logger
	// Count, when set, is told what each pass did (action "runs_crashed").
	Count func(action string, n int)
}

// Pass makes one pass at now.
func (u *UnresponsiveRuns) Pass(ctx context.Context, now time.Time) error {
	quiet := now.Add(-u.After)
	runs, err := u.Store.UnresponsiveRuns(ctx, now, quiet)
	if err != nil {
		return err
	}
	crashed := 0
	for _, ur := range runs {
		res, err := u.Store.CrashUnresponsiveRun(ctx, ur.Workspace, ur.Run.ID, now, quiet)
		if err != nil {
			return fmt.Errorf("crash unresponsive run %s: %w", ur.Run.ID, err)
		}
		if res != nil && res.Written {
			crashed++
			u.Logger.Info("marked an unresponsive run crashed", "flow_run", ur.Run.ID, "worker", ur.Silence.Worker, "pool", ur.Silence.Pool)
		}
	}
	u.Logger.Debug("unresponsive runs pass", "runs_crashed", crashed)
	if u.Count != nil {
		u.Count("runs_crashed", crashed)
	}
	return nil
}
