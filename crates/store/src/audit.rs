//! The audit trail: appends that extend the hash chain, reads, verification.

use fleetroll_core::audit::{AuditEntry, AuditRecord, ChainBreak, ChainVerifier, VerifiedChain};
use fleetroll_core::time;
use serde_json::Value;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Dialect, Store, StoreError};

/// Records read per query while verifying or exporting.
pub const AUDIT_PAGE: i64 = 1_000;
/// Records per INSERT statement (nine parameters each).
const RECORDS_PER_STATEMENT: usize = 200;

impl Store {
    /// Appends `entries` to the trail in one transaction and returns them as
    /// stored. Concurrent appends (other processes, other replicas) wait on
    /// the head row, so each sees the hash the one before it wrote.
    pub async fn append_audit(&self, entries: Vec<AuditEntry>) -> Result<Vec<AuditRecord>, StoreError> {
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let count = i64::try_from(entries.len()).expect("a batch fits in i64");
        let mut tx = self.pool.begin().await?;
        // The UPDATE comes first so SQLite takes its write lock at once rather
        // than upgrading a read lock later, which could fail with SQLITE_BUSY.
        let head = sqlx::query("UPDATE audit_head SET seq = seq + $1 WHERE id = 1 RETURNING seq, hash")
            .bind(count)
            .fetch_one(&mut *tx)
            .await?;
        let last_seq: i64 = head.try_get("seq")?;
        let mut prev_hash: String = head.try_get("hash")?;
        let mut records = Vec::with_capacity(entries.len());
        for (seq, mut entry) in (last_seq - count + 1..).zip(entries) {
            entry.ts = time::truncate_to_micros(entry.ts);
            let record = AuditRecord::chain(seq, &prev_hash, entry);
            prev_hash.clone_from(&record.hash);
            records.push(record);
        }
        for chunk in records.chunks(RECORDS_PER_STATEMENT) {
            insert_records(&mut tx, self.dialect(), chunk).await?;
        }
        sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1").bind(prev_hash).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(records)
    }

    /// Up to `limit` records after record number `after_seq`, oldest first.
    pub async fn audit_records(&self, after_seq: i64, limit: i64) -> Result<Vec<AuditRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, ts, actor, action, hosts, parameters, result, prev_hash, hash
             FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after_seq)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(decode_record).collect()
    }

    /// The number and hash of the newest record (0 and the genesis hash when
    /// the trail is empty).
    pub async fn audit_head(&self) -> Result<(i64, String), StoreError> {
        let row = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1").fetch_one(&self.pool).await?;
        Ok((row.try_get("seq")?, row.try_get("hash")?))
    }

    /// Walks the whole trail and checks every link. The outer error means the
    /// trail could not be read; the inner one says where the chain breaks.
    pub async fn verify_audit(&self) -> Result<Result<VerifiedChain, ChainBreak>, StoreError> {
        let (head_seq, head_hash) = self.audit_head().await?;
        let mut verifier = ChainVerifier::default();
        let mut after = 0;
        loop {
            let page = self.audit_records(after, AUDIT_PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            for record in page.iter().take_while(|record| record.seq <= head_seq) {
                if let Err(broken) = verifier.check(record) {
                    return Ok(Err(broken));
                }
            }
            if after >= head_seq {
                break;
            }
        }
        Ok(verifier.finish(head_seq, &head_hash))
    }
}

async fn insert_records(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    dialect: Dialect,
    records: &[AuditRecord],
) -> Result<(), StoreError> {
    const COLUMNS: usize = 9;
    let values: Vec<String> = (0..records.len())
        .map(|r| {
            let params: Vec<String> = (1..=COLUMNS).map(|c| dialect.param(r * COLUMNS + c)).collect();
            format!("({})", params.join(", "))
        })
        .collect();
    let sql = format!(
        "INSERT INTO audit_log (seq, ts, actor, action, hosts, parameters, result, prev_hash, hash) VALUES {}",
        values.join(", ")
    );
    let mut query = sqlx::query(&sql);
    for record in records {
        let entry = &record.entry;
        query = query
            .bind(record.seq)
            .bind(entry.ts.timestamp_micros())
            .bind(entry.actor.clone())
            .bind(entry.action.clone())
            .bind(Value::from(entry.hosts.clone()).to_string())
            .bind(entry.parameters.to_string())
            .bind(entry.result.to_string())
            .bind(record.prev_hash.clone())
            .bind(record.hash.clone());
    }
    query.execute(&mut **tx).await?;
    Ok(())
}

fn decode_record(row: &AnyRow) -> Result<AuditRecord, StoreError> {
    let seq: i64 = row.try_get("seq")?;
    let corrupt = |message: String| StoreError::Corrupt { table: "audit_log", id: seq, message };
    let json = |column: &str| -> Result<Value, StoreError> {
        let text: String = row.try_get(column)?;
        serde_json::from_str(&text).map_err(|err| corrupt(format!("{column}: {err}")))
    };
    let hosts = match json("hosts")? {
        Value::Array(items) => items.into_iter().map(|h| h.as_str().map(str::to_owned)).collect::<Option<Vec<_>>>(),
        _ => None,
    }
    .ok_or_else(|| corrupt("hosts: not a list of names".to_owned()))?;
    let micros: i64 = row.try_get("ts")?;
    Ok(AuditRecord {
        seq,
        entry: AuditEntry {
            ts: time::from_micros(micros).ok_or_else(|| corrupt(format!("ts {micros} is out of range")))?,
            actor: row.try_get("actor")?,
            action: row.try_get("action")?,
            hosts,
            parameters: json("parameters")?,
            result: json("result")?,
        },
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}
