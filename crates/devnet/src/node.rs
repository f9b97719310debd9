//! The devnet's node: the rules of a strict IRI node over the tangle and the
//! ledger, a coordinator, and a faucet.
//!
//! All state sits behind one mutex; every command takes it briefly. Proof of
//! work for `attachToTangle` and the faucet runs outside it. Rules enforced:
//! a transaction is stored only with valid structure, enough proof of work, a
//! sane timestamp and known approvees; a bundle counts only when complete and
//! valid (signatures, values, hash); a milestone confirms only tips whose
//! unconfirmed past cone is consistent with the ledger and with the other
//! tips it confirms, so overdrafts, double spends and second attachments of a
//! bundle never confirm.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use hub_protocol::attach::{attach_bundle, AttachOptions, Cancel};
use hub_protocol::bundle::{BundleBuilder, Input, Output};
use hub_protocol::validate::{meets_weight, validate, Options};
use hub_protocol::{wots, Address, Hash, SecurityLevel, Seed, Tag, Transaction};
use rand::seq::SliceRandom;

use crate::faults::{Faults, SyncFault};
use crate::ledger::{BundleEffect, Ledger};
use crate::persist::{Genesis, Log};
use crate::tangle::Tangle;

/// The most items any list parameter may hold.
pub const MAX_LIST: usize = 10_000;
/// The deepest `getTransactionsToApprove` walk accepted.
pub const MAX_DEPTH: u32 = 15;
/// The most tips one milestone confirms (the rest wait for the next).
pub const MAX_TIPS_PER_MILESTONE: usize = 256;
/// How far into the future a transaction's timestamp may be.
const MAX_FUTURE_MS: i64 = 2 * 60 * 60 * 1000;
/// How old milestones look under the `stale` fault.
const STALE_AGE_S: u64 = 3600;

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Address the coordinator's milestones are issued on.
pub fn coordinator_address() -> Address {
    Address::from_trytes(&format!("{:9<81}", "DEVNET9COORDINATOR")).expect("valid trytes")
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
}

/// A milestone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Milestone {
    /// Index (0 is the genesis).
    pub index: u64,
    /// Hash of the milestone transaction (all-`9` for the genesis).
    pub hash: Hash,
}

/// Result of a faucet payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FundReceipt {
    /// Bundle hash.
    pub bundle: Hash,
    /// Tail transaction hash.
    pub tail: Hash,
}

/// What `getNodeInfo` reports.
#[derive(Debug, Clone)]
pub struct Info {
    /// Latest milestone.
    pub latest: Milestone,
    /// Latest solid milestone.
    pub solid: Milestone,
    /// Number of tips.
    pub tips: usize,
    /// Milestone index the history starts at.
    pub start_index: u64,
}

struct FaucetBook {
    seed: Seed,
    security: SecurityLevel,
    /// Faucet addresses by key index, in index order.
    addresses: Vec<(u64, Address)>,
    next_index: u64,
}

struct State {
    tangle: Tangle,
    ledger: Ledger,
    milestones: Vec<Milestone>,
    milestone_by_hash: HashMap<Hash, u64>,
    effects: HashMap<Hash, Result<Arc<BundleEffect>, String>>,
    faults: Faults,
    faucet: FaucetBook,
    log: Option<Log>,
}

/// A devnet node.
pub struct Node {
    mwm: u8,
    state: Mutex<State>,
    faucet_lock: tokio::sync::Mutex<()>,
    attaching: Mutex<(u64, HashMap<u64, Cancel>)>,
}

