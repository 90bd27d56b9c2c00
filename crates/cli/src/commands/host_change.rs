//! `host-set-override`, `host-set-vault`, `host-unset-override` and
//! `host-run-puppet`: change hosts, dry run first, every result audited.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use chrono::Utc;
use fleetroll_core::audit::AuditEntry;
use fleetroll_core::changes::{self, ChangeOutcome, WriteSpec};
use fleetroll_core::config::Settings;
use fleetroll_core::gather::Observed;
use fleetroll_core::humanhash::sha256_hex;
use fleetroll_core::override_file;
use fleetroll_remote::changes::{Change, ChangeReport, HostChange, apply};
use fleetroll_remote::ssh::SshSettings;
use fleetroll_store::Store;
use fleetroll_store::content::ContentStore;
use serde_json::{Value, json};

use super::gather_host::{self, DEFAULT_TIMEOUT};
use crate::cli::{ChangeArgs, RunPuppetArgs, SetFileArgs};
use crate::output::print_json;
use crate::settings::open_store;

/// Hosts shown in a preview before "... and N more".
const PREVIEW_HOSTS: usize = 5;
/// Puppet runs take minutes; the default per-host limit is longer for them.
const PUPPET_TIMEOUT: u64 = 600;

/// What is being changed, for previews, audit records and messages.
struct Plan {
    action: &'static str,
    hosts: Vec<String>,
    change: Change,
    parameters: Value,
    /// Hosts skipped because their last audit shows the change already made.
    already_current: Vec<String>,
    /// Printed in the preview; `None` hides contents (vaults).
    shown_contents: Option<String>,
}

pub async fn set_override(settings: &Settings, args: &SetFileArgs) -> anyhow::Result<ExitCode> {
    let contents = read_file(&args.from_file)?;
    if let Err(failure) = check_override(&args.from_file, &contents) {
        return refuse(&failure);
    }
    let hosts = crate::host_args::many(&args.change.targets)?;
    let store = open_store(settings).await?;
    let observed = latest_observed(&store, &hosts).await?;
    let sha = sha256_hex(&contents);
    let current = |host: &str| observed.get(host).and_then(|o| o.override_sha256.as_deref());
    let preflight = changes::preflight_override(&hosts, current, &sha, args.ignore_state);
    let blocked = &preflight.has_other_override;
    if !args.force && !blocked.is_empty() {
        let message = format!(
            "Override already exists on {} host(s): {}. Use --force to overwrite, or host-unset-override to remove it first.",
            blocked.len(),
            blocked.join(", ")
        );
        if args.change.confirm {
            anyhow::bail!(message);
        }
        eprintln!("WARNING: {message}");
    }
    let defaults = ("0644", args.force);
    let plan = file_plan(
        "host.set_override",
        hosts,
        preflight.already_current,
        args,
        &contents,
        defaults,
        override_paths(settings),
    )?;
    let plan = Plan { shown_contents: Some(String::from_utf8_lossy(&contents).into_owned()), ..plan };
    let keep_local = || ContentStore::overrides(&settings.home).put(&contents).map(|_| ());
    execute(settings, &store, &args.change, plan, keep_local, DEFAULT_TIMEOUT).await
}

pub async fn set_vault(settings: &Settings, args: &SetFileArgs) -> anyhow::Result<ExitCode> {
    let contents = read_file(&args.from_file)?;
    if let Err(err) = override_file::validate_vault(&contents) {
        return refuse(&format!("{}: {err}", args.from_file.display()));
    }
    let hosts = crate::host_args::many(&args.change.targets)?;
    let store = open_store(settings).await?;
    let paths = (settings.profile.linux.vault.clone(), settings.profile.darwin.vault.clone());
    // A vault is always replaced: a host has one, and --force has no meaning here.
    let mut plan = file_plan("host.set_vault", hosts, Vec::new(), args, &contents, ("0640", true), paths)?;
    plan.parameters["stored_path"] = json!(ContentStore::vaults(&settings.home).dir().display().to_string());
    let keep_local = || ContentStore::vaults(&settings.home).put(&contents).map(|_| ());
    execute(settings, &store, &args.change, plan, keep_local, DEFAULT_TIMEOUT).await
}

