use chrono::{DateTime, Utc};

use super::super::roller::import_worker_config;
use super::super::settings::JobsConfig;
use super::*;

fn at(text: &str) -> Timestamp {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

const INVENTORY: &str = r#"
    snmp_community = "private"

    [[bmcs]]
    name = "chassis"
    user = "admin"
    password = "pw"

    [[machines]]
    host = "everything"
    bmc = { parent = "chassis" }
    pdu = "pdu1:aa6"
    ssh = { user = "roller", key_file = "ssh.key" }

    [[machines]]
    host = "ipmi-only"
    bmc = { parent = "chassis" }

    [[machines]]
    host = "pdu-only"
    pdu = "pdu1:aa7"

    [[machines]]
    host = "nothing"
"#;

fn inventory() -> Inventory {
    toml::from_str::<JobsConfig>(INVENTORY).unwrap().inventory().unwrap()
}

#[test]
fn the_default_order_is_rollers_production_one_without_bugzilla() {
    assert_eq!(
        DEFAULT_ORDER.map(TaskName::as_str),
        ["ssh_reboot", "snmp_rebootdelay", "ipmi_reset", "ipmi_cycle", "ipmi_on"]
    );
    assert_eq!(
        parse_order(&["ssh_reboot", "snmp_rebootdelay", "ipmi_reset", "ipmi_cycle", "ipmi_on"]),
        Ok(DEFAULT_ORDER.to_vec())
    );
}

#[test]
fn configured_orders_are_checked() {
    type Case = (&'static [&'static str], Result<&'static [TaskName], &'static str>);
    let cases: &[Case] = &[
        (&["ipmi_cycle", " ssh_reboot "], Ok(&[TaskName::IpmiCycle, TaskName::SshReboot])),
        (&["snmp_reboot"], Ok(&[TaskName::SnmpReboot])),
        (
            &["ssh_reboot", "file_bugzilla_bug"],
            Err(
                "reboot method \"file_bugzilla_bug\" is not supported; methods: ssh_reboot, ipmi_on, ipmi_cycle, ipmi_reset, snmp_reboot, snmp_rebootdelay",
            ),
        ),
        (
            &["xenapi_reboot"],
            Err(
                "reboot method \"xenapi_reboot\" is not supported; methods: ssh_reboot, ipmi_on, ipmi_cycle, ipmi_reset, snmp_reboot, snmp_rebootdelay",
            ),
        ),
        (&["ipmi_off"], Err("ipmi_off cannot be a reboot method")),
        (&["reboot"], Err("reboot cannot be a reboot method")),
        (&["ping"], Err("ping cannot be a reboot method")),
        (&["ipmi_reset", "ipmi_reset"], Err("reboot method ipmi_reset is listed twice")),
        (&[], Err("the reboot order lists no method")),
    ];
    for (names, expected) in cases {
        let got = parse_order(names).map_err(|e| e.to_string());
        assert_eq!(got, expected.map(<[TaskName]>::to_vec).map_err(str::to_owned), "{names:?}");
    }
}

#[test]
fn the_plan_skips_what_cannot_apply_with_a_reason() {
    use TaskName::*;
    let inventory = inventory();
    let machine = |name: &str| inventory.resolve(name, None).unwrap();
    let skipped = |list: &[(TaskName, &str)]| -> Vec<Skipped> {
        list.iter().map(|(method, reason)| Skipped { method: *method, reason: (*reason).to_owned() }).collect()
    };
    let cases = [
        ("everything", true, vec![SshReboot, SnmpRebootdelay, IpmiReset, IpmiCycle, IpmiOn], skipped(&[])),
        // Roller's test: ssh is skipped when ping fails before the chain starts.
        (
            "everything",
            false,
            vec![SnmpRebootdelay, IpmiReset, IpmiCycle, IpmiOn],
            skipped(&[(SshReboot, "the host does not answer ping")]),
        ),
        (
            "ipmi-only",
            true,
            vec![IpmiReset, IpmiCycle, IpmiOn],
            skipped(&[(SshReboot, "no SSH account configured"), (SnmpRebootdelay, "no PDU outlet")]),
        ),
        (
            "pdu-only",
            false,
            vec![SnmpRebootdelay],
            skipped(&[
                (SshReboot, "no SSH account configured"),
                (IpmiReset, "no BMC"),
                (IpmiCycle, "no BMC"),
                (IpmiOn, "no BMC"),
            ]),
        ),
    ];
    for (host, answers, methods, skipped) in cases {
        let plan = plan(&DEFAULT_ORDER, &inventory, machine(host), answers);
        assert_eq!(plan, Plan { methods, skipped }, "{host} answers={answers}");
        assert!(plan.check(host).is_ok());
    }

    let none = plan(&DEFAULT_ORDER, &inventory, machine("nothing"), true);
    assert!(none.methods.is_empty());
    assert_eq!(
        none.check("nothing").unwrap_err().to_string(),
        "nothing: no reboot method applies (ssh_reboot: no SSH account configured; snmp_rebootdelay: no PDU outlet; \
         ipmi_reset: no BMC; ipmi_cycle: no BMC; ipmi_on: no BMC)"
    );
    let lines = plan(&DEFAULT_ORDER, &inventory, machine("ipmi-only"), true).skip_lines(at("2026-11-02T10:00:00Z"));
    assert_eq!(
        lines,
        [
            "2026-11-02T10:00:00.000000Z ssh_reboot skipped no SSH account configured",
            "2026-11-02T10:00:00.000000Z snmp_rebootdelay skipped no PDU outlet",
        ]
    );
}

