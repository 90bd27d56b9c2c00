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
use crate::{Dialect, JsonColumn, Store, StoreError};

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
        let mut newest = BTreeMap::new();
        for chunk in records.chunks(ROWS_PER_STATEMENT) {
            insert_chunk(&mut tx, self.dialect(), chunk, &mut newest).await?;
        }
        // Pointers move before pruning, which spares the newest good rows
        // they name.
        if table.latest_pointers {
            move_pointers(&mut tx, self.dialect(), table, &newest).await?;
        }
        let keys: BTreeSet<Vec<&str>> = records.iter().map(Record::key).collect();
        prune_keys(&mut tx, self.dialect(), table, &keys, self.retention).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The newest record of every key.
    pub async fn latest<R: Record>(&self) -> Result<Vec<R>, StoreError> {
        let table = &R::TABLE;
        if table.latest_pointers {
            let sql = format!(
                "SELECT {lines} FROM {name}_latest p",
                lines = self.dialect().lines_agg(&row_data(self.dialect(), table, "p.latest_id")),
                name = table.name,
            );
            if let Some(shares) = self.read_lines(table, &sql).await? {
                return Ok(concat(shares));
            }
        }
        let rows: Vec<(i64, R)> = self.read_rows(&newest_ids(table, false)).await?;
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
        // Each line pairs a host's newest observation with its newest good
        // one when that is another row, as the pointers name them: no
        // pairing is left to do here.
        let dialect = self.dialect();
        let older_ok = "CASE WHEN p.ok_id <> p.latest_id THEN p.ok_id END";
        let sql = format!(
            "SELECT {lines} FROM {name}_latest p",
            lines = dialect.lines_agg(&format!(
                "'[' || {} || ',' || COALESCE({}, 'null') || ']'",
                row_data(dialect, table, "p.latest_id"),
                row_data(dialect, table, older_ok),
            )),
            name = table.name,
        );
        if let Some(pairs) = self.read_lines::<(O, Option<Box<O>>)>(table, &sql).await? {
            let mut hosts = Vec::with_capacity(pairs.iter().map(Vec::len).sum());
            for (latest, older_ok) in pairs.into_iter().flatten() {
                let older_ok = older_ok.filter(|_| !latest.is_ok());
                hosts.push((latest.key().concat(), LatestObservation { latest, older_ok }));
            }
            return Ok(hosts.into_iter().collect());
        }
        let ids = format!("{} UNION {}", newest_ids(table, false), newest_ids(table, true));
        let rows = self.read_rows_one_by_one::<HostObservation>(&ids).await?;
        Ok(pair_newest(rows.into_iter().map(|(id, obs)| (id, O::from(obs))).collect()))
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

    /// The values of `sql`, one aggregate of JSON lines (see
    /// [`Dialect::lines_agg`]), decoded as `T` straight from the text the
    /// `Any` driver hands over, as one value: per row, it copies every value
    /// between threads and types, which cost more than the query itself at
    /// 20,000 rows. In shares, each decoded on its own core; `None` when
    /// some line does not decode as `T`.
    async fn read_lines<T: serde::de::DeserializeOwned + Send>(
        &self,
        table: &Table,
        sql: &str,
    ) -> Result<Option<Vec<Vec<T>>>, StoreError> {
        // Borrowed from the row: decoding it as a `String` copies it whole.
        let row = sqlx::query(sql).fetch_one(&self.pool).await?;
        let Some(text) = row.try_get::<Option<&str>, _>(0)? else {
            return Ok(Some(Vec::new()));
        };
        match decode_lines(text) {
            Ok(values) => Ok(Some(values)),
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

/// Decodes JSON lines, a large text on every core, each thread taking one
/// run of whole lines: decoding a fleet's newest observations took longer
/// than reading them. A newline is a line's end, as nothing the store
/// writes holds one inside a value; a row from elsewhere that does makes
/// a share fail to decode, and the caller then reads the rows one by one.
fn decode_lines<T: serde::de::DeserializeOwned + Send>(text: &str) -> Result<Vec<Vec<T>>, serde_json::Error> {
    /// Below this a thread costs more than it saves.
    const SMALLEST_SHARE: usize = 1 << 20;
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    decode_in_shares(text, (text.len() / SMALLEST_SHARE).clamp(1, threads))
}

fn decode_in_shares<T: serde::de::DeserializeOwned + Send>(
    text: &str,
    shares: usize,
) -> Result<Vec<Vec<T>>, serde_json::Error> {
    fn decode<T: serde::de::DeserializeOwned>(text: &str) -> Result<Vec<T>, serde_json::Error> {
        // Sized up front: records are large, and a growing vector's copies
        // cost more than counting the lines.
        let mut values = Vec::with_capacity(text.bytes().filter(|&b| b == b'\n').count() + 1);
        for value in serde_json::Deserializer::from_str(text).into_iter() {
            values.push(value?);
        }
        Ok(values)
    }
    if shares <= 1 {
        return Ok(vec![decode(text)?]);
    }
    let mut parts = Vec::with_capacity(shares);
    let mut start = 0;
    for share in 1..shares {
        let target = (text.len() * share / shares).max(start);
        let newline = text.as_bytes()[target..].iter().position(|&b| b == b'\n');
        let Some(end) = newline.map(|at| target + at) else { break };
        parts.push(&text[start..end]);
        start = end + 1;
    }
    parts.push(&text[start..]);
    std::thread::scope(|scope| {
        let decoding: Vec<_> = parts.iter().map(|part| scope.spawn(|| decode::<T>(part))).collect();
        decoding.into_iter().map(|part| part.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))).collect()
    })
}

/// The `data` of the row of `table` whose id is `id`, as text: a lookup
/// by primary key whatever the planner knows of the table. (Joined
/// instead, PostgreSQL with statistics older than the last large write
/// hashed the whole table, twice, and read a third slower than before the
/// pointers.)
fn row_data(dialect: Dialect, table: &Table, id: &str) -> String {
    format!("(SELECT {} FROM {} r WHERE r.id = {id})", dialect.json_text("r.data"), table.name)
}

/// The shares' values in one vector, grown once.
fn concat<T>(shares: Vec<Vec<T>>) -> Vec<T> {
    let total: usize = shares.iter().map(Vec::len).sum();
    let mut shares = shares.into_iter();
    let mut values = shares.next().unwrap_or_default();
    values.reserve_exact(total - values.len());
    for share in shares {
        values.extend(share);
    }
    values
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
/// `only_ok`). Through the pointers where the table has them: the ids are
/// read off one small table, with no search per key. Otherwise one descent
/// of the `_newest` index per key, never the JSON, so the rows' data is
/// fetched once and only for the rows that win. (A ranking over the whole
/// table took ten times as long at retention.)
fn newest_ids(table: &Table, only_ok: bool) -> String {
    if table.latest_pointers {
        return if only_ok {
            format!("SELECT ok_id FROM {}_latest WHERE ok_id IS NOT NULL", table.name)
        } else {
            format!("SELECT latest_id FROM {}_latest", table.name)
        };
    }
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

/// A stored row as its key's pointers compare it: newer is a later `ts`,
/// then a higher id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct RowAt {
    ts: i64,
    id: i64,
}

/// The newest row, and newest good row, a batch wrote for one key.
#[derive(Clone, Copy, Debug)]
struct Newest {
    latest: RowAt,
    ok: Option<RowAt>,
}

impl Newest {
    fn first(row: RowAt, ok: bool) -> Newest {
        Newest { latest: row, ok: ok.then_some(row) }
    }

    fn add(&mut self, row: RowAt, ok: bool) {
        self.latest = self.latest.max(row);
        self.ok = self.ok.max(ok.then_some(row));
    }
}

/// Inserts `records`; where the table has pointers, notes in `newest` the
/// rows each key got.
async fn insert_chunk<R: Record>(
    tx: &mut Transaction<'_, Any>,
    dialect: Dialect,
    records: &[R],
    newest: &mut BTreeMap<Vec<String>, Newest>,
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
    // The rows come back in no promised order, so each names its key, and
    // `ok` (stored as a boolean or an integer) comes back as a number.
    let returning = if table.latest_pointers {
        let ok = if table.keeps_last_ok { "CASE WHEN ok THEN 1 ELSE 0 END" } else { "1" };
        format!(" RETURNING id, ts, {ok} AS is_ok, {}", table.key_columns.join(", "))
    } else {
        String::new()
    };
    let sql = format!("INSERT INTO {} ({}) VALUES {}{returning}", table.name, columns.join(", "), values.join(", "));
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
    if !table.latest_pointers {
        query.execute(&mut **tx).await?;
        return Ok(());
    }
    for row in query.fetch_all(&mut **tx).await? {
        let at = RowAt { ts: row.try_get("ts")?, id: row.try_get("id")? };
        let ok = row.try_get::<i64, _>("is_ok")? != 0;
        let key = table.key_columns.iter().map(|column| row.try_get::<String, _>(*column)).collect::<Result<_, _>>()?;
        newest.entry(key).and_modify(|n: &mut Newest| n.add(at, ok)).or_insert_with(|| Newest::first(at, ok));
    }
    Ok(())
}

/// Moves each key's pointers to the newest of its rows in `newest` and the
/// rows they name already. Each key's pointer row is merged in one upsert:
/// on PostgreSQL two writers of one key queue on that row, and the second
/// merges into what the first committed, so neither can move a pointer
/// back to an older row. Keys go in sorted order, so writers of
/// overlapping batches take those row locks in the same order.
async fn move_pointers(
    tx: &mut Transaction<'_, Any>,
    dialect: Dialect,
    table: &Table,
    newest: &BTreeMap<Vec<String>, Newest>,
) -> Result<(), StoreError> {
    if newest.is_empty() {
        return Ok(());
    }
    let keys = table.key_columns.join(", ");
    let pointers = format!("{}_latest", table.name);
    let mut columns = vec![JsonColumn::Text; table.key_columns.len()];
    columns.extend([JsonColumn::Integer; 2]);
    let newer = format!("(excluded.latest_ts, excluded.latest_id) > ({pointers}.latest_ts, {pointers}.latest_id)");
    let mut set = vec![
        format!("latest_id = CASE WHEN {newer} THEN excluded.latest_id ELSE {pointers}.latest_id END"),
        format!("latest_ts = CASE WHEN {newer} THEN excluded.latest_ts ELSE {pointers}.latest_ts END"),
    ];
    let mut pointer_columns = "latest_id, latest_ts";
    if table.keeps_last_ok {
        columns.extend([JsonColumn::Integer; 2]);
        pointer_columns = "latest_id, latest_ts, ok_id, ok_ts";
        let newer_ok = format!(
            "excluded.ok_id IS NOT NULL AND ({pointers}.ok_id IS NULL \
             OR (excluded.ok_ts, excluded.ok_id) > ({pointers}.ok_ts, {pointers}.ok_id))"
        );
        set.push(format!("ok_id = CASE WHEN {newer_ok} THEN excluded.ok_id ELSE {pointers}.ok_id END"));
        set.push(format!("ok_ts = CASE WHEN {newer_ok} THEN excluded.ok_ts ELSE {pointers}.ok_ts END"));
    }
    // `WHERE true` tells SQLite's parser the ON that follows is the upsert's.
    let sql = format!(
        "INSERT INTO {pointers} ({keys}, {pointer_columns}) {rows} WHERE true
        ON CONFLICT ({keys}) DO UPDATE SET {set}",
        rows = dialect.json_typed_rows(&columns, 1),
        set = set.join(", "),
    );
    let rows: Vec<serde_json::Value> = newest
        .iter()
        .map(|(key, newest)| {
            let mut row: Vec<serde_json::Value> = key.iter().map(|v| serde_json::Value::from(v.as_str())).collect();
            row.extend([newest.latest.id, newest.latest.ts].map(serde_json::Value::from));
            if table.keeps_last_ok {
                row.extend([newest.ok.map(|ok| ok.id), newest.ok.map(|ok| ok.ts)].map(serde_json::Value::from));
            }
            serde_json::Value::Array(row)
        })
        .collect();
    let rows = serde_json::to_string(&rows).map_err(|source| StoreError::Encode { table: table.name, source })?;
    sqlx::query(&sql).bind(rows).execute(&mut **tx).await?;
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
    let key_rows = dialect.json_rows(table.key_columns.len(), 1);
    // The newest good rows are the ones the pointers name (moved before
    // this), so the ranking below reads only the `_newest` index.
    let spare_ok = if table.keeps_last_ok {
        format!(
            " AND id NOT IN (SELECT ok_id FROM {name}_latest WHERE ok_id IS NOT NULL AND ({key_list}) IN ({key_rows}))",
            name = table.name,
        )
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

#[cfg(test)]
mod tests {
    use super::decode_in_shares;

    /// However the text is cut, every line is decoded once, in order, and
    /// a cut never falls inside a character.
    #[test]
    fn shares_decode_every_line_in_order() {
        let lines: Vec<String> = (0..500).map(|i| format!("[{i},\"{}\"]", "é".repeat(i % 7))).collect();
        let text = lines.join("\n");
        let whole: Vec<(u32, String)> = decode_in_shares(&text, 1).unwrap().concat();
        assert_eq!(whole.len(), 500);
        for shares in [2, 3, 7, 499, 500, 501, 2000] {
            let parts: Vec<Vec<(u32, String)>> = decode_in_shares(&text, shares).unwrap();
            assert!(parts.len() <= shares);
            assert_eq!(parts.concat(), whole, "{shares} shares");
        }
        assert!(decode_in_shares::<(u32, String)>("", 4).unwrap().concat().is_empty());
    }
}
