use base64::Engine as _;
use serde_json::json;

use super::*;

fn ok_run(stdout: &str) -> RawAudit {
    RawAudit { exit_code: Some(0), stdout: stdout.as_bytes().to_vec(), stderr: Vec::new(), timed_out: false }
}

fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

fn parse(stdout: &str) -> Audit {
    parse_audit(&ok_run(stdout), "10 s")
}

/// §9.1 item 1.
#[test]
fn kv_lines() {
    let cases: [(&str, &[(&str, &str)]); 4] = [
        ("  KEY  =  value  ", &[("KEY", "value")]),
        ("KEY=val=ue", &[("KEY", "val=ue")]),
        ("KEY=first\nKEY=second", &[("KEY", "second")]),
        ("BADLINE", &[]),
    ];
    for (input, expected) in cases {
        let expected: BTreeMap<String, String> = expected.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
        assert_eq!(parse_kv_lines(input), expected, "{input:?}");
    }
}

/// §9.1 item 2: the override body after the sentinel is hashed and kept apart.
#[test]
fn override_content_after_sentinel() {
    let audit =
        parse("OVERRIDE_PRESENT=1\nROLE_PRESENT=0\nAUDIT_DONE=1\n__FLEETROLL_OVERRIDE_CONTENT__\ntest content\n");
    assert!(audit.is_ok(), "{:?}", audit.failure);
    assert_eq!(audit.override_content.as_deref(), Some(&b"test content\n"[..]));
    let sha = audit.observed.override_sha256.clone().unwrap();
    assert_eq!(sha.len(), 64);
    assert_eq!(sha, sha256_hex(b"test content\n"));
    assert!(!audit.observed.role_present);
    let stored = serde_json::to_value(&audit.observed).unwrap();
    assert!(!stored.to_string().contains("test content"), "the stored observation holds no contents");
}

#[test]
fn sentinel_only_counts_at_line_start_and_content_may_hold_kv_lines() {
    let audit = parse(
        "OVERRIDE_PRESENT=1\nAUDIT_DONE=1\n__FLEETROLL_OVERRIDE_CONTENT__\nPUPPET_BRANCH=\"x\"\nROLE_PRESENT=1\n",
    );
    assert!(!audit.observed.role_present, "lines of the override are not protocol lines");
    assert_eq!(audit.override_content.as_deref(), Some(&b"PUPPET_BRANCH=\"x\"\nROLE_PRESENT=1\n"[..]));
}

/// §9.1 item 3, and the other classes kept distinct.
#[test]
fn failures_are_classified() {
    let run = |code: Option<i32>, stderr: &str, timed_out: bool| RawAudit {
        exit_code: code,
        stdout: Vec::new(),
        stderr: stderr.as_bytes().to_vec(),
        timed_out,
    };
    let cases = [
        (run(Some(255), "ssh: connect to host h port 22: Connection refused", false), FailureClass::Connection),
        (
            run(Some(255), "ssh: Could not resolve hostname nope: Name or service not known", false),
            FailureClass::Connection,
        ),
        (run(Some(255), "root@127.0.1.3: Permission denied (publickey).", false), FailureClass::Auth),
        (run(Some(255), "Host key verification failed.", false), FailureClass::Auth),
        (run(None, "", true), FailureClass::Timeout),
        (run(Some(255), "Connection timed out during banner exchange", false), FailureClass::Timeout),
        (run(Some(255), "ssh: connect to host h port 22: Connection timed out", false), FailureClass::Connection),
        (run(Some(1), "sh: 3: syntax error", false), FailureClass::Remote),
        (run(Some(1), "sudo: a password is required", false), FailureClass::Auth),
    ];
    for (raw, class) in cases {
        let audit = parse_audit(&raw, "10 s");
        let failure = audit.failure.expect("a failure");
        assert_eq!(failure.class, class, "{}", String::from_utf8_lossy(&raw.stderr));
    }
    let refused = parse_audit(&run(Some(255), "Connection refused", false), "10 s").failure.unwrap();
    assert_eq!(refused.message, "Connection refused (exit 255)");
    let timeout = parse_audit(&run(None, "", true), "10 s").failure.unwrap();
    assert_eq!(timeout.message, "no complete answer within 10 s");
}

