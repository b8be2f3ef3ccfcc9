-- Counters behind the workspace pages, so that a page costs what it shows,
-- not what the history holds: flow runs per (flow, state type), and flow
-- and task runs per (hour of expected start, state type). Triggers keep
-- them in the same transaction as every insert, state change and delete
-- of a run, whichever code path (or foreign-key cascade) makes it. A run
-- without a state counts under the state type ''; a run without an
-- expected start is in no hour. Rows whose count fell to 0 stay; readers
-- skip them.
CREATE TABLE flow_run_counts (
    workspace_id UUID NOT NULL,
    flow_id UUID NOT NULL,
    state_type TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, flow_id, state_type)
);

-- hour is the whole hours from 1970 to the expected start.
CREATE TABLE flow_run_hours (
    workspace_id UUID NOT NULL,
    hour BIGINT NOT NULL,
    state_type TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, hour, state_type)
);

CREATE TABLE task_run_hours (
    workspace_id UUID NOT NULL,
    hour BIGINT NOT NULL,
    state_type TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, hour, state_type)
);

CREATE FUNCTION praetor_run_hour(t TIMESTAMPTZ) RETURNS BIGINT LANGUAGE sql IMMUTABLE AS
    $$ SELECT CAST(FLOOR(EXTRACT(EPOCH FROM t) / 3600) AS BIGINT) $$;

INSERT INTO flow_run_counts (workspace_id, flow_id, state_type, n)
    SELECT workspace_id, flow_id, COALESCE(state_type, ''), COUNT(*) FROM flow_runs GROUP BY 1, 2, 3;
INSERT INTO flow_run_hours (workspace_id, hour, state_type, n)
    SELECT workspace_id, praetor_run_hour(expected_start_time), COALESCE(state_type, ''), COUNT(*)
    FROM flow_runs WHERE expected_start_time IS NOT NULL GROUP BY 1, 2, 3;
INSERT INTO task_run_hours (workspace_id, hour, state_type, n)
    SELECT workspace_id, praetor_run_hour(expected_start_time), COALESCE(state_type, ''), COUNT(*)
    FROM task_runs WHERE expected_start_time IS NOT NULL GROUP BY 1, 2, 3;

CREATE FUNCTION praetor_count_flow_run() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- A bulk insert (COPY) counts its runs itself, all at once.
    IF current_setting('praetor.counted', true) = 'on' THEN
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        UPDATE flow_run_counts SET n = n - 1
            WHERE workspace_id = OLD.workspace_id AND flow_id = OLD.flow_id AND state_type = COALESCE(OLD.state_type, '');
        IF OLD.expected_start_time IS NOT NULL THEN
            UPDATE flow_run_hours SET n = n - 1
                WHERE workspace_id = OLD.workspace_id AND hour = praetor_run_hour(OLD.expected_start_time)
                AND state_type = COALESCE(OLD.state_type, '');
        END IF;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO flow_run_counts AS c (workspace_id, flow_id, state_type, n)
            VALUES (NEW.workspace_id, NEW.flow_id, COALESCE(NEW.state_type, ''), 1)
            ON CONFLICT (workspace_id, flow_id, state_type) DO UPDATE SET n = c.n + 1;
        IF NEW.expected_start_time IS NOT NULL THEN
            INSERT INTO flow_run_hours AS h (workspace_id, hour, state_type, n)
                VALUES (NEW.workspace_id, praetor_run_hour(NEW.expected_start_time), COALESCE(NEW.state_type, ''), 1)
                ON CONFLICT (workspace_id, hour, state_type) DO UPDATE SET n = h.n + 1;
        END IF;
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION praetor_count_task_run() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- A bulk insert (COPY) counts its runs itself, all at once.
    IF current_setting('praetor.counted', true) = 'on' THEN
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' AND OLD.expected_start_time IS NOT NULL THEN
        UPDATE task_run_hours SET n = n - 1
            WHERE workspace_id = OLD.workspace_id AND hour = praetor_run_hour(OLD.expected_start_time)
            AND state_type = COALESCE(OLD.state_type, '');
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.expected_start_time IS NOT NULL THEN
        INSERT INTO task_run_hours AS h (workspace_id, hour, state_type, n)
            VALUES (NEW.workspace_id, praetor_run_hour(NEW.expected_start_time), COALESCE(NEW.state_type, ''), 1)
            ON CONFLICT (workspace_id, hour, state_type) DO UPDATE SET n = h.n + 1;
    END IF;
    RETURN NULL;
END $$;

-- Deferred to the commit: transactions changing runs of one workspace at
-- once update the same counter rows, and hold those rows' locks only while
-- they commit, not for the rest of their work. Most updates of a run leave
-- the counted columns as they were and fire nothing.
CREATE CONSTRAINT TRIGGER flow_runs_count AFTER INSERT OR DELETE ON flow_runs
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION praetor_count_flow_run();
CREATE CONSTRAINT TRIGGER flow_runs_count_update AFTER UPDATE OF workspace_id, flow_id, state_type, expected_start_time ON flow_runs
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.workspace_id IS DISTINCT FROM NEW.workspace_id OR OLD.flow_id IS DISTINCT FROM NEW.flow_id
        OR OLD.state_type IS DISTINCT FROM NEW.state_type OR OLD.expected_start_time IS DISTINCT FROM NEW.expected_start_time)
    EXECUTE FUNCTION praetor_count_flow_run();
CREATE CONSTRAINT TRIGGER task_runs_count AFTER INSERT OR DELETE ON task_runs
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION praetor_count_task_run();
CREATE CONSTRAINT TRIGGER task_runs_count_update AFTER UPDATE OF workspace_id, state_type, expected_start_time ON task_runs
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.workspace_id IS DISTINCT FROM NEW.workspace_id
        OR OLD.state_type IS DISTINCT FROM NEW.state_type OR OLD.expected_start_time IS DISTINCT FROM NEW.expected_start_time)
    EXECUTE FUNCTION praetor_count_task_run();

-- A deleted flow's or workspace's counters go with it.
CREATE FUNCTION praetor_drop_counts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'flows' THEN
        DELETE FROM flow_run_counts WHERE workspace_id = OLD.workspace_id AND flow_id = OLD.id;
    ELSE
        DELETE FROM flow_run_counts WHERE workspace_id = OLD.id;
        DELETE FROM flow_run_hours WHERE workspace_id = OLD.id;
        DELETE FROM task_run_hours WHERE workspace_id = OLD.id;
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER flows_count_delete AFTER DELETE ON flows
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION praetor_drop_counts();
CREATE CONSTRAINT TRIGGER workspaces_count_delete AFTER DELETE ON workspaces
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION praetor_drop_counts();

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
