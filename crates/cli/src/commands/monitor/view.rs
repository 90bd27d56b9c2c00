//! Drawing the live monitor's model: the header (one line, or two when the
//! terminal is narrow), the table with its frozen HOST column and category
//! colours, the filter bar (highlighted) or status line, and the help and
//! filter-picker overlays. Colours follow the MVP (reference §8.3).
//!
//! A frame touches only the rows in view: widths, filtering and sorting
//! are kept by the app, so drawing 20,000 hosts costs what drawing 40 does.

mod highlight;

use fleetroll_core::rows::{COLUMNS, Category, Cell, Row};
use fleetroll_core::time::{MinUnit, humanize_duration};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{self, Block, Clear, Paragraph, Table, Wrap};

use super::app::picker::{Picker, Tab};
use super::app::{App, Mode};

/// Below this the layout cannot show a header, one row and a footer.
const MIN_WIDTH: u16 = 30;
const MIN_HEIGHT: u16 = 4;

/// Spaces between columns, as in `--once`.
const SPACING: u16 = 2;

/// Foreground/background pairs for value-coloured columns; none is red,
/// yellow or green on the default background, which mean good/warn/bad.
pub const PALETTE: &[(Color, Color)] = &[
    (Color::Cyan, Color::Reset),
    (Color::Magenta, Color::Reset),
    (Color::Blue, Color::Reset),
    (Color::LightCyan, Color::Reset),
    (Color::LightMagenta, Color::Reset),
    (Color::LightBlue, Color::Reset),
    (Color::Black, Color::Cyan),
    (Color::Black, Color::Magenta),
    (Color::White, Color::Blue),
    (Color::Black, Color::LightCyan),
    (Color::Indexed(208), Color::Reset),
    (Color::Indexed(141), Color::Reset),
    (Color::Indexed(39), Color::Reset),
    (Color::Indexed(205), Color::Reset),
    (Color::Black, Color::Indexed(180)),
    (Color::Black, Color::Indexed(153)),
];

/// The keys, for the help overlay.
const HELP: &[&str] = &[
    "j/k, ↓/↑     scroll one row",
    "PgDn/PgUp    scroll one page",
    "Home/End     first/last row",
    "h/l, ←/→     scroll columns (HOST stays)",
    "s            cycle sort: host, role, ovr_bch",
    "o            only hosts with an override ([OVERRIDES])",
    "O            cycle OS: Linux, macOS, Windows, all",
    "/            filter (Enter applies, Esc cancels,",
    "             ↑/↓ walk the filter history)",
    "\\            clear the filter",
    "f            pick a saved or recent filter",
    "?            this help (any key closes)",
    "q, Ctrl-C    quit",
    "",
    "filter: COL OP VALUE …, OP one of = != ~ < > <= >=,",
    "        plus sort:COL[:asc|desc]; e.g. role~talos",
    "/, o and O together: hosts that pass all three",
];

pub fn view(app: &App, frame: &mut Frame<'_>) {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let message = Paragraph::new("terminal too small for fleetroll").wrap(Wrap { trim: true });
        frame.render_widget(message, area);
        return;
    }
    let columns = visible_columns(app.column_widths(), app.left, area.width);
    let header = header_lines(app, &columns, area.width);
    let header_height = u16::try_from(header.len()).unwrap_or(1);
    let [header_area, body, footer] =
        Layout::vertical([Constraint::Length(header_height), Constraint::Min(1), Constraint::Length(1)]).areas(area);
    frame.render_widget(Paragraph::new(header), header_area);
    frame.render_widget(table(app, &columns, body.height), body);
    footer_line(app, frame, footer);
    match &app.mode {
        Mode::Help => help(frame, area),
        Mode::Picker(picker) => picker_popup(picker, frame, area),
        Mode::Table | Mode::Filter { .. } => {}
    }
}

/// The rows the table shows in a `width` × `height` terminal: all but the
/// header, the column labels and the footer.
pub fn page_rows(app: &App, width: u16, height: u16) -> usize {
    let columns = visible_columns(app.column_widths(), app.left, width);
    let header = header_lines(app, &columns, width).len();
    usize::from(height).saturating_sub(header + 2)
}

/// HOST, then the columns from `left` on that fit in `width`.
fn visible_columns(widths: &[usize], left: usize, width: u16) -> Vec<usize> {
    let mut used = widths.first().copied().unwrap_or(0);
    let mut shown = vec![0];
    for (i, &w) in widths.iter().enumerate().skip(1 + left) {
        used = used.saturating_add(usize::from(SPACING)).saturating_add(w);
        if used > usize::from(width) {
            break;
        }
        shown.push(i);
    }
    shown
}

