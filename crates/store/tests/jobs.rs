//! The hardware job queue, run against every backend: jobs from enqueue to
//! their end, claims by many workers at once and by several store handles
//! on one database (as server replicas share one), lease expiry, cancelling,
//! and jobs surviving a restart.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use fleetroll_core::jobs::{JobState, LEASE_EXPIRED, TaskName};
use fleetroll_core::time::Timestamp;
use fleetroll_store::{Backend, CancelOutcome, Job, JobFilter, NewJob, Store, StoreOptions, Verdict};
use fleetroll_testdb::TestDb;
use fleetroll_testdb::{Case, cases};

fn main() {
    fleetroll_testdb::run_suite("jobs", all_cases());
}

fn all_cases() -> Vec<(&'static str, Case)> {
    cases![
        enqueue_claim_finish_roundtrip,
        claims_take_the_oldest_first,
        claim_with_nothing_queued_is_none,
        concurrent_claimers_take_each_job_once,
        replicas_take_each_job_once,
        expired_leases_requeue_then_fail,
        replicas_recover_each_job_once,
        renewal_extends_only_the_owners_lease,
        renewal_after_cancel_is_refused,
        finish_only_by_the_lease_owner,
        cancel_rules,
        hard_limit_ends_the_lease_and_fails_at_once,
        jobs_survive_a_restart,
        log_lines_in_the_order_written,
        listing_filters_and_counts,
        queued_jobs_wake_a_waiting_worker,
    ]
    .into()
}

const LEASE: Duration = Duration::from_secs(60);

fn at(second: i64) -> Timestamp {
    Utc.with_ymd_and_hms(2026, 11, 22, 9, 0, 0).unwrap() + chrono::Duration::seconds(second)
}

fn new_job(host: &str) -> NewJob {
    NewJob::new(TaskName::Reboot, host, "mozilla-auth0/ad|Mozilla-LDAP|relops", "stuck in a boot loop")
}

async fn enqueue(store: &Store, host: &str, second: i64) -> Job {
    store.enqueue(&new_job(host), at(second)).await.expect("enqueue")
}

async fn job(store: &Store, id: i64) -> Job {
    store.job(id).await.unwrap().expect("a stored job")
}

/// A store with `connections` connections, so claimers really run at once.
async fn open_with(db: &TestDb, connections: u32) -> Store {
    let options = StoreOptions { max_connections: connections, ..StoreOptions::default() };
    Store::open(&db.location, &options).await.expect("open test store")
}

async fn enqueue_claim_finish_roundtrip(db: &TestDb) {
    let store = db.open(10).await;
    let mut new = new_job("t-linux64-ms-001.test.releng.mdc1.mozilla.com");
    new.worker_group = Some("mdc1".into());
    new.worker_id = Some("t-linux64-ms-001".into());
    new.max_attempts = 2;
    let queued = store.enqueue(&new, at(0)).await.unwrap();
    assert_eq!(
        queued,
        Job {
            id: queued.id,
            task: TaskName::Reboot,
            host: new.host.clone(),
            worker_group: Some("mdc1".into()),
            worker_id: Some("t-linux64-ms-001".into()),
            state: JobState::Queued,
            reason: "stuck in a boot loop".into(),
            requested_by: "mozilla-auth0/ad|Mozilla-LDAP|relops".into(),
            attempts: 0,
            max_attempts: 2,
            lease_owner: None,
            lease_until: None,
            soft_limit: None,
            hard_limit: None,
            soft_deadline: None,
            hard_deadline: None,
            created_at: at(0),
            started_at: None,
            finished_at: None,
            result: None,
            updated_at: at(0),
        }
    );
    assert_eq!(job(&store, queued.id).await, queued);

    let claimed = store.claim("worker-a", LEASE, at(5)).await.unwrap().expect("a queued job");
    assert_eq!(claimed.id, queued.id);
    assert_eq!(claimed.state, JobState::Running);
    assert_eq!(claimed.attempts, 1);
    assert_eq!(claimed.lease_owner.as_deref(), Some("worker-a"));
    assert_eq!(claimed.lease_until, Some(at(65)));
    assert_eq!(claimed.started_at, Some(at(5)));
    assert_eq!(claimed.updated_at, at(5));
    assert_eq!(job(&store, queued.id).await, claimed);

    assert!(
        store.finish(queued.id, "worker-a", Verdict::Succeeded, Some("rebooted; ping answered"), at(30)).await.unwrap()
    );
    let done = job(&store, queued.id).await;
    assert_eq!(done.state, JobState::Succeeded);
    assert_eq!(done.result.as_deref(), Some("rebooted; ping answered"));
    assert_eq!(done.finished_at, Some(at(30)));
    assert_eq!((done.lease_owner, done.lease_until), (None, None));
    assert_eq!(done.attempts, 1);
    assert_eq!(done.started_at, Some(at(5)));
    // Finished once: the worker cannot finish it again, nor can it be claimed.
    assert!(!store.finish(queued.id, "worker-a", Verdict::Failed, None, at(31)).await.unwrap());
    assert_eq!(store.claim("worker-b", LEASE, at(32)).await.unwrap(), None);

    let failed = enqueue(&store, "host-2", 40).await;
    store.claim("worker-a", LEASE, at(41)).await.unwrap().expect("the second job");
    assert!(store.finish(failed.id, "worker-a", Verdict::Failed, None, at(42)).await.unwrap());
    let failed = job(&store, failed.id).await;
    assert_eq!((failed.state, failed.result), (JobState::Failed, None));
    store.close().await;
}

