package notify

import (
	"log/slog"
	"sync"
	"testing"

	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
	"github.com/praetorhq/praetor/internal/store/sqlstore"
	"github.com/praetorhq/praetor/internal/testdb"
)

// TestEnsureIdempotent calls Ensure several times at once, then again,
// on both engines: each block type and its schema exist once. A block
// type a client registered first (unprotected, its own schema) is kept,
// with Praetor's schema beside it.
func TestEnsureIdempotent(t *testing.T) {
	testdb.Engines(t, func(t *testing.T, dsn string) {
		ctx := t.Context()
		db, err := sqlstore.Open(ctx, dsn, slog.New(slog.NewTextHandler(t.Output(), nil)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		ws, err := db.DefaultWorkspace(ctx)
		if err != nil {
			t.Fatal(err)
		}
		clients := &model.BlockType{Name: "Slack Webhook", Slug: SlugSlack}
		if err := db.CreateBlockType(ctx, ws.ID, clients); err != nil {
			t.Fatal(err)
		}

		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Go(func() { errs[i] = Ensure(ctx, db, ws.ID) })
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatalf("concurrent Ensure: %v", err)
			}
		}
		if err := Ensure(ctx, db, ws.ID); err != nil {
			t.Fatal(err)
		}

		types, err := db.ListBlockTypes(ctx, ws.ID, store.BlockTypeQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if len(types) != len(BlockTypes()) {
			t.Fatalf("%d block types, want %d", len(types), len(BlockTypes()))
		}
		for _, def := range BlockTypes() {
			bt, err := db.GetBlockTypeBySlug(ctx, ws.ID, def.Type.Slug)
			if err != nil {
				t.Fatal(err)
			}
			if want := def.Type.Slug != SlugSlack; bt.IsProtected != want {
				t.Errorf("%s: protected %v, want %v", def.Type.Slug, bt.IsProtected, want)
			}
			if def.Type.Slug == SlugSlack && bt.ID != clients.ID {
				t.Errorf("the client's slack-webhook type was replaced")
			}
			schemas, err := db.ListBlockSchemas(ctx, ws.ID, store.BlockSchemaQuery{})
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, s := range schemas {
				if s.BlockTypeID == bt.ID {
					n++
					if got, want := model.SecretFields(s.Fields), model.SecretFields(def.Fields); len(got) != len(want) || len(got) == 0 {
						t.Errorf("%s: secret fields %v, want %v", def.Type.Slug, got, want)
					}
				}
			}
			if n != 1 {
				t.Errorf("%s: %d schemas, want 1", def.Type.Slug, n)
			}
		}
	})
}