/// `fleetroll <ver> [? for help] [OVERRIDES] sort=…, os=…, /… [▲▼ a-b/N]
/// [◀▶ a-b/N]` on the left, `fqdn=…, hosts=…, updated=… [stale]` on the
/// right; the right part moves to a second line when both do not fit.
fn header_lines(app: &App, columns: &[usize], width: u16) -> Vec<Line<'static>> {
    let left = Line::from(header_left(app, columns));
    let right = Line::from(header_right(app));
    let (left_width, right_width) = (left.width(), right.width());
    if left_width + 1 + right_width > usize::from(width) {
        return vec![left, right.right_aligned()];
    }
    let mut spans = left.spans;
    spans.push(Span::raw(" ".repeat(usize::from(width) - left_width - right_width)));
    spans.extend(right.spans);
    vec![Line::from(spans)]
}

fn header_left(app: &App, columns: &[usize]) -> Vec<Span<'static>> {
    let bold_cyan = Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD);
    let mut left = vec![Span::styled(format!("fleetroll {}", app.version), bold_cyan), Span::raw(" [? for help]")];
    if app.overrides_badge() {
        let badge = Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD | Modifier::REVERSED);
        left.extend([Span::raw(" "), Span::styled("[OVERRIDES]", badge)]);
    }
    left.push(Span::raw(format!(" sort={}", app.sort_label())));
    if let Some(os) = app.os_filter {
        left.push(Span::raw(format!(", os={}", os.label())));
    }
    if !app.query_text().is_empty() {
        left.push(Span::raw(format!(", /{}", app.query_text())));
    }
    let shown = app.shown_len();
    let last = (app.top + app.page()).min(shown);
    left.push(Span::raw(format!(" [▲▼ {}-{last}/{shown}]", (app.top + 1).min(last))));
    if let (Some(first), Some(last)) = (columns.get(1), columns.last()) {
        left.push(Span::raw(format!(" [◀▶ {first}-{last}/{}]", COLUMNS.len() - 1)));
    }
    left
}

fn header_right(app: &App) -> Vec<Span<'static>> {
    let fqdn = app.fqdn_suffix().map_or_else(String::new, |suffix| format!("fqdn={suffix}, "));
    let age = humanize_duration(app.data_age(), MinUnit::Seconds);
    let data = format!("{fqdn}hosts={}/{}, updated={age}", app.shown_len(), app.total());
    let mut right = vec![Span::styled(data, Style::new().fg(Color::Yellow))];
    if app.is_stale() {
        right.push(Span::styled(" [stale]", Style::new().fg(Color::Red).add_modifier(Modifier::BOLD)));
    }
    right
}

fn table<'a>(app: &'a App, columns: &[usize], height: u16) -> Table<'a> {
    let label = Style::new().fg(Color::Magenta).add_modifier(Modifier::BOLD);
    let header = widgets::Row::new(columns.iter().map(|&i| Span::styled(COLUMNS[i].label, label)));
    let rows = app.visible(usize::from(height)).map(|row| table_row(app, row, columns));
    let widths = app.column_widths();
    let widths = columns.iter().map(|&i| Constraint::Length(u16::try_from(widths[i]).unwrap_or(u16::MAX)));
    Table::new(rows, widths).header(header).column_spacing(SPACING)
}

/// Only the visible columns' cells are looked up and styled.
fn table_row<'a>(app: &'a App, row: &'a Row, columns: &[usize]) -> widgets::Row<'a> {
    widgets::Row::new(columns.iter().map(|&i| match COLUMNS[i].key {
        "host" => Line::raw(app.host_text(row)),
        key => row.cell(key).map_or_else(Line::default, |cell| styled_cell(app, cell)),
    }))
}

/// The cell's text in its category's colour, a marker in its own.
fn styled_cell<'a>(app: &App, cell: &'a Cell) -> Line<'a> {
    let main = Span::styled(cell.text.as_str(), style_of(app, cell.category, cell.palette_key.as_deref()));
    match &cell.marker {
        Some(marker) => Line::from(vec![main, Span::styled(marker.text, style_of(app, marker.category, None))]),
        None => Line::from(main),
    }
}

fn style_of(app: &App, category: Category, palette_key: Option<&str>) -> Style {
    match category {
        Category::Good => Style::new().fg(Color::Green),
        Category::Warn => Style::new().fg(Color::Yellow),
        Category::Bad => Style::new().fg(Color::Red),
        Category::Neutral => Style::new(),
        Category::Palette(palette) => {
            let index = palette_key.and_then(|key| app.palette_index(palette, key));
            match index.and_then(|i| PALETTE.get(i)) {
                Some(&(fg, bg)) => Style::new().fg(fg).bg(bg),
                None => Style::new(),
            }
        }
    }
}

fn footer_line(app: &App, frame: &mut Frame<'_>, area: Rect) {
    if let Mode::Filter { input, cursor, .. } = &app.mode {
        let mut spans = vec![Span::raw("/")];
        spans.extend(highlight::spans(input));
        frame.render_widget(Paragraph::new(Line::from(spans)), area);
        let x = u16::try_from(*cursor).unwrap_or(u16::MAX).saturating_add(1).min(area.width.saturating_sub(1));
        frame.set_cursor_position((area.x + x, area.y));
    } else if let Some(status) = &app.status {
        let style = if status.error {
            Style::new().fg(Color::Red).add_modifier(Modifier::REVERSED)
        } else {
            Style::new().fg(Color::Yellow)
        };
        frame.render_widget(Paragraph::new(status.text.as_str()).style(style), area);
    }
}

