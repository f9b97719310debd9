//! Async IRI client with timeouts, bounded retries and several endpoints.
//!
//! Every call has a deadline (the original had none, so one hung node
//! blocked a service forever). Transport failures, timeouts and 5xx answers
//! are retried on the next endpoint with exponential back-off, a bounded
//! number of times; an IRI error (HTTP 400 with `{"error": …}`) is the node's
//! answer and is returned at once. Results are typed: hashes, addresses and
//! transactions are parsed and checked here, so callers never see raw trytes.
//! An endpoint URL may carry credentials (`http://user:password@host`):
//! errors and `Debug` name it only through [`redact_url`], and failures
//! from the HTTP library are shown without the URL they carry.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use hub_protocol::{redact_url, Address, Hash, Transaction};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::api::{self, API_VERSION_HEADER};

/// Where and how to reach nodes.
#[derive(Clone)]
pub struct ClientConfig {
    /// Node URLs (`http://host:14265`), tried in turn.
    pub endpoints: Vec<String>,
    /// Deadline of one HTTP request.
    pub timeout: Duration,
    /// Further attempts after a transport failure (0 = try once).
    pub retries: u32,
    /// Wait before the first retry; doubled for each further one.
    pub retry_backoff: Duration,
}

impl std::fmt::Debug for ClientConfig {
    /// Endpoints without their credentials.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let endpoints: Vec<String> = self.endpoints.iter().map(|e| redact_url(e)).collect();
        f.debug_struct("ClientConfig")
            .field("endpoints", &endpoints)
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .field("retry_backoff", &self.retry_backoff)
            .finish()
    }
}

impl ClientConfig {
    /// One endpoint, 30 s timeout, 2 retries, 200 ms back-off.
    pub fn new(endpoint: impl Into<String>) -> Self {
        Self {
            endpoints: vec![endpoint.into()],
            timeout: Duration::from_secs(30),
            retries: 2,
            retry_backoff: Duration::from_millis(200),
        }
    }
}

/// Why a node call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum NodeError {
    /// No endpoint answered (connection, timeout or server failure).
    #[error("node unavailable for {command}: {reason}")]
    Unavailable { command: &'static str, reason: String },
    /// The node answered with an error.
    #[error("node refused {command}: {message}")]
    Refused { command: &'static str, message: String },
    /// The node's answer did not have the expected shape or content.
    #[error("unexpected reply to {command}: {reason}")]
    BadReply { command: &'static str, reason: String },
    /// The client was asked something invalid (never sent).
    #[error("invalid request for {command}: {reason}")]
    InvalidRequest { command: &'static str, reason: String },
}

/// What `getNodeInfo` tells Hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeInfo {
    /// Latest milestone.
    pub latest_milestone: Hash,
    /// Its index.
    pub latest_milestone_index: u64,
    /// Latest solid milestone.
    pub latest_solid_milestone: Hash,
    /// Its index.
    pub latest_solid_milestone_index: u64,
    /// Node time, ms since the epoch.
    pub time_ms: u64,
    /// Software name.
    pub app_name: String,
}

/// `getBalances` result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Balances {
    /// Balance per requested address, in order.
    pub balances: Vec<u64>,
    /// Milestone index the balances are at.
    pub milestone_index: u64,
    /// The references the node reported.
    pub references: Vec<Hash>,
}

/// `checkConsistency` result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consistency {
    /// Whether the tails are consistent.
    pub state: bool,
    /// Why not.
    pub info: Option<String>,
}

/// `findTransactions` query: lists are intersected, items within a list united.
#[derive(Debug, Clone, Default)]
pub struct FindQuery {
    /// By address.
    pub addresses: Vec<Address>,
    /// By bundle hash.
    pub bundles: Vec<Hash>,
    /// By approved transaction.
    pub approvees: Vec<Hash>,
    /// By tag (27 trytes).
    pub tags: Vec<hub_protocol::Tag>,
}

/// Batch sizes of the original client (hub-behaviour.md §11).
const BALANCES_BATCH: usize = 1000;
const FIND_BATCH: usize = 500;
const TRYTES_BATCH: usize = 500;
const INCLUSION_BATCH: usize = 1000;

/// An IRI client. Cheap to clone; clones share connections.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    config: std::sync::Arc<ClientConfig>,
    next: std::sync::Arc<AtomicUsize>,
    requests: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

fn bad_reply(command: &'static str, reason: impl ToString) -> NodeError {
    NodeError::BadReply {
        command,
        reason: reason.to_string(),
    }
}

fn hashes(command: &'static str, raw: &[String]) -> Result<Vec<Hash>, NodeError> {
    raw.iter()
        .map(|h| Hash::from_trytes(h).map_err(|e| bad_reply(command, e)))
        .collect()
}

