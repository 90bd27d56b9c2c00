use super::*;

/// A row as the tests need it: columns by name, each with a text and
/// optionally seconds or a key.
#[derive(Clone, Debug, Default)]
struct Row(Vec<(Column, FieldValue<'static>)>);

impl Row {
    fn with(mut self, name: &str, text: &'static str) -> Self {
        self.0.push((column(name), FieldValue::text(text)));
        self
    }

    fn with_value(mut self, name: &str, value: FieldValue<'static>) -> Self {
        self.0.push((column(name), value));
        self
    }
}

impl Fields for Row {
    fn field(&self, column: Column) -> Option<FieldValue<'_>> {
        self.0.iter().find(|(c, _)| *c == column).map(|(_, v)| v.clone())
    }
}

fn column(name: &str) -> Column {
    Column::from_name(name).unwrap_or_else(|| panic!("no column {name}"))
}

fn row(name: &str, text: &'static str) -> Row {
    Row::default().with(name, text)
}

fn matches(query: &str, row: &Row) -> bool {
    parse(query).unwrap_or_else(|e| panic!("{query}: {e}")).matches(row)
}

fn texts(rows: &[Row], name: &str) -> Vec<String> {
    rows.iter().map(|r| r.field(column(name)).map(|v| v.text.into_owned()).unwrap_or_default()).collect()
}

fn sorted(rows: &[Row], query: &str) -> Vec<Row> {
    let mut rows = rows.to_vec();
    sort_rows(&mut rows, parse(query).unwrap().sort_keys());
    rows
}

/// §9.1 item 14, plus the reading rules of §8.5.
#[test]
fn durations_read_back() {
    let cases: &[(&str, Option<i64>)] = &[
        ("1h30m", Some(5400)),
        ("1h 30m", Some(5400)),
        ("1d 04h", Some(100_800)),
        ("<5m", Some(299)),
        ("<1m", Some(59)),
        ("2h 30m FAIL", Some(9000)),
        ("5m -", Some(300)),
        ("-", None),
        ("?", None),
        ("abc", None),
        ("--", None),
        ("", None),
        ("59s", Some(59)),
        ("2H 02M", Some(7320)),
        ("5 m", Some(300)),
        ("20h", Some(72_000)),
        ("12x5m", Some(300)),
        ("<0s", Some(0)),
        ("99999999999999999999999d", Some(i64::MAX)),
        ("5x", None),
    ];
    for (text, seconds) in cases {
        assert_eq!(parse_duration(text), *seconds, "{text:?}");
    }
}

/// Displayed durations (`humanize_duration`) read back to what they show.
#[test]
fn humanized_durations_read_back() {
    use crate::time::{MinUnit, humanize_duration};
    for seconds in [0, 59, 60, 3599, 3600, 7325, 86_399, 90_061] {
        let shown = humanize_duration(Some(seconds), MinUnit::Seconds);
        let back = parse_duration(&shown).unwrap();
        assert!(back <= seconds && seconds - back < 3600, "{seconds} {shown} {back}");
    }
    assert_eq!(parse_duration(&humanize_duration(Some(30), MinUnit::Minutes)), Some(59));
}

/// §9.1 item 15: DATA compares by the larger of its two ages.
#[test]
fn data_compares_by_its_older_age() {
    let r = row("data", "5m/2h 30m");
    assert!(matches("data>1h", &r));
    assert!(!matches("data<10m", &r));
    let cases: &[(&str, &str, bool)] = &[
        ("?/5m", "data>4m", true),
        ("?/5m", "data<4m", false),
        ("-/-", "data<1d", false),
        ("-/-", "data>1s", false),
        ("<1m/<1m", "data<1m", true),
        ("<1m/<1m", "data>=59s", true),
        ("3h 00m", "data>2h", true),
        ("5m/2h 30m", "data~2h", true),
        ("5m/2h 30m", "data=5m/2h", false),
    ];
    for (text, query, expected) in cases {
        assert_eq!(matches(query, &row("data", text)), *expected, "{query} on {text}");
    }
}

/// Exact seconds from the row win over reading the text back.
#[test]
fn row_seconds_win_over_the_text() {
    let r = Row::default().with_value("data", FieldValue::text("<1m/<1m").with_seconds(Some(30)));
    assert!(matches("data<31s", &r));
    assert!(!matches("data>40s", &r));
    let r = Row::default().with_value("uptime", FieldValue::text("2h 02m").with_seconds(Some(7325)));
    assert!(matches("uptime>2h2m", &r));
}

/// §9.1 item 15: `note=` is "no note"; `?` is a value; `note=-` matches nothing.
#[test]
fn empty_values_mean_no_value() {
    let rows = ["-", "--", "", "?", "flaky disk"];
    let cases: &[(&str, [bool; 5])] = &[
        ("note=", [true, true, true, false, false]),
        ("note!=", [false, false, false, true, true]),
        ("note=-", [false; 5]),
        ("note=?", [false, false, false, true, false]),
        ("note=|", [true, true, true, false, false]),
    ];
    for (query, expected) in cases {
        for (text, want) in rows.iter().zip(expected) {
            assert_eq!(matches(query, &row("note", text)), *want, "{query} on {text:?}");
        }
    }
    assert!(matches("note=", &Row::default()), "a missing field has no value");
    assert!(!matches("note!=", &Row::default()));
}

/// §9.1 item 15: `|` is any-of for `=`, none-of for `!=`, literal otherwise.
#[test]
fn alternatives() {
    let cases: &[(&str, &str, bool)] = &[
        ("os=M|L", "M", true),
        ("os=M|L", "L", true),
        ("os=M|L", "W", false),
        ("os!=M|L", "W", true),
        ("os!=M|L", "M", false),
        ("os=m|", "M", true),
        ("os=|m", "-", false),
        ("os~M|L", "M", false),
    ];
    for (query, os, expected) in cases {
        assert_eq!(matches(query, &row("os", os)), *expected, "{query} on {os}");
    }
    assert!(matches("note~a|b", &row("note", "see a|b")));
}

#[test]
fn strings_compare_case_insensitively() {
    let r = Row::default().with("host", "t-linux64-ms-001").with("healthy", "Y").with("role", "gecko_t_linux");
    let cases: &[(&str, bool)] = &[
        ("host~MS-00", true),
        ("HOST~ms-00", true),
        ("Host=T-LINUX64-MS-001", true),
        ("host=t-linux64-ms", false),
        ("healthy=y", true),
        ("health=n", false),
        ("healthy!=n", true),
        ("role>gecko", true),
        ("role<gecko", false),
        ("role<=gecko_t_linux", true),
        ("role>=h", false),
    ];
    for (query, expected) in cases {
        assert_eq!(matches(query, &r), *expected, "{query}");
    }
}

#[test]
fn durations_compare_in_seconds() {
    let cases: &[(&str, &str, &str, bool)] = &[
        ("uptime", "2h 02m", "uptime>1h", true),
        ("uptime", "59m", "uptime>1h", false),
        ("uptime", "59m", "uptime<1h", true),
        ("uptime", "1h 00m", "uptime>=60m", true),
        ("uptime", "1h 00m", "uptime=3600s", true),
        ("uptime", "1h 00m", "uptime!=1h", false),
        ("uptime", "-", "uptime<1h", false),
        ("uptime", "-", "uptime!=1h", false),
        ("pp_last", "2h 30m FAIL", "pp_last>2h", true),
        ("pp_last", "2h 30m FAIL", "pp_last~fail", true),
        ("pp_last", "--", "pp_last<1d", false),
        ("pp_last", "21h 00m", "pp_last>20h", true),
        ("tc_act", "4h 10m", "tc_act>4h", true),
        ("tc_act", "1d 01h", "tc_act<1d", false),
        ("tc_t_dur", "5m -", "tc_t_dur=5m", true),
        ("tc_j_sf", "5m -", "TC_J_SF<=5m", true),
        ("uptime", "2h 02m", "uptime~2h", true),
        ("uptime", "2h 02m", "uptime>abc", false),
        ("uptime", "2h 02m", "uptime<abc", true),
    ];
    for (name, text, query, expected) in cases {
        assert_eq!(matches(query, &row(name, text)), *expected, "{query} on {text}");
    }
}

/// Bug `mvp-n30n`: `ovr_bch=<branch>` matches the branch exactly, not only
/// with `~` on the composite `branch (sha8)` cell.
#[test]
fn mvp_n30n_ovr_bch_equals_matches_the_branch_exactly() {
    let on = |text: &'static str, branch: &'static str| {
        Row::default().with_value("ovr_bch", FieldValue::text(text).with_key(branch))
    };
    let main = on("main (0123abcd)", "main");
    let feature = on("feature/main-fix (89abcdef) *wt", "feature/main-fix");
    let unresolved = row("ovr_bch", "fedcba98");
    let none = row("ovr_bch", "-");
    let cases: &[(&str, [bool; 4])] = &[
        ("ovr_bch=main", [true, false, false, false]),
        ("OVR_BCH=MAIN", [true, false, false, false]),
        ("sha=feature/main-fix", [false, true, false, false]),
        ("ovr_sha=main|fedcba98", [true, false, true, false]),
        ("ovr_bch!=main", [false, true, true, true]),
        ("ovr_bch~main", [true, true, false, false]),
        ("ovr_bch~89abcd", [false, true, false, false]),
        ("ovr_bch=", [false, false, false, true]),
        ("ovr_bch!=", [true, true, true, false]),
    ];
    for (query, expected) in cases {
        let got = [&main, &feature, &unresolved, &none].map(|r| matches(query, r));
        assert_eq!(got, *expected, "{query}");
    }
}

/// Bug `mvp-ujz`: sorting OVR_BCH goes by branch (not by sha), hosts without
/// an override last.
#[test]
fn mvp_ujz_ovr_bch_sorts_by_branch() {
    let on = |host: &'static str, text: &'static str, branch: &'static str| {
        Row::default().with("host", host).with_value("ovr_bch", FieldValue::text(text).with_key(branch))
    };
    let rows = [
        Row::default().with("host", "h1").with("ovr_bch", "-"),
        on("h2", "zeta (00000001)", "zeta"),
        on("h3", "alpha (ffffffff)", "alpha"),
        on("h4", "Beta (11111111) *wt", "Beta"),
    ];
    assert_eq!(texts(&sorted(&rows, "sort:ovr_bch"), "host"), ["h3", "h4", "h2", "h1"]);
    assert_eq!(texts(&sorted(&rows, "sort:sha:desc"), "host"), ["h2", "h4", "h3", "h1"]);
}

