//! One conformance suite, run against every backend.
//!
//! Each case gets a fresh store (a SQLite file, or a PostgreSQL database of its
//! own) and is run once per backend, as `sqlite::<case>` and `postgres::<case>`.
//! Cases come from the MVP's `test_db.py` (retention, last known good, per-key
//! independence, latest reads) and from our own guarantees (the audit chain).

use std::collections::BTreeMap;

use chrono::{Duration, TimeZone, Utc};
use fleetroll_core::audit::{AuditEntry, ChainBreak};
use fleetroll_core::records::{BranchRef, HostObservation, ObservedHost, TcWorker, WindowsPool};
use fleetroll_core::time::Timestamp;
use fleetroll_store::StoreError;
use fleetroll_testdb::TestDb;
use fleetroll_testdb::{Case, cases};
use serde_json::json;
use sqlx::Executor;

fn main() {
    fleetroll_testdb::run_suite("conformance", all_cases());
}

fn all_cases() -> Vec<(&'static str, Case)> {
    cases![
        migrations_apply_once,
        observation_round_trips_exactly,
        retention_keeps_newest_ten,
        retention_spares_last_good_observation,
        retention_is_per_host,
        retention_is_configurable,
        latest_follows_time_not_insertion,
        same_timestamp_newest_insert_wins,
        latest_observations_pairs_latest_with_last_good,
        observed_hosts_read_typed_and_keep_misfit_records,
        large_batches_cross_statement_chunks,
        newest_reads_every_key_across_runs,
        worker_records_round_trip,
        branch_refs_keyed_by_owner_repo_branch,
        windows_pools_keep_retention,
        empty_store_reads_empty,
        unreadable_row_is_named,
        audit_appends_chain_across_batches,
        audit_trail_refuses_edits,
        audit_tampering_is_detected,
        audit_truncation_is_detected,
        audit_concurrent_appends_never_fork,
        notes_read_back_per_host_in_order,
        observations_after_a_cursor_come_in_order,
        pointers_keep_last_good_through_failures_and_pruning,
        pointers_ignore_rows_older_than_theirs,
        pointers_match_the_rows_after_mixed_batches,
        pointers_stay_newest_under_concurrent_writers,
        pointer_backfill_matches_the_writers_pointers,
        maintain_dry_run_changes_nothing,
        maintain_compacts,
    ]
    .into()
}

fn at(minute: i64) -> Timestamp {
    Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap() + Duration::minutes(minute)
}

fn observation(host: &str, minute: i64, ok: bool) -> HostObservation {
    HostObservation {
        host: host.into(),
        ts: at(minute),
        ok,
        observed: json!({"role": "gecko_t_linux_talos", "minute": minute}),
        ssh_rc: Some(0),
        failure: None,
    }
}

fn minutes(records: &[HostObservation]) -> Vec<i64> {
    records.iter().map(|r| r.observed["minute"].as_i64().unwrap()).collect()
}

async fn migrations_apply_once(db: &TestDb) {
    let first = db.open(10).await;
    let version = first.schema_version().await.unwrap();
    assert!(version > 0);
    first.close().await;
    let again = db.open(10).await;
    assert_eq!(again.schema_version().await.unwrap(), version);
}

async fn observation_round_trips_exactly(db: &TestDb) {
    let store = db.open(10).await;
    let ts = Utc.timestamp_opt(1_706_186_096, 123_456_000).unwrap();
    let obs = HostObservation {
        host: "t-linux64-ms-001.test.releng.mdc1.mozilla.com".into(),
        ts,
        ok: true,
        observed: json!({"role": "gecko_t_linux_talos", "override_sha256": null, "uptime_s": 12, "nested": {"ünï": "cödé"}}),
        ssh_rc: Some(0),
        failure: None,
    };
    store.put(std::slice::from_ref(&obs)).await.unwrap();
    assert_eq!(store.latest::<HostObservation>().await.unwrap(), vec![obs]);
}

