//! Worker liveness: when each worker was last seen, and the task runs it
//! started and resolved (reference §B). What an event means is core's
//! `liveness`; a consumer decodes a batch of messages, reduces it with
//! core's `effects`, and stores that here.
//!
//! Invariants kept here:
//! - A batch is one transaction: its sightings and runs are all stored or
//!   none are.
//! - `last_seen` only rises, and a run only moves to a state of higher rank
//!   (core `RunState::rank`), so at-least-once delivery, redelivered
//!   batches and late events change nothing. Both are decided by the
//!   upserts' `WHERE`, inside the database, so concurrent writers keep them
//!   too.
//! - A batch is one statement per table whatever its size: its rows travel
//!   as one JSON parameter (the `Any` driver cannot bind arrays), so a
//!   consumer's batch costs two statements and a commit, not a round trip
//!   per event.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap, HashSet};

use fleetroll_core::liveness::{BatchEffects, Outcomes, RunRecord, RunState, Sighting, WorkerActivity, WorkerRun};
use fleetroll_core::time::{self, Timestamp};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::{Dialect, JsonColumn, Store, StoreError};

/// How long a run is kept after it resolved (or, never resolved, after it
/// started): long enough for a month of outcomes per worker.
pub const RUN_HISTORY_DAYS: i64 = 30;

const RUN_COLUMNS: &str = "task_id, run_id, worker_group, worker_id, provisioner_id, worker_type, state, \
                           reason_resolved, started, resolved";

/// The order of a worker's runs, newest first: runs without a start (an
/// exception before the worker began) sort last.
const NEWEST_FIRST: &str = "started DESC NULLS LAST, task_id DESC, run_id DESC";

