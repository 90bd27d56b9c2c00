//! Hardware job actions against real processes: `ipmi_sim` as the BMC,
//! `snmpd` as the PDU, sshd test hosts as the machines, and the system's
//! `ipmitool`, `snmpset`, `ssh` and `ping` as the tools.
//!
//! A case whose programs are missing is reported as ignored, with the
//! reason; with FLEETROLL_REQUIRE_SERVICES=1 it fails instead.

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fleetroll_core::config::Secret;
use fleetroll_core::jobs::commands::{IpmiInterface, IpmiPrivilege, IpmiSettings};
use fleetroll_core::jobs::inventory::{
    Bmc as BmcEntry, BmcLink, ChassisType, Inventory, Machine, PduOutlet, SecretRef, SshAccess,
};
use fleetroll_core::jobs::reboot::VerifySettings;
use fleetroll_core::jobs::settings::JobSettings;
use fleetroll_core::jobs::{JobError, TaskName};
use fleetroll_jobs::{ActionError, ActionOutcome, Probe, Timeouts, Tools, run_action};
use fleetroll_remote::ssh::SshSettings;
use fleetroll_testhosts::{Behaviour, Fleet, HostFile, HostSpec};
use libtest_mimic::Failed;
use support::Need::{IpmiSim, Ipmitool, Ping, Snmpd, Snmpset, TestHosts};
use support::bmc::Bmc;
use support::pdu::Pdu;
use support::power::PowerSwitch;
use support::{eventually, fleet_host, runtime, steps, untimed, write_script};

fn main() {
    support::run_cases(&[
        ("ipmi_power_follows_each_command", &[IpmiSim, Ipmitool, Ping], ipmi_power_follows_each_command),
        ("ipmi_wrong_password_fails_without_showing_it", &[IpmiSim, Ipmitool], ipmi_wrong_password),
        ("snmp_reboot_and_rebootdelay_set_the_outlet", &[Snmpd, Snmpset], snmp_sets_the_outlet),
        ("ping_reports_the_summary", &[Ping], ping_reports_the_summary),
        ("hung_tools_are_killed_at_their_timeout", &[], hung_tools_are_killed),
        ("tasks_refused_before_anything_runs", &[], tasks_refused_before_anything_runs),
        ("ssh_reboot_is_verified_down_then_up", &[TestHosts], ssh_reboot_is_verified),
        ("reboot_chain_falls_through_ssh_and_pdu_to_ipmi", &[TestHosts, IpmiSim, Ipmitool, Snmpd, Snmpset], chain),
    ]);
}

const PASSWORD: &str = "bmc-pass-4711";
const COMMUNITY: &str = "pdu-community-0815";
/// Where the test hosts keep the commands this file gives them.
const HOST_BIN: &str = "/opt/fleetroll-test/bin";

/// The results of one action: how it ended and its log.
struct Run {
    result: Result<ActionOutcome, ActionError>,
    log: Vec<String>,
}

impl Run {
    fn ok(&self) -> Result<&ActionOutcome, Failed> {
        self.result.as_ref().map_err(|err| format!("expected success, got {err}; log:\n{}", self.log.join("\n")).into())
    }

    fn failure(&self) -> Result<String, Failed> {
        match &self.result {
            Ok(outcome) => Err(format!("expected a failure, got {outcome:?}; log:\n{}", self.log.join("\n")).into()),
            Err(err) => Ok(err.to_string()),
        }
    }
}

fn run(task: TaskName, machine: &Machine, inventory: &Inventory, settings: &JobSettings, tools: &Tools) -> Run {
    let mut log = Vec::new();
    let result =
        runtime().block_on(run_action(task, machine, inventory, settings, tools, &mut |line: String| log.push(line)));
    Run { result, log }
}

fn machine(host: &str) -> Machine {
    Machine {
        host: host.to_owned(),
        // Tools and probes go to the address; a test machine's is loopback.
        fqdn: Some("127.0.0.1".to_owned()),
        worker_ids: Vec::new(),
        worker_groups: Vec::new(),
        bmc: None,
        pdu: None,
        ssh: None,
    }
}

