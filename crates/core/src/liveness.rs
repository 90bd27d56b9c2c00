//! Worker liveness from Taskcluster's queue events on Pulse (reference §B).
//!
//! A worker that starts or resolves a task run is alive. The queue publishes
//! those moments on four topic exchanges; a consumer binds them for the
//! configured provisioners, and each message is decided here: which worker,
//! which run, what state, when — or why the message is refused.
//!
//! Decisions kept here:
//! - A message is validated against the queue's published schema
//!   (`schemas/v1`): unknown fields, wrong types, missing required fields and
//!   identifiers outside the documented patterns are refused with a
//!   [`RejectReason`] a consumer can count.
//! - A `task-exception` without a run (the deadline passed before any run)
//!   is valid and says nothing about a worker: [`Decoded::NoRun`].
//! - When a worker was seen is the run's own time (started, or resolved),
//!   never later than the message's arrival. The reference listener stamped
//!   the arrival; after a backlog (a consumer down for an hour) that made
//!   every worker look alive at the moment the backlog drained.
//! - A run's state only moves forward (running → resolved), so duplicates
//!   and out-of-order redeliveries change nothing ([`RunState::rank`]).

use std::borrow::Cow;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{NaiveDateTime, Timelike};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::hosts::lowercase_name;
use crate::time::{Timestamp, truncate_to_micros};

/// The queue's exchanges: `exchange/taskcluster-queue/v1/<name>`.
pub const DEFAULT_EXCHANGE_PREFIX: &str = "exchange/taskcluster-queue/v1/";
/// The reference listener's provisioner: the hardware pseudo-provisioner.
pub const DEFAULT_PROVISIONER: &str = "releng-hardware";
/// Pulse messages should stay under 8 KiB; a task status with many runs
/// can be larger. Anything above this is not a queue message.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;

/// The queue events that show a worker alive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    Running,
    Completed,
    Failed,
    Exception,
}

impl EventKind {
    pub const ALL: [EventKind; 4] = [EventKind::Running, EventKind::Completed, EventKind::Failed, EventKind::Exception];

    /// The exchange's name after the prefix.
    pub fn exchange_suffix(self) -> &'static str {
        match self {
            EventKind::Running => "task-running",
            EventKind::Completed => "task-completed",
            EventKind::Failed => "task-failed",
            EventKind::Exception => "task-exception",
        }
    }

    /// The event an exchange carries, if it is one of ours.
    pub fn from_exchange(exchange: &str, prefix: &str) -> Option<EventKind> {
        let suffix = exchange.strip_prefix(prefix)?;
        EventKind::ALL.into_iter().find(|kind| kind.exchange_suffix() == suffix)
    }

    /// The run's state once this event happened.
    pub fn run_state(self) -> RunState {
        match self {
            EventKind::Running => RunState::Running,
            EventKind::Completed => RunState::Completed,
            EventKind::Failed => RunState::Failed,
            EventKind::Exception => RunState::Exception,
        }
    }
}

/// The routing-key pattern that selects one provisioner's task events
/// (reference §B.2, key words per §B.6): `primary`, then taskId, runId,
/// workerGroup, workerId as `*`, the provisioner, workerType, schedulerId,
/// taskGroupId as `*`, and the multi-word `reserved` as `#`.
pub fn binding_key(provisioner: &str) -> String {
    format!("primary.*.*.*.*.{provisioner}.*.*.*.#")
}

/// Pulse's queue name for `user`: `queue/<user>/<name>`.
pub fn queue_name(user: &str, name: &str) -> String {
    format!("queue/{user}/{name}")
}

/// Why `provisioner` cannot be bound: it is a routing-key word, so it must
/// follow the identifier pattern (no `.`, no wildcards).
pub fn check_provisioner(provisioner: &str) -> Result<(), String> {
    if is_identifier(provisioner) {
        Ok(())
    } else {
        Err(format!("provisioner {provisioner:?} must be 1–38 of A–Z, a–z, 0–9, `-` and `_`"))
    }
}

