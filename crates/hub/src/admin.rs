//! `hub admin …`: operator commands against a Hub's database, safe while
//! `hub serve` runs (each is one transaction, like an API command), each
//! run on behalf of the actor `admin-cli`, so the audit trail records what
//! the operator changed.
//!
//! Cold storage (the integration guide's option 1) without editing SQL:
//! mark a Hub address cold so no sweep spends it, export its seed UUID to a
//! file for offline keeping (the UUID leaves the database only after the
//! file is safely written), bring it back from stdin (checked against the
//! address), and mark it warm again. The commands take the same settings as
//! `hub serve` (database, salt or signer) to reach the same database and
//! derive the same addresses. A planned sweep that will never be signed
//! can be abandoned (`sweep abandon`, checked on every node first). API
//! tokens and the audit trail (`access`) need only the database.

mod access;

use std::io::{BufRead, Read, Write};
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Subcommand};
use hub_core::{Acting, ColdAddress, Hub};
use hub_protocol::Hash;
use zeroize::Zeroizing;

use crate::config::{GivenSettings, Resolved};
use crate::open::{open_hub, open_store, seed_provider};
use crate::secrets::EnvSalt;

/// The actor the audit trail records for every `hub admin` command.
const ADMIN_ACTOR: &str = "admin-cli";

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
    /// Sweeps on their way, and abandoning one that will never be signed.
    #[command(subcommand)]
    Sweep(SweepCommand),
    /// API tokens and the audit trail (`token …`, `audit`).
    #[command(flatten)]
    Access(access::AccessCommand),
}

impl AdminCommand {
    /// The command's name, as the audit trail records it.
    fn name(&self) -> String {
        match self {
            AdminCommand::Cold(command) => format!("cold {}", command.name()),
            AdminCommand::Sweep(command) => format!("sweep {}", command.name()),
            AdminCommand::Access(command) => command.name(),
        }
    }
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

impl ColdCommand {
    fn name(&self) -> &'static str {
        match self {
            ColdCommand::List => "list",
            ColdCommand::Mark { .. } => "mark",
            ColdCommand::Unmark { .. } => "unmark",
            ColdCommand::Export { .. } => "export",
            ColdCommand::Restore { .. } => "restore",
        }
    }
}

/// `hub admin sweep …`.
#[derive(Subcommand)]
pub enum SweepCommand {
    /// List the sweeps not confirmed yet: bundle hash, state, age.
    List,
    /// Give up a planned sweep that no key signed (every node must show it
    /// unsigned): its withdrawals are queued again, its deposits become
    /// Hub's (their owners keep the credit), its keys are unbound.
    Abandon {
        /// The sweep's bundle hash (81 trytes).
        bundle: String,
    },
}

impl SweepCommand {
    fn name(&self) -> &'static str {
        match self {
            SweepCommand::List => "list",
            SweepCommand::Abandon { .. } => "abandon",
        }
    }
}

/// Runs one admin command.
pub fn run(args: AdminArgs, stdin: &mut dyn BufRead, out: &mut dyn Write) -> Result<(), String> {
    let config = args.settings.resolve()?;
    // Before the runtime starts any thread: HUB_SALT leaves the environment as it is read.
    let env_salt = crate::secrets::take_env_salt()?;
    crate::init_logging();
    let runtime = tokio::runtime::Runtime::new().map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let acting = Acting {
        actor: ADMIN_ACTOR.into(),
        command: args.command.name(),
    };
    runtime.block_on(hub_core::acting(acting, async {
        match args.command {
            AdminCommand::Cold(command) => {
                let hub = open_admin_hub(&config, env_salt).await?;
                let result = cold(&hub, command, stdin, out).await;
                hub.store().close().await;
                result
            }
            AdminCommand::Sweep(command) => {
                let hub = open_admin_hub(&config, env_salt).await?;
                let result = sweep(&hub, command, out).await;
                hub.store().close().await;
                result
            }
            AdminCommand::Access(command) => {
                let store = open_store(&config).await?;
                let result = access::run(&store, command, out).await;
                store.close().await;
                result
            }
        }
    }))
}

/// Opens the whole Hub, as `hub serve` would (seed provider and nodes:
/// restoring a cold seed checks a UUID against its address, abandoning a
/// sweep asks every node).
async fn open_admin_hub(config: &Resolved, env_salt: EnvSalt) -> Result<Arc<Hub>, String> {
    let (provider, _) = seed_provider(config, env_salt).await?;
    let settings = &config.settings;
    let endpoints = if settings.node.is_empty() {
        vec![format!("http://{}", settings.devnet_listen)]
    } else {
        settings.node.clone()
    };
    open_hub(config, provider, endpoints).await
}

async fn sweep(hub: &Hub, command: SweepCommand, out: &mut dyn Write) -> Result<(), String> {
    let written = |e: std::io::Error| format!("writing output: {e}");
    match command {
        SweepCommand::List => {
            let now_ms = hub.now_ms();
            for sweep in hub.unconfirmed_sweeps().await.map_err(|e| e.to_string())? {
                let age_s = now_ms.saturating_sub(sweep.created_at) / 1000;
                writeln!(out, "{} {} {age_s}s", sweep.bundle_hash, sweep.state.as_str()).map_err(written)?;
            }
            Ok(())
        }
        SweepCommand::Abandon { bundle } => {
            let hash = Hash::from_trytes(bundle.trim()).map_err(|e| e.for_field("bundle").to_string())?;
            let abandoned = hub.abandon_sweep(&hash).await.map_err(|e| e.to_string())?;
            writeln!(out, "sweep {} abandoned", abandoned.bundle_hash).map_err(written)?;
            for uuid in &abandoned.withdrawals {
                writeln!(out, "withdrawal {uuid} queued again").map_err(written)?;
            }
            for (address, amount) in &abandoned.deposits {
                writeln!(out, "deposit address {address} ({amount}) is now a Hub address").map_err(written)?;
            }
            writeln!(out, "{} Hub input(s) given their balance back", abandoned.hub_inputs).map_err(written)
        }
    }
}

async fn cold(hub: &Hub, command: ColdCommand, stdin: &mut dyn BufRead, out: &mut dyn Write) -> Result<(), String> {
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
                .export_cold_seed(address.trim(), |uuid| {
                    crate::files::write_new_private_file(&file, uuid.as_str())
                })
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
