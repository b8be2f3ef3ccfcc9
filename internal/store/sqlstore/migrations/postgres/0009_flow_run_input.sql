-- Flow run inputs (issue #19): keyed values sent to a flow run, such as a
-- paused run's input schema and the input it is resumed with. A key is
-- unique within its run; the rows go with their run.
CREATE TABLE flow_run_inputs (
    id UUID PRIMARY KEY,
    workspace_id UUID NOT NULL,
    flow_run_id UUID NOT NULL REFERENCES flow_runs(id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    sender TEXT,
    created TIMESTAMPTZ NOT NULL,
    updated TIMESTAMPTZ NOT NULL,
    UNIQUE (flow_run_id, key)
);

-- The pause-expiration service reads the PAUSED runs every few seconds.
CREATE INDEX flow_runs_paused ON flow_runs (id) WHERE state_type = 'PAUSED';
