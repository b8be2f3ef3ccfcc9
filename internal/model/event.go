package model

import (
	"encoding/json"
	"strings"

	"github.com/google/uuid"
)

// Resource id prefixes of Prefect's run resources: a run's resource id is the
// prefix followed by the run's id.
const (
	FlowRunResource = "prefect.flow-run."
	TaskRunResource = "prefect.task-run."
	// And of the other resources automations act on.
	FlowResource       = "prefect.flow."
	DeploymentResource = "prefect.deployment."
	WorkPoolResource   = "prefect.work-pool."
	WorkQueueResource  = "prefect.work-queue."
	AutomationResource = "prefect.automation."
)

// Resource is a flat label map that names a resource; it always carries
// prefect.resource.id.
type Resource map[string]string

// ID returns the resource id label.
func (r Resource) ID() string { return r["prefect.resource.id"] }

// Role returns the role label of a related resource.
func (r Resource) Role() string { return r["prefect.resource.role"] }

// Event is a Prefect event, as clients emit it and the server stores it.
type Event struct {
	ID       uuid.UUID       `json:"id"`
	Occurred Time            `json:"occurred"`
	Event    string          `json:"event"`
	Resource Resource        `json:"resource"`
	Related  []Resource      `json:"related"`
	Payload  json.RawMessage `json:"payload"`
	Follows  *uuid.UUID      `json:"follows"`
	Received Time            `json:"received"`
}

// RelatedID returns the id of the first related resource with the given role
// whose id starts with prefix, with the prefix removed.
func (e *Event) RelatedID(role, prefix string) (string, bool) {
	for _, r := range e.Related {
		if r.Role() == role && strings.HasPrefix(r.ID(), prefix) {
			return strings.TrimPrefix(r.ID(), prefix), true
		}
	}
	return "", false
}
