//! Table tests for the host-monitor's rows (reference §8.1–§8.3, §9.1 16–19).

// Table rows are tuples; naming each row type would say less than the tuple.
#![allow(clippy::type_complexity)]

use chrono::{TimeDelta, TimeZone, Utc};
use serde_json::json;

use super::*;
use crate::gather::FailureClass;
use crate::notes::NoteKind;

const HOST: &str = "t-linux64-ms-001.test.releng.mdc1.mozilla.com";
/// sha256 of the empty string, whose humanhash is `mobile-leopard` (§9.1 item 22).
const EMPTY_SHA: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn now() -> Timestamp {
    Utc.timestamp_opt(1_706_186_096, 0).unwrap()
}

fn ago(seconds: i64) -> Timestamp {
    now() - TimeDelta::seconds(seconds)
}

/// An observation as stored, read as the monitor reads it.
fn obs(ok: bool, age_s: i64, observed: Value) -> ObservedHost {
    crate::records::HostObservation {
        host: HOST.into(),
        ts: ago(age_s),
        ok,
        observed,
        ssh_rc: Some(if ok { 0 } else { 255 }),
        failure: (!ok).then(|| Failure { class: FailureClass::Timeout, message: "no answer within 30s".into() }),
    }
    .into()
}

fn linux(extra: Value) -> Value {
    let mut base = json!({
        "os_type": "Linux",
        "role_present": true,
        "role": "gecko_t_linux_talos",
        "uptime_s": 120,
        "puppet_success": true,
        "puppet_git_sha": "default_sha_1234",
        "puppet_state_ts": "2024-01-25T12:04:56+00:00",
    });
    if let (Some(base), Some(extra)) = (base.as_object_mut(), extra.as_object()) {
        base.extend(extra.clone());
    }
    base
}

fn worker(extra: impl FnOnce(&mut TcWorker)) -> TcWorker {
    let mut w = TcWorker {
        host: HOST.into(),
        ts: ago(30),
        worker_id: "t-linux64-ms-001".into(),
        worker_group: Some("mdc1".into()),
        provisioner: "releng-hardware".into(),
        worker_type: "gecko-t-linux-talos-1804".into(),
        first_claim: None,
        state: Some("running".into()),
        last_date_active: Some(now()),
        task_started: None,
        task_resolved: None,
        task_state: None,
        quarantine_until: None,
    };
    extra(&mut w);
    w
}

/// The shared context, owned.
#[derive(Default)]
struct World {
    refs: BTreeMap<RefKey, String>,
    pools: BTreeMap<String, String>,
    overrides: BTreeMap<String, OverrideInfo>,
    vaults: BTreeMap<String, String>,
    suffix: Option<String>,
}

impl World {
    fn standard() -> World {
        let mut world = World::default();
        world.refs.insert(RefKey::default_branch(), "default_sha_1234".into());
        world.refs.insert(key("testuser", "test-branch"), "test_git_sha_1234".into());
        world.overrides.insert(
            "abc123".into(),
            OverrideInfo::parse(
                "PUPPET_REPO=\"https://github.com/testuser/ronin_puppet.git\"\nPUPPET_BRANCH=\"test-branch\"\n",
            ),
        );
        world.overrides.insert(
            "wt1234567890".into(),
            OverrideInfo::parse(
                "PUPPET_REPO=\"https://github.com/testuser/ronin_puppet.git\"\nPUPPET_BRANCH=\"test-branch\"\n\
                 WORKER_TYPE_OVERRIDE=\"gecko-t-linux-talos-1804-staging\"\n",
            ),
        );
        world.overrides.insert("nobranch9999".into(), OverrideInfo::parse("PUPPET_MAIL=\"x@example.com\"\n"));
        world
    }

    fn ctx(&self) -> Context<'_> {
        Context {
            now: now(),
            refs: &self.refs,
            windows_pools: &self.pools,
            overrides: &self.overrides,
            vault_names: &self.vaults,
            fqdn_suffix: self.suffix.as_deref(),
            filter_only: true,
        }
    }

    /// A row for an ok audit and an optional worker.
    fn ok_row(&self, observed: Value, worker: Option<&TcWorker>) -> Row {
        let latest = obs(true, 30, observed);
        let data =
            HostData { host: HOST, latest: Some(&latest), last_ok: Some(&latest), worker, ..HostData::default() };
        build_row(&data, &self.ctx())
    }
}

fn key(owner: &str, branch: &str) -> RefKey {
    RefKey { owner: owner.into(), repo: "ronin_puppet".into(), branch: branch.into() }
}

