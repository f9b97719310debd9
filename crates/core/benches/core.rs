//! Hub core benchmarks; they print figures.
//!
//! ```text
//! cargo bench -p hub-core --bench core            # HUB_BENCH_QUICK=1 for a short run
//! ```
//!
//! - `ProcessTransferBatch` transfers/s with 1 000-entry batches, on SQLite
//!   and on PostgreSQL (`HUB_TEST_POSTGRES_URL`, default the local server),
//!   and what the event feed's rows cost of it;
//! - `GetDepositAddress` latency p50/p99 with the address pool warm, and
//!   address derivations/s with the default Argon2 parameters;
//! - one deposit-monitor pass over 100 000 unswept addresses: wall time and
//!   node requests made (against the devnet over HTTP);
//! - one sweeper tick that plans and signs a sweep of 5 deposits: wall time
//!   and node requests, and the node calls of the look before signing
//!   (`wereAddressesSpentFrom`, `findTransactions`, `getTrytes` of the
//!   inputs) on their own.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hub_core::monitor::{run_pass, MonitorConfig};
use hub_core::sweeper::{self, SweepConfig};
use hub_core::{Hub, SystemClock, Transfer};
use hub_devnet::{Devnet, DevnetConfig};
use hub_node::{Client, ClientConfig, FindQuery};
use hub_protocol::{Argon2Params, Salt, SecurityLevel};
use hub_signer::LocalProvider;
use hub_store::testing::{Db, TestDb};
use hub_store::Store;
use rand::Rng;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// A fresh database on `backend` ("sqlite" or "postgres").
async fn database(backend: &str) -> TestDb {
    TestDb::new(if backend == "sqlite" { Db::Sqlite } else { Db::Postgres }).await
}

fn cheap_provider() -> Arc<LocalProvider> {
    let params = Argon2Params {
        t_cost: 1,
        m_cost_kib: 64,
        ..Argon2Params::default()
    };
    Arc::new(LocalProvider::new(Salt::new(vec![b's'; 32]).unwrap(), params, SecurityLevel::Medium, 2).unwrap())
}

async fn hub(url: &str, node: &Client) -> Arc<Hub> {
    let store = Store::connect(url).await.unwrap();
    Arc::new(Hub::new(store, node.clone(), cheap_provider(), Arc::new(SystemClock)))
}

async fn transfer_batches(node: &Client, backend: &str, batches: usize) {
    let db = database(backend).await;
    let url = db.url.clone();
    let hub = hub(&url, node).await;
    let users: Vec<String> = (0..1000).map(|i| format!("user{i:04}")).collect();
    for u in &users {
        hub.create_user(u).await.unwrap();
    }
    // Give everyone a balance through the ledger, as swept deposits would.
    {
        use sqlx::{Connection, Executor};
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
        conn.execute("INSERT INTO user_account_balance (user_id, amount, reason, occured_at) SELECT id, 1000000, 1, 0 FROM user_account")
            .await
            .unwrap();
        conn.execute("UPDATE user_account SET balance = 1000000").await.unwrap();
    }
    let mut rng = rand::thread_rng();
    let started = Instant::now();
    for _ in 0..batches {
        // 500 pairs: a random user pays another a random amount.
        let mut transfers = Vec::with_capacity(1000);
        for _ in 0..500 {
            let (a, b) = (rng.gen_range(0..1000), rng.gen_range(0..1000));
            let amount = rng.gen_range(1..100);
            transfers.push(Transfer {
                user_id: users[a].clone(),
                amount: -amount,
            });
            transfers.push(Transfer {
                user_id: users[b].clone(),
                amount,
            });
        }
        hub.process_transfer_batch(&transfers).await.unwrap();
    }
    let elapsed = started.elapsed();
    println!(
        "ProcessTransferBatch on {backend:<10}: {batches} batches of 1000 in {:.2} s = {:.0} transfers/s ({:.1} ms per batch)",
        elapsed.as_secs_f64(),
        (batches * 1000) as f64 / elapsed.as_secs_f64(),
        ms(elapsed) / batches as f64
    );
    let events = event_rows_alone(&url, backend, batches).await;
    println!(
        "  of which the event feed: {:.1} ms per batch ({:.0} %): its 1 001 rows written alone, as the store writes them",
        ms(events) / batches as f64,
        100.0 * events.as_secs_f64() / elapsed.as_secs_f64()
    );
    hub.store().close().await;
    db.remove().await;
}

