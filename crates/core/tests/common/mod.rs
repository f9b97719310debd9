//! Test bed: a Hub over a fresh SQLite file or PostgreSQL database, a real
//! devnet over HTTP, and a cheap local seed provider.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use hub_core::{Hub, SystemClock};
use hub_devnet::{Devnet, DevnetConfig};
use hub_node::{Client, ClientConfig};
use hub_protocol::wots::Signature;
use hub_protocol::{Address, Argon2Params, Hash, Salt, SecurityLevel, Seed, SeedUuid};
use hub_signer::{BoxFuture, LocalProvider, ProviderError, SeedProvider};
use hub_store::Store;
use serde_json::json;

pub use hub_store::on_both_databases;
pub use hub_store::testing::{Db, TestDb};

/// Cheap Argon2 for tests (the real parameters are tested in the protocol crate).
pub fn test_params() -> Argon2Params {
    Argon2Params {
        t_cost: 1,
        m_cost_kib: 64,
        ..Argon2Params::default()
    }
}

/// The seed of a UUID under the test provider (what an operator exporting it would get).
pub trait SeedOf {
    fn seed_of<'a>(
        &'a self,
        uuid: &'a hub_protocol::SeedUuid,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = hub_protocol::Seed> + Send + 'a>>;
}

impl SeedOf for LocalProvider {
    fn seed_of<'a>(
        &'a self,
        uuid: &'a hub_protocol::SeedUuid,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = hub_protocol::Seed> + Send + 'a>> {
        use hub_signer::SeedProvider;
        Box::pin(async move { self.seed(uuid).await.unwrap() })
    }
}

pub fn provider() -> Arc<LocalProvider> {
    let salt = Salt::new(b"a test salt of more than twenty bytes".to_vec()).unwrap();
    Arc::new(LocalProvider::new(salt, test_params(), SecurityLevel::Medium, 2).unwrap())
}

/// A signer that refuses every signature for the first bundle hash it is
/// asked to sign (as a signing server refuses a key's second bundle).
struct RefusesFirstBundle {
    inner: Arc<LocalProvider>,
    refused: Mutex<Option<Hash>>,
}

impl SeedProvider for RefusesFirstBundle {
    fn address<'a>(&'a self, uuid: &'a SeedUuid) -> BoxFuture<'a, Result<Address, ProviderError>> {
        self.inner.address(uuid)
    }
    fn security_level<'a>(&'a self, uuid: &'a SeedUuid) -> BoxFuture<'a, Result<SecurityLevel, ProviderError>> {
        self.inner.security_level(uuid)
    }
    fn sign<'a>(
        &'a self,
        uuid: &'a SeedUuid,
        bundle_hash: &'a Hash,
    ) -> BoxFuture<'a, Result<Signature, ProviderError>> {
        let refused = *self.refused.lock().unwrap().get_or_insert(*bundle_hash);
        if refused == *bundle_hash {
            return Box::pin(async { Err(ProviderError::Refused("this key already signed another bundle".into())) });
        }
        self.inner.sign(uuid, bundle_hash)
    }
    fn seed<'a>(&'a self, uuid: &'a SeedUuid) -> BoxFuture<'a, Result<Seed, ProviderError>> {
        self.inner.seed(uuid)
    }
}

/// A Hub on `db` with its own devnet.
pub struct Ctx {
    pub hub: Arc<Hub>,
    pub devnet: Devnet,
    pub db: TestDb,
    pub client: Client,
}

/// A Hub on `db` with its own devnet, whose milestones come only on demand.
pub async fn start(db: Db) -> Ctx {
    start_with_milestones(db, 0).await
}

impl Ctx {
    pub async fn finish(self) {
        self.hub.store().close().await;
        self.devnet.stop().await;
        self.db.remove().await;
    }

    pub async fn milestone(&self) {
        self.client
            .call_raw("issueMilestone", &json!({"command": "issueMilestone"}))
            .await
            .unwrap();
    }

    pub async fn fund(&self, address: &str, amount: u64) -> Hash {
        let reply = self
            .client
            .call_raw(
                "fund",
                &json!({"command": "fund", "address": address, "amount": amount}),
            )
            .await
            .unwrap();
        Hash::from_trytes(reply["tail"].as_str().unwrap()).unwrap()
    }

    /// Every transaction of the bundle whose tail is `tail`, in index order.
    pub async fn bundle_of(&self, tail: Hash) -> Vec<hub_protocol::Transaction> {
        let bundle = self.client.get_trytes(&[tail]).await.unwrap()[0]
            .clone()
            .unwrap()
            .bundle;
        let query = hub_node::FindQuery {
            bundles: vec![bundle],
            ..Default::default()
        };
        let members = self.client.find_transactions(&query).await.unwrap();
        let mut txs: Vec<_> = self
            .client
            .get_trytes(&members)
            .await
            .unwrap()
            .into_iter()
            .flatten()
            .collect();
        txs.sort_by_key(|t| t.current_index.get());
        txs
    }

    /// The address a bundle spends from (a faucet payment spends a genesis address).
    pub async fn spent_by(&self, tail: Hash) -> Address {
        self.bundle_of(tail)
            .await
            .into_iter()
            .find(|t| t.value.get() < 0)
            .unwrap()
            .address
    }

