// Package model holds the domain types of the Prefect API as Praetor stores and
// serves them. JSON field names follow Prefect 3's REST schemas exactly, since the
// real Prefect client reads them.
package model

import (
	"encoding/json"
	"strconv"

	"github.com/google/uuid"
)

// StateType is one of Prefect's run state types.
type StateType string

const (
	Scheduled  StateType = "SCHEDULED"
	Pending    StateType = "PENDING"
	Running    StateType = "RUNNING"
	Completed  StateType = "COMPLETED"
	Failed     StateType = "FAILED"
	Cancelled  StateType = "CANCELLED"
	Crashed    StateType = "CRASHED"
	Paused     StateType = "PAUSED"
	Cancelling StateType = "CANCELLING"
)

// StateTypes lists every state type, in Prefect's order.
var StateTypes = []StateType{Scheduled, Pending, Running, Completed, Failed, Cancelled, Crashed, Paused, Cancelling}

// Valid reports whether t is a known state type.
func (t StateType) Valid() bool {
	for _, v := range StateTypes {
		if v == t {
			return true
		}
	}
	return false
}

// Terminal reports whether a run in this state type has finished.
func (t StateType) Terminal() bool {
	return t == Completed || t == Failed || t == Cancelled || t == Crashed
}

// DefaultName is the state name Prefect uses when none is given: the
// capitalised type.
func (t StateType) DefaultName() string {
	if t == "" {
		return ""
	}
	s := string(t)
	return s[:1] + toLower(s[1:])
}

func toLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// StateDetails carries the per-state metadata Prefect's client reads and writes.
type StateDetails struct {
	FlowRunID                    *uuid.UUID `json:"flow_run_id"`
	TaskRunID                    *uuid.UUID `json:"task_run_id"`
	ChildFlowRunID               *uuid.UUID `json:"child_flow_run_id"`
	ScheduledTime                *Time      `json:"scheduled_time"`
	CacheKey                     *string    `json:"cache_key"`
	CacheExpiration              *Time      `json:"cache_expiration"`
	Deferred                     bool       `json:"deferred"`
	UntrackableResult            bool       `json:"untrackable_result"`
	PauseTimeout                 *Time      `json:"pause_timeout"`
	PauseReschedule              bool       `json:"pause_reschedule"`
	PauseKey                     *string    `json:"pause_key"`
	RunInputKeyset               any        `json:"run_input_keyset"`
	RefreshCache                 *bool      `json:"refresh_cache"`
	Retriable                    *bool      `json:"retriable"`
	TransitionID                 *uuid.UUID `json:"transition_id"`
	TaskParametersID             *uuid.UUID `json:"task_parameters_id"`
	Traceparent                  *string    `json:"traceparent"`
	DeploymentConcurrencyLeaseID *uuid.UUID `json:"deployment_concurrency_lease_id"`
}

// State is a run state as the API returns it.
type State struct {
	ID           uuid.UUID       `json:"id"`
	Type         StateType       `json:"type"`
	Name         string          `json:"name"`
	Timestamp    Time            `json:"timestamp"`
	Message      *string         `json:"message"`
	Data         json.RawMessage `json:"data"`
	StateDetails StateDetails    `json:"state_details"`
}

// StateCreate is a proposed state as clients send it.
type StateCreate struct {
	Type         StateType       `json:"type"`
	Name         *string         `json:"name"`
	Message      *string         `json:"message"`
	Data         json.RawMessage `json:"data"`
	StateDetails *StateDetails   `json:"state_details"`
	Timestamp    *Time           `json:"timestamp"`
}

// HasPersistedResult reports whether the state's data references a persisted
// result, which Prefect's rules protect from being overwritten.
func (s *State) HasPersistedResult() bool {
	return hasPersistedResult(s.Data)
}

