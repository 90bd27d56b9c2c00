//! Table tests for worker pools, override reading and expected SHAs.

// Table rows are tuples; naming each row type would say less than the tuple.
#![allow(clippy::type_complexity)]

use super::*;

fn pool(p: &str, wt: &str) -> Pool {
    Pool::new(p, wt)
}

fn windows() -> BTreeMap<String, Pool> {
    windows_pools(DEFAULT_PROVISIONER, ["win11-64-24h2-hw-ref", "win11-64-24h2-hw", "gecko-t-linux-talos-1804"])
}

#[test]
fn role_to_pool() {
    let roles = RoleMap::default();
    let win = windows();
    let cases: &[(&str, Option<&str>, Option<&str>, Result<Pool, NoPool>)] = &[
        (
            "named linux role",
            Some("gecko_t_linux_talos"),
            None,
            Ok(pool("releng-hardware", "gecko-t-linux-talos-1804")),
        ),
        (
            "named 2404 netperf",
            Some("gecko_t_linux_2404_netperf"),
            None,
            Ok(pool("releng-hardware", "gecko-t-linux-netperf-2404")),
        ),
        ("AUTO_under_to_dash", Some("gecko_t_osx_1500_m4"), None, Ok(pool("releng-hardware", "gecko-t-osx-1500-m4"))),
        (
            "AUTO staging",
            Some("gecko_t_osx_1400_r8_staging"),
            None,
            Ok(pool("releng-hardware", "gecko-t-osx-1400-r8-staging")),
        ),
        ("windows role", Some("win116424h2hwref"), None, Ok(pool("releng-hardware", "win11-64-24h2-hw-ref"))),
        ("unknown role", Some("gecko_t_nope"), None, Err(NoPool::UnknownRole { role: "gecko_t_nope".into() })),
        ("no role", None, None, Err(NoPool::NoRole)),
        (
            "override keeps the role's provisioner",
            Some("gecko_t_linux_talos"),
            Some("gecko-t-linux-talos-1804-staging"),
            Ok(pool("releng-hardware", "gecko-t-linux-talos-1804-staging")),
        ),
        (
            "override on an unknown role uses the default provisioner",
            Some("gecko_t_nope"),
            Some("my-pool"),
            Ok(pool("releng-hardware", "my-pool")),
        ),
        ("override without a role", None, Some("my-pool"), Ok(pool("releng-hardware", "my-pool"))),
    ];
    for (name, role, wt, want) in cases {
        assert_eq!(&resolve_pool(*role, *wt, &roles, &win), want, "{name}");
    }
}

#[test]
fn configured_roles_add_to_and_replace_the_defaults() {
    let configured: RoleMap = serde_json::from_value(serde_json::json!({
        "gecko_t_linux_talos": {"worker_type": "gecko-t-linux-talos-2204"},
        "custom_role": {"provisioner": "proj-x", "worker_type": "AUTO_under_to_dash"},
    }))
    .expect("a valid role map");
    let roles = RoleMap::with(&configured);
    assert_eq!(roles.pool_of("gecko_t_linux_talos"), Some(pool("releng-hardware", "gecko-t-linux-talos-2204")));
    assert_eq!(roles.pool_of("custom_role"), Some(pool("proj-x", "custom-role")));
    assert_eq!(roles.pool_of("gecko_t_osx_1500_m4"), Some(pool("releng-hardware", "gecko-t-osx-1500-m4")));
    let bad = serde_json::from_value::<RoleMap>(serde_json::json!({"r": {"workertype": "x"}}));
    assert!(bad.is_err(), "a misspelt key is refused");
}

#[test]
fn windows_pool_mapping() {
    let win = windows();
    assert_eq!(win.len(), 2, "only pools starting with win: {win:?}");
    assert_eq!(win.get("win116424h2hw"), Some(&pool("releng-hardware", "win11-64-24h2-hw")));
    let cases: &[(&[&str], bool)] = &[
        (&["win116424h2hwref"], true),
        (&["gecko_t_linux_talos", "win10_64"], false),
        (&["windows"], true),
        (&[], false),
    ];
    for (roles, want) in cases {
        assert_eq!(wants_windows_pools(roles.iter().copied()), *want, "{roles:?}");
    }
}

