//! Records read from and written to the database, in protocol types.
//!
//! Each row is parsed once, in its row mapper (see `sql::Columns`): an
//! address is an [`Address`], a hash a [`Hash`], money an [`Amount`] or a
//! signed [`Value`], a code one of the enums of `codes`. Nothing above the
//! store re-parses a stored string.

use hub_protocol::{Address, Amount, Hash, SeedUuid, Tag, Value};

use crate::codes::{AccountReason, AddressReason, HubAddressReason, Scope, SweepState};

/// A user account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    /// Internal id.
    pub id: i64,
    /// The API `userId`.
    pub identifier: String,
    /// Cached available balance.
    pub balance: Amount,
}

/// A deposit address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserAddressRow {
    /// Internal id.
    pub id: i64,
    /// The address.
    pub address: Address,
    /// Owner's internal id.
    pub user_id: i64,
    /// Owner's `userId`.
    pub identifier: String,
    /// The seed UUID the address derives from.
    pub seed_uuid: SeedUuid,
    /// Cached balance: confirmed deposits not yet swept.
    pub balance: Amount,
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
    /// The address.
    pub address: Address,
    /// Its key (the monitor asks the node what the key signed).
    pub seed_uuid: SeedUuid,
    /// Credited deposits so far.
    pub balance: Amount,
}

/// An address Hub expects no funds on, as the monitor compares it with the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchedAddress {
    /// Internal id (of `user_address` or `hub_address`).
    pub id: i64,
    /// The address.
    pub address: Address,
    /// What Hub's books say it holds (0 for a swept deposit address).
    pub balance: Amount,
    /// The owner of a deposit address; `None` for a Hub address.
    pub user_id: Option<i64>,
}

/// A row to append to the user-account ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountEntry {
    /// Internal user id.
    pub user_id: i64,
    /// Signed amount.
    pub amount: Value,
    /// Why.
    pub reason: AccountReason,
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
    pub amount: Value,
    /// Why.
    pub reason: AccountReason,
    /// Sweep bundle hash, if any.
    pub sweep_bundle_hash: Option<Hash>,
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
    pub address: Address,
    /// Signed amount.
    pub amount: Value,
    /// Why.
    pub reason: AddressReason,
    /// Deposit tail hash.
    pub tail_hash: Option<Hash>,
    /// Sweep bundle hash.
    pub sweep_bundle_hash: Option<Hash>,
    /// Deposit message.
    pub message: Option<String>,
    /// ms since the epoch.
    pub occured_at: i64,
}

/// A Hub-address ledger row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubEntryRow {
    /// The Hub address.
    pub address: Address,
    /// Signed amount.
    pub amount: Value,
    /// Why.
    pub reason: HubAddressReason,
    /// The sweep's bundle hash.
    pub sweep_bundle_hash: Hash,
    /// ms since the epoch.
    pub occured_at: i64,
}

/// A confirmed deposit to credit to an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deposit {
    /// Deposit address id.
    pub address_id: i64,
    /// Amount (positive).
    pub amount: Amount,
    /// Tail of the depositing bundle.
    pub tail_hash: Hash,
    /// Hash of the depositing bundle.
    pub bundle_hash: Hash,
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
    pub amount: Amount,
    /// Where they go.
    pub payout_address: Address,
    /// Tag of the payout transaction.
    pub tag: Tag,
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
    pub amount: Amount,
    /// Where they go.
    pub payout_address: Address,
    /// Tag of the payout transaction.
    pub tag: Tag,
    /// The client's idempotency key.
    pub idempotency_key: Option<&'a str>,
}

/// An address a sweep may empty: a deposit address (with its owner) or a Hub address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FundedAddress {
    /// Internal id (of `user_address` or `hub_address`).
    pub id: i64,
    /// The address.
    pub address: Address,
    /// Its seed UUID.
    pub seed_uuid: SeedUuid,
    /// Confirmed, unswept balance.
    pub balance: Amount,
    /// Owner's internal id; `None` for a Hub address.
    pub user_id: Option<i64>,
}

/// A sweep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepRow {
    /// Internal id.
    pub id: i64,
    /// Bundle hash.
    pub bundle_hash: Hash,
    /// Transactions in index order, concatenated (signed once `state` is `Signed`).
    pub trytes: String,
    /// Where it is in its life.
    pub state: SweepState,
    /// When planned, ms.
    pub created_at: i64,
}

/// A recorded attachment (tail) of a sweep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TailRow {
    /// Tail transaction hash.
    pub hash: Hash,
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
    /// The address.
    pub address: Address,
    /// Its seed UUID; `None` while exported to cold storage.
    pub seed_uuid: Option<SeedUuid>,
    /// Excluded from sweeps.
    pub cold: bool,
    /// Cached balance.
    pub balance: Amount,
}

/// An input of a sweep, for signing: the key and the address it spends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepInput {
    /// The key's seed UUID.
    pub seed_uuid: SeedUuid,
    /// The address it spends.
    pub address: Address,
    /// The address is quarantined: its key must not sign.
    pub quarantined: bool,
}

/// One of a sweep's rows in the Hub-address ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepEntry {
    /// The Hub address's internal id.
    pub hub_address: i64,
    /// Signed amount: an input's debit, the remainder's credit.
    pub amount: Value,
    /// OUTBOUND (an input) or INBOUND (the remainder).
    pub reason: HubAddressReason,
}

