-- The runs of a work queue, any state: deleting the queue, or its pool,
-- clears their queue and pool, as Prefect's foreign key does (the partial
-- indexes of 0006 hold only the queued and the active runs).
CREATE INDEX flow_runs_work_queue ON flow_runs (work_queue_id) WHERE work_queue_id IS NOT NULL;
