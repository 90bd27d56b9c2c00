//! The `fleetroll` binary as an operator runs it: configuration precedence,
//! error messages, exit codes, and the audit trail's export and import.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use support::served::Served;

mod support;

/// Runs the binary with a clean environment apart from `FLEETROLL_HOME`.
fn fleetroll(home: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_fleetroll"));
    for (name, _) in std::env::vars() {
        if name.starts_with("FLEETROLL_") {
            command.env_remove(name);
        }
    }
    command.env("FLEETROLL_HOME", home).env("FLEETROLL_ACTOR", "tester").args(args).envs(env.iter().copied());
    command.output().expect("run fleetroll")
}

fn json_of(output: &Output) -> Value {
    assert!(output.status.success(), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("JSON on stdout")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn settings_follow_precedence_defaults_file_env_flag() {
    let home = tempfile::tempdir().unwrap();
    let show = |args: &[&str], env: &[(&str, &str)]| {
        let mut full = vec!["config", "show", "--json"];
        full.extend_from_slice(args);
        json_of(&fleetroll(home.path(), &full, env))
    };
    assert_eq!(show(&[], &[])["retention"], 10);
    std::fs::write(home.path().join("config.toml"), "[store]\nretention = 4\n").unwrap();
    assert_eq!(show(&[], &[])["retention"], 4);
    assert_eq!(show(&[], &[("FLEETROLL_RETENTION", "6")])["retention"], 6);
    assert_eq!(show(&["--retention", "7"], &[("FLEETROLL_RETENTION", "6")])["retention"], 7);
    let url =
        show(&[], &[("FLEETROLL_DATABASE_URL", "postgres://fleet:hunter2@db.example/fleet")])["database_url"].clone();
    assert_eq!(url, "postgres://fleet:***@db.example/fleet");
}

#[test]
fn bad_config_names_file_key_and_line() {
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("config.toml");
    std::fs::write(&config, "[store]\nretention = \"ten\"\n").unwrap();
    let output = fleetroll(home.path(), &["status"], &[]);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(message.starts_with("ERROR: "), "{message}");
    for part in [config.display().to_string().as_str(), "store.retention", "line 2", "expected u32"] {
        assert!(message.contains(part), "{part:?} missing from {message}");
    }
    assert!(!message.contains("panicked"), "{message}");
}

#[test]
fn bad_flags_exit_two() {
    let home = tempfile::tempdir().unwrap();
    let cases: [&[&str]; 3] =
        [&["--retention", "0", "status"], &["--database-url", "mysql://db/x", "status"], &["no-such-command"]];
    for args in cases {
        let output = fleetroll(home.path(), args, &[]);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", stderr(&output));
    }
}

#[test]
fn maintain_is_a_dry_run_until_confirmed() {
    let home = tempfile::tempdir().unwrap();
    let dry = json_of(&fleetroll(home.path(), &["maintain", "--json"], &[]));
    assert_eq!(dry["dry_run"], true);
    assert_eq!(json_of(&fleetroll(home.path(), &["status", "--json"], &[]))["audit_records"], 0);
    let done = json_of(&fleetroll(home.path(), &["maintain", "--confirm", "--json"], &[]));
    assert_eq!(done["dry_run"], false);
    assert!(done["bytes_after"].as_u64().unwrap() > 0);
    let exported = fleetroll(home.path(), &["audit-log", "export"], &[]);
    let line: Value = serde_json::from_slice(&exported.stdout).unwrap();
    assert_eq!(line["action"], "store.maintain");
    assert_eq!(line["actor"], "tester");
}

const MVP_AUDIT: &str = r#"{"action": "host.set_override", "actor": "alice", "host": "t-linux64-ms-001.test.releng.mdc1.mozilla.com", "observed": {"backup_path": null, "content_changed": true}, "ok": true, "parameters": {"backup": true, "reason": "canary", "sha256": "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"}, "ssh_rc": 0, "stderr": "", "ts": "2026-01-21T21:52:57+00:00"}

this line is damaged
{"action": "host.run_puppet", "actor": "bob", "host": "t-linux64-ms-002.test.releng.mdc1.mozilla.com", "observed": {"changes_applied": false, "duration_s": 93, "puppet_exit": 0}, "ok": true, "parameters": {"reason": null}, "ts": "2026-01-22T08:00:00+00:00"}
"#;

#[test]
fn mvp_audit_log_imports_exports_and_verifies() {
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("audit.jsonl");
    std::fs::write(&file, MVP_AUDIT).unwrap();
    let file_arg = file.to_str().unwrap();

    let dry = fleetroll(home.path(), &["audit-log", "import", file_arg], &[]);
    assert_eq!(dry.status.code(), Some(1), "a bad line makes the exit code 1");
    assert!(stderr(&dry).contains("audit.jsonl:3: skipped: not JSON"), "{}", stderr(&dry));
    assert_eq!(json_of(&fleetroll(home.path(), &["status", "--json"], &[]))["audit_records"], 0);

    let done = fleetroll(home.path(), &["audit-log", "import", "--confirm", file_arg], &[]);
    assert_eq!(done.status.code(), Some(1));
    let verified = json_of(&fleetroll(home.path(), &["audit-log", "verify", "--json"], &[]));
    assert_eq!(verified["records"], 2);

    let export = home.path().join("export.jsonl");
    let exported = fleetroll(home.path(), &["audit-log", "export", "-o", export.to_str().unwrap()], &[]);
    assert!(exported.status.success() && exported.stdout.is_empty(), "{}", stderr(&exported));
    let lines: Vec<Value> =
        std::fs::read_to_string(&export).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["action"], "host.set_override");
    assert_eq!(lines[0]["host"], "t-linux64-ms-001.test.releng.mdc1.mozilla.com");
    assert_eq!(lines[0]["ts"], "2026-01-21T21:52:57+00:00");
    assert_eq!(lines[0]["ssh_rc"], 0);
    assert_eq!(lines[1]["observed"]["duration_s"], 93);
    assert_eq!(lines[1]["prev_hash"], lines[0]["hash"]);
    assert_eq!(lines[1]["hash"], verified["head_hash"]);

    // The export imports into another store and chains to the same hashes.
    let other = tempfile::tempdir().unwrap();
    let again = fleetroll(other.path(), &["audit-log", "import", "--confirm", export.to_str().unwrap()], &[]);
    assert!(again.status.success(), "{}", stderr(&again));
    let reverified = json_of(&fleetroll(other.path(), &["audit-log", "verify", "--json"], &[]));
    assert_eq!(reverified["head_hash"], verified["head_hash"]);
}

#[test]
fn notes_add_clear_and_show() {
    let home = tempfile::tempdir().unwrap();
    let host = "t-linux64-ms-001.test.releng.mdc1.mozilla.com";
    for note in ["RMA open", "disk replaced"] {
        assert!(fleetroll(home.path(), &["note-add", host, note], &[]).status.success());
    }
    let shown = json_of(&fleetroll(home.path(), &["show-notes", host, "--json"], &[]));
    assert_eq!(shown.as_array().unwrap().len(), 2);
    assert_eq!(shown[1]["note"], "disk replaced");
    assert_eq!(shown[1]["actor"], "tester");
    assert!(fleetroll(home.path(), &["note-clear", host, "--reason", "fixed"], &[]).status.success());
    let after = String::from_utf8(fleetroll(home.path(), &["show-notes", host], &[]).stdout).unwrap();
    assert_eq!(after.trim(), format!("No notes for {host}"));
    let all = json_of(&fleetroll(home.path(), &["show-notes", host, "-i", "--json"], &[]));
    assert_eq!(all[2]["action"], "host.note_clear");
    let short = fleetroll(home.path(), &["note-add", "ms001", "x"], &[]);
    assert_eq!(short.status.code(), Some(2));
    assert!(stderr(&short).contains("not a fully qualified host name"));
}

#[test]
fn data_freshness_without_data_is_no_data_and_exit_one() {
    let home = tempfile::tempdir().unwrap();
    let output = fleetroll(home.path(), &["data-freshness", "--all", "--json"], &[]);
    assert_eq!(output.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["status"], "no_data");
    for key in [
        "host_source",
        "most_recent_ok_ts",
        "ok_age_seconds",
        "ok_age_human",
        "hosts_total",
        "hosts_with_ok",
        "hosts_fresh",
        "fresh_pct",
        "min_fresh_pct",
        "stale_threshold_seconds",
    ] {
        assert!(report.get(key).is_some(), "{key} missing from {report}");
    }
}

/// A GitHub stand-in on loopback: the Puppet repository's `master` head for
/// the refs listing, 404 for anything else. Answers `requests` connections.
fn github_stand_in(requests: usize) -> String {
    use std::io::{BufRead as _, BufReader, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().take(requests) {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            let mut header = String::new();
            while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                header.clear();
            }
            let (status, body) =
                if request_line.contains("/repos/mozilla-platform-ops/ronin_puppet/git/matching-refs/heads") {
                    (
                        "200 OK",
                        format!(
                            r#"[{{"ref":"refs/heads/master","object":{{"sha":"{}","type":"commit"}}}}]"#,
                            "a".repeat(40)
                        ),
                    )
                } else {
                    ("404 Not Found", r#"{"message":"Not Found"}"#.to_owned())
                };
            let response = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes());
        }
    });
    url
}

