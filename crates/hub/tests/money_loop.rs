//! The whole money loop through the real binaries, on SQLite and on
//! PostgreSQL, once with Hub's local seed provider and once with keys on
//! `hub signer` over mutual TLS: users deposit, sweeps move the deposits and
//! pay withdrawals, the embedded devnet confirms them, the payout addresses
//! hold the amounts, balances are what the users expect, and the books agree
//! with the Tangle.

mod common;

use std::path::Path;
use std::time::Duration;

use common::books::*;
use common::signing::{dev_certs, remote_serve, start_signer};
use common::*;

#[derive(Clone, Copy)]
enum Signing {
    Local,
    Remote,
}

async fn money_loop(database: &str, dir: &Path, signing: Signing) {
    let (signer, mut command) = match signing {
        Signing::Local => {
            let mut command = hub();
            command.args(quick_serve_args(&dir.join("hub-data")));
            (None, command)
        }
        Signing::Remote => {
            dev_certs(&dir.join("certs"));
            let (signer, url) = start_signer(dir, "2");
            (Some(signer), remote_serve(dir, &url))
        }
    };
    command
        .args(["--database", database])
        .args(["--sweep-interval-ms", "300", "--attachment-interval-ms", "300"]);
    let mut hub = serve(&mut command).await;

    let deposits = [("ann", 5_000), ("bob", 3_000), ("cid", 2_000)];
    for (user, amount) in deposits {
        deposit(&mut hub, user, amount).await;
    }
    let grpc = hub.grpc.clone();
    wait_for(
        "the deposits to be swept and credited",
        Duration::from_secs(120),
        || {
            let grpc = grpc.clone();
            async move {
                for (user, amount) in deposits {
                    if available(&mut grpc.clone(), user).await != amount {
                        return false;
                    }
                }
                true
            }
        },
    )
    .await;

    let withdrawals = [("ann", 1_200, 'P'), ("bob", 700, 'Q'), ("cid", 2_000, 'R')];
    let mut pending = Vec::new();
    for (user, amount, letter) in withdrawals {
        let payout = format!("{}9", letter.to_string().repeat(80));
        let uuid = withdraw(&mut hub.grpc, user, &payout, amount, &format!("{user}-1")).await;
        pending.push((uuid, payout, amount));
    }
    let (grpc, node) = (hub.grpc.clone(), hub.node.clone());
    wait_for(
        "the withdrawals to be paid and confirmed",
        Duration::from_secs(120),
        || {
            let (grpc, node, pending) = (grpc.clone(), node.clone(), pending.clone());
            async move {
                for (uuid, payout, amount) in pending {
                    if !withdrawal_confirmed(&mut grpc.clone(), &uuid).await
                        || node_balance(&node, &payout).await != amount
                    {
                        return false;
                    }
                }
                true
            }
        },
    )
    .await;
    for ((user, deposited), (_, withdrawn, _)) in deposits.iter().zip(withdrawals) {
        assert_eq!(available(&mut hub.grpc, user).await, deposited - withdrawn, "{user}");
    }
    check_books(database, &mut hub).await;
    hub.running.stop();
    if let Some(signer) = signer {
        signer.stop();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_signing_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}?mode=rwc", dir.path().join("hub.sqlite").display());
    money_loop(&database, dir.path(), Signing::Local).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_signing_on_postgres() {
    let postgres = TestDb::new(Db::Postgres).await;
    let dir = tempfile::tempdir().unwrap();
    money_loop(&postgres.url, dir.path(), Signing::Local).await;
    postgres.remove().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_signer_over_mtls_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}?mode=rwc", dir.path().join("hub.sqlite").display());
    money_loop(&database, dir.path(), Signing::Remote).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_signer_over_mtls_on_postgres() {
    let postgres = TestDb::new(Db::Postgres).await;
    let dir = tempfile::tempdir().unwrap();
    money_loop(&postgres.url, dir.path(), Signing::Remote).await;
    postgres.remove().await;
}
