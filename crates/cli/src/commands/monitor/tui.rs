//! The live monitor's terminal: entering and restoring it (on exit, on
//! error and on panic), reading keys, reloading rows from the store every
//! second and redrawing, and the files around it (`files.rs`): the filter
//! history, saved filters, and the log file that takes log lines while the
//! screen is ours. Decisions live in `app.rs`, drawing in `view.rs`.
//!
//! Keys, reloads and the clock are three sources the loop waits on; the
//! reload runs in a task of its own, so a slow read of a large fleet never
//! delays a key (reading 20,000 hosts takes about a second).

mod files;

use std::io::{BufWriter, Stdout};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use fleetroll_core::config::Settings;
use fleetroll_store::Store;
use ratatui::Terminal;
use ratatui::crossterm::event::{self, Event, KeyEventKind};
use ratatui::prelude::CrosstermBackend;
use tokio::sync::mpsc;

use super::app::{Action, App};
use super::view::{self, page_rows};

/// How often rows are reloaded and ages redrawn.
const REFRESH: Duration = Duration::from_secs(1);

/// Room for a whole frame, so each reaches the terminal in one write.
/// Standard output alone is line-buffered with 1 KiB and a frame has no
/// newlines: a full 160×40 repaint went out in a dozen writes, and a
/// terminal that drew between them showed half of the new frame.
const FRAME_BUFFER: usize = 256 * 1024;

/// The terminal, writing through [`FRAME_BUFFER`].
type Screen = Terminal<CrosstermBackend<BufWriter<Stdout>>>;

/// Runs the app until the user quits. The terminal is restored however
/// this ends; ratatui's panic hook restores it on a panic too.
pub async fn run(settings: &Settings, store: &Store, hosts: &[String], mut app: App) -> anyhow::Result<()> {
    let _logs = LogsToFile::start(&settings.home, &mut app);
    match files::load_history(&files::history_path(&settings.home)) {
        Ok(history) => app.set_history(history),
        Err(err) => app.say_problem(format!("{err:#}")),
    }
    // try_init enters raw mode and the alternate screen and installs the
    // panic hook that restores them; its own unbuffered terminal is not kept.
    let terminal = match ratatui::try_init().and_then(|_| buffered_terminal()) {
        Ok(terminal) => terminal,
        Err(err) => {
            // try_init may have enabled raw mode before failing.
            ratatui::restore();
            return Err(err).context("cannot set up the terminal");
        }
    };
    let outcome = event_loop(terminal, settings, store, hosts, app).await;
    ratatui::restore();
    outcome
}

fn buffered_terminal() -> std::io::Result<Screen> {
    Terminal::new(CrosstermBackend::new(BufWriter::with_capacity(FRAME_BUFFER, std::io::stdout())))
}

async fn event_loop(
    mut terminal: Screen,
    settings: &Settings,
    store: &Store,
    hosts: &[String],
    mut app: App,
) -> anyhow::Result<()> {
    let mut events = spawn_event_reader();
    let mut snapshots = spawn_reloader(settings.clone(), store.clone(), hosts.to_vec());
    let mut ticker = tokio::time::interval(REFRESH);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        draw(&mut terminal, &mut app)?;
        tokio::select! {
            event = events.recv() => match event {
                Some(Ok(Event::Key(key))) if key.kind != KeyEventKind::Release => {
                    let started = Instant::now();
                    match app.update(key) {
                        Action::Quit => return Ok(()),
                        Action::OpenPicker => {
                            let (saved, problems) = files::saved_filters(&settings.monitor.filters_dir);
                            app.open_picker(saved, &problems);
                        }
                        Action::Continue => {}
                    }
                    save_history_if_changed(settings, &mut app);
                    tracing::debug!(key_us = started.elapsed().as_micros(), "Handled a monitor key");
                }
                // Resizes and other events just redraw.
                Some(Ok(_)) => {}
                Some(Err(err)) => return Err(err).context("cannot read the terminal"),
                None => return Ok(()),
            },
            Some(snapshot) = snapshots.recv() => match snapshot {
                Ok(snapshot) => {
                    // Filtering, sorting and measuring every row happens here, once a
                    // second, not in a frame; keys wait for it, so it is logged too.
                    let started = Instant::now();
                    let old = app.set_snapshot(snapshot);
                    tracing::debug!(apply_us = started.elapsed().as_micros(), "Applied new monitor rows");
                    // Freeing 20,000 rows would hold the next key for ~10 ms.
                    tokio::task::spawn_blocking(move || drop(old));
                }
                // The old rows stay; the next read may well succeed (a locked database).
                Err(err) => app.say_error(format!("cannot reload: {err:#}")),
            },
            // Ages keep ticking between reloads.
            _ = ticker.tick() => app.tick(),
        }
    }
}

/// Draws a frame and logs how long it took (FLEETROLL_LOG=debug), which
/// `benches/monitor_redraw.rs` reads back: at 20,000 hosts a frame must stay
/// under 16 ms.
fn draw(terminal: &mut Screen, app: &mut App) -> anyhow::Result<()> {
    let started = Instant::now();
    let size = terminal.size().context("cannot read the terminal size")?;
    app.set_page(page_rows(app, size.width, size.height));
    terminal.draw(|frame| view::view(app, frame)).context("cannot draw")?;
    tracing::debug!(draw_us = started.elapsed().as_micros(), shown = app.shown_len(), "Drew the monitor");
    Ok(())
}

/// The history is saved as it changes, so a crash or a kill loses nothing.
fn save_history_if_changed(settings: &Settings, app: &mut App) {
    if app.take_history_change()
        && let Err(err) = files::save_history(&files::history_path(&settings.home), app.history())
    {
        app.say_problem(format!("{err:#}"));
    }
}

/// Log lines go to a file while the monitor owns the terminal (they would
/// draw over its screen) and back to stderr when it is dropped.
struct LogsToFile;

impl LogsToFile {
    fn start(home: &std::path::Path, app: &mut App) -> LogsToFile {
        let path = files::log_path(home);
        match files::open_log(&path) {
            Ok(file) => crate::redirect_logs(Some(Box::new(file))),
            Err(err) => {
                app.say_problem(format!("{err:#}; log lines are dropped"));
                crate::redirect_logs(Some(Box::new(std::io::sink())));
            }
        }
        LogsToFile
    }
}

impl Drop for LogsToFile {
    fn drop(&mut self) {
        crate::redirect_logs(None);
    }
}

/// Reads the rows again and again, a second apart, in a task of its own;
/// it ends when the loop drops the receiver.
fn spawn_reloader(
    settings: Settings,
    store: Store,
    hosts: Vec<String>,
) -> mpsc::Receiver<anyhow::Result<super::app::Snapshot>> {
    let (sender, receiver) = mpsc::channel(1);
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(REFRESH).await;
            let snapshot = super::read_snapshot(&settings, &store, &hosts, true).await;
            if sender.send(snapshot).await.is_err() {
                return;
            }
        }
    });
    receiver
}

/// Terminal events from a thread of their own, since crossterm's reads
/// block; the thread ends when the loop drops the receiver.
fn spawn_event_reader() -> mpsc::Receiver<std::io::Result<Event>> {
    let (sender, receiver) = mpsc::channel(64);
    std::thread::spawn(move || {
        loop {
            let event = event::read();
            let failed = event.is_err();
            if sender.blocking_send(event).is_err() || failed {
                return;
            }
        }
    });
    receiver
}
