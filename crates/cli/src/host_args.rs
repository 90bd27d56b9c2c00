//! Turning host arguments into hosts: the rules are core's (`hosts`), the
//! reading of list files and the messages are here, once for every command.

use std::path::Path;

use anyhow::Context as _;
use fleetroll_core::hosts::{HostArg, ResolvedHosts, classify_single_arg, parse_host_list, resolve_host_args};

/// The hosts of a list file.
pub fn read_list(path: &str) -> anyhow::Result<Vec<String>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read host list {path}"))?;
    let text = String::from_utf8(bytes).with_context(|| format!("host list {path} is not UTF-8"))?;
    parse_host_list(&text).with_context(|| format!("host list {path}"))
}

/// The single HOST_OR_FILE argument of gather-host, gather-tc and gather
/// (short names are not expanded there); also says whether it was a file.
pub fn single(target: &str) -> anyhow::Result<(Vec<String>, bool)> {
    match classify_single_arg(target, Path::new(target).is_file())? {
        HostArg::Host(host) => Ok((vec![host], false)),
        HostArg::File(path) => Ok((read_list(&path)?, true)),
    }
}

/// The HOST_OR_FILE... arguments of the host-changing commands: comma
/// lists, short names expanded (each expansion is shown), or one list file.
pub fn many(targets: &[String]) -> anyhow::Result<Vec<String>> {
    let args: Vec<&str> = targets.iter().map(String::as_str).collect();
    match resolve_host_args(&args, |arg| Path::new(arg).is_file())? {
        ResolvedHosts::File(path) => read_list(&path),
        ResolvedHosts::Hosts { hosts, expansions } => {
            for (given, expanded) in expansions {
                eprintln!("Expanding {given} → {expanded}");
            }
            Ok(hosts)
        }
    }
}
