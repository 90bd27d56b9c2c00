//! Applying a change (write a file, remove it, run Puppet) to many hosts:
//! the same bounded fan-out and deadline as audits, one result per host.

use std::sync::Arc;
use std::time::Duration;

use fleetroll_core::changes::{self, ChangeOutcome, PuppetRun, WriteSpec};
use fleetroll_core::gather::{Failure, FailureClass};
use fleetroll_core::hosts::is_windows_host;
use fleetroll_core::script::unix_command;
use tokio::time::Instant;

use crate::fanout::{Outcome, fan_out};
use crate::ssh::{self, SshSettings};

/// What to do on every host.
#[derive(Clone, Debug)]
pub enum Change {
    /// Install `contents` as `spec` says.
    Write { spec: WriteSpec, contents: Arc<[u8]> },
    /// Remove the file, with a backup if asked.
    Remove { linux_path: String, darwin_path: String, backup: bool },
    /// Run the Puppet wrapper once.
    RunPuppet { wrapper: String },
}

/// What happened on one host.
#[derive(Clone, Debug)]
pub enum HostChange {
    File(ChangeOutcome),
    Puppet(PuppetRun),
    /// Not attempted, and why (Windows hosts are not changed over SSH).
    Skipped(String),
}

impl HostChange {
    pub fn is_ok(&self) -> bool {
        match self {
            HostChange::File(outcome) => outcome.is_ok(),
            HostChange::Puppet(run) => run.ok,
            HostChange::Skipped(_) => true,
        }
    }

    pub fn failure(&self) -> Option<&Failure> {
        match self {
            HostChange::File(ChangeOutcome::Failed(failure)) => Some(failure),
            HostChange::Puppet(run) => run.failure.as_ref(),
            _ => None,
        }
    }
}

/// One host's result.
#[derive(Clone, Debug)]
pub struct ChangeReport {
    pub host: String,
    pub result: HostChange,
    pub ssh_rc: Option<i32>,
    pub duration: Duration,
}

/// Applies `change` to `hosts`, `workers` at a time; `on_start` and
/// `on_done` let a caller show live progress.
pub async fn apply(
    hosts: &[String],
    change: &Change,
    ssh_settings: &SshSettings,
    workers: usize,
    batch_timeout: Duration,
    mut on_done: impl FnMut(&ChangeReport),
) -> Vec<ChangeReport> {
    let change = Arc::new(change.clone());
    let ssh_settings = Arc::new(ssh_settings.clone());
    let command: Arc<str> = command_for(&change).into();
    let deadline = Instant::now() + batch_timeout;
    let outcomes = fan_out(
        hosts,
        workers,
        deadline,
        |host, time_left| apply_one(host, time_left, change.clone(), ssh_settings.clone(), command.clone()),
        |_, outcome| {
            if let Outcome::Ran(report) = outcome {
                on_done(report);
            }
        },
    )
    .await;
    hosts
        .iter()
        .zip(outcomes)
        .map(|(host, outcome)| match outcome {
            Outcome::Ran(report) => report,
            Outcome::NotStarted => ChangeReport {
                host: host.clone(),
                result: not_started(&change, batch_timeout),
                ssh_rc: None,
                duration: Duration::ZERO,
            },
        })
        .collect()
}

fn command_for(change: &Change) -> String {
    match change {
        Change::Write { spec, .. } => unix_command(&changes::write_script(spec)),
        Change::Remove { linux_path, darwin_path, backup } => {
            unix_command(&changes::remove_script(linux_path, darwin_path, *backup))
        }
        Change::RunPuppet { wrapper } => changes::run_puppet_command(wrapper),
    }
}

fn not_started(change: &Change, batch_timeout: Duration) -> HostChange {
    let failure = Failure {
        class: FailureClass::Timeout,
        message: format!(
            "the batch deadline ({} s) passed before this host's turn; nothing was changed",
            batch_timeout.as_secs()
        ),
    };
    match change {
        Change::RunPuppet { .. } => HostChange::Puppet(PuppetRun {
            puppet_exit: None,
            ok: false,
            changes_applied: false,
            output: String::new(),
            failure: Some(failure),
        }),
        _ => HostChange::File(ChangeOutcome::Failed(failure)),
    }
}

async fn apply_one(
    host: String,
    time_left: Duration,
    change: Arc<Change>,
    ssh_settings: Arc<SshSettings>,
    command: Arc<str>,
) -> ChangeReport {
    let started = Instant::now();
    if is_windows_host(&host) {
        let why = "Windows hosts are not changed over SSH; skipped".to_owned();
        return ChangeReport { host, result: HostChange::Skipped(why), ssh_rc: None, duration: Duration::ZERO };
    }
    let timeout = ssh_settings.timeout.min(time_left);
    let description = format!("{} s", timeout.as_secs());
    let (raw, result) = match change.as_ref() {
        Change::Write { contents, .. } => {
            let raw = ssh::run(&ssh_settings, &host, &command, Some(contents), timeout).await;
            let outcome = changes::parse_change(&raw, &description);
            (raw, HostChange::File(outcome))
        }
        Change::Remove { .. } => {
            let raw = ssh::run(&ssh_settings, &host, &command, None, timeout).await;
            let outcome = changes::parse_change(&raw, &description);
            (raw, HostChange::File(outcome))
        }
        Change::RunPuppet { .. } => {
            // A terminal on the host, as the wrapper expects (-tt: ours has none).
            let mut with_tty = (*ssh_settings).clone();
            with_tty.options.insert(0, "-tt".to_owned());
            let raw = ssh::run(&with_tty, &host, &command, None, timeout).await;
            let run = changes::parse_puppet_run(&raw, &description);
            (raw, HostChange::Puppet(run))
        }
    };
    ChangeReport { host, result, ssh_rc: raw.exit_code, duration: started.elapsed() }
}
