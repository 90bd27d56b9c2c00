//! Listeners for [`Behaviour::Hang`](crate::Behaviour::Hang) hosts.
//!
//! A host that completes the TCP handshake and then says nothing is what a
//! wedged machine looks like to ssh; the client has to give up on its own
//! (ConnectTimeout covers the banner exchange).

use std::io;
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// One thread accepting on every Hang host of a fleet and holding the
/// connections open until the fleet is dropped.
#[derive(Debug)]
pub(crate) struct HangListeners {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl HangListeners {
    pub(crate) fn start(listeners: Vec<TcpListener>) -> io::Result<Self> {
        for listener in &listeners {
            // Non-blocking so the thread notices `stop` without a wake-up connection.
            listener.set_nonblocking(true)?;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = thread::Builder::new().name("testhosts-hang".to_owned()).spawn(move || hold(&listeners, &flag))?;
        Ok(Self { stop, thread: Some(thread) })
    }
}

fn hold(listeners: &[TcpListener], stop: &AtomicBool) {
    let mut held: Vec<TcpStream> = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        for listener in listeners {
            while let Ok((stream, _)) = listener.accept() {
                held.push(stream);
            }
        }
        thread::sleep(Duration::from_millis(10));
    }
}

impl Drop for HangListeners {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            // The thread only sleeps and accepts; it cannot panic in a way worth reporting here.
            let _ = thread.join();
        }
    }
}