fn secret_file(dir: &Path, name: &str, value: &str) -> SecretRef {
    let path = dir.join(name);
    fs::write(&path, format!("{value}\n")).expect("secret file");
    SecretRef::File(path)
}

/// Adds a BMC at 127.0.0.1 to `inventory` and links `machine` to it.
/// Its chassis type picks cipher suite 3: without `-C`, ipmitool first
/// asks for the suites, which ipmi_sim does not answer, and every call
/// waits 10 s for that to time out.
fn add_bmc(inventory: &mut Inventory, machine: &mut Machine, password: SecretRef) {
    let args = vec!["-C 3".to_owned()];
    inventory.types.insert("sim".to_owned(), ChassisType { args, ..ChassisType::default() });
    let entry = BmcEntry {
        address: "127.0.0.1".to_owned(),
        user: "admin".to_owned(),
        password,
        ipmi_type: Some("sim".to_owned()),
    };
    inventory.bmcs.insert("bmc-1".to_owned(), entry);
    machine.bmc = Some(BmcLink { bmc: "bmc-1".to_owned(), addr: None });
}

fn ipmi_settings(port: u16, interface: IpmiInterface) -> IpmiSettings {
    IpmiSettings { program: "ipmitool".to_owned(), interface, privilege: IpmiPrivilege::Operator, port }
}

/// Verification quick enough for tests: 3 s to go down, 10 s to come back.
fn quick_verify() -> VerifySettings {
    VerifySettings {
        down_timeout: Duration::from_secs(3),
        up_timeout: Duration::from_secs(10),
        down_interval: Duration::from_millis(200),
        up_interval: Duration::from_millis(200),
    }
}

fn ensure(condition: bool, what: impl FnOnce() -> String) -> Result<(), Failed> {
    if condition { Ok(()) } else { Err(what().into()) }
}

fn no_secret_in(log: &[String], secret: &str) -> Result<(), Failed> {
    ensure(log.iter().all(|line| !line.contains(secret)), || {
        format!("{secret:?} shows in the log:\n{}", log.join("\n"))
    })
}

// ---------------------------------------------------------------------------
// IPMI

