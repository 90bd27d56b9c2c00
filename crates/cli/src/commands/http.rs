//! The HTTP client of the commands that talk to a running `fleetroll serve`
//! (`tree`, `job`): where the server is, the token writes send, and how a
//! refusal is told.

use std::process::ExitCode;

use anyhow::Context as _;
use fleetroll_core::config::Settings;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::cli::JsonArgs;
use crate::output::print_json;

/// A name as one path segment: tree names and worker ids cannot hold `/`,
/// but may hold characters a URL must escape.
pub(crate) fn segment(name: &str) -> String {
    name.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Reads answer `{"result": …}`; writes answer the value itself.
pub(crate) fn unwrap_result(value: Value) -> Value {
    match value {
        Value::Object(mut map) if map.len() == 1 && map.contains_key("result") => {
            map.remove("result").unwrap_or(Value::Null)
        }
        other => other,
    }
}

/// The server, and the token writes send.
pub(crate) struct Api {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
}

impl Api {
    pub(crate) fn new(settings: &Settings, server: Option<&str>) -> anyhow::Result<Api> {
        let base = server.unwrap_or(&settings.server.url).trim_end_matches('/').to_owned();
        let token = std::env::var("FLEETROLL_TOKEN")
            .ok()
            .filter(|t| !t.is_empty())
            .or_else(|| settings.server.token.as_ref().map(|t| t.expose().to_owned()));
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .context("cannot make an HTTP client")?;
        Ok(Api { base, token, http })
    }

    /// One request, its answer printed as JSON or by `print`. A refusal is
    /// printed as its title and detail, and exits 1.
    pub(crate) async fn show(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        output: &JsonArgs,
        print: fn(&Value),
    ) -> anyhow::Result<ExitCode> {
        match self.call(method, path, body).await? {
            Ok(value) if output.json => print_json(&value).map(|()| ExitCode::SUCCESS),
            Ok(value) => {
                print(&unwrap_result(value));
                Ok(ExitCode::SUCCESS)
            }
            Err(code) => Ok(code),
        }
    }

    /// The answer's JSON (`null` when empty), or the exit code of a refusal
    /// after saying why.
    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Result<Value, ExitCode>> {
        let url = format!("{}{path}", self.base);
        let mut request = self.http.request(method.clone(), &url);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.with_context(|| format!("cannot reach the server at {}", self.base))?;
        let status = response.status();
        let bytes = response.bytes().await.with_context(|| format!("{method} {url}: the answer broke off"))?;
        let value: Value =
            if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap_or(Value::Null) };
        if status.is_success() {
            return Ok(Ok(value));
        }
        eprintln!("ERROR: {method} {path}: {}", refusal(status, &value, self.token.is_some()));
        Ok(Err(ExitCode::FAILURE))
    }
}

fn refusal(status: StatusCode, problem: &Value, has_token: bool) -> String {
    let title = problem["title"].as_str().unwrap_or_else(|| status.canonical_reason().unwrap_or("refused"));
    let detail = problem["detail"].as_str().filter(|d| *d != title);
    let mut message = format!("{} {title}", status.as_u16());
    if let Some(detail) = detail {
        message.push_str(&format!(": {detail}"));
    }
    if status == StatusCode::UNAUTHORIZED && !has_token {
        message.push_str(" (set FLEETROLL_TOKEN or [server] token; `fleetroll client create` makes one)");
    }
    message
}
