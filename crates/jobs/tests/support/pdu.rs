//! Net-SNMP's `snmpd` as a Sentry3 PDU, on a free UDP port of 127.0.0.1.
//!
//! A `pass` script serves the outlet control subtree
//! (`1.3.6.1.4.1.1718.3.2.3.1.11`) and records every set, with its time,
//! OID and value, in `sets`. The outlets are wired to nothing: a set is
//! accepted and the machine behind it keeps running.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use libtest_mimic::Failed;

use super::{free_udp_port, wait_for_udp, write_script};

#[derive(Debug)]
pub struct Pdu {
    pub port: u16,
    sets: PathBuf,
    child: Child,
}

/// One set the PDU received.
#[derive(Clone, Debug, PartialEq)]
pub struct Set {
    /// Seconds since the epoch, when the pass script ran.
    pub at: f64,
    pub oid: String,
    pub value: String,
}

impl Pdu {
    /// Starts a PDU in `dir` that accepts sets with `community`.
    pub fn start(dir: &Path, community: &str) -> Result<Pdu, Failed> {
        fs::create_dir_all(dir.join("persist"))?;
        let sets = dir.join("sets");
        fs::write(&sets, "")?;
        let script = dir.join("outlets.sh");
        write_script(
            &script,
            &format!(
                r#"#!/bin/sh
# snmpd pass protocol: -g OID (get), -n OID (next), -s OID TYPE VALUE (set)
case "$1" in
-s) echo "$(date +%s.%N) $2 $4" >> '{sets}' ;;
-g) echo "$2"; echo integer; echo 1 ;;
esac
"#,
                sets = sets.display()
            ),
        );
        fs::write(
            dir.join("snmpd.conf"),
            format!("rwcommunity {community} 127.0.0.1\npass .1.3.6.1.4.1.1718.3.2.3.1.11 {}\n", script.display()),
        )?;
        let port = free_udp_port();
        let log_path = dir.join("snmpd.log");
        let log = File::create(&log_path)?;
        let child = Command::new(super::find_program("snmpd").ok_or("snmpd not found")?)
            // Foreground, log to stdout, only our config, no MIBs to load.
            .args(["-f", "-Lo", "-C", "-m", "", "-c"])
            .arg(dir.join("snmpd.conf"))
            .arg("-p")
            .arg(dir.join("snmpd.pid"))
            .arg(format!("udp:127.0.0.1:{port}"))
            // Its persistent state goes here instead of /var/lib/snmp.
            .env("SNMP_PERSISTENT_DIR", dir.join("persist"))
            .env("MIBS", "")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .map_err(|err| format!("cannot start snmpd: {err}"))?;
        let pdu = Pdu { port, sets, child };
        wait_for_udp(port, "snmpd", &log_path)?;
        Ok(pdu)
    }

    pub fn sets(&self) -> Vec<Set> {
        fs::read_to_string(&self.sets)
            .unwrap_or_default()
            .lines()
            .filter_map(|line| {
                let mut words = line.split_whitespace();
                let at = words.next()?.parse().ok()?;
                Some(Set { at, oid: words.next()?.to_owned(), value: words.next()?.to_owned() })
            })
            .collect()
    }
}

impl Drop for Pdu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
