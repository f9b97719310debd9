//! Hub on a node as strict as mainnet IRI 1.8.6 with Compass, on SQLite and
//! PostgreSQL: a sweep the coordinator's walk leaves off confirms through a
//! promotion; one that falls below max depth is reattached and confirms;
//! funds arriving on a swept deposit address and sweeps replayed by
//! someone else (IRI's ledger lets a confirmed bundle confirm again) are
//! reported and credit nothing; a Hub address someone paid is still spent
//! when a withdrawal needs it, what it holds beyond the books moving on,
//! unbooked and reported, to the remainder.

mod common;

use common::*;
use hub_core::attacher::{run_tick, Action, AttachConfig};
use hub_core::monitor::{run_pass, MonitorConfig};
use hub_core::sweeper::{self, SweepConfig};
use hub_core::WithdrawRequest;
use hub_protocol::{Hash, Transaction};

/// A swept, signed, never attached deposit of 1 000 from `user`; its bundle
/// hash and the deposit address.
async fn signed_sweep(ctx: &Ctx, user: &str) -> (String, String) {
    ctx.hub.create_user(user).await.unwrap();
    let deposit = ctx.hub.get_deposit_address(user, false).await.unwrap();
    ctx.fund(&deposit, 1_000).await;
    ctx.milestone().await;
    run_pass(&ctx.hub, &MonitorConfig::default()).await.unwrap();
    let bundle = sweeper::run_tick(&ctx.hub, &SweepConfig::default())
        .await
        .unwrap()
        .swept
        .expect("swept");
    (bundle, deposit)
}

/// A withdrawal of `amount` from `user` to `payout`, swept and confirmed;
/// its sweep's bundle hash.
async fn paid(ctx: &Ctx, user: &str, payout: &str, amount: u64) -> String {
    ctx.hub
        .user_withdraw(&WithdrawRequest {
            user_id: user.into(),
            payout_address: payout.into(),
            amount,
            ..Default::default()
        })
        .await
        .unwrap();
    let bundle = sweeper::run_tick(&ctx.hub, &SweepConfig::default())
        .await
        .unwrap()
        .swept
        .expect("the withdrawal is paid");
    ctx.confirm_all().await;
    bundle
}

/// One attacher tick over the one sweep in flight.
async fn tick(ctx: &Ctx) -> Action {
    let mut results = run_tick(&ctx.hub, &AttachConfig::default()).await.unwrap();
    assert_eq!(results.len(), 1, "{results:?}");
    results.remove(0).1.unwrap()
}

/// A zero-value transaction to an address nobody uses.
fn zero_value() -> Vec<Transaction> {
    let now_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    hub_protocol::bundle::BundleBuilder::new(now_s)
        .unwrap()
        .output(hub_protocol::bundle::Output::new(address(&"Z".repeat(81)), 0))
        .build()
        .unwrap()
        .transactions()
        .to_vec()
}

/// A chain of `n` zero-value transactions on `start`: a sibling heavier
/// than anything approving only `start` with fewer transactions (a
/// three-transaction sweep weighs 3), so the coordinator's walk goes that
/// way.
async fn heavier_sibling(ctx: &Ctx, start: Hash, n: usize) {
    let mut at = start;
    for _ in 0..n {
        let attached = ctx.client.attach_to_tangle(at, at, 9, &zero_value()).await.unwrap();
        ctx.client.store_transactions(&attached).await.unwrap();
        at = attached[0].hash();
    }
}

/// The sweep's recorded tails, oldest first.
async fn tails(ctx: &Ctx, bundle: &str) -> Vec<String> {
    ctx.strings(&format!(
        "SELECT t.hash FROM sweep_tails t JOIN sweep s ON s.id = t.sweep WHERE s.bundle_hash = '{bundle}' ORDER BY t.created_at"
    ))
    .await
}

async fn latest_milestone(ctx: &Ctx) -> Hash {
    ctx.client.get_node_info().await.unwrap().latest_milestone
}

async fn promotion_rescues_a_sweep_off_the_walk(db: Db) {
    let ctx = start(db).await;
    let (bundle, _) = signed_sweep(&ctx, "olga").await;
    // The latest milestone is the only tip: the sweep is attached on it.
    let milestone = latest_milestone(&ctx).await;
    assert_eq!(tick(&ctx).await, Action::Reattached);
    heavier_sibling(&ctx, milestone, 8).await;
    ctx.milestone().await;
    assert_eq!(
        tick(&ctx).await,
        Action::Promoted,
        "left off the walk: promoted, not confirmed"
    );
    ctx.milestone().await;
    assert_eq!(tick(&ctx).await, Action::Confirmed);
    assert_eq!(
        tails(&ctx, &bundle).await.len(),
        1,
        "confirmed through its first attachment"
    );
    assert_eq!(ctx.hub.get_balance("olga").await.unwrap().available, 1_000);
    ctx.finish().await;
}
on_both_databases!(
    a_sweep_off_the_walk_confirms_once_promoted,
    promotion_rescues_a_sweep_off_the_walk
);

