//! Publishing to a Pulse exchange, with publisher confirms.
//!
//! A message counts as sent only when the broker has confirmed it (it is
//! then routed, and written to disk for durable queues). Until then it stays
//! at the front of the queue: a nack, a lost or refused connection, or a
//! confirm that does not come in time is logged, and after a backoff the
//! publisher reconnects and sends again from the oldest unconfirmed message.
//! So delivery is in order and at least once: a message in flight when a
//! connection broke may arrive twice (the same `message_id`), never out of
//! order with respect to its last copy, and never not at all while the
//! process runs.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::pin;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fleetroll_core::pulse::Outgoing;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::{BasicProperties, Channel, Confirmation, Connection, PublisherConfirm};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::sync::mpsc::error::TryRecvError;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::PulseError;
use crate::broker::Broker;
use fleetroll_core::pulse::{check_exchange_name, check_routing_key};

use crate::config::PublisherConfig;

/// Pulse asks for messages under 8 KiB; larger ones still go, with a warning.
pub const LARGE_MESSAGE: usize = 8 * 1024;

/// Connects, declares the exchange (topic, durable) and disconnects: a
/// startup self-test that the URL, the credentials, the vhost and the
/// exchange name all work.
pub async fn check(config: &PublisherConfig) -> Result<(), PulseError> {
    let broker = validate(config)?;
    let link = open_link(broker.clone(), config.exchange.clone(), config.confirm_timeout).await?;
    link.close().await;
    tracing::debug!(url = broker.redacted_url(), exchange = %config.exchange, "Pulse check passed");
    Ok(())
}

/// Publishes every message from `rx` to the configured exchange until
/// `shutdown` completes (or every sender is gone and all is sent).
///
/// Messages are sent in the order received, as persistent UTF-8 JSON
/// (`application/json`), each confirmed by the broker before it is counted
/// as sent. Failures never lose a message: they are logged (warn, with the
/// password redacted) and the publisher retries with backoff, reconnecting
/// as needed, for as long as it runs.
///
/// On `shutdown` it takes what is already in `rx` and tries to send what is
/// queued for `shutdown_grace`; what is still unsent then is logged and
/// returned as [`PulseError::NotSent`]. A configuration that cannot work (a
/// malformed URL, an exchange name Pulse would refuse) is returned at once.
pub async fn run_publisher(
    config: PublisherConfig,
    rx: UnboundedReceiver<Outgoing>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), PulseError> {
    let broker = validate(&config)?;
    let mut publisher = Publisher::new(broker, config, rx);
    let mut shutdown = pin!(shutdown);
    let finished = tokio::select! {
        biased;
        () = &mut shutdown => false,
        () = publisher.run() => true,
    };
    if !finished {
        publisher.drain_ready();
        publisher.flushing = true;
        publisher.retry_at = None;
        let grace = publisher.config.shutdown_grace;
        let _ = tokio::time::timeout(grace, publisher.flush()).await;
    }
    publisher.finish().await
}

fn validate(config: &PublisherConfig) -> Result<Broker, PulseError> {
    let broker = Broker::new(&config.url, config.connect_timeout, &config.connection_name)?;
    check_exchange_name(&config.exchange, config.naming, broker.user())
        .map_err(|problem| PulseError::InvalidExchange { exchange: config.exchange.clone(), problem })?;
    Ok(broker)
}

/// One message, ready to go out as often as it takes.
#[derive(Debug)]
struct Queued {
    routing_key: String,
    payload: Vec<u8>,
    properties: BasicProperties,
}

/// A connection with a confirming channel, and the confirms it owes for the
/// front of the queue: the first `confirms.len()` queued messages were
/// published on it, in order.
struct Link {
    connection: Connection,
    channel: Channel,
    confirms: VecDeque<(PublisherConfirm, Instant)>,
}

impl Link {
    async fn close(self) {
        let closing = self.connection.close(200, "fleetroll publisher done".into());
        let _ = tokio::time::timeout(Duration::from_secs(1), closing).await;
    }
}

async fn open_link(broker: Broker, exchange: String, setup_timeout: Duration) -> Result<Link, PulseError> {
    let connection = broker.connect().await?;
    let setup = async {
        let channel = connection.create_channel().await.map_err(|err| PulseError::Connect {
            url: broker.redacted_url().to_owned(),
            detail: broker.scrub(&format!("opening a channel: {err}")),
            hint: None,
        })?;
        broker.declare_exchange(&channel, &exchange).await?;
        channel.confirm_select(ConfirmSelectOptions::default()).await.map_err(|err| PulseError::Publish {
            url: broker.redacted_url().to_owned(),
            exchange: exchange.clone(),
            detail: broker.scrub(&format!("enabling publisher confirms: {err}")),
        })?;
        Ok(channel)
    };
    match tokio::time::timeout(setup_timeout, setup).await {
        Ok(Ok(channel)) => Ok(Link { connection, channel, confirms: VecDeque::new() }),
        Ok(Err(err)) => Err(err),
        Err(_) => Err(PulseError::ConnectTimeout { url: broker.redacted_url().to_owned(), timeout: setup_timeout }),
    }
}

