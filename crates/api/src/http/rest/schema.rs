//! The REST API's bodies, one type each, named once: serde reads and writes
//! them, and the OpenAPI document describes them from the same types
//! (`openapi`), so the document cannot drift from what is served.
//! Field names are camelCase as in the original's HTTP API; amounts are
//! JSON integers; times are ms since the epoch unless named `timestamp`
//! (RFC 3339).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An RFC 9457 problem: why a call failed.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// Always `about:blank`: the status and `code` say what it is.
    #[serde(rename = "type")]
    pub kind: String,
    /// The status's reason phrase.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// The original's error code name (`USER_DOES_NOT_EXIST`, …), or
    /// `UNAUTHENTICATED`, `PERMISSION_DENIED`, `RATE_LIMITED`, `UNAVAILABLE`,
    /// `IDEMPOTENCY_KEY_REUSED`.
    pub code: String,
    /// What is wrong, naming the rule.
    pub detail: String,
    /// The field at fault, if one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// One event of the feed.
#[derive(Debug, Serialize, ToSchema)]
pub struct Event {
    /// Increases in commit order; not contiguous.
    pub id: u64,
    /// What happened (`deposit.credited`, …).
    #[serde(rename = "type")]
    pub event_type: String,
    /// When, RFC 3339 in UTC.
    pub timestamp: String,
    /// What it concerns: `userId`, `address`, `amount`, its reference
    /// (`bundleHash`, `uuid`, `tail`, …) and the type's details.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

/// A page of the feed.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventPage {
    /// Oldest first.
    pub events: Vec<Event>,
    /// The `after` of the next page (the last id here, or the `after` asked).
    pub next: u64,
}

/// A webhook endpoint to register.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// Where deliveries are POSTed (http or https; a public address unless
    /// Hub runs with `--webhook-allow-private`).
    pub url: String,
    /// The event types it receives; all when absent or empty.
    #[serde(default)]
    pub types: Vec<String>,
    /// A note for operators (at most 256 characters).
    #[serde(default)]
    pub description: String,
}

/// Why a webhook endpoint was disabled.
#[derive(Debug, Serialize, ToSchema)]
pub struct Disabled {
    /// When (ms).
    pub at: i64,
    /// Why.
    pub why: String,
}

/// A webhook endpoint.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Webhook {
    /// Its id.
    pub id: i64,
    /// Where deliveries are POSTed.
    pub url: String,
    /// The event types it receives (all when empty).
    pub types: Vec<String>,
    /// The operator's note.
    pub description: String,
    /// The last event id it acknowledged.
    pub acknowledged: i64,
    /// Failed attempts in a row.
    pub failures: i64,
    /// When the current run of failures began (ms).
    pub failing_since: Option<i64>,
    /// When the next attempt is due (ms; 0: as soon as there is an event).
    pub next_attempt: i64,
    /// When it was registered (ms).
    pub created: i64,
    /// Set once it failed too long; `redeliver` enables it again.
    pub disabled: Option<Disabled>,
    /// The signing secret (`whsec_…`): in the answer to its creation only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// The webhook endpoints.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookList {
    /// By id.
    pub webhooks: Vec<Webhook>,
}

/// One delivery attempt.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    /// Its id (the cursor of the log).
    pub id: i64,
    /// The event sent.
    pub event_id: i64,
    /// 1 for the event's first attempt, 2 for its first retry, …
    pub attempt: i64,
    /// The HTTP status, if the endpoint answered.
    pub status_code: Option<i64>,
    /// Why it failed, if it did.
    pub error: Option<String>,
    /// How long it took.
    pub duration_ms: i64,
    /// When (ms).
    pub attempted_at: i64,
    /// When the next attempt is due (ms), if this one failed.
    pub next_retry_at: Option<i64>,
}

/// A page of the delivery log.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryPage {
    /// Newest first.
    pub deliveries: Vec<Delivery>,
    /// The `before` of the next page; `null` after the last.
    pub next: Option<i64>,
}

/// Which events to deliver again.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Redeliver {
    /// The events after this id are sent again, in order.
    pub after: u64,
}

/// A user to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewUser {
    /// The exchange's id for the user (1 to 64 printable characters).
    pub user_id: String,
}

