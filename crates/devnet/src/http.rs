//! The IRI JSON API over HTTP: `POST /` with `X-IOTA-API-Version`, JSON in
//! and out, IRI's error style (`{"error": "..."}`, status 400), plus the
//! devnet's own admin commands (`issueMilestone`, `fund`, `setFaults`,
//! `getFaults`). Injected faults (failures, delays) are applied here, except
//! to the fault commands themselves so a test can always switch them off.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use hub_node::api::{self, API_VERSION_HEADER};
use hub_protocol::address::ChecksumPolicy;
use hub_protocol::{Address, Hash, Tag, Transaction};
use rand::Rng;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::faults::Faults;
use crate::node::{Node, MAX_LIST};

/// Largest request body accepted (a full batch of transactions fits).
const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// The router serving `node`.
pub fn router(node: Arc<Node>) -> Router {
    Router::new()
        .route("/", post(handle))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(node)
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

async fn handle(State(node): State<Arc<Node>>, headers: HeaderMap, body: Bytes) -> Response {
    let started = Instant::now();
    if !headers.contains_key(API_VERSION_HEADER) {
        return error(
            StatusCode::BAD_REQUEST,
            "Invalid API Version: the X-IOTA-API-Version header is required",
        );
    }
    let request: Value = match serde_json::from_slice(&body) {
        Ok(Value::Object(map)) => Value::Object(map),
        Ok(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "Invalid request: the body must be a JSON object",
            )
        }
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("Invalid JSON: {e}")),
    };
    let Some(command) = request.get("command").and_then(Value::as_str).map(str::to_string) else {
        return error(
            StatusCode::BAD_REQUEST,
            "COMMAND parameter has not been specified in the request.",
        );
    };
    if !matches!(command.as_str(), "setFaults" | "getFaults") {
        let faults = node.faults();
        let (fail, delay) = {
            let mut rng = rand::thread_rng();
            (rng.gen_bool(faults.fail_rate), rng.gen_bool(faults.delay_rate))
        };
        if delay {
            tokio::time::sleep(Duration::from_millis(faults.delay_ms)).await;
        }
        if fail {
            return error(StatusCode::INTERNAL_SERVER_ERROR, "injected failure");
        }
    }
    match dispatch(&node, &command, request).await {
        Ok(Value::Object(mut reply)) => {
            reply.insert("duration".into(), json!(started.elapsed().as_millis() as u64));
            (StatusCode::OK, Json(Value::Object(reply))).into_response()
        }
        Ok(other) => (StatusCode::OK, Json(other)).into_response(),
        Err(message) => error(StatusCode::BAD_REQUEST, message),
    }
}

fn parse<T: DeserializeOwned>(command: &str, request: Value) -> Result<T, String> {
    serde_json::from_value(request).map_err(|e| format!("Invalid parameters for {command}: {e}"))
}

fn check_list(field: &str, len: usize) -> Result<(), String> {
    if len > MAX_LIST {
        return Err(format!("Invalid {field} input: at most {MAX_LIST} items"));
    }
    Ok(())
}

fn hashes(field: &str, raw: &[String]) -> Result<Vec<Hash>, String> {
    check_list(field, raw.len())?;
    raw.iter()
        .map(|h| Hash::from_trytes(h).map_err(|e| format!("Invalid {field} input: {e}")))
        .collect()
}

fn addresses(field: &str, raw: &[String]) -> Result<Vec<Address>, String> {
    check_list(field, raw.len())?;
    raw.iter()
        .map(|a| Address::parse(a, ChecksumPolicy::Optional).map_err(|e| format!("Invalid {field} input: {e}")))
        .collect()
}

fn transactions(raw: &[String]) -> Result<Vec<Transaction>, String> {
    check_list("trytes", raw.len())?;
    raw.iter()
        .enumerate()
        .map(|(i, t)| Transaction::from_trytes(t).map_err(|e| format!("Invalid trytes input: transaction {i}: {e}")))
        .collect()
}

fn trytes_reply(txs: &[Option<Transaction>]) -> Value {
    let null = "9".repeat(hub_protocol::transaction::TRANSACTION_TRYTES);
    json!({ "trytes": txs.iter().map(|t| t.as_ref().map_or_else(|| null.clone(), Transaction::to_trytes)).collect::<Vec<_>>() })
}

#[derive(Deserialize)]
struct Fund {
    address: String,
    #[serde(deserialize_with = "api::number_or_string")]
    amount: u64,
}

