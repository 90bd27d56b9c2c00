//! The production Taskcluster and GitHub clients against an in-process
//! server answering the documented endpoints: paging, retries, 404s,
//! malformed answers, Hawk signing, and what gets stored.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{Fake, PoolKind, observation, serve, store};
use fleetroll_core::pools::{RoleMap, RoleTarget};
use fleetroll_core::records::{BranchRef, TcWorker, WindowsPool};
use fleetroll_store::content::ContentStore;
use fleetroll_taskcluster::gather::PoolDone;
use fleetroll_taskcluster::{
    Credentials, GhClient, GhSettings, RetryPolicy, TcClient, TcSettings, gather_gh, gather_tc, quarantine,
};

fn quick() -> RetryPolicy {
    RetryPolicy { attempts: 3, base_delay: Duration::from_millis(10), timeout: Duration::from_millis(500) }
}

fn roles(pairs: &[(&str, &str)]) -> RoleMap {
    RoleMap(
        pairs
            .iter()
            .map(|(role, wt)| {
                ((*role).to_owned(), RoleTarget { provisioner: "releng-hardware".into(), worker_type: (*wt).into() })
            })
            .collect(),
    )
}

fn settings(base: &str, roles: RoleMap, credentials: Option<Credentials>) -> TcSettings {
    TcSettings {
        client: TcClient::new(base, credentials, quick()).expect("client"),
        roles,
        concurrency: 4,
        task_runs: true,
    }
}

fn pool(prefix: &str, n: usize) -> PoolKind {
    PoolKind::Workers { prefix: prefix.into(), n }
}

