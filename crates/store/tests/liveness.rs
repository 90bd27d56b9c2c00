//! Worker liveness, run against every backend: sightings and runs as a
//! consumer stores them, from messages shaped as the queue publishes them
//! (core `sample_message`, decoded by core `decode`).

use chrono::{Duration, TimeZone, Utc};
use std::collections::BTreeMap;

use fleetroll_core::liveness::{
    BatchEffects, Decoded, EventKind, Outcomes, RunRecord, RunState, Sighting, TaskEvent, WorkerActivity, current_run,
    decode, effects, outcomes, sample_message,
};
use fleetroll_core::time::{Timestamp, to_rfc3339, truncate_to_micros};
use fleetroll_store::{RUN_HISTORY_DAYS, Store};
use fleetroll_testdb::TestDb;
use fleetroll_testdb::{Case, cases};
use sqlx::{AnyConnection, Connection};

fn main() {
    fleetroll_testdb::run_suite("liveness", all_cases());
}

fn all_cases() -> Vec<(&'static str, Case)> {
    cases![
        batch_is_stored_and_read_back,
        empty_batch_writes_nothing,
        redelivered_batches_change_nothing,
        late_running_leaves_a_run_resolved,
        resolution_without_start_keeps_the_start,
        last_seen_never_goes_backwards,
        preload_raises_but_never_lowers,
        sightings_read_back_in_order_whatever_their_names,
        runs_since_is_the_window_and_the_running,
        worker_activity_counts_the_window_and_picks_the_current_run,
        worker_activity_agrees_with_core_over_runs_since,
        worker_runs_newest_first_and_limited,
        batch_is_all_or_nothing,
        repeated_keys_in_a_batch_merge_alike,
        prune_deletes_runs_older_than_the_cutoff,
        maintain_prunes_old_runs,
    ]
    .into()
}

const GROUP: &str = "mdc1";

fn at(minute: i64) -> Timestamp {
    Utc.with_ymd_and_hms(2026, 11, 22, 9, 0, 0).unwrap() + Duration::minutes(minute)
}

/// A 22-character task id, as the queue's slug ids are.
fn task(n: u32) -> String {
    format!("task{n:018}")
}

/// An event of `kind` about run 0 of task `n` on `worker`, started and (for
/// a resolution) resolved at these minutes; a run without a start has none
/// in its message.
fn event_at(kind: EventKind, n: u32, worker: &str, started: Option<Timestamp>, resolved: Timestamp) -> TaskEvent {
    run_event(kind, n, 0, worker, started, resolved)
}

/// [`event_at`] about run `run_id` of the task.
fn run_event(
    kind: EventKind,
    n: u32,
    run_id: i64,
    worker: &str,
    started: Option<Timestamp>,
    resolved: Timestamp,
) -> TaskEvent {
    let mut message = sample_message(kind, &task(n), run_id, GROUP, worker);
    let run = &mut message["status"]["runs"][0];
    match started {
        Some(at) => run["started"] = to_rfc3339(at).into(),
        None => {
            run.as_object_mut().unwrap().remove("started");
        }
    }
    if kind != EventKind::Running {
        run["resolved"] = to_rfc3339(resolved).into();
    }
    let body = serde_json::to_vec(&message).unwrap();
    match decode(kind, &body, at(100_000_000)) {
        Ok(Decoded::Event(event)) => event,
        other => panic!("a valid message about a run: {other:?}"),
    }
}

fn running(n: u32, worker: &str, started: i64) -> TaskEvent {
    event_at(EventKind::Running, n, worker, Some(at(started)), at(started))
}

fn resolved(kind: EventKind, n: u32, worker: &str, started: Option<i64>, resolved: i64) -> TaskEvent {
    event_at(kind, n, worker, started.map(at), at(resolved))
}

fn seen(worker: &str, minute: i64) -> Sighting {
    Sighting { worker_group: GROUP.into(), worker_id: worker.into(), seen: at(minute) }
}

async fn ingest(store: &Store, events: &[TaskEvent], now: i64) {
    store.ingest(&effects(events), at(now)).await.expect("ingest a batch");
}

async fn runs_of(store: &Store, worker: &str) -> Vec<RunRecord> {
    store.worker_runs(GROUP, worker, 100).await.unwrap()
}

