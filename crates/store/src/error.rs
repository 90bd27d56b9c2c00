//! What can go wrong in the store.

/// A store failure. Messages name the store (passwords redacted) or the
/// table and row at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("cannot open the store at {location}: {source}")]
    Open { location: String, source: sqlx::Error },
    #[error("cannot migrate the store at {location}: {source}")]
    Migrate { location: String, source: sqlx::migrate::MigrateError },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("row {id} of {table} is unreadable: {message}")]
    Corrupt { table: &'static str, id: i64, message: String },
    #[error("cannot encode a record for {table}: {source}")]
    Encode { table: &'static str, source: serde_json::Error },
}
