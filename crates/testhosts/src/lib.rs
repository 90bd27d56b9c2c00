//! Real OpenSSH test hosts for fleetroll's integration tests and benchmarks.
//!
//! fleetroll audits hosts by running commands over the operator's own `ssh`,
//! so the honest test double is a real `sshd`. A test host is an sshd bound to
//! its own loopback address (127.S.B.N, clear of 127.0.0.1) inside its own
//! mount and pid namespaces, with overlays over /etc, /root and /opt holding
//! that host's files (/etc/puppet_role, /root/vault.yaml, ...). Every host
//! sees its own files, the real /etc stays untouched, and the client reaches
//! each host by name through a generated ssh_config, the way operators
//! configure ssh. A [`Fleet`] is many such hosts started together; dropping
//! it stops every process it started.
//!
//! Needs root, `sshd`, `ssh-keygen`, `unshare`, `nsenter` and overlayfs; call
//! [`available`] first and skip (or, with [`services_required`], fail).

mod error;
mod hang;
mod system;

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener};
use std::os::unix::fs::{MetadataExt, PermissionsExt, chown};
use std::path::{Component, Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Once, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

pub use error::Error;
use hang::HangListeners;
use system::{MOUNT_SCRIPT, Programs, SET_FILE_SCRIPT, SSHD_SCRIPT, TOPS};

/// One test host to start: its name in the ssh_config, its files, how it behaves.
#[derive(Clone, Debug)]
pub struct HostSpec {
    /// What the client passes to ssh, e.g. `t-linux64-ms-001.test.releng.mdc1.mozilla.com`.
    /// Letters, digits, `.`, `-` and `_` only, so it is an exact ssh_config `Host` pattern.
    pub name: String,
    /// Files the host has on top of the machine's own /etc, /root and /opt.
    pub files: Vec<HostFile>,
    /// Whether and how the host answers.
    pub behaviour: Behaviour,
}

impl HostSpec {
    /// A host with the given files.
    pub fn new(name: impl Into<String>, behaviour: Behaviour, files: Vec<HostFile>) -> Self {
        Self { name: name.into(), files, behaviour }
    }
}

/// A file a test host sees at `path`; other hosts and the real machine do not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostFile {
    /// Absolute, under /etc, /root or /opt (the trees each host has an overlay over).
    pub path: PathBuf,
    /// The file's bytes.
    pub contents: Vec<u8>,
    /// Permission bits, e.g. `0o600` for /root/vault.yaml. The file is owned by root.
    pub mode: u32,
}

impl HostFile {
    /// A file at `path` with `contents` and permission bits `mode`.
    pub fn new(path: impl Into<PathBuf>, contents: impl Into<Vec<u8>>, mode: u32) -> Self {
        Self { path: path.into(), contents: contents.into(), mode }
    }
}

/// How a test host answers, covering what a fleet of real machines does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    /// A real sshd that accepts the fleet's client key; commands run as root.
    Up,
    /// Nothing listens at its address: ssh fails with "Connection refused".
    Down,
    /// Accepts TCP and never says anything: ssh fails only by its own timeout.
    Hang,
    /// A real sshd that does not accept our key: ssh fails with "Permission denied".
    RefuseKey,
}

/// Running test hosts, their keys and the ssh_config that reaches them.
///
/// Dropping it stops every process it started (sshds and everything in their
/// namespaces, the Hang listeners), waits for them and removes its temporary
/// directory. Drop runs when a test panics too; if the test process itself is
/// killed, each sshd sees its stdin pipe close and exits on its own.
#[derive(Debug)]
pub struct Fleet {
    hosts: Vec<Host>,
    port: u16,
    ssh_config: PathBuf,
    hang: Option<HangListeners>,
    // Fields drop in this order after `Drop::drop` has stopped the processes:
    // the directory goes, then the address range is released.
    dir: TempDir,
    _slot: File,
}

#[derive(Debug)]
struct Host {
    name: String,
    addr: Ipv4Addr,
    behaviour: Behaviour,
    /// Holds `files/` (staged files), `ns/` (the tmpfs mount point), the sshd config and log.
    dir: PathBuf,
    process: Option<HostProcess>,
}

#[derive(Debug)]
struct HostProcess {
    /// `unshare`, whose forked child is the host's sshd (pid 1 of its namespace).
    child: Child,
    /// Closing it tells the host to stop (see `SSHD_SCRIPT`).
    stdin: Option<ChildStdin>,
}