/// §9.1 item 16 (plus the TC_ACT side of HEALTHY).
#[test]
fn pp_match_and_healthy() {
    let active = |age: Option<i64>| worker(|w| w.last_date_active = age.map(ago));
    let cases: &[(&str, bool, Value, Option<i64>, &str, &str)] = &[
        (
            "override branch matches",
            true,
            json!({"override_present": true, "override_sha256": "abc123", "puppet_git_sha": "test_git_sha_1234"}),
            Some(0),
            "Y",
            "Y",
        ),
        (
            "override branch differs",
            true,
            json!({"override_present": true, "override_sha256": "abc123", "puppet_git_sha": "other_sha"}),
            Some(0),
            "N",
            "N",
        ),
        ("no override, master matches", true, json!({}), Some(0), "Y", "Y"),
        ("no GitHub refs", false, json!({}), Some(0), "-", "-"),
        ("puppet failed", true, json!({"puppet_success": false}), Some(0), "N", "N"),
        ("success unknown", true, json!({"puppet_success": null}), Some(0), "N", "N"),
        ("no git sha", true, json!({"puppet_git_sha": null}), Some(0), "-", "-"),
        ("match but idle 2h", true, json!({}), Some(7200), "Y", "N"),
        ("match, active 59m ago", true, json!({}), Some(3599), "Y", "Y"),
        ("match but never active", true, json!({}), None, "Y", "N"),
        (
            "override not stored",
            true,
            json!({"override_present": true, "override_sha256": "unknown000000"}),
            Some(0),
            "-",
            "-",
        ),
    ];
    for (name, with_refs, extra, active_age, want_match, want_healthy) in cases {
        let mut world = World::standard();
        if !with_refs {
            world.refs.clear();
        }
        let w = active(*active_age);
        let row = world.ok_row(linux(extra.clone()), Some(&w));
        assert_eq!((row.pp_match.text.as_str(), row.healthy.text.as_str()), (*want_match, *want_healthy), "{name}");
    }
}

#[test]
fn pp_match_and_healthy_categories() {
    let world = World::standard();
    let w = worker(|_| {});
    let good = world.ok_row(linux(json!({})), Some(&w));
    assert_eq!((good.pp_match.category, good.healthy.category), (Category::Good, Category::Good));
    let bad = world.ok_row(linux(json!({"puppet_git_sha": "other"})), Some(&w));
    assert_eq!((bad.pp_match.category, bad.healthy.category), (Category::Warn, Category::Bad));
    let unknown = world.ok_row(linux(json!({"puppet_git_sha": null})), Some(&w));
    assert_eq!((unknown.pp_match.category, unknown.healthy.category), (Category::Neutral, Category::Neutral));
}

/// §9.1 item 17.
#[test]
fn pp_exp() {
    let mut world = World::standard();
    world.refs.insert(key("testuser", "test-branch"), "test_branch_sha_1234".into());
    let with_override = json!({"override_present": true, "override_sha256": "abc123"});
    assert_eq!(world.ok_row(linux(with_override), None).pp_exp.text, "test_br");
    assert_eq!(world.ok_row(linux(json!({})), None).pp_exp.text, "default");
    let unresolved = json!({"override_present": true, "override_sha256": "nobranch9999"});
    assert_eq!(world.ok_row(linux(unresolved), None).pp_exp.text, "-");

    let ctx = world.ctx();
    let unk = build_row(&HostData { host: HOST, ..HostData::default() }, &ctx);
    assert_eq!(unk.pp_exp.text, "?");

    let failed = obs(false, 30, json!({}));
    let fail = build_row(&HostData { host: HOST, latest: Some(&failed), ..HostData::default() }, &ctx);
    assert_eq!((fail.status, fail.pp_exp.text.as_str(), fail.data.text.as_str()), (Status::Fail, "-", "-/-"));
}

/// §9.1 item 18.
#[test]
fn tc_quarantine() {
    let cases: &[(Option<i64>, &str, Category)] =
        &[(Some(3600), "-", Category::Neutral), (Some(-3600), "YES", Category::Bad), (None, "-", Category::Neutral)];
    let world = World::standard();
    for (age, text, category) in cases {
        let w = worker(|w| w.quarantine_until = age.map(ago));
        let row = world.ok_row(linux(json!({})), Some(&w));
        assert_eq!((row.tc_quar.text.as_str(), row.tc_quar.category), (*text, *category), "{age:?}");
    }
}

