//! The attacher: gets signed sweeps onto the Tangle and confirmed
//! (hub-behaviour.md §7), with the original's policy and without its
//! defects: a node error skips that sweep for this tick and never stops the
//! service; confirmation is seen through any attachment, ours or a third
//! party's; confirming a sweep emits an event. Attachment never re-signs:
//! it reuses the stored, signed transactions.

use hub_node::FindQuery;
use hub_protocol::attach::{attach_bundle, AttachOptions, Cancel};
use hub_protocol::bundle::{BundleBuilder, Output};
use hub_protocol::{Address, Hash, Transaction};
use hub_store::SweepRow;

use crate::crash;
use crate::sweeper::sweep_transactions;
use crate::{internal, Hub, HubError};

/// Who does the proof of work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowMode {
    /// In-process (`hub-pow`).
    Local,
    /// The node's `attachToTangle`.
    Remote,
}

/// Attachment settings.
#[derive(Debug, Clone, Copy)]
pub struct AttachConfig {
    /// Proof-of-work weight.
    pub mwm: u8,
    /// Tip-selection depth for reattachments.
    pub depth: u32,
    /// A tail older than this is reattached rather than promoted.
    pub max_promotion_age_ms: i64,
    /// Who does the proof of work.
    pub pow: PowMode,
}

impl Default for AttachConfig {
    fn default() -> Self {
        Self {
            mwm: 9,
            depth: 3,
            max_promotion_age_ms: 30 * 60 * 1000,
            pow: PowMode::Local,
        }
    }
}

/// What happened to one sweep in a tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// A tail is confirmed: the sweep is done.
    Confirmed,
    /// A young consistent tail was promoted.
    Promoted,
    /// A new attachment was made.
    Reattached,
}

/// Attends every signed, unconfirmed sweep once; a failure on one sweep is
/// logged and the others go on.
pub async fn run_tick(hub: &Hub, config: &AttachConfig) -> Result<Vec<(String, Result<Action, HubError>)>, HubError> {
    let sweeps = hub
        .store()
        .read()
        .await
        .map_err(internal)?
        .sweeps_in_state("signed")
        .await
        .map_err(internal)?;
    let mut results = Vec::new();
    for sweep in sweeps {
        let outcome = attend(hub, config, &sweep).await;
        if let Err(e) = &outcome {
            tracing::warn!(bundle = %sweep.bundle_hash, "attachment skipped this tick: {e}");
        }
        results.push((sweep.bundle_hash, outcome));
    }
    Ok(results)
}

fn node_error(e: hub_node::NodeError) -> HubError {
    HubError::IotaNodeUnavailable(e.to_string())
}

fn hash(text: &str) -> Result<Hash, HubError> {
    Hash::from_trytes(text).map_err(|e| HubError::Internal(format!("stored hash: {e}")))
}

async fn attend(hub: &Hub, config: &AttachConfig, sweep: &SweepRow) -> Result<Action, HubError> {
    let node = hub.node();
    let milestone = node.get_node_info().await.map_err(node_error)?.latest_milestone;
    let known: Vec<Hash> = hub
        .store()
        .read()
        .await
        .map_err(internal)?
        .sweep_tails(sweep.id)
        .await
        .map_err(internal)?
        .iter()
        .map(|t| hash(&t.hash))
        .collect::<Result<_, _>>()?;
    if let Some(tail) = first_confirmed(hub, &known, milestone).await? {
        return confirm(hub, sweep, tail).await;
    }
    // Attachments made by others (anyone may reattach a signed bundle).
    let bundle = hash(&sweep.bundle_hash)?;
    let members = node
        .find_transactions(&FindQuery {
            bundles: vec![bundle],
            ..FindQuery::default()
        })
        .await
        .map_err(node_error)?;
    let others: Vec<Hash> = members
        .iter()
        .zip(node.get_trytes(&members).await.map_err(node_error)?)
        .filter(|(h, tx)| tx.as_ref().is_some_and(Transaction::is_tail) && !known.contains(h))
        .map(|(h, _)| *h)
        .collect();
    if let Some(tail) = first_confirmed(hub, &others, milestone).await? {
        return confirm(hub, sweep, tail).await;
    }
    for tail in &others {
        if is_consistent(hub, *tail).await? {
            record_tail(hub, sweep, *tail).await?;
        }
    }
    // Promote the newest consistent young tail, or reattach.
    let tails = hub
        .store()
        .read()
        .await
        .map_err(internal)?
        .sweep_tails(sweep.id)
        .await
        .map_err(internal)?;
    let recorded: Vec<Hash> = tails.iter().map(|t| hash(&t.hash)).collect::<Result<_, _>>()?;
    for tail in tails {
        let young = hub.now_ms() - tail.created_at < config.max_promotion_age_ms;
        let tail_hash = hash(&tail.hash)?;
        if young && is_consistent(hub, tail_hash).await? {
            match promote(hub, config, tail_hash).await {
                Ok(()) => return Ok(Action::Promoted),
                Err(e) => {
                    tracing::warn!(bundle = %sweep.bundle_hash, "promotion failed, reattaching: {e}");
                    break;
                }
            }
        }
    }
    reattach(hub, config, sweep, &recorded).await
}

