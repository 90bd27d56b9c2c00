//! `fleetroll serve`: the HTTP API on the configured store, with the
//! liveness consumer when `[liveness] url` is set, until SIGINT or SIGTERM;
//! then in-flight requests finish, the consumer commits the batch in hand,
//! and queued Pulse messages get a short grace period to go out.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Args;
use fleetroll_core::config::Settings;
use fleetroll_core::liveness::IngestCounters;
use fleetroll_pulse::PublisherConfig;
use fleetroll_server::{AppState, ServerOptions, VersionInfo};
use tokio::sync::watch;

use crate::commands::job::WorkerArgs;
use crate::commands::liveness::LivenessArgs;
use crate::settings::open_store;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// ADDRESS:PORT to listen on (default: `[server] listen`, 127.0.0.1:8080); port 0 picks a free one.
    #[arg(long, env = "FLEETROLL_LISTEN")]
    pub listen: Option<SocketAddr>,
    #[command(flatten)]
    pub liveness: LivenessArgs,
    #[command(flatten)]
    pub workers: WorkerArgs,
}

pub async fn run(settings: &Settings, args: &ServeArgs) -> anyhow::Result<ExitCode> {
    let store = open_store(settings).await?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let (pulse, publisher) = match &settings.pulse.url {
        Some(url) => {
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
            let config = PublisherConfig::new(url.clone(), settings.pulse.exchange.clone());
            let stopped = stopped(stop_rx.clone());
            let task = tokio::spawn(async move { fleetroll_pulse::run_publisher(config, rx, stopped).await });
            (Some(tx), Some(task))
        }
        None => {
            tracing::info!("no [pulse] url: tree status changes are not published");
            (None, None)
        }
    };
    let counters = Arc::new(IngestCounters::default());
    let consumer = match args.liveness.consumer_config(settings)? {
        Some(config) => {
            let (store, counters, stopped) = (store.clone(), counters.clone(), stopped(stop_rx.clone()));
            Some(tokio::spawn(crate::commands::liveness::consume(config, store, counters, stopped)))
        }
        None => {
            tracing::info!("no [liveness] url: worker liveness is not consumed from Pulse");
            None
        }
    };
    let jobs = crate::commands::job::jobs_context(settings)?;
    let state = AppState::new(store.clone(), server_options(settings), pulse)
        .context("invalid [server] settings")?
        .with_liveness(counters.clone())
        .with_jobs(jobs.clone());
    let workers = args.workers.spawn(settings, &jobs, &store, &stop_rx);
    let address = args.listen.unwrap_or(settings.server.listen);
    let listener =
        tokio::net::TcpListener::bind(address).await.with_context(|| format!("cannot listen on {address}"))?;
    // Tests and scripts that ask for port 0 read the address from here.
    eprintln!("fleetroll serve: listening on http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        termination().await;
        let _ = stop_tx.send(true);
    });
    let served = fleetroll_server::serve(listener, state, stopped(stop_rx)).await;
    if let Some(publisher) = publisher {
        match publisher.await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => tracing::warn!("the Pulse publisher stopped: {err}"),
            Err(err) => tracing::warn!("the Pulse publisher failed: {err}"),
        }
    }
    for worker in workers {
        let _ = worker.await;
    }
    if let Some(consumer) = consumer {
        match consumer.await {
            Ok(Ok(())) => {
                tracing::info!("liveness consumer stopped: {}", crate::commands::liveness::summary(&counters))
            }
            Ok(Err(err)) => tracing::warn!("the liveness consumer stopped: {err:#}"),
            Err(err) => tracing::warn!("the liveness consumer failed: {err}"),
        }
    }
    store.close().await;
    served.context("the server stopped")?;
    eprintln!("fleetroll serve: stopped");
    Ok(ExitCode::SUCCESS)
}

fn server_options(settings: &Settings) -> ServerOptions {
    ServerOptions {
        scope_prefix: settings.server.scope_prefix.clone(),
        cors_origins: settings.server.cors_origins.clone(),
        pulse_exchange: settings.pulse.exchange.clone(),
        version_check_interval: settings.server.cache_recheck,
        request_timeout: settings.server.request_timeout,
        version: VersionInfo {
            commit: option_env!("FLEETROLL_COMMIT").unwrap_or_default().to_owned(),
            build: option_env!("FLEETROLL_BUILD").unwrap_or_default().to_owned(),
            ..VersionInfo::default()
        },
        ..ServerOptions::default()
    }
}

/// Resolves once `stop` turns true.
async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}

/// SIGINT (Ctrl-C) or SIGTERM (a service manager).
pub async fn termination() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(err) => {
                tracing::warn!("cannot watch for SIGTERM: {err}");
                let _ = interrupt.await;
                return;
            }
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
