package storetest

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/roles"
	"github.com/praetorhq/praetor/internal/store"
)

// workspaceIn creates a workspace in account a; creator, when set, becomes
// its owner.
func (h *harness) workspaceIn(a *model.Account, creator *uuid.UUID) model.Workspace {
	h.t.Helper()
	ws := model.Workspace{AccountID: a.ID, Handle: unique("ws"), Name: "Workspace", Description: "for a contract"}
	h.must(h.s.CreateWorkspace(h.ctx, &ws, creator), "create workspace")
	ws.AccountHandle, ws.AccountName = a.Handle, a.Name
	return ws
}

// member adds u to account a with role.
func (h *harness) member(a *model.Account, u *model.User, role string) {
	h.t.Helper()
	h.must(h.s.ChangeAccountMember(h.ctx, a.ID, a.ID, u.ID, func(store.AccountMembership) (string, error) { return role, nil }), "set account member")
}

// leave removes u from account a.
func (h *harness) leave(a *model.Account, u *model.User) error {
	return h.s.ChangeAccountMember(h.ctx, a.ID, u.ID, u.ID, func(store.AccountMembership) (string, error) { return "", nil })
}

// sameWorkspace reports the fields of got that differ from want.
func sameWorkspace(got, want model.Workspace) string {
	var diff []string
	check := func(field string, g, w any) {
		if g != w {
			diff = append(diff, fmt.Sprintf("%s %v, want %v", field, g, w))
		}
	}
	check("id", got.ID, want.ID)
	check("account id", got.AccountID, want.AccountID)
	check("account handle", got.AccountHandle, want.AccountHandle)
	check("account name", got.AccountName, want.AccountName)
	check("handle", got.Handle, want.Handle)
	check("name", got.Name, want.Name)
	check("description", got.Description, want.Description)
	check("default", got.IsDefault, want.IsDefault)
	if !got.Created.Equal(want.Created.Time) || !got.Updated.Equal(want.Updated.Time) {
		diff = append(diff, fmt.Sprintf("created/updated %v/%v, want %v/%v", got.Created, got.Updated, want.Created, want.Updated))
	}
	return strings.Join(diff, "; ")
}

func testDefaultWorkspace(t *testing.T, h *harness) {
	s := h.fresh()
	ws, err := s.DefaultWorkspace(h.ctx)
	h.must(err, "default workspace on an empty database")
	if ws.ID == uuid.Nil || !ws.IsDefault || ws.Handle != "default" || ws.AccountHandle != "default" || ws.Created.IsZero() {
		t.Errorf("default workspace %+v", ws)
	}
	again, err := s.DefaultWorkspace(h.ctx)
	h.must(err, "default workspace again")
	if d := sameWorkspace(again, ws); d != "" {
		t.Errorf("second call: %s", d)
	}
	got, err := s.GetWorkspace(h.ctx, ws.AccountID, ws.ID)
	h.must(err, "get the default workspace")
	if d := sameWorkspace(got, ws); d != "" {
		t.Errorf("GetWorkspace: %s", d)
	}
	acct, err := s.GetAccountByHandle(h.ctx, "default")
	h.must(err, "the default account")
	if acct.ID != ws.AccountID {
		t.Errorf("account default is %s, the default workspace's account %s", acct.ID, ws.AccountID)
	}

	// Concurrent first calls on a fresh database (replicas starting at
	// once, say) agree on one default workspace.
	s = h.fresh()
	const callers = 8
	defaults := make([]model.Workspace, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() { defaults[i], errs[i] = s.DefaultWorkspace(h.ctx) })
	}
	wg.Wait()
	for i := range callers {
		h.must(errs[i], "concurrent default workspace")
		if d := sameWorkspace(defaults[i], defaults[0]); d != "" {
			t.Errorf("concurrent call %d: %s", i, d)
		}
	}
	if acct, err := s.GetAccountByHandle(h.ctx, "default"); err != nil || acct.ID != defaults[0].AccountID {
		t.Errorf("account default after concurrent first calls: %+v (%v), want the default workspace's %s", acct, err, defaults[0].AccountID)
	}
}

// Of concurrent claims on a fresh server exactly one makes its user owner of
// the default account; once it has a member, no claim succeeds.
func testClaimDefaultAccount(t *testing.T, h *harness) {
	fh := *h
	fh.s = h.fresh()
	def, err := fh.s.DefaultWorkspace(h.ctx)
	h.must(err, "default workspace")
	users := make([]*model.User, 8)
	for i := range users {
		users[i], _ = fh.user()
	}
	won := make([]bool, len(users))
	var wg sync.WaitGroup
	for i, u := range users {
		wg.Go(func() {
			ok, err := fh.s.ClaimDefaultAccount(h.ctx, u.ID)
			if err != nil {
				t.Errorf("claim: %v", err)
			}
			won[i] = ok
		})
	}
	wg.Wait()
	var winner *model.User
	for i, ok := range won {
		if ok {
			if winner != nil {
				t.Fatalf("two claims succeeded: %s and %s", winner.Email, users[i].Email)
			}
			winner = users[i]
		}
	}
	if winner == nil {
		t.Fatal("no claim succeeded on a fresh server")
	}
	members, err := fh.s.ListAccountMembers(h.ctx, def.AccountID)
	h.must(err, "list the default account's members")
	if got := memberRoles(members); !slices.Equal(got, []string{winner.Email + ":" + roles.AccountOwner}) {
		t.Errorf("default account members %v, want only the winner as owner", got)
	}
	if role, err := fh.s.WorkspaceRole(h.ctx, winner.ID, def.ID); err != nil || role != roles.WorkspaceOwner {
		t.Errorf("the winner's role in the default workspace %q (%v), want owner", role, err)
	}
	late, _ := fh.user()
	if ok, err := fh.s.ClaimDefaultAccount(h.ctx, late.ID); ok || err != nil {
		t.Errorf("a claim after the first: %v (%v)", ok, err)
	}
}