/// §9.1 item 19.
#[test]
fn windows_rows() {
    let windows = |extra: Value| {
        let mut base = json!({
            "os_type": "Windows",
            "role_present": true,
            "role": "win116424h2hwref",
            "puppet_git_sha": "test_win_pool_sha_match_0001",
            "puppet_success": null,
            "puppet_state_ts": "2024-01-25T12:04:56+00:00",
        });
        if let (Some(base), Some(extra)) = (base.as_object_mut(), extra.as_object()) {
            base.extend(extra.clone());
        }
        base
    };
    let mut world = World::standard();
    world.pools.insert("win11-64-24h2-hw-ref".into(), "test_win".into());
    let cases: &[(&str, Value, &str)] = &[
        ("hash prefix, success unknown", json!({}), "Y"),
        ("another sha", json!({"puppet_git_sha": "other_sha_0001"}), "N"),
        ("success false", json!({"puppet_success": false}), "N"),
        ("success true", json!({"puppet_success": true}), "Y"),
    ];
    for (name, extra, want) in cases {
        let row = world.ok_row(windows(extra.clone()), None);
        assert_eq!(
            (row.os.text.as_str(), row.pp_exp.text.as_str(), row.pp_match.text.as_str()),
            ("W", "test_wi", *want),
            "{name}"
        );
    }
    assert_eq!(world.ok_row(windows(json!({})), None).pp_last.text, "29m", "the run at the audit, 30 s ago");

    world.pools.clear();
    let w = worker(|_| {});
    let row = world.ok_row(windows(json!({})), Some(&w));
    let blanked = [&row.pp_last, &row.pp_exp, &row.pp_match, &row.healthy].map(|c| c.text.as_str());
    assert_eq!(blanked, ["-", "-", "-", "-"]);
    assert_eq!(row.pp_sha.text, "test_wi");
}

#[test]
fn unk_row() {
    let world = World::standard();
    let w = worker(|_| {});
    let row = build_row(&HostData { host: HOST, worker: Some(&w), ..HostData::default() }, &world.ctx());
    assert_eq!(row.status, Status::Unk);
    assert_eq!(row.status_cell.text, "UNK");
    for cell in [&row.reach, &row.os, &row.role, &row.vlt_sha, &row.ovr_bch, &row.uptime, &row.pp_last, &row.pp_exp] {
        assert_eq!(cell.text, "?");
    }
    assert_eq!(row.data.text, "?/<1m");
    assert_eq!(row.tc_act.text, "0s", "Taskcluster cells do not depend on the audit");
    assert_eq!(row.cell("pool").unwrap().text, "gecko-t-linux-talos-1804");
    assert_eq!(row.cell("err").unwrap().text, "-");
}

#[test]
fn fail_row_from_last_ok() {
    let world = World::standard();
    let last_ok = obs(true, 7200, linux(json!({"role": "gecko_t_linux_netperf"})));
    let failed = obs(false, 60, json!({}));
    let data = HostData { host: HOST, latest: Some(&failed), last_ok: Some(&last_ok), ..HostData::default() };
    let row = build_row(&data, &world.ctx());
    assert_eq!(row.status, Status::Fail);
    assert_eq!(row.role.text, "gecko_t_linux_netperf");
    assert_eq!(row.os.text, "L");
    assert_eq!(row.pp_match.text, "Y");
    assert_eq!((row.data.text.as_str(), row.data.seconds, row.data.category), ("2h 00m/-", Some(7200), Category::Bad));
    assert_eq!((row.reach.text.as_str(), row.reach.category), ("timeout", Category::Bad));
    assert_eq!(row.cell("err").unwrap().text, "timeout: no answer within 30s");
    assert_eq!((row.status_cell.text.as_str(), row.status_cell.category), ("FAIL", Category::Bad));
}

#[test]
fn fail_row_without_last_ok() {
    let world = World::standard();
    let failed = obs(false, 60, json!({}));
    let w = worker(|w| w.ts = ago(600));
    let data = HostData { host: HOST, latest: Some(&failed), worker: Some(&w), ..HostData::default() };
    let row = build_row(&data, &world.ctx());
    for cell in [&row.os, &row.role, &row.vlt_sha, &row.ovr_bch, &row.uptime, &row.pp_last, &row.pp_sha, &row.healthy] {
        assert_eq!(cell.text, "-");
    }
    assert_eq!(row.data.text, "-/10m");
    assert_eq!(row.reach.text, "timeout");
}

