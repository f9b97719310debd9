//! The devnet's node: the rules of a strict IRI 1.8.6 node over the tangle
//! and the ledger, and the IRI commands on them.
//!
//! All state sits behind one mutex; every command takes it briefly. Proof of
//! work (`attachToTangle`, milestones) runs outside it. Rules enforced: a
//! transaction is stored only with valid structure, enough proof of work, a
//! timestamp between the genesis time and two hours from now, and known
//! approvees; a bundle counts only when complete and valid (signatures,
//! values, hash); tips to approve and `checkConsistency` follow IRI's walk
//! validator (`walk`): tails only, not below max depth, the 1.8.5 approval
//! rules, consistent with the ledger. Milestones are the `coordinator`'s job
//! and payments from the genesis the `faucet`'s; both work on this state and
//! store through these rules.

use std::cmp::Reverse;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use hub_protocol::attach::{attach_bundle, AttachOptions, Cancel};
use hub_protocol::validate::{meets_weight, validate, Options};
use hub_protocol::{Address, Hash, Tag, Transaction};

pub use crate::coordinator::{coordinator_address, Milestone};
use crate::faucet::FaucetBook;
pub use crate::faucet::FundReceipt;
use crate::faults::{Faults, SyncFault};
use crate::ledger::{BundleEffect, Ledger};
use crate::persist::{Genesis, Log};
use crate::profile::Profile;
use crate::tangle::Tangle;
use crate::view;
use crate::walk::Validator;
pub use crate::walk::WalkRules;

/// The devnet's walk alpha. IRI 1.8.6 nodes default to 0 (a uniform walk);
/// the devnet's coordinator walks with a strong preference for heavy
/// approvers, so a transaction off the main walk reliably stays off it
/// until promoted or reattached, as it would among mainnet's many tips.
pub const WALK_ALPHA: f64 = 10.0;
/// How far into the future a transaction's timestamp may be.
const MAX_FUTURE_MS: i64 = 2 * 60 * 60 * 1000;

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Configuration of a node.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// Minimum weight magnitude of stored transactions.
    pub mwm: u8,
    /// Genesis allocation (used when the data directory is new).
    pub genesis: Genesis,
    /// Where to persist; `None` keeps everything in memory.
    pub data_dir: Option<PathBuf>,
    /// IRI's `--max-depth`.
    pub max_depth: u32,
}

impl Default for NodeConfig {
    /// The development profile's weight and depth, the default genesis, in memory.
    fn default() -> Self {
        let profile = Profile::default();
        Self {
            mwm: profile.mwm(),
            genesis: Genesis::default(),
            data_dir: None,
            max_depth: profile.max_depth(),
        }
    }
}

/// What `getNodeInfo` reports of the node's state, faults applied.
#[derive(Debug, Clone)]
pub struct Info {
    /// Latest milestone.
    pub latest: Milestone,
    /// Latest solid milestone.
    pub solid: Milestone,
    /// Number of tips.
    pub tips: usize,
    /// The first milestone held (IRI's `milestoneStartIndex`: after the
    /// genesis, or the pruning snapshot's; -1 if none).
    pub start_index: i64,
    /// The milestone of the snapshot the history starts from (IRI's
    /// `lastSnapshottedMilestoneIndex`: the genesis, or the pruning snapshot's).
    pub snapshot_index: u64,
    /// Whether a pruning snapshot is in force.
    pub pruning: bool,
    /// Transactions stored.
    pub transactions: usize,
}

impl Info {
    /// Whether IRI would call the node synchronised: the solid milestone at
    /// most one behind the latest (`API.isNodeSynchronized`, which allows
    /// "one milestone delta as a headroom").
    pub fn synchronized(&self) -> bool {
        self.latest.index - self.solid.index < 2
    }
}

/// Why `attachToTangle` returned no transactions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttachError {
    /// `interruptAttachingToTangle` stopped the proof of work (IRI then
    /// answers an empty list).
    Interrupted,
    /// The attachment cannot be made, with IRI's message.
    Refused(String),
}

