//! The gRPC services: `hub.rpc.Hub` (the original's) and `hub.v1.Events`
//! (the event feed, `Watch`).
//!
//! Translates between the wire messages of the original Hub and the
//! [`HubCommands`], and maps every `HubError` to a status the original's
//! clients understand: CANCELLED for "disabled/not found", otherwise
//! FAILED_PRECONDITION with a readable message and a serialized
//! `hub.rpc.Error { code }` in the details (hub-behaviour.md §2.1.1, §2.2).
//! Every call first passes the access [`Gate`] ([`Guarded`]): its refusals
//! are UNAUTHENTICATED, PERMISSION_DENIED, RESOURCE_EXHAUSTED (with a
//! `retry-after-ms` trailer) or UNAVAILABLE, and an admitted call runs in
//! its caller's audit context.

// tonic's API returns `Result<_, Status>` everywhere; `Status` is large by design.
#![allow(clippy::result_large_err)]

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use hub_core::{acting, AccountEvent, BalanceEvent, HubError, LegacyName, Transfer};
use prost::Message;
use tokio_stream::Stream;
use tonic::{Code, Request, Response, Status};

use hub_core::Scope;
use tokio_stream::StreamExt;

use crate::auth::{Credentials, Gate, Refusal};
use crate::command::Command;
use crate::commands::HubCommands;
use crate::feed::follow;
use crate::listen::{self, Listener, Peer, Protocol};
use crate::proto::hub as pb;
use crate::proto::hub::hub_server::{Hub, HubServer};
use crate::proto::v1;
use crate::proto::v1::events_server::{Events, EventsServer};

/// The path of `hub.v1.Events/Watch`, which needs the `read` scope.
const WATCH_PATH: &str = "/hub.v1.Events/Watch";

/// The `hub.rpc.Hub` implementation over some [`HubCommands`].
#[derive(Clone)]
pub struct HubService {
    commands: Arc<dyn HubCommands>,
}

impl HubService {
    /// A service calling `commands`.
    pub fn new(commands: Arc<dyn HubCommands>) -> Self {
        Self { commands }
    }
}

/// The tonic service, unguarded (transport tests drive it directly).
pub fn grpc_service(commands: Arc<dyn HubCommands>) -> HubServer<HubService> {
    HubServer::new(HubService::new(commands))
}

/// Serves `hub.rpc.Hub` on `listener`, every call through `gate`, until
/// `shutdown` completes.
pub async fn serve_grpc(
    listener: Listener,
    commands: Arc<dyn HubCommands>,
    gate: Arc<Gate>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let routes = tonic::service::Routes::new(grpc_service(commands.clone()))
        .add_service(EventsServer::new(EventsService { commands }));
    let service = Guarded { inner: routes, gate };
    listen::serve(listener, Protocol::Http2, service, shutdown).await
}

/// A gRPC service behind the access [`Gate`]: a `hub.rpc.Hub` method is
/// its [`Command`], `hub.v1.Events/Watch` needs `read`; unknown methods
/// pass through (tonic answers UNIMPLEMENTED).
#[derive(Clone)]
pub struct Guarded<S> {
    inner: S,
    gate: Arc<Gate>,
}

impl<S, B> tower::Service<http::Request<B>> for Guarded<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<tonic::body::Body>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        // The clone that was polled ready serves this call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let gate = self.gate.clone();
        Box::pin(async move {
            let path = request.uri().path();
            let command = path.strip_prefix("/hub.rpc.Hub/").and_then(Command::from_name);
            let watch = path == WATCH_PATH;
            if command.is_none() && !watch {
                return inner.call(request).await;
            }
            let credentials = Credentials {
                authorization: request
                    .headers()
                    .get(http::header::AUTHORIZATION)
                    .and_then(|value| value.to_str().ok()),
                client_cn: request
                    .extensions()
                    .get::<Peer>()
                    .and_then(|peer| peer.client_cn.as_deref()),
            };
            let admitted = match command {
                Some(command) => gate.admit(command, credentials).await,
                None => gate.admit_to(&WATCH_PATH[1..], Scope::Read, credentials).await,
            };
            match (admitted, command) {
                (Ok(admitted), Some(command)) => acting(admitted.acting(command), inner.call(request)).await,
                (Ok(_), None) => inner.call(request).await,
                (Err(refusal), _) => Ok(refusal_status(&refusal).into_http()),
            }
        })
    }
}

/// The status of a call the gate refused.
pub fn refusal_status(refusal: &Refusal) -> Status {
    let message = refusal.message().to_owned();
    match refusal {
        Refusal::Unauthenticated(_) => Status::unauthenticated(message),
        Refusal::PermissionDenied(_) => Status::permission_denied(message),
        Refusal::Unavailable(_) => Status::unavailable(message),
        Refusal::RateLimited { retry_after, .. } => {
            let mut status = Status::resource_exhausted(message);
            if let Ok(value) = retry_after.as_millis().max(1).to_string().parse() {
                status.metadata_mut().insert("retry-after-ms", value);
            }
            status
        }
    }
}

