package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/praetorhq/praetor/internal/model"
)

// Client is the worker's typed client of the few Prefect API routes a
// worker uses.
type Client struct {
	base string
	key  string
	http *http.Client
}

// NewClient returns a client of the API at base (PREFECT_API_URL) that
// authenticates with key when it is set.
func NewClient(base, key string) *Client {
	return &Client{base: strings.TrimRight(base, "/"), key: key, http: &http.Client{Timeout: 30 * time.Second}}
}

// StatusError is an answer of the API other than 2xx.
type StatusError struct {
	Method, Path string
	Code         int
	Body         string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s %s: %d %s", e.Method, e.Path, e.Code, e.Body)
}

// IsStatus reports whether err is an answer of the API with that code.
func IsStatus(err error, code int) bool {
	var se *StatusError
	return errors.As(err, &se) && se.Code == code
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encoding %s %s: %w", method, path, err)
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		return &StatusError{Method: method, Path: path, Code: resp.StatusCode, Body: strings.TrimSpace(string(data))}
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: decoding the answer: %w", method, path, err)
		}
	}
	return nil
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
