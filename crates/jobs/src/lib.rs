//! Hardware job actions, run with the real tools.
//!
//! [`run_action`] carries out one job's task on one machine: `ping`,
//! `ssh_reboot` (the system `ssh`), the `ipmi_*` tasks (`ipmitool`), the
//! PDU tasks (`snmpset`), `run_puppet`, and `reboot`, the escalation chain
//! whose every method is judged by the machine going down and coming back.
//! What to run and how to judge it is decided in `fleetroll_core::jobs`;
//! this crate spawns the processes, bounds each with a timeout, reads the
//! secrets the inventory points at, and writes the attempt log.
//!
//! Every tool runs with `kill_on_drop`, so dropping the future (a cancelled
//! job, a worker shutting down) kills whatever is still running, and a tool
//! that hangs is killed at its timeout and reported as a failed step.
//! Output that reaches a log line or an error has secrets replaced by `***`.

mod actions;
mod chain;
mod process;
mod secrets;
pub mod worker;

use std::time::Duration;

use fleetroll_core::jobs::TaskName;
use fleetroll_core::jobs::inventory::{Inventory, Machine};
use fleetroll_core::jobs::settings::JobSettings;
use fleetroll_core::jobs::{JobError, inventory::SecretRef};
use fleetroll_remote::ssh::SshSettings;

pub use secrets::read_secret;
pub use worker::{DEFAULT_QUARANTINE_FOR, JobsRuntime, WorkerConfig, run_worker};

/// How the machine's being up is judged while a reboot is verified, and
/// before the chain starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Probe {
    /// One ICMP echo with the system `ping` (roller's way). A machine whose
    /// network stack answers while its OS is wedged counts as up.
    Icmp,
    /// A TCP connection to this port (e.g. 22: the machine's sshd answers),
    /// which an OS that is down or still booting does not accept.
    Tcp { port: u16 },
}

impl Probe {
    fn describe(self) -> String {
        match self {
            Probe::Icmp => "ping".to_owned(),
            Probe::Tcp { port } => format!("TCP port {port}"),
        }
    }
}

/// How long each kind of step may take before its process is killed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// The `ping` task's deadline (`ping -w`); the process gets 2 s more.
    pub ping: Duration,
    /// One `ipmitool` call. RMCP+ session set-up alone can take 10 s when a
    /// BMC does not list its cipher suites, so this is longer than roller's 15 s.
    pub ipmitool: Duration,
    /// One `snmpset` call (it retries by itself within this).
    pub snmpset: Duration,
    /// One probe while verifying a reboot (roller waited 4 s for a ping).
    pub probe: Duration,
    /// One Puppet run.
    pub puppet: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            ping: Duration::from_secs(5),
            ipmitool: Duration::from_secs(30),
            snmpset: Duration::from_secs(30),
            probe: Duration::from_secs(4),
            puppet: Duration::from_secs(900),
        }
    }
}

/// The programs the actions run and how, besides what [`JobSettings`]
/// already says (the `ipmitool` program and session, the reboot order, the
/// verification timeouts, the SNMP delay).
#[derive(Clone, Debug)]
pub struct Tools {
    /// `ping`, for the `ping` task and [`Probe::Icmp`].
    pub ping: String,
    /// Echoes the `ping` task sends (roller's 4; they are a second apart).
    pub ping_count: u32,
    pub snmpset: String,
    /// The system `ssh`: program, the operator's options, connect timeout,
    /// and `timeout`, the limit of one reboot command. The machine's account
    /// (`-l`, `-i`) is added per machine.
    pub ssh: SshSettings,
    pub probe: Probe,
    pub timeouts: Timeouts,
    /// What `run_puppet` runs on the machine (with `sudo -n`).
    pub puppet_wrapper: String,
}

impl Default for Tools {
    fn default() -> Self {
        Tools {
            ping: "ping".to_owned(),
            ping_count: 4,
            snmpset: "snmpset".to_owned(),
            ssh: SshSettings { connect_timeout: 5, timeout: Duration::from_secs(30), ..SshSettings::default() },
            probe: Probe::Icmp,
            timeouts: Timeouts::default(),
            puppet_wrapper: "run-puppet.sh".to_owned(),
        }
    }
}

/// A task that succeeded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActionOutcome {
    /// One line: what the tool answered (the ping summary, the power state,
    /// Puppet's exit), or which method rebooted the machine.
    pub detail: String,
    /// For `reboot`: the method whose reboot was seen (down, then up).
    pub verified_by: Option<TaskName>,
}

/// Why a task did not succeed. Each message is one line and holds no secret.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// The inventory or the settings do not allow the task on this machine
    /// (no BMC, no PDU outlet, no reboot method, …); nothing was run.
    #[error(transparent)]
    Refused(#[from] JobError),
    /// A secret could not be read; nothing was run. Names where it comes
    /// from, never its value.
    #[error("{what} ({from}) cannot be read: {reason}")]
    Secret { what: &'static str, from: String, reason: String },
    /// The task ran and did not succeed: a tool's exit status and output,
    /// a timeout, or how each reboot method went.
    #[error("{0}")]
    Failed(String),
    /// The task is not run here: `quarantine` and `unquarantine`, which
    /// [`run_worker`] runs with the store and a Taskcluster client.
    #[error("{0} acts on Taskcluster through the store: a job worker runs it, not run_action")]
    NeedsWorker(TaskName),
}

impl ActionError {
    fn secret(what: &'static str, from: &SecretRef, reason: String) -> ActionError {
        ActionError::Secret { what, from: from.describe(), reason }
    }
}

/// Runs `task` on `machine` and returns how it ended, calling `log` with
/// each line of the attempt log as it happens (`<RFC 3339 time> <task or
/// method> <outcome> <detail>`).
///
/// `quarantine` and `unquarantine` return [`ActionError::NeedsWorker`]: they
/// act on Taskcluster, not on the machine, and need the worker's identity
/// there from the store's `gather-tc` records, so only the job worker
/// ([`run_worker`]) runs them.
pub async fn run_action(
    task: TaskName,
    machine: &Machine,
    inventory: &Inventory,
    settings: &JobSettings,
    tools: &Tools,
    log: &mut impl FnMut(String),
) -> Result<ActionOutcome, ActionError> {
    let context = actions::Context { machine, inventory, settings, tools };
    match task {
        TaskName::Ping => actions::ping(&context, log).await,
        TaskName::Reboot => chain::reboot(&context, log).await,
        TaskName::RunPuppet => actions::run_puppet(&context, log).await,
        TaskName::Quarantine | TaskName::Unquarantine => Err(ActionError::NeedsWorker(task)),
        _ => actions::run_method(task, &context, log).await.into_result(),
    }
}
