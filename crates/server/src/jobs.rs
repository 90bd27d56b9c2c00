//! Hardware jobs over HTTP (reference §A.4): asking for a job in roller's
//! two forms, and what roller lacked: a job's state and log, a list, and
//! cancelling.
//!
//! Asking is decided in this order, so a refusal never reveals more than
//! the caller may know and never leaves a job behind: the token (401), the
//! task name (400), the scope of *that* task (403; roller let any task's
//! scope through), the worker id and its machine in the inventory (404 when
//! unmanaged), and whether the machine has what the task needs (422: a BMC,
//! a PDU outlet, an SSH account). Only then is the job queued.

use chrono::Utc;
use fleetroll_core::jobs::inventory::Inventory;
use fleetroll_core::jobs::reboot::check_runnable;
use fleetroll_core::jobs::settings::{JobSettings, JobsConfig};
use fleetroll_core::jobs::{JobError, JobState, TaskName, check_scope};
use fleetroll_core::time::to_rfc3339;
use fleetroll_store::{CancelOutcome, Job, JobFilter, JobLogLine, NewJob};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Client;
use crate::error::ApiError;
use crate::state::AppState;

/// What the server knows to run jobs: the machines and the workers'
/// settings (from `[jobs]`).
#[derive(Clone, Debug)]
pub struct JobsContext {
    pub inventory: Inventory,
    pub settings: JobSettings,
}

impl JobsContext {
    /// From the `[jobs]` table; an empty table gives an empty inventory
    /// (every host unmanaged) and the default settings.
    pub fn from_config(config: &JobsConfig) -> Result<JobsContext, JobError> {
        Ok(JobsContext { inventory: config.inventory()?, settings: config.settings()? })
    }
}

impl Default for JobsContext {
    fn default() -> JobsContext {
        JobsContext::from_config(&JobsConfig::default()).expect("the default [jobs] settings are valid")
    }
}

/// `POST /api/v1/workers/{worker_id}/jobs?task_name=…` (roller's current
/// form; the Taskcluster fields are echoed as roller did).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WorkerJobQuery {
    task_name: String,
    worker_group: Option<String>,
    provisioner_id: Option<String>,
    worker_type: Option<String>,
    reason: Option<String>,
}

/// `POST /api/v1/jobs?tc_worker_id=…&task_name=…` (roller's README form).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TcJobQuery {
    tc_worker_id: String,
    task_name: String,
    reason: Option<String>,
}

/// `GET /api/v1/jobs?host=&state=&limit=`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuery {
    host: Option<String>,
    state: Option<String>,
    limit: Option<u32>,
}

/// The answer to a job request: roller's fields (`task_id` is the job id,
/// where roller put its Celery task id) and ours.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct JobCreated {
    pub task_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worker_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tc_worker_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worker_group: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provisioner_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worker_type: Option<String>,
    pub client_id: String,
    /// The job id as text, where roller clients read it.
    pub task_id: String,
    pub job_id: i64,
    /// The inventory's machine the worker id resolved to.
    pub host: String,
    pub state: String,
}

/// A job with its log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct JobView {
    pub id: i64,
    pub task: String,
    pub host: String,
    pub worker_group: Option<String>,
    pub worker_id: Option<String>,
    /// queued, running, succeeded, failed or cancelled.
    pub state: String,
    pub reason: String,
    pub requested_by: String,
    pub attempts: u32,
    pub max_attempts: u32,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub started_at: Option<String>,
    #[schema(format = DateTime)]
    pub finished_at: Option<String>,
    pub result: Option<String>,
    /// Every attempt's lines, in the order written.
    pub log: Vec<LogLineView>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct LogLineView {
    pub attempt: u32,
    #[schema(format = DateTime)]
    pub at: String,
    pub line: String,
}

/// `GET /api/v1/jobs`: newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct JobList {
    pub jobs: Vec<JobView>,
}

/// Whoever asked, and for which worker.
struct Request<'a> {
    client: &'a Client,
    task_name: &'a str,
    worker_id: &'a str,
    worker_group: Option<&'a str>,
    reason: Option<&'a str>,
}

impl AppState {
    pub(crate) async fn request_for_worker(
        &self,
        client: &Client,
        worker_id: &str,
        query: &WorkerJobQuery,
    ) -> Result<JobCreated, ApiError> {
        let request = Request {
            client,
            task_name: &query.task_name,
            worker_id,
            worker_group: query.worker_group.as_deref(),
            reason: query.reason.as_deref(),
        };
        let job = self.enqueue(&request).await?;
        Ok(JobCreated {
            worker_id: Some(worker_id.to_ascii_lowercase()),
            worker_group: Some(query.worker_group.clone().unwrap_or_else(|| "none".to_owned())),
            provisioner_id: Some(query.provisioner_id.clone().unwrap_or_default()),
            worker_type: Some(query.worker_type.clone().unwrap_or_default()),
            ..created(&job, &client.caller.client)
        })
    }

