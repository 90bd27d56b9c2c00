//! `host-monitor`: the fleet's rows from the store, filtered, sorted and
//! printed once (`--once`, or when stdout is not a terminal), or shown live
//! in the terminal (`app`, `view`, `tui`). Rows and queries are decided in
//! core (`rows`, `query`); this module loads the data and lays out the text.

mod app;
#[cfg(test)]
mod fixtures;
mod tui;
mod view;

use std::io::IsTerminal as _;

use std::collections::{BTreeMap, HashMap};
use std::process::ExitCode;

use anyhow::Context as _;
use chrono::Utc;
use fleetroll_core::config::Settings;
use fleetroll_core::liveness::{Sighting, SightingIndex};
use fleetroll_core::pools::OverrideInfo;
use fleetroll_core::query::{self, Query, SortKey};
use fleetroll_core::records::{BranchRef, ObservedHost, TcWorker, WindowsPool};
use fleetroll_core::rows::{self, COLUMNS, Context, HostData, Row};
use fleetroll_core::time::Timestamp;
use fleetroll_store::content::ContentStore;
use fleetroll_store::{LatestObservation, Runs, Store};

use crate::cli::MonitorArgs;
use crate::output::print_json;
use crate::settings::open_store;

pub async fn run(settings: &Settings, args: &MonitorArgs) -> anyhow::Result<ExitCode> {
    let text = query_text(args)?;
    let query = query::parse(&text).with_context(|| format!("invalid filter {text:?}"))?;
    let sort = sort_keys(&args.sort, &query)?;
    if !args.once && std::io::stdout().is_terminal() {
        let (hosts, _) = crate::host_args::single(&args.target)?;
        return live(settings, args, &hosts, (text, query)).await;
    }
    // Taken before the first read, so nothing stored in between is missed.
    let cursor = if args.once { None } else { Some(newest_observation_id(settings).await?) };
    let (hosts, mut rows) = load_rows(settings, &args.target, rows::needs_filter_only(&query, &sort)).await?;
    rows.retain(|row| query.matches(row));
    query::sort_rows(&mut rows, &sort);
    if args.hostname_only {
        for row in &rows {
            println!("{}", row.fqdn);
        }
    } else if args.json {
        print_json(&RowsJson(&rows))?;
    } else {
        print!("{}", table(&rows));
    }
    let Some(cursor) = cursor else {
        // The process ends here; giving a fleet's rows back to the
        // allocator one by one would only delay that.
        std::mem::forget(rows);
        return Ok(ExitCode::SUCCESS);
    };
    drop(rows);
    follow(settings, &hosts, &query, args.json, cursor).await
}

/// How often a follower looks for new observations.
const FOLLOW_EVERY: std::time::Duration = std::time::Duration::from_secs(1);
/// New observations read per look.
const FOLLOW_BATCH: i64 = 10_000;

async fn newest_observation_id(settings: &Settings) -> anyhow::Result<i64> {
    let store = open_store(settings).await?;
    let id = store.newest_observation_id().await;
    store.close().await;
    Ok(id?)
}

/// Without a terminal and without --once, as in the MVP: after the table,
/// print the row of every listed host that gets a new observation (a
/// table line, or a JSON line with --json), until interrupted.
async fn follow(
    settings: &Settings,
    hosts: &[String],
    query: &Query,
    json: bool,
    mut cursor: i64,
) -> anyhow::Result<ExitCode> {
    use std::io::Write as _;
    let wanted: std::collections::HashSet<&str> = hosts.iter().map(String::as_str).collect();
    let filter_only = rows::needs_filter_only(query, &[]);
    let store = open_store(settings).await?;
    loop {
        tokio::time::sleep(FOLLOW_EVERY).await;
        let new = store.observations_after(cursor, FOLLOW_BATCH).await?;
        let Some((last, _)) = new.last() else { continue };
        cursor = *last;
        let mut changed: Vec<String> =
            new.iter().map(|(_, o)| o.host.clone()).filter(|h| wanted.contains(h.as_str())).collect();
        changed.sort();
        changed.dedup();
        if changed.is_empty() {
            continue;
        }
        let snapshot = read_snapshot(settings, &store, &changed, filter_only).await?;
        let mut stdout = std::io::stdout().lock();
        for row in snapshot.rows.iter().filter(|row| query.matches(*row)) {
            let line = if json {
                serde_json::to_string(&RowsJson(std::slice::from_ref(row)))?
            } else {
                row.columns().map(|(_, cell)| cell_text(cell)).collect::<Vec<_>>().join("  ")
            };
            writeln!(stdout, "{line}")?;
        }
        stdout.flush()?;
    }
}

