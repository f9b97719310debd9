//! One stuck thing never freezes the rest, on SQLite and PostgreSQL with
//! the devnet: a sweep its signer refuses to sign stays planned while the
//! next deposit and withdrawal are swept and paid, and abandoning it gives
//! back its withdrawal, deposit and input to the next sweep, which pays
//! them with the books equal to the chain; an address spammed with
//! zero-value transactions does not hold up crediting another; a service
//! whose tick panics raises an alert and goes on ticking.

mod common;

use common::*;
use hub_core::monitor::{run_pass, MonitorConfig};
use hub_core::sweeper::{self, SweepConfig};
use hub_core::{AbandonError, SweepQuery, WithdrawRequest};
use hub_protocol::bundle::{BundleBuilder, Output};
use hub_protocol::Hash;
use hub_store::{EventKind, SweepState};

fn withdrawal(user: &str, amount: u64) -> WithdrawRequest {
    WithdrawRequest {
        user_id: user.into(),
        payout_address: "P".repeat(80) + "9",
        amount,
        validate_checksum: false,
        tag: String::new(),
        idempotency_key: None,
    }
}

async fn a_sweep_that_cannot_be_signed_holds_up_nothing(db: Db) {
    let ctx = start(db).await;
    let hub = ctx.refusing_first_bundle();
    hub.create_user("stuck").await.unwrap();
    let first = hub.get_deposit_address("stuck", false).await.unwrap();
    ctx.fund(&first, 1_000).await;
    ctx.milestone().await;
    run_pass(&hub, &MonitorConfig::default()).await.unwrap();
    let report = sweeper::run_tick(&hub, &SweepConfig::default()).await.unwrap();
    assert_eq!((report.swept.as_deref(), report.held), (None, 1), "{report:?}");

    // The next deposit and a withdrawal are swept and paid meanwhile.
    hub.create_user("next").await.unwrap();
    let second = hub.get_deposit_address("next", false).await.unwrap();
    ctx.fund(&second, 700).await;
    ctx.milestone().await;
    run_pass(&hub, &MonitorConfig::default()).await.unwrap();
    let withdrawal = hub.user_withdraw(&withdrawal("stuck", 400)).await.unwrap();
    let report = sweeper::run_tick(&hub, &SweepConfig::default()).await.unwrap();
    assert_eq!(report.held, 1, "the first is still held: {report:?}");
    let paid = report.swept.expect("the next sweep is signed");
    let mut read = hub.store().read().await.unwrap();
    assert_eq!(read.sweeps_in_state(SweepState::Planned).await.unwrap().len(), 1);
    let signed = read.sweeps_in_state(SweepState::Signed).await.unwrap();
    assert_eq!(signed.len(), 1);
    assert_eq!(signed[0].bundle_hash.to_string(), paid);
    assert_eq!(
        read.sweep_withdrawal_uuids(signed[0].id).await.unwrap(),
        vec![withdrawal]
    );
    drop(read);
    ctx.finish().await;
}
on_both_databases!(
    a_sweep_that_cannot_be_signed_holds_up_nothing_test,
    a_sweep_that_cannot_be_signed_holds_up_nothing
);

