//! Every command of the devnet's IRI API over HTTP with a real client, with
//! good and malformed requests.

mod common;

use common::*;
use hub_node::{FindQuery, NodeError};
use hub_protocol::validate::{validate, Options};
use hub_protocol::{Hash, Tag};
use serde_json::json;

#[tokio::test]
async fn node_info_tips_and_milestones() {
    let net = start().await;
    let info = net.client.get_node_info().await.unwrap();
    assert_eq!(
        info.latest_milestone_index, 1,
        "a new devnet issues milestone 1 at once"
    );
    assert_eq!(info.latest_milestone, info.latest_solid_milestone);
    assert_eq!(info.app_name, "Hub devnet");
    let tips = net.client.get_tips().await.unwrap();
    assert_eq!(tips, vec![info.latest_milestone]);
    assert_eq!(net.milestone().await, 2);
    let milestone = net
        .client
        .get_trytes(&[net.client.get_node_info().await.unwrap().latest_milestone])
        .await
        .unwrap();
    let milestone = milestone[0].as_ref().expect("milestone transaction is stored");
    assert!(milestone.timestamp.get() as u64 >= now_s() - 5);
    net.devnet.stop().await;
}

#[tokio::test]
async fn faucet_funds_confirm_at_the_next_milestone() {
    let net = start().await;
    let to = address(&seed("FAUCETTEST"), 0);
    let tail = net.fund(to, 1_000).await;
    assert_eq!(net.balance(to).await, 0, "not confirmed yet");
    assert!(!net.confirmed(tail).await);
    net.milestone().await;
    assert_eq!(net.balance(to).await, 1_000);
    assert!(net.confirmed(tail).await);

    // The faucet's bundle is a real, valid, signed bundle with proof of work.
    let tail_tx = net.client.get_trytes(&[tail]).await.unwrap()[0].clone().unwrap();
    let hashes = net
        .client
        .find_transactions(&FindQuery {
            bundles: vec![tail_tx.bundle],
            ..Default::default()
        })
        .await
        .unwrap();
    let txs: Vec<_> = net
        .client
        .get_trytes(&hashes)
        .await
        .unwrap()
        .into_iter()
        .map(Option::unwrap)
        .collect();
    let report = validate(
        &txs,
        &Options {
            min_weight_magnitude: Some(9),
        },
    );
    assert!(report.is_valid(), "{:?}", report.violations);
    assert!(txs.iter().any(|tx| tx.address == to && tx.value.get() == 1_000));

    // Bad faucet requests are refused.
    assert!(net
        .admin("fund", json!({ "address": to.to_string(), "amount": 0 }))
        .await
        .is_err());
    assert!(net
        .admin("fund", json!({ "address": "NOTANADDRESS", "amount": 5 }))
        .await
        .is_err());
    assert!(net
        .admin("fund", json!({ "address": to.to_string(), "amount": "many" }))
        .await
        .is_err());
    let amount_as_string = net
        .admin("fund", json!({ "address": to.to_string(), "amount": "5" }))
        .await;
    assert!(amount_as_string.is_ok(), "amounts may be strings: {amount_as_string:?}");
    net.devnet.stop().await;
}

