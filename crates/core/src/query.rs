//! The monitor's query language (reference §8.5): the `/` filter of the TUI,
//! `--filter` of `--once`, and `filter=`/`sort=` of the web API.
//!
//! This module owns the grammar (`COL OP VALUE` terms and `sort:` clauses),
//! the column names and their aliases (§8.2), how a term matches a row, how
//! rows sort, and [`parse_duration`], which reads the durations the monitor
//! displays back into seconds. It knows nothing of how rows are built: a row
//! hands over, per [`Column`], a [`FieldValue`] through the [`Fields`] trait.
//!
//! Decisions where the MVP was loose or buggy (each has a test):
//! - A malformed term is an error naming the term, where the MVP skipped it
//!   silently; so `note>` (a value is required after `>`) is an error, not the
//!   MVP's empty query that its validation then rejected as unrecognized.
//! - `~` is always a case-insensitive substring test on the displayed text,
//!   also on duration columns (the MVP never matched `uptime~1h`).
//! - `|` separates alternatives for `=` (any of) and `!=` (none of) only;
//!   empty alternatives are ignored, and a value of only `|` acts as empty.
//! - `OVR_BCH` carries the branch as its [`FieldValue::key`]: `ovr_bch=main`
//!   matches the branch exactly (bug `mvp-n30n`) and sorting uses the branch
//!   (bug `mvp-ujz`), while `~` still searches the whole cell.
//! - Text sorts naturally (`host-2` before `host-10`), case-insensitively.
//! - Values cannot be quoted (the MVP has no quoting): a value has no spaces.

use std::borrow::Cow;
use std::cmp::{Ordering, Reverse};
use std::fmt;

use thiserror::Error;

#[cfg(test)]
mod tests;

/// Every column of the monitor and every filter-only field (§8.2), so a
/// query names them without knowing how rows are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Column {
    Host,
    /// Whether the newest audit reached the host (`ok`, or its failure class).
    Reach,
    Os,
    Role,
    VltSha,
    /// The override: `<branch> (<sha8>)`, or `<sha8>`; the MVP's key `sha`.
    OvrBch,
    Uptime,
    PpLast,
    PpSha,
    PpExp,
    PpMatch,
    TcAct,
    /// How long ago Taskcluster's queue events (Pulse) last named the
    /// host's worker.
    Pulse,
    /// The last task's duration; the MVP's key `tc_j_sf`.
    TcTDur,
    TcQuar,
    /// `<audit age>/<tc scan age>`; compares by the larger of the two.
    Data,
    Healthy,
    Note,
    /// Filter-only: the Taskcluster worker pool.
    Pool,
    /// Filter-only: `Y`/`N`/`-`, whether the override sets WORKER_TYPE_OVERRIDE.
    WtOvr,
    Status,
    Override,
    Mtime,
    Err,
    OvrBranch,
    OvrShaFull,
    VltShaFull,
    VltMnemonic,
    VltSymlink,
}

