//! Test hosts driven by the real `ssh` client, the way fleetroll drives them.
//!
//! Without root, sshd or overlayfs every case is reported as ignored (the
//! reason goes to stderr); with `FLEETROLL_REQUIRE_SERVICES=1` they fail.

use std::fs::{self, File};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use fleetroll_testhosts::{Behaviour, Fleet, HostFile, HostSpec};
use libtest_mimic::Failed;

use fleetroll_testhosts::Case;

const CASES: &[(&str, Case)] = &[
    ("hosts_see_their_own_files", hosts_see_their_own_files),
    ("vault_is_readable_through_sudo", vault_is_readable_through_sudo),
    ("set_file_changes_what_the_host_sees", set_file_changes_what_the_host_sees),
    ("down_host_refuses_connections", down_host_refuses_connections),
    ("refuse_key_host_denies_our_key", refuse_key_host_denies_our_key),
    ("hang_host_times_out", hang_host_times_out),
    ("host_that_cannot_start_is_reported", host_that_cannot_start_is_reported),
    ("drop_stops_every_process", drop_stops_every_process),
    ("parallel_fleets_do_not_collide", parallel_fleets_do_not_collide),
    ("many_hosts_start_quickly_and_answer", many_hosts_start_quickly_and_answer),
];

fn main() {
    fleetroll_testhosts::run_cases(CASES);
}

const DOMAIN: &str = "test.releng.mdc1.mozilla.com";

fn name(n: usize) -> String {
    format!("t-linux64-ms-{n:03}.{DOMAIN}")
}

fn role(role: &str) -> HostFile {
    HostFile::new("/etc/puppet_role", format!("{role}\n"), 0o644)
}

fn up(n: usize, files: Vec<HostFile>) -> HostSpec {
    HostSpec::new(name(n), Behaviour::Up, files)
}

/// What one ssh run did.
#[derive(Debug)]
struct Ran {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

impl Ran {
    fn expect_ok(self, what: &str) -> Result<String, Failed> {
        if self.code != Some(0) {
            return Err(format!("{what}: ssh exited {:?}: {}", self.code, self.stderr.trim()).into());
        }
        Ok(self.stdout)
    }
}

/// Runs `ssh <fleet args> -o BatchMode=yes -o ConnectTimeout=3 <extra> host command`,
/// killing it after 20 s so no case can hang. `extra` comes first so that it
/// wins over the defaults (ssh keeps the first value it is given).
fn ssh(fleet: &Fleet, host: &str, command: &str, extra: &[&str]) -> Result<Ran, Failed> {
    let out = tempfile::tempfile()?;
    let err = tempfile::tempfile()?;
    let started = Instant::now();
    let mut child = Command::new("ssh")
        .args(fleet.ssh_args())
        .args(extra)
        .args(["-o", "BatchMode=yes", "-o", "ConnectTimeout=3", host, command])
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(err.try_clone()?)
        .spawn()?;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if started.elapsed() > Duration::from_secs(20) {
            child.kill()?;
            child.wait()?;
            return Err(format!("ssh {host} {command:?} still running after 20 s").into());
        }
        thread::sleep(Duration::from_millis(5));
    };
    let elapsed = started.elapsed();
    Ok(Ran { code: status.code(), stdout: read_back(out)?, stderr: read_back(err)?, elapsed })
}

fn read_back(mut file: File) -> Result<String, Failed> {
    use std::io::{Read, Seek, SeekFrom};
    file.seek(SeekFrom::Start(0))?;
    let mut text = String::new();
    file.read_to_string(&mut text)?;
    Ok(text)
}

fn ensure(condition: bool, message: impl FnOnce() -> String) -> Result<(), Failed> {
    if condition { Ok(()) } else { Err(message().into()) }
}

