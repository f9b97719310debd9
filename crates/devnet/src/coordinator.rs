//! The devnet's coordinator: milestones, the only thing that confirms
//! transactions.
//!
//! As Compass does, each milestone approves exactly the pair the node's own
//! tip selection returns (`walk`): the trunk from a walk at the entry point
//! `max depth` below the latest solid milestone, the branch from a walk
//! starting at the previous milestone, so milestones form a chain. What
//! the walk does not reach stays unconfirmed until a promotion or a
//! reattachment puts it on the walk; of two conflicting spends the walk
//! decides which one confirms. The milestone is one zero-value transaction
//! on [`coordinator_address`]; only this node issues milestones: nothing
//! stored from outside counts as one, whatever its address or tag. The
//! milestone's proof of work runs outside the node's lock: the tips are
//! chosen under it, the lock is released for the work, and the milestone is
//! confirmed under it again (only milestones change the ledger, and they
//! are issued one at a time, so the chosen pair stays consistent).

use std::collections::HashSet;
use std::sync::Arc;

use hub_protocol::attach::{attach_bundle, AttachOptions, Cancel};
use hub_protocol::bundle::{BundleBuilder, Output};
use hub_protocol::{Address, Hash, Tag, Transaction};

use crate::faults::SyncFault;
use crate::ledger::BundleEffect;
use crate::node::{now_ms, Node, State};

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
    /// Issues a milestone now, approving the pair the node's tip selection
    /// returns.
    pub fn issue_milestone(&self) -> Result<Milestone, String> {
        let _one_at_a_time = self.milestone_lock.lock().unwrap_or_else(|p| p.into_inner());
        let (previous, trunk, branch, timestamp_s) = {
            let mut state = self.lock();
            let previous = state.latest();
            let (trunk, branch) = state.select_tips(&self.walk, self.walk.max_depth, Some(previous.hash))?;
            (previous, trunk, branch, state.milestone_timestamp_s())
        };
        let milestone = self.milestone_transaction(trunk, branch, previous.index + 1, timestamp_s)?;
        let hash = milestone.hash();
        let mut state = self.lock();
        if let Some(log) = state.log.as_mut() {
            log.append_transactions([&milestone].into_iter())?;
        }
        state.tangle.insert(hash, milestone);
        state.confirm_milestone(hash)?;
        if let Some(log) = state.log.as_mut() {
            log.append_milestone(previous.index + 1, &hash)?;
        }
        Ok(state.latest())
    }

    /// The zero-value transaction of milestone `index` on the coordinator
    /// address, attached onto `trunk` and `branch`.
    fn milestone_transaction(
        &self,
        trunk: Hash,
        branch: Hash,
        index: u64,
        timestamp_s: u64,
    ) -> Result<Transaction, String> {
        let mut obsolete = [0i8; 81];
        hub_protocol::ternary::int_to_trits("milestone index", index as i64, &mut obsolete)
            .map_err(|e| e.to_string())?;
        let output = Output::new(coordinator_address(), 0)
            .with_tag(Tag::from_trytes_padded("DEVNET9MILESTONE").map_err(|e| e.to_string())?)
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
        let (cone, effects) = self.cone_effects(&[hash], &HashSet::new(), false)?;
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
