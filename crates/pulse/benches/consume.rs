//! Liveness ingest against the broker's own limit: 200,000 task messages
//! (100,000 runs over 20,000 workers, each run's `task-running` and its
//! resolution) are published to the local RabbitMQ and consumed twice from
//! a full queue: once by a bare consumer that only acknowledges (with the
//! same prefetch and batch acknowledgements, so the broker's and the
//! client's share is the same), once by the production consumer into a
//! SQLite store, and again into a PostgreSQL database of its own when the
//! local server (or `FLEETROLL_TEST_DATABASE_URL`) answers. Prints one line
//! per run; the target is an ingest rate of at least 70 % of the bare rate.
//!
//! `cargo bench -p fleetroll-pulse --bench consume`; the broker comes from
//! `FLEETROLL_TEST_AMQP_URL` as in the tests; `FLEETROLL_BENCH_MESSAGES`
//! changes the count.

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use fleetroll_core::config::Secret;
use fleetroll_core::liveness::{self, EventKind, IngestCounters, TaskEvent, sample_message};
use fleetroll_pulse::{ConsumerConfig, Sink, run_consumer};
use fleetroll_store::{Store, StoreOptions};
use fleetroll_testdb::{Kind, TestDb};
use futures_util::StreamExt;
use lapin::options::QueueDeleteOptions;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicQosOptions};
use lapin::types::FieldTable;
use support::TestBroker;

const WORKERS: usize = 20_000;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    if let Err(why) = runtime.block_on(support::broker_reachable()) {
        if support::services_required() {
            eprintln!("liveness consume benchmark failed: {why}");
            std::process::exit(1);
        }
        println!("liveness consume benchmark skipped: {why}");
        return;
    }
    let messages = std::env::var("FLEETROLL_BENCH_MESSAGES").ok().and_then(|n| n.parse().ok()).unwrap_or(200_000);
    let broker = TestBroker::create(support::rabbitmqctl_usable().is_ok());
    let outcome = runtime.block_on(bench(&broker, messages));
    runtime.block_on(broker.remove());
    println!("{outcome}");
}

struct StoreSink(Store);

impl Sink for StoreSink {
    async fn deliver(&self, events: Vec<TaskEvent>) -> Result<(), String> {
        self.0.ingest(&liveness::effects(&events), chrono::Utc::now()).await.map_err(|err| err.to_string())
    }
}

async fn bench(broker: &TestBroker, count: usize) -> String {
    let prefix = format!("{}/", broker.exchange());
    support::declare_task_exchanges(broker, &prefix).await;
    let mut config = ConsumerConfig::new(Secret::new(broker.url.clone()), "liveness-bench");
    config.exchange_prefix = prefix.clone();
    let queue = fleetroll_pulse::consumer::check(&config).await.expect("declare and bind the queue");
    let messages = task_messages(count);

    let mut lines = Vec::new();
    let published = support::publish_task_messages(broker, &prefix, &messages).await;
    let bare = bare_consume(broker, &queue, &config, count).await;
    lines.push(format!(
        "liveness {count} messages ({WORKERS} workers): published at {:.0}/s; bare consumer {:.0} msg/s",
        rate(count, published),
        rate(count, bare)
    ));

    let mut backends = vec![Kind::Sqlite];
    match fleetroll_testdb::postgres_reachable().await {
        Ok(()) => backends.push(Kind::Postgres),
        Err(why) => lines.push(format!("  postgres: skipped: {why}")),
    }
    for kind in backends {
        // A database of its own, dropped after, as the store's tests have.
        let db = TestDb::create(kind).await;
        let store = Store::open(&db.location, &StoreOptions::default()).await.expect("open the store");
        support::publish_task_messages(broker, &prefix, &messages).await;
        let ingest = ingest(&config, &store, count).await;
        let runs = store.runs_since(chrono::DateTime::UNIX_EPOCH).await.expect("runs").len();
        assert_eq!(runs, count / 2, "every run stored once");
        lines.push(format!(
            "  {}: ingest {:.0} msg/s = {:.0}% of the bare consumer",
            kind.name(),
            rate(count, ingest),
            100.0 * bare.as_secs_f64() / ingest.as_secs_f64()
        ));
        store.close().await;
        db.drop_db().await;
    }
    delete_queue(broker, &queue).await;
    lines.join("\n")
}

fn rate(count: usize, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64()
}

/// Each run's running and resolved messages, as (exchange kind, routing
/// key, body).
fn task_messages(count: usize) -> Vec<support::TaskMessage> {
    (0..count / 2)
        .flat_map(|n| {
            let task = format!("task{n:018}");
            let worker = format!("t-linux64-ms-{:05}", n % WORKERS);
            [EventKind::Running, EventKind::Completed].map(|kind| {
                let body = sample_message(kind, &task, 0, "mdc1", &worker);
                let key = format!("primary.{task}.0.mdc1.{worker}.releng-hardware.gecko-t-linux-talos.gecko-level-3.Zx3Nn8N1T2eHVaOEYHRuNQ._");
                (kind, key, body.to_string().into_bytes())
            })
        })
        .collect()
}

/// Takes `count` messages and acknowledges each batch, nothing else.
async fn bare_consume(broker: &TestBroker, queue: &str, config: &ConsumerConfig, count: usize) -> Duration {
    let connection = broker.connect().await.expect("connect");
    let channel = connection.create_channel().await.expect("channel");
    channel.basic_qos(config.prefetch, BasicQosOptions::default()).await.expect("prefetch");
    let mut consumer = channel
        .basic_consume(queue.into(), "bare".into(), BasicConsumeOptions::default(), FieldTable::default())
        .await
        .expect("consume");
    let started = Instant::now();
    for taken in 1..=count {
        let delivery = consumer.next().await.expect("a message").expect("a delivery");
        if taken % config.batch_size == 0 || taken == count {
            delivery.acker.ack(BasicAckOptions { multiple: true }).await.expect("ack");
        }
    }
    let elapsed = started.elapsed();
    let _ = connection.close(200, "consumed".into()).await;
    elapsed
}

/// Runs the production consumer until it has stored `count` messages.
async fn ingest(config: &ConsumerConfig, store: &Store, count: usize) -> Duration {
    let counters = Arc::new(IngestCounters::default());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let started = Instant::now();
    let consumer = tokio::spawn(run_consumer(config.clone(), StoreSink(store.clone()), counters.clone(), async {
        let _ = stopped.await;
    }));
    while IngestCounters::get(&counters.stored) < count as u64 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = started.elapsed();
    let _ = stop.send(());
    consumer.await.expect("consumer task").expect("a clean stop");
    elapsed
}

async fn delete_queue(broker: &TestBroker, queue: &str) {
    let connection = broker.connect().await.expect("connect");
    let channel = connection.create_channel().await.expect("channel");
    let _ = channel.queue_delete(queue.into(), QueueDeleteOptions::default()).await;
    let _ = connection.close(200, "cleaned".into()).await;
}
