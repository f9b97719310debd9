//! Hub's REST API under `/v1` on the HTTP listener, beside the original
//! command endpoint: JSON in and out, amounts as JSON integers (exact: the
//! supply is below 2^53), and errors as RFC 9457 `application/problem+json`
//! naming the original's error code, the field and the rule. Every call
//! passes the access gate under its own name (`GET /v1/events`) with the
//! scope its original command needs; `GET /v1/openapi.json` describes it
//! all (`openapi`), generated from these handlers and `schema`'s types.
//!
//! One module per resource: [`users`], [`money`] (transfer batches,
//! withdrawals), [`chain`] (sweeps, addresses, stats), [`events`] (the
//! feed, paged and streamed), [`webhooks`].
//!
//! A `POST` that changes state takes an `Idempotency-Key` header (1 to 64
//! printable characters): the same key and body get the first answer
//! again, the same key with another body a 409. Batches and withdrawals
//! bind the key in the transaction that settles them, so two sent at once
//! settle once; the others replay the stored answer.

// A handler's early answer is a `Response` (axum's own `Result<_, Response>`
// idiom); its size is axum's.
#![allow(clippy::result_large_err)]

pub mod chain;
pub mod events;
pub mod money;
pub mod openapi;
pub mod schema;
pub mod users;
pub mod webhooks;

use std::future::Future;

use axum::body::Bytes;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use hub_core::{HubError, Scope};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use utoipa::IntoParams;

use super::Served;
use crate::auth::{Credentials, Refusal};
use crate::listen::Peer;
use crate::proto::hub::ErrorCode;
use schema::Problem;

/// Rows per page when the caller names no limit.
pub const PAGE_DEFAULT: u32 = 100;
/// The longest stored answer to an idempotency key.
const ANSWER_BYTES_MAX: usize = 1024 * 1024;

/// An RFC 9457 problem: `status`, the error code name, the field at fault
/// (if one is) and what is wrong.
pub(crate) fn problem(status: StatusCode, code: &str, field: Option<&str>, detail: &str) -> Response {
    let body = Problem {
        kind: "about:blank".to_owned(),
        title: status.canonical_reason().unwrap_or("Error").to_owned(),
        status: status.as_u16(),
        code: code.to_owned(),
        detail: detail.to_owned(),
        field: field.map(str::to_owned),
    };
    let json = serde_json::to_string(&body).unwrap_or_default();
    (status, [(header::CONTENT_TYPE, "application/problem+json")], json).into_response()
}

/// The problem for a failed call.
pub(crate) fn error_problem(error: &HubError) -> Response {
    let code = ErrorCode::try_from(error.code() as i32).map_or("EC_UNKNOWN", |code| code.as_str_name());
    let detail = error.to_string();
    match error {
        HubError::IdempotencyKeyReused(_) => problem(
            StatusCode::CONFLICT,
            "IDEMPOTENCY_KEY_REUSED",
            Some("Idempotency-Key"),
            &detail,
        ),
        HubError::InvalidArgument { field, .. } => problem(StatusCode::BAD_REQUEST, code, Some(field), &detail),
        HubError::MissingArgument(field) => problem(
            StatusCode::BAD_REQUEST,
            code,
            Some(field),
            &format!("{field} is required"),
        ),
        HubError::UserDoesNotExist => problem(StatusCode::NOT_FOUND, code, Some("userId"), &detail),
        HubError::UserExists => problem(StatusCode::CONFLICT, code, Some("userId"), &detail),
        HubError::InvalidUuid(_) => problem(StatusCode::NOT_FOUND, code, Some("uuid"), &detail),
        HubError::UnknownAddress => problem(StatusCode::NOT_FOUND, code, Some("address"), &detail),
        error if error.is_cancelled() => problem(StatusCode::NOT_FOUND, code, None, &detail),
        error if error.is_overloaded() => {
            let mut reply = problem(StatusCode::TOO_MANY_REQUESTS, code, None, &detail);
            reply.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(1));
            reply
        }
        HubError::IotaNodeUnavailable(_) => problem(StatusCode::SERVICE_UNAVAILABLE, code, None, &detail),
        HubError::Internal(_) => {
            tracing::warn!(%error, ?error, "REST call failed with an internal error");
            problem(StatusCode::INTERNAL_SERVER_ERROR, code, None, &detail)
        }
        error => problem(StatusCode::UNPROCESSABLE_ENTITY, code, None, &error.to_string()),
    }
}