/// The time `batches` transactions take that write only what a 1 000-entry
/// batch adds to the event log: 1 001 rows (one `balance_changed` per
/// transfer, one `transfer_batch_processed`) in the store's 500-row
/// statements, under the store's ordering lock on PostgreSQL.
async fn event_rows_alone(url: &str, backend: &str, batches: usize) -> Duration {
    use sqlx::{Connection, Executor};
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    let row = "('balance_changed', 1, NULL, -5, NULL, '{\"reason\":4,\"balance\":999995}', 1, 'bench')";
    let chunk = |rows: usize| {
        format!(
            "INSERT INTO events (kind, user_id, address, amount, reference, data, occurred_at, actor) VALUES {}",
            vec![row; rows].join(", ")
        )
    };
    let (full, last) = (chunk(500), chunk(1));
    let started = Instant::now();
    for _ in 0..batches {
        let mut tx = conn.begin().await.unwrap();
        if backend == "postgres" {
            tx.execute("SELECT pg_advisory_xact_lock(1)").await.unwrap();
        }
        for statement in [&full, &full, &last] {
            tx.execute(statement.as_str()).await.unwrap();
        }
        tx.commit().await.unwrap();
    }
    started.elapsed()
}

async fn deposit_addresses(node: &Client, backend: &str, calls: usize) {
    let db = database(backend).await;
    let url = db.url.clone();
    let hub = hub(&url, node).await;
    hub.create_user("pool-user").await.unwrap();
    hub_core::pool::refill(&hub, calls, 2).await.unwrap();
    let mut latencies = Vec::with_capacity(calls);
    for _ in 0..calls {
        let started = Instant::now();
        hub.get_deposit_address("pool-user", true).await.unwrap();
        latencies.push(started.elapsed());
    }
    latencies.sort();
    println!(
        "GetDepositAddress on {backend:<10} (pool warm): p50 {:.2} ms, p99 {:.2} ms over {calls} calls",
        ms(percentile(&latencies, 0.5)),
        ms(percentile(&latencies, 0.99))
    );
    hub.store().close().await;
    db.remove().await;
}

async fn monitor_pass(node: &Client, backend: &str, addresses: usize) {
    let db = database(backend).await;
    let url = db.url.clone();
    let hub = hub(&url, node).await;
    hub.create_user("many").await.unwrap();
    {
        let mut tx = hub.store().begin().await.unwrap();
        let user = tx.user("many").await.unwrap().unwrap();
        let mut rng = rand::thread_rng();
        for i in 0..addresses {
            let trytes: String = (0..80)
                .map(|_| hub_protocol::ternary::TRYTE_ALPHABET[rng.gen_range(0..27)] as char)
                .collect();
            let address = hub_protocol::Address::from_trytes(&format!("{trytes}9")).unwrap();
            let uuid = hub_protocol::SeedUuid::parse(&format!("{i:0>64}")).unwrap();
            tx.insert_user_address(user.id, &address, &uuid, 0).await.unwrap();
        }
        tx.commit().await.unwrap();
    }
    let before = node.requests_sent();
    let started = Instant::now();
    let report = run_pass(&hub, &MonitorConfig::default()).await.unwrap();
    let elapsed = started.elapsed();
    assert_eq!(report.addresses, addresses);
    println!(
        "deposit monitor pass on {backend:<10}: {addresses} unswept addresses in {:.2} s, {} node requests",
        elapsed.as_secs_f64(),
        node.requests_sent() - before
    );
    hub.store().close().await;
    db.remove().await;
}

