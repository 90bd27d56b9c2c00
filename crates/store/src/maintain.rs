//! Compaction: give back the space that retention freed, after trimming
//! worker run history.

use std::path::Path;

use chrono::{Duration, Utc};
use serde::Serialize;
use sqlx::Row;

use crate::liveness::RUN_HISTORY_DAYS;
use crate::{Backend, Store, StoreError};

/// Worker runs are pruned here rather than as they are written: a batch of
/// queue events stays one cheap statement per table, and the history only
/// needs trimming now and then. First, so compaction gives their space back.
const PRUNE_RUNS: &str = "prune worker runs";

/// One step of maintenance and what it did (or would do, in a dry run).
#[derive(Clone, Debug, Serialize)]
pub struct MaintainStep {
    pub name: &'static str,
    pub detail: String,
}

/// What `maintain` found and did.
#[derive(Clone, Debug, Serialize)]
pub struct MaintainReport {
    pub backend: &'static str,
    pub dry_run: bool,
    /// Bytes on disk before: the database file plus its WAL (SQLite), or the
    /// database's size (PostgreSQL).
    pub bytes_before: u64,
    /// Bytes on disk after; `None` in a dry run.
    pub bytes_after: Option<u64>,
    pub steps: Vec<MaintainStep>,
}

impl Store {
    /// First deletes worker runs older than [`RUN_HISTORY_DAYS`]. Then
    /// SQLite: VACUUM, then checkpoint the WAL into the database file and
    /// truncate it (in WAL mode VACUUM writes the rebuilt database into the
    /// WAL, so the checkpoint must come after it to give the space back).
    /// PostgreSQL: VACUUM ANALYZE. With `dry_run`, only measures and
    /// lists the steps.
    pub async fn maintain(&self, dry_run: bool) -> Result<MaintainReport, StoreError> {
        let bytes_before = self.bytes_on_disk().await?;
        let planned: &[&'static str] = match self.backend {
            Backend::Sqlite { .. } => &[PRUNE_RUNS, "VACUUM", "wal_checkpoint(TRUNCATE)"],
            Backend::Postgres => &[PRUNE_RUNS, "VACUUM ANALYZE"],
        };
        let mut steps = Vec::with_capacity(planned.len());
        for &name in planned {
            let detail = if dry_run { "would run".to_owned() } else { self.run_step(name).await? };
            steps.push(MaintainStep { name, detail });
        }
        let bytes_after = if dry_run { None } else { Some(self.bytes_on_disk().await?) };
        Ok(MaintainReport { backend: self.backend.name(), dry_run, bytes_before, bytes_after, steps })
    }

    async fn run_step(&self, name: &str) -> Result<String, StoreError> {
        if name == PRUNE_RUNS {
            let deleted = self.prune_worker_runs(Utc::now() - Duration::days(RUN_HISTORY_DAYS)).await?;
            return Ok(format!("runs deleted: {deleted} (older than {RUN_HISTORY_DAYS} days)"));
        }
        if name == "wal_checkpoint(TRUNCATE)" {
            let row = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").fetch_one(&self.pool).await?;
            let busy: i64 = row.try_get(0)?;
            return Ok(if busy == 0 {
                "WAL written into the database file and truncated".to_owned()
            } else {
                "WAL written back as far as open readers allow; run again when they are done".to_owned()
            });
        }
        sqlx::raw_sql(name).execute(&self.pool).await?;
        Ok("done".to_owned())
    }

    async fn bytes_on_disk(&self) -> Result<u64, StoreError> {
        match &self.backend {
            Backend::Sqlite { path } => Ok(sqlite_files_size(path)),
            Backend::Postgres => {
                let row = sqlx::query("SELECT pg_database_size(current_database())::BIGINT AS size")
                    .fetch_one(&self.pool)
                    .await?;
                let size: i64 = row.try_get("size")?;
                Ok(u64::try_from(size).unwrap_or(0))
            }
        }
    }
}

fn sqlite_files_size(path: &Path) -> u64 {
    let size_of = |suffix: &str| {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        std::fs::metadata(name).map_or(0, |meta| meta.len())
    };
    size_of("") + size_of("-wal")
}
