//! The sweeper: moves funded deposits into Hub addresses in bundles that
//! also pay withdrawals (hub-behaviour.md §6): the *planned* and *signed*
//! steps of the sweep state machine (see `sweep`).
//!
//! Planning asks the node for the balance of every address it may spend,
//! then reads what is offered (see [`spendable`]: a deposit whose node
//! balance equals the books', a Hub address holding at least what the
//! books say), [`select`]s, builds the unsigned bundle and
//! [`record_planned`]s it, all in one write transaction; the signer is
//! never called inside it (the keys' security levels are asked first, and
//! the transaction is begun again once they are known). Signing reads the
//! planned sweep and its keys' bindings, asks the signer outside any
//! transaction, checks every signature, then stores the signed bundle in
//! one short transaction. A crash between the steps resumes the same
//! bundle: a planned sweep is signed again for the same hash, never rebuilt.
//! Before any key signs, the node must show it unspent, or spent only by
//! this bundle ([`crate::spends`]): a database that lost a broadcast sweep
//! leaves the new plan unsigned and its addresses quarantined. An input
//! the node shows holding less than the books is not planned at all, and
//! its key is looked up on the Tangle the same way.

use std::collections::HashMap;
use std::sync::Mutex;

use hub_node::Client;
use hub_protocol::bundle::{BundleBuilder, Input, Output};
use hub_protocol::validate::{validate, Options};
use hub_protocol::{wots, Address, Amount, Hash, SecurityLevel, SeedUuid, Transaction};
use hub_store::{DerivedAddress, FundedAddress, SweepRow, SweepState};

use super::record::{record_planned, Keys, PlannedSweep};
use super::select::{select, Candidates, Selection};
pub use super::sweep_transactions;
use crate::crash::{self, CrashPoint};
use crate::pool;
use crate::spends::{clear_to_sign, quarantine_foreign_spends, SigningKey};
use crate::tangle::first_synced;
use crate::{Cause, Hub, HubError};

/// Attempts at planning one sweep: one to learn the keys' security levels,
/// one to fill an empty address pool, one to plan, one spare for a change
/// made by a concurrent transaction in between.
const PLAN_ATTEMPTS_MAX: usize = 4;

/// First wait before a held sweep (one that could not be signed) is tried
/// again; it doubles with each failure in a row, up to [`HELD_RETRY_MAX_MS`].
const HELD_RETRY_FIRST_MS: i64 = 2_000;
/// Longest wait between two tries of a held sweep: a signer refusing it,
/// or a node that does not answer, is asked again at least this often.
const HELD_RETRY_MAX_MS: i64 = 300_000;

/// When each held sweep may be tried again, by sweep id: a held sweep
/// backs off on its own and costs the others nothing. In memory only: a
/// restarted Hub tries every planned sweep at once.
#[derive(Debug, Default)]
pub(crate) struct HeldSweeps(Mutex<HashMap<i64, (u32, i64)>>);

impl HeldSweeps {
    /// Whether `sweep` may be tried at `now_ms`.
    fn due(&self, sweep: i64, now_ms: i64) -> bool {
        self.0
            .lock()
            .map(|held| held.get(&sweep).is_none_or(|(_, retry_at_ms)| *retry_at_ms <= now_ms))
            .unwrap_or(true)
    }

    /// Records a failure of `sweep`; returns how long until its next try.
    fn failed(&self, sweep: i64, now_ms: i64) -> i64 {
        let Ok(mut held) = self.0.lock() else {
            return 0;
        };
        let (failures, retry_at_ms) = held.entry(sweep).or_insert((0, now_ms));
        let wait_ms = HELD_RETRY_FIRST_MS
            .saturating_mul(1 << (*failures).min(16))
            .min(HELD_RETRY_MAX_MS);
        *failures += 1;
        *retry_at_ms = now_ms + wait_ms;
        wait_ms
    }

