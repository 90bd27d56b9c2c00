//! Tree status: whether developers may land code on a tree, who changed it,
//! why, and how to undo it (reference §C, TreeStatus).
//!
//! Everything here is a function of its inputs: the store reads a tree's
//! current state, asks this module what a request does to it (a plan), and
//! writes the plan in one transaction. The HTTP server maps [`TreeError`] to
//! problem JSON once, from [`TreeError::status`], [`TreeError::title`] and
//! [`TreeError::detail`].
//!
//! Deliberate differences from the older generations, each pinned by a test:
//! - A field an update leaves out keeps its current value, in the tree and
//!   in the log row the update writes. Gen 1–3 logged the literal
//!   `"no change"` for a missing status or reason (gen 2's trees then read
//!   back as status `"no change"`) and dropped the tags; like gen 4 we log
//!   the values the tree actually has.
//! - A log row is written whenever an update names a status, a reason or
//!   tags; gen 3 skipped the log for an empty reason and ignored tags given
//!   alone, so the change was stored but never shown.
//! - Closing needs at least one non-blank tag (gen 1 and gen 4); gen 2/3
//!   accepted an empty list.
//! - An update must name at least one tree, and a tree named twice counts
//!   once (gen 3 answered 404 with an empty list of missing trees).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use serde::de::{DeserializeOwned, Deserializer};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Value, json};

use crate::time::{self, Timestamp};

/// How many log rows `GET /trees/{tree}/logs` shows (the rest with `logs_all`).
pub const TREE_SUMMARY_LOG_LIMIT: u32 = 5;

/// The longest tree name (gen 3/4 column width).
pub const MAX_TREE_NAME: usize = 64;

/// The reason categories the sheriffs' forms offer, as stored (underscored)
/// and as shown. Tags stay free-form: the API never refuses other values.
pub const TAG_VOCABULARY: [(&str, &str); 8] = [
    ("checkin_compilation", "Check-in compilation failure"),
    ("checkin_test", "Check-in test failure"),
    ("infra", "Infrastructure related"),
    ("backlog", "Job backlog"),
    ("planned", "Planned closure"),
    ("merges", "Merges"),
    ("waiting_for_coverage", "Waiting for coverage"),
    ("other", "Other"),
];

/// The vocabulary entry a tag names, accepting the hyphenated spellings that
/// one UI stored for a while (`checkin-test`), so old logs still show labels.
pub fn known_tag(tag: &str) -> Option<(&'static str, &'static str)> {
    let underscored = tag.replace('-', "_");
    TAG_VOCABULARY.iter().copied().find(|(name, _)| *name == underscored)
}

/// Whether developers may land on a tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TreeStatus {
    Open,
    Closed,
    /// Open, but every landing needs a release manager's approval.
    ApprovalRequired,
}

impl TreeStatus {
    pub const ALL: [TreeStatus; 3] = [TreeStatus::Open, TreeStatus::Closed, TreeStatus::ApprovalRequired];

    /// The wire and database spelling (with a space in `approval required`).
    pub fn as_str(self) -> &'static str {
        match self {
            TreeStatus::Open => "open",
            TreeStatus::Closed => "closed",
            TreeStatus::ApprovalRequired => "approval required",
        }
    }

    /// The landing gate: `approval required` lets landings through (the
    /// approval is enforced elsewhere), only `closed` stops them.
    pub fn is_open_for_landing(self) -> bool {
        self != TreeStatus::Closed
    }
}

/// The landing gate for a tree that may not exist: an unknown tree is open,
/// so a tree nobody registered never blocks landings.
pub fn is_open(status: Option<TreeStatus>) -> bool {
    status.is_none_or(TreeStatus::is_open_for_landing)
}

impl fmt::Display for TreeStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A status spelled some other way than the three the API knows.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown tree status {0:?}: expected \"open\", \"closed\" or \"approval required\"")]
pub struct UnknownStatus(pub String);

impl FromStr for TreeStatus {
    type Err = UnknownStatus;

    fn from_str(text: &str) -> Result<TreeStatus, UnknownStatus> {
        TreeStatus::ALL.into_iter().find(|s| s.as_str() == text).ok_or_else(|| UnknownStatus(text.to_owned()))
    }
}

