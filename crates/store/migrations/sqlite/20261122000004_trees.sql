-- Tree status (reference §C): trees, their log, the undo stack, and the API
-- clients allowed to change them. `created_at` and the other times are
-- microseconds since the Unix epoch, UTC. AUTOINCREMENT keeps log and stack
-- ids from being reused after deletions, since clients refer to them.

-- A tree's current state is its newest log row, which `log_id` names (the
-- store moves it in the transaction that writes the row); before the first
-- log, `status` and `reason` are what the tree was created with.
CREATE TABLE trees (
    name TEXT PRIMARY KEY,
    status TEXT NOT NULL CHECK (status IN ('open', 'closed', 'approval required')),
    reason TEXT NOT NULL,
    message_of_the_day TEXT NOT NULL,
    category TEXT NOT NULL
        CHECK (category IN ('development', 'release_stabilization', 'try', 'comm_repos', 'other')),
    log_id INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE tree_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tree TEXT NOT NULL REFERENCES trees (name),
    created_at INTEGER NOT NULL,
    who TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'closed', 'approval required')),
    reason TEXT NOT NULL,
    tags TEXT NOT NULL
);
CREATE INDEX tree_log_newest ON tree_log (tree, created_at DESC, id DESC);

-- The undo stack: one change over several trees, with each tree's state
-- before and after it (`last_state`). `current_log_id` repeats the key of
-- that name in `last_state`, so a log edit finds the entries it amends.
CREATE TABLE tree_changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at INTEGER NOT NULL,
    who TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'closed', 'approval required')),
    reason TEXT NOT NULL
);
CREATE INDEX tree_changes_newest ON tree_changes (created_at DESC, id DESC);

CREATE TABLE tree_change_trees (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    change_id INTEGER NOT NULL REFERENCES tree_changes (id),
    tree TEXT NOT NULL REFERENCES trees (name),
    last_state TEXT NOT NULL,
    current_log_id INTEGER
);
CREATE INDEX tree_change_trees_by_change ON tree_change_trees (change_id, id);
CREATE INDEX tree_change_trees_by_tree ON tree_change_trees (tree);
CREATE INDEX tree_change_trees_by_log ON tree_change_trees (current_log_id);

-- Tree writers serialise on this row; `version` counts committed writes, so
-- a reader can tell whether anything changed since it last looked.
CREATE TABLE trees_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO trees_head (id, version) VALUES (1, 0);

-- Clients of the HTTP API: a token's SHA-256 (never the token), the scopes it
-- holds (a JSON list), and when it was revoked. Names stay unique after
-- revocation, so a name in a log always means one client.
CREATE TABLE api_clients (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    token_hash TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