    /// `sweep` is signed: it is held no more.
    fn signed(&self, sweep: i64) {
        if let Ok(mut held) = self.0.lock() {
            held.remove(&sweep);
        }
    }
}

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
    /// Planned sweeps not signed this tick (each failure logged): the
    /// signer refused or was down, the node did not answer, or a key is
    /// held because the node shows it spent elsewhere; or one of these
    /// failed before and its back-off has not run out.
    pub held: usize,
    /// The node was not synced: nothing new was planned.
    pub skipped_not_synced: bool,
    /// The bundle hash of the sweep planned and signed this tick.
    pub swept: Option<String>,
}

/// One tick: finish unsigned sweeps, then plan and sign a new one if there
/// is anything to sweep or pay. A planned sweep that cannot be signed is
/// tried again after a back-off of its own and holds up nothing else: its
/// deposits, withdrawals and inputs are its own, so the next sweep plans
/// without them.
pub async fn run_tick(hub: &Hub, config: &SweepConfig) -> Result<SweepReport, HubError> {
    let mut report = SweepReport::default();
    let planned = hub.store().read().await?.sweeps_in_state(SweepState::Planned).await?;
    for sweep in planned {
        if !hub.held_sweeps().due(sweep.id, hub.now_ms()) {
            report.held += 1;
            continue;
        }
        if sign_or_hold(hub, &sweep).await {
            report.resumed += 1;
        } else {
            report.held += 1;
        }
    }
    let Some((node, _)) = first_synced(hub.nodes(), hub.now_ms()).await? else {
        report.skipped_not_synced = true;
        return Ok(report);
    };
    if let Some(sweep) = plan_on(hub, &node, config).await? {
        crash::at(CrashPoint::Planned);
        if sign_or_hold(hub, &sweep).await {
            report.swept = Some(sweep.bundle_hash.to_string());
        } else {
            report.held += 1;
        }
    }
    Ok(report)
}

/// Signs a planned sweep; `true` if signed. On failure logs why and backs
/// the sweep off, unless the node was unavailable: that holds up every
/// sweep alike and clears for all at once, so the next tick tries again.
async fn sign_or_hold(hub: &Hub, sweep: &SweepRow) -> bool {
    match sign(hub, sweep).await {
        Ok(()) => {
            hub.held_sweeps().signed(sweep.id);
            true
        }
        Err(e @ HubError::IotaNodeUnavailable(_)) => {
            tracing::warn!(bundle = %sweep.bundle_hash, "planned sweep not signed (tried again next tick): {e}");
            false
        }
        Err(e) => {
            let wait_ms = hub.held_sweeps().failed(sweep.id, hub.now_ms());
            tracing::warn!(bundle = %sweep.bundle_hash, "planned sweep not signed (tried again in {wait_ms} ms): {e}");
            false
        }
    }
}

/// What one planning attempt needs before it can go on.
enum Attempt {
    Done(Option<SweepRow>),
    /// The address pool is empty: derive a remainder address outside the transaction.
    NeedAddress,
    /// The security levels of these keys are not known yet: ask the signer outside the transaction.
    NeedSecurity(Vec<SeedUuid>),
}

/// Plans a sweep; `None` if there is nothing to do.
pub async fn plan(hub: &Hub, config: &SweepConfig) -> Result<Option<SweepRow>, HubError> {
    plan_on(hub, hub.node(), config).await
}

/// Plans a sweep on the balances `node` gives.
async fn plan_on(hub: &Hub, node: &Client, config: &SweepConfig) -> Result<Option<SweepRow>, HubError> {
    let mut levels: HashMap<SeedUuid, SecurityLevel> = HashMap::new();
    let on_chain = input_balances(hub, node, config).await?;
    for _ in 0..PLAN_ATTEMPTS_MAX {
        match try_plan(hub, config, &levels, &on_chain).await? {
            Attempt::Done(sweep) => return Ok(sweep),
            Attempt::NeedAddress => pool::add_one(hub).await?,
            Attempt::NeedSecurity(uuids) => {
                for uuid in uuids {
                    let level = hub
                        .provider()
                        .security_level(&uuid)
                        .await
                        .map_err(|e| HubError::SignatureFailed(e.to_string()))?;
                    levels.insert(uuid, level);
                }
            }
        }
    }
    Err(HubError::GetAddressFailed(
        "no sweep could be planned: the address pool stayed empty or the offer kept changing".into(),
    ))
}

