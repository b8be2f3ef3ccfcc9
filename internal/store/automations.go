package store

import (
	"context"
	"time"

	"github.com/google/uuid"
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
	Automations *AutomationFilter
	Sort        string
	Limit       int
	Offset      int
}
