//! The Taskcluster REST client: queue workers and worker types, worker-manager
//! workers, task status, and quarantine (reference B.8–B.9). Lists are paged
//! with `continuationToken`; every request is retried by [`crate::http`] and
//! signed with Hawk when credentials are given.

use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::hawk::{self, Credentials};
use crate::http::{self, HttpError, RetryPolicy};

/// Where and how to reach Taskcluster.
#[derive(Clone, Debug)]
pub struct TcClient {
    http: reqwest::Client,
    root_url: String,
    credentials: Option<Credentials>,
    retry: RetryPolicy,
}

/// One worker of the queue's `listWorkers`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueWorker {
    pub worker_group: String,
    pub worker_id: String,
    #[serde(default)]
    pub first_claim: Option<String>,
    #[serde(default)]
    pub last_date_active: Option<String>,
    #[serde(default)]
    pub quarantine_until: Option<String>,
    #[serde(default)]
    pub latest_task: Option<TaskRunRef>,
}

/// A task run named by a worker record.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskRunRef {
    pub task_id: String,
    pub run_id: i64,
}

/// One worker of the worker-manager's `listWorkersForWorkerPool`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagedWorker {
    pub worker_group: String,
    pub worker_id: String,
    #[serde(default)]
    pub state: Option<String>,
}

