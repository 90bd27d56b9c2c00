//! The single-tool tasks: ping, IPMI, the PDU outlet, ssh reboot and Puppet.

use std::time::Duration;

use fleetroll_core::changes::PuppetRun;
use fleetroll_core::jobs::commands::{self, PduStep, SSH_REBOOT_COMMANDS};
use fleetroll_core::jobs::inventory::{Inventory, Machine, SshAccess};
use fleetroll_core::jobs::reboot::log_line;
use fleetroll_core::jobs::settings::JobSettings;
use fleetroll_core::jobs::{JobError, TaskName};
use fleetroll_remote::changes::{Change, HostChange};
use fleetroll_remote::ssh::{self, SshSettings};

use crate::process::{self, Ran, one_line, seconds};
use crate::{ActionError, ActionOutcome, Tools, read_secret};

/// What every action reads.
pub(crate) struct Context<'a> {
    pub(crate) machine: &'a Machine,
    pub(crate) inventory: &'a Inventory,
    pub(crate) settings: &'a JobSettings,
    pub(crate) tools: &'a Tools,
}

/// How running a power method went, before any verification.
#[derive(Debug)]
pub(crate) enum Attempt {
    /// The tool said it was done; its last answer.
    Done(String),
    /// The tool ran and reported failure or timed out. The machine may
    /// still have been touched (ipmitool can report failure on success,
    /// ssh loses its connection when the reboot is quick), which only
    /// verification can tell.
    Failed(String),
    /// Nothing was sent to the machine, its BMC or its PDU.
    NotSent(ActionError),
}

impl Attempt {
    pub(crate) fn into_result(self) -> Result<ActionOutcome, ActionError> {
        match self {
            Attempt::Done(detail) => Ok(ActionOutcome { detail, verified_by: None }),
            Attempt::Failed(reason) => Err(ActionError::Failed(reason)),
            Attempt::NotSent(err) => Err(err),
        }
    }
}

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

/// Logs one tool run as `<time> <task> ok|failed <command>: <how it ended>`.
fn log_step(log: &mut impl FnMut(String), task: TaskName, shown: &str, ran: &Ran) {
    let outcome = if ran.ok() { "ok" } else { "failed" };
    log(log_line(now(), task.as_str(), outcome, &format!("{shown}: {}", ran.describe())));
}

/// `ping` (ICMP, 4 echoes within the ping deadline), whatever probe the
/// reboot chain uses: the task is what operators ask for by that name.
pub(crate) async fn ping(cx: &Context<'_>, log: &mut impl FnMut(String)) -> Result<ActionOutcome, ActionError> {
    let deadline = cx.tools.timeouts.ping;
    let command = commands::ping(&cx.tools.ping, cx.machine.address(), cx.tools.ping_count, deadline)?;
    let ran = process::run(&command, deadline + Duration::from_secs(2)).await;
    log_step(log, TaskName::Ping, &command.display(), &ran);
    let summary = commands::ping_summary(&ran.output);
    match ran.ok() {
        true => Ok(ActionOutcome { detail: summary, verified_by: None }),
        false if matches!(ran.status, process::Status::Exited(_)) && !summary.is_empty() => {
            Err(ActionError::Failed(format!("ping: {} ({summary})", ran_status(&ran))))
        }
        false => Err(ActionError::Failed(format!("ping {}", ran.describe()))),
    }
}

fn ran_status(ran: &Ran) -> String {
    Ran { status: ran.status.clone(), output: String::new() }.describe()
}

/// Runs one of the power tasks (the IPMI ones, the PDU ones, `ssh_reboot`)
/// without judging its effect: that is the reboot chain's verification.
pub(crate) async fn run_method(task: TaskName, cx: &Context<'_>, log: &mut impl FnMut(String)) -> Attempt {
    match task {
        TaskName::SshReboot => ssh_reboot(cx, log).await,
        TaskName::SnmpReboot | TaskName::SnmpRebootdelay => pdu(task, cx, log).await,
        _ if task.ipmi().is_some() => ipmi(task, cx, log).await,
        _ => Attempt::NotSent(ActionError::Refused(JobError::Invalid(format!("{task} is not a power task")))),
    }
}

