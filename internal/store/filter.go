package store

import (
	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/model"
)

// The filter types mirror Prefect's nested filter objects, member for member,
// so request bodies decode straight into them. A nil member does not filter.
// Members of one filter are combined with AND, or with OR when Operator is
// "or_".

// IDFilter filters on an id column.
type IDFilter struct {
	Any    []uuid.UUID `json:"any_"`
	NotAny []uuid.UUID `json:"not_any_"`
}

// NullableIDFilter filters on a nullable id column.
type NullableIDFilter struct {
	Any    []uuid.UUID `json:"any_"`
	NotAny []uuid.UUID `json:"not_any_"`
	IsNull *bool       `json:"is_null_"`
}

// NameFilter filters on a name column.
type NameFilter struct {
	Any        []string `json:"any_"`
	NotAny     []string `json:"not_any_"`
	Like       *string  `json:"like_"`
	StartsWith []string `json:"startswith_"`
	IsNull     *bool    `json:"is_null_"`
}

// TagsFilter filters on a JSON array of tags.
type TagsFilter struct {
	All    []string `json:"all_"`
	Any    []string `json:"any_"`
	IsNull *bool    `json:"is_null_"`
}

// TimeFilter filters on a timestamp column; bounds are inclusive.
type TimeFilter struct {
	Before *model.Time `json:"before_"`
	After  *model.Time `json:"after_"`
	IsNull *bool       `json:"is_null_"`
}

// StateFilter filters on a run's current state.
type StateFilter struct {
	Operator string `json:"operator"`
	Type     *struct {
		Any    []model.StateType `json:"any_"`
		NotAny []model.StateType `json:"not_any_"`
	} `json:"type"`
	Name *struct {
		Any    []string `json:"any_"`
		NotAny []string `json:"not_any_"`
	} `json:"name"`
}

// StateTypeIn is a state filter that matches any of types.
func StateTypeIn(types ...model.StateType) *StateFilter {
	f := &StateFilter{}
	f.Type = &struct {
		Any    []model.StateType `json:"any_"`
		NotAny []model.StateType `json:"not_any_"`
	}{Any: types}
	return f
}

// FlowFilter is Prefect's FlowFilter.
type FlowFilter struct {
	Operator string      `json:"operator"`
	ID       *IDFilter   `json:"id"`
	Name     *NameFilter `json:"name"`
	Tags     *TagsFilter `json:"tags"`
}

// FlowRunFilter is Prefect's FlowRunFilter.
type FlowRunFilter struct {
	Operator               string            `json:"operator"`
	ID                     *IDFilter         `json:"id"`
	Name                   *NameFilter       `json:"name"`
	Tags                   *TagsFilter       `json:"tags"`
	DeploymentID           *NullableIDFilter `json:"deployment_id"`
	WorkQueueName          *NameFilter       `json:"work_queue_name"`
	State                  *StateFilter      `json:"state"`
	FlowVersion            *NameFilter       `json:"flow_version"`
	StartTime              *TimeFilter       `json:"start_time"`
	EndTime                *TimeFilter       `json:"end_time"`
	ExpectedStartTime      *TimeFilter       `json:"expected_start_time"`
	NextScheduledStartTime *TimeFilter       `json:"next_scheduled_start_time"`
	ParentFlowRunID        *IDFilter         `json:"parent_flow_run_id"`
	ParentTaskRunID        *NullableIDFilter `json:"parent_task_run_id"`
	IdempotencyKey         *NameFilter       `json:"idempotency_key"`
}

// TaskRunFilter is Prefect's TaskRunFilter.
type TaskRunFilter struct {
	Operator          string       `json:"operator"`
	ID                *IDFilter    `json:"id"`
	Name              *NameFilter  `json:"name"`
	Tags              *TagsFilter  `json:"tags"`
	State             *StateFilter `json:"state"`
	StartTime         *TimeFilter  `json:"start_time"`
	EndTime           *TimeFilter  `json:"end_time"`
	ExpectedStartTime *TimeFilter  `json:"expected_start_time"`
	SubflowRuns       *struct {
		Exists *bool `json:"exists_"`
	} `json:"subflow_runs"`
	FlowRunID *NullableIDFilter `json:"flow_run_id"`
}

// LogFilter is Prefect's LogFilter.
type LogFilter struct {
	Operator string `json:"operator"`
	Level    *struct {
		GE *int `json:"ge_"`
		LE *int `json:"le_"`
	} `json:"level"`
	Timestamp *TimeFilter       `json:"timestamp"`
	FlowRunID *IDFilter         `json:"flow_run_id"`
	TaskRunID *NullableIDFilter `json:"task_run_id"`
	Text      *struct {
		Query string `json:"query"`
	} `json:"text"`
	// After keeps only the logs that follow this position in
	// (timestamp, id) order: the UI's log tail. Not part of Prefect's
	// filter.
	After *LogCursor `json:"-"`
}

// LogCursor is a log's position in (timestamp, id) order, the order of
// ListLogs.
type LogCursor struct {
	Timestamp model.Time
	ID        uuid.UUID
}

