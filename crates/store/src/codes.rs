//! Every code the database stores, named once.
//!
//! Reasons of the three ledgers keep the original Hub's integers
//! (hub-behaviour.md §3.2), so an original database reads the same; sweep
//! states and event kinds are Hub's own strings. SQL never spells a code:
//! queries format these in, and row mappers turn stored values back into
//! these enums, refusing any value they do not know.

/// A stored code of a closed set.
pub trait Code: Sized + Copy + 'static {
    /// Every value, in code order.
    const ALL: &'static [Self];
    /// What the database stores.
    fn code(self) -> i64;
    /// The value stored as `code`, if any.
    fn from_code(code: i64) -> Option<Self> {
        Self::ALL.iter().copied().find(|value| value.code() == code)
    }
}

/// Why a `user_account_balance` row exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccountReason {
    /// A deposit credited when its address was swept (0, the original's SWEEP).
    Sweep,
    /// The credit side of a transfer batch (1).
    Buy,
    /// A cancelled withdrawal given back (2).
    WithdrawalCancel,
    /// A withdrawal reserved (3).
    Withdrawal,
    /// The debit side of a transfer batch (4).
    Sell,
}

impl Code for AccountReason {
    const ALL: &'static [Self] = &[
        Self::Sweep,
        Self::Buy,
        Self::WithdrawalCancel,
        Self::Withdrawal,
        Self::Sell,
    ];

    fn code(self) -> i64 {
        match self {
            Self::Sweep => 0,
            Self::Buy => 1,
            Self::WithdrawalCancel => 2,
            Self::Withdrawal => 3,
            Self::Sell => 4,
        }
    }
}

/// Why a `user_address_balance` row exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressReason {
    /// A confirmed deposit (0).
    Deposit,
    /// The address emptied by a sweep (1).
    Sweep,
}

impl Code for AddressReason {
    const ALL: &'static [Self] = &[Self::Deposit, Self::Sweep];

    fn code(self) -> i64 {
        match self {
            Self::Deposit => 0,
            Self::Sweep => 1,
        }
    }
}

/// Why a `hub_address_balance` row exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HubAddressReason {
    /// A sweep's remainder received (0).
    Inbound,
    /// Spent as a sweep input (1).
    Outbound,
}

impl Code for HubAddressReason {
    const ALL: &'static [Self] = &[Self::Inbound, Self::Outbound];

    fn code(self) -> i64 {
        match self {
            Self::Inbound => 0,
            Self::Outbound => 1,
        }
    }
}

/// Where a sweep is in its life (`sweep.state`). A sweep moves only
/// forward: planned → signed → confirmed, or planned → abandoned (by an
/// operator, for a sweep no key ever signed). "Attached" is not a state: it
/// is a recorded tail of a signed sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SweepState {
    /// Accounted and bound to its bundle hash, not signed yet.
    Planned,
    /// Signed and stored; the attacher gets it confirmed.
    Signed,
    /// One of its attachments is confirmed.
    Confirmed,
    /// Never signed, and given up: its books were reversed (`hub admin
    /// sweep abandon`); it holds nothing and is never signed.
    Abandoned,
}

impl SweepState {
    /// Every state, in order.
    pub const ALL: [Self; 4] = [Self::Planned, Self::Signed, Self::Confirmed, Self::Abandoned];

    /// What `sweep.state` holds.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Planned => "planned",
            Self::Signed => "signed",
            Self::Confirmed => "confirmed",
            Self::Abandoned => "abandoned",
        }
    }

    /// The state stored as `text`, if any.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == text)
    }
}

