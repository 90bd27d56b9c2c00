//! `fleetroll debug-host-script`: print the remote audit script.

use std::process::ExitCode;

use fleetroll_core::config::Settings;
use fleetroll_core::script::{self, ScriptOptions};

use crate::cli::DebugScriptArgs;

pub fn run(settings: &Settings, args: &DebugScriptArgs) -> anyhow::Result<ExitCode> {
    let text = if args.windows {
        let script = script::windows_script();
        if args.wrap { script::windows_command(&script) } else { script }
    } else {
        // The known vault list is left empty here: the script shown is the
        // one that would fetch any vault.
        let options = ScriptOptions { with_content: !args.no_content, known_vault_shas: Vec::new() };
        let script = script::unix_script(&settings.profile, &options);
        if args.wrap { script::unix_command(&script) } else { script }
    };
    println!("{}", text.trim_end());
    Ok(ExitCode::SUCCESS)
}
