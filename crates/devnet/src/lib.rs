//! A local IOTA node for Hub: the default node of `hub serve` and the test
//! bed of every test that needs a Tangle.
//!
//! The legacy network no longer runs, so Hub ships its own node. It speaks
//! the IRI JSON API Hub uses, keeps a real ledger from a genesis allocation,
//! and checks what a real node checks: proof of work and structure on store,
//! complete and validly signed bundles, balances that never go negative,
//! IRI 1.8.6's tip selection with its max depth and 1.8.5 bundle rules. A
//! coordinator issues milestones on an interval (or on demand) approving,
//! as Compass does, only the pair its own walk returns; a faucet pays from
//! the genesis with real signed bundles;
//! faults can be switched on at run time; everything persists in a data
//! directory.
//!
//! Its HTTP API is IRI 1.8.6's: the same commands, parameters read as
//! strictly, the same refusals in the same words and kinds of answer, the
//! same limits and headers, for a [`Profile`] (IRI's testnet or mainnet
//! settings).
//!
//! Modules: `tangle` (storage and indexes), `ledger` (balances and the
//! consistency rule), `node` (the state and the rules of each command),
//! `walk` (tip selection and the walk validator),
//! `view` (the state as of the solid milestone, minus what pruning forgot),
//! `coordinator` (milestones), `faucet` (payments from the genesis),
//! `persist` (files), `profile` (network settings and API limits), `http`
//! (the transport), `commands` (IRI's commands and the devnet's own),
//! `params` (IRI's parameter reading), `reply` (IRI's kinds of answer),
//! `faults`, and `liar`: a proxy in front of any node that lies as told,
//! for drills and tests.

mod commands;
mod coordinator;
mod faucet;
pub mod faults;
pub mod http;
pub mod ledger;
pub mod liar;
pub mod node;
mod params;
pub mod persist;
pub mod profile;
mod reply;
pub mod tangle;
mod view;
mod walk;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use faults::{Faults, SyncFault};
pub use node::{FundReceipt, Milestone, Node, NodeConfig, WalkRules};
pub use persist::Genesis;
pub use profile::{Limits, Profile};

/// How to run a devnet.
#[derive(Debug, Clone)]
pub struct DevnetConfig {
    /// HTTP listen address (port 0 picks a free port).
    pub listen: SocketAddr,
    /// Data directory; `None` keeps everything in memory.
    pub data_dir: Option<PathBuf>,
    /// The IRI network settings imitated.
    pub profile: Profile,
    /// Minimum weight magnitude; `None` takes the profile's.
    pub mwm: Option<u8>,
    /// API limits; `None` takes the profile's (IRI's defaults).
    pub limits: Option<Limits>,
    /// Milestone interval; 0 issues milestones only on demand.
    pub milestone_interval_ms: u64,
    /// Genesis allocation for a new data directory.
    pub genesis: Genesis,
}

impl Default for DevnetConfig {
    /// 127.0.0.1:14265, in memory, the development profile (MWM 9, IRI's
    /// limits), a milestone every 5 s, the default genesis.
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 14265)),
            data_dir: None,
            profile: Profile::default(),
            mwm: None,
            limits: None,
            milestone_interval_ms: 5_000,
            genesis: Genesis::default(),
        }
    }
}

/// A running devnet.
pub struct Devnet {
    node: Arc<Node>,
    url: String,
    shutdown: tokio::sync::watch::Sender<bool>,
    server: tokio::task::JoinHandle<()>,
    coordinator: tokio::task::JoinHandle<()>,
}

impl Devnet {
    /// Opens the node, binds the listener and starts the coordinator.
    pub async fn start(config: DevnetConfig) -> Result<Self, String> {
        let profile = config.profile;
        let mwm = config.mwm.unwrap_or(profile.mwm());
        if mwm == 0 || mwm > hub_pow::MAX_MIN_WEIGHT_MAGNITUDE {
            return Err(format!(
                "mwm must be between 1 and {}",
                hub_pow::MAX_MIN_WEIGHT_MAGNITUDE
            ));
        }
        let node_config = NodeConfig {
            mwm,
            genesis: config.genesis.clone(),
            data_dir: config.data_dir.clone(),
            max_depth: profile.max_depth(),
        };
        let node = tokio::task::spawn_blocking(move || Node::open(node_config))
            .await
            .map_err(|e| e.to_string())??;
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
        let local = listener.local_addr().map_err(|e| e.to_string())?;
        let (shutdown, mut stop_server) = tokio::sync::watch::channel(false);
        let app = http::router(node.clone(), profile, config.limits.unwrap_or(profile.limits()));
        let server = tokio::spawn(async move {
            let stop = async move {
                let _ = stop_server.wait_for(|stop| *stop).await;
            };
            if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(stop).await {
                tracing::error!("devnet HTTP server failed: {e}");
            }
        });
        let coordinator = tokio::spawn(coordinate(
            node.clone(),
            config.milestone_interval_ms,
            shutdown.subscribe(),
        ));
        tracing::info!(url = %format!("http://{local}"), "devnet listening");
        Ok(Self {
            node,
            url: format!("http://{local}"),
            shutdown,
            server,
            coordinator,
        })
    }

    /// The API URL, e.g. `http://127.0.0.1:14265`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The node itself, for in-process use.
    pub fn node(&self) -> &Arc<Node> {
        &self.node
    }

    /// Stops the server and the coordinator and waits for them.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        let _ = self.server.await;
        let _ = self.coordinator.await;
    }
}

async fn coordinate(node: Arc<Node>, interval_ms: u64, mut stop: tokio::sync::watch::Receiver<bool>) {
    if interval_ms == 0 {
        return;
    }
    let mut ticker = tokio::time::interval(Duration::from_millis(interval_ms));
    ticker.tick().await;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        if node.milestones_paused() {
            continue;
        }
        let node = node.clone();
        match tokio::task::spawn_blocking(move || node.issue_milestone()).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::error!("milestone failed: {e}"),
            Err(e) => tracing::error!("milestone task failed: {e}"),
        }
    }
}
