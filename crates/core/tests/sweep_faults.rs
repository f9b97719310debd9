//! Node faults delay sweeps but never corrupt Hub's books (hub-behaviour.md
//! §6.7, §7.1), on SQLite and PostgreSQL against the devnet's fault
//! injection: milestones paused, the node not synced (lagging or stale),
//! half of all requests failing with HTTP 500, broadcasts silently dropped.
//!
//! While a fault lasts, the deposit monitor, the sweeper and the attacher may
//! fail a tick or make no progress, and the read commands must keep
//! answering. No deposit may be credited twice, no withdrawal paid twice, and
//! nothing may be written while the node is not synced. Once the fault
//! clears, everything must converge to what an operator checks: every sweep
//! confirmed, every payout on the Tangle, cached balances equal to the
//! ledgers, and GetStats equal to what Hub's addresses hold on the devnet.
//! Ticks are driven directly (no background services), so each run is
//! deterministic apart from the injected randomness.

mod common;

use std::time::Duration;

use common::*;
use hub_core::attacher::{self, Action, AttachConfig};
use hub_core::monitor::{run_pass, MonitorConfig};
use hub_core::sweeper::{self, SweepConfig};
use hub_core::{AccountReason, HubError, SweepQuery, WithdrawRequest};
use serde_json::json;

const PAYOUT_AMOUNT: u64 = 400;

