//! `fleetroll job`: hardware jobs through a running `fleetroll serve`, so
//! the server's per-task scopes apply to the command line as to any client.
//! Tasks that change a machine are a dry run unless --confirm; `--wait`
//! follows each job's log until it ends.

use std::collections::HashMap;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};
use fleetroll_core::config::Settings;
use fleetroll_core::jobs::{JobState, TaskName};
use fleetroll_server::JobsContext;
use reqwest::Method;
use serde_json::{Value, json};

use crate::cli::JsonArgs;
use crate::commands::http::{Api, segment};
use crate::output::print_json;

#[derive(Debug, Args)]
pub struct JobArgs {
    /// The server (default: `[server] url`, or http://<listen>).
    #[arg(long, env = "FLEETROLL_SERVER_URL", global = true)]
    pub server: Option<String>,
    #[command(subcommand)]
    pub command: JobCommand,
}

#[derive(Debug, Subcommand)]
pub enum JobCommand {
    /// Ask for TASK on each HOST (worker id or inventory name); tasks that change a machine need --confirm.
    ///
    /// Tasks: ping, ssh_reboot, ipmi_list, ipmi_status, ipmi_on, ipmi_off,
    /// ipmi_cycle, ipmi_reset, snmp_reboot, snmp_rebootdelay, reboot (the
    /// escalation chain), quarantine, unquarantine, run_puppet. The client
    /// needs the scope `<prefix>:<task>` (default prefix project:releng:roller).
    Run(RunArgs),
    /// Jobs, newest first.
    List(ListArgs),
    /// One job with every attempt's log.
    Show(ShowArgs),
    /// Cancel a queued or running job (a dry run unless --confirm).
    Cancel(CancelArgs),
}

#[derive(Debug, Args)]
pub struct RunArgs {
    pub task: String,
    #[arg(required = true)]
    pub hosts: Vec<String>,
    /// Why (kept with the job and in its notification).
    #[arg(long)]
    pub reason: Option<String>,
    /// Queue tasks that change machines; without it, say what would be queued.
    #[arg(long)]
    pub confirm: bool,
    /// Follow each job's log until it ends; exit 0 only if every job succeeded.
    #[arg(long)]
    pub wait: bool,
    /// With --wait, give up after this many seconds.
    #[arg(long, default_value_t = 1800)]
    pub wait_timeout: u64,
    #[command(flatten)]
    pub output: JsonArgs,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[arg(long)]
    pub host: Option<String>,
    /// queued, running, succeeded, failed or cancelled.
    #[arg(long)]
    pub state: Option<String>,
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
    #[command(flatten)]
    pub output: JsonArgs,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    pub id: i64,
    #[command(flatten)]
    pub output: JsonArgs,
}

#[derive(Debug, Args)]
pub struct CancelArgs {
    pub id: i64,
    #[arg(long)]
    pub confirm: bool,
    #[command(flatten)]
    pub output: JsonArgs,
}

pub async fn run(settings: &Settings, args: &JobArgs) -> anyhow::Result<ExitCode> {
    let api = Api::new(settings, args.server.as_deref())?;
    match &args.command {
        JobCommand::Run(a) => run_jobs(&api, a).await,
        JobCommand::List(a) => {
            let mut path = format!("/api/v1/jobs?limit={}", a.limit);
            for (name, value) in [("host", &a.host), ("state", &a.state)] {
                if let Some(value) = value {
                    path.push_str(&format!("&{name}={}", segment(value)));
                }
            }
            api.show(Method::GET, &path, None, &a.output, print_jobs).await
        }
        JobCommand::Show(a) => {
            api.show(Method::GET, &format!("/api/v1/jobs/{}", a.id), None, &a.output, print_job).await
        }
        JobCommand::Cancel(a) if !a.confirm => {
            let path = format!("/api/v1/jobs/{}", a.id);
            let code = api.show(Method::GET, &path, None, &a.output, print_job).await?;
            if code == ExitCode::SUCCESS {
                eprintln!("dry run: job {} would be cancelled; add --confirm to cancel it", a.id);
            }
            Ok(code)
        }
        JobCommand::Cancel(a) => {
            api.show(Method::DELETE, &format!("/api/v1/jobs/{}", a.id), None, &a.output, print_job).await
        }
    }
}

