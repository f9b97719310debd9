//! The devnet's API answers as IRI 1.8.6 answers: every command over HTTP,
//! with a real client where Hub's client can ask, and straight over HTTP
//! where the exact status, kind of answer (`error` 400, `exception` 500)
//! and IRI's message are the point.

mod common;

use common::*;
use hub_devnet::{DevnetConfig, Limits, Profile};
use hub_node::{FindQuery, NodeError};
use hub_protocol::validate::{validate, Options};
use hub_protocol::{Hash, Tag, Transaction};
use serde_json::{json, Value};

/// The fields of IRI 1.8.6's `GetNodeInfoResponse`, and `duration`.
const NODE_INFO_FIELDS: [&str; 22] = [
    "appName",
    "appVersion",
    "jreAvailableProcessors",
    "jreFreeMemory",
    "jreVersion",
    "jreMaxMemory",
    "jreTotalMemory",
    "latestMilestone",
    "latestMilestoneIndex",
    "latestSolidSubtangleMilestone",
    "latestSolidSubtangleMilestoneIndex",
    "milestoneStartIndex",
    "lastSnapshottedMilestoneIndex",
    "neighbors",
    "packetsQueueSize",
    "time",
    "tips",
    "transactionsToRequest",
    "features",
    "coordinatorAddress",
    "dbSizeInBytes",
    "duration",
];

fn validation(message: &str) -> String {
    format!("com.iota.iri.service.ValidationException: {message}")
}

fn all_nines() -> String {
    "9".repeat(hub_protocol::transaction::TRANSACTION_TRYTES)
}

