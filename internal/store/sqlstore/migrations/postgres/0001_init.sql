-- Praetor schema, PostgreSQL dialect.
CREATE TABLE accounts (
    id UUID PRIMARY KEY,
    handle TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created TIMESTAMPTZ NOT NULL
);

CREATE TABLE workspaces (
    id UUID PRIMARY KEY,
    account_id UUID NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    handle TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    is_default BOOLEAN NOT NULL DEFAULT false,
    created TIMESTAMPTZ NOT NULL,
    updated TIMESTAMPTZ NOT NULL,
    UNIQUE (account_id, handle)
);
CREATE UNIQUE INDEX workspaces_default ON workspaces (is_default) WHERE is_default;

CREATE TABLE flows (
    id UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    tags JSONB NOT NULL DEFAULT '[]',
    labels JSONB NOT NULL DEFAULT '{}',
    created TIMESTAMPTZ NOT NULL,
    updated TIMESTAMPTZ NOT NULL,
    UNIQUE (workspace_id, name)
);

CREATE TABLE flow_runs (
    id UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    flow_id UUID NOT NULL REFERENCES flows(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    state_id UUID,
    state_type TEXT,
    state_name TEXT,
    state_timestamp TIMESTAMPTZ,
    run_count INTEGER NOT NULL DEFAULT 0,
    expected_start_time TIMESTAMPTZ,
    next_scheduled_start_time TIMESTAMPTZ,
    start_time TIMESTAMPTZ,
    end_time TIMESTAMPTZ,
    total_run_time DOUBLE PRECISION NOT NULL DEFAULT 0,
    parent_task_run_id UUID,
    deployment_id UUID,
    deployment_version TEXT,
    work_queue_id UUID,
    work_queue_name TEXT,
    work_pool_id UUID,
    work_pool_name TEXT,
    flow_version TEXT,
    idempotency_key TEXT,
    auto_scheduled BOOLEAN NOT NULL DEFAULT false,
    infrastructure_document_id UUID,
    infrastructure_pid TEXT,
    parameters JSONB NOT NULL DEFAULT '{}',
    context JSONB NOT NULL DEFAULT '{}',
    empirical_policy JSONB NOT NULL DEFAULT '{}',
    tags JSONB NOT NULL DEFAULT '[]',
    labels JSONB NOT NULL DEFAULT '{}',
    job_variables JSONB NOT NULL DEFAULT '{}',
    created_by JSONB,
    created TIMESTAMPTZ NOT NULL,
    updated TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX flow_runs_idempotency ON flow_runs (flow_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX flow_runs_ws_state_expected ON flow_runs (workspace_id, state_type, expected_start_time);
CREATE INDEX flow_runs_ws_expected ON flow_runs (workspace_id, expected_start_time);
CREATE INDEX flow_runs_ws_flow ON flow_runs (workspace_id, flow_id);
CREATE INDEX flow_runs_ws_deployment ON flow_runs (workspace_id, deployment_id);
CREATE INDEX flow_runs_parent_task_run ON flow_runs (parent_task_run_id) WHERE parent_task_run_id IS NOT NULL;

CREATE TABLE flow_run_states (
    id UUID PRIMARY KEY,
    workspace_id UUID NOT NULL,
    flow_run_id UUID NOT NULL REFERENCES flow_runs(id) ON DELETE CASCADE,
    type TEXT NOT NULL,
    name TEXT NOT NULL,
    timestamp TIMESTAMPTZ NOT NULL,
    message TEXT,
    data JSONB,
    state_details JSONB NOT NULL DEFAULT '{}'
);
CREATE INDEX flow_run_states_run ON flow_run_states (flow_run_id, timestamp);

CREATE TABLE task_runs (
    id UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    flow_run_id UUID,
    name TEXT NOT NULL,
    task_key TEXT NOT NULL,
    dynamic_key TEXT NOT NULL,
    cache_key TEXT,
    cache_expiration TIMESTAMPTZ,
    task_version TEXT,
    empirical_policy JSONB NOT NULL DEFAULT '{}',
    tags JSONB NOT NULL DEFAULT '[]',
    labels JSONB NOT NULL DEFAULT '{}',
    task_inputs JSONB NOT NULL DEFAULT '{}',
    state_id UUID,
    state_type TEXT,
    state_name TEXT,
    state_timestamp TIMESTAMPTZ,
    run_count INTEGER NOT NULL DEFAULT 0,
    flow_run_run_count INTEGER NOT NULL DEFAULT 0,
    expected_start_time TIMESTAMPTZ,
    next_scheduled_start_time TIMESTAMPTZ,
    start_time TIMESTAMPTZ,
    end_time TIMESTAMPTZ,
    total_run_time DOUBLE PRECISION NOT NULL DEFAULT 0,
    created TIMESTAMPTZ NOT NULL,
    updated TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX task_runs_natural_key ON task_runs (flow_run_id, task_key, dynamic_key);
CREATE INDEX task_runs_ws_flow_run ON task_runs (workspace_id, flow_run_id);
CREATE INDEX task_runs_ws_expected ON task_runs (workspace_id, expected_start_time);

CREATE TABLE task_run_states (
    id UUID PRIMARY KEY,
    workspace_id UUID NOT NULL,
    task_run_id UUID NOT NULL,
    type TEXT NOT NULL,
    name TEXT NOT NULL,
    timestamp TIMESTAMPTZ NOT NULL,
    message TEXT,
    data JSONB,
    state_details JSONB NOT NULL DEFAULT '{}'
);
CREATE INDEX task_run_states_run ON task_run_states (task_run_id, timestamp);

CREATE TABLE logs (
    id UUID PRIMARY KEY,
    workspace_id UUID NOT NULL,
    name TEXT NOT NULL,
    level INTEGER NOT NULL,
    message TEXT NOT NULL,
    timestamp TIMESTAMPTZ NOT NULL,
    flow_run_id UUID,
    task_run_id UUID,
    worker_id UUID,
    created TIMESTAMPTZ NOT NULL
);
CREATE INDEX logs_flow_run ON logs (flow_run_id, timestamp);
CREATE INDEX logs_ws_timestamp ON logs (workspace_id, timestamp);

CREATE TABLE events (
    workspace_id UUID NOT NULL,
    id UUID NOT NULL,
    occurred TIMESTAMPTZ NOT NULL,
    event TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    resource JSONB NOT NULL,
    related JSONB NOT NULL DEFAULT '[]',
    payload JSONB NOT NULL DEFAULT '{}',
    follows UUID,
    received TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (workspace_id, id)
);
CREATE INDEX events_ws_occurred ON events (workspace_id, occurred);
CREATE INDEX events_ws_resource ON events (workspace_id, resource_id, occurred);

CREATE TABLE variables (
    id UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    value JSONB,
    tags JSONB NOT NULL DEFAULT '[]',
    created TIMESTAMPTZ NOT NULL,
    updated TIMESTAMPTZ NOT NULL,
    UNIQUE (workspace_id, name)
);

CREATE TABLE artifacts (
    id UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    key TEXT,
    type TEXT,
    description TEXT,
    data JSONB,
    metadata JSONB,
    flow_run_id UUID,
    task_run_id UUID,
    created TIMESTAMPTZ NOT NULL,
    updated TIMESTAMPTZ NOT NULL
);
CREATE INDEX artifacts_ws_key ON artifacts (workspace_id, key, created);
CREATE INDEX artifacts_flow_run ON artifacts (flow_run_id);
