//! gather-host against real sshd test hosts (crates/testhosts): each case
//! starts its own small fleet, audits it through the production pipeline
//! and checks what lands in the store and the content folders.
//!
//! Without root, sshd or overlayfs the cases are reported as ignored, with
//! the reason; with FLEETROLL_REQUIRE_SERVICES=1 they fail instead.

use std::future::Future;
use std::os::unix::fs::PermissionsExt as _;
use std::time::Duration;

use fleetroll_core::changes::{ChangeOutcome, WriteSpec};
use fleetroll_core::config::StoreLocation;
use fleetroll_core::gather::FailureClass;
use fleetroll_core::humanhash::sha256_hex;
use fleetroll_core::records::HostObservation;
use fleetroll_core::script::Profile;
use fleetroll_remote::changes::{Change, ChangeReport, HostChange, apply};
use fleetroll_remote::gather::{GatherSettings, HostReport, Sinks, gather_hosts};
use fleetroll_remote::ssh::SshSettings;
use fleetroll_store::content::ContentStore;
use fleetroll_store::{Store, StoreOptions};
use fleetroll_testhosts::{Behaviour, Fleet, HostFile, HostSpec};
use libtest_mimic::Failed;

fn main() {
    fleetroll_testhosts::run_cases(&[
        ("role_present_and_missing", role_present_and_missing),
        ("override_with_content_is_stored", override_with_content_is_stored),
        ("puppet_state_json", puppet_state_json),
        ("legacy_yaml_state", legacy_yaml_state),
        ("vault_fetched_once_over_the_same_connection", vault_fetched_once),
        ("macos_style_paths_via_profile", macos_style_paths_via_profile),
        ("unreachable_hung_and_refusing_hosts_fail_distinctly", failing_hosts),
        ("batch_goes_on_past_failures", batch_goes_on_past_failures),
        ("batch_deadline_records_hosts_not_reached", batch_deadline),
        ("set_override_on_a_host_without_one", set_override_on_a_host_without_one),
        ("set_override_refused_when_one_exists", set_override_refused_when_one_exists),
        ("force_replaces_with_a_backup_and_keeps_thirty", force_replaces_with_a_backup_and_keeps_thirty),
        ("unset_override_with_backup", unset_override_with_backup),
        ("set_vault_with_mode", set_vault_with_mode),
        ("puppet_runs_report_exit_and_changes", puppet_runs_report_exit_and_changes),
        ("dropped_connection_mid_write_leaves_the_old_file", dropped_connection_mid_write_leaves_the_old_file),
    ]);
}

const ROLE: &str = "gecko_t_linux_2404_talos";

fn up(name: &str, files: Vec<HostFile>) -> HostSpec {
    HostSpec::new(name, Behaviour::Up, files)
}

fn role_file(role: &str) -> HostFile {
    HostFile::new("/etc/puppet_role", format!("{role}\n"), 0o644)
}

/// A home directory, a SQLite store in it, and the fleet's ssh_config.
struct Harness {
    home: tempfile::TempDir,
    store: Store,
    ssh: SshSettings,
}

impl Harness {
    async fn new(fleet: &Fleet) -> Harness {
        let home = tempfile::tempdir().expect("home");
        let store = Store::open(&StoreLocation::Sqlite(home.path().join("fleetroll.db")), &StoreOptions::default())
            .await
            .expect("store");
        let ssh = SshSettings {
            options: fleet.ssh_args(),
            connect_timeout: 3,
            timeout: Duration::from_secs(10),
            ..SshSettings::default()
        };
        Harness { home, store, ssh }
    }

    fn overrides(&self) -> ContentStore {
        ContentStore::overrides(self.home.path())
    }

    fn vaults(&self) -> ContentStore {
        ContentStore::vaults(self.home.path())
    }

    async fn gather_with(&self, hosts: &[String], settings: &GatherSettings) -> Vec<HostReport> {
        let (overrides, vaults) = (self.overrides(), self.vaults());
        let sinks = Sinks { store: &self.store, overrides: &overrides, vaults: &vaults };
        gather_hosts(hosts, settings, &sinks, |_, _| {}).await.expect("gather")
    }

    async fn gather(&self, hosts: &[String], profile: Profile) -> Vec<HostReport> {
        let settings = GatherSettings {
            ssh: self.ssh.clone(),
            workers: 10,
            batch_timeout: Duration::from_secs(60),
            with_content: true,
            profile,
        };
        self.gather_with(hosts, &settings).await
    }