fn ipmi_power_follows_each_command() -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let power = PowerSwitch::start(&dir.path().join("machine"), None);
    let bmc = Bmc::start(&dir.path().join("bmc"), "admin", PASSWORD, &power.chassis_script())?;
    let mut inventory = Inventory::default();
    let mut host = machine("t-linux64-ms-001");
    add_bmc(&mut inventory, &mut host, secret_file(dir.path(), "bmc-password", PASSWORD));
    inventory.machines.push(host.clone());
    inventory.validate()?;
    let mut settings = JobSettings { ipmi: ipmi_settings(bmc.port, IpmiInterface::Lanplus), ..JobSettings::default() };
    let tools = Tools::default();
    let status = |settings: &JobSettings| -> Result<String, Failed> {
        Ok(run(TaskName::IpmiStatus, &host, &inventory, settings, &tools).ok()?.detail.clone())
    };
    let mut log = Vec::new();
    let mut act = |task: TaskName, settings: &JobSettings| -> Result<(), Failed> {
        let run = run(task, &host, &inventory, settings, &tools);
        run.ok()?;
        log.extend(run.log);
        Ok(())
    };

    ensure(status(&settings)? == "power is on", || "a machine starts powered on".into())?;
    act(TaskName::IpmiOff, &settings)?;
    ensure(status(&settings)? == "power is off", || "ipmi_off switched it off".into())?;
    let off = || power.events() == ["down (power off)"];
    ensure(eventually(Duration::from_secs(5), off), || format!("events: {:?}", power.events()))?;
    act(TaskName::IpmiOn, &settings)?;
    ensure(status(&settings)? == "power is on", || "ipmi_on switched it on".into())?;
    ensure(eventually(Duration::from_secs(5), || power.events().last().is_some_and(|e| e == "up")), || {
        format!("the machine did not boot after ipmi_on: {:?}", power.events())
    })?;

    act(TaskName::IpmiCycle, &settings)?;
    // ipmi_sim cycles as off, then on a second later.
    let cycled = || {
        let calls = power.chassis_calls();
        let off = calls.iter().rposition(|c| c == "set power 0");
        let on = calls.iter().rposition(|c| c == "set power 1");
        matches!((off, on), (Some(off), Some(on)) if on > off)
    };
    ensure(eventually(Duration::from_secs(5), cycled), || format!("calls: {:?}", power.chassis_calls()))?;
    ensure(status(&settings)? == "power is on", || "on again after the cycle".into())?;
    let booted = || power.events().len() == 4 && power.events().last().is_some_and(|e| e == "up");
    ensure(eventually(Duration::from_secs(5), booted), || format!("events: {:?}", power.events()))?;

    act(TaskName::IpmiReset, &settings)?;
    ensure(power.chassis_calls().iter().any(|c| c == "set reset 1"), || format!("calls: {:?}", power.chassis_calls()))?;
    ensure(eventually(Duration::from_secs(5), || power.events().iter().any(|e| e == "down (reset)")), || {
        format!("the reset did not reach the machine: {:?}", power.events())
    })?;

    act(TaskName::IpmiList, &settings)?;

    // IPMI 1.5 sessions too, as old BMCs speak.
    settings.ipmi.interface = IpmiInterface::Lan;
    ensure(status(&settings)? == "power is on", || "status over lan".into())?;

    ensure(log.iter().any(|line| line.contains("-U admin -E -C 3 chassis power off")), || log.join("\n"))?;
    ensure(log.iter().any(|line| line.contains(" ipmi_cycle ok ")), || log.join("\n"))?;
    no_secret_in(&log, PASSWORD)?;

    // The gap roller had: judged by ICMP, a machine on a loopback address
    // never goes down, however real its reset.
    settings.reboot_order = vec![TaskName::IpmiReset];
    settings.verify = VerifySettings { down_timeout: Duration::from_secs(1), ..quick_verify() };
    let icmp = Tools { probe: Probe::Icmp, ..Tools::default() };
    let reboot = run(TaskName::Reboot, &host, &inventory, &settings, &icmp);
    let reason = reboot.failure()?;
    ensure(reason == "every reboot method failed: ipmi_reset not_down", || reason.clone())?;
    let last = reboot.log.last().map(|line| untimed(line)).unwrap_or_default();
    ensure(last == "ipmi_reset not_down still answered ping after 1s", || reboot.log.join("\n"))?;
    Ok(())
}

fn ipmi_wrong_password() -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let power = PowerSwitch::start(&dir.path().join("machine"), None);
    let bmc = Bmc::start(&dir.path().join("bmc"), "admin", PASSWORD, &power.chassis_script())?;
    let wrong = "wrong-pass-9913";
    let mut inventory = Inventory::default();
    let mut host = machine("t-linux64-ms-002");
    add_bmc(&mut inventory, &mut host, SecretRef::Value(Secret::new(wrong)));
    let settings = JobSettings { ipmi: ipmi_settings(bmc.port, IpmiInterface::Lanplus), ..JobSettings::default() };
    let run = run(TaskName::IpmiOff, &host, &inventory, &settings, &Tools::default());
    let reason = run.failure()?;
    ensure(
        reason.starts_with("ipmitool exit 1: ") && reason.contains("Unable to establish IPMI v2 / RMCP+ session"),
        || reason.clone(),
    )?;
    ensure(!reason.contains(wrong), || format!("the password shows in {reason:?}"))?;
    no_secret_in(&run.log, wrong)?;
    let line = run.log.first().map(|line| untimed(line)).unwrap_or_default();
    ensure(line.starts_with("ipmi_off failed ipmitool -I lanplus -L OPERATOR") && line.contains(" -E "), || {
        run.log.join("\n")
    })?;
    ensure(power.chassis_calls().is_empty(), || format!("the BMC acted: {:?}", power.chassis_calls()))?;
    Ok(())
}

// ---------------------------------------------------------------------------
// PDU