/// Each run of `runs` as (task number, state).
fn tasks(runs: &[RunRecord]) -> Vec<(String, RunState)> {
    runs.iter().map(|run| (run.task_id.clone(), run.state)).collect()
}

async fn count(db: &TestDb, sql: &str) -> i64 {
    let mut conn: AnyConnection = db.raw().await;
    let n = sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap();
    let _ = conn.close().await;
    n
}

async fn batch_is_stored_and_read_back(db: &TestDb) {
    let store = db.open(10).await;
    let events = [
        running(1, "a", 0),
        resolved(EventKind::Completed, 1, "a", Some(0), 5),
        running(2, "b", 3),
        resolved(EventKind::Exception, 3, "b", Some(1), 2),
    ];
    ingest(&store, &events, 10).await;

    assert_eq!(store.sightings().await.unwrap(), [seen("a", 5), seen("b", 3)]);
    assert_eq!(store.sighting(GROUP, "a").await.unwrap(), Some(at(5)));
    assert_eq!(store.sighting(GROUP, "nobody").await.unwrap(), None);
    assert_eq!(store.sighting("mdc2", "a").await.unwrap(), None);

    let completed = RunRecord {
        task_id: task(1),
        run_id: 0,
        state: RunState::Completed,
        reason_resolved: Some("completed".into()),
        started: Some(at(0)),
        resolved: Some(at(5)),
    };
    assert_eq!(runs_of(&store, "a").await, std::slice::from_ref(&completed));
    let running_run = RunRecord {
        task_id: task(2),
        run_id: 0,
        state: RunState::Running,
        reason_resolved: None,
        started: Some(at(3)),
        resolved: None,
    };
    let exception = RunRecord {
        task_id: task(3),
        run_id: 0,
        state: RunState::Exception,
        reason_resolved: Some("worker-shutdown".into()),
        started: Some(at(1)),
        resolved: Some(at(2)),
    };
    assert_eq!(runs_of(&store, "b").await, [running_run, exception]);

    let all = store.runs_since(at(0)).await.unwrap();
    assert_eq!(all.len(), 3);
    let first = &all[0];
    assert_eq!((first.worker_group.as_str(), first.worker_id.as_str()), (GROUP, "a"));
    assert_eq!((first.provisioner_id.as_str(), first.worker_type.as_str()), ("releng-hardware", "gecko-t-linux-talos"));
    assert_eq!(first.run, completed);
}

async fn empty_batch_writes_nothing(db: &TestDb) {
    let store = db.open(10).await;
    store.ingest(&BatchEffects::default(), at(0)).await.unwrap();
    assert_eq!(store.record_sightings(&[]).await.unwrap(), 0);
    assert_eq!(store.sightings().await.unwrap(), []);
    assert_eq!(store.runs_since(at(-1_000)).await.unwrap(), []);
}

/// At-least-once delivery: the same events again, whole or in part, leave
/// every run, every outcome and every sighting as it was, and rewrite no row.
async fn redelivered_batches_change_nothing(db: &TestDb) {
    let store = db.open(10).await;
    let events = [
        running(1, "a", 0),
        resolved(EventKind::Completed, 1, "a", Some(0), 4),
        resolved(EventKind::Failed, 2, "a", Some(5), 8),
        resolved(EventKind::Completed, 3, "b", Some(1), 3),
        running(4, "b", 6),
    ];
    ingest(&store, &events, 10).await;
    let before = (runs_of(&store, "a").await, runs_of(&store, "b").await, store.sightings().await.unwrap());
    let outcomes_before = outcomes(&before.0, at(0));
    assert_eq!((outcomes_before.completed, outcomes_before.failed), (1, 1));

    ingest(&store, &events, 20).await;
    ingest(&store, &events[1..4], 30).await;
    ingest(&store, &[events[3].clone(), events[3].clone()], 40).await;

    let after = (runs_of(&store, "a").await, runs_of(&store, "b").await, store.sightings().await.unwrap());
    assert_eq!(after, before);
    assert_eq!(outcomes(&after.0, at(0)), outcomes_before);
    assert_eq!(outcomes(&after.1, at(0)), outcomes(&before.1, at(0)));
    assert_eq!(count(db, "SELECT COUNT(*) FROM worker_runs").await, 4);
    let rewritten = format!("SELECT COUNT(*) FROM worker_runs WHERE updated_at <> {}", at(10).timestamp_micros());
    assert_eq!(count(db, &rewritten).await, 0, "no run was written again");
}

