-- Automations (issue #20): triggers over a workspace's events and the
-- actions their firings take. The evaluator's state is durable: the events
-- it has yet to see (automation_event_queue, written in the transaction
-- that stores each event, consumed in the one that evaluates it), the
-- windows its event triggers count in (automation_buckets), the child
-- firings composite triggers wait on, and the actions firings started,
-- which the executor works through and keeps as their record.
CREATE TABLE automations (
    id UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    enabled BOOLEAN NOT NULL DEFAULT true,
    tags JSONB NOT NULL DEFAULT '[]',
    trigger JSONB NOT NULL,
    actions JSONB NOT NULL DEFAULT '[]',
    actions_on_trigger JSONB NOT NULL DEFAULT '[]',
    actions_on_resolve JSONB NOT NULL DEFAULT '[]',
    created TIMESTAMPTZ NOT NULL,
    updated TIMESTAMPTZ NOT NULL
);
CREATE INDEX automations_ws_name ON automations (workspace_id, name);
-- Whether a workspace has enabled automations decides whether its events
-- are queued for them.
CREATE INDEX automations_ws_enabled ON automations (workspace_id, enabled);

CREATE TABLE automation_related_resources (
    automation_id UUID NOT NULL REFERENCES automations(id) ON DELETE CASCADE,
    workspace_id UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    resource_id TEXT NOT NULL,
    owned BOOLEAN NOT NULL DEFAULT false,
    PRIMARY KEY (automation_id, resource_id)
);
CREATE INDEX automation_related_resources_ws ON automation_related_resources (workspace_id, resource_id);

CREATE TABLE automation_event_queue (
    seq BIGSERIAL PRIMARY KEY,
    workspace_id UUID NOT NULL,
    event_id UUID NOT NULL
);

CREATE TABLE automation_buckets (
    workspace_id UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    automation_id UUID NOT NULL REFERENCES automations(id) ON DELETE CASCADE,
    trigger_id UUID NOT NULL,
    bucketing_key TEXT NOT NULL,
    start_time TIMESTAMPTZ NOT NULL,
    end_time TIMESTAMPTZ NOT NULL,
    count INTEGER NOT NULL,
    last_event JSONB,
    updated TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (automation_id, trigger_id, bucketing_key)
);
-- Triggers' ids are unique: the evaluator finds a bucket by its trigger.
CREATE INDEX automation_buckets_trigger ON automation_buckets (trigger_id, bucketing_key);
CREATE INDEX automation_buckets_end ON automation_buckets (end_time);

CREATE TABLE automation_child_firings (
    workspace_id UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    automation_id UUID NOT NULL REFERENCES automations(id) ON DELETE CASCADE,
    parent_trigger_id UUID NOT NULL,
    child_trigger_id UUID NOT NULL,
    child_firing_id UUID NOT NULL,
    child_fired_at TIMESTAMPTZ NOT NULL,
    child_firing JSONB NOT NULL,
    PRIMARY KEY (automation_id, parent_trigger_id, child_trigger_id)
);
CREATE INDEX automation_child_firings_parent ON automation_child_firings (parent_trigger_id);

CREATE TABLE automation_actions (
    id UUID PRIMARY KEY,
    workspace_id UUID NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    automation_id UUID NOT NULL REFERENCES automations(id) ON DELETE CASCADE,
    action_index INTEGER NOT NULL,
    action JSONB NOT NULL,
    triggered TIMESTAMPTZ NOT NULL,
    triggering_labels JSONB NOT NULL DEFAULT '{}',
    triggering_event JSONB,
    triggered_event_id UUID,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt TIMESTAMPTZ,
    last_error TEXT,
    finished TIMESTAMPTZ,
    result TEXT
);
CREATE INDEX automation_actions_due ON automation_actions (state, next_attempt);
CREATE INDEX automation_actions_automation ON automation_actions (automation_id, triggered);
