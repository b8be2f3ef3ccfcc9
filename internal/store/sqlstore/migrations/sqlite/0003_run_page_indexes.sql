-- Indexes for the workspace pages. Each lets one page query find its rows
-- and read them in order from a single index, whatever the planner knows
-- about the data (SQLite has no statistics unless ANALYZE ran): a run's
-- logs and task runs, a flow's runs, a run's subflows. Every query of
-- these tables names its workspace, so the new indexes also serve every
-- query the ones they replace did.
DROP INDEX logs_flow_run;
CREATE INDEX logs_ws_flow_run_ts ON logs (workspace_id, flow_run_id, timestamp);

DROP INDEX task_runs_ws_flow_run;
CREATE INDEX task_runs_ws_flow_run_expected ON task_runs (workspace_id, flow_run_id, expected_start_time);

DROP INDEX flow_runs_ws_flow;
CREATE INDEX flow_runs_ws_flow_expected ON flow_runs (workspace_id, flow_id, expected_start_time);

-- Subflow runs only: most runs have no parent and stay out of it.
CREATE INDEX flow_runs_ws_parent ON flow_runs (workspace_id, parent_task_run_id, expected_start_time)
    WHERE parent_task_run_id IS NOT NULL;
