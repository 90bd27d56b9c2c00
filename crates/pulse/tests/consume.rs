//! The liveness consumer against a real RabbitMQ and a real store: what
//! lands, what survives a restart or a dropped connection, and what happens
//! to messages we refuse.
//!
//! Each case declares the queue's four task exchanges as Taskcluster does
//! (topic, durable) in a vhost of its own (see `support`), publishes real
//! messages with Taskcluster's routing keys, and runs the production
//! consumer into a SQLite store in a temporary folder.

mod support;

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use fleetroll_core::config::{Secret, StoreLocation};
use fleetroll_core::liveness::{
    self, EventKind, IngestCounters, RejectReason, RunState, TaskEvent, effects, outcomes, sample_message,
};
use fleetroll_core::time::Timestamp;
use fleetroll_pulse::{Backoff, ConsumerConfig, PulseError, Sink, run_consumer};
use fleetroll_store::{Store, StoreOptions};
use lapin::types::FieldTable;
use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::{Value, json};
use support::{TaskMessage, TestBroker};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

type CaseFuture<'a> = Pin<Box<dyn Future<Output = ()> + 'a>>;
type Case = for<'a> fn(&'a Place) -> CaseFuture<'a>;

macro_rules! cases {
    ($($control:literal $name:ident),* $(,)?) => {
        vec![$((stringify!($name), $control, (|p| Box::pin($name(p))) as Case)),*]
    };
}

