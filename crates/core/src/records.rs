//! The records fleetroll keeps about hosts, workers and repositories.
//!
//! Each record is one observation at one time of one key (a host, a branch, a
//! pool). The store keeps the newest few per key; see `fleetroll-store`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::gather::{Failure, Observed};
use crate::time::{Timestamp, serde_rfc3339};

/// What one audit of one host saw.
///
/// `ok` is false when the audit ran but failed (authentication, timeout,
/// remote error); the store always keeps the newest `ok` record of a host so
/// that the last known good state survives a run of failures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HostObservation {
    pub host: String,
    #[serde(deserialize_with = "serde_rfc3339::required")]
    pub ts: Timestamp,
    pub ok: bool,
    /// What the audit observed: [`crate::gather::Observed`] as JSON, kept as
    /// a value so records written by older versions still read.
    #[serde(default)]
    pub observed: Value,
    /// ssh's exit status; `None` when it was killed (timeout) or never ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_rc: Option<i32>,
    /// Why the audit failed; `None` when `ok`. Every failure is recorded,
    /// unreachable hosts included, so a monitor shows a host is down *now*;
    /// retention keeps the host's last good observation beside it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
}

/// A [`HostObservation`] with what the audit observed decoded into its
/// fields: how a whole fleet is read for display. Decoding straight into
/// fields costs a fraction of building a JSON value per host first, in time
/// and in memory. Records whose fields do not fit (from an older writer)
/// are read as a [`HostObservation`] and converted, field by field.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ObservedHost {
    pub host: String,
    #[serde(deserialize_with = "serde_rfc3339::required")]
    pub ts: Timestamp,
    pub ok: bool,
    #[serde(default)]
    pub observed: Observed,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_rc: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
}

impl From<HostObservation> for ObservedHost {
    fn from(obs: HostObservation) -> ObservedHost {
        ObservedHost {
            observed: crate::rows::read_observed(&obs.observed),
            host: obs.host,
            ts: obs.ts,
            ok: obs.ok,
            ssh_rc: obs.ssh_rc,
            failure: obs.failure,
        }
    }
}

/// One Taskcluster worker as seen by one `gather-tc` run (reference §7.2.7).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TcWorker {
    pub host: String,
    #[serde(deserialize_with = "serde_rfc3339::required")]
    pub ts: Timestamp,
    pub worker_id: String,
    /// The worker's group (its datacenter); with the id, its identity in
    /// Taskcluster and in Pulse messages.
    #[serde(default)]
    pub worker_group: Option<String>,
    pub provisioner: String,
    pub worker_type: String,
    /// When the worker first claimed a task.
    #[serde(default, deserialize_with = "serde_rfc3339::optional")]
    pub first_claim: Option<Timestamp>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default, deserialize_with = "serde_rfc3339::optional")]
    pub last_date_active: Option<Timestamp>,
    #[serde(default, deserialize_with = "serde_rfc3339::optional")]
    pub task_started: Option<Timestamp>,
    #[serde(default, deserialize_with = "serde_rfc3339::optional")]
    pub task_resolved: Option<Timestamp>,
    #[serde(default)]
    pub task_state: Option<String>,
    #[serde(default, deserialize_with = "serde_rfc3339::optional")]
    pub quarantine_until: Option<Timestamp>,
}

impl TcWorker {
    /// A worker of `provisioner/worker_type` seen at `ts`, with nothing else
    /// known yet: what every source starts from before it fills in the rest.
    pub fn new(
        host: impl Into<String>,
        worker_id: impl Into<String>,
        provisioner: impl Into<String>,
        worker_type: impl Into<String>,
        ts: Timestamp,
    ) -> TcWorker {
        TcWorker {
            host: host.into(),
            ts,
            worker_id: worker_id.into(),
            worker_group: None,
            provisioner: provisioner.into(),
            worker_type: worker_type.into(),
            first_claim: None,
            state: None,
            last_date_active: None,
            task_started: None,
            task_resolved: None,
            task_state: None,
            quarantine_until: None,
        }
    }
}

/// The head of one branch of one GitHub repository at one time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BranchRef {
    pub owner: String,
    pub repo: String,
    pub branch: String,
    #[serde(deserialize_with = "serde_rfc3339::required")]
    pub ts: Timestamp,
    pub sha: String,
}

/// The image hash a Windows worker pool is expected to run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowsPool {
    pub pool_name: String,
    #[serde(deserialize_with = "serde_rfc3339::required")]
    pub ts: Timestamp,
    pub hash: String,
}
