//! OpenIPMI's `ipmi_sim` as a machine's BMC, on a free UDP port of 127.0.0.1.
//!
//! Power commands go to its `chassis_control` program (see `power.rs`),
//! which is how they reach the test machine: `chassis power off|on` run it
//! with `set power 0|1`, `reset` with `set reset 1`, `cycle` with `set
//! power 0` and a second later `set power 1`, and `status` with `get power`.

use std::fs::{self, File};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use libtest_mimic::Failed;

use super::{free_udp_port, wait_for_udp};

#[derive(Debug)]
pub struct Bmc {
    pub port: u16,
    child: Child,
}

impl Bmc {
    /// Starts a BMC in `dir` with one administrator, `user`/`password`.
    pub fn start(dir: &Path, user: &str, password: &str, chassis_control: &Path) -> Result<Bmc, Failed> {
        fs::create_dir_all(dir.join("state"))?;
        let port = free_udp_port();
        let config = format!(
            r#"name "fleetroll-test-bmc"
set_working_mc 0x20
  startlan 1
    addr 127.0.0.1 {port}
    priv_limit admin
    allowed_auths_callback none md2 md5 straight
    allowed_auths_user none md2 md5 straight
    allowed_auths_operator none md2 md5 straight
    allowed_auths_admin none md2 md5 straight
    guid a123456789abcdefa123456789abcdef
  endlan
  chassis_control "{chassis}"
  user 2 true "{user}" "{password}" admin 10 none md2 md5 straight
"#,
            chassis = chassis_control.display(),
        );
        fs::write(dir.join("lan.conf"), config)?;
        // One BMC at IPMB 0x20 with a SEL, as OpenIPMI's own sample sets up.
        fs::write(
            dir.join("bmc.emu"),
            "mc_setbmc 0x20\nmc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr\n\
             sel_enable 0x20 1000 0x0a\nmc_enable 0x20\n",
        )?;
        let log_path = dir.join("ipmi_sim.log");
        let log = File::create(&log_path)?;
        let child = Command::new("ipmi_sim")
            .arg("-c")
            .arg(dir.join("lan.conf"))
            .arg("-f")
            .arg(dir.join("bmc.emu"))
            .arg("-s")
            .arg(dir.join("state"))
            // No console on stdin (without it ipmi_sim wants a terminal).
            .arg("-n")
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .map_err(|err| format!("cannot start ipmi_sim: {err}"))?;
        let mut bmc = Bmc { port, child };
        if let Err(err) = wait_for_udp(port, "ipmi_sim", &log_path) {
            if let Ok(Some(status)) = bmc.child.try_wait() {
                return Err(format!("ipmi_sim exited ({status}): {err}").into());
            }
            return Err(err.into());
        }
        Ok(bmc)
    }
}

impl Drop for Bmc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
