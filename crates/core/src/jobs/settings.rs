//! The `[jobs]` table of `config.toml`, read with serde as [`JobsConfig`]:
//! the inventory in our own shape, and the settings of the workers.
//!
//! ```toml
//! [jobs]
//! scope_prefix = "project:releng:roller"     # the default
//! reboot_order = ["ssh_reboot", "snmp_rebootdelay", "ipmi_reset", "ipmi_cycle", "ipmi_on"]  # the default
//! down_timeout_secs = 60                     # defaults: roller's
//! up_timeout_secs = 300
//! snmp_delay_secs = 60
//! ipmi_interface = "lanplus"                 # or lan
//! ipmi_privilege = "OPERATOR"                # CALLBACK, USER, OPERATOR, ADMINISTRATOR
//! ipmi_port = 623
//! max_attempts = 3
//! lease_secs = 300
//! soft_limit_secs = 2000                     # defaults: roller's production Celery limits
//! hard_limit_secs = 3000
//! worker_config = "/etc/fleetroll/worker_config.json"  # roller's WORKER_CONFIG, read too
//! snmp_community_ref = "env:FLEETROLL_SNMP_COMMUNITY"  # or snmp_community = "…"
//! ssh = { user = "roller", key_file = "/etc/fleetroll/roller.key" }  # default for machines without one
//!
//! [jobs.types.moonshot]
//! args = ["-B 0", "-b 7"]
//! map = { c1n1 = ["-T 0x82", "-t 0x72"] }
//! commands = { ipmi_list = ["sel", "list", "last", "15"] }
//!
//! [[jobs.bmcs]]
//! name = "moon-chassis-1"
//! address = "moon-chassis-1.inband.releng.mdc1.mozilla.com"
//! user = "admin"
//! password_ref = "env:MOON_BMC_PASSWORD"     # or file:/path, or password = "…"
//! type = "moonshot"
//!
//! [[jobs.machines]]
//! host = "t-linux64-ms-001"
//! fqdn = "t-linux64-ms-001.test.releng.mdc1.mozilla.com"
//! worker_ids = ["t-linux64-ms-001"]          # besides host, which always counts
//! worker_groups = ["mdc1"]                   # empty: any group
//! bmc = { parent = "moon-chassis-1", addr = "c1n1" }
//! # or a BMC of its own: bmc = { address = "…", user = "…", password_ref = "…", type = "…" }
//! pdu = "pdu1.gc134.ops.releng.mdc2.mozilla.com:aa6"   # host[:snmp port]:<tower><infeed><outlet>
//! ssh = { user = "roller", key_file = "/etc/fleetroll/roller.key" }
//! ```
//!
//! Every key is optional; unknown keys are errors, as elsewhere in the file.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::commands::{DEFAULT_SNMP_DELAY, IpmiInterface, IpmiPrivilege, IpmiSettings};
use super::inventory::{
    Bmc, BmcLink, ChassisType, Inventory, Machine, PduOutlet, SecretRef, SshAccess, validate_worker_id,
};
use super::reboot::{DEFAULT_ORDER, VerifySettings, parse_order};
use super::{DEFAULT_MAX_ATTEMPTS, DEFAULT_SCOPE_PREFIX, JobError, TaskName};
use crate::config::Secret;

/// How long a claim holds before another worker may take the job over. A
/// worker renews it while it works ([`super::lease_renewal_due`]), so this
/// bounds how long a dead worker's job waits, not how long a job may take.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(300);

/// The `[jobs]` table of `config.toml` (shape in the module documentation).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobsConfig {
    pub scope_prefix: Option<String>,
    pub reboot_order: Option<Vec<String>>,
    pub down_timeout_secs: Option<u64>,
    pub up_timeout_secs: Option<u64>,
    pub snmp_delay_secs: Option<u64>,
    pub ipmi_interface: Option<String>,
    pub ipmi_privilege: Option<String>,
    pub ipmi_port: Option<u16>,
    pub max_attempts: Option<u32>,
    pub lease_secs: Option<u64>,
    /// A job still running this long after its start is stopped and fails
    /// (roller's production Celery soft limit, 2000 s).
    pub soft_limit_secs: Option<u64>,
    /// And this long: failed even if its worker is stuck and still renews
    /// (roller's production hard limit, 3000 s).
    pub hard_limit_secs: Option<u64>,
    /// Roller's `WORKER_CONFIG` JSON file, read beside the machines listed
    /// here; a machine, BMC or chassis type described in both is an error.
    pub worker_config: Option<std::path::PathBuf>,
    pub snmp_community: Option<Secret>,
    pub snmp_community_ref: Option<String>,
    pub ssh: Option<SshAccess>,
    #[serde(default)]
    pub types: BTreeMap<String, ChassisType>,
    #[serde(default)]
    pub bmcs: Vec<BmcSpec>,
    #[serde(default)]
    pub machines: Vec<MachineSpec>,
}

/// `[[jobs.bmcs]]`: a BMC machines refer to by `name` (a chassis).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BmcSpec {
    pub name: String,
    /// The name itself when absent.
    pub address: Option<String>,
    pub user: String,
    pub password: Option<Secret>,
    pub password_ref: Option<String>,
    #[serde(rename = "type")]
    pub ipmi_type: Option<String>,
}