fn hosts_see_their_own_files() -> Result<(), Failed> {
    let real_role = fs::read("/etc/puppet_role").ok();
    let real_opt = fs::read("/opt/puppet_environments/ronin_settings").ok();
    let files = |n: usize| {
        vec![
            role(&format!("gecko_t_linux_{n}")),
            HostFile::new("/etc/puppet/ronin_settings", format!("PUPPET_BRANCH=branch-{n}\n"), 0o644),
            HostFile::new("/etc/puppet/last_run_metadata.json", format!("{{\"host\": {n}}}\n"), 0o644),
            HostFile::new("/opt/puppet_environments/ronin_settings", format!("opt-{n}\n"), 0o644),
        ]
    };
    let fleet = Fleet::start(vec![up(1, files(1)), up(2, files(2))])?;
    ensure(fleet.names() == [name(1), name(2)], || format!("names {:?}", fleet.names()))?;
    let config = fs::read_to_string(fleet.ssh_config())?;
    ensure(config.lines().filter(|l| l.starts_with("Host ")).count() == 2, || config.clone())?;
    ensure(config.contains(&format!("Host {}\n", name(1))), || config.clone())?;

    let command = "cat /etc/puppet_role /etc/puppet/ronin_settings /etc/puppet/last_run_metadata.json \
                   /opt/puppet_environments/ronin_settings";
    for n in [1, 2] {
        let seen = ssh(&fleet, &name(n), command, &[])?.expect_ok("cat")?;
        let want = format!("gecko_t_linux_{n}\nPUPPET_BRANCH=branch-{n}\n{{\"host\": {n}}}\nopt-{n}\n");
        ensure(seen == want, || format!("host {n} saw {seen:?}, want {want:?}"))?;
    }
    // The machine's own files still show through, and commands run as root.
    let seen =
        ssh(&fleet, &name(1), "id -u; test -f /etc/passwd && echo passwd; stat -c %a /root", &[])?.expect_ok("id")?;
    ensure(seen == "0\npasswd\n700\n", || format!("saw {seen:?}"))?;
    ensure(fs::read("/etc/puppet_role").ok() == real_role, || "the real /etc/puppet_role changed".to_owned())?;
    ensure(fs::read("/opt/puppet_environments/ronin_settings").ok() == real_opt, || {
        "the real /opt/puppet_environments/ronin_settings changed".to_owned()
    })?;
    Ok(())
}

fn vault_is_readable_through_sudo() -> Result<(), Failed> {
    let vault = "vault_data:\n  secret: hunter2\n";
    let fleet = Fleet::start(vec![up(1, vec![HostFile::new("/root/vault.yaml", vault, 0o600)])])?;
    let seen = ssh(&fleet, &name(1), "sudo -n cat /root/vault.yaml && stat -c %a /root/vault.yaml", &[])?
        .expect_ok("sudo -n cat")?;
    ensure(seen == format!("{vault}600\n"), || format!("saw {seen:?}"))
}

fn set_file_changes_what_the_host_sees() -> Result<(), Failed> {
    let fleet = Fleet::start(vec![up(1, vec![role("before")]), up(2, vec![role("other")])])?;
    let host = name(1);
    let read = |path: &str| -> Result<String, Failed> {
        ssh(&fleet, &host, &format!("cat {path} 2>/dev/null || echo missing"), &[])?.expect_ok("cat")
    };
    ensure(read("/etc/puppet_role")? == "before\n", || "initial role".to_owned())?;
    // Looked up (and missing) before it is set: overlayfs must not keep the old answer.
    ensure(read("/etc/puppet/ronin_settings")? == "missing\n", || "ronin_settings exists".to_owned())?;

    fleet.set_file(&host, role("after"))?;
    fleet.set_file(&host, HostFile::new("/etc/puppet/ronin_settings", "PUPPET_REPO=x\n", 0o640))?;
    fleet.set_file(&host, HostFile::new("/opt/puppet_environments/ronin_settings", "new\n", 0o644))?;
    ensure(read("/etc/puppet_role")? == "after\n", || "role not changed".to_owned())?;
    ensure(read("/etc/puppet/ronin_settings")? == "PUPPET_REPO=x\n", || "new file not seen".to_owned())?;
    ensure(read("/opt/puppet_environments/ronin_settings")? == "new\n", || "new /opt file not seen".to_owned())?;
    let mode = ssh(&fleet, &host, "stat -c %a /etc/puppet/ronin_settings", &[])?.expect_ok("stat")?;
    ensure(mode == "640\n", || format!("mode {mode:?}"))?;

    let other = ssh(&fleet, &name(2), "cat /etc/puppet_role", &[])?.expect_ok("cat")?;
    ensure(other == "other\n", || format!("the other host saw {other:?}"))?;
    let err = fleet.set_file("no.such.host", role("x")).unwrap_err();
    ensure(err.host() == Some("no.such.host"), || err.to_string())?;
    let err = fleet.set_file(&host, HostFile::new("/var/tmp/x", "", 0o644)).unwrap_err();
    ensure(err.to_string().contains("/etc, /root or /opt"), || err.to_string())
}

fn down_host_refuses_connections() -> Result<(), Failed> {
    let fleet = Fleet::start(vec![HostSpec::new(name(1), Behaviour::Down, vec![role("down")]), up(2, vec![])])?;
    let ran = ssh(&fleet, &name(1), "true", &[])?;
    ensure(ran.code == Some(255) && ran.stderr.contains("Connection refused"), || format!("{ran:?}"))?;
    ssh(&fleet, &name(2), "true", &[])?.expect_ok("the Up host next to it")?;
    Ok(())
}

