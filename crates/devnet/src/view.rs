//! The node as the API shows it: the tangle and the ledger as of the latest
//! solid milestone, without what a pruning snapshot forgot.
//!
//! The ledger and the tangle hold everything up to the latest milestone; a
//! fault may put the solid milestone behind it ([`State::solid`]) or prune
//! old transactions (`prunedBelowMilestone`). Rather than keep a second
//! ledger, a balance at the solid milestone is the latest one with the
//! bundles of the newer milestones taken out again, found through the
//! tangle's `confirmed_by` marks. That relies on one fact of the
//! coordinator: every tail a milestone confirms is the tail of a valid,
//! complete bundle whose values the ledger applied.

use std::collections::{HashMap, HashSet};

use hub_protocol::{Address, Hash};

use crate::node::State;

/// Whether a pruning snapshot forgot `hash`: confirmed by a milestone older
/// than the cut (the genesis is never forgotten).
pub(crate) fn forgotten(state: &State, hash: &Hash) -> bool {
    let cut = state.faults.pruned_below_milestone;
    cut > 0 && !hash.is_null() && state.tangle.confirmed_by(hash).is_some_and(|m| m < cut)
}

/// IRI's inclusion state: confirmed by milestone 1 up to `solid` (IRI's
/// `snapshotIndex() > 0`; the genesis is not a transaction) and not forgotten.
pub(crate) fn confirmed_by_solid(state: &State, hash: &Hash, solid: u64) -> bool {
    !forgotten(state, hash)
        && state
            .tangle
            .confirmed_by(hash)
            .is_some_and(|m| (1..=solid).contains(&m))
}

/// Whether `hash` is confirmed by a milestone after `solid` (so, seen from
/// the solid milestone, not yet confirmed).
fn confirmed_after(state: &State, hash: &Hash, solid: u64) -> bool {
    state.tangle.confirmed_by(hash).is_some_and(|m| m > solid)
}

/// The confirmed balance of `address` at milestone `solid`.
pub(crate) fn balance_at(state: &State, address: &Address, solid: u64) -> i128 {
    let latest = i128::from(state.ledger.balance(address));
    if solid >= state.latest().index {
        return latest;
    }
    let tangle = &state.tangle;
    // The tails, confirmed after `solid`, of the bundles with a transaction on `address`.
    let tails: HashSet<Hash> = tangle
        .by_address(address)
        .iter()
        .filter_map(|h| tangle.get(h))
        .flat_map(|stored| tangle.by_bundle(&stored.tx.bundle))
        .filter(|h| confirmed_after(state, h, solid) && tangle.get(h).is_some_and(|s| s.tx.is_tail()))
        .copied()
        .collect();
    let newer: i128 = tails
        .iter()
        .filter_map(|tail| tangle.bundle_from_tail(tail))
        .flatten()
        .filter(|tx| tx.address == *address)
        .map(|tx| i128::from(tx.value.get()))
        .sum();
    latest - newer
}

/// Why `getBalances` with tips is refused, in IRI's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TipsRefusal {
    /// A tip is not stored (or was forgotten).
    NotFound(Hash),
    /// The cones hold an invalid or incomplete bundle, or would overdraw an address.
    Inconsistent,
}

impl std::fmt::Display for TipsRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotFound(tip) => write!(f, "Tip not found: {tip}"),
            Self::Inconsistent => f.write_str("Tips are not consistent"),
        }
    }
}

/// The balance changes the bundles in the past cones of `tips` add to the
/// ledger at milestone `solid` (what is not confirmed as of `solid`), as
/// IRI's `getBalances` computes them: tip by tip, each checked together
/// with the ones before it.
pub(crate) fn tips_changes(
    state: &mut State,
    tips: &[Hash],
    solid: u64,
) -> Result<HashMap<Address, i128>, TipsRefusal> {
    let mut visited: HashSet<Hash> = HashSet::new();
    let mut changes: HashMap<Address, i128> = HashMap::new();
    for tip in tips {
        if !state.tangle.contains(tip) || forgotten(state, tip) {
            return Err(TipsRefusal::NotFound(*tip));
        }
        let mut candidate = changes.clone();
        // The unconfirmed part of the cone: its bundles checked as a milestone would.
        let (unconfirmed, effects) = state
            .cone_effects(&[*tip], &visited, false)
            .map_err(|_| TipsRefusal::Inconsistent)?;
        for (address, change) in effects.iter().flat_map(|e| e.changes.iter()) {
            *candidate.entry(*address).or_default() += i128::from(*change);
        }
        // The part confirmed after `solid`: bundles the ledger already applied.
        let newer = cone_confirmed_after(state, *tip, solid, &visited);
        for tx in newer
            .iter()
            .filter(|h| state.tangle.get(h).is_some_and(|s| s.tx.is_tail()))
            .filter_map(|tail| state.tangle.bundle_from_tail(tail))
            .flatten()
        {
            *candidate.entry(tx.address).or_default() += i128::from(tx.value.get());
        }
        if candidate
            .iter()
            .any(|(a, change)| balance_at(state, a, solid) + change < 0)
        {
            return Err(TipsRefusal::Inconsistent);
        }
        changes = candidate;
        visited.extend(unconfirmed);
        visited.extend(newer);
    }
    changes.retain(|_, change| *change != 0);
    Ok(changes)
}

/// The part of the past cone of `start` confirmed by milestones after
/// `solid`, skipping `exclude`. Confirmation is closed under approval, so
/// the walk stops at anything confirmed by `solid` or earlier.
fn cone_confirmed_after(state: &State, start: Hash, solid: u64, exclude: &HashSet<Hash>) -> HashSet<Hash> {
    let mut seen = HashSet::new();
    let mut cone = HashSet::new();
    let mut stack = vec![start];
    while let Some(hash) = stack.pop() {
        if exclude.contains(&hash) || !seen.insert(hash) {
            continue;
        }
        let Some(stored) = state.tangle.get(&hash) else {
            continue;
        };
        match stored.confirmed_by {
            Some(m) if m <= solid => continue,
            Some(_) => {
                cone.insert(hash);
            }
            // Unconfirmed: not in this part, but its approvees may be.
            None => {}
        }
        stack.push(stored.tx.trunk);
        stack.push(stored.tx.branch);
    }
    cone
}
