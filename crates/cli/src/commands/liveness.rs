//! Worker liveness: `fleetroll pulse-listen` (the consumer on its own),
//! the consumer inside `fleetroll serve`, and `fleetroll machines` (the
//! reference listener's `/machines` data in the store).

use std::future::Future;
use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use chrono::Utc;
use clap::{Args, Subcommand};
use fleetroll_core::config::{Secret, Settings, url_with_credentials};
use fleetroll_core::liveness::{self, IngestCounters, MachineSeen, RejectReason, TaskEvent};
use fleetroll_pulse::{ConsumerConfig, Sink};
use fleetroll_store::Store;
use serde_json::json;

use crate::cli::JsonArgs;
use crate::output::print_json;
use crate::settings::open_store;

/// Where Taskcluster's queue events come from, over `[liveness]`.
#[derive(Debug, Args)]
pub struct LivenessArgs {
    /// Pulse URL to consume queue events from (amqps://host:5671/%2f); default `[liveness] url`.
    #[arg(long, env = "FLEETROLL_LIVENESS_URL", hide_env_values = true)]
    pub liveness_url: Option<String>,
    /// Pulse user, if not in the URL (the reference listener's AMQP_USER).
    #[arg(long, env = "AMQP_USER")]
    pub amqp_user: Option<String>,
    /// Pulse password, if not in the URL (the reference listener's AMQP_PASS).
    #[arg(long, env = "AMQP_PASS", hide_env_values = true)]
    pub amqp_pass: Option<String>,
}

impl LivenessArgs {
    /// The consumer's settings, or `None` when no URL is configured.
    pub fn consumer_config(&self, settings: &Settings) -> anyhow::Result<Option<ConsumerConfig>> {
        let configured = &settings.liveness;
        let url = match (&self.liveness_url, &configured.url) {
            (Some(url), _) => url.clone(),
            (None, Some(url)) => url.expose().to_owned(),
            (None, None) => return Ok(None),
        };
        let url = url_with_credentials(&url, self.amqp_user.as_deref(), self.amqp_pass.as_deref())
            .map_err(|problem| anyhow::anyhow!("liveness URL: {problem}"))?;
        let mut config = ConsumerConfig::new(Secret::new(url), configured.queue.clone());
        config.exchange_prefix = configured.exchange_prefix.clone();
        config.provisioners = configured.provisioners.clone();
        config.prefetch = configured.prefetch;
        config.batch_size = configured.batch_size;
        config.batch_wait = configured.batch_wait;
        config.dead_letter_exchange = configured.dead_letter_exchange.clone();
        Ok(Some(config))
    }
}

/// The store as the consumer's sink: a batch is one transaction.
#[derive(Clone, Debug)]
pub struct StoreSink(pub Store);

impl Sink for StoreSink {
    async fn deliver(&self, events: Vec<TaskEvent>) -> Result<(), String> {
        self.0.ingest(&liveness::effects(&events), Utc::now()).await.map_err(|err| err.to_string())
    }
}

/// Runs the consumer into `store` until `stopped`.
pub async fn consume(
    config: ConsumerConfig,
    store: Store,
    counters: Arc<IngestCounters>,
    stopped: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    fleetroll_pulse::run_consumer(config, StoreSink(store), counters, stopped).await?;
    Ok(())
}

#[derive(Debug, Args)]
pub struct PulseListenArgs {
    #[command(flatten)]
    pub source: LivenessArgs,
    /// Connect, declare the queue and its bindings, and exit: 0 when all of it works.
    #[arg(long)]
    pub check: bool,
}

/// `fleetroll pulse-listen`: the consumer alone, until SIGINT or SIGTERM.
pub async fn pulse_listen(settings: &Settings, args: &PulseListenArgs) -> anyhow::Result<ExitCode> {
    let Some(config) = args.source.consumer_config(settings)? else {
        bail!("no Pulse URL to listen to: set `[liveness] url` or FLEETROLL_LIVENESS_URL");
    };
    if args.check {
        let queue = fleetroll_pulse::consumer::check(&config).await?;
        println!("ok: queue {queue} is declared and bound for {}", config.provisioners.join(", "));
        return Ok(ExitCode::SUCCESS);
    }
    let store = open_store(settings).await?;
    let counters = Arc::new(IngestCounters::default());
    eprintln!("fleetroll pulse-listen: consuming for {} (Ctrl-C to stop)", config.provisioners.join(", "));
    consume(config, store.clone(), counters.clone(), crate::commands::serve::termination()).await?;
    store.close().await;
    eprintln!("fleetroll pulse-listen: stopped; {}", summary(&counters));
    Ok(ExitCode::SUCCESS)
}

