//! Hardware jobs: the durable queue that replaces roller's broker, which kept
//! no job once it had run (reference §A.7, §A.13). What a job may do and
//! when it may move is fleetroll-core's `jobs`; this module keeps jobs and
//! their log, and hands them to workers.
//!
//! A job is queued, claimed by one worker under a lease (running, one attempt
//! used), and ends succeeded, failed or cancelled. The worker renews its
//! lease while it works; a worker that died leaves the lease to run out, and
//! [`Store::recover_expired`] queues the job again while attempts remain.
//!
//! Invariants kept here:
//! - A job is claimed by one worker at a time, across every connection,
//!   process and server replica: a claim is one statement that moves the
//!   oldest queued job to running only while it is still queued.
//!   PostgreSQL skips rows another claimer has locked (`FOR UPDATE SKIP
//!   LOCKED`), so claimers never wait on each other; SQLite runs one writer
//!   at a time.
//! - Only a running job has a lease (a CHECK in both schemas), and renewing
//!   or finishing matches on its owner, so a worker whose job was cancelled
//!   or recovered learns so at its next renewal and cannot overwrite the
//!   outcome.
//! - A job never leaves a terminal state.
//! - Every state change that one statement cannot decide (cancelling,
//!   recovering) is one transaction that takes the write lock first
//!   (`BEGIN IMMEDIATE` on SQLite, row locks on PostgreSQL), so it reads
//!   what it then changes.
//!
//! Workers ask the queue again after a pause, and a job queued wakes one
//! waiting worker at once ([`Store::wait_for_queued_job`], `wakeups.rs`):
//! in this process always, in other processes on PostgreSQL.

use std::time::Duration;

use fleetroll_core::jobs::{self, JobState, JobSummary, LeaseDecision, TaskName};
use fleetroll_core::time::{self, Timestamp, to_rfc3339};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::{Store, StoreError};

mod wakeups;

pub(crate) use wakeups::Wakeups;

/// The longest lease or time limit kept, in microseconds (about 100 years):
/// a deadline is a time plus a span, and must not overflow.
const MAX_SPAN_MICROS: i64 = 100 * 366 * 24 * 3600 * 1_000_000;

/// How many jobs [`JobFilter::default`] lists.
pub const DEFAULT_JOB_LIST_LIMIT: usize = 100;

const COLUMNS: &str = "id, task, host, worker_group, worker_id, state, reason, requested_by, attempts, max_attempts, \
                       lease_owner, lease_until, soft_limit, hard_limit, soft_deadline, hard_deadline, created_at, \
                       started_at, finished_at, result, updated_at";

/// A job as requested.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewJob {
    pub task: TaskName,
    /// The machine, as the inventory names it.
    pub host: String,
    /// The Taskcluster worker the request named, when it named one.
    pub worker_group: Option<String>,
    pub worker_id: Option<String>,
    /// Why it was requested.
    pub reason: String,
    /// The client that requested it.
    pub requested_by: String,
    /// Claims allowed before an expired lease fails the job; 0 counts as 1.
    pub max_attempts: u32,
    /// How long an attempt may run before its worker is asked to stop.
    pub soft_limit: Option<Duration>,
    /// How long an attempt may run at all: its lease is never renewed past
    /// it, and a job that reaches it fails without another attempt.
    pub hard_limit: Option<Duration>,
}

impl NewJob {
    /// A job with core's default attempts and no time limits.
    pub fn new(
        task: TaskName,
        host: impl Into<String>,
        requested_by: impl Into<String>,
        reason: impl Into<String>,
    ) -> NewJob {
        NewJob {
            task,
            host: host.into(),
            worker_group: None,
            worker_id: None,
            reason: reason.into(),
            requested_by: requested_by.into(),
            max_attempts: jobs::DEFAULT_MAX_ATTEMPTS,
            soft_limit: None,
            hard_limit: None,
        }
    }
}

