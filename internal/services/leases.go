package services

import (
	"context"
	"log/slog"
	"time"

	"github.com/praetorhq/praetor/internal/store"
)

// leaseBatch bounds how many expired leases one pass reads at a time.
const leaseBatch = 100

// LeaseReaper releases the concurrency leases that expired (Prefect's
// repossessor): the slots of a client that died, or stopped renewing, go
// back to their limits.
type LeaseReaper struct {
	Store  store.Store
	Logger *slog.Logger
	// Count, when set, is told how many leases each pass released (action
	// "leases_expired").
	Count func(action string, n int)
}

// Pass releases the leases expired at now, a batch at a time until none
// are left.
func (r *LeaseReaper) Pass(ctx context.Context, now time.Time) error {
	total := 0
	for {
		n, err := r.Store.ExpireConcurrencyLeases(ctx, now, leaseBatch)
		total += n
		if err != nil || n < leaseBatch {
			if total > 0 {
				r.Logger.Info("released expired concurrency leases", "leases", total)
			}
			if r.Count != nil {
				r.Count("leases_expired", total)
			}
			return err
		}
	}
}