func testGetWorkspace(t *testing.T, h *harness) {
	ws, other := h.workspace(), h.workspace()
	got, err := h.s.GetWorkspace(h.ctx, ws.AccountID, ws.ID)
	h.must(err, "get workspace")
	if d := sameWorkspace(got, ws); d != "" {
		t.Errorf("GetWorkspace: %s", d)
	}
	_, err = h.s.GetWorkspace(h.ctx, other.AccountID, ws.ID)
	h.wantNotFound(err, "a workspace through another account")
	_, err = h.s.GetWorkspace(h.ctx, ws.AccountID, newID())
	h.wantNotFound(err, "an unknown workspace")
}

func testGetWorkspaceByID(t *testing.T, h *harness) {
	ws := h.workspace()
	got, err := h.s.GetWorkspaceByID(h.ctx, ws.ID)
	h.must(err, "get workspace by id")
	if d := sameWorkspace(got, ws); d != "" {
		t.Errorf("GetWorkspaceByID: %s", d)
	}
	_, err = h.s.GetWorkspaceByID(h.ctx, newID())
	h.wantNotFound(err, "an unknown workspace")
}

func testGetWorkspaceByHandle(t *testing.T, h *harness) {
	a := h.workspace()
	// Handles are per account: another account's workspace of the same handle.
	u, acct := h.user()
	b := model.Workspace{AccountID: acct.ID, Handle: a.Handle, Name: "Same handle"}
	h.must(h.s.CreateWorkspace(h.ctx, &b, &u.ID), "create a workspace of the same handle in another account")
	for _, c := range []struct {
		account, workspace string
		want               uuid.UUID
	}{{a.AccountHandle, a.Handle, a.ID}, {acct.Handle, a.Handle, b.ID}} {
		got, err := h.s.GetWorkspaceByHandle(h.ctx, c.account, c.workspace)
		if err != nil || got.ID != c.want {
			t.Errorf("%s/%s: %v (%v), want %s", c.account, c.workspace, got.ID, err, c.want)
		}
	}
	got, err := h.s.GetWorkspaceByHandle(h.ctx, a.AccountHandle, a.Handle)
	h.must(err, "get workspace by handle")
	if d := sameWorkspace(got, a); d != "" {
		t.Errorf("GetWorkspaceByHandle: %s", d)
	}
	_, err = h.s.GetWorkspaceByHandle(h.ctx, a.AccountHandle, "nope")
	h.wantNotFound(err, "an unknown workspace handle")
	_, err = h.s.GetWorkspaceByHandle(h.ctx, unique("nope"), a.Handle)
	h.wantNotFound(err, "an unknown account handle")
}

func testCreateUser(t *testing.T, h *harness) {
	handle := unique("u")
	email := handle + "@example.com"
	u := &model.User{Email: "  " + strings.ToUpper(handle) + "@Example.COM ", Handle: handle, DisplayName: "Dee"}
	a := &model.Account{Handle: unique("acct"), Name: "Dee's"}
	h.must(h.s.CreateUser(h.ctx, u, "the-hash", a), "create user")
	if u.ID == uuid.Nil || u.Created.IsZero() || u.Email != email || a.ID == uuid.Nil || a.Created.IsZero() {
		t.Errorf("created user %+v, account %+v", u, a)
	}
	got, err := h.s.GetUser(h.ctx, u.ID)
	h.must(err, "get user")
	if got.Email != email || got.Handle != handle || got.DisplayName != "Dee" || !got.Created.Equal(u.Created.Time) {
		t.Errorf("stored user %+v", got)
	}
	acct, err := h.s.GetAccount(h.ctx, a.ID)
	h.must(err, "get account")
	if acct.Handle != a.Handle || acct.Name != "Dee's" {
		t.Errorf("stored account %+v", acct)
	}
	if role, err := h.s.AccountRole(h.ctx, a.ID, u.ID); err != nil || role != roles.AccountOwner {
		t.Errorf("the new user's role in their account: %q (%v), want %q", role, err, roles.AccountOwner)
	}

	// Each of email (in any case), user handle and account handle is taken;
	// a refused sign-up leaves neither its user nor its account behind.
	for _, c := range []struct {
		name                         string
		email, handle, accountHandle string
	}{
		{"email", strings.ToUpper(email), unique("u"), unique("acct")},
		{"user handle", unique("u") + "@example.com", handle, unique("acct")},
		{"account handle", unique("u") + "@example.com", unique("u"), a.Handle},
	} {
		dup := &model.User{Email: c.email, Handle: c.handle}
		err := h.s.CreateUser(h.ctx, dup, "h", &model.Account{Handle: c.accountHandle, Name: "dup"})
		h.wantCode(err, apperr.EConflict, "a user with a taken "+c.name)
		if c.email != strings.ToUpper(email) {
			_, _, err := h.s.GetUserByEmail(h.ctx, c.email)
			h.wantNotFound(err, "the user of a refused sign-up (taken "+c.name+")")
		}
		if c.accountHandle != a.Handle {
			_, err := h.s.GetAccountByHandle(h.ctx, c.accountHandle)
			h.wantNotFound(err, "the account of a refused sign-up (taken "+c.name+")")
		}
	}
	if members, err := h.s.ListAccountMembers(h.ctx, a.ID); err != nil || len(members) != 1 || members[0].ID != u.ID {
		t.Errorf("members of the account after refused sign-ups: %+v (%v)", members, err)
	}
}

func testGetUser(t *testing.T, h *harness) {
	u, _ := h.user()
	got, err := h.s.GetUser(h.ctx, u.ID)
	if err != nil || got.ID != u.ID || got.Email != u.Email || got.Handle != u.Handle || got.DisplayName != u.DisplayName {
		t.Errorf("GetUser: %+v (%v), want %+v", got, err, u)
	}
	_, err = h.s.GetUser(h.ctx, newID())
	h.wantNotFound(err, "an unknown user")
}

func testGetUserByEmail(t *testing.T, h *harness) {
	u, _ := h.user()
	got, hash, err := h.s.GetUserByEmail(h.ctx, " "+strings.ToUpper(u.Email)+" ")
	if err != nil || got.ID != u.ID || hash != "hash-"+u.Handle {
		t.Errorf("GetUserByEmail in another case: %+v, %q (%v)", got, hash, err)
	}
	_, _, err = h.s.GetUserByEmail(h.ctx, unique("nobody")+"@example.com")
	h.wantNotFound(err, "an unknown email")
}

