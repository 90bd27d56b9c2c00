//! Benchmark: gather-host over real sshd test hosts, against the floor of
//! bare `ssh host sh -s < script` to the same hosts with the same
//! parallelism, measured in the same run.
//!
//! `cargo bench -p fleetroll-remote --bench gather` (as root; needs sshd,
//! see crates/testhosts). `FLEETROLL_BENCH_HOSTS` sets the fleet size
//! (default 120) and `FLEETROLL_BENCH_WORKERS` the parallelism (default 10).
//! Prints one line for gather-host, and one for setting an override on the
//! same hosts with 32 at a time (what `host-set-override --workers 32` does).

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fleetroll_core::changes::WriteSpec;
use fleetroll_core::config::StoreLocation;
use fleetroll_core::script::{self, Profile, ScriptOptions};
use fleetroll_remote::changes::{Change, apply};
use fleetroll_remote::gather::{GatherSettings, Sinks, gather_hosts};
use fleetroll_remote::ssh::SshSettings;
use fleetroll_store::content::ContentStore;
use fleetroll_store::{Store, StoreOptions};
use fleetroll_testhosts::{Behaviour, Fleet, HostFile, HostSpec};
use tokio::io::AsyncWriteExt as _;
use tokio::sync::Semaphore;

fn main() {
    if !std::env::args().any(|arg| arg == "--bench") {
        return;
    }
    if let Err(why) = fleetroll_testhosts::available() {
        println!("gather/sshd: skipped: {why}");
        return;
    }
    let hosts: usize = env_number("FLEETROLL_BENCH_HOSTS", 120);
    let workers: usize = env_number("FLEETROLL_BENCH_WORKERS", 10);
    let fleet = Fleet::start((0..hosts).map(host_spec).collect()).expect("start the fleet");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let line = runtime.block_on(measure(&fleet, workers));
    println!("{line}");
    println!("{}", runtime.block_on(measure_set_override(&fleet)));
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn host_spec(i: usize) -> HostSpec {
    let state = serde_json::json!({
        "schema_version": 1, "ts": "2026-11-20T10:00:00Z", "duration_s": 93, "success": true, "exit_code": 0,
        "role": "gecko_t_linux_2404_talos", "git_repo": "https://github.com/mozilla-platform-ops/ronin_puppet.git",
        "git_branch": "master", "git_sha": format!("{i:040x}"), "git_dirty": false, "vault_path": "/root/vault.yaml",
        "vault_sha": null, "override_path": "/etc/puppet/ronin_settings", "override_sha": null
    });
    let mut files = vec![
        HostFile::new("/etc/puppet_role", "gecko_t_linux_2404_talos\n", 0o644),
        HostFile::new("/etc/puppet/last_run_metadata.json", state.to_string(), 0o644),
        HostFile::new("/root/vault.yaml", format!("pool: {}\ntoken: x\n", i % 3), 0o600),
    ];
    if i.is_multiple_of(4) {
        let text =
            "PUPPET_REPO=\"https://github.com/mozilla-platform-ops/ronin_puppet.git\"\nPUPPET_BRANCH=\"canary\"\n";
        files.push(HostFile::new("/etc/puppet/ronin_settings", text, 0o644));
    }
    HostSpec::new(format!("t-linux64-ms-{i:03}.test.releng.mdc1.mozilla.com"), Behaviour::Up, files)
}

/// CPU seconds of this process (all threads, children not included), and of
/// its reaped children, from /proc/self/stat.
fn cpu_seconds() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    let after_name = &stat[stat.rfind(')').expect("stat format") + 2..];
    let fields: Vec<f64> = after_name.split(' ').map(|f| f.parse().unwrap_or(0.0)).collect();
    // Fields 14-17 of stat (utime, stime, cutime, cstime), counted from the state field (3).
    let ticks = 100.0; // USER_HZ on Linux.
    ((fields[11] + fields[12]) / ticks, (fields[13] + fields[14]) / ticks)
}

const ROUNDS: u32 = 3;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// A run that opens ControlMaster connections, then the measured run that
/// reuses them; the masters are told to exit afterwards.
async fn with_connection_reuse(hosts: &[String], settings: &GatherSettings, sinks: &Sinks<'_>) -> Duration {
    let control = tempfile::Builder::new().prefix("frcm").tempdir_in("/tmp").expect("control dir");
    let mut reusing = settings.clone();
    reusing.ssh.control_dir = Some(control.path().to_owned());
    reusing.ssh.control_persist = Duration::from_secs(120);
    gather_hosts(hosts, &reusing, sinks, |_, _| {}).await.expect("opening gather");
    let started = Instant::now();
    let reports = gather_hosts(hosts, &reusing, sinks, |_, _| {}).await.expect("reusing gather");
    let took = started.elapsed();
    assert!(reports.iter().all(|r| r.audit.is_ok()), "every host audits over a reused connection");
    for host in hosts {
        let mut args = reusing.ssh.args(host, "true");
        args.truncate(args.len() - 2);
        let _ = tokio::process::Command::new("ssh")
            .args(["-O", "exit"])
            .args(&args[..args.len() - 1])
            .arg(host)
            .output()
            .await;
    }
    took
}

