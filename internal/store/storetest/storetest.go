// Package storetest is the conformance suite of store.Store: the contract of
// every method (happy path, not found, conflicts, filters, sorts, paging and
// workspace scoping), run the same way against every implementation.
// sqlstore's TestConformance runs it on SQLite and on PostgreSQL.
//
// A new store method joins the suite in contracts below, in the same change
// that adds it to store.Store: Exercise (and TestConformanceCoversStore)
// fails while a method has no contract.
package storetest

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	clocks "github.com/praetorhq/praetor/internal/clock"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/store"
)

// contract tests one store method. It runs against a store shared with the
// other contracts, so it works in workspaces, users and accounts it creates
// itself (h.workspace, h.user): every row of the schema belongs to one of
// them, which isolates contracts from each other without a database each.
type contract func(t *testing.T, h *harness)

// contracts maps every method of store.Store to its contract. To add one:
// name the method here, and write its contract in the file of its interface
// (flows.go for Flows, …). A contract works in a workspace of its own
// (h.ws(); h.ws() again for "another workspace") and checks the happy path,
// not found (h.wantNotFound), conflicts and bad input (h.wantCode), and that
// another workspace can neither see nor change the rows; a list method gets
// a table of queries with their answers in order (checkList), which its
// count method, if any, must agree with. It may use other methods to set up
// and check, but it is about its own method.
var contracts = map[string]contract{
	// Store
	"Engine": testEngine,
	"Ping":   testPing,
	"Close":  testClose,

	// Workspaces
	"DefaultWorkspace":            testDefaultWorkspace,
	"GetWorkspace":                testGetWorkspace,
	"GetWorkspaceByID":            testGetWorkspaceByID,
	"GetWorkspaceByHandle":        testGetWorkspaceByHandle,
	"ClaimDefaultAccount":         testClaimDefaultAccount,
	"CreateUser":                  testCreateUser,
	"GetUser":                     testGetUser,
	"GetUserByEmail":              testGetUserByEmail,
	"GetAccount":                  testGetAccount,
	"GetAccountByHandle":          testGetAccountByHandle,
	"ListAccounts":                testListAccounts,
	"AccountRole":                 testAccountRole,
	"CreateWorkspace":             testCreateWorkspace,
	"UpdateWorkspace":             testUpdateWorkspace,
	"DeleteWorkspace":             testDeleteWorkspace,
	"ListWorkspaces":              testListWorkspaces,
	"WorkspaceRole":               testWorkspaceRole,
	"WorkspaceAccess":             testWorkspaceAccess,
	"ListAccountMembers":          testListAccountMembers,
	"ChangeAccountMember":         testChangeAccountMember,
	"ListWorkspaceMembers":        testListWorkspaceMembers,
	"SetWorkspaceMember":          testSetWorkspaceMember,
	"SetWorkspaceMemberInAccount": testSetWorkspaceMemberInAccount,
	"RemoveWorkspaceMember":       testRemoveWorkspaceMember,
	"CreateAPIKey":                testCreateAPIKey,
	"GetAPIKeyByPrefix":           testGetAPIKeyByPrefix,
	"ListAPIKeys":                 testListAPIKeys,
	"DeleteAPIKey":                testDeleteAPIKey,
	"TouchAPIKey":                 testTouchAPIKey,
	"CreateSession":               testCreateSession,
	"GetSession":                  testGetSession,
	"DeleteSession":               testDeleteSession,

	// Invitations
	"CreateInvitation":     testCreateInvitation,
	"ListInvitations":      testListInvitations,
	"GetInvitationByToken": testGetInvitationByToken,
	"RevokeInvitation":     testRevokeInvitation,
	"AcceptInvitation":     testAcceptInvitation,

	// AuditLog
	"RecordFailedSignIn": testRecordFailedSignIn,
	"ListAuditLog":       testListAuditLog,
	"PruneAuditLog":      testPruneAuditLog,

	// Identities
	"GetUserByIdentity":      testGetUserByIdentity,
	"CreateUserWithIdentity": testCreateUserWithIdentity,
	"LinkIdentity":           testLinkIdentity,
	"ListIdentities":         testListIdentities,
	"CreateSSOLogin":         testCreateSSOLogin,
	"TakeSSOLogin":           testTakeSSOLogin,
	"SetAccountSSORequired":  testSetAccountSSORequired,
	"AccountSSORequired":     testAccountSSORequired,
	"UserSSORequired":        testUserSSORequired,
	// ServiceAccounts
	"CreateServiceAccount":    testCreateServiceAccount,
	"ListServiceAccounts":     testListServiceAccounts,
	"GetServiceAccount":       testGetServiceAccount,
	"RenameServiceAccount":    testRenameServiceAccount,
	"DeleteServiceAccount":    testDeleteServiceAccount,
	"RotateServiceAccountKey": testRotateServiceAccountKey,

	// Teams
	"CreateTeam":           testCreateTeam,
	"ListTeams":            testListTeams,
	"GetTeam":              testGetTeam,
	"UpdateTeam":           testUpdateTeam,
	"DeleteTeam":           testDeleteTeam,
	"AddTeamMember":        testAddTeamMember,
	"RemoveTeamMember":     testRemoveTeamMember,
	"SetTeamWorkspaceRole": testSetTeamWorkspaceRole,

	// Flows
	"UpsertFlow":    testUpsertFlow,
	"GetFlow":       testGetFlow,
	"GetFlowByName": testGetFlowByName,
	"ListFlows":     testListFlows,
	"CountFlows":    testCountFlows,
	"UpdateFlow":    testUpdateFlow,
	"DeleteFlows":   testDeleteFlows,

	// FlowRuns
	"CreateFlowRun":      testCreateFlowRun,
	"GetFlowRun":         testGetFlowRun,
	"ListFlowRuns":       testListFlowRuns,
	"CountFlowRuns":      testCountFlowRuns,
	"UpdateFlowRun":      testUpdateFlowRun,
	"DeleteFlowRuns":     testDeleteFlowRuns,
	"SetFlowRunState":    testSetFlowRunState,
	"ResumeFlowRun":      testResumeFlowRun,
	"OrchestrateFlowRun": testOrchestrateFlowRun,
	"ListFlowRunStates":  testListFlowRunStates,
	"GetFlowRunState":    testGetFlowRunState,

	// TaskRuns
	"CreateTaskRun":       testCreateTaskRun,
	"GetTaskRun":          testGetTaskRun,
	"ListTaskRuns":        testListTaskRuns,
	"CountTaskRuns":       testCountTaskRuns,
	"UpdateTaskRun":       testUpdateTaskRun,
	"DeleteTaskRun":       testDeleteTaskRun,
	"SetTaskRunState":     testSetTaskRunState,
	"ListTaskRunStates":   testListTaskRunStates,
	"ListTaskRunStatesOf": testListTaskRunStatesOf,
	"GetTaskRunState":     testGetTaskRunState,

	// Logs
	"CreateLogs": testCreateLogs,
	"ListLogs":   testListLogs,

	// Events
	"IngestEvents": testIngestEvents,
	"ListEvents":   testListEvents,

	// Variables
	"CreateVariable":    testCreateVariable,
	"GetVariable":       testGetVariable,
	"GetVariableByName": testGetVariableByName,
	"ListVariables":     testListVariables,
	"CountVariables":    testCountVariables,
	"UpdateVariable":    testUpdateVariable,
	"DeleteVariable":    testDeleteVariable,

	// Blocks
	"CreateBlockType":          testCreateBlockType,
	"GetBlockType":             testGetBlockType,
	"GetBlockTypeBySlug":       testGetBlockTypeBySlug,
	"ListBlockTypes":           testListBlockTypes,
	"UpdateBlockType":          testUpdateBlockType,
	"DeleteBlockType":          testDeleteBlockType,
	"CreateBlockSchema":        testCreateBlockSchema,
	"GetBlockSchema":           testGetBlockSchema,
	"GetBlockSchemaByChecksum": testGetBlockSchemaByChecksum,
	"ListBlockSchemas":         testListBlockSchemas,
	"DeleteBlockSchema":        testDeleteBlockSchema,
	"ListBlockCapabilities":    testListBlockCapabilities,
	"CreateBlockDocument":      testCreateBlockDocument,
	"GetBlockDocument":         testGetBlockDocument,
	"GetBlockDocumentByName":   testGetBlockDocumentByName,
	"ListBlockDocuments":       testListBlockDocuments,
	"CountBlockDocuments":      testCountBlockDocuments,
	"UpdateBlockDocument":      testUpdateBlockDocument,
	"DeleteBlockDocument":      testDeleteBlockDocument,
	"ResealBlockDocuments":     testResealBlockDocuments,
	"ResultStorage":            testResultStorage,
	"SetResultStorage":         testResultStorage,
	// FlowRunInputs
	"CreateFlowRunInput": testCreateFlowRunInput,
	"GetFlowRunInput":    testGetFlowRunInput,
	"ListFlowRunInputs":  testListFlowRunInputs,
	"DeleteFlowRunInput": testDeleteFlowRunInput,

	// Artifacts
	"CreateArtifact": testCreateArtifact,
	"GetArtifact":    testGetArtifact,
	"ListArtifacts":  testListArtifacts,
	"CountArtifacts": testCountArtifacts,
	"UpdateArtifact": testUpdateArtifact,
	"DeleteArtifact": testDeleteArtifact,

	// RunStats
	"CountFlowRunsByState": testCountFlowRunsByState,
	"CountTaskRunsByState": testCountTaskRunsByState,
	"CountFlowRunsUpTo":    testCountFlowRunsUpTo,
	"CountFlowRunsByFlow":  testCountFlowRunsByFlow,

	// Deployments
	"UpsertDeployment":    testUpsertDeployment,
	"GetDeployment":       testGetDeployment,
	"GetDeploymentByName": testGetDeploymentByName,
	"ListDeployments":     testListDeployments,
	"CountDeployments":    testCountDeployments,
	"UpdateDeployment":    testUpdateDeployment,
	"DeleteDeployments":   testDeleteDeployments,
	"PollDeployments":     testPollDeployments,

	// Scheduling
	"SchedulableDeployments":  testSchedulableDeployments,
	"CreateScheduledRuns":     testCreateScheduledRuns,
	"LateRuns":                testLateRuns,
	"CatchUpDeployments":      testCatchUpDeployments,
	"DueRuns":                 testDueRuns,
	"MarkDeploymentsNotReady": testMarkDeploymentsNotReady,
	"FlowRunHistory":          testFlowRunHistory,
	"RunHistory":              testRunHistory,
	"CountEvents":             testCountEvents,
	"UpsertSavedSearch":       testUpsertSavedSearch,
	"GetSavedSearch":          testGetSavedSearch,
	"ListSavedSearches":       testListSavedSearches,
	"DeleteSavedSearch":       testDeleteSavedSearch,

	// Automations
	"CreateAutomation":         testCreateAutomation,
	"GetAutomation":            testGetAutomation,
	"ListAutomations":          testListAutomations,
	"CountAutomations":         testCountAutomations,
	"UpdateAutomation":         testUpdateAutomation,
	"SetAutomationEnabled":     testSetAutomationEnabled,
	"DeleteAutomation":         testDeleteAutomation,
	"AutomationsRelatedTo":     testAutomationsRelatedTo,
	"DeleteAutomationsOwnedBy": testDeleteAutomationsOwnedBy,
	"ListTriggeredActions":     testListTriggeredActions,
	"EvaluateQueuedEvents":     testEvaluateQueuedEvents,
	"EvaluateProactive":        testEvaluateProactive,
	"DueActions":               testDueActions,
	"RecordAction":             testRecordAction,

	// WorkPools
	"CreateWorkPool":     testCreateWorkPool,
	"GetWorkPool":        testGetWorkPool,
	"ListWorkPools":      testListWorkPools,
	"CountWorkPools":     testCountWorkPools,
	"UpdateWorkPool":     testUpdateWorkPool,
	"DeleteWorkPool":     testDeleteWorkPool,
	"CreateWorkQueue":    testCreateWorkQueue,
	"GetWorkQueue":       testGetWorkQueue,
	"GetWorkQueueByName": testGetWorkQueueByName,
	"ListWorkQueues":     testListWorkQueues,
	"UpdateWorkQueue":    testUpdateWorkQueue,
	"DeleteWorkQueue":    testDeleteWorkQueue,
	"WorkerHeartbeat":    testWorkerHeartbeat,
	"ListWorkers":        testListWorkers,
	"DeleteWorker":       testDeleteWorker,
	"PollWorkPool":       testPollWorkPool,
	"PollWorkQueue":      testPollWorkQueue,
	"WorkQueueSlots":     testWorkQueueSlots,
	"WorkPoolSlots":      testWorkPoolSlots,

	// Foreman
	"MarkWorkersOffline": testMarkWorkersOffline,
	"MarkPoolsNotReady":  testMarkPoolsNotReady,
	"MarkQueuesNotReady": testMarkQueuesNotReady,

	// Unresponsive
	"UnresponsiveRuns":     testUnresponsiveRuns,
	"CrashUnresponsiveRun": testCrashUnresponsiveRun,

	// Pauses
	"ExpiredPauses": testExpiredPauses,
	// ConcurrencyLimits
	"CreateConcurrencyLimit":    testCreateConcurrencyLimit,
	"GetConcurrencyLimit":       testGetConcurrencyLimit,
	"GetConcurrencyLimitByName": testGetConcurrencyLimitByName,
	"ListConcurrencyLimits":     testListConcurrencyLimits,
	"UpdateConcurrencyLimit":    testUpdateConcurrencyLimit,
	"DeleteConcurrencyLimit":    testDeleteConcurrencyLimit,
	"AcquireConcurrencySlots":   testAcquireConcurrencySlots,
	"ReleaseConcurrencySlots":   testReleaseConcurrencySlots,
	"ReleaseConcurrencyLease":   testReleaseConcurrencyLease,
	"RenewConcurrencyLease":     testRenewConcurrencyLease,
	"ListConcurrencyLeases":     testListConcurrencyLeases,
	"ResetConcurrencyLimit":     testResetConcurrencyLimit,
	"ExpireConcurrencyLeases":   testExpireConcurrencyLeases,
}

