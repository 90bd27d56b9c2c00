//! What a fleet needs from the machine, and the shell scripts it runs there.
//!
//! Everything privileged happens in child processes (`unshare`, `mount`,
//! `nsenter`), so this crate needs no `unsafe` and no libc binding.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The three trees each test host gets its own overlay over.
pub(crate) const TOPS: [&str; 3] = ["etc", "root", "opt"];

/// Runs inside the new mount namespace with `$1` = the host's directory.
///
/// The overlays' upper and work directories live on a tmpfs mounted inside
/// the namespace, not in the host directory: overlayfs refuses an upper
/// directory on overlayfs (a container's root), and a tmpfs works wherever
/// overlayfs does. The host's files are staged in `$1/files/{etc,root,opt}`
/// (whose own modes become the modes of /etc, /root and /opt inside) and
/// copied in before the overlays are mounted.
pub(crate) const MOUNT_SCRIPT: &str = r#"d="$1"
mount -t tmpfs -o mode=0700 fleetroll-testhost "$d/ns" || exit 97
mkdir -p "$d/ns/upper" "$d/ns/work/etc" "$d/ns/work/root" "$d/ns/work/opt" || exit 97
cp -a "$d/files/etc" "$d/files/root" "$d/files/opt" "$d/ns/upper/" || exit 97
for top in etc root opt; do
    mount -t overlay fleetroll-testhost -o "lowerdir=/$top,upperdir=$d/ns/upper/$top,workdir=$d/ns/work/$top" "/$top" || exit 97
done
"#;

/// Follows [`MOUNT_SCRIPT`] for a real host, with `$2` = sshd, `$3` = its config.
///
/// sshd becomes pid 1 of the host's pid namespace, so when it exits the kernel
/// kills everything else in the namespace (sessions, their children). A
/// watcher reads the pipe on our stdin: when the fleet is dropped, or this
/// process dies in any way, the pipe reaches end of file and the watcher sends
/// SIGTERM to sshd. pid 1 of a namespace only gets the signals it handles,
/// and sshd handles SIGTERM only once it listens, so the watcher repeats it
/// until the namespace goes away.
pub(crate) const SSHD_SCRIPT: &str = r#"exec 3<&0 </dev/null
{ read -r _ <&3; while kill -TERM 1; do sleep 0.1; done; } &
exec "$2" -D -e -f "$3" 3<&-
"#;

/// Writes stdin to `$1` with mode `$2` inside a host's mount namespace.
///
/// Through a temporary file and a rename, so a reader sees the old contents or
/// the new, never a half-written file.
pub(crate) const SET_FILE_SCRIPT: &str = r#"set -e
path="$1"; tmp="$1.fleetroll-new"
mkdir -p -- "${path%/*}"
cat > "$tmp"
chmod "$2" "$tmp"
mv -f -- "$tmp" "$path"
"#;

/// The programs a fleet runs, found once.
#[derive(Debug, Clone)]
pub(crate) struct Programs {
    pub(crate) sshd: PathBuf,
    pub(crate) unshare: PathBuf,
    pub(crate) nsenter: PathBuf,
    pub(crate) ssh_keygen: PathBuf,
    pub(crate) sh: PathBuf,
}

impl Programs {
    pub(crate) fn find() -> Result<Self, String> {
        let need = |name: &str| find_program(name).ok_or_else(|| format!("{name} not found (in PATH or sbin)"));
        Ok(Self {
            // sshd re-executes itself for each connection, which needs an absolute path.
            sshd: need("sshd")?,
            unshare: need("unshare")?,
            nsenter: need("nsenter")?,
            ssh_keygen: need("ssh-keygen")?,
            sh: need("sh")?,
        })
    }

    /// `unshare` with the namespaces every host (and the availability probe) uses.
    pub(crate) fn unshare(&self) -> Command {
        let mut command = Command::new(&self.unshare);
        command.args(["--mount", "--propagation", "private", "--pid", "--fork", "--kill-child", "--mount-proc", "--"]);
        command.arg(&self.sh).arg("-c");
        command
    }
}

/// Finds an executable in PATH, then in the sbin directories a non-login
/// shell of root may lack.
pub(crate) fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let fallback = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];
    std::env::split_paths(&path)
        .chain(fallback.iter().map(PathBuf::from))
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The effective uid, from /proc (no libc here).
fn effective_uid() -> Result<u32, String> {
    let status = fs::read_to_string("/proc/self/status").map_err(|e| format!("cannot read /proc/self/status: {e}"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .and_then(|euid| euid.parse().ok())
        .ok_or_else(|| "no Uid line in /proc/self/status".to_owned())
}

/// The programs, once it is known the machine can run test hosts.
pub(crate) fn checked() -> Result<&'static Programs, String> {
    static CHECK: OnceLock<Result<Programs, String>> = OnceLock::new();
    CHECK.get_or_init(check).as_ref().map_err(Clone::clone)
}

fn check() -> Result<Programs, String> {
    let euid = effective_uid()?;
    if euid != 0 {
        return Err(format!("test hosts need root (mount namespaces, overlayfs, sshd); effective uid is {euid}"));
    }
    let programs = Programs::find()?;
    for top in TOPS {
        if !Path::new("/").join(top).is_dir() {
            return Err(format!("/{top} is not a directory"));
        }
    }
    probe_overlay(&programs)?;
    Ok(programs)
}

/// Mounts the overlays the way a host does and reads a staged file through them.
fn probe_overlay(programs: &Programs) -> Result<(), String> {
    let dir = crate::fleet_tempdir().map_err(|e| format!("cannot make a temporary directory: {e}"))?;
    let probe = "fleetroll-testhosts-probe";
    crate::stage_host_dir(dir.path(), &[]).map_err(|e| e.to_string())?;
    fs::write(dir.path().join("files/etc").join(probe), "overlay works\n")
        .map_err(|e| format!("cannot write the probe file: {e}"))?;
    let script = format!("{MOUNT_SCRIPT}exec cat /etc/{probe}\n");
    let output = programs
        .unshare()
        .arg(script)
        .arg("fleetroll-testhosts-probe")
        .arg(dir.path())
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", programs.unshare.display()))?;
    if !output.status.success() || output.stdout != b"overlay works\n" {
        return Err(format!(
            "an overlay over /etc inside `unshare --mount --pid` does not work ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    if Path::new("/etc").join(probe).exists() {
        return Err("the probe file written inside the mount namespace showed up in the real /etc".to_owned());
    }
    Ok(())
}
