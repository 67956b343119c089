//! The `latentid` binary: parses arguments into the library crates' configs, runs them,
//! prints results (stdout) and progress (stderr), and maps the outcome to an exit code:
//! 0 success ("no match" included), 1 some inputs failed, 2 usage errors and unusable indexes.

mod args;
mod commands;
mod progress;

use std::process::ExitCode;

use clap::Parser;

/// How a command ended when it did not fail as a whole.
pub enum Outcome {
    Success,
    /// Some inputs failed; the rest was done.
    SomeFailed,
}

fn main() -> ExitCode {
    restore_sigpipe();
    let cli = args::Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LATENTID_LOG").unwrap_or_else(|_| {
                // symphonia's own log lines ("probe reached EOF") would repeat, less
                // clearly, what latentid reports for the file itself.
                tracing_subscriber::EnvFilter::new("warn,symphonia=off")
            }),
        )
        .init();
    latentid_index::Index::use_backend(cli.command.common().backend.clone());
    latentid_index::Index::use_nprobe(cli.command.common().nprobe);
    match commands::run(cli.command) {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::SomeFailed) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// `latentid list | head` ends quietly, as other command-line tools do: Rust ignores SIGPIPE,
/// so a closed stdout would otherwise make the next `println!` panic.
#[allow(unsafe_code)]
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in `main`, before any thread exists; SIG_DFL is a valid
    // disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