fn no_progress(_: &PoolDone<'_>) {}

#[tokio::test]
async fn gathers_paged_workers_and_stores_them() {
    let fake = Fake {
        pools: BTreeMap::from([("big-managed".to_owned(), pool("big", 2500)), ("small".to_owned(), pool("small", 3))]),
        page_size: 1000,
        ..Fake::default()
    };
    let (base, fake) = serve(fake).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store(dir.path()).await;
    let hosts: Vec<String> =
        ["big-1.x.com", "big-2499.x.com", "small-0.x.com", "small-9.x.com"].map(String::from).to_vec();
    let obs: Vec<_> = hosts
        .iter()
        .map(|h| observation(h, Some(if h.starts_with("big") { "big_role" } else { "small_role" }), None))
        .collect();
    store.put(&obs).await.expect("put");
    let s = settings(&base, roles(&[("big_role", "big-managed"), ("small_role", "small")]), None);
    let overrides = ContentStore::overrides(dir.path());
    let report = gather_tc(&hosts, &store, &overrides, &s, chrono::Utc::now(), &no_progress).await.expect("gather");
    assert_eq!(report.pools_scanned, 2);
    assert_eq!(report.workers_seen, 2503, "all three pages of the big pool");
    assert_eq!(report.workers_written, 3);
    assert_eq!(report.hosts_without_worker, vec!["small-9.x.com".to_owned()]);
    assert!(report.pool_errors.is_empty(), "{:?}", report.pool_errors);
    let stored: BTreeMap<String, TcWorker> =
        store.latest::<TcWorker>().await.expect("latest").into_iter().map(|w| (w.host.clone(), w)).collect();
    let w = &stored["big-1.x.com"];
    assert_eq!(
        (w.worker_id.as_str(), w.worker_type.as_str(), w.state.as_deref()),
        ("big-1", "big-managed", Some("running"))
    );
    assert!(w.quarantine_until.is_some() && w.last_date_active.is_some());
    assert_eq!(w.task_state.as_deref(), Some("completed"));
    assert!(w.task_started.is_some() && w.task_resolved.is_some());
    assert_eq!(stored["small-0.x.com"].state, None, "a pool the worker-manager does not know has no state");
    assert!(fake.authorizations.lock().expect("lock").iter().all(|(_, _, a)| a.is_none()), "no credentials, no header");
}

#[tokio::test]
async fn bad_pools_and_hosts_are_reported_and_the_rest_gathered() {
    let fake = Fake {
        pools: BTreeMap::from([
            ("good".to_owned(), pool("good", 2)),
            ("garbage".to_owned(), PoolKind::Garbage),
            ("nofields".to_owned(), PoolKind::MissingFields),
        ]),
        page_size: 10,
        ..Fake::default()
    };
    let (base, _fake) = serve(fake).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store(dir.path()).await;
    let hosts: Vec<String> =
        ["good-0.x", "garbage-0.x", "nofields-0.x", "missing-0.x", "stranger.x", "norole.x", "never.x"]
            .map(String::from)
            .to_vec();
    let role_of = [
        ("good-0.x", "good"),
        ("garbage-0.x", "garbage"),
        ("nofields-0.x", "nofields"),
        ("missing-0.x", "missing"),
        ("stranger.x", "who_knows"),
    ];
    let mut obs: Vec<_> = role_of.iter().map(|(h, r)| observation(h, Some(r), None)).collect();
    obs.push(observation("norole.x", None, None));
    store.put(&obs).await.expect("put");
    let earlier = TcWorker::new(
        "garbage-0.x",
        "garbage-0",
        "releng-hardware",
        "garbage",
        chrono::Utc::now() - chrono::Duration::hours(1),
    );
    store.put(std::slice::from_ref(&earlier)).await.expect("put");
    let map = roles(&[("good", "good"), ("garbage", "garbage"), ("nofields", "nofields"), ("missing", "missing")]);
    let s = settings(&base, map, None);
    let overrides = ContentStore::overrides(dir.path());
    let report = gather_tc(&hosts, &store, &overrides, &s, chrono::Utc::now(), &no_progress).await.expect("gather");
    assert_eq!(report.workers_written, 1);
    let errors: BTreeMap<&str, &str> = report.pool_errors.iter().map(|p| (p.pool.as_str(), p.error.as_str())).collect();
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(errors["releng-hardware/missing"].contains("404"), "{errors:?}");
    assert!(errors["releng-hardware/garbage"].contains("not the expected JSON"), "{errors:?}");
    assert!(errors["releng-hardware/nofields"].contains("workerId"), "{errors:?}");
    assert_eq!(report.unknown_roles["who_knows"], vec!["stranger.x".to_owned()]);
    assert_eq!(report.hosts_without_role, vec!["norole.x".to_owned(), "never.x".to_owned()]);
    let stored = store.latest::<TcWorker>().await.expect("latest");
    assert!(stored.contains(&earlier), "the earlier record of a host whose pool failed survives");
    assert!(stored.iter().any(|w| w.host == "good-0.x"));
}

#[tokio::test]
async fn retries_a_500_and_a_slow_answer() {
    let fake = Fake {
        pools: BTreeMap::from([
            ("flaky".to_owned(), PoolKind::FailOnce { prefix: "flaky".into(), n: 2 }),
            ("slow".to_owned(), PoolKind::SlowOnce { prefix: "slow".into(), n: 2, delay: Duration::from_secs(3) }),
        ]),
        page_size: 10,
        ..Fake::default()
    };
    let (base, fake) = serve(fake).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store(dir.path()).await;
    let hosts: Vec<String> = ["flaky-0.x", "slow-1.x"].map(String::from).to_vec();
    store
        .put(&[observation("flaky-0.x", Some("f"), None), observation("slow-1.x", Some("s"), None)])
        .await
        .expect("put");
    let s = settings(&base, roles(&[("f", "flaky"), ("s", "slow")]), None);
    let overrides = ContentStore::overrides(dir.path());
    let started = std::time::Instant::now();
    let report = gather_tc(&hosts, &store, &overrides, &s, chrono::Utc::now(), &no_progress).await.expect("gather");
    assert!(report.pool_errors.is_empty(), "{:?}", report.pool_errors);
    assert_eq!(report.workers_written, 2);
    assert!(started.elapsed() < Duration::from_secs(3), "the slow answer was abandoned at the timeout");
    let hits = fake.hits.lock().expect("lock");
    assert_eq!(hits["/api/queue/v1/provisioners/releng-hardware/worker-types/flaky/workers"], 2);
    assert_eq!(hits["/api/queue/v1/provisioners/releng-hardware/worker-types/slow/workers"], 2);
}

#[tokio::test]
async fn windows_pools_and_override_pools() {
    let fake = Fake {
        pools: BTreeMap::from([
            ("win11-64-24h2-hw-ref".to_owned(), pool("winhost", 1)),
            ("gecko-t-linux-talos-1804-staging".to_owned(), pool("linux", 1)),
            ("gecko-t-osx-1500-m4".to_owned(), pool("mac", 1)),
        ]),
        worker_types: ["gecko-t-linux-talos-1804", "win11-64-24h2-hw", "win11-64-24h2-hw-ref"]
            .map(String::from)
            .to_vec(),
        page_size: 2,
        ..Fake::default()
    };
    let (base, _fake) = serve(fake).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store(dir.path()).await;
    let overrides = ContentStore::overrides(dir.path());
    let text = b"PUPPET_BRANCH=\"b\"\nWORKER_TYPE_OVERRIDE='gecko-t-linux-talos-1804-staging'\n";
    overrides.put(text).expect("store override");
    let sha = fleetroll_core::humanhash::sha256_hex(text);
    let hosts: Vec<String> =
        ["winhost-0.wintest2.x", "linux-0.x", "mac-0.x", "ovr-missing.x"].map(String::from).to_vec();
    store
        .put(&[
            observation("winhost-0.wintest2.x", Some("win116424h2hwref"), None),
            observation("linux-0.x", Some("gecko_t_linux_talos"), Some(&sha)),
            observation("mac-0.x", Some("gecko_t_osx_1500_m4"), None),
            observation("ovr-missing.x", Some("gecko_t_linux_talos"), Some(&"ab".repeat(32))),
        ])
        .await
        .expect("put");
    let s = settings(&base, RoleMap::default(), None);
    let report = gather_tc(&hosts, &store, &overrides, &s, chrono::Utc::now(), &no_progress).await.expect("gather");
    let stored: BTreeMap<String, String> =
        store.latest::<TcWorker>().await.expect("latest").into_iter().map(|w| (w.host, w.worker_type)).collect();
    assert_eq!(stored.get("winhost-0.wintest2.x").map(String::as_str), Some("win11-64-24h2-hw-ref"), "{report:?}");
    assert_eq!(stored["linux-0.x"], "gecko-t-linux-talos-1804-staging");
    assert_eq!(stored["mac-0.x"], "gecko-t-osx-1500-m4");
    assert!(report.host_problems.iter().any(|p| p.host == "ovr-missing.x"), "{:?}", report.host_problems);
    assert!(
        report.pool_errors.iter().any(|p| p.pool == "releng-hardware/gecko-t-linux-talos-1804"),
        "unstored override: role pool used"
    );
}

#[tokio::test]
async fn hawk_header_is_sent_and_well_formed() {
    let fake = Fake { pools: BTreeMap::from([("p".to_owned(), pool("p", 1))]), page_size: 10, ..Fake::default() };
    let (base, fake) = serve(fake).await;
    let creds = Credentials { client_id: "project/relops/fleetroll".into(), access_token: "not-a-real-token".into() };
    let client = TcClient::new(&base, Some(creds), quick()).expect("client");
    client.list_workers("releng-hardware", "p").await.expect("list");
    let port: u16 = base.rsplit(':').next().and_then(|p| p.parse().ok()).expect("port");
    let seen = fake.authorizations.lock().expect("lock");
    let (method, resource, auth) = seen.first().expect("a request");
    let auth = auth.as_deref().expect("an Authorization header");
    let fields: BTreeMap<&str, &str> = auth
        .strip_prefix("Hawk ")
        .expect("Hawk scheme")
        .split(", ")
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k, v.trim_matches('"')))
        .collect();
    assert_eq!(fields["id"], "project/relops/fleetroll");
    let ts: i64 = fields["ts"].parse().expect("numeric ts");
    assert!((chrono::Utc::now().timestamp() - ts).abs() < 60);
    assert!(!fields["nonce"].is_empty());
    let request = fleetroll_taskcluster::hawk::Request { method, resource, host: "127.0.0.1", port };
    let want = fleetroll_taskcluster::hawk::mac(
        "not-a-real-token",
        &fleetroll_taskcluster::hawk::normalized(&request, ts, fields["nonce"]),
    );
    assert_eq!(fields["mac"], want, "the MAC verifies with the access token");
    assert!(!auth.contains("not-a-real-token"));
}

