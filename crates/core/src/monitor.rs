//! The deposit monitor: finds confirmed deposits to unswept deposit
//! addresses and records them in the address ledger (hub-behaviour.md §5,
//! with its defects fixed).
//!
//! One pass walks the monitored addresses a page at a time, asks the node
//! for their confirmed balances, and for each address whose balance differs
//! from what Hub has credited, looks up the confirmed bundles touching it.
//! Each address is handled on its own, in its own transaction: a deposit is
//! credited only if the new confirmed bundles explain the balance change
//! exactly; an address whose numbers do not add up yet is left for the next
//! pass without holding up the others; a bundle is credited to an address at
//! most once (a unique index backs this up across restarts and
//! reattachments); and an outgoing spend nobody expected quarantines the
//! address and raises an alert instead of stopping the process, as do a
//! key the node shows signing a bundle Hub never made (one
//! `wereAddressesSpentFrom` per page finds them) and funds paid from Hub's
//! own addresses by a bundle Hub has no record of (a lost sweep's
//! remainder on an address handed out again). The user's
//! account is credited later, when the deposit is swept; until then the
//! amount shows as a pending deposit. Nothing happens while the node is not
//! synced. A pass asks all its questions of one node, the first synced of
//! those configured; with a quorum above 1, a bundle is believed confirmed
//! (credited, or quarantining) only when that many nodes say so.
//!
//! Each pass also watches the addresses Hub expects nothing on (see
//! `hub_store` `watch`): funds on a swept deposit address (a late deposit:
//! the key is spent, so anyone may replay the sweep that spent it, and only
//! RecoverFunds can move them safely), a surplus on a settled Hub address
//! (a sweep confirmed a second time: a replay) and a shortfall on one (the
//! books promise funds the chain does not hold: the key used outside Hub,
//! a database restored from an older backup) are reported, as an event
//! and an ALERT in the log, once per change; nothing is credited. A watched
//! page the node fails on is left for the next pass like any other.

use std::collections::HashSet;

use hub_node::Client;
use hub_protocol::{Address, Amount, Hash};
use hub_store::{Deposit, EventKind, MonitoredAddress, WatchedAddress};

use crate::spends::{quarantine_foreign_spends, SigningKey};
use crate::tangle::{agreed_confirmed, confirmed_bundles, first_synced, ConfirmedBundle};
use crate::{Hub, HubError};

/// Settings of the monitor.
#[derive(Debug, Clone, Copy)]
pub struct MonitorConfig {
    /// Addresses per page (and per `getBalances` call).
    pub page_size: i64,
    /// Keep the message of depositing transactions (the original's
    /// `fetchTransactionMessages`).
    pub fetch_messages: bool,
}

impl Default for MonitorConfig {
    fn default() -> Self {
        Self {
            page_size: 1000,
            fetch_messages: false,
        }
    }
}

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PassReport {
    /// The node was not synced: nothing was done.
    pub skipped_not_synced: bool,
    /// Addresses looked at.
    pub addresses: usize,
    /// Addresses whose node balance differed from Hub's.
    pub changed: usize,
    /// Deposits credited.
    pub credited: usize,
    /// Addresses left for a later pass (numbers did not add up yet).
    pub deferred: usize,
    /// Addresses quarantined for an unexpected outgoing spend.
    pub quarantined: usize,
    /// Changes reported on addresses Hub expects nothing (more) on: late
    /// deposits, Hub-address surpluses and shortfalls, and their clearing.
    pub unexpected_funds_reported: usize,
    /// Confirmed bundles the node reported that failed validation (never believed).
    pub rejected: usize,
    /// Pages and addresses left for the next pass after an error.
    pub failed: usize,
}

