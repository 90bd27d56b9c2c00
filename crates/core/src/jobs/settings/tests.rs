use super::super::IpmiCommand;
use super::super::roller::{SAMPLE, import_worker_config};
use super::*;

fn roller() -> Inventory {
    import_worker_config(SAMPLE).unwrap()
}

fn names(inventory: &Inventory) -> Vec<&str> {
    inventory.machines.iter().map(Machine::name).collect()
}

fn config(text: &str) -> JobsConfig {
    toml::from_str(text).unwrap()
}

const TOML: &str = r#"
    snmp_community_ref = "env:SNMP_COMMUNITY"
    ssh = { user = "roller", key_file = "/etc/fleetroll/roller.key" }

    [types.moonshot]
    args = ["-B 0", "-b 7"]
    map = { c1n1 = ["-T 0x82", "-t 0x72"] }
    commands = { ipmi_list = ["sel", "elist"] }

    [[bmcs]]
    name = "Moon-Chassis-1"
    address = "moon-chassis-1.inband.releng.mdc1.mozilla.com"
    user = "admin"
    password_ref = "env:MOON_BMC_PASSWORD"
    type = "moonshot"

    [[machines]]
    host = "t-linux64-ms-001"
    fqdn = "t-linux64-ms-001.test.releng.mdc1.mozilla.com"
    worker_groups = ["mdc1"]
    bmc = { parent = "moon-chassis-1", addr = "c1n1" }

    [[machines]]
    host = "mac-1"
    bmc = { address = "10.0.0.5", user = "ADMIN", password = "inline-pw" }
    pdu = "pdu1:aa6"
    ssh = { user = "cltbld", key_file = "/keys/mac" }
"#;