impl Serialize for TreeStatus {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for TreeStatus {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<TreeStatus, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Where a tree is listed (gen 3/4), most important first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Development,
    ReleaseStabilization,
    Try,
    CommRepos,
    #[default]
    Other,
}

impl Category {
    pub const ALL: [Category; 5] =
        [Category::Development, Category::ReleaseStabilization, Category::Try, Category::CommRepos, Category::Other];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Development => "development",
            Category::ReleaseStabilization => "release_stabilization",
            Category::Try => "try",
            Category::CommRepos => "comm_repos",
            Category::Other => "other",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Category {
    type Err = String;

    fn from_str(text: &str) -> Result<Category, String> {
        Category::ALL.into_iter().find(|c| c.as_str() == text).ok_or_else(|| format!("unknown tree category {text:?}"))
    }
}

// ---------------------------------------------------------------------------
// Request bodies

/// The body of `PUT /trees/{tree}`: a new tree. Fields other than `tree`
/// default as the tree table does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTree {
    pub tree: String,
    #[serde(default = "open")]
    pub status: TreeStatus,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub message_of_the_day: String,
    #[serde(default)]
    pub category: Category,
}

fn open() -> TreeStatus {
    TreeStatus::Open
}

/// The body of `PATCH /trees`: one change applied to several trees. A
/// field left out (or `null`) keeps each tree's current value.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TreesUpdate {
    pub trees: Vec<String>,
    #[serde(default)]
    pub status: Option<TreeStatus>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub message_of_the_day: Option<String>,
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    /// Keep the change on the undo stack.
    #[serde(default)]
    pub remember: bool,
}

/// The body of `PATCH /stack/{id}` and `PATCH /log/{id}`: amend the reason
/// or tags of a recorded change without changing any tree's status.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntryEdit {
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub tags: Option<Vec<String>>,
}

impl EntryEdit {
    pub fn is_empty(&self) -> bool {
        self.reason.is_none() && self.tags.is_none()
    }
}

/// Reads a JSON request body, naming the field at fault when it is wrong.
/// Text holding a NUL character is refused too: PostgreSQL cannot store it,
/// so it would fail in one store and be kept by the other.
pub fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, TreeError> {
    let value = parse_typed(body)?;
    if has_nul(body) {
        return Err(TreeError::InvalidBody { message: NUL_MESSAGE.to_owned() });
    }
    Ok(value)
}

const NUL_MESSAGE: &str = "Text may not contain NUL characters (\\u0000).";

/// Whether a JSON document has a string (or key) with a NUL character. Raw
/// NULs are not valid JSON, so only the `\u0000` escape can bring one; the
/// document is walked only when that escape appears at all.
fn has_nul(json: &[u8]) -> bool {
    fn walk(value: &Value) -> bool {
        match value {
            Value::String(text) => text.contains('\0'),
            Value::Array(items) => items.iter().any(walk),
            Value::Object(fields) => fields.iter().any(|(key, value)| key.contains('\0') || walk(value)),
            _ => false,
        }
    }
    json.windows(6).any(|window| window == b"\\u0000") && serde_json::from_slice(json).is_ok_and(|value| walk(&value))
}

fn parse_typed<T: DeserializeOwned>(body: &[u8]) -> Result<T, TreeError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let message = if path == "." { inner.to_string() } else { format!("{path}: {inner}") };
        TreeError::InvalidBody { message }
    })?;
    deserializer.end().map_err(|err| TreeError::InvalidBody { message: err.to_string() })?;
    Ok(value)
}

/// The `revert` query parameter of `DELETE /stack/{id}`: absent or `0`
/// discards the entry, `1` restores the trees first.
pub fn parse_revert(value: Option<&str>) -> Result<bool, TreeError> {
    match value {
        None | Some("0") => Ok(false),
        Some("1") => Ok(true),
        Some(other) => Err(TreeError::BadRevert { value: other.to_owned() }),
    }
}

// ---------------------------------------------------------------------------
// Errors

