//! `fleetroll serve` and Pulse, both ways, with the real binary and a real
//! RabbitMQ: tree status changes are published to a queue bound the way a
//! Pulse consumer binds one, and Taskcluster's queue events published on
//! exchanges declared as Taskcluster declares them show at `/machines`. (The routing key `tree/<tree>/status_change`
//! is one topic word, as the reference has it: `/` does not separate words,
//! so consumers bind `#` or the exact key, never `tree/#`.)
//!
//! Without a broker the case is reported as ignored, with the reason; with
//! FLEETROLL_REQUIRE_SERVICES=1 it fails instead.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use fleetroll_core::liveness::{EventKind, sample_message};
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
    let runtime = std::sync::Arc::new(runtime);
    let cases: [(&str, Case); 2] = [
        ("status_changes_reach_a_bound_queue", || Box::pin(status_changes_reach_a_bound_queue())),
        ("queue_events_show_at_machines", || Box::pin(queue_events_show_at_machines())),
    ];
    let trials = cases
        .into_iter()
        .map(|(name, case)| match &reachable {
            Ok(()) => {
                let runtime = runtime.clone();
                Trial::test(name, move || runtime.block_on(case()))
            }
            Err(reason) if required => {
                let reason = reason.clone();
                Trial::test(name, move || Err(Failed::from(format!("RabbitMQ: {reason}"))))
            }
            Err(reason) => {
                eprintln!("RabbitMQ unavailable ({reason}): {name} is ignored");
                Trial::test(name, || Ok(())).with_ignored_flag(true)
            }
        })
        .collect();
    libtest_mimic::run(&arguments, trials).exit();
}

type CaseFuture = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), Failed>>>>;
type Case = fn() -> CaseFuture;

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

/// The queue's exchanges, declared as Taskcluster declares them (topic,
/// durable), under a prefix of the test's own.
async fn queue_events_show_at_machines() -> Result<(), Failed> {
    let suffix = format!("{:016x}", fastrand::u64(..));
    let prefix = format!("exchange/guest/fleetroll-test-{suffix}/");
    let queue_name = format!("fleetroll-test-{suffix}");
    let home = tempfile::tempdir()?;
    std::fs::write(
        home.path().join("config.toml"),
        format!("[liveness]\nurl = \"{}\"\nqueue = \"{queue_name}\"\nexchange_prefix = \"{prefix}\"\n", amqp_url()),
    )?;
    let connection = Connection::connect(&amqp_url(), ConnectionProperties::default()).await?;
    let channel = connection.create_channel().await?;
    let exchanges: Vec<String> = ["task-running", "task-completed", "task-failed", "task-exception"]
        .iter()
        .map(|n| format!("{prefix}{n}"))
        .collect();
    let outcome = async {
        for exchange in &exchanges {
            let durable = ExchangeDeclareOptions { durable: true, ..Default::default() };
            channel.exchange_declare(exchange.as_str().into(), ExchangeKind::Topic, durable, FieldTable::default()).await?;
        }
        let check = fleetroll(home.path(), &["pulse-listen", "--check"])?;
        if !check.contains(&format!("queue/guest/{queue_name}")) {
            return Err(Failed::from(format!("pulse-listen --check said {check:?}")));
        }
        let mut server = Served::start(home.path(), &[("FLEETROLL_LOG", "fleetroll_pulse=debug")])?;
        let body = sample_message(EventKind::Completed, "fN1uJQpSS3aXUmtw_Lw4_g", 0, "mdc1", "t-linux64-ms-100").to_string();
        let key = "primary.fN1uJQpSS3aXUmtw_Lw4_g.0.mdc1.t-linux64-ms-100.releng-hardware.gecko-t-linux-talos.gecko-level-3.Zx3Nn8N1T2eHVaOEYHRuNQ._";
        let machines = async {
            // The queue may not be bound yet: publish until the event lands.
            let client = reqwest::Client::new();
            let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
            loop {
                channel
                    .basic_publish(
                        exchanges[1].as_str().into(),
                        key.into(),
                        Default::default(),
                        body.as_bytes(),
                        Default::default(),
                    )
                    .await?;
                tokio::time::sleep(Duration::from_millis(300)).await;
                let text = client.get(format!("{}/machines", server.url)).send().await?.text().await?;
                if text != "[]" {
                    return Ok::<_, Failed>(text);
                }
                if tokio::time::Instant::now() > deadline {
                    return Err(Failed::from("the event never showed at /machines"));
                }
            }
        }
        .await;
        let one = reqwest::get(format!("{}/machines/mdc1:t-linux64-ms-100", server.url)).await?.text().await?;
        let metrics = reqwest::get(format!("{}/metrics", server.url)).await?.text().await?;
        server.stop();
        let machines = machines.map_err(|err| Failed::from(format!("{}; the server said:\n{}", err.message().unwrap_or_default(), server.log())))?;
        // Python 2's json.dumps(indent=2), as the reference served it:
        // ", " between items, so lines end in a space.
        let expected = "[\n  {\n    \"machine\": \"t-linux64-ms-100\", \n    \"datacenter\": \"mdc1\", \n    \"lastseen\": \"2026-11-02T10:05:00\"\n  }\n]";
        if machines != expected || one != "\"2026-11-02T10:05:00\"" {
            return Err(Failed::from(format!("/machines said {machines}\n/machines/mdc1:t-linux64-ms-100 said {one}")));
        }
        if !metrics.lines().any(|line| line.starts_with("fleetroll_liveness_messages_stored_total ") && !line.ends_with(" 0")) {
            return Err(Failed::from(format!("no stored messages counted in /metrics:\n{metrics}")));
        }
        // What the server stored, the CLI reads: a preload moves only forward.
        let preload = home.path().join("machines.json");
        std::fs::write(&preload, r#"[{"machine": "t-linux64-ms-100", "datacenter": "mdc1", "lastseen": "2018-11-08T08:47:50.939514"},
            {"machine": "t-mojave-r7-010", "datacenter": "mdc2", "lastseen": "2018-11-08T08:47:50.939514"}]"#)?;
        let loaded = fleetroll(home.path(), &["machines", "preload", preload.to_str().unwrap()])?;
        let listed: Value = serde_json::from_str(&fleetroll(home.path(), &["machines", "list", "--json"])?)?;
        let lastseen: Vec<&str> = listed.as_array().into_iter().flatten().filter_map(|m| m["lastseen"].as_str()).collect();
        if lastseen != ["2026-11-02T10:05:00", "2018-11-08T08:47:50.939514"] {
            return Err(Failed::from(format!("after preload ({loaded}): {listed}")));
        }
        Ok(())
    }
    .await;
    for exchange in &exchanges {
        let _ = channel.exchange_delete(exchange.as_str().into(), ExchangeDeleteOptions::default()).await;
    }
    let queue = format!("queue/guest/{queue_name}");
    let _ = channel.queue_delete(queue.as_str().into(), Default::default()).await;
    let _ = connection.close(200, "done".into()).await;
    outcome
}
