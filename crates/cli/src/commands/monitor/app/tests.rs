use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::super::fixtures;
use super::*;

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn chars(app: &mut App, text: &str) {
    for c in text.chars() {
        app.update(key(KeyCode::Char(c)));
    }
}

fn hosts(app: &App) -> Vec<&str> {
    app.shown().map(|row| row.fqdn.as_str()).collect()
}

fn ctrl(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
}

fn apply(app: &mut App, filter: &str) {
    app.update(key(KeyCode::Char('/')));
    app.update(ctrl('u'));
    chars(app, filter);
    app.update(key(KeyCode::Enter));
}

fn bar_text(app: &App) -> &str {
    match &app.mode {
        Mode::Filter { input, .. } => input,
        mode => panic!("not in the filter bar: {mode:?}"),
    }
}

fn saved(name: &str, query: &str) -> SavedFilter {
    SavedFilter { name: name.into(), query: query.into(), description: None }
}

#[test]
fn quits_on_q_and_ctrl_c() {
    let mut app = fixtures::app(3, "");
    assert_eq!(app.update(key(KeyCode::Char('j'))), Action::Continue);
    assert_eq!(app.update(key(KeyCode::Char('q'))), Action::Quit);
    // Ctrl-C quits from the filter bar too.
    app.update(key(KeyCode::Char('/')));
    assert_eq!(app.update(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)), Action::Quit);
}

#[test]
fn vertical_scrolling_stays_inside_the_rows() {
    let mut app = fixtures::app(20, "");
    app.set_page(5);
    app.update(key(KeyCode::Char('k')));
    assert_eq!(app.top, 0);
    app.update(key(KeyCode::Char('j')));
    app.update(key(KeyCode::Down));
    assert_eq!(app.top, 2);
    app.update(key(KeyCode::PageDown));
    assert_eq!(app.top, 7);
    app.update(key(KeyCode::End));
    assert_eq!(app.top, 15, "the last page stays full");
    app.update(key(KeyCode::PageDown));
    assert_eq!(app.top, 15);
    app.update(key(KeyCode::PageUp));
    assert_eq!(app.top, 10);
    app.update(key(KeyCode::Home));
    assert_eq!(app.top, 0);
}

#[test]
fn horizontal_scrolling_keeps_one_column() {
    let mut app = fixtures::app(3, "");
    app.update(key(KeyCode::Char('h')));
    assert_eq!(app.left, 0);
    for _ in 0..100 {
        app.update(key(KeyCode::Char('l')));
    }
    assert_eq!(app.left, COLUMNS.len() - 2);
    app.update(key(KeyCode::Left));
    assert_eq!(app.left, COLUMNS.len() - 3);
}

#[test]
fn filter_bar_applies_on_enter_and_discards_on_esc() {
    let mut app = fixtures::app(4, "");
    app.update(key(KeyCode::Char('/')));
    chars(&mut app, "role~talos");
    assert_eq!(app.mode, Mode::Filter { input: "role~talos".into(), cursor: 10, recall: None });
    app.update(key(KeyCode::Enter));
    assert_eq!(app.mode, Mode::Table);
    assert_eq!(hosts(&app), ["h01.test.example", "h03.test.example"]);
    assert_eq!(app.query_text(), "role~talos");
    // Esc discards an edit; `/` starts from the query in force.
    app.update(key(KeyCode::Char('/')));
    app.update(key(KeyCode::Backspace));
    app.update(key(KeyCode::Esc));
    assert_eq!(app.query_text(), "role~talos");
    // `\` clears.
    app.update(key(KeyCode::Char('\\')));
    assert_eq!(app.shown().len(), 4);
    assert_eq!(app.query_text(), "");
}

