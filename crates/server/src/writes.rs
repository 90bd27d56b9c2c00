//! Tree status writes and what follows each one the store commits: the
//! trees cache emptied before the answer, one Pulse message per status
//! transition, one audit record.
//!
//! Every request runs to its end in a task of its own (the router's
//! request timeout layer, `lib.rs`), so once the store has committed, the
//! announcement and the audit record follow even if the client hangs up or
//! stops waiting.

use std::future::Future;

use chrono::Utc;
use fleetroll_core::audit::AuditEntry;
use fleetroll_core::pulse::Outgoing;
use fleetroll_core::time::{self, Timestamp};
use fleetroll_core::trees::{
    self, EntryEdit, NewTree, StatusTransition, TreeError, TreeLog, TreeRow, TreeSummary, TreesUpdate,
};
use fleetroll_store::{Store, TreesError};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::atomic::Ordering;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// The body of `DELETE /trees2`: the trees to delete.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TreesDelete {
    pub trees: Vec<String>,
}

/// The answer to `DELETE /trees/{tree}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Removed {
    pub removed: String,
}

/// The answer to `DELETE /trees2`: the trees deleted, in the order named.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RemovedTrees {
    pub removed: Vec<String>,
}

/// The answer to `DELETE /stack/{id}` and its `/stack2` aliases.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StackRemoved {
    pub id: i64,
    pub reverted: bool,
}

/// The answer to `PATCH /stack/{id}`: the entry's reason and its trees' tags
/// after the edit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StackEdited {
    pub id: i64,
    pub reason: String,
    pub tags: Vec<String>,
}

/// The answer to `PATCH /log/{id}`: the log row's reason and tags after the edit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LogEdited {
    pub reason: String,
    pub tags: Vec<String>,
}

/// What a committed write answers, announces and records.
struct Done<T> {
    answer: T,
    transitions: Vec<StatusTransition>,
    /// The audit record's `result`.
    result: Value,
}

impl Done<()> {
    /// A write whose audit result is its answer.
    fn with<T: Serialize>(answer: T, transitions: Vec<StatusTransition>) -> Done<T> {
        let result = ok_result(serde_json::to_value(&answer).unwrap_or(Value::Null));
        Done { answer, transitions, result }
    }
}

/// An audit `result` in the trail's shape: an object with `ok: true`
/// beside what the write did.
fn ok_result(value: Value) -> Value {
    match value {
        Value::Object(mut fields) => {
            fields.insert("ok".to_owned(), Value::Bool(true));
            Value::Object(fields)
        }
        other => json!({ "ok": true, "result": other }),
    }
}

impl AppState {
    /// `PUT /trees/{tree}`.
    pub(crate) async fn create_tree(
        &self,
        caller: &Caller,
        url_tree: String,
        new: NewTree,
    ) -> Result<TreeRow, ApiError> {
        trees::check_new_tree(&url_tree, &new)?;
        let parameters = json!({ "tree": url_tree, "body": new });
        self.write(caller, "tree.create", parameters, move |store, _who, now| async move {
            let row = store.create_tree(&new, now).await?;
            Ok(Done::with(row, Vec::new()))
        })
        .await
    }

    /// `DELETE /trees/{tree}`.
    pub(crate) async fn delete_tree(&self, caller: &Caller, tree: String) -> Result<Removed, ApiError> {
        let parameters = json!({ "tree": tree });
        self.write(caller, "tree.delete", parameters, move |store, _who, _now| async move {
            store.delete_tree(&tree).await?;
            Ok(Done::with(Removed { removed: tree }, Vec::new()))
        })
        .await
    }

    /// `DELETE /trees2`: every named tree or, when one is unknown, none, in
    /// one store transaction.
    pub(crate) async fn delete_trees(&self, caller: &Caller, body: TreesDelete) -> Result<RemovedTrees, ApiError> {
        let parameters = json!(body);
        self.write(caller, "tree.delete", parameters, move |store, _who, _now| async move {
            let names = distinct(&body.trees);
            if names.is_empty() {
                return Err(TreeError::NoTrees.into());
            }
            store.delete_trees(&names).await?;
            Ok(Done::with(RemovedTrees { removed: names }, Vec::new()))
        })
        .await
    }

    /// `PATCH /trees`: the named trees after the update, as gen 3 answered.
    pub(crate) async fn update_trees(
        &self,
        caller: &Caller,
        update: TreesUpdate,
    ) -> Result<Vec<TreeSummary>, ApiError> {
        let parameters = json!(update);
        self.write(caller, "tree.update", parameters, move |store, who, now| async move {
            let outcome = store.update_trees(&update, &who, now).await?;
            let answer: Vec<TreeSummary> = outcome.trees.iter().map(TreeSummary::from).collect();
            let result = json!({
                "ok": true,
                "trees": answer,
                "stack_id": outcome.stack_id,
                "status_changes": outcome.transitions.iter().map(|t| &t.tree.tree).collect::<Vec<_>>(),
            });
            Ok(Done { answer, transitions: outcome.transitions, result })
        })
        .await
    }

