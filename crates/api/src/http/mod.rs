//! The original Hub's HTTP JSON command endpoint.
//!
//! One POST on any path, a JSON object naming the `"command"` and its
//! arguments; replies as the original wrote them (every scalar a string,
//! event lists as `event_N` keys, `/` escaped). The transport-level answers
//! are the original's (hub-behaviour.md §2.1.2, §13 items 92–94):
//!
//! | request | status | body |
//! |---|---|---|
//! | not POST | 400 | `Unknown HTTP-method` |
//! | empty body | 500 | `An error occurred: 'Empty request'` |
//! | not JSON, not an object, no `command` | 400 | `{"result":"Wrong request format"}` |
//! | unknown command | 400 | `{"result":"Unknown command"}` |
//! | command failed | 200 | `{"error":"<table 2.2 text>"}` |
//!
//! Fixed defects: a body without `command` no longer kills the server;
//! malformed integers are errors naming the field. The body limit is
//! [`MAX_BODY_BYTES`] (1 MiB; larger bodies get 413) instead of the
//! original's 10 000 bytes, which cannot hold a 1000-entry transfer batch.
//! Replies are `application/json` (the original said `text/html`).
//!
//! Before any of that, every request passes the browser-attack checks and
//! the access gate, answering as REST APIs do (with `{"result": reason}`):
//!
//! | request | status |
//! |---|---|
//! | `Host` not a loopback name, on a loopback listener (DNS rebinding) | 403 |
//! | `Origin` not in the allowed origins | 403 |
//! | `Content-Type` not `application/json` | 415 |
//! | no token, unknown, revoked or expired token | 401 |
//! | token without the command's scope | 403 |
//! | the caller's rate bucket is empty | 429, `Retry-After` |
//! | Hub overloaded (e.g. the on-demand derivation queue is full) | 429, `Retry-After` |
//!
//! Allowed origins get CORS answers (preflight included); a browser page
//! from anywhere else can neither send a command nor read a reply.
//!
//! The REST API (`/v1/…`, see [`rest`]) shares the listener, the browser
//! checks and the gate; its answers are its own (problem+json errors).

mod args;
mod dispatch;
pub mod json;
pub mod rest;

use std::future::Future;
use std::sync::Arc;

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Extension, Router};
use hub_core::acting;
use serde_json::Value;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::auth::{Credentials, Gate, Refusal};
use crate::command::Command;
use crate::commands::HubCommands;
use crate::listen::{self, Listener, Peer, Protocol};
use args::{Args, Failure};
use dispatch::Outcome;
use json::LegacyObject;

pub use axum::http::HeaderValue;

/// How long an overloaded Hub asks callers to wait.
pub const OVERLOADED_RETRY_AFTER: Duration = Duration::from_secs(1);

/// The largest request body accepted (1 MiB).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The browser-facing rules of an HTTP listener.
#[derive(Debug, Clone, Default)]
pub struct HttpPolicy {
    /// Origins (`https://ops.example.com`) whose pages may call the API.
    pub allowed_origins: Vec<HeaderValue>,
    /// Refuse a `Host` that is not a loopback name or address (set for a
    /// loopback listener: a DNS-rebinding page names its own host).
    pub loopback_host_only: bool,
}

#[derive(Clone)]
pub(crate) struct Served {
    commands: Arc<dyn HubCommands>,
    gate: Arc<Gate>,
    policy: Arc<HttpPolicy>,
}

/// The router: the REST API under `/v1` ([`rest`]), and the command
/// protocol on every other path.
pub fn http_router(commands: Arc<dyn HubCommands>, gate: Arc<Gate>, policy: HttpPolicy) -> Router {
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::list(policy.allowed_origins.clone()))
        .allow_methods([Method::GET, Method::POST, Method::DELETE])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::HeaderName::from_static("last-event-id"),
            header::HeaderName::from_static("idempotency-key"),
        ])
        .expose_headers([header::RETRY_AFTER]);
    let served = Served {
        commands,
        gate,
        policy: Arc::new(policy),
    };
    Router::new()
        .route("/v1/openapi.json", get(rest::openapi::serve))
        .route("/v1/users", post(rest::users::create))
        .route("/v1/users/{userId}", get(rest::users::get))
        .route(
            "/v1/users/{userId}/deposit-addresses",
            post(rest::users::new_deposit_address),
        )
        .route("/v1/users/{userId}/history", get(rest::users::history))
        .route("/v1/transfer-batches", post(rest::money::settle_batch))
        .route("/v1/withdrawals", post(rest::money::request))
        .route("/v1/withdrawals/{uuid}", get(rest::money::get))
        .route("/v1/withdrawals/{uuid}/cancel", post(rest::money::cancel))
        .route("/v1/sweeps", get(rest::chain::list))
        .route("/v1/sweeps/{bundleHash}", get(rest::chain::get))
        .route("/v1/addresses/{address}", get(rest::chain::address))
        .route("/v1/stats", get(rest::chain::stats))
        .route("/v1/events", get(rest::events::page))
        .route("/v1/events/stream", get(rest::events::stream))
        .route("/v1/webhooks", get(rest::webhooks::list).post(rest::webhooks::create))
        .route("/v1/webhooks/{id}", delete(rest::webhooks::delete))
        .route("/v1/webhooks/{id}/deliveries", get(rest::webhooks::deliveries))
        .route("/v1/webhooks/{id}/redeliver", post(rest::webhooks::redeliver))
        .fallback(handle)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(cors)
        .layer(middleware::from_fn_with_state(served.clone(), browser_checks))
        .with_state(served)
}