fn refuse_key_host_denies_our_key() -> Result<(), Failed> {
    let fleet = Fleet::start(vec![HostSpec::new(name(1), Behaviour::RefuseKey, vec![]), up(2, vec![])])?;
    let ran = ssh(&fleet, &name(1), "true", &[])?;
    ensure(ran.code == Some(255) && ran.stderr.contains("Permission denied"), || format!("{ran:?}"))?;
    ssh(&fleet, &name(2), "true", &[])?.expect_ok("the Up host next to it")?;
    Ok(())
}

fn hang_host_times_out() -> Result<(), Failed> {
    let fleet = Fleet::start(vec![HostSpec::new(name(1), Behaviour::Hang, vec![])])?;
    let ran = ssh(&fleet, &name(1), "true", &["-o", "ConnectTimeout=2"])?;
    ensure(ran.code == Some(255), || format!("{ran:?}"))?;
    ensure(ran.elapsed >= Duration::from_millis(1500) && ran.elapsed < Duration::from_secs(5), || {
        format!("gave up after {:?}: {ran:?}", ran.elapsed)
    })?;
    ensure(ran.stderr.contains("timed out"), || format!("{ran:?}"))
}

fn host_that_cannot_start_is_reported() -> Result<(), Failed> {
    // sshd refuses to start without its privilege separation user.
    let passwd = HostFile::new("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n", 0o644);
    let started = Instant::now();
    let err = match Fleet::start(vec![up(1, vec![]), up(2, vec![passwd])]) {
        Ok(_) => return Err("a host without an sshd user started".into()),
        Err(err) => err,
    };
    ensure(err.host() == Some(name(2).as_str()), || format!("error about the wrong host: {err}"))?;
    ensure(err.to_string().contains("Privilege separation user sshd"), || format!("no sshd log in the error: {err}"))?;
    ensure(started.elapsed() < Duration::from_secs(10), || format!("took {:?} to fail", started.elapsed()))?;
    eprintln!("host_that_cannot_start_is_reported: {err}");
    Ok(())
}

/// Processes whose command line mentions `dir` (sshd, unshare, the watcher,
/// an ssh ControlMaster whose socket is there), except ourselves.
fn processes_mentioning(dir: &str) -> Vec<u32> {
    let me = std::process::id();
    let Ok(entries) = fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| pid != me && still_mentions(pid, dir))
        .collect()
}

fn still_mentions(pid: u32, dir: &str) -> bool {
    let Ok(cmdline) = fs::read(format!("/proc/{pid}/cmdline")) else { return false };
    let zombie = fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|stat| stat.rsplit_once(") ").is_some_and(|(_, rest)| rest.starts_with('Z')));
    !zombie && String::from_utf8_lossy(&cmdline).contains(dir)
}

