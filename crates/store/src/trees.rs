//! Tree status: trees, their log and the undo stack (reference §C).
//!
//! Every write is one transaction that first bumps the `trees_head` row, so
//! writers serialise across processes and replicas (SQLite takes its write
//! lock at once, PostgreSQL the row lock) and each reads the state the one
//! before it committed. Decisions are fleetroll-core's `trees` module: a
//! method reads the current state, asks core for a plan, and writes it.
//!
//! Invariants kept here:
//! - `trees.log_id` names the log row of the tree's latest status write; a
//!   tree's status, reason and tags are that row's (core `combine`), so
//!   editing the row edits the tree. Only this module writes either. Gen 3
//!   looked for the newest row by time instead; the two agree while writers'
//!   clocks move forward, and when they do not, the last write wins here.
//! - `tree_change_trees.current_log_id` equals `last_state.current_log_id`.
//! - A tree's deletion takes its log rows and stack rows with it, and a stack
//!   entry left without trees goes too.

use std::collections::BTreeMap;

use fleetroll_core::time::{self, Timestamp};
use fleetroll_core::trees::{
    self, Category, CombinedTree, EntryEdit, LastState, LogHead, NewTree, PlannedTree, StackEntry, StackTree,
    StatusTransition, TreeError, TreeLog, TreeRow, TreeStatus, TreesUpdate,
};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::{Dialect, Store, StoreError};

/// A tree status write that failed: refused by the rules (the server answers
/// with the problem JSON of [`TreeError`]), or the store failed.
#[derive(Debug, thiserror::Error)]
pub enum TreesError {
    #[error(transparent)]
    Rejected(#[from] TreeError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for TreesError {
    fn from(err: sqlx::Error) -> TreesError {
        TreesError::Store(StoreError::Database(err))
    }
}

/// What a `PATCH /trees` changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpdateOutcome {
    /// Every named tree after the update, in the order named.
    pub trees: Vec<CombinedTree>,
    /// The trees whose status changed, for Pulse.
    pub transitions: Vec<StatusTransition>,
    /// The stack entry a remembered update added.
    pub stack_id: Option<i64>,
}

/// What removing a stack entry did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevertOutcome {
    pub id: i64,
    pub reverted: bool,
    /// The trees restored (none when discarding, or when all were deleted).
    pub trees: Vec<CombinedTree>,
    pub transitions: Vec<StatusTransition>,
}

/// The combined view: each tree row with the log row it names, joined on the
/// log's primary key, so listing every tree is one pass over the trees.
const COMBINED: &str = "SELECT t.name, t.status, t.reason, t.message_of_the_day, t.category,
        l.id AS log_id, l.status AS log_status, l.reason AS log_reason, CAST(l.tags AS TEXT) AS log_tags
    FROM trees t LEFT JOIN tree_log l ON l.id = t.log_id";

const LOG_COLUMNS: &str = "id, tree, created_at, who, status, reason, CAST(tags AS TEXT) AS tags";

const STACK: &str = "SELECT c.id, c.created_at, c.who, c.status, c.reason,
        ct.id AS tree_row, ct.tree, CAST(ct.last_state AS TEXT) AS last_state
    FROM tree_changes c LEFT JOIN tree_change_trees ct ON ct.change_id = c.id";

impl Store {
    /// Every tree, combined with its newest log row, by name.
    pub async fn trees(&self) -> Result<Vec<CombinedTree>, StoreError> {
        let rows = sqlx::query(&format!("{COMBINED} ORDER BY t.name")).fetch_all(&self.pool).await?;
        rows.iter().map(decode_combined).collect()
    }

    /// One tree, combined with its newest log row; `None` when unknown. Read
    /// from the database every time, so the landing gate (core
    /// `trees::is_open`) never sees a stale status.
    pub async fn tree(&self, name: &str) -> Result<Option<CombinedTree>, StoreError> {
        let row = sqlx::query(&format!("{COMBINED} WHERE t.name = $1"))
            .bind(name.to_owned())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(decode_combined).transpose()
    }