async fn claims_take_the_oldest_first(db: &TestDb) {
    let store = db.open(10).await;
    // Created out of id order: the time decides, the id breaks ties.
    let third = enqueue(&store, "c", 20).await;
    let first = enqueue(&store, "a", 10).await;
    let second = enqueue(&store, "b", 10).await;
    let mut order = Vec::new();
    while let Some(job) = store.claim("w", LEASE, at(30)).await.unwrap() {
        order.push(job.id);
    }
    assert_eq!(order, [first.id, second.id, third.id]);

    // A job queued again after its lease expired keeps its place ahead of
    // newer ones.
    let newer = enqueue(&store, "d", 40).await;
    assert_eq!(store.recover_expired(at(100)).await.unwrap(), [third.id, first.id, second.id]);
    let mut order = Vec::new();
    while let Some(job) = store.claim("w", LEASE, at(101)).await.unwrap() {
        order.push(job.id);
    }
    assert_eq!(order, [first.id, second.id, third.id, newer.id]);
    store.close().await;
}

async fn claim_with_nothing_queued_is_none(db: &TestDb) {
    let store = db.open(10).await;
    assert_eq!(store.claim("w", LEASE, at(0)).await.unwrap(), None);
    let only = enqueue(&store, "a", 0).await;
    assert_eq!(store.claim("w", LEASE, at(1)).await.unwrap().map(|job| job.id), Some(only.id));
    assert_eq!(store.claim("w", LEASE, at(2)).await.unwrap(), None);
    store.close().await;
}

const CLAIMERS: usize = 16;
const JOBS: usize = 200;

