//! The Store: fleetroll's system of record, one async API over two backends.
//!
//! SQLite (the default, one file under the home directory) serves one operator;
//! PostgreSQL serves a team, the server and its replicas. Both run the same
//! queries through sqlx's `Any` driver; the backends differ only in their
//! migrations and in the few [`Dialect`] spellings below, so one conformance
//! suite (`tests/conformance.rs`) holds them to the same behaviour.
//!
//! Invariants kept here:
//! - A batch of records is written in one transaction, pruning included:
//!   after a crash a batch is either all there or not at all.
//! - Retention keeps the newest `retention` records per key and, for host
//!   observations, the newest good one.
//! - Where a table has pointers (`<table>_latest`), they name each key's
//!   newest row (and newest good row) and move in the transaction that
//!   writes; retention (at least 1) never deletes a row they name.
//! - The audit trail is append-only and never pruned; appends serialise on the
//!   `audit_head` row so the hash chain never forks.

mod audit;
pub mod clients;
pub mod content;
mod error;
mod jobs;
mod keyed;
mod liveness;
mod maintain;
mod notes;
mod record;
pub mod trees;

use std::path::PathBuf;
use std::sync::Once;
use std::time::Duration;

use fleetroll_core::config::StoreLocation;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

pub use clients::{ApiClient, ClientError, NewClient};
pub use error::StoreError;
pub use jobs::{CancelOutcome, DEFAULT_JOB_LIST_LIMIT, Job, JobFilter, JobLogLine, NewJob, Verdict};
pub use keyed::{LatestObservation, Runs};
pub use liveness::RUN_HISTORY_DAYS;
pub use maintain::{MaintainReport, MaintainStep};
pub use record::{Record, TABLES, Table};
pub use trees::{RevertOutcome, TreesError, UpdateOutcome};

/// Options for [`Store::open`].
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// Records kept per key.
    pub retention: u32,
    /// How long a SQLite writer waits for a lock before failing.
    pub busy_timeout: Duration,
    /// Connections in the pool.
    pub max_connections: u32,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            retention: fleetroll_core::config::DEFAULT_RETENTION,
            busy_timeout: Duration::from_millis(fleetroll_core::config::DEFAULT_BUSY_TIMEOUT_MS),
            max_connections: 4,
        }
    }
}

/// Which backend a store runs on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite { path: PathBuf },
    Postgres,
}

impl Backend {
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite { .. } => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    fn dialect(&self) -> Dialect {
        match self {
            Backend::Sqlite { .. } => Dialect::Sqlite,
            Backend::Postgres => Dialect::Postgres,
        }
    }
}

/// The spellings that differ between the backends' SQL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// The `n`th bound parameter of a statement whose parameters are bound in
    /// order. SQLite gets anonymous `?`: sqlx looks up the name of every
    /// numbered parameter, and SQLite finds a name by a linear scan, which made
    /// a 2,000-parameter insert quadratic (a tenth of a batch write's time).
    /// Never mix these with `$n` in one statement: sqlx numbers anonymous
    /// parameters by its own count, not SQLite's.
    fn param(self, n: usize) -> String {
        match self {
            Dialect::Sqlite => "?".to_owned(),
            Dialect::Postgres => format!("${n}"),
        }
    }

    /// A bound JSON text parameter, as the `data` column takes it.
    fn json_param(self, n: usize) -> String {
        match self {
            Dialect::Sqlite => "?".to_owned(),
            Dialect::Postgres => format!("${n}::jsonb"),
        }
    }

    /// The `data` column read back as text (the `Any` driver knows no JSONB).
    fn json_column(self) -> &'static str {
        match self {
            Dialect::Sqlite => "data",
            Dialect::Postgres => "data::text",
        }
    }

    /// An aggregate of the selected rows as one JSON array of `[id, data]`
    /// pairs, NULL when no row is selected. Text is concatenated, not
    /// parsed: the stored JSON goes through as it is.
    fn id_data_array(self) -> &'static str {
        match self {
            Dialect::Sqlite => "'[' || group_concat('[' || id || ',' || data || ']', ',') || ']'",
            Dialect::Postgres => "'[' || string_agg('[' || id || ',' || data::text || ']', ',') || ']'",
        }
    }

    /// The JSON column `column` read back as text.
    fn json_text(self, column: &str) -> String {
        match self {
            Dialect::Sqlite => column.to_owned(),
            Dialect::Postgres => format!("{column}::text"),
        }
    }

    /// An aggregate of the text `expr` of the selected rows, one line each,
    /// NULL when no row is selected. Lines, not a JSON array: nothing is
    /// added around the aggregate, which would copy it whole again, and the
    /// JSON the store writes never holds a raw newline.
    fn lines_agg(self, expr: &str) -> String {
        match self {
            Dialect::Sqlite => format!("group_concat({expr}, char(10))"),
            Dialect::Postgres => format!("string_agg({expr}, chr(10))"),
        }
    }

    /// A statement selecting `columns` of the rows of `from` as one JSON
    /// array of arrays, in `order`; `[]` when there are none. One value
    /// rather than a row each: at 20,000 rows the `Any` driver's cost per
    /// row was most of the read.
    fn json_array_rows(self, columns: &str, from: &str, order: &str) -> String {
        match self {
            Dialect::Sqlite => {
                format!(
                    "SELECT json_group_array(json_array({columns})) FROM (SELECT {columns} FROM {from} ORDER BY {order})"
                )
            }
            Dialect::Postgres => format!(
                "SELECT COALESCE(json_agg(json_build_array({columns}) ORDER BY {order}), '[]'::json)::text FROM {from}"
            ),
        }
    }

    /// What follows a SELECT that picks rows to change, so no other writer
    /// changes them first. SQLite needs nothing: a write transaction there
    /// holds the whole database.
    fn lock(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE",
        }
    }

    /// [`Dialect::lock`] for a queue: rows another transaction holds are
    /// passed over rather than waited for, so claimers never queue behind
    /// each other.
    fn skip_locked(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
        }
    }

    /// Begins a transaction that reads and then writes. SQLite's plain
    /// `BEGIN` takes the write lock only at the first write, and fails at
    /// once (no busy wait) if another writer committed since the read;
    /// `IMMEDIATE` takes it first. PostgreSQL locks the rows it reads
    /// ([`Dialect::lock`]).
    fn begin_write(self) -> &'static str {
        match self {
            Dialect::Sqlite => "BEGIN IMMEDIATE",
            Dialect::Postgres => "BEGIN",
        }
    }

    /// A SELECT of `width`-column rows from parameter `$n`, a JSON array of
    /// arrays of strings. One parameter carries any number of keys, so a batch
    /// is pruned by one statement whatever its size (the `Any` driver cannot
    /// bind PostgreSQL arrays).
    fn json_rows(self, width: usize, n: usize) -> String {
        self.json_typed_rows(&vec![JsonColumn::Text; width], n)
    }

    /// [`Dialect::json_rows`] with a type per column; JSON `null` reads as
    /// NULL.
    fn json_typed_rows(self, columns: &[JsonColumn], n: usize) -> String {
        let columns: Vec<String> = columns
            .iter()
            .enumerate()
            .map(|(i, column)| match (self, column) {
                (Dialect::Sqlite, _) => format!("json_extract(value, '$[{i}]')"),
                (Dialect::Postgres, JsonColumn::Text) => format!("k->>{i}"),
                (Dialect::Postgres, JsonColumn::Integer) => format!("(k->>{i})::BIGINT"),
            })
            .collect();
        match self {
            Dialect::Sqlite => format!("SELECT {} FROM json_each(${n})", columns.join(", ")),
            Dialect::Postgres => format!("SELECT {} FROM json_array_elements(${n}::json) AS e(k)", columns.join(", ")),
        }
    }
}

