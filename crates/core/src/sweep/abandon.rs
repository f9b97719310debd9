//! Abandoning a planned sweep that will never be signed (its signer refuses
//! it; a recovery planned under remote signing; a key the operator
//! retired): the way out of a sweep that would otherwise hold its
//! withdrawals, deposits and inputs for good.
//!
//! Only a sweep that no key ever signed may go. It must still be planned
//! in the database, no input may be quarantined, and every configured node
//! must answer and show no transaction of its bundle, no input of it spent
//! (a recovery's key is spent already: it must show no spend under this
//! bundle). A node that does not answer refuses the abandon: the sweep may
//! have been signed and broadcast by a database that was since rolled back.
//!
//! Then, in one write transaction, its books are reversed the one way that
//! is always possible: its withdrawals go back to the queue (still reserved
//! on their users' accounts, cancellable again); its Hub inputs get their
//! balances back; its remainder address gives back what it was promised;
//! each deposit address it emptied stays emptied for its owner (credited
//! when the sweep was planned, and free to have spent the credit since)
//! and becomes a Hub address holding those funds, for a later sweep to
//! spend; its keys are unbound, so a later bundle may bind them; a
//! recovery's allowance ends with it. The operator's command is audited
//! like any other change.

use std::collections::BTreeSet;

use hub_node::{Client, FindQuery, NodeError};
use hub_protocol::{Address, Amount, Hash};
use hub_store::{HubAddressReason, SweepInput, SweepRow, SweepState, SweptDeposit};

use crate::spends::spends_seen;
use crate::{Hub, HubError};

/// Why a sweep may not be abandoned.
#[derive(Debug, thiserror::Error)]
pub enum AbandonError {
    /// No sweep has this bundle hash.
    #[error("no sweep has bundle hash {0}")]
    Unknown(Hash),
    /// The sweep is signed, confirmed or abandoned already.
    #[error("sweep {hash} is {state}: only a planned sweep, which no key signed, may be abandoned")]
    NotPlanned {
        /// The sweep.
        hash: Hash,
        /// Its state.
        state: &'static str,
    },
    /// An input is quarantined: a person must look at it first.
    #[error("input {0} of the sweep is quarantined; look at why (hub admin audit, the event log) before abandoning")]
    Quarantined(Address),
    /// A node shows something of the sweep on the Tangle.
    #[error("a node shows {0}: the sweep may have been signed; it is not abandoned")]
    SeenOnChain(String),
    /// A node did not answer.
    #[error("a node did not answer ({0}); every node must show the sweep unsigned before it is abandoned")]
    NodeUnavailable(NodeError),
    /// The database or an invariant.
    #[error(transparent)]
    Hub(#[from] HubError),
}

impl From<hub_store::StoreError> for AbandonError {
    fn from(error: hub_store::StoreError) -> Self {
        Self::Hub(error.into())
    }
}

/// What abandoning a sweep gave back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Abandoned {
    /// The sweep's bundle hash.
    pub bundle_hash: Hash,
    /// The withdrawals back in the queue, by UUID.
    pub withdrawals: Vec<String>,
    /// The deposit addresses that became Hub addresses, with their funds.
    pub deposits: Vec<(Address, Amount)>,
    /// How many Hub inputs got their balance back.
    pub hub_inputs: usize,
}

impl Hub {
    /// `hub admin sweep abandon`: gives up a planned sweep no key signed.
    pub async fn abandon_sweep(&self, bundle_hash: &Hash) -> Result<Abandoned, AbandonError> {
        let (sweep, inputs, recovery) = self.abandonable(bundle_hash).await?;
        for node in self.nodes() {
            unseen_on(node, &sweep.bundle_hash, &inputs, &recovery).await?;
        }
        let now = self.now_ms();
        let mut tx = self.store().begin().await?;
        let deposits = tx.sweep_deposits(sweep.id).await?;
        let released = Amount::checked_sum(deposits.iter().map(|d| d.amount))
            .ok_or_else(|| HubError::broken_invariant("a sweep's deposits add up beyond the supply"))?;
        if !tx.set_sweep_abandoned(sweep.id, released, now).await? {
            return Err(AbandonError::NotPlanned {
                hash: sweep.bundle_hash,
                state: "no longer planned (signed meanwhile)",
            });
        }
        let withdrawals = tx.release_withdrawals(sweep.id, now).await?;
        let hub_inputs = reverse_hub_entries(&mut tx, sweep.id, now).await?;
        for d in &deposits {
            give_to_hub(&mut tx, d, sweep.id, now).await?;
        }
        tx.release_bindings(&sweep.bundle_hash).await?;
        tx.commit().await?;
        tracing::warn!(
            bundle = %sweep.bundle_hash,
            withdrawals = withdrawals.len(),
            deposits = deposits.len(),
            hub_inputs,
            "sweep abandoned: its withdrawals are queued again, its deposits are Hub's, its keys unbound"
        );
        Ok(Abandoned {
            bundle_hash: sweep.bundle_hash,
            withdrawals,
            deposits: deposits.iter().map(|d| (d.address, d.amount)).collect(),
            hub_inputs,
        })
    }

