// Package store defines Praetor's storage interface. Every method that reads or
// writes workspace data takes the workspace id as a required argument, so a
// query cannot forget its tenant. Implementations live in sqlstore.
package store

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/apperr"
	"github.com/praetorhq/praetor/internal/model"
	"github.com/praetorhq/praetor/internal/orchestration"
)

// Store is the whole persistence surface of the server.
//
// Every method has a contract in the conformance suite (storetest), which
// runs on both engines: a method added here needs its entry in storetest's
// contracts, or TestConformance fails.
type Store interface {
	Engine() string
	Ping(ctx context.Context) error
	Close() error

	Workspaces
	Identities
	ServiceAccounts
	Teams
	Flows
	FlowRuns
	TaskRuns
	Logs
	Events
	Variables
	SavedSearches
	Blocks
	FlowRunInputs
	Artifacts
	RunStats
	Deployments
	Scheduling
	WorkPools
	Foreman
	Unresponsive
	Pauses
	ConcurrencyLimits
	Automations
	AutomationEvaluation
	Invitations
	AuditLog
}

// Workspaces reads and writes tenancy: accounts, users, workspaces,
// memberships, API keys and sessions.
type Workspaces interface {
	// DefaultWorkspace returns the workspace anonymous /api routes serve,
	// creating it (and its account) on first use.
	DefaultWorkspace(ctx context.Context) (model.Workspace, error)
	GetWorkspace(ctx context.Context, accountID, workspaceID uuid.UUID) (model.Workspace, error)
	// GetWorkspaceByID returns a workspace of any account, for background
	// work that knows only the id (an automation's links to its pages).
	GetWorkspaceByID(ctx context.Context, workspaceID uuid.UUID) (model.Workspace, error)
	GetWorkspaceByHandle(ctx context.Context, accountHandle, workspaceHandle string) (model.Workspace, error)
	// ClaimDefaultAccount makes the user owner of the default workspace's
	// account if it and the default workspace have no members yet, and
	// reports whether it did; of concurrent claims exactly one succeeds.
	ClaimDefaultAccount(ctx context.Context, userID uuid.UUID) (bool, error)
	// CreateUser creates a user and the account they own, in one transaction.
	CreateUser(ctx context.Context, u *model.User, passwordHash string, account *model.Account) error
	GetUser(ctx context.Context, id uuid.UUID) (*model.User, error)
	// GetUserByEmail returns the user and their password hash.
	GetUserByEmail(ctx context.Context, email string) (*model.User, string, error)
	GetAccount(ctx context.Context, id uuid.UUID) (*model.Account, error)
	GetAccountByHandle(ctx context.Context, handle string) (*model.Account, error)
	// ListAccounts returns the accounts the user is a member of, with the
	// user's role in each.
	ListAccounts(ctx context.Context, userID uuid.UUID) ([]model.AccountAccess, error)
	// AccountRole is the user's role in the account, "" if not a member.
	AccountRole(ctx context.Context, accountID, userID uuid.UUID) (string, error)
	// CreateWorkspace creates a workspace; creator (if set) becomes its owner.
	CreateWorkspace(ctx context.Context, ws *model.Workspace, creator *uuid.UUID) error
	UpdateWorkspace(ctx context.Context, ws *model.Workspace) error
	DeleteWorkspace(ctx context.Context, accountID, workspaceID uuid.UUID) error
	// ListWorkspaces returns every workspace the user can reach, with the
	// user's effective role in each.
	ListWorkspaces(ctx context.Context, userID uuid.UUID) ([]model.WorkspaceAccess, error)
	// WorkspaceRole is the user's effective role in the workspace, "" if none.
	WorkspaceRole(ctx context.Context, userID, workspaceID uuid.UUID) (string, error)
	// WorkspaceAccess is WorkspaceRole of a workspace named with its
	// account, in one read: not found unless the account has it.
	WorkspaceAccess(ctx context.Context, userID, accountID, workspaceID uuid.UUID) (string, error)
	ListAccountMembers(ctx context.Context, accountID uuid.UUID) ([]model.Member, error)
	// ChangeAccountMember changes userID's membership of an account on
	// behalf of actorID, in one write transaction that holds the account
	// locked: decide sees the membership as it is then and returns the
	// user's new role, "" to remove them (and from the account's
	// workspaces), or an error that changes nothing. Rules such as "an
	// account keeps an owner" hold under concurrent changes only because
	// they are decided here.
	ChangeAccountMember(ctx context.Context, accountID, actorID, userID uuid.UUID, decide func(AccountMembership) (string, error)) error
	ListWorkspaceMembers(ctx context.Context, workspaceID uuid.UUID) ([]model.Member, error)
	// SetWorkspaceMember adds a member to a workspace or changes their
	// role, whoever they are.
	SetWorkspaceMember(ctx context.Context, workspaceID, userID uuid.UUID, role string) error
	// SetWorkspaceMemberInAccount is SetWorkspaceMember for a user who is a
	// member of the workspace's account, checked in the same transaction
	// (with the account locked, as ChangeAccountMember does), so a
	// concurrent removal from the account cannot leave them in the
	// workspace. For anyone else it changes nothing and is not found.
	SetWorkspaceMemberInAccount(ctx context.Context, workspaceID, userID uuid.UUID, role string) error
	RemoveWorkspaceMember(ctx context.Context, workspaceID, userID uuid.UUID) error

	CreateAPIKey(ctx context.Context, k *model.APIKey) error
	GetAPIKeyByPrefix(ctx context.Context, prefix string) (*model.APIKey, error)
	ListAPIKeys(ctx context.Context, userID uuid.UUID) ([]*model.APIKey, error)
	DeleteAPIKey(ctx context.Context, userID, id uuid.UUID) error
	TouchAPIKey(ctx context.Context, id uuid.UUID, at model.Time) error

	CreateSession(ctx context.Context, s *model.Session) error
	GetSession(ctx context.Context, id string) (*model.Session, error)
	DeleteSession(ctx context.Context, id string) error
}

