//! The job worker end to end on SQLite and on PostgreSQL: jobs claimed,
//! run with the real `ping` and finished; a job left running by a worker
//! that stopped is recovered when its lease lapses and run again; a
//! cancelled job is stopped; a job's hard time limit stops it; the webhook
//! gets the finished job; quarantine jobs reach a local Taskcluster
//! stand-in and are audited.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use fleetroll_core::audit::AuditEntry;
use fleetroll_core::jobs::settings::JobsConfig;
use fleetroll_core::jobs::{JobState, TaskName};
use fleetroll_core::records::TcWorker;
use fleetroll_core::time::Timestamp;
use fleetroll_jobs::{DEFAULT_QUARANTINE_FOR, JobsRuntime, Timeouts, Tools, WorkerConfig, run_worker};
use fleetroll_store::{CancelOutcome, Job, NewJob, Store};
use fleetroll_taskcluster::{RetryPolicy, TcClient};
use fleetroll_testdb::{Case, TestDb, cases};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

#[path = "../../taskcluster/tests/common/mod.rs"]
mod tc_fake;

fn main() {
    fleetroll_testdb::run_suite("job worker", all_cases());
}

fn all_cases() -> Vec<(&'static str, Case)> {
    cases![
        ping_jobs_run_to_success_with_their_log,
        a_job_left_running_by_a_stopped_worker_is_recovered_and_run_again,
        a_cancelled_job_is_stopped,
        the_time_limits_stop_a_job,
        the_webhook_gets_the_finished_job,
        quarantine_jobs_put_to_taskcluster_and_are_audited,
        a_quarantine_job_without_a_stored_worker_or_a_client_fails_saying_why,
    ]
    .into()
}

/// The machine every job here runs on: loopback, which answers ping.
const HOST: &str = "127.0.0.1";

fn runtime(tools: Tools, webhook: Option<String>) -> Arc<JobsRuntime> {
    Arc::new(jobs_runtime(tools, webhook))
}

/// A runtime whose quarantine jobs go to the Taskcluster at `root_url`.
fn tc_runtime(root_url: Option<&str>) -> Arc<JobsRuntime> {
    let retry = RetryPolicy { attempts: 2, base_delay: Duration::from_millis(10), timeout: Duration::from_secs(5) };
    let client = root_url.map(|url| TcClient::new(url, None, retry).expect("a Taskcluster client"));
    Arc::new(JobsRuntime { taskcluster: client, ..jobs_runtime(quick_ping(), None) })
}

fn jobs_runtime(tools: Tools, webhook: Option<String>) -> JobsRuntime {
    let config: JobsConfig = toml::from_str(
        r#"
        lease_secs = 2
        [[machines]]
        host = "loop-1"
        fqdn = "127.0.0.1"
        "#,
    )
    .expect("[jobs]");
    JobsRuntime {
        inventory: config.inventory().expect("inventory"),
        settings: config.settings().expect("settings"),
        tools,
        webhook,
        taskcluster: None,
        quarantine_for: DEFAULT_QUARANTINE_FOR,
    }
}

fn quick_ping() -> Tools {
    Tools { ping_count: 1, ..Tools::default() }
}

/// A `ping` that never answers: it sleeps until killed.
fn hanging_ping(dir: &Path) -> Tools {
    let path = dir.join("ping");
    std::fs::write(&path, "#!/bin/sh\nexec sleep 120\n").expect("write the script");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    Tools {
        ping: path.display().to_string(),
        timeouts: Timeouts { ping: Duration::from_secs(60), ..Timeouts::default() },
        ..Tools::default()
    }
}