    /// The planned sweep, its inputs, and which of them a recovery allowed
    /// to sign again; refuses any other state and quarantined inputs.
    async fn abandonable(&self, hash: &Hash) -> Result<(SweepRow, Vec<SweepInput>, BTreeSet<Address>), AbandonError> {
        let mut read = self.store().read().await?;
        let sweep = read.sweep_by_hash(hash).await?.ok_or(AbandonError::Unknown(*hash))?;
        if sweep.state != SweepState::Planned {
            return Err(AbandonError::NotPlanned {
                hash: *hash,
                state: sweep.state.as_str(),
            });
        }
        let inputs = read.sweep_inputs(sweep.id).await?;
        let mut recovery = BTreeSet::new();
        for input in &inputs {
            if input.quarantined {
                return Err(AbandonError::Quarantined(input.address));
            }
            if read.recovery_allows(&input.seed_uuid, hash).await? {
                recovery.insert(input.address);
            }
        }
        Ok((sweep, inputs, recovery))
    }
}

/// Fails unless `node` shows no transaction of `bundle` and no input spent
/// (a recovery's input: none spent by `bundle`).
async fn unseen_on(
    node: &Client,
    bundle: &Hash,
    inputs: &[SweepInput],
    recovery: &BTreeSet<Address>,
) -> Result<(), AbandonError> {
    let of_bundle = node
        .find_transactions(&FindQuery {
            bundles: vec![*bundle],
            ..FindQuery::default()
        })
        .await
        .map_err(AbandonError::NodeUnavailable)?;
    if !of_bundle.is_empty() {
        return Err(AbandonError::SeenOnChain(format!(
            "{} transaction(s) of bundle {bundle}",
            of_bundle.len()
        )));
    }
    let addresses: Vec<Address> = inputs.iter().map(|i| i.address).collect();
    if addresses.is_empty() {
        return Ok(());
    }
    let spent = node
        .were_addresses_spent_from(&addresses)
        .await
        .map_err(AbandonError::NodeUnavailable)?;
    let seen = spends_seen(node, &addresses)
        .await
        .map_err(AbandonError::NodeUnavailable)?;
    for (address, spent) in addresses.iter().zip(spent) {
        let spends = seen.get(address);
        if recovery.contains(address) {
            if spends.is_some_and(|hashes| hashes.contains(bundle)) {
                return Err(AbandonError::SeenOnChain(format!("{address} spent by bundle {bundle}")));
            }
        } else if spent || spends.is_some() {
            return Err(AbandonError::SeenOnChain(format!("input {address} spent from")));
        }
    }
    Ok(())
}

/// Gives each Hub input its balance back and takes back the remainder's
/// promised credit; returns how many inputs were given back.
async fn reverse_hub_entries(tx: &mut hub_store::Tx, sweep: i64, now: i64) -> Result<usize, HubError> {
    let mut inputs = 0;
    for entry in tx.sweep_hub_entries(sweep).await? {
        let given_back = entry.amount.magnitude();
        let (amount, reason) = match entry.reason {
            HubAddressReason::Outbound => {
                inputs += 1;
                (given_back.credit(), HubAddressReason::Inbound)
            }
            HubAddressReason::Inbound => (given_back.debit(), HubAddressReason::Outbound),
        };
        if !given_back.is_zero() {
            tx.add_hub_entry(entry.hub_address, amount, reason, sweep, now).await?;
        }
    }
    Ok(inputs)
}

/// A deposit address the abandoned sweep emptied becomes a Hub address
/// holding its funds (its owner keeps the credit the sweep gave).
async fn give_to_hub(tx: &mut hub_store::Tx, deposit: &SweptDeposit, sweep: i64, now: i64) -> Result<(), HubError> {
    let id = tx.insert_hub_address(&deposit.address, &deposit.seed_uuid, now).await?;
    tx.add_hub_entry(id, deposit.amount.credit(), HubAddressReason::Inbound, sweep, now)
        .await?;
    Ok(())
}
