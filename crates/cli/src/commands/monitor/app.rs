//! The live monitor's model: the rows, what is shown of them (filter, the
//! `o`/`O` toggles, sort, scroll offsets), the mode (table, filter bar, help,
//! filter picker), the filter history and the status line, and how keys
//! change them. Pure: no terminal, no clock and no files, so every key is
//! unit-tested; `view.rs` draws it and `tui.rs` feeds it keys, data and the
//! files it asks for.

pub mod history;
pub mod picker;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use fleetroll_core::hosts::detect_common_fqdn_suffix;
use fleetroll_core::query::{self, Column, FieldValue, Fields, Query, SortKey};
use fleetroll_core::rows::{self, COLUMNS, Palette, Row};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use history::History;
use picker::{Outcome, Picker, SavedFilter};

/// What the `s` key cycles through (§8.4).
const SORT_CYCLE: [Column; 3] = [Column::Host, Column::Role, Column::OvrBch];

/// How many refreshes (seconds) a status message stays up; the MVP's 2 s.
const STATUS_TICKS: u8 = 2;

/// Problems with files name a path, which takes longer to read.
const PROBLEM_TICKS: u8 = 6;

/// What the event loop should do after a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Continue,
    Quit,
    /// `f`: read the saved filters and call [`App::open_picker`].
    OpenPicker,
}

/// Which layer has the keyboard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    Table,
    /// The `/` bar: the text being typed, the cursor (in chars), and where
    /// ↑/↓ are in the history.
    Filter {
        input: String,
        cursor: usize,
        recall: Option<Recall>,
    },
    Help,
    Picker(Picker),
}

/// A history entry shown in the `/` bar, and what was typed before ↑, which
/// ↓ past the newest entry brings back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recall {
    pub at: usize,
    pub draft: String,
}

/// What `O` cycles through (§8.4): the OS column's letters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OsFilter {
    Linux,
    Mac,
    Windows,
}

impl OsFilter {
    /// None → Linux → macOS → Windows → None.
    fn next(current: Option<OsFilter>) -> Option<OsFilter> {
        match current {
            None => Some(OsFilter::Linux),
            Some(OsFilter::Linux) => Some(OsFilter::Mac),
            Some(OsFilter::Mac) => Some(OsFilter::Windows),
            Some(OsFilter::Windows) => None,
        }
    }

    fn letter(self) -> &'static str {
        match self {
            OsFilter::Linux => "L",
            OsFilter::Mac => "M",
            OsFilter::Windows => "W",
        }
    }

    /// As the header names it.
    pub fn label(self) -> &'static str {
        match self {
            OsFilter::Linux => "Linux",
            OsFilter::Mac => "macOS",
            OsFilter::Windows => "Windows",
        }
    }
}

/// A one-line message under the table; errors are drawn in red.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    pub text: String,
    pub error: bool,
    ticks_left: u8,
}

/// The sort in force: its keys and how the header names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sort {
    pub keys: Vec<SortKey>,
    pub label: String,
}

impl Sort {
    /// The sort of `--sort SPEC`.
    pub fn new(keys: Vec<SortKey>, label: impl Into<String>) -> Sort {
        Sort { keys, label: label.into() }
    }

    fn by(column: Column) -> Sort {
        Sort::new(vec![SortKey::asc(column)], column.key())
    }
}

/// One refresh's data: every host's row, newest first observation time.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub rows: Vec<Row>,
    /// The newest observation of any listed host, for the header's age.
    pub newest: Option<DateTime<Utc>>,
    /// The newest good observation of any listed host, for `[stale]`.
    pub newest_ok: Option<DateTime<Utc>>,
    /// When the rows were computed (their ages are relative to it).
    pub now: DateTime<Utc>,
}

