//! The HTTP API end to end: the real router served in-process on
//! 127.0.0.1:0, driven by an HTTP client, on SQLite and on PostgreSQL.
//!
//! Cases named `item_NN_…` are the reference's acceptance list (§C.11) with
//! the status codes this API chose (README); the others cover
//! authorization, bad input (each checks nothing was written), Pulse
//! messages, the OpenAPI document, caching and the operational routes.

mod harness;

use std::collections::BTreeSet;
use std::time::Duration;

use fleetroll_server::{ServerOptions, VersionInfo};
use fleetroll_testdb::TestDb;
use fleetroll_testdb::{Case, cases};
use harness::{Api, PREFIX, WriteLock, test_options, wait_for_status};
use serde_json::{Value, json};

fn main() {
    fleetroll_testdb::run_suite("server API", all_cases());
}

fn all_cases() -> Vec<(&'static str, Case)> {
    cases![
        item_01_empty_store_lists_no_trees,
        item_02_put_creates_a_tree,
        item_03_duplicate_tree_is_refused,
        item_04_names_must_match,
        item_05_unknown_tree_is_not_found,
        item_06_new_tree_reads_without_logs,
        item_07_update_of_unknown_tree_is_not_found,
        item_08_closing_needs_tags,
        item_09_remember_needs_status_reason_and_tags,
        item_10_remembered_update_adds_a_stack_entry,
        item_11_unremembered_update_leaves_the_stack,
        item_12_revert_restores_the_state_before,
        item_13_discard_keeps_the_trees,
        item_14_bad_revert_and_missing_entry,
        item_15_stack_edit_amends_entry_and_log,
        item_16_log_edit_amends_log_and_stack,
        item_17_logs_newest_five_or_all,
        item_18_motd_only_writes_no_log,
        item_19_status_only_keeps_the_reason,
        item_20_delete_takes_logs_and_stack_rows,
        item_22_reads_after_a_write_never_see_the_state_before,
        stack2_aliases_restore_and_discard,
        bulk_delete_all_or_none,
        v0_routes_answer_without_envelope,
        replicas_see_other_writes_within_the_interval,
        auth_no_header_is_401,
        auth_malformed_header_is_401,
        auth_unknown_and_revoked_tokens_are_the_same_401,
        auth_missing_scope_is_403_naming_it,
        auth_sheriff_updates_and_reverts_but_cannot_create_or_delete,
        auth_admin_does_everything,
        auth_configured_prefix_and_roles,
        auth_reads_are_anonymous,
        writer_is_recorded_as_client_name,
        writes_are_audited_once,
        bad_json_is_400,
        wrong_types_are_400_naming_the_field,
        unknown_fields_are_400,
        unknown_status_is_400,
        oversized_body_is_413,
        body_not_json_is_415,
        unknown_route_is_404,
        wrong_method_is_405,
        bad_path_values_are_400,
        bad_query_values_are_400,
        bad_tree_names_are_400,
        nul_characters_are_400,
        store_failure_is_500_without_internals,
        a_write_stuck_behind_a_lock_is_answered_503_and_still_completes_audited,
        status_change_sends_one_pulse_message_each,
        motd_or_reason_change_sends_no_pulse_message,
        revert_announces_its_transitions,
        closed_or_absent_pulse_channel_never_fails_a_write,
        openapi_documents_every_route_served,
        heartbeat_version_and_metrics,
        cors_and_cache_headers,
    ]
    .into()
}

/// `PATCH /trees` closing `trees` as the admin, remembered.
fn close(trees: &[&str], reason: &str, tags: &[&str]) -> Value {
    json!({"trees": trees, "status": "closed", "reason": reason, "tags": tags, "remember": true})
}

fn open(trees: &[&str], reason: &str, tags: &[&str]) -> Value {
    json!({"trees": trees, "status": "open", "reason": reason, "tags": tags, "remember": true})
}

fn id(value: &Value) -> i64 {
    value["id"].as_i64().expect("an id")
}

// ---------------------------------------------------------------------------
// §C.11

async fn item_01_empty_store_lists_no_trees(db: &TestDb) {
    let api = Api::start(db).await;
    assert_eq!(api.get("/trees").await.expect(200).json(), json!({"result": {}}));
    assert_eq!(api.get("/trees2").await.expect(200).json(), json!({"result": []}));
    assert_eq!(api.get("/stack").await.expect(200).json(), json!({"result": []}));
    api.stop().await;
}

async fn item_02_put_creates_a_tree(db: &TestDb) {
    let api = Api::start(db).await;
    let body = json!({"tree": "tree", "status": "open", "reason": "", "message_of_the_day": "", "category": "other"});
    let reply = api.admin("PUT", "/trees/tree", Some(body)).await;
    reply.expect(201);
    assert_eq!(reply.header("content-type"), "application/json");
    assert_eq!(
        reply.json(),
        json!({"category": "other", "message_of_the_day": "", "reason": "", "status": "open", "tree": "tree"})
    );
    assert_eq!(api.tree("tree").await["status"], "open");
    api.stop().await;
}

async fn item_03_duplicate_tree_is_refused(db: &TestDb) {
    let api = Api::start(db).await;
    api.create(&["tree"]).await;
    let before = api.written().await;
    let reply = api.admin("PUT", "/trees/tree", Some(json!({"tree": "tree"}))).await;
    reply.problem(400);
    assert_eq!(
        reply.json(),
        json!({"detail": "Tree already exists.", "status": 400, "title": "Tree tree already exists.",
               "type": "https://developer.mozilla.org/en-US/docs/Web/HTTP/Status/400"})
    );
    assert_eq!(api.written().await, before);
    api.stop().await;
}

async fn item_04_names_must_match(db: &TestDb) {
    let api = Api::start(db).await;
    let before = api.written().await;
    let reply = api.admin("PUT", "/trees/wrongname", Some(json!({"tree": "tree"}))).await;
    let (title, _) = reply.problem(400);
    assert!(title.contains("wrongname") && title.contains("tree"), "{title}");
    assert_eq!(api.written().await, before);
    api.get("/trees/wrongname").await.problem(404);
    api.get("/trees/tree").await.problem(404);
    api.stop().await;
}

async fn item_05_unknown_tree_is_not_found(db: &TestDb) {
    let api = Api::start(db).await;
    let reply = api.get("/trees/unknowntree").await;
    reply.problem(404);
    assert_eq!(
        reply.json(),
        json!({"detail": "The tree does not exist.", "status": 404, "title": "No tree unknowntree found.",
               "type": "https://developer.mozilla.org/en-US/docs/Web/HTTP/Status/404"})
    );
    api.stop().await;
}

async fn item_06_new_tree_reads_without_logs(db: &TestDb) {
    let api = Api::start(db).await;
    api.create(&["mozilla-central"]).await;
    assert_eq!(
        api.get("/trees/mozilla-central").await.expect(200).json(),
        json!({"result": {"tree": "mozilla-central", "status": "open", "reason": "", "message_of_the_day": "",
                          "tags": [], "log_id": null, "category": "other"}})
    );
    api.stop().await;
}

async fn item_07_update_of_unknown_tree_is_not_found(db: &TestDb) {
    let api = Api::start(db).await;
    api.create(&["autoland"]).await;
    let before = api.written().await;
    let reply = api.admin("PATCH", "/trees", Some(json!({"trees": ["autoland", "badtree"], "status": "open"}))).await;
    let (title, _) = reply.problem(404);
    assert_eq!(title, "Could not fetch the following trees: badtree");
    assert_eq!(api.written().await, before);
    assert_eq!(api.logs("autoland").await, Vec::<Value>::new());
    api.stop().await;
}

