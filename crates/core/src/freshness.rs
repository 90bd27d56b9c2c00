//! `data-freshness`: is the stored picture of the fleet recent enough to act
//! on? The MVP's thresholds, statuses and JSON keys (reference §3.1).

use serde::Serialize;

use crate::time::{MinUnit, Timestamp, humanize_duration};

/// A host is fresh when its newest good observation is at most this old.
pub const DEFAULT_STALE_THRESHOLD_S: i64 = 3600;
/// The fleet is fresh when at least this share of hosts is.
pub const DEFAULT_MIN_FRESH_PCT: f64 = 80.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Fresh,
    Stale,
    NoData,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Freshness {
    pub status: Status,
    pub host_source: String,
    pub most_recent_ok_ts: Option<String>,
    pub ok_age_seconds: Option<i64>,
    pub ok_age_human: String,
    pub hosts_total: usize,
    pub hosts_with_ok: usize,
    pub hosts_fresh: usize,
    pub fresh_pct: f64,
    pub min_fresh_pct: f64,
    pub stale_threshold_seconds: i64,
}

/// `last_ok` holds each host's newest good observation time (`None` when it
/// has none). `no_data` when there are no hosts or no good observations.
pub fn assess(
    host_source: &str,
    last_ok: &[Option<Timestamp>],
    now: Timestamp,
    threshold_s: i64,
    min_pct: f64,
) -> Freshness {
    let seen: Vec<Timestamp> = last_ok.iter().flatten().copied().collect();
    let most_recent = seen.iter().max().copied();
    let fresh = seen.iter().filter(|ts| (now - **ts).num_seconds() <= threshold_s).count();
    let pct = if last_ok.is_empty() { 0.0 } else { (fresh as f64 * 1000.0 / last_ok.len() as f64).round() / 10.0 };
    let status = match most_recent {
        None => Status::NoData,
        Some(_) if pct >= min_pct => Status::Fresh,
        Some(_) => Status::Stale,
    };
    let age = most_recent.map(|ts| (now - ts).num_seconds());
    Freshness {
        status,
        host_source: host_source.to_owned(),
        most_recent_ok_ts: most_recent.map(crate::time::to_mvp),
        ok_age_seconds: age,
        ok_age_human: humanize_duration(age, MinUnit::Seconds),
        hosts_total: last_ok.len(),
        hosts_with_ok: seen.len(),
        hosts_fresh: fresh,
        fresh_pct: pct,
        min_fresh_pct: min_pct,
        stale_threshold_seconds: threshold_s,
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone, Utc};

    use super::*;

    /// §9.1 item 21, and the edges.
    #[test]
    fn statuses() {
        let now = Utc.timestamp_opt(1_800_000_000, 0).unwrap();
        let fresh = Some(now - Duration::minutes(10));
        let stale = Some(now - Duration::hours(3));
        let cases: [(Vec<Option<Timestamp>>, Status, f64); 5] = [
            (vec![fresh, fresh, fresh, fresh, stale], Status::Fresh, 80.0),
            (vec![fresh, stale, stale, stale, stale], Status::Stale, 20.0),
            (vec![None, None], Status::NoData, 0.0),
            (vec![], Status::NoData, 0.0),
            (vec![fresh, fresh, None], Status::Stale, 66.7),
        ];
        for (hosts, status, pct) in cases {
            let report = assess("--all", &hosts, now, DEFAULT_STALE_THRESHOLD_S, DEFAULT_MIN_FRESH_PCT);
            assert_eq!((report.status, report.fresh_pct), (status, pct), "{hosts:?}");
        }
        let exact = assess("f", &[Some(now - Duration::seconds(3600))], now, 3600, 80.0);
        assert_eq!(exact.hosts_fresh, 1, "exactly at the threshold is fresh");
        assert_eq!(exact.ok_age_human, "1h 00m");
    }
}
