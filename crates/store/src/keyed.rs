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
#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
pub struct LatestObservation<O = HostObservation> {
    pub latest: O,
    /// The newest good observation when `latest` failed; boxed, as most
    /// hosts have none and a map's entries are as large as their largest.
    older_ok: Option<Box<O>>,
}

/// Records as the store read them, in runs (see
/// [`Store::latest_observations_as`]): a fleet's records are large, and
/// gathering the runs into one vector copied all of them once more, into
/// fresh memory.
#[derive(Debug)]
pub struct Runs<T>(Vec<Vec<T>>);

impl<T> Runs<T> {
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.0.iter().flatten()
    }

    pub fn len(&self) -> usize {
        self.0.iter().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.0.iter().all(Vec::is_empty)
    }
}

impl<T> IntoIterator for Runs<T> {
    type Item = T;
    type IntoIter = std::iter::Flatten<std::vec::IntoIter<Vec<T>>>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter().flatten()
    }
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
            let line = row_data(self.dialect(), table, "p.latest_id");
            if let Some(runs) = self.read_pointed_lines(table, &line).await? {
                return Ok(concat(runs));
            }
        }
        let rows: Vec<(i64, R)> = self.read_rows(&newest_ids(table, false)).await?;
        Ok(rows.into_iter().map(|(_, record)| record).collect())
    }

    /// Every host's newest observation and newest good observation.
    pub async fn latest_observations(&self) -> Result<BTreeMap<String, LatestObservation>, StoreError> {
        let latest = self.latest_observations_as().await?;
        Ok(latest.into_iter().map(|l: LatestObservation| (l.latest.host.clone(), l)).collect())
    }

    /// [`Store::latest_observations`], read as `O`, one per host in no
    /// particular order: an [`ObservedHost`] decodes the observed fields
    /// once, straight from the stored text, and a fleet's records are not
    /// moved again, into one vector or a map (they are large; a caller that
    /// looks hosts up indexes them by reference).
    pub async fn latest_observations_as<O>(&self) -> Result<Runs<LatestObservation<O>>, StoreError>
    where
        O: Record + From<HostObservation>,
    {
        let table = &HostObservation::TABLE;
        // Each line pairs a host's newest observation with its newest good
        // one when that is another row, as the pointers name them, in the
        // order of `LatestObservation`'s fields: decoded, a line is one.
        // A newest row that is good is the newest good row, so the second
        // is null exactly when the newest is good or the host has none.
        let dialect = self.dialect();
        let older_ok = "CASE WHEN p.ok_id <> p.latest_id THEN p.ok_id END";
        let line = format!(
            "'[' || {} || ',' || COALESCE({}, 'null') || ']'",
            row_data(dialect, table, "p.latest_id"),
            row_data(dialect, table, older_ok),
        );
        if let Some(runs) = self.read_pointed_lines::<LatestObservation<O>>(table, &line).await? {
            return Ok(Runs(runs));
        }
        let ids = format!("{} UNION {}", newest_ids(table, false), newest_ids(table, true));
        let rows = self.read_rows_one_by_one::<HostObservation>(&ids).await?;
        Ok(Runs(vec![pair_newest(rows.into_iter().map(|(id, obs)| (id, O::from(obs))).collect())]))
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

    /// The values of `line`, a JSON text per key computed from the key's
    /// pointer row `p`, for every key of `table`, decoded as `T`: in runs of
    /// [`KEYS_PER_RUN`] keys, one statement each, decoded on every core
    /// while the next runs are read. One aggregate of the whole table, read
    /// at once, was copied whole several times on its way out of the
    /// database, each time into fresh memory, and only then decoded; runs
    /// reuse the memory of the runs before them. `None` when some line
    /// does not decode as `T`. Each key's line is read in one statement, so
    /// it is consistent; a write between runs shows in later runs' keys
    /// only, as if those keys were read a moment later.
    async fn read_pointed_lines<T: serde::de::DeserializeOwned + Send + 'static>(
        &self,
        table: &Table,
        line: &str,
    ) -> Result<Option<Vec<Vec<T>>>, StoreError> {
        let [key] = table.key_columns else {
            unreachable!("a table with pointers has one key column (see `Table::latest_pointers`)")
        };
        let sql = format!(
            "SELECT {lines}, max(c.{key}), count(*) FROM (SELECT p.{key}, {line} AS line FROM {name}_latest p \
             WHERE p.{key} > {after} ORDER BY p.{key} LIMIT {KEYS_PER_RUN}) c",
            lines = self.dialect().lines_agg("c.line"),
            after = self.dialect().param(1),
            name = table.name,
        );
        let mut decoders = Decoders::<T>::start();
        let mut after = String::new();
        loop {
            let row = sqlx::query(&sql).bind(&after).fetch_one(&self.pool).await?;
            let Some(text) = row.try_get::<Option<String>, _>(0)? else { break };
            decoders.send(text);
            if row.try_get::<i64, _>(2)? < KEYS_PER_RUN {
                break;
            }
            after = row.try_get(1)?;
        }
        match decoders.finish().await {
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

/// Keys per statement of a pointer read: runs small enough that the
/// memory of one is reused by the next, large enough that statements'
/// own costs stay small.
const KEYS_PER_RUN: i64 = 512;

/// Threads, one per core, decoding runs of JSON lines as they are read;
/// each run's values keep the run's place.
struct Decoders<T> {
    runs: std::sync::mpsc::Sender<(usize, String)>,
    sent: usize,
    threads: Vec<tokio::task::JoinHandle<Result<PlacedRuns<T>, serde_json::Error>>>,
}

/// Decoded runs, each with its place among the runs read.
type PlacedRuns<T> = Vec<(usize, Vec<T>)>;

impl<T: serde::de::DeserializeOwned + Send + 'static> Decoders<T> {
    fn start() -> Decoders<T> {
        let (runs, queue) = std::sync::mpsc::channel::<(usize, String)>();
        let queue = std::sync::Arc::new(std::sync::Mutex::new(queue));
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        let threads = (0..cores)
            .map(|_| {
                let queue = queue.clone();
                tokio::task::spawn_blocking(move || {
                    let mut decoded = Vec::new();
                    // The lock is held only to take a run; a closed queue ends the thread.
                    while let Ok((place, text)) = { queue.lock().expect("decoder queue").recv() } {
                        decoded.push((place, decode_lines(&text)?));
                    }
                    Ok(decoded)
                })
            })
            .collect();
        Decoders { runs, sent: 0, threads }
    }

    fn send(&mut self, text: String) {
        // A decoder that stopped on an error has its error to report.
        let _ = self.runs.send((self.sent, text));
        self.sent += 1;
    }

    /// Every run's values, in the order the runs were sent.
    async fn finish(self) -> Result<Vec<Vec<T>>, serde_json::Error> {
        drop(self.runs);
        let mut decoded = Vec::with_capacity(self.sent);
        for thread in self.threads {
            decoded.extend(thread.await.unwrap_or_else(|err| std::panic::resume_unwind(err.into_panic()))?);
        }
        decoded.sort_unstable_by_key(|(place, _)| *place);
        Ok(decoded.into_iter().map(|(_, values)| values).collect())
    }
}

/// Decodes JSON lines. A newline is a line's end, as nothing the store
/// writes holds one inside a value; a row from elsewhere that does fails to
/// decode, and the caller then reads the rows one by one.
fn decode_lines<T: serde::de::DeserializeOwned>(text: &str) -> Result<Vec<T>, serde_json::Error> {
    // Sized up front: records are large, and a growing vector's copies
    // cost more than counting the lines.
    let mut values = Vec::with_capacity(text.bytes().filter(|&b| b == b'\n').count() + 1);
    for value in serde_json::Deserializer::from_str(text).into_iter() {
        values.push(value?);
    }
    Ok(values)
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
fn pair_newest<O: Record>(rows: Vec<(i64, O)>) -> Vec<LatestObservation<O>> {
    // Decided on positions first, then each record moves once: records
    // are large, and moving them through a growing map cost more than
    // decoding them.
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
    let mut slots: Vec<Option<O>> = rows.into_iter().map(|(_, obs)| Some(obs)).collect();
    let mut take = |i: usize| slots[i].take().expect("each row is chosen once");
    chosen
        .into_values()
        .map(|(latest, older_ok)| {
            let latest = take(latest);
            let older_ok = older_ok.map(&mut take).filter(|_| !latest.is_ok()).map(Box::new);
            LatestObservation { latest, older_ok }
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
    use super::decode_lines;

    /// The pointer read pages on the key: one column (`read_pointed_lines`).
    #[test]
    fn tables_with_pointers_have_one_key_column() {
        for table in crate::record::TABLES {
            assert!(!table.latest_pointers || table.key_columns.len() == 1, "{}", table.name);
        }
    }

    /// Every line is decoded once, in order, whatever its characters.
    #[test]
    fn lines_decode_in_order() {
        let lines: Vec<String> = (0..500).map(|i| format!("[{i},\"{}\"]", "é".repeat(i % 7))).collect();
        let values: Vec<(u32, String)> = decode_lines(&lines.join("\n")).unwrap();
        assert_eq!(values.len(), 500);
        assert!(values.iter().enumerate().all(|(i, (n, text))| *n as usize == i && text.chars().count() == i % 7));
        assert!(decode_lines::<(u32, String)>("").unwrap().is_empty());
        assert!(decode_lines::<(u32, String)>("[1,\"a\"]\n[2,").is_err());
    }
}
