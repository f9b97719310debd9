//! The attacher's policy on SQLite and PostgreSQL with the devnet
//! (hub-behaviour.md §7, §13 H): first attachment, promotion of a young
//! consistent tail (one zero-value transaction on the promotion address
//! whose trunk is the tail, no tail recorded), no second copy broadcast on
//! tips that already approve the first, confirmation through any tail (ours
//! or a third party's) with no balance change, never attached again once
//! confirmed; remote proof of work through the node's attachToTangle.

mod common;

use common::*;
use hub_core::attacher::{run_tick, Action, AttachConfig, PowMode};
use hub_core::monitor::{run_pass, MonitorConfig};
use hub_core::sweeper::{self, SweepConfig};
use hub_protocol::validate::{validate, Options};

/// A signed, never attached sweep of one deposit; its bundle hash.
async fn signed_sweep(ctx: &Ctx) -> String {
    ctx.hub.create_user("olga").await.unwrap();
    let deposit = ctx.hub.get_deposit_address("olga", false).await.unwrap();
    ctx.fund(&deposit, 1_000).await;
    ctx.milestone().await;
    run_pass(&ctx.hub, &MonitorConfig::default()).await.unwrap();
    sweeper::run_tick(&ctx.hub, &SweepConfig::default())
        .await
        .unwrap()
        .swept
        .expect("swept")
}

fn actions(results: Vec<(String, Result<Action, hub_core::HubError>)>) -> Vec<(String, Action)> {
    results.into_iter().map(|(hash, r)| (hash, r.unwrap())).collect()
}

async fn tails(ctx: &Ctx, bundle: &str) -> Vec<String> {
    ctx.strings(&format!(
        "SELECT t.hash FROM sweep_tails t JOIN sweep s ON s.id = t.sweep WHERE s.bundle_hash = '{bundle}' ORDER BY t.created_at"
    ))
    .await
}

