//! `fleetroll serve` publishes tree status changes to Pulse: the real
//! binary, a real RabbitMQ, and a queue bound to the exchange the way a
//! Pulse consumer binds one. (The routing key `tree/<tree>/status_change`
//! is one topic word, as the reference has it: `/` does not separate words,
//! so consumers bind `#` or the exact key, never `tree/#`.)
//!
//! Without a broker the case is reported as ignored, with the reason; with
//! FLEETROLL_REQUIRE_SERVICES=1 it fails instead.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use lapin::options::{
    BasicGetOptions, ExchangeDeclareOptions, ExchangeDeleteOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{Connection, ConnectionProperties, ExchangeKind};
use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::Value;
use support::served::Served;

mod support;

fn main() {
    let arguments = Arguments::from_args();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let reachable = runtime.block_on(broker_reachable());
    let required = std::env::var("FLEETROLL_REQUIRE_SERVICES").is_ok_and(|v| v == "1");
    let name = "status_changes_reach_a_bound_queue";
    let trial = match reachable {
        Ok(()) => Trial::test(name, move || runtime.block_on(status_changes_reach_a_bound_queue())),
        Err(reason) if required => Trial::test(name, move || Err(Failed::from(format!("RabbitMQ: {reason}")))),
        Err(reason) => {
            eprintln!("RabbitMQ unavailable ({reason}): {name} is ignored");
            Trial::test(name, || Ok(())).with_ignored_flag(true)
        }
    };
    libtest_mimic::run(&arguments, vec![trial]).exit();
}

fn amqp_url() -> String {
    std::env::var("FLEETROLL_TEST_AMQP_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned())
}

async fn broker_reachable() -> Result<(), String> {
    let url = amqp_url();
    let connect = Connection::connect(&url, ConnectionProperties::default());
    match tokio::time::timeout(Duration::from_secs(5), connect).await {
        Ok(Ok(connection)) => {
            let _ = connection.close(200, "probe".into()).await;
            Ok(())
        }
        Ok(Err(err)) => Err(err.to_string()),
        Err(_) => Err("no answer within 5 s".to_owned()),
    }
}

async fn status_changes_reach_a_bound_queue() -> Result<(), Failed> {
    let suffix = format!("{:016x}", fastrand::u64(..));
    // Pulse's naming rule: exchange/<user>/<name>, and the test user is guest.
    let exchange = format!("exchange/guest/fleetroll-test-{suffix}");
    let queue = format!("queue/guest/fleetroll-test-{suffix}");
    let home = tempfile::tempdir()?;
    std::fs::write(
        home.path().join("config.toml"),
        format!("[pulse]\nurl = \"{}\"\nexchange = \"{exchange}\"\n", amqp_url()),
    )?;
    let connection = Connection::connect(&amqp_url(), ConnectionProperties::default()).await?;
    let channel = connection.create_channel().await?;
    let outcome = async {
        let token = fleetroll(
            home.path(),
            &["client", "create", "sheriff", "--scope", "assume:project:fleetroll:treestatus/admin"],
        )?;
        bind(&channel, &exchange, &queue).await?;
        let log_levels = [("FLEETROLL_LOG", "fleetroll_pulse=debug,fleetroll_server=info")];
        let mut server = Served::start(home.path(), &log_levels)?;
        let env = [("FLEETROLL_SERVER_URL", server.url.clone()), ("FLEETROLL_TOKEN", token)];
        run_tree(home.path(), &env, &["create", "autoland"])?;
        run_tree(home.path(), &env, &["motd", "autoland", "no message for this"])?;
        run_tree(home.path(), &env, &["close", "autoland", "--reason", "bustage", "--tag", "checkin_test"])?;
        let taken = take_one(&channel, &queue, Duration::from_secs(15)).await;
        server.stop();
        let message =
            taken.map_err(|err| Failed::from(format!("{:?}; the server said:\n{}", err.message(), server.log())))?;
        check_message(&message, &exchange)?;
        let rest = take_one(&channel, &queue, Duration::from_millis(500)).await;
        if rest.is_ok() {
            return Err(Failed::from("a change without a status transition was published"));
        }
        Ok(())
    }
    .await;
    let _ = channel.exchange_delete(exchange.as_str().into(), ExchangeDeleteOptions::default()).await;
    let _ = connection.close(200, "done".into()).await;
    outcome
}

/// Declares the exchange as the publisher does (topic, durable: declaring
/// it twice alike is a no-op) and binds a queue to everything on it.
async fn bind(channel: &lapin::Channel, exchange: &str, queue: &str) -> Result<(), Failed> {
    let durable = ExchangeDeclareOptions { durable: true, ..Default::default() };
    channel.exchange_declare(exchange.into(), ExchangeKind::Topic, durable, FieldTable::default()).await?;
    let options = QueueDeclareOptions { exclusive: true, auto_delete: true, ..Default::default() };
    channel.queue_declare(queue.into(), options, FieldTable::default()).await?;
    channel
        .queue_bind(queue.into(), exchange.into(), "#".into(), QueueBindOptions::default(), FieldTable::default())
        .await?;
    Ok(())
}

async fn take_one(channel: &lapin::Channel, queue: &str, within: Duration) -> Result<lapin::message::Delivery, Failed> {
    let deadline = tokio::time::Instant::now() + within;
    while tokio::time::Instant::now() < deadline {
        if let Some(message) = channel.basic_get(queue.into(), BasicGetOptions { no_ack: true }).await? {
            return Ok(message.delivery);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(Failed::from(format!("no message on {queue} within {within:?}")))
}

fn check_message(message: &lapin::message::Delivery, exchange: &str) -> Result<(), Failed> {
    let key = message.routing_key.as_str();
    if key != "tree/autoland/status_change" {
        return Err(Failed::from(format!("routing key {key}")));
    }
    let body: Value = serde_json::from_slice(&message.data)?;
    let payload = &body["payload"];
    let expected = (Some("open"), Some("closed"), Some("autoland"), Some("bustage"), Some("checkin_test"));
    let got = (
        payload["status_from"].as_str(),
        payload["status_to"].as_str(),
        payload["tree"]["tree"].as_str(),
        payload["tree"]["reason"].as_str(),
        payload["tags"][0].as_str(),
    );
    if got != expected || body["_meta"]["exchange"] != exchange || body["_meta"]["routing_key"] != key {
        return Err(Failed::from(format!("unexpected message {body}")));
    }
    Ok(())
}

fn fleetroll(home: &Path, args: &[&str]) -> Result<String, Failed> {
    let output = Command::new(env!("CARGO_BIN_EXE_fleetroll")).env("FLEETROLL_HOME", home).args(args).output()?;
    if !output.status.success() {
        return Err(Failed::from(format!("{args:?}: {}", String::from_utf8_lossy(&output.stderr))));
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

fn run_tree(home: &Path, env: &[(&str, String); 2], args: &[&str]) -> Result<(), Failed> {
    let mut command = Command::new(env!("CARGO_BIN_EXE_fleetroll"));
    command.env("FLEETROLL_HOME", home).arg("tree").args(args);
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output()?;
    if !output.status.success() {
        return Err(Failed::from(format!("tree {args:?}: {}", String::from_utf8_lossy(&output.stderr))));
    }
    Ok(())
}