/// A run's state, as far as liveness cares: pending runs have no worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    Running,
    Completed,
    Failed,
    Exception,
}

impl RunState {
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Running => "running",
            RunState::Completed => "completed",
            RunState::Failed => "failed",
            RunState::Exception => "exception",
        }
    }

    pub fn parse(text: &str) -> Option<RunState> {
        [RunState::Running, RunState::Completed, RunState::Failed, RunState::Exception]
            .into_iter()
            .find(|state| state.as_str() == text)
    }

    /// How far along a run is: a stored run is replaced only by a state of
    /// higher rank, so a late `task-running` never reopens a resolved run
    /// and a duplicate changes nothing.
    pub fn rank(self) -> i64 {
        match self {
            RunState::Running => 1,
            RunState::Completed | RunState::Failed | RunState::Exception => 2,
        }
    }

    pub fn is_resolved(self) -> bool {
        self.rank() == 2
    }
}

/// What one message taught us about one worker's run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskEvent {
    pub kind: EventKind,
    pub task_id: String,
    pub run_id: i64,
    pub worker_group: String,
    pub worker_id: String,
    pub provisioner_id: String,
    pub worker_type: String,
    pub state: RunState,
    pub reason_resolved: Option<String>,
    pub started: Option<Timestamp>,
    pub resolved: Option<Timestamp>,
    /// When the worker was last known alive by this event.
    pub seen: Timestamp,
}

/// A valid message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decoded {
    Event(TaskEvent),
    /// A `task-exception` whose deadline passed before any run: valid, but
    /// about no worker.
    NoRun,
}

/// Why a message is refused, as counted (a metric label each).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RejectReason {
    Oversized,
    InvalidJson,
    Schema,
    MissingField,
    BadIdentifier,
    UnknownExchange,
}

impl RejectReason {
    pub const ALL: [RejectReason; 6] = [
        RejectReason::Oversized,
        RejectReason::InvalidJson,
        RejectReason::Schema,
        RejectReason::MissingField,
        RejectReason::BadIdentifier,
        RejectReason::UnknownExchange,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::Oversized => "oversized",
            RejectReason::InvalidJson => "invalid_json",
            RejectReason::Schema => "schema",
            RejectReason::MissingField => "missing_field",
            RejectReason::BadIdentifier => "bad_identifier",
            RejectReason::UnknownExchange => "unknown_exchange",
        }
    }

    fn index(self) -> usize {
        RejectReason::ALL.iter().position(|reason| *reason == self).expect("every reason is listed")
    }
}

/// A refused message: the reason and what exactly was wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}: {detail}", reason.as_str())]
pub struct Rejection {
    pub reason: RejectReason,
    pub detail: String,
}

impl Rejection {
    fn new(reason: RejectReason, detail: impl Into<String>) -> Rejection {
        Rejection { reason, detail: detail.into() }
    }

    fn missing(field: &str) -> Rejection {
        Rejection::new(RejectReason::MissingField, format!("`{field}` is required"))
    }
}

/// The body of the four task exchanges' messages (`schemas/v1`), every
/// property optional here so that a missing one is told apart from a wrong
/// one.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Body {
    version: Option<i64>,
    status: Option<Status>,
    #[allow(dead_code)] // validated, not used
    task: Option<TaskTags>,
    run_id: Option<i64>,
    worker_group: Option<String>,
    worker_id: Option<String>,
    taken_until: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TaskTags {
    #[allow(dead_code)] // validated, not used
    tags: std::collections::BTreeMap<String, String>,
}

