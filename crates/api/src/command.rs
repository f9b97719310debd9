//! The commands of Hub's wire interface, named once.
//!
//! gRPC method names and HTTP `"command"` names are the same strings, so one
//! enum serves both transports: each parses its request into a [`Command`],
//! and the access rules (which scope a command needs, whether it changes
//! state) are written here, once, for both.

use hub_core::Scope;

/// A command name of the protocol (equal to the gRPC method name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    CreateUser,
    GetBalance,
    GetDepositAddress,
    UserWithdraw,
    UserWithdrawCancel,
    GetUserHistory,
    ProcessTransferBatch,
    BalanceSubscription,
    GetStats,
    SweepSubscription,
    GetAddressInfo,
    SweepInfo,
    SignBundle,
    SweepDetail,
    WasWithdrawalCancelled,
    WasAddressSpentFrom,
    RecoverFunds,
    GetSeedForAddress,
    GetSeedForUuid,
}

impl Command {
    /// Every command.
    pub const ALL: [Command; 19] = [
        Command::CreateUser,
        Command::GetBalance,
        Command::GetDepositAddress,
        Command::UserWithdraw,
        Command::UserWithdrawCancel,
        Command::GetUserHistory,
        Command::ProcessTransferBatch,
        Command::BalanceSubscription,
        Command::GetStats,
        Command::SweepSubscription,
        Command::GetAddressInfo,
        Command::SweepInfo,
        Command::SignBundle,
        Command::SweepDetail,
        Command::WasWithdrawalCancelled,
        Command::WasAddressSpentFrom,
        Command::RecoverFunds,
        Command::GetSeedForAddress,
        Command::GetSeedForUuid,
    ];

    /// The wire name.
    pub fn name(self) -> &'static str {
        match self {
            Command::CreateUser => "CreateUser",
            Command::GetBalance => "GetBalance",
            Command::GetDepositAddress => "GetDepositAddress",
            Command::UserWithdraw => "UserWithdraw",
            Command::UserWithdrawCancel => "UserWithdrawCancel",
            Command::GetUserHistory => "GetUserHistory",
            Command::ProcessTransferBatch => "ProcessTransferBatch",
            Command::BalanceSubscription => "BalanceSubscription",
            Command::GetStats => "GetStats",
            Command::SweepSubscription => "SweepSubscription",
            Command::GetAddressInfo => "GetAddressInfo",
            Command::SweepInfo => "SweepInfo",
            Command::SignBundle => "SignBundle",
            Command::SweepDetail => "SweepDetail",
            Command::WasWithdrawalCancelled => "WasWithdrawalCancelled",
            Command::WasAddressSpentFrom => "WasAddressSpentFrom",
            Command::RecoverFunds => "RecoverFunds",
            Command::GetSeedForAddress => "GetSeedForAddress",
            Command::GetSeedForUuid => "GetSeedForUUID",
        }
    }

    /// The command called `name` (exact, case-sensitive).
    pub fn from_name(name: &str) -> Option<Command> {
        Self::ALL.into_iter().find(|command| command.name() == name)
    }
}

impl Command {
    /// The scope an API token needs to call this command.
    ///
    /// `read` covers every query, `deposit` the onboarding of users and
    /// addresses, `trade` moving balances between users, `withdraw` paying
    /// out, and `admin` the dangerous commands (which also stay off unless
    /// the operator enables them). Scopes are independent: `admin` does not
    /// imply the others.
    pub fn scope(self) -> Scope {
        match self {
            Command::GetBalance
            | Command::GetUserHistory
            | Command::BalanceSubscription
            | Command::GetStats
            | Command::SweepSubscription
            | Command::GetAddressInfo
            | Command::SweepInfo
            | Command::SweepDetail
            | Command::WasWithdrawalCancelled
            | Command::WasAddressSpentFrom => Scope::Read,
            Command::CreateUser | Command::GetDepositAddress => Scope::Deposit,
            Command::ProcessTransferBatch => Scope::Trade,
            Command::UserWithdraw | Command::UserWithdrawCancel => Scope::Withdraw,
            Command::SignBundle | Command::RecoverFunds | Command::GetSeedForAddress | Command::GetSeedForUuid => {
                Scope::Admin
            }
        }
    }
}
