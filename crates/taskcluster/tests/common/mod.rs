//! An in-process server answering the documented Taskcluster and GitHub
//! endpoints with documented response shapes, and Store helpers.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use fleetroll_core::config::StoreLocation;
use fleetroll_core::records::HostObservation;
use fleetroll_store::{Store, StoreOptions};
use serde_json::{Value, json};

/// How a pool answers `listWorkers`.
#[derive(Clone, Debug)]
pub enum PoolKind {
    /// `n` workers named `<prefix>-<i>`.
    Workers {
        prefix: String,
        n: usize,
    },
    Missing,
    Garbage,
    MissingFields,
    /// 500 on the first request, then like `Workers`.
    FailOnce {
        prefix: String,
        n: usize,
    },
    /// The first request answers after `delay`, then like `Workers`.
    SlowOnce {
        prefix: String,
        n: usize,
        delay: Duration,
    },
}

#[derive(Default)]
pub struct Fake {
    pub pools: BTreeMap<String, PoolKind>,
    pub worker_types: Vec<String>,
    pub page_size: usize,
    pub requests: AtomicUsize,
    pub hits: Mutex<BTreeMap<String, usize>>,
    pub authorizations: Mutex<Vec<(String, String, Option<String>)>>,
    pub puts: Mutex<Vec<(String, Value)>>,
    /// GitHub: "owner/repo" → branch heads.
    pub repos: BTreeMap<String, Vec<(String, String)>>,
    pub pools_yml: Option<String>,
}

pub async fn serve(fake: Fake) -> (String, Arc<Fake>) {
    let fake = Arc::new(fake);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    let app = axum::Router::new().fallback(handle).with_state(fake.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), fake)
}

fn page<T: serde::Serialize>(all: &[T], key: &str, query: &BTreeMap<String, String>, size: usize) -> Value {
    let start: usize =
        query.get("continuationToken").and_then(|t| t.strip_prefix("tok")).and_then(|n| n.parse().ok()).unwrap_or(0);
    let end = (start + size).min(all.len());
    let mut body = json!({ key: &all[start.min(all.len())..end] });
    if end < all.len() {
        body["continuationToken"] = json!(format!("tok{end}"));
    }
    body
}

pub fn worker(id: &str) -> Value {
    json!({
        "workerGroup": "mdc1", "workerId": id, "firstClaim": "2026-01-01T00:00:00.000Z",
        "lastDateActive": "2026-01-02T03:04:05.000Z",
        "quarantineUntil": if id.ends_with("-1") { json!("2030-01-01T00:00:00.000Z") } else { Value::Null },
        "latestTask": {"taskId": format!("T{id}"), "runId": 0},
    })
}