#[test]
fn data_ages_and_categories() {
    let cases: &[(i64, Option<i64>, &str, i64, Category)] = &[
        (30, Some(10), "<1m/<1m", 30, Category::Good),
        (59, None, "<1m/-", 59, Category::Good),
        (299, Some(0), "4m/<1m", 299, Category::Good),
        (300, Some(0), "5m/<1m", 300, Category::Warn),
        (60, Some(1799), "1m/29m", 1799, Category::Warn),
        (60, Some(1800), "1m/30m", 1800, Category::Bad),
        (9000, Some(60), "2h 30m/1m", 9000, Category::Bad),
    ];
    let world = World::standard();
    for (audit_age, tc_age, text, seconds, category) in cases {
        let latest = obs(true, *audit_age, linux(json!({})));
        let w = tc_age.map(|age| worker(|w| w.ts = ago(age)));
        let data = HostData { host: HOST, latest: Some(&latest), worker: w.as_ref(), ..HostData::default() };
        let cell = build_row(&data, &world.ctx()).data;
        assert_eq!((cell.text.as_str(), cell.seconds, cell.category), (*text, Some(*seconds), *category), "{text}");
    }
}

#[test]
fn uptime_thresholds() {
    let cases: &[(Option<i64>, &str, Category)] = &[
        (Some(59), "59s", Category::Good),
        (Some(3599), "59m", Category::Good),
        (Some(3600), "1h 00m", Category::Warn),
        (Some(21_599), "5h 59m", Category::Warn),
        (Some(21_600), "6h 00m", Category::Bad),
        (Some(90_061), "1d 01h", Category::Bad),
        (None, "-", Category::Neutral),
    ];
    let world = World::standard();
    for (uptime, text, category) in cases {
        let cell = world.ok_row(linux(json!({ "uptime_s": uptime })), None).uptime;
        assert_eq!((cell.text.as_str(), cell.seconds, cell.category), (*text, *uptime, *category));
    }
}

#[test]
fn tc_act_thresholds() {
    let cases: &[(Option<i64>, &str, Category)] = &[
        (Some(0), "0s", Category::Good),
        (Some(299), "4m", Category::Good),
        (Some(300), "5m", Category::Warn),
        (Some(3599), "59m", Category::Warn),
        (Some(3600), "1h 00m", Category::Bad),
        (None, "-", Category::Neutral),
    ];
    let world = World::standard();
    for (age, text, category) in cases {
        let w = worker(|w| w.last_date_active = age.map(ago));
        let cell = world.ok_row(linux(json!({})), Some(&w)).tc_act;
        assert_eq!((cell.text.as_str(), cell.seconds, cell.category), (*text, *age, *category));
    }
    assert_eq!(world.ok_row(linux(json!({})), None).tc_act.text, "-");
}

/// TC_ACT is the newer of the worker API's last activity and Pulse's
/// sighting of the same worker, and HEALTHY judges by it; without a worker
/// record there is no TC_ACT, whatever Pulse says.
#[test]
fn tc_act_takes_the_newer_of_the_worker_api_and_pulse() {
    let cases: &[(Option<i64>, Option<i64>, &str, &str)] = &[
        (Some(7200), Some(60), "1m", "Y"),
        (Some(60), Some(7200), "1m", "Y"),
        (None, Some(120), "2m", "Y"),
        (Some(7200), None, "2h 00m", "N"),
        (None, None, "-", "N"),
    ];
    let world = World::standard();
    let latest = obs(true, 30, linux(json!({})));
    for (api, pulse, text, healthy) in cases {
        let w = worker(|w| w.last_date_active = api.map(ago));
        let data = HostData {
            host: HOST,
            latest: Some(&latest),
            last_ok: Some(&latest),
            worker: Some(&w),
            pulse_seen: pulse.map(ago),
            notes: &[],
        };
        let row = build_row(&data, &world.ctx());
        assert_eq!((row.tc_act.text.as_str(), row.healthy.text.as_str()), (*text, *healthy), "{api:?} {pulse:?}");
    }
    let data = HostData { host: HOST, latest: Some(&latest), pulse_seen: Some(ago(60)), ..HostData::default() };
    assert_eq!(build_row(&data, &world.ctx()).tc_act.text, "-");
}

