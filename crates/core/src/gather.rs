//! Reading what the remote audit script printed: the `KEY=value` protocol,
//! the Puppet state, the override contents, and what kind of failure it was.
//!
//! The script (see [`crate::script`]) prints `KEY=value` lines, then
//! `AUDIT_DONE=1`, then optionally the sentinel line and the raw override
//! file. Everything here works on bytes the caller collected; nothing is
//! read from a host or a disk.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::humanhash::sha256_hex;

/// The line after which the raw override file follows.
pub const OVERRIDE_SENTINEL: &str = "__FLEETROLL_OVERRIDE_CONTENT__";
/// The line that says the script ran to its end; its absence means the
/// output was cut short.
pub const DONE_LINE: &str = "AUDIT_DONE=1";

/// What one audit learned about a host. Field names are the MVP's, so its
/// stored observations and ours read the same.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Observed {
    pub os_type: Option<String>,
    pub uptime_s: Option<i64>,
    pub role_present: bool,
    pub role: Option<String>,
    pub override_present: bool,
    pub override_meta: Option<FileMeta>,
    pub override_sha256: Option<String>,
    pub vault_present: bool,
    pub vault_meta: Option<FileMeta>,
    pub vault_sha256: Option<String>,
    pub puppet_state_ts: Option<String>,
    pub puppet_last_run_epoch: Option<i64>,
    pub puppet_success: Option<bool>,
    pub puppet_git_sha: Option<String>,
    pub puppet_git_repo: Option<String>,
    pub puppet_git_branch: Option<String>,
    pub puppet_git_dirty: Option<bool>,
    pub puppet_override_sha_applied: Option<String>,
    pub puppet_vault_sha_applied: Option<String>,
    pub puppet_role: Option<String>,
    pub puppet_exit_code: Option<i64>,
    pub puppet_duration_s: Option<i64>,
    /// Why the Puppet state could not be read, when it was there but broken.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub puppet_state_error: Option<String>,
}

/// `stat` of a file as the script printed it (strings, as in the MVP).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileMeta {
    pub mode: String,
    pub owner: String,
    pub group: String,
    pub size: String,
    pub mtime_epoch: String,
}

/// Why an audit failed, kept distinct so operators can tell "unreachable"
/// from "refused us" from "broken host".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureClass {
    /// The host could not be reached: refused, unresolvable, no route.
    Connection,
    /// The host answered but would not let us in (key, host key, sudo).
    Auth,
    /// No complete answer within the per-host timeout or the batch deadline.
    Timeout,
    /// The script ran and failed on the host.
    Remote,
    /// The output was cut short or garbled.
    Protocol,
}

impl FailureClass {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureClass::Connection => "connection",
            FailureClass::Auth => "auth",
            FailureClass::Timeout => "timeout",
            FailureClass::Remote => "remote",
            FailureClass::Protocol => "protocol",
        }
    }
}

/// A failed audit: its class and one line saying what happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub class: FailureClass,
    pub message: String,
}

/// What running the script over SSH produced.
#[derive(Clone, Debug, Default)]
pub struct RawAudit {
    /// ssh's exit status; `None` when it was killed (timeout).
    pub exit_code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub timed_out: bool,
}

/// The parsed audit of one host.
#[derive(Clone, Debug, PartialEq)]
pub struct Audit {
    pub observed: Observed,
    pub failure: Option<Failure>,
    /// The override file's bytes, when present, requested and non-empty.
    pub override_content: Option<Vec<u8>>,
    /// The vault file's bytes, when the script sent them (their SHA was not
    /// one the caller already held).
    pub vault_content: Option<Vec<u8>>,
    /// A problem with the vault copy that does not fail the audit.
    pub vault_error: Option<String>,
}

impl Audit {
    pub fn is_ok(&self) -> bool {
        self.failure.is_none()
    }
}

/// Parses lines that contain `=`: key and value split at the first `=` and
/// trimmed; the last duplicate wins; other lines are ignored (MVP
/// `parse_kv_lines`).
pub fn parse_kv_lines(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| (key.trim().to_owned(), value.trim().to_owned()))
        .collect()
}