async fn handle(State(fake): State<Arc<Fake>>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    fake.requests.fetch_add(1, Ordering::SeqCst);
    let path = uri.path().to_owned();
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let resource = uri.path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_default();
    fake.authorizations.lock().expect("lock").push((method.to_string(), resource, auth));
    let hit = {
        let mut hits = fake.hits.lock().expect("lock");
        let n = hits.entry(path.clone()).or_default();
        *n += 1;
        *n
    };
    let query: BTreeMap<String, String> = uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter_map(|kv| kv.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())))
        .collect();
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let size = fake.page_size.max(1);
    match parts.as_slice() {
        ["api", "queue", "v1", "provisioners", _, "worker-types"] => {
            let items: Vec<Value> = fake.worker_types.iter().map(|wt| json!({"workerType": wt})).collect();
            axum::Json(page(&items, "workerTypes", &query, size)).into_response()
        }
        ["api", "queue", "v1", "provisioners", _, "worker-types", wt, "workers"] if method == Method::GET => {
            list_workers(&fake, wt, hit, &query, size).await
        }
        ["api", "queue", "v1", "provisioners", _, "worker-types", _, "workers", _, id] if method == Method::PUT => {
            let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            fake.puts.lock().expect("lock").push((path.clone(), body.clone()));
            axum::Json(json!({"workerId": id, "quarantineUntil": body["quarantineUntil"]})).into_response()
        }
        ["api", "worker-manager", "v1", "workers", _, wt] => match fake.pools.get(*wt) {
            Some(PoolKind::Workers { prefix, n }) if wt.ends_with("managed") => {
                let items: Vec<Value> = (0..*n).map(|i| json!({"workerGroup": "mdc1", "workerId": format!("{prefix}-{i}"), "state": "running"})).collect();
                axum::Json(page(&items, "workers", &query, size)).into_response()
            }
            _ => (StatusCode::NOT_FOUND, axum::Json(json!({"code": "ResourceNotFound"}))).into_response(),
        },
        ["api", "queue", "v1", "task", id, "status"] => axum::Json(json!({"status": {"taskId": id, "runs": [
            {"runId": 0, "state": "completed", "started": "2026-01-02T03:00:00.000Z", "resolved": "2026-01-02T03:04:00.000Z"}
        ]}}))
        .into_response(),
        ["repos", owner, repo, "git", "matching-refs", "heads"] => refs(&fake, owner, repo, &query, &uri, &headers),
        ["repos", _, _, "contents", ..] => match &fake.pools_yml {
            Some(yml) => {
                let b64 = base64::engine::general_purpose::STANDARD.encode(yml);
                // The contents API wraps its base64 at 60 columns.
                let wrapped: Vec<String> = b64.as_bytes().chunks(60).map(|c| String::from_utf8_lossy(c).into_owned()).collect();
                axum::Json(json!({"encoding": "base64", "content": wrapped.join("\n")})).into_response()
            }
            None => StatusCode::NOT_FOUND.into_response(),
        },
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn list_workers(fake: &Fake, wt: &str, hit: usize, query: &BTreeMap<String, String>, size: usize) -> Response {
    let (prefix, n) = match fake.pools.get(wt) {
        None | Some(PoolKind::Missing) => {
            return (
                StatusCode::NOT_FOUND,
                axum::Json(json!({"code": "ResourceNotFound", "message": "no such worker type"})),
            )
                .into_response();
        }
        Some(PoolKind::Garbage) => return (StatusCode::OK, "{\"workers\": [ {\"workerId\": ").into_response(),
        Some(PoolKind::MissingFields) => {
            return axum::Json(json!({"workers": [{"workerGroup": "mdc1"}]})).into_response();
        }
        Some(PoolKind::FailOnce { .. }) if hit == 1 => {
            return (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response();
        }
        Some(PoolKind::SlowOnce { delay, .. }) if hit == 1 => {
            tokio::time::sleep(*delay).await;
            return axum::Json(json!({"workers": []})).into_response();
        }
        Some(
            PoolKind::Workers { prefix, n } | PoolKind::FailOnce { prefix, n } | PoolKind::SlowOnce { prefix, n, .. },
        ) => (prefix, *n),
    };
    let items: Vec<Value> = (0..n).map(|i| worker(&format!("{prefix}-{i}"))).collect();
    axum::Json(page(&items, "workers", query, size)).into_response()
}

fn refs(
    fake: &Fake,
    owner: &str,
    repo: &str,
    query: &BTreeMap<String, String>,
    uri: &Uri,
    headers: &HeaderMap,
) -> Response {
    let host = headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("");
    let Some(heads) = fake.repos.get(&format!("{owner}/{repo}")) else {
        return (StatusCode::NOT_FOUND, axum::Json(json!({"message": "Not Found"}))).into_response();
    };
    let page_no: usize = query.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let per = 2;
    let items: Vec<Value> = heads
        .iter()
        .skip((page_no - 1) * per)
        .take(per)
        .map(|(b, sha)| json!({"ref": format!("refs/heads/{b}"), "object": {"sha": sha, "type": "commit"}}))
        .collect();
    let mut response = axum::Json(items).into_response();
    if page_no * per < heads.len() {
        let next =
            format!("<http://{host}{}?per_page=100&page={}>; rel=\"next\", <x>; rel=\"last\"", uri.path(), page_no + 1);
        response.headers_mut().insert("link", next.parse().expect("a header value"));
    }
    response
}

pub async fn store(dir: &std::path::Path) -> Store {
    Store::open(&StoreLocation::Sqlite(dir.join("fleetroll.db")), &StoreOptions::default()).await.expect("open store")
}

pub fn observation(host: &str, role: Option<&str>, override_sha: Option<&str>) -> HostObservation {
    HostObservation {
        host: host.to_owned(),
        ts: chrono::Utc::now(),
        ok: true,
        observed: json!({"role": role, "role_present": role.is_some(), "override_sha256": override_sha, "override_present": override_sha.is_some()}),
        ssh_rc: Some(0),
        failure: None,
    }
}