fn snmp_sets_the_outlet() -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let pdu = Pdu::start(&dir.path().join("pdu"), COMMUNITY)?;
    let mut inventory =
        Inventory { snmp_community: Some(secret_file(dir.path(), "community", COMMUNITY)), ..Inventory::default() };
    let mut host = machine("t-linux64-ms-003");
    host.pdu = Some(PduOutlet::parse(&format!("127.0.0.1:{}:aa6", pdu.port))?);
    inventory.machines.push(host.clone());
    let settings = JobSettings { snmp_delay: Duration::from_secs(1), ..JobSettings::default() };
    let tools = Tools::default();
    let oid = ".1.3.6.1.4.1.1718.3.2.3.1.11.1.1.6";

    let reboot = run(TaskName::SnmpReboot, &host, &inventory, &settings, &tools);
    ensure(reboot.ok()?.detail == format!("outlet aa6 at 127.0.0.1:{}: reboot", pdu.port), || {
        format!("{:?}", reboot.result)
    })?;
    let sets: Vec<(String, String)> = pdu.sets().into_iter().map(|s| (s.oid, s.value)).collect();
    ensure(sets == [(oid.to_owned(), "3".to_owned())], || format!("sets: {sets:?}"))?;
    let line = untimed(&reboot.log[0]);
    let expected = format!("snmp_reboot ok snmpset -v 2c 127.0.0.1:{} {} i 3: exit 0", pdu.port, &oid[1..]);
    ensure(line.starts_with(&expected), || format!("{line}\nwanted {expected}"))?;

    let delayed = run(TaskName::SnmpRebootdelay, &host, &inventory, &settings, &tools);
    delayed.ok()?;
    let sets = pdu.sets();
    let values: Vec<&str> = sets.iter().map(|s| s.value.as_str()).collect();
    ensure(values == ["3", "2", "1"] && sets.iter().all(|s| s.oid == oid), || format!("sets: {sets:?}"))?;
    let pause = sets[2].at - sets[1].at;
    ensure(pause >= 1.0, || format!("on came {pause:.3} s after off, not after the 1 s delay"))?;
    ensure(steps(&delayed.log) == ["snmp_rebootdelay ok", "snmp_rebootdelay wait", "snmp_rebootdelay ok"], || {
        delayed.log.join("\n")
    })?;
    no_secret_in(&delayed.log, COMMUNITY)?;

    // snmpd does not answer a community it does not know.
    let wrong = "not-the-community";
    inventory.snmp_community = Some(SecretRef::Value(Secret::new(wrong)));
    let refused = run(TaskName::SnmpReboot, &host, &inventory, &settings, &tools);
    let reason = refused.failure()?;
    ensure(reason.contains("snmpset reboot to 127.0.0.1:") && reason.contains("Timeout"), || reason.clone())?;
    ensure(!reason.contains(wrong), || reason.clone())?;
    no_secret_in(&refused.log, wrong)?;
    ensure(pdu.sets().len() == 3, || "a set with the wrong community was applied".into())?;

    // One that cannot be a word of snmp.conf is refused before anything is sent.
    inventory.snmp_community = Some(SecretRef::Value(Secret::new("two words")));
    let unsent = run(TaskName::SnmpRebootdelay, &host, &inventory, &settings, &tools);
    let reason = unsent.failure()?;
    ensure(reason.contains("SNMP community must be printable ASCII"), || reason.clone())?;
    ensure(unsent.log.iter().all(|line| !line.contains("snmpset")), || unsent.log.join("\n"))?;
    ensure(pdu.sets().len() == 3, || "a set was sent with a refused community".into())?;
    Ok(())
}

// ---------------------------------------------------------------------------
// ping, timeouts, refusals

fn ping_reports_the_summary() -> Result<(), Failed> {
    let host = machine("t-linux64-ms-004");
    let run = run(TaskName::Ping, &host, &Inventory::default(), &JobSettings::default(), &Tools::default());
    let detail = &run.ok()?.detail;
    ensure(
        detail.starts_with("4 packets transmitted, 4 received, 0% packet loss") && detail.contains(" | rtt "),
        || detail.clone(),
    )?;
    let line = untimed(&run.log[0]);
    ensure(line.starts_with("ping ok ping -q -c 4 -w 5 127.0.0.1: exit 0"), || line.to_owned())?;
    Ok(())
}