/// §9.1 item 15: unknown values sort last in both directions.
#[test]
fn unknowns_sort_last_both_ways() {
    let rows: Vec<Row> = ["5m", "-", "2h 00m", "?", "30s", "--", "1d 00h"]
        .into_iter()
        .map(|t| row("tc_act", t))
        .chain([Row::default()])
        .collect();
    assert_eq!(texts(&sorted(&rows, "sort:tc_act"), "tc_act"), ["30s", "5m", "2h 00m", "1d 00h", "-", "?", "--", ""]);
    assert_eq!(
        texts(&sorted(&rows, "sort:tc_act:desc"), "tc_act"),
        ["1d 00h", "2h 00m", "5m", "30s", "-", "?", "--", ""]
    );
    let notes = [row("note", "-"), row("note", "b"), row("note", "?"), row("note", "A")];
    assert_eq!(texts(&sorted(&notes, "sort:note:desc"), "note"), ["b", "A", "-", "?"]);
}

#[test]
fn sorting_is_natural_multi_key_and_stable() {
    let r = |host: &'static str, role: &'static str| Row::default().with("host", host).with("role", role);
    let rows = [r("host-10", "b"), r("host-2", "a"), r("HOST-1", "b"), r("host-02", "-"), r("host-3", "a")];
    assert_eq!(texts(&sorted(&rows, "sort:host"), "host"), ["HOST-1", "host-2", "host-02", "host-3", "host-10"]);
    assert_eq!(
        texts(&sorted(&rows, "sort:role:desc,host"), "host"),
        ["HOST-1", "host-10", "host-2", "host-3", "host-02"]
    );
    assert_eq!(
        texts(&sorted(&rows, "sort:role sort:host:desc"), "host"),
        ["host-3", "host-2", "host-10", "HOST-1", "host-02"]
    );
    assert_eq!(texts(&sorted(&rows, "host~h"), "host"), texts(&rows, "host"), "no sort keys keep the order");
    let data = [row("data", "5m/2h 30m"), row("data", "?/5m"), row("data", "-/-"), row("data", "1h 00m/<1m")];
    assert_eq!(texts(&sorted(&data, "sort:data"), "data"), ["?/5m", "1h 00m/<1m", "5m/2h 30m", "-/-"]);
}