/// Runs `CLAIMERS` workers spread over `stores`, each claiming and finishing
/// until the queue is empty; returns every claimed id with its claimer.
async fn claim_all(stores: &[Store]) -> Vec<(i64, String)> {
    let mut tasks = Vec::new();
    for n in 0..CLAIMERS {
        let store = stores[n % stores.len()].clone();
        tasks.push(tokio::spawn(async move {
            let worker = format!("worker-{n}");
            let mut claimed = Vec::new();
            while let Some(job) = store.claim(&worker, LEASE, at(100)).await.expect("claim") {
                assert_eq!(job.lease_owner.as_deref(), Some(worker.as_str()));
                assert_eq!(job.attempts, 1, "job {} claimed a second time", job.id);
                assert!(store.finish(job.id, &worker, Verdict::Succeeded, None, at(101)).await.expect("finish"));
                claimed.push((job.id, worker.clone()));
                tokio::task::yield_now().await;
            }
            claimed
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.expect("a claimer"));
    }
    all
}

async fn assert_each_claimed_once(store: &Store, enqueued: &[i64], claimed: &[(i64, String)]) {
    let ids: Vec<i64> = claimed.iter().map(|(id, _)| *id).collect();
    let distinct: BTreeSet<i64> = ids.iter().copied().collect();
    assert_eq!(ids.len(), distinct.len(), "a job was claimed twice");
    assert_eq!(distinct, enqueued.iter().copied().collect::<BTreeSet<_>>());
    let workers: BTreeSet<&str> = claimed.iter().map(|(_, worker)| worker.as_str()).collect();
    assert!(workers.len() > 1, "one claimer took every job: {workers:?}");
    for (id, worker) in claimed {
        let job = job(store, *id).await;
        assert_eq!((job.state, job.attempts), (JobState::Succeeded, 1));
        assert_eq!(job.started_at, Some(at(100)), "job {id} of {worker}");
    }
    let counts = store.job_counts().await.unwrap();
    assert!(counts.contains(&(JobState::Succeeded, JOBS as i64)), "{counts:?}");
}

async fn enqueue_many(store: &Store) -> Vec<i64> {
    let mut ids = Vec::new();
    for n in 0..JOBS {
        ids.push(enqueue(store, &format!("host-{n:03}"), n as i64).await.id);
    }
    ids
}

async fn concurrent_claimers_take_each_job_once(db: &TestDb) {
    let store = open_with(db, 8).await;
    let enqueued = enqueue_many(&store).await;
    let claimed = claim_all(std::slice::from_ref(&store)).await;
    assert_each_claimed_once(&store, &enqueued, &claimed).await;
    store.close().await;
}

async fn replicas_take_each_job_once(db: &TestDb) {
    let replicas = [open_with(db, 4).await, open_with(db, 4).await];
    let enqueued = enqueue_many(&replicas[0]).await;
    let claimed = claim_all(&replicas).await;
    assert_each_claimed_once(&replicas[1], &enqueued, &claimed).await;
    for store in &replicas {
        store.close().await;
    }
}

async fn expired_leases_requeue_then_fail(db: &TestDb) {
    let store = db.open(10).await;
    let mut new = new_job("a");
    new.max_attempts = 2;
    let id = store.enqueue(&new, at(0)).await.unwrap().id;
    store.claim("worker-a", LEASE, at(10)).await.unwrap().expect("claimed");

    // Still held: nothing to recover.
    assert_eq!(store.recover_expired(at(69)).await.unwrap(), Vec::<i64>::new());
    assert_eq!(job(&store, id).await.state, JobState::Running);

    // worker-a died: at the end of its lease the job is queued again.
    assert_eq!(store.recover_expired(at(70)).await.unwrap(), [id]);
    let requeued = job(&store, id).await;
    assert_eq!((requeued.state, requeued.attempts), (JobState::Queued, 1));
    assert_eq!((requeued.lease_owner, requeued.lease_until), (None, None));
    assert_eq!(requeued.finished_at, None);
    assert_eq!(store.recover_expired(at(71)).await.unwrap(), Vec::<i64>::new());
    // The dead worker's late calls change nothing.
    assert!(!store.renew_lease(id, "worker-a", LEASE, at(72)).await.unwrap());
    assert!(!store.finish(id, "worker-a", Verdict::Succeeded, None, at(72)).await.unwrap());

    let second = store.claim("worker-b", LEASE, at(80)).await.unwrap().expect("claimed again");
    assert_eq!((second.id, second.attempts, second.started_at), (id, 2, Some(at(80))));
    // The last attempt's lease expires: no attempts left, so it fails.
    assert_eq!(store.recover_expired(at(200)).await.unwrap(), [id]);
    let failed = job(&store, id).await;
    assert_eq!((failed.state, failed.attempts), (JobState::Failed, 2));
    assert_eq!(failed.result.as_deref(), Some(LEASE_EXPIRED));
    assert_eq!(failed.finished_at, Some(at(200)));
    assert_eq!(store.claim("worker-c", LEASE, at(201)).await.unwrap(), None);

    let log: Vec<(u32, String)> =
        store.job_log(id).await.unwrap().into_iter().map(|line| (line.attempt, line.line)).collect();
    assert_eq!(
        log,
        [
            (
                1,
                "lease of worker-a expired at 2026-11-22T09:01:10.000000Z; queued again after attempt 1 of 2"
                    .to_owned()
            ),
            (2, "lease of worker-b expired at 2026-11-22T09:02:20.000000Z after 2 attempts of 2; failed".to_owned()),
        ]
    );
    store.close().await;
}

async fn replicas_recover_each_job_once(db: &TestDb) {
    let replicas = [open_with(db, 4).await, open_with(db, 4).await];
    let mut enqueued = BTreeSet::new();
    for n in 0..50 {
        enqueued.insert(enqueue(&replicas[0], &format!("host-{n}"), n).await.id);
        replicas[1].claim("worker-a", LEASE, at(100)).await.unwrap().expect("claimed");
    }
    // Every replica runs recovery at once, each several times.
    let mut tasks = Vec::new();
    for n in 0..8 {
        let store = replicas[n % 2].clone();
        tasks.push(tokio::spawn(async move { store.recover_expired(at(200)).await.expect("recover") }));
    }
    let mut recovered = Vec::new();
    for task in tasks {
        recovered.extend(task.await.expect("a recoverer"));
    }
    assert_eq!(recovered.len(), enqueued.len(), "a job was recovered twice: {recovered:?}");
    assert_eq!(recovered.into_iter().collect::<BTreeSet<_>>(), enqueued);
    for id in enqueued {
        let job = job(&replicas[0], id).await;
        assert_eq!((job.state, job.attempts), (JobState::Queued, 1));
        assert_eq!(replicas[1].job_log(id).await.unwrap().len(), 1, "job {id}");
    }
    for store in &replicas {
        store.close().await;
    }
}

async fn renewal_extends_only_the_owners_lease(db: &TestDb) {
    let store = db.open(10).await;
    let id = enqueue(&store, "a", 0).await.id;
    store.claim("worker-a", LEASE, at(0)).await.unwrap().expect("claimed");
    assert!(!store.renew_lease(id, "worker-b", LEASE, at(30)).await.unwrap());
    assert_eq!(job(&store, id).await.lease_until, Some(at(60)));
    assert!(store.renew_lease(id, "worker-a", LEASE, at(30)).await.unwrap());
    assert_eq!(job(&store, id).await.lease_until, Some(at(90)));
    // Renewed, so the old lease's end recovers nothing.
    assert_eq!(store.recover_expired(at(60)).await.unwrap(), Vec::<i64>::new());
    // Expired but not yet recovered: still the owner's to renew.
    assert!(store.renew_lease(id, "worker-a", LEASE, at(95)).await.unwrap());
    assert_eq!(job(&store, id).await.lease_until, Some(at(155)));
    assert!(!store.renew_lease(id + 1, "worker-a", LEASE, at(95)).await.unwrap());
    store.close().await;
}

async fn renewal_after_cancel_is_refused(db: &TestDb) {
    let store = db.open(10).await;
    let id = enqueue(&store, "a", 0).await.id;
    store.claim("worker-a", LEASE, at(1)).await.unwrap().expect("claimed");
    assert!(matches!(store.cancel(id, at(2)).await.unwrap(), CancelOutcome::Stopping(_)));
    assert!(!store.renew_lease(id, "worker-a", LEASE, at(3)).await.unwrap());
    let cancelled = job(&store, id).await;
    assert_eq!(cancelled.state, JobState::Cancelled);
    assert_eq!(cancelled.lease_until, None);
    store.close().await;
}

async fn finish_only_by_the_lease_owner(db: &TestDb) {
    let store = db.open(10).await;
    let id = enqueue(&store, "a", 0).await.id;
    // Queued: nobody's yet.
    assert!(!store.finish(id, "worker-a", Verdict::Succeeded, None, at(1)).await.unwrap());
    store.claim("worker-a", LEASE, at(2)).await.unwrap().expect("claimed");
    assert!(!store.finish(id, "worker-b", Verdict::Succeeded, Some("not mine"), at(3)).await.unwrap());
    let running = job(&store, id).await;
    assert_eq!((running.state, running.result), (JobState::Running, None));
    assert!(store.finish(id, "worker-a", Verdict::Failed, Some("BMC did not answer"), at(4)).await.unwrap());
    assert_eq!(job(&store, id).await.state, JobState::Failed);
    assert!(!store.finish(id + 1, "worker-a", Verdict::Failed, None, at(5)).await.unwrap());
    store.close().await;
}

async fn cancel_rules(db: &TestDb) {
    let store = db.open(10).await;
    let queued = enqueue(&store, "a", 0).await.id;
    let running = enqueue(&store, "b", 1).await.id;
    let done = enqueue(&store, "c", 2).await.id;

    // Withdrawn first, so the claims below take the other two.
    let CancelOutcome::Withdrawn(withdrawn) = store.cancel(queued, at(3)).await.unwrap() else {
        panic!("a queued job is withdrawn")
    };
    assert_eq!((withdrawn.state, withdrawn.finished_at), (JobState::Cancelled, Some(at(3))));
    assert_eq!(store.claim("worker-a", LEASE, at(4)).await.unwrap().map(|job| job.id), Some(running));
    assert_eq!(store.claim("worker-b", LEASE, at(4)).await.unwrap().map(|job| job.id), Some(done));
    assert!(store.finish(done, "worker-b", Verdict::Succeeded, None, at(5)).await.unwrap());

    let CancelOutcome::Stopping(stopping) = store.cancel(running, at(6)).await.unwrap() else {
        panic!("a running job is stopped")
    };
    assert_eq!(stopping.state, JobState::Cancelled);
    assert_eq!((stopping.lease_owner.as_deref(), stopping.attempts), (None, 1));
    // Its worker's verdict comes too late, and its lease is not recovered.
    assert!(!store.finish(running, "worker-a", Verdict::Succeeded, None, at(7)).await.unwrap());
    assert_eq!(store.recover_expired(at(1_000)).await.unwrap(), Vec::<i64>::new());
    assert_eq!(job(&store, running).await, stopping);

    // Ended jobs are refused, as they are.
    for (id, state) in [(done, JobState::Succeeded), (queued, JobState::Cancelled), (running, JobState::Cancelled)] {
        let before = job(&store, id).await;
        match store.cancel(id, at(8)).await.unwrap() {
            CancelOutcome::Refused(job) => assert_eq!((job.state, &job), (state, &before)),
            other => panic!("job {id} in state {state:?}: {other:?}"),
        }
        assert_eq!(job(&store, id).await, before);
    }
    assert_eq!(store.cancel(done + 100, at(9)).await.unwrap(), CancelOutcome::NotFound);

    let lines = |id| {
        let store = store.clone();
        async move { store.job_log(id).await.unwrap().into_iter().map(|line| line.line).collect::<Vec<_>>() }
    };
    assert_eq!(lines(queued).await, ["cancelled while queued"]);
    assert_eq!(lines(running).await, ["cancelled while running on worker-a; it stops at its next lease renewal"]);
    assert_eq!(lines(done).await, Vec::<String>::new());
    store.close().await;
}

async fn hard_limit_ends_the_lease_and_fails_at_once(db: &TestDb) {
    let store = db.open(10).await;
    let mut new = new_job("a");
    new.soft_limit = Some(Duration::from_secs(100));
    new.hard_limit = Some(Duration::from_secs(150));
    let id = store.enqueue(&new, at(0)).await.unwrap().id;
    let claimed = store.claim("worker-a", LEASE, at(10)).await.unwrap().expect("claimed");
    assert_eq!((claimed.soft_limit, claimed.hard_limit), (new.soft_limit, new.hard_limit));
    assert_eq!((claimed.soft_deadline, claimed.hard_deadline), (Some(at(110)), Some(at(160))));
    assert_eq!(claimed.lease_until, Some(at(70)));
    // Renewals stop at the hard deadline, and are refused from it on.
    assert!(store.renew_lease(id, "worker-a", LEASE, at(120)).await.unwrap());
    assert_eq!(job(&store, id).await.lease_until, Some(at(160)));
    assert!(!store.renew_lease(id, "worker-a", LEASE, at(160)).await.unwrap());
    // Attempts are left, but a job that ran out of time is not retried.
    assert_eq!(store.recover_expired(at(160)).await.unwrap(), [id]);
    let failed = job(&store, id).await;
    assert_eq!((failed.state, failed.attempts), (JobState::Failed, 1));
    assert_eq!(failed.result.as_deref(), Some("hard time limit of 150 s reached"));
    let log = store.job_log(id).await.unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].line, "hard time limit of 150 s reached on worker-a at 2026-11-22T09:02:40.000000Z; failed");

    // A lease shorter than the time left is not cut.
    let mut tight = new_job("b");
    tight.hard_limit = Some(Duration::from_secs(30));
    let tight = store.enqueue(&tight, at(200)).await.unwrap().id;
    let claimed = store.claim("worker-a", LEASE, at(200)).await.unwrap().expect("claimed");
    assert_eq!((claimed.id, claimed.lease_until, claimed.soft_deadline), (tight, Some(at(230)), None));
    store.close().await;
}

