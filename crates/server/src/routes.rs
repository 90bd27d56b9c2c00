//! The handlers, each with its OpenAPI operation beside it, and the table
//! that registers both ([`api_routes`]). Handlers only extract, call one
//! method of the state or the store, and shape the answer.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use fleetroll_core::trees::{
    self, EntryEdit, NewTree, StackEntry, TREE_SUMMARY_LOG_LIMIT, TreeError, TreeLog, TreeRow, TreeSummary, TreesUpdate,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Client, CreateTree, DeleteTree, RevertChanges, UpdateTrees, Writer};
use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery, JsonBody};
use crate::jobs::{JobCreated, JobList, JobView, ListQuery, TcJobQuery, WorkerJobQuery};
use crate::liveness::{self, DetailQuery, WindowQuery, WorkerDetail, Workers};
use crate::options::VersionInfo;
use crate::schema::{self, BadRequest, BodilessWriteProblems, InternalError, JobProblems, NotFound, WriteProblems};
use crate::state::AppState;
use crate::writes::{LogEdited, Removed, RemovedTrees, StackEdited, StackRemoved, TreesDelete};

/// Every route with its operation; the OpenAPI document is what this
/// registers, so a route cannot be served without being documented.
pub(crate) fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(<schema::ApiDoc as utoipa::OpenApi>::openapi())
        .routes(routes!(get_trees, patch_trees))
        .routes(routes!(get_trees2, delete_trees2))
        .routes(routes!(get_tree, put_tree, delete_tree))
        .routes(routes!(get_logs))
        .routes(routes!(get_logs_all))
        .routes(routes!(patch_log))
        .routes(routes!(get_stack))
        .routes(routes!(patch_stack, delete_stack))
        .routes(routes!(restore_stack))
        .routes(routes!(discard_stack))
        .routes(routes!(v0_trees))
        .routes(routes!(v0_tree))
        .routes(routes!(get_machines))
        .routes(routes!(get_machine))
        .routes(routes!(get_workers))
        .routes(routes!(get_worker))
        .routes(routes!(post_worker_job))
        .routes(routes!(post_job, get_jobs))
        .routes(routes!(get_job, delete_job))
        .routes(routes!(heartbeat))
        .routes(routes!(lbheartbeat))
        .routes(routes!(version))
        .routes(routes!(metrics))
        .routes(routes!(openapi_json))
}

/// `{"result": …}`, the envelope of reads.
#[derive(Debug, Serialize)]
struct Envelope<T> {
    result: T,
}

/// Pre-serialised JSON: from the trees cache, or written as the reference
/// listener wrote it.
fn json_bytes(bytes: Bytes) -> Response {
    ([(CONTENT_TYPE, HeaderValue::from_static("application/json"))], bytes).into_response()
}

// ---------------------------------------------------------------------------
// Trees

/// Every tree by name.
#[utoipa::path(get, path = "/trees", tag = "trees", responses((status = 200, description = "Every tree, by name", body = schema::TreesByName), InternalError))]
async fn get_trees(State(state): State<AppState>) -> Result<Response, ApiError> {
    Ok(json_bytes(state.trees().await?.by_name.clone()))
}

/// Every tree, as a list ordered by name.
#[utoipa::path(get, path = "/trees2", tag = "trees", responses((status = 200, description = "Every tree", body = schema::TreeList), InternalError))]
async fn get_trees2(State(state): State<AppState>) -> Result<Response, ApiError> {
    Ok(json_bytes(state.trees().await?.list.clone()))
}

/// One tree. Served from memory; safe to call often.
#[utoipa::path(
    get, path = "/trees/{tree}", tag = "trees",
    params(("tree" = String, Path, description = "The tree's name")),
    responses((status = 200, description = "The tree", body = schema::TreeResult), BadRequest, NotFound, InternalError),
)]
async fn get_tree(State(state): State<AppState>, ApiPath(tree): ApiPath<String>) -> Result<Response, ApiError> {
    let snapshot = state.trees().await?;
    let found = snapshot.trees.get(&tree).ok_or(TreeError::NoSuchTree { tree })?;
    Ok(json_bytes(found.enveloped.clone()))
}

