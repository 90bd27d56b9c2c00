//! The host-monitor's rows: one row per host, built from what the store holds
//! (reference §8.1–§8.3, §2.4 current era).
//!
//! A row is a set of cells, one per column and per filter-only field. Each
//! cell carries the text shown, the seconds behind it when it is a duration
//! (so queries compare numbers, not text), and a colour *category* — good,
//! warn, bad, neutral, or "pick a colour by value" — that the TUI and the web
//! UI each map to their own colours.
//!
//! Three kinds of row (§8.1):
//! - **UNK**: the host was never audited; audit cells show `?`.
//! - **FAIL**: the newest audit failed; the cells come from the last good
//!   audit when there is one, else they are `-`. The REACHABLE column says
//!   why the newest audit failed either way.
//! - **OK**: the newest audit succeeded.
//!
//! Taskcluster cells (TC_ACT, PULSE, TC_T_DUR, TC_QUAR, `pool`) and NOTE
//! come from their own records on every kind of row: a host unreachable over
//! SSH may still be working tasks, and that is worth seeing. TC_ACT is the
//! newer of the worker API's last activity and Pulse's last word about the
//! worker (the API updates `lastDateActive` at most every half hour; Pulse
//! says within seconds), and HEALTHY judges by it; PULSE is Pulse's alone, so
//! a `-` there says the queue's events never named the worker (or no
//! consumer stores them) even while the worker API vouches for it.
//!
//! Rows implement [`crate::query::Fields`], so the query language filters
//! and sorts them; [`Row::cell`] finds a cell by key for everything else.
//!
//! Columns follow the TUI's order (the MVP's `--once` swapped PP_EXP and
//! PP_SHA; one order serves both here), with REACHABLE second so a host that
//! failed its last audit shows without scrolling.

use std::collections::{BTreeMap, BTreeSet};

use compact_str::CompactString;
use serde::Deserialize as _;
use serde_json::Value;

use crate::gather::{Failure, Observed};
use crate::hosts::{is_windows_host, lowercase_name, short_name};
use crate::humanhash::{DISPLAY_WORDS, humanize};
use crate::notes::{NoteRecord, current_note};
use crate::pools::{HostPuppet, OverrideInfo, PpMatch, RefKey, expected_sha, pp_match, short_sha};
use crate::query::{Column, FieldValue, Fields};
use crate::records::{BranchRef, ObservedHost, TcWorker, WindowsPool};
use crate::time::{MinUnit, Timestamp, humanize_duration};

/// HEALTHY needs Taskcluster activity more recent than this (§2.4).
pub const HEALTHY_ACTIVE_WITHIN_S: i64 = 3600;

const HOUR: i64 = 3600;
const MINUTE: i64 = 60;

/// A displayed column: its header label, its query key, and what it shows
/// in a line (the live view's help lists them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ColumnDef {
    pub label: &'static str,
    pub key: &'static str,
    pub about: &'static str,
}

const fn col(label: &'static str, key: &'static str, about: &'static str) -> ColumnDef {
    ColumnDef { label, key, about }
}

/// The displayed columns, in the TUI's order (PP_SHA before PP_EXP), with
/// REACHABLE added after HOST and PULSE after TC_ACT.
pub const COLUMNS: &[ColumnDef] = &[
    col("HOST", "host", "the host; the domain all share is shown once, as fqdn="),
    col("REACHABLE", "reach", "ok, or why the newest audit failed (connection, auth, timeout, …)"),
    col("OS", "os", "L Linux, M macOS, W Windows"),
    col("ROLE", "role", "the Puppet role; `missing` when the host has none"),
    col("VLT_SHA", "vlt_sha", "the vault's SHA-256 prefix and 2-word name"),
    col("OVR_BCH", "sha", "the override's branch (SHA prefix); *wt: it sets WORKER_TYPE_OVERRIDE"),
    col("UPTIME", "uptime", "time since boot"),
    col("PP_LAST", "pp_last", "the last Puppet run's age at the audit; FAIL when it failed"),
    col("PP_SHA", "pp_sha", "the git SHA the last Puppet run applied"),
    col("PP_EXP", "pp_exp", "the SHA expected: the override branch's head, else master's"),
    col("PP_MATCH", "pp_match", "Y: the last run applied the expected SHA and succeeded"),
    col("TC_ACT", "tc_act", "since the worker was last active (worker API or Pulse, the newer)"),
    col("PULSE", "pulse", "since Taskcluster's queue events (Pulse) last named the worker"),
    col("TC_T_DUR", "tc_j_sf", "the last task's duration; a trailing - while it runs"),
    col("TC_QUAR", "tc_quar", "YES while the worker is quarantined"),
    col("DATA", "data", "the age of the audit / of the Taskcluster scan"),
    col("HEALTHY", "healthy", "Y: PP_MATCH is Y and the worker was active within the hour"),
    col("NOTE", "note", "the newest note; (N) when there are N"),
];