func testGetAccount(t *testing.T, h *harness) {
	_, a := h.user()
	got, err := h.s.GetAccount(h.ctx, a.ID)
	if err != nil || got.ID != a.ID || got.Handle != a.Handle || got.Name != a.Name || !got.Created.Equal(a.Created.Time) {
		t.Errorf("GetAccount: %+v (%v), want %+v", got, err, a)
	}
	_, err = h.s.GetAccount(h.ctx, newID())
	h.wantNotFound(err, "an unknown account")
}

func testGetAccountByHandle(t *testing.T, h *harness) {
	_, a := h.user()
	got, err := h.s.GetAccountByHandle(h.ctx, a.Handle)
	if err != nil || got.ID != a.ID || got.Name != a.Name {
		t.Errorf("GetAccountByHandle: %+v (%v), want %+v", got, err, a)
	}
	_, err = h.s.GetAccountByHandle(h.ctx, unique("nope"))
	h.wantNotFound(err, "an unknown account handle")
}

func testListAccounts(t *testing.T, h *harness) {
	u, own := h.user()
	o, other := h.user()
	h.member(other, u, roles.AccountMember)
	type access struct {
		id           uuid.UUID
		handle, role string
	}
	list := func(user uuid.UUID) []access {
		t.Helper()
		got, err := h.s.ListAccounts(h.ctx, user)
		h.must(err, "list accounts")
		out := make([]access, len(got))
		for i, a := range got {
			out[i] = access{a.ID, a.Handle, a.Role}
		}
		return out
	}
	// By handle.
	want := []access{{own.ID, own.Handle, roles.AccountOwner}, {other.ID, other.Handle, roles.AccountMember}}
	slices.SortFunc(want, func(a, b access) int { return cmp.Compare(a.handle, b.handle) })
	if got := list(u.ID); !slices.Equal(got, want) {
		t.Errorf("accounts of a member of two: %v, want %v", got, want)
	}
	if got := list(o.ID); !slices.Equal(got, []access{{other.ID, other.Handle, roles.AccountOwner}}) {
		t.Errorf("accounts of the other account's owner: %v", got)
	}
	if got := list(newID()); len(got) != 0 {
		t.Errorf("accounts of a stranger: %v", got)
	}
}

func testAccountRole(t *testing.T, h *harness) {
	u, a := h.user()
	v, _ := h.user()
	role := func(account, user uuid.UUID) string {
		t.Helper()
		r, err := h.s.AccountRole(h.ctx, account, user)
		h.must(err, "account role")
		return r
	}
	if r := role(a.ID, u.ID); r != roles.AccountOwner {
		t.Errorf("owner's role %q", r)
	}
	if r := role(a.ID, v.ID); r != "" {
		t.Errorf("a non-member's role %q, want none", r)
	}
	h.member(a, v, roles.AccountAdmin)
	if r := role(a.ID, v.ID); r != roles.AccountAdmin {
		t.Errorf("an admin's role %q", r)
	}
	if r := role(newID(), u.ID); r != "" {
		t.Errorf("role in an unknown account %q", r)
	}
}

func testCreateWorkspace(t *testing.T, h *harness) {
	u, a := h.user()
	ws := model.Workspace{AccountID: a.ID, Handle: "prod", Name: "Production", Description: "d"}
	h.must(h.s.CreateWorkspace(h.ctx, &ws, &u.ID), "create workspace")
	if ws.ID == uuid.Nil || ws.Created.IsZero() || !ws.Created.Equal(ws.Updated.Time) {
		t.Errorf("created workspace %+v", ws)
	}
	got, err := h.s.GetWorkspace(h.ctx, a.ID, ws.ID)
	h.must(err, "get workspace")
	want := ws
	want.AccountHandle, want.AccountName = a.Handle, a.Name
	if d := sameWorkspace(got, want); d != "" {
		t.Errorf("stored workspace: %s", d)
	}
	members, err := h.s.ListWorkspaceMembers(h.ctx, ws.ID)
	if err != nil || len(members) != 1 || members[0].ID != u.ID || members[0].Role != roles.WorkspaceOwner {
		t.Errorf("members of a workspace with a creator: %+v (%v)", members, err)
	}
	bare := model.Workspace{AccountID: a.ID, Handle: "bare", Name: "Bare"}
	h.must(h.s.CreateWorkspace(h.ctx, &bare, nil), "create workspace without a creator")
	if members, err := h.s.ListWorkspaceMembers(h.ctx, bare.ID); err != nil || len(members) != 0 {
		t.Errorf("members of a workspace without a creator: %+v (%v)", members, err)
	}

	dup := model.Workspace{AccountID: a.ID, Handle: "prod", Name: "Another"}
	h.wantCode(h.s.CreateWorkspace(h.ctx, &dup, &u.ID), apperr.EConflict, "a taken handle in the account")
	all, err := h.s.ListWorkspaces(h.ctx, u.ID)
	h.must(err, "list workspaces")
	if len(all) != 2 || all[0].ID != bare.ID || all[1].ID != ws.ID || all[1].Name != "Production" {
		t.Errorf("the account's workspaces after a refused duplicate: %+v", all)
	}
	_, b := h.user()
	same := model.Workspace{AccountID: b.ID, Handle: "prod", Name: "Theirs"}
	h.must(h.s.CreateWorkspace(h.ctx, &same, nil), "the same handle in another account")
}

