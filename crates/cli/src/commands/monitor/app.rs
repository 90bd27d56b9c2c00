//! The live monitor's model: the rows, what is shown of them (filter, sort,
//! scroll offsets), the mode (table, filter bar, help) and the status line,
//! and how keys change them. Pure: no terminal and no clock, so every key
//! is unit-tested; `view.rs` draws it and `tui.rs` feeds it keys and data.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use fleetroll_core::query::{self, Column, Query, SortKey};
use fleetroll_core::rows::{self, COLUMNS, Palette, Row};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What the `s` key cycles through (§8.4).
const SORT_CYCLE: [Column; 3] = [Column::Host, Column::Role, Column::OvrBch];

/// How many refreshes (seconds) a status message stays up; the MVP's 2 s.
const STATUS_TICKS: u8 = 2;

/// What the event loop should do after a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Continue,
    Quit,
}

/// Which layer has the keyboard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    Table,
    /// The `/` bar: the text being typed and the cursor (in chars).
    Filter {
        input: String,
        cursor: usize,
    },
    Help,
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
    /// When the rows were computed (their ages are relative to it).
    pub now: DateTime<Utc>,
}

#[derive(Debug)]
pub struct App {
    pub version: &'static str,
    snapshot: Snapshot,
    /// The rows the filter lets through, sorted.
    shown: Vec<Row>,
    /// Value → colour index per palette column (indexed by its seed), over
    /// *all* rows so colours stay put when a filter hides some (§8.3).
    palettes: Vec<BTreeMap<String, usize>>,
    palette_capacity: usize,
    query_text: String,
    query: Query,
    sort: Sort,
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
            palettes: Vec::new(),
            palette_capacity,
            query_text,
            query,
            sort,
            top: 0,
            left: 0,
            page: 1,
            mode: Mode::Table,
            status: None,
        };
        app.set_snapshot(snapshot);
        app
    }

    /// New data: re-filter and re-sort, keeping the scroll position.
    pub fn set_snapshot(&mut self, snapshot: Snapshot) {
        self.snapshot = snapshot;
        // Ordered by seed (0, 1, 2), so `palette.seed()` indexes it.
        self.palettes = [Palette::Override, Palette::Vault, Palette::Role]
            .into_iter()
            .map(|palette| self.palette_of(palette))
            .collect();
        self.refresh();
    }

    fn palette_of(&self, palette: Palette) -> BTreeMap<String, usize> {
        let keys = self.snapshot.rows.iter().flat_map(Row::columns).filter_map(|(_, cell)| match cell.category {
            rows::Category::Palette(p) if p == palette => cell.palette_key.as_deref(),
            _ => None,
        });
        rows::palette_indices(keys, palette, self.palette_capacity)
    }

    /// The colour index of a palette cell's key, if it has one.
    pub fn palette_index(&self, palette: Palette, key: &str) -> Option<usize> {
        self.palettes.get(palette.seed()).and_then(|keys| keys.get(key)).copied()
    }

    fn refresh(&mut self) {
        let mut shown: Vec<Row> = self.snapshot.rows.iter().filter(|row| self.query.matches(*row)).cloned().collect();
        query::sort_rows(&mut shown, self.sort_keys());
        self.shown = shown;
        self.clamp();
    }

    /// A `sort:` in the filter wins over the `s` key and `--sort`.
    fn sort_keys(&self) -> &[SortKey] {
        if self.query.sort_keys().is_empty() { &self.sort.keys } else { self.query.sort_keys() }
    }

    pub fn sort_label(&self) -> &str {
        if self.query.sort_keys().is_empty() { &self.sort.label } else { "query" }
    }

    pub fn shown(&self) -> &[Row] {
        &self.shown
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

    /// The rows that fit in the table (at least one).
    pub fn set_page(&mut self, rows: usize) {
        self.page = rows.max(1);
        self.clamp();
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

    fn say(&mut self, text: impl Into<String>, error: bool) {
        self.status = Some(Status { text: text.into(), error, ticks_left: STATUS_TICKS });
    }

    pub fn update(&mut self, key: KeyEvent) -> Action {
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            return Action::Quit;
        }
        match self.mode {
            Mode::Table => self.table_key(key),
            Mode::Filter { .. } => {
                self.filter_key(key);
                Action::Continue
            }
            // Any key closes the help, as in the MVP.
            Mode::Help => {
                self.mode = Mode::Table;
                Action::Continue
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
            KeyCode::Char('/') => {
                let input = self.query_text.clone();
                self.mode = Mode::Filter { cursor: input.chars().count(), input };
            }
            KeyCode::Char('\\') => self.apply_filter(String::new()),
            KeyCode::Char('?') => self.mode = Mode::Help,
            _ => {}
        }
        self.clamp();
        Action::Continue
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
        let Mode::Filter { input, cursor } = &mut self.mode else { return };
        let at = byte_index(input, *cursor);
        match key.code {
            KeyCode::Esc => self.mode = Mode::Table,
            KeyCode::Enter => {
                let text = std::mem::take(input);
                self.mode = Mode::Table;
                self.apply_filter(text);
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
    }

    /// Applies `text` if it parses; otherwise the old filter stays and the
    /// error is shown.
    fn apply_filter(&mut self, text: String) {
        match query::parse(&text) {
            Ok(parsed) => {
                self.query = parsed;
                self.query_text = text.trim().to_owned();
                self.top = 0;
                self.refresh();
            }
            Err(err) => self.say(format!("invalid filter: {err}"), true),
        }
    }
}

/// The byte offset of the `chars`-th character (the end when past it).
fn byte_index(text: &str, chars: usize) -> usize {
    text.char_indices().nth(chars).map_or(text.len(), |(i, _)| i)
}

#[cfg(test)]
mod tests;