// Uncovered returns the methods of store.Store without a contract, and the
// contracts named after no method (a typo or a removed method), sorted.
func Uncovered() (missing, unknown []string) {
	typ := reflect.TypeFor[store.Store]()
	methods := map[string]bool{}
	for i := range typ.NumMethod() {
		name := typ.Method(i).Name
		methods[name] = true
		if contracts[name] == nil {
			missing = append(missing, name)
		}
	}
	for name := range contracts {
		if !methods[name] {
			unknown = append(unknown, name)
		}
	}
	slices.Sort(missing)
	slices.Sort(unknown)
	return missing, unknown
}

// checkCoverage fails t unless every store method has a contract.
func checkCoverage(t testing.TB) {
	t.Helper()
	missing, unknown := Uncovered()
	if len(missing) > 0 {
		t.Errorf("store.Store methods without a contract in storetest (add one to contracts): %s", strings.Join(missing, ", "))
	}
	if len(unknown) > 0 {
		t.Errorf("storetest contracts that name no store.Store method: %s", strings.Join(unknown, ", "))
	}
}

// Exercise runs every contract against one store from open, each as a
// parallel subtest named after its method. open must return a new store on
// an empty, migrated database, each time it is called, whose time is c's;
// Exercise closes the stores it opens. The few contracts that need a
// database of their own (DefaultWorkspace, Ping, Close, or a clock they
// move) call open again.
func Exercise(t *testing.T, openAt func(t *testing.T, c clocks.Clock) store.Store) {
	t.Helper()
	checkCoverage(t)
	if t.Failed() {
		return
	}
	open := func(t *testing.T) store.Store { return openAt(t, clocks.Real) }
	s := openStore(t, open)
	names := slices.Sorted(maps.Keys(contracts))
	// One group, so the shared store closes after every contract finished.
	t.Run("contracts", func(t *testing.T) {
		for _, name := range names {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				contracts[name](t, &harness{t: t, s: s, ctx: t.Context(), openAt: openAt})
			})
		}
	})
}

