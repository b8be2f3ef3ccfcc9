-- Praetor schema, SQLite dialect. Ids are UUID strings, times fixed-width UTC
-- ISO strings (so they sort as text), JSON is TEXT.
CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    handle TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created TEXT NOT NULL
);

CREATE TABLE workspaces (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    handle TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    is_default INTEGER NOT NULL DEFAULT 0,
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    UNIQUE (account_id, handle)
);
CREATE UNIQUE INDEX workspaces_default ON workspaces (is_default) WHERE is_default = 1;

CREATE TABLE flows (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    tags TEXT NOT NULL DEFAULT '[]',
    labels TEXT NOT NULL DEFAULT '{}',
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    UNIQUE (workspace_id, name)
);

CREATE TABLE flow_runs (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    flow_id TEXT NOT NULL REFERENCES flows(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    state_id TEXT,
    state_type TEXT,
    state_name TEXT,
    state_timestamp TEXT,
    run_count INTEGER NOT NULL DEFAULT 0,
    expected_start_time TEXT,
    next_scheduled_start_time TEXT,
    start_time TEXT,
    end_time TEXT,
    total_run_time REAL NOT NULL DEFAULT 0,
    parent_task_run_id TEXT,
    deployment_id TEXT,
    deployment_version TEXT,
    work_queue_id TEXT,
    work_queue_name TEXT,
    work_pool_id TEXT,
    work_pool_name TEXT,
    flow_version TEXT,
    idempotency_key TEXT,
    auto_scheduled INTEGER NOT NULL DEFAULT 0,
    infrastructure_document_id TEXT,
    infrastructure_pid TEXT,
    parameters TEXT NOT NULL DEFAULT '{}',
    context TEXT NOT NULL DEFAULT '{}',
    empirical_policy TEXT NOT NULL DEFAULT '{}',
    tags TEXT NOT NULL DEFAULT '[]',
    labels TEXT NOT NULL DEFAULT '{}',
    job_variables TEXT NOT NULL DEFAULT '{}',
    created_by TEXT,
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);
CREATE UNIQUE INDEX flow_runs_idempotency ON flow_runs (flow_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX flow_runs_ws_state_expected ON flow_runs (workspace_id, state_type, expected_start_time);
CREATE INDEX flow_runs_ws_expected ON flow_runs (workspace_id, expected_start_time);
CREATE INDEX flow_runs_ws_flow ON flow_runs (workspace_id, flow_id);
CREATE INDEX flow_runs_ws_deployment ON flow_runs (workspace_id, deployment_id);
CREATE INDEX flow_runs_parent_task_run ON flow_runs (parent_task_run_id) WHERE parent_task_run_id IS NOT NULL;

CREATE TABLE flow_run_states (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    flow_run_id TEXT NOT NULL REFERENCES flow_runs(id) ON DELETE CASCADE,
    type TEXT NOT NULL,
    name TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    message TEXT,
    data TEXT,
    state_details TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX flow_run_states_run ON flow_run_states (flow_run_id, timestamp);

CREATE TABLE task_runs (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    flow_run_id TEXT,
    name TEXT NOT NULL,
    task_key TEXT NOT NULL,
    dynamic_key TEXT NOT NULL,
    cache_key TEXT,
    cache_expiration TEXT,
    task_version TEXT,
    empirical_policy TEXT NOT NULL DEFAULT '{}',
    tags TEXT NOT NULL DEFAULT '[]',
    labels TEXT NOT NULL DEFAULT '{}',
    task_inputs TEXT NOT NULL DEFAULT '{}',
    state_id TEXT,
    state_type TEXT,
    state_name TEXT,
    state_timestamp TEXT,
    run_count INTEGER NOT NULL DEFAULT 0,
    flow_run_run_count INTEGER NOT NULL DEFAULT 0,
    expected_start_time TEXT,
    next_scheduled_start_time TEXT,
    start_time TEXT,
    end_time TEXT,
    total_run_time REAL NOT NULL DEFAULT 0,
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);
CREATE UNIQUE INDEX task_runs_natural_key ON task_runs (flow_run_id, task_key, dynamic_key);
CREATE INDEX task_runs_ws_flow_run ON task_runs (workspace_id, flow_run_id);
CREATE INDEX task_runs_ws_expected ON task_runs (workspace_id, expected_start_time);

CREATE TABLE task_run_states (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    task_run_id TEXT NOT NULL,
    type TEXT NOT NULL,
    name TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    message TEXT,
    data TEXT,
    state_details TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX task_run_states_run ON task_run_states (task_run_id, timestamp);

CREATE TABLE logs (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    name TEXT NOT NULL,
    level INTEGER NOT NULL,
    message TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    flow_run_id TEXT,
    task_run_id TEXT,
    worker_id TEXT,
    created TEXT NOT NULL
);
CREATE INDEX logs_flow_run ON logs (flow_run_id, timestamp);
CREATE INDEX logs_ws_timestamp ON logs (workspace_id, timestamp);

CREATE TABLE events (
    workspace_id TEXT NOT NULL,
    id TEXT NOT NULL,
    occurred TEXT NOT NULL,
    event TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    resource TEXT NOT NULL,
    related TEXT NOT NULL DEFAULT '[]',
    payload TEXT NOT NULL DEFAULT '{}',
    follows TEXT,
    received TEXT NOT NULL,
    PRIMARY KEY (workspace_id, id)
);
CREATE INDEX events_ws_occurred ON events (workspace_id, occurred);
CREATE INDEX events_ws_resource ON events (workspace_id, resource_id, occurred);

CREATE TABLE variables (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    value TEXT,
    tags TEXT NOT NULL DEFAULT '[]',
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    UNIQUE (workspace_id, name)
);

CREATE TABLE artifacts (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    key TEXT,
    type TEXT,
    description TEXT,
    data TEXT,
    metadata TEXT,
    flow_run_id TEXT,
    task_run_id TEXT,
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);
CREATE INDEX artifacts_ws_key ON artifacts (workspace_id, key, created);
CREATE INDEX artifacts_flow_run ON artifacts (flow_run_id);