/// Updates trees: status, reason, tags, message of the day; `remember`
/// keeps the change on the undo stack. Answers the trees after the update.
#[utoipa::path(
    patch, path = "/trees", tag = "trees",
    request_body = schema::TreesUpdate,
    responses((status = 200, description = "The named trees after the update", body = Vec<schema::TreeSummary>), NotFound, WriteProblems),
    security(("bearer" = [])),
)]
async fn patch_trees(
    State(state): State<AppState>,
    writer: Writer<UpdateTrees>,
    JsonBody(update): JsonBody<TreesUpdate>,
) -> Result<Json<Vec<TreeSummary>>, ApiError> {
    Ok(Json(state.update_trees(writer.caller(), update).await?))
}

/// Creates a tree; the name in the body must match the path.
#[utoipa::path(
    put, path = "/trees/{tree}", tag = "trees",
    params(("tree" = String, Path, description = "The new tree's name")),
    request_body = schema::NewTree,
    responses((status = 201, description = "The tree created", body = schema::TreeRow), NotFound, WriteProblems),
    security(("bearer" = [])),
)]
async fn put_tree(
    State(state): State<AppState>,
    writer: Writer<CreateTree>,
    ApiPath(tree): ApiPath<String>,
    JsonBody(new): JsonBody<NewTree>,
) -> Result<(StatusCode, Json<TreeRow>), ApiError> {
    Ok((StatusCode::CREATED, Json(state.create_tree(writer.caller(), tree, new).await?)))
}

/// Deletes a tree with its log and its undo-stack rows.
#[utoipa::path(
    delete, path = "/trees/{tree}", tag = "trees",
    params(("tree" = String, Path, description = "The tree's name")),
    responses((status = 200, description = "The tree deleted", body = Removed), NotFound, BodilessWriteProblems),
    security(("bearer" = [])),
)]
async fn delete_tree(
    State(state): State<AppState>,
    writer: Writer<DeleteTree>,
    ApiPath(tree): ApiPath<String>,
) -> Result<Json<Removed>, ApiError> {
    Ok(Json(state.delete_tree(writer.caller(), tree).await?))
}

/// Deletes several trees: all of them, or none when one is unknown.
#[utoipa::path(
    delete, path = "/trees2", tag = "trees",
    request_body = TreesDelete,
    responses((status = 200, description = "The trees deleted", body = RemovedTrees), NotFound, WriteProblems),
    security(("bearer" = [])),
)]
async fn delete_trees2(
    State(state): State<AppState>,
    writer: Writer<DeleteTree>,
    JsonBody(body): JsonBody<TreesDelete>,
) -> Result<Json<RemovedTrees>, ApiError> {
    Ok(Json(state.delete_trees(writer.caller(), body).await?))
}

/// `?all=1` on `/logs` lists every row, as gen 1 and 2 did.
#[derive(Debug, Deserialize)]
struct LogsQuery {
    all: Option<String>,
}

/// A tree's newest five log rows, newest first.
#[utoipa::path(
    get, path = "/trees/{tree}/logs", tag = "trees",
    params(
        ("tree" = String, Path, description = "The tree's name"),
        ("all" = Option<String>, Query, description = "`1`: every row, as `/logs_all`"),
    ),
    responses((status = 200, description = "Log rows, newest first", body = schema::TreeLogs), BadRequest, NotFound, InternalError),
)]
async fn get_logs(
    State(state): State<AppState>,
    ApiPath(tree): ApiPath<String>,
    ApiQuery(query): ApiQuery<LogsQuery>,
) -> Result<Json<Envelope<Vec<TreeLog>>>, ApiError> {
    let limit = match query.all.as_deref() {
        None | Some("0") => Some(TREE_SUMMARY_LOG_LIMIT),
        Some("1") => None,
        Some(other) => {
            let detail = format!("`all` must be 0 or 1, not {other:?}.");
            return Err(ApiError::BadRequest { title: "Unexpected value for `all`.", detail });
        }
    };
    Ok(Json(Envelope { result: state.store().tree_logs(&tree, limit).await? }))
}