#[tokio::test]
async fn node_info_tips_and_milestones() {
    let net = start().await;
    let info = net.client.get_node_info().await.unwrap();
    assert_eq!(
        info.latest_milestone_index, 1,
        "a new devnet issues milestone 1 at once"
    );
    assert_eq!(info.latest_milestone, info.latest_solid_milestone);
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

/// Goal: `getNodeInfo` has exactly 1.8.6's fields with IRI's values for a
/// testnet node. Method: compare the key set and the values a fresh devnet
/// must have.
#[tokio::test]
async fn node_info_has_the_fields_of_iri_1_8_6() {
    let net = start().await;
    let (status, reply) = net.iri("getNodeInfo", json!({})).await;
    assert_eq!(status, 200);
    let mut keys: Vec<&str> = reply.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    let mut expected = NODE_INFO_FIELDS.to_vec();
    expected.sort_unstable();
    assert_eq!(keys, expected);
    assert_eq!(reply["appName"], "IRI Testnet");
    assert_eq!(reply["appVersion"], "1.8.6");
    assert_eq!(
        reply["features"],
        json!(["dnsRefresher", "testnet", "RemotePOW", "WereAddressesSpentFrom"])
    );
    assert_eq!(
        reply["coordinatorAddress"],
        hub_devnet::node::coordinator_address().to_string()
    );
    assert_eq!(reply["milestoneStartIndex"], 1, "the first milestone after the genesis");
    assert_eq!(reply["lastSnapshottedMilestoneIndex"], 0);
    assert_eq!(
        reply["latestMilestoneIndex"],
        reply["latestSolidSubtangleMilestoneIndex"]
    );
    assert!(reply["jreAvailableProcessors"].as_u64().unwrap() >= 1);
    assert!(reply["dbSizeInBytes"].as_u64().unwrap() > 0, "the milestone is stored");
    assert!(reply["time"].as_u64().unwrap() / 1000 >= now_s() - 5);
    net.devnet.stop().await;
}

/// Goal: the mainnet profile is IRI's mainnet configuration. Method: its
/// name, features, API configuration and the weight it demands.
#[tokio::test]
async fn the_mainnet_profile_answers_as_an_iri_mainnet_node() {
    let net = start_with(DevnetConfig {
        profile: Profile::Mainnet,
        ..config()
    })
    .await;
    let (_, info) = net.iri("getNodeInfo", json!({})).await;
    assert_eq!(info["appName"], "IRI");
    assert_eq!(
        info["features"],
        json!(["dnsRefresher", "RemotePOW", "WereAddressesSpentFrom"])
    );
    let (status, configuration) = net.iri("getNodeAPIConfiguration", json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(configuration["testNet"], false);
    assert_eq!(configuration["maxRequestsList"], 1000);
    assert_eq!(configuration["maxGetTrytes"], 10_000);
    assert_eq!(configuration["maxFindTransactions"], 100_000);
    assert_eq!(configuration["maxBodyLength"], 1_000_000);
    let milestone = net.client.get_node_info().await.unwrap().latest_milestone;
    assert!(
        hub_protocol::validate::meets_weight(&milestone, 14),
        "milestones carry MWM 14"
    );
    let bundle = spend(&seed("MAINNET"), 0, 1, &[], Some(plain_address('M')));
    let wire: Vec<String> = bundle.iter().rev().map(Transaction::to_trytes).collect();
    let attach = |mwm: u8| {
        json!({ "trunkTransaction": milestone.to_string(), "branchTransaction": milestone.to_string(),
                "minWeightMagnitude": mwm, "trytes": wire })
    };
    assert_refused(
        &net.iri("attachToTangle", attach(9)).await,
        500,
        "Invalid transaction hash",
    );
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

    // Bad faucet requests are refused; the amount is a JSON number.
    for body in [
        json!({ "address": to.to_string(), "amount": 0 }),
        json!({ "address": "NOTANADDRESS", "amount": 5 }),
        json!({ "address": to.to_string(), "amount": "many" }),
        json!({ "address": to.to_string(), "amount": "5" }),
    ] {
        let (status, reply) = net.iri("fund", body.clone()).await;
        assert_eq!(status, 400, "{body}: {reply}");
    }
    let (status, _) = net
        .iri("fund", json!({ "address": to.with_checksum(), "amount": 5 }))
        .await;
    assert_eq!(status, 200, "the devnet's own fund takes a checksum");
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
    let find = |query: FindQuery| {
        let client = net.client.clone();
        async move { client.find_transactions(&query).await.unwrap() }
    };
    let by_address = find(FindQuery {
        addresses: vec![a],
        ..Default::default()
    })
    .await;
    assert_eq!(
        by_address.len(),
        3,
        "faucet output + two input transactions of the spend"
    );
    let by_bundle = find(FindQuery {
        bundles: vec![bundle],
        ..Default::default()
    })
    .await;
    assert_eq!(by_bundle.len(), 4);
    let both = find(FindQuery {
        addresses: vec![a],
        bundles: vec![bundle],
        ..Default::default()
    })
    .await;
    assert_eq!(both.len(), 2, "intersection: only the spend's inputs");
    let approvers = find(FindQuery {
        approvees: vec![attached[1].hash()],
        ..Default::default()
    })
    .await;
    assert_eq!(approvers, vec![attached[0].hash()]);
    let tagged = find(FindQuery {
        tags: vec![Tag::from_trytes_padded("DEVNET9MILESTONE").unwrap()],
        ..Default::default()
    })
    .await;
    assert!(tagged.len() >= 2);

    // IRI pads a short tag; a list given empty intersects to nothing.
    let (status, short_tag) = net
        .iri("findTransactions", json!({ "tags": ["DEVNET9MILESTONE"] }))
        .await;
    assert_eq!(status, 200);
    assert_eq!(short_tag["hashes"].as_array().unwrap().len(), tagged.len());
    let (_, empty_list) = net
        .iri(
            "findTransactions",
            json!({ "addresses": [a.to_string()], "bundles": [] }),
        )
        .await;
    assert_eq!(empty_list["hashes"], json!([]));

    let trytes = net
        .client
        .get_trytes(&[tail, Hash::from_trytes(&"A".repeat(81)).unwrap()])
        .await
        .unwrap();
    assert_eq!(trytes[0].as_ref().unwrap().hash(), tail);
    assert!(trytes[1].is_none(), "unknown hashes come back as all-9 trytes");

    // Malformed requests: what findTransactions throws, IRI wraps in an
    // IllegalStateException; the others answer the validation message.
    let not_a_list = "java.lang.ClassCastException: java.lang.String cannot be cast to java.util.List";
    for (command, body, message) in [
        (
            "findTransactions",
            json!({ "addresses": ["ABC"] }),
            validation("Invalid addresses input"),
        ),
        (
            "findTransactions",
            json!({ "addresses": [a.with_checksum()] }),
            validation("Invalid addresses input"),
        ),
        (
            "findTransactions",
            json!({ "bundles": ["9".repeat(81)] }),
            validation("Invalid bundles input"),
        ),
        ("findTransactions", json!({}), validation("Invalid parameters")),
        (
            "findTransactions",
            json!({ "bundles": "notalist" }),
            not_a_list.to_string(),
        ),
        (
            "findTransactions",
            json!({ "tags": [""] }),
            validation("Invalid tag input"),
        ),
        (
            "getTrytes",
            json!({ "hashes": ["lowercase"] }),
            "Invalid hashes input".to_string(),
        ),
        ("getTrytes", json!({}), "Invalid parameters".to_string()),
    ] {
        assert_refused(&net.iri(command, body).await, 500, &message);
    }
    net.devnet.stop().await;
}

/// Goal: lists over IRI's `maxRequestsList` (1000) are refused, at the
/// limit accepted. Method: `getTrytes` with 1000 and 1001 hashes.
#[tokio::test]
async fn a_list_over_the_request_limit_is_refused() {
    let net = start().await;
    let hashes = |n: usize| vec!["A".repeat(81); n];
    let (status, reply) = net.iri("getTrytes", json!({ "hashes": hashes(1000) })).await;
    assert_eq!(status, 200);
    assert_eq!(reply["trytes"].as_array().unwrap().len(), 1000);
    let over = net.iri("getTrytes", json!({ "hashes": hashes(1001) })).await;
    assert_refused(&over, 500, "Could not complete request");
    let over = net
        .iri("wereAddressesSpentFrom", json!({ "addresses": hashes(1001) }))
        .await;
    assert_refused(&over, 500, "Could not complete request");
    net.devnet.stop().await;
}

/// Goal: `maxGetTrytes` and `maxFindTransactions` bound their answers with
/// IRI's `ErrorResponse`. Method: a devnet with limits of 1 and 2.
#[tokio::test]
async fn answers_over_their_limits_are_refused() {
    let net = start_with(DevnetConfig {
        limits: Some(Limits {
            max_get_trytes: 1,
            max_find_transactions: 2,
            ..Limits::IRI
        }),
        ..config()
    })
    .await;
    net.milestone().await;
    net.milestone().await;
    let (status, _) = net.iri("getTrytes", json!({ "hashes": ["A".repeat(81)] })).await;
    assert_eq!(status, 200);
    let two = net
        .iri("getTrytes", json!({ "hashes": ["A".repeat(81), "B".repeat(81)] }))
        .await;
    assert_refused(&two, 400, "Could not complete request");
    let milestones = net
        .iri("findTransactions", json!({ "tags": ["DEVNET9MILESTONE"] }))
        .await;
    assert_refused(&milestones, 400, "Could not complete request");
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
    for depth in [json!(16), json!(-1)] {
        let refused = net.iri("getTransactionsToApprove", json!({ "depth": depth })).await;
        assert_refused(&refused, 400, "Invalid depth input");
    }
    for depth in [json!("3"), json!([3]), json!(true)] {
        let refused = net.iri("getTransactionsToApprove", json!({ "depth": depth })).await;
        assert_refused(&refused, 500, "Invalid depth input");
    }
    let refused = net
        .iri(
            "getTransactionsToApprove",
            json!({ "depth": 3, "reference": "U".repeat(90) }),
        )
        .await;
    assert_refused(&refused, 500, "Invalid reference input");
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

    // Malformed attach requests, refused as IRI's exceptions.
    let body = |trunk_field: Value, mwm: Value, trytes: Value| {
        json!({ "trunkTransaction": trunk_field, "branchTransaction": trunk.to_string(),
                "minWeightMagnitude": mwm, "trytes": trytes })
    };
    let wire: Vec<String> = bundle.iter().rev().map(Transaction::to_trytes).collect();
    let cases = [
        (
            body(json!("X"), json!(9), json!(wire)),
            "Invalid trunkTransaction input".to_string(),
        ),
        (
            body(json!(trunk.to_string()), json!("9"), json!(wire)),
            "Invalid minWeightMagnitude input".to_string(),
        ),
        (
            body(json!(trunk.to_string()), json!(9), json!(["9"])),
            "Invalid trytes input".to_string(),
        ),
        (
            body(json!(trunk.to_string()), json!(3), json!(wire)),
            "Invalid transaction hash".to_string(),
        ),
        (
            body(json!(trunk.to_string()), json!(244), json!(wire)),
            "Invalid min weight magnitude: 244".to_string(),
        ),
    ];
    for (request, message) in cases {
        assert_refused(&net.iri("attachToTangle", request).await, 500, &message);
    }
    let (status, nothing) = net
        .iri("attachToTangle", body(json!(trunk.to_string()), json!(300), json!([])))
        .await;
    assert_eq!(
        (status, &nothing["trytes"]),
        (200, &json!([])),
        "nothing to attach: no weight check"
    );
    net.devnet.stop().await;
}

/// Goal: `attachToTangle` chains its input in `currentIndex` order whatever
/// order it comes in, as IRI sorts it first. Method: a three-transaction
/// bundle sent tail first (the reverse of the usual wire order); the answer,
/// tail first, must be a valid bundle.
#[tokio::test]
async fn tail_first_attach_input_comes_back_a_valid_chain() {
    let net = start().await;
    let s = seed("TAILFIRST");
    net.fund(address(&s, 0), 20).await;
    net.milestone().await;
    let bundle = spend(&s, 0, 20, &[(plain_address('T'), 20)], None);
    assert_eq!(bundle.len(), 3);
    let tip = net.client.get_node_info().await.unwrap().latest_milestone;
    let tail_first: Vec<String> = bundle.iter().map(Transaction::to_trytes).collect();
    let (status, reply) = net
        .iri(
            "attachToTangle",
            json!({ "trunkTransaction": tip.to_string(), "branchTransaction": tip.to_string(),
                    "minWeightMagnitude": 9, "trytes": tail_first }),
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    let attached: Vec<Transaction> = reply["trytes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| Transaction::from_trytes(t.as_str().unwrap()).unwrap())
        .collect();
    let indexes: Vec<i64> = attached.iter().map(|tx| tx.current_index.get()).collect();
    assert_eq!(indexes, vec![0, 1, 2], "IRI answers tail first");
    let report = validate(
        &attached,
        &Options {
            min_weight_magnitude: Some(9),
        },
    );
    assert!(report.is_valid(), "{:?}", report.violations);
    assert_eq!(attached[2].trunk, tip);
    net.client.store_transactions(&attached).await.unwrap();
    net.milestone().await;
    assert_eq!(net.balance(plain_address('T')).await, 20, "the chain confirms");
    net.devnet.stop().await;
}

/// Goal: an interrupted `attachToTangle` answers as IRI does: success with
/// no transactions. Method: proof of work at weight 60 (hopeless), then
/// `interruptAttachingToTangle`.
#[tokio::test]
async fn interrupt_attaching_stops_proof_of_work() {
    let net = start().await;
    let bundle = spend(&seed("INTERRUPT"), 0, 1, &[], Some(plain_address('C')));
    let tip = net.client.get_tips().await.unwrap()[0];
    let url = net.devnet.url().to_string();
    let body = json!({
        "command": "attachToTangle", "trunkTransaction": tip.to_string(), "branchTransaction": tip.to_string(),
        "minWeightMagnitude": 60, "trytes": bundle.iter().rev().map(Transaction::to_trytes).collect::<Vec<_>>(),
    });
    let long = tokio::spawn(async move {
        let response = reqwest::Client::new()
            .post(url)
            .header("X-IOTA-API-Version", "1")
            .json(&body)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json::<Value>().await.unwrap())
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let (status, _) = net.iri("interruptAttachingToTangle", json!({})).await;
    assert_eq!(status, 200);
    let (status, reply) = tokio::time::timeout(std::time::Duration::from_secs(10), long)
        .await
        .expect("interrupt is prompt")
        .unwrap();
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["trytes"], json!([]));
    net.devnet.stop().await;
}

#[tokio::test]
async fn store_checks_proof_of_work_and_solidity() {
    let net = start().await;
    let s = seed("STORETEST");
    net.fund(address(&s, 0), 50).await;
    net.milestone().await;
    let bundle = spend(&s, 0, 50, &[(plain_address('D'), 50)], None);
    let refused_with_iri_prefix = |err: NodeError| match err {
        NodeError::Refused { message, .. } => assert!(message.starts_with("Error: "), "{message}"),
        other => panic!("{other}"),
    };
    // Not attached: nonce all 9s fails the weight.
    refused_with_iri_prefix(net.client.store_transactions(&bundle).await.unwrap_err());
    // Attached but missing its last transaction: the rest is not solid.
    let tip = net.client.get_tips().await.unwrap()[0];
    let attached = net.client.attach_to_tangle(tip, tip, 9, &bundle).await.unwrap();
    refused_with_iri_prefix(net.client.store_transactions(&attached[..2]).await.unwrap_err());
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
    // Every storeTransactions refusal is IRI's ErrorResponse "Error: …".
    let refused = net
        .iri("storeTransactions", json!({ "trytes": ["NOTATRANSACTION"] }))
        .await;
    assert_refused(&refused, 400, "Error: Invalid trytes input");
    assert_refused(
        &net.iri("storeTransactions", json!({})).await,
        400,
        "Error: Invalid parameters",
    );
    let (status, _) = net.iri("storeTransactions", json!({ "trytes": [] })).await;
    assert_eq!(status, 200, "nothing to store");
    // broadcastTransactions validates its list, then accepts whatever comes.
    assert_refused(
        &net.iri("broadcastTransactions", json!({ "trytes": ["NOTATRANSACTION"] }))
            .await,
        500,
        "Invalid trytes input",
    );
    let (status, _) = net
        .iri("broadcastTransactions", json!({ "trytes": [bundle[0].to_trytes()] }))
        .await;
    assert_eq!(status, 200, "IRI's pipeline drops an invalid broadcast silently");
    assert_refused(
        &net.iri("wereAddressesSpentFrom", json!({ "addresses": [1, 2] })).await,
        500,
        "java.lang.Double cannot be cast to java.lang.String",
    );
    net.devnet.stop().await;
}

#[tokio::test]
async fn balances_inclusion_and_consistency() {
    let net = start().await;
    let s = seed("BALANCETEST");
    let a = address(&s, 0);
    let tail = net.fund(a, 77).await;
    assert_eq!(net.client.get_inclusion_states(&[tail]).await.unwrap(), vec![false]);
    let consistency = net.client.check_consistency(&[tail]).await.unwrap();
    assert!(consistency.state, "{:?}", consistency.info);
    net.milestone().await;
    let balances = net.client.get_balances(&[a, plain_address('Z')]).await.unwrap();
    assert_eq!(balances.balances, vec![77, 0]);
    assert_eq!(balances.milestone_index, 2);
    assert!(net.confirmed(tail).await);

    // `threshold` is not read by 1.8.6; tips change the view of the ledger.
    let with_tip = net
        .iri(
            "getBalances",
            json!({ "addresses": [a.to_string()], "threshold": "100", "tips": [tail.to_string()] }),
        )
        .await;
    assert_eq!(with_tip.0, 200);
    assert_eq!(with_tip.1["balances"], json!(["77"]));
    assert_eq!(with_tip.1["references"], json!([tail.to_string()]));
    let b = address(&seed("BALANCETIPS"), 0);
    let unconfirmed = net.fund(b, 33).await;
    assert_eq!(net.balance(b).await, 0);
    let seen_from_tip = net
        .iri(
            "getBalances",
            json!({ "addresses": [b.to_string()], "tips": [unconfirmed.to_string()] }),
        )
        .await;
    assert_eq!(seen_from_tip.1["balances"], json!(["33"]), "the tip's cone pays b");

    for (body, message) in [
        (json!({ "addresses": ["ABC"] }), "Invalid addresses input"),
        (json!({ "addresses": [a.with_checksum()] }), "Invalid addresses input"),
        (
            json!({ "addresses": [a.to_string()], "tips": ["A"] }),
            "Invalid tips input",
        ),
        (json!({}), "Invalid parameters"),
    ] {
        assert_refused(&net.iri("getBalances", body).await, 500, message);
    }
    let unknown_tip = net
        .iri(
            "getBalances",
            json!({ "addresses": [a.to_string()], "tips": ["A".repeat(81)] }),
        )
        .await;
    assert_refused(&unknown_tip, 400, &format!("Tip not found: {}", "A".repeat(81)));
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

/// Goal: 1.8.6 reads no `tips` in `getInclusionStates`: the answer is
/// confirmation by the solid milestone, whatever tips are given. Method:
/// an unconfirmed tail asked against itself (its own cone, which older IRI
/// counted), and a confirmed one against an unknown tip.
#[tokio::test]
async fn inclusion_states_ignore_tips() {
    let net = start().await;
    let tail = net.fund(address(&seed("INCLUSIONTIPS"), 0), 5).await;
    let states = |tips: Vec<String>| {
        let net = &net;
        async move {
            let (status, reply) = net
                .iri(
                    "getInclusionStates",
                    json!({ "transactions": [tail.to_string()], "tips": tips }),
                )
                .await;
            assert_eq!(status, 200, "{reply}");
            reply["states"].clone()
        }
    };
    assert_eq!(states(vec![tail.to_string()]).await, json!([false]));
    net.milestone().await;
    assert_eq!(states(vec!["A".repeat(81)]).await, json!([true]));
    assert_eq!(states(vec!["not even a hash".into()]).await, json!([true]));
    assert_refused(
        &net.iri("getInclusionStates", json!({ "transactions": ["ABC"] })).await,
        500,
        "Invalid transactions input",
    );
    net.devnet.stop().await;
}

/// Goal: the HTTP surface is RestEasy's: the version header, the body
/// limit, JSON and command errors in IRI's words and statuses, `duration`
/// and IRI's headers on every answer, any method. Method: raw requests.
#[tokio::test]
async fn malformed_requests_get_iri_answers_and_the_node_keeps_running() {
    let net = start().await;
    let http = reqwest::Client::new();
    let url = net.devnet.url().to_string();
    let cases: Vec<(Option<&str>, &str, u16, &str)> = vec![
        (None, r#"{"command":"getNodeInfo"}"#, 400, "Invalid API Version"),
        (Some("1"), "", 400, "Invalid request payload: ''"),
        (Some("1"), "null", 400, "Invalid request payload: 'null'"),
        (
            Some("1"),
            "[1,2]",
            400,
            "Invalid JSON syntax: java.lang.IllegalStateException: Expected BEGIN_OBJECT but was BEGIN_ARRAY at line 1 column 2 path $",
        ),
        (Some("1"), r#"{"foo":1}"#, 400, "COMMAND parameter has not been specified in the request."),
        (Some("1"), r#"{"command":null}"#, 400, "COMMAND parameter has not been specified in the request."),
        (Some("1"), r#"{"command":5}"#, 500, "java.lang.Double cannot be cast to java.lang.String"),
        (Some("1"), r#"{"command":"doesNotExist"}"#, 400, "Command [doesNotExist] is unknown"),
        (Some("1"), r#"{"command":"getTrytes","hashes":"x"}"#, 500, "java.lang.String cannot be cast to java.util.List"),
        (Some("1"), r#"{"command":"getTransactionsToApprove"}"#, 500, "Invalid parameters"),
    ];
    for (header, body, status, message) in cases {
        let mut request = http.post(&url).body(body.to_string());
        if let Some(v) = header {
            request = request.header("X-IOTA-API-Version", v);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.headers()["access-control-allow-origin"], "*", "{body}");
        assert_eq!(response.headers()["content-type"], "application/json", "{body}");
        let answer = (response.status().as_u16(), response.json::<Value>().await.unwrap());
        assert_refused(&answer, status, message);
    }
    let not_json = http
        .post(&url)
        .header("X-IOTA-API-Version", "1")
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status().as_u16(), 400);
    let reply: Value = not_json.json().await.unwrap();
    assert!(
        reply["error"].as_str().unwrap().starts_with("Invalid JSON syntax: "),
        "{reply}"
    );
    // The devnet's own commands refuse in the same style.
    let (status, reply) = net.iri("setFaults", json!({ "failRate": 2 })).await;
    assert!(
        status == 400 && reply["error"].as_str().unwrap().contains("failRate"),
        "{reply}"
    );
    let (status, reply) = net.iri("setFaults", json!({ "bogus": true })).await;
    assert!(
        status == 400 && reply["error"].as_str().unwrap().contains("Invalid parameters"),
        "{reply}"
    );
    // A success carries `duration` too, and IRI answers any method.
    let got = http
        .get(format!("{url}/any/path"))
        .header("X-IOTA-API-Version", "1")
        .body(r#"{"command":"getNodeInfo"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(got.status().as_u16(), 200);
    assert!(got.json::<Value>().await.unwrap()["duration"].is_u64());
    assert_eq!(
        net.client.get_node_info().await.unwrap().latest_milestone_index,
        1,
        "still running"
    );
    net.devnet.stop().await;
}

/// Goal: `maxBodyLength` (1 000 000) counts characters as Java does, and a
/// longer body is "Request too long". Method: a body one character over,
/// and one under it in characters but three times over it in UTF-8 bytes.
#[tokio::test]
async fn a_body_over_the_length_limit_is_refused() {
    let net = start().await;
    let http = reqwest::Client::new();
    let post = |body: String| {
        http.post(net.devnet.url())
            .header("X-IOTA-API-Version", "1")
            .body(body)
            .send()
    };
    let frame = |padding: String| format!(r#"{{"command":"getNodeInfo","padding":"{padding}"}}"#);
    let frame_chars = frame(String::new()).len();
    let over = post(frame("x".repeat(1_000_001 - frame_chars))).await.unwrap();
    let answer = (over.status().as_u16(), over.json::<Value>().await.unwrap());
    assert_refused(&answer, 400, "Request too long");
    let wide = post(frame("€".repeat(1_000_000 - frame_chars))).await.unwrap();
    assert_eq!(wide.status().as_u16(), 200, "1 000 000 characters, 3 bytes each");
    net.devnet.stop().await;
}

/// Goal: `OPTIONS` gets RestEasy's preflight answer exactly. Method: a
/// browser-style preflight and a bare `OPTIONS`.
#[tokio::test]
async fn cors_preflight_is_answered_as_iri_does() {
    let net = start().await;
    let http = reqwest::Client::new();
    for request in [
        http.request(reqwest::Method::OPTIONS, net.devnet.url())
            .header("Origin", "https://wallet.example")
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", "content-type, x-iota-api-version"),
        http.request(reqwest::Method::OPTIONS, format!("{}/elsewhere", net.devnet.url())),
    ] {
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200);
        let headers = response.headers();
        assert_eq!(headers["allow"], "GET,HEAD,POST,PUT,DELETE,TRACE,OPTIONS,CONNECT,PATCH");
        assert_eq!(headers["access-control-allow-origin"], "*");
        assert_eq!(
            headers["access-control-allow-headers"],
            "User-Agent, Origin, X-Requested-With, Content-Type, Accept, X-IOTA-API-Version"
        );
        assert_eq!(headers["content-type"], "text/plain");
        assert_eq!(headers["content-length"], "0");
        assert!(response.bytes().await.unwrap().is_empty());
    }
    net.devnet.stop().await;
}

/// Goal: a 90-tryte address (with checksum) is refused everywhere IRI
/// takes addresses, as IRI refuses it. Method: each command once.
#[tokio::test]
async fn an_address_with_checksum_is_refused() {
    let net = start().await;
    let with_checksum = address(&seed("CHECKSUM"), 0).with_checksum();
    for command in ["getBalances", "wereAddressesSpentFrom"] {
        let refused = net.iri(command, json!({ "addresses": [with_checksum] })).await;
        assert_refused(&refused, 500, "Invalid addresses input");
    }
    let refused = net
        .iri("findTransactions", json!({ "addresses": [with_checksum] }))
        .await;
    assert_refused(&refused, 500, &validation("Invalid addresses input"));
    let (_, trytes) = net.iri("getTrytes", json!({ "hashes": ["9".repeat(81)] })).await;
    assert_eq!(
        trytes["trytes"],
        json!([all_nines()]),
        "the null hash is no transaction"
    );
    net.devnet.stop().await;
}