/// A machine's `bmc`: either `parent` (+ `addr`) or a BMC of its own.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MachineBmcSpec {
    pub parent: Option<String>,
    pub addr: Option<String>,
    pub address: Option<String>,
    pub user: Option<String>,
    pub password: Option<Secret>,
    pub password_ref: Option<String>,
    #[serde(rename = "type")]
    pub ipmi_type: Option<String>,
}

/// `[[jobs.machines]]`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MachineSpec {
    pub host: String,
    pub fqdn: Option<String>,
    #[serde(default)]
    pub worker_ids: Vec<String>,
    #[serde(default)]
    pub worker_groups: Vec<String>,
    pub bmc: Option<MachineBmcSpec>,
    pub pdu: Option<String>,
    pub ssh: Option<SshAccess>,
}

fn secret_of(what: &str, value: Option<Secret>, reference: Option<String>) -> Result<SecretRef, JobError> {
    match (value, reference) {
        (Some(value), None) => Ok(SecretRef::Value(value)),
        (None, Some(reference)) => {
            SecretRef::parse(&reference).map_err(|err| JobError::Invalid(format!("{what}: {err}")))
        }
        (Some(_), Some(_)) => Err(JobError::Invalid(format!("{what}: give `password` or `password_ref`, not both"))),
        (None, None) => Err(JobError::Invalid(format!("{what}: `password` or `password_ref` is required"))),
    }
}

impl JobsConfig {
    /// The scope prefix in force.
    pub fn scope_prefix(&self) -> &str {
        self.scope_prefix.as_deref().unwrap_or(DEFAULT_SCOPE_PREFIX)
    }

    /// The inventory this table describes, checked.
    pub fn inventory(&self) -> Result<Inventory, JobError> {
        let mut inventory =
            Inventory { types: self.types.clone(), default_ssh: self.ssh.clone(), ..Inventory::default() };
        inventory.snmp_community = match (&self.snmp_community, &self.snmp_community_ref) {
            (Some(value), None) => Some(SecretRef::Value(value.clone())),
            (None, Some(reference)) => Some(
                SecretRef::parse(reference)
                    .map_err(|err| JobError::Invalid(format!("jobs.snmp_community_ref: {err}")))?,
            ),
            (None, None) => None,
            (Some(_), Some(_)) => {
                return Err(JobError::Invalid(
                    "jobs: give `snmp_community` or `snmp_community_ref`, not both".to_owned(),
                ));
            }
        };
        for spec in &self.bmcs {
            let name = spec.name.to_ascii_lowercase();
            let what = format!("jobs.bmcs {name:?}");
            let bmc = Bmc {
                address: spec.address.clone().unwrap_or_else(|| name.clone()),
                user: spec.user.clone(),
                password: secret_of(&what, spec.password.clone(), spec.password_ref.clone())?,
                ipmi_type: spec.ipmi_type.clone(),
            };
            if inventory.bmcs.insert(name, bmc).is_some() {
                return Err(JobError::Invalid(format!("{what} is described twice")));
            }
        }
        for spec in &self.machines {
            let machine = machine_of(spec, &mut inventory)?;
            inventory.machines.push(machine);
        }
        inventory.validate()?;
        Ok(inventory)
    }
}

fn machine_of(spec: &MachineSpec, inventory: &mut Inventory) -> Result<Machine, JobError> {
    let host = spec.host.to_ascii_lowercase();
    let what = format!("jobs.machines {host:?}");
    let invalid = |text: &str| JobError::Invalid(format!("{what}: {text}"));
    if host.contains('.') {
        return Err(invalid("`host` is the short name; put the full name in `fqdn`"));
    }
    let mut machine = Machine::new(host.clone());
    machine.fqdn = spec.fqdn.as_ref().map(|f| f.to_ascii_lowercase());
    machine.worker_ids = spec
        .worker_ids
        .iter()
        .map(|id| validate_worker_id(id).map_err(|err| invalid(&err.to_string())))
        .collect::<Result<_, _>>()?;
    machine.worker_groups = spec.worker_groups.clone();
    if let Some(bmc) = &spec.bmc {
        let own = bmc.address.is_some() || bmc.user.is_some() || bmc.password.is_some() || bmc.password_ref.is_some();
        machine.bmc = Some(match (&bmc.parent, own) {
            (Some(parent), false) => {
                if bmc.ipmi_type.is_some() {
                    return Err(invalid("`bmc.type` belongs to the parent BMC"));
                }
                BmcLink { bmc: parent.to_ascii_lowercase(), addr: bmc.addr.clone() }
            }
            (None, true) => {
                let (Some(address), Some(user)) = (&bmc.address, &bmc.user) else {
                    return Err(invalid("a BMC of its own needs `address` and `user`"));
                };
                if bmc.addr.is_some() {
                    return Err(invalid("`bmc.addr` needs `bmc.parent`"));
                }
                let password = secret_of(&format!("{what} bmc"), bmc.password.clone(), bmc.password_ref.clone())?;
                let own_bmc =
                    Bmc { address: address.clone(), user: user.clone(), password, ipmi_type: bmc.ipmi_type.clone() };
                if inventory.bmcs.insert(host.clone(), own_bmc).is_some() {
                    return Err(invalid("its own BMC has the name of one in `jobs.bmcs`"));
                }
                BmcLink { bmc: host.clone(), addr: None }
            }
            (Some(_), true) => return Err(invalid("`bmc` has both `parent` and a BMC of its own")),
            (None, false) => return Err(invalid("`bmc` needs `parent`, or `address`, `user` and a password")),
        });
    }
    if let Some(pdu) = &spec.pdu {
        machine.pdu = Some(PduOutlet::parse(pdu).map_err(|err| invalid(&err))?);
    }
    machine.ssh = spec.ssh.clone();
    Ok(machine)
}

