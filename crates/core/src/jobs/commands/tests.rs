use super::super::inventory::{Inventory, SecretRef};
use super::super::settings::JobsConfig;
use super::*;

const INVENTORY: &str = r#"
    [types.moonshot]
    args = ["-B 0", "-b 7"]
    map = { c1n1 = ["-T 0x82", "-t 0x72"] }

    [[bmcs]]
    name = "chassis"
    address = "moon-chassis-1.inband.releng.mdc1.mozilla.com"
    user = "admin"
    password_ref = "env:PW"
    type = "moonshot"

    [[machines]]
    host = "node"
    bmc = { parent = "chassis", addr = "c1n1" }

    [[machines]]
    host = "plain"
    bmc = { address = "127.0.0.1", user = "ipmiusr", password = "test" }
"#;

fn inventory() -> Inventory {
    toml::from_str::<JobsConfig>(INVENTORY).unwrap().inventory().unwrap()
}

fn password() -> Secret {
    Secret::new("hunter2")
}

#[test]
fn ipmitool_argv_for_a_chassis_node_and_a_plain_bmc() {
    let inventory = inventory();
    let settings = IpmiSettings::default();
    let node = inventory.ipmi_target(&inventory.machines[0]).unwrap();
    let plain = inventory.ipmi_target(&inventory.machines[1]).unwrap();
    let cases = [
        (
            &node,
            IpmiCommand::Reset,
            "ipmitool -I lanplus -L OPERATOR -p 623 -H moon-chassis-1.inband.releng.mdc1.mozilla.com -U admin \
             -E -B 0 -b 7 -T 0x82 -t 0x72 chassis power reset",
        ),
        (
            &node,
            IpmiCommand::List,
            "ipmitool -I lanplus -L OPERATOR -p 623 -H moon-chassis-1.inband.releng.mdc1.mozilla.com -U admin \
             -E -B 0 -b 7 -T 0x82 -t 0x72 sel list last 15",
        ),
        (
            &plain,
            IpmiCommand::Status,
            "ipmitool -I lanplus -L OPERATOR -p 623 -H 127.0.0.1 -U ipmiusr -E chassis power status",
        ),
        (&plain, IpmiCommand::On, "ipmitool -I lanplus -L OPERATOR -p 623 -H 127.0.0.1 -U ipmiusr -E chassis power on"),
        (
            &plain,
            IpmiCommand::Off,
            "ipmitool -I lanplus -L OPERATOR -p 623 -H 127.0.0.1 -U ipmiusr -E chassis power off",
        ),
        (
            &plain,
            IpmiCommand::Cycle,
            "ipmitool -I lanplus -L OPERATOR -p 623 -H 127.0.0.1 -U ipmiusr -E chassis power cycle",
        ),
    ];
    for (target, command, line) in cases {
        let built = ipmitool(&settings, target, &password(), command).unwrap();
        let mut argv = vec![built.program.clone()];
        argv.extend(built.args.iter().cloned());
        assert_eq!(argv.join(" "), line, "{command:?}");
        assert_eq!(built.env, [("IPMI_PASSWORD", password())], "the password goes in the environment");
        let shown = built.display();
        assert_eq!(shown, line);
        assert!(!format!("{built:?}").contains("hunter2"));
    }
}

#[test]
fn ipmitool_for_ipmi_sim_on_another_port_and_interface() {
    let inventory = inventory();
    let target = inventory.ipmi_target(&inventory.machines[1]).unwrap();
    let settings = IpmiSettings {
        program: "/usr/bin/ipmitool".to_owned(),
        interface: IpmiInterface::Lan,
        privilege: IpmiPrivilege::Administrator,
        port: 9001,
    };
    let built = ipmitool(&settings, &target, &Secret::new("test"), IpmiCommand::Status).unwrap();
    assert_eq!(built.program, "/usr/bin/ipmitool");
    assert_eq!(
        built.args,
        [
            "-I",
            "lan",
            "-L",
            "ADMINISTRATOR",
            "-p",
            "9001",
            "-H",
            "127.0.0.1",
            "-U",
            "ipmiusr",
            "-E",
            "chassis",
            "power",
            "status"
        ]
    );
    assert_eq!(target.password, &SecretRef::Value(Secret::new("test")));
    assert_eq!(built.env, [("IPMI_PASSWORD", Secret::new("test"))], "the password is not on the command line");
    assert_eq!(built.secrets().collect::<Vec<_>>(), ["test"]);
}