fn drop_stops_every_process() -> Result<(), Failed> {
    let fleet = Fleet::start(vec![
        up(1, vec![]),
        up(2, vec![]),
        HostSpec::new(name(3), Behaviour::RefuseKey, vec![]),
        HostSpec::new(name(4), Behaviour::Hang, vec![]),
    ])?;
    let dir = fleet.ssh_config().parent().expect("ssh_config is in the fleet's directory").to_owned();
    let dir_text = dir.to_string_lossy().into_owned();

    // A ControlMaster, as an operator's config would start one.
    let master = ["-o", "ControlMaster=auto", "-o", "ControlPersist=60"];
    ssh(&fleet, &name(1), "true", &master)?.expect_ok("ControlMaster")?;
    let check = ssh(&fleet, &name(1), "", &["-O", "check"])?;
    let master_pid: u32 = check
        .stderr
        .split_once("pid=")
        .and_then(|(_, rest)| rest.split(')').next()?.parse().ok())
        .ok_or_else(|| format!("no master pid in {check:?}"))?;
    // A session that would outlive its sshd listener if only that were killed.
    let mut sleeper = Command::new("ssh")
        .args(fleet.ssh_args())
        .args(["-o", "BatchMode=yes", &name(2), "sleep 300"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    thread::sleep(Duration::from_millis(500));

    let before = processes_mentioning(&dir_text);
    // unshare, sshd and the watcher for each of the three sshd hosts, and the master.
    let expected = 3 * 3 + 1;
    ensure(before.len() >= expected, || format!("expected at least {expected} processes, found {before:?}"))?;
    ensure(before.contains(&master_pid), || format!("master {master_pid} not among {before:?}"))?;

    let dropped = Instant::now();
    drop(fleet);
    let drop_took = dropped.elapsed();
    // The fleet waits for its own processes: none may be left when drop returns.
    let clients = [master_pid, sleeper.id()];
    let server_left: Vec<u32> =
        before.iter().copied().filter(|&pid| !clients.contains(&pid) && still_mentions(pid, &dir_text)).collect();
    // Clients notice their server is gone by themselves, soon after.
    let deadline = Instant::now() + Duration::from_secs(5);
    let sleeper_exit = loop {
        let exited = sleeper.try_wait()?;
        if (exited.is_some() && !still_mentions(master_pid, &dir_text)) || Instant::now() > deadline {
            break exited;
        }
        thread::sleep(Duration::from_millis(20));
    };
    if sleeper_exit.is_none() {
        sleeper.kill()?;
        sleeper.wait()?;
    }
    let master_left = still_mentions(master_pid, &dir_text);
    if !server_left.is_empty() || master_left {
        // Do not leave them behind for the next test.
        for &pid in server_left.iter().chain(master_left.then_some(&master_pid)) {
            let _ = Command::new("kill").arg("-KILL").arg(pid.to_string()).status();
        }
        return Err(format!("still running after the fleet was dropped: {server_left:?}, master {master_left}").into());
    }
    ensure(sleeper_exit.is_some(), || "the ssh session to a dropped host is still running".to_owned())?;
    ensure(!dir.exists(), || format!("{} still exists", dir.display()))?;
    ensure(drop_took < Duration::from_secs(3), || format!("drop took {drop_took:?}"))?;
    eprintln!("drop_stops_every_process: {} processes stopped, drop took {drop_took:?}", before.len());
    Ok(())
}

fn parallel_fleets_do_not_collide() -> Result<(), Failed> {
    let results: Vec<Result<String, String>> = thread::scope(|scope| {
        let handles: Vec<_> = (0..3)
            .map(|f| {
                scope.spawn(move || -> Result<String, String> {
                    // Same names in every fleet: only the ssh_config tells them apart.
                    let fleet =
                        Fleet::start(vec![up(1, vec![role(&format!("fleet-{f}"))])]).map_err(|e| e.to_string())?;
                    let seen = ssh(&fleet, &name(1), "cat /etc/puppet_role", &[])
                        .and_then(|r| r.expect_ok("cat"))
                        .map_err(|e| format!("{e:?}"))?;
                    if seen != format!("fleet-{f}\n") {
                        return Err(format!("fleet {f} saw {seen:?}"));
                    }
                    let config = fs::read_to_string(fleet.ssh_config()).map_err(|e| e.to_string())?;
                    let hostname = config.lines().find_map(|l| l.trim().strip_prefix("HostName ")).unwrap_or("");
                    Ok(hostname.to_owned())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err("panicked".to_owned()))).collect()
    });
    let mut addresses = Vec::new();
    for result in results {
        addresses.push(result?);
    }
    addresses.sort();
    addresses.dedup();
    ensure(addresses.len() == 3, || format!("fleets shared addresses: {addresses:?}"))
}

fn many_hosts_start_quickly_and_answer() -> Result<(), Failed> {
    const HOSTS: usize = 120;
    let specs = (0..HOSTS).map(|n| up(n, vec![role(&format!("role-{n}"))])).collect();
    let started = Instant::now();
    let fleet = Fleet::start(specs)?;
    let start_took = started.elapsed();
    ensure(start_took < Duration::from_secs(15), || format!("{HOSTS} hosts took {start_took:?} to start"))?;

    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    let answered = Instant::now();
    thread::scope(|scope| {
        for _ in 0..10 {
            scope.spawn(|| {
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= HOSTS {
                        break;
                    }
                    let outcome = ssh(&fleet, &name(n), "cat /etc/puppet_role", &[]).and_then(|r| r.expect_ok("cat"));
                    let failure = match outcome {
                        Ok(seen) if seen == format!("role-{n}\n") => continue,
                        Ok(seen) => format!("{}: saw {seen:?}", name(n)),
                        Err(e) => format!("{}: {e:?}", name(n)),
                    };
                    failures.lock().expect("not poisoned").push(failure);
                }
            });
        }
    });
    let answer_took = answered.elapsed();
    let failures = failures.into_inner().expect("not poisoned");
    ensure(failures.is_empty(), || format!("{} of {HOSTS} hosts failed: {failures:#?}", failures.len()))?;
    let dropped = Instant::now();
    drop(fleet);
    eprintln!(
        "many_hosts: {HOSTS} hosts started in {start_took:?}, answered (10 at a time) in {answer_took:?}, \
         stopped in {:?}",
        dropped.elapsed()
    );
    Ok(())
}
