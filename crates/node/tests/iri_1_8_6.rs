//! The client against a fake IRI 1.8.6 over real HTTP.
//!
//! Goal: Hub's node client speaks IRI 1.8.6's shapes and limits: it takes
//! the node's refusals (`{"error"}` 400, `{"exception"}` 500, 401) as final
//! and retries only real unavailability; proof of work and tip selection
//! get their own deadlines; every request fits IRI's list and body limits,
//! transaction lists arriving parents first; a bundle too big for one
//! `attachToTangle` comes back chained as one call would chain it, at the
//! weight asked for; `getTrytes` answers hash to what was asked; a reply
//! beyond the size bound is dropped.
//! Method: `fake_iri` refuses what IRI refuses, records every request, and
//! lets each test answer the command; the tests count and inspect requests.

mod fake_iri;

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fake_iri::{attach, hash_of, hashes, local_attach, transactions, zero_bundle, FakeIri, Reply};
use hub_node::{Client, ClientConfig, NodeError};
use hub_protocol::validate::{validate, Options};
use hub_protocol::{Hash, Transaction};
use serde_json::json;

fn connect(config: ClientConfig) -> Client {
    Client::new(config).unwrap()
}

#[tokio::test]
async fn an_exception_answer_is_a_refusal_with_its_message_sent_once() {
    let node = FakeIri::start(|_, _| Reply::exception("Invalid depth input")).await;
    let client = connect(node.config());
    let error = client.get_transactions_to_approve(3, None).await.unwrap_err();
    match error {
        NodeError::Refused { command, message } => {
            assert_eq!(command, "getTransactionsToApprove");
            assert_eq!(message, "Invalid depth input");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(node.seen().len(), 1, "a refusal is not retried");
    assert_eq!(client.requests_sent(), 1);
}

#[tokio::test]
async fn an_error_answer_is_a_refusal_with_its_message_sent_once() {
    let message = "This operation cannot be executed: The subtangle has not been updated yet.";
    let node = FakeIri::start(move |_, _| Reply::error(message)).await;
    let client = connect(node.config());
    let error = client.get_inclusion_states(&[hash_of('A')]).await.unwrap_err();
    assert!(
        matches!(&error, NodeError::Refused { message: m, .. } if m == message),
        "{error:?}"
    );
    assert_eq!(node.seen().len(), 1);
}

#[tokio::test]
async fn a_command_the_node_limits_is_a_refusal_sent_once() {
    let node = FakeIri::start(|command, _| Reply::access_limited(command)).await;
    let client = connect(node.config());
    let error = client
        .attach_to_tangle(hash_of('T'), hash_of('B'), 9, &zero_bundle(1, 0))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, NodeError::Refused { message, .. }
            if message == "COMMAND attachToTangle is not available on this node"),
        "{error:?}"
    );
    assert_eq!(node.seen().len(), 1);
}

#[tokio::test]
async fn a_bare_server_error_is_retried() {
    // Two failures, then an answer: the third attempt (retries = 2) succeeds.
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let node = FakeIri::start(move |_, _| match counter.fetch_add(1, Ordering::SeqCst) {
        0 => Reply::raw(500, ""),
        1 => Reply::raw(503, "<html>upstream busy</html>"),
        _ => Reply::ok(json!({ "hashes": [hash_of('A').to_string()], "duration": 0 })),
    })
    .await;
    let client = connect(node.config());
    assert_eq!(client.get_tips().await.unwrap(), vec![hash_of('A')]);
    assert_eq!(node.seen().len(), 3);

    // Failing every time: given up after the retries, as unavailable.
    let node = FakeIri::start(|_, _| Reply::raw(500, "")).await;
    let client = connect(node.config());
    let error = client.get_tips().await.unwrap_err();
    assert!(matches!(error, NodeError::Unavailable { .. }), "{error:?}");
    assert_eq!(node.seen().len(), 3);
}