impl std::fmt::Display for AttachError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Interrupted => f.write_str("attachToTangle was interrupted"),
            Self::Refused(message) => f.write_str(message),
        }
    }
}

impl From<AttachError> for String {
    fn from(error: AttachError) -> Self {
        error.to_string()
    }
}

/// Everything behind the node's mutex.
pub(crate) struct State {
    pub(crate) tangle: Tangle,
    pub(crate) ledger: Ledger,
    pub(crate) milestones: Vec<Milestone>,
    pub(crate) milestone_by_hash: HashMap<Hash, u64>,
    effects: HashMap<Hash, Result<Arc<BundleEffect>, String>>,
    /// The genesis time, s: no transaction may be older (IRI's snapshot time).
    genesis_time_s: u64,
    pub(crate) faults: Faults,
    pub(crate) faucet: FaucetBook,
    pub(crate) log: Option<Log>,
}

/// A devnet node.
pub struct Node {
    mwm: u8,
    pub(crate) walk: WalkRules,
    state: Mutex<State>,
    /// Held while a milestone is built and confirmed (its proof of work runs
    /// outside the state lock), so milestones are issued one at a time.
    pub(crate) milestone_lock: Mutex<()>,
    pub(crate) faucet_lock: tokio::sync::Mutex<()>,
    attaching: Mutex<(u64, HashMap<u64, Cancel>)>,
}

