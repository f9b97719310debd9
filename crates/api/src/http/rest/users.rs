//! Users, their balances, deposit addresses and history.
//!
//! | path | scope |
//! |---|---|
//! | `POST /v1/users {"userId"}` → 201 | `deposit` |
//! | `GET /v1/users/{userId}` | `read` |
//! | `POST /v1/users/{userId}/deposit-addresses {"includeChecksum"}` → 201 | `deposit` |
//! | `GET /v1/users/{userId}/history?cursor=&limit=` | `read` |

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use hub_core::LegacyName;

use super::schema::{DepositAddress, HistoryEntry, HistoryPage, NewDepositAddress, NewUser, User};
use super::{admit, failed, page_query, parse_body, remembered, respond, Idempotency, PAGE_DEFAULT};
use crate::command::Command;
use crate::http::Served;
use crate::listen::Peer;

/// Creates a user.
#[utoipa::path(post, path = "/v1/users", tag = "users", request_body = NewUser,
    params(super::IdempotencyKeyHeader),
    responses((status = 201, description = "Created", body = User)))]
pub(crate) async fn create(
    State(served): State<Served>,
    headers: HeaderMap,
    peer: Option<Extension<Peer>>,
    body: Bytes,
) -> Response {
    let call = async {
        admit(
            &served,
            "POST /v1/users",
            Command::CreateUser.scope(),
            &headers,
            peer.as_deref(),
        )
        .await?;
        let request: NewUser = parse_body(&headers, &body)?;
        remembered(&served, Idempotency::of(&headers, "POST /v1/users", &body)?, async {
            served.commands.create_user(&request.user_id).await.map_err(failed)?;
            let user = User {
                user_id: request.user_id.clone(),
                available: 0,
                pending_deposit: 0,
            };
            Ok((StatusCode::CREATED, Json(user)).into_response())
        })
        .await
    };
    respond(call.await)
}

/// A user's balances.
#[utoipa::path(get, path = "/v1/users/{userId}", tag = "users",
    params(("userId" = String, Path, description = "The exchange's id for the user")),
    responses((status = 200, description = "The user", body = User)))]
pub(crate) async fn get(
    State(served): State<Served>,
    headers: HeaderMap,
    peer: Option<Extension<Peer>>,
    Path(user_id): Path<String>,
) -> Response {
    let call = async {
        admit(
            &served,
            "GET /v1/users",
            Command::GetBalance.scope(),
            &headers,
            peer.as_deref(),
        )
        .await?;
        let balance = served.commands.get_balance(&user_id).await.map_err(failed)?;
        Ok(Json(User {
            user_id,
            available: balance.available,
            pending_deposit: balance.pending_deposit,
        })
        .into_response())
    };
    respond(call.await)
}

/// A new deposit address of a user (every call gives another; use each once).
#[utoipa::path(post, path = "/v1/users/{userId}/deposit-addresses", tag = "users",
    request_body(content = Option<NewDepositAddress>, description = "Options; an empty body takes the defaults"),
    params(("userId" = String, Path, description = "The exchange's id for the user"), super::IdempotencyKeyHeader),
    responses((status = 201, description = "Created", body = DepositAddress)))]
pub(crate) async fn new_deposit_address(
    State(served): State<Served>,
    headers: HeaderMap,
    peer: Option<Extension<Peer>>,
    Path(user_id): Path<String>,
    body: Bytes,
) -> Response {
    let call = async {
        admit(
            &served,
            "POST /v1/users/deposit-addresses",
            Command::GetDepositAddress.scope(),
            &headers,
            peer.as_deref(),
        )
        .await?;
        let request: NewDepositAddress = if body.is_empty() {
            NewDepositAddress::default()
        } else {
            parse_body(&headers, &body)?
        };
        let operation = format!("POST /v1/users/{user_id}/deposit-addresses");
        remembered(&served, Idempotency::of(&headers, &operation, &body)?, async {
            let address = served
                .commands
                .get_deposit_address(&user_id, request.include_checksum)
                .await
                .map_err(failed)?;
            Ok((StatusCode::CREATED, Json(DepositAddress { address })).into_response())
        })
        .await
    };
    respond(call.await)
}

/// A user's account ledger, oldest first, a page at a time.
#[utoipa::path(get, path = "/v1/users/{userId}/history", tag = "users",
    params(("userId" = String, Path, description = "The exchange's id for the user"), super::PageParams),
    responses((status = 200, description = "A page of the history", body = HistoryPage)))]
pub(crate) async fn history(
    State(served): State<Served>,
    headers: HeaderMap,
    peer: Option<Extension<Peer>>,
    Path(user_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let call = async {
        admit(
            &served,
            "GET /v1/users/history",
            Command::GetUserHistory.scope(),
            &headers,
            peer.as_deref(),
        )
        .await?;
        let (cursor, limit) = page_query(query.as_deref(), "cursor", PAGE_DEFAULT)?;
        let page = served
            .commands
            .user_history_page(&user_id, cursor, limit)
            .await
            .map_err(failed)?;
        let entries = page
            .items
            .into_iter()
            .map(|event| HistoryEntry {
                timestamp_ms: event.timestamp_ms,
                reason: event.kind.http_name().to_owned(),
                amount: event.amount,
                sweep_bundle_hash: Some(event.sweep_bundle_hash).filter(|h| !h.is_empty()),
                withdrawal_uuid: Some(event.withdrawal_uuid).filter(|u| !u.is_empty()),
            })
            .collect();
        Ok(Json(HistoryPage {
            entries,
            next: page.next,
        })
        .into_response())
    };
    respond(call.await)
}
