//! The API's HTTP transport, as IRI 1.8.6's `RestEasy` serves it: any
//! method on any path is a request (`OPTIONS` the CORS preflight), the
//! `X-IOTA-API-Version` header is required ("Invalid API Version"), a body
//! longer than `maxBodyLength` is "Request too long", and every answer
//! carries `duration` and IRI's CORS and keep-alive headers (`reply`).
//! Injected faults (failures, delays) are applied here, except to the
//! fault commands themselves so a test can always switch them off.
//!
//! `tower-http`'s `CorsLayer` is not used: it answers a preflight only when
//! `Access-Control-Request-Method` is present, adds `Vary` and
//! `Access-Control-Allow-Methods`, and cannot add IRI's `Allow` header, so
//! it cannot give IRI's answer.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use hub_node::api::API_VERSION_HEADER;
use rand::Rng;

use crate::commands::{self, Api};
use crate::node::Node;
use crate::profile::{Limits, Profile};
use crate::reply::Reply;

/// The methods IRI's preflight answer allows.
const ALLOWED_METHODS: &str = "GET,HEAD,POST,PUT,DELETE,TRACE,OPTIONS,CONNECT,PATCH";
/// The request headers IRI's preflight answer allows.
const ALLOWED_HEADERS: &str = "User-Agent, Origin, X-Requested-With, Content-Type, Accept, X-IOTA-API-Version";
/// UTF-8 bytes that make at least one Java `char` (UTF-16 code unit): a
/// body of more than `max_body_chars` times this is too long uncounted, so
/// nothing larger is read.
const MAX_UTF8_BYTES_PER_JAVA_CHAR: usize = 3;

/// The router serving `node` as a `profile` node within `limits`.
pub fn router(node: Arc<Node>, profile: Profile, limits: Limits) -> Router {
    let api = Arc::new(Api { node, profile, limits });
    Router::new().fallback(handle).with_state(api)
}

async fn handle(State(api): State<Arc<Api>>, request: Request) -> Response {
    if request.method() == Method::OPTIONS {
        return preflight();
    }
    let started = Instant::now();
    let reply = answer(&api, request).await;
    reply.into_http(started.elapsed().as_millis() as u64)
}

/// IRI's answer to `OPTIONS`: empty, allowing every method and its headers.
fn preflight() -> Response {
    let mut response = StatusCode::OK.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
    headers.insert(header::ALLOW, HeaderValue::from_static(ALLOWED_METHODS));
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(ALLOWED_HEADERS),
    );
    response
}

async fn answer(api: &Api, request: Request) -> Reply {
    if !request.headers().contains_key(API_VERSION_HEADER) {
        return Reply::Error("Invalid API Version".into());
    }
    let body = match read_body(request.into_body(), api.limits.max_body_chars).await {
        Some(body) => body,
        None => return Reply::Error("Request too long".into()),
    };
    let request = match commands::read(&body) {
        Ok(request) => request,
        Err(refusal) => return refusal,
    };
    if !request.is_fault_switch() {
        let faults = api.node.faults();
        let (fail, delay) = {
            let mut rng = rand::thread_rng();
            (rng.gen_bool(faults.fail_rate), rng.gen_bool(faults.delay_rate))
        };
        if delay {
            tokio::time::sleep(Duration::from_millis(faults.delay_ms)).await;
        }
        if fail {
            return Reply::Broken;
        }
    }
    commands::run(api, request).await
}

/// The body as Java reads it (UTF-8, malformed bytes replaced), or `None`
/// if longer than `max_body_chars` UTF-16 code units. A body that cannot
/// be read to its end is treated as too long: the only failure a complete
/// request meets is the byte bound.
async fn read_body(body: Body, max_body_chars: usize) -> Option<String> {
    let max_bytes = max_body_chars.saturating_mul(MAX_UTF8_BYTES_PER_JAVA_CHAR);
    let bytes = axum::body::to_bytes(body, max_bytes).await.ok()?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    (text.encode_utf16().count() <= max_body_chars).then_some(text)
}