fn hung_tools_are_killed() -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let pid_file = dir.path().join("pid");
    let hang = dir.path().join("hang");
    // exec, so the process killed at the timeout is the one that hangs.
    write_script(&hang, &format!("#!/bin/sh\necho $$ > '{}'\nexec sleep 60\n", pid_file.display()));
    let program = hang.display().to_string();

    let mut inventory = Inventory::default();
    let mut host = machine("t-linux64-ms-005");
    add_bmc(&mut inventory, &mut host, SecretRef::Value(Secret::new(PASSWORD)));
    let settings = JobSettings {
        ipmi: IpmiSettings { program: program.clone(), ..ipmi_settings(623, IpmiInterface::Lanplus) },
        ..JobSettings::default()
    };
    let timeouts = Timeouts { ipmitool: Duration::from_secs(1), ping: Duration::from_secs(1), ..Timeouts::default() };
    let tools = Tools { ping: program, timeouts, ..Tools::default() };

    let started = Instant::now();
    let ipmi = run(TaskName::IpmiReset, &host, &inventory, &settings, &tools);
    let took = started.elapsed();
    let reason = ipmi.failure()?;
    ensure(reason == "ipmitool timed out after 1s and was killed", || reason.clone())?;
    ensure(took < Duration::from_secs(4), || format!("the hung ipmitool held the job for {took:?}"))?;
    let line = untimed(&ipmi.log[0]);
    ensure(line.starts_with("ipmi_reset failed ") && line.ends_with(": timed out after 1s and was killed"), || {
        line.to_owned()
    })?;
    gone(&pid_file)?;

    fs::remove_file(&pid_file)?;
    let started = Instant::now();
    let ping = run(TaskName::Ping, &host, &inventory, &settings, &tools);
    let reason = ping.failure()?;
    // The deadline handed to ping, plus 2 s for it to report.
    ensure(reason == "ping timed out after 3s and was killed", || reason.clone())?;
    ensure(started.elapsed() < Duration::from_secs(6), || format!("took {:?}", started.elapsed()))?;
    gone(&pid_file)?;
    Ok(())
}

/// The process whose pid the hanging script wrote is dead (gone, or a
/// zombie waiting to be reaped).
fn gone(pid_file: &Path) -> Result<(), Failed> {
    let pid = fs::read_to_string(pid_file)?.trim().to_owned();
    let dead = || {
        fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|stat| stat.rsplit_once(") ").is_some_and(|(_, rest)| rest.starts_with('Z')))
            .unwrap_or(true)
    };
    ensure(eventually(Duration::from_secs(3), dead), || format!("process {pid} still runs after its timeout"))
}