/// Runs one pass over every monitored address. A page the node fails on,
/// or an address that fails to settle, is logged and left for the next
/// pass; the rest of the pass goes on.
pub async fn run_pass(hub: &Hub, config: &MonitorConfig) -> Result<PassReport, HubError> {
    let mut report = PassReport::default();
    let Some((node, _)) = first_synced(hub.nodes(), hub.now_ms()).await? else {
        report.skipped_not_synced = true;
        return Ok(report);
    };
    let mut after = 0;
    loop {
        let page = hub
            .store()
            .read()
            .await?
            .monitored_addresses(after, config.page_size)
            .await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        report.addresses += page.len();
        if let Err(e) = monitor_page(hub, &node, config, &page, &mut report).await {
            report.failed += 1;
            tracing::warn!(
                after_id = page[0].id,
                "deposit monitor: page left for the next pass: {e}"
            );
        }
    }
    watch(hub, &node, config, Watched::SweptDeposits, &mut report).await;
    watch(hub, &node, config, Watched::SettledHubAddresses, &mut report).await;
    Ok(report)
}

/// Compares one page of monitored addresses with the node and settles
/// each that changed.
async fn monitor_page(
    hub: &Hub,
    node: &Client,
    config: &MonitorConfig,
    page: &[MonitoredAddress],
    report: &mut PassReport,
) -> Result<(), HubError> {
    let addresses: Vec<Address> = page.iter().map(|row| row.address).collect();
    let balances = node.get_balances(&addresses).await?;
    let quarantined = keys_spent_elsewhere(hub, node, page, &addresses).await?;
    report.quarantined += quarantined.len();
    let changed: Vec<(&MonitoredAddress, Address, Amount)> = page
        .iter()
        .zip(balances.balances.iter())
        .filter(|(row, _)| !quarantined.contains(&row.address))
        .filter_map(|(row, node_balance)| {
            let node_balance = Amount::new(*node_balance).ok()?;
            (node_balance != row.balance).then_some((row, row.address, node_balance))
        })
        .collect();
    if changed.is_empty() {
        return Ok(());
    }
    report.changed += changed.len();
    let wanted: Vec<Address> = changed.iter().map(|(_, a, _)| *a).collect();
    let mut confirmed = confirmed_bundles(node, &wanted).await?;
    if hub.node_quorum() > 1 {
        let tails: Vec<Hash> = confirmed.bundles.iter().map(|b| b.tail).collect();
        let agreed = agreed_confirmed(hub.nodes(), hub.node_quorum(), &tails).await;
        confirmed.bundles.retain(|bundle| agreed.contains(&bundle.tail));
    }
    if !confirmed.rejected.is_empty() {
        let mut tx = hub.store().begin().await?;
        for tail in &confirmed.rejected {
            tx.report_rejected_node_answer(tail, hub.now_ms()).await?;
        }
        tx.commit().await?;
        report.rejected += confirmed.rejected.len();
    }
    for (row, address, node_balance) in changed {
        match settle_address(hub, config, row, address, node_balance, &confirmed.bundles).await {
            Ok(Outcome::Credited(n)) => report.credited += n,
            Ok(Outcome::Deferred) => report.deferred += 1,
            Ok(Outcome::Quarantined) => report.quarantined += 1,
            Err(e) => {
                report.failed += 1;
                tracing::warn!(%address, "deposit monitor: address left for the next pass: {e}");
            }
        }
    }
    Ok(())
}

/// Of a page of unswept deposit addresses, quarantines (with an alert)
/// those whose key the node shows signing a bundle Hub never made: a
/// database restored from before a sweep, or the key used outside Hub.
/// One `wereAddressesSpentFrom` per page; only addresses it calls spent
/// are looked at further (on every node, signatures verified).
async fn keys_spent_elsewhere(
    hub: &Hub,
    node: &Client,
    page: &[MonitoredAddress],
    addresses: &[Address],
) -> Result<HashSet<Address>, HubError> {
    let spent = node.were_addresses_spent_from(addresses).await?;
    let keys: Vec<SigningKey> = page
        .iter()
        .zip(spent)
        .filter(|(_, spent)| *spent)
        .map(|(row, _)| SigningKey {
            address: row.address,
            seed_uuid: row.seed_uuid.clone(),
        })
        .collect();
    Ok(quarantine_foreign_spends(hub, &keys).await?.into_iter().collect())
}