/// Sweeper ticks, each planning and signing one sweep of 5 fresh deposits
/// on the devnet: p50 wall time and node requests per tick; then the node
/// calls the look before signing makes for those 5 inputs, timed alone.
async fn sweep_ticks(node: &Client, backend: &str, rounds: usize) {
    let db = database(backend).await;
    let hub = hub(&db.url, node).await;
    let (mut ticks, mut checks, mut requests) = (Vec::new(), Vec::new(), 0);
    for round in 0..rounds {
        let mut inputs = Vec::new();
        for i in 0..5 {
            let user = format!("sweep{round}-{i}");
            hub.create_user(&user).await.unwrap();
            let address = hub.get_deposit_address(&user, false).await.unwrap();
            let fund = serde_json::json!({"command": "fund", "address": address, "amount": 1_000});
            node.call_raw("fund", &fund).await.unwrap();
            inputs.push(hub_protocol::Address::from_trytes(&address).unwrap());
        }
        let milestone = serde_json::json!({"command": "issueMilestone"});
        node.call_raw("issueMilestone", &milestone).await.unwrap();
        run_pass(&hub, &MonitorConfig::default()).await.unwrap();
        let before = node.requests_sent();
        let started = Instant::now();
        let report = sweeper::run_tick(&hub, &SweepConfig::default()).await.unwrap();
        ticks.push(started.elapsed());
        requests += node.requests_sent() - before;
        assert!(report.swept.is_some(), "{report:?}");
        let started = Instant::now();
        node.were_addresses_spent_from(&inputs).await.unwrap();
        let query = FindQuery {
            addresses: inputs.clone(),
            ..FindQuery::default()
        };
        let found = node.find_transactions(&query).await.unwrap();
        node.get_trytes(&found).await.unwrap();
        checks.push(started.elapsed());
    }
    ticks.sort();
    checks.sort();
    println!(
        "sweeper tick on {backend:<10}: plan + look before signing + sign 5 deposits: p50 {:.1} ms, {:.1} node requests/tick; \
         the look before signing alone (3 requests): p50 {:.1} ms",
        ms(percentile(&ticks, 0.5)),
        requests as f64 / rounds as f64,
        ms(percentile(&checks, 0.5)),
    );
    hub.store().close().await;
    db.remove().await;
}

fn argon2_derivations() {
    let salt = Salt::new(vec![b's'; 32]).unwrap();
    let params = Argon2Params::default();
    let started = Instant::now();
    let mut n = 0;
    while n < 3 || started.elapsed() < Duration::from_secs(3) {
        hub_protocol::seed::derive_seed(&hub_protocol::SeedUuid::generate(), &salt, &params).unwrap();
        n += 1;
    }
    let one = n as f64 / started.elapsed().as_secs_f64();
    let threads = 2;
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                for _ in 0..3 {
                    hub_protocol::seed::derive_seed(&hub_protocol::SeedUuid::generate(), &salt, &params).unwrap();
                }
            });
        }
    });
    let both = (threads * 3) as f64 / started.elapsed().as_secs_f64();
    println!("address derivations/s, default Argon2 (id, t=4, 128 MiB): {one:.2} on 1 thread, {both:.2} on {threads} threads");
}

fn main() {
    let quick = std::env::var_os("HUB_BENCH_QUICK").is_some();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let devnet = Devnet::start(DevnetConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            milestone_interval_ms: 0,
            ..DevnetConfig::default()
        })
        .await
        .unwrap();
        let node = Client::new(ClientConfig::new(devnet.url())).unwrap();
        let (batches, calls, addresses) = if quick { (5, 100, 10_000) } else { (30, 500, 100_000) };
        for backend in ["sqlite", "postgresql"] {
            transfer_batches(&node, backend, batches).await;
        }
        for backend in ["sqlite", "postgresql"] {
            deposit_addresses(&node, backend, calls).await;
        }
        for backend in ["sqlite", "postgresql"] {
            monitor_pass(&node, backend, addresses).await;
        }
        for backend in ["sqlite", "postgresql"] {
            sweep_ticks(&node, backend, if quick { 3 } else { 10 }).await;
        }
        devnet.stop().await;
    });
    argon2_derivations();
}