async fn late_running_leaves_a_run_resolved(db: &TestDb) {
    let store = db.open(10).await;
    let done = resolved(EventKind::Completed, 1, "a", Some(0), 5);
    ingest(&store, std::slice::from_ref(&done), 10).await;
    let stored = runs_of(&store, "a").await;
    assert_eq!(tasks(&stored), [(task(1), RunState::Completed)]);

    ingest(&store, &[running(1, "a", 0)], 20).await;
    assert_eq!(runs_of(&store, "a").await, stored, "a late running does not reopen the run");
    ingest(&store, &[resolved(EventKind::Failed, 1, "a", Some(0), 6)], 30).await;
    assert_eq!(runs_of(&store, "a").await, stored, "a resolved run stays as first resolved");

    // Within one batch too (core's `effects` keeps the furthest state).
    ingest(&store, &[resolved(EventKind::Exception, 2, "a", Some(7), 9), running(2, "a", 7)], 40).await;
    assert_eq!(runs_of(&store, "a").await[0].state, RunState::Exception);
}

async fn resolution_without_start_keeps_the_start(db: &TestDb) {
    let store = db.open(10).await;
    ingest(&store, &[running(1, "a", 2)], 10).await;
    ingest(&store, &[resolved(EventKind::Exception, 1, "a", None, 6)], 20).await;
    let runs = runs_of(&store, "a").await;
    assert_eq!(runs.len(), 1);
    assert_eq!((runs[0].state, runs[0].started, runs[0].resolved), (RunState::Exception, Some(at(2)), Some(at(6))));
}

async fn last_seen_never_goes_backwards(db: &TestDb) {
    let store = db.open(10).await;
    ingest(&store, &[resolved(EventKind::Completed, 1, "a", Some(0), 9)], 10).await;
    assert_eq!(store.sighting(GROUP, "a").await.unwrap(), Some(at(9)));

    // A backlog delivered late: an older run of the same worker.
    ingest(&store, &[running(2, "a", 2)], 20).await;
    assert_eq!(store.sighting(GROUP, "a").await.unwrap(), Some(at(9)));
    ingest(&store, &[resolved(EventKind::Failed, 3, "a", Some(3), 9)], 30).await;
    assert_eq!(store.sighting(GROUP, "a").await.unwrap(), Some(at(9)));

    ingest(&store, &[running(4, "a", 12)], 40).await;
    assert_eq!(store.sighting(GROUP, "a").await.unwrap(), Some(at(12)));
    assert_eq!(store.sightings().await.unwrap(), [seen("a", 12)]);
}

/// Names a preload may carry (quotes, backslashes, newlines, non-ASCII)
/// come back as they went in, ordered by group and then id, and times at
/// the microsecond.
async fn sightings_read_back_in_order_whatever_their_names(db: &TestDb) {
    let store = db.open(10).await;
    let sighting = |group: &str, id: &str, micros: i64| Sighting {
        worker_group: group.into(),
        worker_id: id.into(),
        seen: fleetroll_core::time::from_micros(micros).unwrap(),
    };
    let stored = [
        sighting("mdc2", "a", 1_700_000_000_000_001),
        sighting("mdc1", "quote\"back\\slash", 1_700_000_000_000_002),
        sighting("mdc1", "line\nbreak", 1_700_000_000_000_003),
        sighting("mdc1", "ünïcode-✓", 1_700_000_000_000_004),
    ];
    assert_eq!(store.record_sightings(&stored).await.unwrap(), 4);
    let mut expected = stored.to_vec();
    expected.sort_by(|a, b| (&a.worker_group, &a.worker_id).cmp(&(&b.worker_group, &b.worker_id)));
    assert_eq!(store.sightings().await.unwrap(), expected);
}