#[tokio::test]
async fn a_reply_beyond_the_size_bound_is_dropped_and_another_attempt_made() {
    // A node that answers getTips with more than REPLY_BYTES_MAX of hashes,
    // then sanely: the client drops the first reply and takes the second.
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let node = FakeIri::start(move |_, _| match counter.fetch_add(1, Ordering::SeqCst) {
        0 => {
            let one = hash_of('A').to_string();
            let many = vec![one; hub_node::REPLY_BYTES_MAX / 81 + 1];
            Reply::ok(json!({ "hashes": many, "duration": 0 }))
        }
        _ => Reply::ok(json!({ "hashes": [hash_of('B').to_string()], "duration": 0 })),
    })
    .await;
    let client = connect(node.config());
    assert_eq!(client.get_tips().await.unwrap(), vec![hash_of('B')]);
    assert_eq!(node.seen().len(), 2);

    // Always too large: unavailable, saying why.
    let node = FakeIri::start(|_, _| Reply::raw(200, "9".repeat(hub_node::REPLY_BYTES_MAX + 1))).await;
    let error = connect(node.config()).get_tips().await.unwrap_err();
    assert!(
        matches!(&error, NodeError::Unavailable { reason, .. } if reason.contains("reply larger than")),
        "{error:?}"
    );
}

#[tokio::test]
async fn proof_of_work_and_tip_selection_may_take_longer_than_other_commands() {
    let delay = Duration::from_millis(800);
    let node = FakeIri::start(move |command, body| {
        let reply = match command {
            "attachToTangle" => attach(body),
            "getTransactionsToApprove" => Reply::ok(json!({
                "trunkTransaction": hash_of('T').to_string(),
                "branchTransaction": hash_of('B').to_string(),
            })),
            _ => Reply::ok(json!({ "hashes": [] })),
        };
        reply.after(delay)
    })
    .await;
    let client = connect(ClientConfig {
        timeout: Duration::from_millis(300),
        pow_timeout: Duration::from_secs(5),
        tip_selection_timeout: Duration::from_secs(5),
        retries: 0,
        ..node.config()
    });
    let attached = client
        .attach_to_tangle(hash_of('T'), hash_of('B'), 1, &zero_bundle(2, 0))
        .await
        .unwrap();
    assert_eq!(attached.len(), 2);
    assert_eq!(
        client.get_transactions_to_approve(3, None).await.unwrap(),
        (hash_of('T'), hash_of('B'))
    );
    let error = client.get_tips().await.unwrap_err();
    assert!(
        matches!(&error, NodeError::Unavailable { reason, .. } if reason.contains("no answer within 300 ms")),
        "{error:?}"
    );
}

/// A node that stores each body on arrival and refuses one referencing a
/// transaction it does not hold yet (nor in the same body): what a strict
/// node does with transactions sent children first.
fn solid_store(tips: &[Hash]) -> impl Fn(&str, &serde_json::Value) -> Reply + Send + Sync + 'static {
    let known = Mutex::new(tips.iter().copied().collect::<HashSet<Hash>>());
    move |_, body| {
        let txs = transactions(body);
        let mut known = known.lock().unwrap();
        let arriving: HashSet<Hash> = txs.iter().map(Transaction::hash).collect();
        for tx in &txs {
            for parent in [tx.trunk, tx.branch] {
                if !known.contains(&parent) && !arriving.contains(&parent) {
                    return Reply::error(&format!("not solid: {parent} is missing"));
                }
            }
        }
        known.extend(arriving);
        Reply::ok(json!({ "duration": 0 }))
    }
}

#[tokio::test]
async fn a_thousand_transactions_go_in_bodies_iri_accepts_parents_first() {
    // Bundle A (600) on two tips, bundle B (400) on A's tail; given B first,
    // each in index order: every chunk must come after what it references.
    let (trunk, branch) = (hash_of('T'), hash_of('B'));
    let a = local_attach(&zero_bundle(600, 0), trunk, branch, 1);
    let b = local_attach(&zero_bundle(400, 600), a[0].hash(), branch, 1);
    let all: Vec<Transaction> = b.iter().chain(&a).cloned().collect();
    for command in ["broadcastTransactions", "storeTransactions"] {
        let node = FakeIri::start(solid_store(&[trunk, branch])).await;
        let client = connect(node.config());
        match command {
            "broadcastTransactions" => client.broadcast_transactions(&all).await.unwrap(),
            _ => client.store_transactions(&all).await.unwrap(),
        }
        let seen = node.seen_of(command);
        assert!(seen.len() >= 3, "{command}: {} bodies", seen.len());
        let mut arrived = HashSet::new();
        for body in &seen {
            assert!(body.body_chars <= 1_000_000, "{command}: {} chars", body.body_chars);
            arrived.extend(transactions(&body.body).iter().map(Transaction::hash));
        }
        let sent: HashSet<Hash> = all.iter().map(Transaction::hash).collect();
        assert_eq!(arrived, sent, "{command}: every transaction, once");
        assert_eq!(
            node.seen().len(),
            seen.len(),
            "{command}: nothing refused, nothing retried"
        );
    }
}

