//! The OpenAPI document's frame, and schemas of the wire shapes core owns.
//!
//! Routes and their operations are registered together (utoipa-axum's
//! `routes!` in `routes.rs`), so the document lists exactly the routes
//! served. The types below only describe core's request and response types
//! (core has no HTTP or OpenAPI dependency); the tests at the bottom hold
//! each description to what core actually reads and writes.

#![allow(dead_code)] // Fields are read by the schema derive only.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoResponses, Modify, OpenApi, ToSchema};

use crate::liveness::{CurrentTask, Worker, WorkerDetail, Workers};
use crate::options::VersionInfo;
use crate::routes::Heartbeat;
use crate::writes::{LogEdited, Removed, RemovedTrees, StackEdited, StackRemoved, TreesDelete};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "fleetroll API",
        description = "Tree status: whether developers may land code on a tree, who changed it, why, and how to \
            undo it. Worker liveness: when each worker was last seen, what it runs and how its runs ended. \
            Reads are anonymous; writes need `Authorization: Bearer <token>` of an API client whose scopes \
            grant the write. Errors are `application/problem+json`, but for the plain-text 404 of \
            `/machines/{id}`, as the reference listener answered.",
    ),
    modifiers(&BearerAuth),
    components(schemas(
        TreeStatus, Category, Tree, TreeRow, TreeSummary, TreeLog, LastState, StackTree, StackEntry,
        NewTree, TreesUpdate, EntryEdit, TreesDelete, TreesByName, TreeList, TreeResult, TreeLogs, Stack,
        Removed, RemovedTrees, StackRemoved, StackEdited, LogEdited, Problem, Heartbeat, VersionInfo,
        MachineSeen, RunState, RunRecord, Outcomes, CurrentTask, Worker, Workers, WorkerDetail,
    )),
    tags(
        (name = "trees", description = "Trees, their logs and the undo stack"),
        (name = "compat", description = "Older clients' forms of the tree reads (no `result` envelope)"),
        (name = "liveness", description = "Workers last seen, their task runs and outcomes (Taskcluster queue events)"),
        (name = "operations", description = "Health, version, metrics and this document"),
    ),
)]
pub(crate) struct ApiDoc;

/// The `bearer` security scheme writes name.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some("An API client's token (`fleetroll client create`)."))
            .build();
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// Whether developers may land on a tree; `approval required` is open, but
/// every landing needs approval.
#[derive(Serialize, ToSchema)]
pub(crate) enum TreeStatus {
    #[serde(rename = "open")]
    Open,
    #[serde(rename = "closed")]
    Closed,
    #[serde(rename = "approval required")]
    ApprovalRequired,
}

/// Where a tree is listed.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Category {
    Development,
    ReleaseStabilization,
    Try,
    CommRepos,
    Other,
}

/// A tree: its row with the status, reason and tags of its newest log row.
#[derive(Serialize, ToSchema)]
pub(crate) struct Tree {
    tree: String,
    status: TreeStatus,
    reason: String,
    message_of_the_day: String,
    tags: Vec<String>,
    /// The newest log row's id; `null` before the first update.
    #[schema(required = true)]
    log_id: Option<i64>,
    category: Category,
}

/// A tree as created.
#[derive(Serialize, ToSchema)]
pub(crate) struct TreeRow {
    category: Category,
    message_of_the_day: String,
    reason: String,
    status: TreeStatus,
    tree: String,
}

/// The four fields older clients know a tree by.
#[derive(Serialize, ToSchema)]
pub(crate) struct TreeSummary {
    tree: String,
    status: TreeStatus,
    reason: String,
    message_of_the_day: String,
}

/// One row of a tree's log.
#[derive(Serialize, ToSchema)]
pub(crate) struct TreeLog {
    id: i64,
    tree: String,
    /// RFC 3339, UTC.
    #[schema(format = DateTime)]
    when: String,
    /// Who made the change: `client:<name>`.
    who: String,
    status: TreeStatus,
    reason: String,
    tags: Vec<String>,
}

