//! The deposit monitor against a real devnet, on SQLite and PostgreSQL
//! (hub-behaviour.md §13 F, with the [F] fixes).

mod common;

use common::*;
use hub_core::monitor::{run_pass, MonitorConfig};
use hub_core::{AddressReason, BalanceEvent};
use hub_protocol::bundle::{BundleBuilder, Input, Output};
use hub_protocol::{wots, SecurityLevel};
use serde_json::json;

const CONFIG: MonitorConfig = MonitorConfig {
    page_size: 2,
    fetch_messages: false,
};

async fn deposit_events(ctx: &Ctx) -> Vec<hub_core::AddressEvent> {
    ctx.hub
        .balance_subscription(0)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|e| match e {
            BalanceEvent::UserAddress(a) if a.reason == AddressReason::Deposit => Some(a),
            _ => None,
        })
        .collect()
}

async fn confirmed_deposits_are_recorded_once(db: Db) {
    let ctx = start(db).await;
    let hub = &ctx.hub;
    hub.create_user("dora").await.unwrap();
    let address = hub.get_deposit_address("dora", false).await.unwrap();
    // Some other monitored addresses, so paging is exercised.
    for _ in 0..3 {
        hub.get_deposit_address("dora", false).await.unwrap();
    }
    let tail = ctx.fund(&address, 1_000).await;

    // Not yet confirmed: nothing recorded.
    let report = run_pass(hub, &CONFIG).await.unwrap();
    assert_eq!(report.addresses, 4);
    assert_eq!(report.credited, 0);
    assert_eq!(hub.get_balance("dora").await.unwrap().pending_deposit, 0);

    ctx.milestone().await;
    let report = run_pass(hub, &CONFIG).await.unwrap();
    assert_eq!((report.changed, report.credited, report.deferred), (1, 1, 0));
    let balance = hub.get_balance("dora").await.unwrap();
    assert_eq!(
        balance.available, 0,
        "the account is credited when the deposit is swept"
    );
    assert_eq!(balance.pending_deposit, 1_000);
    let events = deposit_events(&ctx).await;
    assert_eq!(events.len(), 1);
    assert_eq!(
        (events[0].address.as_str(), events[0].amount, events[0].hash.as_str()),
        (address.as_str(), 1_000, tail.as_str())
    );
    assert_eq!(events[0].message, "");
    let mut tx = hub.store().read().await.unwrap();
    let logged = tx.events_of_kind(hub_store::EventKind::DepositConfirmed).await.unwrap();
    assert_eq!(logged.len(), 1);
    assert_eq!(logged[0].amount, 1_000);
    drop(tx);

    // Another pass, a reattachment of the deposit bundle, and a restarted Hub credit nothing more.
    ctx.attach_on_milestone(&ctx.bundle_of(tail).await).await;
    ctx.milestone().await;
    assert_eq!(run_pass(hub, &CONFIG).await.unwrap().credited, 0);
    let store = hub_store::Store::connect(&ctx.db.url).await.unwrap();
    let restarted = hub_core::Hub::new(
        store,
        ctx.client.clone(),
        provider(),
        std::sync::Arc::new(hub_core::SystemClock),
    );
    assert_eq!(run_pass(&restarted, &CONFIG).await.unwrap().credited, 0);
    restarted.store().close().await;
    assert_eq!(hub.get_balance("dora").await.unwrap().pending_deposit, 1_000);
    assert_eq!(deposit_events(&ctx).await.len(), 1);

    // A second deposit to the same address is a new bundle: credited too.
    ctx.fund(&address, 5).await;
    ctx.milestone().await;
    assert_eq!(run_pass(hub, &CONFIG).await.unwrap().credited, 1);
    assert_eq!(hub.get_balance("dora").await.unwrap().pending_deposit, 1_005);
    assert!(ctx.mismatches().await.is_empty());
    ctx.finish().await;
}
on_both_databases!(
    confirmed_deposits_are_recorded_once_test,
    confirmed_deposits_are_recorded_once
);