    /// How many tree writes have committed. While it stays the same, so do
    /// the trees, their logs and the stack: a cache key for the server.
    pub async fn trees_version(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT version FROM trees_head WHERE id = 1").fetch_one(&self.pool).await?)
    }

    /// Every tree with a version to cache them under. The version is read
    /// first: a write committing in between then makes the trees newer than
    /// their version, which only costs a needless refresh, never a stale
    /// cache.
    pub async fn trees_snapshot(&self) -> Result<(i64, Vec<CombinedTree>), StoreError> {
        let version = self.trees_version().await?;
        Ok((version, self.trees().await?))
    }

    /// Creates a tree (`PUT /trees/{tree}`; check the URL's name first with
    /// core `trees::check_new_tree`). No log row is written: the tree reads
    /// as created until its first update.
    pub async fn create_tree(&self, new: &NewTree, now: Timestamp) -> Result<TreeRow, TreesError> {
        trees::validate_tree_name(&new.tree)?;
        let mut tx = self.begin_tree_write().await?;
        if tree_exists(&mut tx, &new.tree).await? {
            return Err(TreeError::TreeExists { tree: new.tree.clone() }.into());
        }
        let row = TreeRow::from(new);
        sqlx::query(
            "INSERT INTO trees (name, status, reason, message_of_the_day, category, log_id, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, NULL, $6, $6)",
        )
        .bind(row.tree.clone())
        .bind(row.status.as_str())
        .bind(row.reason.clone())
        .bind(row.message_of_the_day.clone())
        .bind(row.category.as_str())
        .bind(now.timestamp_micros())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Deletes a tree with its log rows and stack rows (`DELETE /trees/{tree}`).
    pub async fn delete_tree(&self, name: &str) -> Result<(), TreesError> {
        match self.delete_trees(&[name.to_owned()]).await {
            Err(TreesError::Rejected(TreeError::TreesNotFound { .. })) => Err(no_such_tree(name)),
            other => other,
        }
    }

    /// Deletes trees with their log rows and stack rows in one transaction
    /// (`DELETE /trees2`): all of them, or none when one is unknown, so a
    /// failure part way never leaves some deleted.
    pub async fn delete_trees(&self, names: &[String]) -> Result<(), TreesError> {
        let mut tx = self.begin_tree_write().await?;
        let mut missing = Vec::new();
        for name in names {
            if !tree_exists(&mut tx, name).await? {
                missing.push(name.clone());
            }
        }
        if !missing.is_empty() {
            missing.sort();
            return Err(TreeError::TreesNotFound { trees: missing }.into());
        }
        for name in names {
            for sql in [
                "DELETE FROM tree_change_trees WHERE tree = $1",
                "DELETE FROM tree_log WHERE tree = $1",
                "DELETE FROM trees WHERE name = $1",
            ] {
                sqlx::query(sql).bind(name.clone()).execute(&mut *tx).await?;
            }
        }
        delete_empty_changes(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A tree's log, newest first (by time, then id): at most `limit` rows
    /// (`Some(TREE_SUMMARY_LOG_LIMIT)` for `/logs`, `None` for `/logs_all`).
    pub async fn tree_logs(&self, name: &str, limit: Option<u32>) -> Result<Vec<TreeLog>, TreesError> {
        let rows = sqlx::query(&format!(
            "SELECT {LOG_COLUMNS} FROM tree_log WHERE tree = $1 ORDER BY created_at DESC, id DESC LIMIT $2"
        ))
        .bind(name.to_owned())
        .bind(limit.map_or(i64::MAX, i64::from))
        .fetch_all(&self.pool)
        .await?;
        // An empty log is the one case where the tree may not exist.
        if rows.is_empty() && self.tree(name).await?.is_none() {
            return Err(no_such_tree(name));
        }
        Ok(rows.iter().map(decode_log).collect::<Result<_, _>>()?)
    }

    /// Applies `PATCH /trees` as `who` at `now`: the plan of core
    /// `trees::plan_update` against the trees as they are inside the
    /// transaction.
    pub async fn update_trees(
        &self,
        update: &TreesUpdate,
        who: &str,
        now: Timestamp,
    ) -> Result<UpdateOutcome, TreesError> {
        let mut tx = self.begin_tree_write().await?;
        let names: Vec<String> = trees::requested_trees(update).into_iter().map(str::to_owned).collect();
        let current = combined_trees(&mut tx, self.dialect(), &names).await?;
        let mut plan = trees::plan_update(update, &current)?;
        for planned in &mut plan.trees {
            apply_planned(&mut tx, self.dialect(), planned, who, now).await?;
        }
        let stack_id = match &plan.stack {
            Some(stack) => {
                let id = insert_change(&mut tx, who, now, stack.status, &stack.reason).await?;
                for planned in &plan.trees {
                    insert_change_tree(&mut tx, self.dialect(), id, planned).await?;
                }
                Some(id)
            }
            None => None,
        };
        tx.commit().await?;
        Ok(UpdateOutcome {
            transitions: plan.trees.iter().filter_map(PlannedTree::transition).collect(),
            trees: plan.trees.into_iter().map(|planned| planned.after).collect(),
            stack_id,
        })
    }

    /// The undo stack, newest first (by time, then id).
    pub async fn stack(&self) -> Result<Vec<StackEntry>, StoreError> {
        let rows =
            sqlx::query(&format!("{STACK} ORDER BY c.created_at DESC, c.id DESC, ct.id")).fetch_all(&self.pool).await?;
        decode_stack(&rows)
    }

    /// Amends a stack entry's reason and tags (`PATCH /stack/{id}`): the
    /// entry, each tree's `last_state` and the log rows they point at.
    pub async fn edit_stack_entry(&self, id: i64, edit: &EntryEdit) -> Result<StackEntry, TreesError> {
        let mut tx = self.begin_tree_write().await?;
        let entry = stack_entry(&mut tx, id).await?;
        if edit.is_empty() {
            return Ok(entry);
        }
        let plan = trees::plan_stack_edit(&entry, edit);
        sqlx::query("UPDATE tree_changes SET reason = $1 WHERE id = $2")
            .bind(plan.reason.clone())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        for changed in &plan.trees {
            update_last_state(&mut tx, self.dialect(), changed).await?;
        }
        for log in &plan.logs {
            rewrite_log(&mut tx, self.dialect(), log.log_id, &log.reason, &log.tags).await?;
        }
        tx.commit().await?;
        Ok(StackEntry { reason: plan.reason, trees: plan.trees, ..entry })
    }

    /// Removes a stack entry (`DELETE /stack/{id}`); with `revert`, first
    /// restores each of its trees that still exists to the state before the
    /// change, logged as `who` at `now`.
    pub async fn remove_stack_entry(
        &self,
        id: i64,
        revert: bool,
        who: &str,
        now: Timestamp,
    ) -> Result<RevertOutcome, TreesError> {
        let mut tx = self.begin_tree_write().await?;
        let entry = stack_entry(&mut tx, id).await?;
        let mut planned = Vec::new();
        if revert {
            let names: Vec<String> = entry.trees.iter().map(|t| t.tree.clone()).collect();
            let current = combined_trees(&mut tx, self.dialect(), &names).await?;
            planned = trees::plan_revert(&entry, &current);
            for tree in &mut planned {
                apply_planned(&mut tx, self.dialect(), tree, who, now).await?;
            }
        }
        sqlx::query("DELETE FROM tree_change_trees WHERE change_id = $1").bind(id).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM tree_changes WHERE id = $1").bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(RevertOutcome {
            id,
            reverted: revert,
            transitions: planned.iter().filter_map(PlannedTree::transition).collect(),
            trees: planned.into_iter().map(|tree| tree.after).collect(),
        })
    }

    /// Amends a log row's reason or tags (`PATCH /log/{id}`), and the stack
    /// entries whose change wrote it.
    pub async fn edit_log(&self, id: i64, edit: &EntryEdit) -> Result<TreeLog, TreesError> {
        let mut tx = self.begin_tree_write().await?;
        let row = sqlx::query(&format!("SELECT {LOG_COLUMNS} FROM tree_log WHERE id = $1"))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(TreeError::NoSuchLog { id })?;
        let log = decode_log(&row)?;
        if edit.is_empty() {
            return Ok(log);
        }
        let edited = trees::edit_log(&log, edit);
        rewrite_log(&mut tx, self.dialect(), id, &edited.reason, &edited.tags).await?;
        let rows = sqlx::query(
            "SELECT id, tree, CAST(last_state AS TEXT) AS last_state FROM tree_change_trees WHERE current_log_id = $1",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        for row in &rows {
            let mut changed = decode_stack_tree(row)?;
            changed.last_state.amend_current(edit);
            update_last_state(&mut tx, self.dialect(), &changed).await?;
        }
        tx.commit().await?;
        Ok(edited)
    }

    /// Starts a tree write: takes the `trees_head` lock first, so SQLite
    /// takes its write lock at once rather than upgrading a read lock later
    /// (which can fail with SQLITE_BUSY), and PostgreSQL writers queue on
    /// the row.
    async fn begin_tree_write(&self) -> Result<Transaction<'static, Any>, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE trees_head SET version = version + 1 WHERE id = 1").execute(&mut *tx).await?;
        Ok(tx)
    }
}

fn no_such_tree(name: &str) -> TreesError {
    TreeError::NoSuchTree { tree: name.to_owned() }.into()
}

/// Placeholders numbered in bind order and spelled for the backend, for
/// statements that bind JSON (whose SQLite spelling is `?`: never mixed with
/// `$n` in one statement).
struct Params {
    dialect: Dialect,
    n: usize,
}

impl Params {
    fn new(dialect: Dialect) -> Params {
        Params { dialect, n: 0 }
    }