fn tasks_refused_before_anything_runs() -> Result<(), Failed> {
    let bare = machine("t-linux64-ms-006");
    let inventory = Inventory { machines: vec![bare.clone()], ..Inventory::default() };
    let settings = JobSettings::default();
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let tools = Tools { probe: Probe::Tcp { port: closed_port }, ..Tools::default() };

    let ipmi = run(TaskName::IpmiOn, &bare, &inventory, &settings, &tools);
    ensure(matches!(ipmi.result, Err(ActionError::Refused(JobError::MissingBmc { .. }))), || {
        format!("{:?}", ipmi.result)
    })?;
    ensure(ipmi.log.is_empty(), || ipmi.log.join("\n"))?;

    let quarantine = run(TaskName::Quarantine, &bare, &inventory, &settings, &tools);
    let reason = quarantine.failure()?;
    ensure(reason == "quarantine acts on Taskcluster through the store: a job worker runs it, not run_action", || {
        reason.clone()
    })?;

    let reboot = run(TaskName::Reboot, &bare, &inventory, &settings, &tools);
    ensure(matches!(reboot.result, Err(ActionError::Refused(JobError::NoRebootMethod { .. }))), || {
        format!("{:?}", reboot.result)
    })?;
    let expected = [
        "probe no_answer",
        "ssh_reboot skipped",
        "snmp_rebootdelay skipped",
        "ipmi_reset skipped",
        "ipmi_cycle skipped",
        "ipmi_on skipped",
    ];
    ensure(steps(&reboot.log) == expected, || reboot.log.join("\n"))?;

    let mut unreadable = Inventory::default();
    let mut host = bare.clone();
    add_bmc(&mut unreadable, &mut host, SecretRef::File(PathBuf::from("/nonexistent/fleetroll/bmc")));
    let secret = run(TaskName::IpmiStatus, &host, &unreadable, &settings, &tools);
    let reason = secret.failure()?;
    ensure(reason.starts_with("the BMC password (file:/nonexistent/fleetroll/bmc) cannot be read: "), || {
        reason.clone()
    })?;
    ensure(secret.log.is_empty(), || secret.log.join("\n"))?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Reboots of sshd test hosts

/// A test host whose `reboot` is `reboot_body`, on PATH through
/// /root/.bashrc (which bash reads for commands run by sshd).
fn host_spec(name: &str, reboot_body: &str) -> HostSpec {
    let puppet = "#!/bin/sh\necho \"Notice: Applied catalog in 1.25 seconds\"\nexit 2\n";
    HostSpec::new(
        name,
        Behaviour::Up,
        vec![
            HostFile::new("/root/.bashrc", format!("export PATH={HOST_BIN}:$PATH\n"), 0o644),
            HostFile::new(format!("{HOST_BIN}/reboot"), reboot_body, 0o755),
            HostFile::new(format!("{HOST_BIN}/run-puppet.sh"), puppet, 0o755),
        ],
    )
}

/// Tools that reach the machine's front on 127.0.0.1 and judge it by its
/// sshd's port, since loopback always answers ICMP.
fn host_tools(power: &PowerSwitch) -> Tools {
    let port = power.port();
    Tools {
        probe: Probe::Tcp { port },
        ssh: SshSettings {
            options: vec!["-p".to_owned(), port.to_string()],
            connect_timeout: 3,
            timeout: Duration::from_secs(10),
            ..SshSettings::default()
        },
        puppet_wrapper: format!("{HOST_BIN}/run-puppet.sh"),
        ..Tools::default()
    }
}

fn ssh_reboot_is_verified() -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let machine_dir = dir.path().join("machine");
    let requests = PowerSwitch::requests_file(&machine_dir);
    let name = "t-linux64-ms-007";
    let fleet = Fleet::start(vec![host_spec(name, &format!("#!/bin/sh\necho reboot >> '{}'\n", requests.display()))])?;
    let (sshd, key_file) = fleet_host(&fleet);
    let power = PowerSwitch::start(&machine_dir, Some(sshd));
    let mut host = machine(name);
    host.ssh = Some(SshAccess { user: "root".to_owned(), key_file });
    let inventory = Inventory { machines: vec![host.clone()], ..Inventory::default() };
    let settings =
        JobSettings { reboot_order: vec![TaskName::SshReboot], verify: quick_verify(), ..JobSettings::default() };
    let tools = host_tools(&power);

    let reboot = run(TaskName::Reboot, &host, &inventory, &settings, &tools);
    ensure(reboot.ok()?.verified_by == Some(TaskName::SshReboot), || format!("{:?}", reboot.result))?;
    ensure(steps(&reboot.log) == ["probe answered", "ssh_reboot ok", "ssh_reboot verified"], || reboot.log.join("\n"))?;
    let ran = untimed(&reboot.log[1]);
    ensure(ran == "ssh_reboot ok ssh root@127.0.0.1 reboot: exit 0", || ran.to_owned())?;
    ensure(power.events() == ["down (reboot)", "up"], || format!("events: {:?}", power.events()))?;

    let puppet = run(TaskName::RunPuppet, &host, &inventory, &settings, &tools);
    ensure(puppet.ok()?.detail == "Puppet exit 2, changes applied", || format!("{:?}", puppet.result))?;
    let line = untimed(&puppet.log[0]);
    ensure(line.starts_with("run_puppet ok ") && line.contains("Notice: Applied catalog"), || line.to_owned())?;
    Ok(())
}