/// Every log row of a tree, newest first.
#[utoipa::path(
    get, path = "/trees/{tree}/logs_all", tag = "trees",
    params(("tree" = String, Path, description = "The tree's name")),
    responses((status = 200, description = "Log rows, newest first", body = schema::TreeLogs), BadRequest, NotFound, InternalError),
)]
async fn get_logs_all(
    State(state): State<AppState>,
    ApiPath(tree): ApiPath<String>,
) -> Result<Json<Envelope<Vec<TreeLog>>>, ApiError> {
    Ok(Json(Envelope { result: state.store().tree_logs(&tree, None).await? }))
}

/// Amends a log row's reason or tags (and the stack entry that wrote it).
#[utoipa::path(
    patch, path = "/log/{id}", tag = "trees",
    params(("id" = i64, Path, description = "The log row's id")),
    request_body = schema::EntryEdit,
    responses((status = 200, description = "The log row after the edit", body = LogEdited), NotFound, WriteProblems),
    security(("bearer" = [])),
)]
async fn patch_log(
    State(state): State<AppState>,
    writer: Writer<UpdateTrees>,
    ApiPath(id): ApiPath<i64>,
    JsonBody(edit): JsonBody<EntryEdit>,
) -> Result<Json<LogEdited>, ApiError> {
    Ok(Json(state.edit_log(writer.caller(), id, edit).await?))
}

// ---------------------------------------------------------------------------
// The undo stack

/// The undo stack, newest first.
#[utoipa::path(get, path = "/stack", tag = "trees", responses((status = 200, description = "The undo stack, newest first", body = schema::Stack), InternalError))]
async fn get_stack(State(state): State<AppState>) -> Result<Json<Envelope<Vec<StackEntry>>>, ApiError> {
    Ok(Json(Envelope { result: state.store().stack().await? }))
}

/// Amends a stack entry's reason or tags, and the log rows it wrote.
#[utoipa::path(
    patch, path = "/stack/{id}", tag = "trees",
    params(("id" = i64, Path, description = "The stack entry's id")),
    request_body = schema::EntryEdit,
    responses((status = 200, description = "The entry after the edit", body = StackEdited), NotFound, WriteProblems),
    security(("bearer" = [])),
)]
async fn patch_stack(
    State(state): State<AppState>,
    writer: Writer<RevertChanges>,
    ApiPath(id): ApiPath<i64>,
    JsonBody(edit): JsonBody<EntryEdit>,
) -> Result<Json<StackEdited>, ApiError> {
    Ok(Json(state.edit_stack_entry(writer.caller(), id, edit).await?))
}

/// `?revert=0|1` of `DELETE /stack/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RevertQuery {
    revert: Option<String>,
}

/// Removes a stack entry; `revert=1` first restores its trees.
#[utoipa::path(
    delete, path = "/stack/{id}", tag = "trees",
    params(
        ("id" = i64, Path, description = "The stack entry's id"),
        ("revert" = Option<String>, Query, description = "`1`: restore the trees first; `0` (the default): discard"),
    ),
    responses((status = 200, description = "The entry removed", body = StackRemoved), NotFound, BodilessWriteProblems),
    security(("bearer" = [])),
)]
async fn delete_stack(
    State(state): State<AppState>,
    writer: Writer<RevertChanges>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<RevertQuery>,
) -> Result<Json<StackRemoved>, ApiError> {
    let revert = trees::parse_revert(query.revert.as_deref())?;
    Ok(Json(state.remove_stack_entry(writer.caller(), id, revert).await?))
}