/// `task-status.yml`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Status {
    task_id: Option<String>,
    provisioner_id: Option<String>,
    worker_type: Option<String>,
    task_queue_id: Option<String>,
    scheduler_id: Option<String>,
    project_id: Option<String>,
    task_group_id: Option<String>,
    #[allow(dead_code)] // validated, not used
    priority: Option<String>,
    deadline: Option<String>,
    expires: Option<String>,
    retries_left: Option<i64>,
    state: Option<String>,
    runs: Option<Vec<Run>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Run {
    run_id: Option<i64>,
    state: Option<String>,
    reason_created: Option<String>,
    reason_resolved: Option<String>,
    worker_group: Option<String>,
    worker_id: Option<String>,
    taken_until: Option<String>,
    scheduled: Option<String>,
    started: Option<String>,
    resolved: Option<String>,
}

const TASK_STATES: [&str; 6] = ["unscheduled", "pending", "running", "completed", "failed", "exception"];
const RUN_STATES: [&str; 5] = ["pending", "running", "completed", "failed", "exception"];
const REASONS_CREATED: [&str; 5] = ["scheduled", "retry", "task-retry", "rerun", "exception"];
const REASONS_RESOLVED: [&str; 11] = [
    "completed",
    "failed",
    "deadline-exceeded",
    "canceled",
    "claim-expired",
    "worker-shutdown",
    "malformed-payload",
    "resource-unavailable",
    "internal-error",
    "intermittent-task",
    "superseded",
];
const PRIORITIES: [&str; 9] = ["highest", "very-high", "high", "medium", "low", "very-low", "lowest", "normal", "_"];

/// Decides one message of `kind` that arrived at `received`.
pub fn decode(kind: EventKind, body: &[u8], received: Timestamp) -> Result<Decoded, Rejection> {
    if body.len() > MAX_MESSAGE_BYTES {
        return Err(Rejection::new(
            RejectReason::Oversized,
            format!("{} bytes; at most {MAX_MESSAGE_BYTES} are accepted", body.len()),
        ));
    }
    let body = parse(body)?;
    let version = body.version.ok_or_else(|| Rejection::missing("version"))?;
    if version != 1 {
        return Err(Rejection::new(RejectReason::Schema, format!("`version` is {version}; only 1 is known")));
    }
    let status = body.status.ok_or_else(|| Rejection::missing("status"))?;
    let status = check_status(status)?;
    let run_fields = [body.run_id.is_some(), body.worker_group.is_some(), body.worker_id.is_some()];
    if kind == EventKind::Exception && run_fields == [false; 3] {
        return Ok(Decoded::NoRun);
    }
    let run_id = body.run_id.ok_or_else(|| Rejection::missing("runId"))?;
    check_run_id("runId", run_id)?;
    let worker_group = body.worker_group.ok_or_else(|| Rejection::missing("workerGroup"))?;
    let worker_id = body.worker_id.ok_or_else(|| Rejection::missing("workerId"))?;
    check_identifier("workerGroup", &worker_group)?;
    check_identifier("workerId", &worker_id)?;
    match (kind, &body.taken_until) {
        (EventKind::Running, None) => return Err(Rejection::missing("takenUntil")),
        (_, Some(taken_until)) => {
            date_time("takenUntil", taken_until)?;
        }
        (_, None) => {}
    }
    let run = status.runs.iter().find(|run| run.run_id == run_id).ok_or_else(|| {
        Rejection::new(RejectReason::Schema, format!("`status.runs` has no run {run_id}, the message's `runId`"))
    })?;
    let seen = run.resolved.or(run.started).map_or(received, |at| at.min(received));
    Ok(Decoded::Event(TaskEvent {
        kind,
        task_id: status.task_id,
        run_id,
        worker_group,
        worker_id,
        provisioner_id: status.provisioner_id,
        worker_type: status.worker_type,
        state: kind.run_state(),
        reason_resolved: run.reason_resolved.clone(),
        started: run.started,
        resolved: run.resolved,
        seen: truncate_to_micros(seen),
    }))
}

