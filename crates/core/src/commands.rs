//! The commands of the API, each one database transaction around its checks
//! and writes (hub-behaviour.md §2.3, with its [BUG]s fixed).

use std::collections::BTreeMap;
use std::sync::Arc;

use hub_protocol::address::ChecksumPolicy;
use hub_protocol::{Address, Value};
use hub_store::{AccountEntry, AccountEntryRow, AddressEntryRow, HubEntryRow};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::model::*;
use crate::pool::derive_address;
use crate::{invariant, Hub, HubError};

/// Longest user id (the `identifier` column is VARCHAR(64)).
pub const MAX_USER_ID_CHARS: usize = 64;
/// Most entries one transfer batch may hold.
pub const MAX_BATCH_TRANSFERS: usize = 10_000;

fn check_new_user_id(user_id: &str) -> Result<(), HubError> {
    let rule = if user_id.is_empty() {
        Some("must not be empty".to_string())
    } else if user_id.chars().count() > MAX_USER_ID_CHARS {
        Some(format!("must be at most {MAX_USER_ID_CHARS} characters"))
    } else if user_id.chars().any(char::is_control) {
        Some("must not contain control characters".to_string())
    } else {
        None
    };
    match rule {
        Some(rule) => Err(HubError::InvalidArgument {
            field: "userId",
            rule: format!("userId {rule}"),
        }),
        None => Ok(()),
    }
}

fn timestamp(ms: i64) -> u64 {
    u64::try_from(ms).unwrap_or(0)
}

fn since(newer_than_ms: u64) -> i64 {
    i64::try_from(newer_than_ms).unwrap_or(i64::MAX)
}

pub(crate) fn account_event(row: AccountEntryRow) -> AccountEvent {
    let kind = row.reason;
    let hash_if = |wanted: bool| match (&row.sweep_bundle_hash, wanted) {
        (Some(hash), true) => hash.to_string(),
        _ => String::new(),
    };
    let sweep_bundle_hash = hash_if(kind == AccountReason::Sweep);
    let withdrawal_uuid = if matches!(kind, AccountReason::Withdrawal | AccountReason::WithdrawalCancel) {
        row.withdrawal_uuid.unwrap_or_default()
    } else {
        String::new()
    };
    AccountEvent {
        user_id: row.identifier,
        timestamp_ms: timestamp(row.occured_at),
        kind,
        amount: row.amount.get(),
        sweep_bundle_hash,
        withdrawal_uuid,
    }
}

fn address_event(row: AddressEntryRow) -> AddressEvent {
    let hash = match row.reason {
        AddressReason::Deposit => row.tail_hash,
        AddressReason::Sweep => row.sweep_bundle_hash,
    };
    AddressEvent {
        user_id: row.identifier,
        address: row.address.to_string(),
        amount: row.amount.get(),
        reason: row.reason,
        hash: hash.map(|h| h.to_string()).unwrap_or_default(),
        timestamp_ms: timestamp(row.occured_at),
        message: row.message.unwrap_or_default(),
    }
}

fn hub_address_event(row: HubEntryRow) -> HubAddressEvent {
    HubAddressEvent {
        hub_address: row.address.to_string(),
        amount: row.amount.get(),
        reason: row.reason,
        sweep_bundle_hash: row.sweep_bundle_hash.to_string(),
        timestamp_ms: timestamp(row.occured_at),
    }
}

/// Parses an address the way UserWithdraw and WasAddressSpentFrom do
/// (hub-behaviour.md §4.7–4.8): with `validate_checksum` exactly 90 trytes
/// with the right checksum, else exactly 81; then the last trit must be 0.
pub(crate) fn parse_payout_address(
    field: &'static str,
    text: &str,
    validate_checksum: bool,
) -> Result<Address, HubError> {
    let address = if validate_checksum {
        Address::parse(text, ChecksumPolicy::Required)
            .map_err(|e| HubError::InvalidChecksum(e.for_field(field).to_string()))?
    } else {
        Address::parse(text, ChecksumPolicy::Without).map_err(|e| HubError::argument(field, e))?
    };
    if !address.last_trit_is_zero() {
        return Err(HubError::InvalidAddress(format!(
            "{field}: the last trit must be zero (last tryte one of 9ABCDWXYZ)"
        )));
    }
    Ok(address)
}

/// The bound on GetDepositAddress calls deriving on demand. Each one that
/// waits holds a request open and, once deriving, an Argon2 memory; without
/// a bound a burst against an empty pool queues without limit. A call
/// that finds every slot taken is refused at once, before it writes.
pub(crate) struct DerivationQueue {
    slots: Arc<Semaphore>,
    max: usize,
}

