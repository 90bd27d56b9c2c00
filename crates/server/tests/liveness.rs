//! Worker liveness over HTTP, end to end on SQLite and on PostgreSQL: the
//! reference listener's `/machines` routes byte for byte, the
//! `/api/v1/workers` routes, and the consumer's counters at `/metrics`.
//!
//! Stores are filled as the consumer fills them: queue messages built from
//! core's sample, decoded, reduced to their effects and ingested.

mod harness;

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use fleetroll_core::liveness::{
    self, Decoded, EventKind, IngestCounters, RejectReason, Sighting, TaskEvent, sample_message,
};
use fleetroll_core::time::{Timestamp, to_rfc3339, truncate_to_micros};
use fleetroll_testdb::{Case, TestDb, cases};
use harness::Api;
use serde_json::{Value, json};

fn main() {
    fleetroll_testdb::run_suite("server liveness", all_cases());
}

fn all_cases() -> Vec<(&'static str, Case)> {
    cases![
        machines_body_is_the_references_byte_for_byte,
        machines_of_an_empty_store_is_an_empty_array,
        machine_by_id_hit_miss_and_no_colon,
        machine_id_splits_at_the_first_colon,
        workers_list_outcomes_and_current_task,
        workers_window_widens_the_outcomes,
        worker_detail_recent_and_limit,
        unknown_worker_is_404_naming_it,
        bad_window_and_limit_are_400,
        metrics_show_the_liveness_counters_when_set,
    ]
    .into()
}

/// A slug task id (22 characters) from a number.
fn task_id(n: u32) -> String {
    format!("task{n:018}")
}

/// A queue event as the consumer decodes it: core's sample message with
/// the run's times set, decoded on arrival at `received`.
fn event(
    kind: EventKind,
    task: u32,
    worker: (&str, &str),
    started: Timestamp,
    resolved: Option<Timestamp>,
    received: Timestamp,
) -> TaskEvent {
    let mut body = sample_message(kind, &task_id(task), 0, worker.0, worker.1);
    body["status"]["runs"][0]["started"] = json!(to_rfc3339(started));
    if let Some(resolved) = resolved {
        body["status"]["runs"][0]["resolved"] = json!(to_rfc3339(resolved));
    }
    match liveness::decode(kind, body.to_string().as_bytes(), received) {
        Ok(Decoded::Event(event)) => event,
        other => panic!("a sample message decodes to an event: {other:?}"),
    }
}

/// The run `task` of `worker`, started `started_ago` and resolved as `kind`
/// `resolved_ago` (or still running), as its two queue events.
fn run_events(
    kind: EventKind,
    task: u32,
    worker: (&str, &str),
    now: Timestamp,
    started_ago: Duration,
    resolved_ago: Option<Duration>,
) -> Vec<TaskEvent> {
    let started = now - started_ago;
    let mut events = vec![event(EventKind::Running, task, worker, started, None, now)];
    if let Some(ago) = resolved_ago {
        events.push(event(kind, task, worker, started, Some(now - ago), now));
    }
    events
}

async fn ingest(api: &Api, events: &[TaskEvent], now: Timestamp) {
    api.store.ingest(&liveness::effects(events), now).await.expect("ingest");
}

fn sighting(group: &str, id: &str, seen: Timestamp) -> Sighting {
    Sighting { worker_group: group.into(), worker_id: id.into(), seen }
}

fn now() -> Timestamp {
    truncate_to_micros(Utc::now())
}

fn hours(n: i64) -> Duration {
    Duration::hours(n)
}

/// The machine seen in the README's example, and one seen on a whole second.
async fn two_machines(api: &Api) {
    let example = Utc.with_ymd_and_hms(2018, 11, 8, 8, 47, 50).unwrap() + Duration::microseconds(939_514);
    let whole = Utc.with_ymd_and_hms(2018, 11, 9, 1, 2, 3).unwrap();
    let sightings = [sighting("mdc2", "t-linux64-ms-001", whole), sighting("mdc1", "t-linux64-ms-100", example)];
    assert_eq!(api.store.record_sightings(&sightings).await.unwrap(), 2);
}

// ---------------------------------------------------------------------------
// /machines

