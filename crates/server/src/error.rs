//! The one error type of every handler and extractor, and the one place it
//! becomes an HTTP response: `application/problem+json` in gen 3's shape
//! (core `trees::problem_json`), whatever went wrong.

use axum::http::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
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
    /// Our failure (500): logged in full, answered without internals.
    #[error("internal error: {0}")]
    Internal(String),
}

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
            ApiError::Internal(_) => {
                ("Internal Server Error".to_owned(), "The server could not complete the request.".to_owned())
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(message) = &self {
            // The client sees a generic body; the operator sees why.
            tracing::error!(error = %message, "Request failed");
        }
        let status = self.status();
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