#[test]
fn sort_rows_takes_references() {
    let rows = [row("host", "b"), row("host", "a")];
    let mut refs: Vec<&Row> = rows.iter().collect();
    sort_rows(&mut refs, &[SortKey::asc(Column::Host)]);
    assert_eq!(refs[0].field(Column::Host).unwrap().text, "a");
}

#[test]
fn parses_terms_and_sorts() {
    let q = parse("  pp_last>=20h  healthy=n|- SORT:tc_act:DESC,host note~x|y ").unwrap();
    let summary: Vec<_> =
        q.conditions().iter().map(|c| (c.column, c.op, c.value.as_str(), c.alternatives.len())).collect();
    assert_eq!(
        summary,
        [
            (Column::PpLast, Op::Ge, "20h", 1),
            (Column::Healthy, Op::Eq, "n|-", 2),
            (Column::Note, Op::Contains, "x|y", 1)
        ]
    );
    assert_eq!(q.sort_keys(), [SortKey::desc(Column::TcAct), SortKey::asc(Column::Host)]);
    let ops: &[(&str, Op, &str)] = &[
        ("host=a=b", Op::Eq, "a=b"),
        ("host~a>b", Op::Contains, "a>b"),
        ("host!=a", Op::Ne, "a"),
        ("host<=a", Op::Le, "a"),
        ("host<a", Op::Lt, "a"),
        ("host>a", Op::Gt, "a"),
        ("host=>a", Op::Eq, ">a"),
        ("uptime=<5m", Op::Eq, "<5m"),
    ];
    for (text, op, value) in ops {
        let q = parse(text).unwrap();
        assert_eq!((q.conditions()[0].op, q.conditions()[0].value.as_str()), (*op, *value), "{text}");
    }
    assert!(parse("").unwrap().is_empty());
    assert!(parse(" \t ").unwrap().is_empty());
    assert!(parse("sort:host,,").unwrap().conditions().is_empty());
    assert_eq!(
        parse_sort_spec(" tc_act:desc,HOST ").unwrap(),
        [SortKey::desc(Column::TcAct), SortKey::asc(Column::Host)]
    );
    assert_eq!(parse_sort_spec("").unwrap(), []);
}

