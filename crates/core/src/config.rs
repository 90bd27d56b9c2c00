//! Configuration: the file's schema, its validation, and precedence.
//!
//! Precedence, lowest first: built-in defaults, `config.toml` in the home
//! directory, `FLEETROLL_*` environment variables, command-line flags. The
//! binary merges environment and flags (clap reads both) and hands the result
//! here as [`Overrides`]; this module decides the rest. Reading the file is the
//! caller's job, so everything here is pure.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// Records kept per key (host, branch, pool) unless configured otherwise.
pub const DEFAULT_RETENTION: u32 = 10;
/// How long a SQLite writer waits for another to finish before failing.
pub const DEFAULT_BUSY_TIMEOUT_MS: u64 = 5_000;
/// The SQLite database file inside the home directory (the MVP's name).
pub const SQLITE_FILE_NAME: &str = "fleetroll.db";
/// The configuration file inside the home directory.
pub const CONFIG_FILE_NAME: &str = "config.toml";

/// `config.toml` as written by an operator. Every key is optional; unknown
/// keys are errors, so a typo never silently falls back to a default.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    #[serde(default)]
    pub store: StoreSection,
    #[serde(default)]
    pub github: GithubSection,
    #[serde(default)]
    pub taskcluster: TaskclusterSection,
    /// Where hosts keep the files the audit reads, per OS (`[paths.linux]`,
    /// `[paths.darwin]`); the MVP's paths by default.
    #[serde(default)]
    pub paths: crate::script::Profile,
    #[serde(default)]
    pub monitor: MonitorSection,
    #[serde(default)]
    pub server: ServerSection,
    #[serde(default)]
    pub pulse: PulseSection,
    #[serde(default)]
    pub liveness: LivenessSection,
    /// Hardware jobs: the inventory and the workers' settings.
    #[serde(default)]
    pub jobs: crate::jobs::settings::JobsConfig,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct StoreSection {
    pub database_url: Option<Secret>,
    pub retention: Option<u32>,
    pub busy_timeout_ms: Option<u64>,
}

/// `[github]`: the MVP's `api_token` (kept so its users' files still load)
/// and the API's base URL.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct GithubSection {
    pub api_token: Option<Secret>,
    pub api_url: Option<String>,
}

/// `[taskcluster]`: where the deployment is, how to sign requests, how hard
/// to ask, and roles to add to (or change in) the MVP's role→pool table.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TaskclusterSection {
    pub root_url: Option<String>,
    /// A JSON file `{"clientId": …, "accessToken": …}` (the MVP's `~/.tc_token`).
    pub credentials_file: Option<PathBuf>,
    pub concurrency: Option<usize>,
    /// Ask for each worker's latest task run (one request per worker).
    pub task_runs: Option<bool>,
    #[serde(default)]
    pub roles: Option<crate::pools::RoleMap>,
}

/// `[monitor]`: the live host-monitor's files.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct MonitorSection {
    /// Saved filters (`*.yaml`) the `f` picker lists; relative to the home
    /// directory unless absolute.
    pub filters_dir: Option<PathBuf>,
}

/// Saved filters' folder inside the home directory, by default.
pub const DEFAULT_FILTERS_DIR: &str = "filters";

/// host-monitor settings in force.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MonitorSettings {
    pub filters_dir: PathBuf,
}

/// `[server]`: how `fleetroll serve` listens and decides, and where the
/// `tree` commands find it.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    pub listen: Option<String>,
    pub cors_origins: Option<Vec<String>>,
    pub scope_prefix: Option<String>,
    pub cache_recheck_ms: Option<u64>,
    pub request_timeout_ms: Option<u64>,
    /// The server the `tree` commands talk to.
    pub url: Option<String>,
    /// The bearer token the `tree` commands send.
    pub token: Option<Secret>,
}

/// `[pulse]`: where tree status changes are published.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PulseSection {
    /// `amqp://` or `amqps://user:password@host:port/vhost`; no URL, no
    /// publishing.
    pub url: Option<Secret>,
    pub exchange: Option<String>,
}