#[test]
fn override_files() {
    let cases: &[(&str, &str, Option<&str>, Option<(&str, &str)>, Option<&str>)] = &[
        (
            "typical",
            "PUPPET_REPO=\"https://github.com/aerickson/ronin_puppet.git\"\nPUPPET_BRANCH=\"feature-x\"\n\
             PUPPET_MAIL=\"a@b.c\"\n# WORKER_TYPE_OVERRIDE='gecko-t-linux-talos-1804-staging'\n",
            Some("feature-x"),
            Some(("aerickson", "ronin_puppet")),
            None,
        ),
        (
            "uncommented worker type override, ssh repo",
            "PUPPET_REPO='git@github.com:mozilla-platform-ops/ronin_puppet.git'\nPUPPET_BRANCH='b'\n\
             WORKER_TYPE_OVERRIDE='gecko-t-linux-talos-1804-staging'\n",
            Some("b"),
            Some(("mozilla-platform-ops", "ronin_puppet")),
            Some("gecko-t-linux-talos-1804-staging"),
        ),
        (
            "export, bare word and trailing comment",
            "export PUPPET_BRANCH=feature/RELOPS-123_test # why\n  PUPPET_REPO=\"https://github.com/o/r\"\n",
            Some("feature/RELOPS-123_test"),
            Some(("o", "r")),
            None,
        ),
        ("expansion is not literal", "PUPPET_BRANCH=\"$BRANCH\"\nPUPPET_BRANCH2=\"x\"\n", None, None, None),
        ("commented out", "#PUPPET_BRANCH=\"x\"\n", None, None, None),
        ("empty value", "PUPPET_BRANCH=\"\"\n", None, None, None),
        ("unterminated quote", "PUPPET_BRANCH=\"x\n", None, None, None),
        ("text after the value", "PUPPET_BRANCH=\"x\" && rm -rf /\n", None, None, None),
        ("not github", "PUPPET_BRANCH=\"x\"\nPUPPET_REPO=\"https://gitlab.com/o/r.git\"\n", Some("x"), None, None),
        ("first of two lines wins", "PUPPET_BRANCH=a\nPUPPET_BRANCH=b\n", Some("a"), None, None),
    ];
    for (name, text, branch, github, wt) in cases {
        let info = OverrideInfo::parse(text);
        assert_eq!(info.branch.as_deref(), *branch, "{name}: branch");
        assert_eq!(info.github, github.map(|(o, r)| (o.to_owned(), r.to_owned())), "{name}: github");
        assert_eq!(info.worker_type_override.as_deref(), *wt, "{name}: worker type");
    }
}

#[test]
fn github_urls() {
    let cases: &[(&str, Option<(&str, &str)>)] = &[
        ("https://github.com/aerickson/ronin_puppet.git", Some(("aerickson", "ronin_puppet"))),
        ("https://github.com/aerickson/ronin_puppet", Some(("aerickson", "ronin_puppet"))),
        ("git@github.com:mozilla-platform-ops/ronin_puppet.git", Some(("mozilla-platform-ops", "ronin_puppet"))),
        ("https://github.com/o/r/tree/main", None),
        ("https://github.com/o/", None),
        ("https://github.com/o/.git", Some(("o", ".git"))),
        ("https://example.com/o/r.git", None),
    ];
    for (url, want) in cases {
        assert_eq!(github_repo(url), want.map(|(o, r)| (o.to_owned(), r.to_owned())), "{url}");
    }
}

#[test]
fn refs_to_fetch() {
    let texts = [
        "PUPPET_REPO=\"https://github.com/aerickson/ronin_puppet.git\"\nPUPPET_BRANCH=\"a\"\n",
        "PUPPET_REPO=\"https://github.com/aerickson/ronin_puppet.git\"\nPUPPET_BRANCH=\"b\"\n",
        "PUPPET_REPO=\"https://github.com/mozilla-platform-ops/ronin_puppet.git\"\nPUPPET_BRANCH=\"master\"\n",
        "PUPPET_BRANCH=\"no-repo\"\n",
        "garbage",
    ];
    let wanted = wanted_refs(texts);
    let key = |o: &str, r: &str| (o.to_owned(), r.to_owned());
    assert_eq!(wanted.len(), 2);
    assert_eq!(wanted[&key("aerickson", "ronin_puppet")], BTreeSet::from(["a".to_owned(), "b".to_owned()]));
    assert_eq!(wanted[&key("mozilla-platform-ops", "ronin_puppet")], BTreeSet::from(["master".to_owned()]));
    assert_eq!(wanted_refs([]).len(), 1, "the default branch is always fetched");
}

#[test]
fn throttling() {
    let now = chrono::DateTime::parse_from_rfc3339("2026-01-01T12:00:00Z").expect("a date").to_utc();
    let ago = |s: i64| Some(now - chrono::Duration::seconds(s));
    let cases: &[(&str, Option<Timestamp>, bool, Throttle)] = &[
        ("never fetched", None, false, Throttle::Fetch),
        ("ten minutes ago", ago(600), false, Throttle::Skip { age_s: 600, remaining_s: 3000 }),
        ("ten minutes ago, forced", ago(600), true, Throttle::Fetch),
        ("an hour ago", ago(3600), false, Throttle::Fetch),
        ("in the future (clock skew)", ago(-60), false, Throttle::Fetch),
    ];
    for (name, newest, force, want) in cases {
        assert_eq!(throttle(*newest, now, GITHUB_FETCH_INTERVAL_S, *force), *want, "{name}");
    }
}