/// What an `events` row records.
///
/// Most kinds are also events of the feed exchanges read (`GET /v1/events`,
/// webhooks): [`EventKind::feed_type`] names them there. The audit-only
/// kinds (calls, credentials) stay out of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// A user was created.
    UserCreated,
    /// A user-account ledger row changed a balance (amount: the signed
    /// change; data: the reason and the balance it left).
    BalanceChanged,
    /// A transfer batch settled (data: how many transfers, the volume).
    TransferBatchProcessed,
    /// A deposit's sweep credited the user (address; amount; reference:
    /// the sweep's bundle hash).
    DepositCredited,
    /// A withdrawal was reserved (address: the payout address; reference:
    /// its UUID).
    WithdrawalRequested,
    /// A withdrawal was cancelled and given back (reference: its UUID).
    WithdrawalCancelled,
    /// A sweep took a withdrawal (reference: its UUID; data: the bundle hash).
    WithdrawalSwept,
    /// The sweep paying a withdrawal confirmed (reference: its UUID; data:
    /// the bundle hash and the confirmed tail).
    WithdrawalConfirmed,
    /// A confirmed deposit reached a deposit address (reference: its tail);
    /// the user is credited when the address is swept.
    DepositConfirmed,
    /// A deposit address was taken out of monitoring and sweeping.
    AddressQuarantined,
    /// A Hub address received a remainder.
    HubInbound,
    /// A Hub address was spent.
    HubOutbound,
    /// A sweep was planned.
    SweepPlanned,
    /// A sweep was signed.
    SweepSigned,
    /// A signed sweep's first attachment was stored and broadcast (data: its tail).
    SweepBroadcast,
    /// A sweep's attachment was promoted (data: the tail and the promotion).
    SweepPromoted,
    /// A sweep was attached again on new tips (data: the new tail).
    SweepReattached,
    /// A sweep was confirmed (data: the confirmed tail).
    SweepConfirmed,
    /// A recovery bundle was allowed to sign an already-spent key.
    RecoveryPlanned,
    /// A Hub address was marked cold.
    ColdStorageMarked,
    /// A Hub address was marked warm again.
    ColdStorageUnmarked,
    /// A cold address's seed UUID left the database.
    ColdStorageSeedExported,
    /// A cold address's seed UUID came back.
    ColdStorageSeedRestored,
    /// An API token (or client-certificate mapping) was created.
    TokenCreated,
    /// An API token (or client-certificate mapping) was revoked.
    TokenRevoked,
    /// A write transaction made on behalf of an actor committed (see `audit`).
    Call,
    /// The node shows funds on a swept deposit address (amount: its balance;
    /// 0 once they are gone). Anyone may now replay the sweep that spent
    /// it; RecoverFunds moves them.
    DepositLate,
    /// The node shows more on a settled Hub address than Hub's books (amount:
    /// the surplus), e.g. a sweep confirmed a second time. Nothing is credited.
    HubUnexpectedInbound,
    /// ALERT: the node holds less on a settled Hub address than Hub's
    /// books (amount: the shortfall; 0 once it is gone): spent outside Hub,
    /// or a database restored from before the sweep that spent it.
    HubShortfall,
    /// A Hub address was taken out of sweeping (address; reference: why
    /// in short, the bundle hash that spent it).
    HubAddressQuarantined,
    /// ALERT: before signing, the node showed the key's address spent by a
    /// bundle Hub has no record of signing (address; reference: that bundle
    /// hash, or none when the node says spent but shows no spend). Nothing
    /// was signed.
    KeySpentElsewhere,
    /// ALERT: the node gave an answer that fails verification (a bundle
    /// that does not validate, a transaction that is not the sweep's);
    /// reference: the tail or bundle concerned. Nothing was believed.
    NodeAnswerRejected,
    /// SignBundle signed an already-swept key for a caller's bundle hash
    /// (address; reference: that hash).
    BundleSigned,
    /// An operator abandoned a planned sweep no key had signed (reference:
    /// its bundle hash; amount: the deposits it released to Hub).
    SweepAbandoned,
    /// An abandoned sweep gave a withdrawal back to the queue (user,
    /// amount; reference: the withdrawal's UUID).
    WithdrawalReleased,
    /// ALERT: a background service's tick panicked (reference: the
    /// service). The service goes on after a back-off; a person should
    /// read the log.
    ServicePanicked,
    /// A webhook endpoint was registered (reference: its id).
    WebhookCreated,
    /// A webhook endpoint was deleted (reference: its id).
    WebhookDeleted,
    /// An operator asked for events to be delivered again (reference: its id).
    WebhookRedelivered,
    /// A webhook endpoint failed too long and was disabled (reference: its
    /// id; data: why).
    WebhookDisabled,
    /// A node answers and is synced again (reference: the node).
    NodeSynced,
    /// A node stopped answering, or fell behind its milestones (reference:
    /// the node; data: why).
    NodeUnsynced,
}

