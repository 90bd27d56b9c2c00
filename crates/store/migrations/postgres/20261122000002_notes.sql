-- Notes on hosts: added and cleared, never edited; the current note of a
-- host is decided by fleetroll-core's notes module.
CREATE TABLE notes (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    host TEXT NOT NULL,
    ts BIGINT NOT NULL,
    data JSONB NOT NULL
);
CREATE INDEX notes_by_host ON notes (host, ts, id);