func testUpdateWorkspace(t *testing.T, h *harness) {
	u, a := h.user()
	ws := h.workspaceIn(a, &u.ID)
	oldHandle := ws.Handle
	ws.Handle, ws.Name, ws.Description = unique("renamed"), "Renamed", "new description"
	h.must(h.s.UpdateWorkspace(h.ctx, &ws), "update workspace")
	if !ws.Updated.After(ws.Created.Time) {
		t.Errorf("updated %v is not after created %v", ws.Updated, ws.Created)
	}
	got, err := h.s.GetWorkspace(h.ctx, a.ID, ws.ID)
	h.must(err, "get workspace")
	if d := sameWorkspace(got, ws); d != "" {
		t.Errorf("after update: %s", d)
	}
	_, err = h.s.GetWorkspaceByHandle(h.ctx, a.Handle, oldHandle)
	h.wantNotFound(err, "the old handle")

	// Another account cannot reach it; an unknown id is not found.
	other := h.workspace()
	hijack := ws
	hijack.AccountID, hijack.Name = other.AccountID, "hijacked"
	h.wantNotFound(h.s.UpdateWorkspace(h.ctx, &hijack), "update through another account")
	unknown := ws
	unknown.ID = newID()
	h.wantNotFound(h.s.UpdateWorkspace(h.ctx, &unknown), "update an unknown workspace")

	// A handle taken in the account is a conflict.
	second := h.workspaceIn(a, nil)
	taken := second
	taken.Handle, taken.Name = ws.Handle, "taken"
	h.wantCode(h.s.UpdateWorkspace(h.ctx, &taken), apperr.EConflict, "rename onto a taken handle")
	for _, w := range []model.Workspace{ws, second} {
		got, err := h.s.GetWorkspace(h.ctx, a.ID, w.ID)
		h.must(err, "get workspace")
		if d := sameWorkspace(got, w); d != "" {
			t.Errorf("after refused updates, workspace %s: %s", w.Handle, d)
		}
	}
}

// fillWorkspace puts one of everything a workspace holds into ws.
func (h *harness) fillWorkspace(ws uuid.UUID) (run *model.FlowRun, task *model.TaskRun) {
	h.t.Helper()
	flow := h.flow(ws, "everything")
	run = h.flowRun(ws, flow.ID, "run", state(model.Running))
	task = h.taskRun(ws, &run.ID, "task", state(model.Running))
	h.must(h.s.CreateLogs(h.ctx, ws, []*model.Log{{Name: "l", Level: 20, Message: "m", Timestamp: model.Now(), FlowRunID: &run.ID}}), "create logs")
	h.must(h.s.IngestEvents(h.ctx, ws, []*model.Event{{ID: newID(), Occurred: model.Now(), Event: "e",
		Resource: model.Resource{"prefect.resource.id": "r"}, Received: model.Now()}}, nil), "ingest events")
	h.must(h.s.CreateVariable(h.ctx, ws, &model.Variable{Name: "v", Value: 1}), "create variable")
	h.must(h.s.CreateArtifact(h.ctx, ws, &model.Artifact{Key: ptr("a"), Data: 1, FlowRunID: &run.ID}), "create artifact")
	return run, task
}

// holdings counts what ws holds, by kind.
func (h *harness) holdings(ws uuid.UUID, run *model.FlowRun, task *model.TaskRun) map[string]int {
	h.t.Helper()
	out := map[string]int{}
	n := func(kind string, v int, err error) {
		h.must(err, "count "+kind)
		out[kind] = v
	}
	flows, err := h.s.CountFlows(h.ctx, ws, store.RunQuery{})
	n("flows", flows, err)
	runs, err := h.s.CountFlowRuns(h.ctx, ws, store.RunQuery{})
	n("flow runs", runs, err)
	tasks, err := h.s.CountTaskRuns(h.ctx, ws, store.RunQuery{})
	n("task runs", tasks, err)
	frs, err := h.s.ListFlowRunStates(h.ctx, ws, run.ID)
	n("flow run states", len(frs), err)
	trs, err := h.s.ListTaskRunStates(h.ctx, ws, task.ID)
	n("task run states", len(trs), err)
	logs, err := h.s.ListLogs(h.ctx, ws, store.LogQuery{})
	n("logs", len(logs), err)
	_, events, err := h.s.ListEvents(h.ctx, ws, store.EventQuery{})
	n("events", events, err)
	vars, err := h.s.CountVariables(h.ctx, ws, store.VariableQuery{})
	n("variables", vars, err)
	arts, err := h.s.CountArtifacts(h.ctx, ws, store.ArtifactQuery{}, false)
	n("artifacts", arts, err)
	return out
}

func testDeleteWorkspace(t *testing.T, h *harness) {
	ws, keep := h.workspace(), h.workspace()
	run, task := h.fillWorkspace(ws.ID)
	keepRun, keepTask := h.fillWorkspace(keep.ID)
	kept := h.holdings(keep.ID, keepRun, keepTask)
	for kind, n := range h.holdings(ws.ID, run, task) {
		if n == 0 {
			t.Fatalf("the workspace to delete holds no %s", kind)
		}
	}

	h.wantNotFound(h.s.DeleteWorkspace(h.ctx, keep.AccountID, ws.ID), "delete through another account")
	if _, err := h.s.GetWorkspace(h.ctx, ws.AccountID, ws.ID); err != nil {
		t.Fatalf("a refused delete removed the workspace: %v", err)
	}
	h.must(h.s.DeleteWorkspace(h.ctx, ws.AccountID, ws.ID), "delete workspace")
	_, err := h.s.GetWorkspace(h.ctx, ws.AccountID, ws.ID)
	h.wantNotFound(err, "a deleted workspace")
	for kind, n := range h.holdings(ws.ID, run, task) {
		if n != 0 {
			t.Errorf("%d %s left after deleting their workspace", n, kind)
		}
	}
	if got := h.holdings(keep.ID, keepRun, keepTask); fmt.Sprint(got) != fmt.Sprint(kept) {
		t.Errorf("deleting a workspace changed another: %v, was %v", got, kept)
	}
	h.wantNotFound(h.s.DeleteWorkspace(h.ctx, ws.AccountID, ws.ID), "delete it again")

	// The default workspace, which /api serves, is never deleted.
	def, err := h.s.DefaultWorkspace(h.ctx)
	h.must(err, "default workspace")
	h.wantNotFound(h.s.DeleteWorkspace(h.ctx, def.AccountID, def.ID), "delete the default workspace")
	if _, err := h.s.GetWorkspace(h.ctx, def.AccountID, def.ID); err != nil {
		t.Errorf("the default workspace after an attempt to delete it: %v", err)
	}
}

