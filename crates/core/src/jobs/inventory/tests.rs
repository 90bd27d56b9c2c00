use super::super::roller::{SAMPLE, import_worker_config};
use super::super::settings::JobsConfig;
use super::*;

fn roller() -> Inventory {
    import_worker_config(SAMPLE).unwrap()
}

fn config(text: &str) -> JobsConfig {
    toml::from_str(text).unwrap()
}

#[test]
fn worker_ids_resolve_by_short_name_then_fqdn_label() {
    let text = r#"
        [[machines]]
        host = "t-linux64-ms-001"
        fqdn = "t-linux64-ms-001.test.releng.mdc1.mozilla.com"
        worker_groups = ["mdc1"]

        [[machines]]
        host = "mac-7"
        fqdn = "t-yosemite-r7-007.test.releng.mdc2.mozilla.com"
        worker_ids = ["yosemite-seven"]

        [[machines]]
        host = "twin"
        fqdn = "twin.test.releng.mdc1.mozilla.com"
        worker_groups = ["mdc1"]

        [[machines]]
        host = "twin-2"
        fqdn = "twin.test.releng.mdc2.mozilla.com"
        worker_groups = ["mdc2"]

        [[machines]]
        host = "shadow"
        fqdn = "mac-7.example.com"
    "#;
    let inventory = config(text).inventory().unwrap();
    let cases: &[(&str, Option<&str>, Result<&str, &str>)] = &[
        ("t-linux64-ms-001", None, Ok("t-linux64-ms-001.test.releng.mdc1.mozilla.com")),
        ("T-LINUX64-MS-001", None, Ok("t-linux64-ms-001.test.releng.mdc1.mozilla.com")),
        ("t-linux64-ms-001", Some("mdc1"), Ok("t-linux64-ms-001.test.releng.mdc1.mozilla.com")),
        ("t-linux64-ms-001", Some("MDC1"), Ok("t-linux64-ms-001.test.releng.mdc1.mozilla.com")),
        ("t-linux64-ms-001", Some("mdc2"), Err("t-linux64-ms-001 (worker group mdc2): not a managed host")),
        ("yosemite-seven", None, Ok("t-yosemite-r7-007.test.releng.mdc2.mozilla.com")),
        // The FQDN's first label counts, after short names.
        ("t-yosemite-r7-007", None, Ok("t-yosemite-r7-007.test.releng.mdc2.mozilla.com")),
        // A short name wins over another machine's FQDN label.
        ("mac-7", None, Ok("t-yosemite-r7-007.test.releng.mdc2.mozilla.com")),
        ("twin", None, Ok("twin.test.releng.mdc1.mozilla.com")),
        ("twin", Some("mdc2"), Ok("twin.test.releng.mdc2.mozilla.com")),
        ("t-linux64-ms-002", None, Err("t-linux64-ms-002: not a managed host")),
        ("; echo foo", None, Err("worker id \"; echo foo\" must be 1 to 128 of a-z, A-Z, 0-9, `-` and `_`")),
        ("a.b", None, Err("worker id \"a.b\" must be 1 to 128 of a-z, A-Z, 0-9, `-` and `_`")),
        ("", None, Err("worker id \"\" must be 1 to 128 of a-z, A-Z, 0-9, `-` and `_`")),
    ];
    for (id, group, expected) in cases {
        let got = inventory.resolve(id, *group).map(Machine::name).map_err(|e| e.to_string());
        assert_eq!(got, expected.map_err(str::to_owned), "{id} {group:?}");
    }
    assert!(validate_worker_id(&"a".repeat(128)).is_ok());
    assert!(validate_worker_id(&"a".repeat(129)).is_err());
    assert_eq!(validate_worker_id("T-W1064-MS_459"), Ok("t-w1064-ms_459".to_owned()));
}

#[test]
fn two_machines_answering_to_one_id_is_an_error_naming_both() {
    let text = r#"
        [[machines]]
        host = "a"
        worker_ids = ["shared"]
        [[machines]]
        host = "b"
        worker_ids = ["shared"]
    "#;
    let inventory = config(text).inventory().unwrap();
    assert_eq!(
        inventory.resolve("shared", None).unwrap_err().to_string(),
        "shared: more than one managed host answers to it (a, b); give the worker group"
    );
}

#[test]
fn lookup_takes_short_names_and_fqdns() {
    let inventory = roller();
    let cases = [
        ("t-linux64-ms-001", Ok("t-linux64-ms-001.test.releng.mdc1.mozilla.com")),
        ("T-Linux64-MS-001.test.releng.mdc1.mozilla.com", Ok("t-linux64-ms-001.test.releng.mdc1.mozilla.com")),
        (
            "t-linux64-ms-001.test.releng.mdc2.mozilla.com",
            Err("t-linux64-ms-001.test.releng.mdc2.mozilla.com: not a managed host"),
        ),
        ("; echo foo", Err("host \"; echo foo\" is neither a host name nor an IP address")),
    ];
    for (name, expected) in cases {
        let got = inventory.lookup(name).map(Machine::name).map_err(|e| e.to_string());
        assert_eq!(got, expected.map_err(str::to_owned), "{name}");
    }
}

