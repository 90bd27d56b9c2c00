//! A writer killed with SIGKILL in the middle of its batches leaves the
//! SQLite store readable and consistent: every batch is all there or absent,
//! retention holds, and the audit chain verifies.
//!
//! The test binary plays both parts: run normally, it is the test; run with
//! `FLEETROLL_CRASH_WRITER` set, it is the writer the test kills.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use fleetroll_core::audit::AuditEntry;
use fleetroll_core::config::StoreLocation;
use fleetroll_core::records::HostObservation;
use fleetroll_store::{Store, StoreOptions};
use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::json;
use sqlx::{AnyConnection, Connection, Row};

const WRITER_ENV: &str = "FLEETROLL_CRASH_WRITER";
const HOSTS: usize = 2_000;
const RETENTION: u32 = 10;
/// The writer stops by itself after this many batches if nobody kills it.
const MAX_BATCHES: i64 = 5_000;
const KILL_ROUNDS: usize = 4;

fn main() {
    if let Some(path) = std::env::var_os(WRITER_ENV) {
        let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
        runtime.block_on(write_until_killed(PathBuf::from(path)));
        return;
    }
    let args = Arguments::from_args();
    let trial = Trial::test("sqlite::sigkill_mid_batch_leaves_store_consistent", sigkill_mid_batch);
    libtest_mimic::run(&args, vec![trial]).exit();
}

fn options() -> StoreOptions {
    StoreOptions { retention: RETENTION, ..StoreOptions::default() }
}

fn batch(k: i64) -> Vec<HostObservation> {
    let ts = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + chrono::Duration::seconds(k);
    (0..HOSTS)
        .map(|h| HostObservation {
            host: format!("host{h:05}.example"),
            ts,
            ok: is_good(k),
            observed: json!({"batch": k}),
            ssh_rc: None,
            failure: None,
        })
        .collect()
}

/// Every third batch fails, so retention's "newest good row" rule is exercised.
fn is_good(k: i64) -> bool {
    k % 3 != 0
}

async fn write_until_killed(path: PathBuf) {
    let store = Store::open(&StoreLocation::Sqlite(path), &options()).await.expect("writer opens the store");
    let start = newest_batch(&store).await.map_or(0, |k| k + 1);
    for k in start..start + MAX_BATCHES {
        store.put(&batch(k)).await.expect("writer puts a batch");
        let entry = AuditEntry {
            ts: Utc::now(),
            actor: "crash-test".into(),
            action: "test.batch".into(),
            hosts: Vec::new(),
            parameters: json!({"batch": k}),
            result: json!({"ok": true}),
        };
        store.append_audit(vec![entry]).await.expect("writer appends");
    }
}

async fn newest_batch(store: &Store) -> Option<i64> {
    let latest = store.latest_observations().await.expect("read latest");
    latest.values().map(|l| l.latest.observed["batch"].as_i64().expect("batch number")).max()
}

fn sigkill_mid_batch() -> Result<(), Failed> {
    let runtime = tokio::runtime::Runtime::new()?;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("fleetroll.db");
    let store = runtime.block_on(Store::open(&StoreLocation::Sqlite(path.clone()), &options()))?;
    let mut committed = -1;
    for round in 0..KILL_ROUNDS {
        let mut writer = Command::new(std::env::current_exe()?).env(WRITER_ENV, &path).stdout(Stdio::null()).spawn()?;
        let target = committed + 3;
        let deadline = Instant::now() + Duration::from_secs(60);
        while runtime.block_on(newest_batch(&store)).unwrap_or(-1) < target {
            if Instant::now() > deadline || writer.try_wait()?.is_some() {
                let _ = writer.kill();
                return Err(format!("round {round}: the writer did not reach batch {target}").into());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        // A random delay moves the kill to a different point of the writer's cycle.
        std::thread::sleep(Duration::from_millis(fastrand::u64(0..40)));
        writer.kill()?; // SIGKILL on Unix: no destructors, no rollback by the writer.
        writer.wait()?;
        committed = runtime.block_on(check_consistent(&store, &path))?;
    }
    Ok(())
}

/// Checks the store after a kill and returns the newest committed batch.
async fn check_consistent(store: &Store, path: &Path) -> Result<i64, Failed> {
    let mut raw = AnyConnection::connect(&format!("sqlite://{}", path.display())).await?;
    let integrity: String = sqlx::query("PRAGMA integrity_check").fetch_one(&mut raw).await?.try_get(0)?;
    raw.close().await?;
    if integrity != "ok" {
        return Err(format!("integrity_check: {integrity}").into());
    }
    let latest = store.latest_observations().await?;
    if latest.len() != HOSTS {
        return Err(format!("{} hosts have observations, expected {HOSTS}", latest.len()).into());
    }
    let newest = newest_batch(store).await.ok_or("no batch committed")?;
    let last_good = (0..=newest).rev().find(|&k| is_good(k));
    for (host, seen) in &latest {
        let batch_of = |obs: &HostObservation| obs.observed["batch"].as_i64();
        if batch_of(&seen.latest) != Some(newest) {
            return Err(format!(
                "{host} is at batch {:?} while others are at {newest}: a batch was torn",
                batch_of(&seen.latest)
            )
            .into());
        }
        if seen.last_ok().and_then(batch_of) != last_good {
            return Err(format!("{host}: newest good batch {:?}, expected {last_good:?}", seen.last_ok()).into());
        }
        let kept = store.history::<HostObservation>(&[host]).await?.len();
        let expected = usize::try_from(newest + 1)?.min(RETENTION as usize);
        if kept != expected {
            return Err(format!("{host} keeps {kept} rows, expected {expected}").into());
        }
    }
    store.verify_audit().await?.map_err(|broken| format!("audit chain: {broken}"))?;
    Ok(newest)
}