// openStore opens a store and closes it when t ends, failing t if closing
// fails.
func openStore(t *testing.T, open func(t *testing.T) store.Store) store.Store {
	t.Helper()
	s := open(t)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return s
}

// harness is what a contract works with: the shared store, and helpers that
// create what a contract needs in it, failing the contract on an error.
type harness struct {
	t   *testing.T
	s   store.Store
	ctx context.Context
	// openAt opens a store of its own whose time is a clock's.
	openAt func(t *testing.T, c clocks.Clock) store.Store
}

// open opens a store of its own on the real clock.
func (h *harness) open(t *testing.T) store.Store { return h.openAt(t, clocks.Real) }

// fresh returns a store of its own on an empty database, closed when the
// contract ends.
func (h *harness) fresh() store.Store {
	h.t.Helper()
	return openStore(h.t, h.open)
}

// freshAt returns a harness on a store of its own whose time is c's, for
// a contract that moves time rather than sleeps.
func (h *harness) freshAt(t *testing.T, c clocks.Clock) *harness {
	t.Helper()
	s := openStore(t, func(t *testing.T) store.Store { return h.openAt(t, c) })
	return &harness{t: t, s: s, ctx: h.ctx, openAt: h.openAt}
}

// must fails the contract on err.
func (h *harness) must(err error, what string) {
	h.t.Helper()
	if err != nil {
		h.t.Fatalf("%s: %v", what, err)
	}
}