/// Classifies a failed ssh run from its exit status and stderr.
pub fn classify_ssh_failure(raw: &RawAudit, timeout_description: &str) -> Failure {
    let stderr = String::from_utf8_lossy(&raw.stderr);
    let last_line = stderr.lines().rev().find(|line| !line.trim().is_empty()).unwrap_or("").trim();
    if raw.timed_out {
        return Failure {
            class: FailureClass::Timeout,
            message: format!("no complete answer within {timeout_description}"),
        };
    }
    const CONNECTION: [&str; 9] = [
        "Connection refused",
        "Connection timed out",
        "Could not resolve hostname",
        "Network is unreachable",
        "No route to host",
        "Connection closed by",
        "Connection reset",
        "kex_exchange_identification",
        "banner exchange",
    ];
    const AUTH: [&str; 5] = [
        "Permission denied",
        "Host key verification failed",
        "Too many authentication failures",
        "sudo: a password is required",
        "sudo: a terminal is required",
    ];
    let code = raw.exit_code.map_or_else(|| "killed".to_owned(), |c| c.to_string());
    let message = if last_line.is_empty() { format!("exit {code}") } else { format!("{last_line} (exit {code})") };
    let class = if AUTH.iter().any(|p| stderr.contains(p)) {
        FailureClass::Auth
    } else if stderr.contains("timed out during banner exchange") {
        // The host took the connection and then said nothing: it is there
        // but hung, which an operator treats differently from unreachable.
        FailureClass::Timeout
    } else if CONNECTION.iter().any(|p| stderr.contains(p)) || raw.exit_code == Some(255) {
        // 255 is ssh's own failure status: the script never ran.
        FailureClass::Connection
    } else {
        FailureClass::Remote
    };
    Failure { class, message }
}

/// Parses one host's audit. `timeout_description` words a timeout failure.
pub fn parse_audit(raw: &RawAudit, timeout_description: &str) -> Audit {
    let mut audit = Audit {
        observed: Observed::default(),
        failure: None,
        override_content: None,
        vault_content: None,
        vault_error: None,
    };
    if raw.timed_out || raw.exit_code != Some(0) {
        audit.failure = Some(classify_ssh_failure(raw, timeout_description));
        // A failed run may still have printed something useful (the MVP
        // stored it); parse what there is, but the failure stands.
    }
    let (header, content) = split_at_sentinel(&raw.stdout);
    let header = match std::str::from_utf8(header) {
        Ok(text) => text,
        Err(err) => {
            audit.failure.get_or_insert(Failure {
                class: FailureClass::Protocol,
                message: format!("audit output is not UTF-8 (byte {})", err.valid_up_to()),
            });
            return audit;
        }
    };
    let kv = parse_kv_lines(header);
    fill_host_facts(&mut audit.observed, &kv);
    fill_puppet_state(&mut audit.observed, &kv);
    fill_override(&mut audit, &kv, content);
    fill_vault(&mut audit, &kv);
    if audit.failure.is_none() && !header.lines().any(|line| line.trim() == DONE_LINE) {
        audit.failure = Some(Failure {
            class: FailureClass::Protocol,
            message: "audit output ended early (no AUDIT_DONE line)".to_owned(),
        });
    }
    audit
}

fn split_at_sentinel(stdout: &[u8]) -> (&[u8], Option<&[u8]>) {
    let marker = format!("{OVERRIDE_SENTINEL}\n");
    let at_line_start = |i: usize| i == 0 || stdout[i - 1] == b'\n';
    let found = stdout.windows(marker.len()).enumerate().find(|(i, w)| *w == marker.as_bytes() && at_line_start(*i));
    match found {
        Some((i, _)) => (&stdout[..i], Some(&stdout[i + marker.len()..])),
        None => (stdout, None),
    }
}

fn flag(kv: &BTreeMap<String, String>, key: &str) -> bool {
    kv.get(key).is_some_and(|v| v == "1")
}

fn text(kv: &BTreeMap<String, String>, key: &str) -> Option<String> {
    kv.get(key).filter(|v| !v.is_empty()).cloned()
}

fn integer(kv: &BTreeMap<String, String>, key: &str) -> Option<i64> {
    kv.get(key).and_then(|v| v.parse().ok())
}

fn file_meta(kv: &BTreeMap<String, String>, prefix: &str) -> Option<FileMeta> {
    let field = |name: &str| kv.get(&format!("{prefix}_{name}")).cloned();
    Some(FileMeta {
        mode: field("MODE")?,
        owner: field("OWNER").unwrap_or_default(),
        group: field("GROUP").unwrap_or_default(),
        size: field("SIZE").unwrap_or_default(),
        mtime_epoch: field("MTIME").unwrap_or_default(),
    })
}