/// PULSE is the age of Pulse's last word about the worker, on every kind
/// of row, whatever the worker API says.
#[test]
fn pulse_column() {
    let cases: &[(Option<i64>, &str, Category)] = &[
        (Some(0), "0s", Category::Good),
        (Some(299), "4m", Category::Good),
        (Some(300), "5m", Category::Warn),
        (Some(3600), "1h 00m", Category::Bad),
        (Some(-5), "0s", Category::Good),
        (None, "-", Category::Neutral),
    ];
    let world = World::standard();
    let latest = obs(false, 30, json!({}));
    for (age, text, category) in cases {
        for (latest, last_ok) in [(None, None), (Some(&latest), None)] {
            let data = HostData { host: HOST, latest, last_ok, pulse_seen: age.map(ago), ..HostData::default() };
            let cell = build_row(&data, &world.ctx()).pulse;
            let seconds = age.map(|s| s.max(0));
            assert_eq!((cell.text.as_str(), cell.seconds, cell.category), (*text, seconds, *category), "{age:?}");
        }
    }
}

/// PP_LAST is the run's age at the audit (the audit is 30 s old here).
#[test]
fn pp_last() {
    let at = |age_at_now: i64| Utc.timestamp_opt(now().timestamp() - age_at_now, 0).unwrap().to_rfc3339();
    let cases: &[(&str, Value, &str, Option<i64>, Category)] = &[
        ("state ts", json!({"puppet_state_ts": at(630)}), "10m", Some(600), Category::Good),
        ("an hour", json!({"puppet_state_ts": at(3630)}), "1h 00m", Some(3600), Category::Warn),
        ("six hours", json!({"puppet_state_ts": at(21_630)}), "6h 00m", Some(21_600), Category::Bad),
        ("failed", json!({"puppet_state_ts": at(630), "puppet_success": false}), "10m FAIL", Some(600), Category::Bad),
        (
            "legacy epoch",
            json!({"puppet_state_ts": null, "puppet_last_run_epoch": now().timestamp() - 150}),
            "2m",
            Some(120),
            Category::Good,
        ),
        ("unknown", json!({"puppet_state_ts": null}), "--", None, Category::Neutral),
        ("garbled ts", json!({"puppet_state_ts": "null"}), "--", None, Category::Neutral),
    ];
    let world = World::standard();
    for (name, extra, text, seconds, category) in cases {
        let cell = world.ok_row(linux(extra.clone()), None).pp_last;
        assert_eq!((cell.text.as_str(), cell.seconds, cell.category), (*text, *seconds, *category), "{name}");
    }
}

#[test]
fn tc_task_duration() {
    let cases: &[(&str, Option<i64>, Option<i64>, Option<&str>, &str, Category)] = &[
        ("completed", Some(600), Some(300), Some("completed"), "5m", Category::Good),
        ("exception", Some(600), Some(540), Some("exception"), "1m", Category::Warn),
        ("failed", Some(600), Some(590), Some("failed"), "10s", Category::Bad),
        ("running, to the scan", Some(630), None, Some("running"), "10m -", Category::Neutral),
        ("no task", None, None, None, "-", Category::Neutral),
    ];
    let world = World::standard();
    for (name, started, resolved, state, text, category) in cases {
        let w = worker(|w| {
            w.task_started = started.map(ago);
            w.task_resolved = resolved.map(ago);
            w.task_state = state.map(str::to_owned);
        });
        let cell = world.ok_row(linux(json!({})), Some(&w)).tc_t_dur;
        assert_eq!((cell.text.as_str(), cell.category), (*text, *category), "{name}");
    }
}

#[test]
fn os_letters() {
    let cases: &[(Value, &str)] = &[
        (json!("Darwin"), "M"),
        (json!("Linux"), "L"),
        (json!("Windows"), "W"),
        (json!("freebsd"), "F"),
        (json!(""), "-"),
        (Value::Null, "-"),
    ];
    let world = World::standard();
    for (os, letter) in cases {
        assert_eq!(world.ok_row(linux(json!({ "os_type": os })), None).os.text, *letter, "{os}");
    }
}

#[test]
fn role() {
    let world = World::standard();
    let missing = world.ok_row(linux(json!({"role_present": false, "role": null})), None).role;
    assert_eq!((missing.text.as_str(), missing.category), ("missing", Category::Bad));
    let present = world.ok_row(linux(json!({})), None).role;
    assert_eq!(present.text, "gecko_t_linux_talos");
    assert_eq!(present.category, Category::Palette(Palette::Role));
    assert_eq!(present.palette_key.as_deref(), Some("gecko_t_linux_talos"));
}

