//! `GET /api/v1/workers` and `GET /machines` at fleet scale: a SQLite
//! store with 20,000 workers, each with 20 runs in the window (one still
//! running), served in-process on 127.0.0.1:0. Prints, per route, the
//! median and slowest of a few requests and the body's size; the first
//! request of each is a warm-up and not counted. Also prints the time of
//! the store's two reads for the list alone (`sightings` and
//! `worker_activity`), the list's share spent in the store.
//!
//! `FLEETROLL_BENCH_WORKERS` (default 20000) and `FLEETROLL_BENCH_RUNS`
//! (default 20) change the fleet.

use std::time::{Duration, Instant};

use chrono::Utc;
use fleetroll_core::config::StoreLocation;
use fleetroll_core::liveness::{BatchEffects, RunRecord, RunState, Sighting, WorkerRun};
use fleetroll_core::time::truncate_to_micros;
use fleetroll_server::{AppState, ServerOptions, serve};
use fleetroll_store::{Store, StoreOptions};

const REQUESTS: usize = 5;

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|value| value.parse().ok()).unwrap_or(default)
}

fn main() {
    let workers = env_number("FLEETROLL_BENCH_WORKERS", 20_000);
    let runs = env_number("FLEETROLL_BENCH_RUNS", 20);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(run(workers, runs));
}

async fn run(workers: usize, runs_per_worker: usize) {
    let dir = tempfile::tempdir().unwrap();
    let location = StoreLocation::Sqlite(dir.path().join("fleetroll.db"));
    let store = Store::open(&location, &StoreOptions::default()).await.unwrap();
    let now = truncate_to_micros(Utc::now());
    let filling = Instant::now();
    // Batches of about the consumer's size, so filling takes seconds.
    for first in (0..workers).step_by(100) {
        let mut batch = BatchEffects::default();
        for n in first..(first + 100).min(workers) {
            let (worker_group, worker_id) = (format!("mdc{}", n % 3), format!("t-linux64-ms-{n:05}"));
            batch.sightings.push(Sighting {
                worker_group: worker_group.clone(),
                worker_id: worker_id.clone(),
                seen: now,
            });
            for r in 0..runs_per_worker {
                let started = now - chrono::Duration::minutes(30 * (r as i64 + 1));
                let state = match r {
                    0 => RunState::Running,
                    r if r % 10 == 1 => RunState::Failed,
                    _ => RunState::Completed,
                };
                let resolved = (r > 0).then(|| started + chrono::Duration::minutes(20));
                batch.runs.push(WorkerRun {
                    worker_group: worker_group.clone(),
                    worker_id: worker_id.clone(),
                    provisioner_id: "releng-hardware".into(),
                    worker_type: "gecko-t-linux-talos".into(),
                    run: RunRecord {
                        task_id: format!("w{n:07}r{r:013}"),
                        run_id: 0,
                        state,
                        reason_resolved: state.is_resolved().then(|| state.as_str().to_owned()),
                        started: Some(started),
                        resolved,
                    },
                });
            }
        }
        store.ingest(&batch, now).await.unwrap();
    }
    eprintln!("filled {workers} workers x {runs_per_worker} runs in {:.1} s", filling.elapsed().as_secs_f64());

    // The store's share of the list, read as the route reads it.
    let since = now - chrono::Duration::hours(24);
    let (mut sightings, mut activity) = (Vec::new(), Vec::new());
    let mut listed = 0;
    for _ in 0..3 {
        let started = Instant::now();
        listed = store.sightings().await.unwrap().len();
        sightings.push(started.elapsed());
        let started = Instant::now();
        assert_eq!(store.worker_activity(since).await.unwrap().len(), workers);
        activity.push(started.elapsed());
    }
    sightings.sort_unstable();
    activity.sort_unstable();
    println!(
        "server liveness: store sightings ({listed} workers) median {:.0} ms, worker_activity median {:.0} ms",
        sightings[1].as_secs_f64() * 1000.0,
        activity[1].as_secs_f64() * 1000.0
    );
    let state = AppState::new(store.clone(), ServerOptions::default(), None).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, state, async {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::new();
    for path in ["/api/v1/workers", "/api/v1/workers?window=720", "/machines"] {
        let mut times = Vec::new();
        let mut bytes = 0;
        for _ in 0..=REQUESTS {
            let started = Instant::now();
            let reply = http.get(format!("{base}{path}")).send().await.unwrap();
            assert!(reply.status().is_success(), "{path}: {}", reply.status());
            bytes = reply.bytes().await.unwrap().len();
            times.push(started.elapsed());
        }
        times.remove(0);
        times.sort_unstable();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "server liveness: GET {path} median {:.0} ms, max {:.0} ms, {:.1} MB \
             ({workers} workers, {} runs, SQLite, {REQUESTS} requests)",
            ms(times[times.len() / 2]),
            ms(times[times.len() - 1]),
            bytes as f64 / 1e6,
            workers * runs_per_worker,
        );
    }
    let _ = stop.send(());
    server.await.unwrap().unwrap();
    store.close().await;
}