impl Store {
    /// Stores what a batch of queue events showed, in one transaction: each
    /// worker's sighting (kept when newer than the stored one) and each run
    /// (kept when further along than the stored one; a resolution without a
    /// start time keeps the stored start). `now` stamps the runs it changes.
    pub async fn ingest(&self, batch: &BatchEffects, now: Timestamp) -> Result<(), StoreError> {
        if batch.sightings.is_empty() && batch.runs.is_empty() {
            return Ok(());
        }
        let sightings = one_per_worker(&batch.sightings);
        let runs = one_per_run(&batch.runs);
        let mut tx = self.pool.begin().await?;
        upsert_sightings(&mut tx, self.dialect(), &sightings).await?;
        upsert_runs(&mut tx, self.dialect(), &runs, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Stores sightings from elsewhere (`machines preload`) in one
    /// transaction, raising `last_seen` only. Returns how many workers were
    /// added or seen later than stored.
    pub async fn record_sightings(&self, sightings: &[Sighting]) -> Result<usize, StoreError> {
        if sightings.is_empty() {
            return Ok(0);
        }
        let sightings = one_per_worker(sightings);
        let mut tx = self.pool.begin().await?;
        let changed = upsert_sightings(&mut tx, self.dialect(), &sightings).await?;
        tx.commit().await?;
        Ok(usize::try_from(changed).unwrap_or(usize::MAX))
    }

    /// Every worker's sighting, by worker group, then worker id.
    pub async fn sightings(&self) -> Result<Vec<Sighting>, StoreError> {
        let sql = self.dialect().json_array_rows(
            "worker_group, worker_id, last_seen",
            "worker_sightings",
            "worker_group, worker_id",
        );
        let text: String = sqlx::query_scalar(&sql).fetch_one(&self.pool).await?;
        let rows: Vec<(String, String, i64)> = serde_json::from_str(&text).map_err(|err| StoreError::Corrupt {
            table: "worker_sightings",
            id: 0,
            message: format!("the sightings read back as unexpected JSON: {err}"),
        })?;
        rows.into_iter()
            .map(|(worker_group, worker_id, last_seen)| {
                let seen = micros(last_seen, "worker_sightings", || format!("{worker_group}:{worker_id}"))?;
                Ok(Sighting { worker_group, worker_id, seen })
            })
            .collect()
    }

    /// When one worker was last seen; `None` when it never was.
    pub async fn sighting(&self, worker_group: &str, worker_id: &str) -> Result<Option<Timestamp>, StoreError> {
        let last_seen: Option<i64> =
            sqlx::query_scalar("SELECT last_seen FROM worker_sightings WHERE worker_group = $1 AND worker_id = $2")
                .bind(worker_group.to_owned())
                .bind(worker_id.to_owned())
                .fetch_optional(&self.pool)
                .await?;
        last_seen.map(|value| micros(value, "worker_sightings", || format!("{worker_group}:{worker_id}"))).transpose()
    }

    /// A worker's runs, newest first (by start, then task and run id), at
    /// most `limit`.
    pub async fn worker_runs(
        &self,
        worker_group: &str,
        worker_id: &str,
        limit: usize,
    ) -> Result<Vec<RunRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {RUN_COLUMNS} FROM worker_runs WHERE worker_group = $1 AND worker_id = $2
             ORDER BY {NEWEST_FIRST} LIMIT $3"
        ))
        .bind(worker_group.to_owned())
        .bind(worker_id.to_owned())
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|row| decode_run(row).map(|run| run.run)).collect()
    }

    /// The runs resolved at or after `since`, and every run still running:
    /// what the workers list needs for each worker's outcomes in a window
    /// (core `outcomes`) and its current task (core `current_run`). By
    /// worker, then newest first.
    pub async fn runs_since(&self, since: Timestamp) -> Result<Vec<WorkerRun>, StoreError> {
        // Two branches, each on its own index, sorted here: asked to sort,
        // SQLite reads the whole history in the worker index's order
        // instead, a cost that grows with the history, not the window.
        let rows = sqlx::query(&format!(
            "SELECT {RUN_COLUMNS} FROM worker_runs WHERE resolved >= $1 AND state_rank = 2
             UNION ALL SELECT {RUN_COLUMNS} FROM worker_runs WHERE state_rank = 1"
        ))
        .bind(since.timestamp_micros())
        .fetch_all(&self.pool)
        .await?;
        let mut runs = rows.iter().map(decode_run).collect::<Result<Vec<_>, _>>()?;
        runs.sort_unstable_by(|a, b| {
            (&a.worker_group, &a.worker_id)
                .cmp(&(&b.worker_group, &b.worker_id))
                .then_with(|| newest_first(&a.run, &b.run))
        });
        Ok(runs)
    }

    /// Each worker's activity in the window that starts at `since`, by
    /// worker group, then id: the outcomes of its runs resolved at or after
    /// `since` and its current run, decided as core's `outcomes` and
    /// `current_run` decide them over the runs [`Store::runs_since`] reads
    /// (those resolved in the window and those still running). Only workers
    /// with a sighting (every worker a batch stored has one) and with some
    /// activity are listed.
    ///
    /// Counted and picked in the database: a fleet's window is hundreds of
    /// thousands of runs, and decoding each through the `Any` driver cost
    /// seconds. One statement, so both halves read one snapshot while a
    /// consumer writes.
    pub async fn worker_activity(&self, since: Timestamp) -> Result<Vec<WorkerActivity>, StoreError> {
        // The counts: `CROSS JOIN` makes SQLite walk the sightings in key
        // order and seek each worker's window in `worker_runs_outcomes`, so
        // the cost follows the window rather than the month of history, the
        // index alone answers, and the `GROUP BY` needs no sort. (Left to
        // itself SQLite walked all history in `worker_runs_by_worker`, or
        // sorted the window's rows; PostgreSQL reads it as an inner join.)
        // The current runs: each running run (`worker_runs_running`) that
        // no run of the window follows in core's order (a later start; on a
        // tie, a smaller task id, then run id), checked in
        // `worker_runs_by_worker`.
        let rows = sqlx::query(
            "SELECT s.worker_group, s.worker_id,
                 COUNT(CASE WHEN r.state = 'completed' THEN 1 END) AS completed,
                 COUNT(CASE WHEN r.state = 'failed' THEN 1 END) AS failed,
                 COUNT(CASE WHEN r.state = 'exception' THEN 1 END) AS exception,
                 NULL AS task_id, NULL AS run_id, NULL AS state, NULL AS reason_resolved, NULL AS started,
                 NULL AS resolved
             FROM worker_sightings AS s CROSS JOIN worker_runs AS r
             WHERE r.worker_group = s.worker_group AND r.worker_id = s.worker_id
                 AND r.state_rank = 2 AND r.resolved >= $1
             GROUP BY s.worker_group, s.worker_id
             UNION ALL
             SELECT r.worker_group, r.worker_id, 0, 0, 0, r.task_id, r.run_id, r.state, r.reason_resolved, r.started,
                 r.resolved
             FROM worker_runs AS r WHERE r.state_rank = 1 AND r.started IS NOT NULL AND NOT EXISTS (
                 SELECT 1 FROM worker_runs AS n
                 WHERE n.worker_group = r.worker_group AND n.worker_id = r.worker_id AND n.started >= r.started
                     AND (n.started > r.started OR n.task_id < r.task_id
                         OR (n.task_id = r.task_id AND n.run_id < r.run_id))
                     AND (n.state_rank = 1 OR n.resolved >= $1))
                 AND EXISTS (SELECT 1 FROM worker_sightings AS s
                     WHERE s.worker_group = r.worker_group AND s.worker_id = r.worker_id)",
        )
        .bind(since.timestamp_micros())
        .fetch_all(&self.pool)
        .await?;
        let mut by_worker: BTreeMap<(String, String), WorkerActivity> = BTreeMap::new();
        for row in &rows {
            let worker_group: String = row.try_get("worker_group")?;
            let worker_id: String = row.try_get("worker_id")?;
            let key = (worker_group, worker_id);
            let entry = by_worker.entry(key).or_insert_with_key(|(worker_group, worker_id)| WorkerActivity {
                worker_group: worker_group.clone(),
                worker_id: worker_id.clone(),
                outcomes: Outcomes::default(),
                current_run: None,
            });
            if row.try_get::<Option<String>, _>("task_id")?.is_some() {
                entry.current_run = Some(decode_record(row)?);
            } else {
                let count = |column: &str| row.try_get::<i64, _>(column).map(|n| u64::try_from(n).unwrap_or(0));
                entry.outcomes = Outcomes::from_counts(count("completed")?, count("failed")?, count("exception")?);
            }
        }
        Ok(by_worker.into_values().collect())
    }

    /// Deletes the runs that resolved before `older_than`, and the
    /// unresolved ones that started before it (their resolution was lost;
    /// those without even a start go by when they were stored). Returns how
    /// many were deleted.
    pub async fn prune_worker_runs(&self, older_than: Timestamp) -> Result<u64, StoreError> {
        let deleted = sqlx::query("DELETE FROM worker_runs WHERE COALESCE(resolved, started, updated_at) < $1")
            .bind(older_than.timestamp_micros())
            .execute(&self.pool)
            .await?;
        Ok(deleted.rows_affected())
    }
}

