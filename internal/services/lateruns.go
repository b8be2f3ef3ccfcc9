package services

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/praetorhq/praetor/internal/orchestration"
	"github.com/praetorhq/praetor/internal/store"
)

// LateRunsBatch bounds the runs one pass marks; the next pass takes the
// rest.
const LateRunsBatch = 500

// NotReadyAfter is how long a deployment or work queue stays READY
// without a poll, as Prefect's foreman has it.
const NotReadyAfter = 60 * time.Second

// LateRuns applies deployments' catch-up policies to their missed runs,
// marks the SCHEDULED runs that are past their start by After as Late,
// each with the reason nothing claimed it. (Deployments nothing polls
// lately become NOT_READY by the foreman.)
type LateRuns struct {
	Store  store.Store
	After  time.Duration
	Logger *slog.Logger
	// Count, when set, is told what each pass did (actions "runs_late",
	// "runs_skipped").
	Count func(action string, n int)
}

// Pass makes one pass at now.
func (l *LateRuns) Pass(ctx context.Context, now time.Time) error {
	skipped, err := l.catchUp(ctx, now)
	if err != nil {
		return err
	}
	late, err := l.Store.LateRuns(ctx, now.Add(-l.After), LateRunsBatch)
	if err != nil {
		return err
	}
	marked := 0
	for _, lr := range late {
		reason := orchestration.LateReason(orchestration.LateContext{Run: lr.Run, Deployment: lr.Deployment, ActiveRuns: lr.ActiveRuns,
			Pool: lr.Pool, Queue: lr.Queue, LastHeartbeat: lr.LastHeartbeat, Now: now})
		res, err := l.Store.OrchestrateFlowRun(ctx, lr.Workspace, func(ctx context.Context, tx orchestration.FlowRunTx) (*orchestration.Result, error) {
			return orchestration.MarkLate(ctx, tx, lr.Run.ID, reason)
		})
		if err != nil {
			return fmt.Errorf("mark run %s late: %w", lr.Run.ID, err)
		}
		if res != nil && res.Written {
			marked++
		}
	}
	l.Logger.Debug("late runs pass", "runs_late", marked, "runs_skipped", skipped)
	if l.Count != nil {
		l.Count("runs_late", marked)
		l.Count("runs_skipped", skipped)
	}
	return nil
}

// catchUp skips the missed runs that deployments' catch-up policies do not
// keep, and returns how many it skipped.
func (l *LateRuns) catchUp(ctx context.Context, now time.Time) (int, error) {
	deployments, err := l.Store.CatchUpDeployments(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, wd := range deployments {
		due, err := l.Store.DueRuns(ctx, wd.Workspace, wd.Deployment.ID, now)
		if err != nil {
			return n, err
		}
		for id, reason := range orchestration.CatchUpSkips(wd.Deployment.CatchUp, due, now) {
			res, err := l.Store.OrchestrateFlowRun(ctx, wd.Workspace, func(ctx context.Context, tx orchestration.FlowRunTx) (*orchestration.Result, error) {
				return orchestration.SkipMissed(ctx, tx, id, reason)
			})
			if err != nil {
				return n, fmt.Errorf("skip run %s: %w", id, err)
			}
			if res != nil && res.Written {
				n++
			}
		}
	}
	return n, nil
}