#[test]
fn gather_gh_uses_the_configured_api_and_throttles() {
    let home = tempfile::tempdir().unwrap();
    let api = github_stand_in(2);
    std::fs::write(home.path().join("config.toml"), format!("[github]\napi_url = \"{api}\"\n")).unwrap();
    let first = fleetroll(home.path(), &["gather-gh", "--json"], &[]);
    let report: Value = serde_json::from_slice(&first.stdout).unwrap();
    assert_eq!(report["branches_written"], 1, "{report} {}", stderr(&first));
    assert_eq!(first.status.code(), Some(1), "the missing pools file is reported");
    assert_eq!(json_of(&fleetroll(home.path(), &["status", "--json"], &[]))["rows"]["github_refs"], 1);
    let again: Value = serde_json::from_slice(&fleetroll(home.path(), &["gather-gh", "--json"], &[]).stdout).unwrap();
    assert!(again["skipped"].is_object(), "fetched less than an hour ago: {again}");
}

/// Without --once and without a terminal, host-monitor prints the table and
/// then a line for each listed host that gets a new observation.
#[test]
fn host_monitor_on_a_pipe_follows_new_observations() {
    use std::io::{BufRead as _, BufReader};
    let home = tempfile::tempdir().unwrap();
    let list = home.path().join("hosts.list");
    std::fs::write(&list, "a.example\nb.example\n").unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let location = fleetroll_core::config::StoreLocation::Sqlite(home.path().join("fleetroll.db"));
    let store = runtime.block_on(fleetroll_store::Store::open(&location, &Default::default())).unwrap();
    let observation = |host: &str, role: &str| fleetroll_core::records::HostObservation {
        host: host.into(),
        ts: chrono::Utc::now(),
        ok: true,
        observed: serde_json::json!({"role_present": true, "role": role, "os_type": "Linux"}),
        ssh_rc: Some(0),
        failure: None,
    };
    runtime.block_on(store.put(&[observation("a.example", "first_role")])).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_fleetroll"))
        .env("FLEETROLL_HOME", home.path())
        .args(["host-monitor", list.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (lines, received) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                return;
            }
        }
    });
    let next = || received.recv_timeout(std::time::Duration::from_secs(10));
    let header = next().unwrap();
    assert!(header.starts_with("HOST"), "{header}");
    let table: Vec<String> = (0..2).map(|_| next().unwrap()).collect();
    assert!(table[0].starts_with("a.example") && table[0].contains("first_role"), "{table:?}");
    runtime.block_on(store.put(&[observation("b.example", "second_role"), observation("other.example", "x")])).unwrap();
    let followed = next();
    let _ = child.kill();
    let _ = child.wait();
    let followed = followed.expect("a line for the new observation");
    assert!(followed.starts_with("b.example") && followed.contains("second_role"), "{followed}");
}