struct Publisher {
    broker: Broker,
    config: PublisherConfig,
    rx: UnboundedReceiver<Outgoing>,
    rx_open: bool,
    /// Accepted and not yet confirmed, oldest first.
    queue: VecDeque<Queued>,
    link: Option<Link>,
    connecting: Option<JoinHandle<Result<Link, PulseError>>>,
    /// Failures since the last confirmed message.
    failures: u32,
    retry_at: Option<Instant>,
    last_error: Option<PulseError>,
    /// After shutdown: retries come quickly, as the grace period is short.
    flushing: bool,
    id_prefix: String,
    accepted: u64,
    confirmed: u64,
}

impl Drop for Publisher {
    fn drop(&mut self) {
        if let Some(task) = self.connecting.take() {
            task.abort();
        }
    }
}

impl Publisher {
    fn new(broker: Broker, config: PublisherConfig, rx: UnboundedReceiver<Outgoing>) -> Publisher {
        Publisher {
            broker,
            config,
            rx,
            rx_open: true,
            queue: VecDeque::new(),
            link: None,
            connecting: None,
            failures: 0,
            retry_at: None,
            last_error: None,
            flushing: false,
            id_prefix: format!("{:016x}", fastrand::u64(..)),
            accepted: 0,
            confirmed: 0,
        }
    }

    /// Runs until every sender is gone and everything is confirmed.
    async fn run(&mut self) {
        loop {
            self.drain_ready();
            if self.queue.is_empty() && !self.rx_open {
                return;
            }
            self.step(true).await;
        }
    }

    /// Sends what is queued, taking nothing new.
    async fn flush(&mut self) {
        while !self.queue.is_empty() {
            self.step(false).await;
        }
    }

    /// Closes the connection and says how it ended.
    async fn finish(mut self) -> Result<(), PulseError> {
        if let Some(link) = self.link.take() {
            link.close().await;
        }
        let unsent = self.queue.len();
        if unsent == 0 {
            tracing::info!(url = self.broker.redacted_url(), exchange = %self.config.exchange, sent = self.confirmed, "Pulse publisher stopped; every message was sent");
            return Ok(());
        }
        let err = PulseError::NotSent {
            url: self.broker.redacted_url().to_owned(),
            exchange: self.config.exchange.clone(),
            count: unsent,
            last_error: self.last_error.as_ref().map(ToString::to_string),
        };
        tracing::warn!(url = self.broker.redacted_url(), exchange = %self.config.exchange, sent = self.confirmed, unsent, "{err}");
        Err(err)
    }

    /// Takes every message already waiting in the channel.
    fn drain_ready(&mut self) {
        while self.rx_open {
            match self.rx.try_recv() {
                Ok(message) => self.accept(Some(message)),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => self.accept(None),
            }
        }
    }

    fn accept(&mut self, message: Option<Outgoing>) {
        let Some(Outgoing { routing_key, body }) = message else {
            self.rx_open = false;
            return;
        };
        let exchange = &self.config.exchange;
        if let Err(problem) = check_routing_key(&routing_key) {
            // The broker can never take it, and keeping it would hold back
            // every message behind it.
            tracing::error!(exchange = %exchange, routing_key = %routing_key, "Pulse message dropped: {problem}");
            return;
        }
        let payload = match serde_json::to_vec(&body) {
            Ok(payload) => payload,
            Err(err) => {
                tracing::error!(exchange = %exchange, routing_key = %routing_key, "Pulse message dropped: its body cannot be written as JSON: {err}");
                return;
            }
        };
        if payload.len() > LARGE_MESSAGE {
            tracing::warn!(exchange = %exchange, routing_key = %routing_key, bytes = payload.len(), "Pulse message is larger than the 8 KiB Pulse asks for; sending it anyway");
        }
        self.accepted += 1;
        let timestamp = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let properties = BasicProperties::default()
            .with_content_type("application/json".into())
            .with_content_encoding("utf-8".into())
            .with_delivery_mode(2)
            .with_message_id(format!("{}-{}", self.id_prefix, self.accepted).into())
            .with_app_id("fleetroll".into())
            .with_timestamp(timestamp);
        self.queue.push_back(Queued { routing_key, payload, properties });
    }