pub async fn unset_override(settings: &Settings, args: &ChangeArgs) -> anyhow::Result<ExitCode> {
    let hosts = crate::host_args::many(&args.targets)?;
    let store = open_store(settings).await?;
    let (linux_path, darwin_path) = override_paths(settings);
    let plan = Plan {
        action: "host.unset_override",
        hosts,
        change: Change::Remove { linux_path, darwin_path, backup: !args.no_backup },
        parameters: json!({"reason": args.reason, "backup": !args.no_backup}),
        already_current: Vec::new(),
        shown_contents: None,
    };
    execute(settings, &store, args, plan, || Ok(()), DEFAULT_TIMEOUT).await
}

pub async fn run_puppet(settings: &Settings, args: &RunPuppetArgs) -> anyhow::Result<ExitCode> {
    let hosts = crate::host_args::many(&args.change.targets)?;
    if args.change.targets.iter().any(|t| t.ends_with(".list") && !t.contains("staging")) {
        eprintln!("WARNING: the host list's name does not contain \"staging\"; Puppet runs change hosts in service");
    }
    let store = open_store(settings).await?;
    let plan = Plan {
        action: "host.run_puppet",
        hosts,
        change: Change::RunPuppet { wrapper: args.wrapper.clone() },
        parameters: json!({"reason": args.change.reason, "wrapper": args.wrapper}),
        already_current: Vec::new(),
        shown_contents: None,
    };
    execute(settings, &store, &args.change, plan, || Ok(()), PUPPET_TIMEOUT).await
}

fn override_paths(settings: &Settings) -> (String, String) {
    (settings.profile.linux.override_file.clone(), settings.profile.darwin.override_file.clone())
}

fn read_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

/// `bash -n` (syntax), then the semantic rules; the first problem found.
fn check_override(path: &Path, contents: &[u8]) -> Result<(), String> {
    let output = std::process::Command::new("bash").arg("-n").arg(path).output();
    match output {
        Ok(output) if !output.status.success() => {
            let stderr = String::from_utf8_lossy(&output.stderr);
            return Err(format!("override syntax (bash -n): {}", stderr.trim()));
        }
        Err(err) => return Err(format!("cannot run bash -n on {}: {err}", path.display())),
        Ok(_) => {}
    }
    override_file::validate(contents).map_err(|err| format!("{}: {err}", path.display()))
}

fn refuse(message: &str) -> anyhow::Result<ExitCode> {
    eprintln!("VALIDATION FAILED: {message}");
    eprintln!("No host was touched.");
    Ok(ExitCode::from(1))
}

async fn latest_observed(store: &Store, hosts: &[String]) -> anyhow::Result<BTreeMap<String, Observed>> {
    let latest = store.latest_observations().await?;
    Ok(hosts
        .iter()
        .filter_map(|host| {
            let seen = latest.get(host)?.last_ok()?;
            Some((host.clone(), serde_json::from_value(seen.observed.clone()).ok()?))
        })
        .collect())
}

fn file_plan(
    action: &'static str,
    hosts: Vec<String>,
    already_current: Vec<String>,
    args: &SetFileArgs,
    contents: &[u8],
    (default_mode, replace_existing): (&str, bool),
    (linux_path, darwin_path): (String, String),
) -> anyhow::Result<Plan> {
    let mode = args.mode.clone().unwrap_or_else(|| default_mode.to_owned());
    if !(3..=4).contains(&mode.len()) || !mode.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        anyhow::bail!("--mode {mode:?} is not an octal mode like 0644");
    }
    let sha = sha256_hex(contents);
    let backup = !args.change.no_backup;
    let parameters = json!({
        "source": format!("file:{}", args.from_file.display()),
        "sha256": sha,
        "mode": mode,
        "owner": args.owner,
        "group": args.group,
        "backup": backup,
        "backup_suffix": if backup { Some(".bak.%Y%m%dT%H%M%SZ") } else { None },
        "reason": args.change.reason,
    });
    let spec = WriteSpec {
        linux_path,
        darwin_path,
        mode,
        owner: args.owner.clone(),
        group: args.group.clone(),
        backup,
        replace_existing,
        sha256: sha,
    };
    let change = Change::Write { spec, contents: Arc::from(contents) };
    Ok(Plan { action, hosts, change, parameters, already_current, shown_contents: None })
}