#[derive(Debug)]
pub struct App {
    pub version: &'static str,
    snapshot: Snapshot,
    /// Indices into the snapshot's rows that the filters let through,
    /// sorted; rows are not copied, so a reload of 20,000 hosts stays cheap.
    shown: Vec<usize>,
    /// The widest cell (or label) of each column over the shown rows, in
    /// chars; kept here so a frame never scans every row.
    widths: Vec<usize>,
    /// The domain all hosts share, left out of HOST and shown once in the
    /// header.
    fqdn_suffix: Option<String>,
    /// Seconds since the newest good audit of any host.
    newest_ok_age: Option<i64>,
    /// Value → colour index per palette column (indexed by its seed), over
    /// *all* rows so colours stay put when a filter hides some (§8.3).
    palettes: Vec<BTreeMap<String, usize>>,
    palette_capacity: usize,
    query_text: String,
    query: Query,
    sort: Sort,
    /// `o`: only hosts with an override.
    pub overrides_only: bool,
    /// `O`: only hosts of one OS.
    pub os_filter: Option<OsFilter>,
    history: History,
    /// Set when the history changed since `tui` last saved it.
    history_changed: bool,
    /// The first row shown.
    pub top: usize,
    /// How many non-HOST columns are scrolled off to the left.
    pub left: usize,
    /// Rows that fit in the table, told by the loop from the terminal size.
    page: usize,
    pub mode: Mode,
    pub status: Option<Status>,
}

impl App {
    /// An app showing `snapshot` filtered by `query_text` (already known to
    /// parse to `query`) and sorted by `sort`.
    pub fn new(snapshot: Snapshot, query_text: String, query: Query, sort: Sort, palette_capacity: usize) -> App {
        let mut app = App {
            version: env!("CARGO_PKG_VERSION"),
            snapshot: Snapshot::default(),
            shown: Vec::new(),
            widths: Vec::new(),
            fqdn_suffix: None,
            newest_ok_age: None,
            palettes: Vec::new(),
            palette_capacity,
            query_text,
            query,
            sort,
            overrides_only: false,
            os_filter: None,
            history: History::default(),
            history_changed: false,
            top: 0,
            left: 0,
            page: 1,
            mode: Mode::Table,
            status: None,
        };
        app.set_snapshot(snapshot);
        app
    }

    /// New data: re-filter and re-sort, keeping the scroll position. The
    /// old data is handed back, since freeing 20,000 rows takes long enough
    /// (about 10 ms) for the caller to do it elsewhere.
    pub fn set_snapshot(&mut self, snapshot: Snapshot) -> Snapshot {
        let old = std::mem::replace(&mut self.snapshot, snapshot);
        self.palettes = palettes(&self.snapshot.rows, self.palette_capacity);
        let hosts: Vec<&str> = self.snapshot.rows.iter().map(|row| row.fqdn.as_str()).collect();
        self.fqdn_suffix = detect_common_fqdn_suffix(&hosts);
        self.newest_ok_age = self.snapshot.newest_ok.map(|ok| (self.snapshot.now - ok).num_seconds());
        self.refresh();
        old
    }

    /// The history saved by an earlier session.
    pub fn set_history(&mut self, history: History) {
        self.history = history;
    }

    /// Whether the history changed since the last call, so `tui` saves it.
    pub fn take_history_change(&mut self) -> bool {
        std::mem::take(&mut self.history_changed)
    }

    pub fn history(&self) -> &History {
        &self.history
    }

    /// The colour index of a palette cell's key, if it has one.
    pub fn palette_index(&self, palette: Palette, key: &str) -> Option<usize> {
        self.palettes.get(palette.seed()).and_then(|keys| keys.get(key)).copied()
    }

    /// Filters, sorts and measures the rows again: on new data and when a
    /// key changes the filter or sort, never per frame.
    fn refresh(&mut self) {
        let mut shown: Vec<Ranked<'_>> = (self.snapshot.rows.iter().enumerate())
            .filter(|(_, row)| self.lets_through(row))
            .map(|(index, row)| Ranked { index, row })
            .collect();
        query::sort_rows(&mut shown, self.sort_keys());
        let shown: Vec<usize> = shown.into_iter().map(|ranked| ranked.index).collect();
        self.shown = shown;
        self.widths = self.measure_columns();
        self.clamp();
    }

    /// The `/` query, `o` and `O` are ANDed (§8.4).
    fn lets_through(&self, row: &Row) -> bool {
        let has_override = !matches!(row.ovr_bch.text.as_str(), "-" | "?");
        (!self.overrides_only || has_override)
            && self.os_filter.is_none_or(|os| row.os.text == os.letter())
            && self.query.matches(row)
    }