#[tokio::test]
async fn gather_gh_follows_pages_stores_refs_and_pools_and_throttles() {
    let heads = |n: usize| (0..n).map(|i| (format!("branch-{i}"), format!("sha{i}"))).collect::<Vec<_>>();
    let mut master = heads(4);
    master.push(("master".into(), "mastersha".into()));
    let fake = Fake {
        repos: BTreeMap::from([
            ("mozilla-platform-ops/ronin_puppet".to_owned(), master),
            ("aerickson/ronin_puppet".to_owned(), heads(3)),
        ]),
        pools_yml: Some("pools:\n  - name: win11-64-24h2-hw-ref\n    hash: abc1234\n  - name: nohash\n".into()),
        ..Fake::default()
    };
    let (base, _fake) = serve(fake).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store(dir.path()).await;
    let overrides = ContentStore::overrides(dir.path());
    for text in [
        "PUPPET_REPO=\"https://github.com/aerickson/ronin_puppet.git\"\nPUPPET_BRANCH=\"branch-2\"\n",
        "PUPPET_REPO=\"https://github.com/aerickson/ronin_puppet.git\"\nPUPPET_BRANCH=\"gone\"\n",
        "PUPPET_REPO=\"https://github.com/nobody/ronin_puppet.git\"\nPUPPET_BRANCH=\"x\"\n",
    ] {
        overrides.put(text.as_bytes()).expect("store override");
    }
    let client = GhClient::new(&base, Some("ghp_not_real".into()), quick()).expect("client");
    assert!(!format!("{client:?}").contains("ghp_not_real"));
    let settings = GhSettings::new(client);
    let now = chrono::Utc::now();
    let report = gather_gh(&store, &overrides, &settings, false, now).await.expect("gather-gh");
    assert_eq!((report.repos, report.branches_wanted, report.branches_written, report.pools_written), (3, 4, 2, 1));
    assert_eq!(report.errors.len(), 2, "{:?}", report.errors);
    assert!(
        report.errors.iter().any(|e| e.contains("nobody/ronin_puppet") && e.contains("404")),
        "{:?}",
        report.errors
    );
    let refs: BTreeMap<String, String> = store
        .latest::<BranchRef>()
        .await
        .expect("refs")
        .into_iter()
        .map(|r| (format!("{}/{}:{}", r.owner, r.repo, r.branch), r.sha))
        .collect();
    assert_eq!(refs["mozilla-platform-ops/ronin_puppet:master"], "mastersha", "found on the third page");
    assert_eq!(refs["aerickson/ronin_puppet:branch-2"], "sha2");
    let pools = store.latest::<WindowsPool>().await.expect("pools");
    assert_eq!(pools[0].pool_name, "win11-64-24h2-hw-ref");
    assert_eq!(pools[0].hash, "abc1234");
    let again =
        gather_gh(&store, &overrides, &settings, false, now + chrono::Duration::minutes(10)).await.expect("again");
    assert!(again.skipped.is_some(), "throttled within the hour");
    let forced =
        gather_gh(&store, &overrides, &settings, true, now + chrono::Duration::minutes(10)).await.expect("forced");
    assert!(forced.skipped.is_none());
}

