-- Worker liveness from Taskcluster's queue events (reference §B). Times are
-- microseconds since the Unix epoch, UTC.

-- When each worker was last known alive. A writer only ever raises
-- `last_seen`, so redelivered and out-of-order events cannot make a worker
-- look older than it is.
CREATE TABLE worker_sightings (
    worker_group TEXT NOT NULL,
    worker_id TEXT NOT NULL,
    last_seen INTEGER NOT NULL,
    PRIMARY KEY (worker_group, worker_id)
) WITHOUT ROWID;

-- Each task run a worker started or resolved, as its furthest event said.
-- `state_rank` is core's `RunState::rank`: a row is replaced only by a state
-- of higher rank, so a late `running` never reopens a resolved run. Keyed
-- by the run, which every upsert looks up, so the rows are stored in that
-- order rather than behind a rowid.
CREATE TABLE worker_runs (
    task_id TEXT NOT NULL,
    run_id INTEGER NOT NULL,
    worker_group TEXT NOT NULL,
    worker_id TEXT NOT NULL,
    provisioner_id TEXT NOT NULL,
    worker_type TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('running', 'completed', 'failed', 'exception')),
    state_rank INTEGER NOT NULL CHECK (state_rank = CASE state WHEN 'running' THEN 1 ELSE 2 END),
    reason_resolved TEXT,
    started INTEGER,
    resolved INTEGER,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (task_id, run_id)
) WITHOUT ROWID;
-- A worker's runs, newest first (SQLite puts NULLs last when descending).
CREATE INDEX worker_runs_by_worker ON worker_runs (worker_group, worker_id, started DESC, task_id DESC, run_id DESC);
-- Runs resolved since a time, and the runs still open, for the workers list.
CREATE INDEX worker_runs_by_resolved ON worker_runs (resolved);
CREATE INDEX worker_runs_running ON worker_runs (started) WHERE state_rank = 1;
