//! The devnet is strict: what the real network would refuse never confirms.

mod common;

use common::*;
use hub_protocol::bundle::finalize;
use hub_protocol::transaction::Value;
use hub_protocol::{wots, Hash, SecurityLevel, Transaction};

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

/// Goal: IRI's ledger checks balances only, so a confirmed bundle confirms
/// again when its inputs are refilled (a replay), and two attachments
/// confirm together when the funds cover both.
#[tokio::test]
async fn a_confirmed_bundle_confirms_again_once_its_inputs_are_refilled() {
    let net = start().await;
    let s = seed("REPLAY");
    funded(&net, &s, 100).await;
    // Spend half, keep half on the (now spent) address.
    let bundle = spend(&s, 0, 50, &[(plain_address('P'), 50)], None);
    let first = net.attach_on_milestone(&bundle).await;
    let second = net.attach_on_milestone(&bundle).await;
    assert_ne!(
        first[0].hash(),
        second[0].hash(),
        "attachments are distinct transactions"
    );
    let both = [first[0].hash(), second[0].hash()];
    assert!(
        net.client.check_consistency(&both).await.unwrap().state,
        "100 covers two copies"
    );
    // A promotion approving both puts both on the coordinator's walk.
    let promotion = zero_value('R');
    let on_both = net
        .client
        .attach_to_tangle(both[0], both[1], 9, &promotion)
        .await
        .unwrap();
    net.client.store_transactions(&on_both).await.unwrap();
    net.milestone().await;
    assert!(net.confirmed(both[0]).await && net.confirmed(both[1]).await);
    assert_eq!(net.balance(plain_address('P')).await, 100);
    assert_eq!(net.balance(address(&s, 0)).await, 0);
    // A third copy overdraws the emptied address, until someone refills it.
    let third = net.attach_on_milestone(&bundle).await;
    let consistency = net.client.check_consistency(&[third[0].hash()]).await.unwrap();
    assert!(!consistency.state);
    assert_eq!(
        consistency.info.as_deref(),
        Some("tails are not consistent (would lead to inconsistent ledger state or below max depth)")
    );
    net.fund(address(&s, 0), 50).await;
    net.milestone().await;
    assert_eq!(net.balance(address(&s, 0)).await, 50);
    assert!(net.client.check_consistency(&[third[0].hash()]).await.unwrap().state);
    let (trunk, branch) = net
        .client
        .get_transactions_to_approve(15, Some(third[0].hash()))
        .await
        .unwrap();
    let on_third = net.client.attach_to_tangle(trunk, branch, 9, &promotion).await.unwrap();
    net.client.store_transactions(&on_third).await.unwrap();
    net.milestone().await;
    assert!(net.confirmed(third[0].hash()).await, "the replay confirms");
    assert_eq!(net.balance(plain_address('P')).await, 150);
    assert_eq!(net.balance(address(&s, 0)).await, 0);
    let (total, supply) = net.devnet.node().ledger_totals();
    assert_eq!(total, supply);
    net.devnet.stop().await;
}

/// A one-transaction zero-value bundle to `to`, as a promotion is.
fn zero_value(to: char) -> Vec<Transaction> {
    hub_protocol::bundle::BundleBuilder::new(now_s())
        .unwrap()
        .output(hub_protocol::bundle::Output::new(plain_address(to), 0))
        .build()
        .unwrap()
        .transactions()
        .to_vec()
}

/// Issues `n` milestones; returns the last hash.
async fn milestones(net: &Net, n: usize) -> Hash {
    for _ in 0..n {
        net.milestone().await;
    }
    net.client.get_node_info().await.unwrap().latest_milestone
}

/// Goal: as on mainnet, only what the coordinator's walk reaches confirms;
/// a transaction left off it waits until a promotion puts it on the walk.
#[tokio::test]
async fn a_transaction_off_the_walk_confirms_only_once_promoted() {
    let net = start().await;
    let old = milestones(&net, 1).await;
    milestones(&net, 2).await;
    // Attached on an old milestone: its sibling chain is heavier.
    let lazy = net
        .client
        .attach_to_tangle(old, old, 9, &zero_value('L'))
        .await
        .unwrap();
    net.client.store_transactions(&lazy).await.unwrap();
    let lazy = lazy[0].hash();
    assert!(net.client.check_consistency(&[lazy]).await.unwrap().state);
    milestones(&net, 3).await;
    assert!(!net.confirmed(lazy).await, "off the walk, nothing confirms it");
    // The reference must lie in the future cone of the walk's entry point
    // (IRI with a non-zero alpha): depth 15 reaches back to milestone 1.
    let too_old = net.client.get_transactions_to_approve(1, Some(lazy)).await.unwrap_err();
    assert!(
        too_old.to_string().contains("reference transaction is too old"),
        "{too_old}"
    );
    let (trunk, branch) = net.client.get_transactions_to_approve(15, Some(lazy)).await.unwrap();
    assert_eq!(branch, lazy, "the branch walk starts at the reference, a tip");
    let promotion = net
        .client
        .attach_to_tangle(trunk, branch, 9, &zero_value('P'))
        .await
        .unwrap();
    net.client.store_transactions(&promotion).await.unwrap();
    net.milestone().await;
    assert!(net.confirmed(promotion[0].hash()).await, "the promotion is on the walk");
    assert!(net.confirmed(lazy).await, "and confirms what it approves");
    net.devnet.stop().await;
}

