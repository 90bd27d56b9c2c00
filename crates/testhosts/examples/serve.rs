//! Starts a fleet of Up test hosts and keeps it until stdin closes, to try
//! fleetroll (or plain ssh) against it by hand:
//!
//! ```text
//! sudo cargo run -p fleetroll-testhosts --example serve -- 20
//! ```

use std::io::Read;
use std::time::Instant;

use fleetroll_testhosts::{Behaviour, Fleet, HostFile, HostSpec};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    fleetroll_testhosts::available()?;
    let count: usize = std::env::args().nth(1).map(|n| n.parse()).transpose()?.unwrap_or(10);
    let specs = (1..=count)
        .map(|n| {
            let role = HostFile::new("/etc/puppet_role", format!("gecko_t_linux_{n}\n"), 0o644);
            HostSpec::new(format!("t-linux64-ms-{n:03}.test.releng.mdc1.mozilla.com"), Behaviour::Up, vec![role])
        })
        .collect();
    let started = Instant::now();
    let fleet = Fleet::start(specs)?;
    eprintln!("{count} hosts started in {:?}", started.elapsed());
    eprintln!("try: ssh {} {} cat /etc/puppet_role", fleet.ssh_args().join(" "), fleet.names()[0]);
    eprintln!("close stdin (Ctrl-D) to stop them");
    std::io::stdin().read_to_end(&mut Vec::new())?;
    Ok(())
}