func testListWorkspaces(t *testing.T, h *harness) {
	u, own := h.user()
	// Created out of handle order.
	second := model.Workspace{AccountID: own.ID, Handle: "b-second", Name: "B"}
	first := model.Workspace{AccountID: own.ID, Handle: "a-first", Name: "A"}
	h.must(h.s.CreateWorkspace(h.ctx, &second, nil), "create workspace")
	h.must(h.s.CreateWorkspace(h.ctx, &first, nil), "create workspace")
	o, other := h.user()
	x, y := h.workspaceIn(other, &o.ID), h.workspaceIn(other, &o.ID)
	h.member(other, u, roles.AccountMember)
	h.must(h.s.SetWorkspaceMember(h.ctx, y.ID, u.ID, roles.WorkspaceViewer), "set workspace member")
	admin, _ := h.user()
	h.member(other, admin, roles.AccountAdmin)

	type access struct {
		account, handle string
		id              uuid.UUID
		role            string
	}
	list := func(user uuid.UUID) []access {
		t.Helper()
		got, err := h.s.ListWorkspaces(h.ctx, user)
		h.must(err, "list workspaces")
		out := make([]access, len(got))
		for i, w := range got {
			out[i] = access{w.AccountHandle, w.Handle, w.ID, w.Role}
		}
		return out
	}
	sorted := func(as ...access) []access {
		slices.SortFunc(as, func(a, b access) int {
			return cmp.Or(cmp.Compare(a.account, b.account), cmp.Compare(a.handle, b.handle))
		})
		return as
	}
	// Every workspace of an account the user owns, as owner; of the other
	// account, where the user is a member, only the one they were added to.
	want := sorted(access{own.Handle, "a-first", first.ID, roles.WorkspaceOwner}, access{own.Handle, "b-second", second.ID, roles.WorkspaceOwner},
		access{other.Handle, y.Handle, y.ID, roles.WorkspaceViewer})
	if got := list(u.ID); !slices.Equal(got, want) {
		t.Errorf("workspaces of an owner and member:\n got %v\nwant %v", got, want)
	}
	want = sorted(access{other.Handle, x.Handle, x.ID, roles.WorkspaceOwner}, access{other.Handle, y.Handle, y.ID, roles.WorkspaceOwner})
	if got := list(admin.ID); !slices.Equal(got, want) {
		t.Errorf("workspaces of an account admin:\n got %v\nwant %v", got, want)
	}
	if got := list(newID()); len(got) != 0 {
		t.Errorf("workspaces of a stranger: %v", got)
	}
}

func testWorkspaceRole(t *testing.T, h *harness) {
	owner, a := h.user()
	ws := h.workspaceIn(a, nil)
	elsewhere := h.workspace()
	admin, dev, plain, stranger := h.userOnly(), h.userOnly(), h.userOnly(), h.userOnly()
	h.member(a, admin, roles.AccountAdmin)
	h.member(a, dev, roles.AccountMember)
	h.member(a, plain, roles.AccountMember)
	h.must(h.s.SetWorkspaceMember(h.ctx, ws.ID, dev.ID, roles.WorkspaceDeveloper), "set workspace member")
	for _, c := range []struct {
		name     string
		user, ws uuid.UUID
		wantRole string
	}{
		{"account owner", owner.ID, ws.ID, roles.WorkspaceOwner},
		{"account admin", admin.ID, ws.ID, roles.WorkspaceOwner},
		{"member with a workspace role", dev.ID, ws.ID, roles.WorkspaceDeveloper},
		{"member without one", plain.ID, ws.ID, ""},
		{"stranger", stranger.ID, ws.ID, ""},
		{"owner of another account", owner.ID, elsewhere.ID, ""},
		{"unknown workspace", owner.ID, newID(), ""},
	} {
		role, err := h.s.WorkspaceRole(h.ctx, c.user, c.ws)
		if err != nil || role != c.wantRole {
			t.Errorf("%s: role %q (%v), want %q", c.name, role, err, c.wantRole)
		}
	}
}

// testWorkspaceAccess: WorkspaceRole's answers for a workspace named with
// its account; not found for a workspace the account does not have.
func testWorkspaceAccess(t *testing.T, h *harness) {
	owner, a := h.user()
	ws := h.workspaceIn(a, nil)
	elsewhere := h.workspace()
	dev, plain, stranger := h.userOnly(), h.userOnly(), h.userOnly()
	h.member(a, dev, roles.AccountMember)
	h.member(a, plain, roles.AccountMember)
	h.must(h.s.SetWorkspaceMember(h.ctx, ws.ID, dev.ID, roles.WorkspaceDeveloper), "set workspace member")
	for _, c := range []struct {
		name              string
		user, account, ws uuid.UUID
		wantRole          string
		wantNotFound      bool
	}{
		{"account owner", owner.ID, a.ID, ws.ID, roles.WorkspaceOwner, false},
		{"member with a workspace role", dev.ID, a.ID, ws.ID, roles.WorkspaceDeveloper, false},
		{"member without one", plain.ID, a.ID, ws.ID, "", false},
		{"stranger", stranger.ID, a.ID, ws.ID, "", false},
		{"another account's workspace", owner.ID, a.ID, elsewhere.ID, "", true},
		{"the workspace under another account", owner.ID, elsewhere.AccountID, ws.ID, "", true},
		{"unknown workspace", owner.ID, a.ID, newID(), "", true},
	} {
		role, err := h.s.WorkspaceAccess(h.ctx, c.user, c.account, c.ws)
		if c.wantNotFound {
			h.wantNotFound(err, c.name)
		} else if err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		if role != c.wantRole {
			t.Errorf("%s: role %q, want %q", c.name, role, c.wantRole)
		}
	}
}

// userOnly creates a user (and the account they own, unused).
func (h *harness) userOnly() *model.User {
	h.t.Helper()
	u, _ := h.user()
	return u
}

// memberRoles lists members as "email:role", in the store's order.
func memberRoles(members []model.Member) []string {
	out := make([]string, len(members))
	for i, m := range members {
		out[i] = m.Email + ":" + m.Role
	}
	return out
}

// byEmail sorts "email:role" entries by email.
func byEmail(entries ...string) []string {
	slices.Sort(entries)
	return entries
}