/// A tree's state before (`status`, `reason`, `tags`, `log_id`) and right
/// after (`current_…`) a remembered change.
#[derive(Serialize, ToSchema)]
pub(crate) struct LastState {
    status: TreeStatus,
    reason: String,
    tags: Vec<String>,
    #[schema(required = true)]
    log_id: Option<i64>,
    current_status: TreeStatus,
    current_reason: String,
    current_tags: Vec<String>,
    #[schema(required = true)]
    current_log_id: Option<i64>,
}

/// One tree of an undo-stack entry.
#[derive(Serialize, ToSchema)]
pub(crate) struct StackTree {
    id: i64,
    tree: String,
    last_state: LastState,
}

/// A remembered change, which can be reverted or discarded.
#[derive(Serialize, ToSchema)]
pub(crate) struct StackEntry {
    id: i64,
    trees: Vec<StackTree>,
    #[schema(format = DateTime)]
    when: String,
    who: String,
    status: TreeStatus,
    reason: String,
}

/// The body of `PUT /trees/{tree}`; only `tree` is required.
#[derive(Serialize, ToSchema)]
pub(crate) struct NewTree {
    /// Must equal the name in the path.
    tree: String,
    #[serde(default)]
    #[schema(default = "open")]
    status: TreeStatus,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    message_of_the_day: String,
    #[serde(default)]
    #[schema(default = "other")]
    category: Category,
}

/// The body of `PATCH /trees`. A field left out keeps each tree's value.
/// Closing needs a tag; `remember` needs `status`, `reason` and `tags`.
#[derive(Serialize, ToSchema)]
pub(crate) struct TreesUpdate {
    trees: Vec<String>,
    status: Option<TreeStatus>,
    reason: Option<String>,
    message_of_the_day: Option<String>,
    tags: Option<Vec<String>>,
    /// Keep the change on the undo stack.
    #[serde(default)]
    remember: bool,
}

/// The body of `PATCH /stack/{id}` and `PATCH /log/{id}`.
#[derive(Serialize, ToSchema)]
pub(crate) struct EntryEdit {
    reason: Option<String>,
    tags: Option<Vec<String>>,
}

/// `GET /trees`.
#[derive(Serialize, ToSchema)]
pub(crate) struct TreesByName {
    result: BTreeMap<String, Tree>,
}

/// `GET /trees2`.
#[derive(Serialize, ToSchema)]
pub(crate) struct TreeList {
    result: Vec<Tree>,
}

/// `GET /trees/{tree}`.
#[derive(Serialize, ToSchema)]
pub(crate) struct TreeResult {
    result: Tree,
}

/// `GET /trees/{tree}/logs` and `/logs_all`, newest first.
#[derive(Serialize, ToSchema)]
pub(crate) struct TreeLogs {
    result: Vec<TreeLog>,
}

/// `GET /stack`, newest first.
#[derive(Serialize, ToSchema)]
pub(crate) struct Stack {
    result: Vec<StackEntry>,
}

/// One machine of `GET /machines`, keys in this order.
#[derive(Serialize, ToSchema)]
pub(crate) struct MachineSeen {
    /// The worker id (the id's part after the first `:`).
    machine: String,
    /// The worker group (the id's part before the first `:`).
    datacenter: String,
    /// Naive UTC, as Python's `isoformat()`: `2018-11-08T08:47:50.939514`,
    /// no fraction when it is zero.
    lastseen: String,
}

/// A task run's state: running, or how it resolved.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum RunState {
    Running,
    Completed,
    Failed,
    Exception,
}

/// One task run of a worker, as its furthest queue event said.
#[derive(Serialize, ToSchema)]
pub(crate) struct RunRecord {
    task_id: String,
    run_id: i64,
    state: RunState,
    /// Why it resolved (`completed`, `failed`, `deadline-exceeded`, …);
    /// absent while running.
    #[schema(nullable = false)]
    reason_resolved: Option<String>,
    /// RFC 3339, UTC; absent when the run never started.
    #[schema(format = DateTime, nullable = false)]
    started: Option<String>,
    /// RFC 3339, UTC; absent while running.
    #[schema(format = DateTime, nullable = false)]
    resolved: Option<String>,
}