/// (column, MVP row key, header label, other accepted names)
const COLUMNS: &[(Column, &str, &str, &[&str])] = &[
    (Column::Host, "host", "HOST", &[]),
    (Column::Reach, "reach", "REACHABLE", &["reachable"]),
    (Column::Os, "os", "OS", &[]),
    (Column::Role, "role", "ROLE", &[]),
    (Column::VltSha, "vlt_sha", "VLT_SHA", &[]),
    (Column::OvrBch, "sha", "OVR_BCH", &["ovr_bch", "ovr_sha"]),
    (Column::Uptime, "uptime", "UPTIME", &[]),
    (Column::PpLast, "pp_last", "PP_LAST", &[]),
    (Column::PpSha, "pp_sha", "PP_SHA", &[]),
    (Column::PpExp, "pp_exp", "PP_EXP", &[]),
    (Column::PpMatch, "pp_match", "PP_MATCH", &[]),
    (Column::TcAct, "tc_act", "TC_ACT", &[]),
    (Column::Pulse, "pulse", "PULSE", &[]),
    (Column::TcTDur, "tc_j_sf", "TC_T_DUR", &["tc_t_dur"]),
    (Column::TcQuar, "tc_quar", "TC_QUAR", &[]),
    (Column::Data, "data", "DATA", &[]),
    (Column::Healthy, "healthy", "HEALTHY", &["health"]),
    (Column::Note, "note", "NOTE", &[]),
    (Column::Pool, "pool", "POOL", &[]),
    (Column::WtOvr, "wt_ovr", "WT_OVR", &[]),
    (Column::Status, "status", "STATUS", &[]),
    (Column::Override, "override", "OVERRIDE", &[]),
    (Column::Mtime, "mtime", "MTIME", &[]),
    (Column::Err, "err", "ERR", &[]),
    (Column::OvrBranch, "ovr_branch", "OVR_BRANCH", &[]),
    (Column::OvrShaFull, "ovr_sha_full", "OVR_SHA_FULL", &[]),
    (Column::VltShaFull, "vlt_sha_full", "VLT_SHA_FULL", &[]),
    (Column::VltMnemonic, "vlt_mnemonic", "VLT_MNEMONIC", &[]),
    (Column::VltSymlink, "vlt_symlink", "VLT_SYMLINK", &[]),
];

impl Column {
    /// Every column and filter-only field, displayed columns first in TUI order.
    pub const ALL: [Column; 29] = [
        Column::Host,
        Column::Reach,
        Column::Os,
        Column::Role,
        Column::VltSha,
        Column::OvrBch,
        Column::Uptime,
        Column::PpLast,
        Column::PpSha,
        Column::PpExp,
        Column::PpMatch,
        Column::TcAct,
        Column::Pulse,
        Column::TcTDur,
        Column::TcQuar,
        Column::Data,
        Column::Healthy,
        Column::Note,
        Column::Pool,
        Column::WtOvr,
        Column::Status,
        Column::Override,
        Column::Mtime,
        Column::Err,
        Column::OvrBranch,
        Column::OvrShaFull,
        Column::VltShaFull,
        Column::VltMnemonic,
        Column::VltSymlink,
    ];

    /// The column a user means by `name` (case-insensitive, aliases
    /// included: `sha`/`ovr_bch`/`ovr_sha`, `tc_j_sf`/`tc_t_dur`, `healthy`/`health`).
    pub fn from_name(name: &str) -> Option<Column> {
        let name = name.to_ascii_lowercase();
        COLUMNS
            .iter()
            .find(|(_, key, label, aliases)| {
                *key == name || label.eq_ignore_ascii_case(&name) || aliases.contains(&name.as_str())
            })
            .map(|(column, ..)| *column)
    }

    fn entry(self) -> &'static (Column, &'static str, &'static str, &'static [&'static str]) {
        // COLUMNS lists every variant in declaration order.
        &COLUMNS[self as usize]
    }

    /// The MVP's row key (§8.2), which the web API keeps in its JSON.
    pub fn key(self) -> &'static str {
        self.entry().1
    }

    /// The header text (`OVR_BCH`, `TC_T_DUR`, …); filter-only fields get
    /// their name in capitals.
    pub fn label(self) -> &'static str {
        self.entry().2
    }

    /// Whether the column exists only for filtering and is never displayed.
    pub fn is_filter_only(self) -> bool {
        self >= Column::Pool
    }

    /// Whether the column holds a duration, compared and sorted in seconds.
    pub fn is_duration(self) -> bool {
        matches!(self, Column::Uptime | Column::PpLast | Column::TcAct | Column::Pulse | Column::TcTDur | Column::Data)
    }
}

impl fmt::Display for Column {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// What a row shows in one column, plus what queries need beyond the text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldValue<'a> {
    /// The displayed text; `-`, `--` and empty mean "no value", `?` "unknown".
    pub text: Cow<'a, str>,
    /// For duration columns, the exact seconds (DATA: the larger of its two
    /// ages). When absent, the seconds are read back from the text.
    pub seconds: Option<i64>,
    /// The value `=`, `!=`, `<`, `>` and sorting use in place of the text:
    /// OVR_BCH puts the branch here, so `ovr_bch=main` matches a host on
    /// `main (0123abcd)` and sorting goes by branch.
    pub key: Option<Cow<'a, str>>,
}

