//! Worker pools and expected Puppet SHAs: which Taskcluster pool a host
//! works in, which GitHub branches are worth fetching, and which commit each
//! host should be running (reference §7, §8.2 PP_EXP/PP_MATCH, §9.1 16–19).
//!
//! Everything here is a function of the text and records the caller passes
//! in; `fleetroll-taskcluster` does the fetching and storing.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::hosts::short_name;
use crate::time::Timestamp;

/// The provisioner of every hardware pool the MVP knows.
pub const DEFAULT_PROVISIONER: &str = "releng-hardware";
/// A worker type that means "the role with `_` turned into `-`".
pub const AUTO_UNDER_TO_DASH: &str = "AUTO_under_to_dash";
/// Hosts without an override run this repository's default branch.
pub const DEFAULT_PUPPET_OWNER: &str = "mozilla-platform-ops";
pub const DEFAULT_PUPPET_REPO: &str = "ronin_puppet";
pub const DEFAULT_PUPPET_BRANCH: &str = "master";
/// GitHub is asked at most this often unless forced (the MVP's hour).
pub const GITHUB_FETCH_INTERVAL_S: i64 = 3600;

/// The MVP's `ROLE_TO_TASKCLUSTER` Linux rows: roles whose pool name differs
/// from the role.
const MVP_NAMED_ROLES: &[(&str, &str)] = &[
    ("gecko_t_linux_talos", "gecko-t-linux-talos-1804"),
    ("gecko_t_linux_2404_talos", "gecko-t-linux-talos-2404"),
    ("gecko_t_linux_netperf", "gecko-t-linux-netperf-1804"),
    ("gecko_t_linux_2404_netperf", "gecko-t-linux-netperf-2404"),
];

/// The MVP's macOS roles, whose pool is the role with dashes.
const MVP_AUTO_ROLES: &[&str] = &[
    "gecko_t_osx_1400_r8",
    "gecko_t_osx_1500_m4",
    "gecko_t_osx_1015_r8",
    "gecko_1_b_osx_1015",
    "gecko_t_osx_1015_r8_staging",
    "applicationservices_1_b_osx_1015",
    "mozillavpn_b_1_osx",
    "nss_3_b_osx_1015",
    "mozillavpn_b_3_osx",
    "gecko_3_b_osx_1015",
    "gecko_t_osx_1400_r8_staging",
    "gecko_1_b_osx_1015_staging",
    "gecko_t_osx_1500_m4_staging",
    "enterprise_1_b_osx_arm64",
    "gecko_3_b_osx_arm64",
    "nss_1_b_osx_1015",
    "enterprise_3_b_osx_arm64",
    "applicationservices_3_b_osx_1015",
    "gecko_1_b_osx_arm64",
];

/// A Taskcluster worker pool: `provisionerId/workerType`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Pool {
    pub provisioner: String,
    pub worker_type: String,
}

impl Pool {
    pub fn new(provisioner: &str, worker_type: &str) -> Pool {
        Pool { provisioner: provisioner.to_owned(), worker_type: worker_type.to_owned() }
    }

    /// The worker-manager's `workerPoolId`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.provisioner, self.worker_type)
    }
}

fn default_provisioner() -> String {
    DEFAULT_PROVISIONER.to_owned()
}

/// Where one role's hosts work, as written in configuration:
/// `gecko_t_linux_talos = { worker_type = "gecko-t-linux-talos-1804" }`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleTarget {
    #[serde(default = "default_provisioner")]
    pub provisioner: String,
    /// A pool name, or [`AUTO_UNDER_TO_DASH`].
    pub worker_type: String,
}

/// Role → pool, configurable (`[taskcluster.roles]`); the default is the MVP's table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RoleMap(pub BTreeMap<String, RoleTarget>);

impl Default for RoleMap {
    fn default() -> RoleMap {
        let auto = |provisioner: &str, worker_type: &str| RoleTarget {
            provisioner: provisioner.to_owned(),
            worker_type: worker_type.to_owned(),
        };
        let named = MVP_NAMED_ROLES.iter().map(|(role, wt)| ((*role).to_owned(), auto(DEFAULT_PROVISIONER, wt)));
        let dashed =
            MVP_AUTO_ROLES.iter().map(|role| ((*role).to_owned(), auto(DEFAULT_PROVISIONER, AUTO_UNDER_TO_DASH)));
        RoleMap(named.chain(dashed).collect())
    }
}