async fn machines_body_is_the_references_byte_for_byte(db: &TestDb) {
    let api = Api::start(db).await;
    two_machines(&api).await;
    let reply = api.get("/machines").await;
    reply.expect(200);
    assert_eq!(reply.header("content-type"), "application/json");
    // Python 2.7's `json.dumps(…, indent=2)`: `", "` ends every line but an
    // object's last, and there is no final newline.
    let expected = "[\n  {\n    \"machine\": \"t-linux64-ms-100\", \n    \"datacenter\": \"mdc1\", \n    \
                    \"lastseen\": \"2018-11-08T08:47:50.939514\"\n  }, \n  {\n    \
                    \"machine\": \"t-linux64-ms-001\", \n    \"datacenter\": \"mdc2\", \n    \
                    \"lastseen\": \"2018-11-09T01:02:03\"\n  }\n]";
    assert_eq!(reply.text, expected);
    // What `machines preload` reads back.
    let preload = liveness::parse_preload(&reply.text).unwrap();
    assert_eq!(preload.len(), 2);
    api.stop().await;
}

async fn machines_of_an_empty_store_is_an_empty_array(db: &TestDb) {
    let api = Api::start(db).await;
    let reply = api.get("/machines").await;
    reply.expect(200);
    assert_eq!(reply.header("content-type"), "application/json");
    // Python's `json.dumps([], indent=2)`.
    assert_eq!(reply.text, "[]");
    api.stop().await;
}

async fn machine_by_id_hit_miss_and_no_colon(db: &TestDb) {
    let api = Api::start(db).await;
    two_machines(&api).await;
    let hit = api.get("/machines/mdc1:t-linux64-ms-100").await;
    hit.expect(200);
    assert_eq!(hit.header("content-type"), "application/json");
    assert_eq!(hit.text, "\"2018-11-08T08:47:50.939514\"");
    assert_eq!(api.get("/machines/mdc2:t-linux64-ms-001").await.text, "\"2018-11-09T01:02:03\"");
    for miss in ["/machines/mdc2:t-linux64-ms-100", "/machines/mdc9:t-linux64-ms-100", "/machines/t-linux64-ms-100"] {
        let reply = api.get(miss).await;
        reply.expect(404);
        assert_eq!(reply.header("content-type"), "text/plain; charset=utf-8", "{miss}");
        assert_eq!(reply.text, "unknown machine", "{miss}");
    }
    api.stop().await;
}

async fn machine_id_splits_at_the_first_colon(db: &TestDb) {
    let api = Api::start(db).await;
    let seen = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
    api.store.record_sightings(&[sighting("mdc1", "host:with:colons", seen)]).await.unwrap();
    let reply = api.get("/machines/mdc1:host:with:colons").await;
    assert_eq!((reply.status, reply.text.as_str()), (200, "\"2026-01-02T03:04:05\""));
    assert_eq!(api.get("/machines/mdc1:host").await.text, "unknown machine");
    assert_eq!(api.get("/machines/mdc1:host:with").await.text, "unknown machine");
    let listed = api.get("/machines").await.expect(200).json();
    assert_eq!(
        listed,
        json!([{"machine": "host:with:colons", "datacenter": "mdc1", "lastseen": "2026-01-02T03:04:05"}])
    );
    api.stop().await;
}

// ---------------------------------------------------------------------------
// /api/v1/workers

const A: (&str, &str) = ("mdc1", "t-linux64-ms-100");
const B: (&str, &str) = ("mdc2", "t-linux64-ms-200");

/// Worker A: completed 3 h ago, failed 2 h ago, running since 10 min ago.
/// Worker B: an exception 30 h ago (outside a day), completed 1 h ago.
/// Worker C: preloaded only, no runs.
async fn fleet(api: &Api, now: Timestamp) {
    let mut events = Vec::new();
    events.extend(run_events(EventKind::Completed, 1, A, now, hours(4), Some(hours(3))));
    events.extend(run_events(EventKind::Failed, 2, A, now, hours(3), Some(hours(2))));
    events.extend(run_events(EventKind::Running, 3, A, now, Duration::minutes(10), None));
    events.extend(run_events(EventKind::Exception, 4, B, now, hours(31), Some(hours(30))));
    events.extend(run_events(EventKind::Completed, 5, B, now, hours(2), Some(hours(1))));
    ingest(api, &events, now).await;
    api.store.record_sightings(&[sighting("mdc3", "preloaded", now - hours(100))]).await.unwrap();
}