/// A user and their balances.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// The exchange's id for the user.
    pub user_id: String,
    /// What they may withdraw or trade.
    pub available: i64,
    /// Confirmed deposits not swept yet.
    pub pending_deposit: i64,
}

/// Options of a new deposit address.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewDepositAddress {
    /// Add the 9-tryte checksum (90 trytes instead of 81).
    #[serde(default)]
    pub include_checksum: bool,
}

/// A new deposit address.
#[derive(Debug, Serialize, ToSchema)]
pub struct DepositAddress {
    /// Pay deposits here; use it once.
    pub address: String,
}

/// A row of a user's account ledger.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    /// When (ms).
    pub timestamp_ms: u64,
    /// DEPOSIT, BUY, SELL, WITHDRAWAL or WITHDRAWAL_CANCELED.
    pub reason: String,
    /// The signed change.
    pub amount: i64,
    /// The sweep that credited a deposit.
    pub sweep_bundle_hash: Option<String>,
    /// The withdrawal reserved or given back.
    pub withdrawal_uuid: Option<String>,
}

/// A page of a user's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryPage {
    /// Oldest first.
    pub entries: Vec<HistoryEntry>,
    /// The `cursor` of the next page; `null` after the last.
    pub next: Option<i64>,
}

/// One transfer of a batch.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TransferEntry {
    /// Whose balance changes.
    pub user_id: String,
    /// The signed change (never 0).
    pub amount: i64,
}

/// A batch of transfers between users that sums to zero.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferBatch {
    /// At most 10 000, settled together or not at all.
    pub transfers: Vec<TransferEntry>,
}

/// A settled batch.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchSettled {
    /// How many transfers it held.
    pub transfers: usize,
}

/// A withdrawal to request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewWithdrawal {
    /// Whose balance pays it.
    pub user_id: String,
    /// Where it is paid (81 trytes, or 90 with the checksum).
    pub payout_address: String,
    /// How much (at least 1).
    pub amount: u64,
    /// The payout transaction's tag (up to 27 trytes).
    #[serde(default)]
    pub tag: String,
    /// Check the address's checksum (it must then carry one).
    #[serde(default)]
    pub validate_checksum: bool,
}

/// A withdrawal and where it is.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Withdrawal {
    /// Its UUID.
    pub uuid: String,
    /// The user who asked for it.
    pub user_id: String,
    /// How much.
    pub amount: u64,
    /// Where it is paid.
    pub payout_address: String,
    /// The payout transaction's tag.
    pub tag: String,
    /// `requested`, `cancelled`, `swept` or `confirmed`.
    pub status: String,
    /// When it was requested (ms).
    pub requested_at: i64,
    /// When it was cancelled (ms).
    pub cancelled_at: Option<i64>,
    /// The bundle hash of the sweep paying it.
    pub sweep_bundle_hash: Option<String>,
    /// The tail through which that sweep confirmed.
    pub confirmed_tail: Option<String>,
}

/// A sweep.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Sweep {
    /// Its bundle hash.
    pub bundle_hash: String,
    /// When it was planned (ms).
    pub timestamp_ms: u64,
    /// The withdrawals it pays.
    pub withdrawal_uuids: Vec<String>,
}

/// A page of sweeps.
#[derive(Debug, Serialize, ToSchema)]
pub struct SweepPage {
    /// Oldest first.
    pub sweeps: Vec<Sweep>,
    /// The `cursor` of the next page; `null` after the last.
    pub next: Option<i64>,
}

/// A sweep's bundle and attachments.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SweepDetail {
    /// Its bundle hash.
    pub bundle_hash: String,
    /// One of its attachments confirmed.
    pub confirmed: bool,
    /// Its transactions' trytes, index order.
    pub trytes: Vec<String>,
    /// Its attachments' tails, newest first.
    pub tail_hashes: Vec<String>,
}

/// Who owns a deposit address.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AddressInfo {
    /// The address (81 trytes).
    pub address: String,
    /// The user it was given to.
    pub user_id: String,
}

/// Hub's totals.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// Σ of every user's available balance.
    pub total_balance: u64,
}