/// Fields a query can filter on that are not shown as columns (§8.2),
/// including the web UI's sub-fields.
pub const FILTER_FIELDS: &[&str] = &[
    "pool",
    "wt_ovr",
    "status",
    "override",
    "mtime",
    "err",
    "ovr_branch",
    "ovr_sha_full",
    "vlt_sha_full",
    "vlt_mnemonic",
    "vlt_symlink",
];

/// How a cell should be coloured, independent of any terminal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Category {
    /// Green: as it should be.
    Good,
    /// Yellow: worth a look.
    Warn,
    /// Red: needs attention.
    Bad,
    /// The default colour.
    Neutral,
    /// A colour picked by the cell's `palette_key` (see [`palette_indices`]),
    /// so equal values look alike across hosts.
    Palette(Palette),
}

/// The value-coloured columns; each has its own seed so the same value in
/// two columns gets different colours (§8.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Palette {
    /// OVR_BCH: the branch, or the SHA prefix.
    Override,
    /// VLT_SHA: the humanhash word pair.
    Vault,
    /// ROLE.
    Role,
}

impl Palette {
    /// The MVP's seeds: sha 0, vlt 1, role 2.
    pub fn seed(self) -> usize {
        match self {
            Palette::Override => 0,
            Palette::Vault => 1,
            Palette::Role => 2,
        }
    }
}

/// A trailing part of a cell's text drawn in its own category, such as
/// OVR_BCH's ` *wt` in red.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Marker {
    /// A suffix of the cell's text.
    pub text: &'static str,
    pub category: Category,
}

/// OVR_BCH's mark of an override that sets WORKER_TYPE_OVERRIDE.
const WORKER_TYPE_MARKER: Marker = Marker { text: " *wt", category: Category::Bad };

/// One cell: what is shown, what a query compares, and how to colour it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cell {
    /// Inline up to 24 bytes, as nearly every cell is: a fleet's rows
    /// then cost no allocation per cell.
    pub text: CompactString,
    /// The duration behind the text, for numeric comparison and sorting;
    /// for DATA the older of the two ages.
    pub seconds: Option<i64>,
    pub category: Category,
    /// For [`Category::Palette`] cells: the part of the text whose value
    /// picks the colour.
    pub palette_key: Option<CompactString>,
    /// A static, as every marker is one of a few: a cell is then a
    /// reference larger, not a marker's size.
    pub marker: Option<&'static Marker>,
}

impl Cell {
    /// A plain cell in the default colour.
    pub fn text(text: impl Into<CompactString>) -> Cell {
        Cell::with(text, Category::Neutral)
    }

    /// A cell in `category`.
    pub fn with(text: impl Into<CompactString>, category: Category) -> Cell {
        Cell { text: text.into(), seconds: None, category, palette_key: None, marker: None }
    }

    fn duration(text: impl Into<CompactString>, seconds: Option<i64>, category: Category) -> Cell {
        Cell { seconds, ..Cell::with(text, category) }
    }

    fn palette(text: impl Into<CompactString>, palette: Palette, key: impl Into<CompactString>) -> Cell {
        Cell { palette_key: Some(key.into()), ..Cell::with(text, Category::Palette(palette)) }
    }

    /// `-`: known to be absent or not applicable.
    fn dash() -> Cell {
        Cell::text("-")
    }

    /// `?`: never observed.
    fn unknown() -> Cell {
        Cell::text("?")
    }
}

/// Which kind of row this is (§8.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// No audit recorded.
    Unk,
    /// The newest audit failed.
    Fail,
    /// The newest audit succeeded.
    Ok,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Unk => "UNK",
            Status::Fail => "FAIL",
            Status::Ok => "OK",
        }
    }
}

/// One host's row. Cells are fields so renderers can name them; [`Row::cell`]
/// finds them by query key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// The full host name, whatever HOST shows.
    pub fqdn: String,
    pub status: Status,
    pub host: Cell,
    pub reach: Cell,
    pub os: Cell,
    pub role: Cell,
    pub vlt_sha: Cell,
    pub ovr_bch: Cell,
    pub uptime: Cell,
    pub pp_last: Cell,
    pub pp_sha: Cell,
    pub pp_exp: Cell,
    pub pp_match: Cell,
    pub tc_act: Cell,
    pub pulse: Cell,
    pub tc_t_dur: Cell,
    pub tc_quar: Cell,
    pub data: Cell,
    pub healthy: Cell,
    pub note: Cell,
    /// `UNK`, `FAIL` or `OK`: filter-only, but built for every row, as
    /// `--json` shows it.
    pub status_cell: Cell,
    /// The other filter-only fields; `None` when the rows were built
    /// without them (see [`Context::filter_only`]).
    pub filter_only: Option<Box<FilterOnly>>,
}

