//! The `reboot` task: an escalation chain of reboot methods, each judged by
//! the machine going down and coming back (reference §A.9).
//!
//! A worker drives it in four moves, deciding nothing itself:
//! 1. ping the machine once, then [`plan`] the chain for it: the methods of
//!    the configured order that apply, and a log line for each skipped one;
//! 2. [`Chain::start`] names the first method to run;
//! 3. after running it, feed a [`Verifier`] one ping result at a time with
//!    the time elapsed since the method returned, until it gives a verdict;
//! 4. hand the verdict (or the method's error) to [`Chain::after`], which
//!    names the next method, or says the reboot is done or every method failed.
//!
//! Differences from roller: no Bugzilla step (the job's failure and its log
//! are the report); a method that cannot apply is skipped before the chain
//! starts, with its reason logged, rather than failing at its turn; and SSH
//! is skipped when the machine does not answer ping before the chain starts,
//! since ssh could not reach it either and its timeout would only delay the
//! methods that can.

use std::time::Duration;

use super::inventory::{Inventory, Machine};
use super::{JobError, Need, TaskName, one_line};
use crate::time::{Timestamp, to_rfc3339};

/// Roller's production order without its Bugzilla step: the gentlest first
/// (the OS shuts down cleanly), then power at the outlet with a pause, then
/// the BMC's reset, cycle and a plain on for a machine left off.
pub const DEFAULT_ORDER: [TaskName; 5] =
    [TaskName::SshReboot, TaskName::SnmpRebootdelay, TaskName::IpmiReset, TaskName::IpmiCycle, TaskName::IpmiOn];

/// The tasks that can be a step of the chain: each should end with the
/// machine running again. `ipmi_off` cannot, and the read-only tasks do
/// nothing to a hung machine.
pub fn is_method(task: TaskName) -> bool {
    matches!(
        task,
        TaskName::SshReboot
            | TaskName::SnmpReboot
            | TaskName::SnmpRebootdelay
            | TaskName::IpmiReset
            | TaskName::IpmiCycle
            | TaskName::IpmiOn
    )
}