// wantCode checks that err is an application error with code.
func (h *harness) wantCode(err error, code apperr.Code, what string) {
	h.t.Helper()
	if got := apperr.ErrorCode(err); got != code {
		h.t.Errorf("%s: error %v (code %q), want code %q", what, err, got, code)
	}
}

// wantNotFound checks that err says the object does not exist.
func (h *harness) wantNotFound(err error, what string) {
	h.t.Helper()
	if !apperr.IsNotFound(err) {
		h.t.Errorf("%s: error %v, want not found", what, err)
	}
}

var seq atomic.Int64

// unique returns a name no other contract uses: lower-case letters, digits
// and dashes, as handles need.
func unique(prefix string) string {
	return fmt.Sprintf("%s-%d-%s", prefix, seq.Add(1), uuid.NewString()[:8])
}

// user creates a user, with the account they own.
func (h *harness) user() (*model.User, *model.Account) {
	h.t.Helper()
	handle := unique("u")
	u := &model.User{Email: handle + "@example.com", Handle: handle, DisplayName: "User " + handle}
	a := &model.Account{Handle: unique("acct"), Name: "Account " + handle}
	h.must(h.s.CreateUser(h.ctx, u, "hash-"+handle, a), "create user")
	return u, a
}

// workspace creates a workspace in a new account, owned by the account's
// owner.
func (h *harness) workspace() model.Workspace {
	h.t.Helper()
	u, a := h.user()
	return h.workspaceIn(a, &u.ID)
}