/// The filter-only fields a row has beside `status` (§8.2). Built only on
/// request: a fleet's rows without them take a third less memory and time,
/// and only a query naming one of them reads them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterOnly {
    /// The Taskcluster worker type (override-aware, from gather-tc).
    pub pool: Cell,
    /// `Y` the override sets WORKER_TYPE_OVERRIDE, `N` it does not, `-` no override.
    pub wt_ovr: Cell,
    /// `Y` the host has an override file, `N` it has none.
    pub override_: Cell,
    /// The override file's age (now − its mtime).
    pub mtime: Cell,
    /// Why the newest audit failed: `<class>: <message>`; `-` when it did not.
    pub err: Cell,
    pub ovr_branch: Cell,
    pub ovr_sha_full: Cell,
    pub vlt_sha_full: Cell,
    pub vlt_mnemonic: Cell,
    pub vlt_symlink: Cell,
}

impl Row {
    /// The cell of a column or filter-only field by its key (or one of the
    /// MVP's aliases: `ovr_bch`, `ovr_sha`, `tc_t_dur`, `health`,
    /// `reachable`); case-insensitive. `None` for an unknown key, and for
    /// a filter-only field the row was built without.
    pub fn cell(&self, key: &str) -> Option<&Cell> {
        // Keys are lower case but for what a person typed; lowering only
        // those keeps the lookups of sorting and printing free of allocations.
        let lowered;
        let key = if key.bytes().any(|b| b.is_ascii_uppercase()) {
            lowered = key.to_ascii_lowercase();
            lowered.as_str()
        } else {
            key
        };
        let cell = match key {
            "host" => &self.host,
            "reach" | "reachable" => &self.reach,
            "os" => &self.os,
            "role" => &self.role,
            "vlt_sha" => &self.vlt_sha,
            "sha" | "ovr_bch" | "ovr_sha" => &self.ovr_bch,
            "uptime" => &self.uptime,
            "pp_last" => &self.pp_last,
            "pp_sha" => &self.pp_sha,
            "pp_exp" => &self.pp_exp,
            "pp_match" => &self.pp_match,
            "tc_act" => &self.tc_act,
            "pulse" => &self.pulse,
            "tc_j_sf" | "tc_t_dur" => &self.tc_t_dur,
            "tc_quar" => &self.tc_quar,
            "data" => &self.data,
            "healthy" | "health" => &self.healthy,
            "note" => &self.note,
            "status" => &self.status_cell,
            _ => return self.filter_only.as_deref().and_then(|fields| fields.cell(key)),
        };
        Some(cell)
    }

    /// The displayed cells in [`COLUMNS`] order. By position, not by key:
    /// printing a fleet's table looked up 340,000 cells by name.
    pub fn columns(&self) -> impl Iterator<Item = (&'static ColumnDef, &Cell)> {
        let cells = [
            &self.host,
            &self.reach,
            &self.os,
            &self.role,
            &self.vlt_sha,
            &self.ovr_bch,
            &self.uptime,
            &self.pp_last,
            &self.pp_sha,
            &self.pp_exp,
            &self.pp_match,
            &self.tc_act,
            &self.pulse,
            &self.tc_t_dur,
            &self.tc_quar,
            &self.data,
            &self.healthy,
            &self.note,
        ];
        COLUMNS.iter().zip(cells)
    }
}

impl FilterOnly {
    /// The field of lower-case `key`.
    fn cell(&self, key: &str) -> Option<&Cell> {
        Some(match key {
            "pool" => &self.pool,
            "wt_ovr" => &self.wt_ovr,
            "override" => &self.override_,
            "mtime" => &self.mtime,
            "err" => &self.err,
            "ovr_branch" => &self.ovr_branch,
            "ovr_sha_full" => &self.ovr_sha_full,
            "vlt_sha_full" => &self.vlt_sha_full,
            "vlt_mnemonic" => &self.vlt_mnemonic,
            "vlt_symlink" => &self.vlt_symlink,
            _ => return None,
        })
    }
}

/// The query language reads rows through their cells: the text, the exact
/// seconds of durations, and for OVR_BCH the branch (or SHA prefix) that
/// `=` matches and sorting uses.
impl Fields for Row {
    fn field(&self, column: Column) -> Option<FieldValue<'_>> {
        let cell = self.cell(column.key())?;
        let value = FieldValue::text(cell.text.as_str()).with_seconds(cell.seconds);
        Some(match (&column, &cell.palette_key) {
            (Column::OvrBch, Some(key)) => value.with_key(key.as_str()),
            _ => value,
        })
    }
}

/// What the store holds about one host.
#[derive(Clone, Copy, Debug, Default)]
pub struct HostData<'a> {
    pub host: &'a str,
    /// The newest observation, ok or not.
    pub latest: Option<&'a ObservedHost>,
    /// The newest ok observation (may be `latest` itself).
    pub last_ok: Option<&'a ObservedHost>,
    /// The host's Taskcluster worker; see [`WorkerIndex`].
    pub worker: Option<&'a TcWorker>,
    /// When Pulse last named the host's worker: the sighting of the
    /// worker's id and group when there is a worker, else of the host's
    /// short name in any group (see [`crate::liveness::SightingIndex`]).
    pub pulse_seen: Option<Timestamp>,
    /// The host's note records, oldest first.
    pub notes: &'a [NoteRecord],
}

