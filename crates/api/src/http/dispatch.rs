//! The 19 commands of the HTTP protocol: their names, arguments and replies.
//!
//! Each command reads its arguments by the original's names and builds the
//! reply with the original's keys (note `userID` in history events and
//! `withdrawalUuid` in subscription events), so existing HTTP clients keep
//! working (hub-behaviour.md §2.3).

use hub_core::{AccountEvent, BalanceEvent, LegacyName};

use super::args::{Args, Failure};
use super::json::LegacyObject;
use crate::command::Command;
use crate::commands::HubCommands;

/// What running a command gave.
pub(crate) enum Outcome {
    /// The reply object.
    Done(LegacyObject),
    /// The command or its arguments failed.
    Failed(Failure),
}

/// Runs `command` with the arguments of the request object.
pub(crate) async fn run(commands: &dyn HubCommands, command: Command, args: &Args<'_>) -> Outcome {
    match execute(commands, command, args).await {
        Ok(reply) => Outcome::Done(reply),
        Err(failure) => Outcome::Failed(failure),
    }
}

async fn execute(commands: &dyn HubCommands, command: Command, args: &Args<'_>) -> Result<LegacyObject, Failure> {
    let reply = match command {
        Command::CreateUser => {
            let user_id = args.required_text("userId")?;
            commands.create_user(&user_id).await?;
            LegacyObject::new()
        }
        Command::GetBalance => {
            let user_id = args.required_text("userId")?;
            let balance = commands.get_balance(&user_id).await?;
            LegacyObject::new()
                .text("available", balance.available)
                .text("pendingDeposit", balance.pending_deposit)
        }
        Command::GetDepositAddress => {
            let user_id = args.required_text("userId")?;
            let include_checksum = args.flag("includeChecksum")?;
            let address = commands.get_deposit_address(&user_id, include_checksum).await?;
            LegacyObject::new().text("address", address)
        }
        Command::GetUserHistory => {
            let user_id = args.required_text("userId")?;
            let newer_than_ms = args.optional_u64("newerThan", 0)?;
            let events = commands.get_user_history(&user_id, newer_than_ms).await?;
            LegacyObject::events(events.into_iter().map(history_event))
        }
        Command::ProcessTransferBatch => {
            let transfers = args.merged_transfers()?;
            let key = args.optional_text("idempotencyKey")?.filter(|k| !k.is_empty());
            commands.process_transfer_batch(&transfers, key.as_deref()).await?;
            LegacyObject::new()
        }
        Command::BalanceSubscription => {
            let newer_than_ms = args.optional_u64("newerThan", 0)?;
            let events = commands.balance_subscription(newer_than_ms).await?;
            LegacyObject::events(events.into_iter().map(subscription_event))
        }
        Command::GetStats => {
            let stats = commands.get_stats().await?;
            LegacyObject::new().text("totalBalance", stats.total_balance)
        }
        Command::GetAddressInfo => {
            let address = args.required_text("address")?;
            let user_id = commands.get_address_info(&address).await?;
            LegacyObject::new().text("userId", user_id)
        }
        Command::WasAddressSpentFrom => {
            let address = args.required_text("address")?;
            let validate_checksum = args.flag("validateChecksum")?;
            let spent = commands.was_address_spent_from(&address, validate_checksum).await?;
            LegacyObject::new().text("wasAddressSpentFrom", spent)
        }
        Command::UserWithdraw => {
            // Only userId and amount are required; a missing payout address
            // or tag is empty and fails (or pads) like a wrong one.
            let request = hub_core::WithdrawRequest {
                user_id: args.required_text("userId")?,
                payout_address: args.optional_text("payoutAddress")?.unwrap_or_default(),
                amount: args.required_u64("amount")?,
                tag: args.optional_text("tag")?.unwrap_or_default(),
                validate_checksum: args.flag("validateChecksum")?,
                idempotency_key: args.optional_text("idempotencyKey")?.filter(|k| !k.is_empty()),
            };
            let uuid = commands.user_withdraw(&request).await?;
            LegacyObject::new().text("uuid", uuid)
        }
        Command::UserWithdrawCancel => {
            let uuid = args.required_text("uuid")?;
            commands.user_withdraw_cancel(&uuid).await?;
            LegacyObject::new().text("success", true)
        }
        Command::WasWithdrawalCancelled => {
            let uuid = args.required_text("uuid")?;
            let cancelled = commands.was_withdrawal_cancelled(&uuid).await?;
            LegacyObject::new().text("wasCancelled", cancelled)
        }
        Command::SweepSubscription => {
            let newer_than_ms = args.optional_u64("newerThan", 0)?;
            let events = commands.sweep_subscription(newer_than_ms).await?;
            LegacyObject::events(events.into_iter().map(sweep_event))
        }
        Command::SweepInfo => {
            // The original requires `requestByUuid`, then the key it names.
            let by_uuid = args.required_text("requestByUuid")? == "true";
            let query = if by_uuid {
                hub_core::SweepQuery::WithdrawalUuid(args.required_text("withdrawalUuid")?)
            } else {
                hub_core::SweepQuery::BundleHash(args.required_text("bundleHash")?)
            };
            sweep_event(commands.sweep_info(&query).await?)
        }
        Command::SweepDetail => {
            let bundle_hash = args.required_text("bundleHash")?;
            let detail = commands.sweep_detail(&bundle_hash).await?;
            LegacyObject::new()
                .text("confirmed", detail.confirmed)
                .repeated("trytes", detail.trytes)
                .repeated("tailHash", detail.tail_hashes)
        }
        Command::SignBundle => {
            // The JSON key is `authenticationToken` (proto: `authentication`).
            let request = hub_core::SignBundleRequest {
                address: args.required_text("address")?,
                bundle_hash: args.required_text("bundleHash")?,
                authentication: args.optional_text("authenticationToken")?.unwrap_or_default(),
                validate_checksum: args.flag("validateChecksum")?,
            };
            let signature = commands.sign_bundle(&request).await?;
            LegacyObject::new().text("signature", signature)
        }
        Command::RecoverFunds => {
            let request = hub_core::RecoverFundsRequest {
                user_id: args.required_text("userId")?,
                address: args.required_text("address")?,
                validate_checksum: args.flag("validateChecksum")?,
                payout_address: args.required_text("payoutAddress")?,
            };
            commands.recover_funds(&request).await?;
            LegacyObject::new()
        }
        Command::GetSeedForAddress => {
            let user_id = args.required_text("userId")?;
            let address = args.required_text("address")?;
            let seed = commands.get_seed_for_address(&user_id, &address).await?;
            LegacyObject::new().text("seed", seed)
        }
        Command::GetSeedForUuid => {
            let uuid = args.required_text("uuid")?;
            let seed = commands.get_seed_for_uuid(&uuid).await?;
            LegacyObject::new().text("seed", seed)
        }
    };
    Ok(reply)
}