/// Hosts per fleet: third octet 1..=255, fourth 1..=254.
const MAX_HOSTS: usize = 255 * 254;

/// How the fleets' temporary directories are named.
const TEMP_PREFIX: &str = "fleetroll-testhosts.";

/// How long a graceful stop may take before the remaining processes are killed.
const STOP_GRACE: Duration = Duration::from_secs(5);

impl Fleet {
    /// Starts every host and returns once each Up and RefuseKey host listens.
    ///
    /// sshds start in parallel (all spawned, then polled together), so even
    /// 150 hosts take a few seconds.
    pub fn start(specs: Vec<HostSpec>) -> Result<Fleet, Error> {
        let programs = system::checked().map_err(Error::new)?;
        validate(&specs)?;
        fs::create_dir_all("/run/sshd").map_err(|e| Error::io("cannot create /run/sshd", e))?;
        let (slot, mut slot_lock) = claim_slot()?;
        let dir = fleet_tempdir().map_err(|e| Error::io("cannot create the fleet's temporary directory", e))?;
        take_over_slot(&mut slot_lock, dir.path());
        let port = pick_port(slot)?;

        let keys = Keys::generate(programs, dir.path(), specs.iter().any(|s| s.behaviour == Behaviour::RefuseKey))?;
        let hosts: Vec<Host> = specs
            .iter()
            .enumerate()
            .map(|(index, spec)| Host {
                name: spec.name.clone(),
                addr: host_address(slot, index),
                behaviour: spec.behaviour,
                dir: dir.path().join(format!("host-{index:05}")),
                process: None,
            })
            .collect();
        let ssh_config = dir.path().join("ssh_config");
        let mut fleet = Fleet { hosts, port, ssh_config, hang: None, dir, _slot: slot_lock };
        fleet.write_client_files(&keys)?;

        let mut hang_listeners = Vec::new();
        for (host, spec) in fleet.hosts.iter().zip(&specs) {
            stage_host_dir(&host.dir, &spec.files).map_err(|e| e.on_host(&host.name))?;
            if host.behaviour == Behaviour::Hang {
                let listener = TcpListener::bind(SocketAddrV4::new(host.addr, port))
                    .map_err(|e| Error::io(format!("cannot listen on {}:{port}", host.addr), e).on_host(&host.name))?;
                hang_listeners.push(listener);
            }
        }
        if !hang_listeners.is_empty() {
            let hang =
                HangListeners::start(hang_listeners).map_err(|e| Error::io("cannot start the Hang listeners", e))?;
            fleet.hang = Some(hang);
        }

        let penalties = fleet.check_sshd_config(programs, &keys)?;
        fleet.spawn_sshds(programs, &keys, penalties)?;
        let deadline = Instant::now() + Duration::from_secs(20) + Duration::from_millis(100) * fleet.hosts.len() as u32;
        fleet.wait_until_listening(deadline)?;
        Ok(fleet)
    }

    /// The generated ssh_config: one `Host <name>` block per host.
    pub fn ssh_config(&self) -> &Path {
        &self.ssh_config
    }

    /// The hosts' names, in the order they were given to [`Fleet::start`].
    pub fn names(&self) -> Vec<String> {
        self.hosts.iter().map(|h| h.name.clone()).collect()
    }

    /// What to put before the host name on an ssh command line: `-F <ssh_config>`.
    pub fn ssh_args(&self) -> Vec<String> {
        vec!["-F".to_owned(), self.ssh_config.to_string_lossy().into_owned()]
    }

    /// Replaces (or adds) a file a host sees, while it runs.
    ///
    /// Written through the host's own mount namespace (with `nsenter`), not
    /// into the overlay's upper directory from outside: overlayfs caches
    /// lookups, so a file created behind its back may stay invisible. The
    /// write is a rename, so a concurrent reader sees old or new contents.
    pub fn set_file(&self, host: &str, file: HostFile) -> Result<(), Error> {
        let target =
            self.hosts.iter().find(|h| h.name == host).ok_or_else(|| Error::new("no such host").on_host(host))?;
        check_file(&file).map_err(|e| Error::new(e).on_host(host))?;
        match &target.process {
            None => write_staged(&target.dir.join("files"), &file).map_err(|e| e.on_host(host)),
            Some(process) => {
                let programs = system::checked().map_err(Error::new)?;
                set_file_in_namespace(programs, process.child.id(), &file).map_err(|e| e.on_host(host))
            }
        }
    }