/// Upserts sightings, keeping the later time; returns how many rows were
/// added or raised (a row whose `WHERE` fails is not counted by either
/// backend).
async fn upsert_sightings(
    tx: &mut Transaction<'_, Any>,
    dialect: Dialect,
    sightings: &[Sighting],
) -> Result<u64, StoreError> {
    if sightings.is_empty() {
        return Ok(0);
    }
    let rows: Vec<(&str, &str, i64)> =
        sightings.iter().map(|s| (s.worker_group.as_str(), s.worker_id.as_str(), s.seen.timestamp_micros())).collect();
    // SQLite needs the `WHERE true`: without it, `ON` after a SELECT's FROM
    // reads as the start of a join.
    let sql = format!(
        "INSERT INTO worker_sightings (worker_group, worker_id, last_seen) {rows} WHERE true
         ON CONFLICT (worker_group, worker_id) DO UPDATE SET last_seen = excluded.last_seen
         WHERE excluded.last_seen > worker_sightings.last_seen",
        rows = dialect.json_typed_rows(&[JsonColumn::Text, JsonColumn::Text, JsonColumn::Integer], 1),
    );
    let done = sqlx::query(&sql).bind(json(&rows, "worker_sightings")?).execute(&mut **tx).await?;
    Ok(done.rows_affected())
}