/// The named filters the MVP ships (§8.4) parse.
#[test]
fn shipped_filters_parse() {
    for text in [
        "tc_quar=yes sort:tc_act:desc",
        "healthy=n pp_last>20h sort:pp_last:desc",
        "host~t-linux64-ms tc_act>4h data>4h note= sort:host:asc",
    ] {
        assert!(parse(text).is_ok(), "{text}");
    }
}

/// Malformed terms are refused with a message naming the term; §9.1 item 15's
/// `note>` (an empty query in the MVP, which its validation then refused as
/// unrecognized) is refused here for its missing value.
#[test]
fn validation_messages_name_the_term() {
    let cases: &[(&str, &str)] = &[
        ("note>", "missing value in \"note>\": only = and != accept an empty value"),
        ("host~ms uptime<", "missing value in \"uptime<\": only = and != accept an empty value"),
        ("bogus=1", "unknown column: bogus (in \"bogus=1\")"),
        ("host=a sort:bogus:desc", "unknown sort column: bogus (in \"sort:bogus:desc\")"),
        ("sort:host,nope", "unknown sort column: nope (in \"sort:host,nope\")"),
        ("sort:host:up", "bad sort direction up in \"sort:host:up\": use asc or desc"),
        ("sort:", "empty sort in \"sort:\": expected sort:COL[:asc|desc][,COL…]"),
        ("=x", "query unrecognized: \"=x\" has no column before its operator"),
        ("linux", "query unrecognized: \"linux\" has no operator (expected COL OP VALUE, OP one of = != ~ < > <= >=)"),
    ];
    for (query, message) in cases {
        let error = parse(query).unwrap_err();
        assert_eq!(error.to_string(), *message, "{query}");
        assert!(query.contains(error.term()), "{query}");
    }
    assert_eq!(parse_sort_spec("x").unwrap_err().to_string(), "unknown sort column: x (in \"x\")");
}

