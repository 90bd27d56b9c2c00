use super::*;

fn scopes(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// §A.5: exact match, or a star scope's prefix.
#[test]
fn scope_satisfaction() {
    let cases = [
        (&["project:releng:roller:ping"][..], "project:releng:roller:ping", true),
        (&["project:releng:roller:ping"], "project:releng:roller:reboot", false),
        (&["project:releng:roller:*"], "project:releng:roller:reboot", true),
        (&["project:releng:roller:*"], "project:releng:roller:", true),
        (&["project:releng:roller:*"], "project:releng:roller", false),
        (&["project:releng:*"], "project:releng:roller:ping", true),
        (&["*"], "anything:at:all", true),
        (&["*"], "", true),
        // A star in the middle is literal, as in Taskcluster.
        (&["project:*:ping"], "project:releng:ping", false),
        (&["project:*:ping"], "project:*:ping", true),
        // A star on the required side is not a wildcard.
        (&["project:releng:roller:ping"], "project:releng:roller:*", false),
        (&[], "project:releng:roller:ping", false),
        (&["", "x"], "", true),
    ];
    for (held, required, expected) in cases {
        assert_eq!(satisfies(&scopes(held), required), expected, "{held:?} ⊢ {required}");
    }
}

/// §A.5: required scope sets are OR of ANDs.
#[test]
fn scope_sets_are_or_of_ands() {
    let sets = vec![scopes(&["a:1", "a:2"]), scopes(&["b:1"])];
    let cases = [
        (&["a:1", "a:2"][..], true),
        (&["a:1"], false),
        (&["b:1"], true),
        (&["a:*"], true),
        (&["c:1"], false),
        (&[], false),
    ];
    for (held, expected) in cases {
        assert_eq!(satisfies_any(&scopes(held), &sets), expected, "{held:?}");
    }
    assert!(!satisfies_any(&scopes(&["*"]), &[]), "no set listed lets nobody in");
    assert!(satisfies_any(&scopes(&[]), &[vec![]]), "an empty set asks for nothing");
}

#[test]
fn roles_expand_transitively_and_stop_at_cycles() {
    let roles = Roles::from([
        ("sheriff".to_owned(), scopes(&["trees:update", "assume:reader"])),
        ("reader".to_owned(), scopes(&["trees:read", "assume:sheriff"])),
        ("admin".to_owned(), scopes(&["trees:*"])),
        ("repo:github.com/org/*".to_owned(), scopes(&["queue:create-task:org"])),
    ]);
    let cases: [(&[&str], &[&str]); 6] = [
        (&["assume:sheriff"], &["assume:reader", "assume:sheriff", "trees:read", "trees:update"]),
        (&["assume:reader"], &["assume:reader", "assume:sheriff", "trees:read", "trees:update"]),
        (&["assume:nobody"], &["assume:nobody"]),
        // A star assume reaches every role with that prefix.
        (&["assume:a*"], &["assume:a*", "trees:*"]),
        // A star role id is reached by any assume under its prefix.
        (&["assume:repo:github.com/org/fleetroll"], &["assume:repo:github.com/org/fleetroll", "queue:create-task:org"]),
        (&["plain"], &["plain"]),
    ];
    for (held, expected) in cases {
        assert_eq!(expand(&scopes(held), &roles), scopes(expected), "{held:?}");
    }
    let everything = expand(&scopes(&["*"]), &roles);
    for scope in ["trees:update", "trees:read", "trees:*", "queue:create-task:org"] {
        assert!(everything.contains(&scope.to_owned()), "{scope} in {everything:?}");
    }
}

#[test]
fn normalize_drops_what_a_star_covers() {
    let held = scopes(&["trees:update", "trees:*", "other", "trees:*", "tree"]);
    assert_eq!(normalize(&held), scopes(&["other", "tree", "trees:*"]));
    assert_eq!(normalize(&scopes(&["*", "a", "b*"])), scopes(&["*"]));
}

/// §C.4: admin holds all four tree scopes, sheriff update and revert.
#[test]
fn tree_status_roles() {
    let tree_scopes = TreeScopes::default();
    assert_eq!(tree_scopes.required(TreeAction::UpdateTrees), "project:fleetroll:treestatus/trees/update");
    assert_eq!(tree_scopes.required(TreeAction::RevertChanges), "project:fleetroll:treestatus/recent_changes/revert");
    let roles = tree_scopes.roles();
    let admin = expand(&scopes(&["assume:project:fleetroll:treestatus/admin"]), &roles);
    let sheriff = expand(&scopes(&["assume:project:fleetroll:treestatus/sheriff"]), &roles);
    let both = expand(&scopes(&["assume:project:fleetroll:treestatus/*"]), &roles);
    let cases = [
        (TreeAction::CreateTree, true, false),
        (TreeAction::DeleteTree, true, false),
        (TreeAction::UpdateTrees, true, true),
        (TreeAction::RevertChanges, true, true),
    ];
    for (action, admin_may, sheriff_may) in cases {
        assert_eq!(tree_scopes.allows(&admin, action), admin_may, "admin {action:?}");
        assert_eq!(tree_scopes.allows(&sheriff, action), sheriff_may, "sheriff {action:?}");
        assert!(tree_scopes.allows(&both, action), "{action:?}");
        assert!(!tree_scopes.allows(&[], action), "{action:?}");
    }
    let star = scopes(&["project:fleetroll:treestatus/trees/*"]);
    assert!(tree_scopes.allows(&star, TreeAction::CreateTree));
    assert!(!tree_scopes.allows(&star, TreeAction::RevertChanges));
}

#[test]
fn tree_scope_prefix_is_configurable() {
    let gen2 = TreeScopes::new("project:releng:treestatus/");
    assert_eq!(gen2.prefix(), "project:releng:treestatus");
    assert_eq!(gen2.required(TreeAction::DeleteTree), "project:releng:treestatus/trees/delete");
    assert_eq!(gen2.admin_role(), "project:releng:treestatus/admin");
    assert_eq!(gen2.sheriff_role(), "project:releng:treestatus/sheriff");
}

#[test]
fn tokens_and_their_hashes() {
    let token = format_token(&[0u8; 32]);
    assert_eq!(token, format!("fleetroll_{}", "A".repeat(43)));
    let other = format_token(&[0xff; 32]);
    assert_eq!(other.len(), token.len());
    assert!(other.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'));
    assert_eq!(token_hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_ne!(token_hash(&token), token_hash(&other));
}

#[test]
fn client_names_and_scopes() {
    for good in ["sheriff-bot", "mozilla-auth0/ad|Mozilla-LDAP|ops", "a", "project:fleetroll/ci.bot+1"] {
        assert_eq!(validate_client_name(good), Ok(()), "{good}");
    }
    for bad in ["", "has space", "tab\t", "naïve", &"x".repeat(129)] {
        assert!(validate_client_name(bad).is_err(), "{bad:?}");
    }
    assert_eq!(validate_scope("project:fleetroll:treestatus/*"), Ok(()));
    assert!(validate_scope("new\nline").is_err());
}