/// `[liveness]`: where Taskcluster's queue events are consumed (reference
/// §B). Pulse gives each user its own credentials, so these are not the
/// publisher's.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LivenessSection {
    /// `amqp://` or `amqps://host:port/vhost`; no URL, no consumer.
    pub url: Option<Secret>,
    /// The user and password, when not in the URL.
    pub user: Option<String>,
    pub password: Option<Secret>,
    /// The queue is `queue/<user>/<queue>`.
    pub queue: Option<String>,
    pub provisioners: Option<Vec<String>>,
    pub exchange_prefix: Option<String>,
    pub prefetch: Option<u16>,
    pub batch_size: Option<usize>,
    pub batch_wait_ms: Option<u64>,
    /// Where refused messages go (`x-dead-letter-exchange` of the queue);
    /// without one they are dropped after being counted and logged.
    pub dead_letter_exchange: Option<String>,
}

/// The queue's own name by default: `queue/<user>/fleetroll-liveness`.
pub const DEFAULT_LIVENESS_QUEUE: &str = "fleetroll-liveness";

/// Consumer settings in force.
#[derive(Clone, Debug)]
pub struct LivenessSettings {
    /// With the user and password in it.
    pub url: Option<Secret>,
    pub queue: String,
    pub provisioners: Vec<String>,
    pub exchange_prefix: String,
    /// Messages the broker may send before they are acknowledged; twice the
    /// batch, so one batch arrives while the one before is committed.
    pub prefetch: u16,
    pub batch_size: usize,
    /// How long a batch waits to fill once it has a message.
    pub batch_wait: Duration,
    pub dead_letter_exchange: Option<String>,
}

/// Credentials given apart from the URL (`[liveness] user`, or the
/// reference listener's `AMQP_USER` and `AMQP_PASS`) go into it.
pub fn url_with_credentials(url: &str, user: Option<&str>, password: Option<&str>) -> Result<String, String> {
    if user.is_none() && password.is_none() {
        return Ok(url.to_owned());
    }
    let (scheme, rest) = url.split_once("://").ok_or_else(|| format!("{:?} is not a URL", redact_url(url)))?;
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let (old_userinfo, host) = authority.rsplit_once('@').map_or(("", authority), |(info, host)| (info, host));
    let (old_user, old_password) = old_userinfo.split_once(':').unwrap_or((old_userinfo, ""));
    let user = user.map_or_else(|| old_user.to_owned(), percent_encode_userinfo);
    let password = password.map_or_else(|| old_password.to_owned(), percent_encode_userinfo);
    if user.is_empty() {
        return Err("a password is given but no user".to_owned());
    }
    let userinfo = if password.is_empty() { user } else { format!("{user}:{password}") };
    Ok(format!("{scheme}://{userinfo}@{host}{tail}"))
}

