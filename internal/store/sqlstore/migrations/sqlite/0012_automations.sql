-- Automations (issue #20): triggers over a workspace's events and the
-- actions their firings take. The evaluator's state is durable: the events
-- it has yet to see (automation_event_queue, written in the transaction
-- that stores each event, consumed in the one that evaluates it), the
-- windows its event triggers count in (automation_buckets), the child
-- firings composite triggers wait on, and the actions firings started,
-- which the executor works through and keeps as their record.
CREATE TABLE automations (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    enabled INTEGER NOT NULL DEFAULT 1,
    tags TEXT NOT NULL DEFAULT '[]',
    trigger TEXT NOT NULL,
    actions TEXT NOT NULL DEFAULT '[]',
    actions_on_trigger TEXT NOT NULL DEFAULT '[]',
    actions_on_resolve TEXT NOT NULL DEFAULT '[]',
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);
CREATE INDEX automations_ws_name ON automations (workspace_id, name);
-- Whether a workspace has enabled automations decides whether its events
-- are queued for them.
CREATE INDEX automations_ws_enabled ON automations (workspace_id, enabled);

CREATE TABLE automation_related_resources (
    automation_id TEXT NOT NULL REFERENCES automations(id) ON DELETE CASCADE,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    resource_id TEXT NOT NULL,
    owned INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (automation_id, resource_id)
);
CREATE INDEX automation_related_resources_ws ON automation_related_resources (workspace_id, resource_id);

CREATE TABLE automation_event_queue (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id TEXT NOT NULL,
    event_id TEXT NOT NULL
);

CREATE TABLE automation_buckets (
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    automation_id TEXT NOT NULL REFERENCES automations(id) ON DELETE CASCADE,
    trigger_id TEXT NOT NULL,
    bucketing_key TEXT NOT NULL,
    start_time TEXT NOT NULL,
    end_time TEXT NOT NULL,
    count INTEGER NOT NULL,
    last_event TEXT,
    updated TEXT NOT NULL,
    PRIMARY KEY (automation_id, trigger_id, bucketing_key)
);
-- Triggers' ids are unique: the evaluator finds a bucket by its trigger.
CREATE INDEX automation_buckets_trigger ON automation_buckets (trigger_id, bucketing_key);
CREATE INDEX automation_buckets_end ON automation_buckets (end_time);

CREATE TABLE automation_child_firings (
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    automation_id TEXT NOT NULL REFERENCES automations(id) ON DELETE CASCADE,
    parent_trigger_id TEXT NOT NULL,
    child_trigger_id TEXT NOT NULL,
    child_firing_id TEXT NOT NULL,
    child_fired_at TEXT NOT NULL,
    child_firing TEXT NOT NULL,
    PRIMARY KEY (automation_id, parent_trigger_id, child_trigger_id)
);
CREATE INDEX automation_child_firings_parent ON automation_child_firings (parent_trigger_id);

CREATE TABLE automation_actions (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    automation_id TEXT NOT NULL REFERENCES automations(id) ON DELETE CASCADE,
    action_index INTEGER NOT NULL,
    action TEXT NOT NULL,
    triggered TEXT NOT NULL,
    triggering_labels TEXT NOT NULL DEFAULT '{}',
    triggering_event TEXT,
    triggered_event_id TEXT,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt TEXT,
    last_error TEXT,
    finished TEXT,
    result TEXT
);
CREATE INDEX automation_actions_due ON automation_actions (state, next_attempt);
CREATE INDEX automation_actions_automation ON automation_actions (automation_id, triggered);
