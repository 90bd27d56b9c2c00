//! Consuming Taskcluster's queue events for worker liveness (reference §B).
//!
//! The consumer owns a durable queue, `queue/<user>/<name>`, bound to the
//! queue's task-running, -completed, -failed and -exception exchanges for
//! each configured provisioner. It takes messages in batches, decides each
//! one in core ([`fleetroll_core::liveness::decode`]), hands the batch's
//! events to a [`Sink`] and acknowledges the batch only once the sink said it
//! is committed. So:
//! - nothing acknowledged is lost: a crash, a broker restart or a dropped
//!   connection before the commit puts the batch back on the queue;
//! - a message may arrive twice (after a reconnect), which is why the sink's
//!   effects must be idempotent (core's forward-only run states);
//! - a message we refuse is counted per reason, logged once with its routing
//!   key, and rejected without requeue — dead-lettered when the queue has a
//!   dead-letter exchange — so it never loops;
//! - a sink failure (the store down) requeues the batch and backs off.
//!
//! Batches fill up to `batch_size` messages or for `batch_wait` after their
//! first message, whichever comes first; the prefetch lets the broker send
//! the next batch while one is committed.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use fleetroll_core::config::Secret;
use fleetroll_core::liveness::{self, Decoded, EventKind, IngestCounters, TaskEvent};
use fleetroll_core::time::truncate_to_micros;
use futures_util::StreamExt;
use lapin::Acker;
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions, BasicRejectOptions,
    ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Channel, Connection, Consumer, ExchangeKind};

use crate::broker::Broker;
use crate::config::jitter;
use crate::{Backoff, PulseError};

/// Where a batch of events goes: `deliver` returns once they are committed.
pub trait Sink: Send + Sync + 'static {
    fn deliver(&self, events: Vec<TaskEvent>) -> impl Future<Output = Result<(), String>> + Send;
}

/// How the consumer reaches Pulse and what it listens to.
#[derive(Clone, Debug)]
pub struct ConsumerConfig {
    /// `amqp://` or `amqps://user:password@host:port/vhost`.
    pub url: Secret,
    /// The queue is `queue/<user>/<queue_name>`.
    pub queue_name: String,
    pub exchange_prefix: String,
    pub provisioners: Vec<String>,
    pub prefetch: u16,
    pub batch_size: usize,
    pub batch_wait: Duration,
    pub dead_letter_exchange: Option<String>,
    pub connect_timeout: Duration,
    pub retry: Backoff,
    pub connection_name: String,
}

impl ConsumerConfig {
    /// The reference's bindings (`releng-hardware`) with batches of 500,
    /// twice that prefetched, 50 ms to fill a batch, 5 s to connect and
    /// retries from 1 s doubling to 60 s.
    pub fn new(url: Secret, queue_name: impl Into<String>) -> ConsumerConfig {
        ConsumerConfig {
            url,
            queue_name: queue_name.into(),
            exchange_prefix: liveness::DEFAULT_EXCHANGE_PREFIX.to_owned(),
            provisioners: vec![liveness::DEFAULT_PROVISIONER.to_owned()],
            prefetch: 1000,
            batch_size: 500,
            batch_wait: Duration::from_millis(50),
            dead_letter_exchange: None,
            connect_timeout: Duration::from_secs(5),
            retry: Backoff { initial: Duration::from_secs(1), max: Duration::from_secs(60) },
            connection_name: "fleetroll liveness consumer".to_owned(),
        }
    }

    fn exchanges(&self) -> impl Iterator<Item = String> + '_ {
        EventKind::ALL.into_iter().map(|kind| format!("{}{}", self.exchange_prefix, kind.exchange_suffix()))
    }
}