/// What every row shares.
#[derive(Clone, Copy, Debug)]
pub struct Context<'a> {
    pub now: Timestamp,
    /// Branch heads; see [`ref_map`]. Empty when GitHub was never asked.
    pub refs: &'a BTreeMap<RefKey, String>,
    /// Windows pool name → image hash; see [`pool_hashes`]. Empty when there
    /// is no pool data, which blanks the Puppet cells of Windows hosts.
    pub windows_pools: &'a BTreeMap<String, String>,
    /// Stored override files, read, by their full SHA-256.
    pub overrides: &'a BTreeMap<String, OverrideInfo>,
    /// Names operators gave vault contents (symlinks), by full SHA-256.
    pub vault_names: &'a BTreeMap<String, String>,
    /// Stripped from HOST (see [`crate::hosts::detect_common_fqdn_suffix`]);
    /// `None` shows full names.
    pub fqdn_suffix: Option<&'a str>,
    /// Whether rows get their [`FilterOnly`] fields: wanted wherever a
    /// query may come after the rows are built (the live view), or when
    /// the query at hand names one ([`needs_filter_only`]).
    pub filter_only: bool,
}

/// Whether a query's conditions or the sort keys read a filter-only field
/// other than `status`, which every row has.
pub fn needs_filter_only(query: &crate::query::Query, sort: &[crate::query::SortKey]) -> bool {
    let columns = query.conditions().iter().map(|c| c.column).chain(sort.iter().map(|key| key.column));
    columns.into_iter().any(|column| column.is_filter_only() && column != Column::Status)
}

/// The newest head of each branch.
pub fn ref_map(refs: &[BranchRef]) -> BTreeMap<RefKey, String> {
    let mut newest: BTreeMap<RefKey, &BranchRef> = BTreeMap::new();
    for r in refs {
        let key = RefKey { owner: r.owner.clone(), repo: r.repo.clone(), branch: r.branch.clone() };
        let entry = newest.entry(key).or_insert(r);
        if r.ts > entry.ts {
            *entry = r;
        }
    }
    newest.into_iter().map(|(key, r)| (key, r.sha.clone())).collect()
}

/// The newest image hash of each Windows pool.
pub fn pool_hashes(pools: &[WindowsPool]) -> BTreeMap<String, String> {
    let mut newest: BTreeMap<&str, &WindowsPool> = BTreeMap::new();
    for p in pools {
        let entry = newest.entry(p.pool_name.as_str()).or_insert(p);
        if p.ts > entry.ts {
            *entry = p;
        }
    }
    newest.into_iter().map(|(name, p)| (name.to_owned(), p.hash.clone())).collect()
}

/// Workers by host, for finding each host's worker in one lookup: a
/// worker belongs to the host whose short name equals its host's short
/// name or its worker id, ignoring case; the newest record wins. (A scan
/// per host made 20,000 rows take 16 s.)
#[derive(Debug, Default)]
pub struct WorkerIndex<'a> {
    by_name: std::collections::HashMap<String, &'a TcWorker>,
}

impl<'a> WorkerIndex<'a> {
    pub fn new(workers: &'a [TcWorker]) -> WorkerIndex<'a> {
        let mut index = WorkerIndex::default();
        for worker in workers {
            for name in [short_name(&worker.host), worker.worker_id.as_str()] {
                let slot = index.by_name.entry(name.to_ascii_lowercase()).or_insert(worker);
                if worker.ts > slot.ts {
                    *slot = worker;
                }
            }
        }
        index
    }

    /// The worker of `host`, if any.
    pub fn get(&self, host: &str) -> Option<&'a TcWorker> {
        self.by_name.get(lowercase_name(short_name(host)).as_ref()).copied()
    }
}

/// Colour indices for a palette column: the sorted unique keys of *all*
/// hosts map to `(i + seed * 11) % capacity`, so colours stay put when a
/// filter hides rows (§8.3). Empty when `capacity` is 0.
pub fn palette_indices<'a>(
    keys: impl IntoIterator<Item = &'a str>,
    palette: Palette,
    capacity: usize,
) -> BTreeMap<String, usize> {
    if capacity == 0 {
        return BTreeMap::new();
    }
    let unique: BTreeSet<&str> = keys.into_iter().collect();
    unique.into_iter().enumerate().map(|(i, key)| (key.to_owned(), (i + palette.seed() * 11) % capacity)).collect()
}

/// Reads the stored observation. Fields of the wrong type (from an older
/// writer) are dropped one by one rather than losing the whole record.
pub fn read_observed(value: &Value) -> Observed {
    // Deserialising from the borrowed value avoids cloning every map; the
    // slow path below runs only for records with fields of the wrong type.
    if let Ok(observed) = Observed::deserialize(value) {
        return observed;
    }
    let Some(map) = value.as_object() else { return Observed::default() };
    let mut kept = serde_json::Map::new();
    for (key, field) in map {
        kept.insert(key.clone(), field.clone());
        if serde_json::from_value::<Observed>(Value::Object(kept.clone())).is_err() {
            kept.remove(key);
        }
    }
    serde_json::from_value(Value::Object(kept)).unwrap_or_default()
}

