//! Benchmark: `gather-tc` over 20,000 workers in 40 pools from the
//! in-process server (paged lists, worker-manager states, one task status
//! per worker), stored in SQLite. Prints one line. Without `--bench` (as
//! `cargo test` runs it) it returns at once.

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::time::Instant;

use common::{Fake, PoolKind, observation, serve, store};
use fleetroll_core::pools::{RoleMap, RoleTarget};
use fleetroll_store::content::ContentStore;
use fleetroll_taskcluster::{RetryPolicy, TcClient, TcSettings, gather_tc};

const POOLS: usize = 40;
const PER_POOL: usize = 500;

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(run());
}

async fn run() {
    let names: Vec<String> = (0..POOLS).map(|p| format!("pool{p}-managed")).collect();
    let pools = names.iter().map(|n| (n.clone(), PoolKind::Workers { prefix: n.clone(), n: PER_POOL })).collect();
    let (base, _fake) = serve(Fake { pools, page_size: 1000, ..Fake::default() }).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store(dir.path()).await;
    let roles: BTreeMap<String, RoleTarget> = names
        .iter()
        .map(|n| (format!("role_{n}"), RoleTarget { provisioner: "releng-hardware".into(), worker_type: n.clone() }))
        .collect();
    let mut hosts = Vec::new();
    let mut obs = Vec::new();
    for n in &names {
        for i in 0..PER_POOL {
            let host = format!("{n}-{i}.test.example.com");
            obs.push(observation(&host, Some(&format!("role_{n}")), None));
            hosts.push(host);
        }
    }
    store.put(&obs).await.expect("put observations");
    let client = TcClient::new(&base, None, RetryPolicy::default()).expect("client");
    let settings = TcSettings { client, roles: RoleMap(roles), concurrency: 32, task_runs: true };
    let overrides = ContentStore::overrides(dir.path());
    let started = Instant::now();
    let report = gather_tc(&hosts, &store, &overrides, &settings, chrono::Utc::now(), &|_| {}).await.expect("gather");
    let elapsed = started.elapsed();
    assert_eq!(report.workers_written, POOLS * PER_POOL, "{:?}", report.pool_errors);
    println!(
        "gather_tc: {} workers in {POOLS} pools (with task status) gathered and stored in {:.2}s ({:.0} workers/s)",
        report.workers_written,
        elapsed.as_secs_f64(),
        report.workers_written as f64 / elapsed.as_secs_f64()
    );
}