#[test]
fn privilege_levels_and_interfaces_are_checked() {
    let cases = [
        ("CALLBACK", Ok(IpmiPrivilege::Callback)),
        ("USER", Ok(IpmiPrivilege::User)),
        ("OPERATOR", Ok(IpmiPrivilege::Operator)),
        ("ADMINISTRATOR", Ok(IpmiPrivilege::Administrator)),
        // Roller's test: `root` is not a privilege level.
        ("root", Err(())),
        ("operator", Err(())),
        ("OEM", Err(())),
        ("", Err(())),
    ];
    for (text, expected) in cases {
        assert_eq!(IpmiPrivilege::parse(text).map_err(|_| ()), expected, "{text}");
    }
    assert_eq!(
        IpmiPrivilege::parse("root").unwrap_err().to_string(),
        "IPMI privilege level \"root\" must be CALLBACK, USER, OPERATOR or ADMINISTRATOR"
    );
    assert_eq!(IpmiInterface::parse("lan"), Ok(IpmiInterface::Lan));
    assert_eq!(IpmiInterface::parse("lanplus"), Ok(IpmiInterface::Lanplus));
    assert!(IpmiInterface::parse("open").is_err(), "the local interface cannot reach a remote BMC");
}

#[test]
fn ipmitool_refuses_an_unsafe_bmc_address() {
    let password = SecretRef::Value(password());
    let target = IpmiTarget {
        address: "; echo foo",
        user: "admin",
        password: &password,
        type_args: Vec::new(),
        bridging: Vec::new(),
        chassis: None,
    };
    let err = ipmitool(&IpmiSettings::default(), &target, &self::password(), IpmiCommand::Status).unwrap_err();
    assert_eq!(err.to_string(), "host \"; echo foo\" is neither a host name nor an IP address");
    let target = IpmiTarget { address: "bmc", user: "", ..target };
    assert!(ipmitool(&IpmiSettings::default(), &target, &self::password(), IpmiCommand::Status).is_err());
}

#[test]
fn power_state_from_ipmitool_output() {
    let cases = [
        ("Chassis Power is on\n", Some(true)),
        ("Chassis Power is off\n", Some(false)),
        ("  Chassis Power is on  ", Some(true)),
        ("Error: Unable to establish IPMI v2 / RMCP+ session\n", None),
        ("", None),
    ];
    for (output, state) in cases {
        assert_eq!(ipmi_power_is_on(output), state, "{output:?}");
    }
}

#[test]
fn snmpset_for_sentry3_outlets() {
    let community = Secret::new("private");
    let cases = [
        ("pdu1.gc134.ops.releng.mdc2.mozilla.com:aa6", OutletAction::Reboot, "1.3.6.1.4.1.1718.3.2.3.1.11.1.1.6", "3"),
        ("pdu1:bc12", OutletAction::Off, "1.3.6.1.4.1.1718.3.2.3.1.11.2.3.12", "2"),
        ("127.0.0.1:1161:ca1", OutletAction::On, "1.3.6.1.4.1.1718.3.2.3.1.11.3.1.1", "1"),
    ];
    for (spec, action, oid, value) in cases {
        let pdu = PduOutlet::parse(spec).unwrap();
        assert_eq!(outlet_oid(&pdu), oid);
        let built = snmpset("snmpset", &pdu, &community, action).unwrap();
        assert_eq!(built.args, ["-v", "2c", &pdu.agent(), oid, "i", value]);
        assert_eq!(built.display(), format!("snmpset -v 2c {} {oid} i {value}", pdu.agent()));
        let conf = built.conf.as_ref().unwrap();
        assert_eq!((conf.dir_env, conf.file_name), ("SNMPCONFPATH", "snmp.conf"));
        assert_eq!(conf.text(), "mibs :\ndefCommunity private\n");
        assert_eq!(built.secrets().collect::<Vec<_>>(), ["private"]);
    }
    assert_eq!([OutletAction::On, OutletAction::Off, OutletAction::Reboot].map(OutletAction::value), [1, 2, 3]);
}

