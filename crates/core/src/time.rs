//! Timestamps as fleetroll keeps them: UTC, microsecond precision.
//!
//! PostgreSQL keeps microseconds and SQLite keeps whatever we give it, so every
//! timestamp is truncated to microseconds before it is stored or hashed; a value
//! then reads back from either backend exactly as it was written.

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};

/// A UTC instant with microsecond precision.
pub type Timestamp = DateTime<Utc>;

/// Truncates `ts` to whole microseconds.
pub fn truncate_to_micros(ts: Timestamp) -> Timestamp {
    from_micros(ts.timestamp_micros()).expect("a valid timestamp stays valid when truncated")
}

/// Reads microseconds since the Unix epoch; `None` when out of chrono's range.
pub fn from_micros(micros: i64) -> Option<Timestamp> {
    Utc.timestamp_micros(micros).single()
}

/// RFC 3339 with microseconds and a `Z` suffix: the canonical wire form.
pub fn to_rfc3339(ts: Timestamp) -> String {
    ts.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// The MVP's `ts` form: whole seconds and `+00:00` (`2026-01-21T21:52:57+00:00`).
pub fn to_mvp(ts: Timestamp) -> String {
    ts.to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// The smallest unit [`humanize_duration`] shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MinUnit {
    Seconds,
    /// Under a minute shows as `<1m` (ages of data, where seconds are noise).
    Minutes,
}

/// Durations as the monitor shows them (reference §8.2): `59s`, `59m`,
/// `2h 02m`, `1d 01h`; negative clamps to zero; `None` is `-`.
pub fn humanize_duration(seconds: Option<i64>, min_unit: MinUnit) -> String {
    let Some(seconds) = seconds else { return "-".to_owned() };
    let s = seconds.max(0);
    match s {
        _ if s < 60 && min_unit == MinUnit::Minutes => "<1m".to_owned(),
        _ if s < 60 => format!("{s}s"),
        _ if s < 3600 => format!("{}m", s / 60),
        _ if s < 86_400 => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d {:02}h", s / 86_400, (s % 86_400) / 3600),
    }
}

#[cfg(test)]
mod tests {
    /// §9.1 item 13.
    #[test]
    fn humanized_durations() {
        let cases = [
            (Some(59), MinUnit::Seconds, "59s"),
            (Some(3599), MinUnit::Seconds, "59m"),
            (Some(7325), MinUnit::Seconds, "2h 02m"),
            (Some(90061), MinUnit::Seconds, "1d 01h"),
            (Some(30), MinUnit::Minutes, "<1m"),
            (Some(-10), MinUnit::Seconds, "0s"),
            (None, MinUnit::Seconds, "-"),
        ];
        for (seconds, unit, text) in cases {
            assert_eq!(humanize_duration(seconds, unit), text, "{seconds:?}");
        }
    }

    use super::*;

    #[test]
    fn truncation_drops_nanoseconds_only() {
        let ts = Utc.timestamp_opt(1_706_186_096, 123_456_789).unwrap();
        assert_eq!(to_rfc3339(truncate_to_micros(ts)), "2024-01-25T12:34:56.123456Z");
    }

    #[test]
    fn mvp_form_has_seconds_and_offset() {
        let ts = Utc.timestamp_opt(1_706_186_096, 500_000_000).unwrap();
        assert_eq!(to_mvp(ts), "2024-01-25T12:34:56+00:00");
    }

    #[test]
    fn micros_round_trip() {
        let ts = truncate_to_micros(Utc::now());
        assert_eq!(from_micros(ts.timestamp_micros()), Some(ts));
    }
}