/// MVP `test_db.py`: 15 good rows with a limit of 10 keep 12:05 … 12:14.
async fn retention_keeps_newest_ten(db: &TestDb) {
    let store = db.open(10).await;
    let rows: Vec<_> = (0..15).map(|m| observation("h1.example", m, true)).collect();
    for row in &rows {
        store.put(std::slice::from_ref(row)).await.unwrap();
    }
    let kept = store.history::<HostObservation>(&["h1.example"]).await.unwrap();
    assert_eq!(minutes(&kept), (5..15).rev().collect::<Vec<_>>());
}

/// MVP `test_db.py`: 5 good rows then 12 failed keep 11, the good one at 12:04 included.
async fn retention_spares_last_good_observation(db: &TestDb) {
    let store = db.open(10).await;
    let good: Vec<_> = (0..5).map(|m| observation("h1.example", m, true)).collect();
    let failed: Vec<_> = (5..17).map(|m| observation("h1.example", m, false)).collect();
    store.put(&good).await.unwrap();
    for row in &failed {
        store.put(std::slice::from_ref(row)).await.unwrap();
    }
    let kept = store.history::<HostObservation>(&["h1.example"]).await.unwrap();
    assert_eq!(kept.len(), 11);
    assert_eq!(minutes(&kept), [16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 4]);
    assert!(kept.last().unwrap().ok);
}

async fn retention_is_per_host(db: &TestDb) {
    let store = db.open(10).await;
    let busy: Vec<_> = (0..25).map(|m| observation("busy.example", m, true)).collect();
    store.put(&[observation("quiet.example", 0, true)]).await.unwrap();
    store.put(&busy).await.unwrap();
    assert_eq!(store.history::<HostObservation>(&["busy.example"]).await.unwrap().len(), 10);
    assert_eq!(store.history::<HostObservation>(&["quiet.example"]).await.unwrap().len(), 1);
}

async fn retention_is_configurable(db: &TestDb) {
    let store = db.open(3).await;
    let rows: Vec<_> = (0..6).map(|m| observation("h.example", m, true)).collect();
    store.put(&rows).await.unwrap();
    let kept = store.history::<HostObservation>(&["h.example"]).await.unwrap();
    assert_eq!(minutes(&kept), [5, 4, 3]);
}

async fn latest_follows_time_not_insertion(db: &TestDb) {
    let store = db.open(10).await;
    store.put(&[observation("h.example", 9, true)]).await.unwrap();
    store.put(&[observation("h.example", 3, false)]).await.unwrap();
    let latest = store.latest::<HostObservation>().await.unwrap();
    assert_eq!(minutes(&latest), [9]);
}

/// The MVP's `(host, ts)` key let a second record in the same second replace
/// the first; we keep both and read the one written last.
async fn same_timestamp_newest_insert_wins(db: &TestDb) {
    let store = db.open(10).await;
    let mut second = observation("h.example", 1, false);
    second.observed = json!({"minute": 1, "which": "second"});
    store.put(&[observation("h.example", 1, true), second.clone()]).await.unwrap();
    assert_eq!(store.latest::<HostObservation>().await.unwrap(), vec![second]);
    assert_eq!(store.history::<HostObservation>(&["h.example"]).await.unwrap().len(), 2);
}

async fn latest_observations_pairs_latest_with_last_good(db: &TestDb) {
    let store = db.open(10).await;
    store
        .put(&[
            observation("a.example", 1, true),
            observation("a.example", 2, false),
            observation("b.example", 1, false),
            observation("c.example", 5, true),
        ])
        .await
        .unwrap();
    let latest = store.latest_observations().await.unwrap();
    assert_eq!(latest.keys().collect::<Vec<_>>(), ["a.example", "b.example", "c.example"]);
    assert_eq!(latest["a.example"].latest, observation("a.example", 2, false));
    assert_eq!(latest["a.example"].last_ok(), Some(&observation("a.example", 1, true)));
    assert_eq!(latest["b.example"].last_ok(), None);
    assert_eq!(latest["c.example"].last_ok(), Some(&latest["c.example"].latest));
}

