-- Counters behind the workspace pages, so that a page costs what it shows,
-- not what the history holds: flow runs per (flow, state type), and flow
-- and task runs per (hour of expected start, state type). Triggers keep
-- them in the same transaction as every insert, state change and delete
-- of a run, whichever code path (or foreign-key cascade) makes it. A run
-- without a state counts under the state type ''; a run without an
-- expected start is in no hour. Rows whose count fell to 0 stay; readers
-- skip them.
CREATE TABLE flow_run_counts (
    workspace_id TEXT NOT NULL,
    flow_id TEXT NOT NULL,
    state_type TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, flow_id, state_type)
) WITHOUT ROWID;

-- hour is the whole hours from 1970 to the expected start.
CREATE TABLE flow_run_hours (
    workspace_id TEXT NOT NULL,
    hour INTEGER NOT NULL,
    state_type TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, hour, state_type)
) WITHOUT ROWID;

CREATE TABLE task_run_hours (
    workspace_id TEXT NOT NULL,
    hour INTEGER NOT NULL,
    state_type TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, hour, state_type)
) WITHOUT ROWID;

INSERT INTO flow_run_counts (workspace_id, flow_id, state_type, n)
    SELECT workspace_id, flow_id, COALESCE(state_type, ''), COUNT(*) FROM flow_runs GROUP BY 1, 2, 3;
INSERT INTO flow_run_hours (workspace_id, hour, state_type, n)
    SELECT workspace_id, CAST(strftime('%s', expected_start_time) AS INTEGER) / 3600, COALESCE(state_type, ''), COUNT(*)
    FROM flow_runs WHERE expected_start_time IS NOT NULL GROUP BY 1, 2, 3;
INSERT INTO task_run_hours (workspace_id, hour, state_type, n)
    SELECT workspace_id, CAST(strftime('%s', expected_start_time) AS INTEGER) / 3600, COALESCE(state_type, ''), COUNT(*)
    FROM task_runs WHERE expected_start_time IS NOT NULL GROUP BY 1, 2, 3;

CREATE TRIGGER flow_runs_count_insert AFTER INSERT ON flow_runs BEGIN
    INSERT INTO flow_run_counts (workspace_id, flow_id, state_type, n)
        VALUES (NEW.workspace_id, NEW.flow_id, COALESCE(NEW.state_type, ''), 1)
        ON CONFLICT (workspace_id, flow_id, state_type) DO UPDATE SET n = n + 1;
    INSERT INTO flow_run_hours (workspace_id, hour, state_type, n)
        SELECT NEW.workspace_id, CAST(strftime('%s', NEW.expected_start_time) AS INTEGER) / 3600, COALESCE(NEW.state_type, ''), 1
        WHERE NEW.expected_start_time IS NOT NULL
        ON CONFLICT (workspace_id, hour, state_type) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER flow_runs_count_delete AFTER DELETE ON flow_runs BEGIN
    UPDATE flow_run_counts SET n = n - 1
        WHERE workspace_id = OLD.workspace_id AND flow_id = OLD.flow_id AND state_type = COALESCE(OLD.state_type, '');
    UPDATE flow_run_hours SET n = n - 1
        WHERE workspace_id = OLD.workspace_id AND hour = CAST(strftime('%s', OLD.expected_start_time) AS INTEGER) / 3600
        AND state_type = COALESCE(OLD.state_type, '');
END;

-- Most updates of a run (a heartbeat of fields, a rename) leave these
-- columns as they were and cost nothing more.
CREATE TRIGGER flow_runs_count_update AFTER UPDATE OF workspace_id, flow_id, state_type, expected_start_time ON flow_runs
WHEN OLD.workspace_id IS NOT NEW.workspace_id OR OLD.flow_id IS NOT NEW.flow_id
    OR OLD.state_type IS NOT NEW.state_type OR OLD.expected_start_time IS NOT NEW.expected_start_time
