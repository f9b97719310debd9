//! `attachToTangle`: proof of work by the node, for a bundle of any size.
//!
//! IRI 1.8.6 (`API.attachToTangleStatement`) sorts the transactions by
//! `currentIndex`, highest first, and gives the first it processes (the
//! head) trunk = `trunkTransaction`, branch = `branchTransaction`, and each
//! later one trunk = the hash of the one processed before it, branch =
//! `trunkTransaction`. Its bundle validation insists on that last part: the
//! branch of every transaction but the head is the head's trunk
//! (`BundleValidator.validateBundleTransactionsApproval`, which
//! `checkConsistency` and milestones apply).
//!
//! One request holds at most [`TRANSACTIONS_PER_BODY`] transactions, so a
//! larger bundle is attached in parts chained exactly as one call would
//! chain it: the highest-index part with (trunk, branch), then each lower
//! transaction **alone**, with trunk = the hash of the transaction attached
//! just before it and branch = the original trunk. Alone, because IRI gives
//! every transaction of a request after its first the request's
//! `trunkTransaction` as branch: a lower part of two or more would carry
//! the previous part's hash as branch and make the bundle invalid.
//!
//! What the node returns is checked before it is believed ([`check_chain`]):
//! one transaction per one sent, the same contents (essence and
//! signatures), linked as above on the tips asked for, and every hash
//! meeting the weight asked for.

use hub_protocol::validate::meets_weight;
use hub_protocol::{Hash, Transaction};

use crate::api::{self, command};
use crate::client::{bad_reply, invalid_request, Client, NodeError};
use crate::limits::TRANSACTIONS_PER_BODY;

const C: &str = command::ATTACH_TO_TANGLE;

impl Client {
    /// `attachToTangle` of `bundle` (any order; returned in index order)
    /// on top of `trunk` and `branch`, at weight `mwm`, in as many requests
    /// as IRI's body limit needs (see the module doc). Each request waits up
    /// to the proof-of-work deadline.
    pub async fn attach_to_tangle(
        &self,
        trunk: Hash,
        branch: Hash,
        mwm: u8,
        bundle: &[Transaction],
    ) -> Result<Vec<Transaction>, NodeError> {
        if bundle.is_empty() {
            return Err(invalid_request(C, "no transactions to attach"));
        }
        let mut sent = bundle.to_vec();
        sent.sort_by_key(|tx| tx.current_index.get());
        let (lower, head) = sent.split_at(sent.len().saturating_sub(TRANSACTIONS_PER_BODY));
        let head = self.attach_part(trunk, branch, mwm, head).await?;
        // The lower transactions, highest first, each on the one attached before it.
        let mut attached_lower: Vec<Transaction> = Vec::with_capacity(lower.len());
        for tx in lower.iter().rev() {
            let previous = attached_lower.last().unwrap_or(&head[0]).hash();
            let one = self.attach_part(previous, trunk, mwm, std::slice::from_ref(tx)).await?;
            attached_lower.extend(one);
        }
        attached_lower.reverse();
        attached_lower.extend(head);
        let attached = attached_lower;
        check_chain(&sent, &attached, trunk, branch).map_err(|reason| bad_reply(C, reason))?;
        if let Some(i) = attached.iter().position(|tx| !meets_weight(&tx.hash(), mwm)) {
            let reason = format!("transaction {i} does not meet the weight {mwm} asked for");
            return Err(bad_reply(C, reason));
        }
        Ok(attached)
    }

    /// One `attachToTangle` request; the returned transactions, as many as
    /// sent, in index order (the original's FIXME: the wire order is not
    /// trusted).
    async fn attach_part(
        &self,
        trunk: Hash,
        branch: Hash,
        mwm: u8,
        part: &[Transaction],
    ) -> Result<Vec<Transaction>, NodeError> {
        let body = api::AttachToTangle {
            trunk_transaction: trunk.to_string(),
            branch_transaction: branch.to_string(),
            min_weight_magnitude: mwm,
            trytes: part.iter().rev().map(Transaction::to_trytes).collect(),
        };
        let reply: api::TrytesReply = self.call(C, &body).await?;
        if reply.trytes.len() != part.len() {
            let reason = format!("{} transactions returned for {}", reply.trytes.len(), part.len());
            return Err(bad_reply(C, reason));
        }
        let mut txs = reply
            .trytes
            .iter()
            .map(|t| Transaction::from_trytes(t).map_err(|e| bad_reply(C, e)))
            .collect::<Result<Vec<_>, _>>()?;
        txs.sort_by_key(|tx| tx.current_index.get());
        Ok(txs)
    }
}

/// Why `attached` (index order) is not `sent` (index order) attached on
/// `trunk` and `branch` the way one IRI call attaches a bundle.
pub(crate) fn check_chain(
    sent: &[Transaction],
    attached: &[Transaction],
    trunk: Hash,
    branch: Hash,
) -> Result<(), String> {
    if attached.len() != sent.len() {
        return Err(format!("{} transactions returned for {}", attached.len(), sent.len()));
    }
    let Some(last) = attached.len().checked_sub(1) else {
        return Ok(());
    };
    for (i, (tx, original)) in attached.iter().zip(sent).enumerate() {
        let same = tx.essence() == original.essence()
            && tx.bundle == original.bundle
            && tx.signature_message_fragment == original.signature_message_fragment;
        if !same {
            return Err(format!("transaction {i} came back with other contents"));
        }
        let (want_trunk, want_branch) = match attached.get(i + 1) {
            Some(next) => (next.hash(), trunk),
            None => (trunk, branch),
        };
        if tx.trunk != want_trunk || tx.branch != want_branch {
            let role = if i == last { "the head" } else { "an inner transaction" };
            return Err(format!(
                "transaction {i} ({role}) is not chained as attachToTangle chains"
            ));
        }
    }
    Ok(())
}
