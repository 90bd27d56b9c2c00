//! Changing hosts: the remote scripts that write, remove and run, and what
//! their output means (reference §4.6).
//!
//! Writes are atomic on the host: the new contents go to a temporary file in
//! the target's directory, are checked against the SHA-256 the caller sent
//! (so contents cut short by a dropped connection are never installed), get
//! their mode and owner, and are renamed over the target. An optional backup
//! is taken first, and only the newest [`BACKUPS_KEPT`] backups are kept.

use std::collections::BTreeMap;

use crate::gather::{Failure, FailureClass, RawAudit, classify_ssh_failure, parse_kv_lines};
use crate::script::shell_quote;

/// Backups of one file kept on a host (the MVP meant to keep 30; its
/// clean-up never ran).
pub const BACKUPS_KEPT: usize = 30;

/// The remote exit status of a write refused because the file exists.
pub const EXIT_EXISTS: i32 = 2;
/// The remote exit status when the contents did not arrive whole.
pub const EXIT_INCOMPLETE: i32 = 3;

/// A file to install on a host.
#[derive(Clone, Debug)]
pub struct WriteSpec {
    /// Target path on Linux hosts and on macOS hosts.
    pub linux_path: String,
    pub darwin_path: String,
    /// Octal mode, e.g. `0644`.
    pub mode: String,
    pub owner: String,
    /// A group, or `auto`: `wheel` on macOS, `root` elsewhere.
    pub group: String,
    pub backup: bool,
    /// Replace a file that exists; without it the write is refused.
    pub replace_existing: bool,
    /// SHA-256 of the contents sent on stdin.
    pub sha256: String,
}

const PREAMBLE: &str = r#"set -u
S='sudo -n'; [ "$(id -u)" = 0 ] && S=''
os=$(uname -s)
sha() { if command -v sha256sum >/dev/null 2>&1; then $S sha256sum "$1"; else $S shasum -a 256 "$1"; fi | awk '{print $1}'; }
"#;

/// Removes all but the newest backups. Backup names end in a UTC timestamp,
/// so they sort by name; their mtimes are the original file's (`cp -p`).
/// The path is passed as `$1` to the inner shell, which is what the MVP's
/// version got wrong.
const PRUNE_BACKUPS: &str = r#"$S sh -c 'ls -1d "$1".bak.* 2>/dev/null | sort -r | tail -n +$2 | while IFS= read -r f; do rm -f "$f"; done' sh "$op" KEEP_FROM"#;

fn target_paths(linux: &str, darwin: &str) -> String {
    format!("if [ \"$os\" = Darwin ]; then op={}; else op={}; fi\n", shell_quote(darwin), shell_quote(linux))
}

/// The script that installs the contents read from stdin (see module docs).
/// Prints `CONTENT_CHANGED=0|1` and `BACKUP_CREATED=<path or empty>`; exits
/// [`EXIT_EXISTS`] with `OVERRIDE_EXISTS=1` when the file exists and
/// replacing was not asked for, and [`EXIT_INCOMPLETE`] when the contents
/// did not arrive whole.
pub fn write_script(spec: &WriteSpec) -> String {
    let exists_guard = if spec.replace_existing {
        String::new()
    } else {
        format!(
            "if $S test -e \"$op\"; then echo OVERRIDE_EXISTS=1; echo \"$op already exists (use --force)\" >&2; exit {EXIT_EXISTS}; fi\n"
        )
    };
    let backup = if spec.backup {
        "if $S test -f \"$op\"; then backup=\"$op.bak.$(date -u +%Y%m%dT%H%M%SZ)\"; $S cp -p \"$op\" \"$backup\"; fi\n"
    } else {
        ""
    };
    format!(
        r#"{PREAMBLE}{paths}group={group}; [ "$group" = auto ] && {{ [ "$os" = Darwin ] && group=wheel || group=root; }}
{exists_guard}dir=$(dirname "$op")
$S mkdir -p "$dir" || exit 1
tmp=$($S mktemp "$dir/.fleetroll.tmp.XXXXXX") || exit 1
trap '$S rm -f "$tmp"' EXIT
trap 'exit 1' HUP INT TERM PIPE
$S tee "$tmp" >/dev/null || exit 1
if [ "$(sha "$tmp")" != {sha} ]; then echo "the contents arrived incomplete; $op is unchanged" >&2; exit {EXIT_INCOMPLETE}; fi
$S chmod {mode} "$tmp" && $S chown {owner}:"$group" "$tmp" || exit 1
if $S test -f "$op" && $S cmp -s "$tmp" "$op"; then
  $S chmod {mode} "$op"; $S chown {owner}:"$group" "$op"
  echo CONTENT_CHANGED=0; echo BACKUP_CREATED=
  exit 0
fi
backup=
{backup}$S mv -f "$tmp" "$op" || exit 1
trap - EXIT
echo CONTENT_CHANGED=1
echo "BACKUP_CREATED=$backup"
{prune}
"#,
        paths = target_paths(&spec.linux_path, &spec.darwin_path),
        group = shell_quote(&spec.group),
        sha = shell_quote(&spec.sha256),
        mode = shell_quote(&spec.mode),
        owner = shell_quote(&spec.owner),
        prune = PRUNE_BACKUPS.replace("KEEP_FROM", &(BACKUPS_KEPT + 1).to_string()),
    )
}

