//! Worker liveness over HTTP: the reference listener's `/machines` routes,
//! byte for byte, and the richer `/api/v1/workers` routes.
//!
//! What a run means (outcomes, the current task) is core's `liveness`; this
//! module reads the store and shapes.
//!
//! One rule ties the list to the detail: a worker's outcomes and current
//! task come from the runs of the window, those resolved in it and those
//! still running, so both routes say the same about a worker. The detail
//! applies core's `outcomes` and `current_run` to one worker's runs of the
//! window ([`in_window`]); the list reads the store's `worker_activity`,
//! which counts and picks the same in SQL for every worker at once (the
//! store's conformance cases hold it to core's rules).

use std::collections::HashMap;
use std::fmt::Write as _;

use chrono::{Duration, Utc};
use fleetroll_core::liveness::{
    self, Outcomes, RunRecord, RunState, Sighting, WorkerActivity, format_lastseen, split_machine_id,
};
use fleetroll_core::time::{Timestamp, to_rfc3339};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::schema;
use crate::state::AppState;

/// The window of `/api/v1/workers` when none is asked for, in hours.
pub const DEFAULT_WINDOW_HOURS: u32 = 24;
/// The widest window: the store keeps 30 days of runs.
pub const MAX_WINDOW_HOURS: u32 = 720;
/// How many runs `/api/v1/workers/{group}/{id}` lists when not told.
pub const DEFAULT_RECENT_LIMIT: u32 = 20;
pub const MAX_RECENT_LIMIT: u32 = 500;

/// A worker now: when it was last seen, what it runs and how its runs of
/// the window ended.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Worker {
    pub worker_group: String,
    pub worker_id: String,
    /// RFC 3339, UTC.
    #[schema(format = DateTime)]
    pub last_seen: String,
    /// The run the worker is on, `null` when idle (or not known to run one).
    #[schema(required = true)]
    pub current_task: Option<CurrentTask>,
    #[schema(value_type = schema::Outcomes)]
    pub outcomes: Outcomes,
}

/// The run a worker is on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct CurrentTask {
    pub task_id: String,
    pub run_id: i64,
    /// RFC 3339, UTC.
    #[schema(format = DateTime)]
    pub started: String,
}

/// `GET /api/v1/workers`: every worker seen, by worker group, then id.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Workers {
    /// The window's start (RFC 3339, UTC): outcomes count runs resolved since.
    #[schema(format = DateTime)]
    pub since: String,
    pub workers: Vec<Worker>,
}

/// `GET /api/v1/workers/{group}/{id}`: a worker, with its newest runs.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct WorkerDetail {
    pub worker_group: String,
    pub worker_id: String,
    #[schema(format = DateTime)]
    pub last_seen: String,
    #[schema(required = true)]
    pub current_task: Option<CurrentTask>,
    #[schema(value_type = schema::Outcomes)]
    pub outcomes: Outcomes,
    #[schema(format = DateTime)]
    pub since: String,
    /// The newest runs, newest first, whenever they ran.
    #[schema(value_type = Vec<schema::RunRecord>)]
    pub recent: Vec<RunRecord>,
}

/// `?window=` of `/api/v1/workers`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WindowQuery {
    window: Option<String>,
}

/// `?window=&limit=` of `/api/v1/workers/{group}/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DetailQuery {
    window: Option<String>,
    limit: Option<String>,
}

impl WindowQuery {
    pub(crate) fn hours(&self) -> Result<u32, ApiError> {
        window_hours(self.window.as_deref())
    }
}

impl DetailQuery {
    pub(crate) fn hours(&self) -> Result<u32, ApiError> {
        window_hours(self.window.as_deref())
    }

    pub(crate) fn limit(&self) -> Result<u32, ApiError> {
        let limit = bounded(self.limit.as_deref(), DEFAULT_RECENT_LIMIT, MAX_RECENT_LIMIT);
        limit.map_err(|value| ApiError::BadRequest {
            title: "Unexpected value for `limit`.",
            detail: format!("`limit` must be a whole number of runs from 1 to {MAX_RECENT_LIMIT}, not {value:?}."),
        })
    }
}

fn window_hours(text: Option<&str>) -> Result<u32, ApiError> {
    bounded(text, DEFAULT_WINDOW_HOURS, MAX_WINDOW_HOURS).map_err(|value| ApiError::BadRequest {
        title: "Unexpected value for `window`.",
        detail: format!("`window` must be a whole number of hours from 1 to {MAX_WINDOW_HOURS}, not {value:?}."),
    })
}

/// `text` as a number in `1..=max`, `default` when absent; the text when not.
fn bounded(text: Option<&str>, default: u32, max: u32) -> Result<u32, &str> {
    let Some(text) = text else { return Ok(default) };
    match text.parse::<u32>() {
        Ok(value) if (1..=max).contains(&value) && text.bytes().all(|b| b.is_ascii_digit()) => Ok(value),
        _ => Err(text),
    }
}

impl AppState {
    /// When the machine `<dc>:<host>` was last seen.
    pub(crate) async fn machine_seen(&self, id: &str) -> Result<Timestamp, ApiError> {
        let (group, worker) = split_machine_id(id).ok_or(ApiError::UnknownMachine)?;
        self.store().sighting(group, worker).await?.ok_or(ApiError::UnknownMachine)
    }