func hasPersistedResult(data json.RawMessage) bool {
	if len(data) == 0 || string(data) == "null" {
		return false
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(data, &obj) != nil {
		return false
	}
	if t, ok := obj["type"]; ok {
		return string(t) != `"unpersisted"`
	}
	return true
}

// Flow is a named workflow.
type Flow struct {
	ID      uuid.UUID      `json:"id"`
	Created Time           `json:"created"`
	Updated Time           `json:"updated"`
	Name    string         `json:"name"`
	Tags    []string       `json:"tags"`
	Labels  map[string]any `json:"labels"`
}

// FlowRunPolicy is a flow run's retry and pause bookkeeping.
type FlowRunPolicy struct {
	MaxRetries        int      `json:"max_retries"`
	RetryDelaySeconds float64  `json:"retry_delay_seconds"`
	Retries           *int     `json:"retries"`
	RetryDelay        *float64 `json:"retry_delay"`
	PauseKeys         []string `json:"pause_keys"`
	Resuming          bool     `json:"resuming"`
	RetryType         *string  `json:"retry_type"`
}

// CreatedBy names who or what created an object.
type CreatedBy struct {
	ID           *uuid.UUID `json:"id"`
	Type         *string    `json:"type"`
	DisplayValue *string    `json:"display_value"`
}

// FlowRun is one execution of a flow.
type FlowRun struct {
	ID                       uuid.UUID      `json:"id"`
	Created                  Time           `json:"created"`
	Updated                  Time           `json:"updated"`
	Name                     string         `json:"name"`
	FlowID                   uuid.UUID      `json:"flow_id"`
	DeploymentID             *uuid.UUID     `json:"deployment_id"`
	DeploymentVersion        *string        `json:"deployment_version"`
	WorkQueueID              *uuid.UUID     `json:"work_queue_id"`
	WorkQueueName            *string        `json:"work_queue_name"`
	FlowVersion              *string        `json:"flow_version"`
	Parameters               map[string]any `json:"parameters"`
	IdempotencyKey           *string        `json:"idempotency_key"`
	Context                  map[string]any `json:"context"`
	EmpiricalPolicy          FlowRunPolicy  `json:"empirical_policy"`
	Tags                     []string       `json:"tags"`
	Labels                   map[string]any `json:"labels"`
	ParentTaskRunID          *uuid.UUID     `json:"parent_task_run_id"`
	AutoScheduled            bool           `json:"auto_scheduled"`
	InfrastructureDocumentID *uuid.UUID     `json:"infrastructure_document_id"`
	InfrastructurePID        *string        `json:"infrastructure_pid"`
	CreatedBy                *CreatedBy     `json:"created_by"`
	WorkPoolID               *uuid.UUID     `json:"work_pool_id"`
	WorkPoolName             *string        `json:"work_pool_name"`
	JobVariables             map[string]any `json:"job_variables"`

	RunTracking
}

// TaskRunPolicy is a task run's retry configuration.
type TaskRunPolicy struct {
	MaxRetries        int      `json:"max_retries"`
	RetryDelaySeconds float64  `json:"retry_delay_seconds"`
	Retries           *int     `json:"retries"`
	RetryDelay        any      `json:"retry_delay"`
	RetryJitterFactor *float64 `json:"retry_jitter_factor"`
}

// TaskRunInput is one upstream reference in a task run's task_inputs.
type TaskRunInput struct {
	InputType string     `json:"input_type"`
	ID        *uuid.UUID `json:"id,omitempty"`
	Name      *string    `json:"name,omitempty"`
	Type      *string    `json:"type,omitempty"`
}

// TaskRun is one execution of a task.
type TaskRun struct {
	ID              uuid.UUID                 `json:"id"`
	Created         Time                      `json:"created"`
	Updated         Time                      `json:"updated"`
	Name            string                    `json:"name"`
	FlowRunID       *uuid.UUID                `json:"flow_run_id"`
	TaskKey         string                    `json:"task_key"`
	DynamicKey      string                    `json:"dynamic_key"`
	CacheKey        *string                   `json:"cache_key"`
	CacheExpiration *Time                     `json:"cache_expiration"`
	TaskVersion     *string                   `json:"task_version"`
	EmpiricalPolicy TaskRunPolicy             `json:"empirical_policy"`
	Tags            []string                  `json:"tags"`
	Labels          map[string]any            `json:"labels"`
	TaskInputs      map[string][]TaskRunInput `json:"task_inputs"`
	FlowRunRunCount int                       `json:"flow_run_run_count"`

	RunTracking
}

// Log is one log line of a flow or task run.
// LevelName names a log level as Python's logging does: CRITICAL (50),
// ERROR, WARNING, INFO, DEBUG (10); a level below DEBUG's is its number.
func LevelName(level int) string {
	switch {
	case level >= 50:
		return "CRITICAL"
	case level >= 40:
		return "ERROR"
	case level >= 30:
		return "WARNING"
	case level >= 20:
		return "INFO"
	case level >= 10:
		return "DEBUG"
	}
	return strconv.Itoa(level)
}

type Log struct {
	ID        uuid.UUID  `json:"id"`
	Created   Time       `json:"created"`
	Updated   Time       `json:"updated"`
	Name      string     `json:"name"`
	Level     int        `json:"level"`
	Message   string     `json:"message"`
	Timestamp Time       `json:"timestamp"`
	FlowRunID *uuid.UUID `json:"flow_run_id"`
	TaskRunID *uuid.UUID `json:"task_run_id"`
	WorkerID  *uuid.UUID `json:"worker_id,omitempty"` // Cloud ships worker logs; the OSS shape has no worker_id
}

// Variable is a named JSON value of a workspace.
type Variable struct {
	ID      uuid.UUID `json:"id"`
	Created Time      `json:"created"`
	Updated Time      `json:"updated"`
	Name    string    `json:"name"`
	Value   any       `json:"value"`
	Tags    []string  `json:"tags"`
}

// SavedSearch is a named set of filters of Prefect's web app.
type SavedSearch struct {
	ID      uuid.UUID           `json:"id"`
	Created Time                `json:"created"`
	Updated Time                `json:"updated"`
	Name    string              `json:"name"`
	Filters []SavedSearchFilter `json:"filters"`
}

// SavedSearchFilter is one filter of a saved search.
type SavedSearchFilter struct {
	Object    string `json:"object"`
	Property  string `json:"property"`
	Type      string `json:"type"`
	Operation string `json:"operation"`
	Value     any    `json:"value"`
}

// FlowRunInput is a keyed value sent to a flow run (run input, a paused
// run's input schema, messages between runs): Value is the text the sender
// stored, JSON in practice, kept as sent.
type FlowRunInput struct {
	ID        uuid.UUID `json:"id"`
	Created   Time      `json:"created"`
	Updated   Time      `json:"updated"`
	FlowRunID uuid.UUID `json:"flow_run_id"`
	Key       string    `json:"key"`
	Value     string    `json:"value"`
	Sender    *string   `json:"sender"`
}

// Artifact is a result, table, link or markdown a run published.
type Artifact struct {
	ID          uuid.UUID      `json:"id"`
	Created     Time           `json:"created"`
	Updated     Time           `json:"updated"`
	Key         *string        `json:"key"`
	Type        *string        `json:"type"`
	Description *string        `json:"description"`
	Data        any            `json:"data"`
	Metadata    map[string]any `json:"metadata_"`
	FlowRunID   *uuid.UUID     `json:"flow_run_id"`
	TaskRunID   *uuid.UUID     `json:"task_run_id"`
}

// RunTracking is the state bookkeeping flow runs and task runs share; it is
// embedded, so its fields appear at the top level of the run's JSON.
type RunTracking struct {
	StateID                 *uuid.UUID `json:"state_id"`
	StateType               *StateType `json:"state_type"`
	StateName               *string    `json:"state_name"`
	StateTimestamp          *Time      `json:"-"`
	RunCount                int        `json:"run_count"`
	ExpectedStartTime       *Time      `json:"expected_start_time"`
	NextScheduledStartTime  *Time      `json:"next_scheduled_start_time"`
	StartTime               *Time      `json:"start_time"`
	EndTime                 *Time      `json:"end_time"`
	TotalRunTime            float64    `json:"total_run_time"`
	EstimatedRunTime        float64    `json:"estimated_run_time"`
	EstimatedStartTimeDelta float64    `json:"estimated_start_time_delta"`
	State                   *State     `json:"state"`
}

// Account owns workspaces.
type Account struct {
	ID      uuid.UUID `json:"id"`
	Handle  string    `json:"handle"`
	Name    string    `json:"name"`
	Created Time      `json:"created"`
}

// Workspace is an isolated tenant: every run, flow and log belongs to one.
type Workspace struct {
	ID            uuid.UUID `json:"id"`
	AccountID     uuid.UUID `json:"account_id"`
	AccountHandle string    `json:"account_handle"`
	AccountName   string    `json:"account_name"`
	Handle        string    `json:"handle"`
	Name          string    `json:"name"`
	Description   string    `json:"description"`
	IsDefault     bool      `json:"-"`
	Created       Time      `json:"created"`
	Updated       Time      `json:"updated"`
}

// User is a person who signs in to the UI and owns API keys.
type User struct {
	ID          uuid.UUID `json:"id"`
	Email       string    `json:"email"`
	Handle      string    `json:"handle"`
	DisplayName string    `json:"display_name"`
	Created     Time      `json:"created"`
}

// APIKey is a key's metadata; the key itself is shown once and only its
// hash is stored.
type APIKey struct {
	ID       uuid.UUID `json:"id"`
	UserID   uuid.UUID `json:"user_id"`
	Name     string    `json:"name"`
	Prefix   string    `json:"prefix"`
	Hash     string    `json:"-"`
	Expires  *Time     `json:"expiration"`
	Created  Time      `json:"created"`
	LastUsed *Time     `json:"last_used"`
}

// WorkspaceAccess is a workspace as one user sees it, with the user's
// effective role there.
type WorkspaceAccess struct {
	Workspace
	Role string `json:"role"`
}

// AccountAccess is an account as one of its members sees it, with the
// member's role there.
type AccountAccess struct {
	Account
	Role string `json:"role"`
}

// Member is a user's membership of an account or a workspace.
type Member struct {
	User
	Role string `json:"role"`
}

// ServiceAccount is a non-human member of an account (Prefect Cloud's
// "bot"): a user that never signs in and acts with its pnb_ keys. ID is its
// user id, so memberships and keys name it as they name a user.
type ServiceAccount struct {
	ID        uuid.UUID `json:"id"`
	AccountID uuid.UUID `json:"account_id"`
	Name      string    `json:"name"`
	Created   Time      `json:"created"`
}

// Team groups members of an account (users and service accounts) and gives
// them workspace roles.
type Team struct {
	ID          uuid.UUID `json:"id"`
	AccountID   uuid.UUID `json:"account_id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Created     Time      `json:"created"`
	Updated     Time      `json:"updated"`
}

// TeamDetail is a team with its members and workspace roles.
type TeamDetail struct {
	Team
	Members    []Member            `json:"members"`
	Workspaces []TeamWorkspaceRole `json:"workspace_roles"`
}

// TeamWorkspaceRole is the role a team gives its members in a workspace.
type TeamWorkspaceRole struct {
	WorkspaceID     uuid.UUID `json:"workspace_id"`
	WorkspaceHandle string    `json:"workspace_handle"`
	Role            string    `json:"role"`
}

// Session is a signed-in browser session.
type Session struct {
	ID      string // the hash of the cookie's token
	UserID  uuid.UUID
	CSRF    string
	Expires Time
	// Method is how it was started, for the audit log: "password",
	// "registration" or an identity provider's id. Not stored.
	Method string
}
