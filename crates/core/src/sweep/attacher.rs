//! The attacher: gets signed sweeps onto the Tangle and confirmed
//! (hub-behaviour.md §7), the *signed → confirmed* step of the sweep state
//! machine, as *observe* (node calls) → [`decide`] (pure) → *act*.
//!
//! A tick asks everything of one node, the first synced of those configured
//! (tips, proof of work, storing and broadcasting fit together); while none
//! is synced, every sweep waits, reported as the node's failure. Fixes over
//! the original: a node error skips that sweep for this tick and never
//! stops the service; confirmation is seen through any attachment, ours or
//! a third party's, but a third party's only if it carries exactly the
//! sweep's signed transactions; confirming a sweep emits an event.
//! Attachment never re-signs: it reuses the stored, signed transactions.

use std::collections::HashMap;
use std::time::Duration;

use hub_node::{Client, FindQuery};
use hub_protocol::attach::{attach_bundle, AttachOptions, Cancel};
use hub_protocol::bundle::{BundleBuilder, Output};
use hub_protocol::{Address, Hash, Transaction};
use hub_store::{SweepRow, SweepState};

use super::decide::{decide, Decision, Observation, ObservedTail};
use super::sweep_transactions;
use crate::crash::{self, CrashPoint};
use crate::tangle::{agreed_confirmed, first_synced, follow_trunks};
use crate::{Cause, Hub, HubError};

/// Recorded tails asked about consistency per sweep and tick, newest first:
/// a bound on node calls however many copies of a sweep exist.
const CONSISTENCY_CHECKS_MAX: usize = 16;
/// Depth of the tip selection for a promotion: IRI's default max depth.
/// A node walking with a non-zero alpha refuses a reference outside the
/// future cone of its entry point ("reference transaction is too old"), so
/// the entry point is put as deep as a node allows.
const PROMOTION_DEPTH: u32 = 15;

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
    /// Longest local proof of work for one attachment; then it is
    /// cancelled and the tick tries again next time.
    pub local_pow_timeout_ms: u64,
}