/// Reads the JSON, telling malformed JSON from JSON of the wrong shape.
fn parse(body: &[u8]) -> Result<Body, Rejection> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let parsed: Body = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => Rejection::new(RejectReason::Schema, format!("at `{path}`: {inner}")),
            _ => Rejection::new(RejectReason::InvalidJson, inner.to_string()),
        }
    })?;
    deserializer.end().map_err(|err| Rejection::new(RejectReason::InvalidJson, err.to_string()))?;
    Ok(parsed)
}

/// A status whose required fields are there and well formed.
struct CheckedStatus {
    task_id: String,
    provisioner_id: String,
    worker_type: String,
    runs: Vec<CheckedRun>,
}

struct CheckedRun {
    run_id: i64,
    reason_resolved: Option<String>,
    started: Option<Timestamp>,
    resolved: Option<Timestamp>,
}

fn check_status(status: Status) -> Result<CheckedStatus, Rejection> {
    let need = |value: Option<String>, field: &str| value.ok_or_else(|| Rejection::missing(&format!("status.{field}")));
    let task_id = need(status.task_id, "taskId")?;
    check_slug("status.taskId", &task_id)?;
    let provisioner_id = need(status.provisioner_id, "provisionerId")?;
    check_identifier("status.provisionerId", &provisioner_id)?;
    let worker_type = need(status.worker_type, "workerType")?;
    check_identifier("status.workerType", &worker_type)?;
    let task_queue_id = need(status.task_queue_id, "taskQueueId")?;
    if task_queue_id != format!("{provisioner_id}/{worker_type}") {
        return Err(Rejection::new(
            RejectReason::Schema,
            format!("`status.taskQueueId` {task_queue_id:?} is not `provisionerId/workerType`"),
        ));
    }
    check_identifier("status.schedulerId", &need(status.scheduler_id, "schedulerId")?)?;
    need(status.project_id, "projectId")?;
    check_slug("status.taskGroupId", &need(status.task_group_id, "taskGroupId")?)?;
    if let Some(priority) = &status.priority {
        one_of("status.priority", priority, &PRIORITIES)?;
    }
    date_time("status.deadline", &need(status.deadline, "deadline")?)?;
    date_time("status.expires", &need(status.expires, "expires")?)?;
    let retries_left = status.retries_left.ok_or_else(|| Rejection::missing("status.retriesLeft"))?;
    if !(0..=999).contains(&retries_left) {
        return Err(Rejection::new(RejectReason::Schema, format!("`status.retriesLeft` {retries_left} is not 0–999")));
    }
    one_of("status.state", &need(status.state, "state")?, &TASK_STATES)?;
    let runs = status.runs.ok_or_else(|| Rejection::missing("status.runs"))?;
    let runs = runs.into_iter().map(check_run).collect::<Result<_, _>>()?;
    Ok(CheckedStatus { task_id, provisioner_id, worker_type, runs })
}

fn check_run(run: Run) -> Result<CheckedRun, Rejection> {
    let run_id = run.run_id.ok_or_else(|| Rejection::missing("status.runs[].runId"))?;
    check_run_id("status.runs[].runId", run_id)?;
    one_of(
        "status.runs[].state",
        run.state.as_deref().ok_or_else(|| Rejection::missing("status.runs[].state"))?,
        &RUN_STATES,
    )?;
    let created = run.reason_created.ok_or_else(|| Rejection::missing("status.runs[].reasonCreated"))?;
    one_of("status.runs[].reasonCreated", &created, &REASONS_CREATED)?;
    if let Some(reason) = &run.reason_resolved {
        one_of("status.runs[].reasonResolved", reason, &REASONS_RESOLVED)?;
    }
    for (field, value) in [("status.runs[].workerGroup", &run.worker_group), ("status.runs[].workerId", &run.worker_id)]
    {
        if let Some(value) = value {
            check_identifier(field, value)?;
        }
    }
    if let Some(taken_until) = &run.taken_until {
        date_time("status.runs[].takenUntil", taken_until)?;
    }
    date_time("status.runs[].scheduled", &run.scheduled.ok_or_else(|| Rejection::missing("status.runs[].scheduled"))?)?;
    let optional_time = |field: &str, value: &Option<String>| value.as_deref().map(|v| date_time(field, v)).transpose();
    Ok(CheckedRun {
        run_id,
        reason_resolved: run.reason_resolved,
        started: optional_time("status.runs[].started", &run.started)?,
        resolved: optional_time("status.runs[].resolved", &run.resolved)?,
    })
}

