//! Running one tool: no shell, no stdin, output captured, a hard timeout.

use std::process::Stdio;
use std::time::Duration;

use fleetroll_core::gather::RawAudit;
use fleetroll_core::jobs::commands::{Command, PrivateConf};

/// How one run of a tool ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    Exited(i32),
    /// Killed by a signal we did not send.
    Signalled,
    /// Still running at the timeout, and killed.
    TimedOut(Duration),
    /// It could not be started (missing program, permissions).
    NotStarted(String),
}

/// One run: its end and its output (stdout, then stderr), secrets
/// replaced, trimmed and clipped to what a log line can carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Ran {
    pub(crate) status: Status,
    pub(crate) output: String,
}

/// Output beyond this is cut, keeping the end (where tools say what failed).
const MAX_OUTPUT: usize = 2000;

impl Ran {
    pub(crate) fn ok(&self) -> bool {
        self.status == Status::Exited(0)
    }

    /// `exit 0: Chassis Power is on`, `timed out after 30s and was killed`, …
    pub(crate) fn describe(&self) -> String {
        let status = match &self.status {
            Status::Exited(code) => format!("exit {code}"),
            Status::Signalled => "killed by a signal".to_owned(),
            Status::TimedOut(limit) => format!("timed out after {} and was killed", seconds(*limit)),
            Status::NotStarted(why) => return format!("could not be started: {why}"),
        };
        if self.output.is_empty() { status } else { format!("{status}: {}", one_line(&self.output)) }
    }

    /// The same for an `ssh` run made by `fleetroll_remote::ssh`.
    pub(crate) fn from_ssh(raw: &RawAudit, timeout: Duration) -> Ran {
        let status = match raw.exit_code {
            _ if raw.timed_out => Status::TimedOut(timeout),
            Some(code) => Status::Exited(code),
            None => Status::Signalled,
        };
        Ran { status, output: clean_output(&raw.stdout, &raw.stderr, &[]) }
    }
}

/// Runs `command` and waits at most `timeout`. The child is killed if the
/// timeout passes or the caller drops the future.
pub(crate) async fn run(command: &Command, timeout: Duration) -> Ran {
    let secrets: Vec<&str> = command.secrets().collect();
    let mut child = tokio::process::Command::new(&command.program);
    // Lives until the tool has ended; removed with its file when dropped.
    let conf_dir = match command.conf.as_ref().map(write_private_conf).transpose() {
        Ok(dir) => dir,
        Err(err) => {
            let why = format!("cannot write the private configuration of {}: {err}", command.program);
            return Ran { status: Status::NotStarted(why), output: String::new() };
        }
    };
    if let Some((name, dir)) = &conf_dir {
        child.env(name, dir.path());
    }
    child
        .args(&command.args)
        .envs(command.env.iter().map(|(name, secret)| (name, secret.expose())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // A timed-out wait drops the child, and with it the process.
        .kill_on_drop(true);
    let child = match child.spawn() {
        Ok(child) => child,
        Err(err) => {
            let why = format!("{}: {err}", command.program);
            return Ran { status: Status::NotStarted(why), output: String::new() };
        }
    };
    match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(Ok(output)) => {
            let status = output.status.code().map_or(Status::Signalled, Status::Exited);
            Ran { status, output: clean_output(&output.stdout, &output.stderr, &secrets) }
        }
        Ok(Err(err)) => {
            Ran { status: Status::NotStarted(format!("{}: {err}", command.program)), output: String::new() }
        }
        Err(_elapsed) => Ran { status: Status::TimedOut(timeout), output: String::new() },
    }
}

/// A directory only we can enter (tempfile makes it 0700) holding the
/// file, itself 0600, and the variable that names it to the tool.
fn write_private_conf(conf: &PrivateConf) -> std::io::Result<(&'static str, tempfile::TempDir)> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;

    let dir = tempfile::Builder::new().prefix("fleetroll-tool-").tempdir()?;
    let mut file =
        std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(dir.path().join(conf.file_name))?;
    file.write_all(conf.text().as_bytes())?;
    Ok((conf.dir_env, dir))
}

fn clean_output(stdout: &[u8], stderr: &[u8], secrets: &[&str]) -> String {
    let mut text = String::from_utf8_lossy(stdout).trim().to_owned();
    let stderr = String::from_utf8_lossy(stderr);
    if !stderr.trim().is_empty() {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(stderr.trim());
    }
    text = scrub(&text, secrets);
    clip(&text)
}

/// `text` with every secret replaced by `***`: a tool may echo its
/// arguments in an error message.
pub(crate) fn scrub(text: &str, secrets: &[&str]) -> String {
    let mut text = text.to_owned();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        text = text.replace(secret, "***");
    }
    text
}

fn clip(text: &str) -> String {
    if text.len() <= MAX_OUTPUT {
        return text.to_owned();
    }
    let mut start = text.len() - MAX_OUTPUT;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    format!("…{}", &text[start..])
}

/// Lines joined with ` | `, so tool output cannot add lines to a job log.
pub(crate) fn one_line(text: &str) -> String {
    text.split(['\n', '\r']).map(str::trim).filter(|part| !part.is_empty()).collect::<Vec<_>>().join(" | ")
}

/// `3s` as core's log details write durations, or `1.5s` when there is a
/// fraction (test timeouts have one).
pub(crate) fn seconds(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{:.1}s", duration.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_reach_the_output() {
        assert_eq!(scrub("-P hunter2 failed: hunter2", &["hunter2", ""]), "-P *** failed: ***");
        let ran = Ran { status: Status::Exited(1), output: "a\nb\r\nc".into() };
        assert_eq!(ran.describe(), "exit 1: a | b | c");
    }

    #[test]
    fn long_output_keeps_its_end() {
        let long = format!("{}end", "é".repeat(3000));
        let clipped = clip(&long);
        assert!(clipped.ends_with("end") && clipped.starts_with('…'));
        assert!(clipped.len() <= MAX_OUTPUT + '…'.len_utf8());
    }

    #[test]
    fn durations_read_as_seconds() {
        assert_eq!(seconds(Duration::from_secs(30)), "30s");
        assert_eq!(seconds(Duration::from_millis(1500)), "1.5s");
    }
}
