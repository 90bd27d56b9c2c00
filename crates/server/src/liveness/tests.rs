use std::time::Instant;

use chrono::TimeZone;

use super::*;

fn at(seconds: i64, micros: u32) -> Timestamp {
    Utc.timestamp_opt(seconds, micros * 1000).unwrap()
}

fn sighting(group: &str, id: &str, seen: Timestamp) -> Sighting {
    Sighting { worker_group: group.into(), worker_id: id.into(), seen }
}

fn run(task: &str, state: RunState, started: Option<i64>, resolved: Option<i64>) -> RunRecord {
    RunRecord {
        task_id: task.into(),
        run_id: 0,
        state,
        reason_resolved: state.is_resolved().then(|| state.as_str().to_owned()),
        started: started.map(|s| at(s, 0)),
        resolved: resolved.map(|s| at(s, 0)),
    }
}

fn worker_activity(group: &str, id: &str, outcomes: Outcomes, current_run: Option<RunRecord>) -> WorkerActivity {
    WorkerActivity { worker_group: group.into(), worker_id: id.into(), outcomes, current_run }
}

/// The expected texts are Python's: `json.dumps(v, indent=2, separators=(", ", ": "))`,
/// the separators Python 2.7 used with an indent.
#[test]
fn machines_json_is_python_2_json_dumps_indent_2() {
    assert_eq!(machines_json(&[]), "[]");
    let sightings = [
        sighting("mdc1", "t-linux64-ms-100", Utc.with_ymd_and_hms(2018, 11, 8, 8, 47, 50).unwrap()),
        sighting("mdc2", "h\u{e9}\"\\\u{7f}\u{1F600}\u{1}\t", Utc.with_ymd_and_hms(2018, 11, 8, 8, 47, 50).unwrap()),
    ];
    let mut first = sightings[0].clone();
    first.seen += Duration::microseconds(939_514);
    let expected = "[\n  {\n    \"machine\": \"t-linux64-ms-100\", \n    \"datacenter\": \"mdc1\", \n    \
                    \"lastseen\": \"2018-11-08T08:47:50.939514\"\n  }, \n  {\n    \
                    \"machine\": \"h\\u00e9\\\"\\\\\\u007f\\ud83d\\ude00\\u0001\\t\", \n    \
                    \"datacenter\": \"mdc2\", \n    \"lastseen\": \"2018-11-08T08:47:50\"\n  }\n]";
    assert_eq!(machines_json(&[first.clone(), sightings[1].clone()]), expected);
    // Whatever the escapes, it is JSON that reads back as core's entries.
    let entries: Vec<liveness::MachineSeen> = serde_json::from_str(expected).unwrap();
    assert_eq!(entries[1].machine, sightings[1].worker_id);
    assert_eq!(liveness::parse_preload(expected).unwrap(), vec![first, sightings[1].clone()]);
}

#[test]
fn machine_json_is_the_time_as_a_json_string() {
    assert_eq!(machine_json(at(1_541_666_870, 939_514)), "\"2018-11-08T08:47:50.939514\"");
    assert_eq!(machine_json(at(1_541_666_870, 0)), "\"2018-11-08T08:47:50\"");
}

#[test]
fn window_and_limit_are_whole_numbers_in_range() {
    let cases = [
        (None, Ok(24)),
        (Some("1"), Ok(1)),
        (Some("720"), Ok(720)),
        (Some("0024"), Ok(24)),
        (Some("0"), Err(())),
        (Some("721"), Err(())),
        (Some("-1"), Err(())),
        (Some("+5"), Err(())),
        (Some("1.5"), Err(())),
        (Some(""), Err(())),
        (Some(" 5"), Err(())),
        (Some("99999999999"), Err(())),
    ];
    for (text, expected) in cases {
        let got = window_hours(text).map_err(|err| {
            let ApiError::BadRequest { title, detail } = &err else { panic!("{err:?}") };
            assert_eq!(*title, "Unexpected value for `window`.");
            assert!(detail.contains(&format!("{:?}", text.unwrap())), "{detail}");
        });
        assert_eq!(got, expected, "{text:?}");
    }
    let query = |limit: Option<&str>| DetailQuery { window: None, limit: limit.map(str::to_owned) }.limit();
    assert_eq!(query(None).unwrap(), 20);
    assert_eq!(query(Some("500")).unwrap(), 500);
    for bad in ["0", "501", "x"] {
        let err = query(Some(bad)).unwrap_err();
        assert!(matches!(err, ApiError::BadRequest { title: "Unexpected value for `limit`.", .. }), "{err:?}");
    }
}

