//! Building, finalising and signing bundles.
//!
//! A bundle is a list of transactions that move value atomically. The builder
//! lays out entries in the order given (an input takes `security`
//! transactions: the first carries the negative value, the others are
//! zero-value followers for the remaining signature fragments), stamps
//! indexes and the timestamp, and finalises: the bundle hash is Kerl over the
//! essences, and the obsolete tag of transaction 0 is incremented until the
//! normalised hash holds no `M` (13), which would reveal a key segment.
//! Signing goes through a callback so bundle code never sees a seed.

use crate::address::Address;
use crate::seed::SecurityLevel;
use crate::sponge::Kerl;
use crate::ternary::increment_trits;
use crate::transaction::{Int27, Transaction, Value, ESSENCE_TRITS};
use crate::types::{Fragment, Hash, Tag};
use crate::wots::{normalize, normalized_has_m, verify, Signature};
use crate::{Error, SUPPLY};

/// An output: tokens (possibly zero) paid to an address.
#[derive(Debug, Clone)]
pub struct Output {
    /// Receiver.
    pub address: Address,
    /// Tokens, 0..=supply.
    pub value: u64,
    /// Tag of the transaction.
    pub tag: Tag,
    /// Obsolete tag (part of the essence). Hub uses all `9`; iota.js copies the tag.
    pub obsolete_tag: Tag,
    /// Message carried in the fragment field.
    pub message: Fragment,
}

impl Output {
    /// An output with null tags and an empty message.
    pub fn new(address: Address, value: u64) -> Self {
        Self {
            address,
            value,
            tag: Tag::NULL,
            obsolete_tag: Tag::NULL,
            message: Fragment::NULL,
        }
    }

    /// Sets the tag.
    pub fn with_tag(mut self, tag: Tag) -> Self {
        self.tag = tag;
        self
    }

    /// Sets the obsolete tag.
    pub fn with_obsolete_tag(mut self, tag: Tag) -> Self {
        self.obsolete_tag = tag;
        self
    }
}

/// An input: the whole `amount` taken from `address`, signed at `security`.
#[derive(Debug, Clone)]
pub struct Input {
    /// Spent address.
    pub address: Address,
    /// Tokens taken, 1..=supply.
    pub amount: u64,
    /// Security level of the address's key: the number of transactions the input occupies.
    pub security: SecurityLevel,
}

/// Where an input sits in a built bundle, for the signing callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputSlot {
    /// Index of the input's first transaction.
    pub index: usize,
    /// Spent address.
    pub address: Address,
    /// Security level (number of fragments expected from the signer).
    pub security: SecurityLevel,
}

enum Entry {
    Input(Input),
    Output(Box<Output>),
}

/// Lays out and finalises a bundle.
pub struct BundleBuilder {
    timestamp: Int27,
    entries: Vec<Entry>,
}

/// The most transactions a bundle may have (a generous bound; IRI has none,
/// but an index must fit 27 trits and Hub never needs more).
pub const MAX_BUNDLE_TRANSACTIONS: usize = 10_000;

impl BundleBuilder {
    /// A builder whose transactions carry `timestamp_s` (seconds since epoch).
    pub fn new(timestamp_s: u64) -> Result<Self, Error> {
        let timestamp = Int27::for_field("timestamp", i64::try_from(timestamp_s).unwrap_or(i64::MAX))?;
        Ok(Self {
            timestamp,
            entries: Vec::new(),
        })
    }

    /// Appends an input.
    pub fn input(mut self, input: Input) -> Self {
        self.entries.push(Entry::Input(input));
        self
    }

    /// Appends an output.
    pub fn output(mut self, output: Output) -> Self {
        self.entries.push(Entry::Output(Box::new(output)));
        self
    }

