package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/roles"
	"github.com/praetorhq/praetor/internal/store"
)

// serviceAccount creates a service account in account a with its first key.
func (h *harness) serviceAccount(a *model.Account, name string) (*model.ServiceAccount, *model.APIKey) {
	h.t.Helper()
	sa := &model.ServiceAccount{AccountID: a.ID, Name: name}
	k := &model.APIKey{Name: "first", Prefix: unique("pfx"), Hash: unique("hash")}
	h.must(h.s.CreateServiceAccount(h.ctx, sa, "hash-"+name, k), "create service account")
	return sa, k
}

func testCreateServiceAccount(t *testing.T, h *harness) {
	_, a := h.user()
	sa, k := h.serviceAccount(a, "deployer")
	if sa.ID == uuid.Nil || sa.Created.IsZero() || k.UserID != sa.ID {
		t.Fatalf("created %+v with key %+v", sa, k)
	}
	got, err := h.s.GetAPIKeyByPrefix(h.ctx, k.Prefix)
	if err != nil || got.UserID != sa.ID {
		t.Errorf("its key: %+v (%v)", got, err)
	}
	// A member of the account, never more.
	if role, err := h.s.AccountRole(h.ctx, a.ID, sa.ID); err != nil || role != roles.AccountMember {
		t.Errorf("account role %q (%v)", role, err)
	}
	if err := h.s.ChangeAccountMember(h.ctx, a.ID, a.ID, sa.ID, func(m store.AccountMembership) (string, error) {
		if !m.Service {
			t.Error("the membership does not say it is a service account's")
		}
		return m.Role, nil
	}); err != nil {
		t.Error(err)
	}
	_, _, err = h.s.GetUserByEmail(h.ctx, "deployer")
	h.wantNotFound(err, "a service account by its name as an email")
	h.wantCode(h.s.CreateServiceAccount(h.ctx, &model.ServiceAccount{AccountID: a.ID, Name: "deployer"}, "x", &model.APIKey{Name: "k", Prefix: unique("pfx"), Hash: "h"}),
		apperr.EConflict, "a second one with the name")
	// Another account may use the name.
	_, b := h.user()
	h.serviceAccount(b, "deployer")
}

func testListServiceAccounts(t *testing.T, h *harness) {
	_, a := h.user()
	z, _ := h.serviceAccount(a, "zeta")
	y, _ := h.serviceAccount(a, "alpha")
	_, b := h.user()
	h.serviceAccount(b, "other")
	got, err := h.s.ListServiceAccounts(h.ctx, a.ID)
	h.must(err, "list")
	if len(got) != 2 || got[0].ID != y.ID || got[1].ID != z.ID {
		t.Errorf("listed %+v, want alpha then zeta", got)
	}
}

func testGetServiceAccount(t *testing.T, h *harness) {
	_, a := h.user()
	sa, _ := h.serviceAccount(a, "getme")
	got, err := h.s.GetServiceAccount(h.ctx, a.ID, sa.ID)
	if err != nil || got.Name != "getme" || got.AccountID != a.ID || !got.Created.Equal(sa.Created.Time) {
		t.Errorf("got %+v (%v)", got, err)
	}
	_, b := h.user()
	_, err = h.s.GetServiceAccount(h.ctx, b.ID, sa.ID)
	h.wantNotFound(err, "from another account")
	u := h.userOnly()
	h.member(a, u, roles.AccountMember)
	_, err = h.s.GetServiceAccount(h.ctx, a.ID, u.ID)
	h.wantNotFound(err, "a person")
}

func testRenameServiceAccount(t *testing.T, h *harness) {
	_, a := h.user()
	sa, _ := h.serviceAccount(a, "old")
	h.serviceAccount(a, "taken")
	h.must(h.s.RenameServiceAccount(h.ctx, a.ID, sa.ID, "new"), "rename")
	if got, err := h.s.GetServiceAccount(h.ctx, a.ID, sa.ID); err != nil || got.Name != "new" {
		t.Errorf("renamed %+v (%v)", got, err)
	}
	if u, err := h.s.GetUser(h.ctx, sa.ID); err != nil || u.DisplayName != "new" {
		t.Errorf("its user %+v (%v)", u, err)
	}
	h.wantCode(h.s.RenameServiceAccount(h.ctx, a.ID, sa.ID, "taken"), apperr.EConflict, "rename to a taken name")
	_, b := h.user()
	h.wantNotFound(h.s.RenameServiceAccount(h.ctx, b.ID, sa.ID, "x"), "rename from another account")
}