/// A worker running in a task until stopped.
struct Running {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Running {
    fn start(store: &Store, runtime: Arc<JobsRuntime>, name: &str) -> Running {
        let (stop, stopped) = oneshot::channel::<()>();
        let mut config = WorkerConfig::new(name);
        config.poll = Duration::from_millis(50);
        config.recover_every = Duration::from_millis(200);
        let task = tokio::spawn(run_worker(store.clone(), runtime, config, async {
            let _ = stopped.await;
        }));
        Running { stop, task }
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.expect("the worker task");
    }
}

async fn enqueue(store: &Store, task: TaskName) -> Job {
    store.enqueue(&NewJob::new(task, HOST, "client:test", "a test"), Utc::now()).await.expect("enqueue")
}

/// Waits until job `id` satisfies `done` (or fails after 30 s).
async fn wait_for(store: &Store, id: i64, what: &str, done: impl Fn(&Job) -> bool) -> Job {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let job = store.job(id).await.expect("read the job").expect("the job exists");
        if done(&job) {
            return job;
        }
        let log = store.job_log(id).await.unwrap_or_default();
        let lines: Vec<&str> = log.iter().map(|l| l.line.as_str()).collect();
        assert!(tokio::time::Instant::now() < deadline, "job {id} never {what}: {job:?}\nlog: {lines:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn log_lines(store: &Store, id: i64) -> Vec<String> {
    store.job_log(id).await.expect("log").into_iter().map(|line| line.line).collect()
}

async fn ping_jobs_run_to_success_with_their_log(db: &TestDb) {
    let store = db.open(10).await;
    let jobs = [enqueue(&store, TaskName::Ping).await, enqueue(&store, TaskName::Ping).await];
    let runtime = runtime(quick_ping(), None);
    let workers = [Running::start(&store, runtime.clone(), "w1"), Running::start(&store, runtime, "w2")];
    for job in &jobs {
        let done = wait_for(&store, job.id, "finished", |j| j.state.is_terminal()).await;
        assert_eq!(done.state, JobState::Succeeded, "{done:?}");
        assert!(done.result.as_deref().unwrap_or("").contains("1 received"), "{done:?}");
        let log = log_lines(&store, job.id).await;
        assert!(log[0].ends_with("attempt 1 of 3 on 127.0.0.1"), "{log:?}");
        assert!(log.iter().any(|line| line.contains(" ping ok ")), "{log:?}");
    }
    for worker in workers {
        worker.stop().await;
    }
    store.close().await;
}

async fn a_job_left_running_by_a_stopped_worker_is_recovered_and_run_again(db: &TestDb) {
    let store = db.open(10).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let job = enqueue(&store, TaskName::Ping).await;
    let first = Running::start(&store, runtime(hanging_ping(dir.path()), None), "first");
    wait_for(&store, job.id, "started", |j| j.state == JobState::Running).await;
    // The worker stops (a restart, or a crash) with the job in hand.
    first.stop().await;
    let left = store.job(job.id).await.unwrap().unwrap();
    assert_eq!((left.state, left.lease_owner.as_deref()), (JobState::Running, Some("first")));
    let second = Running::start(&store, runtime(quick_ping(), None), "second");
    let done = wait_for(&store, job.id, "finished", |j| j.state.is_terminal()).await;
    second.stop().await;
    assert_eq!((done.state, done.attempts), (JobState::Succeeded, 2), "{done:?}");
    let log = log_lines(&store, job.id).await;
    assert!(log.iter().any(|line| line.contains("expired") && line.contains("queued again")), "{log:?}");
    assert!(log.iter().any(|line| line.ends_with("attempt 2 of 3 on 127.0.0.1")), "{log:?}");
    store.close().await;
}

async fn a_cancelled_job_is_stopped(db: &TestDb) {
    let store = db.open(10).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let job = enqueue(&store, TaskName::Ping).await;
    let worker = Running::start(&store, runtime(hanging_ping(dir.path()), None), "w1");
    wait_for(&store, job.id, "started", |j| j.state == JobState::Running).await;
    let outcome = store.cancel(job.id, Utc::now()).await.expect("cancel");
    assert!(matches!(outcome, CancelOutcome::Stopping(_)), "{outcome:?}");
    let stopped = |lines: &[String]| lines.iter().any(|line| line.contains("stopped: the job was cancelled"));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !stopped(&log_lines(&store, job.id).await) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the worker never stopped: {:?}",
            log_lines(&store, job.id).await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The worker goes on with the next job.
    let next = enqueue(&store, TaskName::Ping).await;
    wait_for(&store, next.id, "started", |j| j.state != JobState::Queued).await;
    worker.stop().await;
    assert_eq!(store.job(job.id).await.unwrap().unwrap().state, JobState::Cancelled);
    store.close().await;
}

async fn the_time_limits_stop_a_job(db: &TestDb) {
    let store = db.open(10).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let worker = Running::start(&store, runtime(hanging_ping(dir.path()), None), "w1");
    let limits = [(Some(1), Some(60), "soft time limit of 1 s"), (None, Some(1), "hard time limit of 1 s")];
    for (soft, hard, said) in limits {
        let mut new = NewJob::new(TaskName::Ping, HOST, "client:test", "a test");
        new.soft_limit = soft.map(Duration::from_secs);
        new.hard_limit = hard.map(Duration::from_secs);
        let job = store.enqueue(&new, Utc::now()).await.expect("enqueue");
        let done = wait_for(&store, job.id, "finished", |j| j.state.is_terminal()).await;
        assert_eq!(done.state, JobState::Failed, "{done:?}");
        assert!(done.result.as_deref().unwrap_or("").contains(said), "{said}: {done:?}");
    }
    worker.stop().await;
    store.close().await;
}

async fn the_webhook_gets_the_finished_job(db: &TestDb) {
    let store = db.open(10).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let received = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.expect("the webhook is called");
        let mut request = Vec::new();
        let mut buffer = [0u8; 4096];
        loop {
            let n = socket.read(&mut buffer).await.expect("read");
            request.extend_from_slice(&buffer[..n]);
            let text = String::from_utf8_lossy(&request);
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length = head
                    .lines()
                    .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned()))
                    .and_then(|v| v.parse::<usize>().ok())
                    .unwrap_or(0);
                if body.len() >= length || n == 0 {
                    let _ = socket.write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n").await;
                    return (head.to_owned(), body.to_owned());
                }
            }
        }
    });
    let job = enqueue(&store, TaskName::Ping).await;
    let worker = Running::start(&store, runtime(quick_ping(), Some(url)), "w1");
    wait_for(&store, job.id, "finished", |j| j.state.is_terminal()).await;
    let (head, body) = tokio::time::timeout(Duration::from_secs(15), received).await.expect("in time").expect("task");
    worker.stop().await;
    assert!(head.starts_with("POST /hook "), "{head}");
    let body: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(body["job_id"], job.id.to_string());
    assert_eq!((body["task"].as_str(), body["state"].as_str()), (Some("ping"), Some("succeeded")));
    assert_eq!(body["requested_by"], "client:test");
    store.close().await;
}