/// The node's confirmed balance of every address a sweep may spend now
/// (funded deposit addresses and eligible Hub addresses), asked outside
/// any transaction. An address holding less on the node than in the books
/// has its key checked on every node: one the Tangle shows signing a
/// bundle Hub never made (a database restored from before a sweep) is
/// quarantined with an alert ([`quarantine_foreign_spends`]).
async fn input_balances(hub: &Hub, node: &Client, config: &SweepConfig) -> Result<HashMap<Address, Amount>, HubError> {
    let candidates: Vec<FundedAddress> = {
        let mut read = hub.store().read().await?;
        let mut candidates = read.funded_deposit_addresses(config.max_deposits).await?;
        candidates.extend(read.eligible_hub_inputs(hub.now_ms()).await?);
        candidates
    };
    if candidates.is_empty() {
        return Ok(HashMap::new());
    }
    let addresses: Vec<Address> = candidates.iter().map(|input| input.address).collect();
    let balances = node.get_balances(&addresses).await?.balances;
    let mut on_chain = HashMap::with_capacity(candidates.len());
    let mut short = Vec::new();
    for (input, balance) in candidates.into_iter().zip(balances) {
        let Ok(balance) = Amount::new(balance) else { continue };
        if balance < input.balance {
            short.push(SigningKey {
                address: input.address,
                seed_uuid: input.seed_uuid,
            });
        }
        on_chain.insert(input.address, balance);
    }
    quarantine_foreign_spends(hub, &short).await?;
    Ok(on_chain)
}

/// Keeps the inputs a sweep may spend, by the balance the node shows them
/// holding: a sweep plans on min(books, node) and spends each address
/// whole. An input holding less than the books cannot pay what the books
/// promise (reported as an ALERT) and waits. A deposit address holding
/// more waits for the monitor to credit the rest (a bundle spending it
/// now would strand that deposit on a spent address). A Hub address
/// holding more (someone paid it; a replayed sweep) is spent at the
/// books' balance: what the node holds beyond it goes, unbooked, to the
/// sweep's remainder ([`unsigned_bundle`]), where the monitor reports it
/// like any surplus, instead of freezing the booked funds for good. An
/// address the node was not asked about waits too.
fn spendable(inputs: Vec<FundedAddress>, on_chain: &HashMap<Address, Amount>) -> Vec<FundedAddress> {
    inputs
        .into_iter()
        .filter(|input| match on_chain.get(&input.address) {
            Some(node) if *node == input.balance => true,
            Some(node) if *node < input.balance => {
                tracing::error!(
                    address = %input.address, books = %input.balance, node = %node,
                    "ALERT: the node holds less on this address than Hub's books; not swept"
                );
                false
            }
            Some(_) if input.user_id.is_none() => true,
            Some(_) => {
                tracing::info!(address = %input.address, "the node holds more than credited yet; swept after the monitor credits it");
                false
            }
            None => false,
        })
        .collect()
}