/// The live view: the store stays open and is re-read every second.
async fn live(
    settings: &Settings,
    args: &MonitorArgs,
    hosts: &[String],
    (text, query): (String, Query),
) -> anyhow::Result<ExitCode> {
    let sort = query::parse_sort_spec(&args.sort).with_context(|| format!("invalid --sort {:?}", args.sort))?;
    let store = open_store(settings).await?;
    let outcome = async {
        let snapshot = read_snapshot(settings, &store, hosts, true).await?;
        let app = app::App::new(snapshot, text, query, app::Sort::new(sort, args.sort.trim()), view::PALETTE.len());
        tui::run(settings, &store, hosts, app).await
    }
    .await;
    store.close().await;
    outcome.map(|()| ExitCode::SUCCESS)
}

/// The query text of --filter or --filter-file (`query:` in YAML), blank
/// without either.
fn query_text(args: &MonitorArgs) -> anyhow::Result<String> {
    Ok(match (&args.filter, &args.filter_file) {
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
    })
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

/// The --once rows (and the rows a follower starts from). The host list
/// is read on a thread of its own while the store is: neither needs the
/// other, and a fleet's list takes a while to check.
async fn load_rows(settings: &Settings, target: &str, filter_only: bool) -> anyhow::Result<(Vec<String>, Vec<Row>)> {
    let listed = tokio::task::spawn_blocking({
        let target = target.to_owned();
        move || crate::host_args::single(&target)
    });
    let store = open_store(settings).await?;
    let records = read_records(&store).await;
    store.close().await;
    // A bad list is reported before a failed read, as when it was read first.
    let (hosts, _) = listed.await??;
    let snapshot = build_snapshot(settings, records?, &hosts, filter_only);
    Ok((hosts, snapshot.rows))
}

/// What a snapshot is built from: the fleet's newest records.
struct Records {
    latest: Runs<LatestObservation<ObservedHost>>,
    workers: Vec<TcWorker>,
    sightings: Vec<Sighting>,
    refs: BTreeMap<fleetroll_core::pools::RefKey, String>,
    pools: BTreeMap<String, String>,
    notes: BTreeMap<String, Vec<fleetroll_core::notes::NoteRecord>>,
}

/// Every listed host's row, as of now, and the newest observation's time;
/// with the filter-only fields when `filter_only`.
async fn read_snapshot(
    settings: &Settings,
    store: &Store,
    hosts: &[String],
    filter_only: bool,
) -> anyhow::Result<app::Snapshot> {
    let records = read_records(store).await?;
    Ok(build_snapshot(settings, records, hosts, filter_only))
}

async fn read_records(store: &Store) -> anyhow::Result<Records> {
    let started = std::time::Instant::now();
    // The two large reads decode on their own tasks, so on a machine with
    // more than one core neither waits for the other.
    let latest = tokio::spawn({
        let store = store.clone();
        async move { store.latest_observations_as::<ObservedHost>().await }
    });
    let workers = tokio::spawn({
        let store = store.clone();
        async move { store.latest::<TcWorker>().await }
    });
    let (refs, pools, notes, sightings) =
        tokio::try_join!(store.latest::<BranchRef>(), store.latest::<WindowsPool>(), store.notes(), store.sightings())?;
    let (refs, pools) = (rows::ref_map(&refs), rows::pool_hashes(&pools));
    let latest = latest.await??;
    let observations_read = started.elapsed();
    let workers = workers.await??;
    tracing::debug!(
        hosts = latest.len(),
        observations_ms = observations_read.as_millis(),
        store_ms = started.elapsed().as_millis(),
        "Read the monitor's records"
    );
    Ok(Records { latest, workers, sightings, refs, pools, notes })
}

fn build_snapshot(settings: &Settings, records: Records, hosts: &[String], filter_only: bool) -> app::Snapshot {
    let started = std::time::Instant::now();
    let Records { latest, workers: all_workers, sightings, refs, pools, notes } = &records;
    // The worker index is built beside the rest: each takes a while at
    // fleet scale, and neither needs the other.
    let (workers, sightings, observed, overrides) = std::thread::scope(|scope| {
        let workers = scope.spawn(|| rows::WorkerIndex::new(all_workers));
        let sightings = scope.spawn(|| SightingIndex::new(sightings));
        // By reference: a fleet's records are large, and moving them into
        // a map cost more than looking them up.
        let observed: HashMap<&str, &LatestObservation<ObservedHost>> =
            latest.iter().map(|l| (l.latest.host.as_str(), l)).collect();
        let overrides =
            override_infos(settings, latest.iter().map(|l| &l.latest).chain(latest.iter().filter_map(|l| l.last_ok())));
        (joined(workers), joined(sightings), observed, overrides)
    });
    let vault_names = BTreeMap::new();
    let now = Utc::now();
    let ctx = Context {
        now,
        refs,
        windows_pools: pools,
        overrides: &overrides,
        vault_names: &vault_names,
        fqdn_suffix: None,
        filter_only,
    };
    let lookups = Lookups { observed, workers, sightings, notes };
    let (rows, newest) = build_rows_in_parallel(hosts, &lookups, &ctx);
    drop(lookups);
    // What the rows were built from is a fleet's records, hundreds of
    // thousands of allocations: given back on a thread of their own while
    // the rows are sorted and shown, rather than before.
    std::thread::spawn(move || drop(records));
    tracing::debug!(hosts = hosts.len(), rows_ms = started.elapsed().as_millis(), "Built the monitor's rows");
    app::Snapshot { rows, newest: newest.latest, newest_ok: newest.ok, now }
}

/// Each host's records, found by name.
struct Lookups<'a> {
    observed: HashMap<&'a str, &'a LatestObservation<ObservedHost>>,
    workers: rows::WorkerIndex<'a>,
    sightings: SightingIndex<'a>,
    notes: &'a BTreeMap<String, Vec<fleetroll_core::notes::NoteRecord>>,
}

