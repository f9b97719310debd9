//! The tangle: every stored transaction and the indexes the API needs.
//!
//! A pure data structure (no I/O, no locking, no rules beyond structure):
//! transactions by hash, by address, bundle, tag and approvee, the set of
//! tips (transactions nobody approves yet), and arrival order. The
//! all-`9` hash is the genesis: known, confirmed, approved by the first
//! transactions.

use std::collections::{BTreeSet, HashMap, HashSet};

use hub_protocol::{Address, Hash, Tag, Transaction};

/// One stored transaction.
#[derive(Debug, Clone)]
pub struct Stored {
    /// The transaction.
    pub tx: Transaction,
    /// Its hash.
    pub hash: Hash,
    /// Arrival order (0 = first).
    pub seq: u64,
    /// Milestone index that confirmed it, if any.
    pub confirmed_by: Option<u64>,
}

/// All transactions and indexes.
#[derive(Debug, Default)]
pub struct Tangle {
    txs: HashMap<Hash, Stored>,
    by_address: HashMap<Address, Vec<Hash>>,
    by_bundle: HashMap<Hash, Vec<Hash>>,
    by_tag: HashMap<Tag, Vec<Hash>>,
    approvers: HashMap<Hash, Vec<Hash>>,
    tips: BTreeSet<(u64, Hash)>,
    next_seq: u64,
}

impl Tangle {
    /// Whether `hash` is known (the genesis always is).
    pub fn contains(&self, hash: &Hash) -> bool {
        hash.is_null() || self.txs.contains_key(hash)
    }

    /// A stored transaction.
    pub fn get(&self, hash: &Hash) -> Option<&Stored> {
        self.txs.get(hash)
    }

    /// Number of stored transactions.
    pub fn len(&self) -> usize {
        self.txs.len()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.txs.is_empty()
    }

    /// Inserts a transaction whose approvees are known. Returns false if it
    /// was already stored.
    pub fn insert(&mut self, hash: Hash, tx: Transaction) -> bool {
        if self.txs.contains_key(&hash) {
            return false;
        }
        debug_assert!(self.contains(&tx.trunk) && self.contains(&tx.branch));
        self.by_address.entry(tx.address).or_default().push(hash);
        self.by_bundle.entry(tx.bundle).or_default().push(hash);
        self.by_tag.entry(tx.tag).or_default().push(hash);
        for approvee in [tx.trunk, tx.branch] {
            let list = self.approvers.entry(approvee).or_default();
            if !list.contains(&hash) {
                list.push(hash);
            }
            if let Some(stored) = self.txs.get(&approvee) {
                self.tips.remove(&(stored.seq, approvee));
            }
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.tips.insert((seq, hash));
        self.txs.insert(
            hash,
            Stored {
                tx,
                hash,
                seq,
                confirmed_by: None,
            },
        );
        true
    }

    /// Records that `hash` was confirmed by milestone `index`.
    pub fn set_confirmed(&mut self, hash: &Hash, index: u64) {
        if let Some(stored) = self.txs.get_mut(hash) {
            stored.confirmed_by.get_or_insert(index);
        }
    }

    /// Milestone that confirmed `hash` (the genesis: 0).
    pub fn confirmed_by(&self, hash: &Hash) -> Option<u64> {
        if hash.is_null() {
            return Some(0);
        }
        self.txs.get(hash).and_then(|s| s.confirmed_by)
    }

    /// Tips, oldest first.
    pub fn tips(&self) -> Vec<Hash> {
        self.tips.iter().map(|(_, h)| *h).collect()
    }

    /// Number of tips.
    pub fn tip_count(&self) -> usize {
        self.tips.len()
    }

    /// Transactions approving `hash` directly.
    pub fn approvers(&self, hash: &Hash) -> &[Hash] {
        self.approvers.get(hash).map_or(&[], Vec::as_slice)
    }

    /// Transactions on `address`.
    pub fn by_address(&self, address: &Address) -> &[Hash] {
        self.by_address.get(address).map_or(&[], Vec::as_slice)
    }

    /// Transactions of bundle `bundle`.
    pub fn by_bundle(&self, bundle: &Hash) -> &[Hash] {
        self.by_bundle.get(bundle).map_or(&[], Vec::as_slice)
    }

    /// Transactions with tag `tag`.
    pub fn by_tag(&self, tag: &Tag) -> &[Hash] {
        self.by_tag.get(tag).map_or(&[], Vec::as_slice)
    }

    /// The not-yet-confirmed part of the past cone of `start` (including
    /// `start` unless confirmed), skipping anything in `exclude`.
    pub fn unconfirmed_cone(&self, start: &[Hash], exclude: &HashSet<Hash>) -> HashSet<Hash> {
        let mut cone = HashSet::new();
        let mut stack: Vec<Hash> = start.to_vec();
        while let Some(hash) = stack.pop() {
            if hash.is_null() || exclude.contains(&hash) || cone.contains(&hash) {
                continue;
            }
            let Some(stored) = self.txs.get(&hash) else { continue };
            if stored.confirmed_by.is_some() {
                continue;
            }
            cone.insert(hash);
            stack.push(stored.tx.trunk);
            stack.push(stored.tx.branch);
        }
        cone
    }

    /// Follows trunks from a tail to gather its bundle in index order, if
    /// complete and consistent (same bundle hash, indexes 0..=last).
    pub fn bundle_from_tail(&self, tail: &Hash) -> Option<Vec<Transaction>> {
        let first = self.txs.get(tail)?;
        if first.tx.current_index.get() != 0 {
            return None;
        }
        let last = first.tx.last_index.get();
        let mut txs = vec![first.tx.clone()];
        let mut current = first;
        while current.tx.current_index.get() < last {
            let next = self.txs.get(&current.tx.trunk)?;
            if next.tx.bundle != first.tx.bundle || next.tx.current_index.get() != current.tx.current_index.get() + 1 {
                return None;
            }
            txs.push(next.tx.clone());
            current = next;
        }
        (current.tx.current_index.get() == last).then_some(txs)
    }
}