    fn next(&mut self) -> String {
        self.n += 1;
        self.dialect.param(self.n)
    }

    fn json(&mut self) -> String {
        self.n += 1;
        self.dialect.json_param(self.n)
    }
}

fn to_json<T: serde::Serialize>(table: &'static str, value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|source| StoreError::Encode { table, source })
}

async fn tree_exists(tx: &mut Transaction<'_, Any>, name: &str) -> Result<bool, StoreError> {
    let found =
        sqlx::query("SELECT 1 FROM trees WHERE name = $1").bind(name.to_owned()).fetch_optional(&mut **tx).await?;
    Ok(found.is_some())
}

/// The named trees that exist, combined, by name.
async fn combined_trees(
    tx: &mut Transaction<'_, Any>,
    dialect: Dialect,
    names: &[String],
) -> Result<BTreeMap<String, CombinedTree>, StoreError> {
    if names.is_empty() {
        return Ok(BTreeMap::new());
    }
    let mut params = Params::new(dialect);
    let list: Vec<String> = names.iter().map(|_| params.next()).collect();
    let sql = format!("{COMBINED} WHERE t.name IN ({})", list.join(", "));
    let mut query = sqlx::query(&sql);
    for name in names {
        query = query.bind(name.clone());
    }
    let rows = query.fetch_all(&mut **tx).await?;
    rows.iter().map(|row| decode_combined(row).map(|tree| (tree.tree.clone(), tree))).collect()
}

/// Writes one planned tree: its log row (setting the plan's new log id) and
/// its row, so the row names the log row it now reads from.
async fn apply_planned(
    tx: &mut Transaction<'_, Any>,
    dialect: Dialect,
    planned: &mut PlannedTree,
    who: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    if let Some(log) = &planned.log {
        let mut p = Params::new(dialect);
        let sql = format!(
            "INSERT INTO tree_log (tree, created_at, who, status, reason, tags) VALUES ({}, {}, {}, {}, {}, {}) RETURNING id",
            p.next(),
            p.next(),
            p.next(),
            p.next(),
            p.next(),
            p.json()
        );
        let id: i64 = sqlx::query_scalar(&sql)
            .bind(planned.name().to_owned())
            .bind(now.timestamp_micros())
            .bind(who.to_owned())
            .bind(log.status.as_str())
            .bind(log.reason.clone())
            .bind(to_json("tree_log", &log.tags)?)
            .fetch_one(&mut **tx)
            .await?;
        planned.logged_as(id);
    }
    if planned.after == planned.before {
        return Ok(());
    }
    let after = &planned.after;
    sqlx::query(
        "UPDATE trees SET status = $1, reason = $2, message_of_the_day = $3, log_id = $4, updated_at = $5
         WHERE name = $6",
    )
    .bind(after.status.as_str())
    .bind(after.reason.clone())
    .bind(after.message_of_the_day.clone())
    .bind(after.log_id)
    .bind(now.timestamp_micros())
    .bind(after.tree.clone())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn insert_change(
    tx: &mut Transaction<'_, Any>,
    who: &str,
    now: Timestamp,
    status: TreeStatus,
    reason: &str,
) -> Result<i64, StoreError> {
    let id = sqlx::query_scalar(
        "INSERT INTO tree_changes (created_at, who, status, reason) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(now.timestamp_micros())
    .bind(who.to_owned())
    .bind(status.as_str())
    .bind(reason.to_owned())
    .fetch_one(&mut **tx)
    .await?;
    Ok(id)
}

async fn insert_change_tree(
    tx: &mut Transaction<'_, Any>,
    dialect: Dialect,
    change_id: i64,
    planned: &PlannedTree,
) -> Result<(), StoreError> {
    let state = LastState::of_change(&planned.before, &planned.after);
    let mut p = Params::new(dialect);
    let sql = format!(
        "INSERT INTO tree_change_trees (change_id, tree, last_state, current_log_id) VALUES ({}, {}, {}, {})",
        p.next(),
        p.next(),
        p.json(),
        p.next()
    );
    sqlx::query(&sql)
        .bind(change_id)
        .bind(planned.name().to_owned())
        .bind(state.to_json())
        .bind(state.current_log_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn update_last_state(
    tx: &mut Transaction<'_, Any>,
    dialect: Dialect,
    changed: &StackTree,
) -> Result<(), StoreError> {
    let mut p = Params::new(dialect);
    let sql = format!(
        "UPDATE tree_change_trees SET last_state = {}, current_log_id = {} WHERE id = {}",
        p.json(),
        p.next(),
        p.next()
    );
    sqlx::query(&sql)
        .bind(changed.last_state.to_json())
        .bind(changed.last_state.current_log_id)
        .bind(changed.id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Rewrites a log row's reason and tags. The trees reading from it follow,
/// since their state is their newest log row.
async fn rewrite_log(
    tx: &mut Transaction<'_, Any>,
    dialect: Dialect,
    id: i64,
    reason: &str,
    tags: &[String],
) -> Result<(), StoreError> {
    let mut p = Params::new(dialect);
    let sql = format!("UPDATE tree_log SET reason = {}, tags = {} WHERE id = {}", p.next(), p.json(), p.next());
    sqlx::query(&sql).bind(reason.to_owned()).bind(to_json("tree_log", &tags)?).bind(id).execute(&mut **tx).await?;
    Ok(())
}

async fn delete_empty_changes(tx: &mut Transaction<'_, Any>) -> Result<(), StoreError> {
    sqlx::query(
        "DELETE FROM tree_changes WHERE NOT EXISTS (SELECT 1 FROM tree_change_trees ct WHERE ct.change_id = tree_changes.id)",
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn stack_entry(tx: &mut Transaction<'_, Any>, id: i64) -> Result<StackEntry, TreesError> {
    let rows = sqlx::query(&format!("{STACK} WHERE c.id = $1 ORDER BY ct.id")).bind(id).fetch_all(&mut **tx).await?;
    decode_stack(&rows)?.pop().ok_or_else(|| TreeError::NoSuchChange { id }.into())
}

// ---------------------------------------------------------------------------
// Decoding

fn corrupt(table: &'static str, id: i64, message: impl Into<String>) -> StoreError {
    StoreError::Corrupt { table, id, message: message.into() }
}

fn status_column(row: &AnyRow, column: &str, table: &'static str, id: i64) -> Result<TreeStatus, StoreError> {
    let text: String = row.try_get(column)?;
    text.parse().map_err(|err: trees::UnknownStatus| corrupt(table, id, err.to_string()))
}

fn tags_column(text: &str, table: &'static str, id: i64) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(text).map_err(|err| corrupt(table, id, format!("tags: {err}")))
}

fn timestamp_column(row: &AnyRow, column: &str, table: &'static str, id: i64) -> Result<Timestamp, StoreError> {
    let micros: i64 = row.try_get(column)?;
    time::from_micros(micros).ok_or_else(|| corrupt(table, id, format!("{column} {micros} is out of range")))
}

fn decode_combined(row: &AnyRow) -> Result<CombinedTree, StoreError> {
    let name: String = row.try_get("name")?;
    // Trees are keyed by name, so the message names it and the id is 0.
    let bad = |message: String| corrupt("trees", 0, format!("tree {name:?}: {message}"));
    let category: String = row.try_get("category")?;
    let tree_row = TreeRow {
        category: category.parse::<Category>().map_err(bad)?,
        message_of_the_day: row.try_get("message_of_the_day")?,
        reason: row.try_get("reason")?,
        status: status_column(row, "status", "trees", 0)?,
        tree: name.clone(),
    };
    let newest_log = match row.try_get::<Option<i64>, _>("log_id")? {
        Some(id) => {
            let tags: String = row.try_get("log_tags")?;
            Some(LogHead {
                id,
                status: status_column(row, "log_status", "tree_log", id)?,
                reason: row.try_get("log_reason")?,
                tags: tags_column(&tags, "tree_log", id)?,
            })
        }
        None => None,
    };
    Ok(trees::combine(tree_row, newest_log))
}

fn decode_log(row: &AnyRow) -> Result<TreeLog, StoreError> {
    let id: i64 = row.try_get("id")?;
    let tags: String = row.try_get("tags")?;
    Ok(TreeLog {
        id,
        tree: row.try_get("tree")?,
        when: timestamp_column(row, "created_at", "tree_log", id)?,
        who: row.try_get("who")?,
        status: status_column(row, "status", "tree_log", id)?,
        reason: row.try_get("reason")?,
        tags: tags_column(&tags, "tree_log", id)?,
    })
}

fn decode_stack_tree(row: &AnyRow) -> Result<StackTree, StoreError> {
    let id: i64 = row.try_get("id")?;
    decode_stack_tree_as(row, id)
}

fn decode_stack_tree_as(row: &AnyRow, id: i64) -> Result<StackTree, StoreError> {
    let text: String = row.try_get("last_state")?;
    let last_state =
        LastState::from_json(&text).map_err(|err| corrupt("tree_change_trees", id, format!("last_state: {err}")))?;
    Ok(StackTree { id, tree: row.try_get("tree")?, last_state })
}

/// Stack entries from rows of [`STACK`], grouped by entry in row order.
fn decode_stack(rows: &[AnyRow]) -> Result<Vec<StackEntry>, StoreError> {
    let mut entries: Vec<StackEntry> = Vec::new();
    for row in rows {
        let id: i64 = row.try_get("id")?;
        if entries.last().is_none_or(|entry| entry.id != id) {
            entries.push(StackEntry {
                id,
                trees: Vec::new(),
                when: timestamp_column(row, "created_at", "tree_changes", id)?,
                who: row.try_get("who")?,
                status: status_column(row, "status", "tree_changes", id)?,
                reason: row.try_get("reason")?,
            });
        }
        if let Some(tree_row) = row.try_get::<Option<i64>, _>("tree_row")? {
            let entry = entries.last_mut().expect("pushed above");
            entry.trees.push(decode_stack_tree_as(row, tree_row)?);
        }
    }
    Ok(entries)
}
