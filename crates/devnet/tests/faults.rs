//! Fault injection, switched at run time over the admin command: faults
//! of the transport, and faults that change what the API answers as a real
//! node in that state would (a solid milestone behind, a pruning snapshot).

mod common;

use std::time::{Duration, Instant};

use common::*;
use hub_node::{Client, ClientConfig, FindQuery, NodeError};
use serde_json::{json, Value};

/// IRI's refusal while the node is not synchronised.
const INVALID_SUBTANGLE: &str = "This operation cannot be executed: The subtangle has not been updated yet.";

#[tokio::test]
async fn paused_milestones_stop_the_coordinator_but_not_on_demand_ones() {
    let net = start_with(hub_devnet::DevnetConfig {
        milestone_interval_ms: 50,
        ..config()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        net.client.get_node_info().await.unwrap().latest_milestone_index > 2,
        "the coordinator ticks"
    );
    net.admin("setFaults", json!({ "pauseMilestones": true }))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let paused_at = net.client.get_node_info().await.unwrap().latest_milestone_index;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        net.client.get_node_info().await.unwrap().latest_milestone_index,
        paused_at
    );
    assert_eq!(net.milestone().await, paused_at + 1, "on-demand milestones still work");
    net.admin("setFaults", json!({})).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(net.client.get_node_info().await.unwrap().latest_milestone_index > paused_at + 2);
    net.devnet.stop().await;
}

#[tokio::test]
async fn not_synced_lagging_and_stale() {
    let net = start().await;
    net.milestone().await;
    net.admin("setFaults", json!({ "notSynced": "lagging" })).await.unwrap();
    let info = net.client.get_node_info().await.unwrap();
    assert_eq!(info.latest_solid_milestone_index + 1, info.latest_milestone_index);
    assert_ne!(info.latest_solid_milestone, info.latest_milestone);

    net.admin("setFaults", json!({ "notSynced": "stale" })).await.unwrap();
    let info = net.client.get_node_info().await.unwrap();
    assert_eq!(info.latest_solid_milestone_index, info.latest_milestone_index);
    let milestone = net.client.get_trytes(&[info.latest_milestone]).await.unwrap()[0]
        .clone()
        .unwrap();
    assert!(
        (milestone.timestamp.get() as u64) < now_s() - 300,
        "a stale milestone is older than 5 minutes"
    );
    let faults = net.admin("getFaults", json!({})).await.unwrap();
    assert_eq!(faults["notSynced"], "stale");
    net.admin("setFaults", json!({})).await.unwrap();
    net.milestone().await;
    let info = net.client.get_node_info().await.unwrap();
    let milestone = net.client.get_trytes(&[info.latest_milestone]).await.unwrap()[0]
        .clone()
        .unwrap();
    assert!(milestone.timestamp.get() as u64 >= now_s() - 5);
    assert!(net
        .admin("setFaults", json!({ "notSynced": "sometimes" }))
        .await
        .is_err());
    net.devnet.stop().await;
}

#[tokio::test]
async fn failing_and_delayed_requests() {
    let net = start().await;
    net.admin("setFaults", json!({ "failRate": 1.0 })).await.unwrap();
    let err = net.client.get_node_info().await.unwrap_err();
    assert!(matches!(err, NodeError::Unavailable { .. }), "{err}");
    // A client with retries and a second, healthy endpoint gets through.
    let healthy = start().await;
    let mut config = ClientConfig::new(net.devnet.url());
    config.endpoints.push(healthy.devnet.url().to_string());
    config.retries = 1;
    config.retry_backoff = Duration::from_millis(1);
    let both = Client::new(config).unwrap();
    assert!(both.get_node_info().await.is_ok());

    net.admin("setFaults", json!({ "failRate": 0.5 })).await.unwrap();
    let mut failures = 0;
    for _ in 0..40 {
        if net.client.get_tips().await.is_err() {
            failures += 1;
        }
    }
    assert!((5..=35).contains(&failures), "about half fail: {failures}");

    net.admin("setFaults", json!({ "delayRate": 1.0, "delayMs": 300 }))
        .await
        .unwrap();
    let started = Instant::now();
    net.client.get_tips().await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));
    let mut impatient = ClientConfig::new(net.devnet.url());
    impatient.timeout = Duration::from_millis(100);
    impatient.retries = 0;
    let err = Client::new(impatient).unwrap().get_tips().await.unwrap_err();
    assert!(
        matches!(err, NodeError::Unavailable { .. }),
        "timeouts are failures: {err}"
    );
    net.admin("setFaults", json!({})).await.unwrap();
    net.devnet.stop().await;
    healthy.devnet.stop().await;
}