impl RoleMap {
    /// The default table with `configured` entries added or replacing its rows.
    pub fn with(configured: &RoleMap) -> RoleMap {
        let mut map = RoleMap::default();
        map.0.extend(configured.0.iter().map(|(k, v)| (k.clone(), v.clone())));
        map
    }

    /// The pool of `role`'s hosts, if the table names one.
    pub fn pool_of(&self, role: &str) -> Option<Pool> {
        let target = self.0.get(role)?;
        let worker_type =
            if target.worker_type == AUTO_UNDER_TO_DASH { role.replace('_', "-") } else { target.worker_type.clone() };
        Some(Pool { provisioner: target.provisioner.clone(), worker_type })
    }
}

/// Whether any of `roles` may be a Windows role (starts with `win`, no `_`),
/// so the worker-types list is worth fetching.
pub fn wants_windows_pools<'a>(roles: impl IntoIterator<Item = &'a str>) -> bool {
    roles.into_iter().any(is_windows_role)
}

fn is_windows_role(role: &str) -> bool {
    role.starts_with("win") && !role.contains('_')
}

/// Windows role → pool from the provisioner's worker types: every type
/// starting with `win`, its role being its name without dashes
/// (`win11-64-24h2-hw-ref` ↔ `win116424h2hwref`).
pub fn windows_pools<'a>(provisioner: &str, worker_types: impl IntoIterator<Item = &'a str>) -> BTreeMap<String, Pool> {
    worker_types
        .into_iter()
        .filter(|wt| wt.starts_with("win"))
        .map(|wt| (windows_role_of(wt), Pool::new(provisioner, wt)))
        .collect()
}

/// The role of a Windows pool: its name without dashes.
pub fn windows_role_of(pool_name: &str) -> String {
    pool_name.replace('-', "")
}

/// Why a host has no pool.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum NoPool {
    /// No observation with a role, and no override naming a pool.
    NoRole,
    /// A role neither the table nor the Windows pools know.
    UnknownRole { role: String },
}

/// The pool a host works in: its override's `WORKER_TYPE_OVERRIDE` (keeping
/// the role's provisioner, or the default one), else its role's pool.
pub fn resolve_pool(
    role: Option<&str>,
    worker_type_override: Option<&str>,
    roles: &RoleMap,
    windows: &BTreeMap<String, Pool>,
) -> Result<Pool, NoPool> {
    let by_role = role.and_then(|r| roles.pool_of(r).or_else(|| windows.get(r).cloned()));
    match (worker_type_override, by_role, role) {
        (Some(wt), by_role, _) => {
            let provisioner = by_role.map_or_else(default_provisioner, |p| p.provisioner);
            Ok(Pool { provisioner, worker_type: wt.to_owned() })
        }
        (None, Some(pool), _) => Ok(pool),
        (None, None, Some(role)) => Err(NoPool::UnknownRole { role: role.to_owned() }),
        (None, None, None) => Err(NoPool::NoRole),
    }
}

/// What fleetroll reads from an override file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct OverrideInfo {
    pub branch: Option<String>,
    pub repo_url: Option<String>,
    /// `(owner, repo)` when `PUPPET_REPO` is on GitHub.
    pub github: Option<(String, String)>,
    pub worker_type_override: Option<String>,
}

impl OverrideInfo {
    /// Reads an override file's text without running it: literal,
    /// uncommented assignments only, as the MVP's `parse_override_file`.
    pub fn parse(text: &str) -> OverrideInfo {
        let repo_url = literal_assignment(text, "PUPPET_REPO");
        OverrideInfo {
            branch: literal_assignment(text, "PUPPET_BRANCH"),
            github: repo_url.as_deref().and_then(github_repo),
            repo_url,
            worker_type_override: literal_assignment(text, "WORKER_TYPE_OVERRIDE"),
        }
    }

    /// The branch this override makes its hosts run, when it can be known.
    pub fn branch_ref(&self) -> Option<RefKey> {
        let (owner, repo) = self.github.clone()?;
        Some(RefKey { owner, repo, branch: self.branch.clone()? })
    }
}

/// The value of the first uncommented `NAME=value` line (optionally
/// `export`ed) whose value is literal: single-quoted, double-quoted without
/// expansions, or a bare word; an empty value counts as none. Lines that
/// would need a shell to evaluate are ignored, as the MVP does.
pub fn literal_assignment(text: &str, name: &str) -> Option<String> {
    text.lines().find_map(|line| assignment_value(line, name)).filter(|v| !v.is_empty())
}