impl DerivationQueue {
    /// `max` slots (at most [`Semaphore::MAX_PERMITS`], which no deployment nears).
    pub(crate) fn new(max: usize) -> Self {
        let max = max.min(Semaphore::MAX_PERMITS);
        Self {
            slots: Arc::new(Semaphore::new(max)),
            max,
        }
    }

    /// A slot, held until the derived address is stored, or `Overloaded`.
    fn enter(&self) -> Result<OwnedSemaphorePermit, HubError> {
        self.slots.clone().try_acquire_owned().map_err(|_| {
            HubError::Overloaded(format!(
                "the address pool is empty and {} deposit-address derivations are already queued; retry later",
                self.max
            ))
        })
    }
}

impl Hub {
    /// How many GetDepositAddress calls may wait for or run an on-demand
    /// derivation at once unless [`Hub::with_deposit_derivation_queue`] says otherwise.
    pub const DEPOSIT_DERIVATION_QUEUE_MAX_DEFAULT: usize = 32;

    /// `CreateUser`.
    pub async fn create_user(&self, user_id: &str) -> Result<(), HubError> {
        check_new_user_id(user_id)?;
        let mut tx = self.store.begin().await?;
        if tx.insert_user(user_id, self.now_ms()).await?.is_none() {
            return Err(HubError::UserExists);
        }
        Ok(tx.commit().await?)
    }

    /// `GetBalance`.
    pub async fn get_balance(&self, user_id: &str) -> Result<Balance, HubError> {
        let mut tx = self.store.read().await?;
        let user = tx.user(user_id).await?.ok_or(HubError::UserDoesNotExist)?;
        let pending_deposit = tx.pending_deposits(user.id).await?;
        Ok(Balance {
            available: user.balance.as_i64(),
            pending_deposit: pending_deposit.as_i64(),
        })
    }

    /// `GetDepositAddress`: a new address (90 trytes with checksum if asked).
    /// Takes a pre-derived address from the pool in the same transaction
    /// that assigns it; derives one only if the pool is empty, and only if
    /// fewer than the queue's maximum are already deriving or waiting to
    /// (else `Overloaded`, with nothing written).
    pub async fn get_deposit_address(&self, user_id: &str, include_checksum: bool) -> Result<String, HubError> {
        let mut tx = self.store.begin().await?;
        let user = tx.user(user_id).await?.ok_or(HubError::UserDoesNotExist)?;
        let address = match tx.take_pooled_address().await? {
            Some(pooled) => {
                tx.insert_user_address(user.id, &pooled.address, &pooled.seed_uuid, self.now_ms())
                    .await?;
                tx.commit().await?;
                pooled.address
            }
            None => {
                // Do not hold the write lock through Argon2.
                drop(tx);
                let _slot = self.deposit_derivations.enter()?;
                let (uuid, address) = derive_address(self)
                    .await
                    .map_err(|e| HubError::GetAddressFailed(e.to_string()))?;
                let mut tx = self.store.begin().await?;
                let user = tx.user(user_id).await?.ok_or(HubError::UserDoesNotExist)?;
                tx.insert_user_address(user.id, &address, &uuid, self.now_ms()).await?;
                tx.commit().await?;
                address
            }
        };
        Ok(if include_checksum {
            address.with_checksum()
        } else {
            address.to_string()
        })
    }

    /// `GetUserHistory`: the user's account ledger rows at or after
    /// `newer_than_ms`, oldest first, read [`LEGACY_PAGE_ROWS`] at a time
    /// in one snapshot.
    pub async fn get_user_history(&self, user_id: &str, newer_than_ms: u64) -> Result<Vec<AccountEvent>, HubError> {
        let mut tx = self.store.read().await?;
        let user = tx.user(user_id).await?.ok_or(HubError::UserDoesNotExist)?;
        let mut events = Vec::new();
        let mut after = 0;
        loop {
            let page = tx
                .account_history(user.id, since(newer_than_ms), after, LEGACY_PAGE_ROWS)
                .await?;
            let full = page.len() >= LEGACY_PAGE_ROWS as usize;
            for (id, row) in page {
                after = id;
                events.push(account_event(row));
            }
            if !full {
                return Ok(events);
            }
        }
    }

