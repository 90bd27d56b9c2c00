//! Pulse, Mozilla's RabbitMQ (AMQP 0-9-1), for fleetroll.
//!
//! The crate is a set of components over one broker layer:
//! - [`broker`]: what every component shares — the URL (parsed, and
//!   redacted for display), connecting with a timeout, declaring an exchange
//!   the Pulse way (topic, durable), and turning the client's errors into
//!   [`PulseError`]s that never carry the password.
//! - [`publisher`]: [`run_publisher`] takes [`Outgoing`] messages from a
//!   channel and publishes them with publisher confirms, in order, retrying
//!   through broker outages; [`check`] is the startup self-test.
//!
//! A consumer (Taskcluster queue events for liveness) will be a sibling of
//! `publisher` on the same `broker` layer.
//!
//! [`Outgoing`]: fleetroll_core::pulse::Outgoing

pub mod broker;
mod config;
mod error;
pub mod publisher;

pub use config::{Backoff, PublisherConfig};
pub use error::PulseError;
pub use fleetroll_core::pulse::{ExchangeNaming, check_exchange_name};
pub use publisher::{check, run_publisher};