/// What a test put into Hub, to check the books against at the end.
struct Scenario {
    /// Every deposit made, by user.
    deposits: Vec<(&'static str, u64)>,
    /// The one withdrawal (by `ann`).
    withdrawal: String,
    /// Where it pays.
    payout: String,
    /// The sweep made before any fault (ann's deposit).
    first_sweep: String,
}

fn payout_address() -> String {
    "PAYOUT".to_string() + &"9".repeat(75)
}

/// Funds a fresh deposit address of `user` (created if needed) from the faucet.
async fn deposit(ctx: &Ctx, user: &str, amount: u64) -> String {
    if ctx.hub.get_balance(user).await.is_err() {
        ctx.hub.create_user(user).await.unwrap();
    }
    let address = ctx.hub.get_deposit_address(user, false).await.unwrap();
    ctx.fund(&address, amount).await;
    address
}

/// Hub holds ann's 1 000 in a confirmed Hub address; ann has asked for 400 to
/// be paid out (pending); ben's 250 and cid's 125 are confirmed and credited
/// by the monitor, waiting to be swept.
async fn setup(ctx: &Ctx) -> Scenario {
    let hub = &ctx.hub;
    deposit(ctx, "ann", 1_000).await;
    ctx.milestone().await;
    assert_eq!(run_pass(hub, &MonitorConfig::default()).await.unwrap().credited, 1);
    let first_sweep = sweeper::run_tick(hub, &SweepConfig::default())
        .await
        .unwrap()
        .swept
        .expect("ann's deposit is swept");
    ctx.confirm_all().await;
    let withdrawal = hub
        .user_withdraw(&WithdrawRequest {
            user_id: "ann".into(),
            payout_address: payout_address(),
            amount: PAYOUT_AMOUNT,
            tag: "FAULTS".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    deposit(ctx, "ben", 250).await;
    deposit(ctx, "cid", 125).await;
    ctx.milestone().await;
    assert_eq!(run_pass(hub, &MonitorConfig::default()).await.unwrap().credited, 2);
    assert_eq!(hub.get_balance("ann").await.unwrap().available, 600);
    assert_eq!(hub.get_balance("ben").await.unwrap().pending_deposit, 250);
    Scenario {
        deposits: vec![("ann", 1_000), ("ben", 250), ("cid", 125)],
        withdrawal,
        payout: payout_address(),
        first_sweep,
    }
}

fn users(s: &Scenario) -> Vec<&'static str> {
    let mut users: Vec<_> = s.deposits.iter().map(|(u, _)| *u).collect();
    users.dedup();
    users
}

/// The read commands answer (whatever the node does), and agree with each other.
async fn reads_answer(ctx: &Ctx, s: &Scenario) {
    let hub = &ctx.hub;
    let mut available = 0;
    for user in users(s) {
        available += hub.get_balance(user).await.expect("GetBalance answers").available;
        hub.get_user_history(user, 0).await.expect("GetUserHistory answers");
    }
    let stats = hub.get_stats().await.expect("GetStats answers");
    assert_eq!(stats.total_balance as i64, available, "GetStats is the sum of balances");
    let first = hub
        .sweep_info(&SweepQuery::BundleHash(s.first_sweep.clone()))
        .await
        .expect("SweepInfo answers");
    assert!(first.withdrawal_uuids.is_empty());
    match hub.sweep_info(&SweepQuery::WithdrawalUuid(s.withdrawal.clone())).await {
        Ok(sweep) => assert_eq!(sweep.withdrawal_uuids, vec![s.withdrawal.clone()]),
        Err(HubError::Cancelled(_)) => {} // not swept yet: the documented answer
        Err(e) => panic!("SweepInfo by withdrawal failed: {e:?}"),
    }
}

/// Sweeps not yet confirmed (planned or signed).
async fn unconfirmed_sweeps(ctx: &Ctx) -> usize {
    let mut tx = ctx.hub.store().read().await.unwrap();
    tx.sweeps_in_state(hub_store::SweepState::Planned).await.unwrap().len()
        + tx.sweeps_in_state(hub_store::SweepState::Signed).await.unwrap().len()
}

/// Nothing left to do: no deposit waiting, the withdrawal swept, every sweep confirmed.
async fn settled(ctx: &Ctx, s: &Scenario) -> bool {
    for user in users(s) {
        if ctx.hub.get_balance(user).await.unwrap().pending_deposit != 0 {
            return false;
        }
    }
    ctx.hub
        .sweep_info(&SweepQuery::WithdrawalUuid(s.withdrawal.clone()))
        .await
        .is_ok()
        && unconfirmed_sweeps(ctx).await == 0
}

/// What an operator checks once the node is healthy again.
async fn assert_books(ctx: &Ctx, s: &Scenario) {
    let hub = &ctx.hub;
    let sweeps = hub.sweep_subscription(0).await.unwrap();
    for sweep in &sweeps {
        assert!(
            hub.sweep_detail(&sweep.bundle_hash).await.unwrap().confirmed,
            "sweep {} confirmed",
            sweep.bundle_hash
        );
    }
    assert_eq!(unconfirmed_sweeps(ctx).await, 0);
    // Each deposit credited exactly once, when swept.
    let mut total = 0i64;
    for user in users(s) {
        let mut expected: Vec<i64> = s
            .deposits
            .iter()
            .filter(|(u, _)| *u == user)
            .map(|(_, a)| *a as i64)
            .collect();
        expected.sort();
        let history = hub.get_user_history(user, 0).await.unwrap();
        let mut credited: Vec<i64> = history
            .iter()
            .filter(|e| e.kind == AccountReason::Sweep)
            .map(|e| e.amount)
            .collect();
        credited.sort();
        assert_eq!(credited, expected, "{user}'s deposits, each credited once");
        assert!(
            history
                .iter()
                .filter(|e| e.kind == AccountReason::Sweep)
                .all(|e| sweeps.iter().any(|s| s.bundle_hash == e.sweep_bundle_hash)),
            "credited by a known sweep"
        );
        let withdrawn = if user == "ann" { PAYOUT_AMOUNT as i64 } else { 0 };
        let balance = hub.get_balance(user).await.unwrap();
        assert_eq!(
            (balance.available, balance.pending_deposit),
            (expected.iter().sum::<i64>() - withdrawn, 0),
            "{user}'s balance"
        );
        total += balance.available;
    }
    // The withdrawal reserved once, never given back, paid by exactly one sweep, once.
    let ann = hub.get_user_history("ann", 0).await.unwrap();
    let withdrawals: Vec<_> = ann
        .iter()
        .filter(|e| matches!(e.kind, AccountReason::Withdrawal | AccountReason::WithdrawalCancel))
        .map(|e| (e.kind, e.amount))
        .collect();
    assert_eq!(withdrawals, vec![(AccountReason::Withdrawal, -(PAYOUT_AMOUNT as i64))]);
    let paying: Vec<_> = sweeps
        .iter()
        .filter(|e| e.withdrawal_uuids.contains(&s.withdrawal))
        .collect();
    assert_eq!(paying.len(), 1, "one sweep pays the withdrawal");
    assert_eq!(
        hub.sweep_info(&SweepQuery::WithdrawalUuid(s.withdrawal.clone()))
            .await
            .unwrap()
            .bundle_hash,
        paying[0].bundle_hash
    );
    assert!(!hub.was_withdrawal_cancelled(&s.withdrawal).await.unwrap());
    let paid = ctx.client.get_balances(&[address(&s.payout)]).await.unwrap().balances;
    assert_eq!(
        paid,
        vec![PAYOUT_AMOUNT],
        "the payout address holds the amount, paid once"
    );
    // Cached balances equal the ledgers; what users own equals what Hub holds on the Tangle.
    assert!(ctx.mismatches().await.is_empty(), "{:?}", ctx.mismatches().await);
    let stats = hub.get_stats().await.unwrap().total_balance;
    assert_eq!(stats as i64, total);
    assert_eq!(
        ctx.on_chain_total().await,
        stats,
        "GetStats equals Hub's addresses on the devnet"
    );
}

/// Runs healthy rounds (monitor, sweeper, attacher, milestone) until a
/// monitor pass finds every deposit address agreeing with the node and
/// nothing is left to sweep or confirm.
async fn converge(ctx: &Ctx, s: &Scenario) {
    for _ in 0..10 {
        let pass = run_pass(&ctx.hub, &MonitorConfig::default()).await.unwrap();
        if pass.changed == 0 && settled(ctx, s).await {
            return;
        }
        sweeper::run_tick(&ctx.hub, &SweepConfig::default()).await.unwrap();
        let attached = attacher::run_tick(&ctx.hub, &AttachConfig::default()).await.unwrap();
        for (bundle, outcome) in &attached {
            if let Err(e) = outcome {
                eprintln!("attacher, node healthy again: {bundle}: {e}");
            }
        }
        ctx.milestone().await;
    }
    panic!("Hub did not converge after the fault cleared");
}

async fn milestones_paused(db: Db) {
    let ctx = start_with_milestones(db, 100).await;
    let s = setup(&ctx).await;
    let hub = &ctx.hub;
    ctx.set_faults(json!({ "pauseMilestones": true })).await;
    tokio::time::sleep(Duration::from_millis(300)).await; // a milestone being issued lands
    let paused_at = ctx.client.get_node_info().await.unwrap().latest_milestone_index;

    let second = sweeper::run_tick(hub, &SweepConfig::default())
        .await
        .unwrap()
        .swept
        .expect("the node is synced: the sweep is planned and signed");
    let sweeps_before = ctx.row_counts().await;
    for round in 0..5 {
        let results = attacher::run_tick(hub, &AttachConfig::default()).await.unwrap();
        assert_eq!(results.len(), 1);
        assert_eq!(results[0].0, second);
        let expected = if round == 0 {
            Action::Reattached
        } else {
            Action::Promoted
        };
        assert_eq!(results[0].1, Ok(expected), "round {round}");
        let report = sweeper::run_tick(hub, &SweepConfig::default()).await.unwrap();
        assert_eq!(
            report.swept, None,
            "nothing new to sweep; the withdrawal is not taken again"
        );
        reads_answer(&ctx, &s).await;
        tokio::time::sleep(Duration::from_millis(200)).await; // two coordinator intervals
    }
    assert_eq!(
        ctx.client.get_node_info().await.unwrap().latest_milestone_index,
        paused_at,
        "no milestone while paused"
    );
    let counts = ctx.row_counts().await;
    let sweep_rows = |c: &[(String, i64)]| c.iter().find(|(t, _)| t == "sweep").unwrap().1;
    assert_eq!(sweep_rows(&counts), sweep_rows(&sweeps_before), "no second sweep");
    let detail = hub.sweep_detail(&second).await.unwrap();
    assert!(!detail.confirmed);
    assert_eq!(detail.tail_hashes.len(), 1, "attached once, then promoted");
    let tail = hub_protocol::Hash::from_trytes(&detail.tail_hashes[0]).unwrap();
    assert!(
        ctx.client.get_trytes(&[tail]).await.unwrap()[0].is_some(),
        "the attachment is on the node"
    );
    assert_eq!(
        hub.sweep_info(&SweepQuery::WithdrawalUuid(s.withdrawal.clone()))
            .await
            .unwrap()
            .bundle_hash,
        second
    );
    let payout = address(&s.payout);
    assert_eq!(
        ctx.client.get_balances(&[payout]).await.unwrap().balances,
        vec![0],
        "not paid yet"
    );

    ctx.set_faults(json!({})).await;
    let mut resumed = false;
    for _ in 0..50 {
        if ctx.client.get_node_info().await.unwrap().latest_milestone_index > paused_at {
            resumed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(resumed, "the coordinator resumes");
    let mut confirmed = false;
    for _ in 0..10 {
        let results = attacher::run_tick(hub, &AttachConfig::default()).await.unwrap();
        if results.iter().all(|(_, r)| *r == Ok(Action::Confirmed)) {
            confirmed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    assert!(confirmed, "the sweep confirms once milestones resume");
    assert!(hub.sweep_detail(&second).await.unwrap().confirmed);
    assert_books(&ctx, &s).await;
    ctx.finish().await;
}
on_both_databases!(milestones_paused_test, milestones_paused);

async fn not_synced(db: Db, fault: &str) {
    let ctx = start(db).await;
    let mut s = setup(&ctx).await;
    let hub = &ctx.hub;
    ctx.set_faults(json!({ "notSynced": fault })).await;
    // dan deposits while the node is out of sync; a milestone confirms it.
    deposit(&ctx, "dan", 60).await;
    ctx.milestone().await;
    s.deposits.push(("dan", 60));
    let before = ctx.row_counts().await;
    for _ in 0..3 {
        let report = sweeper::run_tick(hub, &SweepConfig::default()).await.unwrap();
        assert!(report.skipped_not_synced, "{fault}: {report:?}");
        assert_eq!(report.swept, None);
        let pass = run_pass(hub, &MonitorConfig::default()).await.unwrap();
        assert!(pass.skipped_not_synced, "{fault}: {pass:?}");
        reads_answer(&ctx, &s).await;
    }
    assert_eq!(
        ctx.row_counts().await,
        before,
        "{fault}: nothing written while not synced"
    );
    assert_eq!(hub.get_balance("dan").await.unwrap().pending_deposit, 0);
    assert_eq!(hub.get_balance("ben").await.unwrap().pending_deposit, 250);
    assert!(matches!(
        hub.sweep_info(&SweepQuery::WithdrawalUuid(s.withdrawal.clone())).await,
        Err(HubError::Cancelled(_))
    ));

    ctx.set_faults(json!({})).await;
    if fault == "stale" {
        // The latest milestone is still an hour old: not synced until the next one.
        let report = sweeper::run_tick(hub, &SweepConfig::default()).await.unwrap();
        assert!(report.skipped_not_synced, "the hour-old milestone is still the latest");
        assert_eq!(ctx.row_counts().await, before);
        ctx.milestone().await;
    }
    assert_eq!(
        run_pass(hub, &MonitorConfig::default()).await.unwrap().credited,
        1,
        "dan's deposit"
    );
    let report = sweeper::run_tick(hub, &SweepConfig::default()).await.unwrap();
    assert!(!report.skipped_not_synced);
    let swept = report.swept.expect("the sweep happens once the node is synced");
    assert_eq!(
        hub.sweep_info(&SweepQuery::WithdrawalUuid(s.withdrawal.clone()))
            .await
            .unwrap()
            .bundle_hash,
        swept
    );
    ctx.confirm_all().await;
    assert!(settled(&ctx, &s).await);
    assert_books(&ctx, &s).await;
    ctx.finish().await;
}

async fn lagging(db: Db) {
    not_synced(db, "lagging").await
}
on_both_databases!(not_synced_lagging_test, lagging);

async fn stale(db: Db) {
    not_synced(db, "stale").await
}
on_both_databases!(not_synced_stale_test, stale);

/// Runs `rounds` of monitor + sweeper + attacher + milestone (issued in
/// process, past the HTTP faults) while a fault is on; every failure must be
/// reported as the node's, and the read commands must keep answering.
/// Returns how many ticks (or per-sweep attachments) failed.
async fn rounds_under_faults(ctx: &Ctx, s: &Scenario, rounds: usize) -> usize {
    let hub = &ctx.hub;
    let mut failures = 0;
    for _ in 0..rounds {
        match run_pass(hub, &MonitorConfig::default()).await {
            Ok(report) => failures += report.failed,
            Err(e) => {
                assert!(matches!(e, HubError::IotaNodeUnavailable(_)), "monitor: {e:?}");
                failures += 1;
            }
        }
        match sweeper::run_tick(hub, &SweepConfig::default()).await {
            Ok(report) => failures += report.held,
            Err(e) => {
                assert!(matches!(e, HubError::IotaNodeUnavailable(_)), "sweeper: {e:?}");
                failures += 1;
            }
        }
        match attacher::run_tick(hub, &AttachConfig::default()).await {
            Ok(results) => failures += results.iter().filter(|(_, r)| r.is_err()).count(),
            Err(e) => panic!("the attacher reports a node failure per sweep, never for its tick: {e:?}"),
        }
        reads_answer(ctx, s).await;
        ctx.milestone_in_process().await;
    }
    failures
}

async fn failing_requests(db: Db) {
    let ctx = start(db).await;
    let mut s = setup(&ctx).await;
    // dan's deposit is confirmed; the monitor has to credit it through the faults.
    deposit(&ctx, "dan", 60).await;
    ctx.milestone().await;
    s.deposits.push(("dan", 60));
    ctx.set_faults(json!({ "failRate": 0.5 })).await;
    let failures = rounds_under_faults(&ctx, &s, 20).await;
    assert!(failures > 0, "the injected failures reached Hub");
    ctx.set_faults(json!({})).await;
    converge(&ctx, &s).await;
    assert_books(&ctx, &s).await;
    ctx.finish().await;
}
on_both_databases!(failing_requests_test, failing_requests);

async fn dropped_broadcasts(db: Db) {
    let ctx = start(db).await;
    let mut s = setup(&ctx).await;
    deposit(&ctx, "dan", 60).await;
    ctx.milestone().await;
    s.deposits.push(("dan", 60));
    ctx.set_faults(json!({ "dropBroadcasts": true })).await;
    rounds_under_faults(&ctx, &s, 8).await;
    // The node said yes and kept nothing: no sweep since the fault can have confirmed.
    assert!(unconfirmed_sweeps(&ctx).await >= 1, "a sweep was made and is waiting");
    let payout = address(&s.payout);
    assert_eq!(ctx.client.get_balances(&[payout]).await.unwrap().balances, vec![0]);
    ctx.set_faults(json!({})).await;
    converge(&ctx, &s).await;
    assert_books(&ctx, &s).await;
    ctx.finish().await;
}
on_both_databases!(dropped_broadcasts_test, dropped_broadcasts);
