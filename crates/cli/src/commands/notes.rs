//! `note-add`, `note-clear`, `show-notes`.

use std::process::ExitCode;

use chrono::Utc;
use fleetroll_core::config::Settings;
use fleetroll_core::notes::{NoteKind, NoteRecord, since_last_clear, validate_host};

use crate::cli::{NoteAddArgs, NoteClearArgs, ShowNotesArgs};
use crate::output::print_json;
use crate::settings::open_store;

pub async fn add(settings: &Settings, args: &NoteAddArgs) -> anyhow::Result<ExitCode> {
    let kind = NoteKind::Add { note: args.text.clone() };
    append(settings, &args.host, kind, args.output.json).await
}

pub async fn clear(settings: &Settings, args: &NoteClearArgs) -> anyhow::Result<ExitCode> {
    let kind = NoteKind::Clear { reason: args.reason.clone() };
    append(settings, &args.host, kind, args.output.json).await
}

async fn append(settings: &Settings, host: &str, kind: NoteKind, json: bool) -> anyhow::Result<ExitCode> {
    validate_host(host).map_err(anyhow::Error::msg)?;
    let record = NoteRecord { host: host.to_owned(), ts: Utc::now(), actor: super::actor(), kind };
    let store = open_store(settings).await?;
    store.add_note(&record).await?;
    store.close().await;
    if json {
        print_json(&record)?;
    } else {
        println!("{}", line(&record));
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn show(settings: &Settings, args: &ShowNotesArgs) -> anyhow::Result<ExitCode> {
    validate_host(&args.host).map_err(anyhow::Error::msg)?;
    let store = open_store(settings).await?;
    let mut notes = store.notes().await?;
    store.close().await;
    let all = notes.remove(&args.host).unwrap_or_default();
    let shown = if args.include_cleared { &all[..] } else { since_last_clear(&all) };
    let shown = &shown[shown.len().saturating_sub(args.limit.unwrap_or(usize::MAX))..];
    if args.output.json {
        print_json(&shown)?;
    } else if shown.is_empty() {
        println!("No notes for {}", args.host);
    } else {
        for record in shown {
            println!("{}", line(record));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `[ts] (actor) note` or `[ts] (actor) [CLEARED] (reason)`, as the MVP.
fn line(record: &NoteRecord) -> String {
    let ts = fleetroll_core::time::to_mvp(record.ts);
    match &record.kind {
        NoteKind::Add { note } => format!("[{ts}] ({}) {note}", record.actor),
        NoteKind::Clear { reason } => {
            format!("[{ts}] ({}) [CLEARED] ({})", record.actor, reason.as_deref().unwrap_or("no reason given"))
        }
    }
}
