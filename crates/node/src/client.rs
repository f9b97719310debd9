//! Async IRI client with deadlines, bounded retries and several endpoints.
//!
//! Every request has a deadline (the original had none, so one hung node
//! blocked a service forever): [`ClientConfig::timeout`], or the longer
//! [`ClientConfig::pow_timeout`] for `attachToTangle` and
//! [`ClientConfig::tip_selection_timeout`] for `getTransactionsToApprove`,
//! which IRI may legitimately spend a minute on.
//!
//! How an answer is taken ([`classify`]), as IRI 1.8.6 gives them
//! (`service/restserver/resteasy/RestEasy.java`, `sendResponse`):
//! - a body `{"exception": msg}` (`ExceptionResponse`, HTTP 500, which 1.8.6
//!   sends when a parameter fails validation, as well as on a failure while
//!   processing), on any status, is the node's deterministic refusal:
//!   [`NodeError::Refused`] at once, never retried, since another try or
//!   node would refuse it the same way;
//! - so is a body `{"error": msg}` (`ErrorResponse`, 400;
//!   `AccessLimitedResponse`, 401, for a command the node's `remoteLimitApi`
//!   keeps from remote callers) with any status but a 5xx. IRI never sends
//!   `{"error"}` with a 5xx: that pairing comes from something else (a proxy;
//!   the devnet's injected failures) and is retried like a bare 5xx;
//! - a 401 without such a body is a refusal too;
//! - any other 5xx (a proxy's page, an empty body), a transport failure or a
//!   missed deadline is retried on the next endpoint with exponential
//!   back-off, a bounded number of times, then [`NodeError::Unavailable`];
//! - any other non-2xx, or a 2xx that is not JSON, is a [`NodeError::BadReply`].
//!
//! Results are typed (`commands`): hashes, addresses and transactions are
//! parsed and checked here, so callers never see raw trytes. An endpoint URL
//! may carry credentials (`http://user:password@host`): errors and `Debug`
//! name it only through [`redact_url`], and failures from the HTTP library
//! are shown without the URL they carry.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hub_protocol::redact_url;
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::api::{self, command, API_VERSION_HEADER};
use crate::limits;

/// Where and how to reach nodes.
#[derive(Clone)]
pub struct ClientConfig {
    /// Node URLs (`http://host:14265`), tried in turn.
    pub endpoints: Vec<String>,
    /// Deadline of one HTTP request, unless one below applies.
    pub timeout: Duration,
    /// Deadline of one `attachToTangle` request (proof of work).
    pub pow_timeout: Duration,
    /// Deadline of one `getTransactionsToApprove` request (tip selection).
    pub tip_selection_timeout: Duration,
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
            .field("pow_timeout", &self.pow_timeout)
            .field("tip_selection_timeout", &self.tip_selection_timeout)
            .field("retries", &self.retries)
            .field("retry_backoff", &self.retry_backoff)
            .finish()
    }
}

impl ClientConfig {
    /// Default [`ClientConfig::timeout`].
    pub const TIMEOUT_DEFAULT: Duration = Duration::from_secs(30);
    /// Default [`ClientConfig::pow_timeout`]: a few transactions at
    /// mainnet's weight 14 on a busy node (IRI 1.8.6 runs one
    /// `attachToTangle` at a time, so a request may also wait its turn).
    pub const POW_TIMEOUT_DEFAULT: Duration = Duration::from_secs(120);
    /// Default [`ClientConfig::tip_selection_timeout`]: past IRI's own
    /// `tipSelectionTimeoutSec` (60), so a node that gives up on tip
    /// selection says so before Hub stops waiting.
    pub const TIP_SELECTION_TIMEOUT_DEFAULT: Duration = Duration::from_secs(70);

    /// One endpoint, default deadlines, 2 retries, 200 ms back-off.
    pub fn new(endpoint: impl Into<String>) -> Self {
        Self::for_endpoints(vec![endpoint.into()])
    }