/// A request the tree rules refuse. The server turns it into problem JSON
/// with [`TreeError::problem`]; titles and details are gen 3's.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TreeError {
    #[error("Tree {tree} already exists.")]
    TreeExists { tree: String },
    #[error("No tree {tree} found.")]
    NoSuchTree { tree: String },
    #[error("Could not fetch the following trees: {}", .trees.join(", "))]
    TreesNotFound { trees: Vec<String> },
    #[error("Tree names must match, {url} from url and {body} from body do not.")]
    NamesMustMatch { url: String, body: String },
    #[error("Invalid tree name {tree:?}: {why}")]
    InvalidTreeName { tree: String, why: &'static str },
    #[error("Must specify at least one tree.")]
    NoTrees,
    #[error("Tags are required when closing a tree.")]
    TagsRequired,
    #[error("Must specify status, reason and tags to remember the change.")]
    RememberNeedsAll,
    #[error("Unexpected value for `revert`.")]
    BadRevert { value: String },
    #[error("No change {id} found.")]
    NoSuchChange { id: i64 },
    #[error("No tree log for id {id} found.")]
    NoSuchLog { id: i64 },
    #[error("Bad Request")]
    InvalidBody { message: String },
}

impl TreeError {
    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        match self {
            TreeError::NoSuchTree { .. }
            | TreeError::TreesNotFound { .. }
            | TreeError::NoSuchChange { .. }
            | TreeError::NoSuchLog { .. } => 404,
            _ => 400,
        }
    }

    /// The problem's title: what went wrong, naming the input.
    pub fn title(&self) -> String {
        self.to_string()
    }

    /// The problem's detail.
    pub fn detail(&self) -> String {
        match self {
            TreeError::TreeExists { .. } => "Tree already exists.".to_owned(),
            TreeError::NoSuchTree { .. } => "The tree does not exist.".to_owned(),
            TreeError::TreesNotFound { .. } => "Could not fetch all the requested trees.".to_owned(),
            TreeError::NamesMustMatch { .. } => "Tree names must match.".to_owned(),
            TreeError::InvalidTreeName { why, .. } => format!("Tree names {why}."),
            TreeError::BadRevert { value } => format!("`revert` must be 0 or 1, not {value:?}."),
            TreeError::NoSuchChange { .. } => "The change could not be found.".to_owned(),
            TreeError::NoSuchLog { id } => format!("The tree log does not exist for id {id}."),
            TreeError::InvalidBody { message } => message.clone(),
            TreeError::NoTrees | TreeError::TagsRequired | TreeError::RememberNeedsAll => self.to_string(),
        }
    }

    /// The RFC 7807 body (`application/problem+json`), typed by MDN status
    /// pages as gen 3 did.
    pub fn problem(&self) -> Value {
        problem_json(self.status(), &self.title(), &self.detail())
    }
}

/// An RFC 7807 problem body in gen 3's shape, for errors other than
/// [`TreeError`] (authorization) so every error reads the same.
pub fn problem_json(status: u16, title: &str, detail: &str) -> Value {
    json!({
        "detail": detail,
        "status": status,
        "title": title,
        "type": format!("https://developer.mozilla.org/en-US/docs/Web/HTTP/Status/{status}"),
    })
}

/// Checks the name of a tree being created: it becomes a URL path segment
/// and a Pulse routing key word, so no slashes, dots, blanks or controls.
pub fn validate_tree_name(tree: &str) -> Result<(), TreeError> {
    let invalid = |why| Err(TreeError::InvalidTreeName { tree: tree.to_owned(), why });
    if tree.is_empty() || tree.chars().count() > MAX_TREE_NAME {
        return invalid("must be 1 to 64 characters long");
    }
    if tree.chars().any(|c| c == '/' || c == '.' || c.is_whitespace() || c.is_control()) {
        return invalid("may not contain slashes, dots, blanks or control characters");
    }
    Ok(())
}

/// Checks `PUT /trees/{url_tree}` with `body` before the store looks for a
/// tree of that name.
pub fn check_new_tree(url_tree: &str, body: &NewTree) -> Result<(), TreeError> {
    if body.tree != url_tree {
        return Err(TreeError::NamesMustMatch { url: url_tree.to_owned(), body: body.tree.clone() });
    }
    validate_tree_name(&body.tree)
}

// ---------------------------------------------------------------------------
// Stored state and its API shapes