#[test]
fn override_column() {
    let cases: &[(&str, Value, &str, Option<&str>, bool, &str)] = &[
        ("no override", json!({}), "-", None, false, "-"),
        (
            "resolves",
            json!({"override_present": true, "override_sha256": "abc123"}),
            "test-branch (abc123)",
            Some("test-branch"),
            false,
            "N",
        ),
        (
            "worker type override",
            json!({"override_present": true, "override_sha256": "wt1234567890"}),
            "test-branch (wt123456) *wt",
            Some("test-branch"),
            true,
            "Y",
        ),
        (
            "no branch",
            json!({"override_present": true, "override_sha256": "nobranch9999"}),
            "nobranch",
            Some("nobranch"),
            false,
            "N",
        ),
        (
            "not stored",
            json!({"override_present": true, "override_sha256": "deadbeefcafe1234"}),
            "deadbeef",
            Some("deadbeef"),
            false,
            "N",
        ),
        ("empty file", json!({"override_present": true}), "(empty)", None, false, "N"),
    ];
    let world = World::standard();
    for (name, extra, text, palette_key, marked, wt_ovr) in cases {
        let row = world.ok_row(linux(extra.clone()), None);
        assert_eq!(row.ovr_bch.text, *text, "{name}");
        assert_eq!(row.ovr_bch.palette_key.as_deref(), *palette_key, "{name}");
        assert_eq!(row.ovr_bch.marker.is_some(), *marked, "{name}");
        assert_eq!(row.cell("wt_ovr").unwrap().text, *wt_ovr, "{name}");
    }
    let marked = world.ok_row(linux(json!({"override_present": true, "override_sha256": "wt1234567890"})), None);
    let marker = marked.ovr_bch.marker.expect("marker");
    assert!(marked.ovr_bch.text.ends_with(marker.text));
    assert_eq!(marker.category, Category::Bad);
    assert_eq!(marked.cell("ovr_branch").unwrap().text, "test-branch");
    assert_eq!(marked.cell("ovr_sha_full").unwrap().text, "wt1234567890");
    assert_eq!(marked.cell("override").unwrap().text, "Y");
}

#[test]
fn override_mtime_is_an_age() {
    let world = World::standard();
    let meta = json!({"mode": "644", "owner": "root", "group": "root", "size": "10",
        "mtime_epoch": (now().timestamp() - 7200).to_string()});
    let row = world
        .ok_row(linux(json!({"override_present": true, "override_sha256": "abc123", "override_meta": meta})), None);
    let mtime = row.cell("mtime").unwrap();
    assert_eq!((mtime.text.as_str(), mtime.seconds), ("2h 00m", Some(7200)));
    assert_eq!(world.ok_row(linux(json!({})), None).cell("mtime").unwrap().text, "-");
}

#[test]
fn vault_column() {
    let mut world = World::standard();
    let row = world.ok_row(linux(json!({"vault_present": true, "vault_sha256": EMPTY_SHA})), None);
    assert_eq!(row.vlt_sha.text, "e3b0c442 mobile-leopard");
    assert_eq!(row.vlt_sha.palette_key.as_deref(), Some("mobile-leopard"));
    assert_eq!(row.vlt_sha.category, Category::Palette(Palette::Vault));
    assert_eq!(row.cell("vlt_mnemonic").unwrap().text, "mobile-leopard");
    assert_eq!(row.cell("vlt_sha_full").unwrap().text, EMPTY_SHA);
    assert_eq!(row.cell("vlt_symlink").unwrap().text, "-");

    world.vaults.insert(EMPTY_SHA.into(), "prod-2026".into());
    let named = world.ok_row(linux(json!({"vault_present": true, "vault_sha256": EMPTY_SHA})), None);
    assert_eq!(named.vlt_sha.text, "e3b0c442 mobile-leopard (prod-2026)");
    assert_eq!(named.cell("vlt_symlink").unwrap().text, "prod-2026");

    let not_hex = world.ok_row(linux(json!({"vault_sha256": "not-a-hex-sha"})), None);
    assert_eq!(not_hex.vlt_sha.text, "not-a-he");
    assert_eq!(world.ok_row(linux(json!({})), None).vlt_sha.text, "-");
}

