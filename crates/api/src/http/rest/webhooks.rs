//! Webhook endpoints over REST; every call needs the `admin` scope (an
//! endpoint receives every event it subscribes to, and names a URL Hub
//! will call).
//!
//! | path | answer |
//! |---|---|
//! | `POST /v1/webhooks {"url", "types": […], "description"}` | 201, the endpoint with its `secret` (`whsec_…`), shown this once |
//! | `GET /v1/webhooks` | `{"webhooks": […]}` |
//! | `DELETE /v1/webhooks/{id}` | 204 |
//! | `GET /v1/webhooks/{id}/deliveries?before=ID&limit=N` | `{"deliveries": […], "next": ID or null}`: attempts newest first; `next` is the `before` of the next page |
//! | `POST /v1/webhooks/{id}/redeliver {"after": ID}` | 202: the events after `after` are sent again, in order |

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use hub_core::{DeliveryRow, Scope, WebhookInfo};
use utoipa::IntoParams;

use super::schema::{Delivery, DeliveryPage, Disabled, NewWebhook, Redeliver, Webhook, WebhookList};
use super::{
    admit, error_problem, failed, invalid, page_query, parse_body, remembered, respond, Idempotency, PAGE_DEFAULT,
};
use crate::http::Served;
use crate::listen::Peer;

fn webhook(info: WebhookInfo, secret: Option<String>) -> Webhook {
    Webhook {
        id: info.id,
        url: info.url,
        types: info.types,
        description: info.description,
        acknowledged: info.acknowledged,
        failures: info.failures,
        failing_since: info.failing_since_ms,
        next_attempt: info.next_attempt_ms,
        created: info.created_ms,
        disabled: info.disabled.map(|(at, why)| Disabled { at, why }),
        secret,
    }
}

fn delivery(row: DeliveryRow) -> Delivery {
    Delivery {
        id: row.id,
        event_id: row.event_id,
        attempt: row.attempt,
        status_code: row.status_code,
        error: row.error,
        duration_ms: row.duration_ms,
        attempted_at: row.attempted_at,
        next_retry_at: row.next_retry_at,
    }
}

/// The endpoint id in a path.
fn webhook_id(raw: &str) -> Result<i64, Response> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| error_problem(&invalid("id", format!("id must be a positive integer, got {raw:?}"))))
}

/// Registers an endpoint; it receives the events committed from now on.
#[utoipa::path(post, path = "/v1/webhooks", tag = "webhooks", request_body = NewWebhook,
    params(super::IdempotencyKeyHeader),
    responses((status = 201, description = "Registered; the secret is shown this once", body = Webhook)))]
pub(crate) async fn create(
    State(served): State<Served>,
    headers: HeaderMap,
    peer: Option<Extension<Peer>>,
    body: Bytes,
) -> Response {
    let call = async {
        admit(&served, "POST /v1/webhooks", Scope::Admin, &headers, peer.as_deref()).await?;
        let request: NewWebhook = parse_body(&headers, &body)?;
        remembered(&served, Idempotency::of(&headers, "POST /v1/webhooks", &body)?, async {
            let created = served
                .commands
                .create_webhook(&request.url, &request.types, &request.description)
                .await
                .map_err(failed)?;
            let body = webhook(created.webhook, Some(created.secret));
            Ok((StatusCode::CREATED, Json(body)).into_response())
        })
        .await
    };
    respond(call.await)
}

/// The endpoints, by id (never their secrets).
#[utoipa::path(get, path = "/v1/webhooks", tag = "webhooks",
    responses((status = 200, description = "The endpoints", body = WebhookList)))]
pub(crate) async fn list(State(served): State<Served>, headers: HeaderMap, peer: Option<Extension<Peer>>) -> Response {
    let call = async {
        admit(&served, "GET /v1/webhooks", Scope::Admin, &headers, peer.as_deref()).await?;
        let webhooks = served.commands.webhooks().await.map_err(failed)?;
        let webhooks = webhooks.into_iter().map(|info| webhook(info, None)).collect();
        Ok(Json(WebhookList { webhooks }).into_response())
    };
    respond(call.await)
}

/// Deletes an endpoint: it receives nothing more.
#[utoipa::path(delete, path = "/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = i64, Path, description = "The endpoint's id")),
    responses((status = 204, description = "Deleted")))]
pub(crate) async fn delete(
    State(served): State<Served>,
    headers: HeaderMap,
    peer: Option<Extension<Peer>>,
    Path(id): Path<String>,
) -> Response {
    let call = async {
        admit(&served, "DELETE /v1/webhooks", Scope::Admin, &headers, peer.as_deref()).await?;
        let id = webhook_id(&id)?;
        served.commands.delete_webhook(id).await.map_err(failed)?;
        Ok(StatusCode::NO_CONTENT.into_response())
    };
    respond(call.await)
}

/// Which delivery attempts to show.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveriesQuery {
    /// The `next` of the page before (absent: the newest).
    pub before: Option<i64>,
    /// Attempts per page, 1 to 1000 (default 100).
    pub limit: Option<u32>,
}

/// An endpoint's delivery attempts, newest first.
#[utoipa::path(get, path = "/v1/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = i64, Path, description = "The endpoint's id"), DeliveriesQuery),
    responses((status = 200, description = "A page of the delivery log", body = DeliveryPage)))]
pub(crate) async fn deliveries(
    State(served): State<Served>,
    headers: HeaderMap,
    peer: Option<Extension<Peer>>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let call = async {
        admit(
            &served,
            "GET /v1/webhooks/deliveries",
            Scope::Admin,
            &headers,
            peer.as_deref(),
        )
        .await?;
        let id = webhook_id(&id)?;
        let (before, limit) = page_query(query.as_deref(), "before", PAGE_DEFAULT)?;
        let rows = served
            .commands
            .webhook_deliveries(id, before, limit)
            .await
            .map_err(failed)?;
        let full = rows.len() == limit as usize;
        let next = rows.last().filter(|_| full).map(|row| row.id);
        let deliveries = rows.into_iter().map(delivery).collect();
        Ok(Json(DeliveryPage { deliveries, next }).into_response())
    };
    respond(call.await)
}

/// Sends an endpoint's events after `after` again, in order (and enables
/// it if it was disabled).
#[utoipa::path(post, path = "/v1/webhooks/{id}/redeliver", tag = "webhooks", request_body = Redeliver,
    params(("id" = i64, Path, description = "The endpoint's id"), super::IdempotencyKeyHeader),
    responses((status = 202, description = "Accepted: the events go out again")))]
pub(crate) async fn redeliver(
    State(served): State<Served>,
    headers: HeaderMap,
    peer: Option<Extension<Peer>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let call = async {
        admit(
            &served,
            "POST /v1/webhooks/redeliver",
            Scope::Admin,
            &headers,
            peer.as_deref(),
        )
        .await?;
        let id = webhook_id(&id)?;
        let request: Redeliver = parse_body(&headers, &body)?;
        let operation = format!("POST /v1/webhooks/{id}/redeliver");
        remembered(&served, Idempotency::of(&headers, &operation, &body)?, async {
            served
                .commands
                .redeliver_webhook(id, request.after)
                .await
                .map_err(failed)?;
            Ok(StatusCode::ACCEPTED.into_response())
        })
        .await
    };
    respond(call.await)
}
