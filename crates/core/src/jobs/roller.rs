//! Roller's `WORKER_CONFIG` JSON (reference §A.2) as an import.
//!
//! Read: `types` (chassis types: extra `ipmitool` arguments, bridging
//! arguments per node address, command words), `servers` (BMCs with
//! `user`/`password`/`type`; machines with `parent`+`addr`, `pdu`, `ssh`,
//! `fqdn`) and `snmp_community_string`.
//!
//! - An entry holding only `user`, `password` and `type` is a chassis BMC,
//!   not a machine: roller's file keys chassis by their management names,
//!   which no worker answers to. An entry with credentials and machine keys
//!   is a machine with a BMC of its own at its key.
//! - Keys that differ only in case (roller repeated Windows hosts in upper
//!   case because its lookups were exact) collapse into one when their
//!   contents agree, and are an error when they do not.
//! - `bug_cc`, `xen` and `ilo` are ignored with a note (no Bugzilla, XenAPI
//!   or iLO steps here), as is any other key; the notes are for the
//!   operator to read after an import.
//! - Roller's default SSH account (`-l roller -i ssh.key`) becomes the
//!   inventory's default, so machines behave as they did.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::JobError;
use super::inventory::{Bmc, BmcLink, Inventory, Machine, PduOutlet, SecretRef, SshAccess};
use crate::config::Secret;

/// The SSH account roller used when a server entry had none (`-l roller -i ssh.key`).
pub const ROLLER_SSH_USER: &str = "roller";
pub const ROLLER_SSH_KEY: &str = "ssh.key";

/// Reads roller's `WORKER_CONFIG` JSON.
pub fn import_worker_config(text: &str) -> Result<Inventory, JobError> {
    let invalid = |text: String| JobError::Invalid(format!("WORKER_CONFIG: {text}"));
    let root: Value = serde_json::from_str(text).map_err(|err| invalid(err.to_string()))?;
    let root = root.as_object().ok_or_else(|| invalid("must be a JSON object".to_owned()))?;
    let mut inventory = Inventory {
        default_ssh: Some(SshAccess { user: ROLLER_SSH_USER.to_owned(), key_file: ROLLER_SSH_KEY.into() }),
        ..Inventory::default()
    };
    for (key, value) in root {
        match key.as_str() {
            "snmp_community_string" => {
                let community = value.as_str().ok_or_else(|| invalid(format!("`{key}` must be a string")))?;
                inventory.snmp_community = Some(SecretRef::Value(Secret::new(community)));
            }
            "types" => {
                inventory.types =
                    serde_json::from_value(value.clone()).map_err(|err| invalid(format!("`types`: {err}")))?;
            }
            "servers" => {}
            _ => inventory.notes.push(format!("key `{key}` ignored")),
        }
    }
    let servers = match root.get("servers") {
        Some(Value::Object(servers)) => servers,
        Some(_) => return Err(invalid("`servers` must be an object".to_owned())),
        None => return Err(invalid("`servers` is missing".to_owned())),
    };
    // Sorted here, not by the map, so the outcome does not depend on
    // whether serde_json keeps the file's order (a feature another crate
    // may turn on).
    let mut entries: Vec<(&String, &Value)> = servers.iter().collect();
    entries.sort_by_key(|(key, _)| *key);
    let mut seen: BTreeMap<String, (&String, &Value)> = BTreeMap::new();
    for (key, value) in entries {
        let name = key.to_ascii_lowercase();
        if let Some((first, first_value)) = seen.get(&name) {
            if *first_value == value {
                inventory.notes.push(format!("servers.{key}: same as `{first}`, kept once"));
                continue;
            }
            return Err(invalid(format!("servers `{first}` and `{key}` name the same host but differ")));
        }
        seen.insert(name.clone(), (key, value));
        let entry = value.as_object().ok_or_else(|| invalid(format!("servers.{key} must be an object")))?;
        import_server(&mut inventory, &name, entry).map_err(|err| invalid(format!("servers.{key}: {err}")))?;
    }
    inventory.machines.sort_by(|a, b| a.name().cmp(b.name()));
    inventory.notes.sort();
    inventory.validate().map_err(|err| invalid(err.to_string()))?;
    Ok(inventory)
}

const MACHINE_KEYS: [&str; 8] = ["parent", "addr", "pdu", "ssh", "fqdn", "bug_cc", "ilo", "xen"];