// AccountMembership is what a change of one account membership is decided
// on: the acting user's role, the member's role ("" for none) and how many
// owners the account has.
type AccountMembership struct {
	ActorRole, Role string
	Owners          int
	// Service says the user is a service account (of any account), whose
	// membership is managed with it (ServiceAccounts), not as a person's.
	Service bool
}

// ServiceAccounts stores an account's service accounts: users (so keys and
// workspace memberships work for them as for anyone) that are members of
// one account, never with an owner's or admin's role, and never sign in.
type ServiceAccounts interface {
	// CreateServiceAccount creates the service account's user (with
	// passwordHash, of a secret nobody is told), its membership of the
	// account and its first key, in one transaction. It sets sa's and key's
	// ids and times.
	CreateServiceAccount(ctx context.Context, sa *model.ServiceAccount, passwordHash string, key *model.APIKey) error
	ListServiceAccounts(ctx context.Context, accountID uuid.UUID) ([]model.ServiceAccount, error)
	GetServiceAccount(ctx context.Context, accountID, id uuid.UUID) (*model.ServiceAccount, error)
	RenameServiceAccount(ctx context.Context, accountID, id uuid.UUID, name string) error
	// DeleteServiceAccount deletes it with its keys and memberships: its
	// keys stop working at once.
	DeleteServiceAccount(ctx context.Context, accountID, id uuid.UUID) error
	// RotateServiceAccountKey adds key (minted for the service account) and
	// makes each of its other keys expire at graceEnds at the latest, in
	// one transaction.
	RotateServiceAccountKey(ctx context.Context, accountID, id uuid.UUID, key *model.APIKey, graceEnds model.Time) error
}

// Teams stores an account's teams, their members (members of the account)
// and the workspace roles they give; WorkspaceRole and ListWorkspaces count
// those roles.
type Teams interface {
	CreateTeam(ctx context.Context, t *model.Team) error
	ListTeams(ctx context.Context, accountID uuid.UUID) ([]model.Team, error)
	// GetTeam returns a team with its members (with their account roles)
	// and workspace roles.
	GetTeam(ctx context.Context, accountID, id uuid.UUID) (*model.TeamDetail, error)
	UpdateTeam(ctx context.Context, t *model.Team) error
	DeleteTeam(ctx context.Context, accountID, id uuid.UUID) error
	// AddTeamMember adds a member of the team's account to it (anyone else
	// is not found), checked with the account locked.
	AddTeamMember(ctx context.Context, accountID, teamID, userID uuid.UUID) error
	RemoveTeamMember(ctx context.Context, accountID, teamID, userID uuid.UUID) error
	// SetTeamWorkspaceRole gives the team's members role in a workspace of
	// its account; "" takes the role away.
	SetTeamWorkspaceRole(ctx context.Context, accountID, teamID, workspaceID uuid.UUID, role string) error
}

// Flows stores flows.
type Flows interface {
	// UpsertFlow creates the flow or returns the one with its name; created
	// reports which.
	UpsertFlow(ctx context.Context, ws uuid.UUID, f *model.Flow) (created bool, err error)
	GetFlow(ctx context.Context, ws, id uuid.UUID) (*model.Flow, error)
	GetFlowByName(ctx context.Context, ws uuid.UUID, name string) (*model.Flow, error)
	ListFlows(ctx context.Context, ws uuid.UUID, q RunQuery) ([]*model.Flow, error)
	CountFlows(ctx context.Context, ws uuid.UUID, q RunQuery) (int, error)
	UpdateFlow(ctx context.Context, ws, id uuid.UUID, tags []string) error
	// DeleteFlows deletes the flows of ids in ws in one transaction and
	// returns the ids it found.
	DeleteFlows(ctx context.Context, ws uuid.UUID, ids []uuid.UUID) ([]uuid.UUID, error)
}