    fn measure_columns(&self) -> Vec<usize> {
        let mut widths: Vec<usize> = COLUMNS.iter().map(|def| def.label.chars().count()).collect();
        for row in self.shown() {
            for (width, def) in widths.iter_mut().zip(COLUMNS) {
                let cell_width = match def.key {
                    "host" => self.host_text(row).chars().count(),
                    key => row.cell(key).map_or(0, cell_width),
                };
                *width = (*width).max(cell_width);
            }
        }
        widths
    }

    /// HOST as shown: without the domain every host shares.
    pub fn host_text<'r>(&self, row: &'r Row) -> &'r str {
        let stripped = self.fqdn_suffix.as_deref().and_then(|suffix| row.host.text.strip_suffix(suffix));
        stripped.filter(|name| !name.is_empty()).unwrap_or(row.host.text.as_str())
    }

    pub fn fqdn_suffix(&self) -> Option<&str> {
        self.fqdn_suffix.as_deref()
    }

    /// Each column's width in chars, over the shown rows and the label.
    pub fn column_widths(&self) -> &[usize] {
        &self.widths
    }

    /// A `sort:` in the filter wins over the `s` key and `--sort`.
    fn sort_keys(&self) -> &[SortKey] {
        if self.query.sort_keys().is_empty() { &self.sort.keys } else { self.query.sort_keys() }
    }

    pub fn sort_label(&self) -> &str {
        if self.query.sort_keys().is_empty() { &self.sort.label } else { "query" }
    }

    /// The shown rows, in order.
    pub fn shown(&self) -> impl ExactSizeIterator<Item = &Row> + '_ {
        self.shown.iter().map(|&index| &self.snapshot.rows[index])
    }

    pub fn shown_len(&self) -> usize {
        self.shown.len()
    }

    /// Up to `count` shown rows from the first one in view.
    pub fn visible(&self, count: usize) -> impl Iterator<Item = &Row> + '_ {
        let from_top = self.shown.get(self.top..).unwrap_or_default();
        from_top.iter().take(count).map(|&index| &self.snapshot.rows[index])
    }

    pub fn total(&self) -> usize {
        self.snapshot.rows.len()
    }

    pub fn query_text(&self) -> &str {
        &self.query_text
    }

    /// Seconds since the newest observation, if any.
    pub fn data_age(&self) -> Option<i64> {
        self.snapshot.newest.map(|newest| (self.snapshot.now - newest).num_seconds())
    }

    /// `[stale]`: no host had a good audit within the freshness threshold
    /// that `data-freshness` uses, or none ever had one.
    pub fn is_stale(&self) -> bool {
        self.newest_ok_age.is_none_or(|age| age > fleetroll_core::freshness::DEFAULT_STALE_THRESHOLD_S)
    }

    /// `[OVERRIDES]`: the `o` toggle is on.
    pub fn overrides_badge(&self) -> bool {
        self.overrides_only
    }

    /// The rows that fit in the table (at least one).
    pub fn set_page(&mut self, rows: usize) {
        self.page = rows.max(1);
        self.clamp();
    }

    pub fn page(&self) -> usize {
        self.page
    }

    /// Keeps the offsets inside the data: the last page stays full, and at
    /// least one non-HOST column stays on screen.
    fn clamp(&mut self) {
        self.top = self.top.min(self.shown.len().saturating_sub(self.page));
        self.left = self.left.min(COLUMNS.len().saturating_sub(2));
    }

    /// One second passed: status messages age out.
    pub fn tick(&mut self) {
        if let Some(status) = &mut self.status {
            status.ticks_left = status.ticks_left.saturating_sub(1);
            if status.ticks_left == 0 {
                self.status = None;
            }
        }
    }

    /// Shows an error on the status line, e.g. a failed reload.
    pub fn say_error(&mut self, text: impl Into<String>) {
        self.say(text, true);
    }

    /// Shows a problem with a file (it names a path) a little longer.
    pub fn say_problem(&mut self, text: impl Into<String>) {
        self.status = Some(Status { text: text.into(), error: true, ticks_left: PROBLEM_TICKS });
    }

    fn say(&mut self, text: impl Into<String>, error: bool) {
        self.status = Some(Status { text: text.into(), error, ticks_left: STATUS_TICKS });
    }

    /// `f`, after `tui` read the filters folder: the picker over `saved`
    /// and the history; files that could not be read are named on the
    /// status line.
    pub fn open_picker(&mut self, saved: Vec<SavedFilter>, problems: &[String]) {
        if let Some(first) = problems.first() {
            let more = match problems.len() {
                1 => String::new(),
                n => format!(" (and {} more)", n - 1),
            };
            self.say_problem(format!("skipped saved filter {first}{more}"));
        }
        self.mode = Mode::Picker(Picker::new(saved, self.history.entries()));
    }

    pub fn update(&mut self, key: KeyEvent) -> Action {
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            return Action::Quit;
        }
        match &mut self.mode {
            Mode::Table => return self.table_key(key),
            Mode::Filter { .. } => self.filter_key(key),
            // Any key closes the help, as in the MVP.
            Mode::Help => self.mode = Mode::Table,
            Mode::Picker(picker) => {
                let outcome = picker.key(key);
                self.picked(outcome);
            }
        }
        Action::Continue
    }

    fn picked(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Stay => {}
            Outcome::Close => self.mode = Mode::Table,
            Outcome::NoMatches => self.say("no matches", false),
            Outcome::Apply(text) => {
                self.mode = Mode::Table;
                self.apply_and_remember(text);
            }
        }
    }

    fn table_key(&mut self, key: KeyEvent) -> Action {
        match key.code {
            KeyCode::Char('q' | 'Q') => return Action::Quit,
            KeyCode::Char('j') | KeyCode::Down => self.scroll_to(self.top.saturating_add(1)),
            KeyCode::Char('k') | KeyCode::Up => self.scroll_to(self.top.saturating_sub(1)),
            KeyCode::PageDown | KeyCode::Char(' ') => self.scroll_to(self.top.saturating_add(self.page)),
            KeyCode::PageUp => self.scroll_to(self.top.saturating_sub(self.page)),
            KeyCode::Home | KeyCode::Char('g') => self.scroll_to(0),
            KeyCode::End | KeyCode::Char('G') => self.scroll_to(usize::MAX),
            KeyCode::Char('l') | KeyCode::Right => self.left = self.left.saturating_add(1),
            KeyCode::Char('h') | KeyCode::Left => self.left = self.left.saturating_sub(1),
            KeyCode::Char('s' | 'S') => self.cycle_sort(),
            KeyCode::Char('o') => {
                self.overrides_only = !self.overrides_only;
                self.refilter();
            }
            KeyCode::Char('O') => {
                self.os_filter = OsFilter::next(self.os_filter);
                self.refilter();
            }
            KeyCode::Char('/') => {
                let input = self.query_text.clone();
                self.mode = Mode::Filter { cursor: input.chars().count(), input, recall: None };
            }
            // The cleared query goes to the history, so ↑ brings it back.
            KeyCode::Char('\\') => {
                self.remember(&self.query_text.clone());
                self.apply_filter(String::new());
            }
            KeyCode::Char('f') => return Action::OpenPicker,
            KeyCode::Char('?') => self.mode = Mode::Help,
            _ => {}
        }
        self.clamp();
        Action::Continue
    }

    /// Another set of rows: from the top again.
    fn refilter(&mut self) {
        self.top = 0;
        self.refresh();
    }

    fn scroll_to(&mut self, top: usize) {
        self.top = top;
        self.clamp();
    }

    fn cycle_sort(&mut self) {
        if !self.query.sort_keys().is_empty() {
            self.say("sort is set by the filter's sort: clause", false);
            return;
        }
        let current = SORT_CYCLE.iter().position(|&column| self.sort.keys == [SortKey::asc(column)]);
        // A --sort outside the cycle starts it again at host.
        let next = current.map_or(0, |i| (i + 1) % SORT_CYCLE.len());
        self.sort = Sort::by(SORT_CYCLE[next]);
        self.refresh();
    }

    fn filter_key(&mut self, key: KeyEvent) {
        let Mode::Filter { input, cursor, recall } = &mut self.mode else { return };
        let at = byte_index(input, *cursor);
        match key.code {
            KeyCode::Up | KeyCode::Down => {
                recall_history(&self.history, key.code == KeyCode::Up, input, recall);
                *cursor = input.chars().count();
                return;
            }
            KeyCode::Esc => self.mode = Mode::Table,
            KeyCode::Enter => {
                let text = std::mem::take(input);
                self.mode = Mode::Table;
                self.apply_and_remember(text);
                return;
            }
            KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                input.clear();
                *cursor = 0;
            }
            KeyCode::Char('a') if key.modifiers.contains(KeyModifiers::CONTROL) => *cursor = 0,
            KeyCode::Char('e') if key.modifiers.contains(KeyModifiers::CONTROL) => *cursor = input.chars().count(),
            KeyCode::Char(c) => {
                input.insert(at, c);
                *cursor += 1;
            }
            KeyCode::Backspace if *cursor > 0 => {
                *cursor -= 1;
                input.remove(byte_index(input, *cursor));
            }
            KeyCode::Delete if at < input.len() => {
                input.remove(at);
            }
            KeyCode::Left => *cursor = cursor.saturating_sub(1),
            KeyCode::Right => *cursor = (*cursor + 1).min(input.chars().count()),
            KeyCode::Home => *cursor = 0,
            KeyCode::End => *cursor = input.chars().count(),
            _ => {}
        }
        // An edited entry is a new draft: ↑ starts from the newest again.
        if let Mode::Filter { recall, .. } = &mut self.mode {
            *recall = None;
        }
    }

    /// Applies `text` and records it in the history if it parses.
    fn apply_and_remember(&mut self, text: String) {
        if self.apply_filter(text) {
            self.remember(&self.query_text.clone());
        }
    }

    fn remember(&mut self, text: &str) {
        self.history_changed |= self.history.push(text);
    }

    /// Applies `text` if it parses; otherwise the old filter stays and the
    /// error is shown. Returns whether it was applied.
    fn apply_filter(&mut self, text: String) -> bool {
        match query::parse(&text) {
            Ok(parsed) => {
                self.query = parsed;
                self.query_text = text.trim().to_owned();
                self.refilter();
                true
            }
            Err(err) => {
                self.say(format!("invalid filter: {err}"), true);
                false
            }
        }
    }
}