impl EventKind {
    /// Every kind.
    pub const ALL: [Self; 42] = [
        Self::UserCreated,
        Self::BalanceChanged,
        Self::TransferBatchProcessed,
        Self::DepositCredited,
        Self::WithdrawalRequested,
        Self::WithdrawalCancelled,
        Self::WithdrawalSwept,
        Self::WithdrawalConfirmed,
        Self::DepositConfirmed,
        Self::AddressQuarantined,
        Self::HubInbound,
        Self::HubOutbound,
        Self::SweepPlanned,
        Self::SweepSigned,
        Self::SweepBroadcast,
        Self::SweepPromoted,
        Self::SweepReattached,
        Self::SweepConfirmed,
        Self::RecoveryPlanned,
        Self::ColdStorageMarked,
        Self::ColdStorageUnmarked,
        Self::ColdStorageSeedExported,
        Self::ColdStorageSeedRestored,
        Self::TokenCreated,
        Self::TokenRevoked,
        Self::Call,
        Self::DepositLate,
        Self::HubUnexpectedInbound,
        Self::HubShortfall,
        Self::HubAddressQuarantined,
        Self::KeySpentElsewhere,
        Self::NodeAnswerRejected,
        Self::BundleSigned,
        Self::SweepAbandoned,
        Self::WithdrawalReleased,
        Self::ServicePanicked,
        Self::NodeSynced,
        Self::NodeUnsynced,
        Self::WebhookCreated,
        Self::WebhookDeleted,
        Self::WebhookRedelivered,
        Self::WebhookDisabled,
    ];