// FlowRuns stores flow runs and their states.
type FlowRuns interface {
	// CreateFlowRun inserts r with the initial state forced onto it, or, when
	// r has an idempotency key already used for its flow, returns the
	// existing run untouched (created false).
	CreateFlowRun(ctx context.Context, ws uuid.UUID, r *model.FlowRun, initial model.StateCreate) (created bool, err error)
	GetFlowRun(ctx context.Context, ws, id uuid.UUID) (*model.FlowRun, error)
	ListFlowRuns(ctx context.Context, ws uuid.UUID, q RunQuery) ([]*model.FlowRun, error)
	CountFlowRuns(ctx context.Context, ws uuid.UUID, q RunQuery) (int, error)
	// UpdateFlowRun applies patch to the run inside a write transaction.
	UpdateFlowRun(ctx context.Context, ws, id uuid.UUID, patch func(*model.FlowRun) error) error
	// DeleteFlowRuns deletes the flow runs of ids in ws in one transaction
	// and returns the ids it found.
	DeleteFlowRuns(ctx context.Context, ws uuid.UUID, ids []uuid.UUID) ([]uuid.UUID, error)
	SetFlowRunState(ctx context.Context, ws, id uuid.UUID, proposed model.StateCreate, force bool) (*orchestration.Result, error)
	// ResumeFlowRun resumes a paused run with orchestration.ResumeFlowRun,
	// with the run input a client sent (nil for none): checked, decided and
	// written in one transaction.
	ResumeFlowRun(ctx context.Context, ws, id uuid.UUID, runInput map[string]any) (*orchestration.Result, error)
	// OrchestrateFlowRun runs an orchestration rule (orchestration.MarkLate,
	// …) in one write transaction of ws: what it reads, decides and writes
	// commits together, or not at all when it fails.
	OrchestrateFlowRun(ctx context.Context, ws uuid.UUID, rule func(context.Context, orchestration.FlowRunTx) (*orchestration.Result, error)) (*orchestration.Result, error)
	ListFlowRunStates(ctx context.Context, ws, runID uuid.UUID) ([]*model.State, error)
	GetFlowRunState(ctx context.Context, ws, id uuid.UUID) (*model.State, error)
}

// TaskRuns stores task runs and their states.
type TaskRuns interface {
	// CreateTaskRun upserts on (flow_run_id, task_key, dynamic_key).
	CreateTaskRun(ctx context.Context, ws uuid.UUID, r *model.TaskRun, initial model.StateCreate) (created bool, err error)
	GetTaskRun(ctx context.Context, ws, id uuid.UUID) (*model.TaskRun, error)
	ListTaskRuns(ctx context.Context, ws uuid.UUID, q RunQuery) ([]*model.TaskRun, error)
	CountTaskRuns(ctx context.Context, ws uuid.UUID, q RunQuery) (int, error)
	UpdateTaskRun(ctx context.Context, ws, id uuid.UUID, patch func(*model.TaskRun) error) error
	DeleteTaskRun(ctx context.Context, ws, id uuid.UUID) error
	SetTaskRunState(ctx context.Context, ws, id uuid.UUID, proposed model.StateCreate, force bool) (*orchestration.Result, error)
	ListTaskRunStates(ctx context.Context, ws, runID uuid.UUID) ([]*model.State, error)
	// ListTaskRunStatesOf returns the state histories of many task runs
	// in one query, oldest state first, by task run.
	ListTaskRunStatesOf(ctx context.Context, ws uuid.UUID, runIDs []uuid.UUID) (map[uuid.UUID][]*model.State, error)
	GetTaskRunState(ctx context.Context, ws, id uuid.UUID) (*model.State, error)
}

// Logs stores run logs.
type Logs interface {
	CreateLogs(ctx context.Context, ws uuid.UUID, logs []*model.Log) error
	ListLogs(ctx context.Context, ws uuid.UUID, q LogQuery) ([]*model.Log, error)
}

// TaskRunRecord is a task run and its new state as the task-run recorder
// derives them from a client's prefect.task-run.* event.
type TaskRunRecord struct {
	Run   *model.TaskRun
	State *model.State
}

// Events stores events; ingesting them also records the task runs they carry.
type Events interface {
	// IngestEvents stores events (idempotent on id) and applies each task-run
	// record, keeping the newest state when records arrive out of order.
	IngestEvents(ctx context.Context, ws uuid.UUID, events []*model.Event, records []TaskRunRecord) error
	ListEvents(ctx context.Context, ws uuid.UUID, q EventQuery) ([]*model.Event, int, error)
	// CountEvents groups the events f selects by name, by resource or, for
	// CountByTime, by the number of whole steps since pivot (steps of
	// whole seconds), and counts each group.
	CountEvents(ctx context.Context, ws uuid.UUID, f *EventFilter, by EventCountBy, pivot time.Time, step time.Duration) ([]EventCount, error)
}

// EventCountBy is what CountEvents groups events by.
type EventCountBy string