// EventFilter is the subset of Prefect's EventFilter Praetor evaluates.
type EventFilter struct {
	Occurred *struct {
		Since *model.Time `json:"since"`
		Until *model.Time `json:"until"`
	} `json:"occurred"`
	Event *struct {
		Prefix []string `json:"prefix"`
		Name   []string `json:"name"`
	} `json:"event"`
	Resource *struct {
		ID       []string `json:"id"`
		IDPrefix []string `json:"id_prefix"`
	} `json:"resource"`
	Any *struct {
		ID       []string `json:"id"`
		IDPrefix []string `json:"id_prefix"`
	} `json:"any_resource"`
	Order string `json:"order"`
}

// VariableFilter is Prefect's VariableFilter.
type VariableFilter struct {
	ID   *IDFilter   `json:"id"`
	Name *NameFilter `json:"name"`
	Tags *TagsFilter `json:"tags"`
}

// ArtifactFilter is Prefect's ArtifactFilter.
type ArtifactFilter struct {
	ID        *IDFilter   `json:"id"`
	Key       *NameFilter `json:"key"`
	FlowRunID *IDFilter   `json:"flow_run_id"`
	TaskRunID *IDFilter   `json:"task_run_id"`
	Type      *NameFilter `json:"type"`
}

// DeploymentFilter is Prefect's DeploymentFilter.
type DeploymentFilter struct {
	Operator             string      `json:"operator"`
	ID                   *IDFilter   `json:"id"`
	Name                 *NameFilter `json:"name"`
	FlowOrDeploymentName *NameFilter `json:"flow_or_deployment_name"`
	Paused               *BoolFilter `json:"paused"`
	Tags                 *TagsFilter `json:"tags"`
	WorkQueueName        *NameFilter `json:"work_queue_name"`
	ConcurrencyLimit     *IntFilter  `json:"concurrency_limit"`
}

// WorkPoolFilter is Prefect's WorkPoolFilter.
type WorkPoolFilter struct {
	Operator string      `json:"operator"`
	ID       *IDFilter   `json:"id"`
	Name     *NameFilter `json:"name"`
	Type     *NameFilter `json:"type"`
}

// WorkPoolQuery selects work pools.
type WorkPoolQuery struct {
	WorkPools *WorkPoolFilter `json:"work_pools"`
	Limit     int             `json:"limit"`
	Offset    int             `json:"offset"`
}

// Page returns the query's page; pools are sorted by name.
func (q WorkPoolQuery) Page() (limit, offset int, sort string) { return q.Limit, q.Offset, "" }

// WorkQueueFilter is Prefect's WorkQueueFilter.
type WorkQueueFilter struct {
	Operator string      `json:"operator"`
	ID       *IDFilter   `json:"id"`
	Name     *NameFilter `json:"name"`
}

// WorkQueueQuery selects work queues, of one pool when Pool is set.
type WorkQueueQuery struct {
	Pool       string           `json:"-"`
	WorkQueues *WorkQueueFilter `json:"work_queues"`
	Limit      int              `json:"limit"`
	Offset     int              `json:"offset"`
}

// Page returns the query's page; queues are sorted by priority.
func (q WorkQueueQuery) Page() (limit, offset int, sort string) { return q.Limit, q.Offset, "" }

// WorkerFilter is Prefect's WorkerFilter.
type WorkerFilter struct {
	Operator          string      `json:"operator"`
	LastHeartbeatTime *TimeFilter `json:"last_heartbeat_time"`
	Name              *NameFilter `json:"name"`
	Status            *struct {
		Any    []string `json:"any_"`
		NotAny []string `json:"not_any_"`
	} `json:"status"`
}

// WorkerQuery selects a pool's workers.
type WorkerQuery struct {
	Workers *WorkerFilter `json:"workers"`
	Limit   int           `json:"limit"`
	Offset  int           `json:"offset"`
}

// Page returns the query's page; workers are sorted by last heartbeat.
func (q WorkerQuery) Page() (limit, offset int, sort string) { return q.Limit, q.Offset, "" }

// BoolFilter filters on a boolean column.
type BoolFilter struct {
	Eq *bool `json:"eq_"`
}

// IntFilter filters on a nullable integer column; bounds are inclusive.
type IntFilter struct {
	GE     *int  `json:"ge_"`
	LE     *int  `json:"le_"`
	IsNull *bool `json:"is_null_"`
}

// DeploymentQuery selects deployments by Prefect's combined filter body.
// Its work_pools and work_pool_queues members join it with the work pools
// (#18); until then they are ignored, as unknown members are.
type DeploymentQuery struct {
	Flows       *FlowFilter       `json:"flows"`
	FlowRuns    *FlowRunFilter    `json:"flow_runs"`
	TaskRuns    *TaskRunFilter    `json:"task_runs"`
	Deployments *DeploymentFilter `json:"deployments"`
	// WorkPools narrows deployments to those of matching work pools.
	WorkPools *WorkPoolFilter `json:"work_pools"`
	Sort      string          `json:"sort"`
	Limit     int             `json:"limit"`
	Offset    int             `json:"offset"`
}