async fn bare_floor(fleet: &Fleet, workers: usize, script_text: &str) -> Duration {
    let permits = Arc::new(Semaphore::new(workers));
    let script_text: Arc<[u8]> = script_text.as_bytes().into();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for host in fleet.names() {
        let (permits, script_text, args) = (permits.clone(), script_text.clone(), fleet.ssh_args());
        tasks.push(tokio::spawn(async move {
            let _permit = permits.acquire().await.expect("semaphore");
            let mut child = tokio::process::Command::new("ssh")
                .args(&args)
                .args(["-o", "BatchMode=yes", &host, "sh -s"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .expect("ssh");
            let mut stdin = child.stdin.take().expect("stdin");
            stdin.write_all(&script_text).await.expect("send the script");
            drop(stdin);
            let output = child.wait_with_output().await.expect("ssh output");
            assert!(output.status.success(), "bare ssh to {host} failed");
        }));
    }
    for task in tasks {
        task.await.expect("bare ssh task");
    }
    started.elapsed()
}

async fn measure(fleet: &Fleet, workers: usize) -> String {
    let hosts = fleet.names();
    let home = tempfile::tempdir().expect("home");
    let store = Store::open(&StoreLocation::Sqlite(home.path().join("fleetroll.db")), &StoreOptions::default())
        .await
        .expect("store");
    let (overrides, vaults) = (ContentStore::overrides(home.path()), ContentStore::vaults(home.path()));
    let sinks = Sinks { store: &store, overrides: &overrides, vaults: &vaults };
    let ssh = SshSettings { options: fleet.ssh_args(), timeout: Duration::from_secs(60), ..SshSettings::default() };
    let settings = GatherSettings {
        ssh,
        workers,
        batch_timeout: Duration::from_secs(600),
        with_content: true,
        profile: Profile::default(),
    };
    // A first pass fetches the vaults; the measured passes are the steady
    // state, where every vault is already held.
    gather_hosts(&hosts, &settings, &sinks, |_, _| {}).await.expect("warm-up gather");
    let known = ScriptOptions { with_content: true, known_vault_shas: vaults.known_shas() };
    let script_text = script::unix_script(&Profile::default(), &known);
    // Alternate the two, three rounds each, and compare medians: the machine
    // has two cores, so anything else running shifts single runs.
    let (mut floors, mut runs, mut own_cpu, mut ssh_cpu) = (Vec::new(), Vec::new(), 0.0, 0.0);
    for _ in 0..ROUNDS {
        floors.push(bare_floor(fleet, workers, &script_text).await);
        let (self_before, children_before) = cpu_seconds();
        let started = Instant::now();
        let reports = gather_hosts(&hosts, &settings, &sinks, |_, _| {}).await.expect("gather");
        runs.push(started.elapsed());
        let (self_after, children_after) = cpu_seconds();
        own_cpu += self_after - self_before;
        ssh_cpu += children_after - children_before;
        assert!(reports.iter().all(|r| r.audit.is_ok()), "every host audits");
    }
    let (took, floor) = (median(runs), median(floors));
    let reuse = with_connection_reuse(&hosts, &settings, &sinks).await;
    let n = hosts.len() as f64;
    let rounds = f64::from(ROUNDS);
    let (own_cpu, ssh_cpu) = (own_cpu / rounds, ssh_cpu / rounds);
    format!(
        "gather/sshd {} hosts, {workers} at a time: fleetroll {:.2} s ({:.0} hosts/s), bare ssh floor {:.2} s \
         (fleetroll {:+.0}%), fleetroll CPU {:.2} ms/host = {:.1}% of fleetroll+ssh CPU; \
         reusing connections {:.2} s ({:.0} hosts/s)",
        hosts.len(),
        took.as_secs_f64(),
        n / took.as_secs_f64(),
        floor.as_secs_f64(),
        (took.as_secs_f64() / floor.as_secs_f64() - 1.0) * 100.0,
        own_cpu * 1000.0 / n,
        own_cpu * 100.0 / (own_cpu + ssh_cpu).max(f64::EPSILON),
        reuse.as_secs_f64(),
        n / reuse.as_secs_f64(),
    )
}

/// Installs a new override on every host (replacing any, with backups),
/// 32 at a time, as `host-set-override --workers 32 --force` does.
async fn measure_set_override(fleet: &Fleet) -> String {
    const WORKERS: usize = 32;
    let hosts = fleet.names();
    let contents =
        "PUPPET_REPO=\"https://github.com/mozilla-platform-ops/ronin_puppet.git\"\nPUPPET_BRANCH=\"bench\"\n";
    let change = Change::Write {
        spec: WriteSpec {
            linux_path: "/etc/puppet/ronin_settings".into(),
            darwin_path: "/opt/puppet_environments/ronin_settings".into(),
            mode: "0644".into(),
            owner: "root".into(),
            group: "auto".into(),
            backup: true,
            replace_existing: true,
            sha256: fleetroll_core::humanhash::sha256_hex(contents.as_bytes()),
        },
        contents: contents.as_bytes().into(),
    };
    let ssh = SshSettings { options: fleet.ssh_args(), timeout: Duration::from_secs(120), ..SshSettings::default() };
    let (self_before, children_before) = cpu_seconds();
    let started = Instant::now();
    let reports = apply(&hosts, &change, &ssh, WORKERS, Duration::from_secs(600), |_| {}).await;
    let took = started.elapsed();
    let (self_after, children_after) = cpu_seconds();
    assert!(reports.iter().all(|r| r.result.is_ok()), "every host takes the override");
    let n = hosts.len() as f64;
    let own_cpu = self_after - self_before;
    let ssh_cpu = children_after - children_before;
    format!(
        "set-override/sshd {} hosts, {WORKERS} at a time: {:.2} s ({:.1} hosts/s), fleetroll CPU {:.2} ms/host = {:.1}% of fleetroll+ssh CPU",
        hosts.len(),
        took.as_secs_f64(),
        n / took.as_secs_f64(),
        own_cpu * 1000.0 / n,
        own_cpu * 100.0 / (own_cpu + ssh_cpu).max(f64::EPSILON),
    )
}