async fn workers_list_outcomes_and_current_task(db: &TestDb) {
    let api = Api::start(db).await;
    let empty = api.get("/api/v1/workers").await.expect(200).json();
    assert_eq!(empty["workers"], json!([]));
    let now = now();
    fleet(&api, now).await;
    let reply = api.get("/api/v1/workers").await;
    assert_eq!(reply.expect(200).header("content-type"), "application/json");
    let body = reply.json();
    let since = chrono::DateTime::parse_from_rfc3339(body["since"].as_str().unwrap()).unwrap();
    let off = (since.with_timezone(&Utc) - (now - hours(24))).num_seconds().abs();
    assert!(off < 60, "the window starts a day before now: {since}");
    let ago = |d: Duration| to_rfc3339(now - d);
    assert_eq!(
        body["workers"],
        json!([
            {"worker_group": "mdc1", "worker_id": "t-linux64-ms-100", "last_seen": ago(Duration::minutes(10)),
             "current_task": {"task_id": task_id(3), "run_id": 0, "started": ago(Duration::minutes(10))},
             "outcomes": {"completed": 1, "failed": 1, "exception": 0, "success_rate": 0.5}},
            {"worker_group": "mdc2", "worker_id": "t-linux64-ms-200", "last_seen": ago(hours(1)),
             "current_task": null,
             "outcomes": {"completed": 1, "failed": 0, "exception": 0, "success_rate": 1.0}},
            {"worker_group": "mdc3", "worker_id": "preloaded", "last_seen": ago(hours(100)),
             "current_task": null,
             "outcomes": {"completed": 0, "failed": 0, "exception": 0, "success_rate": null}},
        ])
    );
    // Each worker of the list reads the same on its own.
    for listed in body["workers"].as_array().unwrap() {
        let path = format!(
            "/api/v1/workers/{}/{}",
            listed["worker_group"].as_str().unwrap(),
            listed["worker_id"].as_str().unwrap()
        );
        let detail = api.get(&path).await.expect(200).json();
        for field in ["worker_group", "worker_id", "last_seen", "current_task", "outcomes"] {
            assert_eq!(detail[field], listed[field], "{path} {field}");
        }
    }
    api.stop().await;
}

async fn workers_window_widens_the_outcomes(db: &TestDb) {
    let api = Api::start(db).await;
    let now = now();
    fleet(&api, now).await;
    let outcomes = async |query: &str| {
        let body = api.get(&format!("/api/v1/workers{query}")).await.expect(200).json();
        let b = body["workers"].as_array().unwrap().iter().find(|w| w["worker_id"] == B.1).unwrap().clone();
        b["outcomes"].clone()
    };
    assert_eq!(outcomes("?window=24").await, json!({"completed": 1, "failed": 0, "exception": 0, "success_rate": 1.0}));
    assert_eq!(outcomes("?window=48").await, json!({"completed": 1, "failed": 0, "exception": 1, "success_rate": 0.5}));
    assert_eq!(
        outcomes("?window=720").await,
        json!({"completed": 1, "failed": 0, "exception": 1, "success_rate": 0.5})
    );
    assert_eq!(outcomes("?window=1").await, json!({"completed": 0, "failed": 0, "exception": 0, "success_rate": null}));
    api.stop().await;
}

async fn worker_detail_recent_and_limit(db: &TestDb) {
    let api = Api::start(db).await;
    let now = now();
    fleet(&api, now).await;
    let path = format!("/api/v1/workers/{}/{}", A.0, A.1);
    let reply = api.get(&path).await;
    assert_eq!(reply.expect(200).header("content-type"), "application/json");
    let body = reply.json();
    // The worker's fields in the list's order, then the detail's.
    let keys = ["worker_group", "worker_id", "last_seen", "current_task", "outcomes", "since", "recent"];
    let at: Vec<usize> = keys.iter().map(|key| reply.text.find(&format!("\"{key}\":")).unwrap()).collect();
    assert!(at.is_sorted(), "{}", reply.text);
    assert_eq!(body.as_object().unwrap().len(), keys.len());
    let ago = |d: Duration| to_rfc3339(now - d);
    assert_eq!(
        body["recent"],
        json!([
            {"task_id": task_id(3), "run_id": 0, "state": "running", "started": ago(Duration::minutes(10))},
            {"task_id": task_id(2), "run_id": 0, "state": "failed", "reason_resolved": "failed",
             "started": ago(hours(3)), "resolved": ago(hours(2))},
            {"task_id": task_id(1), "run_id": 0, "state": "completed", "reason_resolved": "completed",
             "started": ago(hours(4)), "resolved": ago(hours(3))},
        ])
    );
    let two = api.get(&format!("{path}?limit=2")).await.expect(200).json();
    assert_eq!(two["recent"], json!(body["recent"].as_array().unwrap()[..2]));
    // The limit trims the list, not the outcomes.
    let one = api.get(&format!("{path}?limit=1&window=24")).await.expect(200).json();
    assert_eq!(one["recent"].as_array().unwrap().len(), 1);
    assert_eq!(one["outcomes"], body["outcomes"]);
    assert_eq!(one["current_task"]["task_id"], task_id(3));
    // Older runs stay in `recent` whatever the window.
    let b = api.get(&format!("/api/v1/workers/{}/{}?window=1", B.0, B.1)).await.expect(200).json();
    assert_eq!(b["recent"].as_array().unwrap().len(), 2);
    assert_eq!(b["recent"][1]["reason_resolved"], "worker-shutdown");
    let c = api.get("/api/v1/workers/mdc3/preloaded?limit=500").await.expect(200).json();
    assert_eq!((c["recent"].clone(), c["current_task"].clone()), (json!([]), Value::Null));
    api.stop().await;
}

