-- Global (v2) concurrency limits and their leases (issue #19). Tag limits
-- are the limits named "tag:<tag>", as in Prefect 3; a deployment's limit
-- is named "deployment:<id>". Slots are counted in the limit's row, so an
-- acquisition is one locked read and update of the rows it names.
CREATE TABLE concurrency_limits (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    slot_limit INTEGER NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    active_slots INTEGER NOT NULL DEFAULT 0,
    denied_slots INTEGER NOT NULL DEFAULT 0,
    slot_decay_per_second REAL NOT NULL DEFAULT 0,
    avg_slot_occupancy_seconds REAL NOT NULL DEFAULT 2,
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    UNIQUE (workspace_id, name)
);

-- A lease holds slots of one or more limits until it is released or
-- expires; the lease reaper reads them by expiration across workspaces.
CREATE TABLE concurrency_leases (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    slots INTEGER NOT NULL,
    holder_type TEXT,
    holder_id TEXT,
    expiration TEXT NOT NULL,
    created TEXT NOT NULL
);
CREATE INDEX concurrency_leases_expiration ON concurrency_leases (expiration);
-- A task run's end gives back the leases it holds.
CREATE INDEX concurrency_leases_holder ON concurrency_leases (holder_id);

CREATE TABLE concurrency_lease_limits (
    lease_id TEXT NOT NULL REFERENCES concurrency_leases(id) ON DELETE CASCADE,
    limit_id TEXT NOT NULL REFERENCES concurrency_limits(id) ON DELETE CASCADE,
    PRIMARY KEY (lease_id, limit_id)
);
CREATE INDEX concurrency_lease_limits_limit ON concurrency_lease_limits (limit_id);
