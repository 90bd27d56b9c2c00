//! The tool invocations of hardware jobs: `ipmitool` for BMCs, `snmpset`
//! for Sentry3 PDU outlets, `ping`, and what `ssh` runs to reboot.
//!
//! A [`Command`] never has a secret among its arguments, which every local
//! user can read in the process list: BMC passwords go in the environment
//! (`ipmitool -E`), SNMP communities in a private configuration file. So
//! [`Command::display`], the form for logs, job logs and errors, is the
//! whole command line, and [`Command::secrets`] lists what the tool's
//! output is scrubbed of in case it echoes one.

use std::fmt;
use std::time::Duration;

use super::inventory::{IpmiTarget, PduOutlet, SshAccess, validate_host};
use super::{IpmiCommand, JobError, TaskName};
use crate::config::Secret;

/// A program and its arguments, ready to run without a shell.
#[derive(Clone, PartialEq, Eq)]
pub struct Command {
    pub program: String,
    pub args: Vec<String>,
    /// Environment variables holding secrets. A secret in an argument is in
    /// the process list for every local user to read; one in the
    /// environment only for the user and root.
    pub env: Vec<(&'static str, Secret)>,
    /// A configuration file holding a secret, for tools that take it from
    /// nowhere else but the command line or a file.
    pub conf: Option<PrivateConf>,
}

/// A configuration file the runner writes into a directory of its own
/// (mode 0700, the file 0600) and names in `dir_env` for the tool, removed
/// when the tool ends.
#[derive(Clone, PartialEq, Eq)]
pub struct PrivateConf {
    /// The variable that tells the tool where to look, e.g. `SNMPCONFPATH`.
    pub dir_env: &'static str,
    pub file_name: &'static str,
    /// The lines before the secret's.
    pub preamble: &'static str,
    /// The directive the secret follows, e.g. `defCommunity`.
    pub directive: &'static str,
    pub secret: Secret,
}

impl fmt::Debug for PrivateConf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivateConf(${}/{}: {} ***)", self.dir_env, self.file_name, self.directive)
    }
}

impl PrivateConf {
    /// The file's text, secret included: for writing the file only.
    pub fn text(&self) -> String {
        format!("{}{} {}\n", self.preamble, self.directive, self.secret.expose())
    }
}

impl Command {
    fn new(program: &str) -> Command {
        Command { program: program.to_owned(), args: Vec::new(), env: Vec::new(), conf: None }
    }

    fn secret_env(mut self, name: &'static str, secret: &Secret) -> Command {
        self.env.push((name, secret.clone()));
        self
    }

    /// Every secret the command carries, in its environment or its
    /// private configuration: what its output is scrubbed of.
    pub fn secrets(&self) -> impl Iterator<Item = &str> {
        let in_env = self.env.iter().map(|(_, secret)| secret.expose());
        in_env.chain(self.conf.iter().map(|conf| conf.secret.expose()))
    }

    fn plain<S: Into<String>>(mut self, words: impl IntoIterator<Item = S>) -> Command {
        self.args.extend(words.into_iter().map(Into::into));
        self
    }

    /// The command line as a person reads it, words with spaces or quotes
    /// single-quoted.
    pub fn display(&self) -> String {
        let mut line = self.program.clone();
        for word in &self.args {
            line.push(' ');
            line.push_str(&quote(word));
        }
        line
    }
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Command({})", self.display())
    }
}

fn quote(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./:=@,+%".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

// ---------------------------------------------------------------------------
// IPMI

/// `ipmitool -I`: the remote interfaces. `lan` is IPMI 1.5, which old BMCs
/// and `ipmi_sim` configurations without RMCP+ speak.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IpmiInterface {
    Lan,
    Lanplus,
}

impl IpmiInterface {
    pub fn as_str(self) -> &'static str {
        match self {
            IpmiInterface::Lan => "lan",
            IpmiInterface::Lanplus => "lanplus",
        }
    }

    pub fn parse(text: &str) -> Result<IpmiInterface, JobError> {
        match text {
            "lan" => Ok(IpmiInterface::Lan),
            "lanplus" => Ok(IpmiInterface::Lanplus),
            _ => Err(JobError::Invalid(format!("IPMI interface {text:?} must be lan or lanplus"))),
        }
    }
}

