//! The machines hardware jobs act on, and which machine a worker id means.
//!
//! An [`Inventory`] holds machines (short name, FQDN, the worker ids and
//! groups they answer to, a link to a BMC, a PDU outlet, an SSH account),
//! BMCs by name (address, user, where the password comes from, chassis
//! type), chassis types (roller's `types`), the SNMP community of the PDUs
//! and a default SSH account. It is built from roller's `WORKER_CONFIG`
//! ([`super::roller`]), from the `[jobs]` table of `config.toml`
//! ([`super::settings`]), or both ([`Inventory::merge`]), and checked once
//! when loaded ([`Inventory::validate`]) so that a bad entry shows then, not
//! when a machine is down and someone needs it rebooted.
//!
//! Resolution ([`Inventory::resolve`]): the worker id is checked against
//! roller's pattern and lower-cased, then matched against machines' short
//! names and worker ids, and only then against the first label of their
//! FQDNs. A worker group, when given, rules out machines that list other
//! groups. Nothing is looked up in DNS.
//!
//! Arguments in a chassis type's `args` and `map` may hold several words
//! (`"-B 0"`, as roller's file has them); they are split on whitespace.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::PathBuf;

use serde::Deserialize;

use super::{IpmiCommand, JobError};
use crate::config::Secret;

/// Where a secret comes from. Only an inline value can be used without I/O;
/// the caller reads the others and hands [`Secret`]s to the command builders.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretRef {
    Value(Secret),
    /// An environment variable's name.
    Env(String),
    /// A file whose contents (trailing newline dropped) are the secret.
    File(PathBuf),
}

impl SecretRef {
    /// Reads `env:NAME` or `file:PATH`.
    pub fn parse(text: &str) -> Result<SecretRef, String> {
        match text.split_once(':') {
            Some(("env", name)) if !name.is_empty() => Ok(SecretRef::Env(name.to_owned())),
            Some(("file", path)) if !path.is_empty() => Ok(SecretRef::File(PathBuf::from(path))),
            _ => Err(format!("{text:?} is neither `env:NAME` nor `file:PATH`")),
        }
    }

    /// Where it comes from, without the value: for errors and `show` output.
    pub fn describe(&self) -> String {
        match self {
            SecretRef::Value(_) => "***".to_owned(),
            SecretRef::Env(name) => format!("env:{name}"),
            SecretRef::File(path) => format!("file:{}", path.display()),
        }
    }
}

/// A BMC that `ipmitool` talks to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bmc {
    pub address: String,
    pub user: String,
    pub password: SecretRef,
    /// A key of [`Inventory::types`].
    pub ipmi_type: Option<String>,
}

/// How a machine's power is reached over IPMI: a BMC of the inventory, and,
/// for a node of a chassis, its address there (which selects bridging
/// arguments).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BmcLink {
    pub bmc: String,
    pub addr: Option<String>,
}

/// A Sentry3 PDU outlet (`pdu1.example.com:aa6`: tower a, infeed a, outlet 6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PduOutlet {
    pub host: String,
    /// The SNMP port when not 161 (test PDUs run on another).
    pub port: Option<u16>,
    pub tower: u8,
    pub infeed: u8,
    pub outlet: u16,
}