/// The monitor's typed read pairs rows as the plain one does, and a record
/// with a field of the wrong type (an older writer's) still reads, without
/// that field, rather than failing the whole read.
async fn observed_hosts_read_typed_and_keep_misfit_records(db: &TestDb) {
    let store = db.open(10).await;
    let typed = |host: &str, minute, ok| HostObservation {
        observed: json!({"role": "gecko_t_linux_talos", "role_present": true, "uptime_s": minute}),
        ..observation(host, minute, ok)
    };
    let misfit = HostObservation {
        observed: json!({"role": "gecko_t_osx_1400", "uptime_s": "a while"}),
        ..observation("m.example", 3, true)
    };
    store.put(&[typed("a.example", 1, true), typed("a.example", 2, false), misfit]).await.unwrap();
    let latest: BTreeMap<String, _> = store
        .latest_observations_as::<ObservedHost>()
        .await
        .unwrap()
        .into_iter()
        .map(|l| (l.latest.host.clone(), l))
        .collect();
    assert_eq!(latest.keys().collect::<Vec<_>>(), ["a.example", "m.example"]);
    let a = &latest["a.example"];
    assert_eq!((a.latest.ts, a.latest.ok), (at(2), false));
    let last_ok = a.last_ok().expect("a good observation");
    assert_eq!((last_ok.ts, last_ok.observed.uptime_s), (at(1), Some(1)));
    let m = &latest["m.example"].latest;
    assert_eq!((m.observed.role.as_deref(), m.observed.uptime_s), (Some("gecko_t_osx_1400"), None));
}

async fn large_batches_cross_statement_chunks(db: &TestDb) {
    let store = db.open(2).await;
    let hosts: Vec<String> = (0..1_234).map(|i| format!("t-linux64-ms-{i:04}.example")).collect();
    for minute in 0..3 {
        let batch: Vec<_> = hosts.iter().map(|h| observation(h, minute, minute != 1)).collect();
        store.put(&batch).await.unwrap();
    }
    let latest = store.latest_observations().await.unwrap();
    assert_eq!(latest.len(), 1_234);
    assert!(latest.values().all(|l| minutes(std::slice::from_ref(&l.latest)) == [2]));
    let counts = store.row_counts().await.unwrap();
    assert_eq!(counts.iter().find(|(t, _)| *t == "host_observations").unwrap().1, 1_234 * 2);
}

/// The newest rows are read in runs of keys: every key is read once,
/// whether the keys fill the last run exactly or not, whatever the names
/// sort like, with each host's newest good observation beside a failure.
async fn newest_reads_every_key_across_runs(db: &TestDb) {
    let store = db.open(3).await;
    let mut every_host = std::collections::BTreeSet::new();
    for count in [1_024, 1_027] {
        let hosts: Vec<String> = (0..count)
            .map(|i| match i % 4 {
                0 => format!("T-Linux-{i}.example"),
                1 => format!("t-linux-{i}.example"),
                2 => format!("_{i}.example"),
                _ => format!("{i}.example"),
            })
            .collect();
        let good: Vec<_> = hosts.iter().map(|h| observation(h, count, true)).collect();
        let failed: Vec<_> = hosts.iter().step_by(7).map(|h| observation(h, count + 1, false)).collect();
        store.put(&good).await.unwrap();
        store.put(&failed).await.unwrap();
        let workers: Vec<_> =
            hosts.iter().map(|h| TcWorker::new(h, h, "releng-hardware", "gecko-t-linux", at(count))).collect();
        store.put(&workers).await.unwrap();
        every_host.extend(hosts.iter().cloned());

        let each = store.latest_observations_as::<HostObservation>().await.unwrap();
        assert_eq!(each.len(), every_host.len(), "one line per host");
        let latest = store.latest_observations().await.unwrap();
        let read: BTreeMap<&str, (i64, Option<i64>)> = latest
            .iter()
            .filter(|(host, _)| hosts.contains(host))
            .map(|(host, l)| {
                (
                    host.as_str(),
                    (
                        minutes(std::slice::from_ref(&l.latest))[0],
                        l.last_ok().map(|ok| minutes(std::slice::from_ref(ok))[0]),
                    ),
                )
            })
            .collect();
        let expected: BTreeMap<&str, (i64, Option<i64>)> = hosts
            .iter()
            .enumerate()
            .map(|(i, h)| (h.as_str(), if i % 7 == 0 { (count + 1, Some(count)) } else { (count, Some(count)) }))
            .collect();
        assert_eq!(read, expected, "{count} hosts");
        let workers = store.latest::<TcWorker>().await.unwrap();
        assert_eq!(workers.len(), every_host.len(), "one worker per host");
        let mut read: Vec<&str> =
            workers.iter().map(|w| w.host.as_str()).filter(|h| hosts.iter().any(|x| x == h)).collect();
        read.sort_unstable();
        let mut expected: Vec<&str> = hosts.iter().map(String::as_str).collect();
        expected.sort_unstable();
        assert_eq!(read, expected, "{count} workers");
    }
}

