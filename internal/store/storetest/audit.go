package storetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/roles"
	"github.com/praetorhq/praetor/internal/store"
)

// invite creates an invitation of email to account a, by its owner.
func (h *harness) invite(a *model.Account, email, role string, expires time.Time, grants ...model.WorkspaceGrant) *model.Invitation {
	h.t.Helper()
	inv := &model.Invitation{AccountID: a.ID, Email: email, Role: role, Workspaces: grants, TokenHash: unique("token"), Expires: model.At(expires)}
	h.must(h.s.CreateInvitation(h.ctx, inv), "create invitation")
	return inv
}

// events lists the events of account a's audit log, oldest first.
func (h *harness) events(a uuid.UUID, q store.AuditQuery) []string {
	h.t.Helper()
	list, err := h.s.ListAuditLog(h.ctx, a, q)
	h.must(err, "list audit log")
	out := make([]string, len(list))
	for i, e := range list {
		out[len(list)-1-i] = e.Event
	}
	return out
}

func week() time.Time { return time.Now().Add(7 * 24 * time.Hour) }

func testCreateInvitation(t *testing.T, h *harness) {
	owner, a := h.user()
	ws := h.workspaceIn(a, &owner.ID)
	_, other := h.user()
	foreign := h.workspaceIn(other, nil)
	inv := h.invite(a, "new@example.com", roles.AccountMember, week(), model.WorkspaceGrant{WorkspaceID: ws.ID, Role: roles.WorkspaceViewer})
	if inv.ID == uuid.Nil || inv.Created.IsZero() {
		t.Errorf("created invitation has id %s, created %v", inv.ID, inv.Created)
	}
	got, err := h.s.GetInvitationByToken(h.ctx, inv.TokenHash)
	h.must(err, "get invitation")
	if got.Email != inv.Email || got.Role != inv.Role || len(got.Workspaces) != 1 || got.Workspaces[0] != inv.Workspaces[0] {
		t.Errorf("stored invitation %+v, want %+v", got, inv)
	}
	dup := &model.Invitation{AccountID: a.ID, Email: inv.Email, Role: roles.AccountAdmin, TokenHash: unique("token"), Expires: model.At(week())}
	h.wantCode(h.s.CreateInvitation(h.ctx, dup), apperr.EConflict, "a second open invitation of one email")
	member := &model.Invitation{AccountID: a.ID, Email: owner.Email, Role: roles.AccountMember, TokenHash: unique("token"), Expires: model.At(week())}
	h.wantCode(h.s.CreateInvitation(h.ctx, member), apperr.EConflict, "an invitation of a member")
	bad := &model.Invitation{AccountID: a.ID, Email: "else@example.com", Role: roles.AccountMember, TokenHash: unique("token"), Expires: model.At(week()),
		Workspaces: []model.WorkspaceGrant{{WorkspaceID: foreign.ID, Role: roles.WorkspaceOwner}}}
	h.wantCode(h.s.CreateInvitation(h.ctx, bad), apperr.EInvalid, "a workspace of another account")
	// An expired invitation gives way to a new one.
	old := h.invite(a, "late@example.com", roles.AccountMember, time.Now().Add(-time.Minute))
	renewed := h.invite(a, "late@example.com", roles.AccountMember, week())
	_, err = h.s.GetInvitationByToken(h.ctx, old.TokenHash)
	h.wantNotFound(err, "the expired invitation after a new one")
	if _, err := h.s.GetInvitationByToken(h.ctx, renewed.TokenHash); err != nil {
		t.Errorf("the new invitation: %v", err)
	}
	if got := h.events(a.ID, store.AuditQuery{Events: []string{store.AuditInvitationCreated}}); len(got) != 3 {
		t.Errorf("invitation.created entries %q, want one per created invitation (3)", got)
	}
}

func testListInvitations(t *testing.T, h *harness) {
	_, a := h.user()
	_, b := h.user()
	first := h.invite(a, "one@example.com", roles.AccountMember, week())
	second := h.invite(a, "two@example.com", roles.AccountAdmin, week())
	h.invite(b, "one@example.com", roles.AccountMember, week())
	list, err := h.s.ListInvitations(h.ctx, a.ID)
	h.must(err, "list invitations")
	if len(list) != 2 || list[0].ID != second.ID || list[1].ID != first.ID {
		t.Fatalf("invitations %+v, want the two of the account, newest first", list)
	}
	if list, err := h.s.ListInvitations(h.ctx, uuid.New()); err != nil || len(list) != 0 {
		t.Errorf("invitations of an unknown account: %v, %v", list, err)
	}
}

