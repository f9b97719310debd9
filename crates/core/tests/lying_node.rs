//! A node that lies, on SQLite and PostgreSQL: a proxy in front of the
//! devnet invents a confirmed deposit (a balance, a bundle whose signature
//! is not valid, inclusion true), serves trytes that do not hash to what
//! was asked, and calls a forged copy of a sweep confirmed. Nothing is
//! credited, nothing is marked confirmed, an alert is recorded once per
//! lie, and the honest deposit beside the lie is credited as usual. With
//! two nodes and a quorum of two, a lying node that calls a real but
//! unconfirmed deposit confirmed changes nothing; one that calls a payout
//! address spent is believed (spent is the safe side).

mod common;

use std::sync::Arc;

use common::*;
use hub_core::attacher::{self, Action, AttachConfig};
use hub_core::monitor::{run_pass, MonitorConfig};
use hub_core::sweeper::{self, SweepConfig};
use hub_core::{Hub, SystemClock};
use hub_devnet::liar::{self, LyingNode};
use hub_node::{Client, ClientConfig};
use hub_protocol::{Address, Hash, Transaction};
use hub_store::{EventKind, SweepState};

/// A Hub over the test's database that reaches the devnet only through a
/// lying proxy, and the proxy.
async fn behind_a_liar(ctx: &Ctx) -> (Hub, LyingNode) {
    let liar = LyingNode::start(ctx.devnet.url()).await.unwrap();
    let client = Client::new(ClientConfig {
        retries: 0,
        ..ClientConfig::new(liar.url())
    })
    .unwrap();
    let hub = Hub::new(ctx.hub.store().clone(), client, provider(), Arc::new(SystemClock));
    (hub, liar)
}

/// A value bundle to `to` that nobody signed, on the devnet's latest milestone.
async fn unsigned_payment(ctx: &Ctx, to: Address, amount: u64) -> Vec<Transaction> {
    let milestone = ctx.client.get_node_info().await.unwrap().latest_milestone;
    liar::unsigned_payment(to, amount, milestone).unwrap()
}

async fn rejected(hub: &Hub) -> Vec<String> {
    let mut read = hub.store().read().await.unwrap();
    read.events_of_kind(EventKind::NodeAnswerRejected)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|e| e.reference)
        .collect()
}

async fn an_invented_deposit_is_never_credited(db: Db) {
    let ctx = start(db).await;
    let (hub, liar) = behind_a_liar(&ctx).await;
    hub.create_user("ivan").await.unwrap();
    let target = address(&hub.get_deposit_address("ivan", false).await.unwrap());
    hub.create_user("hana").await.unwrap();
    let honest = hub.get_deposit_address("hana", false).await.unwrap();

    // A confirmed deposit of 5 000 on the node's word, with a bundle that
    // does not validate; and an honest deposit of 300 beside it.
    let forged = unsigned_payment(&ctx, target, 5_000).await;
    {
        let mut lies = liar.lies();
        lies.balance.insert(target, 5_000);
        lies.included.insert(forged[0].hash());
        lies.invented = forged.clone();
    }
    ctx.fund(&honest, 300).await;
    ctx.milestone().await;
    let report = run_pass(&hub, &MonitorConfig::default()).await.unwrap();
    assert_eq!((report.credited, report.rejected), (1, 1), "{report:?}");
    assert_eq!(hub.get_balance("ivan").await.unwrap().pending_deposit, 0);
    assert_eq!(hub.get_balance("hana").await.unwrap().pending_deposit, 300);
    assert_eq!(rejected(&hub).await, vec![forged[0].hash().to_string()]);
    let report = run_pass(&hub, &MonitorConfig::default()).await.unwrap();
    assert_eq!((report.credited, report.rejected), (0, 1));
    assert_eq!(rejected(&hub).await.len(), 1, "one alert per lie, not one per pass");

    // Trytes that are not the transaction asked for fail the page: nothing credited.
    liar.lies().trytes.insert(forged[0].hash(), forged[1].to_trytes());
    let report = run_pass(&hub, &MonitorConfig::default()).await.unwrap();
    assert_eq!((report.credited, report.failed), (0, 1), "{report:?}");
    assert_eq!(hub.get_balance("ivan").await.unwrap().pending_deposit, 0);

    // The honest flow still works: hana's deposit is swept.
    liar.lies().balance.clear();
    let report = sweeper::run_tick(&hub, &SweepConfig::default()).await.unwrap();
    assert!(report.swept.is_some(), "{report:?}");
    assert_eq!(hub.get_balance("hana").await.unwrap().available, 300);
    ctx.finish().await;
}
on_both_databases!(
    an_invented_deposit_is_never_credited_test,
    an_invented_deposit_is_never_credited
);