async fn preload_raises_but_never_lowers(db: &TestDb) {
    let store = db.open(10).await;
    ingest(&store, &[resolved(EventKind::Completed, 1, "a", Some(0), 5)], 10).await;

    assert_eq!(store.record_sightings(&[seen("a", 3), seen("b", 4)]).await.unwrap(), 1, "only b is new");
    assert_eq!(store.sightings().await.unwrap(), [seen("a", 5), seen("b", 4)]);
    assert_eq!(store.record_sightings(&[seen("a", 5), seen("b", 4)]).await.unwrap(), 0, "nothing newer");
    assert_eq!(store.record_sightings(&[seen("a", 7), seen("b", 2), seen("c", 1)]).await.unwrap(), 2);
    assert_eq!(store.sightings().await.unwrap(), [seen("a", 7), seen("b", 4), seen("c", 1)]);

    // One worker twice in a preload: the later time, counted once.
    assert_eq!(store.record_sightings(&[seen("d", 1), seen("d", 6), seen("d", 2)]).await.unwrap(), 1);
    assert_eq!(store.sighting(GROUP, "d").await.unwrap(), Some(at(6)));

    // Events older than a preloaded time leave it too.
    ingest(&store, &[running(2, "c", 0)], 20).await;
    assert_eq!(store.sighting(GROUP, "c").await.unwrap(), Some(at(1)));
}

async fn runs_since_is_the_window_and_the_running(db: &TestDb) {
    let store = db.open(10).await;
    let events = [
        resolved(EventKind::Completed, 1, "a", Some(0), 1),
        resolved(EventKind::Failed, 2, "a", Some(2), 5),
        resolved(EventKind::Completed, 3, "a", Some(6), 9),
        running(4, "a", 10),
        running(5, "b", -600),
        resolved(EventKind::Exception, 6, "b", Some(3), 4),
        resolved(EventKind::Completed, 7, "c", Some(4), 5),
    ];
    ingest(&store, &events, 20).await;
    let window = store.runs_since(at(5)).await.unwrap();
    let listed: Vec<(&str, String, RunState)> =
        window.iter().map(|w| (w.worker_id.as_str(), w.run.task_id.clone(), w.run.state)).collect();
    assert_eq!(
        listed,
        [
            ("a", task(4), RunState::Running),
            ("a", task(3), RunState::Completed),
            ("a", task(2), RunState::Failed),
            ("b", task(5), RunState::Running),
            ("c", task(7), RunState::Completed),
        ],
        "resolved at or after the start of the window, or still running; by worker, newest first"
    );
    let a: Vec<RunRecord> = window.iter().filter(|w| w.worker_id == "a").map(|w| w.run.clone()).collect();
    let counted = outcomes(&a, at(5));
    assert_eq!((counted.completed, counted.failed, counted.exception), (1, 1, 0));
    assert_eq!(fleetroll_core::liveness::current_run(&a).map(|run| run.task_id.clone()), Some(task(4)));
    assert_eq!(store.runs_since(at(10)).await.unwrap().len(), 2, "only the running ones");
}

/// A worker's counts: completed, failed, exception.
type Counts = (u64, u64, u64);

/// One worker's activity: its counts and its current run's task and run id.
fn activity_of(activity: &[WorkerActivity], worker: &str) -> Option<(Counts, Option<(String, i64)>)> {
    let found = activity.iter().find(|a| a.worker_group == GROUP && a.worker_id == worker)?;
    let counts = (found.outcomes.completed, found.outcomes.failed, found.outcomes.exception);
    Some((counts, found.current_run.as_ref().map(|run| (run.task_id.clone(), run.run_id))))
}