/// A tree as the tree table holds it, and as `PUT /trees/{tree}` answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreeRow {
    pub category: Category,
    pub message_of_the_day: String,
    pub reason: String,
    pub status: TreeStatus,
    pub tree: String,
}

impl From<&NewTree> for TreeRow {
    fn from(new: &NewTree) -> TreeRow {
        TreeRow {
            category: new.category,
            message_of_the_day: new.message_of_the_day.clone(),
            reason: new.reason.clone(),
            status: new.status,
            tree: new.tree.clone(),
        }
    }
}

/// The values of a tree's newest log row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogHead {
    pub id: i64,
    pub status: TreeStatus,
    pub reason: String,
    pub tags: Vec<String>,
}

/// A tree as the API shows it (§C.3): the tree row with the status, reason
/// and tags of its newest log row, and that row's id (`null` before any).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CombinedTree {
    pub tree: String,
    pub status: TreeStatus,
    pub reason: String,
    pub message_of_the_day: String,
    pub tags: Vec<String>,
    pub log_id: Option<i64>,
    pub category: Category,
}

/// Combines a tree row with its newest log row (§C.3).
pub fn combine(row: TreeRow, newest_log: Option<LogHead>) -> CombinedTree {
    let mut tree = CombinedTree {
        tree: row.tree,
        status: row.status,
        reason: row.reason,
        message_of_the_day: row.message_of_the_day,
        tags: Vec::new(),
        log_id: None,
        category: row.category,
    };
    if let Some(log) = newest_log {
        tree.status = log.status;
        tree.reason = log.reason;
        tree.tags = log.tags;
        tree.log_id = Some(log.id);
    }
    tree
}

/// The four fields older clients and Pulse consumers know a tree by.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreeSummary {
    pub tree: String,
    pub status: TreeStatus,
    pub reason: String,
    pub message_of_the_day: String,
}

impl From<&CombinedTree> for TreeSummary {
    fn from(tree: &CombinedTree) -> TreeSummary {
        TreeSummary {
            tree: tree.tree.clone(),
            status: tree.status,
            reason: tree.reason.clone(),
            message_of_the_day: tree.message_of_the_day.clone(),
        }
    }
}

/// One row of a tree's log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreeLog {
    pub id: i64,
    pub tree: String,
    pub when: Timestamp,
    pub who: String,
    pub status: TreeStatus,
    pub reason: String,
    pub tags: Vec<String>,
}

/// A log row to write: the state a tree is set to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewLog {
    pub status: TreeStatus,
    pub reason: String,
    pub tags: Vec<String>,
}

/// A tree's state before and right after a remembered change, kept with
/// the change so it can be undone (§C.2 `last_state`).
///
/// Readers fill keys a stored value lacks from the default tree (status
/// `closed`, reason `New tree`, no tags, no log), as gen 2–4 do for rows gen 1
/// wrote with only `status` and `reason`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastState {
    #[serde(default = "default_status")]
    pub status: TreeStatus,
    #[serde(default = "default_reason")]
    pub reason: String,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub log_id: Option<i64>,
    #[serde(default = "default_status")]
    pub current_status: TreeStatus,
    #[serde(default = "default_reason")]
    pub current_reason: String,
    #[serde(default)]
    pub current_tags: Vec<String>,
    #[serde(default)]
    pub current_log_id: Option<i64>,
}

fn default_status() -> TreeStatus {
    TreeStatus::Closed
}

fn default_reason() -> String {
    "New tree".to_owned()
}

impl LastState {
    /// The state kept for a change from `before` to `after` (whose `log_id`
    /// is the log row the change wrote).
    pub fn of_change(before: &CombinedTree, after: &CombinedTree) -> LastState {
        LastState {
            status: before.status,
            reason: before.reason.clone(),
            tags: before.tags.clone(),
            log_id: before.log_id,
            current_status: after.status,
            current_reason: after.reason.clone(),
            current_tags: after.tags.clone(),
            current_log_id: after.log_id,
        }
    }

    /// Reads a stored `last_state`, back-filling missing keys.
    pub fn from_json(text: &str) -> Result<LastState, serde_json::Error> {
        serde_json::from_str(text)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a last state always serialises")
    }