/// One attempt, in one write transaction that is committed only if the sweep is recorded.
async fn try_plan(
    hub: &Hub,
    config: &SweepConfig,
    levels: &HashMap<SeedUuid, SecurityLevel>,
    on_chain: &HashMap<Address, Amount>,
) -> Result<Attempt, HubError> {
    let now = hub.now_ms();
    let mut tx = hub.store().begin().await?;
    let withdrawals = tx.pending_withdrawals(now, config.max_withdrawals).await?;
    let deposits = spendable(tx.funded_deposit_addresses(config.max_deposits).await?, on_chain);
    if withdrawals.is_empty() && deposits.is_empty() {
        return Ok(Attempt::Done(None));
    }
    let hub_inputs = spendable(tx.eligible_hub_inputs(now).await?, on_chain);
    let offer = Candidates {
        withdrawals: &withdrawals,
        deposits: &deposits,
        hub_inputs: &hub_inputs,
    };
    let Some(selection) = select(&offer)? else {
        return Ok(Attempt::Done(None));
    };
    let unknown: Vec<SeedUuid> = selection
        .inputs()
        .filter(|i| !levels.contains_key(&i.seed_uuid))
        .map(|i| i.seed_uuid.clone())
        .collect();
    if !unknown.is_empty() {
        return Ok(Attempt::NeedSecurity(unknown));
    }
    let Some(into) = tx.take_pooled_address().await? else {
        return Ok(Attempt::NeedAddress);
    };
    let bundle = unsigned_bundle(&selection, levels, on_chain, &into, now)?;
    let plan = PlannedSweep {
        hash: &bundle.hash,
        trytes: &bundle.trytes,
        into: &into,
        selection: &selection,
        keys: Keys::BindInputs,
    };
    let sweep = record_planned(&mut tx, &plan, now).await?;
    tx.commit().await?;
    tracing::info!(
        bundle = %bundle.hash,
        deposits = selection.deposits.len(),
        hub_inputs = selection.hub_inputs.len(),
        withdrawals = selection.withdrawals.len(),
        remainder = %selection.remainder,
        unbooked = %bundle.unbooked,
        "sweep planned"
    );
    Ok(Attempt::Done(Some(sweep)))
}

/// A sweep's bundle before signing.
struct UnsignedSweep {
    hash: Hash,
    /// Its transactions' trytes, in index order.
    trytes: String,
    /// What its Hub inputs hold on the node beyond the books, paid to the
    /// remainder address without being booked ([`spendable`]).
    unbooked: Amount,
}

/// The unsigned bundle of a selection (§13 G58): inputs, then payouts, then
/// the remainder. Each input spends what the node holds on it (`on_chain`,
/// never less than the books); the remainder output takes what is left,
/// the booked remainder plus what the books did not know of.
fn unsigned_bundle(
    selection: &Selection,
    levels: &HashMap<SeedUuid, SecurityLevel>,
    on_chain: &HashMap<Address, Amount>,
    into: &DerivedAddress,
    now_ms: i64,
) -> Result<UnsignedSweep, HubError> {
    let bundle_error = |e: hub_protocol::Error| HubError::internal(Cause::Bundle, format!("sweep bundle: {e}"));
    let mut builder = BundleBuilder::new(u64::try_from(now_ms / 1000).unwrap_or(0)).map_err(bundle_error)?;
    let mut unbooked = Amount::ZERO;
    for input in selection.inputs() {
        let security = *levels
            .get(&input.seed_uuid)
            .ok_or_else(|| HubError::broken_invariant("a sweep input without a known security level"))?;
        let held = *on_chain
            .get(&input.address)
            .ok_or_else(|| HubError::broken_invariant("a sweep input the node was not asked about"))?;
        let beyond_books = held
            .checked_sub(input.balance)
            .ok_or_else(|| HubError::broken_invariant("a sweep input holding less than the books"))?;
        unbooked = unbooked
            .checked_add(beyond_books)
            .ok_or_else(|| HubError::broken_invariant("unbooked funds exceed the supply"))?;
        builder = builder.input(Input {
            address: input.address,
            amount: held.get(),
            security,
        });
    }
    for w in &selection.withdrawals {
        builder = builder.output(Output::new(w.payout_address, w.amount.get()).with_tag(w.tag));
    }
    let remainder = selection
        .remainder
        .checked_add(unbooked)
        .ok_or_else(|| HubError::broken_invariant("a sweep's remainder exceeds the supply"))?;
    builder = builder.output(Output::new(into.address, remainder.get()));
    let unsigned = builder.build().map_err(bundle_error)?;
    Ok(UnsignedSweep {
        hash: unsigned.hash(),
        trytes: unsigned.transactions().iter().map(Transaction::to_trytes).collect(),
        unbooked,
    })
}

