package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/roles"
	"github.com/praetorhq/praetor/internal/store"
)

// identityUser creates a user who signs in only with provider.
func (h *harness) identityUser(provider string) (*model.User, *model.Account, *model.Identity) {
	h.t.Helper()
	handle := unique("sso")
	u := &model.User{Email: handle + "@example.com", Handle: handle, DisplayName: "SSO " + handle}
	a := &model.Account{Handle: unique("acct"), Name: "Account " + handle}
	id := &model.Identity{Provider: provider, Subject: unique("sub"), Email: u.Email}
	h.must(h.s.CreateUserWithIdentity(h.ctx, u, a, id), "create user with identity")
	return u, a, id
}

func testGetUserByIdentity(t *testing.T, h *harness) {
	u, _, id := h.identityUser("oidc-a")
	got, err := h.s.GetUserByIdentity(h.ctx, "oidc-a", id.Subject)
	if err != nil || got.ID != u.ID || got.Email != u.Email {
		t.Errorf("user by identity: %+v (%v), want %+v", got, err, u)
	}
	// A subject is a provider's own: the same one at another provider is
	// someone else.
	_, err = h.s.GetUserByIdentity(h.ctx, "oidc-b", id.Subject)
	h.wantNotFound(err, "the subject at another provider")
	_, err = h.s.GetUserByIdentity(h.ctx, "oidc-a", unique("sub"))
	h.wantNotFound(err, "an unknown subject")
}

func testCreateUserWithIdentity(t *testing.T, h *harness) {
	u, a, id := h.identityUser("oidc-a")
	if u.ID == uuid.Nil || a.ID == uuid.Nil || id.UserID != u.ID || id.Created.IsZero() {
		t.Errorf("created %+v, %+v, %+v", u, a, id)
	}
	if role, err := h.s.AccountRole(h.ctx, a.ID, u.ID); err != nil || role != roles.AccountOwner {
		t.Errorf("the new user's role in their account: %q (%v)", role, err)
	}
	// No password signs them in: their hash is empty, never one that matches.
	if _, hash, err := h.s.GetUserByEmail(h.ctx, u.Email); err != nil || hash != "" {
		t.Errorf("password hash of a provider's user: %q (%v), want empty", hash, err)
	}
	// A taken subject refuses the whole sign-up: no user or account is left.
	handle := unique("sso")
	again := &model.User{Email: handle + "@example.com", Handle: handle}
	acct := &model.Account{Handle: unique("acct"), Name: "x"}
	err := h.s.CreateUserWithIdentity(h.ctx, again, acct, &model.Identity{Provider: "oidc-a", Subject: id.Subject})
	h.wantCode(err, apperr.EConflict, "a second user with a taken identity")
	_, _, err = h.s.GetUserByEmail(h.ctx, again.Email)
	h.wantNotFound(err, "the user of a refused sign-up")
	_, err = h.s.GetAccountByHandle(h.ctx, acct.Handle)
	h.wantNotFound(err, "the account of a refused sign-up")
}

func testLinkIdentity(t *testing.T, h *harness) {
	u := h.userOnly()
	id := &model.Identity{Provider: "github", Subject: unique("sub"), UserID: u.ID, Email: u.Email}
	h.must(h.s.LinkIdentity(h.ctx, id), "link identity")
	if got, err := h.s.GetUserByIdentity(h.ctx, "github", id.Subject); err != nil || got.ID != u.ID {
		t.Errorf("linked user: %+v (%v)", got, err)
	}
	other := h.userOnly()
	err := h.s.LinkIdentity(h.ctx, &model.Identity{Provider: "github", Subject: id.Subject, UserID: other.ID})
	h.wantCode(err, apperr.EConflict, "linking a linked subject to another user")
	if got, err := h.s.GetUserByIdentity(h.ctx, "github", id.Subject); err != nil || got.ID != u.ID {
		t.Errorf("after a refused link the subject is %+v (%v), want the first user", got, err)
	} // The link is recorded once, in the user's own account, as theirs.
	accounts, err := h.s.ListAccounts(h.ctx, u.ID)
	h.must(err, "list accounts")
	list, err := h.s.ListAuditLog(h.ctx, accounts[0].ID, store.AuditQuery{Events: []string{store.AuditIdentityLinked}})
	h.must(err, "list audit log")
	if len(list) != 1 || list[0].ActorID == nil || *list[0].ActorID != u.ID || list[0].TargetName != u.Email {
		t.Errorf("identity-linked entries %+v, want one by the user", list)
	}
}

func testListIdentities(t *testing.T, h *harness) {
	u := h.userOnly()
	for _, p := range []string{"zeta", "alpha"} {
		h.must(h.s.LinkIdentity(h.ctx, &model.Identity{Provider: p, Subject: unique("sub"), UserID: u.ID, Email: u.Email}), "link "+p)
	}
	h.identityUser("alpha") // someone else's
	got, err := h.s.ListIdentities(h.ctx, u.ID)
	h.must(err, "list identities")
	if len(got) != 2 || got[0].Provider != "alpha" || got[1].Provider != "zeta" || got[0].UserID != u.ID || got[0].Email != u.Email {
		t.Errorf("identities %+v, want alpha then zeta of the user", got)
	}
	if none, err := h.s.ListIdentities(h.ctx, h.userOnly().ID); err != nil || len(none) != 0 {
		t.Errorf("identities of a password user: %+v (%v)", none, err)
	}
}