    /// Applies an edit of the log row this change wrote, so the stack shows
    /// what the log says.
    pub fn amend_current(&mut self, edit: &EntryEdit) {
        if let Some(reason) = &edit.reason {
            self.current_reason.clone_from(reason);
        }
        if let Some(tags) = &edit.tags {
            self.current_tags.clone_from(tags);
        }
    }
}

/// One tree of an undo-stack entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackTree {
    pub id: i64,
    pub tree: String,
    pub last_state: LastState,
}

/// One entry of the undo stack: a remembered change over several trees.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackEntry {
    pub id: i64,
    pub trees: Vec<StackTree>,
    pub when: Timestamp,
    pub who: String,
    pub status: TreeStatus,
    pub reason: String,
}

// ---------------------------------------------------------------------------
// Plans

/// What a change does to one tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedTree {
    pub before: CombinedTree,
    /// The state after the change; its `log_id` is the old one until the
    /// store writes `log` and sets it.
    pub after: CombinedTree,
    /// The log row to write; `None` when only the message of the day changes.
    pub log: Option<NewLog>,
}

impl PlannedTree {
    pub fn name(&self) -> &str {
        &self.before.tree
    }

    /// The transition to announce, when the status changes.
    pub fn transition(&self) -> Option<StatusTransition> {
        (self.log.is_some() && self.before.status != self.after.status).then(|| StatusTransition {
            status_from: self.before.status,
            status_to: self.after.status,
            tree: TreeSummary::from(&self.after),
            tags: self.after.tags.clone(),
        })
    }

    /// Sets the id of the log row the store wrote for this change.
    pub fn logged_as(&mut self, log_id: i64) {
        self.after.log_id = Some(log_id);
    }
}

/// The undo-stack entry a remembered update adds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedStack {
    pub status: TreeStatus,
    pub reason: String,
}

/// What a `PATCH /trees` does: one [`PlannedTree`] per named tree, in the
/// order named, and the stack entry when the change is remembered (then
/// every tree writes a log row, which the entry points at).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpdatePlan {
    pub trees: Vec<PlannedTree>,
    pub stack: Option<PlannedStack>,
}

/// A tree whose status changed: what a Pulse message announces.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusTransition {
    pub status_from: TreeStatus,
    pub status_to: TreeStatus,
    pub tree: TreeSummary,
    pub tags: Vec<String>,
}

/// Checks an update that needs no stored state: tags when closing, the
/// three fields of a remembered change, at least one tree.
pub fn validate_update(update: &TreesUpdate) -> Result<(), TreeError> {
    if update.trees.is_empty() {
        return Err(TreeError::NoTrees);
    }
    if update.status == Some(TreeStatus::Closed) && !has_a_tag(update.tags.as_deref()) {
        return Err(TreeError::TagsRequired);
    }
    if update.remember && (update.status.is_none() || update.reason.is_none() || update.tags.is_none()) {
        return Err(TreeError::RememberNeedsAll);
    }
    Ok(())
}

fn has_a_tag(tags: Option<&[String]>) -> bool {
    tags.is_some_and(|tags| tags.iter().any(|tag| !tag.trim().is_empty()))
}

/// The names an update touches, each once, in the order first named.
pub fn requested_trees(update: &TreesUpdate) -> Vec<&str> {
    let mut seen = BTreeSet::new();
    update.trees.iter().map(String::as_str).filter(|name| seen.insert(*name)).collect()
}

/// Plans `update` against the trees' current state (`current` holds what
/// the store found of [`requested_trees`]). Checks run in gen 3's order:
/// unknown trees (404) before the body's own rules (400).
pub fn plan_update(update: &TreesUpdate, current: &BTreeMap<String, CombinedTree>) -> Result<UpdatePlan, TreeError> {
    let names = requested_trees(update);
    let mut missing: Vec<String> =
        names.iter().filter(|n| !current.contains_key(**n)).map(|n| (*n).to_owned()).collect();
    if !missing.is_empty() {
        missing.sort();
        return Err(TreeError::TreesNotFound { trees: missing });
    }
    validate_update(update)?;
    let trees = names.iter().map(|name| plan_tree(&current[*name], update)).collect();
    let stack = update.remember.then(|| PlannedStack {
        status: update.status.expect("validated: a remembered change has a status"),
        reason: update.reason.clone().expect("validated: a remembered change has a reason"),
    });
    Ok(UpdatePlan { trees, stack })
}

