package services

import (
	"testing"
	"time"

	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
	"github.com/praetorhq/praetor/internal/store/sqlstore"
	"github.com/praetorhq/praetor/internal/testdb"
)

// The retention pass deletes the entries older than the retention, and only
// those.
func TestAuditRetentionDeletesOnlyOldEntries(t *testing.T) {
	testdb.Engines(t, func(t *testing.T, dsn string) {
		ctx := t.Context()
		db, err := sqlstore.Open(ctx, dsn, quiet)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		u, a := &model.User{Email: "keep@example.com", Handle: "keep"}, &model.Account{Handle: "keep", Name: "Keep"}
		if err := db.CreateUser(ctx, u, "hash", a); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateWorkspace(ctx, &model.Workspace{AccountID: a.ID, Handle: "w", Name: "W"}, &u.ID); err != nil {
			t.Fatal(err)
		}
		pruned := 0
		r := &AuditRetention{Store: db, Keep: time.Hour, Logger: quiet, Count: func(_ string, n int) { pruned += n }}
		entries := func() int {
			list, err := db.ListAuditLog(ctx, a.ID, store.AuditQuery{})
			if err != nil {
				t.Fatal(err)
			}
			return len(list)
		}
		if err := r.Pass(ctx, time.Now().Add(59*time.Minute)); err != nil || entries() != 1 || pruned != 0 {
			t.Fatalf("a pass within the retention: %v; %d entries left, %d pruned", err, entries(), pruned)
		}
		if err := r.Pass(ctx, time.Now().Add(61*time.Minute)); err != nil || entries() != 0 || pruned != 1 {
			t.Fatalf("a pass past the retention: %v; %d entries left, %d pruned", err, entries(), pruned)
		}
	})
}
