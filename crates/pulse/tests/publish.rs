//! The publisher against a real RabbitMQ: what arrives, in which order, and
//! what happens when the broker goes away, refuses us, or we shut down.
//!
//! Each case runs on a current-thread runtime of its own, in a vhost of its
//! own where `rabbitmqctl` can make one, with the publisher's logs captured
//! (they are printed when a case fails, or always with
//! `FLEETROLL_TEST_SHOW_LOGS=1`, and some cases read them).

mod support;

use std::future::Future;
use std::io::Write;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fleetroll_core::pulse::Outgoing;
use fleetroll_pulse::{ExchangeNaming, PulseError, check, run_publisher};
use lapin::message::Delivery;
use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::{Value, json};
use support::{Proxy, TestBroker};
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

type CaseFuture<'a> = Pin<Box<dyn Future<Output = ()> + 'a>>;
type Case = for<'a> fn(&'a TestBroker, &'a Logs) -> CaseFuture<'a>;

/// What a case needs beyond this process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Needs {
    Nothing,
    Broker,
    /// The broker, and `rabbitmqctl` managing it (to close connections from
    /// the broker's side).
    BrokerControl,
}

macro_rules! cases {
    ($($needs:ident $name:ident),* $(,)?) => {
        vec![$((stringify!($name), Needs::$needs, (|b, l| Box::pin($name(b, l))) as Case)),*]
    };
}

fn main() {
    let args = Arguments::from_args();
    let probe = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let broker = probe.block_on(support::broker_reachable());
    drop(probe);
    let control = broker.clone().and_then(|()| support::rabbitmqctl_usable());
    let required = support::services_required();
    for (what, outcome) in [("RabbitMQ", &broker), ("rabbitmqctl", &control)] {
        if let Err(why) = outcome {
            if required {
                eprintln!("FLEETROLL_REQUIRE_SERVICES=1 and {why}: the cases that need {what} will fail");
            } else if what == "RabbitMQ" || broker.is_ok() {
                eprintln!("pulse publish cases that need {what} skipped (reported as ignored): {why}");
            }
        }
    }
    let own_vhost = control.is_ok();
    let trials = all_cases()
        .into_iter()
        .map(|(name, needs, case)| {
            let unavailable = match needs {
                Needs::Nothing => None,
                Needs::Broker => broker.clone().err(),
                Needs::BrokerControl => control.clone().err(),
            };
            let skip = unavailable.is_some() && !required;
            let vhost = own_vhost && needs != Needs::Nothing;
            Trial::test(name, move || run(case, unavailable, vhost)).with_ignored_flag(skip)
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}

fn all_cases() -> Vec<(&'static str, Needs, Case)> {
    cases![
        Broker published_message_arrives_as_persistent_json,
        Broker order_is_kept_over_1000_messages,
        BrokerControl nothing_is_lost_when_the_broker_closes_the_connection,
        Broker messages_wait_while_the_broker_is_unreachable,
        Broker wrong_password_is_a_clear_error_without_the_password,
        Broker shutdown_flushes_the_queue,
        Broker publisher_ends_when_senders_are_gone_and_all_is_sent,
        Broker large_messages_are_sent_with_a_warning,
        Broker check_declares_a_durable_topic_exchange,
        Nothing shutdown_reports_what_was_not_sent,
        Nothing pulse_exchange_names_are_enforced,
    ]
}

fn run(case: Case, unavailable: Option<String>, own_vhost: bool) -> Result<(), Failed> {
    if let Some(why) = unavailable {
        return Err(why.into());
    }
    let logs = Logs::default();
    let _logging = tracing::subscriber::set_default(logs.subscriber());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let broker = TestBroker::create(own_vhost);
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
        runtime.block_on(async {
            tokio::time::timeout(Duration::from_secs(90), case(&broker, &logs)).await.expect("the case took over 90 s")
        })
    }));
    runtime.block_on(broker.remove());
    if std::env::var_os("FLEETROLL_TEST_SHOW_LOGS").is_some() {
        eprintln!("--- publisher log ---\n{}", logs.text());
    }
    outcome.map_err(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "the case panicked".to_owned());
        Failed::from(format!("{message}\n--- publisher log ---\n{}", logs.text()))
    })
}

