use super::*;

fn roller() -> Inventory {
    import_worker_config(SAMPLE).unwrap()
}

fn names(inventory: &Inventory) -> Vec<&str> {
    inventory.machines.iter().map(Machine::name).collect()
}

#[test]
fn roller_worker_config_imports() {
    let inventory = roller();
    // The chassis is a BMC, not a machine; the upper-case repeat is one machine.
    assert_eq!(
        names(&inventory),
        [
            "t-linux64-ms-001.test.releng.mdc1.mozilla.com",
            "t-w1064-ms-459.wintest.releng.mdc1.mozilla.com",
            "t-xen-1",
            "t-yosemite-r7-001.test.releng.mdc2.mozilla.com",
        ]
    );
    assert_eq!(inventory.bmcs.keys().collect::<Vec<_>>(), ["moon-chassis-1.inband.releng.mdc1.mozilla.com"]);
    let bmc = &inventory.bmcs["moon-chassis-1.inband.releng.mdc1.mozilla.com"];
    assert_eq!((bmc.user.as_str(), bmc.ipmi_type.as_deref()), ("admin", Some("moonshot")));
    assert_eq!(bmc.password, SecretRef::Value(Secret::new("bmc-pw")));
    assert_eq!(inventory.snmp_community, Some(SecretRef::Value(Secret::new("s3cret-community"))));
    assert_eq!(
        inventory.default_ssh,
        Some(SshAccess { user: "roller".to_owned(), key_file: "ssh.key".into() }),
        "roller's -l roller -i ssh.key"
    );

    let node = inventory.resolve("t-linux64-ms-001", None).unwrap();
    assert_eq!(
        node.bmc,
        Some(BmcLink {
            bmc: "moon-chassis-1.inband.releng.mdc1.mozilla.com".to_owned(),
            addr: Some("c1n1".to_owned())
        })
    );
    let mac = inventory.resolve("t-yosemite-r7-001", None).unwrap();
    assert_eq!(
        mac.pdu,
        Some(PduOutlet {
            host: "pdu1.gc134.ops.releng.mdc2.mozilla.com".to_owned(),
            port: None,
            tower: 1,
            infeed: 1,
            outlet: 6
        })
    );
    assert_eq!(mac.bmc, None);
    let windows = inventory.resolve("T-W1064-MS-459", None).unwrap();
    assert_eq!(windows.ssh, Some(SshAccess { user: "administrator".to_owned(), key_file: "/keys/win.key".into() }));
    assert_eq!(inventory.ssh_access(mac), inventory.default_ssh.as_ref());
    assert_eq!(inventory.ssh_access(windows), windows.ssh.as_ref());

    assert_eq!(
        inventory.notes,
        [
            "servers.t-linux64-ms-001: `bug_cc` ignored (no Bugzilla step)",
            "servers.t-w1064-ms-459: same as `T-W1064-MS-459`, kept once",
            "servers.t-xen-1: `ilo` ignored (no iLO reboots)",
            "servers.t-xen-1: `xen` ignored (no XenAPI reboots)",
            "servers.t-yosemite-r7-001: `bug_cc` ignored (no Bugzilla step)",
        ]
    );
}

#[test]
fn bad_worker_configs_are_refused_with_the_entry_named() {
    let cases = [
        ("[]", "WORKER_CONFIG: must be a JSON object"),
        ("{", "WORKER_CONFIG: EOF while parsing an object at line 1 column 1"),
        (r#"{"types": {}}"#, "WORKER_CONFIG: `servers` is missing"),
        (r#"{"servers": []}"#, "WORKER_CONFIG: `servers` must be an object"),
        (
            r#"{"servers": {"a": {"pdu": "p:aa1"}, "A": {"pdu": "p:aa2"}}}"#,
            "WORKER_CONFIG: servers `A` and `a` name the same host but differ",
        ),
        (
            r#"{"servers": {"a": {"pdu": "p:ad1"}}}"#,
            "WORKER_CONFIG: servers.a: PDU \"p:ad1\": the infeed must be a, b or c",
        ),
        (r#"{"servers": {"a": {"user": "u"}}}"#, "WORKER_CONFIG: servers.a: `user` and `password` go together"),
        (r#"{"servers": {"a": {"addr": "c1n1"}}}"#, "WORKER_CONFIG: servers.a: `addr` without `parent`"),
        (r#"{"servers": {"a": {"ssh": {"user": 1}}}}"#, "WORKER_CONFIG: servers.a: `ssh.user` must be a string"),
        (
            r#"{"servers": {"a": {"parent": "chassis", "addr": "c1n1"}}}"#,
            "WORKER_CONFIG: a: BMC \"chassis\" is not in the inventory",
        ),
        (
            r#"{"servers": {"c": {"user": "u", "password": "p"}, "a": {"parent": "c", "addr": "c1n1"}}}"#,
            "WORKER_CONFIG: a: address \"c1n1\" needs BMC \"c\" to have a chassis type",
        ),
        (
            r#"{"types": {"m": {}}, "servers": {"c": {"user": "u", "password": "p", "type": "m"}, "a": {"parent": "c", "addr": "c9n9"}}}"#,
            "WORKER_CONFIG: a: address \"c9n9\" is not in the map of chassis type \"m\"",
        ),
        (
            r#"{"servers": {"c": {"user": "u", "password": "p", "type": "nope"}}}"#,
            "WORKER_CONFIG: BMC \"c\": chassis type \"nope\" is not in the inventory",
        ),
        (
            r#"{"types": {"m": {"commands": {"reboot": ["x"]}}}, "servers": {}}"#,
            "WORKER_CONFIG: chassis type \"m\": unknown command \"reboot\"; known: ipmi_list, ipmi_status, ipmi_on, ipmi_off, ipmi_cycle, ipmi_reset",
        ),
        (
            r#"{"servers": {"a;reboot": {"pdu": "p:aa1"}}}"#,
            "WORKER_CONFIG: host \"a;reboot\" is neither a host name nor an IP address",
        ),
    ];
    for (text, message) in cases {
        assert_eq!(import_worker_config(text).unwrap_err().to_string(), message, "{text}");
    }
    // Keys roller did not know are kept out, with a note, not an error.
    let inventory = import_worker_config(r#"{"extra": 1, "servers": {"a": {"colour": "red"}}}"#).unwrap();
    assert_eq!(inventory.notes, ["key `extra` ignored", "servers.a: `colour` ignored (unknown key)"]);
}
