//! Settings of the publisher and the Pulse naming rules they must follow.

use std::time::Duration;

use fleetroll_core::config::Secret;

/// How the publisher reaches Pulse and how patient it is.
///
/// `Debug` shows the URL as `Secret(***)`; messages and logs show it with
/// the password replaced by `***`.
#[derive(Clone, Debug)]
pub struct PublisherConfig {
    /// `amqp://user:password@host:port/vhost` or `amqps://…` (Pulse itself:
    /// `amqps://<user>:<password>@pulse.mozilla.org:5671/%2f`). The vhost is
    /// percent-encoded: `%2f` is `/`.
    pub url: Secret,
    /// The exchange to publish to; declared topic and durable.
    pub exchange: String,
    /// Which exchange names are accepted; Pulse's rule by default.
    pub naming: ExchangeNaming,
    /// How long one connection attempt (TCP, TLS, AMQP handshake) may take.
    pub connect_timeout: Duration,
    /// The wait between failed attempts.
    pub retry: Backoff,
    /// How long the broker may take to confirm a message before the
    /// connection is taken for dead and the message is sent again.
    pub confirm_timeout: Duration,
    /// After the shutdown signal, how long the publisher keeps trying to send
    /// what is queued.
    pub shutdown_grace: Duration,
    /// Messages published but not yet confirmed, at most. 1 means one
    /// message at a time: no duplicates after a reconnect, at the cost of a
    /// round trip per message.
    pub max_in_flight: usize,
    /// Shown by RabbitMQ beside the connection, so an operator can tell who
    /// holds it.
    pub connection_name: String,
}

impl PublisherConfig {
    /// Pulse's rules and the defaults: 5 s to connect (as TreeStatus used),
    /// retries from 1 s doubling to 60 s, 30 s for a confirm, 5 s of grace at
    /// shutdown, 64 messages in flight.
    pub fn new(url: Secret, exchange: impl Into<String>) -> PublisherConfig {
        PublisherConfig {
            url,
            exchange: exchange.into(),
            naming: ExchangeNaming::Pulse,
            connect_timeout: Duration::from_secs(5),
            retry: Backoff { initial: Duration::from_secs(1), max: Duration::from_secs(60) },
            confirm_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(5),
            max_in_flight: 64,
            connection_name: "fleetroll pulse publisher".to_owned(),
        }
    }
}

/// Which exchange names the publisher accepts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ExchangeNaming {
    /// Pulse's rule: `exchange/<user>/<name>`, where `<user>` is the user of
    /// the URL. PulseGuardian gives a user write permission on those
    /// exchanges only, so any other name would fail at the broker anyway,
    /// later and less clearly.
    #[default]
    Pulse,
    /// Any AMQP exchange name: for a plain RabbitMQ and for tests.
    Any,
}

/// Wait `initial` after the first failure, doubling after each further one up
/// to `max`; a success starts again from `initial`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
}

impl Backoff {
    /// The wait after `failures` consecutive failures (1 or more), before
    /// jitter.
    pub fn delay(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(31);
        self.initial.saturating_mul(1 << doublings).min(self.max.max(self.initial))
    }
}

/// AMQP short strings (exchange names, routing keys) are at most 255 bytes.
pub(crate) const MAX_SHORT_STRING: usize = 255;

/// Why `name` cannot be the exchange for `user` under `naming`, or `Ok`.
pub fn check_exchange_name(name: &str, naming: ExchangeNaming, user: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the exchange name is empty".to_owned());
    }
    if name.len() > MAX_SHORT_STRING {
        return Err(format!("the exchange name is {} bytes long; AMQP allows at most {MAX_SHORT_STRING}", name.len()));
    }
    if name.starts_with("amq.") {
        return Err("names starting with `amq.` are reserved by the broker".to_owned());
    }
    if naming == ExchangeNaming::Pulse {
        let pulse_rule = || format!("Pulse exchanges are named `exchange/{user}/<name>` (the URL's user is `{user}`)");
        if user.is_empty() {
            return Err("the URL has no user, and Pulse exchanges are named `exchange/<user>/<name>`".to_owned());
        }
        let Some(rest) = name.strip_prefix("exchange/").and_then(|r| r.strip_prefix(user)) else {
            return Err(pulse_rule());
        };
        match rest.strip_prefix('/') {
            Some(own) if !own.is_empty() => {}
            _ => return Err(pulse_rule()),
        }
    }
    Ok(())
}

/// Why `key` cannot be a routing key, or `Ok`.
pub(crate) fn check_routing_key(key: &str) -> Result<(), String> {
    if key.len() > MAX_SHORT_STRING {
        return Err(format!("the routing key is {} bytes long; AMQP allows at most {MAX_SHORT_STRING}", key.len()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exchange_names() {
        use ExchangeNaming::{Any, Pulse};
        let long = format!("exchange/ops/{}", "x".repeat(250));
        let cases: &[(&str, ExchangeNaming, &str, Option<&str>)] = &[
            ("exchange/ops/treestatus", Pulse, "ops", None),
            ("exchange/ops/tree/status/v1", Pulse, "ops", None),
            ("exchange/ops/", Pulse, "ops", Some("named `exchange/ops/<name>`")),
            ("exchange/ops", Pulse, "ops", Some("named `exchange/ops/<name>`")),
            ("exchange/opsx/treestatus", Pulse, "ops", Some("named `exchange/ops/<name>`")),
            ("exchange/other/treestatus", Pulse, "ops", Some("the URL's user is `ops`")),
            ("treestatus", Pulse, "ops", Some("named `exchange/ops/<name>`")),
            ("exchange/ops/treestatus", Pulse, "", Some("the URL has no user")),
            ("", Any, "ops", Some("empty")),
            ("amq.topic", Any, "ops", Some("reserved")),
            (&long, Any, "ops", Some("at most 255")),
            ("treestatus", Any, "ops", None),
            ("fleetroll.test.a1b2", Any, "", None),
        ];
        for (name, naming, user, want) in cases {
            let got = check_exchange_name(name, *naming, user);
            match want {
                None => assert_eq!(got, Ok(()), "{name} ({naming:?}, user {user})"),
                Some(fragment) => {
                    let err = got.expect_err(name);
                    assert!(err.contains(fragment), "{name}: {err:?} lacks {fragment:?}");
                }
            }
        }
    }

    #[test]
    fn routing_keys() {
        assert_eq!(check_routing_key("tree/autoland/status_change"), Ok(()));
        assert_eq!(check_routing_key(&"k".repeat(255)), Ok(()));
        assert!(check_routing_key(&"k".repeat(256)).unwrap_err().contains("256 bytes"));
    }

    #[test]
    fn backoff_doubles_up_to_max() {
        let backoff = Backoff { initial: Duration::from_millis(100), max: Duration::from_secs(1) };
        let waits: Vec<u128> = (1..=6).map(|n| backoff.delay(n).as_millis()).collect();
        assert_eq!(waits, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(backoff.delay(u32::MAX), Duration::from_secs(1));
        // A max below the initial wait never shortens the first wait.
        let odd = Backoff { initial: Duration::from_secs(2), max: Duration::from_secs(1) };
        assert_eq!(odd.delay(3), Duration::from_secs(2));
    }
}
