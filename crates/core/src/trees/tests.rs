use chrono::{TimeZone, Utc};
use serde_json::json;

use super::*;

fn tree(name: &str, status: TreeStatus, reason: &str, tags: &[&str], log_id: Option<i64>) -> CombinedTree {
    CombinedTree {
        tree: name.into(),
        status,
        reason: reason.into(),
        message_of_the_day: String::new(),
        tags: strings(tags),
        log_id,
        category: Category::Other,
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn current(trees: &[CombinedTree]) -> BTreeMap<String, CombinedTree> {
    trees.iter().map(|t| (t.tree.clone(), t.clone())).collect()
}

/// autoland and mozilla-central, open, never logged: the setup of most §C.11 cases.
fn two_open_trees() -> BTreeMap<String, CombinedTree> {
    current(&[
        tree("autoland", TreeStatus::Open, "", &[], None),
        tree("mozilla-central", TreeStatus::Open, "", &[], None),
    ])
}

fn update(body: Value) -> TreesUpdate {
    serde_json::from_value(body).expect("a valid update body")
}

#[test]
fn statuses_read_and_write_their_wire_spelling() {
    for (status, text) in [
        (TreeStatus::Open, "open"),
        (TreeStatus::Closed, "closed"),
        (TreeStatus::ApprovalRequired, "approval required"),
    ] {
        assert_eq!(serde_json::to_value(status).unwrap(), json!(text));
        assert_eq!(serde_json::from_value::<TreeStatus>(json!(text)).unwrap(), status);
        assert_eq!(text.parse::<TreeStatus>().unwrap(), status);
    }
}

/// Gen 1/2 stored any string (their tests used `opened`, `halfopen`); gen 3 on enforce the enum.
#[test]
fn other_statuses_are_refused_by_name() {
    for text in ["opened", "halfopen", "Open", "approval_required", "approval-required", "", "no change"] {
        let err = serde_json::from_value::<TreeStatus>(json!(text)).unwrap_err().to_string();
        assert!(err.contains(&format!("unknown tree status {text:?}")), "{text}: {err}");
        assert!(err.contains("\"approval required\""), "{err}");
    }
}

#[test]
fn categories_default_to_other() {
    let body: NewTree = parse_body(br#"{"tree": "try"}"#).unwrap();
    assert_eq!(body.category, Category::Other);
    assert_eq!(body.status, TreeStatus::Open);
    for category in Category::ALL {
        assert_eq!(serde_json::to_value(category).unwrap(), json!(category.as_str()));
        assert_eq!(category.as_str().parse::<Category>().unwrap(), category);
    }
    assert!(parse_body::<NewTree>(br#"{"tree": "try", "category": "bogus"}"#).is_err());
}

#[test]
fn tag_vocabulary_is_underscored_and_reads_old_hyphens() {
    assert!(TAG_VOCABULARY.iter().all(|(name, _)| !name.contains('-')));
    assert_eq!(known_tag("checkin_test"), Some(("checkin_test", "Check-in test failure")));
    assert_eq!(known_tag("waiting-for-coverage"), Some(("waiting_for_coverage", "Waiting for coverage")));
    assert_eq!(known_tag("whatever the sheriff typed"), None);
}

#[test]
fn bodies_refuse_unknown_fields_and_name_the_field_at_fault() {
    let cases: [(&[u8], &str); 6] = [
        (br#"{"trees": ["a"], "stauts": "open"}"#, "unknown field `stauts`"),
        (br#"{"trees": ["a"], "status": "opened"}"#, "status: unknown tree status \"opened\""),
        (br#"{"status": "open"}"#, "missing field `trees`"),
        (br#"{"trees": "a"}"#, "trees: invalid type"),
        (br#"{"trees": ["a"], "tags": [1]}"#, "tags[0]: invalid type"),
        (br#"{"trees": ["a"]} trailing"#, "trailing characters"),
    ];
    for (body, expected) in cases {
        let err = parse_body::<TreesUpdate>(body).unwrap_err();
        assert_eq!(err.status(), 400);
        assert!(err.detail().contains(expected), "{}: {}", String::from_utf8_lossy(body), err.detail());
    }
    assert!(parse_body::<EntryEdit>(br#"{"reason": "x", "status": "open"}"#).is_err());
    assert!(parse_body::<NewTree>(br#"{"tree": "t", "tags": []}"#).is_err());
}

#[test]
fn bodies_with_nul_text_are_refused() {
    let cases: &[(&[u8], bool)] = &[
        (br#"{"trees": ["a"], "reason": "x\u0000y"}"#, true),
        (br#"{"trees": ["a\u0000"]}"#, true),
        // An escaped backslash followed by `u0000` is plain text.
        (br#"{"trees": ["a"], "reason": "x\\u0000"}"#, false),
        (br#"{"trees": ["a"], "reason": "fine"}"#, false),
    ];
    for (body, refused) in cases {
        let got = parse_body::<TreesUpdate>(body);
        assert_eq!(got.is_err(), *refused, "{}", String::from_utf8_lossy(body));
        if let Err(err) = got {
            assert!(err.detail().contains("NUL"), "{}", err.detail());
        }
    }
}

#[test]
fn null_fields_count_as_absent() {
    let body: TreesUpdate = parse_body(br#"{"trees": ["a"], "status": null, "tags": null}"#).unwrap();
    assert_eq!(body.status, None);
    assert_eq!(body.tags, None);
    assert!(!body.remember);
}

/// §C.11 item 14 and §C.6: `revert` is 0 or 1.
#[test]
fn revert_parameter() {
    let cases = [(None, Ok(false)), (Some("0"), Ok(false)), (Some("1"), Ok(true))];
    for (value, expected) in cases {
        assert_eq!(parse_revert(value), expected, "{value:?}");
    }
    for value in ["2", "-1", "true", "", " 1"] {
        let err = parse_revert(Some(value)).unwrap_err();
        assert_eq!(err.status(), 400);
        assert_eq!(err.title(), "Unexpected value for `revert`.");
    }
}

/// §C.11 items 3, 5, 7, 8, 9 and 20: gen 3's problem bodies.
#[test]
fn problem_bodies() {
    let mdn = |code: u16| format!("https://developer.mozilla.org/en-US/docs/Web/HTTP/Status/{code}");
    let cases = [
        (
            TreeError::TreeExists { tree: "tree".into() },
            json!({"detail": "Tree already exists.", "status": 400, "title": "Tree tree already exists.", "type": mdn(400)}),
        ),
        (
            TreeError::NoSuchTree { tree: "unknowntree".into() },
            json!({"detail": "The tree does not exist.", "status": 404, "title": "No tree unknowntree found.", "type": mdn(404)}),
        ),
        (
            TreeError::TagsRequired,
            json!({"detail": "Tags are required when closing a tree.", "status": 400,
                   "title": "Tags are required when closing a tree.", "type": mdn(400)}),
        ),
        (
            TreeError::RememberNeedsAll,
            json!({"detail": "Must specify status, reason and tags to remember the change.", "status": 400,
                   "title": "Must specify status, reason and tags to remember the change.", "type": mdn(400)}),
        ),
        (
            TreeError::TreesNotFound { trees: strings(&["badtree", "other"]) },
            json!({"detail": "Could not fetch all the requested trees.", "status": 404,
                   "title": "Could not fetch the following trees: badtree, other", "type": mdn(404)}),
        ),
        (
            TreeError::NamesMustMatch { url: "wrongname".into(), body: "tree".into() },
            json!({"detail": "Tree names must match.", "status": 400,
                   "title": "Tree names must match, wrongname from url and tree from body do not.", "type": mdn(400)}),
        ),
        (
            TreeError::NoSuchChange { id: 99 },
            json!({"detail": "The change could not be found.", "status": 404, "title": "No change 99 found.", "type": mdn(404)}),
        ),
        (
            TreeError::NoSuchLog { id: 7 },
            json!({"detail": "The tree log does not exist for id 7.", "status": 404,
                   "title": "No tree log for id 7 found.", "type": mdn(404)}),
        ),
    ];
    for (error, expected) in cases {
        assert_eq!(error.problem(), expected, "{error:?}");
    }
}

/// §C.11 item 4 and the names a tree may have.
#[test]
fn new_tree_names() {
    let body = |name: &str| NewTree {
        tree: name.into(),
        status: TreeStatus::Open,
        reason: String::new(),
        message_of_the_day: String::new(),
        category: Category::Other,
    };
    assert_eq!(check_new_tree("tree", &body("tree")), Ok(()));
    let mismatch = check_new_tree("wrongname", &body("tree")).unwrap_err();
    assert_eq!(mismatch.status(), 400);
    assert_eq!(mismatch.detail(), "Tree names must match.");
    for good in ["mozilla-central", "comm-esr115", "try", "l10n_central", &"x".repeat(64)] {
        assert_eq!(validate_tree_name(good), Ok(()), "{good}");
    }
    for bad in ["", "a/b", "a.b", "a b", "tab\there", &"x".repeat(65)] {
        let err = check_new_tree(bad, &body(bad)).unwrap_err();
        assert!(matches!(err, TreeError::InvalidTreeName { .. }), "{bad:?}: {err:?}");
        assert_eq!(err.status(), 400);
    }
}

/// §C.11 items 2 and 6: a new tree's answer, and how it reads before any log.
#[test]
fn a_tree_without_logs_reads_from_its_row() {
    let body: NewTree = parse_body(
        br#"{"tree":"mozilla-central","status":"open","reason":"","message_of_the_day":"","category":"other"}"#,
    )
    .unwrap();
    let row = TreeRow::from(&body);
    assert_eq!(
        serde_json::to_value(&row).unwrap(),
        json!({"category":"other","message_of_the_day":"","reason":"","status":"open","tree":"mozilla-central"})
    );
    assert_eq!(
        serde_json::to_value(combine(row, None)).unwrap(),
        json!({"tree":"mozilla-central","status":"open","reason":"","message_of_the_day":"","tags":[],
               "log_id":null,"category":"other"})
    );
}

/// §C.3: status, reason and tags come from the newest log row; the message of the day and category from the tree.
#[test]
fn the_newest_log_overrides_the_row() {
    let row = TreeRow {
        category: Category::Development,
        message_of_the_day: "be nice".into(),
        reason: "stale".into(),
        status: TreeStatus::Open,
        tree: "autoland".into(),
    };
    let log =
        LogHead { id: 12, status: TreeStatus::Closed, reason: "bustage".into(), tags: strings(&["checkin_test"]) };
    let combined = combine(row, Some(log));
    assert_eq!(combined, {
        let mut expected = tree("autoland", TreeStatus::Closed, "bustage", &["checkin_test"], Some(12));
        expected.message_of_the_day = "be nice".into();
        expected.category = Category::Development;
        expected
    });
}

/// §C.2: readers back-fill what old rows lack from the default tree.
#[test]
fn last_state_back_fills_missing_keys() {
    let default = LastState {
        status: TreeStatus::Closed,
        reason: "New tree".into(),
        tags: vec![],
        log_id: None,
        current_status: TreeStatus::Closed,
        current_reason: "New tree".into(),
        current_tags: vec![],
        current_log_id: None,
    };
    assert_eq!(LastState::from_json("{}").unwrap(), default);
    let gen1 = LastState::from_json(r#"{"status": "open", "reason": "green again"}"#).unwrap();
    assert_eq!(gen1, LastState { status: TreeStatus::Open, reason: "green again".into(), ..default.clone() });
    let full = LastState {
        status: TreeStatus::Open,
        reason: String::new(),
        tags: vec![],
        log_id: None,
        current_status: TreeStatus::Closed,
        current_reason: "somereason".into(),
        current_tags: strings(&["sometag1"]),
        current_log_id: Some(3),
    };
    assert_eq!(LastState::from_json(&full.to_json()).unwrap(), full);
    assert!(LastState::from_json(r#"{"status": "opened"}"#).is_err());
}

/// §C.11 items 7, 8 and 9, and C.6: what an update is refused for.
#[test]
fn refused_updates() {
    let cases = [
        (json!({"trees": ["badtree"]}), TreeError::TreesNotFound { trees: strings(&["badtree"]) }),
        // Unknown trees are reported before the body's own faults, as gen 3 does.
        (
            json!({"trees": ["zzz", "autoland", "aaa"], "status": "closed"}),
            TreeError::TreesNotFound { trees: strings(&["aaa", "zzz"]) },
        ),
        (json!({"trees": []}), TreeError::NoTrees),
        (json!({"status": "closed", "trees": ["autoland", "mozilla-central"]}), TreeError::TagsRequired),
        // Gen 2/3 let an empty list close a tree; gen 1 and 4 did not, nor do we.
        (json!({"status": "closed", "tags": [], "trees": ["autoland"]}), TreeError::TagsRequired),
        (json!({"status": "closed", "tags": [" "], "trees": ["autoland"]}), TreeError::TagsRequired),
        (json!({"trees": ["autoland"], "remember": true, "reason": "r", "tags": ["t"]}), TreeError::RememberNeedsAll),
        (
            json!({"trees": ["autoland"], "remember": true, "status": "open", "tags": ["t"]}),
            TreeError::RememberNeedsAll,
        ),
        (
            json!({"trees": ["autoland"], "remember": true, "status": "open", "reason": "r"}),
            TreeError::RememberNeedsAll,
        ),
    ];
    for (body, expected) in cases {
        assert_eq!(plan_update(&update(body.clone()), &two_open_trees()), Err(expected), "{body}");
    }
}

/// §C.11 item 10: a remembered close of two trees.
#[test]
fn remembered_close() {
    let body = json!({"remember": true, "reason": "somereason", "status": "closed",
                      "tags": ["sometag1", "sometag2"], "trees": ["autoland", "mozilla-central"]});
    let plan = plan_update(&update(body), &two_open_trees()).unwrap();
    assert_eq!(plan.stack, Some(PlannedStack { status: TreeStatus::Closed, reason: "somereason".into() }));
    assert_eq!(plan.trees.iter().map(PlannedTree::name).collect::<Vec<_>>(), ["autoland", "mozilla-central"]);
    for (n, mut planned) in plan.trees.into_iter().enumerate() {
        let log = NewLog {
            status: TreeStatus::Closed,
            reason: "somereason".into(),
            tags: strings(&["sometag1", "sometag2"]),
        };
        assert_eq!(planned.log, Some(log));
        let transition = planned.transition().unwrap();
        assert_eq!((transition.status_from, transition.status_to), (TreeStatus::Open, TreeStatus::Closed));
        planned.logged_as(10 + n as i64);
        assert_eq!(
            serde_json::to_value(LastState::of_change(&planned.before, &planned.after)).unwrap(),
            json!({"status": "open", "reason": "", "tags": [], "log_id": null, "current_status": "closed",
                   "current_reason": "somereason", "current_tags": ["sometag1", "sometag2"],
                   "current_log_id": 10 + n})
        );
    }
}

/// §C.11 item 11: the same without `remember` leaves the stack alone.
#[test]
fn unremembered_close() {
    let body = json!({"reason": "somereason", "status": "closed", "tags": ["sometag1"], "trees": ["autoland"]});
    let plan = plan_update(&update(body), &two_open_trees()).unwrap();
    assert_eq!(plan.stack, None);
    assert_eq!(plan.trees.len(), 1);
    assert_eq!(plan.trees[0].after.status, TreeStatus::Closed);
}

/// Fields left out keep their values, in the tree and in the log row (§C.11
/// items 18 and 19). Gen 1–3 logged `"no change"` instead; gen 4 logs the
/// current values, as we do.
#[test]
fn partial_updates() {
    let closed = tree("tree1", TreeStatus::Closed, "bustage", &["checkin_test"], Some(4));
    let trees = current(std::slice::from_ref(&closed));
    struct Case {
        body: Value,
        log: Option<(TreeStatus, &'static str, &'static [&'static str])>,
        motd: &'static str,
        changes_status: bool,
    }
    let cases = [
        // Item 18: the message of the day alone writes no log.
        Case {
            body: json!({"trees": ["tree1"], "message_of_the_day": "if it don't fit force it"}),
            log: None,
            motd: "if it don't fit force it",
            changes_status: false,
        },
        // Item 19: a status alone keeps the reason (and the tags).
        Case {
            body: json!({"trees": ["tree1"], "status": "approval required"}),
            log: Some((TreeStatus::ApprovalRequired, "bustage", &["checkin_test"])),
            motd: "",
            changes_status: true,
        },
        // A reason alone keeps the status and the closing tags (bug 989345: amending a
        // closure message dropped its tags).
        Case {
            body: json!({"trees": ["tree1"], "reason": "bustage, backout pending"}),
            log: Some((TreeStatus::Closed, "bustage, backout pending", &["checkin_test"])),
            motd: "",
            changes_status: false,
        },
        // An empty reason is a reason (gen 3 skipped its log, hiding the change).
        Case {
            body: json!({"trees": ["tree1"], "reason": ""}),
            log: Some((TreeStatus::Closed, "", &["checkin_test"])),
            motd: "",
            changes_status: false,
        },
        // Tags alone are logged too (gen 3 dropped them silently).
        Case {
            body: json!({"trees": ["tree1"], "tags": ["infra"]}),
            log: Some((TreeStatus::Closed, "bustage", &["infra"])),
            motd: "",
            changes_status: false,
        },
        // Closing a closed tree again logs the new reason but is no transition.
        Case {
            body: json!({"trees": ["tree1"], "status": "closed", "reason": "still", "tags": ["infra"]}),
            log: Some((TreeStatus::Closed, "still", &["infra"])),
            motd: "",
            changes_status: false,
        },
        // Only trees: nothing changes.
        Case { body: json!({"trees": ["tree1"]}), log: None, motd: "", changes_status: false },
    ];
    for case in cases {
        let plan = plan_update(&update(case.body.clone()), &trees).unwrap();
        let [planned] = plan.trees.as_slice() else { panic!("one tree planned for {}", case.body) };
        let expected_log =
            case.log.map(|(status, reason, tags)| NewLog { status, reason: reason.into(), tags: strings(tags) });
        assert_eq!(planned.log, expected_log, "{}", case.body);
        assert_eq!(planned.after.message_of_the_day, case.motd, "{}", case.body);
        assert_eq!(planned.transition().is_some(), case.changes_status, "{}", case.body);
        assert_eq!(plan.stack, None);
        if let Some(log) = &planned.log {
            assert_eq!(
                (planned.after.status, &planned.after.reason, &planned.after.tags),
                (log.status, &log.reason, &log.tags)
            );
        } else {
            assert_eq!(planned.after.status, closed.status);
            assert_eq!(planned.after.tags, closed.tags);
        }
        assert_eq!(planned.after.log_id, Some(4), "the store sets the new log's id");
    }
}

#[test]
fn a_tree_named_twice_is_updated_once() {
    let body = json!({"trees": ["autoland", "mozilla-central", "autoland"], "status": "open"});
    let plan = plan_update(&update(body), &two_open_trees()).unwrap();
    assert_eq!(plan.trees.iter().map(PlannedTree::name).collect::<Vec<_>>(), ["autoland", "mozilla-central"]);
}

fn entry(trees: Vec<StackTree>) -> StackEntry {
    StackEntry {
        id: 2,
        trees,
        when: Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).unwrap(),
        who: "client:sheriff".into(),
        status: TreeStatus::Closed,
        reason: "some reason to close".into(),
    }
}

/// The stack entry of §C.11 items 12–16: opened (log 1), then closed (log 2).
fn closing_entry() -> StackEntry {
    let state = |tree: &str, log_id: i64| StackTree {
        id: log_id,
        tree: tree.into(),
        last_state: LastState {
            status: TreeStatus::Open,
            reason: "some reason for opening".into(),
            tags: strings(&["sometag1", "sometag2"]),
            log_id: Some(log_id - 2),
            current_status: TreeStatus::Closed,
            current_reason: "some reason to close".into(),
            current_tags: strings(&["closingtag1", "closingtag2"]),
            current_log_id: Some(log_id),
        },
    };
    entry(vec![state("autoland", 3), state("mozilla-central", 4)])
}

/// §C.11 item 12: reverting restores `last_state` with a new log row; a tree deleted since is skipped.
#[test]
fn revert_restores_last_state() {
    let trees = current(&[tree("autoland", TreeStatus::Closed, "some reason to close", &["closingtag1"], Some(3))]);
    let planned = plan_revert(&closing_entry(), &trees);
    let [autoland] = planned.as_slice() else { panic!("mozilla-central no longer exists: {planned:?}") };
    assert_eq!(
        autoland.log,
        Some(NewLog {
            status: TreeStatus::Open,
            reason: "some reason for opening".into(),
            tags: strings(&["sometag1", "sometag2"])
        })
    );
    let transition = autoland.transition().unwrap();
    assert_eq!((transition.status_from, transition.status_to), (TreeStatus::Closed, TreeStatus::Open));
    assert_eq!(transition.tree.reason, "some reason for opening");
}

/// §C.11 item 15: amending a stack entry rewrites its reason, each tree's current state and their log rows.
#[test]
fn stack_edit_amends_entry_states_and_logs() {
    let edit = EntryEdit { reason: Some("updated reason".into()), tags: Some(strings(&["updated tags"])) };
    let plan = plan_stack_edit(&closing_entry(), &edit);
    assert_eq!(plan.reason, "updated reason");
    for changed in &plan.trees {
        assert_eq!(changed.last_state.current_reason, "updated reason");
        assert_eq!(changed.last_state.current_tags, strings(&["updated tags"]));
        assert_eq!(changed.last_state.reason, "some reason for opening", "the state before stays");
    }
    assert_eq!(
        plan.logs,
        [3, 4].map(|log_id| LogRewrite { log_id, reason: "updated reason".into(), tags: strings(&["updated tags"]) })
    );

    let tags_only = plan_stack_edit(&closing_entry(), &EntryEdit { reason: None, tags: Some(strings(&["infra"])) });
    assert_eq!(tags_only.reason, "some reason to close");
    assert_eq!(tags_only.logs[0].reason, "some reason to close");
    assert_eq!(tags_only.logs[0].tags, strings(&["infra"]));

    let unchanged = plan_stack_edit(&closing_entry(), &EntryEdit::default());
    assert_eq!(unchanged.trees, closing_entry().trees);
}

/// A state back-filled from old data points at no log row: gen 3 failed with 404 on those.
#[test]
fn stack_edit_skips_states_without_a_log() {
    let old = StackTree { id: 1, tree: "autoland".into(), last_state: LastState::from_json("{}").unwrap() };
    let plan = plan_stack_edit(&entry(vec![old]), &EntryEdit { reason: Some("r".into()), tags: None });
    assert!(plan.logs.is_empty());
    assert_eq!(plan.trees[0].last_state.current_reason, "r");
}

/// §C.11 item 16: a log's reason and tags are amended separately.
#[test]
fn log_edits() {
    let log = TreeLog {
        id: 9,
        tree: "autoland".into(),
        when: Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).unwrap(),
        who: "client:sheriff".into(),
        status: TreeStatus::Closed,
        reason: "old".into(),
        tags: strings(&["old tag"]),
    };
    let reason = edit_log(&log, &EntryEdit { reason: Some("new log reason".into()), tags: None });
    let both = edit_log(&reason, &EntryEdit { reason: None, tags: Some(strings(&["new tag 1", "new tag 2"])) });
    assert_eq!((both.reason.as_str(), both.tags.clone()), ("new log reason", strings(&["new tag 1", "new tag 2"])));
    assert_eq!((both.id, both.status), (9, TreeStatus::Closed));

    let mut state = closing_entry().trees[0].last_state.clone();
    state.amend_current(&EntryEdit { reason: Some("new log reason".into()), tags: None });
    assert_eq!((state.current_reason.as_str(), state.current_tags.len()), ("new log reason", 2));
}

/// §C.11 item 22: the landing gate.
#[test]
fn landing_gate() {
    let cases = [
        (None, true),
        (Some(TreeStatus::Open), true),
        (Some(TreeStatus::ApprovalRequired), true),
        (Some(TreeStatus::Closed), false),
    ];
    for (status, open) in cases {
        assert_eq!(is_open(status), open, "{status:?}");
    }
}

/// §C.8, with the `to_dict()` failure of gen 2 fixed: the tree goes out as its four fields.
#[test]
fn pulse_message_shape() {
    let mut after = tree("autoland", TreeStatus::Closed, "bustage", &["checkin_test"], Some(5));
    after.message_of_the_day = "motd".into();
    let planned = PlannedTree {
        before: tree("autoland", TreeStatus::Open, "", &[], None),
        after,
        log: Some(NewLog { status: TreeStatus::Closed, reason: "bustage".into(), tags: strings(&["checkin_test"]) }),
    };
    let sent = Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).unwrap();
    let message = pulse_message(&planned.transition().unwrap(), "exchange/fleetroll/treestatus", sent);
    assert_eq!(
        message,
        json!({
            "payload": {
                "status_from": "open",
                "status_to": "closed",
                "tree": {"tree": "autoland", "status": "closed", "reason": "bustage", "message_of_the_day": "motd"},
                "tags": ["checkin_test"],
            },
            "_meta": {
                "exchange": "exchange/fleetroll/treestatus",
                "routing_key": "tree/autoland/status_change",
                "serializer": "json",
                "sent": "2026-11-22T10:00:00.000000Z",
            },
        })
    );
}

#[test]
fn wire_shapes_of_logs_and_stack_entries() {
    let when = Utc.with_ymd_and_hms(2015, 7, 15, 17, 44, 0).unwrap();
    let log = TreeLog {
        id: 1,
        tree: "tree".into(),
        when,
        who: "client:sheriff".into(),
        status: TreeStatus::Open,
        reason: "r".into(),
        tags: vec![],
    };
    assert_eq!(
        serde_json::to_value(&log).unwrap(),
        json!({"id": 1, "tree": "tree", "when": "2015-07-15T17:44:00Z", "who": "client:sheriff",
               "status": "open", "reason": "r", "tags": []})
    );
    let stack = serde_json::to_value(closing_entry()).unwrap();
    assert_eq!(stack["trees"][0]["last_state"]["current_log_id"], json!(3));
    assert_eq!(stack["trees"][1]["tree"], json!("mozilla-central"));
    assert_eq!(stack["status"], json!("closed"));
}

#[test]
fn nul_characters_are_found_in_strings_and_keys_only() {
    let cases = [
        (r#"{"reason": "a\u0000b"}"#, true),
        (r#"{"tags": ["x", "\u0000"]}"#, true),
        (r#"{"a\u0000": 1}"#, true),
        (r#"{"reason": "a\\u0000b"}"#, false),
        (r#"{"reason": "\u0001"}"#, false),
        (r#"{"reason": "plain"}"#, false),
    ];
    for (json, expected) in cases {
        assert_eq!(has_nul(json.as_bytes()), expected, "{json}");
    }
}