async fn reattachment_rescues_a_sweep_below_max_depth(db: Db) {
    let ctx = start(db).await;
    let (bundle, _) = signed_sweep(&ctx, "olga").await;
    let milestone = latest_milestone(&ctx).await;
    assert_eq!(tick(&ctx).await, Action::Reattached);
    heavier_sibling(&ctx, milestone, 8).await;
    // Sixteen milestones later its cone reaches too deep: no promotion can help.
    for _ in 0..16 {
        ctx.milestone().await;
    }
    assert_eq!(
        tick(&ctx).await,
        Action::Reattached,
        "below max depth: a new attachment"
    );
    let recorded = tails(&ctx, &bundle).await;
    assert_eq!(recorded.len(), 2);
    ctx.milestone().await;
    assert_eq!(tick(&ctx).await, Action::Confirmed);
    let confirmed = ctx
        .strings(&format!(
            "SELECT t.hash FROM sweep_tails t JOIN sweep s ON s.id = t.sweep WHERE s.bundle_hash = '{bundle}' AND t.confirmed = 1"
        ))
        .await;
    assert_eq!(confirmed, vec![recorded[1].clone()], "the new attachment confirmed");
    ctx.finish().await;
}
on_both_databases!(
    a_sweep_below_max_depth_confirms_once_reattached,
    reattachment_rescues_a_sweep_below_max_depth
);

/// The stored transactions of a sweep, as anyone may read them from the node.
async fn sweep_bundle(ctx: &Ctx, bundle: &str) -> Vec<Transaction> {
    let stored = ctx
        .strings(&format!("SELECT trytes FROM sweep WHERE bundle_hash = '{bundle}'"))
        .await
        .remove(0);
    (0..stored.len() / 2673)
        .map(|i| Transaction::from_trytes(&stored[i * 2673..(i + 1) * 2673]).unwrap())
        .collect()
}

/// Someone other than Hub attaches `bundle` again on the walk's tips.
async fn replay(ctx: &Ctx, bundle: &str) {
    let transactions = sweep_bundle(ctx, bundle).await;
    let (trunk, branch) = ctx.client.get_transactions_to_approve(3, None).await.unwrap();
    let attached = ctx
        .client
        .attach_to_tangle(trunk, branch, 9, &transactions)
        .await
        .unwrap();
    ctx.client.store_transactions(&attached).await.unwrap();
    ctx.milestone().await;
    let states = ctx.client.get_inclusion_states(&[attached[0].hash()]).await.unwrap();
    assert_eq!(states, vec![true], "the replay confirmed");
}

/// (address, amount) of every event of `kind`, oldest first.
async fn reported(ctx: &Ctx, kind: &str) -> Vec<(String, i64)> {
    ctx.strings(&format!(
        "SELECT address || ' ' || CAST(amount AS VARCHAR(20)) FROM events WHERE kind = '{kind}' ORDER BY id"
    ))
    .await
    .into_iter()
    .map(|row| {
        let (address, amount) = row.split_once(' ').unwrap();
        (address.to_string(), amount.parse().unwrap())
    })
    .collect()
}

