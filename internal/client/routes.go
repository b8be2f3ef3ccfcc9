package client

import (
	"context"
	"net/url"
	"strings"

	"github.com/google/uuid"

	"github.com/praetorhq/praetor/internal/model"
)

// Workspace is one entry of GET /me/workspaces (the Cloud API), with the
// fields Prefect's CLI reads.
type Workspace struct {
	AccountID            uuid.UUID `json:"account_id"`
	AccountName          string    `json:"account_name"`
	AccountHandle        string    `json:"account_handle"`
	WorkspaceID          uuid.UUID `json:"workspace_id"`
	WorkspaceName        string    `json:"workspace_name"`
	WorkspaceDescription string    `json:"workspace_description"`
	WorkspaceHandle      string    `json:"workspace_handle"`
	Role                 string    `json:"role,omitempty"`
}

// Handle is the workspace's "account/workspace" handle.
func (w Workspace) Handle() string { return w.AccountHandle + "/" + w.WorkspaceHandle }

// APIURL is the workspace's PREFECT_API_URL under the Cloud API URL cloud,
// as Prefect's client builds it.
func (w Workspace) APIURL(cloud string) string {
	return strings.TrimRight(cloud, "/") + "/accounts/" + w.AccountID.String() + "/workspaces/" + w.WorkspaceID.String()
}

// MyWorkspaces lists the workspaces of the key's user; c calls the Cloud
// API URL.
func (c *Client) MyWorkspaces(ctx context.Context) ([]Workspace, error) {
	var out []Workspace
	err := c.Do(ctx, "GET", "/me/workspaces", nil, &out)
	return out, err
}

// Filter is the body of a /…/filter route: Prefect's nested filter
// objects, a sort and a limit.
type Filter map[string]any

// AnyOf is Prefect's {"any_": values} match.
func AnyOf[T any](values ...T) map[string]any { return map[string]any{"any_": values} }

// Flows reads flows.
func (c *Client) Flows(ctx context.Context, f Filter) ([]model.Flow, error) {
	var out []model.Flow
	err := c.Do(ctx, "POST", "/flows/filter", f, &out)
	return out, err
}

// FlowRuns reads flow runs.
func (c *Client) FlowRuns(ctx context.Context, f Filter) ([]model.FlowRun, error) {
	var out []model.FlowRun
	err := c.Do(ctx, "POST", "/flow_runs/filter", f, &out)
	return out, err
}

// FlowRun reads one flow run.
func (c *Client) FlowRun(ctx context.Context, id uuid.UUID) (model.FlowRun, error) {
	var out model.FlowRun
	err := c.Do(ctx, "GET", "/flow_runs/"+id.String(), nil, &out)
	return out, err
}

// SetStateResult is the orchestration's answer to a proposed state.
type SetStateResult struct {
	Status  string         `json:"status"` // ACCEPT, REJECT, ABORT or WAIT
	State   *model.State   `json:"state"`
	Details map[string]any `json:"details"`
}

// SetFlowRunState proposes a state for a flow run.
func (c *Client) SetFlowRunState(ctx context.Context, id uuid.UUID, s model.StateCreate, force bool) (SetStateResult, error) {
	var out SetStateResult
	err := c.Do(ctx, "POST", "/flow_runs/"+id.String()+"/set_state", map[string]any{"state": s, "force": force}, &out)
	return out, err
}

// Logs reads log lines.
func (c *Client) Logs(ctx context.Context, f Filter) ([]model.Log, error) {
	var out []model.Log
	err := c.Do(ctx, "POST", "/logs/filter", f, &out)
	return out, err
}

// Deployments reads deployments.
func (c *Client) Deployments(ctx context.Context, f Filter) ([]model.Deployment, error) {
	var out []model.Deployment
	err := c.Do(ctx, "POST", "/deployments/filter", f, &out)
	return out, err
}

// Deployment reads a deployment by id.
func (c *Client) Deployment(ctx context.Context, id uuid.UUID) (model.Deployment, error) {
	var out model.Deployment
	err := c.Do(ctx, "GET", "/deployments/"+id.String(), nil, &out)
	return out, err
}

// DeploymentByName reads a deployment by its flow's name and its own.
func (c *Client) DeploymentByName(ctx context.Context, flow, name string) (model.Deployment, error) {
	var out model.Deployment
	err := c.Do(ctx, "GET", "/deployments/name/"+url.PathEscape(flow)+"/"+url.PathEscape(name), nil, &out)
	return out, err
}

// CreateFlowRunFromDeployment starts a run of a deployment with these
// parameters (merged by the server over the deployment's).
func (c *Client) CreateFlowRunFromDeployment(ctx context.Context, id uuid.UUID, params map[string]any) (model.FlowRun, error) {
	var out model.FlowRun
	body := map[string]any{}
	if len(params) > 0 {
		body["parameters"] = params
	}
	err := c.Do(ctx, "POST", "/deployments/"+id.String()+"/create_flow_run", body, &out)
	return out, err
}

// WorkPools reads work pools.
func (c *Client) WorkPools(ctx context.Context, f Filter) ([]model.WorkPool, error) {
	var out []model.WorkPool
	err := c.Do(ctx, "POST", "/work_pools/filter", f, &out)
	return out, err
}

// WorkPool reads a work pool by name.
func (c *Client) WorkPool(ctx context.Context, name string) (model.WorkPool, error) {
	var out model.WorkPool
	err := c.Do(ctx, "GET", "/work_pools/"+url.PathEscape(name), nil, &out)
	return out, err
}
