-- Hardware jobs (reference §A.7, §A.13): a durable queue that replaces a
-- broker which kept nothing. Times are microseconds since the Unix epoch,
-- UTC; limits are microseconds.

-- One row per requested job, kept after it ends so its outcome can be
-- read back. A job is `queued` until a worker claims it (`running`, one
-- attempt used, under a lease the worker renews), and ends `succeeded`,
-- `failed` or `cancelled`. A running job whose lease ran out is queued
-- again while attempts remain. The soft and hard deadlines are set at each
-- claim from the limits: the worker is asked to stop at the first, and past
-- the second its lease is neither renewed nor kept.
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    task TEXT NOT NULL,
    host TEXT NOT NULL,
    worker_group TEXT,
    worker_id TEXT,
    state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    reason TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    attempts INTEGER NOT NULL CHECK (attempts >= 0),
    max_attempts INTEGER NOT NULL CHECK (max_attempts >= 1),
    lease_owner TEXT,
    lease_until INTEGER,
    soft_limit INTEGER CHECK (soft_limit > 0),
    hard_limit INTEGER CHECK (hard_limit > 0),
    soft_deadline INTEGER,
    hard_deadline INTEGER,
    created_at INTEGER NOT NULL,
    started_at INTEGER,
    finished_at INTEGER,
    result TEXT,
    updated_at INTEGER NOT NULL,
    -- Only a running job has a lease: renewing and finishing match on its
    -- owner, so a job that left `running` can never be written by the
    -- worker that had it.
    CHECK ((state = 'running') = (lease_owner IS NOT NULL AND lease_until IS NOT NULL)),
    CHECK ((finished_at IS NOT NULL) = (state IN ('succeeded', 'failed', 'cancelled')))
);
-- Claiming takes the oldest queued job: the queued rows alone, in order,
-- however long the history grows.
CREATE INDEX jobs_queued ON jobs (created_at, id) WHERE state = 'queued';
-- Recovery looks at the running jobs' leases.
CREATE INDEX jobs_running ON jobs (lease_until) WHERE state = 'running';
-- Listings, newest first.
CREATE INDEX jobs_by_host ON jobs (host, created_at DESC, id DESC);
CREATE INDEX jobs_by_state ON jobs (state, created_at DESC, id DESC);
CREATE INDEX jobs_by_created ON jobs (created_at DESC, id DESC);

-- What each attempt of a job did, a line at a time, in the order written.
CREATE TABLE job_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    attempt INTEGER NOT NULL,
    at INTEGER NOT NULL,
    line TEXT NOT NULL
);
CREATE INDEX job_log_by_job ON job_log (job_id, id);