fn assignment_value(line: &str, name: &str) -> Option<String> {
    let line = line.trim_start_matches([' ', '\t']);
    let line = match line.strip_prefix("export") {
        Some(rest) if rest.starts_with([' ', '\t']) => rest.trim_start_matches([' ', '\t']),
        _ => line,
    };
    let rest = line.strip_prefix(name)?.strip_prefix('=')?;
    let (value, tail) = split_value(rest)?;
    is_trailing_comment(tail).then(|| value.to_owned())
}

/// Splits a literal value from what follows it on the line.
fn split_value(rest: &str) -> Option<(&str, &str)> {
    if let Some(quoted) = rest.strip_prefix('\'') {
        let end = quoted.find('\'')?;
        return Some((&quoted[..end], &quoted[end + 1..]));
    }
    if let Some(quoted) = rest.strip_prefix('"') {
        let end = quoted.find('"')?;
        let value = &quoted[..end];
        return (!value.contains(['$', '`', '\\'])).then(|| (value, &quoted[end + 1..]));
    }
    let end = rest.find(|c: char| c.is_whitespace()).unwrap_or(rest.len());
    let word = &rest[..end];
    let plain = !word.is_empty() && !word.contains(['\'', '"', '$', '`', '\\', ';', '|', '&', '<', '>', '(', ')']);
    plain.then(|| (word, &rest[end..]))
}

/// Whether `tail` is nothing, blanks, or blanks and then a `#` comment.
fn is_trailing_comment(tail: &str) -> bool {
    let trimmed = tail.trim_start_matches([' ', '\t']);
    trimmed.is_empty() || (trimmed.starts_with('#') && trimmed.len() < tail.len())
}

/// `(owner, repo)` of a GitHub URL, as the MVP's
/// `github\.com[:/]([^/]+)/([^/]+?)(?:\.git)?$`.
pub fn github_repo(url: &str) -> Option<(String, String)> {
    let mut from = 0;
    while let Some(found) = url[from..].find("github.com") {
        let after = from + found + "github.com".len();
        if let Some(parsed) = owner_and_repo(&url[after..]) {
            return Some(parsed);
        }
        from = from + found + 1;
    }
    None
}

fn owner_and_repo(tail: &str) -> Option<(String, String)> {
    let path = tail.strip_prefix([':', '/'])?;
    let (owner, repo) = path.split_once('/')?;
    if owner.is_empty() || repo.is_empty() || repo.contains('/') {
        return None;
    }
    let repo = repo.strip_suffix(".git").filter(|r| !r.is_empty()).unwrap_or(repo);
    Some((owner.to_owned(), repo.to_owned()))
}

/// One branch of one GitHub repository.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct RefKey {
    pub owner: String,
    pub repo: String,
    pub branch: String,
}

impl RefKey {
    /// The default repository's default branch.
    pub fn default_branch() -> RefKey {
        RefKey {
            owner: DEFAULT_PUPPET_OWNER.to_owned(),
            repo: DEFAULT_PUPPET_REPO.to_owned(),
            branch: DEFAULT_PUPPET_BRANCH.to_owned(),
        }
    }
}

/// The branches to fetch, per `(owner, repo)`: always the default branch,
/// plus the branch of every stored override on GitHub.
pub fn wanted_refs<'a>(
    override_texts: impl IntoIterator<Item = &'a str>,
) -> BTreeMap<(String, String), BTreeSet<String>> {
    let mut wanted: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    let refs = override_texts.into_iter().filter_map(|text| OverrideInfo::parse(text).branch_ref());
    for key in std::iter::once(RefKey::default_branch()).chain(refs) {
        wanted.entry((key.owner, key.repo)).or_default().insert(key.branch);
    }
    wanted
}

/// Whether to ask GitHub now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Throttle {
    Fetch,
    /// Fetched `age_s` seconds ago; the next fetch is due in `remaining_s`.
    Skip {
        age_s: i64,
        remaining_s: i64,
    },
}