/// Builds one host's row.
pub fn build_row(data: &HostData<'_>, ctx: &Context<'_>) -> Row {
    let latest = data.latest.or(data.last_ok);
    let status = match latest {
        None => Status::Unk,
        Some(obs) if obs.ok => Status::Ok,
        Some(_) => Status::Fail,
    };
    let source = match status {
        Status::Unk => None,
        Status::Ok => latest,
        Status::Fail => data.last_ok.filter(|obs| obs.ok),
    };
    let audit = source.map(|obs| Audited::new(data.host, obs, ctx));
    let filler = if status == Status::Unk { Cell::unknown } else { Cell::dash };
    let tc = TcCells::new(data.worker, data.pulse_seen, ctx.now);
    let healthy = audit.as_ref().map_or_else(filler, |a| healthy_cell(a.pp_match_state(), tc.active_s));
    let from_audit = |f| cell_of(audit.as_ref(), filler, f);
    Row {
        fqdn: data.host.to_owned(),
        status,
        host: Cell::text(display_host(data.host, ctx.fqdn_suffix)),
        reach: reach_cell(latest),
        os: from_audit(Audited::os_cell),
        role: from_audit(Audited::role_cell),
        vlt_sha: from_audit(Audited::vlt_sha_cell),
        ovr_bch: from_audit(Audited::ovr_bch_cell),
        uptime: from_audit(Audited::uptime_cell),
        pp_last: from_audit(Audited::pp_last_cell),
        pp_sha: from_audit(Audited::pp_sha_cell),
        pp_exp: from_audit(Audited::pp_exp_cell),
        pp_match: from_audit(Audited::pp_match_cell),
        tc_act: tc.act,
        pulse: activity_cell(age_s(data.pulse_seen, ctx.now)),
        tc_t_dur: tc.task_duration,
        tc_quar: tc.quarantine,
        data: data_cell(status, source.map(|obs| ctx.now - obs.ts), data.worker.map(|w| ctx.now - w.ts)),
        healthy,
        note: note_cell(data.notes),
        status_cell: status_cell(status),
        filter_only: ctx.filter_only.then(|| {
            Box::new(FilterOnly {
                pool: tc.pool,
                wt_ovr: from_audit(Audited::wt_ovr_cell),
                override_: from_audit(Audited::override_cell),
                mtime: from_audit(Audited::mtime_cell),
                err: err_cell(latest),
                ovr_branch: from_audit(Audited::ovr_branch_cell),
                ovr_sha_full: from_audit(Audited::ovr_sha_full_cell),
                vlt_sha_full: from_audit(Audited::vlt_sha_full_cell),
                vlt_mnemonic: from_audit(Audited::vlt_mnemonic_cell),
                vlt_symlink: from_audit(Audited::vlt_symlink_cell),
            })
        }),
    }
}

/// A cell from the audit, or the row's filler when there is none.
fn cell_of<'a>(audit: Option<&Audited<'a>>, filler: fn() -> Cell, f: fn(&Audited<'a>) -> Cell) -> Cell {
    audit.map_or_else(filler, f)
}