/// Taskcluster identifiers (`workerGroup`, `workerId`, `provisionerId`,
/// …): `^([a-zA-Z0-9-_]*)$`, 1–38 characters.
pub fn is_identifier(value: &str) -> bool {
    (1..=38).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn check_identifier(field: &str, value: &str) -> Result<(), Rejection> {
    if is_identifier(value) {
        Ok(())
    } else {
        Err(Rejection::new(
            RejectReason::BadIdentifier,
            format!("`{field}` {value:?} is not 1–38 of A–Z, a–z, 0–9, `-` and `_`"),
        ))
    }
}

/// Slug ids (`taskId`, `taskGroupId`): 22 characters of URL-safe base64.
fn check_slug(field: &str, value: &str) -> Result<(), Rejection> {
    if value.len() == 22 && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        Ok(())
    } else {
        Err(Rejection::new(RejectReason::BadIdentifier, format!("`{field}` {value:?} is not a 22-character slug id")))
    }
}

fn check_run_id(field: &str, run_id: i64) -> Result<(), Rejection> {
    if (0..=1000).contains(&run_id) {
        Ok(())
    } else {
        Err(Rejection::new(RejectReason::Schema, format!("`{field}` {run_id} is not 0–1000")))
    }
}

fn one_of(field: &str, value: &str, allowed: &[&str]) -> Result<(), Rejection> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(Rejection::new(RejectReason::Schema, format!("`{field}` {value:?} is not one of {}", allowed.join(", "))))
    }
}

fn date_time(field: &str, value: &str) -> Result<Timestamp, Rejection> {
    chrono::DateTime::parse_from_rfc3339(value)
        .map(|at| at.with_timezone(&chrono::Utc))
        .map_err(|err| Rejection::new(RejectReason::Schema, format!("`{field}` {value:?} is not a date-time: {err}")))
}

/// A worker's identity in the reference listener's API: `<dc>:<host>`,
/// i.e. `<workerGroup>:<workerId>`.
pub fn machine_id(worker_group: &str, worker_id: &str) -> String {
    format!("{worker_group}:{worker_id}")
}

/// `<dc>:<host>` split at the first `:`, as the reference's `/machines` does.
pub fn split_machine_id(id: &str) -> Option<(&str, &str)> {
    id.split_once(':')
}

/// One entry of `GET /machines` (and of what `machines preload` reads).
/// The field order is the reference's README example.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MachineSeen {
    pub machine: String,
    pub datacenter: String,
    pub lastseen: String,
}

/// A last-seen time as the reference wrote it: Python's `isoformat()` of a
/// naive UTC time, `2018-11-08T08:47:50.939514`, without the fraction when
/// it is zero (as Python does).
pub fn format_lastseen(at: Timestamp) -> String {
    let naive = at.naive_utc();
    if naive.nanosecond() / 1000 == 0 {
        naive.format("%Y-%m-%dT%H:%M:%S").to_string()
    } else {
        naive.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
    }
}

/// Reads a last-seen time: the reference's naive UTC form (with or without
/// a fraction), or RFC 3339 with an offset.
pub fn parse_lastseen(text: &str) -> Result<Timestamp, String> {
    if let Ok(at) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(truncate_to_micros(at.with_timezone(&chrono::Utc)));
    }
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .map(|naive| truncate_to_micros(naive.and_utc()))
        .map_err(|_| format!("{text:?} is not a time like 2018-11-08T08:47:50.939514"))
}