/// A configured order (`REBOOT_METHODS` in roller): known methods, each
/// once, at least one. Roller's `file_bugzilla_bug`, `xenapi_reboot` and
/// `ilo_reboot` are refused by name so that an imported setting fails
/// loudly instead of shortening the chain unnoticed.
pub fn parse_order<S: AsRef<str>>(names: &[S]) -> Result<Vec<TaskName>, JobError> {
    let mut order = Vec::new();
    for name in names {
        let name = name.as_ref().trim();
        let task = TaskName::parse(name).map_err(|_| {
            JobError::Invalid(format!(
                "reboot method {name:?} is not supported; methods: {}",
                TaskName::ALL
                    .into_iter()
                    .filter(|t| is_method(*t))
                    .map(TaskName::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
        if !is_method(task) {
            return Err(JobError::Invalid(format!("{task} cannot be a reboot method")));
        }
        if order.contains(&task) {
            return Err(JobError::Invalid(format!("reboot method {task} is listed twice")));
        }
        order.push(task);
    }
    if order.is_empty() {
        return Err(JobError::Invalid("the reboot order lists no method".to_owned()));
    }
    Ok(order)
}

/// A method left out of the chain, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    pub method: TaskName,
    pub reason: String,
}

/// The chain for one machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub methods: Vec<TaskName>,
    pub skipped: Vec<Skipped>,
}

impl Plan {
    /// A log line per skipped method, stamped `at`.
    pub fn skip_lines(&self, at: Timestamp) -> Vec<String> {
        self.skipped.iter().map(|skip| log_line(at, skip.method.as_str(), "skipped", &skip.reason)).collect()
    }

    /// A plan with no method is a failed job before anything is touched.
    pub fn check(&self, host: &str) -> Result<(), JobError> {
        if !self.methods.is_empty() {
            return Ok(());
        }
        let reasons = self.skipped.iter().map(|s| format!("{}: {}", s.method, s.reason)).collect::<Vec<_>>();
        Err(JobError::NoRebootMethod { host: host.to_owned(), reasons: reasons.join("; ") })
    }
}

/// The methods of `order` that apply to `machine`. `answers_ping` is the
/// result of one ping just before.
pub fn plan(order: &[TaskName], inventory: &Inventory, machine: &Machine, answers_ping: bool) -> Plan {
    let mut result = Plan { methods: Vec::new(), skipped: Vec::new() };
    for &method in order {
        match skip_reason(method, inventory, machine, answers_ping) {
            None => result.methods.push(method),
            Some(reason) => result.skipped.push(Skipped { method, reason }),
        }
    }
    result
}

/// Whether `task` can run on `machine` at all, decided when the job is
/// asked for (so the API answers 4xx at once, not a failed job later): the
/// inventory entry it needs must be there. A reboot needs one method of
/// `order` that applies to a host that answers ping; whether it answers is
/// known only when the job runs.
pub fn check_runnable(
    task: TaskName,
    order: &[TaskName],
    inventory: &Inventory,
    machine: &Machine,
) -> Result<(), JobError> {
    let host = || machine.name().to_owned();
    match task.needs() {
        Need::Nothing => Ok(()),
        Need::Ssh => inventory.ssh_access(machine).map(|_| ()).ok_or_else(|| JobError::MissingSsh { host: host() }),
        Need::Bmc => inventory.ipmi_target(machine).map(|_| ()),
        Need::Pdu if machine.pdu.is_none() => Err(JobError::MissingPdu { host: host() }),
        Need::Pdu if inventory.snmp_community.is_none() => Err(JobError::MissingSnmpCommunity),
        Need::Pdu => Ok(()),
        Need::AnyRebootMethod => plan(order, inventory, machine, true).check(machine.name()),
    }
}

fn skip_reason(method: TaskName, inventory: &Inventory, machine: &Machine, answers_ping: bool) -> Option<String> {
    match method {
        TaskName::SshReboot if inventory.ssh_access(machine).is_none() => Some("no SSH account configured".into()),
        TaskName::SshReboot if !answers_ping => Some("the host does not answer ping".into()),
        TaskName::SnmpReboot | TaskName::SnmpRebootdelay if machine.pdu.is_none() => Some("no PDU outlet".into()),
        TaskName::SnmpReboot | TaskName::SnmpRebootdelay if inventory.snmp_community.is_none() => {
            Some("no SNMP community configured".into())
        }
        TaskName::IpmiReset | TaskName::IpmiCycle | TaskName::IpmiOn => {
            inventory.ipmi_target(machine).err().map(|err| match err {
                JobError::MissingBmc { .. } => "no BMC".to_owned(),
                other => other.to_string(),
            })
        }
        _ if !is_method(method) => Some("not a reboot method".into()),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// Verification

/// How long a machine gets to go down and to come back, and how often it
/// is pinged meanwhile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerifySettings {
    pub down_timeout: Duration,
    pub up_timeout: Duration,
    pub down_interval: Duration,
    pub up_interval: Duration,
}

impl Default for VerifySettings {
    /// Roller's defaults: 60 s to go down, polled every second (a reboot
    /// can be quick); 300 s to come up, polled every 5 s.
    fn default() -> Self {
        VerifySettings {
            down_timeout: Duration::from_secs(60),
            up_timeout: Duration::from_secs(300),
            down_interval: Duration::from_secs(1),
            up_interval: Duration::from_secs(5),
        }
    }
}

/// What a ping result means for the method just run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Ping again after this long.
    Continue { next_ping_in: Duration },
    /// Down, then up: the reboot happened.
    Verified,
    /// Still answering when the down timeout passed: the method did nothing.
    NotDown,
    /// Went down but did not come back in time.
    NotUp,
}

/// Judges one method by down-then-up, from ping results the worker feeds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verifier {
    settings: VerifySettings,
    /// When the machine was first seen down, measured like `elapsed`.
    down_at: Option<Duration>,
}

impl Verifier {
    pub fn new(settings: VerifySettings) -> Verifier {
        Verifier { settings, down_at: None }
    }

    /// Whether the machine has been seen down.
    pub fn seen_down(&self) -> bool {
        self.down_at.is_some()
    }

    /// Takes one ping result, `elapsed` after the method returned. The up
    /// timeout counts from the first failed ping, so a machine slow to go
    /// down still gets its full time to boot.
    pub fn observe(&mut self, elapsed: Duration, answered: bool) -> Verdict {
        let s = self.settings;
        match self.down_at {
            None if !answered => {
                self.down_at = Some(elapsed);
                Verdict::Continue { next_ping_in: s.up_interval }
            }
            None if elapsed >= s.down_timeout => Verdict::NotDown,
            None => Verdict::Continue { next_ping_in: s.down_interval },
            Some(_) if answered => Verdict::Verified,
            Some(down_at) if elapsed.saturating_sub(down_at) >= s.up_timeout => Verdict::NotUp,
            Some(_) => Verdict::Continue { next_ping_in: s.up_interval },
        }
    }
}

// ---------------------------------------------------------------------------
// The chain

/// How one method went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MethodOutcome {
    Verified,
    NotDown,
    NotUp,
    /// The method itself failed (tool exit status, missing secret, …).
    Error(String),
}

impl MethodOutcome {
    pub fn from_verdict(verdict: Verdict) -> Option<MethodOutcome> {
        match verdict {
            Verdict::Continue { .. } => None,
            Verdict::Verified => Some(MethodOutcome::Verified),
            Verdict::NotDown => Some(MethodOutcome::NotDown),
            Verdict::NotUp => Some(MethodOutcome::NotUp),
        }
    }

    /// The outcome word of a log line.
    pub fn as_str(&self) -> &'static str {
        match self {
            MethodOutcome::Verified => "verified",
            MethodOutcome::NotDown => "not_down",
            MethodOutcome::NotUp => "not_up",
            MethodOutcome::Error(_) => "error",
        }
    }

    /// The detail of a log line.
    pub fn detail(&self, settings: &VerifySettings) -> String {
        match self {
            MethodOutcome::Verified => "went down and came back".to_owned(),
            MethodOutcome::NotDown => format!("still answered ping after {}s", settings.down_timeout.as_secs()),
            MethodOutcome::NotUp => format!("went down, not back within {}s", settings.up_timeout.as_secs()),
            MethodOutcome::Error(message) => message.clone(),
        }
    }
}