// The groupings of CountEvents.
const (
	CountByEvent    EventCountBy = "event"
	CountByResource EventCountBy = "resource"
	CountByTime     EventCountBy = "time"
)

// EventCount is one group of CountEvents: its value (the event name, the
// resource id or the bucket's number), label, size and the span of its
// events.
type EventCount struct {
	Value string     `json:"value"`
	Label string     `json:"label"`
	Count int        `json:"count"`
	Start model.Time `json:"start_time"`
	End   model.Time `json:"end_time"`
}

// Variables stores workspace variables.
type Variables interface {
	CreateVariable(ctx context.Context, ws uuid.UUID, v *model.Variable) error
	GetVariable(ctx context.Context, ws, id uuid.UUID) (*model.Variable, error)
	GetVariableByName(ctx context.Context, ws uuid.UUID, name string) (*model.Variable, error)
	ListVariables(ctx context.Context, ws uuid.UUID, q VariableQuery) ([]*model.Variable, error)
	CountVariables(ctx context.Context, ws uuid.UUID, q VariableQuery) (int, error)
	UpdateVariable(ctx context.Context, ws, id uuid.UUID, patch func(*model.Variable) error) error
	DeleteVariable(ctx context.Context, ws, id uuid.UUID) error
}

// SavedSearches stores the web app's saved searches.
type SavedSearches interface {
	// UpsertSavedSearch creates s or, when ws has a search of its name,
	// replaces that one's filters; created reports which, and s is read
	// back.
	UpsertSavedSearch(ctx context.Context, ws uuid.UUID, s *model.SavedSearch) (created bool, err error)
	GetSavedSearch(ctx context.Context, ws, id uuid.UUID) (*model.SavedSearch, error)
	// ListSavedSearches lists ws's searches by name.
	ListSavedSearches(ctx context.Context, ws uuid.UUID, limit, offset int) ([]*model.SavedSearch, error)
	DeleteSavedSearch(ctx context.Context, ws, id uuid.UUID) error
}

// FlowRunInputs stores the keyed inputs of flow runs.
type FlowRunInputs interface {
	// CreateFlowRunInput inserts in for its run, filling its id and
	// timestamps: a key the run already has is a conflict, a run not in ws
	// is not found.
	CreateFlowRunInput(ctx context.Context, ws uuid.UUID, in *model.FlowRunInput) error
	GetFlowRunInput(ctx context.Context, ws, runID uuid.UUID, key string) (*model.FlowRunInput, error)
	// ListFlowRunInputs returns the run's inputs whose key starts with
	// prefix, except the keys in exclude, oldest first, at most limit.
	ListFlowRunInputs(ctx context.Context, ws, runID uuid.UUID, prefix string, exclude []string, limit int) ([]*model.FlowRunInput, error)
	DeleteFlowRunInput(ctx context.Context, ws, runID uuid.UUID, key string) error
}

// Artifacts stores artifacts.
type Artifacts interface {
	CreateArtifact(ctx context.Context, ws uuid.UUID, a *model.Artifact) error
	GetArtifact(ctx context.Context, ws, id uuid.UUID) (*model.Artifact, error)
	ListArtifacts(ctx context.Context, ws uuid.UUID, q ArtifactQuery, latestOnly bool) ([]*model.Artifact, error)
	CountArtifacts(ctx context.Context, ws uuid.UUID, q ArtifactQuery, latestOnly bool) (int, error)
	UpdateArtifact(ctx context.Context, ws, id uuid.UUID, patch func(*model.Artifact) error) error
	DeleteArtifact(ctx context.Context, ws, id uuid.UUID) error
}

// RunStats aggregates runs for the UI's dashboard and lists; every count is
// one GROUP BY query in the database.
type RunStats interface {
	// CountFlowRunsByState counts the flow runs matching q by current state
	// type; runs without a state are left out.
	CountFlowRunsByState(ctx context.Context, ws uuid.UUID, q RunQuery) (map[model.StateType]int, error)
	// CountTaskRunsByState counts the task runs matching q by state type.
	CountTaskRunsByState(ctx context.Context, ws uuid.UUID, q RunQuery) (map[model.StateType]int, error)
	// CountFlowRunsUpTo counts the flow runs matching q, reading at most
	// about limit of them: when at least limit match it may stop and return
	// limit with exact false. A page shows "limit+" rather than pay for a
	// count of the whole history.
	CountFlowRunsUpTo(ctx context.Context, ws uuid.UUID, q RunQuery, limit int) (n int, exact bool, err error)
	// CountFlowRunsByFlow counts the flow runs matching q per flow.
	CountFlowRunsByFlow(ctx context.Context, ws uuid.UUID, q RunQuery) (map[uuid.UUID]int, error)
	// FlowRunHistory counts the flow runs matching h.Runs whose expected
	// start time falls in [h.Start, h.Start+h.Buckets*h.Interval), per
	// bucket of h.Interval and state type. It returns h.Buckets buckets,
	// empty ones included.
	FlowRunHistory(ctx context.Context, ws uuid.UUID, h HistoryQuery) ([]HistoryBucket, error)
	// RunHistory is Prefect's history of flow runs (tasks false) or task
	// runs matching h.Runs: FlowRunHistory's buckets, each counting its
	// runs by state type and name, with their estimated run times and
	// start delays summed.
	RunHistory(ctx context.Context, ws uuid.UUID, tasks bool, h HistoryQuery) ([]RunHistoryInterval, error)
}

