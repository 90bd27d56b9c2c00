//! Benchmark: a consumer's writes of queue events, on each backend. 20,000
//! workers run 10 tasks each; every run is a `task-running` event and later
//! its resolution, delivered in time order (the whole fleet starts a round,
//! then resolves it), in batches of 500 as a consumer takes them. So every
//! batch meets 500 distinct workers and runs, and the resolutions update
//! stored runs rather than insert them: the costly case. Then the workers
//! list's reads: every sighting, and the runs of a recent window.
//!
//! `cargo bench -p fleetroll-store --bench liveness` prints one line per
//! backend. PostgreSQL comes from `FLEETROLL_TEST_DATABASE_URL` (default: the
//! local server) and is skipped, saying why, when it cannot be reached.

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use fleetroll_core::liveness::{Decoded, EventKind, TaskEvent, decode, effects, sample_message};
use fleetroll_core::time::Timestamp;
use fleetroll_testdb::{Kind, TestDb};

const WORKERS: usize = 20_000;
const RUNS: usize = 10;
const BATCH: usize = 500;

fn main() {
    let events = events();
    fleetroll_testdb::bench_each_backend("liveness", |kind| measure(kind, &events));
}

fn base() -> Timestamp {
    Utc.with_ymd_and_hms(2026, 11, 22, 0, 0, 0).unwrap()
}

/// One event decoded from a message as the queue publishes it; the others
/// are copies with their own worker, task and times, which is all that
/// differs between real ones.
fn template(kind: EventKind) -> TaskEvent {
    let body = serde_json::to_vec(&sample_message(kind, "AAAAAAAAAAAAAAAAAAAAAA", 0, "mdc1", "w")).unwrap();
    match decode(kind, &body, base()) {
        Ok(Decoded::Event(event)) => event,
        other => panic!("the sample message decodes: {other:?}"),
    }
}

/// Every event in delivery order.
fn events() -> Vec<TaskEvent> {
    let running = template(EventKind::Running);
    let resolutions = [template(EventKind::Completed), template(EventKind::Failed), template(EventKind::Exception)];
    let mut events = Vec::with_capacity(WORKERS * RUNS * 2);
    for round in 0..RUNS {
        let start = |worker: usize| base() + chrono::Duration::seconds((round * 600 + worker % 300) as i64);
        for worker in 0..WORKERS {
            let mut event = running.clone();
            event.task_id = format!("{:022}", round * WORKERS + worker);
            event.worker_id = format!("t-linux64-ms-{worker:05}");
            event.started = Some(start(worker));
            event.seen = start(worker);
            events.push(event);
        }
        for worker in 0..WORKERS {
            // Mostly completed, some failed, a few exceptions.
            let mut event = resolutions[usize::from(worker % 10 == 7) + usize::from(worker % 30 == 9) * 2].clone();
            let resolved = start(worker) + chrono::Duration::seconds(400);
            event.task_id = format!("{:022}", round * WORKERS + worker);
            event.worker_id = format!("t-linux64-ms-{worker:05}");
            event.started = Some(start(worker));
            event.resolved = Some(resolved);
            event.seen = resolved;
            events.push(event);
        }
    }
    events
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    samples[((samples.len() - 1) as f64 * p).round() as usize]
}

async fn measure(kind: Kind, events: &[TaskEvent]) -> String {
    let db = TestDb::create(kind).await;
    let store = db.open(10).await;
    let mut batches = Vec::with_capacity(events.len() / BATCH + 1);
    let start = Instant::now();
    for chunk in events.chunks(BATCH) {
        let batch_start = Instant::now();
        let now = chunk.last().map_or_else(base, |event| event.seen);
        store.ingest(&effects(chunk), now).await.expect("ingest a batch");
        batches.push(batch_start.elapsed());
    }
    let elapsed = start.elapsed();

    let read = Instant::now();
    let sightings = store.sightings().await.expect("read sightings");
    let sightings_read = read.elapsed();
    assert_eq!(sightings.len(), WORKERS);
    // The last round's resolutions: one run per worker out of the whole
    // history, as the workers list reads a recent window.
    let since = base() + chrono::Duration::seconds(((RUNS - 1) * 600 + 300) as i64);
    let read = Instant::now();
    let window = store.runs_since(since).await.expect("read runs");
    let runs_read = read.elapsed();
    assert_eq!(window.len(), WORKERS);
    store.close().await;
    db.drop_db().await;

    format!(
        "liveness/{:<8} {} events ({WORKERS} workers x {RUNS} runs, running then resolved) in batches of {BATCH}: \
         {:.2} s, {:.0} events/s; batch p50 {:.1} ms, p99 {:.1} ms; read {WORKERS} sightings {:.0} ms, \
         the last round's {} runs {:.0} ms",
        kind.name(),
        events.len(),
        elapsed.as_secs_f64(),
        events.len() as f64 / elapsed.as_secs_f64(),
        percentile(&mut batches, 0.5).as_secs_f64() * 1e3,
        percentile(&mut batches, 0.99).as_secs_f64() * 1e3,
        sightings_read.as_secs_f64() * 1e3,
        window.len(),
        runs_read.as_secs_f64() * 1e3,
    )
}