async fn worker_activity_counts_the_window_and_picks_the_current_run(db: &TestDb) {
    let store = db.open(10).await;
    assert_eq!(store.worker_activity(at(0)).await.unwrap(), []);
    let events = [
        // a: outcomes in the window, one before it, running now.
        resolved(EventKind::Completed, 1, "a", Some(0), 1),
        resolved(EventKind::Completed, 2, "a", Some(2), 5),
        resolved(EventKind::Failed, 3, "a", Some(6), 9),
        resolved(EventKind::Exception, 4, "a", None, 9),
        running(5, "a", 10),
        // b: a run that lost its resolution, then one that completed.
        running(6, "b", 3),
        resolved(EventKind::Completed, 7, "b", Some(6), 8),
        // c: two runs marked running; the later one is current.
        running(8, "c", 4),
        running(9, "c", 7),
        // d: nothing in the window.
        resolved(EventKind::Completed, 10, "d", Some(0), 2),
        // e: a later run resolved before the window is not one of its runs,
        // so the run still marked running is the window's newest.
        running(11, "e", 0),
        resolved(EventKind::Failed, 12, "e", Some(1), 2),
        // f: two runs started in the same microsecond: the smaller task id.
        running(14, "f", 6),
        running(13, "f", 6),
        // g: the same, the smaller task id resolved: nothing current.
        running(16, "g", 6),
        resolved(EventKind::Completed, 15, "g", Some(6), 8),
        // h: one task's runs started together: the smaller run id.
        run_event(EventKind::Running, 17, 1, "h", Some(at(6)), at(6)),
        run_event(EventKind::Running, 17, 0, "h", Some(at(6)), at(6)),
        // i: an exception before the run began is counted, never current.
        resolved(EventKind::Exception, 18, "i", None, 6),
    ];
    ingest(&store, &events, 20).await;
    let activity = store.worker_activity(at(5)).await.unwrap();
    let workers: Vec<&str> = activity.iter().map(|a| a.worker_id.as_str()).collect();
    assert_eq!(workers, ["a", "b", "c", "e", "f", "g", "h", "i"], "by worker; none without activity");
    assert_eq!(activity_of(&activity, "a"), Some(((1, 1, 1), Some((task(5), 0)))));
    assert_eq!(activity_of(&activity, "b"), Some(((1, 0, 0), None)));
    assert_eq!(activity_of(&activity, "c"), Some(((0, 0, 0), Some((task(9), 0)))));
    assert_eq!(activity_of(&activity, "d"), None);
    assert_eq!(activity_of(&activity, "e"), Some(((0, 0, 0), Some((task(11), 0)))));
    assert_eq!(activity_of(&activity, "f"), Some(((0, 0, 0), Some((task(13), 0)))));
    assert_eq!(activity_of(&activity, "g"), Some(((1, 0, 0), None)));
    assert_eq!(activity_of(&activity, "h"), Some(((0, 0, 0), Some((task(17), 0)))));
    assert_eq!(activity_of(&activity, "i"), Some(((0, 0, 1), None)));
    let a = activity.iter().find(|a| a.worker_id == "a").unwrap();
    assert_eq!(a.outcomes, Outcomes::from_counts(1, 1, 1));
    assert_eq!(a.current_run.as_ref(), runs_of(&store, "a").await.first(), "the whole stored run");

    // The window's start is inclusive; a later one counts less.
    let later = store.worker_activity(at(9)).await.unwrap();
    assert_eq!(activity_of(&later, "a"), Some(((0, 1, 1), Some((task(5), 0)))));
    // The runs that followed theirs resolved before this window, as `e`'s.
    assert_eq!(activity_of(&later, "b"), Some(((0, 0, 0), Some((task(6), 0)))));
    assert_eq!(activity_of(&later, "g"), Some(((0, 0, 0), Some((task(16), 0)))));
    assert_eq!(store.worker_activity(at(-1_000)).await.unwrap().len(), 9);
}