fn state_json() -> serde_json::Value {
    json!({
        "schema_version": 1,
        "ts": "2024-01-25T12:34:56+00:00",
        "duration_s": 100,
        "success": true,
        "exit_code": 0,
        "role": "gecko_t_linux_talos",
        "git_repo": "https://github.com/mozilla-platform-ops/ronin_puppet.git",
        "git_branch": "master",
        "git_sha": "0123456789abcdef0123456789abcdef01234567",
        "git_dirty": false,
        "vault_path": "/root/vault.yaml",
        "vault_sha": "v".repeat(64),
        "override_path": "/etc/puppet/ronin_settings",
        "override_sha": null,
    })
}

/// §9.1 item 4: all twelve `puppet_*` fields from the state JSON.
#[test]
fn puppet_state_json_maps_every_field() {
    let audit = parse(&format!("OS_TYPE=Linux\nPP_STATE_JSON={}\nAUDIT_DONE=1\n", b64(&state_json().to_string())));
    let o = &audit.observed;
    assert_eq!(o.puppet_last_run_epoch, Some(1_706_186_096));
    assert_eq!(o.puppet_state_ts.as_deref(), Some("2024-01-25T12:34:56+00:00"));
    assert_eq!(o.puppet_success, Some(true));
    assert_eq!(o.puppet_exit_code, Some(0));
    assert_eq!(o.puppet_duration_s, Some(100));
    assert_eq!(o.puppet_role.as_deref(), Some("gecko_t_linux_talos"));
    assert_eq!(o.puppet_git_repo.as_deref(), Some("https://github.com/mozilla-platform-ops/ronin_puppet.git"));
    assert_eq!(o.puppet_git_branch.as_deref(), Some("master"));
    assert_eq!(o.puppet_git_sha.as_deref(), Some("0123456789abcdef0123456789abcdef01234567"));
    assert_eq!(o.puppet_git_dirty, Some(false));
    assert_eq!(o.puppet_vault_sha_applied, Some("v".repeat(64)));
    assert_eq!(o.puppet_override_sha_applied, None);
}

/// §9.1 item 5: Windows writes `"NA"` for unknowns; they read as null.
#[test]
fn na_values_are_null() {
    let mut state = state_json();
    for key in ["git_sha", "git_repo", "git_branch", "override_sha", "vault_sha", "success", "exit_code", "git_dirty"] {
        state[key] = json!("NA");
    }
    let audit = parse(&format!("OS_TYPE=Windows\nPP_STATE_JSON={}\nAUDIT_DONE=1\n", b64(&state.to_string())));
    let o = &audit.observed;
    assert_eq!(o.os_type.as_deref(), Some("Windows"));
    assert_eq!(
        (o.puppet_git_sha.as_ref(), o.puppet_git_repo.as_ref(), o.puppet_git_branch.as_ref()),
        (None, None, None)
    );
    assert_eq!((o.puppet_override_sha_applied.as_ref(), o.puppet_vault_sha_applied.as_ref()), (None, None));
    assert_eq!((o.puppet_success, o.puppet_exit_code, o.puppet_git_dirty), (None, None, None));
    assert_eq!(o.puppet_last_run_epoch, Some(1_706_186_096));
}

/// §9.1 item 6: the legacy keys fill in when there is no JSON.
#[test]
fn legacy_keys_when_no_json() {
    let audit = parse("PP_LAST_RUN_EPOCH=1706140800\nPP_SUCCESS=1\nPP_EXIT_CODE=invalid\nAUDIT_DONE=1\n");
    let o = &audit.observed;
    assert_eq!(o.puppet_last_run_epoch, Some(1_706_140_800));
    assert_eq!(o.puppet_success, Some(true));
    assert_eq!(o.puppet_state_ts, None);
    assert_eq!(o.puppet_exit_code, None);
}