/// A stored job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    pub id: i64,
    pub task: TaskName,
    pub host: String,
    pub worker_group: Option<String>,
    pub worker_id: Option<String>,
    pub state: JobState,
    pub reason: String,
    pub requested_by: String,
    /// Claims so far.
    pub attempts: u32,
    pub max_attempts: u32,
    /// The worker holding the job, while it runs.
    pub lease_owner: Option<String>,
    pub lease_until: Option<Timestamp>,
    pub soft_limit: Option<Duration>,
    pub hard_limit: Option<Duration>,
    /// When the current attempt's worker is asked to stop, and when it is
    /// stopped; set at each claim.
    pub soft_deadline: Option<Timestamp>,
    pub hard_deadline: Option<Timestamp>,
    pub created_at: Timestamp,
    /// When the latest attempt was claimed; kept when its lease expired and
    /// the job was queued again.
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    /// What the worker reported, or why the job failed.
    pub result: Option<String>,
    pub updated_at: Timestamp,
}

impl Job {
    /// The job as core's results and notifications see it, with its log.
    pub fn summary(&self, log: &[JobLogLine]) -> JobSummary {
        JobSummary {
            id: self.id.to_string(),
            task: self.task,
            host: self.host.clone(),
            state: self.state,
            requested_by: self.requested_by.clone(),
            reason: self.result.clone(),
            attempts: self.attempts,
            log: log.iter().map(|line| line.line.clone()).collect(),
            started: self.started_at,
            finished: self.finished_at,
        }
    }
}

/// How a worker's attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Succeeded,
    Failed,
}

impl Verdict {
    pub fn state(self) -> JobState {
        match self {
            Verdict::Succeeded => JobState::Succeeded,
            Verdict::Failed => JobState::Failed,
        }
    }
}

/// What [`Store::cancel`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CancelOutcome {
    /// It was queued: no worker will take it.
    Withdrawn(Job),
    /// It was running: it is cancelled, and its worker stops when its next
    /// lease renewal is refused.
    Stopping(Job),
    /// It had already ended; nothing changed.
    Refused(Job),
    NotFound,
}

/// One line of a job's log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobLogLine {
    pub job_id: i64,
    /// The attempt that wrote it (0 before the first claim).
    pub attempt: u32,
    pub at: Timestamp,
    pub line: String,
}

/// Which jobs [`Store::jobs`] lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobFilter {
    pub host: Option<String>,
    pub state: Option<JobState>,
    pub limit: usize,
}

impl Default for JobFilter {
    fn default() -> Self {
        JobFilter { host: None, state: None, limit: DEFAULT_JOB_LIST_LIMIT }
    }
}

