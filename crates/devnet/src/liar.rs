//! A lying node, for drills and tests: an HTTP proxy in front of a real
//! node (usually the devnet) that passes every command through and then
//! rewrites the answer as told ([`Lies`]): more balance on an address,
//! transactions the node never saw, trytes that are not the transaction
//! asked for, inclusion claimed for what no milestone confirmed, an
//! address called spent. A Hub
//! pointed at it must believe none of it; tests of the core and of the
//! binaries share it so both face the same lies.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use hub_protocol::attach::{attach_bundle, AttachOptions, Cancel};
use hub_protocol::bundle::{BundleBuilder, Input, Output};
use hub_protocol::{Address, Hash, SecurityLevel, Transaction};
use serde_json::{json, Value};
use tokio::task::JoinHandle;

/// What the proxy adds to the node's answers.
#[derive(Debug, Default)]
pub struct Lies {
    /// Added to the confirmed balance of an address (`getBalances`).
    pub balance: HashMap<Address, u64>,
    /// Transactions the node never saw, found by address and bundle
    /// (`findTransactions`) and served by hash (`getTrytes`).
    pub invented: Vec<Transaction>,
    /// `getTrytes` answers for these hashes are replaced by these trytes.
    pub trytes: HashMap<Hash, String>,
    /// Called confirmed whatever the node says (`getInclusionStates`).
    pub included: HashSet<Hash>,
    /// Called spent from whatever the node says (`wereAddressesSpentFrom`).
    pub spent: HashSet<Address>,
}

/// A lie to tell with [`Lies::invented`]: a value bundle paying `amount`
/// to `to` from an address nobody funded, attached on `approve` (at a low
/// weight) but never signed, so it breaks no rule but its signature.
pub fn unsigned_payment(to: Address, amount: u64, approve: Hash) -> Result<Vec<Transaction>, String> {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| e.to_string())
        .and_then(|since| i64::try_from(since.as_millis()).map_err(|e| e.to_string()))?;
    let unsigned = BundleBuilder::new(u64::try_from(now_ms / 1000).unwrap_or(0))
        .and_then(|builder| {
            builder
                .input(Input {
                    address: Address::from_trytes(&format!("{:9<81}", "LIAR"))?,
                    amount,
                    security: SecurityLevel::Low,
                })
                .output(Output::new(to, amount))
                .build()
        })
        .map_err(|e| e.to_string())?;
    let options = AttachOptions {
        min_weight_magnitude: 1,
        threads: 1,
        timestamp_ms: now_ms,
    };
    attach_bundle(unsigned.transactions(), approve, approve, &options, &Cancel::default())
        .map_err(|e| e.to_string())?
        .ok_or_else(|| "proof of work cancelled".to_string())
}

#[derive(Clone)]
struct Proxy {
    upstream: String,
    http: reqwest::Client,
    lies: Arc<Mutex<Lies>>,
}

/// A running lying proxy; stops when dropped.
pub struct LyingNode {
    url: String,
    lies: Arc<Mutex<Lies>>,
    task: JoinHandle<()>,
}

impl LyingNode {
    /// Starts a proxy on a free loopback port in front of `upstream` (a
    /// node's URL), telling no lies yet.
    pub async fn start(upstream: &str) -> std::io::Result<Self> {
        let lies = Arc::new(Mutex::new(Lies::default()));
        let proxy = Proxy {
            upstream: upstream.to_string(),
            http: reqwest::Client::new(),
            lies: lies.clone(),
        };
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let app = Router::new().route("/", post(answer)).with_state(proxy);
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::warn!("lying node stopped: {e}");
            }
        });
        Ok(Self { url, lies, task })
    }

    /// Its URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The lies it tells from now on, to change.
    pub fn lies(&self) -> MutexGuard<'_, Lies> {
        self.lies.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Drop for LyingNode {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn strings(body: &Value, field: &str) -> Vec<String> {
    body[field]
        .as_array()
        .map(|items| items.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

fn hash(trytes: &str) -> Option<Hash> {
    Hash::from_trytes(trytes).ok()
}

/// Forwards one command and tells the lies that concern its answer.
async fn answer(State(proxy): State<Proxy>, Json(body): Json<Value>) -> (StatusCode, Json<Value>) {
    let forwarded = proxy
        .http
        .post(&proxy.upstream)
        .header("X-IOTA-API-Version", "1")
        .json(&body)
        .send()
        .await;
    let (status, mut reply) = match forwarded {
        Ok(response) => {
            let status = response.status();
            match response.json::<Value>().await {
                Ok(reply) => (status, reply),
                Err(e) => return (StatusCode::BAD_GATEWAY, Json(json!({ "error": e.to_string() }))),
            }
        }
        Err(e) => return (StatusCode::BAD_GATEWAY, Json(json!({ "error": e.to_string() }))),
    };
    if status.is_success() {
        let lies = proxy.lies.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        tell(&lies, &body, &mut reply);
    }
    (status, Json(reply))
}

/// Rewrites the upstream's successful `reply` to `body` with `lies`.
fn tell(lies: &Lies, body: &Value, reply: &mut Value) {
    match body["command"].as_str().unwrap_or_default() {
        "getBalances" => {
            for (i, asked) in strings(body, "addresses").iter().enumerate() {
                let extra = Address::from_trytes(asked).ok().and_then(|a| lies.balance.get(&a));
                let Some(slot) = reply["balances"].get_mut(i) else {
                    continue;
                };
                let real = slot.as_str().and_then(|b| b.parse::<u64>().ok());
                if let (Some(extra), Some(real)) = (extra, real) {
                    *slot = Value::String(real.saturating_add(*extra).to_string());
                }
            }
        }
        "findTransactions" => {
            let addresses = strings(body, "addresses");
            let bundles = strings(body, "bundles");
            if let Some(hashes) = reply["hashes"].as_array_mut() {
                for tx in &lies.invented {
                    let by_address = addresses.is_empty() || addresses.contains(&tx.address.to_string());
                    let by_bundle = bundles.is_empty() || bundles.contains(&tx.bundle.to_string());
                    if by_address && by_bundle {
                        hashes.push(Value::String(tx.hash().to_string()));
                    }
                }
            }
        }
        "getTrytes" => {
            for (i, asked) in strings(body, "hashes").iter().enumerate() {
                let (Some(asked), Some(slot)) = (hash(asked), reply["trytes"].get_mut(i)) else {
                    continue;
                };
                if let Some(trytes) = lies.trytes.get(&asked) {
                    *slot = Value::String(trytes.clone());
                } else if let Some(tx) = lies.invented.iter().find(|tx| tx.hash() == asked) {
                    *slot = Value::String(tx.to_trytes());
                }
            }
        }
        "wereAddressesSpentFrom" => {
            for (i, asked) in strings(body, "addresses").iter().enumerate() {
                let Some(slot) = reply["states"].get_mut(i) else {
                    continue;
                };
                if Address::from_trytes(asked).is_ok_and(|a| lies.spent.contains(&a)) {
                    *slot = Value::Bool(true);
                }
            }
        }
        "getInclusionStates" => {
            for (i, asked) in strings(body, "transactions").iter().enumerate() {
                let Some(slot) = reply["states"].get_mut(i) else {
                    continue;
                };
                if hash(asked).is_some_and(|h| lies.included.contains(&h)) {
                    *slot = Value::Bool(true);
                }
            }
        }
        _ => {}
    }
}