async fn item_08_closing_needs_tags(db: &TestDb) {
    let api = Api::start(db).await;
    api.create(&["autoland", "mozilla-central"]).await;
    let before = api.written().await;
    let body = json!({"status": "closed", "trees": ["autoland", "mozilla-central"]});
    let reply = api.admin("PATCH", "/trees", Some(body)).await;
    reply.problem(400);
    assert_eq!(
        reply.json(),
        json!({"detail": "Tags are required when closing a tree.", "status": 400,
               "title": "Tags are required when closing a tree.",
               "type": "https://developer.mozilla.org/en-US/docs/Web/HTTP/Status/400"})
    );
    assert_eq!(api.written().await, before);
    api.stop().await;
}

async fn item_09_remember_needs_status_reason_and_tags(db: &TestDb) {
    let api = Api::start(db).await;
    api.create(&["autoland"]).await;
    let before = api.written().await;
    for body in [
        json!({"trees": ["autoland"], "remember": true, "reason": "r", "tags": ["t"]}),
        json!({"trees": ["autoland"], "remember": true, "status": "open", "tags": ["t"]}),
        json!({"trees": ["autoland"], "remember": true, "status": "open", "reason": "r"}),
    ] {
        let (title, _) = api.admin("PATCH", "/trees", Some(body)).await.problem(400);
        assert_eq!(title, "Must specify status, reason and tags to remember the change.");
    }
    assert_eq!(api.written().await, before);
    api.stop().await;
}

async fn item_10_remembered_update_adds_a_stack_entry(db: &TestDb) {
    let api = Api::start(db).await;
    api.create(&["autoland", "mozilla-central"]).await;
    let answer = api.update(close(&["autoland", "mozilla-central"], "somereason", &["sometag1", "sometag2"])).await;
    assert_eq!(
        answer,
        json!([
            {"tree": "autoland", "status": "closed", "reason": "somereason", "message_of_the_day": ""},
            {"tree": "mozilla-central", "status": "closed", "reason": "somereason", "message_of_the_day": ""},
        ])
    );
    let trees = api.get("/trees").await.expect(200).json();
    for name in ["autoland", "mozilla-central"] {
        assert_eq!(trees["result"][name]["status"], "closed");
        assert_eq!(trees["result"][name]["reason"], "somereason");
    }
    let stack = api.stack().await;
    assert_eq!(stack.len(), 1);
    assert_eq!(stack[0]["reason"], "somereason");
    assert_eq!(stack[0]["status"], "closed");
    assert_eq!(stack[0]["who"], "client:admin");
    let changed = stack[0]["trees"].as_array().unwrap();
    assert_eq!(changed.len(), 2);
    for tree in changed {
        let mut state = tree["last_state"].clone();
        assert!(state["current_log_id"].is_i64(), "{state}");
        state["current_log_id"] = Value::Null;
        assert_eq!(
            state,
            json!({"status": "open", "reason": "", "tags": [], "log_id": null, "current_status": "closed",
                   "current_reason": "somereason", "current_tags": ["sometag1", "sometag2"], "current_log_id": null})
        );
    }
    api.stop().await;
}

async fn item_11_unremembered_update_leaves_the_stack(db: &TestDb) {
    let api = Api::start(db).await;
    api.create(&["autoland", "mozilla-central"]).await;
    let mut body = close(&["autoland", "mozilla-central"], "somereason", &["sometag1"]);
    body["remember"] = json!(false);
    api.update(body).await;
    assert_eq!(api.tree("autoland").await["status"], "closed");
    assert_eq!(api.tree("mozilla-central").await["status"], "closed");
    assert_eq!(api.get("/stack").await.expect(200).json(), json!({"result": []}));
    api.stop().await;
}

/// Item 12's and 13's setup: opened, then closed, both remembered; the
/// id of the closing entry.
async fn opened_then_closed(api: &Api) -> i64 {
    api.create(&["autoland", "mozilla-central"]).await;
    let trees = ["autoland", "mozilla-central"];
    api.update(open(&trees, "some reason for opening", &["sometag1", "sometag2"])).await;
    api.update(close(&trees, "some reason to close", &["closingtag1", "closingtag2"])).await;
    let stack = api.stack().await;
    assert_eq!(stack.len(), 2);
    assert_eq!(stack[0]["reason"], "some reason to close", "newest first");
    id(&stack[0])
}

async fn item_12_revert_restores_the_state_before(db: &TestDb) {
    let api = Api::start(db).await;
    let closing = opened_then_closed(&api).await;
    let reply = api.admin("DELETE", &format!("/stack/{closing}?revert=1"), None).await;
    assert_eq!(reply.expect(200).json(), json!({"id": closing, "reverted": true}));
    assert_eq!(api.stack().await.len(), 1);
    let autoland = api.tree("autoland").await;
    assert_eq!(autoland["status"], "open");
    assert_eq!(autoland["reason"], "some reason for opening");
    assert_eq!(autoland["tags"], json!(["sometag1", "sometag2"]));
    let logs = api.logs("autoland").await;
    assert_eq!(logs.len(), 3, "the revert is logged");
    assert_eq!(logs[0]["status"], "open");
    assert_eq!(logs[0]["reason"], "some reason for opening");
    assert_eq!(logs[0]["who"], "client:admin");
    api.stop().await;
}

async fn item_13_discard_keeps_the_trees(db: &TestDb) {
    let api = Api::start(db).await;
    let closing = opened_then_closed(&api).await;
    let reply = api.admin("DELETE", &format!("/stack/{closing}?revert=0"), None).await;
    assert_eq!(reply.expect(200).json(), json!({"id": closing, "reverted": false}));
    assert_eq!(api.stack().await.len(), 1);
    let autoland = api.tree("autoland").await;
    assert_eq!(autoland["status"], "closed");
    assert_eq!(autoland["reason"], "some reason to close");
    assert_eq!(autoland["tags"], json!(["closingtag1", "closingtag2"]));
    assert_eq!(api.logs("autoland").await.len(), 2, "a discard writes no log");
    api.stop().await;
}

async fn item_14_bad_revert_and_missing_entry(db: &TestDb) {
    let api = Api::start(db).await;
    let closing = opened_then_closed(&api).await;
    let before = api.written().await;
    for query in ["revert=2", "revert=-1", "revert=", "revert=true"] {
        let (title, _) = api.admin("DELETE", &format!("/stack/{closing}?{query}"), None).await.problem(400);
        assert_eq!(title, "Unexpected value for `revert`.", "{query}");
    }
    let (title, _) = api.admin("DELETE", "/stack/99", None).await.problem(404);
    assert_eq!(title, "No change 99 found.");
    assert_eq!(api.written().await, before);
    assert_eq!(api.stack().await.len(), 2);
    api.stop().await;
}

async fn item_15_stack_edit_amends_entry_and_log(db: &TestDb) {
    let api = Api::start(db).await;
    api.create(&["autoland"]).await;
    api.update(close(&["autoland"], "somereason", &["sometag"])).await;
    let entry = id(&api.stack().await[0]);
    let body = json!({"reason": "updated reason", "tags": ["updated tags"]});
    let reply = api.admin("PATCH", &format!("/stack/{entry}"), Some(body)).await;
    assert_eq!(reply.expect(200).json(), json!({"id": entry, "reason": "updated reason", "tags": ["updated tags"]}));
    let stack = api.stack().await;
    assert_eq!(stack[0]["reason"], "updated reason");
    let state = &stack[0]["trees"][0]["last_state"];
    assert_eq!(state["current_reason"], "updated reason");
    assert_eq!(state["current_tags"], json!(["updated tags"]));
    let logs = api.logs("autoland").await;
    assert_eq!(logs[0]["id"], state["current_log_id"]);
    assert_eq!(logs[0]["reason"], "updated reason");
    assert_eq!(logs[0]["tags"], json!(["updated tags"]));
    assert_eq!(api.tree("autoland").await["reason"], "updated reason");
    let (title, _) = api.admin("PATCH", "/stack/99", Some(json!({"reason": "x"}))).await.problem(404);
    assert_eq!(title, "No change 99 found.");
    api.stop().await;
}

