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