    pub(crate) async fn request_for_tc_worker(
        &self,
        client: &Client,
        query: &TcJobQuery,
    ) -> Result<JobCreated, ApiError> {
        let request = Request {
            client,
            task_name: &query.task_name,
            worker_id: &query.tc_worker_id,
            worker_group: None,
            reason: query.reason.as_deref(),
        };
        let job = self.enqueue(&request).await?;
        Ok(JobCreated { tc_worker_id: Some(query.tc_worker_id.clone()), ..created(&job, &client.caller.client) })
    }

    async fn enqueue(&self, request: &Request<'_>) -> Result<Job, ApiError> {
        let jobs = self.jobs_context();
        let task = TaskName::parse(request.task_name)?;
        check_scope(&request.client.held, &jobs.settings.scope_prefix, task)?;
        let machine = jobs.inventory.resolve(request.worker_id, request.worker_group)?;
        check_runnable(task, &jobs.settings.reboot_order, &jobs.inventory, machine)?;
        let mut new = NewJob::new(
            task,
            machine.name(),
            request.client.caller.who(),
            request.reason.unwrap_or("requested through the API"),
        );
        new.worker_group = request.worker_group.map(str::to_owned);
        new.worker_id = Some(request.worker_id.to_ascii_lowercase());
        new.max_attempts = jobs.settings.max_attempts;
        new.soft_limit = Some(jobs.settings.soft_limit);
        new.hard_limit = Some(jobs.settings.hard_limit);
        Ok(self.store().enqueue(&new, Utc::now()).await?)
    }

    pub(crate) async fn job_view(&self, id: i64) -> Result<JobView, ApiError> {
        let job = self.store().job(id).await?.ok_or(ApiError::UnknownJob { id })?;
        let log = self.store().job_log(id).await?;
        Ok(view(&job, &log))
    }

    pub(crate) async fn job_list(&self, query: &ListQuery) -> Result<JobList, ApiError> {
        let state = match query.state.as_deref() {
            None => None,
            Some(text) => Some(JobState::parse(text).ok_or_else(|| ApiError::BadRequest {
                title: "Unexpected value for `state`.",
                detail: format!("`state` must be queued, running, succeeded, failed or cancelled, not {text:?}."),
            })?),
        };
        let limit = match query.limit {
            None => fleetroll_store::DEFAULT_JOB_LIST_LIMIT,
            Some(limit @ 1..=1000) => limit as usize,
            Some(other) => {
                return Err(ApiError::BadRequest {
                    title: "Unexpected value for `limit`.",
                    detail: format!("`limit` must be from 1 to 1000, not {other}."),
                });
            }
        };
        // Jobs keep the machine's full name; a short name or worker id the
        // inventory knows finds them too.
        let jobs_context = self.jobs_context();
        let host = query.host.as_deref().map(|name| match jobs_context.inventory.lookup(name) {
            Ok(machine) => machine.name().to_owned(),
            Err(_) => name.to_owned(),
        });
        let filter = JobFilter { host, state, limit };
        let jobs = self.store().jobs(&filter).await?;
        Ok(JobList { jobs: jobs.iter().map(|job| view(job, &[])).collect() })
    }

    /// Cancels a job; the caller needs the scope of the job's task.
    pub(crate) async fn cancel_job(&self, client: &Client, id: i64) -> Result<JobView, ApiError> {
        let job = self.store().job(id).await?.ok_or(ApiError::UnknownJob { id })?;
        check_scope(&client.held, &self.jobs_context().settings.scope_prefix, job.task)?;
        match self.store().cancel(id, Utc::now()).await? {
            CancelOutcome::Withdrawn(job) | CancelOutcome::Stopping(job) => {
                let line = format!("cancel requested by {}", client.caller.who());
                self.store().append_job_log(id, job.attempts, Utc::now(), &line).await?;
                self.job_view(job.id).await
            }
            CancelOutcome::Refused(job) => Err(ApiError::JobFinished { id, state: job.state.as_str() }),
            CancelOutcome::NotFound => Err(ApiError::UnknownJob { id }),
        }
    }
}

fn created(job: &Job, client: &str) -> JobCreated {
    JobCreated {
        task_name: job.task.as_str().to_owned(),
        worker_id: None,
        tc_worker_id: None,
        worker_group: None,
        provisioner_id: None,
        worker_type: None,
        client_id: client.to_owned(),
        task_id: job.id.to_string(),
        job_id: job.id,
        host: job.host.clone(),
        state: job.state.as_str().to_owned(),
    }
}

fn view(job: &Job, log: &[JobLogLine]) -> JobView {
    JobView {
        id: job.id,
        task: job.task.as_str().to_owned(),
        host: job.host.clone(),
        worker_group: job.worker_group.clone(),
        worker_id: job.worker_id.clone(),
        state: job.state.as_str().to_owned(),
        reason: job.reason.clone(),
        requested_by: job.requested_by.clone(),
        attempts: job.attempts,
        max_attempts: job.max_attempts,
        created_at: to_rfc3339(job.created_at),
        started_at: job.started_at.map(to_rfc3339),
        finished_at: job.finished_at.map(to_rfc3339),
        result: job.result.clone(),
        log: log
            .iter()
            .map(|line| LogLineView { attempt: line.attempt, at: to_rfc3339(line.at), line: line.line.clone() })
            .collect(),
    }
}
