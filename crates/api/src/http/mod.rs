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

mod args;
mod dispatch;
pub mod json;

use std::future::Future;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::Value;

use crate::commands::HubCommands;
use args::Args;
use dispatch::{Command, Outcome};
use json::LegacyObject;

/// The largest request body accepted (1 MiB).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The router answering the command protocol on every path.
pub fn http_router(commands: Arc<dyn HubCommands>) -> Router {
    Router::new()
        .fallback(handle)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(commands)
}

/// Serves the command protocol in plaintext on `listener` until `shutdown` completes.
pub async fn serve_http(
    listener: tokio::net::TcpListener,
    commands: Arc<dyn HubCommands>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, http_router(commands))
        .with_graceful_shutdown(shutdown)
        .await
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

async fn handle(
    State(commands): State<Arc<dyn HubCommands>>,
    method: Method,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if method != Method::POST {
        return text_reply(StatusCode::BAD_REQUEST, "Unknown HTTP-method");
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
    match dispatch::run(commands.as_ref(), command, &Args::new(&request)).await {
        Outcome::Done(reply) => json_reply(StatusCode::OK, &reply),
        Outcome::Failed(failure) => {
            tracing::debug!(command = command.name(), ?failure, "HTTP command failed");
            json_reply(StatusCode::OK, &LegacyObject::new().text("error", failure.text()))
        }
    }
}
