//! Which table each kind of record lives in, and under which key.

use fleetroll_core::records::{BranchRef, HostObservation, ObservedHost, TcWorker, WindowsPool};
use fleetroll_core::time::Timestamp;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A table of keyed records: its name, its key columns, and whether it keeps
/// the newest good record of a key beyond the retention window.
#[derive(Debug)]
pub struct Table {
    pub name: &'static str,
    pub key_columns: &'static [&'static str],
    /// Only observations have an `ok` column; the newest `ok` row of a host is
    /// kept even when newer failures push it out of the window, so a host's
    /// last known good state is never lost to a run of failed audits.
    pub keeps_last_ok: bool,
    /// Whether `<name>_latest` points at each key's newest row (and, with
    /// `keeps_last_ok`, its newest good row), moved by every write; tables
    /// that keep the last good row must have it, as pruning reads it. A
    /// table with pointers has one key column: newest rows are read in runs
    /// paged on it.
    pub latest_pointers: bool,
}

/// A record kept in a keyed table; the whole record is stored as JSON beside
/// its key columns.
pub trait Record: Serialize + DeserializeOwned + Send + Sync + 'static {
    const TABLE: Table;
    /// The key's values, in the order of `TABLE.key_columns`.
    fn key(&self) -> Vec<&str>;
    fn ts(&self) -> Timestamp;
    /// Whether this record is a good one; meaningful where `keeps_last_ok`.
    fn is_ok(&self) -> bool {
        true
    }
}

impl Record for HostObservation {
    const TABLE: Table =
        Table { name: "host_observations", key_columns: &["host"], keeps_last_ok: true, latest_pointers: true };
    fn key(&self) -> Vec<&str> {
        vec![&self.host]
    }
    fn ts(&self) -> Timestamp {
        self.ts
    }
    fn is_ok(&self) -> bool {
        self.ok
    }
}

/// The same rows as [`HostObservation`], read with `observed` decoded.
impl Record for ObservedHost {
    const TABLE: Table = HostObservation::TABLE;
    fn key(&self) -> Vec<&str> {
        vec![&self.host]
    }
    fn ts(&self) -> Timestamp {
        self.ts
    }
    fn is_ok(&self) -> bool {
        self.ok
    }
}

impl Record for TcWorker {
    const TABLE: Table =
        Table { name: "tc_workers", key_columns: &["host"], keeps_last_ok: false, latest_pointers: true };
    fn key(&self) -> Vec<&str> {
        vec![&self.host]
    }
    fn ts(&self) -> Timestamp {
        self.ts
    }
}

impl Record for BranchRef {
    const TABLE: Table = Table {
        name: "github_refs",
        key_columns: &["owner", "repo", "branch"],
        keeps_last_ok: false,
        latest_pointers: false,
    };
    fn key(&self) -> Vec<&str> {
        vec![&self.owner, &self.repo, &self.branch]
    }
    fn ts(&self) -> Timestamp {
        self.ts
    }
}

impl Record for WindowsPool {
    const TABLE: Table =
        Table { name: "windows_pools", key_columns: &["pool_name"], keeps_last_ok: false, latest_pointers: false };
    fn key(&self) -> Vec<&str> {
        vec![&self.pool_name]
    }
    fn ts(&self) -> Timestamp {
        self.ts
    }
}

/// Every keyed table, for statistics and maintenance.
pub const TABLES: [&Table; 4] = [&HostObservation::TABLE, &TcWorker::TABLE, &BranchRef::TABLE, &WindowsPool::TABLE];
