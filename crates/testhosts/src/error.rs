//! The one error type of this crate.

use std::fmt;
use std::io;

/// Why a fleet could not be started or changed.
///
/// One struct rather than an enum: callers are tests and benchmarks, which only
/// print the error, so what matters is a message that says what failed and on
/// which host (with the tail of that host's sshd log when it did not come up).
#[derive(Debug)]
pub struct Error {
    host: Option<String>,
    message: String,
    source: Option<io::Error>,
}

impl Error {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self { host: None, message: message.into(), source: None }
    }

    pub(crate) fn io(message: impl Into<String>, source: io::Error) -> Self {
        Self { host: None, message: message.into(), source: Some(source) }
    }

    pub(crate) fn on_host(mut self, host: &str) -> Self {
        self.host = Some(host.to_owned());
        self
    }

    /// The test host the error is about, if it is about one.
    pub fn host(&self) -> Option<&str> {
        self.host.as_deref()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.host {
            Some(host) => write!(f, "test host {host}: {}", self.message)?,
            None => write!(f, "test hosts: {}", self.message)?,
        }
        if let Some(source) = &self.source {
            write!(f, ": {source}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_ref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}
