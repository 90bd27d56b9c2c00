-- Each worker's runs resolved since a time, for the outcomes of the workers
-- list: one seek per worker, answered from the index alone.
CREATE INDEX worker_runs_outcomes ON worker_runs (worker_group, worker_id, resolved, state) WHERE state_rank = 2;