    fn write_client_files(&self, keys: &Keys) -> Result<(), Error> {
        let mut known_hosts = String::new();
        let mut config = String::from("# Generated by fleetroll-testhosts: one block per test host.\n");
        let dir = self.dir.path().display();
        for host in &self.hosts {
            known_hosts.push_str(&format!("[{}]:{} {}\n", host.addr, self.port, keys.host_public));
            config.push_str(&format!(
                "\nHost {name}\n    HostName {addr}\n    Port {port}\n    User root\n    IdentityFile {identity}\n    \
                 IdentitiesOnly yes\n    UserKnownHostsFile {dir}/known_hosts\n    GlobalKnownHostsFile /dev/null\n    \
                 StrictHostKeyChecking no\n    UpdateHostKeys no\n    LogLevel ERROR\n    ControlPath {dir}/cm-%C\n",
                name = host.name,
                addr = host.addr,
                port = self.port,
                identity = keys.client.display(),
            ));
        }
        write_file(&self.dir.path().join("known_hosts"), known_hosts.as_bytes(), 0o600)?;
        write_file(&self.ssh_config, config.as_bytes(), 0o644)
    }

    fn sshd_config(&self, host: &Host, keys: &Keys, penalties: bool) -> String {
        let authorized = match host.behaviour {
            Behaviour::RefuseKey => &keys.refused_authorized_keys,
            _ => &keys.authorized_keys,
        };
        let mut config = format!(
            "# Generated by fleetroll-testhosts for {name}.\n\
             ListenAddress {addr}:{port}\n\
             HostKey {host_key}\n\
             AuthorizedKeysFile {authorized}\n\
             PidFile {pid_file}\n\
             UsePAM no\n\
             StrictModes no\n\
             PermitRootLogin prohibit-password\n\
             PubkeyAuthentication yes\n\
             PasswordAuthentication no\n\
             KbdInteractiveAuthentication no\n\
             MaxStartups 200\n\
             MaxSessions 50\n\
             PrintMotd no\n\
             PrintLastLog no\n\
             X11Forwarding no\n\
             LogLevel ERROR\n",
            name = host.name,
            addr = host.addr,
            port = self.port,
            host_key = keys.host.display(),
            authorized = authorized.display(),
            pid_file = host.dir.join("sshd.pid").display(),
        );
        if penalties {
            // OpenSSH 9.8+ would start refusing 127.0.0.1 after a few failed or
            // unauthenticated connections, which tests make on purpose.
            config.push_str("PerSourcePenalties no\n");
        }
        config
    }

