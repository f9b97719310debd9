//! The commands the transports call, as an object-safe trait.
//!
//! Servers hold an `Arc<dyn HubCommands>` rather than a `hub_core::Hub`, so
//! that transport behaviour (encoding, error mapping, quirks) is tested with
//! a scripted fake, independent of the database and the node.

use std::future::Future;
use std::pin::Pin;

use hub_core::{
    AccountEvent, Answer, Balance, BalanceEvent, CreatedWebhook, DeliveryRow, FeedEvent, Hub, HubError, Page,
    RecoverFundsRequest, SignBundleRequest, Stats, SweepDetail, SweepEvent, SweepQuery, Transfer, WebhookInfo,
    WithdrawRequest, WithdrawalView,
};
use tokio::sync::watch;

/// The future every command returns: boxed so the trait stays object safe.
pub type CommandFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, HubError>> + Send + 'a>>;

/// Every Hub command (see `hub_core::Hub` for semantics).
pub trait HubCommands: Send + Sync + 'static {
    /// `CreateUser`.
    fn create_user<'a>(&'a self, user_id: &'a str) -> CommandFuture<'a, ()>;
    /// `GetBalance`.
    fn get_balance<'a>(&'a self, user_id: &'a str) -> CommandFuture<'a, Balance>;
    /// `GetDepositAddress`: a new address, with checksum (90 trytes) if asked.
    fn get_deposit_address<'a>(&'a self, user_id: &'a str, include_checksum: bool) -> CommandFuture<'a, String>;
    /// `GetUserHistory`: the user's account events at or after `newer_than_ms`.
    fn get_user_history<'a>(&'a self, user_id: &'a str, newer_than_ms: u64) -> CommandFuture<'a, Vec<AccountEvent>>;
    /// `ProcessTransferBatch` (entries as given; no merging), settled once
    /// per idempotency key.
    fn process_transfer_batch<'a>(
        &'a self,
        transfers: &'a [Transfer],
        idempotency_key: Option<&'a str>,
    ) -> CommandFuture<'a, ()>;
    /// `GetStats`.
    fn get_stats(&self) -> CommandFuture<'_, Stats>;
    /// `GetAddressInfo`: the user owning a deposit address.
    fn get_address_info<'a>(&'a self, address: &'a str) -> CommandFuture<'a, String>;
    /// `WasAddressSpentFrom`.
    fn was_address_spent_from<'a>(&'a self, address: &'a str, validate_checksum: bool) -> CommandFuture<'a, bool>;
    /// `BalanceSubscription`: a snapshot of events at or after `newer_than_ms`.
    fn balance_subscription(&self, newer_than_ms: u64) -> CommandFuture<'_, Vec<BalanceEvent>>;
    /// `UserWithdraw`: the new withdrawal's UUID.
    fn user_withdraw<'a>(&'a self, request: &'a WithdrawRequest) -> CommandFuture<'a, String>;
    /// `UserWithdrawCancel`.
    fn user_withdraw_cancel<'a>(&'a self, uuid: &'a str) -> CommandFuture<'a, ()>;
    /// `WasWithdrawalCancelled`.
    fn was_withdrawal_cancelled<'a>(&'a self, uuid: &'a str) -> CommandFuture<'a, bool>;
    /// `SweepSubscription`.
    fn sweep_subscription(&self, newer_than_ms: u64) -> CommandFuture<'_, Vec<SweepEvent>>;
    /// `SweepInfo`.
    fn sweep_info<'a>(&'a self, query: &'a SweepQuery) -> CommandFuture<'a, SweepEvent>;
    /// `SweepDetail`.
    fn sweep_detail<'a>(&'a self, bundle_hash: &'a str) -> CommandFuture<'a, SweepDetail>;
    /// `SignBundle`: the signature's trytes.
    fn sign_bundle<'a>(&'a self, request: &'a SignBundleRequest) -> CommandFuture<'a, String>;
    /// `RecoverFunds`: the recovery bundle's hash.
    fn recover_funds<'a>(&'a self, request: &'a RecoverFundsRequest) -> CommandFuture<'a, String>;
    /// `GetSeedForAddress`.
    fn get_seed_for_address<'a>(&'a self, user_id: &'a str, address: &'a str) -> CommandFuture<'a, String>;
    /// `GetSeedForUUID`.
    fn get_seed_for_uuid<'a>(&'a self, uuid: &'a str) -> CommandFuture<'a, String>;
    /// The event feed: up to `limit` events after `after`, of `types`.
    fn feed<'a>(&'a self, after: u64, limit: u32, types: &'a [String]) -> CommandFuture<'a, Vec<FeedEvent>>;
    /// Changes when new events may be in the feed.
    fn feed_changes(&self) -> watch::Receiver<()>;
    /// Registers a webhook endpoint.
    fn create_webhook<'a>(
        &'a self,
        url: &'a str,
        types: &'a [String],
        description: &'a str,
    ) -> CommandFuture<'a, CreatedWebhook>;
    /// The webhook endpoints.
    fn webhooks(&self) -> CommandFuture<'_, Vec<WebhookInfo>>;
    /// Deletes a webhook endpoint.
    fn delete_webhook(&self, id: i64) -> CommandFuture<'_, ()>;
    /// A webhook endpoint's delivery attempts, newest first.
    fn webhook_deliveries(&self, id: i64, before: Option<i64>, limit: u32) -> CommandFuture<'_, Vec<DeliveryRow>>;
    /// Delivers a webhook endpoint's events after `after` again.
    fn redeliver_webhook(&self, id: i64, after: u64) -> CommandFuture<'_, ()>;
    /// A withdrawal and where it is.
    fn withdrawal_view<'a>(&'a self, uuid: &'a str) -> CommandFuture<'a, WithdrawalView>;
    /// A page of a user's history.
    fn user_history_page<'a>(
        &'a self,
        user_id: &'a str,
        cursor: Option<i64>,
        limit: u32,
    ) -> CommandFuture<'a, Page<AccountEvent>>;
    /// A page of the sweeps.
    fn sweeps_page(&self, cursor: Option<i64>, limit: u32) -> CommandFuture<'_, Page<SweepEvent>>;
    /// The answer kept for an idempotency key.
    fn recall_answer<'a>(&'a self, key: &'a str, operation: &'a str) -> CommandFuture<'a, Option<Answer>>;
    /// Keeps an answer for an idempotency key; the first kept if another was.
    fn remember_answer<'a>(
        &'a self,
        key: &'a str,
        operation: &'a str,
        answer: &'a Answer,
    ) -> CommandFuture<'a, Option<Answer>>;
}

