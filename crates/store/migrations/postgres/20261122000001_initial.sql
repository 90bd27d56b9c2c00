-- Keyed records: indexed key columns, a timestamp, and the whole record as JSON
-- (the MVP's hybrid layout). `ts` is microseconds since the Unix epoch, UTC, so
-- both backends order and round-trip it identically.
CREATE TABLE host_observations (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    host TEXT NOT NULL,
    ts BIGINT NOT NULL,
    ok BOOLEAN NOT NULL,
    data JSONB NOT NULL
);
CREATE INDEX host_observations_newest ON host_observations (host, ts DESC, id DESC);
-- The newest good observation of every host, read by the monitor, without
-- walking the failures that followed it.
CREATE INDEX host_observations_newest_ok ON host_observations (host, ts DESC, id DESC) WHERE ok;

CREATE TABLE tc_workers (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    host TEXT NOT NULL,
    ts BIGINT NOT NULL,
    data JSONB NOT NULL
);
CREATE INDEX tc_workers_newest ON tc_workers (host, ts DESC, id DESC);

CREATE TABLE github_refs (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner TEXT NOT NULL,
    repo TEXT NOT NULL,
    branch TEXT NOT NULL,
    ts BIGINT NOT NULL,
    data JSONB NOT NULL
);
CREATE INDEX github_refs_newest ON github_refs (owner, repo, branch, ts DESC, id DESC);

CREATE TABLE windows_pools (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    pool_name TEXT NOT NULL,
    ts BIGINT NOT NULL,
    data JSONB NOT NULL
);
CREATE INDEX windows_pools_newest ON windows_pools (pool_name, ts DESC, id DESC);

-- The audit trail is append-only: the trigger refuses edits and deletions, and
-- the hash chain (see fleetroll-core's audit module) exposes any that bypass it.
-- JSON columns are TEXT here, not JSONB: the hash covers the exact text written.
CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY,
    ts BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    hosts TEXT NOT NULL,
    parameters TEXT NOT NULL,
    result TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only';
END;
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

-- The newest record's number and hash: appends serialise on this row (its row
-- lock), and verification compares the trail's end with it to catch truncation.
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