/// Roller swallowed ipmitool's errors ("it may report failure on
/// success"); here the exit status and output are reported as they are,
/// and within a reboot the verification decides whether it worked.
async fn ipmi(task: TaskName, cx: &Context<'_>, log: &mut impl FnMut(String)) -> Attempt {
    let Some(command) = task.ipmi() else {
        return Attempt::NotSent(JobError::Invalid(format!("{task} is not an IPMI task")).into());
    };
    let target = match cx.inventory.ipmi_target(cx.machine) {
        Ok(target) => target,
        Err(err) => return Attempt::NotSent(err.into()),
    };
    let password = match read_secret(target.password) {
        Ok(password) => password,
        Err(why) => return Attempt::NotSent(ActionError::secret("the BMC password", target.password, why)),
    };
    let line = match commands::ipmitool(&cx.settings.ipmi, &target, &password, command) {
        Ok(line) => line,
        Err(err) => return Attempt::NotSent(err.into()),
    };
    let ran = process::run(&line, cx.tools.timeouts.ipmitool).await;
    log_step(log, task, &line.display(), &ran);
    if let process::Status::NotStarted(why) = &ran.status {
        return Attempt::NotSent(ActionError::Failed(format!("ipmitool could not be started: {why}")));
    }
    if !ran.ok() {
        return Attempt::Failed(format!("ipmitool {}", ran.describe()));
    }
    let answer = match commands::ipmi_power_is_on(&ran.output) {
        Some(true) => "power is on".to_owned(),
        Some(false) => "power is off".to_owned(),
        None => one_line(&ran.output),
    };
    Attempt::Done(answer)
}

/// `snmp_reboot` (the PDU cycles the outlet) or `snmp_rebootdelay` (off,
/// the configured pause, on).
async fn pdu(task: TaskName, cx: &Context<'_>, log: &mut impl FnMut(String)) -> Attempt {
    let host = cx.machine.name().to_owned();
    let Some(outlet) = cx.machine.pdu.as_ref() else {
        return Attempt::NotSent(JobError::MissingPdu { host }.into());
    };
    let Some(source) = cx.inventory.snmp_community.as_ref() else {
        return Attempt::NotSent(JobError::MissingSnmpCommunity.into());
    };
    let community = match read_secret(source) {
        Ok(community) => community,
        Err(why) => return Attempt::NotSent(ActionError::secret("the SNMP community", source, why)),
    };
    let steps = match commands::pdu_steps(task, cx.settings.snmp_delay) {
        Ok(steps) => steps,
        Err(err) => return Attempt::NotSent(err.into()),
    };
    let mut switched_off = false;
    let mut answers = Vec::new();
    for step in steps {
        match step {
            PduStep::Wait(pause) => {
                log(log_line(
                    now(),
                    task.as_str(),
                    "wait",
                    &format!("{} before switching the outlet on", seconds(pause)),
                ));
                tokio::time::sleep(pause).await;
            }
            PduStep::Set(action) => {
                // A bad community is refused at the first set, before the outlet moved.
                let line = match commands::snmpset(&cx.tools.snmpset, outlet, &community, action) {
                    Ok(line) => line,
                    Err(err) => return Attempt::NotSent(err.into()),
                };
                let ran = process::run(&line, cx.tools.timeouts.snmpset).await;
                log_step(log, task, &line.display(), &ran);
                if !ran.ok() {
                    let mut reason = format!("snmpset {} to {}: {}", action.as_str(), outlet.agent(), ran.describe());
                    if switched_off {
                        reason.push_str("; the outlet was switched off and may still be off");
                    }
                    return match (&ran.status, answers.is_empty()) {
                        (process::Status::NotStarted(_), true) => Attempt::NotSent(ActionError::Failed(reason)),
                        _ => Attempt::Failed(reason),
                    };
                }
                switched_off = action == commands::OutletAction::Off;
                answers.push(action.as_str());
            }
        }
    }
    Attempt::Done(format!("outlet {} at {}: {}", outlet_name(outlet), outlet.agent(), answers.join(", then ")))
}

fn outlet_name(outlet: &fleetroll_core::jobs::inventory::PduOutlet) -> String {
    let letter = |n: u8| char::from(b'a' + n.saturating_sub(1));
    format!("{}{}{}", letter(outlet.tower), letter(outlet.infeed), outlet.outlet)
}