    /// Lays out the transactions, checks the amounts and finalises.
    pub fn build(self) -> Result<UnsignedBundle, Error> {
        let (mut inputs_total, mut outputs_total) = (0u64, 0u64);
        let mut transactions = Vec::new();
        let mut slots = Vec::new();
        let supply = SUPPLY as u64;
        for entry in &self.entries {
            match entry {
                Entry::Input(input) => {
                    if input.amount == 0 || input.amount > supply {
                        return Err(Error::OutOfRange {
                            field: "input amount",
                            value: input.amount.into(),
                            min: 1,
                            max: SUPPLY.into(),
                        });
                    }
                    inputs_total = checked_total("inputs total", inputs_total, input.amount)?;
                    slots.push(InputSlot {
                        index: transactions.len(),
                        address: input.address,
                        security: input.security,
                    });
                    for fragment in 0..input.security.fragments() {
                        let mut tx = Transaction::null();
                        tx.address = input.address;
                        if fragment == 0 {
                            tx.value = Value::new(-(input.amount as i64))?;
                        }
                        transactions.push(tx);
                    }
                }
                Entry::Output(output) => {
                    if output.value > supply {
                        return Err(Error::OutOfRange {
                            field: "output value",
                            value: output.value.into(),
                            min: 0,
                            max: SUPPLY.into(),
                        });
                    }
                    outputs_total = checked_total("outputs total", outputs_total, output.value)?;
                    let mut tx = Transaction::null();
                    tx.address = output.address;
                    tx.value = Value::new(output.value as i64)?;
                    tx.tag = output.tag;
                    tx.obsolete_tag = output.obsolete_tag;
                    tx.signature_message_fragment = output.message.clone();
                    transactions.push(tx);
                }
            }
        }
        if transactions.is_empty() || transactions.len() > MAX_BUNDLE_TRANSACTIONS {
            return Err(Error::OutOfRange {
                field: "bundle transactions",
                value: transactions.len() as i128,
                min: 1,
                max: MAX_BUNDLE_TRANSACTIONS as i128,
            });
        }
        if inputs_total != outputs_total {
            return Err(Error::Rule {
                field: "bundle",
                rule: "inputs and outputs must carry the same total",
            });
        }
        let last_index = Int27::new(transactions.len() as i64 - 1)?;
        for (i, tx) in transactions.iter_mut().enumerate() {
            tx.timestamp = self.timestamp;
            tx.current_index = Int27::new(i as i64)?;
            tx.last_index = last_index;
        }
        finalize(&mut transactions);
        Ok(UnsignedBundle {
            transactions,
            inputs: slots,
        })
    }
}

fn checked_total(field: &'static str, total: u64, add: u64) -> Result<u64, Error> {
    total
        .checked_add(add)
        .filter(|t| *t <= SUPPLY as u64)
        .ok_or(Error::OutOfRange {
            field,
            value: i128::from(total) + i128::from(add),
            min: 0,
            max: SUPPLY.into(),
        })
}

/// The bundle hash of transactions in index order: Kerl over their essences.
pub fn bundle_hash(transactions: &[Transaction]) -> Result<Hash, Error> {
    if transactions.is_empty() {
        return Err(Error::Rule {
            field: "bundle",
            rule: "has no transactions",
        });
    }
    let mut essence = Vec::with_capacity(transactions.len() * ESSENCE_TRITS);
    for tx in transactions {
        essence.extend(tx.essence());
    }
    Ok(hash_essence(&essence))
}

fn hash_essence(essence: &[i8]) -> Hash {
    let mut kerl = Kerl::new();
    kerl.absorb(essence).expect("essences are whole Kerl chunks");
    Hash::from_trits(&kerl.squeeze()).expect("Kerl output is 243 trits")
}

/// Finalises transactions in index order: increments the obsolete tag of
/// transaction 0 until the normalised bundle hash has no `M`, then writes the
/// hash into every transaction's `bundle` field.
pub fn finalize(transactions: &mut [Transaction]) {
    let Some(first) = transactions.first() else {
        return;
    };
    let mut essence: Vec<i8> = Vec::with_capacity(transactions.len() * ESSENCE_TRITS);
    for tx in transactions.iter() {
        essence.extend(tx.essence());
    }
    // Obsolete tag of transaction 0 inside the essence: after address (243) and value (81).
    const TAG_OFFSET: usize = 243 + 81;
    let mut tag = first.obsolete_tag.to_trits();
    let hash = loop {
        essence[TAG_OFFSET..TAG_OFFSET + 81].copy_from_slice(&tag);
        let hash = hash_essence(&essence);
        if !normalized_has_m(&hash) {
            break hash;
        }
        increment_trits(&mut tag);
    };
    transactions[0].obsolete_tag = Tag::from_trits(&tag).expect("tag trits");
    for tx in transactions.iter_mut() {
        tx.bundle = hash;
    }
}

/// The result of [`mine`]: the chosen bundle hash and how exposed the key is
/// once it has also signed it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mined {
    /// The new bundle hash (already written into every transaction).
    pub hash: Hash,
    /// log2 of the chance that a random bundle hash could be signed by
    /// someone holding every signature of the key (more negative is safer).
    pub forgery_log2: f64,
    /// Candidates tried.
    pub tried: u64,
}