// Deployments stores deployments and their schedules.
type Deployments interface {
	// UpsertDeployment creates d or, when its flow has a deployment of
	// d's name, lets apply change that one (apply nil: d's settings
	// replace its) and gives it d's schedules, which replace all of its
	// own; created reports which, and d is read back. Either way the
	// deployment's future never-run auto-scheduled runs are deleted, for
	// the scheduler to make them again from the new settings.
	UpsertDeployment(ctx context.Context, ws uuid.UUID, d *model.Deployment, apply func(existing *model.Deployment) error) (created bool, err error)
	GetDeployment(ctx context.Context, ws, id uuid.UUID) (*model.Deployment, error)
	GetDeploymentByName(ctx context.Context, ws uuid.UUID, flowName, name string) (*model.Deployment, error)
	ListDeployments(ctx context.Context, ws uuid.UUID, q DeploymentQuery) ([]*model.Deployment, error)
	CountDeployments(ctx context.Context, ws uuid.UUID, q DeploymentQuery) (int, error)
	// UpdateDeployment applies patch to a deployment inside a write and
	// saves it with its schedules as patch left them (a schedule with a
	// nil id is new, one left out is deleted), then deletes the future
	// never-run auto-scheduled runs, as UpsertDeployment does. Pausing
	// deletes them whatever their time.
	UpdateDeployment(ctx context.Context, ws, id uuid.UUID, patch func(*model.Deployment) error) error
	// DeleteDeployments deletes deployments, their schedules and their
	// never-run auto-scheduled runs, in one transaction, and returns the
	// ids it found; their other runs stay.
	DeleteDeployments(ctx context.Context, ws uuid.UUID, ids []uuid.UUID) ([]uuid.UUID, error)
	// PollDeployments is a runner's poll: the SCHEDULED runs of the
	// deployments due by before, soonest first, at most limit; the
	// deployments become READY, polled now.
	PollDeployments(ctx context.Context, ws uuid.UUID, ids []uuid.UUID, before time.Time, limit int) ([]*model.FlowRun, error)
}

// Scheduling is what the background services read and write. Its reads
// span workspaces, and each answer names the workspace it belongs to.
type Scheduling interface {
	// SchedulableDeployments returns the unpaused deployments with an
	// active schedule that have fewer than minRuns future auto-scheduled
	// runs or none from horizon on: those the scheduler must fill up.
	SchedulableDeployments(ctx context.Context, now, horizon time.Time, minRuns int) ([]WorkspaceDeployment, error)
	// CreateScheduledRuns inserts each run (which has an idempotency key)
	// with its initial state, skipping those whose key its flow already
	// has, in one write; it returns how many it inserted.
	CreateScheduledRuns(ctx context.Context, ws uuid.UUID, runs []ScheduledRun) (int, error)
	// LateRuns returns at most limit runs SCHEDULED under the name
	// "Scheduled" that were due before cutoff, soonest first, each with
	// its deployment (if it still exists).
	LateRuns(ctx context.Context, cutoff time.Time, limit int) ([]LateRun, error)
	// CatchUpDeployments returns the deployments whose catch-up policy
	// skips runs.
	CatchUpDeployments(ctx context.Context) ([]WorkspaceDeployment, error)
	// DueRuns returns a deployment's never-run SCHEDULED runs due by
	// before (AwaitingRetry and AwaitingConcurrencySlot left out), newest
	// first.
	DueRuns(ctx context.Context, ws, deploymentID uuid.UUID, before time.Time) ([]*model.FlowRun, error)
	// MarkDeploymentsNotReady makes READY deployments that nothing polled
	// since before NOT_READY, and returns how many it changed.
	MarkDeploymentsNotReady(ctx context.Context, before time.Time) (int, error)
}