#[test]
fn json_beats_legacy_keys() {
    let text =
        format!("PP_GIT_SHA=legacy\nPP_SUCCESS=0\nPP_STATE_JSON={}\nAUDIT_DONE=1\n", b64(&state_json().to_string()));
    let o = parse(&text).observed;
    assert_eq!(o.puppet_git_sha.as_deref(), Some("0123456789abcdef0123456789abcdef01234567"));
    assert_eq!(o.puppet_success, Some(true));
}

#[test]
fn legacy_yaml_report_fields() {
    let cases = [
        (
            "PP_REPORT_TIME='2024-01-25T12:34:56.123456789+00:00'\nPP_REPORT_STATUS=changed\n",
            Some(1_706_186_096),
            Some(true),
        ),
        ("PP_REPORT_TIME=\"2024-01-25 12:34:56.5\"\nPP_REPORT_STATUS=failed\n", Some(1_706_186_096), Some(false)),
        ("PP_REPORT_TIME=garbage\n", None, None),
    ];
    for (text, epoch, success) in cases {
        let o = parse(&format!("{text}AUDIT_DONE=1\n")).observed;
        assert_eq!((o.puppet_last_run_epoch, o.puppet_success), (epoch, success), "{text}");
    }
}

#[test]
fn broken_state_is_reported_but_not_fatal() {
    let cases = [
        ("PP_STATE_JSON=!!!notbase64", "not valid base64"),
        (&*format!("PP_STATE_JSON={}", b64("{not json")), "not valid JSON"),
        (&*format!("PP_STATE_JSON={}", b64("[1,2]")), "not a JSON object"),
    ];
    for (line, message) in cases {
        let audit = parse(&format!("ROLE_PRESENT=1\nROLE=r\n{line}\nAUDIT_DONE=1\n"));
        assert!(audit.is_ok());
        assert_eq!(audit.observed.role.as_deref(), Some("r"));
        assert!(audit.observed.puppet_state_error.as_deref().unwrap().contains(message), "{line}");
        assert_eq!(audit.observed.puppet_git_sha, None);
    }
}

#[test]
fn cut_short_or_garbled_output_fails_as_protocol() {
    let truncated = parse("OS_TYPE=Linux\nROLE_PRESENT=1\nROLE=gecko");
    assert_eq!(truncated.failure.unwrap().class, FailureClass::Protocol);
    assert_eq!(truncated.observed.role.as_deref(), Some("gecko"), "what arrived is still parsed");

    let raw =
        RawAudit { exit_code: Some(0), stdout: b"OS_TYPE=Li\xffnux\nAUDIT_DONE=1\n".to_vec(), ..RawAudit::default() };
    let garbled = parse_audit(&raw, "10 s").failure.unwrap();
    assert_eq!(garbled.class, FailureClass::Protocol);
    assert!(garbled.message.contains("not UTF-8"), "{}", garbled.message);

    let sha = sha256_hex(b"full contents\n");
    let cut = parse(&format!(
        "OVERRIDE_PRESENT=1\nOVERRIDE_SHA256={sha}\nAUDIT_DONE=1\n__FLEETROLL_OVERRIDE_CONTENT__\nfull con"
    ));
    assert_eq!(cut.failure.unwrap().class, FailureClass::Protocol);
}

