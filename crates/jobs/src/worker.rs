//! The job worker: claims jobs from the store's queue, runs each with
//! [`run_action`] (or, for `quarantine` and `unquarantine`, on the
//! machine's Taskcluster worker), and finishes it.
//!
//! Invariants kept here:
//! - A job is finished only by the worker holding its lease. While a job
//!   runs, the worker renews the lease (core `lease_renewal_due`); when a
//!   renewal is refused (the job was cancelled, or the lease lapsed and
//!   another worker took it over) the action is dropped, which kills its
//!   tools (`kill_on_drop`), and the job is left to whoever owns it now.
//! - No job stays running for ever: a worker that dies stops renewing, and
//!   every worker recovers expired leases every `recover_every` (the
//!   store's `recover_expired`: queued again, or failed after its last
//!   attempt). A job's soft time limit stops its action (it fails, saying
//!   so); its hard limit is the store's, for a worker too stuck to stop.
//! - Log lines reach the store as they are written, so a job's progress
//!   can be read while it runs.
//! - A notification is sent after the job is finished and never changes
//!   its outcome.
//! - Every quarantine job run with a Taskcluster client leaves an audit
//!   entry like the `quarantine` command's, whether it succeeded or not.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use fleetroll_core::audit::AuditEntry;
use fleetroll_core::jobs::inventory::Inventory;
use fleetroll_core::jobs::settings::JobSettings;
use fleetroll_core::jobs::{JobSummary, TaskName, lease_renewal_due, notification, result_text};
use fleetroll_core::time::Timestamp;
use fleetroll_store::{Job, Store, StoreError, Verdict};
use fleetroll_taskcluster::TcClient;
use fleetroll_taskcluster::gather::QuarantineOutcome;
use serde_json::json;
use tokio::sync::mpsc;

use crate::{ActionError, Tools, run_action};

/// What every worker of a process shares.
#[derive(Debug)]
pub struct JobsRuntime {
    pub inventory: Inventory,
    pub settings: JobSettings,
    pub tools: Tools,
    /// A URL that gets each finished job as JSON (core `notification`).
    pub webhook: Option<String>,
    /// Where `quarantine` and `unquarantine` jobs go; without it they fail.
    pub taskcluster: Option<TcClient>,
    /// How long a `quarantine` job quarantines the worker.
    pub quarantine_for: Duration,
}

/// The `quarantine` command's default (`--hours 168`): a week.
pub const DEFAULT_QUARANTINE_FOR: Duration = Duration::from_secs(168 * 3600);

/// One worker's name and rhythm.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// Unique among workers: the lease owner.
    pub name: String,
    /// How long an idle worker waits before asking the queue again, unless
    /// its store queues a job first: the delay before it sees a job queued
    /// by another process.
    pub poll: Duration,
    /// How often the worker looks for jobs whose worker died.
    pub recover_every: Duration,
}

impl WorkerConfig {
    pub fn new(name: impl Into<String>) -> WorkerConfig {
        WorkerConfig { name: name.into(), poll: Duration::from_millis(250), recover_every: Duration::from_secs(5) }
    }
}

/// Claims and runs jobs until `shutdown`. A job in hand when `shutdown`
/// comes is stopped and left running in the store: its lease lapses and
/// another worker (or this one after a restart) takes it over. Store
/// failures are logged and retried after `poll`.
pub async fn run_worker(
    store: Store,
    runtime: Arc<JobsRuntime>,
    config: WorkerConfig,
    shutdown: impl Future<Output = ()>,
) {
    let mut shutdown = pin!(shutdown);
    let mut next_recovery = tokio::time::Instant::now();
    loop {
        if tokio::time::Instant::now() >= next_recovery {
            recover(&store).await;
            next_recovery = tokio::time::Instant::now() + config.recover_every;
        }
        let claimed = store.claim(&config.name, runtime.settings.lease, Utc::now()).await;
        let idle = match claimed {
            Ok(Some(job)) => {
                let work = run_job(&store, &runtime, &config.name, job);
                tokio::select! {
                    biased;
                    () = &mut shutdown => return,
                    () = work => false,
                }
            }
            Ok(None) => true,
            Err(err) => {
                tracing::warn!(worker = %config.name, "cannot claim a job: {err}");
                true
            }
        };
        if idle {
            tokio::select! {
                biased;
                () = &mut shutdown => return,
                () = store.wait_for_queued_job(config.poll) => {}
            }
        }
    }
}

async fn recover(store: &Store) {
    match store.recover_expired(Utc::now()).await {
        Ok(recovered) if !recovered.is_empty() => {
            tracing::warn!("recovered {} jobs whose worker stopped renewing: {recovered:?}", recovered.len());
        }
        Ok(_) => {}
        Err(err) => tracing::warn!("cannot recover expired jobs: {err}"),
    }
}