    /// Attaches a bundle (index order) on the latest milestone and stores it.
    pub async fn attach_on_milestone(&self, bundle: &[hub_protocol::Transaction]) -> Vec<hub_protocol::Transaction> {
        let milestone = self.client.get_node_info().await.unwrap().latest_milestone;
        let attached = self
            .client
            .attach_to_tangle(milestone, milestone, 9, bundle)
            .await
            .unwrap();
        self.client.store_transactions(&attached).await.unwrap();
        attached
    }

    /// Runs raw SQL against the test database (to set up odd states).
    pub async fn sql(&self, statement: &str) {
        use sqlx::Executor;
        sqlx::any::install_default_drivers();
        let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&self.db.url)
            .await
            .unwrap();
        conn.execute(statement).await.unwrap();
    }

    /// Row counts of every table: a command that fails must leave them all unchanged.
    pub async fn row_counts(&self) -> Vec<(String, i64)> {
        hub_store::testing::row_counts(&self.db.url).await
    }

    /// The first column of every row `query` returns, as text.
    pub async fn strings(&self, query: &str) -> Vec<String> {
        use sqlx::{Connection, Row};
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&self.db.url).await.unwrap();
        let rows = sqlx::query(query).fetch_all(&mut conn).await.unwrap();
        rows.iter().map(|r| r.get::<String, _>(0)).collect()
    }

    /// Another Hub over the same database and node, with these dangerous commands on.
    pub fn with_sensitive(&self, sensitive: hub_core::SensitiveConfig) -> Hub {
        Hub::new(
            self.hub.store().clone(),
            self.client.clone(),
            provider(),
            Arc::new(SystemClock),
        )
        .with_sensitive(sensitive)
    }

    /// Attacher ticks and milestones until every sweep is confirmed.
    pub async fn confirm_all(&self) {
        use hub_core::attacher::{run_tick, Action, AttachConfig};
        for _ in 0..4 {
            let results = run_tick(&self.hub, &AttachConfig::default()).await.unwrap();
            if results.is_empty() || results.iter().all(|(_, r)| matches!(r, Ok(Action::Confirmed))) {
                return;
            }
            self.milestone().await;
        }
        panic!("sweeps did not confirm");
    }

    /// A Hub over this database and node whose signer refuses the first
    /// bundle it is asked to sign.
    pub fn refusing_first_bundle(&self) -> Hub {
        let signer = Arc::new(RefusesFirstBundle {
            inner: provider(),
            refused: Mutex::new(None),
        });
        Hub::new(
            self.hub.store().clone(),
            self.client.clone(),
            signer,
            Arc::new(SystemClock),
        )
    }

    pub async fn mismatches(&self) -> Vec<String> {
        let mut tx = self.hub.store().read().await.unwrap();
        tx.balance_mismatches().await.unwrap()
    }
}

pub fn address(s: &str) -> Address {
    Address::from_trytes(s).unwrap()
}

/// A Hub on `db` whose devnet's coordinator issues a milestone every
/// `milestone_interval_ms` (as a real network does; 0: never), besides on demand.
pub async fn start_with_milestones(db: Db, milestone_interval_ms: u64) -> Ctx {
    let db = TestDb::new(db).await;
    let devnet = Devnet::start(DevnetConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        milestone_interval_ms,
        ..DevnetConfig::default()
    })
    .await
    .unwrap();
    let mut config = ClientConfig::new(devnet.url());
    config.retries = 0;
    let client = Client::new(config).unwrap();
    let store = Store::connect(&db.url).await.unwrap();
    let hub = Arc::new(Hub::new(store, client.clone(), provider(), Arc::new(SystemClock)));
    Ctx {
        hub,
        devnet,
        db,
        client,
    }
}

impl Ctx {
    /// Switches the devnet's faults with its `setFaults` admin command (which
    /// is never itself failed or delayed); `json!({})` clears every fault.
    pub async fn set_faults(&self, faults: serde_json::Value) {
        let mut body = faults;
        body["command"] = json!("setFaults");
        self.client.call_raw("setFaults", &body).await.unwrap();
    }

    /// Issues a milestone in process, bypassing the devnet's HTTP faults.
    pub async fn milestone_in_process(&self) -> u64 {
        let node = self.devnet.node().clone();
        tokio::task::spawn_blocking(move || node.issue_milestone())
            .await
            .unwrap()
            .unwrap()
            .index
    }

    /// Every address Hub owns: its own addresses and every deposit address
    /// (once each: an abandoned sweep's deposit address is both).
    pub async fn owned_addresses(&self) -> Vec<Address> {
        use sqlx::{Connection, Row};
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&self.db.url).await.unwrap();
        sqlx::query("SELECT address FROM hub_address UNION SELECT address FROM user_address")
            .fetch_all(&mut conn)
            .await
            .unwrap()
            .iter()
            .map(|row| address(&row.get::<String, _>(0)))
            .collect()
    }

    /// The confirmed balance the devnet holds on every address Hub owns.
    pub async fn on_chain_total(&self) -> u64 {
        let owned = self.owned_addresses().await;
        self.client.get_balances(&owned).await.unwrap().balances.iter().sum()
    }
}
