//! The frame of the benchmarks that measure on both backends.

use std::future::Future;

use crate::{Kind, postgres_reachable};

/// Runs `measure` on SQLite, then on PostgreSQL, printing the line each
/// returns; PostgreSQL is skipped, saying why, when it cannot be reached.
/// Nothing runs without `--bench`: `cargo test --benches` runs benchmarks
/// without it, and a benchmark there would only slow the tests down.
pub fn bench_each_backend<F, Fut>(name: &str, mut measure: F)
where
    F: FnMut(Kind) -> Fut,
    Fut: Future<Output = String>,
{
    if !std::env::args().any(|arg| arg == "--bench") {
        return;
    }
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    for kind in [Kind::Sqlite, Kind::Postgres] {
        if kind == Kind::Postgres
            && let Err(why) = runtime.block_on(postgres_reachable())
        {
            println!("{name}/postgres: skipped: {why}");
            continue;
        }
        println!("{}", runtime.block_on(measure(kind)));
    }
}