impl Store {
    /// Queues a job.
    pub async fn enqueue(&self, new: &NewJob, now: Timestamp) -> Result<Job, StoreError> {
        let row = sqlx::query(&format!(
            "INSERT INTO jobs (task, host, worker_group, worker_id, state, reason, requested_by, attempts,
                 max_attempts, soft_limit, hard_limit, created_at, updated_at)
             VALUES ($1, $2, $3, $4, 'queued', $5, $6, 0, $7, $8, $9, $10, $10)
             RETURNING {COLUMNS}"
        ))
        .bind(new.task.as_str())
        .bind(new.host.clone())
        .bind(new.worker_group.clone())
        .bind(new.worker_id.clone())
        .bind(new.reason.clone())
        .bind(new.requested_by.clone())
        .bind(i64::from(new.max_attempts.max(1)))
        .bind(new.soft_limit.map(span))
        .bind(new.hard_limit.map(span))
        .bind(now.timestamp_micros())
        .fetch_one(&self.pool)
        .await?;
        let job = decode_job(&row)?;
        self.wakeups.queued(1);
        if let Err(err) = self.notify_other_processes(&self.pool, 1).await {
            // The job is queued; their workers find it at their next poll.
            tracing::warn!(job = job.id, "cannot notify other processes of a queued job: {err}");
        }
        Ok(job)
    }

    /// Returns when a job was queued since the last waiter was woken, or
    /// after `at_most`: an idle worker's pause. Each job queued through this
    /// store or a clone wakes one waiter, and on PostgreSQL each job queued
    /// by any process does (the first wait starts listening); a job queued
    /// while no worker waits is taken by the next one that waits, at once.
    pub async fn wait_for_queued_job(&self, at_most: Duration) {
        self.wakeups.wait(at_most).await;
    }

    /// On PostgreSQL, tells the workers of every process that `count` jobs
    /// were queued (inside a transaction, at its commit).
    async fn notify_other_processes<'c>(
        &self,
        executor: impl sqlx::Executor<'c, Database = Any>,
        count: usize,
    ) -> Result<(), StoreError> {
        if self.backend == crate::Backend::Postgres {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(wakeups::CHANNEL)
                .bind(count.to_string())
                .execute(executor)
                .await?;
        }
        Ok(())
    }

    /// Moves the oldest queued job to running for `worker`, holding it until
    /// `now + lease` (never past its hard deadline); `None` when none is
    /// queued. One statement, so it is one round trip and needs no
    /// transaction around it: on PostgreSQL the subquery locks the row it
    /// picks and skips rows other claimers hold, and the outer `state`
    /// check sees the row as it is once locked.
    pub async fn claim(&self, worker: &str, lease: Duration, now: Timestamp) -> Result<Option<Job>, StoreError> {
        let now = now.timestamp_micros();
        let row = sqlx::query(&format!(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = $1,
                 lease_until = CASE WHEN hard_limit IS NOT NULL AND $2 + hard_limit < $3 THEN $2 + hard_limit
                     ELSE $3 END,
                 soft_deadline = $2 + soft_limit, hard_deadline = $2 + hard_limit,
                 started_at = $2, updated_at = $2
             WHERE id = (SELECT id FROM jobs WHERE state = 'queued' ORDER BY created_at, id LIMIT 1{skip})
                 AND state = 'queued'
             RETURNING {COLUMNS}",
            skip = self.dialect().skip_locked(),
        ))
        .bind(worker.to_owned())
        .bind(now)
        .bind(now.saturating_add(span(lease)))
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(decode_job).transpose()
    }

    /// Extends `worker`'s lease on a running job to `now + lease` (never past
    /// its hard deadline). False when the job is no longer the worker's: it
    /// was cancelled, recovered after its lease expired, or reached its hard
    /// deadline; the worker should stop. A lease that expired but was not
    /// yet recovered is still the worker's.
    pub async fn renew_lease(
        &self,
        id: i64,
        worker: &str,
        lease: Duration,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let now = now.timestamp_micros();
        let done = sqlx::query(
            "UPDATE jobs SET
                 lease_until = CASE WHEN hard_deadline IS NOT NULL AND hard_deadline < $4 THEN hard_deadline
                     ELSE $4 END,
                 updated_at = $3
             WHERE id = $1 AND state = 'running' AND lease_owner = $2
                 AND (hard_deadline IS NULL OR hard_deadline > $3)",
        )
        .bind(id)
        .bind(worker.to_owned())
        .bind(now)
        .bind(now.saturating_add(span(lease)))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Appends a line to a job's log; false when there is no such job.
    pub async fn append_job_log(&self, id: i64, attempt: u32, at: Timestamp, line: &str) -> Result<bool, StoreError> {
        // Through the job's row, so both backends refuse an unknown job alike
        // (SQLite enforces no foreign keys here).
        let done = sqlx::query(
            "INSERT INTO job_log (job_id, attempt, at, line) SELECT id, $2, $3, $4 FROM jobs WHERE id = $1",
        )
        .bind(id)
        .bind(i64::from(attempt))
        .bind(at.timestamp_micros())
        .bind(line.to_owned())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// A job's log in the order written.
    pub async fn job_log(&self, id: i64) -> Result<Vec<JobLogLine>, StoreError> {
        let rows = sqlx::query("SELECT id, job_id, attempt, at, line FROM job_log WHERE job_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                let log_id: i64 = row.try_get("id")?;
                let corrupt = |message: String| StoreError::Corrupt { table: "job_log", id: log_id, message };
                let attempt: i64 = row.try_get("attempt")?;
                let at: i64 = row.try_get("at")?;
                Ok(JobLogLine {
                    job_id: row.try_get("job_id")?,
                    attempt: u32::try_from(attempt)
                        .map_err(|_| corrupt(format!("attempt {attempt} is out of range")))?,
                    at: time::from_micros(at).ok_or_else(|| corrupt(format!("at {at} is out of range")))?,
                    line: row.try_get("line")?,
                })
            })
            .collect()
    }

    /// Ends a running job with the worker's verdict. Only the lease owner may:
    /// false when the job is not running under `worker` (cancelled,
    /// recovered, or someone else's), and nothing changes.
    pub async fn finish(
        &self,
        id: i64,
        worker: &str,
        verdict: Verdict,
        result: Option<&str>,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE jobs SET state = $3, result = $4, finished_at = $5, updated_at = $5,
                 lease_owner = NULL, lease_until = NULL
             WHERE id = $1 AND state = 'running' AND lease_owner = $2",
        )
        .bind(id)
        .bind(worker.to_owned())
        .bind(verdict.state().as_str())
        .bind(result.map(str::to_owned))
        .bind(now.timestamp_micros())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Cancels a job: a queued one at once; a running one is marked cancelled
    /// and its worker learns so when its next lease renewal is refused (a
    /// command it already sent cannot be taken back). A job that ended is
    /// left as it is. Writes a log line saying which.
    pub async fn cancel(&self, id: i64, now: Timestamp) -> Result<CancelOutcome, StoreError> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM jobs WHERE id = $1{lock}", lock = self.dialect().lock()))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(job) = row.as_ref().map(decode_job).transpose()? else {
            return Ok(CancelOutcome::NotFound);
        };
        if !jobs::can_move(job.state, JobState::Cancelled) {
            return Ok(CancelOutcome::Refused(job));
        }
        let row = sqlx::query(&format!(
            "UPDATE jobs SET state = 'cancelled', lease_owner = NULL, lease_until = NULL, finished_at = $2,
                 updated_at = $2
             WHERE id = $1 RETURNING {COLUMNS}"
        ))
        .bind(id)
        .bind(now.timestamp_micros())
        .fetch_one(&mut *tx)
        .await?;
        let cancelled = decode_job(&row)?;
        let line = match &job.lease_owner {
            Some(owner) => format!("cancelled while running on {owner}; it stops at its next lease renewal"),
            None => "cancelled while queued".to_owned(),
        };
        insert_log(&mut tx, id, job.attempts, now, &line).await?;
        tx.commit().await?;
        Ok(if job.state == JobState::Running {
            CancelOutcome::Stopping(cancelled)
        } else {
            CancelOutcome::Withdrawn(cancelled)
        })
    }

    /// Recovers the running jobs whose lease ran out by `now`, whose workers
    /// are taken to have died: each is queued again while it has attempts
    /// left (core `lease_decision`) and fails otherwise, or at once when it
    /// reached its hard deadline. Each gets a log line saying so. Returns
    /// their ids. Safe to run on every replica at once: on PostgreSQL a job
    /// another recoverer holds is skipped, not waited for.
    pub async fn recover_expired(&self, now: Timestamp) -> Result<Vec<i64>, StoreError> {
        let at = now.timestamp_micros();
        let mut tx = self.begin_write().await?;
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM jobs WHERE state = 'running' AND lease_until <= $1 ORDER BY id{skip}",
            skip = self.dialect().skip_locked(),
        ))
        .bind(at)
        .fetch_all(&mut *tx)
        .await?;
        let mut recovered = Vec::with_capacity(rows.len());
        for row in &rows {
            let job = decode_job(row)?;
            let owner = job.lease_owner.as_deref().unwrap_or("?");
            let until = job.lease_until.map_or_else(|| "?".to_owned(), to_rfc3339);
            let (decision, line) = match (job.hard_deadline, job.hard_limit) {
                (Some(deadline), Some(limit)) if deadline <= now => {
                    let reason = format!("hard time limit of {} s reached", limit.as_secs());
                    let line = format!("{reason} on {owner} at {}; failed", to_rfc3339(deadline));
                    (LeaseDecision::Fail { reason }, line)
                }
                _ => {
                    let decision =
                        jobs::lease_decision(job.state, job.lease_until, job.attempts, job.max_attempts, now);
                    let (attempts, max) = (job.attempts, job.max_attempts);
                    let line = match &decision {
                        LeaseDecision::Fail { .. } => {
                            format!("lease of {owner} expired at {until} after {attempts} attempts of {max}; failed")
                        }
                        _ => format!(
                            "lease of {owner} expired at {until}; queued again after attempt {attempts} of {max}"
                        ),
                    };
                    (decision, line)
                }
            };
            let requeued = decision == LeaseDecision::Requeue;
            let changed = match decision {
                LeaseDecision::Keep => continue,
                LeaseDecision::Requeue => sqlx::query(
                    "UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_until = NULL, soft_deadline = NULL,
                         hard_deadline = NULL, updated_at = $2
                     WHERE id = $1 AND state = 'running'",
                )
                .bind(job.id)
                .bind(at)
                .execute(&mut *tx)
                .await?
                .rows_affected(),
                LeaseDecision::Fail { reason } => sqlx::query(
                    "UPDATE jobs SET state = 'failed', result = $2, lease_owner = NULL, lease_until = NULL,
                         finished_at = $3, updated_at = $3
                     WHERE id = $1 AND state = 'running'",
                )
                .bind(job.id)
                .bind(reason)
                .bind(at)
                .execute(&mut *tx)
                .await?
                .rows_affected(),
            };
            if changed == 1 {
                insert_log(&mut tx, job.id, job.attempts, now, &line).await?;
                recovered.push((job.id, requeued));
            }
        }
        let requeued = recovered.iter().filter(|(_, requeued)| *requeued).count();
        if requeued > 0 {
            self.notify_other_processes(&mut *tx, requeued).await?;
        }
        tx.commit().await?;
        // After the commit, so that a woken worker finds the jobs queued.
        self.wakeups.queued(requeued);
        Ok(recovered.into_iter().map(|(id, _)| id).collect())
    }

    /// One job; `None` when unknown.
    pub async fn job(&self, id: i64) -> Result<Option<Job>, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM jobs WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(decode_job).transpose()
    }

    /// Jobs newest first (by creation, then id), of one host and in one state
    /// when the filter says, at most `limit`.
    pub async fn jobs(&self, filter: &JobFilter) -> Result<Vec<Job>, StoreError> {
        let mut conditions = Vec::new();
        let mut n = 0;
        let mut param = || {
            n += 1;
            format!("${n}")
        };
        if filter.host.is_some() {
            conditions.push(format!("host = {}", param()));
        }
        if filter.state.is_some() {
            conditions.push(format!("state = {}", param()));
        }
        let limit = param();
        let filter_sql =
            if conditions.is_empty() { String::new() } else { format!(" WHERE {}", conditions.join(" AND ")) };
        let sql = format!("SELECT {COLUMNS} FROM jobs{filter_sql} ORDER BY created_at DESC, id DESC LIMIT {limit}");
        let mut query = sqlx::query(&sql);
        if let Some(host) = &filter.host {
            query = query.bind(host.clone());
        }
        if let Some(state) = filter.state {
            query = query.bind(state.as_str());
        }
        let rows = query.bind(i64::try_from(filter.limit).unwrap_or(i64::MAX)).fetch_all(&self.pool).await?;
        rows.iter().map(decode_job).collect()
    }

    /// How many jobs are in each state, every state listed (0 included), in
    /// core's order: what the metrics export.
    pub async fn job_counts(&self) -> Result<Vec<(JobState, i64)>, StoreError> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT state, COUNT(*) FROM jobs GROUP BY state").fetch_all(&self.pool).await?;
        let mut counts: Vec<(JobState, i64)> = JobState::ALL.iter().map(|&state| (state, 0)).collect();
        for (state, count) in rows {
            let known = JobState::parse(&state).ok_or_else(|| StoreError::Corrupt {
                table: "jobs",
                id: 0,
                message: format!("state {state:?} is unknown"),
            })?;
            if let Some(slot) = counts.iter_mut().find(|(s, _)| *s == known) {
                slot.1 = count;
            }
        }
        Ok(counts)
    }

    /// A transaction that holds the write lock from its start, so what it
    /// reads is still so when it writes.
    async fn begin_write(&self) -> Result<Transaction<'static, Any>, StoreError> {
        Ok(self.pool.begin_with(self.dialect().begin_write()).await?)
    }
}