#[test]
fn workers_match_hosts_by_short_name() {
    let index =
        HostIndex::new(["t-linux64-ms-001.test.releng.mdc1.mozilla.com", "macmini-r8-42.test.releng.mdc1.mozilla.com"]);
    let cases: &[(&str, Option<&str>)] = &[
        ("t-linux64-ms-001", Some("t-linux64-ms-001.test.releng.mdc1.mozilla.com")),
        ("MACMINI-R8-42", Some("macmini-r8-42.test.releng.mdc1.mozilla.com")),
        ("t-linux64-ms-002", None),
        ("t-linux64-ms-001.test", None),
    ];
    for (worker, want) in cases {
        assert_eq!(index.host_of(worker), *want, "{worker}");
    }
}

fn refs() -> BTreeMap<RefKey, String> {
    let key = |o: &str, r: &str, b: &str| RefKey { owner: o.into(), repo: r.into(), branch: b.into() };
    BTreeMap::from([
        (key("testuser", "ronin_puppet", "test-branch"), "test_git_sha_1234".to_owned()),
        (key("mozilla-platform-ops", "ronin_puppet", "master"), "master_sha_5678".to_owned()),
    ])
}

/// Reference §9.1 item 16 and 17 (Linux and macOS hosts).
#[test]
fn expected_sha_and_match() {
    let with_branch = OverrideInfo::parse(
        "PUPPET_REPO=\"https://github.com/testuser/ronin_puppet.git\"\nPUPPET_BRANCH=\"test-branch\"\n",
    );
    let no_branch = OverrideInfo::parse("PUPPET_MAIL=\"a@b.c\"\n");
    let refs = refs();
    let pools = BTreeMap::new();
    let host = |info, sha, success| HostPuppet { override_info: info, git_sha: sha, success, ..HostPuppet::default() };
    let cases: &[(&str, HostPuppet<'_>, Option<&str>, PpMatch)] = &[
        (
            "override branch, same sha",
            host(Some(Some(&with_branch)), Some("test_git_sha_1234"), Some(true)),
            Some("test_git_sha_1234"),
            PpMatch::Yes,
        ),
        (
            "override branch, other sha",
            host(Some(Some(&with_branch)), Some("other"), Some(true)),
            Some("test_git_sha_1234"),
            PpMatch::No,
        ),
        ("no override, master", host(None, Some("master_sha_5678"), Some(true)), Some("master_sha_5678"), PpMatch::Yes),
        ("run failed", host(None, Some("master_sha_5678"), Some(false)), Some("master_sha_5678"), PpMatch::No),
        ("unknown success", host(None, Some("master_sha_5678"), None), Some("master_sha_5678"), PpMatch::No),
        ("no applied sha", host(None, None, Some(true)), Some("master_sha_5678"), PpMatch::Unknown),
        ("override not stored", host(Some(None), Some("x"), Some(true)), None, PpMatch::Unknown),
        ("override without branch", host(Some(Some(&no_branch)), Some("x"), Some(true)), None, PpMatch::Unknown),
    ];
    for (name, h, want_sha, want_match) in cases {
        let sha = expected_sha(h, &refs, &pools);
        assert_eq!(sha.as_deref(), *want_sha, "{name}: expected sha");
        assert_eq!(pp_match(h, sha.as_deref()), *want_match, "{name}: match");
    }
    assert_eq!(expected_sha(&host(None, None, None), &BTreeMap::new(), &pools), None, "no refs fetched");
    assert_eq!(short_sha("test_branch_sha_1234"), "test_br");
}

/// Reference §9.1 item 19 (Windows hosts).
#[test]
fn windows_expected_sha_and_match() {
    let pools = BTreeMap::from([("win11-64-24h2-hw-ref".to_owned(), "test_win".to_owned())]);
    let refs = refs();
    let host = |sha, success| HostPuppet {
        is_windows: true,
        role: Some("win116424h2hwref"),
        git_sha: sha,
        success,
        ..HostPuppet::default()
    };
    let cases: &[(&str, HostPuppet<'_>, Option<&str>, PpMatch)] = &[
        ("hash is a prefix of the sha", host(Some("test_win_pool_sha_match"), None), Some("test_win"), PpMatch::Yes),
        ("sha's 7 are a prefix of the hash", host(Some("test_wi"), Some(true)), Some("test_win"), PpMatch::Yes),
        ("another sha", host(Some("other_sha"), None), Some("test_win"), PpMatch::No),
        ("run failed", host(Some("test_win_pool_sha_match"), Some(false)), Some("test_win"), PpMatch::No),
    ];
    for (name, h, want_sha, want_match) in cases {
        let sha = expected_sha(h, &refs, &pools);
        assert_eq!(sha.as_deref(), *want_sha, "{name}: expected sha");
        assert_eq!(pp_match(h, sha.as_deref()), *want_match, "{name}: match");
    }
    assert_eq!(short_sha("test_win"), "test_wi");
    let h = host(Some("test_win_pool_sha_match"), None);
    assert_eq!(expected_source(&h, &BTreeMap::new()), ExpectedSource::UnknownWindowsPool);
    assert_eq!(expected_sha(&h, &refs, &BTreeMap::new()), None, "a Windows host with no pools");
    assert_eq!(pp_match(&h, None), PpMatch::Unknown);
}
