//! `gather-tc`, `gather-gh` and quarantine: read what the Store knows of the
//! hosts, ask Taskcluster and GitHub, and store what they said. The pool
//! and SHA decisions are core's (`fleetroll_core::pools`); this module
//! fetches, counts problems per pool and per host, and writes.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use fleetroll_core::gather::Observed;
use fleetroll_core::pools::{
    self, DEFAULT_PROVISIONER, GITHUB_FETCH_INTERVAL_S, HostIndex, NoPool, OverrideInfo, Pool, RoleMap, Throttle,
};
use fleetroll_core::records::{BranchRef, TcWorker, WindowsPool};
use fleetroll_core::time::Timestamp;
use fleetroll_store::content::ContentStore;
use fleetroll_store::{LatestObservation, Store, StoreError};
use serde::Serialize;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::github::GhClient;
use crate::tc::{QueueWorker, TaskRun, TcClient};

/// What `gather-tc` needs besides the Store.
#[derive(Clone, Debug)]
pub struct TcSettings {
    pub client: TcClient,
    pub roles: RoleMap,
    /// Requests in flight at once, across pools.
    pub concurrency: usize,
    /// Ask the queue for each worker's latest task run (state and times).
    pub task_runs: bool,
}

/// What `gather-gh` needs besides the Store.
#[derive(Clone, Debug)]
pub struct GhSettings {
    pub client: GhClient,
    /// Fetch at most this often unless forced.
    pub interval_s: i64,
}

impl GhSettings {
    pub fn new(client: GhClient) -> GhSettings {
        GhSettings { client, interval_s: GITHUB_FETCH_INTERVAL_S }
    }
}

/// A failure the whole command stops for: the Store.
#[derive(Debug, thiserror::Error)]
pub enum GatherError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

/// A pool that could not be read, and why.
#[derive(Clone, Debug, Serialize)]
pub struct PoolProblem {
    pub pool: String,
    pub error: String,
}

/// A host that was skipped or only partly gathered, and why.
#[derive(Clone, Debug, Serialize)]
pub struct HostProblem {
    pub host: String,
    pub problem: String,
}

/// What one `gather-tc` run did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct TcReport {
    pub hosts: usize,
    pub pools_scanned: usize,
    pub workers_seen: usize,
    pub workers_written: usize,
    pub hosts_without_role: Vec<String>,
    /// Unknown role → its hosts.
    pub unknown_roles: BTreeMap<String, Vec<String>>,
    /// Hosts whose pool has no worker of their name.
    pub hosts_without_worker: Vec<String>,
    pub pool_errors: Vec<PoolProblem>,
    pub host_problems: Vec<HostProblem>,
}

impl TcReport {
    /// Whether anything went wrong that an operator should look at.
    pub fn has_problems(&self) -> bool {
        !(self.pool_errors.is_empty()
            && self.host_problems.is_empty()
            && self.unknown_roles.is_empty()
            && self.hosts_without_role.is_empty())
    }
}

/// One pool's result, as given to the progress callback.
#[derive(Debug)]
pub struct PoolDone<'a> {
    pub pool: &'a Pool,
    pub workers: usize,
    pub error: Option<&'a str>,
}

/// What a host's latest observation says about its pool.
struct HostFacts {
    role: Option<String>,
    worker_type_override: Option<String>,
}

/// Reads role and override pool from the newest observation that has them.
fn host_facts(
    host: &str,
    latest: Option<&LatestObservation>,
    overrides: &ContentStore,
    problems: &mut Vec<HostProblem>,
) -> HostFacts {
    let record = latest.map(|l| l.last_ok().unwrap_or(&l.latest));
    let observed: Observed = match record.map(|r| serde_json::from_value(r.observed.clone())) {
        Some(Ok(observed)) => observed,
        Some(Err(e)) => {
            problems
                .push(HostProblem { host: host.to_owned(), problem: format!("stored observation unreadable: {e}") });
            Observed::default()
        }
        None => Observed::default(),
    };
    let role = observed.role.filter(|_| observed.role_present);
    let worker_type_override = observed.override_sha256.and_then(|sha| match read_override(overrides, &sha) {
        Ok(text) => OverrideInfo::parse(&text).worker_type_override,
        Err(problem) => {
            problems.push(HostProblem { host: host.to_owned(), problem });
            None
        }
    });
    HostFacts { role, worker_type_override }
}

/// The text of the stored override with this SHA-256.
fn read_override(overrides: &ContentStore, sha: &str) -> Result<String, String> {
    let short = &sha[..sha.len().min(12)];
    let bytes =
        overrides.read_by_sha(sha).ok_or_else(|| format!("override {short} is not stored; gather-host stores it"))?;
    String::from_utf8(bytes).map_err(|_| format!("override {short} is not UTF-8"))
}