/// Rows for many hosts, in the order given.
pub fn build_rows(hosts: &[HostData<'_>], ctx: &Context<'_>) -> Vec<Row> {
    hosts.iter().map(|data| build_row(data, ctx)).collect()
}

fn display_host(host: &str, suffix: Option<&str>) -> String {
    match suffix.and_then(|s| host.strip_suffix(s)) {
        Some(stripped) if !stripped.is_empty() => stripped.to_owned(),
        _ => host.to_owned(),
    }
}

/// REACHABLE: whether the newest audit got an answer, and if not, why.
fn reach_cell(latest: Option<&ObservedHost>) -> Cell {
    match latest {
        None => Cell::unknown(),
        Some(obs) if obs.ok => Cell::with("ok", Category::Good),
        Some(obs) => Cell::with(obs.failure.as_ref().map_or("failed", |f| f.class.as_str()), Category::Bad),
    }
}

fn err_cell(latest: Option<&ObservedHost>) -> Cell {
    match latest {
        Some(obs) if !obs.ok => {
            Cell::with(obs.failure.as_ref().map_or_else(|| "audit failed".to_owned(), describe), Category::Bad)
        }
        _ => Cell::dash(),
    }
}

fn describe(failure: &Failure) -> String {
    format!("{}: {}", failure.class.as_str(), failure.message)
}

fn status_cell(status: Status) -> Cell {
    let category = if status == Status::Fail { Category::Bad } else { Category::Neutral };
    Cell::with(status.as_str(), category)
}

fn note_cell(notes: &[NoteRecord]) -> Cell {
    current_note(notes).map_or_else(Cell::dash, |note| Cell::with(note, Category::Warn))
}

/// `<1h` good, `<6h` warn, else bad: UPTIME and PP_LAST.
fn hours_category(seconds: i64) -> Category {
    match seconds {
        s if s < HOUR => Category::Good,
        s if s < 6 * HOUR => Category::Warn,
        _ => Category::Bad,
    }
}

/// DATA: `<audit age>/<tc scan age>`, coloured by the older of the two.
fn data_cell(status: Status, audit_age: Option<chrono::TimeDelta>, tc_age: Option<chrono::TimeDelta>) -> Cell {
    let audit_s = audit_age.map(|d| d.num_seconds());
    let tc_s = tc_age.map(|d| d.num_seconds());
    let audit_text = if status == Status::Unk { "?".to_owned() } else { humanize_duration(audit_s, MinUnit::Minutes) };
    let text = format!("{audit_text}/{}", humanize_duration(tc_s, MinUnit::Minutes));
    let oldest = audit_s.into_iter().chain(tc_s).map(|s| s.max(0)).max();
    let category = oldest.map_or(Category::Neutral, |s| match s {
        s if s < 5 * MINUTE => Category::Good,
        s if s < 30 * MINUTE => Category::Warn,
        _ => Category::Bad,
    });
    Cell::duration(text, oldest, category)
}

fn healthy_cell(pp_match: Option<PpMatch>, active_s: Option<i64>) -> Cell {
    match pp_match {
        None | Some(PpMatch::Unknown) => Cell::dash(),
        Some(PpMatch::Yes) if active_s.is_some_and(|s| s < HEALTHY_ACTIVE_WITHIN_S) => Cell::with("Y", Category::Good),
        Some(_) => Cell::with("N", Category::Bad),
    }
}

/// The Taskcluster cells, which do not depend on the audit.
struct TcCells {
    act: Cell,
    active_s: Option<i64>,
    task_duration: Cell,
    quarantine: Cell,
    pool: Cell,
}

impl TcCells {
    /// `pulse_seen` is the sighting of this worker (its id and group).
    fn new(worker: Option<&TcWorker>, pulse_seen: Option<Timestamp>, now: Timestamp) -> TcCells {
        let Some(worker) = worker else {
            return TcCells {
                act: Cell::dash(),
                active_s: None,
                task_duration: Cell::dash(),
                quarantine: Cell::dash(),
                pool: Cell::dash(),
            };
        };
        let active_s = age_s(worker.last_date_active.max(pulse_seen), now);
        TcCells {
            act: activity_cell(active_s),
            active_s,
            task_duration: task_duration_cell(worker),
            quarantine: quarantine_cell(worker.quarantine_until, now),
            pool: Cell::text(worker.worker_type.clone()),
        }
    }
}

/// Seconds since `at`, never negative.
fn age_s(at: Option<Timestamp>, now: Timestamp) -> Option<i64> {
    at.map(|t| (now - t).num_seconds().max(0))
}

/// TC_ACT and PULSE: an age of activity, `-` when there is none.
fn activity_cell(age_s: Option<i64>) -> Cell {
    Cell::duration(humanize_duration(age_s, MinUnit::Seconds), age_s, activity_category(age_s))
}

/// TC_ACT and PULSE: `<5m` good, `<1h` warn, else bad.
fn activity_category(active_s: Option<i64>) -> Category {
    match active_s {
        None => Category::Neutral,
        Some(s) if s < 5 * MINUTE => Category::Good,
        Some(s) if s < HOUR => Category::Warn,
        Some(_) => Category::Bad,
    }
}

/// TC_T_DUR: how long the latest task took, or has run so far (at the scan)
/// with a trailing ` -`; coloured by how it ended.
fn task_duration_cell(worker: &TcWorker) -> Cell {
    let Some(started) = worker.task_started else { return Cell::dash() };
    match worker.task_resolved {
        Some(resolved) => {
            let seconds = (resolved - started).num_seconds().max(0);
            let category = task_state_category(worker.task_state.as_deref());
            Cell::duration(humanize_duration(Some(seconds), MinUnit::Seconds), Some(seconds), category)
        }
        None => {
            let seconds = (worker.ts - started).num_seconds().max(0);
            Cell::duration(
                format!("{} -", humanize_duration(Some(seconds), MinUnit::Seconds)),
                Some(seconds),
                Category::Neutral,
            )
        }
    }
}

fn task_state_category(state: Option<&str>) -> Category {
    match state.map(str::to_ascii_lowercase).as_deref() {
        Some("completed") => Category::Good,
        Some("exception") => Category::Warn,
        Some("failed") => Category::Bad,
        _ => Category::Neutral,
    }
}

/// TC_QUAR: `YES` while the quarantine lasts (the MVP's help said `Y`; its
/// code, and this, say `YES`).
fn quarantine_cell(until: Option<Timestamp>, now: Timestamp) -> Cell {
    match until {
        Some(until) if until > now => Cell::with("YES", Category::Bad),
        _ => Cell::dash(),
    }
}

/// One good audit, read, with what it takes to judge it.
struct Audited<'a> {
    obs: &'a ObservedHost,
    observed: &'a Observed,
    is_windows: bool,
    /// `Some(None)`: the host has an override that is not stored (or empty).
    override_info: Option<Option<&'a OverrideInfo>>,
    /// The vault's humanhash, worked out once for the two cells showing it.
    vault_mnemonic: std::cell::OnceCell<Option<String>>,
    /// The expected Puppet SHA, worked out once for the three cells that
    /// judge by it.
    expected: std::cell::OnceCell<Option<String>>,
    ctx: &'a Context<'a>,
}