/// A failed command, as its problem (for `map_err`).
pub(crate) fn failed(error: HubError) -> Response {
    error_problem(&error)
}

pub(crate) fn invalid(field: &'static str, rule: impl Into<String>) -> HubError {
    HubError::InvalidArgument {
        field,
        rule: rule.into(),
    }
}

/// The answer, whichever way the call went.
pub(crate) fn respond(result: Result<Response, Response>) -> Response {
    result.unwrap_or_else(|problem| problem)
}

/// The problem for a call the gate refused.
fn refusal_problem(refusal: &Refusal) -> Response {
    let (status, code) = match refusal {
        Refusal::Unauthenticated(_) => (StatusCode::UNAUTHORIZED, "UNAUTHENTICATED"),
        Refusal::PermissionDenied(_) => (StatusCode::FORBIDDEN, "PERMISSION_DENIED"),
        Refusal::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE"),
        Refusal::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED"),
    };
    let mut reply = problem(status, code, None, refusal.message());
    if let Refusal::RateLimited { retry_after, .. } = refusal {
        let seconds = retry_after.as_secs_f64().ceil().max(1.0) as u64;
        reply.headers_mut().insert(header::RETRY_AFTER, seconds.into());
    }
    if status == StatusCode::UNAUTHORIZED {
        reply
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    reply
}

/// Admits a REST call `name` that needs `scope`.
pub(crate) async fn admit(
    served: &Served,
    name: &str,
    scope: Scope,
    headers: &HeaderMap,
    peer: Option<&Peer>,
) -> Result<(), Response> {
    let credentials = Credentials {
        authorization: headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()),
        client_cn: peer.and_then(|peer| peer.client_cn.as_deref()),
    };
    served
        .gate
        .admit_to(name, scope, credentials)
        .await
        .map(|_| ())
        .map_err(|refusal| refusal_problem(&refusal))
}

/// A JSON request body (`Content-Type: application/json`) as `T`; a body
/// that is not names the field at fault (`transfers[2].amount`) and why.
pub(crate) fn parse_body<T: DeserializeOwned>(headers: &HeaderMap, body: &Bytes) -> Result<T, Response> {
    if !super::is_json(headers) {
        return Err(problem(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "EC_UNKNOWN",
            Some("Content-Type"),
            "Content-Type must be application/json",
        ));
    }
    let mut reader = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut reader).map_err(|error| {
        let path = error.path().to_string();
        let field = if path == "." { "body".to_owned() } else { path };
        problem(
            StatusCode::BAD_REQUEST,
            "EC_UNKNOWN",
            Some(&field),
            &error.inner().to_string(),
        )
    })
}

/// The page a list call asks for.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// The `next` of the page before (absent: from the start).
    pub cursor: Option<i64>,
    /// Rows per page, 1 to 1000 (default 100).
    pub limit: Option<u32>,
}

/// Reads a page's cursor (the query parameter `cursor_name`) and `limit`
/// from a query string; anything else is refused by name.
pub(crate) fn page_query(
    query: Option<&str>,
    cursor_name: &'static str,
    default_limit: u32,
) -> Result<(Option<i64>, u32), Response> {
    let (mut cursor, mut limit) = (None, default_limit);
    for (key, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match key.as_ref() {
            name if name == cursor_name => match value.parse::<i64>() {
                Ok(id) if id >= 0 => cursor = Some(id),
                _ => {
                    return Err(failed(invalid(
                        cursor_name,
                        format!("{cursor_name} must be a `next` of an earlier page, got {value:?}"),
                    )))
                }
            },
            "limit" => {
                limit = value.parse().map_err(|_| {
                    failed(invalid(
                        "limit",
                        format!("limit must be an integer between 1 and 1000, got {value:?}"),
                    ))
                })?;
            }
            other => {
                return Err(failed(invalid(
                    "query",
                    format!("unknown query parameter {other:?} (known: {cursor_name}, limit)"),
                )))
            }
        }
    }
    Ok((cursor, limit))
}