/// A rectangle of at most `width` × `height` in the middle of `area`.
fn centered(area: Rect, width: usize, height: usize) -> Rect {
    let width = u16::try_from(width).unwrap_or(u16::MAX).min(area.width);
    let height = u16::try_from(height).unwrap_or(u16::MAX).min(area.height);
    Rect { x: area.x + (area.width - width) / 2, y: area.y + (area.height - height) / 2, width, height }
}

/// The keys, and beside them (or below, on a narrow terminal) what each
/// column shows.
fn help(frame: &mut Frame<'_>, area: Rect) {
    const GAP: usize = 3;
    let keys_width = HELP.iter().map(|line| line.chars().count()).max().unwrap_or(0);
    let label_width = COLUMNS.iter().map(|c| c.label.len()).max().unwrap_or(0) + 2;
    let guide_width = label_width + COLUMNS.iter().map(|c| c.about.chars().count()).max().unwrap_or(0);
    let label = Style::new().fg(Color::Magenta).add_modifier(Modifier::BOLD);
    let guide: Vec<Vec<Span<'_>>> = COLUMNS
        .iter()
        .map(|c| vec![Span::styled(format!("{:<label_width$}", c.label), label), Span::raw(c.about)])
        .collect();
    let side_by_side = usize::from(area.width) >= keys_width + GAP + guide_width + 4;
    let (lines, width): (Vec<Line<'_>>, usize) = if side_by_side {
        let lines = (0..HELP.len().max(guide.len()))
            .map(|i| {
                let key = HELP.get(i).copied().unwrap_or("");
                let mut spans = vec![Span::raw(format!("{key:<width$}", width = keys_width + GAP))];
                spans.extend(guide.get(i).cloned().unwrap_or_default());
                Line::from(spans)
            })
            .collect();
        (lines, keys_width + GAP + guide_width)
    } else {
        let keys = HELP.iter().map(|line| Line::raw(*line));
        let lines = keys.chain([Line::raw("")]).chain(guide.into_iter().map(Line::from)).collect();
        (lines, keys_width.max(guide_width))
    };
    let popup = centered(area, width + 4, lines.len() + 2);
    frame.render_widget(Clear, popup);
    let block = Block::bordered().title(" fleetroll keys and columns ");
    frame.render_widget(Paragraph::new(lines).block(block), popup);
}

/// The picker's tabs, search and list; the list scrolls so the selection
/// stays in view. The footer line below stays visible for "no matches" and
/// unreadable files.
fn picker_popup(picker: &Picker, frame: &mut Frame<'_>, area: Rect) {
    let popup = centered(area, 100, 22.min(usize::from(area.height.saturating_sub(2))));
    let entries = picker.entries();
    let list_height = usize::from(popup.height.saturating_sub(4));
    let first = picker.selected.saturating_sub(list_height.saturating_sub(1));
    let name_width = entries.iter().filter_map(|e| e.name).map(|n| n.chars().count()).max().unwrap_or(0);
    let mut lines = vec![picker_tabs(picker), Line::raw(format!("search: {}", picker.search))];
    if entries.is_empty() {
        lines.push(Line::styled("  (nothing here)", Style::new().add_modifier(Modifier::DIM)));
    }
    for (i, entry) in entries.iter().enumerate().skip(first).take(list_height) {
        let mut spans = vec![Span::raw(if i == picker.selected { "> " } else { "  " })];
        if let Some(name) = entry.name {
            let name_style = Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD);
            spans.push(Span::styled(format!("{name:<name_width$}  "), name_style));
        }
        spans.push(Span::raw(entry.query));
        if let Some(description) = entry.description {
            spans.push(Span::styled(format!("  {description}"), Style::new().add_modifier(Modifier::DIM)));
        }
        let line = Line::from(spans);
        lines.push(if i == picker.selected { line.style(Style::new().add_modifier(Modifier::REVERSED)) } else { line });
    }
    let title = " filters (Enter applies, Esc closes, ←/→ tab, type to search) ";
    frame.render_widget(Clear, popup);
    frame.render_widget(Paragraph::new(lines).block(Block::bordered().title(title)), popup);
}

fn picker_tabs(picker: &Picker) -> Line<'static> {
    let (saved, recent) = picker.counts();
    let tab = |label: String, active: bool| {
        let style = if active { Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD) } else { Style::new() };
        Span::styled(label, style)
    };
    Line::from(vec![
        tab(format!(" Saved ({saved}) "), picker.tab == Tab::Saved),
        Span::raw(" "),
        tab(format!(" Recent ({recent}) "), picker.tab == Tab::Recent),
    ])
}

#[cfg(test)]
mod tests;
