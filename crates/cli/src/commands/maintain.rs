//! `fleetroll maintain`: compact the store, dry run unless confirmed.

use std::process::ExitCode;

use chrono::Utc;
use fleetroll_core::audit::AuditEntry;
use fleetroll_core::config::Settings;
use fleetroll_store::MaintainReport;
use serde_json::json;

use crate::cli::MaintainArgs;
use crate::output::{human_bytes, print_json};
use crate::settings::open_store;

pub async fn run(settings: &Settings, args: &MaintainArgs) -> anyhow::Result<ExitCode> {
    let store = open_store(settings).await?;
    let report = store.maintain(!args.confirm).await?;
    if args.confirm {
        let entry = AuditEntry {
            ts: Utc::now(),
            actor: super::actor(),
            action: "store.maintain".to_owned(),
            hosts: Vec::new(),
            parameters: json!({"store": settings.store.to_string()}),
            result: json!({"ok": true, "bytes_before": report.bytes_before, "bytes_after": report.bytes_after}),
        };
        store.append_audit(vec![entry]).await?;
    }
    store.close().await;
    if args.output.json {
        print_json(&report)?;
    } else {
        print_report(&settings.store.to_string(), &report);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_report(store: &str, report: &MaintainReport) {
    let steps: Vec<&str> = report.steps.iter().map(|step| step.name).collect();
    match report.bytes_after {
        None => {
            println!("DRY RUN: would run {} on {store} (now {}).", steps.join(", "), human_bytes(report.bytes_before));
            println!("Run again with --confirm to compact.");
        }
        Some(after) => {
            for step in &report.steps {
                println!("{}: {}", step.name, step.detail);
            }
            println!("Compacted {store}: {} -> {}", human_bytes(report.bytes_before), human_bytes(after));
        }
    }
}