#[test]
fn note_column() {
    let note = |n: i64, kind: NoteKind| NoteRecord { host: HOST.into(), ts: ago(100 - n), actor: "ops".into(), kind };
    let add = |n: i64, text: &str| note(n, NoteKind::Add { note: text.into() });
    let cases: Vec<(Vec<NoteRecord>, &str, Category)> = vec![
        (vec![add(1, "first"), add(2, "second"), add(3, "third note")], "(3) third note", Category::Warn),
        (vec![add(1, "old"), note(2, NoteKind::Clear { reason: None })], "-", Category::Neutral),
        (vec![], "-", Category::Neutral),
    ];
    let world = World::standard();
    let latest = obs(true, 30, linux(json!({})));
    for (notes, text, category) in cases {
        let data = HostData { host: HOST, latest: Some(&latest), notes: &notes, ..HostData::default() };
        let cell = build_row(&data, &world.ctx()).note;
        assert_eq!((cell.text.as_str(), cell.category), (text, category));
    }
}

#[test]
fn reachable() {
    let world = World::standard();
    let classes = [
        (FailureClass::Connection, "connection"),
        (FailureClass::Auth, "auth"),
        (FailureClass::Timeout, "timeout"),
        (FailureClass::Remote, "remote"),
        (FailureClass::Protocol, "protocol"),
    ];
    let last_ok = obs(true, 600, linux(json!({})));
    for (class, text) in classes {
        let failed =
            ObservedHost { failure: Some(Failure { class, message: "boom".into() }), ..obs(false, 30, json!({})) };
        let data = HostData { host: HOST, latest: Some(&failed), last_ok: Some(&last_ok), ..HostData::default() };
        let row = build_row(&data, &world.ctx());
        assert_eq!((row.reach.text.as_str(), row.reach.category), (text, Category::Bad));
        assert_eq!(row.cell("err").unwrap().text, format!("{text}: boom"));
    }
    let legacy = ObservedHost { failure: None, ..obs(false, 30, json!({})) };
    let row = build_row(&HostData { host: HOST, latest: Some(&legacy), ..HostData::default() }, &world.ctx());
    assert_eq!((row.reach.text.as_str(), row.cell("err").unwrap().text.as_str()), ("failed", "audit failed"));
    let ok = world.ok_row(linux(json!({})), None);
    assert_eq!((ok.reach.text.as_str(), ok.reach.category, ok.status), ("ok", Category::Good, Status::Ok));
}

#[test]
fn host_suffix_is_stripped_when_given() {
    let mut world = World::standard();
    assert_eq!(world.ok_row(linux(json!({})), None).host.text, HOST);
    world.suffix = Some(".test.releng.mdc1.mozilla.com".into());
    let row = world.ok_row(linux(json!({})), None);
    assert_eq!((row.host.text.as_str(), row.fqdn.as_str()), ("t-linux64-ms-001", HOST));
    world.suffix = Some(HOST.into());
    assert_eq!(world.ok_row(linux(json!({})), None).host.text, HOST, "never stripped to nothing");
}

/// Older writers may have stored fields with other types; the rest still reads.
#[test]
fn observed_tolerates_odd_fields() {
    let observed = read_observed(&json!({"role_present": null, "os_type": "Darwin", "uptime_s": "12"}));
    assert_eq!(observed.os_type.as_deref(), Some("Darwin"));
    assert_eq!(observed.uptime_s, None);
    assert_eq!(read_observed(&json!("garbage")), Observed::default());
    assert_eq!(read_observed(&Value::Null), Observed::default());
}

#[test]
fn every_column_and_field_has_a_cell() {
    let row = World::standard().ok_row(linux(json!({})), None);
    for key in COLUMNS.iter().map(|c| c.key).chain(FILTER_FIELDS.iter().copied()) {
        assert!(row.cell(key).is_some(), "{key}");
    }
    for alias in ["ovr_bch", "ovr_sha", "tc_t_dur", "health", "reachable", "PP_MATCH"] {
        assert!(row.cell(alias).is_some(), "{alias}");
    }
    assert!(row.cell("nope").is_none());
    let labels: Vec<&str> = row.columns().map(|(def, _)| def.label).collect();
    assert_eq!(labels.len(), COLUMNS.len());
    for (def, cell) in row.columns() {
        assert!(std::ptr::eq(cell, row.cell(def.key).unwrap()), "{} is in its column's place", def.key);
    }
    let pp_sha = labels.iter().position(|l| *l == "PP_SHA");
    assert!(pp_sha < labels.iter().position(|l| *l == "PP_EXP"), "TUI order: PP_SHA before PP_EXP");
}

