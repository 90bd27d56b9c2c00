//! A server under test: the real router on 127.0.0.1:0 over a test store,
//! run in-process by `serve` and stopped through its shutdown signal, with
//! API clients for each role and the receiving end of its Pulse channel.

#![allow(dead_code, unreachable_pub)]

use std::sync::Mutex;

use chrono::Utc;
use fleetroll_core::pulse::Outgoing;
use fleetroll_core::scopes::{format_token, token_hash};
use fleetroll_server::{AppState, ServerOptions, serve};
use fleetroll_store::{NewClient, Store};
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use fleetroll_testdb::TestDb;

pub const PREFIX: &str = "project:fleetroll:treestatus";
pub const MDN: &str = "https://developer.mozilla.org/en-US/docs/Web/HTTP/Status/";

/// Tokens of the clients every test store gets.
#[derive(Clone, Debug)]
pub struct Tokens {
    /// `assume:<prefix>/admin`: every write.
    pub admin: String,
    /// `assume:<prefix>/sheriff`: updates and reverts.
    pub sheriff: String,
    /// Scopes that grant no tree write.
    pub reader: String,
    /// An admin client, revoked.
    pub revoked: String,
}

pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
    pub store: Store,
    pub state: AppState,
    pub tokens: Tokens,
    pulse: Mutex<Option<UnboundedReceiver<Outgoing>>>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
}

/// An answer: status, headers and body text.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|err| panic!("not JSON ({err}): {}", self.text))
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", |value| value.to_str().unwrap_or(""))
    }

    /// Asserts the status, with the body in the message.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Reply {
        assert_eq!(self.status, status, "body: {}", self.text);
        self
    }

    /// Asserts a problem JSON answer with this status; returns its title and detail.
    #[track_caller]
    pub fn problem(&self, status: u16) -> (String, String) {
        self.expect(status);
        assert_eq!(self.header("content-type"), "application/problem+json; charset=utf-8", "{}", self.text);
        let body = self.json();
        let keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["detail", "status", "title", "type"], "{body}");
        assert_eq!(body["status"], status);
        assert_eq!(body["type"], format!("{MDN}{status}"));
        (body["title"].as_str().unwrap().to_owned(), body["detail"].as_str().unwrap().to_owned())
    }
}

impl Tokens {
    /// No tokens, for servers a test gives clients of its own.
    pub fn none() -> Tokens {
        Tokens { admin: String::new(), sheriff: String::new(), reader: String::new(), revoked: String::new() }
    }
}

/// Makes the standard clients in `store`.
async fn make_clients(store: &Store) -> Tokens {
    let make = async |name: &str, scopes: &[String]| {
        let random: [u8; 32] = std::array::from_fn(|_| fastrand::u8(..));
        let token = format_token(&random);
        let new = NewClient {
            name: name.to_owned(),
            token_hash: token_hash(&token),
            scopes: scopes.to_vec(),
            description: String::new(),
        };
        store.create_client(&new, Utc::now()).await.expect("create client");
        token
    };
    let tokens = Tokens {
        admin: make("admin", &[format!("assume:{PREFIX}/admin")]).await,
        sheriff: make("sheriff", &[format!("assume:{PREFIX}/sheriff")]).await,
        reader: make("reader", &["project:fleetroll:other/*".to_owned(), "queue:*".to_owned()]).await,
        revoked: make("gone", &[format!("assume:{PREFIX}/admin")]).await,
    };
    store.revoke_client("gone", Utc::now()).await.expect("revoke client");
    tokens
}

/// Options tests run with unless they say otherwise.
pub fn test_options() -> ServerOptions {
    ServerOptions { pulse_exchange: "exchange/test/treestatus".to_owned(), ..ServerOptions::default() }
}

impl Api {
    /// A server over a new store in `db`, with the standard clients.
    pub async fn start(db: &TestDb) -> Api {
        Api::start_with(db, test_options()).await
    }

    pub async fn start_with(db: &TestDb, options: ServerOptions) -> Api {
        let store = db.open(10).await;
        let tokens = make_clients(&store).await;
        Api::launch(store, tokens, options, true).await
    }

    /// Another server on the same database (a replica), with its own cache.
    pub async fn replica(&self, db: &TestDb, options: ServerOptions) -> Api {
        Api::launch(db.open(10).await, self.tokens.clone(), options, true).await
    }