fn fill_host_facts(observed: &mut Observed, kv: &BTreeMap<String, String>) {
    observed.os_type = text(kv, "OS_TYPE");
    observed.uptime_s = integer(kv, "UPTIME_S");
    observed.role_present = flag(kv, "ROLE_PRESENT");
    observed.role = if observed.role_present { text(kv, "ROLE") } else { None };
}

fn fill_override(audit: &mut Audit, kv: &BTreeMap<String, String>, content: Option<&[u8]>) {
    let observed = &mut audit.observed;
    observed.override_present = flag(kv, "OVERRIDE_PRESENT");
    if !observed.override_present {
        return;
    }
    observed.override_meta = file_meta(kv, "OVERRIDE");
    let reported_sha = text(kv, "OVERRIDE_SHA256");
    match content.filter(|c| !c.is_empty()) {
        Some(content) => {
            let sha = sha256_hex(content);
            if reported_sha.as_ref().is_some_and(|reported| *reported != sha) && audit.failure.is_none() {
                audit.failure = Some(Failure {
                    class: FailureClass::Protocol,
                    message: "override contents arrived incomplete (their SHA-256 differs from the host's)".to_owned(),
                });
            }
            observed.override_sha256 = Some(sha);
            audit.override_content = Some(content.to_vec());
        }
        // An empty file has no SHA in the MVP's records; keep that meaning.
        None => {
            observed.override_sha256 =
                reported_sha.filter(|_| observed.override_meta.as_ref().is_none_or(|m| m.size != "0"))
        }
    }
}

fn fill_vault(audit: &mut Audit, kv: &BTreeMap<String, String>) {
    let observed = &mut audit.observed;
    observed.vault_present = flag(kv, "VLT_PRESENT");
    if !observed.vault_present {
        return;
    }
    observed.vault_meta = file_meta(kv, "VLT");
    observed.vault_sha256 = text(kv, "VLT_SHA256");
    let Some(encoded) = kv.get("VLT_CONTENT_B64") else { return };
    match base64::engine::general_purpose::STANDARD.decode(encoded) {
        Ok(bytes) if observed.vault_sha256.as_deref() == Some(sha256_hex(&bytes).as_str()) => {
            audit.vault_content = Some(bytes);
        }
        Ok(_) => audit.vault_error = Some("vault copy does not match the host's SHA-256".to_owned()),
        Err(err) => audit.vault_error = Some(format!("vault copy is not valid base64: {err}")),
    }
}

/// The Puppet state: the JSON file first, then the legacy KV keys for any
/// field the JSON did not supply.
fn fill_puppet_state(observed: &mut Observed, kv: &BTreeMap<String, String>) {
    if let Some(encoded) = kv.get("PP_STATE_JSON") {
        match decode_state_json(encoded) {
            Ok(state) => apply_state_json(observed, &state),
            Err(err) => observed.puppet_state_error = Some(err),
        }
    }
    let o = observed;
    o.puppet_state_ts = o.puppet_state_ts.take().or_else(|| text(kv, "PP_STATE_TS"));
    o.puppet_last_run_epoch = o
        .puppet_last_run_epoch
        .or_else(|| integer(kv, "PP_LAST_RUN_EPOCH"))
        .or_else(|| o.puppet_state_ts.as_deref().and_then(epoch_of))
        .or_else(|| kv.get("PP_REPORT_TIME").and_then(|t| epoch_of(t.trim_matches(['"', '\'']))));
    o.puppet_success = o
        .puppet_success
        .or_else(|| kv.get("PP_SUCCESS").map(|v| v == "1"))
        .or_else(|| kv.get("PP_REPORT_STATUS").map(|status| status.trim_matches(['"', '\'']) != "failed"));
    o.puppet_git_sha = o.puppet_git_sha.take().or_else(|| text(kv, "PP_GIT_SHA"));
    o.puppet_git_repo = o.puppet_git_repo.take().or_else(|| text(kv, "PP_GIT_REPO"));
    o.puppet_git_branch = o.puppet_git_branch.take().or_else(|| text(kv, "PP_GIT_BRANCH"));
    o.puppet_git_dirty = o.puppet_git_dirty.or_else(|| kv.get("PP_GIT_DIRTY").map(|v| v == "1"));
    o.puppet_override_sha_applied =
        o.puppet_override_sha_applied.take().or_else(|| text(kv, "PP_OVERRIDE_SHA_APPLIED"));
    o.puppet_vault_sha_applied = o.puppet_vault_sha_applied.take().or_else(|| text(kv, "PP_VAULT_SHA_APPLIED"));
    o.puppet_role = o.puppet_role.take().or_else(|| text(kv, "PP_ROLE"));
    o.puppet_exit_code = o.puppet_exit_code.or_else(|| integer(kv, "PP_EXIT_CODE"));
    o.puppet_duration_s = o.puppet_duration_s.or_else(|| integer(kv, "PP_DURATION_S"));
}

