//! `fleetroll show-override` and `show-vault`: print stored contents.

use std::io::Write as _;
use std::process::ExitCode;

use anyhow::Context as _;
use fleetroll_core::config::Settings;
use fleetroll_store::content::ContentStore;

use crate::cli::ShowArgs;

pub fn overrides(settings: &Settings) -> ContentStore {
    ContentStore::overrides(&settings.home)
}

pub fn vaults(settings: &Settings) -> ContentStore {
    ContentStore::vaults(&settings.home)
}

pub fn run(store: &ContentStore, args: &ShowArgs) -> anyhow::Result<ExitCode> {
    let found = store.lookup(&args.query)?;
    let contents = std::fs::read(&found.path).with_context(|| format!("cannot read {}", found.path.display()))?;
    eprintln!("# {} ({}) {}", &found.sha256[..12], found.human_name, found.path.display());
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(&contents).and_then(|()| stdout.flush()) {
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        other => {
            other?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
