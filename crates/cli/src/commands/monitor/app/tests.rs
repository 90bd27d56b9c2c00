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
    app.shown().iter().map(|row| row.fqdn.as_str()).collect()
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
    assert_eq!(app.mode, Mode::Filter { input: "role~talos".into(), cursor: 10 });
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
    assert_eq!(app.mode, Mode::Filter { input: "ne".into(), cursor: 1 });
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
    app.set_snapshot(fixtures::snapshot(20));
    assert_eq!(app.top, 1);
    assert!(app.palette_index(Palette::Role, "gecko_t_linux_ms").is_some(), "hidden rows keep their colours");
    assert_eq!(app.data_age(), Some(60));
}
