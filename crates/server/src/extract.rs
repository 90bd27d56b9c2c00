//! Extractors whose rejections are [`ApiError`]s, so a bad body, path or
//! query string gets the same problem JSON as every other error.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use fleetroll_core::trees;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::state::AppState;

/// A JSON request body read by core's `trees::parse_body`, which names the
/// field at fault. Bodies over the configured limit get 413 before they are
/// read in full.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        if !is_json(&request) {
            return Err(ApiError::NotJson);
        }
        let limit = state.options().max_body_bytes;
        let bytes = Bytes::from_request(request, state).await.map_err(|rejection| body_error(&rejection, limit))?;
        Ok(JsonBody(trees::parse_body(&bytes)?))
    }
}

/// `application/json`, or any `application/…+json`, with any parameters.
fn is_json(request: &Request) -> bool {
    let Some(value) = request.headers().get(CONTENT_TYPE).and_then(|value| value.to_str().ok()) else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

fn body_error(rejection: &BytesRejection, limit: usize) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::BodyTooLarge { limit }
    } else {
        ApiError::BadRequest { title: "Unreadable request body", detail: rejection.body_text() }
    }
}

/// Path parameters; a segment of the wrong type (a stack id that is not a
/// number) is a 400 naming it.
#[derive(Debug)]
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if parts.uri.path().contains("%00") {
            let detail = "Paths may not contain NUL characters (%00).".to_owned();
            return Err(ApiError::BadRequest { title: "Invalid path", detail });
        }
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(ApiPath(value)),
            Err(rejection) => Err(ApiError::BadRequest { title: "Invalid path", detail: rejection.body_text() }),
        }
    }
}

/// A query string; unknown or malformed parameters are a 400 naming them.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned> FromRequestParts<AppState> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // PostgreSQL refuses NUL in text: a host filter or a job's reason
        // holding one would fail in the store (500) instead of here (400).
        if parts.uri.query().is_some_and(|query| query.contains("%00")) {
            let detail = "Query strings may not contain NUL characters (%00).".to_owned();
            return Err(ApiError::BadRequest { title: "Invalid query string", detail });
        }
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(ApiQuery(value)),
            Err(rejection) => {
                Err(ApiError::BadRequest { title: "Invalid query string", detail: rejection.body_text() })
            }
        }
    }
}
