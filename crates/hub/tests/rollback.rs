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
//! hashes, GetStats equals the Tangle balance of Hub's own addresses); the
//! lost sweep's remainder address, handed out again from the backup's
//! pool, is quarantined rather than its funds credited to its new owner;
//! the next deposit is swept as usual. (`hub admin sweep list` shows
//! nothing held; `sweep abandon` refuses a hash it does not know.) A second backup, older (taken before the
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

/// The address the only sweep in `database` paid its remainder to.
async fn only_remainder(database: &str) -> String {
    let query = "SELECT h.address FROM sweep s JOIN hub_address h ON h.id = s.into_hub_address";
    strings(database, query).await.remove(0)
}

/// Whether deposit address `address` is quarantined.
async fn quarantined(database: &str, address: &Address) -> bool {
    let store = Store::connect(database).await.unwrap();
    let quarantined = store
        .read()
        .await
        .unwrap()
        .user_address(address)
        .await
        .unwrap()
        .is_some_and(|row| row.quarantined);
    store.close().await;
    quarantined
}

/// Whether `address` is quarantined, with a key-spent-elsewhere alert naming it.
async fn quarantined_with_alert(database: &str, address: &Address) -> bool {
    let store = Store::connect(database).await.unwrap();
    let mut read = store.read().await.unwrap();
    let quarantined = read
        .user_address(address)
        .await
        .unwrap()
        .is_some_and(|row| row.quarantined);
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
    wait_for("the address pool to be full", Duration::from_secs(60), || {
        let url = live.url.clone();
        async move { stored_addresses(&url, "address_pool").await.len() == 3 }
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
    let lost_remainder = only_remainder(&live.url).await;

    // The backup restored, monitor off: the sweeper finds rita's address
    // holding less on the node than in the books, and her key spent by a
    // bundle it never made: quarantined, nothing planned for it.
    let hub = serve_at(dir.path(), &backup.url, true, false).await;
    wait_for_quarantine(&backup.url, &address).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(sweeps_on_their_way(dir.path(), &backup.url, &[]), vec![]);
    let nodes = ["--node", hub.node.as_str()];
    let unknown = admin(
        dir.path(),
        &backup.url,
        &[&nodes[..], &["sweep", "abandon", &"9".repeat(81)]].concat(),
        "",
    );
    assert!(unknown.unwrap_err().contains("no sweep has bundle hash"));
    let garbled = admin(
        dir.path(),
        &backup.url,
        &[&nodes[..], &["sweep", "abandon", "NOT-A-HASH"]].concat(),
        "",
    );
    assert!(garbled.unwrap_err().contains("bundle"));
    hub.running.stop();

    // Monitor on: still nothing signed twice and the books equal the
    // chain. The lost sweep's remainder address is still in the backup's
    // pool and is handed out again: the funds the lost sweep paid it are
    // Hub's, not the new owner's, and the address is quarantined; the
    // owner's next address works as usual.
    let mut hub = serve_at(dir.path(), &backup.url, true, true).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    check_books(&backup.url, &mut hub).await;
    assert_eq!(available(&mut hub.grpc, "rita").await, 0, "never swept in this history");
    let pooled = stored_addresses(&backup.url, "address_pool").await;
    assert!(
        pooled.contains(&lost_remainder),
        "the lost sweep took its remainder from the full pool"
    );
    let mut handed_out = vec![new_deposit_address(&mut hub, "sam").await];
    while handed_out.len() < pooled.len() && !handed_out.contains(&lost_remainder) {
        handed_out.push(next_deposit_address(&mut hub, "sam").await);
    }
    assert!(handed_out.contains(&lost_remainder), "the pool hands it out again");
    let reused = Address::from_trytes(&lost_remainder).unwrap();
    wait_for("the reused address to be quarantined", Duration::from_secs(60), || {
        let url = backup.url.clone();
        async move { quarantined(&url, &reused).await }
    })
    .await;
    let second = next_deposit_address(&mut hub, "sam").await;
    fund(&hub.node, &second, 500).await;
    let grpc = hub.grpc.clone();
    wait_for("sam's deposit to be swept", Duration::from_secs(120), || {
        let mut grpc = grpc.clone();
        async move { available(&mut grpc, "sam").await == 500 }
    })
    .await;
    wait_for("sam's sweep to confirm", Duration::from_secs(120), || {
        let dir = dir.path().to_path_buf();
        let url = backup.url.clone();
        async move { sweeps_on_their_way(&dir, &url, &[]).is_empty() }
    })
    .await;
    check_books(&backup.url, &mut hub).await;
    hub.running.stop();

    // The older backup restored: the deposit monitor finds rita's key spent
    // by a bundle it never made; nothing is signed, the books equal the chain.
    let mut hub = serve_at(dir.path(), &older.url, true, true).await;
    wait_for_quarantine(&older.url, &address).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(sweeps_on_their_way(dir.path(), &older.url, &[]).is_empty());
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