impl<'a> Lookups<'a> {
    fn host_data(&self, host: &'a String) -> HostData<'a> {
        let observations = self.observed.get(host.as_str()).copied();
        let worker = self.workers.get(host);
        HostData {
            host,
            latest: observations.map(|l| &l.latest),
            last_ok: observations.and_then(LatestObservation::last_ok),
            worker,
            pulse_seen: self.sightings.for_host(host, worker),
            notes: self.notes.get(host).map_or(&[], Vec::as_slice),
        }
    }
}

/// The newest observation's time, and the newest good one's, among the
/// rows' hosts.
#[derive(Clone, Copy, Default)]
struct Newest {
    latest: Option<Timestamp>,
    ok: Option<Timestamp>,
}

impl Newest {
    fn add(&mut self, host: &HostData<'_>) {
        self.latest = self.latest.max(host.latest.map(|l| l.ts));
        self.ok = self.ok.max(host.last_ok.map(|ok| ok.ts));
    }

    fn merge(self, other: Newest) -> Newest {
        Newest { latest: self.latest.max(other.latest), ok: self.ok.max(other.ok) }
    }
}

/// Rows are independent of each other, so a large fleet's are built on
/// every core, each thread also looking its hosts' records up. Threads take
/// shares of the slots as they finish the last, so one slower share (hosts
/// whose rows cost more, or a busy core) does not hold up the rest. The
/// slots become the rows in place (an `Option<Row>` is the size of a
/// `Row`), so the rows are never held twice.
fn build_rows_in_parallel<'a>(hosts: &'a [String], lookups: &Lookups<'a>, ctx: &Context<'_>) -> (Vec<Row>, Newest) {
    const SHARE: usize = 500;
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let mut slots: Vec<Option<Row>> = std::iter::repeat_with(|| None).take(hosts.len()).collect();
    let build_share = |part: &'a [String], out: &mut [Option<Row>]| {
        let mut newest = Newest::default();
        for (host, slot) in part.iter().zip(out) {
            let data = lookups.host_data(host);
            newest.add(&data);
            *slot = Some(rows::build_row(&data, ctx));
        }
        newest
    };
    let newest = if threads == 1 || hosts.len() <= 2 * SHARE {
        build_share(hosts, &mut slots)
    } else {
        let shares = std::sync::Mutex::new(hosts.chunks(SHARE).zip(slots.chunks_mut(SHARE)));
        let next_share = || shares.lock().expect("row shares").next();
        std::thread::scope(|scope| {
            let builders: Vec<_> = (0..threads)
                .map(|_| {
                    scope.spawn(|| {
                        let mut newest = Newest::default();
                        while let Some((part, out)) = next_share() {
                            newest = newest.merge(build_share(part, out));
                        }
                        newest
                    })
                })
                .collect();
            builders.into_iter().map(joined).fold(Newest::default(), Newest::merge)
        })
    };
    (slots.into_iter().map(|row| row.expect("every slot is filled")).collect(), newest)
}