#[test]
fn invalid_filter_keeps_the_old_one_and_says_why() {
    let mut app = fixtures::app(4, "role~talos");
    app.update(key(KeyCode::Char('/')));
    app.update(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
    chars(&mut app, "bogus=1");
    app.update(key(KeyCode::Enter));
    assert_eq!(app.query_text(), "role~talos");
    assert_eq!(app.shown().len(), 2);
    let status = app.status.clone().expect("an error is shown");
    assert!(status.error && status.text.contains("unknown column: bogus"), "{status:?}");
    app.tick();
    app.tick();
    assert_eq!(app.status, None, "status messages age out");
}

#[test]
fn filter_editing_moves_the_cursor_by_characters() {
    let mut app = fixtures::app(1, "");
    app.update(key(KeyCode::Char('/')));
    chars(&mut app, "nöte");
    app.update(key(KeyCode::Left));
    app.update(key(KeyCode::Left));
    app.update(key(KeyCode::Backspace));
    app.update(key(KeyCode::Delete));
    assert_eq!(app.mode, Mode::Filter { input: "ne".into(), cursor: 1, recall: None });
}

#[test]
fn s_cycles_the_sort_unless_the_filter_sorts() {
    let mut app = fixtures::app(4, "");
    assert_eq!(app.sort_label(), "host");
    app.update(key(KeyCode::Char('s')));
    assert_eq!(app.sort_label(), "role");
    assert_eq!(hosts(&app)[0], "h02.test.example", "ms sorts before talos");
    app.update(key(KeyCode::Char('s')));
    assert_eq!(app.sort_label(), "sha");
    app.update(key(KeyCode::Char('s')));
    assert_eq!(app.sort_label(), "host");

    let mut app = fixtures::app(4, "sort:host:desc");
    app.update(key(KeyCode::Char('s')));
    assert_eq!(app.sort_label(), "query");
    assert_eq!(hosts(&app)[0], "h04.test.example");
    assert!(app.status.is_some());
}

#[test]
fn help_closes_on_any_key() {
    let mut app = fixtures::app(1, "");
    app.update(key(KeyCode::Char('?')));
    assert_eq!(app.mode, Mode::Help);
    assert_eq!(app.update(key(KeyCode::Char('q'))), Action::Continue);
    assert_eq!(app.mode, Mode::Table);
}

#[test]
fn new_data_keeps_the_scroll_position_and_palettes_cover_all_rows() {
    let mut app = fixtures::app(20, "role~talos");
    app.set_page(3);
    app.update(key(KeyCode::Char('j')));
    let old = app.set_snapshot(fixtures::snapshot(20));
    assert_eq!(old.rows.len(), 20, "the old rows are handed back to be freed");
    assert_eq!(app.top, 1);
    assert!(app.palette_index(Palette::Role, "gecko_t_linux_ms").is_some(), "hidden rows keep their colours");
    assert!(app.palette_index(Palette::Override, "abababab").is_some(), "OVR_BCH has its palette");
    assert_eq!(app.data_age(), Some(60));
}

#[test]
fn o_toggles_hosts_with_an_override() {
    let mut app = fixtures::app(8, "");
    app.set_page(2);
    app.update(key(KeyCode::Char('j')));
    app.update(key(KeyCode::Char('o')));
    assert!(app.overrides_only && app.overrides_badge());
    assert_eq!(hosts(&app), ["h04.test.example", "h08.test.example"]);
    assert_eq!(app.top, 0, "a new set of rows starts at the top");
    app.update(key(KeyCode::Char('o')));
    assert!(!app.overrides_badge());
    assert_eq!(app.shown().len(), 8);
}

#[test]
fn capital_o_cycles_the_os_filter() {
    let mut app = fixtures::app(10, "");
    let mut seen = Vec::new();
    for _ in 0..4 {
        app.update(key(KeyCode::Char('O')));
        seen.push((app.os_filter.map(OsFilter::label), app.shown().len()));
    }
    // h05 and h10 are Macs, h07 Windows, the other seven Linux.
    assert_eq!(seen, [(Some("Linux"), 7), (Some("macOS"), 2), (Some("Windows"), 1), (None, 10)]);
}

#[test]
fn o_os_and_the_query_are_anded() {
    let mut app = fixtures::app(20, "role~ms");
    app.update(key(KeyCode::Char('o')));
    app.update(key(KeyCode::Char('O')));
    app.update(key(KeyCode::Char('O')));
    // Even (ms), a multiple of four (override) and of five (Mac).
    assert_eq!(hosts(&app), ["h20.test.example"]);
}

#[test]
fn applied_filters_go_to_the_history_once_each() {
    let mut app = fixtures::app(4, "");
    apply(&mut app, "role~talos");
    apply(&mut app, "os=L");
    apply(&mut app, "role~talos");
    apply(&mut app, "bogus=1");
    assert_eq!(app.history().entries(), ["os=L", "role~talos"], "deduplicated, newest last, invalid ones left out");
    assert!(app.take_history_change());
    assert!(!app.take_history_change(), "the change is reported once");
    apply(&mut app, "role~talos");
    assert!(!app.take_history_change(), "the newest again is no change");
    // `\` keeps what it clears.
    apply(&mut app, "note=");
    app.update(key(KeyCode::Char('\\')));
    assert_eq!(app.history().entries().last().map(String::as_str), Some("note="));
}

#[test]
fn up_and_down_walk_the_history_in_the_filter_bar() {
    let mut app = fixtures::app(4, "");
    app.set_history(history::History::parse("a=1\nrole~talos\nos=L\n"));
    app.update(key(KeyCode::Char('/')));
    chars(&mut app, "dra");
    app.update(key(KeyCode::Up));
    assert_eq!(bar_text(&app), "os=L");
    app.update(key(KeyCode::Up));
    app.update(key(KeyCode::Up));
    assert_eq!(bar_text(&app), "a=1");
    app.update(key(KeyCode::Up));
    assert_eq!(bar_text(&app), "a=1", "the oldest stays");
    app.update(key(KeyCode::Down));
    assert_eq!(bar_text(&app), "role~talos");
    assert!(matches!(app.mode, Mode::Filter { cursor: 10, .. }), "the cursor goes to the end");
    app.update(key(KeyCode::Down));
    app.update(key(KeyCode::Down));
    assert_eq!(bar_text(&app), "dra", "past the newest, the draft comes back");
    app.update(key(KeyCode::Down));
    assert_eq!(bar_text(&app), "dra");
    // The bar opens on the query in force, which ↑ skips.
    app.update(key(KeyCode::Esc));
    apply(&mut app, "os=L");
    app.update(key(KeyCode::Char('/')));
    app.update(key(KeyCode::Up));
    assert_eq!(bar_text(&app), "role~talos");
    app.update(key(KeyCode::Enter));
    assert_eq!(app.query_text(), "role~talos");
}

#[test]
fn f_asks_for_the_saved_filters_and_enter_applies_one() {
    let mut app = fixtures::app(4, "");
    app.set_history(history::History::parse("os=M\n"));
    assert_eq!(app.update(key(KeyCode::Char('f'))), Action::OpenPicker);
    app.open_picker(vec![saved("ms", "role~ms"), saved("talos", "role~talos")], &[]);
    assert!(matches!(&app.mode, Mode::Picker(picker) if picker.tab == picker::Tab::Saved));
    app.update(key(KeyCode::Down));
    app.update(key(KeyCode::Enter));
    assert_eq!(app.mode, Mode::Table);
    assert_eq!(app.query_text(), "role~talos");
    assert_eq!(hosts(&app), ["h01.test.example", "h03.test.example"]);
    assert_eq!(app.history().entries(), ["os=M", "role~talos"], "a picked filter is recent too");
}

#[test]
fn picker_recent_tab_esc_and_no_matches() {
    let mut app = fixtures::app(4, "");
    app.set_history(history::History::parse("role~ms\nos=L\n"));
    app.update(key(KeyCode::Char('f')));
    app.open_picker(vec![saved("talos", "role~talos")], &[]);
    app.update(key(KeyCode::Right));
    app.update(key(KeyCode::Down));
    app.update(key(KeyCode::Enter));
    assert_eq!(app.query_text(), "role~ms", "Recent lists the newest first");

    app.update(key(KeyCode::Char('f')));
    app.open_picker(Vec::new(), &[]);
    app.update(key(KeyCode::Esc));
    assert_eq!(app.mode, Mode::Table);

    app.update(key(KeyCode::Char('f')));
    app.open_picker(Vec::new(), &[]);
    chars(&mut app, "zzz");
    app.update(key(KeyCode::Enter));
    assert!(matches!(app.mode, Mode::Picker(_)), "nothing to apply: the picker stays");
    assert_eq!(app.status.as_ref().map(|s| s.text.as_str()), Some("no matches"));
}

#[test]
fn unreadable_saved_filters_are_named_on_the_status_line() {
    let mut app = fixtures::app(1, "");
    let problems = ["broken.yaml: did not find expected node content".to_owned(), "x.yaml: query is empty".to_owned()];
    app.open_picker(Vec::new(), &problems);
    let status = app.status.clone().expect("a problem is shown");
    assert!(status.error, "{status:?}");
    assert_eq!(status.text, "skipped saved filter broken.yaml: did not find expected node content (and 1 more)");
    assert!(matches!(app.mode, Mode::Picker(_)), "the readable ones are still listed");
}

#[test]
fn header_facts_fqdn_suffix_and_staleness() {
    let app = fixtures::app(3, "");
    assert_eq!(app.fqdn_suffix(), Some(".test.example"));
    let row = app.shown().next().expect("a row");
    assert_eq!(app.host_text(row), "h01");
    assert!(!app.is_stale(), "the newest good audit is a minute old");
    let mut app = fixtures::app(3, "");
    app.set_snapshot(fixtures::snapshot_aged(3, chrono::Duration::hours(2)));
    assert!(app.is_stale());
    app.set_snapshot(Snapshot { rows: Vec::new(), newest: None, newest_ok: None, now: fixtures::now() });
    assert!(app.is_stale(), "no good audit at all is stale");
    assert_eq!(app.fqdn_suffix(), None);
}

#[test]
fn column_widths_follow_the_shown_rows() {
    let mut app = fixtures::app(4, "");
    let role = COLUMNS.iter().position(|def| def.key == "role").expect("ROLE");
    assert_eq!(app.column_widths()[role], "gecko_t_linux_talos".len());
    assert_eq!(app.column_widths()[0], "HOST".len(), "HOST is measured without the shared domain");
    apply(&mut app, "role~ms");
    assert_eq!(app.column_widths()[role], "gecko_t_linux_ms".len());
}
