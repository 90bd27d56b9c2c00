//! The layer every Pulse component shares: where the broker is, how to
//! connect to it, and how to speak of it without giving the password away.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use fleetroll_core::config::{Secret, redact_url};
use lapin::options::ExchangeDeclareOptions;
use lapin::types::FieldTable;
use lapin::uri::AMQPUri;
use lapin::{Channel, Connection, ConnectionProperties, ExchangeKind};

use crate::PulseError;

/// A broker: its parsed URL, the URL as it may be shown, and the connection
/// settings.
#[derive(Clone)]
pub struct Broker {
    uri: AMQPUri,
    raw_url: Secret,
    redacted: String,
    secrets: Vec<String>,
    connect_timeout: Duration,
    connection_name: String,
}

impl fmt::Debug for Broker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Broker").field("url", &self.redacted).field("connect_timeout", &self.connect_timeout).finish()
    }
}

impl Broker {
    /// Reads an `amqp://` or `amqps://` URL.
    pub fn new(url: &Secret, connect_timeout: Duration, connection_name: &str) -> Result<Broker, PulseError> {
        let raw = url.expose();
        let redacted = displayable_url(raw);
        let raw_password = raw_password(raw);
        let mut secrets: Vec<String> = raw_password.iter().map(|p| (*p).to_owned()).collect();
        let scrub = |text: &str| scrub_with(text, raw, &redacted, &secrets);
        let invalid = |problem: String| PulseError::InvalidUrl { url: redacted.clone(), problem };
        let scheme = raw.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
        if !matches!(scheme.as_deref(), Some("amqp" | "amqps")) {
            return Err(invalid("the URL must start with amqp:// or amqps://".to_owned()));
        }
        let mut uri = AMQPUri::from_str(raw).map_err(|err| invalid(scrub(&err)))?;
        if !uri.authority.userinfo.password.is_empty() && !secrets.contains(&uri.authority.userinfo.password) {
            secrets.push(uri.authority.userinfo.password.clone());
        }
        // The URL parser of the AMQP client keeps only host *names*: for an
        // IP address it falls back to `localhost`, which would quietly reach
        // another broker (or none). Take an address from the URL ourselves.
        if let Some(address) = ip_host(raw) {
            uri.authority.host = address;
        }
        Ok(Broker {
            uri,
            raw_url: url.clone(),
            redacted,
            secrets,
            connect_timeout,
            connection_name: connection_name.to_owned(),
        })
    }

    /// The URL with its password replaced by `***`.
    pub fn redacted_url(&self) -> &str {
        &self.redacted
    }

    /// The user of the URL (Pulse names exchanges and queues after it).
    pub fn user(&self) -> &str {
        &self.uri.authority.userinfo.username
    }

    /// `text` with the URL redacted and the password replaced by `***`, for
    /// anything the AMQP client says that we pass on.
    pub fn scrub(&self, text: &str) -> String {
        scrub_with(text, self.raw_url.expose(), &self.redacted, &self.secrets)
    }

    /// Connects (TCP, TLS for `amqps`, AMQP handshake) within the connect
    /// timeout.
    pub async fn connect(&self) -> Result<Connection, PulseError> {
        let properties = ConnectionProperties::default().with_connection_name(self.connection_name.as_str().into());
        let attempt = tokio::time::timeout(self.connect_timeout, Connection::connect_uri(self.uri.clone(), properties));
        match attempt.await {
            Ok(Ok(connection)) => Ok(connection),
            Ok(Err(err)) => {
                let detail = self.scrub(&err.to_string());
                let hint = connect_hint(&detail);
                Err(PulseError::Connect { url: self.redacted.clone(), detail, hint })
            }
            Err(_) => Err(PulseError::ConnectTimeout { url: self.redacted.clone(), timeout: self.connect_timeout }),
        }
    }

    /// Declares `exchange` as Pulse wants them: topic and durable. Declaring
    /// an exchange that exists with the same settings is a no-op.
    pub async fn declare_exchange(&self, channel: &Channel, exchange: &str) -> Result<(), PulseError> {
        let options = ExchangeDeclareOptions { durable: true, ..ExchangeDeclareOptions::default() };
        channel.exchange_declare(exchange.into(), ExchangeKind::Topic, options, FieldTable::default()).await.map_err(
            |err| PulseError::Declare {
                url: self.redacted.clone(),
                exchange: exchange.to_owned(),
                detail: self.scrub(&err.to_string()),
            },
        )
    }
}