    /// What `events.kind` holds.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UserCreated => "user_created",
            Self::BalanceChanged => "balance_changed",
            Self::TransferBatchProcessed => "transfer_batch_processed",
            Self::DepositCredited => "deposit_credited",
            Self::WithdrawalRequested => "withdrawal_requested",
            Self::WithdrawalCancelled => "withdrawal_cancelled",
            Self::WithdrawalSwept => "withdrawal_swept",
            Self::WithdrawalConfirmed => "withdrawal_confirmed",
            Self::DepositConfirmed => "deposit_confirmed",
            Self::AddressQuarantined => "address_quarantined",
            Self::HubInbound => "hub_inbound",
            Self::HubOutbound => "hub_outbound",
            Self::SweepPlanned => "sweep_planned",
            Self::SweepSigned => "sweep_signed",
            Self::SweepBroadcast => "sweep_broadcast",
            Self::SweepPromoted => "sweep_promoted",
            Self::SweepReattached => "sweep_reattached",
            Self::SweepConfirmed => "sweep_confirmed",
            Self::RecoveryPlanned => "recovery_planned",
            Self::ColdStorageMarked => "cold_storage_marked",
            Self::ColdStorageUnmarked => "cold_storage_unmarked",
            Self::ColdStorageSeedExported => "cold_storage_seed_exported",
            Self::ColdStorageSeedRestored => "cold_storage_seed_restored",
            Self::TokenCreated => "token_created",
            Self::TokenRevoked => "token_revoked",
            Self::Call => "call",
            Self::DepositLate => "deposit_late",
            Self::HubUnexpectedInbound => "hub_unexpected_inbound",
            Self::HubShortfall => "hub_shortfall",
            Self::HubAddressQuarantined => "hub_address_quarantined",
            Self::KeySpentElsewhere => "key_spent_elsewhere",
            Self::NodeAnswerRejected => "node_answer_rejected",
            Self::BundleSigned => "bundle_signed",
            Self::SweepAbandoned => "sweep_abandoned",
            Self::WithdrawalReleased => "withdrawal_released",
            Self::ServicePanicked => "service_panicked",
            Self::NodeSynced => "node_synced",
            Self::NodeUnsynced => "node_unsynced",
            Self::WebhookCreated => "webhook_created",
            Self::WebhookDeleted => "webhook_deleted",
            Self::WebhookRedelivered => "webhook_redelivered",
            Self::WebhookDisabled => "webhook_disabled",
        }
    }

    /// The kind stored as `text`, if Hub still writes it.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == text)
    }

    /// The event's type in the feed, or `None` for the kinds only the
    /// audit trail and the books show. Alerts share the type `error` (the
    /// kind is their `code`).
    pub fn feed_type(self) -> Option<&'static str> {
        match self {
            Self::UserCreated => Some("user.created"),
            Self::BalanceChanged => Some("balance.changed"),
            Self::TransferBatchProcessed => Some("transfer_batch.processed"),
            Self::DepositCredited => Some("deposit.credited"),
            Self::WithdrawalRequested => Some("withdrawal.requested"),
            Self::WithdrawalCancelled => Some("withdrawal.cancelled"),
            Self::WithdrawalSwept => Some("withdrawal.swept"),
            Self::WithdrawalConfirmed => Some("withdrawal.confirmed"),
            Self::DepositConfirmed => Some("deposit.pending"),
            Self::AddressQuarantined | Self::HubAddressQuarantined => Some("address.quarantined"),
            Self::HubInbound | Self::HubOutbound | Self::TokenCreated | Self::TokenRevoked | Self::Call => None,
            Self::SweepPlanned => Some("sweep.planned"),
            Self::SweepSigned => Some("sweep.signed"),
            Self::SweepBroadcast => Some("sweep.broadcast"),
            Self::SweepPromoted => Some("sweep.promoted"),
            Self::SweepReattached => Some("sweep.reattached"),
            Self::SweepConfirmed => Some("sweep.confirmed"),
            Self::RecoveryPlanned => Some("recovery.planned"),
            Self::ColdStorageMarked => Some("cold_storage.marked"),
            Self::ColdStorageUnmarked => Some("cold_storage.unmarked"),
            Self::ColdStorageSeedExported => Some("cold_storage.seed_exported"),
            Self::ColdStorageSeedRestored => Some("cold_storage.seed_restored"),
            Self::DepositLate => Some("deposit.late"),
            Self::HubUnexpectedInbound => Some("hub_address.surplus"),
            Self::HubShortfall | Self::KeySpentElsewhere | Self::NodeAnswerRejected | Self::ServicePanicked => {
                Some("error")
            }
            Self::BundleSigned => Some("bundle.signed"),
            Self::SweepAbandoned => Some("sweep.abandoned"),
            Self::WithdrawalReleased => Some("withdrawal.released"),
            Self::NodeSynced => Some("node.synced"),
            Self::NodeUnsynced => Some("node.unsynced"),
            Self::WebhookCreated | Self::WebhookDeleted | Self::WebhookRedelivered => None,
            Self::WebhookDisabled => Some("webhook.disabled"),
        }
    }

    /// The kinds the feed shows as `feed_type`.
    pub fn of_feed_type(feed_type: &str) -> Vec<Self> {
        Self::ALL
            .into_iter()
            .filter(|kind| kind.feed_type() == Some(feed_type))
            .collect()
    }

    /// What `events.reference` holds for this kind, as the feed names it.
    pub fn reference_name(self) -> &'static str {
        match self {
            Self::TransferBatchProcessed => "idempotencyKey",
            Self::UserCreated
            | Self::BalanceChanged
            | Self::ColdStorageMarked
            | Self::ColdStorageUnmarked
            | Self::ColdStorageSeedExported
            | Self::ColdStorageSeedRestored
            | Self::TokenCreated
            | Self::TokenRevoked
            | Self::Call
            | Self::DepositLate
            | Self::HubUnexpectedInbound
            | Self::HubShortfall => "reference",
            Self::DepositCredited
            | Self::HubInbound
            | Self::HubOutbound
            | Self::SweepPlanned
            | Self::SweepSigned
            | Self::SweepBroadcast
            | Self::SweepPromoted
            | Self::SweepReattached
            | Self::SweepConfirmed
            | Self::RecoveryPlanned
            | Self::HubAddressQuarantined
            | Self::KeySpentElsewhere
            | Self::BundleSigned
            | Self::SweepAbandoned => "bundleHash",
            Self::WithdrawalRequested
            | Self::WithdrawalCancelled
            | Self::WithdrawalSwept
            | Self::WithdrawalConfirmed
            | Self::WithdrawalReleased => "uuid",
            Self::DepositConfirmed => "tail",
            Self::AddressQuarantined => "reason",
            Self::NodeAnswerRejected => "hash",
            Self::ServicePanicked => "service",
            Self::NodeSynced | Self::NodeUnsynced => "node",
            Self::WebhookCreated | Self::WebhookDeleted | Self::WebhookRedelivered | Self::WebhookDisabled => {
                "webhookId"
            }
        }
    }
}

