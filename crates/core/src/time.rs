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

#[cfg(test)]
mod tests {
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
