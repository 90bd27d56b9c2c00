//! Settings of the publisher. The Pulse naming rules they must follow are
//! decided in core (`fleetroll_core::pulse`).

use std::time::Duration;

use fleetroll_core::config::Secret;
use fleetroll_core::pulse::ExchangeNaming;

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

/// Between half and all of `delay`, so many clients that lost the same
/// broker do not come back at the same instant.
pub(crate) fn jitter(delay: Duration) -> Duration {
    delay.mul_f64(0.5 + fastrand::f64() / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

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