    /// A server on `store`, with a Pulse channel or none.
    pub async fn launch(store: Store, tokens: Tokens, options: ServerOptions, with_pulse: bool) -> Api {
        let (sender, receiver) = unbounded_channel();
        let state = AppState::new(store.clone(), options, with_pulse.then_some(sender)).expect("valid options");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(serve(listener, state.clone(), async {
            let _ = stopped.await;
        }));
        Api {
            base,
            http: reqwest::Client::new(),
            store,
            state,
            tokens,
            pulse: Mutex::new(Some(receiver)),
            shutdown: Some(stop),
            server: Some(server),
        }
    }

    /// Stops the server through its shutdown signal and waits for it.
    pub async fn stop(mut self) {
        let _ = self.shutdown.take().expect("running").send(());
        let outcome = self.server.take().expect("running").await.expect("server task");
        outcome.expect("serve ends cleanly on shutdown");
        self.store.close().await;
    }

    pub async fn call(&self, method: &str, path: &str, token: Option<&str>, body: Option<&Value>) -> Reply {
        let bytes = body.map(|body| (body.to_string().into_bytes(), "application/json"));
        self.raw(method, path, token, bytes).await
    }

    /// A request with a body of any type.
    pub async fn raw(&self, method: &str, path: &str, token: Option<&str>, body: Option<(Vec<u8>, &str)>) -> Reply {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some((bytes, content_type)) = body {
            request = request.header("content-type", content_type).body(bytes);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        Reply { status, headers, text }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.call("GET", path, None, None).await
    }

    /// A write as the admin client.
    pub async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> Reply {
        self.call(method, path, Some(&self.tokens.admin), body.as_ref()).await
    }

    /// Creates open trees.
    pub async fn create(&self, names: &[&str]) {
        for name in names {
            let body = json!({"tree": name});
            self.admin("PUT", &format!("/trees/{name}"), Some(body)).await.expect(201);
        }
    }

    /// `PATCH /trees` as the admin, expecting 200.
    pub async fn update(&self, body: Value) -> Value {
        self.admin("PATCH", "/trees", Some(body)).await.expect(200).json()
    }

    /// `GET /trees/{name}`'s result.
    pub async fn tree(&self, name: &str) -> Value {
        self.get(&format!("/trees/{name}")).await.expect(200).json()["result"].clone()
    }

    pub async fn stack(&self) -> Vec<Value> {
        self.get("/stack").await.expect(200).json()["result"].as_array().unwrap().clone()
    }

    pub async fn logs(&self, tree: &str) -> Vec<Value> {
        let reply = self.get(&format!("/trees/{tree}/logs_all")).await;
        reply.expect(200).json()["result"].as_array().unwrap().clone()
    }

    /// What a refused write must leave alone: the trees version (bumped by
    /// every committed tree write) and the audit trail's length.
    pub async fn written(&self) -> (i64, i64) {
        (self.store.trees_version().await.unwrap(), self.store.audit_head().await.unwrap().0)
    }

    /// The Pulse messages sent so far.
    pub fn pulse(&self) -> Vec<Outgoing> {
        let mut guard = self.pulse.lock().unwrap();
        let receiver = guard.as_mut().expect("the receiver is kept");
        std::iter::from_fn(|| receiver.try_recv().ok()).collect()
    }

    /// Closes the Pulse channel, as a publisher that stopped would.
    pub fn drop_pulse_receiver(&self) {
        self.pulse.lock().unwrap().take();
    }
}

/// A connection holding the write lock of `table` (on SQLite, of the whole
/// database) until [`WriteLock::release`]: writers wait, readers do not.
pub struct WriteLock(sqlx::AnyConnection);

impl WriteLock {
    pub async fn take(db: &TestDb, table: &str) -> WriteLock {
        let mut conn = db.raw().await;
        let sql = match db.location {
            fleetroll_core::config::StoreLocation::Sqlite(_) => "BEGIN IMMEDIATE".to_owned(),
            fleetroll_core::config::StoreLocation::Postgres(_) => {
                format!("BEGIN; LOCK TABLE {table} IN EXCLUSIVE MODE")
            }
        };
        sqlx::raw_sql(&sql).execute(&mut conn).await.expect("take the write lock");
        WriteLock(conn)
    }

    pub async fn release(mut self) {
        use sqlx::Connection as _;
        sqlx::raw_sql("ROLLBACK").execute(&mut self.0).await.expect("release the write lock");
        let _ = self.0.close().await;
    }
}

/// Polls `GET path` until it answers `status` (at most 10 s).
pub async fn wait_for_status(api: &Api, path: &str, status: u16) -> Reply {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let reply = api.get(path).await;
        if reply.status == status {
            return reply;
        }
        assert!(std::time::Instant::now() < deadline, "GET {path} never answered {status}: {}", reply.text);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