/// What an API caller may do (`api_token.scopes` holds them comma-separated).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// Balances, addresses, history, subscriptions.
    Read,
    /// Deposit addresses.
    Deposit,
    /// Users and transfer batches.
    Trade,
    /// Withdrawals and their cancellation.
    Withdraw,
    /// The dangerous commands.
    Admin,
}

impl Scope {
    /// Every scope, in order.
    pub const ALL: [Self; 5] = [Self::Read, Self::Deposit, Self::Trade, Self::Withdraw, Self::Admin];

    /// What `api_token.scopes` holds (and what operators type).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Deposit => "deposit",
            Self::Trade => "trade",
            Self::Withdraw => "withdraw",
            Self::Admin => "admin",
        }
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A scope code that names no [`Scope`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scope '{0}' (expected {expected})", expected = expected_scopes())]
pub struct UnknownScope(pub String);

/// "read, deposit, trade, withdraw or admin", from [`Scope::ALL`].
fn expected_scopes() -> String {
    let names: Vec<&str> = Scope::ALL.iter().map(|scope| scope.as_str()).collect();
    match names.split_last() {
        Some((last, [])) => (*last).to_string(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

impl std::str::FromStr for Scope {
    type Err = UnknownScope;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|scope| scope.as_str() == text)
            .ok_or_else(|| UnknownScope(text.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trips<C: Code + PartialEq + std::fmt::Debug>() {
        for (position, value) in C::ALL.iter().enumerate() {
            assert_eq!(C::from_code(value.code()), Some(*value));
            assert_eq!(
                value.code(),
                i64::try_from(position).unwrap(),
                "{value:?}: codes are 0, 1, … in order"
            );
        }
        assert_eq!(C::from_code(-1), None);
        assert_eq!(C::from_code(i64::try_from(C::ALL.len()).unwrap()), None);
    }

    #[test]
    fn codes_are_the_originals_and_round_trip() {
        round_trips::<AccountReason>();
        round_trips::<AddressReason>();
        round_trips::<HubAddressReason>();
        assert_eq!(AccountReason::Sell.code(), 4);
        assert_eq!(AddressReason::Sweep.code(), 1);
        assert_eq!(HubAddressReason::Outbound.code(), 1);
    }

    #[test]
    fn sweep_states_round_trip() {
        for state in SweepState::ALL {
            assert_eq!(SweepState::parse(state.as_str()), Some(state));
        }
        assert_eq!(SweepState::parse("attached"), None);
    }

    #[test]
    fn scopes_round_trip_and_an_unknown_one_says_what_is_expected() {
        for scope in Scope::ALL {
            assert_eq!(scope.as_str().parse::<Scope>(), Ok(scope));
            assert_eq!(scope.to_string(), scope.as_str());
        }
        assert_eq!(
            "x".parse::<Scope>().unwrap_err().to_string(),
            "unknown scope 'x' (expected read, deposit, trade, withdraw or admin)"
        );
        assert!("Read".parse::<Scope>().is_err(), "codes are lowercase");
    }
}
