-- Deployments and their schedules. A deployment names its work pool and
-- queue by name now; the pools themselves (and work_queue_id's table) come
-- with the workers. Its catch_up policy is Praetor's own.
CREATE TABLE deployments (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    flow_id TEXT NOT NULL REFERENCES flows(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    version TEXT,
    version_id TEXT,
    version_info TEXT,
    branch TEXT,
    base TEXT,
    root TEXT,
    description TEXT,
    paused INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'NOT_READY',
    last_polled TEXT,
    concurrency_limit INTEGER,
    concurrency_options TEXT,
    job_variables TEXT NOT NULL DEFAULT '{}',
    parameters TEXT NOT NULL DEFAULT '{}',
    parameter_openapi_schema TEXT,
    enforce_parameter_schema INTEGER NOT NULL DEFAULT 1,
    pull_steps TEXT,
    tags TEXT NOT NULL DEFAULT '[]',
    labels TEXT NOT NULL DEFAULT '{}',
    work_pool_name TEXT,
    work_queue_name TEXT,
    work_queue_id TEXT,
    path TEXT,
    entrypoint TEXT,
    storage_document_id TEXT,
    infrastructure_document_id TEXT,
    created_by TEXT,
    updated_by TEXT,
    catch_up TEXT NOT NULL DEFAULT '{}',
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    UNIQUE (flow_id, name)
);
CREATE INDEX deployments_ws_name ON deployments (workspace_id, name);

CREATE TABLE deployment_schedules (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    deployment_id TEXT NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
    schedule TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    max_scheduled_runs INTEGER,
    parameters TEXT NOT NULL DEFAULT '{}',
    slug TEXT,
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);
CREATE INDEX deployment_schedules_deployment ON deployment_schedules (deployment_id, created);
CREATE UNIQUE INDEX deployment_schedules_slug ON deployment_schedules (deployment_id, slug) WHERE slug IS NOT NULL;

-- The scheduler, the late-run marker and polling runners read only runs
-- that are still SCHEDULED, so these partial indexes stay as small as the
-- queue, whatever the size of the run history.
CREATE INDEX flow_runs_deployment_scheduled ON flow_runs (deployment_id, next_scheduled_start_time) WHERE state_type = 'SCHEDULED';
CREATE INDEX flow_runs_scheduled_next ON flow_runs (next_scheduled_start_time) WHERE state_type = 'SCHEDULED';