    /// `ProcessTransferBatch`: checks, in the original's order, that every
    /// user exists, no amount is zero, the amounts sum to zero and no
    /// balance goes negative; then writes one BUY or SELL row per entry
    /// and logs the batch (`transfer_batch.processed`). The
    /// users' rows stay locked from the check to the commit.
    ///
    /// Without an idempotency key; see [`Hub::process_transfer_batch_keyed`].
    pub async fn process_transfer_batch(&self, transfers: &[Transfer]) -> Result<(), HubError> {
        self.process_transfer_batch_keyed(transfers, None).await
    }

    /// `ProcessTransferBatch` with an optional idempotency key: the key is
    /// claimed in the transaction that settles the batch:
    /// a retry with the same key and the same transfers (in order) succeeds
    /// without settling anything again, also when both arrive at once; the
    /// same key with other transfers is refused. A batch that fails leaves
    /// its key unused.
    pub async fn process_transfer_batch_keyed(
        &self,
        transfers: &[Transfer],
        idempotency_key: Option<&str>,
    ) -> Result<(), HubError> {
        if let Some(key) = idempotency_key {
            crate::check_idempotency_key(key)?;
        }
        if transfers.is_empty() {
            return Ok(());
        }
        if transfers.len() > MAX_BATCH_TRANSFERS {
            return Err(HubError::InvalidArgument {
                field: "transfers",
                rule: format!(
                    "transfers may hold at most {MAX_BATCH_TRANSFERS} entries, got {}",
                    transfers.len()
                ),
            });
        }
        let mut identifiers: Vec<String> = transfers.iter().map(|t| t.user_id.clone()).collect();
        identifiers.sort();
        identifiers.dedup();
        let mut tx = self.store.begin().await?;
        if let Some(key) = idempotency_key {
            let request_hash = batch_hash(transfers);
            if let Some(first) = tx
                .claim_batch_key(key, &request_hash, transfers.len(), self.now_ms())
                .await?
            {
                return if first == request_hash {
                    Ok(())
                } else {
                    Err(HubError::IdempotencyKeyReused("a different transfer batch".into()))
                };
            }
        }
        let users = tx.lock_users(&identifiers).await?;
        if users.len() != identifiers.len() {
            return Err(HubError::UserDoesNotExist);
        }
        if let Some(zero) = transfers.iter().find(|t| t.amount == 0) {
            return Err(HubError::BatchInvalid(format!(
                "the transfer for user {:?} is zero",
                zero.user_id
            )));
        }
        let sum: i128 = transfers.iter().map(|t| i128::from(t.amount)).sum();
        if sum != 0 {
            return Err(HubError::BatchAmountNotZero);
        }
        let by_identifier: BTreeMap<&str, &hub_store::UserRow> =
            users.iter().map(|u| (u.identifier.as_str(), u)).collect();
        let mut entries = Vec::with_capacity(transfers.len());
        for t in transfers {
            let amount =
                Value::new(t.amount).map_err(|e| HubError::BatchInconsistent(e.for_field("amount").to_string()))?;
            entries.push(AccountEntry {
                user_id: by_identifier[t.user_id.as_str()].id,
                amount,
                reason: if amount.is_negative() {
                    AccountReason::Sell
                } else {
                    AccountReason::Buy
                },
                sweep: None,
                withdrawal: None,
            });
        }
        let mut net: BTreeMap<&str, i128> = BTreeMap::new();
        for t in transfers {
            *net.entry(t.user_id.as_str()).or_default() += i128::from(t.amount);
        }
        for (identifier, change) in &net {
            let balance = i128::from(by_identifier[identifier].balance.as_i64());
            if balance + change < 0 {
                return Err(HubError::BatchInconsistent(format!(
                    "user {identifier:?} would be overdrawn"
                )));
            }
            if balance + change > i128::from(hub_protocol::SUPPLY) {
                return Err(HubError::BatchInconsistent(format!(
                    "user {identifier:?} would exceed the total supply"
                )));
            }
        }
        let entries_sum: i128 = entries.iter().map(|e| i128::from(e.amount.get())).sum();
        invariant!(
            entries_sum == 0,
            "a transfer batch's ledger rows sum to {entries_sum}, not 0"
        );
        let credits: i64 = entries.iter().map(|e| e.amount.get().max(0)).sum();
        let volume = hub_protocol::Amount::from_i64(credits)
            .map_err(|e| HubError::BatchInconsistent(e.for_field("amount").to_string()))?;
        let now = self.now_ms();
        tx.add_account_entries(&entries, now).await?;
        tx.log_transfer_batch(transfers.len(), volume, idempotency_key, now)
            .await?;
        Ok(tx.commit().await?)
    }

