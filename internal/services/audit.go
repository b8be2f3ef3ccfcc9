package services

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/praetorhq/praetor/internal/store"
)

// AuditRetention deletes the audit entries older than Keep: the only way an
// entry ever leaves the log (no route alters or deletes one).
type AuditRetention struct {
	Store  store.AuditLog
	Keep   time.Duration
	Logger *slog.Logger
	// Count, when set, is told how many entries each pass deleted
	// (action "entries_pruned").
	Count func(action string, n int)
}

// Pass makes one pass at now.
func (a *AuditRetention) Pass(ctx context.Context, now time.Time) error {
	n, err := a.Store.PruneAuditLog(ctx, now.Add(-a.Keep))
	if err != nil {
		return fmt.Errorf("prune audit log: %w", err)
	}
	a.Logger.Debug("audit retention pass", "entries_pruned", n)
	if a.Count != nil {
		a.Count("entries_pruned", n)
	}
	return nil
}