/// Serves the command protocol on `listener`, every call through `gate`,
/// until `shutdown` completes.
pub async fn serve_http(
    listener: Listener,
    commands: Arc<dyn HubCommands>,
    gate: Arc<Gate>,
    policy: HttpPolicy,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let router = http_router(commands, gate, policy);
    listen::serve(listener, Protocol::Http1And2, router, shutdown).await
}

/// `Host` and `Origin`, before CORS and everything else: a page from a
/// foreign origin, or one reaching a loopback listener under its own host
/// name, is refused whatever it sends.
async fn browser_checks(State(served): State<Served>, request: Request, next: Next) -> Response {
    let policy = &served.policy;
    if policy.loopback_host_only {
        let host = request.headers().get(header::HOST).and_then(|v| v.to_str().ok());
        if !host.is_some_and(is_loopback_host) {
            return result_reply(
                StatusCode::FORBIDDEN,
                "Host must be a loopback name or address on this listener (localhost, 127.0.0.1, [::1])",
            );
        }
    }
    if let Some(origin) = request.headers().get(header::ORIGIN) {
        if !policy.allowed_origins.contains(origin) {
            return result_reply(
                StatusCode::FORBIDDEN,
                "Origin is not allowed (see --http-allowed-origins)",
            );
        }
    }
    next.run(request).await
}

/// Whether a `Host` header names this machine's loopback interface.
fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split_once(']').map_or(rest, |(inside, _)| inside),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost") || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Whether the request says its body is JSON (parameters such as a charset allowed).
pub(crate) fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

fn text_reply(status: StatusCode, body: &'static str) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

fn json_reply(status: StatusCode, body: &LegacyObject) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_json()).into_response()
}

fn result_reply(status: StatusCode, result: &str) -> Response {
    json_reply(status, &LegacyObject::new().text("result", result))
}

fn refusal_reply(refusal: &Refusal) -> Response {
    let status = match refusal {
        Refusal::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
        Refusal::PermissionDenied(_) => StatusCode::FORBIDDEN,
        Refusal::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        Refusal::RateLimited { retry_after, .. } => return too_many(refusal.message(), *retry_after),
    };
    let mut reply = result_reply(status, refusal.message());
    if status == StatusCode::UNAUTHORIZED {
        reply
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    reply
}

/// 429 with `Retry-After` in whole seconds (at least 1).
fn too_many(message: &str, retry_after: Duration) -> Response {
    let mut reply = result_reply(StatusCode::TOO_MANY_REQUESTS, message);
    let seconds = retry_after.as_secs_f64().ceil().max(1.0) as u64;
    reply
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    reply
}

async fn handle(
    State(served): State<Served>,
    method: Method,
    headers: HeaderMap,
    peer: Option<Extension<Peer>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if method != Method::POST {
        return text_reply(StatusCode::BAD_REQUEST, "Unknown HTTP-method");
    }
    if !is_json(&headers) {
        return result_reply(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type must be application/json",
        );
    }
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            let status = rejection.status();
            let text = if status == StatusCode::PAYLOAD_TOO_LARGE {
                format!("Request body larger than {MAX_BODY_BYTES} bytes")
            } else {
                "Request body could not be read".to_owned()
            };
            return result_reply(status, &text);
        }
    };
    if body.is_empty() {
        return text_reply(StatusCode::INTERNAL_SERVER_ERROR, "An error occurred: 'Empty request'");
    }
    let Ok(Value::Object(request)) = serde_json::from_slice::<Value>(&body) else {
        return result_reply(StatusCode::BAD_REQUEST, "Wrong request format");
    };
    let name = match request.get("command") {
        Some(Value::String(name)) => name.clone(),
        Some(Value::Number(number)) => number.to_string(),
        Some(Value::Bool(flag)) => flag.to_string(),
        Some(Value::Null | Value::Array(_) | Value::Object(_)) | None => {
            return result_reply(StatusCode::BAD_REQUEST, "Wrong request format");
        }
    };
    let Some(command) = Command::from_name(&name) else {
        return result_reply(StatusCode::BAD_REQUEST, "Unknown command");
    };
    let credentials = Credentials {
        authorization: headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()),
        client_cn: peer.as_ref().and_then(|Extension(peer)| peer.client_cn.as_deref()),
    };
    let admitted = match served.gate.admit(command, credentials).await {
        Ok(admitted) => admitted,
        Err(refusal) => return refusal_reply(&refusal),
    };
    let args = Args::new(&request);
    let outcome = acting(
        admitted.acting(command),
        dispatch::run(served.commands.as_ref(), command, &args),
    )
    .await;
    match outcome {
        Outcome::Done(reply) => json_reply(StatusCode::OK, &reply),
        Outcome::Failed(Failure::Command(error)) if error.is_overloaded() => {
            too_many(&error.to_string(), OVERLOADED_RETRY_AFTER)
        }
        Outcome::Failed(failure) => {
            tracing::debug!(command = command.name(), ?failure, "HTTP command failed");
            json_reply(StatusCode::OK, &LegacyObject::new().text("error", failure.text()))
        }
    }
}