async fn nothing_happens_while_the_node_is_not_synced(db: Db) {
    let ctx = start(db).await;
    ctx.hub.create_user("eve").await.unwrap();
    let address = ctx.hub.get_deposit_address("eve", false).await.unwrap();
    ctx.fund(&address, 10).await;
    ctx.milestone().await;
    for fault in ["lagging", "stale"] {
        ctx.client
            .call_raw("setFaults", &json!({"command": "setFaults", "notSynced": fault}))
            .await
            .unwrap();
        let report = run_pass(&ctx.hub, &CONFIG).await.unwrap();
        assert!(report.skipped_not_synced, "{fault}");
        assert_eq!(report.addresses, 0, "not even getBalances");
        assert_eq!(ctx.hub.get_balance("eve").await.unwrap().pending_deposit, 0);
    }
    ctx.client
        .call_raw("setFaults", &json!({"command": "setFaults"}))
        .await
        .unwrap();
    ctx.milestone().await;
    assert_eq!(run_pass(&ctx.hub, &CONFIG).await.unwrap().credited, 1);
    // A node that does not answer is an error of the pass, not a crash.
    ctx.client
        .call_raw("setFaults", &json!({"command": "setFaults", "failRate": 1.0}))
        .await
        .unwrap();
    assert!(run_pass(&ctx.hub, &CONFIG).await.is_err());
    ctx.client
        .call_raw("setFaults", &json!({"command": "setFaults"}))
        .await
        .unwrap();
    ctx.finish().await;
}
on_both_databases!(
    nothing_happens_while_the_node_is_not_synced_test,
    nothing_happens_while_the_node_is_not_synced
);

async fn one_odd_address_does_not_block_the_others(db: Db) {
    let ctx = start(db).await;
    let hub = &ctx.hub;
    hub.create_user("fay").await.unwrap();
    let odd = hub.get_deposit_address("fay", false).await.unwrap();
    let fine = hub.get_deposit_address("fay", false).await.unwrap();
    // Hub believes `odd` holds 7 more than the node says: its numbers cannot add up.
    ctx.sql(&format!(
        "INSERT INTO user_address_balance (user_address, amount, reason, tail_hash, bundle_hash, occured_at)
         SELECT id, 7, 0, '{0}', '{0}', 0 FROM user_address WHERE address = '{odd}'",
        "T".repeat(81)
    ))
    .await;
    ctx.sql(&format!("UPDATE user_address SET balance = 7 WHERE address = '{odd}'"))
        .await;
    ctx.fund(&fine, 300).await;
    ctx.milestone().await;
    let report = run_pass(hub, &CONFIG).await.unwrap();
    assert_eq!((report.credited, report.deferred), (1, 1));
    assert_eq!(hub.get_balance("fay").await.unwrap().pending_deposit, 307);
    ctx.finish().await;
}
on_both_databases!(
    one_odd_address_does_not_block_the_others_test,
    one_odd_address_does_not_block_the_others
);