impl PduOutlet {
    /// Reads `host[:port]:<tower><infeed><outlet>`, split at the last `:`
    /// as roller did. Tower and infeed are the letters a, b or c (either
    /// case, as the PDU's own interface writes them `AA6`).
    pub fn parse(text: &str) -> Result<PduOutlet, String> {
        let (target, spec) =
            text.rsplit_once(':').ok_or_else(|| format!("PDU {text:?} must be `host:<tower><infeed><outlet>`"))?;
        let (host, port) = match target.rsplit_once(':') {
            Some((host, port)) => {
                let port = port.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(|| {
                    format!("PDU {text:?}: {port:?} is not a port number (IPv6 PDU addresses are not supported)")
                })?;
                (host, Some(port))
            }
            None => (target, None),
        };
        validate_host(host).map_err(|err| format!("PDU {text:?}: {err}"))?;
        let mut chars = spec.chars();
        let letter = |c: Option<char>, what: &str| -> Result<u8, String> {
            match c.map(|c| c.to_ascii_lowercase()) {
                Some('a') => Ok(1),
                Some('b') => Ok(2),
                Some('c') => Ok(3),
                _ => Err(format!("PDU {text:?}: the {what} must be a, b or c")),
            }
        };
        let tower = letter(chars.next(), "tower")?;
        let infeed = letter(chars.next(), "infeed")?;
        let digits = chars.as_str();
        let outlet = (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
            .then(|| digits.parse::<u16>().ok())
            .flatten()
            .filter(|n| (1..=999).contains(n))
            .ok_or_else(|| format!("PDU {text:?}: the outlet must be a number from 1 to 999"))?;
        Ok(PduOutlet { host: host.to_ascii_lowercase(), port, tower, infeed, outlet })
    }

    /// `snmpset`'s agent argument: `host` or `host:port`.
    pub fn agent(&self) -> String {
        match self.port {
            Some(port) => format!("{}:{port}", self.host),
            None => self.host.clone(),
        }
    }
}

/// The SSH account a machine is rebooted (and Puppet run) through.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SshAccess {
    pub user: String,
    pub key_file: PathBuf,
}

/// A chassis type (roller's `types`): words added to every `ipmitool` call,
/// bridging words per node address, and command words per IPMI task.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChassisType {
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default)]
    pub map: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub commands: BTreeMap<String, Vec<String>>,
}

impl ChassisType {
    /// The words of `command` on this type.
    pub fn words(&self, command: IpmiCommand) -> Vec<String> {
        match self.commands.get(command.key()) {
            Some(words) => words.clone(),
            None => default_words(command),
        }
    }
}

fn default_words(command: IpmiCommand) -> Vec<String> {
    command.default_words().iter().map(|w| (*w).to_owned()).collect()
}

/// One managed machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Machine {
    /// The short name, lower case.
    pub host: String,
    pub fqdn: Option<String>,
    /// Further worker ids it answers to, lower case (its `host` always counts).
    pub worker_ids: Vec<String>,
    /// Worker groups it is in; empty means any.
    pub worker_groups: Vec<String>,
    pub bmc: Option<BmcLink>,
    pub pdu: Option<PduOutlet>,
    pub ssh: Option<SshAccess>,
}

impl Machine {
    pub(super) fn new(host: String) -> Machine {
        Machine { host, fqdn: None, worker_ids: Vec::new(), worker_groups: Vec::new(), bmc: None, pdu: None, ssh: None }
    }

    /// The name tools are pointed at: the FQDN when known.
    pub fn address(&self) -> &str {
        self.fqdn.as_deref().unwrap_or(&self.host)
    }

    /// The name it is known by in errors and notifications.
    pub fn name(&self) -> &str {
        self.address()
    }

    fn answers_to(&self, worker_id: &str) -> bool {
        self.host == worker_id || self.worker_ids.iter().any(|id| id == worker_id)
    }

    fn fqdn_label(&self) -> Option<&str> {
        self.fqdn.as_deref().map(|fqdn| fqdn.split('.').next().unwrap_or(fqdn))
    }

    fn in_group(&self, group: &str) -> bool {
        self.worker_groups.is_empty() || self.worker_groups.iter().any(|g| g.eq_ignore_ascii_case(group))
    }
}

/// Everything hardware jobs know about the fleet.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Inventory {
    pub machines: Vec<Machine>,
    /// BMCs by lower-case name.
    pub bmcs: BTreeMap<String, Bmc>,
    pub types: BTreeMap<String, ChassisType>,
    pub snmp_community: Option<SecretRef>,
    /// For machines without an SSH account of their own.
    pub default_ssh: Option<SshAccess>,
    /// What an import left out, one line each, for the operator to read.
    pub notes: Vec<String>,
}

/// Everything `ipmitool` needs to reach one machine, except the password's value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpmiTarget<'a> {
    pub address: &'a str,
    pub user: &'a str,
    pub password: &'a SecretRef,
    /// The chassis type's `args`, split into words.
    pub type_args: Vec<String>,
    /// The bridging words of the node's address, split into words.
    pub bridging: Vec<String>,
    pub chassis: Option<&'a ChassisType>,
}