fn percent_encode_userinfo(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

fn liveness_settings(section: LivenessSection) -> Result<LivenessSettings, ConfigError> {
    let url = match &section.url {
        Some(url) => Some(Secret::new(
            url_with_credentials(url.expose(), section.user.as_deref(), section.password.as_ref().map(Secret::expose))
                .map_err(|message| ConfigError::for_key("liveness.url", message))?,
        )),
        None => None,
    };
    let provisioners = section.provisioners.unwrap_or_else(|| vec![crate::liveness::DEFAULT_PROVISIONER.to_owned()]);
    if provisioners.is_empty() {
        return Err(ConfigError::for_key("liveness.provisioners", "lists no provisioner"));
    }
    for provisioner in &provisioners {
        crate::liveness::check_provisioner(provisioner)
            .map_err(|message| ConfigError::for_key("liveness.provisioners", message))?;
    }
    let batch_size = section.batch_size.unwrap_or(500).clamp(1, 10_000);
    let default_prefetch = u16::try_from(batch_size * 2).unwrap_or(u16::MAX);
    Ok(LivenessSettings {
        url,
        queue: section.queue.unwrap_or_else(|| DEFAULT_LIVENESS_QUEUE.to_owned()),
        provisioners,
        exchange_prefix: section.exchange_prefix.unwrap_or_else(|| crate::liveness::DEFAULT_EXCHANGE_PREFIX.to_owned()),
        prefetch: section.prefetch.unwrap_or(default_prefetch).max(1),
        batch_size,
        batch_wait: Duration::from_millis(section.batch_wait_ms.unwrap_or(50)),
        dead_letter_exchange: section.dead_letter_exchange,
    })
}

fn checked_jobs(jobs: crate::jobs::settings::JobsConfig) -> Result<crate::jobs::settings::JobsConfig, ConfigError> {
    jobs.settings().map_err(|err| ConfigError::for_key("jobs", err.to_string()))?;
    jobs.inventory().map_err(|err| ConfigError::for_key("jobs", err.to_string()))?;
    Ok(jobs)
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_SCOPE_PREFIX: &str = "project:fleetroll:treestatus";
pub const DEFAULT_CACHE_RECHECK_MS: u64 = 1000;
/// How long `fleetroll serve` lets a request take before answering 503.
pub const DEFAULT_REQUEST_TIMEOUT_MS: u64 = 30_000;
/// Pulse wants exchanges named `exchange/<user>/<name>`.
pub const DEFAULT_PULSE_EXCHANGE: &str = "exchange/fleetroll/treestatus";

/// `fleetroll serve` and `tree` settings in force.
#[derive(Clone, Debug)]
pub struct ServerSettings {
    pub listen: std::net::SocketAddr,
    pub cors_origins: Vec<String>,
    pub scope_prefix: String,
    /// How often a server re-reads the trees' version to see other
    /// replicas' writes; its own writes invalidate its cache at once.
    pub cache_recheck: Duration,
    /// How long a request may take before the server stops it (503).
    pub request_timeout: Duration,
    pub url: String,
    pub token: Option<Secret>,
}

/// Pulse settings in force.
#[derive(Clone, Debug)]
pub struct PulseSettings {
    pub url: Option<Secret>,
    pub exchange: String,
}

/// The Firefox CI deployment, which the MVP's hosts serve.
pub const DEFAULT_TASKCLUSTER_ROOT_URL: &str = "https://firefox-ci-tc.services.mozilla.com";
pub const DEFAULT_GITHUB_API_URL: &str = "https://api.github.com";

/// Taskcluster settings in force.
#[derive(Clone, Debug)]
pub struct TaskclusterSettings {
    pub root_url: String,
    pub credentials_file: Option<PathBuf>,
    pub concurrency: usize,
    pub task_runs: bool,
    /// The MVP's table with the configured roles on top.
    pub roles: crate::pools::RoleMap,
}

/// A string that is never printed: database URLs carry passwords, tokens are
/// credentials. `Debug` and `Display` show a placeholder; use [`Secret::expose`].
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// A configuration problem, naming the key and, for file errors, the line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}{}: {message}", key.as_deref().map_or(String::new(), |k| format!("key `{k}`")), line.map_or(String::new(), |l| format!(" (line {l})")))]
pub struct ConfigError {
    pub key: Option<String>,
    pub line: Option<usize>,
    pub message: String,
}

impl ConfigError {
    fn for_key(key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError { key: Some(key.to_owned()), line: None, message: message.into() }
    }
}

/// Parses and validates the text of `config.toml`.
pub fn parse_file(text: &str) -> Result<FileConfig, ConfigError> {
    let deserializer = toml::Deserializer::parse(text).map_err(|err| syntax_error(text, &err))?;
    let config: FileConfig = serde_path_to_error::deserialize(deserializer).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.inner();
        ConfigError {
            key: (path != ".").then_some(path),
            line: inner.span().map(|span| line_of(text, span.start)),
            message: inner.message().to_owned(),
        }
    })?;
    if let Some(retention) = config.store.retention {
        validate_retention(retention).map_err(|message| ConfigError::for_key("store.retention", message))?;
    }
    if let Some(url) = &config.store.database_url {
        StoreLocation::parse(url.expose()).map_err(|message| ConfigError::for_key("store.database_url", message))?;
    }
    Ok(config)
}

fn syntax_error(text: &str, err: &toml::de::Error) -> ConfigError {
    ConfigError {
        key: None,
        line: err.span().map(|span| line_of(text, span.start)),
        message: format!("not valid TOML: {}", err.message()),
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset).map_or(1, |before| before.matches('\n').count() + 1)
}

/// Rejects a retention that would delete every record.
pub fn validate_retention(retention: u32) -> Result<u32, String> {
    if retention == 0 {
        Err("must be at least 1 (records kept per host, branch or pool)".to_owned())
    } else {
        Ok(retention)
    }
}