/// An address of Hub's that `bundle` spends from, when `bundle` is no sweep
/// Hub recorded: Hub's own funds arriving in a bundle this database does
/// not know (its sweep was lost to a restore from an older backup, and the
/// remainder address it paid was handed out again from the pool). Such
/// funds are Hub's, never a user's deposit.
async fn unknown_hub_spend(tx: &mut hub_store::Tx, bundle: &ConfirmedBundle) -> Result<Option<Address>, HubError> {
    if tx.sweep_by_hash(&bundle.hash()).await?.is_some() {
        return Ok(None);
    }
    for input in bundle.transactions.iter().filter(|t| t.value.is_negative()) {
        if tx.is_hub_owned(&input.address).await? {
            return Ok(Some(input.address));
        }
    }
    Ok(None)
}

/// The addresses Hub expects no (more) funds on.
#[derive(Debug, Clone, Copy)]
enum Watched {
    SweptDeposits,
    SettledHubAddresses,
}

impl Watched {
    /// What the node holding more than the books is reported as.
    fn surplus(self) -> EventKind {
        match self {
            Self::SweptDeposits => EventKind::DepositLate,
            Self::SettledHubAddresses => EventKind::HubUnexpectedInbound,
        }
    }
}

/// Compares one kind of watched address with the node, a page at a time,
/// and reports each difference (more on the node: a surplus; less: a
/// shortfall, the books promising funds the chain does not hold) that
/// differs from the last one reported for that address. A page that fails
/// is counted in `report.failed` and left for the next pass.
async fn watch(hub: &Hub, node: &Client, config: &MonitorConfig, watched: Watched, report: &mut PassReport) {
    let mut after = 0;
    loop {
        let page = {
            let read = hub.store().read().await;
            match (read, watched) {
                (Ok(mut tx), Watched::SweptDeposits) => tx.swept_deposit_addresses(after, config.page_size).await,
                (Ok(mut tx), Watched::SettledHubAddresses) => tx.settled_hub_addresses(after, config.page_size).await,
                (Err(e), _) => Err(e),
            }
        };
        let page: Vec<WatchedAddress> = match page {
            Ok(page) => page,
            Err(e) => {
                report.failed += 1;
                tracing::warn!("deposit monitor: watched addresses left for the next pass: {e}");
                return;
            }
        };
        let Some(last) = page.last() else { return };
        after = last.id;
        match watch_page(hub, node, watched, &page).await {
            Ok(reported) => report.unexpected_funds_reported += reported,
            Err(e) => {
                report.failed += 1;
                tracing::warn!(
                    after_id = page[0].id,
                    "deposit monitor: watched page left for the next pass: {e}"
                );
            }
        }
    }
}

/// One page of [`watch`]; returns how many reports were made.
async fn watch_page(hub: &Hub, node: &Client, watched: Watched, page: &[WatchedAddress]) -> Result<usize, HubError> {
    let addresses: Vec<Address> = page.iter().map(|row| row.address).collect();
    let balances = node.get_balances(&addresses).await?;
    let mut reported = 0;
    for (row, node_balance) in page.iter().zip(balances.balances) {
        let Ok(on_chain) = Amount::new(node_balance) else {
            tracing::warn!(address = %row.address, node_balance, "node balance beyond the supply; ignored");
            continue;
        };
        let surplus = on_chain.checked_sub(row.balance).unwrap_or(Amount::ZERO);
        let shortfall = row.balance.checked_sub(on_chain).unwrap_or(Amount::ZERO);
        for (kind, amount) in [(watched.surplus(), surplus), (EventKind::HubShortfall, shortfall)] {
            if report_if_new(hub, kind, row, amount).await? {
                reported += 1;
                alert(kind, row, amount);
            }
        }
    }
    Ok(reported)
}

/// Records `amount` of `kind` for `row` unless it is what was last
/// recorded (nothing recorded counts as 0); `true` if recorded.
async fn report_if_new(hub: &Hub, kind: EventKind, row: &WatchedAddress, amount: Amount) -> Result<bool, HubError> {
    let last = hub
        .store()
        .read()
        .await?
        .last_reported_funds(kind, &row.address)
        .await?;
    if last.unwrap_or(Amount::ZERO) == amount {
        return Ok(false);
    }
    let mut tx = hub.store().begin().await?;
    tx.report_unexpected_funds(kind, row, amount, hub.now_ms()).await?;
    tx.commit().await?;
    Ok(true)
}

