//! Test stores for fleetroll's suites (tests only): a SQLite file or a
//! PostgreSQL database of its own per case (`db`), and the runner that holds
//! both backends to one behaviour (`suite`), and the frame of benchmarks
//! that measure on both (`bench`). Shared by the store's
//! conformance suites and the server's API suite, so both set up and report
//! backends the same way.

mod bench;
mod db;
mod suite;

pub use bench::bench_each_backend;
pub use db::{DEFAULT_ADMIN_URL, Kind, TestDb, admin_url, postgres_reachable, services_required};
pub use suite::{Case, CaseFuture, run_suite};
