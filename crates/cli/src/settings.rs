//! Loading the configuration: the file read here, precedence decided in core.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use fleetroll_core::config::{self, FileConfig, Overrides, Settings};
use fleetroll_store::{Store, StoreOptions};

use crate::cli::GlobalArgs;

/// The example file printed by `fleetroll config default`.
pub const EXAMPLE_CONFIG: &str = include_str!("../config.example.toml");

/// Reads `config.toml` (absent is fine) and applies precedence.
pub fn load(global: &GlobalArgs) -> anyhow::Result<Settings> {
    let home = home_dir(global)?;
    let path = home.join(config::CONFIG_FILE_NAME);
    let file = read_file(&path)?;
    let overrides = Overrides { database_url: global.database_url.clone(), retention: global.retention };
    Settings::resolve(home, file, overrides).context("invalid setting")
}

fn home_dir(global: &GlobalArgs) -> anyhow::Result<PathBuf> {
    if let Some(home) = &global.home {
        return Ok(home.clone());
    }
    let user_home = std::env::var_os("HOME").filter(|h| !h.is_empty());
    let user_home = user_home.context("HOME is not set: give the data directory with --home or FLEETROLL_HOME")?;
    Ok(Path::new(&user_home).join(".fleetroll"))
}

fn read_file(path: &Path) -> anyhow::Result<FileConfig> {
    match std::fs::read_to_string(path) {
        Ok(text) => config::parse_file(&text).with_context(|| format!("config file {}", path.display())),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(FileConfig::default()),
        Err(err) => Err(err).with_context(|| format!("cannot read config file {}", path.display())),
    }
}

/// Opens the store the settings name, applying migrations.
pub async fn open_store(settings: &Settings) -> anyhow::Result<Store> {
    let options =
        StoreOptions { retention: settings.retention, busy_timeout: settings.busy_timeout, ..StoreOptions::default() };
    Ok(Store::open(&settings.store, &options).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example with every setting uncommented: `# [section]` and
    /// `# key = value` lines become TOML, prose stays a comment.
    fn uncommented(example: &str) -> String {
        example.lines().map(|line| setting(line).unwrap_or(line)).collect::<Vec<_>>().join("\n")
    }

    /// The setting a `# [section]` or `# key = value` line holds.
    fn setting(line: &str) -> Option<&str> {
        let rest = line.strip_prefix("# ")?;
        let key = rest.split(" = ").next().filter(|key| {
            key.len() < rest.len() && key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        });
        (rest.starts_with('[') || key.is_some()).then_some(rest)
    }

    /// `config default` prints a file the configuration reader takes whole:
    /// every key it shows exists, and every example value is valid.
    #[test]
    fn the_example_config_uncommented_is_valid() {
        let text = uncommented(EXAMPLE_CONFIG);
        assert!(text.lines().filter(|line| line.contains(" = ") && !line.starts_with('#')).count() > 20, "{text}");
        let file = config::parse_file(&text).unwrap_or_else(|err| panic!("{err}\n{text}"));
        Settings::resolve("/h".into(), file, Overrides::default()).unwrap_or_else(|err| panic!("{err}\n{text}"));
    }
}
