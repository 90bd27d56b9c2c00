//! Messages fleetroll publishes on Pulse (RabbitMQ topic exchanges).
//!
//! What a message says is decided where the change is decided (for tree
//! status, [`crate::trees::pulse_message`]); here are the envelope a
//! publisher needs (where the message goes and its body) and the names
//! Pulse and AMQP accept for exchanges and routing keys.

use serde_json::Value;

/// One message for the publisher: its routing key on the configured
/// exchange, and its JSON body.
#[derive(Clone, Debug, PartialEq)]
pub struct Outgoing {
    pub routing_key: String,
    pub body: Value,
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

/// AMQP short strings (exchange names, routing keys) are at most 255 bytes.
pub const MAX_SHORT_STRING: usize = 255;

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
pub fn check_routing_key(key: &str) -> Result<(), String> {
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
}