impl IpmiTarget<'_> {
    pub fn words(&self, command: IpmiCommand) -> Vec<String> {
        self.chassis.map_or_else(|| default_words(command), |chassis| chassis.words(command))
    }
}

impl Inventory {
    /// The machine worker `worker_id` (of `worker_group`, if given) runs on.
    pub fn resolve(&self, worker_id: &str, worker_group: Option<&str>) -> Result<&Machine, JobError> {
        let id = validate_worker_id(worker_id)?;
        let in_group = |machine: &&Machine| worker_group.is_none_or(|group| machine.in_group(group));
        let ranks: [&dyn Fn(&Machine) -> bool; 2] =
            [&|m| m.answers_to(&id), &|m| m.fqdn_label().is_some_and(|label| label == id)];
        for matches in ranks {
            let found: Vec<&Machine> = self.machines.iter().filter(|m| matches(m)).filter(in_group).collect();
            match found.as_slice() {
                [] => continue,
                [machine] => return Ok(machine),
                many => {
                    let hosts = many.iter().map(|m| m.name()).collect::<Vec<_>>().join(", ");
                    return Err(JobError::Ambiguous { name: id.clone(), hosts });
                }
            }
        }
        Err(JobError::NotManaged(match worker_group {
            Some(group) => format!("{id} (worker group {group})"),
            None => id.clone(),
        }))
    }

    /// The machine called `name` (short name or FQDN, any case): for the
    /// CLI, where operators type host names rather than worker ids.
    pub fn lookup(&self, name: &str) -> Result<&Machine, JobError> {
        validate_host(name)?;
        let name = name.to_ascii_lowercase();
        if name.contains('.') {
            let found = self.machines.iter().find(|m| m.fqdn.as_deref() == Some(&name));
            return found.ok_or(JobError::NotManaged(name));
        }
        self.resolve(&name, None)
    }

