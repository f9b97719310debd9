//! Tip selection and the walk validator, as IRI 1.8.6 does them: the rules
//! that decide what a client may approve, what `checkConsistency` accepts
//! and what the coordinator confirms.
//!
//! `getTransactionsToApprove` starts at the milestone `depth` below the
//! latest solid one (IRI's entry point), rates every transaction in its
//! future cone by cumulative weight (the size of that transaction's own
//! future cone) and walks towards the tips, stepping only onto bundle tails
//! the [`Validator`] accepts: solid, not below max depth, bundle valid under
//! the 1.8.5 approval rules, and consistent with the ledger together with
//! everything the walk has approved so far (so trunk and branch are
//! consistent together). The coordinator confirms exactly the pair this
//! walk returns, as Compass does; a transaction the walk never reaches
//! waits for a promotion or a reattachment.
//!
//! Each step picks an approver with probability ∝ `exp(alpha · (rating −
//! max rating))` (IRI's `WalkerAlpha`); alpha 0 picks uniformly.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use hub_protocol::{Address, Hash};
use rand::Rng;

use crate::ledger::BundleEffect;
use crate::node::State;

/// How many transactions a below-max-depth check looks at before giving up
/// and calling the tip too deep (IRI's `BELOW_MAX_DEPTH_TRANSACTION_LIMIT`).
const BELOW_MAX_DEPTH_TRANSACTIONS_MAX: usize = 20_000;
/// The largest future cone whose cumulative weights are computed exactly
/// (the bit sets cost n² bits); beyond it every transaction rates 1, as
/// IRI rates them with alpha 0.
const CUMULATIVE_WEIGHT_TRANSACTIONS_MAX: usize = 8_192;

/// Settings of the walk.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WalkRules {
    /// IRI's `--max-depth`: a cone reaching a transaction confirmed more
    /// than this many milestones below the latest solid one is too deep.
    pub max_depth: u32,
    /// IRI's `--alpha`: how strongly the walk prefers heavier approvers.
    pub alpha: f64,
}

/// IRI's `WalkValidatorImpl`: one per tip selection or consistency check,
/// remembering what was approved so later tails are judged together with it.
pub(crate) struct Validator {
    /// Confirmed before this milestone index means below max depth.
    lowest_allowed_index: i64,
    approved: HashSet<Hash>,
    diff: HashMap<Address, i128>,
    depth_ok: HashSet<Hash>,
}

impl Validator {
    /// A validator over the ledger as of the latest solid milestone.
    pub(crate) fn new(state: &State, rules: &WalkRules) -> Self {
        Self {
            lowest_allowed_index: state.solid().index as i64 - i64::from(rules.max_depth),
            approved: HashSet::new(),
            diff: HashMap::new(),
            depth_ok: HashSet::new(),
        }
    }

    /// Whether the walk may step onto `tail`; `Err` says why not, in words
    /// for logs and tests (IRI only answers true or false).
    pub(crate) fn check(&mut self, state: &mut State, tail: &Hash) -> Result<(), String> {
        if tail.is_null() {
            return Ok(());
        }
        let Some(stored) = state.tangle.get(tail) else {
            return Err(format!("{tail} is missing"));
        };
        if !stored.tx.is_tail() {
            return Err(format!("{tail} is not a tail"));
        }
        if self.below_max_depth(state, tail) {
            return Err(format!("{tail} is below max depth"));
        }
        self.consistent(state, tail)
    }

    /// IRI's `belowMaxDepth`: whether the unconfirmed past cone of `tip`
    /// reaches a transaction confirmed below the lowest allowed milestone.
    fn below_max_depth(&mut self, state: &State, tip: &Hash) -> bool {
        let lowest = self.lowest_allowed_index;
        if state
            .tangle
            .confirmed_by(tip)
            .is_some_and(|index| index as i64 >= lowest)
        {
            return false;
        }
        let mut queue = VecDeque::from([*tip]);
        let mut analyzed: HashSet<Hash> = HashSet::new();
        while let Some(hash) = queue.pop_front() {
            if analyzed.len() == BELOW_MAX_DEPTH_TRANSACTIONS_MAX {
                return true;
            }
            if !analyzed.insert(hash) {
                continue;
            }
            match state.tangle.confirmed_by(&hash) {
                Some(index) if (index as i64) < lowest => return true,
                Some(_) => {}
                None => {
                    if !self.depth_ok.contains(&hash) {
                        if let Some(stored) = state.tangle.get(&hash) {
                            queue.push_back(stored.tx.trunk);
                            queue.push_back(stored.tx.branch);
                        }
                    }
                }
            }
        }
        self.depth_ok.insert(*tip);
        false
    }

