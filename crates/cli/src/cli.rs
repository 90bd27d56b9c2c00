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
    /// Audit hosts over SSH: role, override, vault, Puppet state, uptime.
    ///
    /// HOST_OR_FILE is one host, or a host list file (one host per line, `#`
    /// comments, `# fqdn: .suffix` to complete short names). Each host gets one
    /// SSH connection (the system ssh, so ~/.ssh/config applies). Results are
    /// stored as observations; override contents go to overrides/ and vaults
    /// not seen before to vault_yamls/ (mode 0600) in the home directory.
    /// Every failure is recorded, classed as connection, auth, timeout, remote
    /// or protocol. Exit 1 if any host failed.
    GatherHost(GatherHostArgs),
    /// Fetch the hosts' Taskcluster workers (last active, quarantine, latest task) and store them.
    ///
    /// Each host's pool comes from its stored role (the role→pool table;
    /// `[taskcluster.roles]` in config.toml adds to it), Windows pools from the
    /// worker-types list, and WORKER_TYPE_OVERRIDE from its stored override.
    /// Then gather-gh runs (at most hourly) unless --no-gh. Exit 1 on problems.
    GatherTc(crate::commands::taskcluster::GatherTcArgs),
    /// Fetch the Puppet repository's branch heads (and those of stored overrides) and Windows pool hashes.
    GatherGh(crate::commands::taskcluster::GatherGhArgs),
    /// gather-host, then gather-tc, then gather-gh.
    Gather(crate::commands::taskcluster::GatherArgs),
    /// Quarantine hosts' workers in Taskcluster (a dry run unless --confirm; audited).
    Quarantine(crate::commands::taskcluster::QuarantineArgs),
    /// Lift hosts' Taskcluster quarantine (a dry run unless --confirm; audited).
    Unquarantine(crate::commands::taskcluster::QuarantineArgs),
    /// Print a stored override by SHA-256 prefix or 2-word human hash.
    ShowOverride(ShowArgs),
    /// Print a stored vault by SHA-256 prefix, 2-word human hash or symlink name.
    ShowVault(ShowArgs),
    /// Print the remote audit script that gather-host runs.
    DebugHostScript(DebugScriptArgs),
    /// Install an override file (ronin_settings) on hosts: validated, atomic, backed up, audited.
    ///
    /// A dry run unless --confirm, for one host too: it shows the hosts, the
    /// file and its checks. Refused before any host is touched if the file
    /// fails `bash -n` or a rule (PUPPET_REPO, PUPPET_BRANCH, PUPPET_MAIL,
    /// WORKER_TYPE_OVERRIDE; exit 1). Hosts that already have an override are
    /// refused unless --force; hosts already running this file are skipped
    /// unless --ignore-state. Each host's result goes to the audit trail; the
    /// hosts are re-audited afterwards unless --no-audit.
    HostSetOverride(SetFileArgs),
    /// Install a vault (vault.yaml) on hosts; its contents are never shown or recorded.
    ///
    /// A dry run unless --confirm. The YAML must parse. A local copy is kept in
    /// vault_yamls/ (mode 0600). An existing vault is replaced (with a backup).
    HostSetVault(SetFileArgs),
    /// Remove the override file from hosts (with a backup unless --no-backup).
    HostUnsetOverride(ChangeArgs),
    /// Run Puppet once on hosts (the wrapper with FLEETROLL_SINGLE_RUN=1), showing each host's output.
    ///
    /// A dry run unless --confirm. Windows hosts are skipped. ok means Puppet
    /// exited 0 (no changes) or 2 (changes applied).
    HostRunPuppet(RunPuppetArgs),
    /// Show where data lives and what the store holds.
    Status(JsonArgs),
    /// Add a note to a host (shown until the host's notes are cleared).
    NoteAdd(NoteAddArgs),
    /// Clear a host's notes.
    NoteClear(NoteClearArgs),
    /// Show a host's notes since the last clear.
    ShowNotes(ShowNotesArgs),
    /// Watch hosts from the store: one row each (reachability, role, override,
    /// vault, Puppet, Taskcluster activity, Pulse's last event, data age,
    /// health, note).
    ///
    /// On a terminal: a live view, refreshed every second (keys: j/k, PgUp/PgDn,
    /// h/l, s sort, / filter, \\ clear, ? help, q quit). With --once: a table
    /// (two spaces between columns), JSON, or host names, filtered (--filter
    /// 'role~talos tc_act>1h sort:data:desc') and sorted. Without --once and
    /// without a terminal: the table, then a line for every host that gets a
    /// new observation, until interrupted. A bad filter exits 2 with the reason.
    HostMonitor(MonitorArgs),
    /// Serve the HTTP API (tree status, worker liveness) on the configured store until SIGINT or SIGTERM.
    ///
    /// Reads are anonymous; writes need a client token (`fleetroll client
    /// create`) with the endpoint's scope. With `[pulse] url` set, every tree
    /// status change is published to Pulse; with `[liveness] url` set, the
    /// server also consumes Taskcluster's queue events (see `pulse-listen`)
    /// and serves them at /machines and /api/v1/workers. The OpenAPI
    /// document is at /api/openapi.json, Prometheus metrics at /metrics.
    Serve(crate::commands::serve::ServeArgs),
    /// Consume Taskcluster's queue events from Pulse into the store (worker liveness), until SIGINT or SIGTERM.
    ///
    /// A durable queue `queue/<user>/<[liveness] queue>` is bound to the
    /// task-running, -completed, -failed and -exception exchanges for each
    /// configured provisioner (default releng-hardware). Batches are
    /// acknowledged only once committed; refused messages are counted,
    /// logged and rejected (dead-lettered with `[liveness]
    /// dead_letter_exchange`). `fleetroll serve` runs the same consumer.
    PulseListen(crate::commands::liveness::PulseListenArgs),
    /// Hardware jobs through a running `fleetroll serve`: run (ping, IPMI, PDU, reboot chain, …), list, show, cancel.
    Job(crate::commands::job::JobArgs),
    /// Run hardware job workers on the store until SIGINT or SIGTERM (`serve` runs them too).
    ///
    /// Workers claim queued jobs (safely beside other workers and server
    /// replicas), run them with the real tools (ping, ssh, ipmitool,
    /// snmpset), renew their lease meanwhile, and take over jobs whose
    /// worker stopped once its lease lapses.
    Worker(crate::commands::job::WorkerArgs),
    /// Worker last-seen times from Pulse: list, show, and preload a `GET /machines` export.
    #[command(subcommand)]
    Machines(crate::commands::liveness::MachinesCommand),
    /// Tree status through a running `fleetroll serve`: list, show, open, close, logs, stack, revert.
    Tree(crate::commands::tree::TreeArgs),
    /// Manage the API's clients and their bearer tokens.
    #[command(subcommand)]
    Client(crate::commands::client::ClientCommand),
    /// Is the stored picture of the fleet recent enough to act on? Exit 0 only when fresh.
    ///
    /// A host is fresh when its newest good observation is at most
    /// --stale-threshold old; the fleet is fresh when at least --min-fresh-pct
    /// of its hosts are. Statuses: fresh, stale, no_data.
    DataFreshness(FreshnessArgs),
    /// Compact the store (SQLite: VACUUM and a WAL checkpoint; PostgreSQL: VACUUM ANALYZE).
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