// WorkPools stores work pools, their queues and their workers. Pools and
// queues are named by name, as Prefect's routes name them; a queue also by
// id, for the /work_queues routes.
type WorkPools interface {
	// CreateWorkPool creates p with its default queue (priority 1); a
	// pool of p's name is a conflict.
	CreateWorkPool(ctx context.Context, ws uuid.UUID, p *model.WorkPool) error
	// GetWorkPool returns a pool, with its active slots when it has a
	// concurrency limit.
	GetWorkPool(ctx context.Context, ws uuid.UUID, name string) (*model.WorkPool, error)
	ListWorkPools(ctx context.Context, ws uuid.UUID, q WorkPoolQuery) ([]*model.WorkPool, error)
	CountWorkPools(ctx context.Context, ws uuid.UUID, q WorkPoolQuery) (int, error)
	// UpdateWorkPool applies patch to a pool inside a write; pausing or
	// resuming it sets its status (PAUSED; READY with an online worker,
	// else NOT_READY).
	UpdateWorkPool(ctx context.Context, ws uuid.UUID, name string, patch func(*model.WorkPool) error) error
	// DeleteWorkPool deletes a pool with its queues and workers; its
	// deployments keep their pool's name but lose their queue.
	DeleteWorkPool(ctx context.Context, ws uuid.UUID, name string) error
	// CreateWorkQueue creates q in a pool. Without a priority it takes
	// the first free one; with one, queues at and after it move down.
	CreateWorkQueue(ctx context.Context, ws uuid.UUID, pool string, q *model.WorkQueue) error
	GetWorkQueue(ctx context.Context, ws, id uuid.UUID) (*model.WorkQueue, error)
	GetWorkQueueByName(ctx context.Context, ws uuid.UUID, pool, name string) (*model.WorkQueue, error)
	// ListWorkQueues returns queues by priority, of one pool when q.Pool
	// is set (a pool that does not exist is not found).
	ListWorkQueues(ctx context.Context, ws uuid.UUID, q WorkQueueQuery) ([]*model.WorkQueue, error)
	// UpdateWorkQueue applies patch inside a write; a new priority moves
	// the queues at and after it down, a pause sets the status.
	UpdateWorkQueue(ctx context.Context, ws, id uuid.UUID, patch func(*model.WorkQueue) error) error
	// DeleteWorkQueue deletes a queue; a pool's default queue cannot be
	// deleted (EInvalid).
	DeleteWorkQueue(ctx context.Context, ws, id uuid.UUID) error
	// WorkerHeartbeat records a heartbeat of the pool's worker name,
	// creating it on the first; the worker is ONLINE, and its pool, if
	// NOT_READY, READY.
	WorkerHeartbeat(ctx context.Context, ws uuid.UUID, pool, name string, intervalSeconds *int) error
	// ListWorkers returns a pool's workers, most recent heartbeat first,
	// each with its status as of now.
	ListWorkers(ctx context.Context, ws uuid.UUID, pool string, q WorkerQuery) ([]*model.Worker, error)
	DeleteWorker(ctx context.Context, ws uuid.UUID, pool, name string) error
	// PollWorkPool is a worker's poll: the SCHEDULED runs of the pool's
	// unpaused queues (those named, if any) in the window, by queue
	// priority then start time, within the pool's and each queue's
	// concurrency limit (their PENDING and RUNNING runs hold slots), at
	// most p.Limit; runs retried in process are left out. The queues
	// polled, and the deployments in them, become READY, polled now.
	PollWorkPool(ctx context.Context, ws uuid.UUID, pool string, p WorkPoolPoll) ([]model.WorkerRun, error)
	// PollWorkQueue is the legacy poll of one queue by id: its SCHEDULED
	// runs due by p.Before, soonest first, within the queue's concurrency
	// limit, at most p.Limit (0: none); none when the queue is paused. The
	// pool's pause and limit do not apply, as in Prefect. With mark, the
	// queue and its deployments become READY, polled now.
	PollWorkQueue(ctx context.Context, ws, queue uuid.UUID, p WorkPoolPoll, mark bool) ([]*model.FlowRun, error)
	// WorkQueueSlots returns a page of the runs holding a slot of a queue
	// as Prefect's queue concurrency view counts them (PENDING, RUNNING or
	// CANCELLING), by id, and how many hold one in all.
	WorkQueueSlots(ctx context.Context, ws, queue uuid.UUID, limit, offset int) ([]*model.FlowRun, int, error)
	// WorkPoolSlots returns the runs holding a slot of a pool (PENDING or
	// RUNNING), by id, grouped by queue.
	WorkPoolSlots(ctx context.Context, ws, pool uuid.UUID) (map[uuid.UUID][]*model.FlowRun, error)
}

// WorkPoolPoll is what a worker's poll asks for.
type WorkPoolPoll struct {
	QueueNames []string
	Before     *time.Time
	After      *time.Time
	Limit      int
}

// Foreman is what the foreman service writes: the liveness of workers,
// pools, queues and deployments, across workspaces.
type Foreman interface {
	// MarkWorkersOffline makes ONLINE workers OFFLINE whose last heartbeat
	// is older than OfflineAfterHeartbeats of their interval at now, and
	// returns how many it changed.
	MarkWorkersOffline(ctx context.Context, now time.Time) (int, error)
	// MarkPoolsNotReady makes READY pools without an ONLINE worker
	// NOT_READY, and returns how many it changed.
	MarkPoolsNotReady(ctx context.Context) (int, error)
	// MarkQueuesNotReady makes READY queues nothing polled since before
	// NOT_READY, and returns how many it changed.
	MarkQueuesNotReady(ctx context.Context, before time.Time) (int, error)
}