/// How one attempt ended.
enum Ended {
    Done(Result<String, String>),
    /// The lease was refused: cancelled, or taken over.
    LeaseLost,
    /// The job's soft or hard time limit passed: the limit, in seconds.
    TimeLimit(&'static str, u64),
}

/// Runs one claimed job to its end (or until its lease is lost).
async fn run_job(store: &Store, runtime: &Arc<JobsRuntime>, worker: &str, job: Job) {
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    let ended = {
        // The attempt runs as a task of its own: the log appends and lease
        // renewals below write to the store while it works, and on SQLite a
        // write waits for the attempt's own transactions (the audit of a
        // quarantine), which only progress while it is polled.
        let (owned_store, owned_runtime, owned_job) = (store.clone(), runtime.clone(), job.clone());
        let mut attempt =
            AbortOnDrop(tokio::spawn(async move { attempt(&owned_store, &owned_runtime, &owned_job, tx).await }));
        let mut renew = tokio::time::interval(runtime.settings.lease / 3);
        renew.tick().await;
        let mut lease_until = job.lease_until.unwrap_or_else(Utc::now);
        let soft = deadline(job.soft_deadline);
        let mut soft = pin!(soft);
        let hard = deadline(job.hard_deadline);
        let mut hard = pin!(hard);
        let seconds = |limit: Option<std::time::Duration>| limit.unwrap_or_default().as_secs();
        loop {
            tokio::select! {
                outcome = &mut attempt.0 => {
                    break Ended::Done(outcome.unwrap_or_else(|err| Err(format!("the attempt stopped: {err}"))));
                }
                Some(line) = rx.recv() => append(store, &job, &line).await,
                _ = renew.tick() => {
                    let now = Utc::now();
                    if !lease_renewal_due(lease_until, runtime.settings.lease, now) {
                        continue;
                    }
                    match store.renew_lease(job.id, worker, runtime.settings.lease, now).await {
                        Ok(true) => lease_until = now + runtime.settings.lease,
                        Ok(false) => break Ended::LeaseLost,
                        Err(err) => tracing::warn!(job = job.id, "cannot renew the lease: {err}"),
                    }
                }
                () = &mut soft => break Ended::TimeLimit("soft", seconds(job.soft_limit)),
                () = &mut hard => break Ended::TimeLimit("hard", seconds(job.hard_limit)),
            }
        }
    };
    // The attempt is dropped by now (its tools killed); what it logged last
    // is still in the channel.
    while let Ok(line) = rx.try_recv() {
        append(store, &job, &line).await;
    }
    let (verdict, result) = match ended {
        Ended::Done(Ok(detail)) => (Verdict::Succeeded, detail),
        Ended::Done(Err(reason)) => (Verdict::Failed, reason),
        Ended::TimeLimit(which, seconds) => {
            (Verdict::Failed, format!("stopped at the {which} time limit of {seconds} s"))
        }
        Ended::LeaseLost => {
            append(store, &job, &format!("{} stopped: the job was cancelled or taken over", stamp(Utc::now()))).await;
            return;
        }
    };
    match store.finish(job.id, worker, verdict, Some(&result), Utc::now()).await {
        Ok(true) => notify(store, runtime, job.id).await,
        Ok(false) => tracing::info!(job = job.id, "finished, but the job is no longer ours (cancelled or taken over)"),
        Err(err) => tracing::warn!(job = job.id, "cannot record the job's end ({err}); its lease will lapse"),
    }
}

/// Aborts the attempt's task when dropped, so a worker that stops or gives
/// a job up kills its tools (`kill_on_drop`) instead of leaving them.
struct AbortOnDrop(tokio::task::JoinHandle<Result<String, String>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// One attempt of `job`: the action with its log lines sent to `tx`.
async fn attempt(
    store: &Store,
    runtime: &JobsRuntime,
    job: &Job,
    tx: mpsc::UnboundedSender<String>,
) -> Result<String, String> {
    let _ = tx.send(format!("{} attempt {} of {} on {}", stamp(Utc::now()), job.attempts, job.max_attempts, job.host));
    let mut log = |line: String| {
        let _ = tx.send(line);
    };
    if matches!(job.task, TaskName::Quarantine | TaskName::Unquarantine) {
        return quarantine(store, runtime, job, &mut log).await;
    }
    let machine = runtime.inventory.lookup(&job.host).map_err(|err| err.to_string())?;
    let outcome = run_action(job.task, machine, &runtime.inventory, &runtime.settings, &runtime.tools, &mut log).await;
    match outcome {
        Ok(outcome) => Ok(outcome.detail),
        Err(ActionError::Failed(reason)) => Err(reason),
        Err(other) => Err(other.to_string()),
    }
}

/// Quarantines the job's host's Taskcluster worker for `quarantine_for`,
/// or lifts its quarantine, and audits it as the `quarantine` command does.
async fn quarantine(
    store: &Store,
    runtime: &JobsRuntime,
    job: &Job,
    log: &mut impl FnMut(String),
) -> Result<String, String> {
    let Some(client) = &runtime.taskcluster else {
        return Err(format!("{} needs Taskcluster, and this worker has no Taskcluster client", job.task));
    };
    let now = Utc::now();
    let until = if job.task == TaskName::Unquarantine { now } else { now + runtime.quarantine_for };
    let hosts = std::slice::from_ref(&job.host);
    let outcome = match fleetroll_taskcluster::quarantine(hosts, store, client, until, &job.reason, false).await {
        Ok(mut outcomes) => outcomes.pop().ok_or("Taskcluster quarantine gave no outcome for the host")?,
        Err(err) => return Err(err.to_string()),
    };
    let worker = outcome.worker.as_deref().unwrap_or("?");
    let detail = match (&outcome.worker, &outcome.error) {
        (_, None) => worker.to_owned(),
        (Some(worker), Some(error)) => format!("{worker}: {error}"),
        (None, Some(error)) => error.clone(),
    };
    log(format!("{} {} {} {detail}", stamp(Utc::now()), job.task, if outcome.ok { "ok" } else { "failed" }));
    let audited = store.append_audit(vec![quarantine_audit(job, until, &outcome)]).await;
    if let Err(err) = &audited {
        tracing::warn!(job = job.id, "cannot audit {} of {}: {err}", job.task, job.host);
    }
    if let Some(error) = outcome.error {
        return Err(error);
    }
    let done = match job.task {
        TaskName::Unquarantine => format!("{worker}: quarantine lifted"),
        _ => format!("{worker}: quarantined until {}", stamp(until)),
    };
    // The change was made; reported as a failure so that its missing audit
    // entry is noticed.
    match audited {
        Ok(_) => Ok(done),
        Err(err) => Err(format!("{done}, but its audit entry was not stored: {err}")),
    }
}

/// The entry the `quarantine` command appends, with the job's requester as actor.
fn quarantine_audit(job: &Job, until: Timestamp, outcome: &QuarantineOutcome) -> AuditEntry {
    let action = if job.task == TaskName::Unquarantine { "host.unquarantine" } else { "host.quarantine" };
    AuditEntry {
        ts: Utc::now(),
        actor: job.requested_by.clone(),
        action: action.to_owned(),
        hosts: vec![outcome.host.clone()],
        parameters: json!({"reason": job.reason, "until": stamp(until), "worker": outcome.worker}),
        result: json!({"ok": outcome.ok, "error": outcome.error}),
    }
}

async fn deadline(at: Option<Timestamp>) {
    match at {
        Some(at) => {
            let wait = (at - Utc::now()).to_std().unwrap_or_default();
            tokio::time::sleep(wait).await;
        }
        None => std::future::pending().await,
    }
}

async fn append(store: &Store, job: &Job, line: &str) {
    if let Err(err) = store.append_job_log(job.id, job.attempts, Utc::now(), line).await {
        tracing::warn!(job = job.id, "cannot store a log line ({err}): {line}");
    }
}

fn stamp(at: Timestamp) -> String {
    fleetroll_core::time::to_rfc3339(at)
}

/// Posts the finished job to the webhook. Failures are logged only.
async fn notify(store: &Store, runtime: &JobsRuntime, id: i64) {
    let Some(url) = &runtime.webhook else { return };
    let summary = match summary(store, id).await {
        Ok(Some(summary)) => summary,
        Ok(None) => return,
        Err(err) => {
            tracing::warn!(job = id, "cannot read the job to notify about it: {err}");
            return;
        }
    };
    tracing::info!(job = id, "{}", result_text(&summary));
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build();
    let sent = match client {
        Ok(client) => client.post(url).json(&notification(&summary)).send().await.and_then(|r| r.error_for_status()),
        Err(err) => Err(err),
    };
    if let Err(err) = sent {
        tracing::warn!(job = id, "the job's notification was not delivered: {err}");
    }
}

async fn summary(store: &Store, id: i64) -> Result<Option<JobSummary>, StoreError> {
    let Some(job) = store.job(id).await? else { return Ok(None) };
    let log = store.job_log(id).await?;
    Ok(Some(job.summary(&log)))
}