async fn an_unexpected_spend_quarantines_the_address(db: Db) {
    let ctx = start(db).await;
    let hub = &ctx.hub;
    hub.create_user("gus").await.unwrap();
    let victim = hub.get_deposit_address("gus", false).await.unwrap();
    let other = hub.get_deposit_address("gus", false).await.unwrap();
    ctx.fund(&victim, 100).await;
    ctx.milestone().await;
    assert_eq!(run_pass(hub, &CONFIG).await.unwrap().credited, 1);

    // Someone with the key (an exported seed, a thief) spends the deposit address.
    let uuid = {
        let mut tx = hub.store().read().await.unwrap();
        tx.user_address(&address(&victim)).await.unwrap().unwrap().seed_uuid
    };
    let seed = provider().as_ref().seed_of(&uuid).await;
    let thief = address(&("T".repeat(80) + "9"));
    let bundle = BundleBuilder::new(1_700_000_000)
        .unwrap()
        .input(Input {
            address: address(&victim),
            amount: 100,
            security: SecurityLevel::Medium,
        })
        .output(Output::new(thief, 100))
        .build()
        .unwrap()
        .sign(|slot, hash| Ok::<_, ()>(wots::sign(&seed, 0, slot.security, hash)))
        .unwrap();
    ctx.attach_on_milestone(&bundle).await;
    ctx.fund(&other, 50).await;
    ctx.milestone().await;

    let report = run_pass(hub, &CONFIG).await.unwrap();
    assert_eq!((report.quarantined, report.credited), (1, 1), "{report:?}");
    let mut tx = hub.store().read().await.unwrap();
    let row = tx.user_address(&address(&victim)).await.unwrap().unwrap();
    assert!(row.quarantined);
    assert_eq!(
        tx.events_of_kind(hub_store::EventKind::AddressQuarantined)
            .await
            .unwrap()
            .len(),
        1
    );
    drop(tx);
    // Quarantined addresses are no longer monitored; the process goes on.
    let report = run_pass(hub, &CONFIG).await.unwrap();
    assert_eq!((report.addresses, report.quarantined), (1, 0));
    ctx.finish().await;
}
on_both_databases!(
    an_unexpected_spend_quarantines_the_address_test,
    an_unexpected_spend_quarantines_the_address
);

async fn messages_and_zero_value_transactions(db: Db) {
    let ctx = start(db).await;
    let hub = &ctx.hub;
    hub.create_user("hal").await.unwrap();
    let address = hub.get_deposit_address("hal", false).await.unwrap();
    // A zero-value transaction carrying a message to the deposit address.
    let mut output = Output::new(self::address(&address), 0);
    output.message = hub_protocol::Fragment::from_trytes_padded("HELLO9HUB").unwrap();
    let zero = BundleBuilder::new(1_700_000_000)
        .unwrap()
        .output(output)
        .build()
        .unwrap();
    ctx.attach_on_milestone(zero.transactions()).await;
    ctx.milestone().await;
    let report = run_pass(
        hub,
        &MonitorConfig {
            fetch_messages: true,
            ..CONFIG
        },
    )
    .await
    .unwrap();
    assert_eq!(
        (report.changed, report.credited),
        (0, 0),
        "zero value changes no balance"
    );
    assert!(deposit_events(&ctx).await.is_empty());

    // A value deposit whose transaction carries a message: kept only when asked.
    let seed = hub_protocol::Seed::from_trytes(&format!("{:9<81}", "MESSAGESENDER")).unwrap();
    let sender = wots::address(&seed, 0, SecurityLevel::Medium);
    ctx.fund(sender.as_str(), 40).await;
    ctx.milestone().await;
    let mut paid = Output::new(self::address(&address), 40);
    paid.message = hub_protocol::Fragment::from_trytes_padded("THANKS").unwrap();
    let bundle = BundleBuilder::new(1_700_000_000)
        .unwrap()
        .output(paid)
        .input(Input {
            address: sender,
            amount: 40,
            security: SecurityLevel::Medium,
        })
        .build()
        .unwrap()
        .sign(|slot, hash| Ok::<_, ()>(wots::sign(&seed, 0, slot.security, hash)))
        .unwrap();
    ctx.attach_on_milestone(&bundle).await;
    ctx.milestone().await;
    assert_eq!(
        run_pass(
            hub,
            &MonitorConfig {
                fetch_messages: true,
                ..CONFIG
            }
        )
        .await
        .unwrap()
        .credited,
        1
    );
    let events = deposit_events(&ctx).await;
    assert_eq!(events.len(), 1);
    assert!(events[0].message.starts_with("THANKS9"));
    assert_eq!(events[0].message.len(), 2187);
    ctx.finish().await;
}
on_both_databases!(
    messages_and_zero_value_transactions_test,
    messages_and_zero_value_transactions
);