/// How to reach hosts over SSH.
#[derive(Debug, Args)]
pub struct SshArgs {
    /// Extra ssh arguments, split like a shell would (e.g. "-J bastion"); repeatable.
    #[arg(long = "ssh-option", value_name = "TEXT", allow_hyphen_values = true)]
    pub ssh_options: Vec<String>,
    /// Seconds to wait for a connection (ssh ConnectTimeout).
    #[arg(long, value_name = "S", default_value_t = 10)]
    pub connect_timeout: u64,
    /// Seconds one host may take, connection included [default: 10; 600 for host-run-puppet].
    #[arg(long, value_name = "S")]
    pub timeout: Option<u64>,
    /// Keep each host's SSH connection open for 10 minutes (OpenSSH ControlMaster,
    /// sockets in <home>/ssh-control) so the next run skips the handshake.
    #[arg(long)]
    pub reuse_connections: bool,
}

/// How many hosts at once, and for how long in all.
#[derive(Debug, Args)]
pub struct BatchArgs {
    /// Hosts worked on at once.
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub workers: u32,
    /// Seconds for the whole batch; hosts not reached by then are recorded as
    /// timed out (and, for changes, left unchanged).
    #[arg(long, value_name = "S", default_value_t = 600)]
    pub batch_timeout: u64,
}

#[derive(Debug, Args)]
pub struct GatherHostArgs {
    /// A host, or a host list file.
    #[arg(value_name = "HOST_OR_FILE")]
    pub target: String,
    #[command(flatten)]
    pub ssh: SshArgs,
    #[command(flatten)]
    pub batch: BatchArgs,
    /// Do not fetch or print override contents.
    #[arg(long)]
    pub no_content: bool,
    /// Show role, override metadata and timing per host in the batch summary.
    #[arg(long, conflicts_with = "quiet")]
    pub verbose: bool,
    /// Print one line: success, or how many hosts failed.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Print JSON instead of text.
    #[arg(long, conflicts_with_all = ["quiet", "verbose"])]
    pub json: bool,
}

