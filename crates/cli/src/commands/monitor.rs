//! `host-monitor --once`: the fleet's rows from the store, filtered, sorted
//! and printed. Rows and queries are decided in core (`rows`, `query`);
//! this module loads the data and lays out the text.

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::Context as _;
use chrono::Utc;
use fleetroll_core::config::Settings;
use fleetroll_core::pools::OverrideInfo;
use fleetroll_core::query::{self, Query, SortKey};
use fleetroll_core::records::{BranchRef, TcWorker, WindowsPool};
use fleetroll_core::rows::{self, COLUMNS, Context, HostData, Row};
use fleetroll_store::content::ContentStore;
use serde_json::{Map, Value};

use crate::cli::MonitorArgs;
use crate::output::print_json;
use crate::settings::open_store;

pub async fn run(settings: &Settings, args: &MonitorArgs) -> anyhow::Result<ExitCode> {
    if !args.once {
        anyhow::bail!("the live view is not built yet; run host-monitor with --once");
    }
    let query = filter_of(args)?;
    let sort = sort_keys(&args.sort, &query)?;
    let (hosts, _) = crate::host_args::single(&args.target)?;
    let mut rows = load_rows(settings, &hosts).await?;
    rows.retain(|row| query.matches(row));
    query::sort_rows(&mut rows, &sort);
    if args.hostname_only {
        for row in &rows {
            println!("{}", row.fqdn);
        }
    } else if args.json {
        print_json(&rows_json(&rows))?;
    } else {
        print!("{}", table(&rows));
    }
    Ok(ExitCode::SUCCESS)
}

/// The query of --filter or --filter-file (`query:` in YAML).
fn filter_of(args: &MonitorArgs) -> anyhow::Result<Query> {
    let text = match (&args.filter, &args.filter_file) {
        (Some(filter), _) => filter.clone(),
        (None, Some(path)) => {
            let yaml = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
            let saved: SavedFilter =
                yaml_serde::from_str(&yaml).with_context(|| format!("{} is not a saved filter", path.display()))?;
            if let Some(description) = &saved.description {
                eprintln!("filter {}: {description}", path.display());
            }
            saved.query
        }
        (None, None) => String::new(),
    };
    query::parse(&text).with_context(|| format!("invalid filter {text:?}"))
}

#[derive(serde::Deserialize)]
struct SavedFilter {
    query: String,
    #[serde(default)]
    description: Option<String>,
}

/// A `sort:` in the filter wins over --sort, as typing it does in the TUI.
fn sort_keys(spec: &str, query: &Query) -> anyhow::Result<Vec<SortKey>> {
    if !query.sort_keys().is_empty() {
        return Ok(query.sort_keys().to_vec());
    }
    query::parse_sort_spec(spec).with_context(|| format!("invalid --sort {spec:?}"))
}

async fn load_rows(settings: &Settings, hosts: &[String]) -> anyhow::Result<Vec<Row>> {
    let store = open_store(settings).await?;
    let latest = store.latest_observations().await?;
    let workers = store.latest::<TcWorker>().await?;
    let refs = rows::ref_map(&store.latest::<BranchRef>().await?);
    let pools = rows::pool_hashes(&store.latest::<WindowsPool>().await?);
    let notes = store.notes().await?;
    store.close().await;
    let overrides = override_infos(
        settings,
        latest.values().map(|l| &l.latest).chain(latest.values().filter_map(|l| l.last_ok.as_ref())),
    );
    let vault_names = BTreeMap::new();
    let ctx = Context {
        now: Utc::now(),
        refs: &refs,
        windows_pools: &pools,
        overrides: &overrides,
        vault_names: &vault_names,
        fqdn_suffix: None,
    };
    let data: Vec<HostData<'_>> = hosts
        .iter()
        .map(|host| HostData {
            host,
            latest: latest.get(host).map(|l| &l.latest),
            last_ok: latest.get(host).and_then(|l| l.last_ok.as_ref()),
            worker: rows::worker_for(host, &workers),
            notes: notes.get(host).map_or(&[], Vec::as_slice),
        })
        .collect();
    Ok(rows::build_rows(&data, &ctx))
}

/// The stored override files the observations name, read once each.
fn override_infos<'a>(
    settings: &Settings,
    observations: impl Iterator<Item = &'a fleetroll_core::records::HostObservation>,
) -> BTreeMap<String, OverrideInfo> {
    let store = ContentStore::overrides(&settings.home);
    let mut infos = BTreeMap::new();
    for observation in observations {
        let Some(sha) = observation.observed.get("override_sha256").and_then(Value::as_str) else { continue };
        if infos.contains_key(sha) {
            continue;
        }
        if let Some(text) = store.read_by_sha(sha).and_then(|bytes| String::from_utf8(bytes).ok()) {
            infos.insert(sha.to_owned(), OverrideInfo::parse(&text));
        }
    }
    infos
}

fn rows_json(rows: &[Row]) -> Value {
    let hosts: Map<String, Value> = rows
        .iter()
        .map(|row| {
            let mut cells: Map<String, Value> =
                row.columns().map(|(def, cell)| (def.key.to_owned(), Value::from(cell.text.clone()))).collect();
            cells.insert("status".to_owned(), Value::from(row.status_cell.text.clone()));
            (row.fqdn.clone(), Value::Object(cells))
        })
        .collect();
    Value::Object(hosts)
}

/// Columns padded to their widest cell, two spaces apart; the last column
/// is not padded, so lines carry no trailing blanks.
fn table(rows: &[Row]) -> String {
    let mut lines: Vec<Vec<String>> = vec![COLUMNS.iter().map(|def| def.label.to_owned()).collect()];
    lines.extend(rows.iter().map(|row| row.columns().map(|(_, cell)| cell_text(cell)).collect()));
    let widths: Vec<usize> =
        (0..COLUMNS.len()).map(|i| lines.iter().map(|line| line[i].chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for line in &lines {
        let last = line.len() - 1;
        for (i, text) in line.iter().enumerate() {
            out.push_str(text);
            if i < last {
                out.push_str(&" ".repeat(widths[i] - text.chars().count() + 2));
            }
        }
        out.push('\n');
    }
    out
}

fn cell_text(cell: &rows::Cell) -> String {
    match &cell.marker {
        Some(marker) => format!("{}{}", cell.text, marker.text),
        None => cell.text.clone(),
    }
}
