//! `data-freshness`: exit 0 only when the stored data is fresh.

use std::process::ExitCode;

use chrono::Utc;
use fleetroll_core::config::Settings;
use fleetroll_core::freshness::{Status, assess};

use crate::cli::FreshnessArgs;
use crate::output::print_json;
use crate::settings::open_store;

pub async fn run(settings: &Settings, args: &FreshnessArgs) -> anyhow::Result<ExitCode> {
    let store = open_store(settings).await?;
    let latest = store.latest_observations().await?;
    store.close().await;
    let (source, hosts): (String, Vec<String>) = match &args.file {
        Some(path) => {
            let path = path.display().to_string();
            let hosts = crate::host_args::read_list(&path)?;
            (path, hosts)
        }
        None => ("--all".to_owned(), latest.keys().cloned().collect()),
    };
    let last_ok: Vec<_> = hosts.iter().map(|h| latest.get(h).and_then(|l| l.last_ok()).map(|o| o.ts)).collect();
    let report = assess(&source, &last_ok, Utc::now(), args.stale_threshold, args.min_fresh_pct);
    if args.output.json {
        print_json(&report)?;
    } else {
        let status = match report.status {
            Status::Fresh => "FRESH",
            Status::Stale => "STALE",
            Status::NoData => "NO DATA",
        };
        println!(
            "{status}: {}/{} hosts fresh ({:.1}%, need {:.1}%), {} with good data; newest good audit {} ago ({})",
            report.hosts_fresh,
            report.hosts_total,
            report.fresh_pct,
            report.min_fresh_pct,
            report.hosts_with_ok,
            report.ok_age_human,
            report.host_source
        );
    }
    Ok(if report.status == Status::Fresh { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
