//! Keyed tables: batched writes with retention, and newest-per-key reads.
//!
//! The SQL is built from a [`Table`] description, so the four tables share one
//! code path; statements are standard SQL that SQLite and PostgreSQL both run.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use fleetroll_core::records::HostObservation;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::record::{Record, Table};
use crate::{Dialect, Store, StoreError};

/// Rows per INSERT statement. Both backends allow far more bound parameters;
/// larger statements gain nothing measurable.
const ROWS_PER_STATEMENT: usize = 500;

/// A host's newest observation, and its newest good one when that is older;
/// observations are read as `O`, a [`HostObservation`] or an
/// [`ObservedHost`].
#[derive(Clone, Debug, PartialEq)]
pub struct LatestObservation<O = HostObservation> {
    pub latest: O,
    /// The newest good observation when `latest` failed; boxed, as most
    /// hosts have none and a map's entries are as large as their largest.
    older_ok: Option<Box<O>>,
}

impl<O: Record> LatestObservation<O> {
    /// The newest observation with `ok` (`latest` itself when it is ok);
    /// `None` when the host has none.
    pub fn last_ok(&self) -> Option<&O> {
        if self.latest.is_ok() { Some(&self.latest) } else { self.older_ok.as_deref() }
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
        let rows: Vec<(i64, R)> = self.read_rows(&newest_ids(&R::TABLE, false)).await?;
        Ok(rows.into_iter().map(|(_, record)| record).collect())
    }

    /// Every host's newest observation and newest good observation.
    pub async fn latest_observations(&self) -> Result<BTreeMap<String, LatestObservation>, StoreError> {
        self.latest_observations_as().await
    }

    /// [`Store::latest_observations`], read as `O`: an [`ObservedHost`]
    /// decodes the observed fields once, straight from the stored text.
    pub async fn latest_observations_as<O>(&self) -> Result<BTreeMap<String, LatestObservation<O>>, StoreError>
    where
        O: Record + From<HostObservation>,
    {
        let table = &HostObservation::TABLE;
        let ids = format!("{} UNION {}", newest_ids(table, false), newest_ids(table, true));
        let rows = match self.read_array::<O>(table, &ids).await? {
            Some(rows) => rows,
            None => {
                let rows = self.read_rows_one_by_one::<HostObservation>(&ids).await?;
                rows.into_iter().map(|(id, obs)| (id, O::from(obs))).collect()
            }
        };
        Ok(pair_newest(rows))
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

    /// The rows whose ids `ids` (a subquery) selects, with their ids, in no
    /// particular order.
    async fn read_rows<R: Record>(&self, ids: &str) -> Result<Vec<(i64, R)>, StoreError> {
        match self.read_array(&R::TABLE, ids).await? {
            Some(rows) => Ok(rows),
            None => self.read_rows_one_by_one(ids).await,
        }
    }

    /// The rows of `table` whose ids `ids` selects, fetched as one JSON
    /// array in one value: per row, the `Any` driver copies every value
    /// between threads and types, which cost more than the query itself at
    /// 20,000 rows. `None` when some row does not decode as `R`.
    async fn read_array<R: serde::de::DeserializeOwned>(
        &self,
        table: &Table,
        ids: &str,
    ) -> Result<Option<Vec<(i64, R)>>, StoreError> {
        let sql = format!(
            "SELECT {array} FROM {name} WHERE id IN ({ids})",
            array = self.dialect().id_data_array(),
            name = table.name,
        );
        let Some(text) = sqlx::query_scalar::<_, Option<String>>(&sql).fetch_one(&self.pool).await? else {
            return Ok(Some(Vec::new()));
        };
        match serde_json::from_str(&text) {
            Ok(rows) => Ok(Some(rows)),
            Err(err) => {
                tracing::debug!(table = table.name, %err, "Some rows need reading one by one");
                Ok(None)
            }
        }
    }

    /// The slow path of [`Store::read_rows`], taken only when some row does
    /// not decode, so the error can name it (or the caller can convert it).
    async fn read_rows_one_by_one<R: Record>(&self, ids: &str) -> Result<Vec<(i64, R)>, StoreError> {
        let table = &R::TABLE;
        let sql = format!(
            "SELECT id, {data} AS data FROM {name} WHERE id IN ({ids})",
            data = self.dialect().json_column(),
            name = table.name,
        );
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        rows.iter().map(|row| Ok((row.try_get("id")?, decode(table, row)?))).collect()
    }
}

/// Each host's newest observation and, when that one failed, its newest
/// good one, from at most two rows per host in any order; among equal
/// times the higher id is the newer, as the store orders them.
fn pair_newest<O: Record>(rows: Vec<(i64, O)>) -> BTreeMap<String, LatestObservation<O>> {
    // Decided on positions first, then each record moves once, into a map
    // built from sorted keys: records are large, and moving them through a
    // growing map cost more than decoding them.
    let mut chosen: HashMap<String, (usize, Option<usize>)> = HashMap::new();
    for (i, (id, obs)) in rows.iter().enumerate() {
        match chosen.entry(obs.key().concat()) {
            Entry::Vacant(slot) => {
                slot.insert((i, None));
            }
            Entry::Occupied(mut slot) => {
                let (latest, older_ok) = slot.get_mut();
                let (seen_id, seen) = &rows[*latest];
                if (obs.ts(), *id) > (seen.ts(), *seen_id) {
                    if seen.is_ok() {
                        *older_ok = Some(*latest);
                    }
                    *latest = i;
                } else if obs.is_ok() {
                    *older_ok = Some(i);
                }
            }
        }
    }
    let mut chosen: Vec<(String, (usize, Option<usize>))> = chosen.into_iter().collect();
    chosen.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let mut slots: Vec<Option<O>> = rows.into_iter().map(|(_, obs)| Some(obs)).collect();
    let mut take = |i: usize| slots[i].take().expect("each row is chosen once");
    chosen
        .into_iter()
        .map(|(host, (latest, older_ok))| {
            let latest = take(latest);
            let older_ok = older_ok.map(&mut take).filter(|_| !latest.is_ok()).map(Box::new);
            (host, LatestObservation { latest, older_ok })
        })
        .collect()
}

/// A subquery of the id of each key's newest row (newest good row with
/// `only_ok`): one descent of the `_newest` index per key, never the JSON,
/// so the rows' data is fetched once and only for the rows that win. (A
/// ranking over the whole table took ten times as long at retention.)
fn newest_ids(table: &Table, only_ok: bool) -> String {
    let matches: Vec<String> = table.key_columns.iter().map(|column| format!("n.{column} = k.{column}")).collect();
    format!(
        "SELECT (SELECT n.id FROM {name} n WHERE {matches}{ok} ORDER BY n.ts DESC, n.id DESC LIMIT 1)
        FROM (SELECT DISTINCT {keys} FROM {name}) k",
        name = table.name,
        matches = matches.join(" AND "),
        ok = if only_ok { " AND n.ok" } else { "" },
        keys = table.key_columns.join(", "),
    )
}

/// The id of the newest good row of each key that `key_rows` selects.
fn newest_ok_ids_of_keys(table: &Table, key_rows: &str) -> String {
    let keys = table.key_columns.join(", ");
    format!(
        "SELECT id FROM (
            SELECT id, ROW_NUMBER() OVER (PARTITION BY {keys} ORDER BY ts DESC, id DESC) AS rn
            FROM {name} WHERE ok AND ({keys}) IN ({key_rows})
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
