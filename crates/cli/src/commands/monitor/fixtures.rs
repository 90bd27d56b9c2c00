//! Rows for the live monitor's unit tests, built by core as the store's
//! data would be.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone as _, Utc};
use fleetroll_core::gather::{Failure, FailureClass};
use fleetroll_core::query::{self, Query};
use fleetroll_core::records::HostObservation;
use fleetroll_core::rows::{self, Context, HostData};
use serde_json::json;

use super::app::{App, Snapshot, Sort};
use super::view::PALETTE;

pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0).single().expect("a valid date")
}

/// `count` hosts `h01…`; odd ones are talos, even ones ms, every third
/// failed its last audit (and has an older good one), every fourth has an
/// override, every fifth is a Mac and every seventh Windows.
pub fn snapshot(count: usize) -> Snapshot {
    snapshot_aged(count, Duration::zero())
}

/// As [`snapshot`], with every audit `age` older.
pub fn snapshot_aged(count: usize, age: Duration) -> Snapshot {
    let observations: Vec<(String, _, _)> = (1..=count)
        .map(|i| {
            let host = format!("h{i:02}.test.example");
            let role = if i % 2 == 1 { "gecko_t_linux_talos" } else { "gecko_t_linux_ms" };
            let os = match i {
                i if i % 5 == 0 => "Darwin",
                i if i % 7 == 0 => "Windows",
                _ => "Linux",
            };
            let override_sha = (i % 4 == 0).then(|| "ab".repeat(32));
            let good = HostObservation {
                host: host.clone(),
                ts: now() - age - Duration::seconds(60 * i64::try_from(i).expect("small")),
                ok: true,
                observed: json!({
                    "role": role, "role_present": true, "os_type": os, "uptime_s": 7200,
                    "override_present": override_sha.is_some(), "override_sha256": override_sha,
                }),
                ssh_rc: Some(0),
                failure: None,
            };
            let latest = if i % 3 == 0 {
                let failure = Failure { class: FailureClass::Timeout, message: "no answer".into() };
                let ts = good.ts + Duration::seconds(30);
                HostObservation {
                    ts,
                    ok: false,
                    observed: json!({}),
                    ssh_rc: None,
                    failure: Some(failure),
                    ..good.clone()
                }
            } else {
                good.clone()
            };
            // Into whatever record type rows are built from.
            (host, latest.into(), good.into())
        })
        .collect();
    let empty = BTreeMap::new();
    let (refs, pools, overrides) = (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
    let ctx = Context {
        now: now(),
        refs: &refs,
        windows_pools: &pools,
        overrides: &overrides,
        vault_names: &empty,
        fqdn_suffix: None,
        filter_only: true,
    };
    let data: Vec<HostData<'_>> = observations
        .iter()
        .map(|(host, latest, good)| HostData { host, latest: Some(latest), last_ok: Some(good), ..HostData::default() })
        .collect();
    let newest = observations.iter().map(|(_, latest, _)| latest.ts).max();
    let newest_ok = observations.iter().map(|(_, _, good)| good.ts).max();
    Snapshot { rows: rows::build_rows(&data, &ctx), newest, newest_ok, now: now() }
}

pub fn app(count: usize, filter: &str) -> App {
    let query: Query = query::parse(filter).expect("a valid filter");
    let sort = Sort::new(query::parse_sort_spec("host").expect("host sorts"), "host");
    App::new(snapshot(count), filter.to_owned(), query, sort, PALETTE.len())
}