/// What the workers and the API go by, defaults filled in and checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobSettings {
    pub scope_prefix: String,
    pub reboot_order: Vec<TaskName>,
    pub verify: VerifySettings,
    pub snmp_delay: Duration,
    pub ipmi: IpmiSettings,
    pub max_attempts: u32,
    pub lease: Duration,
    pub soft_limit: Duration,
    pub hard_limit: Duration,
}

/// Roller's production Celery limits (`CELERY_TASK_SOFT_TIME_LIMIT` and
/// `CELERY_TASK_TIME_LIMIT`): a reboot chain of five methods, each waiting
/// up to six minutes to see the machine go down and come back, fits.
pub const DEFAULT_SOFT_LIMIT: Duration = Duration::from_secs(2000);
pub const DEFAULT_HARD_LIMIT: Duration = Duration::from_secs(3000);

impl Default for JobSettings {
    fn default() -> Self {
        JobSettings {
            scope_prefix: DEFAULT_SCOPE_PREFIX.to_owned(),
            reboot_order: DEFAULT_ORDER.to_vec(),
            verify: VerifySettings::default(),
            snmp_delay: DEFAULT_SNMP_DELAY,
            ipmi: IpmiSettings::default(),
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            lease: DEFAULT_LEASE,
            soft_limit: DEFAULT_SOFT_LIMIT,
            hard_limit: DEFAULT_HARD_LIMIT,
        }
    }
}

impl JobsConfig {
    /// The settings this table gives, over the defaults.
    pub fn settings(&self) -> Result<JobSettings, JobError> {
        let defaults = JobSettings::default();
        let positive = |key: &str, value: Option<u64>, default: Duration| match value {
            Some(0) => Err(JobError::Invalid(format!("jobs.{key} must be at least 1"))),
            Some(secs) => Ok(Duration::from_secs(secs)),
            None => Ok(default),
        };
        let verify = VerifySettings {
            down_timeout: positive("down_timeout_secs", self.down_timeout_secs, defaults.verify.down_timeout)?,
            up_timeout: positive("up_timeout_secs", self.up_timeout_secs, defaults.verify.up_timeout)?,
            ..defaults.verify
        };
        let in_key = |key: &str, err: JobError| JobError::Invalid(format!("jobs.{key}: {err}"));
        let mut ipmi = IpmiSettings::default();
        if let Some(interface) = &self.ipmi_interface {
            ipmi.interface = IpmiInterface::parse(interface).map_err(|err| in_key("ipmi_interface", err))?;
        }
        if let Some(privilege) = &self.ipmi_privilege {
            ipmi.privilege = IpmiPrivilege::parse(privilege).map_err(|err| in_key("ipmi_privilege", err))?;
        }
        if let Some(port) = self.ipmi_port {
            if port == 0 {
                return Err(JobError::Invalid("jobs.ipmi_port must be at least 1".to_owned()));
            }
            ipmi.port = port;
        }
        let reboot_order = match &self.reboot_order {
            Some(names) => parse_order(names).map_err(|err| in_key("reboot_order", err))?,
            None => defaults.reboot_order,
        };
        let max_attempts = match self.max_attempts {
            Some(0) => return Err(JobError::Invalid("jobs.max_attempts must be at least 1".to_owned())),
            Some(n) => n,
            None => defaults.max_attempts,
        };
        let soft_limit = positive("soft_limit_secs", self.soft_limit_secs, defaults.soft_limit)?;
        let hard_limit = positive("hard_limit_secs", self.hard_limit_secs, defaults.hard_limit)?;
        if hard_limit < soft_limit {
            return Err(JobError::Invalid("jobs.hard_limit_secs must be at least jobs.soft_limit_secs".to_owned()));
        }
        Ok(JobSettings {
            scope_prefix: self.scope_prefix.clone().unwrap_or(defaults.scope_prefix),
            reboot_order,
            verify,
            // Zero is allowed: an outlet switched straight back on.
            snmp_delay: self.snmp_delay_secs.map_or(defaults.snmp_delay, Duration::from_secs),
            ipmi,
            max_attempts,
            lease: positive("lease_secs", self.lease_secs, defaults.lease)?,
            soft_limit,
            hard_limit,
        })
    }
}

#[cfg(test)]
mod tests;