// Unresponsive is what the unresponsive-run detector reads and writes,
// across workspaces: RUNNING runs of workers that stopped heartbeating and
// that sent nothing for a while.
type Unresponsive interface {
	// UnresponsiveRuns returns the RUNNING runs labelled with a worker of
	// their pool (orchestration.WorkerLabel) whose worker is OFFLINE at now
	// or gone and which sent nothing (a state change, a log line, a
	// task-run change) after quietSince, each with its Silence.
	UnresponsiveRuns(ctx context.Context, now, quietSince time.Time) ([]UnresponsiveRun, error)
	// CrashUnresponsiveRun checks run id again as UnresponsiveRuns does,
	// in one write, and if it still is such a run sets it CRASHED (forced)
	// with its Silence's reason. It returns nil and writes nothing for a run
	// that is not (any more), or no longer exists.
	CrashUnresponsiveRun(ctx context.Context, ws, id uuid.UUID, now, quietSince time.Time) (*orchestration.Result, error)
}

// Pauses finds the paused runs whose pause timed out.
type Pauses interface {
	// ExpiredPauses returns, across workspaces, at most limit PAUSED runs
	// whose pause_timeout is before now.
	ExpiredPauses(ctx context.Context, now time.Time, limit int) ([]WorkspaceRun, error)
}

// WorkspaceRun names a flow run and its workspace.
type WorkspaceRun struct {
	Workspace, Run uuid.UUID
}

// ConcurrencyLimits stores global (v2) concurrency limits and the leases
// that hold their slots. Slots are taken and given back in one write that
// holds the limits' rows, so concurrent acquisitions never exceed a limit.
// Methods that count slots take the time to count them at (now), since a
// rate limit's slots decay with it.
type ConcurrencyLimits interface {
	// CreateConcurrencyLimit inserts l, filling its id and timestamps; a
	// limit of l's name is a conflict.
	CreateConcurrencyLimit(ctx context.Context, ws uuid.UUID, l *model.ConcurrencyLimit) error
	// GetConcurrencyLimit returns a limit with its slots as of now.
	GetConcurrencyLimit(ctx context.Context, ws, id uuid.UUID, now time.Time) (*model.ConcurrencyLimit, error)
	GetConcurrencyLimitByName(ctx context.Context, ws uuid.UUID, name string, now time.Time) (*model.ConcurrencyLimit, error)
	// ListConcurrencyLimits returns limits by name, with their slots as of
	// q.Now.
	ListConcurrencyLimits(ctx context.Context, ws uuid.UUID, q ConcurrencyLimitQuery) ([]*model.ConcurrencyLimit, error)
	// UpdateConcurrencyLimit applies patch to a limit (its slots brought to
	// now first) inside a write; a rename onto another limit's name is a
	// conflict.
	UpdateConcurrencyLimit(ctx context.Context, ws, id uuid.UUID, now time.Time, patch func(*model.ConcurrencyLimit) error) error
	// DeleteConcurrencyLimit deletes a limit and the leases on it, giving
	// their slots of other limits back.
	DeleteConcurrencyLimit(ctx context.Context, ws, id uuid.UUID, now time.Time) error
	// AcquireConcurrencySlots takes a.Slots of each active limit a.Names
	// names, all or none, and with a.Lease a lease on them. Names of no
	// limit are skipped. Denied, it counts the denial on the limits.
	AcquireConcurrencySlots(ctx context.Context, ws uuid.UUID, a SlotAcquisition) (*SlotGrant, error)
	// ReleaseConcurrencySlots gives back slots of the active limits names
	// names (never below zero), counting occupancySeconds (0: unknown) into
	// their average occupancy, and returns the limits found.
	ReleaseConcurrencySlots(ctx context.Context, ws uuid.UUID, names []string, slots int, occupancySeconds float64, now time.Time) ([]*model.ConcurrencyLimit, error)
	// ReleaseConcurrencyLease gives back a lease's slots, with the time it
	// held them, and deletes it; a lease that does not exist is not found.
	ReleaseConcurrencyLease(ctx context.Context, ws, id uuid.UUID, now time.Time) error
	// RenewConcurrencyLease moves a lease's expiration to expiration; a
	// lease that does not exist (released, or expired and reaped) is not
	// found.
	RenewConcurrencyLease(ctx context.Context, ws, id uuid.UUID, expiration time.Time) error
	// ListConcurrencyLeases returns the leases on a limit that have not
	// expired at now, oldest first.
	ListConcurrencyLeases(ctx context.Context, ws, limitID uuid.UUID, now time.Time) ([]*model.ConcurrencyLease, error)
	// ResetConcurrencyLimit deletes a limit's leases (giving their slots
	// of other limits back) and gives the limit one slot per holder, each
	// held by a lease of its own until expiration.
	ResetConcurrencyLimit(ctx context.Context, ws, id uuid.UUID, holders []model.LeaseHolder, expiration, now time.Time) error
	// ExpireConcurrencyLeases releases at most limit leases, of any
	// workspace, that expired before now, as ReleaseConcurrencyLease does,
	// and returns how many.
	ExpireConcurrencyLeases(ctx context.Context, now time.Time, limit int) (int, error)
}