impl<'a> Audited<'a> {
    fn new(host: &str, obs: &'a ObservedHost, ctx: &'a Context<'a>) -> Audited<'a> {
        let observed = &obs.observed;
        let is_windows = observed.os_type.as_deref().map_or_else(|| is_windows_host(host), is_windows_os);
        let has_override = observed.override_present || observed.override_sha256.is_some();
        let override_info =
            has_override.then(|| observed.override_sha256.as_ref().and_then(|sha| ctx.overrides.get(sha)));
        Audited {
            obs,
            observed,
            is_windows,
            override_info,
            vault_mnemonic: std::cell::OnceCell::new(),
            expected: std::cell::OnceCell::new(),
            ctx,
        }
    }

    fn puppet(&self) -> HostPuppet<'_> {
        HostPuppet {
            is_windows: self.is_windows,
            role: self.observed.role.as_deref(),
            override_info: self.override_info,
            git_sha: self.observed.puppet_git_sha.as_deref(),
            success: self.observed.puppet_success,
        }
    }

    /// Windows hosts without pool data have nothing to compare with, so
    /// their Puppet cells are blank rather than misleading (§9.1 item 19).
    fn puppet_suppressed(&self) -> bool {
        self.is_windows && self.ctx.windows_pools.is_empty()
    }

    fn expected(&self) -> Option<&str> {
        let expected =
            self.expected.get_or_init(|| expected_sha(&self.puppet(), self.ctx.refs, self.ctx.windows_pools));
        expected.as_deref()
    }

    /// `None` when suppressed.
    fn pp_match_state(&self) -> Option<PpMatch> {
        (!self.puppet_suppressed()).then(|| pp_match(&self.puppet(), self.expected()))
    }

    fn os_cell(&self) -> Cell {
        Cell::text(os_letter(self.observed.os_type.as_deref()))
    }

    fn role_cell(&self) -> Cell {
        match (&self.observed.role, self.observed.role_present) {
            (_, false) => Cell::with("missing", Category::Bad),
            (Some(role), true) => Cell::palette(role.clone(), Palette::Role, role.clone()),
            (None, true) => Cell::dash(),
        }
    }

    fn vault_sha(&self) -> Option<&str> {
        self.observed.vault_sha256.as_deref().filter(|sha| !sha.is_empty())
    }

    fn vault_mnemonic(&self) -> Option<&str> {
        let words =
            self.vault_mnemonic.get_or_init(|| self.vault_sha().and_then(|sha| humanize(sha, DISPLAY_WORDS).ok()));
        words.as_deref()
    }

    fn vault_symlink(&self) -> Option<&str> {
        self.vault_sha().and_then(|sha| self.ctx.vault_names.get(sha)).map(String::as_str)
    }

    /// VLT_SHA: `<sha8> <word-pair>` plus ` (<symlink>)`.
    fn vlt_sha_cell(&self) -> Cell {
        let Some(sha) = self.vault_sha() else { return Cell::dash() };
        let sha8: String = sha.chars().take(8).collect();
        let mnemonic = self.vault_mnemonic();
        let mut text = mnemonic.map_or_else(|| sha8.clone(), |words| format!("{sha8} {words}"));
        if let Some(name) = self.vault_symlink() {
            text.push_str(&format!(" ({name})"));
        }
        Cell::palette(text, Palette::Vault, mnemonic.map_or(sha8, str::to_owned))
    }

    fn vlt_sha_full_cell(&self) -> Cell {
        self.vault_sha().map_or_else(Cell::dash, Cell::text)
    }

    fn vlt_mnemonic_cell(&self) -> Cell {
        self.vault_mnemonic().map_or_else(Cell::dash, Cell::text)
    }

    fn vlt_symlink_cell(&self) -> Cell {
        self.vault_symlink().map_or_else(Cell::dash, Cell::text)
    }

    fn override_sha(&self) -> Option<&str> {
        self.observed.override_sha256.as_deref().filter(|sha| !sha.is_empty())
    }

    fn override_branch(&self) -> Option<&str> {
        self.override_info.flatten().and_then(|info| info.branch.as_deref())
    }

    fn sets_worker_type(&self) -> bool {
        self.override_info.flatten().is_some_and(|info| info.worker_type_override.is_some())
    }