fn decode_state_json(encoded: &str) -> Result<serde_json::Map<String, Value>, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|err| format!("Puppet state is not valid base64: {err}"))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(state)) => Ok(state),
        Ok(_) => Err("Puppet state is not a JSON object".to_owned()),
        Err(err) => Err(format!("Puppet state is not valid JSON: {err}")),
    }
}

/// Maps the state file's fields; `"NA"` (the Windows writer's unknown) and
/// values of the wrong type become null.
fn apply_state_json(o: &mut Observed, state: &serde_json::Map<String, Value>) {
    let field = |key: &str| state.get(key).filter(|v| !v.is_null() && v.as_str() != Some("NA"));
    let string = |key: &str| field(key).and_then(Value::as_str).map(str::to_owned);
    let boolean = |key: &str| field(key).and_then(Value::as_bool);
    let int = |key: &str| field(key).and_then(Value::as_i64);
    o.puppet_state_ts = string("ts");
    o.puppet_last_run_epoch = o.puppet_state_ts.as_deref().and_then(epoch_of);
    o.puppet_success = boolean("success");
    o.puppet_exit_code = int("exit_code");
    o.puppet_duration_s = int("duration_s");
    o.puppet_role = string("role");
    o.puppet_git_repo = string("git_repo");
    o.puppet_git_branch = string("git_branch");
    o.puppet_git_sha = string("git_sha");
    o.puppet_git_dirty = boolean("git_dirty");
    o.puppet_override_sha_applied = string("override_sha");
    o.puppet_vault_sha_applied = string("vault_sha");
}

/// Seconds since the epoch of an ISO 8601 / RFC 3339 time (`Z` or an
/// offset, fractional seconds allowed; a time without offset is UTC).
fn epoch_of(ts: &str) -> Option<i64> {
    if let Ok(parsed) = chrono::DateTime::parse_from_rfc3339(ts) {
        return Some(parsed.timestamp());
    }
    let naive = chrono::NaiveDateTime::parse_from_str(ts, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(ts, "%Y-%m-%d %H:%M:%S%.f"))
        .ok()?;
    Some(naive.and_utc().timestamp())
}

/// A batch at a glance: how many hosts succeeded, failures by class, and
/// which override contents are deployed where.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct BatchSummary {
    pub total: usize,
    pub successful: usize,
    pub failed: usize,
    pub failed_by_class: BTreeMap<FailureClass, usize>,
    /// Distinct override SHA-256s of successful audits, most widespread
    /// first (ties by SHA), each with its hosts in the order given.
    pub unique_overrides: Vec<OverrideGroup>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OverrideGroup {
    pub sha256: String,
    pub hosts: Vec<String>,
}

/// Summarises `(host, audit)` pairs. Failed audits count only as failures:
/// what they saw of an override is not evidence of what is deployed.
pub fn summarize<'a>(results: impl IntoIterator<Item = (&'a str, &'a Audit)>) -> BatchSummary {
    let mut summary = BatchSummary::default();
    let mut groups: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (host, audit) in results {
        summary.total += 1;
        match &audit.failure {
            Some(failure) => {
                summary.failed += 1;
                *summary.failed_by_class.entry(failure.class).or_default() += 1;
            }
            None => {
                summary.successful += 1;
                if let Some(sha) = &audit.observed.override_sha256 {
                    groups.entry(sha).or_default().push(host.to_owned());
                }
            }
        }
    }
    summary.unique_overrides =
        groups.into_iter().map(|(sha, hosts)| OverrideGroup { sha256: sha.to_owned(), hosts }).collect();
    summary.unique_overrides.sort_by(|a, b| b.hosts.len().cmp(&a.hosts.len()).then_with(|| a.sha256.cmp(&b.sha256)));
    summary
}

#[cfg(test)]
mod tests;
