//! Webhook delivery figures; they print.
//!
//! ```text
//! cargo bench -p hub-webhooks --bench delivery     # HUB_BENCH_QUICK=1 for a short run
//! ```
//!
//! On SQLite and on PostgreSQL (`HUB_TEST_POSTGRES_URL`, default the local
//! server), one endpoint, a receiver on loopback that answers 204 at once:
//! - throughput: events/s delivered of a backlog of events committed
//!   before the deliverer starts;
//! - latency: from a commit (the call that made the event returned) to the
//!   receiver holding it, p50/p99, with events committed one by one while
//!   the deliverer runs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use hub_core::{Hub, SystemClock, WebhookPolicy};
use hub_node::{Client, ClientConfig};
use hub_protocol::{Argon2Params, Salt, SecurityLevel};
use hub_signer::LocalProvider;
use hub_store::testing::{Db, TestDb};
use hub_store::Store;
use hub_webhooks::Deliverer;
use tokio::sync::watch;

/// What the receiver got: the user each `user.created` names, and when.
type Arrivals = Arc<Mutex<HashMap<String, Instant>>>;

async fn receive(State(arrivals): State<Arrivals>, body: Bytes) -> StatusCode {
    let event: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let user = event["data"]["userId"].as_str().unwrap().to_owned();
    arrivals.lock().unwrap().insert(user, Instant::now());
    StatusCode::NO_CONTENT
}

async fn receiver(arrivals: Arrivals) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(arrivals);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

async fn hub(url: &str) -> Arc<Hub> {
    let params = Argon2Params {
        t_cost: 1,
        m_cost_kib: 64,
        ..Argon2Params::default()
    };
    let provider =
        Arc::new(LocalProvider::new(Salt::new(vec![b's'; 32]).unwrap(), params, SecurityLevel::Medium, 2).unwrap());
    // No node is asked: the feed and the deliveries need only the store.
    let node = Client::new(ClientConfig::new("http://127.0.0.1:9")).unwrap();
    let store = Store::connect(url).await.unwrap();
    Arc::new(
        Hub::new(store, node, provider, Arc::new(SystemClock)).with_webhook_policy(WebhookPolicy {
            allow_private: true,
            ..WebhookPolicy::default()
        }),
    )
}

async fn wait_for(arrivals: &Arrivals, count: usize) {
    while arrivals.lock().unwrap().len() < count {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

async fn bench(db: Db, backlog: usize, one_by_one: usize) {
    let name = if matches!(db, Db::Sqlite) {
        "SQLite"
    } else {
        "PostgreSQL"
    };
    let test = TestDb::new(db).await;
    let hub = hub(&test.url).await;
    let arrivals = Arrivals::default();
    let url = receiver(arrivals.clone()).await;
    hub.create_webhook(&url, &["user.created".to_owned()], "bench")
        .await
        .unwrap();

    for n in 0..backlog {
        hub.create_user(&format!("backlog{n}")).await.unwrap();
    }
    let (stop, stopped) = watch::channel(false);
    let started = Instant::now();
    let deliverer = tokio::spawn(Deliverer::new(hub.clone()).unwrap().run(stopped));
    wait_for(&arrivals, backlog).await;
    let drained = started.elapsed();
    println!(
        "webhooks {name}: backlog of {backlog} events delivered in {:.2} s: {:.0} events/s",
        drained.as_secs_f64(),
        backlog as f64 / drained.as_secs_f64()
    );

    let mut committed = Vec::with_capacity(one_by_one);
    for n in 0..one_by_one {
        let user = format!("live{n}");
        hub.create_user(&user).await.unwrap();
        committed.push((user, Instant::now()));
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    wait_for(&arrivals, backlog + one_by_one).await;
    let arrived = arrivals.lock().unwrap().clone();
    let mut latencies: Vec<Duration> = committed
        .iter()
        .map(|(user, at)| arrived[user].saturating_duration_since(*at))
        .collect();
    latencies.sort();
    println!(
        "webhooks {name}: commit to receiver over {one_by_one} events: p50 {:.2} ms, p99 {:.2} ms",
        percentile(&latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3
    );
    let _ = stop.send(true);
    let _ = deliverer.await;
    hub.store().close().await;
    test.remove().await;
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let quick = std::env::var("HUB_BENCH_QUICK").is_ok();
    let (backlog, one_by_one) = if quick { (200, 50) } else { (2_000, 300) };
    for db in [Db::Sqlite, Db::Postgres] {
        bench(db, backlog, one_by_one).await;
    }
}