/// `ipmitool -L`: the privilege levels a session may ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IpmiPrivilege {
    Callback,
    User,
    Operator,
    Administrator,
}

impl IpmiPrivilege {
    pub fn as_str(self) -> &'static str {
        match self {
            IpmiPrivilege::Callback => "CALLBACK",
            IpmiPrivilege::User => "USER",
            IpmiPrivilege::Operator => "OPERATOR",
            IpmiPrivilege::Administrator => "ADMINISTRATOR",
        }
    }

    /// One of the four names, in upper case as ipmitool documents them.
    /// Anything else (roller's tests tried `root`) is refused rather than
    /// passed on for ipmitool to misread.
    pub fn parse(text: &str) -> Result<IpmiPrivilege, JobError> {
        [IpmiPrivilege::Callback, IpmiPrivilege::User, IpmiPrivilege::Operator, IpmiPrivilege::Administrator]
            .into_iter()
            .find(|level| level.as_str() == text)
            .ok_or_else(|| {
                JobError::Invalid(format!(
                    "IPMI privilege level {text:?} must be CALLBACK, USER, OPERATOR or ADMINISTRATOR"
                ))
            })
    }
}

/// How `ipmitool` is called, the same for every BMC.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpmiSettings {
    pub program: String,
    pub interface: IpmiInterface,
    pub privilege: IpmiPrivilege,
    /// The BMC's UDP port (623; a test `ipmi_sim` listens elsewhere).
    pub port: u16,
}

impl Default for IpmiSettings {
    /// Roller's: lanplus, OPERATOR (enough for power control, unlike
    /// USER, without the configuration rights of ADMINISTRATOR), port 623.
    fn default() -> Self {
        IpmiSettings {
            program: "ipmitool".to_owned(),
            interface: IpmiInterface::Lanplus,
            privilege: IpmiPrivilege::Operator,
            port: 623,
        }
    }
}

/// `ipmitool -I <i> -L <l> -p <port> -H <bmc> -U <user> -E [type args]
/// [bridging args] <command words>` with `IPMI_PASSWORD` in the
/// environment. `password` is the value of `target.password`, read by the
/// caller.
pub fn ipmitool(
    settings: &IpmiSettings,
    target: &IpmiTarget<'_>,
    password: &Secret,
    command: IpmiCommand,
) -> Result<Command, JobError> {
    validate_host(target.address)?;
    if target.user.is_empty() {
        return Err(JobError::Invalid(format!("BMC {}: the user is empty", target.address)));
    }
    Ok(Command::new(&settings.program)
        .plain([
            "-I",
            settings.interface.as_str(),
            "-L",
            settings.privilege.as_str(),
            "-p",
            &settings.port.to_string(),
            "-H",
            target.address,
            "-U",
            target.user,
            // The password from IPMI_PASSWORD, not the command line.
            "-E",
        ])
        .secret_env("IPMI_PASSWORD", password)
        .plain(target.type_args.iter().cloned())
        .plain(target.bridging.iter().cloned())
        .plain(target.words(command)))
}

/// The power state in `ipmitool chassis power status` output
/// (`Chassis Power is on`): `Some(true)` for on.
pub fn ipmi_power_is_on(output: &str) -> Option<bool> {
    output.lines().find_map(|line| match line.trim().strip_prefix("Chassis Power is ")?.trim() {
        "on" => Some(true),
        "off" => Some(false),
        _ => None,
    })
}

// ---------------------------------------------------------------------------
// Sentry3 PDU over SNMP

/// Sentry3-MIB `outletControlAction`, indexed by tower, infeed and outlet.
pub const SENTRY3_OUTLET_CONTROL: &str = "1.3.6.1.4.1.1718.3.2.3.1.11";

/// What an outlet is told to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutletAction {
    On,
    Off,
    Reboot,
}

impl OutletAction {
    /// The MIB's integer for the action.
    pub fn value(self) -> u8 {
        match self {
            OutletAction::On => 1,
            OutletAction::Off => 2,
            OutletAction::Reboot => 3,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OutletAction::On => "on",
            OutletAction::Off => "off",
            OutletAction::Reboot => "reboot",
        }
    }
}

/// `1.3.6.1.4.1.1718.3.2.3.1.11.<tower>.<infeed>.<outlet>`.
pub fn outlet_oid(pdu: &PduOutlet) -> String {
    format!("{SENTRY3_OUTLET_CONTROL}.{}.{}.{}", pdu.tower, pdu.infeed, pdu.outlet)
}