/// A worker last seen at a time, as preloaded or learned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sighting {
    pub worker_group: String,
    pub worker_id: String,
    pub seen: Timestamp,
}

/// Reads the `/machines` JSON array (`machines preload`). Every entry is
/// checked before any is kept, and a problem names the entry.
pub fn parse_preload(text: &str) -> Result<Vec<Sighting>, String> {
    let entries: Vec<MachineSeen> =
        serde_json::from_str(text).map_err(|err| format!("expected the JSON array `GET /machines` returns: {err}"))?;
    entries
        .into_iter()
        .enumerate()
        .map(|(i, entry)| {
            let problem = |what: String| format!("entry {i} ({}:{}): {what}", entry.datacenter, entry.machine);
            if entry.datacenter.is_empty() || entry.datacenter.contains(':') || entry.machine.is_empty() {
                return Err(problem("the datacenter and machine must be non-empty, the datacenter without `:`".into()));
            }
            let seen = parse_lastseen(&entry.lastseen).map_err(problem)?;
            Ok(Sighting { worker_group: entry.datacenter, worker_id: entry.machine, seen })
        })
        .collect()
}

/// One run as stored: what the newest event about it said.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RunRecord {
    pub task_id: String,
    pub run_id: i64,
    pub state: RunState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason_resolved: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", with = "opt_rfc3339")]
    pub started: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none", with = "opt_rfc3339")]
    pub resolved: Option<Timestamp>,
}

impl RunRecord {
    /// When the run last changed: resolved, else started.
    pub fn last_change(&self) -> Option<Timestamp> {
        self.resolved.or(self.started)
    }
}

mod opt_rfc3339 {
    use serde::Serializer;

    use crate::time::{Timestamp, to_rfc3339};

    pub fn serialize<S: Serializer>(value: &Option<Timestamp>, serializer: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(at) => serializer.serialize_str(&to_rfc3339(*at)),
            None => serializer.serialize_none(),
        }
    }
}

/// How a worker's resolved runs in a window ended.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Outcomes {
    pub completed: u64,
    pub failed: u64,
    pub exception: u64,
    /// completed / all resolved; `None` when nothing resolved in the window.
    pub success_rate: Option<f64>,
}

impl Outcomes {
    /// Outcomes from counts of resolved runs, however they were counted
    /// (core's [`outcomes`] or a store's `GROUP BY`), so the success rate is
    /// worked out in one place.
    pub fn from_counts(completed: u64, failed: u64, exception: u64) -> Outcomes {
        let total = completed + failed + exception;
        let success_rate = (total > 0).then(|| completed as f64 / total as f64);
        Outcomes { completed, failed, exception, success_rate }
    }
}

/// The outcomes of the runs resolved at or after `since`.
pub fn outcomes<'a>(runs: impl IntoIterator<Item = &'a RunRecord>, since: Timestamp) -> Outcomes {
    let (mut completed, mut failed, mut exception) = (0, 0, 0);
    for run in runs {
        if run.resolved.is_none_or(|at| at < since) {
            continue;
        }
        match run.state {
            RunState::Completed => completed += 1,
            RunState::Failed => failed += 1,
            RunState::Exception => exception += 1,
            RunState::Running => {}
        }
    }
    Outcomes::from_counts(completed, failed, exception)
}

/// The run a worker is on now: its newest run, if that one is still
/// running. (A worker runs one task at a time; an older run still marked
/// running lost its resolution message and is not current.)
///
/// Runs without a start are not candidates. Two runs started in the same
/// microsecond go to the smaller task id, then run id, so the answer does
/// not depend on the order the runs come in and a store can pick the same
/// run in SQL.
pub fn current_run<'a>(runs: impl IntoIterator<Item = &'a RunRecord>) -> Option<&'a RunRecord> {
    let newest = runs.into_iter().filter(|run| run.started.is_some()).max_by(|a, b| {
        a.started.cmp(&b.started).then_with(|| b.task_id.cmp(&a.task_id)).then_with(|| b.run_id.cmp(&a.run_id))
    })?;
    (newest.state == RunState::Running).then_some(newest)
}