async fn an_abandoned_sweep_gives_back_what_it_held(db: Db) {
    // A confirmed Hub address to spend, through the ordinary signer.
    let ctx = start(db).await;
    ctx.hub.create_user("rich").await.unwrap();
    let rich = ctx.hub.get_deposit_address("rich", false).await.unwrap();
    ctx.fund(&rich, 5_000).await;
    ctx.milestone().await;
    run_pass(&ctx.hub, &MonitorConfig::default()).await.unwrap();
    sweeper::run_tick(&ctx.hub, &SweepConfig::default()).await.unwrap();
    ctx.confirm_all().await;

    // A sweep holding a withdrawal, a deposit and (the deposit is short of the
    // withdrawal) that Hub input, which its signer refuses.
    let hub = ctx.refusing_first_bundle();
    let uuid = hub.user_withdraw(&withdrawal("rich", 1_000)).await.unwrap();
    hub.create_user("late").await.unwrap();
    let late = hub.get_deposit_address("late", false).await.unwrap();
    ctx.fund(&late, 700).await;
    ctx.milestone().await;
    run_pass(&hub, &MonitorConfig::default()).await.unwrap();
    let report = sweeper::run_tick(&hub, &SweepConfig::default()).await.unwrap();
    assert_eq!((report.swept.as_deref(), report.held), (None, 1), "{report:?}");
    let stuck = hub.unconfirmed_sweeps().await.unwrap().remove(0);
    assert_eq!(stuck.state, SweepState::Planned);
    let report = sweeper::run_tick(&hub, &SweepConfig::default()).await.unwrap();
    assert_eq!(
        (report.swept.as_deref(), report.held),
        (None, 1),
        "nothing else to sweep: {report:?}"
    );

    let abandoned = hub.abandon_sweep(&stuck.bundle_hash).await.unwrap();
    assert_eq!(abandoned.withdrawals, vec![uuid.clone()]);
    assert_eq!(
        abandoned.deposits,
        vec![(address(&late), hub_protocol::Amount::new(700).unwrap())]
    );
    assert_eq!(abandoned.hub_inputs, 1);
    assert!(hub.unconfirmed_sweeps().await.unwrap().is_empty());
    assert!(
        hub.sweep_info(&SweepQuery::WithdrawalUuid(uuid.clone())).await.is_err(),
        "the withdrawal waits for a sweep again"
    );
    assert_eq!(
        hub.get_balance("late").await.unwrap().available,
        700,
        "its owner keeps the credit"
    );
    assert_eq!(hub.get_balance("rich").await.unwrap().available, 4_000);
    assert!(ctx.mismatches().await.is_empty(), "{:?}", ctx.mismatches().await);
    match hub.abandon_sweep(&stuck.bundle_hash).await {
        Err(AbandonError::NotPlanned { state: "abandoned", .. }) => {}
        other => panic!("abandoned twice: {other:?}"),
    }

    // The next sweep pays the withdrawal from what was given back, and the books equal the chain.
    let report = sweeper::run_tick(&hub, &SweepConfig::default()).await.unwrap();
    let paid = report.swept.expect("the next sweep is signed");
    let sweep = hub.sweep_info(&SweepQuery::WithdrawalUuid(uuid)).await.unwrap();
    assert_eq!(sweep.bundle_hash, paid);
    match hub.abandon_sweep(&Hash::from_trytes(&paid).unwrap()).await {
        Err(AbandonError::NotPlanned { state: "signed", .. }) => {}
        other => panic!("a signed sweep abandoned: {other:?}"),
    }
    ctx.confirm_all().await;
    assert_eq!(ctx.on_chain_total().await, hub.get_stats().await.unwrap().total_balance);
    assert_eq!(ctx.on_chain_total().await, 4_700);
    assert!(ctx.mismatches().await.is_empty());
    ctx.finish().await;
}
on_both_databases!(
    an_abandoned_sweep_gives_back_what_it_held_test,
    an_abandoned_sweep_gives_back_what_it_held
);

async fn spam_on_one_address_does_not_delay_another(db: Db) {
    let ctx = start(db).await;
    ctx.hub.create_user("spammed").await.unwrap();
    let spammed = address(&ctx.hub.get_deposit_address("spammed", false).await.unwrap());
    ctx.hub.create_user("quiet").await.unwrap();
    let quiet = ctx.hub.get_deposit_address("quiet", false).await.unwrap();
    let now_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for _ in 0..30 {
        let spam = BundleBuilder::new(now_s)
            .unwrap()
            .output(Output::new(spammed, 0))
            .build()
            .unwrap();
        ctx.attach_on_milestone(spam.transactions()).await;
    }
    ctx.fund(spammed.as_str(), 50).await;
    ctx.fund(&quiet, 60).await;
    ctx.milestone().await;
    let report = run_pass(&ctx.hub, &MonitorConfig::default()).await.unwrap();
    assert_eq!(
        (report.credited, report.deferred, report.failed),
        (2, 0, 0),
        "{report:?}"
    );
    assert_eq!(ctx.hub.get_balance("quiet").await.unwrap().pending_deposit, 60);
    assert_eq!(ctx.hub.get_balance("spammed").await.unwrap().pending_deposit, 50);
    ctx.finish().await;
}
on_both_databases!(
    spam_on_one_address_does_not_delay_another_test,
    spam_on_one_address_does_not_delay_another
);

async fn a_panicking_tick_raises_an_alert_and_the_service_goes_on(db: Db) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let ctx = start(db).await;
    let ticks = Arc::new(AtomicUsize::new(0));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let counted = ticks.clone();
    let service = tokio::spawn(hub_core::services::every(
        ctx.hub.clone(),
        "flaky",
        5,
        stopped,
        move || {
            let tick = counted.fetch_add(1, Ordering::SeqCst);
            async move { assert_ne!(tick, 0, "the first tick panics") }
        },
    ));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while ticks.load(Ordering::SeqCst) < 3 {
        assert!(std::time::Instant::now() < deadline, "the service stopped ticking");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    stop.send(true).unwrap();
    service.await.unwrap();
    let mut read = ctx.hub.store().read().await.unwrap();
    let alerts = read.events_of_kind(EventKind::ServicePanicked).await.unwrap();
    drop(read);
    assert_eq!(alerts.len(), 1, "one alert for the one panic");
    assert_eq!(alerts[0].reference.as_deref(), Some("flaky"));
    ctx.finish().await;
}
on_both_databases!(
    a_panicking_tick_raises_an_alert_test,
    a_panicking_tick_raises_an_alert_and_the_service_goes_on
);