impl Client {
    /// A client for `config`. Fails if no endpoint is given.
    pub fn new(config: ClientConfig) -> Result<Self, NodeError> {
        if config.endpoints.is_empty() {
            return Err(NodeError::InvalidRequest {
                command: "client",
                reason: "at least one node endpoint is required".into(),
            });
        }
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .map_err(|e| NodeError::InvalidRequest {
                command: "client",
                reason: e.to_string(),
            })?;
        Ok(Self {
            http,
            config: std::sync::Arc::new(config),
            next: std::sync::Arc::new(AtomicUsize::new(0)),
            requests: std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0)),
        })
    }

    /// HTTP requests sent so far by this client and its clones (retries included).
    pub fn requests_sent(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// The configured endpoints.
    pub fn endpoints(&self) -> &[String] {
        &self.config.endpoints
    }

    /// Sends `{"command": command, ..body}` and decodes the reply.
    pub async fn call<B: Serialize, R: DeserializeOwned>(
        &self,
        command: &'static str,
        body: &B,
    ) -> Result<R, NodeError> {
        let mut json = serde_json::to_value(body).map_err(|e| NodeError::InvalidRequest {
            command,
            reason: e.to_string(),
        })?;
        match &mut json {
            Value::Object(map) => {
                map.insert("command".into(), Value::String(command.into()));
            }
            Value::Null => json = serde_json::json!({ "command": command }),
            _ => {
                return Err(NodeError::InvalidRequest {
                    command,
                    reason: "body must be an object".into(),
                })
            }
        }
        let value = self.call_raw(command, &json).await?;
        serde_json::from_value(value).map_err(|e| bad_reply(command, e))
    }

    /// Sends a JSON body as is; returns the reply object. For commands this
    /// client has no typed method for (the devnet's own ones).
    pub async fn call_raw(&self, command: &'static str, body: &Value) -> Result<Value, NodeError> {
        let endpoints = &self.config.endpoints;
        let start = self.next.load(Ordering::Relaxed);
        let mut last_failure = String::new();
        for attempt in 0..=self.config.retries {
            let endpoint = &endpoints[(start + attempt as usize) % endpoints.len()];
            if attempt > 0 {
                let factor = 2u32.saturating_pow(attempt - 1);
                tokio::time::sleep(self.config.retry_backoff.saturating_mul(factor)).await;
            }
            self.requests.fetch_add(1, Ordering::Relaxed);
            let response = self
                .http
                .post(endpoint)
                .header(API_VERSION_HEADER, "1")
                .json(body)
                .send()
                .await;
            let response = match response {
                Ok(r) => r,
                Err(e) => {
                    last_failure = format!("{}: {}", redact_url(endpoint), e.without_url());
                    self.next
                        .store((start + attempt as usize + 1) % endpoints.len(), Ordering::Relaxed);
                    continue;
                }
            };
            let status = response.status();
            let text = match response.text().await {
                Ok(t) => t,
                Err(e) => {
                    last_failure = format!("{}: {}", redact_url(endpoint), e.without_url());
                    continue;
                }
            };
            if status.is_server_error() {
                last_failure = format!("{}: HTTP {status}", redact_url(endpoint));
                self.next
                    .store((start + attempt as usize + 1) % endpoints.len(), Ordering::Relaxed);
                continue;
            }
            let value: Value =
                serde_json::from_str(&text).map_err(|e| bad_reply(command, format!("not JSON ({e})")))?;
            if let Some(error) = value.get("error").and_then(Value::as_str) {
                return Err(NodeError::Refused {
                    command,
                    message: error.to_string(),
                });
            }
            if !status.is_success() {
                return Err(bad_reply(command, format!("HTTP {status}")));
            }
            return Ok(value);
        }
        Err(NodeError::Unavailable {
            command,
            reason: last_failure,
        })
    }

    /// `getNodeInfo`.
    pub async fn get_node_info(&self) -> Result<NodeInfo, NodeError> {
        const C: &str = "getNodeInfo";
        let reply: api::NodeInfoReply = self.call(C, &Value::Null).await?;
        Ok(NodeInfo {
            latest_milestone: Hash::from_trytes(&reply.latest_milestone).map_err(|e| bad_reply(C, e))?,
            latest_milestone_index: reply.latest_milestone_index,
            latest_solid_milestone: Hash::from_trytes(&reply.latest_solid_subtangle_milestone)
                .map_err(|e| bad_reply(C, e))?,
            latest_solid_milestone_index: reply.latest_solid_subtangle_milestone_index,
            time_ms: reply.time,
            app_name: reply.app_name,
        })
    }

    /// `getTips`.
    pub async fn get_tips(&self) -> Result<Vec<Hash>, NodeError> {
        let reply: api::HashesReply = self.call("getTips", &Value::Null).await?;
        hashes("getTips", &reply.hashes)
    }

    /// `getTransactionsToApprove`: (trunk, branch).
    pub async fn get_transactions_to_approve(
        &self,
        depth: u32,
        reference: Option<Hash>,
    ) -> Result<(Hash, Hash), NodeError> {
        const C: &str = "getTransactionsToApprove";
        let body = api::GetTransactionsToApprove {
            depth,
            reference: reference.map(|r| r.to_string()),
        };
        let reply: api::TipsReply = self.call(C, &body).await?;
        let trunk = Hash::from_trytes(&reply.trunk_transaction).map_err(|e| bad_reply(C, e))?;
        let branch = Hash::from_trytes(&reply.branch_transaction).map_err(|e| bad_reply(C, e))?;
        Ok((trunk, branch))
    }

    /// `attachToTangle`: proof of work by the node. Takes and returns the
    /// bundle in index order (the wire order is last index first).
    pub async fn attach_to_tangle(
        &self,
        trunk: Hash,
        branch: Hash,
        mwm: u8,
        bundle: &[Transaction],
    ) -> Result<Vec<Transaction>, NodeError> {
        const C: &str = "attachToTangle";
        let body = api::AttachToTangle {
            trunk_transaction: trunk.to_string(),
            branch_transaction: branch.to_string(),
            min_weight_magnitude: mwm,
            trytes: bundle.iter().rev().map(Transaction::to_trytes).collect(),
        };
        let reply: api::TrytesReply = self.call(C, &body).await?;
        let mut txs = reply
            .trytes
            .iter()
            .map(|t| Transaction::from_trytes(t).map_err(|e| bad_reply(C, e)))
            .collect::<Result<Vec<_>, _>>()?;
        if txs.len() != bundle.len() {
            return Err(bad_reply(
                C,
                format!("{} transactions returned for {}", txs.len(), bundle.len()),
            ));
        }
        // Do not trust the order (the original's FIXME): sort by index.
        txs.sort_by_key(|tx| tx.current_index.get());
        Ok(txs)
    }

    /// `storeTransactions`.
    pub async fn store_transactions(&self, txs: &[Transaction]) -> Result<(), NodeError> {
        let body = api::Trytes {
            trytes: txs.iter().map(Transaction::to_trytes).collect(),
        };
        self.call::<_, Value>("storeTransactions", &body).await.map(drop)
    }

    /// `broadcastTransactions`.
    pub async fn broadcast_transactions(&self, txs: &[Transaction]) -> Result<(), NodeError> {
        let body = api::Trytes {
            trytes: txs.iter().map(Transaction::to_trytes).collect(),
        };
        self.call::<_, Value>("broadcastTransactions", &body).await.map(drop)
    }

    /// `findTransactions`, batched by 500 items of the longest list.
    pub async fn find_transactions(&self, query: &FindQuery) -> Result<Vec<Hash>, NodeError> {
        const C: &str = "findTransactions";
        let lists = [
            query.addresses.len(),
            query.bundles.len(),
            query.approvees.len(),
            query.tags.len(),
        ];
        if lists.iter().all(|&n| n == 0) {
            return Ok(Vec::new());
        }
        let strings = |v: Vec<String>| if v.is_empty() { None } else { Some(v) };
        let mut out = Vec::new();
        // Batch on the longest list; the other lists go whole with each batch.
        let longest = (0..4).max_by_key(|&i| lists[i]).unwrap_or(0);
        let mut offset = 0;
        while offset < lists[longest] {
            let range = offset..(offset + FIND_BATCH).min(lists[longest]);
            let pick = |i: usize, all: Vec<String>| if i == longest { all[range.clone()].to_vec() } else { all };
            let body = api::FindTransactions {
                addresses: strings(pick(0, query.addresses.iter().map(|a| a.to_string()).collect())),
                bundles: strings(pick(1, query.bundles.iter().map(|h| h.to_string()).collect())),
                approvees: strings(pick(2, query.approvees.iter().map(|h| h.to_string()).collect())),
                tags: strings(pick(3, query.tags.iter().map(|t| t.to_string()).collect())),
            };
            let reply: api::HashesReply = self.call(C, &body).await?;
            out.extend(hashes(C, &reply.hashes)?);
            offset = range.end;
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// `getTrytes`, batched by 500: `None` for hashes the node does not know.
    pub async fn get_trytes(&self, wanted: &[Hash]) -> Result<Vec<Option<Transaction>>, NodeError> {
        const C: &str = "getTrytes";
        let mut out = Vec::with_capacity(wanted.len());
        for chunk in wanted.chunks(TRYTES_BATCH) {
            let body = api::GetTrytes {
                hashes: chunk.iter().map(|h| h.to_string()).collect(),
            };
            let reply: api::TrytesReply = self.call(C, &body).await?;
            if reply.trytes.len() != chunk.len() {
                return Err(bad_reply(C, "wrong number of transactions"));
            }
            for trytes in reply.trytes {
                if trytes.bytes().all(|b| b == b'9') {
                    out.push(None);
                } else {
                    out.push(Some(Transaction::from_trytes(&trytes).map_err(|e| bad_reply(C, e))?));
                }
            }
        }
        Ok(out)
    }

    /// `getBalances`, batched by 1000 addresses; confirmed balances.
    pub async fn get_balances(&self, addresses: &[Address]) -> Result<Balances, NodeError> {
        const C: &str = "getBalances";
        let mut result = Balances {
            balances: Vec::with_capacity(addresses.len()),
            milestone_index: 0,
            references: Vec::new(),
        };
        for chunk in addresses.chunks(BALANCES_BATCH) {
            let body = api::GetBalances {
                addresses: chunk.iter().map(|a| a.to_string()).collect(),
                threshold: Some(100),
                tips: None,
            };
            let reply: api::BalancesReply = self.call(C, &body).await?;
            if reply.balances.len() != chunk.len() {
                return Err(bad_reply(C, "wrong number of balances"));
            }
            for b in &reply.balances {
                result
                    .balances
                    .push(b.parse().map_err(|_| bad_reply(C, format!("balance {b:?}")))?);
            }
            // Batches taken across a milestone would mix ledger states: refuse.
            if !result.references.is_empty() && result.milestone_index != reply.milestone_index {
                return Err(bad_reply(C, "a milestone arrived between batches; retry"));
            }
            result.milestone_index = reply.milestone_index;
            result.references = hashes(C, &reply.references)?;
        }
        Ok(result)
    }

    /// `getInclusionStates` against `tips`, batched by 1000.
    pub async fn get_inclusion_states(&self, transactions: &[Hash], tips: &[Hash]) -> Result<Vec<bool>, NodeError> {
        const C: &str = "getInclusionStates";
        let mut out = Vec::with_capacity(transactions.len());
        for chunk in transactions.chunks(INCLUSION_BATCH) {
            let body = api::GetInclusionStates {
                transactions: chunk.iter().map(|h| h.to_string()).collect(),
                tips: Some(tips.iter().map(|h| h.to_string()).collect()),
            };
            let reply: api::StatesReply = self.call(C, &body).await?;
            if reply.states.len() != chunk.len() {
                return Err(bad_reply(C, "wrong number of states"));
            }
            out.extend(reply.states);
        }
        Ok(out)
    }

    /// `wereAddressesSpentFrom`.
    pub async fn were_addresses_spent_from(&self, addresses: &[Address]) -> Result<Vec<bool>, NodeError> {
        const C: &str = "wereAddressesSpentFrom";
        let body = api::Addresses {
            addresses: addresses.iter().map(|a| a.to_string()).collect(),
        };
        let reply: api::StatesReply = self.call(C, &body).await?;
        if reply.states.len() != addresses.len() {
            return Err(bad_reply(C, "wrong number of states"));
        }
        Ok(reply.states)
    }

    /// `checkConsistency`.
    pub async fn check_consistency(&self, tails: &[Hash]) -> Result<Consistency, NodeError> {
        let body = api::CheckConsistency {
            tails: tails.iter().map(|h| h.to_string()).collect(),
        };
        let reply: api::ConsistencyReply = self.call("checkConsistency", &body).await?;
        Ok(Consistency {
            state: reply.state,
            info: reply.info,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Goal: a node URL's password never reaches an error or a debug print.
    /// Method: an endpoint with credentials where nothing listens.
    #[tokio::test]
    async fn an_unreachable_node_is_named_without_its_password() {
        let client = Client::new(ClientConfig {
            retries: 0,
            ..ClientConfig::new("http://user:pw@127.0.0.1:1/")
        })
        .unwrap();
        let error = client.get_node_info().await.unwrap_err();
        assert!(matches!(error, NodeError::Unavailable { .. }), "{error:?}");
        let text = error.to_string();
        assert!(text.contains("http://user:***@127.0.0.1:1/"), "{text}");
        assert!(!text.contains("pw"), "{text}");
        assert!(!format!("{error:?} {client:?}").contains("pw"));
    }
}