/// Restores a stack entry's trees and removes it (`DELETE /stack/{id}?revert=1`).
#[utoipa::path(
    delete, path = "/stack2/restore/{id}", tag = "trees",
    params(("id" = i64, Path, description = "The stack entry's id")),
    responses((status = 200, description = "The entry removed", body = StackRemoved), NotFound, BodilessWriteProblems),
    security(("bearer" = [])),
)]
async fn restore_stack(
    State(state): State<AppState>,
    writer: Writer<RevertChanges>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<StackRemoved>, ApiError> {
    Ok(Json(state.remove_stack_entry(writer.caller(), id, true).await?))
}

/// Removes a stack entry, keeping the trees as they are (`DELETE /stack/{id}?revert=0`).
#[utoipa::path(
    delete, path = "/stack2/discard/{id}", tag = "trees",
    params(("id" = i64, Path, description = "The stack entry's id")),
    responses((status = 200, description = "The entry removed", body = StackRemoved), NotFound, BodilessWriteProblems),
    security(("bearer" = [])),
)]
async fn discard_stack(
    State(state): State<AppState>,
    writer: Writer<RevertChanges>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<StackRemoved>, ApiError> {
    Ok(Json(state.remove_stack_entry(writer.caller(), id, false).await?))
}

// ---------------------------------------------------------------------------
// Compatibility with the oldest clients

/// Every tree by name, without the `result` envelope.
#[utoipa::path(
    get, path = "/v0/trees", tag = "compat",
    responses((status = 200, description = "Every tree, by name", body = BTreeMap<String, schema::Tree>), InternalError),
)]
async fn v0_trees(State(state): State<AppState>) -> Result<Response, ApiError> {
    Ok(json_bytes(state.trees().await?.bare_by_name.clone()))
}

/// One tree, without the `result` envelope.
#[utoipa::path(
    get, path = "/v0/trees/{tree}", tag = "compat",
    params(("tree" = String, Path, description = "The tree's name")),
    responses((status = 200, description = "The tree", body = schema::Tree), BadRequest, NotFound, InternalError),
)]
async fn v0_tree(State(state): State<AppState>, ApiPath(tree): ApiPath<String>) -> Result<Response, ApiError> {
    let snapshot = state.trees().await?;
    let found = snapshot.trees.get(&tree).ok_or(TreeError::NoSuchTree { tree })?;
    Ok(json_bytes(found.bare.clone()))
}

// ---------------------------------------------------------------------------
// Worker liveness

/// Every machine seen and when, by datacenter, then machine: the reference
/// listener's answer, byte for byte (Python 2.7's `json.dumps(…, indent=2)`).
#[utoipa::path(
    get, path = "/machines", tag = "liveness",
    responses((status = 200, description = "Every machine seen", body = Vec<schema::MachineSeen>), InternalError),
)]
async fn get_machines(State(state): State<AppState>) -> Result<Response, ApiError> {
    Ok(json_bytes(liveness::machines_json(&state.store().sightings().await?).into()))
}

/// When the machine `<datacenter>:<machine>` was last seen, as a JSON string
/// (`"2018-11-08T08:47:50.939514"`, naive UTC). Unknown machines get the
/// reference listener's plain-text 404.
#[utoipa::path(
    get, path = "/machines/{id}", tag = "liveness",
    params(("id" = String, Path, description = "`<datacenter>:<machine>` (worker group and id), split at the first `:`")),
    responses(
        (status = 200, description = "When the machine was last seen", body = String, content_type = "application/json"),
        BadRequest,
        (status = 404, description = "Never seen, or an id without `:`: the body is `unknown machine`", body = String, content_type = "text/plain"),
        InternalError,
    ),
)]
async fn get_machine(State(state): State<AppState>, ApiPath(id): ApiPath<String>) -> Result<Response, ApiError> {
    Ok(json_bytes(liveness::machine_json(state.machine_seen(&id).await?).into()))
}

/// Every worker seen: when, its current task, and how its runs of the
/// window ended.
#[utoipa::path(
    get, path = "/api/v1/workers", tag = "liveness",
    params(
        ("window" = Option<u32>, Query, minimum = 1, maximum = 720, description = "Hours of outcomes (default 24)"),
    ),
    responses((status = 200, description = "Every worker, by worker group, then id", body = Workers), BadRequest, InternalError),
)]
async fn get_workers(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<WindowQuery>,
) -> Result<Json<Workers>, ApiError> {
    Ok(Json(state.workers(query.hours()?).await?))
}