    /// IRI's `isBalanceDiffConsistent`: the bundles of `tip`'s unconfirmed
    /// cone not yet approved are valid under the 1.8.5 rules, and together
    /// with what was approved leave no balance negative. If so, they count
    /// as approved from now on.
    fn consistent(&mut self, state: &mut State, tip: &Hash) -> Result<(), String> {
        if self.approved.contains(tip) {
            return Ok(());
        }
        let (cone, effects) = state.cone_effects(&[*tip], &self.approved, true)?;
        let mut diff = self.diff.clone();
        add_effects(&mut diff, &effects);
        state.ledger.check_diff(&diff)?;
        self.approved.extend(cone);
        self.diff = diff;
        Ok(())
    }
}

/// Adds the value changes of `effects` to `diff`.
pub(crate) fn add_effects(diff: &mut HashMap<Address, i128>, effects: &[Arc<BundleEffect>]) {
    for effect in effects {
        for (address, change) in &effect.changes {
            *diff.entry(*address).or_default() += i128::from(*change);
        }
    }
}

impl State {
    /// IRI's entry point for `depth`: the first milestone above `latest
    /// solid − depth − 1` (at least index 1), or the solid milestone itself.
    fn entry_point(&self, depth: u32) -> Hash {
        let solid = self.solid();
        let index = (solid.index.saturating_sub(u64::from(depth) + 1) + 1).min(solid.index);
        self.milestones.get(index as usize).map_or(solid.hash, |m| m.hash)
    }

    /// `getTransactionsToApprove`: the trunk from a walk at the entry point,
    /// the branch from a walk at `reference` (promotion) or at the entry
    /// point again; both judged by one validator, so consistent together.
    pub(crate) fn select_tips(
        &mut self,
        rules: &WalkRules,
        depth: u32,
        reference: Option<Hash>,
    ) -> Result<(Hash, Hash), String> {
        let entry = self.entry_point(depth);
        let ratings = self.ratings(entry, rules.alpha);
        let mut validator = Validator::new(self, rules);
        let trunk = self.walk(&mut validator, &ratings, entry, rules.alpha)?;
        let start = match reference {
            Some(reference) => {
                if rules.alpha != 0.0 && !ratings.contains_key(&reference) {
                    return Err("reference transaction is too old".into());
                }
                if rules.alpha == 0.0 && validator.check(self, &reference).is_err() {
                    return Err("reference transaction is invalid".into());
                }
                reference
            }
            None => entry,
        };
        let branch = self.walk(&mut validator, &ratings, start, rules.alpha)?;
        Ok((trunk, branch))
    }

