//! The sweeper: moves funded deposits into Hub addresses in bundles that
//! also pay withdrawals (hub-behaviour.md §6), as a persisted state machine.
//!
//! A sweep is *planned* in one transaction: inputs and outputs chosen, the
//! unsigned bundle and every ledger row written, and each input's seed UUID
//! bound to the bundle hash (the only hash it may ever sign). It is then
//! *signed* and stored; the attacher takes it from there until *confirmed*.
//! A crash between the steps resumes the same bundle: a planned sweep is
//! signed again for the same hash, never rebuilt. Selection is
//! deterministic: oldest deposits first, oldest withdrawals first, and, a fix
//! over the original, as many of the oldest withdrawals as funds allow
//! rather than all or none.

use std::collections::HashMap;

use hub_protocol::bundle::{BundleBuilder, Input, Output};
use hub_protocol::validate::{validate, Options};
use hub_protocol::{wots, Address, Hash, SeedUuid, Tag, Transaction};
use hub_store::{account_reason, AccountEntry, SweepRow};

use crate::crash;
use crate::pool;
use crate::tangle::synced_node;
use crate::{internal, Hub, HubError};

/// Sweep limits.
#[derive(Debug, Clone, Copy)]
pub struct SweepConfig {
    /// Deposit addresses per sweep (the original's `sweep_max_deposit`).
    pub max_deposits: i64,
    /// Withdrawals per sweep (the original's `sweep_max_withdraw`).
    pub max_withdrawals: i64,
}

impl Default for SweepConfig {
    fn default() -> Self {
        Self {
            max_deposits: 5,
            max_withdrawals: 7,
        }
    }
}

/// What a sweeper tick did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SweepReport {
    /// Planned sweeps found unsigned and signed (after a restart).
    pub resumed: usize,
    /// The node was not synced: nothing new was planned.
    pub skipped_not_synced: bool,
    /// The bundle hash of the sweep planned and signed this tick.
    pub swept: Option<String>,
}

/// One tick: finish unsigned sweeps, then plan and sign a new one if there
/// is anything to sweep or pay.
pub async fn run_tick(hub: &Hub, config: &SweepConfig) -> Result<SweepReport, HubError> {
    let mut report = SweepReport::default();
    let planned = hub
        .store()
        .read()
        .await
        .map_err(internal)?
        .sweeps_in_state("planned")
        .await
        .map_err(internal)?;
    for sweep in planned {
        sign(hub, &sweep).await?;
        report.resumed += 1;
    }
    if synced_node(hub.node(), hub.now_ms())
        .await
        .map_err(|e| HubError::IotaNodeUnavailable(e.to_string()))?
        .is_none()
    {
        report.skipped_not_synced = true;
        return Ok(report);
    }
    if let Some(sweep) = plan(hub, config).await? {
        crash::point("sweep_planned");
        sign(hub, &sweep).await?;
        report.swept = Some(sweep.bundle_hash);
    }
    Ok(report)
}

/// Plans a sweep in one transaction; `None` if there is nothing to do.
pub async fn plan(hub: &Hub, config: &SweepConfig) -> Result<Option<SweepRow>, HubError> {
    for _ in 0..2 {
        match try_plan(hub, config).await? {
            Planned::Done(sweep) => return Ok(sweep),
            // The pool is empty: derive a remainder address outside the transaction.
            Planned::NeedAddress => pool::add_one(hub).await?,
        }
    }
    Err(HubError::GetAddressFailed(
        "no remainder address could be obtained".into(),
    ))
}

enum Planned {
    Done(Option<SweepRow>),
    NeedAddress,
}

pub(crate) fn stored(field: &'static str, text: &str) -> Result<Address, HubError> {
    Address::from_trytes(text).map_err(|e| HubError::Internal(format!("stored {field}: {e}")))
}