/// Rows built without the filter-only fields show the same columns and
/// status; only the filter-only fields are missing.
#[test]
fn rows_without_filter_only_fields_show_the_same() {
    let world = World::standard();
    let latest = obs(true, 30, linux(json!({"override_present": true, "override_sha256": "wt1234567890"})));
    let data = HostData { host: HOST, latest: Some(&latest), last_ok: Some(&latest), ..HostData::default() };
    let full = build_row(&data, &world.ctx());
    let lean = build_row(&data, &Context { filter_only: false, ..world.ctx() });
    assert!(full.columns().eq(lean.columns()));
    assert_eq!(lean.cell("status"), full.cell("status"));
    assert!(FILTER_FIELDS.iter().filter(|key| **key != "status").all(|key| lean.cell(key).is_none()));
    assert_eq!(Row { filter_only: full.filter_only.clone(), ..lean }, full);
}

#[test]
fn filter_only_fields_are_built_when_a_query_or_sort_names_one() {
    use crate::query::{Column, SortKey, parse};
    let cases: &[(&str, &[SortKey], bool)] = &[
        ("", &[], false),
        ("role~talos tc_act>1h sort:data:desc", &[], false),
        ("status=FAIL", &[], false),
        ("pool~talos", &[], true),
        ("ERR!=", &[], true),
        ("sort:vlt_mnemonic", &[], true),
        ("", &[SortKey { column: Column::Host, direction: crate::query::Direction::Asc }], false),
        ("", &[SortKey { column: Column::Mtime, direction: crate::query::Direction::Desc }], true),
    ];
    for (text, sort, wanted) in cases {
        let query = parse(text).unwrap();
        let keys = if sort.is_empty() { query.sort_keys() } else { sort };
        assert_eq!(needs_filter_only(&query, keys), *wanted, "{text:?} {sort:?}");
    }
}

#[test]
fn palettes_are_stable_and_seeded() {
    let keys = ["b", "a", "c", "a"];
    let role = palette_indices(keys, Palette::Role, 30);
    assert_eq!(role.get("a"), Some(&22));
    assert_eq!(role.get("c"), Some(&24));
    let sha = palette_indices(keys, Palette::Override, 2);
    assert_eq!((sha["a"], sha["b"], sha["c"]), (0, 1, 0));
    assert!(palette_indices(keys, Palette::Vault, 0).is_empty());
}

#[test]
fn record_lookups() {
    let at = |s: i64| ago(s);
    let branch =
        |ts, sha: &str| BranchRef { owner: "o".into(), repo: "r".into(), branch: "b".into(), ts, sha: sha.into() };
    let refs = ref_map(&[branch(at(10), "new"), branch(at(100), "old")]);
    assert_eq!(
        refs.get(&RefKey { owner: "o".into(), repo: "r".into(), branch: "b".into() }).map(String::as_str),
        Some("new")
    );

    let pool = |ts, hash: &str| WindowsPool { pool_name: "win11".into(), ts, hash: hash.into() };
    assert_eq!(pool_hashes(&[pool(at(100), "old"), pool(at(10), "new")])["win11"], "new");

    let workers = [
        worker(|w| w.ts = at(100)),
        worker(|w| {
            w.ts = at(10);
            w.host = "T-LINUX64-MS-001".into();
        }),
        worker(|w| {
            w.host = "other.example".into();
            w.worker_id = "other".into();
        }),
    ];
    let index = WorkerIndex::new(&workers);
    assert_eq!(index.get(HOST).map(|w| w.ts), Some(at(10)));
    assert!(index.get("nobody.example").is_none());
}

#[test]
fn query_reads_rows() {
    use crate::query::{SortKey, parse, sort_rows};
    let world = World::standard();
    let w = worker(|w| w.last_date_active = Some(ago(7200)));
    let on_branch = world.ok_row(linux(json!({"override_present": true, "override_sha256": "abc123"})), Some(&w));
    let plain = world.ok_row(linux(json!({})), None);
    for column in Column::ALL {
        assert!(on_branch.field(column).is_some(), "{column}");
    }
    let matches = |q: &str, row: &Row| parse(q).unwrap().matches(row);
    assert!(matches("ovr_bch=test-branch", &on_branch));
    assert!(!matches("ovr_bch=test-branch", &plain));
    assert!(matches("tc_act>1h", &on_branch));
    assert!(matches("data<10m", &on_branch));
    assert!(matches("sha=", &plain));
    let mut rows = vec![plain.clone(), on_branch.clone()];
    sort_rows(&mut rows, &[SortKey::asc(Column::OvrBch)]);
    assert_eq!(rows[0].ovr_bch.text, on_branch.ovr_bch.text, "no override sorts last");
}
