//! Moving money: transfer batches and withdrawals.
//!
//! | path | scope |
//! |---|---|
//! | `POST /v1/transfer-batches {"transfers": [{"userId", "amount"}]}` → 201 | `trade` |
//! | `POST /v1/withdrawals {"userId", "payoutAddress", "amount", "tag", "validateChecksum"}` → 201 | `withdraw` |
//! | `GET /v1/withdrawals/{uuid}` | `read` |
//! | `POST /v1/withdrawals/{uuid}/cancel` | `withdraw` |
//!
//! The two that move money are settled once per `Idempotency-Key` in the
//! transaction that settles them (the key is bound to the batch, or to
//! the user's withdrawal), besides the answer being replayed.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use hub_core::{Transfer, WithdrawRequest, WithdrawalView};

use super::schema::{BatchSettled, NewWithdrawal, TransferBatch, Withdrawal};
use super::{admit, failed, parse_body, remembered, respond, Idempotency};
use crate::command::Command;
use crate::http::Served;
use crate::listen::Peer;

fn withdrawal(view: WithdrawalView) -> Withdrawal {
    Withdrawal {
        uuid: view.uuid,
        user_id: view.user_id,
        amount: view.amount,
        payout_address: view.payout_address,
        tag: view.tag,
        status: view.status.as_str().to_owned(),
        requested_at: view.requested_ms,
        cancelled_at: view.cancelled_ms,
        sweep_bundle_hash: view.sweep_bundle_hash,
        confirmed_tail: view.confirmed_tail,
    }
}

/// Settles a batch of transfers between users: all or nothing, summing to zero.
#[utoipa::path(post, path = "/v1/transfer-batches", tag = "money", request_body = TransferBatch,
    params(super::IdempotencyKeyHeader),
    responses((status = 201, description = "Settled", body = BatchSettled)))]
pub(crate) async fn settle_batch(
    State(served): State<Served>,
    headers: HeaderMap,
    peer: Option<Extension<Peer>>,
    body: Bytes,
) -> Response {
    let call = async {
        admit(
            &served,
            "POST /v1/transfer-batches",
            Command::ProcessTransferBatch.scope(),
            &headers,
            peer.as_deref(),
        )
        .await?;
        let request: TransferBatch = parse_body(&headers, &body)?;
        let idempotency = Idempotency::of(&headers, "POST /v1/transfer-batches", &body)?;
        let key = idempotency.as_ref().map(|i| i.key.clone());
        remembered(&served, idempotency, async {
            let transfers: Vec<Transfer> = request
                .transfers
                .iter()
                .map(|t| Transfer {
                    user_id: t.user_id.clone(),
                    amount: t.amount,
                })
                .collect();
            served
                .commands
                .process_transfer_batch(&transfers, key.as_deref())
                .await
                .map_err(failed)?;
            let settled = BatchSettled {
                transfers: transfers.len(),
            };
            Ok((StatusCode::CREATED, Json(settled)).into_response())
        })
        .await
    };
    respond(call.await)
}

/// Requests a withdrawal: the amount is reserved now and paid by a sweep.
#[utoipa::path(post, path = "/v1/withdrawals", tag = "money", request_body = NewWithdrawal,
    params(super::IdempotencyKeyHeader),
    responses((status = 201, description = "Requested", body = Withdrawal)))]
pub(crate) async fn request(
    State(served): State<Served>,
    headers: HeaderMap,
    peer: Option<Extension<Peer>>,
    body: Bytes,
) -> Response {
    let call = async {
        admit(
            &served,
            "POST /v1/withdrawals",
            Command::UserWithdraw.scope(),
            &headers,
            peer.as_deref(),
        )
        .await?;
        let request: NewWithdrawal = parse_body(&headers, &body)?;
        let idempotency = Idempotency::of(&headers, "POST /v1/withdrawals", &body)?;
        let key = idempotency.as_ref().map(|i| i.key.clone());
        remembered(&served, idempotency, async {
            let uuid = served
                .commands
                .user_withdraw(&WithdrawRequest {
                    user_id: request.user_id.clone(),
                    payout_address: request.payout_address.clone(),
                    amount: request.amount,
                    tag: request.tag.clone(),
                    validate_checksum: request.validate_checksum,
                    idempotency_key: key,
                })
                .await
                .map_err(failed)?;
            let view = served.commands.withdrawal_view(&uuid).await.map_err(failed)?;
            Ok((StatusCode::CREATED, Json(withdrawal(view))).into_response())
        })
        .await
    };
    respond(call.await)
}

/// A withdrawal and where it is: `requested`, `cancelled`, `swept` (in a
/// sweep not confirmed yet) or `confirmed` (paid).
#[utoipa::path(get, path = "/v1/withdrawals/{uuid}", tag = "money",
    params(("uuid" = String, Path, description = "The withdrawal's UUID")),
    responses((status = 200, description = "The withdrawal", body = Withdrawal)))]
pub(crate) async fn get(
    State(served): State<Served>,
    headers: HeaderMap,
    peer: Option<Extension<Peer>>,
    Path(uuid): Path<String>,
) -> Response {
    let call = async {
        admit(
            &served,
            "GET /v1/withdrawals",
            Command::WasWithdrawalCancelled.scope(),
            &headers,
            peer.as_deref(),
        )
        .await?;
        let view = served.commands.withdrawal_view(&uuid).await.map_err(failed)?;
        Ok(Json(withdrawal(view)).into_response())
    };
    respond(call.await)
}

/// Cancels a withdrawal no sweep has taken yet; the amount is given back.
#[utoipa::path(post, path = "/v1/withdrawals/{uuid}/cancel", tag = "money",
    params(("uuid" = String, Path, description = "The withdrawal's UUID"), super::IdempotencyKeyHeader),
    responses((status = 200, description = "Cancelled", body = Withdrawal)))]
pub(crate) async fn cancel(
    State(served): State<Served>,
    headers: HeaderMap,
    peer: Option<Extension<Peer>>,
    Path(uuid): Path<String>,
    body: Bytes,
) -> Response {
    let call = async {
        admit(
            &served,
            "POST /v1/withdrawals/cancel",
            Command::UserWithdrawCancel.scope(),
            &headers,
            peer.as_deref(),
        )
        .await?;
        let operation = format!("POST /v1/withdrawals/{uuid}/cancel");
        remembered(&served, Idempotency::of(&headers, &operation, &body)?, async {
            served.commands.user_withdraw_cancel(&uuid).await.map_err(failed)?;
            let view = served.commands.withdrawal_view(&uuid).await.map_err(failed)?;
            Ok(Json(withdrawal(view)).into_response())
        })
        .await
    };
    respond(call.await)
}
