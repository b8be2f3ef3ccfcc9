-- Deployments and their schedules. A deployment names its work pool and
-- queue by name now; the pools themselves (and work_queue_id's table) come
-- with the workers. Its catch_up policy is Praetor's own.
CREATE TABLE deployments (
    id UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    flow_id UUID NOT NULL REFERENCES flows(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    version TEXT,
    version_id UUID,
    version_info JSONB,
    branch TEXT,
    base UUID,
    root UUID,
    description TEXT,
    paused BOOLEAN NOT NULL DEFAULT false,
    status TEXT NOT NULL DEFAULT 'NOT_READY',
    last_polled TIMESTAMPTZ,
    concurrency_limit INTEGER,
    concurrency_options JSONB,
    job_variables JSONB NOT NULL DEFAULT '{}',
    parameters JSONB NOT NULL DEFAULT '{}',
    parameter_openapi_schema JSONB,
    enforce_parameter_schema BOOLEAN NOT NULL DEFAULT true,
    pull_steps JSONB,
    tags JSONB NOT NULL DEFAULT '[]',
    labels JSONB NOT NULL DEFAULT '{}',
    work_pool_name TEXT,
    work_queue_name TEXT,
    work_queue_id UUID,
    path TEXT,
    entrypoint TEXT,
    storage_document_id UUID,
    infrastructure_document_id UUID,
    created_by JSONB,
    updated_by JSONB,
    catch_up JSONB NOT NULL DEFAULT '{}',
    created TIMESTAMPTZ NOT NULL,
    updated TIMESTAMPTZ NOT NULL,
    UNIQUE (flow_id, name)
);
CREATE INDEX deployments_ws_name ON deployments (workspace_id, name);

CREATE TABLE deployment_schedules (
    id UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    deployment_id UUID NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
    schedule JSONB NOT NULL,
    active BOOLEAN NOT NULL DEFAULT true,
    max_scheduled_runs INTEGER,
    parameters JSONB NOT NULL DEFAULT '{}',
    slug TEXT,
    created TIMESTAMPTZ NOT NULL,
    updated TIMESTAMPTZ NOT NULL
);
CREATE INDEX deployment_schedules_deployment ON deployment_schedules (deployment_id, created);
CREATE UNIQUE INDEX deployment_schedules_slug ON deployment_schedules (deployment_id, slug) WHERE slug IS NOT NULL;

-- The scheduler, the late-run marker and polling runners read only runs
-- that are still SCHEDULED, so these partial indexes stay as small as the
-- queue, whatever the size of the run history.
CREATE INDEX flow_runs_deployment_scheduled ON flow_runs (deployment_id, next_scheduled_start_time) WHERE state_type = 'SCHEDULED';
CREATE INDEX flow_runs_scheduled_next ON flow_runs (next_scheduled_start_time) WHERE state_type = 'SCHEDULED';