/// The list's read and the detail's rule say the same on a varied store:
/// for every window, each worker's activity is core's `outcomes` and
/// `current_run` over its runs of `runs_since`.
async fn worker_activity_agrees_with_core_over_runs_since(db: &TestDb) {
    let store = db.open(10).await;
    let mut rng = fastrand::Rng::with_seed(8);
    let mut events = Vec::new();
    let mut n = 0;
    for worker in 0..40 {
        let worker = format!("w{worker:02}");
        let mut last_start = 0;
        for _ in 0..rng.usize(0..12) {
            n += 1;
            // Now and then a start shared with the worker's previous run.
            let started = if rng.u8(0..8) == 0 { last_start } else { rng.i64(-3_000..0) };
            last_start = started;
            let run_id = rng.i64(0..3);
            let ended = started + rng.i64(1..400);
            let event = match rng.u8(0..10) {
                0..=2 => run_event(EventKind::Running, n, run_id, &worker, Some(at(started)), at(started)),
                3..=5 => run_event(EventKind::Completed, n, run_id, &worker, Some(at(started)), at(ended)),
                6 | 7 => run_event(EventKind::Failed, n, run_id, &worker, Some(at(started)), at(ended)),
                8 => run_event(EventKind::Exception, n, run_id, &worker, Some(at(started)), at(ended)),
                _ => run_event(EventKind::Exception, n, run_id, &worker, None, at(ended)),
            };
            events.push(event);
        }
    }
    for batch in events.chunks(50) {
        ingest(&store, batch, 10).await;
    }
    let mut windows = vec![-100_000, -3_000, -2_000, -1_000, -500, -100, 0, 500];
    // Starts of windows that fall on a resolution, so `>=` is tried.
    windows.extend(events.iter().filter(|e| e.state.is_resolved()).take(5).map(|e| {
        let resolved = e.resolved.unwrap();
        (resolved - at(0)).num_minutes()
    }));
    let mut stale = 0;
    for minute in windows {
        let since = at(minute);
        let runs = store.runs_since(since).await.unwrap();
        let mut by_worker: BTreeMap<(String, String), Vec<RunRecord>> = BTreeMap::new();
        for run in runs {
            by_worker.entry((run.worker_group, run.worker_id)).or_default().push(run.run);
        }
        let mut expected = Vec::new();
        for ((worker_group, worker_id), runs) in by_worker {
            let current = current_run(&runs);
            assert_eq!(current, current_run(runs.iter().rev()), "core's pick does not depend on the order");
            stale += runs.iter().filter(|run| run.state == RunState::Running && Some(*run) != current).count();
            let activity = WorkerActivity {
                worker_group,
                worker_id,
                outcomes: outcomes(&runs, since),
                current_run: current.cloned(),
            };
            if activity.current_run.is_some() || activity.outcomes != Outcomes::default() {
                expected.push(activity);
            }
        }
        assert_eq!(store.worker_activity(since).await.unwrap(), expected, "window from minute {minute}");
    }
    assert!(stale > 0, "the store has runs still marked running that are not current");
}

async fn worker_runs_newest_first_and_limited(db: &TestDb) {
    let store = db.open(10).await;
    let events = [
        resolved(EventKind::Completed, 10, "a", Some(3), 4),
        resolved(EventKind::Completed, 11, "a", Some(1), 2),
        resolved(EventKind::Exception, 12, "a", None, 8),
        resolved(EventKind::Failed, 13, "a", Some(7), 8),
        running(14, "a", 7),
        running(15, "b", 9),
    ];
    ingest(&store, &events, 20).await;
    let order: Vec<String> = runs_of(&store, "a").await.into_iter().map(|run| run.task_id).collect();
    assert_eq!(order, [task(14), task(13), task(10), task(11), task(12)], "by start, then task id, no start last");
    let first_two: Vec<String> =
        store.worker_runs(GROUP, "a", 2).await.unwrap().into_iter().map(|run| run.task_id).collect();
    assert_eq!(first_two, [task(14), task(13)]);
    assert_eq!(store.worker_runs(GROUP, "a", 0).await.unwrap(), []);
    assert_eq!(store.worker_runs(GROUP, "a", usize::MAX).await.unwrap().len(), 5);
    assert_eq!(store.worker_runs(GROUP, "nobody", 10).await.unwrap(), []);
}

/// The database refuses one run of a batch (a trigger, added behind the
/// store's back, stands for any failure of the second statement): the
/// batch's sightings, written by the first, are rolled back with it.
async fn batch_is_all_or_nothing(db: &TestDb) {
    let store = db.open(10).await;
    ingest(&store, &[resolved(EventKind::Completed, 1, "a", Some(0), 1)], 10).await;
    let before = (store.sightings().await.unwrap(), store.runs_since(at(-1_000)).await.unwrap());

    const REFUSED: u32 = 3;
    let refused = task(REFUSED);
    let (create, drop) = match store.backend().name() {
        "sqlite" => (
            vec![format!(
                "CREATE TRIGGER refuse_run BEFORE INSERT ON worker_runs WHEN NEW.task_id = '{refused}'
                 BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
            )],
            "DROP TRIGGER refuse_run",
        ),
        _ => (
            vec![
                format!(
                    "CREATE FUNCTION refuse_run() RETURNS trigger LANGUAGE plpgsql AS $$
                     BEGIN IF NEW.task_id = '{refused}' THEN RAISE EXCEPTION 'refused by the test'; END IF;
                     RETURN NEW; END $$"
                ),
                "CREATE TRIGGER refuse_run BEFORE INSERT ON worker_runs FOR EACH ROW EXECUTE FUNCTION refuse_run()"
                    .to_owned(),
            ],
            "DROP TRIGGER refuse_run ON worker_runs",
        ),
    };
    let mut conn = db.raw().await;
    for sql in &create {
        sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
    }

    let batch = [
        resolved(EventKind::Completed, 2, "a", Some(2), 5),
        running(REFUSED, "b", 3),
        resolved(EventKind::Failed, 4, "c", Some(1), 4),
    ];
    let err = store.ingest(&effects(&batch), at(20)).await.expect_err("the database refuses a run");
    assert!(err.to_string().contains("refused by the test"), "{err}");
    assert_eq!((store.sightings().await.unwrap(), store.runs_since(at(-1_000)).await.unwrap()), before);

    sqlx::raw_sql(drop).execute(&mut conn).await.unwrap();
    let _ = conn.close().await;
    ingest(&store, &batch, 30).await;
    assert_eq!(store.sightings().await.unwrap(), [seen("a", 5), seen("b", 3), seen("c", 4)]);
    assert_eq!(store.runs_since(at(-1_000)).await.unwrap().len(), 4);
}

