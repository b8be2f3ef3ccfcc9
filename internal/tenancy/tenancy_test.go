package tenancy

import (
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/auth"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/roles"
	"github.com/praetorhq/praetor/internal/store"
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

// Every change of an account's members obeys the same rules, whichever
// route it came by.
func TestMemberRules(t *testing.T) {
	const owner, admin, member = roles.AccountOwner, roles.AccountAdmin, roles.AccountMember
	ms := func(actorRole, role string, owners int) store.AccountMembership {
		return store.AccountMembership{ActorRole: actorRole, Role: role, Owners: owners}
	}
	for _, c := range []struct {
		name   string
		change memberChange
		m      store.AccountMembership
		want   string      // the stored role
		err    apperr.Code // or the error's code
	}{
		{"owner demotes an owner", memberChange{role: member}, ms(owner, owner, 2), member, ""},
		{"owner demotes the last owner: themselves", memberChange{role: admin, self: true}, ms(owner, owner, 1), "", apperr.EConflict},
		{"owner steps down with another owner", memberChange{role: member, self: true}, ms(owner, owner, 2), member, ""},
		{"admin demotes an owner", memberChange{role: member}, ms(admin, owner, 2), "", apperr.EForbidden},
		{"admin removes an owner", memberChange{}, ms(admin, owner, 2), "", apperr.EForbidden},
		{"admin promotes themselves", memberChange{role: owner, self: true}, ms(admin, admin, 1), "", apperr.EForbidden},
		{"admin demotes an admin", memberChange{role: member}, ms(admin, admin, 1), member, ""},
		{"member changes a non-member's role", memberChange{role: member}, ms(member, "", 1), "", apperr.EForbidden},
		{"admin makes a non-member an owner", memberChange{role: owner}, ms(admin, "", 1), "", apperr.ENotFound},
		{"member changes their own role", memberChange{role: admin, self: true}, ms(member, member, 1), "", apperr.EForbidden},
		{"member leaves", memberChange{self: true}, ms(member, member, 1), "", ""},
		{"admin leaves", memberChange{self: true}, ms(admin, admin, 1), "", ""},
		{"owner leaves", memberChange{self: true}, ms(owner, owner, 2), "", apperr.EConflict},
		{"owner removes an owner", memberChange{}, ms(owner, owner, 2), "", ""},
		{"role change of a non-member", memberChange{role: member}, ms(owner, "", 1), "", apperr.ENotFound},
		{"removal of a non-member", memberChange{}, ms(owner, "", 1), "", apperr.ENotFound},
		{"actor no longer a member", memberChange{role: member}, ms("", "", 1), "", apperr.ENotFound},
		{"admin sets an unknown role", memberChange{role: "boss"}, ms(admin, member, 1), "", apperr.EInvalid},
		{"member sets an unknown role", memberChange{role: "boss"}, ms(member, member, 1), "", apperr.EForbidden},
	} {
		got, err := c.change.decide(c.m)
		var se *apperr.Error
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.err != "" && (!errors.As(err, &se) || se.Code != c.err):
			t.Errorf("%s: error %v, want code %s", c.name, err, c.err)
		case err == nil && got != c.want:
			t.Errorf("%s: role %q, want %q", c.name, got, c.want)
		}
	}
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
		hash, err := auth.HashPassword(ctx, "correct horse battery")
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
