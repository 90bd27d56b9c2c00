//! Benchmark: 10,000 `ping` jobs against loopback addresses through 16
//! production workers (`run_worker`, the real `ping`, the store's queue),
//! on each backend.
//!
//! Two figures per backend:
//! - throughput: the 10,000 jobs are queued, the workers started, and the
//!   time to the last job's end gives jobs/s (each job spawns `ping -c 1`,
//!   so this is the queue plus one process per job on 2 cores);
//! - latency on a queue that keeps up: 500 jobs queued 40 ms apart while the
//!   workers run, through the workers' store and then through another
//!   handle on the same database, as another replica would; queue-to-start
//!   is a job's start (its claim, read back from the store) minus its
//!   enqueue time. The workers keep their production poll (250 ms); a job
//!   queued wakes one of them, except one queued by another process on
//!   SQLite, which waits for the poll.
//!
//! `cargo bench -p fleetroll-jobs --bench ping`; PostgreSQL comes from
//! `FLEETROLL_TEST_DATABASE_URL` (default: the local server) and is skipped,
//! saying why, when it cannot be reached. `FLEETROLL_BENCH_JOBS` changes the
//! count.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use fleetroll_core::jobs::settings::JobsConfig;
use fleetroll_core::jobs::{JobState, TaskName};
use fleetroll_jobs::{JobsRuntime, Tools, WorkerConfig, run_worker};
use fleetroll_store::{Job, JobFilter, NewJob, Store, StoreOptions};
use fleetroll_testdb::{Kind, TestDb};
use tokio::sync::watch;

const WORKERS: usize = 16;
/// Loopback addresses the jobs go to, round robin.
const ADDRESSES: usize = 16;

fn main() {
    let jobs = std::env::var("FLEETROLL_BENCH_JOBS").ok().and_then(|n| n.parse().ok()).unwrap_or(10_000);
    fleetroll_testdb::bench_each_backend("jobs/ping", |kind| measure(kind, jobs));
}

fn runtime() -> Arc<JobsRuntime> {
    let machines: String =
        (1..=ADDRESSES).map(|n| format!("[[machines]]\nhost = \"loop-{n}\"\nfqdn = \"127.0.0.{n}\"\n")).collect();
    let config: JobsConfig = toml::from_str(&machines).expect("[jobs]");
    Arc::new(JobsRuntime {
        inventory: config.inventory().expect("inventory"),
        settings: config.settings().expect("settings"),
        tools: Tools { ping_count: 1, ..Tools::default() },
        webhook: None,
        taskcluster: None,
        quarantine_for: fleetroll_jobs::DEFAULT_QUARANTINE_FOR,
    })
}

fn start_workers(
    store: &Store,
    runtime: &Arc<JobsRuntime>,
    stop: &watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..WORKERS)
        .map(|n| {
            let config = WorkerConfig::new(format!("bench-{n}"));
            let mut stop = stop.clone();
            let stopped = async move {
                let _ = stop.wait_for(|stopped| *stopped).await;
            };
            tokio::spawn(run_worker(store.clone(), runtime.clone(), config, stopped))
        })
        .collect()
}

async fn enqueue(store: &Store, n: usize) -> Job {
    let host = format!("127.0.0.{}", n % ADDRESSES + 1);
    store.enqueue(&NewJob::new(TaskName::Ping, host, "bench", "throughput"), Utc::now()).await.expect("enqueue")
}

/// Waits until no job is queued or running.
async fn drained(store: &Store) {
    loop {
        let counts = store.job_counts().await.expect("counts");
        let open: i64 = counts.iter().filter(|(state, _)| !state.is_terminal()).map(|(_, n)| n).sum();
        if open == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn percentile(samples: &mut [Duration], p: f64) -> f64 {
    samples.sort();
    samples[((samples.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1e3
}

async fn measure(kind: Kind, count: usize) -> String {
    let db = TestDb::create(kind).await;
    let options = StoreOptions { max_connections: WORKERS as u32 + 2, ..StoreOptions::default() };
    let store = Store::open(&db.location, &options).await.expect("open the store");
    let runtime = runtime();

    for n in 0..count {
        enqueue(&store, n).await;
    }
    let (stop_tx, stop_rx) = watch::channel(false);
    let started = Instant::now();
    let workers = start_workers(&store, &runtime, &stop_rx);
    drained(&store).await;
    let throughput = count as f64 / started.elapsed().as_secs_f64();

    let here = queue_to_start(&store, &store).await;
    // Another handle on the same database queues, as another replica would.
    let replica = Store::open(&db.location, &StoreOptions::default()).await.expect("open a second handle");
    let elsewhere = queue_to_start(&store, &replica).await;
    replica.close().await;
    let _ = stop_tx.send(true);
    for worker in workers {
        let _ = worker.await;
    }

    let all = store.jobs(&JobFilter { host: None, state: None, limit: count + 1000 }).await.expect("jobs");
    let failed = all.iter().filter(|job| job.state != JobState::Succeeded).count();
    store.close().await;
    db.drop_db().await;
    format!(
        "jobs/ping/{:<8} {count} ping jobs, {WORKERS} workers: {throughput:.0} jobs/s ({failed} not succeeded); \
         500 jobs 40 ms apart, queue-to-start: queued here {here}; queued by another replica {elsewhere}",
        kind.name(),
    )
}

/// Queues 500 jobs 40 ms apart through `via` while the workers of `store`
/// run, and gives their queue-to-start p50 and p99: a job's start (its
/// claim, read back from the store) minus its enqueue time.
async fn queue_to_start(store: &Store, via: &Store) -> String {
    let mut ids = Vec::new();
    for n in 0..500 {
        ids.push(enqueue(via, n).await.id);
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    drained(store).await;
    let all = store.jobs(&JobFilter { host: None, state: None, limit: 500 }).await.expect("jobs");
    let mut waits: Vec<Duration> = all
        .iter()
        .filter(|job| ids.contains(&job.id))
        .map(|job| (job.started_at.expect("started") - job.created_at).to_std().unwrap_or_default())
        .collect();
    format!("p50 {:.0} ms, p99 {:.0} ms", percentile(&mut waits, 0.5), percentile(&mut waits, 0.99))
}