// SlotAcquisition is what AcquireConcurrencySlots is asked for.
type SlotAcquisition struct {
	Names []string
	Slots int
	// RateLimit asks for slots of rate limits: every active limit named
	// must decay (EInvalid otherwise).
	RateLimit bool
	// Lease, when set, asks for a lease on the slots taken.
	Lease *LeaseRequest
	Now   time.Time
}

// LeaseRequest asks for a lease that expires Duration after it is taken.
type LeaseRequest struct {
	Duration time.Duration
	Holder   *model.LeaseHolder
}

// SlotGrant is AcquireConcurrencySlots' answer.
type SlotGrant struct {
	Acquired bool
	// Limits are the limits named, as the acquisition left them.
	Limits []*model.ConcurrencyLimit
	// Lease is the lease taken, if one was asked for and granted and some
	// limit was named; it holds the limits named, inactive ones too.
	Lease *model.ConcurrencyLease
}

// ConcurrencyLimitQuery pages through limits by name.
type ConcurrencyLimitQuery struct {
	// NamePrefix keeps the limits whose name starts with it.
	NamePrefix string
	Limit      int // 0: 200, as for every list
	Offset     int
	Now        time.Time
}

// UnresponsiveRun is a run UnresponsiveRuns found, with why.
type UnresponsiveRun struct {
	Workspace uuid.UUID
	Run       *model.FlowRun
	Silence   orchestration.Silence
}

// WorkspaceDeployment is a deployment and its workspace.
type WorkspaceDeployment struct {
	Workspace  uuid.UUID
	Deployment *model.Deployment
}

// ScheduledRun is a run the scheduler makes, with its initial state.
type ScheduledRun struct {
	Run     *model.FlowRun
	Initial model.StateCreate
}

// LateRun is a run past its start that nothing claimed, with what the
// late-run marker explains it by.
type LateRun struct {
	Workspace  uuid.UUID
	Run        *model.FlowRun
	Deployment *model.Deployment // nil: no deployment, or deleted
	// ActiveRuns counts the deployment's PENDING, RUNNING and CANCELLING
	// runs when it has a concurrency limit.
	ActiveRuns int
	// Pool and Queue are the run's work pool and queue, if it has them
	// (their active slots counted when they have a limit), and
	// LastHeartbeat the latest heartbeat of the pool's workers.
	Pool          *model.WorkPool
	Queue         *model.WorkQueue
	LastHeartbeat *model.Time
}

// HistoryQuery selects a run history: Buckets consecutive intervals of
// Interval from Start.
type HistoryQuery struct {
	Start    time.Time
	Interval time.Duration // whole seconds, at least one
	Buckets  int
	Runs     RunQuery // filters only; its sort and paging are ignored
	// ByStartTime buckets runs by start time instead of expected start
	// time (RunHistory only).
	ByStartTime bool
}

// HistoryBucket is one interval of a run history.
type HistoryBucket struct {
	Start  time.Time
	End    time.Time
	Counts map[model.StateType]int
}

// RunHistoryInterval is one interval of RunHistory.
type RunHistoryInterval struct {
	Start  time.Time         `json:"interval_start"`
	End    time.Time         `json:"interval_end"`
	States []RunHistoryState `json:"states"`
}

// RunHistoryState is the runs of one state in an interval of RunHistory.
type RunHistoryState struct {
	Type                 model.StateType `json:"state_type"`
	Name                 string          `json:"state_name"`
	Count                int             `json:"count_runs"`
	SumEstimatedRunTime  float64         `json:"sum_estimated_run_time"`
	SumEstimatedLateness float64         `json:"sum_estimated_lateness"`
}

// Total is the number of runs in the bucket.
func (b HistoryBucket) Total() int {
	n := 0
	for _, c := range b.Counts {
		n += c
	}
	return n
}

// BulkDelete deletes the objects of ids in ws in one transaction and
// returns the ids it found.
type BulkDelete func(ctx context.Context, ws uuid.UUID, ids []uuid.UUID) ([]uuid.UUID, error)

// DeleteOne deletes one object with a bulk delete: not finding it is
// apperr.ENotFound.
func DeleteOne(del BulkDelete) func(ctx context.Context, ws, id uuid.UUID) error {
	return func(ctx context.Context, ws, id uuid.UUID) error {
		deleted, err := del(ctx, ws, []uuid.UUID{id})
		if err == nil && len(deleted) == 0 {
			err = apperr.Errorf(apperr.ENotFound, "%s not found", id)
		}
		return err
	}
}
