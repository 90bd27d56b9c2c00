//! Waking idle job workers when a job is queued, so that a job does not
//! wait out a worker's poll.
//!
//! Within a process, a store and its clones share one [`Notify`]: a job
//! queued through any of them wakes one waiting worker. On PostgreSQL the
//! store also sends `NOTIFY fleetroll_jobs_queued` with each job queued, and
//! a store whose workers wait `LISTEN`s on a connection of its own, so a job
//! queued by another process (another server replica) wakes them too.
//! SQLite has no such channel between processes; there the poll remains.
//!
//! Wake-ups are hints, never the only way a job is found: a notification
//! sent while the listener reconnects is lost and the job is claimed at the
//! next poll. A wake-up with no job for it costs one claim that finds none.

use std::convert::Infallible;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use fleetroll_core::config::Secret;
use sqlx::postgres::PgListener;
use tokio::sync::Notify;

/// The PostgreSQL channel; its payload is how many jobs were queued.
pub(crate) const CHANNEL: &str = "fleetroll_jobs_queued";

/// Wake-ups at most one notification causes: a recovery may queue many
/// jobs again, and more waiters than workers would only claim nothing.
const MAX_WAKES_PER_NOTIFICATION: usize = 64;

/// The pause before listening again after the connection failed.
const RETRY: Duration = Duration::from_secs(5);

/// Shared by a store's clones; the listener stops when the last one is
/// dropped or the store is closed.
#[derive(Debug, Default)]
pub(crate) struct Wakeups {
    queued: Arc<Notify>,
    /// PostgreSQL's URL, for the listening connection.
    postgres: Option<Secret>,
    listener: OnceLock<Listener>,
}

/// The listening task, aborted when dropped.
#[derive(Debug)]
struct Listener(tokio::task::JoinHandle<()>);

impl Drop for Listener {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Wakeups {
    pub(crate) fn new(postgres: Option<Secret>) -> Wakeups {
        Wakeups { postgres, ..Wakeups::default() }
    }

    /// `count` jobs were queued through this store: wake as many waiters
    /// here (a PostgreSQL store also notifies the other processes, in SQL).
    pub(crate) fn queued(&self, count: usize) {
        wake(&self.queued, count);
    }

    /// Waits for a wake-up, or `at_most`. The first wait of a PostgreSQL
    /// store starts its listener.
    pub(crate) async fn wait(&self, at_most: Duration) {
        if let Some(url) = &self.postgres {
            self.listener.get_or_init(|| Listener(tokio::spawn(listen(url.clone(), self.queued.clone()))));
        }
        // Timing out is the normal end of an idle pause, not an error.
        let _ = tokio::time::timeout(at_most, self.queued.notified()).await;
    }

    /// Stops the listener, if one runs: [`crate::Store::close`].
    pub(crate) fn stop(&self) {
        if let Some(listener) = self.listener.get() {
            listener.0.abort();
        }
    }
}

/// Listens on [`CHANNEL`] until aborted, waking one waiter per job a
/// notification announces, and listens again after a failure.
async fn listen(url: Secret, queued: Arc<Notify>) {
    loop {
        let Err(err) = listen_once(&url, &queued).await;
        tracing::warn!("job wake-ups: cannot listen on PostgreSQL, polling meanwhile: {err}");
        tokio::time::sleep(RETRY).await;
    }
}

/// Returns only with the error that ended listening. `recv` reconnects by
/// itself after a dropped connection; it fails when it cannot.
async fn listen_once(url: &Secret, queued: &Notify) -> Result<Infallible, sqlx::Error> {
    let mut listener = PgListener::connect(url.expose()).await?;
    listener.listen(CHANNEL).await?;
    loop {
        let notification = listener.recv().await?;
        wake(queued, notification.payload().parse().unwrap_or(1).clamp(1, MAX_WAKES_PER_NOTIFICATION));
    }
}

/// One waiter per job: a waiter that claims one job leaves the rest to others.
fn wake(queued: &Notify, jobs: usize) {
    for _ in 0..jobs {
        queued.notify_one();
    }
}
