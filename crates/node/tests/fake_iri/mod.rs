//! A small fake IRI 1.8.6 over real HTTP, for the client tests.
//!
//! Before a test's handler sees a request, the fake refuses what IRI 1.8.6
//! refuses before any command runs, the way it answers
//! (`RestEasy.processRequest`, `API.process`, `API.getParameterAsList`,
//! default `BaseIotaConfig`): no API version header or a body over
//! 1 000 000 characters → 400 `{"error"}`; a list over 1000 items → 500
//! `{"exception"}`. Its limits are written here again on purpose, so a
//! wrong limit in the client cannot pass its own check. Every request is
//! recorded, refused or not. `attach` does what IRI's `attachToTangle`
//! does (at any weight the test asks, so a low one is quick).

#![allow(dead_code)] // each test binary uses part of it

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use hub_node::ClientConfig;
use hub_protocol::attach::{attach_bundle, AttachOptions, Cancel};
use hub_protocol::bundle::{BundleBuilder, Output};
use hub_protocol::{Address, Hash, Transaction};
use serde_json::{json, Value};

/// IRI 1.8.6's default `maxBodyLength`.
pub const IRI_MAX_BODY_CHARS: usize = 1_000_000;
/// IRI 1.8.6's default `maxRequestsList`.
pub const IRI_MAX_REQUEST_LIST: usize = 1000;

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Its `command` ("" if none could be read).
    pub command: String,
    /// Length of its body.
    pub body_chars: usize,
    /// Its body (`null` if not JSON).
    pub body: Value,
}

/// What the fake answers.
#[derive(Debug, Clone)]
pub struct Reply {
    status: u16,
    body: String,
    delay: Duration,
}

impl Reply {
    /// 200 with `body`.
    pub fn ok(body: Value) -> Self {
        Self::raw(200, body.to_string())
    }

    /// IRI's `ErrorResponse`: 400 `{"error"}`.
    pub fn error(message: &str) -> Self {
        Self::raw(400, json!({ "error": message, "duration": 0 }).to_string())
    }

    /// IRI's `ExceptionResponse`: 500 `{"exception"}`.
    pub fn exception(message: &str) -> Self {
        Self::raw(500, json!({ "exception": message, "duration": 0 }).to_string())
    }

    /// IRI's `AccessLimitedResponse`: 401 `{"error"}`.
    pub fn access_limited(command: &str) -> Self {
        let message = format!("COMMAND {command} is not available on this node");
        Self::raw(401, json!({ "error": message, "duration": 0 }).to_string())
    }

    /// Any status and body.
    pub fn raw(status: u16, body: impl Into<String>) -> Self {
        Self {
            status,
            body: body.into(),
            delay: Duration::ZERO,
        }
    }