async fn worker_records_round_trip(db: &TestDb) {
    let store = db.open(10).await;
    let worker = TcWorker {
        host: "t-linux64-ms-001.example".into(),
        ts: at(0),
        worker_id: "t-linux64-ms-001".into(),
        worker_group: Some("mdc1".into()),
        provisioner: "releng-hardware".into(),
        worker_type: "gecko-t-linux-talos-1804".into(),
        first_claim: Some(at(-600)),
        state: Some("running".into()),
        last_date_active: Some(at(-3)),
        task_started: Some(at(-10)),
        task_resolved: None,
        task_state: Some("running".into()),
        quarantine_until: None,
    };
    let newer = TcWorker { ts: at(1), state: Some("stopped".into()), ..worker.clone() };
    store.put(&[worker, newer.clone()]).await.unwrap();
    assert_eq!(store.latest::<TcWorker>().await.unwrap(), vec![newer]);
}

async fn branch_refs_keyed_by_owner_repo_branch(db: &TestDb) {
    let store = db.open(2).await;
    let head = |owner: &str, branch: &str, minute: i64| BranchRef {
        owner: owner.into(),
        repo: "ronin_puppet".into(),
        branch: branch.into(),
        ts: at(minute),
        sha: format!("{minute:040}"),
    };
    let refs = [
        head("mozilla-platform-ops", "master", 0),
        head("mozilla-platform-ops", "master", 1),
        head("mozilla-platform-ops", "master", 2),
        head("fork", "master", 0),
        head("mozilla-platform-ops", "feature", 0),
    ];
    store.put(&refs).await.unwrap();
    let mut latest = store.latest::<BranchRef>().await.unwrap();
    latest.sort_by(|a, b| (&a.owner, &a.branch).cmp(&(&b.owner, &b.branch)));
    assert_eq!(latest, vec![refs[3].clone(), refs[4].clone(), refs[2].clone()]);
    let master = store.history::<BranchRef>(&["mozilla-platform-ops", "ronin_puppet", "master"]).await.unwrap();
    assert_eq!(master, vec![refs[2].clone(), refs[1].clone()]);
}

async fn windows_pools_keep_retention(db: &TestDb) {
    let store = db.open(10).await;
    let pools: Vec<_> = (0..12)
        .map(|m| WindowsPool { pool_name: "win11-64-24h2-hw-ref".into(), ts: at(m), hash: format!("hash{m}") })
        .collect();
    store.put(&pools).await.unwrap();
    let kept = store.history::<WindowsPool>(&["win11-64-24h2-hw-ref"]).await.unwrap();
    assert_eq!(kept.len(), 10);
    assert_eq!(kept[0].hash, "hash11");
}

async fn empty_store_reads_empty(db: &TestDb) {
    let store = db.open(10).await;
    store.put::<HostObservation>(&[]).await.unwrap();
    assert!(store.latest_observations().await.unwrap().is_empty());
    assert!(store.latest::<BranchRef>().await.unwrap().is_empty());
    assert_eq!(store.audit_head().await.unwrap().0, 0);
    assert!(store.verify_audit().await.unwrap().is_ok());
}