/// Whether a tail may still confirm. A tail the node refuses to judge (it
/// never kept it: a dropped broadcast, another node behind the same
/// endpoint list, a restart or pruning) counts as inconsistent, so the
/// sweep is reattached rather than stalled.
async fn is_consistent(hub: &Hub, tail: Hash) -> Result<bool, HubError> {
    match hub.node().check_consistency(&[tail]).await {
        Ok(consistency) => Ok(consistency.state),
        Err(hub_node::NodeError::Refused { message, .. }) => {
            tracing::info!(%tail, "node does not judge this tail ({message}); treating it as inconsistent");
            Ok(false)
        }
        Err(e) => Err(node_error(e)),
    }
}

async fn first_confirmed(hub: &Hub, tails: &[Hash], milestone: Hash) -> Result<Option<Hash>, HubError> {
    if tails.is_empty() {
        return Ok(None);
    }
    let states = hub
        .node()
        .get_inclusion_states(tails, &[milestone])
        .await
        .map_err(node_error)?;
    Ok(tails
        .iter()
        .zip(states)
        .find(|(_, included)| *included)
        .map(|(t, _)| *t))
}

/// Records an attachment of the sweep (ours or a third party's).
async fn record_tail(hub: &Hub, sweep: &SweepRow, tail: Hash) -> Result<(), HubError> {
    let mut tx = hub.store().begin().await.map_err(internal)?;
    tx.add_sweep_tail(sweep.id, tail.as_str(), hub.now_ms())
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)
}

async fn confirm(hub: &Hub, sweep: &SweepRow, tail: Hash) -> Result<Action, HubError> {
    let mut tx = hub.store().begin().await.map_err(internal)?;
    tx.confirm_sweep(sweep.id, tail.as_str(), hub.now_ms())
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    crash::point("sweep_confirmed");
    tracing::info!(bundle = %sweep.bundle_hash, tail = %tail, "sweep confirmed");
    Ok(Action::Confirmed)
}

/// Does proof of work on `transactions` (index order) on top of the tips.
async fn attach(
    hub: &Hub,
    config: &AttachConfig,
    transactions: Vec<Transaction>,
    trunk: Hash,
    branch: Hash,
) -> Result<Vec<Transaction>, HubError> {
    match config.pow {
        PowMode::Remote => hub
            .node()
            .attach_to_tangle(trunk, branch, config.mwm, &transactions)
            .await
            .map_err(node_error),
        PowMode::Local => {
            let options = AttachOptions {
                min_weight_magnitude: config.mwm,
                threads: 0,
                timestamp_ms: hub.now_ms(),
            };
            tokio::task::spawn_blocking(move || {
                attach_bundle(&transactions, trunk, branch, &options, &Cancel::default())
            })
            .await
            .map_err(|e| HubError::Internal(format!("proof of work task: {e}")))?
            .map_err(|e| HubError::Internal(format!("proof of work: {e}")))?
            .ok_or_else(|| HubError::Internal("proof of work cancelled".into()))
        }
    }
}

async fn publish(hub: &Hub, attached: &[Transaction]) -> Result<(), HubError> {
    hub.node().store_transactions(attached).await.map_err(node_error)?;
    hub.node().broadcast_transactions(attached).await.map_err(node_error)
}

/// Attaches the sweep again on fresh tips and records the new tail. If the
/// tips already approve one of its attachments, a second copy there could
/// never confirm (the cone would spend the inputs twice): that attachment
/// is promoted instead.
async fn reattach(hub: &Hub, config: &AttachConfig, sweep: &SweepRow, recorded: &[Hash]) -> Result<Action, HubError> {
    let (trunk, branch) = hub
        .node()
        .get_transactions_to_approve(config.depth, None)
        .await
        .map_err(node_error)?;
    if !recorded.is_empty() {
        let approved = hub
            .node()
            .get_inclusion_states(recorded, &[trunk, branch])
            .await
            .map_err(node_error)?;
        if let Some((tail, _)) = recorded.iter().zip(approved).find(|(_, approved)| *approved) {
            promote(hub, config, *tail).await?;
            return Ok(Action::Promoted);
        }
    }
    let attached = attach(hub, config, sweep_transactions(sweep)?, trunk, branch).await?;
    publish(hub, &attached).await?;
    crash::point("sweep_broadcast");
    let tail = attached[0].hash();
    record_tail(hub, sweep, tail).await?;
    crash::point("sweep_attached");
    tracing::info!(bundle = %sweep.bundle_hash, tail = %tail, "sweep attached");
    Ok(Action::Reattached)
}

/// The zero-value address promotions are made on (the original's).
fn promotion_address() -> Address {
    Address::from_trytes(&format!("{:9<81}", "SOME9RANDOM9HUB9BEING9REATTACHED")).expect("valid trytes")
}

async fn promote(hub: &Hub, config: &AttachConfig, tail: Hash) -> Result<(), HubError> {
    let (trunk, branch) = hub
        .node()
        .get_transactions_to_approve(0, Some(tail))
        .await
        .map_err(node_error)?;
    let bundle = BundleBuilder::new(u64::try_from(hub.now_ms() / 1000).unwrap_or(0))
        .and_then(|b| b.output(Output::new(promotion_address(), 0)).build())
        .map_err(|e| HubError::Internal(e.to_string()))?;
    let attached = attach(hub, config, bundle.transactions().to_vec(), trunk, branch).await?;
    publish(hub, &attached).await
}
