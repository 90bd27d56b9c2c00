use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::super::app::App;
use super::super::fixtures;
use super::*;

fn render(app: &mut App, width: u16, height: u16) -> Vec<String> {
    app.set_page(page_rows(height));
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("a test terminal");
    terminal.draw(|frame| view(app, frame)).expect("drawn");
    let buffer = terminal.backend().buffer();
    (0..height).map(|y| (0..width).map(|x| buffer[(x, y)].symbol()).collect::<String>().trim_end().to_owned()).collect()
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
    let lines = render(&mut app, 60, 8);
    assert!(lines[1].starts_with("HOST"), "{lines:#?}");
    assert!(!lines[1].contains("REACHABLE") && lines[1].contains("ROLE"), "{lines:#?}");
    assert!(lines[2].starts_with("h01"), "{lines:#?}");
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
    app.set_page(page_rows(8));
    let mut terminal = Terminal::new(TestBackend::new(200, 8)).expect("a test terminal");
    terminal.draw(|frame| view(&app, frame)).expect("drawn");
    let buffer = terminal.backend().buffer();
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
    // Just big enough, with help and the filter bar open.
    let mut app = fixtures::app(30, "");
    press(&mut app, KeyCode::Char('?'));
    render(&mut app, MIN_WIDTH, MIN_HEIGHT);
    press(&mut app, KeyCode::Char('x'));
    press(&mut app, KeyCode::Char('/'));
    render(&mut app, MIN_WIDTH, MIN_HEIGHT);
}
