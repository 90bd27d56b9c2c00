//! Benchmark: `fleetroll host-monitor --once` at fleet scale, as an
//! operator runs it: the real binary over a store generated with 20,000
//! hosts, each with an observation, a Taskcluster worker, (nine in ten) a
//! Pulse sighting and (one in ten) an override, plus branch heads.
//!
//! `cargo bench -p fleetroll --bench monitor` prints one line: wall time
//! (median of 9 runs; a 2-core machine's speed drifts from run to run, and
//! three runs let one slow pair decide) and peak memory (GNU time's maximum resident set) for the
//! table, `--json`, and a filter with a sort. Needs `/usr/bin/time`
//! (Debian package `time`).

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{HOSTS, generate};

const RUNS: usize = 9;

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