    /// These endpoints, default deadlines, 2 retries, 200 ms back-off.
    pub fn for_endpoints(endpoints: Vec<String>) -> Self {
        Self {
            endpoints,
            timeout: Self::TIMEOUT_DEFAULT,
            pow_timeout: Self::POW_TIMEOUT_DEFAULT,
            tip_selection_timeout: Self::TIP_SELECTION_TIMEOUT_DEFAULT,
            retries: 2,
            retry_backoff: Duration::from_millis(200),
        }
    }

    /// The deadline of one request of `command`.
    fn timeout_of(&self, command: &str) -> Duration {
        match command {
            command::ATTACH_TO_TANGLE => self.pow_timeout,
            command::GET_TRANSACTIONS_TO_APPROVE => self.tip_selection_timeout,
            _ => self.timeout,
        }
    }
}

/// Why a node call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum NodeError {
    /// No endpoint answered (connection, deadline or server failure).
    #[error("node unavailable for {command}: {reason}")]
    Unavailable { command: &'static str, reason: String },
    /// The node refused the request (`{"error"}` or `{"exception"}`, or HTTP 401).
    #[error("node refused {command}: {message}")]
    Refused { command: &'static str, message: String },
    /// The node's answer did not have the expected shape or content.
    #[error("unexpected reply to {command}: {reason}")]
    BadReply { command: &'static str, reason: String },
    /// The client was asked something invalid (never sent).
    #[error("invalid request for {command}: {reason}")]
    InvalidRequest { command: &'static str, reason: String },
}

pub(crate) fn bad_reply(command: &'static str, reason: impl ToString) -> NodeError {
    NodeError::BadReply {
        command,
        reason: reason.to_string(),
    }
}

pub(crate) fn invalid_request(command: &'static str, reason: impl ToString) -> NodeError {
    NodeError::InvalidRequest {
        command,
        reason: reason.to_string(),
    }
}

/// The largest reply read from a node. IRI 1.8.6's largest legitimate
/// answers are a `getTrytes` of its 10 000-hash limit (about 27 MB) and a
/// `findTransactions` of its 100 000-hash limit (about 9 MB); anything
/// larger is a node (or a man in the middle) trying to exhaust memory, and
/// is dropped as it arrives, before it is buffered whole.
pub const REPLY_BYTES_MAX: usize = 32 * 1024 * 1024;

/// What one HTTP answer means (see the module doc).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Answer {
    /// A reply to decode.
    Reply(Value),
    /// The node's refusal, with its message.
    Refused(String),
    /// A failure another attempt may not repeat.
    Retry(String),
    /// A reply that is no IRI answer.
    Bad(String),
}

/// Classifies one answer: status and body text.
pub(crate) fn classify(status: StatusCode, text: &str) -> Answer {
    let json: Option<Value> = serde_json::from_str(text).ok();
    let refusal = json
        .as_ref()
        .and_then(|v| serde_json::from_value::<api::ErrorReply>(v.clone()).ok())
        .and_then(|r| r.exception.or(r.error.filter(|_| !status.is_server_error())));
    if let Some(message) = refusal {
        return Answer::Refused(message);
    }
    if status == StatusCode::UNAUTHORIZED {
        return Answer::Refused(format!("HTTP {status}"));
    }
    if status.is_server_error() {
        return Answer::Retry(format!("HTTP {status}"));
    }
    if !status.is_success() {
        return Answer::Bad(format!("HTTP {status}"));
    }
    match json {
        Some(value) => Answer::Reply(value),
        None => Answer::Bad("not JSON".into()),
    }
}

/// An IRI client. Cheap to clone; clones share connections.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    config: Arc<ClientConfig>,
    next: Arc<AtomicUsize>,
    requests: Arc<AtomicU64>,
}

impl Client {
    /// A client for `config`. Fails if no endpoint is given.
    pub fn new(config: ClientConfig) -> Result<Self, NodeError> {
        if config.endpoints.is_empty() {
            return Err(invalid_request("client", "at least one node endpoint is required"));
        }
        // No client-wide timeout: each request gets its command's deadline.
        let http = reqwest::Client::builder()
            .build()
            .map_err(|e| invalid_request("client", e))?;
        Ok(Self {
            http,
            config: Arc::new(config),
            next: Arc::new(AtomicUsize::new(0)),
            requests: Arc::new(AtomicU64::new(0)),
        })
    }

    /// HTTP requests sent so far by this client and its clones (retries included).
    pub fn requests_sent(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// One client per endpoint, each asking only its own node (same
    /// deadlines; retries stay on that node), sharing this client's
    /// connections and request count: for asking several nodes one
    /// question, or one node a question of several calls.
    pub fn per_endpoint(&self) -> Vec<Client> {
        self.config
            .endpoints
            .iter()
            .map(|endpoint| Client {
                http: self.http.clone(),
                config: Arc::new(ClientConfig {
                    endpoints: vec![endpoint.clone()],
                    ..(*self.config).clone()
                }),
                next: Arc::new(AtomicUsize::new(0)),
                requests: self.requests.clone(),
            })
            .collect()
    }

    /// The configured endpoints.
    pub fn endpoints(&self) -> &[String] {
        &self.config.endpoints
    }

    /// Sends `{"command": command, ..body}` and decodes the reply. Refuses
    /// (unsent) a body an IRI 1.8.6 node would refuse for its size
    /// ([`limits::check`]).
    pub async fn call<B: Serialize, R: DeserializeOwned>(
        &self,
        command: &'static str,
        body: &B,
    ) -> Result<R, NodeError> {
        let mut json = serde_json::to_value(body).map_err(|e| invalid_request(command, e))?;
        match &mut json {
            Value::Object(map) => {
                map.insert("command".into(), Value::String(command.into()));
            }
            Value::Null => json = serde_json::json!({ "command": command }),
            _ => return Err(invalid_request(command, "body must be an object")),
        }
        let text = json.to_string();
        limits::check(&json, &text).map_err(|reason| invalid_request(command, reason))?;
        let value = self.post(command, text).await?;
        serde_json::from_value(value).map_err(|e| bad_reply(command, e))
    }

    /// Sends a JSON body as is, without the size checks of [`Client::call`];
    /// returns the reply object. For commands this client has no typed
    /// method for (the devnet's own ones).
    pub async fn call_raw(&self, command: &'static str, body: &Value) -> Result<Value, NodeError> {
        self.post(command, body.to_string()).await
    }

    /// Posts `body` to the endpoints in turn until one gives an answer that
    /// is not worth retrying.
    async fn post(&self, command: &'static str, body: String) -> Result<Value, NodeError> {
        let endpoints = &self.config.endpoints;
        let timeout = self.config.timeout_of(command);
        let start = self.next.load(Ordering::Relaxed);
        let mut last_failure = String::new();
        for attempt in 0..=self.config.retries {
            let endpoint = &endpoints[(start + attempt as usize) % endpoints.len()];
            if attempt > 0 {
                let factor = 2u32.saturating_pow(attempt - 1);
                tokio::time::sleep(self.config.retry_backoff.saturating_mul(factor)).await;
            }
            self.requests.fetch_add(1, Ordering::Relaxed);
            let answer = self.post_once(endpoint, body.clone(), timeout).await;
            let answer = answer.unwrap_or_else(|e| Answer::Retry(transport_failure(e, timeout)));
            match answer {
                Answer::Reply(value) => return Ok(value),
                Answer::Refused(message) => return Err(NodeError::Refused { command, message }),
                Answer::Bad(reason) => return Err(bad_reply(command, reason)),
                Answer::Retry(reason) => {
                    last_failure = format!("{}: {reason}", redact_url(endpoint));
                    self.next
                        .store((start + attempt as usize + 1) % endpoints.len(), Ordering::Relaxed);
                }
            }
        }
        Err(NodeError::Unavailable {
            command,
            reason: last_failure,
        })
    }

    /// One request and its classified answer; `Err` for a transport failure
    /// or a missed deadline.
    async fn post_once(&self, endpoint: &str, body: String, timeout: Duration) -> Result<Answer, reqwest::Error> {
        let mut response = self
            .http
            .post(endpoint)
            .timeout(timeout)
            .header(API_VERSION_HEADER, "1")
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await?;
        let status = response.status();
        if response
            .content_length()
            .is_some_and(|length| length > REPLY_BYTES_MAX as u64)
        {
            return Ok(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            if body.len() + chunk.len() > REPLY_BYTES_MAX {
                return Ok(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(classify(status, &String::from_utf8_lossy(&body)))
    }
}

/// A reply beyond [`REPLY_BYTES_MAX`]: another node may answer properly.
fn too_large() -> Answer {
    Answer::Retry(format!("reply larger than {REPLY_BYTES_MAX} bytes"))
}

/// A transport failure for an error message, without the URL it carries.
fn transport_failure(error: reqwest::Error, timeout: Duration) -> String {
    if error.is_timeout() {
        format!("no answer within {} ms", timeout.as_millis())
    } else {
        error.without_url().to_string()
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

    /// Goal: each kind of IRI 1.8.6 answer is taken as the module doc says.
    /// Method: the bodies and statuses `RestEasy.sendResponse` produces, and
    /// what a proxy in front of a node might add.
    #[test]
    fn answers_are_classified_as_iri_gives_them() {
        let refused = |m: &str| Answer::Refused(m.into());
        let cases = [
            (
                400,
                r#"{"error":"Invalid depth input","duration":0}"#,
                refused("Invalid depth input"),
            ),
            (
                500,
                r#"{"exception":"Invalid trytes input","duration":1}"#,
                refused("Invalid trytes input"),
            ),
            (
                401,
                r#"{"error":"COMMAND attachToTangle is not available on this node"}"#,
                refused("COMMAND attachToTangle is not available on this node"),
            ),
            (401, "", refused("HTTP 401 Unauthorized")),
            (200, r#"{"error":"odd but a refusal"}"#, refused("odd but a refusal")),
            (500, "", Answer::Retry("HTTP 500 Internal Server Error".into())),
            (
                502,
                "<html>bad gateway</html>",
                Answer::Retry("HTTP 502 Bad Gateway".into()),
            ),
            (
                500,
                r#"{"duration":3}"#,
                Answer::Retry("HTTP 500 Internal Server Error".into()),
            ),
            (
                500,
                r#"{"error":"injected failure"}"#,
                Answer::Retry("HTTP 500 Internal Server Error".into()),
            ),
            (404, "not found", Answer::Bad("HTTP 404 Not Found".into())),
            (200, "<html>", Answer::Bad("not JSON".into())),
            (
                200,
                r#"{"hashes":[],"duration":0}"#,
                Answer::Reply(serde_json::json!({"hashes": [], "duration": 0})),
            ),
        ];
        for (status, body, expected) in cases {
            let status = StatusCode::from_u16(status).unwrap();
            assert_eq!(classify(status, body), expected, "{status} {body}");
        }
    }

    /// Goal: proof of work and tip selection get their own deadlines.
    #[test]
    fn slow_commands_have_their_own_deadlines() {
        let config = ClientConfig {
            timeout: Duration::from_secs(1),
            pow_timeout: Duration::from_secs(2),
            tip_selection_timeout: Duration::from_secs(3),
            ..ClientConfig::new("http://node")
        };
        assert_eq!(config.timeout_of(command::ATTACH_TO_TANGLE), Duration::from_secs(2));
        assert_eq!(
            config.timeout_of(command::GET_TRANSACTIONS_TO_APPROVE),
            Duration::from_secs(3)
        );
        assert_eq!(config.timeout_of(command::GET_NODE_INFO), Duration::from_secs(1));
    }
}
