//! The devnet's coordinator: milestones, the only thing that confirms
//! transactions.
//!
//! A milestone confirms tips oldest first (up to [`MAX_TIPS_PER_MILESTONE`]),
//! each only if its unconfirmed past cone is consistent with the ledger and
//! with the tips taken before it, so overdrafts, double spends and second
//! attachments of a bundle never confirm. The tips taken are chained with
//! zero-value merge transactions on [`coordinator_address`]; the last one is
//! the milestone. Only this node issues milestones: nothing stored from
//! outside counts as one, whatever its address or tag. A milestone's proof
//! of work runs under the node's lock, so commands wait while it is issued.

use std::collections::HashSet;
use std::sync::Arc;

use hub_protocol::attach::{attach_bundle, AttachOptions, Cancel};
use hub_protocol::bundle::{BundleBuilder, Output};
use hub_protocol::{Address, Hash, Tag, Transaction};

use crate::faults::SyncFault;
use crate::ledger::BundleEffect;
use crate::node::{now_ms, Node, State};

/// The most tips one milestone confirms (the rest wait for the next).
pub const MAX_TIPS_PER_MILESTONE: usize = 256;
/// How old milestones look under the `stale` fault.
const STALE_AGE_S: u64 = 3600;

/// Address the coordinator's milestones are issued on.
pub fn coordinator_address() -> Address {
    Address::from_trytes(&format!("{:9<81}", "DEVNET9COORDINATOR")).expect("valid trytes")
}

/// A milestone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Milestone {
    /// Index (0 is the genesis).
    pub index: u64,
    /// Hash of the milestone transaction (all-`9` for the genesis).
    pub hash: Hash,
}

impl Node {
    /// Issues a milestone now, confirming every consistent tip (up to
    /// [`MAX_TIPS_PER_MILESTONE`]).
    pub fn issue_milestone(&self) -> Result<Milestone, String> {
        let mut state = self.lock();
        let accepted = state.consistent_tips();
        let previous = state.latest();
        let (milestone, new_txs) = self.build_milestone(&mut state, previous, accepted)?;
        if let Some(log) = state.log.as_mut() {
            log.append_transactions(new_txs.iter())?;
        }
        state.confirm_milestone(milestone.hash)?;
        if let Some(log) = state.log.as_mut() {
            log.append_milestone(milestone.index, &milestone.hash)?;
        }
        Ok(state.latest())
    }

    /// Chains `accepted` onto `previous` with zero-value merge transactions
    /// and ends the chain in the milestone transaction, putting each on the
    /// tangle; returns the milestone (not yet confirmed) and the new
    /// transactions in order.
    fn build_milestone(
        &self,
        state: &mut State,
        previous: Milestone,
        accepted: Vec<Hash>,
    ) -> Result<(Milestone, Vec<Transaction>), String> {
        let index = previous.index + 1;
        let timestamp_s = state.milestone_timestamp_s();
        let mut tips = accepted.into_iter();
        let mut head = tips.next().unwrap_or(previous.hash);
        let links = tips
            .map(|tip| (tip, "DEVNET9MERGE"))
            .chain([(previous.hash, "DEVNET9MILESTONE")]);
        let mut new_txs = Vec::new();
        for (branch, tag) in links {
            let tx = self.zero_value_transaction(head, branch, tag, index, timestamp_s)?;
            head = tx.hash();
            state.tangle.insert(head, tx.clone());
            new_txs.push(tx);
        }
        Ok((Milestone { index, hash: head }, new_txs))
    }

    /// One zero-value transaction of milestone `index` on the coordinator
    /// address, attached onto `trunk` and `branch`.
    fn zero_value_transaction(
        &self,
        trunk: Hash,
        branch: Hash,
        tag: &str,
        index: u64,
        timestamp_s: u64,
    ) -> Result<Transaction, String> {
        let mut obsolete = [0i8; 81];
        hub_protocol::ternary::int_to_trits("milestone index", index as i64, &mut obsolete)
            .map_err(|e| e.to_string())?;
        let output = Output::new(coordinator_address(), 0)
            .with_tag(Tag::from_trytes_padded(tag).map_err(|e| e.to_string())?)
            .with_obsolete_tag(Tag::from_trits(&obsolete).map_err(|e| e.to_string())?);
        let bundle = BundleBuilder::new(timestamp_s)
            .and_then(|b| b.output(output).build())
            .map_err(|e| e.to_string())?;
        let options = AttachOptions {
            min_weight_magnitude: self.mwm(),
            threads: 1,
            timestamp_ms: now_ms() as i64,
        };
        let attached = attach_bundle(bundle.transactions(), trunk, branch, &options, &Cancel::default())
            .map_err(|e| e.to_string())?
            .ok_or("proof of work cancelled")?;
        Ok(attached.into_iter().next().expect("one transaction"))
    }
}

impl State {
    /// The tips a milestone confirms now: oldest first, each taken if its
    /// unconfirmed past cone is consistent with the ledger and with the
    /// cones of the tips taken before it.
    fn consistent_tips(&mut self) -> Vec<Hash> {
        let mut included: HashSet<Hash> = HashSet::new();
        let mut effects: Vec<Arc<BundleEffect>> = Vec::new();
        let mut accepted: Vec<Hash> = Vec::new();
        for tip in self.tangle.tips() {
            if accepted.len() == MAX_TIPS_PER_MILESTONE {
                break;
            }
            if included.contains(&tip) {
                continue;
            }
            let Ok((cone, tip_effects)) = self.cone_effects(&[tip], &included) else {
                continue;
            };
            let candidate: Vec<&BundleEffect> = effects.iter().chain(tip_effects.iter()).map(Arc::as_ref).collect();
            if self.ledger.check(&candidate).is_ok() {
                included.extend(cone);
                effects.extend(tip_effects);
                accepted.push(tip);
            }
        }
        accepted
    }

    /// The timestamp of a milestone issued now (an hour old under the
    /// `stale` fault).
    fn milestone_timestamp_s(&self) -> u64 {
        let now_s = now_ms() / 1000;
        match self.faults.not_synced {
            SyncFault::Stale => now_s - STALE_AGE_S,
            _ => now_s,
        }
    }

    /// Confirms the unconfirmed past cone of milestone `hash` and records it.
    pub(crate) fn confirm_milestone(&mut self, hash: Hash) -> Result<(), String> {
        let index = self.milestones.len() as u64;
        let (cone, effects) = self.cone_effects(&[hash], &HashSet::new())?;
        let refs: Vec<&BundleEffect> = effects.iter().map(Arc::as_ref).collect();
        self.ledger
            .apply(&refs)
            .map_err(|e| format!("milestone {index} is inconsistent: {e}"))?;
        for h in &cone {
            self.tangle.set_confirmed(h, index);
        }
        self.milestones.push(Milestone { index, hash });
        self.milestone_by_hash.insert(hash, index);
        Ok(())
    }
}
