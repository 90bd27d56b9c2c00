//! Clients of the HTTP API: a name, the scopes it holds, and the SHA-256 of
//! its token (core `scopes::token_hash`). Tokens themselves are never stored,
//! so a stolen database grants nothing.
//!
//! A revoked client stays listed with its revocation time and keeps its
//! name, so logs that name it stay unambiguous; its token no longer finds it.

use fleetroll_core::scopes;
use fleetroll_core::time::{self, Timestamp};
use sqlx::Row;
use sqlx::any::AnyRow;
use sqlx::error::ErrorKind;

use crate::{Store, StoreError};

/// A client as stored, without its token hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiClient {
    pub id: i64,
    pub name: String,
    /// The scopes granted, before role expansion.
    pub scopes: Vec<String>,
    pub description: String,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

impl ApiClient {
    pub fn is_active(&self) -> bool {
        self.revoked_at.is_none()
    }
}

/// A client to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewClient {
    pub name: String,
    /// From core `scopes::token_hash`.
    pub token_hash: String,
    pub scopes: Vec<String>,
    pub description: String,
}

/// Why a client could not be created or changed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("a client named {0:?} already exists (names stay taken after revocation)")]
    NameTaken(String),
    #[error("no client named {0:?}")]
    NoSuchClient(String),
    #[error("client {0:?} is revoked")]
    Revoked(String),
    #[error("the new token's hash is already in use: draw a new token")]
    TokenTaken,
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for ClientError {
    fn from(err: sqlx::Error) -> ClientError {
        ClientError::Store(StoreError::Database(err))
    }
}

const COLUMNS: &str = "id, name, CAST(scopes AS TEXT) AS scopes, description, created_at, revoked_at";

impl Store {
    /// Creates a client, active from `now`.
    pub async fn create_client(&self, new: &NewClient, now: Timestamp) -> Result<ApiClient, ClientError> {
        scopes::validate_client_name(&new.name).map_err(ClientError::Invalid)?;
        for scope in &new.scopes {
            scopes::validate_scope(scope).map_err(ClientError::Invalid)?;
        }
        let scopes_json =
            serde_json::to_string(&new.scopes).map_err(|source| StoreError::Encode { table: "api_clients", source })?;
        let dialect = self.dialect();
        let sql = format!(
            "INSERT INTO api_clients (name, token_hash, scopes, description, created_at) VALUES ({}, {}, {}, {}, {})
             RETURNING {COLUMNS}",
            dialect.param(1),
            dialect.param(2),
            dialect.json_param(3),
            dialect.param(4),
            dialect.param(5),
        );
        let inserted = sqlx::query(&sql)
            .bind(new.name.clone())
            .bind(new.token_hash.clone())
            .bind(scopes_json)
            .bind(new.description.clone())
            .bind(now.timestamp_micros())
            .fetch_one(&self.pool)
            .await;
        match inserted {
            Ok(row) => Ok(decode_client(&row)?),
            Err(err) if is_unique_violation(&err) => match self.client(&new.name).await? {
                Some(_) => Err(ClientError::NameTaken(new.name.clone())),
                None => Err(ClientError::TokenTaken),
            },
            Err(err) => Err(err.into()),
        }
    }

    /// Every client, revoked ones included, by name.
    pub async fn clients(&self) -> Result<Vec<ApiClient>, StoreError> {
        let rows =
            sqlx::query(&format!("SELECT {COLUMNS} FROM api_clients ORDER BY name")).fetch_all(&self.pool).await?;
        rows.iter().map(decode_client).collect()
    }

    /// One client by name, revoked or not.
    pub async fn client(&self, name: &str) -> Result<Option<ApiClient>, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM api_clients WHERE name = $1"))
            .bind(name.to_owned())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(decode_client).transpose()
    }

    /// The active client whose token hashes to `token_hash`: how the server
    /// authenticates a request. Revoked clients are not found.
    pub async fn client_by_token_hash(&self, token_hash: &str) -> Result<Option<ApiClient>, StoreError> {
        let row =
            sqlx::query(&format!("SELECT {COLUMNS} FROM api_clients WHERE token_hash = $1 AND revoked_at IS NULL"))
                .bind(token_hash.to_owned())
                .fetch_optional(&self.pool)
                .await?;
        row.as_ref().map(decode_client).transpose()
    }

    /// Revokes a client at `now`: its token stops working at once.
    pub async fn revoke_client(&self, name: &str, now: Timestamp) -> Result<ApiClient, ClientError> {
        let row = sqlx::query(&format!(
            "UPDATE api_clients SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL RETURNING {COLUMNS}"
        ))
        .bind(now.timestamp_micros())
        .bind(name.to_owned())
        .fetch_optional(&self.pool)
        .await?;
        self.changed_or_why(name, row).await
    }

    /// Gives an active client a new token (its hash): the old one stops
    /// working at once.
    pub async fn rotate_client_token(&self, name: &str, token_hash: &str) -> Result<ApiClient, ClientError> {
        let updated = sqlx::query(&format!(
            "UPDATE api_clients SET token_hash = $1 WHERE name = $2 AND revoked_at IS NULL RETURNING {COLUMNS}"
        ))
        .bind(token_hash.to_owned())
        .bind(name.to_owned())
        .fetch_optional(&self.pool)
        .await;
        match updated {
            Ok(row) => self.changed_or_why(name, row).await,
            Err(err) if is_unique_violation(&err) => Err(ClientError::TokenTaken),
            Err(err) => Err(err.into()),
        }
    }

    /// The client an UPDATE of active clients returned, or why it returned
    /// none: no such client, or a revoked one.
    async fn changed_or_why(&self, name: &str, row: Option<AnyRow>) -> Result<ApiClient, ClientError> {
        if let Some(row) = row {
            return Ok(decode_client(&row)?);
        }
        match self.client(name).await? {
            Some(_) => Err(ClientError::Revoked(name.to_owned())),
            None => Err(ClientError::NoSuchClient(name.to_owned())),
        }
    }
}

fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.kind() == ErrorKind::UniqueViolation)
}

fn decode_client(row: &AnyRow) -> Result<ApiClient, StoreError> {
    let id: i64 = row.try_get("id")?;
    let corrupt = |message: String| StoreError::Corrupt { table: "api_clients", id, message };
    let scopes: String = row.try_get("scopes")?;
    let micros = |value: i64| time::from_micros(value).ok_or_else(|| corrupt(format!("time {value} is out of range")));
    Ok(ApiClient {
        id,
        name: row.try_get("name")?,
        scopes: serde_json::from_str(&scopes).map_err(|err| corrupt(format!("scopes: {err}")))?,
        description: row.try_get("description")?,
        created_at: micros(row.try_get("created_at")?)?,
        revoked_at: row.try_get::<Option<i64>, _>("revoked_at")?.map(micros).transpose()?,
    })
}
