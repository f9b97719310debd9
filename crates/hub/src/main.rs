//! `hub`: the one binary an operator runs.
//!
//! It carries the server (`hub serve`), the signing server (`hub signer`), the
//! devnet (`hub devnet`), the admin commands (`hub admin …`) and the operator
//! tools (`hub util …`). Commands
//! print results on stdout, one-line errors on stderr, and exit non-zero on
//! failure. Secrets are read from stdin or files, never from arguments.

mod admin;
mod bench;
mod config;
mod devnet;
mod files;
mod listeners;
mod open;
mod secrets;
mod serve;
mod signer;
mod util;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Hub: a wallet management server for exchanges holding legacy IOTA tokens.
#[derive(Parser)]
#[command(name = "hub", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Operator tools: seeds, addresses, checksums, proof of work, bundle checks, benchmarks.
    #[command(subcommand)]
    Util(util::UtilCommand),
    /// Run a local IOTA node (the devnet), or ask one for test tokens.
    Devnet(devnet::DevnetArgs),
    /// Run the Hub server (embedded defaults: SQLite and the built-in devnet).
    Serve(Box<config::GivenSettings>),
    /// Run the signing server (holds the salt, signs each key once, mutual TLS), or make development certificates.
    Signer(signer::SignerArgs),
    /// Operator commands on a Hub's database (API tokens, the audit trail, cold storage), safe while it runs; takes
    /// `hub serve`'s settings.
    Admin(admin::AdminArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let stdin = io::stdin();
    let stdout = io::stdout();
    let result = match cli.command {
        Command::Util(command) => util::run(command, &mut stdin.lock(), &mut stdout.lock()),
        Command::Devnet(args) => devnet::run(args, &mut stdout.lock()),
        Command::Serve(settings) => serve::run(*settings, &mut stdout.lock()),
        Command::Signer(args) => signer::run(args, &mut stdout.lock()),
        Command::Admin(args) => admin::run(args, &mut stdin.lock(), &mut stdout.lock()),
    };
    let _ = io::stdout().flush();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Logs to stderr; `RUST_LOG` filters (default `info`).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Resolves on Ctrl-C or SIGTERM: how the long-running commands are stopped.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(term) => term,
            Err(_) => {
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
