use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::super::app::App;
use super::super::app::picker::SavedFilter;
use super::super::fixtures;
use super::*;

fn render(app: &mut App, width: u16, height: u16) -> Vec<String> {
    let buffer = draw(app, width, height);
    (0..height).map(|y| (0..width).map(|x| buffer[(x, y)].symbol()).collect::<String>().trim_end().to_owned()).collect()
}

fn draw(app: &mut App, width: u16, height: u16) -> Buffer {
    app.set_page(page_rows(app, width, height));
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("a test terminal");
    terminal.draw(|frame| view(app, frame)).expect("drawn");
    terminal.backend().buffer().clone()
}

/// The x of the first cell of line `y` where `text` starts.
fn find(buffer: &Buffer, y: u16, text: &str) -> Option<u16> {
    let line: Vec<&str> = (0..buffer.area.width).map(|x| buffer[(x, y)].symbol()).collect();
    let chars: Vec<String> = text.chars().map(String::from).collect();
    (0..line.len())
        .find(|&x| line[x..].iter().zip(&chars).filter(|(a, b)| **a == b.as_str()).count() == chars.len())
        .and_then(|x| u16::try_from(x).ok())
}

fn press(app: &mut App, code: KeyCode) {
    app.update(KeyEvent::new(code, KeyModifiers::NONE));
}

#[test]
fn header_labels_and_rows() {
    let mut app = fixtures::app(3, "");
    let lines = render(&mut app, 160, 8);
    assert!(lines[0].starts_with("fleetroll "), "{lines:#?}");
    assert!(lines[0].contains("sort=host") && lines[0].contains("hosts=3/3") && lines[0].contains("updated=1m"));
    assert!(lines[1].starts_with("HOST") && lines[1].contains("REACHABLE"), "{lines:#?}");
    assert!(lines[2].starts_with("h01") && lines[4].starts_with("h03"), "{lines:#?}");
}

#[test]
fn host_stays_visible_when_scrolled_right() {
    let mut app = fixtures::app(3, "");
    press(&mut app, KeyCode::Char('l'));
    press(&mut app, KeyCode::Char('l'));
    // 60 columns: the header takes two lines.
    let lines = render(&mut app, 60, 8);
    assert!(lines[2].starts_with("HOST"), "{lines:#?}");
    assert!(!lines[2].contains("REACHABLE") && lines[2].contains("ROLE"), "{lines:#?}");
    assert!(lines[3].starts_with("h01"), "{lines:#?}");
    assert!(lines[0].contains("[◀▶ 3-"), "{lines:#?}");
}

#[test]
fn status_line_shows_a_filter_error() {
    let mut app = fixtures::app(3, "");
    press(&mut app, KeyCode::Char('/'));
    for c in "nope~x".chars() {
        press(&mut app, KeyCode::Char(c));
    }
    let typing = render(&mut app, 80, 8);
    assert_eq!(typing[7], "/nope~x");
    press(&mut app, KeyCode::Enter);
    let lines = render(&mut app, 80, 8);
    assert!(lines[7].starts_with("invalid filter: unknown column: nope"), "{lines:#?}");
}

#[test]
fn categories_are_coloured() {
    let mut app = fixtures::app(3, "");
    let buffer = &draw(&mut app, 200, 8);
    // h03 failed its last audit: REACHABLE is not neutral.
    let reach_x = (0..200).find(|&x| buffer[(x, 1)].symbol() == "R").expect("REACHABLE label");
    assert_ne!(buffer[(reach_x, 4)].fg, Color::Reset, "a failed host's REACHABLE is coloured");
    let role_x =
        (0..200).find(|&x| buffer[(x, 1)].symbol() == "O" && buffer[(x + 1, 1)].symbol() == "L").expect("ROLE");
    let role_x = role_x - 1;
    let colours = |y: u16| (buffer[(role_x, y)].fg, buffer[(role_x, y)].bg);
    assert_ne!(colours(2), colours(3), "different roles, different colours");
    assert_eq!(colours(2), colours(4), "equal roles, equal colours");
}

#[test]
fn help_overlay_lists_the_keys() {
    let mut app = fixtures::app(3, "");
    press(&mut app, KeyCode::Char('?'));
    let lines = render(&mut app, 100, 20).join("\n");
    assert!(lines.contains("fleetroll keys") && lines.contains("cycle sort"), "{lines}");
}

#[test]
fn tiny_terminals_get_a_message_not_a_panic() {
    for (width, height) in [(10, 3), (1, 1), (29, 10), (80, 3), (0, 0)] {
        let mut app = fixtures::app(3, "");
        press(&mut app, KeyCode::Char('?'));
        let lines = render(&mut app, width, height);
        if width >= 10 && height > 0 {
            assert!(lines[0].starts_with("terminal"), "{width}x{height}: {lines:#?}");
        }
    }
    // Just big enough, with help, the filter bar and the picker open.
    let mut app = fixtures::app(30, "");
    press(&mut app, KeyCode::Char('?'));
    render(&mut app, MIN_WIDTH, MIN_HEIGHT);
    press(&mut app, KeyCode::Char('x'));
    press(&mut app, KeyCode::Char('/'));
    render(&mut app, MIN_WIDTH, MIN_HEIGHT);
    press(&mut app, KeyCode::Esc);
    let saved = vec![SavedFilter { name: "linux".into(), query: "os=L".into(), description: None }];
    app.open_picker(saved, &[]);
    render(&mut app, MIN_WIDTH, MIN_HEIGHT);
}

