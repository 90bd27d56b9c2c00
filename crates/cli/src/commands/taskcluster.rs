//! `gather-tc`, `gather-gh`, `gather`, `quarantine` and `unquarantine`:
//! Taskcluster and GitHub as sources, and quarantine as an action.
//!
//! Environment variables follow each service's convention and win over
//! config.toml: TASKCLUSTER_ROOT_URL, TASKCLUSTER_CLIENT_ID and
//! TASKCLUSTER_ACCESS_TOKEN (or a credentials file: TC_TOKEN, then
//! `[taskcluster] credentials_file`), GITHUB_API_URL and GITHUB_TOKEN.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use chrono::{Duration, Utc};
use clap::Args;
use fleetroll_core::audit::AuditEntry;
use fleetroll_core::config::Settings;
use fleetroll_core::pools::Throttle;
use fleetroll_store::content::ContentStore;
use fleetroll_taskcluster::{Credentials, GhClient, GhSettings, RetryPolicy, TcClient, TcReport, TcSettings};
use serde_json::json;

use super::gather_host;
use crate::cli::{GatherHostArgs, JsonArgs};
use crate::output::print_json;
use crate::settings::open_store;

#[derive(Debug, Args)]
pub struct GatherTcArgs {
    /// A host, or a host list file.
    #[arg(value_name = "HOST_OR_FILE")]
    pub target: String,
    /// Do not fetch GitHub refs afterwards (gather-gh, throttled to once an hour).
    #[arg(long)]
    pub no_gh: bool,
    /// Print one line.
    #[arg(long, short = 'q', conflicts_with = "json")]
    pub quiet: bool,
    #[command(flatten)]
    pub output: JsonArgs,
}

#[derive(Debug, Args)]
pub struct GatherGhArgs {
    /// Fetch even if refs were fetched within the last hour.
    #[arg(long)]
    pub override_delay: bool,
    /// Print one line.
    #[arg(long, short = 'q', conflicts_with = "json")]
    pub quiet: bool,
    #[command(flatten)]
    pub output: JsonArgs,
}

#[derive(Debug, Args)]
pub struct GatherArgs {
    #[command(flatten)]
    pub host: GatherHostArgs,
    /// Skip the SSH audit.
    #[arg(long)]
    pub skip_host: bool,
    /// Skip Taskcluster.
    #[arg(long)]
    pub skip_tc: bool,
    /// Skip GitHub.
    #[arg(long)]
    pub skip_gh: bool,
}

#[derive(Debug, Args)]
pub struct QuarantineArgs {
    /// Hosts (comma lists allowed, short names expanded) or one host list file.
    #[arg(value_name = "HOST_OR_FILE", required = true)]
    pub targets: Vec<String>,
    /// Why: sent to Taskcluster and recorded in the audit trail.
    #[arg(long, required = true)]
    pub reason: String,
    /// How long the quarantine lasts (quarantine only).
    #[arg(long, value_name = "HOURS", default_value_t = 168)]
    pub hours: i64,
    /// Really change Taskcluster; without it, show which workers would change.
    #[arg(long)]
    pub confirm: bool,
    #[command(flatten)]
    pub output: JsonArgs,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

pub(crate) fn tc_client(settings: &Settings) -> anyhow::Result<TcClient> {
    let root_url = env("TASKCLUSTER_ROOT_URL").unwrap_or_else(|| settings.taskcluster.root_url.clone());
    let credentials = match (env("TASKCLUSTER_CLIENT_ID"), env("TASKCLUSTER_ACCESS_TOKEN")) {
        (Some(client_id), Some(access_token)) => Some(Credentials { client_id, access_token }),
        _ => {
            let file = env("TC_TOKEN").map(Into::into).or_else(|| settings.taskcluster.credentials_file.clone());
            file.map(|path| read_credentials(&path)).transpose()?
        }
    };
    Ok(TcClient::new(&root_url, credentials, RetryPolicy::default())?)
}

/// `{"clientId": …, "accessToken": …}`, the MVP's `~/.tc_token`.
fn read_credentials(path: &Path) -> anyhow::Result<Credentials> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct File {
        client_id: String,
        access_token: String,
    }
    let text =
        std::fs::read(path).with_context(|| format!("cannot read Taskcluster credentials {}", path.display()))?;
    let file: File = serde_json::from_slice(&text).with_context(|| {
        format!("Taskcluster credentials {} must be JSON with clientId and accessToken", path.display())
    })?;
    Ok(Credentials { client_id: file.client_id, access_token: file.access_token })
}

