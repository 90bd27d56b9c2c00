//! What the action tests run against: `ipmi_sim` as a BMC, `snmpd` as a
//! Sentry3 PDU, sshd test hosts (crates/testhosts) behind a power switch,
//! and the system's `ping`, `ipmitool`, `snmpset` and `ssh`.
//!
//! A case names the programs it needs; where one is missing it is reported
//! as ignored with the reason, or fails with `FLEETROLL_REQUIRE_SERVICES=1`.

pub mod bmc;
pub mod pdu;
pub mod power;

use std::fs;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use libtest_mimic::{Arguments, Failed, Trial};

/// Something a case needs from the machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    Ping,
    IpmiSim,
    Ipmitool,
    Snmpd,
    Snmpset,
    /// sshd test hosts: root, sshd, ssh, unshare, overlayfs.
    TestHosts,
}

impl Need {
    fn check(self) -> Result<(), String> {
        let program = match self {
            Need::Ping => "ping",
            Need::IpmiSim => "ipmi_sim",
            Need::Ipmitool => "ipmitool",
            Need::Snmpd => "snmpd",
            Need::Snmpset => "snmpset",
            Need::TestHosts => return fleetroll_testhosts::available().map_err(|why| format!("test hosts: {why}")),
        };
        find_program(program).map(|_| ()).ok_or_else(|| format!("{program} not found (in PATH or sbin)"))
    }
}

pub type Case = fn() -> Result<(), Failed>;

/// Runs the cases as this binary's trials and exits.
pub fn run_cases(cases: &[(&'static str, &'static [Need], Case)]) -> ! {
    let args = Arguments::from_args();
    let required = std::env::var("FLEETROLL_REQUIRE_SERVICES").is_ok_and(|v| v == "1");
    let trials = cases
        .iter()
        .map(|&(name, needs, case)| {
            let missing: Vec<String> = needs.iter().filter_map(|need| need.check().err()).collect();
            let why = (!missing.is_empty()).then(|| missing.join("; "));
            if let Some(why) = &why {
                let outcome = if required { "fails (FLEETROLL_REQUIRE_SERVICES=1)" } else { "is reported as ignored" };
                eprintln!("{name} {outcome}: {why}");
            }
            let skip = why.is_some() && !required;
            Trial::test(name, move || match why {
                Some(why) => Err(format!("missing: {why}").into()),
                None => case(),
            })
            .with_ignored_flag(skip)
        })
        .collect();
    libtest_mimic::run(&args, trials).exit()
}

pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let fallback = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];
    std::env::split_paths(&path)
        .chain(fallback.iter().map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| fs::metadata(candidate).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime")
}

pub fn write_script(path: &Path, body: &str) {
    fs::write(path, body).expect("write script");
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).expect("chmod script");
}

/// A UDP port free on 127.0.0.1 a moment ago, for a daemon to bind.
pub fn free_udp_port() -> u16 {
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind UDP");
    socket.local_addr().expect("UDP address").port()
}

/// Waits until something is bound to UDP `127.0.0.1:port`, read from
/// /proc/net/udp (probing would need the daemon's protocol).
pub fn wait_for_udp(port: u16, what: &str, log: &Path) -> Result<(), String> {
    let wanted = format!("0100007F:{port:04X}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let table = fs::read_to_string("/proc/net/udp").unwrap_or_default();
        if table.lines().skip(1).any(|line| line.split_whitespace().nth(1) == Some(&wanted)) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let log = fs::read_to_string(log).unwrap_or_default();
    Err(format!("{what} did not bind UDP 127.0.0.1:{port} within 10 s; its output: {log}"))
}

/// A log line without its leading timestamp: `<method> <outcome> <detail>`.
pub fn untimed(line: &str) -> &str {
    line.split_once(' ').map_or(line, |(_, rest)| rest)
}

/// The `<method> <outcome>` of each log line, for asserting their order.
pub fn steps(log: &[String]) -> Vec<String> {
    log.iter().map(|line| untimed(line).split(' ').take(2).collect::<Vec<_>>().join(" ")).collect()
}

/// Host name, address and client key of a fleet's one host, from the
/// ssh_config fleetroll-testhosts generates.
pub fn fleet_host(fleet: &fleetroll_testhosts::Fleet) -> (SocketAddr, PathBuf) {
    let config = fs::read_to_string(fleet.ssh_config()).expect("ssh_config");
    let value = |key: &str| {
        config
            .lines()
            .find_map(|line| line.trim().strip_prefix(key).map(str::trim).map(str::to_owned))
            .unwrap_or_else(|| panic!("no {key} in the fleet's ssh_config"))
    };
    let addr: Ipv4Addr = value("HostName ").parse().expect("HostName is an address");
    let port: u16 = value("Port ").parse().expect("Port is a number");
    (SocketAddr::from((addr, port)), PathBuf::from(value("IdentityFile ")))
}

/// Polls `check` until it holds or `limit` passes.
pub fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if check() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