/// The log lines of one case.
#[derive(Clone, Debug, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync + use<> {
        let sink = self.clone();
        tracing_subscriber::fmt()
            .with_env_filter("fleetroll_pulse=debug")
            .with_ansi(false)
            .with_writer(move || sink.clone())
            .finish()
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("logs")).into_owned()
    }
}

impl Write for Logs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("logs").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A publisher running in a task, with its sender and shutdown switch.
struct Running {
    tx: Option<UnboundedSender<Outgoing>>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), PulseError>>,
}

impl Running {
    fn start(config: fleetroll_pulse::PublisherConfig) -> Running {
        let (tx, rx) = unbounded_channel();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(run_publisher(config, rx, async move {
            let _ = stopped.await;
        }));
        Running { tx: Some(tx), stop: Some(stop), task }
    }

    fn send(&self, routing_key: &str, body: Value) {
        let message = Outgoing { routing_key: routing_key.to_owned(), body };
        self.tx.as_ref().expect("sender").send(message).expect("the publisher takes messages");
    }

    async fn shutdown(mut self) -> Result<(), PulseError> {
        let _ = self.stop.take().expect("once").send(());
        self.task.await.expect("the publisher task")
    }
}

fn tree_status(tree: &str, n: usize) -> Value {
    json!({
        "payload": {
            "status_from": "open",
            "status_to": "closed",
            "tree": {"tree": tree, "status": "closed", "reason": "bustage", "message_of_the_day": ""},
            "tags": ["checkin-compilation"],
            "n": n,
        },
        "_meta": {"exchange": "exchange/fleetroll/treestatus", "routing_key": format!("tree/{tree}/status_change"), "serializer": "json", "sent": "2026-01-01T12:00:00Z"},
    })
}

fn numbers(deliveries: &[Delivery]) -> Vec<u64> {
    deliveries
        .iter()
        .map(|d| {
            let body: Value = serde_json::from_slice(&d.data).expect("JSON body");
            body["payload"]["n"].as_u64().expect("a numbered message")
        })
        .collect()
}

/// Every number below `count` arrived, and first arrivals are in order
/// (copies sent again after a reconnect may follow).
fn assert_complete_in_order(got: &[u64], count: u64) {
    let mut seen = vec![false; count as usize];
    let mut firsts = Vec::new();
    for &n in got {
        assert!(n < count, "unexpected message {n}");
        if !std::mem::replace(&mut seen[n as usize], true) {
            firsts.push(n);
        }
    }
    let missing: Vec<u64> = (0..count).filter(|n| !seen[*n as usize]).collect();
    assert!(missing.is_empty(), "{} messages lost, first {:?}", missing.len(), &missing[..missing.len().min(10)]);
    assert_eq!(firsts, (0..count).collect::<Vec<_>>(), "first arrivals out of order");
}

async fn published_message_arrives_as_persistent_json(broker: &TestBroker, _logs: &Logs) {
    let exchange = broker.exchange();
    let queue = broker.bind_queue(&exchange, "tree/autoland/status_change").await;
    let publisher = Running::start(broker.config(&exchange));
    let body = tree_status("autoland", 7);
    publisher.send("tree/autoland/status_change", body.clone());
    let got = broker.take(&queue, 1, Duration::from_secs(10)).await;
    publisher.shutdown().await.expect("a clean shutdown");
    assert_eq!(got.len(), 1, "the message did not arrive");
    let delivery = &got[0];
    assert_eq!(delivery.exchange.as_str(), exchange);
    assert_eq!(delivery.routing_key.as_str(), "tree/autoland/status_change");
    let properties = &delivery.properties;
    assert_eq!(properties.content_type().as_ref().map(|s| s.as_str()), Some("application/json"));
    assert_eq!(properties.content_encoding().as_ref().map(|s| s.as_str()), Some("utf-8"));
    assert_eq!(*properties.delivery_mode(), Some(2), "persistent");
    assert!(properties.message_id().is_some(), "a message id, to spot a copy sent again");
    assert!(properties.timestamp().is_some());
    let received: Value = serde_json::from_slice(&delivery.data).expect("UTF-8 JSON");
    assert_eq!(received, body);
}

