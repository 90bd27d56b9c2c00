//! `fleetroll`: the one program for running a fleet of CI hardware hosts.
//!
//! This file only parses the command line, sets up logging and the runtime,
//! and turns the outcome into an exit code; each subcommand lives in
//! `commands/`.
//!
//! Exit codes: 0 success; 1 the command ran but found or caused failures
//! (a broken audit chain, lines that could not be imported); 2 usage or fatal
//! error; 130 interrupted.

mod cli;
mod commands;
mod host_args;
mod output;
mod settings;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::Cli;

/// mimalloc rather than the system allocator: reading a fleet allocates
/// hundreds of thousands of small strings on every core, and glibc's
/// per-thread arenas grew page by page (thousands of `mprotect` calls and
/// their page faults per `host-monitor --once`). Measured in
/// `docs/benchmarks.md`.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    quiet_on_closed_stdout();
    let cli = Cli::parse();
    init_logging(cli.global.debug);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => return fatal(&anyhow::Error::new(err).context("cannot start the async runtime")),
    };
    let outcome = runtime.block_on(async {
        // A server stops gracefully on its own signals; anything else ends
        // at once on Ctrl-C.
        if commands::handles_interrupt(&cli.command) {
            return Some(commands::run(cli).await);
        }
        tokio::select! {
            outcome = commands::run(cli) => Some(outcome),
            _ = tokio::signal::ctrl_c() => None,
        }
    });
    match outcome {
        Some(Ok(code)) => code,
        Some(Err(err)) => fatal(&err),
        None => {
            eprintln!("ERROR: Interrupted");
            ExitCode::from(130)
        }
    }
}

/// One clear line (with its causes), never a backtrace. A reader that went
/// away (`fleetroll … | head`) is not an error.
fn fatal(err: &anyhow::Error) -> ExitCode {
    let is_broken_pipe = err.chain().any(|cause| {
        cause.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || cause.downcast_ref::<serde_json::Error>().and_then(serde_json::Error::io_error_kind)
                == Some(std::io::ErrorKind::BrokenPipe)
    });
    if is_broken_pipe {
        return ExitCode::SUCCESS;
    }
    eprintln!("ERROR: {err:#}");
    ExitCode::from(2)
}

/// `println!` panics when stdout's reader has gone (Rust ignores SIGPIPE);
/// end quietly instead, as a shell tool does, and keep other panics loud.
fn quiet_on_closed_stdout() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(0);
        }
        default_hook(info);
    }));
}

/// Logs go to stderr, or while the live monitor owns the terminal (where
/// they would draw over its screen) to what it hands [`redirect_logs`]. Two
/// layers, so the file gets no colour codes and stderr keeps them.
fn init_logging(debug: bool) {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let default = if debug { "debug" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("FLEETROLL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let stderr = tracing_subscriber::fmt::layer().with_writer(|| LogWriter::Stderr).with_target(false);
    let redirected =
        tracing_subscriber::fmt::layer().with_writer(|| LogWriter::Redirected).with_target(false).with_ansi(false);
    tracing_subscriber::registry().with(filter).with(stderr).with(redirected).init();
}

type LogSink = Box<dyn std::io::Write + Send>;

static LOG_REDIRECT: std::sync::Mutex<Option<LogSink>> = std::sync::Mutex::new(None);

/// Sends log lines to `sink` instead of stderr; `None` sends them back.
fn redirect_logs(sink: Option<LogSink>) {
    *LOG_REDIRECT.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = sink;
}

/// Each layer's writer writes only while its destination is the current one.
enum LogWriter {
    Stderr,
    Redirected,
}

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut redirect = LOG_REDIRECT.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match (self, redirect.as_mut()) {
            (LogWriter::Stderr, None) => std::io::stderr().write(buf),
            (LogWriter::Redirected, Some(sink)) => sink.write(buf),
            _ => Ok(buf.len()),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let mut redirect = LOG_REDIRECT.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match (self, redirect.as_mut()) {
            (LogWriter::Stderr, None) => std::io::stderr().flush(),
            (LogWriter::Redirected, Some(sink)) => sink.flush(),
            _ => Ok(()),
        }
    }
}