#[test]
fn filter_bar_colours_column_operator_and_value() {
    let mut app = fixtures::app(3, "");
    press(&mut app, KeyCode::Char('/'));
    for c in "role~talos nope=1 sort:host".chars() {
        press(&mut app, KeyCode::Char(c));
    }
    let buffer = draw(&mut app, 80, 8);
    let fg = |x: u16| buffer[(x, 7)].fg;
    assert_eq!(fg(1), Color::Cyan, "a known column");
    assert!(buffer[(1, 7)].modifier.contains(Modifier::BOLD));
    assert!(buffer[(5, 7)].modifier.contains(Modifier::BOLD), "the operator");
    assert_eq!(fg(6), Color::Green, "the value");
    assert_eq!(fg(12), Color::Red, "an unknown column");
    assert_eq!(fg(19), Color::Yellow, "sort:");
    assert_eq!(fg(24), Color::Cyan, "a sort column");
}

#[test]
fn header_shows_fqdn_overrides_os_and_stale() {
    let mut app = fixtures::app(8, "");
    let lines = render(&mut app, 200, 12);
    assert!(lines[0].contains("fqdn=.test.example, hosts=8/8"), "{lines:#?}");
    assert!(!lines[0].contains("[OVERRIDES]") && !lines[0].contains("[stale]"), "{lines:#?}");
    assert!(lines[2].starts_with("h01  "), "HOST without the shared domain: {lines:#?}");

    press(&mut app, KeyCode::Char('o'));
    press(&mut app, KeyCode::Char('O'));
    app.set_snapshot(fixtures::snapshot_aged(8, chrono::Duration::hours(3)));
    let buffer = draw(&mut app, 200, 12);
    let badge = find(&buffer, 0, "[OVERRIDES]").expect("the badge");
    assert!(buffer[(badge, 0)].modifier.contains(Modifier::REVERSED), "the badge is reverse video");
    let stale = find(&buffer, 0, "[stale]").expect("stale");
    assert_eq!(buffer[(stale, 0)].fg, Color::Red);
    let lines = render(&mut app, 200, 12);
    assert!(lines[0].contains("[OVERRIDES] sort=host, os=Linux"), "{lines:#?}");
    assert!(lines[0].ends_with("hosts=2/8, updated=3h 01m [stale]"), "right-aligned: {lines:#?}");
}

#[test]
fn narrow_header_wraps_to_two_lines() {
    let mut app = fixtures::app(30, "");
    let lines = render(&mut app, 60, 12);
    assert!(lines[0].starts_with("fleetroll ") && !lines[0].contains("hosts="), "{lines:#?}");
    assert!(lines[1].ends_with("fqdn=.test.example, hosts=30/30, updated=1m"), "{lines:#?}");
    assert!(lines[2].starts_with("HOST"), "{lines:#?}");
    assert_eq!(app.page(), 12 - 4, "two header lines, labels and footer");
    assert!(lines[10].starts_with("h08"), "{lines:#?}");
}

#[test]
fn picker_lists_saved_filters_and_the_selection() {
    let mut app = fixtures::app(3, "");
    let saved = vec![
        SavedFilter { name: "linux".into(), query: "os=L".into(), description: Some("Linux hosts".into()) },
        SavedFilter { name: "quarantined".into(), query: "tc_quar=yes".into(), description: None },
    ];
    app.open_picker(saved, &["bad.yaml: query is empty".to_owned()]);
    press(&mut app, KeyCode::Down);
    let lines = render(&mut app, 120, 20);
    let text = lines.join("\n");
    assert!(text.contains("Saved (2)") && text.contains("Recent (0)"), "{text}");
    assert!(text.contains("  linux        os=L  Linux hosts"), "{text}");
    assert!(text.contains("> quarantined  tc_quar=yes"), "{text}");
    assert!(lines[19].starts_with("skipped saved filter bad.yaml"), "{text}");
}

/// Beside the keys on a wide terminal, below them on a narrow one: what
/// every column shows.
#[test]
fn help_explains_every_column() {
    for (width, height) in [(200, 40), (90, 50)] {
        let mut app = fixtures::app(3, "");
        press(&mut app, KeyCode::Char('?'));
        let lines = render(&mut app, width, height);
        let text = lines.join("\n");
        for column in COLUMNS {
            assert!(text.contains(column.label) && text.contains(column.about), "{}: {text}", column.label);
        }
        let beside = lines.iter().any(|line| line.contains("scroll one row") && line.contains("HOST"));
        assert_eq!(beside, width == 200, "{text}");
    }
}

#[test]
fn help_lists_the_new_keys() {
    let mut app = fixtures::app(3, "");
    press(&mut app, KeyCode::Char('?'));
    let lines = render(&mut app, 100, 24).join("\n");
    for key in [
        "o            only hosts with an override",
        "O            cycle OS",
        "f            pick a saved",
        "↑/↓ walk the filter history",
    ] {
        assert!(lines.contains(key), "{key}: {lines}");
    }
}