async fn order_is_kept_over_1000_messages(broker: &TestBroker, _logs: &Logs) {
    let exchange = broker.exchange();
    // Topic patterns match dot-separated words; these keys have slashes.
    let queue = broker.bind_queue(&exchange, "#").await;
    let publisher = Running::start(broker.config(&exchange));
    for n in 0..1000 {
        publisher.send(&format!("tree/tree-{}/status_change", n % 7), tree_status("x", n));
    }
    let got = broker.take(&queue, 1000, Duration::from_secs(30)).await;
    publisher.shutdown().await.expect("a clean shutdown");
    // Nothing failed, so nothing was sent twice: exactly in order.
    assert_eq!(numbers(&got), (0..1000).collect::<Vec<_>>());
}

async fn nothing_is_lost_when_the_broker_closes_the_connection(broker: &TestBroker, logs: &Logs) {
    let exchange = broker.exchange();
    let queue = broker.bind_queue(&exchange, "#").await;
    let publisher = Running::start(broker.config(&exchange));
    let count = 1500;
    let mut closing: Option<JoinHandle<()>> = None;
    for n in 0..count {
        publisher.send("tree/autoland/status_change", tree_status("autoland", n));
        // Close from the broker's side twice while messages keep coming, so
        // some are queued and some in flight when the connection goes.
        if n == 300 || n == 900 {
            if let Some(previous) = closing.take() {
                previous.await.expect("rabbitmqctl task");
            }
            let vhost = broker.vhost().expect("a vhost of the test's own").to_owned();
            closing = Some(tokio::task::spawn_blocking(move || support::close_connections(&vhost)));
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    if let Some(last) = closing {
        last.await.expect("rabbitmqctl task");
    }
    // rabbitmqctl can take seconds on a busy machine, so the last closure may
    // come after the loop: messages sent after it make the publisher notice
    // and reconnect whatever the timing.
    let total = count + 100;
    for n in count..total {
        publisher.send("tree/autoland/status_change", tree_status("autoland", n));
    }
    publisher.shutdown().await.expect("everything sent before the grace period ends");
    let got = numbers(&broker.drain(&queue).await);
    // At least once: copies of messages in flight at a closure may follow.
    assert_complete_in_order(&got, total as u64);
    let log = logs.text();
    assert!(log.contains("WARN") && log.contains("connected to Pulse again"), "the lost connection was logged:\n{log}");
    assert!(!log.contains(":guest@"), "the password appears in the log");
}

async fn messages_wait_while_the_broker_is_unreachable(broker: &TestBroker, logs: &Logs) {
    let exchange = broker.exchange();
    let queue = broker.bind_queue(&exchange, "#").await;
    let proxy = Proxy::start(&broker.url).await;
    let publisher = Running::start(broker.config(&exchange).with_url(&support::with_address(&broker.url, proxy.addr)));
    for n in 0..10 {
        publisher.send("tree/autoland/status_change", tree_status("autoland", n));
    }
    let first = broker.take(&queue, 10, Duration::from_secs(10)).await;
    assert_eq!(numbers(&first), (0..10).collect::<Vec<_>>());
    proxy.cut();
    for n in 10..60 {
        publisher.send("tree/autoland/status_change", tree_status("autoland", n));
    }
    // Long enough for several refused attempts (backoff 50 ms to 400 ms).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let during = broker.take(&queue, 1, Duration::from_millis(200)).await;
    assert!(during.is_empty(), "a message got through a cut connection");
    let log = logs.text();
    assert!(log.contains("Connection refused") || log.contains("connection refused"), "refusals logged:\n{log}");
    assert!(log.contains("amqp://guest:***@"), "the URL is logged redacted:\n{log}");
    proxy.restore().await;
    let mut rest = broker.take(&queue, 50, Duration::from_secs(20)).await;
    publisher.shutdown().await.expect("a clean shutdown");
    rest.extend(broker.drain(&queue).await);
    let mut got = numbers(&first);
    got.extend(numbers(&rest));
    assert_complete_in_order(&got, 60);
    assert!(logs.text().contains("connected to Pulse again"));
}

async fn wrong_password_is_a_clear_error_without_the_password(broker: &TestBroker, logs: &Logs) {
    let password = format!("not-the-password-{:08x}", fastrand::u32(..));
    let exchange = broker.exchange();
    let url = support::with_password(&broker.url, &password);
    let config = broker.config(&exchange).with_url(&url);
    let err = check(&config).await.expect_err("a wrong password is refused");
    let said = err.to_string();
    assert!(matches!(err, PulseError::Connect { .. }), "{err:?}");
    assert!(said.starts_with("cannot connect to Pulse at amqp://guest:***@"), "{said}");
    assert!(said.contains("ACCESS_REFUSED") || said.contains("ACCESSREFUSED"), "{said}");
    assert!(said.contains("user name or password"), "{said}");
    assert!(!said.contains(&password), "{said}");
    assert!(!format!("{err:?}").contains(&password));

    // The running publisher keeps the message and keeps trying; at shutdown
    // it says what was not sent, and why, still without the password.
    let mut config = config;
    config.shutdown_grace = Duration::from_millis(300);
    let publisher = Running::start(config);
    publisher.send("tree/autoland/status_change", tree_status("autoland", 0));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let err = publisher.shutdown().await.expect_err("the message could not be sent");
    let said = err.to_string();
    assert!(matches!(err, PulseError::NotSent { count: 1, .. }), "{err:?}");
    assert!(said.contains("user name or password"), "{said}");
    assert!(!said.contains(&password), "{said}");
    let log = logs.text();
    assert!(log.contains("WARN") && log.contains("amqp://guest:***@"), "{log}");
    assert!(!log.contains(&password), "the password is in the log:\n{log}");
}

async fn shutdown_flushes_the_queue(broker: &TestBroker, _logs: &Logs) {
    let exchange = broker.exchange();
    let queue = broker.bind_queue(&exchange, "#").await;
    let (tx, rx) = unbounded_channel();
    for n in 0..500 {
        tx.send(Outgoing { routing_key: "tree/autoland/status_change".to_owned(), body: tree_status("autoland", n) })
            .expect("queue");
    }
    // Shutdown is already due: the publisher must still send what the
    // channel holds, within the grace period.
    let outcome = run_publisher(broker.config(&exchange), rx, std::future::ready(())).await;
    outcome.expect("all sent within the grace period");
    let got = broker.take(&queue, 500, Duration::from_secs(10)).await;
    assert_eq!(numbers(&got), (0..500).collect::<Vec<_>>());
    drop(tx);
}

async fn publisher_ends_when_senders_are_gone_and_all_is_sent(broker: &TestBroker, _logs: &Logs) {
    let exchange = broker.exchange();
    let queue = broker.bind_queue(&exchange, "#").await;
    let (tx, rx) = unbounded_channel();
    let task = tokio::spawn(run_publisher(broker.config(&exchange), rx, std::future::pending()));
    for n in 0..20 {
        tx.send(Outgoing { routing_key: "k".to_owned(), body: tree_status("a", n) }).expect("queue");
    }
    drop(tx);
    let outcome = tokio::time::timeout(Duration::from_secs(10), task).await.expect("the publisher ends");
    outcome.expect("task").expect("a clean end");
    assert_eq!(numbers(&broker.take(&queue, 20, Duration::from_secs(5)).await), (0..20).collect::<Vec<_>>());
}

async fn large_messages_are_sent_with_a_warning(broker: &TestBroker, logs: &Logs) {
    let exchange = broker.exchange();
    let queue = broker.bind_queue(&exchange, "#").await;
    let publisher = Running::start(broker.config(&exchange));
    let mut body = tree_status("autoland", 0);
    body["payload"]["tree"]["message_of_the_day"] = Value::String("m".repeat(20_000));
    publisher.send("tree/autoland/status_change", body.clone());
    let got = broker.take(&queue, 1, Duration::from_secs(10)).await;
    publisher.shutdown().await.expect("a clean shutdown");
    assert_eq!(got.len(), 1);
    assert_eq!(serde_json::from_slice::<Value>(&got[0].data).expect("JSON"), body);
    let log = logs.text();
    assert!(log.contains("WARN") && log.contains("larger than the 8 KiB"), "{log}");
}

async fn check_declares_a_durable_topic_exchange(broker: &TestBroker, _logs: &Logs) {
    let exchange = broker.exchange();
    check(&broker.config(&exchange)).await.expect("check passes");
    check(&broker.config(&exchange)).await.expect("declaring again changes nothing");
    // A passive declare with other settings than durable topic fails: the
    // exchange has exactly Pulse's settings.
    let connection = broker.connect().await.expect("connect");
    let channel = connection.create_channel().await.expect("channel");
    let options = lapin::options::ExchangeDeclareOptions { durable: true, ..Default::default() };
    channel
        .exchange_declare(exchange.as_str().into(), lapin::ExchangeKind::Topic, options, Default::default())
        .await
        .expect("the same declaration is accepted");
    let fanout = channel
        .exchange_declare(exchange.as_str().into(), lapin::ExchangeKind::Fanout, options, Default::default())
        .await;
    assert!(fanout.is_err(), "a fanout declaration of a topic exchange must fail");
    let _ = connection.close(200, "done".into()).await;
}

async fn shutdown_reports_what_was_not_sent(_broker: &TestBroker, logs: &Logs) {
    let addr = support::refusing_address().await;
    let url = format!("amqp://fleetroll:s3cret-pw@{addr}/%2f");
    let mut config = support::config_for(&url, "exchange/fleetroll/treestatus");
    config.naming = ExchangeNaming::Pulse;
    config.shutdown_grace = Duration::from_millis(300);
    let publisher = Running::start(config);
    for n in 0..3 {
        publisher.send("tree/autoland/status_change", tree_status("autoland", n));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let err = publisher.shutdown().await.expect_err("nothing could be sent");
    let said = err.to_string();
    assert!(matches!(err, PulseError::NotSent { count: 3, .. }), "{err:?}");
    assert!(
        said.starts_with("3 Pulse messages for `exchange/fleetroll/treestatus` at amqp://fleetroll:***@"),
        "{said}"
    );
    assert!(said.contains("is the broker running"), "{said}");
    let log = logs.text();
    assert!(log.contains("3 Pulse messages") && log.contains("WARN"), "{log}");
    assert!(!log.contains("s3cret-pw") && !said.contains("s3cret-pw"), "{log}");
}

async fn pulse_exchange_names_are_enforced(_broker: &TestBroker, _logs: &Logs) {
    let mut config = support::config_for("amqp://fleetroll:pw@127.0.0.1:1/%2f", "treestatus");
    config.naming = ExchangeNaming::Pulse;
    let (_tx, rx) = unbounded_channel();
    let err = run_publisher(config.clone(), rx, std::future::pending()).await.expect_err("refused at once");
    assert_eq!(
        err.to_string(),
        "Pulse exchange `treestatus`: Pulse exchanges are named `exchange/fleetroll/<name>` (the URL's user is `fleetroll`)"
    );
    assert_eq!(check(&config).await.expect_err("refused"), err);
    config.exchange = "exchange/fleetroll/treestatus".to_owned();
    config.url = fleetroll_core::config::Secret::new("http://fleetroll:pw@127.0.0.1/");
    let err = check(&config).await.expect_err("not an AMQP URL");
    assert_eq!(
        err.to_string(),
        "Pulse URL http://fleetroll:***@127.0.0.1/: the URL must start with amqp:// or amqps://"
    );
}

/// Test-only helpers on the configuration.
trait WithUrl {
    fn with_url(self, url: &str) -> Self;
}

impl WithUrl for fleetroll_pulse::PublisherConfig {
    fn with_url(mut self, url: &str) -> Self {
        self.url = fleetroll_core::config::Secret::new(url);
        self
    }
}
