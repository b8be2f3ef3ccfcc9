package model

import "github.com/google/uuid"

// ConcurrencyLimitTagPrefix names the global limits that are tag limits:
// Prefect 3 keeps a tag's limit as the global limit "tag:<tag>".
const ConcurrencyLimitTagPrefix = "tag:"

// ConcurrencyLimit is a global (v2) concurrency limit in Prefect's
// ConcurrencyLimitV2 shape. A limit with a slot decay is a rate limit: its
// active slots drain by SlotDecayPerSecond rather than by release.
type ConcurrencyLimit struct {
	ID                      uuid.UUID `json:"id"`
	Created                 Time      `json:"created"`
	Updated                 Time      `json:"updated"`
	Active                  bool      `json:"active"`
	Name                    string    `json:"name"`
	Limit                   int       `json:"limit"`
	ActiveSlots             int       `json:"active_slots"`
	DeniedSlots             int       `json:"denied_slots"`
	SlotDecayPerSecond      float64   `json:"slot_decay_per_second"`
	AvgSlotOccupancySeconds float64   `json:"avg_slot_occupancy_seconds"`
}

// GlobalConcurrencyLimit is a limit as Prefect answers it outside its own
// create route (GlobalConcurrencyLimitResponse): without its denied slots
// and average occupancy.
type GlobalConcurrencyLimit struct {
	ID                 uuid.UUID `json:"id"`
	Created            Time      `json:"created"`
	Updated            Time      `json:"updated"`
	Active             bool      `json:"active"`
	Name               string    `json:"name"`
	Limit              int       `json:"limit"`
	ActiveSlots        int       `json:"active_slots"`
	SlotDecayPerSecond float64   `json:"slot_decay_per_second"`
}

// Global returns l in GlobalConcurrencyLimitResponse's shape.
func (l *ConcurrencyLimit) Global() *GlobalConcurrencyLimit {
	return &GlobalConcurrencyLimit{ID: l.ID, Created: l.Created, Updated: l.Updated, Active: l.Active, Name: l.Name, Limit: l.Limit,
		ActiveSlots: l.ActiveSlots, SlotDecayPerSecond: l.SlotDecayPerSecond}
}

// DeploymentLimitName is the name of the global limit that holds a
// deployment's concurrency_limit, as Prefect names it.
func DeploymentLimitName(deployment uuid.UUID) string { return "deployment:" + deployment.String() }

// LeaseHolder is who holds a lease, in Prefect's ConcurrencyLeaseHolder
// shape: a flow run, a task run or a deployment.
type LeaseHolder struct {
	Type string    `json:"type"`
	ID   uuid.UUID `json:"id"`
}

// ConcurrencyLease holds Slots of each of its limits until it is released
// or expires.
type ConcurrencyLease struct {
	ID         uuid.UUID
	LimitIDs   []uuid.UUID
	Slots      int
	Holder     *LeaseHolder
	Expiration Time
	Created    Time
}