/// Each transaction's trunk and branch, by role: a tip given to the call,
/// or the next transaction of the bundle.
fn shape(bundle: &[Transaction], trunk: Hash, branch: Hash) -> Vec<(String, String)> {
    let role = |h: Hash, i: usize| -> String {
        if bundle.get(i + 1).is_some_and(|next| next.hash() == h) {
            "next".into()
        } else if h == trunk {
            "trunk".into()
        } else if h == branch {
            "branch".into()
        } else {
            format!("other {h}")
        }
    };
    bundle
        .iter()
        .enumerate()
        .map(|(i, tx)| (role(tx.trunk, i), role(tx.branch, i)))
        .collect()
}

#[tokio::test]
async fn a_bundle_too_big_for_one_body_is_attached_in_parts_chained_as_one_call() {
    let node = FakeIri::start(|_, body| attach(body)).await;
    let client = connect(node.config());
    let (trunk, branch) = (hash_of('T'), hash_of('B'));
    let bundle = zero_bundle(400, 0);
    let attached = client.attach_to_tangle(trunk, branch, 1, &bundle).await.unwrap();

    let one_call = local_attach(&bundle, trunk, branch, 1);
    assert_eq!(shape(&attached, trunk, branch), shape(&one_call, trunk, branch));
    let head = attached.last().unwrap();
    assert_eq!((head.trunk, head.branch), (trunk, branch));
    for (i, tx) in attached.iter().enumerate().take(attached.len() - 1) {
        assert_eq!(
            tx.trunk,
            attached[i + 1].hash(),
            "transaction {i}: trunk is the next one"
        );
        assert_eq!(tx.branch, trunk, "transaction {i}: branch is the head's trunk");
    }
    let report = validate(
        &attached,
        &Options {
            min_weight_magnitude: Some(1),
        },
    );
    assert!(report.is_valid(), "{:?}", report.violations);

    let requests = node.seen_of("attachToTangle");
    assert!(requests.len() > 1, "one body cannot hold 400 transactions");
    for request in &requests {
        assert!(request.body_chars <= 1_000_000, "{} chars", request.body_chars);
    }
    assert_eq!(node.seen().len(), requests.len(), "nothing refused");
}

#[tokio::test]
async fn an_attachment_chained_otherwise_is_not_believed() {
    // A node that gives every transaction the branch tip as branch.
    let node = FakeIri::start(|_, body| {
        let branch = Hash::from_trytes(body["branchTransaction"].as_str().unwrap()).unwrap();
        let mut txs = transactions(body);
        txs.sort_by_key(|tx| tx.current_index.get());
        let attached = local_attach(&txs, branch, branch, 1);
        Reply::ok(json!({ "trytes": attached.iter().map(Transaction::to_trytes).collect::<Vec<_>>() }))
    })
    .await;
    let client = connect(node.config());
    let error = client
        .attach_to_tangle(hash_of('T'), hash_of('B'), 1, &zero_bundle(3, 0))
        .await
        .unwrap_err();
    assert!(matches!(error, NodeError::BadReply { .. }), "{error:?}");
}

/// A node answering, per address, whether its first tryte sorts odd.
fn odd_first_tryte(address: &str) -> bool {
    address.as_bytes()[0] % 2 == 1
}

