//! The one error type of every handler and extractor, and the one place it
//! becomes an HTTP response: `application/problem+json` in gen 3's shape
//! (core `trees::problem_json`), whatever went wrong, except the unknown
//! machine of the reference listener's `/machines/{id}`, answered in its
//! plain text.

use axum::http::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use fleetroll_core::jobs::JobError;
use fleetroll_core::trees::{TreeError, problem_json};
use fleetroll_store::{StoreError, TreesError};

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The `Content-Type` of error bodies. JSON is UTF-8 by definition, but
/// clients that do not know `problem+json` as JSON guess the charset of
/// text without one, and mangle tree names that are not ASCII.
const PROBLEM_CONTENT_TYPE: &str = "application/problem+json; charset=utf-8";

/// Why a request was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Refused by the tree rules (400 or 404, as core says).
    #[error(transparent)]
    Rejected(#[from] TreeError),
    /// No usable credentials (401).
    #[error("unauthorized: {0}")]
    Unauthorized(Unauthorized),
    /// Valid credentials without the scope the request needs (403).
    #[error("missing scope {scope}")]
    MissingScope { scope: String },
    /// A request body over the configured limit (413).
    #[error("request body over {limit} bytes")]
    BodyTooLarge { limit: usize },
    /// A body sent as something other than JSON (415).
    #[error("request body is not JSON")]
    NotJson,
    /// A path segment or query string the route cannot read (400).
    #[error("bad request: {detail}")]
    BadRequest { title: &'static str, detail: String },
    /// No route has this path (404).
    #[error("no route for {path}")]
    NoRoute { path: String },
    /// The route exists, but not for this method (405).
    #[error("{method} not allowed on {path}")]
    MethodNotAllowed { method: String, path: String },
    /// No worker by this name has been seen (404).
    #[error("unknown worker {worker_group}/{worker_id}")]
    UnknownWorker { worker_group: String, worker_id: String },
    /// `GET /machines/{id}` of a machine never seen, or an id without `:`
    /// (404). Answered as the reference listener did, in plain text, so its
    /// clients keep working: the one error that is not problem JSON.
    #[error("unknown machine")]
    UnknownMachine,
    /// A job that cannot be asked for (400, 403, 404 or 422, by cause).
    #[error(transparent)]
    Job(#[from] JobError),
    /// No job has this id (404).
    #[error("no job {id}")]
    UnknownJob { id: i64 },
    /// A finished job cannot be cancelled (409).
    #[error("job {id} is already {state}")]
    JobFinished { id: i64, state: &'static str },
    /// The request took longer than the server allows (503).
    #[error("request stopped after {limit:?}")]
    Timeout { limit: std::time::Duration },
    /// Our failure (500): logged in full, answered without internals.
    #[error("internal error: {0}")]
    Internal(String),
}

/// The body of [`ApiError::UnknownMachine`], byte for byte the reference's.
pub(crate) const UNKNOWN_MACHINE: &str = "unknown machine";

/// Why a write's credentials were refused. Each case says what to send; none
/// says whether a client exists, or was revoked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unauthorized {
    MissingHeader,
    MalformedHeader,
    InvalidToken,
}

impl std::fmt::Display for Unauthorized {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Unauthorized::MissingHeader => "Authorization header required",
            Unauthorized::MalformedHeader => "Malformed Authorization header",
            Unauthorized::InvalidToken => "Invalid token",
        })
    }
}

impl Unauthorized {
    fn detail(self) -> &'static str {
        match self {
            Unauthorized::MissingHeader => "This request needs an `Authorization: Bearer <token>` header.",
            Unauthorized::MalformedHeader => "The Authorization header must read `Bearer <token>`.",
            Unauthorized::InvalidToken => "The token is not valid.",
        }
    }
}