/// One run of a task, from the queue's `status`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskRun {
    pub run_id: i64,
    pub state: String,
    #[serde(default)]
    pub started: Option<String>,
    #[serde(default)]
    pub resolved: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Page<T> {
    #[serde(alias = "workerTypes")]
    workers: Vec<T>,
    #[serde(default)]
    continuation_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WorkerTypeItem {
    worker_type: String,
}

#[derive(Deserialize)]
struct TaskStatus {
    status: TaskStatusInner,
}

#[derive(Deserialize)]
struct TaskStatusInner {
    #[serde(default)]
    runs: Vec<TaskRun>,
}

/// Percent-encodes one path segment or query value.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl TcClient {
    /// A client for the deployment at `root_url` (e.g. `https://firefox-ci-tc.services.mozilla.com`).
    pub fn new(root_url: &str, credentials: Option<Credentials>, retry: RetryPolicy) -> Result<TcClient, HttpError> {
        let http = reqwest::Client::builder().user_agent(concat!("fleetroll/", env!("CARGO_PKG_VERSION"))).build();
        let http = http.map_err(|source| HttpError::Transport {
            method: Method::GET,
            url: root_url.to_owned(),
            attempts: 0,
            source,
        })?;
        Ok(TcClient { http, root_url: root_url.trim_end_matches('/').to_owned(), credentials, retry })
    }

    fn url(&self, service: &str, path: &str) -> String {
        format!("{}/api/{service}/v1{path}", self.root_url)
    }

    /// Sends one request (signed when there are credentials) with retries.
    async fn call(&self, method: Method, url: &str, body: Option<&Value>) -> Result<http::Answer, HttpError> {
        let build = || {
            let mut request = self.http.request(method.clone(), url);
            if let Some(body) = body {
                request = request.json(body);
            }
            if let Some(auth) = self.authorization(&method, url) {
                request = request.header(reqwest::header::AUTHORIZATION, auth);
            }
            request
        };
        http::send(&self.retry, &method, url, &build).await
    }

    fn authorization(&self, method: &Method, url: &str) -> Option<String> {
        let credentials = self.credentials.as_ref()?;
        let parsed = reqwest::Url::parse(url).ok()?;
        let resource = match parsed.query() {
            Some(q) => format!("{}?{q}", parsed.path()),
            None => parsed.path().to_owned(),
        };
        let request = hawk::Request {
            method: method.as_str(),
            resource: &resource,
            host: parsed.host_str()?,
            port: parsed.port_or_known_default()?,
        };
        Some(hawk::header(credentials, &request, chrono::Utc::now().timestamp(), &hawk::nonce()))
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, HttpError> {
        let answer = http::require_success(&Method::GET, url, self.call(Method::GET, url, None).await?)?;
        http::json(&Method::GET, url, &answer.body)
    }

    /// Every page of a list at `base` (which has no query yet).
    async fn paged<T: serde::de::DeserializeOwned>(&self, base: &str) -> Result<Vec<T>, HttpError> {
        let mut items = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let url = match &token {
                Some(t) => format!("{base}?limit=1000&continuationToken={}", encode(t)),
                None => format!("{base}?limit=1000"),
            };
            let page: Page<T> = self.get_json(&url).await?;
            items.extend(page.workers);
            match page.continuation_token {
                Some(next) if !next.is_empty() && token.as_ref() != Some(&next) => token = Some(next),
                _ => return Ok(items),
            }
        }
    }

    /// Queue `listWorkers` for one pool, all pages.
    pub async fn list_workers(&self, provisioner: &str, worker_type: &str) -> Result<Vec<QueueWorker>, HttpError> {
        let path = format!("/provisioners/{}/worker-types/{}/workers", encode(provisioner), encode(worker_type));
        self.paged(&self.url("queue", &path)).await
    }

    /// Queue worker-types listing of a provisioner, all pages.
    pub async fn list_worker_types(&self, provisioner: &str) -> Result<Vec<String>, HttpError> {
        let path = format!("/provisioners/{}/worker-types", encode(provisioner));
        let items: Vec<WorkerTypeItem> = self.paged(&self.url("queue", &path)).await?;
        Ok(items.into_iter().map(|i| i.worker_type).collect())
    }

    /// Worker-manager `listWorkersForWorkerPool`; `None` when the pool is not
    /// managed there (404), as standalone hardware pools may not be.
    pub async fn list_managed_workers(
        &self,
        provisioner: &str,
        worker_type: &str,
    ) -> Result<Option<Vec<ManagedWorker>>, HttpError> {
        let path = format!("/workers/{}/{}", encode(provisioner), encode(worker_type));
        match self.paged(&self.url("worker-manager", &path)).await {
            Ok(workers) => Ok(Some(workers)),
            Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The run `run_id` of a task, from queue `status`.
    pub async fn task_run(&self, task_id: &str, run_id: i64) -> Result<Option<TaskRun>, HttpError> {
        let status: TaskStatus =
            self.get_json(&self.url("queue", &format!("/task/{}/status", encode(task_id)))).await?;
        Ok(status.status.runs.into_iter().find(|r| r.run_id == run_id))
    }

    fn worker_path(provisioner: &str, worker_type: &str, group: &str, id: &str) -> String {
        format!(
            "/provisioners/{}/worker-types/{}/workers/{}/{}",
            encode(provisioner),
            encode(worker_type),
            encode(group),
            encode(id)
        )
    }

    /// Queue `getWorker`, as raw JSON (the caller reads what it needs).
    pub async fn get_worker(
        &self,
        provisioner: &str,
        worker_type: &str,
        group: &str,
        id: &str,
    ) -> Result<Value, HttpError> {
        self.get_json(&self.url("queue", &Self::worker_path(provisioner, worker_type, group, id))).await
    }

    /// Queue `quarantineWorker`: until `until` (RFC 3339), with `info` as the reason.
    pub async fn quarantine_worker(
        &self,
        (provisioner, worker_type, group, id): (&str, &str, &str, &str),
        until: &str,
        info: &str,
    ) -> Result<Value, HttpError> {
        let url = self.url("queue", &Self::worker_path(provisioner, worker_type, group, id));
        let body = serde_json::json!({"quarantineUntil": until, "quarantineInfo": info});
        let answer = http::require_success(&Method::PUT, &url, self.call(Method::PUT, &url, Some(&body)).await?)?;
        http::json(&Method::PUT, &url, &answer.body)
    }
}
