//! The audit trail: append-only records of every change, chained by hash.
//!
//! Each record carries the SHA-256 of its predecessor, and its own hash covers
//! its content and that link. Editing, removing or reordering a stored record
//! therefore breaks the chain at that point, and [`ChainVerifier`] names the
//! first record where it breaks. Truncating the newest records is caught by
//! comparing with the head the store keeps beside the trail; an operator who
//! copies the head hash elsewhere (it is printed by `audit-log verify`) can
//! also detect a trail rewritten from scratch.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::time::{self, Timestamp};

/// The `prev_hash` of the first record.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What the caller says about a change; the store adds the sequence and hashes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub ts: Timestamp,
    /// Who made the change (`FLEETROLL_ACTOR`, `SUDO_USER`, `USER`).
    pub actor: String,
    /// Dotted action name, as in the MVP: `host.set_override`, `store.maintain`.
    pub action: String,
    pub hosts: Vec<String>,
    /// What was asked for. Never secrets: vault contents are not recorded.
    pub parameters: Value,
    /// What happened: `ok`, and whatever the action observed.
    pub result: Value,
}

/// A stored audit record: an entry with its place and links in the chain.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub seq: i64,
    #[serde(flatten)]
    pub entry: AuditEntry,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditRecord {
    /// Links `entry` after the record numbered `seq - 1` whose hash is `prev_hash`.
    pub fn chain(seq: i64, prev_hash: &str, entry: AuditEntry) -> AuditRecord {
        let hash = record_hash(seq, prev_hash, &entry);
        AuditRecord { seq, entry, prev_hash: prev_hash.to_owned(), hash }
    }

    /// One line of the MVP's `audit.jsonl`: the result's fields at the top
    /// level beside `action`, `actor`, `ts` and `parameters`; `host` when the
    /// change touched one host. `hosts`, `seq`, `prev_hash` and `hash` are
    /// added, so an export can be checked against the store.
    pub fn to_mvp_json(&self) -> Value {
        let mut line = match &self.entry.result {
            Value::Object(fields) => fields.clone(),
            other => Map::from_iter([("result".to_owned(), other.clone())]),
        };
        let entry = &self.entry;
        line.insert("action".into(), entry.action.clone().into());
        line.insert("actor".into(), entry.actor.clone().into());
        line.insert("ts".into(), time::to_mvp(entry.ts).into());
        line.insert("parameters".into(), entry.parameters.clone());
        if let [host] = entry.hosts.as_slice() {
            line.insert("host".into(), host.clone().into());
        }
        line.insert("hosts".into(), entry.hosts.clone().into());
        line.insert("seq".into(), self.seq.into());
        line.insert("prev_hash".into(), self.prev_hash.clone().into());
        line.insert("hash".into(), self.hash.clone().into());
        Value::Object(line)
    }
}

impl AuditEntry {
    /// Reads one line of an MVP `audit.jsonl` (or of our own export): `action`
    /// and `ts` are required; `host` or `hosts` name the hosts; `parameters`
    /// is kept as is; every other field (`ok`, `ssh_rc`, `stderr`, `observed`,
    /// `error`, …) becomes the result. The chain fields of an export are
    /// dropped, since the importing trail links the entry anew.
    pub fn from_mvp_json(line: &str) -> Result<AuditEntry, String> {
        let mut fields = match serde_json::from_str(line) {
            Ok(Value::Object(fields)) => fields,
            Ok(_) => return Err("not a JSON object".to_owned()),
            Err(err) => return Err(format!("not JSON: {err}")),
        };
        let mut take_string = |key: &str| match fields.remove(key) {
            Some(Value::String(text)) => Ok(Some(text)),
            None | Some(Value::Null) => Ok(None),
            Some(other) => Err(format!("`{key}` must be a string, not {other}")),
        };
        let action = take_string("action")?.ok_or("`action` is missing")?;
        let actor = take_string("actor")?.unwrap_or_else(|| "unknown".to_owned());
        let ts_text = take_string("ts")?.ok_or("`ts` is missing")?;
        let ts = chrono::DateTime::parse_from_rfc3339(&ts_text)
            .map_err(|err| format!("`ts` {ts_text:?} is not an RFC 3339 time: {err}"))?
            .with_timezone(&chrono::Utc);
        let host = take_string("host")?;
        let hosts = match (fields.remove("hosts"), host) {
            (Some(Value::Array(items)), _) => items
                .into_iter()
                .map(|item| item.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or("`hosts` must be a list of names")?,
            (Some(other), _) if !other.is_null() => return Err("`hosts` must be a list of names".to_owned()),
            (_, Some(host)) => vec![host],
            (_, None) => Vec::new(),
        };
        let parameters = fields.remove("parameters").unwrap_or_else(|| Value::Object(Map::new()));
        for chain_field in ["seq", "prev_hash", "hash"] {
            fields.remove(chain_field);
        }
        let result = match fields.remove("result") {
            Some(result) if fields.is_empty() => result,
            Some(result) => {
                fields.insert("result".to_owned(), result);
                Value::Object(fields)
            }
            None => Value::Object(fields),
        };
        Ok(AuditEntry { ts: time::truncate_to_micros(ts), actor, action, hosts, parameters, result })
    }
}

/// The hash of a record: SHA-256 over the canonical JSON of its content.
pub fn record_hash(seq: i64, prev_hash: &str, entry: &AuditEntry) -> String {
    let content = serde_json::json!({
        "seq": seq,
        "prev_hash": prev_hash,
        "ts": time::to_rfc3339(entry.ts),
        "actor": entry.actor,
        "action": entry.action,
        "hosts": entry.hosts,
        "parameters": entry.parameters,
        "result": entry.result,
    });
    let mut canonical = String::new();
    write_canonical(&content, &mut canonical);
    hex::encode(Sha256::digest(canonical.as_bytes()))
}

/// Writes JSON with object keys sorted at every depth and no whitespace, so
/// the hash does not depend on how serde_json orders maps in this build.
fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(fields) => {
            let mut keys: Vec<&String> = fields.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write!(out, "{}:", Value::String(key.clone())).expect("writing to a String");
                write_canonical(&fields[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => write!(out, "{scalar}").expect("writing to a String"),
    }
}

/// Where and why the chain is broken.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    #[error("record {found} follows record {expected_prev}: records are missing or reordered")]
    Gap { expected_prev: i64, found: i64 },
    #[error("record {seq} does not link to the record before it (prev_hash differs)")]
    BrokenLink { seq: i64 },
    #[error("record {seq} was altered: its content does not match its hash")]
    Altered { seq: i64 },
    #[error("the trail ends at record {last_seq} but the store's head says {head_seq}: records were removed")]
    Truncated { last_seq: i64, head_seq: i64 },
    #[error("the trail's last hash does not match the store's head: the newest record was replaced")]
    HeadMismatch,
}

/// Checks records fed in sequence order, one page at a time.
#[derive(Debug)]
pub struct ChainVerifier {
    last_seq: i64,
    last_hash: String,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        ChainVerifier { last_seq: 0, last_hash: GENESIS_HASH.to_owned() }
    }
}