async fn item_16_log_edit_amends_log_and_stack(db: &TestDb) {
    let api = Api::start(db).await;
    api.create(&["autoland"]).await;
    api.update(close(&["autoland"], "somereason", &["sometag"])).await;
    let log = id(&api.logs("autoland").await[0]);
    let reply = api.admin("PATCH", &format!("/log/{log}"), Some(json!({"reason": "new log reason"}))).await;
    assert_eq!(reply.expect(200).json(), json!({"reason": "new log reason", "tags": ["sometag"]}));
    let reply = api.admin("PATCH", &format!("/log/{log}"), Some(json!({"tags": ["new tag 1", "new tag 2"]}))).await;
    assert_eq!(reply.expect(200).json(), json!({"reason": "new log reason", "tags": ["new tag 1", "new tag 2"]}));
    let logs = api.get("/trees/autoland/logs").await.expect(200).json();
    assert_eq!(logs["result"][0]["reason"], "new log reason");
    assert_eq!(logs["result"][0]["tags"], json!(["new tag 1", "new tag 2"]));
    let state = &api.stack().await[0]["trees"][0]["last_state"];
    assert_eq!(state["current_reason"], "new log reason");
    assert_eq!(state["current_tags"], json!(["new tag 1", "new tag 2"]));
    let tree = api.tree("autoland").await;
    assert_eq!((&tree["reason"], &tree["tags"]), (&json!("new log reason"), &json!(["new tag 1", "new tag 2"])));
    let (title, _) = api.admin("PATCH", "/log/99", Some(json!({"reason": "x"}))).await.problem(404);
    assert_eq!(title, "No tree log for id 99 found.");
    api.stop().await;
}

async fn item_17_logs_newest_five_or_all(db: &TestDb) {
    let api = Api::start(db).await;
    api.create(&["tree"]).await;
    for n in 1..=8 {
        let status = if n % 2 == 1 { "closed" } else { "open" };
        api.update(json!({"trees": ["tree"], "status": status, "reason": format!("change {n}"), "tags": ["t"]})).await;
    }
    let reasons = |logs: &Value| -> Vec<String> {
        logs["result"].as_array().unwrap().iter().map(|l| l["reason"].as_str().unwrap().to_owned()).collect()
    };
    let expected =
        |range: std::ops::RangeInclusive<i32>| -> Vec<String> { range.rev().map(|n| format!("change {n}")).collect() };
    assert_eq!(reasons(&api.get("/trees/tree/logs").await.expect(200).json()), expected(4..=8));
    assert_eq!(reasons(&api.get("/trees/tree/logs_all").await.expect(200).json()), expected(1..=8));
    assert_eq!(reasons(&api.get("/trees/tree/logs?all=1").await.expect(200).json()), expected(1..=8));
    let log = &api.get("/trees/tree/logs").await.json()["result"][0];
    let keys: BTreeSet<&str> = log.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, BTreeSet::from(["id", "reason", "status", "tags", "tree", "when", "who"]));
    assert!(chrono::DateTime::parse_from_rfc3339(log["when"].as_str().unwrap()).is_ok(), "{log}");
    api.get("/trees/unknown/logs").await.problem(404);
    api.get("/trees/unknown/logs_all").await.problem(404);
    api.stop().await;
}

async fn item_18_motd_only_writes_no_log(db: &TestDb) {
    let api = Api::start(db).await;
    api.create(&["tree1"]).await;
    api.update(json!({"trees": ["tree1"], "message_of_the_day": "if it don't fit force it"})).await;
    let tree = api.tree("tree1").await;
    assert_eq!(tree["message_of_the_day"], "if it don't fit force it");
    assert_eq!(tree["log_id"], Value::Null);
    assert_eq!(api.logs("tree1").await.len(), 0);
    assert_eq!(api.stack().await.len(), 0);
    api.stop().await;
}

async fn item_19_status_only_keeps_the_reason(db: &TestDb) {
    let api = Api::start(db).await;
    api.create(&["tree1"]).await;
    api.update(json!({"trees": ["tree1"], "reason": "merge day"})).await;
    api.update(json!({"trees": ["tree1"], "status": "approval required"})).await;
    let tree = api.tree("tree1").await;
    assert_eq!(tree["status"], "approval required");
    assert_eq!(tree["reason"], "merge day", "not gen 1's \"no change\"");
    let logs = api.logs("tree1").await;
    assert_eq!(logs.len(), 2);
    assert_eq!((&logs[0]["status"], &logs[0]["reason"]), (&json!("approval required"), &json!("merge day")));
    api.stop().await;
}

async fn item_20_delete_takes_logs_and_stack_rows(db: &TestDb) {
    let api = Api::start(db).await;
    api.create(&["mozilla-central", "autoland"]).await;
    api.update(close(&["mozilla-central"], "gone soon", &["t"])).await;
    api.update(close(&["mozilla-central", "autoland"], "both", &["t"])).await;
    let reply = api.admin("DELETE", "/trees/mozilla-central", None).await;
    assert_eq!(reply.expect(200).json(), json!({"removed": "mozilla-central"}));
    api.get("/trees/mozilla-central").await.problem(404);
    api.get("/trees/mozilla-central/logs_all").await.problem(404);
    let stack = api.stack().await;
    assert_eq!(stack.len(), 1, "the entry of mozilla-central alone went with it");
    let names: Vec<&Value> = stack[0]["trees"].as_array().unwrap().iter().map(|t| &t["tree"]).collect();
    assert_eq!(names, [&json!("autoland")]);
    let reply = api.admin("DELETE", "/trees/unknowntree", None).await;
    reply.problem(404);
    assert_eq!(
        reply.json(),
        json!({"detail": "The tree does not exist.", "status": 404, "title": "No tree unknowntree found.",
               "type": "https://developer.mozilla.org/en-US/docs/Web/HTTP/Status/404"})
    );
    api.stop().await;
}

/// Item 22 (gen 4's `test_is_open_bypasses_stale_cache`): once a write is
/// answered, no read shows the state before it, even while other readers
/// keep reloading the cache.
async fn item_22_reads_after_a_write_never_see_the_state_before(db: &TestDb) {
    let api = Api::start(db).await;
    api.create(&["autoland", "try"]).await;
    assert_eq!(api.tree("autoland").await["status"], "open", "cached open");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut readers = Vec::new();
    for _ in 0..4 {
        let (http, url, stop) = (api.http.clone(), format!("{}/trees/autoland", api.base), stop.clone());
        readers.push(tokio::spawn(async move {
            let mut reads = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                assert_eq!(http.get(&url).send().await.unwrap().status(), 200);
                reads += 1;
            }
            reads
        }));
    }
    for n in 0..20 {
        let status = if n % 2 == 0 { "closed" } else { "open" };
        api.update(json!({"trees": ["autoland"], "status": status, "tags": ["t"]})).await;
        assert_eq!(api.tree("autoland").await["status"], status, "after write {n}");
        assert_eq!(api.get("/trees").await.json()["result"]["autoland"]["status"], status);
        assert_eq!(api.get("/trees2").await.json()["result"][0]["status"], status);
        assert_eq!(api.get("/v0/trees/autoland").await.json()["status"], status);
    }
    api.admin("DELETE", "/trees/try", None).await.expect(200);
    api.get("/trees/try").await.problem(404);
    api.create(&["try"]).await;
    assert_eq!(api.tree("try").await["log_id"], Value::Null);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for reader in readers {
        assert!(reader.await.unwrap() > 0);
    }
    api.stop().await;
}