/// How a worker's runs resolved in the window ended.
#[derive(Serialize, ToSchema)]
pub(crate) struct Outcomes {
    completed: u64,
    failed: u64,
    exception: u64,
    /// completed / all resolved, `null` when none resolved.
    #[schema(required = true)]
    success_rate: Option<f64>,
}

/// An RFC 7807 problem (`application/problem+json`).
#[derive(Serialize, ToSchema)]
pub(crate) struct Problem {
    detail: String,
    status: u16,
    title: String,
    /// `https://developer.mozilla.org/en-US/docs/Web/HTTP/Status/<status>`.
    #[serde(rename = "type")]
    kind: String,
}

/// The errors of any write: refused input, credentials, scope, size, type.
#[derive(IntoResponses)]
pub(crate) enum WriteProblems {
    /// The body, path or query is invalid, or the tree rules refuse it.
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(Problem),
    /// No `Authorization: Bearer <token>` header, or not a valid token.
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(Problem),
    /// The client's scopes lack the one named.
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(Problem),
    /// The body is over the configured limit.
    #[response(status = 413, content_type = "application/problem+json")]
    TooLarge(Problem),
    /// The body is not sent as JSON.
    #[response(status = 415, content_type = "application/problem+json")]
    NotJson(Problem),
    /// The server failed (details are in its log).
    #[response(status = 500, content_type = "application/problem+json")]
    Internal(Problem),
}

/// A write whose body is not read: the errors of [`WriteProblems`] but size and type.
#[derive(IntoResponses)]
pub(crate) enum BodilessWriteProblems {
    /// The path or query is invalid, or the tree rules refuse it.
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(Problem),
    /// No `Authorization: Bearer <token>` header, or not a valid token.
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(Problem),
    /// The client's scopes lack the one named.
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(Problem),
    /// The server failed (details are in its log).
    #[response(status = 500, content_type = "application/problem+json")]
    Internal(Problem),
}

/// The errors of asking for or cancelling a hardware job.
#[derive(IntoResponses)]
pub(crate) enum JobProblems {
    /// An unknown task name, an unreadable worker id or query.
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(Problem),
    /// No `Authorization: Bearer <token>` header, or not a valid token.
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(Problem),
    /// The client lacks the scope of this task (`<prefix>:<task>`).
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(Problem),
    /// Not a managed host, or no such job.
    #[response(status = 404, content_type = "application/problem+json")]
    NotFound(Problem),
    /// The job has already finished.
    #[response(status = 409, content_type = "application/problem+json")]
    Conflict(Problem),
    /// The machine lacks what the task needs (a BMC, a PDU outlet, an SSH account).
    #[response(status = 422, content_type = "application/problem+json")]
    Unprocessable(Problem),
    /// The server failed (details are in its log).
    #[response(status = 500, content_type = "application/problem+json")]
    Internal(Problem),
}

/// A path segment or query parameter the route cannot read.
#[derive(IntoResponses)]
#[response(status = 400, content_type = "application/problem+json")]
pub(crate) struct BadRequest(Problem);

/// The thing named does not exist.
#[derive(IntoResponses)]
#[response(status = 404, content_type = "application/problem+json")]
pub(crate) struct NotFound(Problem);