/// What `gather-tc` stores for the test machine.
fn stored_worker() -> TcWorker {
    TcWorker {
        worker_group: Some("mdc1".to_owned()),
        ..TcWorker::new(HOST, "loop-1", "releng-hardware", "t-linux", Utc::now())
    }
}

const WORKER_PATH: &str = "releng-hardware/t-linux/mdc1/loop-1";

async fn run_to_end(store: &Store, runtime: Arc<JobsRuntime>, task: TaskName, reason: &str) -> Job {
    let job = store.enqueue(&NewJob::new(task, HOST, "client:ops", reason), Utc::now()).await.expect("enqueue");
    let worker = Running::start(store, runtime, "w1");
    let done = wait_for(store, job.id, "finished", |j| j.state.is_terminal()).await;
    worker.stop().await;
    done
}

async fn audit_entries(store: &Store) -> Vec<AuditEntry> {
    store.audit_records(0, 100).await.expect("audit").into_iter().map(|record| record.entry).collect()
}

fn parse_time(text: &Value) -> Timestamp {
    let text = text.as_str().unwrap_or_else(|| panic!("a time, not {text}"));
    chrono::DateTime::parse_from_rfc3339(text).expect("RFC 3339").to_utc()
}

/// Runs `task` and checks the PUT it made (its `quarantineUntil` within the
/// run, shifted by `shift`), the job's result and log, and its audit entry.
async fn quarantine_round(store: &Store, fake: &tc_fake::Fake, base: &str, task: TaskName, shift: chrono::Duration) {
    let before = Utc::now();
    let done = run_to_end(store, tc_runtime(Some(base)), task, "disk errors, see the ticket").await;
    let after = Utc::now();
    assert_eq!(done.state, JobState::Succeeded, "{done:?}");
    assert!(done.result.as_deref().unwrap_or("").starts_with(WORKER_PATH), "{done:?}");
    let (path, body) = fake.puts.lock().expect("lock").pop().expect("a PUT to Taskcluster");
    assert_eq!(path, "/api/queue/v1/provisioners/releng-hardware/worker-types/t-linux/workers/mdc1/loop-1");
    assert_eq!(body["quarantineInfo"], "disk errors, see the ticket");
    let until = parse_time(&body["quarantineUntil"]);
    let slack = chrono::Duration::seconds(1);
    assert!(before + shift - slack <= until && until <= after + shift + slack, "{until} for {task}");
    let log = log_lines(store, done.id).await;
    assert!(log.iter().any(|line| line.ends_with(&format!(" {task} ok {WORKER_PATH}"))), "{log:?}");
    let audit = audit_entries(store).await;
    let entry = audit.last().expect("an audit entry");
    let action = if task == TaskName::Unquarantine { "host.unquarantine" } else { "host.quarantine" };
    assert_eq!((entry.action.as_str(), entry.actor.as_str()), (action, "client:ops"), "{entry:?}");
    assert_eq!(entry.hosts, vec![HOST.to_owned()]);
    assert_eq!(entry.parameters["reason"], "disk errors, see the ticket");
    assert_eq!(entry.parameters["worker"], WORKER_PATH);
    assert_eq!(parse_time(&entry.parameters["until"]), parse_time(&body["quarantineUntil"]));
    assert_eq!(entry.result, serde_json::json!({"ok": true, "error": null}));
}

