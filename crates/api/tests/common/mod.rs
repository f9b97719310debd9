//! A scripted fake of the Hub commands and loopback servers over it, so the
//! transports are tested without a database, a node or the real `Hub`.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use hub_api::{CommandFuture, HubCommands};
use hub_core::{
    AccountEvent, Answer, Balance, BalanceEvent, CreatedWebhook, DeliveryRow, FeedEvent, HubError, Page,
    RecoverFundsRequest, SignBundleRequest, Stats, SweepDetail, SweepEvent, SweepQuery, Transfer, WebhookInfo,
    WithdrawRequest, WithdrawalView,
};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

/// One call the fake received, with its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    CreateUser(String),
    GetBalance(String),
    GetDepositAddress(String, bool),
    GetUserHistory(String, u64),
    ProcessTransferBatch(Vec<Transfer>, Option<String>),
    GetStats,
    GetAddressInfo(String),
    WasAddressSpentFrom(String, bool),
    BalanceSubscription(u64),
    UserWithdraw(WithdrawRequest),
    UserWithdrawCancel(String),
    WasWithdrawalCancelled(String),
    SweepSubscription(u64),
    SweepInfo(SweepQuery),
    SweepDetail(String),
    SignBundle(SignBundleRequest),
    RecoverFunds(RecoverFundsRequest),
    GetSeedForAddress(String, String),
    GetSeedForUuid(String),
    Feed(u64, u32, Vec<String>),
}

/// Records calls and answers with scripted results; `fail_next` makes the
/// next call fail.
pub struct Fake {
    pub calls: Mutex<Vec<Call>>,
    pub next_error: Mutex<Option<HubError>>,
    pub balance: Balance,
    pub address: String,
    pub history: Vec<AccountEvent>,
    pub events: Vec<BalanceEvent>,
    pub stats: Stats,
    pub owner: String,
    pub spent: bool,
    /// The event feed, by id.
    pub feed: Vec<FeedEvent>,
    pub feed_changes: watch::Sender<()>,
}

impl Default for Fake {
    fn default() -> Self {
        Self {
            calls: Mutex::new(Vec::new()),
            next_error: Mutex::new(None),
            balance: Balance {
                available: 1000,
                pending_deposit: 5,
            },
            address: "A".repeat(81),
            history: Vec::new(),
            events: Vec::new(),
            stats: Stats { total_balance: 4242 },
            owner: "owner".to_owned(),
            spent: true,
            feed: Vec::new(),
            feed_changes: watch::channel(()).0,
        }
    }
}

impl Fake {
    pub fn fail_next(&self, error: HubError) {
        *self.next_error.lock().unwrap() = Some(error);
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    pub fn take_calls(&self) -> Vec<Call> {
        std::mem::take(&mut *self.calls.lock().unwrap())
    }

    fn record(&self, call: Call) -> Result<(), HubError> {
        self.calls.lock().unwrap().push(call);
        match self.next_error.lock().unwrap().take() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    fn answer<'a, T: Send + 'a>(&self, call: Call, value: T) -> CommandFuture<'a, T> {
        let result = self.record(call).map(|()| value);
        Box::pin(async move { result })
    }
}

impl HubCommands for Fake {
    fn create_user<'a>(&'a self, user_id: &'a str) -> CommandFuture<'a, ()> {
        self.answer(Call::CreateUser(user_id.to_owned()), ())
    }

    fn get_balance<'a>(&'a self, user_id: &'a str) -> CommandFuture<'a, Balance> {
        self.answer(Call::GetBalance(user_id.to_owned()), self.balance)
    }

    fn get_deposit_address<'a>(&'a self, user_id: &'a str, include_checksum: bool) -> CommandFuture<'a, String> {
        self.answer(
            Call::GetDepositAddress(user_id.to_owned(), include_checksum),
            self.address.clone(),
        )
    }

    fn get_user_history<'a>(&'a self, user_id: &'a str, newer_than_ms: u64) -> CommandFuture<'a, Vec<AccountEvent>> {
        self.answer(
            Call::GetUserHistory(user_id.to_owned(), newer_than_ms),
            self.history.clone(),
        )
    }