/// One worker, with its newest runs.
#[utoipa::path(
    get, path = "/api/v1/workers/{group}/{id}", tag = "liveness",
    params(
        ("group" = String, Path, description = "The worker group (datacenter)"),
        ("id" = String, Path, description = "The worker id (machine)"),
        ("window" = Option<u32>, Query, minimum = 1, maximum = 720, description = "Hours of outcomes (default 24)"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "How many recent runs (default 20)"),
    ),
    responses((status = 200, description = "The worker", body = WorkerDetail), BadRequest, NotFound, InternalError),
)]
async fn get_worker(
    State(state): State<AppState>,
    ApiPath((group, id)): ApiPath<(String, String)>,
    ApiQuery(query): ApiQuery<DetailQuery>,
) -> Result<Json<WorkerDetail>, ApiError> {
    Ok(Json(state.worker(group, id, query.hours()?, query.limit()?).await?))
}

// ---------------------------------------------------------------------------
// Hardware jobs

/// Asks for a job on a worker (roller's current form). Needs the scope
/// `<prefix>:<task_name>` (default prefix `project:releng:roller`) for the
/// task asked for; answers 201 with the job id.
#[utoipa::path(
    post, path = "/api/v1/workers/{worker_id}/jobs", tag = "jobs",
    security(("bearer" = [])),
    params(
        ("worker_id" = String, Path, description = "Taskcluster worker id (1–128 of a–z, A–Z, 0–9, `-`, `_`)"),
        ("task_name" = String, Query, description = "ping, ssh_reboot, ipmi_status, ipmi_reset, reboot, …"),
        ("worker_group" = Option<String>, Query, description = "Narrows the worker id to one group"),
        ("provisioner_id" = Option<String>, Query, description = "Echoed, as roller did"),
        ("worker_type" = Option<String>, Query, description = "Echoed, as roller did"),
        ("reason" = Option<String>, Query, description = "Why the job is asked for (kept with the job)"),
    ),
    responses((status = 201, description = "Queued", body = JobCreated), JobProblems),
)]
async fn post_worker_job(
    State(state): State<AppState>,
    client: Client,
    ApiPath(worker_id): ApiPath<String>,
    ApiQuery(query): ApiQuery<WorkerJobQuery>,
) -> Result<(StatusCode, Json<JobCreated>), ApiError> {
    Ok((StatusCode::CREATED, Json(state.request_for_worker(&client, &worker_id, &query).await?)))
}

/// Asks for a job (roller's README form), as `POST /api/v1/workers/{worker_id}/jobs`.
#[utoipa::path(
    post, path = "/api/v1/jobs", tag = "jobs",
    security(("bearer" = [])),
    params(
        ("tc_worker_id" = String, Query, description = "Taskcluster worker id"),
        ("task_name" = String, Query, description = "ping, ssh_reboot, ipmi_status, ipmi_reset, reboot, …"),
        ("reason" = Option<String>, Query, description = "Why the job is asked for"),
    ),
    responses((status = 201, description = "Queued", body = JobCreated), JobProblems),
)]
async fn post_job(
    State(state): State<AppState>,
    client: Client,
    ApiQuery(query): ApiQuery<TcJobQuery>,
) -> Result<(StatusCode, Json<JobCreated>), ApiError> {
    Ok((StatusCode::CREATED, Json(state.request_for_tc_worker(&client, &query).await?)))
}

/// Jobs, newest first, optionally of one host or in one state.
#[utoipa::path(
    get, path = "/api/v1/jobs", tag = "jobs",
    params(
        ("host" = Option<String>, Query, description = "The inventory's host name"),
        ("state" = Option<String>, Query, description = "queued, running, succeeded, failed or cancelled"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "At most this many (default 100)"),
    ),
    responses((status = 200, description = "Jobs, without their logs", body = JobList), BadRequest, InternalError),
)]
async fn get_jobs(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<JobList>, ApiError> {
    Ok(Json(state.job_list(&query).await?))
}

/// A job, its state and every attempt's log lines.
#[utoipa::path(
    get, path = "/api/v1/jobs/{id}", tag = "jobs",
    params(("id" = i64, Path, description = "The job id")),
    responses((status = 200, description = "The job", body = JobView), BadRequest, NotFound, InternalError),
)]
async fn get_job(State(state): State<AppState>, ApiPath(id): ApiPath<i64>) -> Result<Json<JobView>, ApiError> {
    Ok(Json(state.job_view(id).await?))
}

