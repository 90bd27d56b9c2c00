//! A RabbitMQ to test against: each test gets a vhost of its own (made with
//! `rabbitmqctl` when it manages the broker of the URL), removed after, so
//! tests run in parallel and reruns start clean. Without `rabbitmqctl` a
//! test uses the URL's vhost under random exchange and queue names, and
//! deletes them after.
//!
//! The broker comes from `FLEETROLL_TEST_AMQP_URL` (default the local one,
//! guest/guest). When it cannot be reached, tests that need it are reported
//! as ignored, with the reason; with `FLEETROLL_REQUIRE_SERVICES=1` they fail
//! instead.

#![allow(dead_code, unreachable_pub)] // The benchmark uses a part of this.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fleetroll_core::config::Secret;
use fleetroll_pulse::{Backoff, ExchangeNaming, PublisherConfig};
use lapin::message::Delivery;
use lapin::options::{
    BasicGetOptions, ExchangeDeleteOptions, QueueBindOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::FieldTable;
use lapin::{Connection, ConnectionProperties};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

pub const DEFAULT_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

pub fn base_url() -> String {
    std::env::var("FLEETROLL_TEST_AMQP_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

pub fn services_required() -> bool {
    std::env::var("FLEETROLL_REQUIRE_SERVICES").is_ok_and(|v| v == "1")
}

pub fn redacted_base_url() -> String {
    fleetroll_core::config::redact_url(&base_url())
}

/// `Ok` when RabbitMQ answers at the test URL, else why not.
pub async fn broker_reachable() -> Result<(), String> {
    let url = base_url();
    let attempt =
        tokio::time::timeout(Duration::from_secs(5), Connection::connect(&url, ConnectionProperties::default()));
    match attempt.await {
        Ok(Ok(connection)) => {
            let _ = connection.close(200, "probe".into()).await;
            Ok(())
        }
        Ok(Err(err)) => Err(format!("cannot connect to RabbitMQ at {}: {err}", redacted_base_url())),
        Err(_) => Err(format!("RabbitMQ at {} did not answer within 5 s", redacted_base_url())),
    }
}

/// `Ok` when `rabbitmqctl` manages the broker of the test URL (a local one),
/// else why not.
pub fn rabbitmqctl_usable() -> Result<(), String> {
    let (host, _) = host_port(&base_url());
    if !matches!(host.as_str(), "127.0.0.1" | "localhost" | "::1") {
        return Err(format!("the test broker ({host}) is not local, so rabbitmqctl cannot manage it"));
    }
    rabbitmqctl(&["list_vhosts"]).map(|_| ())
}

fn rabbitmqctl(args: &[&str]) -> Result<String, String> {
    let output = Command::new("rabbitmqctl")
        .arg("-q")
        .args(args)
        .output()
        .map_err(|err| format!("cannot run rabbitmqctl: {err}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(format!(
            "rabbitmqctl {} failed ({}): {}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// `(host, port)` of an AMQP URL, as written (IPv6 without brackets).
pub fn host_port(url: &str) -> (String, u16) {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    let (host, port) = match host_port.strip_prefix('[') {
        Some(bracketed) => {
            let (host, after) = bracketed.split_once(']').expect("closing bracket");
            (host, after.strip_prefix(':'))
        }
        None => match host_port.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        },
    };
    let default = if url.starts_with("amqps") { 5671 } else { 5672 };
    (host.to_owned(), port.map_or(default, |p| p.parse().expect("port")))
}

/// `url` with its vhost replaced by `vhost` (a name that needs no escaping).
fn with_vhost(url: &str, vhost: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("scheme");
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let query = rest[end..].find('?').map_or("", |q| &rest[end + q..]);
    format!("{scheme}://{}/{vhost}{query}", &rest[..end])
}

/// `url` reaching `addr` instead of its own host and port.
pub fn with_address(url: &str, addr: SocketAddr) -> String {
    let (scheme, rest) = url.split_once("://").expect("scheme");
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let userinfo = rest[..end].rsplit_once('@').map_or(String::new(), |(u, _)| format!("{u}@"));
    format!("{scheme}://{userinfo}{addr}{}", &rest[end..])
}

/// `url` with `password` in place of its own.
pub fn with_password(url: &str, password: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("scheme");
    let (userinfo, host) = rest.split_once('@').expect("the test URL has a user");
    let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
    format!("{scheme}://{user}:{password}@{host}")
}

fn random_name(kind: &str) -> String {
    format!("fleetroll-test-{kind}-{:016x}", fastrand::u64(..))
}

/// The place one test works in.
#[derive(Debug)]
pub struct TestBroker {
    /// The URL of the test's vhost (or of the shared one).
    pub url: String,
    vhost: Option<String>,
    created: RefCell<Vec<(bool, String)>>,
}

impl TestBroker {
    /// A vhost of its own when `own_vhost`, else room in the URL's vhost.
    pub fn create(own_vhost: bool) -> TestBroker {
        let base = base_url();
        if !own_vhost {
            return TestBroker { url: base, vhost: None, created: RefCell::default() };
        }
        let vhost = random_name("vhost");
        rabbitmqctl(&["add_vhost", &vhost]).expect("add the test vhost");
        let user = fleetroll_pulse::broker::Broker::new(&Secret::new(base.clone()), Duration::from_secs(5), "test")
            .expect("the test URL")
            .user()
            .to_owned();
        rabbitmqctl(&["set_permissions", "-p", &vhost, &user, ".*", ".*", ".*"]).expect("let the test user in");
        TestBroker { url: with_vhost(&base, &vhost), vhost: Some(vhost), created: RefCell::default() }
    }

    /// Removes what the test made (the vhost, or its exchanges and queues).
    pub async fn remove(self) {
        if let Some(vhost) = &self.vhost {
            if let Err(err) = rabbitmqctl(&["delete_vhost", vhost]) {
                eprintln!("could not remove test vhost {vhost}: {err}");
            }
            return;
        }
        let Ok(connection) = self.connect().await else { return };
        if let Ok(channel) = connection.create_channel().await {
            for (is_queue, name) in self.created.take() {
                let _ = if is_queue {
                    channel.queue_delete(name.as_str().into(), QueueDeleteOptions::default()).await.map(|_| ())
                } else {
                    channel.exchange_delete(name.as_str().into(), ExchangeDeleteOptions::default()).await
                };
            }
        }
        let _ = connection.close(200, "cleanup".into()).await;
    }

    /// A fresh exchange name, remembered for cleanup.
    pub fn exchange(&self) -> String {
        let name = random_name("exchange");
        self.created.borrow_mut().push((false, name.clone()));
        name
    }

    /// A publisher configuration for this broker: any exchange name, and
    /// retries quick enough for tests.
    pub fn config(&self, exchange: &str) -> PublisherConfig {
        config_for(&self.url, exchange)
    }

    pub async fn connect(&self) -> lapin::Result<Connection> {
        Connection::connect(&self.url, ConnectionProperties::default()).await
    }

    /// Declares `exchange` the way the publisher does and binds a new queue
    /// to it with `key`; messages wait in the queue until [`Self::take`].
    pub async fn bind_queue(&self, exchange: &str, key: &str) -> String {
        self.bind_queue_with(exchange, key, false).await
    }

    /// [`Self::bind_queue`], with a durable queue if `durable` (persistent
    /// messages are then written to disk before they are confirmed).
    pub async fn bind_queue_with(&self, exchange: &str, key: &str, durable: bool) -> String {
        fleetroll_pulse::check(&self.config(exchange)).await.expect("declare the test exchange");
        let queue = random_name("queue");
        self.created.borrow_mut().push((true, queue.clone()));
        let connection = self.connect().await.expect("test connection");
        let channel = connection.create_channel().await.expect("test channel");
        channel
            .queue_declare(
                queue.as_str().into(),
                QueueDeclareOptions { durable, ..Default::default() },
                FieldTable::default(),
            )
            .await
            .expect("declare the test queue");
        channel
            .queue_bind(
                queue.as_str().into(),
                exchange.into(),
                key.into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .expect("bind the test queue");
        let _ = connection.close(200, "bound".into()).await;
        queue
    }

    /// Takes messages from `queue` until `count` arrived or `within` passed.
    pub async fn take(&self, queue: &str, count: usize, within: Duration) -> Vec<Delivery> {
        let connection = self.connect().await.expect("test connection");
        let channel = connection.create_channel().await.expect("test channel");
        let deadline = tokio::time::Instant::now() + within;
        let mut taken = Vec::new();
        while taken.len() < count && tokio::time::Instant::now() < deadline {
            let got = channel
                .basic_get(queue.into(), BasicGetOptions { no_ack: true })
                .await
                .expect("basic.get on the test queue");
            match got {
                Some(message) => taken.push(message.delivery),
                None => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
        let _ = connection.close(200, "taken".into()).await;
        taken
    }

    /// Takes every message waiting in `queue`.
    pub async fn drain(&self, queue: &str) -> Vec<Delivery> {
        let connection = self.connect().await.expect("test connection");
        let channel = connection.create_channel().await.expect("test channel");
        let mut taken = Vec::new();
        while let Some(message) = channel
            .basic_get(queue.into(), BasicGetOptions { no_ack: true })
            .await
            .expect("basic.get on the test queue")
        {
            taken.push(message.delivery);
        }
        let _ = connection.close(200, "drained".into()).await;
        taken
    }

    /// How many messages wait in `queue`.
    pub async fn queue_length(&self, queue: &str) -> u32 {
        let connection = self.connect().await.expect("test connection");
        let channel = connection.create_channel().await.expect("test channel");
        let options = QueueDeclareOptions { passive: true, ..Default::default() };
        let declared = channel.queue_declare(queue.into(), options, FieldTable::default()).await.expect("queue exists");
        let _ = connection.close(200, "counted".into()).await;
        declared.message_count()
    }

    /// The test's own vhost, if it has one.
    pub fn vhost(&self) -> Option<&str> {
        self.vhost.as_deref()
    }
}

/// Closes every connection to `vhost` from the broker's side (blocking: it
/// runs `rabbitmqctl`).
pub fn close_connections(vhost: &str) {
    rabbitmqctl(&["close_all_connections", "--vhost", vhost, "--limit", "1000", "closed by a fleetroll test"])
        .expect("close the test vhost's connections");
}

pub fn config_for(url: &str, exchange: &str) -> PublisherConfig {
    let mut config = PublisherConfig::new(Secret::new(url), exchange);
    config.naming = ExchangeNaming::Any;
    config.retry = Backoff { initial: Duration::from_millis(50), max: Duration::from_millis(400) };
    config.connect_timeout = Duration::from_secs(5);
    config.confirm_timeout = Duration::from_secs(10);
    config
}

/// A TCP proxy in front of the broker that a test can cut (existing
/// connections drop, new ones are refused) and restore on the same port.
#[derive(Debug)]
pub struct Proxy {
    pub addr: SocketAddr,
    target: SocketAddr,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Proxy {
    pub async fn start(target_url: &str) -> Proxy {
        let (host, port) = host_port(target_url);
        let target = tokio::net::lookup_host((host.as_str(), port))
            .await
            .expect("resolve the broker")
            .next()
            .expect("an address for the broker");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the proxy");
        let addr = listener.local_addr().expect("proxy address");
        let proxy = Proxy { addr, target, tasks: Arc::default() };
        proxy.serve(listener);
        proxy
    }

    fn serve(&self, listener: TcpListener) {
        let (target, tasks) = (self.target, Arc::clone(&self.tasks));
        let accepting = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let pipe = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                tasks.lock().expect("proxy tasks").push(pipe);
            }
        });
        self.tasks.lock().expect("proxy tasks").push(accepting);
    }

    /// Drops every connection and stops listening: the broker is gone.
    pub fn cut(&self) {
        for task in self.tasks.lock().expect("proxy tasks").drain(..) {
            task.abort();
        }
    }

    /// Listens again on the same port.
    pub async fn restore(&self) {
        // The aborted listener may take a moment to let go of the port.
        for _ in 0..50 {
            if let Ok(listener) = TcpListener::bind(self.addr).await {
                self.serve(listener);
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("could not listen on {} again", self.addr);
    }
}

/// An address where nothing listens: connections to it are refused.
pub async fn refusing_address() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    drop(listener);
    addr
}

/// One Taskcluster queue message: the exchange it goes to, its routing key
/// and its body.
pub type TaskMessage = (fleetroll_core::liveness::EventKind, String, Vec<u8>);

/// Declares the queue's four task exchanges under `prefix` as Taskcluster
/// declares them: topic, durable.
pub async fn declare_task_exchanges(broker: &TestBroker, prefix: &str) {
    use lapin::options::ExchangeDeclareOptions;
    let connection = broker.connect().await.expect("connect");
    let channel = connection.create_channel().await.expect("channel");
    for kind in fleetroll_core::liveness::EventKind::ALL {
        let name = format!("{prefix}{}", kind.exchange_suffix());
        let durable = ExchangeDeclareOptions { durable: true, ..ExchangeDeclareOptions::default() };
        channel
            .exchange_declare(name.as_str().into(), lapin::ExchangeKind::Topic, durable, FieldTable::default())
            .await
            .expect("declare a task exchange");
    }
    let _ = connection.close(200, "declared".into()).await;
}

/// Publishes `messages` to the task exchanges under `prefix`, persistent
/// JSON like the queue's, with confirms, 1,000 in flight: every message is
/// queued when this returns. Returns how long it took.
pub async fn publish_task_messages(broker: &TestBroker, prefix: &str, messages: &[TaskMessage]) -> Duration {
    use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
    let connection = broker.connect().await.expect("connect");
    let channel = connection.create_channel().await.expect("channel");
    channel.confirm_select(ConfirmSelectOptions::default()).await.expect("confirms");
    let properties =
        lapin::BasicProperties::default().with_content_type("application/json".into()).with_delivery_mode(2);
    let started = std::time::Instant::now();
    for chunk in messages.chunks(1000) {
        let mut confirms = Vec::with_capacity(chunk.len());
        for (kind, key, body) in chunk {
            let exchange = format!("{prefix}{}", kind.exchange_suffix());
            let options = BasicPublishOptions::default();
            let confirm = channel
                .basic_publish(exchange.as_str().into(), key.as_str().into(), options, body, properties.clone())
                .await
                .expect("publish");
            confirms.push(confirm);
        }
        for confirm in confirms {
            assert!(confirm.await.expect("confirm").is_ack(), "the broker refused a task message");
        }
    }
    let elapsed = started.elapsed();
    let _ = connection.close(200, "published".into()).await;
    elapsed
}