#[tokio::test]
async fn dropped_broadcasts_are_accepted_and_lost() {
    let net = start().await;
    net.admin("setFaults", json!({ "dropBroadcasts": true })).await.unwrap();
    let bundle = spend(&seed("DROPPED"), 0, 1, &[], Some(plain_address('D')));
    let attached = net.attach_and_store(&bundle).await;
    let found = net
        .client
        .find_transactions(&FindQuery {
            bundles: vec![attached[0].bundle],
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(found.is_empty(), "the node said yes and kept nothing");
    net.admin("setFaults", json!({})).await.unwrap();
    net.client.store_transactions(&attached).await.unwrap();
    let found = net
        .client
        .find_transactions(&FindQuery {
            bundles: vec![attached[0].bundle],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(found.len(), attached.len());
    net.devnet.stop().await;
}

/// The three commands IRI 1.8.6 gates on being synchronised, with
/// well-formed parameters.
fn sync_gated(tail: &str) -> [(&'static str, Value); 3] {
    [
        ("getInclusionStates", json!({ "transactions": [tail] })),
        ("checkConsistency", json!({ "tails": [tail] })),
        ("getTransactionsToApprove", json!({ "depth": 3 })),
    ]
}

/// Goal: a solid milestone two behind the latest makes IRI refuse exactly
/// its sync-gated commands; one behind is IRI's headroom. Method: the
/// `behindMilestones` fault at 2, 1 and as `notSynced: lagging`.
#[tokio::test]
async fn behind_by_two_refuses_the_sync_gated_commands_and_behind_by_one_does_not() {
    let net = start().await;
    let tail = net.fund(address(&seed("BEHIND"), 0), 10).await.to_string();
    net.milestone().await;
    net.milestone().await;
    net.admin("setFaults", json!({ "behindMilestones": 2 })).await.unwrap();
    let info = net.client.get_node_info().await.unwrap();
    assert_eq!(info.latest_solid_milestone_index + 2, info.latest_milestone_index);
    for (command, body) in sync_gated(&tail) {
        assert_refused(&net.iri(command, body).await, 400, INVALID_SUBTANGLE);
    }
    // IRI gates getInclusionStates before reading its parameters, and
    // getTransactionsToApprove after.
    let unread = net.iri("getInclusionStates", json!({ "transactions": "x" })).await;
    assert_refused(&unread, 400, INVALID_SUBTANGLE);
    let read_first = net.iri("getTransactionsToApprove", json!({ "depth": "3" })).await;
    assert_refused(&read_first, 500, "Invalid depth input");
    let (status, balances) = net.iri("getBalances", json!({ "addresses": [tail] })).await;
    assert_eq!(status, 200, "getBalances is not gated");
    assert_eq!(balances["milestoneIndex"], info.latest_solid_milestone_index);

    for lag in [json!({ "behindMilestones": 1 }), json!({ "notSynced": "lagging" })] {
        net.admin("setFaults", lag.clone()).await.unwrap();
        for (command, body) in sync_gated(&tail) {
            let (status, reply) = net.iri(command, body).await;
            assert_eq!(status, 200, "{lag} {command}: {reply}");
        }
    }
    net.admin("setFaults", json!({})).await.unwrap();
    net.devnet.stop().await;
}

/// Goal: balances, their milestone index and inclusion states are those of
/// the solid milestone, not the latest. Method: fund an address, issue the
/// milestone that confirms it while the solid milestone is one behind:
/// nothing visible; clear the fault: visible.
#[tokio::test]
async fn balances_and_inclusion_states_are_those_of_the_solid_milestone() {
    let net = start().await;
    let to = address(&seed("SOLIDVIEW"), 0);
    let tail = net.fund(to, 250).await;
    net.admin("setFaults", json!({ "behindMilestones": 1 })).await.unwrap();
    let confirming = net.milestone().await;
    let balances = net.client.get_balances(&[to]).await.unwrap();
    assert_eq!(
        balances.balances,
        vec![0],
        "confirmed only by a milestone after the solid one"
    );
    assert_eq!(balances.milestone_index, confirming - 1);
    let solid = net.client.get_node_info().await.unwrap().latest_solid_milestone;
    assert_eq!(balances.references, vec![solid]);
    assert!(!net.confirmed(tail).await);
    let from_tail = net
        .iri(
            "getBalances",
            json!({ "addresses": [to.to_string()], "tips": [tail.to_string()] }),
        )
        .await;
    assert_eq!(
        from_tail.1["balances"],
        json!(["250"]),
        "the tip's cone, seen from the solid milestone"
    );

    net.admin("setFaults", json!({})).await.unwrap();
    let balances = net.client.get_balances(&[to]).await.unwrap();
    assert_eq!(balances.balances, vec![250]);
    assert_eq!(balances.milestone_index, confirming);
    assert!(net.confirmed(tail).await);
    let (total, supply) = net.devnet.node().ledger_totals();
    assert_eq!(total, supply);
    net.devnet.stop().await;
}

/// Goal: a pruning snapshot forgets what older milestones confirmed, as
/// IRI after a local snapshot does, and moves the start indexes; the
/// ledger keeps its balances. Method: fund, confirm, two more milestones,
/// prune below the third; then switch the fault off.
#[tokio::test]
async fn a_pruning_snapshot_hides_old_transactions() {
    let net = start().await;
    let to = address(&seed("PRUNED"), 0);
    let tail = net.fund(to, 40).await;
    let confirming = net.milestone().await;
    net.milestone().await;
    let cut = net.milestone().await;
    assert!(confirming < cut);
    let by_address = FindQuery {
        addresses: vec![to],
        ..Default::default()
    };
    let before = net.client.find_transactions(&by_address).await.unwrap();
    assert!(before.contains(&tail));

    let too_new = net.admin("setFaults", json!({ "prunedBelowMilestone": cut + 1 })).await;
    assert!(too_new.is_err(), "a snapshot is never above the solid milestone");
    net.admin("setFaults", json!({ "prunedBelowMilestone": cut }))
        .await
        .unwrap();
    assert_eq!(net.client.get_trytes(&[tail]).await.unwrap(), vec![None]);
    assert!(net.client.find_transactions(&by_address).await.unwrap().is_empty());
    let (_, states) = net
        .iri("getInclusionStates", json!({ "transactions": [tail.to_string()] }))
        .await;
    assert_eq!(
        states["states"],
        json!([false]),
        "IRI knows nothing of a pruned transaction"
    );
    let (_, info) = net.iri("getNodeInfo", json!({})).await;
    assert_eq!(info["milestoneStartIndex"], cut);
    assert_eq!(info["lastSnapshottedMilestoneIndex"], cut);
    assert_eq!(info["features"][0], "snapshotPruning");
    assert_eq!(net.balance(to).await, 40, "the snapshot keeps the balances");
    let unknown_tip = net
        .iri(
            "getBalances",
            json!({ "addresses": [to.to_string()], "tips": [tail.to_string()] }),
        )
        .await;
    assert_refused(&unknown_tip, 400, &format!("Tip not found: {tail}"));

    net.admin("setFaults", json!({})).await.unwrap();
    assert!(net.client.get_trytes(&[tail]).await.unwrap()[0].is_some());
    assert_eq!(net.client.find_transactions(&by_address).await.unwrap(), before);
    net.devnet.stop().await;
}