func testDeleteServiceAccount(t *testing.T, h *harness) {
	_, a := h.user()
	ws := h.workspaceIn(a, nil)
	sa, k := h.serviceAccount(a, "doomed")
	h.must(h.s.SetWorkspaceMemberInAccount(h.ctx, ws.ID, sa.ID, roles.WorkspaceWorker), "workspace role")
	_, b := h.user()
	h.wantNotFound(h.s.DeleteServiceAccount(h.ctx, b.ID, sa.ID), "delete from another account")
	u := h.userOnly()
	h.member(a, u, roles.AccountMember)
	h.wantNotFound(h.s.DeleteServiceAccount(h.ctx, a.ID, u.ID), "delete a person")
	h.must(h.s.DeleteServiceAccount(h.ctx, a.ID, sa.ID), "delete")
	_, err := h.s.GetAPIKeyByPrefix(h.ctx, k.Prefix)
	h.wantNotFound(err, "its key")
	if role, err := h.s.WorkspaceRole(h.ctx, sa.ID, ws.ID); err != nil || role != "" {
		t.Errorf("workspace role after deletion %q (%v)", role, err)
	}
	h.wantNotFound(h.s.DeleteServiceAccount(h.ctx, a.ID, sa.ID), "delete again")
	if _, err := h.s.GetUser(h.ctx, u.ID); err != nil {
		t.Errorf("the person: %v", err)
	}
}

func testRotateServiceAccountKey(t *testing.T, h *harness) {
	_, a := h.user()
	sa, old := h.serviceAccount(a, "rotor")
	later := model.At(time.Now().Add(48 * time.Hour))
	soon := h.apiKey(sa.ID, &later)
	grace := model.At(time.Now().Add(10 * time.Second))
	k := &model.APIKey{Name: "rotated", Prefix: unique("pfx"), Hash: unique("hash")}
	h.must(h.s.RotateServiceAccountKey(h.ctx, a.ID, sa.ID, k, grace), "rotate")
	keys, err := h.s.ListAPIKeys(h.ctx, sa.ID)
	h.must(err, "list keys")
	byID := map[uuid.UUID]*model.APIKey{}
	for _, k := range keys {
		byID[k.ID] = k
	}
	if len(keys) != 3 || byID[k.ID] == nil || byID[k.ID].Expires != nil {
		t.Fatalf("keys after rotation %+v", keys)
	}
	for _, id := range []uuid.UUID{old.ID, soon.ID} {
		if e := byID[id].Expires; e == nil || e.Sub(grace.Time).Abs() > time.Millisecond {
			t.Errorf("old key expires %v, want %v", e, grace)
		}
	}
	// A key that expires before the grace ends keeps its expiry.
	early := model.At(time.Now().Add(time.Second))
	short := h.apiKey(sa.ID, &early)
	h.must(h.s.RotateServiceAccountKey(h.ctx, a.ID, sa.ID, &model.APIKey{Name: "again", Prefix: unique("pfx"), Hash: "h"}, model.At(time.Now().Add(time.Hour))), "rotate again")
	if got, _ := h.s.GetAPIKeyByPrefix(h.ctx, short.Prefix); got == nil || got.Expires.Sub(early.Time).Abs() > time.Millisecond {
		t.Errorf("an earlier expiry was moved: %+v", got)
	}
	_, b := h.user()
	h.wantNotFound(h.s.RotateServiceAccountKey(h.ctx, b.ID, sa.ID, &model.APIKey{Name: "x", Prefix: unique("pfx"), Hash: "h"}, grace), "from another account")
	if keys, _ := h.s.ListAPIKeys(h.ctx, sa.ID); len(keys) != 5 {
		t.Errorf("%d keys after a refused rotation, want 5", len(keys))
	}
}

// team creates a team in account a.
func (h *harness) team(a *model.Account, name string) *model.Team {
	h.t.Helper()
	tm := &model.Team{AccountID: a.ID, Name: name, Description: "for a contract"}
	h.must(h.s.CreateTeam(h.ctx, tm), "create team")
	return tm
}

func testCreateTeam(t *testing.T, h *harness) {
	_, a := h.user()
	tm := h.team(a, "ops")
	if tm.ID == uuid.Nil || tm.Created.IsZero() {
		t.Errorf("created %+v", tm)
	}
	h.wantCode(h.s.CreateTeam(h.ctx, &model.Team{AccountID: a.ID, Name: "ops"}), apperr.EConflict, "a second team with the name")
	_, b := h.user()
	h.team(b, "ops")
}