async fn jobs_survive_a_restart(db: &TestDb) {
    let store = db.open(10).await;
    enqueue(&store, "a", 0).await;
    let queued = enqueue(&store, "b", 1).await;
    let running = store.claim("worker-a", LEASE, at(2)).await.unwrap().expect("claimed");
    assert!(store.append_job_log(running.id, 1, at(3), "powering off").await.unwrap());
    store.close().await;

    // The server comes back; worker-a did not.
    let store = db.open(10).await;
    assert_eq!(job(&store, running.id).await, running);
    assert_eq!(job(&store, queued.id).await, queued);
    assert_eq!(store.job_log(running.id).await.unwrap().len(), 1);
    assert_eq!(store.recover_expired(at(61)).await.unwrap(), Vec::<i64>::new());
    assert_eq!(store.recover_expired(at(62)).await.unwrap(), [running.id]);
    let order: Vec<i64> =
        [store.claim("worker-b", LEASE, at(63)).await.unwrap(), store.claim("worker-b", LEASE, at(63)).await.unwrap()]
            .into_iter()
            .map(|job| job.expect("claimed").id)
            .collect();
    assert_eq!(order, [running.id, queued.id]);
    assert_eq!(job(&store, running.id).await.attempts, 2);
    store.close().await;
}

async fn log_lines_in_the_order_written(db: &TestDb) {
    let store = db.open(10).await;
    let id = enqueue(&store, "a", 0).await.id;
    assert!(store.append_job_log(id, 0, at(0), "queued by the API").await.unwrap());
    store.claim("worker-a", LEASE, at(1)).await.unwrap().expect("claimed");
    // Written in this order, though the clock says otherwise for one.
    let lines = ["ipmitool chassis power cycle", "waiting for ping to stop", "ping stopped", "ping answered"];
    let times = [2, 5, 4, 9];
    for (line, second) in lines.iter().zip(times) {
        assert!(store.append_job_log(id, 1, at(second), line).await.unwrap());
    }
    let other = enqueue(&store, "b", 1).await.id;
    assert!(store.append_job_log(other, 0, at(3), "another job's line").await.unwrap());
    assert!(!store.append_job_log(other + 1, 0, at(3), "no such job").await.unwrap());

    let log = store.job_log(id).await.unwrap();
    let got: Vec<(i64, u32, Timestamp, &str)> =
        log.iter().map(|line| (line.job_id, line.attempt, line.at, line.line.as_str())).collect();
    let mut want = vec![(id, 0, at(0), "queued by the API")];
    want.extend(lines.iter().zip(times).map(|(line, second)| (id, 1, at(second), *line)));
    assert_eq!(got, want);
    assert_eq!(store.job_log(other + 1).await.unwrap(), []);

    let summary = job(&store, id).await.summary(&log);
    assert_eq!(summary.id, id.to_string());
    assert_eq!(summary.log.len(), 5);
    assert_eq!((summary.state, summary.attempts), (JobState::Running, 1));
    store.close().await;
}

