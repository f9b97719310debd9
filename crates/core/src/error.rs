//! Every way a Hub command can fail, with the original's error codes.
//!
//! Each variant maps to one `hub.rpc.ErrorCode` (the legacy mapping of
//! hub-behaviour.md §2.2) and one legacy HTTP error string, and carries a
//! readable message naming the field and the rule where there is one.
//! Messages never contain secrets. Failures of the parts below `core`
//! (store, node) become a `HubError` through one `From` conversion each,
//! so command code writes `?` and the mapping is written once.

use std::fmt;

use hub_node::NodeError;
use hub_store::StoreError;

/// `hub.rpc.ErrorCode`, with the numbers of the wire interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum ErrorCode {
    /// EC_UNKNOWN
    Unknown = 0,
    /// USER_EXISTS
    UserExists = 1,
    /// USER_DOES_NOT_EXIST
    UserDoesNotExist = 2,
    /// INSUFFICIENT_BALANCE
    InsufficientBalance = 3,
    /// BATCH_INVALID
    BatchInvalid = 4,
    /// BATCH_INCONSISTENT
    BatchInconsistent = 5,
    /// BATCH_AMOUNT_ZERO (the legacy name of "batch does not sum to zero")
    BatchAmountZero = 6,
    /// UNKNOWN_ADDRESS
    UnknownAddress = 7,
    /// WITHDRAWAL_CAN_NOT_BE_CANCELLED
    WithdrawalCanNotBeCancelled = 8,
    /// INELIGIBLE_ADDRESS
    IneligibleAddress = 9,
    /// INVALID_AUTHENTICATION
    InvalidAuthentication = 10,
    /// CHECKSUM_INVALID
    ChecksumInvalid = 11,
    /// SIGNING_FAILED
    SigningFailed = 12,
    /// GET_ADDRESS_FAILED
    GetAddressFailed = 13,
    /// GET_SECURITY_LEVEL_FAILED
    GetSecurityLevelFailed = 14,
    /// IRI_CLIENT_UNAVAILABLE
    IriClientUnavailable = 15,
    /// ADDRESS_WAS_ALREADY_SPENT
    AddressWasAlreadySpent = 16,
    /// INVALID_UUID
    InvalidUuid = 17,
    /// WRONG_USER_ADDRESS
    WrongUserAddress = 18,
    /// ADDRESS_BALANCE_ZERO
    AddressBalanceZero = 19,
}

/// Why a command failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HubError {
    /// A required argument is absent (HTTP only).
    MissingArgument(&'static str),
    /// An argument breaks a rule not covered by a specific code (original: UNKNOWN_ERROR).
    InvalidArgument { field: &'static str, rule: String },
    /// An idempotency key already used for another request (what, in
    /// short); original: UNKNOWN_ERROR.
    IdempotencyKeyReused(String),
    /// Disabled, or the thing asked about does not exist (original: CANCELLED).
    Cancelled(String),
    /// The user id is taken.
    UserExists,
    /// No such user.
    UserDoesNotExist,
    /// Not enough available balance.
    InsufficientBalance,
    /// A transfer of zero.
    BatchInvalid(String),
    /// A transfer would make a balance negative.
    BatchInconsistent(String),
    /// Transfers do not sum to zero.
    BatchAmountNotZero,
    /// The address is not a deposit address of this Hub.
    UnknownAddress,
    /// The withdrawal is unknown, swept or already cancelled.
    WithdrawalCanNotBeCancelled,
    /// The address may not be used here (e.g. last trit not zero).
    InvalidAddress(String),
    /// Authentication token wrong.
    InvalidAuthentication,
    /// Checksum wrong, or a checksum was required and missing.
    InvalidChecksum(String),
    /// Signing failed.
    SignatureFailed(String),
    /// No address could be derived (provider down).
    GetAddressFailed(String),
    /// The IOTA node did not answer.
    IotaNodeUnavailable(String),
    /// The address was already spent from.
    AddressWasSpent,
    /// A malformed or unknown UUID.
    InvalidUuid(String),
    /// The address belongs to another user.
    WrongUserAddress,
    /// The address holds nothing.
    AddressBalanceZero,
    /// The node does not know the address.
    AddressNotKnownToNode,
    /// Too much work is already waiting; nothing was written, and the same
    /// call may succeed later (the message says what is full).
    Overloaded(String),
    /// Anything else (database failure, broken invariant, …): an internal
    /// error, logged where it is made, never the caller's fault.
    Internal(Internal),
}

/// What broke inside Hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// The database failed (connection, constraint, migration).
    Database,
    /// A stored value is not what the schema promises.
    CorruptRow,
    /// A money invariant does not hold (see [`crate::invariant!`]).
    Invariant,
    /// A stored or built bundle is not what Hub made.
    Bundle,
    /// Proof of work or mining failed or was cancelled.
    ProofOfWork,
    /// A background task died.
    Task,
    /// The seed provider failed where no specific code applies.
    Provider,
    /// Something changed between a read and the write that depended on it.
    Concurrent,
    /// The Tangle shows a key already signed a bundle Hub did not record
    /// (see `spends`): nothing was signed.
    SpentOnChain,
    /// The node's answer failed verification and was not believed.
    NodeAnswerRejected,
}

