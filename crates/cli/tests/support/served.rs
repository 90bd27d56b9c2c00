//! `fleetroll serve` as a child process on port 0, for the tests and the
//! load benchmark: it reads the address the server prints first, keeps the
//! rest of its stderr (so the server never blocks on a full pipe, and a
//! failing test can show it), and stops it with SIGTERM when dropped.

use std::io::BufRead as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

pub struct Served {
    child: Child,
    pub url: String,
    log: Arc<Mutex<String>>,
}

impl Served {
    /// Starts the real binary on `home` with `env` added.
    pub fn start(home: &Path, env: &[(&str, &str)]) -> std::io::Result<Served> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_fleetroll"))
            .env("FLEETROLL_HOME", home)
            .envs(env.iter().copied())
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?;
        let stderr = child.stderr.take().ok_or_else(|| std::io::Error::other("no stderr"))?;
        let mut lines = std::io::BufReader::new(stderr).lines();
        let first = lines.next().ok_or_else(|| std::io::Error::other("the server said nothing"))??;
        let url = first
            .split("listening on ")
            .nth(1)
            .ok_or_else(|| std::io::Error::other(format!("unexpected first line: {first}")))?
            .trim()
            .to_owned();
        let log = Arc::new(Mutex::new(String::new()));
        let kept = log.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                kept.lock().expect("log").push_str(&format!("{line}\n"));
            }
        });
        Ok(Served { child, url, log })
    }

    /// What the server wrote to stderr after its first line.
    #[allow(dead_code)] // Not every user shows it.
    pub fn log(&self) -> String {
        self.log.lock().expect("log").clone()
    }

    /// Stops the server and waits for it (dropping does the same); once.
    pub fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.stop();
    }
}