impl Node {
    /// Opens (or creates) the node's state. With a data directory, the
    /// tangle and milestones stored there are replayed.
    pub fn open(config: NodeConfig) -> Result<Arc<Self>, String> {
        let (log, genesis, genesis_time_s, stored, milestone_hashes) = match &config.data_dir {
            Some(dir) => {
                let loaded = Log::open(dir, &config.genesis)?;
                (
                    Some(loaded.log),
                    loaded.genesis,
                    loaded.genesis_time_s,
                    loaded.transactions,
                    loaded.milestones,
                )
            }
            None => (None, config.genesis.clone(), now_ms() / 1000, Vec::new(), Vec::new()),
        };
        let mut state = State::genesis(&genesis, genesis_time_s)?;
        state.replay(stored, milestone_hashes)?;
        state.log = log;
        let node = Arc::new(Self {
            mwm: config.mwm,
            walk: WalkRules {
                max_depth: config.max_depth,
                alpha: WALK_ALPHA,
            },
            state: Mutex::new(state),
            milestone_lock: Mutex::new(()),
            faucet_lock: tokio::sync::Mutex::new(()),
            attaching: Mutex::new((0, HashMap::new())),
        });
        if node.lock().milestones.len() == 1 {
            node.issue_milestone()?;
        }
        Ok(node)
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock would be a bug; the state itself is
        // only changed after all checks pass, so it is still usable.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Minimum weight magnitude this node requires.
    pub fn mwm(&self) -> u8 {
        self.mwm
    }

    /// The deepest `getTransactionsToApprove` depth accepted.
    pub fn max_depth(&self) -> u32 {
        self.walk.max_depth
    }

    /// What `getNodeInfo` reports, faults applied.
    pub fn info(&self) -> Info {
        let state = self.lock();
        let latest = state.latest();
        let cut = state.faults.pruned_below_milestone;
        let first_after_genesis = if latest.index >= 1 { 1 } else { -1 };
        Info {
            latest,
            solid: state.solid(),
            tips: state.tangle.tip_count(),
            start_index: if cut > 0 { cut as i64 } else { first_after_genesis },
            snapshot_index: cut,
            pruning: cut > 0,
            transactions: state.tangle.len(),
        }
    }

    /// Current tips, oldest first.
    pub fn tips(&self) -> Vec<Hash> {
        self.lock().tangle.tips()
    }

    /// `getTransactionsToApprove`: IRI's walk (see `walk`); with
    /// `reference`, the branch walk starts there (promotion).
    pub fn transactions_to_approve(&self, depth: u32, reference: Option<Hash>) -> Result<(Hash, Hash), String> {
        if depth > self.walk.max_depth {
            return Err("Invalid depth input".into());
        }
        self.lock().select_tips(&self.walk, depth, reference)
    }

    /// `attachToTangle`: chains `transactions` (any order) onto trunk and
    /// branch with proof of work, as IRI 1.8.6 does: sorted by
    /// `currentIndex`, highest first, each approving the one attached
    /// before it; returns them in the reverse order, tail first. Nothing
    /// given, nothing done (IRI answers an empty list).
    ///
    /// A weight below the node's is refused with IRI's "Invalid transaction
    /// hash": IRI does the work and then finds the result below its own
    /// minimum, which only luck avoids. A weight above what the devnet's
    /// proof of work can reach is refused as IRI refuses one above 243.
    pub async fn attach(
        &self,
        trunk: Hash,
        branch: Hash,
        mwm: u8,
        transactions: Vec<Transaction>,
    ) -> Result<Vec<Transaction>, AttachError> {
        if transactions.is_empty() {
            return Ok(Vec::new());
        }
        if mwm < self.mwm {
            return Err(AttachError::Refused("Invalid transaction hash".into()));
        }
        if mwm > hub_pow::MAX_MIN_WEIGHT_MAGNITUDE {
            return Err(AttachError::Refused(format!("Invalid min weight magnitude: {mwm}")));
        }
        if transactions
            .iter()
            .any(|tx| tx.value.get() != 0 && !tx.address.last_trit_is_zero())
        {
            return Err(AttachError::Refused("Invalid transaction address".into()));
        }
        // IRI's stable sort, highest index first, is its chaining order;
        // `attach_bundle` chains from the end of its slice.
        let mut in_index_order = transactions;
        in_index_order.sort_by_key(|tx| Reverse(tx.current_index.get()));
        in_index_order.reverse();
        let cancel = Cancel::default();
        let id = {
            let mut attaching = self.attaching.lock().unwrap_or_else(|p| p.into_inner());
            attaching.0 += 1;
            let id = attaching.0;
            attaching.1.insert(id, cancel.clone());
            id
        };
        let options = AttachOptions {
            min_weight_magnitude: mwm,
            threads: 0,
            timestamp_ms: now_ms() as i64,
        };
        let job_cancel = cancel.clone();
        let result =
            tokio::task::spawn_blocking(move || attach_bundle(&in_index_order, trunk, branch, &options, &job_cancel))
                .await
                .map_err(|e| AttachError::Refused(format!("proof of work failed: {e}")))?;
        self.attaching.lock().unwrap_or_else(|p| p.into_inner()).1.remove(&id);
        match result {
            Ok(Some(attached)) => Ok(attached),
            Ok(None) => Err(AttachError::Interrupted),
            Err(e) => Err(AttachError::Refused(e.to_string())),
        }
    }

    /// `interruptAttachingToTangle`: cancels every running attachment.
    pub fn interrupt_attaching(&self) {
        for cancel in self.attaching.lock().unwrap_or_else(|p| p.into_inner()).1.values() {
            cancel.cancel();
        }
    }

    /// `storeTransactions` / `broadcastTransactions`: checks every
    /// transaction, then stores all of them or none.
    pub fn store(&self, txs: Vec<Transaction>) -> Result<(), String> {
        if txs.is_empty() {
            return Ok(());
        }
        let now = now_ms() as i64;
        let genesis_time_s = self.lock().genesis_time_s;
        let checked = txs
            .into_iter()
            .map(|tx| self.check_storable(tx, now, genesis_time_s))
            .collect::<Result<Vec<_>, _>>()?;
        let mut state = self.lock();
        if state.faults.drop_broadcasts {
            return Ok(());
        }
        let order = state.parents_first(checked)?;
        if let Some(log) = state.log.as_mut() {
            log.append_transactions(order.iter().map(|(_, tx)| tx))?;
        }
        let mut tails = Vec::new();
        for (hash, tx) in order {
            if tx.is_tail() {
                tails.push(hash);
            }
            state.tangle.insert(hash, tx);
        }
        // Validate new bundles now (signatures included), so spends are known at once.
        for tail in tails {
            let _ = state.effect(&tail);
        }
        Ok(())
    }

    /// IRI's `TransactionValidator` checks, with its messages: a timestamp
    /// between the genesis time and two hours from `now` (ms; the
    /// attachment timestamp if set, else the bundle's), proof of work, value
    /// only on addresses that can hold it. Returns the transaction with its
    /// hash.
    fn check_storable(&self, tx: Transaction, now: i64, genesis_time_s: u64) -> Result<(Hash, Transaction), String> {
        let hash = tx.hash();
        let genesis_ms = (genesis_time_s as i64).saturating_mul(1000);
        let stamp_ms = if tx.attachment_timestamp.get() != 0 {
            tx.attachment_timestamp.get()
        } else {
            tx.timestamp.get().saturating_mul(1000)
        };
        if stamp_ms < genesis_ms || stamp_ms > now + MAX_FUTURE_MS {
            return Err("Invalid transaction timestamp.".into());
        }
        if !meets_weight(&hash, self.mwm) {
            return Err("Invalid transaction hash".into());
        }
        if tx.value.get() != 0 && !tx.address.last_trit_is_zero() {
            return Err("Invalid transaction value".into());
        }
        Ok((hash, tx))
    }

    /// `findTransactions`: lists intersected, items within a list united;
    /// what pruning forgot is not listed.
    pub fn find(&self, addresses: &[Address], bundles: &[Hash], tags: &[Tag], approvees: &[Hash]) -> Vec<Hash> {
        let state = self.lock();
        let tangle = &state.tangle;
        let found = [
            united(addresses, |a| tangle.by_address(a)),
            united(bundles, |b| tangle.by_bundle(b)),
            united(tags, |t| tangle.by_tag(t)),
            united(approvees, |h| tangle.approvers(h)),
        ]
        .into_iter()
        .flatten()
        .reduce(|all, next| all.intersection(&next).copied().collect())
        .unwrap_or_default();
        let mut hashes: Vec<(u64, Hash)> = found
            .into_iter()
            .filter(|h| !view::forgotten(&state, h))
            .filter_map(|h| tangle.get(&h).map(|s| (s.seq, h)))
            .collect();
        hashes.sort();
        hashes.into_iter().map(|(_, h)| h).collect()
    }

    /// `getTrytes`: `None` for unknown hashes and for what pruning forgot.
    pub fn trytes(&self, hashes: &[Hash]) -> Vec<Option<Transaction>> {
        let state = self.lock();
        hashes
            .iter()
            .map(|h| {
                let known = state.tangle.get(h).filter(|_| !view::forgotten(&state, h));
                known.map(|s| s.tx.clone())
            })
            .collect()
    }

    /// `getBalances` as IRI 1.8.6 answers it: the confirmed balances at the
    /// latest solid milestone, plus, with `tips` (empty means none), the
    /// changes of the bundles their past cones add; returns (balances,
    /// references: the tips or the solid milestone, the solid milestone's
    /// index). `Err` with IRI's message for an unknown tip or tips whose
    /// cones would overdraw an address or hold an invalid bundle.
    pub fn balances(&self, addresses: &[Address], tips: Option<&[Hash]>) -> Result<(Vec<u64>, Vec<Hash>, u64), String> {
        let mut state = self.lock();
        let solid = state.solid();
        let tips = tips.filter(|tips| !tips.is_empty());
        let changes = match tips {
            Some(tips) => view::tips_changes(&mut state, tips, solid.index).map_err(|refusal| refusal.to_string())?,
            None => HashMap::new(),
        };
        let balances = addresses
            .iter()
            .map(|a| {
                let balance = view::balance_at(&state, a, solid.index) + changes.get(a).copied().unwrap_or(0);
                u64::try_from(balance).expect("tips_changes refuses any overdraft")
            })
            .collect();
        let references = tips.map_or_else(|| vec![solid.hash], <[Hash]>::to_vec);
        Ok((balances, references, solid.index))
    }

    /// `getInclusionStates` as IRI 1.8.6 answers it: whether each
    /// transaction is confirmed by the latest solid milestone or an earlier
    /// one (IRI dropped the `tips` parameter). Unknown and forgotten
    /// transactions are not.
    pub fn inclusion_states(&self, transactions: &[Hash]) -> Vec<bool> {
        let state = self.lock();
        let solid = state.solid().index;
        transactions
            .iter()
            .map(|h| view::confirmed_by_solid(&state, h, solid))
            .collect()
    }

    /// `wereAddressesSpentFrom`: spent by a confirmed bundle, or by any valid
    /// bundle this node has seen (its signature exposed the key).
    pub fn were_spent(&self, addresses: &[Address]) -> Vec<bool> {
        let mut state = self.lock();
        addresses.iter().map(|a| state.seen_spent(a)).collect()
    }

    /// `checkConsistency` as IRI 1.8.6: `Err` for unknown or non-tail
    /// hashes; else whether every tail's bundle is valid (1.8.5 approval
    /// rules included) and the tails pass one walk validator together, with
    /// IRI's `info` (empty when consistent).
    pub fn check_consistency(&self, tails: &[Hash]) -> Result<(bool, String), String> {
        let mut state = self.lock();
        for tail in tails {
            let Some(stored) = state.tangle.get(tail) else {
                return Err(format!("Invalid transaction, missing: {tail}"));
            };
            if !stored.tx.is_tail() {
                return Err(format!("Invalid transaction, not a tail: {tail}"));
            }
        }
        for tail in tails {
            if state.valid_bundle(tail, true).is_err() {
                return Ok((false, format!("tails are not consistent (bundle is invalid): {tail}")));
            }
        }
        let mut validator = Validator::new(&state, &self.walk);
        for tail in tails {
            if validator.check(&mut state, tail).is_err() {
                return Ok((
                    false,
                    "tails are not consistent (would lead to inconsistent ledger state or below max depth)".into(),
                ));
            }
        }
        Ok((true, String::new()))
    }

    /// The faults in force.
    pub fn faults(&self) -> Faults {
        self.lock().faults.clone()
    }

    /// Replaces the faults in force. Switching to `stale` issues a milestone
    /// at once so the effect is visible immediately. A pruning snapshot
    /// must not be above the solid milestone the new faults give.
    pub fn set_faults(&self, faults: Faults) -> Result<Faults, String> {
        faults.validate()?;
        let stale_now = {
            let mut state = self.lock();
            let solid_index = state.latest().index.saturating_sub(faults.solid_lag_milestones());
            if faults.pruned_below_milestone > solid_index {
                return Err(format!(
                    "prunedBelowMilestone must be at most the latest solid milestone index {solid_index}, got {}",
                    faults.pruned_below_milestone
                ));
            }
            let was_stale = state.faults.not_synced == SyncFault::Stale;
            state.faults = faults.clone();
            faults.not_synced == SyncFault::Stale && !was_stale
        };
        if stale_now {
            self.issue_milestone()?;
        }
        Ok(faults)
    }

    /// Sum of all confirmed balances and the genesis supply (equal, always).
    pub fn ledger_totals(&self) -> (u64, u64) {
        let state = self.lock();
        (state.ledger.total(), state.ledger.supply())
    }

    /// Whether milestones are paused.
    pub fn milestones_paused(&self) -> bool {
        self.lock().faults.pause_milestones
    }
}

/// The hashes `index` lists for any of `items`; `None` without items (the
/// list does not filter).
fn united<'t, T>(items: &[T], index: impl Fn(&T) -> &'t [Hash]) -> Option<HashSet<Hash>> {
    (!items.is_empty()).then(|| items.iter().flat_map(|item| index(item).iter().copied()).collect())
}