/// One tree's part of an update: fields left out keep their values.
fn plan_tree(before: &CombinedTree, update: &TreesUpdate) -> PlannedTree {
    let mut after = before.clone();
    if let Some(motd) = &update.message_of_the_day {
        after.message_of_the_day.clone_from(motd);
    }
    let log = writes_log(update).then(|| NewLog {
        status: update.status.unwrap_or(before.status),
        reason: update.reason.clone().unwrap_or_else(|| before.reason.clone()),
        tags: update.tags.clone().unwrap_or_else(|| before.tags.clone()),
    });
    if let Some(log) = &log {
        after.status = log.status;
        after.reason.clone_from(&log.reason);
        after.tags.clone_from(&log.tags);
    }
    PlannedTree { before: before.clone(), after, log }
}

/// Status, reason and tags live in the log, so naming any of them writes a
/// row; the message of the day lives on the tree and is not logged.
fn writes_log(update: &TreesUpdate) -> bool {
    update.status.is_some() || update.reason.is_some() || update.tags.is_some()
}

/// What undoing a stack entry does: each tree that still exists goes back
/// to the entry's `last_state`, with a log row recording it. Trees deleted
/// since are skipped.
pub fn plan_revert(entry: &StackEntry, current: &BTreeMap<String, CombinedTree>) -> Vec<PlannedTree> {
    entry
        .trees
        .iter()
        .filter_map(|changed| {
            let before = current.get(&changed.tree)?;
            let state = &changed.last_state;
            let log = NewLog { status: state.status, reason: state.reason.clone(), tags: state.tags.clone() };
            let mut after = before.clone();
            after.status = log.status;
            after.reason.clone_from(&log.reason);
            after.tags.clone_from(&log.tags);
            Some(PlannedTree { before: before.clone(), after, log: Some(log) })
        })
        .collect()
}

/// A log row's reason and tags rewritten in place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogRewrite {
    pub log_id: i64,
    pub reason: String,
    pub tags: Vec<String>,
}

/// What `PATCH /stack/{id}` does: the entry's new reason, each tree's new
/// `last_state`, and the log rows those states point at, rewritten to match.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackEditPlan {
    pub reason: String,
    pub trees: Vec<StackTree>,
    pub logs: Vec<LogRewrite>,
}

/// Plans an amendment of a stack entry (§C.4 `PATCH /stack/{id}`). A tree
/// whose change wrote no log (states back-filled from old data) has no log
/// row to rewrite; gen 3 failed on those.
pub fn plan_stack_edit(entry: &StackEntry, edit: &EntryEdit) -> StackEditPlan {
    let mut trees = entry.trees.clone();
    let mut logs = Vec::new();
    for changed in &mut trees {
        changed.last_state.amend_current(edit);
        let state = &changed.last_state;
        if let Some(log_id) = state.current_log_id {
            logs.push(LogRewrite { log_id, reason: state.current_reason.clone(), tags: state.current_tags.clone() });
        }
    }
    StackEditPlan { reason: edit.reason.clone().unwrap_or_else(|| entry.reason.clone()), trees, logs }
}

/// A log row after `PATCH /log/{id}`.
pub fn edit_log(log: &TreeLog, edit: &EntryEdit) -> TreeLog {
    let mut log = log.clone();
    if let Some(reason) = &edit.reason {
        log.reason.clone_from(reason);
    }
    if let Some(tags) = &edit.tags {
        log.tags.clone_from(tags);
    }
    log
}

// ---------------------------------------------------------------------------
// Pulse

/// The routing key of a tree's status-change message.
pub fn routing_key(tree: &str) -> String {
    format!("tree/{tree}/status_change")
}

/// The Pulse message announcing `transition` on `exchange` (§C.8), sent at
/// `sent`.
pub fn pulse_message(transition: &StatusTransition, exchange: &str, sent: Timestamp) -> Value {
    json!({
        "payload": transition,
        "_meta": {
            "exchange": exchange,
            "routing_key": routing_key(&transition.tree.tree),
            "serializer": "json",
            "sent": time::to_rfc3339(sent),
        },
    })
}

#[cfg(test)]
mod tests;