    /// IRI's `WalkerAlpha.walk`: from `entry` towards the tips, one valid
    /// tail at a time; the last tail reached is the tip.
    fn walk(
        &mut self,
        validator: &mut Validator,
        ratings: &HashMap<Hash, u64>,
        entry: Hash,
        alpha: f64,
    ) -> Result<Hash, String> {
        validator
            .check(self, &entry)
            .map_err(|_| format!("entry point failed consistency check: {entry}"))?;
        let mut current = entry;
        let mut rng = rand::thread_rng();
        'step: loop {
            let mut approvers: Vec<Hash> = self
                .tangle
                .approvers(&current)
                .iter()
                .filter(|h| ratings.contains_key(h))
                .copied()
                .collect();
            while !approvers.is_empty() {
                let picked = pick(&mut rng, &approvers, ratings, alpha);
                let candidate = approvers.swap_remove(picked);
                if let Some(tail) = self.tail_of(&candidate) {
                    if validator.check(self, &tail).is_ok() {
                        current = tail;
                        continue 'step;
                    }
                }
            }
            return Ok(current);
        }
    }

    /// IRI's `TailFinder`: the tail of `hash`'s bundle, found by going up
    /// the approvers of the same bundle with one index less each step.
    fn tail_of(&self, hash: &Hash) -> Option<Hash> {
        let mut current = self.tangle.get(hash)?;
        while current.tx.current_index.get() > 0 {
            let wanted = current.tx.current_index.get() - 1;
            let bundle = current.tx.bundle;
            current = self
                .tangle
                .approvers(&current.hash)
                .iter()
                .filter_map(|h| self.tangle.get(h))
                .find(|s| s.tx.bundle == bundle && s.tx.current_index.get() == wanted)?;
        }
        Some(current.hash)
    }

    /// The future cone of `entry` (entry included), each transaction rated
    /// by its cumulative weight: how many transactions of the cone approve
    /// it directly or indirectly, itself included. Alpha 0 rates all 1.
    fn ratings(&self, entry: Hash, alpha: f64) -> HashMap<Hash, u64> {
        let mut cone: Vec<Hash> = Vec::new();
        let mut seen: HashSet<Hash> = HashSet::from([entry]);
        let mut queue = VecDeque::from([entry]);
        while let Some(hash) = queue.pop_front() {
            cone.push(hash);
            for approver in self.tangle.approvers(&hash) {
                if seen.insert(*approver) {
                    queue.push_back(*approver);
                }
            }
        }
        if alpha == 0.0 || cone.len() > CUMULATIVE_WEIGHT_TRANSACTIONS_MAX {
            if alpha != 0.0 {
                tracing::warn!(
                    transactions = cone.len(),
                    "future cone too large for cumulative weights; rating every transaction 1"
                );
            }
            return cone.into_iter().map(|h| (h, 1)).collect();
        }
        // Arrival order is a topological order (a transaction is stored only
        // after what it approves), so approvers come later: newest first,
        // each cone is its approvers' cones plus itself.
        let seq = |h: &Hash| self.tangle.get(h).map_or(-1, |s| s.seq as i64);
        cone.sort_by_key(|h| std::cmp::Reverse(seq(h)));
        let position: HashMap<Hash, usize> = cone.iter().enumerate().map(|(i, h)| (*h, i)).collect();
        let words = cone.len().div_ceil(64);
        let mut future: Vec<Vec<u64>> = Vec::with_capacity(cone.len());
        for (i, hash) in cone.iter().enumerate() {
            let mut bits = vec![0u64; words];
            bits[i / 64] |= 1 << (i % 64);
            for approver in self.tangle.approvers(hash) {
                if let Some(&j) = position.get(approver) {
                    for (word, other) in bits.iter_mut().zip(&future[j]) {
                        *word |= other;
                    }
                }
            }
            future.push(bits);
        }
        cone.iter()
            .zip(&future)
            .map(|(h, bits)| (*h, bits.iter().map(|w| u64::from(w.count_ones())).sum()))
            .collect()
    }
}

/// The index of the approver to step to: weighted by `exp(alpha · (rating −
/// max))`, uniform for alpha 0.
fn pick(rng: &mut impl Rng, approvers: &[Hash], ratings: &HashMap<Hash, u64>, alpha: f64) -> usize {
    if alpha == 0.0 {
        return rng.gen_range(0..approvers.len());
    }
    let rating = |h: &Hash| ratings.get(h).copied().unwrap_or(1) as f64;
    let max = approvers.iter().map(rating).fold(f64::MIN, f64::max);
    let weights: Vec<f64> = approvers.iter().map(|h| (alpha * (rating(h) - max)).exp()).collect();
    let mut target = rng.gen::<f64>() * weights.iter().sum::<f64>();
    for (i, weight) in weights.iter().enumerate() {
        target -= weight;
        if target <= 0.0 {
            return i;
        }
    }
    approvers.len() - 1
}