impl<'a> FieldValue<'a> {
    /// A value that is only text.
    pub fn text(text: impl Into<Cow<'a, str>>) -> Self {
        FieldValue { text: text.into(), seconds: None, key: None }
    }

    /// Adds the exact seconds of a duration column.
    pub fn with_seconds(mut self, seconds: Option<i64>) -> Self {
        self.seconds = seconds;
        self
    }

    /// Adds the value matched by `=` and used for sorting (OVR_BCH: the branch).
    pub fn with_key(mut self, key: impl Into<Cow<'a, str>>) -> Self {
        self.key = Some(key.into());
        self
    }
}

/// A row the query language can read, whatever the monitor keeps inside it.
pub trait Fields {
    /// The value in `column`; `None` when the row has none (as `-`).
    fn field(&self, column: Column) -> Option<FieldValue<'_>>;
}

impl<T: Fields + ?Sized> Fields for &T {
    fn field(&self, column: Column) -> Option<FieldValue<'_>> {
        (**self).field(column)
    }
}

/// A comparison operator of a term.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
    /// `~`: case-insensitive substring.
    Contains,
}

impl Op {
    /// Two-character operators first, so `>=` wins over `>` at one position.
    const ALL: [Op; 7] = [Op::Ge, Op::Le, Op::Ne, Op::Gt, Op::Lt, Op::Eq, Op::Contains];

    /// The operator as typed.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Gt => ">",
            Op::Le => "<=",
            Op::Ge => ">=",
            Op::Contains => "~",
        }
    }

    fn holds(self, ordering: Ordering) -> bool {
        match self {
            Op::Eq => ordering.is_eq(),
            Op::Ne => ordering.is_ne(),
            Op::Lt => ordering.is_lt(),
            Op::Gt => ordering.is_gt(),
            Op::Le => ordering.is_le(),
            Op::Ge => ordering.is_ge(),
            Op::Contains => false,
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One `COL OP VALUE` term.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Condition {
    pub column: Column,
    pub op: Op,
    /// The value as typed (after the operator).
    pub value: String,
    /// For `=`/`!=`: the non-empty `|` alternatives; none means "empty"
    /// (`note=` is "has no note"). For other operators: exactly the value.
    pub alternatives: Vec<String>,
}

/// Which way a sort key orders rows; unknown values go last either way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Direction {
    #[default]
    Asc,
    Desc,
}

/// One key of a `sort:` clause.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SortKey {
    pub column: Column,
    pub direction: Direction,
}

impl SortKey {
    /// An ascending key, as the `s` key's cycle uses.
    pub fn asc(column: Column) -> Self {
        SortKey { column, direction: Direction::Asc }
    }

    /// A descending key.
    pub fn desc(column: Column) -> Self {
        SortKey { column, direction: Direction::Desc }
    }
}

/// A parsed query: conditions (all must hold) and sort keys.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Query {
    conditions: Vec<Condition>,
    sort_keys: Vec<SortKey>,
}

/// Why a query was refused; shown on the TUI status line, and `--once`
/// exits 2 with it. Each message names the offending term.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum QueryError {
    #[error("unknown column: {column} (in \"{term}\")")]
    UnknownColumn { column: String, term: String },
    #[error("unknown sort column: {column} (in \"{term}\")")]
    UnknownSortColumn { column: String, term: String },
    #[error("query unrecognized: \"{term}\" has no operator (expected COL OP VALUE, OP one of = != ~ < > <= >=)")]
    NoOperator { term: String },
    #[error("query unrecognized: \"{term}\" has no column before its operator")]
    MissingColumn { term: String },
    #[error("missing value in \"{term}\": only = and != accept an empty value")]
    MissingValue { term: String },
    #[error("bad sort direction {direction} in \"{term}\": use asc or desc")]
    BadSortDirection { direction: String, term: String },
    #[error("empty sort in \"{term}\": expected sort:COL[:asc|desc][,COL…]")]
    EmptySort { term: String },
}

