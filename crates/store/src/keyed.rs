//! Keyed tables: batched writes with retention, and newest-per-key reads.
//!
//! The SQL is built from a [`Table`] description, so the four tables share one
//! code path; statements are standard SQL that SQLite and PostgreSQL both run.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};

use fleetroll_core::records::HostObservation;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::record::{Record, Table};
use crate::{Dialect, Store, StoreError};

/// Rows per INSERT statement. Both backends allow far more bound parameters;
/// larger statements gain nothing measurable.
const ROWS_PER_STATEMENT: usize = 500;

/// A host's newest observation, and its newest good one when that is older.
#[derive(Clone, Debug, PartialEq)]
pub struct LatestObservation {
    pub latest: HostObservation,
    /// The newest good observation when it is not `latest` itself; kept
    /// apart so a fleet of healthy hosts is not held in memory twice.
    older_ok: Option<HostObservation>,
}

impl LatestObservation {
    /// The newest observation with `ok` (`latest` itself when it is ok);
    /// `None` when the host has none.
    pub fn last_ok(&self) -> Option<&HostObservation> {
        if self.latest.ok { Some(&self.latest) } else { self.older_ok.as_ref() }
    }
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
        prune_keys(&mut tx, self.dialect(), table, &keys, self.retention).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The newest record of every key.
    pub async fn latest<R: Record>(&self) -> Result<Vec<R>, StoreError> {
        self.newest_per_key(false).await
    }

    /// Every host's newest observation and newest good observation, read in
    /// one pass that decodes each row once.
    pub async fn latest_observations(&self) -> Result<BTreeMap<String, LatestObservation>, StoreError> {
        let table = &HostObservation::TABLE;
        let sql = format!(
            "SELECT id, {data} AS data FROM {name} WHERE id IN ({latest}) OR id IN ({last_ok}) ORDER BY ts, id",
            data = self.dialect().json_column(),
            name = table.name,
            latest = newest_ids(table, false),
            last_ok = newest_ids(table, true),
        );
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        // Each host has at most two rows here, oldest first: the last one seen
        // is its newest, and the last good one seen is its newest good one.
        let mut newest: BTreeMap<String, LatestObservation> = BTreeMap::new();
        for row in &rows {
            let obs: HostObservation = decode(table, row)?;
            match newest.entry(obs.host.clone()) {
                Entry::Vacant(slot) => {
                    slot.insert(LatestObservation { latest: obs, older_ok: None });
                }
                Entry::Occupied(mut slot) => {
                    let seen = slot.get_mut();
                    let previous = std::mem::replace(&mut seen.latest, obs);
                    if previous.ok {
                        seen.older_ok = Some(previous);
                    }
                }
            }
        }
        Ok(newest)
    }

    /// Observations stored after the one numbered `after_id` (0: from the
    /// start), oldest first with their numbers, at most `limit`: how a
    /// follower sees what is new without reading everything again. On
    /// PostgreSQL numbers come from a sequence, so a transaction that
    /// commits after a later-numbered one can be passed over; followers that
    /// must see everything re-read the newest rows from time to time.
    pub async fn observations_after(
        &self,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<(i64, HostObservation)>, StoreError> {
        let table = &HostObservation::TABLE;
        let sql = format!(
            "SELECT id, {data} AS data FROM {name} WHERE id > $1 ORDER BY id LIMIT $2",
            data = self.dialect().json_column(),
            name = table.name,
        );
        let rows = sqlx::query(&sql).bind(after_id).bind(limit).fetch_all(&self.pool).await?;
        rows.iter().map(|row| Ok((row.try_get("id")?, decode(table, row)?))).collect()
    }

    /// The number of the newest stored observation (0 when there is none).
    pub async fn newest_observation_id(&self) -> Result<i64, StoreError> {
        let id: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM host_observations").fetch_one(&self.pool).await?;
        Ok(id.unwrap_or(0))
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
            "SELECT id, {data} AS data FROM {name} WHERE id IN ({ids})",
            data = self.dialect().json_column(),
            name = table.name,
            ids = newest_ids(table, only_ok),
        );
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        rows.iter().map(|row| decode(table, row)).collect()
    }
}

/// A subquery of the id of each key's newest row (newest good row with
/// `only_ok`). It reads only the `_newest` indexes, never the JSON, so the
/// rows' data is fetched once and only for the rows that win.
fn newest_ids(table: &Table, only_ok: bool) -> String {
    ranked_newest(table, only_ok, None)
}

/// The id of the newest good row of each key that `key_rows` selects.
fn newest_ok_ids_of_keys(table: &Table, key_rows: &str) -> String {
    ranked_newest(table, true, Some(key_rows))
}

fn ranked_newest(table: &Table, only_ok: bool, key_rows: Option<&str>) -> String {
    let keys = table.key_columns.join(", ");
    let mut conditions = Vec::new();
    if only_ok {
        conditions.push("ok".to_owned());
    }
    if let Some(key_rows) = key_rows {
        conditions.push(format!("({keys}) IN ({key_rows})"));
    }
    let filter = if conditions.is_empty() { String::new() } else { format!("WHERE {}", conditions.join(" AND ")) };
    format!(
        "SELECT id FROM (
            SELECT id, ROW_NUMBER() OVER (PARTITION BY {keys} ORDER BY ts DESC, id DESC) AS rn FROM {name} {filter}
        ) ranked WHERE rn = 1",
        name = table.name,
    )
}

async fn insert_chunk<R: Record>(
    tx: &mut Transaction<'_, Any>,
    dialect: Dialect,
    records: &[R],
) -> Result<(), StoreError> {
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
                dialect.param(n)
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
async fn prune_keys(
    tx: &mut Transaction<'_, Any>,
    dialect: Dialect,
    table: &Table,
    keys: &BTreeSet<Vec<&str>>,
    retention: u32,
) -> Result<(), StoreError> {
    let key_list = table.key_columns.join(", ");
    // The newest good rows are found through their own partial index, so the
    // ranking below reads only the `_newest` index, never the rows.
    let spare_ok = if table.keeps_last_ok {
        format!(" AND id NOT IN ({})", newest_ok_ids_of_keys(table, &dialect.json_rows(table.key_columns.len(), 1)))
    } else {
        String::new()
    };
    let sql = format!(
        "DELETE FROM {name} WHERE id IN (
            SELECT id FROM (
                SELECT id, ROW_NUMBER() OVER (PARTITION BY {key_list} ORDER BY ts DESC, id DESC) AS rn
                FROM {name} WHERE ({key_list}) IN ({key_rows})
            ) ranked WHERE rn > $2{spare_ok}
        )",
        name = table.name,
        key_rows = dialect.json_rows(table.key_columns.len(), 1),
    );
    let keys_json = serde_json::to_string(keys).map_err(|source| StoreError::Encode { table: table.name, source })?;
    sqlx::query(&sql).bind(keys_json).bind(i64::from(retention)).execute(&mut **tx).await?;
    Ok(())
}

fn decode<R: Record>(table: &'static Table, row: &AnyRow) -> Result<R, StoreError> {
    let id: i64 = row.try_get("id")?;
    let data: String = row.try_get("data")?;
    serde_json::from_str(&data).map_err(|err| StoreError::Corrupt { table: table.name, id, message: err.to_string() })
}
