//! Crash test: `hub serve` (with its embedded devnet) is killed with SIGKILL
//! at each step of a sweep in turn (`HUB_CRASH_AT`, see
//! `hub_core::crash`): planned, signing, signed, broadcast, attached,
//! confirmed. After every restart the sweep completes; no key ever signs two
//! bundle hashes on the Tangle; no deposit is credited twice and no
//! withdrawal paid twice; every cached balance equals its ledger; GetStats
//! equals the devnet's balance of Hub's own addresses. On SQLite and on
//! PostgreSQL.

mod common;

use std::collections::{HashMap, HashSet};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::time::Duration;

use common::*;
use hub_api::proto::hub::hub_client::HubClient;
use hub_api::proto::hub::{self as pb, sweep_info_request::RequestBy};
use serde_json::json;
use tonic::transport::Channel;

const POINTS: [&str; 6] = [
    "sweep_planned",
    "sweep_signing",
    "sweep_signed",
    "sweep_broadcast",
    "sweep_attached",
    "sweep_confirmed",
];

const WITHDRAWAL: i64 = 100;

struct Hub {
    running: Running,
    grpc: HubClient<Channel>,
    node: String,
}

async fn serve(dir: &Path, database: &str, crash_at: Option<&str>) -> Hub {
    let mut command = hub();
    command
        .args(quick_serve_args(dir))
        .args(["--database", database])
        .args(["--sweep-interval-ms", "300", "--attachment-interval-ms", "300"]);
    if let Some(point) = crash_at {
        command.env("HUB_CRASH_AT", point);
    }
    let running = start(&mut command, "Ctrl-C").expect("hub serve starts");
    let grpc_address = running.value("gRPC API:").expect("gRPC address printed");
    let node = running
        .value("node:")
        .and_then(|v| {
            v.split_whitespace()
                .find(|w| w.starts_with("http://"))
                .map(str::to_string)
        })
        .expect("devnet address printed");
    let grpc = HubClient::connect(format!("http://{grpc_address}")).await.unwrap();
    Hub { running, grpc, node }
}

async fn available(grpc: &mut HubClient<Channel>, user: &str) -> i64 {
    grpc.get_balance(pb::GetBalanceRequest { user_id: user.into() })
        .await
        .unwrap()
        .into_inner()
        .available
}

async fn node_balance(node: &str, address: &str) -> i64 {
    let reply = node_call(
        node,
        json!({"command": "getBalances", "addresses": [address], "threshold": 100}),
    )
    .await;
    reply["balances"][0].as_str().unwrap().parse().unwrap()
}

/// A deposit of `amount` for a new user, paid by the devnet faucet.
async fn deposit(hub: &mut Hub, user: &str, amount: i64) {
    hub.grpc
        .create_user(pb::CreateUserRequest { user_id: user.into() })
        .await
        .unwrap();
    let address = hub
        .grpc
        .get_deposit_address(pb::GetDepositAddressRequest {
            user_id: user.into(),
            include_checksum: false,
        })
        .await
        .unwrap()
        .into_inner()
        .address;
    let reply = node_call(
        &hub.node,
        json!({"command": "fund", "address": address, "amount": amount}),
    )
    .await;
    assert!(reply["tail"].is_string(), "faucet paid: {reply}");
}

/// Whether the withdrawal's sweep is confirmed.
async fn withdrawal_confirmed(grpc: &mut HubClient<Channel>, uuid: &str) -> bool {
    let Ok(info) = grpc
        .sweep_info(pb::SweepInfoRequest {
            request_by: Some(RequestBy::WithdrawalUuid(uuid.into())),
        })
        .await
    else {
        return false;
    };
    grpc.sweep_detail(pb::SweepDetailRequest {
        bundle_hash: info.into_inner().bundle_hash,
    })
    .await
    .is_ok_and(|d| d.into_inner().confirmed)
}

/// Every address that ever spent on the Tangle, with the bundle hashes it signed.
async fn signatures_on_tangle(node: &str, addresses: &[String]) -> HashMap<String, HashSet<String>> {
    let found = node_call(node, json!({"command": "findTransactions", "addresses": addresses})).await;
    let hashes = found["hashes"].as_array().unwrap().clone();
    let mut signed: HashMap<String, HashSet<String>> = HashMap::new();
    for chunk in hashes.chunks(500) {
        let reply = node_call(node, json!({"command": "getTrytes", "hashes": chunk})).await;
        for trytes in reply["trytes"].as_array().unwrap() {
            let tx = hub_protocol::Transaction::from_trytes(trytes.as_str().unwrap()).unwrap();
            if tx.value.get() < 0 {
                signed
                    .entry(tx.address.to_string())
                    .or_default()
                    .insert(tx.bundle.to_string());
            }
        }
    }
    signed
}