/// An internal failure: its cause, and a description for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Internal {
    /// What broke.
    pub cause: Cause,
    /// For the log (never shown to callers, never a secret).
    pub detail: String,
}

impl HubError {
    /// The `hub.rpc.ErrorCode` to report.
    pub fn code(&self) -> ErrorCode {
        match self {
            HubError::MissingArgument(_)
            | HubError::InvalidArgument { .. }
            | HubError::IdempotencyKeyReused(_)
            | HubError::Cancelled(_) => ErrorCode::Unknown,
            HubError::Internal(_) => ErrorCode::Unknown,
            HubError::UserExists => ErrorCode::UserExists,
            HubError::UserDoesNotExist => ErrorCode::UserDoesNotExist,
            HubError::InsufficientBalance => ErrorCode::InsufficientBalance,
            HubError::BatchInvalid(_) => ErrorCode::BatchInvalid,
            HubError::BatchInconsistent(_) => ErrorCode::BatchInconsistent,
            HubError::BatchAmountNotZero => ErrorCode::BatchAmountZero,
            HubError::UnknownAddress | HubError::AddressNotKnownToNode => ErrorCode::UnknownAddress,
            HubError::WithdrawalCanNotBeCancelled => ErrorCode::WithdrawalCanNotBeCancelled,
            HubError::InvalidAddress(_) => ErrorCode::IneligibleAddress,
            HubError::InvalidAuthentication => ErrorCode::InvalidAuthentication,
            HubError::InvalidChecksum(_) => ErrorCode::ChecksumInvalid,
            HubError::SignatureFailed(_) => ErrorCode::SigningFailed,
            // The original has no code for this. Overloaded comes only from
            // GetDepositAddress, whose clients already retry on
            // GET_ADDRESS_FAILED ("no address could be had right now");
            // EC_UNKNOWN would read as a bug. The transports add their own
            // status for it (RESOURCE_EXHAUSTED, HTTP 429).
            HubError::GetAddressFailed(_) | HubError::Overloaded(_) => ErrorCode::GetAddressFailed,
            HubError::IotaNodeUnavailable(_) => ErrorCode::IriClientUnavailable,
            HubError::AddressWasSpent => ErrorCode::AddressWasAlreadySpent,
            HubError::InvalidUuid(_) => ErrorCode::InvalidUuid,
            HubError::WrongUserAddress => ErrorCode::WrongUserAddress,
            HubError::AddressBalanceZero => ErrorCode::AddressBalanceZero,
        }
    }

