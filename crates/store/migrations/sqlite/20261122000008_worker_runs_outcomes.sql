-- Each worker's runs resolved since a time, for the outcomes of the workers
-- list: one seek per worker, answered from the index alone, and already in
-- the order the counts are grouped in. `worker_runs_by_resolved` finds the
-- same rows, but then every one is looked up in the table and sorted by
-- worker.
CREATE INDEX worker_runs_outcomes ON worker_runs (worker_group, worker_id, resolved, state) WHERE state_rank = 2;