/// The server failed (details are in its log).
#[derive(IntoResponses)]
#[response(status = 500, content_type = "application/problem+json")]
pub(crate) struct InternalError(Problem);

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use fleetroll_core::trees::{
        self, Category, CombinedTree, EntryEdit, LastState, StackEntry, StackTree, TreeLog, TreeRow, TreeStatus,
        TreeSummary, TreesUpdate,
    };
    use serde_json::{Value, json};

    use super::*;

    fn document() -> Value {
        serde_json::to_value(ApiDoc::openapi()).unwrap()
    }

    fn properties(doc: &Value, schema: &str) -> BTreeSet<String> {
        let props = doc["components"]["schemas"][schema]["properties"].as_object();
        props.unwrap_or_else(|| panic!("schema {schema} has properties")).keys().cloned().collect()
    }

    fn required(doc: &Value, schema: &str) -> BTreeSet<String> {
        let list = doc["components"]["schemas"][schema]["required"].as_array().cloned().unwrap_or_default();
        list.iter().map(|name| name.as_str().unwrap().to_owned()).collect()
    }

    fn keys(value: &Value) -> BTreeSet<String> {
        value.as_object().unwrap().keys().cloned().collect()
    }

    fn tree() -> CombinedTree {
        CombinedTree {
            tree: "autoland".into(),
            status: TreeStatus::Closed,
            reason: "bustage".into(),
            message_of_the_day: String::new(),
            tags: vec!["checkin_test".into()],
            log_id: Some(3),
            category: Category::Development,
        }
    }

    fn last_state() -> LastState {
        LastState::of_change(&tree(), &tree())
    }

    /// Each response schema names exactly the fields core serialises, all required.
    #[test]
    fn response_schemas_match_what_core_writes() {
        let doc = document();
        let when = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let log = TreeLog {
            id: 1,
            tree: "autoland".into(),
            when,
            who: "client:x".into(),
            status: TreeStatus::Open,
            reason: String::new(),
            tags: vec![],
        };
        let stack_tree = StackTree { id: 1, tree: "autoland".into(), last_state: last_state() };
        let entry = StackEntry {
            id: 1,
            trees: vec![stack_tree.clone()],
            when,
            who: "client:x".into(),
            status: TreeStatus::Closed,
            reason: String::new(),
        };
        let row = TreeRow {
            category: Category::Other,
            message_of_the_day: String::new(),
            reason: String::new(),
            status: TreeStatus::Open,
            tree: "t".into(),
        };
        let cases = [
            ("Tree", serde_json::to_value(tree()).unwrap()),
            ("TreeRow", serde_json::to_value(row).unwrap()),
            ("TreeSummary", serde_json::to_value(TreeSummary::from(&tree())).unwrap()),
            ("TreeLog", serde_json::to_value(log).unwrap()),
            ("LastState", serde_json::to_value(last_state()).unwrap()),
            ("StackTree", serde_json::to_value(stack_tree).unwrap()),
            ("StackEntry", serde_json::to_value(entry).unwrap()),
        ];
        for (schema, value) in cases {
            assert_eq!(properties(&doc, schema), keys(&value), "{schema}");
            assert_eq!(required(&doc, schema), keys(&value), "{schema}: every field is always present");
        }
    }

    /// Each request schema names exactly the fields core reads, requires
    /// what core requires, and a body with every documented field parses.
    #[test]
    fn request_schemas_match_what_core_reads() {
        let doc = document();
        let cases = [
            (
                "NewTree",
                serde_json::to_value(trees::parse_body::<trees::NewTree>(br#"{"tree":"t"}"#).unwrap()).unwrap(),
                json!({"tree": "t", "status": "open", "reason": "", "message_of_the_day": "", "category": "other"}),
                vec!["tree"],
            ),
            (
                "TreesUpdate",
                serde_json::to_value(TreesUpdate::default()).unwrap(),
                json!({"trees": ["t"], "status": "closed", "reason": "r", "message_of_the_day": "m",
                       "tags": ["a"], "remember": true}),
                vec!["trees"],
            ),
            (
                "EntryEdit",
                serde_json::to_value(EntryEdit::default()).unwrap(),
                json!({"reason": "r", "tags": ["a"]}),
                vec![],
            ),
            ("TreesDelete", json!({"trees": []}), json!({"trees": ["t"]}), vec!["trees"]),
        ];
        for (schema, core_fields, full_body, required_fields) in cases {
            assert_eq!(properties(&doc, schema), keys(&core_fields), "{schema}");
            assert_eq!(keys(&full_body), keys(&core_fields), "{schema}: the sample names every field");
            let expected: BTreeSet<String> = required_fields.iter().map(|f| (*f).to_owned()).collect();
            assert_eq!(required(&doc, schema), expected, "{schema}");
            let parse = |body: &Value| {
                let body = body.to_string();
                match schema {
                    "NewTree" => trees::parse_body::<trees::NewTree>(body.as_bytes()).map(drop),
                    "TreesUpdate" => trees::parse_body::<TreesUpdate>(body.as_bytes()).map(drop),
                    "EntryEdit" => trees::parse_body::<EntryEdit>(body.as_bytes()).map(drop),
                    _ => trees::parse_body::<TreesDelete>(body.as_bytes()).map(drop),
                }
            };
            assert_eq!(parse(&full_body), Ok(()), "{schema}");
            // A field documented as nullable takes null, and no other does.
            for field in keys(&core_fields) {
                let property = &doc["components"]["schemas"][schema]["properties"][&field];
                let nullable = property["type"].as_array().is_some_and(|types| types.contains(&json!("null")))
                    || property["oneOf"].as_array().is_some_and(|any| any.contains(&json!({"type": "null"})));
                let mut body = full_body.clone();
                body[&field] = Value::Null;
                assert_eq!(parse(&body).is_ok(), nullable, "{schema}.{field}: {property}");
            }
        }
    }

    /// The liveness schemas name exactly the fields written; a run's
    /// optional fields are left out when absent, never null.
    #[test]
    fn liveness_schemas_match_what_is_written() {
        use fleetroll_core::liveness::{self, MachineSeen, Outcomes, RunRecord, RunState};

        let doc = document();
        let when = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let full = RunRecord {
            task_id: "Zx3Nn8N1T2eHVaOEYHRuNQ".into(),
            run_id: 0,
            state: RunState::Completed,
            reason_resolved: Some("completed".into()),
            started: Some(when),
            resolved: Some(when),
        };
        let bare = RunRecord {
            state: RunState::Running,
            reason_resolved: None,
            started: None,
            resolved: None,
            ..full.clone()
        };
        assert_eq!(properties(&doc, "RunRecord"), keys(&serde_json::to_value(&full).unwrap()));
        assert_eq!(required(&doc, "RunRecord"), keys(&serde_json::to_value(&bare).unwrap()));
        let task = crate::liveness::CurrentTask { task_id: "t".into(), run_id: 0, started: String::new() };
        let worker = crate::liveness::Worker {
            worker_group: "mdc1".into(),
            worker_id: "h".into(),
            last_seen: String::new(),
            current_task: Some(task.clone()),
            outcomes: liveness::outcomes([&full], when),
        };
        let detail = crate::liveness::WorkerDetail {
            worker_group: "mdc1".into(),
            worker_id: "h".into(),
            last_seen: String::new(),
            current_task: None,
            outcomes: Outcomes::default(),
            since: String::new(),
            recent: vec![full],
        };
        let workers = crate::liveness::Workers { since: String::new(), workers: vec![worker.clone()] };
        let machine = MachineSeen { machine: "h".into(), datacenter: "mdc1".into(), lastseen: String::new() };
        let cases = [
            ("Outcomes", serde_json::to_value(Outcomes::default()).unwrap()),
            ("CurrentTask", serde_json::to_value(task).unwrap()),
            ("Worker", serde_json::to_value(worker).unwrap()),
            ("WorkerDetail", serde_json::to_value(detail).unwrap()),
            ("Workers", serde_json::to_value(workers).unwrap()),
            ("MachineSeen", serde_json::to_value(machine).unwrap()),
        ];
        for (schema, value) in cases {
            assert_eq!(properties(&doc, schema), keys(&value), "{schema}");
            assert_eq!(required(&doc, schema), keys(&value), "{schema}: every field is always present");
        }
        let states: Vec<Value> = doc["components"]["schemas"]["RunState"]["enum"].as_array().unwrap().clone();
        let core_states = [RunState::Running, RunState::Completed, RunState::Failed, RunState::Exception];
        assert_eq!(states, core_states.map(|state| json!(state.as_str())));
    }

    #[test]
    fn enums_list_every_value() {
        let doc = document();
        let values = |schema: &str| -> BTreeSet<String> {
            let list = doc["components"]["schemas"][schema]["enum"].as_array().cloned().unwrap_or_default();
            list.iter().map(|v| v.as_str().unwrap().to_owned()).collect()
        };
        assert_eq!(values("TreeStatus"), TreeStatus::ALL.iter().map(|s| s.as_str().to_owned()).collect());
        assert_eq!(values("Category"), Category::ALL.iter().map(|c| c.as_str().to_owned()).collect());
    }
}
