//! Rollback through the real binaries, on SQLite and on PostgreSQL: a
//! database restored from a backup taken before a sweep was broadcast must
//! never make a key sign twice.
//!
//! Method: `hub serve` (embedded devnet, whose Tangle lives in the data
//! directory and survives restarts) credits a deposit with sweeps off; the
//! database is copied (the backup); Hub restarts with sweeps on and sweeps
//! the deposit onto the Tangle; then Hub starts on the backup. It must find
//! the key spent by a bundle it has no record of, quarantine the address
//! with an alert, sign nothing, and keep its books equal to the chain
//! (`check_books`: cached balances equal ledgers, no key signed two bundle
//! hashes, GetStats equals the Tangle balance of Hub's own addresses).
//! The held sweep cannot be abandoned (`hub admin sweep abandon`), and the
//! next deposit is swept as usual. A second backup, older (taken before the
//! deposit arrived), is restored too: the deposit monitor finds the key
//! spent by a bundle Hub never made, and quarantines it with an alert.

mod common;

use std::path::Path;
use std::time::Duration;

use common::books::*;
use common::*;
use hub_api::proto::hub as pb;
use hub_protocol::Address;
use hub_store::{EventKind, Store};

/// `hub serve` on `database`, with sweeps and the deposit monitor on or off.
async fn serve_at(dir: &Path, database: &str, sweeps: bool, monitor: bool) -> ServedHub {
    let mut args = quick_serve_args(dir);
    if !monitor {
        let at = args.iter().position(|a| a == "--monitor-interval-ms").unwrap();
        args[at + 1] = "0".into();
    }
    let mut command = hub();
    command
        .args(args)
        .args(["--database", database])
        .args(["--sweep-interval-ms", if sweeps { "300" } else { "0" }])
        .args(["--attachment-interval-ms", "300"]);
    serve(&mut command).await
}

async fn pending(grpc: &mut Grpc, user: &str) -> i64 {
    grpc.get_balance(pb::GetBalanceRequest { user_id: user.into() })
        .await
        .unwrap()
        .into_inner()
        .pending_deposit
}

/// Whether `address` is quarantined, with a key-spent-elsewhere alert naming it.
async fn quarantined_with_alert(database: &str, address: &Address) -> bool {
    let store = Store::connect(database).await.unwrap();
    let mut read = store.read().await.unwrap();
    let quarantined = read.user_address(address).await.unwrap().is_some_and(|row| row.quarantined);
    let alerted = read
        .events_of_kind(EventKind::KeySpentElsewhere)
        .await
        .unwrap()
        .iter()
        .any(|event| event.address.as_deref() == Some(address.as_str()));
    drop(read);
    store.close().await;
    quarantined && alerted
}

async fn wait_for_quarantine(database: &str, address: &Address) {
    wait_for("the key spent elsewhere to be found", Duration::from_secs(60), || {
        let url = database.to_string();
        async move { quarantined_with_alert(&url, address).await }
    })
    .await;
}

/// `hub admin sweep list`: (bundle hash, state) of each sweep on its way.
fn sweeps_on_their_way(dir: &Path, database: &str) -> Vec<(String, String)> {
    admin(dir, database, &["sweep", "list"], "")
        .unwrap()
        .lines()
        .map(|line| {
            let mut words = line.split_whitespace();
            (words.next().unwrap().into(), words.next().unwrap().into())
        })
        .collect()
}

async fn a_restored_database_never_signs_a_key_twice(db: Db) {
    let live = TestDb::new(db).await;
    let dir = tempfile::tempdir().unwrap();

    // The older backup: rita has a deposit address, nothing on it yet.
    let mut hub = serve_at(dir.path(), &live.url, false, true).await;
    let address = new_deposit_address(&mut hub, "rita").await;
    hub.running.stop();
    let older = live.copy().await;

    // The backup: her deposit credited to the address, not swept.
    let hub = serve_at(dir.path(), &live.url, false, true).await;
    fund(&hub.node, &address, 1_000).await;
    let grpc = hub.grpc.clone();
    wait_for("rita's deposit to be credited", Duration::from_secs(60), || {
        let mut grpc = grpc.clone();
        async move { pending(&mut grpc, "rita").await == 1_000 }
    })
    .await;
    hub.running.stop();
    let backup = live.copy().await;

    // The live database sweeps the deposit onto the Tangle.
    let hub = serve_at(dir.path(), &live.url, true, true).await;
    let node = hub.node.clone();
    let swept = address.clone();
    wait_for("the sweep to empty rita's address", Duration::from_secs(120), || {
        let (node, swept) = (node.clone(), swept.clone());
        async move { node_balance(&node, &swept).await == 0 }
    })
    .await;
    hub.running.stop();
    let address = Address::from_trytes(&address).unwrap();

    // The backup restored, monitor off: the sweeper plans another bundle
    // for rita's key, and the check before signing holds it.
    let hub = serve_at(dir.path(), &backup.url, true, false).await;
    wait_for_quarantine(&backup.url, &address).await;
    let held = sweeps_on_their_way(dir.path(), &backup.url);
    assert!(matches!(&held[..], [(_, state)] if state == "planned"), "{held:?}");
    let refused = admin(
        dir.path(),
        &backup.url,
        &["--node", &hub.node, "sweep", "abandon", &held[0].0],
        "",
    )
    .unwrap_err();
    assert!(refused.contains("quarantined"), "{refused}");
    hub.running.stop();

    // Monitor on: still nothing signed twice, the books equal the chain,
    // and the next deposit is swept as usual.
    let mut hub = serve_at(dir.path(), &backup.url, true, true).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    check_books(&backup.url, &mut hub).await;
    assert_eq!(available(&mut hub.grpc, "rita").await, 1_000, "credited when the held sweep was planned");
    deposit(&mut hub, "sam", 500).await;
    let grpc = hub.grpc.clone();
    wait_for("sam's deposit to be swept", Duration::from_secs(120), || {
        let mut grpc = grpc.clone();
        async move { available(&mut grpc, "sam").await == 500 }
    })
    .await;
    wait_for("sam's sweep to confirm", Duration::from_secs(120), || {
        let dir = dir.path().to_path_buf();
        let url = backup.url.clone();
        async move { sweeps_on_their_way(&dir, &url).iter().all(|(_, state)| state == "planned") }
    })
    .await;
    check_books(&backup.url, &mut hub).await;
    hub.running.stop();

    // The older backup restored: the deposit monitor finds rita's key spent
    // by a bundle it never made; nothing is signed, the books equal the chain.
    let mut hub = serve_at(dir.path(), &older.url, true, true).await;
    wait_for_quarantine(&older.url, &address).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(sweeps_on_their_way(dir.path(), &older.url).is_empty());
    check_books(&older.url, &mut hub).await;
    assert_eq!(available(&mut hub.grpc, "rita").await, 0);
    hub.running.stop();

    for db in [live, backup, older] {
        db.remove().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restored_database_never_signs_a_key_twice_on_sqlite() {
    a_restored_database_never_signs_a_key_twice(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restored_database_never_signs_a_key_twice_on_postgres() {
    a_restored_database_never_signs_a_key_twice(Db::Postgres).await;
}
