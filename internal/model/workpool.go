package model

import (
	"strings"
	"time"

	"github.com/google/uuid"
)

// Work pool statuses: READY while a worker is online, NOT_READY without
// one, PAUSED while paused.
const (
	PoolReady    = "READY"
	PoolNotReady = "NOT_READY"
	PoolPaused   = "PAUSED"
)

// Work queue statuses: READY while polled, NOT_READY when not polled
// lately, PAUSED while paused.
const (
	QueueReady    = "READY"
	QueueNotReady = "NOT_READY"
	QueuePaused   = "PAUSED"
)

// Worker statuses.
const (
	WorkerOnline  = "ONLINE"
	WorkerOffline = "OFFLINE"
)

// DefaultQueueName names the queue every pool is created with.
const DefaultQueueName = "default"

// DefaultHeartbeatInterval is the heartbeat interval assumed of a worker
// that did not say its own, and OfflineAfterHeartbeats how many intervals
// without a heartbeat make it OFFLINE, as in Prefect.
const (
	DefaultHeartbeatInterval = 30 * time.Second
	OfflineAfterHeartbeats   = 3
)

// ReservedPoolName reports whether a pool name is one Prefect reserves for
// its own pools (case-insensitively "prefect…").
func ReservedPoolName(name string) bool {
	return strings.HasPrefix(strings.ToLower(name), "prefect")
}

// StorageConfiguration is a work pool's storage_configuration.
type StorageConfiguration struct {
	BundleUploadStep            map[string]any `json:"bundle_upload_step"`
	BundleExecutionStep         map[string]any `json:"bundle_execution_step"`
	DefaultResultStorageBlockID *uuid.UUID     `json:"default_result_storage_block_id"`
}

// WorkPool is where a deployment's runs wait for a worker of its type.
type WorkPool struct {
	ID                   uuid.UUID            `json:"id"`
	Created              Time                 `json:"created"`
	Updated              Time                 `json:"updated"`
	Name                 string               `json:"name"`
	Description          *string              `json:"description"`
	Type                 string               `json:"type"`
	BaseJobTemplate      map[string]any       `json:"base_job_template"`
	IsPaused             bool                 `json:"is_paused"`
	ConcurrencyLimit     *int                 `json:"concurrency_limit"`
	Status               string               `json:"status"`
	DefaultQueueID       uuid.UUID            `json:"default_queue_id"`
	StorageConfiguration StorageConfiguration `json:"storage_configuration"`
	// ActiveSlots counts the pool's PENDING and RUNNING runs when it has a
	// concurrency limit, nil otherwise.
	ActiveSlots *int `json:"active_slots"`
}

// WorkQueue is a queue of a work pool; lower priorities are served first.
type WorkQueue struct {
	ID               uuid.UUID `json:"id"`
	Created          Time      `json:"created"`
	Updated          Time      `json:"updated"`
	Name             string    `json:"name"`
	Description      *string   `json:"description"`
	IsPaused         bool      `json:"is_paused"`
	ConcurrencyLimit *int      `json:"concurrency_limit"`
	Priority         int       `json:"priority"`
	WorkPoolID       uuid.UUID `json:"work_pool_id"`
	WorkPoolName     string    `json:"work_pool_name"`
	Filter           any       `json:"filter"`
	LastPolled       *Time     `json:"last_polled"`
	Status           string    `json:"status"`
	ActiveSlots      *int      `json:"active_slots"`
}

// Worker is a process that polls a work pool, known by its heartbeats.
type Worker struct {
	ID                       uuid.UUID `json:"id"`
	Created                  Time      `json:"created"`
	Updated                  Time      `json:"updated"`
	Name                     string    `json:"name"`
	WorkPoolID               uuid.UUID `json:"work_pool_id"`
	LastHeartbeatTime        *Time     `json:"last_heartbeat_time"`
	HeartbeatIntervalSeconds *int      `json:"heartbeat_interval_seconds"`
	Status                   string    `json:"status"`
}

// OfflineAfter is how long after its last heartbeat the worker is OFFLINE.
func (w *Worker) OfflineAfter() time.Duration {
	interval := DefaultHeartbeatInterval
	if w.HeartbeatIntervalSeconds != nil && *w.HeartbeatIntervalSeconds > 0 {
		interval = time.Duration(*w.HeartbeatIntervalSeconds) * time.Second
	}
	return OfflineAfterHeartbeats * interval
}

// WorkerRun is a run a worker's poll hands out, with the pool and queue it
// came from.
type WorkerRun struct {
	WorkPoolID  uuid.UUID `json:"work_pool_id"`
	WorkQueueID uuid.UUID `json:"work_queue_id"`
	FlowRun     *FlowRun  `json:"flow_run"`
}