async fn late_deposits_and_replays_are_reported(db: Db) {
    let ctx = start(db).await;
    let hub = &ctx.hub;
    let (first, deposit) = signed_sweep(&ctx, "olga").await;
    ctx.confirm_all().await;
    let payout = "W".repeat(80) + "9";
    let second = paid(&ctx, "olga", &payout, 400).await;
    let payout = address(&payout);
    let client = &ctx.client;
    let on_chain = |address| async move { client.get_balances(&[address]).await.unwrap().balances[0] };
    assert_eq!(on_chain(payout).await, 400);
    let books = (hub.get_balance("olga").await.unwrap(), hub.get_stats().await.unwrap());
    let quiet = run_pass(hub, &MonitorConfig::default()).await.unwrap();
    assert_eq!(quiet.unexpected_funds_reported, 0, "nothing unexpected yet");

    // A late deposit to the swept address: reported once, credited never.
    ctx.fund(&deposit, 1_000).await;
    ctx.milestone().await;
    assert_eq!(
        run_pass(hub, &MonitorConfig::default())
            .await
            .unwrap()
            .unexpected_funds_reported,
        1
    );
    assert_eq!(
        run_pass(hub, &MonitorConfig::default())
            .await
            .unwrap()
            .unexpected_funds_reported,
        0
    );
    assert_eq!(reported(&ctx, "deposit_late").await, vec![(deposit.clone(), 1_000)]);

    // It lets anyone replay the first sweep: the late funds move to the
    // first sweep's (already spent) Hub address.
    replay(&ctx, &first).await;
    let first_hub = sweep_bundle(&ctx, &first)
        .await
        .into_iter()
        .find(|t| t.value.get() > 0)
        .unwrap()
        .address;
    assert_eq!(on_chain(first_hub).await, 1_000);
    assert_eq!(
        run_pass(hub, &MonitorConfig::default())
            .await
            .unwrap()
            .unexpected_funds_reported,
        2
    );
    assert_eq!(
        reported(&ctx, "deposit_late").await,
        vec![(deposit.clone(), 1_000), (deposit, 0)]
    );
    assert_eq!(
        reported(&ctx, "hub_unexpected_inbound").await,
        vec![(first_hub.to_string(), 1_000)]
    );

    // Which lets anyone replay the second sweep, paying the withdrawal again.
    // Hub paid it once; the second payment is someone else's, and reported.
    replay(&ctx, &second).await;
    assert_eq!(on_chain(payout).await, 800);
    assert_eq!(
        run_pass(hub, &MonitorConfig::default())
            .await
            .unwrap()
            .unexpected_funds_reported,
        2
    );
    let remainder = sweep_bundle(&ctx, &second)
        .await
        .into_iter()
        .find(|t| t.value.get() > 0 && t.address != payout)
        .unwrap()
        .address;
    assert_eq!(
        reported(&ctx, "hub_unexpected_inbound").await,
        vec![
            (first_hub.to_string(), 1_000),
            (first_hub.to_string(), 0),
            (remainder.to_string(), 600)
        ]
    );
    assert!(
        sweeper::run_tick(hub, &SweepConfig::default())
            .await
            .unwrap()
            .swept
            .is_none(),
        "nothing new to sweep"
    );
    assert_eq!(
        (hub.get_balance("olga").await.unwrap(), hub.get_stats().await.unwrap()),
        books,
        "nothing credited"
    );
    assert_eq!(
        ctx.strings("SELECT bundle_hash FROM sweep").await.len(),
        2,
        "Hub signed no new bundle"
    );
    assert!(ctx.mismatches().await.is_empty());
    ctx.finish().await;
}
on_both_databases!(
    a_late_deposit_and_replayed_sweeps_are_reported_and_credit_nothing,
    late_deposits_and_replays_are_reported
);

/// The Hub address a confirmed sweep paid its remainder to.
async fn remainder_of(ctx: &Ctx, bundle: &str) -> String {
    ctx.strings(&format!(
        "SELECT h.address FROM hub_address h JOIN sweep s ON s.into_hub_address = h.id WHERE s.bundle_hash = '{bundle}'"
    ))
    .await
    .remove(0)
}

async fn a_paid_hub_address_is_spent_and_the_surplus_reported(db: Db) {
    let ctx = start(db).await;
    let hub = &ctx.hub;
    let (first, _) = signed_sweep(&ctx, "pia").await;
    ctx.confirm_all().await;
    let first_hub = remainder_of(&ctx, &first).await;
    // Someone pays 7 to the Hub address holding pia's 1 000.
    ctx.fund(&first_hub, 7).await;
    ctx.milestone().await;
    run_pass(hub, &MonitorConfig::default()).await.unwrap();
    assert_eq!(
        reported(&ctx, "hub_unexpected_inbound").await,
        vec![(first_hub.clone(), 7)]
    );

    // A withdrawal needs that address: it is spent whole, not frozen.
    let payout = "P".repeat(80) + "9";
    let second = paid(&ctx, "pia", &payout, 400).await;
    run_pass(hub, &MonitorConfig::default()).await.unwrap();
    let second_hub = remainder_of(&ctx, &second).await;
    let on_chain = |trytes: String| {
        let client = ctx.client.clone();
        async move { client.get_balances(&[address(&trytes)]).await.unwrap().balances[0] }
    };
    assert_eq!(on_chain(payout).await, 400);
    assert_eq!(on_chain(first_hub.clone()).await, 0);
    assert_eq!(
        on_chain(second_hub.clone()).await,
        607,
        "the surplus moved on with the remainder"
    );
    assert_eq!(
        hub.get_stats().await.unwrap().total_balance,
        600,
        "and was never booked"
    );
    assert_eq!(hub.get_balance("pia").await.unwrap().available, 600);
    assert_eq!(
        reported(&ctx, "hub_unexpected_inbound").await,
        vec![(first_hub.clone(), 7), (first_hub, 0), (second_hub, 7)],
        "reported where it now is, and cleared where it was"
    );
    assert!(ctx.mismatches().await.is_empty());
    ctx.finish().await;
}
on_both_databases!(
    a_paid_hub_address_is_spent_test,
    a_paid_hub_address_is_spent_and_the_surplus_reported
);