fn alert(kind: EventKind, row: &WatchedAddress, amount: Amount) {
    if amount.is_zero() {
        tracing::info!(address = %row.address, ?kind, "a difference reported earlier is gone");
        return;
    }
    match kind {
        EventKind::DepositLate => tracing::error!(
            address = %row.address, %amount,
            "ALERT: funds arrived on a swept deposit address; its key is spent, so anyone may replay \
             the sweep that spent it: move them with RecoverFunds"
        ),
        EventKind::HubShortfall => tracing::error!(
            address = %row.address, %amount,
            "ALERT: the node holds less on this Hub address than Hub's books (spent outside Hub? a database \
             restored from an older backup?)"
        ),
        _ => tracing::error!(
            address = %row.address, surplus = %amount,
            "ALERT: a Hub address holds more than Hub's books (a sweep confirmed again?); nothing credited"
        ),
    }
}

enum Outcome {
    Credited(usize),
    Deferred,
    Quarantined,
}

/// Settles one address whose node balance differs from Hub's, in its own transaction.
async fn settle_address(
    hub: &Hub,
    config: &MonitorConfig,
    row: &MonitoredAddress,
    address: Address,
    node_balance: Amount,
    bundles: &[ConfirmedBundle],
) -> Result<Outcome, HubError> {
    let mut tx = hub.store().begin().await?;
    let Some(credited_balance) = tx.lock_monitored_address(row.id).await? else {
        return Ok(Outcome::Deferred); // swept or quarantined since the page was read
    };
    let known: HashSet<Hash> = tx.credited_bundles(row.id).await?.into_iter().collect();
    let mut deposits = Vec::new();
    let mut seen: HashSet<Hash> = HashSet::new();
    for bundle in bundles {
        let hash = bundle.hash();
        if known.contains(&hash) || !seen.insert(hash) {
            continue;
        }
        let mine: Vec<_> = bundle
            .transactions
            .iter()
            .filter(|t| t.address == address && t.value.get() != 0)
            .collect();
        let refusal = if mine.iter().any(|t| t.value.get() < 0) {
            Some(format!(
                "confirmed bundle {hash} spends from this deposit address, and Hub did not make it"
            ))
        } else {
            unknown_hub_spend(&mut tx, bundle).await?.map(|from| {
                format!(
                    "confirmed bundle {hash} pays this address from Hub's own address {from}, and Hub has no \
                     record of making it (a database restored from before a sweep?); not a deposit"
                )
            })
        };
        if let Some(reason) = refusal {
            tracing::error!(address = %address, "ALERT: quarantining deposit address: {reason}");
            tx.quarantine_address(row.id, &reason, hub.now_ms()).await?;
            tx.commit().await?;
            return Ok(Outcome::Quarantined);
        }
        let Some(amount) = Amount::checked_sum(mine.iter().map(|t| t.value.magnitude())) else {
            continue; // beyond the supply: the node is lying; never credit it
        };
        if !amount.is_zero() {
            let message = mine
                .iter()
                .map(|t| &t.signature_message_fragment)
                .find(|m| config.fetch_messages && !m.is_null())
                .map(|m| m.as_str().to_string());
            deposits.push(Deposit {
                address_id: row.id,
                amount,
                tail_hash: bundle.tail,
                bundle_hash: hash,
                message,
            });
        }
    }
    let incoming = Amount::checked_sum(deposits.iter().map(|d| d.amount));
    if incoming.and_then(|incoming| credited_balance.checked_add(incoming)) != Some(node_balance) {
        tracing::warn!(
            address = %address,
            credited = %credited_balance,
            new_confirmed = ?incoming,
            node_balance = %node_balance,
            "deposit address balance not explained by confirmed bundles yet; retrying next pass"
        );
        return Ok(Outcome::Deferred);
    }
    let mut credited = 0;
    for deposit in &deposits {
        if tx.record_deposit(deposit, hub.now_ms()).await? {
            credited += 1;
            tracing::info!(address = %address, amount = %deposit.amount, tail = %deposit.tail_hash, "deposit confirmed");
        }
    }
    tx.commit().await?;
    Ok(Outcome::Credited(credited))
}
