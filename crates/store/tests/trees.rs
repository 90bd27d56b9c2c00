//! Tree status and API clients, run against every backend.
//!
//! Cases follow the reference's acceptance list (§C.11, "item N") at the
//! store level: what the HTTP server will answer is decided by these reads
//! and writes plus core's `trees` rules, which have their own table tests.

use chrono::{Duration, TimeZone, Utc};
use fleetroll_core::scopes::token_hash;
use fleetroll_core::time::Timestamp;
use fleetroll_core::trees::{
    self, Category, CombinedTree, EntryEdit, NewTree, TREE_SUMMARY_LOG_LIMIT, TreeError, TreeStatus, TreesUpdate,
};
use fleetroll_store::{ClientError, NewClient, Store, TreesError};
use fleetroll_testdb::TestDb;
use fleetroll_testdb::{Case, cases};
use serde_json::{Value, json};
use sqlx::{AnyConnection, Connection};

fn main() {
    fleetroll_testdb::run_suite("tree status", all_cases());
}

fn all_cases() -> Vec<(&'static str, Case)> {
    cases![
        empty_store_has_no_trees,
        created_tree_reads_open_without_logs,
        duplicate_tree_is_refused,
        bad_tree_name_is_refused,
        unknown_tree_is_not_found,
        update_of_unknown_tree_writes_nothing,
        closing_without_tags_is_refused,
        remember_needs_status_reason_and_tags,
        remembered_update_adds_a_stack_entry,
        unremembered_update_leaves_the_stack,
        revert_restores_the_state_before,
        discard_keeps_the_trees,
        missing_stack_entry_is_not_found,
        stack_edit_amends_entry_and_log,
        log_edit_amends_log_tree_and_stack,
        missing_log_is_not_found,
        logs_newest_first_five_or_all,
        motd_only_writes_no_log,
        status_only_keeps_the_reason,
        delete_takes_logs_and_stack_rows,
        deleting_several_trees_is_all_or_nothing,
        revert_skips_deleted_trees,
        landing_gate_reads_fresh_status,
        transitions_only_for_status_changes,
        version_counts_committed_writes,
        concurrent_updates_never_lose_a_state,
        json_columns_round_trip,
        clients_create_find_and_list,
        clients_refuse_duplicates_and_bad_input,
        clients_revoke,
        clients_rotate,
    ]
    .into()
}

fn at(minute: i64) -> Timestamp {
    Utc.with_ymd_and_hms(2026, 11, 22, 9, 0, 0).unwrap() + Duration::minutes(minute)
}

fn new_tree(name: &str) -> NewTree {
    NewTree {
        tree: name.into(),
        status: TreeStatus::Open,
        reason: String::new(),
        message_of_the_day: String::new(),
        category: Category::Other,
    }
}