BEGIN
    UPDATE flow_run_counts SET n = n - 1
        WHERE workspace_id = OLD.workspace_id AND flow_id = OLD.flow_id AND state_type = COALESCE(OLD.state_type, '');
    UPDATE flow_run_hours SET n = n - 1
        WHERE workspace_id = OLD.workspace_id AND hour = CAST(strftime('%s', OLD.expected_start_time) AS INTEGER) / 3600
        AND state_type = COALESCE(OLD.state_type, '');
    INSERT INTO flow_run_counts (workspace_id, flow_id, state_type, n)
        VALUES (NEW.workspace_id, NEW.flow_id, COALESCE(NEW.state_type, ''), 1)
        ON CONFLICT (workspace_id, flow_id, state_type) DO UPDATE SET n = n + 1;
    INSERT INTO flow_run_hours (workspace_id, hour, state_type, n)
        SELECT NEW.workspace_id, CAST(strftime('%s', NEW.expected_start_time) AS INTEGER) / 3600, COALESCE(NEW.state_type, ''), 1
        WHERE NEW.expected_start_time IS NOT NULL
        ON CONFLICT (workspace_id, hour, state_type) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER task_runs_count_insert AFTER INSERT ON task_runs BEGIN
    INSERT INTO task_run_hours (workspace_id, hour, state_type, n)
        SELECT NEW.workspace_id, CAST(strftime('%s', NEW.expected_start_time) AS INTEGER) / 3600, COALESCE(NEW.state_type, ''), 1
        WHERE NEW.expected_start_time IS NOT NULL
        ON CONFLICT (workspace_id, hour, state_type) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER task_runs_count_delete AFTER DELETE ON task_runs BEGIN
    UPDATE task_run_hours SET n = n - 1
        WHERE workspace_id = OLD.workspace_id AND hour = CAST(strftime('%s', OLD.expected_start_time) AS INTEGER) / 3600
        AND state_type = COALESCE(OLD.state_type, '');
END;

CREATE TRIGGER task_runs_count_update AFTER UPDATE OF workspace_id, state_type, expected_start_time ON task_runs
WHEN OLD.workspace_id IS NOT NEW.workspace_id
    OR OLD.state_type IS NOT NEW.state_type OR OLD.expected_start_time IS NOT NEW.expected_start_time
BEGIN
    UPDATE task_run_hours SET n = n - 1
        WHERE workspace_id = OLD.workspace_id AND hour = CAST(strftime('%s', OLD.expected_start_time) AS INTEGER) / 3600
        AND state_type = COALESCE(OLD.state_type, '');
    INSERT INTO task_run_hours (workspace_id, hour, state_type, n)
        SELECT NEW.workspace_id, CAST(strftime('%s', NEW.expected_start_time) AS INTEGER) / 3600, COALESCE(NEW.state_type, ''), 1
        WHERE NEW.expected_start_time IS NOT NULL
        ON CONFLICT (workspace_id, hour, state_type) DO UPDATE SET n = n + 1;
END;

-- A deleted flow's or workspace's counters go with it (its runs' deletes
-- brought them to 0).
CREATE TRIGGER flows_count_delete AFTER DELETE ON flows BEGIN
    DELETE FROM flow_run_counts WHERE workspace_id = OLD.workspace_id AND flow_id = OLD.id;
END;

CREATE TRIGGER workspaces_count_delete AFTER DELETE ON workspaces BEGIN
    DELETE FROM flow_run_counts WHERE workspace_id = OLD.id;
    DELETE FROM flow_run_hours WHERE workspace_id = OLD.id;
    DELETE FROM task_run_hours WHERE workspace_id = OLD.id;
END;

-- The dashboard's upcoming runs (scheduled, by next scheduled start) read
-- this in order, however few of the history's runs they are.
CREATE INDEX flow_runs_ws_state_next ON flow_runs (workspace_id, state_type, next_scheduled_start_time);

-- Its late runs are the scheduled ones named Late in a window: with the
-- state name in the (workspace_id, state_type, expected_start_time) index,
-- the window's other scheduled runs are passed over in the index, not
-- read from the table.
DROP INDEX flow_runs_ws_state_expected;
CREATE INDEX flow_runs_ws_state_expected ON flow_runs (workspace_id, state_type, expected_start_time, state_name);

-- Fresh statistics for the new and rebuilt indexes: with the old ones'
-- statistics and none for these, SQLite's planner takes an index that
-- matches a workspace's whole history for one that matches a handful, and
-- sorts all of it for a page of 25.
ANALYZE flow_runs;
