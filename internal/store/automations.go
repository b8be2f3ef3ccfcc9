package store

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/praetorhq/praetor/internal/automations"
	"github.com/praetorhq/praetor/internal/model"
)

// Automations stores automations, the state their triggers keep between
// events (buckets and child firings), the queue of events they have yet to
// see, and the actions their firings started.
type Automations interface {
	// CreateAutomation stores a, with fresh id and times, related to the
	// deployments its actions select and, when owner is set, owned by that
	// resource.
	CreateAutomation(ctx context.Context, ws uuid.UUID, a *model.Automation, owner string) error
	GetAutomation(ctx context.Context, ws, id uuid.UUID) (*model.Automation, error)
	ListAutomations(ctx context.Context, ws uuid.UUID, q AutomationQuery) ([]*model.Automation, error)
	CountAutomations(ctx context.Context, ws uuid.UUID, q AutomationQuery) (int, error)
	// UpdateAutomation replaces the automation of a.ID with a (all but its
	// id and creation) and drops the state its old triggers kept.
	UpdateAutomation(ctx context.Context, ws uuid.UUID, a *model.Automation) error
	// SetAutomationEnabled enables or disables an automation; disabling
	// drops its triggers' state.
	SetAutomationEnabled(ctx context.Context, ws, id uuid.UUID, enabled bool) error
	DeleteAutomation(ctx context.Context, ws, id uuid.UUID) error
	// AutomationsRelatedTo lists the automations related to a resource
	// (owned by it, or selecting it in an action), by name.
	AutomationsRelatedTo(ctx context.Context, ws uuid.UUID, resourceID string) ([]*model.Automation, error)
	// DeleteAutomationsOwnedBy deletes the automations a resource owns that
	// were created before before.
	DeleteAutomationsOwnedBy(ctx context.Context, ws uuid.UUID, resourceID string, before time.Time) error
	// ListTriggeredActions lists an automation's actions, newest first.
	ListTriggeredActions(ctx context.Context, ws, automation uuid.UUID, limit int) ([]*model.TriggeredAction, error)
}

// AutomationFilter is Prefect's AutomationFilter.
type AutomationFilter struct {
	Operator string      `json:"operator"`
	ID       *IDFilter   `json:"id"`
	Name     *NameFilter `json:"name"`
	Created  *TimeFilter `json:"created"`
	Tags     *TagsFilter `json:"tags"`
}

// AutomationQuery selects automations, sorted by Sort (Prefect's
// AutomationSort; NAME_ASC when empty).
type AutomationQuery struct {
	Automations *AutomationFilter `json:"automations"`
	Sort        string            `json:"sort"`
	Limit       int               `json:"limit"`
	Offset      int               `json:"offset"`
}

// AutomationSorts are Prefect's AutomationSort values.
var AutomationSorts = []string{"CREATED_DESC", "UPDATED_DESC", "NAME_ASC", "NAME_DESC"}

// Page returns the query's page and sort.
func (q AutomationQuery) Page() (limit, offset int, sort string) { return q.Limit, q.Offset, q.Sort }

// AutomationEvaluation is the store's side of the automation evaluator and
// action executor.
type AutomationEvaluation interface {
	// EvaluateQueuedEvents takes up to limit of the oldest events queued
	// for automations (stored while their workspace had an enabled one)
	// and calls fn with each workspace's events, oldest first, and its
	// enabled automations, in one transaction that also takes the events
	// off the queue: each event is evaluated exactly once, even across a
	// crash. It returns how many it took.
	EvaluateQueuedEvents(ctx context.Context, limit int, fn EvaluateFunc) (int, error)
	// EvaluateProactive calls fn with each workspace's enabled automations
	// that have a proactive trigger, in one transaction per workspace.
	EvaluateProactive(ctx context.Context, fn ProactiveFunc) error
	// DueActions returns up to limit pending triggered actions whose next
	// attempt is at or before now, of every workspace, oldest first.
	DueActions(ctx context.Context, now time.Time, limit int) ([]WorkspaceAction, error)
	// RecordAction saves the outcome of an attempt of a pending action and
	// stores the events it emitted, in one transaction; it reports false,
	// changing nothing, for an action no longer pending.
	RecordAction(ctx context.Context, ws uuid.UUID, a *model.TriggeredAction, events []*model.Event) (bool, error)
}

// EvaluateFunc evaluates a workspace's events against its automations.
type EvaluateFunc func(ctx context.Context, ws uuid.UUID, list []*model.Automation, tx automations.Tx, events []*model.Event) error

// ProactiveFunc evaluates a workspace's automations as time passes.
type ProactiveFunc func(ctx context.Context, ws uuid.UUID, list []*model.Automation, tx automations.Tx) error

// WorkspaceAction is a triggered action and its workspace.
type WorkspaceAction struct {
	Workspace uuid.UUID
	Action    *model.TriggeredAction
}
