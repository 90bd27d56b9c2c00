//! Benchmark: redrawing the live `fleetroll host-monitor` at 20,000 hosts,
//! which must stay under 16 ms a frame. The real release binary runs in a
//! tmux session over the store `common` generates, with FLEETROLL_LOG=debug
//! so every frame's draw time goes to its log file; keys that redraw
//! (scrolling rows and columns, sorting, the `o`/`O` filters, the help) are
//! sent, then `q`, and the log is read back.
//!
//! `cargo bench -p fleetroll --bench monitor_redraw` prints one line: the
//! frames drawn, their median and 99th-percentile draw time, the same for
//! handling the keys (a sort or filter re-sorts all rows there, never in a
//! frame), and for applying the rows the monitor reloads every second.
//! Needs tmux.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{HOSTS, generate};

/// The terminal: a common full-screen size, about 50 rows in view.
const COLUMNS: &str = "200";
const LINES: &str = "55";

/// How long the first screen may take (reading 20,000 hosts).
const START_WAIT: Duration = Duration::from_secs(60);

/// How long the monitor may take to work through the keys and quit: a
/// slow build draws each key's frame in turn (120 ms a frame before widths
/// were kept by the app), and should still be measured, not killed.
const QUIT_WAIT: Duration = Duration::from_secs(300);

fn main() {
    if !std::env::args().any(|arg| arg == "--bench") {
        return;
    }
    if let Err(why) = Command::new("tmux").arg("-V").output().map_err(|err| err.to_string()).and_then(|output| {
        if output.status.success() { Ok(()) } else { Err(format!("tmux -V exited with {}", output.status)) }
    }) {
        eprintln!("monitor_redraw: skipped, tmux is unavailable ({why})");
        return;
    }
    let temp = tempfile::tempdir().expect("home");
    let home = temp.path().to_owned();
    let list = home.join("fleet.list");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(generate(&home, &list));
    let log = home.join("monitor.log");
    drive(&home, &list, &log);
    let text = std::fs::read_to_string(&log).expect("the monitor's log");
    let draws = field_values(&text, "Drew the monitor", "draw_us=");
    let quiet_draws = draws_outside_reloads(&text);
    let keys = field_values(&text, "Handled a monitor key", "key_us=");
    let reloads = field_values(&text, "Applied new monitor rows", "apply_us=");
    assert!(!draws.is_empty(), "no frame times in {}:\n{text}", log.display());
    println!(
        "monitor_redraw/sqlite {HOSTS} hosts, {COLUMNS}x{LINES}: {} frames, draw median {} / p99 {} \
         ({} outside reloads: median {} / p99 {}); \
         {} keys, handling median {} / p99 {}; {} reloads, applying median {} / max {}",
        draws.len(),
        ms(percentile(&draws, 50)),
        ms(percentile(&draws, 99)),
        quiet_draws.len(),
        ms(percentile(&quiet_draws, 50)),
        ms(percentile(&quiet_draws, 99)),
        keys.len(),
        ms(percentile(&keys, 50)),
        ms(percentile(&keys, 99)),
        reloads.len(),
        ms(percentile(&reloads, 50)),
        ms(percentile(&reloads, 100)),
    );
    if std::env::var("FLEETROLL_BENCH_KEEP").is_ok_and(|v| v == "1") {
        eprintln!("generated home kept at {}", temp.keep().display());
    }
}

