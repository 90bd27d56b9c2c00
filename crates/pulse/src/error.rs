//! What can go wrong talking to Pulse. Every URL in these messages is
//! redacted (`amqp://user:***@host/…`) and every detail from the AMQP client
//! has the password scrubbed, so they can be logged and shown as they are.

use std::time::Duration;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PulseError {
    #[error("Pulse URL {url}: {problem}")]
    InvalidUrl { url: String, problem: String },

    #[error("Pulse exchange `{exchange}`: {problem}")]
    InvalidExchange { exchange: String, problem: String },

    #[error("cannot connect to Pulse at {url}: {detail}{}", hint.map_or(String::new(), |h| format!(" ({h})")))]
    Connect { url: String, detail: String, hint: Option<&'static str> },

    #[error("connecting to Pulse at {url} took longer than {}", seconds(*timeout))]
    ConnectTimeout { url: String, timeout: Duration },

    #[error("Pulse at {url}: {detail}")]
    Setup { url: String, detail: String },

    #[error("cannot declare the exchange `{exchange}` on Pulse at {url}: {detail}")]
    Declare { url: String, exchange: String, detail: String },

    #[error("cannot publish to `{exchange}` on Pulse at {url}: {detail}")]
    Publish { url: String, exchange: String, detail: String },

    #[error("Pulse at {url} refused (nack) a message for `{exchange}` with routing key `{routing_key}`")]
    Nack { url: String, exchange: String, routing_key: String },

    #[error("Pulse at {url} did not confirm a message for `{exchange}` within {}", seconds(*timeout))]
    ConfirmTimeout { url: String, exchange: String, timeout: Duration },

    #[error(
        "{count} Pulse message{} for `{exchange}` at {url} not sent before shutdown{}",
        if *count == 1 { "" } else { "s" },
        last_error.as_ref().map_or(String::new(), |e| format!("; last error: {e}"))
    )]
    NotSent { url: String, exchange: String, count: usize, last_error: Option<String> },
}

fn seconds(duration: Duration) -> String {
    let secs = duration.as_secs_f64();
    if secs.fract() == 0.0 { format!("{secs:.0} s") } else { format!("{secs:.1} s") }
}