/// What a consumer did, in one line.
pub fn summary(counters: &IngestCounters) -> String {
    let refused: u64 = RejectReason::ALL.iter().map(|reason| counters.rejected(*reason)).sum();
    format!(
        "{} messages received, {} stored, {} without a run, {refused} refused, {} reconnects",
        IngestCounters::get(&counters.received),
        IngestCounters::get(&counters.stored),
        IngestCounters::get(&counters.no_run),
        IngestCounters::get(&counters.reconnects),
    )
}

#[derive(Debug, Subcommand)]
pub enum MachinesCommand {
    /// Every worker seen, with when (`GET /machines`'s data).
    List(JsonArgs),
    /// When one worker (`DC:HOSTNAME`) was last seen; exit 1 if never.
    Show(ShowArgs),
    /// Load last-seen times from a `GET /machines` JSON array (a file, or stdin).
    ///
    /// Times only move forward: a machine already seen later keeps its time.
    /// Every entry is checked before any is stored.
    Preload(PreloadArgs),
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// `<datacenter>:<hostname>`, i.e. `<workerGroup>:<workerId>`.
    pub id: String,
    #[command(flatten)]
    pub output: JsonArgs,
}

#[derive(Debug, Args)]
pub struct PreloadArgs {
    /// The JSON file; `-` or nothing reads stdin.
    pub file: Option<PathBuf>,
    /// Check the input and say what would be loaded, without storing it.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub output: JsonArgs,
}

pub async fn machines(settings: &Settings, command: &MachinesCommand) -> anyhow::Result<ExitCode> {
    match command {
        MachinesCommand::List(output) => list(settings, output).await,
        MachinesCommand::Show(args) => show(settings, args).await,
        MachinesCommand::Preload(args) => preload(settings, args).await,
    }
}

async fn list(settings: &Settings, output: &JsonArgs) -> anyhow::Result<ExitCode> {
    let store = open_store(settings).await?;
    let sightings = store.sightings().await?;
    store.close().await;
    if output.json {
        let machines: Vec<MachineSeen> = sightings
            .iter()
            .map(|s| MachineSeen {
                machine: s.worker_id.clone(),
                datacenter: s.worker_group.clone(),
                lastseen: liveness::format_lastseen(s.seen),
            })
            .collect();
        print_json(&machines)?;
        return Ok(ExitCode::SUCCESS);
    }
    let now = Utc::now();
    for sighting in &sightings {
        let age = Some((now - sighting.seen).num_seconds());
        println!(
            "{}  {}  ({} ago)",
            liveness::machine_id(&sighting.worker_group, &sighting.worker_id),
            liveness::format_lastseen(sighting.seen),
            fleetroll_core::time::humanize_duration(age, fleetroll_core::time::MinUnit::Seconds)
        );
    }
    if sightings.is_empty() {
        eprintln!("no machine seen yet");
    }
    Ok(ExitCode::SUCCESS)
}

async fn show(settings: &Settings, args: &ShowArgs) -> anyhow::Result<ExitCode> {
    let Some((group, id)) = liveness::split_machine_id(&args.id) else {
        bail!("{:?} is not DATACENTER:HOSTNAME", args.id);
    };
    let store = open_store(settings).await?;
    let seen = store.sighting(group, id).await?;
    store.close().await;
    let Some(seen) = seen else {
        eprintln!("unknown machine {}: not seen since listening began", args.id);
        return Ok(ExitCode::from(1));
    };
    if args.output.json {
        print_json(&liveness::format_lastseen(seen))?;
    } else {
        println!("{}", liveness::format_lastseen(seen));
    }
    Ok(ExitCode::SUCCESS)
}

async fn preload(settings: &Settings, args: &PreloadArgs) -> anyhow::Result<ExitCode> {
    let text = match args.file.as_deref() {
        Some(path) if path.as_os_str() != "-" => {
            std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?
        }
        _ => {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text).context("cannot read stdin")?;
            text
        }
    };
    let sightings = liveness::parse_preload(&text).map_err(|problem| anyhow::anyhow!("nothing loaded: {problem}"))?;
    let changed = if args.dry_run {
        None
    } else {
        let store = open_store(settings).await?;
        let changed = store.record_sightings(&sightings).await?;
        store.close().await;
        Some(changed)
    };
    if args.output.json {
        print_json(&json!({"machines": sightings.len(), "dry_run": args.dry_run, "changed": changed}))?;
    } else if let Some(changed) = changed {
        println!("{} machines read; {changed} added or moved forward", sightings.len());
    } else {
        println!("{} machines read and valid; nothing stored (dry run)", sightings.len());
    }
    Ok(ExitCode::SUCCESS)
}
