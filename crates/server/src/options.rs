//! How a server runs: scopes, roles, CORS, limits, what `/__version__` says,
//! where Pulse messages go and how often the trees cache asks the store
//! whether another process wrote.

use std::time::Duration;

use axum::http::HeaderValue;
use fleetroll_core::scopes::{self, DEFAULT_TREESTATUS_PREFIX, Roles};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The largest request body unless configured otherwise (64 KiB).
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;

/// The Pulse exchange tree status changes go to unless configured otherwise.
pub const DEFAULT_PULSE_EXCHANGE: &str = "exchange/fleetroll/treestatus/v1";

/// How long a cached trees response may go without asking the store whether
/// another process changed the trees, unless configured otherwise.
pub const DEFAULT_VERSION_CHECK_INTERVAL: Duration = Duration::from_millis(1000);

/// How long a request may take before it is stopped and answered 503,
/// unless configured otherwise.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The settings of one server. Defaults are the documented ones; the CLI
/// fills these from its configuration.
#[derive(Clone, Debug)]
pub struct ServerOptions {
    /// The prefix of the tree status scopes (`<prefix>/trees/update`, …).
    pub scope_prefix: String,
    /// Roles beyond the tree status ones (`<prefix>/admin`, `<prefix>/sheriff`):
    /// role id → the scopes it grants. A role with a tree role's id adds to it.
    pub roles: Roles,
    /// Origins browsers may call from: `*` (the default) or exact origins.
    pub cors_origins: Vec<String>,
    /// The largest request body accepted; larger ones get 413.
    pub max_body_bytes: usize,
    /// What `/__version__` answers.
    pub version: VersionInfo,
    /// The Pulse exchange named in each message's `_meta`.
    pub pulse_exchange: String,
    /// How long cached trees are served before the store's trees version is
    /// checked again, for writes by other processes (zero: every request).
    pub version_check_interval: Duration,
    /// How long a client waits for an answer: past it, the client gets 503
    /// while the request goes on to its end in its own task, so a request
    /// stuck behind a lock or a slow store does not hold its connection
    /// for ever, and no write is cut off part way.
    pub request_timeout: Duration,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            scope_prefix: DEFAULT_TREESTATUS_PREFIX.to_owned(),
            roles: Roles::new(),
            cors_origins: vec!["*".to_owned()],
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            version: VersionInfo::default(),
            pulse_exchange: DEFAULT_PULSE_EXCHANGE.to_owned(),
            version_check_interval: DEFAULT_VERSION_CHECK_INTERVAL,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }
}

/// The Dockerflow `version.json` fields `/__version__` answers with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct VersionInfo {
    /// The source repository.
    pub source: String,
    /// The release.
    pub version: String,
    /// The commit built.
    pub commit: String,
    /// The build (a CI run's address or id).
    pub build: String,
}

impl Default for VersionInfo {
    fn default() -> Self {
        VersionInfo {
            source: String::new(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            commit: String::new(),
            build: String::new(),
        }
    }
}

/// Settings a server cannot run with.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OptionsError {
    #[error("CORS origin {0:?} is not `*` or an origin like `https://example.com`")]
    CorsOrigin(String),
    #[error("`*` cannot be listed with other CORS origins")]
    CorsWildcardWithOthers,
    #[error("the scope prefix {0:?} is empty or not printable ASCII")]
    ScopePrefix(String),
    #[error("role {role:?}: {message}")]
    Role { role: String, message: String },
    #[error("the largest request body must be at least 1 byte")]
    MaxBodyBytes,
}

/// The CORS origins allowed: any, or a list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum CorsOrigins {
    Any,
    List(Vec<HeaderValue>),
}

impl ServerOptions {
    /// Checks the options, returning the parsed CORS origins.
    pub(crate) fn check(&self) -> Result<CorsOrigins, OptionsError> {
        let prefix = self.scope_prefix.trim_end_matches('/');
        if prefix.is_empty() || scopes::validate_scope(prefix).is_err() {
            return Err(OptionsError::ScopePrefix(self.scope_prefix.clone()));
        }
        for (role, granted) in &self.roles {
            for scope in std::iter::once(role).chain(granted) {
                scopes::validate_scope(scope).map_err(|message| OptionsError::Role { role: role.clone(), message })?;
            }
        }
        if self.max_body_bytes == 0 {
            return Err(OptionsError::MaxBodyBytes);
        }
        cors_origins(&self.cors_origins)
    }
}

fn cors_origins(origins: &[String]) -> Result<CorsOrigins, OptionsError> {
    if origins.iter().any(|origin| origin == "*") {
        return match origins {
            [_] => Ok(CorsOrigins::Any),
            _ => Err(OptionsError::CorsWildcardWithOthers),
        };
    }
    let parse = |origin: &String| {
        let looks_like_origin = (origin.starts_with("https://") || origin.starts_with("http://"))
            && !origin.trim_start_matches("https://").trim_start_matches("http://").contains('/');
        match HeaderValue::from_str(origin) {
            Ok(value) if looks_like_origin => Ok(value),
            _ => Err(OptionsError::CorsOrigin(origin.clone())),
        }
    };
    Ok(CorsOrigins::List(origins.iter().map(parse).collect::<Result<_, _>>()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cors_origins_parse_or_say_why() {
        assert_eq!(cors_origins(&["*".to_owned()]), Ok(CorsOrigins::Any));
        assert_eq!(
            cors_origins(&["https://a.example".to_owned(), "http://b.example:8080".to_owned()]),
            Ok(CorsOrigins::List(vec![
                HeaderValue::from_static("https://a.example"),
                HeaderValue::from_static("http://b.example:8080")
            ]))
        );
        assert_eq!(cors_origins(&["*".to_owned(), "https://a".to_owned()]), Err(OptionsError::CorsWildcardWithOthers));
        for bad in ["a.example", "https://a.example/path", "https://a\nb"] {
            assert_eq!(cors_origins(&[bad.to_owned()]), Err(OptionsError::CorsOrigin(bad.to_owned())), "{bad}");
        }
    }

    #[test]
    fn bad_options_are_refused() {
        let with = |change: fn(&mut ServerOptions)| {
            let mut options = ServerOptions::default();
            change(&mut options);
            options.check().err()
        };
        assert_eq!(with(|_| ()), None);
        assert_eq!(with(|o| o.scope_prefix = "/".to_owned()), Some(OptionsError::ScopePrefix("/".to_owned())));
        assert_eq!(with(|o| o.max_body_bytes = 0), Some(OptionsError::MaxBodyBytes));
        assert!(matches!(
            with(|o| {
                o.roles.insert("r".to_owned(), vec!["caf\u{e9}".to_owned()]);
            }),
            Some(OptionsError::Role { .. })
        ));
    }
}
