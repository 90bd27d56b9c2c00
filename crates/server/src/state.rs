//! What every handler shares: the store, the options, the roles scopes are
//! expanded with, the trees cache, the metrics (with the liveness
//! consumer's counters, when one runs) and the Pulse channel.

use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::{Arc, RwLock};

use fleetroll_core::liveness::IngestCounters;
use fleetroll_core::pulse::Outgoing;
use fleetroll_core::scopes::{Roles, TreeScopes};
use fleetroll_store::Store;
use tokio::sync::mpsc::UnboundedSender;

use crate::cache::{Snapshot, TreesCache};
use crate::error::ApiError;
use crate::jobs::JobsContext;
use crate::metrics::Metrics;
use crate::options::{CorsOrigins, OptionsError, ServerOptions};

/// The state of one server; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    options: ServerOptions,
    cors: CorsOrigins,
    scopes: TreeScopes,
    /// The tree status roles with the configured ones merged in.
    roles: Roles,
    pulse: Option<UnboundedSender<Outgoing>>,
    cache: TreesCache,
    metrics: Metrics,
    /// Replaced whole by [`AppState::with_jobs`]; handlers take a snapshot.
    jobs: RwLock<Arc<JobsContext>>,
}

impl fmt::Debug for AppState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppState")
            .field("backend", &self.inner.store.backend().name())
            .field("options", &self.inner.options)
            .field("pulse", &self.inner.pulse.is_some())
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// A server's state. `pulse`, when given, receives one [`Outgoing`] per
    /// tree status transition a committed write makes; a closed or absent
    /// channel is logged and counted, never fails a request.
    pub fn new(
        store: Store,
        options: ServerOptions,
        pulse: Option<UnboundedSender<Outgoing>>,
    ) -> Result<AppState, OptionsError> {
        let cors = options.check()?;
        let scopes = TreeScopes::new(&options.scope_prefix);
        let mut roles = scopes.roles();
        for (role, granted) in &options.roles {
            roles.entry(role.clone()).or_default().extend(granted.iter().cloned());
        }
        let cache = TreesCache::new(options.version_check_interval);
        let jobs = RwLock::new(Arc::new(JobsContext::default()));
        let inner = Inner { store, options, cors, scopes, roles, pulse, cache, metrics: Metrics::default(), jobs };
        Ok(AppState { inner: Arc::new(inner) })
    }

    /// Reports a liveness consumer's counters at `/metrics`. The counters
    /// are shared with every clone of this state; a later call replaces
    /// them.
    pub fn with_liveness(self, counters: Arc<IngestCounters>) -> AppState {
        self.inner.metrics.set_liveness(counters);
        self
    }

    /// The machines and settings hardware jobs are asked for and run with
    /// (default: no machine, default settings).
    pub fn with_jobs(self, jobs: JobsContext) -> AppState {
        *self.inner.jobs.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(jobs);
        self
    }

    pub(crate) fn jobs_context(&self) -> Arc<JobsContext> {
        self.inner.jobs.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn options(&self) -> &ServerOptions {
        &self.inner.options
    }

    pub(crate) fn cors(&self) -> &CorsOrigins {
        &self.inner.cors
    }

    pub(crate) fn scopes(&self) -> &TreeScopes {
        &self.inner.scopes
    }

    pub(crate) fn roles(&self) -> &Roles {
        &self.inner.roles
    }

    pub(crate) fn pulse(&self) -> Option<&UnboundedSender<Outgoing>> {
        self.inner.pulse.as_ref()
    }

    pub(crate) fn cache(&self) -> &TreesCache {
        &self.inner.cache
    }

    pub(crate) fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }
}

impl AppState {
    /// The trees as the cache has them (see `cache` for how fresh).
    pub(crate) async fn trees(&self) -> Result<Arc<Snapshot>, ApiError> {
        let (snapshot, reloaded) =
            self.cache().snapshot(self.store()).await.map_err(|err| ApiError::Internal(err.to_string()))?;
        if reloaded {
            self.metrics().cache_reloads.fetch_add(1, Ordering::Relaxed);
        }
        Ok(snapshot)
    }
}