impl State {
    /// The latest solid milestone: the latest one, or as many behind it as
    /// the faults say (never before the genesis).
    pub(crate) fn solid(&self) -> Milestone {
        let latest = self.latest();
        let index = latest.index.saturating_sub(self.faults.solid_lag_milestones());
        self.milestones[index as usize]
    }

    /// The state of a new node: the genesis ledger, the genesis milestone
    /// and an empty tangle.
    fn genesis(genesis: &Genesis, genesis_time_s: u64) -> Result<Self, String> {
        let allocations = genesis.allocations()?;
        Ok(Self {
            tangle: Tangle::default(),
            ledger: Ledger::genesis(&allocations)?,
            milestones: vec![Milestone {
                index: 0,
                hash: Hash::NULL,
            }],
            milestone_by_hash: HashMap::from([(Hash::NULL, 0)]),
            effects: HashMap::new(),
            genesis_time_s,
            faults: Faults::default(),
            faucet: FaucetBook::new(genesis, &allocations),
            log: None,
        })
    }

    /// Rebuilds the tangle and the milestones from a data directory's files.
    fn replay(&mut self, stored: Vec<Transaction>, milestones: Vec<Hash>) -> Result<(), String> {
        for tx in stored {
            let hash = tx.hash();
            if !self.tangle.contains(&tx.trunk) || !self.tangle.contains(&tx.branch) {
                return Err(format!("stored transaction {hash} approves an unknown transaction"));
            }
            self.tangle.insert(hash, tx);
        }
        for hash in milestones {
            self.confirm_milestone(hash)?;
        }
        self.extend_faucet_book();
        Ok(())
    }