/// What the workers list shows of one worker's runs in a window: the
/// outcomes of those resolved in it and its current run ([`outcomes`] and
/// [`current_run`] over the window's runs: those resolved in it and those
/// still running).
#[derive(Clone, Debug, PartialEq)]
pub struct WorkerActivity {
    pub worker_group: String,
    pub worker_id: String,
    pub outcomes: Outcomes,
    pub current_run: Option<RunRecord>,
}

/// A run and the worker that ran it, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerRun {
    pub worker_group: String,
    pub worker_id: String,
    pub provisioner_id: String,
    pub worker_type: String,
    pub run: RunRecord,
}

/// What a batch of events changes: each worker's newest sighting, and each
/// run's furthest state. A batch holds duplicates (at-least-once delivery)
/// and both events of a short run; one row per key is what the store's
/// upserts need.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BatchEffects {
    pub sightings: Vec<Sighting>,
    pub runs: Vec<WorkerRun>,
}

/// Reduces `events` to their effects, in first-seen order.
pub fn effects(events: &[TaskEvent]) -> BatchEffects {
    let mut sighting_at: HashMap<(&str, &str), usize> = HashMap::new();
    let mut run_at: HashMap<(&str, i64), usize> = HashMap::new();
    let mut batch = BatchEffects::default();
    for event in events {
        match sighting_at.entry((&event.worker_group, &event.worker_id)) {
            Entry::Occupied(slot) => {
                let sighting = &mut batch.sightings[*slot.get()];
                sighting.seen = sighting.seen.max(event.seen);
            }
            Entry::Vacant(slot) => {
                slot.insert(batch.sightings.len());
                batch.sightings.push(Sighting {
                    worker_group: event.worker_group.clone(),
                    worker_id: event.worker_id.clone(),
                    seen: event.seen,
                });
            }
        }
        match run_at.entry((&event.task_id, event.run_id)) {
            Entry::Occupied(slot) => {
                let stored = &mut batch.runs[*slot.get()];
                if event.state.rank() > stored.run.state.rank() {
                    *stored = worker_run(event);
                }
            }
            Entry::Vacant(slot) => {
                slot.insert(batch.runs.len());
                batch.runs.push(worker_run(event));
            }
        }
    }
    batch
}

fn worker_run(event: &TaskEvent) -> WorkerRun {
    WorkerRun {
        worker_group: event.worker_group.clone(),
        worker_id: event.worker_id.clone(),
        provisioner_id: event.provisioner_id.clone(),
        worker_type: event.worker_type.clone(),
        run: RunRecord {
            task_id: event.task_id.clone(),
            run_id: event.run_id,
            state: event.state,
            reason_resolved: event.reason_resolved.clone(),
            started: event.started,
            resolved: event.resolved,
        },
    }
}

/// Sightings by worker id, for finding a host's or a worker record's own.
/// A sighting and a worker are the same when their worker ids agree
/// (ignoring case: the inventory's and roller's habit) and, when the group
/// is known, their groups agree.
#[derive(Debug, Default)]
pub struct SightingIndex<'a> {
    by_id: HashMap<Cow<'a, str>, Vec<&'a Sighting>>,
}

