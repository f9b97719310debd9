//! The sweep, as one state machine you can read in one place.
//!
//! ```text
//!   offer (store) ──select (pure)──▶ record_planned ──▶ PLANNED
//!                                     one write tx:       │ sign: signer outside any
//!                                     books + key binding │ transaction, then one
//!                                                         ▼ short write tx
//!                                                       SIGNED
//!        attacher, every tick: observe (node) ──▶ decide (pure) ──▶ act
//!            Promote(tail) · Reattach (new tail recorded) · Confirm(tail)
//!                                                         ▼
//!                                                     CONFIRMED
//!
//!   PLANNED ──hub admin sweep abandon (no key signed it; every node agrees)──▶ ABANDONED
//!                                     books reversed, keys unbound
//! ```
//!
//! A sweep moves only forward, and each step is durable before the next
//! starts, so a crash resumes the same bundle: a planned sweep is signed
//! again for the same hash (the key is bound to it), a signed one is
//! attached again from its stored trytes. Where each part lives:
//! [`select`] what a sweep takes and pays; `record` what it writes;
//! [`sweeper`] planning and signing; [`decide`] the attacher's policy;
//! [`attacher`] its node calls and actions; [`abandon`] the way out of a
//! sweep that will never be signed.

pub mod abandon;
pub mod attacher;
pub mod decide;
mod record;
pub mod select;
pub mod sweeper;

pub(crate) use record::{record_planned, Keys, PlannedSweep};

use hub_protocol::Transaction;
use hub_store::SweepRow;

use crate::{Cause, HubError};

/// The transactions of a stored sweep, in index order.
pub fn sweep_transactions(sweep: &SweepRow) -> Result<Vec<Transaction>, HubError> {
    let size = hub_protocol::transaction::TRANSACTION_TRYTES;
    let corrupt =
        |why: String| HubError::internal(Cause::CorruptRow, format!("sweep.trytes of sweep {}: {why}", sweep.id));
    if sweep.trytes.is_empty() || sweep.trytes.len() % size != 0 {
        return Err(corrupt("not whole transactions".into()));
    }
    sweep
        .trytes
        .as_bytes()
        .chunks(size)
        .map(|chunk| {
            let text = std::str::from_utf8(chunk).map_err(|e| corrupt(e.to_string()))?;
            Transaction::from_trytes(text).map_err(|e| corrupt(e.to_string()))
        })
        .collect()
}