func (h *harness) ssoLogin(expires time.Time) *model.SSOLogin {
	h.t.Helper()
	l := &model.SSOLogin{StateHash: unique("state"), Provider: "oidc-a", BrowserHash: unique("browser"), Nonce: unique("nonce"),
		Verifier: unique("verifier"), Next: "/workspaces", Expires: model.At(expires)}
	h.must(h.s.CreateSSOLogin(h.ctx, l), "create sso login")
	return l
}

func testCreateSSOLogin(t *testing.T, h *harness) {
	l := h.ssoLogin(time.Now().Add(time.Minute))
	got, err := h.s.TakeSSOLogin(h.ctx, l.StateHash)
	h.must(err, "take sso login")
	if got.Provider != l.Provider || got.BrowserHash != l.BrowserHash || got.Nonce != l.Nonce || got.Verifier != l.Verifier ||
		got.Next != l.Next || !got.Expires.Equal(l.Expires.Time) {
		t.Errorf("stored sign-in %+v, want %+v", got, l)
	}
	if err := h.s.CreateSSOLogin(h.ctx, &model.SSOLogin{StateHash: h.ssoLogin(time.Now().Add(time.Minute)).StateHash,
		Expires: model.At(time.Now().Add(time.Minute))}); err == nil {
		t.Error("a second sign-in with a taken state was stored")
	}
}

func testTakeSSOLogin(t *testing.T, h *harness) {
	l := h.ssoLogin(time.Now().Add(time.Minute))
	if _, err := h.s.TakeSSOLogin(h.ctx, l.StateHash); err != nil {
		t.Fatalf("take: %v", err)
	}
	_, err := h.s.TakeSSOLogin(h.ctx, l.StateHash)
	h.wantNotFound(err, "a sign-in taken before")
	_, err = h.s.TakeSSOLogin(h.ctx, h.ssoLogin(time.Now().Add(-time.Second)).StateHash)
	h.wantNotFound(err, "an expired sign-in")
	_, err = h.s.TakeSSOLogin(h.ctx, unique("state"))
	h.wantNotFound(err, "an unknown state")
}

func testSetAccountSSORequired(t *testing.T, h *harness) {
	_, a := h.user()
	_, other := h.user()
	h.must(h.s.SetAccountSSORequired(h.ctx, a.ID, true), "require sso")
	if on, err := h.s.AccountSSORequired(h.ctx, a.ID); err != nil || !on {
		t.Errorf("after requiring: %v (%v)", on, err)
	}
	if on, err := h.s.AccountSSORequired(h.ctx, other.ID); err != nil || on {
		t.Errorf("another account: %v (%v), want not required", on, err)
	}
	h.must(h.s.SetAccountSSORequired(h.ctx, a.ID, false), "stop requiring sso")
	if on, err := h.s.AccountSSORequired(h.ctx, a.ID); err != nil || on {
		t.Errorf("after turning it off: %v (%v)", on, err)
	}
	h.wantNotFound(h.s.SetAccountSSORequired(h.ctx, uuid.New(), true), "an unknown account")
	list, err := h.s.ListAuditLog(h.ctx, a.ID, store.AuditQuery{Events: []string{store.AuditSSOConfigured}})
	h.must(err, "list audit log")
	if len(list) != 2 || !strings.Contains(string(list[0].Details), "false") || !strings.Contains(string(list[1].Details), "true") {
		t.Errorf("sso.configured entries %+v, want one per change, newest first", list)
	}
}

func testAccountSSORequired(t *testing.T, h *harness) {
	_, a := h.user()
	if on, err := h.s.AccountSSORequired(h.ctx, a.ID); err != nil || on {
		t.Errorf("a new account: %v (%v), want not required", on, err)
	}
	_, err := h.s.AccountSSORequired(h.ctx, uuid.New())
	h.wantNotFound(err, "an unknown account")
}

func testUserSSORequired(t *testing.T, h *harness) {
	owner, a := h.user()
	member := h.userOnly()
	h.must(h.s.ChangeAccountMember(h.ctx, a.ID, owner.ID, member.ID, func(m store.AccountMembership) (string, error) {
		return roles.AccountMember, nil
	}), "add member")
	outsider := h.userOnly()
	h.must(h.s.SetAccountSSORequired(h.ctx, a.ID, true), "require sso")
	for _, c := range []struct {
		who  string
		id   uuid.UUID
		want bool
	}{{"owner", owner.ID, true}, {"member", member.ID, true}, {"a user of other accounts", outsider.ID, false}} {
		if on, err := h.s.UserSSORequired(h.ctx, c.id); err != nil || on != c.want {
			t.Errorf("%s: %v (%v), want %v", c.who, on, err, c.want)
		}
	}
}