/// What the worker does next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChainStep {
    Run(TaskName),
    /// The machine rebooted; this method did it.
    Succeeded(TaskName),
    /// Every method was tried; the reason names each and how it went.
    Failed {
        reason: String,
    },
}

/// The chain's progress.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chain {
    methods: Vec<TaskName>,
    next: usize,
    tried: Vec<(TaskName, &'static str)>,
}

impl Chain {
    pub fn new(plan: &Plan) -> Chain {
        Chain { methods: plan.methods.clone(), next: 0, tried: Vec::new() }
    }

    /// The first step.
    pub fn start(&mut self) -> ChainStep {
        self.advance()
    }

    /// The step after `method` ended with `outcome`.
    pub fn after(&mut self, method: TaskName, outcome: &MethodOutcome) -> ChainStep {
        self.tried.push((method, outcome.as_str()));
        if *outcome == MethodOutcome::Verified {
            return ChainStep::Succeeded(method);
        }
        self.advance()
    }

    fn advance(&mut self) -> ChainStep {
        match self.methods.get(self.next) {
            Some(&method) => {
                self.next += 1;
                ChainStep::Run(method)
            }
            None if self.tried.is_empty() => ChainStep::Failed { reason: "no reboot method applies".to_owned() },
            None => {
                let tried = self.tried.iter().map(|(m, o)| format!("{m} {o}")).collect::<Vec<_>>().join(", ");
                ChainStep::Failed { reason: format!("every reboot method failed: {tried}") }
            }
        }
    }
}

/// A job log line: `<RFC 3339 time> <method> <outcome> <detail>`, always
/// one line.
pub fn log_line(at: Timestamp, method: &str, outcome: &str, detail: &str) -> String {
    let detail = one_line(detail);
    if detail.is_empty() {
        format!("{} {method} {outcome}", to_rfc3339(at))
    } else {
        format!("{} {method} {outcome} {detail}", to_rfc3339(at))
    }
}

#[cfg(test)]
mod tests;