    /// How IPMI reaches `machine`.
    pub fn ipmi_target<'a>(&'a self, machine: &Machine) -> Result<IpmiTarget<'a>, JobError> {
        let link = machine.bmc.as_ref().ok_or_else(|| JobError::MissingBmc { host: machine.name().to_owned() })?;
        let bmc = self.bmcs.get(&link.bmc).ok_or_else(|| {
            JobError::Invalid(format!("{}: BMC {:?} is not in the inventory", machine.name(), link.bmc))
        })?;
        let chassis = match &bmc.ipmi_type {
            Some(name) => Some(self.types.get(name).ok_or_else(|| {
                JobError::Invalid(format!("BMC {:?}: chassis type {name:?} is not in the inventory", link.bmc))
            })?),
            None => None,
        };
        let bridging = match (&link.addr, chassis) {
            (None, _) => Vec::new(),
            (Some(addr), Some(chassis)) => split_words(chassis.map.get(addr).ok_or_else(|| {
                JobError::Invalid(format!(
                    "{}: address {addr:?} is not in the map of chassis type {:?}",
                    machine.name(),
                    bmc.ipmi_type.as_deref().unwrap_or_default()
                ))
            })?),
            (Some(addr), None) => {
                return Err(JobError::Invalid(format!(
                    "{}: address {addr:?} needs BMC {:?} to have a chassis type",
                    machine.name(),
                    link.bmc
                )));
            }
        };
        Ok(IpmiTarget {
            address: &bmc.address,
            user: &bmc.user,
            password: &bmc.password,
            type_args: chassis.map(|c| split_words(&c.args)).unwrap_or_default(),
            bridging,
            chassis,
        })
    }

    /// The SSH account for `machine`: its own, else the default.
    pub fn ssh_access<'a>(&'a self, machine: &'a Machine) -> Option<&'a SshAccess> {
        machine.ssh.as_ref().or(self.default_ssh.as_ref())
    }

    /// Checks what resolution and the command builders rely on, so that a
    /// bad entry is reported when the inventory is loaded, not when a
    /// machine is down and someone needs it rebooted.
    pub fn validate(&self) -> Result<(), JobError> {
        let invalid = |text: String| Err(JobError::Invalid(text));
        for (name, chassis) in &self.types {
            for key in chassis.commands.keys() {
                if !IPMI_KEYS.contains(&key.as_str()) {
                    return invalid(format!(
                        "chassis type {name:?}: unknown command {key:?}; known: {}",
                        IPMI_KEYS.join(", ")
                    ));
                }
            }
        }
        for (name, bmc) in &self.bmcs {
            validate_host(&bmc.address).map_err(|err| JobError::Invalid(format!("BMC {name:?}: {err}")))?;
            if let Some(ipmi_type) = &bmc.ipmi_type
                && !self.types.contains_key(ipmi_type)
            {
                return invalid(format!("BMC {name:?}: chassis type {ipmi_type:?} is not in the inventory"));
            }
        }
        let mut names = BTreeSet::new();
        for machine in &self.machines {
            validate_host(&machine.host)?;
            if let Some(fqdn) = &machine.fqdn {
                validate_host(fqdn)?;
            }
            for id in &machine.worker_ids {
                validate_worker_id(id)?;
            }
            if !names.insert(machine.name()) {
                return invalid(format!("{}: listed twice", machine.name()));
            }
            if machine.bmc.is_some() {
                self.ipmi_target(machine)?;
            }
        }
        Ok(())
    }

    /// `self` with `other`'s machines, BMCs and types added; a name in both
    /// is an error rather than a silent choice between two descriptions.
    /// The SNMP community and default SSH account are `self`'s when set.
    pub fn merge(mut self, other: Inventory) -> Result<Inventory, JobError> {
        for (name, bmc) in other.bmcs {
            if self.bmcs.insert(name.clone(), bmc).is_some() {
                return Err(JobError::Invalid(format!("BMC {name:?} is described twice")));
            }
        }
        for (name, chassis) in other.types {
            if self.types.insert(name.clone(), chassis).is_some() {
                return Err(JobError::Invalid(format!("chassis type {name:?} is described twice")));
            }
        }
        self.machines.extend(other.machines);
        // `self` is the configuration proper; an import only fills its gaps.
        self.snmp_community = self.snmp_community.or(other.snmp_community);
        self.default_ssh = self.default_ssh.or(other.default_ssh);
        self.notes.extend(other.notes);
        self.validate()?;
        Ok(self)
    }
}

const IPMI_KEYS: [&str; 6] = ["ipmi_list", "ipmi_status", "ipmi_on", "ipmi_off", "ipmi_cycle", "ipmi_reset"];

fn split_words(args: &[String]) -> Vec<String> {
    args.iter().flat_map(|arg| arg.split_whitespace()).map(str::to_owned).collect()
}

/// A worker id as roller's route accepted it (`[-_0-9a-zA-Z]{1,128}`), lower-cased.
pub fn validate_worker_id(id: &str) -> Result<String, JobError> {
    let allowed = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
    if id.is_empty() || id.len() > 128 || !id.bytes().all(allowed) {
        return Err(JobError::InvalidWorkerId(id.to_owned()));
    }
    Ok(id.to_ascii_lowercase())
}

/// A name safe to hand to `ping`, `ssh`, `ipmitool` or `snmpset`: an IP
/// address, or dot-separated labels of 1 to 63 letters, digits, `-` and
/// `_`, not starting with `-` (which a tool would read as an option), 253
/// at most in all. Roller applied its 63-character label pattern to the
/// whole name, which refused FQDNs longer than 63; the limit meant is a
/// label's.
pub fn validate_host(host: &str) -> Result<(), JobError> {
    if host.parse::<IpAddr>().is_ok() {
        return Ok(());
    }
    let label_ok = |label: &str| {
        (1..=63).contains(&label.len())
            && !label.starts_with('-')
            && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    let name = host.strip_suffix('.').unwrap_or(host);
    if name.is_empty() || name.len() > 253 || !name.split('.').all(label_ok) {
        return Err(JobError::InvalidHost(host.to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
