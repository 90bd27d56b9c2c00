//! One `ssh` invocation: arguments, timeout, captured output.

use std::process::Stdio;
use std::time::Duration;

use fleetroll_core::gather::RawAudit;
use tokio::io::AsyncWriteExt as _;
use tokio::process::Command;

/// How to call ssh.
#[derive(Clone, Debug)]
pub struct SshSettings {
    /// The client binary (`ssh` on PATH unless configured).
    pub program: String,
    /// `--ssh-option` values, already split into words. They come before
    /// fleetroll's own `-o` defaults: ssh takes the first value it sees for
    /// an option, so an operator's choice wins.
    pub options: Vec<String>,
    /// `ConnectTimeout`, in seconds.
    pub connect_timeout: u64,
    /// The whole command's limit, connection included.
    pub timeout: Duration,
    /// Keep each host's connection open in this directory (OpenSSH
    /// ControlMaster) for `control_persist` after use, so the next run skips
    /// the handshake, which is most of an audit's cost.
    pub control_dir: Option<std::path::PathBuf>,
    pub control_persist: Duration,
}

impl Default for SshSettings {
    fn default() -> Self {
        SshSettings {
            program: "ssh".into(),
            options: Vec::new(),
            connect_timeout: 10,
            timeout: Duration::from_secs(10),
            control_dir: None,
            control_persist: Duration::from_secs(600),
        }
    }
}

impl SshSettings {
    /// The full argument list for running `remote_command` on `destination`.
    pub fn args(&self, destination: &str, remote_command: &str) -> Vec<String> {
        let mut args = vec!["-o".to_owned(), "BatchMode=yes".to_owned()];
        args.extend(self.options.iter().cloned());
        for default in [
            format!("ConnectTimeout={}", self.connect_timeout),
            // Hosts are reimaged often, so their keys change: audits (which
            // only read) accept whatever key a host presents, as the MVP did.
            "StrictHostKeyChecking=no".to_owned(),
            "UserKnownHostsFile=/dev/null".to_owned(),
            "LogLevel=ERROR".to_owned(),
        ] {
            args.push("-o".to_owned());
            args.push(default);
        }
        if let Some(dir) = &self.control_dir {
            for option in [
                "ControlMaster=auto".to_owned(),
                format!("ControlPath={}/%C", dir.display()),
                format!("ControlPersist={}", self.control_persist.as_secs()),
            ] {
                args.push("-o".to_owned());
                args.push(option);
            }
        }
        args.push("--".to_owned());
        args.push(destination.to_owned());
        args.push(remote_command.to_owned());
        args
    }
}

/// Runs `remote_command` on `destination`, feeding `stdin` if given, and
/// waits at most `timeout` (the smaller of the per-host timeout and what is
/// left of the batch). The child is killed when the time is up.
pub async fn run(
    settings: &SshSettings,
    destination: &str,
    remote_command: &str,
    stdin: Option<&[u8]>,
    timeout: Duration,
) -> RawAudit {
    let mut command = Command::new(&settings.program);
    command
        .args(settings.args(destination, remote_command))
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(err) => {
            return RawAudit {
                exit_code: Some(255),
                stderr: format!("ssh: cannot start {}: {err}", settings.program).into_bytes(),
                ..RawAudit::default()
            };
        }
    };
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        // A host that closes early makes this fail; its exit status says why.
        let _ = pipe.write_all(input).await;
    }
    match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(Ok(output)) => {
            RawAudit { exit_code: output.status.code(), stdout: output.stdout, stderr: output.stderr, timed_out: false }
        }
        Ok(Err(err)) => {
            RawAudit { exit_code: Some(255), stderr: format!("ssh: {err}").into_bytes(), ..RawAudit::default() }
        }
        Err(_elapsed) => RawAudit { exit_code: None, timed_out: true, ..RawAudit::default() },
    }
}