// ws returns the id of a new workspace.
func (h *harness) ws() uuid.UUID {
	h.t.Helper()
	return h.workspace().ID
}

// flow creates a flow.
func (h *harness) flow(ws uuid.UUID, name string, tags ...string) *model.Flow {
	h.t.Helper()
	f := &model.Flow{Name: name, Tags: tags}
	created, err := h.s.UpsertFlow(h.ctx, ws, f)
	h.must(err, "upsert flow "+name)
	if !created {
		h.t.Fatalf("flow %s already existed", name)
	}
	return f
}

// flowRun creates a flow run named name in initial state, after edit (if
// any) changed the run to create.
func (h *harness) flowRun(ws, flow uuid.UUID, name string, initial model.StateCreate, edit ...func(*model.FlowRun)) *model.FlowRun {
	h.t.Helper()
	r := &model.FlowRun{ID: newID(), FlowID: flow, Name: name}
	for _, e := range edit {
		e(r)
	}
	created, err := h.s.CreateFlowRun(h.ctx, ws, r, initial)
	h.must(err, "create flow run "+name)
	if !created {
		h.t.Fatalf("flow run %s was not created", name)
	}
	return r
}

// taskRun creates a task run named name in flowRun (nil for none).
func (h *harness) taskRun(ws uuid.UUID, flowRun *uuid.UUID, name string, initial model.StateCreate, edit ...func(*model.TaskRun)) *model.TaskRun {
	h.t.Helper()
	r := &model.TaskRun{ID: newID(), FlowRunID: flowRun, Name: name, TaskKey: "task-" + name, DynamicKey: "0"}
	for _, e := range edit {
		e(r)
	}
	created, err := h.s.CreateTaskRun(h.ctx, ws, r, initial)
	h.must(err, "create task run "+name)
	if !created {
		h.t.Fatalf("task run %s was not created", name)
	}
	return r
}

// setFlowRunState proposes a state for a flow run and fails unless the store
// wrote it.
func (h *harness) setFlowRunState(ws, id uuid.UUID, s model.StateCreate, force bool) *model.State {
	h.t.Helper()
	res, err := h.s.SetFlowRunState(h.ctx, ws, id, s, force)
	h.must(err, "set flow run state")
	if !res.Written {
		h.t.Fatalf("set flow run state %s: %s, not written (%+v)", s.Type, res.Status, res.Details)
	}
	return res.State
}

// setTaskRunState proposes a state for a task run and fails unless the store
// wrote it.
func (h *harness) setTaskRunState(ws, id uuid.UUID, s model.StateCreate, force bool) *model.State {
	h.t.Helper()
	res, err := h.s.SetTaskRunState(h.ctx, ws, id, s, force)
	h.must(err, "set task run state")
	if !res.Written {
		h.t.Fatalf("set task run state %s: %s, not written (%+v)", s.Type, res.Status, res.Details)
	}
	return res.State
}

// newID returns a time-ordered id, as the API gives new objects.
func newID() uuid.UUID { return uuid.Must(uuid.NewV7()) }