    /// Every worker seen, with its current task and the outcomes of the
    /// last `hours`: one read of the sightings and one of each worker's
    /// activity in the window, side by side on two connections.
    pub(crate) async fn workers(&self, hours: u32) -> Result<Workers, ApiError> {
        let since = window_start(hours);
        let (sightings, activity) = tokio::try_join!(self.store().sightings(), self.store().worker_activity(since))?;
        Ok(Workers { since: to_rfc3339(since), workers: summarise(sightings, &activity) })
    }

    /// One worker, with its newest `limit` runs.
    pub(crate) async fn worker(
        &self,
        worker_group: String,
        worker_id: String,
        hours: u32,
        limit: u32,
    ) -> Result<WorkerDetail, ApiError> {
        let since = window_start(hours);
        let Some(seen) = self.store().sighting(&worker_group, &worker_id).await? else {
            return Err(ApiError::UnknownWorker { worker_group, worker_id });
        };
        // Every stored run: the store keeps a month of them, one worker's
        // are few, and the window's may be more than `limit`.
        let mut runs = self.store().worker_runs(&worker_group, &worker_id, usize::MAX).await?;
        let in_window: Vec<&RunRecord> = runs.iter().filter(|run| in_window(run, since)).collect();
        let (current_task, outcomes) = activity(&in_window, since);
        runs.truncate(limit as usize);
        Ok(WorkerDetail {
            worker_group,
            worker_id,
            last_seen: to_rfc3339(seen),
            current_task,
            outcomes,
            since: to_rfc3339(since),
            recent: runs,
        })
    }
}

fn window_start(hours: u32) -> Timestamp {
    fleetroll_core::time::truncate_to_micros(Utc::now() - Duration::hours(i64::from(hours)))
}

/// The window's runs: resolved at or after `since`, or still running.
fn in_window(run: &RunRecord, since: Timestamp) -> bool {
    run.state == RunState::Running || run.resolved.is_some_and(|at| at >= since)
}

/// A worker's current task and outcomes, from its runs of the window.
fn activity(runs: &[&RunRecord], since: Timestamp) -> (Option<CurrentTask>, Outcomes) {
    (liveness::current_run(runs.iter().copied()).map(current_task), liveness::outcomes(runs.iter().copied(), since))
}

fn current_task(run: &RunRecord) -> CurrentTask {
    CurrentTask {
        task_id: run.task_id.clone(),
        run_id: run.run_id,
        // Always there: `current_run` only picks runs that started.
        started: run.started.map(to_rfc3339).unwrap_or_default(),
    }
}

/// Each sighting with its activity, in the sightings' order. Activity of a
/// worker without a sighting is left out: every stored run comes with a
/// sighting, so there is none but in a store edited by hand.
pub(crate) fn summarise(sightings: Vec<Sighting>, activity: &[WorkerActivity]) -> Vec<Worker> {
    let by_worker: HashMap<(&str, &str), &WorkerActivity> =
        activity.iter().map(|a| ((a.worker_group.as_str(), a.worker_id.as_str()), a)).collect();
    sightings
        .into_iter()
        .map(|sighting| {
            let found = by_worker.get(&(sighting.worker_group.as_str(), sighting.worker_id.as_str()));
            Worker {
                current_task: found.and_then(|a| a.current_run.as_ref()).map(current_task),
                outcomes: found.map_or_else(Outcomes::default, |a| a.outcomes.clone()),
                last_seen: to_rfc3339(sighting.seen),
                worker_group: sighting.worker_group,
                worker_id: sighting.worker_id,
            }
        })
        .collect()
}

/// `GET /machines` as the reference listener wrote it: Python 2.7's
/// `json.dumps(entries, indent=2)`, whose item separator `", "` leaves a
/// space at the end of every line but the last of an object, with the keys
/// in the order of the reference's README and no final newline. Clients
/// that compared exports of the reference (or cached them) see no change.
pub(crate) fn machines_json(sightings: &[Sighting]) -> String {
    if sightings.is_empty() {
        return "[]".to_owned();
    }
    let mut out = String::with_capacity(sightings.len() * 128);
    out.push('[');
    for (i, sighting) in sightings.iter().enumerate() {
        out.push_str(if i == 0 { "\n  {" } else { ", \n  {" });
        out.push_str("\n    \"machine\": ");
        python_json_string(&sighting.worker_id, &mut out);
        out.push_str(", \n    \"datacenter\": ");
        python_json_string(&sighting.worker_group, &mut out);
        out.push_str(", \n    \"lastseen\": ");
        python_json_string(&format_lastseen(sighting.seen), &mut out);
        out.push_str("\n  }");
    }
    out.push_str("\n]");
    out
}

/// `GET /machines/{id}`: the time as a JSON string, as the reference wrote it.
pub(crate) fn machine_json(seen: Timestamp) -> String {
    let mut out = String::new();
    python_json_string(&format_lastseen(seen), &mut out);
    out
}

/// `text` as Python's `json.dumps` writes a string by default
/// (`ensure_ascii`): printable ASCII as is, the short escapes, and every
/// other character as `\uXXXX` in lowercase hex (UTF-16, so two for
/// characters beyond the BMP).
fn python_json_string(text: &str, out: &mut String) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                for unit in c.encode_utf16(&mut [0; 2]) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests;
