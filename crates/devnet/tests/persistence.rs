//! A restarted devnet has the same tangle, ledger and milestones.

mod common;

use common::*;
use hub_devnet::DevnetConfig;

#[tokio::test]
async fn restart_keeps_tangle_ledger_and_milestones() {
    let dir = std::env::temp_dir().join(format!("devnet-restart-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let config = DevnetConfig {
        data_dir: Some(dir.clone()),
        ..config()
    };
    let s = seed("RESTART");
    let (tail, milestone, tips) = {
        let net = start_with(config.clone()).await;
        let tail = net.fund(address(&s, 0), 1234).await;
        net.milestone().await;
        let spent = net
            .attach_and_store(&spend(&s, 0, 1234, &[(plain_address('K'), 1000)], Some(address(&s, 1))))
            .await;
        net.milestone().await;
        assert!(net.confirmed(spent[0].hash()).await);
        let unconfirmed = net.fund(address(&s, 7), 5).await;
        let info = net.client.get_node_info().await.unwrap();
        let tips = net.client.get_tips().await.unwrap();
        assert!(tips.contains(&unconfirmed));
        net.devnet.stop().await;
        (tail, info, tips)
    };
    let net = start_with(config).await;
    let info = net.client.get_node_info().await.unwrap();
    assert_eq!(info.latest_milestone, milestone.latest_milestone);
    assert_eq!(info.latest_milestone_index, milestone.latest_milestone_index);
    assert_eq!(net.client.get_tips().await.unwrap(), tips);
    assert!(net.confirmed(tail).await);
    assert_eq!(net.balance(plain_address('K')).await, 1000);
    assert_eq!(net.balance(address(&s, 1)).await, 234);
    assert_eq!(net.balance(address(&s, 0)).await, 0);
    assert!(net.client.were_addresses_spent_from(&[address(&s, 0)]).await.unwrap()[0]);
    // The faucet picks up where it was: the pending payment confirms, and new ones work.
    net.milestone().await;
    assert_eq!(net.balance(address(&s, 7)).await, 5);
    net.fund(address(&s, 8), 6).await;
    net.milestone().await;
    assert_eq!(net.balance(address(&s, 8)).await, 6);
    let (total, supply) = net.devnet.node().ledger_totals();
    assert_eq!(total, supply);
    net.devnet.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