/// Re-finalises a bundle whose input key already signed `signed` bundle
/// hashes (fund recovery), choosing among `candidates` values of the last
/// transaction's obsolete tag the one that leaves the key least exposed.
///
/// A WOTS signature of normalised tryte `n` reveals the key segment hashed
/// `13 − n` times, from which anyone can sign any value `≤ n`; after several
/// signatures each of the first `27·security` positions is exposed up to the
/// highest value signed there. The chance that a random hash is forgeable
/// is the product over positions of `(max + 14) / 27`, and that is what is
/// minimised, over the bundle's full essence (the original mined over a
/// corrupted essence, [BUG] of hub-behaviour.md §9.2). Candidates whose
/// normalised hash contains `M` anywhere are never chosen. The last
/// transaction's tag is varied so the sponge state before it is computed
/// once.
pub fn mine(
    transactions: &mut [Transaction],
    signed: &[Hash],
    security: SecurityLevel,
    candidates: u64,
) -> Result<Mined, Error> {
    let Some(last) = transactions.last() else {
        return Err(Error::Rule {
            field: "bundle",
            rule: "has no transactions",
        });
    };
    if candidates == 0 {
        return Err(Error::Rule {
            field: "candidates",
            rule: "must be at least 1",
        });
    }
    let positions = 27 * security.fragments();
    let mut exposed = [-13i8; 81];
    for hash in signed {
        for (e, v) in exposed.iter_mut().zip(normalize(hash)) {
            *e = (*e).max(v);
        }
    }
    let mut prefix = Kerl::new();
    for tx in &transactions[..transactions.len() - 1] {
        prefix.absorb(&tx.essence())?;
    }
    let mut essence = last.essence();
    const TAG_OFFSET: usize = 243 + 81;
    let mut tag = last.obsolete_tag.to_trits();
    let mut best: Option<(f64, Vec<i8>, Hash)> = None;
    for _ in 0..candidates {
        essence[TAG_OFFSET..TAG_OFFSET + 81].copy_from_slice(&tag);
        let mut kerl = prefix.clone();
        kerl.absorb(&essence)?;
        let hash = Hash::from_trits(&kerl.squeeze())?;
        let normalized = normalize(&hash);
        if !normalized.contains(&13) {
            let score: f64 = normalized[..positions]
                .iter()
                .zip(&exposed)
                .map(|(&v, &e)| (f64::from(v.max(e) + 14) / 27.0).log2())
                .sum();
            if best.as_ref().is_none_or(|(b, _, _)| score < *b) {
                best = Some((score, tag.clone(), hash));
            }
        }
        increment_trits(&mut tag);
    }
    let Some((forgery_log2, tag, hash)) = best else {
        return Err(Error::Rule {
            field: "candidates",
            rule: "none gave a bundle hash without M; try more",
        });
    };
    let index = transactions.len() - 1;
    transactions[index].obsolete_tag = Tag::from_trits(&tag)?;
    for tx in transactions.iter_mut() {
        tx.bundle = hash;
    }
    Ok(Mined {
        hash,
        forgery_log2,
        tried: candidates,
    })
}

/// Why signing a bundle failed.
#[derive(Debug, thiserror::Error)]
pub enum SignError<E> {
    /// The signer callback failed.
    #[error("signer failed for input at index {index}: {source}")]
    Signer { index: usize, source: E },
    /// The signer returned a signature that does not verify for the input's address.
    #[error("signature for input at index {index} does not verify for its address")]
    BadSignature { index: usize },
}

/// A finalised bundle whose inputs are not signed yet.
#[derive(Debug, Clone)]
pub struct UnsignedBundle {
    transactions: Vec<Transaction>,
    inputs: Vec<InputSlot>,
}

impl UnsignedBundle {
    /// The bundle hash the inputs must sign.
    pub fn hash(&self) -> Hash {
        self.transactions[0].bundle
    }

    /// The transactions in index order (signature fields still empty).
    pub fn transactions(&self) -> &[Transaction] {
        &self.transactions
    }

    /// The inputs to sign.
    pub fn inputs(&self) -> &[InputSlot] {
        &self.inputs
    }

    /// Signs every input through `signer` (called once per input, in bundle
    /// order) and checks each signature against its address before accepting
    /// it. Returns the signed transactions in index order.
    pub fn sign<E>(
        self,
        mut signer: impl FnMut(&InputSlot, &Hash) -> Result<Signature, E>,
    ) -> Result<Vec<Transaction>, SignError<E>> {
        let hash = self.hash();
        let mut transactions = self.transactions;
        for slot in &self.inputs {
            let signature = signer(slot, &hash).map_err(|source| SignError::Signer {
                index: slot.index,
                source,
            })?;
            if signature.0.len() != slot.security.fragments() || !verify(&slot.address, &hash, &signature.0) {
                return Err(SignError::BadSignature { index: slot.index });
            }
            for (offset, fragment) in signature.0.into_iter().enumerate() {
                transactions[slot.index + offset].signature_message_fragment = fragment;
            }
        }
        Ok(transactions)
    }
}
