//! Benchmark: 20,000 hosts' observations written and their latest read back,
//! on each backend, on an empty store and at steady state (every host at the
//! retention limit, so each write also prunes).
//!
//! `cargo bench -p fleetroll-store --bench observations` prints one line per
//! backend. PostgreSQL comes from `FLEETROLL_TEST_DATABASE_URL` (default: the
//! local server) and is skipped, saying why, when it cannot be reached.

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use fleetroll_core::records::HostObservation;
use fleetroll_store::Store;
use fleetroll_testdb::{Kind, TestDb};
use serde_json::json;

const HOSTS: usize = 20_000;
const RETENTION: u32 = 10;
const STEADY_ROUNDS: i64 = 3;

fn main() {
    // `cargo test --benches` runs benches with `--bench` absent; do nothing then.
    if !std::env::args().any(|arg| arg == "--bench") {
        return;
    }
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    for kind in [Kind::Sqlite, Kind::Postgres] {
        if kind == Kind::Postgres
            && let Err(why) = runtime.block_on(fleetroll_testdb::postgres_reachable())
        {
            println!("store/postgres: skipped: {why}");
            continue;
        }
        let line = runtime.block_on(measure(kind));
        println!("{line}");
    }
}

/// An observation shaped like a real audit's: role, override, vault, Puppet state.
fn observation(host: usize, round: i64) -> HostObservation {
    let ts = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + chrono::Duration::minutes(round);
    HostObservation {
        host: format!("t-linux64-ms-{host:05}.test.releng.mdc1.mozilla.com"),
        ts,
        ok: !host.is_multiple_of(50),
        observed: json!({
            "role": "gecko_t_linux_2404_talos",
            "role_present": true,
            "os_type": "Linux",
            "override_present": host.is_multiple_of(10),
            "override_sha256": format!("{:064x}", host * 7919),
            "override_meta": {"mode": "0644", "owner": "root", "group": "root", "size": 212, "mtime_epoch": 1_769_000_000},
            "vault_present": true,
            "vault_sha256": format!("{:064x}", host * 104_729),
            "uptime_s": 86_400 + host,
            "puppet_state_ts": "2026-01-01T00:00:00Z",
            "puppet_git_sha": format!("{:040x}", round),
            "puppet_git_repo": "https://github.com/mozilla-platform-ops/ronin_puppet.git",
            "puppet_git_branch": "master",
            "puppet_git_dirty": false,
            "puppet_success": true,
            "puppet_exit_code": 0,
            "puppet_duration_s": 93,
        }),
        ssh_rc: Some(0),
        failure: None,
    }
}

fn round_of(round: i64) -> Vec<HostObservation> {
    (0..HOSTS).map(|host| observation(host, round)).collect()
}

async fn timed_write(store: &Store, round: i64) -> Duration {
    let batch = round_of(round);
    let start = Instant::now();
    store.put(&batch).await.expect("write a round");
    start.elapsed()
}

async fn timed_read(store: &Store) -> Duration {
    let start = Instant::now();
    let latest = store.latest_observations().await.expect("read latest");
    let elapsed = start.elapsed();
    assert_eq!(latest.len(), HOSTS);
    elapsed
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

async fn measure(kind: Kind) -> String {
    let db = TestDb::create(kind).await;
    let store = db.open(RETENTION).await;
    let first_write = timed_write(&store, 0).await;
    let first_read = timed_read(&store).await;
    for round in 1..i64::from(RETENTION) {
        store.put(&round_of(round)).await.expect("fill to the retention limit");
    }
    let mut writes = Vec::new();
    let mut reads = Vec::new();
    for round in 0..STEADY_ROUNDS {
        writes.push(timed_write(&store, i64::from(RETENTION) + round).await);
        reads.push(timed_read(&store).await);
    }
    let rows: i64 = store.row_counts().await.expect("count").iter().map(|(_, n)| n).sum();
    store.close().await;
    db.drop_db().await;
    let (steady_write, steady_read) = (median(writes), median(reads));
    let per_second = |d: Duration| HOSTS as f64 / d.as_secs_f64();
    format!(
        "store/{:<8} {HOSTS} hosts: empty store write {:.2} s ({:.0}/s), read latest {:.2} s; \
         at retention ({rows} rows) write+prune {:.2} s ({:.0}/s), read latest {:.2} s",
        kind.name(),
        first_write.as_secs_f64(),
        per_second(first_write),
        first_read.as_secs_f64(),
        steady_write.as_secs_f64(),
        per_second(steady_write),
        steady_read.as_secs_f64(),
    )
}
