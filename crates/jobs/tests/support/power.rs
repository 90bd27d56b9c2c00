//! A test machine's power: whether anything answers at its address.
//!
//! A real machine's sshd stops answering when it is switched off, reset or
//! rebooted, and answers again once it has booted. A test host's sshd
//! (crates/testhosts) is pid 1 of its namespace and cannot restart, so the
//! machine's address is a TCP front on 127.0.0.1 that forwards to the
//! host's sshd while the power is on, refuses connections while it is off
//! or booting, and cuts the open ones when the power goes.
//!
//! The power is driven through files in its directory, by the scripts the
//! real tools run: ipmi_sim's chassis control script (`chassis.sh`: `get
//! power`, `set power 0|1`, `set reset 1`) and the `reboot` command on the
//! test host, which appends `reboot` to `requests` (the host sees the real
//! /tmp). `state` holds the power as the BMC reports it: 1 or 0.

use std::fs;
use std::io::{self, Read as _, Write as _};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::write_script;

/// How long a machine takes from "power on" until its sshd answers.
pub const BOOT: Duration = Duration::from_millis(1500);
/// How long `reboot` takes to bring the OS down after it returns.
pub const SHUTDOWN: Duration = Duration::from_millis(300);

#[derive(Debug)]
pub struct PowerSwitch {
    dir: PathBuf,
    port: u16,
    events: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl PowerSwitch {
    /// A machine, powered on and up, whose address forwards to `upstream`
    /// (its sshd); with `None` connections are accepted and closed.
    pub fn start(dir: &Path, upstream: Option<SocketAddr>) -> PowerSwitch {
        fs::create_dir_all(dir).expect("power directory");
        fs::write(dir.join("state"), "1\n").expect("power state");
        fs::write(dir.join("requests"), "").expect("power requests");
        write_script(&dir.join("chassis.sh"), &chassis_script(dir));
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the machine's front");
        let port = listener.local_addr().expect("front address").port();
        let events = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let machine = Machine {
            dir: dir.to_owned(),
            port,
            upstream,
            events: events.clone(),
            stop: stop.clone(),
            listener: Some(listener),
            connections: Vec::new(),
            requests_seen: 0,
        };
        let thread = thread::spawn(move || machine.run());
        PowerSwitch { dir: dir.to_owned(), port, events, stop, thread: Some(thread) }
    }

    /// The port the machine's sshd answers on, at 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// ipmi_sim's `chassis_control` program for this machine.
    pub fn chassis_script(&self) -> PathBuf {
        self.dir.join("chassis.sh")
    }

    /// Where the host's `reboot` appends its request, for a machine to be
    /// started in `dir` (the host's files are written before it starts).
    pub fn requests_file(dir: &Path) -> PathBuf {
        dir.join("requests")
    }

    /// What the chassis script was asked, one call per line (`set power 0`, …).
    pub fn chassis_calls(&self) -> Vec<String> {
        fs::read_to_string(self.dir.join("calls")).unwrap_or_default().lines().map(str::to_owned).collect()
    }

    /// The machine's transitions so far: `down (<why>)` and `up`.
    pub fn events(&self) -> Vec<String> {
        self.events.lock().expect("events").clone()
    }
}

impl Drop for PowerSwitch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn chassis_script(dir: &Path) -> String {
    let dir = dir.display();
    format!(
        r#"#!/bin/sh
# ipmi_sim's chassis control: get power | set power 0|1 | set reset 1
d='{dir}'
echo "$*" >> "$d/calls"
case "$1" in
get)
    shift
    for parm in "$@"; do
        case "$parm" in
        power) echo "power:$(cat "$d/state")" ;;
        boot) echo "boot:default" ;;
        *) echo "unsupported: $parm"; exit 1 ;;
        esac
    done
    ;;