impl Node {
    /// Opens (or creates) the node's state. With a data directory, the
    /// tangle and milestones stored there are replayed.
    pub fn open(config: NodeConfig) -> Result<Arc<Self>, String> {
        let (log, genesis, stored, milestone_hashes) = match &config.data_dir {
            Some(dir) => {
                let loaded = Log::open(dir, &config.genesis)?;
                (Some(loaded.log), loaded.genesis, loaded.transactions, loaded.milestones)
            }
            None => (None, config.genesis.clone(), Vec::new(), Vec::new()),
        };
        let allocations = genesis.allocations()?;
        let ledger = Ledger::genesis(&allocations)?;
        let faucet = FaucetBook {
            seed: genesis.seed.clone(),
            security: genesis.security,
            addresses: allocations
                .iter()
                .enumerate()
                .map(|(i, (a, _))| (i as u64, *a))
                .collect(),
            next_index: allocations.len() as u64,
        };
        let genesis_milestone = Milestone {
            index: 0,
            hash: Hash::NULL,
        };
        let mut state = State {
            tangle: Tangle::default(),
            ledger,
            milestones: vec![genesis_milestone],
            milestone_by_hash: HashMap::from([(Hash::NULL, 0)]),
            effects: HashMap::new(),
            faults: Faults::default(),
            faucet,
            log: None,
        };
        for tx in stored {
            let hash = tx.hash();
            if !state.tangle.contains(&tx.trunk) || !state.tangle.contains(&tx.branch) {
                return Err(format!("stored transaction {hash} approves an unknown transaction"));
            }
            state.tangle.insert(hash, tx);
        }
        for hash in milestone_hashes {
            state.confirm_milestone(hash)?;
        }
        state.extend_faucet_book();
        state.log = log;
        let node = Arc::new(Self {
            mwm: config.mwm,
            state: Mutex::new(state),
            faucet_lock: tokio::sync::Mutex::new(()),
            attaching: Mutex::new((0, HashMap::new())),
        });
        if node.lock().milestones.len() == 1 {
            node.issue_milestone()?;
        }
        Ok(node)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock would be a bug; the state itself is
        // only changed after all checks pass, so it is still usable.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Minimum weight magnitude this node requires.
    pub fn mwm(&self) -> u8 {
        self.mwm
    }

    /// What `getNodeInfo` reports, faults applied.
    pub fn info(&self) -> Info {
        let state = self.lock();
        let latest = *state.milestones.last().expect("genesis exists");
        let solid = match state.faults.not_synced {
            SyncFault::Lagging if latest.index > 0 => state.milestones[latest.index as usize - 1],
            _ => latest,
        };
        Info {
            latest,
            solid,
            tips: state.tangle.tip_count(),
            start_index: 0,
        }
    }

    /// Current tips, oldest first.
    pub fn tips(&self) -> Vec<Hash> {
        self.lock().tangle.tips()
    }

    /// Two tips to approve, consistent together; with `reference`, the trunk
    /// is the reference itself (promotion).
    pub fn transactions_to_approve(&self, depth: u32, reference: Option<Hash>) -> Result<(Hash, Hash), String> {
        if depth > MAX_DEPTH {
            return Err(format!("Invalid depth input: must be at most {MAX_DEPTH}"));
        }
        let mut state = self.lock();
        let latest = state.milestones.last().expect("genesis exists").hash;
        let mut candidates = state.tangle.tips();
        candidates.shuffle(&mut rand::thread_rng());
        candidates.truncate(64);
        let trunk = match reference {
            Some(reference) => {
                if !state.tangle.contains(&reference) {
                    return Err(format!("reference transaction {reference} is unknown"));
                }
                state
                    .check_tips(&[reference])
                    .map_err(|reason| format!("reference transaction is inconsistent: {reason}"))?;
                reference
            }
            None => candidates
                .iter()
                .copied()
                .find(|tip| state.check_tips(&[*tip]).is_ok())
                .unwrap_or(latest),
        };
        let branch = candidates
            .iter()
            .copied()
            .find(|tip| *tip != trunk && state.check_tips(&[trunk, *tip]).is_ok())
            .unwrap_or(latest);
        Ok((trunk, branch))
    }

    /// `attachToTangle`: chains `trytes` (last index first, as IRI takes
    /// them) onto trunk and branch with proof of work; returns them tail
    /// first, as IRI does.
    pub async fn attach(
        &self,
        trunk: Hash,
        branch: Hash,
        mwm: u8,
        wire: Vec<Transaction>,
    ) -> Result<Vec<Transaction>, String> {
        if mwm < self.mwm || mwm > hub_pow::MAX_MIN_WEIGHT_MAGNITUDE {
            return Err(format!(
                "Invalid minWeightMagnitude: must be between {} and {}",
                self.mwm,
                hub_pow::MAX_MIN_WEIGHT_MAGNITUDE
            ));
        }
        if wire.is_empty() || wire.len() > MAX_LIST {
            return Err(format!("trytes must hold 1 to {MAX_LIST} transactions"));
        }
        let cancel = Cancel::default();
        let id = {
            let mut attaching = self.attaching.lock().unwrap_or_else(|p| p.into_inner());
            attaching.0 += 1;
            let id = attaching.0;
            attaching.1.insert(id, cancel.clone());
            id
        };
        let in_index_order: Vec<Transaction> = wire.into_iter().rev().collect();
        let options = AttachOptions {
            min_weight_magnitude: mwm,
            threads: 0,
            timestamp_ms: now_ms() as i64,
        };
        let job_cancel = cancel.clone();
        let result =
            tokio::task::spawn_blocking(move || attach_bundle(&in_index_order, trunk, branch, &options, &job_cancel))
                .await
                .map_err(|e| format!("proof of work failed: {e}"))?;
        self.attaching.lock().unwrap_or_else(|p| p.into_inner()).1.remove(&id);
        match result {
            Ok(Some(attached)) => Ok(attached),
            Ok(None) => Err("attachToTangle was interrupted".into()),
            Err(e) => Err(e.to_string()),
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
        if txs.is_empty() || txs.len() > MAX_LIST {
            return Err(format!("trytes must hold 1 to {MAX_LIST} transactions"));
        }
        let now = now_ms() as i64;
        let mut checked = Vec::with_capacity(txs.len());
        for tx in txs {
            let hash = tx.hash();
            if !meets_weight(&hash, self.mwm) {
                return Err(format!(
                    "Invalid transaction hash: {hash} does not meet weight {}",
                    self.mwm
                ));
            }
            if tx.value.get() != 0 && !tx.address.last_trit_is_zero() {
                return Err(format!(
                    "Invalid transaction value: address {} has a non-zero last trit",
                    tx.address
                ));
            }
            let stamp = if tx.attachment_timestamp.get() != 0 {
                tx.attachment_timestamp.get()
            } else {
                tx.timestamp.get().saturating_mul(1000)
            };
            if stamp > now + MAX_FUTURE_MS {
                return Err(format!("Invalid transaction timestamp: {hash} is from the future"));
            }
            checked.push((hash, tx));
        }
        let mut state = self.lock();
        if state.faults.drop_broadcasts {
            return Ok(());
        }
        // Parents first: insert what is solid, repeat until nothing moves.
        let mut pending: Vec<(Hash, Transaction)> = checked;
        pending.retain(|(h, _)| !state.tangle.contains(h));
        let mut order = Vec::with_capacity(pending.len());
        let mut known: HashSet<Hash> = HashSet::new();
        while !pending.is_empty() {
            let before = pending.len();
            let mut rest = Vec::new();
            for (hash, tx) in pending {
                let solid = |h: &Hash| state.tangle.contains(h) || known.contains(h);
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

    /// `findTransactions`: lists intersected, items within a list united.
    pub fn find(&self, addresses: &[Address], bundles: &[Hash], tags: &[Tag], approvees: &[Hash]) -> Vec<Hash> {
        let state = self.lock();
        let mut result: Option<HashSet<Hash>> = None;
        let mut intersect = |found: HashSet<Hash>| {
            result = Some(match result.take() {
                None => found,
                Some(prev) => prev.intersection(&found).copied().collect(),
            });
        };
        if !addresses.is_empty() {
            intersect(
                addresses
                    .iter()
                    .flat_map(|a| state.tangle.by_address(a).iter().copied())
                    .collect(),
            );
        }
        if !bundles.is_empty() {
            intersect(
                bundles
                    .iter()
                    .flat_map(|b| state.tangle.by_bundle(b).iter().copied())
                    .collect(),
            );
        }
        if !tags.is_empty() {
            intersect(
                tags.iter()
                    .flat_map(|t| state.tangle.by_tag(t).iter().copied())
                    .collect(),
            );
        }
        if !approvees.is_empty() {
            intersect(
                approvees
                    .iter()
                    .flat_map(|h| state.tangle.approvers(h).iter().copied())
                    .collect(),
            );
        }
        let mut hashes: Vec<(u64, Hash)> = result
            .unwrap_or_default()
            .into_iter()
            .filter_map(|h| state.tangle.get(&h).map(|s| (s.seq, h)))
            .collect();
        hashes.sort();
        hashes.into_iter().map(|(_, h)| h).collect()
    }

    /// `getTrytes`: `None` for unknown hashes.
    pub fn trytes(&self, hashes: &[Hash]) -> Vec<Option<Transaction>> {
        let state = self.lock();
        hashes
            .iter()
            .map(|h| state.tangle.get(h).map(|s| s.tx.clone()))
            .collect()
    }

    /// `getBalances`: confirmed balances at the latest milestone; returns
    /// (balances, references, milestone index).
    pub fn balances(&self, addresses: &[Address], tips: Option<&[Hash]>) -> Result<(Vec<u64>, Vec<Hash>, u64), String> {
        let state = self.lock();
        let latest = *state.milestones.last().expect("genesis exists");
        let references = match tips {
            Some(tips) => {
                if let Some(unknown) = tips.iter().find(|t| !state.tangle.contains(t)) {
                    return Err(format!("Tip {unknown} is not known"));
                }
                tips.to_vec()
            }
            None => vec![latest.hash],
        };
        let balances = addresses.iter().map(|a| state.ledger.balance(a)).collect();
        Ok((balances, references, latest.index))
    }

    /// `getInclusionStates`: whether each transaction is in the past cone of
    /// a tip (for a milestone tip: confirmed by it or an earlier milestone).
    pub fn inclusion_states(&self, transactions: &[Hash], tips: Option<&[Hash]>) -> Result<Vec<bool>, String> {
        let state = self.lock();
        let latest = state.milestones.last().expect("genesis exists").hash;
        let tips = tips.map_or_else(|| vec![latest], <[Hash]>::to_vec);
        let mut bound: u64 = 0;
        let mut cones: HashSet<Hash> = HashSet::new();
        for tip in &tips {
            if !state.tangle.contains(tip) {
                return Err(format!("One of the tips is absent: {tip}"));
            }
            match state.milestone_by_hash.get(tip) {
                Some(index) => bound = bound.max(*index),
                None => {
                    bound = bound.max(state.milestones.len() as u64 - 1);
                    cones.extend(state.tangle.unconfirmed_cone(&[*tip], &HashSet::new()));
                }
            }
        }
        Ok(transactions
            .iter()
            .map(|h| state.tangle.confirmed_by(h).is_some_and(|m| m <= bound && !h.is_null()) || cones.contains(h))
            .collect())
    }

    /// `wereAddressesSpentFrom`: spent by a confirmed bundle, or by any valid
    /// bundle this node has seen (its signature exposed the key).
    pub fn were_spent(&self, addresses: &[Address]) -> Vec<bool> {
        let mut state = self.lock();
        addresses.iter().map(|a| state.seen_spent(a)).collect()
    }

    /// `checkConsistency`: whether the tails are valid bundle tails that can
    /// be confirmed together; `Err` for unknown or non-tail hashes.
    pub fn check_consistency(&self, tails: &[Hash]) -> Result<(bool, Option<String>), String> {
        let mut state = self.lock();
        for tail in tails {
            let Some(stored) = state.tangle.get(tail) else {
                return Err(format!("transaction {tail} is unknown"));
            };
            if !stored.tx.is_tail() {
                return Err(format!("transaction {tail} is not a tail"));
            }
        }
        for tail in tails {
            if state.tangle.confirmed_by(tail).is_some() {
                continue;
            }
            if let Err(reason) = state.effect(tail) {
                return Ok((false, Some(format!("tail {tail}: {reason}"))));
            }
        }
        match state.check_tips(tails) {
            Ok(()) => Ok((true, None)),
            Err(reason) => Ok((false, Some(reason))),
        }
    }

    /// Issues a milestone now, confirming every consistent tip (up to
    /// [`MAX_TIPS_PER_MILESTONE`]).
    pub fn issue_milestone(&self) -> Result<Milestone, String> {
        let mut state = self.lock();
        let mut included: HashSet<Hash> = HashSet::new();
        let mut effects: Vec<Arc<BundleEffect>> = Vec::new();
        let mut accepted: Vec<Hash> = Vec::new();
        for tip in state.tangle.tips() {
            if accepted.len() == MAX_TIPS_PER_MILESTONE {
                break;
            }
            if included.contains(&tip) {
                continue;
            }
            let Ok((cone, tip_effects)) = state.cone_effects(&[tip], &included) else {
                continue;
            };
            let candidate: Vec<&BundleEffect> = effects.iter().chain(tip_effects.iter()).map(Arc::as_ref).collect();
            if state.ledger.check(&candidate).is_ok() {
                included.extend(cone);
                effects.extend(tip_effects);
                accepted.push(tip);
            }
        }
        let previous = *state.milestones.last().expect("genesis exists");
        let index = previous.index + 1;
        let timestamp_s = match state.faults.not_synced {
            SyncFault::Stale => now_ms() / 1000 - STALE_AGE_S,
            _ => now_ms() / 1000,
        };
        // Chain the accepted tips with zero-value merge transactions; the
        // last transaction is the milestone.
        let mut head = previous.hash;
        let mut rest = accepted.into_iter();
        let mut new_txs = Vec::new();
        if let Some(first) = rest.next() {
            head = first;
        }
        let mut pending: Vec<Hash> = rest.collect();
        loop {
            let is_milestone = pending.is_empty();
            let branch = if is_milestone { previous.hash } else { pending.remove(0) };
            let tag = if is_milestone {
                "DEVNET9MILESTONE"
            } else {
                "DEVNET9MERGE"
            };
            let tx = self.zero_value_transaction(head, branch, tag, index, timestamp_s)?;
            head = tx.hash();
            state.tangle.insert(head, tx.clone());
            new_txs.push(tx);
            if is_milestone {
                break;
            }
        }
        if let Some(log) = state.log.as_mut() {
            log.append_transactions(new_txs.iter())?;
        }
        state.confirm_milestone(head)?;
        if let Some(log) = state.log.as_mut() {
            log.append_milestone(index, &head)?;
        }
        Ok(*state.milestones.last().expect("just pushed"))
    }

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
            min_weight_magnitude: self.mwm,
            threads: 1,
            timestamp_ms: now_ms() as i64,
        };
        let attached = attach_bundle(bundle.transactions(), trunk, branch, &options, &Cancel::default())
            .map_err(|e| e.to_string())?
            .ok_or("proof of work cancelled")?;
        Ok(attached.into_iter().next().expect("one transaction"))
    }

    /// Pays `amount` to `address` from the genesis funds with a real, signed
    /// bundle that goes through `storeTransactions` like any other.
    pub async fn fund(&self, address: Address, amount: u64) -> Result<FundReceipt, String> {
        if amount == 0 || amount > hub_protocol::SUPPLY as u64 {
            return Err(format!("amount must be between 1 and {}", hub_protocol::SUPPLY));
        }
        if !address.last_trit_is_zero() {
            return Err(format!(
                "address {address} has a non-zero last trit and cannot receive value"
            ));
        }
        let _one_at_a_time = self.faucet_lock.lock().await;
        let (signed, trunk, branch) = {
            let mut state = self.lock();
            let mut inputs = Vec::new();
            let mut total = 0u64;
            let candidates = state.faucet.addresses.clone();
            for (index, candidate) in candidates {
                if total >= amount {
                    break;
                }
                let balance = state.ledger.balance(&candidate);
                if balance == 0 || state.seen_spent(&candidate) {
                    continue;
                }
                total += balance;
                inputs.push((index, candidate, balance));
            }
            if total < amount {
                return Err(format!(
                    "the faucet has {total} confirmed, unspent tokens, less than {amount}; wait for a milestone"
                ));
            }
            let faucet = &state.faucet;
            let mut builder = BundleBuilder::new(now_ms() / 1000).map_err(|e| e.to_string())?;
            builder = builder.output(Output::new(address, amount));
            for (_, input, balance) in &inputs {
                builder = builder.input(Input {
                    address: *input,
                    amount: *balance,
                    security: faucet.security,
                });
            }
            let remainder = total - amount;
            let remainder_entry = if remainder > 0 {
                let index = faucet.next_index;
                let remainder_address = wots::address(&faucet.seed, index, faucet.security);
                builder = builder.output(Output::new(remainder_address, remainder));
                Some((index, remainder_address))
            } else {
                None
            };
            let unsigned = builder.build().map_err(|e| e.to_string())?;
            let seed = faucet.seed.clone();
            let keys: HashMap<Address, u64> = inputs.iter().map(|(i, a, _)| (*a, *i)).collect();
            let signed = unsigned
                .sign(|slot, hash| {
                    let index = keys.get(&slot.address).ok_or("unknown faucet input")?;
                    Ok::<_, &str>(wots::sign(&seed, *index, slot.security, hash))
                })
                .map_err(|e| e.to_string())?;
            if let Some(entry) = remainder_entry {
                state.faucet.addresses.push(entry);
                state.faucet.next_index += 1;
            }
            let latest = state.milestones.last().expect("genesis exists").hash;
            drop(state);
            let (trunk, branch) = self.transactions_to_approve(3, None).unwrap_or((latest, latest));
            (signed, trunk, branch)
        };
        let wire: Vec<Transaction> = signed.into_iter().rev().collect();
        let attached = self.attach(trunk, branch, self.mwm, wire).await?;
        let receipt = FundReceipt {
            bundle: attached[0].bundle,
            tail: attached[0].hash(),
        };
        self.store(attached)?;
        Ok(receipt)
    }

    /// The faults in force.
    pub fn faults(&self) -> Faults {
        self.lock().faults.clone()
    }

    /// Replaces the faults in force. Switching to `stale` issues a milestone
    /// at once so the effect is visible immediately.
    pub fn set_faults(&self, faults: Faults) -> Result<Faults, String> {
        faults.validate()?;
        let stale_now = {
            let mut state = self.lock();
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

impl State {
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
            let mut changes: HashMap<Address, i64> = HashMap::new();
            let mut inputs = Vec::new();
            let moves_value = txs.iter().any(|tx| tx.value.get() != 0);
            for tx in &txs {
                if tx.value.get() != 0 {
                    *changes.entry(tx.address).or_default() += tx.value.get();
                }
                if tx.value.get() < 0 {
                    inputs.push(tx.address);
                }
            }
            let mut changes: Vec<(Address, i64)> = changes.into_iter().filter(|(_, v)| *v != 0).collect();
            changes.sort();
            Ok(Arc::new(BundleEffect {
                bundle: txs[0].bundle,
                changes,
                inputs,
                moves_value,
            }))
        } else {
            let broken: Vec<String> = report.violations.iter().map(ToString::to_string).collect();
            Err(format!("invalid bundle: {}", broken.join("; ")))
        };
        self.effects.insert(*tail, result.clone());
        result
    }

    /// The unconfirmed past cone of `starts` (minus `exclude`) and the
    /// effects of the bundles whose tails are in it, oldest first.
    fn cone_effects(
        &mut self,
        starts: &[Hash],
        exclude: &HashSet<Hash>,
    ) -> Result<(HashSet<Hash>, Vec<Arc<BundleEffect>>), String> {
        let cone = self.tangle.unconfirmed_cone(starts, exclude);
        let mut tails: Vec<(u64, Hash)> = cone
            .iter()
            .filter_map(|h| self.tangle.get(h).filter(|s| s.tx.is_tail()).map(|s| (s.seq, *h)))
            .collect();
        tails.sort();
        let mut effects = Vec::with_capacity(tails.len());
        for (_, tail) in tails {
            effects.push(self.effect(&tail).map_err(|reason| format!("tail {tail}: {reason}"))?);
        }
        Ok((cone, effects))
    }

    /// Whether `tips` may be confirmed together on top of the ledger.
    fn check_tips(&mut self, tips: &[Hash]) -> Result<(), String> {
        let (_, effects) = self.cone_effects(tips, &HashSet::new())?;
        let refs: Vec<&BundleEffect> = effects.iter().map(Arc::as_ref).collect();
        self.ledger.check(&refs).map(drop)
    }

    /// Confirms the unconfirmed past cone of milestone `hash` and records it.
    fn confirm_milestone(&mut self, hash: Hash) -> Result<(), String> {
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

    /// Whether a confirmed bundle, or any valid bundle seen, spends from `address`.
    fn seen_spent(&mut self, address: &Address) -> bool {
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

    /// Registers faucet remainder addresses already used on the tangle.
    fn extend_faucet_book(&mut self) {
        loop {
            let index = self.faucet.next_index;
            let address = wots::address(&self.faucet.seed, index, self.faucet.security);
            if self.tangle.by_address(&address).is_empty() {
                break;
            }
            self.faucet.addresses.push((index, address));
            self.faucet.next_index += 1;
        }
    }
}