func testGetInvitationByToken(t *testing.T, h *harness) {
	_, a := h.user()
	inv := h.invite(a, "get@example.com", roles.AccountMember, week())
	got, err := h.s.GetInvitationByToken(h.ctx, inv.TokenHash)
	h.must(err, "get invitation")
	if got.ID != inv.ID || got.AccountID != a.ID {
		t.Errorf("got %+v, want %+v", got, inv)
	}
	_, err = h.s.GetInvitationByToken(h.ctx, "no such hash")
	h.wantNotFound(err, "an unknown token")
}

func testRevokeInvitation(t *testing.T, h *harness) {
	_, a := h.user()
	_, b := h.user()
	inv := h.invite(a, "revoke@example.com", roles.AccountMember, week())
	h.wantNotFound(h.s.RevokeInvitation(h.ctx, b.ID, inv.ID), "revoke through another account")
	h.must(h.s.RevokeInvitation(h.ctx, a.ID, inv.ID), "revoke")
	_, err := h.s.GetInvitationByToken(h.ctx, inv.TokenHash)
	h.wantNotFound(err, "a revoked invitation")
	h.wantNotFound(h.s.RevokeInvitation(h.ctx, a.ID, inv.ID), "revoke again")
	if got := h.events(a.ID, store.AuditQuery{Events: []string{store.AuditInvitationRevoked}}); len(got) != 1 {
		t.Errorf("invitation.revoked entries %q, want 1", got)
	}
}

func testAcceptInvitation(t *testing.T, h *harness) {
	owner, a := h.user()
	ws := h.workspaceIn(a, &owner.ID)
	invitee, _ := h.user()
	stranger, _ := h.user()
	inv := h.invite(a, invitee.Email, roles.AccountAdmin, week(), model.WorkspaceGrant{WorkspaceID: ws.ID, Role: roles.WorkspaceRunner})
	_, err := h.s.AcceptInvitation(h.ctx, inv.TokenHash, stranger.ID)
	h.wantCode(err, apperr.EForbidden, "accepted by another email")
	if role, _ := h.s.AccountRole(h.ctx, a.ID, stranger.ID); role != "" {
		t.Errorf("the stranger got the role %q", role)
	}
	got, err := h.s.AcceptInvitation(h.ctx, inv.TokenHash, invitee.ID)
	h.must(err, "accept")
	if got.ID != inv.ID {
		t.Errorf("accepted %s, want %s", got.ID, inv.ID)
	}
	if role, _ := h.s.AccountRole(h.ctx, a.ID, invitee.ID); role != roles.AccountAdmin {
		t.Errorf("account role %q, want admin", role)
	}
	members, err := h.s.ListWorkspaceMembers(h.ctx, ws.ID)
	h.must(err, "list workspace members")
	if !slices.Contains(memberRoles(members), invitee.Email+":"+roles.WorkspaceRunner) {
		t.Errorf("workspace members %q, want the invitee as runner", memberRoles(members))
	}
	_, err = h.s.AcceptInvitation(h.ctx, inv.TokenHash, invitee.ID)
	h.wantNotFound(err, "accept twice")
	expired := h.invite(a, stranger.Email, roles.AccountMember, time.Now().Add(-time.Second))
	_, err = h.s.AcceptInvitation(h.ctx, expired.TokenHash, stranger.ID)
	h.wantCode(err, apperr.EConflict, "accept an expired invitation")
	if role, _ := h.s.AccountRole(h.ctx, a.ID, stranger.ID); role != "" {
		t.Errorf("an expired invitation gave the role %q", role)
	}
	want := []string{store.AuditInvitationCreated, store.AuditInvitationAccepted, store.AuditMemberAdded, store.AuditWorkspaceMemberRole}
	if got := h.events(a.ID, store.AuditQuery{Events: want}); !slices.Equal(got, []string{want[0], want[1], want[2], want[3], want[0]}) {
		t.Errorf("audit entries %q", got)
	}
}

func testRecordFailedSignIn(t *testing.T, h *harness) {
	u, a := h.user()
	ctx := store.WithActor(h.ctx, store.Actor{Addr: "192.0.2.7", UserAgent: "test agent"})
	h.must(h.s.RecordFailedSignIn(ctx, u.Email, "wrong password"), "record a failed sign-in")
	h.must(h.s.RecordFailedSignIn(ctx, "nobody-"+unique("x")+"@example.com", "wrong password"), "record a failed sign-in of an unknown email")
	list, err := h.s.ListAuditLog(h.ctx, a.ID, store.AuditQuery{})
	h.must(err, "list audit log")
	if len(list) != 1 {
		t.Fatalf("entries %+v, want the one failed sign-in", list)
	}
	e := list[0]
	if e.Event != store.AuditLoginFailed || e.ActorID != nil || e.ActorKind != model.ActorAnonymous || e.ActorEmail != u.Email ||
		e.TargetID != u.ID.String() || e.SourceAddr != "192.0.2.7" || e.UserAgent != "test agent" || !strings.Contains(string(e.Details), "wrong password") {
		t.Errorf("entry %+v", e)
	}
}