func testListAccountMembers(t *testing.T, h *harness) {
	owner, a := h.user()
	v, w := h.userOnly(), h.userOnly()
	h.member(a, w, roles.AccountAdmin)
	h.member(a, v, roles.AccountMember)
	got, err := h.s.ListAccountMembers(h.ctx, a.ID)
	h.must(err, "list account members")
	want := byEmail(owner.Email+":"+roles.AccountOwner, v.Email+":"+roles.AccountMember, w.Email+":"+roles.AccountAdmin)
	if !slices.Equal(memberRoles(got), want) {
		t.Errorf("members %v, want %v", memberRoles(got), want)
	}
	for _, m := range got {
		if m.ID == uuid.Nil || m.Handle == "" {
			t.Errorf("member without its user: %+v", m)
		}
	}
	if got, err := h.s.ListAccountMembers(h.ctx, newID()); err != nil || len(got) != 0 {
		t.Errorf("members of an unknown account: %v (%v)", got, err)
	}
}

func testChangeAccountMember(t *testing.T, h *harness) {
	owner, a := h.user()
	_, b := h.user()
	v := h.userOnly()
	h.member(a, v, roles.AccountMember)
	// decide sees the membership as it is: the actor's role, the user's,
	// and the number of owners.
	var seen store.AccountMembership
	h.must(h.s.ChangeAccountMember(h.ctx, a.ID, owner.ID, v.ID, func(m store.AccountMembership) (string, error) {
		seen = m
		return roles.AccountAdmin, nil // a second change sets the role
	}), "change the role")
	if want := (store.AccountMembership{ActorRole: roles.AccountOwner, Role: roles.AccountMember, Owners: 1}); seen != want {
		t.Errorf("decide saw %+v, want %+v", seen, want)
	}
	got, err := h.s.ListAccountMembers(h.ctx, a.ID)
	h.must(err, "list account members")
	want := byEmail(owner.Email+":"+roles.AccountOwner, v.Email+":"+roles.AccountAdmin)
	if !slices.Equal(memberRoles(got), want) {
		t.Errorf("members %v, want %v", memberRoles(got), want)
	}
	if role, err := h.s.AccountRole(h.ctx, b.ID, v.ID); err != nil || role != "" {
		t.Errorf("membership leaked to another account: %q (%v)", role, err)
	}
	// A refusal changes nothing.
	no := apperr.Errorf(apperr.EConflict, "no")
	if err := h.s.ChangeAccountMember(h.ctx, a.ID, owner.ID, v.ID, func(store.AccountMembership) (string, error) { return "", no }); err != no {
		t.Errorf("a refused change answered %v, want decide's error", err)
	}
	if role, err := h.s.AccountRole(h.ctx, a.ID, v.ID); err != nil || role != roles.AccountAdmin {
		t.Errorf("role after a refused change %q (%v)", role, err)
	}
	h.wantNotFound(h.s.ChangeAccountMember(h.ctx, newID(), owner.ID, v.ID, func(store.AccountMembership) (string, error) { return roles.AccountMember, nil }),
		"change a member of an unknown account")

	// Removing a member (decide returns "") leaves the account and its
	// workspaces, and nothing else.
	h.member(b, v, roles.AccountMember)
	wa, wb := h.workspaceIn(a, nil), h.workspaceIn(b, nil)
	h.must(h.s.SetWorkspaceMember(h.ctx, wa.ID, v.ID, roles.WorkspaceDeveloper), "set workspace member")
	h.must(h.s.SetWorkspaceMember(h.ctx, wb.ID, v.ID, roles.WorkspaceDeveloper), "set workspace member")

	h.must(h.leave(a, v), "remove account member")
	if role, err := h.s.AccountRole(h.ctx, a.ID, v.ID); err != nil || role != "" {
		t.Errorf("role after removal %q (%v)", role, err)
	}
	if role, err := h.s.WorkspaceRole(h.ctx, v.ID, wa.ID); err != nil || role != "" {
		t.Errorf("role in the account's workspace after removal %q (%v)", role, err)
	}
	if role, err := h.s.WorkspaceRole(h.ctx, v.ID, wb.ID); err != nil || role != roles.WorkspaceDeveloper {
		t.Errorf("role in another account's workspace after removal %q (%v)", role, err)
	}
	if role, err := h.s.AccountRole(h.ctx, b.ID, v.ID); err != nil || role != roles.AccountMember {
		t.Errorf("role in another account after removal %q (%v)", role, err)
	}
}

func testListWorkspaceMembers(t *testing.T, h *harness) {
	_, a := h.user()
	ws, other := h.workspaceIn(a, nil), h.workspaceIn(a, nil)
	v, w := h.userOnly(), h.userOnly()
	h.member(a, v, roles.AccountMember)
	h.member(a, w, roles.AccountMember)
	h.must(h.s.SetWorkspaceMember(h.ctx, ws.ID, w.ID, roles.WorkspaceViewer), "set workspace member")
	h.must(h.s.SetWorkspaceMember(h.ctx, ws.ID, v.ID, roles.WorkspaceDeveloper), "set workspace member")
	h.must(h.s.SetWorkspaceMember(h.ctx, other.ID, v.ID, roles.WorkspaceRunner), "set workspace member")
	// Direct members only: the account's owner reaches it, but is not one.
	got, err := h.s.ListWorkspaceMembers(h.ctx, ws.ID)
	h.must(err, "list workspace members")
	want := byEmail(v.Email+":"+roles.WorkspaceDeveloper, w.Email+":"+roles.WorkspaceViewer)
	if !slices.Equal(memberRoles(got), want) {
		t.Errorf("members %v, want %v", memberRoles(got), want)
	}
}

