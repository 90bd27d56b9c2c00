//! Notes on hosts: appended, read back per host in order.

use std::collections::BTreeMap;

use fleetroll_core::notes::NoteRecord;
use sqlx::Row;

use crate::{Store, StoreError};

impl Store {
    /// Appends a note record (an added note or a clear).
    pub async fn add_note(&self, record: &NoteRecord) -> Result<(), StoreError> {
        let data = serde_json::to_string(record).map_err(|source| StoreError::Encode { table: "notes", source })?;
        let dialect = self.dialect();
        let sql = format!(
            "INSERT INTO notes (host, ts, data) VALUES ({}, {}, {})",
            dialect.param(1),
            dialect.param(2),
            dialect.json_param(3)
        );
        sqlx::query(&sql)
            .bind(record.host.clone())
            .bind(record.ts.timestamp_micros())
            .bind(data)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Every note record, per host, oldest first.
    pub async fn notes(&self) -> Result<BTreeMap<String, Vec<NoteRecord>>, StoreError> {
        let sql = format!("SELECT id, {} AS data FROM notes ORDER BY host, ts, id", self.dialect().json_column());
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        let mut notes: BTreeMap<String, Vec<NoteRecord>> = BTreeMap::new();
        for row in &rows {
            let id: i64 = row.try_get("id")?;
            let data: String = row.try_get("data")?;
            let record: NoteRecord = serde_json::from_str(&data).map_err(|err| StoreError::Corrupt {
                table: "notes",
                id,
                message: err.to_string(),
            })?;
            notes.entry(record.host.clone()).or_default().push(record);
        }
        Ok(notes)
    }
}