/// Batches joined by a caller repeat workers and runs; both backends store
/// what applying the rows one by one would.
async fn repeated_keys_in_a_batch_merge_alike(db: &TestDb) {
    let store = db.open(10).await;
    let first = effects(&[running(1, "a", 2), running(2, "b", 3)]);
    let second =
        effects(&[resolved(EventKind::Exception, 1, "a", None, 6), resolved(EventKind::Completed, 2, "b", Some(3), 1)]);
    let third = effects(&[resolved(EventKind::Failed, 1, "a", Some(2), 7)]);
    let joined = BatchEffects {
        sightings: [first.sightings, second.sightings, third.sightings].concat(),
        runs: [first.runs, second.runs, third.runs].concat(),
    };
    store.ingest(&joined, at(10)).await.unwrap();
    assert_eq!(store.sightings().await.unwrap(), [seen("a", 7), seen("b", 3)]);
    let a = runs_of(&store, "a").await;
    assert_eq!((a[0].state, a[0].started, a[0].resolved), (RunState::Exception, Some(at(2)), Some(at(6))));
    assert_eq!(tasks(&runs_of(&store, "b").await), [(task(2), RunState::Completed)]);
}

async fn prune_deletes_runs_older_than_the_cutoff(db: &TestDb) {
    let store = db.open(10).await;
    let events = [
        resolved(EventKind::Completed, 1, "a", Some(0), 1),
        resolved(EventKind::Completed, 2, "a", Some(2), 5),
        resolved(EventKind::Failed, 3, "a", Some(6), 10),
        running(4, "b", 2),
        running(5, "b", 11),
        resolved(EventKind::Exception, 6, "c", None, 3),
    ];
    ingest(&store, &events, 20).await;
    assert_eq!(store.prune_worker_runs(at(5)).await.unwrap(), 3, "resolved at 1 and 3, and running since 2");
    let left: Vec<String> = store.runs_since(at(-1_000)).await.unwrap().into_iter().map(|w| w.run.task_id).collect();
    assert_eq!(left, [task(3), task(2), task(5)]);
    assert_eq!(store.prune_worker_runs(at(5)).await.unwrap(), 0);
    assert_eq!(store.sightings().await.unwrap().len(), 3, "sightings are not pruned");
}

async fn maintain_prunes_old_runs(db: &TestDb) {
    let store = db.open(10).await;
    let now = truncate_to_micros(Utc::now());
    let old = now - Duration::days(RUN_HISTORY_DAYS + 1);
    let recent = now - Duration::days(RUN_HISTORY_DAYS - 1);
    let events = [
        event_at(EventKind::Completed, 1, "a", Some(old), old),
        event_at(EventKind::Completed, 2, "a", Some(recent), recent),
    ];
    store.ingest(&effects(&events), now).await.unwrap();

    let dry = store.maintain(true).await.unwrap();
    assert_eq!(dry.steps[0].name, "prune worker runs");
    assert_eq!(runs_of(&store, "a").await.len(), 2, "a dry run deletes nothing");
    let done = store.maintain(false).await.unwrap();
    assert_eq!(done.steps[0].detail, format!("runs deleted: 1 (older than {RUN_HISTORY_DAYS} days)"));
    assert_eq!(tasks(&runs_of(&store, "a").await), [(task(2), RunState::Completed)]);
}
