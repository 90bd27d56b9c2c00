//! Drawing the live monitor's model: the header line, the table with its
//! frozen HOST column and category colours, the filter bar or status line,
//! and the help overlay. Colours follow the MVP (reference §8.3).

use fleetroll_core::rows::{COLUMNS, Category, Cell, Row};
use fleetroll_core::time::{MinUnit, humanize_duration};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{self, Block, Clear, Paragraph, Table, Wrap};

use super::app::{App, Mode};

/// Below this the layout cannot show a header, one row and a footer.
const MIN_WIDTH: u16 = 30;
const MIN_HEIGHT: u16 = 4;

/// Spaces between columns, as in `--once`.
const SPACING: u16 = 2;

/// Data older than this is flagged `[stale]` (§8.3).
const STALE_AFTER_S: i64 = 3600;

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
    "/            filter (Enter applies, Esc cancels)",
    "\\            clear the filter",
    "?            this help (any key closes)",
    "q, Ctrl-C    quit",
    "",
    "filter: COL OP VALUE …, OP one of = != ~ < > <= >=,",
    "        plus sort:COL[:asc|desc]; e.g. role~talos",
];

pub fn view(app: &App, frame: &mut Frame<'_>) {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let message = Paragraph::new("terminal too small for fleetroll").wrap(Wrap { trim: true });
        frame.render_widget(message, area);
        return;
    }
    let [header, body, footer] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(1), Constraint::Length(1)]).areas(area);
    let widths = column_widths(app.shown());
    let columns = visible_columns(&widths, app.left, body.width);
    frame.render_widget(header_line(app, &columns, body.height), header);
    frame.render_widget(table(app, &widths, &columns, body.height), body);
    footer_line(app, frame, footer);
    if app.mode == Mode::Help {
        help(frame, area);
    }
}

/// The rows a body of `height` lines shows (one is the column labels).
pub fn page_rows(terminal_height: u16) -> usize {
    usize::from(terminal_height.saturating_sub(3))
}

fn column_widths(rows: &[Row]) -> Vec<u16> {
    COLUMNS
        .iter()
        .enumerate()
        .map(|(i, def)| {
            let cells = rows.iter().filter_map(|row| row.columns().nth(i)).map(|(_, cell)| cell_width(cell));
            let widest = cells.chain([def.label.chars().count()]).max().unwrap_or(0);
            u16::try_from(widest).unwrap_or(u16::MAX)
        })
        .collect()
}

fn cell_width(cell: &Cell) -> usize {
    cell.text.chars().count() + cell.marker.as_ref().map_or(0, |m| m.text.chars().count())
}

/// HOST, then the columns from `left` on that fit in `width`.
fn visible_columns(widths: &[u16], left: usize, width: u16) -> Vec<usize> {
    let mut used = widths.first().copied().unwrap_or(0);
    let mut shown = vec![0];
    for (i, &w) in widths.iter().enumerate().skip(1 + left) {
        used = used.saturating_add(SPACING).saturating_add(w);
        if used > width {
            break;
        }
        shown.push(i);
    }
    shown
}

fn header_line<'a>(app: &'a App, columns: &[usize], body_height: u16) -> Paragraph<'a> {
    let bold_cyan = Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD);
    let mut left = vec![Span::styled(format!("fleetroll {}", app.version), bold_cyan), Span::raw(" [? for help] ")];
    left.push(Span::raw(format!("sort={}", app.sort_label())));
    if !app.query_text().is_empty() {
        left.push(Span::raw(format!(", /{}", app.query_text())));
    }
    let shown = app.shown().len();
    let last = (app.top + usize::from(body_height.saturating_sub(1))).min(shown);
    left.push(Span::raw(format!(" [▲▼ {}-{last}/{shown}]", (app.top + 1).min(last))));
    if let (Some(first), Some(last)) = (columns.get(1), columns.last()) {
        left.push(Span::raw(format!(" [◀▶ {first}-{last}/{}]", COLUMNS.len() - 1)));
    }
    let age = app.data_age();
    let right = format!("  hosts={shown}/{}, updated={}", app.total(), humanize_duration(age, MinUnit::Seconds));
    left.push(Span::styled(right, Style::new().fg(Color::Yellow)));
    if age.is_none_or(|age| age > STALE_AFTER_S) {
        left.push(Span::styled(" [stale]", Style::new().fg(Color::Red).add_modifier(Modifier::BOLD)));
    }
    Paragraph::new(Line::from(left))
}

fn table<'a>(app: &'a App, widths: &[u16], columns: &[usize], height: u16) -> Table<'a> {
    let label = Style::new().fg(Color::Magenta).add_modifier(Modifier::BOLD);
    let header = widgets::Row::new(columns.iter().map(|&i| Span::styled(COLUMNS[i].label, label)));
    let rows = app.shown().iter().skip(app.top).take(usize::from(height)).map(|row| {
        let cells: Vec<_> = row.columns().map(|(_, cell)| cell).collect();
        widgets::Row::new(columns.iter().filter_map(|&i| cells.get(i)).map(|cell| styled_cell(app, cell)))
    });
    let widths = columns.iter().map(|&i| Constraint::Length(widths[i]));
    Table::new(rows, widths).header(header).column_spacing(SPACING)
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
    if let Mode::Filter { input, cursor } = &app.mode {
        frame.render_widget(Paragraph::new(format!("/{input}")), area);
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

fn help(frame: &mut Frame<'_>, area: Rect) {
    let width = HELP.iter().map(|line| line.chars().count()).max().unwrap_or(0) + 4;
    let width = u16::try_from(width).unwrap_or(u16::MAX).min(area.width);
    let height = u16::try_from(HELP.len() + 2).unwrap_or(u16::MAX).min(area.height);
    let popup = Rect { x: area.x + (area.width - width) / 2, y: area.y + (area.height - height) / 2, width, height };
    let text: Vec<Line<'_>> = HELP.iter().map(|line| Line::raw(*line)).collect();
    frame.render_widget(Clear, popup);
    frame.render_widget(Paragraph::new(text).block(Block::bordered().title(" fleetroll keys ")), popup);
}

#[cfg(test)]
mod tests;
