//! The HTTP API of `fleetroll serve`: tree status (reference §C) in gen 3's
//! style, API clients' bearer tokens and scopes (§A.5), Pulse announcements
//! of status changes, worker liveness (§B: the reference listener's
//! `/machines` and `/api/v1/workers`), Dockerflow health routes, Prometheus
//! metrics and an OpenAPI document generated from the routes.
//!
//! [`router`] builds the app from an [`AppState`]; [`serve`] runs it on an
//! already-bound listener until a shutdown signal, so tests and the CLI run
//! it the same way. The status codes and every deliberate difference from
//! gen 3 are listed in the crate's README.
//!
//! # Freshness of tree reads
//!
//! `GET /trees`, `/trees2`, `/trees/{tree}` and the `/v0` forms are served
//! from response bytes cached per trees version, without touching the
//! database:
//! - a write this server commits empties the cache before it answers, so a
//!   read that starts after the answer never sees the state before the
//!   write;
//! - a write by another process (a replica on the same PostgreSQL, or the
//!   CLI) shows after at most [`ServerOptions::version_check_interval`]
//!   (default 1 s) plus the time of one version query; an interval of zero
//!   asks the store on every read.
//!
//! Logs and the stack are read from the store on every request.

mod auth;
mod cache;
mod error;
mod extract;
mod jobs;
mod liveness;
mod metrics;
mod options;
mod routes;
mod schema;
mod state;
mod writes;

use std::future::Future;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use axum::serve::ListenerExt;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

pub use auth::{Action, Caller, Client, CreateTree, DeleteTree, RevertChanges, UpdateTrees, Writer};
pub use error::{ApiError, PROBLEM_JSON, Unauthorized};
pub use jobs::{JobCreated, JobList, JobView, JobsContext, LogLineView};
pub use liveness::{
    CurrentTask, DEFAULT_RECENT_LIMIT, DEFAULT_WINDOW_HOURS, MAX_RECENT_LIMIT, MAX_WINDOW_HOURS, Worker, WorkerDetail,
    Workers,
};
pub use options::{
    DEFAULT_MAX_BODY_BYTES, DEFAULT_PULSE_EXCHANGE, DEFAULT_REQUEST_TIMEOUT, DEFAULT_VERSION_CHECK_INTERVAL,
    OptionsError, ServerOptions, VersionInfo,
};
pub use routes::Heartbeat;
pub use state::AppState;
pub use writes::{LogEdited, Removed, RemovedTrees, StackEdited, StackRemoved, TreesDelete};

use crate::options::CorsOrigins;

/// The app: every route of the API with its middleware (request logging,
/// CORS, metrics, body limit), answering problem JSON for unknown routes
/// and methods.
pub fn router(state: AppState) -> Router {
    let (routes, _document) = routes::api_routes().split_for_parts();
    let metrics = axum::middleware::from_fn_with_state(state.clone(), metrics::record);
    let deadline = axum::middleware::from_fn_with_state(state.clone(), deadline);
    routes
        .method_not_allowed_fallback(routes::method_not_allowed)
        .fallback(routes::no_route)
        .layer(DefaultBodyLimit::max(state.options().max_body_bytes))
        .layer(deadline)
        .layer(metrics)
        .layer(SetResponseHeaderLayer::if_not_present(CACHE_CONTROL, HeaderValue::from_static("no-cache")))
        .layer(cors(state.cors()))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Answers 503 once a request has taken [`ServerOptions::request_timeout`]
/// (counted by the metrics, which sit outside). The request itself runs in
/// a task of its own and is never cut off part way: a write the client
/// stopped waiting for (or hung up on) still finishes, with what follows
/// it, as the answer warns.
async fn deadline(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let limit = state.options().request_timeout;
    let mut handler = tokio::spawn(next.run(request));
    match tokio::time::timeout(limit, &mut handler).await {
        Ok(Ok(response)) => response,
        Ok(Err(err)) => ApiError::Internal(format!("request task ended abnormally: {err}")).into_response(),
        Err(_) => {
            tracing::warn!(timeout_s = limit.as_secs_f64(), "Request answered 503 at the request timeout; it goes on");
            ApiError::Timeout { limit }.into_response()
        }
    }
}

/// Serves [`router`] on `listener` until `shutdown` completes, then lets
/// requests in flight finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Answers are small and written at once: Nagle's delay would only add
    // latency.
    let listener = listener.tap_io(|stream| {
        if let Err(err) = stream.set_nodelay(true) {
            tracing::debug!(error = %err, "Cannot set TCP_NODELAY");
        }
    });
    axum::serve(listener, router(state)).with_graceful_shutdown(shutdown).await
}

/// The OpenAPI document of every route [`router`] serves
/// (`GET /api/openapi.json`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes::api_routes().split_for_parts().1
}

fn cors(origins: &CorsOrigins) -> CorsLayer {
    let allow_origin = match origins {
        CorsOrigins::Any => AllowOrigin::any(),
        CorsOrigins::List(list) => AllowOrigin::list(list.iter().cloned()),
    };
    CorsLayer::new()
        .allow_origin(allow_origin)
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
        .allow_headers([AUTHORIZATION, CONTENT_TYPE])
}