fn update(body: Value) -> TreesUpdate {
    serde_json::from_value(body).expect("a valid update body")
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn rejected<T: std::fmt::Debug>(result: Result<T, TreesError>) -> TreeError {
    match result {
        Err(TreesError::Rejected(err)) => err,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// A store with these trees, created open.
async fn store_with(db: &TestDb, names: &[&str]) -> Store {
    let store = db.open(10).await;
    for name in names {
        store.create_tree(&new_tree(name), at(0)).await.unwrap();
    }
    store
}

async fn tree(store: &Store, name: &str) -> CombinedTree {
    store.tree(name).await.unwrap().unwrap_or_else(|| panic!("tree {name} exists"))
}

async fn count(db: &TestDb, sql: &str) -> i64 {
    let mut conn: AnyConnection = db.raw().await;
    let n = sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap();
    let _ = conn.close().await;
    n
}

const SHERIFF: &str = "client:sheriff";

/// Item 1.
async fn empty_store_has_no_trees(db: &TestDb) {
    let store = db.open(10).await;
    assert_eq!(store.trees().await.unwrap(), []);
    assert_eq!(store.stack().await.unwrap(), []);
    assert_eq!(store.trees_version().await.unwrap(), 0);
}

/// Items 2 and 6.
async fn created_tree_reads_open_without_logs(db: &TestDb) {
    let store = db.open(10).await;
    let body: NewTree = trees::parse_body(
        br#"{"tree":"mozilla-central","status":"open","reason":"","message_of_the_day":"","category":"other"}"#,
    )
    .unwrap();
    let row = store.create_tree(&body, at(0)).await.unwrap();
    assert_eq!(
        serde_json::to_value(&row).unwrap(),
        json!({"category":"other","message_of_the_day":"","reason":"","status":"open","tree":"mozilla-central"})
    );
    let expected = json!({"tree":"mozilla-central","status":"open","reason":"","message_of_the_day":"","tags":[],
                          "log_id":null,"category":"other"});
    assert_eq!(serde_json::to_value(tree(&store, "mozilla-central").await).unwrap(), expected);
    assert_eq!(serde_json::to_value(store.trees().await.unwrap()).unwrap(), json!([expected]));
    assert_eq!(store.tree_logs("mozilla-central", None).await.unwrap(), []);

    let mut release = new_tree("mozilla-release");
    release.status = TreeStatus::Closed;
    release.reason = "not yet".into();
    release.category = Category::ReleaseStabilization;
    store.create_tree(&release, at(1)).await.unwrap();
    let names: Vec<String> = store.trees().await.unwrap().into_iter().map(|t| t.tree).collect();
    assert_eq!(names, ["mozilla-central", "mozilla-release"]);
    let release = tree(&store, "mozilla-release").await;
    assert_eq!((release.status, release.reason.as_str()), (TreeStatus::Closed, "not yet"));
    assert_eq!(release.category, Category::ReleaseStabilization);
}

/// Item 3.
async fn duplicate_tree_is_refused(db: &TestDb) {
    let store = store_with(db, &["tree"]).await;
    let mut again = new_tree("tree");
    again.reason = "second".into();
    let err = rejected(store.create_tree(&again, at(1)).await);
    assert_eq!(err.problem()["title"], "Tree tree already exists.");
    assert_eq!(err.problem()["detail"], "Tree already exists.");
    assert_eq!(tree(&store, "tree").await.reason, "");
}

/// Item 4 is core's `check_new_tree`; the store refuses bad names on its own too.
async fn bad_tree_name_is_refused(db: &TestDb) {
    let store = db.open(10).await;
    let err = rejected(store.create_tree(&new_tree("a/b"), at(0)).await);
    assert!(matches!(err, TreeError::InvalidTreeName { .. }), "{err:?}");
    assert_eq!(store.trees().await.unwrap(), []);
}

/// Items 5 and 17 (unknown tree).
async fn unknown_tree_is_not_found(db: &TestDb) {
    let store = store_with(db, &["tree"]).await;
    assert_eq!(store.tree("unknowntree").await.unwrap(), None);
    let err = rejected(store.tree_logs("unknowntree", Some(TREE_SUMMARY_LOG_LIMIT)).await);
    assert_eq!(err, TreeError::NoSuchTree { tree: "unknowntree".into() });
    assert_eq!(err.status(), 404);
    assert_eq!(rejected(store.delete_tree("unknowntree").await), err);
}

/// Item 7.
async fn update_of_unknown_tree_writes_nothing(db: &TestDb) {
    let store = store_with(db, &["autoland"]).await;
    let version = store.trees_version().await.unwrap();
    let body = update(json!({"trees": ["autoland", "badtree"], "status": "closed", "tags": ["infra"], "reason": "x"}));
    let err = rejected(store.update_trees(&body, SHERIFF, at(1)).await);
    assert_eq!(err, TreeError::TreesNotFound { trees: strings(&["badtree"]) });
    assert_eq!(tree(&store, "autoland").await.status, TreeStatus::Open);
    assert_eq!(store.trees_version().await.unwrap(), version, "a refused write commits nothing");
}

/// Item 8.
async fn closing_without_tags_is_refused(db: &TestDb) {
    let store = store_with(db, &["autoland", "mozilla-central"]).await;
    let body = update(json!({"status": "closed", "trees": ["autoland", "mozilla-central"]}));
    assert_eq!(rejected(store.update_trees(&body, SHERIFF, at(1)).await), TreeError::TagsRequired);
    assert_eq!(store.tree_logs("autoland", None).await.unwrap(), []);
}

/// Item 9.
async fn remember_needs_status_reason_and_tags(db: &TestDb) {
    let store = store_with(db, &["autoland"]).await;
    for body in [
        json!({"trees": ["autoland"], "remember": true, "reason": "r", "tags": ["t"]}),
        json!({"trees": ["autoland"], "remember": true, "status": "open", "tags": ["t"]}),
        json!({"trees": ["autoland"], "remember": true, "status": "open", "reason": "r"}),
    ] {
        let err = rejected(store.update_trees(&update(body.clone()), SHERIFF, at(1)).await);
        assert_eq!(err.title(), "Must specify status, reason and tags to remember the change.", "{body}");
    }
    assert_eq!(store.stack().await.unwrap(), []);
}

async fn close_remembered(store: &Store, trees: &[&str], reason: &str, tags: &[&str], minute: i64) -> i64 {
    let body = update(json!({"remember": true, "reason": reason, "status": "closed", "tags": tags, "trees": trees}));
    store.update_trees(&body, SHERIFF, at(minute)).await.unwrap().stack_id.unwrap()
}

async fn open_remembered(store: &Store, trees: &[&str], reason: &str, tags: &[&str], minute: i64) -> i64 {
    let body = update(json!({"remember": true, "reason": reason, "status": "open", "tags": tags, "trees": trees}));
    store.update_trees(&body, SHERIFF, at(minute)).await.unwrap().stack_id.unwrap()
}

/// Item 10.
async fn remembered_update_adds_a_stack_entry(db: &TestDb) {
    let store = store_with(db, &["autoland", "mozilla-central", "try"]).await;
    let body = update(json!({"remember": true, "reason": "somereason", "status": "closed",
                             "tags": ["sometag1", "sometag2"], "trees": ["autoland", "mozilla-central"]}));
    let outcome = store.update_trees(&body, SHERIFF, at(5)).await.unwrap();
    assert_eq!(outcome.trees.len(), 2);
    for name in ["autoland", "mozilla-central"] {
        let t = tree(&store, name).await;
        assert_eq!((t.status, t.reason.as_str()), (TreeStatus::Closed, "somereason"));
        assert_eq!(t.tags, strings(&["sometag1", "sometag2"]));
    }
    assert_eq!(tree(&store, "try").await.status, TreeStatus::Open);
    let stack = store.stack().await.unwrap();
    let [entry] = stack.as_slice() else { panic!("one stack entry: {stack:?}") };
    assert_eq!(Some(entry.id), outcome.stack_id);
    assert_eq!((entry.reason.as_str(), entry.status, entry.who.as_str()), ("somereason", TreeStatus::Closed, SHERIFF));
    assert_eq!(entry.when, at(5));
    assert_eq!(entry.trees.iter().map(|t| t.tree.as_str()).collect::<Vec<_>>(), ["autoland", "mozilla-central"]);
    for changed in &entry.trees {
        let log_id = tree(&store, &changed.tree).await.log_id.unwrap();
        assert_eq!(
            serde_json::to_value(&changed.last_state).unwrap(),
            json!({"status": "open", "reason": "", "tags": [], "log_id": null, "current_status": "closed",
                   "current_reason": "somereason", "current_tags": ["sometag1", "sometag2"],
                   "current_log_id": log_id})
        );
    }
}

/// Item 11.
async fn unremembered_update_leaves_the_stack(db: &TestDb) {
    let store = store_with(db, &["autoland", "mozilla-central"]).await;
    let body = update(json!({"reason": "somereason", "status": "closed", "tags": ["sometag1", "sometag2"],
                             "trees": ["autoland", "mozilla-central"]}));
    let outcome = store.update_trees(&body, SHERIFF, at(1)).await.unwrap();
    assert_eq!(outcome.stack_id, None);
    assert_eq!(tree(&store, "mozilla-central").await.status, TreeStatus::Closed);
    assert_eq!(store.stack().await.unwrap(), []);
}

/// The setup of items 12 and 13: opened (entry 1), then closed (entry 2).
async fn opened_then_closed(db: &TestDb) -> (Store, i64, i64) {
    let store = store_with(db, &["autoland", "mozilla-central"]).await;
    let trees = ["autoland", "mozilla-central"];
    let first = open_remembered(&store, &trees, "some reason for opening", &["sometag1", "sometag2"], 1).await;
    let second = close_remembered(&store, &trees, "some reason to close", &["closingtag1", "closingtag2"], 2).await;
    (store, first, second)
}

/// Item 12.
async fn revert_restores_the_state_before(db: &TestDb) {
    let (store, first, second) = opened_then_closed(db).await;
    let outcome = store.remove_stack_entry(second, true, "client:other-sheriff", at(3)).await.unwrap();
    assert_eq!((outcome.id, outcome.reverted), (second, true));
    assert_eq!(outcome.transitions.len(), 2);
    let stack = store.stack().await.unwrap();
    assert_eq!(stack.iter().map(|e| e.id).collect::<Vec<_>>(), [first]);
    let autoland = tree(&store, "autoland").await;
    assert_eq!((autoland.status, autoland.reason.as_str()), (TreeStatus::Open, "some reason for opening"));
    assert_eq!(autoland.tags, strings(&["sometag1", "sometag2"]));
    let logs = store.tree_logs("autoland", None).await.unwrap();
    assert_eq!(logs.len(), 3, "opened, closed, and the revert");
    assert_eq!((logs[0].who.as_str(), logs[0].when, logs[0].status), ("client:other-sheriff", at(3), TreeStatus::Open));
    assert_eq!(Some(logs[0].id), autoland.log_id);
}

/// Item 13.
async fn discard_keeps_the_trees(db: &TestDb) {
    let (store, first, second) = opened_then_closed(db).await;
    let outcome = store.remove_stack_entry(second, false, SHERIFF, at(3)).await.unwrap();
    assert_eq!((outcome.reverted, outcome.trees.len(), outcome.transitions.len()), (false, 0, 0));
    assert_eq!(store.stack().await.unwrap().iter().map(|e| e.id).collect::<Vec<_>>(), [first]);
    let autoland = tree(&store, "autoland").await;
    assert_eq!((autoland.status, autoland.reason.as_str()), (TreeStatus::Closed, "some reason to close"));
    assert_eq!(autoland.tags, strings(&["closingtag1", "closingtag2"]));
    assert_eq!(store.tree_logs("autoland", None).await.unwrap().len(), 2);
}

/// Item 14 (the `revert` values themselves are core's `parse_revert`).
async fn missing_stack_entry_is_not_found(db: &TestDb) {
    let (store, ..) = opened_then_closed(db).await;
    let err = rejected(store.remove_stack_entry(99, true, SHERIFF, at(3)).await);
    assert_eq!((err.status(), err.title()), (404, "No change 99 found.".to_owned()));
    let edit = EntryEdit { reason: Some("x".into()), tags: None };
    assert_eq!(rejected(store.edit_stack_entry(99, &edit).await), TreeError::NoSuchChange { id: 99 });
    assert_eq!(store.stack().await.unwrap().len(), 2);
}

/// Item 15.
async fn stack_edit_amends_entry_and_log(db: &TestDb) {
    let store = store_with(db, &["autoland"]).await;
    let id = close_remembered(&store, &["autoland"], "somereason", &["sometag1"], 1).await;
    let edit = EntryEdit { reason: Some("updated reason".into()), tags: Some(strings(&["updated tags"])) };
    let edited = store.edit_stack_entry(id, &edit).await.unwrap();
    let stack = store.stack().await.unwrap();
    assert_eq!(stack, std::slice::from_ref(&edited));
    assert_eq!(edited.reason, "updated reason");
    let state = &edited.trees[0].last_state;
    assert_eq!(
        (state.current_reason.as_str(), state.current_tags.clone()),
        ("updated reason", strings(&["updated tags"]))
    );
    let logs = store.tree_logs("autoland", None).await.unwrap();
    assert_eq!(Some(logs[0].id), state.current_log_id);
    assert_eq!((logs[0].reason.as_str(), logs[0].tags.clone()), ("updated reason", strings(&["updated tags"])));
    let autoland = tree(&store, "autoland").await;
    assert_eq!((autoland.reason.as_str(), autoland.status), ("updated reason", TreeStatus::Closed));
    assert_eq!(
        store.edit_stack_entry(id, &EntryEdit::default()).await.unwrap(),
        edited,
        "an empty edit changes nothing"
    );
}

/// Item 16.
async fn log_edit_amends_log_tree_and_stack(db: &TestDb) {
    let store = store_with(db, &["autoland"]).await;
    close_remembered(&store, &["autoland"], "somereason", &["sometag1"], 1).await;
    let latest = store.tree_logs("autoland", Some(TREE_SUMMARY_LOG_LIMIT)).await.unwrap()[0].id;
    let reason = EntryEdit { reason: Some("new log reason".into()), tags: None };
    store.edit_log(latest, &reason).await.unwrap();
    let tags = EntryEdit { reason: None, tags: Some(strings(&["new tag 1", "new tag 2"])) };
    let edited = store.edit_log(latest, &tags).await.unwrap();
    let logs = store.tree_logs("autoland", Some(TREE_SUMMARY_LOG_LIMIT)).await.unwrap();
    assert_eq!(logs[0], edited);
    assert_eq!((edited.reason.as_str(), edited.tags.clone()), ("new log reason", strings(&["new tag 1", "new tag 2"])));
    assert_eq!((edited.status, edited.who.as_str(), edited.when), (TreeStatus::Closed, SHERIFF, at(1)));
    let state = store.stack().await.unwrap()[0].trees[0].last_state.clone();
    assert_eq!(state.current_reason, "new log reason");
    assert_eq!(state.current_tags, strings(&["new tag 1", "new tag 2"]));
    assert_eq!(tree(&store, "autoland").await.tags, strings(&["new tag 1", "new tag 2"]));
}

async fn missing_log_is_not_found(db: &TestDb) {
    let store = store_with(db, &["autoland"]).await;
    let edit = EntryEdit { reason: Some("x".into()), tags: None };
    let err = rejected(store.edit_log(42, &edit).await);
    assert_eq!((err.status(), err.title()), (404, "No tree log for id 42 found.".to_owned()));
}

/// Item 17: eight alternating updates; newest first by time, then by id.
async fn logs_newest_first_five_or_all(db: &TestDb) {
    let store = store_with(db, &["tree"]).await;
    // Minutes out of order, and two updates in the same minute.
    let minutes = [1, 2, 3, 4, 6, 5, 7, 7];
    for (n, minute) in minutes.into_iter().enumerate() {
        let status = if n % 2 == 0 { "closed" } else { "open" };
        let body = update(json!({"trees": ["tree"], "status": status, "reason": format!("change {n}"), "tags": ["t"]}));
        store.update_trees(&body, SHERIFF, at(minute)).await.unwrap();
    }
    let reasons = |logs: &[trees::TreeLog]| logs.iter().map(|l| l.reason.clone()).collect::<Vec<_>>();
    let all = store.tree_logs("tree", None).await.unwrap();
    let expected = ["change 7", "change 6", "change 4", "change 5", "change 3", "change 2", "change 1", "change 0"];
    assert_eq!(reasons(&all), expected);
    let newest = store.tree_logs("tree", Some(TREE_SUMMARY_LOG_LIMIT)).await.unwrap();
    assert_eq!(reasons(&newest), expected[..5]);
    assert!(all.windows(2).all(|w| (w[0].when, w[0].id) > (w[1].when, w[1].id)));
}

/// Item 18.
async fn motd_only_writes_no_log(db: &TestDb) {
    let store = store_with(db, &["tree1"]).await;
    let body = update(json!({"trees": ["tree1"], "message_of_the_day": "if it don't fit force it"}));
    let outcome = store.update_trees(&body, SHERIFF, at(1)).await.unwrap();
    assert_eq!((outcome.stack_id, outcome.transitions.len()), (None, 0));
    let tree1 = tree(&store, "tree1").await;
    assert_eq!(tree1.message_of_the_day, "if it don't fit force it");
    assert_eq!((tree1.status, tree1.log_id), (TreeStatus::Open, None));
    assert_eq!(store.tree_logs("tree1", None).await.unwrap(), []);
    assert_eq!(store.stack().await.unwrap(), []);
}

/// Item 19: gen 1 logged the reason as "no change"; we log the reason the tree keeps.
async fn status_only_keeps_the_reason(db: &TestDb) {
    let store = store_with(db, &["tree1"]).await;
    let close = update(json!({"trees": ["tree1"], "status": "closed", "reason": "bustage", "tags": ["checkin_test"]}));
    store.update_trees(&close, SHERIFF, at(1)).await.unwrap();
    let body = update(json!({"trees": ["tree1"], "status": "approval required"}));
    store.update_trees(&body, SHERIFF, at(2)).await.unwrap();
    let tree1 = tree(&store, "tree1").await;
    assert_eq!((tree1.status, tree1.reason.as_str()), (TreeStatus::ApprovalRequired, "bustage"));
    let logs = store.tree_logs("tree1", None).await.unwrap();
    assert_eq!(logs.len(), 2);
    assert_eq!((logs[0].status, logs[0].reason.as_str()), (TreeStatus::ApprovalRequired, "bustage"));
    assert_eq!(logs[0].tags, strings(&["checkin_test"]));
}

/// Item 20: a deleted tree takes its logs and stack rows, and entries left
/// without trees, with it; other trees keep theirs.
async fn delete_takes_logs_and_stack_rows(db: &TestDb) {
    let store = store_with(db, &["mozilla-central", "autoland"]).await;
    let alone = close_remembered(&store, &["mozilla-central"], "alone", &["infra"], 1).await;
    let shared = open_remembered(&store, &["mozilla-central", "autoland"], "shared", &["infra"], 2).await;
    store.delete_tree("mozilla-central").await.unwrap();
    assert_eq!(store.tree("mozilla-central").await.unwrap(), None);
    assert_eq!(rejected(store.tree_logs("mozilla-central", None).await).status(), 404);
    assert_eq!(count(db, "SELECT COUNT(*) FROM tree_log WHERE tree = 'mozilla-central'").await, 0);
    assert_eq!(count(db, "SELECT COUNT(*) FROM tree_change_trees WHERE tree = 'mozilla-central'").await, 0);
    let stack = store.stack().await.unwrap();
    assert_eq!(stack.iter().map(|e| e.id).collect::<Vec<_>>(), [shared], "entry {alone} had no other tree");
    assert_eq!(stack[0].trees.iter().map(|t| t.tree.as_str()).collect::<Vec<_>>(), ["autoland"]);
    assert_eq!(store.tree_logs("autoland", None).await.unwrap().len(), 1);
    assert_eq!(rejected(store.delete_tree("mozilla-central").await).title(), "No tree mozilla-central found.");
    // The name is free again, and the new tree starts with nothing.
    store.create_tree(&new_tree("mozilla-central"), at(3)).await.unwrap();
    assert_eq!(tree(&store, "mozilla-central").await.log_id, None);
}

/// `DELETE /trees2`: one unknown name refuses the whole request, so no
/// tree is deleted; known names go together, in one transaction.
async fn deleting_several_trees_is_all_or_nothing(db: &TestDb) {
    let store = store_with(db, &["a", "b", "c"]).await;
    let refused = rejected(store.delete_trees(&strings(&["a", "zz", "b", "yy"])).await);
    assert_eq!((refused.status(), refused.title()), (404, "Could not fetch the following trees: yy, zz".to_owned()));
    assert_eq!(store.trees().await.unwrap().len(), 3, "nothing deleted");
    store.delete_trees(&strings(&["a", "b"])).await.unwrap();
    let left: Vec<String> = store.trees().await.unwrap().into_iter().map(|t| t.tree).collect();
    assert_eq!(left, ["c"]);
}

/// Reverting an entry after one of its trees was deleted restores the others.
async fn revert_skips_deleted_trees(db: &TestDb) {
    let store = store_with(db, &["a", "b"]).await;
    let id = close_remembered(&store, &["a", "b"], "closing", &["infra"], 1).await;
    store.delete_tree("b").await.unwrap();
    let outcome = store.remove_stack_entry(id, true, SHERIFF, at(2)).await.unwrap();
    assert_eq!(outcome.trees.iter().map(|t| t.tree.as_str()).collect::<Vec<_>>(), ["a"]);
    assert_eq!(tree(&store, "a").await.status, TreeStatus::Open);
    assert_eq!(store.stack().await.unwrap(), []);
}

/// Item 22: the gate reads the store, never a cache.
async fn landing_gate_reads_fresh_status(db: &TestDb) {
    let store = store_with(db, &["autoland"]).await;
    let gate = async |name: &str| trees::is_open(store.tree(name).await.unwrap().map(|t| t.status));
    assert!(gate("unknown").await);
    assert!(gate("autoland").await);
    close_remembered(&store, &["autoland"], "bustage", &["infra"], 1).await;
    assert!(!gate("autoland").await);
    let body = update(json!({"trees": ["autoland"], "status": "approval required"}));
    store.update_trees(&body, SHERIFF, at(2)).await.unwrap();
    assert!(gate("autoland").await);
}

async fn transitions_only_for_status_changes(db: &TestDb) {
    let store = store_with(db, &["open-tree", "closed-tree"]).await;
    let close = update(json!({"trees": ["closed-tree"], "status": "closed", "reason": "r", "tags": ["infra"]}));
    store.update_trees(&close, SHERIFF, at(1)).await.unwrap();
    let both =
        update(json!({"trees": ["open-tree", "closed-tree"], "status": "closed", "reason": "r2", "tags": ["infra"]}));
    let outcome = store.update_trees(&both, SHERIFF, at(2)).await.unwrap();
    let [transition] = outcome.transitions.as_slice() else { panic!("one transition: {:?}", outcome.transitions) };
    assert_eq!((transition.status_from, transition.status_to), (TreeStatus::Open, TreeStatus::Closed));
    assert_eq!(transition.tree.tree, "open-tree");
    let message = trees::pulse_message(transition, "exchange/fleetroll/treestatus", at(2));
    assert_eq!(message["_meta"]["routing_key"], "tree/open-tree/status_change");
    assert_eq!(outcome.trees.iter().map(|t| t.log_id.is_some()).collect::<Vec<_>>(), [true, true]);
}

async fn version_counts_committed_writes(db: &TestDb) {
    let store = store_with(db, &["a"]).await;
    assert_eq!(store.trees_version().await.unwrap(), 1);
    let close = update(json!({"trees": ["a"], "status": "closed"}));
    assert!(store.update_trees(&close, SHERIFF, at(1)).await.is_err());
    assert!(store.create_tree(&new_tree("a"), at(1)).await.is_err());
    assert_eq!(store.trees_version().await.unwrap(), 1);
    store.update_trees(&update(json!({"trees": ["a"], "message_of_the_day": "hi"})), SHERIFF, at(2)).await.unwrap();
    let (version, trees) = store.trees_snapshot().await.unwrap();
    assert_eq!((version, trees[0].message_of_the_day.as_str()), (2, "hi"));
    store.delete_tree("a").await.unwrap();
    assert_eq!(store.trees_snapshot().await.unwrap(), (3, vec![]));
}

/// Writers on two stores (two pools, as two replicas would be) serialise:
/// every remembered change starts from the state the one before it left, so
/// each entry's `log_id` is the previous entry's `current_log_id`.
async fn concurrent_updates_never_lose_a_state(db: &TestDb) {
    let stores = [store_with(db, &["a", "b"]).await, db.open(10).await];
    let mut tasks = Vec::new();
    for worker in 0..6_usize {
        let store = stores[worker % 2].clone();
        tasks.push(tokio::spawn(async move {
            for n in 0..5 {
                let status = if (worker + n) % 2 == 0 { "closed" } else { "open" };
                let body = update(json!({"remember": true, "trees": ["a", "b"], "status": status,
                                         "reason": format!("{worker}/{n}"), "tags": ["t"]}));
                store.update_trees(&body, SHERIFF, at(1)).await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let mut stack = stores[0].stack().await.unwrap();
    assert_eq!(stack.len(), 30);
    stack.sort_by_key(|entry| entry.id);
    for name in ["a", "b"] {
        let states: Vec<_> = stack
            .iter()
            .flat_map(|e| e.trees.iter().filter(|t| t.tree == name).map(|t| t.last_state.clone()))
            .collect();
        assert_eq!(states[0].log_id, None);
        for pair in states.windows(2) {
            assert_eq!(pair[1].log_id, pair[0].current_log_id, "{name}: a change started from a stale state");
            assert_eq!(pair[1].reason, pair[0].current_reason);
        }
        assert_eq!(tree(&stores[0], name).await.log_id, states.last().unwrap().current_log_id);
    }
}

async fn json_columns_round_trip(db: &TestDb) {
    let store = store_with(db, &["ünï"]).await;
    let tags = strings(&["quote \" and \\ backslash", "ünïcödé", "", "checkin-test"]);
    let body = update(json!({"trees": ["ünï"], "status": "closed", "reason": "r", "tags": tags, "remember": true}));
    store.update_trees(&body, SHERIFF, at(1)).await.unwrap();
    assert_eq!(tree(&store, "ünï").await.tags, tags);
    assert_eq!(store.tree_logs("ünï", None).await.unwrap()[0].tags, tags);
    assert_eq!(store.stack().await.unwrap()[0].trees[0].last_state.current_tags, tags);
}

fn new_client(name: &str, token: &str) -> NewClient {
    NewClient {
        name: name.into(),
        token_hash: token_hash(token),
        scopes: strings(&["assume:project:fleetroll:treestatus/sheriff"]),
        description: format!("{name} for tests"),
    }
}

async fn clients_create_find_and_list(db: &TestDb) {
    let store = db.open(10).await;
    let created = store.create_client(&new_client("sheriff-bot", "token-1"), at(1)).await.unwrap();
    assert_eq!((created.name.as_str(), created.created_at, created.revoked_at), ("sheriff-bot", at(1), None));
    assert_eq!(created.scopes, strings(&["assume:project:fleetroll:treestatus/sheriff"]));
    assert_eq!(created.description, "sheriff-bot for tests");
    assert!(created.is_active());
    store.create_client(&new_client("admin", "token-2"), at(2)).await.unwrap();
    assert_eq!(store.client_by_token_hash(&token_hash("token-1")).await.unwrap(), Some(created.clone()));
    assert_eq!(store.client_by_token_hash(&token_hash("token-3")).await.unwrap(), None);
    assert_eq!(store.client_by_token_hash("token-1").await.unwrap(), None, "only the hash finds a client");
    let names: Vec<String> = store.clients().await.unwrap().into_iter().map(|c| c.name).collect();
    assert_eq!(names, ["admin", "sheriff-bot"]);
    assert_eq!(store.client("sheriff-bot").await.unwrap(), Some(created));
    assert_eq!(store.client("nobody").await.unwrap(), None);
}

async fn clients_refuse_duplicates_and_bad_input(db: &TestDb) {
    let store = db.open(10).await;
    store.create_client(&new_client("bot", "token-1"), at(1)).await.unwrap();
    let err = store.create_client(&new_client("bot", "token-2"), at(2)).await.unwrap_err();
    assert!(matches!(err, ClientError::NameTaken(ref name) if name == "bot"), "{err:?}");
    let err = store.create_client(&new_client("other", "token-1"), at(2)).await.unwrap_err();
    assert!(matches!(err, ClientError::TokenTaken), "{err:?}");
    let err = store.create_client(&new_client("has space", "token-3"), at(2)).await.unwrap_err();
    assert!(matches!(err, ClientError::Invalid(_)), "{err:?}");
    let mut bad_scope = new_client("bot2", "token-4");
    bad_scope.scopes.push("new\nline".into());
    assert!(matches!(store.create_client(&bad_scope, at(2)).await.unwrap_err(), ClientError::Invalid(_)));
    assert_eq!(store.clients().await.unwrap().len(), 1);
}

async fn clients_revoke(db: &TestDb) {
    let store = db.open(10).await;
    store.create_client(&new_client("bot", "token-1"), at(1)).await.unwrap();
    let revoked = store.revoke_client("bot", at(2)).await.unwrap();
    assert_eq!(revoked.revoked_at, Some(at(2)));
    assert!(!revoked.is_active());
    assert_eq!(store.client_by_token_hash(&token_hash("token-1")).await.unwrap(), None);
    assert!(matches!(store.revoke_client("bot", at(3)).await.unwrap_err(), ClientError::Revoked(_)));
    assert!(matches!(store.revoke_client("nobody", at(3)).await.unwrap_err(), ClientError::NoSuchClient(_)));
    assert_eq!(store.clients().await.unwrap(), [revoked], "a revoked client stays listed");
    let err = store.create_client(&new_client("bot", "token-2"), at(4)).await.unwrap_err();
    assert!(matches!(err, ClientError::NameTaken(_)), "names stay taken: {err:?}");
}

async fn clients_rotate(db: &TestDb) {
    let store = db.open(10).await;
    let created = store.create_client(&new_client("bot", "token-1"), at(1)).await.unwrap();
    store.create_client(&new_client("other", "token-9"), at(1)).await.unwrap();
    let rotated = store.rotate_client_token("bot", &token_hash("token-2")).await.unwrap();
    assert_eq!(rotated, created, "only the token changes");
    assert_eq!(store.client_by_token_hash(&token_hash("token-1")).await.unwrap(), None);
    assert_eq!(store.client_by_token_hash(&token_hash("token-2")).await.unwrap(), Some(created));
    let err = store.rotate_client_token("bot", &token_hash("token-9")).await.unwrap_err();
    assert!(matches!(err, ClientError::TokenTaken), "{err:?}");
    assert!(matches!(
        store.rotate_client_token("nobody", &token_hash("x")).await.unwrap_err(),
        ClientError::NoSuchClient(_)
    ));
    store.revoke_client("bot", at(2)).await.unwrap();
    assert!(matches!(
        store.rotate_client_token("bot", &token_hash("token-3")).await.unwrap_err(),
        ClientError::Revoked(_)
    ));
    assert_eq!(store.client_by_token_hash(&token_hash("token-3")).await.unwrap(), None);
}
