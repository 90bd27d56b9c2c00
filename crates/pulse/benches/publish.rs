//! Publishing throughput with confirms: 20,000 tree-status-sized messages
//! to the local RabbitMQ, routed to a durable queue (so each persistent
//! message is on disk before the broker confirms it), from the first send
//! to the publisher's clean end. Prints one line.
//!
//! `cargo bench -p fleetroll-pulse --bench publish`; the broker comes from
//! `FLEETROLL_TEST_AMQP_URL` as in the tests, and
//! `FLEETROLL_BENCH_IN_FLIGHT` overrides the publisher's window (64).

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use fleetroll_core::pulse::Outgoing;
use fleetroll_core::trees::{self, StatusTransition, TreeStatus, TreeSummary};
use fleetroll_pulse::run_publisher;
use support::TestBroker;

const MESSAGES: usize = 20_000;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    if let Err(why) = runtime.block_on(support::broker_reachable()) {
        if support::services_required() {
            eprintln!("pulse publish benchmark failed: {why}");
            std::process::exit(1);
        }
        println!("pulse publish benchmark skipped: {why}");
        return;
    }
    let broker = TestBroker::create(support::rabbitmqctl_usable().is_ok());
    let outcome = runtime.block_on(bench(&broker));
    runtime.block_on(broker.remove());
    println!("{}", outcome);
}

async fn bench(broker: &TestBroker) -> String {
    let exchange = broker.exchange();
    let queue = broker.bind_queue_with(&exchange, "#", true).await;
    let mut config = broker.config(&exchange);
    if let Some(window) = std::env::var("FLEETROLL_BENCH_IN_FLIGHT").ok().and_then(|w| w.parse().ok()) {
        config.max_in_flight = window;
    }
    let window = config.max_in_flight;
    let messages: Vec<Outgoing> = (0..MESSAGES).map(tree_status).collect();
    let bytes = serde_json::to_vec(&messages[0].body).expect("JSON").len();

    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let publisher = tokio::spawn(run_publisher(config, rx, std::future::pending()));
    // Let it connect, so the figure is the steady state.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    for message in messages {
        tx.send(message).expect("the publisher takes messages");
    }
    drop(tx);
    publisher.await.expect("publisher task").expect("every message confirmed");
    let elapsed = started.elapsed();
    let arrived = broker.queue_length(&queue).await as usize;
    assert_eq!(arrived, MESSAGES, "messages in the durable queue");
    format!(
        "pulse publish: {MESSAGES} tree-status messages ({bytes} bytes, persistent, durable queue) confirmed in {:.2}s: {:.0} messages/s (window {window})",
        elapsed.as_secs_f64(),
        MESSAGES as f64 / elapsed.as_secs_f64()
    )
}

/// A tree status change as the server announces it (core's own message).
fn tree_status(n: usize) -> Outgoing {
    let transition = StatusTransition {
        status_from: TreeStatus::Open,
        status_to: TreeStatus::Closed,
        tree: TreeSummary {
            tree: format!("tree-{}", n % 50),
            status: TreeStatus::Closed,
            reason: "Bustage on Linux builds, see bug 1234567".to_owned(),
            message_of_the_day: "Please check in with the sheriffs before landing.".to_owned(),
        },
        tags: vec!["checkin-compilation".to_owned()],
    };
    let sent = Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap();
    Outgoing {
        routing_key: trees::routing_key(&transition.tree.tree),
        body: trees::pulse_message(&transition, "exchange/fleetroll/treestatus", sent),
    }
}
