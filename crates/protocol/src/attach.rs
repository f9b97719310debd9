//! The local "attach" step: chain a bundle onto two tips and do its proof of
//! work, as a node's `attachToTangle` does (hub-behaviour.md §7.2).
//!
//! Transactions are processed from the last to the tail: the last approves
//! the two tips, each earlier one approves the next transaction of the bundle
//! (trunk) and the trunk tip (branch). Each gets attachment timestamps, its
//! empty tag filled from its obsolete tag, and a nonce meeting the minimum
//! weight magnitude.

pub use hub_pow::Cancel;

use crate::transaction::{Int27, Transaction};
use crate::types::{Hash, Nonce};
use crate::Error;

/// Parameters of an attachment.
#[derive(Debug, Clone, Copy)]
pub struct AttachOptions {
    /// Trailing zero trits each transaction hash must have.
    pub min_weight_magnitude: u8,
    /// Proof-of-work threads; 0 means all cores.
    pub threads: usize,
    /// Attachment timestamp to stamp, milliseconds since the epoch.
    pub timestamp_ms: i64,
}

/// Finds a nonce for `tx` meeting `mwm` and writes it. Returns `false` if
/// cancelled first.
pub fn proof_of_work(tx: &mut Transaction, mwm: u8, threads: usize, cancel: &Cancel) -> Result<bool, Error> {
    let options = hub_pow::SearchOptions {
        min_weight_magnitude: mwm,
        threads,
    };
    let outcome = hub_pow::search(&tx.to_trits(), &options, cancel).map_err(|e| match e {
        hub_pow::PowError::TooManyThreads { value } => Error::OutOfRange {
            field: "threads",
            value: value as i128,
            min: 0,
            max: hub_pow::MAX_THREADS as i128,
        },
        // A transaction always encodes to 8019 valid trits, so only the weight is left.
        _ => Error::OutOfRange {
            field: "minWeightMagnitude",
            value: mwm.into(),
            min: 1,
            max: hub_pow::MAX_MIN_WEIGHT_MAGNITUDE.into(),
        },
    })?;
    match outcome {
        hub_pow::Outcome::Found { nonce, .. } => {
            tx.nonce = Nonce::from_trits(&nonce)?;
            Ok(true)
        }
        hub_pow::Outcome::Cancelled { .. } => Ok(false),
    }
}

/// Attaches a bundle (transactions in index order) on top of `trunk` and
/// `branch`. Returns the attached transactions in index order, or `None` if
/// cancelled.
pub fn attach_bundle(
    transactions: &[Transaction],
    trunk: Hash,
    branch: Hash,
    options: &AttachOptions,
    cancel: &Cancel,
) -> Result<Option<Vec<Transaction>>, Error> {
    let timestamp = Int27::for_field("attachmentTimestamp", options.timestamp_ms)?;
    let upper = Int27::new(Int27::MAX)?;
    let mut attached: Vec<Transaction> = transactions.to_vec();
    let mut next_hash: Option<Hash> = None;
    for tx in attached.iter_mut().rev() {
        match next_hash {
            None => {
                tx.trunk = trunk;
                tx.branch = branch;
            }
            Some(next) => {
                tx.trunk = next;
                tx.branch = trunk;
            }
        }
        if tx.tag.is_null() {
            tx.tag = tx.obsolete_tag;
        }
        tx.attachment_timestamp = timestamp;
        tx.attachment_timestamp_lower = Int27::ZERO;
        tx.attachment_timestamp_upper = upper;
        if !proof_of_work(tx, options.min_weight_magnitude, options.threads, cancel)? {
            return Ok(None);
        }
        next_hash = Some(tx.hash());
    }
    Ok(Some(attached))
}
