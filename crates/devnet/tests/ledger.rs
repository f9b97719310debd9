//! The devnet is strict: what the real network would refuse never confirms.

mod common;

use common::*;
use hub_protocol::bundle::finalize;
use hub_protocol::transaction::Value;
use hub_protocol::{wots, SecurityLevel, Transaction};

/// Funds `(seed, 0)` with `amount` and confirms it.
async fn funded(net: &Net, s: &hub_protocol::Seed, amount: u64) {
    net.fund(address(s, 0), amount).await;
    net.milestone().await;
    assert_eq!(net.balance(address(s, 0)).await, amount);
}

async fn assert_never_confirms(net: &Net, attached: &[Transaction]) {
    for _ in 0..2 {
        net.milestone().await;
    }
    assert!(
        !net.confirmed(attached[0].hash()).await,
        "invalid bundle must not confirm"
    );
    let consistency = net.client.check_consistency(&[attached[0].hash()]).await.unwrap();
    assert!(!consistency.state);
    assert!(consistency.info.is_some());
}

#[tokio::test]
async fn a_bad_signature_never_confirms() {
    let net = start().await;
    let s = seed("BADSIG");
    funded(&net, &s, 100).await;
    let mut bundle = spend(&s, 0, 100, &[(plain_address('B'), 100)], None);
    // Replace the signature with one made by the key of another index.
    let wrong = wots::sign(&s, 1, SecurityLevel::Medium, &bundle[0].bundle);
    bundle[0].signature_message_fragment = wrong.0[0].clone();
    bundle[1].signature_message_fragment = wrong.0[1].clone();
    let attached = net.attach_and_store(&bundle).await;
    assert_never_confirms(&net, &attached).await;
    assert_eq!(net.balance(address(&s, 0)).await, 100);
    assert!(
        !net.client.were_addresses_spent_from(&[address(&s, 0)]).await.unwrap()[0],
        "an invalid bundle spends nothing"
    );
    net.devnet.stop().await;
}

#[tokio::test]
async fn a_wrong_bundle_hash_never_confirms() {
    let net = start().await;
    let s = seed("BADHASH");
    funded(&net, &s, 100).await;
    let mut bundle = spend(&s, 0, 100, &[(plain_address('B'), 100)], None);
    bundle[2].bundle = hub_protocol::Hash::from_trytes(&"H".repeat(81)).unwrap();
    let attached = net.attach_and_store(&bundle).await;
    assert_never_confirms(&net, &attached).await;
    net.devnet.stop().await;
}

#[tokio::test]
async fn values_not_summing_to_zero_never_confirm() {
    let net = start().await;
    let s = seed("NONZERO");
    funded(&net, &s, 100).await;
    let mut bundle = spend(&s, 0, 100, &[(plain_address('B'), 100)], None);
    // Pay 90 instead of 100, with a correct hash and valid signatures.
    bundle[2].value = Value::new(90).unwrap();
    finalize(&mut bundle);
    let signature = wots::sign(&s, 0, SecurityLevel::Medium, &bundle[0].bundle);
    bundle[0].signature_message_fragment = signature.0[0].clone();
    bundle[1].signature_message_fragment = signature.0[1].clone();
    let attached = net.attach_and_store(&bundle).await;
    assert_never_confirms(&net, &attached).await;
    assert_eq!(net.balance(plain_address('B')).await, 0);
    net.devnet.stop().await;
}

#[tokio::test]
async fn an_overdraft_never_confirms() {
    let net = start().await;
    let s = seed("OVERDRAFT");
    funded(&net, &s, 100).await;
    let bundle = spend(&s, 0, 150, &[(plain_address('B'), 150)], None);
    let attached = net.attach_and_store(&bundle).await;
    assert_never_confirms(&net, &attached).await;
    assert_eq!(net.balance(address(&s, 0)).await, 100);
    net.devnet.stop().await;
}

#[tokio::test]
async fn a_double_spend_confirms_at_most_one_side() {
    let net = start().await;
    let s = seed("DOUBLESPEND");
    funded(&net, &s, 100).await;
    let left = net
        .attach_on_milestone(&spend(&s, 0, 100, &[(plain_address('L'), 100)], None))
        .await;
    let right = net
        .attach_on_milestone(&spend(&s, 0, 100, &[(plain_address('R'), 100)], None))
        .await;
    for _ in 0..3 {
        net.milestone().await;
    }
    let l = net.confirmed(left[0].hash()).await;
    let r = net.confirmed(right[0].hash()).await;
    assert!(l ^ r, "exactly one side confirms (left {l}, right {r})");
    let (bl, br) = (
        net.balance(plain_address('L')).await,
        net.balance(plain_address('R')).await,
    );
    assert_eq!(bl + br, 100);
    assert_eq!(net.balance(address(&s, 0)).await, 0);
    // Tips approving both sides are inconsistent.
    let both = net
        .client
        .check_consistency(&[left[0].hash(), right[0].hash()])
        .await
        .unwrap();
    assert!(!both.state);
    let (total, supply) = net.devnet.node().ledger_totals();
    assert_eq!(total, supply);
    net.devnet.stop().await;
}

#[tokio::test]
async fn only_one_reattachment_of_a_bundle_confirms() {
    let net = start().await;
    let s = seed("REATTACH");
    funded(&net, &s, 100).await;
    // Spend half, keep half on the (now spent) address: a reattachment
    // would not overdraw, so only the one-attachment rule stops it.
    let bundle = spend(&s, 0, 50, &[(plain_address('P'), 50)], None);
    let first = net.attach_on_milestone(&bundle).await;
    let second = net.attach_on_milestone(&bundle).await;
    assert_ne!(
        first[0].hash(),
        second[0].hash(),
        "reattachments are distinct transactions"
    );
    assert!(net.client.check_consistency(&[first[0].hash()]).await.unwrap().state);
    assert!(net.client.check_consistency(&[second[0].hash()]).await.unwrap().state);
    assert!(
        !net.client
            .check_consistency(&[first[0].hash(), second[0].hash()])
            .await
            .unwrap()
            .state
    );
    for _ in 0..3 {
        net.milestone().await;
    }
    let confirmed = [
        net.confirmed(first[0].hash()).await,
        net.confirmed(second[0].hash()).await,
    ];
    assert_eq!(confirmed.iter().filter(|c| **c).count(), 1, "{confirmed:?}");
    assert_eq!(net.balance(plain_address('P')).await, 50);
    assert_eq!(net.balance(address(&s, 0)).await, 50);
    // A later reattachment is inconsistent for good.
    let third = net.attach_on_milestone(&bundle).await;
    assert!(!net.client.check_consistency(&[third[0].hash()]).await.unwrap().state);
    net.devnet.stop().await;
}

#[tokio::test]
async fn zero_value_copies_do_not_block_each_other() {
    let net = start().await;
    // Two identical zero-value bundles (as two promotions in one second would be).
    let promotion = hub_protocol::bundle::BundleBuilder::new(now_s())
        .unwrap()
        .output(hub_protocol::bundle::Output::new(plain_address('Q'), 0))
        .build()
        .unwrap();
    let a = net.attach_and_store(promotion.transactions()).await;
    let b = net.attach_and_store(promotion.transactions()).await;
    net.milestone().await;
    assert!(net.confirmed(a[0].hash()).await && net.confirmed(b[0].hash()).await);
    net.devnet.stop().await;
}