/// The acceptance case: ssh "reboots" a machine whose `reboot`
/// does nothing, the PDU switches an outlet the machine is not on, and only
/// the BMC's reset takes it down and up; each step is judged by the probe,
/// not by the tool's word.
fn chain() -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let name = "t-linux64-ms-008";
    let fleet = Fleet::start(vec![host_spec(name, "#!/bin/sh\n# a wedged init accepts and ignores it\nexit 0\n")])?;
    let (sshd, key_file) = fleet_host(&fleet);
    let power = PowerSwitch::start(&dir.path().join("machine"), Some(sshd));
    let bmc = Bmc::start(&dir.path().join("bmc"), "admin", PASSWORD, &power.chassis_script())?;
    let pdu = Pdu::start(&dir.path().join("pdu"), COMMUNITY)?;

    let mut host = machine(name);
    host.ssh = Some(SshAccess { user: "root".to_owned(), key_file });
    host.pdu = Some(PduOutlet::parse(&format!("127.0.0.1:{}:aa6", pdu.port))?);
    let mut inventory =
        Inventory { snmp_community: Some(secret_file(dir.path(), "community", COMMUNITY)), ..Inventory::default() };
    add_bmc(&mut inventory, &mut host, secret_file(dir.path(), "bmc-password", PASSWORD));
    inventory.machines.push(host.clone());
    inventory.validate()?;
    let settings = JobSettings {
        verify: quick_verify(),
        snmp_delay: Duration::from_secs(1),
        ipmi: ipmi_settings(bmc.port, IpmiInterface::Lan),
        ..JobSettings::default()
    };
    let tools = host_tools(&power);

    let reboot = run(TaskName::Reboot, &host, &inventory, &settings, &tools);
    let outcome = reboot.ok()?;
    ensure(outcome.verified_by == Some(TaskName::IpmiReset) && outcome.detail == "rebooted by ipmi_reset", || {
        format!("{outcome:?}")
    })?;
    let expected = [
        "probe answered",
        "ssh_reboot ok",
        "ssh_reboot not_down",
        "snmp_rebootdelay ok",
        "snmp_rebootdelay wait",
        "snmp_rebootdelay ok",
        "snmp_rebootdelay not_down",
        "ipmi_reset ok",
        "ipmi_reset verified",
    ];
    ensure(steps(&reboot.log) == expected, || reboot.log.join("\n"))?;
    let port = power.port();
    let verdicts: Vec<&str> = [2, 6, 8].iter().map(|&i| untimed(&reboot.log[i])).collect();
    let wanted = [
        format!("ssh_reboot not_down still answered on TCP port {port} after 3s"),
        format!("snmp_rebootdelay not_down still answered on TCP port {port} after 3s"),
        "ipmi_reset verified went down and came back".to_owned(),
    ];
    ensure(verdicts == wanted, || reboot.log.join("\n"))?;
    for line in &reboot.log {
        let stamp = line.split(' ').next().unwrap_or_default();
        chrono::DateTime::parse_from_rfc3339(stamp).map_err(|err| format!("{line}: {err}"))?;
    }
    no_secret_in(&reboot.log, PASSWORD)?;
    no_secret_in(&reboot.log, COMMUNITY)?;

    let values: Vec<String> = pdu.sets().into_iter().map(|s| s.value).collect();
    ensure(values == ["2", "1"], || format!("PDU sets: {values:?}"))?;
    ensure(power.chassis_calls().iter().filter(|c| c.starts_with("set ")).eq(["set reset 1"].iter()), || {
        format!("chassis calls: {:?}", power.chassis_calls())
    })?;
    ensure(power.events() == ["down (reset)", "up"], || format!("events: {:?}", power.events()))?;
    Ok(())
}