/// The script that removes a file, backing it up first if asked. Prints
/// `REMOVED=0|1` and `BACKUP_CREATED=<path or empty>`.
pub fn remove_script(linux_path: &str, darwin_path: &str, backup: bool) -> String {
    let backup = if backup {
        "backup=\"$op.bak.$(date -u +%Y%m%dT%H%M%SZ)\"; $S cp -p \"$op\" \"$backup\" || exit 1\n  "
    } else {
        ""
    };
    format!(
        r#"{PREAMBLE}{paths}if $S test -e "$op"; then
  backup=
  {backup}$S rm -f "$op" || exit 1
  echo REMOVED=1
  echo "BACKUP_CREATED=$backup"
  {prune}
else
  echo REMOVED=0
  echo BACKUP_CREATED=
fi
"#,
        paths = target_paths(linux_path, darwin_path),
        prune = PRUNE_BACKUPS.replace("KEEP_FROM", &(BACKUPS_KEPT + 1).to_string()),
    )
}

/// What a write or removal did on one host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChangeOutcome {
    /// Written; `content_changed` is false when the file already held these
    /// contents (only permissions were set).
    Written {
        content_changed: bool,
        backup_path: Option<String>,
    },
    Removed {
        removed: bool,
        backup_path: Option<String>,
    },
    /// Refused: the file exists and `--force` was not given.
    Blocked,
    Failed(Failure),
}

impl ChangeOutcome {
    pub fn is_ok(&self) -> bool {
        matches!(self, ChangeOutcome::Written { .. } | ChangeOutcome::Removed { .. })
    }
}

/// Reads the result of [`write_script`] or [`remove_script`].
pub fn parse_change(raw: &RawAudit, timeout_description: &str) -> ChangeOutcome {
    let stdout = String::from_utf8_lossy(&raw.stdout);
    let kv = parse_kv_lines(&stdout);
    match raw.exit_code {
        Some(0) if !raw.timed_out => outcome_of(&kv).unwrap_or_else(|| {
            ChangeOutcome::Failed(Failure {
                class: FailureClass::Protocol,
                message: "the host's answer ended early (no CONTENT_CHANGED or REMOVED line)".to_owned(),
            })
        }),
        Some(EXIT_EXISTS) if kv.get("OVERRIDE_EXISTS").is_some_and(|v| v == "1") => ChangeOutcome::Blocked,
        Some(EXIT_INCOMPLETE) => ChangeOutcome::Failed(Failure {
            class: FailureClass::Protocol,
            message: last_line(&raw.stderr).unwrap_or_else(|| "the contents arrived incomplete".to_owned()),
        }),
        _ => ChangeOutcome::Failed(classify_ssh_failure(raw, timeout_description)),
    }
}

fn outcome_of(kv: &BTreeMap<String, String>) -> Option<ChangeOutcome> {
    let backup_path = kv.get("BACKUP_CREATED").filter(|p| !p.is_empty()).cloned();
    if let Some(changed) = kv.get("CONTENT_CHANGED") {
        return Some(ChangeOutcome::Written { content_changed: changed == "1", backup_path });
    }
    kv.get("REMOVED").map(|removed| ChangeOutcome::Removed { removed: removed == "1", backup_path })
}

fn last_line(bytes: &[u8]) -> Option<String> {
    String::from_utf8_lossy(bytes).lines().rev().find(|l| !l.trim().is_empty()).map(|l| l.trim().to_owned())
}

/// What the last audits say about setting an override on some hosts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OverridePreflight {
    /// Hosts whose last good audit shows this very override: skipped.
    pub already_current: Vec<String>,
    /// Hosts whose last good audit shows another override: refused
    /// without `--force`.
    pub has_other_override: Vec<String>,
}