/// Consumes until `shutdown` completes: the batch in hand is committed and
/// acknowledged first. Connection failures are logged and retried with
/// backoff for as long as it runs; a configuration that cannot work (a
/// malformed URL) is returned at once.
pub async fn run_consumer<S: Sink>(
    config: ConsumerConfig,
    sink: S,
    counters: Arc<IngestCounters>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), PulseError> {
    let broker = Broker::new(&config.url, config.connect_timeout, &config.connection_name)?;
    let queue = liveness::queue_name(broker.user(), &config.queue_name);
    let mut shutdown = pin!(shutdown);
    let mut failures = 0u32;
    loop {
        let session = Session { broker: &broker, config: &config, queue: &queue, sink: &sink, counters: &counters };
        let outcome = tokio::select! {
            biased;
            () = &mut shutdown => return Ok(()),
            outcome = session.open() => outcome,
        };
        let (connection, channel, consumer) = match outcome {
            Ok(opened) => opened,
            Err(err) => {
                failures += 1;
                let wait = jitter(config.retry.delay(failures));
                tracing::warn!("liveness consumer: {err}; retrying in {:.1} s", wait.as_secs_f64());
                tokio::select! {
                    biased;
                    () = &mut shutdown => return Ok(()),
                    () = tokio::time::sleep(wait) => continue,
                }
            }
        };
        if failures > 0 {
            IngestCounters::add(&counters.reconnects, 1);
        }
        failures = 0;
        tracing::info!(url = broker.redacted_url(), queue = %queue, "liveness consumer: consuming");
        let ended = session.consume(consumer, &mut shutdown).await;
        let _ =
            tokio::time::timeout(Duration::from_secs(1), channel.close(200, "fleetroll consumer done".into())).await;
        let _ =
            tokio::time::timeout(Duration::from_secs(1), connection.close(200, "fleetroll consumer done".into())).await;
        match ended {
            Ended::Shutdown => return Ok(()),
            Ended::Lost(reason) => {
                failures += 1;
                let wait = jitter(config.retry.delay(failures));
                tracing::warn!("liveness consumer: {reason}; reconnecting in {:.1} s", wait.as_secs_f64());
                tokio::select! {
                    biased;
                    () = &mut shutdown => return Ok(()),
                    () = tokio::time::sleep(wait) => {}
                }
            }
        }
    }
}

/// Connects, declares the queue and its bindings, and disconnects: a
/// startup self-test of the URL, credentials, exchanges and permissions.
pub async fn check(config: &ConsumerConfig) -> Result<String, PulseError> {
    let broker = Broker::new(&config.url, config.connect_timeout, &config.connection_name)?;
    let queue = liveness::queue_name(broker.user(), &config.queue_name);
    let connection = broker.connect().await?;
    let channel = open_channel(&broker, &connection).await?;
    let declared = declare(&broker, config, &queue, &channel).await;
    let _ = connection.close(200, "fleetroll check done".into()).await;
    declared.map(|()| queue)
}

enum Ended {
    Shutdown,
    Lost(String),
}

/// A batch as it arrived: its events, and what to acknowledge how. The
/// message bodies are gone once decided.
#[derive(Default)]
struct Batch {
    len: usize,
    events: Vec<TaskEvent>,
    no_run: u64,
    refused: Vec<Acker>,
    /// The newest message that is not refused: acknowledging it with
    /// `multiple` acknowledges every earlier one still unacknowledged.
    last_good: Option<Acker>,
    /// The newest message, for sending the whole batch back.
    last: Option<Acker>,
}

impl Batch {
    fn take(&mut self, delivery: Delivery, decide: impl FnOnce(&Delivery) -> Result<Decoded, ()>) {
        self.len += 1;
        let verdict = decide(&delivery);
        let acker = delivery.acker;
        match verdict {
            Ok(Decoded::Event(event)) => {
                self.events.push(event);
                self.last_good = Some(acker.clone());
            }
            Ok(Decoded::NoRun) => {
                self.no_run += 1;
                self.last_good = Some(acker.clone());
            }
            Err(()) => self.refused.push(acker.clone()),
        }
        self.last = Some(acker);
    }
}

