package tenancy

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/praetorhq/praetor/internal/auth"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store/sqlstore"
	"github.com/praetorhq/praetor/internal/testdb"
)

func TestHandle(t *testing.T) {
	for in, want := range map[string]string{
		"Prod":                "prod",
		"  Data Team / ETL!!": "data-team-etl",
		"ümlaut-ok":           "mlaut-ok",
		"---":                 "",
	} {
		if got := Handle(in); got != want {
			t.Errorf("Handle(%q) = %q, want %q", in, got, want)
		}
		if want != "" && !ValidHandle(Handle(in)) {
			t.Errorf("Handle(%q) is not a valid handle", in)
		}
	}
	for _, bad := range []string{"", "-a", "a-", "A", "a_b", "a/b"} {
		if ValidHandle(bad) {
			t.Errorf("ValidHandle(%q) = true", bad)
		}
	}
}

// openStore opens a fresh database on the engine dsn names, as `praetor
// admin` does before the server ever started.
func openStore(t *testing.T, dsn string) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.Open(t.Context(), dsn, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Handles the server uses for itself are refused to everyone else, from
// before its first start.
func TestReservedHandles(t *testing.T) {
	testdb.Engines(t, func(t *testing.T, dsn string) {
		db := openStore(t, dsn)
		ctx := t.Context()
		for _, in := range []SignUp{
			{Email: "default@example.com", Password: "correct horse battery"},
			{Email: "carol@example.com", Password: "correct horse battery", AccountHandle: "default"},
		} {
			if _, _, err := RegisterUser(ctx, db, in); err == nil || !strings.Contains(err.Error(), "reserved") {
				t.Errorf("registering %+v: %v, want the handle refused", in, err)
			}
		}
		u, acct, err := RegisterUser(ctx, db, SignUp{Email: "default@example.com", Password: "correct horse battery", Handle: "dee"})
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range []WorkspaceInput{{Name: "Default"}, {Name: "Prod", Handle: "default"}} {
			if _, err := CreateWorkspace(ctx, db, u.ID, acct.ID, in); err == nil {
				t.Errorf("workspace %+v was created", in)
			}
		}
		// The default workspace keeps its handle when its settings are saved.
		def, err := db.DefaultWorkspace(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := (WorkspaceInput{Name: "Local", Handle: def.Handle}).Apply(&def); err != nil {
			t.Errorf("saving the default workspace: %v", err)
		}
	})
}

// A user's account that holds the server's handle (made before handles were
// reserved) is never adopted as the server's own.
func TestDefaultWorkspaceNotAdopted(t *testing.T) {
	testdb.Engines(t, func(t *testing.T, dsn string) {
		db := openStore(t, dsn)
		ctx := t.Context()
		// An older binary let a user's account take the handle before the
		// server's first start.
		hash, err := auth.HashPassword("correct horse battery")
		if err != nil {
			t.Fatal(err)
		}
		u := &model.User{Email: "mallory@example.com", Handle: "mallory", DisplayName: "m"}
		acct := &model.Account{Handle: "default", Name: "Default"}
		if err := db.CreateUser(ctx, u, hash, acct); err != nil {
			t.Fatal(err)
		}
		if ws, err := db.DefaultWorkspace(ctx); err == nil || !strings.Contains(err.Error(), "reserved") {
			t.Fatalf("the default workspace came up in the user's account: %+v %v", ws, err)
		}
		list, err := db.ListWorkspaces(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 0 {
			t.Fatalf("the user's account got workspaces: %+v", list)
		}
	})
}
