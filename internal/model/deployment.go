package model

import (
	"encoding/json"

	"github.com/google/uuid"
)

// Deployment statuses: READY while something polls the deployment for
// runs, NOT_READY otherwise.
const (
	DeploymentReady    = "READY"
	DeploymentNotReady = "NOT_READY"
)

// Deployment is a flow made runnable remotely: its parameters, schedules and
// where its runs go (a work pool and queue, or the process that serves it).
type Deployment struct {
	ID               uuid.UUID            `json:"id"`
	Created          Time                 `json:"created"`
	Updated          Time                 `json:"updated"`
	Name             string               `json:"name"`
	Version          *string              `json:"version"`
	VersionID        *uuid.UUID           `json:"version_id"`
	VersionInfo      map[string]any       `json:"version_info"`
	Branch           *string              `json:"branch"`
	Base             *uuid.UUID           `json:"base"`
	Root             *uuid.UUID           `json:"root"`
	Description      *string              `json:"description"`
	FlowID           uuid.UUID            `json:"flow_id"`
	Paused           bool                 `json:"paused"`
	Schedules        []DeploymentSchedule `json:"schedules"`
	ConcurrencyLimit *int                 `json:"concurrency_limit"`
	// GlobalConcurrencyLimit is the limit that enforces ConcurrencyLimit,
	// as the store reads it.
	GlobalConcurrencyLimit   *GlobalConcurrencyLimit `json:"global_concurrency_limit"`
	ConcurrencyOptions       map[string]any          `json:"concurrency_options"`
	JobVariables             map[string]any          `json:"job_variables"`
	Parameters               map[string]any          `json:"parameters"`
	PullSteps                []map[string]any        `json:"pull_steps"`
	Tags                     []string                `json:"tags"`
	Labels                   map[string]any          `json:"labels"`
	WorkQueueName            *string                 `json:"work_queue_name"`
	WorkQueueID              *uuid.UUID              `json:"work_queue_id"`
	WorkPoolName             *string                 `json:"work_pool_name"`
	LastPolled               *Time                   `json:"last_polled"`
	ParameterOpenAPISchema   map[string]any          `json:"parameter_openapi_schema"`
	Path                     *string                 `json:"path"`
	Entrypoint               *string                 `json:"entrypoint"`
	StorageDocumentID        *uuid.UUID              `json:"storage_document_id"`
	InfrastructureDocumentID *uuid.UUID              `json:"infrastructure_document_id"`
	CreatedBy                *CreatedBy              `json:"created_by"`
	UpdatedBy                *CreatedBy              `json:"updated_by"`
	Status                   string                  `json:"status"`
	EnforceParameterSchema   bool                    `json:"enforce_parameter_schema"`
	// CatchUp is Praetor's, not Prefect's: Prefect's client ignores
	// response keys it does not know (its DeploymentResponse model has
	// extra="ignore").
	CatchUp CatchUp `json:"catch_up"`
}

// DeploymentSchedule is one schedule of a deployment. Schedule is the
// schedule object in Prefect's exact shape (interval, cron or rrule), as
// the schedule package reads and writes it.
type DeploymentSchedule struct {
	ID               uuid.UUID       `json:"id"`
	Created          Time            `json:"created"`
	Updated          Time            `json:"updated"`
	DeploymentID     *uuid.UUID      `json:"deployment_id"`
	Schedule         json.RawMessage `json:"schedule"`
	Active           bool            `json:"active"`
	MaxScheduledRuns *int            `json:"max_scheduled_runs"`
	Parameters       map[string]any  `json:"parameters"`
	Slug             *string         `json:"slug"`
}

// Catch-up modes: what happens to the runs a deployment missed while
// nothing ran them.
const (
	CatchUpAll    = "all"    // run every missed run (Prefect's behaviour)
	CatchUpLatest = "latest" // run only the newest missed run
	CatchUpWindow = "window" // skip missed runs older than WindowSeconds
)

// CatchUp is a deployment's policy for runs that are due but unclaimed:
// the mode, and a cap on how many such runs stay queued (the newest are
// kept). The zero value is Prefect's behaviour: run them all.
type CatchUp struct {
	Mode          string   `json:"mode"`
	WindowSeconds *float64 `json:"window_seconds"`
	MaxLateRuns   *int     `json:"max_late_runs"`
}

// Skips reports whether the policy ever skips a missed run.
func (c CatchUp) Skips() bool {
	return c.Mode == CatchUpLatest || c.Mode == CatchUpWindow || c.MaxLateRuns != nil
}