    /// One move forward: wait out a backoff, connect, publish one message,
    /// or take one confirm; each while listening for new messages if
    /// `listen`. Every await that can take long is raced with the channel,
    /// so the queue keeps taking messages.
    async fn step(&mut self, listen: bool) {
        let listening = listen && self.rx_open;
        if let Some(at) = self.retry_at {
            tokio::select! {
                () = tokio::time::sleep_until(at) => self.retry_at = None,
                message = self.rx.recv(), if listening => self.accept(message),
            }
            return;
        }
        let Some(link) = self.link.as_mut() else {
            let (broker, exchange, timeout) =
                (self.broker.clone(), self.config.exchange.clone(), self.config.confirm_timeout);
            let task = self.connecting.get_or_insert_with(|| tokio::spawn(open_link(broker, exchange, timeout)));
            tokio::select! {
                joined = task => {
                    self.connecting = None;
                    match joined {
                        Ok(Ok(link)) => self.connected(link),
                        Ok(Err(err)) => self.fail(err),
                        Err(err) => self.fail(PulseError::Connect {
                            url: self.broker.redacted_url().to_owned(),
                            detail: format!("the connecting task ended: {err}"),
                            hint: None,
                        }),
                    }
                }
                message = self.rx.recv(), if listening => self.accept(message),
            }
            return;
        };
        let next = link.confirms.len();
        if next < self.queue.len() && next < self.config.max_in_flight.max(1) {
            if !link.channel.status().connected() || !link.connection.status().connected() {
                // A failure like any other, so that the next connection is
                // reported as a reconnection and the backoff applies.
                self.fail(self.publish_error("the connection was closed".to_owned()));
                return;
            }
            let message = &self.queue[next];
            let published = link
                .channel
                .basic_publish(
                    self.config.exchange.as_str().into(),
                    message.routing_key.as_str().into(),
                    BasicPublishOptions::default(),
                    &message.payload,
                    message.properties.clone(),
                )
                .await;
            match published {
                Ok(confirm) => link.confirms.push_back((confirm, Instant::now() + self.config.confirm_timeout)),
                Err(err) => {
                    let detail = self.broker.scrub(&err.to_string());
                    self.fail(self.publish_error(detail));
                }
            }
            return;
        }
        let Some((confirm, deadline)) = link.confirms.front_mut() else {
            // Connected and idle.
            tokio::select! {
                message = self.rx.recv(), if listening => self.accept(message),
                else => {}
            }
            return;
        };
        let deadline = *deadline;
        tokio::select! {
            outcome = confirm => self.confirmed(outcome),
            () = tokio::time::sleep_until(deadline) => self.fail(PulseError::ConfirmTimeout {
                url: self.broker.redacted_url().to_owned(),
                exchange: self.config.exchange.clone(),
                timeout: self.config.confirm_timeout,
            }),
            message = self.rx.recv(), if listening => self.accept(message),
        }
    }

    fn connected(&mut self, link: Link) {
        if self.failures > 0 {
            tracing::info!(url = self.broker.redacted_url(), exchange = %self.config.exchange, queued = self.queue.len(), "connected to Pulse again");
        } else {
            tracing::debug!(url = self.broker.redacted_url(), exchange = %self.config.exchange, "connected to Pulse");
        }
        self.link = Some(link);
    }

    fn confirmed(&mut self, outcome: lapin::Result<Confirmation>) {
        match outcome {
            Ok(Confirmation::Ack(_) | Confirmation::NotRequested) => {
                if let Some(link) = self.link.as_mut() {
                    link.confirms.pop_front();
                }
                self.queue.pop_front();
                self.confirmed += 1;
                self.failures = 0;
            }
            Ok(Confirmation::Nack(_)) => {
                let routing_key = self.queue.front().map(|m| m.routing_key.clone()).unwrap_or_default();
                self.fail(PulseError::Nack {
                    url: self.broker.redacted_url().to_owned(),
                    exchange: self.config.exchange.clone(),
                    routing_key,
                });
            }
            Err(err) => {
                let detail = self.broker.scrub(&err.to_string());
                self.fail(self.publish_error(detail));
            }
        }
    }

    fn publish_error(&self, detail: String) -> PulseError {
        PulseError::Publish {
            url: self.broker.redacted_url().to_owned(),
            exchange: self.config.exchange.clone(),
            detail,
        }
    }

    /// Drops the connection (the unconfirmed messages stay queued, to be
    /// sent again on the next one) and waits before the next attempt.
    fn fail(&mut self, err: PulseError) {
        self.link = None;
        self.failures = self.failures.saturating_add(1);
        let mut delay = crate::config::jitter(self.config.retry.delay(self.failures));
        if self.flushing {
            delay = delay.min(Duration::from_millis(200));
        }
        self.retry_at = Some(Instant::now() + delay);
        tracing::warn!(
            url = self.broker.redacted_url(),
            exchange = %self.config.exchange,
            queued = self.queue.len(),
            retry_in_ms = delay.as_millis() as u64,
            "{err}; will retry"
        );
        self.last_error = Some(err);
    }
}