/// Where the store lives.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// An embedded SQLite database file.
    Sqlite(PathBuf),
    /// A PostgreSQL server; the URL may carry a password.
    Postgres(Secret),
}

impl StoreLocation {
    /// Reads `sqlite://PATH`, `sqlite:PATH`, `postgres://…` or `postgresql://…`.
    pub fn parse(url: &str) -> Result<StoreLocation, String> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(StoreLocation::Postgres(Secret::new(url)));
        }
        let path = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).ok_or_else(|| {
            format!("unsupported database URL {:?}: use sqlite://PATH or postgres://…", redact_url(url))
        })?;
        let path = path.split_once('?').map_or(path, |(path, _)| path);
        if path.is_empty() {
            return Err("the sqlite:// URL names no file".to_owned());
        }
        Ok(StoreLocation::Sqlite(PathBuf::from(path)))
    }

    /// The default: `fleetroll.db` in the home directory.
    pub fn default_in(home: &Path) -> StoreLocation {
        StoreLocation::Sqlite(home.join(SQLITE_FILE_NAME))
    }
}

impl fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreLocation::Sqlite(path) => write!(f, "sqlite://{}", path.display()),
            StoreLocation::Postgres(url) => f.write_str(&redact_url(url.expose())),
        }
    }
}

impl fmt::Debug for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Replaces the password of `scheme://user:password@host` with `***`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// What flags and environment variables say; `None` means "not given".
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub database_url: Option<String>,
    pub retention: Option<u32>,
}

/// The configuration in force after precedence is applied.
#[derive(Clone, Debug)]
pub struct Settings {
    pub home: PathBuf,
    pub store: StoreLocation,
    pub retention: u32,
    pub busy_timeout: Duration,
    pub github_token: Option<Secret>,
    pub github_api_url: String,
    pub taskcluster: TaskclusterSettings,
    pub profile: crate::script::Profile,
    pub monitor: MonitorSettings,
    pub server: ServerSettings,
    pub pulse: PulseSettings,
    pub liveness: LivenessSettings,
    /// Checked when loaded: its settings and inventory resolve.
    pub jobs: crate::jobs::settings::JobsConfig,
}

impl Settings {
    /// Applies precedence: overrides, then the file, then defaults.
    pub fn resolve(home: PathBuf, file: FileConfig, overrides: Overrides) -> Result<Settings, ConfigError> {
        let store = match overrides.database_url {
            Some(url) => StoreLocation::parse(&url).map_err(|message| ConfigError::for_key("database_url", message))?,
            None => match &file.store.database_url {
                Some(url) => StoreLocation::parse(url.expose())
                    .map_err(|message| ConfigError::for_key("store.database_url", message))?,
                None => StoreLocation::default_in(&home),
            },
        };
        let retention = overrides.retention.or(file.store.retention).unwrap_or(DEFAULT_RETENTION);
        validate_retention(retention).map_err(|message| ConfigError::for_key("retention", message))?;
        Ok(Settings {
            store,
            retention,
            busy_timeout: Duration::from_millis(file.store.busy_timeout_ms.unwrap_or(DEFAULT_BUSY_TIMEOUT_MS)),
            github_token: file.github.api_token,
            github_api_url: file.github.api_url.unwrap_or_else(|| DEFAULT_GITHUB_API_URL.to_owned()),
            taskcluster: TaskclusterSettings {
                root_url: file.taskcluster.root_url.unwrap_or_else(|| DEFAULT_TASKCLUSTER_ROOT_URL.to_owned()),
                credentials_file: file.taskcluster.credentials_file,
                concurrency: file.taskcluster.concurrency.unwrap_or(16).max(1),
                task_runs: file.taskcluster.task_runs.unwrap_or(true),
                roles: crate::pools::RoleMap::with(
                    &file.taskcluster.roles.unwrap_or_else(|| crate::pools::RoleMap(Default::default())),
                ),
            },
            profile: file.paths,
            // A relative folder is read from the home directory, where the
            // file naming it lives, not from wherever the monitor started.
            monitor: MonitorSettings {
                filters_dir: home.join(file.monitor.filters_dir.as_deref().unwrap_or(Path::new(DEFAULT_FILTERS_DIR))),
            },
            server: server_settings(file.server)?,
            pulse: PulseSettings {
                url: file.pulse.url,
                exchange: file.pulse.exchange.unwrap_or_else(|| DEFAULT_PULSE_EXCHANGE.to_owned()),
            },
            liveness: liveness_settings(file.liveness)?,
            jobs: checked_jobs(file.jobs)?,
            home,
        })
    }
}