func testSetWorkspaceMember(t *testing.T, h *harness) {
	_, a := h.user()
	ws, other := h.workspaceIn(a, nil), h.workspaceIn(a, nil)
	v := h.userOnly()
	h.member(a, v, roles.AccountMember)
	h.must(h.s.SetWorkspaceMember(h.ctx, ws.ID, v.ID, roles.WorkspaceViewer), "set workspace member")
	h.must(h.s.SetWorkspaceMember(h.ctx, ws.ID, v.ID, roles.WorkspaceRunner), "change the role")
	if got, err := h.s.ListWorkspaceMembers(h.ctx, ws.ID); err != nil || !slices.Equal(memberRoles(got), []string{v.Email + ":" + roles.WorkspaceRunner}) {
		t.Errorf("members after a role change: %v (%v)", memberRoles(got), err)
	}
	if role, err := h.s.WorkspaceRole(h.ctx, v.ID, ws.ID); err != nil || role != roles.WorkspaceRunner {
		t.Errorf("role %q (%v)", role, err)
	}
	if role, err := h.s.WorkspaceRole(h.ctx, v.ID, other.ID); err != nil || role != "" {
		t.Errorf("role leaked to another workspace: %q (%v)", role, err)
	}
}

// Only a member of the workspace's account joins it; anyone else is not
// found, and nothing changes.
func testSetWorkspaceMemberInAccount(t *testing.T, h *harness) {
	_, a := h.user()
	_, b := h.user()
	ws := h.workspaceIn(a, nil)
	inside, outside := h.userOnly(), h.userOnly()
	h.member(a, inside, roles.AccountMember)
	h.member(b, outside, roles.AccountMember)
	h.must(h.s.SetWorkspaceMemberInAccount(h.ctx, ws.ID, inside.ID, roles.WorkspaceRunner), "add an account member")
	if role, err := h.s.WorkspaceRole(h.ctx, inside.ID, ws.ID); err != nil || role != roles.WorkspaceRunner {
		t.Errorf("account member's role %q (%v)", role, err)
	}
	h.wantNotFound(h.s.SetWorkspaceMemberInAccount(h.ctx, ws.ID, outside.ID, roles.WorkspaceRunner), "add a user of another account")
	h.wantNotFound(h.s.SetWorkspaceMemberInAccount(h.ctx, ws.ID, newID(), roles.WorkspaceRunner), "add an unknown user")
	h.wantNotFound(h.s.SetWorkspaceMemberInAccount(h.ctx, newID(), inside.ID, roles.WorkspaceRunner), "add to an unknown workspace")
	if got, err := h.s.ListWorkspaceMembers(h.ctx, ws.ID); err != nil || !slices.Equal(memberRoles(got), []string{inside.Email + ":" + roles.WorkspaceRunner}) {
		t.Errorf("members %v (%v), want only the account member", memberRoles(got), err)
	}
}

func testRemoveWorkspaceMember(t *testing.T, h *harness) {
	_, a := h.user()
	ws, other := h.workspaceIn(a, nil), h.workspaceIn(a, nil)
	v := h.userOnly()
	h.member(a, v, roles.AccountMember)
	h.must(h.s.SetWorkspaceMember(h.ctx, ws.ID, v.ID, roles.WorkspaceViewer), "set workspace member")
	h.must(h.s.SetWorkspaceMember(h.ctx, other.ID, v.ID, roles.WorkspaceViewer), "set workspace member")
	h.must(h.s.RemoveWorkspaceMember(h.ctx, ws.ID, v.ID), "remove workspace member")
	if role, err := h.s.WorkspaceRole(h.ctx, v.ID, ws.ID); err != nil || role != "" {
		t.Errorf("role after removal %q (%v)", role, err)
	}
	if role, err := h.s.WorkspaceRole(h.ctx, v.ID, other.ID); err != nil || role != roles.WorkspaceViewer {
		t.Errorf("role in another workspace after removal %q (%v)", role, err)
	}
	if role, err := h.s.AccountRole(h.ctx, a.ID, v.ID); err != nil || role != roles.AccountMember {
		t.Errorf("account role after leaving a workspace %q (%v)", role, err)
	}
	h.wantNotFound(h.s.RemoveWorkspaceMember(h.ctx, ws.ID, v.ID), "remove again")
}

// apiKey creates a key of user.
func (h *harness) apiKey(user uuid.UUID, expires *model.Time) *model.APIKey {
	h.t.Helper()
	k := &model.APIKey{UserID: user, Name: unique("key"), Prefix: unique("pfx"), Hash: unique("hash"), Expires: expires}
	h.must(h.s.CreateAPIKey(h.ctx, k), "create api key")
	return k
}

// sameKey reports whether got is want as stored.
func sameKey(got, want *model.APIKey) bool {
	return got.ID == want.ID && got.UserID == want.UserID && got.Name == want.Name && got.Prefix == want.Prefix &&
		got.Hash == want.Hash && eqTime(got.Expires, want.Expires) && got.Created.Equal(want.Created.Time) &&
		eqTime(got.LastUsed, want.LastUsed)
}

func testCreateAPIKey(t *testing.T, h *harness) {
	u := h.userOnly()
	expires := model.At(time.Now().Add(time.Hour))
	k := h.apiKey(u.ID, &expires)
	if k.ID == uuid.Nil || k.Created.IsZero() {
		t.Errorf("created key %+v", k)
	}
	got, err := h.s.GetAPIKeyByPrefix(h.ctx, k.Prefix)
	h.must(err, "get api key")
	if !sameKey(got, k) {
		t.Errorf("stored key %+v, want %+v", got, k)
	}
	forever := h.apiKey(u.ID, nil)
	if got, err := h.s.GetAPIKeyByPrefix(h.ctx, forever.Prefix); err != nil || got.Expires != nil || got.LastUsed != nil {
		t.Errorf("a key without expiry: %+v (%v)", got, err)
	}
	// Keys are found by prefix, so a taken prefix is refused.
	dup := &model.APIKey{UserID: u.ID, Name: "dup", Prefix: k.Prefix, Hash: "other"}
	if err := h.s.CreateAPIKey(h.ctx, dup); err == nil {
		t.Error("a second key with a taken prefix was created")
	}
	if got, err := h.s.GetAPIKeyByPrefix(h.ctx, k.Prefix); err != nil || !sameKey(got, k) {
		t.Errorf("the key after a refused duplicate: %+v (%v)", got, err)
	}
}