    async fn stored(&self, host: &str) -> Vec<HostObservation> {
        self.store.history::<HostObservation>(&[host]).await.expect("history")
    }
}

fn run_case(
    specs: Vec<HostSpec>,
    case: impl AsyncFnOnce(&Fleet, &Harness) -> Result<(), Failed>,
) -> Result<(), Failed> {
    let fleet = Fleet::start(specs)?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let harness = Harness::new(&fleet).await;
        with_limit(case(&fleet, &harness)).await
    })
}

async fn with_limit(case: impl Future<Output = Result<(), Failed>>) -> Result<(), Failed> {
    tokio::time::timeout(Duration::from_secs(120), case).await.map_err(|_| Failed::from("the case took over 120 s"))?
}

fn check(condition: bool, what: impl Into<String>) -> Result<(), Failed> {
    if condition { Ok(()) } else { Err(what.into().into()) }
}

fn role_present_and_missing() -> Result<(), Failed> {
    let specs = vec![up("with-role.test.example", vec![role_file(ROLE)]), up("without-role.test.example", vec![])];
    run_case(specs, async |fleet, h| {
        let reports = h.gather(&fleet.names(), Profile::default()).await;
        let [with, without] = reports.as_slice() else { return Err("two reports".into()) };
        check(with.audit.is_ok(), format!("{:?}", with.audit.failure))?;
        check(with.audit.observed.role.as_deref() == Some(ROLE), format!("role {:?}", with.audit.observed.role))?;
        check(with.audit.observed.os_type.as_deref() == Some("Linux"), "Linux")?;
        check(with.audit.observed.uptime_s.is_some_and(|u| u > 0), "uptime")?;
        check(without.audit.is_ok() && !without.audit.observed.role_present, "role missing")?;
        let stored = h.stored("with-role.test.example").await;
        check(stored.len() == 1 && stored[0].ok && stored[0].observed["role"] == ROLE, format!("stored {stored:?}"))
    })
}

const OVERRIDE: &str = "PUPPET_REPO=\"https://github.com/mozilla-platform-ops/ronin_puppet.git\"\n\
                        PUPPET_BRANCH=\"canary\"\nPUPPET_MAIL=\"relops@example.com\"\n";

fn override_with_content_is_stored() -> Result<(), Failed> {
    let specs = vec![up(
        "ovr.test.example",
        vec![role_file(ROLE), HostFile::new("/etc/puppet/ronin_settings", OVERRIDE, 0o644)],
    )];
    run_case(specs, async |fleet, h| {
        let reports = h.gather(&fleet.names(), Profile::default()).await;
        let o = &reports[0].audit.observed;
        let sha = sha256_hex(OVERRIDE.as_bytes());
        check(o.override_present && o.override_sha256.as_deref() == Some(sha.as_str()), format!("{o:?}"))?;
        let meta = o.override_meta.as_ref().ok_or("override metadata")?;
        let size = OVERRIDE.len().to_string();
        check(meta.mode == "644" && meta.owner == "root" && meta.size == size, format!("{meta:?}"))?;
        let path = reports[0].override_path.as_ref().ok_or("override stored")?;
        check(std::fs::read(path)? == OVERRIDE.as_bytes(), "stored override contents")?;
        check(h.overrides().lookup(&sha[..8])?.path == *path, "lookup by prefix")?;
        let stored = h.stored("ovr.test.example").await;
        check(!serde_json::to_string(&stored)?.contains("PUPPET_BRANCH"), "no contents in the observation")
    })
}

fn state_json(git_sha: &str) -> String {
    serde_json::json!({
        "schema_version": 1, "ts": "2026-11-20T10:00:00Z", "duration_s": 93, "success": true, "exit_code": 2,
        "role": ROLE, "git_repo": "https://github.com/mozilla-platform-ops/ronin_puppet.git", "git_branch": "master",
        "git_sha": git_sha, "git_dirty": false, "vault_path": "/root/vault.yaml", "vault_sha": null,
        "override_path": "/etc/puppet/ronin_settings", "override_sha": null
    })
    .to_string()
}

