//! A running `hub serve` seen as an exchange and an auditor see it: its
//! gRPC client and its node; deposits paid by the devnet faucet; and the
//! checks that the books agree with the Tangle (cached balances equal their
//! ledgers, no key signed two bundle hashes, GetStats equals the Tangle
//! balance of Hub's own addresses).

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::Command;

use hub_api::proto::hub::{self as pb, sweep_info_request::RequestBy};
use serde_json::json;

use super::{admin, dev_token, grpc_client, node_call, start, Grpc, Running};

/// A running `hub serve`, its gRPC client (with the development token), its
/// node's URL and the token.
pub struct ServedHub {
    pub running: Running,
    pub grpc: Grpc,
    pub node: String,
    pub token: String,
}

/// Starts `command` (a `hub serve …` on the embedded devnet) and connects
/// to it with the development token it wrote.
pub async fn serve(command: &mut Command) -> ServedHub {
    let running = start(command, "Ctrl-C").expect("hub serve starts");
    let grpc_address = running.value("gRPC API:").expect("gRPC address printed");
    let node = running
        .value("node:")
        .and_then(|v| v.split_whitespace().find(|w| w.starts_with("http")).map(str::to_string))
        .expect("node address printed");
    let token = dev_token(&running);
    let grpc = grpc_client(&grpc_address, &token).await;
    ServedHub {
        running,
        grpc,
        node,
        token,
    }
}

/// A user's available balance.
pub async fn available(grpc: &mut Grpc, user: &str) -> i64 {
    grpc.get_balance(pb::GetBalanceRequest { user_id: user.into() })
        .await
        .unwrap()
        .into_inner()
        .available
}

/// An address's confirmed balance on the node.
pub async fn node_balance(node: &str, address: &str) -> i64 {
    let reply = node_call(
        node,
        json!({"command": "getBalances", "addresses": [address], "threshold": 100}),
    )
    .await;
    reply["balances"][0].as_str().unwrap().parse().unwrap()
}

/// A new user with a deposit of `amount` paid by the devnet faucet; the deposit address.
pub async fn deposit(hub: &mut ServedHub, user: &str, amount: i64) -> String {
    let address = new_deposit_address(hub, user).await;
    fund(&hub.node, &address, amount).await;
    address
}

/// A new user and a deposit address of theirs.
pub async fn new_deposit_address(hub: &mut ServedHub, user: &str) -> String {
    hub.grpc
        .create_user(pb::CreateUserRequest { user_id: user.into() })
        .await
        .unwrap();
    next_deposit_address(hub, user).await
}

/// Another deposit address of `user`.
pub async fn next_deposit_address(hub: &mut ServedHub, user: &str) -> String {
    hub.grpc
        .get_deposit_address(pb::GetDepositAddressRequest {
            user_id: user.into(),
            include_checksum: false,
        })
        .await
        .unwrap()
        .into_inner()
        .address
}

/// Pays `amount` to `address` from the devnet faucet.
pub async fn fund(node: &str, address: &str, amount: i64) {
    let reply = node_call(node, json!({"command": "fund", "address": address, "amount": amount})).await;
    assert!(reply["tail"].is_string(), "faucet paid: {reply}");
}

/// A withdrawal of `amount` from `user` to `payout`; its UUID.
pub async fn withdraw(grpc: &mut Grpc, user: &str, payout: &str, amount: i64, key: &str) -> String {
    grpc.user_withdraw(pb::UserWithdrawRequest {
        user_id: user.into(),
        payout_address: payout.into(),
        amount: amount as u64,
        idempotency_key: key.into(),
        ..Default::default()
    })
    .await
    .unwrap()
    .into_inner()
    .uuid
}

/// Whether the withdrawal's sweep is confirmed.
pub async fn withdrawal_confirmed(grpc: &mut Grpc, uuid: &str) -> bool {
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

/// Every address of `addresses` that spent on the Tangle, with the bundle hashes it signed.
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

/// A query's one text column, every row.
pub async fn strings(database: &str, query: &str) -> Vec<String> {
    use sqlx::{Connection, Row};
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(database).await.unwrap();
    let rows = sqlx::query(query).fetch_all(&mut conn).await.unwrap();
    rows.iter().map(|row| row.get::<String, _>(0)).collect()
}

/// The addresses stored in `table` (`hub_address`, `user_address`, `address_pool`).
pub async fn stored_addresses(database: &str, table: &str) -> Vec<String> {
    strings(database, &format!("SELECT address FROM {table}")).await
}

/// `hub admin SETTINGS… sweep list`: (bundle hash, state) of each sweep on its way.
pub fn sweeps_on_their_way(dir: &Path, database: &str, settings: &[String]) -> Vec<(String, String)> {
    let mut args: Vec<&str> = settings.iter().map(String::as_str).collect();
    args.extend(["sweep", "list"]);
    admin(dir, database, &args, "")
        .unwrap()
        .lines()
        .map(|line| {
            let mut words = line.split_whitespace();
            (words.next().unwrap().into(), words.next().unwrap().into())
        })
        .collect()
}

/// The books agree with the Tangle (hub-behaviour.md §3.4): every cached
/// balance equals its ledger, no Hub key signed two bundle hashes, and
/// GetStats equals the Tangle balance of Hub's own addresses, deposit
/// addresses being empty once swept. Call when every sweep is confirmed.
pub async fn check_books(database: &str, hub: &mut ServedHub) {
    let store = hub_store::Store::connect(database).await.unwrap();
    let mut read = store.read().await.unwrap();
    assert_eq!(read.balance_mismatches().await.unwrap(), Vec::<String>::new());
    drop(read);
    store.close().await;

    let hub_addresses = stored_addresses(database, "hub_address").await;
    let mut all = hub_addresses.clone();
    all.extend(stored_addresses(database, "user_address").await);
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
}