    /// The same, sent after `delay`.
    pub fn after(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

type Handler = dyn Fn(&str, &Value) -> Reply + Send + Sync;

struct Inner {
    handler: Box<Handler>,
    seen: Mutex<Vec<Seen>>,
}

/// A running fake node.
pub struct FakeIri {
    /// Its URL.
    pub url: String,
    inner: Arc<Inner>,
}

impl FakeIri {
    /// A fake answering each command through `handler(command, body)`.
    pub async fn start(handler: impl Fn(&str, &Value) -> Reply + Send + Sync + 'static) -> Self {
        let inner = Arc::new(Inner {
            handler: Box::new(handler),
            seen: Mutex::new(Vec::new()),
        });
        let router = Router::new()
            .route("/", post(answer))
            // Larger than IRI's limit, so the fake answers an oversized body as IRI does.
            .layer(DefaultBodyLimit::max(16 * IRI_MAX_BODY_CHARS))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Self { url, inner }
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.inner.seen.lock().unwrap().clone()
    }

    /// The requests of `command` so far.
    pub fn seen_of(&self, command: &str) -> Vec<Seen> {
        self.seen().into_iter().filter(|s| s.command == command).collect()
    }

    /// A client of this node: quick back-off, so retries cost little time.
    pub fn config(&self) -> ClientConfig {
        ClientConfig {
            retry_backoff: Duration::from_millis(5),
            ..ClientConfig::new(self.url.clone())
        }
    }
}

async fn answer(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: String) -> Response {
    let reply = judge(&inner, &headers, &body);
    tokio::time::sleep(reply.delay).await;
    let status = StatusCode::from_u16(reply.status).unwrap();
    (status, [(header::CONTENT_TYPE, "application/json")], reply.body).into_response()
}

fn judge(inner: &Inner, headers: &HeaderMap, text: &str) -> Reply {
    let body: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    let command = body["command"].as_str().unwrap_or_default().to_string();
    inner.seen.lock().unwrap().push(Seen {
        command: command.clone(),
        body_chars: text.chars().count(),
        body: body.clone(),
    });
    if !headers.contains_key("X-IOTA-API-Version") {
        return Reply::error("Invalid API Version");
    }
    if text.chars().count() > IRI_MAX_BODY_CHARS {
        return Reply::error("Request too long");
    }
    if body.is_null() {
        return Reply::error("Invalid JSON syntax");
    }
    let too_long = body
        .as_object()
        .into_iter()
        .flat_map(|map| map.values())
        .any(|v| v.as_array().is_some_and(|items| items.len() > IRI_MAX_REQUEST_LIST));
    if too_long {
        return Reply::exception("Could not complete request");
    }
    (inner.handler)(&command, &body)
}

/// The transactions of a `trytes` list.
pub fn transactions(body: &Value) -> Vec<Transaction> {
    body["trytes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| Transaction::from_trytes(t.as_str().unwrap()).unwrap())
        .collect()
}

/// The hashes of a list parameter.
pub fn hashes(body: &Value, name: &str) -> Vec<Hash> {
    body[name]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| Hash::from_trytes(h.as_str().unwrap()).unwrap())
        .collect()
}

/// IRI 1.8.6's `attachToTangle`: sorted by index, highest first; the first
/// gets (trunk, branch), each later one (hash of the one before, trunk);
/// returned lowest index first. Refuses a weight given as anything but a
/// JSON number, as IRI's `getParameterAsInt` does.
pub fn attach(body: &Value) -> Reply {
    let Some(mwm) = body["minWeightMagnitude"].as_f64() else {
        return Reply::exception("Invalid minWeightMagnitude input");
    };
    let trunk = Hash::from_trytes(body["trunkTransaction"].as_str().unwrap()).unwrap();
    let branch = Hash::from_trytes(body["branchTransaction"].as_str().unwrap()).unwrap();
    let mut txs = transactions(body);
    txs.sort_by_key(|tx| tx.current_index.get());
    let attached = local_attach(&txs, trunk, branch, mwm as u8);
    Reply::ok(json!({ "trytes": attached.iter().map(Transaction::to_trytes).collect::<Vec<_>>() }))
}

/// What one `attachToTangle` call makes of `bundle` (index order).
pub fn local_attach(bundle: &[Transaction], trunk: Hash, branch: Hash, mwm: u8) -> Vec<Transaction> {
    let options = AttachOptions {
        min_weight_magnitude: mwm,
        threads: 1,
        timestamp_ms: 1_600_000_000_000,
    };
    attach_bundle(bundle, trunk, branch, &options, &Cancel::default())
        .unwrap()
        .unwrap()
}

/// A hash of one repeated tryte.
pub fn hash_of(tryte: char) -> Hash {
    Hash::from_trytes(&tryte.to_string().repeat(81)).unwrap()
}

/// Address number `i` (below 27^6): six base-27 trytes, then `A`s.
pub fn address(mut i: usize) -> Address {
    const TRYTES: &[u8] = b"9ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut text = String::new();
    for _ in 0..6 {
        text.push(TRYTES[i % 27] as char);
        i /= 27;
    }
    Address::from_trytes(&format!("{text:A<81}")).unwrap()
}

/// An unattached bundle of `n` zero-value outputs (index order), addresses
/// from `first` on.
pub fn zero_bundle(n: usize, first: usize) -> Vec<Transaction> {
    (first..first + n)
        .fold(BundleBuilder::new(1_600_000_000).unwrap(), |b, i| {
            b.output(Output::new(address(i), 0))
        })
        .build()
        .unwrap()
        .transactions()
        .to_vec()
}