/// One run as its JSON row: the columns of `worker_runs` in order.
#[derive(Serialize)]
struct RunRow<'a>(
    &'a str,
    i64,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    i64,
    Option<&'a str>,
    Option<i64>,
    Option<i64>,
    i64,
);

/// Upserts runs, forward only: a stored run is replaced only by a state of
/// higher rank, and keeps its start when the new row has none.
async fn upsert_runs(
    tx: &mut Transaction<'_, Any>,
    dialect: Dialect,
    runs: &[WorkerRun],
    now: Timestamp,
) -> Result<(), StoreError> {
    if runs.is_empty() {
        return Ok(());
    }
    let now = now.timestamp_micros();
    let rows: Vec<RunRow> = runs
        .iter()
        .map(|w| {
            RunRow(
                &w.run.task_id,
                w.run.run_id,
                &w.worker_group,
                &w.worker_id,
                &w.provisioner_id,
                &w.worker_type,
                w.run.state.as_str(),
                w.run.state.rank(),
                w.run.reason_resolved.as_deref(),
                w.run.started.map(|at| at.timestamp_micros()),
                w.run.resolved.map(|at| at.timestamp_micros()),
                now,
            )
        })
        .collect();
    use JsonColumn::{Integer, Text};
    let columns = [Text, Integer, Text, Text, Text, Text, Text, Integer, Text, Integer, Integer, Integer];
    let sql = format!(
        "INSERT INTO worker_runs (task_id, run_id, worker_group, worker_id, provisioner_id, worker_type, state,
             state_rank, reason_resolved, started, resolved, updated_at)
         {rows} WHERE true
         ON CONFLICT (task_id, run_id) DO UPDATE SET
             worker_group = excluded.worker_group, worker_id = excluded.worker_id,
             provisioner_id = excluded.provisioner_id, worker_type = excluded.worker_type,
             state = excluded.state, state_rank = excluded.state_rank, reason_resolved = excluded.reason_resolved,
             started = COALESCE(excluded.started, worker_runs.started), resolved = excluded.resolved,
             updated_at = excluded.updated_at
         WHERE excluded.state_rank > worker_runs.state_rank",
        rows = dialect.json_typed_rows(&columns, 1),
    );
    sqlx::query(&sql).bind(json(&rows, "worker_runs")?).execute(&mut **tx).await?;
    Ok(())
}

fn json<T: Serialize>(rows: &T, table: &'static str) -> Result<String, StoreError> {
    serde_json::to_string(rows).map_err(|source| StoreError::Encode { table, source })
}

/// `sightings` with a repeated worker merged into its latest sighting.
/// Core's `effects` never repeats one, but a caller joining batches might,
/// and the backends would then differ: PostgreSQL refuses an upsert that
/// meets a key twice, SQLite applies the rows in turn.
fn one_per_worker(sightings: &[Sighting]) -> Cow<'_, [Sighting]> {
    let mut seen = HashSet::with_capacity(sightings.len());
    if sightings.iter().all(|s| seen.insert((s.worker_group.as_str(), s.worker_id.as_str()))) {
        return Cow::Borrowed(sightings);
    }
    let mut merged: Vec<Sighting> = Vec::with_capacity(sightings.len());
    let mut at: HashMap<(&str, &str), usize> = HashMap::new();
    for sighting in sightings {
        match at.entry((&sighting.worker_group, &sighting.worker_id)) {
            Entry::Occupied(slot) => {
                let stored = &mut merged[*slot.get()];
                stored.seen = stored.seen.max(sighting.seen);
            }
            Entry::Vacant(slot) => {
                slot.insert(merged.len());
                merged.push(sighting.clone());
            }
        }
    }
    Cow::Owned(merged)
}

