package worker

import (
	"context"
	"net/url"
	"time"

	"github.com/google/uuid"

	"github.com/praetorhq/praetor/internal/client"
	"github.com/praetorhq/praetor/internal/model"
)

// Client is the worker's typed client of the few Prefect API routes a
// worker uses, over the shared API client (its auth and retries).
type Client struct {
	api *client.Client
	key string // for the events stream's auth
}

// NewClient returns a client of the API at base (PREFECT_API_URL) that
// authenticates with key when it is set.
func NewClient(base, key string) *Client {
	return &Client{api: client.New(base, client.Credentials{APIKey: key}), key: key}
}

// IsStatus reports whether err is an answer of the API with that code.
func IsStatus(err error, code int) bool { return client.IsStatus(err, code) }

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	return c.api.Do(ctx, method, path, in, out)
}

// ReadPool reads a work pool by name.
func (c *Client) ReadPool(ctx context.Context, name string) (model.WorkPool, error) {
	var p model.WorkPool
	err := c.do(ctx, "GET", "/work_pools/"+url.PathEscape(name), nil, &p)
	return p, err
}

// CreatePool creates a work pool.
func (c *Client) CreatePool(ctx context.Context, name, poolType string, template map[string]any) (model.WorkPool, error) {
	var p model.WorkPool
	err := c.do(ctx, "POST", "/work_pools/", map[string]any{"name": name, "type": poolType, "base_job_template": template}, &p)
	return p, err
}

// SetPoolTemplate sets a pool's base job template.
func (c *Client) SetPoolTemplate(ctx context.Context, name string, template map[string]any) error {
	return c.do(ctx, "PATCH", "/work_pools/"+url.PathEscape(name), map[string]any{"base_job_template": template}, nil)
}

// Heartbeat records that the worker is alive.
func (c *Client) Heartbeat(ctx context.Context, pool, worker string, interval time.Duration) error {
	return c.do(ctx, "POST", "/work_pools/"+url.PathEscape(pool)+"/workers/heartbeat",
		map[string]any{"name": worker, "heartbeat_interval_seconds": int(interval.Seconds())}, nil)
}

// ScheduledRun is one answer of get_scheduled_flow_runs.
type ScheduledRun struct {
	WorkPoolID  uuid.UUID     `json:"work_pool_id"`
	WorkQueueID uuid.UUID     `json:"work_queue_id"`
	FlowRun     model.FlowRun `json:"flow_run"`
}

// ScheduledRuns polls the pool for runs due before before; limit 0 is the
// server's default.
func (c *Client) ScheduledRuns(ctx context.Context, pool string, queues []string, before time.Time, limit int) ([]ScheduledRun, error) {
	if queues == nil {
		queues = []string{}
	}
	in := map[string]any{"scheduled_before": model.Time{Time: before}, "work_queue_names": queues}
	if limit > 0 {
		in["limit"] = limit
	}
	var out []ScheduledRun
	err := c.do(ctx, "POST", "/work_pools/"+url.PathEscape(pool)+"/get_scheduled_flow_runs", in, &out)
	return out, err
}

// ReadDeployment reads a deployment.
func (c *Client) ReadDeployment(ctx context.Context, id uuid.UUID) (model.Deployment, error) {
	var d model.Deployment
	err := c.do(ctx, "GET", "/deployments/"+id.String(), nil, &d)
	return d, err
}

// ReadFlowRun reads a flow run.
func (c *Client) ReadFlowRun(ctx context.Context, id uuid.UUID) (model.FlowRun, error) {
	var r model.FlowRun
	err := c.do(ctx, "GET", "/flow_runs/"+id.String(), nil, &r)
	return r, err
}

// NewState is a state the worker proposes.
type NewState struct {
	Type         model.StateType `json:"type"`
	Name         string          `json:"name,omitempty"`
	Message      string          `json:"message,omitempty"`
	StateDetails map[string]any  `json:"state_details,omitempty"`
}

// SetStateResult is the orchestration's answer to a proposed state.
type SetStateResult struct {
	Status string       `json:"status"` // ACCEPT, REJECT, ABORT or WAIT
	State  *model.State `json:"state"`
}

// Accepted says the proposed state was written. Only that makes a claim:
// an aborted one answers with the run's current state, which is PENDING
// when another worker claimed it first.
func (r SetStateResult) Accepted() bool { return r.Status == "ACCEPT" }

// StateType is the type of the run's state after the proposal, empty when
// the answer carries none.
func (r SetStateResult) StateType() model.StateType {
	if r.State == nil {
		return ""
	}
	return r.State.Type
}

// SetState proposes a state for a flow run; force skips the orchestration
// rules.
func (c *Client) SetState(ctx context.Context, id uuid.UUID, s NewState, force bool) (SetStateResult, error) {
	var out SetStateResult
	err := c.do(ctx, "POST", "/flow_runs/"+id.String()+"/set_state", map[string]any{"state": s, "force": force}, &out)
	return out, err
}

// PatchLabels adds labels to a flow run.
func (c *Client) PatchLabels(ctx context.Context, id uuid.UUID, labels map[string]string) error {
	return c.do(ctx, "PATCH", "/flow_runs/"+id.String()+"/labels", labels, nil)
}

// SetInfrastructurePID records where a flow run's process runs.
func (c *Client) SetInfrastructurePID(ctx context.Context, id uuid.UUID, pid string) error {
	return c.do(ctx, "PATCH", "/flow_runs/"+id.String(), map[string]any{"infrastructure_pid": pid}, nil)
}
