//! Reaching hosts over SSH.
//!
//! fleetroll runs the system `ssh` client rather than an SSH library, so the
//! operators' `~/.ssh/config`, agent, ProxyJump and ControlMaster settings
//! keep working exactly as they do in their shells. This crate runs it with
//! bounded concurrency, a timeout per host and a deadline per batch, and
//! turns every host's outcome into a result: one host failing never stops
//! the others.

pub mod changes;
pub mod fanout;
pub mod gather;
pub mod ssh;
