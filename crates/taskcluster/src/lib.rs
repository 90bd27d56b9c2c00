//! Taskcluster and GitHub as sources: REST clients (paging, retries, Hawk
//! signing) and the `gather-tc`, `gather-gh` and quarantine pipelines that
//! store what they say. Decisions about pools and SHAs live in
//! `fleetroll_core::pools`.

pub mod gather;
pub mod github;
pub mod hawk;
pub mod http;
pub mod tc;

pub use gather::{GhReport, GhSettings, TcReport, TcSettings, gather_gh, gather_tc, quarantine};
pub use github::GhClient;
pub use hawk::Credentials;
pub use http::RetryPolicy;
pub use tc::TcClient;