/// Cancels a job: a queued one at once, a running one at its worker's next
/// lease renewal. Needs the scope of the job's task.
#[utoipa::path(
    delete, path = "/api/v1/jobs/{id}", tag = "jobs",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The job id")),
    responses((status = 200, description = "The job, cancelled or stopping", body = JobView), JobProblems),
)]
async fn delete_job(
    State(state): State<AppState>,
    client: Client,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<JobView>, ApiError> {
    Ok(Json(state.cancel_job(&client, id).await?))
}

// ---------------------------------------------------------------------------
// Operations

/// `/__heartbeat__`: whether the server can work (Dockerflow).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Heartbeat {
    /// `ok` or `error`.
    pub status: String,
    /// Each dependency checked (`database`) and how it is: `ok` or `error`.
    pub checks: BTreeMap<String, String>,
}

/// Whether the server and its store work (Dockerflow): 200, or 500 when the
/// store does not answer.
#[utoipa::path(
    get, path = "/__heartbeat__", tag = "operations",
    responses(
        (status = 200, description = "The server and its store work", body = Heartbeat),
        (status = 500, description = "The store does not answer", body = Heartbeat),
    ),
)]
async fn heartbeat(State(state): State<AppState>) -> (StatusCode, Json<Heartbeat>) {
    let (status, database) = match state.store().trees_version().await {
        Ok(_) => (StatusCode::OK, "ok"),
        Err(err) => {
            tracing::error!(error = %err, "Heartbeat: the store does not answer");
            (StatusCode::INTERNAL_SERVER_ERROR, "error")
        }
    };
    let checks = BTreeMap::from([("database".to_owned(), database.to_owned())]);
    let overall = if status.is_success() { "ok" } else { "error" };
    (status, Json(Heartbeat { status: overall.to_owned(), checks }))
}

/// Whether the process answers at all, for load balancers (Dockerflow).
#[utoipa::path(get, path = "/__lbheartbeat__", tag = "operations", responses((status = 200, description = "Alive")))]
async fn lbheartbeat() -> StatusCode {
    StatusCode::OK
}

/// What is running (Dockerflow `version.json`).
#[utoipa::path(get, path = "/__version__", tag = "operations", responses((status = 200, description = "What is running", body = VersionInfo)))]
async fn version(State(state): State<AppState>) -> Json<VersionInfo> {
    Json(state.options().version.clone())
}

/// Request counts and latencies by route, method and status, in the
/// Prometheus text format.
#[utoipa::path(
    get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text", body = String, content_type = "text/plain; version=0.0.4; charset=utf-8")),
)]
async fn metrics(State(state): State<AppState>) -> Response {
    let content_type = HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8");
    ([(CONTENT_TYPE, content_type)], state.metrics().render()).into_response()
}

/// This document.
#[utoipa::path(
    get, path = "/api/openapi.json", tag = "operations",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json")),
)]
async fn openapi_json() -> Response {
    static DOCUMENT: OnceLock<Bytes> = OnceLock::new();
    let bytes = DOCUMENT.get_or_init(|| {
        let document = crate::openapi();
        serde_json::to_vec(&document).expect("an OpenAPI document always serialises").into()
    });
    json_bytes(bytes.clone())
}

// ---------------------------------------------------------------------------
// Fallbacks

/// Any path no route has.
pub(crate) async fn no_route(method: Method, uri: Uri) -> ApiError {
    ApiError::NoRoute { path: format!("{method} {}", uri.path()) }
}

/// A route's path with a method it does not take.
pub(crate) async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::MethodNotAllowed { method: method.to_string(), path: uri.path().to_owned() }
}