async fn a_forged_copy_of_a_sweep_never_confirms_it(db: Db) {
    let ctx = start(db).await;
    let (hub, liar) = behind_a_liar(&ctx).await;
    hub.create_user("olga").await.unwrap();
    let deposit = hub.get_deposit_address("olga", false).await.unwrap();
    ctx.fund(&deposit, 1_000).await;
    ctx.milestone().await;
    run_pass(&hub, &MonitorConfig::default()).await.unwrap();
    let bundle = sweeper::run_tick(&hub, &SweepConfig::default())
        .await
        .unwrap()
        .swept
        .unwrap();
    let results = attacher::run_tick(&hub, &AttachConfig::default()).await.unwrap();
    assert!(matches!(results[..], [(_, Ok(Action::Reattached))]), "{results:?}");

    // Someone stores a copy under the sweep's bundle hash whose first
    // signature fragment is not the sweep's, and the node calls it confirmed.
    let mut read = hub.store().read().await.unwrap();
    let sweep = read.sweeps_in_state(SweepState::Signed).await.unwrap().remove(0);
    drop(read);
    let mut copy = hub_core::sweep::sweep_transactions(&sweep).unwrap();
    copy[0].signature_message_fragment = hub_protocol::Fragment::from_trytes(&"F".repeat(2187)).unwrap();
    let forged = ctx.attach_on_milestone(&copy).await;
    liar.lies().included.insert(forged[0].hash());

    let results = attacher::run_tick(&hub, &AttachConfig::default()).await.unwrap();
    assert!(
        !matches!(results[..], [(_, Ok(Action::Confirmed))]),
        "a forgery must not confirm the sweep: {results:?}"
    );
    let mut read = hub.store().read().await.unwrap();
    assert_eq!(read.sweeps_in_state(SweepState::Signed).await.unwrap().len(), 1);
    let tails: Vec<Hash> = read
        .sweep_tails(sweep.id)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.hash)
        .collect();
    drop(read);
    assert!(
        !tails.contains(&forged[0].hash()),
        "the forgery is not recorded as the sweep's"
    );
    assert_eq!(rejected(&hub).await, vec![forged[0].hash().to_string()]);

    // The sweep's own attachment still confirms it.
    ctx.milestone().await;
    ctx.confirm_all().await;
    let mut read = hub.store().read().await.unwrap();
    let confirmed = read.sweeps_in_state(SweepState::Confirmed).await.unwrap();
    assert_eq!(confirmed[0].bundle_hash.to_string(), bundle);
    drop(read);
    ctx.finish().await;
}
on_both_databases!(
    a_forged_copy_of_a_sweep_never_confirms_it_test,
    a_forged_copy_of_a_sweep_never_confirms_it
);

async fn one_lying_node_of_two_changes_nothing(db: Db) {
    let ctx = start(db).await;
    let liar = LyingNode::start(ctx.devnet.url()).await.unwrap();
    let client = Client::new(ClientConfig {
        retries: 0,
        ..ClientConfig::for_endpoints(vec![liar.url().to_string(), ctx.devnet.url().to_string()])
    })
    .unwrap();
    let hub = Hub::new(ctx.hub.store().clone(), client, provider(), Arc::new(SystemClock)).with_node_quorum(2);
    hub.create_user("vera").await.unwrap();
    let deposit = address(&hub.get_deposit_address("vera", false).await.unwrap());

    // A real, valid deposit that no milestone has confirmed yet: the liar
    // (asked first) calls it confirmed and shows its balance.
    let tail = ctx.fund(deposit.as_str(), 800).await;
    {
        let mut lies = liar.lies();
        lies.balance.insert(deposit, 800);
        lies.included.insert(tail);
    }
    let report = run_pass(&hub, &MonitorConfig::default()).await.unwrap();
    assert_eq!((report.credited, report.deferred), (0, 1), "{report:?}");
    assert_eq!(hub.get_balance("vera").await.unwrap().pending_deposit, 0);

    // Once a milestone confirms it, both nodes agree. (Balances come from
    // one node, the first synced: a liar inflating one keeps that address
    // waiting, never credited; here it stops.)
    liar.lies().balance.clear();
    ctx.milestone().await;
    let report = run_pass(&hub, &MonitorConfig::default()).await.unwrap();
    assert_eq!(report.credited, 1, "{report:?}");
    assert_eq!(hub.get_balance("vera").await.unwrap().pending_deposit, 800);
    ctx.finish().await;
}
on_both_databases!(
    one_lying_node_of_two_changes_nothing_test,
    one_lying_node_of_two_changes_nothing
);

async fn a_payout_address_any_node_calls_spent_is_refused(db: Db) {
    let ctx = start(db).await;
    let liar = LyingNode::start(ctx.devnet.url()).await.unwrap();
    let client = Client::new(ClientConfig {
        retries: 0,
        ..ClientConfig::for_endpoints(vec![ctx.devnet.url().to_string(), liar.url().to_string()])
    })
    .unwrap();
    let hub = Hub::new(ctx.hub.store().clone(), client, provider(), Arc::new(SystemClock));
    hub.create_user("wes").await.unwrap();
    let deposit = hub.get_deposit_address("wes", false).await.unwrap();
    ctx.fund(&deposit, 100).await;
    ctx.milestone().await;
    run_pass(&hub, &MonitorConfig::default()).await.unwrap();
    sweeper::run_tick(&hub, &SweepConfig::default()).await.unwrap();
    assert_eq!(hub.get_balance("wes").await.unwrap().available, 100);
    let payout = "S".repeat(80) + "9";
    liar.lies().spent.insert(address(&payout));
    let request = hub_core::WithdrawRequest {
        user_id: "wes".into(),
        payout_address: payout.clone(),
        amount: 10,
        ..Default::default()
    };
    let err = hub.user_withdraw(&request).await.unwrap_err();
    assert!(matches!(err, hub_core::HubError::AddressWasSpent), "{err:?}");
    assert!(hub.was_address_spent_from(&payout, false).await.unwrap());
    assert_eq!(hub.get_balance("wes").await.unwrap().available, 100, "nothing reserved");
    // The honest node alone does not call it spent.
    ctx.hub.user_withdraw(&request).await.unwrap();
    ctx.finish().await;
}
on_both_databases!(
    a_payout_address_any_node_calls_spent_is_refused_test,
    a_payout_address_any_node_calls_spent_is_refused
);
