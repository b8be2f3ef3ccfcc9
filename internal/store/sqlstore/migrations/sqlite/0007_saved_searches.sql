-- Saved searches: named filters of Prefect's web app, one name per
-- workspace.
CREATE TABLE saved_searches (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    filters TEXT NOT NULL DEFAULT '[]',
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    UNIQUE (workspace_id, name)
);
