//! What commands take and return, independent of any transport.
//!
//! The API layer maps these to gRPC messages and the HTTP JSON shapes; the
//! numbering of the legacy protocol (proto enum values, database reason
//! codes, HTTP strings) is defined here once.

/// `GetBalance`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Balance {
    /// Spendable balance (the original's `available`).
    pub available: i64,
    /// Confirmed deposits on the user's addresses not yet swept (credited to
    /// `available` when swept).
    pub pending_deposit: i64,
}

/// One entry of `ProcessTransferBatch`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    /// User id.
    pub user_id: String,
    /// Signed amount: positive is a buy (credit), negative a sell (debit).
    pub amount: i64,
}

/// `GetStats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// Sum of all users' available balances.
    pub total_balance: u64,
}

pub use hub_store::{AccountReason, AddressReason, HubAddressReason};

/// How the legacy API names a stored reason: its `hub.rpc` enum value and
/// its HTTP string. The database codes are the store's (`hub_store::Code`);
/// these are the wire's, written here once.
pub trait LegacyName {
    /// The `hub.rpc` enum value.
    fn proto(self) -> i32;
    /// The HTTP string.
    fn http_name(self) -> &'static str;
}

impl LegacyName for AccountReason {
    /// `hub.rpc.UserAccountBalanceEventType`.
    fn proto(self) -> i32 {
        match self {
            Self::Sweep => 1,
            Self::Buy => 2,
            Self::Withdrawal => 3,
            Self::WithdrawalCancel => 4,
            Self::Sell => 5,
        }
    }

    fn http_name(self) -> &'static str {
        match self {
            Self::Sweep => "DEPOSIT",
            Self::Buy => "BUY",
            Self::Withdrawal => "WITHDRAWAL",
            Self::WithdrawalCancel => "WITHDRAWAL_CANCELED",
            Self::Sell => "SELL",
        }
    }
}

impl LegacyName for AddressReason {
    /// `hub.rpc.UserAddressBalanceReason`.
    fn proto(self) -> i32 {
        match self {
            Self::Deposit => 1,
            Self::Sweep => 2,
        }
    }

    fn http_name(self) -> &'static str {
        match self {
            Self::Deposit => "UA_DEPOSIT",
            Self::Sweep => "UA_SWEEP",
        }
    }
}

impl LegacyName for HubAddressReason {
    /// `hub.rpc.HubAddressBalanceReason`.
    fn proto(self) -> i32 {
        match self {
            Self::Inbound => 1,
            Self::Outbound => 2,
        }
    }

    fn http_name(self) -> &'static str {
        match self {
            Self::Inbound => "INBOUND",
            Self::Outbound => "OUTBOUND",
        }
    }
}

/// A user-account ledger row, as history and subscriptions report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountEvent {
    /// User id.
    pub user_id: String,
    /// When, ms since the epoch.
    pub timestamp_ms: u64,
    /// What.
    pub kind: AccountReason,
    /// Signed amount.
    pub amount: i64,
    /// The sweep's bundle hash (deposits only; empty otherwise).
    pub sweep_bundle_hash: String,
    /// The withdrawal UUID (withdrawals and cancellations only; empty otherwise).
    pub withdrawal_uuid: String,
}

/// A deposit-address ledger row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressEvent {
    /// Owner's user id.
    pub user_id: String,
    /// The deposit address (81 trytes).
    pub address: String,
    /// Signed amount.
    pub amount: i64,
    /// Why.
    pub reason: AddressReason,
    /// Deposit: the depositing tail hash; sweep: the sweep bundle hash.
    pub hash: String,
    /// When, ms since the epoch.
    pub timestamp_ms: u64,
    /// The deposit's message (when stored), else empty.
    pub message: String,
}

/// A Hub-address ledger row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubAddressEvent {
    /// The Hub address.
    pub hub_address: String,
    /// Signed amount.
    pub amount: i64,
    /// Why.
    pub reason: HubAddressReason,
    /// The sweep's bundle hash.
    pub sweep_bundle_hash: String,
    /// When, ms since the epoch.
    pub timestamp_ms: u64,
}

/// One event of `BalanceSubscription`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BalanceEvent {
    /// A user-account row (deposits, withdrawals, cancellations).
    UserAccount(AccountEvent),
    /// A deposit-address row.
    UserAddress(AddressEvent),
    /// A Hub-address row.
    HubAddress(HubAddressEvent),
}

/// `UserWithdraw`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WithdrawRequest {
    /// User id.
    pub user_id: String,
    /// Payout address: 81 trytes, or 90 with checksum when `validate_checksum`.
    pub payout_address: String,
    /// Tokens to pay out.
    pub amount: u64,
    /// Tag of the payout transaction: up to 27 trytes, right-padded with `9`.
    pub tag: String,
    /// Require and check a checksum on the payout address.
    pub validate_checksum: bool,
    /// The client's idempotency key: a retry with the same key returns the
    /// same withdrawal instead of making a second one.
    pub idempotency_key: Option<String>,
}

/// `SignBundle`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SignBundleRequest {
    /// The swept deposit address whose key signs: 81 trytes, or 90 with checksum when `validate_checksum`.
    pub address: String,
    /// The bundle hash to sign (81 trytes).
    pub bundle_hash: String,
    /// `hex(HMAC-SHA256(key, bundleHash ‖ address))`.
    pub authentication: String,
    /// Require and check a checksum on the address.
    pub validate_checksum: bool,
}

/// `RecoverFunds`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RecoverFundsRequest {
    /// The owner of the address.
    pub user_id: String,
    /// The swept deposit address holding late funds (81 trytes).
    pub address: String,
    /// Require and check a checksum on the payout address.
    pub validate_checksum: bool,
    /// Where the funds go.
    pub payout_address: String,
}

/// A sweep, as `SweepSubscription` and `SweepInfo` report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepEvent {
    /// The sweep's bundle hash.
    pub bundle_hash: String,
    /// When it was made, ms since the epoch.
    pub timestamp_ms: u64,
    /// UUIDs of the withdrawals it pays (empty for deposit-only sweeps).
    pub withdrawal_uuids: Vec<String>,
}

/// `SweepDetail`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepDetail {
    /// Whether an attachment is confirmed.
    pub confirmed: bool,
    /// The signed transactions in index order (before proof of work).
    pub trytes: Vec<String>,
    /// Every recorded attachment's tail, newest first.
    pub tail_hashes: Vec<String>,
}

/// How `SweepInfo` names the sweep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SweepQuery {
    /// By a withdrawal it pays (exact UUID).
    WithdrawalUuid(String),
    /// By bundle hash.
    BundleHash(String),
}