// Page returns the query's page and sort.
func (q DeploymentQuery) Page() (limit, offset int, sort string) { return q.Limit, q.Offset, q.Sort }

// SetPage sets the query's page.
func (q *DeploymentQuery) SetPage(limit, offset int) { q.Limit, q.Offset = limit, offset }

// RunQuery selects flow runs, task runs or flows by Prefect's combined filter
// body: each entity's filter narrows the result through its relation.
type RunQuery struct {
	Flows    *FlowFilter    `json:"flows"`
	FlowRuns *FlowRunFilter `json:"flow_runs"`
	TaskRuns *TaskRunFilter `json:"task_runs"`
	// Deployments narrows flow runs to those of matching deployments.
	Deployments *DeploymentFilter `json:"deployments"`
	// WorkPools narrows flow runs to those in matching work pools.
	WorkPools *WorkPoolFilter `json:"work_pools"`
	Sort      string          `json:"sort"`
	Limit     int             `json:"limit"`
	Offset    int             `json:"offset"`
}

// LogQuery selects logs.
type LogQuery struct {
	Logs   *LogFilter `json:"logs"`
	Sort   string     `json:"sort"`
	Limit  int        `json:"limit"`
	Offset int        `json:"offset"`
}

// EventQuery selects events.
type EventQuery struct {
	Filter *EventFilter `json:"filter"`
	Limit  int          `json:"limit"`
	Offset int          `json:"-"`
}

// VariableQuery selects variables.
type VariableQuery struct {
	Variables *VariableFilter `json:"variables"`
	Sort      string          `json:"sort"`
	Limit     int             `json:"limit"`
	Offset    int             `json:"offset"`
}

// ArtifactQuery selects artifacts.
type ArtifactQuery struct {
	Artifacts *ArtifactFilter `json:"artifacts"`
	FlowRuns  *FlowRunFilter  `json:"flow_runs"`
	TaskRuns  *TaskRunFilter  `json:"task_runs"`
	Sort      string          `json:"sort"`
	Limit     int             `json:"limit"`
	Offset    int             `json:"offset"`
}

// The sort orders of Prefect's filter routes, named once for the API, which
// accepts them, and the store, which orders by them.
const (
	SortIDDesc                    = "ID_DESC"
	SortNameAsc                   = "NAME_ASC"
	SortNameDesc                  = "NAME_DESC"
	SortCreatedDesc               = "CREATED_DESC"
	SortUpdatedDesc               = "UPDATED_DESC"
	SortStartTimeAsc              = "START_TIME_ASC"
	SortStartTimeDesc             = "START_TIME_DESC"
	SortExpectedStartTimeAsc      = "EXPECTED_START_TIME_ASC"
	SortExpectedStartTimeDesc     = "EXPECTED_START_TIME_DESC"
	SortNextScheduledStartTimeAsc = "NEXT_SCHEDULED_START_TIME_ASC"
	SortEndTimeDesc               = "END_TIME_DESC"
	SortTimestampAsc              = "TIMESTAMP_ASC"
	SortTimestampDesc             = "TIMESTAMP_DESC"
	SortKeyAsc                    = "KEY_ASC"
	SortKeyDesc                   = "KEY_DESC"
)

// The sorts each list accepts, in the order of Prefect's enums (which its
// validation errors list).
var (
	FlowSorts       = []string{SortCreatedDesc, SortUpdatedDesc, SortNameAsc, SortNameDesc}
	DeploymentSorts = FlowSorts
	FlowRunSorts    = []string{SortIDDesc, SortStartTimeAsc, SortStartTimeDesc, SortExpectedStartTimeAsc, SortExpectedStartTimeDesc,
		SortNameAsc, SortNameDesc, SortNextScheduledStartTimeAsc, SortEndTimeDesc}
	TaskRunSorts = []string{SortIDDesc, SortExpectedStartTimeAsc, SortExpectedStartTimeDesc, SortNameAsc, SortNameDesc,
		SortNextScheduledStartTimeAsc, SortEndTimeDesc}
	LogSorts      = []string{SortTimestampAsc, SortTimestampDesc}
	VariableSorts = []string{SortCreatedDesc, SortUpdatedDesc, SortNameDesc, SortNameAsc}
	ArtifactSorts = []string{SortCreatedDesc, SortUpdatedDesc, SortIDDesc, SortKeyDesc, SortKeyAsc}
)

// Paged is a list query: its page and its sort.
type Paged interface {
	Page() (limit, offset int, sort string)
}

// Page returns the query's page and sort.
func (q RunQuery) Page() (limit, offset int, sort string) { return q.Limit, q.Offset, q.Sort }

// SetPage sets the query's page.
func (q *RunQuery) SetPage(limit, offset int) { q.Limit, q.Offset = limit, offset }

// Page returns the query's page and sort.
func (q LogQuery) Page() (limit, offset int, sort string) { return q.Limit, q.Offset, q.Sort }

// Page returns the query's page and sort.
func (q VariableQuery) Page() (limit, offset int, sort string) { return q.Limit, q.Offset, q.Sort }