/// `runs` with a repeated run merged as SQLite would apply the rows in turn
/// (see [`one_per_worker`]): the first row of the highest rank, keeping an
/// earlier start when it has none.
fn one_per_run(runs: &[WorkerRun]) -> Cow<'_, [WorkerRun]> {
    let mut seen = HashSet::with_capacity(runs.len());
    if runs.iter().all(|w| seen.insert((w.run.task_id.as_str(), w.run.run_id))) {
        return Cow::Borrowed(runs);
    }
    let mut merged: Vec<WorkerRun> = Vec::with_capacity(runs.len());
    let mut at: HashMap<(&str, i64), usize> = HashMap::new();
    for run in runs {
        match at.entry((&run.run.task_id, run.run.run_id)) {
            Entry::Occupied(slot) => {
                let stored = &mut merged[*slot.get()];
                if run.run.state.rank() > stored.run.state.rank() {
                    let started = run.run.started.or(stored.run.started);
                    *stored = run.clone();
                    stored.run.started = started;
                }
            }
            Entry::Vacant(slot) => {
                slot.insert(merged.len());
                merged.push(run.clone());
            }
        }
    }
    Cow::Owned(merged)
}

/// [`NEWEST_FIRST`] in Rust: identifiers compare by their bytes, as both
/// backends' columns do.
fn newest_first(a: &RunRecord, b: &RunRecord) -> Ordering {
    let start = match (a.started, b.started) {
        (Some(a), Some(b)) => b.cmp(&a),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    start.then_with(|| b.task_id.cmp(&a.task_id)).then_with(|| b.run_id.cmp(&a.run_id))
}

fn micros(value: i64, table: &'static str, row: impl Fn() -> String) -> Result<Timestamp, StoreError> {
    time::from_micros(value).ok_or_else(|| StoreError::Corrupt {
        table,
        id: 0,
        message: format!("{}: time {value} is out of range", row()),
    })
}

fn decode_run(row: &AnyRow) -> Result<WorkerRun, StoreError> {
    Ok(WorkerRun {
        worker_group: row.try_get("worker_group")?,
        worker_id: row.try_get("worker_id")?,
        provisioner_id: row.try_get("provisioner_id")?,
        worker_type: row.try_get("worker_type")?,
        run: decode_record(row)?,
    })
}

/// The run's own columns of a row.
fn decode_record(row: &AnyRow) -> Result<RunRecord, StoreError> {
    let task_id: String = row.try_get("task_id")?;
    let run_id: i64 = row.try_get("run_id")?;
    let corrupt = |message: String| StoreError::Corrupt {
        table: "worker_runs",
        id: run_id,
        message: format!("task {task_id} run {run_id}: {message}"),
    };
    let state: String = row.try_get("state")?;
    let state = RunState::parse(&state).ok_or_else(|| corrupt(format!("state {state:?} is unknown")))?;
    let at = |column: &str| -> Result<Option<Timestamp>, StoreError> {
        let value: Option<i64> = row.try_get(column)?;
        value
            .map(|value| time::from_micros(value).ok_or_else(|| corrupt(format!("{column} {value} is out of range"))))
            .transpose()
    };
    let (started, resolved) = (at("started")?, at("resolved")?);
    Ok(RunRecord { task_id, run_id, state, reason_resolved: row.try_get("reason_resolved")?, started, resolved })
}