/// A deposit address a sweep emptied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweptDeposit {
    /// Internal id of the `user_address`.
    pub id: i64,
    /// The address.
    pub address: Address,
    /// Its key.
    pub seed_uuid: SeedUuid,
    /// Owner's internal id (credited when the sweep was planned).
    pub user_id: i64,
    /// What the sweep took from it.
    pub amount: Amount,
    /// The address is quarantined.
    pub quarantined: bool,
}

/// A seed UUID with the address it derives (for the start-up check and the pool).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DerivedAddress {
    /// The seed UUID.
    pub seed_uuid: SeedUuid,
    /// The address at index 0 of its seed.
    pub address: Address,
}

/// An event-log row (for tests and reports).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    /// The user it concerns.
    pub user_id: Option<i64>,
    /// The address it concerns.
    pub address: Option<String>,
    /// Signed amount (0 when none).
    pub amount: i64,
    /// A hash it refers to.
    pub reference: Option<String>,
}

/// An event of the feed, as stored (`Tx::feed`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedRow {
    /// Its id: ids increase in commit order.
    pub id: i64,
    /// What happened.
    pub kind: crate::EventKind,
    /// When, ms since the epoch.
    pub occurred_at: i64,
    /// The user it concerns (their identifier).
    pub user: Option<String>,
    /// The address it concerns.
    pub address: Option<String>,
    /// Signed amount (0 when none).
    pub amount: i64,
    /// What it refers to ([`EventKind::reference_name`] says what).
    pub reference: Option<String>,
    /// Details beyond the columns, a JSON object.
    pub data: Option<String>,
}

/// How an API caller proves who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential<'a> {
    /// A bearer token, by the hex SHA-256 of the token (never the token).
    TokenHash(&'a str),
    /// A client certificate, by its subject CN.
    ClientCn(&'a str),
}

/// An API token or client-certificate mapping to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTokenRow<'a> {
    /// Its name (what the audit trail records).
    pub name: &'a str,
    /// How its caller proves who it is.
    pub credential: Credential<'a>,
    /// What it may do (at least one, no duplicates).
    pub scopes: &'a [Scope],
    /// When it stops working, ms; `None`: never.
    pub expires_at: Option<i64>,
}

/// An API token or client-certificate mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRow {
    /// Internal id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Hex SHA-256 of the bearer token; `None` for a certificate mapping.
    pub token_hash: Option<String>,
    /// The client certificate's CN; `None` for a bearer token.
    pub client_cn: Option<String>,
    /// What it may do.
    pub scopes: Vec<Scope>,
    /// When created, ms.
    pub created_at: i64,
    /// When it stops working, ms.
    pub expires_at: Option<i64>,
    /// When it was last used (written at most about once a minute), ms.
    pub last_used_at: Option<i64>,
    /// When revoked, ms.
    pub revoked_at: Option<i64>,
}

/// An event made on behalf of an actor (the audit trail).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    /// ms since the epoch.
    pub occurred_at: i64,
    /// Who: a token name, or `admin-cli`.
    pub actor: String,
    /// The event kind as stored (`call`, `token_created`, `buy`, …).
    pub kind: String,
    /// The `userId` of the user it concerns.
    pub identifier: Option<String>,
    /// The address it concerns.
    pub address: Option<String>,
    /// Signed amount (0 when none).
    pub amount: i64,
    /// What it refers to: a hash, a token name, a command.
    pub reference: Option<String>,
}

/// A webhook endpoint to register.
#[derive(Debug, Clone, Copy)]
pub struct NewWebhook<'a> {
    /// Where deliveries are POSTed.
    pub url: &'a str,
    /// The event types it receives (all when empty).
    pub types: &'a [String],
    /// The operator's note.
    pub description: &'a str,
    /// The signing secret (`whsec_…`).
    pub secret: &'a str,
}

/// A webhook endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRow {
    /// Its id.
    pub id: i64,
    /// Where deliveries are POSTed.
    pub url: String,
    /// The event types it receives (all when empty).
    pub types: Vec<String>,
    /// The operator's note.
    pub description: String,
    /// The signing secret (`whsec_…`): never shown after creation.
    pub secret: String,
    /// The last event id it acknowledged.
    pub cursor: i64,
    /// Failed attempts in a row.
    pub attempts: i64,
    /// When the current run of failures began.
    pub failing_since: Option<i64>,
    /// No attempt before this (ms since the epoch).
    pub next_attempt_at: i64,
    /// When it was registered.
    pub created_at: i64,
    /// When it was disabled, having failed too long.
    pub disabled_at: Option<i64>,
    /// Why.
    pub disabled_reason: Option<String>,
}

/// One delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRow {
    /// Its id (the cursor of the delivery log).
    pub id: i64,
    /// The event sent.
    pub event_id: i64,
    /// 1 for the first attempt of this event, 2 for its first retry, …
    pub attempt: i64,
    /// The HTTP status, if the endpoint answered.
    pub status_code: Option<i64>,
    /// Why it failed, if it did.
    pub error: Option<String>,
    /// How long it took.
    pub duration_ms: i64,
    /// When.
    pub attempted_at: i64,
    /// When the next attempt is due, if this one failed.
    pub next_retry_at: Option<i64>,
}

/// What the REST API answered to an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerRow {
    /// SHA-256 (hex) of the request body it answered.
    pub request_hash: String,
    /// Its HTTP status.
    pub status: i64,
    /// Its `Content-Type`.
    pub content_type: String,
    /// Its body.
    pub body: String,
}