fn puppet_state_json() -> Result<(), Failed> {
    let sha = "0123456789abcdef0123456789abcdef01234567";
    let specs = vec![up(
        "pp.test.example",
        vec![role_file(ROLE), HostFile::new("/etc/puppet/last_run_metadata.json", state_json(sha), 0o644)],
    )];
    run_case(specs, async |fleet, h| {
        let reports = h.gather(&fleet.names(), Profile::default()).await;
        let o = &reports[0].audit.observed;
        check(o.puppet_git_sha.as_deref() == Some(sha), format!("{o:?}"))?;
        check(o.puppet_last_run_epoch == Some(1_795_168_800), format!("epoch {:?}", o.puppet_last_run_epoch))?;
        check(o.puppet_success == Some(true) && o.puppet_exit_code == Some(2) && o.puppet_duration_s == Some(93), "run")
    })
}

fn legacy_yaml_state() -> Result<(), Failed> {
    let summary = "---\nversion:\n  config: 1\ntime:\n  total: 12.5\n  last_run: 1706140800\nevents:\n  failure: 0\n  success: 3\n";
    let specs = vec![up(
        "legacy.test.example",
        vec![
            role_file(ROLE),
            HostFile::new("/opt/puppetlabs/puppet/cache/state/last_run_summary.yaml", summary, 0o644),
        ],
    )];
    run_case(specs, async |fleet, h| {
        let reports = h.gather(&fleet.names(), Profile::default()).await;
        let o = &reports[0].audit.observed;
        check(o.puppet_last_run_epoch == Some(1_706_140_800) && o.puppet_success == Some(true), format!("{o:?}"))
    })
}

const VAULT: &str = "secrets:\n  token: hunter2\n";

fn vault_fetched_once() -> Result<(), Failed> {
    let specs = vec![up("vlt.test.example", vec![role_file(ROLE), HostFile::new("/root/vault.yaml", VAULT, 0o600)])];
    run_case(specs, async |fleet, h| {
        let sha = sha256_hex(VAULT.as_bytes());
        let first = h.gather(&fleet.names(), Profile::default()).await;
        let o = &first[0].audit.observed;
        check(o.vault_present && o.vault_sha256.as_deref() == Some(sha.as_str()), format!("{o:?}"))?;
        let path = first[0].vault_path.as_ref().ok_or("vault stored on the first audit")?;
        check(std::fs::read(path)? == VAULT.as_bytes(), "stored vault")?;
        check(std::fs::metadata(path)?.permissions().mode() & 0o777 == 0o600, "vault file mode 0600")?;
        let second = h.gather(&fleet.names(), Profile::default()).await;
        check(second[0].audit.vault_content.is_none(), "a vault we hold is not sent again")?;
        check(second[0].audit.observed.vault_sha256.as_deref() == Some(sha.as_str()), "still observed")?;
        let stored = serde_json::to_string(&h.stored("vlt.test.example").await)?;
        check(!stored.contains("hunter2"), "no vault contents in observations")
    })
}

fn macos_style_paths_via_profile() -> Result<(), Failed> {
    let sha = "fedcba9876543210fedcba9876543210fedcba98";
    let specs = vec![up(
        "mac.test.example",
        vec![
            role_file("gecko_t_osx_1500_m4"),
            HostFile::new("/opt/puppet_environments/ronin_settings", OVERRIDE, 0o644),
            HostFile::new("/opt/puppet_environments/last_run_metadata.json", state_json(sha), 0o644),
        ],
    )];
    run_case(specs, async |fleet, h| {
        let default = h.gather(&fleet.names(), Profile::default()).await;
        check(!default[0].audit.observed.override_present, "the Linux defaults do not look in /opt")?;
        let mut profile = Profile::default();
        profile.linux.override_file = "/opt/puppet_environments/ronin_settings".into();
        profile.linux.puppet_state = "/opt/puppet_environments/last_run_metadata.json".into();
        let reports = h.gather(&fleet.names(), profile).await;
        let o = &reports[0].audit.observed;
        check(o.override_present && o.puppet_git_sha.as_deref() == Some(sha), format!("{o:?}"))
    })
}

fn failing_hosts() -> Result<(), Failed> {
    let specs = vec![
        HostSpec::new("down.test.example", Behaviour::Down, vec![]),
        HostSpec::new("hang.test.example", Behaviour::Hang, vec![]),
        HostSpec::new("refuse.test.example", Behaviour::RefuseKey, vec![role_file(ROLE)]),
    ];
    run_case(specs, async |fleet, h| {
        let reports = h.gather(&fleet.names(), Profile::default()).await;
        let classes: Vec<Option<FailureClass>> =
            reports.iter().map(|r| r.audit.failure.as_ref().map(|f| f.class)).collect();
        let failures: Vec<_> = reports.iter().map(|r| &r.audit.failure).collect();
        let expected = [Some(FailureClass::Connection), Some(FailureClass::Timeout), Some(FailureClass::Auth)];
        check(classes == expected, format!("{failures:?}"))?;
        for report in &reports {
            let stored = h.stored(&report.host).await;
            let recorded = stored.len() == 1 && !stored[0].ok && stored[0].failure.is_some();
            check(recorded, format!("{}: {stored:?}", report.host))?;
        }
        Ok(())
    })
}