    /// The latest milestone.
    pub(crate) fn latest(&self) -> Milestone {
        *self.milestones.last().expect("genesis exists")
    }

    /// The new transactions of `pending` (hashes given), approvees first;
    /// `Err` if one approves a transaction neither stored nor among them.
    fn parents_first(&self, mut pending: Vec<(Hash, Transaction)>) -> Result<Vec<(Hash, Transaction)>, String> {
        pending.retain(|(h, _)| !self.tangle.contains(h));
        let mut order = Vec::with_capacity(pending.len());
        let mut known: HashSet<Hash> = HashSet::new();
        // Insert what is solid, repeat until nothing moves.
        while !pending.is_empty() {
            let before = pending.len();
            let mut rest = Vec::new();
            for (hash, tx) in pending {
                let solid = |h: &Hash| self.tangle.contains(h) || known.contains(h);
                if solid(&tx.trunk) && solid(&tx.branch) {
                    known.insert(hash);
                    order.push((hash, tx));
                } else {
                    rest.push((hash, tx));
                }
            }
            if rest.len() == before {
                let (hash, _) = &rest[0];
                return Err(format!(
                    "transaction {hash} is not solid: it approves an unknown transaction"
                ));
            }
            pending = rest;
        }
        Ok(order)
    }

    /// The effect of the bundle whose tail is `tail`; memoised once the
    /// bundle is complete (a complete bundle never changes).
    fn effect(&mut self, tail: &Hash) -> Result<Arc<BundleEffect>, String> {
        if let Some(known) = self.effects.get(tail) {
            return known.clone();
        }
        let Some(txs) = self.tangle.bundle_from_tail(tail) else {
            return Err("bundle is incomplete".into());
        };
        let report = validate(&txs, &Options::default());
        let result = if report.is_valid() {
            Ok(Arc::new(bundle_effect(&txs)))
        } else {
            let broken: Vec<String> = report.violations.iter().map(ToString::to_string).collect();
            Err(format!("invalid bundle: {}", broken.join("; ")))
        };
        self.effects.insert(*tail, result.clone());
        result
    }