async fn stack2_aliases_restore_and_discard(db: &TestDb) {
    let api = Api::start(db).await;
    let closing = opened_then_closed(&api).await;
    let reply = api.admin("DELETE", &format!("/stack2/restore/{closing}"), None).await;
    assert_eq!(reply.expect(200).json(), json!({"id": closing, "reverted": true}));
    assert_eq!(api.tree("autoland").await["status"], "open");
    let opening = id(&api.stack().await[0]);
    let reply = api.admin("DELETE", &format!("/stack2/discard/{opening}"), None).await;
    assert_eq!(reply.expect(200).json(), json!({"id": opening, "reverted": false}));
    assert_eq!(api.tree("autoland").await["reason"], "some reason for opening");
    assert_eq!(api.stack().await.len(), 0);
    api.admin("DELETE", "/stack2/restore/99", None).await.problem(404);
    api.admin("DELETE", "/stack2/discard/99", None).await.problem(404);
    api.stop().await;
}

async fn bulk_delete_all_or_none(db: &TestDb) {
    let api = Api::start(db).await;
    api.create(&["a", "b", "c"]).await;
    let before = api.written().await;
    let (title, _) = api.admin("DELETE", "/trees2", Some(json!({"trees": ["a", "nope", "zzz"]}))).await.problem(404);
    assert_eq!(title, "Could not fetch the following trees: nope, zzz");
    let (title, _) = api.admin("DELETE", "/trees2", Some(json!({"trees": []}))).await.problem(400);
    assert_eq!(title, "Must specify at least one tree.");
    assert_eq!(api.written().await, before);
    let reply = api.admin("DELETE", "/trees2", Some(json!({"trees": ["c", "a", "c"]}))).await;
    assert_eq!(reply.expect(200).json(), json!({"removed": ["c", "a"]}));
    let names: Vec<String> = api.get("/trees").await.json()["result"].as_object().unwrap().keys().cloned().collect();
    assert_eq!(names, ["b"]);
    api.stop().await;
}

async fn v0_routes_answer_without_envelope(db: &TestDb) {
    let api = Api::start(db).await;
    api.create(&["autoland"]).await;
    let tree = api.tree("autoland").await;
    assert_eq!(api.get("/v0/trees").await.expect(200).json(), json!({"autoland": tree}));
    assert_eq!(api.get("/v0/trees/autoland").await.expect(200).json(), tree);
    api.get("/v0/trees/nope").await.problem(404);
    api.stop().await;
}

/// Writes by another process show within the version-check interval (the
/// bound the crate documents), and at once with an interval of zero.
async fn replicas_see_other_writes_within_the_interval(db: &TestDb) {
    let api = Api::start(db).await;
    api.create(&["autoland"]).await;
    let every_read = api.replica(db, ServerOptions { version_check_interval: Duration::ZERO, ..test_options() }).await;
    let hour = Duration::from_secs(3600);
    let hourly = api.replica(db, ServerOptions { version_check_interval: hour, ..test_options() }).await;
    assert_eq!(every_read.tree("autoland").await["status"], "open");
    assert_eq!(hourly.tree("autoland").await["status"], "open");
    api.update(close(&["autoland"], "elsewhere", &["t"])).await;
    assert_eq!(every_read.tree("autoland").await["status"], "closed");
    assert_eq!(hourly.tree("autoland").await["status"], "open", "within its hour, the replica may lag");
    let no_change = json!({"trees": ["autoland"]});
    hourly.call("PATCH", "/trees", Some(&hourly.tokens.sheriff), Some(&no_change)).await.expect(200);
    assert_eq!(hourly.tree("autoland").await["status"], "closed", "its own write empties its cache");
    every_read.stop().await;
    hourly.stop().await;
    api.stop().await;
}

// ---------------------------------------------------------------------------
// Authorization

/// A write of each kind, as `(method, path, body)`, against trees `a`/`b`
/// and stack entry `entry` with log row `log`.
fn every_write(entry: i64, log: i64) -> Vec<(&'static str, String, Option<Value>)> {
    vec![
        ("PUT", "/trees/new".to_owned(), Some(json!({"tree": "new"}))),
        ("DELETE", "/trees/b".to_owned(), None),
        ("DELETE", "/trees2".to_owned(), Some(json!({"trees": ["b"]}))),
        ("PATCH", "/trees".to_owned(), Some(json!({"trees": ["a"], "reason": "x"}))),
        ("PATCH", format!("/log/{log}"), Some(json!({"reason": "y"}))),
        ("PATCH", format!("/stack/{entry}"), Some(json!({"reason": "z"}))),
        ("DELETE", format!("/stack/{entry}?revert=1"), None),
        ("DELETE", format!("/stack2/restore/{entry}"), None),
        ("DELETE", format!("/stack2/discard/{entry}"), None),
    ]
}

/// Trees `a` and `b`, one remembered change; its stack and log ids.
async fn auth_setup(api: &Api) -> (i64, i64) {
    api.create(&["a", "b"]).await;
    api.update(close(&["a", "b"], "r", &["t"])).await;
    (id(&api.stack().await[0]), id(&api.logs("a").await[0]))
}

async fn auth_no_header_is_401(db: &TestDb) {
    let api = Api::start(db).await;
    let (entry, log) = auth_setup(&api).await;
    let before = api.written().await;
    for (method, path, body) in every_write(entry, log) {
        let reply = api.call(method, &path, None, body.as_ref()).await;
        let (title, _) = reply.problem(401);
        assert_eq!(title, "Authorization header required", "{method} {path}");
        assert_eq!(reply.header("www-authenticate"), "Bearer");
    }
    assert_eq!(api.written().await, before);
    api.stop().await;
}

