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

/// Reads an RFC 3339 timestamp as the store writes them
/// (`2026-11-22T12:31:32.633410Z`, any number of fraction digits up to
/// nine, `Z` or `+00:00`) with no general parser; any other form, or a
/// value out of these bounds, goes to chrono's parser, so what is accepted
/// and how it reads is exactly chrono's. A fleet's records hold hundreds
/// of thousands of timestamps, and chrono's general parser was the largest
/// single cost of decoding them.
pub fn parse_rfc3339(text: &str) -> Result<Timestamp, chrono::ParseError> {
    match parse_canonical(text.as_bytes()) {
        Some(ts) => Ok(ts),
        None => text.parse(),
    }
}

/// The store's own form, or `None` for anything else (left to chrono).
fn parse_canonical(text: &[u8]) -> Option<Timestamp> {
    let (date_time, zone) = text.split_at_checked(19)?;
    let [y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1, b'T', h0, h1, b':', n0, n1, b':', s0, s1] = *date_time else {
        return None;
    };
    let digits = |pair: &[u8]| -> Option<i64> {
        pair.iter().try_fold(0_i64, |acc, &b| b.is_ascii_digit().then(|| acc * 10 + i64::from(b - b'0')))
    };
    let year = digits(&[y0, y1, y2, y3])?;
    let (month, day) = (digits(&[m0, m1])?, digits(&[d0, d1])?);
    let (hour, minute, second) = (digits(&[h0, h1])?, digits(&[n0, n1])?, digits(&[s0, s1])?);
    let (nanos, zone) = match zone.split_first() {
        Some((b'.', rest)) => {
            let count = rest.iter().take_while(|b| b.is_ascii_digit()).count();
            if count == 0 || count > 9 {
                return None;
            }
            let fraction = digits(&rest[..count])? * 10_i64.pow(9 - count as u32);
            (fraction, &rest[count..])
        }
        _ => (0, zone),
    };
    // Leap seconds and impossible dates are chrono's to judge.
    if zone != b"Z" && zone != b"+00:00" || !(1..=12).contains(&month) || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    if day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let seconds = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
    DateTime::from_timestamp(seconds, u32::try_from(nanos).ok()?)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a proleptic Gregorian date (the civil-from-days
/// algorithm run backwards: years counted from March, in 400-year eras).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// `#[serde(deserialize_with = "time::serde_rfc3339::required")]` (or
/// `optional` for an `Option`): a timestamp read by [`parse_rfc3339`].
pub mod serde_rfc3339 {
    use serde::{Deserialize as _, Deserializer, de};

    use super::Timestamp;

    struct Rfc3339;

    impl de::Visitor<'_> for Rfc3339 {
        type Value = Timestamp;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an RFC 3339 timestamp")
        }

        fn visit_str<E: de::Error>(self, text: &str) -> Result<Timestamp, E> {
            super::parse_rfc3339(text).map_err(E::custom)
        }
    }

    pub fn required<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Timestamp, D::Error> {
        deserializer.deserialize_str(Rfc3339)
    }

    pub fn optional<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Timestamp>, D::Error> {
        struct Required(Timestamp);
        impl<'de> serde::Deserialize<'de> for Required {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Required, D::Error> {
                required(deserializer).map(Required)
            }
        }
        Ok(Option::<Required>::deserialize(deserializer)?.map(|Required(ts)| ts))
    }
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

    /// The fast path reads exactly what chrono reads, and leaves to chrono
    /// what it does not take itself.
    #[test]
    fn timestamps_read_as_chrono_reads_them() {
        let cases = [
            "2026-11-22T12:31:32.633410Z",
            "2026-11-22T12:31:32.633410873Z",
            "2026-11-22T12:31:32Z",
            "2026-11-22T12:31:32.5Z",
            "2026-11-22T12:31:32+00:00",
            "2026-11-22T12:31:32.000001+00:00",
            "1970-01-01T00:00:00Z",
            "1969-12-31T23:59:59.999999999Z",
            "2000-02-29T00:00:00Z",
            "2024-02-29T23:59:59Z",
            "2100-03-01T00:00:00Z",
            "1600-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
            "0001-01-01T00:00:00Z",
            "2026-01-31T08:00:00Z",
            "2026-12-31T23:59:59.123Z",
            // Not the store's form: chrono's to read or refuse.
            "2026-11-22T12:31:32+02:00",
            "2026-11-22T12:31:32-05:30",
            "2026-11-22t12:31:32z",
            "2026-11-22 12:31:32Z",
            "2026-11-22T12:31:32.1234567891Z",
            "2016-12-31T23:59:60Z",
            "2023-02-29T00:00:00Z",
            "2100-02-29T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-04-31T00:00:00Z",
            "2026-11-22T24:00:00Z",
            "2026-11-22T12:60:00Z",
            "2026-11-22T12:31:32.Z",
            "2026-11-22T12:31:32",
            "2026-11-22T12:31:32ZZ",
            "2026-11-22T12:31:32+00:00 ",
            "+2026-11-22T12:31:32Z",
            "2026-11-2xT12:31:32Z",
            "",
            "now",
        ];
        for text in cases {
            let chrono = text.parse::<Timestamp>().ok();
            assert_eq!(parse_rfc3339(text).ok(), chrono, "{text:?}");
        }
        // Every 997th day of years 1 to 9999, the four-digit years.
        for day in (-719_162..2_932_897).step_by(997) {
            let ts = DateTime::from_timestamp(day * 86_400 + 45_296, 7_000).unwrap();
            let text = ts.to_rfc3339_opts(SecondsFormat::AutoSi, true);
            assert_eq!(parse_canonical(text.as_bytes()), Some(ts), "{text}");
        }
    }

    #[test]
    fn serde_reads_required_and_optional_timestamps() {
        #[derive(serde::Deserialize)]
        struct Record {
            #[serde(deserialize_with = "serde_rfc3339::required")]
            ts: Timestamp,
            #[serde(default, deserialize_with = "serde_rfc3339::optional")]
            seen: Option<Timestamp>,
        }
        let record: Record = serde_json::from_str(r#"{"ts":"2026-11-22T12:31:32Z","seen":null}"#).unwrap();
        assert_eq!((record.ts.timestamp(), record.seen), (1_795_350_692, None));
        let record: Record = serde_json::from_str(r#"{"ts":"2026-11-22T12:31:32Z"}"#).unwrap();
        assert_eq!(record.seen, None);
        let record: Record =
            serde_json::from_str(r#"{"ts":"2026-11-22T12:31:32Z","seen":"1970-01-01T00:00:01Z"}"#).unwrap();
        assert_eq!(record.seen.map(|ts| ts.timestamp()), Some(1));
        let err = serde_json::from_str::<Record>(r#"{"ts":"yesterday"}"#).err().unwrap();
        assert!(err.to_string().contains("input contains invalid characters"), "{err}");
        assert!(serde_json::from_str::<Record>(r#"{"ts":17}"#).is_err());
    }

    #[test]
    fn micros_round_trip() {
        let ts = truncate_to_micros(Utc::now());
        assert_eq!(from_micros(ts.timestamp_micros()), Some(ts));
    }
}
