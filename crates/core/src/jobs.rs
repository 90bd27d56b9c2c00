//! Hardware jobs (reference §A): what a job may do, to which machine, with
//! which tool invocation, and how its outcome is judged and reported.
//!
//! A job asks for one [`TaskName`] on one machine. It is queued, claimed by a
//! worker under a lease (running), and ends succeeded, failed or cancelled
//! ([`JobState`]). A worker that dies mid-job leaves its lease to expire; the
//! job is then queued again while attempts remain ([`lease_decision`]).
//!
//! Submodules:
//! - [`inventory`]: the machines (BMC, PDU outlet, SSH access) and worker
//!   id → machine resolution; [`roller`] imports roller's `WORKER_CONFIG`
//!   JSON, [`settings`] reads the `[jobs]` table of `config.toml` (our own
//!   inventory shape and the workers' settings).
//! - [`commands`]: the argument lists of `ipmitool`, `snmpset`, `ssh` and
//!   `ping`, with secrets shown as `***` wherever a command is displayed.
//! - [`reboot`]: the escalation chain, its plan for one machine, and the
//!   down-then-up verification fed with ping results.
//!
//! Decisions that differ from roller, on purpose:
//! - The scope checked is the requested task's own
//!   (`project:releng:roller:<task>`); roller accepted any task's scope.
//! - A worker id resolves through the inventory only; there is no DNS
//!   search-list guessing, so a typo is an error rather than a reboot of
//!   whatever name happened to resolve.
//! - Every task, `ping` included, needs a host the inventory knows, so the
//!   service cannot be used to probe arbitrary addresses.
//! - Jobs are kept with their state and log, not only announced.

pub mod commands;
pub mod inventory;
pub mod reboot;
pub mod roller;
pub mod settings;

use serde::Serialize;

use crate::scopes::satisfies;
use crate::time::{Timestamp, to_rfc3339};

// ---------------------------------------------------------------------------
// Tasks

/// What a job does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TaskName {
    Ping,
    SshReboot,
    IpmiList,
    IpmiStatus,
    IpmiOn,
    IpmiOff,
    IpmiCycle,
    IpmiReset,
    SnmpReboot,
    SnmpRebootdelay,
    Reboot,
    Quarantine,
    Unquarantine,
    RunPuppet,
}

impl TaskName {
    pub const ALL: [TaskName; 14] = [
        TaskName::Ping,
        TaskName::SshReboot,
        TaskName::IpmiList,
        TaskName::IpmiStatus,
        TaskName::IpmiOn,
        TaskName::IpmiOff,
        TaskName::IpmiCycle,
        TaskName::IpmiReset,
        TaskName::SnmpReboot,
        TaskName::SnmpRebootdelay,
        TaskName::Reboot,
        TaskName::Quarantine,
        TaskName::Unquarantine,
        TaskName::RunPuppet,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TaskName::Ping => "ping",
            TaskName::SshReboot => "ssh_reboot",
            TaskName::IpmiList => "ipmi_list",
            TaskName::IpmiStatus => "ipmi_status",
            TaskName::IpmiOn => "ipmi_on",
            TaskName::IpmiOff => "ipmi_off",
            TaskName::IpmiCycle => "ipmi_cycle",
            TaskName::IpmiReset => "ipmi_reset",
            TaskName::SnmpReboot => "snmp_reboot",
            TaskName::SnmpRebootdelay => "snmp_rebootdelay",
            TaskName::Reboot => "reboot",
            TaskName::Quarantine => "quarantine",
            TaskName::Unquarantine => "unquarantine",
            TaskName::RunPuppet => "run_puppet",
        }
    }

    /// The task named exactly `text` (roller's names, which are also the
    /// Taskcluster action names operators know).
    pub fn parse(text: &str) -> Result<TaskName, JobError> {
        TaskName::ALL
            .into_iter()
            .find(|task| task.as_str() == text)
            .ok_or_else(|| JobError::UnknownTask { name: text.to_owned(), known: known_tasks() })
    }

    /// Whether the task changes the machine (power, reboot, quarantine,
    /// Puppet). The CLI asks for `--confirm` for these; the read-only ones
    /// are safe to run on a guess.
    pub fn changes_machine(self) -> bool {
        !matches!(self, TaskName::Ping | TaskName::IpmiStatus | TaskName::IpmiList)
    }

    /// The IPMI sub-command a task stands for.
    pub fn ipmi(self) -> Option<IpmiCommand> {
        match self {
            TaskName::IpmiList => Some(IpmiCommand::List),
            TaskName::IpmiStatus => Some(IpmiCommand::Status),
            TaskName::IpmiOn => Some(IpmiCommand::On),
            TaskName::IpmiOff => Some(IpmiCommand::Off),
            TaskName::IpmiCycle => Some(IpmiCommand::Cycle),
            TaskName::IpmiReset => Some(IpmiCommand::Reset),
            _ => None,
        }
    }

    /// What the task needs from the machine's inventory entry.
    pub fn needs(self) -> Need {
        match self {
            TaskName::Ping | TaskName::Quarantine | TaskName::Unquarantine => Need::Nothing,
            TaskName::SshReboot | TaskName::RunPuppet => Need::Ssh,
            TaskName::SnmpReboot | TaskName::SnmpRebootdelay => Need::Pdu,
            TaskName::Reboot => Need::AnyRebootMethod,
            _ => Need::Bmc,
        }
    }
}

