//! The `f` filter picker (reference §8.4): two tabs, Saved (the YAML files
//! of the filters folder) and Recent (the history, newest first), a search
//! typed over both name and query, and a selection. Pure: the files are read
//! by `tui` and handed in when the picker opens.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// A saved filter: a YAML file's `query:` and `description:`, named by its
/// file stem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SavedFilter {
    pub name: String,
    pub query: String,
    pub description: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tab {
    Saved,
    Recent,
}

/// What the picker asks of the app after a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Stay,
    Close,
    Apply(String),
    /// Enter with nothing listed.
    NoMatches,
}

/// One listed filter; recent ones have no name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry<'a> {
    pub name: Option<&'a str>,
    pub query: &'a str,
    pub description: Option<&'a str>,
}

/// PgUp/PgDn move this many entries, as in the MVP.
const PAGE: usize = 10;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Picker {
    pub tab: Tab,
    saved: Vec<SavedFilter>,
    /// Newest first.
    recent: Vec<String>,
    pub search: String,
    /// Index into the listed (searched) entries of the tab.
    pub selected: usize,
}

impl Picker {
    /// Opens on Saved, or on Recent when nothing is saved but something was
    /// used: an empty first tab would hide what there is.
    pub fn new(saved: Vec<SavedFilter>, recent_oldest_first: &[String]) -> Picker {
        let recent: Vec<String> = recent_oldest_first.iter().rev().cloned().collect();
        let tab = if saved.is_empty() && !recent.is_empty() { Tab::Recent } else { Tab::Saved };
        Picker { tab, saved, recent, search: String::new(), selected: 0 }
    }

    /// How many filters each tab holds, before searching.
    pub fn counts(&self) -> (usize, usize) {
        (self.saved.len(), self.recent.len())
    }

    /// The current tab's entries that match the search (case-insensitive,
    /// over name and query).
    pub fn entries(&self) -> Vec<Entry<'_>> {
        let needle = self.search.to_lowercase();
        let found = |entry: &Entry<'_>| {
            needle.is_empty()
                || entry.query.to_lowercase().contains(&needle)
                || entry.name.is_some_and(|name| name.to_lowercase().contains(&needle))
        };
        match self.tab {
            Tab::Saved => self
                .saved
                .iter()
                .map(|s| Entry { name: Some(&s.name), query: &s.query, description: s.description.as_deref() })
                .filter(found)
                .collect(),
            Tab::Recent => {
                self.recent.iter().map(|query| Entry { name: None, query, description: None }).filter(found).collect()
            }
        }
    }

    pub fn key(&mut self, key: KeyEvent) -> Outcome {
        let listed = self.entries().len();
        let last = listed.saturating_sub(1);
        match key.code {
            KeyCode::Esc | KeyCode::Char('f') => return Outcome::Close,
            KeyCode::Enter => return self.chosen(),
            KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => self.set_search(String::new()),
            KeyCode::Left | KeyCode::Right | KeyCode::Tab | KeyCode::BackTab => self.switch_tab(),
            KeyCode::Up | KeyCode::Char('k') => self.selected = self.selected.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => self.selected = (self.selected + 1).min(last),
            KeyCode::PageUp => self.selected = self.selected.saturating_sub(PAGE),
            KeyCode::PageDown => self.selected = (self.selected + PAGE).min(last),
            KeyCode::Home => self.selected = 0,
            KeyCode::End | KeyCode::Char('G') => self.selected = last,
            KeyCode::Backspace => {
                let mut search = self.search.clone();
                search.pop();
                self.set_search(search);
            }
            KeyCode::Char(c) => self.set_search(format!("{}{c}", self.search)),
            _ => {}
        }
        Outcome::Stay
    }

    fn chosen(&self) -> Outcome {
        match self.entries().get(self.selected) {
            Some(entry) => Outcome::Apply(entry.query.to_owned()),
            None => Outcome::NoMatches,
        }
    }

    fn switch_tab(&mut self) {
        self.tab = match self.tab {
            Tab::Saved => Tab::Recent,
            Tab::Recent => Tab::Saved,
        };
        self.selected = 0;
    }

    /// A new search starts again at the top of what it finds.
    fn set_search(&mut self, search: String) {
        self.search = search;
        self.selected = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn saved(name: &str, query: &str) -> SavedFilter {
        SavedFilter { name: name.into(), query: query.into(), description: None }
    }

    fn picker() -> Picker {
        let saved = vec![saved("linux", "os=L"), saved("quarantined", "tc_quar=yes sort:tc_act:desc")];
        Picker::new(saved, &["role~talos".into(), "os=M".into()])
    }

    fn queries(picker: &Picker) -> Vec<&str> {
        picker.entries().iter().map(|e| e.query).collect()
    }

    #[test]
    fn tabs_list_saved_then_recent_newest_first() {
        let mut picker = picker();
        assert_eq!(picker.tab, Tab::Saved);
        assert_eq!(queries(&picker), ["os=L", "tc_quar=yes sort:tc_act:desc"]);
        assert_eq!(picker.key(key(KeyCode::Right)), Outcome::Stay);
        assert_eq!(picker.tab, Tab::Recent);
        assert_eq!(queries(&picker), ["os=M", "role~talos"]);
        picker.key(key(KeyCode::Left));
        assert_eq!(picker.tab, Tab::Saved);
        assert_eq!(picker.counts(), (2, 2));
    }

    #[test]
    fn opens_on_recent_when_nothing_is_saved() {
        assert_eq!(Picker::new(vec![], &["os=M".into()]).tab, Tab::Recent);
        assert_eq!(Picker::new(vec![], &[]).tab, Tab::Saved);
    }

    #[test]
    fn selection_moves_and_stays_inside_the_list() {
        let mut picker = picker();
        picker.key(key(KeyCode::Up));
        assert_eq!(picker.selected, 0);
        picker.key(key(KeyCode::Char('j')));
        picker.key(key(KeyCode::Down));
        assert_eq!(picker.selected, 1);
        picker.key(key(KeyCode::Home));
        picker.key(key(KeyCode::PageDown));
        assert_eq!(picker.selected, 1);
        picker.key(key(KeyCode::PageUp));
        picker.key(key(KeyCode::Char('G')));
        assert_eq!(picker.selected, 1);
        assert_eq!(picker.key(key(KeyCode::Enter)), Outcome::Apply("tc_quar=yes sort:tc_act:desc".into()));
    }

    #[test]
    fn typing_searches_names_and_queries() {
        let mut picker = picker();
        for c in "QUAR".chars() {
            picker.key(key(KeyCode::Char(c)));
        }
        assert_eq!(queries(&picker), ["tc_quar=yes sort:tc_act:desc"]);
        picker.key(key(KeyCode::Backspace));
        assert_eq!(picker.search, "QUA");
        picker.key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
        assert_eq!(picker.entries().len(), 2);
        // By name: "linux" has query os=L.
        for c in "lin".chars() {
            picker.key(key(KeyCode::Char(c)));
        }
        assert_eq!(queries(&picker), ["os=L"]);
        for c in "zzz".chars() {
            picker.key(key(KeyCode::Char(c)));
        }
        assert_eq!(picker.key(key(KeyCode::Enter)), Outcome::NoMatches);
    }

    #[test]
    fn esc_or_f_closes() {
        assert_eq!(picker().key(key(KeyCode::Esc)), Outcome::Close);
        assert_eq!(picker().key(key(KeyCode::Char('f'))), Outcome::Close);
    }
}