async fn insert_log(
    tx: &mut Transaction<'_, Any>,
    id: i64,
    attempt: u32,
    at: Timestamp,
    line: &str,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO job_log (job_id, attempt, at, line) VALUES ($1, $2, $3, $4)")
        .bind(id)
        .bind(i64::from(attempt))
        .bind(at.timestamp_micros())
        .bind(line.to_owned())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A lease or limit in microseconds, capped at [`MAX_SPAN_MICROS`].
fn span(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX).min(MAX_SPAN_MICROS)
}

fn decode_job(row: &AnyRow) -> Result<Job, StoreError> {
    let id: i64 = row.try_get("id")?;
    let corrupt = |message: String| StoreError::Corrupt { table: "jobs", id, message };
    let task: String = row.try_get("task")?;
    let task = TaskName::parse(&task).map_err(|err| corrupt(err.to_string()))?;
    let state: String = row.try_get("state")?;
    let state = JobState::parse(&state).ok_or_else(|| corrupt(format!("state {state:?} is unknown")))?;
    let count = |column: &str| -> Result<u32, StoreError> {
        let value: i64 = row.try_get(column)?;
        u32::try_from(value).map_err(|_| corrupt(format!("{column} {value} is out of range")))
    };
    let at = |column: &str| -> Result<Option<Timestamp>, StoreError> {
        let value: Option<i64> = row.try_get(column)?;
        value
            .map(|value| time::from_micros(value).ok_or_else(|| corrupt(format!("{column} {value} is out of range"))))
            .transpose()
    };
    let required = |column: &str| -> Result<Timestamp, StoreError> {
        at(column)?.ok_or_else(|| corrupt(format!("{column} is missing")))
    };
    let limit = |column: &str| -> Result<Option<Duration>, StoreError> {
        let value: Option<i64> = row.try_get(column)?;
        value
            .map(|value| {
                u64::try_from(value)
                    .map(Duration::from_micros)
                    .map_err(|_| corrupt(format!("{column} {value} is out of range")))
            })
            .transpose()
    };
    Ok(Job {
        id,
        task,
        host: row.try_get("host")?,
        worker_group: row.try_get("worker_group")?,
        worker_id: row.try_get("worker_id")?,
        state,
        reason: row.try_get("reason")?,
        requested_by: row.try_get("requested_by")?,
        attempts: count("attempts")?,
        max_attempts: count("max_attempts")?,
        lease_owner: row.try_get("lease_owner")?,
        lease_until: at("lease_until")?,
        soft_limit: limit("soft_limit")?,
        hard_limit: limit("hard_limit")?,
        soft_deadline: at("soft_deadline")?,
        hard_deadline: at("hard_deadline")?,
        created_at: required("created_at")?,
        started_at: at("started_at")?,
        finished_at: at("finished_at")?,
        result: row.try_get("result")?,
        updated_at: required("updated_at")?,
    })
}
