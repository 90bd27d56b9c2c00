//! `fleetroll config show`.

use std::process::ExitCode;

use fleetroll_core::config::{CONFIG_FILE_NAME, Settings};
use serde::Serialize;

use crate::cli::JsonArgs;
use crate::output::print_json;

#[derive(Serialize)]
struct Shown {
    home: String,
    config_file: String,
    config_file_exists: bool,
    database_url: String,
    retention: u32,
    busy_timeout_ms: u128,
    github_token: &'static str,
}

pub fn show(settings: &Settings, args: &JsonArgs) -> anyhow::Result<ExitCode> {
    let config_file = settings.home.join(CONFIG_FILE_NAME);
    let shown = Shown {
        home: settings.home.display().to_string(),
        config_file_exists: config_file.is_file(),
        config_file: config_file.display().to_string(),
        database_url: settings.store.to_string(),
        retention: settings.retention,
        busy_timeout_ms: settings.busy_timeout.as_millis(),
        github_token: if settings.github_token.is_some() { "set" } else { "not set" },
    };
    if args.json {
        print_json(&shown)?;
    } else {
        let exists = if shown.config_file_exists { "" } else { " (absent: defaults apply)" };
        println!("home:            {}", shown.home);
        println!("config file:     {}{exists}", shown.config_file);
        println!("database_url:    {}", shown.database_url);
        println!("retention:       {} per key", shown.retention);
        println!("busy_timeout_ms: {}", shown.busy_timeout_ms);
        println!("github token:    {}", shown.github_token);
    }
    Ok(ExitCode::SUCCESS)
}