async fn crash_at_every_step(database: &str, dir: &Path) {
    // A funded user whose withdrawals each round pays.
    let mut hub = serve(dir, database, None).await;
    deposit(&mut hub, "olga", 10_000).await;
    let grpc = hub.grpc.clone();
    wait_for("olga's deposit to be swept", Duration::from_secs(90), || {
        let mut grpc = grpc.clone();
        async move { available(&mut grpc, "olga").await == 10_000 }
    })
    .await;
    hub.running.stop();

    let mut paid = Vec::new();
    for (round, point) in POINTS.iter().enumerate() {
        let mut hub = serve(dir, database, Some(point)).await;
        let user = format!("user-{round}");
        let amount = 1_000 + round as i64;
        let payout = format!("{:9<80}9", format!("PAYOUT{}", "ABCDEF".as_bytes()[round] as char));
        let uuid = hub
            .grpc
            .user_withdraw(pb::UserWithdrawRequest {
                user_id: "olga".into(),
                payout_address: payout.clone(),
                amount: WITHDRAWAL as u64,
                idempotency_key: format!("round-{round}"),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .uuid;
        deposit(&mut hub, &user, amount).await;
        let (status, stderr) = hub.running.wait_exit(Duration::from_secs(120));
        assert_eq!(status.signal(), Some(9), "killed at {point}: {status}; {stderr}");
        assert!(stderr.contains(&format!("HUB_CRASH_AT {point}")), "{stderr}");

        // Restarted: everything completes, exactly once.
        let hub = serve(dir, database, None).await;
        let (grpc, node) = (hub.grpc.clone(), hub.node.clone());
        wait_for(
            &format!("round {round} ({point}) to complete"),
            Duration::from_secs(120),
            || {
                let (mut grpc, node, uuid, user, payout) =
                    (grpc.clone(), node.clone(), uuid.clone(), user.clone(), payout.clone());
                async move {
                    available(&mut grpc, &user).await == amount
                        && withdrawal_confirmed(&mut grpc, &uuid).await
                        && node_balance(&node, &payout).await == WITHDRAWAL
                }
            },
        )
        .await;
        paid.push(payout);
        hub.running.stop();
    }

    // Let the last sweeps settle, then check the books against the Tangle.
    let mut hub = serve(dir, database, None).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        available(&mut hub.grpc, "olga").await,
        10_000 - WITHDRAWAL * POINTS.len() as i64
    );
    for (round, payout) in paid.iter().enumerate() {
        assert_eq!(node_balance(&hub.node, payout).await, WITHDRAWAL, "paid once");
        assert_eq!(
            available(&mut hub.grpc, &format!("user-{round}")).await,
            1_000 + round as i64
        );
    }
    let store = hub_store::Store::connect(database).await.unwrap();
    let mut read = store.read().await.unwrap();
    assert_eq!(read.balance_mismatches().await.unwrap(), Vec::<String>::new());
    drop(read);
    store.close().await;

    let (hub_addresses, deposit_addresses) = addresses(database).await;
    let mut all = hub_addresses.clone();
    all.extend(deposit_addresses);
    for (address, bundles) in signatures_on_tangle(&hub.node, &all).await {
        assert_eq!(bundles.len(), 1, "{address} signed {bundles:?}");
    }
    let mut on_tangle = 0;
    for address in &hub_addresses {
        on_tangle += node_balance(&hub.node, address).await;
    }
    let stats = hub
        .grpc
        .get_stats(pb::GetStatsRequest {})
        .await
        .unwrap()
        .into_inner()
        .total_balance;
    assert_eq!(stats as i64, on_tangle, "GetStats equals the Tangle");
    hub.running.stop();
}

/// (Hub addresses, deposit addresses) stored in the database.
async fn addresses(database: &str) -> (Vec<String>, Vec<String>) {
    use sqlx::{Connection, Row};
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(database).await.unwrap();
    let mut out = Vec::new();
    for table in ["hub_address", "user_address"] {
        let rows = sqlx::query(&format!("SELECT address FROM {table}"))
            .fetch_all(&mut conn)
            .await
            .unwrap();
        out.push(rows.iter().map(|r| r.get::<String, _>(0)).collect());
    }
    let deposits = out.pop().unwrap();
    (out.pop().unwrap(), deposits)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_at_every_sweep_step_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}?mode=rwc", dir.path().join("hub.sqlite").display());
    crash_at_every_step(&database, dir.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_at_every_sweep_step_on_postgres() {
    let postgres = TestPostgres::create("crash").await;
    let dir = tempfile::tempdir().unwrap();
    crash_at_every_step(&postgres.url, dir.path()).await;
    postgres.drop_database().await;
}