/// ↑ (`older`) or ↓ in the `/` bar: the next history entry that differs
/// from the bar's text; ↓ past the newest brings back what was typed.
fn recall_history(history: &History, older: bool, input: &mut String, recall: &mut Option<Recall>) {
    let at = recall.as_ref().map(|r| r.at);
    let next = match (older, at) {
        (true, at) => history.older(at, input),
        (false, Some(at)) => history.newer(at, input),
        (false, None) => return,
    };
    match (next, recall.take()) {
        (Some(next), previous) => {
            let draft = previous.map_or_else(|| input.clone(), |r| r.draft);
            *input = history.entries()[next].clone();
            *recall = Some(Recall { at: next, draft });
        }
        // Past the oldest, ↑ stays on the oldest.
        (None, Some(previous)) if older => *recall = Some(previous),
        (None, Some(previous)) => *input = previous.draft,
        (None, None) => {}
    }
}

/// A shown row and where it is in the snapshot, so sorting moves indices.
struct Ranked<'a> {
    index: usize,
    row: &'a Row,
}

impl Fields for Ranked<'_> {
    fn field(&self, column: Column) -> Option<FieldValue<'_>> {
        self.row.field(column)
    }
}

fn cell_width(cell: &rows::Cell) -> usize {
    cell.text.chars().count() + cell.marker.as_ref().map_or(0, |m| m.text.chars().count())
}

/// Value → colour index for each palette column, ordered by seed (0, 1, 2)
/// so `palette.seed()` indexes it.
fn palettes(all_rows: &[Row], capacity: usize) -> Vec<BTreeMap<String, usize>> {
    [Palette::Override, Palette::Vault, Palette::Role]
        .into_iter()
        .map(|palette| {
            let cells = all_rows.iter().filter_map(|row| row.cell(palette_column(palette)));
            let keys = cells
                .filter(|cell| cell.category == rows::Category::Palette(palette))
                .filter_map(|cell| cell.palette_key.as_deref());
            rows::palette_indices(keys, palette, capacity)
        })
        .collect()
}

/// The column each palette colours: looking only there, not in all of a
/// row's cells, keeps a reload of 20,000 rows some 10 ms shorter.
fn palette_column(palette: Palette) -> &'static str {
    match palette {
        Palette::Override => "sha",
        Palette::Vault => "vlt_sha",
        Palette::Role => "role",
    }
}

/// The byte offset of the `chars`-th character (the end when past it).
fn byte_index(text: &str, chars: usize) -> usize {
    text.char_indices().nth(chars).map_or(text.len(), |(i, _)| i)
}

#[cfg(test)]
mod tests;
