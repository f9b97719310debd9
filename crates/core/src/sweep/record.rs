//! Recording a planned sweep: the one place that writes what a sweep
//! means for the books, shared by the sweeper and RecoverFunds.
//!
//! In the caller's write transaction, it records the new Hub address and
//! its INBOUND remainder row, the sweep itself, an OUTBOUND row per Hub
//! input, the withdrawals it pays, a SWEEP row emptying each deposit
//! address with the owner's credit, and which keys may sign its bundle
//! hash. Any refusal returns an error before the caller commits, so
//! nothing of a refused sweep is ever visible.

use hub_protocol::{Hash, SeedUuid};
use hub_store::{AccountEntry, AccountReason, Binding, DerivedAddress, HubAddressReason, SweepRow, SweepState, Tx};

use super::select::{check_balanced, Selection};
use crate::{Cause, HubError};

/// Which keys a planned sweep may sign with.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Keys<'a> {
    /// Every input's key, bound to this bundle hash and no other, ever.
    BindInputs,
    /// A recovery: this already-spent key may sign this one bundle more.
    Recovery(&'a SeedUuid),
}

/// A sweep ready to record.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PlannedSweep<'a> {
    /// Its bundle hash.
    pub(crate) hash: &'a Hash,
    /// Its unsigned transactions, in index order.
    pub(crate) trytes: &'a str,
    /// The new Hub address that receives the remainder.
    pub(crate) into: &'a DerivedAddress,
    /// What it takes and pays.
    pub(crate) selection: &'a Selection,
    /// Which keys may sign it.
    pub(crate) keys: Keys<'a>,
}

/// Records `plan` in `tx` (the caller commits) and returns the planned sweep.
pub(crate) async fn record_planned(tx: &mut Tx, plan: &PlannedSweep<'_>, now: i64) -> Result<SweepRow, HubError> {
    let selection = plan.selection;
    check_balanced(selection)?;
    let hub_address = tx
        .insert_hub_address(&plan.into.address, &plan.into.seed_uuid, now)
        .await?;
    let sweep = tx.insert_sweep(plan.hash, plan.trytes, hub_address, now).await?;
    tx.add_hub_entry(
        hub_address,
        selection.remainder.credit(),
        HubAddressReason::Inbound,
        sweep,
        now,
    )
    .await?;
    for h in &selection.hub_inputs {
        tx.add_hub_entry(h.id, h.balance.debit(), HubAddressReason::Outbound, sweep, now)
            .await?;
    }
    let ids: Vec<i64> = selection.withdrawals.iter().map(|w| w.id).collect();
    let assigned = tx.assign_withdrawals(&ids, sweep, now).await?;
    if usize::try_from(assigned).ok() != Some(ids.len()) {
        return Err(HubError::internal(
            Cause::Concurrent,
            "a withdrawal changed while the sweep was planned",
        ));
    }
    let mut credits = Vec::with_capacity(selection.deposits.len());
    for d in &selection.deposits {
        let owner = d
            .user_id
            .ok_or_else(|| HubError::broken_invariant("a deposit address without an owner in a sweep"))?;
        tx.sweep_deposit_address(d.id, d.balance, (sweep, plan.hash), now)
            .await?;
        credits.push(AccountEntry {
            user_id: owner,
            amount: d.balance.credit(),
            reason: AccountReason::Sweep,
            sweep: Some(sweep),
            withdrawal: None,
        });
    }
    tx.add_account_entries(&credits, now).await?;
    match plan.keys {
        Keys::BindInputs => {
            for input in selection.inputs() {
                bind(tx, input, plan.hash).await?;
            }
        }
        Keys::Recovery(uuid) => tx.add_recovery_signature(uuid, plan.hash, sweep, now).await?,
    }
    Ok(SweepRow {
        id: sweep,
        bundle_hash: *plan.hash,
        trytes: plan.trytes.to_string(),
        state: SweepState::Planned,
        created_at: now,
    })
}

/// Binds an input's key to `hash`; refuses (and so rolls the sweep back)
/// if the key is bound to anything else.
async fn bind(tx: &mut Tx, input: &hub_store::FundedAddress, hash: &Hash) -> Result<(), HubError> {
    let other = match tx.bind_uuid(&input.seed_uuid, hash).await? {
        Binding::Bound => return Ok(()),
        Binding::Other(other) => other.to_string(),
        Binding::Unrecorded => "a bundle the original Hub did not record".to_string(),
    };
    tracing::error!(
        address = %input.address,
        "ALERT: refusing a sweep that would sign a key already bound to {other}"
    );
    Err(HubError::SignatureFailed(
        "an input key is already bound to another bundle".into(),
    ))
}