#[test]
fn the_toml_shape_builds_the_same_kind_of_inventory() {
    let jobs = config(TOML);
    assert_eq!(jobs.scope_prefix(), "project:releng:roller");
    let inventory = jobs.inventory().unwrap();
    assert_eq!(inventory.snmp_community, Some(SecretRef::Env("SNMP_COMMUNITY".to_owned())));
    assert_eq!(inventory.bmcs.keys().collect::<Vec<_>>(), ["mac-1", "moon-chassis-1"]);
    assert_eq!(inventory.bmcs["mac-1"].password, SecretRef::Value(Secret::new("inline-pw")));
    assert_eq!(inventory.bmcs["moon-chassis-1"].password, SecretRef::Env("MOON_BMC_PASSWORD".to_owned()));

    let node = inventory.resolve("t-linux64-ms-001", Some("mdc1")).unwrap();
    let target = inventory.ipmi_target(node).unwrap();
    assert_eq!(target.address, "moon-chassis-1.inband.releng.mdc1.mozilla.com");
    assert_eq!(target.type_args, ["-B", "0", "-b", "7"]);
    assert_eq!(target.bridging, ["-T", "0x82", "-t", "0x72"]);
    assert_eq!(target.words(IpmiCommand::List), ["sel", "elist"], "the type's own words");
    assert_eq!(target.words(IpmiCommand::Reset), ["chassis", "power", "reset"], "the default");

    let mac = inventory.resolve("mac-1", None).unwrap();
    let target = inventory.ipmi_target(mac).unwrap();
    assert_eq!((target.address, target.user), ("10.0.0.5", "ADMIN"));
    assert!(target.type_args.is_empty() && target.bridging.is_empty());
    assert_eq!(inventory.ssh_access(mac).unwrap().user, "cltbld");
    assert_eq!(inventory.ssh_access(node).unwrap().user, "roller");

    let pdu_only = import_worker_config(r#"{"servers": {"m": {"pdu": "p:aa1"}}}"#).unwrap();
    assert_eq!(
        pdu_only.ipmi_target(&pdu_only.machines[0]).unwrap_err().to_string(),
        "m: no BMC in the inventory, so IPMI cannot reach it"
    );
}

#[test]
fn bad_toml_entries_are_refused_with_the_entry_named() {
    let machine = |body: &str| format!("[[machines]]\nhost = \"m\"\n{body}\n");
    let cases = [
        (machine("bmc = { parent = \"nope\" }"), "m: BMC \"nope\" is not in the inventory"),
        (machine("bmc = { user = \"u\" }"), "jobs.machines \"m\": a BMC of its own needs `address` and `user`"),
        (
            machine("bmc = { address = \"b\", user = \"u\" }"),
            "jobs.machines \"m\" bmc: `password` or `password_ref` is required",
        ),
        (
            machine("bmc = { address = \"b\", user = \"u\", password = \"p\", password_ref = \"env:P\" }"),
            "jobs.machines \"m\" bmc: give `password` or `password_ref`, not both",
        ),
        (
            machine("bmc = { address = \"b\", user = \"u\", password_ref = \"p\" }"),
            "jobs.machines \"m\" bmc: \"p\" is neither `env:NAME` nor `file:PATH`",
        ),
        (machine("bmc = {}"), "jobs.machines \"m\": `bmc` needs `parent`, or `address`, `user` and a password"),
        (
            machine("bmc = { parent = \"c\", address = \"b\" }"),
            "jobs.machines \"m\": `bmc` has both `parent` and a BMC of its own",
        ),
        (machine("pdu = \"p:zz1\""), "jobs.machines \"m\": PDU \"p:zz1\": the tower must be a, b or c"),
        (
            machine("worker_ids = [\"a.b\"]"),
            "jobs.machines \"m\": worker id \"a.b\" must be 1 to 128 of a-z, A-Z, 0-9, `-` and `_`",
        ),
        (
            "[[machines]]\nhost = \"m.example.com\"\n".to_owned(),
            "jobs.machines \"m.example.com\": `host` is the short name; put the full name in `fqdn`",
        ),
        ("[[machines]]\nhost = \"m\"\n[[machines]]\nhost = \"M\"\n".to_owned(), "m: listed twice"),
        (
            "snmp_community = \"a\"\nsnmp_community_ref = \"env:B\"\n".to_owned(),
            "jobs: give `snmp_community` or `snmp_community_ref`, not both",
        ),
    ];
    for (text, message) in cases {
        assert_eq!(config(&text).inventory().unwrap_err().to_string(), message, "{text}");
    }
    let unknown = toml::from_str::<JobsConfig>("[[machines]]\nhost = \"m\"\nipmi = 1\n").unwrap_err().to_string();
    assert!(unknown.contains("unknown field `ipmi`"), "{unknown}");
}

#[test]
fn merging_an_import_with_the_toml_refuses_repeats() {
    let other = r#"{"snmp_community_string": "c", "servers": {"t-other": {"pdu": "p:aa1"}}}"#;
    let merged = config(TOML).inventory().unwrap().merge(import_worker_config(other).unwrap()).unwrap();
    assert_eq!(names(&merged), ["t-linux64-ms-001.test.releng.mdc1.mozilla.com", "mac-1", "t-other"]);
    // The configuration's community stays; the import's fills a gap.
    assert_eq!(merged.snmp_community, Some(SecretRef::Env("SNMP_COMMUNITY".to_owned())));
    let bare = config("[[machines]]\nhost = \"x\"\n").inventory().unwrap().merge(roller()).unwrap();
    assert_eq!(bare.snmp_community, Some(SecretRef::Value(Secret::new("s3cret-community"))));
    assert_eq!(bare.machines.len(), 5);
    assert_eq!(bare.default_ssh.unwrap().user, "roller");
    let again = roller().merge(roller()).unwrap_err().to_string();
    assert_eq!(again, "BMC \"moon-chassis-1.inband.releng.mdc1.mozilla.com\" is described twice");
    let machines_twice = import_worker_config(r#"{"servers": {"m": {}}}"#)
        .unwrap()
        .merge(import_worker_config(r#"{"servers": {"M": {}}}"#).unwrap())
        .unwrap_err();
    assert_eq!(machines_twice.to_string(), "m: listed twice");
}

#[test]
fn settings_default_to_rollers_and_take_overrides() {
    let defaults = config("").settings().unwrap();
    assert_eq!(defaults, JobSettings::default());
    assert_eq!(defaults.scope_prefix, "project:releng:roller");
    assert_eq!(defaults.reboot_order, DEFAULT_ORDER);
    assert_eq!((defaults.verify.down_timeout, defaults.verify.up_timeout), (secs(60), secs(300)));
    assert_eq!(defaults.snmp_delay, secs(60));
    assert_eq!(defaults.ipmi, IpmiSettings::default());
    assert_eq!((defaults.max_attempts, defaults.lease), (3, secs(300)));
    assert_eq!((defaults.soft_limit, defaults.hard_limit), (secs(2000), secs(3000)));

    let text = r#"
        scope_prefix = "project:fleetroll:jobs"
        reboot_order = ["ipmi_cycle", "snmp_reboot"]
        down_timeout_secs = 30
        up_timeout_secs = 120
        snmp_delay_secs = 0
        ipmi_interface = "lan"
        ipmi_privilege = "ADMINISTRATOR"
        ipmi_port = 9001
        max_attempts = 1
        lease_secs = 60
        soft_limit_secs = 600
        hard_limit_secs = 1200
        worker_config = "/etc/fleetroll/worker_config.json"
    "#;
    let settings = config(text).settings().unwrap();
    assert_eq!(settings.scope_prefix, "project:fleetroll:jobs");
    assert_eq!(settings.reboot_order, [TaskName::IpmiCycle, TaskName::SnmpReboot]);
    assert_eq!((settings.verify.down_timeout, settings.verify.up_timeout), (secs(30), secs(120)));
    assert_eq!(settings.verify.up_interval, secs(5), "intervals are not configurable");
    assert_eq!(settings.snmp_delay, Duration::ZERO);
    assert_eq!(
        (settings.ipmi.interface, settings.ipmi.privilege, settings.ipmi.port),
        (IpmiInterface::Lan, IpmiPrivilege::Administrator, 9001)
    );
    assert_eq!((settings.max_attempts, settings.lease), (1, secs(60)));
    assert_eq!((settings.soft_limit, settings.hard_limit), (secs(600), secs(1200)));
}

#[test]
fn bad_settings_name_their_key() {
    let cases = [
        (
            "ipmi_privilege = \"root\"",
            "jobs.ipmi_privilege: IPMI privilege level \"root\" must be CALLBACK, USER, OPERATOR or ADMINISTRATOR",
        ),
        ("ipmi_interface = \"open\"", "jobs.ipmi_interface: IPMI interface \"open\" must be lan or lanplus"),
        ("ipmi_port = 0", "jobs.ipmi_port must be at least 1"),
        ("reboot_order = [\"ipmi_off\"]", "jobs.reboot_order: ipmi_off cannot be a reboot method"),
        ("reboot_order = []", "jobs.reboot_order: the reboot order lists no method"),
        ("down_timeout_secs = 0", "jobs.down_timeout_secs must be at least 1"),
        ("up_timeout_secs = 0", "jobs.up_timeout_secs must be at least 1"),
        ("lease_secs = 0", "jobs.lease_secs must be at least 1"),
        ("max_attempts = 0", "jobs.max_attempts must be at least 1"),
        ("soft_limit_secs = 0", "jobs.soft_limit_secs must be at least 1"),
        ("soft_limit_secs = 100\nhard_limit_secs = 50", "jobs.hard_limit_secs must be at least jobs.soft_limit_secs"),
    ];
    for (text, message) in cases {
        assert_eq!(config(text).settings().unwrap_err().to_string(), message, "{text}");
    }
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}