#[test]
fn clients_get_a_token_once_and_changes_are_audited() {
    let home = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| fleetroll(home.path(), args, &[]);
    let created = run(&["client", "create", "ci-bot", "--scope", "assume:project:fleetroll:treestatus/sheriff"]);
    assert!(created.status.success(), "{}", stderr(&created));
    let token = String::from_utf8(created.stdout).unwrap();
    assert!(token.trim().starts_with("fleetroll_") && token.lines().count() == 1, "{token:?}");
    assert_eq!(run(&["client", "create", "ci-bot", "--scope", "x"]).status.code(), Some(2), "names are unique");
    assert_eq!(run(&["client", "create", "bad name", "--scope", "x"]).status.code(), Some(2));

    let listed = json_of(&run(&["client", "list", "--json"]));
    assert_eq!(listed[0]["name"], "ci-bot");
    assert!(!listed.to_string().contains(token.trim()), "a listing never shows a token");

    let dry = run(&["client", "revoke", "ci-bot"]);
    assert!(dry.status.success() && stderr(&dry).contains("dry run"), "{}", stderr(&dry));
    assert!(json_of(&run(&["client", "list", "--json"]))[0]["revoked_at"].is_null());
    let rotated = json_of(&run(&["client", "rotate", "ci-bot", "--confirm", "--json"]));
    assert_ne!(rotated["token"].as_str().unwrap(), token.trim());
    json_of(&run(&["client", "revoke", "ci-bot", "--confirm", "--json"]));
    assert!(json_of(&run(&["client", "list", "--json"]))[0]["revoked_at"].is_string());

    let exported = run(&["audit-log", "export"]);
    let trail = String::from_utf8(exported.stdout).unwrap();
    let actions: Vec<String> = trail
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap()["action"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(actions, ["client.create", "client.rotate", "client.revoke"]);
    assert!(!trail.contains("fleetroll_"), "tokens never reach the audit trail");
}

#[test]
fn tree_commands_talk_to_a_running_server() {
    let home = tempfile::tempdir().unwrap();
    let created = fleetroll(
        home.path(),
        &["client", "create", "sheriff", "--scope", "assume:project:fleetroll:treestatus/admin"],
        &[],
    );
    let token = String::from_utf8(created.stdout).unwrap().trim().to_owned();
    let server = Served::start(home.path(), &[]).expect("start fleetroll serve");
    let anonymous = [("FLEETROLL_SERVER_URL", server.url.as_str())];
    let signed = [("FLEETROLL_SERVER_URL", server.url.as_str()), ("FLEETROLL_TOKEN", token.as_str())];
    let run = |args: &[&str], env: &[(&str, &str)]| fleetroll(home.path(), args, env);

    let refused = run(&["tree", "create", "autoland"], &anonymous);
    assert_eq!(refused.status.code(), Some(1));
    assert!(stderr(&refused).contains("401") && stderr(&refused).contains("FLEETROLL_TOKEN"), "{}", stderr(&refused));
    for tree in ["autoland", "mozilla-central"] {
        assert!(run(&["tree", "create", tree], &signed).status.success());
    }
    let closed =
        run(&["tree", "close", "autoland", "--reason", "bustage", "--tag", "checkin_test", "--remember"], &signed);
    assert!(closed.status.success(), "{}", stderr(&closed));
    let shown = json_of(&run(&["tree", "show", "autoland", "--json"], &anonymous));
    assert_eq!(
        (shown["tree"]["status"].as_str(), shown["tree"]["tags"][0].as_str()),
        (Some("closed"), Some("checkin_test"))
    );
    assert_eq!(shown["logs"][0]["who"], "client:sheriff");
    let no_tags = run(&["tree", "close", "mozilla-central", "--reason", "x"], &signed);
    assert_eq!(no_tags.status.code(), Some(1));
    assert!(stderr(&no_tags).contains("Tags are required when closing a tree."), "{}", stderr(&no_tags));

    let stack = json_of(&run(&["tree", "stack", "--json"], &anonymous));
    let id = stack["result"][0]["id"].as_i64().unwrap().to_string();
    assert!(run(&["tree", "revert", &id], &signed).status.success());
    let trees = json_of(&run(&["tree", "list", "--json"], &anonymous));
    assert_eq!(trees["result"]["autoland"]["status"], "open");

    let dry = run(&["tree", "delete", "autoland"], &signed);
    assert!(dry.status.success() && stderr(&dry).contains("dry run"));
    assert!(run(&["tree", "delete", "autoland", "--confirm"], &signed).status.success());
    let gone = run(&["tree", "show", "autoland"], &anonymous);
    assert_eq!(gone.status.code(), Some(1));
    assert!(stderr(&gone).contains("404"), "{}", stderr(&gone));
}

#[test]
fn job_commands_run_a_job_through_the_server_and_its_workers() {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join("config.toml"),
        "[jobs]\n[[jobs.machines]]\nhost = \"loop-1\"\nfqdn = \"127.0.0.1\"\nworker_groups = [\"mdc1\"]\n",
    )
    .unwrap();
    let created = fleetroll(home.path(), &["client", "create", "relops", "--scope", "project:releng:roller:ping"], &[]);
    let token = String::from_utf8(created.stdout).unwrap().trim().to_owned();
    let server = Served::start(home.path(), &[]).expect("start fleetroll serve");
    let signed = [("FLEETROLL_SERVER_URL", server.url.as_str()), ("FLEETROLL_TOKEN", token.as_str())];
    let run = |args: &[&str]| fleetroll(home.path(), args, &signed);

    let dry = run(&["job", "run", "reboot", "loop-1"]);
    assert!(dry.status.success(), "{}", stderr(&dry));
    assert!(String::from_utf8_lossy(&dry.stdout).contains("dry run"), "{:?}", dry);
    let refused = run(&["job", "run", "reboot", "loop-1", "--confirm"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(stderr(&refused).contains("project:releng:roller:reboot"), "{}", stderr(&refused));
    let unknown = run(&["job", "run", "reimage", "loop-1"]);
    assert_eq!(unknown.status.code(), Some(2), "{}", stderr(&unknown));

    let waited = run(&["job", "run", "ping", "loop-1", "--reason", "is it there?", "--wait"]);
    let said = String::from_utf8_lossy(&waited.stdout).into_owned();
    assert!(waited.status.success(), "{said}\n{}\n{}", stderr(&waited), server.log());
    assert!(said.contains("queued") && said.contains("ping ok") && said.contains("succeeded"), "{said}");

    let listed = json_of(&run(&["job", "list", "--json"]));
    let job = &listed["jobs"][0];
    assert_eq!((job["task"].as_str(), job["state"].as_str()), (Some("ping"), Some("succeeded")));
    assert_eq!((job["reason"].as_str(), job["requested_by"].as_str()), (Some("is it there?"), Some("client:relops")));
    let shown = json_of(&run(&["job", "show", &job["id"].to_string(), "--json"]));
    assert!(shown["log"].as_array().is_some_and(|log| log.len() >= 2), "{shown}");
    let finished = run(&["job", "cancel", &job["id"].to_string(), "--confirm"]);
    assert_eq!(finished.status.code(), Some(1));
    assert!(stderr(&finished).contains("409"), "{}", stderr(&finished));
}

/// TC_ACT takes the newer of the worker API's last activity and Pulse's
/// last sighting of the same worker, and PULSE shows Pulse's alone, also
/// for a host gather-tc never found (`machines preload` stands in for the
/// consumer, which stores sightings the same way).
#[test]
fn host_monitor_tc_act_takes_the_newer_of_the_worker_api_and_pulse() {
    let home = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let location = fleetroll_core::config::StoreLocation::Sqlite(home.path().join("fleetroll.db"));
    let store = runtime.block_on(fleetroll_store::Store::open(&location, &Default::default())).unwrap();
    let now = chrono::Utc::now();
    let worker = |id: &str| fleetroll_core::records::TcWorker {
        worker_group: Some("mdc1".to_owned()),
        last_date_active: Some(now - chrono::Duration::hours(3)),
        ..fleetroll_core::records::TcWorker::new(
            format!("{id}.test.releng.mdc1.mozilla.com"),
            id,
            "releng-hardware",
            "gecko-t-linux-talos",
            now,
        )
    };
    runtime.block_on(store.put(&[worker("t-linux64-ms-001"), worker("t-linux64-ms-002")])).unwrap();
    runtime.block_on(store.close());
    let seen = fleetroll_core::liveness::format_lastseen(now - chrono::Duration::minutes(2));
    let preload = home.path().join("machines.json");
    std::fs::write(
        &preload,
        format!(
            r#"[{{"machine": "t-linux64-ms-001", "datacenter": "mdc1", "lastseen": "{seen}"}},
                {{"machine": "t-linux64-ms-003", "datacenter": "mdc1", "lastseen": "{seen}"}}]"#
        ),
    )
    .unwrap();
    assert!(fleetroll(home.path(), &["machines", "preload", preload.to_str().unwrap()], &[]).status.success());
    let list = home.path().join("hosts.list");
    std::fs::write(
        &list,
        "# fqdn: .test.releng.mdc1.mozilla.com\nt-linux64-ms-001\nt-linux64-ms-002\nt-linux64-ms-003\n",
    )
    .unwrap();
    let rows = json_of(&fleetroll(home.path(), &["host-monitor", list.to_str().unwrap(), "--once", "--json"], &[]));
    let cells = |key: &str| -> Vec<String> {
        ["t-linux64-ms-001", "t-linux64-ms-002", "t-linux64-ms-003"]
            .map(|host| rows[format!("{host}.test.releng.mdc1.mozilla.com")][key].as_str().unwrap_or("").to_owned())
            .to_vec()
    };
    let (tc_act, pulse) = (cells("tc_act"), cells("pulse"));
    assert!(tc_act[0].starts_with("2m"), "Pulse's newer sighting: {tc_act:?}");
    assert!(tc_act[1].starts_with("3h"), "the worker API's, with no sighting: {tc_act:?}");
    assert_eq!(tc_act[2], "-", "no worker record: {tc_act:?}");
    assert!(pulse[0].starts_with("2m") && pulse[2].starts_with("2m"), "{pulse:?}");
    assert_eq!(pulse[1], "-", "never on Pulse: {pulse:?}");
}
