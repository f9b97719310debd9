//! Shared helpers: a devnet on a free port, a real HTTP client, and
//! bundles built and signed the way a wallet would.
#![allow(dead_code)]

use hub_devnet::{Devnet, DevnetConfig};
use hub_node::{Client, ClientConfig};
use hub_protocol::bundle::{BundleBuilder, Input, Output};
use hub_protocol::{wots, Address, Hash, SecurityLevel, Seed, Transaction};
use serde_json::{json, Value};

pub struct Net {
    pub devnet: Devnet,
    pub client: Client,
}

pub fn config() -> DevnetConfig {
    DevnetConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        milestone_interval_ms: 0,
        ..DevnetConfig::default()
    }
}

pub async fn start_with(config: DevnetConfig) -> Net {
    let devnet = Devnet::start(config).await.expect("devnet starts");
    let mut client_config = ClientConfig::new(devnet.url());
    client_config.retries = 0;
    let client = Client::new(client_config).unwrap();
    Net { devnet, client }
}

pub async fn start() -> Net {
    start_with(config()).await
}

impl Net {
    pub async fn admin(&self, command: &'static str, body: Value) -> Result<Value, hub_node::NodeError> {
        let mut body = body;
        body["command"] = json!(command);
        self.client.call_raw(command, &body).await
    }

    /// Sends `body` with `command` set and IRI's header straight over HTTP
    /// (no client in between): the status and the reply, whatever its kind.
    pub async fn iri(&self, command: &str, body: Value) -> (u16, Value) {
        let mut body = body;
        body["command"] = json!(command);
        let response = reqwest::Client::new()
            .post(self.devnet.url())
            .header("X-IOTA-API-Version", "1")
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    pub async fn milestone(&self) -> u64 {
        let reply = self.admin("issueMilestone", json!({})).await.unwrap();
        reply["milestoneIndex"].as_u64().unwrap()
    }

    pub async fn fund(&self, address: Address, amount: u64) -> Hash {
        let reply = self
            .admin("fund", json!({ "address": address.to_string(), "amount": amount }))
            .await
            .unwrap();
        Hash::from_trytes(reply["tail"].as_str().unwrap()).unwrap()
    }

    pub async fn balance(&self, address: Address) -> u64 {
        self.client.get_balances(&[address]).await.unwrap().balances[0]
    }

    pub async fn confirmed(&self, tail: Hash) -> bool {
        self.client.get_inclusion_states(&[tail]).await.unwrap()[0]
    }

    /// Attaches on the latest milestone (so two bundles attached this way
    /// do not approve each other) and stores.
    pub async fn attach_on_milestone(&self, bundle: &[Transaction]) -> Vec<Transaction> {
        let milestone = self.client.get_node_info().await.unwrap().latest_milestone;
        let attached = self
            .client
            .attach_to_tangle(milestone, milestone, 9, bundle)
            .await
            .unwrap();
        self.client.store_transactions(&attached).await.unwrap();
        attached
    }

    /// Attaches through the node (`attachToTangle`) on fresh tips and stores.
    pub async fn attach_and_store(&self, bundle: &[Transaction]) -> Vec<Transaction> {
        let (trunk, branch) = self.client.get_transactions_to_approve(3, None).await.unwrap();
        let attached = self.client.attach_to_tangle(trunk, branch, 9, bundle).await.unwrap();
        self.client.store_transactions(&attached).await.unwrap();
        self.client.broadcast_transactions(&attached).await.unwrap();
        attached
    }
}

pub fn seed(tag: &str) -> Seed {
    Seed::from_trytes(&format!("{:9<81}", tag)).unwrap()
}

pub fn address(seed: &Seed, index: u64) -> Address {
    wots::address(seed, index, SecurityLevel::Medium)
}

pub fn plain_address(c: char) -> Address {
    Address::from_trytes(&format!("{}9", c.to_string().repeat(80))).unwrap()
}

/// Spends all of `balance` on `(seed, index)`: the outputs, then a remainder to `remainder`.
pub fn spend(
    seed: &Seed,
    index: u64,
    balance: u64,
    outputs: &[(Address, u64)],
    remainder: Option<Address>,
) -> Vec<Transaction> {
    let mut builder = BundleBuilder::new(now_s()).unwrap().input(Input {
        address: address(seed, index),
        amount: balance,
        security: SecurityLevel::Medium,
    });
    let paid: u64 = outputs.iter().map(|(_, v)| v).sum();
    for (to, value) in outputs {
        builder = builder.output(Output::new(*to, *value));
    }
    if let Some(to) = remainder {
        builder = builder.output(Output::new(to, balance - paid));
    }
    builder
        .build()
        .unwrap()
        .sign(|slot, hash| Ok::<_, ()>(wots::sign(seed, index, slot.security, hash)))
        .unwrap()
}

pub fn now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Asserts an IRI refusal: HTTP 400 with `{"error"}` or 500 with
/// `{"exception"}` saying `message`, and `duration`, as every answer has.
pub fn assert_refused(answer: &(u16, Value), status: u16, message: &str) {
    let (got, reply) = answer;
    let key = if status == 400 { "error" } else { "exception" };
    assert_eq!(*got, status, "{reply}");
    assert_eq!(reply[key].as_str(), Some(message), "{reply}");
    assert!(reply["duration"].is_u64(), "{reply}");
}
