//! Cached tree reads: `GET /trees/{tree}` on a SQLite store, served
//! in-process on 127.0.0.1:0 and loaded by keep-alive HTTP/1.1 connections
//! from the same process (so client and server share the machine's cores,
//! as wrk on the same host would). Prints one line: reads per second and
//! latency percentiles.
//!
//! `FLEETROLL_BENCH_SECONDS` (default 5) and `FLEETROLL_BENCH_CONNECTIONS`
//! (default 32) change the run; it always stops by itself.

use std::time::{Duration, Instant};

use chrono::Utc;
use fleetroll_core::config::StoreLocation;
use fleetroll_core::trees::{Category, NewTree, TreeStatus};
use fleetroll_server::{AppState, ServerOptions, serve};
use fleetroll_store::{Store, StoreOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const TREES: usize = 50;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|value| value.parse().ok()).unwrap_or(default)
}

fn main() {
    let seconds = env_number("FLEETROLL_BENCH_SECONDS", 5);
    let connections = env_number("FLEETROLL_BENCH_CONNECTIONS", 32);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(run(Duration::from_secs(seconds), connections));
}

async fn run(duration: Duration, connections: u64) {
    let dir = tempfile::tempdir().unwrap();
    let location = StoreLocation::Sqlite(dir.path().join("fleetroll.db"));
    let store = Store::open(&location, &StoreOptions::default()).await.unwrap();
    for n in 0..TREES {
        let new = NewTree {
            tree: format!("tree-{n}"),
            status: TreeStatus::Open,
            reason: String::new(),
            message_of_the_day: String::new(),
            category: Category::Other,
        };
        store.create_tree(&new, Utc::now()).await.unwrap();
    }
    let state = AppState::new(store.clone(), ServerOptions::default(), None).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, state, async {
        let _ = stopped.await;
    }));

    let started = Instant::now();
    let deadline = started + duration;
    let clients: Vec<_> = (0..connections)
        .map(|n| tokio::spawn(client(address, format!("/trees/tree-{}", n as usize % TREES), deadline)))
        .collect();
    let mut latencies = Vec::new();
    for client in clients {
        latencies.extend(client.await.unwrap());
    }
    let elapsed = started.elapsed();
    let _ = stop.send(());
    server.await.unwrap().unwrap();
    store.close().await;

    latencies.sort_unstable();
    let percentile = |p: f64| {
        let index = ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[index].as_secs_f64() * 1000.0
    };
    println!(
        "server reads: GET /trees/{{tree}} {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms \
         ({connections} connections, {:.1} s, SQLite, {TREES} trees, {} requests)",
        latencies.len() as f64 / elapsed.as_secs_f64(),
        percentile(0.50),
        percentile(0.99),
        percentile(1.0),
        elapsed.as_secs_f64(),
        latencies.len(),
    );
}

/// One keep-alive connection sending `GET path` until `deadline`; each
/// request's latency.
async fn client(address: std::net::SocketAddr, path: String, deadline: Instant) -> Vec<Duration> {
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n").into_bytes();
    let mut buffer = Vec::with_capacity(4096);
    let mut latencies = Vec::new();
    while Instant::now() < deadline {
        let sent = Instant::now();
        stream.write_all(&request).await.unwrap();
        let length = read_response(&mut stream, &mut buffer).await;
        latencies.push(sent.elapsed());
        buffer.drain(..length);
    }
    latencies
}

/// Reads one response into `buffer`, checking it is a 200; its length.
async fn read_response(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> usize {
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = std::str::from_utf8(&buffer[..end]).unwrap();
            assert!(head.starts_with("HTTP/1.1 200"), "{head}");
            let length: usize = head
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length").then(|| value.trim().parse().unwrap())
                })
                .expect("a content-length");
            let total = end + 4 + length;
            while buffer.len() < total {
                let n = stream.read(&mut chunk).await.unwrap();
                assert!(n > 0, "connection closed");
                buffer.extend_from_slice(&chunk[..n]);
            }
            return total;
        }
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "connection closed");
        buffer.extend_from_slice(&chunk[..n]);
    }
}
