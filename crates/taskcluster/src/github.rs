//! The GitHub REST client: branch heads of a repository (following `Link`
//! pagination) and the Windows pools file of worker-images (contents API,
//! base64 YAML). The token is sent as a bearer header and never printed.

use base64::Engine as _;
use reqwest::{Method, StatusCode};
use serde::Deserialize;

use crate::http::{self, HttpError, RetryPolicy};

/// Where worker-images keeps the Windows pools and their image hashes.
pub const WINDOWS_POOLS_OWNER: &str = "mozilla-platform-ops";
pub const WINDOWS_POOLS_REPO: &str = "worker-images";
pub const WINDOWS_POOLS_PATH: &str = "provisioners/windows/MDC1Windows/pools.yml";

/// A GitHub API client.
#[derive(Clone)]
pub struct GhClient {
    http: reqwest::Client,
    api_url: String,
    token: Option<String>,
    retry: RetryPolicy,
}

impl std::fmt::Debug for GhClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let token = self.token.as_ref().map(|_| "<redacted>");
        f.debug_struct("GhClient").field("api_url", &self.api_url).field("token", &token).finish()
    }
}

/// Why GitHub gave no data for one request.
#[derive(Debug, thiserror::Error)]
pub enum GhError {
    #[error("{what} not found (404)")]
    NotFound { what: String },
    #[error("access to {what} denied (403): private repository or rate limit; a token raises the limit")]
    Forbidden { what: String },
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error("{what}: {problem}")]
    Content { what: String, problem: String },
}

#[derive(Deserialize)]
struct RefItem {
    #[serde(rename = "ref")]
    name: String,
    #[serde(default)]
    object: Option<RefObject>,
}

#[derive(Deserialize)]
struct RefObject {
    #[serde(default)]
    sha: Option<String>,
}

#[derive(Deserialize)]
struct ContentItem {
    #[serde(default)]
    content: String,
}

/// The YAML of `pools.yml`: `pools:` with a list, or a bare list.
#[derive(Deserialize)]
#[serde(untagged)]
enum PoolsFile {
    Wrapped { pools: Vec<serde_json::Value> },
    Bare(Vec<serde_json::Value>),
}

impl GhClient {
    /// A client for `api_url` (`https://api.github.com`, or an Enterprise URL).
    pub fn new(api_url: &str, token: Option<String>, retry: RetryPolicy) -> Result<GhClient, HttpError> {
        let http = reqwest::Client::builder().user_agent("fleetroll").build().map_err(|source| {
            HttpError::Transport { method: Method::GET, url: api_url.to_owned(), attempts: 0, source }
        })?;
        Ok(GhClient { http, api_url: api_url.trim_end_matches('/').to_owned(), token, retry })
    }

    /// Whether requests carry a token (the CLI hints at one when not).
    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }

    async fn get(&self, url: &str, what: &str) -> Result<http::Answer, GhError> {
        let build = || {
            let request = self
                .http
                .get(url)
                .header(reqwest::header::ACCEPT, "application/vnd.github+json")
                .header("X-GitHub-Api-Version", "2022-11-28");
            match &self.token {
                Some(token) => request.bearer_auth(token),
                None => request,
            }
        };
        let answer = http::send(&self.retry, &Method::GET, url, &build).await?;
        match answer.status {
            StatusCode::NOT_FOUND => Err(GhError::NotFound { what: what.to_owned() }),
            StatusCode::FORBIDDEN => Err(GhError::Forbidden { what: what.to_owned() }),
            _ => Ok(http::require_success(&Method::GET, url, answer)?),
        }
    }

    /// Every branch head of `owner/repo`: `(branch, sha)`.
    pub async fn branch_heads(&self, owner: &str, repo: &str) -> Result<Vec<(String, String)>, GhError> {
        let what = format!("{owner}/{repo}");
        let mut next = Some(format!("{}/repos/{owner}/{repo}/git/matching-refs/heads?per_page=100", self.api_url));
        let mut heads = Vec::new();
        while let Some(url) = next.take() {
            let answer = self.get(&url, &what).await?;
            let items: Vec<RefItem> = http::json(&Method::GET, &url, &answer.body)?;
            heads.extend(items.into_iter().filter_map(|item| {
                let branch = item.name.strip_prefix("refs/heads/")?.to_owned();
                Some((branch, item.object?.sha?))
            }));
            next = next_link(&answer.headers);
        }
        Ok(heads)
    }

    /// The Windows pools and their image hashes, from worker-images' `pools.yml`.
    pub async fn windows_pools(&self) -> Result<Vec<(String, String)>, GhError> {
        let what = format!("{WINDOWS_POOLS_OWNER}/{WINDOWS_POOLS_REPO}/{WINDOWS_POOLS_PATH}");
        let url =
            format!("{}/repos/{WINDOWS_POOLS_OWNER}/{WINDOWS_POOLS_REPO}/contents/{WINDOWS_POOLS_PATH}", self.api_url);
        let answer = self.get(&url, &what).await?;
        let item: ContentItem = http::json(&Method::GET, &url, &answer.body)?;
        parse_pools_file(&item.content).map_err(|problem| GhError::Content { what, problem })
    }
}

/// Decodes the contents API's base64 (wrapped in newlines) and reads the YAML.
pub fn parse_pools_file(content_b64: &str) -> Result<Vec<(String, String)>, String> {
    let compact: String = content_b64.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD.decode(compact).map_err(|e| format!("not base64: {e}"))?;
    let text = String::from_utf8(bytes).map_err(|_| "not UTF-8".to_owned())?;
    let file: PoolsFile = yaml_serde::from_str(&text).map_err(|e| format!("not a pools list: {e}"))?;
    let (PoolsFile::Wrapped { pools } | PoolsFile::Bare(pools)) = file;
    Ok(pools
        .iter()
        .filter_map(|pool| {
            let name = pool.get("name")?.as_str()?;
            let hash = pool.get("hash")?.as_str()?;
            (!name.is_empty() && !hash.is_empty()).then(|| (name.to_owned(), hash.to_owned()))
        })
        .collect())
}

/// The `rel="next"` URL of a `Link` header.
fn next_link(headers: &reqwest::header::HeaderMap) -> Option<String> {
    let link = headers.get(reqwest::header::LINK)?.to_str().ok()?;
    link.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        let is_next = params.split(';').any(|p| p.trim().replace(' ', "") == "rel=\"next\"");
        is_next.then(|| url.trim().trim_start_matches('<').trim_end_matches('>').to_owned())
    })
}
