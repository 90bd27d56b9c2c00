//! Benchmark: `fleetroll host-monitor --once` at fleet scale.
fn main() {}