    /// The effect of `tail`'s bundle if it is valid; with `approval_rules`,
    /// also under IRI 1.8.5's rules for tip selection: the head approves
    /// only tails, and every other transaction's branch is the head's trunk.
    pub(crate) fn valid_bundle(&mut self, tail: &Hash, approval_rules: bool) -> Result<Arc<BundleEffect>, String> {
        let effect = self.effect(tail)?;
        if approval_rules {
            let txs = self.tangle.bundle_from_tail(tail).ok_or("bundle is incomplete")?;
            let head = txs.last().expect("a bundle has a head");
            let is_tail = |h: &Hash| h.is_null() || self.tangle.get(h).is_some_and(|s| s.tx.is_tail());
            if !is_tail(&head.trunk) || !is_tail(&head.branch) {
                return Err("the bundle approves a transaction that is not a tail".into());
            }
            if txs[..txs.len() - 1].iter().any(|tx| tx.branch != head.trunk) {
                return Err("a transaction's branch is not the head's trunk".into());
            }
        }
        Ok(effect)
    }

    /// The unconfirmed past cone of `starts` (minus `exclude`) and the
    /// effects of the bundles whose tails are in it, oldest first; `Err` if
    /// one is invalid (see [`State::valid_bundle`] for `approval_rules`).
    pub(crate) fn cone_effects(
        &mut self,
        starts: &[Hash],
        exclude: &HashSet<Hash>,
        approval_rules: bool,
    ) -> Result<(HashSet<Hash>, Vec<Arc<BundleEffect>>), String> {
        let cone = self.tangle.unconfirmed_cone(starts, exclude);
        let mut tails: Vec<(u64, Hash)> = cone
            .iter()
            .filter_map(|h| self.tangle.get(h).filter(|s| s.tx.is_tail()).map(|s| (s.seq, *h)))
            .collect();
        tails.sort();
        let mut effects = Vec::with_capacity(tails.len());
        for (_, tail) in tails {
            let effect = self
                .valid_bundle(&tail, approval_rules)
                .map_err(|reason| format!("tail {tail}: {reason}"))?;
            effects.push(effect);
        }
        Ok((cone, effects))
    }

