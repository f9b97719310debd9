//! The money loop on SQLite and PostgreSQL with the devnet: deposits are
//! swept into Hub addresses, withdrawals paid, sweeps attached and confirmed.

mod common;

use common::*;
use hub_core::monitor::{run_pass, MonitorConfig};
use hub_core::sweeper::{self, SweepConfig};
use hub_core::{AccountReason, AddressReason, BalanceEvent, HubAddressReason, HubError, SweepQuery, WithdrawRequest};
use hub_protocol::validate::{validate, Options};
use hub_protocol::wots::normalized_has_m;

async fn deposit_sweep_withdraw(db: Db) {
    let ctx = start(db).await;
    let hub = &ctx.hub;
    hub_core::pool::refill(&ctx.hub, 4, 2).await.unwrap();
    hub.create_user("olga").await.unwrap();
    hub.create_user("pete").await.unwrap();
    let a = hub.get_deposit_address("olga", false).await.unwrap();
    let b = hub.get_deposit_address("pete", false).await.unwrap();
    ctx.fund(&a, 1_000).await;
    ctx.fund(&b, 500).await;
    ctx.milestone().await;
    assert_eq!(run_pass(hub, &MonitorConfig::default()).await.unwrap().credited, 2);

    // Sweep 1: both deposits into a new Hub address; accounts credited.
    let report = sweeper::run_tick(hub, &SweepConfig::default()).await.unwrap();
    let first = report.swept.expect("a sweep was made");
    assert!(!normalized_has_m(&hub_protocol::Hash::from_trytes(&first).unwrap()));
    assert_eq!(hub.get_balance("olga").await.unwrap().available, 1_000);
    assert_eq!(hub.get_balance("olga").await.unwrap().pending_deposit, 0);
    assert_eq!(hub.get_balance("pete").await.unwrap().available, 500);
    let history = hub.get_user_history("olga", 0).await.unwrap();
    assert_eq!(
        (history[0].kind, history[0].sweep_bundle_hash.as_str()),
        (AccountReason::Sweep, first.as_str())
    );
    // Nothing left to sweep: the next tick does nothing.
    assert!(sweeper::run_tick(hub, &SweepConfig::default())
        .await
        .unwrap()
        .swept
        .is_none());

    // A withdrawal cannot be paid before the remainder of sweep 1 is confirmed.
    let payout = "W".repeat(80) + "9";
    let uuid = hub
        .user_withdraw(&WithdrawRequest {
            user_id: "olga".into(),
            payout_address: payout.clone(),
            amount: 300,
            tag: "PAYOUT".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        sweeper::run_tick(hub, &SweepConfig::default())
            .await
            .unwrap()
            .swept
            .is_none(),
        "funds not confirmed yet"
    );
    hub.user_withdraw_cancel(&uuid).await.unwrap();
    let uuid = hub
        .user_withdraw(&WithdrawRequest {
            user_id: "olga".into(),
            payout_address: payout.clone(),
            amount: 300,
            tag: "PAYOUT".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    ctx.confirm_all().await;

    // Sweep 2: pays the withdrawal from the confirmed Hub address.
    let second = sweeper::run_tick(hub, &SweepConfig::default())
        .await
        .unwrap()
        .swept
        .expect("the withdrawal is paid");
    assert_eq!(
        hub.user_withdraw_cancel(&uuid).await,
        Err(HubError::WithdrawalCanNotBeCancelled)
    );
    ctx.confirm_all().await;
    let payout_address = address(&payout);
    assert_eq!(
        ctx.client.get_balances(&[payout_address]).await.unwrap().balances,
        vec![300]
    );
    assert_eq!(hub.get_balance("olga").await.unwrap().available, 700);

    // The stored bundles are valid: signatures verify, values sum to zero.
    let mut tx = hub.store().read().await.unwrap();
    let confirmed = tx.sweeps_in_state(hub_store::SweepState::Confirmed).await.unwrap();
    assert_eq!(confirmed.len(), 2);
    for sweep in &confirmed {
        let txs = sweeper::sweep_transactions(sweep).unwrap();
        let report = validate(&txs, &Options::default());
        assert!(report.is_valid(), "{:?}", report.violations);
    }
    let tail_tx = sweeper::sweep_transactions(&confirmed[1]).unwrap();
    let paid = tail_tx.iter().find(|t| t.address == payout_address).unwrap();
    assert_eq!(paid.tag.as_str(), "PAYOUT999999999999999999999");
    assert_eq!(confirmed[1].bundle_hash.as_str(), second);
    assert_eq!(
        tx.events_of_kind(hub_store::EventKind::SweepConfirmed)
            .await
            .unwrap()
            .len(),
        2
    );
    drop(tx);

    // Sweep reads: subscription, info by withdrawal or hash, detail.
    let sweeps = hub.sweep_subscription(0).await.unwrap();
    assert_eq!(sweeps.len(), 2);
    assert_eq!(
        (sweeps[0].bundle_hash.as_str(), sweeps[0].withdrawal_uuids.len()),
        (first.as_str(), 0)
    );
    assert_eq!(
        (sweeps[1].bundle_hash.as_str(), sweeps[1].withdrawal_uuids.clone()),
        (second.as_str(), vec![uuid.clone()])
    );
    assert!(
        hub.sweep_subscription(sweeps[1].timestamp_ms)
            .await
            .unwrap()
            .iter()
            .any(|s| s.bundle_hash == second),
        "inclusive"
    );
    assert_eq!(
        hub.sweep_info(&SweepQuery::WithdrawalUuid(uuid.clone()))
            .await
            .unwrap()
            .bundle_hash,
        second
    );
    assert_eq!(
        hub.sweep_info(&SweepQuery::BundleHash(second.clone()))
            .await
            .unwrap()
            .withdrawal_uuids,
        vec![uuid.clone()]
    );
    for bad in [
        SweepQuery::BundleHash("Z".repeat(81)),
        SweepQuery::BundleHash("bad".into()),
        SweepQuery::WithdrawalUuid("nope".into()),
    ] {
        assert!(
            matches!(hub.sweep_info(&bad).await, Err(HubError::Cancelled(_))),
            "{bad:?}"
        );
    }
    let detail = hub.sweep_detail(&second).await.unwrap();
    assert!(detail.confirmed);
    assert_eq!(
        detail.trytes.len(),
        sweeper::sweep_transactions(&confirmed[1]).unwrap().len()
    );
    assert!(!detail.tail_hashes.is_empty());
    assert!(matches!(
        hub.sweep_detail(&"Z".repeat(81)).await,
        Err(HubError::Cancelled(_))
    ));
    // BalanceSubscription after the sweeps: the deposit credited with the sweep hash, the
    // address emptied by it, the remainder received by a Hub address, a Hub input spent.
    let events = hub.balance_subscription(0).await.unwrap();
    assert!(events.iter().any(|e| matches!(e, BalanceEvent::UserAccount(a) if a.kind == AccountReason::Sweep && a.amount == 1_000 && a.sweep_bundle_hash == first)));
    assert!(events.iter().any(|e| matches!(e, BalanceEvent::UserAddress(a) if a.reason == AddressReason::Sweep && a.amount == -1_000 && a.hash == first)));
    assert!(events.iter().any(|e| matches!(e, BalanceEvent::HubAddress(h) if h.reason == HubAddressReason::Inbound && h.amount == 1_500 && h.sweep_bundle_hash == first)));
    assert!(events.iter().any(|e| matches!(e, BalanceEvent::HubAddress(h) if h.reason == HubAddressReason::Outbound && h.amount == -1_500 && h.sweep_bundle_hash == second)));

    // GetStats agrees with the devnet's balances of Hub-owned addresses.
    let stats = hub.get_stats().await.unwrap().total_balance;
    assert_eq!(stats, 1_200);
    let owned: Vec<String> = {
        let mut c = ctx.row_counts().await;
        c.clear();
        let mut list = Vec::new();
        use sqlx::{Connection, Row};
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&ctx.db.url).await.unwrap();
        for row in sqlx::query("SELECT address FROM hub_address UNION ALL SELECT address FROM user_address")
            .fetch_all(&mut conn)
            .await
            .unwrap()
        {
            list.push(row.get::<String, _>(0));
        }
        list
    };
    let owned: Vec<_> = owned.iter().map(|a| address(a)).collect();
    let on_chain: u64 = ctx.client.get_balances(&owned).await.unwrap().balances.iter().sum();
    assert_eq!(on_chain, stats, "what users own equals what Hub holds on the Tangle");
    assert!(ctx.mismatches().await.is_empty());
    ctx.finish().await;
}
on_both_databases!(deposit_sweep_withdraw_test, deposit_sweep_withdraw);
