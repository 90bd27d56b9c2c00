//! Hardware jobs over HTTP, end to end on SQLite and on PostgreSQL: asking
//! in roller's two forms, the per-task scope (allowed, another task's, no
//! token), the refusals (unknown task, unmanaged host, missing BMC), and a
//! job's state, the list and cancelling.

mod harness;

use chrono::Utc;
use fleetroll_core::jobs::settings::JobsConfig;
use fleetroll_core::scopes::{format_token, token_hash};
use fleetroll_server::{JobsContext, ServerOptions};
use fleetroll_store::NewClient;
use fleetroll_testdb::{Case, TestDb, cases};
use harness::Api;
use serde_json::Value;

fn main() {
    fleetroll_testdb::run_suite("server jobs", all_cases());
}

fn all_cases() -> Vec<(&'static str, Case)> {
    cases![
        a_job_is_queued_with_the_scope_of_its_task,
        the_readme_form_answers_as_roller_did,
        another_tasks_scope_is_refused_and_queues_nothing,
        no_or_bad_token_is_401,
        a_star_scope_allows_every_task,
        refusals_name_what_is_wrong,
        jobs_are_listed_newest_first_and_filtered,
        cancelling_follows_the_jobs_state_and_scope,
        a_job_asked_for_behind_a_lock_is_answered_503_and_still_queued,
    ]
    .into()
}

const INVENTORY: &str = r#"
    [[bmcs]]
    name = "chassis-1"
    address = "127.0.0.1"
    user = "admin"
    password = "secret"

    [[machines]]
    host = "t-linux64-ms-001"
    fqdn = "t-linux64-ms-001.test.releng.mdc1.mozilla.com"
    worker_groups = ["mdc1"]
    bmc = { parent = "chassis-1" }
    ssh = { user = "roller", key_file = "/nonexistent/key" }

    [[machines]]
    host = "t-bare-001"
"#;

/// A server whose inventory has a managed host with a BMC and SSH, and one
/// with nothing.
async fn start(db: &TestDb) -> Api {
    start_with(db, harness::test_options()).await
}

async fn start_with(db: &TestDb, options: ServerOptions) -> Api {
    let api = Api::start_with(db, options).await;
    let config: JobsConfig = toml::from_str(INVENTORY).expect("inventory");
    let _ = api.state.clone().with_jobs(JobsContext::from_config(&config).expect("valid [jobs]"));
    api
}

/// A client holding `scopes`; returns its token.
async fn client(api: &Api, name: &str, scopes: &[&str]) -> String {
    let random: [u8; 32] = std::array::from_fn(|_| fastrand::u8(..));
    let token = format_token(&random);
    let new = NewClient {
        name: name.to_owned(),
        token_hash: token_hash(&token),
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        description: String::new(),
    };
    api.store.create_client(&new, Utc::now()).await.expect("create client");
    token
}

async fn post(api: &Api, path: &str, token: Option<&str>) -> harness::Reply {
    api.call("POST", path, token, None).await
}

async fn a_job_is_queued_with_the_scope_of_its_task(db: &TestDb) {
    let api = start(db).await;
    let token = client(&api, "relops", &["project:releng:roller:ping"]).await;
    let path = "/api/v1/workers/T-Linux64-MS-001/jobs?task_name=ping&worker_group=mdc1&provisioner_id=releng-hardware\
                &worker_type=gecko-t-linux-talos&reason=checking%20it";
    let created = post(&api, path, Some(&token)).await.expect(201).json();
    let id = created["job_id"].as_i64().expect("a job id");
    assert_eq!(created["task_id"], id.to_string());
    assert_eq!(created["task_name"], "ping");
    assert_eq!(created["worker_id"], "t-linux64-ms-001", "lower-cased, as roller did");
    assert_eq!(created["worker_group"], "mdc1");
    assert_eq!(created["provisioner_id"], "releng-hardware");
    assert_eq!(created["worker_type"], "gecko-t-linux-talos");
    assert_eq!(created["client_id"], "relops");
    let host = Some("t-linux64-ms-001.test.releng.mdc1.mozilla.com");
    assert_eq!((created["host"].as_str(), created["state"].as_str()), (host, Some("queued")));

    let job = api.get(&format!("/api/v1/jobs/{id}")).await.expect(200).json();
    assert_eq!(job["state"], "queued");
    assert_eq!(job["task"], "ping");
    assert_eq!(job["reason"], "checking it");
    assert_eq!(job["requested_by"], "client:relops");
    assert_eq!((job["attempts"].as_u64(), job["log"].as_array().map(Vec::len)), (Some(0), Some(0)));
    api.stop().await;
}