/// One connection's worth of consuming.
struct Session<'a, S> {
    broker: &'a Broker,
    config: &'a ConsumerConfig,
    queue: &'a str,
    sink: &'a S,
    counters: &'a IngestCounters,
}

impl<S: Sink> Session<'_, S> {
    async fn open(&self) -> Result<(Connection, Channel, Consumer), PulseError> {
        let connection = self.broker.connect().await?;
        let channel = open_channel(self.broker, &connection).await?;
        declare(self.broker, self.config, self.queue, &channel).await?;
        let consumer = channel
            .basic_consume(
                self.queue.into(),
                "fleetroll-liveness".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(|err| self.setup_error(&format!("consuming from `{}`: {err}", self.queue)))?;
        Ok((connection, channel, consumer))
    }

    fn setup_error(&self, detail: &str) -> PulseError {
        PulseError::Connect {
            url: self.broker.redacted_url().to_owned(),
            detail: self.broker.scrub(detail),
            hint: None,
        }
    }

    /// Takes batches until shutdown or a lost connection. A batch is
    /// committed while the next one arrives and is decoded; its
    /// acknowledgement still comes after its own commit, and before the
    /// next batch's, so a multiple-ack never covers an uncommitted message.
    async fn consume(&self, mut consumer: Consumer, shutdown: &mut (impl Future<Output = ()> + Unpin)) -> Ended {
        let mut batch = match self.next_batch(&mut consumer, shutdown).await {
            Ok(Some(batch)) => batch,
            Ok(None) => return Ended::Shutdown,
            Err(reason) => return Ended::Lost(reason),
        };
        loop {
            // On a lost connection the commit in progress may be dropped:
            // its messages were not acknowledged, so the broker sends them
            // again.
            match tokio::try_join!(self.settle(batch), self.next_batch(&mut consumer, shutdown)) {
                Ok(((), Some(next))) => batch = next,
                Ok(((), None)) => return Ended::Shutdown,
                Err(reason) => return Ended::Lost(reason),
            }
        }
    }

    /// The next batch, each message decided as it arrives; `None` once
    /// `shutdown` completes before a first message.
    async fn next_batch(
        &self,
        consumer: &mut Consumer,
        shutdown: &mut (impl Future<Output = ()> + Unpin),
    ) -> Result<Option<Batch>, String> {
        let first = tokio::select! {
            biased;
            () = &mut *shutdown => return Ok(None),
            next = consumer.next() => next,
        };
        let ended = || "the broker ended the consumer".to_owned();
        let first = first.ok_or_else(ended)?.map_err(|err| self.broker.scrub(&err.to_string()))?;
        let received = truncate_to_micros(chrono::Utc::now());
        let mut batch = Batch::default();
        batch.take(first, |delivery| self.decide(delivery, received));
        let deadline = tokio::time::Instant::now() + self.config.batch_wait;
        while batch.len < self.config.batch_size {
            match tokio::time::timeout_at(deadline, consumer.next()).await {
                Ok(Some(Ok(delivery))) => batch.take(delivery, |delivery| self.decide(delivery, received)),
                Ok(Some(Err(err))) => return Err(self.broker.scrub(&err.to_string())),
                Ok(None) => return Err(ended()),
                Err(_) => break,
            }
        }
        Ok(Some(batch))
    }

    /// Commits and acknowledges one batch.
    async fn settle(&self, batch: Batch) -> Result<(), String> {
        IngestCounters::add(&self.counters.received, batch.len as u64);
        let stored = batch.events.len() as u64;
        if !batch.events.is_empty()
            && let Err(err) = self.sink.deliver(batch.events).await
        {
            tracing::warn!(
                "liveness consumer: cannot store a batch of {} messages ({err}); they go back to the queue",
                batch.len
            );
            if let Some(last) = batch.last {
                let requeue = BasicNackOptions { multiple: true, requeue: true };
                last.nack(requeue).await.map_err(|err| self.broker.scrub(&err.to_string()))?;
            }
            tokio::time::sleep(jitter(self.config.retry.initial)).await;
            return Ok(());
        }
        let ack_error = |err: lapin::Error| self.broker.scrub(&format!("acknowledging: {err}"));
        for acker in batch.refused {
            acker.reject(BasicRejectOptions { requeue: false }).await.map_err(ack_error)?;
        }
        if let Some(acker) = batch.last_good {
            acker.ack(BasicAckOptions { multiple: true }).await.map_err(ack_error)?;
        }
        IngestCounters::add(&self.counters.stored, stored);
        IngestCounters::add(&self.counters.no_run, batch.no_run);
        IngestCounters::add(&self.counters.batches, 1);
        Ok(())
    }

    /// One message's fate; a refusal is counted and logged here.
    fn decide(&self, delivery: &Delivery, received: chrono::DateTime<chrono::Utc>) -> Result<Decoded, ()> {
        let routing_key = delivery.routing_key.as_str();
        let refuse = |rejection: liveness::Rejection| {
            self.counters.reject(rejection.reason);
            tracing::warn!(
                exchange = delivery.exchange.as_str(),
                routing_key,
                "liveness consumer: refused a message ({rejection}): {}",
                liveness::excerpt(&delivery.data, 200)
            );
        };
        let Some(kind) = EventKind::from_exchange(delivery.exchange.as_str(), &self.config.exchange_prefix) else {
            refuse(liveness::Rejection {
                reason: liveness::RejectReason::UnknownExchange,
                detail: format!("exchange `{}` is not one of the four task exchanges", delivery.exchange),
            });
            return Err(());
        };
        liveness::decode(kind, &delivery.data, received).map_err(refuse)
    }
}

