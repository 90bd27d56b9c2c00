//! Test stores on both backends: a SQLite file in a temporary directory, or a
//! PostgreSQL database of its own, created under a random name and dropped
//! after the test, so tests run in parallel and reruns start clean.
//!
//! PostgreSQL comes from `FLEETROLL_TEST_DATABASE_URL` (an administrative
//! connection, default the local server). When it cannot be reached, tests
//! that need it are reported as ignored, with the reason; with
//! `FLEETROLL_REQUIRE_SERVICES=1` they fail instead.

use std::time::Duration;

use fleetroll_core::config::{Secret, StoreLocation};
use fleetroll_store::{Store, StoreOptions};
use sqlx::{AnyConnection, Connection, Executor};

pub const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub fn admin_url() -> String {
    std::env::var("FLEETROLL_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned())
}

pub fn services_required() -> bool {
    std::env::var("FLEETROLL_REQUIRE_SERVICES").is_ok_and(|v| v == "1")
}

/// `Ok` when PostgreSQL answers, else why not.
pub async fn postgres_reachable() -> Result<(), String> {
    sqlx::any::install_default_drivers();
    let attempt = tokio::time::timeout(Duration::from_secs(5), AnyConnection::connect(&admin_url())).await;
    match attempt {
        Ok(Ok(conn)) => {
            let _ = conn.close().await;
            Ok(())
        }
        Ok(Err(err)) => Err(format!("cannot connect to PostgreSQL at {}: {err}", redacted_admin_url())),
        Err(_) => Err(format!("PostgreSQL at {} did not answer within 5 s", redacted_admin_url())),
    }
}

fn redacted_admin_url() -> String {
    fleetroll_core::config::redact_url(&admin_url())
}

/// A store location made for one test, removed by [`TestDb::drop_db`].
#[derive(Debug)]
pub struct TestDb {
    pub location: StoreLocation,
    postgres_name: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Sqlite => "sqlite",
            Kind::Postgres => "postgres",
        }
    }
}

impl TestDb {
    pub async fn create(kind: Kind) -> TestDb {
        match kind {
            Kind::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let location = StoreLocation::Sqlite(dir.path().join("fleetroll.db"));
                TestDb { location, postgres_name: None, _dir: Some(dir) }
            }
            Kind::Postgres => {
                let name = format!("fleetroll_test_{:016x}", fastrand::u64(..));
                let mut admin = AnyConnection::connect(&admin_url()).await.expect("admin connection");
                admin.execute(format!("CREATE DATABASE {name}").as_str()).await.expect("create test database");
                let _ = admin.close().await;
                let url = database_url(&admin_url(), &name);
                TestDb { location: StoreLocation::Postgres(Secret::new(url)), postgres_name: Some(name), _dir: None }
            }
        }
    }

    pub async fn open(&self, retention: u32) -> Store {
        let options = StoreOptions { retention, ..StoreOptions::default() };
        Store::open(&self.location, &options).await.expect("open test store")
    }

    /// A raw connection, for tests that play the part of someone editing the
    /// database behind the store's back.
    pub async fn raw(&self) -> AnyConnection {
        let url = match &self.location {
            StoreLocation::Sqlite(path) => format!("sqlite://{}", path.display()),
            StoreLocation::Postgres(url) => url.expose().to_owned(),
        };
        AnyConnection::connect(&url).await.expect("raw connection")
    }

    pub async fn drop_db(self) {
        if let Some(name) = &self.postgres_name {
            let mut admin = AnyConnection::connect(&admin_url()).await.expect("admin connection");
            admin
                .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                .await
                .expect("drop test database");
            let _ = admin.close().await;
        }
    }
}

/// The admin URL with its database name replaced by `name`.
fn database_url(admin: &str, name: &str) -> String {
    let (base, query) = admin.split_once('?').map_or((admin, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}