    fn process_transfer_batch<'a>(
        &'a self,
        transfers: &'a [Transfer],
        idempotency_key: Option<&'a str>,
    ) -> CommandFuture<'a, ()> {
        self.answer(
            Call::ProcessTransferBatch(transfers.to_vec(), idempotency_key.map(str::to_owned)),
            (),
        )
    }

    fn get_stats(&self) -> CommandFuture<'_, Stats> {
        self.answer(Call::GetStats, self.stats)
    }

    fn get_address_info<'a>(&'a self, address: &'a str) -> CommandFuture<'a, String> {
        self.answer(Call::GetAddressInfo(address.to_owned()), self.owner.clone())
    }

    fn was_address_spent_from<'a>(&'a self, address: &'a str, validate_checksum: bool) -> CommandFuture<'a, bool> {
        self.answer(
            Call::WasAddressSpentFrom(address.to_owned(), validate_checksum),
            self.spent,
        )
    }

    fn balance_subscription(&self, newer_than_ms: u64) -> CommandFuture<'_, Vec<BalanceEvent>> {
        self.answer(Call::BalanceSubscription(newer_than_ms), self.events.clone())
    }

    fn user_withdraw<'a>(&'a self, request: &'a WithdrawRequest) -> CommandFuture<'a, String> {
        self.answer(Call::UserWithdraw(request.clone()), WITHDRAWAL_UUID.to_string())
    }

    fn user_withdraw_cancel<'a>(&'a self, uuid: &'a str) -> CommandFuture<'a, ()> {
        self.answer(Call::UserWithdrawCancel(uuid.to_owned()), ())
    }

    fn was_withdrawal_cancelled<'a>(&'a self, uuid: &'a str) -> CommandFuture<'a, bool> {
        self.answer(Call::WasWithdrawalCancelled(uuid.to_owned()), true)
    }

    fn sweep_subscription(&self, newer_than_ms: u64) -> CommandFuture<'_, Vec<SweepEvent>> {
        self.answer(
            Call::SweepSubscription(newer_than_ms),
            vec![
                sample_sweep(vec![]),
                sample_sweep(vec![WITHDRAWAL_UUID.into(), "w2".into()]),
            ],
        )
    }

    fn sweep_info<'a>(&'a self, query: &'a SweepQuery) -> CommandFuture<'a, SweepEvent> {
        self.answer(
            Call::SweepInfo(query.clone()),
            sample_sweep(vec![WITHDRAWAL_UUID.into()]),
        )
    }

    fn sweep_detail<'a>(&'a self, bundle_hash: &'a str) -> CommandFuture<'a, SweepDetail> {
        let detail = SweepDetail {
            confirmed: true,
            trytes: vec!["T1".into(), "T2".into()],
            tail_hashes: vec!["NEW".into(), "OLD".into()],
        };
        self.answer(Call::SweepDetail(bundle_hash.to_owned()), detail)
    }

    fn sign_bundle<'a>(&'a self, request: &'a SignBundleRequest) -> CommandFuture<'a, String> {
        self.answer(Call::SignBundle(request.clone()), "SIGNATURE".into())
    }

    fn recover_funds<'a>(&'a self, request: &'a RecoverFundsRequest) -> CommandFuture<'a, String> {
        self.answer(Call::RecoverFunds(request.clone()), "BUNDLE".into())
    }

    fn get_seed_for_address<'a>(&'a self, user_id: &'a str, address: &'a str) -> CommandFuture<'a, String> {
        self.answer(
            Call::GetSeedForAddress(user_id.to_owned(), address.to_owned()),
            "SEED".into(),
        )
    }

    fn get_seed_for_uuid<'a>(&'a self, uuid: &'a str) -> CommandFuture<'a, String> {
        self.answer(Call::GetSeedForUuid(uuid.to_owned()), "SEED".into())
    }

    fn feed<'a>(&'a self, after: u64, limit: u32, types: &'a [String]) -> CommandFuture<'a, Vec<FeedEvent>> {
        let page = self
            .feed
            .iter()
            .filter(|event| event.id > after)
            .take(limit as usize)
            .cloned()
            .collect();
        self.answer(Call::Feed(after, limit, types.to_vec()), page)
    }

    fn feed_changes(&self) -> watch::Receiver<()> {
        self.feed_changes.subscribe()
    }

    fn create_webhook<'a>(
        &'a self,
        _url: &'a str,
        _types: &'a [String],
        _description: &'a str,
    ) -> CommandFuture<'a, CreatedWebhook> {
        Box::pin(async { Err(HubError::Cancelled("webhooks are not scripted".into())) })
    }

    fn webhooks(&self) -> CommandFuture<'_, Vec<WebhookInfo>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    fn delete_webhook(&self, _id: i64) -> CommandFuture<'_, ()> {
        Box::pin(async { Err(HubError::Cancelled("webhooks are not scripted".into())) })
    }

    fn webhook_deliveries(&self, _id: i64, _before: Option<i64>, _limit: u32) -> CommandFuture<'_, Vec<DeliveryRow>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    fn redeliver_webhook(&self, _id: i64, _after: u64) -> CommandFuture<'_, ()> {
        Box::pin(async { Err(HubError::Cancelled("webhooks are not scripted".into())) })
    }

    fn withdrawal_view<'a>(&'a self, _uuid: &'a str) -> CommandFuture<'a, WithdrawalView> {
        Box::pin(async { Err(HubError::Cancelled("withdrawals are not scripted".into())) })
    }

    fn user_history_page<'a>(
        &'a self,
        _user_id: &'a str,
        _cursor: Option<i64>,
        _limit: u32,
    ) -> CommandFuture<'a, Page<AccountEvent>> {
        Box::pin(async { Err(HubError::Cancelled("history pages are not scripted".into())) })
    }

    fn sweeps_page(&self, _cursor: Option<i64>, _limit: u32) -> CommandFuture<'_, Page<SweepEvent>> {
        Box::pin(async { Err(HubError::Cancelled("sweep pages are not scripted".into())) })
    }

    fn recall_answer<'a>(&'a self, _key: &'a str, _operation: &'a str) -> CommandFuture<'a, Option<Answer>> {
        Box::pin(async { Ok(None) })
    }

    fn remember_answer<'a>(
        &'a self,
        _key: &'a str,
        _operation: &'a str,
        _answer: &'a Answer,
    ) -> CommandFuture<'a, Option<Answer>> {
        Box::pin(async { Ok(None) })
    }
}