/// Fetch unless the newest stored ref is younger than the interval, or forced.
/// (The MVP's message called the remaining minutes the age; both are given.)
pub fn throttle(newest: Option<Timestamp>, now: Timestamp, interval_s: i64, force: bool) -> Throttle {
    match newest {
        Some(ts) if !force => {
            let age_s = (now - ts).num_seconds();
            if (0..interval_s).contains(&age_s) {
                Throttle::Skip { age_s, remaining_s: interval_s - age_s }
            } else {
                Throttle::Fetch
            }
        }
        _ => Throttle::Fetch,
    }
}

/// Hosts by the name Taskcluster calls their worker: the short hostname,
/// compared without case as DNS does.
#[derive(Clone, Debug, Default)]
pub struct HostIndex(BTreeMap<String, String>);

impl HostIndex {
    pub fn new<'a>(hosts: impl IntoIterator<Item = &'a str>) -> HostIndex {
        HostIndex(hosts.into_iter().map(|h| (short_name(h).to_ascii_lowercase(), h.to_owned())).collect())
    }

    /// The host a worker id belongs to.
    pub fn host_of(&self, worker_id: &str) -> Option<&str> {
        self.0.get(&worker_id.to_ascii_lowercase()).map(String::as_str)
    }
}

/// What the expected SHA of a host is read from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum ExpectedSource {
    /// The head of a branch (the override's, or the default one).
    Branch(RefKey),
    /// A Windows pool's image hash.
    WindowsPool { pool_name: String },
    /// The host has an override whose branch cannot be known (file not
    /// stored, no branch, or not on GitHub).
    UnresolvedOverride,
    /// A Windows host whose role names no known pool.
    UnknownWindowsPool,
}

/// What decides a host's expected SHA and whether it matches.
#[derive(Clone, Copy, Debug, Default)]
pub struct HostPuppet<'a> {
    pub is_windows: bool,
    pub role: Option<&'a str>,
    /// The stored override file's reading, when the host has an override;
    /// `Some(None)` when it has one that is not stored.
    pub override_info: Option<Option<&'a OverrideInfo>>,
    pub git_sha: Option<&'a str>,
    pub success: Option<bool>,
}

/// `Y`, `N` or `-` in the monitor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum PpMatch {
    Yes,
    No,
    Unknown,
}

/// Where a host's expected SHA comes from.
pub fn expected_source(host: &HostPuppet<'_>, windows_pools: &BTreeMap<String, String>) -> ExpectedSource {
    if host.is_windows {
        let pool = host.role.and_then(|role| windows_pools.keys().find(|name| windows_role_of(name) == role));
        return pool.map_or(ExpectedSource::UnknownWindowsPool, |name| ExpectedSource::WindowsPool {
            pool_name: name.clone(),
        });
    }
    match host.override_info {
        None => ExpectedSource::Branch(RefKey::default_branch()),
        Some(info) => {
            info.and_then(OverrideInfo::branch_ref).map_or(ExpectedSource::UnresolvedOverride, ExpectedSource::Branch)
        }
    }
}

/// The SHA (or Windows image hash) a host should be running, if known.
pub fn expected_sha(
    host: &HostPuppet<'_>,
    refs: &BTreeMap<RefKey, String>,
    windows_pools: &BTreeMap<String, String>,
) -> Option<String> {
    match expected_source(host, windows_pools) {
        ExpectedSource::Branch(key) => refs.get(&key).cloned(),
        ExpectedSource::WindowsPool { pool_name } => windows_pools.get(&pool_name).cloned(),
        ExpectedSource::UnresolvedOverride | ExpectedSource::UnknownWindowsPool => None,
    }
}

/// PP_MATCH: Linux and macOS need the exact SHA and a successful run;
/// Windows reports an image hash, which matches when one is a prefix of the
/// other and the run did not fail.
pub fn pp_match(host: &HostPuppet<'_>, expected: Option<&str>) -> PpMatch {
    let (Some(expected), Some(git_sha)) = (expected, host.git_sha) else {
        return PpMatch::Unknown;
    };
    let matches = if host.is_windows {
        let short: String = git_sha.chars().take(7).collect();
        (git_sha.starts_with(expected) || expected.starts_with(&short)) && host.success != Some(false)
    } else {
        git_sha == expected && host.success == Some(true)
    };
    if matches { PpMatch::Yes } else { PpMatch::No }
}

/// The first 7 characters, as PP_EXP and PP_SHA show them.
pub fn short_sha(sha: &str) -> String {
    sha.chars().take(7).collect()
}

#[cfg(test)]
mod tests;