set)
    shift
    while [ $# -ge 2 ]; do
        case "$1" in
        power) echo "$2" > "$d/state.new" && mv "$d/state.new" "$d/state" ;;
        reset) echo reset >> "$d/requests" ;;
        boot) ;;
        *) echo "unsupported: $1"; exit 1 ;;
        esac
        shift 2
    done
    ;;
*) echo "unknown operation: $1"; exit 1 ;;
esac
"#
    )
}

enum Phase {
    Up,
    Down,
    Booting { until: Instant },
    ShuttingDown { at: Instant },
}

struct Machine {
    dir: PathBuf,
    port: u16,
    upstream: Option<SocketAddr>,
    events: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    listener: Option<TcpListener>,
    connections: Vec<TcpStream>,
    requests_seen: usize,
}

impl Machine {
    fn run(mut self) {
        let mut phase = Phase::Up;
        self.listener.as_ref().expect("listening").set_nonblocking(true).expect("nonblocking");
        while !self.stop.load(Ordering::SeqCst) {
            let powered = fs::read_to_string(self.dir.join("state")).map(|s| s.trim() != "0").unwrap_or(true);
            let requests = self.new_requests();
            phase = match phase {
                _ if !powered => {
                    self.go_down("power off");
                    Phase::Down
                }
                Phase::Down => Phase::Booting { until: Instant::now() + BOOT },
                _ if requests.iter().any(|r| r == "reset") => {
                    self.go_down("reset");
                    Phase::Booting { until: Instant::now() + BOOT }
                }
                Phase::Up if requests.iter().any(|r| r == "reboot") => {
                    Phase::ShuttingDown { at: Instant::now() + SHUTDOWN }
                }
                Phase::ShuttingDown { at } if Instant::now() >= at => {
                    self.go_down("reboot");
                    Phase::Booting { until: Instant::now() + BOOT }
                }
                Phase::Booting { until } if Instant::now() >= until => {
                    self.go_up();
                    Phase::Up
                }
                other => other,
            };
            self.accept();
            thread::sleep(Duration::from_millis(20));
        }
        self.go_down("stopped");
    }

    fn new_requests(&mut self) -> Vec<String> {
        let text = fs::read_to_string(self.dir.join("requests")).unwrap_or_default();
        let lines: Vec<String> = text.lines().map(str::to_owned).collect();
        let new = lines.get(self.requests_seen..).map(<[String]>::to_vec).unwrap_or_default();
        self.requests_seen = lines.len();
        new
    }

    fn go_down(&mut self, why: &str) {
        if self.listener.take().is_some() {
            self.events.lock().expect("events").push(format!("down ({why})"));
        }
        for connection in self.connections.drain(..) {
            let _ = connection.shutdown(Shutdown::Both);
        }
    }

    fn go_up(&mut self) {
        // The port was ours a moment ago; SO_REUSEADDR (set by std) lets it
        // be bound again despite connections in TIME_WAIT.
        let listener = TcpListener::bind(("127.0.0.1", self.port)).expect("the machine's port is free again");
        listener.set_nonblocking(true).expect("nonblocking");
        self.listener = Some(listener);
        self.events.lock().expect("events").push("up".to_owned());
    }

    fn accept(&mut self) {
        let Some(listener) = &self.listener else { return };
        loop {
            let client = match listener.accept() {
                Ok((client, _)) => client,
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return,
                Err(_) => return,
            };
            let _ = client.set_nonblocking(false);
            let Some(upstream) = self.upstream else {
                drop(client);
                continue;
            };
            let Ok(server) = TcpStream::connect(upstream) else { continue };
            for (from, to) in [(&client, &server), (&server, &client)] {
                let (Ok(from), Ok(to)) = (from.try_clone(), to.try_clone()) else { continue };
                thread::spawn(move || copy(from, to));
            }
            self.connections.push(client);
            self.connections.push(server);
        }
    }
}

fn copy(mut from: TcpStream, mut to: TcpStream) {
    let mut buffer = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buffer[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}
