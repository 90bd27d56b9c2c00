use chrono::{TimeZone, Utc};
use serde_json::{Value, json};

use super::*;

const TASK: &str = "fN1uJQpSS3aXUmtw_Lw4_g";

fn at(text: &str) -> Timestamp {
    chrono::DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

fn received() -> Timestamp {
    at("2026-11-22T12:00:00Z")
}

fn message(kind: EventKind) -> Value {
    sample_message(kind, TASK, 0, "mdc1", "t-linux64-ms-100")
}

fn decode_value(kind: EventKind, body: &Value) -> Result<Decoded, Rejection> {
    decode(kind, body.to_string().as_bytes(), received())
}

fn event(kind: EventKind, body: &Value) -> TaskEvent {
    match decode_value(kind, body) {
        Ok(Decoded::Event(event)) => event,
        other => panic!("expected an event, got {other:?}"),
    }
}

#[test]
fn exchanges_and_binding_follow_the_reference() {
    let names: Vec<String> =
        EventKind::ALL.iter().map(|kind| format!("{DEFAULT_EXCHANGE_PREFIX}{}", kind.exchange_suffix())).collect();
    assert_eq!(
        names,
        [
            "exchange/taskcluster-queue/v1/task-running",
            "exchange/taskcluster-queue/v1/task-completed",
            "exchange/taskcluster-queue/v1/task-failed",
            "exchange/taskcluster-queue/v1/task-exception",
        ]
    );
    assert_eq!(binding_key("releng-hardware"), "primary.*.*.*.*.releng-hardware.*.*.*.#");
    assert_eq!(queue_name("ops", "releng-hardware"), "queue/ops/releng-hardware");
    for kind in EventKind::ALL {
        let exchange = format!("{DEFAULT_EXCHANGE_PREFIX}{}", kind.exchange_suffix());
        assert_eq!(EventKind::from_exchange(&exchange, DEFAULT_EXCHANGE_PREFIX), Some(kind));
    }
    assert_eq!(EventKind::from_exchange("exchange/taskcluster-queue/v1/task-pending", DEFAULT_EXCHANGE_PREFIX), None);
    assert_eq!(EventKind::from_exchange("task-running", DEFAULT_EXCHANGE_PREFIX), None);
}

#[test]
fn provisioners_must_be_routing_key_words() {
    let cases = [("releng-hardware", true), ("proj_autophone", true), ("a.b", false), ("*", false), ("", false)];
    for (provisioner, ok) in cases {
        assert_eq!(check_provisioner(provisioner).is_ok(), ok, "{provisioner:?}");
    }
    assert!(check_provisioner(&"x".repeat(39)).is_err());
}

#[test]
fn each_event_kind_decodes_to_its_run_state_and_times() {
    let cases = [
        (EventKind::Running, RunState::Running, None, None, "2026-11-02T10:00:05Z"),
        (
            EventKind::Completed,
            RunState::Completed,
            Some("completed"),
            Some("2026-11-02T10:05:00Z"),
            "2026-11-02T10:05:00Z",
        ),
        (EventKind::Failed, RunState::Failed, Some("failed"), Some("2026-11-02T10:05:00Z"), "2026-11-02T10:05:00Z"),
        (
            EventKind::Exception,
            RunState::Exception,
            Some("worker-shutdown"),
            Some("2026-11-02T10:05:00Z"),
            "2026-11-02T10:05:00Z",
        ),
    ];
    for (kind, state, reason, resolved, seen) in cases {
        let event = event(kind, &message(kind));
        assert_eq!(event.kind, kind);
        assert_eq!(event.state, state, "{kind:?}");
        assert_eq!(event.reason_resolved.as_deref(), reason, "{kind:?}");
        assert_eq!(event.started, Some(at("2026-11-02T10:00:05Z")), "{kind:?}");
        assert_eq!(event.resolved, resolved.map(at), "{kind:?}");
        assert_eq!(event.seen, at(seen), "{kind:?}");
        assert_eq!(
            (event.task_id.as_str(), event.run_id, event.worker_group.as_str(), event.worker_id.as_str()),
            (TASK, 0, "mdc1", "t-linux64-ms-100")
        );
        assert_eq!(
            (event.provisioner_id.as_str(), event.worker_type.as_str()),
            ("releng-hardware", "gecko-t-linux-talos")
        );
    }
}

#[test]
fn seen_is_never_after_arrival_and_falls_back_to_it() {
    let mut future = message(EventKind::Completed);
    future["status"]["runs"][0]["resolved"] = "2027-01-01T00:00:00Z".into();
    assert_eq!(event(EventKind::Completed, &future).seen, received());

    let mut unstarted = message(EventKind::Exception);
    let run = unstarted["status"]["runs"][0].as_object_mut().unwrap();
    run.remove("started");
    run.remove("resolved");
    assert_eq!(event(EventKind::Exception, &unstarted).seen, received());
}

#[test]
fn an_exception_before_any_run_is_valid_and_about_no_worker() {
    let mut body = message(EventKind::Exception);
    let object = body.as_object_mut().unwrap();
    for field in ["runId", "workerGroup", "workerId"] {
        object.remove(field);
    }
    body["status"]["runs"] = json!([]);
    assert_eq!(decode_value(EventKind::Exception, &body), Ok(Decoded::NoRun));
    // Only an exception may lack the run.
    assert_eq!(decode_value(EventKind::Completed, &body).unwrap_err().reason, RejectReason::MissingField);
}

/// A change to a valid message, and the reason it must be refused for.
type Breakage = (&'static str, fn(&mut Value), RejectReason);

fn remove(value: &mut Value, pointer: &str, key: &str) {
    value.pointer_mut(pointer).unwrap().as_object_mut().unwrap().remove(key);
}

#[test]
fn bad_messages_are_refused_with_their_reason() {
    use RejectReason::*;
    let cases: &[Breakage] = &[
        ("unknown top-level field", |v| v["extra"] = json!(1), Schema),
        ("unknown status field", |v| v["status"]["colour"] = json!("red"), Schema),
        ("unknown run field", |v| v["status"]["runs"][0]["colour"] = json!("red"), Schema),
        ("runId is a string", |v| v["runId"] = json!("0"), Schema),
        ("runId out of range", |v| v["runId"] = json!(1001), Schema),
        ("version 2", |v| v["version"] = json!(2), Schema),
        ("state unknown", |v| v["status"]["state"] = json!("done"), Schema),
        ("run state unknown", |v| v["status"]["runs"][0]["state"] = json!("done"), Schema),
        ("reasonResolved unknown", |v| v["status"]["runs"][0]["reasonResolved"] = json!("bored"), Schema),
        ("reasonCreated unknown", |v| v["status"]["runs"][0]["reasonCreated"] = json!("whim"), Schema),
        ("bad date", |v| v["status"]["deadline"] = json!("tomorrow"), Schema),
        ("retriesLeft out of range", |v| v["status"]["retriesLeft"] = json!(1000), Schema),
        ("taskQueueId disagrees", |v| v["status"]["taskQueueId"] = json!("other/type"), Schema),
        ("no run of that id", |v| v["runId"] = json!(3), Schema),
        ("tags not strings", |v| v["task"]["tags"] = json!({"kind": 1}), Schema),
        ("body is an array", |v| *v = json!([1, 2]), Schema),
        ("no version", |v| remove(v, "", "version"), MissingField),
        ("no status", |v| remove(v, "", "status"), MissingField),
        ("no workerId", |v| remove(v, "", "workerId"), MissingField),
        ("no status.taskId", |v| remove(v, "/status", "taskId"), MissingField),
        ("no status.projectId", |v| remove(v, "/status", "projectId"), MissingField),
        ("no status.runs", |v| remove(v, "/status", "runs"), MissingField),
        ("no run scheduled", |v| remove(v, "/status/runs/0", "scheduled"), MissingField),
        ("workerId with a dot", |v| v["workerId"] = json!("t-linux64.mdc1"), BadIdentifier),
        ("workerGroup empty", |v| v["workerGroup"] = json!(""), BadIdentifier),
        ("workerGroup too long", |v| v["workerGroup"] = json!("x".repeat(39)), BadIdentifier),
        ("taskId not a slug", |v| v["status"]["taskId"] = json!("abc"), BadIdentifier),
        ("provisioner with a space", |v| v["status"]["provisionerId"] = json!("releng hardware"), BadIdentifier),
    ];
    for (name, breakage, reason) in cases {
        let mut body = message(EventKind::Completed);
        breakage(&mut body);
        let refused = decode_value(EventKind::Completed, &body).expect_err(name);
        assert_eq!(refused.reason, *reason, "{name}: {refused}");
    }
}

#[test]
fn running_needs_taken_until() {
    let mut body = message(EventKind::Running);
    remove(&mut body, "", "takenUntil");
    assert_eq!(decode_value(EventKind::Running, &body).unwrap_err().reason, RejectReason::MissingField);
}

#[test]
fn not_json_and_oversized_bodies_are_refused() {
    let now = received();
    let cases: &[(&[u8], RejectReason)] = &[
        (b"", RejectReason::InvalidJson),
        (b"{\"version\": 1", RejectReason::InvalidJson),
        (b"\xff\xfe", RejectReason::InvalidJson),
        (b"{} trailing", RejectReason::InvalidJson),
    ];
    for (body, reason) in cases {
        assert_eq!(decode(EventKind::Running, body, now).unwrap_err().reason, *reason, "{body:?}");
    }
    let big = vec![b' '; MAX_MESSAGE_BYTES + 1];
    assert_eq!(decode(EventKind::Running, &big, now).unwrap_err().reason, RejectReason::Oversized);
}

#[test]
fn rejections_name_the_field() {
    let mut body = message(EventKind::Completed);
    body["status"]["runs"][0]["state"] = json!(7);
    let refused = decode_value(EventKind::Completed, &body).unwrap_err();
    assert!(refused.detail.contains("status.runs[0].state"), "{refused}");
    assert_eq!(refused.to_string().split(':').next(), Some("schema"));
}

#[test]
fn run_states_only_move_forward() {
    assert!(RunState::Completed.rank() > RunState::Running.rank());
    assert_eq!(RunState::Failed.rank(), RunState::Exception.rank());
    for state in [RunState::Running, RunState::Completed, RunState::Failed, RunState::Exception] {
        assert_eq!(RunState::parse(state.as_str()), Some(state));
    }
    assert_eq!(RunState::parse("pending"), None);
}

#[test]
fn lastseen_is_pythons_isoformat() {
    let cases = [
        (
            Utc.with_ymd_and_hms(2018, 11, 8, 8, 47, 50).unwrap() + chrono::Duration::microseconds(939_514),
            "2018-11-08T08:47:50.939514",
        ),
        (Utc.with_ymd_and_hms(2018, 11, 8, 8, 47, 50).unwrap(), "2018-11-08T08:47:50"),
        (
            Utc.with_ymd_and_hms(2018, 11, 8, 8, 47, 50).unwrap() + chrono::Duration::microseconds(5),
            "2018-11-08T08:47:50.000005",
        ),
    ];
    for (at, text) in cases {
        assert_eq!(format_lastseen(at), text);
        assert_eq!(parse_lastseen(text), Ok(at));
    }
    assert_eq!(parse_lastseen("2018-11-08T09:47:50+01:00"), Ok(Utc.with_ymd_and_hms(2018, 11, 8, 8, 47, 50).unwrap()));
    assert!(parse_lastseen("yesterday").is_err());
}

#[test]
fn machine_ids_split_at_the_first_colon() {
    assert_eq!(machine_id("mdc1", "t-linux64-ms-100"), "mdc1:t-linux64-ms-100");
    assert_eq!(split_machine_id("mdc1:t-linux64-ms-100"), Some(("mdc1", "t-linux64-ms-100")));
    assert_eq!(split_machine_id("mdc1:a:b"), Some(("mdc1", "a:b")));
    assert_eq!(split_machine_id("nocolon"), None);
}

#[test]
fn preload_reads_the_machines_array() {
    let text = r#"[
      {"machine": "t-linux64-ms-100", "datacenter": "mdc1", "lastseen": "2018-11-08T08:47:50.939514"},
      {"machine": "t-mojave-r7-010", "datacenter": "mdc2", "lastseen": "2018-11-08T08:00:00"}
    ]"#;
    let sightings = parse_preload(text).unwrap();
    assert_eq!(sightings.len(), 2);
    assert_eq!(sightings[0].worker_group, "mdc1");
    assert_eq!(sightings[1].seen, Utc.with_ymd_and_hms(2018, 11, 8, 8, 0, 0).unwrap());

    let bad = [
        ("{}", "JSON array"),
        (r#"[{"machine": "a", "datacenter": "b"}]"#, "lastseen"),
        (r#"[{"machine": "a", "datacenter": "b", "lastseen": "x", "extra": 1}]"#, "unknown field"),
        (r#"[{"machine": "a", "datacenter": "b", "lastseen": "soon"}]"#, "entry 0 (b:a)"),
        (r#"[{"machine": "", "datacenter": "b", "lastseen": "2018-11-08T08:00:00"}]"#, "non-empty"),
        (r#"[{"machine": "a", "datacenter": "b:c", "lastseen": "2018-11-08T08:00:00"}]"#, "without `:`"),
    ];
    for (text, fragment) in bad {
        let err = parse_preload(text).unwrap_err();
        assert!(err.contains(fragment), "{text}: {err}");
    }
}

fn run(state: RunState, started: &str, resolved: Option<&str>) -> RunRecord {
    RunRecord {
        task_id: TASK.to_owned(),
        run_id: 0,
        state,
        reason_resolved: None,
        started: Some(at(started)),
        resolved: resolved.map(at),
    }
}

#[test]
fn outcomes_count_runs_resolved_in_the_window() {
    let runs = [
        run(RunState::Completed, "2026-11-02T09:00:00Z", Some("2026-11-02T09:10:00Z")),
        run(RunState::Completed, "2026-11-02T10:00:00Z", Some("2026-11-02T10:10:00Z")),
        run(RunState::Failed, "2026-11-02T10:20:00Z", Some("2026-11-02T10:30:00Z")),
        run(RunState::Exception, "2026-11-02T10:40:00Z", Some("2026-11-02T10:50:00Z")),
        run(RunState::Completed, "2026-11-02T11:00:00Z", Some("2026-11-02T11:10:00Z")),
        run(RunState::Running, "2026-11-02T11:20:00Z", None),
    ];
    let counts = outcomes(&runs, at("2026-11-02T10:00:00Z"));
    assert_eq!((counts.completed, counts.failed, counts.exception), (2, 1, 1));
    assert_eq!(counts.success_rate, Some(0.5));
    assert_eq!(outcomes(&runs, at("2026-11-03T00:00:00Z")).success_rate, None);
}

#[test]
fn the_current_run_is_the_newest_if_still_running() {
    let running = run(RunState::Running, "2026-11-02T11:20:00Z", None);
    let done = run(RunState::Completed, "2026-11-02T11:00:00Z", Some("2026-11-02T11:10:00Z"));
    assert_eq!(current_run([&done, &running]), Some(&running));
    let stale = run(RunState::Running, "2026-11-02T10:00:00Z", None);
    assert_eq!(current_run([&stale, &done]), None);
    assert_eq!(current_run(std::iter::empty()), None);
}

#[test]
fn outcomes_from_counts_work_out_the_success_rate() {
    let cases = [
        ((0, 0, 0), None),
        ((1, 0, 0), Some(1.0)),
        ((0, 1, 0), Some(0.0)),
        ((0, 0, 3), Some(0.0)),
        ((1, 1, 0), Some(0.5)),
        ((1, 1, 2), Some(0.25)),
        ((2, 0, 1), Some(2.0 / 3.0)),
    ];
    for ((completed, failed, exception), rate) in cases {
        let counted = Outcomes::from_counts(completed, failed, exception);
        assert_eq!(
            counted,
            Outcomes { completed, failed, exception, success_rate: rate },
            "{completed}/{failed}/{exception}"
        );
    }
    assert_eq!(Outcomes::from_counts(0, 0, 0), Outcomes::default());
}

#[test]
fn outcomes_are_from_counts_of_the_window() {
    let runs = [
        run(RunState::Completed, "2026-11-02T09:00:00Z", Some("2026-11-02T09:59:59.999999Z")),
        run(RunState::Completed, "2026-11-02T09:00:00Z", Some("2026-11-02T10:00:00Z")),
        run(RunState::Exception, "2026-11-02T10:00:00Z", Some("2026-11-02T10:05:00Z")),
        run(RunState::Running, "2026-11-02T10:10:00Z", None),
    ];
    assert_eq!(outcomes(&runs, at("2026-11-02T10:00:00Z")), Outcomes::from_counts(1, 0, 1));
    assert_eq!(outcomes(&runs[3..], at("2026-11-02T10:00:00Z")), Outcomes::from_counts(0, 0, 0));
}

#[test]
fn the_current_run_is_the_same_whatever_the_order() {
    let started = "2026-11-02T11:20:00Z";
    let with = |task: &str, run_id: i64, state: RunState| RunRecord {
        task_id: task.into(),
        run_id,
        ..run(state, started, state.is_resolved().then_some("2026-11-02T11:30:00Z"))
    };
    let mut no_start = run(RunState::Running, started, None);
    no_start.started = None;
    // (runs, the current run's task and run id): one start, tied.
    let cases = [
        (vec![with("B", 0, RunState::Running), with("A", 0, RunState::Running)], Some(("A", 0))),
        (vec![with("A", 1, RunState::Running), with("A", 0, RunState::Running)], Some(("A", 0))),
        (vec![with("A", 0, RunState::Completed), with("B", 0, RunState::Running)], None),
        (vec![with("A", 0, RunState::Running), with("B", 0, RunState::Failed)], Some(("A", 0))),
        (vec![no_start.clone(), with("B", 0, RunState::Running)], Some(("B", 0))),
    ];
    for (runs, expected) in cases {
        for reversed in [false, true] {
            let mut ordered: Vec<&RunRecord> = runs.iter().collect();
            if reversed {
                ordered.reverse();
            }
            let got = current_run(ordered).map(|run| (run.task_id.as_str(), run.run_id));
            assert_eq!(got, expected, "{runs:?} reversed {reversed}");
        }
    }
    assert_eq!(current_run([&no_start]), None, "a run without a start is never current");
}

#[test]
fn counters_count_per_reason() {
    let counters = IngestCounters::default();
    counters.reject(RejectReason::Schema);
    counters.reject(RejectReason::Schema);
    counters.reject(RejectReason::Oversized);
    assert_eq!(counters.rejected(RejectReason::Schema), 2);
    assert_eq!(counters.rejected(RejectReason::Oversized), 1);
    assert_eq!(counters.rejected(RejectReason::InvalidJson), 0);
}

#[test]
fn excerpts_cut_on_character_boundaries() {
    assert_eq!(excerpt(b"short", 10), "short");
    assert_eq!(excerpt("ééé".as_bytes(), 3), "é… (6 bytes)");
}

#[test]
fn a_batch_keeps_each_workers_newest_sighting_and_each_runs_furthest_state() {
    let running = event(EventKind::Running, &sample_message(EventKind::Running, TASK, 0, "mdc1", "a"));
    let completed = event(EventKind::Completed, &sample_message(EventKind::Completed, TASK, 0, "mdc1", "a"));
    let other =
        event(EventKind::Running, &sample_message(EventKind::Running, "Zx3Nn8N1T2eHVaOEYHRuNQ", 1, "mdc2", "b"));
    let cases: &[(&str, Vec<&TaskEvent>, usize, RunState)] = &[
        ("in order", vec![&running, &completed], 1, RunState::Completed),
        ("out of order", vec![&completed, &running], 1, RunState::Completed),
        ("duplicates", vec![&running, &running, &running], 1, RunState::Running),
        ("two workers", vec![&running, &other, &completed], 2, RunState::Completed),
    ];
    for (name, events, workers, first_state) in cases {
        let events: Vec<TaskEvent> = events.iter().map(|e| (*e).clone()).collect();
        let batch = effects(&events);
        assert_eq!(batch.sightings.len(), *workers, "{name}");
        assert_eq!(batch.runs.len(), *workers, "{name}");
        assert_eq!(batch.runs[0].run.state, *first_state, "{name}");
        let newest = events.iter().filter(|e| e.worker_id == "a").map(|e| e.seen).max();
        assert_eq!(Some(batch.sightings[0].seen), newest, "{name}");
    }
    assert_eq!(effects(&[]), BatchEffects::default());
}

#[test]
fn sighting_index_finds_the_newest_of_a_worker_by_id_and_group() {
    let sighting = |group: &str, id: &str, seen: &str| Sighting {
        worker_group: group.to_owned(),
        worker_id: id.to_owned(),
        seen: at(seen),
    };
    let sightings = [
        sighting("mdc1", "t-linux64-ms-001", "2026-11-02T10:00:00Z"),
        sighting("mdc2", "t-linux64-ms-001", "2026-11-02T11:00:00Z"),
        sighting("mdc1", "T-W1064-MS-002", "2026-11-02T09:00:00Z"),
    ];
    let index = SightingIndex::new(&sightings);
    let cases: &[(&str, Option<&str>, Option<&str>)] = &[
        ("t-linux64-ms-001", None, Some("2026-11-02T11:00:00Z")),
        ("t-linux64-ms-001", Some("mdc1"), Some("2026-11-02T10:00:00Z")),
        ("t-linux64-ms-001", Some("mdc3"), None),
        ("t-w1064-ms-002", None, Some("2026-11-02T09:00:00Z")),
        ("T-Linux64-MS-001", Some("mdc2"), Some("2026-11-02T11:00:00Z")),
        ("t-linux64-ms-009", None, None),
    ];
    for (id, group, expected) in cases {
        assert_eq!(index.newest(id, *group), expected.map(at), "{id} {group:?}");
    }
    assert_eq!(SightingIndex::default().newest("t-linux64-ms-001", None), None);

    // A host: by its worker record's id and group, else by its short name.
    let record = |id: &str, group: Option<&str>| crate::records::TcWorker {
        worker_group: group.map(str::to_owned),
        ..crate::records::TcWorker::new("h", id, "releng-hardware", "gecko-t-linux-talos", at("2026-11-02T09:00:00Z"))
    };
    let fqdn = "t-linux64-ms-001.test.releng.mdc1.mozilla.com";
    let hosts: &[(Option<crate::records::TcWorker>, Option<&str>)] = &[
        (None, Some("2026-11-02T11:00:00Z")),
        (Some(record("t-linux64-ms-001", Some("mdc1"))), Some("2026-11-02T10:00:00Z")),
        (Some(record("t-w1064-ms-002", None)), Some("2026-11-02T09:00:00Z")),
        (Some(record("t-linux64-ms-001", Some("mdc3"))), None),
    ];
    for (worker, expected) in hosts {
        assert_eq!(index.for_host(fqdn, worker.as_ref()), expected.map(at), "{worker:?}");
    }
}