impl Default for AttachConfig {
    fn default() -> Self {
        Self {
            mwm: 9,
            depth: 3,
            max_promotion_age_ms: 30 * 60 * 1000,
            pow: PowMode::Local,
            local_pow_timeout_ms: 120_000,
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
    let sweeps = hub.store().read().await?.sweeps_in_state(SweepState::Signed).await?;
    if sweeps.is_empty() {
        return Ok(Vec::new());
    }
    let node = match first_synced(hub.nodes(), hub.now_ms()).await {
        Ok(Some((node, _))) => node,
        unusable => {
            // Every sweep waits for the next tick, each reported as the node's failure.
            let failure = match unusable {
                Err(e) => HubError::from(e),
                Ok(_) => HubError::IotaNodeUnavailable("no node is synced".into()),
            };
            tracing::warn!("attacher: nothing attached this tick: {failure}");
            return Ok(sweeps
                .iter()
                .map(|sweep| (sweep.bundle_hash.to_string(), Err(failure.clone())))
                .collect());
        }
    };
    let mut results = Vec::new();
    for sweep in sweeps {
        let outcome = attend(hub, &node, config, &sweep).await;
        if let Err(e) = &outcome {
            tracing::warn!(bundle = %sweep.bundle_hash, "attachment skipped this tick: {e}");
        }
        results.push((sweep.bundle_hash.to_string(), outcome));
    }
    Ok(results)
}

async fn attend(hub: &Hub, node: &Client, config: &AttachConfig, sweep: &SweepRow) -> Result<Action, HubError> {
    let observed = observe(hub, node, config, sweep).await?;
    let decision = decide(&observed, hub.now_ms(), config.max_promotion_age_ms);
    act(hub, node, config, sweep, &observed, decision).await
}

/// What the node says of every attachment of the sweep. Stops asking once
/// one of ours is confirmed (nothing else can change the decision).
async fn observe(hub: &Hub, node: &Client, config: &AttachConfig, sweep: &SweepRow) -> Result<Observation, HubError> {
    let recorded = hub.store().read().await?.sweep_tails(sweep.id).await?;
    let hashes: Vec<Hash> = recorded.iter().map(|t| t.hash).collect();
    let confirmed = included(node, &hashes).await?;
    let mut tails: Vec<ObservedTail> = recorded
        .iter()
        .zip(confirmed)
        .map(|(t, confirmed)| ObservedTail {
            hash: t.hash,
            recorded_at_ms: Some(t.created_at),
            confirmed,
            consistent: None,
        })
        .collect();
    if tails.iter().any(|t| t.confirmed) {
        return Ok(Observation { tails });
    }
    for tail in third_party_tails(hub, node, sweep, &hashes).await? {
        tails.push(tail);
    }
    let third_party: Vec<Hash> = tails
        .iter()
        .filter(|t| t.recorded_at_ms.is_none())
        .map(|t| t.hash)
        .collect();
    let third_confirmed = included(node, &third_party).await?;
    for (tail, confirmed) in tails
        .iter_mut()
        .filter(|t| t.recorded_at_ms.is_none())
        .zip(third_confirmed)
    {
        tail.confirmed = confirmed;
    }
    if tails.iter().any(|t| t.confirmed) {
        return Ok(Observation { tails });
    }
    let now = hub.now_ms();
    let mut checks = 0;
    for tail in &mut tails {
        let young = tail
            .recorded_at_ms
            .is_none_or(|at| now.saturating_sub(at) < config.max_promotion_age_ms);
        if young && checks < CONSISTENCY_CHECKS_MAX {
            tail.consistent = Some(is_consistent(node, tail.hash).await?);
            checks += 1;
        }
    }
    Ok(Observation { tails })
}

/// Tails of the sweep's bundle on the node that Hub has not recorded
/// (anyone may reattach a signed bundle), each checked to carry exactly the
/// sweep's signed transactions: a tail whose bundle differs (a forgery
/// under the sweep's bundle hash, or an incomplete copy) is never taken as
/// the sweep's, and a forgery is reported once as an ALERT.
async fn third_party_tails(
    hub: &Hub,
    node: &Client,
    sweep: &SweepRow,
    recorded: &[Hash],
) -> Result<Vec<ObservedTail>, HubError> {
    let members = node
        .find_transactions(&FindQuery {
            bundles: vec![sweep.bundle_hash],
            ..FindQuery::default()
        })
        .await?;
    let by_hash: HashMap<Hash, Transaction> = members
        .iter()
        .copied()
        .zip(node.get_trytes(&members).await?)
        .filter_map(|(hash, tx)| tx.map(|tx| (hash, tx)))
        .collect();
    let ours = sweep_transactions(sweep)?;
    let mut tails = Vec::new();
    for (hash, tx) in &by_hash {
        if !tx.is_tail() || recorded.contains(hash) {
            continue;
        }
        match follow_trunks(&by_hash, *hash) {
            Some(copy) if same_bundle(&copy, &ours) => tails.push(ObservedTail {
                hash: *hash,
                recorded_at_ms: None,
                confirmed: false,
                consistent: None,
            }),
            Some(_) => {
                tracing::error!(bundle = %sweep.bundle_hash, tail = %hash,
                    "ALERT: the node holds a tail under this sweep's bundle hash whose transactions are not the sweep's; ignored");
                let mut tx = hub.store().begin().await?;
                tx.report_rejected_node_answer(hash, hub.now_ms()).await?;
                tx.commit().await?;
            }
            None => {} // not all of it on the node (yet): not a copy to judge
        }
    }
    Ok(tails)
}

/// Whether an attached copy carries exactly `ours` (index order): the same
/// essences and signatures, whatever tips and proof of work it has.
fn same_bundle(copy: &[Transaction], ours: &[Transaction]) -> bool {
    copy.len() == ours.len()
        && copy.iter().zip(ours).all(|(theirs, ours)| {
            theirs.essence() == ours.essence()
                && theirs.bundle == ours.bundle
                && theirs.signature_message_fragment == ours.signature_message_fragment
        })
}

/// Carries out the decision.
async fn act(
    hub: &Hub,
    node: &Client,
    config: &AttachConfig,
    sweep: &SweepRow,
    observed: &Observation,
    decision: Decision,
) -> Result<Action, HubError> {
    if let Decision::Confirm(tail) = decision {
        return confirm(hub, sweep, tail).await;
    }
    for tail in observed.to_record() {
        record_tail(hub, sweep, tail).await?;
    }
    if let Decision::Promote(tail) = decision {
        match promote(hub, node, config, tail).await {
            Ok(promotion) => {
                let mut tx = hub.store().begin().await?;
                tx.record_promotion(&sweep.bundle_hash, &tail, &promotion, hub.now_ms())
                    .await?;
                tx.commit().await?;
                return Ok(Action::Promoted);
            }
            Err(e) => tracing::warn!(bundle = %sweep.bundle_hash, "promotion failed, reattaching: {e}"),
        }
    }
    reattach(hub, node, config, sweep).await
}

/// Whether a tail may still confirm. A tail the node refuses to judge (it
/// never kept it: a dropped broadcast, another node behind the same
/// endpoint list, a restart or pruning) counts as inconsistent, so the
/// sweep is reattached rather than stalled.
async fn is_consistent(node: &Client, tail: Hash) -> Result<bool, HubError> {
    match node.check_consistency(&[tail]).await {
        Ok(consistency) => Ok(consistency.state),
        Err(hub_node::NodeError::Refused { message, .. }) => {
            tracing::info!(%tail, "node does not judge this tail ({message}); treating it as inconsistent");
            Ok(false)
        }
        Err(e) => Err(e.into()),
    }
}

/// `getInclusionStates(tails)`: whether each is confirmed by a milestone
/// (IRI 1.8.6 takes no tips); nothing asked for no tails.
async fn included(node: &Client, tails: &[Hash]) -> Result<Vec<bool>, HubError> {
    if tails.is_empty() {
        return Ok(Vec::new());
    }
    Ok(node.get_inclusion_states(tails).await?)
}

/// Records an attachment of the sweep (ours or a third party's).
async fn record_tail(hub: &Hub, sweep: &SweepRow, tail: Hash) -> Result<(), HubError> {
    let mut tx = hub.store().begin().await?;
    tx.add_sweep_tail(sweep.id, &tail, hub.now_ms()).await?;
    Ok(tx.commit().await?)
}

/// Records the sweep confirmed through `tail`, once enough nodes agree.
async fn confirm(hub: &Hub, sweep: &SweepRow, tail: Hash) -> Result<Action, HubError> {
    let quorum = hub.node_quorum();
    if quorum > 1 && !agreed_confirmed(hub.nodes(), quorum, &[tail]).await.contains(&tail) {
        return Err(HubError::IotaNodeUnavailable(format!(
            "tail {tail} is confirmed on fewer than {quorum} nodes; the sweep waits for them to agree"
        )));
    }
    let mut tx = hub.store().begin().await?;
    tx.confirm_sweep(sweep.id, &tail, hub.now_ms()).await?;
    tx.commit().await?;
    crash::at(CrashPoint::Confirmed);
    tracing::info!(bundle = %sweep.bundle_hash, tail = %tail, "sweep confirmed");
    Ok(Action::Confirmed)
}

/// Does proof of work on `transactions` (index order) on top of the tips.
async fn attach(
    hub: &Hub,
    node: &Client,
    config: &AttachConfig,
    transactions: Vec<Transaction>,
    trunk: Hash,
    branch: Hash,
) -> Result<Vec<Transaction>, HubError> {
    match config.pow {
        PowMode::Remote => Ok(node.attach_to_tangle(trunk, branch, config.mwm, &transactions).await?),
        PowMode::Local => {
            let options = AttachOptions {
                min_weight_magnitude: config.mwm,
                threads: 0,
                timestamp_ms: hub.now_ms(),
            };
            // Stops the search when this future is dropped (a tick ended
            // at shutdown) or the deadline passes; the thread then returns.
            let cancel = CancelOnDrop(Cancel::new());
            let search = cancel.0.clone();
            let work =
                tokio::task::spawn_blocking(move || attach_bundle(&transactions, trunk, branch, &options, &search));
            let deadline = Duration::from_millis(config.local_pow_timeout_ms);
            tokio::time::timeout(deadline, work)
                .await
                .map_err(|_| {
                    HubError::internal(
                        Cause::ProofOfWork,
                        format!("local proof of work cancelled after {} ms", deadline.as_millis()),
                    )
                })?
                .map_err(|e| HubError::internal(Cause::Task, format!("proof of work task: {e}")))?
                .map_err(|e| HubError::internal(Cause::ProofOfWork, format!("proof of work: {e}")))?
                .ok_or_else(|| HubError::internal(Cause::ProofOfWork, "proof of work cancelled"))
        }
    }
}

/// Cancels a proof-of-work search when dropped.
struct CancelOnDrop(Cancel);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

async fn publish(node: &Client, attached: &[Transaction]) -> Result<(), HubError> {
    node.store_transactions(attached).await?;
    Ok(node.broadcast_transactions(attached).await?)
}

/// Attaches the sweep again on fresh tips, keeps it on the node, and
/// broadcasts and records it only if the node judges it consistent. It is
/// not when the tips already approve another copy (two copies in one cone
/// spend the inputs twice): then that copy is on the walk and confirms
/// without help, and this tick attaches nothing.
async fn reattach(hub: &Hub, node: &Client, config: &AttachConfig, sweep: &SweepRow) -> Result<Action, HubError> {
    let (trunk, branch) = node.get_transactions_to_approve(config.depth, None).await?;
    let attached = attach(hub, node, config, sweep_transactions(sweep)?, trunk, branch).await?;
    let tail = attached
        .first()
        .ok_or_else(|| HubError::internal(Cause::Bundle, "attachment returned no transaction"))?
        .hash();
    node.store_transactions(&attached).await?;
    if !is_consistent(node, tail).await? {
        return Err(HubError::internal(
            Cause::Concurrent,
            format!("a new attachment on {trunk} and {branch} would be inconsistent (the tips may approve another copy); not broadcast"),
        ));
    }
    node.broadcast_transactions(&attached).await?;
    crash::at(CrashPoint::Broadcast);
    record_tail(hub, sweep, tail).await?;
    crash::at(CrashPoint::Attached);
    tracing::info!(bundle = %sweep.bundle_hash, tail = %tail, "sweep attached");
    Ok(Action::Reattached)
}

/// The zero-value address promotions are made on (the original's).
fn promotion_address() -> Address {
    Address::from_trytes(&format!("{:9<81}", "SOME9RANDOM9HUB9BEING9REATTACHED")).expect("valid trytes")
}

/// Promotes `tail` with a zero-value bundle approving it; returns that
/// bundle's tail.
async fn promote(hub: &Hub, node: &Client, config: &AttachConfig, tail: Hash) -> Result<Hash, HubError> {
    let (trunk, branch) = node.get_transactions_to_approve(PROMOTION_DEPTH, Some(tail)).await?;
    let bundle = BundleBuilder::new(u64::try_from(hub.now_ms() / 1000).unwrap_or(0))
        .and_then(|b| b.output(Output::new(promotion_address(), 0)).build())
        .map_err(|e| HubError::internal(Cause::Bundle, e.to_string()))?;
    let attached = attach(hub, node, config, bundle.transactions().to_vec(), trunk, branch).await?;
    publish(node, &attached).await?;
    attached
        .first()
        .map(Transaction::hash)
        .ok_or_else(|| HubError::internal(Cause::Bundle, "promotion attachment returned no transaction"))
}