impl QueryError {
    /// The term at fault, e.g. for the TUI to highlight it.
    pub fn term(&self) -> &str {
        match self {
            QueryError::UnknownColumn { term, .. }
            | QueryError::UnknownSortColumn { term, .. }
            | QueryError::NoOperator { term }
            | QueryError::MissingColumn { term }
            | QueryError::MissingValue { term }
            | QueryError::BadSortDirection { term, .. }
            | QueryError::EmptySort { term } => term,
        }
    }
}

/// Parses a query: whitespace-separated `COL OP VALUE` terms, all ANDed, and
/// `sort:COL[:asc|desc][,COL…]` clauses. Blank text is the empty query.
pub fn parse(query: &str) -> Result<Query, QueryError> {
    let mut parsed = Query::default();
    for term in query.split_whitespace() {
        match strip_prefix_ignore_case(term, "sort:") {
            Some(spec) if spec.split(',').all(str::is_empty) => {
                return Err(QueryError::EmptySort { term: term.to_owned() });
            }
            Some(spec) => parsed.sort_keys.extend(parse_sort_parts(spec, term)?),
            None => parsed.conditions.push(parse_condition(term)?),
        }
    }
    Ok(parsed)
}

/// Parses a bare sort spec `COL[:asc|desc][,COL…]`, as `sort=` of the web
/// API takes it; blank is no sorting.
pub fn parse_sort_spec(spec: &str) -> Result<Vec<SortKey>, QueryError> {
    parse_sort_parts(spec.trim(), spec.trim())
}

fn strip_prefix_ignore_case<'t>(text: &'t str, prefix: &str) -> Option<&'t str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &text[prefix.len()..])
}

fn parse_sort_parts(spec: &str, term: &str) -> Result<Vec<SortKey>, QueryError> {
    spec.split(',').filter(|part| !part.is_empty()).map(|part| parse_sort_part(part, term)).collect()
}

fn parse_sort_part(part: &str, term: &str) -> Result<SortKey, QueryError> {
    let (name, direction) = part.split_once(':').unwrap_or((part, ""));
    let column = Column::from_name(name)
        .ok_or_else(|| QueryError::UnknownSortColumn { column: name.to_owned(), term: term.to_owned() })?;
    let direction = match direction.to_ascii_lowercase().as_str() {
        "" | "asc" => Direction::Asc,
        "desc" => Direction::Desc,
        _ => return Err(QueryError::BadSortDirection { direction: direction.to_owned(), term: term.to_owned() }),
    };
    Ok(SortKey { column, direction })
}

/// The earliest operator in `term`, the longest one at that position.
fn find_op(term: &str) -> Option<(usize, Op)> {
    term.char_indices().find_map(|(at, _)| {
        let rest = &term[at..];
        Op::ALL.iter().find(|op| rest.starts_with(op.as_str())).map(|op| (at, *op))
    })
}

fn parse_condition(term: &str) -> Result<Condition, QueryError> {
    let owned = || term.to_owned();
    let (at, op) = find_op(term).ok_or_else(|| QueryError::NoOperator { term: owned() })?;
    let (name, value) = (&term[..at], &term[at + op.as_str().len()..]);
    if name.is_empty() {
        return Err(QueryError::MissingColumn { term: owned() });
    }
    let column =
        Column::from_name(name).ok_or_else(|| QueryError::UnknownColumn { column: name.to_owned(), term: owned() })?;
    let alternatives = match op {
        Op::Eq | Op::Ne => value.split('|').filter(|v| !v.is_empty()).map(str::to_owned).collect(),
        _ if value.is_empty() => return Err(QueryError::MissingValue { term: owned() }),
        _ => vec![value.to_owned()],
    };
    Ok(Condition { column, op, value: value.to_owned(), alternatives })
}

impl Query {
    /// Whether `row` satisfies every condition (the empty query matches all).
    pub fn matches(&self, row: &impl Fields) -> bool {
        self.conditions.iter().all(|condition| condition.matches(row))
    }