/// Sorts `hosts` by what their last good audit showed (`current_sha`).
/// Unlike the MVP, a host already running the new override does not block
/// the command: it is simply skipped (unless `ignore_state`, when it is
/// treated as having another override and written again).
pub fn preflight_override<'a>(
    hosts: &[String],
    current_sha: impl Fn(&str) -> Option<&'a str>,
    new_sha: &str,
    ignore_state: bool,
) -> OverridePreflight {
    let mut preflight = OverridePreflight::default();
    for host in hosts {
        match current_sha(host) {
            Some(sha) if sha == new_sha && !ignore_state => preflight.already_current.push(host.clone()),
            Some(_) => preflight.has_other_override.push(host.clone()),
            None => {}
        }
    }
    preflight
}

/// The Puppet single-run command (the MVP's): run the wrapper once, its
/// output and errors together, then the marker with its exit status.
pub fn run_puppet_command(wrapper: &str) -> String {
    format!("sudo -n env FLEETROLL_SINGLE_RUN=1 {} 2>&1; echo EXIT=$?", shell_quote(wrapper))
}

/// What one Puppet run did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PuppetRun {
    /// The wrapper's exit status from the `EXIT=` marker; `None` without one.
    pub puppet_exit: Option<i32>,
    /// ssh succeeded and Puppet exited 0 (no changes) or 2 (changes applied).
    pub ok: bool,
    pub changes_applied: bool,
    /// The output without the marker, carriage returns and non-colour
    /// escape sequences.
    pub output: String,
    pub failure: Option<Failure>,
}

/// Reads the output of [`run_puppet_command`] (§9.1 item 23).
pub fn parse_puppet_run(raw: &RawAudit, timeout_description: &str) -> PuppetRun {
    let text = String::from_utf8_lossy(&raw.stdout).replace('\r', "");
    let puppet_exit = text.lines().rev().find_map(|line| line.trim().strip_prefix("EXIT=")?.parse().ok());
    let output: String = text.lines().filter(|line| !line.trim().starts_with("EXIT=")).collect::<Vec<_>>().join("\n");
    let ssh_ok = raw.exit_code == Some(0) && !raw.timed_out;
    let ok = ssh_ok && matches!(puppet_exit, Some(0 | 2));
    let failure = match (ssh_ok, puppet_exit) {
        (false, _) => Some(classify_ssh_failure(raw, timeout_description)),
        (true, None) => {
            Some(Failure { class: FailureClass::Protocol, message: "no EXIT= marker in the output".into() })
        }
        (true, Some(code)) if !ok => {
            Some(Failure { class: FailureClass::Remote, message: format!("puppet exited {code}") })
        }
        _ => None,
    };
    PuppetRun {
        puppet_exit,
        ok,
        changes_applied: ok && puppet_exit == Some(2),
        output: strip_non_colour_escapes(&output),
        failure,
    }
}