async fn quarantine_jobs_put_to_taskcluster_and_are_audited(db: &TestDb) {
    let store = db.open(10).await;
    let (base, fake) = tc_fake::serve(tc_fake::Fake::default()).await;
    store.put(&[stored_worker()]).await.expect("store the worker");
    quarantine_round(&store, &fake, &base, TaskName::Quarantine, chrono::Duration::hours(168)).await;
    quarantine_round(&store, &fake, &base, TaskName::Unquarantine, chrono::Duration::zero()).await;
    assert_eq!(audit_entries(&store).await.len(), 2);
    store.close().await;
}

async fn a_quarantine_job_without_a_stored_worker_or_a_client_fails_saying_why(db: &TestDb) {
    let store = db.open(10).await;
    let (base, fake) = tc_fake::serve(tc_fake::Fake::default()).await;
    let unknown = run_to_end(&store, tc_runtime(Some(&base)), TaskName::Quarantine, "a test").await;
    assert_eq!(unknown.state, JobState::Failed, "{unknown:?}");
    assert!(unknown.result.as_deref().unwrap_or("").contains("no Taskcluster worker stored"), "{unknown:?}");
    assert!(fake.puts.lock().expect("lock").is_empty(), "nothing to quarantine");
    let log = log_lines(&store, unknown.id).await;
    assert!(log.iter().any(|line| line.contains(" quarantine failed no Taskcluster worker stored")), "{log:?}");
    let audit = audit_entries(&store).await;
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!((audit[0].action.as_str(), &audit[0].result["ok"]), ("host.quarantine", &Value::Bool(false)));
    store.put(&[stored_worker()]).await.expect("store the worker");
    let no_client = run_to_end(&store, tc_runtime(None), TaskName::Unquarantine, "a test").await;
    assert_eq!(no_client.state, JobState::Failed, "{no_client:?}");
    assert!(no_client.result.as_deref().unwrap_or("").contains("no Taskcluster client"), "{no_client:?}");
    assert_eq!(audit_entries(&store).await.len(), 1, "nothing reached Taskcluster, so nothing is audited");
    store.close().await;
}