impl std::fmt::Display for TaskName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

fn known_tasks() -> String {
    TaskName::ALL.map(TaskName::as_str).join(", ")
}

/// What a task needs besides a resolvable host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    Nothing,
    Ssh,
    Bmc,
    Pdu,
    /// At least one method of the reboot chain must apply.
    AnyRebootMethod,
}

/// The IPMI sub-commands roller offered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IpmiCommand {
    List,
    Status,
    On,
    Off,
    Cycle,
    Reset,
}

impl IpmiCommand {
    /// The key of a chassis type's `commands` map (roller's task name).
    pub fn key(self) -> &'static str {
        match self {
            IpmiCommand::List => "ipmi_list",
            IpmiCommand::Status => "ipmi_status",
            IpmiCommand::On => "ipmi_on",
            IpmiCommand::Off => "ipmi_off",
            IpmiCommand::Cycle => "ipmi_cycle",
            IpmiCommand::Reset => "ipmi_reset",
        }
    }

    /// The `ipmitool` words when the chassis type does not say otherwise.
    pub fn default_words(self) -> &'static [&'static str] {
        match self {
            IpmiCommand::List => &["sel", "list", "last", "15"],
            IpmiCommand::Status => &["chassis", "power", "status"],
            IpmiCommand::On => &["chassis", "power", "on"],
            IpmiCommand::Off => &["chassis", "power", "off"],
            IpmiCommand::Cycle => &["chassis", "power", "cycle"],
            IpmiCommand::Reset => &["chassis", "power", "reset"],
        }
    }
}

// ---------------------------------------------------------------------------
// Job states and leases

/// Where a job is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl JobState {
    pub const ALL: [JobState; 5] =
        [JobState::Queued, JobState::Running, JobState::Succeeded, JobState::Failed, JobState::Cancelled];

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<JobState> {
        JobState::ALL.into_iter().find(|state| state.as_str() == text)
    }

    /// A finished job never moves again: its outcome has been announced.
    pub fn is_terminal(self) -> bool {
        matches!(self, JobState::Succeeded | JobState::Failed | JobState::Cancelled)
    }
}

/// Whether a job may move from `from` to `to`.
///
/// - queued → running: a worker claims it (one attempt used).
/// - queued → cancelled: withdrawn before any worker touched it.
/// - running → succeeded | failed: the worker's verdict.
/// - running → cancelled: the worker stops between steps when asked; a
///   command already sent to a BMC or PDU cannot be taken back.
/// - running → queued: the lease expired with attempts left.
pub fn can_move(from: JobState, to: JobState) -> bool {
    use JobState::*;
    matches!(
        (from, to),
        (Queued, Running) | (Queued, Cancelled) | (Running, Succeeded | Failed | Cancelled) | (Running, Queued)
    )
}

/// [`can_move`] as an error naming both states.
pub fn check_move(from: JobState, to: JobState) -> Result<(), JobError> {
    if can_move(from, to) { Ok(()) } else { Err(JobError::BadTransition { from, to }) }
}

/// Attempts a job gets unless configured otherwise: a worker may die once
/// or twice (deploys, OOM) without the request being lost, but a job that
/// kills its worker every time must end.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;

/// The reason of a job failed because its last lease ran out.
pub const LEASE_EXPIRED: &str = "lease expired";

/// What to do with a job when its lease is looked at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LeaseDecision {
    /// Not running, or the lease still holds: leave it.
    Keep,
    /// Back to queued for another worker.
    Requeue,
    /// No attempts left: failed, with this reason.
    Fail { reason: String },
}

/// The lease rule: a running job whose lease ended at or before `now` goes
/// back to the queue while `attempts` (claims so far) is below
/// `max_attempts`, and fails with [`LEASE_EXPIRED`] otherwise.
pub fn lease_decision(
    state: JobState,
    lease_until: Option<Timestamp>,
    attempts: u32,
    max_attempts: u32,
    now: Timestamp,
) -> LeaseDecision {
    if state != JobState::Running {
        return LeaseDecision::Keep;
    }
    // A running job without a lease is a store bug; treating it as expired
    // recovers it instead of leaving it running forever.
    if lease_until.is_some_and(|until| until > now) {
        return LeaseDecision::Keep;
    }
    if attempts < max_attempts {
        LeaseDecision::Requeue
    } else {
        LeaseDecision::Fail { reason: LEASE_EXPIRED.to_owned() }
    }
}

/// Whether a worker holding a lease until `lease_until` should renew it
/// now: once a third of `lease` has passed, so two renewals can fail (a
/// database blip) before another worker takes the job over.
pub fn lease_renewal_due(lease_until: Timestamp, lease: std::time::Duration, now: Timestamp) -> bool {
    let lease = chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
    let remaining = lease_until - now;
    remaining <= lease - lease / 3
}