fn main() {
    let args = Arguments::from_args();
    let probe = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let broker = probe.block_on(support::broker_reachable());
    drop(probe);
    let control = broker.clone().and_then(|()| support::rabbitmqctl_usable());
    let required = support::services_required();
    if let Err(why) = &broker {
        eprintln!("liveness consumer cases {}: {why}", if required { "will fail" } else { "skipped" });
    }
    let trials = all_cases()
        .into_iter()
        .map(|(name, needs_control, case)| {
            let unavailable = if needs_control { control.clone().err() } else { broker.clone().err() };
            let skip = unavailable.is_some() && !required;
            let own_vhost = control.is_ok();
            Trial::test(name, move || run(case, unavailable, own_vhost)).with_ignored_flag(skip)
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}

/// `true`: the case needs `rabbitmqctl` (to close connections from the
/// broker's side).
fn all_cases() -> Vec<(&'static str, bool, Case)> {
    cases![
        false events_land_in_the_store,
        false other_provisioners_are_not_bound,
        false a_restart_mid_stream_loses_nothing_and_counts_nothing_twice,
        true a_connection_closed_by_the_broker_loses_nothing,
        false refused_messages_are_counted_and_never_loop,
        false refused_messages_go_to_the_dead_letter_exchange,
        false a_failing_store_requeues_the_batch,
        false a_missing_exchange_is_named,
    ]
}

fn run(case: Case, unavailable: Option<String>, own_vhost: bool) -> Result<(), Failed> {
    if let Some(why) = unavailable {
        return Err(why.into());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let outcome = runtime.block_on(async {
        let place = Place::create(own_vhost).await;
        let outcome = AssertUnwindSafe(tokio::time::timeout(Duration::from_secs(120), case(&place)));
        let outcome = futures_util::FutureExt::catch_unwind(outcome).await;
        place.remove().await;
        outcome
    });
    match outcome {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err("the case took over 120 s".into()),
        Err(panic) => Err(panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "the case panicked".to_owned())
            .into()),
    }
}

/// A broker vhost with Taskcluster's exchanges, and a store.
struct Place {
    broker: TestBroker,
    prefix: String,
    store: Store,
    _dir: tempfile::TempDir,
}

impl Place {
    async fn create(own_vhost: bool) -> Place {
        let broker = TestBroker::create(own_vhost);
        // In a vhost of our own the exchanges have Taskcluster's names;
        // in a shared one, names of their own.
        let prefix =
            if own_vhost { liveness::DEFAULT_EXCHANGE_PREFIX.to_owned() } else { format!("{}/", broker.exchange()) };
        support::declare_task_exchanges(&broker, &prefix).await;
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(&StoreLocation::Sqlite(dir.path().join("fleetroll.db")), &StoreOptions::default())
            .await
            .expect("open the store");
        Place { broker, prefix, store, _dir: dir }
    }

    async fn remove(self) {
        self.store.close().await;
        if !self.prefix.starts_with("exchange/taskcluster-queue") {
            let connection = self.broker.connect().await.expect("connect");
            let channel = connection.create_channel().await.expect("channel");
            for kind in EventKind::ALL {
                let name = format!("{}{}", self.prefix, kind.exchange_suffix());
                let _ = channel.exchange_delete(name.as_str().into(), Default::default()).await;
            }
            let _ = channel.queue_delete(self.queue().as_str().into(), Default::default()).await;
        }
        self.broker.remove().await;
    }

    /// The queue's full name: `queue/<user>/liveness-test`.
    fn queue(&self) -> String {
        let url = Secret::new(self.broker.url.clone());
        let broker = fleetroll_pulse::broker::Broker::new(&url, Duration::from_secs(5), "test").expect("test URL");
        liveness::queue_name(broker.user(), QUEUE)
    }

    fn config(&self) -> ConsumerConfig {
        let mut config = ConsumerConfig::new(Secret::new(self.broker.url.clone()), QUEUE);
        config.exchange_prefix = self.prefix.clone();
        config.batch_size = 100;
        config.prefetch = 200;
        config.batch_wait = Duration::from_millis(20);
        config.retry = Backoff { initial: Duration::from_millis(50), max: Duration::from_millis(400) };
        config
    }

    async fn publish(&self, messages: &[TaskMessage]) {
        support::publish_task_messages(&self.broker, &self.prefix, messages).await;
    }
}

const QUEUE: &str = "liveness-test";

/// The store as a sink: one transaction per batch.
#[derive(Clone)]
struct StoreSink {
    store: Store,
    /// Batches to refuse before accepting any.
    failures_left: Arc<AtomicUsize>,
    /// Events to store before holding every further batch until the test
    /// lets go: a consumer stopped then is stopped mid-stream, however
    /// fast the machine.
    hold_after: u64,
    delivered: Arc<AtomicU64>,
    released: watch::Receiver<bool>,
}

impl Sink for StoreSink {
    async fn deliver(&self, events: Vec<TaskEvent>) -> Result<(), String> {
        let refuse = self.failures_left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
        if refuse {
            return Err("the store is down (test)".to_owned());
        }
        if self.delivered.load(Ordering::SeqCst) >= self.hold_after {
            let _ = self.released.clone().wait_for(|released| *released).await;
        }
        self.store.ingest(&effects(&events), chrono::Utc::now()).await.map_err(|err| err.to_string())?;
        self.delivered.fetch_add(events.len() as u64, Ordering::SeqCst);
        Ok(())
    }
}

/// A consumer running in a task.
struct Running {
    counters: Arc<IngestCounters>,
    stop: oneshot::Sender<()>,
    release: watch::Sender<bool>,
    task: JoinHandle<Result<(), PulseError>>,
}

impl Running {
    /// A consumer whose store refuses its first `failures` batches.
    fn start(config: ConsumerConfig, store: &Store, failures: usize) -> Running {
        Running::with_sink(config, store, failures, u64::MAX)
    }

    /// A consumer whose store holds every batch after the first
    /// `hold_after` events until it is stopped.
    fn holding(config: ConsumerConfig, store: &Store, hold_after: u64) -> Running {
        Running::with_sink(config, store, 0, hold_after)
    }

    fn with_sink(config: ConsumerConfig, store: &Store, failures: usize, hold_after: u64) -> Running {
        let counters = Arc::new(IngestCounters::default());
        let (release, released) = watch::channel(false);
        let sink = StoreSink {
            store: store.clone(),
            failures_left: Arc::new(AtomicUsize::new(failures)),
            hold_after,
            delivered: Arc::default(),
            released,
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(run_consumer(config, sink, counters.clone(), async move {
            let _ = stopped.await;
        }));
        Running { counters, stop, release, task }
    }

    /// Waits until `done` holds of the counters (or fails after 60 s).
    async fn wait_for(&self, what: &str, done: impl Fn(&IngestCounters) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while !done(&self.counters) {
            assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}: {:?}", self.counters);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops the consumer, then lets a held batch go: it is committed and
    /// acknowledged before the consumer returns.
    async fn stop(self) -> Arc<IngestCounters> {
        let _ = self.stop.send(());
        let _ = self.release.send(true);
        self.task.await.expect("the consumer task").expect("a clean stop");
        self.counters
    }
}

fn stored(counters: &IngestCounters) -> u64 {
    IngestCounters::get(&counters.stored)
}

/// Taskcluster's routing key for a task message (reference §B.6).
fn routing_key(body: &Value) -> String {
    let status = &body["status"];
    let word = |value: &Value| value.as_str().map(str::to_owned).unwrap_or_else(|| "_".to_owned());
    let run = body["runId"].as_i64().map_or_else(|| "_".to_owned(), |n| n.to_string());
    format!(
        "primary.{}.{run}.{}.{}.{}.{}.{}.{}._",
        word(&status["taskId"]),
        word(&body["workerGroup"]),
        word(&body["workerId"]),
        word(&status["provisionerId"]),
        word(&status["workerType"]),
        word(&status["schedulerId"]),
        word(&status["taskGroupId"]),
    )
}

fn task_id(n: usize) -> String {
    format!("task{n:018}")
}

fn worker(n: usize) -> String {
    format!("t-linux64-ms-{:03}", n % 100)
}

/// A running and a resolved message for each of `runs` runs over 100
/// workers; every seventh run failed, and every eleventh ended in an
/// exception.
fn run_messages(runs: usize) -> Vec<TaskMessage> {
    let mut messages = Vec::with_capacity(runs * 2);
    for n in 0..runs {
        let resolved = match n {
            _ if n % 11 == 0 => EventKind::Exception,
            _ if n % 7 == 0 => EventKind::Failed,
            _ => EventKind::Completed,
        };
        for kind in [EventKind::Running, resolved] {
            let body = sample_message(kind, &task_id(n), 0, "mdc1", &worker(n));
            messages.push((kind, routing_key(&body), body.to_string().into_bytes()));
        }
    }
    messages
}

fn expected_outcomes(runs: usize) -> (u64, u64, u64) {
    let exception = (0..runs).filter(|n| n % 11 == 0).count() as u64;
    let failed = (0..runs).filter(|n| n % 11 != 0 && n % 7 == 0).count() as u64;
    (runs as u64 - exception - failed, failed, exception)
}

fn long_ago() -> Timestamp {
    chrono::DateTime::parse_from_rfc3339("2000-01-01T00:00:00Z").unwrap().with_timezone(&chrono::Utc)
}

/// Every run is there once, resolved, and the outcomes are counted once.
async fn assert_all_runs_stored(store: &Store, runs: usize) {
    let stored = store.runs_since(long_ago()).await.expect("runs");
    assert_eq!(stored.len(), runs, "one row per run");
    assert!(stored.iter().all(|r| r.run.state.is_resolved()), "every run resolved");
    let counts = outcomes(stored.iter().map(|r| &r.run), long_ago());
    assert_eq!((counts.completed, counts.failed, counts.exception), expected_outcomes(runs));
    let sightings = store.sightings().await.expect("sightings");
    assert_eq!(sightings.len(), runs.min(100), "one sighting per worker");
}

async fn events_land_in_the_store(place: &Place) {
    let consumer = Running::start(place.config(), &place.store, 0);
    // The queue exists once the consumer has declared it; publishing
    // before would route to nothing.
    wait_for_queue(place).await;
    place.publish(&run_messages(50)).await;
    consumer.wait_for("100 events", |c| stored(c) >= 100).await;
    let counters = consumer.stop().await;
    assert_eq!(IngestCounters::get(&counters.received), 100);
    assert_all_runs_stored(&place.store, 50).await;
    let seen = place.store.sighting("mdc1", "t-linux64-ms-007").await.expect("sighting");
    // The run's own resolution time, not the arrival.
    assert_eq!(seen.map(fleetroll_core::time::to_rfc3339).as_deref(), Some("2026-11-02T10:05:00.000000Z"));
    let history = place.store.worker_runs("mdc1", "t-linux64-ms-007", 10).await.expect("history");
    assert_eq!(history.len(), 1);
    assert_eq!((history[0].task_id.as_str(), history[0].state), (task_id(7).as_str(), RunState::Failed));
    assert_eq!(place.broker.queue_length(&place.queue()).await, 0, "everything acknowledged");
}

async fn other_provisioners_are_not_bound(place: &Place) {
    let consumer = Running::start(place.config(), &place.store, 0);
    wait_for_queue(place).await;
    let mut elsewhere = sample_message(EventKind::Completed, &task_id(1), 0, "mdc1", "elsewhere");
    elsewhere["status"]["provisionerId"] = "proj-autophone".into();
    elsewhere["status"]["taskQueueId"] = "proj-autophone/gecko-t-linux-talos".into();
    let ours = sample_message(EventKind::Completed, &task_id(2), 0, "mdc1", "ours");
    place
        .publish(&[
            (EventKind::Completed, routing_key(&elsewhere), elsewhere.to_string().into_bytes()),
            (EventKind::Completed, routing_key(&ours), ours.to_string().into_bytes()),
        ])
        .await;
    consumer.wait_for("our event", |c| stored(c) >= 1).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let counters = consumer.stop().await;
    assert_eq!(IngestCounters::get(&counters.received), 1, "only the bound provisioner's message arrives");
    let machines: Vec<String> = place.store.sightings().await.unwrap().into_iter().map(|s| s.worker_id).collect();
    assert_eq!(machines, ["ours"]);
}

async fn a_restart_mid_stream_loses_nothing_and_counts_nothing_twice(place: &Place) {
    let runs = 1500;
    let first = Running::holding(place.config(), &place.store, 600);
    wait_for_queue(place).await;
    let mut messages = run_messages(runs);
    // At-least-once delivery: some messages arrive twice.
    let copies: Vec<_> = messages.iter().step_by(13).cloned().collect();
    messages.extend(copies);
    place.publish(&messages).await;
    first.wait_for("part of the stream", |c| stored(c) >= 600).await;
    let before = first.stop().await;
    assert!(IngestCounters::get(&before.stored) < messages.len() as u64, "stopped mid-stream");
    let second = Running::start(place.config(), &place.store, 0);
    let total = messages.len() as u64;
    let remaining = total - IngestCounters::get(&before.stored);
    second.wait_for("the rest of the stream", |c| stored(c) >= remaining).await;
    second.stop().await;
    assert_all_runs_stored(&place.store, runs).await;
    assert_eq!(place.broker.queue_length(&place.queue()).await, 0, "everything acknowledged");
}

async fn a_connection_closed_by_the_broker_loses_nothing(place: &Place) {
    let runs = 1500;
    let consumer = Running::start(place.config(), &place.store, 0);
    wait_for_queue(place).await;
    place.publish(&run_messages(runs)).await;
    consumer.wait_for("part of the stream", |c| stored(c) >= 500).await;
    let vhost = place.broker.vhost().expect("an own vhost").to_owned();
    tokio::task::spawn_blocking(move || support::close_connections(&vhost)).await.expect("rabbitmqctl");
    consumer.wait_for("a reconnect", |c| IngestCounters::get(&c.reconnects) >= 1).await;
    consumer.wait_for("the whole stream", |c| stored(c) >= (runs * 2) as u64).await;
    // Messages taken but not acknowledged when the connection went come
    // back; give the last of them time to settle.
    wait_until_empty(place).await;
    consumer.stop().await;
    assert_all_runs_stored(&place.store, runs).await;
}

/// One message of each kind of bad, then a good one.
fn poison() -> Vec<(EventKind, String, Vec<u8>, Option<RejectReason>)> {
    let good = sample_message(EventKind::Completed, &task_id(1), 0, "mdc1", "good");
    let key = routing_key(&good);
    let broken = |change: fn(&mut Value)| {
        let mut body = good.clone();
        change(&mut body);
        body.to_string().into_bytes()
    };
    let mut no_run = sample_message(EventKind::Exception, &task_id(3), 0, "mdc1", "x");
    for field in ["runId", "workerGroup", "workerId"] {
        no_run.as_object_mut().unwrap().remove(field);
    }
    no_run["status"]["runs"] = json!([]);
    vec![
        (EventKind::Completed, key.clone(), b"{not json".to_vec(), Some(RejectReason::InvalidJson)),
        (EventKind::Completed, key.clone(), broken(|b| b["colour"] = json!("red")), Some(RejectReason::Schema)),
        (
            EventKind::Completed,
            key.clone(),
            broken(|b| {
                b.as_object_mut().unwrap().remove("workerId");
            }),
            Some(RejectReason::MissingField),
        ),
        (
            EventKind::Completed,
            key.clone(),
            broken(|b| b["workerId"] = json!("a.b")),
            Some(RejectReason::BadIdentifier),
        ),
        (EventKind::Completed, key.clone(), vec![b' '; liveness::MAX_MESSAGE_BYTES + 1], Some(RejectReason::Oversized)),
        (EventKind::Exception, key.clone(), no_run.to_string().into_bytes(), None),
        (EventKind::Completed, key, good.to_string().into_bytes(), None),
    ]
}

async fn publish_poison(place: &Place) {
    let messages: Vec<_> = poison().into_iter().map(|(kind, key, body, _)| (kind, key, body)).collect();
    place.publish(&messages).await;
}

fn assert_poison_counted(counters: &IngestCounters) {
    for (_, _, _, reason) in poison() {
        if let Some(reason) = reason {
            assert_eq!(counters.rejected(reason), 1, "{reason:?}");
        }
    }
    assert_eq!(IngestCounters::get(&counters.no_run), 1);
    assert_eq!(IngestCounters::get(&counters.stored), 1);
}

async fn refused_messages_are_counted_and_never_loop(place: &Place) {
    let consumer = Running::start(place.config(), &place.store, 0);
    wait_for_queue(place).await;
    publish_poison(place).await;
    consumer.wait_for("the good message", |c| stored(c) >= 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let counters = consumer.stop().await;
    assert_poison_counted(&counters);
    // Rejected without requeue: each was seen once and is gone.
    assert_eq!(IngestCounters::get(&counters.received), poison().len() as u64);
    assert_eq!(place.broker.queue_length(&place.queue()).await, 0);
    let machines: Vec<String> = place.store.sightings().await.unwrap().into_iter().map(|s| s.worker_id).collect();
    assert_eq!(machines, ["good"]);
}

async fn refused_messages_go_to_the_dead_letter_exchange(place: &Place) {
    let dead_letters = place.broker.exchange();
    let dead_queue = place.broker.bind_queue(&dead_letters, "#").await;
    let mut config = place.config();
    config.dead_letter_exchange = Some(dead_letters);
    let consumer = Running::start(config, &place.store, 0);
    wait_for_queue(place).await;
    publish_poison(place).await;
    consumer.wait_for("the good message", |c| stored(c) >= 1).await;
    let refused = poison().iter().filter(|p| p.3.is_some()).count();
    let dead = place.broker.take(&dead_queue, refused, Duration::from_secs(10)).await;
    let counters = consumer.stop().await;
    assert_poison_counted(&counters);
    assert_eq!(dead.len(), refused, "every refused message is dead-lettered");
    assert_eq!(&dead[0].data[..], b"{not json");
}

async fn a_failing_store_requeues_the_batch(place: &Place) {
    let consumer = Running::start(place.config(), &place.store, 2);
    wait_for_queue(place).await;
    place.publish(&run_messages(100)).await;
    consumer.wait_for("all events", |c| stored(c) >= 200).await;
    wait_until_empty(place).await;
    consumer.stop().await;
    assert_all_runs_stored(&place.store, 100).await;
}

async fn a_missing_exchange_is_named(place: &Place) {
    let mut config = place.config();
    config.exchange_prefix = "exchange/nobody-declared/".to_owned();
    let err = fleetroll_pulse::consumer::check(&config).await.expect_err("the exchanges do not exist");
    let message = err.to_string();
    assert!(message.contains("exchange/nobody-declared/task-running"), "{message}");
    assert!(!message.contains("guest:guest"), "{message}");
    let queue = fleetroll_pulse::consumer::check(&place.config()).await.expect("the real exchanges exist");
    assert_eq!(queue, place.queue());
}

async fn wait_for_queue(place: &Place) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let connection = place.broker.connect().await.expect("connect");
        let channel = connection.create_channel().await.expect("channel");
        let passive = lapin::options::QueueDeclareOptions { passive: true, ..Default::default() };
        let declared = channel.queue_declare(place.queue().as_str().into(), passive, FieldTable::default()).await;
        let _ = connection.close(200, "looked".into()).await;
        if let Ok(queue) = declared
            && queue.consumer_count() > 0
        {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "the consumer never declared its queue");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn wait_until_empty(place: &Place) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while place.broker.queue_length(&place.queue()).await > 0 {
        assert!(tokio::time::Instant::now() < deadline, "the queue never emptied");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
