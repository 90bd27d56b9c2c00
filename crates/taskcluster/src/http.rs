//! One HTTP request with retries: 5xx answers, 429, timeouts and connection
//! failures are retried with exponential backoff and jitter; other answers
//! are returned to the caller, who knows what a 404 means for it.

use std::time::Duration;

use reqwest::{Method, StatusCode};

/// How hard to try.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Tries in all, the first included.
    pub attempts: u32,
    /// The wait before the second try; doubled each time, plus up to as
    /// much again of jitter so many clients do not retry in step.
    pub base_delay: Duration,
    /// The limit for one try, answer body included.
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy { attempts: 5, base_delay: Duration::from_millis(500), timeout: Duration::from_secs(30) }
    }
}

/// Why a request gave no usable answer. Carries the URL (never a token).
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("{method} {url}: HTTP {status}: {body}")]
    Status { method: Method, url: String, status: StatusCode, body: String },
    #[error("{method} {url}: {source} (after {attempts} tries)")]
    Transport { method: Method, url: String, attempts: u32, source: reqwest::Error },
    #[error("{method} {url}: answer is not the expected JSON: {source}")]
    Json { method: Method, url: String, source: serde_json::Error },
}

impl HttpError {
    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            HttpError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// An answer: status, headers and the whole body.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

/// Builds the request for one try; called again for each retry so signed
/// headers are fresh.
pub type BuildRequest<'a> = dyn Fn() -> reqwest::RequestBuilder + Send + Sync + 'a;

/// Sends until an answer that is not worth retrying, or the tries run out.
pub async fn send(
    policy: &RetryPolicy,
    method: &Method,
    url: &str,
    build: &BuildRequest<'_>,
) -> Result<Answer, HttpError> {
    let attempts = policy.attempts.max(1);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let last = attempt >= attempts;
        match try_once(policy, build).await {
            Ok(answer) if retryable(answer.status) && !last => {
                tracing::debug!(%url, status = %answer.status, attempt, "retrying");
            }
            Ok(answer) => return Ok(answer),
            Err(source) if last || !(source.is_timeout() || source.is_connect() || source.is_request()) => {
                return Err(HttpError::Transport {
                    method: method.clone(),
                    url: url.to_owned(),
                    attempts: attempt,
                    source,
                });
            }
            Err(error) => tracing::debug!(%url, %error, attempt, "retrying"),
        }
        tokio::time::sleep(backoff(policy.base_delay, attempt)).await;
    }
}

async fn try_once(policy: &RetryPolicy, build: &BuildRequest<'_>) -> Result<Answer, reqwest::Error> {
    let response = build().timeout(policy.timeout).send().await?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.bytes().await?.to_vec();
    Ok(Answer { status, headers, body })
}

fn retryable(status: StatusCode) -> bool {
    status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS
}

/// `base * 2^(attempt-1)` plus jitter of up to the same again.
fn backoff(base: Duration, attempt: u32) -> Duration {
    let exp = base.saturating_mul(1 << (attempt - 1).min(10));
    exp + exp.mul_f64(fastrand::f64())
}

/// A non-2xx answer as an error, with the start of its body for the reader.
pub fn require_success(method: &Method, url: &str, answer: Answer) -> Result<Answer, HttpError> {
    if answer.status.is_success() {
        return Ok(answer);
    }
    let body: String = String::from_utf8_lossy(&answer.body).chars().take(300).collect();
    Err(HttpError::Status { method: method.clone(), url: url.to_owned(), status: answer.status, body })
}

/// Parses a JSON answer body.
pub fn json<T: serde::de::DeserializeOwned>(method: &Method, url: &str, body: &[u8]) -> Result<T, HttpError> {
    serde_json::from_slice(body).map_err(|source| HttpError::Json {
        method: method.clone(),
        url: url.to_owned(),
        source,
    })
}