/// The status for a failed command.
pub fn error_status(error: &HubError) -> Status {
    if error.is_cancelled() {
        return Status::cancelled(error.to_string());
    }
    if error.is_overloaded() {
        return refusal_status(&Refusal::RateLimited {
            message: error.to_string(),
            retry_after: crate::http::OVERLOADED_RETRY_AFTER,
        });
    }
    if matches!(error, HubError::Internal(_)) {
        tracing::warn!(%error, ?error, "command failed with an internal error");
    }
    let details = pb::Error {
        code: error.code() as i32,
    }
    .encode_to_vec();
    Status::with_details(Code::FailedPrecondition, error.to_string(), details.into())
}

/// A sweep event; a sweep without withdrawals has an empty UUID list (the
/// original sent one empty string).
pub fn sweep_event(event: hub_core::SweepEvent) -> pb::SweepEvent {
    pb::SweepEvent {
        bundle_hash: event.bundle_hash,
        timestamp: event.timestamp_ms,
        withdrawal_uuid: event.withdrawal_uuids,
    }
}

/// The wire form of a user-account event.
pub fn account_event(event: AccountEvent) -> pb::UserAccountBalanceEvent {
    pb::UserAccountBalanceEvent {
        user_id: event.user_id,
        timestamp: event.timestamp_ms,
        r#type: event.kind.proto(),
        amount: event.amount,
        sweep_bundle_hash: event.sweep_bundle_hash,
        withdrawal_uuid: event.withdrawal_uuid,
    }
}

/// The wire form of one `BalanceSubscription` event.
pub fn balance_event(event: BalanceEvent) -> pb::BalanceEvent {
    use pb::balance_event::TheEvent;
    let the_event = match event {
        BalanceEvent::UserAccount(event) => TheEvent::UserAccountEvent(account_event(event)),
        BalanceEvent::UserAddress(event) => TheEvent::UserAddressEvent(pb::UserAddressBalanceEvent {
            user_id: event.user_id,
            user_address: event.address,
            amount: event.amount,
            reason: event.reason.proto(),
            hash: event.hash,
            timestamp: event.timestamp_ms,
            message: event.message,
        }),
        BalanceEvent::HubAddress(event) => TheEvent::HubAddressEvent(pb::HubAddressBalanceEvent {
            hub_address: event.hub_address,
            amount: event.amount,
            reason: event.reason.proto(),
            sweep_bundle_hash: event.sweep_bundle_hash,
            timestamp: event.timestamp_ms,
        }),
    };
    pb::BalanceEvent {
        the_event: Some(the_event),
    }
}

