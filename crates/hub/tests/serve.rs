//! `hub serve` end to end, on SQLite and on PostgreSQL: the real binary with
//! its embedded devnet, driven through a real gRPC client and a real HTTP
//! client, as an exchange would.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hub_api::proto::hub::hub_client::HubClient;
use hub_api::proto::hub::{self as pb, balance_event::TheEvent};
use prost::Message;
use serde_json::{json, Value};

struct Server {
    child: Child,
    grpc: String,
    http: String,
    devnet: String,
}

impl Server {
    fn start(data_dir: &std::path::Path, database: &str, sweeps: bool) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_hub"))
            .args(["serve", "--data-dir"])
            .arg(data_dir)
            .args(["--database", database])
            .args([
                "--grpc-listen",
                "127.0.0.1:0",
                "--http-listen",
                "127.0.0.1:0",
                "--devnet-listen",
                "127.0.0.1:0",
            ])
            .args(["--devnet-milestone-interval-ms", "300", "--monitor-interval-ms", "200"])
            .args([
                "--argon2-t-cost",
                "1",
                "--argon2-m-cost-kib",
                "1024",
                "--address-pool-size",
                "3",
            ])
            .args([
                "--sweep-interval-ms",
                if sweeps { "400" } else { "0" },
                "--attachment-interval-ms",
                "300",
            ])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("hub serve starts");
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let (mut grpc, mut http, mut devnet) = (String::new(), String::new(), String::new());
        for line in stdout.lines() {
            let line = line.unwrap();
            if let Some(v) = line.trim().strip_prefix("gRPC API:") {
                grpc = format!("http://{}", v.trim());
            } else if let Some(v) = line.trim().strip_prefix("HTTP API:") {
                http = v.trim().to_string();
            } else if let Some(v) = line.trim().strip_prefix("node:") {
                devnet = v
                    .trim()
                    .trim_start_matches("embedded devnet at ")
                    .split(' ')
                    .next()
                    .unwrap()
                    .to_string();
            } else if line.starts_with("Ctrl-C") {
                break;
            }
        }
        assert!(
            !grpc.is_empty() && !http.is_empty() && devnet.starts_with("http://"),
            "hub serve printed its addresses"
        );
        Self {
            child,
            grpc,
            http,
            devnet,
        }
    }

    fn stop(mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(20) {
            if let Ok(Some(status)) = self.child.try_wait() {
                assert!(status.success(), "hub serve exits cleanly on SIGTERM: {status}");
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        panic!("hub serve did not stop on SIGTERM");
    }
}

async fn http(server: &Server, body: Value) -> Value {
    let text = reqwest::Client::new()
        .post(&server.http)
        .json(&body)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    serde_json::from_str(&text).unwrap()
}

async fn devnet(server: &Server, body: Value) -> Value {
    reqwest::Client::new()
        .post(&server.devnet)
        .header("X-IOTA-API-Version", "1")
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn error_code(status: &tonic::Status) -> i32 {
    pb::Error::decode(status.details())
        .expect("details carry hub.rpc.Error")
        .code
}

async fn wait_for_pending(grpc: &mut HubClient<tonic::transport::Channel>, user: &str, expected: i64) {
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

async fn deposit_events(grpc: &mut HubClient<tonic::transport::Channel>) -> Vec<pb::UserAddressBalanceEvent> {
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
    let server = Server::start(data_dir, database, false);
    let mut grpc = HubClient::connect(server.grpc.clone()).await.unwrap();

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
    let funded = devnet(&server, json!({"command": "fund", "address": address, "amount": 2500})).await;
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
    let server = Server::start(data_dir, database, true);
    let mut grpc = HubClient::connect(server.grpc.clone()).await.unwrap();
    wait_for(|| async {
        let b = HubClient::connect(server.grpc.clone())
            .await
            .unwrap()
            .get_balance(pb::GetBalanceRequest {
                user_id: "exchange-user-1".into(),
            })
            .await
            .unwrap()
            .into_inner();
        b.available == 2500 && b.pending_deposit == 0
    })
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
    wait_for(|| async {
        let reply = devnet(
            &server,
            json!({"command": "getBalances", "addresses": [payout], "threshold": 100}),
        )
        .await;
        reply["balances"][0] == "1000"
    })
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
    let server = Server::start(data_dir, database, true);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        http(&server, json!({"command": "GetBalance", "userId": "exchange-user-1"})).await,
        json!({"available": "1500", "pendingDeposit": "0"})
    );
    let reply = devnet(&server, json!({"command": "getBalances", "addresses": [payout]})).await;
    assert_eq!(reply["balances"][0], "1000");
    server.stop();
}

async fn wait_for<F, Fut>(mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !condition().await {
        assert!(started.elapsed() < Duration::from_secs(90), "timed out");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn end_to_end_on_sqlite() {
    let dir = std::env::temp_dir().join(format!("hub-e2e-sqlite-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let database = format!("sqlite://{}?mode=rwc", dir.join("hub.sqlite").display());
    end_to_end(&database, &dir).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn end_to_end_on_postgres() {
    use sqlx::{Connection, Executor};
    let admin =
        std::env::var("HUB_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let name = format!("hub_e2e_{}", std::process::id());
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .expect("PostgreSQL is running");
    conn.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
        .await
        .unwrap();
    conn.execute(format!("CREATE DATABASE {name}").as_str()).await.unwrap();
    let database = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
    let dir = std::env::temp_dir().join(format!("hub-e2e-postgres-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    end_to_end(&database, &dir).await;
    let _ = std::fs::remove_dir_all(&dir);
    conn.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
        .await
        .unwrap();
}