/// Removes terminal escape sequences except SGR colours (`ESC [ … m`):
/// cursor moves, erases, OSC titles (ended by BEL or `ESC \`), the
/// alternate screen, `ESC c`, `ESC 7`/`ESC 8` and charset designators.
pub fn strip_non_colour_escapes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('[') => {
                let mut sequence = String::from("\u{1b}[");
                for next in chars.by_ref() {
                    sequence.push(next);
                    if ('\u{40}'..='\u{7e}').contains(&next) {
                        break;
                    }
                }
                if sequence.ends_with('m') {
                    out.push_str(&sequence);
                }
            }
            Some(']') => {
                while let Some(next) = chars.next() {
                    if next == '\u{7}' || (next == '\u{1b}' && chars.next_if_eq(&'\\').is_some()) {
                        break;
                    }
                }
            }
            Some('(' | ')' | '*' | '+') => {
                chars.next();
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(code: Option<i32>, stdout: &str, stderr: &str) -> RawAudit {
        RawAudit { exit_code: code, stdout: stdout.into(), stderr: stderr.into(), timed_out: false }
    }

    #[test]
    fn change_outcomes() {
        let cases = [
            (
                raw(Some(0), "CONTENT_CHANGED=1\nBACKUP_CREATED=/etc/puppet/ronin_settings.bak.20260101T000000Z\n", ""),
                ChangeOutcome::Written {
                    content_changed: true,
                    backup_path: Some("/etc/puppet/ronin_settings.bak.20260101T000000Z".into()),
                },
            ),
            (
                raw(Some(0), "CONTENT_CHANGED=0\nBACKUP_CREATED=\n", ""),
                ChangeOutcome::Written { content_changed: false, backup_path: None },
            ),
            (
                raw(Some(0), "REMOVED=1\nBACKUP_CREATED=\n", ""),
                ChangeOutcome::Removed { removed: true, backup_path: None },
            ),
            (
                raw(Some(0), "REMOVED=0\nBACKUP_CREATED=\n", ""),
                ChangeOutcome::Removed { removed: false, backup_path: None },
            ),
            (raw(Some(2), "OVERRIDE_EXISTS=1\n", "exists"), ChangeOutcome::Blocked),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_change(&input, "10 s"), expected);
        }
        let failures = [
            (raw(Some(3), "", "the contents arrived incomplete; /x is unchanged"), FailureClass::Protocol),
            (raw(Some(0), "", ""), FailureClass::Protocol),
            (raw(Some(255), "", "Connection refused"), FailureClass::Connection),
            (raw(Some(1), "", "sudo: a password is required"), FailureClass::Auth),
            (raw(Some(1), "", "mv: cannot move"), FailureClass::Remote),
        ];
        for (input, class) in failures {
            match parse_change(&input, "10 s") {
                ChangeOutcome::Failed(failure) => assert_eq!(failure.class, class, "{failure:?}"),
                other => panic!("expected a failure, got {other:?}"),
            }
        }
    }

    /// §9.1 item 23.
    #[test]
    fn puppet_runs() {
        let changed = parse_puppet_run(&raw(Some(0), "Notice: Applied catalog\r\nEXIT=2\r\n", ""), "600 s");
        assert!(changed.ok && changed.changes_applied);
        assert_eq!(changed.output, "Notice: Applied catalog");
        let failed = parse_puppet_run(&raw(Some(0), "Error: boom\nEXIT=1\n", ""), "600 s");
        assert!(!failed.ok && !failed.changes_applied);
        assert_eq!(failed.puppet_exit, Some(1));
        assert_eq!(failed.failure.unwrap().message, "puppet exited 1");
        let unchanged = parse_puppet_run(&raw(Some(0), "EXIT=0\n", ""), "600 s");
        assert!(unchanged.ok && !unchanged.changes_applied);
        let no_marker = parse_puppet_run(&raw(Some(0), "half", ""), "600 s");
        assert_eq!(no_marker.failure.unwrap().class, FailureClass::Protocol);
        let dropped = parse_puppet_run(&raw(Some(255), "", "Connection closed by 10.0.0.1"), "600 s");
        assert_eq!(dropped.failure.unwrap().class, FailureClass::Connection);
    }

    #[test]
    fn override_preflight() {
        let hosts: Vec<String> = ["same", "other", "none", "unknown"].map(String::from).into();
        let current = |host: &str| match host {
            "same" => Some("new"),
            "other" => Some("old"),
            _ => None,
        };
        let plain = preflight_override(&hosts, current, "new", false);
        assert_eq!(plain.already_current, ["same"]);
        assert_eq!(plain.has_other_override, ["other"]);
        let ignoring = preflight_override(&hosts, current, "new", true);
        assert!(ignoring.already_current.is_empty());
        assert_eq!(ignoring.has_other_override, ["same", "other"]);
    }

    #[test]
    fn escapes_other_than_colours_are_stripped() {
        let cases = [
            ("\u{1b}[0;32mNotice\u{1b}[0m", "\u{1b}[0;32mNotice\u{1b}[0m"),
            ("a\u{1b}[2Kb\u{1b}[1;1Hc", "abc"),
            ("\u{1b}]0;title\u{7}text", "text"),
            ("\u{1b}]2;title\u{1b}\\text", "text"),
            ("\u{1b}[?1049hscreen\u{1b}[?1049l", "screen"),
            ("\u{1b}cx\u{1b}7y\u{1b}8", "xy"),
            ("\u{1b}(Bplain\u{1b})0", "plain"),
        ];
        for (input, expected) in cases {
            assert_eq!(strip_non_colour_escapes(input), expected, "{input:?}");
        }
    }

    #[test]
    fn write_script_carries_the_checks() {
        let spec = WriteSpec {
            linux_path: "/etc/puppet/ronin_settings".into(),
            darwin_path: "/opt/puppet_environments/ronin_settings".into(),
            mode: "0644".into(),
            owner: "root".into(),
            group: "auto".into(),
            backup: true,
            replace_existing: false,
            sha256: "ab".repeat(32),
        };
        let script = write_script(&spec);
        assert!(script.contains("OVERRIDE_EXISTS=1"));
        assert!(script.contains(&format!("!= '{}'", "ab".repeat(32))));
        assert!(script.contains("tail -n +$2") && script.contains("sh \"$op\" 31"), "keeps the newest 30 backups");
        let forced = write_script(&WriteSpec { replace_existing: true, ..spec });
        assert!(!forced.contains("OVERRIDE_EXISTS=1"));
    }
}
