//! Hub's rules.
//!
//! [`Hub`] carries out the commands of the API (users, deposit addresses,
//! balances, transfer batches, history, subscriptions) with the original's
//! semantics and error codes, fixing its defects: validation and the writes
//! it guards share one database transaction, so concurrent batches can never
//! overdraw a user. Background services detect confirmed deposits
//! ([`monitor`]) and keep pre-derived deposit addresses ready ([`pool`]).
//! `core` decides; `store` and `node` only do what they are told.

pub mod access;
mod answers;
pub mod clock;
pub mod cold;
mod commands;
mod crash;
pub mod error;
pub mod feed;
pub mod model;
pub mod monitor;
mod network;
pub mod node_watch;
pub mod pool;
pub mod sensitive;
pub mod services;
mod spends;
pub mod sweep;
mod sweeps;
pub mod tangle;
pub mod views;
pub mod webhooks;
mod withdrawals;

use std::sync::Arc;

pub use access::{Access, AuthFailure, NewToken, Principal, TokenInfo};
pub use answers::Answer;
pub use clock::{Clock, SystemClock};
pub use cold::ColdAddress;
pub use error::{Cause, ErrorCode, HubError};
pub use feed::{feed_types, FeedEvent, FEED_PAGE_MAX};
pub use model::*;
pub use sensitive::{AuthKey, SensitiveConfig};
pub use sweep::abandon::{AbandonError, Abandoned};
pub use sweep::{attacher, sweeper};
pub use views::{Page, WithdrawalStatus, WithdrawalView};
pub use webhooks::{CreatedWebhook, WebhookInfo, WebhookPolicy};
pub use withdrawals::{check_idempotency_key, parse_withdrawal_uuid};

pub use hub_store::{acting, Acting, DeliveryRow, Scope};

use hub_node::Client;
use hub_signer::SeedProvider;
use hub_store::Store;

/// The Hub: every command, over a store, a node client and a seed provider.
pub struct Hub {
    store: Store,
    node: Client,
    /// One client per node endpoint, for questions every node is asked.
    nodes: Vec<Client>,
    /// How many nodes must agree before a confirmation moves money.
    node_quorum: usize,
    provider: Arc<dyn SeedProvider>,
    clock: Arc<dyn Clock>,
    sensitive: SensitiveConfig,
    deposit_derivations: commands::DerivationQueue,
    /// Planned sweeps that failed to sign, and when to try them again.
    held_sweeps: sweep::sweeper::HeldSweeps,
    webhooks: webhooks::WebhookPolicy,
}

impl Hub {
    /// A Hub over these parts.
    pub fn new(store: Store, node: Client, provider: Arc<dyn SeedProvider>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            nodes: node.per_endpoint(),
            node,
            node_quorum: 1,
            provider,
            clock,
            sensitive: SensitiveConfig::default(),
            deposit_derivations: commands::DerivationQueue::new(Hub::DEPOSIT_DERIVATION_QUEUE_MAX_DEFAULT),
            held_sweeps: sweep::sweeper::HeldSweeps::default(),
            webhooks: webhooks::WebhookPolicy::default(),
        }
    }

    /// The same Hub delivering webhooks by `policy`.
    pub fn with_webhook_policy(mut self, policy: webhooks::WebhookPolicy) -> Self {
        self.webhooks = policy;
        self
    }

    /// How webhooks are delivered.
    pub fn webhook_policy(&self) -> webhooks::WebhookPolicy {
        self.webhooks
    }

    /// The same Hub with these dangerous commands turned on (all are off by default).
    pub fn with_sensitive(mut self, sensitive: SensitiveConfig) -> Self {
        self.sensitive = sensitive;
        self
    }

    /// The same Hub letting at most `max` GetDepositAddress calls wait for
    /// or run an on-demand derivation (when the address pool is empty) at
    /// once; one more fails at once with [`HubError::Overloaded`]. Default
    /// [`Hub::DEPOSIT_DERIVATION_QUEUE_MAX_DEFAULT`]; 0 refuses every
    /// on-demand derivation (the pool alone serves addresses).
    pub fn with_deposit_derivation_queue(mut self, max: usize) -> Self {
        self.deposit_derivations = commands::DerivationQueue::new(max);
        self
    }

    /// The same Hub crediting a deposit, quarantining an address and
    /// confirming a sweep only on confirmations `quorum` of its nodes agree
    /// on (default 1: the node asked). More than the nodes configured is
    /// clamped to all of them; the settings refuse it earlier.
    pub fn with_node_quorum(mut self, quorum: usize) -> Self {
        self.node_quorum = quorum.clamp(1, self.nodes.len().max(1));
        self
    }

    /// The database.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The node client (its endpoints in turn, failing over).
    pub fn node(&self) -> &Client {
        &self.node
    }

    /// One client per node endpoint.
    pub fn nodes(&self) -> &[Client] {
        &self.nodes
    }

    /// Planned sweeps that failed to sign, and when to try them again.
    pub(crate) fn held_sweeps(&self) -> &sweep::sweeper::HeldSweeps {
        &self.held_sweeps
    }

    /// How many nodes must agree on a confirmation.
    pub fn node_quorum(&self) -> usize {
        self.node_quorum
    }

    /// The seed provider.
    pub fn provider(&self) -> &Arc<dyn SeedProvider> {
        &self.provider
    }

    /// Current time, ms since the epoch.
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Start-up check (hub-behaviour.md §1.2 step 6): re-derives one stored
    /// address from its seed UUID. A mismatch means the salt, the Argon2
    /// parameters, the security level or the signing server are not the ones
    /// this database was made with; Hub must then refuse to start.
    pub async fn verify_derivation(&self) -> Result<(), String> {
        let stored = self
            .store
            .read()
            .await
            .map_err(|e| e.to_string())?
            .any_derived_address()
            .await
            .map_err(|e| e.to_string())?;
        let Some(stored) = stored else {
            return Ok(());
        };
        let derived = self
            .provider
            .address(&stored.seed_uuid)
            .await
            .map_err(|e| format!("cannot derive a stored address to check the salt: {e}"))?;
        if derived != stored.address {
            return Err(
                "the salt or the Argon2/security parameters (or the signing server) do not match this database: \
                 a stored address does not derive from its seed UUID"
                    .into(),
            );
        }
        Ok(())
    }
}
