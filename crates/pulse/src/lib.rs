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
//! - [`consumer`]: [`run_consumer`] takes Taskcluster's queue events from
//!   a durable queue in batches, hands them to a [`Sink`] and acknowledges
//!   them only once the sink has committed them.
//!
//! [`Outgoing`]: fleetroll_core::pulse::Outgoing

pub mod broker;
mod config;
pub mod consumer;
mod error;
pub mod publisher;

pub use config::{Backoff, PublisherConfig};
pub use consumer::{ConsumerConfig, Sink, run_consumer};
pub use error::PulseError;
pub use fleetroll_core::pulse::{ExchangeNaming, check_exchange_name};
pub use publisher::{check, run_publisher};