#[tokio::test]
async fn find_get_trytes_and_intersections() {
    let net = start().await;
    let s = seed("FINDTEST");
    let a = address(&s, 0);
    let tail = net.fund(a, 500).await;
    net.milestone().await;
    let spent = spend(&s, 0, 500, &[(plain_address('B'), 200)], Some(address(&s, 1)));
    let attached = net.attach_and_store(&spent).await;
    let bundle = attached[0].bundle;

    let by_address = net
        .client
        .find_transactions(&FindQuery {
            addresses: vec![a],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        by_address.len(),
        3,
        "faucet output + two input transactions of the spend"
    );
    let by_bundle = net
        .client
        .find_transactions(&FindQuery {
            bundles: vec![bundle],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(by_bundle.len(), 4);
    let both = net
        .client
        .find_transactions(&FindQuery {
            addresses: vec![a],
            bundles: vec![bundle],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(both.len(), 2, "intersection: only the spend's inputs");
    let approvers = net
        .client
        .find_transactions(&FindQuery {
            approvees: vec![attached[1].hash()],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(approvers, vec![attached[0].hash()]);
    let tagged = net
        .client
        .find_transactions(&FindQuery {
            tags: vec![Tag::from_trytes_padded("DEVNET9MILESTONE").unwrap()],
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(tagged.len() >= 2);

    let trytes = net
        .client
        .get_trytes(&[tail, Hash::from_trytes(&"A".repeat(81)).unwrap()])
        .await
        .unwrap();
    assert_eq!(trytes[0].as_ref().unwrap().hash(), tail);
    assert!(trytes[1].is_none(), "unknown hashes come back as all-9 trytes");

    // Malformed lists are refused with IRI-style errors.
    for (command, body) in [
        ("findTransactions", json!({ "addresses": ["ABC"] })),
        ("findTransactions", json!({})),
        ("findTransactions", json!({ "bundles": "notalist" })),
        ("getTrytes", json!({ "hashes": ["lowercase"] })),
        ("getTrytes", json!({})),
    ] {
        let err = net.admin(command, body.clone()).await.unwrap_err();
        assert!(matches!(err, NodeError::Refused { .. }), "{command} {body}: {err}");
    }
    net.devnet.stop().await;
}

#[tokio::test]
async fn transactions_to_approve_and_attach() {
    let net = start().await;
    let (trunk, branch) = net.client.get_transactions_to_approve(3, None).await.unwrap();
    let tips = net.client.get_tips().await.unwrap();
    assert!(tips.contains(&trunk) || trunk == net.client.get_node_info().await.unwrap().latest_milestone);
    assert!(net
        .client
        .get_trytes(&[trunk, branch])
        .await
        .unwrap()
        .iter()
        .all(Option::is_some));
    let err = net.client.get_transactions_to_approve(16, None).await.unwrap_err();
    assert!(err.to_string().contains("depth"), "{err}");
    let unknown = Hash::from_trytes(&"U".repeat(81)).unwrap();
    assert!(net.client.get_transactions_to_approve(3, Some(unknown)).await.is_err());

    // Promotion style: the reference becomes the trunk.
    let s = seed("ATTACHTEST");
    let tail = net.fund(address(&s, 0), 10).await;
    let (trunk, _) = net.client.get_transactions_to_approve(0, Some(tail)).await.unwrap();
    assert_eq!(trunk, tail);

    // attachToTangle returns the bundle chained, with proof of work, tail first.
    let bundle = spend(&s, 5, 1, &[], Some(address(&s, 6)));
    let attached = net.client.attach_to_tangle(trunk, trunk, 9, &bundle).await.unwrap();
    assert_eq!(attached.len(), bundle.len());
    let report = validate(
        &attached,
        &Options {
            min_weight_magnitude: Some(9),
        },
    );
    assert!(report.is_valid(), "{:?}", report.violations);
    assert_eq!(attached[0].trunk, attached[1].hash());
    assert_eq!(attached.last().unwrap().trunk, trunk);
    assert!(attached
        .iter()
        .all(|tx| hub_protocol::validate::meets_weight(&tx.hash(), 9)));

    // Malformed attach requests.
    assert!(
        net.client.attach_to_tangle(trunk, trunk, 3, &bundle).await.is_err(),
        "weight below the node's"
    );
    let bad = net
        .admin("attachToTangle", json!({ "trunkTransaction": "X", "branchTransaction": trunk.to_string(), "minWeightMagnitude": 9, "trytes": [] }))
        .await;
    assert!(bad.is_err());
    let bad = net
        .admin("attachToTangle", json!({ "trunkTransaction": trunk.to_string(), "branchTransaction": trunk.to_string(), "minWeightMagnitude": 9, "trytes": ["9"] }))
        .await;
    assert!(bad.is_err());
    net.devnet.stop().await;
}

#[tokio::test]
async fn interrupt_attaching_stops_proof_of_work() {
    let net = start().await;
    let bundle = spend(&seed("INTERRUPT"), 0, 1, &[], Some(plain_address('C')));
    let client = net.client.clone();
    let tip = net.client.get_tips().await.unwrap()[0];
    let long = tokio::spawn(async move { client.attach_to_tangle(tip, tip, 60, &bundle).await });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    net.admin("interruptAttachingToTangle", json!({})).await.unwrap();
    let result = tokio::time::timeout(std::time::Duration::from_secs(10), long)
        .await
        .expect("interrupt is prompt")
        .unwrap();
    let err = result.unwrap_err();
    assert!(err.to_string().contains("interrupted"), "{err}");
    net.devnet.stop().await;
}

#[tokio::test]
async fn store_checks_proof_of_work_and_solidity() {
    let net = start().await;
    let s = seed("STORETEST");
    net.fund(address(&s, 0), 50).await;
    net.milestone().await;
    let bundle = spend(&s, 0, 50, &[(plain_address('D'), 50)], None);
    // Not attached: nonce all 9s fails the weight.
    let err = net.client.store_transactions(&bundle).await.unwrap_err();
    assert!(err.to_string().contains("weight"), "{err}");
    // Attached but missing its last transaction: the rest is not solid.
    let tip = net.client.get_tips().await.unwrap()[0];
    let attached = net.client.attach_to_tangle(tip, tip, 9, &bundle).await.unwrap();
    let err = net.client.store_transactions(&attached[..2]).await.unwrap_err();
    assert!(err.to_string().contains("not solid"), "{err}");
    assert!(
        net.client.get_trytes(&[attached[0].hash()]).await.unwrap()[0].is_none(),
        "nothing was stored"
    );
    // Any order of a whole bundle is fine; storing twice is idempotent.
    let mut reversed = attached.clone();
    reversed.reverse();
    net.client.store_transactions(&reversed).await.unwrap();
    net.client.store_transactions(&attached).await.unwrap();
    assert!(
        net.client.were_addresses_spent_from(&[address(&s, 0)]).await.unwrap()[0],
        "a seen signature spends the address"
    );
    assert!(!net.client.were_addresses_spent_from(&[address(&s, 1)]).await.unwrap()[0]);
    let err = net
        .admin("storeTransactions", json!({ "trytes": ["NOTATRANSACTION"] }))
        .await
        .unwrap_err();
    assert!(matches!(err, NodeError::Refused { .. }));
    let err = net
        .admin("wereAddressesSpentFrom", json!({ "addresses": [1, 2] }))
        .await
        .unwrap_err();
    assert!(matches!(err, NodeError::Refused { .. }));
    net.devnet.stop().await;
}

#[tokio::test]
async fn balances_inclusion_and_consistency() {
    let net = start().await;
    let s = seed("BALANCETEST");
    let a = address(&s, 0);
    let tail = net.fund(a, 77).await;
    assert_eq!(net.client.get_inclusion_states(&[tail]).await.unwrap(), vec![false]);
    let in_cone = net
        .admin(
            "getInclusionStates",
            json!({ "transactions": [tail.to_string()], "tips": [tail.to_string()] }),
        )
        .await
        .unwrap();
    assert_eq!(in_cone["states"], json!([true]), "in its own cone");
    let consistency = net.client.check_consistency(&[tail]).await.unwrap();
    assert!(consistency.state, "{:?}", consistency.info);
    net.milestone().await;
    let balances = net.client.get_balances(&[a, plain_address('Z')]).await.unwrap();
    assert_eq!(balances.balances, vec![77, 0]);
    assert_eq!(balances.milestone_index, 2);
    assert!(net.confirmed(tail).await);

    // With checksum, with `tips`, as strings: all accepted.
    let with_checksum = net
        .admin(
            "getBalances",
            json!({ "addresses": [a.with_checksum()], "threshold": "100", "tips": [tail.to_string()] }),
        )
        .await
        .unwrap();
    assert_eq!(with_checksum["balances"], json!(["77"]));
    assert_eq!(with_checksum["references"], json!([tail.to_string()]));
    for body in [
        json!({ "addresses": ["ABC"] }),
        json!({ "addresses": [a.to_string()], "threshold": 101 }),
        json!({ "addresses": [a.to_string()], "tips": ["A".repeat(81)] }),
        json!({}),
    ] {
        assert!(net.admin("getBalances", body.clone()).await.is_err(), "{body}");
    }
    assert!(net
        .admin(
            "getInclusionStates",
            json!({ "transactions": [tail.to_string()], "tips": ["A".repeat(81)] })
        )
        .await
        .is_err());
    assert!(
        net.admin("checkConsistency", json!({ "tails": ["A".repeat(81)] }))
            .await
            .is_err(),
        "unknown tail"
    );
    let non_tail = net
        .client
        .find_transactions(&FindQuery {
            bundles: vec![
                net.client.get_trytes(&[tail]).await.unwrap()[0]
                    .as_ref()
                    .unwrap()
                    .bundle,
            ],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .find(|h| *h != tail)
        .unwrap();
    assert!(net.client.check_consistency(&[non_tail]).await.is_err(), "not a tail");
    net.devnet.stop().await;
}

#[tokio::test]
async fn malformed_requests_get_iri_errors_and_the_node_keeps_running() {
    let net = start().await;
    let http = reqwest_client();
    let url = net.devnet.url().to_string();
    let cases: Vec<(Option<&str>, &str, &str)> = vec![
        (None, r#"{"command":"getNodeInfo"}"#, "API Version"),
        (Some("1"), "not json", "Invalid JSON"),
        (Some("1"), "[1,2]", "JSON object"),
        (Some("1"), r#"{"foo":1}"#, "COMMAND"),
        (Some("1"), r#"{"command":"doesNotExist"}"#, "unknown"),
        (
            Some("1"),
            r#"{"command":"getTrytes","hashes":"x"}"#,
            "Invalid parameters",
        ),
        (
            Some("1"),
            r#"{"command":"getTransactionsToApprove"}"#,
            "Invalid parameters",
        ),
        (Some("1"), r#"{"command":"setFaults","failRate":2}"#, "failRate"),
        (
            Some("1"),
            r#"{"command":"setFaults","bogus":true}"#,
            "Invalid parameters",
        ),
    ];
    for (header, body, needle) in cases {
        let mut request = http.post(&url).body(body.to_string());
        if let Some(v) = header {
            request = request.header("X-IOTA-API-Version", v);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), 400, "{body}");
        let reply: serde_json::Value = response.json().await.unwrap();
        let error = reply["error"].as_str().unwrap_or_default();
        assert!(error.contains(needle), "{body}: {error}");
    }
    assert_eq!(
        net.client.get_node_info().await.unwrap().latest_milestone_index,
        1,
        "still running"
    );
    net.devnet.stop().await;
}

fn reqwest_client() -> reqwest::Client {
    reqwest::Client::new()
}
