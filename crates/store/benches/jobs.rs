//! Benchmark: the job queue's own limit, on each backend. 10,000 jobs are
//! queued, then 16 workers, each with a connection of its own as separate
//! `fleetroll worker` processes would have, claim and finish jobs as fast as
//! the store lets them until the queue is empty. No job does anything, so
//! this is the most jobs per second the queue can hand out, not what a fleet
//! of reboots needs.
//!
//! Reported: enqueue rate; claim+finish rate; queue-to-claim latency, a
//! job's claim time (read back from the store) minus the later of its
//! enqueue time and the workers' start, since no job could be claimed while
//! the backlog was being queued: with the whole backlog queued first, this is
//! how long the backlog takes to drain to each job; and the time of one
//! claim call, which is what a job waits on an idle queue besides the
//! workers' polling interval.
//!
//! `cargo bench -p fleetroll-store --bench jobs` prints one line per backend.
//! PostgreSQL comes from `FLEETROLL_TEST_DATABASE_URL` (default: the local
//! server) and is skipped, saying why, when it cannot be reached.

use std::time::{Duration, Instant};

use chrono::Utc;
use fleetroll_core::jobs::{JobState, TaskName};
use fleetroll_store::{JobFilter, NewJob, Store, StoreOptions, Verdict};
use fleetroll_testdb::{Kind, TestDb};

const JOBS: usize = 10_000;
const WORKERS: usize = 16;
const LEASE: Duration = Duration::from_secs(300);

fn main() {
    fleetroll_testdb::bench_each_backend("jobs", measure);
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    samples[((samples.len() - 1) as f64 * p).round() as usize]
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

async fn measure(kind: Kind) -> String {
    let db = TestDb::create(kind).await;
    let options = StoreOptions { max_connections: WORKERS as u32, ..StoreOptions::default() };
    let store = Store::open(&db.location, &options).await.expect("open the store");

    let start = Instant::now();
    for n in 0..JOBS {
        let new = NewJob::new(TaskName::Ping, format!("t-linux64-ms-{n:05}"), "bench", "queue limit");
        store.enqueue(&new, Utc::now()).await.expect("enqueue");
    }
    let enqueue_time = start.elapsed();

    let start = Instant::now();
    let drain_start = Utc::now();
    let mut workers = Vec::with_capacity(WORKERS);
    for n in 0..WORKERS {
        let store = store.clone();
        workers.push(tokio::spawn(async move {
            let worker = format!("bench-worker-{n}");
            let mut claims = Vec::new();
            loop {
                let call = Instant::now();
                let Some(job) = store.claim(&worker, LEASE, Utc::now()).await.expect("claim") else { break };
                claims.push(call.elapsed());
                let done = store.finish(job.id, &worker, Verdict::Succeeded, None, Utc::now()).await;
                assert!(done.expect("finish"), "job {} was taken from {worker}", job.id);
            }
            claims
        }));
    }
    let mut claim_calls = Vec::with_capacity(JOBS);
    for worker in workers {
        claim_calls.extend(worker.await.expect("a worker"));
    }
    let drain_time = start.elapsed();
    assert_eq!(claim_calls.len(), JOBS, "every job claimed once");

    let filter = JobFilter { host: None, state: None, limit: JOBS };
    let jobs = store.jobs(&filter).await.expect("list the jobs");
    assert!(jobs.iter().all(|job| job.state == JobState::Succeeded && job.attempts == 1));
    let mut waits: Vec<Duration> = jobs
        .iter()
        .map(|job| (job.started_at.expect("started") - job.created_at.max(drain_start)).to_std().unwrap_or_default())
        .collect();
    store.close().await;
    db.drop_db().await;

    format!(
        "jobs/{:<8} {JOBS} jobs: enqueue {:.0} jobs/s; {WORKERS} workers claim+finish {:.2} s, {:.0} jobs/s; \
         queue-to-claim p50 {:.0} ms, p99 {:.0} ms (backlog of {JOBS}, from the workers' start); one claim call p50 {:.2} ms, p99 {:.2} ms",
        kind.name(),
        JOBS as f64 / enqueue_time.as_secs_f64(),
        drain_time.as_secs_f64(),
        JOBS as f64 / drain_time.as_secs_f64(),
        ms(percentile(&mut waits, 0.5)),
        ms(percentile(&mut waits, 0.99)),
        ms(percentile(&mut claim_calls, 0.5)),
        ms(percentile(&mut claim_calls, 0.99)),
    )
}
