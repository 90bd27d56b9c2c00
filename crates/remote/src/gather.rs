//! `gather-host`: audit hosts over SSH and record what they run.
//!
//! Every host gets one SSH connection running the audit script; its output
//! is parsed by `fleetroll_core::gather`, and the observation, the override
//! contents and any vault we did not hold yet are stored as results arrive,
//! in batches, so a long run interrupted halfway keeps what it learned.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use fleetroll_core::gather::{Audit, Failure, FailureClass, Observed, RawAudit, parse_audit};
use fleetroll_core::hosts::is_windows_host;
use fleetroll_core::records::HostObservation;
use fleetroll_core::script::{self, Profile, ScriptOptions};
use fleetroll_store::Store;
use fleetroll_store::content::{ContentError, ContentStore};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::fanout::{Outcome, fan_out};
use crate::ssh::{self, SshSettings};

/// Observations written per store transaction while a batch runs.
const WRITE_BATCH: usize = 200;

/// How to gather.
#[derive(Clone, Debug)]
pub struct GatherSettings {
    pub ssh: SshSettings,
    /// Hosts audited at once.
    pub workers: usize,
    /// No host is started after this much time; running ones are cut off.
    pub batch_timeout: Duration,
    /// Fetch the override file's contents.
    pub with_content: bool,
    pub profile: Profile,
}

/// Where results go.
#[derive(Debug)]
pub struct Sinks<'a> {
    pub store: &'a Store,
    pub overrides: &'a ContentStore,
    pub vaults: &'a ContentStore,
}

/// One host's result.
#[derive(Clone, Debug)]
pub struct HostReport {
    pub host: String,
    pub audit: Audit,
    pub ssh_rc: Option<i32>,
    pub duration: Duration,
    /// Where the override contents were stored.
    pub override_path: Option<PathBuf>,
    /// Where a newly fetched vault was stored.
    pub vault_path: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum GatherError {
    #[error("cannot record observations: {0}")]
    Store(#[from] fleetroll_store::StoreError),
    #[error(transparent)]
    Content(#[from] ContentError),
}

/// The commands sent to hosts, built once per batch.
struct Commands {
    unix: String,
    windows: String,
}

/// Audits `hosts` and records the results. `on_done(host, ok)` is called as
/// each host finishes, for progress displays.
pub async fn gather_hosts(
    hosts: &[String],
    settings: &GatherSettings,
    sinks: &Sinks<'_>,
    mut on_done: impl FnMut(&str, bool),
) -> Result<Vec<HostReport>, GatherError> {
    let options = ScriptOptions { with_content: settings.with_content, known_vault_shas: sinks.vaults.known_shas() };
    let commands = Arc::new(Commands {
        unix: script::unix_command(&script::unix_script(&settings.profile, &options)),
        windows: script::windows_command(&script::windows_script()),
    });
    let ssh_settings = Arc::new(settings.ssh.clone());
    let deadline = Instant::now() + settings.batch_timeout;
    let (sender, receiver) = mpsc::channel::<HostReport>(WRITE_BATCH * 2);
    let writer = write_as_they_come(receiver, sinks);
    let run_all = async {
        let outcomes = fan_out(
            hosts,
            settings.workers,
            deadline,
            |host, time_left| audit_one(host, time_left, ssh_settings.clone(), commands.clone(), sender.clone()),
            |host, outcome| on_done(host, matches!(outcome, Outcome::Ran(true))),
        )
        .await;
        for (host, outcome) in hosts.iter().zip(&outcomes) {
            if let Outcome::NotStarted = outcome {
                // The receiver lives until this loop ends; a send cannot fail.
                let _ = sender.send(not_started(host, settings.batch_timeout)).await;
            }
        }
        drop(sender);
    };
    let ((), written) = tokio::join!(run_all, writer);
    let mut reports = written?;
    let order: std::collections::HashMap<&str, usize> =
        hosts.iter().enumerate().map(|(i, h)| (h.as_str(), i)).collect();
    reports.sort_by_key(|report| order.get(report.host.as_str()).copied().unwrap_or(usize::MAX));
    Ok(reports)
}

/// Runs the audit on one host and hands the report to the writer; returns
/// whether the audit succeeded.
async fn audit_one(
    host: String,
    time_left: Duration,
    ssh_settings: Arc<SshSettings>,
    commands: Arc<Commands>,
    sender: mpsc::Sender<HostReport>,
) -> bool {
    let started = Instant::now();
    let (destination, command) = if is_windows_host(&host) {
        let destination = if host.contains('@') { host.clone() } else { format!("administrator@{host}") };
        (destination, commands.windows.as_str())
    } else {
        (host.clone(), commands.unix.as_str())
    };
    let timeout = ssh_settings.timeout.min(time_left);
    let raw = ssh::run(&ssh_settings, &destination, command, None, timeout).await;
    let audit = parse_audit(&raw, &format!("{} s", timeout.as_secs()));
    let ok = audit.is_ok();
    let report = HostReport {
        host,
        audit,
        ssh_rc: raw.exit_code,
        duration: started.elapsed(),
        override_path: None,
        vault_path: None,
    };
    let _ = sender.send(report).await;
    ok
}

fn not_started(host: &str, batch_timeout: Duration) -> HostReport {
    let raw = RawAudit { exit_code: None, timed_out: true, ..RawAudit::default() };
    let mut audit = parse_audit(&raw, "");
    audit.failure = Some(Failure {
        class: FailureClass::Timeout,
        message: format!("the batch deadline ({} s) passed before this host's turn", batch_timeout.as_secs()),
    });
    HostReport {
        host: host.to_owned(),
        audit,
        ssh_rc: None,
        duration: Duration::ZERO,
        override_path: None,
        vault_path: None,
    }
}

/// Stores contents and observations as reports arrive, `WRITE_BATCH` at a
/// time, and returns every report.
async fn write_as_they_come(
    mut receiver: mpsc::Receiver<HostReport>,
    sinks: &Sinks<'_>,
) -> Result<Vec<HostReport>, GatherError> {
    let mut reports = Vec::new();
    let mut pending = Vec::with_capacity(WRITE_BATCH);
    let mut failed: Option<GatherError> = None;
    while let Some(mut report) = receiver.recv().await {
        if failed.is_none() {
            match store_contents(&mut report, sinks) {
                Ok(()) => pending.push(observation_of(&report)),
                Err(err) => failed = Some(err.into()),
            }
        }
        reports.push(report);
        if pending.len() >= WRITE_BATCH && failed.is_none() {
            // Keep draining the channel after a failure so the hosts' tasks
            // finish; the error is returned once they have.
            if let Err(err) = sinks.store.put(&pending).await {
                failed = Some(err.into());
            }
            pending.clear();
        }
    }
    if let Some(err) = failed {
        return Err(err);
    }
    sinks.store.put(&pending).await?;
    Ok(reports)
}

fn store_contents(report: &mut HostReport, sinks: &Sinks<'_>) -> Result<(), ContentError> {
    if let Some(content) = &report.audit.override_content {
        report.override_path = Some(sinks.overrides.put(content)?);
    }
    if let Some(content) = &report.audit.vault_content {
        report.vault_path = Some(sinks.vaults.put(content)?);
    }
    Ok(())
}

fn observation_of(report: &HostReport) -> HostObservation {
    let observed: &Observed = &report.audit.observed;
    HostObservation {
        host: report.host.clone(),
        ts: Utc::now(),
        ok: report.audit.is_ok(),
        observed: serde_json::to_value(observed).expect("observations serialise"),
        ssh_rc: report.ssh_rc,
        failure: report.audit.failure.clone(),
    }
}