    /// The original's HTTP `error` string (hub-behaviour.md table 2.2).
    pub fn legacy_text(&self) -> &'static str {
        match self {
            HubError::MissingArgument(_) => "Missing argument",
            HubError::Cancelled(_) => "Cancelled",
            HubError::UserExists => "User exist",
            HubError::UserDoesNotExist => "User does not exist",
            HubError::InsufficientBalance => "Insufficient balance",
            HubError::BatchInvalid(_) => "Batch is invalid",
            HubError::BatchInconsistent(_) => "Batch is inconsistent",
            HubError::BatchAmountNotZero => "Batch amount is not zero (unbalanced)",
            HubError::UnknownAddress => "Unknown address",
            HubError::WithdrawalCanNotBeCancelled => "Withdrawal can not be cancelled",
            HubError::InvalidAddress(_) => "Invalid address",
            HubError::InvalidAuthentication => "Invalid authentication",
            HubError::InvalidChecksum(_) => "Invalid checksum",
            HubError::SignatureFailed(_) => "Signing has failed",
            HubError::GetAddressFailed(_) | HubError::Overloaded(_) => "Get address failed",
            HubError::IotaNodeUnavailable(_) => "IOTA node is unavailable",
            HubError::AddressWasSpent => "Address was already spent",
            HubError::InvalidUuid(_) => "Invalid UUID",
            HubError::WrongUserAddress => "Wrong user address",
            HubError::AddressBalanceZero => "Address balance is zero",
            HubError::AddressNotKnownToNode => "Address is not known to node",
            HubError::InvalidArgument { .. } | HubError::IdempotencyKeyReused(_) | HubError::Internal(_) => {
                "Unknown error"
            }
        }
    }

    /// Whether gRPC should answer CANCELLED rather than FAILED_PRECONDITION.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, HubError::Cancelled(_))
    }

    /// Whether the call was refused because too much work is waiting (the
    /// transports answer RESOURCE_EXHAUSTED or HTTP 429: retry later).
    pub fn is_overloaded(&self) -> bool {
        matches!(self, HubError::Overloaded(_))
    }

    /// An internal failure, logged here.
    pub fn internal(cause: Cause, detail: impl Into<String>) -> Self {
        let detail = detail.into();
        tracing::error!(?cause, "internal error: {detail}");
        HubError::Internal(Internal { cause, detail })
    }

    /// A broken money invariant: logs an ALERT and fails a debug build on
    /// the spot (see [`crate::invariant!`]).
    pub fn broken_invariant(message: impl Into<String>) -> Self {
        let message = message.into();
        tracing::error!("ALERT: invariant broken: {message}");
        debug_assert!(false, "invariant broken: {message}");
        HubError::Internal(Internal {
            cause: Cause::Invariant,
            detail: message,
        })
    }

    /// An argument error built from a protocol parse error.
    pub fn argument(field: &'static str, error: hub_protocol::Error) -> Self {
        HubError::InvalidArgument {
            field,
            rule: error.for_field(field).to_string(),
        }
    }
}

impl fmt::Display for HubError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HubError::MissingArgument(field) => write!(f, "missing argument: {field}"),
            HubError::InvalidArgument { rule, .. } => f.write_str(rule),
            HubError::IdempotencyKeyReused(what) => write!(f, "idempotencyKey was already used for {what}"),
            HubError::Cancelled(why) => write!(f, "cancelled: {why}"),
            HubError::BatchInvalid(why) | HubError::BatchInconsistent(why) => {
                write!(f, "{}: {why}", self.legacy_text())
            }
            HubError::InvalidAddress(why) | HubError::InvalidChecksum(why) | HubError::InvalidUuid(why) => {
                write!(f, "{}: {why}", self.legacy_text())
            }
            HubError::SignatureFailed(why) | HubError::GetAddressFailed(why) | HubError::IotaNodeUnavailable(why) => {
                write!(f, "{}: {why}", self.legacy_text())
            }
            HubError::Overloaded(why) => f.write_str(why),
            HubError::Internal(_) => f.write_str("internal error (see the Hub log)"),
            other => f.write_str(other.legacy_text()),
        }
    }
}

impl std::error::Error for HubError {}

impl From<StoreError> for HubError {
    fn from(error: StoreError) -> Self {
        let cause = match error {
            StoreError::Corrupt { .. } => Cause::CorruptRow,
            _ => Cause::Database,
        };
        HubError::internal(cause, format!("database: {error}"))
    }
}

impl From<NodeError> for HubError {
    fn from(error: NodeError) -> Self {
        HubError::IotaNodeUnavailable(error.to_string())
    }
}

/// Checks a money invariant (hub-behaviour.md §3.4) where it is cheap: when
/// the condition is false it logs an ALERT, fails a debug build on the spot,
/// and returns an internal error from the enclosing function, so nothing
/// after it is written.
#[macro_export]
macro_rules! invariant {
    ($condition:expr, $($message:tt)+) => {
        if !$condition {
            return Err($crate::error::HubError::broken_invariant(format!($($message)+)));
        }
    };
}