/// Preview (dry run), or apply, audit, keep the local copy and re-audit.
async fn execute(
    settings: &Settings,
    store: &Store,
    args: &ChangeArgs,
    plan: Plan,
    keep_local: impl FnOnce() -> Result<(), fleetroll_store::content::ContentError>,
    default_timeout: u64,
) -> anyhow::Result<ExitCode> {
    if !args.confirm {
        preview(&plan, args)?;
        return Ok(ExitCode::SUCCESS);
    }
    keep_local()?;
    let ssh = gather_host::ssh_settings(&args.ssh, &settings.home, default_timeout)?;
    let to_change: Vec<String> = plan.hosts.iter().filter(|h| !plan.already_current.contains(h)).cloned().collect();
    let started = std::time::Instant::now();
    let is_batch = plan.hosts.len() > 1;
    let reports = apply(
        &to_change,
        &plan.change,
        &ssh,
        args.batch.workers as usize,
        Duration::from_secs(args.batch.batch_timeout),
        |report| {
            if !args.json {
                print_host_line(report, is_batch);
            }
        },
    )
    .await;
    let entries: Vec<AuditEntry> =
        reports.iter().filter(|r| !matches!(r.result, HostChange::Skipped(_))).map(|r| audit_entry(&plan, r)).collect();
    let audited = entries.len();
    store.append_audit(entries).await.context("cannot record the changes in the audit trail")?;
    let failed = reports.iter().filter(|r| !r.result.is_ok()).count();
    if args.json {
        print_json(&json!({
            "action": plan.action,
            "results": reports.iter().map(|r| audit_entry(&plan, r).result).collect::<Vec<_>>(),
            "no_change": plan.already_current,
            "total": plan.hosts.len(),
            "failed": failed,
        }))?;
    } else {
        for host in &plan.already_current {
            println!("NO_CHANGE {host} already current");
        }
        println!(
            "Summary: total={} changed={} no_change={} failed={} duration={:.1}s",
            plan.hosts.len(),
            reports.len() - failed,
            plan.already_current.len(),
            failed,
            started.elapsed().as_secs_f64()
        );
        println!("Audit trail: {audited} record(s) appended to {}", settings.store);
    }
    if !args.no_audit {
        reaudit(settings, store, &to_change, ssh, args).await;
    }
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn preview(plan: &Plan, args: &ChangeArgs) -> anyhow::Result<()> {
    if args.json {
        let mut json = json!({
            "dry_run": true,
            "action": plan.action,
            "host_count": plan.hosts.len(),
            "hosts": plan.hosts,
            "no_change": plan.already_current,
        });
        if let (Value::Object(fields), Value::Object(parameters)) = (&mut json, plan.parameters.clone()) {
            fields.extend(parameters);
        }
        return print_json(&json);
    }
    println!("DRY RUN: {} on {} host(s)", plan.action, plan.hosts.len());
    for host in plan.hosts.iter().take(PREVIEW_HOSTS) {
        let note = if plan.already_current.contains(host) { " (already current: skipped)" } else { "" };
        println!("  {host}{note}");
    }
    if plan.hosts.len() > PREVIEW_HOSTS {
        println!("  ... and {} more hosts", plan.hosts.len() - PREVIEW_HOSTS);
    }
    if let Value::Object(parameters) = &plan.parameters {
        for (key, value) in parameters {
            println!("{key}: {}", value.as_str().map_or_else(|| value.to_string(), str::to_owned));
        }
    }
    match (&plan.shown_contents, plan.action) {
        (Some(contents), _) => {
            println!("--- override contents (begin) ---");
            print!("{contents}");
            println!("--- override contents (end) ---");
        }
        (None, "host.set_vault") => println!("Vault contents: (suppressed)"),
        _ => {}
    }
    println!("Run again with --confirm to apply.");
    Ok(())
}

fn print_host_line(report: &ChangeReport, is_batch: bool) {
    let host = &report.host;
    let took = report.duration.as_secs_f64();
    match &report.result {
        HostChange::File(ChangeOutcome::Written { content_changed: true, backup_path }) => {
            let backup = backup_path.as_deref().map(|b| format!(" (backup: {b})")).unwrap_or_default();
            println!("OK {host} written{backup}");
        }
        HostChange::File(ChangeOutcome::Written { content_changed: false, .. }) => {
            println!("OK {host} already held these contents")
        }
        HostChange::File(ChangeOutcome::Removed { removed, backup_path }) => {
            let what = if *removed { "removed" } else { "had no override" };
            let backup = backup_path.as_deref().map(|b| format!(" (backup: {b})")).unwrap_or_default();
            println!("OK {host} {what}{backup}");
        }
        HostChange::File(ChangeOutcome::Blocked) => println!("BLOCKED {host} — override already exists (use --force)"),
        HostChange::File(ChangeOutcome::Failed(failure)) => {
            println!("FAIL {host} rc={} [{}] {}", rc(report), failure.class.as_str(), failure.message)
        }
        HostChange::Puppet(run) => {
            if is_batch || !run.output.is_empty() {
                println!("--- [{host}] ---");
                println!("{}", run.output);
            }
            match (&run.failure, run.changes_applied) {
                (None, true) => println!("OK {host} changes applied ({took:.1}s)"),
                (None, false) => println!("OK {host} no changes ({took:.1}s)"),
                (Some(failure), _) => println!(
                    "FAIL {host} rc={} puppet_exit={} {}",
                    rc(report),
                    run.puppet_exit.map_or_else(|| "-".to_owned(), |c| c.to_string()),
                    failure.message
                ),
            }
        }
        HostChange::Skipped(why) => println!("SKIP {host} {why}"),
    }
}

fn rc(report: &ChangeReport) -> String {
    report.ssh_rc.map_or_else(|| "-".to_owned(), |c| c.to_string())
}

/// The MVP's record for one host: result fields `ok`, `ssh_rc`, `observed`,
/// `error`. Contents are never included (only their SHA-256).
fn audit_entry(plan: &Plan, report: &ChangeReport) -> AuditEntry {
    let error = report.result.failure().map(|f| format!("{}: {}", f.class.as_str(), f.message));
    let observed = match &report.result {
        HostChange::File(ChangeOutcome::Written { content_changed, backup_path }) => {
            json!({"content_changed": content_changed, "backup_path": backup_path})
        }
        HostChange::File(ChangeOutcome::Removed { removed, backup_path }) => {
            json!({"removed": removed, "backup": backup_path.is_some(), "backup_path": backup_path})
        }
        HostChange::File(ChangeOutcome::Blocked) => json!({"blocked": true}),
        HostChange::Puppet(run) => json!({
            "puppet_exit": run.puppet_exit,
            "changes_applied": run.changes_applied,
            "duration_s": report.duration.as_secs_f64(),
        }),
        HostChange::File(ChangeOutcome::Failed(_)) | HostChange::Skipped(_) => json!({}),
    };
    let mut result =
        json!({"host": report.host, "ok": report.result.is_ok(), "ssh_rc": report.ssh_rc, "observed": observed});
    if let Some(error) = error {
        result["error"] = json!(error);
    }
    AuditEntry {
        ts: Utc::now(),
        actor: super::actor(),
        action: plan.action.to_owned(),
        hosts: vec![report.host.clone()],
        parameters: plan.parameters.clone(),
        result,
    }
}

/// Re-audits the changed hosts so the store shows their new state; a
/// failure here is reported, never fatal (the change itself is done).
async fn reaudit(settings: &Settings, store: &Store, hosts: &[String], ssh: SshSettings, args: &ChangeArgs) {
    let outcome = gather_host::reaudit(settings, store, hosts, ssh, args.batch.workers as usize).await;
    match outcome {
        Ok(count) if !args.json => println!("Audit refreshed for {count} host(s)."),
        Ok(_) => {}
        Err(err) => eprintln!("WARNING: re-audit failed: {err:#}"),
    }
}