func testGetAPIKeyByPrefix(t *testing.T, h *harness) {
	u := h.userOnly()
	k, other := h.apiKey(u.ID, nil), h.apiKey(u.ID, nil)
	for _, want := range []*model.APIKey{k, other} {
		if got, err := h.s.GetAPIKeyByPrefix(h.ctx, want.Prefix); err != nil || !sameKey(got, want) {
			t.Errorf("key %s: %+v (%v)", want.Prefix, got, err)
		}
	}
	_, err := h.s.GetAPIKeyByPrefix(h.ctx, unique("nope"))
	h.wantNotFound(err, "an unknown prefix")
}

func testListAPIKeys(t *testing.T, h *harness) {
	u, v := h.userOnly(), h.userOnly()
	k1 := h.apiKey(u.ID, nil)
	kv := h.apiKey(v.ID, nil)
	k2 := h.apiKey(u.ID, nil)
	k3 := h.apiKey(u.ID, nil)
	names := map[uuid.UUID]string{k1.ID: "k1", k2.ID: "k2", k3.ID: "k3", kv.ID: "kv"}
	id := func(k *model.APIKey) uuid.UUID { return k.ID }
	checkList(h, names, id, func(user uuid.UUID) ([]*model.APIKey, error) { return h.s.ListAPIKeys(h.ctx, user) }, nil,
		[]listCase[uuid.UUID]{
			{name: "newest first", q: u.ID, want: ids(k3.ID, k2.ID, k1.ID)},
			{name: "another user's", q: v.ID, want: ids(kv.ID)},
			{name: "a stranger's", q: newID()},
		})
	got, err := h.s.ListAPIKeys(h.ctx, u.ID)
	h.must(err, "list api keys")
	if len(got) == 3 && !sameKey(got[2], k1) {
		t.Errorf("listed key %+v, want %+v", got[2], k1)
	}
}

func testDeleteAPIKey(t *testing.T, h *harness) {
	u, v := h.userOnly(), h.userOnly()
	k, keep := h.apiKey(u.ID, nil), h.apiKey(u.ID, nil)
	h.wantNotFound(h.s.DeleteAPIKey(h.ctx, v.ID, k.ID), "delete another user's key")
	if _, err := h.s.GetAPIKeyByPrefix(h.ctx, k.Prefix); err != nil {
		t.Errorf("another user deleted the key: %v", err)
	}
	h.must(h.s.DeleteAPIKey(h.ctx, u.ID, k.ID), "delete api key")
	_, err := h.s.GetAPIKeyByPrefix(h.ctx, k.Prefix)
	h.wantNotFound(err, "a deleted key")
	if got, err := h.s.ListAPIKeys(h.ctx, u.ID); err != nil || len(got) != 1 || got[0].ID != keep.ID {
		t.Errorf("keys left: %+v (%v)", got, err)
	}
	h.wantNotFound(h.s.DeleteAPIKey(h.ctx, u.ID, k.ID), "delete it again")
}

func testTouchAPIKey(t *testing.T, h *harness) {
	u := h.userOnly()
	k, other := h.apiKey(u.ID, nil), h.apiKey(u.ID, nil)
	for _, at := range []model.Time{model.At(time.Now().Add(-time.Minute)), model.Now()} {
		h.must(h.s.TouchAPIKey(h.ctx, k.ID, at), "touch api key")
		got, err := h.s.GetAPIKeyByPrefix(h.ctx, k.Prefix)
		h.must(err, "get api key")
		if got.LastUsed == nil || !got.LastUsed.Equal(at.Time) {
			t.Errorf("last used %v, want %v", got.LastUsed, at)
		}
	}
	if got, err := h.s.GetAPIKeyByPrefix(h.ctx, other.Prefix); err != nil || got.LastUsed != nil {
		t.Errorf("touching one key touched another: %+v (%v)", got, err)
	}
}

// session creates a session of user expiring at expires.
func (h *harness) session(user uuid.UUID, expires time.Time) *model.Session {
	h.t.Helper()
	s := &model.Session{ID: unique("session"), UserID: user, CSRF: unique("csrf"), Expires: model.At(expires)}
	h.must(h.s.CreateSession(h.ctx, s), "create session")
	return s
}

func testCreateSession(t *testing.T, h *harness) {
	u := h.userOnly()
	s := h.session(u.ID, time.Now().Add(time.Hour))
	got, err := h.s.GetSession(h.ctx, s.ID)
	if err != nil || got.ID != s.ID || got.UserID != u.ID || got.CSRF != s.CSRF || !got.Expires.Equal(s.Expires.Time) {
		t.Errorf("stored session %+v (%v), want %+v", got, err, s)
	}
	dup := &model.Session{ID: s.ID, UserID: u.ID, CSRF: "other", Expires: model.At(time.Now().Add(time.Hour))}
	if err := h.s.CreateSession(h.ctx, dup); err == nil {
		t.Error("a second session with a taken id was created")
	}
	if got, err := h.s.GetSession(h.ctx, s.ID); err != nil || got.CSRF != s.CSRF {
		t.Errorf("the session after a refused duplicate: %+v (%v)", got, err)
	}
}

func testGetSession(t *testing.T, h *harness) {
	u := h.userOnly()
	live := h.session(u.ID, time.Now().Add(time.Hour))
	expired := h.session(u.ID, time.Now().Add(-time.Second))
	if got, err := h.s.GetSession(h.ctx, live.ID); err != nil || got.UserID != u.ID {
		t.Errorf("a live session: %+v (%v)", got, err)
	}
	_, err := h.s.GetSession(h.ctx, expired.ID)
	h.wantNotFound(err, "an expired session")
	_, err = h.s.GetSession(h.ctx, unique("nope"))
	h.wantNotFound(err, "an unknown session")
}

func testDeleteSession(t *testing.T, h *harness) {
	u := h.userOnly()
	s, keep := h.session(u.ID, time.Now().Add(time.Hour)), h.session(u.ID, time.Now().Add(time.Hour))
	h.must(h.s.DeleteSession(h.ctx, s.ID), "delete session")
	_, err := h.s.GetSession(h.ctx, s.ID)
	h.wantNotFound(err, "a deleted session")
	// Signing out twice is harmless.
	h.must(h.s.DeleteSession(h.ctx, s.ID), "delete it again")
	if _, err := h.s.GetSession(h.ctx, keep.ID); err != nil {
		t.Errorf("deleting one session deleted another: %v", err)
	}
}
