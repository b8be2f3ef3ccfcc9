package sqlstore

import (
	"fmt"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/roles"
	"github.com/praetorhq/praetor/internal/store"
)

// Of many users claiming the default account at one moment exactly one
// becomes its owner, and the answers match what is stored; once it has a
// member, or the default workspace has one, nobody else can claim it.
func TestClaimDefaultAccountOnce(t *testing.T) {
	eachEngine(t, func(t *testing.T, db *DB, ws uuid.UUID) {
		ctx := t.Context()
		users := make([]uuid.UUID, 16)
		for i := range users {
			u := &model.User{Email: fmt.Sprintf("u%d@example.com", i), Handle: fmt.Sprintf("u%d", i)}
			if err := db.CreateUser(ctx, u, "x", &model.Account{Handle: u.Handle, Name: u.Handle}); err != nil {
				t.Fatal(err)
			}
			users[i] = u.ID
		}
		def, err := db.DefaultWorkspace(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// leave takes a user out of the default account again.
		leave := func(user uuid.UUID) error {
			return db.ChangeAccountMember(ctx, def.AccountID, user, user, func(store.AccountMembership) (string, error) { return "", nil })
		}
		var winners []uuid.UUID
		for round := range 10 {
			var (
				wg    sync.WaitGroup
				start = make(chan struct{})
				mu    sync.Mutex
			)
			winners = nil
			for _, id := range users[:12] {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					ok, err := db.ClaimDefaultAccount(ctx, id)
					if err != nil {
						t.Errorf("claim: %v", err)
					}
					if ok {
						mu.Lock()
						winners = append(winners, id)
						mu.Unlock()
					}
				}()
			}
			close(start)
			wg.Wait()
			members, err := db.ListAccountMembers(ctx, def.AccountID)
			if err != nil {
				t.Fatal(err)
			}
			if len(winners) != 1 || len(members) != 1 || members[0].ID != winners[0] || members[0].Role != roles.AccountOwner {
				t.Fatalf("round %d: %d claims succeeded; the default account's members: %+v", round, len(winners), members)
			}
			if round < 9 {
				if err := leave(winners[0]); err != nil {
					t.Fatal(err)
				}
			}
		}
		if ok, err := db.ClaimDefaultAccount(ctx, users[12]); ok || err != nil {
			t.Fatalf("a claim after the first: %v %v", ok, err)
		}

		// A default workspace that already has a member (as older servers
		// made every registrant) cannot be claimed either.
		if err := leave(winners[0]); err != nil {
			t.Fatal(err)
		}
		if err := db.SetWorkspaceMember(ctx, ws, users[13], roles.WorkspaceOwner); err != nil {
			t.Fatal(err)
		}
		if ok, err := db.ClaimDefaultAccount(ctx, users[14]); ok || err != nil {
			t.Fatalf("a claim with a workspace member: %v %v", ok, err)
		}
	})
}