/// The community becomes a word of `snmp.conf`: what would not stay one
/// word, or would start another directive, is refused.
#[test]
fn snmp_communities_that_are_not_one_word_are_refused() {
    let pdu = PduOutlet::parse("pdu1:aa1").unwrap();
    for community in ["", "two words", "line\ndefVersion 1", "tab\there", "\"quoted\"", "it's", "back\\slash", "ünï"]
    {
        let built = snmpset("snmpset", &pdu, &Secret::new(community), OutletAction::On);
        assert!(matches!(built, Err(JobError::Invalid(_))), "{community:?}");
    }
    for community in ["public", "pdu-community-0815", "a#b$c!d@e"] {
        assert!(snmpset("snmpset", &pdu, &Secret::new(community), OutletAction::On).is_ok(), "{community:?}");
    }
}

#[test]
fn pdu_tasks_are_one_reboot_or_off_wait_on() {
    let delay = Duration::from_secs(60);
    assert_eq!(pdu_steps(TaskName::SnmpReboot, delay), Ok(vec![PduStep::Set(OutletAction::Reboot)]));
    // Roller's test: off, then on.
    assert_eq!(
        pdu_steps(TaskName::SnmpRebootdelay, delay),
        Ok(vec![PduStep::Set(OutletAction::Off), PduStep::Wait(delay), PduStep::Set(OutletAction::On)])
    );
    assert_eq!(DEFAULT_SNMP_DELAY, delay);
    assert!(pdu_steps(TaskName::IpmiReset, delay).is_err());
}

#[test]
fn ssh_reboot_tries_reboot_then_shutdown() {
    assert_eq!(SSH_REBOOT_COMMANDS, ["reboot", "shutdown -f -t 3 -r"]);
    let access = SshAccess { user: "roller".to_owned(), key_file: "ssh.key".into() };
    assert_eq!(ssh_options(&access), ["-l", "roller", "-i", "ssh.key"]);
}

#[test]
fn ping_argv_and_summary() {
    let built = ping("ping", "t-linux64-ms-001.test.releng.mdc1.mozilla.com", 4, Duration::from_secs(5)).unwrap();
    assert_eq!(built.display(), "ping -q -c 4 -w 5 t-linux64-ms-001.test.releng.mdc1.mozilla.com");
    assert_eq!(ping("ping", "::1", 0, Duration::ZERO).unwrap().args, ["-q", "-c", "1", "-w", "1", "::1"]);
    // Roller's test: injection is refused before any process runs.
    assert!(ping("ping", "; echo foo", 1, Duration::from_secs(1)).is_err());
    assert!(ping("ping", "-f", 1, Duration::from_secs(1)).is_err());

    let output = "PING localhost (127.0.0.1) 56(84) bytes of data.\n\n--- localhost ping statistics ---\n\
                  4 packets transmitted, 4 received, 0% packet loss, time 3004ms\n\
                  rtt min/avg/max/mdev = 0.020/0.031/0.041/0.007 ms\n";
    assert_eq!(
        ping_summary(output),
        "4 packets transmitted, 4 received, 0% packet loss, time 3004ms | rtt min/avg/max/mdev = 0.020/0.031/0.041/0.007 ms"
    );
    assert_eq!(ping_summary("ping: unknown host\n"), "ping: unknown host");
}

#[test]
fn display_quotes_words_a_shell_would_split() {
    let command = Command::new("ssh").plain(["-l", "roller", "shutdown -f -t 3 -r", "it's", ""]);
    assert_eq!(command.display(), r"ssh -l roller 'shutdown -f -t 3 -r' 'it'\''s' ''");
}