#[test]
fn host_facts_and_metadata() {
    let audit = parse(
        "OS_TYPE=Darwin\nUPTIME_S=3600\nROLE_PRESENT=1\nROLE=gecko_t_osx_1500_m4\nOVERRIDE_PRESENT=1\n\
         OVERRIDE_MODE=0644\nOVERRIDE_OWNER=root\nOVERRIDE_GROUP=wheel\nOVERRIDE_SIZE=12\nOVERRIDE_MTIME=1769000000\n\
         OVERRIDE_SHA256=abc\nVLT_PRESENT=1\nVLT_MODE=640\nVLT_OWNER=root\nVLT_GROUP=root\nVLT_SIZE=5\nVLT_MTIME=1\n\
         VLT_SHA256=def\nAUDIT_DONE=1\n",
    );
    let o = &audit.observed;
    assert_eq!(o.uptime_s, Some(3600));
    assert_eq!(o.role.as_deref(), Some("gecko_t_osx_1500_m4"));
    let meta = o.override_meta.as_ref().unwrap();
    assert_eq!((meta.mode.as_str(), meta.group.as_str(), meta.mtime_epoch.as_str()), ("0644", "wheel", "1769000000"));
    assert_eq!(o.override_sha256.as_deref(), Some("abc"), "with --no-content the host's SHA is kept");
    assert_eq!(o.vault_sha256.as_deref(), Some("def"));
    assert!(audit.vault_content.is_none());
}

#[test]
fn empty_override_has_no_sha() {
    let empty = sha256_hex(b"");
    let o = parse(&format!(
        "OVERRIDE_PRESENT=1\nOVERRIDE_MODE=644\nOVERRIDE_SIZE=0\nOVERRIDE_SHA256={empty}\nAUDIT_DONE=1\n__FLEETROLL_OVERRIDE_CONTENT__\n"
    ))
    .observed;
    assert!(o.override_present);
    assert_eq!(o.override_sha256, None);
}

#[test]
fn vault_copy_is_checked_against_its_sha() {
    let vault = "secret: value\n";
    let good = parse(&format!(
        "VLT_PRESENT=1\nVLT_SHA256={}\nVLT_CONTENT_B64={}\nAUDIT_DONE=1\n",
        sha256_hex(vault.as_bytes()),
        b64(vault)
    ));
    assert_eq!(good.vault_content.as_deref(), Some(vault.as_bytes()));
    let bad =
        parse(&format!("VLT_PRESENT=1\nVLT_SHA256={}\nVLT_CONTENT_B64={}\nAUDIT_DONE=1\n", "0".repeat(64), b64(vault)));
    assert!(bad.vault_content.is_none());
    assert!(bad.vault_error.unwrap().contains("does not match"));
    assert!(bad.failure.is_none(), "a bad vault copy does not fail the audit");
}

#[test]
fn batch_summary_groups_overrides_and_counts_failures() {
    let with_override = |sha: &str| {
        let mut audit = parse("OVERRIDE_PRESENT=1\nAUDIT_DONE=1\n");
        audit.observed.override_sha256 = Some(sha.to_owned());
        audit
    };
    let refused = parse_audit(
        &RawAudit { exit_code: Some(255), stderr: b"Connection refused".to_vec(), ..RawAudit::default() },
        "10 s",
    );
    let mut failed_with_override = with_override("bbb");
    failed_with_override.failure = Some(Failure { class: FailureClass::Timeout, message: "slow".into() });
    let plain = parse("OVERRIDE_PRESENT=0\nAUDIT_DONE=1\n");
    let (a, b, c) = (with_override("bbb"), with_override("aaa"), with_override("bbb"));
    let results = [("h1", &a), ("h2", &b), ("h3", &c), ("h4", &refused), ("h5", &failed_with_override), ("h6", &plain)];
    let summary = summarize(results);
    assert_eq!((summary.total, summary.successful, summary.failed), (6, 4, 2));
    assert_eq!(summary.failed_by_class[&FailureClass::Connection], 1);
    assert_eq!(summary.failed_by_class[&FailureClass::Timeout], 1);
    let groups: Vec<(&str, Vec<&str>)> = summary
        .unique_overrides
        .iter()
        .map(|g| (g.sha256.as_str(), g.hosts.iter().map(String::as_str).collect()))
        .collect();
    assert_eq!(groups, [("bbb", vec!["h1", "h3"]), ("aaa", vec!["h2"])]);
}