/// Goal: IRI's max depth (15): a tip whose cone reaches a transaction
/// confirmed more than 15 milestones below the latest solid one is
/// inconsistent, cannot be promoted, and never confirms.
#[tokio::test]
async fn a_lazy_tip_below_max_depth_is_inconsistent_and_never_confirms() {
    let net = start().await;
    let old = milestones(&net, 1).await;
    milestones(&net, 2).await;
    let lazy = net
        .client
        .attach_to_tangle(old, old, 9, &zero_value('L'))
        .await
        .unwrap();
    net.client.store_transactions(&lazy).await.unwrap();
    let lazy = lazy[0].hash();
    milestones(&net, 13).await;
    assert!(!net.confirmed(lazy).await, "off the walk");
    assert!(
        net.client.check_consistency(&[lazy]).await.unwrap().state,
        "15 deep is still fine"
    );
    milestones(&net, 1).await;
    let consistency = net.client.check_consistency(&[lazy]).await.unwrap();
    assert!(!consistency.state, "16 deep is below max depth");
    assert_eq!(
        consistency.info.as_deref(),
        Some("tails are not consistent (would lead to inconsistent ledger state or below max depth)")
    );
    let refused = net
        .client
        .get_transactions_to_approve(15, Some(lazy))
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("reference transaction is too old"),
        "{refused}"
    );
    milestones(&net, 2).await;
    assert!(!net.confirmed(lazy).await);
    net.devnet.stop().await;
}

/// Goal: IRI 1.8.5's approval rule: a bundle whose head approves a
/// transaction that is not a tail is invalid for tip selection and
/// `checkConsistency`, and so is never walked onto.
#[tokio::test]
async fn a_bundle_approving_a_non_tail_is_invalid() {
    let net = start().await;
    let s = seed("NONTAIL");
    net.fund(address(&s, 0), 10).await;
    net.milestone().await;
    let bundle = spend(&s, 0, 10, &[(plain_address('N'), 10)], None);
    let attached = net.attach_on_milestone(&bundle).await;
    let inner = attached[1].hash();
    let on_inner = net
        .client
        .attach_to_tangle(inner, inner, 9, &zero_value('N'))
        .await
        .unwrap();
    net.client.store_transactions(&on_inner).await.unwrap();
    let tail = on_inner[0].hash();
    let consistency = net.client.check_consistency(&[tail]).await.unwrap();
    assert!(!consistency.state);
    assert_eq!(
        consistency.info,
        Some(format!("tails are not consistent (bundle is invalid): {tail}"))
    );
    let refused = net.client.check_consistency(&[inner]).await.unwrap_err();
    assert!(
        refused
            .to_string()
            .contains(&format!("Invalid transaction, not a tail: {inner}")),
        "{refused}"
    );
    milestones(&net, 2).await;
    assert!(net.confirmed(attached[0].hash()).await, "the spend itself is fine");
    assert!(
        !net.confirmed(tail).await,
        "the walk never steps onto the invalid bundle"
    );
    net.devnet.stop().await;
}

/// Goal: IRI's timestamp and weight rules on store, with its messages: no
/// timestamp before the genesis (a snapshot's time), none more than two
/// hours ahead, and the node's minimum weight.
#[tokio::test]
async fn timestamps_and_weight_are_checked_on_store() {
    use hub_protocol::attach::{attach_bundle, AttachOptions, Cancel};
    let net = start().await;
    let milestone = milestones(&net, 1).await;
    let attach = |timestamp_s: u64, attachment_ms: i64, mwm: u8| {
        let bundle = hub_protocol::bundle::BundleBuilder::new(timestamp_s)
            .unwrap()
            .output(hub_protocol::bundle::Output::new(plain_address('T'), 0))
            .build()
            .unwrap();
        let options = AttachOptions {
            min_weight_magnitude: mwm,
            threads: 1,
            timestamp_ms: attachment_ms,
        };
        attach_bundle(
            bundle.transactions(),
            milestone,
            milestone,
            &options,
            &Cancel::default(),
        )
        .unwrap()
        .unwrap()
    };
    let now_ms = now_s() as i64 * 1000;
    for (timestamp_s, attachment_ms) in [(0, 0), (now_s(), 1_000), (now_s(), now_ms + 3 * 3_600_000)] {
        let refused = net
            .client
            .store_transactions(&attach(timestamp_s, attachment_ms, 9))
            .await
            .unwrap_err();
        assert!(
            refused.to_string().contains("Invalid transaction timestamp."),
            "{refused}"
        );
    }
    // Weight 1 on a weight-9 node (retrying the rare hash that meets 9 by chance).
    let light = (0..)
        .map(|i| attach(now_s(), now_ms + i, 1))
        .find(|txs| !hub_protocol::validate::meets_weight(&txs[0].hash(), 9))
        .unwrap();
    let refused = net.client.store_transactions(&light).await.unwrap_err();
    assert!(refused.to_string().contains("Invalid transaction hash"), "{refused}");
    net.client
        .store_transactions(&attach(now_s(), now_ms, 9))
        .await
        .unwrap();
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
