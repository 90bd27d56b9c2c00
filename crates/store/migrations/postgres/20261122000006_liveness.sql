-- Worker liveness from Taskcluster's queue events (reference §B). Times are
-- microseconds since the Unix epoch, UTC.

-- Identifiers sort by their bytes (`COLLATE "C"`), as SQLite's do, so both
-- backends list workers and runs in one order whatever the server's locale.

-- When each worker was last known alive. A writer only ever raises
-- `last_seen`, so redelivered and out-of-order events cannot make a worker
-- look older than it is.
CREATE TABLE worker_sightings (
    worker_group TEXT COLLATE "C" NOT NULL,
    worker_id TEXT COLLATE "C" NOT NULL,
    last_seen BIGINT NOT NULL,
    PRIMARY KEY (worker_group, worker_id)
);

-- Each task run a worker started or resolved, as its furthest event said.
-- `state_rank` is core's `RunState::rank`: a row is replaced only by a state
-- of higher rank, so a late `running` never reopens a resolved run.
CREATE TABLE worker_runs (
    task_id TEXT COLLATE "C" NOT NULL,
    run_id BIGINT NOT NULL,
    worker_group TEXT COLLATE "C" NOT NULL,
    worker_id TEXT COLLATE "C" NOT NULL,
    provisioner_id TEXT NOT NULL,
    worker_type TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('running', 'completed', 'failed', 'exception')),
    state_rank BIGINT NOT NULL CHECK (state_rank = CASE state WHEN 'running' THEN 1 ELSE 2 END),
    reason_resolved TEXT,
    started BIGINT,
    resolved BIGINT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (task_id, run_id)
);
-- A worker's runs, newest first, runs without a start last.
CREATE INDEX worker_runs_by_worker
    ON worker_runs (worker_group, worker_id, started DESC NULLS LAST, task_id DESC, run_id DESC);
-- Runs resolved since a time, and the runs still open, for the workers list.
CREATE INDEX worker_runs_by_resolved ON worker_runs (resolved);
CREATE INDEX worker_runs_running ON worker_runs (started) WHERE state_rank = 1;