#[tokio::test]
async fn quarantine_puts_the_documented_body() {
    let fake = Fake { pools: BTreeMap::from([("p".to_owned(), pool("p", 2))]), page_size: 10, ..Fake::default() };
    let (base, fake) = serve(fake).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store(dir.path()).await;
    store.put(&[observation("p-0.x", Some("r"), None)]).await.expect("put");
    let s = settings(&base, roles(&[("r", "p")]), None);
    let overrides = ContentStore::overrides(dir.path());
    gather_tc(&["p-0.x".to_owned()], &store, &overrides, &s, chrono::Utc::now(), &no_progress).await.expect("gather");
    let until = chrono::Utc::now() + chrono::Duration::days(1);
    let hosts = ["p-0.x".to_owned(), "unknown.x".to_owned()];
    let dry = quarantine(&hosts, &store, &s.client, until, "disk", true).await.expect("dry run");
    assert!(fake.puts.lock().expect("lock").is_empty(), "a dry run changes nothing");
    assert_eq!(dry[0].worker.as_deref(), Some("releng-hardware/p/mdc1/p-0"));
    assert!(!dry[1].ok);
    let done = quarantine(&hosts, &store, &s.client, until, "disk", false).await.expect("quarantine");
    assert!(done[0].ok, "{:?}", done[0].error);
    let puts = fake.puts.lock().expect("lock");
    assert_eq!(puts[0].0, "/api/queue/v1/provisioners/releng-hardware/worker-types/p/workers/mdc1/p-0");
    assert_eq!(puts[0].1["quarantineInfo"], "disk");
    assert!(puts[0].1["quarantineUntil"].as_str().is_some());
}