fn gh_settings(settings: &Settings) -> anyhow::Result<GhSettings> {
    let api_url = env("GITHUB_API_URL").unwrap_or_else(|| settings.github_api_url.clone());
    let token = env("GITHUB_TOKEN").or_else(|| settings.github_token.as_ref().map(|t| t.expose().to_owned()));
    Ok(GhSettings::new(GhClient::new(&api_url, token, RetryPolicy::default())?))
}

pub async fn gather_tc(settings: &Settings, args: &GatherTcArgs) -> anyhow::Result<ExitCode> {
    let (hosts, _) = crate::host_args::single(&args.target)?;
    let report = run_tc(settings, &hosts, args.quiet || args.output.json).await?;
    if args.output.json {
        print_json(&report)?;
    } else {
        print_tc(&report, args.quiet);
    }
    if !args.no_gh {
        gather_gh(settings, &GatherGhArgs { override_delay: false, quiet: true, output: JsonArgs { json: false } })
            .await?;
    }
    Ok(if report.has_problems() { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

async fn run_tc(settings: &Settings, hosts: &[String], quiet: bool) -> anyhow::Result<TcReport> {
    let tc = TcSettings {
        client: tc_client(settings)?,
        roles: settings.taskcluster.roles.clone(),
        concurrency: settings.taskcluster.concurrency,
        task_runs: settings.taskcluster.task_runs,
    };
    let store = open_store(settings).await?;
    let overrides = ContentStore::overrides(&settings.home);
    let progress = |done: &fleetroll_taskcluster::gather::PoolDone<'_>| {
        if !quiet {
            match done.error {
                None => eprintln!("  {}: {} worker(s)", done.pool.id(), done.workers),
                Some(error) => eprintln!("  {}: {error}", done.pool.id()),
            }
        }
    };
    let report = fleetroll_taskcluster::gather_tc(hosts, &store, &overrides, &tc, Utc::now(), &progress).await?;
    store.close().await;
    Ok(report)
}

fn print_tc(report: &TcReport, quiet: bool) {
    let problems = report.pool_errors.len() + report.hosts_without_role.len() + report.unknown_roles.len();
    if quiet {
        let mark = if report.has_problems() { "⚠ WARNING" } else { "✓ SUCCESS" };
        println!(
            "{mark} Wrote {} worker(s), {} pool(s) scanned, {problems} problem(s)",
            report.workers_written, report.pools_scanned
        );
        return;
    }
    println!(
        "Hosts: {}, pools scanned: {}, workers seen: {}, written: {}",
        report.hosts, report.pools_scanned, report.workers_seen, report.workers_written
    );
    if !report.hosts_without_role.is_empty() {
        println!(
            "{} host(s) without role data (run gather-host): {}",
            report.hosts_without_role.len(),
            report.hosts_without_role.join(", ")
        );
    }
    for (role, hosts) in &report.unknown_roles {
        println!("WARNING: role '{role}' not in the role table, skipping {} host(s)", hosts.len());
    }
    for problem in &report.pool_errors {
        println!("ERROR pool {}: {}", problem.pool, problem.error);
    }
    for problem in &report.host_problems {
        println!("WARNING {}: {}", problem.host, problem.problem);
    }
    if !report.hosts_without_worker.is_empty() {
        println!(
            "{} host(s) with no worker in their pool: {}",
            report.hosts_without_worker.len(),
            report.hosts_without_worker.join(", ")
        );
    }
}

pub async fn gather_gh(settings: &Settings, args: &GatherGhArgs) -> anyhow::Result<ExitCode> {
    let gh = gh_settings(settings)?;
    let store = open_store(settings).await?;
    let overrides = ContentStore::overrides(&settings.home);
    let report = fleetroll_taskcluster::gather_gh(&store, &overrides, &gh, args.override_delay, Utc::now()).await?;
    store.close().await;
    if args.output.json {
        print_json(&report)?;
    } else if let Some(Throttle::Skip { age_s, remaining_s }) = &report.skipped {
        println!(
            "GitHub refs fetched {}m ago; next fetch due in {}m (use --override-delay to force)",
            age_s / 60,
            (remaining_s + 59) / 60
        );
    } else {
        let mark = if report.errors.is_empty() { "✓ SUCCESS" } else { "⚠ WARNING" };
        println!(
            "{mark} {} branch head(s) of {} wanted in {} repo(s), {} Windows pool(s)",
            report.branches_written, report.branches_wanted, report.repos, report.pools_written
        );
        if !args.quiet {
            for error in &report.errors {
                println!("  {error}");
            }
        }
        if !report.has_token {
            println!("Hint: set GITHUB_TOKEN or [github] api_token for higher rate limits");
        }
    }
    Ok(if report.errors.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// gather-host, then gather-tc, then gather-gh. Unlike the MVP, a failed
/// host does not stop the later steps: the other hosts still get them.
pub async fn gather(settings: &Settings, args: &GatherArgs) -> anyhow::Result<ExitCode> {
    let mut failed = false;
    if !args.skip_host {
        failed |= gather_host::run(settings, &args.host).await? != ExitCode::SUCCESS;
    }
    if !args.skip_tc {
        let (hosts, _) = crate::host_args::single(&args.host.target)?;
        let report = run_tc(settings, &hosts, true).await?;
        print_tc(&report, true);
        failed |= report.has_problems();
    }
    if !args.skip_gh {
        let gh = GatherGhArgs { override_delay: false, quiet: true, output: JsonArgs { json: false } };
        failed |= gather_gh(settings, &gh).await? != ExitCode::SUCCESS;
    }
    Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

pub async fn quarantine(settings: &Settings, args: &QuarantineArgs, lift: bool) -> anyhow::Result<ExitCode> {
    let hosts = crate::host_args::many(&args.targets)?;
    let client = tc_client(settings)?;
    let now = Utc::now();
    let until = if lift { now } else { now + Duration::hours(args.hours) };
    let store = open_store(settings).await?;
    let outcomes =
        fleetroll_taskcluster::quarantine(&hosts, &store, &client, until, &args.reason, !args.confirm).await?;
    let action = if lift { "host.unquarantine" } else { "host.quarantine" };
    if args.confirm {
        let entries = outcomes
            .iter()
            .map(|o| AuditEntry {
                ts: Utc::now(),
                actor: super::actor(),
                action: action.to_owned(),
                hosts: vec![o.host.clone()],
                parameters: json!({"reason": args.reason, "until": fleetroll_core::time::to_rfc3339(until), "worker": o.worker}),
                result: json!({"ok": o.ok, "error": o.error}),
            })
            .collect();
        store.append_audit(entries).await?;
    }
    store.close().await;
    if args.output.json {
        print_json(
            &json!({"dry_run": !args.confirm, "action": action, "until": fleetroll_core::time::to_rfc3339(until), "results": outcomes}),
        )?;
    } else {
        for outcome in &outcomes {
            let worker = outcome.worker.as_deref().unwrap_or("?");
            match (&outcome.error, args.confirm) {
                (Some(error), _) => println!("FAIL {} ({worker}): {error}", outcome.host),
                (None, true) => println!("OK {} ({worker})", outcome.host),
                (None, false) => println!(
                    "would {} {} ({worker})",
                    if lift { "lift the quarantine of" } else { "quarantine" },
                    outcome.host
                ),
            }
        }
        if !args.confirm {
            println!("DRY RUN: run again with --confirm to change Taskcluster.");
        }
    }
    Ok(if outcomes.iter().all(|o| o.ok) { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
