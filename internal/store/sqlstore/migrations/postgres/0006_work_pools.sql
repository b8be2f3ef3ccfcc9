-- Work pools, their queues and their workers (issue #18). Numbered 0006 in
-- the merged tree; 0005 here while this branch has no 0005 of its own.
CREATE TABLE work_pools (
    id UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT,
    type TEXT NOT NULL,
    base_job_template JSONB NOT NULL DEFAULT '{}',
    is_paused BOOLEAN NOT NULL DEFAULT false,
    concurrency_limit INTEGER,
    status TEXT NOT NULL DEFAULT 'NOT_READY',
    default_queue_id UUID,
    storage_configuration JSONB NOT NULL DEFAULT '{}',
    created TIMESTAMPTZ NOT NULL,
    updated TIMESTAMPTZ NOT NULL,
    UNIQUE (workspace_id, name)
);

CREATE TABLE work_queues (
    id UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    work_pool_id UUID NOT NULL REFERENCES work_pools(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT,
    is_paused BOOLEAN NOT NULL DEFAULT false,
    concurrency_limit INTEGER,
    priority INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'NOT_READY',
    last_polled TIMESTAMPTZ,
    created TIMESTAMPTZ NOT NULL,
    updated TIMESTAMPTZ NOT NULL,
    UNIQUE (work_pool_id, name)
);
CREATE INDEX work_queues_pool_priority ON work_queues (work_pool_id, priority);
CREATE INDEX work_queues_ws_name ON work_queues (workspace_id, name);

-- A worker is known by its pool and name; the foreman reads every worker
-- by status.
CREATE TABLE workers (
    id UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    work_pool_id UUID NOT NULL REFERENCES work_pools(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    last_heartbeat_time TIMESTAMPTZ,
    heartbeat_interval_seconds INTEGER,
    status TEXT NOT NULL DEFAULT 'OFFLINE',
    created TIMESTAMPTZ NOT NULL,
    updated TIMESTAMPTZ NOT NULL,
    UNIQUE (work_pool_id, name)
);
CREATE INDEX workers_pool_heartbeat ON workers (work_pool_id, last_heartbeat_time);

-- A worker's poll reads a queue's SCHEDULED runs and counts its PENDING
-- and RUNNING ones; both partial indexes stay as small as what they hold.
-- The first holds only queued runs (work_queue_id = ? implies its
-- predicate), so the scheduler's queries of 0004, which name no queue,
-- cannot take it for theirs.
CREATE INDEX flow_runs_queue_scheduled ON flow_runs (work_queue_id, next_scheduled_start_time)
    WHERE state_type = 'SCHEDULED' AND work_queue_id IS NOT NULL;
CREATE INDEX flow_runs_queue_active ON flow_runs (work_queue_id) WHERE state_type IN ('PENDING', 'RUNNING');
-- Deployments of a queue, marked READY when it is polled.
CREATE INDEX deployments_work_queue ON deployments (work_queue_id);