// ---------------------------------------------------------------------------
// Scopes

/// Roller's scope prefix, so existing Taskcluster roles keep working.
pub const DEFAULT_SCOPE_PREFIX: &str = "project:releng:roller";

/// The scope a client needs to run `task`: `<prefix>:<task>`.
pub fn required_scope(prefix: &str, task: TaskName) -> String {
    format!("{}:{}", prefix.trim_end_matches(':'), task.as_str())
}

/// Whether expanded scopes `held` allow `task`. Only the task's own scope
/// (or a star scope covering it) counts.
pub fn may_run(held: &[String], prefix: &str, task: TaskName) -> bool {
    satisfies(held, &required_scope(prefix, task))
}

/// [`may_run`] as an error naming the scope that is missing.
pub fn check_scope(held: &[String], prefix: &str, task: TaskName) -> Result<(), JobError> {
    if may_run(held, prefix, task) {
        Ok(())
    } else {
        Err(JobError::MissingScope { scope: required_scope(prefix, task) })
    }
}

// ---------------------------------------------------------------------------
// Errors

/// Why a job cannot be made or run. Each message names the input at fault.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    #[error("unknown task {name:?}; known tasks: {known}")]
    UnknownTask { name: String, known: String },
    #[error("worker id {0:?} must be 1 to 128 of a-z, A-Z, 0-9, `-` and `_`")]
    InvalidWorkerId(String),
    #[error("host {0:?} is neither a host name nor an IP address")]
    InvalidHost(String),
    /// Roller answered `404 "Not a managed host."`.
    #[error("{0}: not a managed host")]
    NotManaged(String),
    #[error("{name}: more than one managed host answers to it ({hosts}); give the worker group")]
    Ambiguous { name: String, hosts: String },
    #[error("{host}: no BMC in the inventory, so IPMI cannot reach it")]
    MissingBmc { host: String },
    #[error("{host}: no PDU outlet in the inventory")]
    MissingPdu { host: String },
    #[error("no SNMP community configured for the PDUs")]
    MissingSnmpCommunity,
    #[error("{host}: no SSH user and key in the inventory and no default")]
    MissingSsh { host: String },
    #[error("{host}: no reboot method applies ({reasons})")]
    NoRebootMethod { host: String, reasons: String },
    #[error("scope {scope} is required for this task")]
    MissingScope { scope: String },
    #[error("a {} job cannot become {}", from.as_str(), to.as_str())]
    BadTransition { from: JobState, to: JobState },
    /// An inventory or setting that cannot be used, naming where.
    #[error("{0}")]
    Invalid(String),
}

// ---------------------------------------------------------------------------
// Results and notifications

/// A job as results and notifications see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobSummary {
    pub id: String,
    pub task: TaskName,
    pub host: String,
    pub state: JobState,
    pub requested_by: String,
    /// Why it failed or was cancelled, or which method verified a reboot.
    pub reason: Option<String>,
    pub attempts: u32,
    pub log: Vec<String>,
    pub started: Option<Timestamp>,
    pub finished: Option<Timestamp>,
}

/// One line for a person: `reboot t-linux64-ms-001: failed (lease expired) after 3 attempts`.
pub fn result_text(job: &JobSummary) -> String {
    let mut text = format!("{} {}: {}", job.task, job.host, job.state.as_str());
    if let Some(reason) = job.reason.as_deref().filter(|reason| !reason.is_empty()) {
        text.push_str(&format!(" ({})", one_line(reason)));
    }
    match job.attempts {
        0 | 1 => {}
        n => text.push_str(&format!(" after {n} attempts")),
    }
    text
}

/// The body posted to the notification webhook.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Notification {
    pub job_id: String,
    pub task: &'static str,
    pub host: String,
    pub state: JobState,
    pub requested_by: String,
    pub reason: Option<String>,
    pub attempts: u32,
    pub log: Vec<String>,
    /// RFC 3339, or null when the job never started.
    pub started: Option<String>,
    pub finished: Option<String>,
    /// [`result_text`], for chat hooks that show one field.
    pub text: String,
}

pub fn notification(job: &JobSummary) -> Notification {
    Notification {
        job_id: job.id.clone(),
        task: job.task.as_str(),
        host: job.host.clone(),
        state: job.state,
        requested_by: job.requested_by.clone(),
        reason: job.reason.clone(),
        attempts: job.attempts,
        log: job.log.clone(),
        started: job.started.map(to_rfc3339),
        finished: job.finished.map(to_rfc3339),
        text: result_text(job),
    }
}

/// Log lines and reasons are single lines, so a tool's multi-line output
/// cannot forge further lines.
pub(crate) fn one_line(text: &str) -> String {
    text.split(['\n', '\r']).map(str::trim).filter(|part| !part.is_empty()).collect::<Vec<_>>().join(" | ")
}

#[cfg(test)]
mod tests;