/// The ssh settings for `access`: its account first (ssh takes the first
/// `-l` it sees), only its key (an agent full of keys would exhaust the
/// server's attempts), and keepalives so a reboot that drops the
/// connection ends ssh within seconds instead of leaving it waiting.
fn ssh_settings(tools: &Tools, access: &SshAccess) -> SshSettings {
    let mut settings = tools.ssh.clone();
    let mut options = commands::ssh_options(access);
    for option in ["IdentitiesOnly=yes", "ServerAliveInterval=2", "ServerAliveCountMax=3"] {
        options.push("-o".to_owned());
        options.push(option.to_owned());
    }
    options.append(&mut settings.options);
    settings.options = options;
    settings
}

/// `reboot`, then `shutdown -f -t 3 -r` if that fails, through the system
/// `ssh` with the machine's account.
async fn ssh_reboot(cx: &Context<'_>, log: &mut impl FnMut(String)) -> Attempt {
    let Some(access) = cx.inventory.ssh_access(cx.machine) else {
        return Attempt::NotSent(JobError::MissingSsh { host: cx.machine.name().to_owned() }.into());
    };
    let settings = ssh_settings(cx.tools, access);
    let destination = cx.machine.address();
    let mut failures = Vec::new();
    for remote_command in SSH_REBOOT_COMMANDS {
        let raw = ssh::run(&settings, destination, remote_command, None, settings.timeout).await;
        let ran = Ran::from_ssh(&raw, settings.timeout);
        let shown = format!("ssh {}@{destination} {remote_command}", access.user);
        log_step(log, TaskName::SshReboot, &shown, &ran);
        if ran.ok() {
            return Attempt::Done(format!("{remote_command:?} accepted"));
        }
        failures.push(format!("{remote_command:?}: {}", ran.describe()));
    }
    Attempt::Failed(format!("every ssh reboot command failed: {}", failures.join("; ")))
}

/// One Puppet run through `fleetroll_remote::changes` (the wrapper with
/// `sudo -n` and a terminal, as `fleetroll run-puppet` runs it).
pub(crate) async fn run_puppet(cx: &Context<'_>, log: &mut impl FnMut(String)) -> Result<ActionOutcome, ActionError> {
    let access = cx
        .inventory
        .ssh_access(cx.machine)
        .ok_or_else(|| JobError::MissingSsh { host: cx.machine.name().to_owned() })?;
    let mut settings = ssh_settings(cx.tools, access);
    settings.timeout = cx.tools.timeouts.puppet;
    let change = Change::RunPuppet { wrapper: cx.tools.puppet_wrapper.clone() };
    let hosts = [cx.machine.address().to_owned()];
    let reports =
        fleetroll_remote::changes::apply(&hosts, &change, &settings, 1, cx.tools.timeouts.puppet, |_| {}).await;
    let run = match reports.into_iter().next().map(|report| report.result) {
        Some(HostChange::Puppet(run)) => run,
        Some(HostChange::Skipped(why)) => return Err(ActionError::Failed(why)),
        _ => return Err(ActionError::Failed("the Puppet run reported nothing".to_owned())),
    };
    let PuppetRun { puppet_exit, ok, changes_applied, output, failure } = run;
    let exit = puppet_exit.map_or_else(|| "no exit status".to_owned(), |code| format!("exit {code}"));
    let what = if changes_applied { "changes applied" } else { "no changes" };
    let summary = if ok { format!("Puppet {exit}, {what}") } else { format!("Puppet {exit}") };
    let shown = format!("ssh {}@{} {}", access.user, cx.machine.address(), cx.tools.puppet_wrapper);
    let tail = output.lines().rev().take(20).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n");
    let detail = if tail.trim().is_empty() { summary.clone() } else { format!("{summary}: {}", one_line(&tail)) };
    log(log_line(now(), TaskName::RunPuppet.as_str(), if ok { "ok" } else { "failed" }, &format!("{shown}: {detail}")));
    match (ok, failure) {
        (true, _) => Ok(ActionOutcome { detail: summary, verified_by: None }),
        (false, Some(failure)) => Err(ActionError::Failed(one_line(&failure.message))),
        (false, None) => Err(ActionError::Failed(summary)),
    }
}