#[test]
fn validate_host_takes_names_and_addresses_only() {
    let long_fqdn = format!("{}.{}.example.com", "a".repeat(63), "b".repeat(40));
    let cases = [
        ("localhost", true),
        ("t-linux64-ms-001.test.releng.mdc1.mozilla.com", true),
        ("under_score.example", true),
        ("fqdn.ending.in.dot.", true),
        ("127.0.0.1", true),
        ("::1", true),
        ("fe80::1", true),
        (long_fqdn.as_str(), true),
        // Roller's test: shell metacharacters never reach a tool.
        ("; echo foo", false),
        ("host;reboot", false),
        ("$(reboot)", false),
        ("a b", false),
        ("-oProxyCommand=x", false),
        ("", false),
        ("a..b", false),
        ("host\n", false),
    ];
    for (host, ok) in cases {
        assert_eq!(validate_host(host).is_ok(), ok, "{host:?}");
    }
    assert!(validate_host(&format!("{}.com", "a".repeat(64))).is_err(), "a label is at most 63");
    assert!(validate_host(&["abcdefghi"; 26].join(".")).is_err(), "a name is at most 253");
}

#[test]
fn pdu_outlets_parse_like_roller() {
    let outlet =
        |host: &str, port, tower, infeed, outlet| PduOutlet { host: host.to_owned(), port, tower, infeed, outlet };
    let cases = [
        (
            "pdu1.gc134.ops.releng.mdc2.mozilla.com:aa6",
            Ok(outlet("pdu1.gc134.ops.releng.mdc2.mozilla.com", None, 1, 1, 6)),
        ),
        ("pdu1:bc12", Ok(outlet("pdu1", None, 2, 3, 12))),
        ("PDU1:AB3", Ok(outlet("pdu1", None, 1, 2, 3))),
        ("127.0.0.1:1161:ca1", Ok(outlet("127.0.0.1", Some(1161), 3, 1, 1))),
        ("pdu1", Err("PDU \"pdu1\" must be `host:<tower><infeed><outlet>`")),
        ("pdu1:da6", Err("PDU \"pdu1:da6\": the tower must be a, b or c")),
        ("pdu1:a6", Err("PDU \"pdu1:a6\": the infeed must be a, b or c")),
        ("pdu1:aa", Err("PDU \"pdu1:aa\": the outlet must be a number from 1 to 999")),
        ("pdu1:aa0", Err("PDU \"pdu1:aa0\": the outlet must be a number from 1 to 999")),
        ("pdu1:aa+6", Err("PDU \"pdu1:aa+6\": the outlet must be a number from 1 to 999")),
        ("pdu1:aa1000", Err("PDU \"pdu1:aa1000\": the outlet must be a number from 1 to 999")),
        ("pdu1:x:aa6", Err("PDU \"pdu1:x:aa6\": \"x\" is not a port number (IPv6 PDU addresses are not supported)")),
        ("; echo foo:aa6", Err("PDU \"; echo foo:aa6\": host \"; echo foo\" is neither a host name nor an IP address")),
    ];
    for (text, expected) in cases {
        assert_eq!(PduOutlet::parse(text), expected.map_err(str::to_owned), "{text}");
    }
    assert_eq!(PduOutlet::parse("pdu1:aa6").unwrap().agent(), "pdu1");
    assert_eq!(PduOutlet::parse("127.0.0.1:1161:aa6").unwrap().agent(), "127.0.0.1:1161");
}

#[test]
fn secret_refs() {
    let cases = [
        ("env:BMC_PW", Ok(SecretRef::Env("BMC_PW".to_owned()))),
        ("file:/etc/fleetroll/bmc", Ok(SecretRef::File("/etc/fleetroll/bmc".into()))),
        ("env:", Err("\"env:\" is neither `env:NAME` nor `file:PATH`")),
        ("hunter2", Err("\"hunter2\" is neither `env:NAME` nor `file:PATH`")),
        ("vault:x", Err("\"vault:x\" is neither `env:NAME` nor `file:PATH`")),
    ];
    for (text, expected) in cases {
        assert_eq!(SecretRef::parse(text), expected.map_err(str::to_owned), "{text}");
    }
    assert_eq!(SecretRef::Value(Secret::new("hunter2")).describe(), "***");
    assert_eq!(SecretRef::Env("X".into()).describe(), "env:X");
    assert!(!format!("{:?}", SecretRef::Value(Secret::new("hunter2"))).contains("hunter2"));
}