/// A sweep: `bundleHash`, `timestamp` and one `withdrawalUuid` key per withdrawal.
fn sweep_event(event: hub_core::SweepEvent) -> LegacyObject {
    LegacyObject::new()
        .text("bundleHash", event.bundle_hash)
        .text("timestamp", event.timestamp_ms)
        .repeated("withdrawalUuid", event.withdrawal_uuids)
}

/// A `GetUserHistory` event (`userID` spelled as the original did).
fn history_event(event: AccountEvent) -> LegacyObject {
    LegacyObject::new()
        .text("userID", event.user_id)
        .text("timestamp", event.timestamp_ms)
        .text("amount", event.amount)
        .text("reason", event.kind.http_name())
        .text("sweepBundleHash", event.sweep_bundle_hash)
        .text("withdrawalUUID", event.withdrawal_uuid)
}

/// A `BalanceSubscription` event, tagged with its `type`.
fn subscription_event(event: BalanceEvent) -> LegacyObject {
    match event {
        BalanceEvent::UserAccount(event) => LegacyObject::new()
            .text("type", "USER_ACCOUNT")
            .text("reason", event.kind.http_name())
            .text("userId", event.user_id)
            .text("timestamp", event.timestamp_ms)
            .text("sweepBundleHash", event.sweep_bundle_hash)
            .text("withdrawalUuid", event.withdrawal_uuid)
            .text("amount", event.amount),
        BalanceEvent::UserAddress(event) => LegacyObject::new()
            .text("type", "USER_ADDRESS")
            .text("reason", event.reason.http_name())
            .text("userId", event.user_id)
            .text("timestamp", event.timestamp_ms)
            .text("userAddress", event.address)
            .text("hash", event.hash)
            .text("message", event.message)
            .text("amount", event.amount),
        BalanceEvent::HubAddress(event) => LegacyObject::new()
            .text("type", "HUB_ADDRESS")
            .text("hubAddress", event.hub_address)
            .text("reason", event.reason.http_name())
            .text("timestamp", event.timestamp_ms)
            .text("sweepBundleHash", event.sweep_bundle_hash)
            .text("amount", event.amount),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for command in Command::ALL {
            assert_eq!(Command::from_name(command.name()), Some(command));
        }
        assert_eq!(Command::from_name("GetSeedForUuid"), None);
        assert_eq!(Command::from_name("createuser"), None);
    }
}