async fn promote_then_reattach_then_confirm(db: Db) {
    let ctx = start(db).await;
    let bundle = signed_sweep(&ctx).await;
    let config = AttachConfig::default();

    // First tick: attached with local proof of work, tail recorded.
    assert_eq!(
        actions(run_tick(&ctx.hub, &config).await.unwrap()),
        vec![(bundle.clone(), Action::Reattached)]
    );
    let first = tails(&ctx, &bundle).await;
    assert_eq!(first.len(), 1);
    let attached = ctx.bundle_of(hub_protocol::Hash::from_trytes(&first[0]).unwrap()).await;
    let report = validate(
        &attached,
        &Options {
            min_weight_magnitude: Some(config.mwm),
        },
    );
    assert!(report.is_valid(), "{:?}", report.violations);

    // Young and consistent: promoted, on top of the tail, no new tail.
    assert_eq!(
        actions(run_tick(&ctx.hub, &config).await.unwrap()),
        vec![(bundle.clone(), Action::Promoted)]
    );
    assert_eq!(tails(&ctx, &bundle).await, first);
    let promotion_address = address(&format!("{:9<81}", "SOME9RANDOM9HUB9BEING9REATTACHED"));
    let promotions = ctx
        .client
        .find_transactions(&hub_node::FindQuery {
            addresses: vec![promotion_address],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(promotions.len(), 1, "exactly one promotion transaction");
    let promotion = ctx.client.get_trytes(&promotions).await.unwrap()[0].clone().unwrap();
    assert_eq!(promotion.value.get(), 0);
    assert_eq!(promotion.trunk.as_str(), first[0], "promotes the tail");

    // Old, but the tips approve the first attachment (through the promotion):
    // a second copy there would spend the inputs twice, so the node judges
    // it inconsistent and it is neither broadcast nor recorded.
    let old = AttachConfig {
        max_promotion_age_ms: 0,
        ..config
    };
    let results = run_tick(&ctx.hub, &old).await.unwrap();
    let Err(hub_core::HubError::Internal(refused)) = &results[0].1 else {
        panic!("{results:?}");
    };
    assert_eq!(refused.cause, hub_core::Cause::Concurrent);
    assert!(refused.detail.contains("would be inconsistent"), "{refused:?}");
    assert_eq!(tails(&ctx, &bundle).await, first, "no copy recorded");

    // Confirmation marks exactly one tail and moves no balance.
    let before = (
        ctx.row_counts().await,
        ctx.hub.get_stats().await.unwrap(),
        ctx.hub.get_balance("olga").await.unwrap(),
    );
    ctx.milestone().await;
    assert_eq!(
        actions(run_tick(&ctx.hub, &config).await.unwrap()),
        vec![(bundle.clone(), Action::Confirmed)]
    );
    let confirmed = ctx
        .strings(&format!(
            "SELECT t.hash FROM sweep_tails t JOIN sweep s ON s.id = t.sweep WHERE s.bundle_hash = '{bundle}' AND t.confirmed = 1"
        ))
        .await;
    assert_eq!(confirmed.len(), 1);
    let after = (
        ctx.row_counts().await,
        ctx.hub.get_stats().await.unwrap(),
        ctx.hub.get_balance("olga").await.unwrap(),
    );
    let events = |counts: &Vec<(String, i64)>| counts.iter().find(|(t, _)| t == "events").unwrap().1;
    let confirmed_events = ctx
        .strings("SELECT kind FROM events WHERE kind = 'sweep_confirmed'")
        .await;
    assert_eq!(confirmed_events.len(), 1, "one sweep_confirmed event");
    assert!(events(&after.0) > events(&before.0));
    let ledgers = |counts: &Vec<(String, i64)>| {
        counts
            .iter()
            .filter(|(t, _)| t.ends_with("_balance"))
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ledgers(&after.0),
        ledgers(&before.0),
        "confirmation writes no ledger row"
    );
    assert_eq!((after.1, after.2), (before.1, before.2));

    // Confirmed sweeps are never attached or promoted again.
    ctx.milestone().await;
    assert!(run_tick(&ctx.hub, &old).await.unwrap().is_empty());
    assert_eq!(tails(&ctx, &bundle).await, first, "no attachment after confirmation");
    ctx.finish().await;
}
on_both_databases!(promote_reattach_confirm, promote_then_reattach_then_confirm);

async fn remote_proof_of_work(db: Db) {
    let ctx = start(db).await;
    let bundle = signed_sweep(&ctx).await;
    let config = AttachConfig {
        pow: PowMode::Remote,
        ..AttachConfig::default()
    };
    assert_eq!(
        actions(run_tick(&ctx.hub, &config).await.unwrap()),
        vec![(bundle.clone(), Action::Reattached)]
    );
    let tail = tails(&ctx, &bundle).await.remove(0);
    let attached = ctx.bundle_of(hub_protocol::Hash::from_trytes(&tail).unwrap()).await;
    assert_eq!(attached.len(), 3);
    assert!(attached.iter().all(|t| t.bundle.as_str() == bundle));
    assert!(validate(&attached, &Options::default()).is_valid());
    ctx.milestone().await;
    assert_eq!(
        actions(run_tick(&ctx.hub, &config).await.unwrap()),
        vec![(bundle, Action::Confirmed)]
    );
    ctx.finish().await;
}
on_both_databases!(remote_pow_through_attach_to_tangle, remote_proof_of_work);

async fn third_party_reattachment(db: Db) {
    let ctx = start(db).await;
    let bundle = signed_sweep(&ctx).await;
    // Someone else attaches the signed bundle (it is public once broadcast) and it confirms.
    let stored = ctx
        .strings(&format!("SELECT trytes FROM sweep WHERE bundle_hash = '{bundle}'"))
        .await
        .remove(0);
    let transactions: Vec<_> = (0..stored.len() / 2673)
        .map(|i| hub_protocol::Transaction::from_trytes(&stored[i * 2673..(i + 1) * 2673]).unwrap())
        .collect();
    let theirs = ctx.attach_on_milestone(&transactions).await;
    ctx.milestone().await;
    assert_eq!(
        actions(run_tick(&ctx.hub, &AttachConfig::default()).await.unwrap()),
        vec![(bundle.clone(), Action::Confirmed)],
        "seen through their tail; Hub never attached it"
    );
    assert_eq!(tails(&ctx, &bundle).await, vec![theirs[0].hash().to_string()]);
    ctx.finish().await;
}
on_both_databases!(third_party_reattachment_confirms, third_party_reattachment);
