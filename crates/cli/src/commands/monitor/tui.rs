//! The live monitor's terminal: entering and restoring it (on exit, on
//! error and on panic), reading keys, reloading rows from the store every
//! second and redrawing. Decisions live in `app.rs`, drawing in `view.rs`.

use std::time::Duration;

use anyhow::Context as _;
use fleetroll_core::config::Settings;
use fleetroll_store::Store;
use ratatui::DefaultTerminal;
use ratatui::crossterm::event::{self, Event, KeyEventKind};
use tokio::sync::mpsc;

use super::app::{Action, App};
use super::view::{self, page_rows};

/// How often rows are reloaded and ages redrawn.
const REFRESH: Duration = Duration::from_secs(1);

/// Runs the app until the user quits. The terminal is restored however
/// this ends; ratatui's panic hook restores it on a panic too.
pub async fn run(settings: &Settings, store: &Store, hosts: &[String], app: App) -> anyhow::Result<()> {
    let terminal = match ratatui::try_init() {
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

async fn event_loop(
    mut terminal: DefaultTerminal,
    settings: &Settings,
    store: &Store,
    hosts: &[String],
    mut app: App,
) -> anyhow::Result<()> {
    let mut events = spawn_event_reader();
    let mut ticker = tokio::time::interval(REFRESH);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let size = terminal.size().context("cannot read the terminal size")?;
        app.set_page(page_rows(size.height));
        terminal.draw(|frame| view::view(&app, frame)).context("cannot draw")?;
        tokio::select! {
            event = events.recv() => match event {
                Some(Ok(Event::Key(key))) if key.kind != KeyEventKind::Release => {
                    if app.update(key) == Action::Quit {
                        return Ok(());
                    }
                }
                // Resizes and other events just redraw.
                Some(Ok(_)) => {}
                Some(Err(err)) => return Err(err).context("cannot read the terminal"),
                None => return Ok(()),
            },
            _ = ticker.tick() => reload(settings, store, hosts, &mut app).await,
        }
    }
}

/// New rows from the store; a failed read keeps the old rows and says why,
/// since the next second may well succeed (e.g. a locked database).
async fn reload(settings: &Settings, store: &Store, hosts: &[String], app: &mut App) {
    app.tick();
    match super::read_snapshot(settings, store, hosts).await {
        Ok(snapshot) => app.set_snapshot(snapshot),
        Err(err) => app.say_error(format!("cannot reload: {err:#}")),
    }
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
