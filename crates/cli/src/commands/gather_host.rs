//! `fleetroll gather-host`: audit hosts over SSH and record what they run.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use fleetroll_core::config::Settings;
use fleetroll_core::gather::{BatchSummary, summarize};
use fleetroll_remote::gather::{GatherSettings, HostReport, Sinks, gather_hosts};
use fleetroll_remote::ssh::SshSettings;
use fleetroll_store::content::ContentStore;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};

use crate::cli::{GatherHostArgs, SshArgs};
use crate::output::print_json;
use crate::settings::open_store;

pub async fn run(settings: &Settings, args: &GatherHostArgs) -> anyhow::Result<ExitCode> {
    let (hosts, from_file) = crate::host_args::single(&args.target)?;
    let gather = GatherSettings {
        ssh: ssh_settings(&args.ssh, &settings.home, DEFAULT_TIMEOUT)?,
        workers: args.batch.workers as usize,
        batch_timeout: Duration::from_secs(args.batch.batch_timeout),
        with_content: !args.no_content,
        profile: settings.profile.clone(),
    };
    let store = open_store(settings).await?;
    let overrides = ContentStore::overrides(&settings.home);
    let vaults = ContentStore::vaults(&settings.home);
    let sinks = Sinks { store: &store, overrides: &overrides, vaults: &vaults };
    let progress = progress_bar(hosts.len(), from_file && !args.quiet && !args.json);
    let started = std::time::Instant::now();
    let reports = gather_hosts(&hosts, &gather, &sinks, |_, _| {
        progress.inc(1);
        let remaining = progress.length().unwrap_or(0).saturating_sub(progress.position());
        progress.set_message(format!("remaining: {remaining}"));
    })
    .await;
    progress.finish_and_clear();
    store.close().await;
    let reports = reports?;
    let elapsed = started.elapsed();
    let summary = summarize(reports.iter().map(|r| (r.host.as_str(), &r.audit)));
    if args.json {
        print_json(&json_report(&reports, &summary, from_file))?;
    } else if args.quiet {
        println!("{}", quiet_line(&reports, &summary, elapsed));
    } else if from_file || reports.len() > 1 {
        print_batch(&reports, &summary, args.verbose, settings);
    } else {
        print_single(&reports[0], !args.no_content);
    }
    Ok(if summary.failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// Audits `hosts` quietly (after a change) and returns how many succeeded.
pub async fn reaudit(
    settings: &Settings,
    store: &fleetroll_store::Store,
    hosts: &[String],
    ssh: SshSettings,
    workers: usize,
) -> anyhow::Result<usize> {
    let gather = GatherSettings {
        ssh: SshSettings { timeout: Duration::from_secs(DEFAULT_TIMEOUT), ..ssh },
        workers,
        batch_timeout: Duration::from_secs(600),
        with_content: true,
        profile: settings.profile.clone(),
    };
    let overrides = ContentStore::overrides(&settings.home);
    let vaults = ContentStore::vaults(&settings.home);
    let sinks = Sinks { store, overrides: &overrides, vaults: &vaults };
    let reports = gather_hosts(hosts, &gather, &sinks, |_, _| {}).await?;
    Ok(reports.iter().filter(|r| r.audit.is_ok()).count())
}

/// Seconds one host may take by default.
pub const DEFAULT_TIMEOUT: u64 = 10;

pub fn ssh_settings(args: &SshArgs, home: &Path, default_timeout: u64) -> anyhow::Result<SshSettings> {
    let mut options = Vec::new();
    for option in &args.ssh_options {
        let words = shlex::split(option).with_context(|| format!("--ssh-option {option:?} has unbalanced quotes"))?;
        options.extend(words);
    }
    let control_dir = if args.reuse_connections { Some(control_dir(home)?) } else { None };
    Ok(SshSettings {
        options,
        connect_timeout: args.connect_timeout,
        timeout: Duration::from_secs(args.timeout.unwrap_or(default_timeout)),
        control_dir,
        ..SshSettings::default()
    })
}

/// `<home>/ssh-control`, private to the user. A Unix socket path holds at
/// most 107 bytes, and ssh adds a 40-character connection hash.
fn control_dir(home: &Path) -> anyhow::Result<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = home.join("ssh-control");
    if dir.as_os_str().len() + 41 > 107 {
        anyhow::bail!("--reuse-connections: {} is too long a path for SSH control sockets", dir.display());
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
        .with_context(|| format!("cannot make {} private", dir.display()))?;
    Ok(dir)
}

/// A bar on stderr for batches; indicatif hides it when stderr is not a terminal.
fn progress_bar(hosts: usize, wanted: bool) -> ProgressBar {
    if !wanted {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(hosts as u64);
    let style = ProgressStyle::with_template("Auditing hosts {bar:30} {pos}/{len} ({msg}, elapsed: {elapsed})")
        .expect("a valid progress template");
    bar.set_style(style);
    bar.set_message(format!("remaining: {hosts}"));
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

fn human_duration(duration: Duration) -> String {
    let secs = duration.as_secs();
    if secs >= 60 { format!("{}m{:02}s", secs / 60, secs % 60) } else { format!("{:.1}s", duration.as_secs_f64()) }
}

fn quiet_line(reports: &[HostReport], summary: &BatchSummary, elapsed: Duration) -> String {
    let took = human_duration(elapsed);
    match reports {
        [one] if summary.failed == 0 => format!("✓ SUCCESS {} ({took})", one.host),
        _ if summary.failed == 0 => {
            format!("✓ SUCCESS {}/{} hosts successful ({took})", summary.successful, summary.total)
        }
        _ => format!(
            "⚠ WARNING {}/{} hosts successful ({} failed) ({took})",
            summary.successful, summary.total, summary.failed
        ),
    }
}

fn host_json(report: &HostReport) -> Value {
    let audit = &report.audit;
    json!({
        "host": report.host,
        "ok": audit.is_ok(),
        "ssh_rc": report.ssh_rc,
        "error": audit.failure.as_ref().map(|f| f.message.clone()),
        "error_class": audit.failure.as_ref().map(|f| f.class.as_str()),
        "duration_s": report.duration.as_secs_f64(),
        "observed": audit.observed,
        "override_file_path": report.override_path,
        "vault_file_path": report.vault_path,
        "vault_fetch_error": audit.vault_error,
    })
}

fn json_report(reports: &[HostReport], summary: &BatchSummary, from_file: bool) -> Value {
    if let ([one], false) = (reports, from_file) {
        return host_json(one);
    }
    json!({
        "results": reports.iter().map(host_json).collect::<Vec<_>>(),
        "total": summary.total,
        "successful": summary.successful,
        "failed": summary.failed,
        "failed_by_class": summary.failed_by_class,
        "unique_overrides": summary.unique_overrides,
    })
}

fn meta_line(meta: Option<&fleetroll_core::gather::FileMeta>) -> String {
    meta.map_or_else(String::new, |m| {
        format!(" mode={} owner={} group={} size={} mtime_epoch={}", m.mode, m.owner, m.group, m.size, m.mtime_epoch)
    })
}

fn print_single(report: &HostReport, with_content: bool) {
    let audit = &report.audit;
    let o = &audit.observed;
    println!("Host: {}", report.host);
    match &audit.failure {
        None => println!("Status: OK ({})", human_duration(report.duration)),
        Some(failure) => println!("Status: FAILED [{}] {}", failure.class.as_str(), failure.message),
    }
    if o.os_type.is_none() {
        return; // Nothing was learned; the status line says why.
    }
    println!("OS: {}", o.os_type.as_deref().unwrap_or("?"));
    match (&o.role, o.role_present) {
        (Some(role), true) => println!("Role: {role}"),
        _ => println!("Role: MISSING"),
    }
    if o.override_present {
        println!("Override: PRESENT{}", meta_line(o.override_meta.as_ref()));
        if let Some(sha) = &o.override_sha256 {
            println!("  sha256={sha}");
        }
        if let (true, Some(content)) = (with_content, &audit.override_content) {
            println!("--- override contents ---");
            print!("{}", String::from_utf8_lossy(content));
            if !content.ends_with(b"\n") {
                println!();
            }
            println!("--- end override contents ---");
        }
        if let Some(path) = &report.override_path {
            println!("  stored: {}", path.display());
        }
    } else {
        println!("Override: ABSENT");
    }
    if o.vault_present {
        println!("Vault: PRESENT{}", meta_line(o.vault_meta.as_ref()));
        if let Some(sha) = &o.vault_sha256 {
            println!("  sha256={sha}");
        }
        if let Some(path) = &report.vault_path {
            println!("  stored: {}", path.display());
        }
        if let Some(error) = &audit.vault_error {
            println!("  vault copy: {error}");
        }
    } else {
        println!("Vault: ABSENT");
    }
    if let Some(sha) = &o.puppet_git_sha {
        let success = match o.puppet_success {
            Some(true) => "success",
            Some(false) => "FAILED",
            None => "unknown result",
        };
        let branch = o.puppet_git_branch.as_deref().unwrap_or("?");
        println!("Puppet: {sha} ({branch}), {success}, at {}", o.puppet_state_ts.as_deref().unwrap_or("?"));
    }
}

fn print_batch(reports: &[HostReport], summary: &BatchSummary, verbose: bool, settings: &Settings) {
    let pct = |n: usize| if summary.total == 0 { 0.0 } else { n as f64 * 100.0 / summary.total as f64 };
    println!("Summary:");
    println!("  Total hosts: {}", summary.total);
    println!("  Successful: {} ({:.1}%)", summary.successful, pct(summary.successful));
    println!("  Failed: {} ({:.1}%)", summary.failed, pct(summary.failed));
    for (class, count) in &summary.failed_by_class {
        println!("    - {}: {count}", class.as_str());
    }
    println!();
    println!("Status by Host:");
    for report in reports {
        let audit = &report.audit;
        match (&audit.failure, &audit.observed.override_sha256) {
            (Some(failure), _) => println!("  ✗ {} ({}: {})", report.host, failure.class.as_str(), failure.message),
            (None, Some(sha)) => println!("  ✓ {} (OVERRIDE [sha256: {}...])", report.host, &sha[..12.min(sha.len())]),
            (None, None) => println!("  ✓ {} (no-override)", report.host),
        }
        if verbose && audit.is_ok() {
            let o = &audit.observed;
            println!("      Role: {}", o.role.as_deref().unwrap_or("MISSING"));
            if o.override_present {
                println!("      Override:{}", meta_line(o.override_meta.as_ref()));
            }
            println!("      Took: {}", human_duration(report.duration));
        }
    }
    if !summary.unique_overrides.is_empty() {
        println!();
        println!("Unique Override Contents:");
        for (i, group) in summary.unique_overrides.iter().enumerate() {
            println!(
                "  [{}] SHA256: {}... ({} hosts)",
                i + 1,
                &group.sha256[..12.min(group.sha256.len())],
                group.hosts.len()
            );
            let first = reports.iter().find(|r| r.audit.observed.override_sha256.as_ref() == Some(&group.sha256));
            match first.and_then(|r| r.override_path.as_ref().zip(r.audit.override_content.as_ref())) {
                Some((path, _)) if verbose => println!("      Stored: {}", path.display()),
                Some((_, content)) => {
                    println!("--- content_start ---");
                    print!("{}", String::from_utf8_lossy(content));
                    println!("--- content_end ---");
                }
                None => {}
            }
        }
    }
    println!();
    println!("Observations: {}", settings.store);
    println!("Override files: {}", settings.home.join(fleetroll_store::content::OVERRIDES_DIR).display());
}