/// Runs the monitor in tmux, presses the keys and quits.
fn drive(home: &Path, list: &Path, log: &Path) {
    let socket = home.join("tmux.sock");
    let tmux = |args: &[&str]| -> Output {
        Command::new("tmux").arg("-S").arg(&socket).args(args).output().expect("run tmux")
    };
    let command = shlex::try_join([
        "env",
        "-u",
        "FLEETROLL_DATABASE_URL",
        &format!("FLEETROLL_HOME={}", home.display()),
        "FLEETROLL_LOG=debug",
        &format!("FLEETROLL_LOG_FILE={}", log.display()),
        env!("CARGO_BIN_EXE_fleetroll"),
        "host-monitor",
        list.to_str().expect("a UTF-8 path"),
    ])
    .expect("a shell command");
    let started = tmux(&["new-session", "-d", "-s", "bench", "-x", COLUMNS, "-y", LINES, &command]);
    assert!(started.status.success(), "tmux new-session: {}", String::from_utf8_lossy(&started.stderr));
    let screen = || String::from_utf8_lossy(&tmux(&["capture-pane", "-p", "-t", "bench"]).stdout).into_owned();
    let begun = Instant::now();
    while !screen().contains(&format!("hosts={HOSTS}/{HOSTS}")) {
        assert!(begun.elapsed() < START_WAIT, "the monitor did not show the fleet:\n{}", screen());
        std::thread::sleep(Duration::from_millis(100));
    }
    for key in keys() {
        tmux(&["send-keys", "-t", "bench", key]);
        // Slower than the terminal draws, so each key gets its own frame.
        std::thread::sleep(Duration::from_millis(30));
    }
    tmux(&["send-keys", "-t", "bench", "q"]);
    let quitting = Instant::now();
    while tmux(&["has-session", "-t", "bench"]).status.success() {
        if quitting.elapsed() > QUIT_WAIT {
            tmux(&["kill-server"]);
            panic!("the monitor did not quit on q");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    tmux(&["kill-server"]);
}

/// Row and page scrolling both ways, columns right and back, the sort
/// cycle, the `o` and `O` filters, the help, and the ends of the list.
fn keys() -> Vec<&'static str> {
    let mut keys = Vec::new();
    keys.extend(["j"; 40]);
    keys.extend(["PageDown"; 40]);
    keys.extend(["l"; 10]);
    keys.extend(["k"; 20]);
    keys.extend(["h"; 10]);
    keys.extend(["PageUp"; 20]);
    for _ in 0..3 {
        keys.extend(["s", "PageDown", "PageDown", "j"]);
    }
    keys.extend(["o", "PageDown", "o", "O", "O", "O", "O", "End", "Home", "?", "x"]);
    keys
}

/// The `name=` values of the log lines holding `message`.
fn field_values(log: &str, message: &str, name: &str) -> Vec<u64> {
    let mut values: Vec<u64> = log
        .lines()
        .filter(|line| line.contains(message))
        .filter_map(|line| line.split_whitespace().find_map(|word| word.strip_prefix(name)))
        .filter_map(|value| value.parse().ok())
        .collect();
    values.sort_unstable();
    values
}

/// Draw times of the frames that did not overlap a reload. Once a second
/// the monitor reads the store and builds every row again on all cores; on
/// a 2-core machine a frame drawn meanwhile mostly waits for a core, which
/// says more about the reload than about drawing.
fn draws_outside_reloads(log: &str) -> Vec<u64> {
    let at = |line: &str| {
        let stamp = line.split_whitespace().next()?;
        chrono::DateTime::parse_from_rfc3339(stamp).ok().map(|t| t.timestamp_micros())
    };
    let value = |line: &str, name: &str| -> Option<i64> {
        line.split_whitespace().find_map(|word| word.strip_prefix(name)).and_then(|v| v.parse().ok())
    };
    // Each span is (start, end) in microseconds; a line is logged at its end.
    let span = |line: &str, name: &str, unit: i64| Some((at(line)? - value(line, name)? * unit, at(line)?));
    let reloads: Vec<(i64, i64)> = log
        .lines()
        .filter(|l| l.contains("Read the monitor's rows"))
        .filter_map(|l| span(l, "total_ms=", 1000))
        .collect();
    let mut quiet: Vec<u64> = log
        .lines()
        .filter(|l| l.contains("Drew the monitor"))
        .filter_map(|l| span(l, "draw_us=", 1))
        .filter(|&(start, end)| reloads.iter().all(|&(from, to)| end < from || start > to))
        .filter_map(|(start, end)| u64::try_from(end - start).ok())
        .collect();
    quiet.sort_unstable();
    quiet
}

/// The `pct`-th percentile of sorted microseconds (nearest rank).
fn percentile(sorted: &[u64], pct: usize) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (sorted.len() * pct).div_ceil(100).max(1);
    sorted[rank - 1]
}

fn ms(micros: u64) -> String {
    format!("{:.2} ms", micros as f64 / 1000.0)
}
