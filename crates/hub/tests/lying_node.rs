//! A node that lies, through the real binary on SQLite and on PostgreSQL.
//!
//! Method: a devnet (milestones on demand) and a lying proxy in front of it
//! (`hub_devnet::liar`); `hub serve --node LIAR --node DEVNET
//! --node-quorum 2`, the liar first, so it is the node each pass asks. The
//! liar invents a confirmed deposit of 5 000 for one user (a balance, a
//! bundle nobody signed, inclusion true) and calls a real deposit of 800 to
//! another user confirmed before any milestone has. Nothing is credited
//! and the invented bundle raises one `node_answer_rejected` alert. Once a
//! milestone confirms the real deposit, it is credited and swept as usual,
//! and the books equal what the honest devnet holds (`check_books`).

mod common;

use std::path::Path;
use std::time::Duration;

use common::books::*;
use common::*;
use hub_api::proto::hub as pb;
use hub_devnet::liar::{unsigned_payment, LyingNode};
use hub_devnet::{Devnet, DevnetConfig};
use hub_protocol::{Address, Hash};
use serde_json::json;

const SALT: &str = "a salt of more than twenty bytes";

/// A token allowed to create users, hand out addresses and read balances.
fn exchange_token(dir: &Path, database: &str) -> String {
    let args = [
        "token", "create", "--name", "exchange", "--scope", "trade", "--scope", "deposit", "--scope", "read",
    ];
    admin(dir, database, &args, "").unwrap().trim().to_string()
}

/// A user's (available, pending deposit) balance.
async fn balance(hub: &mut ServedHub, user: &str) -> (i64, i64) {
    let reply = hub
        .grpc
        .get_balance(pb::GetBalanceRequest { user_id: user.into() })
        .await
        .unwrap()
        .into_inner();
    (reply.available, reply.pending_deposit)
}

async fn milestone(devnet: &str) {
    node_call(devnet, json!({"command": "issueMilestone"})).await;
}

async fn a_lying_node_changes_nothing(db: Db) {
    let database = TestDb::new(db).await;
    let dir = tempfile::tempdir().unwrap();
    let devnet = Devnet::start(DevnetConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        milestone_interval_ms: 0,
        ..DevnetConfig::default()
    })
    .await
    .unwrap();
    let honest = devnet.url().to_string();
    let liar = LyingNode::start(&honest).await.unwrap();
    let salt_file = dir.path().join("salt");
    std::fs::write(&salt_file, SALT).unwrap();
    let salt = vec!["--salt-file".to_string(), salt_file.display().to_string()];
    let token = exchange_token(dir.path(), &database.url);
    let running = start(
        hub()
            .args(quick_serve_args(dir.path()))
            .args(&salt)
            .args(["--database", &database.url, "--node", liar.url(), "--node", &honest])
            .args([
                "--node-quorum",
                "2",
                "--sweep-interval-ms",
                "300",
                "--attachment-interval-ms",
                "300",
            ]),
        "Ctrl-C",
    )
    .expect("hub serve starts");
    let grpc = grpc_client(&running.value("gRPC API:").unwrap(), &token).await;
    let mut hub = ServedHub {
        running,
        grpc,
        node: honest.clone(),
        token,
    };
    let ivan = new_deposit_address(&mut hub, "ivan").await;
    let vera = new_deposit_address(&mut hub, "vera").await;

    // The lies: 5 000 for ivan on an unsigned bundle, and vera's real 800
    // confirmed before any milestone.
    let latest = node_call(&honest, json!({"command": "getNodeInfo"})).await;
    let latest = Hash::from_trytes(latest["latestMilestone"].as_str().unwrap()).unwrap();
    let forged = unsigned_payment(Address::from_trytes(&ivan).unwrap(), 5_000, latest).unwrap();
    let paid = node_call(&honest, json!({"command": "fund", "address": vera, "amount": 800})).await;
    let real_tail = Hash::from_trytes(paid["tail"].as_str().unwrap()).unwrap();
    {
        let mut lies = liar.lies();
        lies.balance.insert(Address::from_trytes(&ivan).unwrap(), 5_000);
        lies.balance.insert(Address::from_trytes(&vera).unwrap(), 800);
        lies.included.insert(forged[0].hash());
        lies.included.insert(real_tail);
        lies.invented = forged.clone();
    }
    let forged_tail = forged[0].hash().to_string();
    wait_for("the invented bundle to be rejected", Duration::from_secs(60), || {
        let (url, tail) = (database.url.clone(), forged_tail.clone());
        async move {
            let query =
                format!("SELECT reference FROM events WHERE kind = 'node_answer_rejected' AND reference = '{tail}'");
            !strings(&url, &query).await.is_empty()
        }
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        balance(&mut hub, "ivan").await,
        (0, 0),
        "an invented deposit is never credited"
    );
    assert_eq!(
        balance(&mut hub, "vera").await,
        (0, 0),
        "one node's word is not a quorum"
    );
    let rejected = "SELECT reference FROM events WHERE kind = 'node_answer_rejected'";
    assert_eq!(
        strings(&database.url, rejected).await,
        vec![forged_tail],
        "one alert per lie"
    );

    // A milestone confirms vera's deposit: credited and swept as usual.
    liar.lies().balance.remove(&Address::from_trytes(&vera).unwrap());
    milestone(&honest).await;
    let grpc = hub.grpc.clone();
    wait_for("vera's deposit to be swept", Duration::from_secs(60), || {
        let mut grpc = grpc.clone();
        async move { available(&mut grpc, "vera").await == 800 }
    })
    .await;
    wait_for("vera's sweep to confirm", Duration::from_secs(60), || {
        let (dir, url, node, salt) = (
            dir.path().to_path_buf(),
            database.url.clone(),
            honest.clone(),
            salt.clone(),
        );
        async move {
            milestone(&node).await;
            sweeps_on_their_way(&dir, &url, &salt).is_empty()
        }
    })
    .await;
    assert_eq!(balance(&mut hub, "ivan").await, (0, 0));
    check_books(&database.url, &mut hub).await;
    hub.running.stop();
    drop(liar);
    devnet.stop().await;
    database.remove().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lying_node_changes_nothing_on_sqlite() {
    a_lying_node_changes_nothing(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lying_node_changes_nothing_on_postgres() {
    a_lying_node_changes_nothing(Db::Postgres).await;
}