async fn open_channel(broker: &Broker, connection: &Connection) -> Result<Channel, PulseError> {
    connection.create_channel().await.map_err(|err| PulseError::Connect {
        url: broker.redacted_url().to_owned(),
        detail: broker.scrub(&format!("opening a channel: {err}")),
        hint: None,
    })
}

/// The durable queue, the prefetch and the bindings. The exchanges are
/// Taskcluster's: they are declared passively, so a wrong prefix fails here
/// with the exchange's name instead of creating an exchange nobody sends to.
async fn declare(broker: &Broker, config: &ConsumerConfig, queue: &str, channel: &Channel) -> Result<(), PulseError> {
    let fail = |what: String, err: lapin::Error| PulseError::Setup {
        url: broker.redacted_url().to_owned(),
        detail: broker.scrub(&format!("{what}: {err}")),
    };
    channel.basic_qos(config.prefetch, BasicQosOptions::default()).await.map_err(|err| fail("prefetch".into(), err))?;
    for exchange in config.exchanges() {
        let passive = ExchangeDeclareOptions { passive: true, ..ExchangeDeclareOptions::default() };
        channel
            .exchange_declare(exchange.as_str().into(), ExchangeKind::Topic, passive, FieldTable::default())
            .await
            .map_err(|err| fail(format!("the exchange `{exchange}` (does it exist?)"), err))?;
    }
    // Only once every exchange is known to exist, so that a wrong prefix
    // leaves no queue behind.
    let mut arguments = FieldTable::default();
    if let Some(exchange) = &config.dead_letter_exchange {
        arguments.insert("x-dead-letter-exchange".into(), AMQPValue::LongString(exchange.as_str().into()));
    }
    let durable = QueueDeclareOptions { durable: true, ..QueueDeclareOptions::default() };
    channel
        .queue_declare(queue.into(), durable, arguments)
        .await
        .map_err(|err| fail(format!("declaring the queue `{queue}`"), err))?;
    for exchange in config.exchanges() {
        for provisioner in &config.provisioners {
            let key = liveness::binding_key(provisioner);
            channel
                .queue_bind(
                    queue.into(),
                    exchange.as_str().into(),
                    key.as_str().into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await
                .map_err(|err| fail(format!("binding `{queue}` to `{exchange}` with `{key}`"), err))?;
        }
    }
    Ok(())
}