func testListTeams(t *testing.T, h *harness) {
	_, a := h.user()
	z, y := h.team(a, "zz"), h.team(a, "aa")
	_, b := h.user()
	h.team(b, "other")
	got, err := h.s.ListTeams(h.ctx, a.ID)
	h.must(err, "list teams")
	if len(got) != 2 || got[0].ID != y.ID || got[1].ID != z.ID || got[0].Description != "for a contract" {
		t.Errorf("listed %+v", got)
	}
}

func testGetTeam(t *testing.T, h *harness) {
	_, a := h.user()
	ws := h.workspaceIn(a, nil)
	tm := h.team(a, "readers")
	u := h.userOnly()
	h.member(a, u, roles.AccountAdmin)
	h.must(h.s.AddTeamMember(h.ctx, a.ID, tm.ID, u.ID), "add member")
	h.must(h.s.SetTeamWorkspaceRole(h.ctx, a.ID, tm.ID, ws.ID, roles.WorkspaceViewer), "set role")
	got, err := h.s.GetTeam(h.ctx, a.ID, tm.ID)
	h.must(err, "get team")
	if got.Name != "readers" || len(got.Members) != 1 || got.Members[0].ID != u.ID || got.Members[0].Role != roles.AccountAdmin ||
		len(got.Workspaces) != 1 || got.Workspaces[0] != (model.TeamWorkspaceRole{WorkspaceID: ws.ID, WorkspaceHandle: ws.Handle, Role: roles.WorkspaceViewer}) {
		t.Errorf("got %+v", got)
	}
	_, b := h.user()
	_, err = h.s.GetTeam(h.ctx, b.ID, tm.ID)
	h.wantNotFound(err, "from another account")
}

func testUpdateTeam(t *testing.T, h *harness) {
	_, a := h.user()
	tm := h.team(a, "before")
	h.team(a, "taken")
	tm.Name, tm.Description = "after", "changed"
	h.must(h.s.UpdateTeam(h.ctx, tm), "update")
	if got, err := h.s.GetTeam(h.ctx, a.ID, tm.ID); err != nil || got.Name != "after" || got.Description != "changed" {
		t.Errorf("updated %+v (%v)", got, err)
	}
	tm.Name = "taken"
	h.wantCode(h.s.UpdateTeam(h.ctx, tm), apperr.EConflict, "rename to a taken name")
	_, b := h.user()
	other := *tm
	other.AccountID, other.Name = b.ID, "x"
	h.wantNotFound(h.s.UpdateTeam(h.ctx, &other), "update from another account")
}

func testDeleteTeam(t *testing.T, h *harness) {
	_, a := h.user()
	ws := h.workspaceIn(a, nil)
	tm := h.team(a, "gone")
	u := h.userOnly()
	h.member(a, u, roles.AccountMember)
	h.must(h.s.AddTeamMember(h.ctx, a.ID, tm.ID, u.ID), "add member")
	h.must(h.s.SetTeamWorkspaceRole(h.ctx, a.ID, tm.ID, ws.ID, roles.WorkspaceDeveloper), "set role")
	_, b := h.user()
	h.wantNotFound(h.s.DeleteTeam(h.ctx, b.ID, tm.ID), "delete from another account")
	h.must(h.s.DeleteTeam(h.ctx, a.ID, tm.ID), "delete")
	if role, err := h.s.WorkspaceRole(h.ctx, u.ID, ws.ID); err != nil || role != "" {
		t.Errorf("role after the team's deletion %q (%v)", role, err)
	}
	h.wantNotFound(h.s.DeleteTeam(h.ctx, a.ID, tm.ID), "delete again")
}

func testAddTeamMember(t *testing.T, h *harness) {
	_, a := h.user()
	ws := h.workspaceIn(a, nil)
	tm := h.team(a, "devs")
	u, stranger := h.userOnly(), h.userOnly()
	h.member(a, u, roles.AccountMember)
	h.must(h.s.SetWorkspaceMember(h.ctx, ws.ID, u.ID, roles.WorkspaceViewer), "own role")
	h.must(h.s.SetTeamWorkspaceRole(h.ctx, a.ID, tm.ID, ws.ID, roles.WorkspaceDeveloper), "team role")
	h.must(h.s.AddTeamMember(h.ctx, a.ID, tm.ID, u.ID), "add")
	h.must(h.s.AddTeamMember(h.ctx, a.ID, tm.ID, u.ID), "add again")
	if role, err := h.s.WorkspaceRole(h.ctx, u.ID, ws.ID); err != nil || role != roles.WorkspaceDeveloper {
		t.Errorf("role through the team %q (%v)", role, err)
	}
	list, err := h.s.ListWorkspaces(h.ctx, u.ID)
	h.must(err, "list workspaces")
	if i := slices.IndexFunc(list, func(w model.WorkspaceAccess) bool { return w.ID == ws.ID }); i < 0 || list[i].Role != roles.WorkspaceDeveloper {
		t.Errorf("listed %+v", list)
	}
	h.wantNotFound(h.s.AddTeamMember(h.ctx, a.ID, tm.ID, stranger.ID), "add someone outside the account")
	_, b := h.user()
	h.wantNotFound(h.s.AddTeamMember(h.ctx, b.ID, tm.ID, u.ID), "add through another account")
	// Leaving the account leaves its teams.
	h.must(h.leave(a, u), "leave")
	got, err := h.s.GetTeam(h.ctx, a.ID, tm.ID)
	if err != nil || len(got.Members) != 0 {
		t.Errorf("team after its member left the account %+v (%v)", got, err)
	}
}

