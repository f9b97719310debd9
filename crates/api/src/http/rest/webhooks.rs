//! Webhook endpoints over REST; every call needs the `admin` scope (an
//! endpoint receives every event it subscribes to, and names a URL Hub
//! will call).
//!
//! | path | answer |
//! |---|---|
//! | `POST /v1/webhooks {"url", "types": […], "description"}` | 201 `{"id", "secret", …}`: the secret (`whsec_…`) is shown this once |
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
use serde_json::{json, Value};

use super::{admit, error_problem, id_in_path, invalid, json_body};
use crate::http::Served;
use crate::listen::Peer;

/// Delivery attempts per page when the caller names no limit.
pub const DELIVERIES_PAGE_DEFAULT: u32 = 100;

fn webhook_json(webhook: &WebhookInfo) -> Value {
    json!({
        "id": webhook.id,
        "url": webhook.url,
        "types": webhook.types,
        "description": webhook.description,
        "acknowledged": webhook.acknowledged,
        "failures": webhook.failures,
        "failingSince": webhook.failing_since_ms,
        "nextAttempt": webhook.next_attempt_ms,
        "created": webhook.created_ms,
        "disabled": webhook.disabled.as_ref().map(|(at, why)| json!({ "at": at, "why": why })),
    })
}

fn delivery_json(delivery: &DeliveryRow) -> Value {
    json!({
        "id": delivery.id,
        "eventId": delivery.event_id,
        "attempt": delivery.attempt,
        "statusCode": delivery.status_code,
        "error": delivery.error,
        "durationMs": delivery.duration_ms,
        "attemptedAt": delivery.attempted_at,
        "nextRetryAt": delivery.next_retry_at,
    })
}

/// `POST /v1/webhooks`.
pub(crate) async fn create(
    State(served): State<Served>,
    headers: HeaderMap,
    peer: Option<Extension<Peer>>,
    body: Bytes,
) -> Response {
    if let Err(refusal) = admit(&served, "POST /v1/webhooks", Scope::Admin, &headers, peer.as_deref()).await {
        return refusal;
    }
    let fields = match json_body(&headers, &body, &["url", "types", "description"]) {
        Ok(fields) => fields,
        Err(problem) => return problem,
    };
    let Some(Value::String(url)) = fields.get("url") else {
        return error_problem(&invalid("url", "url is required, a string"));
    };
    let types: Vec<String> = match fields.get("types") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(types)) => match types.iter().map(|t| t.as_str().map(str::to_owned)).collect() {
            Some(types) => types,
            None => return error_problem(&invalid("types", "types must be an array of event type names")),
        },
        Some(_) => return error_problem(&invalid("types", "types must be an array of event type names")),
    };
    let description = match fields.get("description") {
        None | Some(Value::Null) => "",
        Some(Value::String(description)) => description.as_str(),
        Some(_) => return error_problem(&invalid("description", "description must be a string")),
    };
    match served.commands.create_webhook(url, &types, description).await {
        Ok(created) => {
            let mut body = webhook_json(&created.webhook);
            body["secret"] = created.secret.into();
            (StatusCode::CREATED, Json(body)).into_response()
        }
        Err(error) => error_problem(&error),
    }
}

/// `GET /v1/webhooks`.
pub(crate) async fn list(State(served): State<Served>, headers: HeaderMap, peer: Option<Extension<Peer>>) -> Response {
    if let Err(refusal) = admit(&served, "GET /v1/webhooks", Scope::Admin, &headers, peer.as_deref()).await {
        return refusal;
    }
    match served.commands.webhooks().await {
        Ok(webhooks) => {
            Json(json!({ "webhooks": webhooks.iter().map(webhook_json).collect::<Vec<_>>() })).into_response()
        }
        Err(error) => error_problem(&error),
    }
}

/// `DELETE /v1/webhooks/{id}`.
pub(crate) async fn delete(
    State(served): State<Served>,
    headers: HeaderMap,
    peer: Option<Extension<Peer>>,
    Path(id): Path<String>,
) -> Response {
    if let Err(refusal) = admit(&served, "DELETE /v1/webhooks", Scope::Admin, &headers, peer.as_deref()).await {
        return refusal;
    }
    let id = match id_in_path(&id, "id") {
        Ok(id) => id,
        Err(problem) => return problem,
    };
    match served.commands.delete_webhook(id).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(error) => error_problem(&error),
    }
}

/// `GET /v1/webhooks/{id}/deliveries`.
pub(crate) async fn deliveries(
    State(served): State<Served>,
    headers: HeaderMap,
    peer: Option<Extension<Peer>>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    if let Err(refusal) = admit(
        &served,
        "GET /v1/webhooks/deliveries",
        Scope::Admin,
        &headers,
        peer.as_deref(),
    )
    .await
    {
        return refusal;
    }
    let id = match id_in_path(&id, "id") {
        Ok(id) => id,
        Err(problem) => return problem,
    };
    let (mut before, mut limit) = (None, DELIVERIES_PAGE_DEFAULT);
    for (key, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match key.as_ref() {
            "before" => match value.parse::<i64>() {
                Ok(id) if id > 0 => before = Some(id),
                _ => {
                    return error_problem(&invalid(
                        "before",
                        format!("before must be a delivery id, got {value:?}"),
                    ))
                }
            },
            "limit" => match value.parse() {
                Ok(n) => limit = n,
                Err(_) => return error_problem(&invalid("limit", format!("limit must be an integer, got {value:?}"))),
            },
            other => {
                return error_problem(&invalid(
                    "query",
                    format!("unknown query parameter {other:?} (known: before, limit)"),
                ))
            }
        }
    }
    match served.commands.webhook_deliveries(id, before, limit).await {
        Ok(deliveries) => {
            let full = deliveries.len() == limit as usize;
            let next = deliveries.last().filter(|_| full).map(|d| d.id);
            Json(json!({
                "deliveries": deliveries.iter().map(delivery_json).collect::<Vec<_>>(),
                "next": next,
            }))
            .into_response()
        }
        Err(error) => error_problem(&error),
    }
}

/// `POST /v1/webhooks/{id}/redeliver`.
pub(crate) async fn redeliver(
    State(served): State<Served>,
    headers: HeaderMap,
    peer: Option<Extension<Peer>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if let Err(refusal) = admit(
        &served,
        "POST /v1/webhooks/redeliver",
        Scope::Admin,
        &headers,
        peer.as_deref(),
    )
    .await
    {
        return refusal;
    }
    let id = match id_in_path(&id, "id") {
        Ok(id) => id,
        Err(problem) => return problem,
    };
    let fields = match json_body(&headers, &body, &["after"]) {
        Ok(fields) => fields,
        Err(problem) => return problem,
    };
    let Some(after) = fields.get("after").and_then(Value::as_u64) else {
        return error_problem(&invalid("after", "after is required, an event id (an integer ≥ 0)"));
    };
    match served.commands.redeliver_webhook(id, after).await {
        Ok(()) => (StatusCode::ACCEPTED, Json(json!({}))).into_response(),
        Err(error) => error_problem(&error),
    }
}