async fn auth_malformed_header_is_401(db: &TestDb) {
    let api = Api::start(db).await;
    api.create(&["a"]).await;
    let before = api.written().await;
    for header in ["Basic YWRtaW46cGFzcw==", "Bearer", "Bearer ", "Token abc", "Bearer a b"] {
        let request = api.http.patch(format!("{}/trees", api.base)).header("authorization", header);
        let response = request.json(&json!({"trees": ["a"], "reason": "x"})).send().await.unwrap();
        assert_eq!(response.status(), 401, "{header}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["title"], "Malformed Authorization header", "{header}");
    }
    assert_eq!(api.written().await, before);
    api.stop().await;
}

async fn auth_unknown_and_revoked_tokens_are_the_same_401(db: &TestDb) {
    let api = Api::start(db).await;
    api.create(&["a"]).await;
    let before = api.written().await;
    let body = json!({"trees": ["a"], "reason": "x"});
    let unknown = api.call("PATCH", "/trees", Some("fleetroll_not-a-real-token"), Some(&body)).await;
    let revoked = api.call("PATCH", "/trees", Some(&api.tokens.revoked), Some(&body)).await;
    let (title, detail) = unknown.problem(401);
    assert_eq!(revoked.problem(401), (title.clone(), detail));
    assert_eq!(unknown.text, revoked.text, "never says which");
    assert_eq!(title, "Invalid token");
    assert!(!revoked.text.contains("gone"), "the revoked client is not named");
    assert_eq!(api.written().await, before);
    api.stop().await;
}

async fn auth_missing_scope_is_403_naming_it(db: &TestDb) {
    let api = Api::start(db).await;
    let (entry, log) = auth_setup(&api).await;
    let before = api.written().await;
    for (method, path, body) in every_write(entry, log) {
        let reply = api.call(method, &path, Some(&api.tokens.reader), body.as_ref()).await;
        let (title, detail) = reply.problem(403);
        assert_eq!(title, "Missing scope");
        let suffix = match (method, path.as_str()) {
            ("PUT", _) => "trees/create",
            ("DELETE", p) if p.starts_with("/trees") => "trees/delete",
            ("PATCH", "/trees") => "trees/update",
            ("PATCH", p) if p.starts_with("/log") => "trees/update",
            _ => "recent_changes/revert",
        };
        assert!(detail.contains(&format!("{PREFIX}/{suffix}")), "{method} {path}: {detail}");
    }
    assert_eq!(api.written().await, before);
    api.stop().await;
}

async fn auth_sheriff_updates_and_reverts_but_cannot_create_or_delete(db: &TestDb) {
    let api = Api::start(db).await;
    let (entry, log) = auth_setup(&api).await;
    let sheriff = Some(api.tokens.sheriff.as_str());
    for (method, path, body) in every_write(entry, log) {
        let reply = api.call(method, &path, sheriff, body.as_ref()).await;
        let may = !(method == "PUT" || path.starts_with("/trees/") || path == "/trees2");
        match (may, reply.status) {
            (true, 200) => {}
            // The entry was reverted by the first stack write.
            (true, 404) if path.contains("stack") => {}
            (false, 403) => {}
            other => panic!("sheriff {method} {path}: {other:?} {}", reply.text),
        }
    }
    assert_eq!(api.tree("b").await["tree"], "b", "the sheriff deleted nothing");
    api.get("/trees/new").await.problem(404);
    api.stop().await;
}

async fn auth_admin_does_everything(db: &TestDb) {
    let api = Api::start(db).await;
    let (entry, log) = auth_setup(&api).await;
    let writes = every_write(entry, log);
    let admin = Some(api.tokens.admin.as_str());
    let statuses: Vec<u16> = {
        let mut statuses = Vec::new();
        for (method, path, body) in &writes {
            statuses.push(api.call(method, path, admin, body.as_ref()).await.status);
        }
        statuses
    };
    // Creating answers 201; the bulk delete finds `b` already gone (404);
    // the entry goes with the first stack removal (then 404).
    assert_eq!(statuses, [201, 200, 404, 200, 200, 200, 200, 404, 404]);
    api.stop().await;
}

async fn auth_configured_prefix_and_roles(db: &TestDb) {
    let prefix = "project:relops:trees";
    let mut options = test_options();
    options.scope_prefix = format!("{prefix}/");
    options.roles.insert("team:relops".to_owned(), vec![format!("assume:{prefix}/admin")]);
    let store = db.open(10).await;
    let make = async |name: &str, scopes: Vec<String>| {
        let token = fleetroll_core::scopes::format_token(&std::array::from_fn(|_| fastrand::u8(..)));
        let hash = fleetroll_core::scopes::token_hash(&token);
        let new =
            fleetroll_store::NewClient { name: name.into(), token_hash: hash, scopes, description: String::new() };
        store.create_client(&new, chrono::Utc::now()).await.unwrap();
        token
    };
    let team = make("team-member", vec!["assume:team:relops".to_owned()]).await;
    let default_admin = make("default-admin", vec![format!("assume:{PREFIX}/admin")]).await;
    let star = make("star", vec!["project:relops:trees/trees/*".to_owned()]).await;
    let api = Api::launch(store, harness::Tokens::none(), options, true).await;
    api.call("PUT", "/trees/a", Some(&team), Some(&json!({"tree": "a"}))).await.expect(201);
    let (_, detail) = api.call("PUT", "/trees/b", Some(&default_admin), Some(&json!({"tree": "b"}))).await.problem(403);
    assert!(detail.contains("project:relops:trees/trees/create"), "{detail}");
    api.call("PUT", "/trees/c", Some(&star), Some(&json!({"tree": "c"}))).await.expect(201);
    let reply = api.call("DELETE", "/stack/1", Some(&star), None).await;
    let (_, detail) = reply.problem(403);
    assert!(detail.contains("project:relops:trees/recent_changes/revert"), "{detail}");
    api.stop().await;
}

async fn auth_reads_are_anonymous(db: &TestDb) {
    let api = Api::start(db).await;
    let (_, _) = auth_setup(&api).await;
    for path in [
        "/trees",
        "/trees2",
        "/trees/a",
        "/trees/a/logs",
        "/trees/a/logs_all",
        "/stack",
        "/v0/trees",
        "/v0/trees/a",
        "/__heartbeat__",
        "/__lbheartbeat__",
        "/__version__",
        "/metrics",
        "/api/openapi.json",
    ] {
        api.get(path).await.expect(200);
        // A bad token on a read is not looked at.
        api.call("GET", path, Some("fleetroll_wrong"), None).await.expect(200);
    }
    api.stop().await;
}

async fn writer_is_recorded_as_client_name(db: &TestDb) {
    let api = Api::start(db).await;
    api.create(&["a"]).await;
    let sheriff = Some(api.tokens.sheriff.as_str());
    api.call("PATCH", "/trees", sheriff, Some(&close(&["a"], "r", &["t"]))).await.expect(200);
    assert_eq!(api.logs("a").await[0]["who"], "client:sheriff");
    assert_eq!(api.stack().await[0]["who"], "client:sheriff");
    api.stop().await;
}

async fn writes_are_audited_once(db: &TestDb) {
    let api = Api::start(db).await;
    let (start, _) = api.store.audit_head().await.unwrap();
    api.create(&["a"]).await;
    api.update(close(&["a"], "r", &["t"])).await;
    api.admin("PATCH", "/trees", Some(json!({"trees": ["zzz"], "reason": "r"}))).await.problem(404);
    let entry = id(&api.stack().await[0]);
    api.admin("DELETE", &format!("/stack/{entry}?revert=1"), None).await.expect(200);
    api.admin("DELETE", "/trees/a", None).await.expect(200);
    let records = api.store.audit_records(start, 100).await.unwrap();
    let actions: Vec<(&str, &str)> =
        records.iter().map(|r| (r.entry.actor.as_str(), r.entry.action.as_str())).collect();
    assert_eq!(
        actions,
        [
            ("client:admin", "tree.create"),
            ("client:admin", "tree.update"),
            ("client:admin", "tree.stack_revert"),
            ("client:admin", "tree.delete"),
        ]
    );
    let update = &records[1].entry;
    assert_eq!(update.parameters["trees"], json!(["a"]));
    assert_eq!(update.parameters["status"], "closed");
    assert_eq!(update.result["ok"], true);
    assert_eq!(update.result["status_changes"], json!(["a"]));
    assert!(update.result["stack_id"].is_i64());
    assert!(!records.iter().any(|r| r.entry.parameters.to_string().contains("fleetroll_")), "no tokens");
    assert_eq!(api.store.verify_audit().await.unwrap().map(|_| ()), Ok(()));
    api.stop().await;
}

// ---------------------------------------------------------------------------
// Bad input: every case answers 4xx problem JSON and writes nothing.

async fn bad_body(api: &Api, method: &str, path: &str, body: &str) -> (String, String) {
    let reply = api.raw(method, path, Some(&api.tokens.admin), Some((body.as_bytes().to_vec(), "application/json")));
    reply.await.problem(400)
}

async fn bad_json_is_400(db: &TestDb) {
    let api = Api::start(db).await;
    api.create(&["a"]).await;
    let before = api.written().await;
    for body in ["{", "", "[]", "null", "{\"trees\": [\"a\"]} trailing", "\u{feff}{}"] {
        bad_body(&api, "PATCH", "/trees", body).await;
        bad_body(&api, "PUT", "/trees/x", body).await;
        bad_body(&api, "DELETE", "/trees2", body).await;
    }
    assert_eq!(api.written().await, before);
    api.stop().await;
}

async fn wrong_types_are_400_naming_the_field(db: &TestDb) {
    let api = Api::start(db).await;
    api.create(&["a"]).await;
    let before = api.written().await;
    for (method, path, body, field) in [
        ("PATCH", "/trees", r#"{"trees": "a"}"#, "trees"),
        ("PATCH", "/trees", r#"{"trees": ["a"], "remember": "yes"}"#, "remember"),
        ("PATCH", "/trees", r#"{"trees": ["a"], "tags": [1]}"#, "tags"),
        ("PUT", "/trees/x", r#"{"tree": 5}"#, "tree"),
        ("PUT", "/trees/x", r#"{"tree": "x", "category": "nope"}"#, "category"),
        ("PATCH", "/log/1", r#"{"reason": ["r"]}"#, "reason"),
        ("PATCH", "/stack/1", r#"{"tags": "t"}"#, "tags"),
        ("DELETE", "/trees2", r#"{"trees": "a"}"#, "trees"),
    ] {
        let (_, detail) = bad_body(&api, method, path, body).await;
        assert!(detail.starts_with(field), "{method} {path} {body}: {detail}");
    }
    assert_eq!(api.written().await, before);
    api.stop().await;
}

async fn unknown_fields_are_400(db: &TestDb) {
    let api = Api::start(db).await;
    api.create(&["a"]).await;
    let before = api.written().await;
    for (method, path, body) in [
        ("PATCH", "/trees", r#"{"trees": ["a"], "colour": "red"}"#),
        ("PUT", "/trees/x", r#"{"tree": "x", "owner": "me"}"#),
        ("PATCH", "/log/1", r#"{"reason": "r", "who": "me"}"#),
        ("PATCH", "/stack/1", r#"{"status": "open"}"#),
        ("DELETE", "/trees2", r#"{"trees": ["a"], "force": true}"#),
    ] {
        let (_, detail) = bad_body(&api, method, path, body).await;
        assert!(detail.contains("unknown field"), "{method} {path}: {detail}");
    }
    assert_eq!(api.written().await, before);
    assert_eq!(api.tree("a").await["tree"], "a");
    api.stop().await;
}

async fn unknown_status_is_400(db: &TestDb) {
    let api = Api::start(db).await;
    api.create(&["a"]).await;
    let before = api.written().await;
    for status in ["opened", "halfopen", "no change", "Open", "approval_required"] {
        let body = json!({"trees": ["a"], "status": status}).to_string();
        let (_, detail) = bad_body(&api, "PATCH", "/trees", &body).await;
        assert!(detail.contains("unknown tree status"), "{status}: {detail}");
    }
    assert_eq!(api.written().await, before);
    api.stop().await;
}

async fn oversized_body_is_413(db: &TestDb) {
    let api = Api::start(db).await;
    api.create(&["a"]).await;
    let before = api.written().await;
    let huge = format!(r#"{{"trees": ["a"], "reason": "{}"}}"#, "x".repeat(70 * 1024));
    let reply = api.raw("PATCH", "/trees", Some(&api.tokens.admin), Some((huge.into_bytes(), "application/json")));
    let (_, detail) = reply.await.problem(413);
    assert!(detail.contains("65536"), "{detail}");
    let fits = format!(r#"{{"trees": ["a"], "reason": "{}"}}"#, "x".repeat(60 * 1024));
    api.raw("PATCH", "/trees", Some(&api.tokens.admin), Some((fits.into_bytes(), "application/json")))
        .await
        .expect(200);
    assert_eq!(api.written().await.0, before.0 + 1, "only the body that fits was written");
    api.stop().await;

    let small = ServerOptions { max_body_bytes: 16, ..test_options() };
    let api = Api::launch(db.open(10).await, api_tokens(db).await, small, true).await;
    let reply = api.raw(
        "PUT",
        "/trees/abc",
        Some(&api.tokens.admin),
        Some((br#"{"tree": "abc"}"#.to_vec(), "application/json")),
    );
    reply.await.expect(201);
    let reply = api.raw(
        "PUT",
        "/trees/abcde",
        Some(&api.tokens.admin),
        Some((br#"{"tree": "abcde"}"#.to_vec(), "application/json")),
    );
    reply.await.problem(413);
    api.stop().await;
}

/// Tokens for a store whose standard clients exist already: new admin ones.
async fn api_tokens(db: &TestDb) -> harness::Tokens {
    let store = db.open(10).await;
    let token = fleetroll_core::scopes::format_token(&[7; 32]);
    let new = fleetroll_store::NewClient {
        name: "second-admin".into(),
        token_hash: fleetroll_core::scopes::token_hash(&token),
        scopes: vec![format!("assume:{PREFIX}/admin")],
        description: String::new(),
    };
    store.create_client(&new, chrono::Utc::now()).await.unwrap();
    store.close().await;
    harness::Tokens { admin: token, ..harness::Tokens::none() }
}

async fn body_not_json_is_415(db: &TestDb) {
    let api = Api::start(db).await;
    api.create(&["a"]).await;
    let before = api.written().await;
    let body = br#"{"trees": ["a"], "reason": "r"}"#.to_vec();
    for content_type in ["text/plain", "application/x-www-form-urlencoded", "application/xml"] {
        let reply = api.raw("PATCH", "/trees", Some(&api.tokens.admin), Some((body.clone(), content_type))).await;
        reply.problem(415);
    }
    let reply = api.http.patch(format!("{}/trees", api.base)).bearer_auth(&api.tokens.admin).body(body.clone());
    assert_eq!(reply.send().await.unwrap().status(), 415, "no content type");
    assert_eq!(api.written().await, before);
    let ok = api.raw("PATCH", "/trees", Some(&api.tokens.admin), Some((body, "application/json; charset=utf-8")));
    ok.await.expect(200);
    api.stop().await;
}

async fn unknown_route_is_404(db: &TestDb) {
    let api = Api::start(db).await;
    for path in ["/nope", "/trees/a/b", "/trees/a/logs/1", "/api/treestatus/trees", "/stack2/x/1", "/"] {
        let (title, detail) = api.get(path).await.problem(404);
        assert_eq!(title, "Not Found", "{path}");
        assert!(detail.contains(path), "{detail}");
    }
    let (title, _) = api.admin("DELETE", "/nope", None).await.problem(404);
    assert_eq!(title, "Not Found");
    api.stop().await;
}

async fn wrong_method_is_405(db: &TestDb) {
    let api = Api::start(db).await;
    api.create(&["a"]).await;
    let before = api.written().await;
    for (method, path, allowed) in [
        ("POST", "/trees", "GET,HEAD,PATCH"),
        ("PUT", "/trees", "GET,HEAD,PATCH"),
        ("POST", "/trees/a", "GET,HEAD,PUT,DELETE"),
        ("PATCH", "/trees/a", "GET,HEAD,PUT,DELETE"),
        ("GET", "/log/1", "PATCH"),
        ("POST", "/stack", "GET,HEAD"),
        ("GET", "/stack2/restore/1", "DELETE"),
        ("DELETE", "/__heartbeat__", "GET,HEAD"),
    ] {
        let reply = api.admin(method, path, Some(json!({"trees": ["a"]}))).await;
        let (title, _) = reply.problem(405);
        assert_eq!(title, "Method Not Allowed", "{method} {path}");
        let allow: BTreeSet<&str> = reply.header("allow").split(',').map(str::trim).collect();
        assert_eq!(allow, allowed.split(',').collect(), "{method} {path}");
    }
    assert_eq!(api.written().await, before);
    api.stop().await;
}

async fn bad_path_values_are_400(db: &TestDb) {
    let api = Api::start(db).await;
    let closing = opened_then_closed(&api).await;
    let before = api.written().await;
    for (method, path) in [
        ("PATCH", "/log/abc"),
        ("PATCH", "/log/1.5"),
        ("PATCH", "/stack/abc"),
        ("DELETE", "/stack/abc"),
        ("DELETE", "/stack/99999999999999999999"),
        ("DELETE", "/stack2/restore/x"),
        ("DELETE", "/stack2/discard/-"),
    ] {
        let (title, _) = api.admin(method, path, Some(json!({"reason": "r"}))).await.problem(400);
        assert_eq!(title, "Invalid path", "{method} {path}");
    }
    assert_eq!(api.written().await, before);
    assert_eq!(api.stack().await[0]["id"], closing);
    api.stop().await;
}

async fn bad_query_values_are_400(db: &TestDb) {
    let api = Api::start(db).await;
    let closing = opened_then_closed(&api).await;
    let before = api.written().await;
    let (title, _) = api.admin("DELETE", &format!("/stack/{closing}?revert=1&force=1"), None).await.problem(400);
    assert_eq!(title, "Invalid query string");
    api.admin("DELETE", &format!("/stack/{closing}?revert=1&revert=0"), None).await.problem(400);
    let (title, _) = api.get("/trees/autoland/logs?all=yes").await.problem(400);
    assert_eq!(title, "Unexpected value for `all`.");
    assert_eq!(api.written().await, before);
    api.stop().await;
}

async fn bad_tree_names_are_400(db: &TestDb) {
    let api = Api::start(db).await;
    let before = api.written().await;
    let long = "x".repeat(65);
    for name in ["a.b", "a%20b", "a%2Fb", "a..b", long.as_str()] {
        let decoded = name.replace("%20", " ").replace("%2F", "/");
        let reply = api.admin("PUT", &format!("/trees/{name}"), Some(json!({"tree": decoded}))).await;
        let (title, _) = reply.problem(400);
        assert!(title.starts_with("Invalid tree name"), "{name}: {title}");
    }
    let (_, _) = api.admin("PATCH", "/trees", Some(json!({"trees": []}))).await.problem(400);
    assert_eq!(api.written().await, before);
    assert_eq!(api.get("/trees").await.json(), json!({"result": {}}));
    api.stop().await;
}

/// PostgreSQL cannot store NUL in text: refused as bad input on both
/// backends, never a store failure.
async fn nul_characters_are_400(db: &TestDb) {
    let api = Api::start(db).await;
    api.create(&["a"]).await;
    let before = api.written().await;
    for body in [
        r#"{"trees": ["a"], "reason": "x\u0000y"}"#,
        r#"{"trees": ["a"], "tags": ["\u0000"]}"#,
        r#"{"trees": ["a\u0000"], "status": "open"}"#,
    ] {
        let (_, detail) = bad_body(&api, "PATCH", "/trees", body).await;
        assert!(detail.contains("NUL"), "{detail}");
    }
    for (method, path) in [("GET", "/trees/a%00/logs"), ("GET", "/trees/%00"), ("DELETE", "/trees/a%00")] {
        let (title, _) = api.admin(method, path, None).await.problem(400);
        assert_eq!(title, "Invalid path", "{method} {path}");
    }
    assert_eq!(api.written().await, before);
    api.stop().await;
}

async fn store_failure_is_500_without_internals(db: &TestDb) {
    let api = Api::start(db).await;
    api.create(&["a"]).await;
    api.store.close().await;
    for (method, path, token) in
        [("GET", "/stack", None), ("GET", "/trees/a/logs", None), ("PATCH", "/trees", Some(api.tokens.admin.as_str()))]
    {
        let reply = api.call(method, path, token, Some(&json!({"trees": ["a"], "reason": "r"}))).await;
        let (title, detail) = reply.problem(500);
        assert_eq!(
            (title.as_str(), detail.as_str()),
            ("Internal Server Error", "The server could not complete the request.")
        );
    }
    let heartbeat = api.get("/__heartbeat__").await;
    assert_eq!(heartbeat.expect(500).json(), json!({"status": "error", "checks": {"database": "error"}}));
    api.get("/__lbheartbeat__").await.expect(200);
    api.stop().await;
}

/// A write that waits on a lock another connection holds is answered 503
/// at the request timeout, long before the store's own lock wait (5 s)
/// ends. The write itself runs in a task of its own, so it is not cut off
/// half done: once the lock is free it commits, with its audit record, as
/// the answer's detail warns.
async fn a_write_stuck_behind_a_lock_is_answered_503_and_still_completes_audited(db: &TestDb) {
    let timeout = Duration::from_millis(300);
    let api = Api::start_with(db, ServerOptions { request_timeout: timeout, ..test_options() }).await;
    let (audit_start, _) = api.store.audit_head().await.unwrap();
    let lock = WriteLock::take(db, "trees").await;

    let started = std::time::Instant::now();
    let reply = api.admin("PUT", "/trees/stuck", Some(json!({"tree": "stuck"}))).await;
    let waited = started.elapsed();
    let (title, detail) = reply.problem(503);
    assert_eq!(title, "Service Unavailable");
    assert!(detail.contains("longer than 0.3 s") && detail.contains("may still take effect"), "{detail}");
    assert!(waited >= timeout && waited < Duration::from_secs(3), "answered after {waited:?}");
    api.get("/trees").await.expect(200);
    api.get("/__heartbeat__").await.expect(200);

    lock.release().await;
    wait_for_status(&api, "/trees/stuck", 200).await;
    let records = api.store.audit_records(audit_start, 100).await.unwrap();
    let actions: Vec<&str> = records.iter().map(|r| r.entry.action.as_str()).collect();
    assert_eq!(actions, ["tree.create"], "audited once");
    api.stop().await;
}

// ---------------------------------------------------------------------------
// Pulse

/// The message of a transition, with `sent` checked and set aside.
fn without_sent(mut body: Value) -> Value {
    let sent = body["_meta"]["sent"].take();
    let sent = chrono::DateTime::parse_from_rfc3339(sent.as_str().unwrap()).expect("sent is RFC 3339");
    let age = chrono::Utc::now().signed_duration_since(sent);
    assert!(age >= chrono::Duration::zero() && age < chrono::Duration::minutes(1), "{sent}");
    body
}

async fn status_change_sends_one_pulse_message_each(db: &TestDb) {
    let api = Api::start(db).await;
    api.create(&["autoland", "mozilla-central", "try"]).await;
    api.update(json!({"trees": ["try"], "status": "closed", "tags": ["infra"]})).await;
    assert_eq!(api.pulse().len(), 1);
    api.update(json!({"trees": ["autoland", "mozilla-central", "try"], "status": "closed", "reason": "bustage",
                      "tags": ["checkin_test"]}))
        .await;
    let messages = api.pulse();
    let keys: Vec<&str> = messages.iter().map(|m| m.routing_key.as_str()).collect();
    assert_eq!(keys, ["tree/autoland/status_change", "tree/mozilla-central/status_change"], "try was closed already");
    assert_eq!(
        without_sent(messages[0].body.clone()),
        json!({
            "payload": {
                "status_from": "open",
                "status_to": "closed",
                "tree": {"tree": "autoland", "status": "closed", "reason": "bustage", "message_of_the_day": ""},
                "tags": ["checkin_test"],
            },
            "_meta": {
                "exchange": "exchange/test/treestatus",
                "routing_key": "tree/autoland/status_change",
                "serializer": "json",
                "sent": null,
            },
        })
    );
    api.stop().await;
}

async fn motd_or_reason_change_sends_no_pulse_message(db: &TestDb) {
    let api = Api::start(db).await;
    api.create(&["a"]).await;
    api.update(json!({"trees": ["a"], "message_of_the_day": "hello"})).await;
    api.update(json!({"trees": ["a"], "reason": "still open", "tags": ["x"]})).await;
    api.update(json!({"trees": ["a"], "status": "open"})).await;
    assert_eq!(api.pulse(), []);
    api.admin("PATCH", "/trees", Some(json!({"trees": ["a", "b"], "status": "closed", "tags": ["t"]})))
        .await
        .problem(404);
    assert_eq!(api.pulse(), [], "a refused write announces nothing");
    api.stop().await;
}

async fn revert_announces_its_transitions(db: &TestDb) {
    let api = Api::start(db).await;
    let closing = opened_then_closed(&api).await;
    assert_eq!(api.pulse().len(), 2, "closing both");
    api.admin("DELETE", &format!("/stack/{closing}?revert=1"), None).await.expect(200);
    let messages = api.pulse();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0].body["payload"]["status_from"], "closed");
    assert_eq!(messages[0].body["payload"]["status_to"], "open");
    api.stop().await;
}

async fn closed_or_absent_pulse_channel_never_fails_a_write(db: &TestDb) {
    let api = Api::start(db).await;
    api.create(&["a"]).await;
    api.drop_pulse_receiver();
    api.update(close(&["a"], "r", &["t"])).await;
    assert_eq!(api.tree("a").await["status"], "closed");
    let metrics = api.get("/metrics").await.text;
    assert!(metrics.lines().any(|l| l == "fleetroll_pulse_unsent_total 1"), "{metrics}");
    let tokens = api.tokens.clone();
    api.stop().await;

    let api = Api::launch(db.open(10).await, tokens, test_options(), false).await;
    api.update(open(&["a"], "r", &["t"])).await;
    assert_eq!(api.tree("a").await["status"], "open");
    api.stop().await;
}

// ---------------------------------------------------------------------------
// The OpenAPI document

/// Every route the API serves, as the brief lists them.
const ROUTES: [(&str, &str); 31] = [
    ("get", "/trees"),
    ("patch", "/trees"),
    ("get", "/trees2"),
    ("delete", "/trees2"),
    ("get", "/trees/{tree}"),
    ("put", "/trees/{tree}"),
    ("delete", "/trees/{tree}"),
    ("get", "/trees/{tree}/logs"),
    ("get", "/trees/{tree}/logs_all"),
    ("patch", "/log/{id}"),
    ("get", "/stack"),
    ("patch", "/stack/{id}"),
    ("delete", "/stack/{id}"),
    ("delete", "/stack2/restore/{id}"),
    ("delete", "/stack2/discard/{id}"),
    ("get", "/v0/trees"),
    ("get", "/v0/trees/{tree}"),
    ("get", "/machines"),
    ("get", "/machines/{id}"),
    ("get", "/api/v1/workers"),
    ("get", "/api/v1/workers/{group}/{id}"),
    ("post", "/api/v1/workers/{worker_id}/jobs"),
    ("post", "/api/v1/jobs"),
    ("get", "/api/v1/jobs"),
    ("get", "/api/v1/jobs/{id}"),
    ("delete", "/api/v1/jobs/{id}"),
    ("get", "/__heartbeat__"),
    ("get", "/__lbheartbeat__"),
    ("get", "/__version__"),
    ("get", "/metrics"),
    ("get", "/api/openapi.json"),
];

/// The document lists exactly the routes above; every documented route is
/// served, and a documented path answers 405 to every method it does not
/// document, so the router serves nothing the document leaves out.
async fn openapi_documents_every_route_served(db: &TestDb) {
    let api = Api::start(db).await;
    let doc = api.get("/api/openapi.json").await.expect(200).json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "{}", doc["openapi"]);
    assert_eq!(doc, serde_json::to_value(fleetroll_server::openapi()).unwrap());
    let paths = doc["paths"].as_object().unwrap();
    let mut documented = BTreeSet::new();
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            documented.insert((method.clone(), path.clone()));
            let responses = operation["responses"].as_object().unwrap();
            for (code, response) in responses {
                assert!(response["description"].is_string(), "{method} {path} {code}: a description");
            }
            assert!(responses.keys().any(|code| code.starts_with('2')), "{method} {path}: a success response");
            let is_write = method != "get";
            assert_eq!(operation.get("security").is_some(), is_write, "{method} {path}: security iff a write");
            if is_write {
                assert!(responses.contains_key("401") && responses.contains_key("403"), "{method} {path}");
            }
            let has_body = matches!(method.as_str(), "put" | "patch") || (method == "delete" && path == "/trees2");
            assert_eq!(operation.get("requestBody").is_some(), has_body, "{method} {path}");
            if has_body {
                let schema = &operation["requestBody"]["content"]["application/json"]["schema"]["$ref"];
                assert!(schema.as_str().unwrap().starts_with("#/components/schemas/"), "{method} {path}");
            }
        }
    }
    let expected: BTreeSet<(String, String)> = ROUTES.iter().map(|(m, p)| ((*m).to_owned(), (*p).to_owned())).collect();
    assert_eq!(documented, expected);
    for path in paths.keys() {
        let concrete = path.replace("{tree}", "autoland").replace("{id}", "1").replace("{worker_id}", "w1");
        for method in ["get", "put", "patch", "delete", "post"] {
            let reply = api.call(&method.to_uppercase(), &concrete, None, Some(&json!({}))).await;
            // `/machines/{id}` answers an unknown machine in plain text, as the reference did.
            let problem = serde_json::from_str::<Value>(&reply.text).ok().filter(|_| reply.status >= 400);
            let title = problem.map_or(Value::Null, |body| body["title"].clone());
            if documented.contains(&(method.to_owned(), path.clone())) {
                assert!(reply.status != 405 && title != "Not Found", "{method} {path} is served: {}", reply.text);
            } else {
                assert_eq!(reply.status, 405, "{method} {path} is not served: {}", reply.text);
            }
        }
    }
    api.stop().await;
}

// ---------------------------------------------------------------------------
// Operations

async fn heartbeat_version_and_metrics(db: &TestDb) {
    let version = VersionInfo {
        source: "https://example.com/fleetroll".into(),
        version: "1.2.3".into(),
        commit: "abc123".into(),
        build: "ci-42".into(),
    };
    let store = db.open(10).await;
    let options = ServerOptions { version: version.clone(), ..test_options() };
    let api = Api::launch(store, harness::Tokens::none(), options, true).await;
    assert_eq!(
        api.get("/__heartbeat__").await.expect(200).json(),
        json!({"status": "ok", "checks": {"database": "ok"}})
    );
    let lb = api.get("/__lbheartbeat__").await;
    assert_eq!((lb.status, lb.text.as_str()), (200, ""));
    let reply = api.get("/__version__").await;
    assert_eq!(reply.expect(200).json(), serde_json::to_value(&version).unwrap());
    api.get("/trees/nope").await.problem(404);
    api.get("/trees/nope").await.problem(404);
    api.get("/nope/at/all").await.problem(404);
    api.get("/trees").await.expect(200);
    let metrics = api.get("/metrics").await;
    assert_eq!(metrics.expect(200).header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    for line in [
        "fleetroll_http_requests_total{route=\"/trees/{tree}\",method=\"GET\",status=\"404\"} 2",
        "fleetroll_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"} 1",
        "fleetroll_http_requests_total{route=\"/trees\",method=\"GET\",status=\"200\"} 1",
        "fleetroll_http_request_duration_seconds_count{route=\"/trees\",method=\"GET\",status=\"200\"} 1",
        "fleetroll_trees_cache_reloads_total 1",
    ] {
        assert!(metrics.text.lines().any(|l| l == line), "{line} missing from\n{}", metrics.text);
    }
    api.stop().await;
}

async fn cors_and_cache_headers(db: &TestDb) {
    let api = Api::start(db).await;
    let reply =
        api.http.get(format!("{}/trees", api.base)).header("origin", "https://ui.example").send().await.unwrap();
    assert_eq!(reply.headers()["access-control-allow-origin"], "*");
    assert_eq!(reply.headers()["cache-control"], "no-cache");
    let preflight = api
        .http
        .request(reqwest::Method::OPTIONS, format!("{}/trees", api.base))
        .header("origin", "https://ui.example")
        .header("access-control-request-method", "PATCH")
        .header("access-control-request-headers", "authorization,content-type")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 200);
    let methods = preflight.headers()["access-control-allow-methods"].to_str().unwrap().to_owned();
    assert!(methods.contains("PATCH"), "{methods}");
    let headers = preflight.headers()["access-control-allow-headers"].to_str().unwrap().to_ascii_lowercase();
    assert!(headers.contains("authorization") && headers.contains("content-type"), "{headers}");
    let tokens = api.tokens.clone();
    api.stop().await;

    let options = ServerOptions { cors_origins: vec!["https://ui.example".to_owned()], ..test_options() };
    let api = Api::launch(db.open(10).await, tokens, options, true).await;
    let allowed = api.http.get(format!("{}/trees", api.base)).header("origin", "https://ui.example").send().await;
    assert_eq!(allowed.unwrap().headers()["access-control-allow-origin"], "https://ui.example");
    let other = api.http.get(format!("{}/trees", api.base)).header("origin", "https://evil.example").send().await;
    assert!(other.unwrap().headers().get("access-control-allow-origin").is_none());
    api.stop().await;
}