/// A scoped thread's result; its panic, if it panicked, goes on here.
fn joined<T>(thread: std::thread::ScopedJoinHandle<'_, T>) -> T {
    thread.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// The stored override files the observations name, read once each.
fn override_infos<'a>(
    settings: &Settings,
    observations: impl Iterator<Item = &'a ObservedHost>,
) -> BTreeMap<String, OverrideInfo> {
    let store = ContentStore::overrides(&settings.home);
    let mut infos = BTreeMap::new();
    for observation in observations {
        let Some(sha) = observation.observed.override_sha256.as_deref() else { continue };
        if infos.contains_key(sha) {
            continue;
        }
        if let Some(text) = store.read_by_sha(sha).and_then(|bytes| String::from_utf8(bytes).ok()) {
            infos.insert(sha.to_owned(), OverrideInfo::parse(&text));
        }
    }
    infos
}

/// `--json`: each host's displayed cells and its status by column key,
/// hosts in the order shown. Serialised straight from the rows: building a
/// JSON value first took as long as reading the store.
struct RowsJson<'a>(&'a [Row]);

impl serde::Serialize for RowsJson<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut hosts = serializer.serialize_map(Some(self.0.len()))?;
        for row in self.0 {
            hosts.serialize_entry(&row.fqdn, &RowJson(row))?;
        }
        hosts.end()
    }
}

struct RowJson<'a>(&'a Row);

impl serde::Serialize for RowJson<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut cells = serializer.serialize_map(Some(COLUMNS.len() + 1))?;
        for (def, cell) in self.0.columns() {
            cells.serialize_entry(def.key, &cell.text)?;
        }
        cells.serialize_entry("status", &self.0.status_cell.text)?;
        cells.end()
    }
}

/// Columns padded to their widest cell, two spaces apart; the last column
/// is not padded, so lines carry no trailing blanks.
fn table(rows: &[Row]) -> String {
    // Each cell's width is counted once, for both passes.
    let cell_widths: Vec<usize> = rows.iter().flat_map(|row| row.columns().map(|(_, cell)| cell_width(cell))).collect();
    let mut widths: Vec<usize> = COLUMNS.iter().map(|def| def.label.chars().count()).collect();
    for row_widths in cell_widths.chunks(COLUMNS.len()) {
        for (width, cell) in widths.iter_mut().zip(row_widths) {
            *width = (*width).max(*cell);
        }
    }
    let mut out = String::with_capacity((rows.len() + 1) * (widths.iter().sum::<usize>() + 2 * widths.len()));
    let header = COLUMNS.iter().map(|def| (def.label, "", def.label.chars().count()));
    push_line(&mut out, &widths, header);
    for (row, row_widths) in rows.iter().zip(cell_widths.chunks(COLUMNS.len())) {
        let cells = row.columns().zip(row_widths).map(|((_, cell), width)| {
            let marker = cell.marker.as_ref().map_or("", |m| m.text);
            (cell.text.as_str(), marker, *width)
        });
        push_line(&mut out, &widths, cells);
    }
    out
}

/// One line of the table from `(text, marker, width)` per column.
fn push_line<'a>(out: &mut String, widths: &[usize], cells: impl Iterator<Item = (&'a str, &'a str, usize)>) {
    const SPACES: &str = "                                                                ";
    let last = widths.len() - 1;
    for (i, (text, marker, width)) in cells.enumerate() {
        out.push_str(text);
        out.push_str(marker);
        if i < last {
            // Whole runs of blanks, not one character at a time.
            let mut pad = widths[i] - width + 2;
            while pad > 0 {
                let run = pad.min(SPACES.len());
                out.push_str(&SPACES[..run]);
                pad -= run;
            }
        }
    }
    out.push('\n');
}

fn cell_width(cell: &rows::Cell) -> usize {
    cell.text.chars().count() + cell.marker.as_ref().map_or(0, |m| m.text.chars().count())
}

fn cell_text(cell: &rows::Cell) -> String {
    match &cell.marker {
        Some(marker) => format!("{}{}", cell.text, marker.text),
        None => cell.text.to_string(),
    }
}