/// A row that no longer decodes is reported with its table and id, not skipped.
async fn unreadable_row_is_named(db: &TestDb) {
    let store = db.open(10).await;
    let mut raw = db.raw().await;
    raw.execute("INSERT INTO windows_pools (pool_name, ts, data) VALUES ('p', 0, '{\"unexpected\": 1}')")
        .await
        .unwrap();
    match store.latest::<WindowsPool>().await {
        Err(StoreError::Corrupt { table: "windows_pools", message, .. }) => {
            assert!(message.contains("pool_name"), "{message}")
        }
        other => panic!("expected a corrupt-row error, got {other:?}"),
    }
}

fn audit_entry(n: usize) -> AuditEntry {
    AuditEntry {
        ts: Utc::now(),
        actor: "ops".into(),
        action: "host.set_override".into(),
        hosts: vec![format!("h{n}.example")],
        parameters: json!({"sha256": format!("{n:064x}"), "reason": "conformance"}),
        result: json!({"ok": !n.is_multiple_of(7), "observed": {"content_changed": true, "backup_path": null}}),
    }
}

async fn audit_appends_chain_across_batches(db: &TestDb) {
    let store = db.open(10).await;
    let first = store.append_audit((0..3).map(audit_entry).collect()).await.unwrap();
    let second = store.append_audit((3..5).map(audit_entry).collect()).await.unwrap();
    assert_eq!(first.iter().chain(&second).map(|r| r.seq).collect::<Vec<_>>(), [1, 2, 3, 4, 5]);
    assert_eq!(second[0].prev_hash, first[2].hash);
    let stored = store.audit_records(0, 100).await.unwrap();
    assert_eq!(stored, [first, second].concat());
    let verified = store.verify_audit().await.unwrap().unwrap();
    assert_eq!(verified.records, 5);
    assert_eq!(store.audit_head().await.unwrap(), (5, verified.head_hash));
}

async fn audit_trail_refuses_edits(db: &TestDb) {
    let store = db.open(10).await;
    store.append_audit(vec![audit_entry(1)]).await.unwrap();
    let mut raw = db.raw().await;
    for statement in ["UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log"] {
        let err = raw.execute(statement).await.unwrap_err();
        assert!(err.to_string().contains("append-only"), "{statement}: {err}");
    }
    assert!(store.verify_audit().await.unwrap().is_ok());
}

async fn drop_append_only_guard(db: &TestDb) -> sqlx::AnyConnection {
    let mut raw = db.raw().await;
    let drops: &[&str] = match db.location {
        fleetroll_core::config::StoreLocation::Sqlite(_) => {
            &["DROP TRIGGER audit_log_no_update", "DROP TRIGGER audit_log_no_delete"]
        }
        fleetroll_core::config::StoreLocation::Postgres(_) => &["DROP TRIGGER audit_log_append_only ON audit_log"],
    };
    for statement in drops {
        raw.execute(*statement).await.unwrap();
    }
    raw
}

/// Someone who gets past the append-only guard and edits a record is caught.
async fn audit_tampering_is_detected(db: &TestDb) {
    let store = db.open(10).await;
    store.append_audit((0..5).map(audit_entry).collect()).await.unwrap();
    let mut raw = drop_append_only_guard(db).await;
    raw.execute("UPDATE audit_log SET parameters = '{\"reason\":\"nothing to see\"}' WHERE seq = 3").await.unwrap();
    assert_eq!(store.verify_audit().await.unwrap(), Err(ChainBreak::Altered { seq: 3 }));
}

async fn audit_truncation_is_detected(db: &TestDb) {
    let store = db.open(10).await;
    store.append_audit((0..5).map(audit_entry).collect()).await.unwrap();
    let mut raw = drop_append_only_guard(db).await;
    raw.execute("DELETE FROM audit_log WHERE seq >= 4").await.unwrap();
    assert_eq!(store.verify_audit().await.unwrap(), Err(ChainBreak::Truncated { last_seq: 3, head_seq: 5 }));
    raw.execute("DELETE FROM audit_log WHERE seq = 2").await.unwrap();
    assert_eq!(store.verify_audit().await.unwrap(), Err(ChainBreak::Gap { expected_prev: 1, found: 3 }));
}