impl ChainVerifier {
    /// Checks the next record; records must come in ascending `seq` from 1.
    pub fn check(&mut self, record: &AuditRecord) -> Result<(), ChainBreak> {
        if record.seq != self.last_seq + 1 {
            return Err(ChainBreak::Gap { expected_prev: self.last_seq, found: record.seq });
        }
        if record.prev_hash != self.last_hash {
            return Err(ChainBreak::BrokenLink { seq: record.seq });
        }
        if record_hash(record.seq, &record.prev_hash, &record.entry) != record.hash {
            return Err(ChainBreak::Altered { seq: record.seq });
        }
        self.last_seq = record.seq;
        self.last_hash.clone_from(&record.hash);
        Ok(())
    }

    /// Checks that the trail ended where the store's head says it does.
    pub fn finish(self, head_seq: i64, head_hash: &str) -> Result<VerifiedChain, ChainBreak> {
        if self.last_seq != head_seq {
            return Err(ChainBreak::Truncated { last_seq: self.last_seq, head_seq });
        }
        if self.last_hash != head_hash {
            return Err(ChainBreak::HeadMismatch);
        }
        Ok(VerifiedChain { records: self.last_seq, head_hash: self.last_hash })
    }
}

/// A trail that verified: how many records, and the hash of the newest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VerifiedChain {
    pub records: i64,
    pub head_hash: String,
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use chrono::Utc;
    use serde_json::json;

    use super::*;

    fn entry(n: i64) -> AuditEntry {
        AuditEntry {
            ts: Utc.timestamp_opt(1_706_186_096 + n, 0).unwrap(),
            actor: "ops".into(),
            action: "host.set_override".into(),
            hosts: vec![format!("t-linux64-ms-{n:03}.test.releng.mdc1.mozilla.com")],
            parameters: json!({"sha256": "ab", "reason": "canary"}),
            result: json!({"ok": true, "observed": {"content_changed": true}}),
        }
    }

    fn chain(n: i64) -> Vec<AuditRecord> {
        let mut prev = GENESIS_HASH.to_owned();
        (1..=n)
            .map(|seq| {
                let rec = AuditRecord::chain(seq, &prev, entry(seq));
                prev.clone_from(&rec.hash);
                rec
            })
            .collect()
    }

    fn verify(records: &[AuditRecord], head_seq: i64, head_hash: &str) -> Result<VerifiedChain, ChainBreak> {
        let mut verifier = ChainVerifier::default();
        for rec in records {
            verifier.check(rec)?;
        }
        verifier.finish(head_seq, head_hash)
    }

    #[test]
    fn intact_chain_verifies() {
        let records = chain(5);
        let head = records[4].hash.clone();
        assert_eq!(verify(&records, 5, &head), Ok(VerifiedChain { records: 5, head_hash: head }));
    }

    #[test]
    fn empty_chain_verifies_against_genesis() {
        assert!(verify(&[], 0, GENESIS_HASH).is_ok());
    }

    #[test]
    fn tampering_is_named_at_the_first_broken_record() {
        type Tamper = fn(&mut Vec<AuditRecord>);
        let cases: [(&str, Tamper, ChainBreak); 5] = [
            (
                "edited parameters",
                |r| r[2].entry.parameters = json!({"reason": "other"}),
                ChainBreak::Altered { seq: 3 },
            ),
            ("edited actor", |r| r[0].entry.actor = "mallory".into(), ChainBreak::Altered { seq: 1 }),
            ("removed record", |r| drop(r.remove(1)), ChainBreak::Gap { expected_prev: 1, found: 3 }),
            ("swapped records", |r| r.swap(1, 2), ChainBreak::Gap { expected_prev: 1, found: 3 }),
            (
                "rehashed edit",
                |r| {
                    r[1].entry.result = json!({"ok": false});
                    r[1].hash = record_hash(2, &r[1].prev_hash, &r[1].entry);
                },
                ChainBreak::BrokenLink { seq: 3 },
            ),
        ];
        for (name, tamper, expected) in cases {
            let mut records = chain(5);
            let head = records[4].hash.clone();
            tamper(&mut records);
            assert_eq!(verify(&records, 5, &head), Err(expected), "{name}");
        }
    }

    #[test]
    fn truncation_is_caught_by_the_head() {
        let records = chain(5);
        let head = records[4].hash.clone();
        assert_eq!(verify(&records[..4], 5, &head), Err(ChainBreak::Truncated { last_seq: 4, head_seq: 5 }));
    }

    #[test]
    fn hash_ignores_map_order() {
        let mut a = entry(1);
        let mut b = entry(1);
        a.parameters = serde_json::from_str(r#"{"x":1,"y":{"b":2,"a":1}}"#).unwrap();
        b.parameters = serde_json::from_str(r#"{"y":{"a":1,"b":2},"x":1}"#).unwrap();
        assert_eq!(record_hash(1, GENESIS_HASH, &a), record_hash(1, GENESIS_HASH, &b));
    }

    #[test]
    fn mvp_line_keeps_the_mvp_keys() {
        let rec = &chain(1)[0];
        let line = rec.to_mvp_json();
        assert_eq!(line["action"], "host.set_override");
        assert_eq!(line["actor"], "ops");
        assert_eq!(line["host"], "t-linux64-ms-001.test.releng.mdc1.mozilla.com");
        assert_eq!(line["ok"], true);
        assert_eq!(line["observed"]["content_changed"], true);
        assert_eq!(line["parameters"]["reason"], "canary");
        assert_eq!(line["ts"], "2024-01-25T12:34:57+00:00");
        assert_eq!(line["hash"], rec.hash.as_str());
    }

    #[test]
    fn mvp_lines_import() {
        let line = r#"{"action":"host.set_override","actor":"alice","host":"h1.example","ok":true,"ssh_rc":0,"stderr":"","ts":"2026-01-21T21:52:57+00:00","observed":{"content_changed":true,"backup_path":null},"parameters":{"sha256":"ab","reason":"canary"}}"#;
        let entry = AuditEntry::from_mvp_json(line).unwrap();
        assert_eq!(entry.action, "host.set_override");
        assert_eq!(entry.actor, "alice");
        assert_eq!(entry.hosts, ["h1.example"]);
        assert_eq!(time::to_mvp(entry.ts), "2026-01-21T21:52:57+00:00");
        assert_eq!(entry.parameters, json!({"sha256": "ab", "reason": "canary"}));
        assert_eq!(
            entry.result,
            json!({"ok": true, "ssh_rc": 0, "stderr": "", "observed": {"content_changed": true, "backup_path": null}})
        );
    }

    #[test]
    fn export_then_import_gives_the_same_entry() {
        let record = chain(1).remove(0);
        let line = record.to_mvp_json().to_string();
        let mut expected = record.entry;
        expected.ts = time::truncate_to_micros(expected.ts);
        assert_eq!(AuditEntry::from_mvp_json(&line), Ok(expected));
    }

    #[test]
    fn bad_mvp_lines_say_why() {
        let cases = [
            ("", "not JSON"),
            ("[1]", "not a JSON object"),
            (r#"{"ts":"2026-01-21T21:52:57+00:00"}"#, "`action` is missing"),
            (r#"{"action":"a"}"#, "`ts` is missing"),
            (r#"{"action":"a","ts":"yesterday"}"#, "not an RFC 3339 time"),
            (r#"{"action":1,"ts":"2026-01-21T21:52:57+00:00"}"#, "`action` must be a string"),
            (r#"{"action":"a","ts":"2026-01-21T21:52:57Z","hosts":"h"}"#, "`hosts` must be a list"),
        ];
        for (line, message) in cases {
            let err = AuditEntry::from_mvp_json(line).unwrap_err();
            assert!(err.contains(message), "{line}: {err}");
        }
    }

    #[test]
    fn mvp_line_omits_host_for_several() {
        let mut rec = chain(1).remove(0);
        rec.entry.hosts = vec!["a.example".into(), "b.example".into()];
        let line = rec.to_mvp_json();
        assert!(line.get("host").is_none());
        assert_eq!(line["hosts"], json!(["a.example", "b.example"]));
    }
}