/// `gather-tc`: each host's pool from its stored role and override, the
/// pools' workers from Taskcluster, and one `TcWorker` per host found.
pub async fn gather_tc(
    hosts: &[String],
    store: &Store,
    overrides: &ContentStore,
    settings: &TcSettings,
    now: Timestamp,
    progress: &(dyn Fn(&PoolDone<'_>) + Sync),
) -> Result<TcReport, GatherError> {
    let mut report = TcReport { hosts: hosts.len(), ..TcReport::default() };
    let latest = store.latest_observations().await?;
    let facts: Vec<(&String, HostFacts)> = hosts
        .iter()
        .map(|h| (h, host_facts(h, latest.get(h.as_str()), overrides, &mut report.host_problems)))
        .collect();
    let windows = windows_pools(&facts, settings, &mut report).await;
    let mut by_pool: BTreeMap<Pool, Vec<String>> = BTreeMap::new();
    for (host, f) in &facts {
        match pools::resolve_pool(f.role.as_deref(), f.worker_type_override.as_deref(), &settings.roles, &windows) {
            Ok(pool) => by_pool.entry(pool).or_default().push((*host).clone()),
            Err(NoPool::NoRole) => report.hosts_without_role.push((*host).clone()),
            Err(NoPool::UnknownRole { role }) => report.unknown_roles.entry(role).or_default().push((*host).clone()),
        }
    }
    let listed = list_pools(&settings.client, by_pool.keys().cloned().collect(), settings.concurrency, progress).await;
    report.pools_scanned = listed.len();
    let mut matched = Vec::new();
    for (pool, result) in listed {
        let pool_hosts = &by_pool[&pool];
        match result {
            Ok((workers, states)) => {
                report.workers_seen += workers.len();
                let index = HostIndex::new(pool_hosts.iter().map(String::as_str));
                let mut found = BTreeSet::new();
                for worker in workers {
                    if let Some(host) = index.host_of(&worker.worker_id) {
                        found.insert(host.to_owned());
                        let state = states.get(&worker.worker_id).cloned().flatten();
                        matched.push((host.to_owned(), pool.clone(), worker, state));
                    }
                }
                report.hosts_without_worker.extend(pool_hosts.iter().filter(|h| !found.contains(*h)).cloned());
            }
            Err(error) => report.pool_errors.push(PoolProblem { pool: pool.id(), error }),
        }
    }
    let runs =
        if settings.task_runs { task_runs(&settings.client, &matched, settings.concurrency).await } else { Vec::new() };
    let mut records = Vec::with_capacity(matched.len());
    for (i, (host, pool, worker, state)) in matched.into_iter().enumerate() {
        let run = match runs.get(i) {
            Some(Err(e)) => {
                report.host_problems.push(HostProblem { host: host.clone(), problem: format!("latest task: {e}") });
                None
            }
            Some(Ok(run)) => run.clone(),
            None => None,
        };
        records.push(worker_record(host, now, &pool, worker, state, run));
    }
    store.put(&records).await?;
    report.workers_written = records.len();
    Ok(report)
}

/// Windows role → pool, when any host may be a Windows one.
async fn windows_pools(
    facts: &[(&String, HostFacts)],
    settings: &TcSettings,
    report: &mut TcReport,
) -> BTreeMap<String, Pool> {
    if !pools::wants_windows_pools(facts.iter().filter_map(|(_, f)| f.role.as_deref())) {
        return BTreeMap::new();
    }
    match settings.client.list_worker_types(DEFAULT_PROVISIONER).await {
        Ok(types) => pools::windows_pools(DEFAULT_PROVISIONER, types.iter().map(String::as_str)),
        Err(e) => {
            let pool = format!("{DEFAULT_PROVISIONER}/* (worker types)");
            report.pool_errors.push(PoolProblem { pool, error: e.to_string() });
            BTreeMap::new()
        }
    }
}

type PoolWorkers = (Vec<QueueWorker>, BTreeMap<String, Option<String>>);

/// Lists every pool's workers (and their worker-manager states), at most
/// `concurrency` pools at once; results in pool order.
async fn list_pools(
    client: &TcClient,
    pools: Vec<Pool>,
    concurrency: usize,
    progress: &(dyn Fn(&PoolDone<'_>) + Sync),
) -> Vec<(Pool, Result<PoolWorkers, String>)> {
    let permits = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut tasks = JoinSet::new();
    for (i, pool) in pools.into_iter().enumerate() {
        let (client, permits) = (client.clone(), permits.clone());
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            let result = list_pool(&client, &pool).await;
            (i, pool, result)
        });
    }
    let mut done = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let Ok((i, pool, result)) = joined else { continue };
        let (workers, error) = match &result {
            Ok((w, _)) => (w.len(), None),
            Err(e) => (0, Some(e.as_str())),
        };
        progress(&PoolDone { pool: &pool, workers, error });
        done.push((i, pool, result));
    }
    done.sort_by_key(|(i, _, _)| *i);
    done.into_iter().map(|(_, pool, result)| (pool, result)).collect()
}

async fn list_pool(client: &TcClient, pool: &Pool) -> Result<PoolWorkers, String> {
    let workers = client.list_workers(&pool.provisioner, &pool.worker_type).await.map_err(|e| e.to_string())?;
    // The worker-manager knows the state; a pool it does not manage has none.
    let managed = client.list_managed_workers(&pool.provisioner, &pool.worker_type).await.map_err(|e| e.to_string())?;
    let states = managed.unwrap_or_default().into_iter().map(|w| (w.worker_id, w.state)).collect();
    Ok((workers, states))
}

/// Each matched worker's latest task run, in the same order, bounded.
async fn task_runs(
    client: &TcClient,
    matched: &[(String, Pool, QueueWorker, Option<String>)],
    concurrency: usize,
) -> Vec<Result<Option<TaskRun>, String>> {
    let permits = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut tasks = JoinSet::new();
    for (i, (_, _, worker, _)) in matched.iter().enumerate() {
        let Some(latest) = worker.latest_task.clone() else { continue };
        let (client, permits) = (client.clone(), permits.clone());
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            (i, client.task_run(&latest.task_id, latest.run_id).await.map_err(|e| e.to_string()))
        });
    }
    let mut runs: Vec<Result<Option<TaskRun>, String>> = (0..matched.len()).map(|_| Ok(None)).collect();
    while let Some(joined) = tasks.join_next().await {
        if let Ok((i, run)) = joined {
            runs[i] = run;
        }
    }
    runs
}

