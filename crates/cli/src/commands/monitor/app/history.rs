//! Filter history: the queries applied in the live monitor, oldest first,
//! that the `/` bar's ↑/↓ and the picker's Recent tab walk through. `tui`
//! keeps it in `<home>/filter_history`, one query per line (reference §8.4).

/// Queries kept; older ones drop off the front.
pub const CAPACITY: usize = 100;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct History {
    /// Oldest first; no duplicates, none blank.
    entries: Vec<String>,
}

impl History {
    /// The history a file's text holds; blank lines and repeats (the older
    /// copy) are dropped, as if each line had been pushed in turn.
    pub fn parse(text: &str) -> History {
        let mut history = History::default();
        for line in text.lines() {
            history.push(line);
        }
        history
    }

    /// The file's text: one query per line.
    pub fn to_text(&self) -> String {
        self.entries.iter().map(|entry| format!("{entry}\n")).collect()
    }

    /// Records `query` as the newest entry. Returns whether anything changed,
    /// so re-applying the newest query does not rewrite the file.
    pub fn push(&mut self, query: &str) -> bool {
        let query = query.trim();
        if query.is_empty() || self.entries.last().is_some_and(|last| last == query) {
            return false;
        }
        self.entries.retain(|entry| entry != query);
        self.entries.push(query.to_owned());
        let excess = self.entries.len().saturating_sub(CAPACITY);
        self.entries.drain(..excess);
        true
    }

    /// Oldest first.
    pub fn entries(&self) -> &[String] {
        &self.entries
    }

    /// The index of the newest entry older than `before` (all entries when
    /// `None`) whose text differs from `current`: recalling the query already
    /// in the bar would look like the key did nothing.
    pub fn older(&self, before: Option<usize>, current: &str) -> Option<usize> {
        let end = before.unwrap_or(self.entries.len());
        self.entries[..end.min(self.entries.len())].iter().rposition(|entry| entry != current)
    }

    /// The index of the oldest entry newer than `after` whose text differs
    /// from `current`; `None` past the newest.
    pub fn newer(&self, after: usize, current: &str) -> Option<usize> {
        let start = after + 1;
        self.entries.get(start..)?.iter().position(|entry| entry != current).map(|i| start + i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_dedupes_keeps_newest_last_and_caps() {
        let mut history = History::default();
        assert!(history.push(" role~talos "));
        assert!(history.push("os=L"));
        assert!(!history.push("os=L"), "the newest again changes nothing");
        assert!(!history.push("   "), "blank is never recorded");
        assert!(history.push("role~talos"));
        assert_eq!(history.entries(), ["os=L", "role~talos"]);
        for i in 0..150 {
            history.push(&format!("note~{i}"));
        }
        assert_eq!(history.entries().len(), CAPACITY);
        assert_eq!(history.entries().first().map(String::as_str), Some("note~50"));
        assert_eq!(history.entries().last().map(String::as_str), Some("note~149"));
    }

    #[test]
    fn file_text_round_trips_and_tolerates_hand_edits() {
        let history = History::parse("a=1\n\nb=2\na=1\n  c=3  \n");
        assert_eq!(history.entries(), ["b=2", "a=1", "c=3"]);
        assert_eq!(History::parse(&history.to_text()), history);
    }

    #[test]
    fn walking_skips_the_text_already_in_the_bar() {
        let history = History::parse("a=1\nb=2\nc=3\n");
        assert_eq!(history.older(None, "c=3"), Some(1));
        assert_eq!(history.older(None, "x"), Some(2));
        assert_eq!(history.older(Some(1), "b=2"), Some(0));
        assert_eq!(history.older(Some(0), "a=1"), None);
        assert_eq!(history.newer(0, "a=1"), Some(1));
        assert_eq!(history.newer(1, "c=3"), None);
        assert_eq!(history.newer(2, "c=3"), None);
        assert_eq!(History::default().older(None, ""), None);
    }
}
