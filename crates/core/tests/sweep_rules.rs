//! Sweep rules on SQLite and PostgreSQL: resumption after a crash between
//! planning and signing, the one-bundle-per-key binding, limits, FIFO
//! withdrawals as funds allow, cold storage, the bundle layout and the
//! ledger rows of a sweep, Hub inputs smallest first (§13 G).

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
    assert_eq!(planned.state, hub_store::SweepState::Planned);
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
    let signed = tx.sweeps_in_state(hub_store::SweepState::Signed).await.unwrap();
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

/// (address, value) of every transaction of the sweep `bundle`, in index order.
async fn layout(ctx: &Ctx, bundle: &str) -> Vec<(String, i64)> {
    let row = ctx
        .hub
        .store()
        .read()
        .await
        .unwrap()
        .sweep_by_hash(&hub_protocol::Hash::from_trytes(bundle).unwrap())
        .await
        .unwrap()
        .unwrap();
    let transactions = sweeper::sweep_transactions(&row).unwrap();
    let timestamps: std::collections::HashSet<_> = transactions.iter().map(|t| t.timestamp.get()).collect();
    assert_eq!(timestamps.len(), 1, "one timestamp for the whole bundle");
    assert_eq!(transactions.iter().map(|t| t.value.get()).sum::<i64>(), 0);
    transactions
        .iter()
        .map(|t| (t.address.to_string(), t.value.get()))
        .collect()
}

async fn hub_balances(ctx: &Ctx) -> Vec<(String, String)> {
    let addresses = ctx.strings("SELECT address FROM hub_address ORDER BY id").await;
    let balances = ctx
        .strings("SELECT CAST(balance AS VARCHAR(32)) FROM hub_address ORDER BY id")
        .await;
    addresses.into_iter().zip(balances).collect()
}

async fn layout_ledgers_and_hub_inputs(db: Db) {
    let ctx = start(db).await;
    ctx.hub.create_user("ann").await.unwrap();
    ctx.hub.create_user("bob").await.unwrap();
    let a = ctx.hub.get_deposit_address("ann", false).await.unwrap();
    let b = ctx.hub.get_deposit_address("bob", false).await.unwrap();
    ctx.fund(&a, 1_000).await;
    ctx.fund(&b, 500).await;
    ctx.milestone().await;
    run_pass(&ctx.hub, &MonitorConfig::default()).await.unwrap();
    let config = SweepConfig::default();

    // Deposits only: each input's transactions (first −amount, then 0), then the remainder.
    let first = sweeper::run_tick(&ctx.hub, &config).await.unwrap().swept.unwrap();
    let bundle = layout(&ctx, &first).await;
    let h1 = bundle[4].0.clone();
    assert_eq!(
        bundle,
        vec![
            (a.clone(), -1_000),
            (a.clone(), 0),
            (b.clone(), -500),
            (b.clone(), 0),
            (h1.clone(), 1_500)
        ]
    );
    // One new Hub address, one INBOUND row of the remainder, the sweep pointing at it.
    assert_eq!(hub_balances(&ctx).await, vec![(h1.clone(), "1500".to_string())]);
    assert_eq!(
        ctx.strings(&format!(
            "SELECT h.address FROM sweep s JOIN hub_address h ON h.id = s.into_hub_address WHERE s.bundle_hash = '{first}'"
        ))
        .await,
        vec![h1.clone()]
    );
    assert_eq!(
        ctx.strings("SELECT CAST(amount AS VARCHAR(32)) FROM hub_address_balance")
            .await,
        vec!["1500"]
    );
    // Each deposit address: one SWEEP row of −balance, balance 0; each owner credited.
    for (address, amount) in [(&a, "-1000"), (&b, "-500")] {
        let rows = ctx
            .strings(&format!(
                "SELECT CAST(l.amount AS VARCHAR(32)) FROM user_address_balance l JOIN user_address u ON u.id = l.user_address
                 WHERE u.address = '{address}' AND l.reason = 1"
            ))
            .await;
        assert_eq!(rows, vec![amount]);
    }
    assert_eq!(ctx.hub.get_balance("bob").await.unwrap().available, 500);
    assert!(ctx.mismatches().await.is_empty());

    // Nothing to sweep or pay: a tick writes nothing.
    let before = ctx.row_counts().await;
    assert_eq!(sweeper::run_tick(&ctx.hub, &config).await.unwrap().swept, None);
    assert_eq!(ctx.row_counts().await, before);
    ctx.confirm_all().await;

    // A second, smaller Hub address.
    ctx.hub.create_user("cid").await.unwrap();
    let c = ctx.hub.get_deposit_address("cid", false).await.unwrap();
    ctx.fund(&c, 300).await;
    ctx.milestone().await;
    run_pass(&ctx.hub, &MonitorConfig::default()).await.unwrap();
    let second = sweeper::run_tick(&ctx.hub, &config).await.unwrap().swept.unwrap();
    let h2 = layout(&ctx, &second).await[2].0.clone();
    ctx.confirm_all().await;

    // A withdrawal the smallest Hub address covers: only it is spent.
    let payout = |c: char| c.to_string().repeat(80) + "9";
    let withdraw = |amount: u64, to: char| WithdrawRequest {
        user_id: "ann".into(),
        payout_address: payout(to),
        amount,
        tag: "OUT".into(),
        ..Default::default()
    };
    ctx.hub.user_withdraw(&withdraw(200, 'P')).await.unwrap();
    let third = sweeper::run_tick(&ctx.hub, &config).await.unwrap().swept.unwrap();
    let bundle = layout(&ctx, &third).await;
    let h3 = bundle[3].0.clone();
    assert_eq!(
        bundle,
        vec![
            (h2.clone(), -300),
            (h2.clone(), 0),
            (payout('P'), 200),
            (h3.clone(), 100)
        ]
    );
    let row = ctx
        .hub
        .store()
        .read()
        .await
        .unwrap()
        .sweep_by_hash(&hub_protocol::Hash::from_trytes(&third).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        sweeper::sweep_transactions(&row).unwrap()[2].tag.as_str(),
        "OUT999999999999999999999999",
        "the payout carries the withdrawal's tag"
    );
    ctx.confirm_all().await;
    assert_eq!(
        hub_balances(&ctx).await,
        vec![
            (h1.clone(), "1500".to_string()),
            (h2.clone(), "0".to_string()),
            (h3.clone(), "100".to_string())
        ]
    );

    // A larger one: smallest first (100, then 1 500), stopping once covered.
    ctx.hub.user_withdraw(&withdraw(700, 'Q')).await.unwrap();
    let fourth = sweeper::run_tick(&ctx.hub, &config).await.unwrap().swept.unwrap();
    let bundle = layout(&ctx, &fourth).await;
    let inputs: Vec<_> = bundle.iter().filter(|(_, v)| *v < 0).cloned().collect();
    assert_eq!(inputs, vec![(h3.clone(), -100), (h1.clone(), -1_500)]);
    ctx.confirm_all().await;
    assert_eq!(
        ctx.client
            .get_balances(&[address(&payout('P')), address(&payout('Q'))])
            .await
            .unwrap()
            .balances,
        vec![200, 700]
    );
    assert_eq!(ctx.hub.get_stats().await.unwrap().total_balance, 900);
    assert!(ctx.mismatches().await.is_empty());
    ctx.finish().await;
}
on_both_databases!(layout_ledgers_and_hub_inputs_test, layout_ledgers_and_hub_inputs);
