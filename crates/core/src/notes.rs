//! Notes on hosts: what operators want each other to know about a machine
//! ("RMA open", "flaky disk"), shown in the monitor until cleared.

use serde::{Deserialize, Serialize};

use crate::time::Timestamp;

/// One note record: a note added, or all notes of the host cleared.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoteRecord {
    pub host: String,
    pub ts: Timestamp,
    pub actor: String,
    #[serde(flatten)]
    pub kind: NoteKind,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action")]
pub enum NoteKind {
    #[serde(rename = "host.note_add")]
    Add { note: String },
    #[serde(rename = "host.note_clear")]
    Clear {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
}

/// The notes added since the last clear, oldest first; `records` must be
/// one host's, oldest first.
pub fn since_last_clear(records: &[NoteRecord]) -> &[NoteRecord] {
    let start = records.iter().rposition(|r| matches!(r.kind, NoteKind::Clear { .. })).map_or(0, |i| i + 1);
    &records[start..]
}

/// What the monitor shows: the newest note since the last clear, prefixed
/// `(N) ` when there are several; `None` when there is none (§9.1 item 20).
pub fn current_note(records: &[NoteRecord]) -> Option<String> {
    let open = since_last_clear(records);
    let NoteKind::Add { note } = &open.last()?.kind else { return None };
    Some(if open.len() > 1 { format!("({}) {note}", open.len()) } else { note.clone() })
}

/// A note needs a fully qualified host name (at least one dot), so that
/// notes attach to the names the audits record.
pub fn validate_host(host: &str) -> Result<(), String> {
    if host.contains('.') { Ok(()) } else { Err(format!("{host:?} is not a fully qualified host name")) }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;

    fn add(n: i64, note: &str) -> NoteRecord {
        NoteRecord {
            host: "h1.example".into(),
            ts: Utc.timestamp_opt(n, 0).unwrap(),
            actor: "ops".into(),
            kind: NoteKind::Add { note: note.into() },
        }
    }

    fn clear(n: i64) -> NoteRecord {
        NoteRecord { kind: NoteKind::Clear { reason: Some("fixed".into()) }, ..add(n, "") }
    }

    /// §9.1 item 20.
    #[test]
    fn current_notes() {
        let cases: [(Vec<NoteRecord>, Option<&str>); 5] = [
            (vec![add(1, "first"), add(2, "second"), add(3, "third note")], Some("(3) third note")),
            (vec![add(1, "old"), clear(2), add(3, "new note")], Some("new note")),
            (vec![add(1, "old"), clear(2)], None),
            (vec![], None),
            (vec![add(1, "only")], Some("only")),
        ];
        for (records, expected) in cases {
            assert_eq!(current_note(&records).as_deref(), expected);
        }
    }

    #[test]
    fn mvp_record_shape() {
        let json = serde_json::to_value(add(1_706_186_096, "RMA open")).unwrap();
        assert_eq!(json["action"], "host.note_add");
        assert_eq!(json["note"], "RMA open");
        let cleared = serde_json::to_value(clear(1)).unwrap();
        assert_eq!(cleared["action"], "host.note_clear");
        assert_eq!(cleared["reason"], "fixed");
    }

    #[test]
    fn hosts_must_be_qualified() {
        assert!(validate_host("t-linux64-ms-001.test.releng.mdc1.mozilla.com").is_ok());
        assert!(validate_host("ms001").unwrap_err().contains("fully qualified"));
    }
}