/// Hosts to change and how: shared by every host-changing command.
#[derive(Debug, Args)]
pub struct ChangeArgs {
    /// Hosts (comma lists allowed, short names like ms1 expanded) or one host list file.
    #[arg(value_name = "HOST_OR_FILE", required = true)]
    pub targets: Vec<String>,
    #[command(flatten)]
    pub ssh: SshArgs,
    #[command(flatten)]
    pub batch: BatchArgs,
    /// Why: recorded in the audit trail.
    #[arg(long)]
    pub reason: Option<String>,
    /// Really change the hosts; without it, show what would be done.
    #[arg(long)]
    pub confirm: bool,
    /// Do not re-audit the hosts afterwards.
    #[arg(long)]
    pub no_audit: bool,
    /// Do not keep a timestamped backup of the replaced file on the host.
    #[arg(long)]
    pub no_backup: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SetFileArgs {
    #[command(flatten)]
    pub change: ChangeArgs,
    /// The file to install.
    #[arg(long, short = 'f', value_name = "PATH")]
    pub from_file: std::path::PathBuf,
    /// Octal mode on the host [default: 0644 for overrides, 0640 for vaults].
    #[arg(long)]
    pub mode: Option<String>,
    /// Owner on the host.
    #[arg(long, default_value = "root")]
    pub owner: String,
    /// Group on the host; auto is wheel on macOS and root elsewhere.
    #[arg(long, default_value = "auto")]
    pub group: String,
    /// Replace an existing override (overrides only; a vault is always replaced).
    #[arg(long)]
    pub force: bool,
    /// Write even to hosts whose last audit shows this very file.
    #[arg(long)]
    pub ignore_state: bool,
}

#[derive(Debug, Args)]
pub struct RunPuppetArgs {
    #[command(flatten)]
    pub change: ChangeArgs,
    /// The wrapper to run on the hosts.
    #[arg(long, default_value = "run-puppet.sh")]
    pub wrapper: String,
}

#[derive(Debug, Args)]
pub struct MonitorArgs {
    /// A host, or a host list file.
    #[arg(value_name = "HOST_OR_FILE")]
    pub target: String,
    /// Print once and exit, instead of the live view.
    #[arg(long)]
    pub once: bool,
    /// Sort by these columns: host, role, or COL[:asc|desc][,COL…].
    #[arg(long, default_value = "host")]
    pub sort: String,
    /// Show only the rows this query matches (e.g. 'os=L|M healthy=N').
    #[arg(long, value_name = "QUERY", conflicts_with = "filter_file")]
    pub filter: Option<String>,
    /// A saved filter: YAML with a `query:` string (and an optional `description:`).
    #[arg(long, value_name = "YAML")]
    pub filter_file: Option<std::path::PathBuf>,
    /// Print only the matching hosts' names, one per line.
    #[arg(long, requires = "once", conflicts_with = "json")]
    pub hostname_only: bool,
    /// Print JSON: one object per host, keyed by column.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct NoteAddArgs {
    /// A fully qualified host name.
    pub host: String,
    /// The note.
    pub text: String,
    #[command(flatten)]
    pub output: JsonArgs,
}

#[derive(Debug, Args)]
pub struct NoteClearArgs {
    /// A fully qualified host name.
    pub host: String,
    /// Why the notes no longer apply.
    #[arg(long)]
    pub reason: Option<String>,
    #[command(flatten)]
    pub output: JsonArgs,
}

#[derive(Debug, Args)]
pub struct ShowNotesArgs {
    /// A fully qualified host name.
    pub host: String,
    /// Show at most this many (the newest).
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Show every record, clears included.
    #[arg(long, short = 'i')]
    pub include_cleared: bool,
    #[command(flatten)]
    pub output: JsonArgs,
}

#[derive(Debug, Args)]
pub struct FreshnessArgs {
    /// A host list file; the hosts it names are assessed.
    #[arg(value_name = "HOSTS_FILE", required_unless_present = "all", conflicts_with = "all")]
    pub file: Option<std::path::PathBuf>,
    /// Assess every host in the store.
    #[arg(long, short = 'a')]
    pub all: bool,
    /// Seconds after which a host's newest good observation is stale.
    #[arg(long, value_name = "S", default_value_t = fleetroll_core::freshness::DEFAULT_STALE_THRESHOLD_S)]
    pub stale_threshold: i64,
    /// The share of fresh hosts (percent) the fleet needs to be fresh.
    #[arg(long, value_name = "N", default_value_t = fleetroll_core::freshness::DEFAULT_MIN_FRESH_PCT)]
    pub min_fresh_pct: f64,
    #[command(flatten)]
    pub output: JsonArgs,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A SHA-256 prefix (at least 4 hex characters), a 2-word human hash like colorado-floor, or a symlink name.
    pub query: String,
}

#[derive(Debug, Args)]
pub struct DebugScriptArgs {
    /// The script as gather-host sends it: `sh -c '…'` (or `powershell -EncodedCommand …`).
    #[arg(long)]
    pub wrap: bool,
    /// The Windows (PowerShell) script.
    #[arg(long)]
    pub windows: bool,
    /// Without override contents.
    #[arg(long)]
    pub no_content: bool,
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