    /// OVR_BCH: `<branch> (<sha8>)` when the stored file names a branch,
    /// else `<sha8>`; ` *wt` when it sets WORKER_TYPE_OVERRIDE. An override
    /// file without a SHA (empty) shows `(empty)`.
    fn ovr_bch_cell(&self) -> Cell {
        if self.override_info.is_none() {
            return Cell::dash();
        }
        let Some(sha) = self.override_sha() else { return Cell::text("(empty)") };
        let sha8: String = sha.chars().take(8).collect();
        let (mut text, key) = match self.override_branch() {
            Some(branch) => (format!("{branch} ({sha8})"), branch.to_owned()),
            None => (sha8.clone(), sha8),
        };
        let mut cell = if self.sets_worker_type() {
            text.push_str(" *wt");
            Cell { marker: Some(&WORKER_TYPE_MARKER), ..Cell::text(text) }
        } else {
            Cell::text(text)
        };
        cell.category = Category::Palette(Palette::Override);
        cell.palette_key = Some(key.into());
        cell
    }

    fn ovr_branch_cell(&self) -> Cell {
        self.override_branch().map_or_else(Cell::dash, Cell::text)
    }

    fn ovr_sha_full_cell(&self) -> Cell {
        self.override_sha().map_or_else(Cell::dash, Cell::text)
    }

    fn wt_ovr_cell(&self) -> Cell {
        match self.override_info {
            None => Cell::dash(),
            Some(_) if self.sets_worker_type() => Cell::text("Y"),
            Some(_) => Cell::text("N"),
        }
    }

    fn override_cell(&self) -> Cell {
        Cell::text(if self.override_info.is_some() { "Y" } else { "N" })
    }

    /// The override file's age, from the mtime the audit saw.
    fn mtime_cell(&self) -> Cell {
        let mtime = self.observed.override_meta.as_ref().and_then(|meta| meta.mtime_epoch.trim().parse::<i64>().ok());
        let Some(mtime) = mtime.filter(|_| self.override_info.is_some()) else { return Cell::dash() };
        let seconds = (self.ctx.now.timestamp() - mtime).max(0);
        Cell::duration(humanize_duration(Some(seconds), MinUnit::Seconds), Some(seconds), Category::Neutral)
    }

    fn uptime_cell(&self) -> Cell {
        let seconds = self.observed.uptime_s.map(|s| s.max(0));
        let category = seconds.map_or(Category::Neutral, hours_category);
        Cell::duration(humanize_duration(seconds, MinUnit::Seconds), seconds, category)
    }

    /// When Puppet last ran, as an age at the audit: the state file's `ts`,
    /// else the legacy epoch.
    fn puppet_run_at(&self) -> Option<i64> {
        let from_state = self
            .observed
            .puppet_state_ts
            .as_deref()
            .and_then(|ts| chrono::DateTime::parse_from_rfc3339(ts.trim()).ok().map(|t| t.timestamp()));
        from_state.or(self.observed.puppet_last_run_epoch)
    }

    /// PP_LAST: the run's age relative to the audit, ` FAIL` when it
    /// failed; `--` when unknown.
    fn pp_last_cell(&self) -> Cell {
        if self.puppet_suppressed() {
            return Cell::dash();
        }
        let Some(run_at) = self.puppet_run_at() else { return Cell::text("--") };
        let seconds = (self.obs.ts.timestamp() - run_at).max(0);
        let failed = self.observed.puppet_success == Some(false);
        let mut text = humanize_duration(Some(seconds), MinUnit::Seconds);
        if failed {
            text.push_str(" FAIL");
        }
        let category = if failed { Category::Bad } else { hours_category(seconds) };
        Cell::duration(text, Some(seconds), category)
    }

    fn pp_sha_cell(&self) -> Cell {
        self.observed
            .puppet_git_sha
            .as_deref()
            .filter(|s| !s.is_empty())
            .map_or_else(Cell::dash, |s| Cell::text(short_sha(s)))
    }

    fn pp_exp_cell(&self) -> Cell {
        if self.puppet_suppressed() {
            return Cell::dash();
        }
        self.expected().map_or_else(Cell::dash, |sha| Cell::text(short_sha(sha)))
    }

    fn pp_match_cell(&self) -> Cell {
        match self.pp_match_state() {
            Some(PpMatch::Yes) => Cell::with("Y", Category::Good),
            Some(PpMatch::No) => Cell::with("N", Category::Warn),
            Some(PpMatch::Unknown) | None => Cell::dash(),
        }
    }
}

fn is_windows_os(os_type: &str) -> bool {
    os_type.eq_ignore_ascii_case("windows")
}

/// OS: `M`acOS (Darwin), `L`inux, `W`indows, else the first letter.
fn os_letter(os_type: Option<&str>) -> String {
    match os_type.map(str::trim) {
        Some("Darwin") => "M".to_owned(),
        Some("Linux") => "L".to_owned(),
        Some("Windows") => "W".to_owned(),
        Some(other) => other.chars().next().map_or_else(|| "-".to_owned(), |c| c.to_uppercase().collect()),
        None => "-".to_owned(),
    }
}

#[cfg(test)]
mod tests;
