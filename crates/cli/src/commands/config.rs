//! `fleetroll config show`.

use std::process::ExitCode;

use fleetroll_core::config::{CONFIG_FILE_NAME, Secret, Settings, redact_url};
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
    server_listen: String,
    server_url: String,
    server_request_timeout_ms: u128,
    server_token: &'static str,
    pulse_url: String,
    pulse_exchange: String,
    monitor_filters_dir: String,
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
        github_token: set_or_not(settings.github_token.as_ref()),
        server_listen: settings.server.listen.to_string(),
        server_url: settings.server.url.clone(),
        server_request_timeout_ms: settings.server.request_timeout.as_millis(),
        server_token: set_or_not(settings.server.token.as_ref()),
        pulse_url: settings.pulse.url.as_ref().map_or_else(|| "not set".to_owned(), |url| redact_url(url.expose())),
        pulse_exchange: settings.pulse.exchange.clone(),
        monitor_filters_dir: settings.monitor.filters_dir.display().to_string(),
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
        println!("server listen:   {}", shown.server_listen);
        println!("server url:      {}", shown.server_url);
        println!("server timeout:  {} ms a request", shown.server_request_timeout_ms);
        println!("server token:    {}", shown.server_token);
        println!("pulse url:       {}", shown.pulse_url);
        println!("pulse exchange:  {}", shown.pulse_exchange);
        println!("saved filters:   {}", shown.monitor_filters_dir);
    }
    Ok(ExitCode::SUCCESS)
}

fn set_or_not(secret: Option<&Secret>) -> &'static str {
    if secret.is_some() { "set" } else { "not set" }
}