/// `snmpset -v 2c <pdu host[:port]> <oid> i <value>`, the community in
/// a private `snmp.conf` (`defCommunity`) rather than after `-c`, where
/// every local user could read it in the process list.
///
/// That `snmp.conf` replaces the system's, so it also keeps MIB loading
/// off as Debian's does (`mibs :`): the OID is numeric and needs none.
/// The community becomes a word of that file, so one that would not stay
/// a single word (spaces, quotes, control characters) is refused.
pub fn snmpset(program: &str, pdu: &PduOutlet, community: &Secret, action: OutletAction) -> Result<Command, JobError> {
    let word = community.expose();
    let fits = |c: char| c.is_ascii_graphic() && !matches!(c, '"' | '\'' | '\\');
    if word.is_empty() || !word.chars().all(fits) {
        return Err(JobError::Invalid(
            "the SNMP community must be printable ASCII without spaces, quotes or backslashes".to_owned(),
        ));
    }
    let words =
        ["-v".to_owned(), "2c".to_owned(), pdu.agent(), outlet_oid(pdu), "i".to_owned(), action.value().to_string()];
    let mut command = Command::new(program).plain(words);
    command.conf = Some(PrivateConf {
        dir_env: "SNMPCONFPATH",
        file_name: "snmp.conf",
        preamble: "mibs :\n",
        directive: "defCommunity",
        secret: community.clone(),
    });
    Ok(command)
}

/// The pause between off and on of `snmp_rebootdelay` unless configured:
/// roller's, long enough for a machine's power supply to drain so that it
/// really starts cold.
pub const DEFAULT_SNMP_DELAY: Duration = Duration::from_secs(60);

/// One step of a PDU task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PduStep {
    Set(OutletAction),
    Wait(Duration),
}

/// What a PDU task does: `snmp_reboot` asks the PDU to cycle the outlet
/// itself; `snmp_rebootdelay` turns it off, waits `delay`, turns it on.
pub fn pdu_steps(task: TaskName, delay: Duration) -> Result<Vec<PduStep>, JobError> {
    match task {
        TaskName::SnmpReboot => Ok(vec![PduStep::Set(OutletAction::Reboot)]),
        TaskName::SnmpRebootdelay => {
            Ok(vec![PduStep::Set(OutletAction::Off), PduStep::Wait(delay), PduStep::Set(OutletAction::On)])
        }
        other => Err(JobError::Invalid(format!("{other} is not a PDU task"))),
    }
}

// ---------------------------------------------------------------------------
// SSH and ping

/// What `ssh_reboot` runs, in order until one succeeds: plain `reboot`,
/// then the form older hosts (and those where `reboot` is refused by a
/// sudo rule) accept.
pub const SSH_REBOOT_COMMANDS: [&str; 2] = ["reboot", "shutdown -f -t 3 -r"];

/// The `ssh` options that select the account (`-l user -i key`).
pub fn ssh_options(access: &SshAccess) -> Vec<String> {
    vec!["-l".to_owned(), access.user.clone(), "-i".to_owned(), access.key_file.display().to_string()]
}

/// `ping -q -c <count> -w <deadline> <host>`: quiet, so the summary is all
/// that is printed; the deadline bounds the whole run.
pub fn ping(program: &str, host: &str, count: u32, deadline: Duration) -> Result<Command, JobError> {
    validate_host(host)?;
    let deadline = deadline.as_secs().max(1);
    Ok(Command::new(program).plain([
        "-q".to_owned(),
        "-c".to_owned(),
        count.max(1).to_string(),
        "-w".to_owned(),
        deadline.to_string(),
        host.to_owned(),
    ]))
}

/// `ping -q`'s summary on one line (`4 packets transmitted, 4 received, 0%
/// packet loss, time 3004ms | rtt min/avg/max/mdev = …`), or the whole
/// output on one line when there is no summary.
pub fn ping_summary(output: &str) -> String {
    let lines: Vec<&str> = output
        .lines()
        .map(str::trim)
        .filter(|line| {
            line.contains("packets transmitted") || line.starts_with("rtt ") || line.starts_with("round-trip")
        })
        .collect();
    if lines.is_empty() { super::one_line(output) } else { lines.join(" | ") }
}

#[cfg(test)]
mod tests;
