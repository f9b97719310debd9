//! `hub admin …`: operator commands against a Hub's database, safe while
//! `hub serve` runs (each is one transaction, like an API command).
//!
//! Cold storage (the integration guide's option 1) without editing SQL:
//! mark a Hub address cold so no sweep spends it, export its seed UUID to a
//! file for offline keeping (the UUID leaves the database only after the
//! file is safely written), bring it back from stdin (checked against the
//! address), and mark it warm again. The commands take the same settings as
//! `hub serve` (database, salt or signer) to reach the same database and
//! derive the same addresses.

use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use hub_core::{ColdAddress, Hub};
use zeroize::Zeroizing;

use crate::config::GivenSettings;
use crate::open::{open_hub, seed_provider};

/// `hub admin`: the settings of the Hub to act on, and the command.
#[derive(Args)]
pub struct AdminArgs {
    #[command(flatten)]
    settings: Box<GivenSettings>,
    #[command(subcommand)]
    command: AdminCommand,
}

/// What `hub admin` can do.
#[derive(Subcommand)]
pub enum AdminCommand {
    /// Cold storage of Hub addresses.
    #[command(subcommand)]
    Cold(ColdCommand),
}

/// `hub admin cold …`.
#[derive(Subcommand)]
pub enum ColdCommand {
    /// List the Hub addresses marked cold.
    List,
    /// Mark a Hub address cold: sweeps never spend it.
    Mark {
        /// The Hub address (81 trytes, or 90 with checksum).
        address: String,
    },
    /// Mark a cold Hub address warm again (its seed UUID must be in the database).
    Unmark {
        /// The Hub address.
        address: String,
    },
    /// Write a cold address's seed UUID to a new file (mode 0600), then remove it from the database.
    Export {
        /// The Hub address.
        address: String,
        /// The file to create; it must not exist.
        #[arg(long)]
        out: PathBuf,
    },
    /// Put an exported seed UUID back, read from stdin; it must derive the address.
    Restore {
        /// The Hub address.
        address: String,
    },
}

/// Runs one admin command.
pub fn run(args: AdminArgs, stdin: &mut dyn BufRead, out: &mut dyn Write) -> Result<(), String> {
    let config = args.settings.resolve()?;
    // Before the runtime starts any thread: HUB_SALT leaves the environment as it is read.
    let env_salt = crate::secrets::take_env_salt()?;
    crate::init_logging();
    let runtime = tokio::runtime::Runtime::new().map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(async {
        let (provider, _) = seed_provider(&config, env_salt).await?;
        let settings = &config.settings;
        let endpoints = if settings.node.is_empty() {
            vec![format!("http://{}", settings.devnet_listen)]
        } else {
            settings.node.clone()
        };
        let hub = open_hub(&config, provider, endpoints).await?;
        let result = cold(&hub, args.command, stdin, out).await;
        hub.store().close().await;
        result
    })
}

async fn cold(hub: &Hub, command: AdminCommand, stdin: &mut dyn BufRead, out: &mut dyn Write) -> Result<(), String> {
    let AdminCommand::Cold(command) = command;
    let report = |out: &mut dyn Write, row: &ColdAddress| {
        let state = match (row.cold, row.exported) {
            (_, true) => "cold, seed UUID exported",
            (true, false) => "cold",
            (false, false) => "warm",
        };
        writeln!(out, "{} {} {state}", row.address, row.balance).map_err(|e| format!("writing output: {e}"))
    };
    let failed = |e: hub_core::HubError| e.to_string();
    match command {
        ColdCommand::List => {
            for row in hub.cold_addresses().await.map_err(failed)? {
                report(out, &row)?;
            }
            Ok(())
        }
        ColdCommand::Mark { address } => report(out, &hub.set_cold(address.trim(), true).await.map_err(failed)?),
        ColdCommand::Unmark { address } => report(out, &hub.set_cold(address.trim(), false).await.map_err(failed)?),
        ColdCommand::Export { address, out: file } => {
            let row = hub
                .export_cold_seed(address.trim(), |uuid| write_new_private_file(&file, uuid.as_str()))
                .await
                .map_err(failed)?;
            report(out, &row)?;
            writeln!(out, "seed UUID written to {}; keep it offline", file.display())
                .map_err(|e| format!("writing output: {e}"))
        }
        ColdCommand::Restore { address } => {
            let mut uuid = Zeroizing::new(String::new());
            stdin
                .take(1024)
                .read_to_string(&mut uuid)
                .map_err(|e| format!("stdin: {e}"))?;
            let row = hub
                .restore_cold_seed(address.trim(), uuid.trim())
                .await
                .map_err(failed)?;
            report(out, &row)
        }
    }
}

/// Creates `path` (which must not exist) with mode 0600, writes `text` and
/// a newline, and syncs it to disk.
fn write_new_private_file(path: &Path, text: &str) -> Result<(), String> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    file.write_all(format!("{text}\n").as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("{}: {e}", path.display()))
}
