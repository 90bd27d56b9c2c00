//! The command line: every subcommand and flag, with its help.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "fleetroll",
    version,
    about = "Know, change and fix a fleet of long-lived CI hardware hosts.",
    long_about = "Know, change and fix a fleet of long-lived CI hardware hosts.\n\n\
        Data lives in ~/.fleetroll (or $FLEETROLL_HOME): the SQLite store fleetroll.db and config.toml.\n\
        Settings come from, lowest first: defaults, config.toml, FLEETROLL_* environment variables, flags.\n\n\
        Exit codes: 0 success; 1 the command ran but found or caused failures; 2 usage or fatal error; 130 interrupted."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every subcommand takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Directory holding fleetroll.db, config.toml and stored contents [default: ~/.fleetroll]
    #[arg(long, global = true, env = "FLEETROLL_HOME", value_name = "DIR")]
    pub home: Option<PathBuf>,

    /// Store to use: sqlite://PATH or postgres://USER@HOST/DB [default: sqlite in the home directory]
    #[arg(long, global = true, env = "FLEETROLL_DATABASE_URL", value_name = "URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Records kept per host, branch or pool (the newest good observation of a host is always kept too) [default: 10]
    #[arg(long, global = true, env = "FLEETROLL_RETENTION", value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub retention: Option<u32>,

    /// Log debug detail to stderr (or set FLEETROLL_LOG, e.g. FLEETROLL_LOG=fleetroll=trace)
    #[arg(long, short = 'd', global = true)]
    pub debug: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show where data lives and what the store holds.
    Status(JsonArgs),
    /// Compact the store (SQLite: WAL checkpoint and VACUUM; PostgreSQL: VACUUM ANALYZE).
    ///
    /// A dry run unless --confirm: it then only measures and lists the steps.
    Maintain(MaintainArgs),
    /// Verify, export or import the audit trail of every change.
    #[command(subcommand)]
    AuditLog(AuditLogCommand),
    /// Show the configuration in force, or print an example config.toml.
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Debug, Args)]
pub struct JsonArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct MaintainArgs {
    /// Really compact; without it, report what would be done.
    #[arg(long)]
    pub confirm: bool,
    #[command(flatten)]
    pub output: JsonArgs,
}

#[derive(Debug, Subcommand)]
pub enum AuditLogCommand {
    /// Check every record's hash and link; exit 1 if the chain is broken.
    ///
    /// Prints the newest record's hash: keep it elsewhere to detect later a
    /// trail rewritten from scratch.
    Verify(JsonArgs),
    /// Write the trail as JSONL in the MVP's record format (one record per line).
    Export(ExportArgs),
    /// Append the records of an MVP audit.jsonl (or of an export) to the trail.
    ///
    /// A dry run unless --confirm. Lines that are blank are skipped; lines that
    /// do not parse are reported with their number and skipped (exit 1).
    /// Importing the same file twice appends its records twice.
    Import(ImportArgs),
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Write here instead of stdout (replaced atomically).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Only records after this sequence number.
    #[arg(long, value_name = "SEQ", default_value_t = 0)]
    pub after: i64,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The JSONL file to import (e.g. ~/.fleetroll/audit.jsonl).
    pub file: PathBuf,
    /// Really append; without it, only parse and count.
    #[arg(long)]
    pub confirm: bool,
    #[command(flatten)]
    pub output: JsonArgs,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the settings in force (secrets hidden).
    Show(JsonArgs),
    /// Print an example config.toml with every key and its default.
    Default,
}
