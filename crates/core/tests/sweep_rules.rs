//! Sweep rules on SQLite and PostgreSQL: resumption after a crash between
//! planning and signing, the one-bundle-per-key binding, limits, FIFO
//! withdrawals as funds allow, cold storage.

mod common;

use common::*;
use hub_core::monitor::{run_pass, MonitorConfig};
use hub_core::sweeper::{self, SweepConfig};
use hub_core::{HubError, WithdrawRequest};

async fn funded_user(ctx: &Ctx, user: &str, amounts: &[u64]) {
    ctx.hub.create_user(user).await.unwrap();
    for amount in amounts {
        let address = ctx.hub.get_deposit_address(user, false).await.unwrap();
        ctx.fund(&address, *amount).await;
    }
    ctx.milestone().await;
    run_pass(&ctx.hub, &MonitorConfig::default()).await.unwrap();
}

async fn a_crash_between_planning_and_signing_resumes_the_same_bundle(db: Db) {
    let ctx = start(db).await;
    funded_user(&ctx, "quin", &[700]).await;
    let planned = sweeper::plan(&ctx.hub, &SweepConfig::default())
        .await
        .unwrap()
        .expect("something to sweep");
    assert_eq!(planned.state, "planned");
    // "Crash": a new Hub over the same database finds the planned sweep.
    let store = hub_store::Store::connect(&ctx.db.url).await.unwrap();
    let restarted = hub_core::Hub::new(
        store,
        ctx.client.clone(),
        provider(),
        std::sync::Arc::new(hub_core::SystemClock),
    );
    let report = sweeper::run_tick(&restarted, &SweepConfig::default()).await.unwrap();
    assert_eq!(report.resumed, 1);
    assert!(report.swept.is_none(), "nothing else to sweep");
    let mut tx = restarted.store().read().await.unwrap();
    let signed = tx.sweeps_in_state("signed").await.unwrap();
    assert_eq!(signed.len(), 1);
    assert_eq!(
        signed[0].bundle_hash, planned.bundle_hash,
        "the same bundle, never rebuilt"
    );
    drop(tx);
    restarted.store().close().await;
    ctx.confirm_all().await;
    assert_eq!(ctx.hub.get_balance("quin").await.unwrap().available, 700);
    ctx.finish().await;
}
on_both_databases!(
    resume_test,
    a_crash_between_planning_and_signing_resumes_the_same_bundle
);

async fn a_key_bound_to_another_bundle_is_never_signed(db: Db) {
    let ctx = start(db).await;
    funded_user(&ctx, "rita", &[50]).await;
    // The deposit address's key already signed something else (e.g. an imported database).
    ctx.sql(&format!(
        "INSERT INTO signed_uuids (uuid, bundle_hash) SELECT seed_uuid, '{}' FROM user_address",
        "X".repeat(81)
    ))
    .await;
    hub_core::pool::refill(&ctx.hub, 1, 1).await.unwrap();
    let before = ctx.row_counts().await;
    let err = sweeper::run_tick(&ctx.hub, &SweepConfig::default()).await.unwrap_err();
    assert!(matches!(err, HubError::SignatureFailed(_)), "{err:?}");
    assert_eq!(ctx.row_counts().await, before, "the whole sweep rolled back");
    assert_eq!(ctx.hub.get_balance("rita").await.unwrap().pending_deposit, 50);
    ctx.finish().await;
}
on_both_databases!(bound_key_test, a_key_bound_to_another_bundle_is_never_signed);

async fn limits_fifo_and_cold_storage(db: Db) {
    let ctx = start(db).await;
    funded_user(&ctx, "sam", &[100, 100, 100, 100, 100, 100, 100]).await;
    let config = SweepConfig {
        max_deposits: 5,
        max_withdrawals: 7,
    };
    sweeper::run_tick(&ctx.hub, &config).await.unwrap();
    let balance = ctx.hub.get_balance("sam").await.unwrap();
    assert_eq!(
        (balance.available, balance.pending_deposit),
        (500, 200),
        "at most 5 deposits per sweep"
    );
    ctx.confirm_all().await;
    sweeper::run_tick(&ctx.hub, &config).await.unwrap();
    ctx.confirm_all().await;
    assert_eq!(ctx.hub.get_balance("sam").await.unwrap().available, 700);

    // Hub holds 500 + 200 in two confirmed addresses. Withdrawals, oldest first: 400, 200, 50.
    let payout = |c: char| c.to_string().repeat(80) + "9";
    let mut uuids = Vec::new();
    for (amount, to) in [(400u64, 'X'), (200, 'Y'), (50, 'Z')] {
        let request = WithdrawRequest {
            user_id: "sam".into(),
            payout_address: payout(to),
            amount,
            ..Default::default()
        };
        uuids.push(ctx.hub.user_withdraw(&request).await.unwrap());
    }
    // Cold storage is never an input: with the 500 address cold, the oldest (400) does not fit.
    ctx.sql("UPDATE hub_address SET is_cold_storage = 1 WHERE balance = 500")
        .await;
    assert!(
        sweeper::run_tick(&ctx.hub, &config).await.unwrap().swept.is_none(),
        "the oldest withdrawal does not fit"
    );
    // With the 200 address cold instead, 500 is available: 400 fits, 400 + 200 does not,
    // so only the oldest is paid now (in order, never skipping ahead).
    ctx.sql("UPDATE hub_address SET is_cold_storage = 0").await;
    ctx.sql("UPDATE hub_address SET is_cold_storage = 1 WHERE balance = 200")
        .await;
    sweeper::run_tick(&ctx.hub, &config)
        .await
        .unwrap()
        .swept
        .expect("the oldest withdrawal is paid");
    assert_eq!(
        ctx.hub.user_withdraw_cancel(&uuids[0]).await,
        Err(HubError::WithdrawalCanNotBeCancelled)
    );
    ctx.confirm_all().await;
    let balances = ctx
        .client
        .get_balances(&[address(&payout('X')), address(&payout('Y'))])
        .await
        .unwrap()
        .balances;
    assert_eq!(balances, vec![400, 0]);
    // Back from cold storage, the 200 address and the 100 remainder pay the rest.
    ctx.sql("UPDATE hub_address SET is_cold_storage = 0").await;
    sweeper::run_tick(&ctx.hub, &config)
        .await
        .unwrap()
        .swept
        .expect("the next ones are paid");
    ctx.confirm_all().await;
    let balances = ctx
        .client
        .get_balances(&[address(&payout('Y')), address(&payout('Z'))])
        .await
        .unwrap()
        .balances;
    assert_eq!(balances, vec![200, 50]);
    assert_eq!(ctx.hub.get_balance("sam").await.unwrap().available, 50);
    assert_eq!(ctx.hub.get_stats().await.unwrap().total_balance, 50);
    assert!(ctx.mismatches().await.is_empty());
    ctx.finish().await;
}
on_both_databases!(limits_fifo_and_cold_storage_test, limits_fifo_and_cold_storage);