fn batch_goes_on_past_failures() -> Result<(), Failed> {
    let mut specs: Vec<HostSpec> =
        (1..=12).map(|i| up(&format!("ok{i:02}.test.example"), vec![role_file(&format!("role{i}"))])).collect();
    specs.insert(3, HostSpec::new("down.test.example", Behaviour::Down, vec![]));
    specs.insert(7, HostSpec::new("refuse.test.example", Behaviour::RefuseKey, vec![]));
    run_case(specs, async |fleet, h| {
        let hosts = fleet.names();
        let reports = h.gather(&hosts, Profile::default()).await;
        check(reports.iter().map(|r| &r.host).eq(hosts.iter()), "reports in host order")?;
        let ok = reports.iter().filter(|r| r.audit.is_ok()).count();
        check(ok == 12, format!("{ok} hosts ok"))?;
        let latest = h.store.latest_observations().await?;
        check(latest.len() == 14, format!("{} hosts stored", latest.len()))?;
        check(latest["ok05.test.example"].latest.observed["role"] == "role5", "each host its own role")
    })
}

fn batch_deadline() -> Result<(), Failed> {
    let specs: Vec<HostSpec> =
        (1..=3).map(|i| HostSpec::new(format!("hang{i}.test.example"), Behaviour::Hang, vec![])).collect();
    run_case(specs, async |fleet, h| {
        let settings = GatherSettings {
            ssh: SshSettings { timeout: Duration::from_secs(30), connect_timeout: 30, ..h.ssh.clone() },
            workers: 1,
            batch_timeout: Duration::from_secs(2),
            with_content: true,
            profile: Profile::default(),
        };
        let started = std::time::Instant::now();
        let reports = h.gather_with(&fleet.names(), &settings).await;
        check(started.elapsed() < Duration::from_secs(10), format!("took {:?}", started.elapsed()))?;
        let messages: Vec<String> =
            reports.iter().filter_map(|r| r.audit.failure.as_ref().map(|f| f.message.clone())).collect();
        check(messages.len() == 3, format!("{messages:?}"))?;
        let not_reached = messages[1..].iter().all(|m| m.contains("batch deadline"));
        check(not_reached, format!("{messages:?}"))?;
        check(h.store.latest_observations().await?.len() == 3, "every host recorded")
    })
}