#[test]
fn summarise_pairs_each_sighting_with_its_activity() {
    let seen = at(5_000, 123);
    let sightings = vec![sighting("mdc1", "a", seen), sighting("mdc1", "b", seen), sighting("mdc2", "a", seen)];
    let activities = vec![
        worker_activity(
            "mdc1",
            "a",
            Outcomes::from_counts(1, 1, 0),
            Some(run("T1", RunState::Running, Some(4_000), None)),
        ),
        worker_activity("mdc2", "a", Outcomes::from_counts(0, 0, 1), None),
        // No sighting: left out.
        worker_activity("mdc9", "z", Outcomes::default(), Some(run("T5", RunState::Running, Some(4_000), None))),
    ];
    let workers = summarise(sightings, &activities);
    assert_eq!(workers.len(), 3);
    let a = &workers[0];
    assert_eq!((a.worker_group.as_str(), a.worker_id.as_str()), ("mdc1", "a"));
    assert_eq!(a.last_seen, "1970-01-01T01:23:20.000123Z");
    assert_eq!(
        a.current_task,
        Some(CurrentTask { task_id: "T1".into(), run_id: 0, started: "1970-01-01T01:06:40.000000Z".into() })
    );
    assert_eq!((a.outcomes.completed, a.outcomes.failed, a.outcomes.exception), (1, 1, 0));
    assert_eq!(a.outcomes.success_rate, Some(0.5));
    let b = &workers[1];
    assert_eq!((b.current_task.clone(), b.outcomes.clone()), (None, Outcomes::default()));
    let c = &workers[2];
    assert_eq!((c.worker_group.as_str(), c.outcomes.exception, c.outcomes.success_rate), ("mdc2", 1, Some(0.0)));
}

/// The detail's half of the rule that ties it to the list: the window's
/// runs and core's decisions over them.
#[test]
fn the_detail_reads_the_windows_runs() {
    let since = at(1_000, 0);
    assert!(in_window(&run("T", RunState::Running, Some(10), None), since));
    assert!(in_window(&run("T", RunState::Completed, Some(10), Some(1_000)), since));
    assert!(!in_window(&run("T", RunState::Completed, Some(10), Some(999)), since));
    // A newer run resolved before the window does not hide a running one.
    let runs = [
        run("T1", RunState::Completed, Some(900), Some(950)),
        run("T2", RunState::Running, Some(800), None),
        run("T3", RunState::Failed, Some(700), Some(1_200)),
    ];
    let windowed: Vec<&RunRecord> = runs.iter().filter(|run| in_window(run, since)).collect();
    let (current, outcomes) = activity(&windowed, since);
    assert_eq!(current.map(|task| task.task_id), Some("T2".to_owned()));
    assert_eq!(outcomes, Outcomes::from_counts(0, 1, 0));
}

/// The in-memory half of `GET /api/v1/workers` at fleet scale: 20,000
/// workers, each with its activity. Run with `--release --nocapture` for
/// the figure; the bound only catches a quadratic slip.
#[test]
fn summarise_20000_workers() {
    let workers = 20_000;
    let sightings: Vec<Sighting> =
        (0..workers).map(|n| sighting(&format!("mdc{}", n % 3), &format!("host-{n:05}"), at(9_000, 0))).collect();
    let activities: Vec<WorkerActivity> = sightings
        .iter()
        .map(|s| {
            let current = run(&format!("T-{}", s.worker_id), RunState::Running, Some(7_000), None);
            worker_activity(&s.worker_group, &s.worker_id, Outcomes::from_counts(17, 2, 0), Some(current))
        })
        .collect();
    let started = Instant::now();
    let summary = summarise(sightings, &activities);
    let paired = started.elapsed();
    let bytes = serde_json::to_vec(&summary).unwrap();
    let total = started.elapsed();
    println!(
        "summarise {workers} workers: paired in {:.1} ms, serialised ({} bytes) by {:.1} ms",
        paired.as_secs_f64() * 1000.0,
        bytes.len(),
        total.as_secs_f64() * 1000.0
    );
    assert_eq!(summary.len(), workers);
    assert!(summary.iter().all(|w| w.current_task.is_some() && w.outcomes.completed == 17));
    assert!(total.as_secs() < 10, "{total:?}");
}