/// What to tell an operator beside the client's own words.
fn connect_hint(detail: &str) -> Option<&'static str> {
    let upper = detail.to_ascii_uppercase();
    if upper.contains("ACCESS_REFUSED") || upper.contains("ACCESSREFUSED") || upper.contains("ACCESS-REFUSED") {
        Some("the broker refused the user name or password, or the user may not use this vhost")
    } else if upper.contains("NOT_ALLOWED") || upper.contains("NOTALLOWED") || upper.contains("NOT-ALLOWED") {
        Some("the vhost does not exist or the user may not use it")
    } else if detail.contains("Connection refused") || detail.contains("connection refused") {
        Some("is the broker running, and are the host and port right?")
    } else {
        None
    }
}

/// The URL as it may be shown. When the URL is too malformed for the
/// redaction to find its password, none of it is shown.
fn displayable_url(raw: &str) -> String {
    let redacted = redact_url(raw);
    if redacted == raw && raw_password(raw).is_some() {
        return "<unreadable URL, not shown>".to_owned();
    }
    if redacted == raw && !raw.contains("://") && raw.contains('@') {
        return "<unreadable URL, not shown>".to_owned();
    }
    redacted
}

/// The password as written in the URL (percent-encoded), if it has one.
fn raw_password(raw: &str) -> Option<&str> {
    let rest = raw.split_once("://").map_or(raw, |(_, rest)| rest);
    let authority = &rest[..rest.find('/').unwrap_or(rest.len())];
    let (userinfo, _host) = authority.rsplit_once('@')?;
    let (_user, password) = userinfo.split_once(':')?;
    (!password.is_empty()).then_some(password)
}

/// The host of the URL when it is an IP address (IPv6 without brackets).
fn ip_host(raw: &str) -> Option<String> {
    let rest = raw.split_once("://")?.1;
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let host = match host_port.strip_prefix('[') {
        Some(bracketed) => bracketed.split_once(']')?.0,
        None => host_port.split(':').next()?,
    };
    host.parse::<std::net::IpAddr>().ok().map(|ip| ip.to_string())
}

fn scrub_with(text: &str, raw_url: &str, redacted: &str, secrets: &[String]) -> String {
    let mut text = text.replace(raw_url, redacted);
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        text = text.replace(secret.as_str(), "***");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn broker(url: &str) -> Result<Broker, PulseError> {
        Broker::new(&Secret::new(url), Duration::from_secs(1), "test")
    }

    #[test]
    fn urls_are_read_and_redacted() {
        let b = broker("amqps://ops:s3cr%40t@pulse.example.org:5671/%2f").unwrap();
        assert_eq!(b.redacted_url(), "amqps://ops:***@pulse.example.org:5671/%2f");
        assert_eq!(b.user(), "ops");
        assert_eq!(b.uri.authority.host, "pulse.example.org");
        assert_eq!(b.uri.vhost, "/");
        let said = "failed: amqps://ops:s3cr%40t@pulse.example.org:5671/%2f said s3cr@t and s3cr%40t";
        assert_eq!(b.scrub(said), "failed: amqps://ops:***@pulse.example.org:5671/%2f said *** and ***");
        assert!(!format!("{b:?}").contains("s3cr"));
    }

    #[test]
    fn ip_hosts_are_kept() {
        assert_eq!(broker("amqp://guest:guest@127.0.0.1:5672/%2f").unwrap().uri.authority.host, "127.0.0.1");
        assert_eq!(broker("amqp://guest:guest@[::1]:5672/%2f").unwrap().uri.authority.host, "::1");
        assert_eq!(broker("amqp://10.1.2.3").unwrap().uri.authority.host, "10.1.2.3");
        assert_eq!(broker("amqp://broker.local:5672").unwrap().uri.authority.host, "broker.local");
    }

    #[test]
    fn bad_urls_name_the_problem_without_the_password() {
        for (url, fragment) in [
            ("http://ops:hunter22@example.org/", "amqp:// or amqps://"),
            ("ops:hunter22@example.org", "amqp:// or amqps://"),
            ("amqp://ops:hunter22@example.org:notaport/", "invalid port"),
        ] {
            let err = broker(url).unwrap_err().to_string();
            assert!(err.contains(fragment), "{url}: {err}");
            assert!(!err.contains("hunter22"), "{url}: {err}");
        }
    }

    #[test]
    fn hints() {
        assert!(connect_hint("ACCESS_REFUSED - Login was refused").unwrap().contains("password"));
        assert!(connect_hint("Connection refused (os error 111)").unwrap().contains("running"));
        assert_eq!(connect_hint("something else"), None);
    }
}
