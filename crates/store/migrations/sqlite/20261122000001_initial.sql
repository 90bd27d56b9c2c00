-- Keyed records: indexed key columns, a timestamp, and the whole record as JSON
-- (the MVP's hybrid layout). `ts` is microseconds since the Unix epoch, UTC, so
-- both backends order and round-trip it identically. AUTOINCREMENT keeps ids
-- increasing even after retention deletes the newest row of a table.
CREATE TABLE host_observations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    host TEXT NOT NULL,
    ts INTEGER NOT NULL,
    ok INTEGER NOT NULL CHECK (ok IN (0, 1)),
    data TEXT NOT NULL
);
CREATE INDEX host_observations_newest ON host_observations (host, ts DESC, id DESC);
-- The newest good observation of every host, read by the monitor, without
-- walking the failures that followed it.
CREATE INDEX host_observations_newest_ok ON host_observations (host, ts DESC, id DESC) WHERE ok;

CREATE TABLE tc_workers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    host TEXT NOT NULL,
    ts INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX tc_workers_newest ON tc_workers (host, ts DESC, id DESC);

CREATE TABLE github_refs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    owner TEXT NOT NULL,
    repo TEXT NOT NULL,
    branch TEXT NOT NULL,
    ts INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX github_refs_newest ON github_refs (owner, repo, branch, ts DESC, id DESC);

CREATE TABLE windows_pools (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    pool_name TEXT NOT NULL,
    ts INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX windows_pools_newest ON windows_pools (pool_name, ts DESC, id DESC);

-- The audit trail is append-only: the triggers refuse edits and deletions, and
-- the hash chain (see fleetroll-core's audit module) exposes any that bypass them.
CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY,
    ts INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    hosts TEXT NOT NULL,
    parameters TEXT NOT NULL,
    result TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit trail is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit trail is append-only');
END;

-- The newest record's number and hash: appends serialise on this row, and
-- verification compares the trail's end with it to catch truncation.
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