/// A sweep event with these withdrawals.
pub fn sample_sweep(withdrawal_uuids: Vec<String>) -> SweepEvent {
    SweepEvent {
        bundle_hash: "B".repeat(81),
        timestamp_ms: 1_700_000_000_000,
        withdrawal_uuids,
    }
}

/// The UUID the fake answers `UserWithdraw` with.
pub const WITHDRAWAL_UUID: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";

/// A server on a loopback port, stopped (and awaited) by `stop`.
pub struct Running {
    pub addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Running {
    pub async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.unwrap();
    }
}

/// How a test server is set up: access control off, plaintext, default
/// limits, no allowed origins, unless a test says otherwise.
pub struct Setup {
    pub gate: hub_api::Gate,
    pub tls: Option<Arc<rustls::ServerConfig>>,
    pub limits: hub_api::Limits,
    pub policy: hub_api::HttpPolicy,
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            gate: hub_api::Gate::open(),
            tls: None,
            limits: hub_api::Limits::default(),
            policy: hub_api::HttpPolicy {
                loopback_host_only: true,
                ..hub_api::HttpPolicy::default()
            },
        }
    }
}

async fn listener(setup: &Setup) -> hub_api::Listener {
    hub_api::Listener {
        tcp: tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
        tls: setup.tls.clone(),
        limits: setup.limits,
    }
}

pub async fn start_grpc(fake: Arc<Fake>) -> Running {
    start_grpc_with(fake, Setup::default()).await
}

pub async fn start_grpc_with(fake: Arc<Fake>, setup: Setup) -> Running {
    let listener = listener(&setup).await;
    let addr = listener.tcp.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        hub_api::serve_grpc(listener, fake, Arc::new(setup.gate), async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    Running { addr, stop, task }
}

pub async fn start_http(fake: Arc<Fake>) -> Running {
    start_http_with(fake, Setup::default()).await
}

pub async fn start_http_with(fake: Arc<Fake>, setup: Setup) -> Running {
    let listener = listener(&setup).await;
    let addr = listener.tcp.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        hub_api::serve_http(listener, fake, Arc::new(setup.gate), setup.policy, async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    Running { addr, stop, task }
}

/// Sample events of every kind.
pub mod sample {
    use hub_core::*;

    pub fn deposit() -> AccountEvent {
        AccountEvent {
            user_id: "user/1".into(),
            timestamp_ms: 1_500_000_000_000,
            kind: AccountReason::Sweep,
            amount: 700,
            sweep_bundle_hash: "B".repeat(81),
            withdrawal_uuid: String::new(),
        }
    }

    pub fn withdrawal() -> AccountEvent {
        AccountEvent {
            user_id: "user/1".into(),
            timestamp_ms: 1_500_000_000_001,
            kind: AccountReason::Withdrawal,
            amount: -300,
            sweep_bundle_hash: String::new(),
            withdrawal_uuid: "0b4f6d5e-1c55-4a8e-8f0e-5d1d0a7c1d1e".into(),
        }
    }

    pub fn address_event() -> AddressEvent {
        AddressEvent {
            user_id: "u2".into(),
            address: "C".repeat(81),
            amount: 50,
            reason: AddressReason::Deposit,
            hash: "D".repeat(81),
            timestamp_ms: 7,
            message: "hi".into(),
        }
    }

    pub fn hub_event() -> HubAddressEvent {
        HubAddressEvent {
            hub_address: "E".repeat(81),
            amount: -20,
            reason: HubAddressReason::Outbound,
            sweep_bundle_hash: "F".repeat(81),
            timestamp_ms: 9,
        }
    }

    pub fn balance_events() -> Vec<BalanceEvent> {
        vec![
            BalanceEvent::UserAccount(deposit()),
            BalanceEvent::UserAddress(address_event()),
            BalanceEvent::HubAddress(hub_event()),
            BalanceEvent::UserAccount(withdrawal()),
        ]
    }
}
