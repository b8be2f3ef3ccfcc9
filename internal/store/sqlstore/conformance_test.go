package sqlstore

import (
	"log/slog"
	"path"
	"testing"

	"github.com/praetorhq/praetor/internal/clock"
	"github.com/praetorhq/praetor/internal/store"
	"github.com/praetorhq/praetor/internal/store/storetest"
	"github.com/praetorhq/praetor/internal/testdb"
)

// TestConformance runs the store conformance suite on each engine.
func TestConformance(t *testing.T) {
	testdb.EachEngine(t, func(t *testing.T, fresh func(testing.TB) string) {
		engine := path.Base(t.Name()) // the subtest is named after its engine
		storetest.Exercise(t, func(t *testing.T, c clock.Clock) store.Store {
			db, err := Open(t.Context(), fresh(t), slog.New(slog.DiscardHandler), Secrets(testKeyring(t)), Clock(c))
			if err != nil {
				t.Fatalf("open store: %v", err)
			}
			if db.Engine() != engine {
				t.Fatalf("opened a %s store, want %s", db.Engine(), engine)
			}
			return db
		})
	})
}