fn import_server(inventory: &mut Inventory, name: &str, entry: &Map<String, Value>) -> Result<(), String> {
    let text = |field: &str| -> Result<Option<String>, String> {
        match entry.get(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(format!("`{field}` must be a string")),
        }
    };
    let user = text("user")?;
    let password = text("password")?;
    let ipmi_type = text("type")?;
    let has_bmc = user.is_some() || password.is_some();
    for key in entry.keys() {
        let note = match key.as_str() {
            "user" | "password" | "type" | "parent" | "addr" | "pdu" | "ssh" | "fqdn" => continue,
            "bug_cc" => "no Bugzilla step",
            "xen" => "no XenAPI reboots",
            "ilo" => "no iLO reboots",
            _ => "unknown key",
        };
        inventory.notes.push(format!("servers.{name}: `{key}` ignored ({note})"));
    }
    if has_bmc {
        let (Some(user), Some(password)) = (user, password) else {
            return Err("`user` and `password` go together".to_owned());
        };
        let bmc = Bmc { address: name.to_owned(), user, password: SecretRef::Value(Secret::new(password)), ipmi_type };
        inventory.bmcs.insert(name.to_owned(), bmc);
        if !entry.keys().any(|k| MACHINE_KEYS.contains(&k.as_str())) {
            return Ok(());
        }
    } else if ipmi_type.is_some() {
        return Err("`type` without `user` and `password`".to_owned());
    }
    let host = name.split('.').next().unwrap_or(name).to_owned();
    let mut machine = Machine::new(host);
    machine.fqdn =
        text("fqdn")?.map(|f| f.to_ascii_lowercase()).or_else(|| name.contains('.').then(|| name.to_owned()));
    if has_bmc {
        machine.bmc = Some(BmcLink { bmc: name.to_owned(), addr: None });
    }
    match (text("parent")?, text("addr")?) {
        (Some(parent), addr) => {
            if has_bmc {
                return Err("both a BMC of its own and a `parent`".to_owned());
            }
            machine.bmc = Some(BmcLink { bmc: parent.to_ascii_lowercase(), addr });
        }
        (None, Some(_)) => return Err("`addr` without `parent`".to_owned()),
        (None, None) => {}
    }
    if let Some(pdu) = text("pdu")? {
        machine.pdu = Some(PduOutlet::parse(&pdu)?);
    }
    if let Some(ssh) = entry.get("ssh") {
        let ssh = ssh.as_object().ok_or("`ssh` must be an object")?;
        let field = |key: &str, default: &str| match ssh.get(key) {
            None => Ok(default.to_owned()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(format!("`ssh.{key}` must be a string")),
        };
        machine.ssh = Some(SshAccess {
            user: field("user", ROLLER_SSH_USER)?,
            key_file: field("key_file", ROLLER_SSH_KEY)?.into(),
        });
    }
    inventory.machines.push(machine);
    Ok(())
}

/// The production shape of §A.2, with a Windows host repeated in upper
/// case: the tests of every module start from it.
#[cfg(test)]
pub(crate) const SAMPLE: &str = r#"{
  "snmp_community_string": "s3cret-community",
  "types": {
    "moonshot": {
      "args": ["-B 0", "-b 7"],
      "map": {"c1n1": ["-T 0x82", "-t 0x72"], "c2n1": ["-T 0x84", "-t 0x72"]},
      "commands": {
        "ipmi_list":   ["sel", "list", "last", "15"],
        "ipmi_status": ["chassis", "power", "status"],
        "ipmi_reset":  ["chassis", "power", "reset"],
        "ipmi_cycle":  ["chassis", "power", "cycle"],
        "ipmi_off":    ["chassis", "power", "off"],
        "ipmi_on":     ["chassis", "power", "on"]
      }
    }
  },
  "servers": {
    "moon-chassis-1.inband.releng.mdc1.mozilla.com": {"user": "admin", "password": "bmc-pw", "type": "moonshot"},
    "t-linux64-ms-001": {"bug_cc": "ops@example.com", "fqdn": "t-linux64-ms-001.test.releng.mdc1.mozilla.com",
                         "parent": "moon-chassis-1.inband.releng.mdc1.mozilla.com", "addr": "c1n1"},
    "t-yosemite-r7-001": {"fqdn": "t-yosemite-r7-001.test.releng.mdc2.mozilla.com", "bug_cc": "ops@example.com",
                          "pdu": "pdu1.gc134.ops.releng.mdc2.mozilla.com:aa6"},
    "t-w1064-ms-459": {"fqdn": "t-w1064-ms-459.wintest.releng.mdc1.mozilla.com",
                       "parent": "moon-chassis-1.inband.releng.mdc1.mozilla.com", "addr": "c2n1",
                       "ssh": {"user": "administrator", "key_file": "/keys/win.key"}},
    "T-W1064-MS-459": {"fqdn": "t-w1064-ms-459.wintest.releng.mdc1.mozilla.com",
                       "parent": "moon-chassis-1.inband.releng.mdc1.mozilla.com", "addr": "c2n1",
                       "ssh": {"user": "administrator", "key_file": "/keys/win.key"}},
    "t-xen-1": {"xen": {"reboot": ["uuid"]}, "ilo": ["ilo-host", "-x"]}
  }
}"#;

#[cfg(test)]
mod tests;
