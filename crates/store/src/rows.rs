//! Plain records read from and written to the database.

/// A user account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    /// Internal id.
    pub id: i64,
    /// The API `userId`.
    pub identifier: String,
    /// Cached available balance.
    pub balance: i64,
}

/// A deposit address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserAddressRow {
    /// Internal id.
    pub id: i64,
    /// 81 trytes.
    pub address: String,
    /// Owner's internal id.
    pub user_id: i64,
    /// Owner's `userId`.
    pub identifier: String,
    /// The seed UUID the address derives from.
    pub seed_uuid: String,
    /// Cached balance: confirmed deposits not yet swept.
    pub balance: i64,
    /// Whether a sweep emptied it.
    pub swept: bool,
    /// Set when an outgoing spend nobody expected was seen.
    pub quarantined: bool,
}

/// A deposit address the monitor watches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitoredAddress {
    /// Internal id.
    pub id: i64,
    /// 81 trytes.
    pub address: String,
    /// Credited deposits so far.
    pub balance: i64,
}

/// Reasons of `user_account_balance` rows (hub-behaviour.md §3.2).
pub mod account_reason {
    /// A deposit credited when swept.
    pub const SWEEP: i32 = 0;
    /// Credit of a transfer batch.
    pub const BUY: i32 = 1;
    /// A cancelled withdrawal returned.
    pub const WITHDRAWAL_CANCEL: i32 = 2;
    /// A withdrawal reserved.
    pub const WITHDRAWAL: i32 = 3;
    /// Debit of a transfer batch.
    pub const SELL: i32 = 4;
}

/// A row to append to the user-account ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountEntry {
    /// Internal user id.
    pub user_id: i64,
    /// Signed amount.
    pub amount: i64,
    /// One of [`account_reason`].
    pub reason: i32,
    /// Sweep id (reason SWEEP).
    pub sweep: Option<i64>,
    /// Withdrawal id (withdrawal reasons).
    pub withdrawal: Option<i64>,
}

/// A user-account ledger row with what history reports alongside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountEntryRow {
    /// `userId`.
    pub identifier: String,
    /// Signed amount.
    pub amount: i64,
    /// Database reason.
    pub reason: i32,
    /// Sweep bundle hash, if any.
    pub sweep_bundle_hash: Option<String>,
    /// Withdrawal UUID, if any.
    pub withdrawal_uuid: Option<String>,
    /// ms since the epoch.
    pub occured_at: i64,
}

/// A deposit-address ledger row with its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressEntryRow {
    /// Owner's `userId`.
    pub identifier: String,
    /// The address.
    pub address: String,
    /// Signed amount.
    pub amount: i64,
    /// 0 deposit, 1 sweep.
    pub reason: i32,
    /// Deposit tail hash.
    pub tail_hash: Option<String>,
    /// Sweep bundle hash.
    pub sweep_bundle_hash: Option<String>,
    /// Deposit message.
    pub message: Option<String>,
    /// ms since the epoch.
    pub occured_at: i64,
}

/// A Hub-address ledger row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubEntryRow {
    /// The Hub address.
    pub address: String,
    /// Signed amount.
    pub amount: i64,
    /// 0 inbound, 1 outbound.
    pub reason: i32,
    /// The sweep's bundle hash.
    pub sweep_bundle_hash: String,
    /// ms since the epoch.
    pub occured_at: i64,
}

/// A confirmed deposit to credit to an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deposit {
    /// Deposit address id.
    pub address_id: i64,
    /// Amount (positive).
    pub amount: i64,
    /// Tail of the depositing bundle.
    pub tail_hash: String,
    /// Hash of the depositing bundle.
    pub bundle_hash: String,
    /// Message of the depositing transaction, if kept.
    pub message: Option<String>,
}

/// A withdrawal request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WithdrawalRow {
    /// Internal id.
    pub id: i64,
    /// Lowercase hyphenated v4 UUID.
    pub uuid: String,
    /// Internal user id.
    pub user_id: i64,
    /// Tokens (positive).
    pub amount: i64,
    /// Where they go (81 trytes).
    pub payout_address: String,
    /// 27-tryte tag.
    pub tag: String,
    /// The sweep paying it, once swept.
    pub sweep: Option<i64>,
    /// When requested, ms.
    pub requested_at: i64,
    /// When cancelled, ms.
    pub cancelled_at: Option<i64>,
    /// The client's idempotency key, if given.
    pub idempotency_key: Option<String>,
}

/// A withdrawal to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWithdrawal<'a> {
    /// Lowercase hyphenated v4 UUID.
    pub uuid: &'a str,
    /// Internal user id.
    pub user_id: i64,
    /// Tokens (positive).
    pub amount: i64,
    /// 81 trytes.
    pub payout_address: &'a str,
    /// 27 trytes.
    pub tag: &'a str,
    /// The client's idempotency key.
    pub idempotency_key: Option<&'a str>,
}

/// A deposit address a sweep may empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FundedAddress {
    /// Internal id.
    pub id: i64,
    /// 81 trytes.
    pub address: String,
    /// Its seed UUID.
    pub seed_uuid: String,
    /// Confirmed, unswept balance.
    pub balance: i64,
    /// Owner's internal id.
    pub user_id: i64,
}

/// A sweep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepRow {
    /// Internal id.
    pub id: i64,
    /// Bundle hash.
    pub bundle_hash: String,
    /// Transactions in index order, concatenated (signed once `state` is `signed`).
    pub trytes: String,
    /// `planned`, `signed` or `confirmed`.
    pub state: String,
    /// When planned, ms.
    pub created_at: i64,
}

/// A recorded attachment (tail) of a sweep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TailRow {
    /// Tail transaction hash.
    pub hash: String,
    /// Whether it is the confirmed one.
    pub confirmed: bool,
    /// When recorded, ms.
    pub created_at: i64,
}

/// A Hub-owned (internal) address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubAddressRow {
    /// Internal id.
    pub id: i64,
    /// 81 trytes.
    pub address: String,
    /// Its seed UUID; `None` while exported to cold storage.
    pub seed_uuid: Option<String>,
    /// Excluded from sweeps.
    pub cold: bool,
    /// Cached balance.
    pub balance: i64,
}