    /// The `sort:` keys in order; empty when the query does not sort (then the
    /// TUI's `s` key chooses the order).
    pub fn sort_keys(&self) -> &[SortKey] {
        &self.sort_keys
    }

    /// The conditions, in the order typed.
    pub fn conditions(&self) -> &[Condition] {
        &self.conditions
    }

    /// Whether the query neither filters nor sorts.
    pub fn is_empty(&self) -> bool {
        self.conditions.is_empty() && self.sort_keys.is_empty()
    }
}

/// `-`, `--` and empty mean "no value"; `?` (unknown) is a value.
fn is_blank(text: &str) -> bool {
    matches!(text, "" | "-" | "--")
}

/// Values that sort last: no value, or unknown.
fn is_unknown(text: &str) -> bool {
    is_blank(text) || text == "?"
}

fn normalized(text: &str) -> &str {
    if is_blank(text) { "" } else { text }
}

/// The seconds of a duration column: given by the row, or read from the text
/// (DATA: the larger of `<audit age>/<tc scan age>`).
fn field_seconds(column: Column, value: &FieldValue<'_>) -> Option<i64> {
    if value.seconds.is_some() {
        return value.seconds;
    }
    match (column, value.text.split_once('/')) {
        (Column::Data, Some((audit, scan))) => parse_duration(audit.trim()).max(parse_duration(scan.trim())),
        _ => parse_duration(&value.text),
    }
}

impl Condition {
    fn matches(&self, row: &impl Fields) -> bool {
        let value = row.field(self.column).unwrap_or_default();
        match (self.op, self.alternatives.is_empty()) {
            (Op::Eq, true) => is_blank(&value.text),
            (Op::Ne, true) => !is_blank(&value.text),
            (Op::Eq, false) => self.alternatives.iter().any(|wanted| self.compare(&value, wanted)),
            (Op::Ne, false) => self.alternatives.iter().all(|wanted| self.compare(&value, wanted)),
            _ => self.alternatives.iter().all(|wanted| self.compare(&value, wanted)),
        }
    }

    /// One alternative against the row's value.
    fn compare(&self, value: &FieldValue<'_>, wanted: &str) -> bool {
        let text = normalized(&value.text).to_lowercase();
        let wanted_lower = wanted.to_lowercase();
        if self.op == Op::Contains {
            return text.contains(&wanted_lower);
        }
        if self.column.is_duration() {
            // A row without a readable duration fails every comparison.
            let Some(seconds) = field_seconds(self.column, value) else { return false };
            if let Some(limit) = parse_duration(wanted) {
                return self.op.holds(seconds.cmp(&limit));
            }
        }
        match (&value.key, self.op) {
            (Some(key), Op::Eq | Op::Ne) => {
                let equal = key.to_lowercase() == wanted_lower || text == wanted_lower;
                equal == (self.op == Op::Eq)
            }
            (Some(key), _) => self.op.holds(key.to_lowercase().as_str().cmp(&wanted_lower)),
            (None, _) => self.op.holds(text.as_str().cmp(&wanted_lower)),
        }
    }
}