impl<'a> SightingIndex<'a> {
    pub fn new(sightings: &'a [Sighting]) -> SightingIndex<'a> {
        let mut by_id: HashMap<Cow<'a, str>, Vec<&Sighting>> = HashMap::with_capacity(sightings.len());
        for sighting in sightings {
            by_id.entry(lowercase_name(&sighting.worker_id)).or_default().push(sighting);
        }
        SightingIndex { by_id }
    }

    /// When the worker of `host` was last seen: by the worker record's id
    /// and group when gather-tc found one, else by the host's short name in
    /// any group.
    pub fn for_host(&self, host: &str, worker: Option<&crate::records::TcWorker>) -> Option<Timestamp> {
        match worker {
            Some(w) => self.newest(&w.worker_id, w.worker_group.as_deref()),
            None => self.newest(crate::hosts::short_name(host), None),
        }
    }

    /// When worker `id` of `group` (any group when `None`) was last seen.
    pub fn newest(&self, id: &str, group: Option<&str>) -> Option<Timestamp> {
        let candidates = self.by_id.get(lowercase_name(id).as_ref())?;
        candidates.iter().filter(|s| group.is_none_or(|group| group == s.worker_group)).map(|s| s.seen).max()
    }
}

/// Counters of a consumer, shared with whoever reports them (`/metrics`).
#[derive(Debug, Default)]
pub struct IngestCounters {
    pub received: AtomicU64,
    pub stored: AtomicU64,
    pub no_run: AtomicU64,
    pub batches: AtomicU64,
    pub reconnects: AtomicU64,
    rejected: [AtomicU64; RejectReason::ALL.len()],
}

impl IngestCounters {
    pub fn reject(&self, reason: RejectReason) {
        self.rejected[reason.index()].fetch_add(1, Ordering::Relaxed);
    }

    pub fn rejected(&self, reason: RejectReason) -> u64 {
        self.rejected[reason.index()].load(Ordering::Relaxed)
    }

    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// Turns a message body into JSON text for a log line, cut to `limit`
/// bytes on a character boundary.
pub fn excerpt(body: &[u8], limit: usize) -> String {
    let text = String::from_utf8_lossy(body);
    if text.len() <= limit {
        return text.into_owned();
    }
    let cut = (0..=limit).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
    format!("{}… ({} bytes)", &text[..cut], body.len())
}

/// A valid message of `kind` about one run, as the queue publishes it: the
/// base that tests and benchmarks of every crate change to make bad ones.
pub fn sample_message(kind: EventKind, task_id: &str, run_id: i64, worker_group: &str, worker_id: &str) -> Value {
    let state = kind.run_state().as_str();
    let mut run = serde_json::json!({
        "runId": run_id,
        "state": state,
        "reasonCreated": "scheduled",
        "workerGroup": worker_group,
        "workerId": worker_id,
        "takenUntil": "2026-11-02T10:20:00.000Z",
        "scheduled": "2026-11-02T10:00:00.000Z",
        "started": "2026-11-02T10:00:05.000Z",
    });
    if kind != EventKind::Running {
        run["resolved"] = "2026-11-02T10:05:00.000Z".into();
        let reason = if kind == EventKind::Exception { "worker-shutdown" } else { state };
        run["reasonResolved"] = reason.into();
    }
    let mut body = serde_json::json!({
        "version": 1,
        "status": {
            "taskId": task_id,
            "provisionerId": "releng-hardware",
            "workerType": "gecko-t-linux-talos",
            "taskQueueId": "releng-hardware/gecko-t-linux-talos",
            "schedulerId": "gecko-level-3",
            "projectId": "none",
            "taskGroupId": "Zx3Nn8N1T2eHVaOEYHRuNQ",
            "deadline": "2026-11-23T10:00:00.000Z",
            "expires": "2027-11-22T10:00:00.000Z",
            "retriesLeft": 5,
            "state": state,
            "runs": [run],
        },
        "task": {"tags": {"kind": "test"}},
        "runId": run_id,
        "workerGroup": worker_group,
        "workerId": worker_id,
    });
    if kind == EventKind::Running {
        body["takenUntil"] = "2026-11-02T10:20:00.000Z".into();
    }
    body
}

#[cfg(test)]
mod tests;
