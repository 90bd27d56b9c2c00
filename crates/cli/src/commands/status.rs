//! `fleetroll status`: where data lives and what the store holds.

use std::collections::BTreeMap;
use std::process::ExitCode;

use fleetroll_core::config::Settings;
use serde::Serialize;

use crate::cli::JsonArgs;
use crate::output::print_json;
use crate::settings::open_store;

#[derive(Serialize)]
struct Status {
    home: String,
    store: String,
    backend: &'static str,
    schema_version: i64,
    retention: u32,
    rows: BTreeMap<&'static str, i64>,
    audit_records: i64,
    audit_head_hash: String,
}

pub async fn run(settings: &Settings, args: &JsonArgs) -> anyhow::Result<ExitCode> {
    let store = open_store(settings).await?;
    let (audit_records, audit_head_hash) = store.audit_head().await?;
    let status = Status {
        home: settings.home.display().to_string(),
        store: settings.store.to_string(),
        backend: store.backend().name(),
        schema_version: store.schema_version().await?,
        retention: store.retention(),
        rows: store.row_counts().await?.into_iter().collect(),
        audit_records,
        audit_head_hash,
    };
    store.close().await;
    if args.json {
        print_json(&status)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!("home:      {}", status.home);
    println!("store:     {} ({}, schema {})", status.store, status.backend, status.schema_version);
    println!("retention: {} records per key, plus each host's newest good observation", status.retention);
    let rows: Vec<String> = status.rows.iter().map(|(table, count)| format!("{table} {count}")).collect();
    println!("rows:      {}", rows.join(", "));
    println!("audit:     {} record(s), head {}", status.audit_records, status.audit_head_hash);
    Ok(ExitCode::SUCCESS)
}