async fn listing_filters_and_counts(db: &TestDb) {
    let store = db.open(10).await;
    let zero: Vec<(JobState, i64)> = JobState::ALL.iter().map(|&state| (state, 0)).collect();
    assert_eq!(store.job_counts().await.unwrap(), zero);

    let a1 = enqueue(&store, "a", 0).await.id;
    let b1 = enqueue(&store, "b", 1).await.id;
    let a2 = enqueue(&store, "a", 2).await.id;
    let a3 = enqueue(&store, "a", 3).await.id;
    store.claim("w", LEASE, at(4)).await.unwrap().expect("claims a1");
    store.claim("w", LEASE, at(4)).await.unwrap().expect("claims b1");
    assert!(store.finish(b1, "w", Verdict::Succeeded, None, at(5)).await.unwrap());
    store.cancel(a3, at(6)).await.unwrap();

    let ids = |jobs: Vec<Job>| jobs.into_iter().map(|job| job.id).collect::<Vec<_>>();
    let list = |host: Option<&str>, state: Option<JobState>, limit: usize| {
        let store = store.clone();
        let filter = JobFilter { host: host.map(str::to_owned), state, limit };
        async move { ids(store.jobs(&filter).await.unwrap()) }
    };
    assert_eq!(ids(store.jobs(&JobFilter::default()).await.unwrap()), [a3, a2, b1, a1]);
    assert_eq!(list(None, None, 2).await, [a3, a2]);
    assert_eq!(list(Some("a"), None, 10).await, [a3, a2, a1]);
    assert_eq!(list(Some("a"), Some(JobState::Queued), 10).await, [a2]);
    assert_eq!(list(None, Some(JobState::Running), 10).await, [a1]);
    assert_eq!(list(Some("b"), Some(JobState::Running), 10).await, Vec::<i64>::new());
    assert_eq!(list(Some("nowhere"), None, 10).await, Vec::<i64>::new());
    assert_eq!(list(None, None, 0).await, Vec::<i64>::new());

    assert_eq!(
        store.job_counts().await.unwrap(),
        [
            (JobState::Queued, 1),
            (JobState::Running, 1),
            (JobState::Succeeded, 1),
            (JobState::Failed, 0),
            (JobState::Cancelled, 1)
        ]
    );
    store.close().await;
}