async fn try_plan(hub: &Hub, config: &SweepConfig) -> Result<Planned, HubError> {
    let now = hub.now_ms();
    let mut tx = hub.store().begin().await.map_err(internal)?;
    let withdrawals = tx
        .pending_withdrawals(now, config.max_withdrawals)
        .await
        .map_err(internal)?;
    let deposits = tx
        .funded_deposit_addresses(config.max_deposits)
        .await
        .map_err(internal)?;
    if withdrawals.is_empty() && deposits.is_empty() {
        return Ok(Planned::Done(None));
    }
    let deposits_total: i64 = deposits.iter().map(|d| d.balance).sum();
    let candidates = tx.eligible_hub_inputs(now).await.map_err(internal)?;
    let hub_available: i64 = candidates.iter().map(|h| h.balance).sum();
    // As many of the oldest withdrawals as the funds allow, in order.
    let mut chosen = Vec::new();
    let mut required = 0i64;
    for w in withdrawals {
        if required + w.amount > deposits_total + hub_available {
            break;
        }
        required += w.amount;
        chosen.push(w);
    }
    if deposits.is_empty() && chosen.is_empty() {
        return Ok(Planned::Done(None));
    }
    let mut hub_inputs = Vec::new();
    let mut inputs_total = deposits_total;
    for candidate in candidates {
        if inputs_total >= required {
            break;
        }
        inputs_total += candidate.balance;
        hub_inputs.push(candidate);
    }
    let remainder = inputs_total - required;
    let Some((remainder_uuid, remainder_address)) = tx.take_pooled_address().await.map_err(internal)? else {
        return Ok(Planned::NeedAddress);
    };

    let mut builder =
        BundleBuilder::new(u64::try_from(now / 1000).unwrap_or(0)).map_err(|e| HubError::Internal(e.to_string()))?;
    let mut uuids = Vec::new();
    for input in deposits.iter().chain(hub_inputs.iter()) {
        let uuid =
            SeedUuid::parse(&input.seed_uuid).map_err(|e| HubError::Internal(format!("stored seed UUID: {e}")))?;
        let security = hub
            .provider()
            .security_level(&uuid)
            .await
            .map_err(|e| HubError::SignatureFailed(e.to_string()))?;
        builder = builder.input(Input {
            address: stored("address", &input.address)?,
            amount: input.balance as u64,
            security,
        });
        uuids.push(uuid);
    }
    for w in &chosen {
        let tag = Tag::from_trytes(&w.tag).unwrap_or(Tag::NULL);
        builder =
            builder.output(Output::new(stored("payout address", &w.payout_address)?, w.amount as u64).with_tag(tag));
    }
    builder = builder.output(Output::new(
        stored("remainder address", &remainder_address)?,
        remainder as u64,
    ));
    let unsigned = builder
        .build()
        .map_err(|e| HubError::Internal(format!("sweep bundle: {e}")))?;
    let hash = unsigned.hash();
    let trytes: String = unsigned.transactions().iter().map(Transaction::to_trytes).collect();

    let hub_address = tx
        .insert_hub_address(&remainder_address, &remainder_uuid, now)
        .await
        .map_err(internal)?;
    let sweep = tx
        .insert_sweep(hash.as_str(), &trytes, hub_address, now)
        .await
        .map_err(internal)?;
    tx.add_hub_entry(hub_address, remainder, 0, sweep, now)
        .await
        .map_err(internal)?;
    for h in &hub_inputs {
        tx.add_hub_entry(h.id, -h.balance, 1, sweep, now)
            .await
            .map_err(internal)?;
    }
    let ids: Vec<i64> = chosen.iter().map(|w| w.id).collect();
    if tx.assign_withdrawals(&ids, sweep).await.map_err(internal)? != ids.len() as u64 {
        return Err(HubError::Internal(
            "a withdrawal changed while the sweep was planned".into(),
        ));
    }
    let mut credits = Vec::new();
    for d in &deposits {
        tx.sweep_deposit_address(d.id, d.balance, sweep, now)
            .await
            .map_err(internal)?;
        credits.push(AccountEntry {
            user_id: d.user_id,
            amount: d.balance,
            reason: account_reason::SWEEP,
            sweep: Some(sweep),
            withdrawal: None,
        });
    }
    tx.add_account_entries(&credits, now).await.map_err(internal)?;
    for uuid in &uuids {
        if let Some(other) = tx.bind_uuid(uuid.as_str(), hash.as_str()).await.map_err(internal)? {
            tracing::error!(
                ?uuid,
                "ALERT: refusing a sweep that would sign a key already bound to bundle {other}"
            );
            return Err(HubError::SignatureFailed(
                "an input key is already bound to another bundle".into(),
            ));
        }
    }
    tx.commit().await.map_err(internal)?;
    tracing::info!(bundle = %hash, deposits = deposits.len(), hub_inputs = hub_inputs.len(), withdrawals = chosen.len(), remainder, "sweep planned");
    Ok(Planned::Done(Some(SweepRow {
        id: sweep,
        bundle_hash: hash.to_string(),
        trytes,
        state: "planned".into(),
        created_at: now,
    })))
}