/// Sorts `rows` by `keys`, stably; values that are unknown (`-`, `--`, `?`,
/// empty, missing, or an unreadable duration) go last in both directions.
/// Durations sort by seconds, text naturally and case-insensitively, and a
/// column's [`FieldValue::key`] (OVR_BCH: the branch) in place of its text.
pub fn sort_rows<R: Fields>(rows: &mut [R], keys: &[SortKey]) {
    if keys.is_empty() {
        return;
    }
    rows.sort_by_cached_key(|row| keys.iter().map(|key| sort_part(row, *key)).collect::<Vec<_>>());
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Sortable {
    Seconds(i64),
    Text(Vec<u8>),
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Directed {
    Asc(Sortable),
    Desc(Reverse<Sortable>),
}

/// `(unknown, value)`: unknown values (`None`) after all known ones.
type SortPart = (bool, Option<Directed>);

fn sort_part(row: &impl Fields, key: SortKey) -> SortPart {
    let Some(value) = row.field(key.column) else { return (true, None) };
    if is_unknown(&value.text) {
        return (true, None);
    }
    let sortable = if key.column.is_duration() {
        match field_seconds(key.column, &value) {
            Some(seconds) => Sortable::Seconds(seconds),
            None => return (true, None),
        }
    } else {
        Sortable::Text(natural_key(value.key.as_deref().unwrap_or(&value.text)))
    };
    let directed = match key.direction {
        Direction::Asc => Directed::Asc(sortable),
        Direction::Desc => Directed::Desc(Reverse(sortable)),
    };
    (false, Some(directed))
}

/// A byte string whose order is the natural order of `text`: case-insensitive,
/// digit runs by their value. Text and digit runs alternate, starting with
/// text. Each text run ends with a 0 byte, below every character, so a run
/// that is a prefix of another sorts first, as strings do; each digit run is
/// its length without leading zeros (8 bytes, big-endian) then its digits,
/// so a longer number sorts after a shorter one. One allocation per value:
/// a list of runs took one per run, a tenth of a 20,000-host sort.
fn natural_key(text: &str) -> Vec<u8> {
    // ASCII text (host names, roles) is lowered as its key is built, with
    // no lowered copy; other text is lowered whole first, as Unicode says.
    let lower = if text.is_ascii() { Cow::Borrowed(text) } else { Cow::Owned(text.to_lowercase()) };
    let mut key = Vec::with_capacity(lower.len() + 16);
    let mut rest: &str = &lower;
    while !rest.is_empty() {
        let split = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        key.extend(rest.as_bytes()[..split].iter().map(u8::to_ascii_lowercase));
        key.push(0);
        rest = &rest[split..];
        let digits_end = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        if digits_end > 0 {
            let digits = rest[..digits_end].trim_start_matches('0');
            key.extend_from_slice(&u64::try_from(digits.len()).unwrap_or(u64::MAX).to_be_bytes());
            key.extend_from_slice(digits.as_bytes());
        }
        rest = &rest[digits_end..];
    }
    key
}

/// Reads a displayed duration back into seconds (§8.5), for comparing and
/// sorting durations: `1h30m`, `1h 30m` → 5400; `1d 04h` → 100800; a leading
/// `<` means just under (`<5m` → 299); the suffixes ` FAIL` (PP_LAST) and
/// ` -` (a running task) are ignored; `-`, `--`, `?`, empty or text without
/// `<number><s|m|h|d>` give `None`.
pub fn parse_duration(text: &str) -> Option<i64> {
    if is_unknown(text) {
        return None;
    }
    let text = text.split(" FAIL").next().unwrap_or_default().trim();
    let text = text.strip_suffix(" -").map_or(text, str::trim);
    let (text, under) = match text.strip_prefix('<') {
        Some(rest) => (rest, true),
        None => (text, false),
    };
    let total = sum_units(text)?;
    Some(if under { (total - 1).max(0) } else { total })
}

/// The sum of every `<digits><spaces?><s|m|h|d>` in `text` (case-insensitive),
/// or `None` if there is none.
fn sum_units(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    let (mut at, mut total, mut found) = (0, 0i64, false);
    while at < bytes.len() {
        if !bytes[at].is_ascii_digit() {
            at += 1;
            continue;
        }
        let start = at;
        while bytes.get(at).is_some_and(u8::is_ascii_digit) {
            at += 1;
        }
        let number: i64 = text[start..at].parse().unwrap_or(i64::MAX);
        let mut unit_at = at;
        while bytes.get(unit_at).is_some_and(u8::is_ascii_whitespace) {
            unit_at += 1;
        }
        if let Some(unit) = bytes.get(unit_at).and_then(|b| unit_seconds(*b)) {
            total = total.saturating_add(number.saturating_mul(unit));
            found = true;
            at = unit_at + 1;
        }
    }
    found.then_some(total)
}

fn unit_seconds(unit: u8) -> Option<i64> {
    match unit.to_ascii_lowercase() {
        b's' => Some(1),
        b'm' => Some(60),
        b'h' => Some(3600),
        b'd' => Some(86_400),
        _ => None,
    }
}