/// Signs a planned sweep for its bound bundle hash and stores it, once
/// the node shows none of its keys spent by another bundle
/// ([`clear_to_sign`]).
pub async fn sign(hub: &Hub, sweep: &SweepRow) -> Result<(), HubError> {
    let hash = sweep.bundle_hash;
    let mut transactions = sweep_transactions(sweep)?;
    let keys = allowed_keys(hub, sweep).await?;
    let signing: Vec<SigningKey> = keys
        .iter()
        .map(|(address, seed_uuid)| SigningKey {
            address: *address,
            seed_uuid: seed_uuid.clone(),
        })
        .collect();
    clear_to_sign(hub, &signing, &hash).await?;
    let mut i = 0;
    while i < transactions.len() {
        if !transactions[i].value.is_negative() {
            i += 1;
            continue;
        }
        let address = transactions[i].address;
        let uuid = keys.get(&address).ok_or_else(|| {
            tracing::error!(%address, "ALERT: sweep input key is not bound to this bundle; refusing to sign");
            HubError::SignatureFailed("input key not bound to this bundle".into())
        })?;
        let signature = hub
            .provider()
            .sign(uuid, &hash)
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
                .ok_or_else(|| HubError::internal(Cause::Bundle, "signature longer than the input's transactions"))?;
            tx.signature_message_fragment = fragment;
        }
        i += 1;
    }
    let report = validate(&transactions, &Options::default());
    if !report.is_valid() {
        return Err(HubError::internal(
            Cause::Bundle,
            format!("signed sweep does not validate: {:?}", report.violations),
        ));
    }
    let signed: String = transactions.iter().map(Transaction::to_trytes).collect();
    crash::at(CrashPoint::Signing);
    let mut tx = hub.store().begin().await?;
    if !tx.set_sweep_signed(sweep.id, &signed, hub.now_ms()).await? {
        tracing::error!(
            bundle = %hash,
            "ALERT: the sweep was abandoned while its signatures were made; they are dropped, never published"
        );
        return Err(HubError::internal(
            Cause::Concurrent,
            "the sweep was abandoned while it was being signed",
        ));
    }
    tx.commit().await?;
    crash::at(CrashPoint::Signed);
    tracing::info!(bundle = %hash, "sweep signed");
    Ok(())
}

/// The keys that may sign this sweep, by the address they spend: each
/// input's key bound to exactly this bundle hash, or allowed it by a
/// recovery. Read in one snapshot, before any signer call. A sweep with a
/// quarantined input signs nothing.
async fn allowed_keys(hub: &Hub, sweep: &SweepRow) -> Result<HashMap<Address, SeedUuid>, HubError> {
    let mut read = hub.store().read().await?;
    let mut keys = HashMap::new();
    for input in read.sweep_inputs(sweep.id).await? {
        if input.quarantined {
            return Err(HubError::internal(
                Cause::SpentOnChain,
                format!(
                    "input {} is quarantined: this sweep is held until a person looks at it",
                    input.address
                ),
            ));
        }
        let bound = read.uuid_binding(&input.seed_uuid).await? == Some(sweep.bundle_hash);
        if bound || read.recovery_allows(&input.seed_uuid, &sweep.bundle_hash).await? {
            keys.insert(input.address, input.seed_uuid);
        }
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Goal: a held sweep waits 2 s, 4 s, 8 s … up to 5 min between tries,
    /// on its own, and is forgotten once signed. Method: the pure record.
    #[test]
    fn a_held_sweep_backs_off_on_its_own() {
        let held = HeldSweeps::default();
        assert!(held.due(1, 0));
        assert_eq!(held.failed(1, 0), 2_000);
        assert!(!held.due(1, 1_999));
        assert!(held.due(1, 2_000));
        assert!(held.due(2, 0), "another sweep is not held back");
        assert_eq!(held.failed(1, 2_000), 4_000);
        assert!(!held.due(1, 5_999));
        for _ in 0..20 {
            held.failed(1, 0);
        }
        assert_eq!(held.failed(1, 0), HELD_RETRY_MAX_MS);
        held.signed(1);
        assert!(held.due(1, 0));
    }
}