    /// Whether a confirmed bundle, or any valid bundle seen, spends from `address`.
    pub(crate) fn seen_spent(&mut self, address: &Address) -> bool {
        if self.ledger.spent(address) {
            return true;
        }
        let spending_bundles: HashSet<Hash> = self
            .tangle
            .by_address(address)
            .iter()
            .filter_map(|h| self.tangle.get(h))
            .filter(|s| s.tx.value.get() < 0)
            .map(|s| s.tx.bundle)
            .collect();
        for bundle in spending_bundles {
            let tails: Vec<Hash> = self
                .tangle
                .by_bundle(&bundle)
                .iter()
                .filter(|h| self.tangle.get(h).is_some_and(|s| s.tx.is_tail()))
                .copied()
                .collect();
            for tail in tails {
                if self.effect(&tail).is_ok_and(|e| e.inputs.contains(address)) {
                    return true;
                }
            }
        }
        false
    }
}

/// What confirming the valid bundle `txs` does to the ledger.
fn bundle_effect(txs: &[Transaction]) -> BundleEffect {
    let mut changes: HashMap<Address, i64> = HashMap::new();
    let mut inputs = Vec::new();
    for tx in txs {
        if tx.value.get() != 0 {
            *changes.entry(tx.address).or_default() += tx.value.get();
        }
        if tx.value.get() < 0 {
            inputs.push(tx.address);
        }
    }
    let mut changes: Vec<(Address, i64)> = changes.into_iter().filter(|(_, v)| *v != 0).collect();
    changes.sort();
    BundleEffect { changes, inputs }
}