func testRemoveTeamMember(t *testing.T, h *harness) {
	_, a := h.user()
	ws := h.workspaceIn(a, nil)
	tm := h.team(a, "runners")
	u := h.userOnly()
	h.member(a, u, roles.AccountMember)
	h.must(h.s.SetWorkspaceMember(h.ctx, ws.ID, u.ID, roles.WorkspaceViewer), "own role")
	h.must(h.s.SetTeamWorkspaceRole(h.ctx, a.ID, tm.ID, ws.ID, roles.WorkspaceRunner), "team role")
	h.must(h.s.AddTeamMember(h.ctx, a.ID, tm.ID, u.ID), "add")
	_, b := h.user()
	h.wantNotFound(h.s.RemoveTeamMember(h.ctx, b.ID, tm.ID, u.ID), "remove through another account")
	h.must(h.s.RemoveTeamMember(h.ctx, a.ID, tm.ID, u.ID), "remove")
	if role, err := h.s.WorkspaceRole(h.ctx, u.ID, ws.ID); err != nil || role != roles.WorkspaceViewer {
		t.Errorf("role after leaving the team %q (%v)", role, err)
	}
	h.wantNotFound(h.s.RemoveTeamMember(h.ctx, a.ID, tm.ID, u.ID), "remove again")
}

func testSetTeamWorkspaceRole(t *testing.T, h *harness) {
	_, a := h.user()
	ws := h.workspaceIn(a, nil)
	tm, other := h.team(a, "workers"), h.team(a, "viewers")
	sa, _ := h.serviceAccount(a, "worker")
	h.must(h.s.AddTeamMember(h.ctx, a.ID, tm.ID, sa.ID), "add to workers")
	h.must(h.s.AddTeamMember(h.ctx, a.ID, other.ID, sa.ID), "add to viewers")
	h.must(h.s.SetTeamWorkspaceRole(h.ctx, a.ID, tm.ID, ws.ID, roles.WorkspaceWorker), "worker role")
	h.must(h.s.SetTeamWorkspaceRole(h.ctx, a.ID, other.ID, ws.ID, roles.WorkspaceViewer), "viewer role")
	// Worker and viewer permissions do not nest: the member has both.
	if role, err := h.s.WorkspaceRole(h.ctx, sa.ID, ws.ID); err != nil || role != roles.WorkspaceViewer+roles.Both+roles.WorkspaceWorker {
		t.Errorf("role through two teams %q (%v)", role, err)
	}
	h.must(h.s.SetTeamWorkspaceRole(h.ctx, a.ID, other.ID, ws.ID, roles.WorkspaceOwner), "change the role")
	if role, _ := h.s.WorkspaceRole(h.ctx, sa.ID, ws.ID); role != roles.WorkspaceOwner {
		t.Errorf("role after the change %q", role)
	}
	h.must(h.s.SetTeamWorkspaceRole(h.ctx, a.ID, other.ID, ws.ID, ""), "take the role away")
	if role, _ := h.s.WorkspaceRole(h.ctx, sa.ID, ws.ID); role != roles.WorkspaceWorker {
		t.Errorf("role after taking one away %q", role)
	}
	h.wantNotFound(h.s.SetTeamWorkspaceRole(h.ctx, a.ID, other.ID, ws.ID, ""), "take it away again")
	elsewhere := h.workspace()
	h.wantNotFound(h.s.SetTeamWorkspaceRole(h.ctx, a.ID, tm.ID, elsewhere.ID, roles.WorkspaceOwner), "a workspace of another account")
	_, b := h.user()
	h.wantNotFound(h.s.SetTeamWorkspaceRole(h.ctx, b.ID, tm.ID, ws.ID, roles.WorkspaceOwner), "through another account")
}