/// The type of a column of [`Dialect::json_typed_rows`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum JsonColumn {
    Text,
    Integer,
}

/// An open store with its migrations applied.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    retention: u32,
    /// Wakes workers waiting for a job (`jobs/wakeups.rs`), shared by clones.
    wakeups: std::sync::Arc<jobs::Wakeups>,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Store {
    /// Opens (creating if needed) the store at `location` and applies pending
    /// migrations.
    pub async fn open(location: &StoreLocation, options: &StoreOptions) -> Result<Store, StoreError> {
        static DRIVERS: Once = Once::new();
        DRIVERS.call_once(sqlx::any::install_default_drivers);

        let open_error = |source| StoreError::Open { location: location.to_string(), source };
        let postgres = match location {
            StoreLocation::Sqlite(_) => None,
            StoreLocation::Postgres(url) => Some(url.clone()),
        };
        let (url, backend) = match location {
            StoreLocation::Sqlite(path) => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent).map_err(|err| open_error(sqlx::Error::Io(err)))?;
                }
                (format!("sqlite://{}?mode=rwc", path.display()), Backend::Sqlite { path: path.clone() })
            }
            StoreLocation::Postgres(url) => (url.expose().to_owned(), Backend::Postgres),
        };
        let connect_options: AnyConnectOptions = url.parse().map_err(open_error)?;
        let pool = pool_options(&backend, options).connect_with(connect_options).await.map_err(open_error)?;
        if let Backend::Sqlite { .. } = backend {
            // WAL lets readers (the monitor) run beside a writer; the mode is
            // stored in the file, so setting it once here is enough.
            pool.execute("PRAGMA journal_mode = WAL").await.map_err(open_error)?;
        }
        let migrator = match backend {
            Backend::Sqlite { .. } => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&pool).await.map_err(|source| StoreError::Migrate { location: location.to_string(), source })?;
        let wakeups = std::sync::Arc::new(jobs::Wakeups::new(postgres));
        Ok(Store { pool, backend, retention: options.retention, wakeups })
    }

    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    pub fn retention(&self) -> u32 {
        self.retention
    }

    /// The newest migration applied, as its version number.
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        let version: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success").fetch_one(&self.pool).await?;
        Ok(version.unwrap_or(0))
    }

    /// Closes every connection, waiting for work in flight.
    pub async fn close(&self) {
        self.wakeups.stop();
        self.pool.close().await;
    }

    fn dialect(&self) -> Dialect {
        self.backend.dialect()
    }
}

/// How much of a SQLite file reads may map: more than a 20,000-host
/// store's newest rows and indexes.
const MMAP_BYTES: u64 = 1 << 30;

fn pool_options(backend: &Backend, options: &StoreOptions) -> AnyPoolOptions {
    let pool = AnyPoolOptions::new().max_connections(options.max_connections);
    let Backend::Sqlite { .. } = backend else { return pool };
    let busy_timeout_ms = options.busy_timeout.as_millis();
    pool.after_connect(move |conn, _meta| {
        Box::pin(async move {
            // synchronous=NORMAL is durable across a process crash in WAL mode;
            // only a power loss can drop the last commits, never corrupt them.
            // A 64 MiB page cache holds a 20,000-host fleet's indexes; the
            // default 2 MiB made reads of the newest rows go to the OS.
            // Reads map the file rather than copy its pages into the cache:
            // a fleet read touches every page of the newest rows once, and
            // filling the cache with them cost a quarter of the read.
            let pragmas = format!(
                "PRAGMA busy_timeout = {busy_timeout_ms}; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -65536; \
                 PRAGMA mmap_size = {MMAP_BYTES}"
            );
            conn.execute(pragmas.as_str()).await?;
            Ok(())
        })
    })
}
