//! Domain types and pure decisions of fleetroll.
//!
//! This crate does no I/O: no files, no network, no database, no clock reads.
//! Callers pass the current time and the bytes they read; everything here is
//! deterministic and tested with table-driven cases.

pub mod actor;
pub mod audit;
pub mod changes;
pub mod config;
pub mod freshness;
pub mod gather;
pub mod hosts;
pub mod humanhash;
pub mod jobs;
pub mod liveness;
pub mod notes;
pub mod override_file;
pub mod pools;
pub mod pulse;
pub mod query;
pub mod records;
pub mod rows;
pub mod scopes;
pub mod script;
pub mod time;
pub mod trees;
