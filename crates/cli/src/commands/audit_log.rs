//! `fleetroll audit-log verify|export|import`.

use std::io::{BufRead as _, BufReader, IsTerminal as _, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use fleetroll_core::audit::AuditEntry;
use fleetroll_core::config::Settings;
use fleetroll_store::Store;
use serde_json::json;

use crate::cli::{ExportArgs, ImportArgs, JsonArgs};
use crate::output::print_json;
use crate::settings::open_store;

/// Records fetched per query on export, and appended per transaction on import.
const BATCH: usize = 1_000;
/// Bad lines listed before the rest are only counted.
const BAD_LINES_SHOWN: usize = 20;

pub async fn verify(settings: &Settings, args: &JsonArgs) -> anyhow::Result<ExitCode> {
    let store = open_store(settings).await?;
    let verdict = store.verify_audit().await?;
    store.close().await;
    let (code, report) = match &verdict {
        Ok(chain) => {
            if !args.json {
                println!("audit trail intact: {} record(s), head {}", chain.records, chain.head_hash);
            }
            (ExitCode::SUCCESS, json!({"ok": true, "records": chain.records, "head_hash": chain.head_hash}))
        }
        Err(broken) => {
            if !args.json {
                println!("audit trail BROKEN: {broken}");
            }
            (ExitCode::from(1), json!({"ok": false, "error": broken.to_string()}))
        }
    };
    if args.json {
        print_json(&report)?;
    }
    Ok(code)
}

pub async fn export(settings: &Settings, args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let store = open_store(settings).await?;
    let written = match &args.output {
        None => write_lines(&store, args.after, std::io::stdout().lock()).await,
        Some(path) => export_to_file(&store, args.after, path).await,
    };
    store.close().await;
    match written {
        Err(err) => Err(err),
        Ok(count) => {
            if let Some(path) = &args.output {
                eprintln!("exported {count} record(s) to {}", path.display());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Writes to a temporary file beside `path` and renames it into place, so a
/// failed export never leaves a half-written file under the real name.
async fn export_to_file(store: &Store, after: i64, path: &Path) -> anyhow::Result<u64> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let file = tempfile_in(dir)?;
    let count = write_lines(store, after, std::io::BufWriter::new(file.as_file())).await?;
    file.as_file().sync_all()?;
    file.persist(path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(count)
}

fn tempfile_in(dir: &Path) -> anyhow::Result<tempfile::NamedTempFile> {
    tempfile::Builder::new()
        .prefix(".fleetroll-export-")
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a file in {}", dir.display()))
}

async fn write_lines(store: &Store, mut after: i64, mut out: impl Write) -> anyhow::Result<u64> {
    let mut count = 0;
    loop {
        let page = store.audit_records(after, BATCH as i64).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for record in &page {
            serde_json::to_writer(&mut out, &record.to_mvp_json())?;
            out.write_all(b"\n")?;
        }
        count += page.len() as u64;
    }
    out.flush()?;
    Ok(count)
}

pub async fn import(settings: &Settings, args: &ImportArgs) -> anyhow::Result<ExitCode> {
    let file = std::fs::File::open(&args.file).with_context(|| format!("cannot open {}", args.file.display()))?;
    let store = if args.confirm { Some(open_store(settings).await?) } else { None };
    let mut progress = Progress::new(args.confirm && !args.output.json);
    let mut bad_lines = Vec::new();
    let mut batch = Vec::with_capacity(BATCH);
    let mut imported = 0_u64;
    for (index, line) in BufReader::new(file).split(b'\n').enumerate() {
        let line = line.with_context(|| format!("cannot read {}", args.file.display()))?;
        let parsed = std::str::from_utf8(&line)
            .map_err(|_| "not UTF-8".to_owned())
            .and_then(|text| if text.trim().is_empty() { Ok(None) } else { AuditEntry::from_mvp_json(text).map(Some) });
        match parsed {
            Ok(None) => {}
            Ok(Some(entry)) => batch.push(entry),
            Err(why) => bad_lines.push((index + 1, why)),
        }
        if batch.len() == BATCH {
            imported += append(store.as_ref(), &mut batch).await?;
            progress.show(imported);
        }
    }
    imported += append(store.as_ref(), &mut batch).await?;
    progress.finish();
    if let Some(store) = store {
        store.close().await;
    }
    report_import(args, imported, &bad_lines)?;
    Ok(if bad_lines.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// Appends the batch (in a dry run, only counts it) and empties it.
async fn append(store: Option<&Store>, batch: &mut Vec<AuditEntry>) -> anyhow::Result<u64> {
    let count = batch.len() as u64;
    let entries = std::mem::take(batch);
    if let Some(store) = store {
        store.append_audit(entries).await?;
    }
    Ok(count)
}

fn report_import(args: &ImportArgs, records: u64, bad_lines: &[(usize, String)]) -> anyhow::Result<()> {
    let file = args.file.display();
    if args.output.json {
        let bad: Vec<_> = bad_lines.iter().map(|(line, why)| json!({"line": line, "error": why})).collect();
        return print_json(
            &json!({"dry_run": !args.confirm, "file": file.to_string(), "records": records, "bad_lines": bad}),
        );
    }
    for (line, why) in bad_lines.iter().take(BAD_LINES_SHOWN) {
        eprintln!("{file}:{line}: skipped: {why}");
    }
    if bad_lines.len() > BAD_LINES_SHOWN {
        eprintln!("... and {} more bad line(s)", bad_lines.len() - BAD_LINES_SHOWN);
    }
    if args.confirm {
        println!("imported {records} record(s) from {file}; {} line(s) skipped", bad_lines.len());
    } else {
        println!("DRY RUN: would import {records} record(s) from {file}; {} line(s) would be skipped", bad_lines.len());
        println!("Run again with --confirm to append them to the audit trail.");
    }
    Ok(())
}

/// A one-line counter on stderr, shown only when stderr is a terminal.
struct Progress {
    visible: bool,
}

impl Progress {
    fn new(wanted: bool) -> Progress {
        Progress { visible: wanted && std::io::stderr().is_terminal() }
    }

    fn show(&mut self, done: u64) {
        if self.visible {
            eprint!("\rimporting: {done} record(s) appended");
        }
    }

    fn finish(&mut self) {
        if self.visible {
            eprintln!();
        }
    }
}