fn server_settings(section: ServerSection) -> Result<ServerSettings, ConfigError> {
    let listen_text = section.listen.unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
    let listen = listen_text
        .parse()
        .map_err(|_| ConfigError::for_key("server.listen", format!("{listen_text:?} is not an ADDRESS:PORT")))?;
    let url = section.url.unwrap_or_else(|| format!("http://{listen}"));
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(ConfigError::for_key("server.url", format!("{url:?} is not an http:// or https:// URL")));
    }
    let request_timeout_ms = section.request_timeout_ms.unwrap_or(DEFAULT_REQUEST_TIMEOUT_MS);
    if request_timeout_ms == 0 {
        return Err(ConfigError::for_key("server.request_timeout_ms", "must be at least 1 (milliseconds)".to_owned()));
    }
    Ok(ServerSettings {
        listen,
        cors_origins: section.cors_origins.unwrap_or_else(|| vec!["*".to_owned()]),
        scope_prefix: section.scope_prefix.unwrap_or_else(|| DEFAULT_SCOPE_PREFIX.to_owned()),
        cache_recheck: Duration::from_millis(section.cache_recheck_ms.unwrap_or(DEFAULT_CACHE_RECHECK_MS)),
        request_timeout: Duration::from_millis(request_timeout_ms),
        url: url.trim_end_matches('/').to_owned(),
        token: section.token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn liveness_defaults_and_credentials() {
        let settings = Settings::resolve("/h".into(), parse_file("").unwrap(), Overrides::default()).unwrap();
        assert!(settings.liveness.url.is_none());
        assert_eq!(settings.liveness.queue, "fleetroll-liveness");
        assert_eq!(settings.liveness.provisioners, ["releng-hardware"]);
        assert_eq!(settings.liveness.exchange_prefix, "exchange/taskcluster-queue/v1/");
        assert_eq!((settings.liveness.batch_size, settings.liveness.prefetch), (500, 1000));

        let file = parse_file(
            "[liveness]\nurl = \"amqps://pulse.example.org:5671/%2f\"\nuser = \"ops\"\npassword = \"p@ss:w/rd\"\n\
             provisioners = [\"releng-hardware\", \"proj-autophone\"]\n",
        )
        .unwrap();
        let settings = Settings::resolve("/h".into(), file, Overrides::default()).unwrap();
        assert_eq!(settings.liveness.url.unwrap().expose(), "amqps://ops:p%40ss%3Aw%2Frd@pulse.example.org:5671/%2f");

        let cases = [
            ("amqp://old:pw@h/%2f", Some("new"), None, Ok("amqp://new:pw@h/%2f")),
            ("amqp://old:pw@h/%2f", None, Some("x y"), Ok("amqp://old:x%20y@h/%2f")),
            ("amqp://h:5672", Some("u"), None, Ok("amqp://u@h:5672")),
            ("amqp://h/%2f", None, Some("pw"), Err("no user")),
            ("amqp://old:pw@h/%2f", None, None, Ok("amqp://old:pw@h/%2f")),
        ];
        for (url, user, password, expected) in cases {
            let got = url_with_credentials(url, user, password);
            match expected {
                Ok(want) => assert_eq!(got.as_deref(), Ok(want), "{url}"),
                Err(fragment) => assert!(got.unwrap_err().contains(fragment), "{url}"),
            }
        }
        for bad in ["[liveness]\nprovisioners = []\n", "[liveness]\nprovisioners = [\"a.b\"]\n"] {
            let err = Settings::resolve("/h".into(), parse_file(bad).unwrap(), Overrides::default()).unwrap_err();
            assert_eq!(err.key.as_deref(), Some("liveness.provisioners"), "{bad}");
        }
    }

    #[test]
    fn jobs_are_checked_when_loaded() {
        let good = "[jobs]\nreboot_order = [\"ipmi_reset\", \"ssh_reboot\"]\n";
        let settings = Settings::resolve("/h".into(), parse_file(good).unwrap(), Overrides::default()).unwrap();
        assert_eq!(settings.jobs.reboot_order.as_deref().map(<[String]>::len), Some(2));
        for bad in ["[jobs]\nreboot_order = []\n", "[jobs]\nreboot_order = [\"file_bugzilla_bug\"]\n"] {
            let err = Settings::resolve("/h".into(), parse_file(bad).unwrap(), Overrides::default()).unwrap_err();
            assert_eq!(err.key.as_deref(), Some("jobs"), "{bad}: {err}");
        }
        assert!(parse_file("[jobs]\nno_such_key = 1\n").is_err());
    }

    #[test]
    fn empty_file_is_all_defaults() {
        let settings = Settings::resolve("/h".into(), parse_file("").unwrap(), Overrides::default()).unwrap();
        assert_eq!(settings.store, StoreLocation::Sqlite("/h/fleetroll.db".into()));
        assert_eq!(settings.retention, 10);
        assert_eq!(settings.busy_timeout, Duration::from_secs(5));
        assert!(settings.github_token.is_none());
    }

    #[test]
    fn precedence_override_then_file_then_default() {
        let file = parse_file("[store]\ndatabase_url = \"sqlite:///file.db\"\nretention = 4\n").unwrap();
        let cases = [
            (Overrides::default(), "sqlite:///file.db", 4),
            (Overrides { database_url: Some("sqlite:///flag.db".into()), retention: None }, "sqlite:///flag.db", 4),
            (Overrides { database_url: None, retention: Some(7) }, "sqlite:///file.db", 7),
        ];
        for (overrides, url, retention) in cases {
            let settings = Settings::resolve("/h".into(), file.clone(), overrides).unwrap();
            assert_eq!(settings.store.to_string(), url);
            assert_eq!(settings.retention, retention);
        }
    }

    #[test]
    fn paths_profile_overrides_one_os() {
        let file = parse_file(
            "[paths.linux]\nrole = \"/etc/puppet_role\"\noverride = \"/opt/puppet_environments/ronin_settings\"\n\
             vault = \"/root/vault.yaml\"\npuppet_state = \"/etc/puppet/last_run_metadata.json\"\n",
        )
        .unwrap();
        assert_eq!(file.paths.linux.override_file, "/opt/puppet_environments/ronin_settings");
        assert_eq!(file.paths.darwin, crate::script::Profile::default().darwin);
        let err = parse_file("[paths.linux]\nrole = \"/x\"\n").unwrap_err();
        assert_eq!(err.key.as_deref(), Some("paths.linux"), "{err}");
    }

    #[test]
    fn taskcluster_section_adds_roles_to_the_mvp_table() {
        let text = "[taskcluster]\nroot_url = \"http://127.0.0.1:9\"\n[taskcluster.roles.new_role]\nworker_type = \"new-pool\"\n";
        let settings = Settings::resolve("/h".into(), parse_file(text).unwrap(), Overrides::default()).unwrap();
        assert_eq!(settings.taskcluster.root_url, "http://127.0.0.1:9");
        assert_eq!(settings.taskcluster.roles.0["new_role"].worker_type, "new-pool");
        assert!(settings.taskcluster.roles.0.contains_key("gecko_t_linux_talos"), "the MVP's roles stay");
        let err = parse_file("[taskcluster.roles.r]\nworker = \"x\"\n").unwrap_err();
        assert!(err.key.as_deref().is_some_and(|k| k.starts_with("taskcluster.roles")), "{err}");
    }

    #[test]
    fn server_defaults_and_bad_values() {
        let settings = Settings::resolve("/h".into(), parse_file("").unwrap(), Overrides::default()).unwrap();
        assert_eq!(settings.server.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(settings.server.url, "http://127.0.0.1:8080");
        assert_eq!(settings.server.scope_prefix, "project:fleetroll:treestatus");
        assert_eq!(settings.pulse.exchange, "exchange/fleetroll/treestatus");
        assert!(settings.pulse.url.is_none() && settings.server.token.is_none());
        assert_eq!(settings.server.request_timeout, Duration::from_secs(30));
        let file = parse_file(
            "[server]\nlisten = \"0.0.0.0:9000\"\nurl = \"https://trees.example/\"\nrequest_timeout_ms = 2500\n",
        )
        .unwrap();
        let settings = Settings::resolve("/h".into(), file, Overrides::default()).unwrap();
        assert_eq!((settings.server.listen.port(), settings.server.url.as_str()), (9000, "https://trees.example"));
        assert_eq!(settings.server.request_timeout, Duration::from_millis(2500));
        for (text, key) in [
            ("[server]\nlisten = \"localhost\"\n", "server.listen"),
            ("[server]\nurl = \"trees.example\"\n", "server.url"),
            ("[server]\nrequest_timeout_ms = 0\n", "server.request_timeout_ms"),
        ] {
            let err = Settings::resolve("/h".into(), parse_file(text).unwrap(), Overrides::default()).unwrap_err();
            assert_eq!(err.key.as_deref(), Some(key), "{err}");
        }
    }

    #[test]
    fn monitor_filters_dir_defaults_to_the_home_and_resolves_from_it() {
        let cases = [
            ("", "/h/filters"),
            ("[monitor]\nfilters_dir = \"saved\"\n", "/h/saved"),
            ("[monitor]\nfilters_dir = \"/etc/fleetroll/filters\"\n", "/etc/fleetroll/filters"),
        ];
        for (text, dir) in cases {
            let settings = Settings::resolve("/h".into(), parse_file(text).unwrap(), Overrides::default()).unwrap();
            assert_eq!(settings.monitor.filters_dir, PathBuf::from(dir), "{text:?}");
        }
        let err = parse_file("[monitor]\nfilter_dir = \"x\"\n").unwrap_err();
        assert_eq!(err.key.as_deref(), Some("monitor.filter_dir"), "{err}");
    }

    #[test]
    fn mvp_github_section_still_loads() {
        let file = parse_file("[github]\napi_token = \"ghp_x\"\n").unwrap();
        assert_eq!(file.github.api_token.unwrap().expose(), "ghp_x");
    }

    #[test]
    fn bad_files_name_key_and_line() {
        let cases = [
            ("[store]\nretention = \"ten\"\n", Some("store.retention"), Some(2), "invalid type"),
            ("[store]\nretension = 3\n", Some("store.retension"), Some(2), "unknown field `retension`"),
            ("[store]\nretention = 0\n", Some("store.retention"), None, "at least 1"),
            ("[store]\ndatabase_url = \"mysql://x\"\n", Some("store.database_url"), None, "unsupported database URL"),
            ("[store\n", None, Some(1), "not valid TOML"),
            ("colour = 1\n", Some("colour"), Some(1), "unknown field `colour`"),
        ];
        for (text, key, line, message) in cases {
            let err = parse_file(text).unwrap_err();
            assert_eq!(err.key.as_deref(), key, "{text:?}: {err}");
            assert_eq!(err.line, line, "{text:?}: {err}");
            assert!(err.message.contains(message), "{text:?}: {err}");
        }
    }

    #[test]
    fn store_locations() {
        let cases = [
            ("sqlite:///var/lib/f.db", Ok(StoreLocation::Sqlite("/var/lib/f.db".into()))),
            ("sqlite:rel.db?mode=rwc", Ok(StoreLocation::Sqlite("rel.db".into()))),
            ("postgres://u@h/db", Ok(StoreLocation::Postgres(Secret::new("postgres://u@h/db")))),
            ("postgresql://u@h/db", Ok(StoreLocation::Postgres(Secret::new("postgresql://u@h/db")))),
            ("sqlite://", Err("names no file")),
            ("/plain/path.db", Err("unsupported")),
        ];
        for (url, expected) in cases {
            match (StoreLocation::parse(url), expected) {
                (Ok(got), Ok(want)) => assert_eq!(got, want, "{url}"),
                (Err(got), Err(want)) => assert!(got.contains(want), "{url}: {got}"),
                (got, want) => panic!("{url}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn passwords_never_print() {
        let location = StoreLocation::parse("postgres://fleet:hunter2@db.example:5432/fleet").unwrap();
        assert_eq!(location.to_string(), "postgres://fleet:***@db.example:5432/fleet");
        assert!(!format!("{location:?}").contains("hunter2"));
        assert_eq!(format!("{:?}", Secret::new("tok")), "Secret(***)");
        assert_eq!(redact_url("postgres://only-user@h/db"), "postgres://only-user@h/db");
    }
}