async fn the_readme_form_answers_as_roller_did(db: &TestDb) {
    let api = start(db).await;
    let token = client(&api, "relops", &["project:releng:roller:ipmi_status"]).await;
    let created = post(&api, "/api/v1/jobs?tc_worker_id=t-linux64-ms-001&task_name=ipmi_status", Some(&token)).await;
    let body = created.expect(201).json();
    let keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
    for key in ["task_name", "tc_worker_id", "task_id"] {
        assert!(keys.contains(&key), "{key} in {body}");
    }
    assert!(!keys.contains(&"worker_id"), "{body}");
    assert_eq!(body["tc_worker_id"], "t-linux64-ms-001");
    api.stop().await;
}

async fn another_tasks_scope_is_refused_and_queues_nothing(db: &TestDb) {
    let api = start(db).await;
    // Roller let any task's scope through; here only the task's own counts.
    let token = client(&api, "pinger", &["project:releng:roller:ping"]).await;
    let reply = post(&api, "/api/v1/workers/t-linux64-ms-001/jobs?task_name=ipmi_reset", Some(&token)).await;
    let (title, detail) = reply.problem(403);
    assert_eq!(title, "Missing scope");
    assert!(detail.contains("project:releng:roller:ipmi_reset"), "{detail}");
    let jobs = api.get("/api/v1/jobs").await.expect(200).json();
    assert_eq!(jobs["jobs"], Value::Array(vec![]));
    api.stop().await;
}

async fn no_or_bad_token_is_401(db: &TestDb) {
    let api = start(db).await;
    let path = "/api/v1/workers/t-linux64-ms-001/jobs?task_name=ping";
    post(&api, path, None).await.problem(401);
    post(&api, path, Some("not-a-token")).await.problem(401);
    let (revoked, admin) = (api.tokens.revoked.clone(), api.tokens.admin.clone());
    post(&api, path, Some(&revoked)).await.problem(401);
    // A tree status admin holds no job scope.
    post(&api, path, Some(&admin)).await.problem(403);
    api.stop().await;
}

async fn a_star_scope_allows_every_task(db: &TestDb) {
    let api = start(db).await;
    let token = client(&api, "relops", &["project:releng:roller:*"]).await;
    for task in ["ping", "ssh_reboot", "ipmi_reset", "reboot", "quarantine"] {
        let path = format!("/api/v1/workers/t-linux64-ms-001/jobs?task_name={task}");
        post(&api, &path, Some(&token)).await.expect(201);
    }
    api.stop().await;
}

async fn refusals_name_what_is_wrong(db: &TestDb) {
    let api = start(db).await;
    let token = client(&api, "relops", &["project:releng:roller:*"]).await;
    let cases = [
        ("/api/v1/workers/t-linux64-ms-001/jobs?task_name=reimage", 400, "unknown task \"reimage\""),
        ("/api/v1/workers/t-linux64-ms-001/jobs", 400, "task_name"),
        ("/api/v1/workers/t-linux64-ms-001/jobs?task_name=ping&colour=red", 400, "colour"),
        ("/api/v1/workers/t-linux64-ms-001/jobs?task_name=ping&reason=a%00b", 400, "NUL"),
        ("/api/v1/workers/t-unknown-001/jobs?task_name=ping", 404, "not a managed host"),
        ("/api/v1/workers/t-linux64-ms-001/jobs?task_name=ping&worker_group=mdc2", 404, "not a managed host"),
        ("/api/v1/workers/t-bare-001/jobs?task_name=ipmi_reset", 422, "no BMC"),
        ("/api/v1/workers/t-bare-001/jobs?task_name=snmp_reboot", 422, "no PDU outlet"),
        ("/api/v1/workers/t-bare-001/jobs?task_name=reboot", 422, "no reboot method applies"),
        ("/api/v1/jobs?tc_worker_id=t-bare-001&task_name=ssh_reboot", 422, "no SSH"),
    ];
    for (path, status, fragment) in cases {
        let (_title, detail) = post(&api, path, Some(&token)).await.problem(status);
        assert!(detail.contains(fragment), "{path}: {detail}");
    }
    let (title, _) = post(&api, "/api/v1/workers/t-unknown-001/jobs?task_name=ping", Some(&token)).await.problem(404);
    assert_eq!(title, "Not a managed host.", "roller's words");
    let jobs = api.get("/api/v1/jobs").await.expect(200).json();
    assert_eq!(jobs["jobs"], Value::Array(vec![]), "no refusal queued a job");
    api.stop().await;
}