/// Two handles (as two processes or replicas would have) appending at once
/// still build one unbroken chain.
async fn audit_concurrent_appends_never_fork(db: &TestDb) {
    let stores = [db.open(10).await, db.open(10).await];
    let mut tasks = Vec::new();
    for worker in 0..8 {
        let store = stores[worker % 2].clone();
        tasks.push(tokio::spawn(async move {
            for n in 0..10 {
                store
                    .append_audit(vec![audit_entry(worker * 100 + n), audit_entry(worker * 100 + n + 50)])
                    .await
                    .unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let verified = stores[0].verify_audit().await.unwrap().unwrap();
    assert_eq!(verified.records, 160);
}

async fn notes_read_back_per_host_in_order(db: &TestDb) {
    use fleetroll_core::notes::{NoteKind, NoteRecord, current_note};
    let store = db.open(10).await;
    let note = |host: &str, minute: i64, kind: NoteKind| NoteRecord {
        host: host.into(),
        ts: at(minute),
        actor: "ops".into(),
        kind,
    };
    let records = [
        note("a.example", 1, NoteKind::Add { note: "RMA open".into() }),
        note("b.example", 1, NoteKind::Add { note: "flaky disk".into() }),
        note("a.example", 2, NoteKind::Clear { reason: Some("fixed".into()) }),
        note("a.example", 3, NoteKind::Add { note: "reimaged".into() }),
        note("a.example", 3, NoteKind::Add { note: "watching".into() }),
    ];
    for record in &records {
        store.add_note(record).await.unwrap();
    }
    let notes = store.notes().await.unwrap();
    assert_eq!(notes["a.example"], [records[0].clone(), records[2].clone(), records[3].clone(), records[4].clone()]);
    assert_eq!(current_note(&notes["a.example"]).as_deref(), Some("(2) watching"));
    assert_eq!(current_note(&notes["b.example"]).as_deref(), Some("flaky disk"));
}

/// A follower (host-monitor on a pipe) reads what is new since its cursor.
async fn observations_after_a_cursor_come_in_order(db: &TestDb) {
    let store = db.open(10).await;
    assert_eq!(store.newest_observation_id().await.unwrap(), 0);
    store.put(&[observation("a.example", 1, true), observation("b.example", 1, true)]).await.unwrap();
    let cursor = store.newest_observation_id().await.unwrap();
    assert!(store.observations_after(cursor, 100).await.unwrap().is_empty());
    store.put(&[observation("b.example", 2, false), observation("a.example", 3, true)]).await.unwrap();
    let new = store.observations_after(cursor, 100).await.unwrap();
    let seen: Vec<(&str, i64)> =
        new.iter().map(|(_, o)| (o.host.as_str(), minutes(std::slice::from_ref(o))[0])).collect();
    assert_eq!(seen, [("b.example", 2), ("a.example", 3)]);
    assert!(new[0].0 > cursor && new[1].0 > new[0].0);
    assert_eq!(store.observations_after(cursor, 1).await.unwrap().len(), 1, "limited");
}

/// Each key's newest row and newest good row, worked out from every stored
/// row, against what the pointer tables hold: `(host, latest_id, ok_id)`.
async fn pointers_and_full_scan(db: &TestDb) -> [Vec<(String, i64, Option<i64>)>; 2] {
    use sqlx::Row as _;
    let mut raw = db.raw().await;
    let mut read = async |sql: &str| -> Vec<(String, i64, Option<i64>)> {
        let rows = sqlx::query(sql).fetch_all(&mut raw).await.unwrap();
        rows.iter().map(|row| (row.get(0), row.get(1), row.get(2))).collect()
    };
    let newest = |ok: &str| {
        format!(
            "(SELECT n.id FROM host_observations n WHERE n.host = k.host{ok} ORDER BY n.ts DESC, n.id DESC LIMIT 1)"
        )
    };
    let scanned = read(&format!(
        "SELECT k.host, {}, {} FROM (SELECT DISTINCT host FROM host_observations) k ORDER BY k.host",
        newest(""),
        newest(" AND n.ok")
    ))
    .await;
    let pointers = read("SELECT host, latest_id, ok_id FROM host_observations_latest ORDER BY host").await;
    let workers_scanned: Vec<(String, i64, Option<i64>)> = read(
        "SELECT k.host, (SELECT n.id FROM tc_workers n WHERE n.host = k.host ORDER BY n.ts DESC, n.id DESC LIMIT 1), \
         NULL FROM (SELECT DISTINCT host FROM tc_workers) k ORDER BY k.host",
    )
    .await;
    let workers = read("SELECT host, latest_id, NULL FROM tc_workers_latest ORDER BY host").await;
    assert_eq!(workers, workers_scanned, "tc_workers pointers");
    [pointers, scanned]
}

async fn assert_pointers_match_rows(db: &TestDb) {
    let [pointers, scanned] = pointers_and_full_scan(db).await;
    assert_eq!(pointers, scanned);
}

/// A good audit, then more failures than the retention keeps, written one
/// by one and in one batch: the pointer keeps naming the good row, which
/// pruning spares, and the newest failure.
async fn pointers_keep_last_good_through_failures_and_pruning(db: &TestDb) {
    let store = db.open(3).await;
    store.put(&[observation("one.example", 0, true), observation("batch.example", 0, true)]).await.unwrap();
    for minute in 1..6 {
        store.put(&[observation("one.example", minute, false)]).await.unwrap();
    }
    let failures: Vec<_> = (1..6).map(|m| observation("batch.example", m, false)).collect();
    store.put(&failures).await.unwrap();
    let latest = store.latest_observations().await.unwrap();
    for host in ["one.example", "batch.example"] {
        assert_eq!(latest[host].latest, observation(host, 5, false), "{host}");
        assert_eq!(latest[host].last_ok(), Some(&observation(host, 0, true)), "{host}");
        let kept = store.history::<HostObservation>(&[host]).await.unwrap();
        assert_eq!(minutes(&kept), [5, 4, 3, 0], "{host}");
    }
    // A later good audit takes over, and the old one goes with retention.
    store.put(&[observation("one.example", 6, true)]).await.unwrap();
    let latest = store.latest_observations().await.unwrap();
    assert_eq!(latest["one.example"].last_ok(), Some(&observation("one.example", 6, true)));
    assert_eq!(minutes(&store.history::<HostObservation>(&["one.example"]).await.unwrap()), [6, 5, 4]);
    assert_pointers_match_rows(db).await;
}

/// Records that arrive late (older than what a key has) move no pointer,
/// but an older good audit still becomes the last good one when the key
/// had none.
async fn pointers_ignore_rows_older_than_theirs(db: &TestDb) {
    let store = db.open(10).await;
    store.put(&[observation("good.example", 7, true), observation("failed.example", 5, false)]).await.unwrap();
    store.put(&[observation("good.example", 3, true), observation("failed.example", 3, true)]).await.unwrap();
    store.put(&[observation("failed.example", 1, true)]).await.unwrap();
    let latest = store.latest_observations().await.unwrap();
    assert_eq!(latest["good.example"].latest, observation("good.example", 7, true));
    assert_eq!(latest["good.example"].last_ok(), Some(&latest["good.example"].latest));
    assert_eq!(latest["failed.example"].latest, observation("failed.example", 5, false));
    assert_eq!(latest["failed.example"].last_ok(), Some(&observation("failed.example", 3, true)));
    let worker = |minute: i64| {
        TcWorker::new("w.example", format!("w{minute}"), "releng-hardware", "gecko-t-linux-talos-1804", at(minute))
    };
    store.put(&[worker(4)]).await.unwrap();
    store.put(&[worker(2), worker(1)]).await.unwrap();
    assert_eq!(store.latest::<TcWorker>().await.unwrap(), vec![worker(4)]);
    assert_pointers_match_rows(db).await;
}

/// Batches mixing hosts, times out of order, ties and failures, under a
/// small retention: the pointers name what a search of every row finds.
async fn pointers_match_the_rows_after_mixed_batches(db: &TestDb) {
    let store = db.open(2).await;
    for round in 0..12_i64 {
        let batch: Vec<_> = (0..9_i64)
            .map(|h| {
                let minute = (round * 7 + h * 5) % 11;
                observation(&format!("h{h}.example"), minute, (round + h) % 3 != 0)
            })
            .collect();
        store.put(&batch).await.unwrap();
        assert_pointers_match_rows(db).await;
    }
}

/// Two handles writing the same hosts at once (as two gatherers would), one
/// with ever newer records and one with ever older ones: however their
/// transactions interleave, no pointer moves back to an older row.
async fn pointers_stay_newest_under_concurrent_writers(db: &TestDb) {
    let stores = [db.open(3).await, db.open(3).await];
    let mut tasks = Vec::new();
    for (writer, store) in stores.iter().enumerate() {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for round in 0..20_i64 {
                let minute = if writer == 0 { round * 2 } else { 39 - round * 2 };
                let batch: Vec<_> =
                    (0..50).map(|h| observation(&format!("h{h:02}.example"), minute, minute % 5 != 0)).collect();
                store.put(&batch).await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let latest = stores[0].latest_observations().await.unwrap();
    assert!(latest.values().all(|l| minutes(std::slice::from_ref(&l.latest)) == [39]));
    assert!(latest.values().all(|l| minutes(std::slice::from_ref(l.last_ok().unwrap())) == [39]));
    assert_pointers_match_rows(db).await;
}

/// The migration that added the pointers fills them from the rows already
/// stored: run again on a store whose pointers are gone, it rebuilds what
/// the writers kept.
async fn pointer_backfill_matches_the_writers_pointers(db: &TestDb) {
    let store = db.open(3).await;
    let rows = [
        observation("a.example", 1, true),
        observation("a.example", 2, false),
        observation("b.example", 1, false),
        observation("c.example", 4, true),
        observation("c.example", 4, false),
        observation("c.example", 9, false),
    ];
    store.put(&rows).await.unwrap();
    let kept = pointers_and_full_scan(db).await;
    let migration = match db.location {
        fleetroll_core::config::StoreLocation::Sqlite(_) => {
            include_str!("../migrations/sqlite/20261122000005_latest_pointers.sql")
        }
        fleetroll_core::config::StoreLocation::Postgres(_) => {
            include_str!("../migrations/postgres/20261122000005_latest_pointers.sql")
        }
    };
    let mut raw = db.raw().await;
    sqlx::raw_sql("DROP TABLE host_observations_latest; DROP TABLE tc_workers_latest").execute(&mut raw).await.unwrap();
    sqlx::raw_sql(migration).execute(&mut raw).await.unwrap();
    assert_eq!(pointers_and_full_scan(db).await, kept);
    assert_eq!(kept[0].iter().map(|(_, _, ok)| ok.is_some()).collect::<Vec<_>>(), [true, false, true]);
}

async fn maintain_dry_run_changes_nothing(db: &TestDb) {
    let store = db.open(10).await;
    let report = store.maintain(true).await.unwrap();
    assert!(report.dry_run);
    assert!(report.bytes_before > 0);
    assert_eq!(report.bytes_after, None);
    assert!(report.steps.iter().all(|s| s.detail == "would run"));
}

async fn maintain_compacts(db: &TestDb) {
    let store = db.open(1).await;
    let big = json!({"padding": "x".repeat(4_000)});
    for minute in 0..5 {
        let batch: Vec<_> = (0..200)
            .map(|i| HostObservation {
                host: format!("h{i}.example"),
                ts: at(minute),
                ok: true,
                observed: big.clone(),
                ssh_rc: None,
                failure: None,
            })
            .collect();
        store.put(&batch).await.unwrap();
    }
    let report = store.maintain(false).await.unwrap();
    assert!(!report.dry_run);
    let after = report.bytes_after.unwrap();
    assert!(after > 0);
    if report.backend == "sqlite" {
        assert!(after < report.bytes_before, "{report:?}");
    }
    assert_eq!(store.latest_observations().await.unwrap().len(), 200);
}