func testListAuditLog(t *testing.T, h *harness) {
	owner, a := h.user()
	ctx := store.WithActor(h.ctx, store.Actor{UserID: &owner.ID, Addr: "198.51.100.1", UserAgent: "ua"})
	ws1 := model.Workspace{AccountID: a.ID, Handle: unique("ws"), Name: "one"}
	h.must(h.s.CreateWorkspace(ctx, &ws1, &owner.ID), "create workspace")
	ws2 := model.Workspace{AccountID: a.ID, Handle: unique("ws"), Name: "two"}
	h.must(h.s.CreateWorkspace(h.ctx, &ws2, nil), "create workspace without an actor")
	h.must(h.s.UpdateWorkspace(ctx, &ws1), "update workspace")

	if got := h.events(a.ID, store.AuditQuery{}); !slices.Equal(got, []string{store.AuditWorkspaceCreated, store.AuditWorkspaceCreated, store.AuditWorkspaceUpdated}) {
		t.Errorf("all entries %q", got)
	}
	list, err := h.s.ListAuditLog(h.ctx, a.ID, store.AuditQuery{WorkspaceID: &ws1.ID})
	h.must(err, "list by workspace")
	if len(list) != 2 || list[0].Event != store.AuditWorkspaceUpdated || list[0].ActorEmail != owner.Email || list[0].TargetName != ws1.Handle {
		t.Errorf("entries of workspace one %+v", list)
	}
	if got := h.events(a.ID, store.AuditQuery{ActorID: &owner.ID}); len(got) != 2 {
		t.Errorf("entries by the owner %q, want 2", got)
	}
	system, err := h.s.ListAuditLog(h.ctx, a.ID, store.AuditQuery{WorkspaceID: &ws2.ID})
	h.must(err, "list workspace two")
	if len(system) != 1 || system[0].ActorKind != model.ActorSystem || system[0].ActorID != nil {
		t.Errorf("entries without an actor %+v", system)
	}
	if got := h.events(a.ID, store.AuditQuery{Events: []string{store.AuditWorkspaceUpdated}}); len(got) != 1 {
		t.Errorf("entries by event %q", got)
	}
	future, past := time.Now().Add(time.Hour), time.Now().Add(-time.Hour)
	if got := h.events(a.ID, store.AuditQuery{Since: &future}); len(got) != 0 {
		t.Errorf("entries since an hour from now %q", got)
	}
	if got := h.events(a.ID, store.AuditQuery{Until: &past}); len(got) != 0 {
		t.Errorf("entries until an hour ago %q", got)
	}
	if got := h.events(a.ID, store.AuditQuery{Since: &past, Until: &future}); len(got) != 3 {
		t.Errorf("entries of the last and next hour %q", got)
	}
	if got := h.events(a.ID, store.AuditQuery{Limit: 1, Offset: 1}); !slices.Equal(got, []string{store.AuditWorkspaceCreated}) {
		t.Errorf("second page of one %q", got)
	}
	if got := h.events(uuid.New(), store.AuditQuery{}); len(got) != 0 {
		t.Errorf("entries of an unknown account %q", got)
	}
}

func testPruneAuditLog(t *testing.T, h *harness) {
	s := h.fresh()
	u, a := &model.User{Email: "prune@example.com", Handle: "prune"}, &model.Account{Handle: "prune", Name: "Prune"}
	h.must(s.CreateUser(h.ctx, u, "hash", a), "create user")
	ws := model.Workspace{AccountID: a.ID, Handle: "w", Name: "W"}
	h.must(s.CreateWorkspace(h.ctx, &ws, &u.ID), "create workspace")
	n, err := s.PruneAuditLog(h.ctx, time.Now().Add(-time.Hour))
	if err != nil || n != 0 {
		t.Errorf("prune before an hour ago: %d, %v; want none", n, err)
	}
	n, err = s.PruneAuditLog(h.ctx, time.Now().Add(time.Hour))
	if err != nil || n != 1 {
		t.Errorf("prune before an hour from now: %d, %v; want the one entry", n, err)
	}
	if list, _ := s.ListAuditLog(h.ctx, a.ID, store.AuditQuery{}); len(list) != 0 {
		t.Errorf("entries after pruning %+v", list)
	}
}