async fn unknown_worker_is_404_naming_it(db: &TestDb) {
    let api = Api::start(db).await;
    fleet(&api, now()).await;
    let (title, _) = api.get("/api/v1/workers/mdc1/nope").await.problem(404);
    assert_eq!(title, "No worker mdc1/nope found.");
    let (title, _) = api.get("/api/v1/workers/mdc2/t-linux64-ms-100").await.problem(404);
    assert!(title.contains("mdc2/t-linux64-ms-100"), "{title}");
    // Not a route: one segment too few, or too many.
    api.get("/api/v1/workers/mdc1").await.problem(404);
    api.get("/api/v1/workers/mdc1/a/b").await.problem(404);
    api.stop().await;
}

async fn bad_window_and_limit_are_400(db: &TestDb) {
    let api = Api::start(db).await;
    fleet(&api, now()).await;
    let detail = format!("/api/v1/workers/{}/{}", A.0, A.1);
    for (path, field) in [
        ("/api/v1/workers?window=0".to_owned(), "window"),
        ("/api/v1/workers?window=721".to_owned(), "window"),
        ("/api/v1/workers?window=abc".to_owned(), "window"),
        ("/api/v1/workers?window=".to_owned(), "window"),
        (format!("{detail}?window=1.5"), "window"),
        (format!("{detail}?limit=0"), "limit"),
        (format!("{detail}?limit=501"), "limit"),
        (format!("{detail}?limit=-1"), "limit"),
    ] {
        let (title, detail) = api.get(&path).await.problem(400);
        assert_eq!(title, format!("Unexpected value for `{field}`."), "{path}");
        assert!(detail.starts_with(&format!("`{field}` must be a whole number")), "{path}: {detail}");
    }
    // A misspelt parameter would otherwise pass for the default.
    api.get("/api/v1/workers?windows=48").await.problem(400);
    api.get(&format!("{detail}?limt=5")).await.problem(400);
    // An unknown worker with a bad query: the query is read first.
    api.get("/api/v1/workers/mdc1/nope?limit=0").await.problem(400);
    api.stop().await;
}

// ---------------------------------------------------------------------------
// /metrics

async fn metrics_show_the_liveness_counters_when_set(db: &TestDb) {
    let api = Api::start(db).await;
    let before = api.get("/metrics").await.expect(200).text.clone();
    assert!(!before.contains("fleetroll_liveness_"), "no consumer, no liveness series:\n{before}");
    let counters = Arc::new(IngestCounters::default());
    // The server's state is shared with its clones: set on the test's.
    let _ = api.state.clone().with_liveness(counters.clone());
    IngestCounters::add(&counters.received, 12);
    IngestCounters::add(&counters.stored, 9);
    IngestCounters::add(&counters.no_run, 1);
    IngestCounters::add(&counters.batches, 3);
    IngestCounters::add(&counters.reconnects, 2);
    counters.reject(RejectReason::BadIdentifier);
    counters.reject(RejectReason::BadIdentifier);
    let text = api.get("/metrics").await.expect(200).text.clone();
    for line in [
        "# TYPE fleetroll_liveness_messages_received_total counter",
        "fleetroll_liveness_messages_received_total 12",
        "fleetroll_liveness_messages_stored_total 9",
        "fleetroll_liveness_messages_no_run_total 1",
        "fleetroll_liveness_messages_batches_total 3",
        "fleetroll_liveness_messages_reconnects_total 2",
        "# TYPE fleetroll_liveness_messages_rejected_total counter",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} missing from\n{text}");
    }
    for reason in RejectReason::ALL {
        let count = if reason == RejectReason::BadIdentifier { 2 } else { 0 };
        let line = format!("fleetroll_liveness_messages_rejected_total{{reason=\"{}\"}} {count}", reason.as_str());
        assert!(text.lines().any(|l| l == line), "{line} missing from\n{text}");
    }
    for name in ["received", "stored", "no_run", "batches", "reconnects", "rejected"] {
        let help = format!("# HELP fleetroll_liveness_messages_{name}_total ");
        assert_eq!(text.lines().filter(|l| l.starts_with(&help)).count(), 1, "{help}");
    }
    api.stop().await;
}