async fn dispatch(node: &Arc<Node>, command: &str, request: Value) -> Result<Value, String> {
    match command {
        "getNodeInfo" => {
            let info = node.info();
            Ok(serde_json::to_value(api::NodeInfoReply {
                app_name: "Hub devnet".into(),
                app_version: env!("CARGO_PKG_VERSION").into(),
                latest_milestone: info.latest.hash.to_string(),
                latest_milestone_index: info.latest.index,
                latest_solid_subtangle_milestone: info.solid.hash.to_string(),
                latest_solid_subtangle_milestone_index: info.solid.index,
                milestone_start_index: i64::try_from(info.start_index).unwrap_or(i64::MAX),
                neighbors: 0,
                time: std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as u64),
                tips: info.tips as u64,
                transactions_to_request: 0,
            })
            .expect("serialisable"))
        }
        "getTips" => Ok(json!({ "hashes": node.tips().iter().map(ToString::to_string).collect::<Vec<_>>() })),
        "getTransactionsToApprove" => {
            let r: api::GetTransactionsToApprove = parse(command, request)?;
            let reference = r
                .reference
                .map(|h| Hash::from_trytes(&h).map_err(|e| format!("Invalid reference input: {e}")))
                .transpose()?;
            let (trunk, branch) = node.transactions_to_approve(r.depth, reference)?;
            Ok(json!({ "trunkTransaction": trunk.to_string(), "branchTransaction": branch.to_string() }))
        }
        "attachToTangle" => {
            let r: api::AttachToTangle = parse(command, request)?;
            let trunk =
                Hash::from_trytes(&r.trunk_transaction).map_err(|e| format!("Invalid trunkTransaction input: {e}"))?;
            let branch = Hash::from_trytes(&r.branch_transaction)
                .map_err(|e| format!("Invalid branchTransaction input: {e}"))?;
            let attached = node
                .attach(trunk, branch, r.min_weight_magnitude, transactions(&r.trytes)?)
                .await?;
            Ok(json!({ "trytes": attached.iter().map(Transaction::to_trytes).collect::<Vec<_>>() }))
        }
        "interruptAttachingToTangle" => {
            node.interrupt_attaching();
            Ok(json!({}))
        }
        "storeTransactions" | "broadcastTransactions" => {
            let r: api::Trytes = parse(command, request)?;
            node.store(transactions(&r.trytes)?)?;
            Ok(json!({}))
        }
        "findTransactions" => {
            let r: api::FindTransactions = parse(command, request)?;
            if r.addresses.is_none() && r.bundles.is_none() && r.tags.is_none() && r.approvees.is_none() {
                return Err(
                    "Invalid parameters for findTransactions: give addresses, bundles, tags or approvees".into(),
                );
            }
            let tags = r
                .tags
                .unwrap_or_default()
                .iter()
                .map(|t| Tag::from_trytes_padded(t).map_err(|e| format!("Invalid tags input: {e}")))
                .collect::<Result<Vec<_>, _>>()?;
            check_list("tags", tags.len())?;
            let found = node.find(
                &addresses("addresses", &r.addresses.unwrap_or_default())?,
                &hashes("bundles", &r.bundles.unwrap_or_default())?,
                &tags,
                &hashes("approvees", &r.approvees.unwrap_or_default())?,
            );
            Ok(json!({ "hashes": found.iter().map(ToString::to_string).collect::<Vec<_>>() }))
        }
        "getTrytes" => {
            let r: api::GetTrytes = parse(command, request)?;
            Ok(trytes_reply(&node.trytes(&hashes("hashes", &r.hashes)?)))
        }
        "getBalances" => {
            let r: api::GetBalances = parse(command, request)?;
            if let Some(threshold) = r.threshold {
                if threshold > 100 {
                    return Err(format!("Illegal 'threshold': {threshold} (must be 0 to 100)"));
                }
            }
            let tips = r.tips.as_deref().map(|t| hashes("tips", t)).transpose()?;
            let (balances, references, index) =
                node.balances(&addresses("addresses", &r.addresses)?, tips.as_deref())?;
            Ok(json!({
                "balances": balances.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "references": references.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "milestoneIndex": index,
            }))
        }
        "getInclusionStates" => {
            let r: api::GetInclusionStates = parse(command, request)?;
            let tips = r.tips.as_deref().map(|t| hashes("tips", t)).transpose()?;
            let states = node.inclusion_states(&hashes("transactions", &r.transactions)?, tips.as_deref())?;
            Ok(json!({ "states": states }))
        }
        "wereAddressesSpentFrom" => {
            let r: api::Addresses = parse(command, request)?;
            Ok(json!({ "states": node.were_spent(&addresses("addresses", &r.addresses)?) }))
        }
        "checkConsistency" => {
            let r: api::CheckConsistency = parse(command, request)?;
            let (state, info) = node.check_consistency(&hashes("tails", &r.tails)?)?;
            Ok(match info {
                Some(info) => json!({ "state": state, "info": info }),
                None => json!({ "state": state }),
            })
        }
        "issueMilestone" => {
            let node = node.clone();
            let milestone = tokio::task::spawn_blocking(move || node.issue_milestone())
                .await
                .map_err(|e| e.to_string())??;
            Ok(json!({ "milestoneIndex": milestone.index, "milestone": milestone.hash.to_string() }))
        }
        "fund" => {
            let r: Fund = parse(command, request)?;
            let address = Address::parse(&r.address, ChecksumPolicy::Optional)
                .map_err(|e| format!("Invalid address input: {e}"))?;
            let receipt = node.fund(address, r.amount).await?;
            Ok(json!({ "bundle": receipt.bundle.to_string(), "tail": receipt.tail.to_string() }))
        }
        "setFaults" => {
            let mut request = request;
            if let Value::Object(map) = &mut request {
                map.remove("command");
            }
            let faults: Faults = parse(command, request)?;
            Ok(serde_json::to_value(node.set_faults(faults)?).expect("serialisable"))
        }
        "getFaults" => Ok(serde_json::to_value(node.faults()).expect("serialisable")),
        other => Err(format!("Command [{other}] is unknown")),
    }
}
