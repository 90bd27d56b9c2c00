//! Benchmark: `fleetroll host-monitor --once` at fleet scale, as an
//! operator runs it: the real binary over a store generated with 20,000
//! hosts, each with an observation, a Taskcluster worker and (one in ten)
//! an override, plus branch heads and notes.
//!
//! `cargo bench -p fleetroll --bench monitor` prints one line: wall time
//! (median of 3) and peak memory (GNU time's maximum resident set) for the
//! table, `--json`, and a filter with a sort. Needs `/usr/bin/time`
//! (Debian package `time`).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::Utc;
use fleetroll_core::config::StoreLocation;
use fleetroll_core::records::{BranchRef, HostObservation, TcWorker};
use fleetroll_store::content::ContentStore;
use fleetroll_store::{Store, StoreOptions};
use serde_json::json;

const HOSTS: usize = 20_000;
const RUNS: usize = 3;

fn main() {
    if !std::env::args().any(|arg| arg == "--bench") {
        return;
    }
    let temp = tempfile::tempdir().expect("home");
    let home = temp.path().to_owned();
    let list = home.join("fleet.list");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let started = Instant::now();
    runtime.block_on(generate(&home, &list));
    let generated = started.elapsed();
    let table = measure(&home, &list, &[]);
    let json = measure(&home, &list, &["--json"]);
    let filtered = measure(&home, &list, &["--filter", "role~talos tc_act>1h sort:data:desc"]);
    println!(
        "monitor/sqlite {HOSTS} hosts (generated in {:.1} s): --once table {}, --json {}, filter+sort {}",
        generated.as_secs_f64(),
        table,
        json,
        filtered
    );
    // FLEETROLL_BENCH_KEEP=1 keeps the generated home, so one run of the
    // binary can be profiled on its own.
    if std::env::var("FLEETROLL_BENCH_KEEP").is_ok_and(|v| v == "1") {
        eprintln!("generated home kept at {}", temp.keep().display());
    }
}

fn host(i: usize) -> String {
    format!("t-linux64-ms-{i:05}.test.releng.mdc1.mozilla.com")
}

async fn generate(home: &Path, list: &Path) {
    let store =
        Store::open(&StoreLocation::Sqlite(home.join("fleetroll.db")), &StoreOptions::default()).await.expect("store");
    let overrides = ContentStore::overrides(home);
    let override_shas: Vec<String> = (0..4)
        .map(|n| {
            let text = format!(
                "PUPPET_REPO=\"https://github.com/mozilla-platform-ops/ronin_puppet.git\"\nPUPPET_BRANCH=\"canary-{n}\"\n"
            );
            overrides.put(text.as_bytes()).expect("store an override");
            fleetroll_core::humanhash::sha256_hex(text.as_bytes())
        })
        .collect();
    let now = Utc::now();
    let observations: Vec<HostObservation> = (0..HOSTS)
        .map(|i| HostObservation {
            host: host(i),
            ts: now - chrono::Duration::seconds((i % 7200) as i64),
            ok: i % 97 != 0,
            observed: json!({
                "os_type": "Linux", "role_present": true,
                "role": if i % 3 == 0 { "gecko_t_linux_talos" } else { "gecko_t_linux_2404_netperf" },
                "override_present": i % 10 == 0,
                "override_sha256": (i % 10 == 0).then(|| override_shas[i % 4].clone()),
                "vault_present": true, "vault_sha256": format!("{:064x}", i % 5),
                "uptime_s": 3600 + i, "puppet_state_ts": "2026-11-20T10:00:00Z", "puppet_success": i % 13 != 0,
                "puppet_git_sha": format!("{:040x}", i % 2), "puppet_git_branch": "master",
            }),
            ssh_rc: Some(0),
            failure: None,
        })
        .collect();
    store.put(&observations).await.expect("observations");
    let workers: Vec<TcWorker> = (0..HOSTS)
        .map(|i| TcWorker {
            host: host(i),
            ts: now,
            worker_id: format!("t-linux64-ms-{i:05}"),
            worker_group: Some("mdc1".into()),
            provisioner: "releng-hardware".into(),
            worker_type: "gecko-t-linux-talos-1804".into(),
            first_claim: None,
            state: Some("running".into()),
            last_date_active: Some(now - chrono::Duration::seconds((i % 10_000) as i64)),
            task_started: Some(now - chrono::Duration::seconds(600)),
            task_resolved: None,
            task_state: Some("running".into()),
            quarantine_until: None,
        })
        .collect();
    store.put(&workers).await.expect("workers");
    let heads: Vec<BranchRef> = std::iter::once("master".to_owned())
        .chain((0..4).map(|n| format!("canary-{n}")))
        .map(|branch| BranchRef {
            owner: "mozilla-platform-ops".into(),
            repo: "ronin_puppet".into(),
            branch,
            ts: now,
            sha: format!("{:040x}", 1),
        })
        .collect();
    store.put(&heads).await.expect("refs");
    store.close().await;
    let names: Vec<String> = (0..HOSTS).map(host).collect();
    std::fs::write(list, names.join("\n")).expect("host list");
}

/// Median wall time and the largest peak RSS over `RUNS` runs.
fn measure(home: &Path, list: &Path, extra: &[&str]) -> String {
    let mut walls = Vec::new();
    let mut peak_kib = 0_u64;
    for _ in 0..RUNS {
        let started = Instant::now();
        let output = Command::new("/usr/bin/time")
            .args(["-f", "%M"])
            .arg(env!("CARGO_BIN_EXE_fleetroll"))
            .args(["host-monitor", list.to_str().expect("path"), "--once"])
            .args(extra)
            .env("FLEETROLL_HOME", home)
            .output()
            .expect("run fleetroll under /usr/bin/time");
        walls.push(started.elapsed());
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let stderr = String::from_utf8_lossy(&output.stderr);
        let kib: u64 = stderr.lines().last().and_then(|l| l.trim().parse().ok()).unwrap_or(0);
        peak_kib = peak_kib.max(kib);
    }
    walls.sort();
    let median: Duration = walls[walls.len() / 2];
    format!("{:.0} ms / {:.0} MB", median.as_secs_f64() * 1000.0, peak_kib as f64 / 1024.0)
}