async fn run_jobs(api: &Api, args: &RunArgs) -> anyhow::Result<ExitCode> {
    let task = TaskName::parse(&args.task)?;
    if task.changes_machine() && !args.confirm {
        println!("dry run: {task} would be asked for on {}", args.hosts.join(", "));
        println!("add --confirm to queue {}", if args.hosts.len() == 1 { "it" } else { "them" });
        return Ok(ExitCode::SUCCESS);
    }
    let reason = args.reason.as_deref().map(|r| format!("&reason={}", segment(r))).unwrap_or_default();
    let mut queued = Vec::new();
    let mut refused = false;
    for host in &args.hosts {
        let path = format!("/api/v1/workers/{}/jobs?task_name={task}{reason}", segment(host));
        match api.call(Method::POST, &path, None).await? {
            Ok(created) => {
                if !args.output.json {
                    println!("{host}: job {} queued ({task} on {})", created["job_id"], text(&created["host"]));
                }
                queued.push(created);
            }
            Err(_) => refused = true,
        }
    }
    if !args.wait {
        if args.output.json {
            print_json(&queued)?;
        }
        return Ok(if refused { ExitCode::FAILURE } else { ExitCode::SUCCESS });
    }
    let ids: Vec<i64> = queued.iter().filter_map(|c| c["job_id"].as_i64()).collect();
    let finished = follow(api, &ids, Duration::from_secs(args.wait_timeout), !args.output.json).await?;
    if args.output.json {
        print_json(&finished)?;
    }
    let all_succeeded = finished.len() == ids.len() && finished.iter().all(|job| job["state"] == "succeeded");
    Ok(if all_succeeded && !refused { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Polls the jobs until each has ended (or `timeout`), printing their new
/// log lines as they come; returns the jobs that ended.
async fn follow(api: &Api, ids: &[i64], timeout: Duration, progress: bool) -> anyhow::Result<Vec<Value>> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut shown: HashMap<i64, usize> = HashMap::new();
    let mut finished: HashMap<i64, Value> = HashMap::new();
    while finished.len() < ids.len() && tokio::time::Instant::now() < deadline {
        let pending: Vec<i64> = ids.iter().copied().filter(|id| !finished.contains_key(id)).collect();
        for id in pending {
            let Ok(job) = api.call(Method::GET, &format!("/api/v1/jobs/{id}"), None).await? else { continue };
            let lines = job["log"].as_array().cloned().unwrap_or_default();
            let seen = shown.entry(id).or_default();
            if progress {
                for line in &lines[(*seen).min(lines.len())..] {
                    println!("job {id}: {}", text(&line["line"]));
                }
            }
            *seen = lines.len();
            if job["state"].as_str().and_then(JobState::parse).is_some_and(JobState::is_terminal) {
                if progress {
                    println!("job {id}: {} {}", text(&job["state"]), text(&job["result"]));
                }
                finished.insert(id, job);
            }
        }
        if finished.len() < ids.len() {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    if finished.len() < ids.len() {
        eprintln!("gave up waiting after {} s; {} jobs still running", timeout.as_secs(), ids.len() - finished.len());
    }
    Ok(ids.iter().filter_map(|id| finished.remove(id)).collect())
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or("")
}

fn print_jobs(value: &Value) {
    let jobs = value["jobs"].as_array().cloned().unwrap_or_default();
    if jobs.is_empty() {
        eprintln!("no jobs");
        return;
    }
    println!("{:>6}  {:<9}  {:<16}  {:<8}  {:<20}  HOST", "ID", "STATE", "TASK", "ATTEMPTS", "CREATED");
    for job in jobs {
        println!(
            "{:>6}  {:<9}  {:<16}  {:<8}  {:<20}  {}",
            job["id"],
            text(&job["state"]),
            text(&job["task"]),
            format!("{}/{}", job["attempts"], job["max_attempts"]),
            text(&job["created_at"]).get(..19).unwrap_or_default(),
            text(&job["host"]),
        );
    }
}

fn print_job(job: &Value) {
    println!("job {}: {} on {} — {}", job["id"], text(&job["task"]), text(&job["host"]), text(&job["state"]));
    let rows = json!([
        ["requested by", job["requested_by"]],
        ["reason", job["reason"]],
        ["attempts", format!("{} of {}", job["attempts"], job["max_attempts"])],
        ["created", job["created_at"]],
        ["started", job["started_at"]],
        ["finished", job["finished_at"]],
        ["result", job["result"]],
    ]);
    for row in rows.as_array().into_iter().flatten() {
        let value = &row[1];
        if !value.is_null() {
            println!("  {:<13} {}", text(&row[0]), value.as_str().map_or_else(|| value.to_string(), str::to_owned));
        }
    }
    for line in job["log"].as_array().into_iter().flatten() {
        println!("  [{}] {}", line["attempt"], text(&line["line"]));
    }
}

/// How a process runs job workers: `fleetroll worker`, and inside `serve`.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// Workers in this process (jobs run at once); 0 runs none.
    #[arg(long = "job-workers", env = "FLEETROLL_JOB_WORKERS", default_value_t = 4)]
    pub workers: usize,
    /// A URL that gets every finished job as JSON.
    #[arg(long = "job-webhook", env = "FLEETROLL_JOB_WEBHOOK")]
    pub webhook: Option<String>,
}

impl WorkerArgs {
    /// Starts the workers on `store`; each stops when `stop` turns true.
    pub fn spawn(
        &self,
        settings: &Settings,
        jobs: &JobsContext,
        store: &fleetroll_store::Store,
        stop: &tokio::sync::watch::Receiver<bool>,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        let runtime = std::sync::Arc::new(fleetroll_jobs::JobsRuntime {
            inventory: jobs.inventory.clone(),
            settings: jobs.settings.clone(),
            tools: fleetroll_jobs::Tools::default(),
            webhook: self.webhook.clone(),
            taskcluster: worker_tc_client(settings),
            quarantine_for: fleetroll_jobs::DEFAULT_QUARANTINE_FOR,
        });
        let process = format!("{}-{}", hostname(), std::process::id());
        (0..self.workers)
            .map(|n| {
                let config = fleetroll_jobs::WorkerConfig::new(format!("{process}-{n}"));
                let mut stop = stop.clone();
                let stopped = async move {
                    let _ = stop.wait_for(|stopped| *stopped).await;
                };
                tokio::spawn(fleetroll_jobs::run_worker(store.clone(), runtime.clone(), config, stopped))
            })
            .collect()
    }
}

/// The `quarantine` command's client. Without one the workers still run
/// every other task; quarantine jobs fail saying why.
fn worker_tc_client(settings: &Settings) -> Option<fleetroll_taskcluster::TcClient> {
    match crate::commands::taskcluster::tc_client(settings) {
        Ok(client) => Some(client),
        Err(err) => {
            tracing::warn!("no Taskcluster client, so quarantine jobs will fail: {err:#}");
            None
        }
    }
}

/// The machines and settings of `[jobs]`, read once for the API and the
/// workers of a process.
pub fn jobs_context(settings: &Settings) -> anyhow::Result<JobsContext> {
    use anyhow::Context as _;
    Ok(JobsContext {
        inventory: inventory(settings)?,
        settings: settings.jobs.settings().context("invalid [jobs] settings")?,
    })
}

/// The machines of `[jobs]`, and those of roller's `WORKER_CONFIG` file
/// when `[jobs] worker_config` names one (relative to the home directory).
fn inventory(settings: &Settings) -> anyhow::Result<fleetroll_core::jobs::inventory::Inventory> {
    use anyhow::Context as _;
    let configured = settings.jobs.inventory().context("invalid [jobs] inventory")?;
    let Some(path) = &settings.jobs.worker_config else { return Ok(configured) };
    let path = settings.home.join(path);
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let imported = fleetroll_core::jobs::roller::import_worker_config(&text)
        .with_context(|| format!("{}: not a usable WORKER_CONFIG", path.display()))?;
    for note in &imported.notes {
        tracing::info!("{}: {note}", path.display());
    }
    configured.merge(imported).with_context(|| format!("[jobs] and {} disagree", path.display()))
}

/// This machine's name, for worker names an operator can trace.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "fleetroll".to_owned())
}

/// `fleetroll worker`: job workers on the store, until SIGINT or SIGTERM.
pub async fn worker(settings: &Settings, args: &WorkerArgs) -> anyhow::Result<ExitCode> {
    if args.workers == 0 {
        anyhow::bail!("--job-workers 0 runs no worker");
    }
    let store = crate::settings::open_store(settings).await?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let workers = args.spawn(settings, &jobs_context(settings)?, &store, &stop_rx);
    eprintln!("fleetroll worker: {} workers taking jobs (Ctrl-C to stop)", workers.len());
    crate::commands::serve::termination().await;
    let _ = stop_tx.send(true);
    for worker in workers {
        let _ = worker.await;
    }
    store.close().await;
    eprintln!("fleetroll worker: stopped; jobs in hand are taken over when their lease lapses");
    Ok(ExitCode::SUCCESS)
}
