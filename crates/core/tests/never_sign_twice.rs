//! Never sign twice, on SQLite and PostgreSQL with the devnet: a database
//! restored from a backup taken before a sweep was broadcast plans a new
//! bundle for the same key, and the check before signing (`spends`) finds
//! the key's address spent on the Tangle by the lost bundle: nothing is
//! signed, the address is quarantined, an alert is recorded once, and the
//! held sweep holds up no other sweep. A "spend" posted without the key's
//! signature proves nothing: it quarantines nothing and holds up nothing.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use common::*;
use hub_core::attacher::{self, Action, AttachConfig};
use hub_core::monitor::{run_pass, MonitorConfig};
use hub_core::sweeper::{self, SweepConfig};
use hub_core::{Hub, SystemClock};
use hub_protocol::bundle::{BundleBuilder, Input, Output};
use hub_protocol::{Address, Hash, SecurityLevel};
use hub_store::{EventKind, Store, SweepState};

/// A Hub over the database at `url`, sharing the test's node.
async fn hub_on(ctx: &Ctx, url: &str) -> Hub {
    Hub::new(
        Store::connect(url).await.unwrap(),
        ctx.client.clone(),
        provider(),
        Arc::new(SystemClock),
    )
}

/// The bundle hashes the node shows spending from `address`.
async fn spends_on_node(ctx: &Ctx, address: &Address) -> BTreeSet<Hash> {
    let found = ctx
        .client
        .find_transactions(&hub_node::FindQuery {
            addresses: vec![*address],
            ..Default::default()
        })
        .await
        .unwrap();
    ctx.client
        .get_trytes(&found)
        .await
        .unwrap()
        .into_iter()
        .flatten()
        .filter(|tx| tx.value.is_negative() && tx.address == *address)
        .map(|tx| tx.bundle)
        .collect()
}

async fn a_restored_backup_never_signs_a_key_twice(db: Db) {
    let ctx = start(db).await;
    ctx.hub.create_user("rita").await.unwrap();
    let deposit = address(&ctx.hub.get_deposit_address("rita", false).await.unwrap());
    ctx.fund(deposit.as_str(), 1_000).await;
    ctx.milestone().await;
    assert_eq!(run_pass(&ctx.hub, &MonitorConfig::default()).await.unwrap().credited, 1);

    // The backup: the deposit credited to its address, not swept.
    ctx.hub.store().close().await;
    let backup = ctx.db.copy().await;

    // The live database sweeps, and the sweep goes out to the node.
    let live = hub_on(&ctx, &ctx.db.url).await;
    let lost = sweeper::run_tick(&live, &SweepConfig::default())
        .await
        .unwrap()
        .swept
        .expect("the live database sweeps the deposit");
    let attached = attacher::run_tick(&live, &AttachConfig::default()).await.unwrap();
    assert!(matches!(attached[..], [(_, Ok(Action::Reattached))]), "{attached:?}");
    live.store().close().await;
    let lost = Hash::from_trytes(&lost).unwrap();
    assert_eq!(spends_on_node(&ctx, &deposit).await, BTreeSet::from([lost]));

    // The backup is restored: it knows nothing of that sweep, and plans
    // another bundle (a later timestamp) for the same key.
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let restored = hub_on(&ctx, &backup.url).await;
    let report = sweeper::run_tick(&restored, &SweepConfig::default()).await.unwrap();
    assert_eq!((report.swept.as_deref(), report.held), (None, 1), "{report:?}");

    // Nothing signed: on the node the key signed one bundle hash only.
    assert_eq!(spends_on_node(&ctx, &deposit).await, BTreeSet::from([lost]));
    let mut read = restored.store().read().await.unwrap();
    let planned = read.sweeps_in_state(SweepState::Planned).await.unwrap();
    assert_eq!(planned.len(), 1, "the new plan stays planned, unsigned");
    assert_ne!(planned[0].bundle_hash, lost);
    assert!(read.sweeps_in_state(SweepState::Signed).await.unwrap().is_empty());
    assert!(read.user_address(&deposit).await.unwrap().unwrap().quarantined);
    let alerts = read.events_of_kind(EventKind::KeySpentElsewhere).await.unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].address.as_deref(), Some(deposit.as_str()));
    assert_eq!(alerts[0].reference.as_deref(), Some(lost.as_str()));
    drop(read);

    // Held, it stays held: no signature and no second alert.
    let report = sweeper::run_tick(&restored, &SweepConfig::default()).await.unwrap();
    assert_eq!((report.swept.as_deref(), report.held), (None, 1), "{report:?}");
    let mut read = restored.store().read().await.unwrap();
    assert_eq!(
        read.events_of_kind(EventKind::KeySpentElsewhere).await.unwrap().len(),
        1
    );
    drop(read);
    assert_eq!(spends_on_node(&ctx, &deposit).await, BTreeSet::from([lost]));

    // And it holds up nothing else: a new deposit is swept and signed.
    restored.create_user("sam").await.unwrap();
    let sams = restored.get_deposit_address("sam", false).await.unwrap();
    ctx.fund(&sams, 500).await;
    ctx.milestone().await;
    run_pass(&restored, &MonitorConfig::default()).await.unwrap();
    let report = sweeper::run_tick(&restored, &SweepConfig::default()).await.unwrap();
    assert!(report.swept.is_some(), "{report:?}");
    assert_eq!(report.held, 1);

    restored.store().close().await;
    backup.remove().await;
    ctx.devnet.stop().await;
    ctx.db.remove().await;
}
on_both_databases!(
    a_restored_backup_never_signs_a_key_twice_test,
    a_restored_backup_never_signs_a_key_twice
);

async fn a_spend_without_the_keys_signature_quarantines_nothing(db: Db) {
    let ctx = start(db).await;
    ctx.hub.create_user("vera").await.unwrap();
    let deposit = address(&ctx.hub.get_deposit_address("vera", false).await.unwrap());
    ctx.fund(deposit.as_str(), 1_000).await;
    ctx.milestone().await;
    assert_eq!(run_pass(&ctx.hub, &MonitorConfig::default()).await.unwrap().credited, 1);

    // Anyone may post a bundle "spending" the address, unsigned.
    let now_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let forged = BundleBuilder::new(now_s)
        .unwrap()
        .input(Input {
            address: deposit,
            amount: 1_000,
            security: SecurityLevel::Medium,
        })
        .output(Output::new(address(&format!("{:9<81}", "THIEF")), 1_000))
        .build()
        .unwrap();
    ctx.attach_on_milestone(forged.transactions()).await;
    ctx.milestone().await;
    assert_eq!(spends_on_node(&ctx, &deposit).await, BTreeSet::from([forged.hash()]));

    // The sweep signs: the key's real signature is nowhere on the Tangle.
    let report = sweeper::run_tick(&ctx.hub, &SweepConfig::default()).await.unwrap();
    let swept = report.swept.expect("the deposit is swept");
    assert_eq!(report.held, 0);
    let mut read = ctx.hub.store().read().await.unwrap();
    assert!(!read.user_address(&deposit).await.unwrap().unwrap().quarantined);
    assert!(read
        .events_of_kind(EventKind::KeySpentElsewhere)
        .await
        .unwrap()
        .is_empty());
    drop(read);
    assert_ne!(swept, forged.hash().to_string());
    ctx.finish().await;
}
on_both_databases!(
    a_spend_without_the_keys_signature_quarantines_nothing_test,
    a_spend_without_the_keys_signature_quarantines_nothing
);
