//! Colours for the `/` bar as the query is typed (reference §8.4): a known
//! column cyan and bold, an unknown one (or a term with no operator yet)
//! red, the operator bold, the value green, `sort:` and its directions
//! yellow. Whitespace is kept as typed, so the cursor stays where the text
//! is; whether the whole query parses is decided by core on Enter.

use fleetroll_core::query::Column;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Span;

/// Two-character operators first, so `>=` wins over `>` at one position,
/// as the query parser decides.
const OPERATORS: [&str; 7] = [">=", "<=", "!=", ">", "<", "=", "~"];

pub fn column_style(name: &str) -> Style {
    match Column::from_name(name) {
        Some(_) => Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
        None => Style::new().fg(Color::Red),
    }
}

pub fn operator_style() -> Style {
    Style::new().add_modifier(Modifier::BOLD)
}

pub fn value_style() -> Style {
    Style::new().fg(Color::Green)
}

pub fn sort_style() -> Style {
    Style::new().fg(Color::Yellow)
}

/// The text of the bar as styled spans, covering every character once.
pub fn spans(input: &str) -> Vec<Span<'_>> {
    let mut spans = Vec::new();
    let mut rest = input;
    while !rest.is_empty() {
        let blank_end = rest.find(|c: char| !c.is_whitespace()).unwrap_or(rest.len());
        if blank_end > 0 {
            spans.push(Span::raw(&rest[..blank_end]));
        }
        rest = &rest[blank_end..];
        let term_end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        term(&rest[..term_end], &mut spans);
        rest = &rest[term_end..];
    }
    spans
}

fn term<'a>(term: &'a str, spans: &mut Vec<Span<'a>>) {
    if term.is_empty() {
        return;
    }
    if term.get(..5).is_some_and(|head| head.eq_ignore_ascii_case("sort:")) {
        return sort_term(term, spans);
    }
    match find_operator(term) {
        Some((at, op)) => {
            let (name, value) = (&term[..at], &term[at + op.len()..]);
            spans.push(Span::styled(name, column_style(name)));
            spans.push(Span::styled(&term[at..at + op.len()], operator_style()));
            if !value.is_empty() {
                spans.push(Span::styled(value, value_style()));
            }
        }
        None => spans.push(Span::styled(term, column_style(""))),
    }
}

/// `sort:COL[:asc|desc][,COL…]`: the keyword, commas and directions
/// yellow, each column as in a condition.
fn sort_term<'a>(term: &'a str, spans: &mut Vec<Span<'a>>) {
    spans.push(Span::styled(&term[..5], sort_style()));
    for (i, part) in term[5..].split(',').enumerate() {
        if i > 0 {
            spans.push(Span::styled(",", sort_style()));
        }
        let name = part.split_once(':').map_or(part, |(name, _)| name);
        if !name.is_empty() {
            spans.push(Span::styled(name, column_style(name)));
        }
        if name.len() < part.len() {
            spans.push(Span::styled(&part[name.len()..], sort_style()));
        }
    }
}

/// The earliest operator, the longest one at that position.
fn find_operator(term: &str) -> Option<(usize, &'static str)> {
    term.char_indices().find_map(|(at, _)| OPERATORS.iter().find(|op| term[at..].starts_with(**op)).map(|op| (at, *op)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(input: &str) -> Vec<(&str, Style)> {
        spans(input).into_iter().map(borrowed).collect()
    }

    fn borrowed(span: Span<'_>) -> (&str, Style) {
        match span.content {
            std::borrow::Cow::Borrowed(text) => (text, span.style),
            std::borrow::Cow::Owned(_) => unreachable!("spans borrow the input"),
        }
    }

    #[test]
    fn conditions_split_into_column_operator_value() {
        let known = column_style("role");
        assert_eq!(
            pieces("role~talos  pp_last>=2h"),
            [
                ("role", known),
                ("~", operator_style()),
                ("talos", value_style()),
                ("  ", Style::new()),
                ("pp_last", known),
                (">=", operator_style()),
                ("2h", value_style()),
            ]
        );
    }

    #[test]
    fn unknown_columns_and_unfinished_terms_are_red() {
        let red = Style::new().fg(Color::Red);
        assert_eq!(pieces("bogus=1"), [("bogus", red), ("=", operator_style()), ("1", value_style())]);
        assert_eq!(pieces("rol"), [("rol", red)]);
        assert_eq!(pieces("note="), [("note", column_style("note")), ("=", operator_style())]);
    }

    #[test]
    fn sort_clauses() {
        let known = column_style("host");
        assert_eq!(
            pieces("sort:host:desc,nope"),
            [
                ("sort:", sort_style()),
                ("host", known),
                (":desc", sort_style()),
                (",", sort_style()),
                ("nope", Style::new().fg(Color::Red)),
            ]
        );
    }

    #[test]
    fn every_character_is_kept() {
        for input in ["", " ", " a=1  b~ö\tsort:x,", "SORT:", "=x", "a<<b"] {
            let joined: String = spans(input).iter().map(|span| span.content.as_ref()).collect();
            assert_eq!(joined, input);
        }
    }
}