    /// `PATCH /stack/{id}`.
    pub(crate) async fn edit_stack_entry(
        &self,
        caller: &Caller,
        id: i64,
        edit: EntryEdit,
    ) -> Result<StackEdited, ApiError> {
        let parameters = json!({ "id": id, "body": edit });
        self.write(caller, "tree.stack_edit", parameters, move |store, _who, _now| async move {
            let entry = store.edit_stack_entry(id, &edit).await?;
            let tags = match edit.tags {
                Some(tags) => tags,
                None => entry.trees.first().map(|tree| tree.last_state.current_tags.clone()).unwrap_or_default(),
            };
            Ok(Done::with(StackEdited { id, reason: entry.reason, tags }, Vec::new()))
        })
        .await
    }

    /// `DELETE /stack/{id}`: with `revert`, the trees go back first.
    pub(crate) async fn remove_stack_entry(
        &self,
        caller: &Caller,
        id: i64,
        revert: bool,
    ) -> Result<StackRemoved, ApiError> {
        let action = if revert { "tree.stack_revert" } else { "tree.stack_discard" };
        let parameters = json!({ "id": id, "revert": revert });
        self.write(caller, action, parameters, move |store, who, now| async move {
            let outcome = store.remove_stack_entry(id, revert, &who, now).await?;
            let answer = StackRemoved { id: outcome.id, reverted: outcome.reverted };
            let restored: Vec<TreeSummary> = outcome.trees.iter().map(TreeSummary::from).collect();
            let result = json!({ "ok": true, "id": answer.id, "reverted": answer.reverted, "trees": restored });
            Ok(Done { answer, transitions: outcome.transitions, result })
        })
        .await
    }

    /// `PATCH /log/{id}`.
    pub(crate) async fn edit_log(&self, caller: &Caller, id: i64, edit: EntryEdit) -> Result<LogEdited, ApiError> {
        let parameters = json!({ "id": id, "body": edit });
        self.write(caller, "tree.log_edit", parameters, move |store, _who, _now| async move {
            let TreeLog { reason, tags, .. } = store.edit_log(id, &edit).await?;
            Ok(Done::with(LogEdited { reason, tags }, Vec::new()))
        })
        .await
    }

    /// Runs `op` (as `who`, at `now`), then empties the trees cache
    /// whatever the outcome, and after a commit announces the transitions
    /// and appends the audit record.
    async fn write<T, F, Fut>(
        &self,
        caller: &Caller,
        action: &'static str,
        parameters: Value,
        op: F,
    ) -> Result<T, ApiError>
    where
        F: FnOnce(Store, String, Timestamp) -> Fut,
        Fut: Future<Output = Result<Done<T>, TreesError>>,
    {
        let who = caller.who();
        let now = time::truncate_to_micros(Utc::now());
        let outcome = op(self.store().clone(), who.clone(), now).await;
        // Before answering, committed or not: a failure can follow a commit
        // (a lost connection), and an empty cache is never wrong.
        self.cache().invalidate();
        let done = outcome?;
        self.announce(&done.transitions, now);
        self.audit(who, action, now, parameters, done.result).await;
        Ok(done.answer)
    }

    /// Hands one Pulse message per transition to the publisher.
    fn announce(&self, transitions: &[StatusTransition], now: Timestamp) {
        for transition in transitions {
            let tree = &transition.tree.tree;
            let outgoing = Outgoing {
                routing_key: trees::routing_key(tree),
                body: trees::pulse_message(transition, &self.options().pulse_exchange, now),
            };
            let sent = match self.pulse() {
                Some(sender) => sender.send(outgoing).map_err(|_| "the Pulse publisher has stopped"),
                None => Err("no Pulse publisher is configured"),
            };
            if let Err(why) = sent {
                self.metrics().pulse_unsent.fetch_add(1, Ordering::Relaxed);
                if self.pulse().is_some() {
                    tracing::warn!(tree = %tree, reason = why, "Tree status change not announced");
                } else {
                    tracing::debug!(tree = %tree, reason = why, "Tree status change not announced");
                }
            }
        }
    }

    /// Appends the audit record of a committed write. The write stands
    /// whether or not this succeeds, so a failure is logged for an operator
    /// rather than answered as an error the client might retry.
    async fn audit(&self, who: String, action: &str, now: Timestamp, parameters: Value, result: Value) {
        let entry =
            AuditEntry { ts: now, actor: who, action: action.to_owned(), hosts: Vec::new(), parameters, result };
        if let Err(err) = self.store().append_audit(vec![entry]).await {
            self.metrics().audit_failures.fetch_add(1, Ordering::Relaxed);
            tracing::error!(error = %err, action, "Committed tree status write has no audit record");
        }
    }
}

/// Names in the order first given, each once.
fn distinct(names: &[String]) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    names.iter().filter(|name| seen.insert(name.as_str())).cloned().collect()
}