    /// `GetStats`: Σ of all users' available balances.
    pub async fn get_stats(&self) -> Result<Stats, HubError> {
        let total = self.store.read().await?.total_balance().await?;
        Ok(Stats {
            total_balance: total.get(),
        })
    }

    /// `GetAddressInfo`: the owner of a deposit address (81 trytes). Hub
    /// addresses and unknown addresses are UNKNOWN_ADDRESS.
    pub async fn get_address_info(&self, address: &str) -> Result<String, HubError> {
        let address = Address::parse(address, ChecksumPolicy::Without).map_err(|e| HubError::argument("address", e))?;
        let mut tx = self.store.read().await?;
        match tx.user_address(&address).await? {
            Some(row) => Ok(row.identifier),
            None => Err(HubError::UnknownAddress),
        }
    }

    /// `WasAddressSpentFrom`: asks the node, over both APIs (the original's
    /// gRPC handler always said false).
    pub async fn was_address_spent_from(&self, address: &str, validate_checksum: bool) -> Result<bool, HubError> {
        let address = parse_payout_address("address", address, validate_checksum)?;
        self.node_says_spent(address).await
    }

    /// `wereAddressesSpentFrom` for one address, asked of every node: spent
    /// if any says so (a node that missed the spend cannot outvote one
    /// that saw it); unavailable only if none answered.
    pub(crate) async fn node_says_spent(&self, address: Address) -> Result<bool, HubError> {
        let mut answered = false;
        let mut failure = String::new();
        for node in self.nodes() {
            match node.were_addresses_spent_from(&[address]).await {
                Ok(states) if states.first() == Some(&true) => return Ok(true),
                Ok(states) if states.len() == 1 => answered = true,
                Ok(_) => failure = "an answer to wereAddressesSpentFrom of the wrong length".into(),
                Err(e) => failure = e.to_string(),
            }
        }
        if answered {
            Ok(false)
        } else {
            Err(HubError::IotaNodeUnavailable(failure))
        }
    }

    /// Refuses a payout address the node says was spent from.
    pub(crate) async fn ensure_unspent(&self, payout: Address) -> Result<(), HubError> {
        match self.node_says_spent(payout).await? {
            true => Err(HubError::AddressWasSpent),
            false => Ok(()),
        }
    }

    /// `BalanceSubscription`: account events (deposits credited,
    /// withdrawals, cancellations: no buys or sells, as the original), then
    /// address events, then Hub-address events, each group at or after
    /// `newer_than_ms` in time order.
    pub async fn balance_subscription(&self, newer_than_ms: u64) -> Result<Vec<BalanceEvent>, HubError> {
        let newer_than = since(newer_than_ms);
        let mut tx = self.store.read().await?;
        let reasons = [
            AccountReason::Sweep,
            AccountReason::Withdrawal,
            AccountReason::WithdrawalCancel,
        ];
        let mut events = Vec::new();
        let mut after = (i64::MIN, 0);
        loop {
            let page = tx.account_events(newer_than, &reasons, after, LEGACY_PAGE_ROWS).await?;
            let full = page.len() >= LEGACY_PAGE_ROWS as usize;
            for (position, row) in page {
                after = position;
                events.push(BalanceEvent::UserAccount(account_event(row)));
            }
            if !full {
                break;
            }
        }
        let mut after = (i64::MIN, 0);
        loop {
            let page = tx.address_events(newer_than, after, LEGACY_PAGE_ROWS).await?;
            let full = page.len() >= LEGACY_PAGE_ROWS as usize;
            for (position, row) in page {
                after = position;
                events.push(BalanceEvent::UserAddress(address_event(row)));
            }
            if !full {
                break;
            }
        }
        let mut after = 0;
        loop {
            let page = tx.hub_events(newer_than, after, LEGACY_PAGE_ROWS).await?;
            let full = page.len() >= LEGACY_PAGE_ROWS as usize;
            for (id, row) in page {
                after = id;
                events.push(BalanceEvent::HubAddress(hub_address_event(row)));
            }
            if !full {
                return Ok(events);
            }
        }
    }
}

/// Rows one query of a legacy subscription or history reads: every query
/// is bounded, however long the ledgers grow.
pub(crate) const LEGACY_PAGE_ROWS: i64 = 1000;

/// The SHA-256 (hex) of a transfer batch's entries, in order: what an
/// idempotency key is bound to.
fn batch_hash(transfers: &[Transfer]) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for t in transfers {
        hasher.update(t.user_id.as_bytes());
        hasher.update([0]);
        hasher.update(t.amount.to_le_bytes());
    }
    hex::encode(hasher.finalize())
}