/// How long `wait_for_queued_job(at_most)` took on a clone of `store`,
/// started now, while `then` runs 100 ms later.
async fn waited_while(store: &Store, at_most: Duration, then: impl Future<Output = ()>) -> Duration {
    let clone = store.clone();
    let waiter = tokio::spawn(async move {
        let started = Instant::now();
        clone.wait_for_queued_job(at_most).await;
        started.elapsed()
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    then.await;
    waiter.await.expect("the waiter")
}

/// Takes the wake-ups still pending (on PostgreSQL the store hears its own
/// notifications too), so that the next wake-up is a new one.
async fn settle(store: &Store) {
    let pause = Duration::from_millis(200);
    for _ in 0..50 {
        let started = Instant::now();
        store.wait_for_queued_job(pause).await;
        if started.elapsed() >= pause {
            return;
        }
    }
    panic!("wake-ups kept coming with nothing queued");
}

/// An idle worker waits for its poll interval or for a job queued through
/// its store (any clone: the server and the workers of `fleetroll serve`),
/// whichever comes first. A job queued through another handle, as another
/// process would, wakes it on PostgreSQL (NOTIFY) and is seen by asking
/// again on SQLite.
async fn queued_jobs_wake_a_waiting_worker(db: &TestDb) {
    let store = db.open(10).await;
    let long = Duration::from_secs(30);
    let soon = Duration::from_secs(5);
    let pause = Duration::from_millis(300);

    // Queued while nobody waited: the next waiter returns at once, once.
    let a = enqueue(&store, "a", 0).await;
    let started = Instant::now();
    store.wait_for_queued_job(long).await;
    assert!(started.elapsed() < soon, "waited {:?} for a job already queued", started.elapsed());
    let started = Instant::now();
    store.wait_for_queued_job(pause).await;
    assert!(started.elapsed() >= pause, "woke after {:?} with nothing queued", started.elapsed());

    let waited = waited_while(&store, long, async {
        enqueue(&store, "b", 1).await;
    })
    .await;
    assert!(waited < soon, "a job queued by a clone woke the waiter after {waited:?}");

    let other = open_with(db, 2).await;
    settle(&store).await;
    if *store.backend() == Backend::Postgres {
        // The listener started with the first wait may still be connecting,
        // and a notification sent before it listens is lost: queue until
        // one wakes the waiter.
        let clone = store.clone();
        let waiter = tokio::spawn(async move { clone.wait_for_queued_job(long).await });
        for second in 2..50 {
            other.enqueue(&new_job("c"), at(second)).await.expect("enqueue");
            tokio::time::sleep(Duration::from_millis(100)).await;
            if waiter.is_finished() {
                break;
            }
        }
        assert!(waiter.is_finished(), "five seconds of another replica's jobs did not wake the waiter");
    } else {
        let waited = waited_while(&store, pause, async {
            other.enqueue(&new_job("c"), at(2)).await.expect("enqueue");
        })
        .await;
        assert!(waited >= pause, "another process's job woke the waiter after {waited:?} on SQLite");
    }

    // A dead worker's job queued again by recovery wakes a waiter too.
    let claimed = store.claim("worker-a", LEASE, at(10)).await.unwrap().expect("claimed");
    assert_eq!(claimed.id, a.id);
    let waited = waited_while(&store, long, async {
        assert_eq!(store.recover_expired(at(100)).await.unwrap(), [a.id]);
    })
    .await;
    assert!(waited < soon, "a recovered job woke the waiter after {waited:?}");
    other.close().await;
    store.close().await;
}
