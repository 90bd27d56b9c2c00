-- Notes on hosts: added and cleared, never edited; the current note of a
-- host is decided by fleetroll-core's notes module.
CREATE TABLE notes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    host TEXT NOT NULL,
    ts INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX notes_by_host ON notes (host, ts, id);