fn parse_ts(value: Option<&str>) -> Option<Timestamp> {
    value.and_then(|v| chrono::DateTime::parse_from_rfc3339(v).ok()).map(|t| t.to_utc())
}

fn worker_record(
    host: String,
    now: Timestamp,
    pool: &Pool,
    worker: QueueWorker,
    state: Option<String>,
    run: Option<TaskRun>,
) -> TcWorker {
    TcWorker {
        host,
        ts: now,
        worker_id: worker.worker_id,
        worker_group: Some(worker.worker_group),
        provisioner: pool.provisioner.clone(),
        worker_type: pool.worker_type.clone(),
        first_claim: parse_ts(worker.first_claim.as_deref()),
        state,
        last_date_active: parse_ts(worker.last_date_active.as_deref()),
        task_started: parse_ts(run.as_ref().and_then(|r| r.started.as_deref())),
        task_resolved: parse_ts(run.as_ref().and_then(|r| r.resolved.as_deref())),
        task_state: run.map(|r| r.state),
        quarantine_until: parse_ts(worker.quarantine_until.as_deref()),
    }
}

/// What one `gather-gh` run did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct GhReport {
    /// Set when the throttle said not yet.
    pub skipped: Option<Throttle>,
    pub repos: usize,
    pub branches_wanted: usize,
    pub branches_written: usize,
    pub pools_written: usize,
    /// One line per repository, branch or file that gave nothing.
    pub errors: Vec<String>,
    pub has_token: bool,
}