impl From<TreesError> for ApiError {
    fn from(err: TreesError) -> ApiError {
        match err {
            TreesError::Rejected(err) => ApiError::Rejected(err),
            TreesError::Store(err) => err.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> ApiError {
        ApiError::Internal(format!("store: {err}"))
    }
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Rejected(err) => StatusCode::from_u16(err.status()).unwrap_or(StatusCode::BAD_REQUEST),
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::MissingScope { .. } => StatusCode::FORBIDDEN,
            ApiError::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::NotJson => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::NoRoute { .. } => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::UnknownWorker { .. } | ApiError::UnknownMachine => StatusCode::NOT_FOUND,
            ApiError::Job(err) => job_status(err),
            ApiError::UnknownJob { .. } => StatusCode::NOT_FOUND,
            ApiError::JobFinished { .. } => StatusCode::CONFLICT,
            ApiError::Timeout { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The problem's title and detail.
    fn title_detail(&self) -> (String, String) {
        match self {
            ApiError::Rejected(err) => (err.title(), err.detail()),
            ApiError::Unauthorized(why) => (why.to_string(), why.detail().to_owned()),
            ApiError::MissingScope { scope } => {
                ("Missing scope".to_owned(), format!("This request needs the scope {scope}, which the client lacks."))
            }
            ApiError::BodyTooLarge { limit } => {
                ("Payload Too Large".to_owned(), format!("The request body may be at most {limit} bytes."))
            }
            ApiError::NotJson => (
                "Unsupported Media Type".to_owned(),
                "Send the request body as JSON, with `Content-Type: application/json`.".to_owned(),
            ),
            ApiError::BadRequest { title, detail } => ((*title).to_owned(), detail.clone()),
            ApiError::NoRoute { path } => ("Not Found".to_owned(), format!("There is no route {path}.")),
            ApiError::MethodNotAllowed { method, path } => {
                ("Method Not Allowed".to_owned(), format!("{method} is not allowed on {path}."))
            }
            ApiError::UnknownWorker { worker_group, worker_id } => (
                format!("No worker {worker_group}/{worker_id} found."),
                "No queue event or preload has shown this worker alive.".to_owned(),
            ),
            ApiError::UnknownMachine => ("Not Found".to_owned(), UNKNOWN_MACHINE.to_owned()),
            ApiError::Job(JobError::MissingScope { scope }) => {
                ("Missing scope".to_owned(), format!("This request needs the scope {scope}, which the client lacks."))
            }
            ApiError::Job(err @ JobError::NotManaged(_)) => ("Not a managed host.".to_owned(), err.to_string()),
            ApiError::Job(err) => (job_title(err).to_owned(), err.to_string()),
            ApiError::UnknownJob { id } => (format!("No job {id} found."), "No job has this id.".to_owned()),
            ApiError::JobFinished { id, state } => (
                "Job already finished".to_owned(),
                format!("Job {id} is {state}; only a queued or running job can be cancelled."),
            ),
            ApiError::Timeout { limit } => (
                "Service Unavailable".to_owned(),
                format!(
                    "The request took longer than {:.1} s; the server stopped waiting for it. A write may still \
                     take effect: check before sending it again.",
                    limit.as_secs_f64()
                ),
            ),
            ApiError::Internal(_) => {
                ("Internal Server Error".to_owned(), "The server could not complete the request.".to_owned())
            }
        }
    }
}

/// 404 for a host the inventory does not manage (roller's answer), 422 for
/// a managed host without what the task needs, 403 for a missing scope,
/// 400 for the rest (a name or id that cannot be read).
fn job_status(err: &JobError) -> StatusCode {
    match err {
        JobError::MissingScope { .. } => StatusCode::FORBIDDEN,
        JobError::NotManaged(_) => StatusCode::NOT_FOUND,
        JobError::MissingBmc { .. }
        | JobError::MissingPdu { .. }
        | JobError::MissingSnmpCommunity
        | JobError::MissingSsh { .. }
        | JobError::NoRebootMethod { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        JobError::BadTransition { .. } => StatusCode::CONFLICT,
        JobError::UnknownTask { .. }
        | JobError::InvalidWorkerId(_)
        | JobError::InvalidHost(_)
        | JobError::Ambiguous { .. }
        | JobError::Invalid(_) => StatusCode::BAD_REQUEST,
    }
}

fn job_title(err: &JobError) -> &'static str {
    match job_status(err) {
        StatusCode::UNPROCESSABLE_ENTITY => "The machine cannot run this task.",
        StatusCode::CONFLICT => "Conflict",
        _ => "Bad job request.",
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(message) = &self {
            // The client sees a generic body; the operator sees why.
            tracing::error!(error = %message, "Request failed");
        }
        let status = self.status();
        if let ApiError::UnknownMachine = self {
            let content_type = HeaderValue::from_static("text/plain; charset=utf-8");
            return (status, [(CONTENT_TYPE, content_type)], UNKNOWN_MACHINE).into_response();
        }
        let (title, detail) = self.title_detail();
        let body = problem_json(status.as_u16(), &title, &detail).to_string();
        let mut response = (status, body).into_response();
        response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(PROBLEM_CONTENT_TYPE));
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