    /// Checks the first sshd host's config with `sshd -t` (one clear error
    /// instead of one per host) and finds out whether this sshd knows
    /// PerSourcePenalties.
    fn check_sshd_config(&self, programs: &Programs, keys: &Keys) -> Result<bool, Error> {
        static PENALTIES: OnceLock<bool> = OnceLock::new();
        let Some(host) = self.hosts.iter().find(|h| runs_sshd(h.behaviour)) else {
            return Ok(false);
        };
        let probe = self.dir.path().join("sshd_config.check");
        write_file(&probe, self.sshd_config(host, keys, false).as_bytes(), 0o644)?;
        let test = |extra: &[&str]| {
            Command::new(&programs.sshd)
                .args(["-t", "-f"])
                .arg(&probe)
                .args(extra)
                .stdin(Stdio::null())
                .output()
                .map_err(|e| Error::io(format!("cannot run {}", programs.sshd.display()), e))
        };
        let with_penalties: &[&str] = &["-o", "PerSourcePenalties=no"];
        let penalties = match PENALTIES.get() {
            Some(&known) => known,
            None => *PENALTIES.get_or_init(|| test(with_penalties).is_ok_and(|output| output.status.success())),
        };
        let output = test(if penalties { with_penalties } else { &[] })?;
        if !output.status.success() {
            return Err(Error::new(format!(
                "sshd -t rejects the generated config: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ))
            .on_host(&host.name));
        }
        Ok(penalties)
    }

    fn spawn_sshds(&mut self, programs: &Programs, keys: &Keys, penalties: bool) -> Result<(), Error> {
        let script = format!("{MOUNT_SCRIPT}{SSHD_SCRIPT}");
        for index in 0..self.hosts.len() {
            let host = &self.hosts[index];
            if !runs_sshd(host.behaviour) {
                continue;
            }
            let config = host.dir.join("sshd_config");
            write_file(&config, self.sshd_config(host, keys, penalties).as_bytes(), 0o644)
                .map_err(|e| e.on_host(&host.name))?;
            let log = File::create(host.dir.join("sshd.log"))
                .map_err(|e| Error::io("cannot create the sshd log", e).on_host(&host.name))?;
            let log_err = log.try_clone().map_err(|e| Error::io("cannot duplicate the log file", e))?;
            let mut child = programs
                .unshare()
                .arg(&script)
                .arg(format!("fleetroll-testhost-{index}"))
                .arg(&host.dir)
                .arg(&programs.sshd)
                .arg(&config)
                .stdin(Stdio::piped())
                .stdout(log)
                .stderr(log_err)
                .spawn()
                .map_err(|e| Error::io(format!("cannot run {}", programs.unshare.display()), e).on_host(&host.name))?;
            let stdin = child.stdin.take();
            self.hosts[index].process = Some(HostProcess { child, stdin });
        }
        Ok(())
    }

    /// Polls /proc/net/tcp until every sshd listens. Cheaper than connecting:
    /// each connection would make sshd fork and re-execute itself.
    fn wait_until_listening(&mut self, deadline: Instant) -> Result<(), Error> {
        let port = self.port;
        let mut pending: Vec<usize> = (0..self.hosts.len()).filter(|&i| self.hosts[i].process.is_some()).collect();
        loop {
            let listening = listening_sockets()?;
            pending.retain(|&i| !listening.contains(&(self.hosts[i].addr, port)));
            for &i in &pending {
                let host = &mut self.hosts[i];
                let Some(process) = host.process.as_mut() else { continue };
                if let Ok(Some(status)) = process.child.try_wait() {
                    let tail = log_tail(&host.dir.join("sshd.log"));
                    return Err(
                        Error::new(format!("sshd exited before listening ({status}); log: {tail}")).on_host(&host.name)
                    );
                }
            }
            let Some(&first) = pending.first() else { return Ok(()) };
            if Instant::now() > deadline {
                let host = &self.hosts[first];
                let tail = log_tail(&host.dir.join("sshd.log"));
                return Err(Error::new(format!(
                    "sshd not listening on {}:{port} in time ({} hosts still starting); log: {tail}",
                    host.addr,
                    pending.len()
                ))
                .on_host(&host.name));
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    fn stop(&mut self) {
        self.hang = None;
        // End of file on every stdin first, so all hosts stop at the same time.
        for process in self.hosts.iter_mut().filter_map(|h| h.process.as_mut()) {
            process.stdin = None;
        }
        let deadline = Instant::now() + STOP_GRACE;
        loop {
            let mut running = 0;
            for process in self.hosts.iter_mut().filter_map(|h| h.process.as_mut()) {
                if matches!(process.child.try_wait(), Ok(None)) {
                    running += 1;
                }
            }
            if running == 0 {
                break;
            }
            if Instant::now() > deadline {
                // SIGKILL to unshare; its --kill-child takes the namespace down with it.
                for process in self.hosts.iter_mut().filter_map(|h| h.process.as_mut()) {
                    if matches!(process.child.try_wait(), Ok(None)) {
                        let _ = process.child.kill();
                        let _ = process.child.wait();
                    }
                }
                break;
            }
            thread::sleep(Duration::from_millis(5));
        }
        for host in &mut self.hosts {
            host.process = None;
        }
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Whether we can run test hosts here; `Err` says why not.
///
/// True when we are root, sshd, ssh, ssh-keygen, unshare and nsenter exist,
/// and an overlay over /etc mounted inside `unshare --mount --pid` works (it
/// is tried, once per process).
pub fn available() -> Result<(), String> {
    system::checked().map(|_| ())?;
    system::find_program("ssh").map(|_| ()).ok_or_else(|| "ssh not found (in PATH or sbin)".to_owned())
}

/// Whether tests must fail, rather than be skipped, when [`available`] is `Err`
/// (`FLEETROLL_REQUIRE_SERVICES=1`, as in CI).
pub fn services_required() -> bool {
    std::env::var("FLEETROLL_REQUIRE_SERVICES").is_ok_and(|v| v == "1")
}

fn runs_sshd(behaviour: Behaviour) -> bool {
    matches!(behaviour, Behaviour::Up | Behaviour::RefuseKey)
}

fn host_address(slot: u8, index: usize) -> Ipv4Addr {
    let third = u8::try_from(1 + index / 254).expect("index checked against MAX_HOSTS");
    let fourth = u8::try_from(1 + index % 254).expect("below 255");
    Ipv4Addr::new(127, slot, third, fourth)
}

fn validate(specs: &[HostSpec]) -> Result<(), Error> {
    if specs.len() > MAX_HOSTS {
        return Err(Error::new(format!("{} hosts asked for, at most {MAX_HOSTS} per fleet", specs.len())));
    }
    let mut names = HashSet::new();
    for spec in specs {
        let name = &spec.name;
        let valid = !name.is_empty()
            && !name.starts_with('-')
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        if !valid {
            return Err(Error::new("a host name must be letters, digits, '.', '-' and '_' (an exact ssh_config Host)")
                .on_host(name));
        }
        if !names.insert(name.as_str()) {
            return Err(Error::new("host name given twice").on_host(name));
        }
        for file in &spec.files {
            check_file(file).map_err(|e| Error::new(e).on_host(name))?;
        }
    }
    Ok(())
}

/// The file's path below its top directory, e.g. `("etc", "puppet/ronin_settings")`.
fn split_path(path: &Path) -> Result<(&'static str, PathBuf), String> {
    let mut components = path.components();
    let shown = path.display();
    if components.next() != Some(Component::RootDir) {
        return Err(format!("{shown}: a host file's path must be absolute"));
    }
    let top = match components.next() {
        Some(Component::Normal(top)) => TOPS.into_iter().find(|t| top == *t),
        _ => None,
    };
    let top = top.ok_or_else(|| format!("{shown}: a host file must be under /etc, /root or /opt"))?;
    let mut rest = PathBuf::new();
    for component in components {
        match component {
            Component::Normal(part) => rest.push(part),
            _ => return Err(format!("{shown}: no '.' or '..' in a host file's path")),
        }
    }
    if rest.as_os_str().is_empty() {
        return Err(format!("{shown}: a host file must be a file below /{top}, not /{top} itself"));
    }
    Ok((top, rest))
}

fn check_file(file: &HostFile) -> Result<(), String> {
    split_path(&file.path)?;
    if file.mode & !0o7777 != 0 {
        return Err(format!("{}: mode {:o} has bits beyond 0o7777", file.path.display(), file.mode));
    }
    Ok(())
}

/// Where the fleets' address-range lock files live: /run, shared by every
/// process whatever its TMPDIR.
const LOCK_DIR: &str = "/run/fleetroll-testhosts";

/// Claims a second octet (an address range 127.S.*.*) for this fleet.
///
/// A lock file per octet, held until the fleet is dropped; the kernel releases
/// it if the process dies. Fleets in parallel test threads or test binaries
/// therefore never share addresses.
fn claim_slot() -> Result<(u8, File), Error> {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    static SWEPT: Once = Once::new();
    let dir = Path::new(LOCK_DIR);
    fs::create_dir_all(dir).map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
    SWEPT.call_once(sweep_leftovers);
    let start = std::process::id() as usize + NEXT.fetch_add(1, Ordering::Relaxed);
    for offset in 0..256 {
        let slot = u8::try_from((start + offset) % 256).expect("below 256");
        let path = dir.join(format!("slot-{slot}.lock"));
        let file = open_lock(&path).map_err(|e| Error::io(format!("cannot open {}", path.display()), e))?;
        match file.try_lock() {
            Ok(()) => return Ok((slot, file)),
            Err(TryLockError::WouldBlock) => continue,
            Err(TryLockError::Error(e)) => return Err(Error::io(format!("cannot lock {}", path.display()), e)),
        }
    }
    Err(Error::new("all 256 address ranges are taken by other fleets"))
}

fn open_lock(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).truncate(false).read(true).write(true).open(path)
}

/// Records the fleet's directory in its lock file, so that whoever holds the
/// slot next can remove it if this process is killed before Drop runs.
fn take_over_slot(lock: &mut File, dir: &Path) {
    remove_leftovers(lock);
    let _ = lock.write_all(dir.as_os_str().as_encoded_bytes());
}

/// Once per process: removes the directories of fleets whose process was
/// killed (their lock is free, so no one uses them; their sshds stopped by
/// themselves). Best effort: leftovers only cost disk.
fn sweep_leftovers() {
    let Ok(entries) = fs::read_dir(LOCK_DIR) else { return };
    for entry in entries.flatten() {
        let is_lock = entry.file_name().to_str().is_some_and(|n| n.starts_with("slot-") && n.ends_with(".lock"));
        if let Some(mut lock) = is_lock.then(|| open_lock(&entry.path()).ok()).flatten()
            && lock.try_lock().is_ok()
        {
            remove_leftovers(&mut lock);
        }
    }
}

/// Removes the directory a locked slot file names and empties the file.
fn remove_leftovers(lock: &mut File) {
    let mut previous = String::new();
    let _ = lock.read_to_string(&mut previous);
    let previous = Path::new(previous.trim());
    let ours = previous.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(TEMP_PREFIX));
    if ours && previous.is_absolute() && previous.is_dir() {
        let _ = fs::remove_dir_all(previous);
    }
    let _ = lock.set_len(0);
    let _ = lock.seek(SeekFrom::Start(0));
}

/// A port free on the fleet's first address; every host of the fleet uses it.
fn pick_port(slot: u8) -> Result<u16, Error> {
    let addr = host_address(slot, 0);
    let listener = TcpListener::bind(SocketAddrV4::new(addr, 0))
        .map_err(|e| Error::io(format!("cannot bind {addr}:0 to pick a port"), e))?;
    let port = listener.local_addr().map_err(|e| Error::io("cannot read the picked port", e))?.port();
    Ok(port)
}

/// The fleet's temporary directory, in TMPDIR unless that lies under a tree
/// the hosts overlay (or has characters the overlay options cannot carry).
pub(crate) fn fleet_tempdir() -> io::Result<TempDir> {
    let base = std::env::temp_dir();
    let overlaid = TOPS.iter().any(|top| base.starts_with(Path::new("/").join(top)));
    let awkward = base.to_str().is_none_or(|s| s.contains(|c: char| c == ',' || c == ':' || c.is_whitespace()));
    let base = if overlaid || awkward || !base.is_absolute() { PathBuf::from("/tmp") } else { base };
    tempfile::Builder::new().prefix(TEMP_PREFIX).tempdir_in(base)
}

/// Lays out a host's directory: `ns/` and `files/{etc,root,opt}` with `files`.
pub(crate) fn stage_host_dir(dir: &Path, files: &[HostFile]) -> Result<(), Error> {
    let staged = dir.join("files");
    for path in [dir.to_owned(), dir.join("ns"), staged.clone()] {
        fs::create_dir_all(&path).map_err(|e| Error::io(format!("cannot create {}", path.display()), e))?;
    }
    for top in TOPS {
        mkdir_like(&staged.join(top), &Path::new("/").join(top))?;
    }
    for file in files {
        write_staged(&staged, file)?;
    }
    Ok(())
}

/// Writes a file into a host's staging tree, creating its directories.
fn write_staged(staged: &Path, file: &HostFile) -> Result<(), Error> {
    let (top, rest) = split_path(&file.path).map_err(Error::new)?;
    let mut real = Path::new("/").join(top);
    let mut target = staged.join(top);
    let parts: Vec<_> = rest.components().collect();
    let (name, parents) = parts.split_last().expect("split_path returns a non-empty path");
    for part in parents {
        real.push(part);
        target.push(part);
        mkdir_like(&target, &real)?;
    }
    write_file(&target.join(name), &file.contents, file.mode)
}

/// Creates a staged directory with the mode and owner of the real one it will
/// merge with: an overlay shows the upper directory's attributes, so a staged
/// `/root` with mode 0755 would make the host's /root world-readable.
fn mkdir_like(staged: &Path, real: &Path) -> Result<(), Error> {
    let fail = |what: &str, e| Error::io(format!("cannot {what} {}", staged.display()), e);
    match fs::create_dir(staged) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(()),
        Err(e) => return Err(fail("create", e)),
    }
    let (mode, uid, gid) = match fs::metadata(real) {
        Ok(m) if m.is_dir() => (m.mode() & 0o7777, m.uid(), m.gid()),
        _ => (0o755, 0, 0),
    };
    fs::set_permissions(staged, fs::Permissions::from_mode(mode)).map_err(|e| fail("set the mode of", e))?;
    chown(staged, Some(uid), Some(gid)).map_err(|e| fail("chown", e))
}

fn write_file(path: &Path, contents: &[u8], mode: u32) -> Result<(), Error> {
    let fail = |e| Error::io(format!("cannot write {}", path.display()), e);
    fs::write(path, contents).map_err(fail)?;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(fail)
}

fn set_file_in_namespace(programs: &Programs, pid: u32, file: &HostFile) -> Result<(), Error> {
    let mut child = Command::new(&programs.nsenter)
        .arg(format!("--mount=/proc/{pid}/ns/mnt"))
        .arg("--")
        .arg(&programs.sh)
        .arg("-c")
        .arg(SET_FILE_SCRIPT)
        .arg("fleetroll-set-file")
        .arg(&file.path)
        .arg(format!("{:o}", file.mode))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::io(format!("cannot run {}", programs.nsenter.display()), e))?;
    let mut stdin = child.stdin.take().expect("stdin is piped");
    // A failed write shows up as the script's failure below.
    let written = stdin.write_all(&file.contents);
    drop(stdin);
    let output = child.wait_with_output().map_err(|e| Error::io("cannot wait for nsenter", e))?;
    if !output.status.success() || written.is_err() {
        return Err(Error::new(format!(
            "cannot write {} inside the host ({}): {}",
            file.path.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(())
}

/// Listening IPv4 TCP sockets, from /proc/net/tcp.
fn listening_sockets() -> Result<HashSet<(Ipv4Addr, u16)>, Error> {
    let table = fs::read_to_string("/proc/net/tcp").map_err(|e| Error::io("cannot read /proc/net/tcp", e))?;
    let mut listening = HashSet::new();
    for line in table.lines().skip(1) {
        let mut fields = line.split_whitespace();
        let (Some(local), Some(state)) = (fields.nth(1), fields.nth(1)) else { continue };
        if state != "0A" {
            continue;
        }
        let Some((addr, port)) = local.split_once(':') else { continue };
        let (Ok(addr), Ok(port)) = (u32::from_str_radix(addr, 16), u16::from_str_radix(port, 16)) else {
            continue;
        };
        // The kernel prints the address's network-order bytes as a native integer.
        listening.insert((Ipv4Addr::from(addr.to_ne_bytes()), port));
    }
    Ok(listening)
}

/// The end of a host's sshd log, for error messages.
fn log_tail(path: &Path) -> String {
    const TAIL: u64 = 2000;
    let mut text = String::new();
    if let Ok(mut file) = File::open(path) {
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        let _ = file.seek(SeekFrom::Start(len.saturating_sub(TAIL)));
        let mut bytes = Vec::new();
        let _ = file.read_to_end(&mut bytes);
        text = String::from_utf8_lossy(&bytes).trim().to_owned();
    }
    if text.is_empty() { "(empty)".to_owned() } else { text }
}

/// The fleet's keys: one host key for every host, our client key, and the key
/// RefuseKey hosts accept instead of ours.
#[derive(Debug)]
struct Keys {
    host: PathBuf,
    host_public: String,
    client: PathBuf,
    authorized_keys: PathBuf,
    refused_authorized_keys: PathBuf,
}

impl Keys {
    fn generate(programs: &Programs, dir: &Path, refuse: bool) -> Result<Self, Error> {
        let host = dir.join("host_ed25519");
        let client = dir.join("client_ed25519");
        let other = dir.join("other_ed25519");
        let wanted: Vec<&Path> = if refuse { vec![&host, &client, &other] } else { vec![&host, &client] };
        let children = wanted
            .iter()
            .map(|path| {
                Command::new(&programs.ssh_keygen)
                    .args(["-q", "-N", "", "-t", "ed25519", "-C", "fleetroll-testhosts", "-f"])
                    .arg(path)
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .map_err(|e| Error::io(format!("cannot run {}", programs.ssh_keygen.display()), e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        for child in children {
            let output = child.wait_with_output().map_err(|e| Error::io("cannot wait for ssh-keygen", e))?;
            if !output.status.success() {
                return Err(Error::new(format!(
                    "ssh-keygen failed ({}): {}",
                    output.status,
                    String::from_utf8_lossy(&output.stderr).trim()
                )));
            }
        }
        let public = |key: &Path| {
            let path = key.with_extension("pub");
            fs::read_to_string(&path).map_err(|e| Error::io(format!("cannot read {}", path.display()), e))
        };
        let host_public = public(&host)?.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
        let authorized_keys = dir.join("authorized_keys");
        write_file(&authorized_keys, public(&client)?.as_bytes(), 0o644)?;
        let refused_authorized_keys = dir.join("authorized_keys.refuse");
        let refused = if refuse { public(&other)? } else { String::new() };
        write_file(&refused_authorized_keys, refused.as_bytes(), 0o644)?;
        Ok(Self { host, host_public, client, authorized_keys, refused_authorized_keys })
    }
}

/// A scenario that needs test hosts; it starts its own fleet.
pub type Case = fn() -> Result<(), libtest_mimic::Failed>;

/// Runs `cases` as the trials of a test binary (`harness = false`) and
/// exits. Where test hosts cannot run here the trials are reported as
/// ignored, with the reason on stderr, never as passed; with
/// `FLEETROLL_REQUIRE_SERVICES=1` they fail instead.
pub fn run_cases(cases: &[(&'static str, Case)]) -> ! {
    let args = libtest_mimic::Arguments::from_args();
    let unavailable = available().err();
    let required = services_required();
    if let Some(why) = &unavailable {
        let outcome = if required { "fail (FLEETROLL_REQUIRE_SERVICES=1)" } else { "are reported as ignored" };
        eprintln!("sshd test hosts are unavailable ({why}): their cases {outcome}");
    }
    let trials = cases
        .iter()
        .map(|&(name, case)| {
            let why = unavailable.clone();
            libtest_mimic::Trial::test(name, move || match why {
                Some(why) => Err(format!("test hosts unavailable: {why}").into()),
                None => case(),
            })
            .with_ignored_flag(unavailable.is_some() && !required)
        })
        .collect();
    libtest_mimic::run(&args, trials).exit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_skip_zero_and_255() {
        assert_eq!(host_address(0, 0), Ipv4Addr::new(127, 0, 1, 1));
        assert_eq!(host_address(0, 253), Ipv4Addr::new(127, 0, 1, 254));
        assert_eq!(host_address(0, 254), Ipv4Addr::new(127, 0, 2, 1));
        assert_eq!(host_address(7, MAX_HOSTS - 1), Ipv4Addr::new(127, 7, 255, 254));
    }

    #[test]
    fn host_files_must_be_under_the_overlaid_trees() {
        assert_eq!(
            split_path(Path::new("/etc/puppet/ronin_settings")).unwrap(),
            ("etc", "puppet/ronin_settings".into())
        );
        assert_eq!(split_path(Path::new("/root/vault.yaml")).unwrap(), ("root", "vault.yaml".into()));
        for bad in ["etc/puppet_role", "/var/x", "/etc", "/etc/../var/x", "/etcetera/x", "/etc/"] {
            assert!(split_path(Path::new(bad)).is_err(), "{bad} accepted");
        }
        assert!(check_file(&HostFile::new("/etc/x", "", 0o100644)).is_err());
    }

    #[test]
    fn host_names_are_exact_ssh_config_patterns() {
        let spec = |name: &str| HostSpec::new(name, Behaviour::Down, Vec::new());
        assert!(validate(&[spec("t-linux64-ms-001.test.releng.mdc1.mozilla.com"), spec("b_2")]).is_ok());
        for bad in ["", "web*", "a b", "!x", "-oProxyCommand=x"] {
            let err = validate(&[spec(bad)]).unwrap_err();
            assert_eq!(err.host(), Some(bad));
        }
        let err = validate(&[spec("a"), spec("a")]).unwrap_err();
        assert!(err.to_string().contains("twice"), "{err}");
    }

    #[test]
    fn error_names_the_host() {
        let err = Error::io("cannot write /x", io::Error::other("disk full")).on_host("h1");
        assert_eq!(err.to_string(), "test host h1: cannot write /x: disk full");
        assert_eq!(Error::new("nope").to_string(), "test hosts: nope");
    }
}