fn split_transactions(trytes: &str) -> Result<Vec<Transaction>, HubError> {
    let size = hub_protocol::transaction::TRANSACTION_TRYTES;
    if trytes.is_empty() || trytes.len() % size != 0 {
        return Err(HubError::Internal(
            "stored sweep trytes are not whole transactions".into(),
        ));
    }
    (0..trytes.len() / size)
        .map(|i| {
            Transaction::from_trytes(&trytes[i * size..(i + 1) * size])
                .map_err(|e| HubError::Internal(format!("stored sweep: {e}")))
        })
        .collect()
}

/// Signs a planned sweep for its bound bundle hash and stores it.
pub async fn sign(hub: &Hub, sweep: &SweepRow) -> Result<(), HubError> {
    let hash =
        Hash::from_trytes(&sweep.bundle_hash).map_err(|e| HubError::Internal(format!("stored bundle hash: {e}")))?;
    let mut transactions = split_transactions(&sweep.trytes)?;
    let inputs = hub
        .store()
        .read()
        .await
        .map_err(internal)?
        .sweep_inputs(sweep.id)
        .await
        .map_err(internal)?;
    let by_address: HashMap<String, String> = inputs.into_iter().map(|(uuid, address)| (address, uuid)).collect();
    let mut i = 0;
    while i < transactions.len() {
        if transactions[i].value.get() >= 0 {
            i += 1;
            continue;
        }
        let address = transactions[i].address;
        let uuid = by_address
            .get(address.as_str())
            .ok_or_else(|| HubError::Internal(format!("no seed UUID for sweep input {address}")))?;
        let mut read = hub.store().read().await.map_err(internal)?;
        let binding = read.uuid_binding(uuid).await.map_err(internal)?;
        let allowed = binding.as_deref() == Some(sweep.bundle_hash.as_str())
            || read.recovery_allows(uuid, &sweep.bundle_hash).await.map_err(internal)?;
        drop(read);
        if !allowed {
            tracing::error!(address = %address, "ALERT: sweep input key is not bound to this bundle; refusing to sign");
            return Err(HubError::SignatureFailed("input key not bound to this bundle".into()));
        }
        let uuid = SeedUuid::parse(uuid).map_err(|e| HubError::Internal(format!("stored seed UUID: {e}")))?;
        let signature = hub
            .provider()
            .sign(&uuid, &hash)
            .await
            .map_err(|e| HubError::SignatureFailed(e.to_string()))?;
        if !wots::verify(&address, &hash, &signature.0) {
            return Err(HubError::SignatureFailed(format!(
                "the provider's signature does not verify for {address}"
            )));
        }
        for (offset, fragment) in signature.0.into_iter().enumerate() {
            let tx = transactions
                .get_mut(i + offset)
                .filter(|tx| tx.address == address)
                .ok_or_else(|| HubError::Internal("signature longer than the input's transactions".into()))?;
            tx.signature_message_fragment = fragment;
        }
        i += 1;
    }
    let report = validate(&transactions, &Options::default());
    if !report.is_valid() {
        return Err(HubError::Internal(format!(
            "signed sweep does not validate: {:?}",
            report.violations
        )));
    }
    let signed: String = transactions.iter().map(Transaction::to_trytes).collect();
    crash::point("sweep_signing");
    let mut tx = hub.store().begin().await.map_err(internal)?;
    tx.set_sweep_signed(sweep.id, &signed, hub.now_ms())
        .await
        .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    crash::point("sweep_signed");
    tracing::info!(bundle = %hash, "sweep signed");
    Ok(())
}

/// The transactions of a stored sweep, in index order.
pub fn sweep_transactions(sweep: &SweepRow) -> Result<Vec<Transaction>, HubError> {
    split_transactions(&sweep.trytes)
}
