//! Messages fleetroll publishes on Pulse (RabbitMQ topic exchanges).
//!
//! What a message says is decided where the change is decided (for tree
//! status, [`crate::trees::pulse_message`]); this is only the envelope a
//! publisher needs: where the message goes and its body.

use serde_json::Value;

/// One message for the publisher: its routing key on the configured
/// exchange, and its JSON body.
#[derive(Clone, Debug, PartialEq)]
pub struct Outgoing {
    pub routing_key: String,
    pub body: Value,
}
