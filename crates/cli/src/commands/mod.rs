//! One module per subcommand; each takes its arguments and the settings.

mod audit_log;
pub mod client;
mod config;
mod debug_script;
mod freshness;
mod gather_host;
mod host_change;
mod http;
pub mod job;
pub mod liveness;
mod maintain;
mod monitor;
mod notes;
pub mod serve;
mod show_content;
mod status;
pub mod taskcluster;
pub mod tree;

use std::process::ExitCode;

use crate::cli::{AuditLogCommand, Cli, Command, ConfigCommand};
use crate::settings;

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Command::Config(ConfigCommand::Default) = cli.command {
        print!("{}", settings::EXAMPLE_CONFIG);
        return Ok(ExitCode::SUCCESS);
    }
    let settings = settings::load(&cli.global)?;
    match cli.command {
        Command::GatherHost(args) => gather_host::run(&settings, &args).await,
        Command::ShowOverride(args) => show_content::run(&show_content::overrides(&settings), &args),
        Command::ShowVault(args) => show_content::run(&show_content::vaults(&settings), &args),
        Command::DebugHostScript(args) => debug_script::run(&settings, &args),
        Command::HostSetOverride(args) => host_change::set_override(&settings, &args).await,
        Command::HostSetVault(args) => host_change::set_vault(&settings, &args).await,
        Command::HostUnsetOverride(args) => host_change::unset_override(&settings, &args).await,
        Command::HostRunPuppet(args) => host_change::run_puppet(&settings, &args).await,
        Command::GatherTc(args) => taskcluster::gather_tc(&settings, &args).await,
        Command::GatherGh(args) => taskcluster::gather_gh(&settings, &args).await,
        Command::Gather(args) => taskcluster::gather(&settings, &args).await,
        Command::Quarantine(args) => taskcluster::quarantine(&settings, &args, false).await,
        Command::Unquarantine(args) => taskcluster::quarantine(&settings, &args, true).await,
        Command::Status(args) => status::run(&settings, &args).await,
        Command::NoteAdd(args) => notes::add(&settings, &args).await,
        Command::NoteClear(args) => notes::clear(&settings, &args).await,
        Command::ShowNotes(args) => notes::show(&settings, &args).await,
        Command::HostMonitor(args) => monitor::run(&settings, &args).await,
        Command::Client(command) => client::run(&settings, &command).await,
        Command::Tree(args) => tree::run(&settings, &args).await,
        Command::Serve(args) => serve::run(&settings, &args).await,
        Command::PulseListen(args) => liveness::pulse_listen(&settings, &args).await,
        Command::Machines(command) => liveness::machines(&settings, &command).await,
        Command::Job(args) => job::run(&settings, &args).await,
        Command::Worker(args) => job::worker(&settings, &args).await,
        Command::DataFreshness(args) => freshness::run(&settings, &args).await,
        Command::Maintain(args) => maintain::run(&settings, &args).await,
        Command::AuditLog(AuditLogCommand::Verify(args)) => audit_log::verify(&settings, &args).await,
        Command::AuditLog(AuditLogCommand::Export(args)) => audit_log::export(&settings, &args).await,
        Command::AuditLog(AuditLogCommand::Import(args)) => audit_log::import(&settings, &args).await,
        Command::Config(ConfigCommand::Show(args)) => config::show(&settings, &args),
        Command::Config(ConfigCommand::Default) => unreachable!("handled before loading settings"),
    }
}

/// Whether `command` stops on its own signals rather than at once on Ctrl-C.
pub fn handles_interrupt(command: &Command) -> bool {
    matches!(command, Command::Serve(_) | Command::PulseListen(_) | Command::Worker(_))
}

/// The actor recorded in the audit trail for changes made by this process.
fn actor() -> String {
    fleetroll_core::actor::infer(|name| std::env::var(name).ok())
}