/// Runs `command` on `host` through the fleet's ssh_config and returns stdout.
fn on_host(fleet: &Fleet, host: &str, command: &str) -> Result<String, Failed> {
    let output = std::process::Command::new("ssh")
        .args(fleet.ssh_args())
        .args(["-o", "BatchMode=yes", host, command])
        .output()?;
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

const OVERRIDE_PATH: &str = "/etc/puppet/ronin_settings";
const NEW_OVERRIDE: &str =
    "PUPPET_REPO=\"https://github.com/mozilla-platform-ops/ronin_puppet.git\"\nPUPPET_BRANCH=\"next\"\n";

fn write_override(contents: &str, replace_existing: bool, backup: bool) -> Change {
    Change::Write {
        spec: WriteSpec {
            linux_path: OVERRIDE_PATH.into(),
            darwin_path: "/opt/puppet_environments/ronin_settings".into(),
            mode: "0644".into(),
            owner: "root".into(),
            group: "auto".into(),
            backup,
            replace_existing,
            sha256: sha256_hex(contents.as_bytes()),
        },
        contents: contents.as_bytes().into(),
    }
}

async fn change(h: &Harness, hosts: &[String], change: &Change) -> Vec<ChangeReport> {
    apply(hosts, change, &h.ssh, 10, Duration::from_secs(60), |_| {}).await
}

fn file_outcome(report: &ChangeReport) -> Result<&ChangeOutcome, Failed> {
    match &report.result {
        HostChange::File(outcome) => Ok(outcome),
        other => Err(format!("{}: {other:?}", report.host).into()),
    }
}

fn set_override_on_a_host_without_one() -> Result<(), Failed> {
    run_case(vec![up("fresh.test.example", vec![role_file(ROLE)])], async |fleet, h| {
        let reports = change(h, &fleet.names(), &write_override(NEW_OVERRIDE, false, true)).await;
        let outcome = file_outcome(&reports[0])?;
        check(*outcome == ChangeOutcome::Written { content_changed: true, backup_path: None }, format!("{outcome:?}"))?;
        check(on_host(fleet, "fresh.test.example", &format!("cat {OVERRIDE_PATH}"))? == NEW_OVERRIDE, "installed")?;
        let mode = on_host(fleet, "fresh.test.example", &format!("stat -c '%a %U %G' {OVERRIDE_PATH}"))?;
        check(mode.trim() == "644 root root", format!("mode {mode}"))?;
        let again = change(h, &fleet.names(), &write_override(NEW_OVERRIDE, true, true)).await;
        let outcome = file_outcome(&again[0])?;
        check(
            *outcome == ChangeOutcome::Written { content_changed: false, backup_path: None },
            format!("no change: {outcome:?}"),
        )
    })
}

fn set_override_refused_when_one_exists() -> Result<(), Failed> {
    let specs = vec![up("taken.test.example", vec![HostFile::new(OVERRIDE_PATH, OVERRIDE, 0o644)])];
    run_case(specs, async |fleet, h| {
        let reports = change(h, &fleet.names(), &write_override(NEW_OVERRIDE, false, true)).await;
        check(*file_outcome(&reports[0])? == ChangeOutcome::Blocked, format!("{:?}", reports[0].result))?;
        check(on_host(fleet, "taken.test.example", &format!("cat {OVERRIDE_PATH}"))? == OVERRIDE, "untouched")
    })
}

fn force_replaces_with_a_backup_and_keeps_thirty() -> Result<(), Failed> {
    let mut files = vec![HostFile::new(OVERRIDE_PATH, OVERRIDE, 0o644)];
    // Older backups than any made now, more than the thirty kept.
    files.extend(
        (0..35).map(|i| {
            HostFile::new(format!("{OVERRIDE_PATH}.bak.2025010{}T0000{:02}Z", i / 30 + 1, i % 30), "old", 0o644)
        }),
    );
    run_case(vec![up("forced.test.example", files)], async |fleet, h| {
        let reports = change(h, &fleet.names(), &write_override(NEW_OVERRIDE, true, true)).await;
        let ChangeOutcome::Written { content_changed: true, backup_path: Some(backup) } = file_outcome(&reports[0])?
        else {
            return Err(format!("{:?}", reports[0].result).into());
        };
        check(
            on_host(fleet, "forced.test.example", &format!("cat {backup}"))? == OVERRIDE,
            "the backup holds the old file",
        )?;
        check(on_host(fleet, "forced.test.example", &format!("cat {OVERRIDE_PATH}"))? == NEW_OVERRIDE, "replaced")?;
        let backups = on_host(fleet, "forced.test.example", &format!("ls -1 {OVERRIDE_PATH}.bak.* | sort"))?;
        let backups: Vec<&str> = backups.lines().collect();
        check(backups.len() == 30, format!("{} backups kept", backups.len()))?;
        check(
            backups.contains(&backup.as_str()) && !backups.iter().any(|b| b.ends_with("20250101T000000Z")),
            "the oldest went",
        )
    })
}

fn unset_override_with_backup() -> Result<(), Failed> {
    let specs = vec![up("unset.test.example", vec![HostFile::new(OVERRIDE_PATH, OVERRIDE, 0o644)])];
    run_case(specs, async |fleet, h| {
        let remove = Change::Remove {
            linux_path: OVERRIDE_PATH.into(),
            darwin_path: "/opt/puppet_environments/ronin_settings".into(),
            backup: true,
        };
        let first = change(h, &fleet.names(), &remove).await;
        let ChangeOutcome::Removed { removed: true, backup_path: Some(backup) } = file_outcome(&first[0])? else {
            return Err(format!("{:?}", first[0].result).into());
        };
        check(on_host(fleet, "unset.test.example", &format!("cat {backup}"))? == OVERRIDE, "backed up")?;
        check(
            on_host(fleet, "unset.test.example", &format!("test -e {OVERRIDE_PATH} || echo gone"))?.trim() == "gone",
            "removed",
        )?;
        let second = change(h, &fleet.names(), &remove).await;
        let outcome = file_outcome(&second[0])?;
        check(*outcome == ChangeOutcome::Removed { removed: false, backup_path: None }, format!("{outcome:?}"))
    })
}

fn set_vault_with_mode() -> Result<(), Failed> {
    run_case(vec![up("vault.test.example", vec![role_file(ROLE)])], async |fleet, h| {
        let vault = Change::Write {
            spec: WriteSpec {
                linux_path: "/root/vault.yaml".into(),
                darwin_path: "/var/root/vault.yaml".into(),
                mode: "0640".into(),
                owner: "root".into(),
                group: "auto".into(),
                backup: true,
                replace_existing: true,
                sha256: sha256_hex(VAULT.as_bytes()),
            },
            contents: VAULT.as_bytes().into(),
        };
        let reports = change(h, &fleet.names(), &vault).await;
        check(file_outcome(&reports[0])?.is_ok(), format!("{:?}", reports[0].result))?;
        let audited = h.gather(&fleet.names(), Profile::default()).await;
        let meta = audited[0].audit.observed.vault_meta.clone().ok_or("vault metadata")?;
        check(meta.mode == "640", format!("{meta:?}"))
    })
}

fn puppet_runs_report_exit_and_changes() -> Result<(), Failed> {
    let wrapper = |code: i32| {
        format!("#!/bin/sh\nprintf '\\033[0;32mNotice: run %s\\033[0m\\n' \"$FLEETROLL_SINGLE_RUN\"\nexit {code}\n")
    };
    let specs = vec![
        up("pp-ok.test.example", vec![HostFile::new("/opt/fleetroll-test/run-puppet.sh", wrapper(2), 0o755)]),
        up("pp-fail.test.example", vec![HostFile::new("/opt/fleetroll-test/run-puppet.sh", wrapper(1), 0o755)]),
    ];
    run_case(specs, async |fleet, h| {
        let run = Change::RunPuppet { wrapper: "/opt/fleetroll-test/run-puppet.sh".into() };
        let reports = change(h, &fleet.names(), &run).await;
        let runs: Vec<_> = reports
            .iter()
            .map(|r| match &r.result {
                HostChange::Puppet(run) => Ok(run.clone()),
                other => Err(format!("{other:?}")),
            })
            .collect::<Result<_, _>>()?;
        check(runs[0].ok && runs[0].changes_applied && runs[0].puppet_exit == Some(2), format!("{:?}", runs[0]))?;
        check(runs[0].output.contains("\u{1b}[0;32mNotice: run 1"), format!("colours kept: {:?}", runs[0].output))?;
        check(!runs[1].ok && runs[1].puppet_exit == Some(1), format!("{:?}", runs[1]))?;
        check(
            runs[1].failure.as_ref().is_some_and(|f| f.class == FailureClass::Remote),
            "a failed run is a remote failure",
        )
    })
}

/// The client dies halfway through sending the new contents: the host must
/// keep its old file whole.
fn dropped_connection_mid_write_leaves_the_old_file() -> Result<(), Failed> {
    let specs = vec![up("drop.test.example", vec![HostFile::new(OVERRIDE_PATH, OVERRIDE, 0o644)])];
    run_case(specs, async |fleet, _h| {
        use tokio::io::AsyncWriteExt as _;
        let big = format!("{NEW_OVERRIDE}{}", "# padding\n".repeat(50_000));
        let Change::Write { spec, .. } = write_override(&big, true, true) else { unreachable!() };
        let command = fleetroll_core::script::unix_command(&fleetroll_core::changes::write_script(&spec));
        let mut child = tokio::process::Command::new("ssh")
            .args(fleet.ssh_args())
            .args(["-o", "BatchMode=yes", "drop.test.example", &command])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()?;
        let mut stdin = child.stdin.take().ok_or("stdin")?;
        stdin.write_all(&big.as_bytes()[..big.len() / 2]).await?;
        stdin.flush().await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        child.kill().await?;
        tokio::time::sleep(Duration::from_millis(500)).await;
        check(
            on_host(fleet, "drop.test.example", &format!("cat {OVERRIDE_PATH}"))? == OVERRIDE,
            "the old file is intact",
        )?;
        let leftovers = on_host(fleet, "drop.test.example", "ls -a /etc/puppet | grep -c fleetroll.tmp || true")?;
        check(leftovers.trim() == "0", format!("{} temporary files left", leftovers.trim()))
    })
}