/// `gather-gh`: branch heads of the default Puppet branch and of every
/// stored override's branch, and the Windows pools' image hashes.
pub async fn gather_gh(
    store: &Store,
    overrides: &ContentStore,
    settings: &GhSettings,
    force: bool,
    now: Timestamp,
) -> Result<GhReport, GatherError> {
    let mut report = GhReport { has_token: settings.client.has_token(), ..GhReport::default() };
    let newest = store.latest::<BranchRef>().await?.iter().map(|r| r.ts).max();
    if let skip @ Throttle::Skip { .. } = pools::throttle(newest, now, settings.interval_s, force) {
        report.skipped = Some(skip);
        return Ok(report);
    }
    let texts = override_texts(overrides, &mut report.errors);
    let wanted = pools::wanted_refs(texts.iter().map(String::as_str));
    report.repos = wanted.len();
    let mut refs = Vec::new();
    for ((owner, repo), branches) in &wanted {
        report.branches_wanted += branches.len();
        let heads: BTreeMap<String, String> = match settings.client.branch_heads(owner, repo).await {
            Ok(heads) => heads.into_iter().collect(),
            Err(e) => {
                report.errors.push(format!("{owner}/{repo}: {e}"));
                continue;
            }
        };
        for branch in branches {
            match heads.get(branch) {
                Some(sha) => refs.push(BranchRef {
                    owner: owner.clone(),
                    repo: repo.clone(),
                    branch: branch.clone(),
                    ts: now,
                    sha: sha.clone(),
                }),
                None => report.errors.push(format!("branch {branch} not found in {owner}/{repo}")),
            }
        }
    }
    let windows = match settings.client.windows_pools().await {
        Ok(found) => found.into_iter().map(|(pool_name, hash)| WindowsPool { pool_name, ts: now, hash }).collect(),
        Err(e) => {
            report.errors.push(format!("windows pools: {e}"));
            Vec::new()
        }
    };
    store.put(&refs).await?;
    store.put(&windows).await?;
    report.branches_written = refs.len();
    report.pools_written = windows.len();
    Ok(report)
}

/// The text of every stored override file (named links skipped).
fn override_texts(overrides: &ContentStore, errors: &mut Vec<String>) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(overrides.dir()) else { return Vec::new() };
    let files = entries.flatten().filter(|e| e.file_type().is_ok_and(|t| t.is_file()));
    files
        .filter_map(|entry| match std::fs::read_to_string(entry.path()) {
            Ok(text) => Some(text),
            Err(e) => {
                errors.push(format!("cannot read override {}: {e}", entry.path().display()));
                None
            }
        })
        .collect()
}

/// One host's quarantine outcome.
#[derive(Clone, Debug, Serialize)]
pub struct QuarantineOutcome {
    pub host: String,
    /// `provisioner/workerType/workerGroup/workerId`, when known.
    pub worker: Option<String>,
    pub ok: bool,
    pub error: Option<String>,
}

/// Quarantines (or, with `until` ≤ now, lifts the quarantine of) each
/// host's worker. The pool and worker group come from the newest stored
/// `TcWorker` (the group from the pool's worker list for older records). `dry_run` only resolves.
pub async fn quarantine(
    hosts: &[String],
    store: &Store,
    client: &TcClient,
    until: Timestamp,
    reason: &str,
    dry_run: bool,
) -> Result<Vec<QuarantineOutcome>, GatherError> {
    let known: BTreeMap<String, TcWorker> =
        store.latest::<TcWorker>().await?.into_iter().map(|w| (w.host.clone(), w)).collect();
    let mut groups: BTreeMap<Pool, Result<BTreeMap<String, String>, String>> = BTreeMap::new();
    let mut outcomes = Vec::new();
    for host in hosts {
        let outcome = |worker: Option<String>, error: Option<String>| QuarantineOutcome {
            host: host.clone(),
            ok: error.is_none(),
            worker,
            error,
        };
        let Some(record) = known.get(host) else {
            outcomes
                .push(outcome(None, Some("no Taskcluster worker stored for this host; run gather-tc first".into())));
            continue;
        };
        let pool = Pool::new(&record.provisioner, &record.worker_type);
        // gather-tc stores the worker group; only records from before it did
        // need the pool listed again to find it.
        let group = match &record.worker_group {
            Some(group) => Some(group.clone()),
            None => {
                if !groups.contains_key(&pool) {
                    let listed = client.list_workers(&pool.provisioner, &pool.worker_type).await;
                    let by_id = listed.map(|ws| ws.into_iter().map(|w| (w.worker_id, w.worker_group)).collect());
                    groups.insert(pool.clone(), by_id.map_err(|e| e.to_string()));
                }
                match &groups[&pool] {
                    Ok(by_id) => by_id.get(&record.worker_id).cloned(),
                    Err(e) => {
                        outcomes.push(outcome(None, Some(e.clone())));
                        continue;
                    }
                }
            }
        };
        let Some(group) = group else {
            outcomes.push(outcome(None, Some(format!("worker {} not listed in {}", record.worker_id, pool.id()))));
            continue;
        };
        let name = format!("{}/{group}/{}", pool.id(), record.worker_id);
        let ids = (pool.provisioner.as_str(), pool.worker_type.as_str(), group.as_str(), record.worker_id.as_str());
        let result = if dry_run {
            Ok(())
        } else {
            client.quarantine_worker(ids, &fleetroll_core::time::to_rfc3339(until), reason).await.map(|_| ())
        };
        outcomes.push(outcome(Some(name), result.err().map(|e| e.to_string())));
    }
    Ok(outcomes)
}