#[test]
fn roller_imports_keep_their_default_ssh_account_and_pdus_need_a_community() {
    let inventory = import_worker_config(r#"{"servers": {"mac": {"pdu": "pdu1:aa6"}}}"#).unwrap();
    let plan = plan(&[TaskName::SshReboot, TaskName::SnmpReboot], &inventory, &inventory.machines[0], true);
    assert_eq!(plan.methods, [TaskName::SshReboot]);
    assert_eq!(
        plan.skipped,
        [Skipped { method: TaskName::SnmpReboot, reason: "no SNMP community configured".to_owned() }]
    );
}

/// Feeds pings (elapsed seconds, answered) until a verdict; returns it and
/// how many pings it took.
fn run(settings: VerifySettings, pings: &[(u64, bool)]) -> (Verdict, usize) {
    let mut verifier = Verifier::new(settings);
    for (i, (elapsed, answered)) in pings.iter().enumerate() {
        let verdict = verifier.observe(secs(*elapsed), *answered);
        if !matches!(verdict, Verdict::Continue { .. }) {
            return (verdict, i + 1);
        }
    }
    (verifier.observe(secs(100_000), pings.last().is_some_and(|p| p.1)), pings.len() + 1)
}

#[test]
fn verification_wants_down_then_up_within_the_timeouts() {
    let defaults = VerifySettings::default();
    assert_eq!(
        (defaults.down_timeout, defaults.up_timeout, defaults.down_interval, defaults.up_interval),
        (secs(60), secs(300), secs(1), secs(5))
    );
    let prod = VerifySettings { up_timeout: secs(120), ..defaults };
    type Case = (&'static str, VerifySettings, &'static [(u64, bool)], Verdict, usize);
    let cases: &[Case] = &[
        // Roller's test: pings up, down, down, up after the method (the first
        // of its five was the ping before the chain).
        ("up down down up", defaults, &[(0, true), (1, false), (6, false), (11, true)], Verdict::Verified, 4),
        ("down at once", defaults, &[(0, false), (5, true)], Verdict::Verified, 2),
        ("never down", defaults, &[(0, true), (30, true), (59, true), (60, true)], Verdict::NotDown, 4),
        ("down at the last moment", defaults, &[(59, true), (60, false), (65, true)], Verdict::Verified, 3),
        // The up timeout counts from the first failed ping, not from the method.
        ("slow to go down, boots in time", defaults, &[(50, false), (340, false), (349, true)], Verdict::Verified, 3),
        ("never back", defaults, &[(1, false), (200, false), (301, false)], Verdict::NotUp, 3),
        ("never back, production timeout", prod, &[(1, false), (121, false)], Verdict::NotUp, 2),
        // Once down, a late answer counts even at the boundary's edge.
        ("back just in time", prod, &[(1, false), (120, true)], Verdict::Verified, 2),
    ];
    for (name, settings, pings, verdict, count) in cases {
        assert_eq!(run(*settings, pings), (*verdict, *count), "{name}");
    }
}

#[test]
fn the_verifier_says_when_to_ping_next() {
    let mut verifier = Verifier::new(VerifySettings::default());
    assert_eq!(verifier.observe(secs(0), true), Verdict::Continue { next_ping_in: secs(1) });
    assert!(!verifier.seen_down());
    assert_eq!(verifier.observe(secs(1), false), Verdict::Continue { next_ping_in: secs(5) });
    assert!(verifier.seen_down());
    assert_eq!(verifier.observe(secs(6), false), Verdict::Continue { next_ping_in: secs(5) });
}

#[test]
fn the_chain_escalates_until_a_method_is_verified() {
    use TaskName::*;
    let full = Plan { methods: DEFAULT_ORDER.to_vec(), skipped: Vec::new() };
    type Case = (&'static str, Vec<MethodOutcome>, Vec<ChainStep>);
    let cases: Vec<Case> = vec![
        ("ssh works", vec![MethodOutcome::Verified], vec![ChainStep::Run(SshReboot), ChainStep::Succeeded(SshReboot)]),
        (
            "escalates to ipmi_reset",
            vec![MethodOutcome::NotDown, MethodOutcome::Error("snmpset: Timeout".to_owned()), MethodOutcome::Verified],
            vec![
                ChainStep::Run(SshReboot),
                ChainStep::Run(SnmpRebootdelay),
                ChainStep::Run(IpmiReset),
                ChainStep::Succeeded(IpmiReset),
            ],
        ),
        (
            "everything fails",
            vec![
                MethodOutcome::NotDown,
                MethodOutcome::NotUp,
                MethodOutcome::Error("x".to_owned()),
                MethodOutcome::NotDown,
                MethodOutcome::NotUp,
            ],
            vec![
                ChainStep::Run(SshReboot),
                ChainStep::Run(SnmpRebootdelay),
                ChainStep::Run(IpmiReset),
                ChainStep::Run(IpmiCycle),
                ChainStep::Run(IpmiOn),
                ChainStep::Failed {
                    reason: "every reboot method failed: ssh_reboot not_down, snmp_rebootdelay not_up, \
                             ipmi_reset error, ipmi_cycle not_down, ipmi_on not_up"
                        .to_owned(),
                },
            ],
        ),
    ];
    for (name, outcomes, expected) in cases {
        let mut chain = Chain::new(&full);
        let mut steps = vec![chain.start()];
        for outcome in &outcomes {
            let ChainStep::Run(method) = steps.last().unwrap().clone() else { panic!("{name}: ran past the end") };
            steps.push(chain.after(method, outcome));
        }
        assert_eq!(steps, expected, "{name}");
    }
    let mut empty = Chain::new(&Plan { methods: Vec::new(), skipped: Vec::new() });
    assert_eq!(empty.start(), ChainStep::Failed { reason: "no reboot method applies".to_owned() });
}

#[test]
fn outcomes_and_log_lines() {
    let settings = VerifySettings::default();
    let t = at("2026-11-02T10:00:05.5Z");
    let cases = [
        (MethodOutcome::Verified, "2026-11-02T10:00:05.500000Z ipmi_reset verified went down and came back"),
        (MethodOutcome::NotDown, "2026-11-02T10:00:05.500000Z ipmi_reset not_down still answered ping after 60s"),
        (MethodOutcome::NotUp, "2026-11-02T10:00:05.500000Z ipmi_reset not_up went down, not back within 300s"),
        (
            MethodOutcome::Error("Error: Unable to establish\nIPMI v2 / RMCP+ session\n".to_owned()),
            "2026-11-02T10:00:05.500000Z ipmi_reset error Error: Unable to establish | IPMI v2 / RMCP+ session",
        ),
    ];
    for (outcome, line) in cases {
        assert_eq!(log_line(t, "ipmi_reset", outcome.as_str(), &outcome.detail(&settings)), line);
    }
    assert_eq!(log_line(t, "ssh_reboot", "started", ""), "2026-11-02T10:00:05.500000Z ssh_reboot started");
    assert_eq!(MethodOutcome::from_verdict(Verdict::Continue { next_ping_in: secs(1) }), None);
    assert_eq!(MethodOutcome::from_verdict(Verdict::NotUp), Some(MethodOutcome::NotUp));
}

#[test]
fn a_task_is_runnable_only_with_the_entry_it_needs() {
    let inventory = inventory();
    type Case = (TaskName, &'static str, Result<(), &'static str>);
    let cases: &[Case] = &[
        (TaskName::Ping, "nothing", Ok(())),
        (TaskName::Quarantine, "nothing", Ok(())),
        (TaskName::SshReboot, "everything", Ok(())),
        (TaskName::SshReboot, "nothing", Err("no SSH user and key")),
        (TaskName::RunPuppet, "pdu-only", Err("no SSH user and key")),
        (TaskName::IpmiStatus, "ipmi-only", Ok(())),
        (TaskName::IpmiReset, "pdu-only", Err("no BMC")),
        (TaskName::SnmpReboot, "pdu-only", Ok(())),
        (TaskName::SnmpRebootdelay, "ipmi-only", Err("no PDU outlet")),
        (TaskName::Reboot, "pdu-only", Ok(())),
        (TaskName::Reboot, "ipmi-only", Ok(())),
        (TaskName::Reboot, "nothing", Err("no reboot method applies")),
    ];
    for (task, host, expected) in cases {
        let machine = inventory.lookup(host).unwrap();
        let got = check_runnable(*task, &DEFAULT_ORDER, &inventory, machine);
        match expected {
            Ok(()) => assert_eq!(got, Ok(()), "{task} on {host}"),
            Err(fragment) => {
                let err = got.expect_err(&format!("{task} on {host}")).to_string();
                assert!(err.contains(fragment), "{task} on {host}: {err}");
            }
        }
    }
    let mut no_community = inventory.clone();
    no_community.snmp_community = None;
    let machine = no_community.lookup("pdu-only").unwrap();
    assert_eq!(
        check_runnable(TaskName::SnmpReboot, &DEFAULT_ORDER, &no_community, machine),
        Err(JobError::MissingSnmpCommunity)
    );
}
