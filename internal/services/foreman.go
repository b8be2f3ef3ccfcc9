package services

import (
	"context"
	"log/slog"
	"time"

	"github.com/praetorhq/praetor/internal/store"
)

// Foreman keeps the liveness of what workers and runners poll: workers
// without a heartbeat for OfflineAfterHeartbeats of their interval go
// OFFLINE, pools without an online worker NOT_READY, and queues and
// deployments nothing polled for NotReadyAfter NOT_READY.
type Foreman struct {
	Store  store.Store
	Logger *slog.Logger
	// Count, when set, is told what each pass did (actions
	// "workers_offline", "pools_not_ready", "queues_not_ready",
	// "deployments_not_ready").
	Count func(action string, n int)
}

// Pass makes one pass at now.
func (f *Foreman) Pass(ctx context.Context, now time.Time) error {
	workers, err := f.Store.MarkWorkersOffline(ctx, now)
	if err != nil {
		return err
	}
	// After the workers, so a pool whose last worker just went offline
	// is NOT_READY in the same pass.
	pools, err := f.Store.MarkPoolsNotReady(ctx)
	if err != nil {
		return err
	}
	queues, err := f.Store.MarkQueuesNotReady(ctx, now.Add(-NotReadyAfter))
	if err != nil {
		return err
	}
	deployments, err := f.Store.MarkDeploymentsNotReady(ctx, now.Add(-NotReadyAfter))
	if err != nil {
		return err
	}
	f.Logger.Debug("foreman pass", "workers_offline", workers, "pools_not_ready", pools, "queues_not_ready", queues,
		"deployments_not_ready", deployments)
	if f.Count != nil {
		f.Count("workers_offline", workers)
		f.Count("pools_not_ready", pools)
		f.Count("queues_not_ready", queues)
		f.Count("deployments_not_ready", deployments)
	}
	return nil
}