async fn jobs_are_listed_newest_first_and_filtered(db: &TestDb) {
    let api = start(db).await;
    let token = client(&api, "relops", &["project:releng:roller:*"]).await;
    let mut ids = Vec::new();
    for (host, task) in [("t-linux64-ms-001", "ping"), ("t-bare-001", "ping"), ("t-linux64-ms-001", "ipmi_status")] {
        let path = format!("/api/v1/workers/{host}/jobs?task_name={task}");
        ids.push(post(&api, &path, Some(&token)).await.expect(201).json()["job_id"].as_i64().unwrap());
    }
    let listed = |body: Value| -> Vec<i64> {
        body["jobs"].as_array().unwrap().iter().map(|job| job["id"].as_i64().unwrap()).collect()
    };
    assert_eq!(listed(api.get("/api/v1/jobs").await.expect(200).json()), [ids[2], ids[1], ids[0]]);
    assert_eq!(listed(api.get("/api/v1/jobs?host=t-linux64-ms-001").await.expect(200).json()), [ids[2], ids[0]]);
    assert_eq!(listed(api.get("/api/v1/jobs?state=queued&limit=1").await.expect(200).json()), [ids[2]]);
    assert!(listed(api.get("/api/v1/jobs?state=running").await.expect(200).json()).is_empty());
    api.get("/api/v1/jobs?state=done").await.problem(400);
    api.get("/api/v1/jobs?limit=0").await.problem(400);
    api.get("/api/v1/jobs?host=a%00b").await.problem(400);
    api.get("/api/v1/jobs/999999").await.problem(404);
    api.get("/api/v1/jobs/abc").await.problem(400);
    api.stop().await;
}

async fn cancelling_follows_the_jobs_state_and_scope(db: &TestDb) {
    let api = start(db).await;
    let relops = client(&api, "relops", &["project:releng:roller:*"]).await;
    let pinger = client(&api, "pinger", &["project:releng:roller:ping"]).await;
    let created = post(&api, "/api/v1/workers/t-linux64-ms-001/jobs?task_name=ipmi_reset", Some(&relops)).await;
    let id = created.expect(201).json()["job_id"].as_i64().unwrap();
    let path = format!("/api/v1/jobs/{id}");
    api.call("DELETE", &path, None, None).await.problem(401);
    let (_, detail) = api.call("DELETE", &path, Some(&pinger), None).await.problem(403);
    assert!(detail.contains("project:releng:roller:ipmi_reset"), "{detail}");
    let cancelled = api.call("DELETE", &path, Some(&relops), None).await.expect(200).json();
    assert_eq!(cancelled["state"], "cancelled");
    let lines: Vec<&str> = cancelled["log"].as_array().unwrap().iter().filter_map(|l| l["line"].as_str()).collect();
    assert!(lines.iter().any(|line| line.contains("client:relops")), "{lines:?}");
    api.call("DELETE", &path, Some(&relops), None).await.problem(409);
    api.call("DELETE", "/api/v1/jobs/999999", Some(&relops), None).await.problem(404);
    api.stop().await;
}

/// Past the request timeout the client gets 503, and the request goes on:
/// once the lock is free the job is queued. Every request runs to its end,
/// not only the tree writes.
async fn a_job_asked_for_behind_a_lock_is_answered_503_and_still_queued(db: &TestDb) {
    let timeout = std::time::Duration::from_millis(300);
    let api = start_with(db, ServerOptions { request_timeout: timeout, ..harness::test_options() }).await;
    let token = client(&api, "relops", &["project:releng:roller:ping"]).await;
    let lock = harness::WriteLock::take(db, "jobs").await;
    let reply = post(&api, "/api/v1/jobs?tc_worker_id=t-linux64-ms-001&task_name=ping", Some(&token)).await;
    let (title, _) = reply.problem(503);
    assert_eq!(title, "Service Unavailable");
    lock.release().await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let jobs = api.get("/api/v1/jobs").await.expect(200).json();
        if let Some(jobs) = jobs["jobs"].as_array().filter(|jobs| !jobs.is_empty()) {
            assert_eq!((jobs.len(), jobs[0]["task"].as_str()), (1, Some("ping")), "{jobs:?}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the job was never queued");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    api.stop().await;
}