#[test]
fn columns_have_names_aliases_and_labels() {
    let names: &[(&str, Column)] = &[
        ("sha", Column::OvrBch),
        ("OVR_BCH", Column::OvrBch),
        ("ovr_sha", Column::OvrBch),
        ("tc_j_sf", Column::TcTDur),
        ("Tc_T_Dur", Column::TcTDur),
        ("healthy", Column::Healthy),
        ("health", Column::Healthy),
        ("pool", Column::Pool),
        ("wt_ovr", Column::WtOvr),
        ("status", Column::Status),
        ("override", Column::Override),
        ("mtime", Column::Mtime),
        ("err", Column::Err),
        ("ovr_branch", Column::OvrBranch),
        ("vlt_symlink", Column::VltSymlink),
    ];
    for (name, col) in names {
        assert_eq!(Column::from_name(name), Some(*col), "{name}");
    }
    for name in ["", "bogus", "sort", "hosts"] {
        assert_eq!(Column::from_name(name), None, "{name}");
    }
    for (i, col) in Column::ALL.iter().enumerate() {
        assert_eq!(COLUMNS[i].0, *col);
        assert_eq!(*col as usize, i);
        assert_eq!(Column::from_name(col.key()), Some(*col));
        assert_eq!(Column::from_name(col.label()), Some(*col));
    }
    let labels: Vec<_> = Column::ALL.iter().filter(|c| !c.is_filter_only()).map(|c| c.label()).collect();
    assert_eq!(
        labels,
        [
            "HOST",
            "REACHABLE",
            "OS",
            "ROLE",
            "VLT_SHA",
            "OVR_BCH",
            "UPTIME",
            "PP_LAST",
            "PP_SHA",
            "PP_EXP",
            "PP_MATCH",
            "TC_ACT",
            "PULSE",
            "TC_T_DUR",
            "TC_QUAR",
            "DATA",
            "HEALTHY",
            "NOTE"
        ]
    );
    assert_eq!((Column::OvrBch.key(), Column::TcTDur.key()), ("sha", "tc_j_sf"));
    assert!(Column::Pool.is_filter_only() && Column::Data.is_duration() && !Column::Mtime.is_duration());
}

#[test]
fn filter_only_fields_filter() {
    let r = Row::default().with("wt_ovr", "Y").with("pool", "gecko-t/t-linux-talos-1804");
    assert!(matches("wt_ovr=y pool~talos", &r));
    assert!(!matches("wt_ovr=n", &r));
    assert!(matches("wt_ovr!=-", &r));
    assert!(matches("", &r), "the empty query matches everything");
}

/// A host that failed its last audit is found by `reach`.
#[test]
fn reach_is_queryable() {
    let query = parse("reach!=ok").unwrap();
    assert_eq!(query.conditions()[0].column, Column::Reach);
    assert_eq!(Column::from_name("REACHABLE"), Some(Column::Reach));
}
