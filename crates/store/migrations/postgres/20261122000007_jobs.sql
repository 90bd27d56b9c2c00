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
    id BIGSERIAL PRIMARY KEY,
    task TEXT NOT NULL,
    host TEXT NOT NULL,
    worker_group TEXT,
    worker_id TEXT,
    state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    reason TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    attempts BIGINT NOT NULL CHECK (attempts >= 0),
    max_attempts BIGINT NOT NULL CHECK (max_attempts >= 1),
    lease_owner TEXT,
    lease_until BIGINT,
    soft_limit BIGINT CHECK (soft_limit > 0),
    hard_limit BIGINT CHECK (hard_limit > 0),
    soft_deadline BIGINT,
    hard_deadline BIGINT,
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    finished_at BIGINT,
    result TEXT,
    updated_at BIGINT NOT NULL,
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
    id BIGSERIAL PRIMARY KEY,
    job_id BIGINT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    attempt BIGINT NOT NULL,
    at BIGINT NOT NULL,
    line TEXT NOT NULL
);
CREATE INDEX job_log_by_job ON job_log (job_id, id);
