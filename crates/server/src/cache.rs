//! The trees cache: every tree read (`GET /trees`, `/trees2`, `/trees/{tree}`
//! and their `/v0` forms) is answered from response bytes serialised once
//! per trees version, so the hot path touches neither the database nor
//! serde.
//!
//! Freshness:
//! - A write this process commits empties the cache before it answers
//!   ([`TreesCache::invalidate`]), so no read that starts after a write's
//!   answer sees the state before it (reference §C.11 item 22). A reload
//!   that raced the write is not installed: each reload notes the
//!   invalidation generation before it reads, and installs only if no
//!   invalidation happened since.
//! - Writes by other processes (replicas on one PostgreSQL) are noticed by
//!   asking the store for its trees version once the snapshot has gone
//!   `interval` without a check. A read is therefore at most `interval` plus
//!   one version query behind another process's committed write; with a zero
//!   interval every read asks. While a check is due, one request makes it and
//!   the others keep serving the snapshot in hand.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use fleetroll_core::trees::CombinedTree;
use fleetroll_store::{Store, StoreError};
use serde::Serialize;
use serde_json::Value;

/// The serialised answers for one trees version.
#[derive(Debug)]
pub(crate) struct Snapshot {
    pub version: i64,
    /// `GET /trees`: `{"result": {name: tree}}`.
    pub by_name: Bytes,
    /// `GET /trees2`: `{"result": [tree]}`.
    pub list: Bytes,
    /// `GET /v0/trees`: `{name: tree}`.
    pub bare_by_name: Bytes,
    pub trees: HashMap<String, TreeBytes>,
}

/// One tree's answers.
#[derive(Debug)]
pub(crate) struct TreeBytes {
    /// `GET /trees/{tree}`: `{"result": tree}`.
    pub enveloped: Bytes,
    /// `GET /v0/trees/{tree}`: the tree.
    pub bare: Bytes,
}

impl Snapshot {
    fn build(version: i64, trees: &[CombinedTree]) -> Result<Snapshot, serde_json::Error> {
        let by_name: serde_json::Map<String, Value> =
            trees.iter().map(|tree| Ok((tree.tree.clone(), serde_json::to_value(tree)?))).collect::<Result<_, _>>()?;
        let bare_by_name = Value::Object(by_name);
        let mut per_tree = HashMap::with_capacity(trees.len());
        for tree in trees {
            let bare = serde_json::to_vec(tree)?;
            let enveloped = enveloped(tree)?;
            per_tree.insert(tree.tree.clone(), TreeBytes { enveloped, bare: bare.into() });
        }
        Ok(Snapshot {
            version,
            by_name: enveloped(&bare_by_name)?,
            list: enveloped(&trees)?,
            bare_by_name: serde_json::to_vec(&bare_by_name)?.into(),
            trees: per_tree,
        })
    }
}

/// `{"result": value}`, the envelope of every read.
pub(crate) fn enveloped<T: Serialize + ?Sized>(value: &T) -> Result<Bytes, serde_json::Error> {
    #[derive(Serialize)]
    struct Envelope<'a, T: ?Sized> {
        result: &'a T,
    }
    serde_json::to_vec(&Envelope { result: value }).map(Bytes::from)
}

/// Why the cache could not answer.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CacheError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot serialise the trees: {0}")]
    Encode(#[from] serde_json::Error),
}

#[derive(Debug)]
pub(crate) struct TreesCache {
    interval: Duration,
    current: RwLock<Option<Arc<Snapshot>>>,
    /// Bumped by every invalidation; a reload installs only if unchanged.
    generation: AtomicU64,
    /// When the snapshot's version was last confirmed, in nanoseconds
    /// since `epoch`.
    checked_at: AtomicU64,
    epoch: Instant,
    /// Reloads one at a time: readers that find the cache empty wait for
    /// the one reload instead of each reading the database.
    reload: tokio::sync::Mutex<()>,
    /// Counts installs, so a reader that waited for a reload can use it.
    installs: AtomicU64,
}

impl TreesCache {
    pub(crate) fn new(interval: Duration) -> TreesCache {
        TreesCache {
            interval,
            current: RwLock::new(None),
            generation: AtomicU64::new(0),
            checked_at: AtomicU64::new(0),
            epoch: Instant::now(),
            reload: tokio::sync::Mutex::new(()),
            installs: AtomicU64::new(0),
        }
    }

    /// Drops the snapshot. Call after every tree write, committed or not,
    /// before answering it.
    pub(crate) fn invalidate(&self) {
        let mut current = self.current.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        self.generation.fetch_add(1, Ordering::SeqCst);
        *current = None;
    }

    /// A snapshot no older than the freshness rules of the module allow.
    /// The second value says whether this call read the database in full.
    pub(crate) async fn snapshot(&self, store: &Store) -> Result<(Arc<Snapshot>, bool), CacheError> {
        let now = self.nanos();
        if let Some(snapshot) = self.current() {
            if !self.is_check_due(now) {
                return Ok((snapshot, false));
            }
            let version = store.trees_version().await?;
            if version == snapshot.version {
                self.checked_at.fetch_max(now, Ordering::SeqCst);
                return Ok((snapshot, false));
            }
        }
        self.reload(store, now).await
    }

    fn current(&self) -> Option<Arc<Snapshot>> {
        self.current.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// Whether the snapshot needs its version checked at `now`. When the
    /// interval is not zero, only the caller that moves `checked_at` forward
    /// makes the check; the others serve the snapshot meanwhile.
    fn is_check_due(&self, now: u64) -> bool {
        let interval = u64::try_from(self.interval.as_nanos()).unwrap_or(u64::MAX);
        if interval == 0 {
            return true;
        }
        let last = self.checked_at.load(Ordering::SeqCst);
        now.saturating_sub(last) >= interval
            && self.checked_at.compare_exchange(last, now, Ordering::SeqCst, Ordering::SeqCst).is_ok()
    }

    async fn reload(&self, store: &Store, requested_at: u64) -> Result<(Arc<Snapshot>, bool), CacheError> {
        let installs = self.installs.load(Ordering::SeqCst);
        let _one_at_a_time = self.reload.lock().await;
        if self.installs.load(Ordering::SeqCst) != installs
            && let Some(snapshot) = self.current()
        {
            // Installed while this request waited, from a read that began
            // after the request did.
            return Ok((snapshot, false));
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let started = self.nanos().max(requested_at);
        let (version, trees) = store.trees_snapshot().await?;
        let snapshot = Arc::new(Snapshot::build(version, &trees)?);
        let mut current = self.current.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        if self.generation.load(Ordering::SeqCst) == generation {
            *current = Some(Arc::clone(&snapshot));
            self.checked_at.store(started, Ordering::SeqCst);
            self.installs.fetch_add(1, Ordering::SeqCst);
        }
        Ok((snapshot, true))
    }

    fn nanos(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}
