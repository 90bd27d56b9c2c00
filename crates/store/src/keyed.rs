//! Keyed tables: batched writes with retention, and newest-per-key reads.
//!
//! The SQL is built from a [`Table`] description, so the four tables share one
//! code path; statements are standard SQL that SQLite and PostgreSQL both run.

use std::collections::{BTreeMap, BTreeSet};

use fleetroll_core::records::HostObservation;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::record::{Record, Table};
use crate::{Dialect, Store, StoreError};

/// Rows per INSERT statement, and keys per prune statement. Both backends
/// allow far more bound parameters; larger statements gain nothing measurable.
const ROWS_PER_STATEMENT: usize = 500;

/// A host's newest observation, and its newest good one when that is older.
#[derive(Clone, Debug, PartialEq)]
pub struct LatestObservation {
    pub latest: HostObservation,
    /// The newest observation with `ok`; `None` when the host has none.
    pub last_ok: Option<HostObservation>,
}

impl Store {
    /// Writes `records` and applies retention to their keys, all in one
    /// transaction.
    pub async fn put<R: Record>(&self, records: &[R]) -> Result<(), StoreError> {
        if records.is_empty() {
            return Ok(());
        }
        let table = &R::TABLE;
        let mut tx = self.pool.begin().await?;
        for chunk in records.chunks(ROWS_PER_STATEMENT) {
            insert_chunk(&mut tx, self.dialect(), chunk).await?;
        }
        let keys: BTreeSet<Vec<&str>> = records.iter().map(Record::key).collect();
        let keys: Vec<Vec<&str>> = keys.into_iter().collect();
        for chunk in keys.chunks(ROWS_PER_STATEMENT) {
            prune_keys(&mut tx, table, chunk, self.retention).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The newest record of every key.
    pub async fn latest<R: Record>(&self) -> Result<Vec<R>, StoreError> {
        self.newest_per_key(false).await
    }

    /// Every host's newest observation and newest good observation.
    pub async fn latest_observations(&self) -> Result<BTreeMap<String, LatestObservation>, StoreError> {
        let mut last_ok: BTreeMap<String, HostObservation> =
            self.newest_per_key::<HostObservation>(true).await?.into_iter().map(|obs| (obs.host.clone(), obs)).collect();
        let latest = self.newest_per_key::<HostObservation>(false).await?;
        Ok(latest
            .into_iter()
            .map(|obs| {
                let last_ok = last_ok.remove(&obs.host);
                (obs.host.clone(), LatestObservation { latest: obs, last_ok })
            })
            .collect())
    }

    /// Every kept record of one key, newest first.
    pub async fn history<R: Record>(&self, key: &[&str]) -> Result<Vec<R>, StoreError> {
        let table = &R::TABLE;
        let condition: Vec<String> =
            table.key_columns.iter().enumerate().map(|(i, column)| format!("{column} = ${}", i + 1)).collect();
        let sql = format!(
            "SELECT id, {data} AS data FROM {name} WHERE {condition} ORDER BY ts DESC, id DESC",
            data = self.dialect().json_column(),
            name = table.name,
            condition = condition.join(" AND "),
        );
        let mut query = sqlx::query(&sql);
        for value in key {
            query = query.bind(*value);
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter().map(|row| decode(table, row)).collect()
    }

    /// How many rows each keyed table holds.
    pub async fn row_counts(&self) -> Result<Vec<(&'static str, i64)>, StoreError> {
        let mut counts = Vec::with_capacity(crate::TABLES.len());
        for table in crate::TABLES {
            let sql = format!("SELECT COUNT(*) FROM {}", table.name);
            counts.push((table.name, sqlx::query_scalar(&sql).fetch_one(&self.pool).await?));
        }
        Ok(counts)
    }

    async fn newest_per_key<R: Record>(&self, only_ok: bool) -> Result<Vec<R>, StoreError> {
        let table = &R::TABLE;
        let sql = format!(
            "SELECT id, data FROM (
                SELECT id, {data} AS data, ROW_NUMBER() OVER (PARTITION BY {keys} ORDER BY ts DESC, id DESC) AS rn
                FROM {name} {filter}
            ) ranked WHERE rn = 1",
            data = self.dialect().json_column(),
            keys = table.key_columns.join(", "),
            name = table.name,
            filter = if only_ok { "WHERE ok" } else { "" },
        );
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        rows.iter().map(|row| decode(table, row)).collect()
    }
}

async fn insert_chunk<R: Record>(tx: &mut Transaction<'_, Any>, dialect: Dialect, records: &[R]) -> Result<(), StoreError> {
    let table = &R::TABLE;
    let mut columns: Vec<&str> = table.key_columns.to_vec();
    columns.push("ts");
    if table.keeps_last_ok {
        columns.push("ok");
    }
    columns.push("data");
    let mut values = Vec::with_capacity(records.len());
    let mut n = 0;
    for _ in records {
        let mut params: Vec<String> = (0..columns.len() - 1)
            .map(|_| {
                n += 1;
                format!("${n}")
            })
            .collect();
        n += 1;
        params.push(dialect.json_param(n));
        values.push(format!("({})", params.join(", ")));
    }
    let sql = format!("INSERT INTO {} ({}) VALUES {}", table.name, columns.join(", "), values.join(", "));
    let mut query = sqlx::query(&sql);
    for record in records {
        for value in record.key() {
            query = query.bind(value.to_owned());
        }
        query = query.bind(record.ts().timestamp_micros());
        if table.keeps_last_ok {
            query = query.bind(record.is_ok());
        }
        let data = serde_json::to_string(record).map_err(|source| StoreError::Encode { table: table.name, source })?;
        query = query.bind(data);
    }
    query.execute(&mut **tx).await?;
    Ok(())
}

/// Deletes, for each of `keys`, the rows outside the newest `retention`,
/// sparing the newest good row where the table keeps one.
async fn prune_keys(tx: &mut Transaction<'_, Any>, table: &Table, keys: &[Vec<&str>], retention: u32) -> Result<(), StoreError> {
    let key_list = table.key_columns.join(", ");
    let width = table.key_columns.len();
    let tuples: Vec<String> = (0..keys.len())
        .map(|k| {
            let params: Vec<String> = (1..=width).map(|c| format!("${}", k * width + c)).collect();
            format!("({})", params.join(", "))
        })
        .collect();
    let retention_param = keys.len() * width + 1;
    let (ok_rank, spare_ok) = if table.keeps_last_ok {
        (
            format!(", ROW_NUMBER() OVER (PARTITION BY {key_list}, ok ORDER BY ts DESC, id DESC) AS rn_ok"),
            " AND NOT (ok AND rn_ok = 1)",
        )
    } else {
        (String::new(), "")
    };
    let ok_column = if table.keeps_last_ok { ", ok" } else { "" };
    let sql = format!(
        "DELETE FROM {name} WHERE id IN (
            SELECT id FROM (
                SELECT id{ok_column}, ROW_NUMBER() OVER (PARTITION BY {key_list} ORDER BY ts DESC, id DESC) AS rn{ok_rank}
                FROM {name} WHERE ({key_list}) IN (VALUES {tuples})
            ) ranked WHERE rn > ${retention_param}{spare_ok}
        )",
        name = table.name,
        tuples = tuples.join(", "),
    );
    let mut query = sqlx::query(&sql);
    for key in keys {
        for value in key {
            query = query.bind(value.to_string());
        }
    }
    query.bind(i64::from(retention)).execute(&mut **tx).await?;
    Ok(())
}

fn decode<R: Record>(table: &'static Table, row: &AnyRow) -> Result<R, StoreError> {
    let id: i64 = row.try_get("id")?;
    let data: String = row.try_get("data")?;
    serde_json::from_str(&data).map_err(|err| StoreError::Corrupt { table: table.name, id, message: err.to_string() })
}