/// A finite server stream.
type Snapshot<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl Hub for HubService {
    async fn create_user(
        &self,
        request: Request<pb::CreateUserRequest>,
    ) -> Result<Response<pb::CreateUserReply>, Status> {
        let request = request.into_inner();
        self.commands
            .create_user(&request.user_id)
            .await
            .map_err(|e| error_status(&e))?;
        Ok(Response::new(pb::CreateUserReply {}))
    }

    async fn get_balance(
        &self,
        request: Request<pb::GetBalanceRequest>,
    ) -> Result<Response<pb::GetBalanceReply>, Status> {
        let request = request.into_inner();
        let balance = self
            .commands
            .get_balance(&request.user_id)
            .await
            .map_err(|e| error_status(&e))?;
        Ok(Response::new(pb::GetBalanceReply {
            available: balance.available,
            pending_deposit: balance.pending_deposit,
        }))
    }

    async fn get_deposit_address(
        &self,
        request: Request<pb::GetDepositAddressRequest>,
    ) -> Result<Response<pb::GetDepositAddressReply>, Status> {
        let request = request.into_inner();
        let address = self
            .commands
            .get_deposit_address(&request.user_id, request.include_checksum)
            .await
            .map_err(|e| error_status(&e))?;
        Ok(Response::new(pb::GetDepositAddressReply { address }))
    }

    async fn user_withdraw(
        &self,
        request: Request<pb::UserWithdrawRequest>,
    ) -> Result<Response<pb::UserWithdrawReply>, Status> {
        let request = request.into_inner();
        let withdraw = hub_core::WithdrawRequest {
            user_id: request.user_id,
            payout_address: request.payout_address,
            amount: request.amount,
            tag: request.tag,
            validate_checksum: request.validate_checksum,
            idempotency_key: Some(request.idempotency_key).filter(|k| !k.is_empty()),
        };
        let uuid = self
            .commands
            .user_withdraw(&withdraw)
            .await
            .map_err(|e| error_status(&e))?;
        Ok(Response::new(pb::UserWithdrawReply { uuid }))
    }

    async fn user_withdraw_cancel(
        &self,
        request: Request<pb::UserWithdrawCancelRequest>,
    ) -> Result<Response<pb::UserWithdrawCancelReply>, Status> {
        let request = request.into_inner();
        self.commands
            .user_withdraw_cancel(&request.uuid)
            .await
            .map_err(|e| error_status(&e))?;
        Ok(Response::new(pb::UserWithdrawCancelReply { success: true }))
    }

    async fn get_user_history(
        &self,
        request: Request<pb::GetUserHistoryRequest>,
    ) -> Result<Response<pb::GetUserHistoryReply>, Status> {
        // The original ignored both request fields (hub-behaviour.md §2.3.6 [BUG]).
        let request = request.into_inner();
        let events = self
            .commands
            .get_user_history(&request.user_id, request.newer_than)
            .await
            .map_err(|e| error_status(&e))?;
        Ok(Response::new(pb::GetUserHistoryReply {
            events: events.into_iter().map(account_event).collect(),
        }))
    }

    async fn process_transfer_batch(
        &self,
        request: Request<pb::ProcessTransferBatchRequest>,
    ) -> Result<Response<pb::ProcessTransferBatchReply>, Status> {
        // gRPC passes entries through unmerged, as the original did (§2.3.7).
        let request = request.into_inner();
        let key = Some(request.idempotency_key.as_str()).filter(|k| !k.is_empty());
        let transfers: Vec<Transfer> = request
            .transfers
            .into_iter()
            .map(|t| Transfer {
                user_id: t.user_id,
                amount: t.amount,
            })
            .collect();
        self.commands
            .process_transfer_batch(&transfers, key)
            .await
            .map_err(|e| error_status(&e))?;
        Ok(Response::new(pb::ProcessTransferBatchReply {}))
    }

    type BalanceSubscriptionStream = Snapshot<pb::BalanceEvent>;

    async fn balance_subscription(
        &self,
        request: Request<pb::BalanceSubscriptionRequest>,
    ) -> Result<Response<Self::BalanceSubscriptionStream>, Status> {
        let request = request.into_inner();
        let events = self
            .commands
            .balance_subscription(request.newer_than)
            .await
            .map_err(|e| error_status(&e))?;
        let stream = tokio_stream::iter(events.into_iter().map(|event| Ok(balance_event(event))));
        Ok(Response::new(Box::pin(stream)))
    }

    async fn get_stats(&self, _: Request<pb::GetStatsRequest>) -> Result<Response<pb::GetStatsReply>, Status> {
        let stats = self.commands.get_stats().await.map_err(|e| error_status(&e))?;
        Ok(Response::new(pb::GetStatsReply {
            total_balance: stats.total_balance,
        }))
    }

    type SweepSubscriptionStream = Snapshot<pb::SweepEvent>;

    async fn sweep_subscription(
        &self,
        request: Request<pb::SweepSubscriptionRequest>,
    ) -> Result<Response<Self::SweepSubscriptionStream>, Status> {
        let request = request.into_inner();
        let events = self
            .commands
            .sweep_subscription(request.newer_than)
            .await
            .map_err(|e| error_status(&e))?;
        let stream = tokio_stream::iter(events.into_iter().map(|event| Ok(sweep_event(event))));
        Ok(Response::new(Box::pin(stream)))
    }

    async fn get_address_info(
        &self,
        request: Request<pb::GetAddressInfoRequest>,
    ) -> Result<Response<pb::GetAddressInfoReply>, Status> {
        let request = request.into_inner();
        let user_id = self
            .commands
            .get_address_info(&request.address)
            .await
            .map_err(|e| error_status(&e))?;
        Ok(Response::new(pb::GetAddressInfoReply { user_id }))
    }

    async fn sweep_info(&self, request: Request<pb::SweepInfoRequest>) -> Result<Response<pb::SweepEvent>, Status> {
        use pb::sweep_info_request::RequestBy;
        let query = match request.into_inner().request_by {
            Some(RequestBy::WithdrawalUuid(uuid)) => hub_core::SweepQuery::WithdrawalUuid(uuid),
            Some(RequestBy::BundleHash(hash)) => hub_core::SweepQuery::BundleHash(hash),
            None => return Err(error_status(&HubError::MissingArgument("requestBy"))),
        };
        let event = self.commands.sweep_info(&query).await.map_err(|e| error_status(&e))?;
        Ok(Response::new(sweep_event(event)))
    }

    async fn sign_bundle(
        &self,
        request: Request<pb::SignBundleRequest>,
    ) -> Result<Response<pb::SignBundleReply>, Status> {
        let request = request.into_inner();
        let request = hub_core::SignBundleRequest {
            address: request.address,
            bundle_hash: request.bundle_hash,
            authentication: request.authentication,
            validate_checksum: request.validate_checksum,
        };
        let signature = self
            .commands
            .sign_bundle(&request)
            .await
            .map_err(|e| error_status(&e))?;
        Ok(Response::new(pb::SignBundleReply { signature }))
    }

    async fn sweep_detail(
        &self,
        request: Request<pb::SweepDetailRequest>,
    ) -> Result<Response<pb::SweepDetailReply>, Status> {
        let request = request.into_inner();
        let detail = self
            .commands
            .sweep_detail(&request.bundle_hash)
            .await
            .map_err(|e| error_status(&e))?;
        Ok(Response::new(pb::SweepDetailReply {
            confirmed: detail.confirmed,
            trytes: detail.trytes,
            tail_hash: detail.tail_hashes,
        }))
    }

    async fn was_withdrawal_cancelled(
        &self,
        request: Request<pb::WasWithdrawalCancelledRequest>,
    ) -> Result<Response<pb::WasWithdrawalCancelledReply>, Status> {
        let request = request.into_inner();
        let was_cancelled = self
            .commands
            .was_withdrawal_cancelled(&request.uuid)
            .await
            .map_err(|e| error_status(&e))?;
        Ok(Response::new(pb::WasWithdrawalCancelledReply { was_cancelled }))
    }

    async fn was_address_spent_from(
        &self,
        request: Request<pb::WasAddressSpentFromRequest>,
    ) -> Result<Response<pb::WasAddressSpentFromReply>, Status> {
        let request = request.into_inner();
        let spent = self
            .commands
            .was_address_spent_from(&request.address, request.validate_checksum)
            .await
            .map_err(|e| error_status(&e))?;
        Ok(Response::new(pb::WasAddressSpentFromReply {
            was_address_spent_from: spent,
        }))
    }

    async fn recover_funds(
        &self,
        request: Request<pb::RecoverFundsRequest>,
    ) -> Result<Response<pb::RecoverFundsReply>, Status> {
        let request = request.into_inner();
        let request = hub_core::RecoverFundsRequest {
            user_id: request.user_id,
            address: request.address,
            validate_checksum: request.validate_checksum,
            payout_address: request.payout_address,
        };
        self.commands
            .recover_funds(&request)
            .await
            .map_err(|e| error_status(&e))?;
        Ok(Response::new(pb::RecoverFundsReply {}))
    }

    async fn get_seed_for_address(
        &self,
        request: Request<pb::GetSeedForAddressRequest>,
    ) -> Result<Response<pb::GetSeedForAddressReply>, Status> {
        let request = request.into_inner();
        let seed = self
            .commands
            .get_seed_for_address(&request.user_id, &request.address)
            .await
            .map_err(|e| error_status(&e))?;
        Ok(Response::new(pb::GetSeedForAddressReply { seed }))
    }

    async fn get_seed_for_uuid(
        &self,
        request: Request<pb::GetSeedForUuidRequest>,
    ) -> Result<Response<pb::GetSeedForUuidReply>, Status> {
        let request = request.into_inner();
        let seed = self
            .commands
            .get_seed_for_uuid(&request.uuid)
            .await
            .map_err(|e| error_status(&e))?;
        Ok(Response::new(pb::GetSeedForUuidReply { seed }))
    }
}

/// `hub.v1.Events`: the event feed over some [`HubCommands`].
#[derive(Clone)]
pub struct EventsService {
    commands: Arc<dyn HubCommands>,
}

/// The wire form of a feed event.
fn wire_event(event: hub_core::FeedEvent) -> v1::Event {
    v1::Event {
        id: event.id,
        timestamp: event.timestamp(),
        data_json: serde_json::Value::Object(event.data).to_string(),
        r#type: event.event_type.to_owned(),
    }
}

#[tonic::async_trait]
impl Events for EventsService {
    type WatchStream = Snapshot<v1::Event>;

    /// The events after `after`, then each new one as it commits, until
    /// the client goes away. Unknown types are refused before streaming.
    async fn watch(&self, request: Request<v1::WatchRequest>) -> Result<Response<Self::WatchStream>, Status> {
        let request = request.into_inner();
        self.commands
            .feed(request.after, 1, &request.types)
            .await
            .map_err(|e| error_status(&e))?;
        let events = follow(self.commands.clone(), request.after, request.types)
            .map(|event| event.map(wire_event).map_err(|e| error_status(&e)));
        Ok(Response::new(Box::pin(events)))
    }
}