#[tokio::test]
async fn spent_states_of_2500_addresses_take_three_requests_of_at_most_1000() {
    let node = FakeIri::start(|_, body| {
        let addresses = body["addresses"].as_array().unwrap();
        // IRI 1.8.6 takes addresses of exactly 81 trytes only.
        if addresses.iter().any(|a| a.as_str().unwrap().len() != 81) {
            return Reply::exception("Invalid addresses input");
        }
        let states: Vec<bool> = addresses.iter().map(|a| odd_first_tryte(a.as_str().unwrap())).collect();
        Reply::ok(json!({ "states": states }))
    })
    .await;
    let client = connect(node.config());
    let addresses: Vec<_> = (0..2500).map(fake_iri::address).collect();
    let states = client.were_addresses_spent_from(&addresses).await.unwrap();
    let expected: Vec<bool> = addresses.iter().map(|a| odd_first_tryte(&a.to_string())).collect();
    assert_eq!(states, expected);
    assert!(states.contains(&true) && states.contains(&false));
    let sizes: Vec<usize> = node
        .seen()
        .iter()
        .map(|s| s.body["addresses"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, vec![1000, 1000, 500]);
}

#[tokio::test]
async fn inclusion_states_are_asked_without_tips_in_batches() {
    let node = FakeIri::start(|_, body| {
        let states: Vec<bool> = hashes(body, "transactions")
            .iter()
            .map(|h| odd_first_tryte(&h.to_string()))
            .collect();
        Reply::ok(json!({ "states": states }))
    })
    .await;
    let client = connect(node.config());
    let asked: Vec<Hash> = (0..2500)
        .map(|i| Hash::from_trytes(fake_iri::address(i).as_str()).unwrap())
        .collect();
    let states = client.get_inclusion_states(&asked).await.unwrap();
    let expected: Vec<bool> = asked.iter().map(|h| odd_first_tryte(&h.to_string())).collect();
    assert_eq!(states, expected);
    let seen = node.seen();
    assert_eq!(seen.len(), 3);
    assert!(seen.iter().all(|s| s.body.get("tips").is_none()), "1.8.6 reads no tips");
}

#[tokio::test]
async fn a_consistency_check_of_more_tails_than_iri_takes_is_refused_unsent() {
    let node = FakeIri::start(|_, _| Reply::ok(json!({ "state": true, "info": "" }))).await;
    let client = connect(node.config());
    let tails = vec![hash_of('A'); 1001];
    let error = client.check_consistency(&tails).await.unwrap_err();
    assert!(matches!(error, NodeError::InvalidRequest { .. }), "{error:?}");
    assert!(node.seen().is_empty());
    let consistency = client.check_consistency(&tails[..1000]).await.unwrap();
    assert!(consistency.state);
    assert_eq!(consistency.info, None, "IRI's empty info is no reason");
}

/// Goal: a transaction that does not hash to the hash asked for is never
/// taken for it (a lying node, or anything on the plain-HTTP link).
#[tokio::test]
async fn get_trytes_refuses_a_transaction_that_is_not_the_one_asked_for() {
    let attached = local_attach(&zero_bundle(2, 0), hash_of('T'), hash_of('B'), 1);
    let (wanted, other) = (attached[0].clone(), attached[1].clone());
    let honest = FakeIri::start({
        let wanted = wanted.clone();
        move |_, _| Reply::ok(json!({ "trytes": [wanted.to_trytes()] }))
    })
    .await;
    let got = connect(honest.config()).get_trytes(&[wanted.hash()]).await.unwrap();
    assert_eq!(got, vec![Some(wanted.clone())]);

    let liar = FakeIri::start(move |_, _| Reply::ok(json!({ "trytes": [other.to_trytes()] }))).await;
    let error = connect(liar.config()).get_trytes(&[wanted.hash()]).await.unwrap_err();
    assert!(
        matches!(&error, NodeError::BadReply { command: "getTrytes", reason } if reason.contains(wanted.hash().as_str())),
        "{error:?}"
    );
}

/// Goal: remote proof of work lighter than asked for is refused, not broadcast.
#[tokio::test]
async fn attach_refuses_proof_of_work_below_the_weight_asked_for() {
    let node = FakeIri::start(|_, body| {
        let mut lighter = body.clone();
        lighter["minWeightMagnitude"] = json!(1);
        attach(&lighter)
    })
    .await;
    let error = connect(node.config())
        .attach_to_tangle(hash_of('T'), hash_of('B'), 9, &zero_bundle(3, 0))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, NodeError::BadReply { reason, .. } if reason.contains("weight 9")),
        "{error:?}"
    );
}
