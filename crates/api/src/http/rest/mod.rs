//! Hub's REST API under `/v1` on the HTTP listener, beside the original
//! command endpoint: JSON in and out, amounts as JSON integers (exact: the
//! supply is below 2^53), and errors as RFC 9457 `application/problem+json`
//! naming the original's error code, the field and the rule.
//!
//! One module per resource: [`events`] (the feed, paged and streamed),
//! [`webhooks`] (endpoints the feed is pushed to). Every call passes the
//! access gate under its own name (`GET /v1/events`) and scope.

// A handler's early answer is a `Response` (axum's own `Result<_, Response>`
// idiom); its size is axum's.
#![allow(clippy::result_large_err)]

pub mod events;
pub mod webhooks;

use axum::body::Bytes;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use hub_core::{HubError, Scope};
use serde_json::{json, Map, Value};

use super::Served;
use crate::auth::{Credentials, Refusal};
use crate::listen::Peer;
use crate::proto::hub::ErrorCode;

/// An RFC 9457 problem: `status`, the original's error code name, the
/// field at fault (if one is) and what is wrong.
pub(crate) fn problem(status: StatusCode, code: &str, field: Option<&str>, detail: &str) -> Response {
    let mut body = json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "code": code,
        "detail": detail,
    });
    if let Some(field) = field {
        body["field"] = field.into();
    }
    (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        body.to_string(),
    )
        .into_response()
}

/// The problem for a failed call.
pub(crate) fn error_problem(error: &HubError) -> Response {
    let code = ErrorCode::try_from(error.code() as i32).map_or("EC_UNKNOWN", |code| code.as_str_name());
    match error {
        HubError::InvalidArgument { field, rule } => problem(StatusCode::BAD_REQUEST, code, Some(field), rule),
        HubError::MissingArgument(field) => problem(
            StatusCode::BAD_REQUEST,
            code,
            Some(field),
            &format!("{field} is required"),
        ),
        error if error.is_cancelled() => problem(StatusCode::NOT_FOUND, code, None, &error.to_string()),
        error if error.is_overloaded() => problem(StatusCode::TOO_MANY_REQUESTS, code, None, &error.to_string()),
        HubError::Internal(_) => {
            tracing::warn!(%error, ?error, "REST call failed with an internal error");
            problem(StatusCode::INTERNAL_SERVER_ERROR, code, None, &error.to_string())
        }
        error => problem(StatusCode::UNPROCESSABLE_ENTITY, code, None, &error.to_string()),
    }
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
            .insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
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

pub(crate) fn invalid(field: &'static str, rule: impl Into<String>) -> HubError {
    HubError::InvalidArgument {
        field,
        rule: rule.into(),
    }
}

/// A request body: a JSON object (`Content-Type: application/json`) with
/// none but the `known` fields.
pub(crate) fn json_body(headers: &HeaderMap, body: &Bytes, known: &[&str]) -> Result<Map<String, Value>, Response> {
    if !super::is_json(headers) {
        return Err(problem(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "EC_UNKNOWN",
            Some("Content-Type"),
            "Content-Type must be application/json",
        ));
    }
    let fields = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(fields)) => fields,
        _ => return Err(error_problem(&invalid("body", "the body must be a JSON object"))),
    };
    if let Some(unknown) = fields.keys().find(|key| !known.contains(&key.as_str())) {
        return Err(error_problem(&invalid(
            "body",
            format!("unknown field {unknown:?} (known: {})", known.join(", ")),
        )));
    }
    Ok(fields)
}

/// A path segment that must be an id.
pub(crate) fn id_in_path(raw: &str, field: &'static str) -> Result<i64, Response> {
    raw.parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(|| {
        error_problem(&invalid(
            field,
            format!("{field} must be a positive integer, got {raw:?}"),
        ))
    })
}