impl HubCommands for Hub {
    fn create_user<'a>(&'a self, user_id: &'a str) -> CommandFuture<'a, ()> {
        Box::pin(Hub::create_user(self, user_id))
    }

    fn get_balance<'a>(&'a self, user_id: &'a str) -> CommandFuture<'a, Balance> {
        Box::pin(Hub::get_balance(self, user_id))
    }

    fn get_deposit_address<'a>(&'a self, user_id: &'a str, include_checksum: bool) -> CommandFuture<'a, String> {
        Box::pin(Hub::get_deposit_address(self, user_id, include_checksum))
    }

    fn get_user_history<'a>(&'a self, user_id: &'a str, newer_than_ms: u64) -> CommandFuture<'a, Vec<AccountEvent>> {
        Box::pin(Hub::get_user_history(self, user_id, newer_than_ms))
    }

    fn process_transfer_batch<'a>(
        &'a self,
        transfers: &'a [Transfer],
        idempotency_key: Option<&'a str>,
    ) -> CommandFuture<'a, ()> {
        Box::pin(Hub::process_transfer_batch_keyed(self, transfers, idempotency_key))
    }

    fn get_stats(&self) -> CommandFuture<'_, Stats> {
        Box::pin(Hub::get_stats(self))
    }

    fn get_address_info<'a>(&'a self, address: &'a str) -> CommandFuture<'a, String> {
        Box::pin(Hub::get_address_info(self, address))
    }

    fn was_address_spent_from<'a>(&'a self, address: &'a str, validate_checksum: bool) -> CommandFuture<'a, bool> {
        Box::pin(Hub::was_address_spent_from(self, address, validate_checksum))
    }

    fn balance_subscription(&self, newer_than_ms: u64) -> CommandFuture<'_, Vec<BalanceEvent>> {
        Box::pin(Hub::balance_subscription(self, newer_than_ms))
    }

    fn user_withdraw<'a>(&'a self, request: &'a WithdrawRequest) -> CommandFuture<'a, String> {
        Box::pin(Hub::user_withdraw(self, request))
    }

    fn user_withdraw_cancel<'a>(&'a self, uuid: &'a str) -> CommandFuture<'a, ()> {
        Box::pin(Hub::user_withdraw_cancel(self, uuid))
    }

    fn was_withdrawal_cancelled<'a>(&'a self, uuid: &'a str) -> CommandFuture<'a, bool> {
        Box::pin(Hub::was_withdrawal_cancelled(self, uuid))
    }

    fn sweep_subscription(&self, newer_than_ms: u64) -> CommandFuture<'_, Vec<SweepEvent>> {
        Box::pin(Hub::sweep_subscription(self, newer_than_ms))
    }

    fn sweep_info<'a>(&'a self, query: &'a SweepQuery) -> CommandFuture<'a, SweepEvent> {
        Box::pin(Hub::sweep_info(self, query))
    }

    fn sweep_detail<'a>(&'a self, bundle_hash: &'a str) -> CommandFuture<'a, SweepDetail> {
        Box::pin(Hub::sweep_detail(self, bundle_hash))
    }

    fn sign_bundle<'a>(&'a self, r: &'a SignBundleRequest) -> CommandFuture<'a, String> {
        Box::pin(Hub::sign_bundle(self, r))
    }

    fn recover_funds<'a>(&'a self, r: &'a RecoverFundsRequest) -> CommandFuture<'a, String> {
        Box::pin(Hub::recover_funds(self, r))
    }

    fn get_seed_for_address<'a>(&'a self, user_id: &'a str, address: &'a str) -> CommandFuture<'a, String> {
        Box::pin(Hub::get_seed_for_address(self, user_id, address))
    }

    fn get_seed_for_uuid<'a>(&'a self, uuid: &'a str) -> CommandFuture<'a, String> {
        Box::pin(Hub::get_seed_for_uuid(self, uuid))
    }

    fn feed<'a>(&'a self, after: u64, limit: u32, types: &'a [String]) -> CommandFuture<'a, Vec<FeedEvent>> {
        Box::pin(Hub::feed(self, after, limit, types))
    }

    fn feed_changes(&self) -> watch::Receiver<()> {
        Hub::feed_changes(self)
    }

    fn create_webhook<'a>(
        &'a self,
        url: &'a str,
        types: &'a [String],
        description: &'a str,
    ) -> CommandFuture<'a, CreatedWebhook> {
        Box::pin(Hub::create_webhook(self, url, types, description))
    }

    fn webhooks(&self) -> CommandFuture<'_, Vec<WebhookInfo>> {
        Box::pin(Hub::webhooks(self))
    }

    fn delete_webhook(&self, id: i64) -> CommandFuture<'_, ()> {
        Box::pin(Hub::delete_webhook(self, id))
    }

    fn webhook_deliveries(&self, id: i64, before: Option<i64>, limit: u32) -> CommandFuture<'_, Vec<DeliveryRow>> {
        Box::pin(Hub::webhook_deliveries(self, id, before, limit))
    }

    fn redeliver_webhook(&self, id: i64, after: u64) -> CommandFuture<'_, ()> {
        Box::pin(Hub::redeliver_webhook(self, id, after))
    }

    fn withdrawal_view<'a>(&'a self, uuid: &'a str) -> CommandFuture<'a, WithdrawalView> {
        Box::pin(Hub::withdrawal_view(self, uuid))
    }

    fn user_history_page<'a>(
        &'a self,
        user_id: &'a str,
        cursor: Option<i64>,
        limit: u32,
    ) -> CommandFuture<'a, Page<AccountEvent>> {
        Box::pin(Hub::user_history_page(self, user_id, cursor, limit))
    }

    fn sweeps_page(&self, cursor: Option<i64>, limit: u32) -> CommandFuture<'_, Page<SweepEvent>> {
        Box::pin(Hub::sweeps_page(self, cursor, limit))
    }

    fn recall_answer<'a>(&'a self, key: &'a str, operation: &'a str) -> CommandFuture<'a, Option<Answer>> {
        Box::pin(Hub::recall_answer(self, key, operation))
    }

    fn remember_answer<'a>(
        &'a self,
        key: &'a str,
        operation: &'a str,
        answer: &'a Answer,
    ) -> CommandFuture<'a, Option<Answer>> {
        Box::pin(Hub::remember_answer(self, key, operation, answer))
    }
}
