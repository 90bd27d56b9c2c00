use chrono::{DateTime, Utc};
use serde_json::Value;

use super::*;

fn at(text: &str) -> Timestamp {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

fn scopes(held: &[&str]) -> Vec<String> {
    held.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn task_names_round_trip_and_unknown_ones_list_the_known() {
    for task in TaskName::ALL {
        assert_eq!(TaskName::parse(task.as_str()), Ok(task));
    }
    // Roller's TASK_NAMES listed these without any command behind them.
    for name in ["status", "reimage", "loan", "return_loan", "file_bugzilla_bug", "Ping", " ping", ""] {
        let err = TaskName::parse(name).unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with(&format!("unknown task {name:?}; known tasks: ping, ssh_reboot, ")), "{text}");
        assert!(text.ends_with("quarantine, unquarantine, run_puppet"), "{text}");
    }
}

#[test]
fn only_read_only_tasks_go_without_confirmation() {
    let read_only = [TaskName::Ping, TaskName::IpmiStatus, TaskName::IpmiList];
    for task in TaskName::ALL {
        assert_eq!(task.changes_machine(), !read_only.contains(&task), "{task}");
    }
}

#[test]
fn what_each_task_needs() {
    let cases = [
        (TaskName::Ping, Need::Nothing),
        (TaskName::SshReboot, Need::Ssh),
        (TaskName::RunPuppet, Need::Ssh),
        (TaskName::IpmiList, Need::Bmc),
        (TaskName::IpmiStatus, Need::Bmc),
        (TaskName::IpmiOn, Need::Bmc),
        (TaskName::IpmiOff, Need::Bmc),
        (TaskName::IpmiCycle, Need::Bmc),
        (TaskName::IpmiReset, Need::Bmc),
        (TaskName::SnmpReboot, Need::Pdu),
        (TaskName::SnmpRebootdelay, Need::Pdu),
        (TaskName::Reboot, Need::AnyRebootMethod),
        (TaskName::Quarantine, Need::Nothing),
        (TaskName::Unquarantine, Need::Nothing),
    ];
    assert_eq!(cases.len(), TaskName::ALL.len());
    for (task, need) in cases {
        assert_eq!(task.needs(), need, "{task}");
    }
}

#[test]
fn ipmi_tasks_map_to_commands_with_roller_default_words() {
    let cases = [
        (TaskName::IpmiList, "ipmi_list", "sel list last 15"),
        (TaskName::IpmiStatus, "ipmi_status", "chassis power status"),
        (TaskName::IpmiOn, "ipmi_on", "chassis power on"),
        (TaskName::IpmiOff, "ipmi_off", "chassis power off"),
        (TaskName::IpmiCycle, "ipmi_cycle", "chassis power cycle"),
        (TaskName::IpmiReset, "ipmi_reset", "chassis power reset"),
    ];
    for (task, key, words) in cases {
        let command = task.ipmi().unwrap();
        assert_eq!(command.key(), key);
        assert_eq!(command.key(), task.as_str());
        assert_eq!(command.default_words().join(" "), words);
    }
    assert_eq!(TaskName::Reboot.ipmi(), None);
    assert_eq!(TaskName::Ping.ipmi(), None);
}

#[test]
fn job_state_transitions() {
    use JobState::*;
    let allowed = [
        (Queued, Running),
        (Queued, Cancelled),
        (Running, Succeeded),
        (Running, Failed),
        (Running, Cancelled),
        (Running, Queued),
    ];
    for from in JobState::ALL {
        for to in JobState::ALL {
            let ok = allowed.contains(&(from, to));
            assert_eq!(can_move(from, to), ok, "{from:?} -> {to:?}");
            assert_eq!(check_move(from, to).is_ok(), ok);
        }
    }
    for state in JobState::ALL {
        assert_eq!(JobState::parse(state.as_str()), Some(state));
        // Nothing leaves a terminal state.
        if state.is_terminal() {
            assert!(JobState::ALL.iter().all(|to| !can_move(state, *to)), "{state:?}");
        }
    }
    assert_eq!(
        [Queued, Running, Succeeded, Failed, Cancelled].map(JobState::is_terminal),
        [false, false, true, true, true]
    );
    assert_eq!(JobState::parse("canceled"), None);
    assert_eq!(check_move(Succeeded, Running).unwrap_err().to_string(), "a succeeded job cannot become running");
}

#[test]
fn an_expired_lease_requeues_while_attempts_remain() {
    let now = at("2026-11-02T10:00:00Z");
    let later = Some(at("2026-11-02T10:00:01Z"));
    let past = Some(at("2026-11-02T09:59:59Z"));
    let fail = LeaseDecision::Fail { reason: "lease expired".to_owned() };
    let cases = [
        (JobState::Running, later, 1, 3, LeaseDecision::Keep),
        (JobState::Running, past, 1, 3, LeaseDecision::Requeue),
        (JobState::Running, past, 2, 3, LeaseDecision::Requeue),
        (JobState::Running, past, 3, 3, fail.clone()),
        (JobState::Running, Some(now), 1, 1, fail.clone()),
        // A running job with no lease at all is recovered, not kept forever.
        (JobState::Running, None, 1, 3, LeaseDecision::Requeue),
        (JobState::Running, None, 3, 3, fail),
        (JobState::Queued, past, 1, 3, LeaseDecision::Keep),
        (JobState::Succeeded, past, 3, 3, LeaseDecision::Keep),
        (JobState::Cancelled, None, 0, 3, LeaseDecision::Keep),
    ];
    for (state, lease, attempts, max, expected) in cases {
        assert_eq!(lease_decision(state, lease, attempts, max, now), expected, "{state:?} {lease:?} {attempts}/{max}");
    }
}

#[test]
fn each_task_needs_its_own_scope() {
    assert_eq!(required_scope(DEFAULT_SCOPE_PREFIX, TaskName::Reboot), "project:releng:roller:reboot");
    assert_eq!(required_scope("project:fleetroll:jobs:", TaskName::Ping), "project:fleetroll:jobs:ping");
    let cases: &[(&[&str], TaskName, bool)] = &[
        (&["project:releng:roller:reboot"], TaskName::Reboot, true),
        // Roller let any listed task's scope through: holding `ping` allowed a reboot.
        (&["project:releng:roller:ping"], TaskName::Reboot, false),
        (&["project:releng:roller:ipmi_status"], TaskName::IpmiReset, false),
        (&["project:releng:roller:ipmi_*"], TaskName::IpmiReset, true),
        (&["project:releng:roller:ipmi_*"], TaskName::SnmpReboot, false),
        (&["project:releng:roller:*"], TaskName::RunPuppet, true),
        (&["project:releng:*"], TaskName::Quarantine, true),
        (&["*"], TaskName::Unquarantine, true),
        (&["project:releng:roller"], TaskName::Ping, false),
        // A prefix of the task name is not the task.
        (&["project:releng:roller:snmp_reboot"], TaskName::SnmpRebootdelay, false),
        (&["project:relops-hardware-controller:ping"], TaskName::Ping, false),
        (&[], TaskName::Ping, false),
    ];
    for (held, task, ok) in cases {
        let held = scopes(held);
        assert_eq!(may_run(&held, DEFAULT_SCOPE_PREFIX, *task), *ok, "{held:?} {task}");
        match check_scope(&held, DEFAULT_SCOPE_PREFIX, *task) {
            Ok(()) => assert!(ok),
            Err(err) => {
                assert!(!ok);
                assert_eq!(err.to_string(), format!("scope project:releng:roller:{task} is required for this task"));
            }
        }
    }
}

fn summary(state: JobState, reason: Option<&str>, attempts: u32) -> JobSummary {
    JobSummary {
        id: "3b0c2a4e-5f7d-4c1e-9a8b-1d2e3f4a5b6c".to_owned(),
        task: TaskName::Reboot,
        host: "t-linux64-ms-001.test.releng.mdc1.mozilla.com".to_owned(),
        state,
        requested_by: "mozilla-auth0/ad|Mozilla-LDAP|ops".to_owned(),
        reason: reason.map(str::to_owned),
        attempts,
        log: vec!["2026-11-02T10:00:00.000000Z ssh_reboot skipped the host does not answer ping".to_owned()],
        started: Some(at("2026-11-02T10:00:00Z")),
        finished: Some(at("2026-11-02T10:04:00Z")),
    }
}

#[test]
fn result_text_says_state_reason_and_retries() {
    let host = "t-linux64-ms-001.test.releng.mdc1.mozilla.com";
    let cases = [
        (JobState::Succeeded, Some("ipmi_reset"), 1, format!("reboot {host}: succeeded (ipmi_reset)")),
        (JobState::Failed, Some("lease expired"), 3, format!("reboot {host}: failed (lease expired) after 3 attempts")),
        (JobState::Cancelled, None, 0, format!("reboot {host}: cancelled")),
        (JobState::Queued, Some(""), 0, format!("reboot {host}: queued")),
        // Tool output with newlines stays one line.
        (
            JobState::Failed,
            Some("Error: Unable\nto establish\r\n"),
            1,
            format!("reboot {host}: failed (Error: Unable | to establish)"),
        ),
    ];
    for (state, reason, attempts, text) in cases {
        assert_eq!(result_text(&summary(state, reason, attempts)), text);
    }
}

#[test]
fn notification_payload_is_the_job_in_json() {
    let job = summary(JobState::Failed, Some("every reboot method failed: ipmi_reset not_up"), 2);
    let value = serde_json::to_value(notification(&job)).unwrap();
    assert_eq!(
        value,
        serde_json::json!({
            "job_id": "3b0c2a4e-5f7d-4c1e-9a8b-1d2e3f4a5b6c",
            "task": "reboot",
            "host": "t-linux64-ms-001.test.releng.mdc1.mozilla.com",
            "state": "failed",
            "requested_by": "mozilla-auth0/ad|Mozilla-LDAP|ops",
            "reason": "every reboot method failed: ipmi_reset not_up",
            "attempts": 2,
            "log": ["2026-11-02T10:00:00.000000Z ssh_reboot skipped the host does not answer ping"],
            "started": "2026-11-02T10:00:00.000000Z",
            "finished": "2026-11-02T10:04:00.000000Z",
            "text": "reboot t-linux64-ms-001.test.releng.mdc1.mozilla.com: failed (every reboot method failed: ipmi_reset not_up) after 2 attempts",
        })
    );
    let mut queued = summary(JobState::Cancelled, None, 0);
    queued.started = None;
    queued.finished = None;
    let value = serde_json::to_value(notification(&queued)).unwrap();
    assert_eq!((&value["started"], &value["finished"], &value["reason"]), (&Value::Null, &Value::Null, &Value::Null));
}

#[test]
fn a_lease_is_renewed_once_a_third_has_passed() {
    let lease = std::time::Duration::from_secs(300);
    let until = at("2026-11-02T10:05:00Z");
    let cases = [
        ("2026-11-02T10:00:00Z", false),
        ("2026-11-02T10:01:39Z", false),
        ("2026-11-02T10:01:40Z", true),
        ("2026-11-02T10:04:59Z", true),
        ("2026-11-02T10:06:00Z", true),
    ];
    for (now, due) in cases {
        assert_eq!(lease_renewal_due(until, lease, at(now)), due, "{now}");
    }
}
