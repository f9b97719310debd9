//! `hub devnet`: run the local IOTA node, or ask one for test tokens.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::LazyLock;

use clap::builder::PossibleValue;
use clap::{Args, Subcommand, ValueEnum};
use hub_devnet::{Devnet, DevnetConfig, Profile};
use hub_node::{Client, ClientConfig};
use serde_json::json;

/// `hub devnet [options] [fund …]`.
#[derive(Args)]
pub struct DevnetArgs {
    #[command(subcommand)]
    action: Option<DevnetAction>,
    /// HTTP listen address of the node API.
    #[arg(long, default_value_t = DevnetConfig::default().listen)]
    listen: SocketAddr,
    /// Keep the tangle, ledger and milestones here across restarts (default: in memory).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// The IRI 1.8.6 network settings to imitate.
    #[arg(long, value_enum, default_value_t = ProfileArg(Profile::default()))]
    profile: ProfileArg,
    /// Minimum weight magnitude of proof of work (default: the profile's, 9 development, 14 mainnet).
    #[arg(long)]
    mwm: Option<u8>,
    /// Milestone interval in ms (0 = only on demand, via the `issueMilestone` command).
    #[arg(long, default_value_t = DevnetConfig::default().milestone_interval_ms)]
    milestone_interval_ms: u64,
}

/// A [`Profile`] on the command line; names and help come from the profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ProfileArg(Profile);

static PROFILE_ARGS: LazyLock<Vec<ProfileArg>> = LazyLock::new(|| Profile::ALL.into_iter().map(ProfileArg).collect());

impl ValueEnum for ProfileArg {
    fn value_variants<'a>() -> &'a [Self] {
        &PROFILE_ARGS
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.0.name()).help(self.0.summary()))
    }
}

impl std::fmt::Display for ProfileArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Subcommand)]
enum DevnetAction {
    /// Pay test tokens from the devnet's genesis funds with a real, signed bundle.
    Fund {
        /// The devnet's API URL.
        #[arg(long, default_value = "http://127.0.0.1:14265")]
        node: String,
        /// Receiving address (81 trytes, or 90 with checksum).
        address: String,
        /// Tokens to pay.
        amount: u64,
    },
}

/// Runs the devnet until Ctrl-C, or performs the action.
pub fn run(args: DevnetArgs, out: &mut dyn Write) -> Result<(), String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| format!("cannot start the async runtime: {e}"))?;
    match args.action {
        Some(DevnetAction::Fund { node, address, amount }) => runtime.block_on(async {
            let client = Client::new(ClientConfig::new(node)).map_err(|e| e.to_string())?;
            let reply = client
                .call_raw(
                    "fund",
                    &json!({ "command": "fund", "address": address, "amount": amount }),
                )
                .await
                .map_err(|e| e.to_string())?;
            let field = |name: &str| reply.get(name).and_then(|v| v.as_str()).unwrap_or_default().to_string();
            writeln!(out, "bundle {}\ntail {}", field("bundle"), field("tail")).map_err(|e| e.to_string())
        }),
        None => {
            crate::init_logging();
            let config = DevnetConfig {
                listen: args.listen,
                data_dir: args.data_dir,
                profile: args.profile.0,
                mwm: args.mwm,
                milestone_interval_ms: args.milestone_interval_ms,
                ..DevnetConfig::default()
            };
            runtime.block_on(async {
                let devnet = Devnet::start(config).await?;
                writeln!(out, "devnet listening on {} (Ctrl-C stops it)", devnet.url()).map_err(|e| e.to_string())?;
                out.flush().map_err(|e| e.to_string())?;
                tokio::signal::ctrl_c().await.map_err(|e| e.to_string())?;
                devnet.stop().await;
                Ok(())
            })
        }
    }
}