/// The `Idempotency-Key` header.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IdempotencyKeyHeader {
    /// 1 to 64 printable characters: the same key and body get the first
    /// answer again; the same key with another body is a 409.
    #[param(rename = "Idempotency-Key")]
    pub idempotency_key: Option<String>,
}

/// A call made under an idempotency key.
pub(crate) struct Idempotency {
    /// The client's key.
    pub key: String,
    /// What it was sent to (method and path).
    operation: String,
    /// SHA-256 (hex) of the body.
    request_hash: String,
}

impl Idempotency {
    /// The call's key, if it sent one; a malformed key is refused.
    pub(crate) fn of(headers: &HeaderMap, operation: &str, body: &Bytes) -> Result<Option<Self>, Response> {
        let Some(key) = headers.get("idempotency-key") else {
            return Ok(None);
        };
        let refused = |rule: &str| problem(StatusCode::BAD_REQUEST, "EC_UNKNOWN", Some("Idempotency-Key"), rule);
        let key = key
            .to_str()
            .map_err(|_| refused("Idempotency-Key must be printable ASCII"))?;
        hub_core::check_idempotency_key(key).map_err(|e| refused(&e.to_string()))?;
        Ok(Some(Self {
            key: key.to_owned(),
            operation: operation.to_owned(),
            request_hash: hex::encode(Sha256::digest(body)),
        }))
    }
}

/// Runs `call`, unless `idempotency` names a call answered before: then
/// its answer again (same body) or a 409 (another body). An answer is
/// kept unless it says to retry (5xx, 429); when two calls with one key
/// race, both get the first kept answer.
pub(crate) async fn remembered(
    served: &Served,
    idempotency: Option<Idempotency>,
    call: impl Future<Output = Result<Response, Response>>,
) -> Result<Response, Response> {
    let Some(idempotency) = idempotency else {
        return call.await;
    };
    let earlier = served
        .commands
        .recall_answer(&idempotency.key, &idempotency.operation)
        .await
        .map_err(failed)?;
    if let Some(answer) = earlier {
        return replay(&idempotency, answer);
    }
    let answer = respond(call.await);
    let status = answer.status();
    if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
        return Ok(answer);
    }
    let (parts, body) = answer.into_parts();
    let bytes = axum::body::to_bytes(body, ANSWER_BYTES_MAX).await.map_err(|e| {
        failed(HubError::internal(
            hub_core::Cause::Task,
            format!("reading an answer: {e}"),
        ))
    })?;
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_owned();
    let kept = hub_core::Answer {
        request_hash: idempotency.request_hash.clone(),
        status: status.as_u16(),
        content_type,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    };
    match served
        .commands
        .remember_answer(&idempotency.key, &idempotency.operation, &kept)
        .await
        .map_err(failed)?
    {
        Some(first) => replay(&idempotency, first),
        None => Ok(Response::from_parts(parts, axum::body::Body::from(bytes))),
    }
}

/// A kept answer, for a call with the same key.
fn replay(idempotency: &Idempotency, answer: hub_core::Answer) -> Result<Response, Response> {
    if answer.request_hash != idempotency.request_hash {
        return Err(failed(HubError::IdempotencyKeyReused(
            "another request body".to_owned(),
        )));
    }
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let mut reply = (status, answer.body).into_response();
    if let Ok(content_type) = HeaderValue::from_str(&answer.content_type) {
        reply.headers_mut().insert(header::CONTENT_TYPE, content_type);
    }
    reply
        .headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    Ok(reply)
}
