//! Fault injection, switched at run time over the admin command.

mod common;

use std::time::{Duration, Instant};

use common::*;
use hub_node::{Client, ClientConfig, FindQuery, NodeError};
use serde_json::json;

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
