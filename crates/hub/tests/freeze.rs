//! One sweep that can never be signed freezes nothing, through the real
//! binaries on SQLite and on PostgreSQL.
//!
//! Method: `hub serve --signing remote` beside a real `hub signer`. The
//! signer's registry is made to say that one deposit key already signed
//! another bundle (as after Hub's database was restored behind the
//! signer's back), so the signer refuses every sweep of that key. The
//! refused sweep stays planned while the next deposit is swept and a
//! withdrawal paid; `hub admin sweep abandon` frees it (checked on the
//! node first); the refused deposit's owner keeps the credit, its funds
//! stay on what is now a Hub address, and the books equal the chain
//! (`check_books`).

mod common;

use std::path::Path;
use std::time::Duration;

use common::books::*;
use common::signing::{dev_certs, remote_serve, remote_signing_args, start_signer};
use common::*;
use hub_signer::server::REGISTRY_FILE;

/// `hub serve --signing remote` on `database`, sweeping and attaching every 300 ms.
async fn serve_remote(dir: &Path, signer_url: &str, database: &str) -> ServedHub {
    serve(remote_serve(dir, signer_url).args([
        "--database",
        database,
        "--sweep-interval-ms",
        "300",
        "--attachment-interval-ms",
        "300",
    ]))
    .await
}

async fn a_sweep_the_signer_refuses_freezes_nothing(db: Db) {
    let database = TestDb::new(db).await;
    let dir = tempfile::tempdir().unwrap();
    dev_certs(&dir.path().join("certs"));

    // stuck's deposit address, derived by the signer.
    let (signer, url) = start_signer(dir.path(), "2");
    let mut hub = serve_remote(dir.path(), &url, &database.url).await;
    let stuck = new_deposit_address(&mut hub, "stuck").await;
    hub.running.stop();
    signer.stop();

    // The signer's own memory says that key signed another bundle.
    let uuid = strings(
        &database.url,
        &format!("SELECT seed_uuid FROM user_address WHERE address = '{stuck}'"),
    )
    .await
    .remove(0);
    let registry = dir.path().join("signer-data").join(REGISTRY_FILE);
    let mut lines = std::fs::read_to_string(&registry).unwrap_or_default();
    lines.push_str(&format!("{uuid} {}\n", "X".repeat(81)));
    std::fs::write(&registry, lines).unwrap();

    let (signer, url) = start_signer(dir.path(), "2");
    let signing = remote_signing_args(dir.path(), &url);
    let mut hub = serve_remote(dir.path(), &url, &database.url).await;
    fund(&hub.node, &stuck, 1_000).await;
    wait_for(
        "stuck's sweep to be planned and refused",
        Duration::from_secs(60),
        || {
            let (dir, url, signing) = (dir.path().to_path_buf(), database.url.clone(), signing.clone());
            async move {
                let on_their_way = sweeps_on_their_way(&dir, &url, &signing);
                on_their_way.len() == 1 && on_their_way[0].1 == "planned"
            }
        },
    )
    .await;
    let refused = sweeps_on_their_way(dir.path(), &database.url, &signing).remove(0).0;

    // Meanwhile the next deposit is swept and a withdrawal paid.
    deposit(&mut hub, "next", 800).await;
    let grpc = hub.grpc.clone();
    wait_for("next's deposit to be swept", Duration::from_secs(120), || {
        let mut grpc = grpc.clone();
        async move { available(&mut grpc, "next").await == 800 }
    })
    .await;
    let payout = "P".repeat(80) + "9";
    let withdrawal = withdraw(&mut hub.grpc, "next", &payout, 300, "freeze-1").await;
    let grpc = hub.grpc.clone();
    wait_for("next's withdrawal to be paid", Duration::from_secs(120), || {
        let (mut grpc, uuid) = (grpc.clone(), withdrawal.clone());
        async move { withdrawal_confirmed(&mut grpc, &uuid).await }
    })
    .await;
    assert_eq!(node_balance(&hub.node, &payout).await, 300);
    assert_eq!(
        sweeps_on_their_way(dir.path(), &database.url, &signing),
        vec![(refused.clone(), "planned".to_string())],
        "the refused sweep is still held, and held up nothing"
    );

    // The operator abandons it: nothing of it is on the node.
    let abandoned = admin(
        dir.path(),
        &database.url,
        &[
            signing.iter().map(String::as_str).collect::<Vec<_>>(),
            vec!["--node", &hub.node, "sweep", "abandon", &refused],
        ]
        .concat(),
        "",
    )
    .unwrap();
    assert!(abandoned.contains(&format!("sweep {refused} abandoned")), "{abandoned}");
    assert!(
        abandoned.contains(&format!("deposit address {stuck} (1000) is now a Hub address")),
        "{abandoned}"
    );
    assert!(sweeps_on_their_way(dir.path(), &database.url, &signing).is_empty());
    let events = strings(
        &database.url,
        &format!("SELECT reference FROM events WHERE kind = 'sweep_abandoned' AND reference = '{refused}'"),
    )
    .await;
    assert_eq!(events.len(), 1, "an event says so");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        available(&mut hub.grpc, "stuck").await,
        1_000,
        "the owner keeps the credit"
    );
    assert_eq!(available(&mut hub.grpc, "next").await, 500);
    assert_eq!(node_balance(&hub.node, &stuck).await, 1_000, "never spent");
    check_books(&database.url, &mut hub).await;
    hub.running.stop();
    signer.stop();
    database.remove().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_the_signer_refuses_freezes_nothing_on_sqlite() {
    a_sweep_the_signer_refuses_freezes_nothing(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_the_signer_refuses_freezes_nothing_on_postgres() {
    a_sweep_the_signer_refuses_freezes_nothing(Db::Postgres).await;
}
