//! `hub serve` end to end, on SQLite and on PostgreSQL: the real binary with
//! its embedded devnet, driven through a real gRPC client and a real HTTP
//! client, as an exchange would.

mod common;

use std::time::{Duration, Instant};

use common::books::{serve, ServedHub};
use common::{hub, node_call, quick_serve_args, wait_for, Db, Grpc, TestDb};
use hub_api::proto::hub::{self as pb, balance_event::TheEvent};
use prost::Message;
use serde_json::{json, Value};

/// `hub serve` with sweeps on or off, and its HTTP endpoint.
struct Server {
    served: ServedHub,
    http: String,
}

impl Server {
    async fn start(data_dir: &std::path::Path, database: &str, sweeps: bool) -> Self {
        let mut command = hub();
        command
            .args(quick_serve_args(data_dir))
            .args(["--database", database])
            .args(["--sweep-interval-ms", if sweeps { "400" } else { "0" }])
            .args(["--attachment-interval-ms", "300"]);
        let served = serve(&mut command).await;
        let http = served.running.value("HTTP API:").expect("HTTP address printed");
        Self { served, http }
    }

    fn stop(self) {
        self.served.running.stop();
    }
}

async fn http(server: &Server, body: Value) -> Value {
    let text = reqwest::Client::new()
        .post(&server.http)
        .bearer_auth(&server.served.token)
        .json(&body)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn error_code(status: &tonic::Status) -> i32 {
    pb::Error::decode(status.details())
        .expect("details carry hub.rpc.Error")
        .code
}

async fn wait_for_pending(grpc: &mut Grpc, user: &str, expected: i64) {
    let started = Instant::now();
    loop {
        let reply = grpc
            .get_balance(pb::GetBalanceRequest { user_id: user.into() })
            .await
            .unwrap()
            .into_inner();
        if reply.pending_deposit == expected {
            assert_eq!(reply.available, 0, "credited to the account only when swept");
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "deposit not seen: pending {}",
            reply.pending_deposit
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn deposit_events(grpc: &mut Grpc) -> Vec<pb::UserAddressBalanceEvent> {
    let mut stream = grpc
        .balance_subscription(pb::BalanceSubscriptionRequest { newer_than: 0 })
        .await
        .unwrap()
        .into_inner();
    let mut out = Vec::new();
    while let Some(event) = stream.message().await.unwrap() {
        if let Some(TheEvent::UserAddressEvent(e)) = event.the_event {
            out.push(e);
        }
    }
    out
}

async fn end_to_end(database: &str, data_dir: &std::path::Path) {
    let server = Server::start(data_dir, database, false).await;
    let mut grpc = server.served.grpc.clone();

    grpc.create_user(pb::CreateUserRequest {
        user_id: "exchange-user-1".into(),
    })
    .await
    .unwrap();
    assert_eq!(
        http(&server, json!({"command": "CreateUser", "userId": "exchange-user-1"})).await,
        json!({"error": "User exist"})
    );
    let status = grpc
        .get_balance(pb::GetBalanceRequest {
            user_id: "nobody".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::FailedPrecondition);
    assert_eq!(error_code(&status), 2, "USER_DOES_NOT_EXIST");
    let status = grpc
        .user_withdraw(pb::UserWithdrawRequest {
            user_id: "exchange-user-1".into(),
            payout_address: "P".repeat(80) + "A",
            amount: 1,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(error_code(&status), 3, "INSUFFICIENT_BALANCE");
    let status = grpc
        .sweep_detail(pb::SweepDetailRequest {
            bundle_hash: "A".repeat(81),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Cancelled);

    let address = grpc
        .get_deposit_address(pb::GetDepositAddressRequest {
            user_id: "exchange-user-1".into(),
            include_checksum: true,
        })
        .await
        .unwrap()
        .into_inner()
        .address;
    assert_eq!(address.len(), 90);
    let info = grpc
        .get_address_info(pb::GetAddressInfoRequest {
            address: address[..81].into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(info.user_id, "exchange-user-1");
    let other = http(
        &server,
        json!({"command": "GetDepositAddress", "userId": "exchange-user-1"}),
    )
    .await;
    assert_eq!(other["address"].as_str().unwrap().len(), 81);

    // The devnet faucet pays the deposit address with a real bundle.
    let funded = node_call(
        &server.served.node,
        json!({"command": "fund", "address": address, "amount": 2500}),
    )
    .await;
    let tail = funded["tail"].as_str().unwrap().to_string();
    wait_for_pending(&mut grpc, "exchange-user-1", 2500).await;
    let http_balance = http(&server, json!({"command": "GetBalance", "userId": "exchange-user-1"})).await;
    assert_eq!(http_balance, json!({"available": "0", "pendingDeposit": "2500"}));
    let events = deposit_events(&mut grpc).await;
    assert_eq!(events.len(), 1);
    assert_eq!(
        (events[0].amount, events[0].hash.as_str(), events[0].reason),
        (2500, tail.as_str(), 1)
    );
    assert_eq!(events[0].user_address, &address[..81]);
    let subscription = http(&server, json!({"command": "BalanceSubscription", "newerThan": 0})).await;
    assert_eq!(subscription["event_0"]["type"], "USER_ADDRESS");
    assert_eq!(subscription["event_0"]["amount"], "2500");

    // WasAddressSpentFrom asks the node over gRPC too.
    let spent = grpc
        .was_address_spent_from(pb::WasAddressSpentFromRequest {
            address: address[..81].into(),
            validate_checksum: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!spent.was_address_spent_from);

    // Bad input gets errors and the server keeps answering.
    for body in [
        json!({"command": "GetBalance"}),
        json!({"foo": 1}),
        json!({"command": "ProcessTransferBatch", "transfers": "x"}),
    ] {
        let reply = reqwest::Client::new()
            .post(&server.http)
            .bearer_auth(&server.served.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(reply.status().is_success() || reply.status().is_client_error());
    }
    assert_eq!(
        http(&server, json!({"command": "GetStats"})).await,
        json!({"totalBalance": "0"})
    );
    server.stop();

    // Restarted with sweeps on: the deposit is swept and credited once; a
    // withdrawal is paid on the Tangle.
    let server = Server::start(data_dir, database, true).await;
    let mut grpc = server.served.grpc.clone();
    wait_for(
        "the deposit to be swept and credited",
        Duration::from_secs(90),
        || async {
            let b = server
                .served
                .grpc
                .clone()
                .get_balance(pb::GetBalanceRequest {
                    user_id: "exchange-user-1".into(),
                })
                .await
                .unwrap()
                .into_inner();
            b.available == 2500 && b.pending_deposit == 0
        },
    )
    .await;
    let address_events = deposit_events(&mut grpc).await;
    assert_eq!(
        address_events.iter().filter(|e| e.reason == 1).count(),
        1,
        "one confirmed deposit"
    );
    assert_eq!(address_events.iter().filter(|e| e.reason == 2).count(), 1, "swept once");
    let payout = "W".repeat(80) + "9";
    let withdraw = pb::UserWithdrawRequest {
        user_id: "exchange-user-1".into(),
        payout_address: payout.clone(),
        amount: 1000,
        tag: "EXCHANGE".into(),
        validate_checksum: false,
        idempotency_key: "payout-1".into(),
    };
    let uuid = grpc.user_withdraw(withdraw.clone()).await.unwrap().into_inner().uuid;
    assert_eq!(
        grpc.user_withdraw(withdraw).await.unwrap().into_inner().uuid,
        uuid,
        "a retry makes no second withdrawal"
    );
    wait_for(
        "the withdrawal to be paid on the Tangle",
        Duration::from_secs(90),
        || async {
            let reply = node_call(
                &server.served.node,
                json!({"command": "getBalances", "addresses": [payout], "threshold": 100}),
            )
            .await;
            reply["balances"][0] == "1000"
        },
    )
    .await;
    let history = grpc
        .get_user_history(pb::GetUserHistoryRequest {
            user_id: "exchange-user-1".into(),
            newer_than: 0,
        })
        .await
        .unwrap()
        .into_inner()
        .events;
    let kinds: Vec<(i32, i64)> = history.iter().map(|e| (e.r#type, e.amount)).collect();
    assert_eq!(kinds, vec![(1, 2500), (3, -1000)], "one DEPOSIT, one WITHDRAWAL");
    assert_eq!(
        http(&server, json!({"command": "GetStats"})).await,
        json!({"totalBalance": "1500"})
    );
    server.stop();

    // Restarted again: nothing credited or paid twice.
    let server = Server::start(data_dir, database, true).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        http(&server, json!({"command": "GetBalance", "userId": "exchange-user-1"})).await,
        json!({"available": "1500", "pendingDeposit": "0"})
    );
    let reply = node_call(
        &server.served.node,
        json!({"command": "getBalances", "addresses": [payout]}),
    )
    .await;
    assert_eq!(reply["balances"][0], "1000");
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn end_to_end_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}?mode=rwc", dir.path().join("hub.sqlite").display());
    end_to_end(&database, dir.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn end_to_end_on_postgres() {
    let postgres = TestDb::new(Db::Postgres).await;
    let dir = tempfile::tempdir().unwrap();
    end_to_end(&postgres.url, dir.path()).await;
    postgres.remove().await;
}

/// Goal: a database bound to one network never runs against another: its
/// balances would be swept and paid on a chain that does not hold them.
/// Method: a database bound to another coordinator address (as a mainnet
/// database would be); `hub serve` on the embedded devnet refuses to start
/// and names both. A database bound to the devnet's network starts.
async fn another_networks_database_is_refused(db: Db) {
    let test_db = TestDb::new(db).await;
    let elsewhere = hub_protocol::Address::from_trytes(&format!("{:9<81}", "ANOTHER9NETWORK")).unwrap();
    let store = hub_store::Store::connect(&test_db.url).await.unwrap();
    let mut tx = store.begin().await.unwrap();
    tx.record_network(&elsewhere, 0).await.unwrap();
    tx.commit().await.unwrap();
    store.close().await;
    let dir = tempfile::tempdir().unwrap();
    let error = common::fails(
        hub()
            .args(quick_serve_args(dir.path()))
            .args(["--database", &test_db.url]),
    );
    assert!(error.contains("refusing to start"), "{error}");
    assert!(
        error.contains(elsewhere.as_str()),
        "the recorded network is named: {error}"
    );
    assert!(error.contains("another network"), "{error}");
    test_db.remove().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_networks_database_is_refused_on_sqlite() {
    another_networks_database_is_refused(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_networks_database_is_refused_on_postgres() {
    another_networks_database_is_refused(Db::Postgres).await;
}
